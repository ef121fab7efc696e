//! IPv4 (Linux `net/ipv4/`): input and local delivery (`ip_input.c`), output
//! (`ip_output.c`), forwarding (`ip_forward.c`), fragmentation and reassembly
//! (`ip_fragment.c`), ICMP (`icmp.c`), ARP (`arp.c`), addresses (`devinet.c`) and the
//! output route lookup (`route.c`). Read RFC 791, RFC 792, RFC 826, RFC 1122 §3 and
//! RFC 1812 §5 first.

mod addr;
mod arp;
mod dst_cache;
mod forward;
mod fragment;
mod icmp;
mod igmp;
pub(crate) mod inet_fragment;
pub(crate) mod inetpeer;
mod input;
mod mib;
pub(crate) mod nh_exception;
mod output;
mod pmtu;
mod reassembly;
mod redirect;
mod route;

pub use dst_cache::SkDst;
pub use icmp::{IcmpMib, icmp_err_convert};
pub use mib::Ipv4Mib;
pub(crate) use route::InputKind;

use crate::Nanos;
use crate::dev::IfIndex;
use crate::neigh::{NeighAction, NeighParams};
use crate::net::{Net, Transport};
use std::net::IpAddr;

/// Output route cache key: destination, known source, bound device.
type OutKey = (std::net::Ipv4Addr, Option<std::net::Ipv4Addr>, Option<IfIndex>);

/// Forwarding route cache key: destination, source, input device.
type FwdKey = (std::net::Ipv4Addr, std::net::Ipv4Addr, IfIndex);

/// IPv4 state of one namespace.
pub(crate) use icmp::{icmp_global_allow, icmp_global_consume};

#[derive(Default)]
pub struct Ipv4State {
    pub mib: Ipv4Mib,
    pub icmp_mib: IcmpMib,
    /// Next IP ID (`ip_idents`), seeded from the instance PRNG on first use.
    next_ident: Option<u16>,
    frags: reassembly::FragQueues,
    icmp_limit: icmp::RateLimit,
    pmtu: pmtu::PmtuCache,
    redirects: redirect::Redirects,
    pub igmp: crate::deadline::DeadlineCached<igmp::Igmp>,
    out_routes: dst_cache::DstCache<OutKey, crate::net::RouteOut>,
    fwd_routes: dst_cache::DstCache<FwdKey, crate::net::RouteOut>,
    in_routes:
        dst_cache::DstCache<(std::net::Ipv4Addr, std::net::Ipv4Addr, IfIndex), route::InputKind>,
}

/// Handles one received IPv4 packet (`ip_rcv`): validate, reassemble, deliver or forward.
pub fn input(
    now: Nanos,
    net: &mut Net,
    tp: &mut dyn Transport,
    ifindex: IfIndex,
    packet: &[u8],
    link_multicast: bool,
) {
    input::ip_rcv(now, net, tp, ifindex, packet, link_multicast);
}

/// Handles one received ARP packet (`arp_rcv`).
pub fn arp_input(now: Nanos, net: &mut Net, ifindex: IfIndex, packet: &[u8]) {
    arp::arp_rcv(now, net, ifindex, packet);
}

impl Net {
    /// Earliest deadline of IP-layer timers (neighbours, reassembly).
    pub fn ip_next_deadline(&self) -> Option<Nanos> {
        // Called after every entry point: a plain min over "never" = Nanos::MAX.
        let at = |d: Option<Nanos>| d.unwrap_or(Nanos::MAX);
        let d = at(self.neigh.next_deadline())
            .min(at(self.ipv4.frags.next_deadline()))
            .min(at(self.ipv4.pmtu.next_deadline()))
            .min(at(self.ipv4.redirects.next_deadline()))
            .min(at(self.ipv4.igmp.next_deadline()))
            .min(at(self.ipv6.next_deadline()));
        (d != Nanos::MAX).then_some(d)
    }

    /// Fires IP-layer timers due at `now`.
    pub fn ip_advance(&mut self, now: Nanos) {
        let p = NeighParams::from_sysctl(&self.sysctl.ipv4);
        let mut actions = Vec::new();
        self.neigh.advance(now, &p, &mut self.rng, &mut actions);
        self.neigh_actions(now, actions);
        reassembly::expire(now, self);
        self.igmp_advance(now);
        self.addrconf_advance(now);
        self.ipv6_data_advance(now);
        let pmtu_gone = self.ipv4.pmtu.expire(now);
        if self.ipv4.redirects.expire(now) || pmtu_gone {
            self.fib.invalidate();
        }
    }

    /// Carries out what the neighbour table asked for: ARP requests or neighbour
    /// solicitations, and ICMP host unreachable for IPv4 packets whose next hop did not
    /// answer (`arp_error_report`).
    pub(crate) fn neigh_actions(&mut self, now: Nanos, actions: Vec<NeighAction>) {
        for a in actions {
            match a {
                NeighAction::Solicit { ifindex, target: IpAddr::V6(t), unicast } => {
                    crate::ipv6::ndisc::solicit(now, self, ifindex, t, unicast);
                }
                NeighAction::Solicit { ifindex, target, unicast } => {
                    arp::solicit(self, ifindex, target, unicast);
                }
                NeighAction::Failed { target: IpAddr::V6(_), queued, .. } => {
                    for pkt in queued {
                        crate::ipv6::neigh_failed(now, self, pkt.data());
                    }
                }
                NeighAction::Failed { queued, .. } => {
                    for pkt in queued {
                        icmp::send_unreach_host(now, self, pkt.data());
                    }
                }
            }
        }
    }

    /// A fresh IP ID (a per-instance counter, deterministic for a given seed).
    fn next_ident(&mut self) -> u16 {
        let id = match self.ipv4.next_ident {
            Some(id) => id,
            None => self.rng.next_u32() as u16,
        };
        self.ipv4.next_ident = Some(id.wrapping_add(1));
        id
    }
}

#[cfg(test)]
mod tests;
