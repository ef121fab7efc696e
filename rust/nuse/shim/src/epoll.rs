//! epoll over libos fds. The epoll instance is the host's (host fds are registered on
//! it natively); libos fds are kept in a side table per epoll fd and checked against
//! the kernel. A wait with libos fds registered blocks in the host poll on the epoll fd
//! plus the thread's eventfd (see `poll`). EPOLLET reports a socket again only after a
//! readiness change somewhere in the instance; EPOLLONESHOT disables until EPOLL_CTL_MOD.

use crate::poll::{lib_revents, remaining, thread_efd};
use crate::{ffi, instance, lib_fd};
use libc::{c_int, epoll_event};
use libos_kernel::{Errno, Fd, SysResult};
use libos_nuse::{runtime, sys};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

struct Reg {
    fd: c_int,
    kfd: Fd,
    events: u32,
    data: u64,
    last_mask: u32,
    last_gen: u64,
}

static TABLES: Mutex<BTreeMap<c_int, Vec<Reg>>> = Mutex::new(BTreeMap::new());
static ANY: AtomicBool = AtomicBool::new(false);

fn tables() -> std::sync::MutexGuard<'static, BTreeMap<c_int, Vec<Reg>>> {
    TABLES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The epoll fd `fd` is being closed.
pub fn close_epfd(fd: c_int) {
    if ANY.load(Ordering::Relaxed) {
        tables().remove(&fd);
    }
}

