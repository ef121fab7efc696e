//! The socket calls on TCP (Linux `af_inet.c` `inet_stream_connect`, `inet_listen`,
//! `inet_shutdown`, and `tcp.c` `tcp_sendmsg`, `tcp_recvmsg`, `tcp_close`, `tcp_poll`),
//! with Linux's errno for every misuse.

use super::listen::new_isn;
use super::output::route;
use super::sock::{RCV_SHUTDOWN, SEND_SHUTDOWN, State, TcpSock, UNSPEC, UNSPEC6};
use super::{Cx, TcpTable};
use crate::net::Net;
use crate::socket::ProtoOps;
use crate::socket::inet::check_bind_addr;
use crate::socket::inet6::{Bind6, Inet6Opts, bind6, dest6};
use crate::uapi::*;
use crate::{Errno, Nanos, SysResult};
use std::net::SocketAddr;

impl TcpSock {
    /// Linux `tcp_close_state`: the state after our FIN, and whether to send one.
    fn close_state(&mut self, cx: &mut Cx<'_>) -> bool {
        let (next, fin) = match self.state {
            State::Established | State::SynRecv => (State::FinWait1, true),
            State::CloseWait => (State::LastAck, true),
            State::SynSent | State::Listen => (State::Closed, false),
            s => (s, false),
        };
        self.set_state(cx, next);
        fin
    }

    fn send_fin(&mut self, cx: &mut Cx<'_>) {
        self.fin_queued = true;
        self.write_xmit(cx);
    }

    /// Linux `tcp_cleanup_rbuf`: after a read, ACK if the window can now double.
    fn cleanup_rbuf(&mut self, cx: &mut Cx<'_>, copied: usize) {
        if !self.state.is_synchronized() || self.state == State::TimeWait {
            return;
        }
        let mut ack_now = false;
        if self.ack_pending && self.rcv_nxt.dist(self.rcv_wup) as u32 > self.rcv_mss {
            ack_now = true;
        }
        if copied > 0 && !ack_now && self.shutdown & RCV_SHUTDOWN == 0 {
            let now_wnd = self.rcv_window_now();
            if 2 * now_wnd <= self.rcv_space() as u32 {
                let new = self.compute_window();
                if new > 0 && new >= 2 * now_wnd {
                    ack_now = true;
                }
            }
        }
        if ack_now {
            self.send_ack(cx);
        }
    }

    /// Linux `tcp_rcv_space_adjust` (dynamic right-sizing): once per receiver RTT, if
    /// the application drained more than last time, grow the receive buffer to twice
    /// that plus slack plus twice the growth (sender in slow start), up to `tcp_rmem[2]`.
    fn rcv_space_adjust(&mut self, cx: &mut Cx<'_>, copied: usize) {
        self.rcvq_copied += copied;
        let t = &cx.net.sysctl.tcp;
        if self.common.rcvbuf_locked || !t.tcp_moderate_rcvbuf {
            return;
        }
        // The receiver's RTT (`rcv_rtt_est`, from timestamps); without one, the
        // sender-side estimate of the handshake.
        let rtt = match self.rcv_rtt_us8 {
            0 => self.rtt.srtt,
            r => Some(u64::from(r >> 3) * 1000),
        };
        let Some(rtt) = rtt else { return };
        if cx.now.saturating_sub(self.rcvq_time) < rtt {
            return;
        }
        let copied = std::mem::take(&mut self.rcvq_copied);
        self.rcvq_time = cx.now;
        if copied <= self.rcvq_space {
            return;
        }
        let space = self.rcvq_space.max(1);
        self.rcvq_space = copied;
        let mut rcvwin = ((copied << 1) + 16 * self.advmss as usize) as u64;
        let grow = rcvwin * (copied - space) as u64 / space as u64;
        rcvwin = rcvwin.saturating_add(grow << 1);
        let rcvbuf = rcvwin.saturating_mul(2).min(u64::from(t.tcp_rmem[2])) as u32;
        if rcvbuf > self.rcvbuf {
            self.rcvbuf = rcvbuf;
        }
    }

