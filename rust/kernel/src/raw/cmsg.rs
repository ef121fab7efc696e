//! Control messages given to sendmsg(2) on a datagram socket (`ip_cmsg_send`,
//! `ip6_datagram_send_ctl`): IP_PKTINFO / IPV6_PKTINFO pick the output device and source
//! address, IP_TTL / IPV6_HOPLIMIT and IP_TOS / IPV6_TCLASS override the socket's for one
//! packet. Routing daemons send every packet this way (bird: OSPF).

use crate::dev::IfIndex;
use crate::uapi::{SOL_IP, SOL_SOCKET};
use crate::{Errno, SysResult};
use std::net::{Ipv4Addr, Ipv6Addr};

const IP_TOS: i32 = 1;
const IP_TTL: i32 = 2;
const IP_PKTINFO: i32 = 8;
const SO_PRIORITY: i32 = 12;
const SO_MARK: i32 = 36;
const SO_TIMESTAMPING_OLD: i32 = 37;
const SCM_TXTIME: i32 = 61;
const SOL_IPV6: i32 = 41;
const IPV6_PKTINFO: i32 = 50;
const IPV6_HOPLIMIT: i32 = 52;
const IPV6_TCLASS: i32 = 67;
/// x86-64 `struct cmsghdr`: 8-byte `cmsg_len`, `cmsg_level`, `cmsg_type`.
const CMSG_HDR: usize = 16;

/// What the control messages of one send override (`struct ipcm_cookie`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCtl {
    /// `ipi_ifindex` of IP_PKTINFO, if not 0.
    pub oif: Option<IfIndex>,
    /// `ipi_spec_dst` of IP_PKTINFO, if not 0.0.0.0: the source address.
    pub src: Option<Ipv4Addr>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
    /// `ipi6_addr` of IPV6_PKTINFO, if not `::`: the source address.
    pub src6: Option<Ipv6Addr>,
}

fn int(data: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(data.get(..4)?.try_into().ok()?))
}

