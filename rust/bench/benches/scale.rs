//! Scale: N libos nodes on one libos-sim engine, as N/2 independent pairs (10 Mbit/s,
//! 1 ms links), each pair running one bulk TCP flow, for a fixed simulated time. Reports
//! wall time per simulated second and per engine event for N = 10, 100, 1000, 10000:
//! the per-event cost must stay flat as N grows (one pending wake-up per node, O(log N)
//! queue operations, no sweeps over nodes).
//!
//! With `--app ping` each pair exchanges a ping every 10 ms instead: a small working set
//! per node, which separates the engine's scaling from the memory caches'.
//!
//! With `--active K` only the first K pairs run an app and the other nodes are idle
//! (addressed, linked, no timers): the work per event is then the same at every N, so
//! the per-event cost shows what N itself costs the engine — it should stay flat, since
//! idle nodes hold no queue entries and no event sweeps them. The nodes are IPv4-only
//! (`disable_ipv6`): a Linux host's IPv6 start-up (DAD, router solicitations with their
//! backoff, MLD reports) would otherwise give every idle node events of its own.
//!
//! `cargo bench -p libos-bench --bench scale [-- --sizes 10,100,1000,10000 --secs S --app bulk|ping --active K]`

mod common;

use common::verify_sink::VerifySink;
use libos_bench::{Table, vm_rss_bytes};
use libos_sim::apps::bulk::BulkSend;
use libos_sim::apps::ping::Ping;
use libos_sim::sim::{LinkParams, Sim};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

const RATE_BPS: u64 = 10_000_000;
const DELAY_NS: u64 = 1_000_000;

struct Row {
    nodes: usize,
    build_s: f64,
    wall_s: f64,
    events: u64,
    packets: u64,
    delivered: u64,
    flows_ok: usize,
    flows: usize,
    rss: u64,
}

/// Pair `i` uses 10.(i/256).(i%256).0/30... spread over 10.0.0.0/8 as /30s.
fn pair_addrs(i: usize) -> (Ipv4Addr, Ipv4Addr) {
    let base = 0x0a00_0000u32 + (i as u32) * 4;
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

fn run(nodes: usize, sim_ns: u64, ping: bool, active: usize) -> Row {
    let pairs = nodes / 2;
    let t0 = Instant::now();
    let mut sim = Sim::new(42);
    let p = LinkParams { rate_bps: RATE_BPS, delay: DELAY_NS, ..LinkParams::default() };
    let mut sinks = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let a = sim.add_kernel_node(&format!("a{i}"));
        let b = sim.add_kernel_node(&format!("b{i}"));
        for n in [a, b] {
            let k = sim.kernel(n).unwrap();
            k.sysctl_set("net.ipv6.conf.default.disable_ipv6", "1").expect("sysctl");
        }
        let (ia, ib) = sim.add_p2p(a, b, &p).expect("link");
        let (ipa, ipb) = pair_addrs(i);
        sim.kernel(a).unwrap().addr_add(0, ia, IpAddr::V4(ipa), 30).expect("addr");
        sim.kernel(b).unwrap().addr_add(0, ib, IpAddr::V4(ipb), 30).expect("addr");
        let dst = SocketAddr::new(IpAddr::V4(ipb), 5001);
        if i >= active {
            continue;
        }
        // Staggered starts (deterministic) so the flows are not in lockstep.
        let start = (i as u64 * 7_919) % 1_000_000;
        if ping {
            let app = Ping::new(&format!("ping{i}"), IpAddr::V4(ipb), 10_000_000, None, 56);
            sinks.push(sim.add_app(a, Box::new(app), start, None).expect("ping"));
            continue;
        }
        let sink = sim.add_app(b, Box::new(VerifySink::new(dst)), 0, None).expect("sink");
        sim.add_app(a, Box::new(BulkSend::new("bulk", dst, None, None)), start, None)
            .expect("bulk");
        sinks.push(sink);
    }
    let build_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    sim.run_until(sim_ns);
    let wall_s = t1.elapsed().as_secs_f64();
    let reports = sim.reports();
    let delivered: u64 = sinks.iter().map(|&s| reports[s].bytes).sum();
    let flows_ok =
        sinks.iter().filter(|&&s| reports[s].bytes > 0 && reports[s].errors == 0).count();
    Row {
        nodes,
        build_s,
        wall_s,
        events: sim.stats.events,
        packets: sim.chans.iter().map(|c| c.stats.tx_frames).sum(),
        delivered,
        flows_ok,
        flows: sinks.len(),
        rss: vm_rss_bytes().unwrap_or(0),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let after = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let sizes: Vec<usize> = after("--sizes")
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1000, 10_000]);
    let secs: f64 = after("--secs").and_then(|v| v.parse().ok()).unwrap_or(0.5);
    let sim_ns = (secs * 1e9) as u64;
    let ping = after("--app").is_some_and(|a| a == "ping");
    let active: Option<usize> = after("--active").and_then(|v| v.parse().ok());
    let work = if ping { "a ping every 10 ms" } else { "one bulk TCP flow" };
    let who = active
        .map_or("per pair".to_string(), |k| format!("in the first {k} pairs (the rest idle)"));
    println!("## N nodes = N/2 pairs, {work} {who} over 10 Mbit/s, 1 ms; {secs} simulated s\n");
    let mut t = Table::new(&[
        "nodes",
        "build s",
        "wall s",
        "events",
        "packets",
        "wall s per sim s",
        "wall s per sim s per node",
        "ns per event",
        "flows ok",
        "Mbit/s per pair",
        "RSS MiB",
    ]);
    let mut per_event = Vec::new();
    for &n in &sizes {
        let r = run(n, sim_ns, ping, active.unwrap_or(n / 2).min(n / 2));
        let ns_ev = r.wall_s * 1e9 / r.events.max(1) as f64;
        per_event.push(ns_ev);
        t.row(vec![
            r.nodes.to_string(),
            format!("{:.2}", r.build_s),
            format!("{:.2}", r.wall_s),
            r.events.to_string(),
            r.packets.to_string(),
            format!("{:.3}", r.wall_s / secs),
            format!("{:.2e}", r.wall_s / secs / r.nodes as f64),
            format!("{ns_ev:.0}"),
            format!("{}/{}", r.flows_ok, r.flows),
            format!("{:.2}", r.delivered as f64 * 8.0 / secs / 1e6 / r.flows.max(1) as f64),
            format!("{:.0}", r.rss as f64 / (1024.0 * 1024.0)),
        ]);
    }
    print!("{}", t.render());
    if let (Some(first), Some(last)) = (per_event.first(), per_event.last()) {
        println!(
            "\nper-event cost at N={} vs N={}: {:.2}x (flat = 1.00)",
            sizes.last().unwrap(),
            sizes[0],
            last / first
        );
    }
}
