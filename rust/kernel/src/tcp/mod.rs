//! TCP (RFC 9293), shaped like Linux `net/ipv4/tcp*.c`. Read RFC 9293 §3.10 (event
//! processing), RFC 6298 (RTO), RFC 5681/6582 (congestion control, NewReno), RFC 7323
//! (window scale, timestamps, PAWS), RFC 5961 (blind-attack mitigations) first.
//!
//! - `mod.rs`: [`TcpTable`], the socket slab, demultiplexing maps, the timer set and
//!   the `ProtoOps` glue; `syscall.rs`: the socket calls; `ports.rs`: bind rules.
//! - `sock.rs` (per-connection state), `input.rs` (segment arrival), `output.rs` (what
//!   to send), `timer.rs`, `rtt.rs`, `seq.rs`, `listen.rs`, `options.rs` (sockopts),
//!   `info.rs` (`TCP_INFO`), `cong/` (congestion control registry).
//!
//! Every entry point works on one socket at a time: the socket is taken out of the
//! slab, handed a [`Cx`] (time, namespace, counters), and put back; its timer table
//! is then mirrored into the table's ordered timer set and, if it died without an
//! fd, it is freed.

pub mod cong;
mod ecn;
pub mod info;
pub mod input;
pub mod listen;
pub mod ofo;
pub mod options;
pub mod output;
pub mod pacing;
pub mod ports;
pub(crate) mod proc;
pub mod rate;
pub mod rtt;
mod sack;
pub mod sendq;
pub mod seq;
pub mod sock;
pub mod syscall;
pub mod timer;
mod tlp;
pub(crate) mod tso;

#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod reorder_tests;
#[cfg(test)]
mod sack_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;

pub use info::TcpInfo;

use crate::net::{Delivery, IcmpError, IpRx, Net};
use crate::wire::tcp::{Control, TcpPacket, TcpRepr};
use crate::{Nanos, wire};
use sock::{State, TcpSock};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use timer::Timer;

/// A `sync_timers` mask covering every timer of a socket.
const ALL_TIMERS: u16 = (1 << timer::TIMER_COUNT) - 1;

/// TCP MIB counters with Linux names (`/proc/net/snmp` Tcp: and `netstat` TcpExt:).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpMib {
    pub active_opens: u64,
    pub passive_opens: u64,
    pub attempt_fails: u64,
    pub estab_resets: u64,
    /// A gauge: connections in ESTABLISHED or CLOSE-WAIT.
    pub curr_estab: u64,
    pub in_segs: u64,
    pub out_segs: u64,
    pub retrans_segs: u64,
    pub in_errs: u64,
    pub out_rsts: u64,
    pub in_csum_errors: u64,
    // TcpExt.
    pub listen_overflows: u64,
    pub listen_drops: u64,
    /// TCPChallengeACK.
    pub challenge_acks: u64,
    /// TCPSYNChallenge.
    pub syn_challenge: u64,
    pub delayed_acks: u64,
    /// PAWSEstabRejected.
    pub paws_estab_rejected: u64,
    /// TCPFastRetrans (recovery episodes entered).
    pub fast_retrans: u64,
    /// TCPSackRecovery / TCPRenoRecovery.
    pub sack_recovery: u64,
    pub reno_recovery: u64,
    /// TCPDSACKRecv, TCPDSACKIgnoredDubious, TCPSACKDiscard, TCPSACKReorder,
    /// TCPTSReorder, TCPLostRetransmit.
    pub dsack_recv: u64,
    pub dsack_ignored_dubious: u64,
    pub sack_discard: u64,
    pub sack_reorder: u64,
    pub ts_reorder: u64,
    pub lost_retransmit: u64,
    /// TCPTimeouts (RTOs fired on established connections).
    pub timeouts: u64,
    /// TCPLossUndo, TCPFullUndo, TCPPartialUndo, TCPSpuriousRTOs.
    pub loss_undo: u64,
    pub full_undo: u64,
    pub partial_undo: u64,
    pub spurious_rtos: u64,
    /// TCPLossProbes, TCPLossProbeRecovery, TCPDSACKUndo.
    pub loss_probes: u64,
    pub loss_probe_recovery: u64,
    pub dsack_undo: u64,
    /// TCPOFOQueue; TCPOFODrop and TCPRcvQDrop (data past the receive buffer).
    pub ofo_queue: u64,
    pub ofo_drop: u64,
    pub rcvq_drop: u64,
    /// TCPAckCompressed: duplicate ACKs held back and sent as one (SACK compression).
    pub ack_compressed: u64,
    /// TCPAbortOnData / TCPAbortOnClose / TCPAbortOnLinger.
    pub abort_on_data: u64,
    pub abort_on_close: u64,
    pub abort_on_linger: u64,
    /// OutOfWindowIcmps.
    pub out_of_window_icmps: u64,
    /// SyncookiesSent / SyncookiesRecv (see `listen.rs`: the cookie path is emulated).
    pub syncookies_sent: u64,
    pub syncookies_recv: u64,
}

