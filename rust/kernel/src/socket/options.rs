//! Socket options every protocol shares (SOL_SOCKET, Linux `sock_setsockopt` /
//! `sk_getsockopt`) and the int/linger encodings of option values.

use crate::dev::IfIndex;
use crate::net::Net;
use crate::uapi::*;
use crate::{Errno, SysResult};

/// Reads an int option value the way Linux does: at least 4 bytes, native endian.
pub fn get_int(val: &[u8]) -> SysResult<i32> {
    let b: [u8; 4] = val.get(..4).ok_or(Errno::EINVAL)?.try_into().map_err(|_| Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// Writes an int option value, truncated to `out` as Linux does for short buffers.
pub fn put_int(out: &mut [u8], v: i32) -> SysResult<usize> {
    put_bytes(out, &v.to_ne_bytes())
}

/// Copies an option value into the user's buffer, truncated to its length as
/// getsockopt(2) does; returns the length written.
pub fn put_bytes(out: &mut [u8], b: &[u8]) -> SysResult<usize> {
    let n = out.len().min(b.len());
    out[..n].copy_from_slice(&b[..n]);
    Ok(n)
}

/// Linux `sk_setsockopt` SO_SNDBUF/SO_RCVBUF: clamp to `max` (the `*mem_max` sysctl,
/// none for the *FORCE variants), double for overhead, floor at the minimum.
fn buf_size(v: i32, max: u32, min: u32) -> u32 {
    (v.max(0) as u32).min(max).saturating_mul(2).max(min)
}

/// `struct linger { int l_onoff; int l_linger; }`.
pub fn get_linger(val: &[u8]) -> SysResult<Option<u32>> {
    if val.len() < 8 {
        return Err(Errno::EINVAL);
    }
    let on = get_int(&val[..4])?;
    let secs = get_int(&val[4..8])?;
    Ok((on != 0).then_some(secs.max(0) as u32))
}

/// SOL_SOCKET state common to all sockets (`struct sock` fields).
#[derive(Debug, Clone, Default)]
pub struct SockCommon {
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub broadcast: bool,
    pub keepalive: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    /// SO_LINGER seconds when on.
    pub linger: Option<u32>,
    /// Effective buffer sizes (already doubled as Linux stores them); 0 = not set by the
    /// user, use the protocol's default.
    pub sndbuf: u32,
    pub rcvbuf: u32,
    pub sndbuf_locked: bool,
    pub rcvbuf_locked: bool,
    pub rcvlowat: u32,
    pub priority: u32,
    pub bound_dev: Option<IfIndex>,
    /// Pending error reported (and cleared) by SO_ERROR.
    pub error: Option<Errno>,
}

/// Linux `SOCK_MIN_SNDBUF`/`SOCK_MIN_RCVBUF` on x86-64 (2 * skb truesize of a tiny skb).
pub const SOCK_MIN_SNDBUF: u32 = 4608;
pub const SOCK_MIN_RCVBUF: u32 = 2304;

impl SockCommon {
    /// A datagram socket's buffers: SO_SNDBUF/SO_RCVBUF if set, else `net.core`'s
    /// `wmem_default`/`rmem_default` (`sk->sk_sndbuf`/`sk_rcvbuf` from `sock_init_data`).
    pub fn dgram_sndbuf(&self, net: &Net) -> u32 {
        if self.sndbuf_locked { self.sndbuf } else { net.sysctl.core.wmem_default }
    }

    pub fn dgram_rcvbuf(&self, net: &Net) -> u32 {
        if self.rcvbuf_locked { self.rcvbuf } else { net.sysctl.core.rmem_default }
    }

    /// Handles a SOL_SOCKET option. Returns `Ok(false)` for names the protocol must
    /// handle itself (e.g. SO_KEEPALIVE side effects are the protocol's).
    pub fn setsockopt(&mut self, net: &Net, name: i32, val: &[u8]) -> SysResult<bool> {
        if name == SO_LINGER {
            self.linger = get_linger(val)?;
            return Ok(true);
        }
        if name == SO_BINDTODEVICE {
            let ifname = val.split(|&b| b == 0).next().unwrap_or(&[]);
            if ifname.is_empty() {
                self.bound_dev = None;
                return Ok(true);
            }
            let name = std::str::from_utf8(ifname).map_err(|_| Errno::ENODEV)?;
            self.bound_dev = Some(net.devs.by_name(name).ok_or(Errno::ENODEV)?.ifindex);
            return Ok(true);
        }
        let v = get_int(val)?;
        let core = &net.sysctl.core;
        match name {
            SO_REUSEADDR => self.reuseaddr = v != 0,
            SO_REUSEPORT => self.reuseport = v != 0,
            SO_BROADCAST => self.broadcast = v != 0,
            SO_KEEPALIVE => self.keepalive = v != 0,
            SO_DONTROUTE => self.dontroute = v != 0,
            SO_OOBINLINE => self.oobinline = v != 0,
            SO_PRIORITY => self.priority = v.max(0) as u32,
            SO_RCVLOWAT => self.rcvlowat = v.max(1) as u32,
            SO_SNDBUF | SO_SNDBUFFORCE => {
                let max = if name == SO_SNDBUF { core.wmem_max } else { u32::MAX };
                self.sndbuf = buf_size(v, max, SOCK_MIN_SNDBUF);
                self.sndbuf_locked = true;
            }
            SO_RCVBUF | SO_RCVBUFFORCE => {
                let max = if name == SO_RCVBUF { core.rmem_max } else { u32::MAX };
                self.rcvbuf = buf_size(v, max, SOCK_MIN_RCVBUF);
                self.rcvbuf_locked = true;
            }
            SO_DEBUG | SO_SNDLOWAT | SO_RCVTIMEO | SO_SNDTIMEO => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads a SOL_SOCKET option; `None` if the protocol must answer it.
    /// `sndbuf`/`rcvbuf` are the protocol's current effective sizes.
    pub fn getsockopt(
        &mut self,
        name: i32,
        sndbuf: u32,
        rcvbuf: u32,
        out: &mut [u8],
    ) -> Option<SysResult<usize>> {
        let v = match name {
            SO_REUSEADDR => self.reuseaddr as i32,
            SO_REUSEPORT => self.reuseport as i32,
            SO_BROADCAST => self.broadcast as i32,
            SO_KEEPALIVE => self.keepalive as i32,
            SO_DONTROUTE => self.dontroute as i32,
            SO_OOBINLINE => self.oobinline as i32,
            SO_PRIORITY => self.priority as i32,
            SO_RCVLOWAT => self.rcvlowat.max(1) as i32,
            SO_SNDBUF => sndbuf as i32,
            SO_RCVBUF => rcvbuf as i32,
            SO_ERROR => self.error.take().map_or(0, |e| e.0),
            SO_LINGER => {
                if out.len() < 8 {
                    return Some(Err(Errno::EINVAL));
                }
                out[..4].copy_from_slice(&(self.linger.is_some() as i32).to_ne_bytes());
                out[4..8].copy_from_slice(&(self.linger.unwrap_or(0) as i32).to_ne_bytes());
                return Some(Ok(8));
            }
            _ => return None,
        };
        Some(put_int(out, v))
    }
}
