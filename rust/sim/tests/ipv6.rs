//! IPv6 scenarios: explicit and automatic IPv6 addresses on a link and a switched
//! segment, every app kind aimed at IPv6 addresses (ping -6, TCP bulk into a dual-stack
//! [::] sink with every byte verified, UDP echo, request/response), the pcaps decoded by
//! tshark with checksum validation, two runs byte-identical.

mod common;
use common::*;
use std::process::Command;

/// h1 -- h2 point-to-point with explicit IPv6 addresses, and a segment h1, h2, h3 with
/// automatic ones (2001:db8:2::1..3/64).
const V6: &str = r#"
seed = 5
duration = "3s"
ipv6 = true

[[node]]
name = "h1"
[[node]]
name = "h2"
[[node]]
name = "h3"

[[link]]
a = "h1"
b = "h2"
rate = "20Mbit"
delay = "5ms"
a_addr6 = "2001:db8:77::1/64"
b_addr6 = "2001:db8:77::2/64"

[[segment]]
rate = "100Mbit"
delay = "100us"
attach = [{ node = "h1" }, { node = "h2" }, { node = "h3", addr6 = "2001:db8:2::33/64" }]

[[app]]
kind = "ping"
name = "ping6"
node = "h1"
dst = "2001:db8:77::2"
interval = "100ms"
count = 10

[[app]]
kind = "ping"
name = "ping6-lan"
node = "h1"
dst = "2001:db8:2::33"
interval = "100ms"
count = 10

[[app]]
kind = "sink"
node = "h2"
name = "sink"

[[app]]
kind = "bulk"
name = "bulk6"
node = "h1"
dst = "[2001:db8:77::2]:5001"
bytes = "2MB"

[[app]]
kind = "bulk"
name = "bulk4"
node = "h3"
dst = "10.0.2.2:5001"
bytes = "500KB"

[[app]]
kind = "udp-echo-server"
node = "h3"

[[app]]
kind = "udp-echo"
name = "echo6"
node = "h2"
dst = "[2001:db8:2::33]:7"
interval = "50ms"
count = 20
size = 300

[[app]]
kind = "rr-server"
node = "h3"
port = 8080
request = 200
response = 5000

[[app]]
kind = "rr-client"
name = "rr6"
node = "h1"
dst = "h3:8080"
ipv6 = true
count = 20
request = 200
response = 5000
"#;

fn check_v6_flows(o: &Outcome) {
    for p in ["ping6", "ping6-lan"] {
        let r = report(o, p);
        assert!(r.note.starts_with("10 sent, 10 received"), "{r:?}");
    }
    assert_eq!(report(o, "bulk6").bytes, 2_000_000);
    assert_eq!(report(o, "bulk4").bytes, 500_000);
    let sink = report(o, "sink");
    // The [::] sink takes both families; every byte checked against the pattern.
    assert_eq!(sink.bytes, 2_500_000, "{sink:?}");
    assert!(sink.note.contains("2 conns") && sink.note.contains("0 bad bytes"), "{sink:?}");
    let echo = report(o, "echo6");
    assert!(echo.note.contains("20 sent, 20 echoed"), "{echo:?}");
    assert_eq!(echo.bytes, 20 * 300);
    let rr = report(o, "rr6");
    assert!(rr.note.starts_with("20 exchanges"), "{rr:?}");
    for r in &o.reports {
        assert_eq!(r.errors, 0, "{r:?}");
    }
}

