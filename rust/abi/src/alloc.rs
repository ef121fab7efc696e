//! The global allocator: through the host's imported `malloc`/`free` once `lib_init`
//! provided them (DCE gives each node its own heap), the system allocator before that or
//! when the slots are NULL or `malloc` fails (DCE's `ErrorRate` fault injection).
//! Every block carries a 32-byte header naming the allocator that made it, so a block
//! is always returned to its own allocator.

use crate::types::SimKernel;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_ulong, c_void};
use std::sync::atomic::{AtomicUsize, Ordering, fence};

type MallocFn = unsafe extern "C" fn(*mut SimKernel, c_ulong) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut SimKernel, *mut c_void);

static MALLOC: AtomicUsize = AtomicUsize::new(0);
static FREE: AtomicUsize = AtomicUsize::new(0);
static KERNEL: AtomicUsize = AtomicUsize::new(0);
/// A sequence lock over the three words above (odd while `set_host` writes), so an
/// allocation on another thread never pairs one host's `malloc` with another's `free`.
static SEQ: AtomicUsize = AtomicUsize::new(0);
/// Blocks handed out by the host's malloc (for tests and the harness's report).
pub static HOST_BLOCKS: AtomicUsize = AtomicUsize::new(0);

const HDR: usize = 32;

/// Installs the host's allocator (both slots, or neither).
pub(crate) fn set_host(m: Option<MallocFn>, f: Option<FreeFn>, kernel: *mut SimKernel) {
    let (m, f) = match (m, f) {
        (Some(m), Some(f)) => (m as usize, f as usize),
        _ => (0, 0),
    };
    let s = loop {
        let s = SEQ.load(Ordering::Relaxed);
        if s.is_multiple_of(2)
            && SEQ.compare_exchange(s, s + 1, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            break s;
        }
        std::hint::spin_loop();
    };
    fence(Ordering::Release);
    KERNEL.store(kernel as usize, Ordering::Relaxed);
    FREE.store(f, Ordering::Relaxed);
    MALLOC.store(m, Ordering::Relaxed);
    SEQ.store(s + 2, Ordering::Release);
}

/// (malloc, free, kernel) as one consistent snapshot.
fn host() -> (usize, usize, usize) {
    loop {
        let s = SEQ.load(Ordering::Acquire);
        if s.is_multiple_of(2) {
            let v = (
                MALLOC.load(Ordering::Relaxed),
                FREE.load(Ordering::Relaxed),
                KERNEL.load(Ordering::Relaxed),
            );
            fence(Ordering::Acquire);
            if SEQ.load(Ordering::Relaxed) == s {
                return v;
            }
        }
        std::hint::spin_loop();
    }
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
        let (m, free, kernel) = host();
        if m != 0 {
            // SAFETY: `m` was stored from a valid `MallocFn`.
            let malloc: MallocFn = unsafe { std::mem::transmute::<usize, MallocFn>(m) };
            let kernel = kernel as *mut SimKernel;
            let want = layout.size() + HDR + align;
            // SAFETY: the host's malloc contract.
            let base = unsafe { malloc(kernel, want as c_ulong) } as *mut u8;
            if !base.is_null() {
                let p = (base as usize + HDR).next_multiple_of(align) as *mut u8;
                // SAFETY: p - HDR >= base and p + size <= base + want.
                unsafe {
                    let h = header(p);
                    *h = base as usize;
                    *h.add(1) = free;
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

#[cfg(test)]
mod tests {
    use super::*;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    /// A host malloc that returns only 8-aligned blocks (as an 8-byte size header would).
    unsafe extern "C" fn host_malloc(_k: *mut SimKernel, n: c_ulong) -> *mut c_void {
        CALLS.fetch_add(1, Ordering::Relaxed);
        let l = Layout::from_size_align(n as usize + 8, 16).unwrap();
        // SAFETY: non-zero size; the size is kept in front for host_free.
        unsafe {
            let p = System.alloc(l);
            *(p as *mut usize) = n as usize + 8;
            p.add(8) as *mut c_void
        }
    }

    unsafe extern "C" fn host_free(_k: *mut SimKernel, p: *mut c_void) {
        // SAFETY: `p` came from host_malloc.
        unsafe {
            let base = (p as *mut u8).sub(8);
            let n = *(base as *const usize);
            System.dealloc(base, Layout::from_size_align(n, 16).unwrap());
        }
    }

    #[test]
    fn blocks_return_to_their_allocator_at_any_alignment() {
        let layouts: Vec<Layout> = [(1, 1), (24, 8), (100, 16), (3, 64), (5000, 4096)]
            .iter()
            .map(|&(s, a)| Layout::from_size_align(s, a).unwrap())
            .collect();
        // SAFETY: every block is freed with its own layout.
        unsafe {
            let sys: Vec<*mut u8> = layouts.iter().map(|&l| HostAlloc.alloc(l)).collect();
            set_host(Some(host_malloc), Some(host_free), std::ptr::null_mut());
            let before = CALLS.load(Ordering::Relaxed);
            let host: Vec<*mut u8> = layouts.iter().map(|&l| HostAlloc.alloc(l)).collect();
            assert!(CALLS.load(Ordering::Relaxed) >= before + layouts.len());
            set_host(None, None, std::ptr::null_mut());
            for (p, l) in sys.iter().chain(&host).zip(layouts.iter().chain(&layouts)) {
                assert_eq!(*p as usize % l.align(), 0, "{l:?}");
                std::ptr::write_bytes(*p, 0xa5, l.size());
            }
            // Freed after the host allocator was removed: each goes back to its own.
            for (p, l) in sys.into_iter().chain(host).zip(layouts.iter().chain(&layouts)) {
                HostAlloc.dealloc(p, *l);
            }
        }
    }
}
