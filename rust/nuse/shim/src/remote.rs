//! The control socket: another process reaches a running instance through it
//! (`libos-nuse attach <pid|path> -- CMD`), in the spirit of NUSE's rump sysproxy.
//!
//! Server: a running instance listens on a unix stream socket (`$NUSE_CONTROL`, default
//! `/tmp/libos-nuse.<pid>.ctl`) and serves each connection from its own thread, running
//! every request through this process's own interceptors on its own (reserved) fds, so
//! blocking, timeouts and errno are exactly those of a local call.
//!
//! Client: with `NUSE_ATTACH=<path>` the shim starts no instance; each libos socket is a
//! reserved local fd mapped to the server's fd, and calls on it are forwarded, one
//! connection per thread. poll/select sets mixing host fds and forwarded fds are polled
//! in 10 ms slices; epoll on forwarded fds is not supported.
//!
//! Wire format (native endianness, same machine): request `u32 len, u32 op, i64 a[6],
//! payload`; reply `u32 len, i64 ret, i32 errno, payload`.

use crate::{lib_fd, say_once};
use libc::{c_int, c_void, sockaddr, socklen_t};
use libos_kernel::{Errno, Fd, SysResult};
use libos_nuse::sys;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

const OP_SOCKET: u32 = 1;
const OP_BIND: u32 = 2;
const OP_CONNECT: u32 = 3;
const OP_LISTEN: u32 = 4;
const OP_ACCEPT: u32 = 5;
const OP_SENDTO: u32 = 6;
const OP_RECVFROM: u32 = 7;
const OP_SHUTDOWN: u32 = 8;
const OP_CLOSE: u32 = 9;
const OP_SETSOCKOPT: u32 = 10;
const OP_GETSOCKOPT: u32 = 11;
const OP_GETSOCKNAME: u32 = 12;
const OP_GETPEERNAME: u32 = 13;
const OP_FCNTL: u32 = 14;
const OP_IOCTL: u32 = 15;
const OP_POLL: u32 = 16;
const OP_HELLO: u32 = 17;
const OP_PROC_READ: u32 = 18;
const OP_PROC_WRITE: u32 = 19;
const OP_SENDMSG: u32 = 20;
const OP_RECVMSG: u32 = 21;

/// Largest payload either side accepts (bounded memory for a bad peer).
const MAX_PAYLOAD: usize = 1 << 20;
const ADDR_MAX: usize = 128;
/// Control-message bytes carried per sendmsg/recvmsg (Linux's optmem_max is larger; an
/// IPv6 datagram's pktinfo, hop limit and tclass take 72).
const CTL_MAX: usize = 1024;

// ---- shared framing -----------------------------------------------------------------

fn write_all(fd: RawFd, mut b: &[u8]) -> bool {
    while !b.is_empty() {
        // SAFETY: valid buffer.
        let n = unsafe { sys::write(fd, b.as_ptr().cast(), b.len()) };
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        b = &b[n as usize..];
    }
    true
}

fn read_exact(fd: RawFd, b: &mut [u8]) -> bool {
    let mut off = 0;
    while off < b.len() {
        // SAFETY: valid buffer.
        let n = unsafe { sys::read(fd, b[off..].as_mut_ptr().cast(), b.len() - off) };
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        off += n as usize;
    }
    true
}

/// Reads one length-prefixed frame (the length excludes itself).
fn read_frame(fd: RawFd) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    if !read_exact(fd, &mut len) {
        return None;
    }
    let len = u32::from_ne_bytes(len) as usize;
    if len > MAX_PAYLOAD + 64 {
        return None;
    }
    let mut b = vec![0u8; len];
    read_exact(fd, &mut b).then_some(b)
}

fn frame(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

// ---- client ---------------------------------------------------------------------------

static MODE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 local, 2 attached
static ATTACH: OnceLock<String> = OnceLock::new();
/// Local references (dups) to each server fd.
static REFS: Mutex<BTreeMap<Fd, u32>> = Mutex::new(BTreeMap::new());

/// Whether this process forwards its libos sockets to another instance.
pub fn on() -> bool {
    match MODE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let path =
                std::env::var("NUSE_ATTACH").ok().filter(|p| !p.is_empty()).or_else(owner_control);
            let on = path.is_some();
            if let Some(p) = path {
                let _ = ATTACH.set(p);
            }
            MODE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
    }
}

/// The control socket of the process the launcher started, when this process is one of
/// its exec()ed descendants (`sh -c 'curl ... | ...'`): they share its instance rather
/// than each trying to open the same TAP.
fn owner_control() -> Option<String> {
    let owner: u32 = std::env::var("NUSE_EAGER").ok()?.parse().ok()?;
    if owner == std::process::id() {
        return None;
    }
    let path = control_path_of(owner);
    let live = std::os::unix::net::UnixStream::connect(&path).is_ok();
    live.then_some(path)
}

