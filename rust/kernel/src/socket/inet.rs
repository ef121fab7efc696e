//! SOL_IP options every IPv4 socket shares (Linux `do_ip_setsockopt` /
//! `do_ip_getsockopt`): TTL, TOS, path-MTU discovery mode, IP_HDRINCL for raw sockets,
//! IP_RECVERR and the receive-ancillary flags. TCP, UDP and raw all call these.

use crate::dev::prefix_mask;
use crate::net::Net;
use crate::socket::options::{put_bytes, put_int};
use crate::uapi::*;
use crate::{Errno, SysResult};
use std::net::{IpAddr, Ipv4Addr};

/// Options without a uapi.rs constant yet (values from Linux `include/uapi/linux/in.h`).
pub const IP_PKTINFO: i32 = 8;
pub const IP_RECVTTL: i32 = 12;
pub const IP_RECVTOS: i32 = 13;
pub const IP_FREEBIND: i32 = 15;
pub const IP_TRANSPARENT: i32 = 19;
pub const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
pub const IP_MULTICAST_IF: i32 = 32;
pub const IP_MULTICAST_TTL: i32 = 33;
pub const IP_MULTICAST_LOOP: i32 = 34;
pub const IP_ADD_MEMBERSHIP: i32 = 35;
pub const IP_DROP_MEMBERSHIP: i32 = 36;
pub const IP_MULTICAST_ALL: i32 = 49;
/// `net.ipv4.igmp_max_memberships` default: groups one socket may join.
pub const IP_MAX_MEMBERSHIPS: usize = 20;
/// Highest valid IP_MTU_DISCOVER mode (`IP_PMTUDISC_OMIT`).
pub const IP_PMTUDISC_OMIT: i32 = 5;

/// Per-socket IPv4 state (`struct inet_sock` fields).
#[derive(Debug, Clone, Copy)]
pub struct InetOpts {
    /// IP_TTL; None = `net.ipv4.ip_default_ttl`.
    pub ttl: Option<u8>,
    pub tos: u8,
    /// IP_MTU_DISCOVER mode (IP_PMTUDISC_*).
    pub pmtudisc: i32,
    /// IP_HDRINCL (raw sockets only; IPPROTO_RAW sockets start with it on).
    pub hdrincl: bool,
    pub recverr: bool,
    pub pktinfo: bool,
    pub recvttl: bool,
    pub recvtos: bool,
    pub freebind: bool,
    pub transparent: bool,
    pub bind_address_no_port: bool,
    pub mc_ttl: u8,
    pub mc_loop: bool,
    /// IP_MULTICAST_ALL: multicast to sockets that joined no group (Linux default on).
    pub mc_all: bool,
    /// IP_MULTICAST_IF: device and source address for multicast sends.
    pub mc_index: Option<u32>,
    pub mc_addr: Ipv4Addr,
}

