//! The IPv6 data path through the `Kernel` API: path MTU from Packet Too Big and source
//! fragmentation (RFC 8201, RFC 8200 §4.5), reassembly with overlaps, duplicates,
//! atomic fragments and timeouts (RFC 5722, RFC 6946), forwarding with its ICMPv6
//! errors (RFC 4443 §3), the error rate limit, and random extension-header chains and
//! fragments (drops with counters, bounded memory).

use super::tests::{a, frame, run};
use crate::wire::icmpv6::{Icmpv6Repr, ty};
use crate::wire::ipv6::{Ipv6Packet, Ipv6Repr, nexthdr, solicited_node};
use crate::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};
use crate::{DeviceConfig, IfIndex, Kernel, KernelConfig};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv6Addr};

const SEC: u64 = 1_000_000_000;
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const MAC2: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 2]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER2_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 1]);

const US: &str = "2001:db8::2";
const PEER: &str = "2001:db8::1";

/// A host with 2001:db8::2/64 on eth0 after DAD, that knows the peer's MAC.
fn host() -> (Kernel, IfIndex) {
    let mut k = Kernel::new(KernelConfig { seed: 7 });
    let i = k.dev_add(DeviceConfig::ethernet("eth0", MAC)).unwrap();
    k.dev_set_up(0, i, true).unwrap();
    k.addr_add(0, i, IpAddr::V6(a(US)), 64).unwrap();
    run(&mut k, 0, 3 * SEC);
    learn(3 * SEC, &mut k, i, a(PEER), a(US), PEER_MAC, MAC);
    run(&mut k, 3 * SEC, 3 * SEC);
    (k, i)
}

/// The peer `peer` (at `mac`) solicits our `us` (at `our_mac`): we learn its address.
fn learn(
    now: u64,
    k: &mut Kernel,
    i: IfIndex,
    peer: Ipv6Addr,
    us: Ipv6Addr,
    mac: EthernetAddress,
    our_mac: EthernetAddress,
) {
    let ns = Icmpv6Repr::NeighborSolicit { target: us, lladdr: Some(mac) };
    let mut body = vec![0u8; ns.buffer_len()];
    ns.emit(peer, solicited_node(us), &mut body);
    k.dev_rx(now, i, &frame(mac, our_mac, peer, solicited_node(us), 255, nexthdr::ICMPV6, &body));
}

fn echo_bytes(src: Ipv6Addr, dst: Ipv6Addr, seq: u16, data: &[u8]) -> Vec<u8> {
    let e = Icmpv6Repr::EchoRequest { ident: 7, seq, data };
    let mut b = vec![0u8; e.buffer_len()];
    e.emit(src, dst, &mut b);
    b
}

