//! The sender's delivery-rate estimate (`tcpi_delivery_rate`, Linux `tcp_rate.c`)
//! measured against a link whose rate the simulator enforces.

use libos_sim::apps::bulk::BulkSend;
use libos_sim::apps::sink::{Proto, Sink};
use libos_sim::{LinkParams, Sim};
use std::net::{Ipv4Addr, SocketAddr};

#[test]
fn delivery_rate_matches_the_bottleneck() {
    let mut sim = Sim::new(3);
    let (a, b) = (sim.add_kernel_node("a"), sim.add_kernel_node("b"));
    let p = LinkParams { rate_bps: 10_000_000, delay: 10_000_000, ..Default::default() };
    let (ia, ib) = sim.add_p2p(a, b, &p).unwrap();
    sim.addr_add(a, ia, Ipv4Addr::new(10, 0, 0, 1), 24).unwrap();
    sim.addr_add(b, ib, Ipv4Addr::new(10, 0, 0, 2), 24).unwrap();
    // A receive window of ~64 KB: above the 25 KB bandwidth-delay product (the link stays
    // busy) and below it plus the queue (no loss), so every sample measures the link.
    let k = sim.kernel(b).unwrap();
    k.sysctl_set("net.ipv4.tcp_rmem", "4096 65536 131072").unwrap();
    let dst = SocketAddr::new(Ipv4Addr::new(10, 0, 0, 2).into(), 5001);
    sim.add_app(b, Box::new(Sink::new("sink", Proto::Tcp, dst)), 0, None).unwrap();
    let bulk = sim.add_app(a, Box::new(BulkSend::new("bulk", dst, None, None)), 0, None).unwrap();
    sim.set_trace_interval(100_000_000);
    sim.run_until(6_000_000_000);
    let traces = sim.traces();
    let (_, samples) = &traces[bulk];
    // Payload per 1,514-byte frame: 1,448 bytes (TCP timestamps on).
    let capacity = 10e6 / 8.0 * 1448.0 / 1514.0;
    let late: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= 2_000_000_000)
        .map(|(_, s)| s.delivery_rate as f64)
        .collect();
    assert!(late.len() >= 30, "{} samples", late.len());
    for r in &late {
        let ratio = r / capacity;
        assert!((0.97..=1.03).contains(&ratio), "delivery rate {r:.0} B/s vs {capacity:.0}");
    }
}
