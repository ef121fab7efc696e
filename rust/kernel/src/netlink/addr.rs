//! RTM_{NEW,DEL,GET}ADDR for IPv4 (`devinet.c`: `inet_rtm_newaddr`,
//! `inet_rtm_deladdr`, `inet_dump_ifaddr`, `inet_fill_ifaddr`).

use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::Errno;
use crate::dev::{Device, Ifaddr4};
use crate::net::Net;
use crate::route::{RT_SCOPE_HOST, RT_SCOPE_UNIVERSE};
use std::net::{IpAddr, Ipv4Addr};

/// Lifetime that means "forever" (`INFINITY_LIFE_TIME`).
const FOREVER: u32 = u32::MAX;

/// IFA_F_SECONDARY as Linux assigns it: an earlier address of the device already
/// covers this one's subnet with the same prefix (`__inet_insert_ifa`).
fn is_secondary(d: &Device, i: usize) -> bool {
    let a = &d.addrs4[i];
    d.addrs4[..i].iter().any(|p| p.prefix_len == a.prefix_len && p.contains(a.addr))
}

/// Scope of an address: host for 127/8 (iproute2's `default_scope`), else global.
pub fn scope_of(a: Ipv4Addr) -> u8 {
    if a.is_loopback() { RT_SCOPE_HOST } else { RT_SCOPE_UNIVERSE }
}

fn fill(ctx: &mut Ctx<'_>, d: &Device, i: usize, multi: bool) {
    let ifa: &Ifaddr4 = &d.addrs4[i];
    let mut flags = IFA_F_PERMANENT;
    if is_secondary(d, i) {
        flags |= IFA_F_SECONDARY;
    }
    let h = ctx.header(RTM_NEWADDR, multi);
    let stamp = (ctx.now / 10_000_000) as u32;
    let w = &mut *ctx.out;
    w.begin(h);
    IfAddrMsg {
        family: AF_INET,
        prefix_len: ifa.prefix_len,
        flags: flags as u8,
        scope: scope_of(ifa.addr),
        index: d.ifindex,
    }
    .emit(w);
    w.attr(IFA_ADDRESS, &ifa.peer.unwrap_or(ifa.addr).octets());
    w.attr(IFA_LOCAL, &ifa.addr.octets());
    // Loopback addresses carry no broadcast attribute in Linux (none is configured).
    if let Some(b) = ifa.broadcast.filter(|_| !d.is_loopback()) {
        w.attr(IFA_BROADCAST, &b.octets());
    }
    w.attr_str(IFA_LABEL, &d.name);
    w.attr_u32(IFA_FLAGS, flags);
    let mut ci = Vec::with_capacity(16);
    for v in [FOREVER, FOREVER, stamp, stamp] {
        ci.extend_from_slice(&v.to_ne_bytes());
    }
    w.attr(IFA_CACHEINFO, &ci);
    w.end();
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family != AF_UNSPEC && family != AF_INET {
        return;
    }
    for d in net.devs.iter() {
        for i in 0..d.addrs4.len() {
            fill(ctx, d, i, true);
        }
    }
}

/// A NEWADDR/DELADDR request: header, attributes, IFA_LOCAL, IFA_ADDRESS.
type AddrReq<'a> = (IfAddrMsg, &'a [u8], Option<Ipv4Addr>, Option<Ipv4Addr>);

fn parse(payload: &[u8]) -> NlResult<AddrReq<'_>> {
    let ifm = IfAddrMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[IfAddrMsg::LEN..];
    let local = attr_in_addr(attrs, IFA_LOCAL)?;
    let address = attr_in_addr(attrs, IFA_ADDRESS)?;
    Ok((ifm, attrs, local, address))
}

/// `inet_rtm_newaddr`: EEXIST for a present address unless NLM_F_REPLACE.
pub fn new(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let (ifm, attrs, local, address) = parse(payload)?;
    if ifm.prefix_len > 32 {
        return Err(NlError::msg(Errno::EINVAL, "ipv4: Invalid prefix length"));
    }
    // `rtm_to_ifaddr`: IFA_LOCAL defaults to IFA_ADDRESS; one of them is required.
    let Some(a) = local.or(address) else {
        return Err(NlError::msg(Errno::EINVAL, "ipv4: Local address is not supplied"));
    };
    let d = net.devs.get(ifm.index).ok_or(NlError::msg(Errno::ENODEV, "ipv4: Device not found"))?;
    if d.addrs4.iter().any(|x| x.addr == a && x.prefix_len == ifm.prefix_len) {
        let f = ctx.flags;
        if f & NLM_F_EXCL != 0 || f & NLM_F_REPLACE == 0 {
            return Err(NlError::msg(Errno::EEXIST, "ipv4: Address already assigned"));
        }
        return Ok(());
    }
    if ctx.flags & NLM_F_CREATE == 0 {
        // Without NLM_F_CREATE only an existing address may be changed.
        return Err(Errno::ENOENT.into());
    }
    // IFA_ADDRESS other than IFA_LOCAL is the peer of a point-to-point link.
    let peer = address.filter(|&p| local.is_some() && p != a);
    let broadcast = attr_in_addr(attrs, IFA_BROADCAST)?;
    let ifa = Ifaddr4 { addr: a, prefix_len: ifm.prefix_len, peer, broadcast };
    net.ifaddr_add(ctx.now, ifm.index, ifa)?;
    Ok(())
}

/// `inet_rtm_deladdr`: the first address matching every given selector.
pub fn del(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let (ifm, attrs, local, address) = parse(payload)?;
    let label = attr_name(attrs, IFA_LABEL)?;
    let not_found = NlError::msg(Errno::EADDRNOTAVAIL, "ipv4: Address not found");
    let d = net.devs.get(ifm.index).ok_or(Errno::ENODEV)?;
    let found = d.addrs4.iter().find(|x| {
        local.is_none_or(|l| l == x.addr)
            && label.as_ref().is_none_or(|l| *l == d.name)
            && address.is_none_or(|a| ifm.prefix_len == x.prefix_len && x.contains(a))
    });
    let x = *found.ok_or(not_found)?;
    net.addr_del(ctx.now, ifm.index, IpAddr::V4(x.addr), x.prefix_len)?;
    Ok(())
}
