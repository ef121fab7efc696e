//! Raw IPv6 sockets (`net/ipv6/raw.c`): SOCK_RAW with protocol N gets the upper-layer
//! message of every locally delivered IPv6 packet of protocol N, without the IPv6
//! header (`rawv6_rcv`), filtered by bind/connect and, for ICMPv6, by ICMP6_FILTER
//! (`icmpv6_filter`). With a checksum offset (always 2 for ICMPv6, RFC 3542 §3.1; else
//! IPV6_CHECKSUM at SOL_RAW) the kernel verifies received checksums and fills sent
//! ones (`rawv6_push_pending_frames`). This is what ping as root uses.

use super::{RawSock, RawTable, cmsg};
use crate::dev::IfIndex;
use crate::net::{IcmpError, IpRx, IpTx, Net};
use crate::pktbuf::PacketBuf;
use crate::socket::dgram;
use crate::socket::inet6::{self, Icmp6Filter, Inet6Opts, Mcast6Groups};
use crate::socket::options::{get_int, put_int};
use crate::uapi::*;
use crate::wire::checksum;
use crate::wire::ipv6::{Ipv6Packet, walk_extensions};
use crate::{Errno, Nanos, SysResult};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// What an AF_INET6 raw socket adds (`struct raw6_sock`, `ipv6_pinfo`).
#[derive(Debug, Clone)]
pub struct Raw6 {
    pub(crate) opts: Inet6Opts,
    pub laddr: Ipv6Addr,
    pub peer: Option<Ipv6Addr>,
    /// Offset of the checksum the kernel computes and verifies (`rp->offset`).
    pub checksum: Option<usize>,
    pub filter: Icmp6Filter,
    pub groups: Mcast6Groups,
}

impl Raw6 {
    /// `rawv6_init_sk`: ICMPv6 sockets checksum at offset 2, others do not.
    pub fn new(net: &Net, protocol: u8) -> Raw6 {
        let icmp = i32::from(protocol) == inet6::IPPROTO_ICMPV6;
        Raw6 {
            opts: Inet6Opts::new(net, true),
            laddr: Ipv6Addr::UNSPECIFIED,
            peer: None,
            checksum: icmp.then_some(2),
            filter: Icmp6Filter::default(),
            groups: Mcast6Groups::default(),
        }
    }
}

/// The upper-layer message inside a whole IPv6 packet (after the extension headers).
fn upper(packet: &[u8]) -> Option<&[u8]> {
    let p = Ipv6Packet::new_checked(packet).ok()?;
    let u = walk_extensions(p.next_header(), p.payload()).ok()?;
    let start = packet.len() - p.payload().len() + u.offset;
    packet.get(start..)
}

impl RawTable {
    /// `raw_v6_match` + `icmpv6_filter` + the checksum check of `rawv6_rcv`.
    fn wants6(s: &RawSock, rx: &IpRx<'_>, src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> bool {
        let Some(r) = s.v6.as_deref() else { return false };
        if r.peer.is_some_and(|p| p != src)
            || (!r.laddr.is_unspecified() && r.laddr != dst)
            || s.common.bound_dev.is_some_and(|d| d != rx.ifindex)
            || (dst.is_multicast() && !r.groups.allows(&r.opts, dst, rx.ifindex))
        {
            return false;
        }
        if i32::from(s.protocol) == inet6::IPPROTO_ICMPV6
            && msg.first().is_none_or(|&ty| r.filter.blocks(ty))
        {
            return false;
        }
        match r.checksum {
            Some(_) => checksum::verify_transport(&rx.src, &rx.dst, rx.protocol, msg),
            None => true,
        }
    }

    /// `ipv6_raw_deliver`: the message to every matching AF_INET6 raw socket; true if
    /// any socket of the protocol matched.
    pub(super) fn deliver6(
        &mut self,
        net: &mut Net,
        rx: &IpRx<'_>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) -> bool {
        let Some(msg) = upper(rx.packet) else { return false };
        let from = SocketAddr::V6(SocketAddrV6::new(src, 0, 0, 0));
        self.fan_out(net, rx, from, msg, |s| Self::wants6(s, rx, src, dst, msg))
    }

