//! What datagram sockets (UDP and raw) share. The receive queue: whole messages, charged to
//! the socket's receive buffer by an skb-like "truesize" as Linux does
//! (`__udp_enqueue_schedule_skb`, `sock_queue_rcv_skb`), read with datagram
//! semantics: one message per call, the excess of a long message discarded
//! (MSG_TRUNC reports the real length), MSG_PEEK leaves it queued.

use crate::dev::IfIndex;
use crate::net::{IcmpError, Net, RouteOut};
use crate::socket::inet::InetOpts;
use crate::socket::options::{SockCommon, put_int};
use crate::socket::{RCV_SHUTDOWN, SEND_SHUTDOWN};
use crate::uapi::*;
use crate::{Errno, SysResult};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Approximates Linux `skb->truesize` for a received packet of `len` bytes: the data
/// area (link/IP headers, NET_SKB_PAD, cache-line aligned) plus `struct sk_buff` and
/// `struct skb_shared_info` (`SKB_TRUESIZE`). Deterministic, so buffer-full drops
/// happen at the same message in every run.
pub fn truesize(len: usize) -> usize {
    const PAD_AND_HEADERS: usize = 64 + 14 + 20;
    const SKB_OVERHEAD: usize = 256 + 320;
    (len + PAD_AND_HEADERS).div_ceil(64) * 64 + SKB_OVERHEAD
}

/// What the IP header and the input device said about a received datagram, for the
/// control messages of `recvmsg` (Linux keeps it in the skb: `IPCB`, `skb->dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxInfo {
    pub ifindex: IfIndex,
    /// The header's destination address.
    pub dst: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    /// Sent to a broadcast or multicast address.
    pub multicast_or_broadcast: bool,
}

impl Default for RxInfo {
    fn default() -> Self {
        RxInfo {
            ifindex: 0,
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ttl: 0,
            tos: 0,
            multicast_or_broadcast: false,
        }
    }
}

impl RxInfo {
    pub fn of(rx: &crate::net::IpRx<'_>) -> RxInfo {
        RxInfo {
            ifindex: rx.ifindex,
            dst: rx.dst,
            ttl: rx.ttl,
            tos: rx.tos,
            multicast_or_broadcast: rx.multicast_or_broadcast,
        }
    }
}

/// One queued extended error (Linux `struct sock_exterr_skb`), read with
/// MSG_ERRQUEUE after IP_RECVERR: what the ICMP message said, who sent it, and the
/// part of our datagram it quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtErr {
    pub errno: Errno,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// The next-hop MTU of "fragmentation needed", else 0.
    pub info: u32,
    /// The ICMP (or ICMPv6) message's sender.
    pub offender: IpAddr,
    /// Where our datagram was going (`msg_name` of the error read).
    pub dst: SocketAddr,
    pub payload: Bytes,
}

/// What the last read returned, for its control messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastRead {
    Data(SocketAddr, RxInfo),
    Error(ExtErr),
}

/// One queued message and where it came from.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub from: SocketAddr,
    pub data: Bytes,
    pub info: RxInfo,
    truesize: usize,
}

/// A bounded queue of received messages.
#[derive(Debug, Default)]
pub struct RxQueue {
    q: VecDeque<Datagram>,
    /// Bytes charged (`sk_rmem_alloc`).
    rmem: usize,
    /// The last message read, for its control messages.
    last: Option<LastRead>,
    /// The error queue (`sk_error_queue`).
    errq: VecDeque<ExtErr>,
}

impl RxQueue {
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// `sk_rmem_alloc`.
    pub fn rmem(&self) -> usize {
        self.rmem
    }

    /// Length of the first message (Linux `first_packet_length`, what SIOCINQ answers
    /// on a UDP socket).
    pub fn first_len(&self) -> usize {
        self.q.front().map_or(0, |d| d.data.len())
    }

    /// Queues `data` unless the buffer is full. Linux admits a message while the
    /// memory already charged does not exceed `rcvbuf` (so at least one message always
    /// fits and the queue may overshoot by one). Returns false when dropped.
    pub fn push(&mut self, from: SocketAddr, data: Bytes, info: RxInfo, rcvbuf: usize) -> bool {
        let size = truesize(data.len());
        if self.rmem + size > rcvbuf && self.rmem > rcvbuf {
            return false;
        }
        self.rmem += size;
        self.q.push_back(Datagram { from, data, info, truesize: size });
        true
    }

