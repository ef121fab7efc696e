//! IPv6 host behaviour through the `Kernel` API: DAD timing and conflicts (RFC 4862
//! §5.4), neighbour solicitation and advertisement (RFC 4861 §7.2), echo (RFC 4443
//! §4.2), and the drops NDP's checks require.

use super::AddrState;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{Ipv6Packet, Ipv6Repr, nexthdr, solicited_node};
use crate::wire::{EthernetAddress, EthernetFrame, EthernetProtocol};
use crate::{DeviceConfig, IfIndex, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv6Addr};

const SEC: u64 = 1_000_000_000;
const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

pub(super) fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn host() -> (Kernel, IfIndex) {
    let mut k = Kernel::new(KernelConfig { seed: 7 });
    let i = k.dev_add(DeviceConfig::ethernet("eth0", MAC)).unwrap();
    k.dev_set_up(0, i, true).unwrap();
    k.addr_add(0, i, IpAddr::V6(a("2001:db8::2")), 64).unwrap();
    (k, i)
}

/// Runs the kernel's timers up to `until`, returning every frame it sent.
pub(super) fn run(k: &mut Kernel, from: u64, until: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut now = from;
    loop {
        while let Some(t) = k.poll_transmit() {
            out.push(t.frame.to_vec());
        }
        match k.next_deadline() {
            Some(d) if d <= until => {
                now = d.max(now);
                k.advance(now);
            }
            _ => return out,
        }
    }
}

/// (Ethernet destination, IPv6 header, ICMPv6 message bytes) of an ICMPv6 frame.
fn icmp6(frame: &[u8]) -> Option<(EthernetAddress, Ipv6Repr, Vec<u8>)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv6 {
        return None;
    }
    let p = Ipv6Packet::new_checked(eth.payload()).ok()?;
    let r = Ipv6Repr::parse(&p);
    (r.next_header == nexthdr::ICMPV6).then(|| (eth.dst_addr(), r, p.payload().to_vec()))
}

/// An Ethernet + IPv6 frame carrying `msg` from the peer.
fn frame_in(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, msg: &Icmpv6Repr<'_>) -> Vec<u8> {
    let mut body = vec![0u8; msg.buffer_len()];
    msg.emit(src, dst, &mut body);
    icmp_frame(src, dst, hop_limit, body)
}

/// An Ethernet + IPv6 frame from the peer carrying the ICMPv6 bytes `body`.
fn icmp_frame(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, body: Vec<u8>) -> Vec<u8> {
    frame(PEER_MAC, MAC, src, dst, hop_limit, nexthdr::ICMPV6, &body)
}

/// An Ethernet frame with an IPv6 header and `payload`.
pub(super) fn frame(
    from: EthernetAddress,
    to: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    next_header: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 40];
    f[..6].copy_from_slice(&to.0);
    f[6..12].copy_from_slice(&from.0);
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: payload.len(),
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut f[14..]);
    f.extend_from_slice(payload);
    f
}

fn state(k: &Kernel, i: IfIndex, addr: &str) -> Option<AddrState> {
    k.addrs6(i).iter().find(|f| f.addr == a(addr)).map(|f| f.state)
}

#[test]
fn dad_probes_once_then_the_address_is_preferred() {
    let (mut k, i) = host();
    let ll = a("fe80::ff:fe00:2");
    assert_eq!(state(&k, i, "fe80::ff:fe00:2"), Some(AddrState::Tentative));
    assert_eq!(state(&k, i, "2001:db8::2"), Some(AddrState::Tentative));
    let frames = run(&mut k, 0, 3 * SEC);
    // (The router solicitation that follows the link-local address is not counted.)
    let probes: Vec<_> = frames.iter().filter_map(|f| icmp6(f)).filter(|p| p.2[0] == 135).collect();
    assert_eq!(probes.len(), 2, "one probe per address");
    for (mac, ip, msg) in &probes {
        let Icmpv6Repr::NeighborSolicit { target, lladdr: None } =
            Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, msg).unwrap()
        else {
            panic!("not a DAD probe: {msg:?}")
        };
        assert!([ll, a("2001:db8::2")].contains(&target));
        assert_eq!(
            (ip.src_addr, ip.dst_addr, ip.hop_limit),
            (a("::"), solicited_node(target), 255)
        );
        assert_eq!(mac.0[..3], [0x33, 0x33, 0xff]);
    }
    assert_eq!(state(&k, i, "fe80::ff:fe00:2"), Some(AddrState::Preferred));
    assert_eq!(state(&k, i, "2001:db8::2"), Some(AddrState::Preferred));
}

