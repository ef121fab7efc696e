//! IPv4 across kernel instances: a test host T (hand-built frames) on 10.0.0.0/24,
//! a router R (forwarding on) and a host B on 10.0.1.0/24, wired by a zero-delay
//! frame shuttle that advances every instance at its next deadline.
//!
//! ```text
//!   T 10.0.0.2 ---- eth0 10.0.0.1 [R] eth1 10.0.1.1 ---- eth0 10.0.1.2 [B]
//! ```

use libos_kernel::uapi::{AF_INET, IP_RECVERR, IP_TTL, SOCK_DGRAM, SOL_IP};
use libos_kernel::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use libos_kernel::wire::ethernet::{EthernetFrame, EthernetRepr};
use libos_kernel::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use libos_kernel::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use libos_kernel::wire::{EthernetAddress, EthernetProtocol};
use libos_kernel::{DevFlags, DeviceConfig, Errno, Kernel, KernelConfig, Route, RouteKind};
use std::net::{IpAddr, Ipv4Addr};

const SEC: u64 = 1_000_000_000;
const T_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x99]);
const T_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const R0_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const R: usize = 0;
const B: usize = 1;

struct Lab {
    nodes: Vec<Kernel>,
    /// (node, ifindex) pairs joined by a cable.
    links: Vec<[(usize, u32); 2]>,
    /// Where the test host is plugged in.
    host: (usize, u32),
    to_host: Vec<Vec<u8>>,
    now: u64,
}

impl Lab {
    fn new() -> Lab {
        Lab::with_ptp(false)
    }

    /// With `ptp`, R–B is a POINTOPOINT|NOARP link (frames to the broadcast MAC).
    fn with_ptp(ptp: bool) -> Lab {
        let mut r = Kernel::new(KernelConfig { seed: 1 });
        let mut b = Kernel::new(KernelConfig { seed: 2 });
        let link = |name: &str, n: u32| {
            let mut c = DeviceConfig::ethernet(name, EthernetAddress::local(n));
            if ptp {
                c.flags = DevFlags::POINTOPOINT | DevFlags::NOARP;
            }
            c
        };
        let r0 = r.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
        let r1 = r.dev_add(link("eth1", 2)).unwrap();
        let b0 = b.dev_add(link("eth0", 3)).unwrap();
        r.dev_set_up(0, r0, true).unwrap();
        r.dev_set_up(0, r1, true).unwrap();
        b.dev_set_up(0, b0, true).unwrap();
        r.addr_add(0, r0, IpAddr::V4(R0_IP), 24).unwrap();
        r.addr_add(0, r1, "10.0.1.1".parse().unwrap(), 24).unwrap();
        b.addr_add(0, b0, IpAddr::V4(B_IP), 24).unwrap();
        b.route_add(Route::new(
            "0.0.0.0".parse().unwrap(),
            0,
            Some("10.0.1.1".parse().unwrap()),
            None,
        ))
        .unwrap();
        r.sysctl_set("net.ipv4.ip_forward", "1").unwrap();
        let mut lab = Lab {
            nodes: vec![r, b],
            links: vec![[(R, r1), (B, b0)]],
            host: (R, r0),
            to_host: Vec::new(),
            now: 0,
        };
        lab.pump();
        lab.to_host.clear();
        lab
    }