    /// `rawv6_err`: AF_INET6 raw sockets of the quoted protocol whose addresses match
    /// hear of an ICMPv6 error if connected (hard errors) or with IPV6_RECVERR.
    pub(super) fn icmp_error6(
        &mut self,
        net: &mut Net,
        err: &IcmpError<'_>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) {
        let Some(ids) = self.by_proto.get(&err.protocol).cloned() else { return };
        for id in ids {
            let Some(s) = self.socks.get_mut(id) else { continue };
            let Some(r) = s.v6.as_deref() else { continue };
            if r.peer.is_some_and(|p| p != dst) || (!r.laddr.is_unspecified() && r.laddr != src) {
                continue;
            }
            let recverr = r.opts.recverr;
            let dont = r.opts.pmtudisc == inet6::IPV6_PMTUDISC_DONT;
            if dgram::icmp_error_reported(recverr, dont, r.peer.is_some(), err) {
                s.report(net, id, err, recverr);
            }
        }
    }

    /// `rawv6_sendmsg`: the user's message after an IPv6 header the kernel builds, its
    /// checksum filled at the socket's offset.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send6(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        data: &[u8],
        to: Option<SocketAddr>,
        ctl: &cmsg::SendCtl,
    ) -> SysResult<usize> {
        let s = self.sock(id)?;
        let proto = s.protocol;
        let Some(r) = s.v6.as_deref() else { return Err(Errno::EAFNOSUPPORT) };
        let (dst, mut oif) = match to {
            Some(SocketAddr::V6(sa)) => {
                // The port, if given, must be the socket's protocol (`rawv6_sendmsg`).
                let p = sa.port();
                if p != 0 && p != u16::from(proto) && i32::from(proto) != IPPROTO_RAW {
                    return Err(Errno::EINVAL);
                }
                let mut o = r.opts;
                o.v6only = true;
                let (d, oif) = inet6::dest6(&o, IpAddr::V6(r.laddr), s.common.bound_dev, &sa)?;
                let IpAddr::V6(d) = d else { return Err(Errno::ENETUNREACH) };
                (d, oif)
            }
            Some(SocketAddr::V4(_)) => return Err(Errno::EAFNOSUPPORT),
            None => (r.peer.ok_or(Errno::EDESTADDRREQ)?, s.common.bound_dev),
        };
        if let Some(o) = ctl.oif {
            net.devs.get(o).ok_or(Errno::ENODEV)?;
            oif = Some(o);
        }
        if oif.is_none() && dst.is_multicast() && r.opts.mc_oif != 0 {
            oif = Some(r.opts.mc_oif);
        }
        dgram::send_ready(&mut s.common, s.shutdown)?;
        let s = self.socks.get(id).ok_or(Errno::EBADF)?;
        let Some(r) = s.v6.as_deref() else { return Err(Errno::EAFNOSUPPORT) };
        if ctl.src6.is_some_and(|a| !inet6::is_local6(net, a, None)) {
            return Err(Errno::EINVAL);
        }
        let rt = net.route_output(IpAddr::V6(dst), oif)?;
        let src = match (ctl.src6, r.laddr) {
            (Some(a), _) => IpAddr::V6(a),
            (None, l) if !l.is_unspecified() && !l.is_multicast() => IpAddr::V6(l),
            _ => rt.src,
        };
        let mtu = r.opts.mtu(rt.mtu);
        if data.len() > 0xffff || (r.opts.forbids_fragments() && 40 + data.len() > mtu as usize) {
            return Err(Errno::EMSGSIZE);
        }
        let mut pkt = PacketBuf::from_slice(data);
        if let Some(off) = r.checksum {
            if off + 1 >= data.len() {
                return Err(Errno::EINVAL);
            }
            let b = pkt.data_mut();
            b[off..off + 2].fill(0);
            let c = checksum::transport(&src, &IpAddr::V6(dst), proto, b);
            b[off..off + 2].copy_from_slice(&c.to_be_bytes());
        }
        let out_if = oif.unwrap_or(rt.oif);
        let tx = IpTx {
            src,
            dst: IpAddr::V6(dst),
            protocol: proto,
            ttl: ctl.ttl.unwrap_or_else(|| r.opts.hops(net, dst, out_if)),
            tos: ctl.tos.unwrap_or(r.opts.tclass),
            dont_frag: r.opts.forbids_fragments(),
            oif,
            allow_broadcast: false,
        };
        net.ip_output(now, &tx, pkt)?;
        Ok(data.len())
    }

    /// `rawv6_bind`: an address of ours (or multicast, or `::`); the port is ignored.
    pub(super) fn bind6(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let SocketAddr::V6(sa) = addr else { return Err(Errno::EAFNOSUPPORT) };
        let s = self.sock(id)?;
        let Some(r) = s.v6.as_deref_mut() else { return Err(Errno::EAFNOSUPPORT) };
        if inet6::v4_mapped(*sa.ip()).is_some() {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let mut o = r.opts;
        o.v6only = true;
        let b = inet6::bind6(net, &o, &s.inet, s.common.bound_dev, &sa)?;
        let IpAddr::V6(a) = b.addr else { return Err(Errno::EADDRNOTAVAIL) };
        r.laddr = a;
        s.common.bound_dev = b.dev;
        Ok(())
    }

    /// `ip6_datagram_connect` for a raw socket: remembers the peer, picks the source.
    pub(super) fn connect6(&mut self, net: &mut Net, id: u32, addr: SocketAddr) -> SysResult<()> {
        let SocketAddr::V6(sa) = addr else { return Err(Errno::EAFNOSUPPORT) };
        let s = self.sock(id)?;
        let Some(r) = s.v6.as_deref() else { return Err(Errno::EAFNOSUPPORT) };
        let mut o = r.opts;
        o.v6only = true;
        let (d, oif) = inet6::dest6(&o, IpAddr::V6(r.laddr), s.common.bound_dev, &sa)?;
        let IpAddr::V6(d) = d else { return Err(Errno::ENETUNREACH) };
        let rt = net.route_output(IpAddr::V6(d), oif)?;
        let s = self.sock(id)?;
        if crate::wire::ipv6::is_link_local(d) {
            s.common.bound_dev = oif;
        }
        let Some(r) = s.v6.as_deref_mut() else { return Err(Errno::EAFNOSUPPORT) };
        if let (true, IpAddr::V6(src)) = (r.laddr.is_unspecified(), rt.src) {
            r.laddr = src;
        }
        r.peer = Some(d);
        Ok(())
    }

    /// SOL_RAW IPV6_CHECKSUM, SOL_ICMPV6 ICMP6_FILTER, SOL_IPV6 (`rawv6_setsockopt`).
    pub(super) fn setsockopt6(
        &mut self,
        now: Nanos,
        net: &mut Net,
        id: u32,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<bool> {
        let s = self.sock(id)?;
        let icmp = i32::from(s.protocol) == inet6::IPPROTO_ICMPV6;
        let dev = s.common.bound_dev;
        let Some(r) = s.v6.as_deref_mut() else { return Ok(false) };
        match (level, name) {
            (super::SOL_RAW | inet6::SOL_IPV6, inet6::IPV6_CHECKSUM) => {
                // RFC 3542 §3.1: not at IPPROTO_IPV6 on ICMPv6 sockets.
                if icmp && level == inet6::SOL_IPV6 {
                    return Err(Errno::EINVAL);
                }
                let v = get_int(val)?;
                if v > 0 && v & 1 != 0 {
                    return Err(Errno::EINVAL);
                }
                r.checksum = (v >= 0).then_some(v as usize);
                Ok(true)
            }
            (super::SOL_RAW, _) => Ok(false),
            (inet6::SOL_ICMPV6, inet6::ICMPV6_FILTER) => {
                if !icmp {
                    return Err(Errno::EOPNOTSUPP);
                }
                r.filter.set(val);
                Ok(true)
            }
            (inet6::SOL_IPV6, _) => Ok(r.groups.setsockopt(now, net, name, val)?
                || r.opts.setsockopt(net, SOCK_RAW, false, dev, name, val)?),
            _ => Ok(false),
        }
    }

    pub(super) fn getsockopt6(
        &self,
        net: &Net,
        s: &RawSock,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        let Some(r) = s.v6.as_deref() else { return Err(Errno::ENOPROTOOPT) };
        let icmp = i32::from(s.protocol) == inet6::IPPROTO_ICMPV6;
        match (level, name) {
            (super::SOL_RAW | inet6::SOL_IPV6, inet6::IPV6_CHECKSUM) => {
                put_int(out, r.checksum.map_or(-1, |o| o as i32))
            }
            (inet6::SOL_ICMPV6, inet6::ICMPV6_FILTER) if icmp => r.filter.get(out),
            (inet6::SOL_ICMPV6, inet6::ICMPV6_FILTER) => Err(Errno::EOPNOTSUPP),
            (inet6::SOL_IPV6, inet6::IPV6_MTU) => {
                inet6::ipv6_mtu(net, r.peer.map(IpAddr::V6), s.common.bound_dev, out)
            }
            (inet6::SOL_IPV6, _) => {
                r.opts.getsockopt(net, SOCK_RAW, name, out).unwrap_or(Err(Errno::ENOPROTOOPT))
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }
}

/// The user's view of a raw IPv6 sender: port 0, the scope of a link-local address.
pub(super) fn user_from(a: SocketAddr, ifindex: Option<IfIndex>) -> SocketAddr {
    inet6::to_user(true, a, ifindex)
}
