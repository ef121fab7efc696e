//! UDP sockets (RFC 768) with Linux semantics: `net/ipv4/udp.c` (`udp_sendmsg`,
//! `udp_recvmsg`, `__udp4_lib_rcv`, `__udp4_lib_err`, `udp_disconnect`) and
//! `net/ipv4/datagram.c` (`__ip4_datagram_connect`). Read `ports.rs` for binding and
//! demultiplexing.

mod ports;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;

use crate::net::{Delivery, IcmpError, IpRx, IpTx, Net};
use crate::pktbuf::PacketBuf;
use crate::socket::dgram::{self, RxInfo, RxQueue, datagram_poll};
use crate::socket::inet::{self, InetOpts, McastGroups};
use crate::socket::inet6::{self, Inet6Opts, Mcast6Groups, SOL_IPV6};
use crate::socket::options::SockCommon;
use crate::socket::slab::SockSlab;
use crate::socket::{Proto, ProtoOps, SockRef};
use crate::uapi::*;
use crate::wire::udp::{self as wire_udp, UdpPacket, UdpRepr};
use crate::{Errno, Nanos, SysResult};
use bytes::Bytes;
use ports::Tuple;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP).
pub const MAX_PAYLOAD: usize = 65_507;
/// Over IPv6 (no jumbograms): 65535 - 8.
pub const MAX_PAYLOAD6: usize = 65_527;

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
    pub(crate) inet6: Inet6Opts,
    /// Bound local address (`inet_rcv_saddr`, `sk_v6_rcv_saddr`) in kernel form
    /// (v4-mapped as IPv4); unspecified = any.
    laddr: IpAddr,
    /// Bound local port (`inet_num`); 0 = not bound.
    lport: u16,
    /// Default peer set by connect (`TCP_ESTABLISHED` state in Linux), kernel form.
    peer: Option<SocketAddr>,
    /// `SOCK_BINDADDR_LOCK` / `SOCK_BINDPORT_LOCK`: set by an explicit bind, kept by
    /// a disconnect.
    addr_locked: bool,
    port_locked: bool,
    /// Bound to a broadcast or multicast address: the source address of sent
    /// datagrams then comes from the route (`inet_bind` leaves `inet_saddr` 0).
    bcast_bound: bool,
    shutdown: u8,
    /// Multicast groups joined (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP).
    groups: McastGroups,
    groups6: Mcast6Groups,
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

/// Where one datagram goes (the route's answer for this socket).
struct Dest {
    dst: IpAddr,
    src: IpAddr,
    mtu: u32,
    oif: Option<crate::dev::IfIndex>,
}

impl UdpSock {
    /// The wildcard of the socket's family.
    fn any(&self) -> IpAddr {
        if self.inet6.v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    }

    /// A user's destination in kernel form, with the device its scope names.
    fn dest(&self, a: SocketAddr) -> SysResult<(SocketAddr, Option<crate::dev::IfIndex>)> {
        match a {
            SocketAddr::V4(_) if self.inet6.v6 && self.inet6.v6only => Err(Errno::ENETUNREACH),
            SocketAddr::V4(_) => Ok((a, self.common.bound_dev)),
            SocketAddr::V6(_) if !self.inet6.v6 => Err(Errno::EAFNOSUPPORT),
            SocketAddr::V6(sa) => {
                let (ip, oif) = inet6::dest6(&self.inet6, self.laddr, self.common.bound_dev, &sa)?;
                Ok((SocketAddr::new(ip, sa.port()), oif))
            }
        }
    }

    /// A kernel-form address as this socket's user sees it.
    fn user(&self, a: SocketAddr, ifindex: Option<crate::dev::IfIndex>) -> SocketAddr {
        inet6::to_user(self.inet6.v6, a, ifindex)
    }
}

fn sref(id: u32) -> SockRef {
    SockRef { proto: Proto::Udp, id }
}

impl UdpTable {
    /// The control messages of the last datagram read (`ip_cmsg_recv`).
    pub(crate) fn recv_control(&self, net: &Net, id: u32) -> Vec<u8> {
        let Some(s) = self.socks.get(id) else { return Vec::new() };
        let mut out = Vec::new();
        if s.inet6.v6
            && let Some(dgram::LastRead::Data(_, info)) = s.rxq.last()
        {
            out = inet6::cmsg_recv(&s.inet6, info.dst, info.ifindex, info.ttl, info.tos);
        }
        let v4 = !matches!(s.rxq.last(), Some(dgram::LastRead::Data(SocketAddr::V6(_), _)));
        if v4 {
            out.extend(dgram::recv_control(&s.rxq, &s.inet, net));
        }
        out
    }

