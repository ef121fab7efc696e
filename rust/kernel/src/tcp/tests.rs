//! Unit tests of the state machine with a pair harness (quinn-proto `Pair` style): two
//! `TcpTable`s whose IP layer is a [`Tap`], a link with fixed one-way delay, and
//! virtual time stepped to the earlier of the next arrival and the next deadline.

use super::sock::State;
use super::{TcpTable, seq::SeqNumber};
use crate::net::{IpRx, IpTx, Net, RouteOut};
use crate::socket::ProtoOps;
use crate::uapi::*;
use crate::wire::tcp::{Control, TcpOptions, TcpPacket, TcpRepr, flags};
use crate::{Errno, Nanos};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Stands in for IPv4 in unit tests: a fixed route and a capture of sent segments.
pub(crate) struct Tap {
    pub mtu: u32,
    pub src: IpAddr,
    pub out: Vec<(IpTx, Bytes)>,
}

impl Tap {
    pub fn route(&self, dst: IpAddr) -> RouteOut {
        RouteOut {
            src: self.src,
            oif: 2,
            next_hop: dst,
            mtu: self.mtu,
            broadcast: false,
            local: false,
        }
    }
}

pub(super) const MS: Nanos = 1_000_000;
pub(super) const SEC: Nanos = 1_000 * MS;
pub(super) const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
pub(super) const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

pub(crate) struct Node {
    pub net: Net,
    pub tcp: TcpTable,
}

impl Node {
    fn new(seed: u64, addr: IpAddr) -> Node {
        let tap = Some(Tap { mtu: 1500, src: addr, out: Vec::new() });
        let tcp = TcpTable { tap, ..Default::default() };
        Node { net: Net::new(seed), tcp }
    }
}

/// A segment on the wire, as filters see it.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub from_a: bool,
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
    pub len: usize,
    /// The IP TOS byte (ECN in its low bits).
    pub tos: u8,
    /// When it left.
    pub at: Nanos,
}

type Filter = Box<dyn FnMut(&Wire) -> bool>;
type Reorder = Box<dyn FnMut(&Wire) -> usize>;
type Watch = Box<dyn FnMut(&TcpTable)>;

pub(crate) struct Pair {
    pub a: Node,
    pub b: Node,
    pub now: Nanos,
    pub delay: Nanos,
    /// In flight: (arrival, to_b, src, dst, bytes, tos).
    link: VecDeque<(Nanos, bool, IpAddr, IpAddr, Bytes, u8)>,
    /// Returns true to drop the segment.
    pub filter: Option<Filter>,
    /// Returns true to mark the segment CE (a congested ECN router).
    pub ce_mark: Option<Filter>,
    /// Returns k > 0 to hold the segment back until k later segments of the same
    /// direction are on the link (reordering).
    pub reorder: Option<Reorder>,
    /// Held segments: (segments still to pass, from_a, src, dst, bytes, tos).
    held: Vec<(usize, bool, IpAddr, IpAddr, Bytes, u8)>,
    /// Called with `a`'s table after each segment `a` receives.
    pub watch_a: Option<Watch>,
    pub log: Vec<Wire>,
}

impl Pair {
    pub(super) fn new() -> Pair {
        Pair::with_addrs(A, B)
    }

    /// A pair whose taps route from `a` and `b` (IPv6 or IPv4).
    pub(super) fn with_addrs(a: IpAddr, b: IpAddr) -> Pair {
        Pair {
            a: Node::new(1, a),
            b: Node::new(2, b),
            now: 1_000 * SEC,
            delay: 10 * MS,
            link: VecDeque::new(),
            filter: None,
            ce_mark: None,
            reorder: None,
            held: Vec::new(),
            watch_a: None,
            log: Vec::new(),
        }
    }

    pub(super) fn node(&mut self, a: bool) -> &mut Node {
        if a { &mut self.a } else { &mut self.b }
    }

    /// Moves captured segments onto the link (through the filter).
    fn collect(&mut self) {
        for from_a in [true, false] {
            let now = self.now;
            let delay = self.delay;
            let out = std::mem::take(&mut self.node(from_a).tcp.tap.as_mut().unwrap().out);
            self.node(from_a).net.wakeups.clear();
            for (tx, bytes) in out {
                let p = TcpPacket::new_checked(&bytes[..]).unwrap();
                let w = Wire {
                    from_a,
                    seq: p.seq_number().0,
                    ack: p.ack_number().0,
                    flags: p.flags(),
                    len: p.payload().len(),
                    tos: tx.tos,
                    at: now,
                };
                self.log.push(w.clone());
                if let Some(f) = self.filter.as_mut()
                    && f(&w)
                {
                    continue;
                }
                let mut tos = tx.tos;
                if let Some(m) = self.ce_mark.as_mut()
                    && m(&w)
                {
                    tos |= 3;
                }
                if let Some(k) = self.reorder.as_mut().map(|r| r(&w)).filter(|&k| k > 0) {
                    self.held.push((k, from_a, tx.src, tx.dst, bytes, tos));
                    continue;
                }
                self.link.push_back((now + delay, from_a, tx.src, tx.dst, bytes, tos));
                self.release_held(from_a, now + delay);
            }
        }
    }

    /// One more segment from `from_a` went out: held ones whose count ran out follow it.
    fn release_held(&mut self, from_a: bool, arrival: Nanos) {
        for h in self.held.iter_mut().filter(|h| h.1 == from_a) {
            h.0 -= 1;
        }
        while let Some(i) = self.held.iter().position(|h| h.0 == 0) {
            let (_, dir, src, dst, bytes, tos) = self.held.remove(i);
            self.link.push_back((arrival, dir, src, dst, bytes, tos));
        }
    }

    fn deliver(&mut self, to_b: bool, src: IpAddr, dst: IpAddr, bytes: &[u8], tos: u8) {
        let now = self.now;
        let n = self.node(!to_b);
        let rx = IpRx {
            src,
            dst,
            protocol: 6,
            ttl: 64,
            tos,
            ifindex: 2,
            multicast_or_broadcast: false,
            packet: &[],
        };
        n.tcp.input(now, &mut n.net, &rx, bytes);
    }

    fn next_event(&self) -> Option<Nanos> {
        let l = self.link.front().map(|x| x.0);
        [l, self.a.tcp.next_deadline(), self.b.tcp.next_deadline()].into_iter().flatten().min()
    }

