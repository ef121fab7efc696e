//! A two-host harness for socket tests: kernels A (10.0.0.1) and B (10.0.0.2) on one
//! Ethernet segment, frames shuttled between them in virtual time, bounded so a
//! protocol loop fails the test instead of hanging it (quinn-proto `Pair` style).

#![allow(dead_code)]

use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig, Nanos};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const BCAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 255);

pub fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A kernel with `eth0` up, holding `ip`/24.
pub fn host(seed: u64, n: u32, ip: Ipv4Addr) -> (Kernel, u32) {
    let mut k = Kernel::new(KernelConfig { seed });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(n))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    k.addr_add(0, eth, IpAddr::V4(ip), 24).unwrap();
    (k, eth)
}

pub struct Pair {
    pub a: Kernel,
    pub b: Kernel,
    pub a_eth: u32,
    pub b_eth: u32,
    pub now: Nanos,
    /// Frames carried so far, both directions.
    pub frames: usize,
}

impl Pair {
    pub fn new(seed: u64) -> Pair {
        let (a, a_eth) = host(seed, 1, A_IP);
        let (b, b_eth) = host(seed + 1, 2, B_IP);
        Pair { a, b, a_eth, b_eth, now: 0, frames: 0 }
    }

    /// Moves frames both ways until neither side has anything to send, firing
    /// timers that fall due within `horizon` ns. Panics after too many steps.
    pub fn drive_for(&mut self, horizon: Nanos) {
        let end = self.now + horizon;
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                self.b.dev_rx(self.now, self.b_eth, &t.frame);
                self.frames += 1;
                moved = true;
            }
            while let Some(t) = self.b.poll_transmit() {
                self.a.dev_rx(self.now, self.a_eth, &t.frame);
                self.frames += 1;
                moved = true;
            }
            if moved {
                continue;
            }
            let next = [self.a.next_deadline(), self.b.next_deadline()]
                .into_iter()
                .flatten()
                .filter(|&d| d <= end)
                .min();
            match next {
                Some(d) => {
                    self.now = self.now.max(d);
                    self.a.advance(self.now);
                    self.b.advance(self.now);
                }
                None => return,
            }
        }
        panic!("pair did not settle");
    }

    /// Shuttles until quiet (timers due in the next millisecond included).
    pub fn drive(&mut self) {
        self.drive_for(1_000_000);
    }
}
