//! Neighbor Discovery (RFC 4861, Linux `ndisc.c`) over the shared neighbour table:
//! solicitations and advertisements resolve and confirm link addresses; DAD probes and
//! conflicts (RFC 4862 §5.4) are handed to `addrconf.rs`. Every NDP message must arrive
//! with hop limit 255 (§7.1.1, §7.1.2): anything else is dropped and counted.

use super::AddrState;
use super::output::Ip6Tx;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::neigh::NeighParams;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{multicast_mac, nexthdr, solicited_node};
use crate::wire::{EthernetAddress, EthernetProtocol};
use std::net::{IpAddr, Ipv6Addr};

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// The facts of a received NDP message's IPv6 header.
pub(super) struct NdRx {
    pub ifindex: IfIndex,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
}

/// `ndisc_rcv`: dispatches NS, NA and RA (a host ignores RS; redirects: `redirect.rs`).
pub(super) fn rcv(now: Nanos, net: &mut Net, rx: &NdRx, msg: &Icmpv6Repr<'_>) {
    if rx.hop_limit != 255 {
        net.ipv6.mib.ndisc_dropped += 1;
        return;
    }
    match *msg {
        Icmpv6Repr::NeighborSolicit { target, lladdr } => recv_ns(now, net, rx, target, lladdr),
        Icmpv6Repr::NeighborAdvert { solicited, override_, target, lladdr, .. } => {
            recv_na(now, net, rx, target, lladdr, solicited, override_)
        }
        Icmpv6Repr::RouterAdvert {
            hop_limit, router_lifetime, lladdr, mtu, ref prefixes, ..
        } => net.router_advert(now, rx, hop_limit, router_lifetime, lladdr, mtu, prefixes),
        _ => {}
    }
}

/// `ndisc_recv_ns` (RFC 4861 §7.2.3, RFC 4862 §5.4.3).
fn recv_ns(
    now: Nanos,
    net: &mut Net,
    rx: &NdRx,
    target: Ipv6Addr,
    lladdr: Option<EthernetAddress>,
) {
    let dad = rx.src.is_unspecified();
    // §7.1.1: a DAD probe goes to a solicited-node group and carries no link address.
    if target.is_multicast() || (dad && (lladdr.is_some() || rx.dst != solicited_node(target))) {
        net.ipv6.mib.ndisc_dropped += 1;
        return;
    }
    let Some(ours) = net.ipv6.find(rx.ifindex, target).copied() else { return };
    match ours.state {
        AddrState::DadFailed => return,
        // Someone else probes the address we are probing: both lose it.
        AddrState::Tentative if dad => return net.dad_failure(rx.ifindex, target),
        AddrState::Tentative => return,
        AddrState::Preferred => {}
    }
    if let (false, Some(mac)) = (dad, lladdr) {
        learn(now, net, rx.ifindex, rx.src, mac, false, true);
    }
    // Answer: solicited (to the asker) or, for a DAD probe, to all nodes (§7.2.4).
    let dst = if dad { ALL_NODES } else { rx.src };
    send_na(now, net, rx.ifindex, target, dst, !dad);
}

/// `ndisc_recv_na` (RFC 4861 §7.2.5).
fn recv_na(
    now: Nanos,
    net: &mut Net,
    rx: &NdRx,
    target: Ipv6Addr,
    lladdr: Option<EthernetAddress>,
    solicited: bool,
    override_: bool,
) {
    if target.is_multicast() || (solicited && rx.dst.is_multicast()) {
        net.ipv6.mib.ndisc_dropped += 1;
        return;
    }
    if let Some(ours) = net.ipv6.find(rx.ifindex, target) {
        // Someone answers for our address: a DAD conflict if it is still tentative.
        if ours.state == AddrState::Tentative {
            net.dad_failure(rx.ifindex, target);
        }
        return;
    }
    let key = (rx.ifindex, IpAddr::V6(target));
    // Without a target link-layer address option the cached address is confirmed
    // (§7.2.5); with nothing cached (INCOMPLETE) the advertisement is discarded.
    let cached = net.neigh.get(key.0, key.1).and_then(|n| n.lladdr);
    let Some(mac) = lladdr.or(cached) else { return };
    // Without the override flag a different address only makes a valid entry stale
    // (§7.2.5): learn it only where nothing valid is cached.
    if !override_ && net.neigh.get(key.0, key.1).and_then(|n| n.lladdr).is_some_and(|m| m != mac) {
        return;
    }
    learn(now, net, rx.ifindex, target, mac, solicited, false);
}