impl TcpMib {
    /// The `Tcp:` line of /proc/net/snmp, in Linux's order and names (RtoAlgorithm 1,
    /// RtoMin/RtoMax in ms, MaxConn -1, as Linux prints them).
    pub fn snmp(&self) -> [(&'static str, i64); 15] {
        let c = |v: u64| v as i64;
        [
            ("RtoAlgorithm", 1),
            ("RtoMin", (rtt::RTO_MIN / rtt::MS) as i64),
            ("RtoMax", (rtt::RTO_MAX / rtt::MS) as i64),
            ("MaxConn", -1),
            ("ActiveOpens", c(self.active_opens)),
            ("PassiveOpens", c(self.passive_opens)),
            ("AttemptFails", c(self.attempt_fails)),
            ("EstabResets", c(self.estab_resets)),
            ("CurrEstab", c(self.curr_estab)),
            ("InSegs", c(self.in_segs)),
            ("OutSegs", c(self.out_segs)),
            ("RetransSegs", c(self.retrans_segs)),
            ("InErrs", c(self.in_errs)),
            ("OutRsts", c(self.out_rsts)),
            ("InCsumErrors", c(self.in_csum_errors)),
        ]
    }

    /// The TCP part of the `TcpExt:` line of /proc/net/netstat (Linux names).
    pub fn netstat(&self) -> [(&'static str, u64); 33] {
        [
            ("SyncookiesSent", self.syncookies_sent),
            ("SyncookiesRecv", self.syncookies_recv),
            ("OutOfWindowIcmps", self.out_of_window_icmps),
            ("PAWSEstab", self.paws_estab_rejected),
            ("DelayedACKs", self.delayed_acks),
            ("ListenOverflows", self.listen_overflows),
            ("ListenDrops", self.listen_drops),
            ("TCPRenoRecovery", self.reno_recovery),
            ("TCPSackRecovery", self.sack_recovery),
            ("TCPSACKReorder", self.sack_reorder),
            ("TCPTSReorder", self.ts_reorder),
            ("TCPLostRetransmit", self.lost_retransmit),
            ("TCPDSACKUndo", self.dsack_undo),
            ("TCPLossUndo", self.loss_undo),
            ("TCPFullUndo", self.full_undo),
            ("TCPPartialUndo", self.partial_undo),
            ("TCPFastRetrans", self.fast_retrans),
            ("TCPTimeouts", self.timeouts),
            ("TCPDSACKRecv", self.dsack_recv),
            ("TCPDSACKIgnoredDubious", self.dsack_ignored_dubious),
            ("TCPAbortOnData", self.abort_on_data),
            ("TCPAbortOnClose", self.abort_on_close),
            ("TCPAbortOnLinger", self.abort_on_linger),
            ("TCPSACKDiscard", self.sack_discard),
            ("TCPLossProbes", self.loss_probes),
            ("TCPLossProbeRecovery", self.loss_probe_recovery),
            ("TCPSpuriousRTOs", self.spurious_rtos),
            ("TCPOFOQueue", self.ofo_queue),
            ("TCPOFODrop", self.ofo_drop),
            ("TCPChallengeACK", self.challenge_acks),
            ("TCPSYNChallenge", self.syn_challenge),
            ("TCPAckCompressed", self.ack_compressed),
            ("TCPRcvQDrop", self.rcvq_drop),
        ]
    }
}

/// Per-namespace TCP state besides the sockets.
#[derive(Debug, Clone, Default)]
pub struct TcpStats {
    pub mib: TcpMib,
    /// RFC 5961 §7 challenge ACK budget (Linux `tcp_challenge_ack_limit` per second).
    pub challenge_second: u64,
    pub challenge_count: u32,
}

/// What socket-level code may touch while working on one socket.
pub struct Cx<'a> {
    pub now: Nanos,
    pub net: &'a mut Net,
    pub stats: &'a mut TcpStats,
    #[cfg(test)]
    pub(crate) tap: Option<&'a mut tests::Tap>,
}

/// The TCP socket table of one instance.
#[derive(Default)]
pub struct TcpTable {
    socks: Vec<Option<Box<TcpSock>>>,
    free_ids: Vec<u32>,
    /// Connected sockets (including embryonic children and TIME_WAIT) by
    /// (local, remote).
    conns: BTreeMap<(SocketAddr, SocketAddr), u32>,
    /// The socket of the last `conns` hit (a one-entry demux cache, as Linux's early
    /// demux keeps the socket on the flow), valid while its (local, remote) match:
    /// cleared whenever an entry leaves or a key is re-bound.
    last_conn: Option<u32>,
    /// Sockets holding each local port (Linux bind hash buckets).
    ports: BTreeMap<u16, Vec<u32>>,
    /// Per-socket timer expiries, ordered by deadline then socket then kind. Lazy, as
    /// Linux `sk_reset_timer` only moves an expiry: an entry may be earlier than the
    /// socket's current deadline (re-armed later, e.g. the RTO on every ACK) or stale
    /// (cancelled); `advance` re-queues or skips those. At most one entry per (socket,
    /// kind), at or before the socket's deadline: `queued` mirrors it.
    timers: BTreeSet<(Nanos, u32, Timer)>,
    /// Per socket id, the time of its entry in `timers` for each kind.
    queued: Vec<[Option<Nanos>; timer::TIMER_COUNT]>,
    pub stats: TcpStats,
    #[cfg(test)]
    pub(crate) tap: Option<tests::Tap>,
}

impl TcpTable {
    pub(crate) fn cx<'a>(&'a mut self, now: Nanos, net: &'a mut Net) -> Cx<'a> {
        Cx {
            now,
            net,
            stats: &mut self.stats,
            #[cfg(test)]
            tap: self.tap.as_mut(),
        }
    }

