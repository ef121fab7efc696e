//! The POSIX socket layer: a per-instance fd table over the protocol tables (TCP, UDP,
//! raw), Linux errno for misuse, and readiness tracking. The kernel never blocks: calls
//! that would block return EAGAIN/EINPROGRESS, and the host learns of readiness changes
//! from `Event`s (see `Kernel::poll_event`).

pub mod dgram;
pub mod inet;
pub mod inet6;
pub mod ioctl;
pub mod options;
pub mod slab;

use crate::net::{Delivery, IcmpError, IpRx, Net, Transport};
use crate::uapi::*;
use crate::{Errno, Nanos, SysResult};
use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;

/// `sk_shutdown` bits (Linux `include/net/sock.h`).
pub const RCV_SHUTDOWN: u8 = 1;
pub const SEND_SHUTDOWN: u8 = 2;

/// A file descriptor number in one instance's table.
pub type Fd = i32;

/// The first fd handed out; 0..2 are left free so fds look like a process's.
const FIRST_FD: Fd = 3;
/// Per-instance limit, as `RLIMIT_NOFILE`'s usual soft limit.
const MAX_FDS: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Raw,
}

/// A socket inside its protocol table (which may have no fd yet: an embryonic TCP
/// connection waiting in an accept queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockRef {
    pub proto: Proto,
    pub id: u32,
}

/// A readiness change the host should act on: wake tasks blocked on `fd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub fd: Fd,
    /// The socket's poll mask now (`POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDHUP`).
    pub revents: u16,
}