/// Where the instance of process `pid` listens.
fn control_path_of(pid: u32) -> String {
    std::env::var("NUSE_CONTROL").unwrap_or_else(|_| format!("/tmp/libos-nuse.{pid}.ctl"))
}

struct Conn(RawFd);

impl Drop for Conn {
    fn drop(&mut self) {
        crate::mark_internal(self.0, false);
        // SAFETY: our own fd.
        unsafe { sys::close(self.0) };
    }
}

thread_local! {
    static CONN: RefCell<Option<Conn>> = const { RefCell::new(None) };
}

fn connect_server() -> SysResult<RawFd> {
    let path = ATTACH.get().ok_or(Errno::ENOTCONN)?;
    let a = sun(path)?;
    // SAFETY: plain socket calls.
    unsafe {
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(Errno(sys::errno()));
        }
        let len = size_of::<libc::sockaddr_un>() as socklen_t;
        if sys::connect(fd, (&raw const a).cast(), len) < 0 {
            let e = sys::errno();
            sys::close(fd);
            say_once(format!("cannot reach the libos instance at {path}: {}", Errno(e).message()));
            return Err(Errno(e));
        }
        Ok(fd)
    }
}

/// One request/reply on this thread's connection.
fn call(op: u32, a: [i64; 6], payload: &[&[u8]]) -> SysResult<(i64, Vec<u8>)> {
    if crate::forked() {
        return Err(Errno::EOPNOTSUPP);
    }
    CONN.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let fd = connect_server()?;
            let hello = frame(&[
                &OP_HELLO.to_ne_bytes(),
                &encode_args([std::process::id() as i64, 0, 0, 0, 0, 0]),
            ]);
            if !write_all(fd, &hello) || read_frame(fd).is_none() {
                // SAFETY: our fd.
                unsafe { sys::close(fd) };
                return Err(Errno::ECONNRESET);
            }
            crate::mark_internal(fd, true);
            *c = Some(Conn(fd));
        }
        let fd = c.as_ref().map(|c| c.0).ok_or(Errno::ENOTCONN)?;
        let (opb, args) = (op.to_ne_bytes(), encode_args(a));
        let mut parts: Vec<&[u8]> = vec![&opb, &args];
        parts.extend_from_slice(payload);
        let ok = write_all(fd, &frame(&parts));
        let reply = if ok { read_frame(fd) } else { None };
        let Some(r) = reply.filter(|r| r.len() >= 12) else {
            *c = None;
            say_once("the libos instance closed the control connection".into());
            return Err(Errno::ECONNRESET);
        };
        let ret = i64::from_ne_bytes(r[0..8].try_into().unwrap_or_default());
        let err = i32::from_ne_bytes(r[8..12].try_into().unwrap_or_default());
        if ret < 0 {
            return Err(Errno(if err == 0 { libc::EIO } else { err }));
        }
        Ok((ret, r[12..].to_vec()))
    })
}

fn encode_args(a: [i64; 6]) -> Vec<u8> {
    a.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn sun(path: &str) -> SysResult<libc::sockaddr_un> {
    // SAFETY: zeroed sockaddr_un is valid.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as u16;
    if path.len() >= a.sun_path.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    for (o, b) in a.sun_path.iter_mut().zip(path.bytes()) {
        *o = b as libc::c_char;
    }
    Ok(a)
}

fn ret_int(r: SysResult<(i64, Vec<u8>)>) -> c_int {
    crate::ret(r, |(v, _)| v as c_int)
}

/// A forwarded socket gets a reserved local fd standing for server fd `sfd`.
fn adopt(sfd: i64) -> SysResult<c_int> {
    let sfd = sfd as Fd;
    match crate::reserve_fd(sfd) {
        Ok(fd) => {
            REFS.lock().unwrap_or_else(|e| e.into_inner()).insert(sfd, 1);
            Ok(fd)
        }
        Err(e) => {
            let _ = call(OP_CLOSE, [i64::from(sfd), 0, 0, 0, 0, 0], &[]);
            Err(e)
        }
    }
}

pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let r = call(OP_SOCKET, [domain.into(), ty.into(), protocol.into(), 0, 0, 0], &[])
        .and_then(|(v, _)| adopt(v));
    crate::ret(r, |fd| fd)
}

/// bind/connect.
///
/// # Safety
/// `addr` valid for `len` bytes.
pub unsafe fn addr_op(connect: bool, sfd: Fd, addr: *const sockaddr, len: socklen_t) -> c_int {
    if addr.is_null() || len as usize > ADDR_MAX {
        sys::set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: caller's buffer.
    let a = unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len as usize) };
    ret_int(call(if connect { OP_CONNECT } else { OP_BIND }, [sfd.into(), 0, 0, 0, 0, 0], &[a]))
}

/// `Kernel::proc_read` on the attached instance.
pub fn proc_read(path: &str) -> SysResult<String> {
    let (_, text) = call(OP_PROC_READ, [0; 6], &[path.as_bytes()])?;
    String::from_utf8(text).map_err(|_| Errno::EIO)
}

