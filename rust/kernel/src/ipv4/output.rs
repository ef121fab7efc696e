//! IPv4 output (Linux `ip_output.c`): header build, fragmentation, next-hop
//! resolution and the Ethernet header.

use super::{SkDst, fragment};
use crate::dev::IfIndex;
use crate::neigh::NeighParams;
use crate::net::{IpTx, Net, RouteOut};
use crate::pktbuf::PacketBuf;
use crate::wire::ethernet::{EthernetFrame, EthernetRepr, HEADER_LEN as ETH_HEADER_LEN};
use crate::wire::ipv4::{HEADER_LEN, Ipv4Packet, Ipv4Repr, MAX_PACKET_LEN};
use crate::wire::{EthernetAddress, EthernetProtocol};
use crate::{Errno, Nanos, SysResult};
use std::net::{IpAddr, Ipv4Addr};

/// The Ethernet address of an IPv4 multicast group (RFC 1112 §6.4).
pub(super) fn multicast_mac(a: Ipv4Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

impl Net {
    /// Sends a locally generated packet (`ip_queue_xmit`/`ip_push_pending_frames`):
    /// prepends the IP header, fragments if allowed, resolves the next hop and transmits.
    /// `pkt` holds the transport header and payload with its checksum filled in.
    pub fn ip_output(&mut self, now: Nanos, tx: &IpTx, pkt: PacketBuf) -> SysResult<()> {
        self.ip_queue_xmit(now, tx, None, pkt)
    }

    /// `ip_output` for a socket that keeps its route in `sk_dst` (`ip_queue_xmit`).
    pub fn ip_queue_xmit(
        &mut self,
        now: Nanos,
        tx: &IpTx,
        sk_dst: Option<&mut SkDst>,
        mut pkt: PacketBuf,
    ) -> SysResult<()> {
        if tx.dst.is_ipv6() {
            return self.ip6_output_transport(now, tx, pkt);
        }
        let (IpAddr::V4(dst), src) = (tx.dst, tx.src) else { return Err(Errno::EAFNOSUPPORT) };
        let from = match src {
            IpAddr::V4(s) => Some(s),
            IpAddr::V6(_) => None,
        };
        let rt = match self.route_output_sk(dst, from, tx.oif, sk_dst) {
            Ok(rt) => rt,
            Err(e) => {
                self.ipv4.mib.out_no_routes += 1;
                return Err(e);
            }
        };
        // `udp_sendmsg`/`raw_sendmsg`: broadcast needs SO_BROADCAST.
        if rt.broadcast && !tx.allow_broadcast {
            return Err(Errno::EACCES);
        }
        if HEADER_LEN + pkt.len() > MAX_PACKET_LEN {
            return Err(Errno::EMSGSIZE);
        }
        let src = match (src, rt.src) {
            (IpAddr::V4(s), _) if !s.is_unspecified() => s,
            (_, IpAddr::V4(s)) => s,
            _ => Ipv4Addr::UNSPECIFIED,
        };
        self.ipv4.mib.out_requests += 1;
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: tx.protocol,
            payload_len: pkt.len(),
            ttl: if tx.ttl == 0 { self.sysctl.ipv4.ip_default_ttl } else { tx.ttl },
            tos: tx.tos,
            ident: self.next_ident(),
            dont_frag: tx.dont_frag,
            more_frags: false,
            frag_offset: 0,
        };
        repr.emit(&mut Ipv4Packet::new_unchecked(pkt.prepend(HEADER_LEN)));
        self.ip_finish_output(now, &rt, pkt, true)
    }

    /// `ip_finish_output`: fragments packets larger than the path MTU (EMSGSIZE for a
    /// local DF packet), then hands each to the neighbour layer.
    pub(crate) fn ip_finish_output(
        &mut self,
        now: Nanos,
        rt: &RouteOut,
        pkt: PacketBuf,
        local: bool,
    ) -> SysResult<()> {
        let mtu = rt.mtu as usize;
        if pkt.len() <= mtu {
            return self.neigh_output(now, rt, pkt);
        }
        let df = Ipv4Packet::new_unchecked(pkt.data()).dont_frag();
        let frags = if df { None } else { fragment::fragment(pkt.data(), mtu) };
        let Some(frags) = frags else {
            self.ipv4.mib.frag_fails += 1;
            return if local { Err(Errno::EMSGSIZE) } else { Ok(()) };
        };
        self.ipv4.mib.frag_oks += 1;
        self.ipv4.mib.frag_creates += frags.len() as u64;
        let mut res = Ok(());
        for f in frags {
            let r = self.neigh_output(now, rt, f);
            if res.is_ok() {
                res = r;
            }
        }
        res
    }

    /// `ip_finish_output2` + `neigh_output`: picks the destination MAC, queueing the
    /// packet while ARP resolves the next hop.
    fn neigh_output(&mut self, now: Nanos, rt: &RouteOut, pkt: PacketBuf) -> SysResult<()> {
        self.ipv4.mib.out_transmits += 1;
        let dev = self.devs.get(rt.oif).ok_or(Errno::ENODEV)?;
        if !dev.is_running() {
            self.ipv4.mib.out_discards += 1;
            return Ok(());
        }
        let dst_mac = match rt.next_hop {
            _ if dev.is_loopback() => dev.mac,
            _ if !dev.needs_arp() || rt.broadcast => EthernetAddress::BROADCAST,
            IpAddr::V4(a) if a.is_broadcast() => EthernetAddress::BROADCAST,
            IpAddr::V4(a) if a.is_multicast() => multicast_mac(a),
            hop => {
                let key = (rt.oif, hop);
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
            }
        };
        self.eth_xmit(rt.oif, dst_mac, EthernetProtocol::Ipv4, pkt);
        Ok(())
    }

    /// Prepends the Ethernet header and transmits (`dev_hard_header` + `dev_queue_xmit`).
    pub(crate) fn eth_xmit(
        &mut self,
        ifindex: IfIndex,
        dst: EthernetAddress,
        ethertype: EthernetProtocol,
        mut pkt: PacketBuf,
    ) {
        let Some(dev) = self.devs.get(ifindex) else { return };
        let repr = EthernetRepr { src_addr: dev.mac, dst_addr: dst, ethertype };
        repr.emit(&mut EthernetFrame::new_unchecked(pkt.prepend(ETH_HEADER_LEN)));
        self.dev_xmit(ifindex, pkt.into_bytes());
    }
}
