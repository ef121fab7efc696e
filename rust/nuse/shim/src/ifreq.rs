//! The classic interface and routing ioctls on a libos socket (ifconfig, route,
//! `ping -I`): the kernel answers on copies of the structures
//! (`Kernel::ioctl_ifreq`, `ioctl_ifconf`, `ioctl_rtentry`); this side copies them in and
//! out of the program's memory and follows the pointers inside (`ifc_buf`, `rt_dev`).

use libc::{c_int, c_ulong};
use libos_kernel::socket::ioctl::{IFREQ_LEN, RTENTRY_LEN};
use libos_kernel::{Errno, SysResult};
use libos_nuse::State;

/// Offset of `char *rt_dev` in the x86-64 `struct rtentry`.
const RT_DEV: usize = 88;

/// Requests on a `struct ifreq` (SIOCGIF*/SIOCSIF*, SIOCGIFINDEX, SIOCGIFNAME).
pub fn is_ifreq(req: c_ulong) -> bool {
    ((0x8910..=0x8933).contains(&req) || req == libc::SIOCGIFTXQLEN)
        && !matches!(req, libc::SIOCGIFCONF | libc::SIOCADDRT | libc::SIOCDELRT)
}

/// # Safety
/// `arg` points to a `struct ifreq`.
pub unsafe fn ifreq(st: &mut State, now: u64, req: c_ulong, arg: usize) -> SysResult<c_int> {
    let mut ifr = [0u8; IFREQ_LEN];
    // SAFETY: caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(arg as *const u8, ifr.as_mut_ptr(), IFREQ_LEN) };
    st.k.ioctl_ifreq(now, req as u32, &mut ifr)?;
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(ifr.as_ptr(), arg as *mut u8, IFREQ_LEN) };
    Ok(0)
}

/// SIOCGIFCONF: as many entries as fit in `ifc_len`; a null buffer asks for the size.
///
/// # Safety
/// `ifc` points to a struct ifconf whose buffer holds `ifc_len` bytes.
pub unsafe fn ifconf(st: &mut State, ifc: *mut libc::ifconf) -> SysResult<c_int> {
    // SAFETY: caller's contract.
    let ifc = unsafe { &mut *ifc };
    let entries = st.k.ioctl_ifconf();
    // SAFETY: ifcu_buf is the buffer pointer member.
    let buf = unsafe { ifc.ifc_ifcu.ifcu_buf };
    if buf.is_null() {
        ifc.ifc_len = (entries.len() * IFREQ_LEN) as c_int;
        return Ok(0);
    }
    let n = entries.len().min(ifc.ifc_len.max(0) as usize / IFREQ_LEN);
    for (i, e) in entries.iter().take(n).enumerate() {
        // SAFETY: i < n entries fit in the caller's buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                e.as_ptr(),
                (buf as *mut u8).add(i * IFREQ_LEN),
                IFREQ_LEN,
            )
        };
    }
    ifc.ifc_len = (n * IFREQ_LEN) as c_int;
    Ok(0)
}

/// SIOCADDRT / SIOCDELRT.
///
/// # Safety
/// `arg` points to a `struct rtentry` whose `rt_dev` is null or a C string.
pub unsafe fn rtentry(st: &mut State, req: c_ulong, arg: usize) -> SysResult<c_int> {
    let mut rt = [0u8; RTENTRY_LEN];
    // SAFETY: caller's contract.
    unsafe { std::ptr::copy_nonoverlapping(arg as *const u8, rt.as_mut_ptr(), RTENTRY_LEN) };
    let p = usize::from_ne_bytes(rt[RT_DEV..RT_DEV + 8].try_into().map_err(|_| Errno::EFAULT)?);
    let dev = if p == 0 {
        None
    } else {
        // SAFETY: rt_dev is a NUL-terminated string in the caller's memory.
        Some(
            unsafe { std::ffi::CStr::from_ptr(p as *const libc::c_char) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    st.k.ioctl_rtentry(req as u32, &rt, dev.as_deref())?;
    Ok(0)
}