/// `Kernel::proc_write` on the attached instance (path, NUL, data).
pub fn proc_write(path: &str, data: &str) -> SysResult<()> {
    call(OP_PROC_WRITE, [0; 6], &[path.as_bytes(), b"\0", data.as_bytes()]).map(|_| ())
}

pub fn listen(sfd: Fd, backlog: c_int) -> c_int {
    ret_int(call(OP_LISTEN, [sfd.into(), backlog.into(), 0, 0, 0, 0], &[]))
}

pub fn shutdown(sfd: Fd, how: c_int) -> c_int {
    ret_int(call(OP_SHUTDOWN, [sfd.into(), how.into(), 0, 0, 0, 0], &[]))
}

/// # Safety
/// Out pointers null or valid.
pub unsafe fn accept4(sfd: Fd, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int {
    let r = call(OP_ACCEPT, [sfd.into(), flags.into(), 0, 0, 0, 0], &[]).and_then(|(v, a)| {
        // SAFETY: caller's buffer.
        unsafe { put_raw_addr(&a, addr, len) };
        adopt(v)
    });
    crate::ret(r, |fd| fd)
}

/// Writes raw address bytes to a C address buffer, truncating like Linux.
///
/// # Safety
/// `addr`/`len` null or valid.
pub unsafe fn put_raw_addr(a: &[u8], addr: *mut sockaddr, len: *mut socklen_t) {
    if addr.is_null() || len.is_null() {
        return;
    }
    // SAFETY: caller's buffer of *len bytes.
    unsafe {
        let n = (*len as usize).min(a.len());
        std::ptr::copy_nonoverlapping(a.as_ptr(), addr.cast::<u8>(), n);
        *len = a.len() as socklen_t;
    }
}

fn sockaddr_bytes(a: SocketAddr) -> Vec<u8> {
    let mut buf = [0u8; ADDR_MAX];
    let mut len = ADDR_MAX as socklen_t;
    // SAFETY: buf holds ADDR_MAX bytes.
    unsafe { crate::put_sockaddr(a, buf.as_mut_ptr().cast(), &mut len) };
    buf[..len as usize].to_vec()
}

pub fn sendto(sfd: Fd, data: &[u8], flags: c_int, to: Option<SocketAddr>) -> SysResult<usize> {
    let addr = to.map(sockaddr_bytes).unwrap_or_default();
    let data = &data[..data.len().min(MAX_PAYLOAD - ADDR_MAX)];
    let a = [sfd.into(), flags.into(), addr.len() as i64, 0, 0, 0];
    call(OP_SENDTO, a, &[&addr, data]).map(|(v, _)| v as usize)
}

/// Receives up to `len` bytes; returns the call's result (the full length under
/// MSG_TRUNC), the data and the raw source address.
pub fn recvfrom(sfd: Fd, len: usize, flags: c_int) -> SysResult<(usize, Vec<u8>, Vec<u8>)> {
    let len = len.min(MAX_PAYLOAD - ADDR_MAX);
    let (n, mut p) = call(OP_RECVFROM, [sfd.into(), len as i64, flags.into(), 0, 0, 0], &[])?;
    if p.len() < 4 {
        return Err(Errno::EIO);
    }
    let alen =
        (u32::from_ne_bytes(p[0..4].try_into().unwrap_or_default()) as usize).min(p.len() - 4);
    let addr = p[4..4 + alen].to_vec();
    let data = p.split_off(4 + alen);
    Ok((n as usize, data, addr))
}

/// sendmsg with control messages (IP_PKTINFO, IPV6_PKTINFO, IPV6_HOPLIMIT...): the server
/// runs the same sendmsg on its instance.
pub fn sendmsg(
    sfd: Fd,
    data: &[u8],
    flags: c_int,
    to: Option<SocketAddr>,
    ctl: &[u8],
) -> SysResult<usize> {
    if ctl.len() > CTL_MAX {
        return Err(Errno::ENOBUFS);
    }
    let addr = to.map(sockaddr_bytes).unwrap_or_default();
    let data = &data[..data.len().min(MAX_PAYLOAD - ADDR_MAX - CTL_MAX)];
    let a = [sfd.into(), flags.into(), addr.len() as i64, ctl.len() as i64, 0, 0];
    call(OP_SENDMSG, a, &[&addr, ctl, data]).map(|(v, _)| v as usize)
}

/// What a remote recvmsg returns: the call's result, the data, the raw source address
/// and the control messages.
pub type RecvMsg = (usize, Vec<u8>, Vec<u8>, Vec<u8>);

/// recvmsg with control messages: the server's recvmsg, its cmsgs sent back whole (the
/// caller fits them in its buffer).
pub fn recvmsg(sfd: Fd, len: usize, flags: c_int) -> SysResult<RecvMsg> {
    let len = len.min(MAX_PAYLOAD - ADDR_MAX - CTL_MAX - 8);
    let (n, p) = call(OP_RECVMSG, [sfd.into(), len as i64, flags.into(), 0, 0, 0], &[])?;
    let u32_at =
        |i: usize| p.get(i..i + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let alen = u32_at(0).ok_or(Errno::EIO)?;
    let clen = u32_at(4 + alen).ok_or(Errno::EIO)?;
    let data_at = 8 + alen + clen;
    if p.len() < data_at {
        return Err(Errno::EIO);
    }
    let addr = p[4..4 + alen].to_vec();
    let ctl = p[8 + alen..data_at].to_vec();
    Ok((n as usize, p[data_at..].to_vec(), addr, ctl))
}

/// Parses a raw IPv4/IPv6 source address returned by the server.
pub fn parse_addr(raw: &[u8]) -> Option<SocketAddr> {
    if raw.len() < 2 {
        return None;
    }
    // SAFETY: raw holds raw.len() bytes.
    unsafe { crate::sockaddr_in(raw.as_ptr().cast(), raw.len() as socklen_t) }.ok().flatten()
}

/// # Safety
/// `val` valid for `len` bytes.
pub unsafe fn setsockopt(
    sfd: Fd,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    let v: &[u8] = if val.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: caller's buffer.
        unsafe { std::slice::from_raw_parts(val.cast(), (len as usize).min(4096)) }
    };
    ret_int(call(OP_SETSOCKOPT, [sfd.into(), level.into(), name.into(), 0, 0, 0], &[v]))
}

/// # Safety
/// `val` valid for `*len` bytes.
pub unsafe fn getsockopt(
    sfd: Fd,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    if val.is_null() || len.is_null() {
        sys::set_errno(libc::EFAULT);
        return -1;
    }
    // SAFETY: caller's pointers.
    let want = unsafe { *len } as usize;
    let r = call(
        OP_GETSOCKOPT,
        [sfd.into(), level.into(), name.into(), want.min(4096) as i64, 0, 0],
        &[],
    );
    crate::ret(r, |(_, v)| {
        // SAFETY: copying at most `want` bytes into the caller's buffer.
        unsafe {
            let n = v.len().min(want);
            std::ptr::copy_nonoverlapping(v.as_ptr(), val.cast::<u8>(), n);
            *len = n as socklen_t;
        }
        0
    })
}

/// getsockname (peer = false) / getpeername.
///
/// # Safety
/// Out pointers null or valid.
pub unsafe fn name(peer: bool, sfd: Fd, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let op = if peer { OP_GETPEERNAME } else { OP_GETSOCKNAME };
    crate::ret(call(op, [sfd.into(), 0, 0, 0, 0, 0], &[]), |(_, a)| {
        // SAFETY: caller's buffer.
        unsafe { put_raw_addr(&a, addr, len) };
        0
    })
}

pub fn fcntl(sfd: Fd, cmd: c_int, arg: usize) -> c_int {
    ret_int(call(OP_FCNTL, [sfd.into(), cmd.into(), arg as i64, 0, 0, 0], &[]))
}

/// ioctl with an in/out buffer of `size` bytes at `arg` (int or struct ifreq).
///
/// # Safety
/// `arg` valid for `size` bytes.
pub unsafe fn ioctl(sfd: Fd, req: libc::c_ulong, arg: usize, size: usize) -> c_int {
    // SAFETY: caller's contract.
    let inb = unsafe { std::slice::from_raw_parts(arg as *const u8, size) };
    let r = call(OP_IOCTL, [sfd.into(), req as i64, size as i64, 0, 0, 0], &[inb]);
    crate::ret(r, |(v, out)| {
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), arg as *mut u8, out.len().min(size)) };
        v as c_int
    })
}

