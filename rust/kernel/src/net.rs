//! `Net`: the per-instance network namespace state below the sockets (Linux `struct
//! net`): devices, addresses, FIB, neighbours, IP state, sysctls, the PRNG, and the
//! queues through which frames leave. Transports reach the IP layer only through the
//! methods here and in `ipv4/`; the IP layer reaches sockets only through `Transport`.

use crate::dev::{DevTable, IfIndex};
use crate::rand::Rng;
use crate::socket::SockRef;
use crate::sysctl::Sysctl;
use crate::{Nanos, Transmit};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::IpAddr;

pub struct Net {
    pub devs: DevTable,
    pub fib: crate::route::Fib,
    pub neigh: crate::neigh::NeighTable,
    pub ipv4: crate::ipv4::Ipv4State,
    /// Its deadline is remembered: IPv6 lifetimes are walked only after a change.
    pub ipv6: crate::deadline::DeadlineCached<crate::ipv6::Ipv6State>,
    pub sysctl: Sysctl,
    pub rng: Rng,
    /// Frames for host devices, in the order they were sent.
    pub outbox: VecDeque<Transmit>,
    /// Packets sent to a local address, delivered at the end of the current entry point
    /// (Linux `loopback_xmit` → `netif_rx`), so input never recurses into output.
    pub loopback: VecDeque<(IfIndex, Bytes)>,
    /// Sockets whose readiness may have changed since the host last looked.
    pub wakeups: Vec<SockRef>,
    /// Seed of the multipath flow hash, fixed per instance.
    pub mp_hash_seed: u32,
    /// rtnetlink multicast subscribers (`netlink::notify`).
    pub notify: crate::netlink::notify::Notifier,
}

impl Net {
    pub fn new(seed: u64) -> Net {
        Net {
            devs: DevTable::default(),
            fib: Default::default(),
            neigh: Default::default(),
            ipv4: Default::default(),
            ipv6: Default::default(),
            sysctl: Sysctl::default(),
            rng: Rng::new(seed),
            outbox: VecDeque::new(),
            loopback: VecDeque::new(),
            wakeups: Vec::new(),
            mp_hash_seed: (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32,
            notify: Default::default(),
        }
    }

    /// Marks a socket for a readiness re-check.
    pub fn wake(&mut self, s: SockRef) {
        if self.wakeups.last() != Some(&s) {
            self.wakeups.push(s);
        }
    }

    /// Hands a complete Ethernet frame to device `ifindex` (Linux `dev_queue_xmit`).
    /// Frames for the loopback device are queued for local input instead.
    pub fn dev_xmit(&mut self, ifindex: IfIndex, frame: Bytes) {
        let Some(dev) = self.devs.get_mut(ifindex) else { return };
        if !dev.is_running() {
            dev.stats.tx_dropped += 1;
            return;
        }
        dev.stats.tx_packets += 1;
        dev.stats.tx_bytes += frame.len() as u64;
        if dev.is_loopback() {
            dev.stats.rx_packets += 1;
            dev.stats.rx_bytes += frame.len() as u64;
            self.loopback.push_back((ifindex, frame));
        } else {
            self.outbox.push_back(Transmit { ifindex, frame });
        }
    }

    /// True if `addr` is assigned to any interface (Linux `inet_addr_type` == RTN_LOCAL).
    pub fn is_local_addr(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => {
                a.is_loopback() || self.devs.iter().any(|d| d.addrs4.iter().any(|ia| ia.addr == a))
            }
            IpAddr::V6(a) => a.is_loopback(),
        }
    }
}

/// A packet delivered up to a transport: the IP header facts it needs.
#[derive(Debug, Clone, Copy)]
pub struct IpRx<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    /// The device it arrived on.
    pub ifindex: IfIndex,
    /// Sent to a broadcast or multicast destination (no RST/ICMP replies to it).
    pub multicast_or_broadcast: bool,
    /// The whole IP packet (header and payload), for raw sockets and ICMP quoting.
    pub packet: &'a [u8],
}

/// What a transport asks of the IP layer for one outgoing packet.
#[derive(Debug, Clone, Copy)]
pub struct IpTx {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    /// Set DF (path-MTU discovery on, Linux's default for TCP).
    pub dont_frag: bool,
    /// Bound device (SO_BINDTODEVICE) or none.
    pub oif: Option<IfIndex>,
    /// Allow sending to a broadcast address (SO_BROADCAST).
    pub allow_broadcast: bool,
}

/// The result of an output route lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteOut {
    /// Preferred source address (the route's `src`, or the primary address of `oif`).
    pub src: IpAddr,
    pub oif: IfIndex,
    /// Gateway, or the destination itself for on-link routes.
    pub next_hop: IpAddr,
    /// Device MTU (or route MTU) for this path.
    pub mtu: u32,
    /// Destination is a broadcast address.
    pub broadcast: bool,
    /// Destination is one of our own addresses (goes through loopback).
    pub local: bool,
}

/// An ICMP error that concerns a local socket, as decoded by the ICMP layer.
#[derive(Debug, Clone, Copy)]
pub struct IcmpError<'a> {
    /// The errno Linux maps this type/code to (`icmp_err_convert`).
    pub errno: crate::Errno,
    /// Hard errors abort connections in SYN_SENT (RFC 1122 §4.2.3.9).
    pub fatal: bool,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Next-hop MTU for "fragmentation needed".
    pub mtu: Option<u32>,
    /// Who reported it.
    pub reporter: IpAddr,
    /// Addresses and protocol of the offending packet (src is ours).
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    /// The quoted transport header (at least 8 bytes: ports, TCP seq).
    pub quoted: &'a [u8],
}

/// How the IP layer's local delivery reaches the sockets (Linux `inet_protos` +
/// `raw_local_deliver`). Implemented by `socket::Sockets`.
pub trait Transport {
    /// Offers a copy of the packet to raw sockets of `rx.protocol`; true if any took it.
    fn raw_deliver(&mut self, now: Nanos, net: &mut Net, rx: &IpRx<'_>) -> bool;
    /// Delivers a TCP or UDP payload (`payload` = transport header + data).
    fn deliver(&mut self, now: Nanos, net: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery;
    /// Reports an ICMP error about a packet we sent.
    fn icmp_error(&mut self, now: Nanos, net: &mut Net, err: &IcmpError<'_>);
}

/// The outcome of `Transport::deliver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A socket took it (or the transport answered it itself, e.g. with a RST).
    Consumed,
    /// No socket: the IP layer answers ICMP port unreachable (UDP).
    NoPort,
    /// Dropped for a reason already counted by the transport (bad checksum...).
    Dropped,
}
