//! TCP over IPv6 and dual stack with the pair harness: MSS = MTU - 60, a bulk transfer
//! both ways, a dual-stack listener taking IPv4 (peer names v4-mapped as Linux), an
//! IPV6_V6ONLY listener refusing it, and ICMPv6 Packet Too Big shrinking segments.

use super::tests::{MS, Pair, SEC, pattern, transfer};
use crate::Errno;
use crate::net::IcmpError;
use crate::socket::ProtoOps;
use crate::socket::inet6::{IPV6_V6ONLY, SOL_IPV6};
use crate::uapi::*;
use std::net::{IpAddr, SocketAddr};

fn a6() -> IpAddr {
    "2001:db8::1".parse().unwrap()
}

fn b6() -> IpAddr {
    "2001:db8::2".parse().unwrap()
}

/// B listens on `[::]:port` (AF_INET6), optionally IPv6-only.
fn listen6(p: &mut Pair, port: u16, v6only: bool) -> u32 {
    let l = p.open6(false);
    if v6only {
        p.setopt(false, l, SOL_IPV6, IPV6_V6ONLY, &1i32.to_ne_bytes()).unwrap();
    }
    let n = &mut p.b;
    n.tcp
        .bind(
            &mut n.net,
            l,
            "[::]:0"
                .parse::<SocketAddr>()
                .map(|mut a| {
                    a.set_port(port);
                    a
                })
                .unwrap(),
        )
        .unwrap();
    n.tcp.listen(&mut n.net, l, 16).unwrap();
    l
}

fn accept(p: &mut Pair, l: u32) -> (u32, SocketAddr) {
    let now = p.now;
    let n = &mut p.b;
    n.tcp.accept(now, &mut n.net, l).unwrap()
}

/// A connected IPv6 pair: (pair, a's socket, b's child).
fn established6() -> (Pair, u32, u32) {
    let mut p = Pair::with_addrs(a6(), b6());
    let l = listen6(&mut p, 80, false);
    let c = p.open6(true);
    assert_eq!(p.connect(true, c, SocketAddr::new(b6(), 80)), Err(Errno::EINPROGRESS));
    p.run_for(100 * MS);
    let (child, peer) = accept(&mut p, l);
    assert_eq!(peer, SocketAddr::new(a6(), p.sock(true, c).local.port()));
    assert_eq!(p.b.tcp.local_addr(child).unwrap().to_string(), "[2001:db8::2]:80");
    (p, c, child)
}

#[test]
fn ipv6_mss_and_bulk_both_ways() {
    let (mut p, c, child) = established6();
    // RFC 8200 + TCP: 1500 - 40 - 20; timestamps take 12 more from each segment.
    assert_eq!(p.sock(true, c).advmss, 1440);
    assert_eq!(p.sock(true, c).mss, 1428);
    let data = pattern(1 << 20);
    assert_eq!(transfer(&mut p, true, c, child, &data, 60 * SEC), data);
    let back: Vec<u8> = data.iter().rev().copied().collect();
    assert_eq!(transfer(&mut p, false, child, c, &back, 60 * SEC), back);
    let biggest = p.log.iter().map(|w| w.len).max().unwrap();
    assert_eq!(biggest, 1428);
}

#[test]
fn dual_stack_listener_takes_ipv4_and_v6only_refuses_it() {
    let mut p = Pair::new();
    let l = listen6(&mut p, 80, false);
    let c = p.open(true);
    assert_eq!(p.connect(true, c, SocketAddr::new(super::tests::B, 80)), Err(Errno::EINPROGRESS));
    p.run_for(100 * MS);
    let (child, peer) = accept(&mut p, l);
    let port = p.sock(true, c).local.port();
    assert_eq!(peer.to_string(), format!("[::ffff:10.0.0.1]:{port}"));
    assert_eq!(p.b.tcp.local_addr(child).unwrap().to_string(), "[::ffff:10.0.0.2]:80");
    assert_eq!(p.b.tcp.peer_addr(child).unwrap(), peer);
    // Over IPv4 the MSS is the IPv4 one.
    assert_eq!(p.sock(false, child).advmss, 1460);
    let data = pattern(100_000);
    assert_eq!(transfer(&mut p, true, c, child, &data, 10 * SEC), data);
    // An IPv6-only listener does not hear IPv4: the SYN is answered with a reset.
    let l2 = listen6(&mut p, 81, true);
    let c2 = p.open(true);
    let _ = p.connect(true, c2, SocketAddr::new(super::tests::B, 81));
    p.run_for(100 * MS);
    assert_eq!(p.connect(true, c2, SocketAddr::new(super::tests::B, 81)), Err(Errno::ECONNREFUSED));
    let now = p.now;
    assert_eq!(p.b.tcp.accept(now, &mut p.b.net, l2).map(|x| x.0), Err(Errno::EAGAIN));
}

#[test]
fn packet_too_big_shrinks_segments() {
    let (mut p, c, child) = established6();
    let data = pattern(200_000);
    assert_eq!(transfer(&mut p, true, c, child, &data[..50_000], 10 * SEC), &data[..50_000]);
    let s = p.sock(true, c);
    let (local, una) = (s.local, s.snd_una);
    let mut quoted = [0u8; 8];
    quoted[..2].copy_from_slice(&local.port().to_be_bytes());
    quoted[2..4].copy_from_slice(&80u16.to_be_bytes());
    quoted[4..8].copy_from_slice(&una.0.to_be_bytes());
    let err = IcmpError {
        errno: Errno::EMSGSIZE,
        fatal: false,
        icmp_type: 2,
        icmp_code: 0,
        mtu: Some(1280),
        reporter: b6(),
        src: a6(),
        dst: b6(),
        protocol: 6,
        quoted: &quoted,
    };
    let now = p.now;
    p.a.tcp.icmp_error(now, &mut p.a.net, &err);
    // RFC 8201: the IPv6 minimum MTU; 1280 - 60 - 12 bytes of data per segment.
    assert_eq!(p.sock(true, c).mss, 1208);
    let mark = p.log.len();
    assert_eq!(transfer(&mut p, true, c, child, &data[50_000..], 10 * SEC), &data[50_000..]);
    let after = p.log[mark..].iter().filter(|w| w.from_a).map(|w| w.len).max().unwrap();
    assert_eq!(after, 1208);
}

#[test]
fn v6_addresses_on_a_v4_socket_and_back() {
    let mut p = Pair::new();
    let c = p.open(true);
    let n = &mut p.a;
    let r = n.tcp.bind(&mut n.net, c, SocketAddr::new(a6(), 0));
    assert_eq!(r, Err(Errno::EAFNOSUPPORT));
    let c6 = p.open6(true);
    let r = p.connect(true, c6, SocketAddr::new(super::tests::B, 80));
    assert_eq!(r, Err(Errno::EAFNOSUPPORT), "tcp_v6_connect wants sin6");
    let mc: IpAddr = "ff02::1".parse().unwrap();
    let r = p.connect(true, c6, SocketAddr::new(mc, 80));
    assert_eq!(r, Err(Errno::ENETUNREACH));
    let ll: IpAddr = "fe80::2".parse().unwrap();
    let r = p.connect(true, c6, SocketAddr::new(ll, 80));
    assert_eq!(r, Err(Errno::EINVAL), "link-local without a scope");
    let _ = (SOL_SOCKET, AF_INET6);
}
