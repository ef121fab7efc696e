//! RTM_{NEW,DEL,GET}ROUTE for AF_INET6 (`route.c`: `inet6_rtm_newroute` →
//! `ip6_route_add`, `inet6_rtm_delroute` → `ip6_route_del`, `inet6_rtm_getroute`,
//! `rt6_fill_node`; `ip6_fib.c`: `fib6_add_rt2node`, `inet6_dump_fib`). The routes are
//! the FIB's IPv6 half: the kernel's own (prefix, `fe80::/64`, local, `multicast
//! ff00::/8`, anycast, learned from advertisements) and the configured ones.

use super::addr6::AF_INET6;
use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::dev::{IfIndex, LOOPBACK_IFINDEX};
use crate::net::Net;
use crate::route::{ESRCH, NextHop, RT_TABLE_MAIN, RTPROT_RA, Route, RouteKind, prefix_mask6};
use crate::wire::ipv6::is_link_local;
use crate::{DevFlags, Errno, Nanos};
use std::net::{IpAddr, Ipv6Addr};

const RTA_PREF: u16 = 20;
const RTAX_MTU: u16 = 2;
const RTAX_HOPLIMIT: u16 = 10;
/// `IP6_RT_PRIO_USER`: the metric of a configured route without one.
const IP6_RT_PRIO_USER: u32 = 1024;
/// `rta_expires` is in USER_HZ ticks.
const USER_HZ: Nanos = 10_000_000;

fn kind_of(t: u8) -> NlResult<RouteKind> {
    Ok(match t {
        RTN_UNSPEC | RTN_UNICAST => RouteKind::Unicast,
        RTN_LOCAL => RouteKind::Local,
        RTN_BLACKHOLE => RouteKind::Blackhole,
        RTN_UNREACHABLE => RouteKind::Unreachable,
        RTN_PROHIBIT => RouteKind::Prohibit,
        RTN_ANYCAST => RouteKind::Anycast,
        RTN_MULTICAST => RouteKind::Multicast,
        t if t <= RTN_MAX => return Err(Errno::EOPNOTSUPP.into()),
        _ => return Err(NlError::msg(Errno::EINVAL, "Invalid route type")),
    })
}

fn attr_in6(b: &[u8], ty: u16) -> NlResult<Option<Ipv6Addr>> {
    match find_attr(b, ty) {
        None => Ok(None),
        Some(d) if d.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&d[..16]);
            Ok(Some(Ipv6Addr::from(o)))
        }
        Some(_) => Err(Errno::EINVAL.into()),
    }
}

/// A request decoded (`rtm_to_fib6_config`).
struct Config {
    route: Route,
    has_priority: bool,
    has_kind: bool,
}

fn parse(payload: &[u8]) -> NlResult<Config> {
    let rtm = RtMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[RtMsg::LEN..];
    if rtm.dst_len > 128 {
        return Err(NlError::msg(Errno::EINVAL, "Invalid prefix length"));
    }
    let dst = attr_in6(attrs, RTA_DST)?.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let table = match attr_u32(attrs, RTA_TABLE)?.unwrap_or(u32::from(rtm.table)) {
        0 => RT_TABLE_MAIN,
        t => t,
    };
    let priority = attr_u32(attrs, RTA_PRIORITY)?;
    let mtu = match find_attr(attrs, RTA_METRICS) {
        Some(m) => attr_u32(m, RTAX_MTU)?.unwrap_or(0),
        None => 0,
    };
    let net = Ipv6Addr::from(u128::from(dst) & prefix_mask6(rtm.dst_len));
    let route = Route {
        dst: IpAddr::V6(net),
        prefix_len: rtm.dst_len,
        gateway: attr_in6(attrs, RTA_GATEWAY)?.map(IpAddr::V6),
        oif: attr_u32(attrs, RTA_OIF)?.filter(|&o| o != 0),
        src: attr_in6(attrs, RTA_PREFSRC)?.map(IpAddr::V6),
        metric: priority.unwrap_or(IP6_RT_PRIO_USER),
        kind: kind_of(rtm.kind)?,
        protocol: rtm.protocol,
        // `rt6_fill_node` reports every IPv6 route with universe scope.
        scope: 0,
        table,
        nexthops: match find_attr(attrs, RTA_MULTIPATH) {
            Some(mp) => parse_multipath(mp)?,
            None => Vec::new(),
        },
        expires: None,
        mtu,
    };
    Ok(Config { route, has_priority: priority.is_some(), has_kind: rtm.kind != RTN_UNSPEC })
}

