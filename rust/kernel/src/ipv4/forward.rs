//! Forwarding (RFC 1812 §5.2–5.3, Linux `ip_forward.c` and `ip_error` in `route.c`).
//! The input device's `forwarding` decides, as in Linux `IN_DEV_FORWARD`.

use super::{icmp, redirect as rd};
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::icmpv4::{redirect, ty, unreach};
use crate::wire::ipv4::Ipv4Packet;
use crate::{Errno, Nanos};
use std::net::IpAddr;

/// `ip_route_input_slow` (forwarding branch) + `ip_forward` for a packet not for us.
pub(super) fn ip_forward(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    packet: &[u8],
    link_multicast: bool,
) {
    let forwarding = net.devs.get(ifindex).is_some_and(|d| d.conf4.forwarding);
    if !forwarding {
        // Not a router: someone else's packet (`ip_error`, forwarding off).
        net.ipv4.mib.in_addr_errors += 1;
        return;
    }
    // `ip_forward`: only packets sent to our MAC (PACKET_HOST) are routed.
    if link_multicast {
        net.ipv4.mib.in_discards += 1;
        return;
    }
    let ip = Ipv4Packet::new_unchecked(packet);
    let dst = IpAddr::V4(ip.dst_addr());
    // `ip_error`: what the route or rule verdict says becomes the ICMP code.
    let rt = match net.route_forward(ip.dst_addr(), ip.src_addr(), ifindex) {
        Ok(rt) => rt,
        Err(e) => {
            let code = match e {
                Errno::EINVAL => return,
                Errno::EHOSTUNREACH => unreach::HOST,
                Errno::EACCES => unreach::PKT_FILTERED,
                _ => {
                    net.ipv4.mib.in_no_routes += 1;
                    unreach::NET
                }
            };
            icmp::send(now, net, packet, ty::DEST_UNREACH, code, 0, false);
            return;
        }
    };
    if ip.ttl() <= 1 {
        // RFC 1812 §5.3.1; Linux counts it under InHdrErrors.
        net.ipv4.mib.in_hdr_errors += 1;
        tracing::trace!(target: "libos::ipv4", src = %ip.src_addr(), %dst, "ttl exceeded");
        icmp::send(now, net, packet, ty::TIME_EXCEEDED, icmp::EXC_TTL, 0, false);
        return;
    }
    if rt.local || rt.broadcast {
        net.ipv4.mib.in_addr_errors += 1;
        return;
    }
    if ip.dont_frag() && packet.len() > rt.mtu as usize {
        // RFC 1191: tell the sender the next-hop MTU.
        net.ipv4.mib.frag_fails += 1;
        let mtu = rt.mtu.min(u32::from(u16::MAX));
        icmp::send(now, net, packet, ty::DEST_UNREACH, unreach::FRAG_NEEDED, mtu, false);
        return;
    }
    // Back out the interface it came in on, to a sender on that link: a redirect,
    // and the packet still goes (RFC 1812 §5.2.7.2).
    if let IpAddr::V4(hop) = rt.next_hop {
        let gw = (rt.next_hop != dst).then_some(hop);
        if rd::should_send(now, net, ifindex, rt.oif, ip.src_addr(), gw) {
            icmp::send(now, net, packet, ty::REDIRECT, redirect::HOST, u32::from(hop), false);
        }
    }
    let mut pkt = PacketBuf::from_slice(packet);
    Ipv4Packet::new_unchecked(pkt.data_mut()).decrease_ttl();
    net.ipv4.mib.forw_datagrams += 1;
    let _ = net.ip_finish_output(now, &rt, pkt, false);
}
