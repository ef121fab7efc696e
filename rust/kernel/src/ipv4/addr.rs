//! Interface addresses and the routes they imply (Linux `devinet.c` and
//! `fib_frontend.c` `fib_add_ifaddr`/`fib_del_ifaddr`/`fib_netdev_event`).
//!
//! For `a/len` on an up device the kernel keeps: `local a` (table local, scope host),
//! `broadcast <net|~mask>` when len < 31 (table local, scope link), and the connected
//! route `<net>/len dev D proto kernel scope link src a` (table main; on a loopback
//! device the prefix is itself `local`). A second address in a subnet the device already
//! has (same prefix length) is secondary: it gets only its `local` route, with the
//! primary as source; deleting the primary deletes its secondaries
//! (`promote_secondaries` = 0, Linux's default). These are derived state, rebuilt on
//! every address or device change; a device going down keeps only its `local` routes,
//! loses its static ones, and multipath routes whose every nexthop is on a down device.

use crate::dev::{IfIndex, Ifaddr4, prefix_mask};
use crate::net::Net;
use crate::route::{
    RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KERNEL, Route, RouteKind,
};
use crate::{DevFlags, Errno, Nanos, SysResult};
use std::net::{IpAddr, Ipv4Addr};

impl Net {
    /// Adds `addr/prefix_len` with the broadcast address derived from the mask, as
    /// `SIOCSIFADDR` does (`devinet_ioctl`); see [`Net::ifaddr_add`].
    pub fn addr_add(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: IpAddr,
        prefix_len: u8,
    ) -> SysResult<()> {
        let IpAddr::V4(a) = addr else { return Err(Errno::EAFNOSUPPORT) };
        let broadcast = (prefix_len < 31)
            .then(|| Ipv4Addr::from(u32::from(a) | !prefix_mask(prefix_len.min(32))));
        self.ifaddr_add(now, ifindex, Ifaddr4 { addr: a, prefix_len, peer: None, broadcast })
    }

    /// `ip addr add` (`inet_rtm_newaddr`, which sets a broadcast address only when asked
    /// for one): also adds the local, broadcast and connected routes and announces the
    /// address with a gratuitous ARP.
    pub fn ifaddr_add(&mut self, _now: Nanos, ifindex: IfIndex, ifa: Ifaddr4) -> SysResult<()> {
        let (a, prefix_len) = (ifa.addr, ifa.prefix_len);
        if prefix_len > 32 || a.is_multicast() || a.is_broadcast() || a.is_unspecified() {
            return Err(Errno::EINVAL);
        }
        let dev = self.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        if dev.addrs4.iter().any(|x| x.addr == a && x.prefix_len == prefix_len) {
            return Err(Errno::EEXIST);
        }
        // `__inet_insert_ifa`: a secondary goes last, a primary right after the last
        // primary of the same or a narrower scope.
        let at = if primary_of(&dev.addrs4, &ifa).is_some() {
            dev.addrs4.len()
        } else {
            let scope = crate::netlink::addr::scope_of(a);
            let list = &dev.addrs4;
            (0..list.len())
                .filter(|&i| primary_of(&list[..i], &list[i]).is_none())
                .rfind(|&i| scope <= crate::netlink::addr::scope_of(list[i].addr))
                .map_or(0, |i| i + 1)
        };
        dev.addrs4.insert(at, ifa);
        self.fib.invalidate();
        let announce = dev.is_running() && dev.needs_arp();
        self.rebuild_kernel_routes();
        if announce {
            super::arp::gratuitous(self, ifindex, a);
        }
        Ok(())
    }

    /// `ip addr del`: EADDRNOTAVAIL if absent. Routes preferring the address go with
    /// it; a device left without addresses loses all its routes (`fib_disable_ip`).
    pub fn addr_del(
        &mut self,
        _now: Nanos,
        ifindex: IfIndex,
        addr: IpAddr,
        prefix_len: u8,
    ) -> SysResult<()> {
        let IpAddr::V4(a) = addr else { return Err(Errno::EAFNOSUPPORT) };
        let dev = self.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        let i = dev
            .addrs4
            .iter()
            .position(|x| x.addr == a && x.prefix_len == prefix_len)
            .ok_or(Errno::EADDRNOTAVAIL)?;
        let gone = dev.addrs4.remove(i);
        // `inet_del_ifa` without promote_secondaries: a primary takes its secondaries.
        let mut removed = vec![IpAddr::V4(a)];
        if primary_of(&dev.addrs4[..i], &gone).is_none() {
            dev.addrs4.retain(|x| {
                let secondary = x.prefix_len == gone.prefix_len && gone.contains(x.addr);
                if secondary {
                    removed.push(IpAddr::V4(x.addr));
                }
                !secondary
            });
        }
        self.fib.invalidate();
        let empty = dev.addrs4.is_empty();
        self.fib.retain(|r| {
            let gone_src = r.src.is_some_and(|s| removed.contains(&s));
            !(gone_src || empty && r.oif == Some(ifindex))
        });
        self.rebuild_kernel_routes();
        Ok(())
    }

