//! The IP layer against a recording transport: loopback delivery, ICMP errors reaching
//! sockets with Linux's errno, output errors and counters.

use super::*;
use crate::Errno;
use crate::dev::{DevFlags, DeviceConfig};
use crate::net::{Delivery, IcmpError, IpRx, IpTx};
use crate::pktbuf::PacketBuf;
use crate::wire::EthernetAddress;
use crate::wire::ipv4::Ipv4Packet;
use std::net::{IpAddr, Ipv4Addr};

/// (errno, fatal, type, code, mtu, quoted transport bytes).
type SeenError = (Errno, bool, u8, u8, Option<u32>, Vec<u8>);

#[derive(Default)]
struct Recorder {
    delivered: Vec<(IpAddr, IpAddr, Vec<u8>)>,
    errors: Vec<SeenError>,
    answer: Option<Delivery>,
}

impl Transport for Recorder {
    fn raw_deliver(&mut self, _: Nanos, _: &mut Net, _: &IpRx<'_>) -> bool {
        false
    }
    fn deliver(&mut self, _: Nanos, _: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery {
        self.delivered.push((rx.src, rx.dst, payload.to_vec()));
        self.answer.unwrap_or(Delivery::Consumed)
    }
    fn icmp_error(&mut self, _: Nanos, _: &mut Net, e: &IcmpError<'_>) {
        let q = e.quoted.to_vec();
        self.errors.push((e.errno, e.fatal, e.icmp_type, e.icmp_code, e.mtu, q));
    }
}

const SEC: Nanos = 1_000_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// lo with 127.0.0.1/8 and eth0 (index 2) with 10.0.0.1/24, both up.
fn host() -> Net {
    let mut net = Net::new(9);
    let lo = DeviceConfig {
        name: "lo".into(),
        mac: EthernetAddress::ZERO,
        mtu: 65536,
        flags: DevFlags::LOOPBACK,
    };
    for cfg in [lo, DeviceConfig::ethernet("eth0", EthernetAddress::local(1))] {
        let i = net.devs.add(cfg).unwrap();
        net.devs.get_mut(i).unwrap().flags.insert(DevFlags::UP);
        net.dev_changed(0, i);
    }
    net.addr_add(0, 1, ip("127.0.0.1"), 8).unwrap();
    net.addr_add(0, 2, ip("10.0.0.1"), 24).unwrap();
    net.outbox.clear();
    net
}

fn udp_tx(dst: &str) -> IpTx {
    IpTx {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: ip(dst),
        protocol: 17,
        ttl: 0,
        tos: 0,
        dont_frag: false,
        oif: None,
        allow_broadcast: false,
    }
}

/// Delivers looped-back frames, as `Kernel::finish` does.
fn drain(now: Nanos, net: &mut Net, tp: &mut Recorder) {
    while let Some((i, f)) = net.loopback.pop_front() {
        input(now, net, tp, i, &f[14..], false);
    }
}

fn run_timers(net: &mut Net, tp: &mut Recorder, until: Nanos) {
    while let Some(d) = net.ip_next_deadline().filter(|d| *d <= until) {
        net.ip_advance(d);
        drain(d, net, tp);
    }
}

#[test]
fn own_address_loops_back_to_the_transport() {
    let (mut net, mut tp) = (host(), Recorder::default());
    net.ip_output(0, &udp_tx("10.0.0.1"), PacketBuf::from_slice(b"12345678")).unwrap();
    assert!(net.outbox.is_empty());
    drain(0, &mut net, &mut tp);
    assert_eq!(tp.delivered, vec![(ip("10.0.0.1"), ip("10.0.0.1"), b"12345678".to_vec())]);
    assert_eq!(net.ipv4.mib.out_requests, 1);
    assert_eq!(net.ipv4.mib.in_delivers, 1);
}

#[test]
fn closed_udp_port_reports_econnrefused() {
    let mut tp = Recorder { answer: Some(Delivery::NoPort), ..Default::default() };
    let mut net = host();
    net.ip_output(0, &udp_tx("127.0.0.1"), PacketBuf::from_slice(b"portsxyz")).unwrap();
    drain(0, &mut net, &mut tp);
    assert_eq!(tp.errors.len(), 1);
    let (errno, fatal, t, c, _, quoted) = &tp.errors[0];
    assert_eq!((*errno, *fatal, *t, *c), (Errno::ECONNREFUSED, true, 3, 3));
    assert_eq!(&quoted[..], b"portsxyz");
    assert_eq!(net.ipv4.icmp_mib.out_type[3], 1);
}

#[test]
fn arp_failure_reports_ehostunreach_to_the_sender() {
    let (mut net, mut tp) = (host(), Recorder::default());
    net.ip_output(0, &udp_tx("10.0.0.77"), PacketBuf::from_slice(b"anyone?!")).unwrap();
    assert_eq!(net.outbox.len(), 1, "ARP request");
    assert_eq!(&net.outbox[0].frame[..6], &[0xff; 6]);
    run_timers(&mut net, &mut tp, 2 * SEC);
    assert!(tp.errors.is_empty());
    // (The device's IPv6 DAD probe goes out meanwhile: count ARP only.)
    let arp = net.outbox.iter().filter(|t| t.frame[12..14] == [0x08, 0x06]).count();
    assert_eq!(arp, 3, "mcast_solicit requests");
    run_timers(&mut net, &mut tp, 3 * SEC);
    assert_eq!(tp.errors.len(), 1);
    let (errno, fatal, t, c, _, _) = tp.errors[0];
    assert_eq!((errno, fatal, t, c), (Errno::EHOSTUNREACH, false, 3, 1));
    assert_eq!(net.neigh.stats.res_failed, 1);
}

#[test]
fn output_errors_and_fragment_counters() {
    let mut net = host();
    let mut tx = udp_tx("10.0.0.9");
    tx.dont_frag = true;
    assert_eq!(net.ip_output(0, &tx, PacketBuf::new(2000)), Err(Errno::EMSGSIZE));
    assert_eq!(net.ipv4.mib.frag_fails, 1);
    tx.dont_frag = false;
    net.ip_output(0, &tx, PacketBuf::new(2000)).unwrap();
    assert_eq!((net.ipv4.mib.frag_oks, net.ipv4.mib.frag_creates), (1, 2));
    assert_eq!(net.ip_output(0, &udp_tx("8.8.8.8"), PacketBuf::new(8)), Err(Errno::ENETUNREACH));
    assert_eq!(net.ipv4.mib.out_no_routes, 1);
    let mut b = udp_tx("10.0.0.255");
    assert_eq!(net.ip_output(0, &b, PacketBuf::new(8)), Err(Errno::EACCES));
    b.allow_broadcast = true;
    net.outbox.clear();
    net.ip_output(0, &b, PacketBuf::new(8)).unwrap();
    let f = &net.outbox[0].frame;
    assert_eq!(&f[..6], &[0xff; 6]);
    let p = Ipv4Packet::new_checked(&f[14..]).unwrap();
    assert_eq!((p.src_addr(), p.ttl()), (Ipv4Addr::new(10, 0, 0, 1), 64));
}

#[test]
fn ip_ids_are_deterministic_per_seed() {
    let ids = || {
        let mut net = host();
        (0..3).map(|_| net.next_ident()).collect::<Vec<u16>>()
    };
    let a = ids();
    assert_eq!(a, ids());
    assert_eq!(a[1], a[0].wrapping_add(1));
}

#[test]
fn martians_and_bad_headers_are_counted() {
    let (mut net, mut tp) = (host(), Recorder::default());
    let mut pkt = vec![0u8; 28];
    let repr = crate::wire::ipv4::Ipv4Repr {
        src_addr: Ipv4Addr::new(127, 0, 0, 1),
        dst_addr: Ipv4Addr::new(10, 0, 0, 1),
        protocol: 17,
        payload_len: 8,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut pkt[..]));
    input(0, &mut net, &mut tp, 2, &pkt, false);
    assert_eq!(net.ipv4.mib.in_addr_errors, 1, "127/8 source from the wire");
    let mut own = pkt.clone();
    let mut p = Ipv4Packet::new_unchecked(&mut own[..]);
    p.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
    p.fill_checksum();
    input(0, &mut net, &mut tp, 2, &own, false);
    assert_eq!(net.ipv4.mib.in_addr_errors, 2, "our own source from the wire");
    pkt[10] ^= 0xff;
    input(0, &mut net, &mut tp, 2, &pkt, false);
    assert_eq!(net.ipv4.mib.in_csum_errors, 1);
    input(0, &mut net, &mut tp, 2, &pkt[..25], false);
    assert_eq!(net.ipv4.mib.in_truncated_pkts, 1);
    input(0, &mut net, &mut tp, 2, &pkt[..10], false);
    assert_eq!(net.ipv4.mib.in_hdr_errors, 2);
    assert!(tp.delivered.is_empty());
    assert_eq!(net.ipv4.mib.in_receives, 5);
}

