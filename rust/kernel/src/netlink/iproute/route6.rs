//! `ip -6 route add|del|change|replace|append|prepend|show` in the built-in `ip`: the
//! AF_INET6 rtnetlink requests iproute2 sends (`iproute_modify` with `-6`), and dumps
//! printed as iproute2 prints IPv6 routes (`metric`, `expires`, `mtu`, `hoplimit`, `pref
//! medium`, one `nexthop` line per path).

use super::super::addr6::AF_INET6;
use super::super::wire::*;
use super::route::{RTAX_MTU, Spec, number, proto_id, proto_name, table_id, table_name};
use super::{Ip, edit_flags, is, is_show, value};
use crate::route::RT_TABLE_MAIN;
use std::fmt::Write;
use std::net::Ipv6Addr;

const RTAX_HOPLIMIT: u16 = 10;
const TYPES: [(u8, &str); 7] = [
    (RTN_UNICAST, "unicast"),
    (RTN_LOCAL, "local"),
    (RTN_ANYCAST, "anycast"),
    (RTN_MULTICAST, "multicast"),
    (RTN_BLACKHOLE, "blackhole"),
    (RTN_UNREACHABLE, "unreachable"),
    (RTN_PROHIBIT, "prohibit"),
];

pub fn route6(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return show(ip, &[]) };
    match edit_flags(cmd, true) {
        Some(f) => modify(ip, f, is(cmd, "delete"), rest).map(|()| String::new()),
        None if is_show(cmd) => show(ip, rest),
        None => Err(format!("Command \"{cmd}\" is unknown, try \"ip route help\".")),
    }
}

fn addr6(s: &str) -> Result<Ipv6Addr, String> {
    s.parse().map_err(|_| format!("Error: inet6 address is expected rather than \"{s}\"."))
}

pub(super) fn prefix6(s: &str) -> Result<(Ipv6Addr, u8), String> {
    if matches!(s, "default" | "all" | "any") {
        return Ok((Ipv6Addr::UNSPECIFIED, 0));
    }
    let bad = || format!("Error: inet6 prefix is expected rather than \"{s}\".");
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|&l| l <= 128).ok_or_else(bad)?),
        None => (s, 128),
    };
    Ok((a.parse().map_err(|_| bad())?, l))
}

fn parse_spec(ip: &mut Ip<'_>, w: &[&str]) -> Result<Spec<Ipv6Addr>, String> {
    let mut s = Spec::default();
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "via" => s.gw = Some(addr6(value(&mut it, k)?)?),
            "dev" | "oif" => s.dev = Some(ip.ifindex(value(&mut it, k)?)?),
            "metric" | "priority" | "preference" => {
                s.metric = Some(number(value(&mut it, k)?, "metric")?)
            }
            "table" => s.table = Some(table_id(value(&mut it, k)?)?),
            "proto" | "protocol" => s.proto = Some(proto_id(value(&mut it, k)?)?),
            "mtu" => s.mtu = Some(number(value(&mut it, k)?, "mtu")?),
            "nexthop" => s.parse_nexthop(ip, &mut it, addr6)?,
            _ => s.parse_dst(k, &mut it, &TYPES, prefix6)?,
        }
    }
    Ok(s)
}

fn modify(ip: &mut Ip<'_>, flags: u16, del: bool, w: &[&str]) -> Result<(), String> {
    let s = parse_spec(ip, w)?;
    s.exec(ip, flags, del, AF_INET6, |_| if del { RT_SCOPE_NOWHERE } else { 0 })
}

fn in6(b: Option<&[u8]>) -> Option<Ipv6Addr> {
    let o: [u8; 16] = b?.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(o))
}

/// `ip -6 route show [table T|all]`: main by default.
fn show(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let mut table = Some(RT_TABLE_MAIN);
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "table" => {
                let v = value(&mut it, k)?;
                table = if v == "all" { None } else { Some(table_id(v)?) };
            }
            _ => return Err(format!("Error: \"{k}\" is not supported by libos.")),
        }
    }
    let names = ip.links()?;
    let dev = |o: u32| {
        names.iter().find(|l| l.index == o).map_or_else(|| format!("if{o}"), |l| l.name.clone())
    };
    let mut body = MsgWriter::default();
    RtMsg { family: AF_INET6, ..Default::default() }.emit(&mut body);
    let mut out = String::new();
    for r in ip.dump(RTM_GETROUTE, &body.buf)? {
        let Some(rtm) = RtMsg::parse(&r.payload).filter(|m| m.family == AF_INET6) else {
            continue;
        };
        let a = &r.payload[RtMsg::LEN..];
        let t = attr_u32(a, RTA_TABLE).ok().flatten().unwrap_or(u32::from(rtm.table));
        if table.is_some_and(|x| x != t) {
            continue;
        }
        let mut s = String::new();
        if let Some(n) = TYPES.iter().find(|x| x.0 == rtm.kind && x.0 != RTN_UNICAST) {
            let _ = write!(s, "{} ", n.1);
        }
        match (in6(find_attr(a, RTA_DST)), rtm.dst_len) {
            (Some(d), 128) => write!(s, "{d} "),
            (Some(d), l) => write!(s, "{d}/{l} "),
            (None, _) => write!(s, "default "),
        }
        .ok();
        if let Some(g) = in6(find_attr(a, RTA_GATEWAY)) {
            let _ = write!(s, "via {g} ");
        }
        if let Some(o) = attr_u32(a, RTA_OIF).ok().flatten() {
            let _ = write!(s, "dev {} ", dev(o));
        }
        if table.is_none() && t != RT_TABLE_MAIN {
            let _ = write!(s, "table {} ", table_name(t));
        }
        if rtm.protocol != 3 {
            let _ = write!(s, "proto {} ", proto_name(rtm.protocol));
        }
        if let Some(m) = attr_u32(a, RTA_PRIORITY).ok().flatten() {
            let _ = write!(s, "metric {m} ");
        }
        if let Some(ci) = find_attr(a, RTA_CACHEINFO).filter(|c| c.len() >= 12) {
            let e = u32::from_ne_bytes([ci[8], ci[9], ci[10], ci[11]]);
            if e != 0 {
                let _ = write!(s, "expires {}sec ", e / 100);
            }
        }
        if let Some(m) = find_attr(a, RTA_METRICS) {
            for (ty, name) in [(RTAX_MTU, "mtu"), (RTAX_HOPLIMIT, "hoplimit")] {
                if let Some(v) = attr_u32(m, ty).ok().flatten() {
                    let _ = write!(s, "{name} {v} ");
                }
            }
        }
        s.push_str("pref medium");
        let mut mp = find_attr(a, RTA_MULTIPATH).unwrap_or(&[]);
        while mp.len() >= 8 {
            let l = usize::from(u16::from_ne_bytes([mp[0], mp[1]]));
            if l < 8 || l > mp.len() {
                break;
            }
            s.push_str("\n\tnexthop ");
            if let Some(g) = in6(find_attr(&mp[8..l], RTA_GATEWAY)) {
                let _ = write!(s, "via {g} ");
            }
            let o = u32::from_ne_bytes([mp[4], mp[5], mp[6], mp[7]]);
            let _ = write!(s, "dev {} weight {} ", dev(o), u16::from(mp[3]) + 1);
            mp = &mp[align4(l).min(mp.len())..];
        }
        out.push_str(&s);
        out.push('\n');
    }
    Ok(out)
}
