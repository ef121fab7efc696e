//! The fuzzing harness shared by `fuzz/` (cargo-fuzz targets) and the regression tests
//! in `tests/`: a configured instance, and a decoder that turns arbitrary bytes into a
//! sequence of frames, clock steps and socket calls. Everything is bounded: a run never
//! panics, hangs or grows without limit, or the kernel has a bug.
//!
//! Input format, a sequence of records, each starting with an op byte `h`:
//! - `h % 4 == 0`: raw frame: `len: u16 LE` then `len` bytes (cut at the input's end);
//! - `h % 4 == 1`: IPv4 packet to us: same length and bytes, wrapped in an Ethernet
//!   header to our MAC, with addresses, lengths and checksums fixed (bit 2 of `h`: keep
//!   the fuzzer's source address; bit 3: keep the transport checksum) so the packet
//!   reaches the transports instead of dying in the header checks;
//! - `h % 4 == 2`: the clock moves `next byte` x 4 ms and due timers fire;
//! - `h % 4 == 3`: the application acts: accept, read, write or close (chosen by `h`).

use libos_kernel::uapi::*;
use libos_kernel::wire::checksum;
use libos_kernel::{DeviceConfig, EthernetAddress, Fd, IfIndex, Kernel, KernelConfig, Route};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
pub const GW_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
pub const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

/// Most records a run decodes, and most timer rounds at the end.
const MAX_RECORDS: usize = 4096;
const MAX_FINAL_ROUNDS: usize = 64;
const MAX_FRAME: usize = 9216;

/// A configured instance: eth0 up with 10.0.0.1/24 and a default route, ARP entries
/// for the peer and the gateway (learnt from replies), a TCP listener on :80, a UDP
/// socket on :53, and one outgoing TCP connection to the peer.
pub struct Harness {
    pub k: Kernel,
    pub eth: IfIndex,
    pub now: u64,
    pub listener: Option<Fd>,
    pub udp: Option<Fd>,
    /// Connected or accepted stream sockets the application drives.
    pub streams: Vec<Fd>,
    /// Frames the kernel sent (drained after every step; only counted).
    pub sent: u64,
}

/// An ARP reply from `mac`/`ip` to us (RFC 826), in an Ethernet frame.
pub fn arp_reply(mac: EthernetAddress, ip: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&OUR_MAC.0);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&OUR_MAC.0);
    f.extend_from_slice(&OUR_IP.octets());
    f
}

