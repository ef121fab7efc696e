//! Raw IPv4 sockets (`net/ipv4/raw.c`): SOCK_RAW with protocol N gets a copy of every
//! locally delivered IPv4 packet of protocol N, IP header included (`raw_v4_input`),
//! filtered by bind/connect and, for ICMP, by ICMP_FILTER (`icmp_filter`). Sending
//! builds the IP header unless IP_HDRINCL (always on for IPPROTO_RAW). This is what
//! ping, traceroute and OSPF daemons use.

pub mod cmsg;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
mod v6;

use crate::net::{IcmpError, IpRx, IpTx, Net};
use crate::pktbuf::PacketBuf;
use crate::socket::dgram::{self, RxInfo, RxQueue, datagram_poll};
use crate::socket::inet::{self, InetOpts, McastGroups};
use crate::socket::options::{SockCommon, get_int, put_bytes};
use crate::socket::slab::SockSlab;
use crate::socket::{Proto, ProtoOps, SockRef};
use crate::uapi::*;
use crate::{Errno, Nanos, SysResult};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `SOL_RAW` and its one IPv4 option (Linux `include/uapi/linux/icmp.h`).
pub const SOL_RAW: i32 = 255;
pub const ICMP_FILTER: i32 = 1;

/// The fixed part of an IPv4 header.
const IPV4_MIN_HEADER: usize = 20;

/// One raw socket (`struct raw_sock`).
pub struct RawSock {
    pub(crate) common: SockCommon,
    pub(crate) inet: InetOpts,
    /// The protocol given to socket(2) (`inet_num`).
    protocol: u8,
    laddr: Ipv4Addr,
    peer: Option<Ipv4Addr>,
    /// ICMP_FILTER: bit n set drops ICMP type n (types 0..31 only).
    icmp_filter: u32,
    shutdown: u8,
    /// Multicast groups joined (IP_ADD_MEMBERSHIP; OSPF's AllSPFRouters).
    groups: McastGroups,
    rxq: RxQueue,
    /// Packets dropped on a full queue (`sk_drops`).
    pub drops: u64,
    /// The AF_INET6 part (None: an IPv4 raw socket).
    v6: Option<Box<v6::Raw6>>,
}

/// All raw sockets of an instance, indexed by protocol for delivery.
#[derive(Default)]
pub struct RawTable {
    socks: SockSlab<RawSock>,
    by_proto: BTreeMap<u8, Vec<u32>>,
}

fn sref(id: u32) -> SockRef {
    SockRef { proto: Proto::Raw, id }
}

impl RawSock {
    /// `raw_err` / `rawv6_err` once the error is to be reported: it becomes the
    /// pending error and, with IP(V6)_RECVERR, goes on the error queue quoting the packet.
    fn report(&mut self, net: &mut Net, id: u32, err: &IcmpError<'_>, recverr: bool) {
        self.common.error = Some(err.errno);
        let rcvbuf = self.common.dgram_rcvbuf(net) as usize;
        dgram::queue_icmp_error(&mut self.rxq, recverr, rcvbuf, err, err.quoted, 0);
        net.wake(sref(id));
    }
}

fn v4(addr: SocketAddr) -> SysResult<SocketAddrV4> {
    match addr {
        SocketAddr::V4(a) => Ok(a),
        SocketAddr::V6(_) => Err(Errno::EAFNOSUPPORT),
    }
}

/// The fields of a user-built IPv4 header (IP_HDRINCL) we pass to the IP layer.
struct UserHeader {
    header_len: usize,
    tos: u8,
    dont_frag: bool,
    ttl: u8,
    protocol: u8,
    src: Ipv4Addr,
}

