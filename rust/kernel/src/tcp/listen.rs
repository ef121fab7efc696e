//! Passive open (Linux `inet_connection_sock.c`, `tcp_conn_request`, `tcp_check_req`):
//! a listener's SYN queue (embryonic children in SYN-RECEIVED, bounded by the backlog
//! and `tcp_max_syn_backlog`) and its accept queue (bounded like Linux
//! `sk_acceptq_is_full`: more than `min(backlog, somaxconn)` queued is full).
//! Children are ordinary sockets in the table with no fd until accept().

use super::TcpTable;
use super::output::{route, send_reset_for};
use super::seq::SeqNumber;
use super::sock::{State, TcpSock};
use crate::net::{IpRx, Net};
use crate::wire::tcp::{Control, TcpRepr};
use crate::{Errno, Nanos, SysResult};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// SYN cookies stay valid for about two minutes (Linux `MAX_SYNCOOKIE_AGE`).
const COOKIE_LIFETIME: Nanos = 120_000_000_000;
/// Bound on embryonic children per listener, cookie path included (memory).
const MAX_SYN_CHILDREN: usize = 1 << 16;

#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// `sk_max_ack_backlog`.
    pub backlog: u32,
    /// Children in SYN-RECEIVED.
    pub syn: Vec<u32>,
    /// Established children waiting for accept().
    pub accept: VecDeque<u32>,
}

impl Listen {
    /// Linux `sk_acceptq_is_full`.
    pub fn accept_full(&self) -> bool {
        self.accept.len() as u32 > self.backlog
    }
}

impl TcpSock {
    /// Linux `tcp_select_initial_window`: receive window scale and the first window.
    pub(crate) fn init_rcv_window(&mut self, net: &Net) {
        let t = &net.sysctl.tcp;
        let space = self.rcv_space() as u32;
        self.rcv_wscale = 0;
        if t.tcp_window_scaling {
            let mut sp = if self.common.rcvbuf_locked {
                space
            } else {
                t.tcp_rmem[2].max(net.sysctl.core.rmem_max)
            };
            if self.window_clamp > 0 {
                sp = sp.min(self.window_clamp);
            }
            while sp > 65535 && self.rcv_wscale < 14 {
                sp >>= 1;
                self.rcv_wscale += 1;
            }
        }
        let mss = self.advmss.max(1);
        let mut w = space.min(65535);
        if w > mss {
            w = w / mss * mss;
        }
        self.rcv_wnd = w;
        self.rcv_ssthresh = w;
        self.rcv_wup = self.rcv_nxt;
    }

    /// Path facts for a new connection: PMTU and the MSS we advertise.
    pub(crate) fn init_path(&mut self, mtu: u32) {
        self.pmtu = mtu;
        // An IPv4 packet is at most 65535 bytes (lo: MSS 65495, as Linux; over IPv6
        // 65476).
        let (hdr, max) = self.net_header();
        let mut adv = mtu.min(max).saturating_sub(hdr + 20).max(super::sock::MIN_MSS);
        if self.user_mss > 0 {
            adv = adv.min(self.user_mss);
        }
        self.advmss = adv;
        self.rcv_mss = adv.min(super::sock::MSS_DEFAULT);
        self.mss = adv.min(super::sock::MSS_DEFAULT);
    }

    /// What a child inherits from its listener (Linux `sk_clone_lock`,
    /// `tcp_create_openreq_child`).
    fn inherit(&mut self, l: &TcpSock) {
        self.common = l.common.clone();
        self.common.error = None;
        self.inet = l.inet;
        self.inet6 = l.inet6;
        self.nodelay = l.nodelay;
        self.cork = l.cork;
        self.keepidle = l.keepidle;
        self.keepintvl = l.keepintvl;
        self.keepcnt = l.keepcnt;
        self.linger2 = l.linger2;
        self.user_mss = l.user_mss;
        self.window_clamp = l.window_clamp;
        self.user_timeout_ms = l.user_timeout_ms;
        self.notsent_lowat = l.notsent_lowat;
        self.rcvbuf = l.rcvbuf;
        self.sndbuf = l.sndbuf;
        // `sk_clone_lock` copies the pacing limit and status.
        self.max_pacing_rate = l.max_pacing_rate;
        self.pacing_needed = l.pacing_needed;
    }
}

