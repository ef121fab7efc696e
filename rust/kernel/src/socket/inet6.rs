//! AF_INET6 sockets: the SOL_IPV6 options TCP, UDP and raw share (Linux
//! `net/ipv6/ipv6_sockglue.c` `do_ipv6_setsockopt` / `do_ipv6_getsockopt`), the address
//! rules of bind and connect (`__inet6_bind`, `ip6_datagram_connect`, `tcp_v6_connect`)
//! and dual stack: a v4-mapped address (`::ffff:a.b.c.d`) is kept as the IPv4 address
//! inside the kernel and mapped back at the socket API (`ipv6_addr_set_v4mapped`).

use crate::dev::IfIndex;
use crate::net::Net;
use crate::socket::inet::put_cmsg;
use crate::socket::options::{put_bytes, put_int};
use crate::uapi::*;
use crate::wire::ipv6::is_link_local;
use crate::{Errno, SysResult};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// Levels (Linux `include/linux/socket.h`).
pub const SOL_IPV6: i32 = 41;
pub const SOL_ICMPV6: i32 = 58;
pub const IPPROTO_ICMPV6: i32 = 58;

/// SOL_IPV6 option names (Linux `include/uapi/linux/in6.h`).
pub const IPV6_CHECKSUM: i32 = 7;
pub const IPV6_UNICAST_HOPS: i32 = 16;
pub const IPV6_MULTICAST_IF: i32 = 17;
pub const IPV6_MULTICAST_HOPS: i32 = 18;
pub const IPV6_MULTICAST_LOOP: i32 = 19;
pub const IPV6_JOIN_GROUP: i32 = 20;
pub const IPV6_LEAVE_GROUP: i32 = 21;
pub const IPV6_MTU_DISCOVER: i32 = 23;
pub const IPV6_MTU: i32 = 24;
pub const IPV6_RECVERR: i32 = 25;
pub const IPV6_V6ONLY: i32 = 26;
pub const IPV6_MULTICAST_ALL: i32 = 29;
pub const IPV6_RECVPKTINFO: i32 = 49;
pub const IPV6_PKTINFO: i32 = 50;
pub const IPV6_RECVHOPLIMIT: i32 = 51;
pub const IPV6_HOPLIMIT: i32 = 52;
pub const IPV6_DONTFRAG: i32 = 62;
pub const IPV6_RECVTCLASS: i32 = 66;
pub const IPV6_TCLASS: i32 = 67;
/// ICMPV6_FILTER at SOL_ICMPV6 (`include/uapi/linux/icmpv6.h`).
pub const ICMPV6_FILTER: i32 = 1;
/// IPV6_PMTUDISC_* (same values as IPv4's).
pub const IPV6_PMTUDISC_DONT: i32 = 0;
pub const IPV6_PMTUDISC_WANT: i32 = 1;
pub const IPV6_PMTUDISC_DO: i32 = 2;
pub const IPV6_PMTUDISC_PROBE: i32 = 3;
pub const IPV6_PMTUDISC_OMIT: i32 = 5;
/// RFC 8200 §5: every link carries 1280 bytes.
pub const IPV6_MIN_MTU: u32 = 1280;
/// `IPV6_DEFAULT_MCASTHOPS`.
const DEFAULT_MCAST_HOPS: u8 = 1;

/// Per-socket IPv6 state (`struct ipv6_pinfo`). IPv4 sockets carry one too, with `v6`
/// false, so the tables handle both families alike.
#[derive(Debug, Clone, Copy)]
pub struct Inet6Opts {
    /// The socket is AF_INET6.
    pub v6: bool,
    /// IPV6_V6ONLY (`sk_ipv6only`): no IPv4 through this socket.
    pub v6only: bool,
    /// IPV6_UNICAST_HOPS; None = the route's (`net.ipv6.conf.*.hop_limit`).
    pub hop_limit: Option<u8>,
    pub mc_hops: u8,
    pub mc_loop: bool,
    pub mc_all: bool,
    /// IPV6_MULTICAST_IF (0 = none).
    pub mc_oif: IfIndex,
    pub tclass: u8,
    pub pmtudisc: i32,
    /// IPV6_MTU (`frag_size`, 0 = the path's).
    pub frag_size: u32,
    pub dontfrag: bool,
    pub recverr: bool,
    pub rx_pktinfo: bool,
    pub rx_hoplimit: bool,
    pub rx_tclass: bool,
}

