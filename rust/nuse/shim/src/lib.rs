//! libnuse.so: the LD_PRELOAD shim of libos-nuse.
//!
//! Every socket call of the program lands here first. AF_INET, AF_INET6 and AF_NETLINK
//! (route) sockets live in the process's libos instance (AF_PACKET is answered there
//! too, with EAFNOSUPPORT for now); everything else (files, pipes, AF_UNIX, socketpair)
//! goes to the host libc untouched. A libos socket holds a real host fd number (a
//! reserved `/dev/null` descriptor) so select bitmaps, fd arithmetic and `dup` work; the
//! table `MAP` maps that number to the kernel's fd.
//!
//! Process model (documented in test/nuse/README.md):
//! - the instance starts on first use (socket(2) of a libos family), from `NUSECONF`
//!   (parsed at load time: a bad file exits with status 2 before `main`);
//! - fork(): the child forwards to the parent's instance over its control socket; its
//!   inherited libos sockets stay usable (`fork`); without a control socket (no
//!   instance yet) they fail with EOPNOTSUPP;
//! - exec(): libos sockets are close-on-exec; a program exec()ed by the one the launcher
//!   started attaches to that instance over its control socket (`remote`), otherwise
//!   the new image starts its own instance from `NUSECONF` when it first needs one.
//!
//! No export lets a panic cross into C: each body runs under `catch_unwind` (`ffi!`).

mod calls;
mod epoll;
mod fork;
mod ifreq;
mod io;
mod netlink;
mod poll;
mod procfs;
mod remote;

use libos_kernel::{Errno, Fd, SysResult};
use libos_nuse::{Config, Nuse, sys};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Host fd numbers the shim can map (reserved fds above this fail with EMFILE).
const MAX_FD: usize = 1 << 16;

/// Host fd -> kernel fd + 1 (0: a host fd).
static MAP: [AtomicI32; MAX_FD] = [const { AtomicI32::new(0) }; MAX_FD];
/// Host fds the shim itself owns (devices, eventfds, control sockets): hidden from the
/// program's close(), so a daemon closing "all" its fds cannot cut the instance off.
static INTERNAL: [AtomicBool; MAX_FD] = [const { AtomicBool::new(false) }; MAX_FD];
static CONFIG: OnceLock<Config> = OnceLock::new();
static INSTANCE: OnceLock<Result<&'static Nuse, Errno>> = OnceLock::new();
static FORKED: AtomicBool = AtomicBool::new(false);

/// The kernel fd behind host fd `fd`, if it is a libos socket.
fn lib_fd(fd: libc::c_int) -> Option<Fd> {
    let v = MAP.get(usize::try_from(fd).ok()?)?.load(Ordering::Acquire);
    (v != 0).then_some(v - 1)
}

fn map_set(fd: libc::c_int, kfd: Option<Fd>) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| MAP.get(i)) {
        slot.store(kfd.map_or(0, |k| k + 1), Ordering::Release);
    }
}

fn mark_internal(fd: libc::c_int, on: bool) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|i| INTERNAL.get(i)) {
        slot.store(on, Ordering::Relaxed);
    }
}

fn is_internal(fd: libc::c_int) -> bool {
    usize::try_from(fd)
        .ok()
        .and_then(|i| INTERNAL.get(i))
        .is_some_and(|s| s.load(Ordering::Relaxed))
}

/// Prints `msg` once per process (unsupported calls, start-up failures).
fn say_once(msg: String) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    static QUIET: OnceLock<bool> = OnceLock::new();
    if *QUIET.get_or_init(|| std::env::var_os("NUSE_QUIET").is_some()) {
        return;
    }
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.contains(&msg) {
        sys::say(&msg);
        seen.push(msg);
    }
}

/// The process's libos instance, started on first use.
fn instance() -> SysResult<&'static Nuse> {
    if remote::on() {
        return Err(Errno::EOPNOTSUPP);
    }
    if FORKED.load(Ordering::Relaxed) {
        say_once(format!(
            "pid {}: libos sockets are not available in a fork()ed child (the instance stays with the parent)",
            std::process::id()
        ));
        return Err(Errno::EOPNOTSUPP);
    }
    *INSTANCE.get_or_init(|| {
        let cfg = CONFIG.get_or_init(Config::default);
        let started = Nuse::start(cfg);
        if let Ok(n) = started {
            for fd in n.own_fds() {
                mark_internal(fd, true);
            }
            remote::serve();
        }
        started.map_err(|e| {
            let path = std::env::var("NUSECONF").unwrap_or_default();
            sys::say(&format!("cannot start libos: NUSECONF {path} {e}"));
            match &e {
                libos_nuse::StartError::Device { err, .. } => {
                    Errno(err.raw_os_error().unwrap_or(libc::EIO))
                }
                libos_nuse::StartError::Config(_) => Errno::EINVAL,
            }
        })
    })
}

/// Whether this process is a fork()ed child of the instance's process.
fn forked() -> bool {
    FORKED.load(Ordering::Relaxed)
}

/// fork() handed this child to the parent's instance: it is not cut off.
fn unfork() {
    FORKED.store(false, Ordering::Relaxed);
}

extern "C" fn atfork_child() {
    FORKED.store(true, Ordering::Relaxed);
}