#[test]
fn solicitation_answered_then_echo_replied() {
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    let peer = a("2001:db8::1");
    let ns = Icmpv6Repr::NeighborSolicit { target: a("2001:db8::2"), lladdr: Some(PEER_MAC) };
    k.dev_rx(3 * SEC, i, &frame_in(peer, solicited_node(a("2001:db8::2")), 255, &ns));
    let out = run(&mut k, 3 * SEC, 3 * SEC);
    let (mac, ip, msg) = icmp6(&out[0]).unwrap();
    assert_eq!(
        (mac, ip.src_addr, ip.dst_addr, ip.hop_limit),
        (PEER_MAC, a("2001:db8::2"), peer, 255)
    );
    assert_eq!(
        Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, &msg).unwrap(),
        Icmpv6Repr::NeighborAdvert {
            router: false,
            solicited: true,
            override_: true,
            target: a("2001:db8::2"),
            lladdr: Some(MAC),
        }
    );
    let echo = Icmpv6Repr::EchoRequest { ident: 9, seq: 1, data: b"ping" };
    k.dev_rx(3 * SEC, i, &frame_in(peer, a("2001:db8::2"), 64, &echo));
    let out = run(&mut k, 3 * SEC, 3 * SEC);
    let (mac, ip, msg) = icmp6(&out[0]).unwrap();
    assert_eq!((mac, ip.dst_addr, ip.hop_limit), (PEER_MAC, peer, 64));
    assert_eq!(
        Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, &msg).unwrap(),
        Icmpv6Repr::EchoReply { ident: 9, seq: 1, data: b"ping" }
    );
}

#[test]
fn unresolved_destination_is_solicited_and_the_reply_waits() {
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    // An echo from an unknown peer: the reply waits for its link address.
    let peer = a("2001:db8::1");
    let echo = Icmpv6Repr::EchoRequest { ident: 1, seq: 1, data: b"" };
    k.dev_rx(3 * SEC, i, &frame_in(peer, a("2001:db8::2"), 64, &echo));
    let out = run(&mut k, 3 * SEC, 3 * SEC);
    let (mac, ip, msg) = icmp6(&out[0]).unwrap();
    assert_eq!((ip.dst_addr, multicast(mac)), (solicited_node(peer), true));
    assert!(matches!(
        Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, &msg).unwrap(),
        Icmpv6Repr::NeighborSolicit { target, lladdr: Some(MAC) } if target == peer
    ));
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: true,
        override_: true,
        target: peer,
        lladdr: Some(PEER_MAC),
    };
    k.dev_rx(3 * SEC, i, &frame_in(peer, a("2001:db8::2"), 255, &na));
    let out = run(&mut k, 3 * SEC, 3 * SEC);
    let (mac, ip, _) = icmp6(&out[0]).unwrap();
    assert_eq!((mac, ip.dst_addr), (PEER_MAC, peer));
}

fn multicast(m: EthernetAddress) -> bool {
    m.0[0] & 1 == 1
}

#[test]
fn an_advertisement_for_a_tentative_address_fails_dad() {
    let (mut k, i) = host();
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: false,
        override_: true,
        target: a("2001:db8::2"),
        lladdr: Some(PEER_MAC),
    };
    k.dev_rx(1, i, &frame_in(a("fe80::1"), a("ff02::1"), 255, &na));
    assert_eq!(state(&k, i, "2001:db8::2"), Some(AddrState::DadFailed));
    // Never preferred, and echo to it is not answered.
    run(&mut k, 1, 3 * SEC);
    assert_eq!(state(&k, i, "2001:db8::2"), Some(AddrState::DadFailed));
    let echo = Icmpv6Repr::EchoRequest { ident: 1, seq: 1, data: b"" };
    k.dev_rx(3 * SEC, i, &frame_in(a("2001:db8::1"), a("2001:db8::2"), 64, &echo));
    assert!(run(&mut k, 3 * SEC, 3 * SEC).is_empty());
}

