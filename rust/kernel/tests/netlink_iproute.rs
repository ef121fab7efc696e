//! rtnetlink and the built-in `ip` against the real thing (needs root, iproute2 and
//! strace; CI runs as root). LIBOS_SKIP_NETNS=1 skips, loudly; without root the tests
//! fail rather than pass silently.
//!
//! Both sides have `lo` and `eth0` (02:00:00:00:00:01, ifindex 2, up). On Linux eth0
//! is a veth whose peer lives in a second namespace, so the only normalisation is
//! dropping what names that peer: the `@ifN` suffix of the device name and
//! `link-netns NAME` in `ip link` output (`twin/mod.rs`). Secondary addresses, downed
//! devices and multipath are compared in `addr_linux.rs`.

mod twin;
use libos_kernel::Kernel;
use std::process::Command;
use twin::{Netns, skip};

fn run(k: &mut Kernel, cmd: &str) -> String {
    match k.run_ip(0, cmd) {
        Ok(s) => s,
        Err(e) => format!("ERR {e}"),
    }
}

/// Each line runs on both sides; every output (or error text) must be identical.
const STEPS: &[&str] = &[
    "addr add 10.0.0.1/24 brd + dev eth0",
    "address add 192.168.5.9/16 brd + dev eth0",
    "a add 10.0.0.1/24 brd + dev eth0",
    "addr del 10.0.0.99/24 dev eth0",
    "route add 10.9.0.0/16 via 10.0.0.254 metric 5 proto static",
    "route add 10.9.0.0/16 via 10.0.0.254 metric 5",
    "ro add blackhole 10.10.0.0/16",
    "route add unreachable 10.11.0.0/16 metric 9",
    "r add prohibit 10.12.0.0/24",
    "route add default via 10.0.0.254 dev eth0 src 10.0.0.1 table 100",
    "route add default via 10.0.0.253",
    "route append default via 10.0.0.252",
    "route prepend default via 10.0.0.251",
    "route add 172.16.0.0/12 dev eth0 scope link",
    "route add 172.17.0.0/16 dev eth0 metric 100 proto bird",
    "route replace 10.9.0.0/16 via 10.0.0.250 metric 5 proto static",
    "route add 10.20.0.0/16 via 10.0.0.254 metric 10",
    "route add 10.20.0.0/16 via 10.0.0.253 metric 20",
    "route del 10.20.0.0/16 via 10.0.0.254",
    "route add 10.30.0.0/16 via 10.0.0.254 table 1000",
    "route add 10.5.0.0/16 nexthop via 10.0.0.3 weight 2 nexthop via 10.0.0.4",
    "route add local 10.0.0.77 dev eth0",
    "route add 10.40.0.0/16 via 10.99.0.1",
    "route add 10.1.2.3/16 dev eth0",
    "route add 10.21.0.0/16 dev eth0 src 10.0.0.9",
    "route add blackhole 10.22.0.0/16 dev eth0",
    "route del 1.2.3.0/24",
    "route change 10.50.0.0/16 via 10.0.0.254",
    "link set dev eth0 mtu 1400",
    "link set dev eth0 mtu 20",
    "link set dev eth0 mtu 70000",
    "link set dev nosuch up",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0",
    "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0",
    "neigh del 10.0.0.50 dev eth0",
    "rule add from 10.0.0.0/24 lookup 100",
    "rule add to 10.1.0.0/16 prohibit pref 1100",
    "rule add not from 10.2.0.1 iif lo lookup main pref 1200",
    "rule add to 10.3.0.0/16 blackhole pref 1300 proto static",
    "rule add tos 0x10 lookup 7 pref 1400",
    "rule add to 10.1.0.0/16 prohibit pref 1100",
    "rule del pref 999",
    "rule show",
    "route get 10.1.0.5",
    "route get 8.8.8.8 from 10.0.0.1",
    "route get 10.9.1.1 from 192.168.5.9",
    "route get 10.3.0.5",
    "rule del pref 1100",
    "ru",
    "route show",
    "ip route",
    "-4 route show table all",
    "route show table 100",
    "route show table 1000",
    "-4 addr show",
    "-4 a",
    "-4 addr show dev eth0",
    "link show",
    "li",
    "link show dev eth0",
    "-4 neigh show",
    "route get 10.9.1.1",
    "route get 10.0.0.1",
    "route get 10.0.0.7",
    "route get 10.0.0.77",
    "route get 10.0.0.255",
    "route get 10.10.0.1",
    "route get 10.11.0.1",
    "route get 10.12.0.9",
    "route get 127.0.0.1",
    "route del default via 10.0.0.253",
    "route del 10.9.0.0/16",
    "addr del 192.168.5.9/16 dev eth0",
    "route show",
    // Multipath through a downed device is compared in addr_linux.rs.
    "route del 10.5.0.0/16",
    "link set eth0 down",
    "route show",
    // A downed device's local-table routes are compared in addr_linux.rs.
    "link show eth0",
    "route add 10.60.0.0/16 dev eth0",
    "link set eth0 up",
    "route show",
    "-4 addr show",
    "addr flush dev eth0",
    "-4 route show table all",
    "-4 addr",
];

