//! AF_NETLINK sockets through `sock_socket`, as DCE needs them to run `ip`: a request
//! sent is answered at once by the kernel's rtnetlink (`Kernel::netlink`, stateless
//! request -> replies); the replies are queued on the socket as datagrams (a dump is cut
//! at message boundaries, like Linux's skbs) with `nlmsg_pid` set to the socket's port
//! id, and `recvmsg` pops them. Multicast groups (`bind` with `nl_groups`,
//! NETLINK_ADD/DROP_MEMBERSHIP) open a kernel subscriber (`Kernel::netlink_open`) whose
//! notifications are read after the replies; its readiness events wake parked readers
//! (`ip monitor`).

use crate::instance::{Instance, POLLERR, POLLIN, POLLOUT, Sock};
use libos_kernel::{Errno, Fd, SysResult};
use std::collections::VecDeque;
use std::ffi::c_int;

pub const NETLINK_ROUTE: c_int = 0;
const SOCK_DGRAM: c_int = 2;
const SOCK_RAW: c_int = 3;
const SOCK_NONBLOCK: c_int = 0o4000;
pub const SOL_NETLINK: c_int = 270;
const NETLINK_ADD_MEMBERSHIP: c_int = 1;
const NETLINK_DROP_MEMBERSHIP: c_int = 2;
const NLMSG_HDRLEN: usize = 16;
/// Largest datagram a dump is cut into (Linux: about a page to 32 KiB).
const DGRAM_MAX: usize = 32 << 10;
/// Bound on queued reply bytes per socket (SO_RCVBUF's default); beyond it, ENOBUFS.
const RCVBUF: usize = 212_992;
pub const MSG_PEEK: c_int = 0x2;
pub const MSG_TRUNC: c_int = 0x20;

pub struct NlSock {
    pub portid: u32,
    pub rx: VecDeque<Vec<u8>>,
    /// The kernel subscriber for multicast groups, opened on first use.
    pub sub: Option<Fd>,
    pub nonblock: bool,
    /// SO_RCVTIMEO in ns (0: none), for reads that wait on notifications.
    pub rcvtimeo: u64,
}

fn nl(i: &mut Instance, h: usize) -> SysResult<&mut NlSock> {
    match i.sock(h)? {
        Sock::Netlink(s) => Ok(s),
        Sock::Inet { .. } => Err(Errno::EBADF),
    }
}

/// The socket's subscriber id; its kernel events map to the socket's handle.
fn sub_id(i: &mut Instance, h: usize, now: u64) -> SysResult<Fd> {
    if let Some(id) = nl(i, h)?.sub {
        return Ok(id);
    }
    let id = i.k.netlink_open(now, 0);
    nl(i, h)?.sub = Some(id);
    i.fd_sock.insert(id, h);
    Ok(id)
}

pub fn socket(i: &mut Instance, ty: c_int, protocol: c_int) -> SysResult<Sock> {
    if protocol != NETLINK_ROUTE {
        return Err(Errno::EPROTONOSUPPORT);
    }
    if !matches!(ty & 0xf, SOCK_RAW | SOCK_DGRAM) {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    let portid = i.nl_next_port;
    i.nl_next_port += 1;
    let nonblock = ty & SOCK_NONBLOCK != 0;
    Ok(Sock::Netlink(NlSock { portid, rx: VecDeque::new(), sub: None, nonblock, rcvtimeo: 0 }))
}

pub fn sockaddr_nl(pid: u32, groups: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&(crate::msg::AF_NETLINK as u16).to_ne_bytes());
    b.extend_from_slice(&0u16.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&groups.to_ne_bytes());
    b
}

/// bind(2) with a `sockaddr_nl`: a port id (0 keeps the automatic one) and the legacy
/// `nl_groups` bitmask.
pub fn bind(i: &mut Instance, h: usize, now: u64, addr: &[u8]) -> SysResult<()> {
    if addr.len() < 12 || u16::from_ne_bytes([addr[0], addr[1]]) != crate::msg::AF_NETLINK as u16 {
        return Err(Errno::EINVAL);
    }
    let pid = u32::from_ne_bytes([addr[4], addr[5], addr[6], addr[7]]);
    let groups = u32::from_ne_bytes([addr[8], addr[9], addr[10], addr[11]]);
    let s = nl(i, h)?;
    if pid != 0 {
        s.portid = pid;
    }
    if groups != 0 || s.sub.is_some() {
        let id = sub_id(i, h, now)?;
        i.k.netlink_set_groups(now, id, groups)?;
    }
    Ok(())
}

/// The socket's own address: port id and the groups below 33.
pub fn local_name(i: &mut Instance, h: usize) -> SysResult<Vec<u8>> {
    let s = nl(i, h)?;
    let (portid, sub) = (s.portid, s.sub);
    let groups = match sub {
        Some(id) => i.k.netlink_groups(id)? as u32,
        None => 0,
    };
    Ok(sockaddr_nl(portid, groups))
}

/// setsockopt(SOL_NETLINK): group membership; other options change nothing here.
pub fn setsockopt(i: &mut Instance, h: usize, now: u64, name: c_int, v: &[u8]) -> SysResult<()> {
    match name {
        NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP => {
            let g = v.get(..4).ok_or(Errno::EINVAL)?;
            let group = u32::from_ne_bytes([g[0], g[1], g[2], g[3]]);
            let id = sub_id(i, h, now)?;
            i.k.netlink_membership(now, id, group, name == NETLINK_ADD_MEMBERSHIP)
        }
        _ => nl(i, h).map(|_| ()),
    }
}

