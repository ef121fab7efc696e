//! IPv6 address configuration (Linux `addrconf.c`, RFC 4862): the link-local address
//! of an Ethernet device from its MAC (`addr_gen_mode` eui64), manual addresses, and
//! duplicate address detection for both — an address stays tentative (unusable) until
//! `dad_transmits` solicitations went unanswered for a retrans time each, and is marked
//! `dadfailed` if another node owns it.

use super::defaults::{RETRANS_TIME, RTR_SOLICIT_DELAY};
use super::ndisc;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::sysctl::ipv6::Knob;
use crate::wire::ipv6::{eui64, is_link_local, solicited_node, with_iid};
use crate::{DevFlags, Errno, Nanos, SysResult};
use std::net::Ipv6Addr;

/// An address's DAD state (`IFA_F_TENTATIVE`, `IFA_F_DADFAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrState {
    Tentative,
    Preferred,
    DadFailed,
}

/// An IPv6 address on an interface (`struct inet6_ifaddr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ifaddr6 {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub state: AddrState,
    /// Not from a router advertisement (IFA_F_PERMANENT): configured, link-local or
    /// loopback.
    pub permanent: bool,
    /// Configured with `nodad` (IFA_F_NODAD).
    pub nodad: bool,
    /// Solicitations still to send before the address is preferred.
    dad_left: u8,
    /// End of the valid lifetime of an autoconfigured address (None: forever).
    pub valid_until: Option<Nanos>,
    /// End of its preferred lifetime: afterwards it is `deprecated` (RFC 4862 §5.5.4).
    pub preferred_until: Option<Nanos>,
}

/// An address's lifetimes: (valid until, preferred until); None is forever.
pub type Lifetimes = (Option<Nanos>, Option<Nanos>);

impl Ifaddr6 {
    /// Past its preferred lifetime (IFA_F_DEPRECATED).
    pub fn deprecated(&self, now: Nanos) -> bool {
        self.preferred_until.is_some_and(|p| p <= now)
    }
}

impl Net {
    /// `ip -6 addr add`: the address is tentative while DAD runs (`addrconf_dad_start`).
    pub fn addr6_add(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
    ) -> SysResult<()> {
        self.addr6_add_flags(now, ifindex, addr, prefix_len, false)
    }