/// A Fragment header (next header, offset, more, id) followed by `data`.
fn frag(nh: u8, offset: usize, more: bool, id: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![nh, 0];
    v.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn from_peer(src: Ipv6Addr, dst: Ipv6Addr, nh: u8, payload: &[u8]) -> Vec<u8> {
    frame(PEER_MAC, MAC, src, dst, 64, nh, payload)
}

/// (IPv6 header, payload) of an IPv6 frame.
fn ip6(f: &[u8]) -> (Ipv6Repr, Vec<u8>) {
    let eth = EthernetFrame::new_checked(f).unwrap();
    assert_eq!(eth.ethertype(), EthernetProtocol::Ipv6);
    let p = Ipv6Packet::new_checked(eth.payload()).unwrap();
    (Ipv6Repr::parse(&p), p.payload().to_vec())
}

/// Reassembles fragments the kernel sent (in order): (next header, payload).
fn join(frames: &[Vec<u8>]) -> (u8, Vec<u8>) {
    let mut out = Vec::new();
    let mut nh = 0;
    for f in frames {
        let (r, p) = ip6(f);
        assert_eq!(r.next_header, nexthdr::FRAGMENT);
        let off = usize::from(u16::from_be_bytes([p[2], p[3]]) & !7);
        assert_eq!(off, out.len());
        nh = p[0];
        out.extend_from_slice(&p[8..]);
    }
    (nh, out)
}

#[test]
fn packet_too_big_lowers_the_path_mtu_and_replies_are_fragmented() {
    let (mut k, i) = host();
    let (us, peer) = (a(US), a(PEER));
    let data = vec![0x5a; 1400];
    k.dev_rx(4 * SEC, i, &from_peer(peer, us, nexthdr::ICMPV6, &echo_bytes(peer, us, 1, &data)));
    let out = run(&mut k, 4 * SEC, 4 * SEC);
    assert_eq!(out.len(), 1);
    let (r, reply) = ip6(&out[0]);
    assert_eq!((r.next_header, reply.len()), (nexthdr::ICMPV6, 1408));
    // A router on the way reports MTU 1280 (quoting our reply).
    let mut quoted = out[0][14..].to_vec();
    quoted.truncate(1232);
    let ptb = Icmpv6Repr::Error { ty: ty::PKT_TOOBIG, code: 0, param: 1280, data: &quoted };
    let router = a("2001:db8::fe");
    let mut b = vec![0u8; ptb.buffer_len()];
    ptb.emit(router, us, &mut b);
    k.dev_rx(4 * SEC, i, &from_peer(router, us, nexthdr::ICMPV6, &b));
    assert_eq!(k.net.pmtu6(peer), Some(1280));
    k.dev_rx(5 * SEC, i, &from_peer(peer, us, nexthdr::ICMPV6, &echo_bytes(peer, us, 2, &data)));
    let out = run(&mut k, 5 * SEC, 5 * SEC);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|f| f.len() - 14 <= 1280));
    let (nh, whole) = join(&out);
    assert_eq!(nh, nexthdr::ICMPV6);
    assert_eq!(
        Icmpv6Repr::parse(us, peer, &whole).unwrap(),
        Icmpv6Repr::EchoReply { ident: 7, seq: 2, data: &data }
    );
    assert_eq!((k.net.ipv6.mib.frag_oks, k.net.ipv6.mib.frag_creates), (1, 2));
    // A PTB below 1280 is clamped; the entry expires after mtu_expires (600 s).
    run(&mut k, 5 * SEC, 606 * SEC);
    assert_eq!(k.net.pmtu6(peer), None);
}