    /// Moves frames until no instance has any left (bounded against livelock).
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(tx) = self.nodes[i].poll_transmit() {
                    moved = true;
                    if (i, tx.ifindex) == self.host {
                        self.to_host.push(tx.frame.to_vec());
                        continue;
                    }
                    let peer = self.links.iter().find_map(|l| {
                        if l[0] == (i, tx.ifindex) {
                            Some(l[1])
                        } else if l[1] == (i, tx.ifindex) {
                            Some(l[0])
                        } else {
                            None
                        }
                    });
                    if let Some((p, pif)) = peer {
                        self.nodes[p].dev_rx(self.now, pif, &tx.frame);
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("frames never stopped flowing");
    }

    /// Runs every instance's timers up to `until`.
    fn run_until(&mut self, until: u64) {
        for _ in 0..100_000 {
            self.pump();
            let next = self.nodes.iter().filter_map(|k| k.next_deadline()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for k in self.nodes.iter_mut() {
                        if k.next_deadline().is_some_and(|d| d <= self.now) {
                            k.advance(self.now);
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn host_send(&mut self, frame: &[u8]) {
        let (n, i) = self.host;
        self.nodes[n].dev_rx(self.now, i, frame);
        self.pump();
    }

    fn r_mac(&self) -> EthernetAddress {
        self.nodes[R].dev(self.host.1).unwrap().mac
    }

    /// T learns R's MAC the proper way (and R learns T's from the request).
    fn host_arp(&mut self) -> EthernetAddress {
        let req = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: T_MAC,
            source_protocol_addr: T_IP,
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: R0_IP,
        };
        let mut p = vec![0u8; req.buffer_len()];
        req.emit(&mut ArpPacket::new_unchecked(&mut p[..]));
        self.host_send(&eth(EthernetAddress::BROADCAST, EthernetProtocol::Arp, &p));
        let reply = self.take_host(EthernetProtocol::Arp).pop().expect("ARP reply");
        let a = ArpRepr::parse(&ArpPacket::new_checked(&reply[14..]).unwrap()).unwrap();
        assert_eq!(a.operation, ArpOperation::Reply);
        assert_eq!(a.source_protocol_addr, R0_IP);
        assert_eq!(a.target_hardware_addr, T_MAC);
        assert_eq!(EthernetFrame::new_checked(&reply[..]).unwrap().dst_addr(), T_MAC);
        a.source_hardware_addr
    }

    /// Frames of one EtherType that reached T, oldest first.
    fn take_host(&mut self, et: EthernetProtocol) -> Vec<Vec<u8>> {
        let (keep, out) = std::mem::take(&mut self.to_host)
            .into_iter()
            .partition(|f| EthernetFrame::new_checked(&f[..]).unwrap().ethertype() != et);
        self.to_host = keep;
        out
    }
}

fn eth(dst: EthernetAddress, et: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    let repr = EthernetRepr { src_addr: T_MAC, dst_addr: dst, ethertype: et };
    repr.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    f.extend_from_slice(payload);
    f
}

fn ip_packet(dst: Ipv4Addr, protocol: u8, ttl: u8, df: bool, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: T_IP,
        dst_addr: dst,
        protocol,
        payload_len: payload.len(),
        ttl,
        tos: 0,
        ident: 0x4242,
        dont_frag: df,
        more_frags: false,
        frag_offset: 0,
    };
    let mut v = vec![0u8; 20];
    v.extend_from_slice(payload);
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut v[..]));
    v
}

fn echo(dst: Ipv4Addr, ttl: u8, df: bool, data: &[u8]) -> Vec<u8> {
    let r = Icmpv4Repr::EchoRequest { ident: 7, seq_no: 1, data };
    let mut m = vec![0u8; r.buffer_len()];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut m[..]));
    ip_packet(dst, 1, ttl, df, &m)
}

/// The IPv4 packets T received, with their ICMP part parsed by the caller.
fn ipv4_of(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .map(|f| {
            let ip = Ipv4Packet::new_checked(&f[14..]).expect("valid IPv4");
            assert!(ip.verify_checksum());
            ip.packet().to_vec()
        })
        .collect()
}

fn icmp_of(ip: &[u8]) -> (u8, u8, Vec<u8>) {
    let p = Ipv4Packet::new_checked(ip).unwrap();
    let m = Icmpv4Packet::new_checked(p.payload()).unwrap();
    assert!(m.verify_checksum());
    (m.msg_type(), m.msg_code(), p.payload().to_vec())
}

#[test]
fn arp_then_ping_through_router_decrements_ttl() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    assert_eq!(rmac, lab.r_mac());
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, true, b"hello")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1, "one echo reply");
    let ip = Ipv4Packet::new_checked(&got[0][..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (B_IP, T_IP));
    assert_eq!(ip.ttl(), 63, "B sends with TTL 64, R decrements once");
    let (t, _, body) = icmp_of(&got[0]);
    assert_eq!(t, 0);
    let r = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&body[..]).unwrap()).unwrap();
    assert_eq!(r, Icmpv4Repr::EchoReply { ident: 7, seq_no: 1, data: b"hello" });
    // A second ping needs no ARP anywhere.
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, true, b"again")));
    assert_eq!(lab.take_host(EthernetProtocol::Ipv4).len(), 1);
    assert!(lab.take_host(EthernetProtocol::Arp).is_empty());
}