/// The libos socket `kfd` closed: drop its registrations.
pub fn forget(kfd: Fd) {
    if ANY.load(Ordering::Relaxed) {
        for regs in tables().values_mut() {
            regs.retain(|r| r.kfd != kfd);
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn epoll_create(size: c_int) -> c_int {
    unsafe { sys::epoll_create(size) }
}

#[unsafe(no_mangle)]
pub extern "C" fn epoll_create1(flags: c_int) -> c_int {
    unsafe { sys::epoll_create1(flags) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut epoll_event) -> c_int {
    ffi!(-1, {
        let Some(kfd) = lib_fd(fd) else { return unsafe { sys::epoll_ctl(ep, op, fd, ev) } };
        if crate::remote::on() {
            crate::say_once(
                "epoll on sockets of an attached libos instance is not supported".into(),
            );
            sys::set_errno(libc::EPERM);
            return -1;
        }
        // The epoll fd must be real.
        if unsafe { sys::fcntl(ep, libc::F_GETFD, 0) } < 0 {
            return -1;
        }
        let r = (|| {
            let mut t = tables();
            let regs = t.entry(ep).or_default();
            let pos = regs.iter().position(|r| r.fd == fd);
            let (events, data) = if ev.is_null() {
                (0, 0)
            } else {
                // SAFETY: caller's event (packed struct: copy the fields out).
                unsafe { ((*ev).events, (*ev).u64) }
            };
            match (op, pos) {
                (libc::EPOLL_CTL_ADD, Some(_)) => return Err(Errno::EEXIST),
                (libc::EPOLL_CTL_ADD, None) => {
                    regs.push(Reg { fd, kfd, events, data, last_mask: 0, last_gen: u64::MAX });
                    ANY.store(true, Ordering::Relaxed);
                }
                (libc::EPOLL_CTL_MOD, Some(i)) => {
                    regs[i].events = events;
                    regs[i].data = data;
                    regs[i].last_mask = 0;
                    regs[i].last_gen = u64::MAX;
                }
                (libc::EPOLL_CTL_DEL, Some(i)) => {
                    regs.remove(i);
                }
                (libc::EPOLL_CTL_MOD | libc::EPOLL_CTL_DEL, None) => return Err(Errno::ENOENT),
                _ => return Err(Errno::EINVAL),
            }
            Ok(())
        })();
        crate::ret(r, |_| 0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_wait(
    ep: c_int,
    evs: *mut epoll_event,
    max: c_int,
    timeout: c_int,
) -> c_int {
    unsafe { epoll_pwait(ep, evs, max, timeout, std::ptr::null()) }
}

/// Ready libos registrations of `ep`, written to `out` (at most `out.len()`).
fn collect(ep: c_int, generation: u64, st: &libos_nuse::State, out: &mut [epoll_event]) -> usize {
    let mut t = tables();
    let Some(regs) = t.get_mut(&ep) else { return 0 };
    let mut k = 0;
    for r in regs.iter_mut() {
        if k == out.len() {
            break;
        }
        let rev = lib_revents(st, r.kfd, r.events & !(libc::EPOLLET | libc::EPOLLONESHOT) as u32);
        if rev == 0 {
            continue;
        }
        if r.events & libc::EPOLLET as u32 != 0 && rev == r.last_mask && generation == r.last_gen {
            continue;
        }
        r.last_mask = rev;
        r.last_gen = generation;
        out[k] = epoll_event { events: rev, u64: r.data };
        k += 1;
        if r.events & libc::EPOLLONESHOT as u32 != 0 {
            r.events = 0;
        }
    }
    k
}

fn wait_lib(ep: c_int, out: &mut [epoll_event], timeout: Option<u64>) -> SysResult<c_int> {
    let n = instance()?;
    let deadline = timeout.map(|t| n.now() + t);
    loop {
        let mut g = n.lock();
        let generation = g.generation;
        let ready = collect(ep, generation, &g, out);
        if ready > 0 {
            drop(g);
            let rest = &mut out[ready..];
            let h = if rest.is_empty() {
                0
            } else {
                // SAFETY: rest is a valid buffer of rest.len() events.
                unsafe { sys::epoll_wait(ep, rest.as_mut_ptr(), rest.len() as c_int, 0) }.max(0)
            };
            return Ok(ready as c_int + h);
        }
        let efd = thread_efd()?;
        n.add_waiter(&mut g, efd);
        drop(g);
        let mut hp = [
            libc::pollfd { fd: ep, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: efd, events: libc::POLLIN, revents: 0 },
        ];
        let t = remaining(n, deadline);
        let tp = t.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: hp and t outlive the call.
        let r = unsafe { sys::ppoll(hp.as_mut_ptr(), 2, tp, std::ptr::null()) };
        let err = sys::errno();
        {
            let mut g = n.lock();
            n.remove_waiter(&mut g, efd);
        }
        runtime::drain(efd);
        if r < 0 {
            return Err(Errno(err));
        }
        if hp[0].revents != 0 {
            // SAFETY: out is a valid buffer.
            let h = unsafe { sys::epoll_wait(ep, out.as_mut_ptr(), out.len() as c_int, 0) };
            if h != 0 {
                return if h < 0 { Err(Errno(sys::errno())) } else { Ok(h) };
            }
        }
        if deadline.is_some_and(|d| n.now() >= d) {
            return Ok(0);
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_pwait(
    ep: c_int,
    evs: *mut epoll_event,
    max: c_int,
    timeout: c_int,
    mask: *const libc::sigset_t,
) -> c_int {
    ffi!(-1, {
        let has_lib =
            ANY.load(Ordering::Relaxed) && tables().get(&ep).is_some_and(|r| !r.is_empty());
        if !has_lib || max <= 0 || evs.is_null() {
            return unsafe { sys::epoll_pwait(ep, evs, max, timeout, mask) };
        }
        // SAFETY: caller's array of max events.
        let out = unsafe { std::slice::from_raw_parts_mut(evs, max as usize) };
        let t = (timeout >= 0).then(|| timeout as u64 * 1_000_000);
        let r = if mask.is_null() {
            wait_lib(ep, out, t)
        } else {
            let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
            unsafe { sys::pthread_sigmask(libc::SIG_SETMASK, mask, &mut old) };
            let r = wait_lib(ep, out, t);
            unsafe { sys::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
            r
        };
        crate::ret(r, |v| v)
    })
}
