//! poll, ppoll, select, pselect (and `__poll_chk`) over sets mixing host and libos fds.
//!
//! Only host fds: the host call, untouched. Otherwise the thread registers its own
//! eventfd with the instance (kicked on every libos readiness change), then blocks in the
//! host ppoll on the host fds plus that eventfd; on a kick it re-checks the libos fds. No
//! helper threads, no busy loop, and a signal handler interrupts the wait with EINTR as
//! it would interrupt poll(2) (never restarted, SA_RESTART or not).

use crate::{ffi, instance, lib_fd};
use libc::{c_int, pollfd};
use libos_kernel::{Fd, SysResult};
use libos_nuse::{State, runtime, sys};
use std::cell::Cell;

/// The calling thread's eventfd for mixed waits (closed when the thread exits).
struct ThreadEfd(Cell<c_int>);

impl Drop for ThreadEfd {
    fn drop(&mut self) {
        let fd = self.0.get();
        if fd >= 0 {
            crate::mark_internal(fd, false);
            // SAFETY: our own fd.
            unsafe { sys::close(fd) };
        }
    }
}

thread_local! {
    static EFD: ThreadEfd = const { ThreadEfd(Cell::new(-1)) };
}

pub fn thread_efd() -> SysResult<c_int> {
    EFD.with(|e| {
        if e.0.get() < 0 {
            // SAFETY: plain eventfd creation.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(libos_kernel::Errno(sys::errno()));
            }
            crate::mark_internal(fd, true);
            e.0.set(fd);
        }
        Ok(e.0.get())
    })
}

/// poll(2) bits of a libos socket for `events` (POLLERR/POLLHUP always; POLLNVAL for a
/// socket the kernel no longer knows).
pub fn lib_revents(st: &State, kfd: Fd, events: u32) -> u32 {
    if crate::netlink::is_nl(kfd) {
        return crate::netlink::revents(kfd, events, &st.k);
    }
    match st.k.poll(kfd) {
        Ok(m) => {
            let mut m = u32::from(m);
            if m & libc::POLLIN as u32 != 0 {
                m |= libc::POLLRDNORM as u32;
            }
            if m & libc::POLLOUT as u32 != 0 {
                m |= libc::POLLWRNORM as u32;
            }
            m & (events | libc::POLLERR as u32 | libc::POLLHUP as u32)
        }
        Err(_) => libc::POLLNVAL as u32,
    }
}

/// How long a waiting host poll may sleep: up to the deadline, never past the periodic
/// re-check (`RECHECK_NS`).
pub fn remaining(n: &libos_nuse::Nuse, deadline: Option<u64>) -> Option<libc::timespec> {
    let cap = libos_nuse::RECHECK_NS;
    let ns = deadline.map_or(cap, |d| d.saturating_sub(n.now()).min(cap));
    Some(libc::timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    })
}

fn ts_ptr(t: &Option<libc::timespec>) -> *const libc::timespec {
    t.as_ref().map_or(std::ptr::null(), |t| t as *const _)
}

