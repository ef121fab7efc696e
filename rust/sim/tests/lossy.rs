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
