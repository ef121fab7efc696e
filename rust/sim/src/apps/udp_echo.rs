//! UDP echo server (RFC 862) and client: the client sends a datagram every interval
//! carrying its sequence number and send time, and measures the RTT of each echo.

use super::probes::{Prober, Probes};
use super::{App, AppCx, FlowReport, pattern};
use libos_kernel::Errno;
use libos_kernel::uapi::*;
use std::collections::BTreeSet;
use std::net::SocketAddr;

pub struct UdpEchoServer {
    pub name: String,
    pub bind: SocketAddr,
    fd: Option<i32>,
    echoed: u64,
    bytes: u64,
    error: Option<String>,
    buf: Vec<u8>,
}

impl UdpEchoServer {
    pub fn new(name: &str, bind: SocketAddr) -> UdpEchoServer {
        UdpEchoServer {
            name: name.to_string(),
            bind,
            fd: None,
            echoed: 0,
            bytes: 0,
            error: None,
            buf: vec![0; 65_536],
        }
    }
}

impl App for UdpEchoServer {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let k = cx.k();
        let fd = match k.socket(super::family(&self.bind), SOCK_DGRAM | SOCK_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) => return self.error = Some(format!("socket: {}", e.name())),
        };
        if let Err(e) = k.bind(fd, self.bind) {
            self.error = Some(format!("bind: {}", e.name()));
        }
        cx.own(fd);
        self.fd = Some(fd);
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) != self.fd || revents & POLLIN == 0 {
            return;
        }
        let now = cx.now;
        loop {
            match cx.k().recvfrom(now, fd, &mut self.buf, 0) {
                Ok((n, Some(from))) => {
                    if cx.k().sendto(now, fd, &self.buf[..n], 0, Some(from)).is_ok() {
                        self.echoed += 1;
                        self.bytes += n as u64;
                    }
                }
                Ok((_, None)) => {}
                Err(Errno::EAGAIN) => return,
                Err(e) => return self.error = Some(format!("recvfrom: {}", e.name())),
            }
        }
    }

    fn report(&self) -> FlowReport {
        let mut note = format!("{} echoed", self.echoed);
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
        FlowReport {
            name: self.name.clone(),
            kind: "udp-echo-server",
            bytes: self.bytes,
            errors: u64::from(self.error.is_some()),
            note,
            ..Default::default()
        }
    }
}

pub struct UdpEchoClient {
    pub name: String,
    pub dst: SocketAddr,
    pub size: usize,
    probes: Probes,
    pending: BTreeSet<u64>,
}

impl UdpEchoClient {
    pub fn new(
        name: &str,
        dst: SocketAddr,
        interval: u64,
        count: Option<u64>,
        size: usize,
    ) -> Self {
        UdpEchoClient {
            name: name.to_string(),
            dst,
            size: size.max(16),
            probes: Probes::new(interval, count),
            pending: BTreeSet::new(),
        }
    }
}

impl Prober for UdpEchoClient {
    fn probes(&mut self) -> &mut Probes {
        &mut self.probes
    }

    fn send_one(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        let mut m = Vec::with_capacity(self.size);
        m.extend_from_slice(&self.probes.seq.to_be_bytes());
        m.extend_from_slice(&now.to_be_bytes());
        m.extend_from_slice(pattern::slice(0, self.size - 16));
        match cx.k().sendto(now, fd, &m, 0, Some(self.dst)) {
            Ok(_) | Err(Errno::EAGAIN | Errno::EHOSTUNREACH | Errno::ENETUNREACH) => {}
            Err(e) => self.probes.error = Some(format!("sendto: {}", e.name())),
        }
        self.pending.insert(self.probes.seq);
        self.probes.seq += 1;
    }
}

impl App for UdpEchoClient {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let domain = super::family(&self.dst);
        self.start_probing(cx, domain, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    }

    fn timer(&mut self, cx: &mut AppCx<'_>) {
        self.probe_timer(cx);
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) != self.probes.fd || revents & POLLIN == 0 {
            return;
        }
        let now = cx.now;
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = cx.k().recvfrom(now, fd, &mut buf, 0) {
            if n < 16 {
                continue;
            }
            let seq = u64::from_be_bytes(buf[0..8].try_into().expect("8 bytes"));
            let sent = u64::from_be_bytes(buf[8..16].try_into().expect("8 bytes"));
            if self.pending.remove(&seq) {
                self.probes.reply(seq, sent, now);
            }
        }
    }

    fn stop(&mut self, cx: &mut AppCx<'_>) {
        self.probes.close(cx);
    }

    fn events_csv(&self) -> Option<String> {
        Some(self.probes.csv())
    }

    fn report(&self) -> FlowReport {
        let p = &self.probes;
        let mut note = format!("{} sent, {} echoed", p.seq, p.received);
        p.note_error(&mut note);
        FlowReport {
            name: self.name.clone(),
            kind: "udp-echo",
            bytes: p.received * self.size as u64,
            rtt_us: p.rtt.summary(),
            errors: u64::from(p.error.is_some()),
            note,
            ..Default::default()
        }
    }
}