/// poll over a set holding at least one libos fd; `timeout` in ns (None: forever).
pub fn poll_lib(fds: &mut [pollfd], timeout: Option<u64>) -> SysResult<c_int> {
    if crate::remote::on() {
        return crate::remote::poll(fds, timeout);
    }
    let n = instance()?;
    let deadline = timeout.map(|t| n.now() + t);
    let libs: Vec<(usize, Fd)> =
        fds.iter().enumerate().filter_map(|(i, p)| lib_fd(p.fd).map(|k| (i, k))).collect();
    let hosts: Vec<usize> = (0..fds.len()).filter(|i| !libs.iter().any(|(j, _)| j == i)).collect();
    // Whether the last wake-up was the periodic re-check rather than an event.
    let mut rechecked = false;
    loop {
        let mut g = n.lock();
        let mut ready = 0;
        for &(i, k) in &libs {
            let r = lib_revents(&g, k, fds[i].events as u16 as u32);
            fds[i].revents = r as i16;
            ready += c_int::from(r != 0);
        }
        if rechecked && ready > 0 {
            let k = libs.iter().find(|&&(i, _)| fds[i].revents != 0).map_or(-1, |&(_, k)| k);
            crate::calls::missed_event(k);
        }
        if ready > 0 && hosts.is_empty() {
            return Ok(ready);
        }
        let efd = thread_efd()?;
        let waiting = ready == 0;
        if waiting {
            n.add_waiter(&mut g, efd);
        }
        drop(g);
        let mut hp: Vec<pollfd> = hosts
            .iter()
            .map(|&i| pollfd { fd: fds[i].fd, events: fds[i].events, revents: 0 })
            .collect();
        if waiting {
            hp.push(pollfd { fd: efd, events: libc::POLLIN, revents: 0 });
        }
        let t = if waiting {
            remaining(n, deadline)
        } else {
            Some(libc::timespec { tv_sec: 0, tv_nsec: 0 })
        };
        // SAFETY: hp and t outlive the call.
        let r = unsafe {
            sys::ppoll(hp.as_mut_ptr(), hp.len() as libc::nfds_t, ts_ptr(&t), std::ptr::null())
        };
        let err = sys::errno();
        if waiting {
            let mut g = n.lock();
            n.remove_waiter(&mut g, efd);
            drop(g);
            runtime::drain(efd);
        }
        if r < 0 {
            return Err(libos_kernel::Errno(err));
        }
        rechecked = waiting && r == 0;
        for (j, &i) in hosts.iter().enumerate() {
            fds[i].revents = hp[j].revents;
            ready += c_int::from(hp[j].revents != 0);
        }
        if ready > 0 {
            return Ok(ready);
        }
        if deadline.is_some_and(|d| n.now() >= d) {
            return Ok(0);
        }
    }
}