#[test]
fn ndp_with_a_hop_limit_below_255_is_dropped() {
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    let ns = Icmpv6Repr::NeighborSolicit { target: a("2001:db8::2"), lladdr: Some(PEER_MAC) };
    let f = frame_in(a("2001:db8::1"), solicited_node(a("2001:db8::2")), 64, &ns);
    k.dev_rx(3 * SEC, i, &f);
    assert!(run(&mut k, 3 * SEC, 3 * SEC).is_empty());
    assert_eq!(k.net.ipv6.mib.ndisc_dropped, 1);
    assert!(k.net.neigh.get(i, IpAddr::V6(a("2001:db8::1"))).is_none());
}

#[test]
fn interface_down_removes_its_addresses_and_up_starts_over() {
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    k.dev_set_up(3 * SEC, i, false).unwrap();
    assert!(k.addrs6(i).is_empty());
    k.dev_set_up(4 * SEC, i, true).unwrap();
    assert_eq!(state(&k, i, "fe80::ff:fe00:2"), Some(AddrState::Tentative));
}

fn ra(lifetime: u16, valid: u32) -> Icmpv6Repr<'static> {
    use crate::wire::icmpv6::PrefixInfo;
    let p = PrefixInfo {
        prefix: a("2001:db8:5::"),
        prefix_len: 64,
        on_link: true,
        autonomous: true,
        valid_lifetime: valid,
        preferred_lifetime: valid,
    };
    Icmpv6Repr::RouterAdvert {
        hop_limit: 61,
        managed: false,
        other: false,
        router_lifetime: lifetime,
        reachable_ms: 0,
        retrans_ms: 0,
        lladdr: Some(PEER_MAC),
        mtu: None,
        prefixes: [Some(p), None, None, None],
    }
}

#[test]
fn router_solicited_after_dad_then_slaac_from_the_advertisement() {
    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let i = k.dev_add(DeviceConfig::ethernet("eth0", MAC)).unwrap();
    k.dev_set_up(0, i, true).unwrap();
    let frames = run(&mut k, 0, 3 * SEC);
    let rs: Vec<_> = frames
        .iter()
        .filter_map(|f| icmp6(f))
        .filter(|(_, ip, m)| {
            matches!(
                Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, m),
                Ok(Icmpv6Repr::RouterSolicit { .. })
            )
        })
        .collect();
    assert_eq!(rs.len(), 1, "the first solicitation once the link-local address is usable");
    assert_eq!((rs[0].1.src_addr, rs[0].1.dst_addr), (a("fe80::ff:fe00:2"), a("ff02::2")));
    let router = a("fe80::1");
    k.dev_rx(3 * SEC, i, &frame_in(router, a("ff02::1"), 255, &ra(600, 30)));
    assert_eq!(state(&k, i, "2001:db8:5::ff:fe00:2"), Some(AddrState::Tentative));
    let later = run(&mut k, 3 * SEC, 6 * SEC);
    assert_eq!(state(&k, i, "2001:db8:5::ff:fe00:2"), Some(AddrState::Preferred));
    // No more solicitations once a router answered.
    assert!(later.iter().filter_map(|f| icmp6(f)).all(|(_, _, m)| m[0] != 133));
    assert_eq!(k.default_routers6().len(), 1);
    assert_eq!(k.net.route6(a("2001:db8:7::9"), None), Some((i, router)));
    assert_eq!(k.net.route6(a("2001:db8:5::9"), None), Some((i, a("2001:db8:5::9"))));
    assert_eq!(k.net.hop_limit6(i), 61);
    // The 30 s valid lifetime ends: address and on-link prefix go; lifetime 0 drops the router.
    run(&mut k, 6 * SEC, 40 * SEC);
    assert_eq!(state(&k, i, "2001:db8:5::ff:fe00:2"), None);
    k.dev_rx(40 * SEC, i, &frame_in(router, a("ff02::1"), 255, &ra(0, 0)));
    assert!(k.default_routers6().is_empty());
    assert_eq!(k.net.route6(a("2001:db8:7::9"), None), None);
}