/// Reads the header of an IP_HDRINCL packet (Linux `raw_send_hdrinc`: the header
/// must fit and its IHL must be at least 5 and within the data, else EINVAL).
fn parse_user_header(data: &[u8]) -> SysResult<UserHeader> {
    if data.len() < IPV4_MIN_HEADER {
        return Err(Errno::EINVAL);
    }
    let header_len = usize::from(data[0] & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER || header_len > data.len() {
        return Err(Errno::EINVAL);
    }
    Ok(UserHeader {
        header_len,
        tos: data[1],
        dont_frag: data[6] & 0x40 != 0,
        ttl: data[8],
        protocol: data[9],
        src: Ipv4Addr::new(data[12], data[13], data[14], data[15]),
    })
}

impl RawTable {
    /// The control messages of the last datagram read (`ip_cmsg_recv`).
    pub(crate) fn recv_control(&self, net: &Net, id: u32) -> Vec<u8> {
        let Some(s) = self.socks.get(id) else { return Vec::new() };
        if let Some(r) = s.v6.as_deref() {
            return match s.rxq.last() {
                Some(dgram::LastRead::Data(_, i)) => {
                    crate::socket::inet6::cmsg_recv(&r.opts, i.dst, i.ifindex, i.ttl, i.tos)
                }
                _ => Vec::new(),
            };
        }
        dgram::recv_control(&s.rxq, &s.inet, net)
    }

    /// The sockets as `/proc/net/raw` lists them, by protocol (Linux
    /// `raw_sock_seq_show`: the local "port" is the protocol).
    pub(crate) fn proc_rows(&self) -> Vec<crate::procfs::SockRow> {
        self.rows(false)
    }

    /// `/proc/net/raw6`.
    pub(crate) fn proc_rows6(&self) -> Vec<crate::procfs::SockRow> {
        self.rows(true)
    }

    fn rows(&self, v6: bool) -> Vec<crate::procfs::SockRow> {
        let mut rows: Vec<_> = self
            .socks
            .iter()
            .filter(|(_, s)| s.v6.is_some() == v6)
            .map(|(id, s)| {
                let proto = u16::from(s.protocol);
                let (local, peer) = match s.v6.as_deref() {
                    Some(r) => (
                        SocketAddr::new(IpAddr::V6(r.laddr), proto),
                        r.peer.map(|p| SocketAddr::new(IpAddr::V6(p), 0)),
                    ),
                    None => (
                        SocketAddr::new(IpAddr::V4(s.laddr), proto),
                        s.peer.map(|p| SocketAddr::new(IpAddr::V4(p), 0)),
                    ),
                };
                crate::procfs::SockRow::datagram(
                    local,
                    peer,
                    s.rxq.rmem(),
                    0x0300_0000 + u64::from(id),
                    s.drops,
                )
            })
            .collect();
        rows.sort_by_key(|r| r.local.port());
        rows
    }

    fn sock(&mut self, id: u32) -> SysResult<&mut RawSock> {
        self.socks.get_mut(id).ok_or(Errno::EBADF)
    }

    /// Does `s` want this packet (`raw_v4_match` + `icmp_filter`)?
    fn wants(s: &RawSock, rx: &IpRx<'_>, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if s.v6.is_some()
            || s.peer.is_some_and(|p| p != src)
            || (!s.laddr.is_unspecified() && s.laddr != dst)
            || s.common.bound_dev.is_some_and(|d| d != rx.ifindex)
            || (dst.is_multicast() && !s.groups.allows(&s.inet, dst, rx.ifindex))
        {
            return false;
        }
        if i32::from(s.protocol) == IPPROTO_ICMP {
            let ihl = usize::from(rx.packet.first().map_or(0, |b| b & 0x0f)) * 4;
            if let Some(&ty) = rx.packet.get(ihl)
                && ty < 32
                && s.icmp_filter & (1 << ty) != 0
            {
                return false;
            }
        }
        true
    }

    /// `raw_local_deliver`: a copy of the packet to every matching socket; true if
    /// any socket matched (even if its queue was full), so the IP layer does not
    /// answer "protocol unreachable".
    pub fn deliver(&mut self, _now: Nanos, net: &mut Net, rx: &IpRx<'_>) -> bool {
        if self.by_proto.is_empty() {
            return false;
        }
        let (src, dst) = match (rx.src, rx.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => return self.deliver6(net, rx, s, d),
            _ => return false,
        };
        let from = SocketAddr::V4(SocketAddrV4::new(src, 0));
        self.fan_out(net, rx, from, rx.packet, |s| Self::wants(s, rx, src, dst))
    }

    /// A copy of `data` from `from` to every socket of the packet's protocol that
    /// `wants` it; true if any did (even if its queue was full).
    fn fan_out(
        &mut self,
        net: &mut Net,
        rx: &IpRx<'_>,
        from: SocketAddr,
        data: &[u8],
        wants: impl Fn(&RawSock) -> bool,
    ) -> bool {
        let Some(ids) = self.by_proto.get(&rx.protocol) else { return false };
        let ids: Vec<u32> =
            ids.iter().copied().filter(|&id| self.socks.get(id).is_some_and(&wants)).collect();
        if ids.is_empty() {
            return false;
        }
        let data = Bytes::copy_from_slice(data);
        for id in ids {
            let Some(s) = self.socks.get_mut(id) else { continue };
            let rcvbuf = s.common.dgram_rcvbuf(net) as usize;
            if s.rxq.push(from, data.clone(), RxInfo::of(rx), rcvbuf) {
                net.wake(sref(id));
            } else {
                s.drops += 1;
            }
        }
        true
    }

    /// `raw_icmp_error` + `raw_err`: sockets of the quoted protocol whose addresses
    /// match hear of the error if connected or with IP_RECVERR; a hard error (or any,
    /// with IP_RECVERR) becomes the pending socket error.
    pub fn icmp_error(&mut self, _now: Nanos, net: &mut Net, err: &IcmpError<'_>) {
        let (src, dst) = match (err.src, err.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => return self.icmp_error6(net, err, s, d),
            _ => return,
        };
        let Some(ids) = self.by_proto.get(&err.protocol).cloned() else { return };
        for id in ids {
            let Some(s) = self.socks.get_mut(id) else { continue };
            if s.v6.is_some()
                || s.peer.is_some_and(|p| p != dst)
                || (!s.laddr.is_unspecified() && s.laddr != src)
            {
                continue;
            }
            let dont = s.inet.pmtudisc == IP_PMTUDISC_DONT;
            if dgram::icmp_error_reported(s.inet.recverr, dont, s.peer.is_some(), err) {
                let recverr = s.inet.recverr;
                s.report(net, id, err, recverr);
            }
        }
    }

    /// `raw_sendmsg`, with what the control messages override (`ipcm_cookie`).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
        ctl: &cmsg::SendCtl,
    ) -> SysResult<usize> {
        if data.len() > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.sock(id)?.v6.is_some() {
            return self.send6(now, net, id, data, to, ctl);
        }
        let s = self.sock(id)?;
        let dst = match to {
            Some(a) => *v4(a)?.ip(),
            None => s.peer.ok_or(Errno::EDESTADDRREQ)?,
        };
        dgram::send_ready(&mut s.common, s.shutdown)?;
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        let (rt, oif) = match ctl.oif {
            // IP_PKTINFO's device replaces the bound and multicast ones for this packet.
            Some(o) => {
                net.devs.get(o).ok_or(Errno::ENODEV)?;
                let mut common = s.common.clone();
                common.bound_dev = Some(o);
                (dgram::route(net, &common, &s.inet, dst)?, Some(o))
            }
            None => {
                let rt = dgram::route(net, &s.common, &s.inet, dst)?;
                (rt, dgram::output_if(&s.common, &s.inet, dst))
            }
        };
        if ctl.src.is_some_and(|a| !net.is_local_addr(IpAddr::V4(a))) {
            // `__ip_route_output_key`: a source that is not ours.
            return Err(Errno::EINVAL);
        }
        let IpAddr::V4(rt_src) = rt.src else { return Err(Errno::EAFNOSUPPORT) };
        let src = if let Some(a) = ctl.src {
            a
        } else if !s.laddr.is_unspecified() && !s.laddr.is_multicast() {
            s.laddr
        } else if dst.is_multicast() && !s.inet.mc_addr.is_unspecified() {
            s.inet.mc_addr
        } else {
            rt_src
        };
        let (tx, payload) = if s.inet.hdrincl {
            // The user's header goes out as given; the IP layer rebuilds it from
            // these fields (total length, ID and checksum are the kernel's, as in
            // `raw_send_hdrinc`), and never fragments it.
            let h = parse_user_header(data)?;
            if data.len() > rt.mtu as usize {
                return Err(Errno::EMSGSIZE);
            }
            let src = if h.src.is_unspecified() { src } else { h.src };
            let tx = IpTx {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                protocol: h.protocol,
                ttl: h.ttl,
                tos: h.tos,
                dont_frag: h.dont_frag,
                oif,
                allow_broadcast: s.common.broadcast,
            };
            (tx, &data[h.header_len..])
        } else {
            let total = IPV4_MIN_HEADER + data.len();
            if total > 0xffff || (s.inet.forbids_fragments() && total > rt.mtu as usize) {
                return Err(Errno::EMSGSIZE);
            }
            let tx = IpTx {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                protocol: s.protocol,
                ttl: ctl.ttl.unwrap_or(if dst.is_multicast() {
                    s.inet.mc_ttl
                } else {
                    s.inet.ttl(net)
                }),
                tos: ctl.tos.unwrap_or(s.inet.tos),
                dont_frag: s.inet.dont_frag(total, rt.mtu),
                oif,
                allow_broadcast: s.common.broadcast,
            };
            (tx, data)
        };
        net.ip_output(now, &tx, PacketBuf::from_slice(payload))?;
        Ok(data.len())
    }
}