/// RFC 6528-style ISN: a 4 µs clock plus a per-instance random component.
pub(crate) fn new_isn(net: &mut Net, now: Nanos) -> SeqNumber {
    SeqNumber(((now / 4000) as u32).wrapping_add(net.rng.next_u32()))
}

impl TcpTable {
    /// A segment for listener `lid` (RFC 9293 §3.10.7.2).
    pub(crate) fn listen_input(
        &mut self,
        now: Nanos,
        net: &mut Net,
        lid: u32,
        rx: &IpRx<'_>,
        seg: &TcpRepr<'_>,
    ) {
        let local = SocketAddr::new(rx.dst, seg.dst_port);
        let remote = SocketAddr::new(rx.src, seg.src_port);
        if seg.control == Control::Rst {
            return;
        }
        if seg.ack_number.is_some() {
            let mut cx = self.cx(now, net);
            send_reset_for(&mut cx, local, remote, seg);
            return;
        }
        if seg.control != Control::Syn {
            return;
        }
        let Some(l) = self.sock(lid) else { return };
        let Some(q) = l.listen.as_ref() else { return };
        // Linux `tcp_conn_request`: a full SYN queue means SYN cookies (default), or a
        // drop without them; without cookies the last quarter of tcp_max_syn_backlog
        // is kept back too.
        let t = &net.sysctl.tcp;
        let qlen = q.syn.len() as u32;
        let syn_full = qlen >= q.backlog.max(1);
        let want_cookie = t.tcp_syncookies == 2 || (syn_full && t.tcp_syncookies == 1);
        let max_syn = t.tcp_max_syn_backlog;
        let no_cookie_drop =
            t.tcp_syncookies == 0 && (syn_full || max_syn.saturating_sub(qlen) < max_syn >> 2);
        if no_cookie_drop || q.syn.len() >= MAX_SYN_CHILDREN {
            self.stats.mib.listen_drops += 1;
            return;
        }
        if q.accept_full() {
            self.stats.mib.listen_overflows += 1;
            self.stats.mib.listen_drops += 1;
            return;
        }
        let cc_name = l.cc.name();
        let port = l.local.port();
        // `tcp_v6_init_req`: a link-local peer ties the child to the arrival interface.
        let ll = matches!(rx.src, std::net::IpAddr::V6(a) if crate::wire::ipv6::is_link_local(a));
        let bound_dev = l.common.bound_dev.or(ll.then_some(rx.ifindex));
        let id = self.alloc_id();
        let cc =
            super::cong::lookup(cc_name).map_or_else(super::cong::reno::Reno::boxed, |c| (c.new)());
        let mut c = Box::new(TcpSock::new(net, id, cc));
        c.inherit(self.sock(lid).expect("listener exists"));
        let mut cx = self.cx(now, net);
        let Ok(rt) = route(&cx, rx.src, bound_dev) else {
            self.stats.mib.listen_drops += 1;
            self.free_ids.push(id);
            return;
        };
        c.local = local;
        c.remote = remote;
        c.common.bound_dev = bound_dev;
        c.bound = true;
        c.parent = Some(lid);
        c.orphan = true;
        c.in_syn_queue = true;
        c.init_path(rt.mtu);
        c.irs = seg.seq_number;
        c.rcv_nxt = seg.seq_number + 1;
        c.init_rcv_window(cx.net);
        c.rx_ecn = rx.tos & 3;
        c.apply_syn_options(&mut cx, seg);
        c.iss = new_isn(cx.net, now);
        c.snd_una = c.iss;
        c.snd_nxt = c.iss;
        c.ts_offset = cx.net.rng.next_u32();
        c.snd_wnd = u32::from(seg.window_len);
        c.max_window = c.snd_wnd;
        c.snd_wl1 = seg.seq_number;
        c.set_state(&mut cx, State::SynRecv);
        c.send_syn(&mut cx);
        if want_cookie {
            // A cookie SYN-ACK keeps no state in Linux: nothing is retransmitted, and
            // the embryo is forgotten after the cookie's lifetime.
            c.cookie = true;
            c.set_timer(super::timer::Timer::Retransmit, now + COOKIE_LIFETIME);
            self.stats.mib.syncookies_sent += 1;
        }
        self.install(c);
        self.conns.insert((local, remote), id);
        self.ports.entry(port).or_default().push(id);
        if let Some(q) = self.sock_mut(lid).and_then(|l| l.listen.as_mut()) {
            q.syn.push(id);
        }
    }