#[test]
fn frag_needed_reaches_socket_and_lowers_path_mtu() {
    use crate::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
    let (mut net, mut tp) = (host(), Recorder::default());
    let gw = Some(ip("10.0.0.254"));
    net.route_add(crate::Route::new(ip("0.0.0.0"), 0, gw, None)).unwrap();
    // The packet we "sent": 10.0.0.1 -> 192.0.2.1 UDP, quoted in the error.
    let mut inner = vec![0u8; 28];
    let repr = crate::wire::ipv4::Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(192, 0, 2, 1),
        protocol: 17,
        payload_len: 8,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut inner[..]));
    let icmp = Icmpv4Repr::DstUnreachable { code: 4, next_hop_mtu: 1400, data: &inner };
    let mut msg = vec![0u8; icmp.buffer_len()];
    icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut msg[..]));
    let mut outer = vec![0u8; 20 + msg.len()];
    let o = crate::wire::ipv4::Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 254),
        dst_addr: Ipv4Addr::new(10, 0, 0, 1),
        protocol: 1,
        payload_len: msg.len(),
        ..repr
    };
    o.emit(&mut Ipv4Packet::new_unchecked(&mut outer[..]));
    outer[20..].copy_from_slice(&msg);
    assert_eq!(net.route_output(ip("192.0.2.1"), None).unwrap().mtu, 1500);
    input(0, &mut net, &mut tp, 2, &outer, false);
    assert_eq!(tp.errors.len(), 1);
    let (errno, fatal, _, _, mtu, _) = &tp.errors[0];
    assert_eq!((*errno, *fatal, *mtu), (Errno::EMSGSIZE, false, Some(1400)));
    assert_eq!(net.route_output(ip("192.0.2.1"), None).unwrap().mtu, 1400);
    assert_eq!(net.route_output(ip("192.0.2.2"), None).unwrap().mtu, 1500);
    net.ip_advance(601 * SEC);
    assert_eq!(net.route_output(ip("192.0.2.1"), None).unwrap().mtu, 1500, "expired");
}

