//! UDP sockets (RFC 768) with Linux semantics: `net/ipv4/udp.c` (`udp_sendmsg`,
//! `udp_recvmsg`, `__udp4_lib_rcv`, `__udp4_lib_err`, `udp_disconnect`) and
//! `net/ipv4/datagram.c` (`__ip4_datagram_connect`). Read `ports.rs` for binding and
//! demultiplexing.

mod ports;
#[cfg(test)]
mod tests;

use crate::net::{Delivery, IcmpError, IpRx, IpTx, Net};
use crate::pktbuf::PacketBuf;
use crate::socket::dgram::{self, RxInfo, RxQueue, datagram_poll};
use crate::socket::inet::{self, InetOpts, McastGroups};
use crate::socket::options::SockCommon;
use crate::socket::slab::SockSlab;
use crate::socket::{Proto, ProtoOps, SockRef};
use crate::uapi::*;
use crate::wire::udp::{self as wire_udp, UdpPacket, UdpRepr};
use crate::{Errno, Nanos, SysResult};
use bytes::Bytes;
use ports::Tuple;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// The largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP).
pub const MAX_PAYLOAD: usize = 65_507;

/// UDP MIB counters, as /proc/net/snmp names them (`Udp:` line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpMib {
    pub in_datagrams: u64,
    pub no_ports: u64,
    pub in_errors: u64,
    pub out_datagrams: u64,
    pub rcvbuf_errors: u64,
    pub sndbuf_errors: u64,
    pub in_csum_errors: u64,
    pub ignored_multi: u64,
}

impl UdpMib {
    /// Name/value pairs in /proc/net/snmp order.
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("InDatagrams", self.in_datagrams),
            ("NoPorts", self.no_ports),
            ("InErrors", self.in_errors),
            ("OutDatagrams", self.out_datagrams),
            ("RcvbufErrors", self.rcvbuf_errors),
            ("SndbufErrors", self.sndbuf_errors),
            ("InCsumErrors", self.in_csum_errors),
            ("IgnoredMulti", self.ignored_multi),
            ("MemErrors", 0),
        ]
    }
}

/// One UDP socket (`struct udp_sock`).
pub struct UdpSock {
    pub(crate) common: SockCommon,
    pub(crate) inet: InetOpts,
    /// Bound local address (`inet_rcv_saddr`); unspecified = any.
    laddr: Ipv4Addr,
    /// Bound local port (`inet_num`); 0 = not bound.
    lport: u16,
    /// Default peer set by connect (`TCP_ESTABLISHED` state in Linux).
    peer: Option<SocketAddrV4>,
    /// `SOCK_BINDADDR_LOCK` / `SOCK_BINDPORT_LOCK`: set by an explicit bind, kept by
    /// a disconnect.
    addr_locked: bool,
    port_locked: bool,
    /// Bound to a broadcast or multicast address: the source address of sent
    /// datagrams then comes from the route (`inet_bind` leaves `inet_saddr` 0).
    bcast_bound: bool,
    shutdown: u8,
    /// Multicast groups joined (IP_ADD_MEMBERSHIP).
    groups: McastGroups,
    rxq: RxQueue,
    /// Datagrams dropped on a full queue (`sk_drops`).
    pub drops: u64,
}

/// All UDP sockets of an instance.
#[derive(Default)]
pub struct UdpTable {
    socks: SockSlab<UdpSock>,
    /// Sockets bound to each local port, in bind order.
    ports: BTreeMap<u16, Vec<u32>>,
    pub mib: UdpMib,
}

fn v4(addr: SocketAddr) -> SysResult<SocketAddrV4> {
    match addr {
        SocketAddr::V4(a) => Ok(a),
        SocketAddr::V6(_) => Err(Errno::EAFNOSUPPORT),
    }
}

fn sref(id: u32) -> SockRef {
    SockRef { proto: Proto::Udp, id }
}

impl UdpTable {
    /// The control messages of the last datagram read (`ip_cmsg_recv`).
    pub(crate) fn recv_control(&self, net: &Net, id: u32) -> Vec<u8> {
        let Some(s) = self.socks.get(id) else { return Vec::new() };
        dgram::recv_control(&s.rxq, &s.inet, net)
    }

    /// Bound sockets as `/proc/net/udp` lists them, by port (Linux `udp4_format_sock`).
    pub(crate) fn proc_rows(&self) -> Vec<crate::procfs::SockRow> {
        let mut rows: Vec<_> = self
            .socks
            .iter()
            .filter(|(_, s)| s.lport != 0)
            .map(|(id, s)| {
                crate::procfs::SockRow::datagram(
                    SocketAddrV4::new(s.laddr, s.lport),
                    s.peer,
                    s.rxq.rmem(),
                    0x0200_0000 + u64::from(id),
                    s.drops,
                )
            })
            .collect();
        rows.sort_by_key(|r| r.local.port());
        rows
    }

