//! Bad input is normal input: arbitrary frames, and frames mutated from valid
//! Ethernet/ARP/IPv4/ICMP/UDP/TCP templates, fed to `Kernel::dev_rx` of an instance
//! with an address, a listening TCP socket and a bound UDP socket. Nothing may panic,
//! and every queue must stay bounded.

mod fuzz_bounds;

use fuzz_bounds::rx_bounded;
use libos_kernel::uapi::*;
use libos_kernel::wire::checksum;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const US_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const THEM_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const TCP_PORT: u16 = 80;
const UDP_PORT: u16 = 53;

fn kernel() -> (Kernel, u32, i32) {
    let mut k = Kernel::new(KernelConfig { seed: 9 });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress(US_MAC))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    k.addr_add(0, eth, IpAddr::V4(US), 24).unwrap();
    let any = |port| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
    // The TCP side may still be a placeholder; the fuzz target stands either way.
    if let Ok(t) = k.socket(AF_INET, SOCK_STREAM, 0) {
        let _ = k.bind(t, any(TCP_PORT));
        let _ = k.listen(t, 16);
    }
    let u = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.bind(u, any(UDP_PORT)).unwrap();
    let _ = k.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    (k, eth, u)
}

fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = US_MAC.to_vec();
    f.extend_from_slice(&THEM_MAC);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, protocol, 0, 0];
    h[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&THEM.octets());
    h.extend_from_slice(&US.octets());
    let c = !checksum::sum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    ether(0x0800, &h)
}

fn with_checksum(protocol: u8, mut seg: Vec<u8>, at: usize) -> Vec<u8> {
    let c = checksum::transport(&IpAddr::V4(THEM), &IpAddr::V4(US), protocol, &seg);
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
    seg
}

fn templates() -> Vec<Vec<u8>> {
    let mut udp = vec![0x30, 0x39, 0, UDP_PORT as u8, 0, 12, 0, 0];
    udp.extend_from_slice(b"dns?");
    let udp_closed = {
        let mut u = udp.clone();
        u[3] = 99;
        u
    };
    let mut syn = vec![0x30, 0x39, 0, TCP_PORT as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02];
    syn.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4]);
    let mut echo = vec![8, 0, 0, 0, 0, 1, 0, 1, b'x', b'y'];
    let c = !checksum::sum(&echo);
    echo[2..4].copy_from_slice(&c.to_be_bytes());
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&THEM_MAC);
    arp.extend_from_slice(&THEM.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&US.octets());
    vec![
        ipv4(17, &with_checksum(17, udp, 6)),
        ipv4(17, &with_checksum(17, udp_closed, 6)),
        ipv4(6, &with_checksum(6, syn, 16)),
        ipv4(1, &echo),
        ether(0x0806, &arp),
    ]
}

#[derive(Debug, Clone)]
enum Input {
    Raw(Vec<u8>),
    /// Template index, byte flips (position, xor), new length.
    Mutated(usize, Vec<(usize, u8)>, Option<usize>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Input::Raw),
        (
            0..5usize,
            prop::collection::vec((0..80usize, 1..=255u8), 0..4),
            prop::option::of(0..90usize)
        )
            .prop_map(|(t, flips, len)| Input::Mutated(t, flips, len)),
    ]
}

fn frame(templates: &[Vec<u8>], i: &Input) -> Vec<u8> {
    match i {
        Input::Raw(b) => b.clone(),
        Input::Mutated(t, flips, len) => {
            let mut f = templates[*t].clone();
            for &(pos, x) in flips {
                if let Some(b) = f.get_mut(pos) {
                    *b ^= x;
                }
            }
            if let Some(l) = len {
                f.resize(*l, 0);
            }
            f
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn dev_rx_never_panics_and_stays_bounded(inputs in prop::collection::vec(input(), 1..32)) {
        let t = templates();
        let (mut k, eth, udp) = kernel();
        let mut now = 0u64;
        for i in &inputs {
            rx_bounded(&mut k, &mut now, eth, &frame(&t, i))?;
        }
        // The UDP receive queue is bounded by SO_RCVBUF: drain it.
        let mut buf = [0u8; 2048];
        let mut queued = 0;
        while k.recv(now, udp, &mut buf, 0).is_ok() {
            queued += 1;
            prop_assert!(queued <= inputs.len());
        }
    }
}

#[test]
fn valid_templates_are_accepted() {
    // Sanity for the generator: the unmutated UDP template reaches the socket.
    let t = templates();
    let (mut k, eth, udp) = kernel();
    k.dev_rx(0, eth, &t[0]);
    while k.poll_transmit().is_some() {}
    let mut buf = [0u8; 64];
    let (n, from) = k.recvfrom(0, udp, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"dns?");
    assert_eq!(from, Some(SocketAddr::V4(SocketAddrV4::new(THEM, 12345))));
    // The ARP request teaches us THEM's address; then the SYN, the echo request and
    // the closed-port datagram each get an answer.
    for (i, name) in [(4, "ARP reply"), (2, "SYN-ACK"), (3, "echo reply"), (1, "unreachable")] {
        k.dev_rx(0, eth, &t[i]);
        let mut frames = Vec::new();
        while let Some(f) = k.poll_transmit() {
            frames.push(f.frame);
        }
        assert!(!frames.is_empty(), "no {name}");
    }
}