/// poll over forwarded fds only; `fds` carry server fds.
fn poll_remote(fds: &mut [libc::pollfd], timeout_ms: c_int) -> SysResult<c_int> {
    let req: Vec<u8> = fds
        .iter()
        .flat_map(|p| {
            let mut b = p.fd.to_ne_bytes().to_vec();
            b.extend_from_slice(&p.events.to_ne_bytes());
            b
        })
        .collect();
    let (n, rev) = call(OP_POLL, [fds.len() as i64, timeout_ms.into(), 0, 0, 0, 0], &[&req])?;
    for (p, r) in fds.iter_mut().zip(rev.chunks_exact(2)) {
        p.revents = i16::from_ne_bytes([r[0], r[1]]);
    }
    Ok(n as c_int)
}

/// poll over a set with forwarded fds (and perhaps host fds).
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<u64>) -> SysResult<c_int> {
    let start = sys::monotonic_ns();
    let remote: Vec<usize> = (0..fds.len()).filter(|&i| lib_fd(fds[i].fd).is_some()).collect();
    let mut rset: Vec<libc::pollfd> = remote
        .iter()
        .map(|&i| libc::pollfd {
            fd: lib_fd(fds[i].fd).unwrap_or(-1),
            events: fds[i].events,
            revents: 0,
        })
        .collect();
    let hosts: Vec<usize> = (0..fds.len()).filter(|i| !remote.contains(i)).collect();
    loop {
        let left_ms =
            timeout.map(|t| (t.saturating_sub(sys::monotonic_ns() - start) / 1_000_000) as c_int);
        // All forwarded: the server waits. Mixed: 10 ms slices on each side.
        let slice = if hosts.is_empty() {
            left_ms.unwrap_or(-1)
        } else {
            left_ms.map_or(10, |l| l.min(10))
        };
        let nr = poll_remote(&mut rset, slice)?;
        for (j, &i) in remote.iter().enumerate() {
            fds[i].revents = rset[j].revents;
        }
        let mut nh = 0;
        if !hosts.is_empty() {
            let mut hp: Vec<libc::pollfd> = hosts
                .iter()
                .map(|&i| libc::pollfd { fd: fds[i].fd, events: fds[i].events, revents: 0 })
                .collect();
            // SAFETY: valid array.
            nh = unsafe { sys::poll(hp.as_mut_ptr(), hp.len() as libc::nfds_t, 0) }.max(0);
            for (j, &i) in hosts.iter().enumerate() {
                fds[i].revents = hp[j].revents;
            }
        }
        if nr + nh > 0 || hosts.is_empty() || left_ms.is_some_and(|l| l <= 0) {
            return Ok(nr + nh);
        }
    }
}

