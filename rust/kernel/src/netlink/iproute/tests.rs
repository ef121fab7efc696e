//! `run_ip` without a Linux to compare with: texts as iproute2 6.1 prints them on a
//! Linux 6.x netns configured the same way (captured once, see
//! tests/netlink_iproute.rs for the live comparison).

use crate::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};

/// A kernel with lo and eth0 (02:00:00:00:00:01), both up.
fn kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let e = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, e, true).unwrap();
    k
}

fn ok(k: &mut Kernel, cmd: &str) -> String {
    k.run_ip(0, cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

#[test]
fn routes_print_like_iproute2() {
    let mut k = kernel();
    ok(&mut k, "ip addr add 10.0.0.1/24 dev eth0");
    ok(&mut k, "ip r add 10.9.0.0/16 via 10.0.0.254 metric 5 proto static");
    ok(&mut k, "ro add blackhole 10.10.0.0/16");
    ok(&mut k, "route add default via 10.0.0.254 dev eth0 src 10.0.0.1 table 100");
    ok(&mut k, "route add 192.168.0.0/24 dev eth0 scope link");
    assert_eq!(
        ok(&mut k, "ip route"),
        "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n\
         10.9.0.0/16 via 10.0.0.254 dev eth0 proto static metric 5 \n\
         blackhole 10.10.0.0/16 \n\
         192.168.0.0/24 dev eth0 scope link \n"
    );
    assert_eq!(
        ok(&mut k, "route show table 100"),
        "default via 10.0.0.254 dev eth0 src 10.0.0.1 \n"
    );
    assert_eq!(
        ok(&mut k, "ip route get 10.9.1.1"),
        "10.9.1.1 via 10.0.0.254 dev eth0 src 10.0.0.1 uid 0 \n    cache \n"
    );
    assert_eq!(
        ok(&mut k, "ip route get 10.0.0.1"),
        "local 10.0.0.1 dev lo src 10.0.0.1 uid 0 \n    cache <local> \n"
    );
    ok(&mut k, "route flush table main proto static");
    assert!(!ok(&mut k, "route").contains("10.9.0.0"));
}

#[test]
fn addr_and_link_print_like_iproute2() {
    let mut k = kernel();
    ok(&mut k, "a add 10.0.0.1/24 brd + dev eth0");
    assert_eq!(
        ok(&mut k, "ip -4 addr show"),
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    \
         inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n\
         2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n    \
         inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n       valid_lft forever preferred_lft forever\n"
    );
    ok(&mut k, "link set dev eth0 mtu 1400");
    ok(&mut k, "link set eth0 down");
    assert_eq!(
        ok(&mut k, "ip li show dev eth0"),
        "2: eth0: <BROADCAST,MULTICAST> mtu 1400 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000\n    \
         link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n"
    );
    ok(&mut k, "link set eth0 up");
    ok(&mut k, "addr flush dev eth0");
    assert!(k.dev(2).unwrap().addrs4.is_empty());
}

#[test]
fn errors_read_like_iproute2() {
    let mut k = kernel();
    ok(&mut k, "addr add 10.0.0.1/24 dev eth0");
    ok(&mut k, "route add 10.9.0.0/16 via 10.0.0.254");
    ok(&mut k, "route add blackhole 10.10.0.0/16");
    let cases = [
        ("route add 10.9.0.0/16 via 10.0.0.254", "RTNETLINK answers: File exists"),
        ("route del 1.2.3.0/24", "RTNETLINK answers: No such process"),
        ("addr add 10.0.0.1/24 dev eth0", "Error: ipv4: Address already assigned."),
        ("addr del 10.0.0.9/24 dev eth0", "Error: ipv4: Address not found."),
        ("link set dev nosuch up", "Cannot find device \"nosuch\""),
        ("route add 10.11.0.0/16 via 10.99.0.1", "Error: Nexthop has invalid gateway."),
        ("route add 10.1.2.3/16 dev eth0", "Error: Invalid prefix for given prefix length."),
        ("route get 10.10.0.1", "RTNETLINK answers: Invalid argument"),
        ("route get 192.0.2.1", "RTNETLINK answers: Network is unreachable"),
        ("link set dev eth0 mtu 20", "Error: mtu less than device minimum."),
        ("neigh del 10.0.0.50 dev eth0", "RTNETLINK answers: No such file or directory"),
        ("route add 10.20.0.0/16", "RTNETLINK answers: No such device"),
        ("addr add 10.0.0.5/24", "Not enough information: \"dev\" argument is required."),
        ("foo", "Object \"foo\" is unknown, try \"ip help\"."),
    ];
    for (cmd, want) in cases {
        assert_eq!(k.run_ip(0, cmd), Err(want.to_string()), "{cmd}");
    }
}

#[test]
fn neighbours() {
    let mut k = kernel();
    ok(&mut k, "ip n add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0");
    assert_eq!(ok(&mut k, "neigh show"), "10.0.0.9 dev eth0 lladdr 02:00:00:00:00:09 PERMANENT \n");
    assert_eq!(ok(&mut k, "neigh show dev eth0"), "10.0.0.9 lladdr 02:00:00:00:00:09 PERMANENT \n");
    ok(&mut k, "neigh del 10.0.0.9 dev eth0");
    assert_eq!(ok(&mut k, "neigh"), "");
}

#[test]
fn rules() {
    let mut k = kernel();
    ok(&mut k, "rule add from 10.0.0.0/24 lookup 100");
    ok(&mut k, "ru add to 10.1.0.0/16 prohibit pref 1100");
    ok(&mut k, "rule add not from 10.2.0.1 iif lo lookup main pref 1200");
    ok(&mut k, "rule add to 10.3.0.0/16 blackhole pref 1300 proto static");
    ok(&mut k, "rule add tos 0x10 lookup 7 pref 1400");
    assert_eq!(
        ok(&mut k, "ip rule show"),
        "0:\tfrom all lookup local\n\
         1100:\tfrom all to 10.1.0.0/16 prohibit\n\
         1200:\tnot from 10.2.0.1 iif lo lookup main\n\
         1300:\tfrom all to 10.3.0.0/16 blackhole proto static\n\
         1400:\tfrom all tos 0x10 lookup 7\n\
         32765:\tfrom 10.0.0.0/24 lookup 100\n\
         32766:\tfrom all lookup main\n\
         32767:\tfrom all lookup default\n"
    );
    let exists = "RTNETLINK answers: File exists";
    assert_eq!(k.run_ip(0, "rule add to 10.1.0.0/16 prohibit pref 1100"), Err(exists.into()));
    let missing = "RTNETLINK answers: No such file or directory";
    assert_eq!(k.run_ip(0, "rule del pref 999"), Err(missing.into()));
    ok(&mut k, "rule del pref 1100");
    assert!(!ok(&mut k, "rule").contains("1100"));
}

#[test]
fn append_and_prepend_order_aliases() {
    let mut k = kernel();
    ok(&mut k, "addr add 10.0.0.1/24 dev eth0");
    ok(&mut k, "route add 10.9.0.0/16 via 10.0.0.2");
    ok(&mut k, "route append 10.9.0.0/16 via 10.0.0.3");
    ok(&mut k, "route prepend 10.9.0.0/16 via 10.0.0.4");
    let gws: Vec<String> = ok(&mut k, "route show 10.9.0.0/16")
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap().to_string())
        .collect();
    assert_eq!(gws, ["10.0.0.4", "10.0.0.2", "10.0.0.3"]);
}

#[test]
fn ipv6_routes_print_like_iproute2() {
    let mut k = kernel();
    k.net.addr6_add_flags(0, 2, "2001:db8:1::1".parse().unwrap(), 64, true).unwrap();
    ok(&mut k, "ip -6 route add 2001:db8:5::/64 via 2001:db8:1::9");
    ok(&mut k, "ip -6 route add 2001:db8:6::/64 via fe80::1 dev eth0 metric 5 mtu 1400");
    ok(
        &mut k,
        "-6 r add 2001:db8:7::/64 nexthop via 2001:db8:1::2 nexthop via 2001:db8:1::3 weight 3",
    );
    ok(&mut k, "-6 route add blackhole 2001:db8:8::/64");
    ok(&mut k, "-6 route add 2001:db8:b::/64 dev eth0 table 100 proto static");
    assert_eq!(
        k.run_ip(0, "-6 route add 2001:db8:6::/64 via fe80::1"),
        Err("Error: Egress device not specified.".into())
    );
    assert_eq!(
        k.run_ip(0, "-6 route add 2001:db8:c::/129 dev eth0"),
        Err("Error: inet6 prefix is expected rather than \"2001:db8:c::/129\".".into())
    );
    // Captured from `ip -6 route` on Linux 6.18 configured the same way (the
    // link-local prefix route comes once DAD finished on Linux too).
    assert_eq!(
        ok(&mut k, "ip -6 route"),
        "2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium\n\
         2001:db8:5::/64 via 2001:db8:1::9 dev eth0 metric 1024 pref medium\n\
         2001:db8:6::/64 via fe80::1 dev eth0 metric 5 mtu 1400 pref medium\n\
         2001:db8:7::/64 metric 1024 pref medium\n\
         \tnexthop via 2001:db8:1::2 dev eth0 weight 1 \n\
         \tnexthop via 2001:db8:1::3 dev eth0 weight 3 \n\
         blackhole 2001:db8:8::/64 dev lo metric 1024 pref medium\n\
         fe80::/64 dev eth0 proto kernel metric 256 pref medium\n"
    );
    assert_eq!(
        ok(&mut k, "-6 route show table 100"),
        "2001:db8:b::/64 dev eth0 proto static metric 1024 pref medium\n"
    );
    ok(&mut k, "-6 route del 2001:db8:5::/64");
    ok(&mut k, "-6 route del blackhole 2001:db8:8::/64");
    assert_eq!(
        k.run_ip(0, "-6 route del 2001:db8:5::/64"),
        Err("RTNETLINK answers: No such process".into())
    );
    let all = ok(&mut k, "-6 route show table all");
    assert!(
        all.contains(
            "local 2001:db8:1::1 dev eth0 table local proto kernel metric 0 pref medium\n"
        ),
        "{all}"
    );
    assert!(
        all.contains(
            "multicast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium\n"
        ),
        "{all}"
    );
}

#[test]
fn ipv6_addresses_by_command_line() {
    let mut k = kernel();
    ok(&mut k, "ip -6 addr add 2001:db8:1::1/64 dev eth0 nodad");
    ok(&mut k, "-6 a add 2001:db8:2::1/64 dev eth0");
    let addrs = |k: &Kernel| -> Vec<(String, u8, bool)> {
        k.addrs6(2)
            .iter()
            .map(|f| {
                (f.addr.to_string(), f.prefix_len, f.state == crate::ipv6::AddrState::Preferred)
            })
            .collect()
    };
    let v = addrs(&k);
    assert!(v.contains(&("2001:db8:1::1".into(), 64, true)), "{v:?}");
    // Without nodad the address is tentative while DAD runs.
    assert!(v.contains(&("2001:db8:2::1".into(), 64, false)), "{v:?}");
    assert!(ok(&mut k, "-6 route").contains("2001:db8:1::/64 dev eth0 proto kernel metric 256"));
    assert_eq!(
        k.run_ip(0, "-6 addr add 2001:db8:1::1/64 dev eth0"),
        Err("Error: ipv6: address already assigned.".into())
    );
    ok(&mut k, "-6 addr del 2001:db8:1::1/64 dev eth0");
    assert!(!addrs(&k).iter().any(|a| a.0 == "2001:db8:1::1"));
    assert_eq!(
        k.run_ip(0, "-6 addr del 2001:db8:1::1/64 dev eth0"),
        Err("Error: ipv6: address not found.".into())
    );
    assert_eq!(
        k.run_ip(0, "-6 addr add 2001:db8:3::1/64"),
        Err("Not enough information: \"dev\" argument is required.".into())
    );
}
