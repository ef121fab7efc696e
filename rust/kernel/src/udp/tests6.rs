//! UdpTable over IPv6 and dual stack, driven through the table (no IP layer): bind
//! conflicts across families, v4-mapped peers, IPV6_V6ONLY, the IPv6 receive control
//! messages, the zero-checksum rule and ICMPv6 errors on connected sockets.

use super::*;
use crate::socket::inet6::*;
use crate::wire::EthernetAddress;
use std::net::SocketAddrV4;
use std::net::SocketAddrV6;

const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const P4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn a6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn p6() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}

fn net() -> Net {
    let mut net = Net::new(7);
    let dev = crate::dev::DeviceConfig::ethernet("eth0", EthernetAddress::local(1));
    let i = net.devs.add(dev).unwrap();
    net.devs.get_mut(i).unwrap().addrs4.push(crate::dev::Ifaddr4 {
        addr: A4,
        prefix_len: 24,
        peer: None,
        broadcast: None,
    });
    net.addr6_add_flags(0, i, a6(), 64, true).unwrap();
    net
}

fn s6(ip: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))
}

fn s4(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn datagram(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr { src_port: src.port(), dst_port: dst.port(), payload_len: payload.len() };
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut p = UdpPacket::new_unchecked(&mut buf[..]);
    repr.emit(&mut p);
    p.payload_mut().copy_from_slice(payload);
    p.fill_checksum(&src.ip(), &dst.ip());
    buf
}

fn rx_raw(t: &mut UdpTable, net: &mut Net, src: SocketAddr, dst: SocketAddr, d: &[u8]) -> Delivery {
    let ip = IpRx {
        src: src.ip(),
        dst: dst.ip(),
        protocol: 17,
        ttl: 63,
        tos: 0x20,
        ifindex: 2,
        multicast_or_broadcast: false,
        packet: d,
    };
    t.input(0, net, &ip, d)
}

fn rx(t: &mut UdpTable, net: &mut Net, src: SocketAddr, dst: SocketAddr, pay: &[u8]) -> Delivery {
    let d = datagram(src, dst, pay);
    rx_raw(t, net, src, dst, &d)
}

fn recv(t: &mut UdpTable, id: u32) -> SysResult<(Vec<u8>, Option<SocketAddr>)> {
    let mut buf = [0u8; 2048];
    let (n, from) = t.recvmsg(id, &mut [&mut buf[..]], 0)?;
    Ok((buf[..n].to_vec(), from))
}

fn set6(t: &mut UdpTable, net: &mut Net, id: u32, name: i32, v: i32) -> SysResult<()> {
    t.setsockopt(0, net, id, SOL_IPV6, name, &v.to_ne_bytes())
}

#[test]
fn dual_stack_socket_takes_ipv4_as_mapped() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    t.bind(&mut net, s, s6(Ipv6Addr::UNSPECIFIED, 5000)).unwrap();
    assert_eq!(t.local_addr(s).unwrap().to_string(), "[::]:5000");
    assert_eq!(rx(&mut t, &mut net, s4(P4, 9), s4(A4, 5000), b"four"), Delivery::Consumed);
    assert_eq!(rx(&mut t, &mut net, s6(p6(), 9), s6(a6(), 5000), b"six"), Delivery::Consumed);
    let (d, from) = recv(&mut t, s).unwrap();
    assert_eq!(
        (d.as_slice(), from.unwrap().to_string()),
        (&b"four"[..], "[::ffff:10.0.0.2]:9".into())
    );
    let (d, from) = recv(&mut t, s).unwrap();
    assert_eq!((d.as_slice(), from.unwrap().to_string()), (&b"six"[..], "[2001:db8::2]:9".into()));
    // An IPv4 socket on the same port conflicts with the dual-stack wildcard.
    let v4 = t.open(&mut net, AF_INET, 0).unwrap();
    assert_eq!(t.bind(&mut net, v4, s4(Ipv4Addr::UNSPECIFIED, 5000)), Err(Errno::EADDRINUSE));
    assert_eq!(t.bind(&mut net, v4, s4(A4, 5000)), Err(Errno::EADDRINUSE));
}

