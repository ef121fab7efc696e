//! The `lib_*` functions of LibOS's sim.h that hosts call directly (NUSE calls
//! `lib_malloc`, `lib_free`, `lib_printf`, `lib_update_jiffies`, `lib_softirq_wakeup`),
//! plus the `task_*` exported slots. They act on this library copy's instance.

use crate::host::Host;
use crate::instance;
use crate::types::{EventFn, SimDevice, SimTask};
use crate::{guard, with};
use std::alloc::Layout;
use std::ffi::{c_char, c_int, c_ulong, c_void};

fn host() -> Option<Host> {
    with(|i| i.host).ok()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_task_create(private: *mut c_void, pid: c_ulong) -> *mut SimTask {
    guard(std::ptr::null_mut(), || {
        with(|i| {
            let h = i.id();
            i.tasks.insert(h, (private, pid));
            h as *mut SimTask
        })
        .unwrap_or(std::ptr::null_mut())
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_task_destroy(t: *mut SimTask) {
    guard((), || {
        let _ = with(|i| i.tasks.remove(&(t as usize)));
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_task_get_private(t: *mut SimTask) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        with(|i| i.tasks.get(&(t as usize)).map_or(std::ptr::null_mut(), |t| t.0))
            .unwrap_or(std::ptr::null_mut())
    })
}

/// The host's printk sink with the caller's `va_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_vprintf(fmt: *const c_char, ap: *mut c_void) -> c_int {
    guard(0, || host().map_or(0, |h| h.vprintf(fmt, ap)))
}

/// `lib_printf(fmt, ...)` for up to five integer or pointer arguments: on x86-64 they
/// arrive in the registers a non-variadic function with these parameters reads, and go
/// to the host's `vprintf` as a `va_list` over them (no floating point).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_printf(fmt: *const c_char, a: u64, b: u64, c: u64, d: u64, e: u64) {
    guard((), || {
        let Some(h) = host() else { return };
        #[cfg(target_arch = "x86_64")]
        crate::host::with_va_list(&[fmt as u64, a, b, c, d, e], 1, |ap| h.vprintf(fmt, ap));
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (h, a, b, c, d, e);
    })
}

const MALLOC_HDR: usize = 16;

/// A block from the library's allocator (the host's imported malloc once set).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_malloc(size: c_ulong) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        let Ok(l) = Layout::from_size_align(size as usize + MALLOC_HDR, 16) else {
            return std::ptr::null_mut();
        };
        // SAFETY: non-zero size; the size is kept for lib_free.
        unsafe {
            let p = std::alloc::alloc(l);
            if p.is_null() {
                return std::ptr::null_mut();
            }
            *(p as *mut usize) = l.size();
            p.add(MALLOC_HDR) as *mut c_void
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_free(p: *mut c_void) {
    guard((), || {
        if p.is_null() {
            return;
        }
        // SAFETY: `p` came from lib_malloc.
        unsafe {
            let base = (p as *mut u8).sub(MALLOC_HDR);
            let size = *(base as *const usize);
            std::alloc::dealloc(base, Layout::from_size_align_unchecked(size, 16));
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_memcpy(
    dst: *mut c_void,
    src: *const c_void,
    n: c_ulong,
) -> *mut c_void {
    if !dst.is_null() && !src.is_null() {
        // SAFETY: the caller's buffers of n bytes.
        unsafe { std::ptr::copy(src as *const u8, dst as *mut u8, n as usize) };
    }
    dst
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_memset(dst: *mut c_void, v: c_char, n: c_ulong) -> *mut c_void {
    if !dst.is_null() {
        // SAFETY: the caller's buffer of n bytes.
        unsafe { std::ptr::write_bytes(dst as *mut u8, v as u8, n as usize) };
    }
    dst
}

#[unsafe(no_mangle)]
pub extern "C" fn lib_random() -> c_ulong {
    guard(0, || host().and_then(|h| h.random()).unwrap_or(0) as c_ulong)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_event_schedule_ns(
    ns: u64,
    f: Option<EventFn>,
    ctx: *mut c_void,
) -> *mut c_void {
    guard(std::ptr::null_mut(), || match (host(), f) {
        (Some(h), Some(f)) => {
            h.schedule(ns, f, ctx, Some(lib_update_jiffies)).unwrap_or(std::ptr::null_mut())
        }
        _ => std::ptr::null_mut(),
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_event_cancel(ev: *mut c_void) {
    guard((), || {
        if let Some(h) = host() {
            h.cancel(ev);
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn lib_current_ns() -> u64 {
    guard(0, || with(|i| i.now()).unwrap_or(0))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_task_start(cb: Option<EventFn>, ctx: *mut c_void) -> *mut SimTask {
    guard(std::ptr::null_mut(), || match host().and_then(|h| h.imp.task_start.map(|f| (h, f))) {
        // SAFETY: imported table contract.
        Some((h, f)) => unsafe { f(h.kernel, cb, ctx) },
        None => std::ptr::null_mut(),
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn lib_task_wait() {
    guard((), || {
        if let Some(h) = host() {
            h.task_wait();
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn lib_task_yield() {
    guard((), || {
        if let Some((h, f)) = host().and_then(|h| h.imp.task_yield.map(|f| (h, f))) {
            // SAFETY: imported table contract.
            unsafe { f(h.kernel) };
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn lib_task_current() -> *mut SimTask {
    guard(std::ptr::null_mut(), || host().map_or(std::ptr::null_mut(), |h| h.task_current()))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_task_wakeup(t: *mut SimTask) -> c_int {
    guard(0, || host().map_or(0, |h| h.task_wakeup(t)))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_dev_xmit(d: *mut SimDevice, data: *mut u8, len: c_int) {
    guard((), || {
        let (Some(h), Some(f)) = (host(), host().and_then(|h| h.imp.dev_xmit)) else { return };
        // SAFETY: the caller's frame of len bytes.
        unsafe { f(h.kernel, d, data, len) };
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_signal_raised(t: *mut SimTask, sig: c_int) {
    guard((), || {
        if let Some((h, f)) = host().and_then(|h| h.imp.signal_raised.map(|f| (h, f))) {
            // SAFETY: imported table contract.
            unsafe { f(h.kernel, t, sig) };
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_poll_event(flag: c_int, ctx: *mut c_void) {
    guard((), || {
        if let Some(h) = host() {
            h.poll_event(flag, ctx);
        }
    })
}

/// Runs what is due now: expired timers, queued frames, wake-ups.
#[unsafe(no_mangle)]
pub extern "C" fn lib_softirq_wakeup() {
    guard((), instance::run_due)
}

/// The clock moved (a task woke, a timer fired): reads the host clock. Also the
/// `pre_fn` of every host event the library schedules; the work itself happens in the
/// event's `fn` (or `lib_softirq_wakeup`).
#[unsafe(no_mangle)]
pub extern "C" fn lib_update_jiffies() {
    guard((), || {
        let _ = with(|i| i.now());
    })
}

/// LibOS built /proc/net here; libos's procfs needs no setup.
#[unsafe(no_mangle)]
pub extern "C" fn lib_proc_net_initialize() {}
