//! The global allocator: through the host's imported `malloc`/`free` once `lib_init`
//! provided them (DCE gives each node its own heap), the system allocator before that or
//! when the slots are NULL or `malloc` fails (DCE's `ErrorRate` fault injection).
//! Every block carries a 32-byte header naming the allocator that made it, so a block
//! is always returned to its own allocator.

use crate::types::SimKernel;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_ulong, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

type MallocFn = unsafe extern "C" fn(*mut SimKernel, c_ulong) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut SimKernel, *mut c_void);

static MALLOC: AtomicUsize = AtomicUsize::new(0);
static FREE: AtomicUsize = AtomicUsize::new(0);
static KERNEL: AtomicUsize = AtomicUsize::new(0);
/// Blocks handed out by the host's malloc (for tests and the harness's report).
pub static HOST_BLOCKS: AtomicUsize = AtomicUsize::new(0);

const HDR: usize = 32;

/// Installs the host's allocator (both slots, or neither).
pub(crate) fn set_host(m: Option<MallocFn>, f: Option<FreeFn>, kernel: *mut SimKernel) {
    let (m, f) = match (m, f) {
        (Some(m), Some(f)) => (m as usize, f as usize),
        _ => (0, 0),
    };
    KERNEL.store(kernel as usize, Ordering::Relaxed);
    FREE.store(f, Ordering::Relaxed);
    MALLOC.store(m, Ordering::Relaxed);
}

pub struct HostAlloc;

#[global_allocator]
static GLOBAL: HostAlloc = HostAlloc;

/// Header words just below the pointer handed out: [base, free fn (0 = System),
/// kernel cookie, system layout size].
unsafe fn header(p: *mut u8) -> *mut usize {
    // SAFETY: every block has HDR bytes below `p`, 8-aligned.
    unsafe { p.sub(HDR) as *mut usize }
}

unsafe impl GlobalAlloc for HostAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(16);
        let pad = HDR.next_multiple_of(align);
        let m = MALLOC.load(Ordering::Relaxed);
        if m != 0 {
            // SAFETY: `m` was stored from a valid `MallocFn`.
            let malloc: MallocFn = unsafe { std::mem::transmute::<usize, MallocFn>(m) };
            let kernel = KERNEL.load(Ordering::Relaxed) as *mut SimKernel;
            let want = layout.size() + HDR + align;
            // SAFETY: the host's malloc contract.
            let base = unsafe { malloc(kernel, want as c_ulong) } as *mut u8;
            if !base.is_null() {
                let p = (base as usize + HDR).next_multiple_of(align) as *mut u8;
                // SAFETY: p - HDR >= base and p + size <= base + want.
                unsafe {
                    let h = header(p);
                    *h = base as usize;
                    *h.add(1) = FREE.load(Ordering::Relaxed);
                    *h.add(2) = kernel as usize;
                    *h.add(3) = 0;
                }
                HOST_BLOCKS.fetch_add(1, Ordering::Relaxed);
                return p;
            }
        }
        let Ok(sys) = Layout::from_size_align(layout.size() + pad, align) else {
            return std::ptr::null_mut();
        };
        // SAFETY: non-zero size.
        let base = unsafe { System.alloc(sys) };
        if base.is_null() {
            return base;
        }
        // SAFETY: pad >= HDR bytes below p, inside the block.
        unsafe {
            let p = base.add(pad);
            let h = header(p);
            *h = base as usize;
            *h.add(1) = 0;
            *h.add(2) = 0;
            *h.add(3) = sys.size();
            p
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc` above.
        unsafe {
            let h = header(p);
            let base = *h as *mut u8;
            let free = *h.add(1);
            if free != 0 {
                let free: FreeFn = std::mem::transmute::<usize, FreeFn>(free);
                free(*h.add(2) as *mut SimKernel, base as *mut c_void);
            } else {
                let align = layout.align().max(16);
                System.dealloc(base, Layout::from_size_align_unchecked(*h.add(3), align));
            }
        }
    }
}