    /// The message or error read last (peeked or taken).
    pub fn last(&self) -> Option<&LastRead> {
        self.last.as_ref()
    }

    /// `sock_queue_err_skb`: queues an error unless the receive buffer is full.
    pub fn push_err(&mut self, e: ExtErr, rcvbuf: usize) -> bool {
        let size = truesize(e.payload.len());
        if self.rmem + size >= rcvbuf {
            return false;
        }
        self.rmem += size;
        self.errq.push_back(e);
        true
    }

    pub fn has_errors(&self) -> bool {
        !self.errq.is_empty()
    }

    /// `ip_recv_error`: the first queued error's quoted payload into `iov`; (bytes
    /// copied or the full length with MSG_TRUNC, the original destination).
    pub fn recv_err(&mut self, iov: &mut [&mut [u8]], flags: i32) -> Option<(usize, SocketAddr)> {
        let e = self.errq.front()?.clone();
        let mut off = 0;
        for b in iov.iter_mut() {
            let n = (e.payload.len() - off).min(b.len());
            b[..n].copy_from_slice(&e.payload[off..off + n]);
            off += n;
        }
        if flags & MSG_PEEK == 0 {
            self.errq.pop_front();
            self.rmem -= truesize(e.payload.len());
        }
        let len = if flags & MSG_TRUNC != 0 { e.payload.len() } else { off };
        let dst = e.dst;
        self.last = Some(LastRead::Error(e));
        Some((len, dst))
    }

    /// Reads the first message into `iov` in order. Returns (bytes copied, or the
    /// message length with MSG_TRUNC; sender; true if it was dequeued).
    pub fn recv(&mut self, iov: &mut [&mut [u8]], flags: i32) -> Option<(usize, SocketAddr)> {
        let d = self.q.front()?;
        let mut off = 0;
        for b in iov.iter_mut() {
            let rest = &d.data[off..];
            let n = rest.len().min(b.len());
            b[..n].copy_from_slice(&rest[..n]);
            off += n;
            if off == d.data.len() {
                break;
            }
        }
        let (len, from) = (d.data.len(), d.from);
        self.last = Some(LastRead::Data(from, d.info));
        if flags & MSG_PEEK == 0 {
            self.pop();
        }
        Some((if flags & MSG_TRUNC != 0 { len } else { off }, from))
    }

    fn pop(&mut self) {
        if let Some(d) = self.q.pop_front() {
            self.rmem -= d.truesize;
        }
    }

    pub fn clear(&mut self) {
        self.q.clear();
        self.errq.clear();
        self.rmem = 0;
    }
}

/// The poll mask of a datagram socket (Linux `datagram_poll`): always writable, readable
/// with a queued datagram or after SHUT_RD, HUP once both directions are shut.
pub fn datagram_poll(error: bool, shutdown: u8, rxq: &RxQueue) -> u16 {
    let mut m = POLLOUT | POLLWRNORM | POLLWRBAND;
    if error || rxq.has_errors() {
        m |= POLLERR;
    }
    if shutdown & RCV_SHUTDOWN != 0 {
        m |= POLLRDHUP | POLLIN | POLLRDNORM;
    }
    if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN {
        m |= POLLHUP;
    }
    if !rxq.is_empty() {
        m |= POLLIN | POLLRDNORM;
    }
    m
}

/// The end of `udp_recvmsg` / `raw_recvmsg` once the flags are checked: a pending
/// error first (`sock_error`), then one queued datagram; after SHUT_RD an empty queue
/// reads as end of file instead of blocking.
pub fn recv(
    common: &mut SockCommon,
    shutdown: u8,
    rxq: &mut RxQueue,
    iov: &mut [&mut [u8]],
    flags: i32,
) -> SysResult<(usize, Option<SocketAddr>)> {
    if flags & MSG_ERRQUEUE != 0 {
        let got = rxq.recv_err(iov, flags).ok_or(Errno::EAGAIN)?;
        // `sock_dequeue_err_skb`: the pending error becomes the next queued one's.
        common.error = rxq.errq.front().map(|e| e.errno);
        return Ok((got.0, Some(got.1)));
    }
    if let Some(e) = common.error.take() {
        return Err(e);
    }
    match rxq.recv(iov, flags) {
        Some((n, from)) => Ok((n, Some(from))),
        None if shutdown & RCV_SHUTDOWN != 0 => Ok((0, None)),
        None => Err(Errno::EAGAIN),
    }
}

