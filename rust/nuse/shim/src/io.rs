//! Data transfer on libos sockets: send/sendto/sendmsg/sendmmsg, recv/recvfrom/recvmsg/
//! recvmmsg, read/readv/write/writev, sendfile, the glibc fortify variants, and socket
//! ioctls. Host fds pass straight through.

use crate::calls::{Dir, block};
use crate::{ffi, instance, lib_fd, ret_size, say_once};
use libc::{c_int, c_uint, c_ulong, c_void, iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};
use libos_kernel::{Errno, Fd, SysResult};
use libos_nuse::{State, sys};
use std::net::SocketAddr;

fn is_stream(st: &State, kfd: Fd) -> bool {
    st.meta.get(&kfd).is_some_and(|m| m.ty == libc::SOCK_STREAM)
}

/// Sends the gather list; a blocking stream socket sends all of it (Linux
/// `tcp_sendmsg` waits for room), stopping early only on error or SO_SNDTIMEO.
fn send_iov(kfd: Fd, iov: &[&[u8]], flags: c_int, to: Option<SocketAddr>) -> SysResult<usize> {
    if crate::netlink::is_nl(kfd) {
        return crate::netlink::send(kfd, &iov.concat());
    }
    if crate::remote::on() {
        // The server applies the blocking rules; one flat buffer per call.
        let data = if iov.len() == 1 { iov[0].to_vec() } else { iov.concat() };
        return crate::remote::sendto(kfd, &data, flags, to);
    }
    let n = instance()?;
    let total: usize = iov.iter().map(|b| b.len()).sum();
    let dontwait = flags & libc::MSG_DONTWAIT != 0;
    let kflags = flags & !libc::MSG_DONTWAIT;
    let (stream, nonblock) = {
        let g = n.lock();
        (is_stream(&g, kfd), g.k.is_nonblocking(kfd)?)
    };
    let mut sent = 0;
    loop {
        let rest = skip(iov, sent);
        let r =
            block(n, kfd, Dir::Snd, dontwait, |st, now| st.k.sendmsg(now, kfd, &rest, kflags, to));
        match r {
            Ok(k) => {
                sent += k;
                if !stream || sent >= total || dontwait || nonblock {
                    return Ok(sent);
                }
            }
            // Part of it went out: report that; the error shows on the next call.
            Err(_) if sent > 0 => return Ok(sent),
            Err(Errno::EPIPE) => {
                if flags & libc::MSG_NOSIGNAL == 0 {
                    // Linux sends SIGPIPE on a write to a closed stream.
                    // SAFETY: raising a signal in our own process.
                    unsafe { libc::raise(libc::SIGPIPE) };
                }
                return Err(Errno::EPIPE);
            }
            Err(e) => return Err(e),
        }
    }
}

/// A send's destination. A netlink address (only the kernel, port 0, is reachable) is
/// no destination at all for the socket layer.
///
/// # Safety
/// `addr` null or valid for `len` bytes.
unsafe fn dst_addr(addr: *const sockaddr, len: socklen_t) -> SysResult<Option<SocketAddr>> {
    if addr.is_null() || len == 0 {
        return Ok(None);
    }
    // SAFETY: len >= 2 is checked before reading the family.
    if len >= 2 && i32::from(unsafe { (*addr).sa_family }) == libc::AF_NETLINK {
        return Ok(None);
    }
    unsafe { crate::sockaddr_in(addr, len) }
}

/// The gather list without its first `off` bytes.
fn skip<'a>(iov: &[&'a [u8]], mut off: usize) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(iov.len());
    for b in iov {
        if off >= b.len() {
            off -= b.len();
            continue;
        }
        out.push(&b[off..]);
        off = 0;
    }
    out
}

/// Receives into the scatter list; MSG_WAITALL on a stream loops until full or EOF.
fn recv_iov(
    kfd: Fd,
    iov: &mut [&mut [u8]],
    flags: c_int,
) -> SysResult<(usize, Option<SocketAddr>)> {
    recv_iov_ctl(kfd, iov, flags, None)
}