fn ms_to_ns(ms: c_int) -> Option<u64> {
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

fn ts_to_ns(t: *const libc::timespec) -> Option<u64> {
    if t.is_null() {
        return None;
    }
    // SAFETY: caller's timespec.
    let t = unsafe { &*t };
    Some(t.tv_sec.max(0) as u64 * 1_000_000_000 + t.tv_nsec.max(0) as u64)
}

fn has_lib(fds: &[pollfd]) -> bool {
    fds.iter().any(|p| lib_fd(p.fd).is_some())
}

/// Runs `f` with `mask` as the thread's signal mask (not atomic with the wait, unlike
/// the host's ppoll/pselect: a signal arriving in between waits for the next wake-up).
fn with_mask<T>(mask: *const libc::sigset_t, f: impl FnOnce() -> T) -> T {
    if mask.is_null() {
        return f();
    }
    // SAFETY: valid sigset pointers.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe { sys::pthread_sigmask(libc::SIG_SETMASK, mask, &mut old) };
    let r = f();
    unsafe { sys::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    r
}

fn poll_ret(r: SysResult<c_int>) -> c_int {
    crate::ret(r, |v| v)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: libc::nfds_t, timeout: c_int) -> c_int {
    ffi!(-1, {
        let set = if fds.is_null() || n == 0 {
            &mut [][..]
        } else {
            unsafe { std::slice::from_raw_parts_mut(fds, n as usize) }
        };
        if !has_lib(set) {
            return unsafe { sys::poll(fds, n, timeout) };
        }
        poll_ret(poll_lib(set, ms_to_ns(timeout)))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn __poll_chk(
    fds: *mut pollfd,
    n: libc::nfds_t,
    timeout: c_int,
    fdslen: usize,
) -> c_int {
    if (fdslen / size_of::<pollfd>()) < n as usize {
        sys::say("buffer overflow detected (__poll_chk)");
        std::process::abort();
    }
    unsafe { poll(fds, n, timeout) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: libc::nfds_t,
    t: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    ffi!(-1, {
        let set = if fds.is_null() || n == 0 {
            &mut [][..]
        } else {
            unsafe { std::slice::from_raw_parts_mut(fds, n as usize) }
        };
        if !has_lib(set) {
            return unsafe { sys::ppoll(fds, n, t, mask) };
        }
        poll_ret(with_mask(mask, || poll_lib(set, ts_to_ns(t))))
    })
}

/// select over fd_sets holding a libos fd, through `poll_lib`.
///
/// # Safety
/// The sets are null or valid fd_sets; nfds <= FD_SETSIZE.
unsafe fn select_lib(
    nfds: c_int,
    r: *mut libc::fd_set,
    w: *mut libc::fd_set,
    e: *mut libc::fd_set,
    timeout: Option<u64>,
) -> SysResult<c_int> {
    let isset = |s: *mut libc::fd_set, fd: c_int| !s.is_null() && unsafe { libc::FD_ISSET(fd, s) };
    let mut pfds = Vec::new();
    for fd in 0..nfds {
        let mut ev = 0;
        if isset(r, fd) {
            ev |= libc::POLLIN;
        }
        if isset(w, fd) {
            ev |= libc::POLLOUT;
        }
        if isset(e, fd) {
            ev |= libc::POLLPRI;
        }
        if ev != 0 {
            pfds.push(pollfd { fd, events: ev, revents: 0 });
        }
    }
    poll_lib(&mut pfds, timeout)?;
    if pfds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        return Err(libos_kernel::Errno::EBADF);
    }
    for s in [r, w, e] {
        if !s.is_null() {
            // SAFETY: valid fd_set.
            unsafe { libc::FD_ZERO(s) };
        }
    }
    let mut count = 0;
    for p in &pfds {
        let set = |s: *mut libc::fd_set, hit: bool, count: &mut c_int| {
            if hit && !s.is_null() {
                // SAFETY: fd < nfds <= FD_SETSIZE.
                unsafe { libc::FD_SET(p.fd, s) };
                *count += 1;
            }
        };
        let rv = p.revents;
        set(
            r,
            p.events & libc::POLLIN != 0
                && rv & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0,
            &mut count,
        );
        set(
            w,
            p.events & libc::POLLOUT != 0 && rv & (libc::POLLOUT | libc::POLLERR) != 0,
            &mut count,
        );
        set(e, p.events & libc::POLLPRI != 0 && rv & libc::POLLPRI != 0, &mut count);
    }
    Ok(count)
}

fn sets_have_lib(nfds: c_int, sets: [*mut libc::fd_set; 3]) -> bool {
    (0..nfds.min(libc::FD_SETSIZE as c_int)).any(|fd| {
        lib_fd(fd).is_some()
            && sets.iter().any(|&s| !s.is_null() && unsafe { libc::FD_ISSET(fd, s) })
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn select(
    nfds: c_int,
    r: *mut libc::fd_set,
    w: *mut libc::fd_set,
    e: *mut libc::fd_set,
    t: *mut libc::timeval,
) -> c_int {
    ffi!(-1, {
        if !sets_have_lib(nfds, [r, w, e]) {
            return unsafe { sys::select(nfds, r, w, e, t) };
        }
        let timeout = (!t.is_null()).then(|| unsafe {
            (*t).tv_sec.max(0) as u64 * 1_000_000_000 + (*t).tv_usec.max(0) as u64 * 1000
        });
        let start = sys::monotonic_ns();
        let res = unsafe { select_lib(nfds.min(libc::FD_SETSIZE as c_int), r, w, e, timeout) };
        if let Some(total) = timeout {
            // Linux reports the time not slept.
            let left = total.saturating_sub(sys::monotonic_ns() - start);
            unsafe {
                (*t).tv_sec = (left / 1_000_000_000) as i64;
                (*t).tv_usec = (left % 1_000_000_000 / 1000) as i64;
            }
        }
        poll_ret(res)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pselect(
    nfds: c_int,
    r: *mut libc::fd_set,
    w: *mut libc::fd_set,
    e: *mut libc::fd_set,
    t: *const libc::timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    ffi!(-1, {
        if !sets_have_lib(nfds, [r, w, e]) {
            return unsafe { sys::pselect(nfds, r, w, e, t, mask) };
        }
        let timeout = ts_to_ns(t);
        poll_ret(with_mask(mask, || unsafe {
            select_lib(nfds.min(libc::FD_SETSIZE as c_int), r, w, e, timeout)
        }))
    })
}