/// What a datagram send checks before building the packet: EPIPE after SHUT_WR, then a
/// pending error, reported and cleared (`sock_alloc_send_pskb`).
pub fn send_ready(common: &mut SockCommon, shutdown: u8) -> SysResult<()> {
    if shutdown & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    common.error.take().map_or(Ok(()), Err)
}

/// `inet_shutdown` on a datagram socket: an unconnected one answers ENOTCONN but the
/// shutdown still takes effect (Linux sets `sk_shutdown` before the state check).
pub fn shutdown(shutdown: &mut u8, connected: bool, how: i32) -> SysResult<()> {
    *shutdown |= (how + 1) as u8 & (RCV_SHUTDOWN | SEND_SHUTDOWN);
    if connected { Ok(()) } else { Err(Errno::ENOTCONN) }
}

/// Whether an ICMP error becomes the pending socket error (Linux `udp_err`,
/// `raw_err`, `__udp6_lib_err`, `rawv6_err`): always with IP(V6)_RECVERR, else only a
/// hard error on a connected socket (RFC 1122 §4.1.3.3). "Fragmentation needed" and
/// "Packet Too Big" are hard unless IP(V6)_PMTUDISC_DONT (`pmtudisc_dont`).
pub fn icmp_error_reported(
    recverr: bool,
    pmtudisc_dont: bool,
    connected: bool,
    err: &IcmpError<'_>,
) -> bool {
    let hard = if err.errno == Errno::EMSGSIZE { !pmtudisc_dont } else { err.fatal };
    recverr || (hard && connected)
}

/// `ip_icmp_error` / `ipv6_icmp_error`: with IP_RECVERR (IPV6_RECVERR) the error also
/// goes on the error queue, with the part of our datagram (`payload`) it quoted.
pub fn queue_icmp_error(
    rxq: &mut RxQueue,
    recverr: bool,
    rcvbuf: usize,
    err: &IcmpError<'_>,
    payload: &[u8],
    dst_port: u16,
) {
    if !recverr || err.reporter.is_ipv4() != err.dst.is_ipv4() {
        return;
    }
    let e = ExtErr {
        errno: err.errno,
        icmp_type: err.icmp_type,
        icmp_code: err.icmp_code,
        info: err.mtu.unwrap_or(0),
        offender: err.reporter,
        dst: SocketAddr::new(err.dst, dst_port),
        payload: Bytes::copy_from_slice(payload),
    };
    rxq.push_err(e, rcvbuf);
}

/// The control messages of the last read: IP_PKTINFO/TTL/TOS for data, IP_RECVERR
/// for an error.
pub fn recv_control(rxq: &RxQueue, inet: &InetOpts, net: &Net) -> Vec<u8> {
    match rxq.last() {
        Some(LastRead::Data(SocketAddr::V4(from), info)) => inet.cmsg_recv(net, *from.ip(), info),
        Some(LastRead::Error(e)) => {
            let mut out = Vec::new();
            recverr_cmsg(&mut out, e);
            out
        }
        _ => Vec::new(),
    }
}

/// The IP_RECVERR control message of an error read (`ip_recv_error`): `struct
/// sock_extended_err` (origin ICMP) and the offender's `sockaddr_in`; for ICMPv6
/// (`ipv6_recv_error`) origin ICMP6 at SOL_IPV6 with a `sockaddr_in6`.
pub fn recverr_cmsg(out: &mut Vec<u8>, e: &ExtErr) {
    const SO_EE_ORIGIN_ICMP: u8 = 2;
    const SO_EE_ORIGIN_ICMP6: u8 = 3;
    let mut d = vec![0u8; 16];
    d[..4].copy_from_slice(&(e.errno.0 as u32).to_ne_bytes());
    d[8..12].copy_from_slice(&e.info.to_ne_bytes());
    match e.offender {
        IpAddr::V4(a) => {
            d[4..8].copy_from_slice(&[SO_EE_ORIGIN_ICMP, e.icmp_type, e.icmp_code, 0]);
            let mut sin = [0u8; 16];
            sin[..2].copy_from_slice(&(AF_INET as u16).to_ne_bytes());
            sin[4..8].copy_from_slice(&a.octets());
            d.extend_from_slice(&sin);
            crate::socket::inet::put_cmsg(out, SOL_IP, IP_RECVERR, &d);
        }
        IpAddr::V6(a) => {
            d[4..8].copy_from_slice(&[SO_EE_ORIGIN_ICMP6, e.icmp_type, e.icmp_code, 0]);
            let mut sin6 = [0u8; 28];
            sin6[..2].copy_from_slice(&(AF_INET6 as u16).to_ne_bytes());
            sin6[8..24].copy_from_slice(&a.octets());
            d.extend_from_slice(&sin6);
            let (level, ty) = (crate::socket::inet6::SOL_IPV6, crate::socket::inet6::IPV6_RECVERR);
            crate::socket::inet::put_cmsg(out, level, ty, &d);
        }
    }
}