impl InetOpts {
    /// Defaults of a new socket: PMTU discovery per `ip_no_pmtu_disc` (Linux
    /// `inet_create`: `IP_PMTUDISC_DONT` if set, else `IP_PMTUDISC_WANT`).
    pub fn new(net: &Net) -> InetOpts {
        let pmtudisc =
            if net.sysctl.ipv4.ip_no_pmtu_disc != 0 { IP_PMTUDISC_DONT } else { IP_PMTUDISC_WANT };
        InetOpts {
            ttl: None,
            tos: 0,
            pmtudisc,
            hdrincl: false,
            recverr: false,
            pktinfo: false,
            recvttl: false,
            recvtos: false,
            freebind: false,
            transparent: false,
            bind_address_no_port: false,
            mc_ttl: 1,
            mc_loop: true,
            mc_all: true,
            mc_index: None,
            mc_addr: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// The TTL to send with.
    pub fn ttl(&self, net: &Net) -> u8 {
        self.ttl.unwrap_or(net.sysctl.ipv4.ip_default_ttl)
    }

    /// Linux `ip_dont_fragment`-like decision for a packet of `total_len` IP bytes on a
    /// path of `mtu`: DO and PROBE always set DF; WANT sets it only if the packet fits
    /// (`__ip_make_skb`); DONT and OMIT never do.
    pub fn dont_frag(&self, total_len: usize, mtu: u32) -> bool {
        match self.pmtudisc {
            IP_PMTUDISC_DO | 3 => true,
            IP_PMTUDISC_WANT => total_len <= mtu as usize,
            _ => false,
        }
    }

    /// True when a packet larger than the path MTU must fail with EMSGSIZE instead of
    /// being fragmented (IP_PMTUDISC_DO / PROBE).
    pub fn forbids_fragments(&self) -> bool {
        matches!(self.pmtudisc, IP_PMTUDISC_DO | 3)
    }

    /// Handles a SOL_IP option. `sock_type` is SOCK_STREAM/DGRAM/RAW. Returns
    /// `Ok(false)` for names the protocol must handle itself.
    pub fn setsockopt(&mut self, sock_type: i32, name: i32, val: &[u8]) -> SysResult<bool> {
        // `do_ip_setsockopt`: int-valued options accept an int, or a single byte.
        let v = match val.len() {
            0 => return Err(Errno::EINVAL),
            1..=3 => i32::from(val[0]),
            _ => i32::from_ne_bytes([val[0], val[1], val[2], val[3]]),
        };
        match name {
            IP_TTL => {
                if v != -1 && !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.ttl = (v != -1).then_some(v as u8);
            }
            IP_TOS => {
                // Linux keeps the ECN bits under TCP's control on stream sockets.
                let mut t = v as u8;
                if sock_type == SOCK_STREAM {
                    t = (t & !0x03) | (self.tos & 0x03);
                }
                self.tos = t;
            }
            IP_MTU_DISCOVER => {
                if !(IP_PMTUDISC_DONT..=IP_PMTUDISC_OMIT).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.pmtudisc = v;
            }
            IP_HDRINCL => {
                if sock_type != SOCK_RAW {
                    return Err(Errno::ENOPROTOOPT);
                }
                self.hdrincl = v != 0;
            }
            IP_RECVERR => self.recverr = v != 0,
            IP_PKTINFO => self.pktinfo = v != 0,
            IP_RECVTTL => self.recvttl = v != 0,
            IP_RECVTOS => self.recvtos = v != 0,
            IP_FREEBIND => self.freebind = v != 0,
            IP_TRANSPARENT => self.transparent = v != 0,
            IP_BIND_ADDRESS_NO_PORT => self.bind_address_no_port = v != 0,
            IP_MULTICAST_TTL => {
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.mc_ttl = if v == -1 { 1 } else { v as u8 };
            }
            IP_MULTICAST_LOOP => self.mc_loop = v != 0,
            IP_MULTICAST_ALL => self.mc_all = v != 0,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads a SOL_IP option; `None` if the protocol must answer it (IP_MTU needs the
    /// route, so the protocol answers it).
    pub fn getsockopt(&self, net: &Net, name: i32, out: &mut [u8]) -> Option<SysResult<usize>> {
        let v = match name {
            IP_TTL => i32::from(self.ttl(net)),
            IP_TOS => i32::from(self.tos),
            IP_MTU_DISCOVER => self.pmtudisc,
            IP_HDRINCL => self.hdrincl as i32,
            IP_RECVERR => self.recverr as i32,
            IP_PKTINFO => self.pktinfo as i32,
            IP_RECVTTL => self.recvttl as i32,
            IP_RECVTOS => self.recvtos as i32,
            IP_FREEBIND => self.freebind as i32,
            IP_TRANSPARENT => self.transparent as i32,
            IP_BIND_ADDRESS_NO_PORT => self.bind_address_no_port as i32,
            IP_MULTICAST_TTL => i32::from(self.mc_ttl),
            IP_MULTICAST_LOOP => self.mc_loop as i32,
            IP_MULTICAST_ALL => self.mc_all as i32,
            IP_MULTICAST_IF => return Some(put_bytes(out, &self.mc_addr.octets())),
            _ => return None,
        };
        Some(put_int(out, v))
    }
}

/// `struct ip_mreqn` (12 bytes: group, address, ifindex) or the older `struct
/// ip_mreq` (8 bytes: group, interface address), as `do_ip_setsockopt` accepts both.
fn parse_mreq(val: &[u8]) -> SysResult<(Ipv4Addr, Ipv4Addr, u32)> {
    let addr = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    match val.len() {
        12.. => {
            let idx = i32::from_ne_bytes([val[8], val[9], val[10], val[11]]);
            Ok((addr(&val[0..4]), addr(&val[4..8]), idx.max(0) as u32))
        }
        8..12 => Ok((addr(&val[0..4]), addr(&val[4..8]), 0)),
        _ => Err(Errno::EINVAL),
    }
}

/// The device an `ip_mreqn` names (Linux `ip_mc_find_dev`): by index, else by one
/// of its addresses, else by the route toward the group.
fn mreq_dev(net: &Net, group: Ipv4Addr, addr: Ipv4Addr, ifindex: u32) -> SysResult<u32> {
    if ifindex != 0 {
        return net.devs.get(ifindex).map(|d| d.ifindex).ok_or(Errno::ENODEV);
    }
    if !addr.is_unspecified() {
        return net
            .devs
            .iter()
            .find(|d| d.addrs4.iter().any(|ia| ia.addr == addr))
            .map(|d| d.ifindex)
            .ok_or(Errno::ENODEV);
    }
    net.route_output(IpAddr::V4(group), None).map(|r| r.oif).map_err(|_| Errno::ENODEV)
}

/// The multicast groups a datagram socket joined (`inet->mc_list`). IGMP reports
/// are the IP layer's business; this decides which sockets hear a group.
#[derive(Debug, Clone, Default)]
pub struct McastGroups(Vec<(Ipv4Addr, u32)>);

impl McastGroups {
    /// Leaves every group (`ip_mc_drop_socket`, on close).
    pub fn drop_all(&mut self, now: crate::Nanos, net: &mut Net) {
        for (group, dev) in self.0.drain(..) {
            net.mc_leave(now, dev, group);
        }
    }

    /// True if the socket joined `group` on `ifindex`.
    pub fn joined(&self, group: Ipv4Addr, ifindex: u32) -> bool {
        self.0.iter().any(|&(g, i)| g == group && i == ifindex)
    }

    /// Linux `ip_mc_sf_allow`: a socket that did not join the group on that device
    /// hears it only with IP_MULTICAST_ALL.
    pub fn allows(&self, opts: &InetOpts, group: Ipv4Addr, ifindex: u32) -> bool {
        opts.mc_all || self.joined(group, ifindex)
    }

    /// IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP (`ip_mc_join_group`,
    /// `ip_mc_leave_group`) and IP_MULTICAST_IF (which needs the device table).
    /// `Ok(false)` for other names.
    pub fn setsockopt(
        &mut self,
        now: crate::Nanos,
        net: &mut Net,
        opts: &mut InetOpts,
        name: i32,
        val: &[u8],
    ) -> SysResult<bool> {
        match name {
            IP_ADD_MEMBERSHIP | IP_DROP_MEMBERSHIP => {
                let (group, addr, idx) = parse_mreq(val)?;
                if !group.is_multicast() {
                    return Err(Errno::EINVAL);
                }
                let dev = mreq_dev(net, group, addr, idx)?;
                let pos = self.0.iter().position(|&(g, i)| g == group && i == dev);
                match (name, pos) {
                    (IP_ADD_MEMBERSHIP, Some(_)) => return Err(Errno::EADDRINUSE),
                    (IP_ADD_MEMBERSHIP, None) if self.0.len() >= IP_MAX_MEMBERSHIPS => {
                        return Err(Errno::ENOBUFS);
                    }
                    (IP_ADD_MEMBERSHIP, None) => {
                        self.0.push((group, dev));
                        net.mc_join(now, dev, group);
                    }
                    (_, Some(p)) => {
                        self.0.remove(p);
                        net.mc_leave(now, dev, group);
                    }
                    (_, None) => return Err(Errno::EADDRNOTAVAIL),
                }
            }
            IP_MULTICAST_IF => {
                // An `ip_mreqn`, an `ip_mreq`, or a bare `in_addr`.
                let (addr, idx) = match val.len() {
                    8.. => {
                        let (_, a, i) = parse_mreq(val)?;
                        (a, i)
                    }
                    4..8 => (Ipv4Addr::new(val[0], val[1], val[2], val[3]), 0),
                    _ => return Err(Errno::EINVAL),
                };
                if addr.is_unspecified() && idx == 0 {
                    opts.mc_index = None;
                    opts.mc_addr = addr;
                    return Ok(true);
                }
                let dev = mreq_dev(net, Ipv4Addr::UNSPECIFIED, addr, idx)
                    .map_err(|_| Errno::EADDRNOTAVAIL)?;
                opts.mc_index = Some(dev);
                opts.mc_addr = addr;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// True if `a` is the limited broadcast or the directed broadcast of one of our
/// subnets (Linux `inet_addr_type` == RTN_BROADCAST).
pub fn is_broadcast(net: &Net, a: Ipv4Addr) -> bool {
    a.is_broadcast()
        || net.devs.iter().flat_map(|d| d.addrs4.iter()).any(|ia| {
            ia.broadcast == Some(a)
                || (ia.prefix_len < 31
                    && a == Ipv4Addr::from(u32::from(ia.network()) | !prefix_mask(ia.prefix_len)))
        })
}

/// The address check of bind(2) (Linux `inet_addr_valid_or_nonlocal`): the wildcard,
/// one of our addresses, a multicast or broadcast address; anything else only with
/// `ip_nonlocal_bind`, IP_FREEBIND or IP_TRANSPARENT.
pub fn check_bind_addr(net: &Net, opts: &InetOpts, a: Ipv4Addr) -> SysResult<()> {
    let ok = a.is_unspecified()
        || a.is_multicast()
        || net.is_local_addr(IpAddr::V4(a))
        || is_broadcast(net, a)
        || net.sysctl.ipv4.ip_nonlocal_bind
        || opts.freebind
        || opts.transparent;
    if ok { Ok(()) } else { Err(Errno::EADDRNOTAVAIL) }
}

/// `SOL_IP` control message types.
const CMSG_IP_TOS: i32 = 1;
const CMSG_IP_TTL: i32 = 2;

/// Appends one `struct cmsghdr` (x86-64: 8-byte length, level, type) and its data,
/// padded to 8 bytes (`put_cmsg`, `CMSG_ALIGN`).
pub fn put_cmsg(out: &mut Vec<u8>, level: i32, ty: i32, data: &[u8]) {
    out.extend_from_slice(&((16 + data.len()) as u64).to_ne_bytes());
    out.extend_from_slice(&level.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(8), 0);
}

impl InetOpts {
    /// Linux `ip_cmsg_recv_offset`: the IP control messages the socket asked for,
    /// in Linux's order (IP_PKTINFO, IP_TTL, IP_TOS).
    pub fn cmsg_recv(&self, net: &Net, from: Ipv4Addr, info: &super::dgram::RxInfo) -> Vec<u8> {
        let mut out = Vec::new();
        let IpAddr::V4(dst) = info.dst else { return out };
        if self.pktinfo {
            // `fib_compute_spec_dst`: the destination for local unicast, else the address
            // we would answer from.
            let spec_dst = if info.multicast_or_broadcast || dst.is_multicast() {
                net.select_addr(info.ifindex, IpAddr::V4(from)).unwrap_or(Ipv4Addr::UNSPECIFIED)
            } else {
                dst
            };
            let mut d = [0u8; 12];
            d[..4].copy_from_slice(&(info.ifindex as i32).to_ne_bytes());
            d[4..8].copy_from_slice(&spec_dst.octets());
            d[8..].copy_from_slice(&dst.octets());
            put_cmsg(&mut out, SOL_IP, IP_PKTINFO, &d);
        }
        if self.recvttl {
            put_cmsg(&mut out, SOL_IP, CMSG_IP_TTL, &i32::from(info.ttl).to_ne_bytes());
        }
        if self.recvtos {
            put_cmsg(&mut out, SOL_IP, CMSG_IP_TOS, &[info.tos]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rules() {
        let net = Net::new(0);
        let mut o = InetOpts::new(&net);
        assert_eq!(o.ttl(&net), 64);
        o.setsockopt(SOCK_DGRAM, IP_TTL, &7i32.to_ne_bytes()).unwrap();
        assert_eq!(o.ttl(&net), 7);
        assert_eq!(o.setsockopt(SOCK_DGRAM, IP_TTL, &0i32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(o.setsockopt(SOCK_DGRAM, IP_TTL, &256i32.to_ne_bytes()), Err(Errno::EINVAL));
        o.setsockopt(SOCK_DGRAM, IP_TTL, &(-1i32).to_ne_bytes()).unwrap();
        assert_eq!(o.ttl(&net), 64);
        // A single byte is accepted too.
        o.setsockopt(SOCK_DGRAM, IP_TTL, &[9]).unwrap();
        assert_eq!(o.ttl(&net), 9);
    }

    #[test]
    fn hdrincl_only_on_raw_and_pmtu_range() {
        let net = Net::new(0);
        let mut o = InetOpts::new(&net);
        let one = 1i32.to_ne_bytes();
        assert_eq!(o.setsockopt(SOCK_DGRAM, IP_HDRINCL, &one), Err(Errno::ENOPROTOOPT));
        assert!(o.setsockopt(SOCK_RAW, IP_HDRINCL, &one).unwrap());
        assert_eq!(
            o.setsockopt(SOCK_RAW, IP_MTU_DISCOVER, &6i32.to_ne_bytes()),
            Err(Errno::EINVAL)
        );
        assert_eq!(o.pmtudisc, IP_PMTUDISC_WANT);
        assert!(o.dont_frag(1500, 1500) && !o.dont_frag(1501, 1500));
    }

    #[test]
    fn multicast_membership_rules() {
        let mut net = Net::new(0);
        let i = net
            .devs
            .add(crate::dev::DeviceConfig::ethernet("eth0", crate::wire::EthernetAddress::local(1)))
            .unwrap();
        let mut o = InetOpts::new(&net);
        let mut g = McastGroups::default();
        let mreqn = |group: [u8; 4], idx: i32| [&group[..], &[0; 4], &idx.to_ne_bytes()].concat();
        let ospf = mreqn([224, 0, 0, 5], i as i32);
        assert!(g.setsockopt(0, &mut net, &mut o, IP_ADD_MEMBERSHIP, &ospf).unwrap());
        assert!(g.joined(Ipv4Addr::new(224, 0, 0, 5), i));
        let r = g.setsockopt(0, &mut net, &mut o, IP_ADD_MEMBERSHIP, &ospf);
        assert_eq!(r, Err(Errno::EADDRINUSE));
        let r =
            g.setsockopt(0, &mut net, &mut o, IP_ADD_MEMBERSHIP, &mreqn([10, 0, 0, 1], i as i32));
        assert_eq!(r, Err(Errno::EINVAL));
        let r = g.setsockopt(0, &mut net, &mut o, IP_ADD_MEMBERSHIP, &mreqn([224, 0, 0, 6], 99));
        assert_eq!(r, Err(Errno::ENODEV));
        assert_eq!(
            g.setsockopt(0, &mut net, &mut o, IP_ADD_MEMBERSHIP, &[0; 4]),
            Err(Errno::EINVAL)
        );
        o.mc_all = false;
        assert!(!g.allows(&o, Ipv4Addr::new(224, 0, 0, 6), i));
        g.setsockopt(0, &mut net, &mut o, IP_DROP_MEMBERSHIP, &ospf).unwrap();
        let r = g.setsockopt(0, &mut net, &mut o, IP_DROP_MEMBERSHIP, &ospf);
        assert_eq!(r, Err(Errno::EADDRNOTAVAIL));
        // IP_MULTICAST_IF by index; a bare unknown address is EADDRNOTAVAIL.
        g.setsockopt(0, &mut net, &mut o, IP_MULTICAST_IF, &mreqn([0; 4], i as i32)).unwrap();
        assert_eq!(o.mc_index, Some(i));
        let r = g.setsockopt(0, &mut net, &mut o, IP_MULTICAST_IF, &[10, 9, 9, 9]);
        assert_eq!(r, Err(Errno::EADDRNOTAVAIL));
        g.setsockopt(0, &mut net, &mut o, IP_MULTICAST_IF, &[0; 4]).unwrap();
        assert_eq!(o.mc_index, None);
    }

    #[test]
    fn tos_keeps_ecn_on_stream() {
        let net = Net::new(0);
        let mut o = InetOpts::new(&net);
        o.setsockopt(SOCK_STREAM, IP_TOS, &0x13i32.to_ne_bytes()).unwrap();
        assert_eq!(o.tos, 0x10);
        o.setsockopt(SOCK_DGRAM, IP_TOS, &0x13i32.to_ne_bytes()).unwrap();
        assert_eq!(o.tos, 0x13);
    }
}