#[test]
fn ipv6_apps_pcaps_valid_and_deterministic() {
    let (d1, d2) = (tempdir("v6a"), tempdir("v6b"));
    let a = run(V6, 5, Some(&d1));
    let b = run(V6, 5, Some(&d2));
    check_v6_flows(&a);
    assert_eq!(a.reports, b.reports);
    assert_eq!(a.pcaps.len(), 5);
    for (pa, pb) in a.pcaps.iter().zip(&b.pcaps) {
        let (x, y) = (std::fs::read(pa).unwrap(), std::fs::read(pb).unwrap());
        assert!(x == y, "{} differs between two runs with the same seed", pa.display());
    }
    let counts = tshark_v6(&a.pcaps);
    if let Some((tcp6, udp6, icmp6)) = counts {
        assert!(tcp6 > 1000 && udp6 >= 80 && icmp6 >= 40, "tcp {tcp6} udp {udp6} icmp {icmp6}");
    }
    for d in [d1, d2] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// tshark over every pcap, checksums validated: no bad TCP/UDP/ICMPv6 checksum, no
/// malformed frame. Returns the IPv6 TCP, UDP and ICMPv6 frame counts (None when
/// tshark is missing and LIBOS_SKIP_TSHARK=1).
fn tshark_v6(pcaps: &[std::path::PathBuf]) -> Option<(u32, u32, u32)> {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert_eq!(
            std::env::var("LIBOS_SKIP_TSHARK").as_deref(),
            Ok("1"),
            "tshark is not on PATH: install it or set LIBOS_SKIP_TSHARK=1"
        );
        return None;
    }
    let (mut tcp, mut udp, mut icmp) = (0, 0, 0);
    for p in pcaps {
        let out = Command::new("tshark")
            .args(["-n", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
            .arg("-r")
            .arg(p)
            .args(["-T", "fields", "-E", "separator=|", "-e", "ipv6.nxt"])
            .args(["-e", "tcp.checksum.status", "-e", "udp.checksum.status"])
            .args(["-e", "icmpv6.checksum.status", "-e", "_ws.malformed"])
            .output()
            .expect("run tshark");
        assert!(
            out.status.success(),
            "tshark on {}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split('|').collect();
            for (i, name) in [(1, "tcp"), (2, "udp"), (3, "icmpv6")] {
                let v = f.get(i).copied().unwrap_or("");
                // checksum.status: 0 bad, 1 good, 2 unverified.
                assert!(
                    !v.split(',').any(|x| x == "0"),
                    "bad {name} checksum in {}: {line}",
                    p.display()
                );
            }
            assert!(f.get(4).is_none_or(|m| m.is_empty()), "malformed in {}: {line}", p.display());
            if f[0].is_empty() {
                continue;
            }
            let good = |i: usize| f.get(i).is_some_and(|v| v.split(',').any(|x| x == "1"));
            tcp += u32::from(good(1));
            udp += u32::from(good(2));
            icmp += u32::from(good(3));
        }
    }
    Some((tcp, udp, icmp))
}

/// examples/dualstack.toml: h1 - r1 - h2 routed for both families by `routing = "auto"`.
#[test]
fn dualstack_example_routes_both_families() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/dualstack.toml"
    ))
    .unwrap();
    let o = run(&src, 3, None);
    for p in ["ping4", "ping6"] {
        let r = report(&o, p);
        assert!(r.note.starts_with("10 sent, 10 received"), "{r:?}");
    }
    assert_eq!(report(&o, "bulk6").bytes, 2_000_000);
    assert_eq!(report(&o, "bulk4").bytes, 1_000_000);
    let sink = o.reports.iter().find(|r| r.kind == "sink").unwrap();
    assert!(sink.bytes == 3_000_000 && sink.note.contains("0 bad bytes"), "{sink:?}");
    assert!(report(&o, "echo6").note.contains("20 sent, 20 echoed"));
    assert!(report(&o, "rr6").note.starts_with("20 exchanges"));
}

/// `dad = true`: the scenario's IPv6 addresses are tentative while Linux's DAD runs
/// (random delay up to 1 s, one probe, 1 s retransmit timer). A ping sent at once has
/// no usable source but `::1` (as on Linux 6.18, where a UDP connect to a global address
/// in that state gets `::1`) and goes unanswered; one started at 2.5 s works.
#[test]
fn dad_true_keeps_addresses_tentative_first() {
    let src = r#"
seed = 2
duration = "4s"
dad = true
[[node]]
name = "h1"
[[node]]
name = "h2"
[[link]]
a = "h1"
b = "h2"
a_addr6 = "2001:db8:1::1/64"
b_addr6 = "2001:db8:1::2/64"
[[app]]
kind = "ping"
name = "early"
node = "h1"
dst = "2001:db8:1::2"
count = 1
[[app]]
kind = "ping"
name = "late"
node = "h1"
dst = "2001:db8:1::2"
count = 5
interval = "100ms"
start = "2500ms"
"#;
    let o = run(src, 2, None);
    let early = report(&o, "early");
    assert!(early.note.contains("1 sent, 0 received"), "{early:?}");
    assert!(report(&o, "late").note.starts_with("5 sent, 5 received"), "{:?}", o.reports);
}
