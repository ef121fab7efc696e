//! `SimExported` socket calls (socket, close, bind, connect, listen, accept, shutdown,
//! names, options). Results are 0 or `-errno`; blocking ones park the host task
//! (`instance::blocking`) unless the socket or the call is non-blocking.

use crate::instance::{self, Dir, POLLERR, POLLHUP, POLLNVAL, POLLOUT, Sock};
use crate::msg::{self, AF_NETLINK};
use crate::netlink;
use crate::types::SimSocket;
use crate::{guard, neg, ret0, with, with_r};
use libos_kernel::{Errno, SysResult};
use std::ffi::{c_int, c_void};

const EIO: c_int = -5;
pub const SOCK_STREAM: c_int = 1;
pub const SOCK_NONBLOCK: c_int = 0o4000;
pub const SOCK_CLOEXEC: c_int = 0o2000000;
/// O_NONBLOCK among `sock_connect`'s and `sock_accept`'s file flags.
pub const O_NONBLOCK: c_int = 0o4000;
pub const MSG_DONTWAIT: c_int = 0x40;
const SOL_SOCKET: c_int = 1;
const SO_TYPE: c_int = 3;
const SO_ERROR: c_int = 4;
const SO_RCVBUF: c_int = 8;
const SO_SNDBUF: c_int = 7;
const SO_PROTOCOL: c_int = 38;
const SO_DOMAIN: c_int = 39;
const SOCK_RAW: c_int = 3;
/// Linux EDOM (not in the kernel's errno table).
const EDOM: Errno = Errno(33);
const SO_RCVTIMEO: c_int = 20;
const SO_SNDTIMEO: c_int = 21;

/// A `struct timeval` (x86-64) as a timeout in ns; {0, 0} = none, wait forever (Linux
/// `sock_set_timeout`). A negative time means "do not wait" there; here it is the
/// shortest wait, 1 ns.
pub fn timeval_ns(b: &[u8]) -> SysResult<u64> {
    if b.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    let sec = i64::from_ne_bytes(w);
    w.copy_from_slice(&b[8..16]);
    let usec = i64::from_ne_bytes(w);
    if !(0..1_000_000).contains(&usec) {
        return Err(EDOM);
    }
    if sec < 0 {
        return Ok(1);
    }
    Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(usec as u64 * 1000))
}

pub fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_ne_bytes());
    b[8..].copy_from_slice(&(((ns % 1_000_000_000) / 1000) as i64).to_ne_bytes());
    b
}

pub(crate) fn hid(s: *mut SimSocket) -> usize {
    s as usize
}

/// Whether a call on inet socket `h` with `flags` may block.
pub(crate) fn may_block(h: usize, flags: c_int) -> bool {
    if flags & MSG_DONTWAIT != 0 {
        return false;
    }
    with_r(|i| {
        let fd = i.fd(h)?;
        i.k.is_nonblocking(fd)
    })
    .is_ok_and(|nb| !nb)
}

pub unsafe extern "C" fn sock_socket(
    domain: c_int,
    ty: c_int,
    protocol: c_int,
    out: *mut *mut SimSocket,
) -> c_int {
    guard(EIO, || {
        if out.is_null() {
            return neg(Errno::EFAULT);
        }
        if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return neg(Errno::EINVAL);
        }
        let r = with_r(|i| {
            let s = if domain == AF_NETLINK {
                netlink::socket(i, ty, protocol)?
            } else {
                let fd = i.k.socket(domain, ty, protocol)?;
                Sock::inet(fd, ty & 0xf == SOCK_STREAM)
            };
            Ok(i.add_sock(s))
        });
        match r {
            Ok(h) => {
                // SAFETY: checked non-NULL; the host's out pointer.
                unsafe { *out = h as *mut SimSocket };
                0
            }
            Err(e) => neg(e),
        }
    })
}

pub unsafe extern "C" fn sock_close(s: *mut SimSocket) -> c_int {
    guard(EIO, || {
        let h = hid(s);
        let r = with_r(|i| {
            let sock = i.socks.remove(&h).ok_or(Errno::EBADF)?;
            i.polls.retain(|_, r| r.sock != h);
            // Tasks parked on it wake up and see EBADF.
            i.ready.push((h, POLLNVAL));
            let now = i.now();
            match sock {
                Sock::Inet { fd, .. } => {
                    i.fd_sock.remove(&fd);
                    i.k.close(now, fd)?;
                }
                Sock::Netlink(nl) => netlink::close(i, nl, now),
            }
            Ok(())
        });
        instance::flush();
        ret0(r)
    })
}

