//! Sockets over IPv6 between two libos kernels on one Ethernet segment (A 2001:db8::1,
//! B 2001:db8::2, also 10.0.0.1/.2): TCP both ways byte-checked, a dual-stack listener
//! taking IPv4 and IPv6 clients, UDP control messages, IPV6_V6ONLY, raw ICMPv6 echo,
//! ICMPv6 port unreachable on a connected UDP socket, and Packet Too Big shrinking TCP
//! segments. Expected values are Linux's (peer names, errno, MSS).

mod socket_pair;

use libos_kernel::uapi::*;
use libos_kernel::{Errno, Kernel};
use socket_pair::*;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

const SEC: u64 = 1_000_000_000;
const SOL_IPV6: i32 = 41;
const SOL_ICMPV6: i32 = 58;
const IPV6_UNICAST_HOPS: i32 = 16;
const IPV6_V6ONLY: i32 = 26;
const IPV6_RECVPKTINFO: i32 = 49;
const IPV6_PKTINFO: i32 = 50;
const IPV6_RECVHOPLIMIT: i32 = 51;
const IPV6_HOPLIMIT: i32 = 52;
const ICMPV6_FILTER: i32 = 1;

fn a6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn b6() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}

fn s6(ip: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(ip), port)
}

/// The pair with IPv6 addresses too, after DAD made them usable.
fn pair6(seed: u64) -> Pair {
    let mut p = Pair::new(seed);
    p.a.addr_add(0, p.a_eth, IpAddr::V6(a6()), 64).unwrap();
    p.b.addr_add(0, p.b_eth, IpAddr::V6(b6()), 64).unwrap();
    p.drive_for(3 * SEC);
    p
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Which kernel of the pair.
fn k(p: &mut Pair, a: bool) -> &mut Kernel {
    if a { &mut p.a } else { &mut p.b }
}

/// Streams `data` from (`from_a`, `s`) to the other side's `r`, reading as it arrives.
fn stream(p: &mut Pair, from_a: bool, s: i32, r: i32, data: &[u8]) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..100_000 {
        if got.len() == data.len() {
            break;
        }
        let now = p.now;
        if sent < data.len()
            && let Ok(n) = k(p, from_a).send(now, s, &data[sent..], 0)
        {
            sent += n;
        }
        p.drive_for(10_000_000);
        let now = p.now;
        while let Ok(n) = k(p, !from_a).recv(now, r, &mut buf, 0) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }
    got
}

