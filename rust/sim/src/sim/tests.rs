//! Engine tests with a scripted stack (no kernel): scheduling order, one pending
//! wake-up per node, link timing, impairments and the learning switch.

use super::*;
use crate::apps::{App, AppCx, FlowReport};
use std::any::Any;

/// A stack that sends `burst` frames of `len` bytes to ifindex 2 at each of its
/// deadlines and records what it receives.
#[derive(Default)]
struct Scripted {
    deadlines: std::collections::VecDeque<u64>,
    /// Count frames only (benchmarks).
    count_only: bool,
    rx_count: u64,
    len: usize,
    dst: [u8; 6],
    mac: [u8; 6],
    out: std::collections::VecDeque<(u32, Bytes)>,
    rx: Vec<(u64, Vec<u8>)>,
    advances: u64,
}

impl Stack for Scripted {
    fn add_device(
        &mut self,
        _: u64,
        _: &str,
        mac: [u8; 6],
        _: u32,
        _: DevMode,
    ) -> Result<u32, String> {
        self.mac = mac;
        Ok(2)
    }
    fn dev_rx(&mut self, now: u64, _ifindex: u32, frame: &[u8]) {
        self.rx_count += 1;
        if !self.count_only {
            self.rx.push((now, frame.to_vec()));
        }
    }
    fn poll_transmit(&mut self) -> Option<(u32, Bytes)> {
        self.out.pop_front()
    }
    fn next_deadline(&self) -> Option<u64> {
        self.deadlines.front().copied()
    }
    fn advance(&mut self, now: u64) {
        self.advances += 1;
        while self.deadlines.front().is_some_and(|&d| d <= now) {
            self.deadlines.pop_front();
            let mut f = vec![0u8; self.len];
            f[0..6].copy_from_slice(&self.dst);
            f[6..12].copy_from_slice(&self.mac);
            f[12] = 0x08;
            f[14..22].copy_from_slice(&now.to_be_bytes());
            self.out.push_back((2, Bytes::from(f)));
        }
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

fn scripted(sim: &mut Sim, n: NodeId) -> &mut Scripted {
    sim.nodes[n].stack.as_any_mut().downcast_mut::<Scripted>().unwrap()
}

fn params(rate: u64, delay: u64) -> LinkParams {
    LinkParams { rate_bps: rate, delay, ..Default::default() }
}

#[test]
fn p2p_link_timing_and_queueing() {
    let mut sim = Sim::new(1);
    let a = sim.add_node(
        "a",
        Box::new(Scripted { deadlines: [0, 0, 0].into(), len: 1250, ..Default::default() }),
    );
    let b = sim.add_node("b", Box::new(Scripted::default()));
    sim.add_p2p(a, b, &params(10_000_000, 1_000_000)).unwrap();
    sim.run_until(1_000_000_000);
    // Three 1250-byte frames at 10 Mbit/s (1 ms each) + 1 ms propagation.
    let rx: Vec<u64> = scripted(&mut sim, b).rx.iter().map(|r| r.0).collect();
    assert_eq!(rx, vec![2_000_000, 3_000_000, 4_000_000]);
}

#[test]
fn one_live_wake_per_node_and_lazy_invalidation() {
    let mut sim = Sim::new(1);
    let n = sim.add_node(
        "n",
        Box::new(Scripted { deadlines: [50, 100].into(), len: 60, ..Default::default() }),
    );
    let m = sim.add_node("m", Box::new(Scripted::default()));
    sim.add_p2p(n, m, &params(1_000_000_000, 0)).unwrap();
    assert_eq!(sim.live_wakes(n), 1);
    assert_eq!(sim.live_wakes(m), 0);
    // Move the deadline earlier from outside: the old entry goes stale.
    scripted(&mut sim, n).deadlines.push_front(10);
    sim.reschedule(n);
    assert_eq!(sim.live_wakes(n), 1);
    sim.run_until(10_000);
    assert_eq!(scripted(&mut sim, n).advances, 3);
    assert!(sim.stats.stale_wakes >= 1);
    assert_eq!(scripted(&mut sim, m).rx.len(), 3);
    assert_eq!(sim.live_wakes(n), 0);
}

#[test]
fn later_deadlines_keep_the_early_entry() {
    let mut sim = Sim::new(1);
    let n = sim.add_node(
        "n",
        Box::new(Scripted { deadlines: [100].into(), len: 60, ..Default::default() }),
    );
    let m = sim.add_node("m", Box::new(Scripted::default()));
    sim.add_p2p(n, m, &params(1_000_000_000, 0)).unwrap();
    let before = sim.queue_len();
    // The deadline moves later: no new heap entry.
    scripted(&mut sim, n).deadlines = [500].into();
    sim.reschedule(n);
    assert_eq!(sim.queue_len(), before);
    assert_eq!(sim.live_wakes(n), 1);
    // The early entry fires at 100 without advancing the stack, and re-arms at 500.
    sim.run_until(200);
    assert_eq!(scripted(&mut sim, n).advances, 0);
    assert_eq!(sim.live_wakes(n), 1);
    sim.run_until(10_000);
    assert_eq!(scripted(&mut sim, n).advances, 1);
    assert_eq!(scripted(&mut sim, m).rx.len(), 1);
}

#[test]
fn many_nodes_cost_one_wake_each() {
    let mut sim = Sim::new(3);
    let nodes: Vec<NodeId> = (0..2000)
        .map(|i| {
            sim.add_node(
                &format!("n{i}"),
                Box::new(Scripted {
                    deadlines: [1000 + i as u64].into(),
                    len: 60,
                    ..Default::default()
                }),
            )
        })
        .collect();
    for &n in &nodes {
        assert_eq!(sim.live_wakes(n), 1);
    }
    assert_eq!(sim.queue_len(), 2000);
    sim.run_until(1_000_000);
    // Each node was advanced exactly once; no node was swept.
    assert_eq!(sim.stats.events, 2000);
    for &n in &nodes {
        assert_eq!(scripted(&mut sim, n).advances, 1);
    }
}

#[test]
fn impairments_are_seeded_per_link() {
    let run = |seed| {
        let mut sim = Sim::new(seed);
        let deadlines = (0..2000).map(|i| i * 10_000).collect();
        let a = sim.add_node("a", Box::new(Scripted { deadlines, len: 100, ..Default::default() }));
        let b = sim.add_node("b", Box::new(Scripted::default()));
        let mut p = params(100_000_000, 1000);
        p.impair = Impairments {
            loss: 0.05,
            reorder: 0.05,
            reorder_delay: 25_000,
            duplicate: 0.02,
            corrupt: 0.02,
            ..Default::default()
        };
        sim.add_p2p(a, b, &p).unwrap();
        sim.run_until(u64::MAX / 2);
        let rx = scripted(&mut sim, b).rx.clone();
        (rx, sim.chans[0].stats.clone())
    };
    let (r1, s1) = run(5);
    let (r2, _) = run(5);
    let (r3, _) = run(6);
    assert_eq!(r1, r2);
    assert_ne!(r1, r3);
    assert!(s1.lost > 50 && s1.duplicated > 10 && s1.corrupted > 10 && s1.reordered > 50);
    assert_eq!(r1.len() as u64, 2000 - s1.lost + s1.duplicated);
    // Reordered frames really arrive after later ones.
    let sent: Vec<u64> =
        r1.iter().map(|(_, f)| u64::from_be_bytes(f[14..22].try_into().unwrap())).collect();
    assert!(sent.windows(2).any(|w| w[1] < w[0]));
}

#[test]
fn learning_switch_floods_then_forwards() {
    let mut sim = Sim::new(1);
    let seg = sim.add_segment();
    let p = params(100_000_000, 500);
    let hs: Vec<NodeId> =
        (0..4).map(|i| sim.add_node(&format!("h{i}"), Box::new(Scripted::default()))).collect();
    for &h in &hs {
        sim.attach(seg, h, &p).unwrap();
    }
    let mac = |sim: &mut Sim, n: NodeId| scripted(sim, n).mac;
    let (m1, m2) = (mac(&mut sim, hs[1]), mac(&mut sim, hs[2]));
    // h1 broadcasts: everyone else receives it, and the switch learns h1.
    let s = scripted(&mut sim, hs[1]);
    s.dst = [0xff; 6];
    s.len = 60;
    s.deadlines = [1000].into();
    sim.reschedule(hs[1]);
    sim.run_until(100_000);
    let counts: Vec<usize> = hs.iter().map(|&h| scripted(&mut sim, h).rx.len()).collect();
    assert_eq!(counts, vec![1, 0, 1, 1]);
    // h2 answers h1 by unicast: only h1 receives it.
    let s = scripted(&mut sim, hs[2]);
    s.dst = m1;
    s.len = 60;
    s.deadlines = [200_000].into();
    sim.reschedule(hs[2]);
    sim.run_until(400_000);
    let counts: Vec<usize> = hs.iter().map(|&h| scripted(&mut sim, h).rx.len()).collect();
    assert_eq!(counts, vec![1, 1, 1, 1]);
    assert_ne!(m1, m2);
}

#[test]
fn pcap_captures_tx_and_rx() {
    let mut sim = Sim::new(1);
    let a = sim
        .add_node("a", Box::new(Scripted { deadlines: [5].into(), len: 60, ..Default::default() }));
    let b = sim.add_node("b", Box::new(Scripted::default()));
    sim.add_p2p(a, b, &params(1_000_000_000, 1000)).unwrap();
    let dir = std::env::temp_dir().join(format!("libos-sim-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pa, pb) = (dir.join("a.pcap"), dir.join("b.pcap"));
    sim.capture(a, 2, PcapWriter::create(&pa).unwrap()).unwrap();
    sim.capture(b, 2, PcapWriter::create(&pb).unwrap()).unwrap();
    sim.run_until(1_000_000);
    sim.finish().unwrap();
    let (fa, fb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    assert_eq!(fa.len(), 24 + 16 + 60);
    assert_eq!(fa[24 + 16..], fb[24 + 16..]);
    // rx at b: 5 ns + 480 ns serialization + 1000 ns propagation.
    assert_eq!(u32::from_le_bytes(fb[28..32].try_into().unwrap()), 1485);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An app for a non-libos stack: ticks on its timer and pokes the stack directly.
struct Ticker {
    period: u64,
    ticks: Vec<u64>,
}

impl App for Ticker {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        cx.set_timer(cx.now + self.period);
    }
    fn event(&mut self, _cx: &mut AppCx<'_>, _fd: i32, _revents: u16) {}
    fn timer(&mut self, cx: &mut AppCx<'_>) {
        self.ticks.push(cx.now);
        let now = cx.now;
        let s = cx.stack().as_any_mut().downcast_mut::<Scripted>().unwrap();
        s.deadlines.push_back(now);
        cx.set_timer(now + self.period);
    }
    fn report(&self) -> FlowReport {
        FlowReport { name: "ticker".into(), bytes: self.ticks.len() as u64, ..Default::default() }
    }
    fn needs_kernel(&self) -> bool {
        false
    }
}

#[test]
fn app_timers_start_stop_on_any_stack() {
    let mut sim = Sim::new(1);
    let a = sim.add_node("a", Box::new(Scripted { len: 60, ..Default::default() }));
    let b = sim.add_node("b", Box::new(Scripted::default()));
    sim.add_p2p(a, b, &params(1_000_000_000, 1000)).unwrap();
    let t = Ticker { period: 1_000_000, ticks: Vec::new() };
    sim.add_app(a, Box::new(t), 10_000_000, Some(20_000_000)).unwrap();
    sim.run_until(100_000_000);
    // Ticks at 11..=19 ms (the stop at 20 ms comes before the timer of that instant,
    // having been scheduled first), each sending one frame.
    assert_eq!(sim.reports()[0].bytes, 9);
    assert_eq!(scripted(&mut sim, b).rx.len(), 9);
}
