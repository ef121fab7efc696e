//! ARP (RFC 826, Linux `arp.c`): answers requests for our addresses, learns from
//! requests addressed to us and from replies, sends solicits for the neighbour table
//! and gratuitous ARP when an address appears.

use crate::dev::IfIndex;
use crate::neigh::NeighParams;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::route::RouteKind;
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::{EthernetAddress, EthernetProtocol};
use crate::{Errno, Nanos, SysResult};
use std::net::{IpAddr, Ipv4Addr};

/// `arp_process` for one received packet on `ifindex`.
pub(super) fn arp_rcv(now: Nanos, net: &mut Net, ifindex: IfIndex, packet: &[u8]) {
    let Some(dev) = net.devs.get(ifindex) else { return };
    let parsed = ArpPacket::new_checked(packet).and_then(|p| ArpRepr::parse(&p));
    let Ok(arp) = parsed else { return };
    if !dev.needs_arp() {
        return;
    }
    let (sip, tip, sha) =
        (arp.source_protocol_addr, arp.target_protocol_addr, arp.source_hardware_addr);
    if tip.is_multicast()
        || tip.is_loopback()
        || sip.is_multicast()
        || sha.is_multicast()
        || sha == dev.mac
    {
        return;
    }
    let mac = dev.mac;
    let arp_ignore = dev.conf4.arp_ignore.max(net.sysctl.ipv4.conf_all.arp_ignore);
    let on_this_dev = dev.addrs4.iter().any(|a| a.addr == tip);
    let unicast_to_us = arp.target_hardware_addr == mac;
    let tip_local = net
        .fib
        .lookup(IpAddr::V4(tip), None, |_| true)
        .is_some_and(|r| r.kind == RouteKind::Local && r.prefix_len == 32);
    let may_answer = tip_local && (arp_ignore == 0 || on_this_dev);
    match arp.operation {
        // Duplicate address detection probe (RFC 5227): answer, learn nothing.
        ArpOperation::Request if sip.is_unspecified() => {
            if may_answer {
                send(net, ifindex, ArpOperation::Reply, sha, tip, sha, sip);
            }
        }
        ArpOperation::Request if may_answer => {
            // `neigh_event_ns`: the asker is a neighbour (STALE), then reply.
            let p = NeighParams::from_sysctl(&net.sysctl.ipv4);
            let key = (ifindex, IpAddr::V4(sip));
            let queued = net.neigh.update(now, key, sha, false, true, &p, &mut net.rng);
            send(net, ifindex, ArpOperation::Reply, sha, tip, sha, sip);
            flush(net, ifindex, sha, queued);
        }
        ArpOperation::Request | ArpOperation::Reply => {
            // Only entries we already have learn; a unicast reply confirms reachability,
            // a broadcast reply or a request only makes it STALE.
            let p = NeighParams::from_sysctl(&net.sysctl.ipv4);
            let key = (ifindex, IpAddr::V4(sip));
            let reachable = arp.operation == ArpOperation::Reply && unicast_to_us;
            let queued = net.neigh.update(now, key, sha, reachable, false, &p, &mut net.rng);
            flush(net, ifindex, sha, queued);
        }
        ArpOperation::Unknown(_) => {}
    }
}

/// Sends the packets that waited for `mac`.
fn flush(net: &mut Net, ifindex: IfIndex, mac: EthernetAddress, queued: Vec<PacketBuf>) {
    for pkt in queued {
        net.eth_xmit(ifindex, mac, EthernetProtocol::Ipv4, pkt);
    }
}

/// `arp_solicit`: a request for `target`, broadcast or unicast to the cached address.
pub(super) fn solicit(
    net: &mut Net,
    ifindex: IfIndex,
    target: IpAddr,
    unicast: Option<EthernetAddress>,
) {
    let IpAddr::V4(tip) = target else { return };
    // arp_announce 0: the waiting packet's source if it is ours, else the device's.
    let head_src = net
        .neigh
        .queued_head((ifindex, target))
        .and_then(|p| Ipv4Packet::new_checked(p).ok())
        .map(|p| p.src_addr())
        .filter(|s| net.is_local_addr(IpAddr::V4(*s)) && !s.is_loopback());
    let Some(sip) = head_src.or_else(|| net.select_addr(ifindex, target)) else { return };
    let dst = unicast.unwrap_or(EthernetAddress::BROADCAST);
    send(net, ifindex, ArpOperation::Request, dst, sip, EthernetAddress::ZERO, tip);
}

/// A gratuitous ARP request announcing `addr` (sender = target = addr).
pub(super) fn gratuitous(net: &mut Net, ifindex: IfIndex, addr: Ipv4Addr) {
    let b = EthernetAddress::BROADCAST;
    send(net, ifindex, ArpOperation::Request, b, addr, EthernetAddress::ZERO, addr);
}

/// `arp_send_dst`: builds and transmits one ARP packet from `ifindex`'s address.
fn send(
    net: &mut Net,
    ifindex: IfIndex,
    op: ArpOperation,
    dst: EthernetAddress,
    spa: Ipv4Addr,
    tha: EthernetAddress,
    tpa: Ipv4Addr,
) {
    let Some(dev) = net.devs.get(ifindex) else { return };
    let repr = ArpRepr {
        operation: op,
        source_hardware_addr: dev.mac,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    };
    let mut pkt = PacketBuf::new(repr.buffer_len());
    repr.emit(&mut ArpPacket::new_unchecked(pkt.data_mut()));
    net.eth_xmit(ifindex, dst, EthernetProtocol::Arp, pkt);
}

impl Net {
    /// `ip neigh replace <addr> lladdr <mac> dev <ifindex> nud permanent`.
    pub fn neigh_add(
        &mut self,
        ifindex: IfIndex,
        addr: IpAddr,
        mac: EthernetAddress,
    ) -> SysResult<()> {
        self.devs.get(ifindex).ok_or(Errno::ENODEV)?;
        if !matches!(addr, IpAddr::V4(a) if !a.is_multicast() && !a.is_broadcast()) {
            return Err(Errno::EINVAL);
        }
        let queued = self.neigh.add_permanent((ifindex, addr), mac);
        flush(self, ifindex, mac, queued);
        Ok(())
    }

    /// `ip neigh del <addr> dev <ifindex>`: ENOENT if absent.
    pub fn neigh_del(&mut self, ifindex: IfIndex, addr: IpAddr) -> SysResult<()> {
        if self.neigh.delete((ifindex, addr)) { Ok(()) } else { Err(Errno::ENOENT) }
    }
}