    fn get(&self, id: u32) -> Option<&UdpSock> {
        self.socks.get(id)
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut UdpSock> {
        self.socks.get_mut(id)
    }

    fn sock(&mut self, id: u32) -> SysResult<&mut UdpSock> {
        self.get_mut(id).ok_or(Errno::EBADF)
    }

    /// Number of open sockets.
    pub fn len(&self) -> usize {
        self.socks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `inet_autobind`: an unbound socket gets an ephemeral port before it sends or
    /// connects; failure is EAGAIN as in Linux.
    fn autobind(&mut self, net: &mut Net, id: u32) -> SysResult<()> {
        if self.sock(id)?.lport == 0 {
            self.get_port(net, id, 0).map_err(|_| Errno::EAGAIN)?;
        }
        Ok(())
    }

    /// `udp_disconnect`: forget the peer; drop the source address and the port
    /// unless bind(2) set them.
    fn disconnect_sock(&mut self, id: u32) -> SysResult<()> {
        let s = self.sock(id)?;
        s.peer = None;
        if !s.addr_locked {
            s.laddr = Ipv4Addr::UNSPECIFIED;
        }
        if !s.port_locked {
            self.put_port(id);
        }
        Ok(())
    }

    /// Resolves the destination and source of one datagram.
    fn route(&self, net: &Net, s: &UdpSock, dst: Ipv4Addr) -> SysResult<(Ipv4Addr, Ipv4Addr, u32)> {
        // Linux `__ip_route_output_key`: an INADDR_ANY destination means this host.
        let dst = if dst.is_unspecified() {
            if s.laddr.is_unspecified() { Ipv4Addr::LOCALHOST } else { s.laddr }
        } else {
            dst
        };
        let mcast = dst.is_multicast();
        let rt = dgram::route(net, &s.common, &s.inet, dst)?;
        let src = match (s.laddr, rt.src) {
            (l, _) if !l.is_unspecified() && !s.bcast_bound => l,
            _ if mcast && !s.inet.mc_addr.is_unspecified() => s.inet.mc_addr,
            (_, IpAddr::V4(a)) => a,
            (_, IpAddr::V6(_)) => return Err(Errno::EAFNOSUPPORT),
        };
        Ok((dst, src, rt.mtu))
    }

    /// Sends one datagram gathered from `iov` (`udp_sendmsg`).
    pub fn sendmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        let len: usize = iov.iter().map(|b| b.len()).sum();
        if len > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let s = self.sock(id)?;
        let dst = match to {
            Some(a) => {
                let a = v4(a)?;
                if a.port() == 0 {
                    return Err(Errno::EINVAL);
                }
                a
            }
            None => s.peer.ok_or(Errno::EDESTADDRREQ)?,
        };
        dgram::send_ready(&mut s.common, s.shutdown)?;
        self.autobind(net, id)?;
        let s = self.get(id).ok_or(Errno::EBADF)?;
        let (dst_ip, src, mtu) = self.route(net, s, *dst.ip())?;
        // `__ip_append_data`: beyond 64 KiB, or beyond the MTU when fragments are
        // forbidden, is EMSGSIZE.
        let total = 20 + wire_udp::HEADER_LEN + len;
        if len > MAX_PAYLOAD || (s.inet.forbids_fragments() && total > mtu as usize) {
            return Err(Errno::EMSGSIZE);
        }
        let repr = UdpRepr { src_port: s.lport, dst_port: dst.port(), payload_len: len };
        let mut pkt = PacketBuf::new(repr.buffer_len());
        {
            let mut p = UdpPacket::new_unchecked(pkt.data_mut());
            repr.emit(&mut p);
            let mut off = 0;
            let pay = p.payload_mut();
            for b in iov {
                pay[off..off + b.len()].copy_from_slice(b);
                off += b.len();
            }
            p.fill_checksum(&IpAddr::V4(src), &IpAddr::V4(dst_ip));
        }
        let tx = IpTx {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst_ip),
            protocol: wire_udp::PROTOCOL,
            ttl: if dst_ip.is_multicast() { s.inet.mc_ttl } else { s.inet.ttl(net) },
            tos: s.inet.tos,
            dont_frag: s.inet.dont_frag(total, mtu),
            oif: if dst_ip.is_multicast() {
                s.common.bound_dev.or(s.inet.mc_index)
            } else {
                s.common.bound_dev
            },
            allow_broadcast: s.common.broadcast,
        };
        match net.ip_output(now, &tx, pkt) {
            Ok(()) => {
                self.mib.out_datagrams += 1;
                Ok(len)
            }
            Err(e) => {
                if e == Errno::ENOBUFS {
                    self.mib.sndbuf_errors += 1;
                }
                Err(e)
            }
        }
    }

