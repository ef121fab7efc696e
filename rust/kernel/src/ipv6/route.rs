//! IPv6 output routing (Linux `ip6_route_output`, `ip6_pol_route`): the v6 half of the
//! FIB through the policy rules, ECMP by flow hash, reject routes, and the source
//! address (RFC 6724) and MTU of the path; plus the per-device configuration accessors
//! (`net.ipv6.conf.*`) the rest of the stack reads.

use super::AddrState;
use crate::dev::{DevConf6, IfIndex, LOOPBACK_IFINDEX};
use crate::net::{Net, RouteOut};
use crate::route::{
    FlowKey, NextHop, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KERNEL, RTPROT_RA, Route, RouteKind,
    prefix_mask6,
};
use crate::sysctl::ipv6::Knob;
use crate::wire::ipv6::is_link_local;
use crate::{DevFlags, Errno, SysResult};
use std::net::{IpAddr, Ipv6Addr};

/// IPV6_MIN_MTU (RFC 8200 §5).
const IPV6_MIN_MTU: u32 = 1280;

impl Net {
    /// The IPv6 configuration of `ifindex` (`idev->cnf`), or `default` for an unknown one.
    pub fn conf6(&self, ifindex: IfIndex) -> &DevConf6 {
        self.devs.get(ifindex).map_or(&self.sysctl.ipv6.conf_default, |d| &d.conf6)
    }

    /// Whether IPv6 packets are forwarded (Linux `ip6_forward`: `all.forwarding`, or
    /// the input device's `force_forwarding`).
    pub fn ipv6_forwarding(&self, ifindex: IfIndex) -> bool {
        self.sysctl.ipv6.conf_all.get(Knob::Forwarding) != 0
            || self.devs.get(ifindex).is_some_and(|d| d.conf6.get(Knob::ForceForwarding) != 0)
    }

    /// The device acts as a router (`idev->cnf.forwarding`): no router solicitations,
    /// the router flag in advertisements, advertisements ignored under accept_ra 1.
    pub fn ipv6_is_router(&self, ifindex: IfIndex) -> bool {
        self.conf6(ifindex).get(Knob::Forwarding) != 0
    }

    /// `ipv6_accept_ra`: accept_ra 1 on a host, 2 even when forwarding.
    pub fn ipv6_accept_ra(&self, ifindex: IfIndex) -> bool {
        match self.conf6(ifindex).get(Knob::AcceptRa) {
            0 => false,
            1 => !self.ipv6_is_router(ifindex),
            _ => true,
        }
    }

    /// The output route for `dst` (Linux `ip6_route_output` → `ip6_pol_route`): the
    /// policy rules of `ip -6 rule`, longest prefix, then the route's type (reject
    /// errnos), ECMP by flow hash, source (RFC 6724) and path MTU. Our own addresses go
    /// through lo. A flow bound to `oif` only takes routes through it
    /// (`RT6_LOOKUP_F_IFACE`).
    pub fn route_output6(
        &self,
        dst: Ipv6Addr,
        src: Option<Ipv6Addr>,
        oif: Option<IfIndex>,
    ) -> SysResult<RouteOut> {
        let r = self.lookup_output6(dst, src, oif)?;
        // `ip6_dst_lookup_tail`: no usable source address.
        if r.src == IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        Ok(r)
    }