#[test]
fn fragments_out_of_order_are_reassembled_and_answered() {
    let (mut k, i) = host();
    let (us, peer) = (a(US), a(PEER));
    let data: Vec<u8> = (0..3000u32).map(|x| x as u8).collect();
    let msg = echo_bytes(peer, us, 3, &data);
    for (off, more) in [(2400, false), (0, true), (1200, true)] {
        let end = (off + 1200).min(msg.len());
        let p = frag(nexthdr::ICMPV6, off, more, 99, &msg[off..end]);
        k.dev_rx(4 * SEC, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
    }
    let out = run(&mut k, 4 * SEC, 4 * SEC);
    // The 3008-byte reply leaves in three fragments.
    assert_eq!(out.len(), 3);
    let (_, whole) = join(&out);
    assert_eq!(
        Icmpv6Repr::parse(us, peer, &whole).unwrap(),
        Icmpv6Repr::EchoReply { ident: 7, seq: 3, data: &data }
    );
    let m = &k.net.ipv6.mib;
    assert_eq!((m.reasm_reqds, m.reasm_oks, m.reasm_fails), (3, 1, 0));
    assert_eq!(k.net.ipv6.frags.mem(), 0);
}

#[test]
fn an_overlapping_fragment_drops_the_datagram_a_duplicate_is_ignored() {
    let (mut k, i) = host();
    let (us, peer) = (a(US), a(PEER));
    let msg = echo_bytes(peer, us, 4, &[1u8; 1992]);
    let send = |k: &mut Kernel, off: usize, len: usize, more: bool, id: u32| {
        let p = frag(nexthdr::ICMPV6, off, more, id, &msg[off..off + len]);
        k.dev_rx(4 * SEC, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
    };
    // Duplicate of the first fragment: ignored, the datagram completes.
    send(&mut k, 0, 1000, true, 1);
    send(&mut k, 0, 1000, true, 1);
    send(&mut k, 1000, 1000, false, 1);
    let (_, reply) = join(&run(&mut k, 4 * SEC, 4 * SEC));
    assert_eq!(reply.len(), 2000);
    // Overlap (RFC 5722): nothing answered even when the rest arrives.
    send(&mut k, 0, 1000, true, 2);
    send(&mut k, 992, 1008, false, 2);
    send(&mut k, 1000, 1000, false, 2);
    assert!(run(&mut k, 4 * SEC, 4 * SEC).is_empty());
    let m = &k.net.ipv6.mib;
    assert_eq!((m.reasm_oks, m.reasm_overlaps), (1, 1));
    assert!(m.reasm_fails >= 1);
}

#[test]
fn atomic_fragment_is_delivered_and_a_lone_first_fragment_times_out() {
    let (mut k, i) = host();
    let (us, peer) = (a(US), a(PEER));
    let msg = echo_bytes(peer, us, 5, b"atomic");
    let p = frag(nexthdr::ICMPV6, 0, false, 5, &msg);
    k.dev_rx(4 * SEC, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
    let out = run(&mut k, 4 * SEC, 4 * SEC);
    assert_eq!(ip6(&out[0]).0.next_header, nexthdr::ICMPV6);
    // First fragment only: Time Exceeded code 1 after ip6frag_time (60 s).
    let msg = echo_bytes(peer, us, 6, &[0; 100]);
    let p = frag(nexthdr::ICMPV6, 0, true, 6, &msg[..64]);
    k.dev_rx(5 * SEC, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
    let exceeded = |f: &Vec<u8>| ip6(f).0.next_header == nexthdr::ICMPV6 && ip6(f).1[0] == 3;
    assert!(!run(&mut k, 5 * SEC, 64 * SEC).iter().any(exceeded));
    // The peer's link address learned again (NUD let it go meanwhile).
    learn(64 * SEC, &mut k, i, peer, us, PEER_MAC, MAC);
    let out = run(&mut k, 64 * SEC, 66 * SEC);
    let errs: Vec<_> = out
        .iter()
        .map(|f| ip6(f))
        .filter(|(r, b)| r.next_header == nexthdr::ICMPV6 && b[0] == ty::TIME_EXCEED)
        .collect();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].0.dst_addr, errs[0].1[1]), (peer, 1));
    assert_eq!(k.net.ipv6.mib.reasm_timeout, 1);
    // A non-first fragment alone times out silently.
    let p = frag(nexthdr::ICMPV6, 64, false, 7, &msg[64..]);
    k.dev_rx(70 * SEC, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
    assert!(!run(&mut k, 70 * SEC, 140 * SEC).iter().any(exceeded));
    assert_eq!(k.net.ipv6.frags.mem(), 0);
}

/// eth0 2001:db8::2/64 (peer ::1), eth1 2001:db8:1::2/64 (peer 2001:db8:1::1), forwarding.
fn router() -> (Kernel, IfIndex, IfIndex) {
    let (mut k, i) = host();
    let j = k.dev_add(DeviceConfig::ethernet("eth1", MAC2)).unwrap();
    k.dev_set_up(3 * SEC, j, true).unwrap();
    k.addr_add(3 * SEC, j, IpAddr::V6(a("2001:db8:1::2")), 64).unwrap();
    k.sysctl_set("net.ipv6.conf.all.forwarding", "1").unwrap();
    run(&mut k, 3 * SEC, 8 * SEC);
    learn(8 * SEC, &mut k, j, a("2001:db8:1::1"), a("2001:db8:1::2"), PEER2_MAC, MAC2);
    run(&mut k, 8 * SEC, 8 * SEC);
    (k, i, j)
}

fn icmp_errors(out: &[Vec<u8>]) -> Vec<(Ipv6Addr, Ipv6Addr, u8, u8, u32)> {
    out.iter()
        .map(|f| ip6(f))
        .filter(|(r, b)| r.next_header == nexthdr::ICMPV6 && b[0] < 128)
        .map(|(r, b)| {
            let param = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            (r.src_addr, r.dst_addr, b[0], b[1], param)
        })
        .collect()
}

#[test]
fn forwarding_decrements_the_hop_limit_and_reports_errors() {
    let (mut k, i, j) = router();
    let (peer, far) = (a(PEER), a("2001:db8:1::1"));
    let t = 9 * SEC;
    let udp = [0u8; 16];
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 64, nexthdr::UDP, &udp));
    let out = run(&mut k, t, t);
    let eth = EthernetFrame::new_checked(&out[0][..]).unwrap();
    assert_eq!(eth.dst_addr(), PEER2_MAC);
    assert_eq!(ip6(&out[0]).0.hop_limit, 63);
    assert_eq!(k.net.ipv6.mib.out_forw_datagrams, 1);
    // Hop limit 1: Time Exceeded code 0 from the input interface's address.
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 1, nexthdr::UDP, &udp));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(a(US), peer, ty::TIME_EXCEED, 0, 0)]);
    // No route: Destination Unreachable code 0.
    let nowhere = a("2001:db8:9::1");
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, nowhere, 64, nexthdr::UDP, &udp));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(a(US), peer, ty::DEST_UNREACH, 0, 0)]);
    // Too big for eth1 (MTU 1280 there): Packet Too Big with the MTU, not fragmented.
    k.dev_set_mtu(t, j, 1280).unwrap();
    let big = vec![0u8; 1300];
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 64, nexthdr::UDP, &big));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(a(US), peer, ty::PKT_TOOBIG, 0, 1280)]);
    // A link-local source never leaves its link.
    let ll = a("fe80::1");
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, ll, far, 64, nexthdr::UDP, &udp));
    let out = run(&mut k, t, t);
    assert!(out.iter().all(|f| ip6(f).0.dst_addr != far));
    // Forwarding off: dropped silently.
    k.sysctl_set("net.ipv6.conf.all.forwarding", "0").unwrap();
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 64, nexthdr::UDP, &udp));
    assert!(run(&mut k, t, t).iter().all(|f| ip6(f).0.dst_addr != far));
}

