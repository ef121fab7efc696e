//! A bulk transfer over a link with 5% loss, reordering, duplication and bit
//! corruption delivers exactly the bytes sent: the sink checks every byte against the
//! pattern and the hash of the whole stream.

mod common;
use common::*;

#[test]
fn impaired_link_delivers_exact_bytes() {
    let extra =
        "loss = 0.05\nreorder = 0.05\nreorder_delay = \"3ms\"\nduplicate = 0.02\ncorrupt = 0.01";
    let src = two_hosts(extra, "3MB", "120s");
    let o = run(&src, 5, None);
    let sink = report(&o, "sink");
    let bulk = report(&o, "bulk");
    assert_eq!(sink.errors, 0, "corrupted or mis-hashed bytes reached the sink: {sink:?}");
    assert_eq!(sink.bytes, 3_000_000, "{sink:?}");
    assert!(sink.note.contains("1 conns (1 closed)"), "{sink:?}");
    assert_eq!(bulk.bytes, 3_000_000, "{bulk:?}");
    assert!(bulk.note.starts_with("done"), "{bulk:?}");
    assert!(bulk.retrans.unwrap_or(0) > 0, "5% loss must cause retransmissions");
    // The impairments really happened (both directions summed).
    let sum =
        |f: fn(&libos_sim::channel::ChannelStats) -> u64| o.chan_stats.iter().map(f).sum::<u64>();
    assert!(sum(|s| s.lost) > 50);
    assert!(sum(|s| s.corrupted) > 5);
    assert!(sum(|s| s.duplicated) > 10);
    assert!(sum(|s| s.reordered) > 50);
}

#[test]
fn burst_loss_link_delivers_exact_bytes() {
    let extra = "burst_loss = { p_good_bad = 0.01, p_bad_good = 0.3 }";
    let o = run(&two_hosts(extra, "1MB", "120s"), 3, None);
    let sink = report(&o, "sink");
    assert_eq!((sink.bytes, sink.errors), (1_000_000, 0), "{sink:?}");
}

#[test]
fn one_way_impairments() {
    // Loss on the ACK direction only: data frames are never lost.
    let extra = "loss = 0.2\nimpair_direction = \"b-to-a\"";
    let o = run(&two_hosts(extra, "500KB", "60s"), 4, None);
    assert_eq!(o.chan_stats[0].lost, 0);
    assert!(o.chan_stats[1].lost > 10);
    let sink = report(&o, "sink");
    assert_eq!((sink.bytes, sink.errors), (500_000, 0), "{sink:?}");
}

#[test]
fn impaired_segment_delivers_exact_bytes() {
    let src = r#"
duration = "60s"
[[node]]
name = "a"
[[node]]
name = "b"
[[node]]
name = "c"
[[segment]]
rate = "50Mbit"
delay = "1ms"
loss = 0.03
corrupt = 0.01
duplicate = 0.01
attach = [{ node = "a" }, { node = "b" }, { node = "c" }]
[[app]]
kind = "sink"
name = "sink"
node = "c"
[[app]]
kind = "bulk"
name = "bulk"
node = "a"
dst = "c:5001"
bytes = "1MB"
"#;
    let o = run(src, 8, None);
    let sink = report(&o, "sink");
    assert_eq!((sink.bytes, sink.errors), (1_000_000, 0), "{sink:?}");
    assert!(o.chan_stats.iter().map(|s| s.lost).sum::<u64>() > 10);
    assert!(o.chan_stats.iter().map(|s| s.corrupted).sum::<u64>() > 2);
}

/// (time ns, sequence number relative to the SYN's) of each data segment to port 5001
/// in a pcap, in order.
fn data_segments(path: &std::path::Path) -> Vec<(u64, u32)> {
    let mut isn = None;
    let mut out = Vec::new();
    for (t, f) in pcap_records(path) {
        let Some(s) = libos_sim::seq_loss::TcpSegment::parse(&f) else { continue };
        let to_sink = s.flow[10..12] == 5001u16.to_be_bytes();
        if s.syn && to_sink {
            isn = Some(s.seq);
        } else if s.len > 0 && to_sink {
            out.push((t, s.seq.wrapping_sub(isn.expect("a SYN first"))));
        }
    }
    out
}

/// The sequence numbers whose first transmission was lost: sent again at h1 before any
/// copy reached h2.
fn first_sends_lost(o: &Outcome) -> Vec<u32> {
    use std::collections::BTreeMap;
    let by_seq = |v: Vec<(u64, u32)>| {
        v.into_iter().fold(BTreeMap::<u32, Vec<u64>>::new(), |mut m, (t, s)| {
            m.entry(s).or_default().push(t);
            m
        })
    };
    let sent = by_seq(data_segments(&o.pcaps[0]));
    let got = by_seq(data_segments(&o.pcaps[1]));
    sent.into_iter().filter(|(s, ts)| ts.len() > 1 && got[s][0] > ts[1]).map(|(s, _)| s).collect()
}

#[test]
fn keyed_loss_loses_the_same_data_under_another_congestion_control() {
    let dir = tempdir("keyed");
    let run_cc = |extra: &str, cc: &str, tag: &str| {
        let bulk = format!("cc = \"{cc}\"");
        let src = two_hosts(extra, "2MB", "60s").replace("start = \"10ms\"", &bulk);
        let o = run(&src, 9, Some(&dir.join(format!("{tag}-{cc}"))));
        assert_eq!(report(&o, "sink").bytes, 2_000_000);
        o
    };
    // A queue that never overflows: every loss is the random one.
    let keyed = "loss = 0.02\nloss_keyed = true\nqueue = 5000";
    let (cubic, bbr) = (run_cc(keyed, "cubic", "k"), run_cc(keyed, "bbr", "k"));
    // Only TCP data is lost: never the receiver's pure ACKs (impairments both ways).
    assert_eq!((cubic.chan_stats[1].lost, bbr.chan_stats[1].lost), (0, 0));
    // Two flows with other windows, pacing, timing and retransmissions: the same data
    // lost at its first transmission.
    let lost = first_sends_lost(&cubic);
    assert!(lost.len() > 10, "{lost:?}");
    assert_eq!(lost, first_sends_lost(&bbr));
    // Per-frame draws in arrival order: one frame more or less before a draw moves
    // every later loss to other data.
    let unkeyed = "loss = 0.02\nqueue = 5000";
    let (uc, ur) = (run_cc(unkeyed, "cubic", "u"), run_cc(unkeyed, "bbr", "u"));
    assert_ne!(first_sends_lost(&uc), first_sends_lost(&ur));
}

#[test]
fn keyed_loss_needs_ethernet_framing() {
    let src = two_hosts("loss = 0.01\nloss_keyed = true\nmode = \"ptp\"", "1MB", "1s");
    let e = libos_sim::scenario::Scenario::parse(&src, "t")
        .and_then(|sc| sc.build(&Default::default()).map(|_| ()))
        .unwrap_err();
    assert!(e.to_string().contains("loss_keyed"), "{e}");
}
