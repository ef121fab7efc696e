//! ICMPv6 input (Linux `icmp.c` `icmpv6_rcv`, RFC 4443): checksum, echo replies, NDP
//! to `ndisc.rs`; errors we send (`icmp6_send`) with Linux's per-destination rate limit.

use super::ndisc::{self, NdRx};
use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::Error;
use crate::wire::icmpv6::{Icmpv6Repr, ty};
use crate::wire::ipv6::{HEADER_LEN, Ipv6Packet, nexthdr, walk_extensions};
use std::net::Ipv6Addr;

/// `icmpv6_rcv`.
pub(super) fn rcv(now: Nanos, net: &mut Net, rx: &NdRx, msg: &[u8]) {
    net.ipv6.mib.icmp_in_msgs += 1;
    let repr = match Icmpv6Repr::parse(rx.src, rx.dst, msg) {
        Ok(r) => r,
        Err(e) => {
            net.ipv6.mib.icmp_in_errors += 1;
            if e == Error::Checksum {
                net.ipv6.mib.icmp_in_csum_errors += 1;
            }
            return;
        }
    };
    match repr {
        Icmpv6Repr::EchoRequest { ident, seq, data } => echo_reply(now, net, rx, ident, seq, data),
        Icmpv6Repr::NeighborSolicit { .. }
        | Icmpv6Repr::NeighborAdvert { .. }
        | Icmpv6Repr::RouterSolicit { .. }
        | Icmpv6Repr::RouterAdvert { .. } => ndisc::rcv(now, net, rx, &repr),
        Icmpv6Repr::Other { ty: 130, .. } => net.mld_query(now, rx.ifindex, rx.src, msg),
        Icmpv6Repr::Other { ty: ty::REDIRECT, .. } => super::redirect::rcv(now, net, rx, msg),
        _ => {}
    }
}

/// `icmpv6_rcv` → `icmpv6_notify` → `ip6_update_pmtu`: a valid Packet Too Big lowers
/// the path MTU toward the quoted packet's destination before the sockets hear of it.
pub(super) fn ptb_update_pmtu(
    now: Nanos,
    net: &mut Net,
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
    msg: &[u8],
) {
    if msg.first() != Some(&ty::PKT_TOOBIG) {
        return;
    }
    let Ok(Icmpv6Repr::Error { param, data, .. }) = Icmpv6Repr::parse(src, dst, msg) else {
        return;
    };
    let Some(q) = data.get(..crate::wire::ipv6::HEADER_LEN) else { return };
    let qdst = crate::wire::ipv6::Ipv6Packet::new_unchecked(q).dst_addr();
    net.ip6_update_pmtu(now, qdst, param);
}

/// `icmpv6_echo_reply`: from the address asked (or, for a multicast request, our
/// best source on that link), fragmented to the path MTU like `ip6_append_data`.
fn echo_reply(now: Nanos, net: &mut Net, rx: &NdRx, ident: u16, seq: u16, data: &[u8]) {
    let src = if rx.dst.is_multicast() {
        match net.ipv6.select_source(rx.ifindex, rx.src) {
            Some(s) => s,
            None => return,
        }
    } else {
        rx.dst
    };
    let reply = Icmpv6Repr::EchoReply { ident, seq, data };
    let mut pkt = PacketBuf::new(reply.buffer_len());
    reply.emit(src, rx.src, pkt.data_mut());
    net.ipv6.mib.icmp_out_msgs += 1;
    let _ = net.ip6_send_kernel(now, src, rx.src, nexthdr::ICMPV6, Some(rx.ifindex), pkt);
}

/// RFC 4443 §2.4 (c): an error carries as much of the invoking packet as fits in the
/// minimum MTU.
const ERR_QUOTE: usize = 1280 - HEADER_LEN - 8;

