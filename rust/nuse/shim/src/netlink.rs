//! AF_NETLINK sockets: NETLINK_ROUTE answered by the libos kernel's rtnetlink
//! (`Kernel::netlink`), NETLINK_SOCK_DIAG by its inet_diag (`Kernel::sock_diag`, for
//! `ss`). The socket itself lives here: requests go to the kernel as they
//! are sent, the reply messages are queued per socket as datagrams (a dump is split at
//! message boundaries, like Linux's skbs) with `nlmsg_pid` set to the socket's port id,
//! and reads drain the queue (MSG_PEEK and MSG_TRUNC as iproute2 uses them).
//! Multicast groups (`bind` with `nl_groups`, NETLINK_ADD/DROP_MEMBERSHIP) open a
//! subscriber in the kernel (`Kernel::netlink_open`): reads return its notifications
//! once the replies are consumed, poll/epoll see them, ENOBUFS reports an overrun.
//!
//! Ids live above `NL_BASE` in the kernel-fd space the fd table maps to, so a netlink
//! socket reaching a kernel call by mistake gets EBADF.

use crate::{instance, say_once};
use libc::c_int;
use libos_kernel::{Errno, Fd, Kernel, SysResult};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Condvar, Mutex};

const NL_BASE: Fd = 1 << 24;
/// Largest datagram a dump reply is cut into (Linux uses about a page to 32 KB).
const DGRAM_MAX: usize = 32 << 10;
const NLMSG_HDRLEN: usize = 16;
const SOL_NETLINK: c_int = 270;
const RCVBUF: c_int = 212_992;
const NETLINK_ADD_MEMBERSHIP: c_int = 1;
const NETLINK_DROP_MEMBERSHIP: c_int = 2;
const NETLINK_EXT_ACK: c_int = 11;

struct NlSock {
    /// NETLINK_ROUTE or NETLINK_SOCK_DIAG.
    protocol: c_int,
    portid: u32,
    groups: u32,
    /// The kernel subscriber, from the first group joined on.
    sub: Option<Fd>,
    rx: VecDeque<Vec<u8>>,
    nonblock: bool,
    /// NETLINK_EXT_ACK: error acks carry the kernel's message (iproute2 sets it).
    ext_ack: bool,
}

struct Table {
    socks: BTreeMap<Fd, NlSock>,
    next: Fd,
}

static TABLE: Mutex<Table> = Mutex::new(Table { socks: BTreeMap::new(), next: NL_BASE });
static ARRIVED: Condvar = Condvar::new();
/// Attached mode: server fds that are netlink sockets.
static REMOTE: Mutex<BTreeSet<Fd>> = Mutex::new(BTreeSet::new());

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The kernel's answer on a `protocol` socket, or None when this libos build has none.
fn kernel_netlink(protocol: c_int, ext_ack: bool, req: &[u8]) -> SysResult<Option<Vec<u8>>> {
    let n = instance()?;
    let mut g = n.lock();
    let now = n.enter(&mut g);
    let r = match protocol {
        libc::NETLINK_SOCK_DIAG => Some(g.k.sock_diag(now, req)),
        _ if ext_ack => Some(g.k.netlink_ext_ack(now, req)),
        _ => Some(g.k.netlink(now, req)),
    };
    n.flush(&mut g);
    Ok(r)
}

/// A netlink socket of this process's instance.
pub fn is_nl(kfd: Fd) -> bool {
    kfd >= NL_BASE
}

/// A netlink socket here or, attached, on the instance this process forwards to.
pub fn any(kfd: Fd) -> bool {
    is_nl(kfd) || (crate::remote::on() && REMOTE.lock().is_ok_and(|s| s.contains(&kfd)))
}

/// Attached mode: remembers that server fd `sfd` is a netlink socket.
pub fn remote_created(sfd: Fd) {
    REMOTE.lock().unwrap_or_else(|e| e.into_inner()).insert(sfd);
}

pub fn remote_closed(sfd: Fd) {
    REMOTE.lock().unwrap_or_else(|e| e.into_inner()).remove(&sfd);
}