/// RTA_MULTIPATH: `struct rtnexthop` entries each followed by its attributes.
fn parse_multipath(mut b: &[u8]) -> NlResult<Vec<NextHop>> {
    let mut v = Vec::new();
    while b.len() >= 8 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        if len < 8 || len > b.len() {
            return Err(Errno::EINVAL.into());
        }
        let ifindex = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        v.push(NextHop {
            gateway: attr_in6(&b[8..len], RTA_GATEWAY)?.map(IpAddr::V6),
            oif: (ifindex != 0).then_some(ifindex),
            weight: u16::from(b[3]) + 1,
        });
        b = &b[align4(len).min(b.len())..];
    }
    if v.is_empty() {
        return Err(Errno::EINVAL.into());
    }
    Ok(v)
}

fn v6(a: Option<IpAddr>) -> Option<Ipv6Addr> {
    match a {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    }
}

/// `ip6_validate_gw` + `fib6_nh_init`: the device of one path, checked.
fn check_path(net: &Net, gw: Option<Ipv6Addr>, oif: Option<IfIndex>) -> NlResult<IfIndex> {
    if let Some(o) = oif {
        let d = net.devs.get(o).ok_or(Errno::ENODEV)?;
        if !d.flags.contains(DevFlags::UP) {
            return Err(NlError::msg(Errno::ENETDOWN, "Nexthop device is not up"));
        }
    }
    let Some(g) = gw else {
        return oif.ok_or_else(|| NlError::msg(Errno::ENODEV, "Nexthop device required"));
    };
    if net.ipv6.addrs.values().flatten().any(|f| f.addr == g) {
        return Err(NlError::msg(Errno::EINVAL, "Gateway can not be a local address"));
    }
    if g.is_multicast() || g.is_unspecified() {
        return Err(NlError::msg(Errno::EINVAL, "Invalid gateway address"));
    }
    if is_link_local(g) {
        return oif.ok_or_else(|| NlError::msg(Errno::EINVAL, "Egress device not specified"));
    }
    // `ip6_route_check_nh`: the gateway must be on-link through a route without one.
    let r = net
        .fib
        .lookup(IpAddr::V6(g), oif, |i| {
            net.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP))
        })
        .filter(|r| r.gateway.is_none() && r.nexthops.is_empty() && r.kind == RouteKind::Unicast)
        .ok_or(Errno::EHOSTUNREACH)?;
    match (r.oif, oif) {
        (Some(a), Some(b)) if a != b => {
            Err(NlError::msg(Errno::EINVAL, "Nexthop has invalid gateway or device mismatch"))
        }
        (Some(a), _) => Ok(a),
        (None, _) => Err(Errno::EHOSTUNREACH.into()),
    }
}

fn same_slot(a: &Route, b: &Route) -> bool {
    a.is_v6()
        && a.table == b.table
        && a.dst == b.dst
        && a.prefix_len == b.prefix_len
        && a.metric == b.metric
}

/// `rt6_qualify_for_ecmp`: a unicast route through a gateway, not from autoconf.
fn ecmp_ok(r: &Route) -> bool {
    r.kind == RouteKind::Unicast
        && (r.gateway.is_some() || r.nexthops.iter().all(|n| n.gateway.is_some()))
        && r.protocol != crate::route::RTPROT_KERNEL
        && r.protocol != RTPROT_RA
}

/// The paths of a route as next hops.
fn paths(r: &Route) -> Vec<NextHop> {
    if r.nexthops.is_empty() {
        vec![NextHop { gateway: r.gateway, oif: r.oif, weight: 1 }]
    } else {
        r.nexthops.clone()
    }
}

/// `inet6_rtm_newroute` → `ip6_route_add` → `fib6_add_rt2node`: EXCL fails on a route
/// of equal prefix, table and metric; REPLACE takes its place (with its siblings);
/// APPEND (or a plain CREATE) joins an ECMP-capable route as a sibling.
pub fn new(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    add(net, ctx.flags, parse(payload)?.route)
}

