//! IPv6 output (Linux `ip6_output.c` `ip6_xmit` + `ip6_finish_output2`): the fixed
//! header, the multicast MAC or the neighbour's, queueing while NDP resolves it.

use crate::dev::IfIndex;
use crate::neigh::NeighParams;
use crate::net::{IpTx, Net};
use crate::pktbuf::PacketBuf;
use crate::wire::ipv6::{HEADER_LEN, Ipv6Repr, multicast_mac};
use crate::wire::{EthernetAddress, EthernetProtocol};
use crate::{Errno, Nanos, SysResult};
use std::net::{IpAddr, Ipv6Addr};

/// What a locally generated IPv6 packet needs besides its payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ip6Tx {
    pub oif: IfIndex,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
}

impl Net {
    /// `ip6_xmit` for the transports (`Net::ip_output` with IPv6 addresses): routes with
    /// the socket's source and device, hop limit from `tx.ttl`; a packet beyond the path
    /// MTU is fragmented (`fragment.rs`), or EMSGSIZE with `tx.dont_frag`. Local
    /// destinations go through lo.
    pub(crate) fn ip6_output_transport(
        &mut self,
        now: Nanos,
        tx: &IpTx,
        pkt: PacketBuf,
    ) -> SysResult<()> {
        let IpAddr::V6(dst) = tx.dst else { return Err(Errno::EAFNOSUPPORT) };
        let src = match tx.src {
            IpAddr::V6(s) if !s.is_unspecified() => Some(s),
            _ => None,
        };
        let rt = match self.route_output6(dst, src, tx.oif) {
            Ok(rt) => rt,
            Err(e) => {
                self.ipv6.mib.out_no_routes += 1;
                return Err(e);
            }
        };
        let (IpAddr::V6(rt_src), IpAddr::V6(next_hop)) = (rt.src, rt.next_hop) else {
            return Err(Errno::EAFNOSUPPORT);
        };
        let hop_limit = if tx.ttl == 0 { self.hop_limit6(rt.oif) } else { tx.ttl };
        let t = Ip6Tx {
            oif: rt.oif,
            src: src.unwrap_or(rt_src),
            dst,
            next_header: tx.protocol,
            hop_limit,
        };
        if HEADER_LEN + pkt.len() <= rt.mtu as usize {
            return self.ip6_output_tc(now, &t, next_hop, tx.tos, pkt);
        }
        if tx.dont_frag {
            return Err(Errno::EMSGSIZE);
        }
        self.ip6_fragment(now, &t, next_hop, tx.tos, pkt, rt.mtu)
    }

    /// A kernel-generated packet (ICMPv6 replies and errors, `ip6_append_data` with
    /// fragmentation allowed): routed from `src` to `dst` (via `oif` when given, as a
    /// link-local destination needs), fragmented to the path MTU.
    pub(crate) fn ip6_send_kernel(
        &mut self,
        now: Nanos,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: u8,
        oif: Option<IfIndex>,
        pkt: PacketBuf,
    ) -> SysResult<()> {
        let rt = self
            .route_output6(dst, Some(src), oif)
            .or_else(|_| self.route_output6(dst, Some(src), None));
        let rt = match rt {
            Ok(rt) => rt,
            Err(e) => {
                self.ipv6.mib.out_no_routes += 1;
                return Err(e);
            }
        };
        let IpAddr::V6(next_hop) = rt.next_hop else { return Err(Errno::EAFNOSUPPORT) };
        let hop_limit = self.hop_limit6(rt.oif);
        let t = Ip6Tx { oif: rt.oif, src, dst, next_header, hop_limit };
        if HEADER_LEN + pkt.len() <= rt.mtu as usize {
            return self.ip6_output_tc(now, &t, next_hop, 0, pkt);
        }
        self.ip6_fragment(now, &t, next_hop, 0, pkt, rt.mtu)
    }

