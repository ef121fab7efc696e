//! RawTable unit tests: delivery filters, ICMP_FILTER, errors, driven directly.

use super::*;

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A minimal IPv4 packet (checksum not needed here) carrying an ICMP message.
fn icmp_packet(src: Ipv4Addr, dst: Ipv4Addr, icmp_type: u8) -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&28u16.to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    p[20] = icmp_type;
    p
}

/// The IP layer's view of a received unicast `packet` (TTL 64).
pub(super) fn ip_rx(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    ifindex: u32,
    packet: &[u8],
) -> IpRx<'_> {
    IpRx { src, dst, protocol, ttl: 64, tos: 0, ifindex, multicast_or_broadcast: false, packet }
}

fn deliver(t: &mut RawTable, net: &mut Net, src: Ipv4Addr, dst: Ipv4Addr, ty: u8) -> bool {
    let p = icmp_packet(src, dst, ty);
    t.deliver(0, net, &ip_rx(IpAddr::V4(src), IpAddr::V4(dst), 1, 1, &p))
}

pub(super) fn recv(
    t: &mut RawTable,
    net: &mut Net,
    id: u32,
) -> SysResult<(Vec<u8>, Option<SocketAddr>)> {
    let mut buf = [0u8; 256];
    let (n, from) = t.recvfrom(0, net, id, &mut buf, 0)?;
    Ok((buf[..n].to_vec(), from))
}

#[test]
fn every_icmp_socket_gets_a_copy_with_the_ip_header() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let a = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    let b = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    let udp = t.open(&mut net, AF_INET, IPPROTO_UDP).unwrap();
    assert!(deliver(&mut t, &mut net, PEER, A, 0));
    let (pa, from) = recv(&mut t, &mut net, a).unwrap();
    assert_eq!(pa, icmp_packet(PEER, A, 0));
    assert_eq!(from, Some(SocketAddr::V4(SocketAddrV4::new(PEER, 0))));
    assert!(recv(&mut t, &mut net, b).is_ok());
    assert_eq!(recv(&mut t, &mut net, udp), Err(Errno::EAGAIN));
    assert_eq!(t.local_addr(a).unwrap(), SocketAddr::V4(SocketAddrV4::new(0.into(), 1)));
}

#[test]
fn icmp_filter_drops_selected_types() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let id = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    // ping's filter: everything but echo reply (0) and a few errors.
    let filter: u32 = !((1 << 0) | (1 << 3));
    t.setsockopt(0, &mut net, id, SOL_RAW, ICMP_FILTER, &filter.to_ne_bytes()).unwrap();
    assert!(!deliver(&mut t, &mut net, PEER, A, 8), "echo request filtered");
    assert!(deliver(&mut t, &mut net, PEER, A, 0));
    assert_eq!(recv(&mut t, &mut net, id).unwrap().0[20], 0);
    assert_eq!(recv(&mut t, &mut net, id), Err(Errno::EAGAIN));
    let mut out = [0u8; 8];
    assert_eq!(t.getsockopt(&net, id, SOL_RAW, ICMP_FILTER, &mut out), Ok(4));
    assert_eq!(u32::from_ne_bytes(out[..4].try_into().unwrap()), filter);
    assert_eq!(t.setsockopt(0, &mut net, id, SOL_RAW, ICMP_FILTER, &[0; 2]), Err(Errno::EINVAL));
    let udp = t.open(&mut net, AF_INET, IPPROTO_UDP).unwrap();
    let r = t.setsockopt(0, &mut net, udp, SOL_RAW, ICMP_FILTER, &0u32.to_ne_bytes());
    assert_eq!(r, Err(Errno::EOPNOTSUPP));
}

#[test]
fn bind_and_peer_filter() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let id = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    t.bind(&mut net, id, SocketAddr::V4(SocketAddrV4::new(A, 0))).unwrap();
    let other = Ipv4Addr::new(127, 0, 0, 9);
    assert!(!deliver(&mut t, &mut net, PEER, other, 0), "to another local address");
    t.socks.get_mut(id).unwrap().peer = Some(PEER);
    assert!(!deliver(&mut t, &mut net, other, A, 0), "from a non-peer");
    assert!(deliver(&mut t, &mut net, PEER, A, 0));
    let bad = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 0));
    t.socks.get_mut(id).unwrap().peer = None;
    assert_eq!(t.bind(&mut net, id, bad), Err(Errno::EADDRNOTAVAIL));
}