/// What every protocol table offers the socket layer. Ids are the table's own; the
/// socket layer maps fds onto them. Unsupported operations keep Linux's errno.
pub trait ProtoOps {
    /// Creates an unbound socket. `protocol` is the third argument of socket(2).
    fn open(&mut self, net: &mut Net, domain: i32, protocol: i32) -> SysResult<u32>;
    fn bind(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()>;
    fn connect(&mut self, now: Nanos, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()>;
    /// connect(2) with an `AF_UNSPEC` address (`sk_prot->disconnect`): datagram
    /// sockets forget their peer, TCP aborts the connection.
    fn disconnect(&mut self, _now: Nanos, _net: &mut Net, _id: u32) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn listen(&mut self, _net: &mut Net, _id: u32, _backlog: i32) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Takes one established connection off the accept queue: (child id, peer).
    fn accept(&mut self, _now: Nanos, _net: &mut Net, _id: u32) -> SysResult<(u32, SocketAddr)> {
        Err(Errno::EOPNOTSUPP)
    }
    fn sendto(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize>;
    fn recvfrom(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)>;
    /// sendmsg(2) with a gather list. The default joins the pieces and calls
    /// `sendto`; datagram protocols build the packet straight from `iov`.
    fn sendmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        match iov {
            [one] => self.sendto(now, net, id, one, flags, to),
            _ => self.sendto(now, net, id, &iov.concat(), flags, to),
        }
    }
    /// sendmsg(2) with IP control messages (`ip_cmsg_send`, parsed by
    /// `raw::cmsg::parse`). The default ignores them.
    #[allow(clippy::too_many_arguments)]
    fn sendmsg_ctl(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        _ctl: &crate::raw::cmsg::SendCtl,
    ) -> SysResult<usize> {
        self.sendmsg(now, net, id, iov, flags, to)
    }
    /// recvmsg(2) with a scatter list. The default reads into one buffer and
    /// scatters it; datagram protocols copy straight from the queued message.
    fn recvmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        if let [one] = iov {
            return self.recvfrom(now, net, id, one, flags);
        }
        let total: usize = iov.iter().map(|b| b.len()).sum();
        let mut tmp = vec![0u8; total];
        let (n, from) = self.recvfrom(now, net, id, &mut tmp, flags)?;
        let mut off = 0;
        for b in iov.iter_mut() {
            let take = b.len().min(n.min(total) - off);
            b[..take].copy_from_slice(&tmp[off..off + take]);
            off += take;
        }
        Ok((n, from))
    }
    fn shutdown(&mut self, now: Nanos, net: &mut Net, id: u32, how: i32) -> SysResult<()>;
    /// Releases the user's reference. The protocol may keep state alive (FIN_WAIT,
    /// TIME_WAIT, lingering data) and frees it itself later.
    fn close(&mut self, now: Nanos, net: &mut Net, id: u32);
    fn setsockopt(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()>;
    /// Writes the option value into `out` and returns its length (truncated like Linux).
    fn getsockopt(
        &mut self,
        net: &Net,
        id: u32,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize>;
    fn local_addr(&self, id: u32) -> SysResult<SocketAddr>;
    fn peer_addr(&self, id: u32) -> SysResult<SocketAddr>;
    /// The poll mask now.
    fn poll(&self, id: u32) -> u16;
    /// Bytes readable (FIONREAD/SIOCINQ) and bytes not yet acknowledged/sent (SIOCOUTQ).
    fn queued(&self, id: u32) -> (usize, usize);
    fn next_deadline(&self) -> Option<Nanos>;
    fn advance(&mut self, now: Nanos, net: &mut Net);
}

struct FdEntry {
    sock: SockRef,
    nonblock: bool,
    domain: i32,
    ty: i32,
    protocol: i32,
    /// Mask as of the last `Event` or the last drop in readiness since.
    reported: u16,
}

#[derive(Default)]
pub struct Sockets {
    pub tcp: crate::tcp::TcpTable,
    pub udp: crate::udp::UdpTable,
    pub raw: crate::raw::RawTable,
    fds: Vec<Option<FdEntry>>,
    /// Free slots below `fds.len()`, so the lowest free fd is found in O(log n).
    free: BTreeSet<usize>,
    by_sock: FdIndex,
    events: VecDeque<Event>,
}

/// The fd of each socket that has one, indexed by protocol and then socket id (ids are
/// slab indices, so small): `collect_events` maps every wake-up through it.
#[derive(Default)]
struct FdIndex([Vec<Option<Fd>>; 3]);

impl FdIndex {
    fn get(&self, s: SockRef) -> Option<Fd> {
        *self.0[s.proto as usize].get(s.id as usize)?
    }

    fn insert(&mut self, s: SockRef, fd: Fd) {
        let v = &mut self.0[s.proto as usize];
        if v.len() <= s.id as usize {
            v.resize(s.id as usize + 1, None);
        }
        v[s.id as usize] = Some(fd);
    }

    fn remove(&mut self, s: SockRef) {
        if let Some(slot) = self.0[s.proto as usize].get_mut(s.id as usize) {
            *slot = None;
        }
    }
}

impl Sockets {
    fn ops(&mut self, p: Proto) -> &mut dyn ProtoOps {
        match p {
            Proto::Tcp => &mut self.tcp,
            Proto::Udp => &mut self.udp,
            Proto::Raw => &mut self.raw,
        }
    }

    fn ops_ref(&self, p: Proto) -> &dyn ProtoOps {
        match p {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
            Proto::Raw => &self.raw,
        }
    }

    fn entry(&self, fd: Fd) -> SysResult<&FdEntry> {
        let idx = usize::try_from(fd - FIRST_FD).map_err(|_| Errno::EBADF)?;
        self.fds.get(idx).and_then(|e| e.as_ref()).ok_or(Errno::EBADF)
    }

    fn sock(&self, fd: Fd) -> SysResult<SockRef> {
        Ok(self.entry(fd)?.sock)
    }

    fn install(
        &mut self,
        sock: SockRef,
        domain: i32,
        ty: i32,
        protocol: i32,
        nonblock: bool,
    ) -> SysResult<Fd> {
        // POSIX: the lowest free descriptor.
        let slot = match self.free.pop_first() {
            Some(i) => i,
            None if self.fds.len() < MAX_FDS => {
                self.fds.push(None);
                self.fds.len() - 1
            }
            None => return Err(Errno::EMFILE),
        };
        let fd = FIRST_FD + slot as Fd;
        self.fds[slot] = Some(FdEntry { sock, nonblock, domain, ty, protocol, reported: 0 });
        self.by_sock.insert(sock, fd);
        Ok(fd)
    }

    /// socket(2).
    pub fn socket(&mut self, net: &mut Net, domain: i32, ty: i32, protocol: i32) -> SysResult<Fd> {
        if ty & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let nonblock = ty & SOCK_NONBLOCK != 0;
        let base = ty & SOCK_TYPE_MASK;
        if domain != AF_INET && domain != AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        // Linux `inet_create`: protocol outside 0..IPPROTO_MAX is EINVAL.
        if !(0..=255).contains(&protocol) {
            return Err(Errno::EINVAL);
        }
        let proto = match (base, protocol) {
            (SOCK_STREAM, 0 | IPPROTO_TCP) => Proto::Tcp,
            (SOCK_DGRAM, 0 | IPPROTO_UDP) => Proto::Udp,
            // ICMP "ping" sockets: refused while `net.ipv4.ping_group_range` is its
            // default "1 0" (no group), as on Linux; ping then falls back to raw.
            (SOCK_DGRAM, IPPROTO_ICMP) if domain == AF_INET => return Err(Errno::EACCES),
            (SOCK_DGRAM, inet6::IPPROTO_ICMPV6) if domain == AF_INET6 => {
                return Err(Errno::EACCES);
            }
            (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
            (SOCK_RAW, p) if (1..=255).contains(&p) => Proto::Raw,
            (SOCK_RAW, _) => return Err(Errno::EPROTONOSUPPORT),
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        let id = self.ops(proto).open(net, domain, protocol)?;
        let sock = SockRef { proto, id };
        match self.install(sock, domain, base, protocol, nonblock) {
            Ok(fd) => Ok(fd),
            Err(e) => {
                self.ops(proto).close(0, net, id);
                Err(e)
            }
        }
    }

    /// The socket of `fd`, after checking `addr` has the socket's family (Linux
    /// `inet_bind`/`inet_dgram_connect`/`tcp_v4_connect`: EAFNOSUPPORT).
    fn sock_for_addr(&self, fd: Fd, addr: &SocketAddr) -> SysResult<SockRef> {
        let e = self.entry(fd)?;
        let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
        if family != e.domain {
            return Err(Errno::EAFNOSUPPORT);
        }
        Ok(e.sock)
    }

    /// As `sock_for_addr` for connect and sendto, where an AF_INET6 UDP socket also
    /// takes a `sockaddr_in` (`ip6_datagram_connect`, `udpv6_sendmsg`: the IPv4 path,
    /// refused on an IPV6_V6ONLY socket by the protocol).
    fn sock_for_dest(&self, fd: Fd, addr: &SocketAddr) -> SysResult<SockRef> {
        let e = self.entry(fd)?;
        if addr.is_ipv4() && e.domain == AF_INET6 && e.sock.proto == Proto::Udp {
            return Ok(e.sock);
        }
        self.sock_for_addr(fd, addr)
    }

    pub fn bind(&mut self, net: &mut Net, fd: Fd, addr: SocketAddr) -> SysResult<()> {
        let s = self.sock_for_addr(fd, &addr)?;
        self.ops(s.proto).bind(net, s.id, addr)
    }

    pub fn connect(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        addr: SocketAddr,
    ) -> SysResult<()> {
        let s = self.sock_for_dest(fd, &addr)?;
        let r = self.ops(s.proto).connect(now, net, s.id, addr);
        net.wake(s);
        r
    }

    /// connect(2) with `AF_UNSPEC`: dissolves the association.
    pub fn disconnect(&mut self, now: Nanos, net: &mut Net, fd: Fd) -> SysResult<()> {
        let s = self.sock(fd)?;
        let r = self.ops(s.proto).disconnect(now, net, s.id);
        net.wake(s);
        r
    }

    pub fn listen(&mut self, net: &mut Net, fd: Fd, backlog: i32) -> SysResult<()> {
        let s = self.sock(fd)?;
        self.ops(s.proto).listen(net, s.id, backlog)
    }

    /// accept4(2): the new fd inherits the listener's family and type.
    pub fn accept(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        flags: i32,
    ) -> SysResult<(Fd, SocketAddr)> {
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        let e = self.entry(fd)?;
        let (s, domain, ty, protocol) = (e.sock, e.domain, e.ty, e.protocol);
        let (child, peer) = self.ops(s.proto).accept(now, net, s.id)?;
        let sock = SockRef { proto: s.proto, id: child };
        let nfd = self.install(sock, domain, ty, protocol, flags & SOCK_NONBLOCK != 0)?;
        // The listener's readiness may have dropped now the queue shrank.
        net.wake(s);
        Ok((nfd, peer))
    }

    pub fn sendto(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        self.sendmsg(now, net, fd, &[data], flags, to)
    }

    /// sendmsg(2) with a gather list; the socket's mask is rechecked afterwards (a
    /// send may consume a pending error).
    pub fn sendmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        let s = match to {
            Some(a) => self.sock_for_dest(fd, &a)?,
            None => self.sock(fd)?,
        };
        let r = self.ops(s.proto).sendmsg(now, net, s.id, iov, flags, to);
        net.wake(s);
        r
    }

    /// sendmsg(2) with IP control messages.
    #[allow(clippy::too_many_arguments)]
    pub fn sendmsg_ctl(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        ctl: &crate::raw::cmsg::SendCtl,
    ) -> SysResult<usize> {
        let s = match to {
            Some(a) => self.sock_for_dest(fd, &a)?,
            None => self.sock(fd)?,
        };
        let r = self.ops(s.proto).sendmsg_ctl(now, net, s.id, iov, flags, to, ctl);
        net.wake(s);
        r
    }

    pub fn recvfrom(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        self.recvmsg(now, net, fd, &mut [buf], flags)
    }

    /// recvmsg(2) with a scatter list; the socket's mask is rechecked afterwards so
    /// the host hears of the next arrival after it drained the queue.
    pub fn recvmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        let s = self.sock(fd)?;
        let r = self.ops(s.proto).recvmsg(now, net, s.id, iov, flags);
        // EAGAIN took nothing and changed nothing: no mask to recheck.
        if r != Err(Errno::EAGAIN) {
            net.wake(s);
        }
        r
    }

    /// The `msg_control` bytes for the message `fd` read last.
    pub fn recv_control(&self, net: &Net, fd: Fd) -> SysResult<Vec<u8>> {
        let s = self.sock(fd)?;
        Ok(match s.proto {
            Proto::Udp => self.udp.recv_control(net, s.id),
            Proto::Raw => self.raw.recv_control(net, s.id),
            Proto::Tcp => Vec::new(),
        })
    }

    pub fn shutdown(&mut self, now: Nanos, net: &mut Net, fd: Fd, how: i32) -> SysResult<()> {
        if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let s = self.sock(fd)?;
        let r = self.ops(s.proto).shutdown(now, net, s.id, how);
        net.wake(s);
        r
    }

    pub fn close(&mut self, now: Nanos, net: &mut Net, fd: Fd) -> SysResult<()> {
        let s = self.sock(fd)?;
        self.fds[(fd - FIRST_FD) as usize] = None;
        self.free.insert((fd - FIRST_FD) as usize);
        self.by_sock.remove(s);
        self.events.retain(|e| e.fd != fd);
        self.ops(s.proto).close(now, net, s.id);
        Ok(())
    }

    pub fn setsockopt(
        &mut self,
        now: Nanos,
        net: &mut Net,
        fd: Fd,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()> {
        let s = self.sock(fd)?;
        let r = self.ops(s.proto).setsockopt(now, net, s.id, level, name, val);
        net.wake(s);
        r
    }

    pub fn getsockopt(
        &mut self,
        net: &Net,
        fd: Fd,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        let e = self.entry(fd)?;
        if level == SOL_SOCKET {
            let v = match name {
                SO_TYPE => Some(e.ty),
                SO_DOMAIN => Some(e.domain),
                SO_PROTOCOL => Some(match e.sock.proto {
                    Proto::Tcp => IPPROTO_TCP,
                    Proto::Udp => IPPROTO_UDP,
                    Proto::Raw => e.protocol,
                }),
                _ => None,
            };
            if let Some(v) = v {
                return options::put_int(out, v);
            }
        }
        let s = e.sock;
        let r = self.ops(s.proto).getsockopt(net, s.id, level, name, out);
        if level == SOL_SOCKET && name == SO_ERROR {
            // Reading SO_ERROR clears it: the caller knows, so no event, but the
            // next error must differ from what was reported.
            let mask = self.ops_ref(s.proto).poll(s.id);
            if let Some(Some(e)) = self.fds.get_mut((fd - FIRST_FD) as usize) {
                e.reported = mask;
            }
        }
        r
    }

    pub fn getsockname(&self, fd: Fd) -> SysResult<SocketAddr> {
        let s = self.sock(fd)?;
        self.ops_ref(s.proto).local_addr(s.id)
    }

    pub fn getpeername(&self, fd: Fd) -> SysResult<SocketAddr> {
        let s = self.sock(fd)?;
        self.ops_ref(s.proto).peer_addr(s.id)
    }

    pub fn poll(&self, fd: Fd) -> SysResult<u16> {
        let s = self.sock(fd)?;
        Ok(self.ops_ref(s.proto).poll(s.id))
    }

    /// TCP_INFO of a TCP socket (EOPNOTSUPP for others, as Linux's getsockopt).
    pub fn tcp_info(&self, fd: Fd) -> SysResult<crate::tcp::TcpInfo> {
        let s = self.sock(fd)?;
        if s.proto != Proto::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        self.tcp.info(s.id)
    }

    /// ioctl(2) on a socket: FIONREAD/SIOCINQ, SIOCOUTQ, FIONBIO.
    pub fn ioctl(&mut self, fd: Fd, request: u32, arg: i32) -> SysResult<i32> {
        let e = self.entry(fd)?;
        let s = e.sock;
        match request {
            FIONREAD => Ok(self.ops_ref(s.proto).queued(s.id).0.min(i32::MAX as usize) as i32),
            SIOCOUTQ => Ok(self.ops_ref(s.proto).queued(s.id).1.min(i32::MAX as usize) as i32),
            FIONBIO => {
                self.set_nonblocking(fd, arg != 0)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// O_NONBLOCK as the host tracks it (the kernel itself never blocks).
    pub fn is_nonblocking(&self, fd: Fd) -> SysResult<bool> {
        Ok(self.entry(fd)?.nonblock)
    }

    pub fn set_nonblocking(&mut self, fd: Fd, on: bool) -> SysResult<()> {
        self.entry(fd)?;
        if let Some(Some(e)) = self.fds.get_mut((fd - FIRST_FD) as usize) {
            e.nonblock = on;
        }
        Ok(())
    }

    /// Open fds, ascending.
    pub fn fds(&self) -> impl Iterator<Item = Fd> + '_ {
        self.fds.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| FIRST_FD + i as Fd)
    }

    /// Turns `net.wakeups` into `Event`s for sockets whose mask gained a bit (became
    /// readable, writable, hung up, failed). A mask that only lost bits (the reader
    /// drained the queue) is recorded without an event: nothing blocked on the fd can
    /// proceed because of it (as epoll wakes waiters only on new readiness).
    pub fn collect_events(&mut self, net: &mut Net) {
        for s in net.wakeups.drain(..) {
            let Some(fd) = self.by_sock.get(s) else { continue };
            let mask = match s.proto {
                Proto::Tcp => self.tcp.poll(s.id),
                Proto::Udp => self.udp.poll(s.id),
                Proto::Raw => self.raw.poll(s.id),
            };
            if let Some(Some(e)) = self.fds.get_mut((fd - FIRST_FD) as usize)
                && e.reported != mask
            {
                let gained = mask & !e.reported;
                e.reported = mask;
                if gained != 0 {
                    self.events.push_back(Event { fd, revents: mask });
                }
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn next_deadline(&self) -> Option<Nanos> {
        [self.tcp.next_deadline(), self.udp.next_deadline(), self.raw.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn advance(&mut self, now: Nanos, net: &mut Net) {
        self.tcp.advance(now, net);
        self.udp.advance(now, net);
        self.raw.advance(now, net);
    }
}

impl Transport for Sockets {
    fn raw_deliver(&mut self, now: Nanos, net: &mut Net, rx: &IpRx<'_>) -> bool {
        self.raw.deliver(now, net, rx)
    }

    fn deliver(&mut self, now: Nanos, net: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery {
        match i32::from(rx.protocol) {
            IPPROTO_TCP => self.tcp.input(now, net, rx, payload),
            IPPROTO_UDP => self.udp.input(now, net, rx, payload),
            _ => Delivery::NoPort,
        }
    }

    fn icmp_error(&mut self, now: Nanos, net: &mut Net, err: &IcmpError<'_>) {
        match i32::from(err.protocol) {
            IPPROTO_TCP => self.tcp.icmp_error(now, net, err),
            IPPROTO_UDP => self.udp.icmp_error(now, net, err),
            _ => {}
        }
        self.raw.icmp_error(now, net, err);
    }
}

#[cfg(test)]
mod tests {
    use crate::uapi::*;
    use crate::{Errno, Kernel, KernelConfig};
    use std::net::SocketAddr;

    #[test]
    fn events_only_for_new_readiness() {
        let mut k = Kernel::new(KernelConfig { seed: 1 });
        let fd = k.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0).unwrap();
        let me: SocketAddr = "127.0.0.1:9".parse().unwrap();
        k.bind(fd, me).unwrap();
        while k.poll_event().is_some() {}
        k.sendto(0, fd, b"one", 0, Some(me)).unwrap();
        let e = k.poll_event().expect("readable");
        assert_eq!((e.fd, e.revents & POLLIN), (fd, POLLIN));
        assert_eq!(k.poll_event(), None);
        let mut buf = [0u8; 16];
        assert_eq!(k.recv(0, fd, &mut buf, 0), Ok(3));
        assert_eq!(k.poll_event(), None, "draining the queue only loses readiness");
        assert_eq!(k.recv(0, fd, &mut buf, 0), Err(Errno::EAGAIN));
        assert_eq!(k.poll_event(), None);
        k.sendto(0, fd, b"two", 0, Some(me)).unwrap();
        let e = k.poll_event().expect("readable again");
        assert_eq!(e.revents & POLLIN, POLLIN, "the loss was recorded, so the gain is seen");
    }
}
