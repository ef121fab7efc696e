//! IPv6 in /proc/net: `if_inet6` (`if6_seq_show`), `ipv6_route`
//! (`ipv6_route_native_seq_show`) and `snmp6` (`snmp6_seq_show`), in Linux 6.x layout.

use crate::Nanos;
use crate::net::Net;
use crate::netlink::addr6::{ifa_flags, ifa_scope_bits};
use crate::route::{RTPROT_RA, Route, RouteKind};
use std::fmt::Write;
use std::net::{IpAddr, Ipv6Addr};

const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;
const RTF_DEFAULT: u32 = 0x1_0000;
const RTF_ADDRCONF: u32 = 0x4_0000;
const RTF_PREFIX_RT: u32 = 0x8_0000;
const RTF_ANYCAST: u32 = 0x10_0000;
const RTF_NONEXTHOP: u32 = 0x20_0000;
const RTF_EXPIRES: u32 = 0x40_0000;
const RTF_LOCAL: u32 = 0x8000_0000;

fn hex6(a: Ipv6Addr) -> String {
    a.octets().iter().map(|b| format!("{b:02x}")).collect()
}

/// One line per address: address, ifindex, prefix length, scope, flags (low byte),
/// device name right-aligned in 8.
pub(super) fn if_inet6(net: &Net, now: Nanos) -> String {
    let mut out = String::new();
    for (&i, addrs) in &net.ipv6.addrs {
        let Some(d) = net.devs.get(i) else { continue };
        for f in addrs {
            let flags = ifa_flags(f, now) as u8;
            let scope = ifa_scope_bits(f.addr);
            let _ = writeln!(
                out,
                "{} {i:02x} {:02x} {scope:02x} {flags:02x} {:>8}",
                hex6(f.addr),
                f.prefix_len,
                d.name
            );
        }
    }
    out
}

/// `fib6_flags` as Linux sets them for each kind of route.
fn rtf_flags(r: &Route, gateway: bool) -> u32 {
    // Reject routes are never RTF_UP (`ip6_route_info_create`).
    let mut f = if r.kind.output_error().is_some() { 0 } else { RTF_UP };
    if gateway {
        f |= RTF_GATEWAY;
    }
    match r.kind {
        RouteKind::Local => f |= RTF_LOCAL | RTF_NONEXTHOP,
        RouteKind::Anycast => f |= RTF_ANYCAST | RTF_NONEXTHOP,
        RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit => {
            f |= RTF_REJECT | RTF_NONEXTHOP
        }
        _ => {}
    }
    if r.protocol == RTPROT_RA && r.prefix_len == 0 {
        f |= RTF_ADDRCONF | RTF_DEFAULT;
    } else if r.expires.is_some() {
        f |= RTF_ADDRCONF | RTF_PREFIX_RT;
    }
    if r.expires.is_some() {
        f |= RTF_EXPIRES;
    }
    f
}