#[test]
fn errors_are_rate_limited_per_destination() {
    let (mut k, i, _) = router();
    let peer = a(PEER);
    let t = 9 * SEC;
    for _ in 0..20 {
        k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, a("2001:db8:9::1"), 64, nexthdr::UDP, &[0; 8]));
    }
    // Burst of 6 (XRLIM_BURST_FACTOR), then one per net.ipv6.icmp.ratelimit.
    assert_eq!(icmp_errors(&run(&mut k, t, t)).len(), 6);
    assert_eq!(k.net.ipv6.mib.icmp_out_ratelimit_host, 14);
    let ms = u64::from(k.net.sysctl.ipv6.icmp_ratelimit_ms) * 1_000_000;
    k.dev_rx(t + ms, i, &frame(PEER_MAC, MAC, peer, a("2001:db8:9::1"), 64, nexthdr::UDP, &[0; 8]));
    assert_eq!(icmp_errors(&run(&mut k, t + ms, t + ms)).len(), 1);
}

#[test]
fn errors_share_the_global_icmp_credit_with_ipv4() {
    let (mut k, i, _) = router();
    // `icmp_global_allow` serves both families: a burst of 3 caps ICMPv6 errors below
    // the per-destination burst of 6.
    k.sysctl_set("net.ipv4.icmp_msgs_burst", "3").unwrap();
    let t = 9 * SEC;
    for _ in 0..20 {
        k.dev_rx(
            t,
            i,
            &frame(PEER_MAC, MAC, a(PEER), a("2001:db8:9::1"), 64, nexthdr::UDP, &[0; 8]),
        );
    }
    assert_eq!(icmp_errors(&run(&mut k, t, t)).len(), 3);
    assert_eq!(k.net.ipv4.icmp_mib.out_rate_limit_global, 17);
    assert_eq!(k.net.ipv6.mib.icmp_out_ratelimit_host, 0);
}