#[test]
fn static_neighbour_skips_arp_and_route_replace_validates() {
    let mut net = host();
    let mac = EthernetAddress([2, 0, 0, 0, 0, 9]);
    net.neigh_add(2, ip("10.0.0.9"), mac).unwrap();
    net.ip_output(0, &udp_tx("10.0.0.9"), PacketBuf::new(8)).unwrap();
    assert_eq!(net.outbox.len(), 1);
    assert_eq!(&net.outbox[0].frame[..6], &mac.0);
    assert_eq!(net.neigh_add(7, ip("10.0.0.9"), mac), Err(Errno::ENODEV));
    net.neigh_del(2, ip("10.0.0.9")).unwrap();
    assert_eq!(net.neigh_del(2, ip("10.0.0.9")), Err(Errno::ENOENT));
    let gw = |g: &str| crate::Route::new(ip("0.0.0.0"), 0, Some(ip(g)), None);
    net.route_replace(gw("10.0.0.254")).unwrap();
    net.route_replace(gw("10.0.0.253")).unwrap();
    assert_eq!(net.route_output(ip("1.1.1.1"), None).unwrap().next_hop, ip("10.0.0.253"));
    assert_eq!(net.route_replace(gw("10.9.0.1")), Err(Errno::ENETUNREACH));
    assert_eq!(net.route_add(gw("10.0.0.252")), Err(Errno::EEXIST));
}

