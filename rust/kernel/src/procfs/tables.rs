//! `/proc/net/route` (`fib_route_seq_show`), `dev` (`dev_seq_printf_stats`), `arp`
//! (`arp_format_neigh_entry`), `snmp` and `netstat` (`snmp_seq_show`,
//! `netstat_seq_show`: a name line and a value line per section).

use super::{hex_addr, padded};
use crate::neigh::NudState;
use crate::net::Net;
use crate::route::{RT_TABLE_MAIN, RouteKind};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

const RTF_UP: u16 = 0x0001;
const RTF_GATEWAY: u16 = 0x0002;
const RTF_HOST: u16 = 0x0004;
const RTF_REJECT: u16 = 0x0200;

/// The main table's IPv4 routes, in address order as the FIB trie walks them.
pub(super) fn route(net: &Net) -> String {
    let mut out = String::new();
    padded(
        &mut out,
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
        127,
    );
    let mut rows: Vec<_> = net
        .fib
        .routes()
        .filter(|r| r.table == RT_TABLE_MAIN && r.kind != RouteKind::Broadcast)
        .filter_map(|r| match r.dst {
            IpAddr::V4(d) => Some((u32::from(d), r.prefix_len, r)),
            IpAddr::V6(_) => None,
        })
        .collect();
    rows.sort_by_key(|&(d, len, r)| (d, len, r.metric));
    for (_, len, r) in rows {
        let IpAddr::V4(dst) = r.dst else { continue };
        let mask = Ipv4Addr::from(crate::dev::prefix_mask(len));
        // A multipath route shows its first path (`fi->fib_nh[0]`).
        let (gateway, oif) = r.nexthops.first().map_or((r.gateway, r.oif), |n| (n.gateway, n.oif));
        let gw = match gateway {
            Some(IpAddr::V4(g)) => g,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let mut flags = RTF_UP;
        if matches!(r.kind, RouteKind::Unreachable | RouteKind::Prohibit) {
            flags |= RTF_REJECT;
        }
        if gateway.is_some() {
            flags |= RTF_GATEWAY;
        }
        if len == 32 {
            flags |= RTF_HOST;
        }
        let dev = oif.and_then(|i| net.devs.get(i)).map_or("*", |d| d.name.as_str());
        let line = format!(
            "{dev}\t{}\t{}\t{flags:04X}\t0\t0\t{}\t{}\t0\t0\t0",
            hex_addr(dst),
            hex_addr(gw),
            r.metric,
            hex_addr(mask)
        );
        padded(&mut out, &line, 127);
    }
    out
}

pub(super) fn dev(net: &Net) -> String {
    let mut out = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for d in net.devs.iter() {
        let s = &d.stats;
        let _ = writeln!(
            out,
            "{:>6}: {:7} {:7} {:4} {:4} {:4} {:5} {:10} {:9} {:8} {:7} {:4} {:4} {:4} {:5} {:7} {:10}",
            d.name,
            s.rx_bytes,
            s.rx_packets,
            s.rx_errors,
            s.rx_dropped,
            0,
            0,
            0,
            s.multicast,
            s.tx_bytes,
            s.tx_packets,
            s.tx_errors,
            s.tx_dropped,
            0,
            0,
            0,
            0
        );
    }
    out
}

/// ATF_COM for entries with a valid address, ATF_PERM for permanent ones.
pub(super) fn arp(net: &Net) -> String {
    let mut out = String::from(
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    );
    for (&(ifindex, addr), n) in net.neigh.iter() {
        let IpAddr::V4(a) = addr else { continue };
        let Some(dev) = net.devs.get(ifindex) else { continue };
        let flags: u32 = match n.state {
            NudState::Permanent => 0x6,
            NudState::Incomplete | NudState::Failed => 0x0,
            _ => 0x2,
        };
        let mac = n.lladdr.map_or_else(|| "00:00:00:00:00:00".to_string(), |m| m.to_string());
        let _ = writeln!(
            out,
            "{:<16} 0x{:<10x}0x{:<10x}{mac}     *        {}",
            a.to_string(),
            1,
            flags,
            dev.name
        );
    }
    out
}

/// `Section: Name Name...` then `Section: value value...` for each listed section.
pub(super) fn snmp(sections: &[(&'static str, Vec<(&'static str, i64)>)], want: &[&str]) -> String {
    let mut out = String::new();
    for name in want {
        let Some((_, rows)) = sections.iter().find(|(s, _)| s == name) else { continue };
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let values: Vec<String> = rows.iter().map(|r| r.1.to_string()).collect();
        let _ = writeln!(out, "{name}: {}", names.join(" "));
        let _ = writeln!(out, "{name}: {}", values.join(" "));
    }
    out
}