/// An extension header of type `nh_here` (8 bytes + 8 * `extra`) naming `next`.
fn ext(next: u8, extra: u8) -> Vec<u8> {
    let mut v = vec![next, extra, 1, 4];
    v.extend(std::iter::repeat_n(0, 4 + 8 * usize::from(extra)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Random chains of extension headers (correct lengths, PadN options, routing type 1)
    /// and random fragments, some overlapping: no panic, memory bounded, every datagram
    /// either answered once or dropped with a counter.
    #[test]
    fn random_chains_and_fragments_are_handled(
        chain in proptest::collection::vec((0usize..3, 0u8..3), 0..5),
        frags in proptest::collection::vec((0usize..300, 1usize..300, any::<bool>(), 0u32..4), 0..40),
    ) {
        let (mut k, i) = host();
        let (us, peer) = (a(US), a(PEER));
        let kinds = [nexthdr::HOP_BY_HOP, nexthdr::DEST_OPTS, nexthdr::ROUTING];
        let mut t = 4 * SEC;
        // A chain ending in an echo request.
        let mut nhs: Vec<u8> = chain.iter().map(|c| kinds[c.0]).collect();
        nhs.push(nexthdr::ICMPV6);
        let mut payload = Vec::new();
        for (n, c) in chain.iter().enumerate() {
            payload.extend(ext(nhs[n + 1], c.1));
        }
        payload.extend(echo_bytes(peer, us, 1, b"x"));
        k.dev_rx(t, i, &from_peer(peer, us, nhs[0], &payload));
        run(&mut k, t, t);
        // Fragments with random offsets and lengths.
        for (off, len, more, id) in frags {
            let p = frag(nexthdr::UDP, off * 8, more, id, &vec![0u8; len]);
            t += 1;
            k.dev_rx(t, i, &from_peer(peer, us, nexthdr::FRAGMENT, &p));
            prop_assert!(k.net.ipv6.frags.mem() < 4 << 20);
        }
        run(&mut k, t, t + 120 * SEC);
        prop_assert_eq!(k.net.ipv6.frags.mem(), 0);
        let m = &k.net.ipv6.mib;
        prop_assert!(m.reasm_oks + m.reasm_fails <= m.reasm_reqds);
    }
}

/// MLD messages (type, destination, body) among `out`.
fn mld_msgs(out: &[Vec<u8>]) -> Vec<(u8, Ipv6Addr, Vec<u8>)> {
    out.iter()
        .map(|f| ip6(f))
        .filter(|(r, b)| r.next_header == nexthdr::HOP_BY_HOP && b[0] == nexthdr::ICMPV6)
        .map(|(r, b)| (b[8], r.dst_addr, b[8..].to_vec()))
        .collect()
}

fn query(max_resp: u16, group: Ipv6Addr, v2: bool) -> Vec<u8> {
    let mut q = vec![130, 0, 0, 0];
    q.extend_from_slice(&max_resp.to_be_bytes());
    q.extend_from_slice(&[0, 0]);
    q.extend_from_slice(&group.octets());
    if v2 {
        q.extend_from_slice(&[2, 125, 0, 0]);
    }
    q
}

fn send_query(k: &mut Kernel, i: IfIndex, t: u64, src: Ipv6Addr, dst: Ipv6Addr, mut q: Vec<u8>) {
    let sum = crate::wire::checksum::transport(&IpAddr::V6(src), &IpAddr::V6(dst), 58, &q);
    q[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut hbh = vec![nexthdr::ICMPV6, 0, 5, 2, 0, 0, 1, 0];
    hbh.extend(q);
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, src, dst, 1, nexthdr::HOP_BY_HOP, &hbh));
}

#[test]
fn mld_queries_are_answered_within_the_maximum_response_delay() {
    let (mut k, i) = host();
    run(&mut k, 3 * SEC, 10 * SEC);
    let router = a("fe80::1");
    let all = a("ff02::1");
    // MLDv2 general query, Maximum Response Code 1000 ms.
    send_query(&mut k, i, 10 * SEC, router, all, query(1000, Ipv6Addr::UNSPECIFIED, true));
    let m = mld_msgs(&run(&mut k, 10 * SEC, 11 * SEC));
    assert_eq!(m.len(), 1, "{m:?}");
    let (t, dst, body) = &m[0];
    assert_eq!((*t, *dst), (143, a("ff02::16")));
    // One MODE_IS_EXCLUDE record: 2001:db8::2 and fe80::ff:fe00:2 share their
    // solicited-node group ff02::1:ff00:2.
    assert_eq!(u16::from_be_bytes([body[6], body[7]]), 1);
    assert_eq!((body[8], &body[12..28]), (2, &solicited_node(a(US)).octets()[..]));
    // Group-specific query for a group we are in: that group only.
    let sn = solicited_node(a(US));
    send_query(&mut k, i, 12 * SEC, router, sn, query(500, sn, true));
    let m = mld_msgs(&run(&mut k, 12 * SEC, 13 * SEC));
    assert_eq!(m.len(), 1);
    assert_eq!(
        (u16::from_be_bytes([m[0].2[6], m[0].2[7]]), &m[0].2[12..28]),
        (1, &sn.octets()[..])
    );
    // MLDv1 query: MLDv1 reports (type 131) to each group.
    send_query(&mut k, i, 14 * SEC, router, all, query(1000, Ipv6Addr::UNSPECIFIED, false));
    let m = mld_msgs(&run(&mut k, 14 * SEC, 15 * SEC));
    assert_eq!(m.len(), 1);
    assert!(m.iter().all(|(t, dst, b)| *t == 131 && b[8..24] == dst.octets()));
    // A query from a global source is dropped.
    send_query(&mut k, i, 16 * SEC, a(PEER), all, query(1000, Ipv6Addr::UNSPECIFIED, true));
    assert!(mld_msgs(&run(&mut k, 16 * SEC, 18 * SEC)).is_empty());
}

#[test]
fn a_neighbour_that_never_answers_draws_address_unreachable() {
    let (mut k, i, _) = router();
    let (peer, gone) = (a(PEER), a("2001:db8:1::7"));
    let t = 9 * SEC;
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, gone, 64, nexthdr::UDP, &[0; 8]));
    // Three solicitations a second apart (RFC 4861 MAX_MULTICAST_SOLICIT), then the
    // error for the queued packet.
    // The sender stays reachable (it confirms itself).
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: true,
        override_: true,
        target: peer,
        lladdr: Some(PEER_MAC),
    };
    let mut b = vec![0u8; na.buffer_len()];
    na.emit(peer, a(US), &mut b);
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, a(US), 255, nexthdr::ICMPV6, &b));
    let e = icmp_errors(&run(&mut k, t, t + 5 * SEC));
    assert_eq!(e, vec![(a(US), peer, ty::DEST_UNREACH, 3, 0)]);
}

