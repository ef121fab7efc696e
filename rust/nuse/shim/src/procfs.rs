//! The network part of /proc, answered by the instance: a program opening
//! `/proc/net/{tcp,udp,raw,route,dev,arp,snmp,netstat}`, their IPv6 twins
//! `{tcp6,udp6,raw6,if_inet6,ipv6_route,snmp6}` (also via `/proc/self/net/`) or
//! `/proc/sys/net/...` for reading gets a memfd holding `Kernel::proc_read`'s rendering,
//! so `cat`, `netstat`-style readers and monitoring scripts see libos, not the host.
//! `/proc/sys/net/...` opened for writing (`sysctl -w`, `echo 1 > ...`) gives a memfd
//! whose every write(2) is a `Kernel::proc_write` (its errno is the write's, as Linux's
//! proc handlers answer). Through `attach`, both go to the running instance. Every
//! other path goes to the host untouched. Only absolute paths are recognised.

use crate::{ffi, instance, remote};
use libc::{c_char, c_int, c_uint};
use libos_kernel::{Errno, SysResult};
use libos_nuse::sys;
use std::ffi::CStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const NET_FILES: [&str; 14] = [
    "tcp",
    "udp",
    "raw",
    "tcp6",
    "udp6",
    "raw6",
    "route",
    "dev",
    "arp",
    "snmp",
    "netstat",
    "if_inet6",
    "ipv6_route",
    "snmp6",
];

/// Host fds open for writing on a `/proc/sys/net` file, with the path each names.
static WRITERS: Mutex<Vec<(c_int, String)>> = Mutex::new(Vec::new());
/// `WRITERS.len()`, read without the lock by every write(2) of the program.
static N_WRITERS: AtomicUsize = AtomicUsize::new(0);

/// The /proc path libos answers for `path`, if any: the network files for reading, the
/// `sys/net` tree for reading and writing.
fn ours(path: *const c_char, flags: c_int) -> Option<String> {
    if path.is_null() {
        return None;
    }
    // SAFETY: a C string from the caller.
    let p = unsafe { CStr::from_ptr(path) }.to_str().ok()?;
    if !p.starts_with("/proc/") {
        return None;
    }
    let rest = p.strip_prefix("/proc/self/").or_else(|| p.strip_prefix("/proc/"))?;
    let read_only = flags & libc::O_ACCMODE == libc::O_RDONLY;
    match rest.strip_prefix("net/") {
        Some(f) if read_only && NET_FILES.contains(&f) => Some(format!("/proc/net/{f}")),
        Some(_) => None,
        None => rest.starts_with("sys/net/").then(|| format!("/proc/{rest}")),
    }
}

fn proc_read(path: &str) -> SysResult<String> {
    if remote::on() {
        return remote::proc_read(path);
    }
    instance().and_then(|n| {
        let g = n.lock();
        g.k.proc_read(n.now(), path)
    })
}

fn proc_write(path: &str, data: &str) -> SysResult<()> {
    if remote::on() {
        return remote::proc_write(path, data);
    }
    instance().and_then(|n| n.lock().k.proc_write(path, data))
}

/// A memfd standing for `path`, positioned at 0: holding its rendering when opened for
/// reading, registered in `WRITERS` when opened for writing; -1 with errno otherwise.
fn serve(path: &str, flags: c_int) -> c_int {
    let write_only = flags & libc::O_ACCMODE == libc::O_WRONLY;
    let r = if write_only { Ok(String::new()) } else { proc_read(path) };
    let text = match r {
        Ok(t) => t,
        Err(e) => {
            sys::set_errno(e.0);
            return -1;
        }
    };
    let cloexec = if flags & libc::O_CLOEXEC != 0 { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: plain memfd calls on our own fd.
    let fd = unsafe {
        let fd = libc::memfd_create(c"libos-proc".as_ptr(), cloexec);
        if fd < 0 {
            return -1;
        }
        if sys::write(fd, text.as_ptr().cast(), text.len()) != text.len() as isize {
            let e = sys::errno();
            sys::close(fd);
            sys::set_errno(e);
            return -1;
        }
        libc::lseek(fd, 0, libc::SEEK_SET);
        fd
    };
    if flags & libc::O_ACCMODE != libc::O_RDONLY {
        track(fd, Some(path.to_string()));
    }
    fd
}

/// Records (or with `None` forgets) that host fd `fd` writes to `path`.
fn track(fd: c_int, path: Option<String>) {
    let mut w = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    w.retain(|(f, _)| *f != fd);
    if let Some(p) = path {
        w.push((fd, p));
    }
    N_WRITERS.store(w.len(), Ordering::Release);
}

fn writer_path(fd: c_int) -> Option<String> {
    if N_WRITERS.load(Ordering::Acquire) == 0 {
        return None;
    }
    let w = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    w.iter().find(|(f, _)| *f == fd).map(|(_, p)| p.clone())
}

/// write(2) on a `/proc/sys/net` fd: the instance's `proc_write` of these bytes, `None`
/// for any other fd.
pub fn write(fd: c_int, data: &[u8]) -> Option<isize> {
    let path = writer_path(fd)?;
    let r = std::str::from_utf8(data)
        .map_err(|_| Errno::EINVAL)
        .and_then(|text| proc_write(&path, text));
    Some(match r {
        Ok(()) => data.len() as isize,
        Err(e) => {
            sys::set_errno(e.0);
            -1
        }
    })
}

/// `fd` was closed (or replaced by dup2).
pub fn forget(fd: c_int) {
    if N_WRITERS.load(Ordering::Acquire) != 0 {
        track(fd, None);
    }
}

/// `new` became a duplicate of `old`.
pub fn dup(old: c_int, new: c_int) {
    if new >= 0 && old != new {
        forget(new);
        if let Some(p) = writer_path(old) {
            track(new, Some(p));
        }
    }
}

macro_rules! open_like {
    ($name:ident, ($($a:ident: $t:ty),*), $path:ident, $flags:ident, $host:expr) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name($($a: $t),*) -> c_int {
            ffi!(-1, {
                match ours($path, $flags) {
                    Some(p) => serve(&p, $flags),
                    // SAFETY: the caller's arguments, passed on.
                    None => unsafe { $host },
                }
            })
        }
    };
}