    /// Runs until `until` (virtual time), or until nothing is left to happen.
    fn run_until(&mut self, until: Nanos) {
        self.collect();
        for _ in 0..2_000_000 {
            let Some(t) = self.next_event() else { break };
            if t > until {
                break;
            }
            self.now = self.now.max(t);
            while self.link.front().is_some_and(|x| x.0 <= self.now) {
                let (_, to_b, src, dst, bytes, tos) = self.link.pop_front().unwrap();
                self.deliver(to_b, src, dst, &bytes, tos);
                if let Some(w) = self.watch_a.as_mut().filter(|_| !to_b) {
                    w(&self.a.tcp);
                }
                self.collect();
            }
            let now = self.now;
            self.a.tcp.advance(now, &mut self.a.net);
            self.b.tcp.advance(now, &mut self.b.net);
            self.collect();
        }
    }

    pub(super) fn run_for(&mut self, d: Nanos) {
        let until = self.now + d;
        self.run_until(until);
        self.now = until;
    }

    pub(super) fn sock(&self, a: bool, id: u32) -> &super::sock::TcpSock {
        if a { self.a.tcp.sock(id).unwrap() } else { self.b.tcp.sock(id).unwrap() }
    }

    pub(super) fn state(&self, a: bool, id: u32) -> Option<State> {
        let n = if a { &self.a } else { &self.b };
        n.tcp.sock(id).map(|s| s.state)
    }

    pub(super) fn open(&mut self, a: bool) -> u32 {
        let n = self.node(a);
        n.tcp.open(&mut n.net, AF_INET, 0).unwrap()
    }

    pub(super) fn open6(&mut self, a: bool) -> u32 {
        let n = self.node(a);
        n.tcp.open(&mut n.net, AF_INET6, 0).unwrap()
    }

    pub(super) fn listen(&mut self, a: bool, port: u16, backlog: i32) -> u32 {
        let id = self.open(a);
        let n = self.node(a);
        n.tcp.bind(&mut n.net, id, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)).unwrap();
        n.tcp.listen(&mut n.net, id, backlog).unwrap();
        id
    }

    pub(super) fn connect(&mut self, a: bool, id: u32, to: SocketAddr) -> Result<(), Errno> {
        let now = self.now;
        let n = self.node(a);
        let r = n.tcp.connect(now, &mut n.net, id, to);
        self.collect();
        r
    }

    pub(super) fn accept(&mut self, a: bool, lid: u32) -> Result<u32, Errno> {
        let now = self.now;
        let n = self.node(a);
        n.tcp.accept(now, &mut n.net, lid).map(|(c, _)| c)
    }

    pub(super) fn send(&mut self, a: bool, id: u32, data: &[u8]) -> Result<usize, Errno> {
        let now = self.now;
        let n = self.node(a);
        let r = n.tcp.sendto(now, &mut n.net, id, data, 0, None);
        self.collect();
        r
    }

    pub(super) fn recv(&mut self, a: bool, id: u32, max: usize) -> Result<Vec<u8>, Errno> {
        let now = self.now;
        let n = self.node(a);
        let mut buf = vec![0; max];
        let r = n.tcp.recvfrom(now, &mut n.net, id, &mut buf, 0);
        self.collect();
        r.map(|(k, _)| buf[..k].to_vec())
    }

    pub(super) fn shutdown(&mut self, a: bool, id: u32, how: i32) -> Result<(), Errno> {
        let now = self.now;
        let n = self.node(a);
        let r = n.tcp.shutdown(now, &mut n.net, id, how);
        self.collect();
        r
    }

    pub(super) fn close(&mut self, a: bool, id: u32) {
        let now = self.now;
        let n = self.node(a);
        n.tcp.close(now, &mut n.net, id);
        self.collect();
    }

    pub(super) fn setopt(
        &mut self,
        a: bool,
        id: u32,
        level: i32,
        name: i32,
        v: &[u8],
    ) -> Result<(), Errno> {
        let now = self.now;
        let n = self.node(a);
        let r = n.tcp.setsockopt(now, &mut n.net, id, level, name, v);
        self.collect();
        r
    }

    pub(super) fn so_error(&mut self, a: bool, id: u32) -> i32 {
        let n = self.node(a);
        let mut b = [0u8; 4];
        n.tcp.getsockopt(&Net::new(0), id, SOL_SOCKET, SO_ERROR, &mut b).unwrap();
        i32::from_ne_bytes(b)
    }

    /// Injects a hand-made segment into `b` as if from `a`'s socket `(a_port -> b_port)`.
    pub(super) fn inject_to_b(&mut self, repr: &TcpRepr<'_>) {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), &A, &B);
        self.deliver(true, A, B, &buf, 0);
        self.collect();
    }
}

/// Named fixture: `a` connected to `b`'s listener on port 80, accepted.
/// Returns (pair, a's socket, b's listener, b's accepted child).
pub(crate) fn established() -> (Pair, u32, u32, u32) {
    established_with(|_| {})
}

/// `established`, after `setup` has configured the pair (sysctls...).
pub(super) fn established_with(setup: impl FnOnce(&mut Pair)) -> (Pair, u32, u32, u32) {
    let mut p = Pair::new();
    setup(&mut p);
    let l = p.listen(false, 80, 16);
    let c = p.open(true);
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 80)), Err(Errno::EINPROGRESS));
    p.run_for(100 * MS);
    let child = p.accept(false, l).unwrap_or_else(|e| panic!("{e:?} {:?}", p.log));
    (p, c, l, child)
}

pub(super) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Sends `data` from a to b, reading at b as it arrives; returns what b got.
pub(super) fn transfer(
    p: &mut Pair,
    from_a: bool,
    s: u32,
    r: u32,
    data: &[u8],
    limit: Nanos,
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let end = p.now + limit;
    while p.now < end && got.len() < data.len() {
        if sent < data.len()
            && let Ok(n) = p.send(from_a, s, &data[sent..])
        {
            sent += n;
        }
        p.run_for(5 * MS);
        while let Ok(v) = p.recv(!from_a, r, 65536) {
            if v.is_empty() {
                break;
            }
            got.extend_from_slice(&v);
        }
    }
    got
}

