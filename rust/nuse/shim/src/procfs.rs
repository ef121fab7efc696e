//! The network part of /proc, read from the instance: a program opening
//! `/proc/net/{tcp,udp,raw,route,dev,arp,snmp,netstat}` (also via `/proc/self/net/`) or
//! `/proc/sys/net/...` for reading gets a memfd holding `Kernel::proc_read`'s rendering,
//! so `cat`, `netstat`-style readers and monitoring scripts see libos, not the host.
//! Writes (and every other path) go to the host untouched; over `attach` nothing is
//! redirected. Only absolute paths are recognised.

use crate::{ffi, instance, remote};
use libc::{c_char, c_int, c_uint};
use libos_nuse::sys;
use std::ffi::CStr;

const NET_FILES: [&str; 8] = ["tcp", "udp", "raw", "route", "dev", "arp", "snmp", "netstat"];

/// The /proc path libos answers for `path`, if any (read-only opens only).
fn ours(path: *const c_char, flags: c_int) -> Option<String> {
    if path.is_null() || flags & libc::O_ACCMODE != libc::O_RDONLY || remote::on() {
        return None;
    }
    // SAFETY: a C string from the caller.
    let p = unsafe { CStr::from_ptr(path) }.to_str().ok()?;
    if !p.starts_with("/proc/") {
        return None;
    }
    let rest = p.strip_prefix("/proc/self/").or_else(|| p.strip_prefix("/proc/"))?;
    match rest.strip_prefix("net/") {
        Some(f) if NET_FILES.contains(&f) => Some(format!("/proc/net/{f}")),
        Some(_) => None,
        None => rest.starts_with("sys/net/").then(|| format!("/proc/{rest}")),
    }
}

/// A memfd with the rendering of `path`, positioned at 0; -1 with errno otherwise.
fn serve(path: &str, flags: c_int) -> c_int {
    let r = instance().and_then(|n| {
        let g = n.lock();
        g.k.proc_read(n.now(), path)
    });
    let text = match r {
        Ok(t) => t,
        Err(e) => {
            sys::set_errno(e.0);
            return -1;
        }
    };
    let cloexec = if flags & libc::O_CLOEXEC != 0 { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: plain memfd calls on our own fd.
    unsafe {
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

/// fopen/fopen64 ("r" only): glibc's fopen opens through an internal call, so it is
/// intercepted itself.
unsafe fn fopen_like(
    path: *const c_char,
    mode: *const c_char,
    host: unsafe fn(*const c_char, *const c_char) -> *mut libc::FILE,
) -> *mut libc::FILE {
    // SAFETY: a C string from the caller.
    let read_only = !mode.is_null()
        && unsafe { CStr::from_ptr(mode) }.to_bytes().first() == Some(&b'r')
        && !unsafe { CStr::from_ptr(mode) }.to_bytes().contains(&b'+');
    match read_only.then(|| ours(path, libc::O_RDONLY)).flatten() {
        Some(p) => {
            let fd = serve(&p, libc::O_CLOEXEC);
            if fd < 0 {
                return std::ptr::null_mut();
            }
            // SAFETY: our fd, a valid mode string.
            unsafe { libc::fdopen(fd, mode) }
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