/// A connected TCP pair: A's socket to B's listener on `to`; (a, listener, b child, peer).
fn tcp_connect(p: &mut Pair, a_domain: i32, to: SocketAddr, l: i32) -> (i32, i32, SocketAddr) {
    let c = p.a.socket(a_domain, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    assert_eq!(p.a.connect(p.now, c, to), Err(Errno::EINPROGRESS));
    p.drive();
    let (child, peer) = p.b.accept(p.now, l, 0).unwrap();
    (c, child, peer)
}

fn listener6(p: &mut Pair, port: u16, v6only: bool) -> i32 {
    let l = p.b.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    if v6only {
        p.b.setsockopt_int(0, l, SOL_IPV6, IPV6_V6ONLY, 1).unwrap();
    }
    p.b.bind(l, s6(Ipv6Addr::UNSPECIFIED, port)).unwrap();
    p.b.listen(l, 16).unwrap();
    l
}

#[test]
fn tcp_one_mib_over_ipv6_both_ways() {
    let mut p = pair6(1);
    let l = listener6(&mut p, 80, false);
    let (c, child, peer) = tcp_connect(&mut p, AF_INET6, s6(b6(), 80), l);
    let local = p.a.getsockname(c).unwrap();
    assert_eq!((local.ip(), peer), (IpAddr::V6(a6()), local));
    assert_eq!(p.a.getpeername(c).unwrap(), s6(b6(), 80));
    assert_eq!(p.b.getsockname(child).unwrap(), s6(b6(), 80));
    // Linux's MSS over IPv6: 1500 - 40 - 20, less 12 for timestamps.
    assert_eq!(p.a.tcp_info(c).unwrap().snd_mss, 1428);
    assert_eq!(p.a.getsockopt_int(c, SOL_TCP, TCP_MAXSEG).unwrap(), 1428);
    let data = pattern(1 << 20);
    assert_eq!(stream(&mut p, true, c, child, &data), data);
    let back: Vec<u8> = data.iter().rev().copied().collect();
    assert_eq!(stream(&mut p, false, child, c, &back), back);
    p.a.close(p.now, c).unwrap();
    p.b.close(p.now, child).unwrap();
    p.drive();
}

#[test]
fn dual_stack_listener_takes_ipv4_and_ipv6_clients() {
    let mut p = pair6(2);
    let l = listener6(&mut p, 8080, false);
    let (c4, child4, peer4) = tcp_connect(&mut p, AF_INET, sa(B_IP, 8080), l);
    let port4 = p.a.getsockname(c4).unwrap().port();
    assert_eq!(peer4.to_string(), format!("[::ffff:10.0.0.1]:{port4}"));
    assert_eq!(p.b.getsockname(child4).unwrap().to_string(), "[::ffff:10.0.0.2]:8080");
    let (c6, child6, peer6) = tcp_connect(&mut p, AF_INET6, s6(b6(), 8080), l);
    assert_eq!(peer6, p.a.getsockname(c6).unwrap());
    // An AF_INET6 client reaching IPv4 through a v4-mapped address (`tcp_v6_connect` ->
    // `tcp_v4_connect`): both ends named v4-mapped on the AF_INET6 sockets.
    let mapped = s6(B_IP.to_ipv6_mapped(), 8080);
    let (cm, childm, peerm) = tcp_connect(&mut p, AF_INET6, mapped, l);
    assert_eq!(p.a.getpeername(cm).unwrap(), mapped);
    let local = p.a.getsockname(cm).unwrap();
    assert_eq!(local.ip(), IpAddr::V6(std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()));
    assert_eq!(peerm, local);
    let d = pattern(50_000);
    assert_eq!(stream(&mut p, true, c4, child4, &d), d);
    assert_eq!(stream(&mut p, true, c6, child6, &d), d);
    assert_eq!(stream(&mut p, true, cm, childm, &d), d);
    // The IPv4 client's connection shows in /proc/net/tcp6 v4-mapped, not in tcp.
    let tcp6 = p.b.proc_read(p.now, "/proc/net/tcp6").unwrap();
    assert!(tcp6.contains("0000000000000000FFFF00000200000A:1F90"), "{tcp6}");
    let tcp = p.b.proc_read(p.now, "/proc/net/tcp").unwrap();
    assert!(!tcp.contains(":1F90"), "{tcp}");
    // An IPv6-only listener refuses IPv4: the SYN is answered with a reset.
    let l2 = listener6(&mut p, 8081, true);
    let c = p.a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let _ = p.a.connect(p.now, c, sa(B_IP, 8081));
    p.drive();
    assert_eq!(p.a.connect(p.now, c, sa(B_IP, 8081)), Err(Errno::ECONNREFUSED));
    assert_eq!(p.b.accept(p.now, l2, 0).map(|x| x.0), Err(Errno::EAGAIN));
}

/// Reads the (level, type, data) control messages of the last read.
fn cmsgs(c: &[u8]) -> Vec<(i32, i32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = c;
    while rest.len() >= 16 {
        let len = u64::from_ne_bytes(rest[..8].try_into().unwrap()) as usize;
        let level = i32::from_ne_bytes(rest[8..12].try_into().unwrap());
        let ty = i32::from_ne_bytes(rest[12..16].try_into().unwrap());
        out.push((level, ty, rest[16..len].to_vec()));
        rest = &rest[len.next_multiple_of(8).min(rest.len())..];
    }
    out
}

fn cmsg(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
    let mut out = ((16 + data.len()) as u64).to_ne_bytes().to_vec();
    out.extend_from_slice(&level.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(8), 0);
    out
}

#[test]
fn udp_pktinfo_and_hoplimit_cmsgs() {
    let mut p = pair6(3);
    let srv = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.b.bind(srv, s6(Ipv6Addr::UNSPECIFIED, 5353)).unwrap();
    p.b.setsockopt_int(0, srv, SOL_IPV6, IPV6_RECVPKTINFO, 1).unwrap();
    p.b.setsockopt_int(0, srv, SOL_IPV6, IPV6_RECVHOPLIMIT, 1).unwrap();
    let cli = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    // The socket's hop limit, then one datagram overriding it with IPV6_HOPLIMIT.
    p.a.setsockopt_int(0, cli, SOL_IPV6, IPV6_UNICAST_HOPS, 9).unwrap();
    assert_eq!(p.a.sendto(0, cli, b"one", 0, Some(s6(b6(), 5353))), Ok(3));
    let ctl = cmsg(SOL_IPV6, IPV6_HOPLIMIT, &3i32.to_ne_bytes());
    let n = p.a.sendmsg_control(0, cli, &[b"two"], 0, Some(s6(b6(), 5353)), &ctl);
    assert_eq!(n, Ok(3));
    p.drive();
    let mut buf = [0u8; 64];
    for (want, hops) in [(&b"one"[..], 9), (&b"two"[..], 3)] {
        let (n, from) = p.b.recvfrom(p.now, srv, &mut buf, 0).unwrap();
        assert_eq!(&buf[..n], want);
        let cport = p.a.getsockname(cli).unwrap().port();
        assert_eq!(from.unwrap(), s6(a6(), cport));
        let c = cmsgs(&p.b.recvmsg_control(srv).unwrap());
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!((c[0].0, c[0].1), (SOL_IPV6, IPV6_PKTINFO));
        assert_eq!(&c[0].2[..16], &b6().octets());
        assert_eq!(i32::from_ne_bytes(c[0].2[16..20].try_into().unwrap()), p.b_eth as i32);
        assert_eq!((c[1].0, c[1].1), (SOL_IPV6, IPV6_HOPLIMIT));
        assert_eq!(i32::from_ne_bytes(c[1].2[..4].try_into().unwrap()), hops);
    }
    // IPV6_PKTINFO out: the source address for one datagram (must be ours).
    let mut pi = a6().octets().to_vec();
    pi.extend_from_slice(&0i32.to_ne_bytes());
    let ctl = cmsg(SOL_IPV6, IPV6_PKTINFO, &pi);
    assert_eq!(p.a.sendmsg_control(p.now, cli, &[b"3"], 0, Some(s6(b6(), 5353)), &ctl), Ok(1));
    let mut bad = "2001:db8::77".parse::<Ipv6Addr>().unwrap().octets().to_vec();
    bad.extend_from_slice(&0i32.to_ne_bytes());
    let ctl = cmsg(SOL_IPV6, IPV6_PKTINFO, &bad);
    let r = p.a.sendmsg_control(p.now, cli, &[b"4"], 0, Some(s6(b6(), 5353)), &ctl);
    assert_eq!(r, Err(Errno::EINVAL));
}

#[test]
fn udp_v6only_and_dual_stack() {
    let mut p = pair6(4);
    let only = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.b.setsockopt_int(0, only, SOL_IPV6, IPV6_V6ONLY, 1).unwrap();
    p.b.bind(only, s6(Ipv6Addr::UNSPECIFIED, 7000)).unwrap();
    let four = p.b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    p.b.bind(four, sa(std::net::Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
    let dual = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    assert_eq!(p.b.bind(dual, s6(Ipv6Addr::UNSPECIFIED, 7000)), Err(Errno::EADDRINUSE));
    p.b.bind(dual, s6(Ipv6Addr::UNSPECIFIED, 7001)).unwrap();
    let c4 = p.a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let c6 = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.a.sendto(0, c4, b"v4", 0, Some(sa(B_IP, 7000))).unwrap();
    p.a.sendto(0, c6, b"v6", 0, Some(s6(b6(), 7000))).unwrap();
    p.a.sendto(0, c4, b"m4", 0, Some(sa(B_IP, 7001))).unwrap();
    p.drive();
    let mut buf = [0u8; 16];
    let (n, _) = p.b.recvfrom(p.now, four, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"v4");
    let (n, _) = p.b.recvfrom(p.now, only, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"v6");
    let (n, from) = p.b.recvfrom(p.now, dual, &mut buf, 0).unwrap();
    let port = p.a.getsockname(c4).unwrap().port();
    assert_eq!(
        (&buf[..n], from.unwrap().to_string()),
        (&b"m4"[..], format!("[::ffff:10.0.0.1]:{port}"))
    );
    // A dual-stack UDP socket also takes a plain sockaddr_in (`udpv6_sendmsg`); an
    // IPv6-only one refuses IPv4 with ENETUNREACH.
    assert_eq!(p.b.sendto(p.now, dual, b"plain", 0, Some(sa(A_IP, port))), Ok(5));
    let r = p.b.sendto(p.now, only, b"no", 0, Some(sa(A_IP, port)));
    assert_eq!(r, Err(Errno::ENETUNREACH));
    p.drive();
    let (n, _) = p.a.recvfrom(p.now, c4, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"plain");
    // A v4-mapped destination from a dual-stack socket goes out as IPv4.
    let (n2, _) = (p.b.sendto(p.now, dual, b"back", 0, from), 0);
    assert_eq!(n2, Ok(4));
    p.drive();
    let (n, from) = p.a.recvfrom(p.now, c4, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from.unwrap()), (&b"back"[..], sa(B_IP, 7001)));
}

#[test]
fn icmpv6_port_unreachable_refuses_connected_udp() {
    let mut p = pair6(5);
    let c = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.a.connect(0, c, s6(b6(), 9)).unwrap();
    assert_eq!(p.a.getsockname(c).unwrap().ip(), IpAddr::V6(a6()));
    assert_eq!(p.a.send(p.now, c, b"anyone?", 0), Ok(7));
    p.drive();
    let mut buf = [0u8; 16];
    assert_eq!(p.a.recv(p.now, c, &mut buf, 0), Err(Errno::ECONNREFUSED));
    assert_eq!(p.a.recv(p.now, c, &mut buf, 0), Err(Errno::EAGAIN));
}

#[test]
fn raw_icmpv6_echo_with_kernel_checksum() {
    let mut p = pair6(6);
    let s = p.a.socket(AF_INET6, SOCK_RAW, 58).unwrap();
    p.a.setsockopt_int(0, s, SOL_IPV6, IPV6_RECVHOPLIMIT, 1).unwrap();
    // Only echo replies (ping's ICMP6_FILTER_SETPASS of type 129).
    let mut f = [0xffu8; 32];
    f[16..20].copy_from_slice(&(!(1u32 << 1)).to_ne_bytes());
    p.a.setsockopt(0, s, SOL_ICMPV6, ICMPV6_FILTER, &f).unwrap();
    // Echo request, checksum left zero: the kernel fills it (RFC 3542 §3.1).
    let req = [128, 0, 0, 0, 0x12, 0x34, 0, 1, b'p', b'i', b'n', b'g'];
    assert_eq!(p.a.sendto(0, s, &req, 0, Some(s6(b6(), 0))), Ok(req.len()));
    p.drive();
    let mut buf = [0u8; 64];
    let (n, from) = p.a.recvfrom(p.now, s, &mut buf, 0).unwrap();
    assert_eq!(from.unwrap(), s6(b6(), 0));
    assert_eq!(buf[0], 129, "echo reply");
    assert_eq!(&buf[4..n], &req[4..], "identifier, sequence and data echoed");
    let c = cmsgs(&p.a.recvmsg_control(s).unwrap());
    assert_eq!((c[0].0, c[0].1), (SOL_IPV6, IPV6_HOPLIMIT));
    assert_eq!(i32::from_ne_bytes(c[0].2[..4].try_into().unwrap()), 64);
    assert_eq!(p.a.recvfrom(p.now, s, &mut buf, 0), Err(Errno::EAGAIN), "one reply only");
}

/// An ICMPv6 Packet Too Big from B's address quoting `quoted` (RFC 4443 §3.2).
fn packet_too_big(from: Ipv6Addr, to: Ipv6Addr, mtu: u32, quoted: &[u8]) -> Vec<u8> {
    let mut msg = vec![2, 0, 0, 0];
    msg.extend_from_slice(&mtu.to_be_bytes());
    msg.extend_from_slice(&quoted[..quoted.len().min(1232)]);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&from.octets());
    pseudo.extend_from_slice(&to.octets());
    pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&msg);
    let mut sum: u32 = 0;
    for c in pseudo.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    msg[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[58, 64]);
    ip.extend_from_slice(&from.octets());
    ip.extend_from_slice(&to.octets());
    ip.extend_from_slice(&msg);
    ip
}

