//! Route resolution for IPv4 packets (Linux `route.c`): the output lookup
//! (`ip_route_output_key_hash_rcu`), the input classification (`ip_route_input_slow`)
//! and source address selection (`inet_select_addr`).

use crate::dev::{IfIndex, LOOPBACK_IFINDEX};
use crate::net::{Net, RouteOut};
use crate::route::{FlowKey, RouteKind};
use crate::{DevFlags, Errno, SysResult};
use std::net::{IpAddr, Ipv4Addr};

/// What an arriving packet's destination is for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// One of our addresses (any interface: Linux is a weak-end host).
    Local,
    /// Limited or subnet broadcast.
    Broadcast,
    Multicast,
    /// Someone else's: forward or drop.
    Forward,
    /// A destination no host may use (0/8, 127/8 from outside): dropped.
    Martian,
}

impl Net {
    /// Output route lookup (`ip_route_output_key`): ENETUNREACH without a route, the
    /// reject errno for blackhole/unreachable/prohibit routes.
    pub fn route_output(&self, dst: IpAddr, oif: Option<IfIndex>) -> SysResult<RouteOut> {
        self.route_output_from(dst, None, oif)
    }

    /// `route_output` for a flow whose source address is already known (policy rules
    /// may select on it).
    pub fn route_output_from(
        &self,
        dst: IpAddr,
        src: Option<Ipv4Addr>,
        oif: Option<IfIndex>,
    ) -> SysResult<RouteOut> {
        let d = match dst {
            IpAddr::V4(d) => d,
            IpAddr::V6(d) => return self.route_output6(d, None, oif),
        };
        let src = src.filter(|s| !s.is_unspecified());
        let hash = u32::from(d) ^ oif.unwrap_or(0) ^ src.map_or(0, |s| u32::from(s).rotate_left(7));
        self.ipv4
            .out_routes
            .get_or(self.fib.genid(), (d, src, oif), hash, || self.route_output_slow(d, src, oif))
    }

    /// `route_output_from` through a socket's own cached route if it has one
    /// (`sk_dst_check`).
    pub(crate) fn route_output_sk(
        &self,
        dst: Ipv4Addr,
        src: Option<Ipv4Addr>,
        oif: Option<IfIndex>,
        sk_dst: Option<&mut super::SkDst>,
    ) -> SysResult<RouteOut> {
        let Some(sk_dst) = sk_dst else {
            return self.route_output_from(IpAddr::V4(dst), src, oif);
        };
        let flow = (dst, src.filter(|s| !s.is_unspecified()), oif);
        if let Some(rt) = sk_dst.get(self.fib.genid(), flow) {
            return Ok(rt);
        }
        let rt = self.route_output_from(IpAddr::V4(dst), src, oif)?;
        sk_dst.set(self.fib.genid(), flow, rt);
        Ok(rt)
    }

