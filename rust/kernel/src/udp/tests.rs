//! UdpTable unit tests: binding rules, demultiplexing, queueing and errors, driven
//! through the table directly (no IP layer needed).

use super::*;
use crate::dev::{DeviceConfig, Ifaddr4};
use crate::wire::EthernetAddress;
use std::net::SocketAddrV4;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn net() -> Net {
    let mut net = Net::new(7);
    let i = net.devs.add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
    net.devs.get_mut(i).unwrap().addrs4.push(Ifaddr4 {
        addr: A,
        prefix_len: 24,
        peer: None,
        broadcast: Some(Ipv4Addr::new(10, 0, 0, 255)),
    });
    net
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn set(t: &mut UdpTable, net: &mut Net, id: u32, name: i32, v: i32) {
    t.setsockopt(0, net, id, SOL_SOCKET, name, &v.to_ne_bytes()).unwrap();
}

/// A UDP datagram from `src` to `dst` with a valid checksum.
fn datagram(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr { src_port: src.port(), dst_port: dst.port(), payload_len: payload.len() };
    let mut buf = vec![0u8; repr.buffer_len()];
    let mut p = UdpPacket::new_unchecked(&mut buf[..]);
    repr.emit(&mut p);
    p.payload_mut().copy_from_slice(payload);
    p.fill_checksum(&IpAddr::V4(*src.ip()), &IpAddr::V4(*dst.ip()));
    buf
}

fn rx(
    t: &mut UdpTable,
    net: &mut Net,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Delivery {
    let d = datagram(src, dst, payload);
    let ip = IpRx {
        src: IpAddr::V4(*src.ip()),
        dst: IpAddr::V4(*dst.ip()),
        protocol: 17,
        ttl: 64,
        tos: 0,
        ifindex: 2,
        multicast_or_broadcast: false,
        packet: &d,
    };
    t.input(0, net, &ip, &d)
}

fn recv(t: &mut UdpTable, id: u32) -> SysResult<(Vec<u8>, Option<SocketAddr>)> {
    let mut buf = [0u8; 2048];
    let (n, from) = t.recvmsg(id, &mut [&mut buf[..]], 0)?;
    Ok((buf[..n].to_vec(), from))
}

#[test]
fn bind_rules() {
    let mut net = net();
    let mut t = UdpTable::default();
    let a = t.open(&mut net, AF_INET, 0).unwrap();
    let b = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, a, sa(A, 5000)).unwrap();
    assert_eq!(t.bind(&mut net, a, sa(A, 5001)), Err(Errno::EINVAL), "re-bind");
    assert_eq!(t.bind(&mut net, b, sa(Ipv4Addr::UNSPECIFIED, 5000)), Err(Errno::EADDRINUSE));
    assert_eq!(
        t.bind(&mut net, b, sa(Ipv4Addr::new(10, 9, 9, 9), 5000)),
        Err(Errno::EADDRNOTAVAIL)
    );
    // A failed bind leaves the socket unbound.
    assert_eq!(t.local_addr(b).unwrap(), sa(Ipv4Addr::UNSPECIFIED, 0));
    // Different specific addresses never conflict.
    t.bind(&mut net, b, sa(Ipv4Addr::LOCALHOST, 5000)).unwrap();
    // ip_nonlocal_bind lifts the address check.
    let c = t.open(&mut net, AF_INET, 0).unwrap();
    net.sysctl.ipv4.ip_nonlocal_bind = true;
    t.bind(&mut net, c, sa(Ipv4Addr::new(192, 0, 2, 1), 5000)).unwrap();
    // Broadcast addresses are bindable.
    let d = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, d, sa(Ipv4Addr::new(10, 0, 0, 255), 5000)).unwrap();
    assert_eq!(t.bind(&mut net, d, "[::1]:1".parse().unwrap()), Err(Errno::EAFNOSUPPORT));
}

#[test]
fn reuseaddr_needs_both_sides() {
    let mut net = net();
    let mut t = UdpTable::default();
    let a = t.open(&mut net, AF_INET, 0).unwrap();
    let b = t.open(&mut net, AF_INET, 0).unwrap();
    set(&mut t, &mut net, a, SO_REUSEADDR, 1);
    t.bind(&mut net, a, sa(Ipv4Addr::UNSPECIFIED, 53)).unwrap();
    assert_eq!(t.bind(&mut net, b, sa(A, 53)), Err(Errno::EADDRINUSE));
    set(&mut t, &mut net, b, SO_REUSEADDR, 1);
    t.bind(&mut net, b, sa(A, 53)).unwrap();
    // The specific address outranks the wildcard for unicast.
    let from = SocketAddrV4::new(PEER, 9);
    assert_eq!(rx(&mut t, &mut net, from, SocketAddrV4::new(A, 53), b"x"), Delivery::Consumed);
    assert!(recv(&mut t, b).is_ok());
    assert_eq!(recv(&mut t, a), Err(Errno::EAGAIN));
}