/// `ip6_route_add` for a route already decoded (rtnetlink, or `Kernel::route_add` with
/// `NLM_F_CREATE | NLM_F_EXCL`); metric 0 means `IP6_RT_PRIO_USER` as in
/// `ip6_route_info_create`.
pub(crate) fn add(net: &mut Net, f: u16, mut route: Route) -> NlResult<()> {
    if route.metric == 0 {
        route.metric = IP6_RT_PRIO_USER;
    }
    if let Some(IpAddr::V6(s)) = route.src
        && !net.ipv6.addrs.values().flatten().any(|f| f.addr == s)
    {
        return Err(NlError::msg(Errno::EINVAL, "Invalid source address"));
    }
    if route.kind.output_error().is_some() {
        // Reject routes hang off lo (`ip6_route_info_create`).
        (route.gateway, route.oif, route.nexthops) = (None, Some(LOOPBACK_IFINDEX), Vec::new());
    } else if route.nexthops.is_empty() {
        let gw = v6(route.gateway);
        route.oif = Some(check_path(net, gw, route.oif)?);
    } else {
        for nh in route.nexthops.iter_mut() {
            nh.oif = Some(check_path(net, v6(nh.gateway), nh.oif)?);
        }
        if route.nexthops.len() == 1 {
            let nh = route.nexthops.remove(0);
            (route.gateway, route.oif) = (nh.gateway, nh.oif);
        }
    }
    let existing: Vec<Route> =
        net.fib.routes6().into_iter().filter(|e| same_slot(e, &route)).cloned().collect();
    if let Some(old) = existing.first() {
        if f & NLM_F_EXCL != 0 {
            return Err(Errno::EEXIST.into());
        }
        if f & NLM_F_REPLACE != 0 {
            net.fib.retain6(|r| !(same_slot(r, &route) && r == old));
            net.fib.insert(route)?;
            return Ok(());
        }
        if existing.contains(&route) {
            return Err(Errno::EEXIST.into());
        }
        if let Some(sib) = existing.iter().find(|e| ecmp_ok(e) && ecmp_ok(&route)) {
            // A sibling: the route becomes (or grows as) a multipath route.
            let mut merged = sib.clone();
            let mut hops = paths(sib);
            hops.extend(paths(&route));
            (merged.gateway, merged.oif, merged.nexthops) = (None, None, hops);
            net.fib.retain6(|r| r != sib);
            net.fib.insert(merged)?;
            return Ok(());
        }
    }
    if f & NLM_F_CREATE == 0 {
        return Err(NlError::msg(Errno::ENOENT, "Can not replace route - no match found"));
    }
    net.fib.append(route).map_err(NlError::from)
}

/// `ip6_route_del`: the first route at exactly this prefix that every given field
/// matches; with a gateway, only that path of a multipath route.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let cfg = parse(payload)?;
    let q = &cfg.route;
    let gw = q.gateway;
    let hit = net
        .fib
        .routes6()
        .into_iter()
        .find(|r| {
            r.table == q.table
                && r.dst == q.dst
                && r.prefix_len == q.prefix_len
                && (!cfg.has_kind || q.kind == r.kind)
                && (q.protocol == 0 || q.protocol == r.protocol)
                && (!cfg.has_priority || q.metric == r.metric)
                && q.oif.is_none_or(|o| paths(r).iter().any(|p| p.oif == Some(o)))
                && gw.is_none_or(|g| paths(r).iter().any(|p| p.gateway == Some(g)))
        })
        .cloned()
        .ok_or(ESRCH)?;
    net.fib.retain6(|r| *r != hit);
    if let (Some(g), false) = (gw, hit.nexthops.is_empty()) {
        let mut rest = hit.clone();
        rest.nexthops.retain(|p| p.gateway != Some(g) || q.oif.is_some_and(|o| p.oif != Some(o)));
        if rest.nexthops.len() == 1 {
            let p = rest.nexthops.remove(0);
            (rest.gateway, rest.oif) = (p.gateway, p.oif);
        }
        if !rest.nexthops.is_empty() || rest.oif.is_some() {
            net.fib.append(rest)?;
        }
    }
    Ok(())
}

