//! Every built-in app over a chain of routers (auto routes).

mod common;
use common::*;

#[test]
fn all_apps_over_router_chain() {
    let o = run(&chain_all_apps("ethernet"), 1, None);
    let ping = report(&o, "ping");
    assert!(ping.note.starts_with("10 sent, 10 received"), "{ping:?}");
    let (avg, min, _) = ping.rtt_us.expect("ping RTTs");
    // 2 x (1 + 10 + 1) ms propagation at least.
    assert!(min >= 24_000.0 && avg < 200_000.0, "{ping:?}");

    let echo = report(&o, "echo");
    assert!(echo.note.starts_with("10 sent, 10 echoed"), "{echo:?}");

    let sink = report(&o, "sink");
    assert_eq!((sink.bytes, sink.errors), (500_000, 0), "{sink:?}");
    assert!(report(&o, "bulk").note.starts_with("done"));

    let rr = report(&o, "rr");
    assert!(rr.note.starts_with("20 exchanges"), "{rr:?}");
    assert!(rr.rtt_us.expect("latencies").1 >= 24_000.0);

    // 1 Mbit/s of 500-byte datagrams for 1 s of "on" time in [1 s, 3 s): ~250 datagrams.
    let onoff = report(&o, "onoff");
    let udp = report(&o, "udp-sink");
    assert!(onoff.bytes >= 100_000 && onoff.bytes <= 140_000, "{onoff:?}");
    assert_eq!(udp.bytes, onoff.bytes, "{udp:?}");

    // TCP on-off: 2 Mbit/s of 1000-byte writes, on 300 ms of every 500 ms, in [3 s, 5 s).
    let t = report(&o, "tcp-onoff");
    let ts = report(&o, "tcp-onoff-sink");
    assert!(t.bytes >= 200_000 && t.bytes <= 320_000 && t.errors == 0, "{t:?}");
    assert_eq!((ts.bytes, ts.errors), (t.bytes, 0), "{ts:?}");
}

#[test]
fn ping_and_bulk_over_pointopoint_noarp_link() {
    let o = run(&chain_all_apps("ptp"), 1, None);
    let ping = report(&o, "ping");
    assert!(ping.note.starts_with("10 sent, 10 received"), "{ping:?}");
    let sink = report(&o, "sink");
    assert_eq!((sink.bytes, sink.errors), (500_000, 0), "{sink:?}");
}

#[test]
fn switched_segment_and_router() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/lan.toml"))
            .unwrap();
    let o = run(&src, 3, None);
    let lan = report(&o, "a->b");
    assert!(lan.note.starts_with("10 sent, 10 received"), "{lan:?}");
    assert!(lan.rtt_us.unwrap().1 < 1000.0, "{lan:?}");
    let far = report(&o, "c->far");
    assert!(far.note.starts_with("10 sent, 10 received"), "{far:?}");
    assert!(far.rtt_us.unwrap().1 >= 40_000.0, "{far:?}");
    let echo = report(&o, "b->far echo");
    assert!(echo.note.starts_with("20 sent, 20 echoed"), "{echo:?}");
    let sink = report(&o, "sink-far-4");
    assert_eq!((sink.bytes, sink.errors), (1_000_000, 0), "{sink:?}");
}
