//! RTM_GETROUTE dumps for AF_INET6 (`ip6_fib.c` `inet6_dump_fib`, `route.c`
//! `rt6_fill_node`): the routes IPv6 address configuration and router discovery imply —
//! a prefix route per configured prefix and `fe80::/64` per link (main table, metric
//! 256, `proto kernel`, with the advertised lifetime for on-link prefixes), default
//! routers (metric 1024, `proto ra`, their hop limit and lifetime), and in the local
//! table `local` for each usable address and `multicast ff00::/8` per link. They come
//! out in the fib6 tree's order: a prefix after the more specific prefixes under it,
//! the 0 branch before the 1 branch.

use super::Ctx;
use super::addr6::AF_INET6;
use super::wire::*;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::ipv6::AddrState;
use crate::net::Net;
use crate::route::{RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KERNEL};
use crate::wire::ipv6::is_link_local;
use std::cmp::Ordering;
use std::net::Ipv6Addr;

const RTPROT_RA: u8 = 9;
const RTN_MULTICAST: u8 = 5;
const RTA_PREF: u16 = 20;
const RTAX_HOPLIMIT: u16 = 10;
/// `rta_expires` is in USER_HZ ticks.
const USER_HZ: Nanos = 10_000_000;

/// One route as `rt6_fill_node` reports it.
struct Route6 {
    table: u32,
    dst: Ipv6Addr,
    len: u8,
    kind: u8,
    protocol: u8,
    metric: u32,
    oif: IfIndex,
    gateway: Option<Ipv6Addr>,
    hop_limit: Option<u8>,
    expires: Option<Nanos>,
}

fn prefix(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
    Ipv6Addr::from(u128::from(a) & mask)
}

/// Post-order of the fib6 radix tree: a prefix that contains the other comes after it;
/// otherwise the one on the 0 side of the first differing bit comes first.
fn tree_order(a: &Route6, b: &Route6) -> Ordering {
    let (x, y) = (u128::from(a.dst), u128::from(b.dst));
    let common = ((x ^ y).leading_zeros() as u8).min(a.len).min(b.len);
    if common == a.len.min(b.len) {
        return b.len.cmp(&a.len).then(a.metric.cmp(&b.metric));
    }
    x.cmp(&y)
}

fn routes(net: &Net) -> Vec<Route6> {
    let mut main = Vec::new();
    let mut local = Vec::new();
    let base = |table, dst, len, kind, oif| Route6 {
        table,
        dst,
        len,
        kind,
        protocol: RTPROT_KERNEL,
        metric: if table == RT_TABLE_LOCAL { 0 } else { 256 },
        oif,
        gateway: None,
        hop_limit: None,
        expires: None,
    };
    for (&i, addrs) in &net.ipv6.addrs {
        let lo = net.devs.get(i).is_some_and(|d| d.is_loopback());
        let mut prefixes: Vec<(Ipv6Addr, u8)> = Vec::new();
        for f in addrs.iter().filter(|f| f.state != AddrState::DadFailed) {
            let p = (prefix(f.addr, f.prefix_len), f.prefix_len);
            if !lo && !prefixes.contains(&p) {
                prefixes.push(p);
            }
            if f.state == AddrState::Preferred {
                local.push(base(RT_TABLE_LOCAL, f.addr, 128, RTN_LOCAL, i));
            }
        }
        for (dst, len) in prefixes {
            // An advertised on-link prefix is the same route, with its lifetime.
            let ra =
                net.ipv6.prefixes.iter().find(|p| (p.prefix, p.len, p.ifindex) == (dst, len, i));
            if ra.is_none() || is_link_local(dst) {
                main.push(base(RT_TABLE_MAIN, dst, len, RTN_UNICAST, i));
            }
        }
        if !lo {
            let mc = Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0);
            local.push(Route6 { metric: 256, ..base(RT_TABLE_LOCAL, mc, 8, RTN_MULTICAST, i) });
        }
    }
    for p in &net.ipv6.prefixes {
        main.push(Route6 {
            expires: p.expires,
            ..base(RT_TABLE_MAIN, p.prefix, p.len, RTN_UNICAST, p.ifindex)
        });
    }
    for r in &net.ipv6.routers {
        main.push(Route6 {
            protocol: RTPROT_RA,
            metric: 1024,
            gateway: Some(r.addr),
            hop_limit: Some(net.hop_limit6(r.ifindex)),
            expires: Some(r.expires),
            ..base(RT_TABLE_MAIN, Ipv6Addr::UNSPECIFIED, 0, RTN_UNICAST, r.ifindex)
        });
    }
    main.sort_by(tree_order);
    local.sort_by(tree_order);
    main.into_iter().chain(local).collect()
}

fn fill(ctx: &mut Ctx<'_>, r: &Route6) {
    let now = ctx.now;
    let h = ctx.header(RTM_NEWROUTE, true);
    let w = &mut *ctx.out;
    w.begin(h);
    RtMsg {
        family: AF_INET6,
        dst_len: r.len,
        src_len: 0,
        tos: 0,
        table: r.table as u8,
        protocol: r.protocol,
        scope: 0,
        kind: r.kind,
        flags: 0,
    }
    .emit(w);
    w.attr_u32(RTA_TABLE, r.table);
    if r.len > 0 {
        w.attr(RTA_DST, &r.dst.octets());
    }
    w.attr_u32(RTA_PRIORITY, r.metric);
    if let Some(h) = r.hop_limit {
        let mut m = MsgWriter::default();
        m.attr_u32(RTAX_HOPLIMIT, u32::from(h));
        w.attr(RTA_METRICS, &m.buf);
    }
    if let Some(g) = r.gateway {
        w.attr(RTA_GATEWAY, &g.octets());
    }
    w.attr_u32(RTA_OIF, r.oif);
    // struct rta_cacheinfo: clntref, lastuse, expires (USER_HZ), error, used, id, ts, tsage.
    let expires = r.expires.map_or(0, |e| (e.saturating_sub(now) / USER_HZ) as u32);
    let mut ci = [0u8; 32];
    ci[8..12].copy_from_slice(&expires.to_ne_bytes());
    w.attr(RTA_CACHEINFO, &ci);
    w.attr_u8(RTA_PREF, 0); // ICMPV6_ROUTER_PREF_MEDIUM
    w.end();
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family != AF_UNSPEC && family != AF_INET6 {
        return;
    }
    for r in routes(net) {
        fill(ctx, &r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: &str, len: u8) -> Route6 {
        Route6 {
            table: RT_TABLE_MAIN,
            dst: dst.parse().unwrap(),
            len,
            kind: RTN_UNICAST,
            protocol: RTPROT_KERNEL,
            metric: 256,
            oif: 2,
            gateway: None,
            hop_limit: None,
            expires: None,
        }
    }

    #[test]
    fn fib6_tree_order_puts_specific_prefixes_first_and_default_last() {
        let mut v = [
            r("::", 0),
            r("fe80::", 64),
            r("2001:db8::", 48),
            r("2001:db8::7", 128),
            r("2001:db8::", 64),
            r("2001:db8:2::", 64),
        ];
        v.sort_by(tree_order);
        let got: Vec<String> = v.iter().map(|r| format!("{}/{}", r.dst, r.len)).collect();
        // 2001:db8:2::/64 is outside 2001:db8::/48 (its third group is 2): the 1 side.
        let want = [
            "2001:db8::7/128",
            "2001:db8::/64",
            "2001:db8::/48",
            "2001:db8:2::/64",
            "fe80::/64",
            "::/0",
        ];
        assert_eq!(got, want);
    }
}
