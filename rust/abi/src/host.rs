//! Calls into the host's imported table, each tolerating a NULL slot.

use crate::types::{EventFn, PreFn, SimDevice, SimImported, SimKernel, SimTask};
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The printk sink for the panic hook, which cannot borrow the instance: the host's
/// `vprintf` and kernel cookie (0 when none).
static LOG_FN: AtomicUsize = AtomicUsize::new(0);
static LOG_KERNEL: AtomicUsize = AtomicUsize::new(0);

type VprintfFn = unsafe extern "C" fn(*mut SimKernel, *const c_char, *mut c_void) -> c_int;

/// Sends panic messages to the host's printk sink (DCE: the node's var/log/messages)
/// instead of the process's stderr. The panic itself is caught at the boundary.
pub(crate) fn install_panic_log(h: &Host) {
    LOG_FN.store(h.imp.vprintf.map_or(0, |f| f as usize), Ordering::Relaxed);
    LOG_KERNEL.store(h.kernel as usize, Ordering::Relaxed);
    std::panic::set_hook(Box::new(|info| {
        let f = LOG_FN.load(Ordering::Relaxed);
        if f == 0 {
            return;
        }
        // SAFETY: stored from a valid `VprintfFn`.
        let vprintf = unsafe { std::mem::transmute::<usize, VprintfFn>(f) };
        let mut imp = EMPTY;
        imp.vprintf = Some(vprintf);
        let h = Host { imp, kernel: LOG_KERNEL.load(Ordering::Relaxed) as *mut SimKernel };
        h.print(&format!("libos: BUG: {info}\n"));
    }));
}

/// A table with every slot NULL.
const EMPTY: SimImported = SimImported {
    vprintf: None,
    malloc: None,
    free: None,
    memcpy: None,
    memset: None,
    atexit: None,
    access: None,
    getenv: None,
    mkdir: None,
    open: None,
    __fxstat: None,
    fseek: None,
    setbuf: None,
    fdopen: None,
    ftell: None,
    fclose: None,
    fread: None,
    fwrite: None,
    random: None,
    event_schedule_ns: None,
    event_cancel: None,
    current_ns: None,
    task_start: None,
    task_wait: None,
    task_current: None,
    task_wakeup: None,
    task_yield: None,
    dev_xmit: None,
    signal_raised: None,
    poll_event: None,
};

#[derive(Clone, Copy)]
pub struct Host {
    pub imp: SimImported,
    pub kernel: *mut SimKernel,
}

/// x86-64 SysV `va_list` element (`__va_list_tag`).
#[cfg(target_arch = "x86_64")]
#[repr(C)]
pub(crate) struct VaListTag {
    pub gp_offset: u32,
    pub fp_offset: u32,
    pub overflow_arg_area: *mut c_void,
    pub reg_save_area: *mut c_void,
}

/// A `va_list` whose integer arguments are `args`, all in the register save area.
#[cfg(target_arch = "x86_64")]
pub(crate) fn with_va_list<R>(
    args: &[u64; 6],
    first: usize,
    f: impl FnOnce(*mut c_void) -> R,
) -> R {
    // 6 general registers then 8 vector registers of 16 bytes (SysV ABI §3.5.7).
    let mut save = [0u64; 6 + 16];
    save[..6].copy_from_slice(args);
    let mut overflow = [0u64; 8];
    let mut tag = VaListTag {
        gp_offset: (first * 8) as u32,
        fp_offset: 48 + 128,
        overflow_arg_area: overflow.as_mut_ptr() as *mut c_void,
        reg_save_area: save.as_mut_ptr() as *mut c_void,
    };
    f(&mut tag as *mut VaListTag as *mut c_void)
}

impl Host {
    /// The host's clock (`current_ns`), or None when the slot is NULL.
    pub fn now(&self) -> Option<u64> {
        // SAFETY: the imported table's contract.
        self.imp.current_ns.map(|f| unsafe { f(self.kernel) })
    }

    pub fn random(&self) -> Option<u64> {
        // SAFETY: as above.
        self.imp.random.map(|f| unsafe { f(self.kernel) })
    }

    /// A message to the host's printk sink (`vprintf("%s", msg)`).
    pub fn print(&self, msg: &str) {
        let Some(vprintf) = self.imp.vprintf else { return };
        let Ok(text) = CString::new(msg.replace('\0', " ")) else { return };
        #[cfg(target_arch = "x86_64")]
        with_va_list(&[0, text.as_ptr() as u64, 0, 0, 0, 0], 1, |ap| {
            // SAFETY: "%s" consumes the one pointer argument of `ap`.
            unsafe { vprintf(self.kernel, c"%s".as_ptr(), ap) };
        });
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (vprintf, text);
    }

    /// `vprintf` with the caller's own `va_list`.
    pub fn vprintf(&self, fmt: *const c_char, ap: *mut c_void) -> c_int {
        match self.imp.vprintf {
            // SAFETY: the caller passes a valid format and va_list.
            Some(f) if !fmt.is_null() => unsafe { f(self.kernel, fmt, ap) },
            _ => 0,
        }
    }

    pub fn xmit(&self, dev: *mut SimDevice, frame: &mut [u8]) {
        if let Some(f) = self.imp.dev_xmit {
            // SAFETY: the frame lives for the call; the host copies it.
            unsafe { f(self.kernel, dev, frame.as_mut_ptr(), frame.len() as c_int) };
        }
    }

    pub fn poll_event(&self, flag: c_int, token: *mut c_void) {
        if let Some(f) = self.imp.poll_event {
            // SAFETY: `token` is the host's own poll token.
            unsafe { f(flag, token) };
        }
    }

    pub fn task_current(&self) -> *mut SimTask {
        match self.imp.task_current {
            // SAFETY: imported table contract.
            Some(f) => unsafe { f(self.kernel) },
            None => std::ptr::null_mut(),
        }
    }

    /// Blocks the current task until `task_wakeup`; false when the host cannot.
    pub fn task_wait(&self) -> bool {
        match self.imp.task_wait {
            Some(f) => {
                // SAFETY: imported table contract.
                unsafe { f(self.kernel) };
                true
            }
            None => false,
        }
    }

    pub fn can_block(&self) -> bool {
        self.imp.task_wait.is_some() && self.imp.task_current.is_some()
    }

    pub fn task_wakeup(&self, t: *mut SimTask) -> c_int {
        match self.imp.task_wakeup {
            // SAFETY: `t` is a task the host gave us.
            Some(f) => unsafe { f(self.kernel, t) },
            None => 0,
        }
    }

    pub fn schedule(
        &self,
        ns: u64,
        f: EventFn,
        ctx: *mut c_void,
        pre: Option<PreFn>,
    ) -> Option<*mut c_void> {
        // SAFETY: imported table contract.
        self.imp.event_schedule_ns.map(|s| unsafe { s(self.kernel, ns, Some(f), ctx, pre) })
    }

    pub fn cancel(&self, ev: *mut c_void) {
        if let Some(f) = self.imp.event_cancel {
            // SAFETY: `ev` is a handle event_schedule_ns returned and that has not fired.
            unsafe { f(self.kernel, ev) };
        }
    }
}