#[test]
fn reuseport_group_spreads_flows_deterministically() {
    let mut net = net();
    let mut t = UdpTable::default();
    let ids: Vec<u32> = (0..3).map(|_| t.open(&mut net, AF_INET, 0).unwrap()).collect();
    for &id in &ids {
        set(&mut t, &mut net, id, SO_REUSEPORT, 1);
        t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 4000)).unwrap();
    }
    for port in 1000..1060 {
        rx(&mut t, &mut net, SocketAddrV4::new(PEER, port), SocketAddrV4::new(A, 4000), b"x");
    }
    let counts: Vec<usize> = ids.iter().map(|&id| t.socks.get(id).unwrap().rxq.len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 60);
    assert!(counts.iter().all(|&c| c > 5), "{counts:?}");
}

#[test]
fn ephemeral_ports_follow_the_seed() {
    let ports = |seed| {
        let mut net = Net::new(seed);
        let mut t = UdpTable::default();
        (0..5)
            .map(|_| {
                let id = t.open(&mut net, AF_INET, 0).unwrap();
                t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
                t.local_addr(id).unwrap().port()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ports(1), ports(1));
    assert_ne!(ports(1), ports(2));
    assert!(ports(3).iter().all(|p| (32768..=60999).contains(p)));
}

#[test]
fn ephemeral_range_exhaustion() {
    let mut net = Net::new(0);
    net.sysctl.ipv4.ip_local_port_range = [40000, 40001];
    let mut t = UdpTable::default();
    for _ in 0..2 {
        let id = t.open(&mut net, AF_INET, 0).unwrap();
        t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    }
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    assert_eq!(t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 0)), Err(Errno::EADDRINUSE));
}