/// `rt6_fill_node` for a FIB entry.
fn fill(ctx: &mut Ctx<'_>, net: &Net, r: &Route) {
    let now = ctx.now;
    let h = ctx.header(RTM_NEWROUTE, true);
    let w = &mut *ctx.out;
    w.begin(h);
    let IpAddr::V6(dst) = r.dst else { return };
    let linkdown = match r.oif.and_then(|o| net.devs.get(o)) {
        Some(d) if !d.carrier && r.kind == RouteKind::Unicast => RTNH_F_LINKDOWN,
        _ => 0,
    };
    RtMsg {
        family: AF_INET6,
        dst_len: r.prefix_len,
        src_len: 0,
        tos: 0,
        table: if r.table < 256 { r.table as u8 } else { RT_TABLE_COMPAT },
        protocol: r.protocol,
        scope: 0,
        kind: super::route::kind_to_rtn(r.kind),
        flags: linkdown,
    }
    .emit(w);
    w.attr_u32(RTA_TABLE, r.table);
    if r.prefix_len > 0 {
        w.attr(RTA_DST, &dst.octets());
    }
    if let Some(IpAddr::V6(s)) = r.src {
        w.attr(RTA_PREFSRC, &s.octets());
    }
    emit_metrics(w, net, r);
    if r.kind.output_error().is_some() && r.oif.is_none() {
        // Reject routes hang off lo (`ip6_route_info_create`).
        w.attr_u32(RTA_OIF, LOOPBACK_IFINDEX);
    }
    emit_paths(w, r);
    w.attr_u32(RTA_PRIORITY, r.metric);
    emit_cacheinfo(w, r.expires, now);
    w.attr_u8(RTA_PREF, 0); // ICMPV6_ROUTER_PREF_MEDIUM
    w.end();
}

/// RTA_METRICS: the `mtu` metric, and an advertised hop limit on a default router.
fn emit_metrics(w: &mut MsgWriter, net: &Net, r: &Route) {
    let mut m = MsgWriter::default();
    if r.mtu != 0 {
        m.attr_u32(RTAX_MTU, r.mtu);
    }
    if r.protocol == RTPROT_RA && r.gateway.is_some() && r.prefix_len == 0 {
        let hl = r.oif.map_or(64, |o| net.hop_limit6(o));
        m.attr_u32(RTAX_HOPLIMIT, u32::from(hl));
    }
    if !m.buf.is_empty() {
        w.attr(RTA_METRICS, &m.buf);
    }
}

