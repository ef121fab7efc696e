//! Packet sink: accepts TCP connections (or binds a UDP port) and reads everything.
//! TCP streams are verified byte for byte against the sender's pattern and hashed.

use super::{App, AppCx, FlowReport, Sample, pattern};
use libos_kernel::Errno;
use libos_kernel::uapi::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// What one accepted connection delivered.
#[derive(Debug, Clone, Default)]
pub struct ConnStats {
    pub bytes: u64,
    pub mismatched: u64,
    pub hash: pattern::StreamHash,
    pub eof: bool,
    /// The hash at EOF equals the hash of the intact pattern stream.
    pub hash_ok: Option<bool>,
}

pub struct Sink {
    pub name: String,
    pub proto: Proto,
    pub bind: SocketAddr,
    listen_fd: Option<i32>,
    conns: BTreeMap<i32, ConnStats>,
    closed: Vec<ConnStats>,
    datagrams: u64,
    udp_bytes: u64,
    /// Highest UDP sequence number seen + 1 (on-off datagrams carry one).
    udp_seq_end: u64,
    first_at: Option<u64>,
    last_at: u64,
    error: Option<String>,
    buf: Vec<u8>,
}

impl Sink {
    pub fn new(name: &str, proto: Proto, bind: SocketAddr) -> Sink {
        Sink {
            name: name.to_string(),
            proto,
            bind,
            listen_fd: None,
            conns: BTreeMap::new(),
            closed: Vec::new(),
            datagrams: 0,
            udp_bytes: 0,
            udp_seq_end: 0,
            first_at: None,
            last_at: 0,
            error: None,
            buf: vec![0; 65_536],
        }
    }

    /// Every connection so far (closed ones first).
    pub fn connections(&self) -> Vec<ConnStats> {
        self.closed.iter().chain(self.conns.values()).cloned().collect()
    }

    fn total_bytes(&self) -> u64 {
        self.connections().iter().map(|c| c.bytes).sum::<u64>() + self.udp_bytes
    }

    fn accept_all(&mut self, cx: &mut AppCx<'_>, lfd: i32) {
        let now = cx.now;
        loop {
            match cx.k().accept(now, lfd, SOCK_NONBLOCK) {
                Ok((fd, _peer)) => {
                    cx.own(fd);
                    self.conns.insert(fd, ConnStats::default());
                    // Data may already be queued: read it now.
                    self.read_conn(cx, fd);
                }
                Err(Errno::EAGAIN) => break,
                Err(e) => {
                    self.error = Some(format!("accept: {}", e.name()));
                    break;
                }
            }
        }
    }

    fn read_conn(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        loop {
            let r = cx.k().recv(now, fd, &mut self.buf, 0);
            let Some(c) = self.conns.get_mut(&fd) else { return };
            match r {
                Ok(0) => {
                    c.eof = true;
                    c.hash_ok = Some(c.hash.finish() == pattern::stream_hash(c.bytes));
                    let c = self.conns.remove(&fd).expect("present");
                    self.closed.push(c);
                    cx.close(fd);
                    return;
                }
                Ok(n) => {
                    let data = &self.buf[..n];
                    c.mismatched += pattern::mismatches(c.bytes, data);
                    c.hash.update(data);
                    c.bytes += n as u64;
                    self.first_at.get_or_insert(now);
                    self.last_at = now;
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => {
                    // A reset: keep what arrived, note the error.
                    self.error = Some(format!("recv: {}", e.name()));
                    let c = self.conns.remove(&fd).expect("present");
                    self.closed.push(c);
                    cx.close(fd);
                    return;
                }
            }
        }
    }

    fn read_udp(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        loop {
            match cx.k().recvfrom(now, fd, &mut self.buf, 0) {
                Ok((n, _)) => {
                    self.datagrams += 1;
                    self.udp_bytes += n as u64;
                    if n >= 8 {
                        let seq = u64::from_be_bytes(self.buf[..8].try_into().expect("8 bytes"));
                        self.udp_seq_end = self.udp_seq_end.max(seq.saturating_add(1));
                    }
                    self.first_at.get_or_insert(now);
                    self.last_at = now;
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => {
                    self.error = Some(format!("recvfrom: {}", e.name()));
                    return;
                }
            }
        }
    }
}

impl App for Sink {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let ty = match self.proto {
            Proto::Tcp => SOCK_STREAM,
            Proto::Udp => SOCK_DGRAM,
        };
        let r = (|| {
            let k = cx.k();
            let fd = k
                .socket(super::family(&self.bind), ty | SOCK_NONBLOCK, 0)
                .map_err(|e| ("socket", e))?;
            let _ = k.setsockopt_int(0, fd, SOL_SOCKET, SO_REUSEADDR, 1);
            k.bind(fd, self.bind).map_err(|e| ("bind", e))?;
            if self.proto == Proto::Tcp {
                k.listen(fd, 128).map_err(|e| ("listen", e))?;
            }
            Ok::<i32, (&str, Errno)>(fd)
        })();
        match r {
            Ok(fd) => {
                cx.own(fd);
                self.listen_fd = Some(fd);
            }
            Err((what, e)) => self.error = Some(format!("{what}: {}", e.name())),
        }
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) == self.listen_fd {
            if revents & POLLIN != 0 {
                match self.proto {
                    Proto::Tcp => self.accept_all(cx, fd),
                    Proto::Udp => self.read_udp(cx, fd),
                }
            }
        } else if self.conns.contains_key(&fd)
            && revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP) != 0
        {
            self.read_conn(cx, fd);
        }
    }

    fn sample(&mut self, _cx: &mut AppCx<'_>) -> Option<Sample> {
        Some(Sample { bytes: self.total_bytes(), ..Default::default() })
    }

    fn report(&self) -> FlowReport {
        let conns = self.connections();
        let bad: u64 = conns.iter().map(|c| c.mismatched).sum();
        let hash_bad = conns.iter().filter(|c| c.hash_ok == Some(false)).count() as u64;
        let mut note = match self.proto {
            Proto::Tcp => {
                let eof = conns.iter().filter(|c| c.eof).count();
                format!("{} conns ({eof} closed), {bad} bad bytes", conns.len())
            }
            Proto::Udp => {
                let lost = self.udp_seq_end.saturating_sub(self.datagrams);
                format!("{} datagrams, ~{lost} missing by seq", self.datagrams)
            }
        };
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
        FlowReport {
            name: self.name.clone(),
            kind: "sink",
            bytes: self.total_bytes(),
            active_ns: self.last_at.saturating_sub(self.first_at.unwrap_or(self.last_at)),
            retrans: None,
            rtt_us: None,
            errors: bad + hash_bad,
            note,
        }
    }
}
