//! RTM_{NEW,DEL,GET}ROUTE for IPv4 (`fib_frontend.c`: `rtm_to_fib_config`,
//! `inet_rtm_newroute`, `inet_rtm_delroute`, `inet_dump_fib`; `fib_trie.c`:
//! `fib_table_insert`/`fib_table_delete`; `route.c`: `inet_rtm_getroute`).

use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::dev::LOOPBACK_IFINDEX;
use crate::dev::{IfIndex, prefix_mask};
use crate::ipv4::InputKind;
use crate::net::{Net, RouteOut};
use crate::route::{
    FlowKey, NextHop, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_DEFAULT, RT_TABLE_LOCAL,
    RT_TABLE_MAIN, Route, RouteKind, Rule,
};
use crate::{DevFlags, Errno};
use std::cmp::Reverse;
use std::net::{IpAddr, Ipv4Addr};

pub fn kind_to_rtn(k: RouteKind) -> u8 {
    match k {
        RouteKind::Unicast => RTN_UNICAST,
        RouteKind::Local => RTN_LOCAL,
        RouteKind::Broadcast => RTN_BROADCAST,
        RouteKind::Blackhole => RTN_BLACKHOLE,
        RouteKind::Unreachable => RTN_UNREACHABLE,
        RouteKind::Prohibit => RTN_PROHIBIT,
        RouteKind::Multicast => RTN_MULTICAST,
        RouteKind::Anycast => RTN_ANYCAST,
    }
}

/// `rtm_type` to a route kind; None for RTN_UNSPEC (a wildcard in deletes).
fn rtn_to_kind(t: u8) -> NlResult<Option<RouteKind>> {
    Ok(Some(match t {
        RTN_UNSPEC => return Ok(None),
        RTN_UNICAST => RouteKind::Unicast,
        RTN_LOCAL => RouteKind::Local,
        RTN_BROADCAST => RouteKind::Broadcast,
        RTN_BLACKHOLE => RouteKind::Blackhole,
        RTN_UNREACHABLE => RouteKind::Unreachable,
        RTN_PROHIBIT => RouteKind::Prohibit,
        // anycast, multicast, throw, nat: not implemented by the FIB.
        t if t <= RTN_MAX => return Err(Errno::EOPNOTSUPP.into()),
        _ => return Err(NlError::msg(Errno::EINVAL, "Invalid route type")),
    }))
}

/// A request decoded (`struct fib_config`).
struct Config {
    route: Route,
    /// The request's rtm_type, protocol and scope, wildcards in deletes.
    kind: Option<RouteKind>,
    protocol: u8,
    scope: u8,
    has_priority: bool,
}

fn parse(payload: &[u8]) -> NlResult<Config> {
    let rtm = RtMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[RtMsg::LEN..];
    if rtm.dst_len > 32 {
        return Err(NlError::msg(Errno::EINVAL, "Invalid prefix length"));
    }
    let dst = attr_in_addr(attrs, RTA_DST)?.unwrap_or(Ipv4Addr::UNSPECIFIED);
    if u32::from(dst) & !prefix_mask(rtm.dst_len) != 0 {
        return Err(NlError::msg(Errno::EINVAL, "Invalid prefix for given prefix length"));
    }
    let table = match attr_u32(attrs, RTA_TABLE)?.unwrap_or(u32::from(rtm.table)) {
        0 => RT_TABLE_MAIN,
        t => t,
    };
    let kind = rtn_to_kind(rtm.kind)?;
    let priority = attr_u32(attrs, RTA_PRIORITY)?;
    let route = Route {
        dst: IpAddr::V4(dst),
        prefix_len: rtm.dst_len,
        gateway: attr_in_addr(attrs, RTA_GATEWAY)?.map(IpAddr::V4),
        oif: attr_u32(attrs, RTA_OIF)?.filter(|&o| o != 0),
        src: attr_in_addr(attrs, RTA_PREFSRC)?.map(IpAddr::V4),
        metric: priority.unwrap_or(0),
        kind: kind.unwrap_or(RouteKind::Unicast),
        protocol: rtm.protocol,
        scope: rtm.scope,
        table,
        nexthops: match find_attr(attrs, RTA_MULTIPATH) {
            Some(mp) => parse_multipath(mp)?,
            None => Vec::new(),
        },
        expires: None,
        mtu: 0,
    };
    Ok(Config {
        route,
        kind,
        protocol: rtm.protocol,
        scope: rtm.scope,
        has_priority: priority.is_some(),
    })
}