/// Load-time constructor: parse NUSECONF now so a bad file stops the program before
/// `main`, with the line named.
extern "C" fn nuse_init() {
    let r = std::panic::catch_unwind(|| {
        if let Ok(path) = std::env::var("NUSECONF") {
            match libos_nuse::load_config(&path) {
                Ok(c) => {
                    let _ = CONFIG.set(c);
                }
                Err(e) => {
                    sys::say(&e);
                    // SAFETY: exiting before main; nothing to unwind.
                    unsafe { libc::_exit(2) };
                }
            }
        }
        // SAFETY: registering a plain extern "C" handler.
        unsafe { libc::pthread_atfork(None, None, Some(atfork_child)) };
        // The launcher asks the program it execs (same pid) to start the instance now,
        // so it answers ARP/ping before its first socket; its children start lazily.
        let eager = std::env::var("NUSE_EAGER").ok().and_then(|v| v.parse::<u32>().ok());
        if eager == Some(std::process::id()) && !remote::on() {
            let _ = instance();
        }
    });
    if r.is_err() {
        // SAFETY: as above.
        unsafe { libc::_exit(2) };
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = nuse_init;

/// Runs an export's body; a panic becomes `err` with errno EIO.
macro_rules! ffi {
    ($err:expr, $body:block) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                $crate::sys_set_errno(libc::EIO);
                $err
            }
        }
    };
}
pub(crate) use ffi;

pub(crate) fn sys_set_errno(e: libc::c_int) {
    sys::set_errno(e);
}

/// A kernel result as a C return: the value, or -1 with errno.
fn ret<T>(r: SysResult<T>, f: impl FnOnce(T) -> libc::c_int) -> libc::c_int {
    match r {
        Ok(v) => f(v),
        Err(e) => {
            sys::set_errno(e.0);
            -1
        }
    }
}

fn ret_size(r: SysResult<usize>) -> libc::ssize_t {
    match r {
        Ok(n) => n as libc::ssize_t,
        Err(e) => {
            sys::set_errno(e.0);
            -1
        }
    }
}

/// A reserved host fd standing for a libos socket (close-on-exec: libos sockets do not
/// survive exec).
fn reserve_fd(kfd: Fd) -> SysResult<libc::c_int> {
    // SAFETY: plain open of /dev/null.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno(sys::errno()));
    }
    if fd as usize >= MAX_FD {
        // SAFETY: our own fd.
        unsafe { sys::close(fd) };
        return Err(Errno::EMFILE);
    }
    map_set(fd, Some(kfd));
    Ok(fd)
}

/// `struct sockaddr_in6` before RFC 2553 added `sin6_scope_id`.
const SIN6_LEN_RFC2133: usize = 24;

/// Reads a C socket address (Linux `move_addr_to_kernel` + `inet_*` length checks).
/// `Ok(None)` is AF_UNSPEC.
///
/// # Safety
/// `addr` must be valid for `len` bytes (or null with len 0).
unsafe fn sockaddr_in(
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> SysResult<Option<SocketAddr>> {
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    if (len as usize) < 2 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: at least 2 bytes readable.
    let family = i32::from(unsafe { (*addr).sa_family });
    match family {
        libc::AF_UNSPEC => Ok(None),
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: length checked.
            let a = unsafe { &*(addr as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Ok(Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port)))))
        }
        // SIN6_LEN_RFC2133 (24 bytes, no sin6_scope_id) is accepted, as Linux's
        // inet6_bind/ip6_datagram_connect do; the scope id is then 0.
        libc::AF_INET6 if len as usize >= SIN6_LEN_RFC2133 => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut a: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            let n = (len as usize).min(size_of::<libc::sockaddr_in6>());
            // SAFETY: `n` bytes readable at addr, and `a` holds at least `n`.
            unsafe { std::ptr::copy_nonoverlapping(addr.cast::<u8>(), (&raw mut a).cast(), n) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            let port = u16::from_be(a.sin6_port);
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id))))
        }
        libc::AF_INET | libc::AF_INET6 => Err(Errno::EINVAL),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// Writes `sa` to a C address buffer, truncating like Linux `move_addr_to_user`.
///
/// # Safety
/// `addr` valid for `*len` bytes when both are non-null.
unsafe fn put_sockaddr(sa: SocketAddr, addr: *mut libc::sockaddr, len: *mut libc::socklen_t) {
    if addr.is_null() || len.is_null() {
        return;
    }
    // SAFETY: all-zero is valid for both structs.
    let (buf, full): ([u8; 28], usize) = unsafe {
        let mut b = [0u8; 28];
        match sa {
            SocketAddr::V4(v4) => {
                let mut s: libc::sockaddr_in = std::mem::zeroed();
                s.sin_family = libc::AF_INET as u16;
                s.sin_port = v4.port().to_be();
                s.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
                let n = size_of::<libc::sockaddr_in>();
                std::ptr::copy_nonoverlapping((&raw const s).cast::<u8>(), b.as_mut_ptr(), n);
                (b, n)
            }
            SocketAddr::V6(v6) => {
                let mut s: libc::sockaddr_in6 = std::mem::zeroed();
                s.sin6_family = libc::AF_INET6 as u16;
                s.sin6_port = v6.port().to_be();
                s.sin6_addr.s6_addr = v6.ip().octets();
                s.sin6_scope_id = v6.scope_id();
                let n = size_of::<libc::sockaddr_in6>();
                std::ptr::copy_nonoverlapping((&raw const s).cast::<u8>(), b.as_mut_ptr(), n);
                (b, n)
            }
        }
    };
    // SAFETY: caller's buffer holds *len bytes.
    unsafe {
        let n = (*len as usize).min(full);
        std::ptr::copy_nonoverlapping(buf.as_ptr(), addr.cast::<u8>(), n);
        *len = full as libc::socklen_t;
    }
}

pub(crate) use remote::put_raw_addr;

fn family_name(d: i32) -> String {
    match d {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        d => format!("family {d}"),
    }
}

/// Families whose sockets belong to libos (answered there even when unsupported, so a
/// program never silently reaches the host's network).
fn is_libos_family(d: i32) -> bool {
    matches!(d, libc::AF_INET | libc::AF_INET6 | libc::AF_NETLINK | libc::AF_PACKET)
}