/// socket(AF_NETLINK, type, protocol): a new id, or the errno.
pub fn socket(ty: c_int, protocol: c_int) -> SysResult<Fd> {
    if kernel_netlink(protocol, false, &[])?.is_none() {
        say_once("AF_NETLINK: this libos build has no rtnetlink yet".into());
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != libc::NETLINK_ROUTE && protocol != libc::NETLINK_SOCK_DIAG {
        say_once(format!(
            "netlink protocol {protocol} is not supported by libos (NETLINK_ROUTE and NETLINK_SOCK_DIAG only)"
        ));
        return Err(Errno::EPROTONOSUPPORT);
    }
    if !matches!(ty & 0xf, libc::SOCK_RAW | libc::SOCK_DGRAM) {
        return Err(Errno::ESOCKTNOSUPPORT);
    }
    let mut t = table();
    let id = t.next;
    t.next += 1;
    // Linux autobind: the first socket takes the pid, later ones unique negative ids.
    let pid = std::process::id();
    let portid = if t.socks.values().any(|s| s.portid == pid) {
        u32::MAX - 4096 - (id - NL_BASE) as u32
    } else {
        pid
    };
    t.socks.insert(
        id,
        NlSock {
            protocol,
            portid,
            groups: 0,
            sub: None,
            rx: VecDeque::new(),
            nonblock: ty & libc::SOCK_NONBLOCK != 0,
            ext_ack: false,
        },
    );
    Ok(id)
}

pub fn close(kfd: Fd) {
    let sub = table().socks.remove(&kfd).and_then(|s| s.sub);
    if let (Some(id), Ok(n)) = (sub, instance()) {
        let mut g = n.lock();
        let now = n.enter(&mut g);
        g.k.netlink_close(now, id);
        n.flush(&mut g);
    }
}

/// The socket's kernel subscriber, opened on first use. Lock order: the instance,
/// then `TABLE`; so the table is not held while the instance is locked here.
fn with_sub<T>(kfd: Fd, f: impl FnOnce(&mut Kernel, u64, Fd) -> SysResult<T>) -> SysResult<T> {
    let sub = table().socks.get(&kfd).ok_or(Errno::EBADF)?.sub;
    let n = instance()?;
    let mut g = n.lock();
    let now = n.enter(&mut g);
    let id = match sub {
        Some(id) => id,
        None => {
            let id = g.k.netlink_open(now, 0);
            let mut t = table();
            match t.socks.get_mut(&kfd) {
                Some(s) => s.sub = Some(id),
                None => {
                    drop(t);
                    g.k.netlink_close(now, id);
                    return Err(Errno::EBADF);
                }
            }
            id
        }
    };
    let r = f(&mut g.k, now, id);
    n.flush(&mut g);
    r
}

fn sockaddr_nl(pid: u32, groups: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&(libc::AF_NETLINK as u16).to_ne_bytes());
    b.extend_from_slice(&0u16.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&groups.to_ne_bytes());
    b
}

/// bind(2) with a sockaddr_nl: port id (0 keeps the automatic one) and groups.
pub fn bind(kfd: Fd, addr: &[u8]) -> SysResult<()> {
    if addr.len() < 12 || u16::from_ne_bytes([addr[0], addr[1]]) != libc::AF_NETLINK as u16 {
        return Err(Errno::EINVAL);
    }
    let pid = u32::from_ne_bytes([addr[4], addr[5], addr[6], addr[7]]);
    let groups = u32::from_ne_bytes([addr[8], addr[9], addr[10], addr[11]]);
    let mut t = table();
    if pid != 0 && t.socks.iter().any(|(k, s)| *k != kfd && s.portid == pid) {
        return Err(Errno::EADDRINUSE);
    }
    let s = t.socks.get_mut(&kfd).ok_or(Errno::EBADF)?;
    if pid != 0 {
        s.portid = pid;
    }
    s.groups = groups;
    let listens = s.sub.is_some() || groups != 0;
    drop(t);
    if listens {
        with_sub(kfd, |k, now, id| k.netlink_set_groups(now, id, groups))?;
    }
    Ok(())
}