    /// Bound sockets as `/proc/net/udp` (AF_INET) or `udp6` (AF_INET6, IPv4 v4-mapped)
    /// lists them, by port (Linux `udp4_format_sock`, `ip6_dgram_sock_seq_show`).
    pub(crate) fn proc_rows(&self) -> Vec<crate::procfs::SockRow> {
        self.rows(false)
    }

    pub(crate) fn proc_rows6(&self) -> Vec<crate::procfs::SockRow> {
        self.rows(true)
    }

    /// The sockets of one family as inet_diag describes them (`udp_diag_dump`).
    pub(crate) fn diag(&self, v6: bool) -> Vec<crate::netlink::sock_diag::DiagSock> {
        self.rows(v6)
            .into_iter()
            .map(|r| crate::netlink::sock_diag::DiagSock {
                state: r.state,
                timer: 0,
                retrans: 0,
                sport: r.local.port(),
                dport: r.remote.port(),
                src: crate::tcp::proc::octets16(r.local.ip()),
                dst: crate::tcp::proc::octets16(r.remote.ip()),
                expires_ms: 0,
                rqueue: r.rx_queue as u32,
                wqueue: 0,
                inode: r.inode as u32,
                info: Vec::new(),
                cong: "",
                shutdown: 0,
                skmem: [r.rx_queue as u32, 0, 0, 0, 0, 0, 0, 0, r.drops as u32],
            })
            .collect()
    }

    fn rows(&self, v6: bool) -> Vec<crate::procfs::SockRow> {
        let fam = |a: SocketAddr| if v6 { crate::tcp::proc::as_v6(a) } else { a };
        let mut rows: Vec<_> = self
            .socks
            .iter()
            .filter(|(_, s)| s.lport != 0 && s.inet6.v6 == v6)
            .map(|(id, s)| {
                crate::procfs::SockRow::datagram(
                    fam(SocketAddr::new(s.laddr, s.lport)),
                    s.peer.map(fam),
                    s.rxq.rmem(),
                    0x0200_0000 + u64::from(id),
                    s.drops,
                )
            })
            .collect();
        rows.sort_by_key(|r| r.local.port());
        rows
    }