/// Moves frames both ways until quiet (timers within 1 ms), like `Pair::drive`;
/// returns the largest IP packet A sent.
fn drive_watching_a(p: &mut Pair) -> usize {
    let mut biggest = 0;
    for _ in 0..10_000 {
        let mut moved = false;
        while let Some(t) = p.a.poll_transmit() {
            biggest = biggest.max(t.frame.len() - 14);
            p.b.dev_rx(p.now, p.b_eth, &t.frame);
            moved = true;
        }
        while let Some(t) = p.b.poll_transmit() {
            p.a.dev_rx(p.now, p.a_eth, &t.frame);
            moved = true;
        }
        if moved {
            continue;
        }
        let end = p.now + 1_000_000;
        match [p.a.next_deadline(), p.b.next_deadline()].into_iter().flatten().min() {
            Some(d) if d <= end => {
                p.now = p.now.max(d);
                p.a.advance(p.now);
                p.b.advance(p.now);
            }
            _ => return biggest,
        }
    }
    panic!("did not settle");
}

#[test]
fn packet_too_big_shrinks_tcp_segments() {
    let mut p = pair6(7);
    let l = listener6(&mut p, 80, false);
    let (c, child, _) = tcp_connect(&mut p, AF_INET6, s6(b6(), 80), l);
    assert_eq!(p.a.tcp_info(c).unwrap().snd_mss, 1428);
    let data = pattern(400_000);
    // A first flight; keep one full-size packet A sent (B gets the flight).
    let n1 = p.a.send(p.now, c, &data[..30_000], 0).unwrap();
    let mut big = None;
    while let Some(t) = p.a.poll_transmit() {
        if big.is_none() && t.frame.len() - 14 == 1500 {
            big = Some(t.frame[14..].to_vec());
        }
        p.b.dev_rx(p.now, p.b_eth, &t.frame);
    }
    let big = big.expect("a 1500-byte packet");
    // A router toward B has a 1280-byte link: it answers Packet Too Big (RFC 8201).
    let mut frame = p.a.dev(p.a_eth).unwrap().mac.0.to_vec();
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 0x99, 0x86, 0xdd]);
    frame.extend_from_slice(&packet_too_big(b6(), a6(), 1280, &big));
    p.a.dev_rx(p.now, p.a_eth, &frame);
    // Linux: MSS = 1280 - 40 - 20, less 12 for timestamps.
    assert_eq!(p.a.tcp_info(c).unwrap().snd_mss, 1208);
    let biggest = drive_watching_a(&mut p);
    assert!(biggest <= 1280, "a {biggest}-byte packet after PTB 1280");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = p.b.recv(p.now, child, &mut buf, 0) {
        got.extend_from_slice(&buf[..n]);
    }
    got.extend(stream(&mut p, true, c, child, &data[n1..]));
    assert_eq!(got, data);
}