#[test]
fn ping_the_router_and_ignore_broadcast_echo() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(R0_IP, 64, false, b"x")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1);
    assert_eq!(Ipv4Packet::new_checked(&got[0][..]).unwrap().src_addr(), R0_IP);
    let bcast = Ipv4Addr::new(10, 0, 0, 255);
    let b = EthernetAddress::BROADCAST;
    lab.host_send(&eth(b, EthernetProtocol::Ipv4, &echo(bcast, 64, false, b"x")));
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty(), "icmp_echo_ignore_broadcasts");
    lab.nodes[R].sysctl_set("net.ipv4.icmp_echo_ignore_broadcasts", "0").unwrap();
    lab.host_send(&eth(b, EthernetProtocol::Ipv4, &echo(bcast, 64, false, b"x")));
    assert_eq!(lab.take_host(EthernetProtocol::Ipv4).len(), 1);
    lab.nodes[R].sysctl_set("net.ipv4.icmp_echo_ignore_all", "1").unwrap();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(R0_IP, 64, false, b"x")));
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty(), "icmp_echo_ignore_all");
}

#[test]
fn ttl_expiry_gives_time_exceeded_quoting_the_packet() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    let req = echo(B_IP, 1, true, b"ttl");
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &req));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1);
    let ip = Ipv4Packet::new_checked(&got[0][..]).unwrap();
    assert_eq!(ip.src_addr(), R0_IP);
    assert_eq!(ip.tos() & 0xc0, 0xc0, "internetwork control precedence");
    let (t, code, body) = icmp_of(&got[0]);
    assert_eq!((t, code), (11, 0));
    assert_eq!(&body[8..], &req[..], "whole short packet quoted");
}

#[test]
fn fragmentation_across_small_mtu_link_and_reassembly() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    lab.nodes[R].dev_set_mtu(0, 3, 576).unwrap();
    lab.nodes[B].dev_set_mtu(0, 2, 576).unwrap();
    let data: Vec<u8> = (0..1400u32).map(|i| (i * 31) as u8).collect();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, false, &data)));
    // B reassembled R's fragments, answered, and fragmented its reply for its link.
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 3, "1428-byte reply in 576-byte fragments");
    let mut parts: Vec<(usize, bool, Vec<u8>)> = got
        .iter()
        .map(|p| {
            let ip = Ipv4Packet::new_checked(&p[..]).unwrap();
            assert!(p.len() <= 576);
            (ip.frag_offset(), ip.more_frags(), ip.payload().to_vec())
        })
        .collect();
    parts.sort();
    let mut whole = Vec::new();
    for (off, _, p) in &parts {
        assert_eq!(*off, whole.len());
        whole.extend_from_slice(p);
    }
    assert!(!parts.last().unwrap().1);
    let m = Icmpv4Packet::new_checked(&whole[..]).unwrap();
    assert!(m.verify_checksum());
    let r = Icmpv4Repr::parse(&m).unwrap();
    assert_eq!(r, Icmpv4Repr::EchoReply { ident: 7, seq_no: 1, data: &data });
}

#[test]
fn dont_fragment_too_big_gives_frag_needed_with_mtu() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    lab.nodes[R].dev_set_mtu(0, 3, 1280).unwrap();
    let data = vec![0u8; 1400];
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, true, &data)));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1);
    let (t, code, body) = icmp_of(&got[0]);
    assert_eq!((t, code), (3, 4));
    assert_eq!(u16::from_be_bytes([body[6], body[7]]), 1280);
    assert_eq!(body.len(), 576 - 20, "quote capped at 576 bytes total");
}

#[test]
fn unresolvable_next_hop_gives_host_unreachable_after_three_probes() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    let gone = Ipv4Addr::new(10, 0, 1, 99);
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(gone, 64, true, b"?")));
    lab.run_until(2 * SEC + SEC / 2);
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty());
    lab.run_until(4 * SEC);
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1);
    assert_eq!(icmp_of(&got[0]).0, 3);
    assert_eq!(icmp_of(&got[0]).1, 1, "host unreachable");
}

#[test]
fn no_route_unreachable_prohibit_and_forwarding_off() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    let far = Ipv4Addr::new(192, 0, 2, 1);
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(far, 64, true, b"?")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    let (t, c, _) = icmp_of(&got[0]);
    assert_eq!((t, c), (3, 0), "net unreachable");
    let net = |s: &str| s.parse::<IpAddr>().unwrap();
    let r = &mut lab.nodes[R];
    r.route_add(Route::of_kind(net("192.0.2.0"), 24, RouteKind::Prohibit)).unwrap();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(far, 64, true, b"?")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(icmp_of(&got[0]).1, 13, "administratively prohibited");
    lab.nodes[R].sysctl_set("net.ipv4.ip_forward", "0").unwrap();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, true, b"?")));
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty(), "not a router: dropped");
}

