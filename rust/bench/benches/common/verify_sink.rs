//! A TCP sink for the benchmarks: accepts connections and reads everything, checking
//! each byte against the pattern stream (a memcmp per chunk). The simulator's `Sink`
//! also hashes every byte (FNV-1a, a byte-serial multiply chain), which would dominate
//! a per-packet cost comparison; this one does exactly what the smoltcp side does.
//! Like the smoltcp side, which reads while `can_recv()`, it does not make a last
//! `recv` only to be told EAGAIN: a read shorter than the buffer drained the queue
//! (nginx's `ngx_unix_recv` does the same), unless the peer hung up or the socket
//! failed, when it reads on to the end of file or the error.

use libos_kernel::Errno;
use libos_kernel::uapi::*;
use libos_sim::apps::{App, AppCx, FlowReport, pattern};
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub struct VerifySink {
    pub bind: SocketAddr,
    listen_fd: Option<i32>,
    /// fd -> bytes received on it.
    conns: BTreeMap<i32, u64>,
    pub bytes: u64,
    pub bad: u64,
    pub eofs: u64,
    first_at: Option<u64>,
    last_at: u64,
    buf: Vec<u8>,
}

impl VerifySink {
    pub fn new(bind: SocketAddr) -> VerifySink {
        VerifySink {
            bind,
            listen_fd: None,
            conns: BTreeMap::new(),
            bytes: 0,
            bad: 0,
            eofs: 0,
            first_at: None,
            last_at: 0,
            buf: vec![0; 65_536],
        }
    }

    fn accept_all(&mut self, cx: &mut AppCx<'_>, lfd: i32) {
        let now = cx.now;
        while let Ok((fd, _)) = cx.k().accept(now, lfd, SOCK_NONBLOCK) {
            cx.own(fd);
            self.conns.insert(fd, 0);
            self.read(cx, fd, u16::MAX);
        }
    }

    fn read(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        let drained_if_short = revents & (POLLRDHUP | POLLHUP | POLLERR) == 0;
        let now = cx.now;
        loop {
            let Some(&off) = self.conns.get(&fd) else { return };
            match cx.k().recv(now, fd, &mut self.buf, 0) {
                Ok(0) => {
                    self.eofs += 1;
                    self.conns.remove(&fd);
                    cx.close(fd);
                    return;
                }
                Ok(n) => {
                    self.bad += pattern::mismatches(off, &self.buf[..n]);
                    self.conns.insert(fd, off + n as u64);
                    self.bytes += n as u64;
                    self.first_at.get_or_insert(now);
                    self.last_at = now;
                    if drained_if_short && n < self.buf.len() {
                        return;
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.conns.remove(&fd);
                    cx.close(fd);
                    return;
                }
            }
        }
    }
}

impl App for VerifySink {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let now = cx.now;
        let Ok(fd) = cx.k().socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) else { return };
        let _ = cx.k().setsockopt_int(now, fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if cx.k().bind(fd, self.bind).is_err() || cx.k().listen(fd, 128).is_err() {
            return;
        }
        cx.own(fd);
        self.listen_fd = Some(fd);
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) == self.listen_fd {
            self.accept_all(cx, fd);
        } else {
            self.read(cx, fd, revents);
        }
    }

    fn report(&self) -> FlowReport {
        FlowReport {
            name: "verify-sink".into(),
            kind: "sink",
            bytes: self.bytes,
            active_ns: self.last_at.saturating_sub(self.first_at.unwrap_or(self.last_at)),
            errors: self.bad,
            note: format!("{} closed", self.eofs),
            ..FlowReport::default()
        }
    }
}