/// RTA_MULTIPATH: `struct rtnexthop` entries (len, flags, hops, ifindex) each followed
/// by its own attributes (`fib_get_nhs`).
fn parse_multipath(mut b: &[u8]) -> NlResult<Vec<NextHop>> {
    let mut v = Vec::new();
    while b.len() >= 8 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        if len < 8 || len > b.len() {
            return Err(NlError::msg(
                Errno::EINVAL,
                "Invalid nexthop configuration - extra data after nexthop",
            ));
        }
        let ifindex = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        let gw = attr_in_addr(&b[8..len], RTA_GATEWAY)?;
        v.push(NextHop {
            gateway: gw.map(IpAddr::V4),
            oif: (ifindex != 0).then_some(ifindex),
            weight: u16::from(b[3]) + 1,
        });
        b = &b[align4(len).min(b.len())..];
    }
    if v.is_empty() {
        return Err(NlError::msg(
            Errno::EINVAL,
            "Invalid nexthop configuration - no valid nexthops",
        ));
    }
    Ok(v)
}

/// A path's `rtnh_flags` as `fib_sync_down_dev` leaves them: RTNH_F_DEAD|RTNH_F_LINKDOWN
/// on a down device, RTNH_F_LINKDOWN without carrier; host-scope routes are spared.
fn nh_flags(net: &Net, oif: Option<IfIndex>, scope: u8) -> u32 {
    match oif.and_then(|o| net.devs.get(o)) {
        _ if scope >= RT_SCOPE_HOST => 0,
        Some(d) if !d.flags.contains(DevFlags::UP) => RTNH_F_DEAD | RTNH_F_LINKDOWN,
        Some(d) if !d.carrier => RTNH_F_LINKDOWN,
        _ => 0,
    }
}

