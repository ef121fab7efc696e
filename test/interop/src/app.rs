//! Scripted applications the test host runs over its libos kernel. Each `step` makes
//! non-blocking socket calls and returns `Some(success)` once the app is finished.

use libos_kernel::uapi::*;
use libos_kernel::{Errno, Fd, Kernel};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

/// Byte `i` of the test stream; the Linux-side scripts generate the same sequence.
pub fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(7).wrapping_add(i >> 8)) as u8
}

pub enum App {
    Idle,
    /// Accept one connection (dual stack), read to EOF, report, close.
    TcpSink {
        listener: Fd,
        conn: Option<Fd>,
        got: usize,
        hash: Sha256,
        expect: Option<usize>,
    },
    /// Connect (IPv4 or IPv6 by the address), send `total` pattern bytes, shut down
    /// writing, read to EOF, close.
    TcpSource {
        conn: Fd,
        /// Not connected yet: an IPv6 connect waits until DAD is over, since before
        /// that the only usable source is ::1 (Linux picks it too, and the SYN is
        /// never answered) or none (EADDRNOTAVAIL); retried on each tick.
        pending: Option<SocketAddr>,
        total: usize,
        sent: usize,
        shut: bool,
        connected: bool,
    },
    /// Answer one HTTP GET with `size` pattern bytes (HTTP/1.0, then close).
    Http {
        listener: Fd,
        conn: Option<Fd>,
        request: Vec<u8>,
        size: usize,
        sent: usize,
    },
}

/// A dual-stack listener on `[::]:port`, as Linux servers open them: IPv6 clients, and
/// IPv4 ones seen as `::ffff:a.b.c.d` (IPV6_V6ONLY off, `net.ipv6.bindv6only` 0).
fn listen(k: &mut Kernel, port: u16) -> Result<Fd, Errno> {
    let fd = k.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
    k.setsockopt_int(0, fd, SOL_SOCKET, SO_REUSEADDR, 1)?;
    k.bind(fd, SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)))?;
    k.listen(fd, 16)?;
    Ok(fd)
}

impl App {
    pub fn tcp_sink(k: &mut Kernel, port: u16, expect: Option<usize>) -> Result<App, Errno> {
        let listener = listen(k, port)?;
        Ok(App::TcpSink { listener, conn: None, got: 0, hash: Sha256::new(), expect })
    }

    pub fn http(k: &mut Kernel, port: u16, size: usize) -> Result<App, Errno> {
        let listener = listen(k, port)?;
        Ok(App::Http { listener, conn: None, request: Vec::new(), size, sent: 0 })
    }

    pub fn tcp_source(
        k: &mut Kernel,
        now: u64,
        to: SocketAddr,
        total: usize,
    ) -> Result<App, Errno> {
        let domain = if to.is_ipv6() { AF_INET6 } else { AF_INET };
        let conn = k.socket(domain, SOCK_STREAM | SOCK_NONBLOCK, 0)?;
        let pending = if to.is_ipv6() && dad_running(k) {
            Some(to)
        } else {
            match k.connect(now, conn, to) {
                Ok(()) | Err(Errno::EINPROGRESS) => None,
                Err(e) => return Err(e),
            }
        };
        Ok(App::TcpSource { conn, pending, total, sent: 0, shut: false, connected: false })
    }

    /// True while the app must be stepped on every tick, not only on socket events.
    pub fn needs_tick(&self) -> bool {
        matches!(self, App::TcpSource { pending: Some(_), .. })
    }

    pub fn step(&mut self, k: &mut Kernel, now: u64) -> Option<bool> {
        match self {
            App::Idle => None,
            App::TcpSink { listener, conn, got, hash, expect } => {
                if conn.is_none() {
                    let (fd, peer) = k.accept(now, *listener, 0).ok()?;
                    println!("ACCEPTED peer={peer}");
                    *conn = Some(fd);
                }
                let fd = (*conn)?;
                let mut buf = [0u8; 65536];
                loop {
                    match k.recv(now, fd, &mut buf, 0) {
                        Ok(0) => break,
                        Ok(n) => {
                            hash.update(&buf[..n]);
                            *got += n;
                        }
                        Err(Errno::EAGAIN) => return None,
                        Err(e) => {
                            println!("ERROR recv {e:?} after {got} bytes");
                            return Some(false);
                        }
                    }
                }
                let digest = hex(&std::mem::take(hash).finalize());
                println!("RESULT bytes={got} sha256={digest}");
                let _ = k.close(now, fd);
                Some(expect.is_none_or(|e| e == *got))
            }
            App::TcpSource { conn, pending, total, sent, shut, connected } => {
                if let Some(to) = *pending {
                    if dad_running(k) {
                        return None;
                    }
                    match k.connect(now, *conn, to) {
                        Err(Errno::EADDRNOTAVAIL) => return None,
                        Ok(()) | Err(Errno::EINPROGRESS) => *pending = None,
                        Err(e) => {
                            println!("ERROR connect {e:?}");
                            return Some(false);
                        }
                    }
                }
                step_source(k, now, *conn, *total, sent, shut, connected)
            }
            App::Http { listener, conn, request, size, sent } => {
                step_http(k, now, *listener, conn, request, *size, sent)
            }
        }
    }
}