#[test]
fn handshake() {
    let (p, c, _l, child) = established();
    assert_eq!(p.state(true, c), Some(State::Established));
    assert_eq!(p.state(false, child), Some(State::Established));
    let s = p.sock(true, c);
    assert!(s.ts_ok && s.sack_ok && s.wscale_ok);
    // ilog2(max(tcp_rmem[2], rmem_max)) - 15, as tcp_select_initial_window: 32 MiB.
    assert_eq!(s.snd_wscale, 10);
    assert_eq!(s.mss, 1448);
    assert_eq!(p.a.tcp.stats.mib.active_opens, 1);
    assert_eq!(p.b.tcp.stats.mib.passive_opens, 1);
    assert_eq!(p.a.tcp.stats.mib.curr_estab, 1);
    // SYN, SYN-ACK, ACK.
    let f: Vec<u16> = p.log.iter().take(3).map(|w| w.flags).collect();
    assert_eq!(f, [flags::SYN, flags::SYN | flags::ACK, flags::ACK]);
    assert!(s.rtt.srtt.is_some());
}

#[test]
fn data_both_ways() {
    let (mut p, c, _l, child) = established();
    assert_eq!(p.send(true, c, b"hello"), Ok(5));
    p.run_for(100 * MS);
    assert_eq!(p.recv(false, child, 100).unwrap(), b"hello");
    assert_eq!(p.recv(false, child, 100), Err(Errno::EAGAIN));
    assert_eq!(p.send(false, child, b"world!"), Ok(6));
    p.run_for(100 * MS);
    assert_eq!(p.recv(true, c, 100).unwrap(), b"world!");
}

#[test]
fn bulk_larger_than_windows() {
    let (mut p, c, _l, child) = established();
    let data = pattern(2_000_000);
    let got = transfer(&mut p, true, c, child, &data, 60 * SEC);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 0);
}

#[test]
fn fast_retransmit_recovers_lost_segment() {
    let (mut p, c, _l, child) = established();
    let mut n = 0;
    p.filter = Some(Box::new(move |w| {
        if w.from_a && w.len > 0 {
            n += 1;
            // The 20th data segment, in the middle of a flight.
            return n == 20;
        }
        false
    }));
    let data = pattern(300_000);
    let got = transfer(&mut p, true, c, child, &data, 30 * SEC);
    assert!(got == data);
    assert_eq!(p.a.tcp.stats.mib.fast_retrans, 1);
    assert!(p.a.tcp.stats.mib.retrans_segs >= 1);
    // Recovered without an RTO: the loss state was never entered.
    assert_eq!(p.sock(true, c).backoff, 0);
}

#[test]
fn rto_recovers_tail_loss() {
    let (mut p, c, _l, child) = established();
    let mut n = 0;
    p.filter = Some(Box::new(move |w| {
        if w.from_a && w.len > 0 {
            n += 1;
            return n == 1;
        }
        false
    }));
    assert_eq!(p.send(true, c, b"only segment"), Ok(12));
    p.run_for(150 * MS);
    assert_eq!(p.recv(false, child, 100), Err(Errno::EAGAIN));
    p.run_for(2 * SEC);
    assert_eq!(p.recv(false, child, 100).unwrap(), b"only segment");
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 1);
}

#[test]
fn simultaneous_open() {
    let mut p = Pair::new();
    let a = p.open(true);
    let b = p.open(false);
    {
        let n = &mut p.a;
        n.tcp.bind(&mut n.net, a, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 1000)).unwrap();
        let n = &mut p.b;
        n.tcp.bind(&mut n.net, b, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 2000)).unwrap();
    }
    assert_eq!(p.connect(true, a, SocketAddr::new(B, 2000)), Err(Errno::EINPROGRESS));
    assert_eq!(p.connect(false, b, SocketAddr::new(A, 1000)), Err(Errno::EINPROGRESS));
    p.run_for(500 * MS);
    assert_eq!(p.state(true, a), Some(State::Established));
    assert_eq!(p.state(false, b), Some(State::Established));
    assert_eq!(p.connect(true, a, SocketAddr::new(B, 2000)), Ok(()));
    assert_eq!(p.connect(true, a, SocketAddr::new(B, 2000)), Err(Errno::EISCONN));
    assert_eq!(p.send(true, a, b"x"), Ok(1));
    p.run_for(300 * MS);
    assert_eq!(p.recv(false, b, 10).unwrap(), b"x");
}

#[test]
fn simultaneous_close_and_time_wait() {
    let (mut p, c, _l, child) = established();
    p.close(true, c);
    p.close(false, child);
    p.run_for(500 * MS);
    // Both FINs crossed: CLOSING then TIME-WAIT on both sides.
    assert_eq!(p.state(true, c), Some(State::TimeWait));
    assert_eq!(p.state(false, child), Some(State::TimeWait));
    p.run_for(61 * SEC);
    assert_eq!(p.state(true, c), None);
    assert_eq!(p.state(false, child), None);
    assert_eq!(p.a.tcp.stats.mib.curr_estab, 0);
}

#[test]
fn orderly_close_time_wait_expiry() {
    let (mut p, c, _l, child) = established();
    p.close(true, c);
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), Some(State::FinWait2));
    assert_eq!(p.state(false, child), Some(State::CloseWait));
    assert_eq!(p.recv(false, child, 10).unwrap(), b"");
    p.close(false, child);
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), Some(State::TimeWait), "{:?}", p.log);
    assert_eq!(p.state(false, child), None);
    p.run_for(59 * SEC);
    assert_eq!(p.state(true, c), Some(State::TimeWait));
    p.run_for(2 * SEC);
    assert_eq!(p.state(true, c), None);
}

#[test]
fn rst_to_closed_port_refuses() {
    let mut p = Pair::new();
    let c = p.open(true);
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 81)), Err(Errno::EINPROGRESS));
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 81)), Err(Errno::EALREADY));
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), Some(State::Closed));
    assert_eq!(p.sock(true, c).poll_mask() & POLLERR, POLLERR);
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 81)), Err(Errno::ECONNREFUSED));
    assert_eq!(p.b.tcp.stats.mib.out_rsts, 1);
    assert_eq!(p.a.tcp.stats.mib.attempt_fails, 1);
}

#[test]
fn so_error_reports_refusal() {
    let mut p = Pair::new();
    let c = p.open(true);
    let _ = p.connect(true, c, SocketAddr::new(B, 81));
    p.run_for(100 * MS);
    assert_eq!(p.so_error(true, c), Errno::ECONNREFUSED.0);
    assert_eq!(p.so_error(true, c), 0);
    assert_eq!(p.send(true, c, b"x"), Err(Errno::EPIPE));
}

