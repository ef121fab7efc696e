//! IPv6 packets with fuzzed extension-header chains and fragments, fed to a dual-homed
//! instance that forwards IPv6 and has UDP and TCP sockets on [::]. The input is a
//! list of records `[flags, hop_limit, next_header, len, payload...]`; the harness
//! writes a valid Ethernet + IPv6 header around the payload (source, destination and
//! clock step chosen by `flags`), so the fuzzer spends its time past the header checks:
//! in the chain walk, reassembly, forwarding and ICMPv6. A final 120 s step expires
//! every reassembly queue.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libos_kernel::{DeviceConfig, EthernetAddress, IfIndex, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const OUR_MAC2: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const SEC: u64 = 1_000_000_000;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

struct H {
    k: Kernel,
    eth: [IfIndex; 2],
    now: u64,
}

impl H {
    fn new() -> H {
        let mut k = Kernel::new(KernelConfig { seed: 9 });
        let e0 = k.dev_add(DeviceConfig::ethernet("eth0", OUR_MAC)).unwrap();
        let e1 = k.dev_add(DeviceConfig::ethernet("eth1", OUR_MAC2)).unwrap();
        for (i, p) in [(e0, "2001:db8::1"), (e1, "2001:db8:1::1")] {
            let _ = k.sysctl_set(&format!("net.ipv6.conf.eth{}.accept_dad", i - e0), "0");
            let _ = k.dev_set_up(0, i, true);
            let _ = k.addr_add(0, i, IpAddr::V6(a(p)), 64);
        }
        let _ = k.sysctl_set("net.ipv6.conf.all.forwarding", "1");
        let any = |port| SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        use libos_kernel::uapi::*;
        if let Ok(fd) = k.socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0) {
            let _ = k.bind(fd, any(53));
        }
        if let Ok(fd) = k.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0) {
            let _ = k.bind(fd, any(80));
            let _ = k.listen(fd, 8);
        }
        let mut h = H { k, eth: [e0, e1], now: 3 * SEC };
        h.settle();
        h
    }

    fn settle(&mut self) {
        for _ in 0..64 {
            while self.k.poll_transmit().is_some() {}
            while self.k.poll_event().is_some() {}
            match self.k.next_deadline() {
                Some(d) if d <= self.now => self.k.advance(self.now),
                _ => return,
            }
        }
    }

    fn record(&mut self, flags: u8, hop_limit: u8, nh: u8, payload: &[u8]) {
        let srcs = [a("2001:db8::2"), a("fe80::2"), a("2001:db8:1::2"), a("::")];
        let dsts = [a("2001:db8::1"), a("2001:db8:1::2"), a("ff02::1"), a("2001:db8:9::9")];
        let (src, dst) = (srcs[usize::from(flags & 3)], dsts[usize::from((flags >> 2) & 3)]);
        let dev = self.eth[usize::from((flags >> 4) & 1)];
        self.now += [0, 1_000_000, SEC, 61 * SEC][usize::from(flags >> 6)];
        let mut f = Vec::with_capacity(54 + payload.len());
        f.extend_from_slice(&OUR_MAC.0);
        f.extend_from_slice(&PEER_MAC.0);
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(&[nh, hop_limit]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(payload);
        self.k.dev_rx(self.now, dev, &f);
        self.settle();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut h = H::new();
    let mut d = data;
    for _ in 0..256 {
        let [flags, hop, nh, len, rest @ ..] = d else { break };
        let n = (usize::from(*len) * 8).min(rest.len());
        h.record(*flags, *hop, *nh, &rest[..n]);
        d = &rest[n..];
    }
    h.now += 120 * SEC;
    h.k.advance(h.now);
    h.settle();
});