    /// The next hop toward `dst` (device, gateway or `dst`), for callers that pick
    /// their own source (ICMPv6 errors, neighbour discovery).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn route6(
        &self,
        dst: Ipv6Addr,
        oif: Option<IfIndex>,
    ) -> Option<(IfIndex, Ipv6Addr)> {
        let r = self.lookup_output6(dst, None, oif).ok()?;
        match r.next_hop {
            IpAddr::V6(n) => Some((r.oif, n)),
            IpAddr::V4(_) => None,
        }
    }

    /// `route_output6` whose source is `::` when none is usable.
    fn lookup_output6(
        &self,
        dst: Ipv6Addr,
        src: Option<Ipv6Addr>,
        oif: Option<IfIndex>,
    ) -> SysResult<RouteOut> {
        let src = src.filter(|s| !s.is_unspecified());
        if let Some(o) = oif {
            let dev = self.devs.get(o).ok_or(Errno::ENODEV)?;
            if !dev.flags.contains(DevFlags::UP) {
                return Err(Errno::ENETUNREACH);
            }
        }
        let key = FlowKey {
            dst: IpAddr::V6(dst),
            src: src.map(IpAddr::V6),
            iif: Some(LOOPBACK_IFINDEX),
            oif,
            tos: 0,
        };
        let r = match self.fib.lookup_flow(&key, |i| self.dev_usable6(i)) {
            Ok(r) => r,
            // Multicast and link-local destinations on a bound device need no route
            // (`ip6_route_output_flags`: the flow's oif is used as is).
            Err(Errno::ENETUNREACH)
                if oif.is_some() && (dst.is_multicast() || is_link_local(dst)) =>
            {
                let o = oif.unwrap_or(LOOPBACK_IFINDEX);
                return self.path6(dst, src, o, dst, None);
            }
            Err(e) => return Err(e),
        };
        if let Some(e) = r.kind.output_error() {
            return Err(e);
        }
        if r.kind == RouteKind::Local || r.kind == RouteKind::Anycast {
            let s = src.unwrap_or(dst);
            return Ok(RouteOut {
                local: true,
                ..self.path6(dst, Some(s), LOOPBACK_IFINDEX, dst, None)?
            });
        }
        let (gw, o) = self.nexthop6(r, src, dst)?;
        let o = o.or(oif).ok_or(Errno::ENETUNREACH)?;
        let first_hop = gw.unwrap_or(dst);
        let gw = self.ipv6.redirects.first_hop(dst, o, first_hop).or(gw);
        let pref = r.src.and_then(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        });
        self.path6(dst, src.or(pref), o, gw.unwrap_or(dst), Some(r.mtu))
    }

    /// The FIB entry an output (or, with `iif`, input) lookup for `dst` matches, for
    /// `ip -6 route get` to report its table, protocol, type and metric.
    pub(crate) fn route6_matched(
        &self,
        dst: Ipv6Addr,
        src: Option<Ipv6Addr>,
        iif: Option<IfIndex>,
        oif: Option<IfIndex>,
    ) -> Option<&Route> {
        let key = FlowKey {
            dst: IpAddr::V6(dst),
            src: src.map(IpAddr::V6),
            iif: Some(iif.unwrap_or(LOOPBACK_IFINDEX)),
            oif,
            tos: 0,
        };
        self.fib.lookup_flow(&key, |i| self.dev_usable6(i)).ok()
    }

    /// The route a forwarded packet takes (`ip6_route_input`): the rules see its source
    /// and input device. Errors are the verdicts ICMPv6 reports.
    pub fn route_input6(&self, dst: Ipv6Addr, src: Ipv6Addr, iif: IfIndex) -> SysResult<RouteOut> {
        let key = FlowKey {
            dst: IpAddr::V6(dst),
            src: Some(IpAddr::V6(src)),
            iif: Some(iif),
            oif: None,
            tos: 0,
        };
        let r = self.fib.lookup_flow(&key, |i| self.dev_usable6(i))?;
        if let Some(e) = r.kind.output_error() {
            return Err(e);
        }
        if r.kind == RouteKind::Local {
            return Ok(RouteOut {
                local: true,
                ..self.path6(dst, Some(dst), LOOPBACK_IFINDEX, dst, None)?
            });
        }
        let (gw, o) = self.nexthop6(r, Some(src), dst)?;
        let o = o.ok_or(Errno::ENETUNREACH)?;
        let s = self.ipv6.select_source(o, dst).unwrap_or(Ipv6Addr::UNSPECIFIED);
        self.path6(dst, Some(s), o, gw.unwrap_or(dst), Some(r.mtu))
    }

    /// A device routes may use: up (and with carrier unless ignore_routes_with_linkdown).
    fn dev_usable6(&self, i: IfIndex) -> bool {
        self.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP))
    }

    /// The gateway and device of route `r` (`fib6_select_path`: hash-threshold over the
    /// siblings of a multipath route, weighted).
    fn nexthop6(
        &self,
        r: &Route,
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
    ) -> SysResult<(Option<Ipv6Addr>, Option<IfIndex>)> {
        let v6 = |a: Option<IpAddr>| match a {
            Some(IpAddr::V6(g)) => Some(g),
            _ => None,
        };
        if r.nexthops.is_empty() {
            return Ok((v6(r.gateway), r.oif));
        }
        let alive = |n: &&NextHop| n.oif.is_some_and(|o| self.dev_usable6(o));
        let total: u32 = r.nexthops.iter().filter(alive).map(|n| u32::from(n.weight)).sum();
        if total == 0 {
            return Err(Errno::ENETUNREACH);
        }
        let s = u128::from(src.unwrap_or(Ipv6Addr::UNSPECIFIED));
        let mut point = flow_hash6(self.mp_hash_seed, s, u128::from(dst)) % total;
        for nh in r.nexthops.iter().filter(alive) {
            if point < u32::from(nh.weight) {
                return Ok((v6(nh.gateway), nh.oif));
            }
            point -= u32::from(nh.weight);
        }
        Err(Errno::ENETUNREACH)
    }

    /// Fills a `RouteOut`: source (given and ours, else RFC 6724 on `oif`, else any
    /// usable global address) and MTU (device, `conf.mtu`, advertised, route metric,
    /// learned path MTU).
    fn path6(
        &self,
        dst: Ipv6Addr,
        src: Option<Ipv6Addr>,
        oif: IfIndex,
        next_hop: Ipv6Addr,
        route_mtu: Option<u32>,
    ) -> SysResult<RouteOut> {
        let ours = |a: Ipv6Addr| self.ipv6.addrs.values().flatten().any(|f| f.addr == a);
        let src = match src {
            Some(s) if ours(s) => s,
            Some(_) => return Err(Errno::EINVAL),
            None => self.source6(oif, dst).unwrap_or(Ipv6Addr::UNSPECIFIED),
        };
        let dev = self.devs.get(oif).ok_or(Errno::ENODEV)?;
        let mut mtu = dev.mtu;
        let conf = dev.conf6.get(Knob::Mtu);
        if conf > 0 {
            mtu = mtu.min(conf as u32);
        }
        if let Some(&ra) = self.ipv6.mtu.get(&oif) {
            mtu = mtu.min(ra);
        }
        if let Some(m) = route_mtu.filter(|&m| m != 0) {
            mtu = mtu.min(m);
        }
        if let Some(p) = self.pmtu6_lookup(dst) {
            mtu = mtu.min(p);
        }
        Ok(RouteOut {
            src: IpAddr::V6(src),
            oif,
            next_hop: IpAddr::V6(next_hop),
            mtu: mtu.max(IPV6_MIN_MTU),
            broadcast: false,
            local: false,
        })
    }

    /// `ipv6_dev_get_saddr` (RFC 6724 §5): among the usable addresses — of the outgoing
    /// device only for multicast and link-scope destinations (or `use_oif_addrs_only`),
    /// else of every device — the destination itself (rule 1), then the appropriate
    /// scope (rule 2, multicast scope from the address, RFC 4291 §2.7), the outgoing
    /// device (rule 5), the longest matching prefix (rule 8), the newest address.
    pub fn source6(&self, oif: IfIndex, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        let dscope = scope6(dst);
        let only_oif =
            dst.is_multicast() || dscope <= 2 || self.conf6(oif).get(Knob::UseOifAddrsOnly) != 0;
        let key = |i: IfIndex, a: Ipv6Addr| {
            let s = scope6(a);
            // Rule 2: a scope at least the destination's, the smallest such; else the
            // largest below it.
            let scope = if s >= dscope { (1, 15 - s) } else { (0, s) };
            let common = (u128::from(a) ^ u128::from(dst)).leading_zeros();
            (a == dst, scope, i == oif, common)
        };
        self.ipv6
            .addrs
            .iter()
            .filter(|(i, _)| !only_oif || **i == oif)
            .flat_map(|(&i, v)| v.iter().map(move |f| (i, f)))
            .filter(|(_, f)| f.state == AddrState::Preferred)
            .max_by_key(|(i, f)| key(*i, f.addr))
            .map(|(_, f)| f.addr)
    }
}