    fn sock(&mut self, id: u32) -> SysResult<&mut UdpSock> {
        self.socks.get_mut(id).ok_or(Errno::EBADF)
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
            s.laddr = s.any();
        }
        if !s.port_locked {
            self.put_port(id);
        }
        Ok(())
    }

    /// Resolves the destination and source of one datagram (kernel-form `dst`, the
    /// device its scope or the socket names).
    fn route(
        &self,
        net: &Net,
        s: &UdpSock,
        dst: IpAddr,
        oif: Option<crate::dev::IfIndex>,
        pktinfo: bool,
    ) -> SysResult<Dest> {
        let dst = match dst {
            IpAddr::V4(d) => d,
            IpAddr::V6(d) => return Self::route6(net, s, d, oif),
        };
        let laddr = match s.laddr {
            IpAddr::V4(l) => l,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        };
        // Linux `__ip_route_output_key`: an INADDR_ANY destination means this host.
        let dst = if dst.is_unspecified() {
            if laddr.is_unspecified() { Ipv4Addr::LOCALHOST } else { laddr }
        } else {
            dst
        };
        let mcast = dst.is_multicast();
        let mut common = std::borrow::Cow::Borrowed(&s.common);
        if pktinfo {
            common.to_mut().bound_dev = oif;
        }
        let rt = dgram::route(net, &common, &s.inet, dst)?;
        let src = match (laddr, rt.src) {
            (l, _) if !l.is_unspecified() && !s.bcast_bound => l,
            _ if mcast && !s.inet.mc_addr.is_unspecified() => s.inet.mc_addr,
            (_, IpAddr::V4(a)) => a,
            (_, IpAddr::V6(_)) => return Err(Errno::EAFNOSUPPORT),
        };
        let oif = dgram::output_if(&common, &s.inet, dst);
        Ok(Dest { dst: IpAddr::V4(dst), src: IpAddr::V4(src), mtu: rt.mtu, oif })
    }

    /// `ip6_datagram_dst_update` / `udpv6_sendmsg` routing: multicast leaves by
    /// IPV6_MULTICAST_IF; the source is the bound address unless it is multicast.
    fn route6(
        net: &Net,
        s: &UdpSock,
        dst: Ipv6Addr,
        oif: Option<crate::dev::IfIndex>,
    ) -> SysResult<Dest> {
        let oif = match oif {
            None if dst.is_multicast() && s.inet6.mc_oif != 0 => Some(s.inet6.mc_oif),
            o => o,
        };
        let bound = match s.laddr {
            IpAddr::V6(l) if !l.is_unspecified() && !l.is_multicast() => Some(l),
            _ => None,
        };
        // The bound source takes part in the lookup (`ip -6 rule from`).
        let rt = net.route_output6(dst, bound, oif)?;
        let src = bound.map_or(rt.src, IpAddr::V6);
        let mtu = s.inet6.mtu(rt.mtu);
        Ok(Dest { dst: IpAddr::V6(dst), src, mtu, oif: oif.or(Some(rt.oif)) })
    }

    /// `udpv6_sendmsg` / `udp_sendmsg` with the control messages' overrides.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        ctl: &crate::raw::cmsg::SendCtl,
    ) -> SysResult<usize> {
        let len: usize = iov.iter().map(|b| b.len()).sum();
        if len > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let s = self.sock(id)?;
        let (dst, oif) = match to {
            Some(a) => {
                if a.port() == 0 {
                    return Err(Errno::EINVAL);
                }
                s.dest(a)?
            }
            None => (s.peer.ok_or(Errno::EDESTADDRREQ)?, s.common.bound_dev),
        };
        dgram::send_ready(&mut s.common, s.shutdown)?;
        self.autobind(net, id)?;
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        // IP_PKTINFO / IPV6_PKTINFO: the device and source of this one datagram.
        let d = match ctl.oif {
            Some(o) => {
                net.devs.get(o).ok_or(Errno::ENODEV)?;
                self.route(net, s, dst.ip(), Some(o), true)?
            }
            None => self.route(net, s, dst.ip(), oif, false)?,
        };
        let src = match (d.src, ctl.src, ctl.src6) {
            (IpAddr::V4(_), Some(a), _) => {
                if !net.is_local_addr(IpAddr::V4(a)) {
                    return Err(Errno::EINVAL);
                }
                IpAddr::V4(a)
            }
            (IpAddr::V6(_), _, Some(a)) => {
                if !inet6::is_local6(net, a, None) {
                    return Err(Errno::EINVAL);
                }
                IpAddr::V6(a)
            }
            (src, _, _) => src,
        };
        let (dst_ip, mtu, d_oif) = (d.dst, d.mtu, d.oif);
        // `__ip_append_data`: beyond 64 KiB, or beyond the MTU when fragments are
        // forbidden, is EMSGSIZE.
        let v6 = dst_ip.is_ipv6();
        let (hdr, max, forbid) = if v6 {
            (40, MAX_PAYLOAD6, s.inet6.forbids_fragments())
        } else {
            (20, MAX_PAYLOAD, s.inet.forbids_fragments())
        };
        let total = hdr + wire_udp::HEADER_LEN + len;
        if len > max || (forbid && total > mtu as usize) {
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
            p.fill_checksum(&src, &dst_ip);
        }
        let (ttl, tos, dont_frag) = match dst_ip {
            IpAddr::V6(d) => {
                let hops = s.inet6.hops(net, d, d_oif.unwrap_or(0));
                (hops, s.inet6.tclass, forbid)
            }
            IpAddr::V4(d) => {
                let ttl = if d.is_multicast() { s.inet.mc_ttl } else { s.inet.ttl(net) };
                (ttl, s.inet.tos, s.inet.dont_frag(total, mtu))
            }
        };
        let tx = IpTx {
            src,
            dst: dst_ip,
            protocol: wire_udp::PROTOCOL,
            ttl: ctl.ttl.unwrap_or(ttl),
            tos: ctl.tos.unwrap_or(tos),
            dont_frag,
            oif: d.oif,
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
        let mib = &mut self.mib;
        let s = self.socks.get_mut(id).ok_or(Errno::EBADF)?;
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        // `__skb_recv_udp` reports a pending error before any data.
        let got = dgram::recv(&mut s.common, s.shutdown, &mut s.rxq, iov, flags)?;
        if got.1.is_some() && flags & MSG_PEEK == 0 && flags & MSG_ERRQUEUE == 0 {
            mib.in_datagrams += 1;
        }
        let ifindex = match s.rxq.last() {
            Some(dgram::LastRead::Data(_, info)) => Some(info.ifindex),
            _ => None,
        };
        Ok((got.0, got.1.map(|a| s.user(a, ifindex))))
    }

    /// `__udp4_lib_rcv`: validate, demultiplex, queue.
    pub fn input(&mut self, _now: Nanos, net: &mut Net, rx: &IpRx<'_>, payload: &[u8]) -> Delivery {
        let (saddr, daddr) = (rx.src, rx.dst);
        let Ok(pkt) = UdpPacket::new_checked(payload) else {
            self.mib.in_errors += 1;
            return Delivery::Dropped;
        };
        // RFC 8200 §8.1: a zero checksum is invalid over IPv6 (`udp6_csum_init`),
        // which `parse` refuses as a checksum error.
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
        let from = SocketAddr::new(saddr, repr.src_port);
        let data = Bytes::copy_from_slice(pkt.payload());
        let bcast = match daddr {
            IpAddr::V4(d) => d.is_multicast() || d.is_broadcast(),
            IpAddr::V6(d) => d.is_multicast(),
        };
        // The IP layer flags broadcasts (`RTN_BROADCAST` from the input route).
        if rx.multicast_or_broadcast || bcast {
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
        let Some(s) = self.socks.get_mut(id) else { return false };
        let rcvbuf = s.common.dgram_rcvbuf(net);
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
        let (src, dst) = (err.src, err.dst);
        let Some(q) = err.quoted.get(..4) else { return };
        let t = Tuple {
            saddr: dst,
            sport: u16::from_be_bytes([q[2], q[3]]),
            daddr: src,
            dport: u16::from_be_bytes([q[0], q[1]]),
            ifindex: None,
        };
        let Some(id) = self.lookup(&t) else { return };
        let Some(s) = self.socks.get_mut(id) else { return };
        let (recverr, dont) = if err.dst.is_ipv6() {
            (s.inet6.recverr, s.inet6.pmtudisc == inet6::IPV6_PMTUDISC_DONT)
        } else {
            (s.inet.recverr, s.inet.pmtudisc == IP_PMTUDISC_DONT)
        };
        if !dgram::icmp_error_reported(recverr, dont, s.peer.is_some(), err) {
            return;
        }
        s.common.error = Some(err.errno);
        let rcvbuf = s.common.dgram_rcvbuf(net);
        let payload = err.quoted.get(8..).unwrap_or(&[]);
        dgram::queue_icmp_error(&mut s.rxq, recverr, rcvbuf as usize, err, payload, t.sport);
        net.wake(sref(id));
    }
}

impl ProtoOps for UdpTable {
    fn open(&mut self, net: &mut Net, domain: i32, _protocol: i32) -> SysResult<u32> {
        let v6 = domain == AF_INET6;
        let s = UdpSock {
            common: SockCommon::default(),
            inet: InetOpts::new(net),
            inet6: Inet6Opts::new(net, v6),
            laddr: if v6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            },
            lport: 0,
            peer: None,
            addr_locked: false,
            port_locked: false,
            bcast_bound: false,
            shutdown: 0,
            groups: McastGroups::default(),
            groups6: Mcast6Groups::default(),
            rxq: RxQueue::default(),
            drops: 0,
        };
        Ok(self.socks.insert(s))
    }

    /// `inet_bind` / `__inet6_bind` + `udp_lib_get_port`.
    fn bind(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let s = self.sock(id)?;
        let b = match addr {
            SocketAddr::V4(a) if !s.inet6.v6 => {
                inet::check_bind_addr(net, &s.inet, *a.ip())?;
                inet6::Bind6 { addr: IpAddr::V4(*a.ip()), dev: s.common.bound_dev, v6only: false }
            }
            SocketAddr::V6(a) if s.inet6.v6 => {
                inet6::bind6(net, &s.inet6, &s.inet, s.common.bound_dev, &a)?
            }
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        if s.lport != 0 || !s.laddr.is_unspecified() {
            return Err(Errno::EINVAL);
        }
        let (old_dev, old_only) = (s.common.bound_dev, s.inet6.v6only);
        s.laddr = b.addr;
        s.common.bound_dev = b.dev;
        s.inet6.v6only = b.v6only;
        if let Err(e) = self.get_port(net, id, addr.port()) {
            let s = self.sock(id)?;
            s.laddr = s.any();
            s.common.bound_dev = old_dev;
            s.inet6.v6only = old_only;
            return Err(e);
        }
        let s = self.sock(id)?;
        s.addr_locked = !b.addr.is_unspecified();
        s.port_locked = addr.port() != 0;
        s.bcast_bound = match b.addr {
            IpAddr::V4(a) => a.is_multicast() || inet::is_broadcast(net, a),
            IpAddr::V6(a) => a.is_multicast(),
        };
        Ok(())
    }

    /// `inet_dgram_connect` + `__ip4_datagram_connect`.
    fn connect(&mut self, _now: Nanos, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let (a, oif) = self.sock(id)?.dest(addr)?;
        self.autobind(net, id)?;
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        let d = self.route(net, s, a.ip(), oif, false)?;
        let s = self.sock(id)?;
        if s.laddr.is_unspecified() || (s.laddr.is_ipv6() && d.src.is_ipv4()) {
            s.laddr = d.src;
        }
        // `ip6_datagram_connect`: a link-local peer ties the socket to its interface.
        if let IpAddr::V6(d6) = d.dst
            && (crate::wire::ipv6::is_link_local(d6) || inet6::is_ll_multicast(d6))
        {
            s.common.bound_dev = oif;
        }
        s.peer = Some(SocketAddr::new(d.dst, a.port()));
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
        // `udp_sendmsg` without control messages.
        self.send(now, net, id, iov, flags, to, &Default::default())
    }

    fn sendmsg_ctl(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        ctl: &crate::raw::cmsg::SendCtl,
    ) -> SysResult<usize> {
        UdpTable::send(self, now, net, id, iov, flags, to, ctl)
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
        let Some(s) = self.socks.get_mut(id) else { return };
        s.groups.drop_all(now, net);
        s.groups6.drop_all(now, net);
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
            SOL_IPV6 if s.inet6.v6 => {
                let bound = s.lport != 0;
                s.groups6.setsockopt(now, net, name, val)?
                    || s.inet6.setsockopt(net, SOCK_DGRAM, bound, s.common.bound_dev, name, val)?
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
        let s = self.socks.get_mut(id).ok_or(Errno::EBADF)?;
        match level {
            SOL_SOCKET => dgram::sol_socket_getsockopt(&mut s.common, net, name, out),
            SOL_IP if name == IP_MTU => {
                let peer = match s.peer {
                    Some(SocketAddr::V4(p)) => Some(*p.ip()),
                    _ => None,
                };
                dgram::ip_mtu(net, peer, s.common.bound_dev, out)
            }
            SOL_IPV6 if s.inet6.v6 && name == inet6::IPV6_MTU => {
                inet6::ipv6_mtu(net, s.peer.map(|p| p.ip()), s.common.bound_dev, out)
            }
            SOL_IPV6 if s.inet6.v6 => {
                s.inet6.getsockopt(net, SOCK_DGRAM, name, out).unwrap_or(Err(Errno::ENOPROTOOPT))
            }
            // `ip_getsockopt` on an AF_INET socket: other levels are EOPNOTSUPP.
            SOL_IPV6 => Err(Errno::EOPNOTSUPP),
            SOL_IP => s.inet.getsockopt(net, name, out).unwrap_or(Err(Errno::ENOPROTOOPT)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn local_addr(&self, id: u32) -> SysResult<SocketAddr> {
        Ok(ports::local(self.socks.get(id).ok_or(Errno::EBADF)?))
    }

    fn peer_addr(&self, id: u32) -> SysResult<SocketAddr> {
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        s.peer.map(|p| s.user(p, s.common.bound_dev)).ok_or(Errno::ENOTCONN)
    }

    /// `udp_poll` / `datagram_poll`.
    fn poll(&self, id: u32) -> u16 {
        let Some(s) = self.socks.get(id) else { return POLLNVAL };
        datagram_poll(s.common.error.is_some(), s.shutdown, &s.rxq)
    }

    /// SIOCINQ is the length of the first datagram (`udp_ioctl`); nothing is ever
    /// waiting to be sent.
    fn queued(&self, id: u32) -> (usize, usize) {
        (self.socks.get(id).map_or(0, |s| s.rxq.first_len()), 0)
    }

    fn next_deadline(&self) -> Option<Nanos> {
        None
    }

    fn advance(&mut self, _now: Nanos, _net: &mut Net) {}
}