    /// `ip route add`. The gateway must be on a connected network (ENETUNREACH
    /// otherwise), which also picks the device when none is given.
    pub fn route_add(&mut self, route: Route) -> SysResult<()> {
        let route = self.route_check(route)?;
        self.fib.insert(route)
    }

    /// `ip route replace`: as `route_add`, but takes the place of a route with the same
    /// prefix, table and metric.
    pub fn route_replace(&mut self, route: Route) -> SysResult<()> {
        let route = self.route_check(route)?;
        self.fib.replace(route)
    }

    /// `fib_create_info` checks; fills in the device of a gateway route.
    pub(crate) fn route_check(&self, mut route: Route) -> SysResult<Route> {
        if !matches!(route.dst, IpAddr::V4(_)) {
            return Err(Errno::EAFNOSUPPORT);
        }
        if let Some(o) = route.oif {
            self.devs.get(o).ok_or(Errno::ENODEV)?;
        }
        if route.kind == RouteKind::Unicast {
            if route.nexthops.is_empty() {
                route.oif = Some(self.nexthop_check(route.gateway, route.oif)?);
            }
            for nh in route.nexthops.iter_mut() {
                if !(1..=256).contains(&nh.weight) {
                    return Err(Errno::EINVAL);
                }
                nh.oif = Some(self.nexthop_check(nh.gateway, nh.oif)?);
            }
        }
        Ok(route)
    }