/// `icmpv6_mask_allow`, `icmp_global_allow` (shared with IPv4) and
/// `icmpv6_xrlim_allow`: informational messages, Packet Too Big (outside the default
/// ratemask 0-1,3-127) and loopback destinations are free; else the global credit and
/// a token bucket per destination, one message per `net.ipv6.icmp.ratelimit` with a
/// burst of 6.
fn rate_allow(now: Nanos, net: &mut Net, t: u8, dst: Ipv6Addr) -> bool {
    if t >= 128 || t == ty::PKT_TOOBIG {
        return true;
    }
    if !crate::ipv4::icmp_global_allow(now, net) {
        return false;
    }
    let local = dst.is_loopback() || net.ipv6.is_local(dst);
    let timeout = Nanos::from(net.sysctl.ipv6.icmp_ratelimit_ms) * 1_000_000;
    let ok = local || net.ipv6.icmp_limit.allow(now, dst, timeout);
    if ok {
        crate::ipv4::icmp_global_consume(net);
    } else {
        net.ipv6.mib.icmp_out_ratelimit_host += 1;
    }
    ok
}

/// `is_ineligible`: no error about an ICMPv6 error or a redirect (RFC 4443 §2.4 (e)).
fn ineligible(invoking: &[u8]) -> bool {
    let Some(nh) = invoking.get(6) else { return true };
    let rest = &invoking[HEADER_LEN.min(invoking.len())..];
    match walk_extensions(*nh, rest) {
        Ok(u) if u.protocol == nexthdr::ICMPV6 => match rest.get(u.offset) {
            Some(&t) => t < 128 || t == ty::REDIRECT,
            None => true,
        },
        _ => false,
    }
}

/// `ndisc_error_report`: a packet queued for a neighbour that never answered draws
/// Destination Unreachable code 3 (address unreachable) back to its source.
pub fn neigh_failed(now: Nanos, net: &mut Net, packet: &[u8]) {
    send_error(now, net, packet, ty::DEST_UNREACH, 3, 0, None);
}

/// `icmp6_send`: an error of type `t`/`code` (with `param`, the MTU or the pointer)
/// about `invoking` (the whole received IPv6 packet), back to its source. Our source is
/// the address it was sent to when that is ours, else the best one toward the sender.
/// `iif` is where it arrived (a link-local sender is reached through it).
pub(crate) fn send_error(
    now: Nanos,
    net: &mut Net,
    invoking: &[u8],
    t: u8,
    code: u8,
    param: u32,
    iif: Option<IfIndex>,
) {
    let Some(hdr) = invoking.get(..HEADER_LEN) else { return };
    let p = Ipv6Packet::new_unchecked(hdr);
    let (orig_src, orig_dst) = (p.src_addr(), p.dst_addr());
    // Never to an unspecified or multicast source; a multicast destination only draws
    // Packet Too Big or an unknown-option Parameter Problem (RFC 4443 §2.4 (e)).
    if orig_src.is_unspecified() || orig_src.is_multicast() {
        return;
    }
    if orig_dst.is_multicast() && !(t == ty::PKT_TOOBIG || (t == ty::PARAMPROB && code == 2)) {
        return;
    }
    if ineligible(invoking) {
        return;
    }
    if !rate_allow(now, net, t, orig_src) {
        return;
    }
    let oif = iif.filter(|_| crate::wire::ipv6::is_link_local(orig_src));
    let src = if net.ipv6.is_local(orig_dst) {
        orig_dst
    } else {
        match net.route_output6(orig_src, None, oif).map(|r| r.src) {
            Ok(std::net::IpAddr::V6(s)) => s,
            _ => {
                net.ipv6.mib.out_no_routes += 1;
                return;
            }
        }
    };
    let data = &invoking[..invoking.len().min(ERR_QUOTE)];
    let msg = Icmpv6Repr::Error { ty: t, code, param, data };
    let mut pkt = PacketBuf::new(msg.buffer_len());
    msg.emit(src, orig_src, pkt.data_mut());
    net.ipv6.mib.icmp_out_msgs += 1;
    net.ipv6.mib.icmp_out_errors += 1;
    let _ = net.ip6_send_kernel(now, src, orig_src, nexthdr::ICMPV6, oif, pkt);
}