/// `recv_iov`, also taking the message's control messages (read under the same lock as
/// the data, so they belong to it) when `ctl` asks for them.
fn recv_iov_ctl(
    kfd: Fd,
    iov: &mut [&mut [u8]],
    flags: c_int,
    mut ctl: Option<&mut Vec<u8>>,
) -> SysResult<(usize, Option<SocketAddr>)> {
    if crate::netlink::is_nl(kfd) {
        return crate::netlink::recv(kfd, iov, flags).map(|n| (n, None));
    }
    if crate::remote::on() {
        let total: usize = iov.iter().map(|b| b.len()).sum();
        let (n, data, addr) = match ctl {
            Some(c) => {
                let (n, data, addr, got) = crate::remote::recvmsg(kfd, total, flags)?;
                *c = got;
                (n, data, addr)
            }
            None => crate::remote::recvfrom(kfd, total, flags)?,
        };
        let mut off = 0;
        for b in iov.iter_mut() {
            let take = b.len().min(data.len() - off);
            b[..take].copy_from_slice(&data[off..off + take]);
            off += take;
        }
        return Ok((n, crate::remote::parse_addr(&addr)));
    }
    let n = instance()?;
    let dontwait = flags & libc::MSG_DONTWAIT != 0;
    let kflags = flags & !(libc::MSG_DONTWAIT | libc::MSG_WAITALL);
    let first = block(n, kfd, Dir::Rcv, dontwait, |st, now| {
        let r = st.k.recvmsg(now, kfd, iov, kflags);
        if r.is_ok()
            && let Some(c) = ctl.as_deref_mut()
        {
            *c = st.k.recvmsg_control(kfd).unwrap_or_default();
        }
        r
    })?;
    let total: usize = iov.iter().map(|b| b.len()).sum();
    if flags & libc::MSG_WAITALL == 0
        || first.0 == 0
        || first.0 >= total
        || !is_stream(&n.lock(), kfd)
    {
        return Ok(first);
    }
    let mut got = first.0;
    while got < total {
        let mut rest = skip_mut(iov, got);
        match block(n, kfd, Dir::Rcv, dontwait, |st, now| st.k.recvmsg(now, kfd, &mut rest, kflags))
        {
            Ok((0, _)) | Err(_) => break,
            Ok((k, _)) => got += k,
        }
    }
    Ok((got, first.1))
}

fn skip_mut<'a>(iov: &'a mut [&mut [u8]], mut off: usize) -> Vec<&'a mut [u8]> {
    let mut out = Vec::with_capacity(iov.len());
    for b in iov.iter_mut() {
        if off >= b.len() {
            off -= b.len();
            continue;
        }
        out.push(&mut b[off..]);
        off = 0;
    }
    out
}

/// # Safety
/// `iov` must hold `n` valid iovecs.
unsafe fn iov_slices<'a>(iov: *const iovec, n: usize) -> Vec<&'a [u8]> {
    if iov.is_null() || n == 0 {
        return Vec::new();
    }
    // SAFETY: caller's contract.
    unsafe { std::slice::from_raw_parts(iov, n) }
        .iter()
        .filter(|v| v.iov_len > 0 && !v.iov_base.is_null())
        .map(|v| unsafe { std::slice::from_raw_parts(v.iov_base as *const u8, v.iov_len) })
        .collect()
}

/// # Safety
/// As `iov_slices`, writable.
unsafe fn iov_slices_mut<'a>(iov: *const iovec, n: usize) -> Vec<&'a mut [u8]> {
    if iov.is_null() || n == 0 {
        return Vec::new();
    }
    // SAFETY: caller's contract.
    unsafe { std::slice::from_raw_parts(iov, n) }
        .iter()
        .filter(|v| v.iov_len > 0 && !v.iov_base.is_null())
        .map(|v| unsafe { std::slice::from_raw_parts_mut(v.iov_base as *mut u8, v.iov_len) })
        .collect()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    unsafe { sendto(fd, buf, len, flags, std::ptr::null(), 0) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    to: *const sockaddr,
    tolen: socklen_t,
) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else {
            return unsafe { sys::sendto(fd, buf, len, flags, to, tolen) };
        };
        let r = (|| {
            let dst = unsafe { dst_addr(to.cast(), tolen) }?;
            let data: &[u8] =
                if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(buf.cast(), len) } };
            send_iov(kfd, &[data], flags, dst)
        })();
        ret_size(r)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::sendmsg(fd, msg, flags) } };
        ret_size(unsafe { sendmsg_lib(kfd, msg, flags) })
    })
}