pub fn retain(sfd: Fd) {
    *REFS.lock().unwrap_or_else(|e| e.into_inner()).entry(sfd).or_insert(0) += 1;
}

/// Drops a local reference; the server's fd closes with the last one (returns true).
pub fn release(sfd: Fd) -> bool {
    let last = {
        let mut refs = REFS.lock().unwrap_or_else(|e| e.into_inner());
        let r = refs.entry(sfd).or_insert(1);
        *r = r.saturating_sub(1);
        let last = *r == 0;
        if last {
            refs.remove(&sfd);
        }
        last
    };
    if last {
        let _ = call(OP_CLOSE, [sfd.into(), 0, 0, 0, 0, 0], &[]);
    }
    last
}

// ---- server ---------------------------------------------------------------------------

/// Per client process: live connections and the server fds it opened.
static CLIENTS: Mutex<BTreeMap<i64, (u32, Vec<c_int>)>> = Mutex::new(BTreeMap::new());
static CONTROL_PATH: OnceLock<String> = OnceLock::new();

extern "C" fn unlink_control() {
    if let Some(p) = CONTROL_PATH.get()
        && let Ok(c) = std::ffi::CString::new(p.as_str())
    {
        // SAFETY: valid path.
        unsafe { libc::unlink(c.as_ptr()) };
    }
}

/// Starts the control socket of this process's instance.
pub fn serve() {
    let path = control_path_of(std::process::id());
    let Ok(a) = sun(&path) else { return };
    // SAFETY: plain socket calls on our own fd.
    let fd = unsafe {
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return;
        }
        if let Ok(c) = std::ffi::CString::new(path.as_str()) {
            libc::unlink(c.as_ptr());
        }
        let len = size_of::<libc::sockaddr_un>() as socklen_t;
        if sys::bind(fd, (&raw const a).cast(), len) < 0 || sys::listen(fd, 16) < 0 {
            sys::say(&format!("control socket {path}: {}", Errno(sys::errno()).message()));
            sys::close(fd);
            return;
        }
        fd
    };
    crate::mark_internal(fd, true);
    let _ = CONTROL_PATH.set(path);
    // SAFETY: registering a plain extern "C" function.
    unsafe { libc::atexit(unlink_control) };
    let _ = std::thread::Builder::new().name("libos-nuse-ctl".into()).spawn(move || {
        loop {
            // Wake once a second to release what dead fork()ed children held.
            let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            if unsafe { sys::poll(&mut p, 1, 1000) } <= 0 {
                reap();
                continue;
            }
            // SAFETY: accepting on our listening fd.
            let c = unsafe {
                sys::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC)
            };
            if c < 0 {
                if sys::errno() == libc::EINTR || sys::errno() == libc::ECONNABORTED {
                    continue;
                }
                return;
            }
            crate::mark_internal(c, true);
            let _ = std::thread::Builder::new().name("libos-nuse-client".into()).spawn(move || {
                let _ = std::panic::catch_unwind(|| serve_conn(c));
                crate::mark_internal(c, false);
                // SAFETY: our fd.
                unsafe { sys::close(c) };
            });
        }
    });
}

/// The control socket of this process's instance, if it serves one.
pub fn control_path() -> Option<String> {
    CONTROL_PATH.get().cloned()
}

