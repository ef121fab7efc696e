//! Configuration that only travels over rtnetlink: IPv6 routes (`Kernel::route_add` takes
//! IPv4 ones) and IPv6 addresses with IFA_F_NODAD. The messages are what iproute2 sends
//! for `ip -6 route add` and `ip -6 addr add ... nodad` (rtnetlink(7)).

use libos_kernel::route::Route;
use libos_kernel::{Kernel, Nanos};
use std::net::{IpAddr, Ipv6Addr};

const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
/// NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE.
const NEW_FLAGS: u16 = 0x1 | 0x4 | 0x200 | 0x400;
const AF_INET6: u8 = 10;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_NODAD: u32 = 0x02;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_TABLE: u16 = 15;

/// One netlink request: header, fixed part, attributes (each padded to 4 bytes).
fn request(ty: u16, fixed: &[u8], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m.extend_from_slice(fixed);
    for (t, v) in attrs {
        m.extend_from_slice(&(4 + v.len() as u16).to_ne_bytes());
        m.extend_from_slice(&t.to_ne_bytes());
        m.extend_from_slice(v);
        m.resize(m.len().next_multiple_of(4), 0);
    }
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&ty.to_ne_bytes());
    m[6..8].copy_from_slice(&NEW_FLAGS.to_ne_bytes());
    m
}

/// The outcome of an acknowledged request: Ok, or the errno the kernel answered.
fn ack(reply: &[u8]) -> Result<(), String> {
    let ty = reply.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let err = reply.get(16..20).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (ty, err) {
        (Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (Some(NLMSG_ERROR), Some(e)) => {
            Err(format!("RTNETLINK answers: {}", libos_kernel::Errno(-e).name()))
        }
        _ => Err("no rtnetlink acknowledgement".into()),
    }
}

/// RTM_NEWADDR for `addr/len` on `ifindex` with IFA_F_NODAD: usable at once.
pub fn addr6_add_nodad(
    k: &mut Kernel,
    now: Nanos,
    ifindex: u32,
    addr: Ipv6Addr,
    len: u8,
) -> Result<(), String> {
    // struct ifaddrmsg: family, prefixlen, flags, scope, index.
    let mut fixed = vec![AF_INET6, len, IFA_F_NODAD as u8, 0];
    fixed.extend_from_slice(&ifindex.to_ne_bytes());
    let attrs =
        [(IFA_LOCAL, addr.octets().to_vec()), (IFA_FLAGS, IFA_F_NODAD.to_ne_bytes().to_vec())];
    ack(&k.netlink(now, &request(RTM_NEWADDR, &fixed, &attrs)))
}

/// `ip route add` for IPv4 routes, RTM_NEWROUTE (AF_INET6) for IPv6 ones: destination,
/// gateway, device, metric and table of `route` (single path).
pub fn route_add(k: &mut Kernel, now: Nanos, route: Route) -> Result<(), String> {
    let IpAddr::V6(dst) = route.dst else {
        return k.route_add(route).map_err(|e| format!("{e:?}"));
    };
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let table = u8::try_from(route.table).unwrap_or(0);
    let mut fixed = vec![AF_INET6, route.prefix_len, 0, 0, table, route.protocol, route.scope, 1];
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    let mut attrs = vec![(RTA_DST, dst.octets().to_vec())];
    if let Some(IpAddr::V6(g)) = route.gateway {
        attrs.push((RTA_GATEWAY, g.octets().to_vec()));
    }
    if let Some(o) = route.oif {
        attrs.push((RTA_OIF, o.to_ne_bytes().to_vec()));
    }
    if route.metric != 0 {
        attrs.push((RTA_PRIORITY, route.metric.to_ne_bytes().to_vec()));
    }
    attrs.push((RTA_TABLE, route.table.to_ne_bytes().to_vec()));
    ack(&k.netlink(now, &request(RTM_NEWROUTE, &fixed, &attrs)))
}
