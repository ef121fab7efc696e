//! Router discovery and stateless address autoconfiguration (RFC 4861 §6.3, RFC 4862
//! §5.5; Linux `ndisc_router_discovery`, `addrconf_prefix_rcv`, `addrconf_rs_timer`):
//! router solicitations once the link-local address is usable, default routers and
//! on-link prefixes learned from advertisements with their lifetimes, and an address
//! formed from every autonomous /64 prefix and the interface identifier.

use super::ndisc::{self, NdRx};
use crate::dev::IfIndex;
use crate::net::Net;
use crate::sysctl::ipv6::Knob;
use crate::wire::EthernetAddress;
use crate::wire::icmpv6::PrefixInfo;
use crate::wire::ipv6::{is_link_local, with_iid};
use crate::{DevFlags, Nanos};
use std::net::Ipv6Addr;

const SEC: Nanos = 1_000_000_000;
/// Solicitations at the base interval before RFC 7559 backoff (RFC 4861
/// MAX_RTR_SOLICITATIONS).
const RTR_SOLICITS: u8 = 3;
/// Bounds against a flood of forged advertisements (counted in `ra_dropped`): Linux's
/// `max_addresses` (16 autoconfigured addresses per interface), and as many default
/// routers and on-link prefixes per namespace.
const MAX_AUTOCONF_ADDRS: usize = 16;
const MAX_LEARNED: usize = 64;
/// RFC 4862 §5.5.3 (e): a prefix's valid lifetime is not cut below two hours by an
/// unauthenticated advertisement.
const MIN_VALID_CUT: Nanos = 7200 * SEC;

/// A default router learned from an advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultRouter {
    pub addr: Ipv6Addr,
    pub ifindex: IfIndex,
    pub expires: Nanos,
}

/// An on-link prefix learned from an advertisement (`ip -6 route` proto ra).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnLinkPrefix {
    pub prefix: Ipv6Addr,
    pub len: u8,
    pub ifindex: IfIndex,
    /// None: infinite.
    pub expires: Option<Nanos>,
}

/// Per-device router-discovery state.
#[derive(Debug, Clone, Copy, Default)]
pub struct RsState {
    /// Next solicitation, while no advertisement has arrived.
    pub next: Option<Nanos>,
    pub sent: u8,
    /// Current hop limit from advertisements (0: the default).
    pub hop_limit: u8,
    /// The device listens to the all-routers groups (it forwards).
    pub all_routers: bool,
}

/// The all-routers groups a forwarding device joins (`dev_forward_change`): link- and
/// site-local (the interface-local one is never reported).
const ALL_ROUTERS: [Ipv6Addr; 2] =
    [Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2), Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, 2)];

fn lifetime(now: Nanos, secs: u32) -> Option<Nanos> {
    (secs != u32::MAX).then(|| now + Nanos::from(secs) * SEC)
}

impl Net {
    /// Whether `ifindex` takes advertisements: `accept_ra` 1 on a host (not forwarding),
    /// 2 always (`ipv6_accept_ra`).
    fn accepts_ra(&self, ifindex: IfIndex) -> bool {
        self.devs.get(ifindex).is_some_and(|d| d.needs_arp()) && self.ipv6_accept_ra(ifindex)
    }

    /// `router_solicitations` (-1: unlimited, RFC 7559 backoff) and the interval
    /// after `sent` solicitations (`rtr_solicit_interval`, doubling up to
    /// `rtr_solicit_max_interval` once past the first three when unlimited).
    fn rs_schedule(&self, ifindex: IfIndex, sent: u8) -> Option<Nanos> {
        let c = self.conf6(ifindex);
        let limit = c.get(Knob::RouterSolicitations);
        if limit >= 0 && i64::from(sent) >= limit {
            return None;
        }
        let base = c.get(Knob::RouterSolicitationInterval).max(1) as u64;
        let max = c.get(Knob::RouterSolicitationMaxInterval).max(1) as u64;
        let secs = match limit {
            -1 if sent >= RTR_SOLICITS => {
                (base << u32::from(sent - RTR_SOLICITS + 1).min(20)).min(max.max(base))
            }
            _ => base,
        };
        Some(secs * SEC)
    }

    /// The link-local address of `ifindex` became usable: start soliciting routers
    /// (`addrconf_dad_completed` → `addrconf_rs_timer`).
    pub(crate) fn router_solicit_start(&mut self, now: Nanos, ifindex: IfIndex) {
        if !self.accepts_ra(ifindex) || self.conf6(ifindex).get(Knob::RouterSolicitations) == 0 {
            return;
        }
        let s = self.ipv6.rs.entry(ifindex).or_default();
        *s = RsState { next: Some(now), sent: 0, ..*s };
        if self.router_advance(now) {
            self.fib6_sync();
        }
    }