    pub fn sock(&self, id: u32) -> Option<&TcpSock> {
        self.socks.get(id as usize).and_then(|s| s.as_deref())
    }

    pub(crate) fn sock_mut(&mut self, id: u32) -> Option<&mut TcpSock> {
        self.socks.get_mut(id as usize).and_then(|s| s.as_deref_mut())
    }

    /// Number of live sockets (with or without an fd).
    pub fn len(&self) -> usize {
        self.socks.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn alloc_id(&mut self) -> u32 {
        if let Some(id) = self.free_ids.pop() {
            return id;
        }
        self.socks.push(None);
        (self.socks.len() - 1) as u32
    }

    pub(crate) fn install(&mut self, mut s: Box<TcpSock>) {
        let id = s.id;
        s.timers_armed = 0;
        self.sync_timers(id, &s.timers, ALL_TIMERS);
        self.socks[id as usize] = Some(s);
    }

    /// Queues an entry for every timer of `id` in `mask` set earlier than its queued
    /// entry (or with none). Later or cancelled deadlines keep their entry (see
    /// `timers`).
    fn sync_timers(&mut self, id: u32, new: &[Option<Nanos>; timer::TIMER_COUNT], mask: u16) {
        let i = id as usize;
        if self.queued.len() <= i {
            self.queued.resize(i + 1, [None; timer::TIMER_COUNT]);
        }
        let mut mask = mask & ALL_TIMERS;
        while mask != 0 {
            // Only the timers in the mask, lowest first (usually just one).
            let t = Timer::VALUES[mask.trailing_zeros() as usize];
            mask &= mask - 1;
            let Some(n) = new[t as usize] else { continue };
            let q = &mut self.queued[i][t as usize];
            if q.is_some_and(|q| q <= n) {
                continue;
            }
            if let Some(o) = q.replace(n) {
                self.timers.remove(&(o, id, t));
            }
            self.timers.insert((n, id, t));
        }
    }

    /// Drops every queued entry of `id` (the socket is freed; its id may be reused).
    fn drop_timers(&mut self, id: u32) {
        let Some(q) = self.queued.get_mut(id as usize) else { return };
        for t in Timer::VALUES {
            if let Some(o) = q[t as usize].take() {
                self.timers.remove(&(o, id, t));
            }
        }
    }

    /// Runs `f` on socket `id` with a context, then reconciles timers, demux and
    /// lifetime.
    pub(crate) fn with_sock<R>(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        f: impl FnOnce(&mut TcpSock, &mut Cx<'_>) -> R,
    ) -> Option<R> {
        let mut s = self.socks.get_mut(id as usize)?.take()?;
        s.seen = s.seen.max(now);
        let r = {
            let mut cx = self.cx(now, net);
            f(&mut s, &mut cx)
        };
        let armed = std::mem::take(&mut s.timers_armed);
        if armed != 0 {
            self.sync_timers(id, &s.timers, armed);
        }
        self.put_back(s, net);
        Some(r)
    }

    /// Stores a socket back; a CLOSED socket leaves the demux maps and, if no fd or
    /// accept queue refers to it, is freed.
    fn put_back(&mut self, mut s: Box<TcpSock>, net: &mut Net) {
        let id = s.id;
        if s.state != State::Closed {
            self.socks[id as usize] = Some(s);
            if self.sock(id).is_some_and(|c| c.in_syn_queue && c.state != State::SynRecv) {
                self.promote_child(id, net);
            }
            return;
        }
        let key = (s.local, s.remote);
        if self.conns.get(&key) == Some(&id) {
            self.conns.remove(&key);
            self.last_conn = None;
        }
        let in_accept_queue = s.parent.is_some() && !s.in_syn_queue;
        if s.in_syn_queue {
            if let Some(q) = s.parent.and_then(|p| self.sock_mut(p)).and_then(|l| l.listen.as_mut())
            {
                q.syn.retain(|&x| x != id);
            }
            s.in_syn_queue = false;
        }
        let free = s.orphan && !in_accept_queue;
        if s.bound && (!s.user_bound || free) {
            self.release_port(id, s.local.port());
            s.bound = false;
        }
        if free {
            self.drop_timers(id);
            self.free_ids.push(id);
            net.wake(s.sock_ref());
        } else {
            self.socks[id as usize] = Some(s);
        }
    }

    fn release_port(&mut self, id: u32, port: u16) {
        if let Some(v) = self.ports.get_mut(&port) {
            v.retain(|&x| x != id);
            if v.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    /// The listener for `local` (Linux `inet_lhash2_lookup` / `compute_score`): an
    /// exact address match beats the wildcard, an IPv4 listener beats a dual-stack one
    /// for IPv4, and an IPV6_V6ONLY listener never takes IPv4; first bound wins ties.
    fn find_listener(&self, local: SocketAddr) -> Option<u32> {
        let ids = self.ports.get(&local.port())?;
        let mut best: Option<(u32, u32)> = None;
        for &id in ids {
            let Some(s) = self.sock(id) else { continue };
            if s.state != State::Listen {
                continue;
            }
            let Some(score) = crate::socket::inet6::match_local(&s.inet6, s.local.ip(), local.ip())
            else {
                continue;
            };
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, id));
            }
        }
        best.map(|b| b.1)
    }

    /// IP local delivery of a TCP segment (Linux `tcp_v4_rcv`).
    pub fn input(&mut self, now: Nanos, net: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery {
        self.stats.mib.in_segs += 1;
        let Ok(pkt) = TcpPacket::new_checked(payload) else {
            self.stats.mib.in_errs += 1;
            return Delivery::Dropped;
        };
        let seg = match TcpRepr::parse(&pkt, &rx.src, &rx.dst) {
            Ok(seg) => seg,
            Err(e) => {
                self.stats.mib.in_errs += 1;
                if e == wire::Error::Checksum {
                    self.stats.mib.in_csum_errors += 1;
                }
                return Delivery::Dropped;
            }
        };
        if rx.multicast_or_broadcast {
            return Delivery::Dropped;
        }
        let local = SocketAddr::new(rx.dst, seg.dst_port);
        let remote = SocketAddr::new(rx.src, seg.src_port);
        if let Some(id) = self.lookup_conn((local, remote))
            && !self.timewait_reuse(now, net, id, &seg)
        {
            self.conn_input(now, net, id, &seg, rx.tos & 3);
            return Delivery::Consumed;
        }
        if let Some(lid) = self.find_listener(local) {
            self.listen_input(now, net, lid, rx, &seg);
            return Delivery::Consumed;
        }
        let mut cx = self.cx(now, net);
        output::send_reset_for(&mut cx, local, remote, &seg);
        Delivery::Consumed
    }

    /// The connection on `key` (`__inet_lookup_established`).
    fn lookup_conn(&mut self, key: (SocketAddr, SocketAddr)) -> Option<u32> {
        if let Some(id) = self.last_conn
            && self.sock(id).is_some_and(|s| (s.local, s.remote) == key)
        {
            return Some(id);
        }
        let id = *self.conns.get(&key)?;
        self.last_conn = Some(id);
        Some(id)
    }

    /// A SYN for a TIME_WAIT pair with a higher sequence number may start a new
    /// connection (Linux `tcp_timewait_state_process` TCP_TW_SYN): the old one goes.
    fn timewait_reuse(&mut self, now: Nanos, net: &mut Net, id: u32, seg: &TcpRepr<'_>) -> bool {
        let Some(s) = self.sock(id) else { return false };
        let newer_ts = match (s.ts_ok, seg.options.timestamp) {
            (true, Some((tsval, _))) => tsval.wrapping_sub(s.ts_recent) as i32 > 0,
            _ => true,
        };
        if s.state != State::TimeWait
            || seg.control != Control::Syn
            || seg.ack_number.is_some()
            || !(seg.seq_number > s.rcv_nxt && newer_ts)
        {
            return false;
        }
        self.with_sock(now, net, id, |s, cx| s.set_state(cx, State::Closed));
        true
    }

    fn conn_input(&mut self, now: Nanos, net: &mut Net, id: u32, seg: &TcpRepr<'_>, ecn: u8) {
        if !self.child_may_complete(now, net, id, seg) {
            return;
        }
        self.with_sock(now, net, id, |s, cx| {
            s.segs_in += 1;
            s.rx_ecn = ecn;
            match s.state {
                State::SynSent => s.rcv_synsent(cx, seg),
                State::TimeWait => s.rcv_timewait(cx, seg),
                State::Closed | State::Listen => {}
                _ => s.rcv_state_process(cx, seg),
            }
        });
    }

    /// An ICMP error about a segment we sent (Linux `tcp_v4_err`).
    pub fn icmp_error(&mut self, now: Nanos, net: &mut Net, err: &IcmpError<'_>) {
        let q = err.quoted;
        if q.len() < 8 {
            return;
        }
        let sport = u16::from_be_bytes([q[0], q[1]]);
        let dport = u16::from_be_bytes([q[2], q[3]]);
        let seq = seq::SeqNumber(u32::from_be_bytes([q[4], q[5], q[6], q[7]]));
        let key = (SocketAddr::new(err.src, sport), SocketAddr::new(err.dst, dport));
        let Some(&id) = self.conns.get(&key) else { return };
        let Some(s) = self.sock(id) else { return };
        // Linux `between(seq, snd_una, snd_nxt)`: both ends included.
        if s.state != State::SynSent && !(seq >= s.snd_una && seq <= s.snd_nxt) {
            self.stats.mib.out_of_window_icmps += 1;
            return;
        }
        self.with_sock(now, net, id, |s, cx| s.on_icmp_error(cx, err));
    }

    /// TCP_INFO of socket `id`.
    pub fn info(&self, id: u32) -> crate::SysResult<TcpInfo> {
        let s = self.sock(id).ok_or(crate::Errno::EBADF)?;
        Ok(s.tcp_info(s.seen))
    }

    /// The earliest queued entry: at or before every socket's real deadline (early
    /// after a re-arm; `advance` at that time only re-queues).
    pub fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    /// Fires every timer due at `now`, earliest first; same-instant timers of one
    /// socket in `Timer` order. An early entry is queued again at the socket's
    /// deadline, a cancelled one is dropped.
    pub fn advance(&mut self, now: Nanos, net: &mut Net) {
        let mut budget = 1usize << 20;
        while let Some(&(at, id, t)) = self.timers.first() {
            if at > now || budget == 0 {
                break;
            }
            budget -= 1;
            self.timers.pop_first();
            if let Some(q) = self.queued.get_mut(id as usize) {
                q[t as usize] = None;
            }
            let Some(s) = self.sock_mut(id) else { continue };
            match s.timer(t) {
                Some(d) if d == at => {}
                Some(_) => {
                    // Re-armed later since the entry was queued.
                    let timers = s.timers;
                    self.sync_timers(id, &timers, 1 << t as u16);
                    continue;
                }
                None => continue,
            }
            // Keep the socket's view in step with the popped entry.
            s.clear_timer(t);
            self.with_sock(now, net, id, |s, cx| {
                s.set_timer(t, at);
                s.on_timer(cx, t);
            });
        }
    }
}

impl TcpSock {
    /// TIME-WAIT (RFC 9293 §3.10.7.4; Linux `tcp_timewait_state_process`).
    fn rcv_timewait(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        match seg.control {
            Control::Rst => {
                // TIME-WAIT assassination (RFC 1337) unless tcp_rfc1337.
                if seg.seq_number == self.rcv_nxt && !cx.net.sysctl.tcp.tcp_rfc1337 {
                    self.set_state(cx, State::Closed);
                }
            }
            Control::Syn => self.send_ack(cx),
            Control::Fin => {
                // The peer did not get our last ACK: ACK again, restart 2MSL.
                self.send_ack(cx);
                self.set_timer(Timer::TimeWait, cx.now + sock::TIMEWAIT_LEN);
            }
            Control::None => {
                if !seg.payload.is_empty() {
                    self.send_ack(cx);
                }
            }
        }
    }

    /// Linux `tcp_v4_err` for one connection.
    fn on_icmp_error(&mut self, cx: &mut Cx<'_>, err: &IcmpError<'_>) {
        if let Some(mtu) = err.mtu {
            // PMTU discovery (RFC 1191, RFC 8201; Linux `tcp_v4_mtu_reduced`,
            // `tcp_v6_mtu_reduced`).
            if mtu >= 68 && mtu < self.pmtu {
                self.pmtu = mtu;
                self.sync_mss(cx);
                self.simple_retransmit(cx);
            }
            return;
        }
        match self.state {
            State::SynSent | State::SynRecv if err.fatal && self.parent.is_none() => {
                self.abort(cx, Some(err.errno), false);
            }
            _ => {
                if self.inet.recverr {
                    self.common.error = Some(err.errno);
                    cx.net.wake(self.sock_ref());
                } else {
                    self.err_soft = Some(err.errno);
                }
            }
        }
    }
}

#[cfg(test)]
mod lazy_timer_tests {
    use super::*;

    fn only(t: Timer, at: Nanos) -> [Option<Nanos>; timer::TIMER_COUNT] {
        let mut a = [None; timer::TIMER_COUNT];
        a[t as usize] = Some(at);
        a
    }

    fn entries(tb: &TcpTable) -> Vec<(Nanos, u32, Timer)> {
        tb.timers.iter().copied().collect()
    }

    #[test]
    fn one_entry_at_or_before_the_deadline() {
        let mut tb = TcpTable::default();
        tb.sync_timers(3, &only(Timer::Retransmit, 100), ALL_TIMERS);
        // Re-armed later (every ACK moves the RTO): the early entry stays, nothing else.
        tb.sync_timers(3, &only(Timer::Retransmit, 200), ALL_TIMERS);
        assert_eq!(entries(&tb), [(100, 3, Timer::Retransmit)]);
        // Moved earlier: the entry moves with it.
        tb.sync_timers(3, &only(Timer::Retransmit, 50), ALL_TIMERS);
        assert_eq!(entries(&tb), [(50, 3, Timer::Retransmit)]);
        // Cancelled: the entry stays until `advance` finds it stale.
        tb.sync_timers(3, &[None; timer::TIMER_COUNT], ALL_TIMERS);
        assert_eq!(tb.next_deadline(), Some(50));
        tb.sync_timers(4, &only(Timer::DelayedAck, 70), ALL_TIMERS);
        // A freed socket takes its entries with it (its id may be reused).
        tb.drop_timers(3);
        assert_eq!(entries(&tb), [(70, 4, Timer::DelayedAck)]);
        tb.sync_timers(3, &only(Timer::Retransmit, 300), ALL_TIMERS);
        assert_eq!(entries(&tb), [(70, 4, Timer::DelayedAck), (300, 3, Timer::Retransmit)]);
        // Only the timers in the mask (those armed since the last sync) are looked at.
        tb.sync_timers(4, &only(Timer::DelayedAck, 10), 1 << Timer::Retransmit as u16);
        assert_eq!(tb.next_deadline(), Some(70));
        tb.sync_timers(4, &only(Timer::DelayedAck, 10), 1 << Timer::DelayedAck as u16);
        assert_eq!(tb.next_deadline(), Some(10));
    }
}