/// # Safety
/// `msg` must be a valid msghdr.
unsafe fn sendmsg_lib(kfd: Fd, msg: *const msghdr, flags: c_int) -> SysResult<usize> {
    if msg.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: caller's contract.
    let m = unsafe { &*msg };
    let to = if m.msg_name.is_null() || m.msg_namelen == 0 {
        None
    } else {
        unsafe { dst_addr(m.msg_name.cast(), m.msg_namelen) }?
    };
    let iov = unsafe { iov_slices(m.msg_iov, m.msg_iovlen) };
    if m.msg_controllen > 0 && !m.msg_control.is_null() {
        // SAFETY: caller's buffer of `msg_controllen` bytes.
        let ctl = unsafe { std::slice::from_raw_parts(m.msg_control.cast(), m.msg_controllen) };
        if let Some(r) = send_with_control(kfd, &iov, flags, to, ctl) {
            return r;
        }
        say_once("sendmsg(): control messages on libos sockets are ignored".into());
    }
    send_iov(kfd, &iov, flags, to)
}

/// A datagram send with IP control messages, given to the kernel
/// (`Kernel::sendmsg_control`), or to the attached instance's sendmsg; None where they
/// stay ignored (streams, netlink).
fn send_with_control(
    kfd: Fd,
    iov: &[&[u8]],
    flags: c_int,
    to: Option<SocketAddr>,
    ctl: &[u8],
) -> Option<SysResult<usize>> {
    if crate::netlink::is_nl(kfd) {
        return None;
    }
    if crate::remote::on() {
        let data = if iov.len() == 1 { iov[0].to_vec() } else { iov.concat() };
        return Some(crate::remote::sendmsg(kfd, &data, flags, to, ctl));
    }
    let n = match instance() {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    if is_stream(&n.lock(), kfd) {
        return None;
    }
    let dontwait = flags & libc::MSG_DONTWAIT != 0;
    let kflags = flags & !libc::MSG_DONTWAIT;
    Some(block(n, kfd, Dir::Snd, dontwait, |st, now| {
        st.k.sendmsg_control(now, kfd, iov, kflags, to, ctl)
    }))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmmsg(
    fd: c_int,
    v: *mut libc::mmsghdr,
    n: c_uint,
    flags: c_int,
) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::sendmmsg(fd, v, n, flags) } };
        // SAFETY: the caller's array of n entries.
        unsafe { each_mmsg(v, n, |_, h| sendmsg_lib(kfd, h, flags)) }
    })
}

/// sendmmsg/recvmmsg over the caller's array: `one(done, header)` per message until one
/// fails; the count done, or -1 with its errno if the first failed.
unsafe fn each_mmsg(
    v: *mut libc::mmsghdr,
    n: c_uint,
    mut one: impl FnMut(usize, &mut libc::msghdr) -> SysResult<usize>,
) -> c_int {
    let mut done = 0;
    for i in 0..n as usize {
        // SAFETY: caller's array of n entries.
        let e = unsafe { &mut *v.add(i) };
        match one(done as usize, &mut e.msg_hdr) {
            Ok(k) => {
                e.msg_len = k as c_uint;
                done += 1;
            }
            Err(err) if done == 0 => {
                sys::set_errno(err.0);
                return -1;
            }
            Err(_) => break,
        }
    }
    done
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    unsafe { recvfrom(fd, buf, len, flags, std::ptr::null_mut(), std::ptr::null_mut()) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    from: *mut sockaddr,
    fromlen: *mut socklen_t,
) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else {
            return unsafe { sys::recvfrom(fd, buf, len, flags, from, fromlen) };
        };
        let data: &mut [u8] = if len == 0 {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(buf.cast(), len) }
        };
        let r = recv_iov(kfd, &mut [data], flags).map(|(k, src)| {
            if let Some(a) = src {
                // SAFETY: caller's buffer.
                unsafe { crate::put_sockaddr(a, from, fromlen) };
            } else if crate::netlink::any(kfd) {
                // SAFETY: caller's buffer.
                unsafe { crate::put_raw_addr(&crate::netlink::kernel_name(), from, fromlen) };
            } else if !fromlen.is_null() {
                unsafe { *fromlen = 0 };
            }
            k
        });
        ret_size(r)
    })
}