/// getsockname: the socket's own address.
/// `nl_groups` is the first 32 groups joined either way (`netlink_getname`).
pub fn local_name(kfd: Fd) -> SysResult<Vec<u8>> {
    let (portid, groups, sub) = {
        let t = table();
        let s = t.socks.get(&kfd).ok_or(Errno::EBADF)?;
        (s.portid, s.groups, s.sub)
    };
    let groups = match sub {
        Some(id) => instance()?.lock().k.netlink_groups(id)? as u32,
        None => groups,
    };
    Ok(sockaddr_nl(portid, groups))
}

/// The kernel's address (port 0): the source of every reply, the peer of every socket.
pub fn kernel_name() -> Vec<u8> {
    sockaddr_nl(0, 0)
}

/// Sends requests to the kernel and queues its replies.
pub fn send(kfd: Fd, data: &[u8]) -> SysResult<usize> {
    let (portid, protocol, ext_ack) = {
        let t = table();
        let s = t.socks.get(&kfd).ok_or(Errno::EBADF)?;
        (s.portid, s.protocol, s.ext_ack)
    };
    let Some(reply) = kernel_netlink(protocol, ext_ack, data)? else {
        return Err(Errno::EOPNOTSUPP);
    };
    let mut dgrams: Vec<Vec<u8>> = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= reply.len() {
        let len = u32::from_ne_bytes(reply[off..off + 4].try_into().unwrap_or_default()) as usize;
        if len < NLMSG_HDRLEN || off + len > reply.len() {
            break;
        }
        let mut m = reply[off..off + len].to_vec();
        m[12..16].copy_from_slice(&portid.to_ne_bytes());
        let aligned = (len + 3) & !3;
        m.resize(aligned.min(reply.len() - off), 0);
        match dgrams.last_mut() {
            Some(d) if d.len() + m.len() <= DGRAM_MAX => d.extend_from_slice(&m),
            _ => dgrams.push(m),
        }
        off += aligned;
    }
    let mut t = table();
    let s = t.socks.get_mut(&kfd).ok_or(Errno::EBADF)?;
    s.rx.extend(dgrams);
    ARRIVED.notify_all();
    Ok(data.len())
}

fn copy_out(d: &[u8], iov: &mut [&mut [u8]], flags: c_int) -> usize {
    let mut off = 0;
    for b in iov.iter_mut() {
        let take = b.len().min(d.len() - off);
        b[..take].copy_from_slice(&d[off..off + take]);
        off += take;
    }
    if flags & libc::MSG_TRUNC != 0 { d.len() } else { off }
}

/// Reads one queued datagram into `iov` (MSG_PEEK keeps it; MSG_TRUNC returns its
/// full length): replies first, then notifications. Blocks while both are empty unless
/// non-blocking.
pub fn recv(kfd: Fd, iov: &mut [&mut [u8]], flags: c_int) -> SysResult<usize> {
    loop {
        let mut t = table();
        let s = t.socks.get_mut(&kfd).ok_or(Errno::EBADF)?;
        if let Some(d) = s.rx.front() {
            let n = copy_out(d, iov, flags);
            if flags & libc::MSG_PEEK == 0 {
                s.rx.pop_front();
            }
            return Ok(n);
        }
        let dontwait = s.nonblock || flags & libc::MSG_DONTWAIT != 0;
        let Some(sub) = s.sub else {
            if dontwait {
                return Err(Errno::EAGAIN);
            }
            drop(ARRIVED.wait(t).unwrap_or_else(|e| e.into_inner()));
            continue;
        };
        drop(t);
        let n = instance()?;
        let mut g = n.lock();
        let now = n.enter(&mut g);
        let r = g.k.netlink_recv(now, sub);
        n.flush(&mut g);
        match r? {
            Some(m) => {
                let len = copy_out(&m, iov, flags);
                if flags & libc::MSG_PEEK != 0 {
                    // Peeked: keep it as the next datagram to read.
                    table().socks.get_mut(&kfd).ok_or(Errno::EBADF)?.rx.push_front(m);
                }
                return Ok(len);
            }
            None if dontwait => return Err(Errno::EAGAIN),
            // Woken by the kernel's readiness events (or the periodic re-check).
            None => drop(n.wait(&mut g, None)),
        }
    }
}