#[test]
fn listen_backlog_overflow() {
    let mut p = Pair::new();
    // The classic path (tcp_syncookies = 0); cookies are tested below.
    p.b.net.sysctl.tcp.tcp_syncookies = 0;
    let l = p.listen(false, 80, 1);
    let mut cs = Vec::new();
    for _ in 0..4 {
        let c = p.open(true);
        let _ = p.connect(true, c, SocketAddr::new(B, 80));
        cs.push(c);
    }
    p.run_for(10 * SEC);
    // Linux: backlog 1 queues two (the accept queue is full when len > backlog); the
    // rest are dropped at the SYN or at the final ACK.
    assert!(p.b.tcp.stats.mib.listen_drops > 0);
    assert!(p.b.tcp.stats.mib.listen_overflows > 0);
    assert!(p.accept(false, l).is_ok());
    assert!(p.accept(false, l).is_ok());
    assert_eq!(p.accept(false, l), Err(Errno::EAGAIN));
    // The dropped ones retry (SYN or final ACK) and get in once there is room.
    let mut more = 0;
    for _ in 0..60 {
        p.run_for(SEC);
        while p.accept(false, l).is_ok() {
            more += 1;
        }
    }
    assert_eq!(more, 2);
    for c in cs {
        assert_eq!(p.state(true, c), Some(State::Established));
    }
}

#[test]
fn zero_window_and_persist() {
    let (mut p, c, _l, child) = established();
    let data = pattern(400_000);
    let mut sent = 0;
    for _ in 0..200 {
        if let Ok(n) = p.send(true, c, &data[sent..]) {
            sent += n;
        }
        p.run_for(50 * MS);
    }
    // b never read: its window closed and a probes.
    assert_eq!(p.sock(false, child).rcv_window_now(), 0);
    assert!(p.sock(true, c).unsent.len() + p.sock(true, c).rtx.len() > 0);
    let probes_before = p.log.iter().filter(|w| w.from_a && w.len == 0).count();
    p.run_for(10 * SEC);
    let probes_after = p.log.iter().filter(|w| w.from_a && w.len == 0).count();
    assert!(probes_after > probes_before, "persist timer sent probes");
    assert_eq!(p.state(true, c), Some(State::Established));
    let mut got = Vec::new();
    for _ in 0..2000 {
        while let Ok(v) = p.recv(false, child, 65536) {
            got.extend_from_slice(&v);
        }
        if let Ok(n) = p.send(true, c, &data[sent..]) {
            sent += n;
        }
        if got.len() == data.len() {
            break;
        }
        p.run_for(20 * MS);
    }
    assert!(got == data);
}

#[test]
fn keepalive_probes_then_timeout() {
    let (mut p, c, _l, _child) = established();
    p.setopt(true, c, SOL_SOCKET, SO_KEEPALIVE, &1i32.to_ne_bytes()).unwrap();
    p.setopt(true, c, SOL_TCP, TCP_KEEPIDLE, &10i32.to_ne_bytes()).unwrap();
    p.setopt(true, c, SOL_TCP, TCP_KEEPINTVL, &2i32.to_ne_bytes()).unwrap();
    p.setopt(true, c, SOL_TCP, TCP_KEEPCNT, &3i32.to_ne_bytes()).unwrap();
    // Healthy peer: probes are answered and the connection lives on.
    p.run_for(30 * SEC);
    assert_eq!(p.state(true, c), Some(State::Established));
    // Peer vanishes.
    p.filter = Some(Box::new(|w| !w.from_a));
    p.run_for(30 * SEC);
    assert_eq!(p.state(true, c), Some(State::Closed));
    assert_eq!(p.recv(true, c, 10), Err(Errno::ETIMEDOUT));
}

#[test]
fn half_close() {
    let (mut p, c, _l, child) = established();
    p.send(true, c, b"request").unwrap();
    p.shutdown(true, c, SHUT_WR).unwrap();
    p.run_for(100 * MS);
    assert_eq!(p.recv(false, child, 100).unwrap(), b"request");
    assert_eq!(p.recv(false, child, 100).unwrap(), b"");
    assert_ne!(p.sock(false, child).poll_mask() & POLLRDHUP, 0);
    assert_eq!(p.send(true, c, b"more"), Err(Errno::EPIPE));
    p.send(false, child, b"response").unwrap();
    p.close(false, child);
    p.run_for(100 * MS);
    assert_eq!(p.recv(true, c, 100).unwrap(), b"response");
    assert_eq!(p.recv(true, c, 100).unwrap(), b"");
    assert_eq!(p.state(true, c), Some(State::TimeWait));
}

#[test]
fn linger_zero_resets() {
    let (mut p, c, _l, child) = established();
    let mut lg = [0u8; 8];
    lg[..4].copy_from_slice(&1i32.to_ne_bytes());
    p.setopt(true, c, SOL_SOCKET, SO_LINGER, &lg).unwrap();
    p.close(true, c);
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), None);
    assert_eq!(p.recv(false, child, 10), Err(Errno::ECONNRESET));
    assert_eq!(p.recv(false, child, 10).unwrap(), b"");
    assert_eq!(p.b.tcp.stats.mib.estab_resets, 1);
}

#[test]
fn close_with_unread_data_resets() {
    let (mut p, c, _l, child) = established();
    p.send(true, c, b"unread").unwrap();
    p.run_for(100 * MS);
    p.close(false, child);
    p.run_for(100 * MS);
    assert_eq!(p.recv(true, c, 10), Err(Errno::ECONNRESET));
    assert_eq!(p.b.tcp.stats.mib.abort_on_close, 1);
}

#[test]
fn challenge_ack_for_in_window_rst() {
    let (mut p, c, _l, child) = established();
    let (a_port, rcv_nxt) = {
        let s = p.sock(false, child);
        (s.remote.port(), s.rcv_nxt)
    };
    let before = p.log.len();
    let rst = TcpRepr {
        src_port: a_port,
        dst_port: 80,
        control: Control::Rst,
        psh: false,
        ece: false,
        cwr: false,
        seq_number: rcv_nxt + 100,
        ack_number: None,
        window_len: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    p.inject_to_b(&rst);
    assert_eq!(p.state(false, child), Some(State::Established));
    assert_eq!(p.b.tcp.stats.mib.challenge_acks, 1);
    assert_eq!(p.log[before].flags, flags::ACK);
    // The exact sequence number does reset.
    let exact = TcpRepr { seq_number: rcv_nxt, ..rst };
    p.inject_to_b(&exact);
    assert_eq!(p.state(false, child), Some(State::Closed));
    let _ = c;
}

#[test]
fn syn_in_established_gets_challenge_ack() {
    let (mut p, _c, _l, child) = established();
    let a_port = p.sock(false, child).remote.port();
    let syn = TcpRepr {
        src_port: a_port,
        dst_port: 80,
        control: Control::Syn,
        psh: false,
        ece: false,
        cwr: false,
        seq_number: SeqNumber(12345),
        ack_number: None,
        window_len: 1000,
        options: TcpOptions::default(),
        payload: &[],
    };
    p.inject_to_b(&syn);
    assert_eq!(p.state(false, child), Some(State::Established));
    assert_eq!(p.b.tcp.stats.mib.syn_challenge, 1);
}

#[test]
fn syn_retries_then_etimedout() {
    let mut p = Pair::new();
    p.filter = Some(Box::new(|_| true));
    let c = p.open(true);
    let _ = p.connect(true, c, SocketAddr::new(B, 80));
    p.run_for(126 * SEC);
    assert_eq!(p.state(true, c), Some(State::SynSent));
    p.run_for(2 * SEC);
    assert_eq!(p.state(true, c), Some(State::Closed));
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 80)), Err(Errno::ETIMEDOUT));
    // SYN + 6 retransmissions.
    assert_eq!(p.log.len(), 7);
}