impl Inet6Opts {
    /// A new socket's options (`inet6_create`): V6ONLY from `net.ipv6.bindv6only`.
    pub fn new(net: &Net, v6: bool) -> Inet6Opts {
        Inet6Opts {
            v6,
            v6only: v6 && bindv6only(net),
            hop_limit: None,
            mc_hops: DEFAULT_MCAST_HOPS,
            mc_loop: true,
            mc_all: true,
            mc_oif: 0,
            tclass: 0,
            pmtudisc: IPV6_PMTUDISC_WANT,
            frag_size: 0,
            dontfrag: false,
            recverr: false,
            rx_pktinfo: false,
            rx_hoplimit: false,
            rx_tclass: false,
        }
    }

    /// The hop limit of a packet to `dst` out of `oif` (`ip6_sk_dst_hoplimit`).
    pub fn hops(&self, net: &Net, dst: Ipv6Addr, oif: IfIndex) -> u8 {
        if dst.is_multicast() {
            return self.mc_hops;
        }
        self.hop_limit.unwrap_or_else(|| net.hop_limit6(oif))
    }

    /// True if a packet too big for the path must fail (EMSGSIZE) rather than be
    /// fragmented at the source (`ip6_sk_ignore_df`, IPV6_DONTFRAG, PMTUDISC_DO/PROBE).
    pub fn forbids_fragments(&self) -> bool {
        self.dontfrag || matches!(self.pmtudisc, IPV6_PMTUDISC_DO | IPV6_PMTUDISC_PROBE)
    }

    /// The MTU a datagram is measured against: the path's, lowered by IPV6_MTU.
    pub fn mtu(&self, path: u32) -> u32 {
        if self.frag_size != 0 { path.min(self.frag_size) } else { path }
    }

