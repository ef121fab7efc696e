//! Socket lifecycle, options and descriptor calls: socket, bind, connect, listen,
//! accept/accept4, shutdown, close, dup/dup2/dup3, fcntl/fcntl64, ioctl,
//! setsockopt/getsockopt, getsockname/getpeername. Plus `block`, the parking loop
//! every blocking call uses.

use crate::{ffi, instance, is_libos_family, lib_fd, map_set, netlink, remote, ret, say_once};
use libc::{c_int, c_ulong, c_void, sockaddr, socklen_t};
use libos_kernel::{Errno, Fd, SysResult};
use libos_nuse::{Nuse, SockMeta, State, Wake, sys};

/// Which timeout a blocking call honours.
#[derive(Clone, Copy, PartialEq)]
pub enum Dir {
    Rcv,
    Snd,
}

/// Runs `op` until it stops returning EAGAIN, parking between tries, unless the socket
/// (or `dontwait`) is non-blocking; SO_RCVTIMEO/SO_SNDTIMEO end the wait with EAGAIN.
pub fn block<T>(
    n: &Nuse,
    kfd: Fd,
    dir: Dir,
    dontwait: bool,
    mut op: impl FnMut(&mut State, u64) -> SysResult<T>,
) -> SysResult<T> {
    let mut g = n.lock();
    let nonblock = dontwait || g.k.is_nonblocking(kfd)?;
    let timeout =
        g.meta.get(&kfd).and_then(|m| if dir == Dir::Rcv { m.rcvtimeo } else { m.sndtimeo });
    let deadline = timeout.map(|t| n.now() + t);
    let mut last = Wake::Event;
    loop {
        let now = n.enter(&mut g);
        let r = op(&mut g, now);
        n.flush(&mut g);
        match r {
            Err(Errno::EAGAIN) if !nonblock => {}
            r => {
                if last == Wake::Recheck {
                    missed_event(kfd);
                }
                return r;
            }
        }
        last = n.wait(&mut g, deadline);
        if last == Wake::Deadline {
            return Err(Errno::EAGAIN);
        }
    }
}

/// A socket became ready with no readiness event from the kernel: worth a report, as
/// only the periodic re-check (`RECHECK_NS`) noticed.
pub fn missed_event(kfd: Fd) {
    say_once(format!(
        "kernel socket {kfd} became ready without a readiness event; caught by the {} ms re-check",
        libos_nuse::RECHECK_NS / 1_000_000
    ));
}

/// Registers a new kernel socket under a reserved host fd.
fn install(st: &mut State, kfd: Fd, ty: i32) -> SysResult<c_int> {
    match crate::reserve_fd(kfd) {
        Ok(fd) => {
            st.meta.insert(kfd, SockMeta { refs: 1, ty, ..Default::default() });
            Ok(fd)
        }
        Err(e) => Err(e),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    ffi!(-1, {
        // SAFETY: pass-through with the caller's arguments.
        if !is_libos_family(domain) {
            return unsafe { sys::socket(domain, ty, protocol) };
        }
        if remote::on() {
            let fd = remote::socket(domain, ty, protocol);
            if domain == libc::AF_NETLINK
                && let Some(sfd) = lib_fd(fd)
            {
                netlink::remote_created(sfd);
            }
            return fd;
        }
        if domain == libc::AF_NETLINK {
            let r = netlink::socket(ty, protocol).and_then(|id| {
                let n = instance()?;
                let mut g = n.lock();
                install(&mut g, id, libc::SOCK_RAW).inspect_err(|_| netlink::close(id))
            });
            return ret(r, |fd| fd);
        }
        let r = (|| {
            let n = instance()?;
            let mut g = n.lock();
            let kfd = g.k.socket(domain, ty, protocol).inspect_err(|e| {
                if matches!(
                    *e,
                    Errno::EAFNOSUPPORT | Errno::ESOCKTNOSUPPORT | Errno::EPROTONOSUPPORT
                ) {
                    say_once(format!(
                        "socket({}, type {}, protocol {protocol}) is not supported by libos: {}",
                        crate::family_name(domain),
                        ty & 0xf,
                        e.message()
                    ));
                }
            })?;
            match install(&mut g, kfd, ty & 0xf) {
                Ok(fd) => Ok(fd),
                Err(e) => {
                    let now = n.enter(&mut g);
                    let _ = g.k.close(now, kfd);
                    Err(e)
                }
            }
        })();
        ret(r, |fd| fd)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::bind(fd, addr, len) } };
        if remote::on() {
            return unsafe { remote::addr_op(false, kfd, addr, len) };
        }
        if netlink::is_nl(kfd) {
            // SAFETY: caller's buffer of len bytes.
            let a = if addr.is_null() {
                &[][..]
            } else {
                unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len as usize) }
            };
            return ret(netlink::bind(kfd, a), |_| 0);
        }
        let r = (|| {
            // SAFETY: caller's buffer.
            let a = unsafe { crate::sockaddr_in(addr, len) }?.ok_or(Errno::EAFNOSUPPORT)?;
            let n = instance()?;
            let mut g = n.lock();
            g.k.bind(kfd, a)
        })();
        ret(r, |_| 0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::connect(fd, addr, len) } };
        if remote::on() {
            return unsafe { remote::addr_op(true, kfd, addr, len) };
        }
        if netlink::is_nl(kfd) {
            // Only the kernel (port 0) can be a netlink peer here.
            return 0;
        }
        // SAFETY: caller's buffer.
        let r = unsafe { crate::sockaddr_in(addr, len) }.and_then(|a| do_connect(kfd, a));
        ret(r, |_| 0)
    })
}