#[test]
fn connected_socket_preferred_over_wildcard() {
    let mut net = net();
    let mut t = UdpTable::default();
    let wild = t.open(&mut net, AF_INET, 0).unwrap();
    let conn = t.open(&mut net, AF_INET, 0).unwrap();
    set(&mut t, &mut net, wild, SO_REUSEADDR, 1);
    set(&mut t, &mut net, conn, SO_REUSEADDR, 1);
    t.bind(&mut net, conn, sa(Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
    t.bind(&mut net, wild, sa(Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
    // Connect by hand: the placeholder IP layer has no routes in unit tests.
    t.socks.get_mut(conn).unwrap().peer = Some(SocketAddr::V4(SocketAddrV4::new(PEER, 9)));
    let to = SocketAddrV4::new(A, 7000);
    rx(&mut t, &mut net, SocketAddrV4::new(PEER, 9), to, b"conn");
    rx(&mut t, &mut net, SocketAddrV4::new(PEER, 10), to, b"wild");
    assert_eq!(recv(&mut t, conn).unwrap().0, b"conn");
    assert_eq!(recv(&mut t, wild).unwrap().0, b"wild");
    assert_eq!(recv(&mut t, conn), Err(Errno::EAGAIN));
}

#[test]
fn no_port_bad_checksum_and_short_packets_are_counted() {
    let mut net = net();
    let mut t = UdpTable::default();
    let to = SocketAddrV4::new(A, 9);
    let from = SocketAddrV4::new(PEER, 1);
    assert_eq!(rx(&mut t, &mut net, from, to, b"x"), Delivery::NoPort);
    assert_eq!(t.mib.no_ports, 1);
    let mut d = datagram(from, to, b"abc");
    d[8] ^= 0xff;
    let ip = IpRx {
        src: IpAddr::V4(PEER),
        dst: IpAddr::V4(A),
        protocol: 17,
        ttl: 64,
        tos: 0,
        ifindex: 2,
        multicast_or_broadcast: false,
        packet: &d,
    };
    assert_eq!(t.input(0, &mut net, &ip, &d), Delivery::Dropped);
    assert_eq!(t.input(0, &mut net, &ip, &d[..5]), Delivery::Dropped);
    assert_eq!((t.mib.in_csum_errors, t.mib.in_errors), (1, 2));
}

#[test]
fn receive_buffer_overflow_is_counted() {
    let mut net = net();
    let mut t = UdpTable::default();
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    set(&mut t, &mut net, id, SO_RCVBUF, 1); // clamps up to SOCK_MIN_RCVBUF
    t.bind(&mut net, id, sa(A, 9)).unwrap();
    let from = SocketAddrV4::new(PEER, 1);
    for _ in 0..5 {
        rx(&mut t, &mut net, from, SocketAddrV4::new(A, 9), &[7u8; 1000]);
    }
    // 2304 bytes of buffer: the first message always fits, the second because the
    // charge was still under the limit, then everything drops (Linux's rule).
    assert_eq!(t.socks.get(id).unwrap().rxq.len(), 2);
    assert_eq!(t.mib.rcvbuf_errors, 3);
    assert_eq!(t.socks.get(id).unwrap().drops, 3);
    let mut out = [0u8; 4];
    assert_eq!(t.getsockopt(&net, id, SOL_SOCKET, SO_RCVBUF, &mut out), Ok(4));
    assert_eq!(i32::from_ne_bytes(out), 2304);
}

#[test]
fn truncation_peek_and_in_datagrams() {
    let mut net = net();
    let mut t = UdpTable::default();
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, id, sa(A, 9)).unwrap();
    rx(&mut t, &mut net, SocketAddrV4::new(PEER, 1), SocketAddrV4::new(A, 9), b"0123456789");
    assert_eq!(t.queued(id).0, 10);
    let mut b = [0u8; 4];
    assert_eq!(t.recvmsg(id, &mut [&mut b[..]], MSG_PEEK).unwrap().0, 4);
    assert_eq!(t.mib.in_datagrams, 0);
    assert_eq!(t.poll(id) & POLLIN, POLLIN);
    let (n, from) = t.recvmsg(id, &mut [&mut b[..]], MSG_TRUNC).unwrap();
    assert_eq!((n, from), (10, Some(sa(PEER, 1))));
    assert_eq!(&b, b"0123");
    assert_eq!(t.mib.in_datagrams, 1);
    assert_eq!(t.poll(id) & POLLIN, 0);
    assert_eq!(t.recvmsg(id, &mut [&mut b[..]], 0), Err(Errno::EAGAIN));
}

#[test]
fn broadcast_reaches_every_matching_socket() {
    let mut net = net();
    let mut t = UdpTable::default();
    let ids: Vec<u32> = (0..3).map(|_| t.open(&mut net, AF_INET, 0).unwrap()).collect();
    for &id in &ids[..2] {
        set(&mut t, &mut net, id, SO_REUSEADDR, 1);
        t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 67)).unwrap();
    }
    // Bound to the unicast address: does not see broadcasts.
    set(&mut t, &mut net, ids[2], SO_REUSEADDR, 1);
    t.bind(&mut net, ids[2], sa(A, 67)).unwrap();
    let bcast = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
    assert_eq!(rx(&mut t, &mut net, SocketAddrV4::new(PEER, 68), bcast, b"b"), Delivery::Consumed);
    assert!(recv(&mut t, ids[0]).is_ok());
    assert!(recv(&mut t, ids[1]).is_ok());
    assert_eq!(recv(&mut t, ids[2]), Err(Errno::EAGAIN));
    // Nobody on the port: ignored, no ICMP.
    let other = SocketAddrV4::new(Ipv4Addr::BROADCAST, 99);
    assert_eq!(rx(&mut t, &mut net, SocketAddrV4::new(PEER, 68), other, b"b"), Delivery::Consumed);
    assert_eq!((t.mib.ignored_multi, t.mib.no_ports), (1, 0));
}

fn port_unreachable(quoted: &[u8]) -> IcmpError<'_> {
    IcmpError {
        errno: Errno::ECONNREFUSED,
        fatal: true,
        icmp_type: 3,
        icmp_code: 3,
        mtu: None,
        reporter: IpAddr::V4(PEER),
        src: IpAddr::V4(A),
        dst: IpAddr::V4(PEER),
        protocol: 17,
        quoted,
    }
}