    fn route_output_slow(
        &self,
        d: Ipv4Addr,
        src: Option<Ipv4Addr>,
        oif: Option<IfIndex>,
    ) -> SysResult<RouteOut> {
        let dst = IpAddr::V4(d);
        if let Some(o) = oif {
            let dev = self.devs.get(o).ok_or(Errno::ENODEV)?;
            if !dev.flags.contains(DevFlags::UP) {
                return Err(Errno::ENETUNREACH);
            }
        }
        if d.is_broadcast() || d.is_multicast() {
            return self.route_output_mcast(d, oif);
        }
        let usable = |i: IfIndex| self.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP));
        // Locally generated traffic enters the rules through `lo` (Linux `flowi4_iif`).
        let key = |oif| FlowKey {
            dst,
            src: src.map(IpAddr::V4),
            iif: Some(LOOPBACK_IFINDEX),
            oif,
            tos: 0,
        };
        // Our own addresses go through lo whatever the bound device (Linux 4.x+).
        let any = self.fib.lookup_flow(&key(None), usable);
        if let Some(r) = any.ok().filter(|r| r.kind == RouteKind::Local) {
            let src = r.src.unwrap_or(dst);
            let mtu = self.devs.get(LOOPBACK_IFINDEX).map_or(65536, |d| d.mtu);
            return Ok(RouteOut {
                src,
                oif: LOOPBACK_IFINDEX,
                next_hop: dst,
                mtu,
                broadcast: false,
                local: true,
            });
        }
        let found = if oif.is_some() { self.fib.lookup_flow(&key(oif), usable) } else { any };
        let r = match (found, oif) {
            (Ok(r), _) => r,
            // A bound flow without a route is assumed on-link (Linux
            // `ip_route_output_key_hash_rcu`: "routing tables are wrong").
            (Err(Errno::ENETUNREACH), Some(o)) => {
                return Ok(self.make_route(dst, o, dst, None, false));
            }
            (Err(e), _) => return Err(e),
        };
        self.route_via(d, src, r)
    }

    /// The path through route `r` toward `d` from `src` (`__mkroute_output`): the reject
    /// errno of its type, the next hop of a multipath route, the gateway (or a
    /// redirected one), source, MTU.
    pub(crate) fn route_via(
        &self,
        d: Ipv4Addr,
        src: Option<Ipv4Addr>,
        r: &crate::route::Route,
    ) -> SysResult<RouteOut> {
        let dst = IpAddr::V4(d);
        if let Some(e) = r.kind.output_error() {
            return Err(e);
        }
        let (gateway, oif) = if r.nexthops.is_empty() {
            (r.gateway, r.oif)
        } else {
            self.select_nexthop(r, src.unwrap_or(Ipv4Addr::UNSPECIFIED), d)?
        };
        let oif = oif.ok_or(Errno::ENETUNREACH)?;
        let broadcast = r.kind == RouteKind::Broadcast;
        // A gateway that is our own address gives a host-scope path: frames go straight
        // to the destination (`rt_set_nexthop` sets no gateway unless the scope is link).
        let gateway = gateway.filter(|&g| !self.is_local_addr(g));
        let mut next_hop = gateway.unwrap_or(dst);
        if gateway.is_some()
            && let Some(g) = self.ipv4.redirects.gateway_for(d, next_hop)
        {
            next_hop = g;
        }
        Ok(self.make_route(dst, oif, next_hop, r.src, broadcast))
    }

    /// Linux `fib_select_multipath` with the L3 hash policy (`fib_multipath_hash_policy`
    /// = 0): a flow hash of source and destination picks among the live paths in
    /// proportion to their weights, so one flow keeps one path. The hash is seeded per
    /// instance (Linux: per boot), deterministically.
    fn select_nexthop(
        &self,
        r: &crate::route::Route,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) -> SysResult<(Option<IpAddr>, Option<IfIndex>)> {
        let alive = |o: Option<IfIndex>| {
            o.and_then(|o| self.devs.get(o)).is_some_and(|d| d.flags.contains(DevFlags::UP))
        };
        let total: u32 =
            r.nexthops.iter().filter(|n| alive(n.oif)).map(|n| u32::from(n.weight)).sum();
        if total == 0 {
            return Err(Errno::ENETUNREACH);
        }
        let mut point = flow_hash(self.mp_hash_seed, u32::from(src), u32::from(dst)) % total;
        for nh in r.nexthops.iter().filter(|n| alive(n.oif)) {
            if point < u32::from(nh.weight) {
                return Ok((nh.gateway, nh.oif));
            }
            point -= u32::from(nh.weight);
        }
        Err(Errno::ENETUNREACH)
    }

    /// The route a forwarded packet takes (`ip_route_input_slow`'s forwarding half):
    /// policy rules see its source and input device. Errors are the verdicts
    /// `ip_error` turns into ICMP (ENETUNREACH no route, EHOSTUNREACH, EACCES, EINVAL
    /// for a blackhole).
    pub(crate) fn route_forward(
        &self,
        dst: Ipv4Addr,
        src: Ipv4Addr,
        iif: IfIndex,
    ) -> SysResult<RouteOut> {
        let hash = u32::from(dst) ^ u32::from(src).rotate_left(11) ^ iif.rotate_left(23);
        self.ipv4.fwd_routes.get_or(self.fib.genid(), (dst, src, iif), hash, || {
            // Routes through a device without carrier still count
            // (ignore_routes_with_linkdown=0).
            let usable =
                |i: IfIndex| self.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP));
            let key = FlowKey {
                dst: IpAddr::V4(dst),
                src: Some(IpAddr::V4(src)),
                iif: Some(iif),
                oif: None,
                tos: 0,
            };
            let r = self.fib.lookup_flow(&key, usable)?;
            if r.kind == RouteKind::Local {
                return Ok(RouteOut {
                    local: true,
                    ..self.make_route(key.dst, LOOPBACK_IFINDEX, key.dst, None, false)
                });
            }
            self.route_via(dst, Some(src), r)
        })
    }

    fn route_output_mcast(&self, d: Ipv4Addr, oif: Option<IfIndex>) -> SysResult<RouteOut> {
        let dst = IpAddr::V4(d);
        let oif = match oif {
            Some(o) => o,
            None => {
                let usable =
                    |i: IfIndex| self.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP));
                let r = self.fib.lookup(dst, None, usable).ok_or(Errno::ENETUNREACH)?;
                if let Some(e) = r.kind.output_error() {
                    return Err(e);
                }
                r.oif.ok_or(Errno::ENETUNREACH)?
            }
        };
        Ok(self.make_route(dst, oif, dst, None, d.is_broadcast()))
    }

    fn make_route(
        &self,
        dst: IpAddr,
        oif: IfIndex,
        next_hop: IpAddr,
        prefsrc: Option<IpAddr>,
        broadcast: bool,
    ) -> RouteOut {
        let src = prefsrc
            .or_else(|| self.select_addr(oif, next_hop).map(IpAddr::V4))
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut mtu = self.devs.get(oif).map_or(1500, |d| d.mtu);
        if let IpAddr::V4(d) = dst {
            mtu = self.ipv4.pmtu.get(d).map_or(mtu, |p| p.min(mtu));
        }
        RouteOut { src, oif, next_hop, mtu, broadcast, local: false }
    }

    /// `inet_select_addr`: an address of `ifindex` on the subnet of `toward`, else its
    /// first address, else the first non-loopback address of any device.
    pub(crate) fn select_addr(&self, ifindex: IfIndex, toward: IpAddr) -> Option<Ipv4Addr> {
        let IpAddr::V4(t) = toward else { return None };
        if let Some(dev) = self.devs.get(ifindex) {
            if let Some(a) = dev.addrs4.iter().find(|a| a.contains(t)) {
                return Some(a.addr);
            }
            if let Some(a) = dev.addrs4.first() {
                return Some(a.addr);
            }
        }
        self.devs
            .iter()
            .flat_map(|d| d.addrs4.iter())
            .find(|a| !a.addr.is_loopback())
            .map(|a| a.addr)
    }

    /// Classifies an arriving packet's destination (`ip_route_input_slow`).
    pub(crate) fn route_input(&self, src: Ipv4Addr, dst: Ipv4Addr, ifindex: IfIndex) -> InputKind {
        let hash = u32::from(src) ^ u32::from(dst).rotate_left(16) ^ ifindex;
        let key = (src, dst, ifindex);
        let kind = self.ipv4.in_routes.get_or(self.fib.genid(), key, hash, || {
            Ok::<_, ()>(self.route_input_slow(src, dst, ifindex))
        });
        kind.unwrap_or(InputKind::Martian)
    }

    fn route_input_slow(&self, src: Ipv4Addr, dst: Ipv4Addr, ifindex: IfIndex) -> InputKind {
        let from_lo = ifindex == LOOPBACK_IFINDEX;
        if dst.is_broadcast() {
            return InputKind::Broadcast;
        }
        if dst.is_multicast() {
            return InputKind::Multicast;
        }
        // Martian sources and destinations (RFC 1812 §5.3.7, Linux `martian_source`).
        if src.is_multicast() || src.is_broadcast() {
            return InputKind::Martian;
        }
        if !from_lo && (src.is_loopback() || dst.is_loopback()) {
            return InputKind::Martian;
        }
        if dst.octets()[0] == 0 || (src.octets()[0] == 0 && !src.is_unspecified()) {
            return InputKind::Martian;
        }
        // `fib_validate_source`: our own or a broadcast source from the wire is a
        // martian (accept_local off).
        if !from_lo && !src.is_unspecified() {
            let accept_local = self.devs.get(ifindex).is_some_and(|d| d.conf4.accept_local);
            match self.fib.lookup(IpAddr::V4(src), None, |_| true).map(|r| r.kind) {
                Some(RouteKind::Broadcast) => return InputKind::Martian,
                Some(RouteKind::Local) if !accept_local => return InputKind::Martian,
                _ => {}
            }
        }
        let key = FlowKey {
            dst: IpAddr::V4(dst),
            src: Some(IpAddr::V4(src)),
            iif: Some(ifindex),
            oif: None,
            tos: 0,
        };
        match self.fib.lookup_flow(&key, |_| true).map(|r| r.kind) {
            Ok(RouteKind::Local) => InputKind::Local,
            Ok(RouteKind::Broadcast) => InputKind::Broadcast,
            _ => InputKind::Forward,
        }
    }
}

/// A 64-bit finalizer (MurmurHash3's `fmix64`) over source, destination and seed.
fn flow_hash(seed: u32, src: u32, dst: u32) -> u32 {
    let mut h = (u64::from(src) << 32 | u64::from(dst))
        ^ u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as u32
}