/// `fib_add_nexthop`: each path with its flags.
fn emit_multipath(w: &mut MsgWriter, net: &Net, nhs: &[NextHop]) {
    let mut mp = Vec::new();
    for nh in nhs {
        let at = mp.len();
        let flags = nh_flags(net, nh.oif, 0);
        mp.extend_from_slice(&[0, 0, flags as u8, (nh.weight.clamp(1, 256) - 1) as u8]);
        mp.extend_from_slice(&nh.oif.unwrap_or(0).to_ne_bytes());
        if let Some(IpAddr::V4(g)) = nh.gateway {
            mp.extend_from_slice(&8u16.to_ne_bytes());
            mp.extend_from_slice(&RTA_GATEWAY.to_ne_bytes());
            mp.extend_from_slice(&g.octets());
        }
        let len = (mp.len() - at) as u16;
        mp[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
    w.attr(RTA_MULTIPATH, &mp);
}

/// `fib_create_info` checks that do not need the FIB.
fn check_new(net: &Net, r: &Route) -> NlResult<()> {
    let min_scope = match r.kind {
        RouteKind::Local => RT_SCOPE_HOST,
        RouteKind::Broadcast => RT_SCOPE_LINK,
        _ => 0,
    };
    if r.scope > RT_SCOPE_HOST || r.scope < min_scope {
        return Err(NlError::msg(Errno::EINVAL, "Invalid scope"));
    }
    let paths = r.gateway.is_some() || r.oif.is_some() || !r.nexthops.is_empty();
    if r.kind.output_error().is_some() && paths {
        return Err(NlError::msg(
            Errno::EINVAL,
            "Gateway, device and multipath can not be specified for this route type",
        ));
    }
    if r.gateway.is_some() && r.scope >= RT_SCOPE_HOST {
        return Err(NlError::msg(Errno::EINVAL, "Route with host scope can not have a gateway"));
    }
    if let Some(o) = r.oif {
        net.devs.get(o).ok_or(Errno::ENODEV)?;
    }
    if let Some(IpAddr::V4(s)) = r.src {
        // `fib_valid_prefsrc`: the source must be one of ours.
        let ours = net.devs.iter().any(|d| d.addrs4.iter().any(|a| a.addr == s));
        if !ours && r.kind != RouteKind::Local {
            return Err(NlError::msg(Errno::EINVAL, "Invalid prefsrc address"));
        }
    }
    Ok(())
}

/// The extended-ack text `fib_check_nh_v4_gw` / `fib_check_nh_nongw` give.
fn nh_error(e: Errno, gateway: bool) -> NlError {
    match e {
        Errno::ENETUNREACH => NlError::msg(e, "Nexthop has invalid gateway"),
        Errno::EINVAL if gateway => NlError::msg(e, "Nexthop has invalid gateway"),
        Errno::ENETDOWN if gateway => NlError::msg(e, "Nexthop device is not up"),
        Errno::ENETDOWN => NlError::msg(e, "Device for nexthop is not up"),
        e => e.into(),
    }
}

fn same_slot(a: &Route, b: &Route) -> bool {
    a.table == b.table && a.dst == b.dst && a.prefix_len == b.prefix_len && a.metric == b.metric
}

/// `inet_rtm_newroute` → `fib_table_insert` with Linux's flag semantics: EXCL fails
/// on a route of equal prefix, table and metric; REPLACE takes its place; APPEND and
/// plain CREATE add another alias unless an identical route exists; without CREATE a
/// missing route is ENOENT.
pub fn new(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let cfg = parse(payload)?;
    check_new(net, &cfg.route)?;
    let gw = cfg.route.gateway.is_some() || cfg.route.nexthops.iter().any(|n| n.gateway.is_some());
    let route = net.route_check(cfg.route).map_err(|e| nh_error(e, gw))?;
    let f = ctx.flags;
    let existing: Vec<&Route> = net.fib.routes().filter(|e| same_slot(e, &route)).collect();
    if !existing.is_empty() {
        if f & NLM_F_EXCL != 0 {
            return Err(Errno::EEXIST.into());
        }
        if f & NLM_F_REPLACE != 0 {
            net.fib.replace(route)?;
            return Ok(());
        }
        if existing.iter().any(|e| **e == route) {
            return Err(Errno::EEXIST.into());
        }
    }
    if f & NLM_F_CREATE == 0 {
        return Err(Errno::ENOENT.into());
    }
    if existing.is_empty() {
        net.fib.insert(route)?;
    } else if f & NLM_F_APPEND != 0 {
        net.fib.append(route)?;
    } else {
        // `ip route prepend`: the new alias goes before those of equal metric.
        let old: Vec<Route> = existing.into_iter().cloned().collect();
        net.fib.retain(|r| !same_slot(r, &route));
        net.fib.insert(route)?;
        for o in old {
            net.fib.append(o)?;
        }
    }
    Ok(())
}

/// `inet_rtm_delroute` → `fib_table_delete`: the first alias every given field matches.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let cfg = parse(payload)?;
    let q = &cfg.route;
    let hit = net
        .fib
        .routes()
        .find(|r| {
            r.table == q.table
                && r.dst == q.dst
                && r.prefix_len == q.prefix_len
                && cfg.kind.is_none_or(|k| k == r.kind)
                && (cfg.scope == RT_SCOPE_NOWHERE || cfg.scope == r.scope)
                && (cfg.protocol == 0 || cfg.protocol == r.protocol)
                && (!cfg.has_priority || q.metric == r.metric)
                && q.gateway.is_none_or(|g| Some(g) == r.gateway)
                && q.oif.is_none_or(|o| Some(o) == r.oif)
                && q.src.is_none_or(|s| Some(s) == r.src)
        })
        .cloned()
        .ok_or(crate::route::ESRCH)?;
    let mut gone = false;
    net.fib.retain(|r| {
        let drop = !gone && *r == hit;
        gone |= drop;
        !drop
    });
    Ok(())
}

fn fill(ctx: &mut Ctx<'_>, net: &Net, r: &Route) {
    let h = ctx.header(RTM_NEWROUTE, true);
    let w = &mut *ctx.out;
    w.begin(h);
    // A multipath route is down when every path is (`fib_sync_down_dev` on fib_flags).
    let linkdown = if r.nexthops.is_empty() {
        nh_flags(net, r.oif, r.scope) & RTNH_F_LINKDOWN
    } else {
        r.nexthops.iter().fold(RTNH_F_LINKDOWN, |f, n| f & nh_flags(net, n.oif, 0))
    };
    RtMsg {
        family: AF_INET,
        dst_len: r.prefix_len,
        src_len: 0,
        tos: 0,
        table: if r.table < 256 { r.table as u8 } else { RT_TABLE_COMPAT },
        protocol: r.protocol,
        scope: r.scope,
        kind: kind_to_rtn(r.kind),
        flags: linkdown,
    }
    .emit(w);
    w.attr_u32(RTA_TABLE, r.table);
    if let (true, IpAddr::V4(d)) = (r.prefix_len > 0, r.dst) {
        w.attr(RTA_DST, &d.octets());
    }
    if r.metric != 0 {
        w.attr_u32(RTA_PRIORITY, r.metric);
    }
    if let Some(IpAddr::V4(s)) = r.src {
        w.attr(RTA_PREFSRC, &s.octets());
    }
    if !r.nexthops.is_empty() {
        emit_multipath(w, net, &r.nexthops);
        w.end();
        return;
    }
    if let Some(IpAddr::V4(g)) = r.gateway {
        w.attr(RTA_GATEWAY, &g.octets());
    }
    if let Some(o) = r.oif {
        w.attr_u32(RTA_OIF, o);
    }
    w.end();
}

/// Every IPv4 route, tables in `fib_table_hash` bucket order (id mod 256), each in
/// trie order (`fib_table_dump`):
/// network ascending, longer prefixes of one network first, aliases by metric.
pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family != AF_UNSPEC && family != AF_INET {
        return;
    }
    let key = |r: &Route| match r.dst {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(_) => u32::MAX,
    };
    let mut all: Vec<&Route> = net.fib.routes().collect();
    all.sort_by_key(|r| (r.table & 0xff, r.table, key(r), Reverse(r.prefix_len)));
    for r in all {
        fill(ctx, net, r);
    }
}

