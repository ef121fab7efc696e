//! libos-abi: libos behind the Linux LibOS C ABI (API v2), so a host written for LibOS —
//! ns-3 DCE's `LinuxSocketFdFactory` (which `dlsym`s `sim_init`), NUSE-style preloaders
//! (which call `lib_init`), or any C program using include/sim-init.h — loads this
//! library in place of `liblinux.so`.
//!
//! # Shape
//!
//! - `sim_init`/`lib_init` copy the host's `SimImported` table, create one [`Instance`]
//!   (a `libos_kernel::Kernel` plus the handle tables the ABI needs) and fill the 29
//!   `SimExported` slots. The instance pointer is the library's one piece of mutable
//!   global state besides the allocator's hooks, so loaders that swap a library copy's
//!   `.data/.bss` per node (DCE's Cooja loader) or `dlmopen` namespaces isolate nodes.
//! - Handles given to the host (`SimSocket*`, `SimDevice*`, `SimTask*`, `SimSysFile*`,
//!   packet tokens, poll tables) are small integers looked up in ordered maps: a stale or
//!   foreign handle gives `-EBADF`/`-ENODEV`, never a wild dereference.
//! - Time is the host's `current_ns`; the kernel's timers become ONE pending host event at
//!   `Kernel::next_deadline`, cancelled and re-armed after every entry (`instance::flush`).
//! - Blocking calls (a blocking `recvmsg`, `accept`, `connect`, `sendmsg`) park the
//!   calling host task with `task_current` + `task_wait` and are woken by `task_wakeup`
//!   when the socket's readiness changes; hosts that poll get `poll_event(mask, token)`.
//! - Every exported function runs under `catch_unwind` ([`guard`]); a reentrant call
//!   (the host calling back in from `dev_xmit`) is refused with `-EDEADLK` instead of
//!   aliasing the instance. No threads, no thread-locals of ours.

#![allow(clippy::missing_safety_doc)]

mod alloc;
mod device;
mod host;
mod instance;
mod libfns;
mod msg;
mod netlink;
mod sock;
mod sockio;
mod sysfs;
pub mod types;

use instance::Instance;
use libos_kernel::{Errno, SysResult};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicPtr, Ordering};
use types::{SimExported, SimImported, SimKernel};

/// Linux EDEADLK (the kernel's errno table has no name for it).
const EDEADLK: Errno = Errno(35);

/// The instance the last `lib_init` of this library copy created.
static INSTANCE: AtomicPtr<Instance> = AtomicPtr::new(std::ptr::null_mut());

/// Runs `f` on the instance. ENODEV before `lib_init`; EDEADLK when called from inside
/// another entry (a host callback re-entering), which would alias the instance.
pub(crate) fn with<R>(f: impl FnOnce(&mut Instance) -> R) -> SysResult<R> {
    let p = INSTANCE.load(Ordering::Relaxed);
    if p.is_null() {
        return Err(Errno::ENODEV);
    }
    // SAFETY: `p` came from Box::into_raw in lib_init and is never freed; the host
    // calls the library from one thread at a time (the ABI's cooperative task model),
    // and `busy` refuses a second live borrow.
    let inst = unsafe { &mut *p };
    if inst.busy {
        return Err(EDEADLK);
    }
    inst.busy = true;
    let r = f(inst);
    inst.busy = false;
    Ok(r)
}

/// `with` for closures that fail themselves.
pub(crate) fn with_r<R>(f: impl FnOnce(&mut Instance) -> SysResult<R>) -> SysResult<R> {
    with(f).and_then(|r| r)
}

/// Runs an exported function body; a panic becomes `fail` and never unwinds into C.
pub(crate) fn guard<R>(fail: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            let p = INSTANCE.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: as in `with`; the panicking borrow is gone.
                unsafe { (*p).busy = false };
            }
            fail
        }
    }
}

/// `-errno` for the C side.
pub(crate) fn neg(e: Errno) -> i32 {
    -e.0
}

pub(crate) fn ret0(r: SysResult<()>) -> i32 {
    r.map_or_else(neg, |_| 0)
}

