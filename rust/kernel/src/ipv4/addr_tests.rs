//! Addresses and the routes they imply, as Linux derives them: secondaries, deletion
//! of a primary, devices going down under multipath routes.

use crate::route::RouteKind;
use crate::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::net::IpAddr;

fn kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 5 });
    for (i, name) in ["eth0", "eth1"].iter().enumerate() {
        let e = k.dev_add(DeviceConfig::ethernet(name, EthernetAddress::local(i as u32 + 1)));
        k.dev_set_up(0, e.unwrap(), true).unwrap();
    }
    k
}

fn ip(k: &mut Kernel, cmd: &str) -> String {
    k.run_ip(0, cmd).unwrap_or_else(|e| panic!("ip {cmd}: {e}"))
}

fn a(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn second_address_in_a_subnet_is_secondary_without_its_own_prefix_route() {
    let mut k = kernel();
    ip(&mut k, "addr add 10.0.0.1/24 dev eth0");
    ip(&mut k, "addr add 10.0.0.2/24 dev eth0");
    ip(&mut k, "addr add 10.0.0.3/16 dev eth0"); // another prefix length: a primary
    // (No `brd` given, none set: `inet_rtm_newaddr`.)
    let shown = ip(&mut k, "addr show dev eth0");
    assert!(shown.contains("inet 10.0.0.2/24 scope global secondary eth0"), "{shown}");
    assert!(!shown.contains("10.0.0.1/24 scope global secondary"), "{shown}");
    assert!(!shown.contains("10.0.0.3/16 scope global secondary"), "{shown}");
    assert_eq!(
        ip(&mut k, "route show"),
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n\
         10.0.0.0/16 dev eth0 proto kernel scope link src 10.0.0.3 \n"
    );
    // The secondary's local route takes the primary as its source (`fib_add_ifaddr`).
    let local = k.routes().find(|r| r.kind == RouteKind::Local && r.dst == a("10.0.0.2"));
    assert_eq!(local.and_then(|r| r.src), Some(a("10.0.0.1")));
    let brd = k.routes().filter(|r| r.kind == RouteKind::Broadcast && r.dst == a("10.0.0.255"));
    assert_eq!(brd.count(), 1);
}

#[test]
fn deleting_a_primary_takes_its_secondaries() {
    let mut k = kernel();
    ip(&mut k, "addr add 10.0.0.1/24 dev eth0");
    ip(&mut k, "addr add 10.0.0.2/24 dev eth0");
    ip(&mut k, "addr add 10.0.1.1/24 dev eth0");
    ip(&mut k, "addr del 10.0.0.1/24 dev eth0");
    let shown = ip(&mut k, "addr show dev eth0");
    assert!(!shown.contains("10.0.0.2"), "{shown}");
    assert!(shown.contains("10.0.1.1/24"), "{shown}");
    assert!(!k.routes().any(|r| r.dst == a("10.0.0.2") || r.src == Some(a("10.0.0.2"))));
    // Deleting a secondary leaves its primary.
    ip(&mut k, "addr add 10.0.1.2/24 dev eth0");
    ip(&mut k, "addr del 10.0.1.2/24 dev eth0");
    assert!(ip(&mut k, "addr show dev eth0").contains("10.0.1.1/24"));
}

#[test]
fn multipath_nexthops_are_marked_linkdown_and_dead_and_go_with_the_last_device() {
    let mut k = kernel();
    ip(&mut k, "addr add 10.0.0.1/24 dev eth0");
    ip(&mut k, "addr add 10.0.1.1/24 dev eth1");
    ip(&mut k, "route add 10.9.0.0/16 nexthop via 10.0.0.2 dev eth0 nexthop via 10.0.1.2 dev eth1");
    let eth1 = k.dev_index("eth1").unwrap();
    k.dev_set_carrier(0, eth1, false).unwrap();
    let r = ip(&mut k, "route show 10.9.0.0/16");
    assert_eq!(
        r,
        "10.9.0.0/16 \n\tnexthop via 10.0.0.2 dev eth0 weight 1 \
         \n\tnexthop via 10.0.1.2 dev eth1 weight 1 linkdown \n"
    );
    ip(&mut k, "link set dev eth1 down");
    let r = ip(&mut k, "route show 10.9.0.0/16");
    assert!(r.ends_with("\n\tnexthop via 10.0.1.2 dev eth1 weight 1 dead linkdown \n"), "{r}");
    // Lookups use the live path.
    assert_eq!(k.route_get(a("10.9.1.1")).unwrap().next_hop, a("10.0.0.2"));
    ip(&mut k, "link set dev eth1 up");
    k.dev_set_carrier(0, eth1, true).unwrap();
    assert!(!ip(&mut k, "route show 10.9.0.0/16").contains("dead"));
    ip(&mut k, "link set dev eth1 down");
    ip(&mut k, "link set dev eth0 down");
    assert_eq!(ip(&mut k, "route show 10.9.0.0/16"), "");
}
