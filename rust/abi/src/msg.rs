//! User-memory structures at the boundary: `struct sockaddr_in`/`sockaddr_in6` and the
//! iovec arrays of a user `struct msghdr`. NULL or short buffers are EFAULT/EINVAL.

use crate::types::IoVec;
use libos_kernel::{Errno, SysResult};
use std::ffi::{c_int, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

pub const AF_UNSPEC: u16 = 0;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const AF_NETLINK: c_int = 16;

/// A socket address from user memory; None for AF_UNSPEC (connect's "disconnect").
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes.
pub unsafe fn sockaddr_in(p: *const c_void, len: c_int) -> SysResult<Option<SocketAddr>> {
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    if len < 2 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: caller's contract.
    let b = unsafe { std::slice::from_raw_parts(p as *const u8, len.min(128)) };
    parse_sockaddr(b)
}

pub fn parse_sockaddr(b: &[u8]) -> SysResult<Option<SocketAddr>> {
    let family = u16::from_ne_bytes([b[0], b[1]]);
    match family {
        AF_UNSPEC => Ok(None),
        AF_INET if b.len() >= 16 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            Ok(Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])), port)))
        }
        // SIN6_LEN_RFC2133 (24 bytes, no scope id) is accepted, as by Linux.
        AF_INET6 if b.len() >= 24 => {
            // struct sockaddr_in6: port, flowinfo, address, scope id (the interface of a
            // link-local address).
            let port = u16::from_be_bytes([b[2], b[3]]);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[8..24]);
            let scope = b.get(24..28).map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a), port, flow, scope))))
        }
        AF_INET | AF_INET6 => Err(Errno::EINVAL),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// The bytes of a `sockaddr_in` / `sockaddr_in6` for `a`.
pub fn encode_sockaddr(a: SocketAddr) -> Vec<u8> {
    match a {
        SocketAddr::V4(v) => {
            let mut b = vec![0u8; 16];
            b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
            b[2..4].copy_from_slice(&v.port().to_be_bytes());
            b[4..8].copy_from_slice(&v.ip().octets());
            b
        }
        SocketAddr::V6(v) => {
            let mut b = vec![0u8; 28];
            b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            b[2..4].copy_from_slice(&v.port().to_be_bytes());
            b[4..8].copy_from_slice(&v.flowinfo().to_be_bytes());
            b[8..24].copy_from_slice(&v.ip().octets());
            b[24..28].copy_from_slice(&v.scope_id().to_ne_bytes());
            b
        }
    }
}

/// Copies `addr` into the caller's buffer of `*len` bytes (truncating, as Linux
/// `move_addr_to_user`) and stores the full length in `*len`.
///
/// # Safety
/// `p` holds `*len` writable bytes; `len` is NULL or valid.
pub unsafe fn put_addr(addr: &[u8], p: *mut c_void, len: *mut c_int) -> SysResult<()> {
    if len.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: caller's contract.
    let room = unsafe { *len };
    let room = usize::try_from(room).map_err(|_| Errno::EINVAL)?;
    if room > 0 && p.is_null() {
        return Err(Errno::EFAULT);
    }
    let n = room.min(addr.len());
    // SAFETY: n <= room writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(addr.as_ptr(), p as *mut u8, n);
        *len = addr.len() as c_int;
    }
    Ok(())
}

/// The iovec array as slices. EFAULT for a NULL array with entries or a NULL base with
/// a length; EMSGSIZE beyond UIO_MAXIOV (1024).
///
/// # Safety
/// The array and every buffer are valid for their lengths.
pub unsafe fn iovecs<'a>(iov: *const IoVec, n: usize) -> SysResult<Vec<&'a mut [u8]>> {
    if n > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    if iov.is_null() {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        // SAFETY: caller's contract.
        let v = unsafe { *iov.add(k) };
        if v.iov_len == 0 {
            continue;
        }
        if v.iov_base.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: caller's contract.
        out.push(unsafe { std::slice::from_raw_parts_mut(v.iov_base as *mut u8, v.iov_len) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trip() {
        let a: SocketAddr = "10.0.0.1:5001".parse().unwrap();
        let b = encode_sockaddr(a);
        assert_eq!(b.len(), 16);
        assert_eq!(parse_sockaddr(&b).unwrap(), Some(a));
        let a6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(parse_sockaddr(&encode_sockaddr(a6)).unwrap(), Some(a6));
        // A link-local address keeps its scope id (the interface) both ways.
        let ll = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 7, 0x12345, 3));
        let b = encode_sockaddr(ll);
        assert_eq!((b.len(), &b[24..28]), (28, &3u32.to_ne_bytes()[..]));
        assert_eq!(parse_sockaddr(&b).unwrap(), Some(ll));
        let short = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 7, 0x12345, 0));
        assert_eq!(parse_sockaddr(&b[..24]).unwrap(), Some(short));
        assert_eq!(parse_sockaddr(&b[..23]), Err(Errno::EINVAL));
        assert_eq!(parse_sockaddr(&[0, 0]).unwrap(), None);
        assert_eq!(parse_sockaddr(&[2, 0, 0]), Err(Errno::EINVAL));
        assert_eq!(parse_sockaddr(&[99, 0]), Err(Errno::EAFNOSUPPORT));
    }

    #[test]
    fn null_buffers_fault() {
        // SAFETY: NULL pointers are what is being tested.
        unsafe {
            assert_eq!(sockaddr_in(std::ptr::null(), 16), Err(Errno::EFAULT));
            assert_eq!(iovecs(std::ptr::null(), 1).err(), Some(Errno::EFAULT));
            let mut len = 16;
            assert_eq!(put_addr(&[0; 16], std::ptr::null_mut(), &mut len), Err(Errno::EFAULT));
            assert_eq!(
                put_addr(&[0; 16], std::ptr::null_mut(), std::ptr::null_mut()),
                Err(Errno::EFAULT)
            );
        }
    }

    #[test]
    fn put_addr_truncates_and_reports_full_length() {
        let mut buf = [0u8; 8];
        let mut len = 8;
        // SAFETY: buf holds 8 bytes.
        unsafe { put_addr(&[7; 16], buf.as_mut_ptr() as *mut c_void, &mut len) }.unwrap();
        assert_eq!(len, 16);
        assert_eq!(buf, [7; 8]);
    }
}