/// The scope of an address (RFC 4291 §2.7, RFC 6724 §3.1): a multicast address's
/// scope field; link-local and loopback unicast 2; every other unicast global (14).
fn scope6(a: Ipv6Addr) -> u8 {
    if a.is_multicast() {
        a.octets()[1] & 0x0f
    } else if a.is_loopback() || is_link_local(a) {
        2
    } else {
        0x0e
    }
}

impl Net {
    /// Brings the kernel's own IPv6 routes in line with the addresses, devices and
    /// advertisements (Linux adds and removes them at each event: `addrconf_prefix_route`,
    /// `addrconf_add_mroute`, `ip6_ins_rt` of an address's local route at DAD
    /// completion, `rt6_add_dflt_router`, `addrconf_prefix_rcv`, anycast routes of a
    /// forwarding device). Only differences touch the FIB, so an unchanged state keeps
    /// its generation; a refreshed lifetime is updated in place.
    pub(crate) fn fib6_sync(&mut self) {
        let want = self.kernel_routes6();
        let auto =
            |r: &Route| r.is_v6() && (r.protocol == RTPROT_KERNEL || r.protocol == RTPROT_RA);
        let have: Vec<Route> =
            self.fib.routes6().into_iter().filter(|r| auto(r)).cloned().collect();
        let bare = |r: &Route| Route { expires: None, ..r.clone() };
        let want_bare: Vec<Route> = want.iter().map(bare).collect();
        let have_bare: Vec<Route> = have.iter().map(bare).collect();
        let gone: Vec<&Route> = have_bare.iter().filter(|r| !want_bare.contains(r)).collect();
        if !gone.is_empty() {
            self.fib.retain6(|r| !(auto(r) && gone.contains(&&bare(r))));
        }
        for (w, b) in want.iter().zip(&want_bare) {
            match have_bare.iter().position(|h| h == b) {
                None => {
                    let _ = self.fib.append(w.clone());
                }
                Some(i) if have[i].expires != w.expires => {
                    self.fib.update6(|r| {
                        let hit = auto(r) && bare(r) == *b;
                        if hit {
                            r.expires = w.expires;
                        }
                        hit
                    });
                }
                Some(_) => {}
            }
        }
    }

