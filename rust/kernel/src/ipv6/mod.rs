//! IPv6 (RFC 8200) for hosts: input with extension headers, output with neighbour
//! discovery (RFC 4861, `ndisc.rs`), address configuration with link-local addresses and
//! duplicate address detection (RFC 4862, `addrconf.rs`), ICMPv6 echo and errors (RFC
//! 4443, `icmp.rs`). The per-device address lists live here, beside the IPv4 ones in
//! `Device`, like Linux's `inet6_dev` beside `in_device`.
//!
//! The data path: forwarding (`forward.rs`), source fragmentation (`fragment.rs`),
//! reassembly (`reassembly.rs`), path MTU (`pmtu.rs`), delivery to the sockets
//! (`transport.rs`).

pub mod addrconf;
#[cfg(test)]
mod datapath_tests;
mod forward;
mod fragment;
mod icmp;
mod input;
pub mod mld;
pub mod ndisc;
mod output;
pub mod pmtu;
mod reassembly;
mod redirect;
pub mod route;
pub mod router;
#[cfg(test)]
mod tests;
mod transport;

use crate::Nanos;
use crate::dev::IfIndex;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

pub use addrconf::{AddrState, Ifaddr6};
pub use icmp::neigh_failed;
pub use input::input;

/// Linux's defaults for the `net.ipv6.conf.*` knobs this module uses.
pub mod defaults {
    use crate::Nanos;
    /// `hop_limit`.
    pub const HOP_LIMIT: u8 = 64;
    /// `dad_transmits`.
    pub const DAD_TRANSMITS: u8 = 1;
    /// `ndisc` retrans_time (RFC 4861 RETRANS_TIMER), 1 s.
    pub const RETRANS_TIME: Nanos = 1_000_000_000;
    /// `rtr_solicit_delay` (RFC 4861 MAX_RTR_SOLICITATION_DELAY): the first DAD probe
    /// waits a random time below it (`addrconf_dad_kick`).
    pub const RTR_SOLICIT_DELAY: Nanos = 1_000_000_000;
}

/// Counters as `/proc/net/snmp6` names them.
#[derive(Debug, Clone, Default)]
pub struct Ipv6Mib {
    pub in_receives: u64,
    pub in_hdr_errors: u64,
    pub in_addr_errors: u64,
    pub in_unknown_protos: u64,
    pub in_truncated_pkts: u64,
    pub in_discards: u64,
    pub in_delivers: u64,
    pub out_requests: u64,
    pub out_no_routes: u64,
    pub reasm_fails: u64,
    pub reasm_reqds: u64,
    pub reasm_oks: u64,
    pub reasm_timeout: u64,
    pub reasm_overlaps: u64,
    pub frag_oks: u64,
    pub frag_fails: u64,
    pub frag_creates: u64,
    pub out_forw_datagrams: u64,
    pub out_discards: u64,
    pub in_too_big_errors: u64,
    pub in_no_routes: u64,
    /// ICMPv6 errors not sent because of the rate limit (`Icmp6OutRateLimitHost`).
    pub icmp_out_ratelimit_host: u64,
    pub icmp_out_errors: u64,
    pub icmp_in_msgs: u64,
    pub icmp_in_errors: u64,
    pub icmp_in_csum_errors: u64,
    pub icmp_out_msgs: u64,
    pub ndisc_dropped: u64,
    pub dad_failures: u64,
    /// Routers, prefixes or addresses an advertisement would have added past the bounds.
    pub ra_dropped: u64,
}

impl Ipv6Mib {
    /// `/proc/net/snmp6` rows for what libos counts.
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("Ip6InReceives", self.in_receives),
            ("Ip6InHdrErrors", self.in_hdr_errors),
            ("Ip6InAddrErrors", self.in_addr_errors),
            ("Ip6InUnknownProtos", self.in_unknown_protos),
            ("Ip6InTruncatedPkts", self.in_truncated_pkts),
            ("Ip6InDiscards", self.in_discards),
            ("Ip6InDelivers", self.in_delivers),
            ("Ip6OutRequests", self.out_requests),
            ("Ip6OutNoRoutes", self.out_no_routes),
            ("Ip6OutForwDatagrams", self.out_forw_datagrams),
            ("Ip6OutDiscards", self.out_discards),
            ("Ip6InTooBigErrors", self.in_too_big_errors),
            ("Ip6InNoRoutes", self.in_no_routes),
            ("Ip6ReasmTimeout", self.reasm_timeout),
            ("Ip6ReasmReqds", self.reasm_reqds),
            ("Ip6ReasmOKs", self.reasm_oks),
            ("Ip6ReasmFails", self.reasm_fails),
            ("Ip6ReasmOverlaps", self.reasm_overlaps),
            ("Ip6FragOKs", self.frag_oks),
            ("Ip6FragFails", self.frag_fails),
            ("Ip6FragCreates", self.frag_creates),
            ("Icmp6InMsgs", self.icmp_in_msgs),
            ("Icmp6InErrors", self.icmp_in_errors),
            ("Icmp6InCsumErrors", self.icmp_in_csum_errors),
            ("Icmp6OutMsgs", self.icmp_out_msgs),
            ("Icmp6OutErrors", self.icmp_out_errors),
            ("Icmp6OutRateLimitHost", self.icmp_out_ratelimit_host),
        ]
    }
}