/// Every table (in hash-bucket order) in the fib6 tree's order, a multipath route as
/// one line per sibling, and the table root's null entry when it holds no default
/// route (`ip6_null_entry`: metric ffffffff, reject, on lo).
pub(super) fn ipv6_route(net: &Net) -> String {
    let zero = "00000000000000000000000000000000";
    let mut out = String::new();
    let mut routes = net.fib.routes6();
    routes.sort_by_key(|r| r.table & 0xff);
    let lo = net.devs.get(crate::dev::LOOPBACK_IFINDEX).map_or("lo", |d| d.name.as_str());
    let mut i = 0;
    while i < routes.len() {
        let table = routes[i].table;
        let end = routes[i..].iter().position(|r| r.table != table).map_or(routes.len(), |n| n + i);
        for r in &routes[i..end] {
            let IpAddr::V6(dst) = r.dst else { continue };
            let paths: Vec<(Option<IpAddr>, Option<u32>)> = if r.nexthops.is_empty() {
                vec![(r.gateway, r.oif)]
            } else {
                r.nexthops.iter().map(|n| (n.gateway, n.oif)).collect()
            };
            for (gw, oif) in paths {
                let gw6 = match gw {
                    Some(IpAddr::V6(g)) => Some(g),
                    _ => None,
                };
                // Reject routes hang off lo.
                let oif = oif.or(r.kind.output_error().map(|_| crate::dev::LOOPBACK_IFINDEX));
                let dev = oif.and_then(|o| net.devs.get(o)).map_or("", |d| d.name.as_str());
                let _ = writeln!(
                    out,
                    "{} {:02x} {zero} 00 {} {:08x} {:08x} {:08x} {:08x} {dev:>8}",
                    hex6(dst),
                    r.prefix_len,
                    gw6.map_or(zero.to_string(), hex6),
                    r.metric,
                    1,
                    0,
                    rtf_flags(r, gw6.is_some())
                );
            }
        }
        if !routes[i..end].iter().any(|r| r.prefix_len == 0) {
            let _ = writeln!(
                out,
                "{zero} 00 {zero} 00 {zero} ffffffff {:08x} {:08x} {:08x} {lo:>8}",
                1,
                0,
                RTF_REJECT | RTF_NONEXTHOP
            );
        }
        i = end;
    }
    out
}

/// Linux 6.x's `snmp6` rows (`snmp6_ipstats_list`, `snmp6_icmp6_list`,
/// `snmp6_udp6_list`, `snmp6_udplite6_list`): the counters IPv6 keeps, 0 for the others.
const SNMP6: &[&str] = &[
    "Ip6InReceives",
    "Ip6InHdrErrors",
    "Ip6InTooBigErrors",
    "Ip6InNoRoutes",
    "Ip6InAddrErrors",
    "Ip6InUnknownProtos",
    "Ip6InTruncatedPkts",
    "Ip6InDiscards",
    "Ip6InDelivers",
    "Ip6OutForwDatagrams",
    "Ip6OutRequests",
    "Ip6OutDiscards",
    "Ip6OutNoRoutes",
    "Ip6ReasmTimeout",
    "Ip6ReasmReqds",
    "Ip6ReasmOKs",
    "Ip6ReasmFails",
    "Ip6FragOKs",
    "Ip6FragFails",
    "Ip6FragCreates",
    "Ip6InMcastPkts",
    "Ip6OutMcastPkts",
    "Ip6InOctets",
    "Ip6OutOctets",
    "Ip6InMcastOctets",
    "Ip6OutMcastOctets",
    "Ip6InBcastOctets",
    "Ip6OutBcastOctets",
    "Ip6InNoECTPkts",
    "Ip6InECT1Pkts",
    "Ip6InECT0Pkts",
    "Ip6InCEPkts",
    "Ip6OutTransmits",
    "Icmp6InMsgs",
    "Icmp6InErrors",
    "Icmp6OutMsgs",
    "Icmp6OutErrors",
    "Icmp6InCsumErrors",
    "Icmp6OutRateLimitHost",
    "Icmp6InDestUnreachs",
    "Icmp6InPktTooBigs",
    "Icmp6InTimeExcds",
    "Icmp6InParmProblems",
    "Icmp6InEchos",
    "Icmp6InEchoReplies",
    "Icmp6InGroupMembQueries",
    "Icmp6InGroupMembResponses",
    "Icmp6InGroupMembReductions",
    "Icmp6InRouterSolicits",
    "Icmp6InRouterAdvertisements",
    "Icmp6InNeighborSolicits",
    "Icmp6InNeighborAdvertisements",
    "Icmp6InRedirects",
    "Icmp6InMLDv2Reports",
    "Icmp6OutDestUnreachs",
    "Icmp6OutPktTooBigs",
    "Icmp6OutTimeExcds",
    "Icmp6OutParmProblems",
    "Icmp6OutEchos",
    "Icmp6OutEchoReplies",
    "Icmp6OutGroupMembQueries",
    "Icmp6OutGroupMembResponses",
    "Icmp6OutGroupMembReductions",
    "Icmp6OutRouterSolicits",
    "Icmp6OutRouterAdvertisements",
    "Icmp6OutNeighborSolicits",
    "Icmp6OutNeighborAdvertisements",
    "Icmp6OutRedirects",
    "Icmp6OutMLDv2Reports",
    "Udp6InDatagrams",
    "Udp6NoPorts",
    "Udp6InErrors",
    "Udp6OutDatagrams",
    "Udp6RcvbufErrors",
    "Udp6SndbufErrors",
    "Udp6InCsumErrors",
    "Udp6IgnoredMulti",
    "Udp6MemErrors",
    "UdpLite6InDatagrams",
    "UdpLite6NoPorts",
    "UdpLite6InErrors",
    "UdpLite6OutDatagrams",
    "UdpLite6RcvbufErrors",
    "UdpLite6SndbufErrors",
    "UdpLite6InCsumErrors",
    "UdpLite6MemErrors",
];