pub unsafe extern "C" fn sock_bind(s: *mut SimSocket, name: *const c_void, len: c_int) -> c_int {
    guard(EIO, || {
        if name.is_null() {
            return neg(Errno::EFAULT);
        }
        let h = hid(s);
        let r = with_r(|i| match i.sock(h)? {
            Sock::Netlink(_) => {
                let n = usize::try_from(len).map_err(|_| Errno::EINVAL)?.min(64);
                // SAFETY: the host passes `len` readable bytes.
                let b = unsafe { std::slice::from_raw_parts(name as *const u8, n) };
                let now = i.now();
                netlink::bind(i, h, now, b)
            }
            Sock::Inet { fd, .. } => {
                let fd = *fd;
                // SAFETY: as above.
                let a = unsafe { msg::sockaddr_in(name, len) }?.ok_or(Errno::EAFNOSUPPORT)?;
                i.k.bind(fd, a)
            }
        });
        ret0(r)
    })
}

/// Blocking connect: EINPROGRESS, then park until writable or in error, then SO_ERROR.
pub unsafe extern "C" fn sock_connect(
    s: *mut SimSocket,
    name: *const c_void,
    len: c_int,
    flags: c_int,
) -> c_int {
    guard(EIO, || {
        let h = hid(s);
        // SAFETY: the host passes `len` readable bytes.
        let a = match unsafe { msg::sockaddr_in(name, len) } {
            Ok(a) => a,
            Err(e) => return neg(e),
        };
        let block = flags & O_NONBLOCK == 0 && may_block(h, 0);
        let r = with_r(|i| {
            let fd = i.fd(h)?;
            let now = i.now();
            match a {
                Some(a) => i.k.connect(now, fd, a),
                None => i.k.disconnect(now, fd),
            }
        });
        instance::flush();
        match r {
            Err(Errno::EINPROGRESS) if block => ret0(finish_connect(h)),
            r => ret0(r),
        }
    })
}

fn finish_connect(h: usize) -> SysResult<()> {
    let deadline = with(|i| {
        let t = i.timeout(h, Dir::Snd);
        (t > 0).then(|| i.now().saturating_add(t))
    })?;
    loop {
        let mask = with_r(|i| {
            let fd = i.fd(h)?;
            i.k.poll(fd)
        })?;
        if mask & (POLLOUT | POLLERR | POLLHUP) != 0 {
            let err = with_r(|i| {
                let fd = i.fd(h)?;
                i.k.getsockopt_int(fd, SOL_SOCKET, SO_ERROR)
            })?;
            return if err == 0 { Ok(()) } else { Err(Errno(err)) };
        }
        match instance::wait_on(h, deadline) {
            Ok(false) => {}
            // Linux inet_wait_for_connect: EINPROGRESS when the timeout ends the wait.
            Ok(true) | Err(_) => return Err(Errno::EINPROGRESS),
        }
    }
}

pub unsafe extern "C" fn sock_listen(s: *mut SimSocket, backlog: c_int) -> c_int {
    guard(EIO, || {
        let r = with_r(|i| {
            let fd = i.fd(hid(s))?;
            i.k.listen(fd, backlog)
        });
        ret0(r)
    })
}

pub unsafe extern "C" fn sock_shutdown(s: *mut SimSocket, how: c_int) -> c_int {
    guard(EIO, || {
        let r = with_r(|i| {
            let fd = i.fd(hid(s))?;
            let now = i.now();
            i.k.shutdown(now, fd, how)
        });
        instance::flush();
        ret0(r)
    })
}

/// `flags` are the listening file's status flags, as DCE passes them (LibOS hands them
/// to `inet_accept`): O_NONBLOCK makes this call non-blocking; the new socket starts
/// blocking. No address: hosts ask `sock_getpeername` on the new socket.
pub unsafe extern "C" fn sock_accept(
    s: *mut SimSocket,
    out: *mut *mut SimSocket,
    flags: c_int,
) -> c_int {
    guard(EIO, || {
        if out.is_null() {
            return neg(Errno::EFAULT);
        }
        let h = hid(s);
        let block = flags & O_NONBLOCK == 0 && may_block(h, 0);
        let r = instance::blocking(h, block, Dir::Rcv, |i, now| {
            let fd = i.fd(h)?;
            let (nfd, _) = i.k.accept(now, fd, 0)?;
            Ok(i.add_sock(Sock::inet(nfd, true)))
        });
        match r {
            Ok(n) => {
                // SAFETY: checked non-NULL.
                unsafe { *out = n as *mut SimSocket };
                0
            }
            Err(e) => neg(e),
        }
    })
}

fn name_of(s: *mut SimSocket, peer: bool) -> SysResult<Vec<u8>> {
    let h = hid(s);
    with_r(|i| match i.sock(h)? {
        // The peer of every netlink socket is the kernel, port 0.
        Sock::Netlink(_) if peer => Ok(netlink::sockaddr_nl(0, 0)),
        Sock::Netlink(_) => netlink::local_name(i, h),
        Sock::Inet { fd, .. } => {
            let fd = *fd;
            let a = if peer { i.k.getpeername(fd)? } else { i.k.getsockname(fd)? };
            Ok(msg::encode_sockaddr(a))
        }
    })
}

