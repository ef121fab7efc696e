//! IPv6 forwarding (RFC 8200, RFC 4443 §3; Linux `ip6_output.c` `ip6_forward`): only
//! with `net.ipv6.conf.all.forwarding`; hop limit 1 draws Time Exceeded, a link-local
//! source Destination Unreachable "beyond scope", no route code 0, a prohibit route
//! code 1; a packet larger than the next link is never fragmented in transit but
//! answered with Packet Too Big (RFC 8200 §5).

use super::icmp::send_error;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::icmpv6::ty;
use crate::wire::ipv6::{Ipv6Packet, is_link_local};
use crate::{Errno, Nanos};
use std::net::IpAddr;

/// ICMPv6 Destination Unreachable codes (RFC 4443 §3.1).
mod code {
    pub const NOROUTE: u8 = 0;
    pub const ADM_PROHIBITED: u8 = 1;
    pub const NOT_NEIGHBOUR: u8 = 2;
    pub const ADDR_UNREACH: u8 = 3;
}

/// `ip6_forward` for `packet` (a whole IPv6 packet, trimmed to its length) that
/// arrived on `iif` for someone else. `l2_multicast`: the frame was not for our MAC
/// alone (`pkt_type != PACKET_HOST`), never forwarded.
pub(super) fn forward(now: Nanos, net: &mut Net, iif: IfIndex, packet: &[u8], l2_multicast: bool) {
    let p = Ipv6Packet::new_unchecked(packet);
    let (src, dst) = (p.src_addr(), p.dst_addr());
    if l2_multicast || dst.is_multicast() || is_link_local(dst) {
        net.ipv6.mib.in_addr_errors += 1;
        return;
    }
    if src.is_unspecified() {
        net.ipv6.mib.in_addr_errors += 1;
        return;
    }
    // The route first (`ip6_route_input`): no route answers even at hop limit 1.
    let rt = match net.route_input6(dst, src, iif) {
        Ok(rt) => rt,
        Err(e) => {
            net.ipv6.mib.in_no_routes += 1;
            let c = match e {
                Errno::EINVAL => return, // blackhole: silent (`dst_discard`)
                Errno::EACCES | Errno::EPERM => code::ADM_PROHIBITED,
                _ => code::NOROUTE,
            };
            send_error(now, net, packet, ty::DEST_UNREACH, c, 0, Some(iif));
            return;
        }
    };
    if rt.local {
        // Ours after all (an address the arrival device does not hold): input handled it.
        return;
    }
    // RFC 4443 §3.3: hop limit exhausted in transit.
    if p.hop_limit() <= 1 {
        net.ipv6.mib.in_hdr_errors += 1;
        send_error(now, net, packet, ty::TIME_EXCEED, 0, 0, Some(iif));
        return;
    }
    // RFC 4291 §2.5.6: a link-local source must not leave its link (checked, as Linux
    // does, only when the packet would leave by another device; back out of the same
    // one the sender gets a Redirect, `redirect.rs`).
    if rt.oif != iif && is_link_local(src) {
        net.ipv6.mib.in_addr_errors += 1;
        send_error(now, net, packet, ty::DEST_UNREACH, code::NOT_NEIGHBOUR, 0, Some(iif));
        return;
    }
    let IpAddr::V6(next_hop) = rt.next_hop else { return };
    if rt.oif == iif {
        super::redirect::send(now, net, iif, packet, next_hop);
    }
    // RFC 8200 §5: routers do not fragment.
    if packet.len() > rt.mtu as usize {
        net.ipv6.mib.in_too_big_errors += 1;
        net.ipv6.mib.frag_fails += 1;
        send_error(now, net, packet, ty::PKT_TOOBIG, 0, rt.mtu, Some(iif));
        return;
    }
    let mut out = PacketBuf::from_slice(packet);
    out.data_mut()[7] = p.hop_limit() - 1;
    net.ipv6.mib.out_forw_datagrams += 1;
    match net.ip6_finish_output2(now, rt.oif, dst, next_hop, out) {
        Ok(()) => {}
        Err(Errno::EHOSTUNREACH) => {
            send_error(now, net, packet, ty::DEST_UNREACH, code::ADDR_UNREACH, 0, Some(iif));
        }
        Err(_) => net.ipv6.mib.out_discards += 1,
    }
}