/// `%-32s\t%lu` per counter.
pub(super) fn snmp6(net: &Net) -> String {
    let have = net.ipv6.mib.rows();
    let mut out = String::new();
    for name in SNMP6 {
        let v = have.iter().find(|r| r.0 == *name).map_or(0, |r| r.1);
        let _ = writeln!(out, "{name:<32}\t{v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::wire::EthernetAddress;
    use crate::{DeviceConfig, Kernel, KernelConfig};
    use std::net::IpAddr;

    #[test]
    fn if_inet6_ipv6_route_and_snmp6_in_linux_layout() {
        let mut k = Kernel::new(KernelConfig { seed: 1 });
        let mac = EthernetAddress([2, 0, 0, 0, 0x99, 2]);
        let i = k.dev_add(DeviceConfig::ethernet("tap0", mac)).unwrap();
        k.dev_set_up(0, i, true).unwrap();
        k.net.addr6_add_flags(0, i, "2001:db8:1::2".parse().unwrap(), 64, true).unwrap();
        let blackhole = crate::route::Route::of_kind(
            IpAddr::V6("2001:db8:8::".parse().unwrap()),
            64,
            crate::route::RouteKind::Blackhole,
        );
        k.net.fib.insert(crate::route::Route { metric: 1024, ..blackhole }).unwrap();
        let a = k.proc_read(0, "/proc/net/if_inet6").unwrap();
        assert!(a.contains("00000000000000000000000000000001 01 80 10 80       lo\n"), "{a}");
        assert!(a.contains("20010db8000100000000000000000002 02 40 00 82     tap0\n"), "{a}");
        assert!(a.contains("fe80000000000000000000fffe009902 02 40 20 c0     tap0\n"), "{a}");
        let r = k.proc_read(0, "/proc/net/ipv6_route").unwrap();
        let z = "00000000000000000000000000000000";
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "20010db8000100000000000000000000 40 {z} 00 {z} 00000100 00000001 00000000 00000001     tap0"
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "20010db8000800000000000000000000 40 {z} 00 {z} 00000400 00000001 00000000 00200200       lo"
            )
        );
        // Each table ends with the root's null entry.
        let null = format!("{z} 00 {z} 00 {z} ffffffff 00000001 00000000 00200200       lo");
        assert_eq!(lines.iter().filter(|l| **l == null).count(), 2, "{r}");
        assert!(lines.contains(&format!(
            "20010db8000100000000000000000002 80 {z} 00 {z} 00000000 00000001 00000000 80200001     tap0"
        ).as_str()));
        let s = k.proc_read(0, "/proc/net/snmp6").unwrap();
        assert_eq!(s.lines().count(), 86);
        assert!(s.starts_with("Ip6InReceives                   \t"), "{s}");
    }
}