#[test]
fn lossy_reordering_duplicating_link() {
    let (mut p, c, _l, child) = established();
    let mut rng = crate::rand::Rng::new(7);
    p.filter = Some(Box::new(move |_| rng.range_u32(0, 99) < 3));
    let data = pattern(500_000);
    let got = transfer(&mut p, true, c, child, &data, 300 * SEC);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
}

#[test]
fn errno_rules() {
    let mut p = Pair::new();
    let s = p.open(true);
    assert_eq!(p.recv(true, s, 10), Err(Errno::ENOTCONN));
    assert_eq!(p.send(true, s, b"x"), Err(Errno::EPIPE));
    assert_eq!(p.shutdown(true, s, SHUT_WR), Err(Errno::ENOTCONN));
    {
        let n = &mut p.a;
        assert_eq!(n.tcp.accept(0, &mut n.net, s).err(), Some(Errno::EINVAL));
    }
    let l = p.listen(false, 80, 4);
    let l2 = p.open(false);
    {
        let n = &mut p.b;
        let any80 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 80);
        assert_eq!(n.tcp.bind(&mut n.net, l2, any80), Err(Errno::EADDRINUSE));
        let other = SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 81);
        assert_eq!(n.tcp.bind(&mut n.net, l2, other), Err(Errno::EADDRNOTAVAIL));
    }
    let _ = l;
    let (mut p, c, _l, _child) = established();
    let n = &mut p.a;
    assert_eq!(n.tcp.listen(&mut n.net, c, 5), Err(Errno::EINVAL));
}

#[test]
fn random_segments_never_panic_and_memory_stays_bounded() {
    let (mut p, c, _l, child) = established();
    p.send(true, c, &pattern(50_000)).unwrap();
    p.run_for(20 * MS);
    let mut rng = crate::rand::Rng::new(99);
    let payload = pattern(3000);
    for i in 0..20_000u32 {
        let (a_port, rcv_nxt, snd_una) = match p.b.tcp.sock(child) {
            Some(s) => (s.remote.port(), s.rcv_nxt, s.snd_una),
            None => break,
        };
        let near = |rng: &mut crate::rand::Rng, base: SeqNumber| {
            base + rng.range_u32(0, 200_000) as usize - 100_000
        };
        let control = match rng.range_u32(0, 9) {
            0 => Control::Syn,
            1 => Control::Fin,
            2 if i % 7 == 0 => Control::Rst,
            _ => Control::None,
        };
        let mut options = TcpOptions::default();
        if rng.range_u32(0, 1) == 1 {
            options.timestamp = Some((rng.next_u32(), rng.next_u32()));
        }
        if rng.range_u32(0, 3) == 0 {
            let l = near(&mut rng, rcv_nxt);
            options.sack[0] = Some((l, l + rng.range_u32(0, 5000) as usize));
        }
        let len = rng.range_u32(0, 2999) as usize;
        let seg = TcpRepr {
            src_port: a_port,
            dst_port: 80,
            control,
            psh: false,
            ece: false,
            cwr: false,
            seq_number: near(&mut rng, rcv_nxt),
            ack_number: (rng.range_u32(0, 9) != 0).then(|| near(&mut rng, snd_una)),
            window_len: rng.range_u32(0, 65535) as u16,
            options,
            payload: &payload[..len],
        };
        p.inject_to_b(&seg);
        if i % 100 == 0 {
            p.run_for(MS);
            let _ = p.recv(false, child, 100);
        }
        // Garbage bytes too: every parse path returns without panicking.
        let junk: Vec<u8> = (0..rng.range_u32(0, 80)).map(|_| rng.next_u32() as u8).collect();
        p.deliver(true, A, B, &junk, 0);
        if let Some(s) = p.b.tcp.sock(child) {
            // The window may run past the space by rounding (__tcp_select_window), never
            // past the buffer (tcp_try_rmem_schedule).
            assert!(s.rcvq.len() + s.ooo.bytes() <= s.rcvbuf as usize);
        }
    }
    assert!(p.b.tcp.stats.mib.in_errs > 0);
}

#[test]
fn reuseaddr_and_time_wait() {
    let (mut p, c, l, child) = established();
    let port = p.sock(true, c).local.port();
    p.close(false, child);
    p.run_for(100 * MS);
    p.close(true, c);
    p.run_for(100 * MS);
    // b closed first: b's child is in TIME-WAIT holding port 80 (with the listener).
    assert_eq!(p.state(false, child), Some(State::TimeWait));
    p.close(false, l);
    let any80 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 80);
    let n = p.open(false);
    let on = 1i32.to_ne_bytes();
    {
        let b = &mut p.b;
        assert_eq!(b.tcp.bind(&mut b.net, n, any80), Err(Errno::EADDRINUSE));
    }
    // SO_REUSEADDR on the new socket is not enough: the TIME-WAIT socket must have
    // had it too (Linux `inet_bind_conflict`).
    p.setopt(false, n, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    {
        let b = &mut p.b;
        assert_eq!(b.tcp.bind(&mut b.net, n, any80), Err(Errno::EADDRINUSE));
    }
    p.run_for(61 * SEC);
    {
        let b = &mut p.b;
        assert_eq!(b.tcp.bind(&mut b.net, n, any80), Ok(()));
    }
    let _ = port;
}

