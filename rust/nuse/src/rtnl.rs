//! IPv6 routes of NUSECONF, installed as `ip -6 route add` does it: one RTM_NEWROUTE
//! through the kernel's rtnetlink (`Kernel::netlink`), since `Kernel::route_add` takes
//! IPv4 routes only.

use libos_kernel::{Errno, IfIndex, Kernel};
use std::net::Ipv6Addr;

const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
/// NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE.
const NEW_FLAGS: u16 = 0x1 | 0x4 | 0x200 | 0x400;
const AF_INET6: u8 = 10;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RTN_UNICAST: u8 = 1;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;

fn attr(msg: &mut Vec<u8>, ty: u16, data: &[u8]) {
    msg.extend_from_slice(&(4 + data.len() as u16).to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(data);
    msg.resize(msg.len().next_multiple_of(4), 0);
}

/// The RTM_NEWROUTE request of `ip -6 route add DST/LEN [via GW] [dev OIF]`.
pub fn new_route6(dst: Ipv6Addr, len: u8, gw: Option<Ipv6Addr>, oif: Option<IfIndex>) -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m[4..6].copy_from_slice(&RTM_NEWROUTE.to_ne_bytes());
    m[6..8].copy_from_slice(&NEW_FLAGS.to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    m.extend_from_slice(&[AF_INET6, len, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST]);
    m.extend_from_slice(&0u32.to_ne_bytes());
    if len > 0 {
        attr(&mut m, RTA_DST, &dst.octets());
    }
    if let Some(g) = gw {
        attr(&mut m, RTA_GATEWAY, &g.octets());
    }
    if let Some(o) = oif {
        attr(&mut m, RTA_OIF, &o.to_ne_bytes());
    }
    let n = m.len() as u32;
    m[..4].copy_from_slice(&n.to_ne_bytes());
    m
}

/// The errno of the NLMSG_ERROR ack in `reply` (Ok for error 0).
pub fn ack(reply: &[u8]) -> Result<(), Errno> {
    let ty = reply.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let code = reply.get(16..20).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (ty, code) {
        (Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (Some(NLMSG_ERROR), Some(e)) => Err(Errno(-e)),
        _ => Err(Errno::EPROTO),
    }
}

/// Adds an IPv6 route to `k`'s main table.
pub fn route6_add(
    k: &mut Kernel,
    dst: Ipv6Addr,
    len: u8,
    gw: Option<Ipv6Addr>,
    oif: Option<IfIndex>,
) -> Result<(), Errno> {
    ack(&k.netlink(0, &new_route6(dst, len, gw, oif)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libos_kernel::{DeviceConfig, EthernetAddress, KernelConfig};
    use std::net::IpAddr;

    #[test]
    fn adds_a_v6_default_route_and_reports_errors() {
        let mut k = Kernel::new(KernelConfig { seed: 1 });
        let i = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(7))).unwrap();
        // No DAD: the address is usable (a source) at once.
        k.sysctl_set("net.ipv6.conf.eth0.accept_dad", "0").unwrap();
        k.dev_set_up(0, i, true).unwrap();
        let a: Ipv6Addr = "2001:db8::2".parse().unwrap();
        k.addr_add(0, i, IpAddr::V6(a), 64).unwrap();
        let gw: Ipv6Addr = "2001:db8::1".parse().unwrap();
        route6_add(&mut k, Ipv6Addr::UNSPECIFIED, 0, Some(gw), None).unwrap();
        assert_eq!(
            route6_add(&mut k, Ipv6Addr::UNSPECIFIED, 0, Some(gw), None),
            Err(Errno::EEXIST)
        );
        let far: Ipv6Addr = "2001:db8:5::9".parse().unwrap();
        let out = k.route_get(IpAddr::V6(far)).unwrap();
        assert_eq!((out.oif, out.next_hop), (i, IpAddr::V6(gw)));
        let unreachable: Ipv6Addr = "2001:db9::1".parse().unwrap();
        assert!(route6_add(&mut k, unreachable, 64, Some(far), None).is_err());
    }
}
