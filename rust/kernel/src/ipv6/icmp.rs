//! ICMPv6 input (Linux `icmp.c` `icmpv6_rcv`, RFC 4443): checksum, echo replies, NDP
//! to `ndisc.rs`; errors are counted (no transports over IPv6 to hand them to yet).

use super::ndisc::{self, NdRx};
use super::output::Ip6Tx;
use crate::Nanos;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::Error;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::nexthdr;

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
        _ => {}
    }
}

/// `icmpv6_echo_reply`: from the address asked (or, for a multicast request, our
/// best source on that link), hop limit from `hop_limit`.
fn echo_reply(now: Nanos, net: &mut Net, rx: &NdRx, ident: u16, seq: u16, data: &[u8]) {
    let src = if rx.dst.is_multicast() {
        match net.ipv6.select_source(rx.ifindex, rx.src) {
            Some(s) => s,
            None => return,
        }
    } else {
        rx.dst
    };
    let Some((oif, next_hop)) = net.route6(rx.src, Some(rx.ifindex)) else {
        net.ipv6.mib.out_no_routes += 1;
        return;
    };
    let reply = Icmpv6Repr::EchoReply { ident, seq, data };
    let mut pkt = PacketBuf::new(reply.buffer_len());
    reply.emit(src, rx.src, pkt.data_mut());
    net.ipv6.mib.icmp_out_msgs += 1;
    let hop_limit = net.hop_limit6(oif);
    let tx = Ip6Tx { oif, src, dst: rx.src, next_header: nexthdr::ICMPV6, hop_limit };
    let _ = net.ip6_output_via(now, &tx, next_hop, pkt);
}