    /// Sends `pkt` (the upper-layer header and payload, checksum filled) out of
    /// `tx.oif` to an on-link destination, resolving its link address.
    pub(crate) fn ip6_output(&mut self, now: Nanos, tx: &Ip6Tx, pkt: PacketBuf) -> SysResult<()> {
        self.ip6_output_via(now, tx, tx.dst, pkt)
    }

    /// As `ip6_output`, through the neighbour `next_hop` (a router, or the destination).
    pub(crate) fn ip6_output_via(
        &mut self,
        now: Nanos,
        tx: &Ip6Tx,
        next_hop: Ipv6Addr,
        pkt: PacketBuf,
    ) -> SysResult<()> {
        self.ip6_output_tc(now, tx, next_hop, 0, pkt)
    }

    /// `ip6_output_via` with a traffic class (IPV6_TCLASS, TCP's ECN bits).
    pub(super) fn ip6_output_tc(
        &mut self,
        now: Nanos,
        tx: &Ip6Tx,
        next_hop: Ipv6Addr,
        tclass: u8,
        pkt: PacketBuf,
    ) -> SysResult<()> {
        let dev = self.devs.get(tx.oif).ok_or(Errno::ENODEV)?;
        if !dev.is_running() {
            self.ipv6.mib.in_discards += 1;
            return Err(Errno::ENETDOWN);
        }
        if HEADER_LEN + pkt.len() > dev.mtu as usize {
            return Err(Errno::EMSGSIZE);
        }
        let pkt = self.ip6_header(tx, tclass, pkt);
        self.ip6_finish_output2(now, tx.oif, tx.dst, next_hop, pkt)
    }

    /// `ip6_finish_output2`: a whole IPv6 packet (header included) to `dst` out of
    /// `oif`: the multicast MAC, or the neighbour `next_hop`'s, queued while NDP
    /// resolves it.
    pub(super) fn ip6_finish_output2(
        &mut self,
        now: Nanos,
        oif: IfIndex,
        dst: Ipv6Addr,
        next_hop: Ipv6Addr,
        pkt: PacketBuf,
    ) -> SysResult<()> {
        let dev = self.devs.get(oif).ok_or(Errno::ENODEV)?;
        if !dev.is_running() {
            return Err(Errno::ENETDOWN);
        }
        let mac = if dev.is_loopback() {
            dev.mac
        } else if dst.is_multicast() || !dev.needs_arp() {
            multicast_mac(dst)
        } else {
            let key = (oif, IpAddr::V6(next_hop));
            let delay = NeighParams::delay_first_probe(&self.sysctl.ipv4);
            match self.neigh.output_addr(now, key, delay) {
                Some(mac) => mac,
                None => {
                    let p = NeighParams::from_sysctl(&self.sysctl.ipv4);
                    let mut actions = Vec::new();
                    let r = self.neigh.enqueue(now, key, pkt, &p, &mut actions);
                    self.neigh_actions(now, actions);
                    return r;
                }
            }
        };
        self.eth_xmit(oif, mac, EthernetProtocol::Ipv6, pkt);
        Ok(())
    }

    /// Prepends the IPv6 header and sends to a known link address.
    pub(crate) fn ip6_xmit_to(&mut self, tx: &Ip6Tx, mac: EthernetAddress, pkt: PacketBuf) {
        let pkt = self.ip6_header(tx, 0, pkt);
        self.eth_xmit(tx.oif, mac, EthernetProtocol::Ipv6, pkt);
    }

    fn ip6_header(&mut self, tx: &Ip6Tx, tclass: u8, mut pkt: PacketBuf) -> PacketBuf {
        let repr = Ipv6Repr {
            src_addr: tx.src,
            dst_addr: tx.dst,
            next_header: tx.next_header,
            payload_len: pkt.len(),
            hop_limit: tx.hop_limit,
            traffic_class: tclass,
            flow_label: 0,
        };
        repr.emit(pkt.prepend(HEADER_LEN));
        self.ipv6.mib.out_requests += 1;
        pkt
    }
}