/// # Safety
/// `msg` must be a valid msghdr.
unsafe fn recvmsg_lib(kfd: Fd, msg: *mut msghdr, flags: c_int) -> SysResult<usize> {
    if msg.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: caller's contract.
    let m = unsafe { &mut *msg };
    let mut iov = unsafe { iov_slices_mut(m.msg_iov, m.msg_iovlen) };
    let mut ctl = Vec::new();
    let want = !m.msg_control.is_null() && m.msg_controllen > 0;
    let (k, src) = recv_iov_ctl(kfd, &mut iov, flags, want.then_some(&mut ctl))?;
    match src {
        Some(a) if !m.msg_name.is_null() => unsafe {
            crate::put_sockaddr(a, m.msg_name.cast(), &mut m.msg_namelen)
        },
        // Replies on a netlink socket come from the kernel, port 0.
        None if !m.msg_name.is_null() && crate::netlink::any(kfd) => unsafe {
            crate::put_raw_addr(
                &crate::netlink::kernel_name(),
                m.msg_name.cast(),
                &mut m.msg_namelen,
            )
        },
        _ => m.msg_namelen = 0,
    }
    m.msg_flags = 0;
    // Whole control messages that fit, MSG_CTRUNC for the rest (Linux put_cmsg).
    let room = if want { m.msg_controllen } else { 0 };
    let mut used = 0;
    while used + size_of::<libc::cmsghdr>() <= ctl.len() {
        let len = usize::from_ne_bytes(ctl[used..used + 8].try_into().unwrap_or_default());
        let space = (len + 7) & !7;
        if len < size_of::<libc::cmsghdr>() || used + len > ctl.len() {
            break;
        }
        if used + len > room {
            m.msg_flags |= libc::MSG_CTRUNC;
            break;
        }
        used += space.min(ctl.len() - used).min(room - used);
    }
    if used > 0 {
        // SAFETY: `used` <= msg_controllen bytes of the caller's buffer.
        unsafe { std::ptr::copy_nonoverlapping(ctl.as_ptr(), m.msg_control.cast::<u8>(), used) };
    }
    m.msg_controllen = used;
    Ok(k)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::recvmsg(fd, msg, flags) } };
        ret_size(unsafe { recvmsg_lib(kfd, msg, flags) })
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmmsg(
    fd: c_int,
    v: *mut libc::mmsghdr,
    n: c_uint,
    flags: c_int,
    t: *mut libc::timespec,
) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::recvmmsg(fd, v, n, flags, t) } };
        // SAFETY: the caller's array of n entries.
        unsafe {
            each_mmsg(v, n, |done, h| {
                // After the first message, take only what is already queued
                // (MSG_WAITFORONE).
                let f = flags & !libc::MSG_WAITFORONE;
                let f = if done > 0 { f | libc::MSG_DONTWAIT } else { f };
                recvmsg_lib(kfd, h, f)
            })
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    ffi!(-1, {
        if lib_fd(fd).is_none() {
            return unsafe { sys::read(fd, buf, len) };
        }
        unsafe { recvfrom(fd, buf, len, 0, std::ptr::null_mut(), std::ptr::null_mut()) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    ffi!(-1, {
        if lib_fd(fd).is_none() {
            if !buf.is_null()
                && let Some(r) = crate::procfs::write(fd, unsafe {
                    std::slice::from_raw_parts(buf.cast::<u8>(), len)
                })
            {
                return r;
            }
            return unsafe { sys::write(fd, buf, len) };
        }
        unsafe { sendto(fd, buf, len, 0, std::ptr::null(), 0) }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::readv(fd, iov, n) } };
        let mut v = unsafe { iov_slices_mut(iov, n.max(0) as usize) };
        ret_size(recv_iov(kfd, &mut v, 0).map(|(k, _)| k))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::writev(fd, iov, n) } };
        let v = unsafe { iov_slices(iov, n.max(0) as usize) };
        ret_size(send_iov(kfd, &v, 0, None))
    })
}