    /// `addr6_add` with `nodad` (IFA_F_NODAD): usable at once.
    pub fn addr6_add_flags(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
        nodad: bool,
    ) -> SysResult<()> {
        if prefix_len > 128 || addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
            return Err(Errno::EINVAL);
        }
        self.devs.get(ifindex).ok_or(Errno::ENODEV)?;
        if self.ipv6.find(ifindex, addr).is_some() {
            return Err(Errno::EEXIST);
        }
        self.addr6_insert(now, ifindex, addr, prefix_len, true, (None, None));
        if nodad {
            if let Some(f) = self.addr6_mut(ifindex, addr) {
                f.nodad = true;
            }
            self.ipv6.timers.retain(|t| (t.1, t.2) != (ifindex, addr));
            self.dad_done(now, ifindex, addr);
        }
        self.fib.invalidate();
        self.fib6_sync();
        Ok(())
    }

    /// An address formed from an advertised prefix (`addrconf_prefix_rcv_add_addr`).
    pub(crate) fn addr6_autoconf(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
        lifetimes: Lifetimes,
    ) {
        self.addr6_insert(now, ifindex, addr, prefix_len, false, lifetimes);
    }

    /// `ip -6 addr del`.
    pub fn addr6_del(&mut self, ifindex: IfIndex, addr: Ipv6Addr, prefix_len: u8) -> SysResult<()> {
        let v = self.ipv6.addrs.get_mut(&ifindex).ok_or(Errno::EADDRNOTAVAIL)?;
        let i = v
            .iter()
            .position(|f| f.addr == addr && f.prefix_len == prefix_len)
            .ok_or(Errno::EADDRNOTAVAIL)?;
        v.remove(i);
        self.ipv6.timers.retain(|t| (t.1, t.2) != (ifindex, addr));
        self.fib.invalidate();
        self.fib6_sync();
        Ok(())
    }

    fn addr6_insert(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
        permanent: bool,
        (valid_until, preferred_until): Lifetimes,
    ) {
        let f = Ifaddr6 {
            addr,
            prefix_len,
            state: AddrState::Tentative,
            permanent,
            nodad: false,
            dad_left: self.dad_transmits(ifindex),
            valid_until,
            preferred_until,
        };
        self.ipv6.addrs.entry(ifindex).or_default().push(f);
        if self.devs.get(ifindex).is_some_and(|d| d.is_running()) {
            self.dad_start(now, ifindex, addr);
        }
    }

    /// `addrconf_dad_kick`: the first probe after a random delay below
    /// rtr_solicit_delay. Devices without neighbour discovery (loopback, NOARP,
    /// point-to-point) skip DAD (`addrconf_dad_begin`: IFF_NOARP).
    fn dad_start(&mut self, now: Nanos, ifindex: IfIndex, addr: Ipv6Addr) {
        // `addrconf_dad_begin` → `addrconf_join_solict`.
        self.mld_join(now, ifindex, solicited_node(addr));
        let nd = self.devs.get(ifindex).is_some_and(|d| d.needs_arp());
        // `addrconf_dad_begin`: accept_dad < 1 on both `all` and the device skips DAD.
        let accept_dad = self.sysctl.ipv6.conf_all.get(Knob::AcceptDad) >= 1
            || self.conf6(ifindex).get(Knob::AcceptDad) >= 1;
        if !nd || !accept_dad || self.dad_transmits(ifindex) == 0 {
            self.dad_done(now, ifindex, addr);
            return;
        }
        let delay = Nanos::from(self.rng.range_u32(0, (RTR_SOLICIT_DELAY / 1_000_000) as u32 - 1))
            * 1_000_000;
        self.ipv6.timers.insert((now + delay, ifindex, addr));
    }

    /// `addrconf_dad_completed`: the address is usable; a usable link-local address
    /// starts router solicitation.
    fn dad_done(&mut self, now: Nanos, ifindex: IfIndex, addr: Ipv6Addr) {
        if let Some(f) = self.addr6_mut(ifindex, addr) {
            f.state = AddrState::Preferred;
            tracing::debug!(target: "libos::ipv6", ifindex, %addr, "dad complete");
            if is_link_local(addr) {
                self.router_solicit_start(now, ifindex);
            }
        }
    }

    /// `dad_transmits` of the device (`ifp->dad_probes`), at most 255 here.
    fn dad_transmits(&self, ifindex: IfIndex) -> u8 {
        self.conf6(ifindex).get(Knob::DadTransmits).clamp(0, 255) as u8
    }

    pub(super) fn addr6_mut(&mut self, ifindex: IfIndex, addr: Ipv6Addr) -> Option<&mut Ifaddr6> {
        self.ipv6.addrs.get_mut(&ifindex)?.iter_mut().find(|f| f.addr == addr)
    }

    /// `addrconf_dad_failure`: another node answered for, or probes, our tentative
    /// address. It stays listed with `dadfailed` and is never used.
    pub(crate) fn dad_failure(&mut self, ifindex: IfIndex, addr: Ipv6Addr) {
        let Some(f) = self.addr6_mut(ifindex, addr) else { return };
        if f.state != AddrState::Tentative {
            return;
        }
        f.state = AddrState::DadFailed;
        self.ipv6.mib.dad_failures += 1;
        self.ipv6.timers.retain(|t| (t.1, t.2) != (ifindex, addr));
        tracing::info!(target: "libos::ipv6", ifindex, %addr, "duplicate address detected");
        self.fib.invalidate();
        self.fib6_sync();
    }

    /// Fires due DAD timers (`addrconf_dad_work`): send the next probe, or declare the
    /// address preferred one retrans time after the last.
    pub(crate) fn addrconf_advance(&mut self, now: Nanos) {
        let mut changed = false;
        while let Some(&t) = self.ipv6.timers.first() {
            if t.0 > now {
                break;
            }
            changed = true;
            self.ipv6.timers.pop_first();
            let (_, ifindex, addr) = t;
            let Some(f) = self.addr6_mut(ifindex, addr) else { continue };
            if f.state != AddrState::Tentative {
                continue;
            }
            if f.dad_left == 0 {
                self.dad_done(now, ifindex, addr);
                continue;
            }
            f.dad_left -= 1;
            ndisc::send_dad_probe(now, self, ifindex, addr);
            self.ipv6.timers.insert((now + RETRANS_TIME, ifindex, addr));
        }
        changed |= self.router_advance(now);
        self.mld_advance(now);
        if changed {
            self.fib.invalidate();
            self.fib6_sync();
        }
    }

    /// Device up, down or carrier change (`addrconf_notify`): an Ethernet device that
    /// runs gets its link-local address (and DAD restarts for the others); a device that
    /// goes down loses its IPv6 addresses (`addrconf_ifdown`, keep_addr_on_down 0).
    pub(crate) fn addrconf_dev_changed(&mut self, now: Nanos, ifindex: IfIndex) {
        let Some(dev) = self.devs.get(ifindex) else { return };
        if !dev.flags.contains(DevFlags::UP) {
            self.ipv6.forget_dev(ifindex);
            // `rt6_sync_down_dev`: every IPv6 route through the device goes; a
            // multipath route loses that path only.
            self.fib.update6(|r| {
                let n = r.nexthops.len();
                r.nexthops.retain(|h| h.oif != Some(ifindex));
                if n > 1 && r.nexthops.len() == 1 {
                    let h = r.nexthops.remove(0);
                    (r.gateway, r.oif) = (h.gateway, h.oif);
                }
                n != r.nexthops.len()
            });
            self.fib.retain6(|r| {
                r.oif != Some(ifindex)
                    && (r.oif.is_some()
                        || !r.nexthops.is_empty()
                        || r.kind != crate::route::RouteKind::Unicast)
            });
            self.fib6_sync();
            return;
        }
        if !dev.is_running() {
            return;
        }
        let (mac, ethernet) = (dev.mac, dev.needs_arp());
        // `init_loopback`: ::1/128 on lo, usable at once.
        if dev.is_loopback() && self.ipv6.find(ifindex, Ipv6Addr::LOCALHOST).is_none() {
            let lo = Ipv6Addr::LOCALHOST;
            self.addr6_insert(now, ifindex, lo, 128, true, (None, None));
            self.dad_done(now, ifindex, lo);
        }
        let link_local = with_iid(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), eui64(mac));
        if ethernet && self.ipv6.find(ifindex, link_local).is_none() {
            // `addrconf_addr_gen`: the link-local address comes first in the list.
            let dad_left = self.dad_transmits(ifindex);
            self.ipv6.addrs.entry(ifindex).or_default().insert(
                0,
                Ifaddr6 {
                    addr: link_local,
                    prefix_len: 64,
                    state: AddrState::Tentative,
                    permanent: true,
                    nodad: false,
                    dad_left,
                    valid_until: None,
                    preferred_until: None,
                },
            );
        }
        // Addresses added while the link was not running start DAD now.
        let waiting: Vec<Ipv6Addr> = self.ipv6.addrs.get(&ifindex).map_or(vec![], |v| {
            v.iter().filter(|f| f.state == AddrState::Tentative).map(|f| f.addr).collect()
        });
        for a in waiting {
            if !self.ipv6.timers.iter().any(|t| (t.1, t.2) == (ifindex, a)) {
                self.dad_start(now, ifindex, a);
            }
        }
        self.fib6_sync();
    }
}
