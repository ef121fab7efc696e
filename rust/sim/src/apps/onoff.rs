//! On-off source (ns-3 OnOffApplication): during "on" periods sends `size`-byte
//! messages at a constant bit rate, then stays silent for the "off" period. Over UDP
//! every datagram starts with its sequence number; over TCP the bytes are the pattern.

use super::sink::Proto;
use super::{App, AppCx, FlowReport, RttStats, Sample, close_tcp, pattern};
use libos_kernel::Errno;
use libos_kernel::uapi::*;
use std::net::SocketAddr;

pub struct OnOff {
    pub name: String,
    pub proto: Proto,
    pub dst: SocketAddr,
    pub rate_bps: u64,
    pub size: usize,
    pub on: u64,
    pub off: u64,
    /// TCP_CONGESTION for the TCP variant.
    pub cc: Option<String>,
    fd: Option<i32>,
    connected: bool,
    on_until: u64,
    seq: u64,
    sent_bytes: u64,
    blocked: u64,
    first_at: Option<u64>,
    last_at: u64,
    retrans: u64,
    rtt: RttStats,
    error: Option<String>,
}

impl OnOff {
    pub fn new(name: &str, proto: Proto, dst: SocketAddr, rate_bps: u64, size: usize) -> OnOff {
        OnOff {
            name: name.to_string(),
            proto,
            dst,
            rate_bps: rate_bps.max(1),
            size: size.max(8),
            on: u64::MAX,
            off: 0,
            cc: None,
            fd: None,
            connected: false,
            on_until: 0,
            seq: 0,
            sent_bytes: 0,
            blocked: 0,
            first_at: None,
            last_at: 0,
            retrans: 0,
            rtt: RttStats::default(),
            error: None,
        }
    }

    fn gap(&self) -> u64 {
        (self.size as u128 * 8 * 1_000_000_000 / u128::from(self.rate_bps)).max(1) as u64
    }

    fn send_one(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        let r = match self.proto {
            Proto::Udp => {
                let mut m = Vec::with_capacity(self.size);
                m.extend_from_slice(&self.seq.to_be_bytes());
                m.extend_from_slice(pattern::slice(self.seq * 8, self.size - 8));
                cx.k().sendto(now, fd, &m, 0, Some(self.dst))
            }
            Proto::Tcp => {
                let chunk = pattern::slice(self.sent_bytes, self.size);
                cx.k().send(now, fd, chunk, MSG_NOSIGNAL)
            }
        };
        match r {
            Ok(n) => {
                self.seq += 1;
                self.sent_bytes += n as u64;
                self.first_at.get_or_insert(now);
                self.last_at = now;
            }
            Err(Errno::EAGAIN | Errno::ENOBUFS | Errno::EHOSTUNREACH | Errno::ENETUNREACH) => {
                self.blocked += 1
            }
            Err(e) => self.error = Some(format!("send: {}", e.name())),
        }
    }

    /// Runs the on/off clock: sends when on, sleeps to the next period otherwise.
    fn tick(&mut self, cx: &mut AppCx<'_>) {
        let Some(fd) = self.fd else { return };
        if self.proto == Proto::Tcp && !self.connected {
            return;
        }
        let now = cx.now;
        if now >= self.on_until && self.off > 0 {
            // Off period, then a new on period.
            self.on_until = (now + self.off).saturating_add(self.on);
            cx.set_timer(now + self.off);
            return;
        }
        self.send_one(cx, fd);
        cx.set_timer(now + self.gap());
    }
}

impl App for OnOff {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let now = cx.now;
        self.on_until = now.saturating_add(self.on);
        let ty = if self.proto == Proto::Tcp { SOCK_STREAM } else { SOCK_DGRAM };
        let fd = match cx.k().socket(super::family(&self.dst), ty | SOCK_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) => return self.error = Some(format!("socket: {}", e.name())),
        };
        cx.own(fd);
        self.fd = Some(fd);
        if self.proto == Proto::Tcp {
            if let Some(cc) = self.cc.clone() {
                let r = cx.k().setsockopt(now, fd, SOL_TCP, TCP_CONGESTION, cc.as_bytes());
                if let Err(e) = r {
                    self.error = Some(format!("setsockopt(TCP_CONGESTION): {}", e.name()));
                }
            }
            match cx.k().connect(now, fd, self.dst) {
                Ok(()) | Err(Errno::EINPROGRESS) => {}
                Err(e) => self.error = Some(format!("connect: {}", e.name())),
            }
        } else {
            self.tick(cx);
        }
    }

    fn timer(&mut self, cx: &mut AppCx<'_>) {
        self.tick(cx);
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) != self.fd {
            return;
        }
        if revents & POLLERR != 0 {
            let err = cx.k().getsockopt_int(fd, SOL_SOCKET, SO_ERROR).unwrap_or(0);
            self.error = Some(format!("connection: {}", Errno(err).name()));
            self.fd = None;
            return cx.close(fd);
        }
        if self.proto == Proto::Tcp && !self.connected && revents & POLLOUT != 0 {
            self.connected = true;
            self.on_until = cx.now.saturating_add(self.on);
            self.tick(cx);
        }
    }

    fn stop(&mut self, cx: &mut AppCx<'_>) {
        if let Some(i) = close_tcp(cx, &mut self.fd) {
            self.retrans = u64::from(i.total_retrans);
        }
    }

    fn sample(&mut self, cx: &mut AppCx<'_>) -> Option<Sample> {
        let fd = self.fd?;
        if self.proto == Proto::Udp {
            return Some(Sample { bytes: self.sent_bytes, ..Default::default() });
        }
        let i = cx.k().tcp_info(fd).ok()?;
        let s = Sample::of_tcp(&i, &mut self.rtt);
        self.retrans = s.retrans;
        Some(s)
    }

    fn report(&self) -> FlowReport {
        let mut note = format!("{} messages sent", self.seq);
        if self.blocked > 0 {
            note.push_str(&format!(", {} blocked", self.blocked));
        }
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
        FlowReport {
            name: self.name.clone(),
            kind: if self.proto == Proto::Tcp { "onoff-tcp" } else { "onoff-udp" },
            bytes: self.sent_bytes,
            active_ns: self.last_at.saturating_sub(self.first_at.unwrap_or(self.last_at)),
            retrans: (self.proto == Proto::Tcp).then_some(self.retrans),
            rtt_us: self.rtt.summary(),
            errors: u64::from(self.error.is_some()),
            note,
        }
    }
}