impl ProtoOps for RawTable {
    /// `inet_create` for SOCK_RAW: `inet_num` = protocol; IPPROTO_RAW implies
    /// IP_HDRINCL.
    fn open(&mut self, net: &mut Net, domain: i32, protocol: i32) -> SysResult<u32> {
        let protocol = u8::try_from(protocol).map_err(|_| Errno::EINVAL)?;
        let v6 = (domain == AF_INET6).then(|| Box::new(v6::Raw6::new(net, protocol)));
        let mut inet = InetOpts::new(net);
        inet.hdrincl = i32::from(protocol) == IPPROTO_RAW;
        let s = RawSock {
            common: SockCommon::default(),
            inet,
            protocol,
            laddr: Ipv4Addr::UNSPECIFIED,
            peer: None,
            icmp_filter: 0,
            shutdown: 0,
            groups: McastGroups::default(),
            rxq: RxQueue::default(),
            drops: 0,
            v6,
        };
        let id = self.socks.insert(s);
        self.by_proto.entry(protocol).or_default().push(id);
        Ok(id)
    }

    /// `raw_bind`: only the address matters; allowed again while unconnected.
    fn bind(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        if self.sock(id)?.v6.is_some() {
            return self.bind6(net, id, addr);
        }
        let a = v4(addr)?;
        let s = self.sock(id)?;
        if s.peer.is_some() {
            return Err(Errno::EINVAL);
        }
        inet::check_bind_addr(net, &s.inet, *a.ip())?;
        s.laddr = *a.ip();
        Ok(())
    }