/// SOL_SOCKET getsockopt of a datagram socket: never listening, and buffers not set
/// by SO_SNDBUF/SO_RCVBUF report the `net.core` defaults.
pub fn sol_socket_getsockopt(
    common: &mut SockCommon,
    net: &Net,
    name: i32,
    out: &mut [u8],
) -> SysResult<usize> {
    let (sndbuf, rcvbuf) = (common.dgram_sndbuf(net), common.dgram_rcvbuf(net));
    if name == SO_ACCEPTCONN {
        return put_int(out, 0);
    }
    common.getsockopt(name, sndbuf, rcvbuf, out).unwrap_or(Err(Errno::ENOPROTOOPT))
}

/// The output device of a datagram: multicast leaves by IP_MULTICAST_IF unless the
/// socket is bound to a device (`udp_sendmsg`, `raw_sendmsg`).
pub fn output_if(common: &SockCommon, inet: &InetOpts, dst: Ipv4Addr) -> Option<IfIndex> {
    if dst.is_multicast() { common.bound_dev.or(inet.mc_index) } else { common.bound_dev }
}

/// Routes one datagram: without SO_BROADCAST the limited broadcast is refused before
/// routing, a directed one after (`RTCF_BROADCAST`, `udp_sendmsg`, `raw_sendmsg`).
pub fn route(
    net: &Net,
    common: &SockCommon,
    inet: &InetOpts,
    dst: Ipv4Addr,
) -> SysResult<RouteOut> {
    if dst.is_broadcast() && !common.broadcast {
        return Err(Errno::EACCES);
    }
    let rt = net.route_output(IpAddr::V4(dst), output_if(common, inet, dst))?;
    if rt.broadcast && !common.broadcast {
        return Err(Errno::EACCES);
    }
    Ok(rt)
}

/// IP_MTU (`ip_sock_getsockopt`): the route MTU toward the connected peer.
pub fn ip_mtu(
    net: &Net,
    peer: Option<Ipv4Addr>,
    bound_dev: Option<IfIndex>,
    out: &mut [u8],
) -> SysResult<usize> {
    let peer = peer.ok_or(Errno::ENOTCONN)?;
    let rt = net.route_output(IpAddr::V4(peer), bound_dev)?;
    put_int(out, rt.mtu as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    fn from() -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 7))
    }

    #[test]
    fn one_message_always_fits_then_bounded() {
        let mut q = RxQueue::default();
        let big = Bytes::from(vec![0u8; 10_000]);
        assert!(q.push(from(), big.clone(), RxInfo::default(), 100));
        assert!(!q.push(from(), big, RxInfo::default(), 100));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn truncation_peek_and_scatter() {
        let mut q = RxQueue::default();
        q.push(from(), Bytes::from_static(b"hello world"), RxInfo::default(), 1 << 20);
        let mut a = [0u8; 3];
        let mut b = [0u8; 4];
        let (n, f) = q.recv(&mut [&mut a[..], &mut b[..]], MSG_PEEK).unwrap();
        assert_eq!((n, f), (7, from()));
        assert_eq!((&a, &b), (b"hel", b"lo w"));
        let mut c = [0u8; 5];
        assert_eq!(q.recv(&mut [&mut c[..]], MSG_TRUNC).unwrap().0, 11);
        assert_eq!(&c, b"hello");
        assert!(q.is_empty());
        assert_eq!(q.rmem(), 0);
    }
}
