//! The Rust builder API on a bigger topology: a ring of routers with auto routes.

use libos_sim::apps::ping::Ping;
use libos_sim::{LinkParams, Sim};
use std::net::Ipv4Addr;

#[test]
fn ring_of_routers_with_auto_routes() {
    const N: usize = 40;
    let mut sim = Sim::new(9);
    let routers: Vec<_> = (0..N).map(|i| sim.add_kernel_node(&format!("r{i}"))).collect();
    for &r in &routers {
        sim.kernel(r).unwrap().sysctl_set("net.ipv4.ip_forward", "1").unwrap();
    }
    let p = LinkParams { rate_bps: 100_000_000, delay: 1_000_000, ..Default::default() };
    for i in 0..N {
        let (a, b) = (routers[i], routers[(i + 1) % N]);
        let (ia, ib) = sim.add_p2p(a, b, &p).unwrap();
        let net = |h| Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, h);
        sim.addr_add(a, ia, net(1), 24).unwrap();
        sim.addr_add(b, ib, net(2), 24).unwrap();
    }
    // Hosts on r0 and on r13 (13 hops one way round, 27 the other).
    let (h1, h2) = (sim.add_kernel_node("h1"), sim.add_kernel_node("h2"));
    let (x, y) = sim.add_p2p(h1, routers[0], &p).unwrap();
    sim.addr_add(h1, x, Ipv4Addr::new(172, 16, 0, 2), 24).unwrap();
    sim.addr_add(routers[0], y, Ipv4Addr::new(172, 16, 0, 1), 24).unwrap();
    let (x, y) = sim.add_p2p(h2, routers[13], &p).unwrap();
    sim.addr_add(h2, x, Ipv4Addr::new(172, 16, 1, 2), 24).unwrap();
    sim.addr_add(routers[13], y, Ipv4Addr::new(172, 16, 1, 1), 24).unwrap();
    let n = sim.auto_routes().unwrap();
    assert!(n >= N * (N + 2 - 2), "{n} routes");
    let ping = Ping::new("ping", Ipv4Addr::new(172, 16, 1, 2).into(), 100_000_000, Some(5), 56);
    sim.add_app(h1, Box::new(ping), 0, None).unwrap();
    sim.run_until(2_000_000_000);
    let r = &sim.reports()[0];
    assert!(r.note.starts_with("5 sent, 5 received"), "{r:?}");
    // 15 links each way at 1 ms: the short way round.
    let min = r.rtt_us.unwrap().1;
    assert!((30_000.0..32_000.0).contains(&min), "{r:?}");
}

/// A thousand hosts around one router, each pinging its neighbour through it: routes
/// computed for all, every ping answered.
#[test]
fn star_of_1000_hosts() {
    const N: usize = 1000;
    let mut sim = Sim::new(1);
    let hub = sim.add_kernel_node("hub");
    sim.kernel(hub).unwrap().sysctl_set("net.ipv4.ip_forward", "1").unwrap();
    let p = LinkParams { rate_bps: 1_000_000_000, delay: 100_000, ..Default::default() };
    let mut hosts = Vec::new();
    for i in 0..N {
        let h = sim.add_kernel_node(&format!("h{i}"));
        let (a, b) = sim.add_p2p(h, hub, &p).unwrap();
        let net = |x| Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, x);
        sim.addr_add(h, a, net(2), 24).unwrap();
        sim.addr_add(hub, b, net(1), 24).unwrap();
        hosts.push((h, net(2)));
    }
    let routes = sim.auto_routes().unwrap();
    // Each host pings the next one through the hub.
    for i in 0..N {
        let dst = hosts[(i + 1) % N].1;
        let ping = Ping::new(&format!("p{i}"), dst.into(), 100_000_000, Some(10), 56);
        sim.add_app(hosts[i].0, Box::new(ping), (i as u64) * 1000, None).unwrap();
    }
    assert!(routes >= N, "{routes} routes");
    sim.run_until(2_000_000_000);
    let ok = sim.reports().iter().filter(|r| r.note.starts_with("10 sent, 10 received")).count();
    assert_eq!(ok, N);
}