#[test]
fn unknown_protocol_gets_protocol_unreachable() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    lab.host_send(&eth(
        rmac,
        EthernetProtocol::Ipv4,
        &ip_packet(R0_IP, 200, 64, true, b"abcdefgh"),
    ));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1);
    let (t, c, _) = icmp_of(&got[0]);
    assert_eq!((t, c), (3, 2));
}

#[test]
fn route_lookups_and_config_errors() {
    let mut lab = Lab::new();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let b = &mut lab.nodes[B];
    let own = b.route_get(ip("10.0.1.2")).unwrap();
    assert!(own.local && own.oif == 1, "own address goes through lo: {own:?}");
    let lo = b.route_get(ip("127.0.0.53")).unwrap();
    assert_eq!((lo.local, lo.src), (true, ip("127.0.0.1")));
    let far = b.route_get(ip("8.8.8.8")).unwrap();
    assert_eq!((far.next_hop, far.src, far.oif), (ip("10.0.1.1"), ip("10.0.1.2"), 2));
    let near = b.route_get(ip("10.0.1.77")).unwrap();
    assert_eq!(near.next_hop, ip("10.0.1.77"));
    assert!(b.route_get(ip("10.0.1.255")).unwrap().broadcast);
    b.route_add(Route::of_kind(ip("198.51.100.0"), 24, RouteKind::Blackhole)).unwrap();
    b.route_add(Route::of_kind(ip("198.51.101.0"), 24, RouteKind::Unreachable)).unwrap();
    b.route_add(Route::of_kind(ip("198.51.102.0"), 24, RouteKind::Prohibit)).unwrap();
    assert_eq!(b.route_get(ip("198.51.100.1")), Err(Errno::EINVAL));
    assert_eq!(b.route_get(ip("198.51.101.1")), Err(Errno::EHOSTUNREACH));
    assert_eq!(b.route_get(ip("198.51.102.1")), Err(Errno::EACCES));
    // A gateway off every connected network is refused.
    let bad = Route::new(ip("172.16.0.0"), 12, Some(ip("10.9.9.9")), None);
    assert_eq!(b.route_add(bad), Err(Errno::ENETUNREACH));
    // Deleting the address takes its connected and dependent routes with it.
    b.addr_del(0, 2, ip("10.0.1.2"), 24).unwrap();
    assert_eq!(b.route_get(ip("10.0.1.77")), Err(Errno::ENETUNREACH));
    assert_eq!(b.route_get(ip("8.8.8.8")), Err(Errno::ENETUNREACH));
    assert_eq!(b.addr_del(0, 2, ip("10.0.1.2"), 24), Err(Errno::EADDRNOTAVAIL));
    // Device down drops its routes; up restores the connected ones.
    let r = &mut lab.nodes[R];
    r.dev_set_up(0, 3, false).unwrap();
    assert_eq!(r.route_get(ip("10.0.1.2")), Err(Errno::ENETUNREACH));
    r.dev_set_up(0, 3, true).unwrap();
    assert_eq!(r.route_get(ip("10.0.1.2")).unwrap().oif, 3);
}

#[test]
fn gratuitous_arp_on_address_add() {
    let mut lab = Lab::new();
    lab.nodes[R].addr_add(0, 2, "10.0.0.9".parse().unwrap(), 24).unwrap();
    lab.pump();
    let arps = lab.take_host(EthernetProtocol::Arp);
    assert_eq!(arps.len(), 1);
    let a = ArpRepr::parse(&ArpPacket::new_checked(&arps[0][14..]).unwrap()).unwrap();
    assert_eq!(a.source_protocol_addr, a.target_protocol_addr);
    assert_eq!(a.source_protocol_addr, Ipv4Addr::new(10, 0, 0, 9));
}

#[test]
fn garbage_never_panics() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    let good = echo(B_IP, 64, false, b"fuzz");
    for i in 0..good.len() {
        for bit in [0x01u8, 0x80, 0xff] {
            let mut v = good.clone();
            v[i] ^= bit;
            lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &v));
            lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &v[..i]));
        }
    }
    lab.host_send(&eth(rmac, EthernetProtocol::Arp, &[0u8; 27]));
    lab.run_until(100 * SEC);
}

