//! Multipath routes: a flow keeps its path, paths are used in proportion to their
//! weights, a path through a downed device is skipped, bad next hops are refused — and
//! a Linux network namespace with the same route spreads the same destinations in the
//! same proportions (Linux's hash differs, so only the shares are compared). The Linux
//! part needs root and iproute2; LIBOS_SKIP_NETNS=1 skips it, loudly.

use libos_kernel::route::{NextHop, Route};
use libos_kernel::{DeviceConfig, Errno, EthernetAddress, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

fn ip(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn dsts() -> impl Iterator<Item = Ipv4Addr> {
    let base = u32::from(Ipv4Addr::new(203, 0, 112, 1));
    (0..400u32).map(move |i| Ipv4Addr::from(base + i))
}

fn kernel() -> (Kernel, u32, u32) {
    let mut k = Kernel::new(KernelConfig { seed: 7 });
    let a = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
    let b = k.dev_add(DeviceConfig::ethernet("eth2", EthernetAddress::local(2))).unwrap();
    for d in [a, b] {
        k.dev_set_up(0, d, true).unwrap();
    }
    k.addr_add(0, a, ip("192.0.2.10"), 24).unwrap();
    k.addr_add(0, b, ip("198.18.0.10"), 24).unwrap();
    let mut r = Route::new(ip("203.0.112.0"), 23, None, None);
    r.nexthops = vec![
        NextHop { gateway: Some(ip("192.0.2.1")), oif: None, weight: 1 },
        NextHop { gateway: Some(ip("198.18.0.1")), oif: None, weight: 3 },
    ];
    k.route_add(r).unwrap();
    (k, a, b)
}

/// Share of the 400 destinations sent through eth2 (weight 3 of 4).
fn libos_share(k: &Kernel, eth2: u32) -> f64 {
    let n = dsts().filter(|d| k.route_get(IpAddr::V4(*d)).unwrap().oif == eth2).count();
    n as f64 / 400.0
}

#[test]
fn flows_spread_by_weight_and_avoid_dead_paths() {
    let (mut k, eth0, eth2) = kernel();
    let share = libos_share(&k, eth2);
    assert!((0.65..=0.85).contains(&share), "eth2 share {share}");
    for d in dsts().take(20) {
        let a = k.route_get(IpAddr::V4(d)).unwrap();
        let b = k.route_get_from(IpAddr::V4(d), "192.0.2.10".parse().unwrap()).unwrap();
        assert_eq!(k.route_get(IpAddr::V4(d)).unwrap(), a, "a flow keeps its path");
        assert!([eth0, eth2].contains(&b.oif));
    }
    k.dev_set_up(0, eth2, false).unwrap();
    assert_eq!(libos_share(&k, eth2), 0.0, "a downed path is skipped");
    assert!(dsts().all(|d| k.route_get(IpAddr::V4(d)).unwrap().oif == eth0));

    let mut bad = Route::new(ip("10.0.0.0"), 8, None, None);
    bad.nexthops = vec![NextHop { gateway: Some(ip("192.0.2.1")), oif: None, weight: 0 }];
    assert_eq!(k.route_add(bad.clone()), Err(Errno::EINVAL), "weight 0");
    bad.nexthops[0] = NextHop { gateway: Some(ip("172.31.0.1")), oif: None, weight: 1 };
    assert_eq!(k.route_add(bad), Err(Errno::ENETUNREACH), "gateway not on link");
}

#[test]
fn linux_spreads_the_same_destinations_in_the_same_proportions() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: ECMP against a Linux netns SKIPPED !!!!");
        return;
    }
    let ns = format!("libos-ecmp-{}", std::process::id());
    assert!(Command::new("ip").args(["netns", "add", &ns]).status().unwrap().success());
    let mut script = String::from(
        "set -e
ip link add eth0 type veth peer name eth1; ip link set eth1 up; ip link set eth0 up
ip link add eth2 type veth peer name eth3; ip link set eth3 up; ip link set eth2 up
ip addr add 192.0.2.10/24 dev eth0; ip addr add 198.18.0.10/24 dev eth2
ip route add 203.0.112.0/23 nexthop via 192.0.2.1 weight 1 nexthop via 198.18.0.1 weight 3
",
    );
    for d in dsts() {
        script += &format!("ip route get {d}\n");
    }
    let out =
        Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", &script]).output().unwrap();
    Command::new("ip").args(["netns", "del", &ns]).status().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let linux = text.lines().filter(|l| l.contains("dev eth2")).count() as f64 / 400.0;
    let (k, _, eth2) = kernel();
    let ours = libos_share(&k, eth2);
    assert!((0.65..=0.85).contains(&linux), "Linux's eth2 share {linux}");
    assert!((ours - linux).abs() < 0.1, "libos {ours} vs Linux {linux}");
}