    /// The routes IPv6 configuration implies, in the order Linux adds them.
    fn kernel_routes6(&self) -> Vec<Route> {
        let mut v = Vec::new();
        let base = |dst: Ipv6Addr, len: u8, kind, table, metric, oif| Route {
            kind,
            table,
            metric,
            protocol: RTPROT_KERNEL,
            scope: 0,
            ..Route::new(IpAddr::V6(dst), len, None, Some(oif))
        };
        for (&i, addrs) in &self.ipv6.addrs {
            let Some(dev) = self.devs.get(i) else { continue };
            let lo = dev.is_loopback();
            let router = self.ipv6_is_router(i);
            for f in addrs.iter().filter(|f| f.state != AddrState::DadFailed) {
                let net = Ipv6Addr::from(u128::from(f.addr) & prefix_mask6(f.prefix_len));
                // An advertised on-link prefix is the same route, with its lifetime.
                let ra = self
                    .ipv6
                    .prefixes
                    .iter()
                    .any(|p| (p.prefix, p.len, p.ifindex) == (net, f.prefix_len, i));
                if !lo && (!ra || is_link_local(net)) {
                    v.push(base(net, f.prefix_len, RouteKind::Unicast, RT_TABLE_MAIN, 256, i));
                }
                if f.state != AddrState::Preferred {
                    continue;
                }
                v.push(base(f.addr, 128, RouteKind::Local, RT_TABLE_LOCAL, 0, i));
                // `addrconf_join_anycast`: the subnet-router anycast address.
                if router && f.prefix_len < 127 && !lo {
                    v.push(base(net, 128, RouteKind::Anycast, RT_TABLE_LOCAL, 0, i));
                }
            }
            if !lo && dev.flags.contains(DevFlags::UP) {
                let mc = Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0);
                v.push(base(mc, 8, RouteKind::Multicast, RT_TABLE_LOCAL, 256, i));
            }
        }
        for p in &self.ipv6.prefixes {
            let mut r = base(p.prefix, p.len, RouteKind::Unicast, RT_TABLE_MAIN, 256, p.ifindex);
            r.expires = p.expires;
            v.push(r);
        }
        for d in &self.ipv6.routers {
            let metric = self.conf6(d.ifindex).get(Knob::RaDefrtrMetric) as u32;
            let mut r = base(
                Ipv6Addr::UNSPECIFIED,
                0,
                RouteKind::Unicast,
                RT_TABLE_MAIN,
                metric,
                d.ifindex,
            );
            (r.gateway, r.protocol, r.expires) =
                (Some(IpAddr::V6(d.addr)), RTPROT_RA, Some(d.expires));
            v.push(r);
        }
        v.dedup();
        v
    }

    /// A `net.ipv6.*` write (`name` normalised): router mode changes the routes
    /// (anycast); `disable_ipv6` 1 drops a device's addresses and what it learned
    /// (`addrconf_ifdown`), 0 brings its link-local address back; a new `addr_gen_mode`
    /// adds the link-local address it gives (`addrconf_init_auto_addrs`).
    pub fn ipv6_conf_changed(&mut self, now: crate::Nanos, name: &str) {
        let knob = name.rsplit('.').next().unwrap_or("");
        let devs: Vec<(IfIndex, bool)> =
            self.devs.iter().map(|d| (d.ifindex, d.conf6.get(Knob::DisableIpv6) != 0)).collect();
        for (i, off) in devs {
            match knob {
                "disable_ipv6" if off => {
                    self.ipv6.addrs.remove(&i);
                    self.ipv6.routers.retain(|r| r.ifindex != i);
                    self.ipv6.prefixes.retain(|p| p.ifindex != i);
                    self.ipv6.rs.remove(&i);
                    self.ipv6.mtu.remove(&i);
                    self.fib.retain6(|r| r.oif != Some(i));
                }
                "disable_ipv6" | "addr_gen_mode" if !off => self.addrconf_dev_changed(now, i),
                _ => {}
            }
        }
        // `addrconf_fixup_forwarding` → `rt6_purge_dflt_routers`: turning forwarding on
        // (anywhere) forgets the advertised default routers, but on accept_ra 2 devices.
        let on = knob == "forwarding"
            && crate::sysctl::get(&self.sysctl, &self.devs, name).is_ok_and(|v| v != "0");
        if on {
            let keep: Vec<bool> = self
                .ipv6
                .routers
                .iter()
                .map(|r| self.conf6(r.ifindex).get(Knob::AcceptRa) == 2)
                .collect();
            let mut k = keep.into_iter();
            self.ipv6.routers.retain(|_| k.next().unwrap_or(true));
        }
        self.router_groups_sync(now);
        self.fib.invalidate();
        self.fib6_sync();
    }

    /// The learned path MTU toward `dst` (DATA's `pmtu6` once it exists).
    fn pmtu6_lookup(&self, dst: Ipv6Addr) -> Option<u32> {
        self.pmtu6(dst)
    }
}