#[test]
fn v6only_splits_the_families() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    set6(&mut t, &mut net, s, IPV6_V6ONLY, 1).unwrap();
    t.bind(&mut net, s, s6(Ipv6Addr::UNSPECIFIED, 5000)).unwrap();
    assert_eq!(set6(&mut t, &mut net, s, IPV6_V6ONLY, 0), Err(Errno::EINVAL), "after bind");
    let v4 = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, v4, s4(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    rx(&mut t, &mut net, s4(P4, 9), s4(A4, 5000), b"four");
    rx(&mut t, &mut net, s6(p6(), 9), s6(a6(), 5000), b"six");
    assert_eq!(recv(&mut t, v4).unwrap().0, b"four");
    assert_eq!(recv(&mut t, s).unwrap().0, b"six");
    assert_eq!(recv(&mut t, s), Err(Errno::EAGAIN));
    // A v4-mapped bind on an IPv6-only socket is EINVAL; a second `::` conflicts.
    let o = t.open(&mut net, AF_INET6, 0).unwrap();
    set6(&mut t, &mut net, o, IPV6_V6ONLY, 1).unwrap();
    assert_eq!(t.bind(&mut net, o, s6(A4.to_ipv6_mapped(), 6000)), Err(Errno::EINVAL));
    assert_eq!(t.bind(&mut net, o, s6(Ipv6Addr::UNSPECIFIED, 5000)), Err(Errno::EADDRINUSE));
}

#[test]
fn specific_v6_bind_is_v6only_and_checked() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    let other: Ipv6Addr = "2001:db8::99".parse().unwrap();
    assert_eq!(t.bind(&mut net, s, s6(other, 7000)), Err(Errno::EADDRNOTAVAIL));
    // Link-local without an interface is EINVAL (`__inet6_bind`).
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    assert_eq!(t.bind(&mut net, s, s6(ll, 7000)), Err(Errno::EINVAL));
    t.bind(&mut net, s, s6(a6(), 7000)).unwrap();
    let mut out = [0u8; 4];
    t.getsockopt(&net, s, SOL_IPV6, IPV6_V6ONLY, &mut out).unwrap();
    assert_eq!(i32::from_ne_bytes(out), 1, "a specific address implies V6ONLY");
    let v4 = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, v4, s4(Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
    // v4-mapped bind on a dual-stack socket is IPv4 to the kernel.
    let m = t.open(&mut net, AF_INET6, 0).unwrap();
    assert_eq!(t.bind(&mut net, m, s6(A4.to_ipv6_mapped(), 7000)), Err(Errno::EADDRINUSE));
    t.bind(&mut net, m, s6(A4.to_ipv6_mapped(), 7001)).unwrap();
    assert_eq!(t.local_addr(m).unwrap().to_string(), "[::ffff:10.0.0.1]:7001");
    rx(&mut t, &mut net, s4(P4, 9), s4(A4, 7001), b"m");
    assert_eq!(recv(&mut t, m).unwrap().1.unwrap().to_string(), "[::ffff:10.0.0.2]:9");
}

#[test]
fn pktinfo_hoplimit_tclass_cmsgs() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    t.bind(&mut net, s, s6(Ipv6Addr::UNSPECIFIED, 5000)).unwrap();
    for o in [IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS] {
        set6(&mut t, &mut net, s, o, 1).unwrap();
    }
    rx(&mut t, &mut net, s6(p6(), 9), s6(a6(), 5000), b"x");
    recv(&mut t, s).unwrap();
    let c = t.recv_control(&net, s);
    // in6_pktinfo (20 bytes → 40 with header and padding), two ints (24 each).
    assert_eq!(c.len(), 40 + 24 + 24);
    assert_eq!(i32::from_ne_bytes(c[8..12].try_into().unwrap()), SOL_IPV6);
    assert_eq!(i32::from_ne_bytes(c[12..16].try_into().unwrap()), IPV6_PKTINFO);
    assert_eq!(&c[16..32], &a6().octets());
    assert_eq!(i32::from_ne_bytes(c[32..36].try_into().unwrap()), 2);
    assert_eq!(i32::from_ne_bytes(c[52..56].try_into().unwrap()), IPV6_HOPLIMIT);
    assert_eq!(i32::from_ne_bytes(c[56..60].try_into().unwrap()), 63);
    assert_eq!(i32::from_ne_bytes(c[76..80].try_into().unwrap()), IPV6_TCLASS);
    assert_eq!(i32::from_ne_bytes(c[80..84].try_into().unwrap()), 0x20);
    // IPv4 through the dual-stack socket: only IPV6_PKTINFO, with the mapped address.
    rx(&mut t, &mut net, s4(P4, 9), s4(A4, 5000), b"y");
    recv(&mut t, s).unwrap();
    let c = t.recv_control(&net, s);
    assert_eq!(c.len(), 40);
    assert_eq!(&c[16..32], &A4.to_ipv6_mapped().octets());
}

