//! Raw IPv4 sockets between two kernels: what Linux `ping` (raw ICMP socket with
//! ICMP_FILTER) and IP_HDRINCL senders rely on.

mod socket_pair;

use libos_kernel::uapi::*;
use libos_kernel::wire::checksum;
use libos_kernel::{Kernel, KernelConfig};
use socket_pair::*;
use std::net::{IpAddr, Ipv4Addr};

const SOL_RAW: i32 = 255;
const ICMP_FILTER: i32 = 1;

/// An ICMP echo request as ping builds it (the kernel does not checksum raw ICMP).
fn echo_request(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = !checksum::sum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

fn recv(k: &mut Kernel, fd: i32) -> (Vec<u8>, std::net::SocketAddr) {
    let mut buf = vec![0u8; 4096];
    let (n, from) = k.recvfrom(0, fd, &mut buf, 0).expect("a packet");
    buf.truncate(n);
    (buf, from.unwrap())
}

/// Splits an IPv4 packet after checking its header checksum.
fn ip_payload(p: &[u8]) -> (&[u8], &[u8]) {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    assert_eq!(checksum::sum(&p[..ihl]), 0xffff, "IP header checksum");
    p.split_at(ihl)
}

fn ping_socket(k: &mut Kernel) -> i32 {
    let fd = k.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    // iputils ping: pass echo replies and errors, filter the rest.
    let filter: u32 = !((1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 11) | (1 << 12));
    k.setsockopt(0, fd, SOL_RAW, ICMP_FILTER, &filter.to_ne_bytes()).unwrap();
    fd
}

#[test]
fn ping_between_two_kernels() {
    let mut p = Pair::new(21);
    let fd = ping_socket(&mut p.a);
    let watcher = p.b.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    for seq in 1..=3u16 {
        let req = echo_request(0x4242, seq, b"libos ping payload");
        assert_eq!(p.a.sendto(p.now, fd, &req, 0, Some(sa(B_IP, 0))), Ok(req.len()));
        p.drive();
        let (pkt, from) = recv(&mut p.a, fd);
        assert_eq!(from, sa(B_IP, 0));
        let (hdr, icmp) = ip_payload(&pkt);
        assert_eq!(hdr[9], 1);
        assert_eq!(&hdr[12..16], &B_IP.octets());
        assert_eq!(&hdr[16..20], &A_IP.octets());
        assert_eq!(checksum::sum(icmp), 0xffff, "ICMP checksum");
        assert_eq!(icmp[0], 0, "echo reply");
        assert_eq!(&icmp[4..], &req[4..], "id, sequence and data echoed");
        // B's own raw ICMP socket saw the request go by.
        let (seen, from) = recv(&mut p.b, watcher);
        assert_eq!(from, sa(A_IP, 0));
        assert_eq!(ip_payload(&seen).1, &req[..]);
    }
    // Only the replies reached the filtered socket.
    let mut b = [0u8; 64];
    assert!(p.a.recvfrom(p.now, fd, &mut b, 0).is_err());
}

#[test]
fn ping_localhost() {
    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let fd = ping_socket(&mut k);
    let req = echo_request(7, 1, b"lo");
    k.sendto(0, fd, &req, 0, Some(sa(Ipv4Addr::LOCALHOST, 0))).unwrap();
    let (pkt, from) = recv(&mut k, fd);
    assert_eq!(from, sa(Ipv4Addr::LOCALHOST, 0));
    let icmp = ip_payload(&pkt).1;
    assert_eq!(icmp[0], 0);
    assert_eq!(&icmp[4..], &req[4..]);
}

#[test]
fn hdrincl_packet_reaches_a_udp_socket() {
    let mut p = Pair::new(22);
    let srv = p.b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    p.b.bind(srv, sa(B_IP, 4242)).unwrap();
    let copy = p.b.socket(AF_INET, SOCK_RAW, IPPROTO_UDP).unwrap();
    let raw = p.a.socket(AF_INET, SOCK_RAW, IPPROTO_RAW).unwrap();
    assert_eq!(p.a.getsockopt_int(raw, SOL_IP, IP_HDRINCL), Ok(1));
    // IPv4 header (checksum, ID and length left for the kernel) + UDP.
    let payload = b"built by hand";
    let mut udp = vec![0u8; 8];
    udp[0..2].copy_from_slice(&1111u16.to_be_bytes());
    udp[2..4].copy_from_slice(&4242u16.to_be_bytes());
    udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(payload);
    let c = checksum::transport(&IpAddr::V4(A_IP), &IpAddr::V4(B_IP), 17, &udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    let mut pkt = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 33, 17, 0, 0];
    pkt.extend_from_slice(&A_IP.octets());
    pkt.extend_from_slice(&B_IP.octets());
    pkt.extend_from_slice(&udp);
    assert_eq!(p.a.sendto(0, raw, &pkt, 0, Some(sa(B_IP, 0))), Ok(pkt.len()));
    p.drive();
    let mut buf = [0u8; 64];
    let (n, from) = p.b.recvfrom(p.now, srv, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from), (&payload[..], Some(sa(A_IP, 1111))));
    // The raw UDP socket got the whole packet, with the TTL we chose.
    let (seen, _) = recv(&mut p.b, copy);
    let (hdr, body) = ip_payload(&seen);
    assert_eq!(hdr[8], 33);
    assert_eq!(body, &udp[..]);
    // A header shorter than 20 bytes is EINVAL.
    assert_eq!(
        p.a.sendto(p.now, raw, &pkt[..12], 0, Some(sa(B_IP, 0))),
        Err(libos_kernel::Errno::EINVAL)
    );
}