/// sendfile(2) to a libos socket: read from the host file, send over libos.
///
/// # Safety
/// `off` null or valid.
unsafe fn sendfile_lib(kfd: Fd, input: c_int, off: *mut i64, count: size_t) -> SysResult<usize> {
    let mut buf = vec![0u8; count.min(1 << 16)];
    // SAFETY: buffer valid; off valid when non-null.
    let got = unsafe {
        if off.is_null() {
            sys::read(input, buf.as_mut_ptr().cast(), buf.len())
        } else {
            libc::pread(input, buf.as_mut_ptr().cast(), buf.len(), *off)
        }
    };
    if got < 0 {
        return Err(Errno(sys::errno()));
    }
    let sent = send_iov(kfd, &[&buf[..got as usize]], 0, None)?;
    // SAFETY: as above.
    unsafe {
        if !off.is_null() {
            *off += sent as i64;
        } else if sent < got as usize {
            libc::lseek(input, sent as i64 - got as i64, libc::SEEK_CUR);
        }
    }
    Ok(sent)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendfile(
    out: c_int,
    input: c_int,
    off: *mut libc::off_t,
    n: size_t,
) -> ssize_t {
    ffi!(-1, {
        if lib_fd(input).is_some() {
            say_once("sendfile() from a libos socket is not supported (only to one)".into());
            sys::set_errno(libc::EINVAL);
            return -1;
        }
        let Some(kfd) = lib_fd(out) else { return unsafe { sys::sendfile(out, input, off, n) } };
        ret_size(unsafe { sendfile_lib(kfd, input, off, n) })
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendfile64(
    out: c_int,
    input: c_int,
    off: *mut libc::off64_t,
    n: size_t,
) -> ssize_t {
    unsafe { sendfile(out, input, off, n) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn splice(
    a: c_int,
    ao: *mut libc::loff_t,
    b: c_int,
    bo: *mut libc::loff_t,
    n: size_t,
    flags: c_uint,
) -> ssize_t {
    ffi!(-1, {
        if lib_fd(a).is_some() || lib_fd(b).is_some() {
            say_once("splice() on a libos socket is not supported".into());
            sys::set_errno(libc::EINVAL);
            return -1;
        }
        unsafe { sys::splice(a, ao, b, bo, n, flags) }
    })
}

fn chk_fail() -> ! {
    sys::say("buffer overflow detected (fortify check in a socket call)");
    std::process::abort();
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
) -> ssize_t {
    if n > buflen {
        chk_fail();
    }
    unsafe { read(fd, buf, n) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
    flags: c_int,
) -> ssize_t {
    if n > buflen {
        chk_fail();
    }
    unsafe { recv(fd, buf, n, flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
    flags: c_int,
    from: *mut sockaddr,
    fromlen: *mut socklen_t,
) -> ssize_t {
    if n > buflen {
        chk_fail();
    }
    unsafe { recvfrom(fd, buf, n, flags, from, fromlen) }
}

/// Socket ioctls on a libos fd: FIONBIO, FIONREAD/SIOCINQ, SIOCOUTQ, and the classic
/// interface and routing ioctls (`ifreq`), answered by the kernel.
///
/// # Safety
/// `arg` must point to what `req` expects.
pub unsafe fn sock_ioctl(
    st: &mut State,
    now: u64,
    kfd: Fd,
    req: c_ulong,
    arg: usize,
) -> SysResult<c_int> {
    let p = arg as *mut c_int;
    if arg == 0 {
        return Err(Errno::EFAULT);
    }
    match req {
        libc::FIONBIO => {
            // SAFETY: int* per FIONBIO.
            let on = unsafe { *p } != 0;
            st.k.set_nonblocking(kfd, on)?;
            Ok(0)
        }
        libc::FIONREAD | libc::TIOCOUTQ => {
            let v = st.k.ioctl(kfd, req as u32, 0)?;
            // SAFETY: int* per FIONREAD/SIOCOUTQ.
            unsafe { *p = v };
            Ok(0)
        }
        libc::SIOCGIFCONF => unsafe { crate::ifreq::ifconf(st, arg as *mut libc::ifconf) },
        libc::SIOCADDRT | libc::SIOCDELRT => unsafe { crate::ifreq::rtentry(st, req, arg) },
        r if crate::ifreq::is_ifreq(r) => unsafe { crate::ifreq::ifreq(st, now, req, arg) },
        _ => {
            say_once(format!("ioctl({req:#x}) on a libos socket is not supported"));
            Err(Errno::ENOTTY)
        }
    }
}
