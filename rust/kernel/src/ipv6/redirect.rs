//! NDP Redirects (RFC 4861 §8).
//!
//! Sending (§8.2; Linux `ip6_forward` + `ndisc_send_redirect`): a packet forwarded back
//! out of the link it came from tells its sender the better first hop (the gateway,
//! which must be link-local, or the destination itself on-link). From our link-local
//! address, hop limit 255, with the target's link-layer address when known and as much
//! of the packet as fits in 1280 bytes; at most one per second per destination (bursts
//! of 6), as Linux's `inet_peer_xrlim_allow(peer, HZ)`.
//!
//! Receiving (§8.3; Linux `ndisc_redirect_rcv` + `rt6_do_redirect`): a host with
//! `accept_redirects` (and not forwarding) believes a valid redirect only from the
//! router it uses for that destination; the new first hop is kept per destination for
//! `net.ipv6.route.gc_timeout`, and the target's link-layer address option updates the
//! neighbour cache (STALE).

use super::ndisc::NdRx;
use super::output::Ip6Tx;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::ipv4::nh_exception::NhExceptions;
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

/// First hops learned from redirects: destination → (device, the router that
/// redirected, the new first hop).
#[derive(Default)]
pub struct Learned {
    hops: NhExceptions<(IfIndex, Ipv6Addr, Ipv6Addr), Ipv6Addr>,
}

impl Learned {
    /// The redirected first hop toward `dst`, if `gateway` on `oif` is the router that
    /// sent the redirect.
    pub(super) fn first_hop(
        &self,
        dst: Ipv6Addr,
        oif: IfIndex,
        gateway: Ipv6Addr,
    ) -> Option<Ipv6Addr> {
        self.hops.get(dst).filter(|e| (e.0, e.1) == (oif, gateway)).map(|e| e.2)
    }

    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.hops.next_deadline()
    }

    pub(super) fn expire(&mut self, now: Nanos) -> bool {
        self.hops.expire(now)
    }
}

/// `ndisc_redirect_rcv`: `msg` is the whole ICMPv6 message, its checksum verified.
pub(super) fn rcv(now: Nanos, net: &mut Net, rx: &NdRx, msg: &[u8]) {
    let Some((target, dst, lladdr)) = validate(rx, msg) else {
        net.ipv6.mib.ndisc_dropped += 1;
        return;
    };
    let Some(dev) = net.devs.get(rx.ifindex) else { return };
    let accept = dev.conf6.get(crate::sysctl::ipv6::Knob::AcceptRedirects) != 0;
    if !accept || net.ipv6_forwarding(rx.ifindex) {
        return;
    }
    // §8.1: the source must be the current first hop for the destination.
    match net.route6(dst, None) {
        Some((oif, gw)) if oif == rx.ifindex && gw == rx.src => {}
        _ => {
            net.ipv6.mib.ndisc_dropped += 1;
            return;
        }
    }
    if let Some(mac) = lladdr {
        super::ndisc::learn(now, net, rx.ifindex, target, mac, false, true);
    }
    let expires = now.saturating_add(u64::from(net.sysctl.ipv6.route_gc_timeout) * SEC);
    net.ipv6.redirects.hops.insert(dst, (rx.ifindex, rx.src, target), expires);
    net.fib.invalidate();
}

/// RFC 4861 §8.1 validity: hop limit 255, link-local source, code 0, at least 40
/// bytes, a unicast destination, a target that is link-local or the destination, and
/// options of non-zero length. Returns (target, destination, target link address).
fn validate(
    rx: &NdRx,
    msg: &[u8],
) -> Option<(Ipv6Addr, Ipv6Addr, Option<crate::wire::EthernetAddress>)> {
    if rx.hop_limit != 255 || !is_link_local(rx.src) || msg.len() < FIXED_LEN || msg[1] != 0 {
        return None;
    }
    let octets = |b: &[u8]| -> Ipv6Addr {
        <[u8; 16]>::try_from(b).map(Ipv6Addr::from).unwrap_or(Ipv6Addr::UNSPECIFIED)
    };
    let (target, dst) = (octets(&msg[8..24]), octets(&msg[24..40]));
    if dst.is_multicast() || (target != dst && !is_link_local(target)) {
        return None;
    }
    let mut lladdr = None;
    let mut opts = &msg[FIXED_LEN..];
    while opts.len() >= 2 {
        let len = usize::from(opts[1]) * 8;
        let body = opts.get(..len).filter(|_| len > 0)?;
        if body[0] == OPT_TARGET_LLADDR && len == 8 {
            let mut m = [0u8; 6];
            m.copy_from_slice(&body[2..8]);
            lladdr = Some(crate::wire::EthernetAddress(m));
        }
        opts = &opts[len..];
    }
    opts.is_empty().then_some((target, dst, lladdr))
}
