//! Every pcap we write decodes in tshark with checksum validation on: no bad IP, TCP,
//! UDP or ICMP checksum, no malformed packet. Without tshark on PATH this test FAILS
//! unless LIBOS_SKIP_TSHARK=1 (CI installs tshark).

mod common;
use common::*;
use std::process::Command;

#[test]
fn pcaps_decode_with_checksums_validated() {
    if Command::new("tshark").arg("--version").output().is_err() {
        if std::env::var("LIBOS_SKIP_TSHARK").as_deref() == Ok("1") {
            eprintln!("tshark not found; skipped because LIBOS_SKIP_TSHARK=1");
            return;
        }
        panic!(
            "tshark is not on PATH: install it (apt-get install tshark) or set LIBOS_SKIP_TSHARK=1"
        );
    }
    let dir = tempdir("tshark");
    let lan =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/lan.toml"))
            .unwrap();
    let a = run(&chain_all_apps("ethernet"), 2, Some(&dir.join("chain")));
    let b = run(&lan, 2, Some(&dir.join("lan")));
    let pcaps: Vec<_> = a.pcaps.iter().chain(&b.pcaps).collect();
    assert!(pcaps.len() >= 12);
    let mut tcp = 0;
    let mut icmp = 0;
    for p in pcaps {
        let out = Command::new("tshark")
            .args(["-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"])
            .args(["-o", "udp.check_checksum:TRUE", "-r"])
            .arg(p)
            .args(["-T", "fields", "-E", "separator=|", "-e", "frame.number"])
            .args([
                "-e",
                "ip.checksum.status",
                "-e",
                "tcp.checksum.status",
                "-e",
                "udp.checksum.status",
            ])
            .args([
                "-e",
                "icmp.checksum.status",
                "-e",
                "_ws.malformed",
                "-e",
                "_ws.expert.severity",
            ])
            .output()
            .expect("run tshark");
        assert!(
            out.status.success(),
            "tshark failed on {}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let f: Vec<&str> = line.split('|').collect();
            // checksum.status: 0 = bad, 1 = good, 2 = unverified.
            for (i, name) in [(1, "ip"), (2, "tcp"), (3, "udp"), (4, "icmp")] {
                let v = f.get(i).copied().unwrap_or("");
                assert!(
                    !v.split(',').any(|x| x == "0"),
                    "bad {name} checksum in {}: {line}",
                    p.display()
                );
            }
            assert!(
                f.get(5).is_none_or(|m| m.is_empty()),
                "malformed packet in {}: {line}",
                p.display()
            );
            if f.get(2).is_some_and(|v| !v.is_empty()) {
                tcp += 1;
            }
            if f.get(4).is_some_and(|v| !v.is_empty()) {
                icmp += 1;
            }
        }
    }
    assert!(tcp > 100 && icmp >= 20, "too little decoded traffic: tcp {tcp}, icmp {icmp}");
    std::fs::remove_dir_all(&dir).unwrap();
}