#[test]
fn traffic_class_set_and_received() {
    const IPV6_RECVTCLASS: i32 = 66;
    const IPV6_TCLASS: i32 = 67;
    let mut p = pair6(8);
    let srv = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.b.bind(srv, s6(b6(), 4000)).unwrap();
    p.b.setsockopt_int(0, srv, SOL_IPV6, IPV6_RECVTCLASS, 1).unwrap();
    let cli = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.a.setsockopt_int(0, cli, SOL_IPV6, IPV6_TCLASS, 0x28).unwrap();
    p.a.sendto(0, cli, b"af11", 0, Some(s6(b6(), 4000))).unwrap();
    let ctl = cmsg(SOL_IPV6, IPV6_TCLASS, &0xb8i32.to_ne_bytes());
    p.a.sendmsg_control(0, cli, &[b"ef"], 0, Some(s6(b6(), 4000)), &ctl).unwrap();
    p.drive();
    let mut buf = [0u8; 16];
    for want in [0x28, 0xb8] {
        p.b.recvfrom(p.now, srv, &mut buf, 0).unwrap();
        let c = cmsgs(&p.b.recvmsg_control(srv).unwrap());
        assert_eq!((c[0].0, c[0].1), (SOL_IPV6, IPV6_TCLASS));
        assert_eq!(i32::from_ne_bytes(c[0].2[..4].try_into().unwrap()), want);
    }
}