/// `ip_cmsg_send`: EINVAL for a malformed header, an unknown SOL_IP type, a bad TTL or
/// TOS, or a SOL_SOCKET message `__sock_cmsg_send` does not know (SO_MARK,
/// SO_TIMESTAMPING, SO_PRIORITY and SCM_TXTIME are accepted and have no effect here);
/// other levels are skipped as Linux skips them.
pub fn parse(control: &[u8]) -> SysResult<SendCtl> {
    let mut ctl = SendCtl::default();
    let mut rest = control;
    while rest.len() >= CMSG_HDR {
        let len = u64::from_ne_bytes(rest[..8].try_into().unwrap_or_default()) as usize;
        if len < CMSG_HDR || len > rest.len() {
            return Err(Errno::EINVAL);
        }
        let level = i32::from_ne_bytes(rest[8..12].try_into().unwrap_or_default());
        let ty = i32::from_ne_bytes(rest[12..16].try_into().unwrap_or_default());
        let data = &rest[CMSG_HDR..len];
        match (level, ty) {
            (SOL_IP, IP_PKTINFO) => {
                // struct in_pktinfo: ipi_ifindex, ipi_spec_dst, ipi_addr.
                if data.len() < 12 {
                    return Err(Errno::EINVAL);
                }
                let ifindex = int(data).ok_or(Errno::EINVAL)?;
                ctl.oif = u32::try_from(ifindex).ok().filter(|&i| i != 0);
                let spec = Ipv4Addr::new(data[4], data[5], data[6], data[7]);
                ctl.src = (!spec.is_unspecified()).then_some(spec);
            }
            (SOL_IP, IP_TTL) => {
                let v = int(data).ok_or(Errno::EINVAL)?;
                ctl.ttl = Some(u8::try_from(v).ok().filter(|&t| t >= 1).ok_or(Errno::EINVAL)?);
            }
            (SOL_IP, IP_TOS) => {
                // An int, or a single byte as some programs pass it.
                let v = if data.len() == 1 {
                    i32::from(data[0])
                } else {
                    int(data).ok_or(Errno::EINVAL)?
                };
                ctl.tos = Some(u8::try_from(v).map_err(|_| Errno::EINVAL)?);
            }
            (SOL_IPV6, IPV6_PKTINFO) => {
                // struct in6_pktinfo: ipi6_addr, ipi6_ifindex.
                if data.len() < 20 {
                    return Err(Errno::EINVAL);
                }
                let a = Ipv6Addr::from(<[u8; 16]>::try_from(&data[..16]).unwrap_or_default());
                ctl.src6 = (!a.is_unspecified()).then_some(a);
                let ifindex = int(&data[16..]).ok_or(Errno::EINVAL)?;
                ctl.oif = u32::try_from(ifindex).ok().filter(|&i| i != 0);
            }
            // `ip6_datagram_send_ctl`: -1 means the socket's value.
            (SOL_IPV6, IPV6_HOPLIMIT | IPV6_TCLASS) => {
                let v = int(data).filter(|_| data.len() == 4).ok_or(Errno::EINVAL)?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                let v = (v >= 0).then_some(v as u8);
                if ty == IPV6_HOPLIMIT { ctl.ttl = v } else { ctl.tos = v }
            }
            (SOL_SOCKET, SO_PRIORITY | SO_MARK | SO_TIMESTAMPING_OLD | SCM_TXTIME) => {}
            (SOL_IP, _) | (SOL_SOCKET, _) => return Err(Errno::EINVAL),
            _ => {}
        }
        rest = &rest[len.next_multiple_of(8).min(rest.len())..];
    }
    Ok(ctl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::inet::put_cmsg;

    fn pktinfo(ifindex: i32, spec: [u8; 4]) -> Vec<u8> {
        let mut d = ifindex.to_ne_bytes().to_vec();
        d.extend_from_slice(&spec);
        d.extend_from_slice(&[0; 4]);
        d
    }

    #[test]
    fn pktinfo_ttl_tos() {
        let mut c = Vec::new();
        put_cmsg(&mut c, SOL_IP, IP_PKTINFO, &pktinfo(3, [10, 0, 0, 1]));
        put_cmsg(&mut c, SOL_IP, IP_TTL, &7i32.to_ne_bytes());
        put_cmsg(&mut c, SOL_IP, IP_TOS, &[0xc0]);
        let ctl = parse(&c).unwrap();
        assert_eq!(
            ctl,
            SendCtl {
                oif: Some(3),
                src: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ttl: Some(7),
                tos: Some(0xc0),
                src6: None,
            }
        );
        let mut c = Vec::new();
        put_cmsg(&mut c, SOL_IP, IP_PKTINFO, &pktinfo(0, [0; 4]));
        assert_eq!(parse(&c), Ok(SendCtl::default()));
        assert_eq!(parse(&[]), Ok(SendCtl::default()));
    }

    #[test]
    fn bad_messages_are_einval() {
        let one = |level, ty, d: &[u8]| {
            let mut c = Vec::new();
            put_cmsg(&mut c, level, ty, d);
            parse(&c)
        };
        assert_eq!(one(SOL_IP, IP_TTL, &0i32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(one(SOL_IP, IP_TTL, &256i32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(one(SOL_IP, IP_TOS, &300i32.to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(one(SOL_IP, IP_PKTINFO, &[0; 8]), Err(Errno::EINVAL));
        assert_eq!(one(SOL_IP, 99, &[0; 4]), Err(Errno::EINVAL));
        assert_eq!(one(SOL_SOCKET, 1, &[0; 4]), Err(Errno::EINVAL));
        assert_eq!(one(SOL_SOCKET, SO_MARK, &[0; 4]), Ok(SendCtl::default()));
        assert_eq!(one(41, 99, &[0; 4]), Ok(SendCtl::default()), "other types skipped");
        assert_eq!(one(42, 50, &[0; 4]), Ok(SendCtl::default()), "other levels skipped");
        assert_eq!(one(41, 50, &[0; 4]), Err(Errno::EINVAL), "short in6_pktinfo");
        assert_eq!(one(41, 52, &256i32.to_ne_bytes()), Err(Errno::EINVAL));
        let mut p6 = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        p6.extend_from_slice(&4i32.to_ne_bytes());
        let c = one(41, 50, &p6).unwrap();
        assert_eq!((c.src6.unwrap().to_string(), c.oif), ("2001:db8::1".into(), Some(4)));
        assert_eq!(one(41, 52, &(-1i32).to_ne_bytes()).unwrap().ttl, None);
        assert_eq!(one(41, 67, &0x28i32.to_ne_bytes()).unwrap().tos, Some(0x28));
        // A length running past the buffer.
        let mut c = Vec::new();
        put_cmsg(&mut c, SOL_IP, IP_TTL, &7i32.to_ne_bytes());
        c[0] = 200;
        assert_eq!(parse(&c), Err(Errno::EINVAL));
    }
}