impl Harness {
    pub fn new() -> Harness {
        let mut k = Kernel::new(KernelConfig { seed: 7 });
        let now = 1_000_000_000;
        let eth = k.dev_add(DeviceConfig::ethernet("eth0", OUR_MAC)).expect("eth0");
        let _ = k.dev_set_up(now, eth, true);
        let _ = k.addr_add(now, eth, IpAddr::V4(OUR_IP), 24);
        let _ = k.route_add(Route::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            0,
            Some(IpAddr::V4(GW_IP)),
            Some(eth),
        ));
        let mut h =
            Harness { k, eth, now, listener: None, udp: None, streams: Vec::new(), sent: 0 };
        h.k.dev_rx(now, eth, &arp_reply(PEER_MAC, PEER_IP));
        h.k.dev_rx(now, eth, &arp_reply(GW_MAC, GW_IP));
        let any = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        if let Ok(fd) = h.k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) {
            let _ = h.k.setsockopt_int(now, fd, SOL_SOCKET, SO_REUSEADDR, 1);
            if h.k.bind(fd, any(80)).is_ok() && h.k.listen(fd, 16).is_ok() {
                h.listener = Some(fd);
            }
        }
        if let Ok(fd) = h.k.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)
            && h.k.bind(fd, any(53)).is_ok()
        {
            h.udp = Some(fd);
        }
        if let Ok(fd) = h.k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) {
            let _ = h.k.connect(now, fd, SocketAddr::new(IpAddr::V4(PEER_IP), 8080));
            h.streams.push(fd);
        }
        h.drain();
        h
    }

    /// Collects what the kernel wants to send and its events (the host's duty).
    fn drain(&mut self) {
        while self.k.poll_transmit().is_some() {
            self.sent += 1;
        }
        while self.k.poll_event().is_some() {}
    }

    fn step_clock(&mut self, dt: u64) {
        self.now += dt;
        if self.k.next_deadline().is_some_and(|d| d <= self.now) {
            self.k.advance(self.now);
        }
        self.drain();
    }

    /// Decodes and runs one input.
    pub fn run(&mut self, mut data: &[u8]) {
        let mut records = 0;
        while let Some((&h, rest)) = data.split_first() {
            data = rest;
            records += 1;
            if records > MAX_RECORDS {
                break;
            }
            match h % 4 {
                0 | 1 => {
                    let (bytes, rest) = take_frame(data);
                    data = rest;
                    self.now += 10_000;
                    let frame = if h % 4 == 0 {
                        bytes.to_vec()
                    } else {
                        ipv4_to_us(bytes, h & 4 != 0, h & 8 != 0)
                    };
                    self.k.dev_rx(self.now, self.eth, &frame);
                    self.drain();
                }
                2 => {
                    let Some((&n, rest)) = data.split_first() else { break };
                    data = rest;
                    self.step_clock(u64::from(n) * 4_000_000);
                }
                _ => self.app_step(h >> 2),
            }
        }
        self.finish();
    }

    /// Lets timers run out (retransmissions, TIME_WAIT...), boundedly.
    fn finish(&mut self) {
        for _ in 0..MAX_FINAL_ROUNDS {
            let Some(d) = self.k.next_deadline() else { break };
            self.now = self.now.max(d);
            self.k.advance(self.now);
            self.drain();
        }
    }

    fn app_step(&mut self, what: u8) {
        let now = self.now;
        match what % 6 {
            0 => {
                if let Some(l) = self.listener
                    && let Ok((fd, _)) = self.k.accept(now, l, SOCK_NONBLOCK)
                    && self.streams.len() < 64
                {
                    self.streams.push(fd);
                }
            }
            1 => {
                let mut buf = [0u8; 2048];
                for fd in self.streams.clone() {
                    let _ = self.k.recv(now, fd, &mut buf, 0);
                }
                if let Some(u) = self.udp {
                    let _ = self.k.recvfrom(now, u, &mut buf, 0);
                }
            }
            2 => {
                let data = [what; 3000];
                for fd in self.streams.clone() {
                    let _ = self.k.send(now, fd, &data[..(what as usize * 97) % 3000], 0);
                }
                if let Some(u) = self.udp {
                    let to = SocketAddr::new(IpAddr::V4(PEER_IP), 9);
                    let _ = self.k.sendto(now, u, &data[..what as usize * 20], 0, Some(to));
                }
            }
            3 => {
                if let Some(fd) = self.streams.pop() {
                    let _ = self.k.shutdown(now, fd, SHUT_WR);
                    self.streams.insert(0, fd);
                }
            }
            4 => {
                if let Some(fd) = self.streams.pop() {
                    let _ = self.k.close(now, fd);
                }
            }
            _ => {
                for fd in self.streams.clone() {
                    let _ = self.k.poll(fd);
                    let _ = self.k.tcp_info(fd);
                }
            }
        }
        self.drain();
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

fn take_frame(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let len = (u16::from_le_bytes([data[0], data[1]]) as usize % MAX_FRAME).min(data.len() - 2);
    data[2..].split_at(len)
}

/// Wraps `pkt` as an IPv4 packet from the peer to us that passes the IP header checks:
/// version/IHL, total length, destination, header and (unless kept) transport checksum.
pub fn ipv4_to_us(pkt: &[u8], keep_src: bool, keep_csum: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + pkt.len().max(20));
    f.extend_from_slice(&OUR_MAC.0);
    f.extend_from_slice(&PEER_MAC.0);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(pkt);
    f.resize(f.len().max(14 + 20), 0);
    let ip = &mut f[14..];
    let ihl = match ip[0] & 0x0f {
        n @ 5..=15 if (n as usize) * 4 <= ip.len() => n as usize * 4,
        _ => 20,
    };
    ip[0] = 0x40 | (ihl / 4) as u8;
    let total = ip.len().min(0xffff);
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    // Clear MF and the offset half the time at most: keep the fuzzer's choice if odd.
    if ip[6] & 1 == 0 {
        ip[6] &= 0x40;
        ip[7] = 0;
    }
    if ip[8] == 0 {
        ip[8] = 64;
    }
    if !keep_src {
        ip[12..16].copy_from_slice(&PEER_IP.octets());
    }
    ip[16..20].copy_from_slice(&OUR_IP.octets());
    ip[10..12].copy_from_slice(&[0, 0]);
    let hc = !checksum::sum(&ip[..ihl]);
    ip[10..12].copy_from_slice(&hc.to_be_bytes());
    let proto = ip[9];
    let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
    let dst = IpAddr::V4(OUR_IP);
    let off = match proto {
        6 => 16,
        17 => 6,
        1 => 2,
        _ => return f,
    };
    let seg = &mut ip[ihl..total];
    if keep_csum || seg.len() < off + 2 {
        return f;
    }
    seg[off..off + 2].copy_from_slice(&[0, 0]);
    let c =
        if proto == 1 { !checksum::sum(seg) } else { checksum::transport(&src, &dst, proto, seg) };
    seg[off..off + 2].copy_from_slice(&c.to_be_bytes());
    f
}

/// The sysctl target: `name` NUL `value` (or `index byte` + value when the input starts
/// with 0xff, to hit real names); set then get must never panic, and a value that was
/// accepted must read back.
pub fn run_sysctl(data: &[u8]) {
    let mut k = Kernel::new(KernelConfig::default());
    let _ = k.dev_add(DeviceConfig::ethernet("eth0", OUR_MAC));
    let (name, value) = if let [0xff, i, rest @ ..] = data {
        let names = k.sysctl_names();
        if names.is_empty() {
            return;
        }
        (names[*i as usize % names.len()].clone(), String::from_utf8_lossy(rest).into_owned())
    } else {
        let mut parts = data.splitn(2, |&b| b == 0);
        let n = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
        let v = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
        (n, v)
    };
    if k.sysctl_set(&name, &value).is_ok() {
        assert!(k.sysctl_get(&name).is_ok(), "accepted {name:?}={value:?} but cannot read it back");
    } else {
        let _ = k.sysctl_get(&name);
    }
}