#[test]
fn same_commands_same_output_as_linux() {
    if skip("ip command comparison") {
        return;
    }
    let ns = Netns::new("cmp", &["eth0"]);
    let mut k = twin::libos(&["eth0"]);
    let mut diffs = Vec::new();
    for step in STEPS {
        let cmd = step.strip_prefix("ip ").unwrap_or(step);
        let theirs = ns.ip(cmd);
        let ours = run(&mut k, step);
        if ours != theirs {
            diffs.push(format!("$ ip {cmd}\n--- linux\n{theirs}\n--- libos\n{ours}"));
        }
    }
    assert!(diffs.is_empty(), "{} of {} differ:\n{}", diffs.len(), STEPS.len(), diffs.join("\n"));
}

/// The netlink batches `ip` sent (strace `-e write=` hex dumps, one Vec per syscall).
fn strace_ip(ns: &Netns, cmd: &str) -> Vec<Vec<u8>> {
    let out = std::env::temp_dir().join(format!("libos-nl-strace-{}", std::process::id()));
    let mut args = vec!["-f", "-e", "trace=sendmsg,sendto", "-e", "write=3,4,5,6", "-xx"];
    let outs = out.to_string_lossy().to_string();
    args.extend(["-s", "4096", "-o", &outs, "ip", "-n", &ns.a]);
    args.extend(cmd.split_whitespace());
    let st = Command::new("strace").args(&args).output().expect("strace (apt install strace)");
    assert!(st.status.code().is_some(), "strace failed: {}", String::from_utf8_lossy(&st.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let mut calls: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        if line.contains("sendmsg(") || line.contains("sendto(") {
            calls.push(Vec::new());
            continue;
        }
        // " | 00000  34 00 00 00 12 00 01 00  c1 a1 0a 6b 00 00 00 00  4....... |"
        let Some(i) = line.find("| ") else { continue };
        let rest = &line[i + 2..];
        if rest.len() < 7 || !rest[..5].bytes().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let hex = &rest[7..rest.len().min(7 + 49)];
        let bytes = hex.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap());
        if let Some(c) = calls.last_mut() {
            c.extend(bytes);
        }
    }
    calls
}

/// What real iproute2 sends, fed to `Kernel::netlink`, leaves libos in Linux's state.
#[test]
fn real_iproute2_requests_decode() {
    if skip("iproute2 request replay") {
        return;
    }
    let ns = Netns::new("rpl", &["eth0"]);
    let mut k = twin::libos(&["eth0"]);
    let cmds = [
        "addr add 10.0.0.1/24 brd + dev eth0",
        "addr add 192.168.7.1/24 brd + dev eth0",
        "route add 10.9.0.0/16 via 10.0.0.254 metric 5 proto static",
        "route add blackhole 10.10.0.0/16",
        "route add default via 10.0.0.254 table 100",
        "route add 10.5.0.0/16 nexthop via 10.0.0.3 weight 3 nexthop via 10.0.0.4",
        "route replace 10.9.0.0/16 via 10.0.0.250 metric 5",
        "route append 10.9.0.0/16 via 10.0.0.251 metric 5",
        "route add 10.8.0.0/16 dev eth0 metric 7 src 10.0.0.1 proto zebra",
        "route del 10.9.0.0/16 via 10.0.0.250",
        "link set dev eth0 mtu 1300",
        "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0",
        "addr del 192.168.7.1/24 dev eth0",
        "route add 10.9.0.0/16 via 10.0.0.254 metric 5",
        "rule add from 10.0.0.0/24 lookup 100 pref 500",
        "rule add to 10.1.0.0/16 prohibit",
        "rule add not to 10.2.0.0/16 oif eth0 lookup 200 pref 600 proto static",
        "rule del pref 600",
    ];
    let mut sent = 0;
    for c in cmds {
        let calls = strace_ip(&ns, c);
        assert!(!calls.is_empty(), "no netlink traffic captured for `ip {c}`");
        for req in calls {
            let reply = k.netlink(0, &req);
            // Every request got an answer; change requests ended with an ack or error.
            assert!(!reply.is_empty(), "no reply to {c}: {req:02x?}");
            sent += 1;
        }
    }
    assert!(sent >= cmds.len());
    let shows =
        ["-4 route show table all", "-4 addr show", "link show eth0", "-4 neigh show", "rule"];
    for show in shows {
        assert_eq!(run(&mut k, show), ns.ip(show), "after replay: ip {show}");
    }
}
