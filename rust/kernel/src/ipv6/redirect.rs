//! Sending NDP Redirects (RFC 4861 §8.2; Linux `ip6_forward` + `ndisc_send_redirect`): a
//! packet forwarded back out of the link it came from tells its sender the better first
//! hop (the gateway, which must be link-local, or the destination itself on-link). From
//! our link-local address, hop limit 255, with the target's link-layer address when
//! known and as much of the packet as fits in 1280 bytes; at most one per second per
//! destination (bursts of 6), as Linux's `inet_peer_xrlim_allow(peer, HZ)`.

use super::output::Ip6Tx;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::checksum;
use crate::wire::icmpv6::ty;
use crate::wire::ipv6::{HEADER_LEN, Ipv6Packet, is_link_local, nexthdr};
use std::net::{IpAddr, Ipv6Addr};

const SEC: Nanos = 1_000_000_000;

/// Option types (RFC 4861 §4.6).
const OPT_TARGET_LLADDR: u8 = 2;
const OPT_REDIRECTED_HEADER: u8 = 4;
/// The redirect's fixed part: type, code, checksum, reserved, target, destination.
const FIXED_LEN: usize = 40;

/// `ndisc_send_redirect` for `packet` (arrived on and leaving by `ifindex`) whose better
/// first hop is `target`.
pub(super) fn send(now: Nanos, net: &mut Net, ifindex: IfIndex, packet: &[u8], target: Ipv6Addr) {
    let p = Ipv6Packet::new_unchecked(packet);
    let (src, dst) = (p.src_addr(), p.dst_addr());
    // The target is the destination (on-link) or a link-local router.
    if target != dst && !is_link_local(target) {
        return;
    }
    let Some(ll) = net.ipv6.addrs.get(&ifindex).and_then(|v| {
        v.iter().find(|f| is_link_local(f.addr) && f.state == super::AddrState::Preferred)
    }) else {
        return;
    };
    let ll = ll.addr;
    if !net.ipv6.redirect_limit.allow(now, dst, SEC) {
        return;
    }
    let mut b = vec![0u8; FIXED_LEN];
    b[0] = ty::REDIRECT;
    b[8..24].copy_from_slice(&target.octets());
    b[24..40].copy_from_slice(&dst.octets());
    let mac = net.neigh.get(ifindex, IpAddr::V6(target)).and_then(|n| n.lladdr);
    if let Some(mac) = mac {
        b.extend_from_slice(&[OPT_TARGET_LLADDR, 1]);
        b.extend_from_slice(&mac.0);
    }
    // Redirected Header: 8 bytes of option header, the packet cut to 8-byte units.
    let room = 1280 - HEADER_LEN - b.len() - 8;
    let quoted = packet.len().min(room) & !7;
    b.extend_from_slice(&[OPT_REDIRECTED_HEADER, (quoted / 8 + 1) as u8, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&packet[..quoted]);
    let sum = checksum::transport(&IpAddr::V6(ll), &IpAddr::V6(src), nexthdr::ICMPV6, &b);
    b[2..4].copy_from_slice(&sum.to_be_bytes());
    net.ipv6.mib.icmp_out_msgs += 1;
    let tx =
        Ip6Tx { oif: ifindex, src: ll, dst: src, next_header: nexthdr::ICMPV6, hop_limit: 255 };
    let _ = net.ip6_output_via(now, &tx, src, PacketBuf::from_slice(&b));
}