fn do_connect(kfd: Fd, a: Option<std::net::SocketAddr>) -> SysResult<()> {
    let n = instance()?;
    let Some(a) = a else {
        let mut g = n.lock();
        let now = n.enter(&mut g);
        let r = g.k.disconnect(now, kfd);
        n.flush(&mut g);
        return r;
    };
    let first = {
        let mut g = n.lock();
        let now = n.enter(&mut g);
        let r = g.k.connect(now, kfd, a);
        n.flush(&mut g);
        if r != Err(Errno::EINPROGRESS) || g.k.is_nonblocking(kfd)? {
            return r;
        }
        r
    };
    // Blocking connect: wait for the handshake's end, then report SO_ERROR (Linux
    // inet_wait_for_connect; a SO_SNDTIMEO expiry leaves EINPROGRESS).
    let mask = libc::POLLOUT | libc::POLLERR | libc::POLLHUP;
    let done = block(n, kfd, Dir::Snd, false, |st, _| {
        if st.k.poll(kfd)? & mask as u16 != 0 { Ok(()) } else { Err(Errno::EAGAIN) }
    });
    if done.is_err() {
        return first;
    }
    let mut g = n.lock();
    match g.k.getsockopt_int(kfd, libc::SOL_SOCKET, libc::SO_ERROR)? {
        0 => Ok(()),
        e => Err(Errno(e)),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::listen(fd, backlog) } };
        if remote::on() {
            return remote::listen(kfd, backlog);
        }
        let r = instance().and_then(|n| {
            let mut g = n.lock();
            let r = g.k.listen(kfd, backlog);
            n.flush(&mut g);
            r
        });
        ret(r, |_| 0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    unsafe { accept4(fd, addr, len, 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::accept4(fd, addr, len, flags) } };
        if remote::on() {
            return unsafe { remote::accept4(kfd, addr, len, flags) };
        }
        let r = (|| {
            let n = instance()?;
            let (cfd, peer) =
                block(n, kfd, Dir::Rcv, false, |st, now| st.k.accept(now, kfd, flags))?;
            let mut g = n.lock();
            let ty = g.meta.get(&kfd).map_or(libc::SOCK_STREAM, |m| m.ty);
            match install(&mut g, cfd, ty) {
                Ok(hfd) => Ok((hfd, peer)),
                Err(e) => {
                    let now = n.enter(&mut g);
                    let _ = g.k.close(now, cfd);
                    n.flush(&mut g);
                    Err(e)
                }
            }
        })();
        ret(r, |(hfd, peer)| {
            // SAFETY: caller's buffer.
            unsafe { crate::put_sockaddr(peer, addr, len) };
            hfd
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::shutdown(fd, how) } };
        if remote::on() {
            return remote::shutdown(kfd, how);
        }
        if netlink::is_nl(kfd) {
            return 0;
        }
        let r = instance().and_then(|n| {
            let mut g = n.lock();
            let now = n.enter(&mut g);
            let r = g.k.shutdown(now, kfd, how);
            n.flush(&mut g);
            r
        });
        ret(r, |_| 0)
    })
}