#[test]
fn in_transit_only_the_hop_by_hop_header_is_checked() {
    let (mut k, i, _) = router();
    let (peer, far) = (a(PEER), a("2001:db8:1::1"));
    let t = 9 * SEC;
    // PadN, then a type 0 routing header a router must not look at (not the final
    // destination): forwarded.
    let mut p = vec![nexthdr::ROUTING, 0, 1, 4, 0, 0, 0, 0];
    p.extend_from_slice(&[nexthdr::UDP, 0, 0, 1, 0, 0, 0, 0]);
    p.extend_from_slice(&[0; 8]);
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 64, nexthdr::HOP_BY_HOP, &p));
    assert!(run(&mut k, t, t).iter().any(|f| ip6(f).0.dst_addr == far));
    // An unknown option whose action bits are 10: Parameter Problem code 2 at it.
    let p = [nexthdr::UDP, 0, 0x80, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, far, 64, nexthdr::HOP_BY_HOP, &p));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(a(US), peer, ty::PARAMPROB, 2, 42)]);
}

#[test]
fn misaligned_and_headless_first_fragments_draw_parameter_problems() {
    let (mut k, i) = host();
    let (us, peer) = (a(US), a(PEER));
    let t = 4 * SEC;
    let msg = echo_bytes(peer, us, 8, &[0; 100]);
    // A non-final fragment of 12 bytes: code 0, pointer 4 (the payload length).
    k.dev_rx(t, i, &from_peer(peer, us, nexthdr::FRAGMENT, &frag(58, 0, true, 8, &msg[..12])));
    // A first fragment cut inside the UDP header (RFC 7112): code 3.
    k.dev_rx(t, i, &from_peer(peer, us, nexthdr::FRAGMENT, &frag(17, 0, true, 9, &[0; 0])));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(us, peer, ty::PARAMPROB, 0, 4), (us, peer, ty::PARAMPROB, 3, 0)]);
    // The misaligned fragment's queue stays and expires like Linux's (no error: the
    // first fragment never came).
    run(&mut k, t, t + 61 * SEC);
    let m = &k.net.ipv6.mib;
    assert_eq!((m.reasm_reqds, m.reasm_timeout), (2, 1));
}