#[test]
fn icmp_errors_only_reach_connected_sockets() {
    let mut net = net();
    let mut t = UdpTable::default();
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, id, sa(A, 5555)).unwrap();
    let quoted = datagram(SocketAddrV4::new(A, 5555), SocketAddrV4::new(PEER, 9), b"");
    t.icmp_error(0, &mut net, &port_unreachable(&quoted));
    assert_eq!(t.poll(id) & POLLERR, 0, "unconnected: ignored");
    t.socks.get_mut(id).unwrap().peer = Some(SocketAddr::V4(SocketAddrV4::new(PEER, 9)));
    t.icmp_error(0, &mut net, &port_unreachable(&quoted));
    assert_eq!(t.poll(id) & POLLERR, POLLERR);
    assert_eq!(recv(&mut t, id), Err(Errno::ECONNREFUSED));
    assert_eq!(recv(&mut t, id), Err(Errno::EAGAIN), "reported once");
    // With IP_RECVERR an unconnected socket hears of it too; SO_ERROR reads it.
    t.socks.get_mut(id).unwrap().peer = None;
    t.setsockopt(0, &mut net, id, SOL_IP, IP_RECVERR, &1i32.to_ne_bytes()).unwrap();
    t.icmp_error(0, &mut net, &port_unreachable(&quoted));
    let mut out = [0u8; 4];
    t.getsockopt(&net, id, SOL_SOCKET, SO_ERROR, &mut out).unwrap();
    assert_eq!(i32::from_ne_bytes(out), Errno::ECONNREFUSED.0);
    // ... and it waits on the error queue (POLLERR) until MSG_ERRQUEUE reads it.
    assert_eq!(t.poll(id) & POLLERR, POLLERR);
    let mut buf = [0u8; 16];
    let (n, from) = t.recvmsg(id, &mut [&mut buf[..]], MSG_ERRQUEUE).unwrap();
    assert_eq!((n, from), (0, Some(sa(PEER, 9))), "empty payload, the original destination");
    assert_eq!(t.poll(id) & POLLERR, 0);
    assert_eq!(t.recvmsg(id, &mut [&mut buf[..]], MSG_ERRQUEUE), Err(Errno::EAGAIN));
}

#[test]
fn send_errors_before_routing() {
    let mut net = net();
    let mut t = UdpTable::default();
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    assert_eq!(t.sendmsg(0, &mut net, id, &[b"x"], 0, None), Err(Errno::EDESTADDRREQ));
    let big = vec![0u8; 70_000];
    assert_eq!(t.sendmsg(0, &mut net, id, &[&big], 0, Some(sa(PEER, 9))), Err(Errno::EMSGSIZE));
    assert_eq!(t.sendmsg(0, &mut net, id, &[b"x"], 0, Some(sa(PEER, 0))), Err(Errno::EINVAL));
    assert_eq!(
        t.sendmsg(0, &mut net, id, &[b"x"], MSG_OOB, Some(sa(PEER, 9))),
        Err(Errno::EOPNOTSUPP)
    );
    let bcast = sa(Ipv4Addr::BROADCAST, 9);
    assert_eq!(t.sendmsg(0, &mut net, id, &[b"x"], 0, Some(bcast)), Err(Errno::EACCES));
    // The failed sends still autobound the socket.
    assert_ne!(t.local_addr(id).unwrap().port(), 0);
}

#[test]
fn shutdown_and_disconnect() {
    let mut net = net();
    let mut t = UdpTable::default();
    let id = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, id, sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = t.local_addr(id).unwrap().port();
    assert_eq!(t.shutdown(0, &mut net, id, SHUT_RD), Err(Errno::ENOTCONN));
    // ...yet it took effect, as on Linux.
    assert_eq!(recv(&mut t, id).unwrap().0.len(), 0);
    assert_eq!(t.poll(id) & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
    t.shutdown(0, &mut net, id, SHUT_WR).ok();
    assert_eq!(t.sendmsg(0, &mut net, id, &[b"x"], 0, Some(sa(PEER, 9))), Err(Errno::EPIPE));
    assert_eq!(t.poll(id) & POLLHUP, POLLHUP);
    // A bind(port 0) is not a port lock: disconnect releases the autobound port.
    t.socks.get_mut(id).unwrap().peer = Some(SocketAddr::V4(SocketAddrV4::new(PEER, 9)));
    t.disconnect(0, &mut net, id).unwrap();
    assert_eq!(t.peer_addr(id), Err(Errno::ENOTCONN));
    assert_eq!(t.local_addr(id).unwrap().port(), 0);
    assert!(!t.ports.contains_key(&port));
}

#[test]
fn close_frees_port_and_slot() {
    let mut net = net();
    let mut t = UdpTable::default();
    let a = t.open(&mut net, AF_INET, 0).unwrap();
    t.bind(&mut net, a, sa(A, 9)).unwrap();
    t.close(0, &mut net, a);
    assert!(t.is_empty());
    let b = t.open(&mut net, AF_INET, 0).unwrap();
    assert_eq!(a, b);
    t.bind(&mut net, b, sa(A, 9)).unwrap();
}