/// An IPv6 address is still tentative (duplicate address detection running).
fn dad_running(k: &Kernel) -> bool {
    let tentative = libos_kernel::ipv6::AddrState::Tentative;
    k.devs().any(|d| k.addrs6(d.ifindex).iter().any(|a| a.state == tentative))
}

fn step_source(
    k: &mut Kernel,
    now: u64,
    fd: Fd,
    total: usize,
    sent: &mut usize,
    shut: &mut bool,
    connected: &mut bool,
) -> Option<bool> {
    if !*connected {
        if k.poll(fd).ok()? & POLLOUT == 0 {
            return None;
        }
        let err = k.getsockopt_int(fd, SOL_SOCKET, SO_ERROR).ok()?;
        if err != 0 {
            println!("ERROR connect {:?}", Errno(err));
            return Some(false);
        }
        *connected = true;
        println!("CONNECTED");
    }
    let mut chunk = [0u8; 16384];
    while *sent < total {
        let n = chunk.len().min(total - *sent);
        for (j, b) in chunk[..n].iter_mut().enumerate() {
            *b = pattern(*sent + j);
        }
        match k.send(now, fd, &chunk[..n], 0) {
            Ok(w) => *sent += w,
            Err(Errno::EAGAIN) => return None,
            Err(e) => {
                println!("ERROR send {e:?} after {sent} bytes");
                return Some(false);
            }
        }
    }
    if !*shut {
        k.shutdown(now, fd, SHUT_WR).ok()?;
        *shut = true;
    }
    let mut buf = [0u8; 4096];
    match k.recv(now, fd, &mut buf, 0) {
        Ok(0) => {
            let retrans = k.tcp_info(fd).map_or(0, |i| i.total_retrans);
            let pacing = k.tcp_info(fd).map_or(0, |i| i.pacing_rate);
            let mut cc = [0u8; 16];
            let n = k.getsockopt(fd, SOL_TCP, TCP_CONGESTION, &mut cc).unwrap_or(0);
            let cc = String::from_utf8_lossy(cc[..n].split(|&b| b == 0).next().unwrap_or(&[]));
            let ext = |name| k.snmp_counter("TcpExt", name).unwrap_or(-1);
            println!(
                "RESULT sent={sent} retrans={retrans} sack_recovery={} reno_recovery={} dsack_recv={} \
                 cc={cc} pacing_rate={pacing}",
                ext("TCPSackRecovery"),
                ext("TCPRenoRecovery"),
                ext("TCPDSACKRecv")
            );
            let _ = k.close(now, fd);
            Some(true)
        }
        Ok(_) | Err(Errno::EAGAIN) => None,
        Err(e) => {
            println!("ERROR recv {e:?}");
            Some(false)
        }
    }
}

fn step_http(
    k: &mut Kernel,
    now: u64,
    listener: Fd,
    conn: &mut Option<Fd>,
    request: &mut Vec<u8>,
    size: usize,
    sent: &mut usize,
) -> Option<bool> {
    if conn.is_none() {
        let (fd, peer) = k.accept(now, listener, 0).ok()?;
        println!("ACCEPTED peer={peer}");
        *conn = Some(fd);
    }
    let fd = (*conn)?;
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match k.recv(now, fd, &mut buf, 0) {
            Ok(0) => return Some(false),
            Ok(n) => request.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => return None,
            Err(_) => return Some(false),
        }
    }
    let header = format!("HTTP/1.0 200 OK\r\nContent-Length: {size}\r\nServer: libos\r\n\r\n");
    let body_start = header.len();
    let total = body_start + size;
    let mut chunk = [0u8; 16384];
    while *sent < total {
        let n = chunk.len().min(total - *sent);
        for (j, b) in chunk[..n].iter_mut().enumerate() {
            let i = *sent + j;
            *b = if i < body_start { header.as_bytes()[i] } else { pattern(i - body_start) };
        }
        match k.send(now, fd, &chunk[..n], 0) {
            Ok(w) => *sent += w,
            Err(Errno::EAGAIN) => return None,
            Err(_) => return Some(false),
        }
    }
    println!("RESULT served={size}");
    let _ = k.close(now, fd);
    Some(true)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