    /// `do_ipv6_setsockopt` for the options kept here. `bound` = the socket has a
    /// local port (IPV6_V6ONLY is then EINVAL). `Ok(false)`: not ours.
    pub fn setsockopt(
        &mut self,
        net: &Net,
        sock_type: i32,
        bound: bool,
        bound_dev: Option<IfIndex>,
        name: i32,
        val: &[u8],
    ) -> SysResult<bool> {
        // Linux reads an int when 4 bytes are given; int options then demand 4.
        let int = || -> SysResult<i32> {
            let b: [u8; 4] = val.get(..4).ok_or(Errno::EINVAL)?.try_into().unwrap_or([0; 4]);
            Ok(i32::from_ne_bytes(b))
        };
        let stream = sock_type == SOCK_STREAM;
        match name {
            IPV6_V6ONLY => {
                let v = int()?;
                if bound || !self.v6 {
                    return Err(Errno::EINVAL);
                }
                self.v6only = v != 0;
            }
            IPV6_UNICAST_HOPS => {
                let v = int()?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.hop_limit = (v != -1).then_some(v as u8);
            }
            IPV6_MULTICAST_HOPS if !stream => {
                let v = int()?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.mc_hops = if v == -1 { DEFAULT_MCAST_HOPS } else { v as u8 };
            }
            IPV6_MULTICAST_LOOP => {
                let v = int()?;
                if v != 0 && v != 1 {
                    return Err(Errno::EINVAL);
                }
                self.mc_loop = v == 1;
            }
            IPV6_MULTICAST_IF if !stream => {
                let v = int()?;
                let idx = u32::try_from(v).map_err(|_| Errno::ENODEV)?;
                if idx != 0 && net.devs.get(idx).is_none() {
                    return Err(Errno::ENODEV);
                }
                if bound_dev.is_some_and(|d| idx != d) {
                    return Err(Errno::EINVAL);
                }
                self.mc_oif = idx;
            }
            IPV6_MULTICAST_ALL => self.mc_all = int()? != 0,
            IPV6_TCLASS => {
                let v = int()?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                let mut t = v.max(0) as u8;
                // The ECN bits stay TCP's (`do_ipv6_setsockopt`).
                if stream {
                    t = (t & !3) | (self.tclass & 3);
                }
                self.tclass = t;
            }
            IPV6_MTU_DISCOVER => {
                let v = int()?;
                if !(IPV6_PMTUDISC_DONT..=IPV6_PMTUDISC_OMIT).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.pmtudisc = v;
            }
            IPV6_MTU => {
                let v = int()?;
                if v != 0 && (v as u32) < IPV6_MIN_MTU {
                    return Err(Errno::EINVAL);
                }
                self.frag_size = v as u32;
            }
            IPV6_DONTFRAG => self.dontfrag = int()? != 0,
            IPV6_RECVERR => self.recverr = int()? != 0,
            IPV6_RECVPKTINFO => self.rx_pktinfo = int()? != 0,
            IPV6_RECVHOPLIMIT => self.rx_hoplimit = int()? != 0,
            IPV6_RECVTCLASS => self.rx_tclass = int()? != 0,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `do_ipv6_getsockopt`; None for names the protocol answers (IPV6_MTU needs the
    /// route, IPV6_CHECKSUM is raw's).
    pub fn getsockopt(
        &self,
        net: &Net,
        sock_type: i32,
        name: i32,
        out: &mut [u8],
    ) -> Option<SysResult<usize>> {
        // Stream sockets read the multicast options too (only setting them is refused).
        let _ = (net, sock_type);
        let all_hops = i32::from(crate::ipv6::defaults::HOP_LIMIT);
        let v = match name {
            IPV6_V6ONLY => self.v6only as i32,
            IPV6_UNICAST_HOPS => self.hop_limit.map_or(all_hops, i32::from),
            IPV6_MULTICAST_HOPS => i32::from(self.mc_hops),
            IPV6_MULTICAST_LOOP => self.mc_loop as i32,
            IPV6_MULTICAST_IF => self.mc_oif as i32,
            IPV6_MULTICAST_ALL => self.mc_all as i32,
            IPV6_TCLASS => i32::from(self.tclass),
            IPV6_MTU_DISCOVER => self.pmtudisc,
            IPV6_DONTFRAG => self.dontfrag as i32,
            IPV6_RECVERR => self.recverr as i32,
            IPV6_RECVPKTINFO => self.rx_pktinfo as i32,
            IPV6_RECVHOPLIMIT => self.rx_hoplimit as i32,
            IPV6_RECVTCLASS => self.rx_tclass as i32,
            _ => return None,
        };
        Some(put_int(out, v))
    }
}

/// `net.ipv6.bindv6only` (Linux default 0).
pub fn bindv6only(net: &Net) -> bool {
    net.sysctl.ipv6.bindv6only
}

/// The IPv4 address inside `::ffff:a.b.c.d`.
pub fn v4_mapped(a: Ipv6Addr) -> Option<Ipv4Addr> {
    match a.segments() {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(Ipv4Addr::from((u128::from(a) & 0xffff_ffff) as u32)),
        _ => None,
    }
}

/// The kernel's form of an address: v4-mapped becomes IPv4.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v4_mapped(v6).map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// How a socket address looks to the user of a socket of family `v6`: IPv4 inside an
/// AF_INET6 socket is v4-mapped; a link-local address carries its interface as
/// `sin6_scope_id` (`ipv6_iface_scope_id`).
pub fn to_user(v6: bool, a: SocketAddr, scope: Option<IfIndex>) -> SocketAddr {
    match a {
        SocketAddr::V4(s) if v6 => {
            SocketAddr::V6(SocketAddrV6::new(s.ip().to_ipv6_mapped(), s.port(), 0, 0))
        }
        SocketAddr::V6(s) => {
            let ll = is_link_local(*s.ip()) || is_ll_multicast(*s.ip());
            let scope = if ll { scope.unwrap_or(0) } else { 0 };
            SocketAddr::V6(SocketAddrV6::new(*s.ip(), s.port(), 0, scope))
        }
        v4 => v4,
    }
}

/// Link- or interface-local multicast (`ff01::/16`, `ff02::/16`): scoped like link-local.
pub fn is_ll_multicast(a: Ipv6Addr) -> bool {
    a.is_multicast() && matches!(a.segments()[0] & 0x000f, 1 | 2)
}

/// True if `a` is one of our usable IPv6 addresses (on `dev` when given):
/// `ipv6_chk_addr`.
pub fn is_local6(net: &Net, a: Ipv6Addr, dev: Option<IfIndex>) -> bool {
    if a.is_loopback() {
        return true;
    }
    net.ipv6.addrs.iter().any(|(&i, v)| {
        dev.is_none_or(|d| d == i)
            && v.iter().any(|f| f.addr == a && f.state != crate::ipv6::AddrState::DadFailed)
    })
}

/// What bind(2) of an AF_INET6 socket resolves to (`__inet6_bind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bind6 {
    /// The address in kernel form (IPv4 for a v4-mapped one).
    pub addr: IpAddr,
    /// The device a link-local address ties the socket to (`sk_bound_dev_if`).
    pub dev: Option<IfIndex>,
    /// A specific IPv6 address makes the socket IPv6-only (`sk_ipv6only = 1`).
    pub v6only: bool,
}

/// `__inet6_bind`'s address checks. `freebind` = IP_FREEBIND/IP_TRANSPARENT.
pub fn bind6(
    net: &Net,
    opts: &Inet6Opts,
    inet: &crate::socket::inet::InetOpts,
    bound_dev: Option<IfIndex>,
    sa: &SocketAddrV6,
) -> SysResult<Bind6> {
    let a = *sa.ip();
    if let Some(v4) = v4_mapped(a) {
        // A v4-mapped address on an IPv6-only socket is EINVAL.
        if opts.v6only {
            return Err(Errno::EINVAL);
        }
        crate::socket::inet::check_bind_addr(net, inet, v4)?;
        return Ok(Bind6 { addr: IpAddr::V4(v4), dev: bound_dev, v6only: false });
    }
    if a.is_unspecified() {
        return Ok(Bind6 { addr: IpAddr::V6(a), dev: bound_dev, v6only: opts.v6only });
    }
    let mut dev = bound_dev;
    if is_link_local(a) || is_ll_multicast(a) {
        if sa.scope_id() != 0 {
            if bound_dev.is_some_and(|d| d != sa.scope_id()) {
                return Err(Errno::EINVAL);
            }
            dev = Some(sa.scope_id());
        }
        // A link-local address needs an interface.
        let Some(d) = dev else { return Err(Errno::EINVAL) };
        if net.devs.get(d).is_none() {
            return Err(Errno::ENODEV);
        }
    }
    let nonlocal = inet.freebind || inet.transparent;
    if !a.is_multicast() && !nonlocal && !is_local6(net, a, dev.filter(|_| is_link_local(a))) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    Ok(Bind6 { addr: IpAddr::V6(a), dev, v6only: true })
}

/// A destination given to connect/sendto on an AF_INET6 socket, in kernel form, with
/// the interface its scope names (`ip6_datagram_connect`, `tcp_v6_connect`): `::`
/// means loopback, v4-mapped needs a dual-stack socket (ENETUNREACH), link-local needs
/// an interface (EINVAL).
pub fn dest6(
    opts: &Inet6Opts,
    local: IpAddr,
    bound_dev: Option<IfIndex>,
    sa: &SocketAddrV6,
) -> SysResult<(IpAddr, Option<IfIndex>)> {
    let a = *sa.ip();
    if let Some(v4) = v4_mapped(a) {
        if opts.v6only || matches!(local, IpAddr::V6(l) if !l.is_unspecified()) {
            return Err(Errno::ENETUNREACH);
        }
        return Ok((IpAddr::V4(v4), bound_dev));
    }
    if local.is_ipv4() && !local.is_unspecified() {
        // Bound to a v4-mapped address: IPv6 peers are out of reach.
        return Err(Errno::ENETUNREACH);
    }
    if a.is_unspecified() {
        return Ok((IpAddr::V6(Ipv6Addr::LOCALHOST), bound_dev));
    }
    let mut oif = bound_dev;
    if is_link_local(a) || is_ll_multicast(a) {
        if sa.scope_id() != 0 {
            if bound_dev.is_some_and(|d| d != sa.scope_id()) {
                return Err(Errno::EINVAL);
            }
            oif = Some(sa.scope_id());
        }
        if oif.is_none() {
            return Err(Errno::EINVAL);
        }
    } else if a.is_multicast() && oif.is_none() && opts.mc_oif != 0 {
        oif = Some(opts.mc_oif);
    }
    Ok((IpAddr::V6(a), oif))
}

/// What a socket bound to `laddr` covers for the port tables: its IPv4 part (IPv4
/// sockets, v4-mapped binds, a dual-stack `::`) and its IPv6 part.
pub fn bind_parts(opts: &Inet6Opts, laddr: IpAddr) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    match laddr {
        IpAddr::V4(a) => (Some(a), None),
        IpAddr::V6(a) if a.is_unspecified() && !opts.v6only => {
            (Some(Ipv4Addr::UNSPECIFIED), Some(a))
        }
        IpAddr::V6(a) => (None, Some(a)),
    }
}

/// Linux `inet_rcv_saddr_equal` (with `ipv6_rcv_saddr_equal`): two sockets bound to
/// the same port overlap when their IPv4 parts or their IPv6 parts do (equal, or either
/// is the wildcard). So `::` conflicts with `0.0.0.0` unless IPV6_V6ONLY.
pub fn addrs_overlap(
    a: (Option<Ipv4Addr>, Option<Ipv6Addr>),
    b: (Option<Ipv4Addr>, Option<Ipv6Addr>),
) -> bool {
    let v4 = match (a.0, b.0) {
        (Some(x), Some(y)) => x.is_unspecified() || y.is_unspecified() || x == y,
        _ => false,
    };
    let v6 = match (a.1, b.1) {
        (Some(x), Some(y)) => x.is_unspecified() || y.is_unspecified() || x == y,
        _ => false,
    };
    v4 || v6
}

/// Whether a socket bound to `laddr` takes a packet for `dst` (family and address),
/// and how well: 2 for its own family, 1 for IPv4 on a dual-stack socket (Linux
/// `compute_score` prefers `PF_INET` sockets); plus 4 for an exact address.
pub fn match_local(opts: &Inet6Opts, laddr: IpAddr, dst: IpAddr) -> Option<u32> {
    let (p4, p6) = bind_parts(opts, laddr);
    let (part_ok, exact) = match dst {
        IpAddr::V4(d) => match p4 {
            Some(a) => (a.is_unspecified() || a == d, a == d),
            None => (false, false),
        },
        IpAddr::V6(d) => match p6 {
            Some(a) => (a.is_unspecified() || a == d, a == d),
            None => (false, false),
        },
    };
    if !part_ok {
        return None;
    }
    let family = if dst.is_ipv4() && opts.v6 && !laddr.is_ipv4() { 1 } else { 2 };
    Some(family + if exact { 4 } else { 0 })
}

/// The IPv6 receive control messages of a datagram (`ip6_datagram_recv_common_ctl`,
/// `ip6_datagram_recv_specific_ctl`): IPV6_PKTINFO (also for IPv4 on a dual-stack
/// socket, mapped), then IPV6_HOPLIMIT and IPV6_TCLASS for IPv6 packets.
pub fn cmsg_recv(opts: &Inet6Opts, dst: IpAddr, ifindex: IfIndex, hops: u8, tclass: u8) -> Vec<u8> {
    let mut out = Vec::new();
    if opts.rx_pktinfo {
        let a = match dst {
            IpAddr::V4(d) => d.to_ipv6_mapped(),
            IpAddr::V6(d) => d,
        };
        let mut d = [0u8; 20];
        d[..16].copy_from_slice(&a.octets());
        d[16..].copy_from_slice(&(ifindex as i32).to_ne_bytes());
        put_cmsg(&mut out, SOL_IPV6, IPV6_PKTINFO, &d);
    }
    if dst.is_ipv6() {
        if opts.rx_hoplimit {
            put_cmsg(&mut out, SOL_IPV6, IPV6_HOPLIMIT, &i32::from(hops).to_ne_bytes());
        }
        if opts.rx_tclass {
            put_cmsg(&mut out, SOL_IPV6, IPV6_TCLASS, &i32::from(tclass).to_ne_bytes());
        }
    }
    out
}

/// The multicast groups an IPv6 datagram socket joined (`ipv6_sock_mc_join`).
#[derive(Debug, Clone, Default)]
pub struct Mcast6Groups(Vec<(Ipv6Addr, IfIndex)>);

impl Mcast6Groups {
    pub fn joined(&self, group: Ipv6Addr, ifindex: IfIndex) -> bool {
        self.0.iter().any(|&(g, i)| g == group && i == ifindex)
    }

