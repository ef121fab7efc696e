//! Bulk TCP sender (iperf-like): connects, writes the pattern stream as fast as the
//! socket takes it (N bytes, or until the stop time), then shuts down its write side
//! and waits for the sink to close.

use super::{App, AppCx, FlowReport, RttStats, Sample, close_tcp, pattern};
use libos_kernel::Errno;
use libos_kernel::tcp::TcpInfo;
use libos_kernel::uapi::*;
use std::net::SocketAddr;

pub struct BulkSend {
    pub name: String,
    pub dst: SocketAddr,
    /// Bytes to send; None = until stopped.
    pub total: Option<u64>,
    /// TCP_CONGESTION to set, if any.
    pub cc: Option<String>,
    fd: Option<i32>,
    sent: u64,
    shut: bool,
    started_at: u64,
    connected_at: Option<u64>,
    done_at: Option<u64>,
    info: Option<(u64, TcpInfo)>,
    rtt: RttStats,
    error: Option<String>,
}

impl BulkSend {
    pub fn new(name: &str, dst: SocketAddr, total: Option<u64>, cc: Option<String>) -> BulkSend {
        BulkSend {
            name: name.to_string(),
            dst,
            total,
            cc,
            fd: None,
            sent: 0,
            shut: false,
            started_at: 0,
            connected_at: None,
            done_at: None,
            info: None,
            rtt: RttStats::default(),
            error: None,
        }
    }

    fn fail(&mut self, cx: &mut AppCx<'_>, what: &str, e: Errno) {
        if self.error.is_none() {
            self.error = Some(format!("{what}: {}", e.name()));
        }
        self.finish(cx);
    }

    /// Takes a last TCP_INFO and closes the socket.
    fn finish(&mut self, cx: &mut AppCx<'_>) {
        if let Some(i) = close_tcp(cx, &mut self.fd) {
            self.info = Some((cx.now, i));
        }
    }

    /// Writes 64 KiB at a time while the socket polls writable, as a poll-driven
    /// sender does (iperf3, the fidelity harness's tcp-probe): it stops once less than
    /// a third of the send buffer is free (Linux `sk_stream_is_writeable`), not when
    /// the buffer is full, and is woken when it is writable again.
    fn fill(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        loop {
            let left = self.total.map_or(u64::MAX, |t| t - self.sent);
            if left == 0 || cx.k().poll(fd).is_ok_and(|m| m & POLLOUT == 0) {
                break;
            }
            let chunk = pattern::slice(self.sent, left.min(65_536) as usize);
            match cx.k().send(now, fd, chunk, MSG_NOSIGNAL) {
                Ok(0) => break,
                Ok(n) => self.sent += n as u64,
                Err(Errno::EAGAIN) => break,
                Err(e) => return self.fail(cx, "send", e),
            }
        }
        if self.total == Some(self.sent) && !self.shut {
            self.shut = true;
            if let Err(e) = cx.k().shutdown(now, fd, SHUT_WR) {
                self.fail(cx, "shutdown", e);
            }
        }
    }
}

impl App for BulkSend {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let now = cx.now;
        self.started_at = now;
        let fd = match cx.k().socket(super::family(&self.dst), SOCK_STREAM | SOCK_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) => return self.fail(cx, "socket", e),
        };
        cx.own(fd);
        self.fd = Some(fd);
        if let Some(cc) = &self.cc {
            let cc = cc.clone();
            if let Err(e) = cx.k().setsockopt(now, fd, SOL_TCP, TCP_CONGESTION, cc.as_bytes()) {
                return self.fail(cx, "setsockopt(TCP_CONGESTION)", e);
            }
        }
        match cx.k().connect(now, fd, self.dst) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => self.fail(cx, "connect", e),
        }
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) != self.fd {
            return;
        }
        let now = cx.now;
        if revents & POLLERR != 0 {
            let err = cx.k().getsockopt_int(fd, SOL_SOCKET, SO_ERROR).unwrap_or(0);
            return self.fail(cx, "connection", Errno(err));
        }
        if revents & POLLOUT != 0 {
            self.connected_at.get_or_insert(now);
            self.fill(cx, fd);
        }
        // Before the handshake ends a socket may report POLLHUP (Linux tcp_poll on a
        // closed socket); only a connected one can be finished by its peer.
        if self.fd.is_some()
            && self.connected_at.is_some()
            && revents & (POLLIN | POLLHUP | POLLRDHUP) != 0
        {
            // The sink sends nothing: readable means its FIN (or a reset).
            let mut buf = [0u8; 512];
            loop {
                match cx.k().recv(now, fd, &mut buf, 0) {
                    Ok(0) => {
                        self.done_at = Some(now);
                        return self.finish(cx);
                    }
                    Ok(_) => continue,
                    Err(Errno::EAGAIN) => break,
                    Err(e) => return self.fail(cx, "recv", e),
                }
            }
            if revents & POLLHUP != 0 {
                self.done_at = Some(now);
                self.finish(cx);
            }
        }
    }

    fn stop(&mut self, cx: &mut AppCx<'_>) {
        self.finish(cx);
    }

    fn sample(&mut self, cx: &mut AppCx<'_>) -> Option<Sample> {
        let fd = self.fd?;
        let i = cx.k().tcp_info(fd).ok()?;
        self.info = Some((cx.now, i));
        Some(Sample::of_tcp(&i, &mut self.rtt))
    }

    fn report(&self) -> FlowReport {
        let (at, info) = self.info.unwrap_or_default();
        let start = self.connected_at.unwrap_or(self.started_at);
        let end = self.done_at.unwrap_or(at);
        let bytes = if self.done_at.is_some() && self.total == Some(self.sent) {
            self.sent
        } else {
            info.bytes_acked
        };
        let rtt = self.rtt.summary().or_else(|| {
            (info.rtt > 0).then(|| (f64::from(info.rtt), f64::from(info.rtt), f64::from(info.rtt)))
        });
        let mut note = match (&self.error, self.done_at) {
            (Some(e), _) => e.clone(),
            (None, Some(t)) => format!("done at {}", crate::units::fmt_secs(t)),
            (None, None) => format!("sent {}", self.sent),
        };
        if self.total.is_some_and(|t| self.done_at.is_none() || self.sent < t)
            && self.error.is_none()
        {
            note.push_str(" (incomplete)");
        }
        FlowReport {
            name: self.name.clone(),
            kind: "bulk",
            bytes,
            active_ns: end.saturating_sub(start),
            retrans: Some(u64::from(info.total_retrans)),
            rtt_us: rtt,
            errors: u64::from(self.error.is_some()),
            note,
        }
    }
}
