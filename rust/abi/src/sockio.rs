//! `SimExported` data-path socket calls: `sock_recvmsg`/`sock_sendmsg` on the user
//! `struct msghdr`, `sock_ioctl` (socket ioctls, then the interface and routing ioctls
//! every socket accepts, as Linux's `sock_ioctl` falls back to `dev_ioctl`), and the
//! two-phase poll protocol (`sock_poll` registers, `poll_event` wakes,
//! `sock_pollfreewait` unregisters).

use crate::instance::{self, Dir, POLLNVAL, PollReg, Sock};
use crate::msg;
use crate::netlink;
use crate::sock::{hid, may_block};
use crate::types::{MsgHdr, PollTableRef, SimSocket};
use crate::{guard, neg, with, with_r};
use libos_kernel::socket::ioctl::{IFREQ_LEN, RTENTRY_LEN, SIOCADDRT, SIOCDELRT, SIOCGIFCONF};
use libos_kernel::{Errno, SysResult};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::net::SocketAddr;

const EIO: isize = -5;
const MSG_TRUNC: c_int = 0x20;
const MSG_CTRUNC: c_int = 0x8;
const MSG_WAITALL: c_int = 0x100;
const FIONREAD: c_int = 0x541B;
const FIONBIO: c_int = 0x5421;
const SIOCOUTQ: c_int = 0x5411;
/// Offset of `char *rt_dev` in the x86-64 `struct rtentry`.
const RT_DEV: usize = 88;

fn is_netlink(h: usize) -> SysResult<bool> {
    with_r(|i| Ok(matches!(i.sock(h)?, Sock::Netlink(_))))
}

pub unsafe extern "C" fn sock_recvmsg(s: *mut SimSocket, m: *mut MsgHdr, flags: c_int) -> isize {
    guard(EIO, || {
        if m.is_null() {
            return neg(Errno::EFAULT) as isize;
        }
        // SAFETY: the host's msghdr.
        let mh = unsafe { &mut *m };
        // SAFETY: its iovec array.
        let r = unsafe { recvmsg(hid(s), mh, flags) };
        r.map_or_else(|e| neg(e) as isize, |n| n as isize)
    })
}

unsafe fn recvmsg(h: usize, mh: &mut MsgHdr, flags: c_int) -> SysResult<usize> {
    // SAFETY: caller's contract.
    let mut iov = unsafe { msg::iovecs(mh.msg_iov, mh.msg_iovlen) }?;
    mh.msg_flags = 0;
    let (n, name, ctl, trunc) = if is_netlink(h)? {
        let block = with(|i| netlink::may_block(i, h, flags))?;
        let (n, trunc) = instance::blocking(h, block, Dir::Rcv, |i, now| {
            netlink::recv(i, h, now, &mut iov, flags)
        })?;
        (n, Some(netlink::sockaddr_nl(0, 0)), Vec::new(), trunc)
    } else if flags & MSG_WAITALL != 0 && is_stream(h)? && may_block(h, flags) {
        (recv_all(h, &mut iov, flags & !MSG_WAITALL)?, None, Vec::new(), false)
    } else {
        let (n, from, ctl) = instance::blocking(h, may_block(h, flags), Dir::Rcv, |i, now| {
            let fd = i.fd(h)?;
            let (n, from) = i.k.recvmsg(now, fd, &mut iov, flags)?;
            Ok((n, from, i.k.recvmsg_control(fd).unwrap_or_default()))
        })?;
        (n, from.map(msg::encode_sockaddr), ctl, false)
    };
    if trunc {
        mh.msg_flags |= MSG_TRUNC;
    }
    match name {
        Some(a) if !mh.msg_name.is_null() => {
            let k = (mh.msg_namelen as usize).min(a.len());
            // SAFETY: msg_name holds msg_namelen bytes.
            unsafe { std::ptr::copy_nonoverlapping(a.as_ptr(), mh.msg_name as *mut u8, k) };
            mh.msg_namelen = a.len() as u32;
        }
        _ => mh.msg_namelen = 0,
    }
    if mh.msg_control.is_null() {
        mh.msg_controllen = 0;
    } else {
        let k = mh.msg_controllen.min(ctl.len());
        if k < ctl.len() {
            mh.msg_flags |= MSG_CTRUNC;
        }
        // SAFETY: msg_control holds msg_controllen bytes.
        unsafe { std::ptr::copy_nonoverlapping(ctl.as_ptr(), mh.msg_control as *mut u8, k) };
        mh.msg_controllen = k;
    }
    Ok(n)
}