/// poll(2) bits: replies or notifications queued, POLLERR after lost notifications.
pub fn poll(i: &mut Instance, h: usize) -> SysResult<u16> {
    let s = nl(i, h)?;
    let mut m = POLLOUT;
    if !s.rx.is_empty() {
        m |= POLLIN;
    }
    if let Some(id) = s.sub {
        m |= i.k.netlink_poll(id)? & (POLLIN | POLLERR);
    }
    Ok(m)
}

/// Whether a read on `h` may wait: only for notifications, which come later.
pub fn may_block(i: &mut Instance, h: usize, flags: c_int) -> bool {
    nl(i, h).is_ok_and(|s| !s.nonblock && s.sub.is_some()) && flags & crate::sock::MSG_DONTWAIT == 0
}

pub fn close(i: &mut Instance, s: NlSock, now: u64) {
    if let Some(id) = s.sub {
        i.fd_sock.remove(&id);
        i.k.netlink_close(now, id);
    }
}

/// Cuts the kernel's reply stream into datagrams stamped with `portid`.
pub fn datagrams(reply: &[u8], portid: u32) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= reply.len() {
        let mut l = [0u8; 4];
        l.copy_from_slice(&reply[off..off + 4]);
        let len = u32::from_ne_bytes(l) as usize;
        if len < NLMSG_HDRLEN || off + len > reply.len() {
            break;
        }
        let aligned = ((len + 3) & !3).min(reply.len() - off);
        let mut m = reply[off..off + aligned].to_vec();
        m[12..16].copy_from_slice(&portid.to_ne_bytes());
        match out.last_mut() {
            Some(d) if d.len() + m.len() <= DGRAM_MAX => d.extend_from_slice(&m),
            _ => out.push(m),
        }
        off += aligned;
    }
    out
}

/// sendmsg on socket handle `h`: the kernel answers, the replies are queued.
pub fn send(i: &mut Instance, h: usize, now: u64, data: &[u8]) -> SysResult<usize> {
    let portid = match i.sock(h)? {
        Sock::Netlink(s) => s.portid,
        Sock::Inet { .. } => return Err(Errno::EBADF),
    };
    let reply = i.k.netlink(now, data);
    let Sock::Netlink(s) = i.sock(h)? else { return Err(Errno::EBADF) };
    let queued: usize = s.rx.iter().map(Vec::len).sum();
    if queued + reply.len() > RCVBUF {
        return Err(Errno::ENOBUFS);
    }
    let d = datagrams(&reply, portid);
    if !d.is_empty() {
        s.rx.extend(d);
        i.ready.push((h, POLLIN));
    }
    Ok(data.len())
}

/// The next reply datagram or, when there is none, the next notification, into `iov`;
/// EAGAIN when neither is queued (ENOBUFS once after lost notifications).
pub fn recv(
    i: &mut Instance,
    h: usize,
    now: u64,
    iov: &mut [&mut [u8]],
    flags: c_int,
) -> SysResult<(usize, bool)> {
    let s = nl(i, h)?;
    if s.rx.is_empty()
        && let Some(id) = s.sub
    {
        let m = i.k.netlink_recv(now, id)?.ok_or(Errno::EAGAIN)?;
        nl(i, h)?.rx.push_front(m);
    }
    copy_out(nl(i, h)?, iov, flags)
}

/// One queued datagram into `iov` (MSG_PEEK keeps it, MSG_TRUNC returns its full
/// length).
fn copy_out(s: &mut NlSock, iov: &mut [&mut [u8]], flags: c_int) -> SysResult<(usize, bool)> {
    let Some(d) = s.rx.front() else { return Err(Errno::EAGAIN) };
    let mut off = 0;
    for b in iov.iter_mut() {
        let take = b.len().min(d.len() - off);
        b[..take].copy_from_slice(&d[off..off + take]);
        off += take;
    }
    let full = d.len();
    if flags & MSG_PEEK == 0 {
        s.rx.pop_front();
    }
    Ok((if flags & MSG_TRUNC != 0 { full } else { off }, off < full))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(len: u32, ty: u16) -> Vec<u8> {
        let mut m = vec![0u8; len as usize];
        m[..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&ty.to_ne_bytes());
        m
    }

    #[test]
    fn replies_are_stamped_and_cut_at_boundaries() {
        let mut r = msg(20, 16);
        r.extend(msg(16, 3));
        let d = datagrams(&r, 0x1234);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].len(), 36);
        assert_eq!(u32::from_ne_bytes(d[0][12..16].try_into().unwrap()), 0x1234);
        assert_eq!(u32::from_ne_bytes(d[0][32..36].try_into().unwrap()), 0x1234);
        // A truncated trailing header is dropped, never read past.
        let mut bad = msg(20, 16);
        bad.extend_from_slice(&[200, 0, 0, 0, 0, 0]);
        assert_eq!(datagrams(&bad, 1).len(), 1);
    }

    #[test]
    fn peek_and_trunc() {
        let rx = VecDeque::from([vec![1u8; 40]]);
        let mut s = NlSock { portid: 1, rx, sub: None, nonblock: false, rcvtimeo: 0 };
        let mut small = [0u8; 8];
        let (n, trunc) = copy_out(&mut s, &mut [&mut small[..]], MSG_PEEK | MSG_TRUNC).unwrap();
        assert_eq!((n, trunc), (40, true));
        assert_eq!(s.rx.len(), 1);
        let mut big = [0u8; 64];
        assert_eq!(copy_out(&mut s, &mut [&mut big[..]], 0).unwrap(), (40, false));
        assert_eq!(copy_out(&mut s, &mut [&mut big[..]], 0), Err(Errno::EAGAIN));
    }
}