#[test]
fn no_route_is_reported_before_the_hop_limit() {
    let (mut k, i, _) = router();
    let t = 9 * SEC;
    let nowhere = a("2001:db8:9::1");
    k.dev_rx(t, i, &frame(PEER_MAC, MAC, a(PEER), nowhere, 1, nexthdr::UDP, &[0; 8]));
    let e = icmp_errors(&run(&mut k, t, t));
    assert_eq!(e, vec![(a(US), a(PEER), ty::DEST_UNREACH, 0, 0)]);
}

#[test]
fn forwarding_back_out_of_the_arrival_link_sends_a_redirect() {
    let (mut k, i, _) = router();
    let (peer, other) = (a(PEER), a("2001:db8::5"));
    let t = 9 * SEC;
    for _ in 0..8 {
        k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, other, 64, nexthdr::UDP, &[0; 8]));
    }
    let redirects: Vec<_> = run(&mut k, t, t)
        .iter()
        .map(|f| ip6(f))
        .filter(|(r, b)| r.next_header == nexthdr::ICMPV6 && b[0] == ty::REDIRECT)
        .collect();
    // Rate limited per destination: the burst of 6.
    assert_eq!(redirects.len(), 6);
    let (r, b) = &redirects[0];
    assert_eq!((r.dst_addr, r.hop_limit), (peer, 255));
    assert!(crate::wire::ipv6::is_link_local(r.src_addr));
    // Target and destination: the on-link destination itself; then the Redirected
    // Header option quoting the packet.
    assert_eq!((&b[8..24], &b[24..40]), (&other.octets()[..], &other.octets()[..]));
    assert_eq!(b[40], 4);
    let s = crate::wire::checksum::transport(&IpAddr::V6(r.src_addr), &IpAddr::V6(peer), 58, b);
    assert_eq!(s, 0, "checksum verifies");
}

/// A Redirect from `from` (hop limit `hops`): `target` is the better first hop for
/// `dst`, at `mac` (target link-layer address option) if given.
fn redirect_frame(
    from: Ipv6Addr,
    hops: u8,
    target: &str,
    dst: &str,
    mac: Option<EthernetAddress>,
) -> Vec<u8> {
    let mut b = vec![0u8; 40];
    b[0] = ty::REDIRECT;
    b[8..24].copy_from_slice(&a(target).octets());
    b[24..40].copy_from_slice(&a(dst).octets());
    if let Some(m) = mac {
        b.extend_from_slice(&[2, 1]);
        b.extend_from_slice(&m.0);
    }
    let s = crate::wire::checksum::transport(&IpAddr::V6(from), &IpAddr::V6(a(US)), 58, &b);
    b[2..4].copy_from_slice(&s.to_be_bytes());
    frame(PEER_MAC, MAC, from, a(US), hops, nexthdr::ICMPV6, &b)
}