#[test]
fn reuseaddr_listener_rebinds_over_time_wait() {
    let mut p = Pair::new();
    let on = 1i32.to_ne_bytes();
    let l = p.open(false);
    p.setopt(false, l, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    let any80 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 80);
    {
        let b = &mut p.b;
        b.tcp.bind(&mut b.net, l, any80).unwrap();
        b.tcp.listen(&mut b.net, l, 4).unwrap();
    }
    let c = p.open(true);
    let _ = p.connect(true, c, SocketAddr::new(B, 80));
    p.run_for(100 * MS);
    let child = p.accept(false, l).unwrap();
    p.close(false, child);
    p.run_for(100 * MS);
    p.close(true, c);
    p.close(false, l);
    p.run_for(100 * MS);
    assert_eq!(p.state(false, child), Some(State::TimeWait));
    let n = p.open(false);
    p.setopt(false, n, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    let b = &mut p.b;
    assert_eq!(b.tcp.bind(&mut b.net, n, any80), Ok(()));
    assert_eq!(b.tcp.listen(&mut b.net, n, 4), Ok(()));
}

#[test]
fn same_seed_same_segments() {
    let run = || {
        let (mut p, c, _l, child) = established();
        let got = transfer(&mut p, true, c, child, &pattern(100_000), 10 * SEC);
        assert_eq!(got.len(), 100_000);
        p.log.iter().map(|w| (w.seq, w.ack, w.flags, w.len)).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn nagle_holds_small_segments_nodelay_sends() {
    let (mut p, c, _l, _child) = established();
    p.send(true, c, b"a").unwrap();
    p.send(true, c, b"b").unwrap();
    p.send(true, c, b"c").unwrap();
    let small = |p: &Pair| p.log.iter().filter(|w| w.from_a && w.len > 0).count();
    assert_eq!(small(&p), 1, "Nagle holds the second small segment");
    p.run_for(100 * MS);
    assert_eq!(small(&p), 2, "released by the ACK, coalesced");
    p.setopt(true, c, SOL_TCP, TCP_NODELAY, &1i32.to_ne_bytes()).unwrap();
    p.send(true, c, b"d").unwrap();
    p.send(true, c, b"e").unwrap();
    assert_eq!(small(&p), 4);
}

#[test]
fn delayed_ack_every_second_segment() {
    let (mut p, c, _l, child) = established();
    // Leave quick-ack mode (Linux `tcp_incr_quickack`: up to 16 quick ACKs) first.
    let data = pattern(200_000);
    p.setopt(true, c, SOL_TCP, TCP_NODELAY, &1i32.to_ne_bytes()).unwrap();
    for _ in 0..20 {
        p.send(true, c, &data[..100]).unwrap();
        p.run_for(50 * MS);
    }
    let acks_before = p.log.iter().filter(|w| !w.from_a).count();
    p.send(true, c, &data[..100]).unwrap();
    p.run_for(15 * MS);
    // One small segment: the ACK waits for the delayed-ACK timer (40 ms ATO).
    assert_eq!(p.log.iter().filter(|w| !w.from_a).count(), acks_before);
    p.run_for(40 * MS);
    assert_eq!(p.log.iter().filter(|w| !w.from_a).count(), acks_before + 1);
    // Two full segments are ACKed at once (no idle gap: an idle longer than the RTO
    // re-enters quick-ack mode, as Linux).
    let before = p.log.iter().filter(|w| !w.from_a).count();
    p.send(true, c, &data[..2 * 1448]).unwrap();
    p.run_for(15 * MS);
    // Unread data keeps the right edge still, so tcp_input.c leaves the ACK to the
    // read (Linux `tcp_cleanup_rbuf`: "once-per-two-segments ACK was not sent").
    assert_eq!(p.log.iter().filter(|w| !w.from_a).count(), before);
    p.recv(false, child, 10_000).unwrap();
    assert_eq!(p.log.iter().filter(|w| !w.from_a).count(), before + 1);
    assert!(p.b.tcp.stats.mib.delayed_acks >= 1);
}

/// Linux `tcp_grow_window` sets `icsk_ack.quick |= 1` whenever it opens the window:
/// while the window grows (slow start, after autotuning raised the buffer) every
/// segment is ACKed, not only the 16 quick ACKs of the connection's start. The
/// sender's HyStart ACK-train detection depends on that ACK spacing.
#[test]
fn every_segment_acked_while_the_window_grows() {
    let (mut p, c, _l, child) = established();
    let mss = p.sock(true, c).mss as usize;
    let seg = pattern(mss);
    let start = p.sock(true, c).snd_nxt.0;
    let mut grew = Vec::new();
    for _ in 0..40 {
        let before = p.sock(false, child).rcv_ssthresh;
        assert_eq!(p.send(true, c, &seg), Ok(mss));
        p.run_for(2 * MS);
        while p.recv(false, child, 1 << 20).is_ok_and(|v| !v.is_empty()) {}
        grew.push(p.sock(false, child).rcv_ssthresh > before);
    }
    p.run_for(SEC);
    // From the 27th segment on (seen 5 sends later: 10 ms one way) they arrive after
    // autotuning raised the buffer: the window grows on each, and each is ACKed alone.
    assert!(grew[30..].iter().all(|&g| g), "{grew:?}");
    let acked: Vec<u32> = p
        .log
        .iter()
        .filter(|w| !w.from_a && w.len == 0)
        .map(|w| w.ack.wrapping_sub(start) / mss as u32)
        .filter(|&n| n > 26)
        .collect();
    assert_eq!(acked, (27..=40).collect::<Vec<u32>>());
}

#[test]
fn icmp_errors_soft_and_hard() {
    use crate::net::IcmpError;
    // Hard error in SYN-SENT aborts the connect.
    let mut p = Pair::new();
    p.filter = Some(Box::new(|_| true));
    let c = p.open(true);
    let _ = p.connect(true, c, SocketAddr::new(B, 80));
    let (local, iss) = (p.sock(true, c).local, p.sock(true, c).iss);
    let mut quoted = [0u8; 8];
    quoted[..2].copy_from_slice(&local.port().to_be_bytes());
    quoted[2..4].copy_from_slice(&80u16.to_be_bytes());
    quoted[4..8].copy_from_slice(&iss.0.to_be_bytes());
    let err = IcmpError {
        errno: Errno::EHOSTUNREACH,
        fatal: true,
        icmp_type: 3,
        icmp_code: 1,
        mtu: None,
        reporter: B,
        src: local.ip(),
        dst: B,
        protocol: 6,
        quoted: &quoted,
    };
    let now = p.now;
    p.a.tcp.icmp_error(now, &mut p.a.net, &err);
    assert_eq!(p.state(true, c), Some(State::Closed));
    assert_eq!(p.connect(true, c, SocketAddr::new(B, 80)), Err(Errno::EHOSTUNREACH));
    // On an established connection it is only a soft error (SO_ERROR reports it).
    let (mut p, c, _l, _child) = established();
    let s = p.sock(true, c);
    let (local, una) = (s.local, s.snd_una);
    p.send(true, c, b"x").unwrap();
    let mut q2 = quoted;
    q2[..2].copy_from_slice(&local.port().to_be_bytes());
    q2[4..8].copy_from_slice(&una.0.to_be_bytes());
    let err = IcmpError { src: local.ip(), quoted: &q2, ..err };
    let now = p.now;
    p.a.tcp.icmp_error(now, &mut p.a.net, &err);
    assert_eq!(p.state(true, c), Some(State::Established));
    assert_eq!(p.so_error(true, c), Errno::EHOSTUNREACH.0);
}

#[test]
fn retries2_gives_up_with_etimedout() {
    let (mut p, c, _l, _child) = established();
    p.filter = Some(Box::new(|_| true));
    p.send(true, c, b"into the void").unwrap();
    // tcp_retries2 = 15 from a 200 ms base: 924.6 s (Linux `tcp_model_timeout`).
    p.run_for(900 * SEC);
    assert_eq!(p.state(true, c), Some(State::Established));
    assert!(p.sock(true, c).backoff > 5);
    p.run_for(60 * SEC);
    assert_eq!(p.state(true, c), Some(State::Closed));
    assert_eq!(p.send(true, c, b"x"), Err(Errno::ETIMEDOUT));
    assert_eq!(p.send(true, c, b"x"), Err(Errno::EPIPE));
}

#[test]
fn send_buffer_fills_partial_write_then_eagain() {
    let (mut p, c, _l, _child) = established();
    // The peer never reads; the window closes, then our send buffer fills.
    let data = pattern(4_000_000);
    let mut total = 0;
    let mut saw_partial = false;
    for _ in 0..100 {
        match p.send(true, c, &data[..1_000_000]) {
            Ok(n) => {
                saw_partial |= n < 1_000_000;
                total += n;
            }
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN);
                break;
            }
        }
        p.run_for(100 * MS);
    }
    assert!(saw_partial);
    assert!(total > 0);
    assert_eq!(p.send(true, c, b"more"), Err(Errno::EAGAIN));
    assert_eq!(p.sock(true, c).poll_mask() & POLLOUT, 0);
}

#[test]
fn peer_reset_then_epipe() {
    let (mut p, c, _l, child) = established();
    let mut lg = [0u8; 8];
    lg[..4].copy_from_slice(&1i32.to_ne_bytes());
    p.setopt(false, child, SOL_SOCKET, SO_LINGER, &lg).unwrap();
    p.close(false, child);
    p.run_for(100 * MS);
    assert_ne!(p.sock(true, c).poll_mask() & (POLLERR | POLLHUP), 0);
    assert_eq!(p.send(true, c, b"x"), Err(Errno::ECONNRESET));
    assert_eq!(p.send(true, c, b"x"), Err(Errno::EPIPE));
    assert_eq!(p.recv(true, c, 10).unwrap(), b"");
}

/// Named fixture: `a` half-closed (FIN-WAIT-2), `b` in CLOSE-WAIT.
fn fin_wait2_close_wait() -> (Pair, u32, u32) {
    let (mut p, c, _l, child) = established();
    p.shutdown(true, c, SHUT_WR).unwrap();
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), Some(State::FinWait2));
    assert_eq!(p.state(false, child), Some(State::CloseWait));
    (p, c, child)
}