/// Drops one reference to `kfd`; the kernel socket closes with the last one.
fn release(kfd: Fd) {
    if remote::on() {
        if remote::release(kfd) {
            netlink::remote_closed(kfd);
        }
        return;
    }
    let Ok(n) = instance() else { return };
    let mut g = n.lock();
    let last = match g.meta.get_mut(&kfd) {
        Some(m) => {
            m.refs = m.refs.saturating_sub(1);
            m.refs == 0
        }
        None => true,
    };
    if last {
        g.meta.remove(&kfd);
        if netlink::is_nl(kfd) {
            drop(g);
            return netlink::close(kfd);
        }
        let now = n.enter(&mut g);
        let _ = g.k.close(now, kfd);
        n.flush(&mut g);
        drop(g);
        crate::epoll::forget(kfd);
    }
}

fn retain(kfd: Fd) {
    if remote::on() {
        return remote::retain(kfd);
    }
    if let Ok(n) = instance() {
        let mut g = n.lock();
        if let Some(m) = g.meta.get_mut(&kfd) {
            m.refs += 1;
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn close(fd: c_int) -> c_int {
    ffi!(-1, {
        if crate::is_internal(fd) {
            // Not the program's: pretend it is not open.
            sys::set_errno(libc::EBADF);
            return -1;
        }
        crate::epoll::close_epfd(fd);
        crate::procfs::forget(fd);
        if let Some(kfd) = lib_fd(fd) {
            map_set(fd, None);
            release(kfd);
        }
        unsafe { sys::close(fd) }
    })
}

/// close_range(2): libos sockets in the range are closed through `close`, the shim's own
/// fds are skipped, everything else goes to the host in contiguous spans.
#[unsafe(no_mangle)]
pub extern "C" fn close_range(first: libc::c_uint, last: libc::c_uint, flags: c_int) -> c_int {
    ffi!(-1, {
        if first > last {
            sys::set_errno(libc::EINVAL);
            return -1;
        }
        let top = (crate::MAX_FD as libc::c_uint).min(last.saturating_add(1));
        let mut span: Option<libc::c_uint> = None;
        let flush =
            |from: libc::c_uint, to: libc::c_uint| unsafe { sys::close_range(from, to, flags) };
        for fd in first..top {
            let ours = crate::is_internal(fd as c_int) || lib_fd(fd as c_int).is_some();
            if !ours {
                span.get_or_insert(fd);
                continue;
            }
            if let Some(s) = span.take()
                && flush(s, fd - 1) < 0
            {
                return -1;
            }
            if flags & libc::CLOSE_RANGE_CLOEXEC as c_int == 0 && lib_fd(fd as c_int).is_some() {
                close(fd as c_int);
            }
        }
        if let Some(s) = span
            && flush(s, top - 1) < 0
        {
            return -1;
        }
        if last >= top { flush(top.max(first), last) } else { 0 }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn closefrom(low: c_int) {
    close_range(low.max(0) as libc::c_uint, libc::c_uint::MAX, 0);
}

/// After the host duplicated `old` into `new`: `new` now names `old`'s socket (or its
/// /proc/sys file).
fn dup_done(old_fd: c_int, new: c_int) -> c_int {
    crate::procfs::dup(old_fd, new);
    let old = lib_fd(old_fd);
    if new >= 0
        && let Some(kfd) = old
    {
        if new as usize >= crate::MAX_FD {
            unsafe { sys::close(new) };
            sys::set_errno(libc::EMFILE);
            return -1;
        }
        retain(kfd);
        map_set(new, Some(kfd));
    }
    new
}

/// `new` is about to be replaced by dup2/dup3: drop what it named.
fn dup_target(old: c_int, new: c_int) {
    if old != new
        && let Some(k) = lib_fd(new)
    {
        map_set(new, None);
        release(k);
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn dup(fd: c_int) -> c_int {
    ffi!(-1, { dup_done(fd, unsafe { sys::dup(fd) }) })
}

#[unsafe(no_mangle)]
pub extern "C" fn dup2(fd: c_int, new: c_int) -> c_int {
    ffi!(-1, {
        if fd != new && unsafe { sys::fcntl(fd, libc::F_GETFD, 0) } < 0 {
            return -1;
        }
        dup_target(fd, new);
        let r = unsafe { sys::dup2(fd, new) };
        if fd == new { r } else { dup_done(fd, r) }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn dup3(fd: c_int, new: c_int, flags: c_int) -> c_int {
    ffi!(-1, {
        if fd == new {
            sys::set_errno(libc::EINVAL);
            return -1;
        }
        if unsafe { sys::fcntl(fd, libc::F_GETFD, 0) } < 0 {
            return -1;
        }
        dup_target(fd, new);
        dup_done(fd, unsafe { sys::dup3(fd, new, flags) })
    })
}

/// fcntl(2). Declared with a fixed third argument: on the x86-64 and AArch64 Linux ABIs
/// a variadic int/pointer argument arrives exactly where a fixed one would.
#[unsafe(no_mangle)]
pub extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else {
            let r = unsafe { sys::fcntl(fd, cmd, arg) };
            if matches!(cmd, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) {
                crate::procfs::dup(fd, r);
            }
            return r;
        };
        if remote::on() && matches!(cmd, libc::F_GETFL | libc::F_SETFL) {
            return remote::fcntl(kfd, cmd, arg);
        }
        match cmd {
            libc::F_GETFD | libc::F_SETFD => unsafe { sys::fcntl(fd, cmd, arg) },
            libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
                dup_done(fd, unsafe { sys::fcntl(fd, cmd, arg) })
            }
            libc::F_GETFL if netlink::is_nl(kfd) => ret(netlink::nonblock(kfd), |nb| {
                libc::O_RDWR | if nb { libc::O_NONBLOCK } else { 0 }
            }),
            libc::F_SETFL if netlink::is_nl(kfd) => {
                ret(netlink::set_nonblock(kfd, arg as c_int & libc::O_NONBLOCK != 0), |_| 0)
            }
            libc::F_GETFL => {
                let r = instance().and_then(|n| n.lock().k.is_nonblocking(kfd));
                ret(r, |nb| libc::O_RDWR | if nb { libc::O_NONBLOCK } else { 0 })
            }
            libc::F_SETFL => {
                let on = arg as c_int & libc::O_NONBLOCK != 0;
                let r = instance().and_then(|n| n.lock().k.set_nonblocking(kfd, on));
                ret(r, |_| 0)
            }
            _ => {
                say_once(format!("fcntl(cmd {cmd}) on a libos socket is not supported"));
                sys::set_errno(libc::EINVAL);
                -1
            }
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    fcntl(fd, cmd, arg)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, req: c_ulong, arg: usize) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::ioctl(fd, req, arg) } };
        if remote::on() {
            return remote_ioctl(kfd, req, arg);
        }
        if netlink::is_nl(kfd) && matches!(req, libc::FIONBIO | libc::FIONREAD) {
            if arg == 0 {
                sys::set_errno(libc::EFAULT);
                return -1;
            }
            // SAFETY: both take an int*.
            let r = if req == libc::FIONBIO {
                netlink::set_nonblock(kfd, unsafe { *(arg as *const c_int) } != 0)
            } else {
                netlink::pending(kfd).map(|v| unsafe { *(arg as *mut c_int) = v })
            };
            return ret(r, |_| 0);
        }
        let r = instance().and_then(|n| {
            let mut g = n.lock();
            // SAFETY: the requests below take an int* or struct ifreq*/ifconf*, as the
            // caller passed.
            let now = n.enter(&mut g);
            let r = unsafe { crate::io::sock_ioctl(&mut g, now, kfd, req, arg) };
            n.flush(&mut g);
            r
        });
        ret(r, |v| v)
    })
}

fn timeval_ns(val: &[u8]) -> SysResult<Option<u64>> {
    if val.len() < size_of::<libc::timeval>() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: length checked; read_unaligned for any alignment.
    let tv: libc::timeval = unsafe { std::ptr::read_unaligned(val.as_ptr().cast()) };
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno(libc::EDOM));
    }
    let ns = tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
    Ok((ns != 0).then_some(ns))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else {
            return unsafe { sys::setsockopt(fd, level, name, val, len) };
        };
        if remote::on() {
            return unsafe { remote::setsockopt(kfd, level, name, val, len) };
        }
        if netlink::is_nl(kfd) {
            let v: &[u8] = if val.is_null() {
                &[]
            } else {
                // SAFETY: caller's buffer of `len` bytes.
                unsafe { std::slice::from_raw_parts(val.cast(), len as usize) }
            };
            return ret(netlink::setsockopt(kfd, level, name, v), |_| 0);
        }
        let r = (|| {
            let n = instance()?;
            let bytes: &[u8] = if val.is_null() || len == 0 {
                &[]
            } else {
                // SAFETY: caller's buffer of `len` bytes.
                unsafe { std::slice::from_raw_parts(val.cast(), len as usize) }
            };
            let mut g = n.lock();
            if level == libc::SOL_SOCKET && (name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO)
            {
                let t = timeval_ns(bytes)?;
                let m = g.meta.entry(kfd).or_default();
                if name == libc::SO_RCVTIMEO {
                    m.rcvtimeo = t
                } else {
                    m.sndtimeo = t
                }
                return Ok(());
            }
            let now = n.enter(&mut g);
            let r = g.k.setsockopt(now, kfd, level, name, bytes);
            n.flush(&mut g);
            if r == Err(Errno::ENOPROTOOPT) {
                say_once(format!(
                    "setsockopt(level {level}, option {name}) is not supported by libos"
                ));
            }
            r
        })();
        ret(r, |_| 0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else {
            return unsafe { sys::getsockopt(fd, level, name, val, len) };
        };
        if remote::on() {
            return unsafe { remote::getsockopt(kfd, level, name, val, len) };
        }
        if netlink::is_nl(kfd) && !val.is_null() && !len.is_null() {
            return ret(netlink::getsockopt(kfd, level, name), |v| unsafe {
                let n = (*len as usize).min(4);
                std::ptr::copy_nonoverlapping(v.to_ne_bytes().as_ptr(), val.cast::<u8>(), n);
                *len = n as socklen_t;
                0
            });
        }
        if val.is_null() || len.is_null() {
            sys::set_errno(libc::EFAULT);
            return -1;
        }
        // SAFETY: caller's buffer of *len bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(val.cast::<u8>(), *len as usize) };
        let r = (|| {
            let n = instance()?;
            let mut g = n.lock();
            if level == libc::SOL_SOCKET && (name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO)
            {
                let m = g.meta.get(&kfd).cloned().unwrap_or_default();
                let ns =
                    if name == libc::SO_RCVTIMEO { m.rcvtimeo } else { m.sndtimeo }.unwrap_or(0);
                let tv = libc::timeval {
                    tv_sec: (ns / 1_000_000_000) as i64,
                    tv_usec: (ns % 1_000_000_000 / 1000) as i64,
                };
                let k = out.len().min(size_of::<libc::timeval>());
                // SAFETY: copying k <= size_of(timeval) bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping((&raw const tv).cast::<u8>(), out.as_mut_ptr(), k)
                };
                return Ok(k);
            }
            g.k.getsockopt(kfd, level, name, out)
        })();
        ret(r, |k| {
            // SAFETY: len checked non-null.
            unsafe { *len = k as socklen_t };
            0
        })
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::getsockname(fd, addr, len) } };
        if remote::on() {
            return unsafe { remote::name(false, kfd, addr, len) };
        }
        if netlink::is_nl(kfd) {
            // SAFETY: caller's buffer.
            return ret(netlink::local_name(kfd), |a| unsafe {
                crate::put_raw_addr(&a, addr, len);
                0
            });
        }
        let r = instance().and_then(|n| n.lock().k.getsockname(kfd));
        // SAFETY: caller's buffer.
        ret(r, |a| unsafe {
            crate::put_sockaddr(a, addr, len);
            0
        })
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::getpeername(fd, addr, len) } };
        if remote::on() {
            return unsafe { remote::name(true, kfd, addr, len) };
        }
        if netlink::is_nl(kfd) {
            // SAFETY: caller's buffer.
            unsafe { crate::put_raw_addr(&netlink::kernel_name(), addr, len) };
            return 0;
        }
        let r = instance().and_then(|n| n.lock().k.getpeername(kfd));
        // SAFETY: caller's buffer.
        ret(r, |a| unsafe {
            crate::put_sockaddr(a, addr, len);
            0
        })
    })
}

/// ioctl on a forwarded socket: the int-valued requests and the struct ifreq queries.
fn remote_ioctl(sfd: Fd, req: c_ulong, arg: usize) -> c_int {
    let size = match req {
        libc::FIONBIO | libc::FIONREAD | libc::TIOCOUTQ => size_of::<c_int>(),
        r if crate::ifreq::is_ifreq(r) => size_of::<libc::ifreq>(),
        _ => {
            say_once(format!("ioctl({req:#x}) on an attached libos socket is not supported"));
            sys::set_errno(libc::ENOTTY);
            return -1;
        }
    };
    if arg == 0 {
        sys::set_errno(libc::EFAULT);
        return -1;
    }
    // SAFETY: the request's argument is a buffer of `size` bytes.
    unsafe { remote::ioctl(sfd, req, arg, size) }
}