/// fork(), parent side: the references `fds` (dups made before the fork) belong to the
/// child `pid` until its last control connection closes or it dies.
pub fn hand_to_child(pid: i64, fds: &[c_int]) {
    if !fds.is_empty() {
        CLIENTS.lock().unwrap_or_else(|e| e.into_inner()).entry(pid).or_default().1.extend(fds);
    }
}

/// fork(), child side: forward to the parent's instance; inherited socket `n` is now the
/// parent's reference `d`.
pub fn become_child(ctl: String, inherited: &[(c_int, c_int)]) {
    let _ = ATTACH.set(ctl);
    MODE.store(2, Ordering::Relaxed);
    // A connection inherited from the parent is the parent's (never ours to use).
    CONN.with(|c| {
        if let Ok(mut c) = c.try_borrow_mut()
            && let Some(old) = c.take()
        {
            std::mem::forget(old);
        }
    });
    let mut refs = REFS.lock().unwrap_or_else(|e| e.into_inner());
    for &(n, d) in inherited {
        crate::map_set(d, None);
        crate::mark_internal(d, true);
        crate::map_set(n, Some(d));
        refs.insert(d, 1);
    }
}

/// Whether `pid` is gone (or a zombie, which will never call again).
fn dead(pid: i64) -> bool {
    // SAFETY: signal 0 only checks existence.
    if unsafe { libc::kill(pid as libc::pid_t, 0) } != 0 && sys::errno() == libc::ESRCH {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|t| t.trim_start().starts_with('Z')))
        .unwrap_or(true)
}

/// Releases the references held for client processes that died without a connection.
fn reap() {
    let gone: Vec<c_int> = {
        let mut cl = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
        let pids: Vec<i64> =
            cl.iter().filter(|(p, e)| e.0 == 0 && dead(**p)).map(|(p, _)| *p).collect();
        pids.iter().flat_map(|p| cl.remove(p).map(|e| e.1).unwrap_or_default()).collect()
    };
    for fd in gone {
        crate::calls::close(fd);
    }
}

fn serve_conn(c: RawFd) {
    let mut pid = None;
    while let Some(req) = read_frame(c) {
        if req.len() < 52 {
            break;
        }
        let op = u32::from_ne_bytes(req[0..4].try_into().unwrap_or_default());
        let mut a = [0i64; 6];
        for (i, v) in a.iter_mut().enumerate() {
            *v = i64::from_ne_bytes(req[4 + 8 * i..12 + 8 * i].try_into().unwrap_or_default());
        }
        let payload = &req[52..];
        if op == OP_HELLO {
            pid = Some(a[0]);
            CLIENTS.lock().unwrap_or_else(|e| e.into_inner()).entry(a[0]).or_default().0 += 1;
            if !write_all(c, &frame(&[&0i64.to_ne_bytes(), &0i32.to_ne_bytes()])) {
                break;
            }
            continue;
        }
        sys::set_errno(0);
        let (ret, out) = execute(op, a, payload);
        let err = if ret < 0 { sys::errno() } else { 0 };
        if let Some(p) = pid {
            track(p, op, a[0], ret);
        }
        if !write_all(c, &frame(&[&ret.to_ne_bytes(), &err.to_ne_bytes(), &out])) {
            break;
        }
    }
    // The client process's last connection went: close what it left open.
    if let Some(p) = pid {
        let leftover = {
            let mut cl = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
            let e = cl.entry(p).or_default();
            e.0 = e.0.saturating_sub(1);
            if e.0 == 0 { cl.remove(&p).map(|e| e.1).unwrap_or_default() } else { Vec::new() }
        };
        for fd in leftover {
            crate::calls::close(fd);
        }
    }
}

fn track(pid: i64, op: u32, fd: i64, ret: i64) {
    let mut cl = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    let fds = &mut cl.entry(pid).or_default().1;
    match op {
        OP_SOCKET | OP_ACCEPT if ret >= 0 => fds.push(ret as c_int),
        OP_CLOSE => fds.retain(|&f| i64::from(f) != fd),
        _ => {}
    }
}

