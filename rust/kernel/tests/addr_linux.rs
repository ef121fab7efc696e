//! Addresses and the routes they imply against a Linux network namespace (needs root
//! and iproute2; LIBOS_SKIP_NETNS=1 skips, loudly): secondary addresses, deleting a
//! primary, a device going down (local routes stay) and multipath nexthops marked
//! `linkdown` / `dead linkdown`, then dropped with their last live device.
//!
//! Both sides have eth0 and eth1 (ifindex 2 and 3, fixed MACs); on Linux they are veths
//! whose peers live in a second namespace, so taking a peer down is the carrier
//! going away (`Kernel::dev_set_carrier` on libos).

use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::process::Command;

fn skip() -> bool {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: address routes against a Linux netns SKIPPED !!!!");
        return true;
    }
    let uid = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "needs root (network namespaces); set LIBOS_SKIP_NETNS=1 to skip"
    );
    false
}

fn sh(c: &str) {
    let o = Command::new("sh").args(["-c", c]).output().unwrap();
    assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
}

/// Namespace `a` holds eth0 and eth1; their veth peers are in `b`. Deleted on drop.
struct Netns {
    a: String,
    b: String,
}

impl Netns {
    fn new() -> Netns {
        let pid = std::process::id();
        let n = Netns { a: format!("lad-{pid}a"), b: format!("lad-{pid}b") };
        sh(&format!("ip netns add {} && ip netns add {}", n.a, n.b));
        for (i, dev) in ["eth0", "eth1"].iter().enumerate() {
            sh(&format!(
                "ip -n {a} link add {dev} type veth peer name {dev} netns {b} && \
                 ip -n {a} link set {dev} address 02:00:00:00:00:0{m} && \
                 ip -n {a} link set {dev} up && ip -n {b} link set {dev} up",
                a = n.a,
                b = n.b,
                m = i + 1
            ));
        }
        sh(&format!("ip -n {} link set lo up", n.a));
        n
    }

    fn ip(&self, cmd: &str) -> String {
        let mut args = vec!["-n", &self.a];
        args.extend(cmd.split_whitespace());
        let o = Command::new("ip").args(&args).output().expect("ip");
        if o.status.success() {
            norm(&String::from_utf8_lossy(&o.stdout))
        } else {
            format!("ERR {}", String::from_utf8_lossy(&o.stderr).trim())
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

/// Drops what names the veth peer: `@ifN` after the device name, `link-netns NAME`.
fn norm(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines() {
        let mut l = l.to_string();
        if let Some(at) = l.find("@if")
            && let Some(colon) = l[at..].find(':')
        {
            l.replace_range(at..at + colon, "");
        }
        if let Some(i) = l.find(" link-netns") {
            l.truncate(i);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn libos() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 7 });
    for (i, name) in ["eth0", "eth1"].iter().enumerate() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, i as u8 + 1]);
        let e = k.dev_add(DeviceConfig::ethernet(name, mac)).unwrap();
        assert_eq!(e, i as u32 + 2);
        k.dev_set_up(0, e, true).unwrap();
    }
    k
}

/// `CARRIER <dev> on|off` is the peer going up or down; anything else is an `ip` line.
const STEPS: &[&str] = &[
    "addr add 10.0.0.1/24 brd + dev eth0",
    "addr add 10.0.0.2/24 brd + dev eth0",
    "addr add 10.0.0.3/16 brd + dev eth0",
    "addr add 10.0.1.1/24 brd + dev eth1",
    "addr add 10.0.1.2/24 brd + dev eth1",
    "-4 addr show",
    "-4 route show table all",
    "route get 10.0.0.99",
    "route add 10.9.0.0/16 nexthop via 10.0.0.254 dev eth0 nexthop via 10.0.1.254 dev eth1",
    "route add 10.8.0.0/16 nexthop via 10.0.1.253 dev eth1 nexthop via 10.0.1.254 dev eth1",
    "CARRIER eth1 off",
    "route show",
    "link set eth1 down",
    "route show",
    "-4 route show table all",
    "route get 10.9.3.3",
    "link set eth1 up",
    "CARRIER eth1 on",
    "route show",
    "link set eth0 down",
    "-4 route show table all",
    "route get 10.0.0.1",
    "link set eth0 up",
    "-4 route show table all",
    "addr del 10.0.1.2/24 dev eth1",
    "addr del 10.0.0.1/24 dev eth0",
    "-4 addr show",
    "-4 route show table all",
];

#[test]
fn address_routes_like_linux() {
    if skip() {
        return;
    }
    let ns = Netns::new();
    let mut k = libos();
    let mut diffs = Vec::new();
    for step in STEPS {
        if let Some(rest) = step.strip_prefix("CARRIER ") {
            let (dev, on) = rest.split_once(' ').unwrap();
            sh(&format!(
                "ip -n {} link set {dev} {}",
                ns.b,
                if on == "on" { "up" } else { "down" }
            ));
            let i = k.dev_index(dev).unwrap();
            k.dev_set_carrier(0, i, on == "on").unwrap();
            // veth reports the peer's state through linkwatch, which may hold a
            // non-urgent event for up to a second: wait until it shows.
            for _ in 0..40 {
                let no_carrier = ns.ip(&format!("link show dev {dev}")).contains("NO-CARRIER");
                if no_carrier == (on == "off") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            continue;
        }
        let theirs = ns.ip(step);
        let ours = k.run_ip(0, step).unwrap_or_else(|e| format!("ERR {e}"));
        if ours != theirs {
            diffs.push(format!("$ ip {step}\n--- linux\n{theirs}\n--- libos\n{ours}"));
        }
    }
    assert!(diffs.is_empty(), "{} of {} differ:\n{}", diffs.len(), STEPS.len(), diffs.join("\n"));
}