#[test]
fn connected_raw_socket_filters_by_peer() {
    let mut p = Pair::new(23);
    let fd = p.a.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    p.a.connect(0, fd, sa(Ipv4Addr::new(10, 0, 0, 77), 0)).unwrap();
    assert_eq!(p.a.getpeername(fd), Ok(sa(Ipv4Addr::new(10, 0, 0, 77), 0)));
    // B pings A: A answers, but the connected socket only takes packets from .77.
    let pinger = ping_socket(&mut p.b);
    p.b.sendto(0, pinger, &echo_request(1, 1, b""), 0, Some(sa(A_IP, 0))).unwrap();
    p.drive();
    let mut b = [0u8; 64];
    assert!(p.a.recvfrom(p.now, fd, &mut b, 0).is_err());
    assert!(p.b.recvfrom(p.now, pinger, &mut b, 0).is_ok());
}

/// `__ip4_datagram_connect`: a raw socket connected to a multicast group takes its
/// source from IP_MULTICAST_IF, as OSPF daemons rely on.
#[test]
fn raw_connect_to_multicast_follows_ip_multicast_if() {
    use libos_kernel::{DeviceConfig, EthernetAddress};
    const IP_MULTICAST_IF: i32 = 32;
    const IPPROTO_OSPF: i32 = 89;
    let mut k = Kernel::new(KernelConfig::default());
    for (i, name, addr) in [(1, "eth0", [10, 0, 0, 1]), (2, "eth1", [10, 1, 0, 1])] {
        let d = k.dev_add(DeviceConfig::ethernet(name, EthernetAddress::local(i))).unwrap();
        k.dev_set_up(0, d, true).unwrap();
        k.addr_add(0, d, IpAddr::from(addr), 24).unwrap();
    }
    let fd = k.socket(AF_INET, SOCK_RAW, IPPROTO_OSPF).unwrap();
    k.setsockopt(0, fd, SOL_IP, IP_MULTICAST_IF, &[10, 1, 0, 1]).unwrap();
    k.connect(0, fd, "224.0.0.5:0".parse().unwrap()).unwrap();
    assert_eq!(k.getsockname(fd).unwrap().ip(), IpAddr::from([10, 1, 0, 1]));
}