#[test]
fn send_errors() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let id = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    assert_eq!(t.sendto(0, &mut net, id, b"x", 0, None), Err(Errno::EDESTADDRREQ));
    let to = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, 0));
    assert_eq!(t.sendto(0, &mut net, id, b"x", 0, Some(to)), Err(Errno::EACCES));
    let big = vec![0u8; 70_000];
    assert_eq!(t.sendto(0, &mut net, id, &big, 0, Some(to)), Err(Errno::EMSGSIZE));
    let raw = t.open(&mut net, AF_INET, IPPROTO_RAW).unwrap();
    let mut out = [0u8; 4];
    t.getsockopt(&net, raw, SOL_IP, IP_HDRINCL, &mut out).unwrap();
    assert_eq!(i32::from_ne_bytes(out), 1, "IPPROTO_RAW implies IP_HDRINCL");
    assert_eq!(parse_user_header(&[0x45; 10]).err(), Some(Errno::EINVAL));
    assert_eq!(parse_user_header(&[0x4f; 20]).err(), Some(Errno::EINVAL));
}

#[test]
fn icmp_error_needs_connect_or_recverr() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let id = t.open(&mut net, AF_INET, IPPROTO_UDP).unwrap();
    let err = IcmpError {
        errno: Errno::EHOSTUNREACH,
        fatal: true,
        icmp_type: 3,
        icmp_code: 1,
        mtu: None,
        reporter: IpAddr::V4(PEER),
        src: IpAddr::V4(A),
        dst: IpAddr::V4(PEER),
        protocol: 17,
        quoted: &[0; 8],
    };
    t.icmp_error(0, &mut net, &err);
    assert_eq!(t.poll(id) & POLLERR, 0);
    t.socks.get_mut(id).unwrap().peer = Some(PEER);
    t.icmp_error(0, &mut net, &err);
    assert_eq!(t.poll(id) & POLLERR, POLLERR);
    assert_eq!(recv(&mut t, &mut net, id), Err(Errno::EHOSTUNREACH));
}

#[test]
fn full_queue_drops_but_counts_as_delivered() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let id = t.open(&mut net, AF_INET, IPPROTO_ICMP).unwrap();
    t.setsockopt(0, &mut net, id, SOL_SOCKET, SO_RCVBUF, &0i32.to_ne_bytes()).unwrap();
    for _ in 0..10 {
        assert!(deliver(&mut t, &mut net, PEER, A, 0));
    }
    let s = t.socks.get(id).unwrap();
    assert!(s.rxq.len() <= 4 && s.drops >= 6, "{} {}", s.rxq.len(), s.drops);
}

/// What bird does for OSPF: one raw socket, each packet steered by IP_PKTINFO.
#[test]
fn sendmsg_control_picks_device_source_ttl_tos() {
    use crate::socket::inet::put_cmsg;
    use crate::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    for (i, a) in ["10.1.0.1", "10.2.0.1"].iter().enumerate() {
        let e = k.dev_add(DeviceConfig::ethernet(
            &format!("e{i}"),
            EthernetAddress::local(i as u32 + 1),
        ));
        let e = e.unwrap();
        k.dev_set_up(0, e, true).unwrap();
        k.addr_add(0, e, a.parse().unwrap(), 24).unwrap();
    }
    while k.poll_transmit().is_some() {}
    let fd = k.socket(AF_INET, SOCK_RAW, 89).unwrap();
    let ctl = |ifindex: i32, spec: [u8; 4]| {
        let mut d = ifindex.to_ne_bytes().to_vec();
        d.extend_from_slice(&spec);
        d.extend_from_slice(&[0; 4]);
        let mut c = Vec::new();
        put_cmsg(&mut c, SOL_IP, 8, &d); // IP_PKTINFO
        put_cmsg(&mut c, SOL_IP, 2, &1i32.to_ne_bytes()); // IP_TTL
        put_cmsg(&mut c, SOL_IP, 1, &[0xc0]); // IP_TOS
        c
    };
    let to = Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 5), 0)));
    let e1 = k.dev_index("e1").unwrap();
    let n = k.sendmsg_control(0, fd, &[b"hello"], 0, to, &ctl(e1 as i32, [10, 2, 0, 1])).unwrap();
    assert_eq!(n, 5);
    let tx = k.poll_transmit().expect("a frame");
    assert_eq!(tx.ifindex, e1);
    let ip = &tx.frame[14..];
    assert_eq!((ip[1], ip[8], ip[9]), (0xc0, 1, 89), "tos, ttl, protocol");
    assert_eq!(&ip[12..16], &[10, 2, 0, 1]);
    assert_eq!(&ip[16..20], &[224, 0, 0, 5]);
    // A source that is not ours, a device that does not exist.
    let r = k.sendmsg_control(0, fd, &[b"x"], 0, to, &ctl(e1 as i32, [10, 9, 9, 9]));
    assert_eq!(r, Err(Errno::EINVAL));
    assert_eq!(k.sendmsg_control(0, fd, &[b"x"], 0, to, &ctl(99, [0; 4])), Err(Errno::ENODEV));
    // Without the device no route reaches 224.0.0.5 here (as on Linux).
    assert_eq!(k.sendmsg(0, fd, &[b"x"], 0, to), Err(Errno::ENETUNREACH));
}