    /// `inet6_mc_check`: a socket hears a group it joined on that device, or any with
    /// IPV6_MULTICAST_ALL.
    pub fn allows(&self, opts: &Inet6Opts, group: Ipv6Addr, ifindex: IfIndex) -> bool {
        opts.mc_all || self.joined(group, ifindex)
    }

    /// Leaves every group (`ipv6_sock_mc_close`).
    pub fn drop_all(&mut self, now: crate::Nanos, net: &mut Net) {
        for (g, i) in self.0.drain(..) {
            mc_leave(now, net, i, g);
        }
    }

    /// IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP with a `struct ipv6_mreq` (group, ifindex).
    pub fn setsockopt(
        &mut self,
        now: crate::Nanos,
        net: &mut Net,
        name: i32,
        val: &[u8],
    ) -> SysResult<bool> {
        if name != IPV6_JOIN_GROUP && name != IPV6_LEAVE_GROUP {
            return Ok(false);
        }
        if val.len() < 20 {
            return Err(Errno::EINVAL);
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&val[..16]);
        let group = Ipv6Addr::from(g);
        let idx = i32::from_ne_bytes([val[16], val[17], val[18], val[19]]);
        if !group.is_multicast() {
            return Err(Errno::EINVAL);
        }
        let dev = if idx > 0 {
            net.devs.get(idx as u32).map(|d| d.ifindex).ok_or(Errno::ENODEV)?
        } else {
            net.route_output(IpAddr::V6(group), None).map(|r| r.oif).map_err(|_| Errno::ENODEV)?
        };
        let pos = self.0.iter().position(|&(x, i)| x == group && i == dev);
        match (name, pos) {
            (IPV6_JOIN_GROUP, Some(_)) => return Err(Errno::EADDRINUSE),
            (IPV6_JOIN_GROUP, None) => {
                mc_join(now, net, dev, group)?;
                self.0.push((group, dev));
            }
            (_, Some(p)) => {
                self.0.remove(p);
                mc_leave(now, net, dev, group);
            }
            (_, None) => return Err(Errno::EADDRNOTAVAIL),
        }
        Ok(true)
    }
}

fn mc_join(now: crate::Nanos, net: &mut Net, dev: IfIndex, group: Ipv6Addr) -> SysResult<()> {
    net.ipv6_mc_join(now, dev, group)
}

fn mc_leave(now: crate::Nanos, net: &mut Net, dev: IfIndex, group: Ipv6Addr) {
    net.ipv6_mc_leave(now, dev, group)
}

/// IPV6_MTU getsockopt: the route MTU toward the connected peer (ENOTCONN without).
pub fn ipv6_mtu(
    net: &Net,
    peer: Option<IpAddr>,
    oif: Option<IfIndex>,
    out: &mut [u8],
) -> SysResult<usize> {
    let peer = peer.ok_or(Errno::ENOTCONN)?;
    let rt = net.route_output(peer, oif)?;
    put_int(out, rt.mtu as i32)
}

/// `struct icmp6_filter`: one bit per ICMPv6 type, set = blocked (RFC 3542 §3.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Icmp6Filter(pub [u32; 8]);

impl Icmp6Filter {
    pub fn blocks(&self, ty: u8) -> bool {
        self.0[usize::from(ty >> 5)] & (1 << (ty & 31)) != 0
    }

