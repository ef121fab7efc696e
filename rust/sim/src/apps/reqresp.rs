//! Request/response over TCP: the client sends a request of `req` bytes, the server
//! answers with `resp` bytes, repeated on one connection; the client records the
//! latency of each exchange (first request byte written to last response byte read).

use super::{App, AppCx, FlowReport, Measured, RttStats, close_tcp, measured_csv};
use crate::apps::pattern;
use libos_kernel::Errno;
use libos_kernel::uapi::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Writes pattern bytes until `left` is 0 or the socket is full; Err on a hard error.
fn write_some(cx: &mut AppCx<'_>, fd: i32, left: &mut u64, off: &mut u64) -> Result<(), Errno> {
    let now = cx.now;
    while *left > 0 {
        let chunk = pattern::slice(*off, (*left).min(65_536) as usize);
        match cx.k().send(now, fd, chunk, MSG_NOSIGNAL) {
            Ok(n) => {
                *left -= n as u64;
                *off += n as u64;
                if n == 0 {
                    break;
                }
            }
            Err(Errno::EAGAIN) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads everything available; Ok(bytes read, eof).
fn read_all(cx: &mut AppCx<'_>, fd: i32) -> Result<(u64, bool), Errno> {
    let now = cx.now;
    let mut buf = [0u8; 16_384];
    let mut got = 0;
    loop {
        match cx.k().recv(now, fd, &mut buf, 0) {
            Ok(0) => return Ok((got, true)),
            Ok(n) => got += n as u64,
            Err(Errno::EAGAIN) => return Ok((got, false)),
            Err(e) => return Err(e),
        }
    }
}

pub struct RrServer {
    pub name: String,
    pub bind: SocketAddr,
    pub req: u64,
    pub resp: u64,
    lfd: Option<i32>,
    /// fd -> (request bytes pending, response bytes left, response offset)
    conns: BTreeMap<i32, (u64, u64, u64)>,
    served: u64,
    error: Option<String>,
}

impl RrServer {
    pub fn new(name: &str, bind: SocketAddr, req: u64, resp: u64) -> RrServer {
        RrServer {
            name: name.to_string(),
            bind,
            req: req.max(1),
            resp,
            lfd: None,
            conns: BTreeMap::new(),
            served: 0,
            error: None,
        }
    }

    fn serve(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let Some(&(mut got, mut left, mut off)) = self.conns.get(&fd) else { return };
        let r = (|| {
            write_some(cx, fd, &mut left, &mut off)?;
            let (n, eof) = read_all(cx, fd)?;
            got += n;
            while got >= self.req {
                got -= self.req;
                left += self.resp;
                self.served += 1;
            }
            write_some(cx, fd, &mut left, &mut off)?;
            Ok::<bool, Errno>(eof)
        })();
        match r {
            Ok(false) => {
                self.conns.insert(fd, (got, left, off));
            }
            Ok(true) | Err(_) => {
                self.conns.remove(&fd);
                cx.close(fd);
            }
        }
    }
}

impl App for RrServer {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let k = cx.k();
        let r = (|| {
            let fd = k.socket(super::family(&self.bind), SOCK_STREAM | SOCK_NONBLOCK, 0)?;
            let _ = k.setsockopt_int(0, fd, SOL_SOCKET, SO_REUSEADDR, 1);
            k.bind(fd, self.bind)?;
            k.listen(fd, 128)?;
            Ok::<i32, Errno>(fd)
        })();
        match r {
            Ok(fd) => {
                cx.own(fd);
                self.lfd = Some(fd);
            }
            Err(e) => self.error = Some(format!("listen: {}", e.name())),
        }
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) == self.lfd {
            let now = cx.now;
            while let Ok((c, _)) = cx.k().accept(now, fd, SOCK_NONBLOCK) {
                cx.own(c);
                self.conns.insert(c, (0, 0, 0));
                self.serve(cx, c);
            }
        } else if revents != 0 {
            self.serve(cx, fd);
        }
    }

    fn report(&self) -> FlowReport {
        let mut note = format!("{} responses", self.served);
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
        FlowReport {
            name: self.name.clone(),
            kind: "rr-server",
            bytes: self.served * self.resp,
            errors: u64::from(self.error.is_some()),
            note,
            ..Default::default()
        }
    }
}

pub struct RrClient {
    pub name: String,
    pub dst: SocketAddr,
    pub req: u64,
    pub resp: u64,
    pub count: Option<u64>,
    /// Pause between a response and the next request.
    pub gap: u64,
    fd: Option<i32>,
    connected: bool,
    req_left: u64,
    req_off: u64,
    resp_got: u64,
    started_at: u64,
    done: u64,
    lat: RttStats,
    /// Every exchange: (number, start, latency), for percentiles and the CSV.
    lats: Vec<Measured>,
    retrans: u64,
    error: Option<String>,
}

impl RrClient {
    pub fn new(name: &str, dst: SocketAddr, req: u64, resp: u64) -> RrClient {
        RrClient {
            name: name.to_string(),
            dst,
            req: req.max(1),
            resp: resp.max(1),
            count: None,
            gap: 0,
            fd: None,
            connected: false,
            req_left: 0,
            req_off: 0,
            resp_got: 0,
            started_at: 0,
            done: 0,
            lat: RttStats::default(),
            lats: Vec::new(),
            retrans: 0,
            error: None,
        }
    }

    fn begin(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        self.req_left = self.req;
        self.resp_got = 0;
        self.started_at = cx.now;
        self.pump(cx, fd);
    }

    fn pump(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let r = (|| {
            write_some(cx, fd, &mut self.req_left, &mut self.req_off)?;
            let (n, eof) = read_all(cx, fd)?;
            self.resp_got += n;
            Ok::<bool, Errno>(eof)
        })();
        match r {
            Ok(eof) => {
                if self.resp_got >= self.resp && self.req_left == 0 {
                    self.done += 1;
                    self.lat.add((cx.now - self.started_at) as f64 / 1e3);
                    self.lats.push((self.done - 1, self.started_at, cx.now - self.started_at));
                    self.resp_got -= self.resp;
                    if self.count.is_some_and(|c| self.done >= c) {
                        return self.finish(cx);
                    }
                    if self.gap == 0 {
                        return self.begin(cx, fd);
                    }
                    cx.set_timer(cx.now + self.gap);
                } else if eof {
                    self.error = Some("server closed".into());
                    self.finish(cx);
                }
            }
            Err(e) => {
                self.error = Some(format!("io: {}", e.name()));
                self.finish(cx);
            }
        }
    }

    fn finish(&mut self, cx: &mut AppCx<'_>) {
        if let Some(i) = close_tcp(cx, &mut self.fd) {
            self.retrans = u64::from(i.total_retrans);
        }
    }
}

impl App for RrClient {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let now = cx.now;
        let fd = match cx.k().socket(super::family(&self.dst), SOCK_STREAM | SOCK_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) => return self.error = Some(format!("socket: {}", e.name())),
        };
        cx.own(fd);
        self.fd = Some(fd);
        match cx.k().connect(now, fd, self.dst) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => {
                self.error = Some(format!("connect: {}", e.name()));
                self.finish(cx);
            }
        }
    }

    fn timer(&mut self, cx: &mut AppCx<'_>) {
        if let Some(fd) = self.fd {
            self.begin(cx, fd);
        }
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) != self.fd {
            return;
        }
        if revents & POLLERR != 0 {
            let err = cx.k().getsockopt_int(fd, SOL_SOCKET, SO_ERROR).unwrap_or(0);
            self.error = Some(format!("connection: {}", Errno(err).name()));
            return self.finish(cx);
        }
        if !self.connected {
            if revents & POLLOUT == 0 {
                return;
            }
            self.connected = true;
            return self.begin(cx, fd);
        }
        self.pump(cx, fd);
    }

    fn stop(&mut self, cx: &mut AppCx<'_>) {
        self.finish(cx);
    }

    fn events_csv(&self) -> Option<String> {
        Some(measured_csv(&self.lats))
    }

    fn report(&self) -> FlowReport {
        let mut note = format!("{} exchanges ({}B/{}B)", self.done, self.req, self.resp);
        if !self.lats.is_empty() {
            let mut v: Vec<u64> = self.lats.iter().map(|x| x.2).collect();
            v.sort_unstable();
            let pct = |p: usize| v[(v.len() - 1) * p / 100] as f64 / 1e6;
            note.push_str(&format!(
                ", p50 {:.2} p90 {:.2} p99 {:.2} ms",
                pct(50),
                pct(90),
                pct(99)
            ));
        }
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
        FlowReport {
            name: self.name.clone(),
            kind: "rr",
            bytes: self.done * (self.req + self.resp),
            active_ns: 0,
            retrans: Some(self.retrans),
            rtt_us: self.lat.summary(),
            errors: u64::from(self.error.is_some()),
            note,
        }
    }
}
