//! IPv6 input (Linux `ip6_input.c` `ipv6_rcv` + `ip6_input_finish`): header checks,
//! the destination filter (our addresses, the groups we listen to), the extension
//! header walk, delivery to ICMPv6, raw sockets and the transports (`transport.rs`).

use super::icmp;
use super::ndisc::NdRx;
use super::reassembly::Defrag;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::{Net, Transport};
use crate::wire::Error;
use crate::wire::icmpv6::ty;
use crate::wire::ipv6::{ExtError, HEADER_LEN, Ipv6Packet, nexthdr, walk_extensions};

/// Handles one received IPv6 packet.
pub fn input(
    now: Nanos,
    net: &mut Net,
    t: &mut dyn Transport,
    ifindex: IfIndex,
    packet: &[u8],
    l2_multicast: bool,
) {
    net.ipv6.mib.in_receives += 1;
    let p = match Ipv6Packet::new_checked(packet) {
        Ok(p) => p,
        Err(Error::Truncated) => {
            net.ipv6.mib.in_truncated_pkts += 1;
            return;
        }
        Err(_) => {
            net.ipv6.mib.in_hdr_errors += 1;
            return;
        }
    };
    let (src, dst) = (p.src_addr(), p.dst_addr());
    // RFC 4291 §2.7: a multicast source is invalid; loopback only arrives on lo.
    let on_lo = net.devs.get(ifindex).is_some_and(|d| d.is_loopback());
    let loopback = src.is_loopback() || dst.is_loopback();
    if src.is_multicast() || (loopback && !on_lo) || dst.is_unspecified() {
        net.ipv6.mib.in_addr_errors += 1;
        return;
    }
    // Our address on any device (the local table, `ip6_route_input`): packets sent to
    // ourselves arrive on lo.
    let holder =
        if dst.is_multicast() { None } else { super::transport::holder(net, ifindex, dst) };
    let for_us = if dst.is_multicast() {
        net.ipv6.in_group(ifindex, dst)
    } else {
        // A tentative address takes only NDP (RFC 4862 §5.4): checked below.
        holder.is_some()
    };
    let whole = &packet[..HEADER_LEN + p.payload().len()];
    if !for_us {
        if !dst.is_multicast() && net.ipv6_forwarding(ifindex) {
            if hop_by_hop_ok(now, net, ifindex, whole) {
                super::forward::forward(now, net, ifindex, whole, l2_multicast);
            }
        } else {
            net.ipv6.mib.in_addr_errors += 1;
        }
        return;
    }
    local_deliver(now, net, t, ifindex, whole, holder, false);
}

/// `ipv6_parse_hopopts` for a packet in transit: only its hop-by-hop header is
/// examined (RFC 8200 §4: routers process no other extension header).
fn hop_by_hop_ok(now: Nanos, net: &mut Net, ifindex: IfIndex, whole: &[u8]) -> bool {
    if whole[6] != nexthdr::HOP_BY_HOP {
        return true;
    }
    let payload = &whole[HEADER_LEN..];
    let len = match payload.get(1) {
        Some(&l) => (usize::from(l) + 1) * 8,
        None => 0,
    };
    let Some(h) = payload.get(..len).filter(|_| len > 0) else {
        net.ipv6.mib.in_truncated_pkts += 1;
        return false;
    };
    // The header alone, ending the chain.
    let mut only = h.to_vec();
    only[0] = nexthdr::NONE;
    match walk_extensions(nexthdr::HOP_BY_HOP, &only) {
        Ok(_) => true,
        Err(ExtError::Problem { code, pointer }) => {
            net.ipv6.mib.in_hdr_errors += 1;
            icmp::send_error(now, net, whole, ty::PARAMPROB, code, pointer, Some(ifindex));
            false
        }
        Err(_) => {
            net.ipv6.mib.in_hdr_errors += 1;
            false
        }
    }
}

/// `ip6_input_finish`: the extension-header walk, reassembly, then the upper layer.
/// `reassembled`: `whole` came out of reassembly (a second Fragment header is dropped).
fn local_deliver(
    now: Nanos,
    net: &mut Net,
    t: &mut dyn Transport,
    ifindex: IfIndex,
    whole: &[u8],
    holder: Option<IfIndex>,
    reassembled: bool,
) {
    let p = Ipv6Packet::new_unchecked(whole);
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let upper = match walk_extensions(p.next_header(), p.payload()) {
        Ok(u) => u,
        Err(ExtError::Truncated) => {
            net.ipv6.mib.in_truncated_pkts += 1;
            return;
        }
        Err(ExtError::Problem { code, pointer }) => {
            net.ipv6.mib.in_hdr_errors += 1;
            icmp::send_error(now, net, whole, ty::PARAMPROB, code, pointer, Some(ifindex));
            return;
        }
        Err(ExtError::RoutingType0 { pointer }) => {
            net.ipv6.mib.in_hdr_errors += 1;
            icmp::send_error(now, net, whole, ty::PARAMPROB, 0, pointer, Some(ifindex));
            return;
        }
        Err(ExtError::Discard) => {
            net.ipv6.mib.in_hdr_errors += 1;
            return;
        }
    };
    if upper.fragment.is_some() {
        if reassembled {
            net.ipv6.mib.reasm_fails += 1;
            return;
        }
        match super::reassembly::defrag(now, net, whole) {
            Defrag::Held => {}
            Defrag::Problem(code, pointer) => {
                icmp::send_error(now, net, whole, ty::PARAMPROB, code, pointer, Some(ifindex));
            }
            Defrag::Done(full) => local_deliver(now, net, t, ifindex, &full, holder, true),
        }
        return;
    }
    let tentative = holder.is_some_and(|h| !net.ipv6.is_ours(h, dst));
    let body = &p.payload()[upper.offset..];
    if tentative && !(upper.protocol == nexthdr::ICMPV6 && is_ndisc(body)) {
        net.ipv6.mib.in_discards += 1;
        return;
    }
    match upper.protocol {
        nexthdr::ICMPV6 => {
            net.ipv6.mib.in_delivers += 1;
            let rx = NdRx { ifindex, src, dst, hop_limit: p.hop_limit() };
            icmp::ptb_update_pmtu(now, net, src, dst, body);
            super::transport::icmp_to_sockets(now, net, t, whole, body, ifindex);
            icmp::rcv(now, net, &rx, body);
        }
        nexthdr::NONE => net.ipv6.mib.in_delivers += 1,
        _ => super::transport::deliver(now, net, t, whole, upper.protocol, body, ifindex),
    }
}

/// Whether an ICMPv6 message is a neighbour solicitation or advertisement.
fn is_ndisc(msg: &[u8]) -> bool {
    use crate::wire::icmpv6::ty;
    matches!(msg.first(), Some(&(ty::NEIGHBOUR_SOLICIT | ty::NEIGHBOUR_ADVERT)))
}