    /// Reads one datagram into `iov` (`udp_recvmsg`).
    pub fn recvmsg(
        &mut self,
        id: u32,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        let s = self.get_mut(id).ok_or(Errno::EBADF)?;
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        // `__skb_recv_udp` reports a pending error before any data.
        let got = dgram::recv(&mut s.common, s.shutdown, &mut s.rxq, iov, flags)?;
        if got.1.is_some() && flags & MSG_PEEK == 0 {
            self.mib.in_datagrams += 1;
        }
        Ok(got)
    }

    /// `__udp4_lib_rcv`: validate, demultiplex, queue.
    pub fn input(&mut self, _now: Nanos, net: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery {
        let (IpAddr::V4(saddr), IpAddr::V4(daddr)) = (rx.src, rx.dst) else {
            return Delivery::Dropped;
        };
        let Ok(pkt) = UdpPacket::new_checked(payload) else {
            self.mib.in_errors += 1;
            return Delivery::Dropped;
        };
        let Ok(repr) = UdpRepr::parse(&pkt, &rx.src, &rx.dst) else {
            self.mib.in_csum_errors += 1;
            self.mib.in_errors += 1;
            return Delivery::Dropped;
        };
        let t = Tuple {
            saddr,
            sport: repr.src_port,
            daddr,
            dport: repr.dst_port,
            ifindex: Some(rx.ifindex),
        };
        let from = SocketAddr::V4(SocketAddrV4::new(saddr, repr.src_port));
        let data = Bytes::copy_from_slice(pkt.payload());
        // The IP layer flags broadcasts (`RTN_BROADCAST` from the input route).
        if rx.multicast_or_broadcast || daddr.is_multicast() || daddr.is_broadcast() {
            let ids = self.lookup_all(&t);
            if ids.is_empty() {
                self.mib.ignored_multi += 1;
            }
            for id in ids {
                self.enqueue(net, id, from, data.clone(), RxInfo::of(rx));
            }
            return Delivery::Consumed;
        }
        match self.lookup(&t) {
            Some(id) => {
                if self.enqueue(net, id, from, data, RxInfo::of(rx)) {
                    Delivery::Consumed
                } else {
                    Delivery::Dropped
                }
            }
            None => {
                self.mib.no_ports += 1;
                Delivery::NoPort
            }
        }
    }

    /// Queues a datagram, or drops it on a full receive buffer (`RcvbufErrors`).
    fn enqueue(
        &mut self,
        net: &mut Net,
        id: u32,
        from: SocketAddr,
        data: Bytes,
        info: RxInfo,
    ) -> bool {
        let rmem_default = net.sysctl.core.rmem_default;
        let Some(s) = self.get_mut(id) else { return false };
        let rcvbuf = if s.common.rcvbuf_locked { s.common.rcvbuf } else { rmem_default };
        if !s.rxq.push(from, data, info, rcvbuf as usize) {
            s.drops += 1;
            self.mib.rcvbuf_errors += 1;
            self.mib.in_errors += 1;
            return false;
        }
        net.wake(sref(id));
        true
    }

    /// `__udp4_lib_err`: find the socket that sent the quoted datagram; without
    /// IP_RECVERR only hard errors on connected sockets are reported (RFC 1122
    /// §4.1.3.3 leaves it to the application; Linux `udp_err`).
    pub fn icmp_error(&mut self, _now: Nanos, net: &mut Net, err: &IcmpError<'_>) {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (err.src, err.dst) else { return };
        let Some(q) = err.quoted.get(..4) else { return };
        let t = Tuple {
            saddr: dst,
            sport: u16::from_be_bytes([q[2], q[3]]),
            daddr: src,
            dport: u16::from_be_bytes([q[0], q[1]]),
            ifindex: None,
        };
        let Some(id) = self.lookup(&t) else { return };
        let rmem_default = net.sysctl.core.rmem_default;
        let Some(s) = self.get_mut(id) else { return };
        if !dgram::icmp_error_reported(&s.inet, s.peer.is_some(), err) {
            return;
        }
        s.common.error = Some(err.errno);
        let rcvbuf = if s.common.rcvbuf_locked { s.common.rcvbuf } else { rmem_default };
        let payload = err.quoted.get(8..).unwrap_or(&[]);
        dgram::queue_icmp_error(&mut s.rxq, &s.inet, rcvbuf as usize, err, payload, t.sport);
        net.wake(sref(id));
    }
}

impl ProtoOps for UdpTable {
    fn open(&mut self, net: &mut Net, _domain: i32, _protocol: i32) -> SysResult<u32> {
        let s = UdpSock {
            common: SockCommon::default(),
            inet: InetOpts::new(net),
            laddr: Ipv4Addr::UNSPECIFIED,
            lport: 0,
            peer: None,
            addr_locked: false,
            port_locked: false,
            bcast_bound: false,
            shutdown: 0,
            groups: McastGroups::default(),
            rxq: RxQueue::default(),
            drops: 0,
        };
        Ok(self.socks.insert(s))
    }