open_like!(open, (path: *const c_char, flags: c_int, mode: c_uint), path, flags,
    sys::open(path, flags, mode));
open_like!(open64, (path: *const c_char, flags: c_int, mode: c_uint), path, flags,
    sys::open64(path, flags, mode));
open_like!(openat, (dir: c_int, path: *const c_char, flags: c_int, mode: c_uint), path, flags,
    sys::openat(dir, path, flags, mode));
open_like!(openat64, (dir: c_int, path: *const c_char, flags: c_int, mode: c_uint), path,
    flags, sys::openat64(dir, path, flags, mode));
open_like!(__open_2, (path: *const c_char, flags: c_int), path, flags, sys::__open_2(path, flags));
open_like!(__open64_2, (path: *const c_char, flags: c_int), path, flags,
    sys::__open64_2(path, flags));
open_like!(__openat_2, (dir: c_int, path: *const c_char, flags: c_int), path, flags,
    sys::__openat_2(dir, path, flags));
open_like!(__openat64_2, (dir: c_int, path: *const c_char, flags: c_int), path, flags,
    sys::__openat64_2(dir, path, flags));

/// fopen/fopen64: glibc's fopen opens through an internal call, so it is intercepted
/// itself.
unsafe fn fopen_like(
    path: *const c_char,
    mode: *const c_char,
    host: unsafe fn(*const c_char, *const c_char) -> *mut libc::FILE,
) -> *mut libc::FILE {
    // SAFETY: a C string from the caller.
    let m = if mode.is_null() { &[][..] } else { unsafe { CStr::from_ptr(mode) }.to_bytes() };
    let access = match (m.first(), m.contains(&b'+')) {
        (Some(b'r'), false) => libc::O_RDONLY,
        (Some(b'w' | b'a'), false) => libc::O_WRONLY,
        _ => libc::O_RDWR,
    };
    match ours(path, access) {
        Some(p) => {
            let fd = serve(&p, access | libc::O_CLOEXEC);
            if fd < 0 {
                return std::ptr::null_mut();
            }
            // SAFETY: our fd, a valid mode string.
            unsafe { fdopen(fd, mode) }
        }
        // SAFETY: the caller's arguments, passed on.
        None => unsafe { host(path, mode) },
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    ffi!(std::ptr::null_mut(), { unsafe { fopen_like(path, mode, sys::fopen) } })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut libc::FILE {
    ffi!(std::ptr::null_mut(), { unsafe { fopen_like(path, mode, sys::fopen64) } })
}

/// fdopen(3): a `/proc/sys/net` fd open for writing becomes a stream whose writes reach
/// [`write`] (glibc's stdio writes through an internal call no preload can see).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdopen(fd: c_int, mode: *const c_char) -> *mut libc::FILE {
    ffi!(std::ptr::null_mut(), {
        if writer_path(fd).is_none() {
            // SAFETY: the caller's arguments, passed on.
            return unsafe { sys::fdopen(fd, mode) };
        }
        let funcs = CookieIo {
            read: Some(cookie_read),
            write: Some(cookie_write),
            seek: None,
            close: Some(cookie_close),
        };
        // SAFETY: the cookie is the fd number; the callbacks below take it back.
        unsafe { fopencookie(fd as isize as *mut libc::c_void, mode, funcs) }
    })
}

/// glibc's `cookie_io_functions_t` (the libc crate does not bind `fopencookie`).
#[repr(C)]
struct CookieIo {
    read: Option<extern "C" fn(*mut libc::c_void, *mut c_char, usize) -> isize>,
    write: Option<extern "C" fn(*mut libc::c_void, *const c_char, usize) -> isize>,
    seek: Option<extern "C" fn(*mut libc::c_void, *mut i64, c_int) -> c_int>,
    close: Option<extern "C" fn(*mut libc::c_void) -> c_int>,
}

unsafe extern "C" {
    fn fopencookie(cookie: *mut libc::c_void, mode: *const c_char, io: CookieIo)
    -> *mut libc::FILE;
}

extern "C" fn cookie_read(c: *mut libc::c_void, buf: *mut c_char, len: usize) -> isize {
    // SAFETY: stdio's buffer of `len` bytes; our fd.
    unsafe { sys::read(c as isize as c_int, buf.cast(), len) }
}

extern "C" fn cookie_write(c: *mut libc::c_void, buf: *const c_char, len: usize) -> isize {
    // SAFETY: stdio's buffer of `len` bytes.
    let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    write(c as isize as c_int, data).unwrap_or(-1)
}

extern "C" fn cookie_close(c: *mut libc::c_void) -> c_int {
    crate::calls::close(c as isize as c_int)
}
