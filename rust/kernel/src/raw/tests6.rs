//! Raw IPv6 sockets driven through the table: ICMPv6 messages without the IPv6 header,
//! ICMP6_FILTER, checksum verification, IPV6_CHECKSUM rules (RFC 3542 §3.1), and
//! isolation from IPv4 raw sockets.

use super::tests::{ip_rx, recv};
use super::*;
use crate::socket::inet6::*;
use crate::wire::ipv6::Ipv6Repr;
use std::net::Ipv6Addr;

fn a() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn p() -> Ipv6Addr {
    "fe80::2".parse().unwrap()
}

/// An IPv6 packet carrying an ICMPv6 message of `ty` with a valid (or broken) checksum.
fn packet(ty: u8, good: bool) -> Vec<u8> {
    let mut msg = vec![ty, 0, 0, 0, 0, 1, 0, 7, b'h', b'i'];
    let c = crate::wire::checksum::transport(&IpAddr::V6(p()), &IpAddr::V6(a()), 58, &msg);
    msg[2..4].copy_from_slice(&(if good { c } else { c ^ 1 }).to_be_bytes());
    let repr = Ipv6Repr {
        src_addr: p(),
        dst_addr: a(),
        next_header: 58,
        payload_len: msg.len(),
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut out = vec![0u8; 40];
    repr.emit(&mut out);
    out.extend_from_slice(&msg);
    out
}

fn deliver(t: &mut RawTable, net: &mut Net, pkt: &[u8]) -> bool {
    let rx = IpRx { ttl: 255, ..ip_rx(IpAddr::V6(p()), IpAddr::V6(a()), 58, 2, pkt) };
    t.deliver(0, net, &rx)
}

#[test]
fn icmpv6_message_without_header_filter_and_checksum() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let s = t.open(&mut net, AF_INET6, IPPROTO_ICMPV6).unwrap();
    let v4 = t.open(&mut net, AF_INET, IPPROTO_ICMPV6).unwrap();
    let pkt = packet(129, true);
    assert!(deliver(&mut t, &mut net, &pkt));
    let (m, from) = recv(&mut t, &mut net, s).unwrap();
    assert_eq!(m, &pkt[40..]);
    assert_eq!(from.unwrap().to_string(), "[fe80::2%2]:0");
    assert_eq!(recv(&mut t, &mut net, v4), Err(Errno::EAGAIN), "IPv4 raw sockets see no IPv6");
    // A bad checksum is dropped (`rawv6_rcv` with rp->checksum).
    assert!(!deliver(&mut t, &mut net, &packet(129, false)));
    // ICMP6_FILTER: block echo replies.
    let mut f = [0u8; 32];
    f[(129 >> 5) * 4..(129 >> 5) * 4 + 4].copy_from_slice(&(1u32 << (129 & 31)).to_ne_bytes());
    t.setsockopt(0, &mut net, s, SOL_ICMPV6, ICMPV6_FILTER, &f).unwrap();
    assert!(!deliver(&mut t, &mut net, &pkt));
    assert!(deliver(&mut t, &mut net, &packet(128, true)));
    assert_eq!(recv(&mut t, &mut net, s).unwrap().0[0], 128);
    let mut out = [0u8; 32];
    assert_eq!(t.getsockopt(&net, s, SOL_ICMPV6, ICMPV6_FILTER, &mut out), Ok(32));
    assert_eq!(out, f);
    assert_eq!(t.local_addr(s).unwrap().to_string(), "[::]:58");
}

#[test]
fn checksum_option_rules() {
    let mut net = Net::new(0);
    let mut t = RawTable::default();
    let icmp = t.open(&mut net, AF_INET6, IPPROTO_ICMPV6).unwrap();
    let other = t.open(&mut net, AF_INET6, 89).unwrap();
    let mut out = [0u8; 4];
    fn get(t: &mut RawTable, net: &Net, id: u32, level: i32, out: &mut [u8; 4]) -> i32 {
        t.getsockopt(net, id, level, IPV6_CHECKSUM, out).unwrap();
        i32::from_ne_bytes(*out)
    }
    assert_eq!(get(&mut t, &net, icmp, SOL_RAW, &mut out), 2);
    assert_eq!(get(&mut t, &net, other, SOL_IPV6, &mut out), -1);
    let two = 2i32.to_ne_bytes();
    let r = t.setsockopt(0, &mut net, icmp, SOL_IPV6, IPV6_CHECKSUM, &two);
    assert_eq!(r, Err(Errno::EINVAL), "RFC 3542: not at IPPROTO_IPV6 on ICMPv6");
    t.setsockopt(0, &mut net, icmp, SOL_RAW, IPV6_CHECKSUM, &two).unwrap();
    let odd = 3i32.to_ne_bytes();
    assert_eq!(t.setsockopt(0, &mut net, other, SOL_IPV6, IPV6_CHECKSUM, &odd), Err(Errno::EINVAL));
    t.setsockopt(0, &mut net, other, SOL_IPV6, IPV6_CHECKSUM, &12i32.to_ne_bytes()).unwrap();
    assert_eq!(get(&mut t, &net, other, SOL_IPV6, &mut out), 12);
    let f = [0u8; 32];
    let r = t.setsockopt(0, &mut net, other, SOL_ICMPV6, ICMPV6_FILTER, &f);
    assert_eq!(r, Err(Errno::EOPNOTSUPP));
    // Unconnected and no destination.
    assert_eq!(t.sendto(0, &mut net, icmp, &[128, 0, 0, 0], 0, None), Err(Errno::EDESTADDRREQ));
}