#[test]
fn a_redirect_from_the_current_router_changes_the_first_hop() {
    let (mut k, i) = host();
    let router = a("fe80::1");
    learn(3 * SEC, &mut k, i, router, a(US), PEER_MAC, MAC);
    k.run_ip(3 * SEC, "-6 route add default via fe80::1 dev eth0").unwrap();
    let far: IpAddr = "2001:db8:5::9".parse().unwrap();
    let hop = |k: &Kernel| k.route_get(far).unwrap().next_hop;
    assert_eq!(hop(&k), IpAddr::V6(router));
    // Not from the current router, not at hop limit 255, or to a global target: ignored.
    let t = 4 * SEC;
    k.dev_rx(t, i, &redirect_frame(a("fe80::7"), 255, "fe80::99", "2001:db8:5::9", None));
    k.dev_rx(t, i, &redirect_frame(router, 64, "fe80::99", "2001:db8:5::9", None));
    k.dev_rx(t, i, &redirect_frame(router, 255, "2001:db8::99", "2001:db8:5::9", None));
    assert_eq!(hop(&k), IpAddr::V6(router));
    // accept_redirects 0: ignored too.
    k.sysctl_set("net.ipv6.conf.eth0.accept_redirects", "0").unwrap();
    k.dev_rx(t, i, &redirect_frame(router, 255, "fe80::99", "2001:db8:5::9", Some(MAC2)));
    assert_eq!(hop(&k), IpAddr::V6(router));
    k.sysctl_set("net.ipv6.conf.eth0.accept_redirects", "1").unwrap();
    // Valid: the new first hop, its link address learned (no solicitation needed).
    k.dev_rx(t, i, &redirect_frame(router, 255, "fe80::99", "2001:db8:5::9", Some(MAC2)));
    assert_eq!(hop(&k), "fe80::99".parse::<IpAddr>().unwrap());
    let n = k.neighbours().find(|(key, _)| key.1 == "fe80::99".parse::<IpAddr>().unwrap());
    assert_eq!(n.and_then(|(_, n)| n.lladdr), Some(MAC2));
    // Other destinations keep the router; the redirect expires (route.gc_timeout 60 s).
    assert_eq!(k.route_get("2001:db8:6::1".parse().unwrap()).unwrap().next_hop, IpAddr::V6(router));
    run(&mut k, t, t + 61 * SEC);
    assert_eq!(hop(&k), IpAddr::V6(router));
}

/// The neighbour entry of `addr` on `i`.
fn nud(k: &Kernel, i: IfIndex, addr: Ipv6Addr) -> Option<crate::neigh::NudState> {
    k.neighbours().find(|(key, _)| **key == (i, IpAddr::V6(addr))).map(|(_, n)| n.state)
}

#[test]
fn unreachability_detection_probes_a_stale_neighbour_by_unicast() {
    use crate::neigh::NudState;
    // RFC 4861 §7.3: a STALE entry used for traffic goes DELAY, then PROBE with unicast
    // solicitations to the cached address; a solicited advertisement makes it REACHABLE,
    // silence makes it FAILED after ucast_solicit (3) probes.
    for answer in [true, false] {
        let (mut k, i) = host();
        let peer = a(PEER);
        // The peer's solicitation left a STALE entry; our advertisement back used it.
        assert_eq!(nud(&k, i, peer), Some(NudState::Delay));
        let t = 3 * SEC;
        // delay_first_probe_time (5 s), then a unicast NS to the peer's MAC and address.
        let probes: Vec<_> = run(&mut k, t, t + 5 * SEC + SEC / 2)
            .into_iter()
            .filter(|f| f[..6] == PEER_MAC.0 && ip6(f).1.first() == Some(&ty::NEIGHBOUR_SOLICIT))
            .collect();
        assert_eq!(probes.len(), 1, "one probe so far");
        let (r, b) = ip6(&probes[0]);
        assert_eq!((r.dst_addr, &b[8..24]), (peer, &peer.octets()[..]));
        assert_eq!(nud(&k, i, peer), Some(NudState::Probe));
        let t = t + 5 * SEC + SEC / 2;
        if answer {
            let na = Icmpv6Repr::NeighborAdvert {
                router: false,
                solicited: true,
                override_: false,
                target: peer,
                lladdr: None,
            };
            let mut body = vec![0u8; na.buffer_len()];
            na.emit(peer, a(US), &mut body);
            k.dev_rx(t, i, &frame(PEER_MAC, MAC, peer, a(US), 255, nexthdr::ICMPV6, &body));
            assert_eq!(nud(&k, i, peer), Some(NudState::Reachable));
        } else {
            run(&mut k, t, t + 4 * SEC);
            assert!(matches!(nud(&k, i, peer), Some(NudState::Failed) | None));
        }
    }
}