#[test]
fn multicast_group_joined_by_a_socket() {
    const IPV6_JOIN_GROUP: i32 = 20;
    const IPV6_LEAVE_GROUP: i32 = 21;
    let mut p = pair6(10);
    let g: Ipv6Addr = "ff12::1234".parse().unwrap();
    let srv = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.b.bind(srv, s6(Ipv6Addr::UNSPECIFIED, 5000)).unwrap();
    let mut mreq = g.octets().to_vec();
    mreq.extend_from_slice(&(p.b_eth as i32).to_ne_bytes());
    p.b.setsockopt(0, srv, SOL_IPV6, IPV6_JOIN_GROUP, &mreq).unwrap();
    assert_eq!(p.b.setsockopt(0, srv, SOL_IPV6, IPV6_JOIN_GROUP, &mreq), Err(Errno::EADDRINUSE));
    let cli = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    let to = SocketAddr::V6(std::net::SocketAddrV6::new(g, 5000, 0, p.a_eth));
    // A link-scope group needs an interface (EINVAL without one), as Linux.
    let unscoped = s6(g, 5000);
    assert_eq!(p.a.sendto(0, cli, b"x", 0, Some(unscoped)), Err(Errno::EINVAL));
    assert_eq!(p.a.sendto(0, cli, b"hello group", 0, Some(to)), Ok(11));
    p.drive();
    let mut buf = [0u8; 32];
    let (n, from) = p.b.recvfrom(p.now, srv, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"hello group");
    // RFC 6724: a link-scope destination gets the link-local source, named with the
    // arrival interface as its scope.
    let SocketAddr::V6(from) = from.unwrap() else { panic!("not IPv6") };
    assert_eq!((from.ip().segments()[0], from.scope_id()), (0xfe80, p.b_eth));
    // After leaving, the group is no longer heard.
    p.b.setsockopt(0, srv, SOL_IPV6, IPV6_LEAVE_GROUP, &mreq).unwrap();
    p.a.sendto(p.now, cli, b"again", 0, Some(to)).unwrap();
    p.drive();
    assert_eq!(p.b.recvfrom(p.now, srv, &mut buf, 0), Err(Errno::EAGAIN));
}