/// ICMP errors made by the router reach B's UDP sockets with Linux's errno and
/// Linux's reporting rule (hard errors on connected sockets, all with IP_RECVERR).
#[test]
fn router_icmp_errors_reach_udp_sockets() {
    let mut lab = Lab::new();
    let sa = |ip: &str, port: u16| std::net::SocketAddr::new(ip.parse().unwrap(), port);
    let mut buf = [0u8; 64];
    // Closed port on R: port unreachable, ECONNREFUSED (hard).
    let b = &mut lab.nodes[B];
    let s1 = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    b.connect(0, s1, sa("10.0.0.1", 9)).unwrap();
    b.send(0, s1, b"knock", 0).unwrap();
    lab.pump();
    let b = &mut lab.nodes[B];
    assert_eq!(b.recv(0, s1, &mut buf, 0), Err(Errno::ECONNREFUSED));
    // TTL 1 expires at R: time exceeded is soft, reported only with IP_RECVERR.
    let s2 = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    b.setsockopt_int(0, s2, SOL_IP, IP_TTL, 1).unwrap();
    b.connect(0, s2, sa("10.0.0.2", 9)).unwrap();
    b.send(0, s2, b"short", 0).unwrap();
    lab.pump();
    let b = &mut lab.nodes[B];
    assert_eq!(b.recv(0, s2, &mut buf, 0), Err(Errno::EAGAIN));
    b.setsockopt_int(0, s2, SOL_IP, IP_RECVERR, 1).unwrap();
    b.send(0, s2, b"short", 0).unwrap();
    lab.pump();
    assert_eq!(lab.nodes[B].recv(0, s2, &mut buf, 0), Err(Errno::EHOSTUNREACH));
    // Nobody at 10.0.0.77: R's ARP fails after 3 s, host unreachable comes back.
    let b = &mut lab.nodes[B];
    let s3 = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    b.setsockopt_int(0, s3, SOL_IP, IP_RECVERR, 1).unwrap();
    b.connect(0, s3, sa("10.0.0.77", 9)).unwrap();
    b.send(0, s3, b"hello?", 0).unwrap();
    lab.run_until(SEC);
    assert_eq!(lab.nodes[B].recv(SEC, s3, &mut buf, 0), Err(Errno::EAGAIN));
    lab.run_until(5 * SEC);
    assert_eq!(lab.nodes[B].recv(5 * SEC, s3, &mut buf, 0), Err(Errno::EHOSTUNREACH));
}

#[test]
fn forwarding_over_pointopoint_noarp_link() {
    let mut lab = Lab::with_ptp(true);
    let rmac = lab.host_arp();
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(B_IP, 64, true, b"ptp")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1, "echo reply came back over the NOARP link");
    assert_eq!(Ipv4Packet::new_checked(&got[0][..]).unwrap().ttl(), 63);
}

#[test]
fn forwarding_back_out_the_same_link_sends_a_redirect() {
    let mut lab = Lab::new();
    let rmac = lab.host_arp();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let via = Some(ip("10.0.0.3"));
    lab.nodes[R].route_add(Route::new(ip("10.0.5.0"), 24, via, None)).unwrap();
    let dst = Ipv4Addr::new(10, 0, 5, 1);
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(dst, 64, true, b"r")));
    let got = ipv4_of(&lab.take_host(EthernetProtocol::Ipv4));
    assert_eq!(got.len(), 1, "the redirect (the packet itself waits for ARP)");
    let (t, code, body) = icmp_of(&got[0]);
    assert_eq!((t, code), (5, 1));
    assert_eq!(&body[4..8], &[10, 0, 0, 3]);
    // Backoff: the next redirect to this sender waits at least 40 ms.
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(dst, 64, true, b"r")));
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty());
    lab.nodes[R].sysctl_set("net.ipv4.conf.all.send_redirects", "0").unwrap();
    lab.nodes[R].sysctl_set("net.ipv4.conf.eth0.send_redirects", "0").unwrap();
    lab.run_until(SEC);
    lab.take_host(EthernetProtocol::Arp);
    lab.host_send(&eth(rmac, EthernetProtocol::Ipv4, &echo(dst, 64, true, b"r")));
    assert!(lab.take_host(EthernetProtocol::Ipv4).is_empty(), "send_redirects off");
}