/// An ICMP message from `from` to 10.0.0.1 quoting a packet 10.0.0.1 -> `dst`.
fn icmp_about(from: Ipv4Addr, dst: Ipv4Addr, icmp: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut inner = vec![0u8; 28];
    let repr = crate::wire::ipv4::Ipv4Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: dst,
        protocol: 17,
        payload_len: 8,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut inner[..]));
    let msg = icmp(&inner);
    let mut outer = vec![0u8; 20 + msg.len()];
    let o = crate::wire::ipv4::Ipv4Repr {
        src_addr: from,
        dst_addr: Ipv4Addr::new(10, 0, 0, 1),
        protocol: 1,
        payload_len: msg.len(),
        ..repr
    };
    o.emit(&mut Ipv4Packet::new_unchecked(&mut outer[..]));
    outer[20..].copy_from_slice(&msg);
    outer
}

fn redirect_msg(gw: Ipv4Addr) -> impl Fn(&[u8]) -> Vec<u8> {
    move |inner| {
        use crate::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
        let r = Icmpv4Repr::Redirect { code: 1, gateway: gw, data: inner };
        let mut m = vec![0u8; r.buffer_len()];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut m[..]));
        m
    }
}

#[test]
fn redirect_from_our_gateway_changes_next_hop() {
    let (mut net, mut tp) = (host(), Recorder::default());
    let gw = Some(ip("10.0.0.254"));
    net.route_add(crate::Route::new(ip("0.0.0.0"), 0, gw, None)).unwrap();
    let (far, new_gw) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(10, 0, 0, 3));
    let router = Ipv4Addr::new(10, 0, 0, 254);
    // New gateway not yet resolved: Linux only starts resolving it.
    input(0, &mut net, &mut tp, 2, &icmp_about(router, far, redirect_msg(new_gw)), false);
    assert_eq!(net.route_output(IpAddr::V4(far), None).unwrap().next_hop, ip("10.0.0.254"));
    assert_eq!(net.outbox.len(), 1, "ARP request for the new gateway");
    net.neigh_add(2, IpAddr::V4(new_gw), EthernetAddress([2, 0, 0, 0, 0, 3])).unwrap();
    // From someone who is not our gateway: ignored.
    let liar = Ipv4Addr::new(10, 0, 0, 66);
    input(0, &mut net, &mut tp, 2, &icmp_about(liar, far, redirect_msg(new_gw)), false);
    assert_eq!(net.route_output(IpAddr::V4(far), None).unwrap().next_hop, ip("10.0.0.254"));
    input(0, &mut net, &mut tp, 2, &icmp_about(router, far, redirect_msg(new_gw)), false);
    assert_eq!(net.route_output(IpAddr::V4(far), None).unwrap().next_hop, ip("10.0.0.3"));
    assert_eq!(net.route_output(ip("192.0.2.2"), None).unwrap().next_hop, ip("10.0.0.254"));
    assert!(tp.errors.is_empty(), "redirects are not socket errors");
    net.ip_advance(301 * SEC);
    assert_eq!(net.route_output(IpAddr::V4(far), None).unwrap().next_hop, ip("10.0.0.254"));
}
