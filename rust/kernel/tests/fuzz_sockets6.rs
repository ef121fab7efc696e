//! Bad input over IPv6 reaching the sockets: random TCP, UDP and ICMPv6 messages with
//! valid checksums (ICMPv6 errors quoting random "invoking packets" with extension
//! headers), mutated or not, fed to an instance with a dual-stack listener, a UDP
//! socket and a raw ICMPv6 socket. Nothing may panic; output, events and queues stay
//! bounded; the counters see the drops.

mod fuzz_bounds;

use fuzz_bounds::rx_bounded;
use libos_kernel::uapi::*;
use libos_kernel::wire::checksum;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

const US_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const THEM_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn us() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}

fn them() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}

fn kernel() -> (Kernel, u32, i32, i32) {
    let mut k = Kernel::new(KernelConfig { seed: 11 });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress(US_MAC))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    k.addr_add(0, eth, IpAddr::V6(us()), 64).unwrap();
    // Past DAD.
    while let Some(d) = k.next_deadline().filter(|&d| d < 5_000_000_000) {
        k.advance(d);
    }
    while k.poll_transmit().is_some() {}
    let any = |port| SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let t = k.socket(AF_INET6, SOCK_STREAM, 0).unwrap();
    k.bind(t, any(80)).unwrap();
    k.listen(t, 16).unwrap();
    let u = k.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
    k.bind(u, any(53)).unwrap();
    let r = k.socket(AF_INET6, SOCK_RAW, 58).unwrap();
    (k, eth, u, r)
}

/// An IPv6 packet from THEM to US in an Ethernet frame; `csum_at` is where the upper
/// layer's checksum goes (None: leave the bytes as they are).
fn frame(next: u8, mut body: Vec<u8>, csum_at: Option<usize>) -> Vec<u8> {
    if let Some(at) = csum_at.filter(|&a| a + 2 <= body.len()) {
        body[at..at + 2].fill(0);
        let c = checksum::transport(&IpAddr::V6(them()), &IpAddr::V6(us()), next, &body);
        body[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    let mut f = US_MAC.to_vec();
    f.extend_from_slice(&THEM_MAC);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(body.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, 64]);
    f.extend_from_slice(&them().octets());
    f.extend_from_slice(&us().octets());
    f.extend_from_slice(&body);
    f
}

#[derive(Debug, Clone)]
enum Msg {
    /// TCP to port 80 or elsewhere: flags byte, random options/payload.
    Tcp(u16, u8, Vec<u8>),
    /// UDP to port 53 or elsewhere, a zero checksum or not.
    Udp(u16, bool, Vec<u8>),
    /// ICMPv6 error type/code/param quoting an "invoking packet": its next header,
    /// an extension chain of (type, len) and a random tail.
    IcmpErr(u8, u8, u32, u8, Vec<(u8, u8)>, Vec<u8>),
    /// Any ICMPv6 type with a random body.
    Icmp(u8, Vec<u8>),
    /// Random bytes as a payload of a random next header, no checksum fix-up.
    Junk(u8, Vec<u8>),
}

fn msg() -> impl Strategy<Value = Msg> {
    let bytes = |n| prop::collection::vec(any::<u8>(), 0..n);
    prop_oneof![
        (prop_oneof![Just(80u16), any::<u16>()], any::<u8>(), bytes(60))
            .prop_map(|(p, f, b)| Msg::Tcp(p, f, b)),
        (prop_oneof![Just(53u16), any::<u16>()], any::<bool>(), bytes(80))
            .prop_map(|(p, z, b)| Msg::Udp(p, z, b)),
        (
            1..=4u8,
            0..8u8,
            any::<u32>(),
            prop_oneof![Just(6u8), Just(17u8), Just(58u8), any::<u8>()],
            prop::collection::vec(
                (prop_oneof![Just(0u8), Just(43), Just(44), Just(60)], 0..3u8),
                0..3
            ),
            bytes(40)
        )
            .prop_map(|(t, c, p, n, e, b)| Msg::IcmpErr(t, c, p, n, e, b)),
        (any::<u8>(), bytes(60)).prop_map(|(t, b)| Msg::Icmp(t, b)),
        (any::<u8>(), bytes(80)).prop_map(|(n, b)| Msg::Junk(n, b)),
    ]
}

fn build(m: &Msg) -> Vec<u8> {
    match m {
        Msg::Tcp(port, flags, rest) => {
            let mut s = vec![0x30, 0x39];
            s.extend_from_slice(&port.to_be_bytes());
            s.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, *flags]);
            s.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
            s.extend_from_slice(rest);
            frame(6, s, Some(16))
        }
        Msg::Udp(port, zero, rest) => {
            let mut u = vec![0x30, 0x39];
            u.extend_from_slice(&port.to_be_bytes());
            u.extend_from_slice(&((8 + rest.len()) as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(rest);
            frame(17, u, (!zero).then_some(6))
        }
        Msg::IcmpErr(ty, code, param, next, chain, tail) => {
            let mut q = vec![0x60, 0, 0, 0, 0, 200];
            let first = chain.first().map_or(*next, |c| c.0);
            q.extend_from_slice(&[first, 64]);
            q.extend_from_slice(&us().octets());
            q.extend_from_slice(&them().octets());
            for (i, (_, len)) in chain.iter().enumerate() {
                let nh = chain.get(i + 1).map_or(*next, |c| c.0);
                let mut h = vec![nh, *len];
                h.resize((usize::from(*len) + 1) * 8, 0);
                q.extend_from_slice(&h);
            }
            q.extend_from_slice(tail);
            let mut m = vec![*ty, *code, 0, 0];
            m.extend_from_slice(&param.to_be_bytes());
            m.extend_from_slice(&q);
            frame(58, m, Some(2))
        }
        Msg::Icmp(ty, rest) => {
            let mut m = vec![*ty, 0, 0, 0];
            m.extend_from_slice(rest);
            frame(58, m, Some(2))
        }
        Msg::Junk(next, b) => frame(*next, b.clone(), None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ipv6_to_sockets_never_panics_and_stays_bounded(msgs in prop::collection::vec(msg(), 1..24)) {
        let (mut k, eth, udp, raw) = kernel();
        let mut now = 10_000_000_000u64;
        for m in &msgs {
            rx_bounded(&mut k, &mut now, eth, &build(m))?;
        }
        // UDP holds at most one datagram per input; the raw ICMPv6 socket also hears the
        // errors the kernel sends itself (address unreachable after failed neighbour
        // resolution, as Linux loops them back), a few per input, bounded all the same.
        let mut buf = [0u8; 2048];
        for (fd, per_input) in [(udp, 1), (raw, 16)] {
            let mut queued = 0;
            while k.recv(now, fd, &mut buf, 0).is_ok() {
                queued += 1;
                prop_assert!(queued <= per_input * msgs.len());
            }
        }
    }
}

#[test]
fn zero_udp_checksum_is_counted_over_ipv6() {
    let (mut k, eth, udp, _) = kernel();
    k.dev_rx(10_000_000_000, eth, &build(&Msg::Udp(53, true, b"zero".to_vec())));
    let mut buf = [0u8; 16];
    assert!(k.recv(0, udp, &mut buf, 0).is_err());
    assert_eq!(k.snmp_counter("Udp", "InCsumErrors"), Some(1));
    k.dev_rx(10_000_000_000, eth, &build(&Msg::Udp(53, false, b"good".to_vec())));
    assert_eq!(k.recv(0, udp, &mut buf, 0), Ok(4));
}