pub unsafe extern "C" fn sock_getsockname(
    s: *mut SimSocket,
    name: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: the host's buffer of *len bytes.
    guard(EIO, || ret0(name_of(s, false).and_then(|a| unsafe { msg::put_addr(&a, name, len) })))
}

pub unsafe extern "C" fn sock_getpeername(
    s: *mut SimSocket,
    name: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: the host's buffer of *len bytes.
    guard(EIO, || ret0(name_of(s, true).and_then(|a| unsafe { msg::put_addr(&a, name, len) })))
}

pub unsafe extern "C" fn sock_setsockopt(
    s: *mut SimSocket,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: c_int,
) -> c_int {
    guard(EIO, || {
        let Ok(n) = usize::try_from(len) else { return neg(Errno::EINVAL) };
        if val.is_null() && n > 0 {
            return neg(Errno::EFAULT);
        }
        let b: &[u8] = if n == 0 {
            &[]
        } else {
            // SAFETY: the host passes `len` readable bytes.
            unsafe { std::slice::from_raw_parts(val as *const u8, n) }
        };
        let h = hid(s);
        let r = with_r(|i| match i.sock(h)? {
            Sock::Netlink(_) if level == netlink::SOL_NETLINK => {
                let now = i.now();
                netlink::setsockopt(i, h, now, name, b)
            }
            Sock::Netlink(nl) if (level, name) == (SOL_SOCKET, SO_RCVTIMEO) => {
                nl.rcvtimeo = timeval_ns(b)?;
                Ok(())
            }
            // Buffer sizes and the like change nothing observable here.
            Sock::Netlink(_) => Ok(()),
            Sock::Inet { rcvtimeo, .. } if (level, name) == (SOL_SOCKET, SO_RCVTIMEO) => {
                *rcvtimeo = timeval_ns(b)?;
                Ok(())
            }
            Sock::Inet { sndtimeo, .. } if (level, name) == (SOL_SOCKET, SO_SNDTIMEO) => {
                *sndtimeo = timeval_ns(b)?;
                Ok(())
            }
            Sock::Inet { fd, .. } => {
                let fd = *fd;
                let now = i.now();
                i.k.setsockopt(now, fd, level, name, b)
            }
        });
        instance::flush();
        ret0(r)
    })
}

pub unsafe extern "C" fn sock_getsockopt(
    s: *mut SimSocket,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut c_int,
) -> c_int {
    guard(EIO, || {
        if len.is_null() {
            return neg(Errno::EFAULT);
        }
        // SAFETY: checked non-NULL.
        let Ok(room) = usize::try_from(unsafe { *len }) else { return neg(Errno::EINVAL) };
        if val.is_null() && room > 0 {
            return neg(Errno::EFAULT);
        }
        let mut buf = vec![0u8; room.min(1024)];
        let r = with_r(|i| match i.sock(hid(s))? {
            Sock::Netlink(_) => {
                let v: c_int = match (level, name) {
                    (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => 212_992,
                    (SOL_SOCKET, SO_TYPE) => SOCK_RAW,
                    (SOL_SOCKET, SO_DOMAIN) => AF_NETLINK,
                    (SOL_SOCKET, SO_PROTOCOL) => netlink::NETLINK_ROUTE,
                    (SOL_SOCKET, SO_ERROR) => 0,
                    _ => return Err(Errno::ENOPROTOOPT),
                };
                let n = buf.len().min(4);
                buf[..n].copy_from_slice(&v.to_ne_bytes()[..n]);
                Ok(n)
            }
            Sock::Inet { rcvtimeo, sndtimeo, .. }
                if level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) =>
            {
                let t = if name == SO_RCVTIMEO { *rcvtimeo } else { *sndtimeo };
                let tv = timeval(t);
                let n = buf.len().min(tv.len());
                buf[..n].copy_from_slice(&tv[..n]);
                Ok(n)
            }
            Sock::Inet { fd, .. } => {
                let fd = *fd;
                i.k.getsockopt(fd, level, name, &mut buf)
            }
        });
        match r {
            Ok(n) => {
                let n = n.min(buf.len());
                // SAFETY: n <= room writable bytes at `val` (non-NULL when room > 0).
                unsafe {
                    if n > 0 {
                        std::ptr::copy_nonoverlapping(buf.as_ptr(), val as *mut u8, n);
                    }
                    *len = n as c_int;
                }
                0
            }
            Err(e) => neg(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeval_round_trip() {
        assert_eq!(timeval_ns(&timeval(1_500_000_000)).unwrap(), 1_500_000_000);
        assert_eq!(timeval_ns(&[0; 8]), Err(Errno::EINVAL));
        let mut bad = timeval(0);
        bad[8..].copy_from_slice(&2_000_000i64.to_ne_bytes());
        assert_eq!(timeval_ns(&bad), Err(EDOM));
        let mut neg = timeval(0);
        neg[..8].copy_from_slice(&(-1i64).to_ne_bytes());
        assert_eq!(timeval_ns(&neg).unwrap(), 1);
    }
}