/// Named fixture: `a` in TIME-WAIT after an orderly close, `b` gone.
fn time_wait() -> (Pair, u32) {
    let (mut p, c, child) = fin_wait2_close_wait();
    p.close(false, child);
    p.run_for(100 * MS);
    assert_eq!(p.state(true, c), Some(State::TimeWait));
    assert_eq!(p.state(false, child), None);
    (p, c)
}

#[test]
fn close_wait_can_still_send() {
    let (mut p, c, child) = fin_wait2_close_wait();
    assert_eq!(p.recv(false, child, 10).unwrap(), b"");
    assert_eq!(p.send(false, child, b"late reply"), Ok(10));
    p.run_for(100 * MS);
    assert_eq!(p.recv(true, c, 100).unwrap(), b"late reply");
    // FIN-WAIT-2 of a socket with an fd has no timeout (Linux).
    p.run_for(600 * SEC);
    assert_eq!(p.state(true, c), Some(State::FinWait2));
}

#[test]
fn time_wait_reacks_retransmitted_fin() {
    let (mut p, c) = time_wait();
    let s = p.sock(true, c);
    let (a_port, rcv_nxt, snd_nxt) = (s.local.port(), s.rcv_nxt, s.snd_nxt);
    p.run_for(30 * SEC);
    // b is gone: its RST for our re-ACK would assassinate TIME-WAIT (RFC 1337), so
    // keep b quiet.
    p.filter = Some(Box::new(|w| !w.from_a));
    let before = p.log.len();
    // b's FIN again (its sequence number is RCV.NXT - 1).
    let fin = TcpRepr {
        src_port: 80,
        dst_port: a_port,
        control: Control::Fin,
        psh: false,
        ece: false,
        cwr: false,
        seq_number: rcv_nxt - 1,
        ack_number: Some(snd_nxt),
        window_len: 1000,
        options: TcpOptions::default(),
        payload: &[],
    };
    let mut buf = vec![0u8; fin.buffer_len()];
    fin.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), &B, &A);
    p.deliver(false, B, A, &buf, 0);
    p.collect();
    assert_eq!(p.log.len(), before + 1, "re-ACKed");
    // 2MSL restarted: still there 59 s after the retransmitted FIN.
    p.run_for(59 * SEC);
    assert_eq!(p.state(true, c), Some(State::TimeWait));
    p.run_for(2 * SEC);
    // Still referenced by its fd (only shut down): CLOSED, not freed.
    assert_eq!(p.state(true, c), Some(State::Closed));
}

