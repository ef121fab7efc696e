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
use crate::wire::ipv6::{eui64, is_link_local, solicited_node};
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
    /// An RFC 7217 identifier (IFA_F_STABLE_PRIVACY).
    pub stable: bool,
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
        let d = self.devs.get(ifindex).ok_or(Errno::ENODEV)?;
        // `inet6_addr_add`: "IPv6 is disabled on this device".
        if d.conf6.get(Knob::DisableIpv6) != 0 {
            return Err(Errno::EACCES);
        }
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
            stable: false,
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

    /// The interface identifier for `prefix` by `addr_gen_mode` (`addrconf_addr_gen`,
    /// `addrconf_prefix_rcv`): EUI-64 from the MAC (0, and 1 for SLAAC), RFC 7217 with
    /// the device's (or `default`'s) stable secret (2; 3 draws a random secret first).
    /// None: no identifier (mode 1 link-local, or mode 2 without a secret). The bool is
    /// IFA_F_STABLE_PRIVACY.
    pub(crate) fn gen_iid(
        &mut self,
        ifindex: IfIndex,
        prefix: Ipv6Addr,
        slaac: bool,
    ) -> Option<(u64, bool)> {
        let d = self.devs.get(ifindex)?;
        let mode = d.conf6.get(Knob::AddrGenMode);
        let mac = d.mac;
        match mode {
            1 if !slaac => None,
            2 | 3 => {
                if mode == 3 && d.conf6.stable_secret.is_none() {
                    // `ipv6_gen_mode_random_init`.
                    let r =
                        (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64());
                    self.devs.get_mut(ifindex)?.conf6.stable_secret = Some(Ipv6Addr::from(r));
                }
                let d = self.devs.get(ifindex)?;
                let secret =
                    d.conf6.stable_secret.or(self.sysctl.ipv6.conf_default.stable_secret)?;
                Some((stable_iid(secret, prefix, 0), true))
            }
            _ => Some((u64::from_be_bytes(eui64(mac)), false)),
        }
    }

    /// `addrconf_add_linklocal` for the current `addr_gen_mode`: the link-local address
    /// comes first in the list.
    pub(crate) fn add_link_local(&mut self, ifindex: IfIndex) {
        let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);
        let Some((iid, stable)) = self.gen_iid(ifindex, ll, false) else { return };
        let link_local = Ipv6Addr::from(u128::from(ll) | u128::from(iid));
        if self.ipv6.find(ifindex, link_local).is_some() {
            return;
        }
        let dad_left = self.dad_transmits(ifindex);
        self.ipv6.addrs.entry(ifindex).or_default().insert(
            0,
            Ifaddr6 {
                addr: link_local,
                prefix_len: 64,
                state: AddrState::Tentative,
                permanent: true,
                nodad: false,
                stable,
                dad_left,
                valid_until: None,
                preferred_until: None,
            },
        );
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
        let ethernet = dev.needs_arp() && dev.conf6.get(Knob::DisableIpv6) == 0;
        // `init_loopback`: ::1/128 on lo, usable at once.
        if dev.is_loopback() && self.ipv6.find(ifindex, Ipv6Addr::LOCALHOST).is_none() {
            let lo = Ipv6Addr::LOCALHOST;
            self.addr6_insert(now, ifindex, lo, 128, true, (None, None));
            self.dad_done(now, ifindex, lo);
        }
        if ethernet {
            self.add_link_local(ifindex);
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
        self.router_groups_sync(now);
        self.fib6_sync();
    }
}

/// The SHA-1 compression function on one 64-byte block from the initial state (FIPS
/// 180-4 §5.3.1), as Linux's `sha1_init` + `sha1_transform`: no padding, no length, the
/// raw state words.
fn sha1_block(block: &[u8; 64]) -> [u32; 5] {
    let mut h: [u32; 5] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0];
    sha1::compress(&mut h, &[(*block).into()]);
    h
}

/// RFC 7217 stable interface identifier as Linux's `ipv6_generate_stable_address`
/// computes it: SHA-1 over (secret, the prefix's first 64 bits, the device's permanent
/// hardware address, the DAD counter); the first two digest words, in host (x86) order,
/// are the identifier. libos devices are virtual, so their permanent address is zero as
/// on Linux's veth and tap devices.
pub(crate) fn stable_iid(secret: Ipv6Addr, prefix: Ipv6Addr, dad_count: u8) -> u64 {
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(&secret.octets());
    block[16..24].copy_from_slice(&prefix.octets()[..8]);
    // hwaddr[MAX_ADDR_LEN = 32] stays zero; then the DAD counter.
    block[24 + 32] = dad_count;
    let d = sha1_block(&block);
    let mut iid = [0u8; 8];
    iid[..4].copy_from_slice(&d[0].to_le_bytes());
    iid[4..].copy_from_slice(&d[1].to_le_bytes());
    u64::from_be_bytes(iid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_block_matches_the_standard_for_abc() {
        // "abc" padded by hand to one block: FIPS 180-1 appendix A.
        let mut b = [0u8; 64];
        b[..3].copy_from_slice(b"abc");
        b[3] = 0x80;
        b[63] = 24;
        assert_eq!(
            sha1_block(&b),
            [0xa999_3e36, 0x4706_816a, 0xba3e_2571, 0x7850_c26c, 0x9cd0_d89d]
        );
    }

    #[test]
    fn stable_privacy_identifier_as_linux() {
        // Linux 6.18, veth (zero perm_addr), stable_secret 2001:db8::1234:
        // fe80::d820:30f:5afc:84be.
        let iid = stable_iid("2001:db8::1234".parse().unwrap(), "fe80::".parse().unwrap(), 0);
        assert_eq!(iid, 0xd820_030f_5afc_84be);
    }
}
