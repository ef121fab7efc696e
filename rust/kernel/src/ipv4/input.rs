//! IPv4 input (Linux `ip_input.c`): `ip_rcv_core` validation, the routing decision,
//! reassembly and `ip_local_deliver` (raw sockets first, then the protocol).

use super::route::InputKind;
use super::{forward, icmp, reassembly};
use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::{Delivery, IpRx, Net, Transport};
use crate::wire::Error;
use crate::wire::icmpv4::{ty, unreach};
use crate::wire::ipv4::{Ipv4Packet, proto};
use std::net::IpAddr;

/// `ip_rcv` + `ip_rcv_finish`.
pub(super) fn ip_rcv(
    now: Nanos,
    net: &mut Net,
    tp: &mut dyn Transport,
    ifindex: IfIndex,
    frame_payload: &[u8],
    link_multicast: bool,
) {
    // Point-to-point and NOARP links have no link-layer addressing (we send them to
    // the broadcast MAC): every frame there is PACKET_HOST.
    let link_multicast = link_multicast && net.devs.get(ifindex).is_some_and(|d| d.needs_arp());
    let mib = &mut net.ipv4.mib;
    mib.in_receives += 1;
    let ip = match Ipv4Packet::new_checked(frame_payload) {
        Ok(ip) => ip,
        Err(Error::Truncated) if frame_payload.len() >= 20 => {
            // Header fits but the total length runs past the buffer.
            let hl = usize::from(frame_payload[0] & 0x0f) * 4;
            if frame_payload.len() < hl {
                mib.in_hdr_errors += 1;
            } else {
                mib.in_truncated_pkts += 1;
            }
            return;
        }
        Err(_) => {
            mib.in_hdr_errors += 1;
            return;
        }
    };
    if !ip.verify_checksum() {
        mib.in_csum_errors += 1;
        mib.in_hdr_errors += 1;
        return;
    }
    // Link padding is gone from here on.
    let packet = ip.packet();
    let ip = Ipv4Packet::new_unchecked(packet);
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let kind = net.route_input(src, dst, ifindex);
    match kind {
        InputKind::Martian => net.ipv4.mib.in_addr_errors += 1,
        InputKind::Forward => forward::ip_forward(now, net, ifindex, packet, link_multicast),
        InputKind::Local | InputKind::Broadcast | InputKind::Multicast => {
            let bcast = kind != InputKind::Local;
            if ip.is_fragment() {
                let Some(whole) = reassembly::defrag(now, net, packet) else { return };
                local_deliver(now, net, tp, ifindex, &whole, bcast);
            } else {
                local_deliver(now, net, tp, ifindex, packet, bcast);
            }
        }
    }
}

/// `ip_local_deliver_finish` → `ip_protocol_deliver_rcu`.
fn local_deliver(
    now: Nanos,
    net: &mut Net,
    tp: &mut dyn Transport,
    ifindex: IfIndex,
    packet: &[u8],
    bcast: bool,
) {
    let ip = Ipv4Packet::new_unchecked(packet);
    let rx = IpRx {
        src: IpAddr::V4(ip.src_addr()),
        dst: IpAddr::V4(ip.dst_addr()),
        protocol: ip.protocol(),
        ttl: ip.ttl(),
        tos: ip.tos(),
        ifindex,
        multicast_or_broadcast: bcast,
        packet,
    };
    let raw = tp.raw_deliver(now, net, &rx);
    let payload = ip.payload();
    match rx.protocol {
        proto::ICMP => {
            net.ipv4.mib.in_delivers += 1;
            icmp::rcv(now, net, tp, &rx, payload);
        }
        proto::TCP | proto::UDP => {
            net.ipv4.mib.in_delivers += 1;
            let d = tp.deliver(now, net, &rx, payload);
            if d == Delivery::NoPort && rx.protocol == proto::UDP {
                // `__udp4_lib_rcv`: no socket → port unreachable (never for broadcasts).
                icmp::send(now, net, packet, ty::DEST_UNREACH, unreach::PORT, 0, bcast);
            }
        }
        proto::IGMP => {
            net.ipv4.mib.in_delivers += 1;
            net.igmp_rcv(now, rx.ifindex, payload);
        }
        _ if raw => net.ipv4.mib.in_delivers += 1,
        _ => {
            net.ipv4.mib.in_unknown_protos += 1;
            icmp::send(now, net, packet, ty::DEST_UNREACH, unreach::PROT, 0, bcast);
        }
    }
}