    /// Linux `tcp_poll`.
    pub fn poll_mask(&self) -> u16 {
        if self.state == State::Listen {
            let ready = self.listen.as_ref().is_some_and(|q| !q.accept.is_empty());
            return if ready { POLLIN | POLLRDNORM } else { 0 };
        }
        let mut mask = 0;
        if self.shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || self.state == State::Closed {
            mask |= POLLHUP;
        }
        if self.shutdown & RCV_SHUTDOWN != 0 {
            mask |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        if self.state != State::SynSent && (self.state != State::SynRecv || self.parent.is_some()) {
            let lowat = self.common.rcvlowat.max(1) as usize;
            if self.rcvq.len() >= lowat {
                mask |= POLLIN | POLLRDNORM;
            }
            if self.shutdown & SEND_SHUTDOWN != 0 || self.is_writeable() {
                mask |= POLLOUT | POLLWRNORM;
            } else {
                self.nospace.set(true);
            }
        }
        if self.common.error.is_some() {
            mask |= POLLERR;
        }
        mask
    }
}

impl TcpTable {
    fn sock_ok(&self, id: u32) -> SysResult<&TcpSock> {
        self.sock(id).ok_or(Errno::EBADF)
    }

    /// Runs a socket call that needs the context (EBADF if `id` is gone).
    fn call<R>(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        f: impl FnOnce(&mut TcpSock, &mut Cx<'_>) -> SysResult<R>,
    ) -> SysResult<R> {
        self.with_sock(now, net, id, |s, cx| {
            let r = f(s, cx);
            // EAGAIN (nothing to read, no room to write) leaves the mask as it was.
            if r.as_ref().err() != Some(&Errno::EAGAIN) {
                cx.net.wake(s.sock_ref());
            }
            r
        })
        .unwrap_or(Err(Errno::EBADF))
    }

    fn do_connect(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        addr: SocketAddr,
    ) -> SysResult<()> {
        let s = self.sock_ok(id)?;
        let (addr, oif) = match addr {
            SocketAddr::V6(sa) if s.inet6.v6 => {
                // `tcp_v6_connect`: no multicast peers.
                if sa.ip().is_multicast() {
                    return Err(Errno::ENETUNREACH);
                }
                let (ip, oif) = dest6(&s.inet6, s.local.ip(), s.common.bound_dev, &sa)?;
                (SocketAddr::new(ip, sa.port()), oif)
            }
            SocketAddr::V4(_) if !s.inet6.v6 => (addr, s.common.bound_dev),
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        if s.connecting {
            return match s.state {
                State::SynSent | State::SynRecv => Err(Errno::EALREADY),
                State::Closed => {
                    let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
                    sm.connecting = false;
                    Err(sm.take_error().unwrap_or(Errno::ECONNABORTED))
                }
                _ => {
                    let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
                    sm.connecting = false;
                    sm.connected = true;
                    Ok(())
                }
            };
        }
        if s.connected || s.state != State::Closed {
            return Err(Errno::EISCONN);
        }
        let rt = {
            let cx = self.cx(now, net);
            route(&cx, addr.ip(), oif)?
        };
        let s = self.sock_ok(id)?;
        let src = if s.local.ip().is_unspecified() { rt.src } else { s.local.ip() };
        if src.is_ipv4() != addr.is_ipv4() {
            return Err(Errno::ENETUNREACH);
        }
        let port = if s.bound {
            s.local.port()
        } else {
            let mut probe = SocketAddr::new(src, 0);
            std::mem::swap(&mut probe, &mut self.sock_mut(id).ok_or(Errno::EBADF)?.local);
            let s = self.sock_ok(id)?;
            let r = self.pick_port(net, s, true);
            self.sock_mut(id).ok_or(Errno::EBADF)?.local = probe;
            r?
        };
        let local = SocketAddr::new(src, port);
        if self.conns.contains_key(&(local, addr)) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if !self.sock_ok(id)?.bound {
            self.hold_port(id, port);
            self.sock_mut(id).ok_or(Errno::EBADF)?.bound = true;
        }
        self.conns.insert((local, addr), id);
        self.last_conn = None;
        self.stats.mib.active_opens += 1;
        self.call(now, net, id, |s, cx| {
            s.local = local;
            s.remote = addr;
            // A link-local peer ties the socket to its interface (`tcp_v6_connect`).
            if s.common.bound_dev.is_none() && oif.is_some() && addr.is_ipv6() {
                s.common.bound_dev = oif;
            }
            s.init_path(rt.mtu);
            s.init_rcv_window(cx.net);
            s.iss = new_isn(cx.net, now);
            s.snd_una = s.iss;
            s.snd_nxt = s.iss;
            s.ts_offset = cx.net.rng.next_u32();
            s.connecting = true;
            s.shutdown = 0;
            s.done = false;
            s.set_state(cx, State::SynSent);
            s.send_syn(cx);
            Err(Errno::EINPROGRESS)
        })
    }

    fn do_listen(&mut self, net: &mut Net, id: u32, backlog: i32) -> SysResult<()> {
        let s = self.sock_ok(id)?;
        if s.connecting || s.connected || !matches!(s.state, State::Closed | State::Listen) {
            return Err(Errno::EINVAL);
        }
        let somaxconn = net.sysctl.core.somaxconn;
        let backlog = if backlog < 0 { somaxconn } else { (backlog as u32).min(somaxconn) };
        if s.state == State::Listen {
            if let Some(q) = self.sock_mut(id).and_then(|s| s.listen.as_mut()) {
                q.backlog = backlog;
            }
            return Ok(());
        }
        if s.bound {
            if self.bind_conflict(s, s.local.ip(), s.local.port(), true) {
                return Err(Errno::EADDRINUSE);
            }
        } else {
            let port = self.pick_port(net, s, false)?;
            self.hold_port(id, port);
            let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
            sm.local.set_port(port);
            sm.bound = true;
        }
        let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
        sm.state = State::Listen;
        sm.listen = Some(super::listen::Listen { backlog, ..Default::default() });
        Ok(())
    }

    fn do_close(&mut self, now: Nanos, net: &mut Net, id: u32) {
        if self.sock(id).is_some_and(|s| s.state == State::Listen) {
            self.listen_stop(now, net, id);
        }
        self.with_sock(now, net, id, |s, cx| {
            s.user_closed = true;
            s.orphan = true;
            s.connecting = false;
            let unread = s.rcvq.len();
            match s.state {
                State::Closed | State::Listen | State::SynSent => s.set_state(cx, State::Closed),
                // TIME-WAIT runs out its 2MSL on its own.
                State::TimeWait => {}
                _ if unread > 0 => {
                    // Linux `tcp_close`: unread data means RST, not FIN (RFC 2525 §2.17).
                    cx.stats.mib.abort_on_close += 1;
                    s.abort(cx, None, true);
                }
                _ if s.common.linger == Some(0) => {
                    cx.stats.mib.abort_on_linger += 1;
                    s.abort(cx, None, s.state != State::TimeWait);
                }
                _ => {
                    if s.close_state(cx) {
                        s.send_fin(cx);
                    }
                    s.shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
                    if s.state == State::FinWait2 {
                        match s.linger2 {
                            Some(l) if l < 0 => s.abort(cx, None, true),
                            _ => {
                                let tmo = s.fin_timeout(cx);
                                s.time_wait(cx, State::FinWait2, tmo);
                            }
                        }
                    }
                }
            }
        });
    }

    fn do_shutdown(&mut self, now: Nanos, net: &mut Net, id: u32, how: i32) -> SysResult<()> {
        let mask = (how + 1) as u8 & (RCV_SHUTDOWN | SEND_SHUTDOWN);
        let state = self.sock_ok(id)?.state;
        if state == State::Listen {
            if mask & RCV_SHUTDOWN != 0 {
                self.listen_stop(now, net, id);
                self.call(now, net, id, |s, cx| {
                    s.set_state(cx, State::Closed);
                    Ok(())
                })?;
            }
            return Ok(());
        }
        self.call(now, net, id, |s, cx| {
            if s.connecting && matches!(s.state, State::SynSent | State::SynRecv | State::Closed) {
                s.connecting = false;
            }
            match s.state {
                State::Closed => {
                    s.shutdown |= mask;
                    Err(Errno::ENOTCONN)
                }
                State::SynSent => {
                    // Linux `tcp_disconnect` from SYN-SENT.
                    s.common.error = Some(Errno::ECONNRESET);
                    s.abort(cx, None, false);
                    Ok(())
                }
                _ => {
                    s.shutdown |= mask;
                    if mask & SEND_SHUTDOWN != 0
                        && matches!(s.state, State::Established | State::SynRecv | State::CloseWait)
                        && s.close_state(cx)
                    {
                        s.send_fin(cx);
                    }
                    Ok(())
                }
            }
        })
    }

    fn do_send(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        flags: i32,
    ) -> SysResult<usize> {
        self.call(now, net, id, |s, cx| {
            if !matches!(s.state, State::Established | State::CloseWait) {
                // Linux `sk_stream_wait_connect`.
                if let Some(e) = s.take_error() {
                    return Err(e);
                }
                if !matches!(s.state, State::SynSent | State::SynRecv) {
                    return Err(Errno::EPIPE);
                }
                return Err(Errno::EAGAIN);
            }
            if s.common.error.is_some() || s.shutdown & SEND_SHUTDOWN != 0 {
                return Err(s.take_error().unwrap_or(Errno::EPIPE));
            }
            if data.is_empty() {
                return Ok(0);
            }
            let n = s.queue_send(data)?;
            let cork = s.cork;
            if flags & MSG_MORE != 0 {
                s.cork = true;
            }
            s.write_xmit(cx);
            s.cork = cork;
            Ok(n)
        })
    }

    fn do_recv(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<usize> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        self.call(now, net, id, |s, cx| {
            if s.state == State::Listen {
                return Err(Errno::ENOTCONN);
            }
            if !s.rcvq.is_empty() {
                let n = buf.len().min(s.rcvq.len());
                let (x, y) = s.rcvq.as_slices();
                let nx = n.min(x.len());
                buf[..nx].copy_from_slice(&x[..nx]);
                buf[nx..n].copy_from_slice(&y[..n - nx]);
                if flags & MSG_PEEK == 0 {
                    s.rcvq.drain(..n);
                    s.rcv_space_adjust(cx, n);
                    s.cleanup_rbuf(cx, n);
                }
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            if s.done {
                return Ok(0);
            }
            if let Some(e) = s.take_error() {
                return Err(e);
            }
            if s.shutdown & RCV_SHUTDOWN != 0 {
                return Ok(0);
            }
            if s.state == State::Closed {
                return Err(Errno::ENOTCONN);
            }
            Err(Errno::EAGAIN)
        })
    }

    /// Takes `addr`'s port (or an ephemeral one) for a bind (`inet_csk_get_port`).
    fn bind_port(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let s = self.sock_ok(id)?;
        let port = if addr.port() == 0 {
            let mut probe = addr;
            std::mem::swap(&mut probe, &mut self.sock_mut(id).ok_or(Errno::EBADF)?.local);
            let r = self.pick_port(net, self.sock_ok(id)?, false);
            self.sock_mut(id).ok_or(Errno::EBADF)?.local = probe;
            r?
        } else {
            if self.bind_conflict(s, addr.ip(), addr.port(), false) {
                return Err(Errno::EADDRINUSE);
            }
            addr.port()
        };
        self.hold_port(id, port);
        let s = self.sock_mut(id).ok_or(Errno::EBADF)?;
        s.local = SocketAddr::new(addr.ip(), port);
        s.bound = true;
        s.user_bound = true;
        Ok(())
    }
}

impl ProtoOps for TcpTable {
    fn open(&mut self, net: &mut Net, domain: i32, _protocol: i32) -> SysResult<u32> {
        let name = net.sysctl.tcp.tcp_congestion_control;
        let cc =
            super::cong::lookup(name).map_or_else(super::cong::reno::Reno::boxed, |c| (c.new)());
        let id = self.alloc_id();
        let mut s = Box::new(TcpSock::new(net, id, cc));
        if domain == AF_INET6 {
            s.inet6 = Inet6Opts::new(net, true);
            s.local = UNSPEC6;
        }
        self.install(s);
        Ok(id)
    }

    fn bind(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let s = self.sock_ok(id)?;
        let b = match addr {
            SocketAddr::V4(a) if !s.inet6.v6 => {
                check_bind_addr(net, &s.inet, *a.ip())?;
                Bind6 { addr: addr.ip(), dev: s.common.bound_dev, v6only: false }
            }
            SocketAddr::V6(a) if s.inet6.v6 => {
                bind6(net, &s.inet6, &s.inet, s.common.bound_dev, &a)?
            }
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        if s.bound || s.state != State::Closed {
            return Err(Errno::EINVAL);
        }
        // The forced IPV6_V6ONLY of a specific address counts in the conflict check.
        let saved = (s.inet6.v6only, s.common.bound_dev);
        let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
        sm.inet6.v6only = b.v6only;
        sm.common.bound_dev = b.dev;
        let addr = SocketAddr::new(b.addr, addr.port());
        let r = self.bind_port(net, id, addr);
        if r.is_err() {
            let sm = self.sock_mut(id).ok_or(Errno::EBADF)?;
            (sm.inet6.v6only, sm.common.bound_dev) = saved;
        }
        r
    }

    fn connect(&mut self, now: Nanos, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        self.do_connect(now, net, id, addr)
    }

    fn listen(&mut self, net: &mut Net, id: u32, backlog: i32) -> SysResult<()> {
        self.do_listen(net, id, backlog)
    }

    fn accept(&mut self, _now: Nanos, _net: &mut Net, id: u32) -> SysResult<(u32, SocketAddr)> {
        if self.sock_ok(id)?.state != State::Listen {
            return Err(Errno::EINVAL);
        }
        let (cid, peer) = self.accept_child(id)?;
        let peer = self.sock(cid).map_or(peer, |c| c.user_addr(peer));
        Ok((cid, peer))
    }

    fn sendto(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        flags: i32,
        _to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        self.do_send(now, net, id, data, flags)
    }

    fn recvfrom(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        self.do_recv(now, net, id, buf, flags).map(|n| (n, None))
    }

    fn shutdown(&mut self, now: Nanos, net: &mut Net, id: u32, how: i32) -> SysResult<()> {
        self.do_shutdown(now, net, id, how)
    }

    fn close(&mut self, now: Nanos, net: &mut Net, id: u32) {
        self.do_close(now, net, id)
    }

    fn setsockopt(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()> {
        self.call(now, net, id, |s, cx| s.setsockopt(cx, level, name, val))
    }

    fn getsockopt(
        &mut self,
        net: &Net,
        id: u32,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        let s =
            self.socks.get_mut(id as usize).and_then(|s| s.as_deref_mut()).ok_or(Errno::EBADF)?;
        s.getsockopt(net, level, name, out)
    }

    fn local_addr(&self, id: u32) -> SysResult<SocketAddr> {
        let s = self.sock_ok(id)?;
        Ok(s.user_addr(s.local))
    }

    fn peer_addr(&self, id: u32) -> SysResult<SocketAddr> {
        let s = self.sock_ok(id)?;
        if s.remote == UNSPEC || matches!(s.state, State::Closed | State::SynSent | State::Listen) {
            return Err(Errno::ENOTCONN);
        }
        Ok(s.user_addr(s.remote))
    }

    fn poll(&self, id: u32) -> u16 {
        self.sock(id).map_or(POLLNVAL, |s| s.poll_mask())
    }

    fn queued(&self, id: u32) -> (usize, usize) {
        self.sock(id).map_or((0, 0), |s| (s.rcvq.len(), s.outq()))
    }

    fn next_deadline(&self) -> Option<Nanos> {
        TcpTable::next_deadline(self)
    }

    fn advance(&mut self, now: Nanos, net: &mut Net) {
        TcpTable::advance(self, now, net)
    }
}