/// What `inet_rtm_getroute` reports of the route it resolved.
struct Resolved {
    ro: RouteOut,
    kind: u8,
    cflags: u32,
    /// The input device, for `ip route get ... iif DEV`.
    iif: Option<IfIndex>,
}

/// `inet_rtm_getroute`: the output route to RTA_DST (optionally through RTA_OIF), or with
/// RTA_IIF the route a packet arriving there would take (`ip_route_input_rcu`), as one
/// cloned RTM_NEWROUTE.
pub fn get(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let rtm = RtMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[RtMsg::LEN..];
    let dst = attr_in_addr(attrs, RTA_DST)?.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let oif: Option<IfIndex> = attr_u32(attrs, RTA_OIF)?.filter(|&o| o != 0);
    let iif: Option<IfIndex> = attr_u32(attrs, RTA_IIF)?.filter(|&i| i != 0);
    let src = attr_in_addr(attrs, RTA_SRC)?.filter(|s| !s.is_unspecified());
    let res = match iif {
        Some(iif) => resolve_input(net, dst, src.unwrap_or(Ipv4Addr::UNSPECIFIED), iif)?,
        None => resolve_output(net, dst, src, oif)?,
    };
    let table = reporting_table(net, dst, src, iif, oif);
    let ro = res.ro;
    let h = ctx.header(RTM_NEWROUTE, false);
    let w = &mut *ctx.out;
    w.begin(h);
    RtMsg {
        family: AF_INET,
        dst_len: 32,
        src_len: if src.is_some() { 32 } else { 0 },
        tos: rtm.tos,
        table: if table < 256 { table as u8 } else { RT_TABLE_COMPAT },
        protocol: 0,
        scope: 0,
        kind: res.kind,
        flags: RTM_F_CLONED | res.cflags,
    }
    .emit(w);
    w.attr_u32(RTA_TABLE, table);
    w.attr(RTA_DST, &dst.octets());
    if let Some(s) = src {
        w.attr(RTA_SRC, &s.octets());
    }
    if let Some(i) = res.iif {
        w.attr_u32(RTA_IIF, i);
    }
    w.attr_u32(RTA_OIF, ro.oif);
    // `rt_fill_info`: a given source is the flow's source (`fl4->saddr`), so the
    // preferred source appears only when none was given, and never for input routes.
    if let (IpAddr::V4(s), None, None) = (ro.src, src, res.iif) {
        w.attr(RTA_PREFSRC, &s.octets());
    }
    if let (IpAddr::V4(g), false) = (ro.next_hop, ro.next_hop == IpAddr::V4(dst)) {
        w.attr(RTA_GATEWAY, &g.octets());
    }
    if res.iif.is_none() {
        w.attr_u32(RTA_UID, 0);
    }
    w.attr(RTA_CACHEINFO, &[0u8; 32]);
    w.end();
    Ok(())
}

