//! Addresses and the routes they imply against a Linux network namespace (needs root
//! and iproute2; LIBOS_SKIP_NETNS=1 skips, loudly): secondary addresses, deleting a
//! primary, a device going down (local routes stay) and multipath nexthops marked
//! `linkdown` / `dead linkdown`, then dropped with their last live device.
//!
//! Both sides have eth0 and eth1 (ifindex 2 and 3, fixed MACs); on Linux they are veths
//! whose peers live in a second namespace, so taking a peer down is the carrier
//! going away (`Kernel::dev_set_carrier` on libos).

mod twin;
use twin::{Netns, sh, skip};

const DEVS: &[&str] = &["eth0", "eth1"];

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
    if skip("address routes") {
        return;
    }
    let ns = Netns::new("addr", DEVS);
    let mut k = twin::libos(DEVS);
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