#[test]
fn advertisement_from_a_global_source_is_dropped() {
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    k.dev_rx(3 * SEC, i, &frame_in(a("2001:db8::1"), a("ff02::1"), 255, &ra(600, 600)));
    assert!(k.default_routers6().is_empty());
    assert_eq!(k.net.ipv6.mib.ndisc_dropped, 1);
}

#[test]
fn a_flood_of_advertisements_stays_bounded() {
    use crate::wire::icmpv6::PrefixInfo;
    let (mut k, i) = host();
    run(&mut k, 0, 3 * SEC);
    // 200 routers, each advertising 4 new /64 prefixes.
    for r in 0..200u16 {
        let pi = |n: u16| {
            Some(PrefixInfo {
                prefix: Ipv6Addr::new(0x2001, 0xdb8, r, n, 0, 0, 0, 0),
                prefix_len: 64,
                on_link: true,
                autonomous: true,
                valid_lifetime: 3600,
                preferred_lifetime: 3600,
            })
        };
        let msg = Icmpv6Repr::RouterAdvert {
            hop_limit: 64,
            managed: false,
            other: false,
            router_lifetime: 600,
            reachable_ms: 0,
            retrans_ms: 0,
            lladdr: Some(PEER_MAC),
            mtu: None,
            prefixes: [pi(0), pi(1), pi(2), pi(3)],
        };
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, r + 1);
        k.dev_rx(3 * SEC, i, &frame_in(src, a("ff02::1"), 255, &msg));
    }
    assert_eq!(k.default_routers6().len(), 64);
    assert_eq!(k.net.ipv6.prefixes.len(), 64);
    assert_eq!(k.addrs6(i).iter().filter(|f| !f.permanent).count(), 16);
    assert!(k.net.ipv6.mib.ra_dropped > 0);
}

/// Random ICMPv6 messages of every NDP and echo type, with random options and lengths
/// but valid checksums (so they reach the parsers and state machines), from random
/// sources to random destinations: never a panic, and the tables stay bounded.
#[test]
fn random_icmpv6_with_valid_checksums_never_panics() {
    use crate::rand::Rng;
    let (mut k, i) = host();
    let mut rng = Rng::new(42);
    let srcs = [a("fe80::1"), a("2001:db8::1"), a("::"), a("fe80::ff:fe00:2"), a("ff02::1")];
    let dsts = [a("ff02::1"), a("2001:db8::2"), a("ff02::1:ff00:2"), a("fe80::ff:fe00:2")];
    let types = [128u8, 129, 133, 134, 135, 136, 137, 143, 1, 2, 3, 4];
    let mut now = 0;
    for _ in 0..20_000 {
        let len = 8 + rng.range_u32(0, 80) as usize;
        let mut body: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        body[0] = types[rng.range_u32(0, types.len() as u32 - 1) as usize];
        body[1] = 0;
        body[2..4].fill(0);
        let src = srcs[rng.range_u32(0, srcs.len() as u32 - 1) as usize];
        let dst = dsts[rng.range_u32(0, dsts.len() as u32 - 1) as usize];
        let sum = crate::wire::checksum::transport(
            &IpAddr::V6(src),
            &IpAddr::V6(dst),
            nexthdr::ICMPV6,
            &body,
        );
        body[2..4].copy_from_slice(&sum.to_be_bytes());
        let hop = if rng.range_u32(0, 3) == 0 { 64 } else { 255 };
        let f = icmp_frame(src, dst, hop, body);
        now += 1_000_000;
        k.dev_rx(now, i, &f);
        while k.poll_transmit().is_some() {}
        if let Some(d) = k.next_deadline().filter(|&d| d <= now) {
            k.advance(d.max(now));
        }
    }
    assert!(k.default_routers6().len() <= 64 && k.net.ipv6.prefixes.len() <= 64);
    assert!(k.addrs6(i).len() <= 2 + 16);
    assert!(k.net.neigh.len() <= crate::neigh::GC_THRESH3);
}