/// Updates the neighbour entry and sends what waited for it.
pub(super) fn learn(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    addr: Ipv6Addr,
    mac: EthernetAddress,
    reachable: bool,
    create: bool,
) {
    let p = NeighParams::from_sysctl(&net.sysctl.ipv4);
    let key = (ifindex, IpAddr::V6(addr));
    let queued = net.neigh.update(now, key, mac, reachable, create, &p, &mut net.rng);
    for pkt in queued {
        net.eth_xmit(ifindex, mac, EthernetProtocol::Ipv6, pkt);
    }
}

impl Net {
    /// `ip -6 neigh replace <addr> lladdr <mac> dev <ifindex> nud permanent`: packets
    /// waiting for the address leave at once.
    pub fn neigh6_add(
        &mut self,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        mac: EthernetAddress,
    ) -> crate::SysResult<()> {
        self.devs.get(ifindex).ok_or(crate::Errno::ENODEV)?;
        for pkt in self.neigh.add_permanent((ifindex, IpAddr::V6(addr)), mac) {
            self.eth_xmit(ifindex, mac, EthernetProtocol::Ipv6, pkt);
        }
        Ok(())
    }
}

/// `ndisc_send_na`: from the target address, with our link address, override set.
fn send_na(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    target: Ipv6Addr,
    dst: Ipv6Addr,
    solicited: bool,
) {
    let Some(mac) = net.devs.get(ifindex).map(|d| d.mac) else { return };
    let router = net.ipv6_is_router(ifindex);
    let msg = Icmpv6Repr::NeighborAdvert {
        router,
        solicited,
        override_: true,
        target,
        lladdr: Some(mac),
    };
    send_to(now, net, ifindex, target, dst, None, &msg);
}

/// `ndisc_solicit`: a solicitation for `target` — multicast to its solicited-node group
/// while resolving, unicast to the cached address while probing (RFC 4861 §7.2.2).
pub(crate) fn solicit(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    target: Ipv6Addr,
    unicast: Option<EthernetAddress>,
) {
    let Some(src) = net.ipv6.select_source(ifindex, target) else { return };
    let Some(mac) = net.devs.get(ifindex).map(|d| d.mac) else { return };
    let dst = if unicast.is_some() { target } else { solicited_node(target) };
    let msg = Icmpv6Repr::NeighborSolicit { target, lladdr: Some(mac) };
    send_to(now, net, ifindex, src, dst, unicast, &msg);
}

/// `ndisc_send_rs`: to all routers, from the link-local address, with our link address
/// (RFC 4861 §6.3.7).
pub(crate) fn send_rs(now: Nanos, net: &mut Net, ifindex: IfIndex) {
    let Some(mac) = net.devs.get(ifindex).map(|d| d.mac) else { return };
    let Some(src) = net.ipv6.select_source(ifindex, ALL_ROUTERS) else { return };
    let msg = Icmpv6Repr::RouterSolicit { lladdr: Some(mac) };
    send_to(now, net, ifindex, src, ALL_ROUTERS, None, &msg);
}

/// A DAD probe for our tentative `addr`: from ::, without a link address (RFC 4862 §5.4.2).
pub(crate) fn send_dad_probe(now: Nanos, net: &mut Net, ifindex: IfIndex, addr: Ipv6Addr) {
    let msg = Icmpv6Repr::NeighborSolicit { target: addr, lladdr: None };
    send_to(now, net, ifindex, Ipv6Addr::UNSPECIFIED, solicited_node(addr), None, &msg);
}

/// Builds an NDP message with hop limit 255. To a multicast group or a known link
/// address it goes straight out (no resolution for NDP itself); else through output.
fn send_to(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    mac: Option<EthernetAddress>,
    msg: &Icmpv6Repr<'_>,
) {
    let mut pkt = PacketBuf::new(msg.buffer_len());
    msg.emit(src, dst, pkt.data_mut());
    net.ipv6.mib.icmp_out_msgs += 1;
    let tx = Ip6Tx { oif: ifindex, src, dst, next_header: nexthdr::ICMPV6, hop_limit: 255 };
    let direct = mac.or_else(|| dst.is_multicast().then(|| multicast_mac(dst)));
    match direct {
        Some(m) => net.ip6_xmit_to(&tx, m, pkt),
        None => {
            let _ = net.ip6_output(now, &tx, pkt);
        }
    }
}
