//! BBR against CUBIC on a 10 Mbit/s, 40 ms RTT bottleneck with a deep drop-tail queue
//! (1,000 packets, ~1.2 s at the bottleneck rate): CUBIC fills the queue until it
//! overflows, so its RTT climbs far above the path's; BBR paces at the bandwidth it
//! measured and caps inflight at 2 × BDP, keeping the RTT near the base RTT at the same
//! goodput (Cardwell et al., ACM Queue 2016; Linux `tcp_bbr.c`).

use libos_sim::apps::Sample;
use libos_sim::apps::bulk::BulkSend;
use libos_sim::apps::sink::{Proto, Sink};
use libos_sim::channel::QueueLimit;
use libos_sim::{LinkParams, Sim};
use std::net::{Ipv4Addr, SocketAddr};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// One bulk flow for 30 s; the sender's TCP_INFO every 100 ms.
fn run(cc: &str) -> Vec<(u64, Sample)> {
    let mut sim = Sim::new(11);
    let (a, b) = (sim.add_kernel_node("a"), sim.add_kernel_node("b"));
    let p = LinkParams {
        rate_bps: 10_000_000,
        delay: 20 * MS,
        limit: QueueLimit::Packets(1000),
        ..Default::default()
    };
    let (ia, ib) = sim.add_p2p(a, b, &p).unwrap();
    sim.addr_add(a, ia, Ipv4Addr::new(10, 0, 0, 1), 24).unwrap();
    sim.addr_add(b, ib, Ipv4Addr::new(10, 0, 0, 2), 24).unwrap();
    // A receive buffer that never limits the window (4 MB from the start; libos's
    // autotuning measures per handshake RTT, so it would stop CUBIC short of the queue).
    let k = sim.kernel(b).unwrap();
    k.sysctl_set("net.ipv4.tcp_rmem", "4096 4194304 6291456").unwrap();
    let dst = SocketAddr::new(Ipv4Addr::new(10, 0, 0, 2).into(), 5001);
    sim.add_app(b, Box::new(Sink::new("sink", Proto::Tcp, dst)), 0, None).unwrap();
    let bulk = BulkSend::new("bulk", dst, None, Some(cc.to_string()));
    let id = sim.add_app(a, Box::new(bulk), 0, None).unwrap();
    sim.set_trace_interval(100 * MS);
    sim.run_until(30 * SEC);
    sim.traces()[id].1.to_vec()
}

fn median(mut v: Vec<u32>) -> u32 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Median smoothed RTT (ms) and goodput (Mbit/s) over the last 20 s.
fn steady(tr: &[(u64, Sample)]) -> (f64, f64) {
    let late: Vec<&(u64, Sample)> = tr.iter().filter(|(t, _)| *t >= 10 * SEC).collect();
    assert!(late.len() >= 190, "{} samples", late.len());
    let rtt = f64::from(median(late.iter().map(|(_, s)| s.rtt_us).collect())) / 1000.0;
    let (t0, s0) = late[0];
    let (t1, s1) = late[late.len() - 1];
    let mbps = (s1.bytes - s0.bytes) as f64 * 8.0 / ((t1 - t0) as f64 / 1e9) / 1e6;
    (rtt, mbps)
}

#[test]
fn bbr_keeps_the_queue_small_where_cubic_fills_it() {
    let (bbr_rtt, bbr_mbps) = steady(&run("bbr"));
    let (cubic_rtt, cubic_mbps) = steady(&run("cubic"));
    eprintln!(
        "bbr: srtt {bbr_rtt:.1} ms, {bbr_mbps:.2} Mbit/s; cubic: srtt {cubic_rtt:.1} ms, \
         {cubic_mbps:.2} Mbit/s"
    );
    // Both use the link (payload is 1448/1514 of the 10 Mbit/s).
    assert!(bbr_mbps > 8.5, "bbr goodput {bbr_mbps:.2} Mbit/s");
    assert!(cubic_mbps > 8.5, "cubic goodput {cubic_mbps:.2} Mbit/s");
    // BBR: RTT near the 40 ms base (its PROBE_BW 5/4 phase and 2 × BDP cap allow a
    // little queue); CUBIC fills the queue (~1.2 s at 10 Mbit/s) until it overflows.
    assert!(bbr_rtt < 60.0, "bbr median srtt {bbr_rtt:.1} ms");
    assert!(cubic_rtt > 500.0, "cubic median srtt {cubic_rtt:.1} ms");
    assert!(cubic_rtt > 10.0 * bbr_rtt);
}