#[test]
fn congestion_control_by_name() {
    let (mut p, c, _l, _child) = established();
    let mut out = [0u8; 16];
    let n = p.a.tcp.getsockopt(&Net::new(0), c, SOL_TCP, TCP_CONGESTION, &mut out).unwrap();
    assert_eq!(n, 16);
    assert_eq!(&out[..6], b"cubic\0");
    assert_eq!(p.setopt(true, c, SOL_TCP, TCP_CONGESTION, b"cubicx\0"), Err(Errno::ENOENT));
    assert_eq!(p.setopt(true, c, SOL_TCP, TCP_CONGESTION, b"reno\0"), Ok(()));
    let mut s = crate::sysctl::Sysctl::default();
    let mut d = crate::dev::DevTable::default();
    let set = crate::sysctl::set(&mut s, &mut d, "net.ipv4.tcp_congestion_control", "nope");
    assert_eq!(set, Err(Errno::ENOENT));
    let avail = crate::sysctl::get(&s, &d, "net.ipv4.tcp_available_congestion_control");
    assert_eq!(avail.unwrap(), "reno cubic bbr");
    // Linux `tcp_allowed_congestion_control`: names validated, printed in
    // registration order; a new default is always allowed.
    let allowed = "net.ipv4.tcp_allowed_congestion_control";
    assert_eq!(crate::sysctl::get(&s, &d, allowed).unwrap(), "reno cubic bbr");
    assert_eq!(crate::sysctl::set(&mut s, &mut d, allowed, "bbr nope"), Err(Errno::ENOENT));
    assert_eq!(crate::sysctl::set(&mut s, &mut d, allowed, "bbr reno"), Ok(()));
    assert_eq!(crate::sysctl::get(&s, &d, allowed).unwrap(), "reno bbr");
    crate::sysctl::set(&mut s, &mut d, "net.ipv4.tcp_congestion_control", "cubic").unwrap();
    assert_eq!(crate::sysctl::get(&s, &d, allowed).unwrap(), "reno bbr cubic");
    assert_eq!(crate::sysctl::get(&s, &d, "net.ipv4.tcp_pacing_ss_ratio").unwrap(), "200");
    assert_eq!(crate::sysctl::get(&s, &d, "net.ipv4.tcp_pacing_ca_ratio").unwrap(), "120");
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.snmp()[4], ("ActiveOpens", 1));
    assert_eq!(mib.snmp()[8], ("CurrEstab", 1));
}

#[test]
fn syn_cookies_when_syn_queue_full() {
    let mut p = Pair::new();
    let l = p.listen(false, 80, 1);
    let mut cs = Vec::new();
    for _ in 0..6 {
        let c = p.open(true);
        let _ = p.connect(true, c, SocketAddr::new(B, 80));
        cs.push(c);
    }
    p.run_for(100 * MS);
    assert!(p.b.tcp.stats.mib.syncookies_sent > 0);
    // Every client believes it is connected and talks; the data carries the ACK that
    // completes the cookie once the accept queue has room (Linux `cookie_v4_check`).
    for &c in &cs {
        assert_eq!(p.state(true, c), Some(State::Established));
        p.send(true, c, b"hi").unwrap();
    }
    let mut accepted = Vec::new();
    for _ in 0..200 {
        p.run_for(100 * MS);
        while let Ok(id) = p.accept(false, l) {
            accepted.push(id);
        }
    }
    assert_eq!(accepted.len(), cs.len());
    for id in accepted {
        assert_eq!(p.recv(false, id, 10).unwrap(), b"hi");
    }
    assert!(p.b.tcp.stats.mib.syncookies_recv > 0);
}

/// Linux `tcp_cwnd_validate` / `tcp_is_cwnd_limited` (Reno in congestion avoidance): a
/// window whose sending cwnd limited grows cwnd through all its ACKs, even as the flight
/// drains and nothing more is sent; a window the application kept below cwnd does not.
#[test]
fn cwnd_grows_only_through_windows_that_filled_it() {
    let (mut p, c, _l, child) = established();
    assert_eq!(p.setopt(true, c, SOL_TCP, TCP_CONGESTION, b"reno\0"), Ok(()));
    let mss = p.sock(true, c).mss as usize;
    let s = p.a.tcp.sock_mut(c).unwrap();
    s.ssthresh = s.cwnd;
    let cwnd = s.cwnd as usize;
    // Half a window, twice: congestion avoidance does not count these ACKs.
    for _ in 0..2 {
        assert_eq!(p.send(true, c, &pattern(cwnd / 2 * mss)), Ok(cwnd / 2 * mss));
        p.run_for(SEC);
        while p.recv(false, child, 1 << 20).is_ok_and(|v| !v.is_empty()) {}
    }
    let s = p.sock(true, c);
    assert_eq!((s.cwnd as usize, s.cwnd_cnt), (cwnd, 0), "app-limited: no growth");
    // A full window: every segment it acknowledges counts, one more segment of cwnd.
    assert_eq!(p.send(true, c, &pattern(cwnd * mss)), Ok(cwnd * mss));
    p.run_for(SEC);
    assert_eq!(p.sock(true, c).cwnd as usize, cwnd + 1);
}

/// Linux `tcp_init_buffer_space` → `tcp_sndbuf_expand`: a new connection's send
/// buffer holds `sndbuf_expand` windows of 10 segments at Linux's per-MSS truesize
/// bound, 2,304 bytes for MSS 1,460: 46,080 bytes with CUBIC (2 windows) and
/// 69,120 with BBR (3) — SO_SNDBUF as the reference Linux reports it for the same MSS
/// (`test/nuse/test_sndbuf.py`). A writer the buffer blocks grows it with cwnd, in
/// the same units.
#[test]
fn send_buffer_is_sized_as_linux_sizes_it() {
    for (cc, windows) in [("cubic", 2), ("bbr", 3)] {
        let (mut p, c, _l, child) = established_with(|p| {
            p.a.net.sysctl.tcp.tcp_congestion_control = cc;
        });
        assert_eq!(p.sock(true, c).sndbuf, windows * 10 * 2304, "{cc}");
        let mut max_cwnd = 0;
        let data = pattern(2_000_000);
        let (mut sent, mut got) = (0, 0);
        while got < data.len() && p.now < 1_100 * SEC {
            if let Ok(n) = p.send(true, c, &data[sent..]) {
                sent += n;
            }
            p.run_for(MS);
            max_cwnd = max_cwnd.max(p.sock(true, c).cwnd);
            while let Ok(v) = p.recv(false, child, 1 << 20) {
                if v.is_empty() {
                    break;
                }
                got += v.len();
            }
        }
        let s = p.sock(true, c);
        assert_eq!(got, data.len(), "{cc}");
        assert!(s.sndbuf > windows * 10 * 2304, "{cc}: grew to {}", s.sndbuf);
        assert_eq!(s.sndbuf % (windows * 2304), 0, "{cc}: whole windows");
        assert!(s.sndbuf <= windows * max_cwnd * 2304, "{cc}: {} for cwnd {max_cwnd}", s.sndbuf);
    }
}