/// IPv6 state of one namespace.
#[derive(Default)]
pub struct Ipv6State {
    /// Addresses per device, in the order `ip -6 addr` lists them.
    pub addrs: BTreeMap<IfIndex, Vec<Ifaddr6>>,
    /// DAD timers: (deadline, device, address).
    timers: BTreeSet<(Nanos, IfIndex, Ipv6Addr)>,
    /// Default routers and on-link prefixes from advertisements.
    pub routers: Vec<router::DefaultRouter>,
    pub prefixes: Vec<router::OnLinkPrefix>,
    /// Router solicitation state and advertised hop limit, per device.
    pub rs: BTreeMap<IfIndex, router::RsState>,
    /// Link MTUs advertised by routers.
    pub mtu: BTreeMap<IfIndex, u32>,
    /// MLD reports still to repeat.
    pub mld: mld::Mld,
    /// Path MTUs learned from Packet Too Big.
    pub pmtu: pmtu::Pmtu6Cache,
    /// Fragments waiting for their datagram.
    pub frags: reassembly::Frag6Queues,
    /// ICMPv6 error rate limit per destination.
    icmp_limit: crate::ipv4::inetpeer::PeerLimit<Ipv6Addr>,
    /// Redirects sent, per destination.
    redirect_limit: crate::ipv4::inetpeer::PeerLimit<Ipv6Addr>,
    /// First hops learned from redirects received.
    redirects: redirect::Learned,
    pub mib: Ipv6Mib,
}

impl crate::deadline::Timers for Ipv6State {
    fn next_deadline(&self) -> Option<Nanos> {
        let at = |d: Option<Nanos>| d.unwrap_or(Nanos::MAX);
        let mut d = at(self.timers.first().map(|t| t.0))
            .min(at(self.mld.next_deadline()))
            .min(at(self.pmtu.next_deadline()))
            .min(at(self.frags.next_deadline()))
            .min(at(self.redirects.next_deadline()));
        for s in self.rs.values() {
            d = d.min(at(s.next));
        }
        for r in &self.routers {
            d = d.min(r.expires);
        }
        for p in &self.prefixes {
            d = d.min(at(p.expires));
        }
        for f in self.addrs.values().flatten() {
            d = d.min(at(f.valid_until));
        }
        (d != Nanos::MAX).then_some(d)
    }
}

impl Ipv6State {
    /// Forgets what `ifindex` learned and configured (`addrconf_ifdown`).
    fn forget_dev(&mut self, ifindex: IfIndex) {
        self.addrs.remove(&ifindex);
        self.timers.retain(|t| t.1 != ifindex);
        self.routers.retain(|r| r.ifindex != ifindex);
        self.prefixes.retain(|p| p.ifindex != ifindex);
        self.rs.remove(&ifindex);
        self.mtu.remove(&ifindex);
        self.mld.forget_dev(ifindex);
    }

    /// `a` is one of our addresses on any device (not DAD-failed).
    pub fn is_local(&self, a: Ipv6Addr) -> bool {
        self.addrs.values().flatten().any(|f| f.addr == a && f.state != AddrState::DadFailed)
    }

    /// The usable (not tentative, not failed) address `a` on `ifindex`.
    pub fn is_ours(&self, ifindex: IfIndex, a: Ipv6Addr) -> bool {
        self.find(ifindex, a).is_some_and(|f| f.state == AddrState::Preferred)
    }

    pub fn find(&self, ifindex: IfIndex, a: Ipv6Addr) -> Option<&Ifaddr6> {
        self.addrs.get(&ifindex)?.iter().find(|f| f.addr == a)
    }

    /// Whether we listen to multicast group `g` on `ifindex`: all-nodes, and the
    /// solicited-node group of every address there, tentative ones included (RFC 4862
    /// §5.4.2).
    pub fn in_group(&self, ifindex: IfIndex, g: Ipv6Addr) -> bool {
        let all_nodes = [
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 1),
        ];
        all_nodes.contains(&g)
            || self.mld.joined(ifindex, g)
            || self.addrs.get(&ifindex).is_some_and(|v| {
                v.iter().any(|f| {
                    f.state != AddrState::DadFailed
                        && crate::wire::ipv6::solicited_node(f.addr) == g
                })
            })
    }

    /// The source for a packet to `dst` out of `ifindex` (RFC 6724 §5, simplified:
    /// same scope first, then the longest matching prefix).
    pub fn select_source(&self, ifindex: IfIndex, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        let v = self.addrs.get(&ifindex)?;
        // RFC 6724 rule 2 with the multicast scope field (RFC 4291 §2.7): ff01/ff02
        // are link scope, ff05/ff0e and the like want a global source.
        let link_local = crate::wire::ipv6::is_link_local(dst)
            || (dst.is_multicast() && dst.octets()[1] & 0x0f <= 2);
        let usable = v.iter().filter(|f| f.state == AddrState::Preferred);
        let same_scope = |f: &&Ifaddr6| crate::wire::ipv6::is_link_local(f.addr) == link_local;
        usable
            .clone()
            .filter(same_scope)
            .max_by_key(|f| (u128::from(f.addr) ^ u128::from(dst)).leading_zeros())
            .or_else(|| usable.clone().next())
            .map(|f| f.addr)
    }
}

impl crate::net::Net {
    /// Fires the data path's IPv6 timers due at `now` (path MTU and reassembly expiry).
    pub(crate) fn ipv6_data_advance(&mut self, now: Nanos) {
        self.ipv6.pmtu.expire(now);
        if self.ipv6.redirects.expire(now) {
            self.fib.invalidate();
        }
        reassembly::expire(now, self);
    }
}