/// The flow hash for IPv6 multipath (L3 policy: source and destination), seeded per
/// instance.
fn flow_hash6(seed: u32, src: u128, dst: u128) -> u32 {
    let fold = |a: u128| (a as u64) ^ ((a >> 64) as u64);
    let mut h =
        fold(src).rotate_left(17) ^ fold(dst) ^ u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 32;
    h as u32
}

#[cfg(test)]
mod tests {
    use crate::route::{NextHop, RT_TABLE_LOCAL, RT_TABLE_MAIN, Route, RouteKind, Rule};
    use crate::wire::EthernetAddress;
    use crate::{DeviceConfig, Errno, IfIndex, Kernel, KernelConfig};
    use std::net::{IpAddr, Ipv6Addr};

    const SEC: u64 = 1_000_000_000;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        IpAddr::V6(a(s))
    }

    /// Two Ethernet devices, 2001:db8:1::1/64 on eth0 and 2001:db8:2::1/64 on eth1,
    /// DAD done.
    fn router() -> (Kernel, IfIndex, IfIndex) {
        let mut k = Kernel::new(KernelConfig { seed: 3 });
        let e0 = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1])));
        let e1 = k.dev_add(DeviceConfig::ethernet("eth1", EthernetAddress([2, 0, 0, 0, 0, 2])));
        let (e0, e1) = (e0.unwrap(), e1.unwrap());
        for (i, p) in [(e0, "2001:db8:1::1"), (e1, "2001:db8:2::1")] {
            k.dev_set_up(0, i, true).unwrap();
            k.addr_add(0, i, ip(p), 64).unwrap();
        }
        let mut now = 0;
        while let Some(d) = k.next_deadline().filter(|&d| d < 3 * SEC) {
            now = d.max(now);
            k.advance(now);
            while k.poll_transmit().is_some() {}
        }
        (k, e0, e1)
    }

    fn shown(k: &Kernel) -> Vec<String> {
        k.net
            .fib
            .routes6()
            .iter()
            .map(|r| {
                let kind = format!("{:?}", r.kind).to_lowercase();
                let (d, l, t, m, o) = (r.dst, r.prefix_len, r.table, r.metric, r.oif);
                format!("{kind} {d}/{l} t{t} m{m} dev {o:?}")
            })
            .collect()
    }

    #[test]
    fn addresses_install_linux_kernel_routes() {
        let (k, _, _) = router();
        let want = [
            "unicast 2001:db8:1::/64 t254 m256 dev Some(2)",
            "unicast 2001:db8:2::/64 t254 m256 dev Some(3)",
            "unicast fe80::/64 t254 m256 dev Some(2)",
            "unicast fe80::/64 t254 m256 dev Some(3)",
            "local ::1/128 t255 m0 dev Some(1)",
            "local 2001:db8:1::1/128 t255 m0 dev Some(2)",
            "local 2001:db8:2::1/128 t255 m0 dev Some(3)",
            "local fe80::ff:fe00:1/128 t255 m0 dev Some(2)",
            "local fe80::ff:fe00:2/128 t255 m0 dev Some(3)",
            "multicast ff00::/8 t255 m256 dev Some(2)",
            "multicast ff00::/8 t255 m256 dev Some(3)",
        ];
        assert_eq!(shown(&k), want);
    }

    #[test]
    fn kernel_api_adds_and_deletes_ipv6_routes() {
        let (mut k, e0, _) = router();
        let r = Route::new(ip("2001:db8:5::"), 64, Some(ip("2001:db8:1::9")), None);
        k.route_add(r.clone()).unwrap();
        // As `ip -6 route add` (NLM_F_EXCL): metric 1024 when none is given, the device
        // found from the on-link gateway, the same route twice is EEXIST.
        assert!(shown(&k).contains(&format!("unicast 2001:db8:5::/64 t254 m1024 dev Some({e0})")));
        assert_eq!(k.route_add(r.clone()), Err(Errno::EEXIST));
        let off_link = Route::new(ip("2001:db8:6::"), 64, Some(ip("2001:db8:7::1")), None);
        assert_eq!(k.route_add(off_link), Err(Errno::EHOSTUNREACH));
        assert_eq!(k.route_get(ip("2001:db8:5::7")).unwrap().next_hop, ip("2001:db8:1::9"));
        k.route_del(&r).unwrap();
        assert!(!shown(&k).iter().any(|l| l.contains("2001:db8:5::")));
    }

    #[test]
    fn address_removal_and_forwarding_change_the_routes() {
        let (mut k, e0, _) = router();
        k.net.addr6_del(e0, a("2001:db8:1::1"), 64).unwrap();
        assert!(!shown(&k).iter().any(|r| r.contains("2001:db8:1:")));
        k.sysctl_set("net.ipv6.conf.all.forwarding", "1").unwrap();
        assert!(shown(&k).contains(&"anycast 2001:db8:2::/128 t255 m0 dev Some(3)".to_string()));
        assert!(k.net.ipv6_forwarding(e0) && k.net.ipv6_is_router(e0) && !k.net.ipv6_accept_ra(e0));
        k.sysctl_set("net.ipv6.conf.eth0.accept_ra", "2").unwrap();
        assert!(k.net.ipv6_accept_ra(e0));
        k.sysctl_set("net.ipv6.conf.all.forwarding", "0").unwrap();
        assert!(!shown(&k).iter().any(|r| r.starts_with("anycast")));
    }

    #[test]
    fn output_routes_gateway_local_reject_and_unreachable() {
        let (mut k, e0, e1) = router();
        let gw = Route::new(ip("2001:db8:5::"), 64, Some(ip("2001:db8:1::9")), Some(e0));
        k.net.fib.insert(Route { metric: 1024, ..gw }).unwrap();
        let r = k.net.route_output6(a("2001:db8:5::7"), None, None).unwrap();
        assert_eq!((r.oif, r.next_hop, r.src), (e0, ip("2001:db8:1::9"), ip("2001:db8:1::1")));
        assert_eq!(r.mtu, 1500);
        let r = k.net.route_output6(a("2001:db8:2::7"), None, None).unwrap();
        assert_eq!((r.oif, r.next_hop, r.src), (e1, ip("2001:db8:2::7"), ip("2001:db8:2::1")));
        let r = k.net.route_output6(a("2001:db8:2::1"), None, None).unwrap();
        assert!(r.local && r.oif == 1);
        assert_eq!(k.net.route_output6(a("2001:db8:9::1"), None, None), Err(Errno::ENETUNREACH));
        for (kind, e) in [
            (RouteKind::Blackhole, Errno::EINVAL),
            (RouteKind::Unreachable, Errno::EHOSTUNREACH),
            (RouteKind::Prohibit, Errno::EACCES),
        ] {
            k.net.fib.replace(Route::of_kind(ip("2001:db8:9::"), 64, kind)).unwrap();
            assert_eq!(k.net.route_output6(a("2001:db8:9::1"), None, None), Err(e));
        }
        // A route `mtu` metric and a device's conf.mtu lower the path MTU.
        let mut m = Route::new(ip("2001:db8:6::"), 64, Some(ip("2001:db8:2::9")), Some(e1));
        m.mtu = 1400;
        k.net.fib.insert(m).unwrap();
        assert_eq!(k.net.route_output6(a("2001:db8:6::1"), None, None).unwrap().mtu, 1400);
        k.sysctl_set("net.ipv6.conf.eth1.mtu", "1300").unwrap();
        assert_eq!(k.net.route_output6(a("2001:db8:6::1"), None, None).unwrap().mtu, 1300);
        // Link-local destinations follow the bound device.
        let r = k.net.route_output6(a("fe80::9"), None, Some(e1)).unwrap();
        assert_eq!((r.oif, r.src), (e1, ip("fe80::ff:fe00:2")));
    }

    #[test]
    fn ecmp_spreads_flows_by_weight_and_keeps_each_on_one_path() {
        let (mut k, e0, e1) = router();
        let mut r = Route::new(ip("2001:db8:7::"), 64, None, None);
        r.nexthops = vec![
            NextHop { gateway: Some(ip("2001:db8:1::9")), oif: Some(e0), weight: 1 },
            NextHop { gateway: Some(ip("2001:db8:2::9")), oif: Some(e1), weight: 3 },
        ];
        k.net.fib.insert(r).unwrap();
        let mut n = [0u32; 4];
        for i in 0..4000u32 {
            let d = Ipv6Addr::from(0x2001_0db8_0007_0000_0000_0000_0000_0000u128 + u128::from(i));
            let r = k.net.route_output6(d, None, None).unwrap();
            assert_eq!(r, k.net.route_output6(d, None, None).unwrap());
            n[r.oif as usize] += 1;
        }
        assert!((800..1200).contains(&n[2]), "{n:?}");
        k.dev_set_up(0, e1, false).unwrap();
        let r = k.net.route_output6(a("2001:db8:7::5"), None, None).unwrap();
        assert_eq!(r.oif, e0);
    }

    #[test]
    fn policy_rules_select_tables() {
        let (mut k, e0, e1) = router();
        let mut t = Route::new(ip("::"), 0, Some(ip("2001:db8:2::9")), Some(e1));
        t.table = 100;
        k.net.fib.insert(t).unwrap();
        let mut main = Route::new(ip("::"), 0, Some(ip("2001:db8:1::9")), Some(e0));
        main.metric = 1024;
        k.net.fib.insert(main).unwrap();
        let mut rule = Rule::lookup(0, 100);
        rule.src = Some((ip("2001:db8:2::"), 64));
        k.net.fib.rule_add6(rule, None).unwrap();
        assert_eq!(
            k.net.fib.rules6().iter().map(|r| r.priority).collect::<Vec<_>>(),
            [0, 32765, 32766]
        );
        assert_eq!(k.net.fib.rules().len(), 3, "the IPv4 list is apart");
        let from = |s| k.net.route_output6(a("2001:db8:99::1"), Some(a(s)), None).unwrap().oif;
        assert_eq!((from("2001:db8:1::1"), from("2001:db8:2::1")), (e0, e1));
        let hit = k.net.route6_matched(a("2001:db8:99::1"), Some(a("2001:db8:2::1")), None, None);
        assert_eq!(hit.map(|r| r.table), Some(100));
        assert_eq!(RT_TABLE_LOCAL + RT_TABLE_MAIN, 509);
    }

    #[test]
    fn forwarding_purges_advertised_default_routers_but_on_accept_ra_2() {
        let (mut k, e0, e1) = router();
        for (i, r) in [(e0, "fe80::1"), (e1, "fe80::2")] {
            let d =
                crate::ipv6::router::DefaultRouter { addr: a(r), ifindex: i, expires: 600 * SEC };
            k.net.ipv6.routers.push(d);
        }
        k.net.fib6_sync();
        let defaults = |k: &Kernel| shown(k).iter().filter(|r| r.contains(" ::/0 ")).count();
        assert_eq!(defaults(&k), 2);
        k.sysctl_set("net.ipv6.conf.eth1.accept_ra", "2").unwrap();
        k.sysctl_set("net.ipv6.conf.all.forwarding", "1").unwrap();
        assert_eq!(defaults(&k), 1);
        assert_eq!(k.net.route_output6(a("2001:db8:99::1"), None, None).unwrap().oif, e1);
    }

    #[test]
    fn a_forwarding_device_listens_to_all_routers() {
        let (mut k, e0, e1) = router();
        let ff02_2 = a("ff02::2");
        k.sysctl_set("net.ipv6.conf.eth0.forwarding", "1").unwrap();
        assert!(k.net.ipv6.mld.joined(e0, ff02_2) && !k.net.ipv6.mld.joined(e1, ff02_2));
        k.sysctl_set("net.ipv6.conf.all.forwarding", "1").unwrap();
        k.sysctl_set("net.ipv6.conf.all.forwarding", "1").unwrap();
        assert!(k.net.ipv6.mld.joined(e1, ff02_2) && k.net.ipv6.mld.joined(e1, a("ff05::2")));
        k.sysctl_set("net.ipv6.conf.all.forwarding", "0").unwrap();
        assert!(!k.net.ipv6.mld.joined(e0, ff02_2) && !k.net.ipv6.mld.joined(e1, ff02_2));
    }

    #[test]
    fn source_by_rfc_6724_scope_rules() {
        let (k, e0, e1) = router();
        let src = |d: &str, o| k.net.source6(o, a(d));
        // Multicast: the group's scope decides, among the outgoing device's addresses.
        assert_eq!(src("ff02::1:2", e0), Some(a("fe80::ff:fe00:1")));
        assert_eq!(src("ff15::7:2", e0), Some(a("2001:db8:1::1")));
        assert_eq!(src("ff05::2", e1), Some(a("2001:db8:2::1")));
        // Link-local destination: the device's link-local address.
        assert_eq!(src("fe80::9", e1), Some(a("fe80::ff:fe00:2")));
        // Global destination: a global address; the outgoing device's (rule 5) before
        // a longer match elsewhere (rule 8), another device's when it has none.
        assert_eq!(src("2001:db8:2::9", e0), Some(a("2001:db8:1::1")));
        assert_eq!(src("2001:db8:2::9", 1), Some(a("2001:db8:2::1")));
    }

    #[test]
    fn device_down_flushes_its_routes() {
        let (mut k, e0, _) = router();
        k.net
            .fib
            .insert(Route::new(ip("2001:db8:5::"), 64, Some(ip("2001:db8:1::9")), Some(e0)))
            .unwrap();
        k.dev_set_up(0, e0, false).unwrap();
        assert!(!k.net.fib.routes6().iter().any(|r| r.oif == Some(e0)));
    }
}