/// RTA_GATEWAY + RTA_OIF, or RTA_MULTIPATH for a route with siblings.
fn emit_paths(w: &mut MsgWriter, r: &Route) {
    if r.nexthops.is_empty() {
        if let Some(IpAddr::V6(g)) = r.gateway {
            w.attr(RTA_GATEWAY, &g.octets());
        }
        if let Some(o) = r.oif {
            w.attr_u32(RTA_OIF, o);
        }
        return;
    }
    let mut mp = Vec::new();
    for nh in &r.nexthops {
        let at = mp.len();
        mp.extend_from_slice(&[0, 0, 0, (nh.weight.clamp(1, 256) - 1) as u8]);
        mp.extend_from_slice(&nh.oif.unwrap_or(0).to_ne_bytes());
        if let Some(IpAddr::V6(g)) = nh.gateway {
            mp.extend_from_slice(&20u16.to_ne_bytes());
            mp.extend_from_slice(&RTA_GATEWAY.to_ne_bytes());
            mp.extend_from_slice(&g.octets());
        }
        let len = (mp.len() - at) as u16;
        mp[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
    w.attr(RTA_MULTIPATH, &mp);
}

/// struct rta_cacheinfo: clntref, lastuse, expires (USER_HZ), error, used, id, ts, tsage.
fn emit_cacheinfo(w: &mut MsgWriter, expires: Option<Nanos>, now: Nanos) {
    let e = expires.map_or(0, |e| (e.saturating_sub(now) / USER_HZ) as u32);
    let mut ci = [0u8; 32];
    ci[8..12].copy_from_slice(&e.to_ne_bytes());
    w.attr(RTA_CACHEINFO, &ci);
}

/// `inet6_dump_fib`: every table (main before local, as their hash buckets), each in
/// the fib6 tree's order.
pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family != AF_UNSPEC && family != AF_INET6 {
        return;
    }
    let net = &*net;
    let mut all = net.fib.routes6();
    all.sort_by_key(|r| r.table & 0xff);
    for r in all {
        fill(ctx, net, r);
    }
}

/// `inet6_rtm_getroute`: the output route to RTA_DST (from RTA_SRC, through RTA_OIF)
/// or, with RTA_IIF, the route a packet arriving there takes, as one RTM_NEWROUTE
/// naming the route that matched.
pub fn get(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    RtMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[RtMsg::LEN..];
    let dst = attr_in6(attrs, RTA_DST)?.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let src = attr_in6(attrs, RTA_SRC)?;
    let oif: Option<IfIndex> = attr_u32(attrs, RTA_OIF)?.filter(|&o| o != 0);
    let iif: Option<IfIndex> = attr_u32(attrs, RTA_IIF)?.filter(|&i| i != 0);
    let ro = match iif {
        Some(i) => net.route_input6(dst, src.unwrap_or(Ipv6Addr::UNSPECIFIED), i)?,
        None => net.route_output6(dst, src, oif)?,
    };
    let r = net.route6_matched(dst, src, iif, oif).cloned();
    let h = ctx.header(RTM_NEWROUTE, false);
    let now = ctx.now;
    let w = &mut *ctx.out;
    w.begin(h);
    let (table, protocol, kind, metric, mtu) =
        r.as_ref().map_or((RT_TABLE_MAIN, 0, 1, 0, 0), |r| {
            (r.table, r.protocol, super::route::kind_to_rtn(r.kind), r.metric, r.mtu)
        });
    RtMsg {
        family: AF_INET6,
        dst_len: 128,
        src_len: 128,
        tos: 0,
        table: if table < 256 { table as u8 } else { RT_TABLE_COMPAT },
        protocol,
        scope: 0,
        kind,
        flags: 0,
    }
    .emit(w);
    w.attr_u32(RTA_TABLE, table);
    w.attr(RTA_DST, &dst.octets());
    w.attr(RTA_SRC, &src.unwrap_or(Ipv6Addr::UNSPECIFIED).octets());
    match iif {
        Some(i) => w.attr_u32(RTA_IIF, i),
        // `ip6_route_get_saddr`: the route's prefsrc, else the best source toward dst
        // on its device, whatever source the flow was given.
        None => {
            let pref = r.as_ref().and_then(|r| match r.src {
                Some(IpAddr::V6(s)) => Some(s),
                _ => None,
            });
            let s = match (pref, ro.src) {
                (Some(p), _) => Some(p),
                (None, _) if ro.local => v6(Some(ro.src)),
                (None, _) => net.source6(ro.oif, dst).or(v6(Some(ro.src))),
            };
            if let Some(s) = s {
                w.attr(RTA_PREFSRC, &s.octets());
            }
        }
    }
    if mtu != 0 {
        let mut m = MsgWriter::default();
        m.attr_u32(RTAX_MTU, mtu);
        w.attr(RTA_METRICS, &m.buf);
    }
    if let IpAddr::V6(g) = ro.next_hop
        && g != dst
    {
        w.attr(RTA_GATEWAY, &g.octets());
    }
    w.attr_u32(RTA_OIF, ro.oif);
    w.attr_u32(RTA_PRIORITY, metric);
    emit_cacheinfo(w, r.and_then(|r| r.expires), now);
    w.attr_u8(RTA_PREF, 0);
    w.end();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::route::tree_order;

    #[test]
    fn fib6_tree_order_puts_specific_prefixes_first_and_default_last() {
        let k = |s: &str, len: u8| (len, u128::from(s.parse::<std::net::Ipv6Addr>().unwrap()));
        let mut v = [
            k("::", 0),
            k("fe80::", 64),
            k("2001:db8::", 48),
            k("2001:db8::7", 128),
            k("2001:db8::", 64),
            k("2001:db8:2::", 64),
        ];
        v.sort_by(|a, b| tree_order(*a, *b));
        let got: Vec<String> =
            v.iter().map(|(l, a)| format!("{}/{}", std::net::Ipv6Addr::from(*a), l)).collect();
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