    /// `rawv6_seticmpfilter`: at most 32 bytes are taken.
    pub fn set(&mut self, val: &[u8]) {
        let mut b = [0u8; 32];
        let n = val.len().min(32);
        b[..n].copy_from_slice(&val[..n]);
        for (i, w) in self.0.iter_mut().enumerate() {
            *w = u32::from_ne_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        }
    }

    pub fn get(&self, out: &mut [u8]) -> SysResult<usize> {
        let mut b = [0u8; 32];
        for (i, w) in self.0.iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&w.to_ne_bytes());
        }
        put_bytes(out, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn mapped_round_trip() {
        let m: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(v4_mapped(m), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(canonical(IpAddr::V6(m)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(v4_mapped("::1".parse().unwrap()), None);
        let sa = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
        assert_eq!(to_user(true, sa, None).to_string(), "[::ffff:10.0.0.1]:80");
        assert_eq!(to_user(false, sa, None), sa);
        let ll = SocketAddr::new(v6("fe80::1"), 9);
        assert_eq!(to_user(true, ll, Some(3)).to_string(), "[fe80::1%3]:9");
        let g = SocketAddr::new(v6("2001:db8::1"), 9);
        assert_eq!(to_user(true, g, Some(3)).to_string(), "[2001:db8::1]:9");
    }

    /// Linux's answers for two binds of one port without SO_REUSEADDR (checked with
    /// python on Linux 6.x): (first, its V6ONLY, second, its V6ONLY) → conflict.
    #[test]
    fn bind_conflicts_as_linux() {
        let net = Net::new(0);
        let o = |v6: bool, only: bool| {
            let mut o = Inet6Opts::new(&net, v6);
            o.v6only = only;
            o
        };
        let any4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let a4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let any6 = v6("::");
        let a6 = v6("2001:db8::1");
        let cases = [
            // (family v6, v6only, addr) x 2, conflict
            ((false, false, any4), (true, false, any6), true),
            ((false, false, any4), (true, true, any6), false),
            ((true, false, any6), (false, false, any4), true),
            ((true, true, any6), (false, false, any4), false),
            ((false, false, a4), (true, false, any6), true),
            ((true, false, any6), (true, false, any6), true),
            ((true, true, any6), (true, false, any6), true),
            ((true, true, any6), (true, true, a6), true),
            ((true, true, a6), (false, false, any4), false),
            ((true, false, a4), (false, false, a4), true),
            ((true, false, a4), (true, true, any6), false),
            ((true, false, a4), (true, false, any6), true),
        ];
        for ((f1, o1, a1), (f2, o2, a2), want) in cases {
            let p1 = bind_parts(&o(f1, o1), a1);
            let p2 = bind_parts(&o(f2, o2), a2);
            assert_eq!(addrs_overlap(p1, p2), want, "{a1} v6only={o1} vs {a2} v6only={o2}");
            assert_eq!(addrs_overlap(p2, p1), want);
        }
    }

    #[test]
    fn receive_matching_prefers_own_family() {
        let net = Net::new(0);
        let dual = Inet6Opts::new(&net, true);
        let mut only = dual;
        only.v6only = true;
        let four = Inet6Opts::new(&net, false);
        let d4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(match_local(&dual, v6("::"), d4), Some(1));
        assert_eq!(match_local(&only, v6("::"), d4), None);
        assert_eq!(match_local(&four, IpAddr::V4(Ipv4Addr::UNSPECIFIED), d4), Some(2));
        assert_eq!(match_local(&four, d4, d4), Some(6));
        assert_eq!(match_local(&dual, v6("::"), v6("2001:db8::1")), Some(2));
        assert_eq!(match_local(&four, IpAddr::V4(Ipv4Addr::UNSPECIFIED), v6("::1")), None);
    }

    #[test]
    fn options_values_and_errors() {
        let net = Net::new(0);
        let mut o = Inet6Opts::new(&net, true);
        let i = |v: i32| v.to_ne_bytes();
        let mut out = [0u8; 4];
        let get = |o: &Inet6Opts, name, out: &mut [u8; 4]| {
            o.getsockopt(&net, SOCK_DGRAM, name, out).unwrap().unwrap();
            i32::from_ne_bytes(*out)
        };
        assert_eq!(get(&o, IPV6_UNICAST_HOPS, &mut out), 64);
        assert_eq!(get(&o, IPV6_MULTICAST_HOPS, &mut out), 1);
        assert_eq!(get(&o, IPV6_V6ONLY, &mut out), 0);
        assert_eq!(get(&o, IPV6_MTU_DISCOVER, &mut out), IPV6_PMTUDISC_WANT);
        o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_UNICAST_HOPS, &i(7)).unwrap();
        assert_eq!(get(&o, IPV6_UNICAST_HOPS, &mut out), 7);
        let r = o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_UNICAST_HOPS, &i(256));
        assert_eq!(r, Err(Errno::EINVAL));
        let r = o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_UNICAST_HOPS, &[1]);
        assert_eq!(r, Err(Errno::EINVAL));
        let r = o.setsockopt(&net, SOCK_DGRAM, true, None, IPV6_V6ONLY, &i(1));
        assert_eq!(r, Err(Errno::EINVAL), "V6ONLY after bind");
        let r = o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_MTU, &i(1000));
        assert_eq!(r, Err(Errno::EINVAL));
        let r = o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_MULTICAST_LOOP, &i(2));
        assert_eq!(r, Err(Errno::EINVAL));
        let r = o.setsockopt(&net, SOCK_STREAM, false, None, IPV6_MULTICAST_HOPS, &i(2));
        assert_eq!(r, Ok(false), "ENOPROTOOPT on stream sockets");
        let r = o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_MULTICAST_IF, &i(9));
        assert_eq!(r, Err(Errno::ENODEV));
        o.setsockopt(&net, SOCK_STREAM, false, None, IPV6_TCLASS, &i(0x2b)).unwrap();
        assert_eq!(o.tclass, 0x28);
        o.setsockopt(&net, SOCK_DGRAM, false, None, IPV6_TCLASS, &i(-1)).unwrap();
        assert_eq!(o.tclass, 0);
    }

    #[test]
    fn icmp6_filter_bits() {
        let mut f = Icmp6Filter::default();
        let mut b = [0u8; 32];
        b[16] = 1; // type 128 (echo request)
        f.set(&b);
        assert!(f.blocks(128) && !f.blocks(129));
        let mut out = [0u8; 40];
        assert_eq!(f.get(&mut out), Ok(32));
        assert_eq!(out[16], 1);
    }
}