#[test]
fn large_udp_datagram_is_fragmented_at_the_source() {
    let mut p = pair6(11);
    let cli = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.a.bind(cli, s6(a6(), 6000)).unwrap();
    let msg = pattern(5000);
    // Prime the neighbour cache so every fragment leaves at once.
    p.a.sendto(0, cli, b"hi", 0, Some(s6(b6(), 6001))).unwrap();
    p.drive();
    assert_eq!(p.a.sendto(p.now, cli, &msg, 0, Some(s6(b6(), 6001))), Ok(5000));
    let mut frags = Vec::new();
    while let Some(t) = p.a.poll_transmit() {
        frags.push(t.frame[14..].to_vec());
    }
    // 5008 bytes of UDP in pieces of 1500 - 40 - 8 = 1448 (a multiple of 8).
    assert_eq!(frags.len(), 4, "{:?}", frags.iter().map(Vec::len).collect::<Vec<_>>());
    let mut upper = Vec::new();
    let mut ids = Vec::new();
    for (i, f) in frags.iter().enumerate() {
        assert!(f.len() <= 1500);
        assert_eq!(f[6], 44, "Fragment header");
        let h = &f[40..48];
        assert_eq!(h[0], 17);
        let word = u16::from_be_bytes([h[2], h[3]]);
        assert_eq!((usize::from(word & !7), word & 1 == 1), (upper.len(), i < 3));
        ids.push(u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
        upper.extend_from_slice(&f[48..]);
    }
    assert!(ids.iter().all(|&x| x == ids[0]));
    assert_eq!(upper.len(), 5008);
    assert_eq!(&upper[8..], &msg[..]);
    let sum =
        libos_kernel::wire::checksum::transport(&IpAddr::V6(a6()), &IpAddr::V6(b6()), 17, &upper);
    assert_eq!(sum, 0, "the UDP checksum covers the whole datagram");
    // IPV6_DONTFRAG forbids it.
    const IPV6_DONTFRAG: i32 = 62;
    p.a.setsockopt_int(0, cli, SOL_IPV6, IPV6_DONTFRAG, 1).unwrap();
    let r = p.a.sendto(p.now, cli, &msg, 0, Some(s6(b6(), 6001)));
    assert_eq!(r, Err(Errno::EMSGSIZE));
}

#[test]
fn tcp_and_udp_to_a_link_local_peer_with_a_scope_id() {
    let mut p = pair6(12);
    let ll_of = |k: &Kernel, i: u32| {
        k.addrs6(i).iter().map(|a| a.addr).find(|a| a.segments()[0] == 0xfe80).unwrap()
    };
    let (a_ll, b_ll) = (ll_of(&p.a, p.a_eth), ll_of(&p.b, p.b_eth));
    let l = listener6(&mut p, 90, false);
    let c = p.a.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    // Without a scope id (and no bound device) a link-local peer is EINVAL.
    assert_eq!(p.a.connect(0, c, s6(b_ll, 90)), Err(Errno::EINVAL));
    let to = SocketAddr::V6(std::net::SocketAddrV6::new(b_ll, 90, 0, p.a_eth));
    assert_eq!(p.a.connect(p.now, c, to), Err(Errno::EINPROGRESS));
    p.drive();
    let (child, peer) = p.b.accept(p.now, l, 0).unwrap();
    let SocketAddr::V6(peer) = peer else { panic!("{peer}") };
    assert_eq!((*peer.ip(), peer.scope_id()), (a_ll, p.b_eth), "peer named with its scope");
    assert_eq!(p.a.getpeername(c).unwrap(), to);
    let SocketAddr::V6(local) = p.a.getsockname(c).unwrap() else { panic!() };
    assert_eq!((*local.ip(), local.scope_id()), (a_ll, p.a_eth));
    let d = pattern(20_000);
    assert_eq!(stream(&mut p, true, c, child, &d), d);
    assert_eq!(stream(&mut p, false, child, c, &d), d);
    // UDP: the sender's scope comes back on recvfrom, and a reply to it finds the way.
    let u = p.b.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    p.b.bind(u, s6(Ipv6Addr::UNSPECIFIED, 91)).unwrap();
    let cu = p.a.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    let to = SocketAddr::V6(std::net::SocketAddrV6::new(b_ll, 91, 0, p.a_eth));
    p.a.sendto(p.now, cu, b"ll?", 0, Some(to)).unwrap();
    p.drive();
    let mut buf = [0u8; 8];
    let (_, from) = p.b.recvfrom(p.now, u, &mut buf, 0).unwrap();
    let from = from.unwrap();
    assert_eq!(p.b.sendto(p.now, u, b"ll!", 0, Some(from)), Ok(3));
    p.drive();
    let (n, back) = p.a.recvfrom(p.now, cu, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], back.unwrap()), (&b"ll!"[..], to));
}