    /// `dev_forward_change`: devices that forward join the all-routers groups (an MLD
    /// report each), those that stop leave them.
    pub(crate) fn router_groups_sync(&mut self, now: Nanos) {
        let devs: Vec<(IfIndex, bool)> = self
            .devs
            .iter()
            .filter(|d| d.flags.contains(DevFlags::MULTICAST))
            .map(|d| {
                let on = d.is_running() && d.conf6.get(Knob::DisableIpv6) == 0;
                (d.ifindex, on && d.conf6.get(Knob::Forwarding) != 0)
            })
            .collect();
        for (i, want) in devs {
            let have = self.ipv6.rs.get(&i).is_some_and(|s| s.all_routers);
            if want == have {
                continue;
            }
            for g in ALL_ROUTERS {
                if want {
                    let _ = self.ipv6_mc_join(now, i, g);
                } else {
                    self.ipv6_mc_leave(now, i, g);
                }
            }
            self.ipv6.rs.entry(i).or_default().all_routers = want;
        }
    }

    /// Due solicitations and expired routers, prefixes and autoconfigured addresses;
    /// true if something expired.
    pub(crate) fn router_advance(&mut self, now: Nanos) -> bool {
        let due: Vec<IfIndex> = self
            .ipv6
            .rs
            .iter()
            .filter(|(_, s)| s.next.is_some_and(|t| t <= now))
            .map(|(&i, _)| i)
            .collect();
        for i in due {
            let Some(sent) = self.ipv6.rs.get(&i).map(|s| s.sent.saturating_add(1)) else {
                continue;
            };
            let next = self.rs_schedule(i, sent).map(|d| now + d);
            if let Some(s) = self.ipv6.rs.get_mut(&i) {
                (s.sent, s.next) = (sent, next);
            }
            ndisc::send_rs(now, self, i);
        }
        let count = |n: &Net| {
            n.ipv6.routers.len()
                + n.ipv6.prefixes.len()
                + n.ipv6.addrs.values().map(Vec::len).sum::<usize>()
        };
        let before = count(self);
        self.ipv6.routers.retain(|r| r.expires > now);
        self.ipv6.prefixes.retain(|p| p.expires.is_none_or(|e| e > now));
        for v in self.ipv6.addrs.values_mut() {
            v.retain(|f| f.valid_until.is_none_or(|e| e > now));
        }
        count(self) != before
    }

