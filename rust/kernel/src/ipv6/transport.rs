//! IPv6 local delivery to the sockets (Linux `ip6_protocol_deliver_rcu`,
//! `raw6_local_deliver`, `icmpv6_notify`): TCP and UDP through `Transport::deliver`,
//! a copy for raw sockets of the protocol, ICMPv6 port unreachable when no socket
//! wanted it, and received ICMPv6 errors decoded for the socket that sent the quoted
//! packet (`icmpv6_err_convert`).

use crate::dev::IfIndex;
use crate::net::{Delivery, IcmpError, IpRx, Net, Transport};
use crate::wire::icmpv6::{Icmpv6Repr, ty};
use crate::wire::ipv6::{HEADER_LEN, Ipv6Packet, nexthdr, walk_extensions};
use crate::{Errno, Nanos};
use std::net::{IpAddr, Ipv6Addr};

/// RFC 4443 §2.4 (c): an error message carries as much of the invoking packet as fits
/// in the minimum MTU.
const MIN_MTU: usize = 1280;

/// The device holding `dst` (not DAD-failed): the arrival device first, then any
/// (Linux accepts a local address on every interface).
pub(super) fn holder(net: &Net, ifindex: IfIndex, dst: Ipv6Addr) -> Option<IfIndex> {
    let ok =
        |i: IfIndex| net.ipv6.find(i, dst).is_some_and(|f| f.state != super::AddrState::DadFailed);
    if ok(ifindex) {
        return Some(ifindex);
    }
    net.ipv6.addrs.keys().copied().find(|&i| ok(i))
}

/// `pkt` is the whole packet, trimmed to its payload length.
fn rx_of(pkt: &[u8], protocol: u8, ifindex: IfIndex) -> IpRx<'_> {
    let p = Ipv6Packet::new_unchecked(pkt);
    IpRx {
        src: IpAddr::V6(p.src_addr()),
        dst: IpAddr::V6(p.dst_addr()),
        protocol,
        ttl: p.hop_limit(),
        tos: p.traffic_class(),
        ifindex,
        multicast_or_broadcast: p.dst_addr().is_multicast(),
        packet: pkt,
    }
}

/// An upper protocol other than ICMPv6: raw sockets get a copy, TCP and UDP their
/// segment; nobody → port unreachable (UDP) or an unknown protocol.
pub(super) fn deliver(
    now: Nanos,
    net: &mut Net,
    t: &mut dyn Transport,
    pkt: &[u8],
    protocol: u8,
    body: &[u8],
    ifindex: IfIndex,
) {
    let rx = rx_of(pkt, protocol, ifindex);
    let raw = t.raw_deliver(now, net, &rx);
    let d = match protocol {
        nexthdr::TCP | nexthdr::UDP => t.deliver(now, net, &rx, body),
        _ if raw => Delivery::Consumed,
        _ => {
            net.ipv6.mib.in_unknown_protos += 1;
            return;
        }
    };
    net.ipv6.mib.in_delivers += 1;
    if d == Delivery::NoPort && !raw && !rx.multicast_or_broadcast {
        send_error(now, net, pkt, ty::DEST_UNREACH, 4, ifindex);
    }
}

/// `icmpv6_send` (rate limited, `icmp.rs`).
fn send_error(now: Nanos, net: &mut Net, whole: &[u8], ty: u8, code: u8, ifindex: IfIndex) {
    super::icmp::send_error(now, net, whole, ty, code, 0, Some(ifindex));
}

/// `icmpv6_err_convert`: the errno and whether it is hard.
fn err_convert(ty: u8, code: u8) -> (Errno, bool) {
    match (ty, code) {
        (ty::DEST_UNREACH, 0) => (Errno::ENETUNREACH, false),
        (ty::DEST_UNREACH, 1 | 5 | 6) => (Errno::EACCES, true),
        (ty::DEST_UNREACH, 4) => (Errno::ECONNREFUSED, true),
        (ty::DEST_UNREACH, _) => (Errno::EHOSTUNREACH, false),
        (ty::PKT_TOOBIG, _) => (Errno::EMSGSIZE, false),
        (ty::PARAMPROB, _) => (Errno::EPROTO, true),
        _ => (Errno::EHOSTUNREACH, false),
    }
}

/// An ICMPv6 message: a copy to raw ICMPv6 sockets (`raw6_local_deliver`); an error
/// (types 1-4, checksum good) decoded for the socket of the quoted packet.
pub(super) fn icmp_to_sockets(
    now: Nanos,
    net: &mut Net,
    t: &mut dyn Transport,
    pkt: &[u8],
    body: &[u8],
    ifindex: IfIndex,
) {
    let p = Ipv6Packet::new_unchecked(pkt);
    let rx = rx_of(pkt, nexthdr::ICMPV6, ifindex);
    t.raw_deliver(now, net, &rx);
    let Ok(Icmpv6Repr::Error { ty, code, param, data }) =
        Icmpv6Repr::parse(p.src_addr(), p.dst_addr(), body)
    else {
        return;
    };
    // The invoking packet, likely cut short: its fixed header, then the chain.
    let Some(q) = data.get(..HEADER_LEN) else { return };
    let v6 = |b: &[u8]| Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or_default());
    let (qsrc, qdst) = (v6(&q[8..24]), v6(&q[24..40]));
    let Ok(upper) = walk_extensions(q[6], &data[HEADER_LEN..]) else { return };
    let Some(quoted) = data.get(HEADER_LEN + upper.offset..) else { return };
    let (errno, fatal) = err_convert(ty, code);
    let mtu = (ty == ty::PKT_TOOBIG).then(|| param.max(MIN_MTU as u32));
    let err = IcmpError {
        errno,
        fatal,
        icmp_type: ty,
        icmp_code: code,
        mtu,
        reporter: IpAddr::V6(p.src_addr()),
        src: IpAddr::V6(qsrc),
        dst: IpAddr::V6(qdst),
        protocol: upper.protocol,
        quoted,
    };
    t.icmp_error(now, net, &err);
}