    /// Before a child in SYN-RECEIVED sees its final ACK: Linux `tcp_check_req` refuses
    /// to complete when the accept queue is full (drop, or RST with
    /// `tcp_abort_on_overflow`). Returns false if the segment was consumed here.
    pub(crate) fn child_may_complete(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let Some(c) = self.sock(id) else { return true };
        if c.state != State::SynRecv || !c.in_syn_queue || seg.ack_number.is_none() {
            return true;
        }
        if matches!(seg.control, Control::Rst | Control::Syn) {
            return true;
        }
        let Some(pid) = c.parent else { return true };
        let (local, remote) = (c.local, c.remote);
        let full = self.sock(pid).and_then(|p| p.listen.as_ref()).is_none_or(|q| q.accept_full());
        if !full {
            return true;
        }
        self.stats.mib.listen_overflows += 1;
        self.stats.mib.listen_drops += 1;
        if net.sysctl.tcp.tcp_abort_on_overflow {
            let mut cx = self.cx(now, net);
            send_reset_for(&mut cx, local, remote, seg);
            self.with_sock(now, net, id, |s, cx| s.abort(cx, None, false));
        }
        false
    }

    /// Moves a child that reached ESTABLISHED from the SYN queue to the accept queue.
    pub(crate) fn promote_child(&mut self, id: u32, net: &mut Net) {
        let Some(c) = self.sock_mut(id) else { return };
        if !c.in_syn_queue || c.state == State::SynRecv || c.state == State::Closed {
            return;
        }
        c.in_syn_queue = false;
        let Some(pid) = c.parent else { return };
        if c.cookie {
            self.stats.mib.syncookies_recv += 1;
        }
        self.stats.mib.passive_opens += 1;
        if let Some(q) = self.sock_mut(pid).and_then(|l| l.listen.as_mut()) {
            q.syn.retain(|&x| x != id);
            q.accept.push_back(id);
        }
        net.wake(crate::socket::SockRef { proto: crate::socket::Proto::Tcp, id: pid });
    }

    /// accept(): the oldest established child.
    pub(crate) fn accept_child(&mut self, id: u32) -> SysResult<(u32, SocketAddr)> {
        let l = self.sock_mut(id).ok_or(Errno::EBADF)?;
        let q = l.listen.as_mut().ok_or(Errno::EINVAL)?;
        let cid = q.accept.pop_front().ok_or(Errno::EAGAIN)?;
        let c = self.sock_mut(cid).ok_or(Errno::ECONNABORTED)?;
        c.parent = None;
        c.orphan = false;
        c.connected = true;
        Ok((cid, c.remote))
    }

    /// Linux `inet_csk_listen_stop`: children are reset and freed.
    pub(crate) fn listen_stop(&mut self, now: Nanos, net: &mut Net, id: u32) {
        let Some(q) = self.sock_mut(id).and_then(|l| l.listen.take()) else { return };
        for cid in q.syn.iter().chain(q.accept.iter()).copied() {
            self.with_sock(now, net, cid, |c, cx| {
                c.in_syn_queue = false;
                c.parent = None;
                c.user_closed = true;
                let rst = c.state.is_synchronized();
                c.abort(cx, None, rst);
            });
        }
    }
}