/// Runs one forwarded call through this process's own interceptors.
fn execute(op: u32, a: [i64; 6], p: &[u8]) -> (i64, Vec<u8>) {
    let fd = a[0] as c_int;
    // Only fds that are libos sockets here may be named by a client.
    let needs_fd = !matches!(op, OP_SOCKET | OP_POLL | OP_PROC_READ | OP_PROC_WRITE);
    if needs_fd && lib_fd(fd).is_none() {
        sys::set_errno(libc::EBADF);
        return (-1, Vec::new());
    }
    let int = |r: c_int| (i64::from(r), Vec::new());
    // SAFETY: every pointer below refers to a local buffer of the stated length.
    unsafe {
        match op {
            OP_SOCKET => int(crate::calls::socket(a[0] as c_int, a[1] as c_int, a[2] as c_int)),
            OP_BIND => int(crate::calls::bind(fd, p.as_ptr().cast(), p.len() as socklen_t)),
            OP_CONNECT => int(crate::calls::connect(fd, p.as_ptr().cast(), p.len() as socklen_t)),
            OP_LISTEN => int(crate::calls::listen(fd, a[1] as c_int)),
            OP_SHUTDOWN => int(crate::calls::shutdown(fd, a[1] as c_int)),
            OP_CLOSE => int(crate::calls::close(fd)),
            OP_ACCEPT => {
                let mut addr = [0u8; ADDR_MAX];
                let mut len = ADDR_MAX as socklen_t;
                let r =
                    crate::calls::accept4(fd, addr.as_mut_ptr().cast(), &mut len, a[1] as c_int);
                (i64::from(r), addr[..(len as usize).min(ADDR_MAX)].to_vec())
            }
            OP_SENDTO => {
                let alen = (a[2].max(0) as usize).min(p.len()).min(ADDR_MAX);
                let (addr, data) = p.split_at(alen);
                let to = if alen == 0 { std::ptr::null() } else { addr.as_ptr().cast() };
                let r = crate::io::sendto(
                    fd,
                    data.as_ptr().cast(),
                    data.len(),
                    a[1] as c_int,
                    to,
                    alen as socklen_t,
                );
                (r as i64, Vec::new())
            }
            OP_RECVFROM => {
                let len = (a[1].max(0) as usize).min(MAX_PAYLOAD - ADDR_MAX);
                let mut out = vec![0u8; 4 + ADDR_MAX + len];
                let mut alen = ADDR_MAX as socklen_t;
                let (head, data) = out.split_at_mut(4 + ADDR_MAX);
                let r = crate::io::recvfrom(
                    fd,
                    data.as_mut_ptr().cast(),
                    len,
                    a[2] as c_int,
                    head[4..].as_mut_ptr().cast(),
                    &mut alen,
                );
                if r < 0 {
                    return (r as i64, Vec::new());
                }
                let alen = (alen as usize).min(ADDR_MAX);
                let got = (r as usize).min(len);
                let mut reply = Vec::with_capacity(4 + alen + got);
                reply.extend_from_slice(&(alen as u32).to_ne_bytes());
                reply.extend_from_slice(&head[4..4 + alen]);
                reply.extend_from_slice(&data[..got]);
                (r as i64, reply)
            }
            OP_SENDMSG => serve_sendmsg(fd, a, p),
            OP_RECVMSG => serve_recvmsg(fd, a),
            OP_SETSOCKOPT => int(crate::calls::setsockopt(
                fd,
                a[1] as c_int,
                a[2] as c_int,
                p.as_ptr().cast(),
                p.len() as socklen_t,
            )),
            OP_GETSOCKOPT => {
                let mut v = vec![0u8; (a[3].max(0) as usize).min(4096)];
                let mut len = v.len() as socklen_t;
                let r = crate::calls::getsockopt(
                    fd,
                    a[1] as c_int,
                    a[2] as c_int,
                    v.as_mut_ptr().cast(),
                    &mut len,
                );
                v.truncate(len as usize);
                (i64::from(r), v)
            }
            OP_GETSOCKNAME | OP_GETPEERNAME => {
                let mut addr = [0u8; ADDR_MAX];
                let mut len = ADDR_MAX as socklen_t;
                let r = if op == OP_GETSOCKNAME {
                    crate::calls::getsockname(fd, addr.as_mut_ptr().cast(), &mut len)
                } else {
                    crate::calls::getpeername(fd, addr.as_mut_ptr().cast(), &mut len)
                };
                (i64::from(r), addr[..(len as usize).min(ADDR_MAX)].to_vec())
            }
            OP_FCNTL => match a[1] as c_int {
                libc::F_GETFL | libc::F_SETFL | libc::F_GETFD | libc::F_SETFD => {
                    int(crate::calls::fcntl(fd, a[1] as c_int, a[2] as usize))
                }
                _ => {
                    sys::set_errno(libc::EINVAL);
                    (-1, Vec::new())
                }
            },
            // Only requests whose argument holds no pointer: a client must not make this
            // process write where it says.
            OP_IOCTL
                if !matches!(
                    a[1] as libc::c_ulong,
                    libc::FIONBIO | libc::FIONREAD | libc::TIOCOUTQ
                ) && !crate::ifreq::is_ifreq(a[1] as libc::c_ulong) =>
            {
                sys::set_errno(libc::ENOTTY);
                (-1, Vec::new())
            }
            OP_IOCTL => {
                let size = (a[2].max(0) as usize).min(256);
                let mut buf = p[..size.min(p.len())].to_vec();
                buf.resize(size.max(size_of::<libc::ifreq>()), 0);
                let r = crate::calls::ioctl(fd, a[1] as libc::c_ulong, buf.as_mut_ptr() as usize);
                buf.truncate(size);
                (i64::from(r), buf)
            }
            OP_POLL => {
                let n = (a[0].max(0) as usize).min(p.len() / 6);
                let mut fds: Vec<libc::pollfd> = p
                    .chunks_exact(6)
                    .take(n)
                    .map(|c| libc::pollfd {
                        fd: i32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
                        events: i16::from_ne_bytes([c[4], c[5]]),
                        revents: 0,
                    })
                    .collect();
                // Only this instance's sockets: anything else is ignored (fd -1).
                for f in fds.iter_mut() {
                    if lib_fd(f.fd).is_none() {
                        f.fd = -1;
                    }
                }
                let r =
                    crate::poll::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, a[1] as c_int);
                (i64::from(r), fds.iter().flat_map(|f| f.revents.to_ne_bytes()).collect())
            }
            OP_PROC_READ | OP_PROC_WRITE => serve_proc(op, p),
            _ => {
                sys::set_errno(libc::ENOSYS);
                (-1, Vec::new())
            }
        }
    }
}

