//! AF_NETLINK sockets through `sock_socket`, as DCE needs them to run `ip`: a request
//! sent is answered at once by the kernel's rtnetlink (`Kernel::netlink`, stateless
//! request -> replies); the replies are queued on the socket as datagrams (a dump is cut
//! at message boundaries, like Linux's skbs) with `nlmsg_pid` set to the socket's port
//! id, and `recvmsg` pops them. No multicast groups: `bind` records them only.

use crate::instance::{Instance, POLLIN, Sock};
use libos_kernel::{Errno, SysResult};
use std::collections::VecDeque;
use std::ffi::c_int;

pub const NETLINK_ROUTE: c_int = 0;
const SOCK_DGRAM: c_int = 2;
const SOCK_RAW: c_int = 3;
const NLMSG_HDRLEN: usize = 16;
/// Largest datagram a dump is cut into (Linux: about a page to 32 KiB).
const DGRAM_MAX: usize = 32 << 10;
/// Bound on queued reply bytes per socket (SO_RCVBUF's default); beyond it, ENOBUFS.
const RCVBUF: usize = 212_992;
pub const MSG_PEEK: c_int = 0x2;
pub const MSG_TRUNC: c_int = 0x20;

pub struct NlSock {
    pub portid: u32,
    pub groups: u32,
    pub rx: VecDeque<Vec<u8>>,
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
    Ok(Sock::Netlink(NlSock { portid, groups: 0, rx: VecDeque::new() }))
}

pub fn sockaddr_nl(pid: u32, groups: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&(crate::msg::AF_NETLINK as u16).to_ne_bytes());
    b.extend_from_slice(&0u16.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&groups.to_ne_bytes());
    b
}

/// bind(2) with a `sockaddr_nl`: a port id (0 keeps the automatic one) and groups.
pub fn bind(s: &mut NlSock, addr: &[u8]) -> SysResult<()> {
    if addr.len() < 12 || u16::from_ne_bytes([addr[0], addr[1]]) != crate::msg::AF_NETLINK as u16 {
        return Err(Errno::EINVAL);
    }
    let pid = u32::from_ne_bytes([addr[4], addr[5], addr[6], addr[7]]);
    if pid != 0 {
        s.portid = pid;
    }
    s.groups = u32::from_ne_bytes([addr[8], addr[9], addr[10], addr[11]]);
    Ok(())
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

/// One queued datagram into `iov` (MSG_PEEK keeps it, MSG_TRUNC returns its full
/// length); EAGAIN when empty: replies are synchronous, nothing more will come.
pub fn recv(s: &mut NlSock, iov: &mut [&mut [u8]], flags: c_int) -> SysResult<(usize, bool)> {
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
        let mut s = NlSock { portid: 1, groups: 0, rx: VecDeque::from([vec![1u8; 40]]) };
        let mut small = [0u8; 8];
        let (n, trunc) = recv(&mut s, &mut [&mut small[..]], MSG_PEEK | MSG_TRUNC).unwrap();
        assert_eq!((n, trunc), (40, true));
        assert_eq!(s.rx.len(), 1);
        let mut big = [0u8; 64];
        assert_eq!(recv(&mut s, &mut [&mut big[..]], 0).unwrap(), (40, false));
        assert_eq!(recv(&mut s, &mut [&mut big[..]], 0), Err(Errno::EAGAIN));
    }
}