    /// `ip4_datagram_connect`.
    fn connect(&mut self, _now: Nanos, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        if self.sock(id)?.v6.is_some() {
            return self.connect6(net, id, addr);
        }
        let a = v4(addr)?;
        let s = self.sock(id)?;
        let dst = if a.ip().is_unspecified() { Ipv4Addr::LOCALHOST } else { *a.ip() };
        // `__ip4_datagram_connect`: the same route choice as sending, IP_MULTICAST_IF
        // included.
        let rt = dgram::route(net, &s.common, &s.inet, dst)?;
        if let (true, IpAddr::V4(src)) = (s.laddr.is_unspecified(), rt.src) {
            s.laddr = src;
        }
        s.peer = Some(dst);
        Ok(())
    }

    fn disconnect(&mut self, _now: Nanos, _net: &mut Net, id: u32) -> SysResult<()> {
        let s = self.sock(id)?;
        s.peer = None;
        if let Some(r) = s.v6.as_deref_mut() {
            r.peer = None;
        }
        Ok(())
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
        self.send(now, net, id, data, flags, to, &cmsg::SendCtl::default())
    }

    fn sendmsg_ctl(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        ctl: &cmsg::SendCtl,
    ) -> SysResult<usize> {
        self.send(now, net, id, &iov.concat(), flags, to, ctl)
    }

    fn recvfrom(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        self.recvmsg(now, net, id, &mut [buf], flags)
    }

    /// `raw_recvmsg`: the whole IP packet, truncated to the buffer (MSG_TRUNC gives
    /// the real length); the sender's port is 0.
    fn recvmsg(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        id: u32,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        let s = self.sock(id)?;
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let (n, from) = dgram::recv(&mut s.common, s.shutdown, &mut s.rxq, iov, flags)?;
        if s.v6.is_none() {
            return Ok((n, from));
        }
        let ifindex = match s.rxq.last() {
            Some(dgram::LastRead::Data(_, info)) => Some(info.ifindex),
            _ => None,
        };
        Ok((n, from.map(|a| v6::user_from(a, ifindex))))
    }

    fn shutdown(&mut self, _now: Nanos, _net: &mut Net, id: u32, how: i32) -> SysResult<()> {
        let s = self.sock(id)?;
        let connected = s.peer.is_some() || s.v6.as_deref().is_some_and(|r| r.peer.is_some());
        dgram::shutdown(&mut s.shutdown, connected, how)
    }