fn resolve_output(
    net: &Net,
    dst: Ipv4Addr,
    src: Option<Ipv4Addr>,
    oif: Option<IfIndex>,
) -> NlResult<Resolved> {
    let ro = net.route_output_from(IpAddr::V4(dst), src, oif)?;
    let (kind, cflags) = if ro.local {
        (RTN_LOCAL, RTCF_LOCAL)
    } else if ro.broadcast {
        (RTN_BROADCAST, RTCF_BROADCAST | RTCF_LOCAL)
    } else {
        (RTN_UNICAST, 0)
    };
    Ok(Resolved { ro, kind, cflags, iif: None })
}

/// `ip_route_input_slow` for a packet from `src` arriving on `iif`: delivered locally
/// (through `lo`), or forwarded when the device forwards (EHOSTUNREACH otherwise, as the
/// `no_route` verdict), with RTCF_DOREDIRECT when it leaves where it came in.
fn resolve_input(net: &Net, dst: Ipv4Addr, src: Ipv4Addr, iif: IfIndex) -> NlResult<Resolved> {
    let dev = net.devs.get(iif).ok_or(Errno::ENODEV)?;
    let conf = dev.conf4;
    if src.is_unspecified() {
        return Err(Errno::EINVAL.into());
    }
    let to_lo = |local: bool| RouteOut {
        src: IpAddr::V4(src),
        oif: LOOPBACK_IFINDEX,
        next_hop: IpAddr::V4(dst),
        mtu: 0,
        broadcast: !local,
        local,
    };
    match net.route_input(src, dst, iif) {
        InputKind::Martian | InputKind::Multicast => Err(Errno::EINVAL.into()),
        InputKind::Local => {
            Ok(Resolved { ro: to_lo(true), kind: RTN_LOCAL, cflags: RTCF_LOCAL, iif: Some(iif) })
        }
        InputKind::Broadcast => Ok(Resolved {
            ro: to_lo(false),
            kind: RTN_BROADCAST,
            cflags: RTCF_BROADCAST | RTCF_LOCAL,
            iif: Some(iif),
        }),
        InputKind::Forward if !conf.forwarding => Err(Errno::EHOSTUNREACH.into()),
        InputKind::Forward => {
            let ro = net.route_forward(dst, src, iif)?;
            let cflags = if ro.oif == iif && conf.send_redirects { RTCF_DOREDIRECT } else { 0 };
            Ok(Resolved { ro, kind: RTN_UNICAST, cflags, iif: Some(iif) })
        }
    }
}

/// The table `inet_rtm_getroute` names: without custom rules Linux merges the local table
/// into main and reports main (`fib_lookup` fast path); with them, the table that answered.
fn reporting_table(
    net: &Net,
    dst: Ipv4Addr,
    src: Option<Ipv4Addr>,
    iif: Option<IfIndex>,
    oif: Option<IfIndex>,
) -> u32 {
    let usable = |i: IfIndex| net.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP));
    let defaults = [(0, RT_TABLE_LOCAL), (32766, RT_TABLE_MAIN), (32767, RT_TABLE_DEFAULT)];
    let custom = net.fib.rules().len() != 3
        || net
            .fib
            .rules()
            .iter()
            .zip(defaults)
            .any(|(r, (p, t))| *r != Rule { protocol: r.protocol, ..Rule::lookup(p, t) });
    let key = FlowKey {
        dst: IpAddr::V4(dst),
        src: src.map(IpAddr::V4),
        iif: Some(iif.unwrap_or(LOOPBACK_IFINDEX)),
        oif,
        tos: 0,
    };
    match net.fib.lookup_flow(&key, usable) {
        Ok(r) if custom => r.table,
        _ => RT_TABLE_MAIN,
    }
}