/// A forwarded sendmsg with control messages: payload = address, control, data.
fn serve_sendmsg(fd: c_int, a: [i64; 6], p: &[u8]) -> (i64, Vec<u8>) {
    let alen = (a[2].max(0) as usize).min(ADDR_MAX).min(p.len());
    let (addr, rest) = p.split_at(alen);
    let clen = (a[3].max(0) as usize).min(CTL_MAX).min(rest.len());
    let (ctl, data) = rest.split_at(clen);
    // u64 words: a cmsghdr-aligned copy of the control bytes.
    let mut cbuf = vec![0u64; clen.div_ceil(8)];
    // SAFETY: cbuf holds at least clen bytes.
    unsafe { std::ptr::copy_nonoverlapping(ctl.as_ptr(), cbuf.as_mut_ptr().cast::<u8>(), clen) };
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut c_void, iov_len: data.len() };
    // SAFETY: all-zero is a valid msghdr.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    if alen > 0 {
        m.msg_name = addr.as_ptr() as *mut c_void;
        m.msg_namelen = alen as socklen_t;
    }
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    if clen > 0 {
        m.msg_control = cbuf.as_mut_ptr().cast();
        m.msg_controllen = clen;
    }
    // SAFETY: m points at live buffers for the call.
    let r = unsafe { crate::io::sendmsg(fd, &m, a[1] as c_int) };
    (r as i64, Vec::new())
}

/// A forwarded recvmsg: reply = address length, address, control length, control, data.
fn serve_recvmsg(fd: c_int, a: [i64; 6]) -> (i64, Vec<u8>) {
    let len = (a[1].max(0) as usize).min(MAX_PAYLOAD - ADDR_MAX - CTL_MAX - 8);
    let mut data = vec![0u8; len];
    let mut addr = [0u8; ADDR_MAX];
    let mut cbuf = vec![0u64; CTL_MAX / 8];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: len };
    // SAFETY: all-zero is a valid msghdr.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_name = addr.as_mut_ptr().cast();
    m.msg_namelen = ADDR_MAX as socklen_t;
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf.as_mut_ptr().cast();
    m.msg_controllen = CTL_MAX;
    // SAFETY: m points at live buffers for the call.
    let r = unsafe { crate::io::recvmsg(fd, &mut m, a[2] as c_int) };
    if r < 0 {
        return (r as i64, Vec::new());
    }
    let alen = (m.msg_namelen as usize).min(ADDR_MAX);
    let clen = m.msg_controllen.min(CTL_MAX);
    let got = (r as usize).min(len);
    let mut reply = Vec::with_capacity(8 + alen + clen + got);
    reply.extend_from_slice(&(alen as u32).to_ne_bytes());
    reply.extend_from_slice(&addr[..alen]);
    reply.extend_from_slice(&(clen as u32).to_ne_bytes());
    // SAFETY: cbuf holds CTL_MAX >= clen bytes.
    reply.extend_from_slice(unsafe { std::slice::from_raw_parts(cbuf.as_ptr().cast(), clen) });
    reply.extend_from_slice(&data[..got]);
    (r as i64, reply)
}

/// A forwarded /proc read or write, on this process's instance.
fn serve_proc(op: u32, p: &[u8]) -> (i64, Vec<u8>) {
    let (path, data) = match p.iter().position(|&b| b == 0) {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (p, &[][..]),
    };
    let (Ok(path), Ok(data)) = (std::str::from_utf8(path), std::str::from_utf8(data)) else {
        sys::set_errno(libc::EINVAL);
        return (-1, Vec::new());
    };
    let r = crate::instance().and_then(|n| {
        let mut g = n.lock();
        if op == OP_PROC_READ {
            g.k.proc_read(n.now(), path).map(String::into_bytes)
        } else {
            g.k.proc_write(path, data).map(|()| Vec::new())
        }
    });
    match r {
        Ok(out) => (0, out),
        Err(e) => {
            sys::set_errno(e.0);
            (-1, Vec::new())
        }
    }
}