    fn close(&mut self, now: Nanos, net: &mut Net, id: u32) {
        let Some(s) = self.socks.get_mut(id) else { return };
        s.groups.drop_all(now, net);
        if let Some(r) = s.v6.as_deref_mut() {
            r.groups.drop_all(now, net);
        }
        let p = s.protocol;
        if let Some(ids) = self.by_proto.get_mut(&p) {
            ids.retain(|&o| o != id);
            if ids.is_empty() {
                self.by_proto.remove(&p);
            }
        }
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
        if self.sock(id)?.v6.is_some() && level != SOL_SOCKET && level != SOL_IP {
            let handled = self.setsockopt6(now, net, id, level, name, val)?;
            return if handled { Ok(()) } else { Err(Errno::ENOPROTOOPT) };
        }
        let s = self.sock(id)?;
        let handled = match level {
            SOL_SOCKET => s.common.setsockopt(net, name, val)?,
            SOL_IP => {
                s.groups.setsockopt(now, net, &mut s.inet, name, val)?
                    || s.inet.setsockopt(SOCK_RAW, name, val)?
            }
            // `raw_seticmpfilter`: ICMP sockets only; longer values are cut to 4.
            SOL_RAW if name == ICMP_FILTER => {
                if i32::from(s.protocol) != IPPROTO_ICMP {
                    return Err(Errno::EOPNOTSUPP);
                }
                s.icmp_filter = get_int(val)? as u32;
                true
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
        if let Some(s) = self.socks.get(id)
            && s.v6.is_some()
            && level != SOL_SOCKET
            && level != SOL_IP
        {
            return self.getsockopt6(net, s, level, name, out);
        }
        let s = self.socks.get_mut(id).ok_or(Errno::EBADF)?;
        match level {
            SOL_SOCKET => dgram::sol_socket_getsockopt(&mut s.common, net, name, out),
            SOL_IP if name == IP_MTU => dgram::ip_mtu(net, s.peer, s.common.bound_dev, out),
            SOL_IP => s.inet.getsockopt(net, name, out).unwrap_or(Err(Errno::ENOPROTOOPT)),
            SOL_RAW if name == ICMP_FILTER => {
                if i32::from(s.protocol) != IPPROTO_ICMP {
                    return Err(Errno::EOPNOTSUPP);
                }
                put_bytes(out, &s.icmp_filter.to_ne_bytes())
            }
            // `ip_getsockopt` on an AF_INET socket: other levels are EOPNOTSUPP.
            crate::socket::inet6::SOL_IPV6 => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    /// getsockname on a raw socket reports the protocol as the port (`inet_sport`).
    fn local_addr(&self, id: u32) -> SysResult<SocketAddr> {
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        if let Some(r) = s.v6.as_deref() {
            let a = SocketAddr::V6(SocketAddrV6::new(r.laddr, u16::from(s.protocol), 0, 0));
            return Ok(v6::user_from(a, s.common.bound_dev));
        }
        Ok(SocketAddr::V4(SocketAddrV4::new(s.laddr, u16::from(s.protocol))))
    }

    fn peer_addr(&self, id: u32) -> SysResult<SocketAddr> {
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        if let Some(r) = s.v6.as_deref() {
            let p = r.peer.ok_or(Errno::ENOTCONN)?;
            return Ok(v6::user_from(
                SocketAddr::V6(SocketAddrV6::new(p, 0, 0, 0)),
                s.common.bound_dev,
            ));
        }
        s.peer.map(|p| SocketAddr::V4(SocketAddrV4::new(p, 0))).ok_or(Errno::ENOTCONN)
    }

    fn poll(&self, id: u32) -> u16 {
        let Some(s) = self.socks.get(id) else { return POLLNVAL };
        datagram_poll(s.common.error.is_some(), s.shutdown, &s.rxq)
    }

    /// SIOCINQ on a raw socket is the length of the first packet (`raw_ioctl`).
    fn queued(&self, id: u32) -> (usize, usize) {
        (self.socks.get(id).map_or(0, |s| s.rxq.first_len()), 0)
    }

    fn next_deadline(&self) -> Option<Nanos> {
        None
    }

    fn advance(&mut self, _now: Nanos, _net: &mut Net) {}
}