    /// `fib_check_nh`: the device of one path — the gateway must resolve through a
    /// link-scope route, the device must be up.
    fn nexthop_check(&self, gw: Option<IpAddr>, oif: Option<IfIndex>) -> SysResult<IfIndex> {
        if let Some(o) = oif {
            self.devs.get(o).ok_or(Errno::ENODEV)?;
        }
        let oif = match gw {
            Some(gw) => {
                let IpAddr::V4(g) = gw else { return Err(Errno::EINVAL) };
                if g.is_multicast() || g.is_broadcast() || g.is_unspecified() {
                    return Err(Errno::EINVAL);
                }
                // `fib_check_nh_v4_gw`: the gateway resolves through a link-scope route,
                // or is one of our own addresses (RTN_LOCAL: the path gets host scope).
                self.fib
                    .lookup(gw, oif, |i| {
                        self.devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP))
                    })
                    .filter(|r| {
                        (r.kind == RouteKind::Unicast && r.gateway.is_none())
                            || r.kind == RouteKind::Local
                    })
                    .and_then(|r| r.oif)
                    .ok_or(Errno::ENETUNREACH)?
            }
            None => oif.ok_or(Errno::ENODEV)?,
        };
        if !self.devs.get(oif).is_some_and(|d| d.flags.contains(DevFlags::UP)) {
            return Err(Errno::ENETDOWN);
        }
        Ok(oif)
    }

    pub fn route_del(&mut self, route: &Route) -> SysResult<()> {
        self.fib.remove(route).map(|_| ())
    }

    /// Called when a device goes up/down or changes carrier or MTU: a down device loses
    /// its routes and neighbours (`fib_disable_ip`, `neigh_ifdown`); an up device gets
    /// its address routes back and announces its addresses.
    pub fn dev_changed(&mut self, now: Nanos, ifindex: IfIndex) {
        self.fib.invalidate();
        let Some(dev) = self.devs.get(ifindex) else { return };
        let up = dev.flags.contains(DevFlags::UP);
        let running = dev.is_running();
        let announce: Vec<Ipv4Addr> = if running && dev.needs_arp() {
            dev.addrs4.iter().map(|a| a.addr).collect()
        } else {
            vec![]
        };
        if !up {
            // `fib_sync_down_dev`: routes through the device go; a multipath route
            // goes when none of its nexthops is left on an up device.
            let devs = &self.devs;
            let alive = |i: Option<IfIndex>| {
                i.is_some_and(|i| devs.get(i).is_some_and(|d| d.flags.contains(DevFlags::UP)))
            };
            self.fib.retain(|r| {
                r.oif != Some(ifindex)
                    && (r.nexthops.is_empty() || r.nexthops.iter().any(|n| alive(n.oif)))
            });
        }
        if !running {
            self.neigh.flush_dev(ifindex);
        }
        let had = self.fib.routes().any(|r| r.protocol == RTPROT_KERNEL && r.oif == Some(ifindex));
        self.rebuild_kernel_routes();
        if !had && up {
            for a in announce {
                super::arp::gratuitous(self, ifindex, a);
            }
        }
        self.addrconf_dev_changed(now, ifindex);
    }

    /// Re-derives every kernel route from the addresses: all of them on up devices,
    /// only the `local` ones on down devices (`fib_add_ifaddr` adds those first, and
    /// `fib_sync_down_dev` spares host-scope nexthops when a device goes down).
    fn rebuild_kernel_routes(&mut self) {
        self.fib.retain(|r| r.protocol != RTPROT_KERNEL);
        let mut routes = Vec::new();
        for dev in self.devs.iter() {
            let up = dev.flags.contains(DevFlags::UP);
            let lo = dev.is_loopback();
            for (i, ifa) in dev.addrs4.iter().enumerate() {
                // `fib_add_ifaddr`: a secondary's routes carry its primary's address.
                let primary = primary_of(&dev.addrs4[..i], ifa);
                let src = Some(IpAddr::V4(primary.map_or(ifa.addr, |p| p.addr)));
                let kroute =
                    |dst: Ipv4Addr, len: u8, kind: RouteKind, table: u32, scope: u8| Route {
                        dst: IpAddr::V4(dst),
                        prefix_len: len,
                        gateway: None,
                        oif: Some(dev.ifindex),
                        src,
                        metric: 0,
                        kind,
                        protocol: RTPROT_KERNEL,
                        scope,
                        table,
                        nexthops: Vec::new(),
                        expires: None,
                        mtu: 0,
                    };
                routes.push(kroute(ifa.addr, 32, RouteKind::Local, RT_TABLE_LOCAL, RT_SCOPE_HOST));
                if !up {
                    continue;
                }
                // `fib_add_ifaddr`: the configured broadcast address; for a primary also
                // the subnet's broadcast and prefix routes (a secondary shares them).
                let subnet_brd = (ifa.prefix_len < 31 && primary.is_none())
                    .then(|| Ipv4Addr::from(u32::from(ifa.addr) | !prefix_mask(ifa.prefix_len)));
                let configured =
                    ifa.broadcast.filter(|&b| !b.is_broadcast() && Some(b) != subnet_brd);
                for b in subnet_brd.into_iter().chain(configured) {
                    routes.push(kroute(b, 32, RouteKind::Broadcast, RT_TABLE_LOCAL, RT_SCOPE_LINK));
                }
                if primary.is_none() && (ifa.prefix_len < 32 || ifa.peer.is_some()) {
                    let net = ifa.network();
                    let r = if lo {
                        kroute(net, ifa.prefix_len, RouteKind::Local, RT_TABLE_LOCAL, RT_SCOPE_HOST)
                    } else {
                        kroute(
                            net,
                            ifa.prefix_len,
                            RouteKind::Unicast,
                            RT_TABLE_MAIN,
                            RT_SCOPE_LINK,
                        )
                    };
                    routes.push(r);
                }
            }
        }
        for r in routes {
            let _ = self.fib.append(r);
        }
    }
}

/// The primary of `ifa` among the addresses before it (`inet_ifa_byprefix`): the first
/// with the same prefix length covering it. None: `ifa` is itself a primary.
fn primary_of<'a>(before: &'a [Ifaddr4], ifa: &Ifaddr4) -> Option<&'a Ifaddr4> {
    before.iter().find(|p| p.prefix_len == ifa.prefix_len && p.contains(ifa.addr))
}

#[cfg(test)]
#[path = "addr_tests.rs"]
mod tests;