    /// `inet_bind` + `udp_v4_get_port`.
    fn bind(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let a = v4(addr)?;
        let s = self.sock(id)?;
        inet::check_bind_addr(net, &s.inet, *a.ip())?;
        if s.lport != 0 || !s.laddr.is_unspecified() {
            return Err(Errno::EINVAL);
        }
        s.laddr = *a.ip();
        if let Err(e) = self.get_port(net, id, a.port()) {
            self.sock(id)?.laddr = Ipv4Addr::UNSPECIFIED;
            return Err(e);
        }
        let s = self.sock(id)?;
        s.addr_locked = !a.ip().is_unspecified();
        s.port_locked = a.port() != 0;
        s.bcast_bound = a.ip().is_multicast() || inet::is_broadcast(net, *a.ip());
        Ok(())
    }

    /// `inet_dgram_connect` + `__ip4_datagram_connect`.
    fn connect(&mut self, _now: Nanos, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let a = v4(addr)?;
        self.autobind(net, id)?;
        let s = self.get(id).ok_or(Errno::EBADF)?;
        let (dst, src, _) = self.route(net, s, *a.ip())?;
        let s = self.sock(id)?;
        if s.laddr.is_unspecified() {
            s.laddr = src;
        }
        s.peer = Some(SocketAddrV4::new(dst, a.port()));
        Ok(())
    }

    fn disconnect(&mut self, _now: Nanos, _net: &mut Net, id: u32) -> SysResult<()> {
        self.disconnect_sock(id)
    }

    fn sendto(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        self.sendmsg(now, net, id, &[data], flags, to)
    }

    fn sendmsg(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        UdpTable::sendmsg(self, now, net, id, iov, flags, to)
    }

    fn recvfrom(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        id: u32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        self.recvmsg(id, &mut [buf], flags)
    }

    fn recvmsg(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        id: u32,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        UdpTable::recvmsg(self, id, iov, flags)
    }

    fn shutdown(&mut self, _now: Nanos, _net: &mut Net, id: u32, how: i32) -> SysResult<()> {
        let s = self.sock(id)?;
        dgram::shutdown(&mut s.shutdown, s.peer.is_some(), how)
    }

    fn close(&mut self, now: Nanos, net: &mut Net, id: u32) {
        let Some(s) = self.get_mut(id) else { return };
        s.groups.drop_all(now, net);
        self.put_port(id);
        self.socks.remove(id);
    }

    fn setsockopt(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()> {
        let s = self.sock(id)?;
        let handled = match level {
            SOL_SOCKET => s.common.setsockopt(net, name, val)?,
            SOL_IP => {
                s.groups.setsockopt(now, net, &mut s.inet, name, val)?
                    || s.inet.setsockopt(SOCK_DGRAM, name, val)?
            }
            _ => false,
        };
        if handled { Ok(()) } else { Err(Errno::ENOPROTOOPT) }
    }

    fn getsockopt(
        &mut self,
        net: &Net,
        id: u32,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        let s = self.get_mut(id).ok_or(Errno::EBADF)?;
        match level {
            SOL_SOCKET => dgram::sol_socket_getsockopt(&mut s.common, net, name, out),
            SOL_IP if name == IP_MTU => {
                dgram::ip_mtu(net, s.peer.map(|p| *p.ip()), s.common.bound_dev, out)
            }
            SOL_IP => s.inet.getsockopt(net, name, out).unwrap_or(Err(Errno::ENOPROTOOPT)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn local_addr(&self, id: u32) -> SysResult<SocketAddr> {
        Ok(SocketAddr::V4(ports::local(self.get(id).ok_or(Errno::EBADF)?)))
    }

    fn peer_addr(&self, id: u32) -> SysResult<SocketAddr> {
        self.get(id).ok_or(Errno::EBADF)?.peer.map(SocketAddr::V4).ok_or(Errno::ENOTCONN)
    }

    /// `udp_poll` / `datagram_poll`.
    fn poll(&self, id: u32) -> u16 {
        let Some(s) = self.get(id) else { return POLLNVAL };
        datagram_poll(s.common.error.is_some(), s.shutdown, &s.rxq)
    }

    /// SIOCINQ is the length of the first datagram (`udp_ioctl`); nothing is ever
    /// waiting to be sent.
    fn queued(&self, id: u32) -> (usize, usize) {
        (self.get(id).map_or(0, |s| s.rxq.first_len()), 0)
    }

    fn next_deadline(&self) -> Option<Nanos> {
        None
    }

    fn advance(&mut self, _now: Nanos, _net: &mut Net) {}
}
