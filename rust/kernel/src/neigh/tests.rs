use super::*;
use std::net::Ipv4Addr;

const KEY: NeighKey = (2, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

fn params() -> NeighParams {
    NeighParams::from_sysctl(&crate::sysctl::ipv4::Ipv4Sysctl::default())
}

fn solicits(a: &[NeighAction]) -> Vec<Option<EthernetAddress>> {
    a.iter()
        .filter_map(|x| match x {
            NeighAction::Solicit { unicast, .. } => Some(*unicast),
            _ => None,
        })
        .collect()
}

fn run(t: &mut NeighTable, until: Nanos, rng: &mut Rng) -> Vec<(Nanos, NeighAction)> {
    let p = params();
    let mut out = Vec::new();
    while let Some(d) = t.next_deadline().filter(|d| *d <= until) {
        let mut a = Vec::new();
        t.advance(d, &p, rng, &mut a);
        out.extend(a.into_iter().map(|x| (d, x)));
    }
    out
}

#[test]
fn incomplete_broadcasts_then_fails_with_queued_packets() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(1), params());
    let mut a = Vec::new();
    t.enqueue(0, KEY, PacketBuf::new(100), &p, &mut a).unwrap();
    t.enqueue(0, KEY, PacketBuf::new(100), &p, &mut a).unwrap();
    assert_eq!(solicits(&a), vec![None], "one request at once");
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Incomplete);
    let ev = run(&mut t, 10 * SEC, &mut rng);
    let times: Vec<Nanos> = ev.iter().map(|e| e.0).collect();
    // Linux: mcast_solicit (3) requests one retrans_time (1 s) apart, FAILED at 3 s.
    assert_eq!(times, vec![SEC, 2 * SEC, 3 * SEC]);
    match &ev[2].1 {
        NeighAction::Failed { queued, .. } => assert_eq!(queued.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(t.get(KEY.0, KEY.1).is_none());
    assert_eq!(t.stats.res_failed, 1);
}

#[test]
fn reply_flushes_queue_and_reachable_time_is_randomized() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(7), params());
    let mut a = Vec::new();
    t.enqueue(0, KEY, PacketBuf::new(10), &p, &mut a).unwrap();
    let q = t.update(5, KEY, MAC, true, false, &p, &mut rng);
    assert_eq!(q.len(), 1);
    let n = t.get(KEY.0, KEY.1).unwrap();
    assert_eq!(n.state, NudState::Reachable);
    assert!((15 * SEC..45 * SEC).contains(&n.reachable_time), "{}", n.reachable_time);
    assert_eq!(t.output_addr(6, KEY, p.delay_first_probe), Some(MAC));
}

#[test]
fn reachable_stale_delay_probe_failed() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(3), params());
    t.update(0, KEY, MAC, true, true, &p, &mut rng);
    let rt = t.get(KEY.0, KEY.1).unwrap().reachable_time;
    // Unused since: REACHABLE -> STALE when reachable_time runs out.
    run(&mut t, rt, &mut rng);
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Stale);
    // Used while STALE: DELAY, then PROBE with unicast solicits after 5 s.
    let now = rt + SEC;
    assert_eq!(t.output_addr(now, KEY, p.delay_first_probe), Some(MAC));
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Delay);
    let ev = run(&mut t, now + 5 * SEC, &mut rng);
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Probe);
    let acts: Vec<NeighAction> = ev.into_iter().map(|e| e.1).collect();
    assert_eq!(solicits(&acts), vec![Some(MAC)]);
    // No answer: ucast_solicit (3) probes, then the entry fails.
    let ev = run(&mut t, now + 60 * SEC, &mut rng);
    let acts: Vec<NeighAction> = ev.into_iter().map(|e| e.1).collect();
    assert_eq!(solicits(&acts), vec![Some(MAC), Some(MAC)]);
    assert!(matches!(acts.last(), Some(NeighAction::Failed { .. })));
    assert!(t.get(KEY.0, KEY.1).is_none());
}

#[test]
fn probe_answered_becomes_reachable() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(3), params());
    t.update(0, KEY, MAC, false, true, &p, &mut rng);
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Stale);
    t.output_addr(SEC, KEY, p.delay_first_probe);
    run(&mut t, 6 * SEC, &mut rng);
    t.update(6 * SEC + 1, KEY, MAC, true, false, &p, &mut rng);
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Reachable);
}

#[test]
fn unconfirmed_same_address_keeps_state_and_new_entries_need_create() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(3), params());
    assert!(t.update(0, KEY, MAC, false, false, &p, &mut rng).is_empty());
    assert!(t.get(KEY.0, KEY.1).is_none(), "replies do not create entries");
    t.update(0, KEY, MAC, true, true, &p, &mut rng);
    t.update(1, KEY, MAC, false, false, &p, &mut rng);
    assert_eq!(t.get(KEY.0, KEY.1).unwrap().state, NudState::Reachable);
    let other = EthernetAddress([2, 0, 0, 0, 0, 9]);
    t.update(2, KEY, other, false, false, &p, &mut rng);
    let n = t.get(KEY.0, KEY.1).unwrap();
    assert_eq!((n.state, n.lladdr), (NudState::Stale, Some(other)));
}

#[test]
fn unresolved_queue_is_bounded_drop_oldest() {
    let (mut t, mut p) = (NeighTable::default(), params());
    p.unres_qlen_bytes = 3 * (100 + QUEUE_OVERHEAD);
    let mut a = Vec::new();
    for i in 0..5u8 {
        let mut b = PacketBuf::new(100);
        b.data_mut()[0] = i;
        t.enqueue(0, KEY, b, &p, &mut a).unwrap();
    }
    assert_eq!(t.stats.unres_discards, 2);
    let mut rng = Rng::new(1);
    let q = t.update(1, KEY, MAC, true, false, &p, &mut rng);
    let firsts: Vec<u8> = q.iter().map(|b| b.data()[0]).collect();
    assert_eq!(firsts, vec![2, 3, 4]);
}

#[test]
fn table_is_bounded_and_flushed_per_device() {
    let (mut t, p) = (NeighTable::default(), params());
    let mut a = Vec::new();
    for i in 0..GC_THRESH3 as u32 {
        let k = (2 + i % 2, IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
        t.enqueue(0, k, PacketBuf::new(1), &p, &mut a).unwrap();
    }
    let k = (2, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(t.enqueue(0, k, PacketBuf::new(1), &p, &mut a), Err(Errno::ENOBUFS));
    t.flush_dev(2);
    assert_eq!(t.len(), GC_THRESH3 / 2);
    assert!(t.iter().all(|(k, _)| k.0 == 3));
    t.flush_dev(3);
    assert!(t.is_empty() && t.next_deadline().is_none());
}

#[test]
fn permanent_entries_ignore_the_wire_and_never_expire() {
    let (mut t, mut rng, p) = (NeighTable::default(), Rng::new(3), params());
    let mut a = Vec::new();
    t.enqueue(0, KEY, PacketBuf::new(10), &p, &mut a).unwrap();
    assert_eq!(t.add_permanent(KEY, MAC).len(), 1, "queued packet released");
    let other = EthernetAddress([2, 0, 0, 0, 0, 9]);
    t.update(1, KEY, other, true, true, &p, &mut rng);
    assert_eq!(t.output_addr(2, KEY, p.delay_first_probe), Some(MAC));
    assert!(t.next_deadline().is_none());
    assert!(t.delete(KEY));
    assert!(!t.delete(KEY));
}