/// poll(2) bits; `k` is the locked instance's kernel (for notifications).
pub fn revents(kfd: Fd, events: u32, k: &Kernel) -> u32 {
    let t = table();
    let Some(s) = t.socks.get(&kfd) else { return libc::POLLNVAL as u32 };
    let mut m = (libc::POLLOUT | libc::POLLWRNORM) as u32;
    let note = s.sub.map_or(0, |id| u32::from(k.netlink_poll(id).unwrap_or(0)));
    if !s.rx.is_empty() || note & libc::POLLIN as u32 != 0 {
        m |= (libc::POLLIN | libc::POLLRDNORM) as u32;
    }
    m |= note & libc::POLLERR as u32;
    m & (events | libc::POLLERR as u32 | libc::POLLHUP as u32)
}

pub fn nonblock(kfd: Fd) -> SysResult<bool> {
    table().socks.get(&kfd).map(|s| s.nonblock).ok_or(Errno::EBADF)
}

pub fn set_nonblock(kfd: Fd, on: bool) -> SysResult<()> {
    table().socks.get_mut(&kfd).map(|s| s.nonblock = on).ok_or(Errno::EBADF)
}

/// Bytes of the next queued datagram (FIONREAD).
pub fn pending(kfd: Fd) -> SysResult<c_int> {
    let t = table();
    let s = t.socks.get(&kfd).ok_or(Errno::EBADF)?;
    Ok(s.rx.front().map_or(0, |d| d.len() as c_int))
}

/// Socket options: group membership; buffer sizes and the other SOL_NETLINK flags are
/// accepted (there is no buffer to size).
pub fn setsockopt(kfd: Fd, level: c_int, name: c_int, val: &[u8]) -> SysResult<()> {
    table().socks.get(&kfd).ok_or(Errno::EBADF)?;
    match (level, name) {
        (SOL_NETLINK, NETLINK_EXT_ACK) => {
            let v: [u8; 4] = val.get(..4).and_then(|v| v.try_into().ok()).ok_or(Errno::EINVAL)?;
            let on = i32::from_ne_bytes(v) != 0;
            table().socks.get_mut(&kfd).ok_or(Errno::EBADF)?.ext_ack = on;
            Ok(())
        }
        (SOL_NETLINK, NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP) => {
            let g: [u8; 4] = val.get(..4).and_then(|v| v.try_into().ok()).ok_or(Errno::EINVAL)?;
            let group = u32::from_ne_bytes(g);
            let join = name == NETLINK_ADD_MEMBERSHIP;
            with_sub(kfd, |k, now, id| k.netlink_membership(now, id, group, join))
        }
        (SOL_NETLINK, _) => Ok(()),
        (
            libc::SOL_SOCKET,
            libc::SO_SNDBUF | libc::SO_RCVBUF | libc::SO_SNDBUFFORCE | libc::SO_RCVBUFFORCE,
        ) => Ok(()),
        (libc::SOL_SOCKET, libc::SO_PASSCRED | libc::SO_TIMESTAMP) => Ok(()),
        _ => {
            say_once(format!(
                "setsockopt(level {level}, option {name}) on a netlink socket is not supported by libos"
            ));
            Err(Errno::ENOPROTOOPT)
        }
    }
}

pub fn getsockopt(kfd: Fd, level: c_int, name: c_int) -> SysResult<c_int> {
    let protocol = table().socks.get(&kfd).ok_or(Errno::EBADF)?.protocol;
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_RCVBUF) => Ok(RCVBUF),
        (libc::SOL_SOCKET, libc::SO_TYPE) => Ok(libc::SOCK_RAW),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => Ok(libc::AF_NETLINK),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => Ok(protocol),
        (libc::SOL_SOCKET, libc::SO_ERROR) => Ok(0),
        (SOL_NETLINK, NETLINK_EXT_ACK) => {
            Ok(c_int::from(table().socks.get(&kfd).ok_or(Errno::EBADF)?.ext_ack))
        }
        (SOL_NETLINK, _) => Ok(0),
        _ => Err(Errno::ENOPROTOOPT),
    }
}