#[test]
fn zero_checksum_is_invalid_over_ipv6() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    t.bind(&mut net, s, s6(Ipv6Addr::UNSPECIFIED, 5000)).unwrap();
    let mut d = datagram(s6(p6(), 9), s6(a6(), 5000), b"zero");
    d[6] = 0;
    d[7] = 0;
    assert_eq!(rx_raw(&mut t, &mut net, s6(p6(), 9), s6(a6(), 5000), &d), Delivery::Dropped);
    assert_eq!((t.mib.in_csum_errors, t.mib.in_errors), (1, 1));
    assert_eq!(recv(&mut t, s), Err(Errno::EAGAIN));
    // Over IPv4 it still means "no checksum".
    let mut d = datagram(s4(P4, 9), s4(A4, 5000), b"zero");
    d[6] = 0;
    d[7] = 0;
    assert_eq!(rx_raw(&mut t, &mut net, s4(P4, 9), s4(A4, 5000), &d), Delivery::Consumed);
}

#[test]
fn icmpv6_port_unreachable_refuses_a_connected_socket() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    t.bind(&mut net, s, s6(a6(), 5000)).unwrap();
    t.socks.get_mut(s).unwrap().peer = Some(s6(p6(), 9));
    let quoted = datagram(s6(a6(), 5000), s6(p6(), 9), b"q");
    let err = IcmpError {
        errno: Errno::ECONNREFUSED,
        fatal: true,
        icmp_type: 1,
        icmp_code: 4,
        mtu: None,
        reporter: IpAddr::V6(p6()),
        src: IpAddr::V6(a6()),
        dst: IpAddr::V6(p6()),
        protocol: 17,
        quoted: &quoted,
    };
    t.icmp_error(0, &mut net, &err);
    assert_eq!(recv(&mut t, s), Err(Errno::ECONNREFUSED));
    assert_eq!(t.peer_addr(s).unwrap().to_string(), "[2001:db8::2]:9");
}

#[test]
fn sockopt_family_rules() {
    let mut net = net();
    let mut t = UdpTable::default();
    let v4 = t.open(&mut net, AF_INET, 0).unwrap();
    assert_eq!(set6(&mut t, &mut net, v4, IPV6_UNICAST_HOPS, 5), Err(Errno::ENOPROTOOPT));
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    set6(&mut t, &mut net, s, IPV6_UNICAST_HOPS, 5).unwrap();
    // SOL_IP options still apply to IPv4 through an AF_INET6 socket.
    t.setsockopt(0, &mut net, s, SOL_IP, IP_TTL, &9i32.to_ne_bytes()).unwrap();
    let mut out = [0u8; 4];
    t.getsockopt(&net, s, SOL_IPV6, IPV6_MTU, &mut out).unwrap_err();
    assert_eq!(t.getsockopt(&net, s, SOL_IPV6, IPV6_MTU, &mut out), Err(Errno::ENOTCONN));
}

#[test]
fn ipv6_recverr_queues_the_error_with_its_offender() {
    let mut net = net();
    let mut t = UdpTable::default();
    let s = t.open(&mut net, AF_INET6, 0).unwrap();
    t.bind(&mut net, s, s6(a6(), 5000)).unwrap();
    set6(&mut t, &mut net, s, IPV6_RECVERR, 1).unwrap();
    let quoted = datagram(s6(a6(), 5000), s6(p6(), 9), b"lost");
    let router: Ipv6Addr = "2001:db8::fe".parse().unwrap();
    let err = IcmpError {
        errno: Errno::EHOSTUNREACH,
        fatal: true,
        icmp_type: 1,
        icmp_code: 3,
        mtu: None,
        reporter: IpAddr::V6(router),
        src: IpAddr::V6(a6()),
        dst: IpAddr::V6(p6()),
        protocol: 17,
        quoted: &quoted,
    };
    t.icmp_error(0, &mut net, &err);
    let mut buf = [0u8; 64];
    let (n, to) = t.recvmsg(s, &mut [&mut buf[..]], MSG_ERRQUEUE).unwrap();
    assert_eq!((&buf[..n], to.unwrap().to_string()), (&b"lost"[..], "[2001:db8::2]:9".into()));
    let c = t.recv_control(&net, s);
    assert_eq!(c.len(), 16 + 44 + 4, "sock_extended_err + sockaddr_in6, padded");
    assert_eq!(i32::from_ne_bytes(c[8..12].try_into().unwrap()), SOL_IPV6);
    assert_eq!(i32::from_ne_bytes(c[12..16].try_into().unwrap()), IPV6_RECVERR);
    assert_eq!(u32::from_ne_bytes(c[16..20].try_into().unwrap()), 113, "EHOSTUNREACH");
    assert_eq!(&c[20..23], &[3, 1, 3], "SO_EE_ORIGIN_ICMP6, type, code");
    assert_eq!(u16::from_ne_bytes(c[32..34].try_into().unwrap()), AF_INET6 as u16);
    assert_eq!(&c[40..56], &router.octets());
    // The pending error was reported by the read of the queue.
    assert_eq!(recv(&mut t, s), Err(Errno::EAGAIN));
}