    /// `ndisc_router_discovery` (RFC 4861 §6.1.2 checks: link-local source).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn router_advert(
        &mut self,
        now: Nanos,
        rx: &NdRx,
        hop_limit: u8,
        router_lifetime: u16,
        lladdr: Option<EthernetAddress>,
        mtu: Option<u32>,
        prefixes: &[Option<PrefixInfo>; 4],
    ) {
        if !is_link_local(rx.src) {
            self.ipv6.mib.ndisc_dropped += 1;
            return;
        }
        if !self.accepts_ra(rx.ifindex) {
            return;
        }
        let i = rx.ifindex;
        let conf = self.conf6(i).clone();
        let s = self.ipv6.rs.entry(i).or_default();
        s.next = None;
        // `accept_ra_min_hop_limit`: a lower advertised hop limit is ignored; an accepted
        // one becomes the device's `hop_limit`.
        if hop_limit != 0 && i64::from(hop_limit) >= conf.get(Knob::AcceptRaMinHopLimit) {
            s.hop_limit = hop_limit;
            if let Some(d) = self.devs.get_mut(i) {
                d.conf6.set(Knob::HopLimit, i64::from(hop_limit));
            }
        }
        // `accept_ra_defrtr` 0: the router lifetime is ignored.
        let known = self.ipv6.routers.iter().position(|r| (r.addr, r.ifindex) == (rx.src, i));
        let router_lifetime = if conf.get(Knob::AcceptRaDefrtr) == 0 {
            known.map_or(0, |k| {
                let left = self.ipv6.routers[k].expires.saturating_sub(now) / SEC;
                left.clamp(1, u64::from(u16::MAX)) as u16
            })
        } else {
            router_lifetime
        };
        match (known, router_lifetime) {
            (Some(k), 0) => {
                self.ipv6.routers.remove(k);
            }
            (Some(k), l) => self.ipv6.routers[k].expires = now + Nanos::from(l) * SEC,
            (None, 0) => {}
            (None, _) if self.ipv6.routers.len() >= MAX_LEARNED => self.ipv6.mib.ra_dropped += 1,
            (None, l) => self.ipv6.routers.push(DefaultRouter {
                addr: rx.src,
                ifindex: i,
                expires: now + Nanos::from(l) * SEC,
            }),
        }
        if let Some(mac) = lladdr {
            ndisc::learn(now, self, i, rx.src, mac, false, true);
        }
        // RFC 4861 §6.3.4: an MTU option below the minimum or above the link's is ignored;
        // an accepted one becomes the device's `mtu` (`accept_ra_mtu`).
        if let Some(m) = mtu.filter(|&m| m >= 1280 && conf.get(Knob::AcceptRaMtu) != 0)
            && let Some(d) = self.devs.get_mut(i).filter(|d| m <= d.mtu)
        {
            d.conf6.set(Knob::Mtu, i64::from(m));
            self.ipv6.mtu.insert(i, m);
        }
        if conf.get(Knob::AcceptRaPinfo) != 0 {
            for p in prefixes.iter().flatten() {
                self.prefix_rcv(now, i, p);
            }
        }
        self.fib6_sync();
    }

    /// `addrconf_prefix_rcv`: the on-link route and the autonomous address.
    fn prefix_rcv(&mut self, now: Nanos, ifindex: IfIndex, p: &PrefixInfo) {
        if is_link_local(p.prefix) || p.prefix.is_multicast() || p.prefix_len > 128 {
            return;
        }
        if p.preferred_lifetime > p.valid_lifetime {
            return;
        }
        if p.on_link {
            let known =
                self.ipv6.prefixes.iter().position(|q| {
                    (q.prefix, q.len, q.ifindex) == (p.prefix, p.prefix_len, ifindex)
                });
            let expires = lifetime(now, p.valid_lifetime);
            match (known, p.valid_lifetime) {
                (Some(k), 0) => {
                    self.ipv6.prefixes.remove(k);
                }
                (Some(k), _) => self.ipv6.prefixes[k].expires = expires,
                (None, 0) => {}
                (None, _) if self.ipv6.prefixes.len() >= MAX_LEARNED => {
                    self.ipv6.mib.ra_dropped += 1
                }
                (None, _) => self.ipv6.prefixes.push(OnLinkPrefix {
                    prefix: p.prefix,
                    len: p.prefix_len,
                    ifindex,
                    expires,
                }),
            }
        }
        // RFC 4862 §5.5.3: autonomous prefixes of the interface identifier's length, on a
        // device with `autoconf`.
        let autoconf = self.conf6(ifindex).get(Knob::Autoconf) != 0;
        if !p.autonomous || !autoconf || p.prefix_len != 64 || p.valid_lifetime == 0 {
            return;
        }
        if !self.devs.get(ifindex).is_some_and(|d| d.flags.contains(DevFlags::UP)) {
            return;
        }
        let Some((iid, stable)) = self.gen_iid(ifindex, p.prefix, true) else { return };
        let addr = with_iid(p.prefix, iid.to_be_bytes());
        let valid = lifetime(now, p.valid_lifetime);
        let preferred = lifetime(now, p.preferred_lifetime);
        match self.addr6_mut(ifindex, addr) {
            Some(f) if !f.permanent => {
                // §5.5.3 (e): the preferred lifetime is reset to the advertised one.
                f.preferred_until = preferred;
                // §5.5.3 (e): accept a longer lifetime, or one above two hours, or one
                // that does not shorten the remaining time below two hours.
                let remaining = f.valid_until.map_or(Nanos::MAX, |e| e.saturating_sub(now));
                let new = valid.map_or(Nanos::MAX, |e| e - now);
                if new > MIN_VALID_CUT || new > remaining {
                    f.valid_until = valid;
                } else if remaining > MIN_VALID_CUT {
                    f.valid_until = Some(now + MIN_VALID_CUT);
                }
            }
            Some(_) => {}
            None => {
                let auto = self
                    .ipv6
                    .addrs
                    .get(&ifindex)
                    .map_or(0, |v| v.iter().filter(|f| !f.permanent).count());
                if auto >= MAX_AUTOCONF_ADDRS {
                    self.ipv6.mib.ra_dropped += 1;
                    return;
                }
                self.addr6_autoconf(now, ifindex, addr, 64, (valid, preferred));
                if let Some(f) = self.addr6_mut(ifindex, addr) {
                    f.stable = stable;
                }
            }
        }
    }

    /// The hop limit for packets out of `ifindex` (an advertised one, or `hop_limit`).
    pub(crate) fn hop_limit6(&self, ifindex: IfIndex) -> u8 {
        match self.ipv6.rs.get(&ifindex).map(|s| s.hop_limit) {
            Some(h) if h != 0 => h,
            _ => self.conf6(ifindex).get(Knob::HopLimit).clamp(1, 255) as u8,
        }
    }
}