/// Linux LibOS `lib_init`: copies the imported table, boots an instance (loopback up,
/// 127.0.0.1/8) and fills every exported slot. A NULL `exported` or `imported` does
/// nothing.
///
/// # Safety
/// `exported` and `imported` point to the API v2 structures of sim-init.h.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_init(
    exported: *mut SimExported,
    imported: *const SimImported,
    kernel: *mut SimKernel,
) {
    guard((), || {
        if exported.is_null() || imported.is_null() {
            return;
        }
        // SAFETY: caller's contract.
        let imp = unsafe { *imported };
        alloc::set_host(imp.malloc, imp.free, kernel);
        let h = host::Host { imp, kernel };
        host::install_panic_log(&h);
        let inst = Box::new(Instance::new(h));
        // A previous instance of this copy is left alive: the host may still hold its
        // handles, and its timers may still fire into it.
        INSTANCE.store(Box::into_raw(inst), Ordering::Relaxed);
        // SAFETY: caller's contract.
        unsafe { *exported = exports() };
        if let Ok(h) = with(|i| i.host) {
            h.print("libos: LibOS ABI v2 instance up (libos-abi)\n");
        }
    })
}

/// What ns-3 DCE `dlsym`s: the same as `lib_init`.
///
/// # Safety
/// As `lib_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sim_init(
    exported: *mut SimExported,
    imported: *const SimImported,
    kernel: *mut SimKernel,
) {
    // SAFETY: same contract.
    unsafe { lib_init(exported, imported, kernel) }
}

/// The 29 exported slots, in ABI order.
fn exports() -> SimExported {
    SimExported {
        task_create: Some(libfns::lib_task_create),
        task_destroy: Some(libfns::lib_task_destroy),
        task_get_private: Some(libfns::lib_task_get_private),
        sock_socket: Some(sock::sock_socket),
        sock_close: Some(sock::sock_close),
        sock_recvmsg: Some(sockio::sock_recvmsg),
        sock_sendmsg: Some(sockio::sock_sendmsg),
        sock_getsockname: Some(sock::sock_getsockname),
        sock_getpeername: Some(sock::sock_getpeername),
        sock_bind: Some(sock::sock_bind),
        sock_connect: Some(sock::sock_connect),
        sock_listen: Some(sock::sock_listen),
        sock_shutdown: Some(sock::sock_shutdown),
        sock_accept: Some(sock::sock_accept),
        sock_ioctl: Some(sockio::sock_ioctl),
        sock_setsockopt: Some(sock::sock_setsockopt),
        sock_getsockopt: Some(sock::sock_getsockopt),
        sock_poll: Some(sockio::sock_poll),
        sock_pollfreewait: Some(sockio::sock_pollfreewait),
        dev_create: Some(device::dev_create),
        dev_destroy: Some(device::dev_destroy),
        dev_get_private: Some(device::lib_dev_get_private),
        dev_set_address: Some(device::dev_set_address),
        dev_set_mtu: Some(device::dev_set_mtu),
        dev_create_packet: Some(device::lib_dev_create_packet),
        dev_rx: Some(device::lib_dev_rx),
        sys_iterate_files: Some(sysfs::sys_iterate_files),
        sys_file_read: Some(sysfs::sys_file_read),
        sys_file_write: Some(sysfs::sys_file_write),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{c_char, c_int, c_void};
    use std::sync::atomic::AtomicUsize;

    static PRINTED: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn count_vprintf(
        _: *mut SimKernel,
        _: *const c_char,
        _: *mut c_void,
    ) -> c_int {
        PRINTED.fetch_add(1, Ordering::Relaxed);
        0
    }

    #[test]
    fn a_panic_becomes_the_fail_value_and_a_log_line() {
        // SAFETY: every slot is an Option of a fn pointer: all-zero is all-None.
        let mut imp: SimImported = unsafe { std::mem::zeroed() };
        imp.vprintf = Some(count_vprintf);
        host::install_panic_log(&host::Host { imp, kernel: std::ptr::null_mut() });
        let before = PRINTED.load(Ordering::Relaxed);
        assert_eq!(guard(-5, || -> i32 { panic!("deliberate") }), -5);
        assert!(PRINTED.load(Ordering::Relaxed) > before);
        let _ = std::panic::take_hook();
    }

    #[test]
    fn calls_before_lib_init_get_enodev() {
        if INSTANCE.load(Ordering::Relaxed).is_null() {
            assert_eq!(with(|_| ()).err(), Some(Errno::ENODEV));
        }
    }
}