fn is_stream(h: usize) -> SysResult<bool> {
    with_r(|i| match i.sock(h)? {
        Sock::Inet { stream, .. } => Ok(*stream),
        Sock::Netlink(_) => Ok(false),
    })
}

/// MSG_WAITALL on a blocking stream: fill every iovec unless EOF, an error or the
/// timeout comes first (Linux tcp_recvmsg's `target`).
fn recv_all(h: usize, iov: &mut [&mut [u8]], flags: c_int) -> SysResult<usize> {
    let total: usize = iov.iter().map(|b| b.len()).sum();
    let mut tmp = vec![0u8; total];
    let mut got = 0;
    while got < total {
        let r = instance::blocking(h, true, Dir::Rcv, |i, now| {
            let fd = i.fd(h)?;
            i.k.recv(now, fd, &mut tmp[got..], flags)
        });
        match r {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
    }
    let mut off = 0;
    for b in iov.iter_mut() {
        let k = b.len().min(got - off);
        b[..k].copy_from_slice(&tmp[off..off + k]);
        off += k;
    }
    Ok(got)
}

pub unsafe extern "C" fn sock_sendmsg(s: *mut SimSocket, m: *const MsgHdr, flags: c_int) -> isize {
    guard(EIO, || {
        if m.is_null() {
            return neg(Errno::EFAULT) as isize;
        }
        // SAFETY: the host's msghdr and the buffers it points to.
        let r = unsafe { sendmsg(hid(s), &*m, flags) };
        r.map_or_else(|e| neg(e) as isize, |n| n as isize)
    })
}

unsafe fn sendmsg(h: usize, mh: &MsgHdr, flags: c_int) -> SysResult<usize> {
    // SAFETY: caller's contract.
    let iov = unsafe { msg::iovecs(mh.msg_iov, mh.msg_iovlen) }?;
    let iov: Vec<&[u8]> = iov.into_iter().map(|b| &*b).collect();
    if is_netlink(h)? {
        let data = iov.concat();
        let r = with_r(|i| {
            let now = i.now();
            netlink::send(i, h, now, &data)
        });
        instance::flush();
        return r;
    }
    let to: Option<SocketAddr> = if mh.msg_name.is_null() || mh.msg_namelen == 0 {
        None
    } else {
        // SAFETY: msg_name holds msg_namelen bytes.
        unsafe { msg::sockaddr_in(mh.msg_name, mh.msg_namelen as c_int) }?
    };
    let block = may_block(h, flags);
    let stream = is_stream(h)?;
    if !stream || !block {
        return instance::blocking(h, block, Dir::Snd, |i, now| {
            let fd = i.fd(h)?;
            i.k.sendmsg(now, fd, &iov, flags, to)
        });
    }
    // A blocking stream send returns when everything is queued (Linux tcp_sendmsg).
    let data = iov.concat();
    let mut done = 0;
    while done < data.len() {
        let r = instance::blocking(h, true, Dir::Snd, |i, now| {
            let fd = i.fd(h)?;
            i.k.sendto(now, fd, &data[done..], flags, None)
        });
        match r {
            Ok(n) => done += n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// SIOCGIFCONF on the host's `struct ifconf { int ifc_len; char *ifc_buf; }`.
unsafe fn ifconf(ifc: *mut u8) -> SysResult<c_int> {
    let entries = with(|i| i.k.ioctl_ifconf())?;
    // SAFETY: the caller's struct ifconf (16 bytes on x86-64).
    unsafe {
        let len = *(ifc as *const c_int);
        let buf = *(ifc.add(8) as *const *mut u8);
        if buf.is_null() {
            *(ifc as *mut c_int) = (entries.len() * IFREQ_LEN) as c_int;
            return Ok(0);
        }
        let n = entries.len().min(len.max(0) as usize / IFREQ_LEN);
        for (k, e) in entries.iter().take(n).enumerate() {
            std::ptr::copy_nonoverlapping(e.as_ptr(), buf.add(k * IFREQ_LEN), IFREQ_LEN);
        }
        *(ifc as *mut c_int) = (n * IFREQ_LEN) as c_int;
    }
    Ok(0)
}

/// SIOCADDRT/SIOCDELRT on a `struct rtentry` whose `rt_dev` is NULL or a C string.
unsafe fn rtentry(req: u32, arg: *const u8) -> SysResult<c_int> {
    let mut rt = [0u8; RTENTRY_LEN];
    // SAFETY: the caller's struct rtentry.
    unsafe { std::ptr::copy_nonoverlapping(arg, rt.as_mut_ptr(), RTENTRY_LEN) };
    let mut p = [0u8; 8];
    p.copy_from_slice(&rt[RT_DEV..RT_DEV + 8]);
    let p = usize::from_ne_bytes(p);
    let dev = (p != 0)
        // SAFETY: rt_dev points to a NUL-terminated name.
        .then(|| unsafe { CStr::from_ptr(p as *const c_char) }.to_string_lossy().into_owned());
    with_r(|i| i.k.ioctl_rtentry(req, &rt, dev.as_deref()))?;
    Ok(0)
}

unsafe fn ioctl(h: usize, req: c_int, argp: *mut u8) -> SysResult<c_int> {
    let ureq = req as u32;
    match req {
        FIONREAD | FIONBIO | SIOCOUTQ => {
            // SAFETY: these take an int*.
            let arg = unsafe { *(argp as *const c_int) };
            let v = with_r(|i| match i.sock(h)? {
                Sock::Netlink(nl) if req == FIONREAD => {
                    Ok(nl.rx.front().map_or(0, |d| d.len() as c_int))
                }
                Sock::Netlink(_) if req == FIONBIO => Ok(0),
                Sock::Netlink(_) => Err(Errno::ENOTTY),
                Sock::Inet { fd, .. } => {
                    let fd = *fd;
                    i.k.ioctl(fd, ureq, arg)
                }
            })?;
            if req != FIONBIO {
                // SAFETY: as above.
                unsafe { *(argp as *mut c_int) = v };
            }
            Ok(0)
        }
        // SAFETY: the caller's struct ifconf.
        _ if ureq == SIOCGIFCONF => unsafe { ifconf(argp) },
        // SAFETY: the caller's struct rtentry.
        _ if ureq == SIOCADDRT || ureq == SIOCDELRT => unsafe { rtentry(ureq, argp) },
        0x8910..=0x8933 => {
            let mut ifr = [0u8; IFREQ_LEN];
            // SAFETY: the caller's struct ifreq.
            unsafe { std::ptr::copy_nonoverlapping(argp, ifr.as_mut_ptr(), IFREQ_LEN) };
            with_r(|i| {
                i.sock(h)?;
                let now = i.now();
                i.k.ioctl_ifreq(now, ureq, &mut ifr)
            })?;
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(ifr.as_ptr(), argp, IFREQ_LEN) };
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub unsafe extern "C" fn sock_ioctl(s: *mut SimSocket, req: c_int, argp: *mut c_char) -> c_int {
    guard(-5, || {
        if argp.is_null() {
            return neg(Errno::EFAULT);
        }
        // SAFETY: `argp` points to the structure `req` takes.
        let r = unsafe { ioctl(hid(s), req, argp as *mut u8) };
        instance::flush();
        r.unwrap_or_else(neg)
    })
}

/// `ret` is a `struct poll_table_ref`: in, the wanted mask and the host's token (NULL:
/// probe only); out, the ready mask and our table (0 when not registered).
pub unsafe extern "C" fn sock_poll(s: *mut SimSocket, ret: *mut c_void) {
    guard((), || {
        if ret.is_null() {
            return;
        }
        // SAFETY: the host's poll_table_ref.
        let r = unsafe { &mut *(ret as *mut PollTableRef) };
        let h = hid(s);
        let wanted = r.ret as u16;
        let token = r.opaque;
        let out = with(|i| {
            let mask = match i.socks.get(&h) {
                None => POLLNVAL,
                Some(Sock::Inet { fd, .. }) => i.k.poll(*fd).unwrap_or(POLLNVAL),
                Some(Sock::Netlink(_)) => netlink::poll(i, h).unwrap_or(POLLNVAL),
            };
            let table = if token.is_null() || mask == POLLNVAL {
                0
            } else {
                let id = i.id();
                i.polls.insert(id, PollReg { sock: h, mask: wanted, token });
                id
            };
            (mask, table)
        });
        let (mask, table) = out.unwrap_or((POLLNVAL, 0));
        r.ret = c_int::from(mask);
        r.opaque = table as *mut c_void;
    })
}

pub unsafe extern "C" fn sock_pollfreewait(table: *mut c_void) {
    guard((), || {
        let _ = with(|i| i.polls.remove(&(table as usize)));
    })
}
