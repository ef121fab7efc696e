//! RTM_{NEW,DEL,GET}ADDR for IPv6 (`addrconf.c`: `inet6_rtm_newaddr`,
//! `inet6_rtm_deladdr`, `inet6_dump_ifaddr`, `inet6_fill_ifaddr`).

use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::dev::Device;
use crate::ipv6::{AddrState, Ifaddr6};
use crate::net::Net;
use crate::route::{RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE};
use crate::wire::ipv6::is_link_local;
use crate::{Errno, Nanos};
use std::net::Ipv6Addr;

pub const AF_INET6: u8 = 10;
const IFA_F_NODAD: u32 = 0x02;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_DEPRECATED: u32 = 0x20;
const IFA_F_TENTATIVE: u32 = 0x40;
const IFA_F_STABLE_PRIVACY: u32 = 0x800;
/// Linux marks every address formed from an advertised prefix (`manage_tempaddrs`).
const IFA_F_MANAGETEMPADDR: u32 = 0x100;
const SEC: Nanos = 1_000_000_000;
const FOREVER: u32 = u32::MAX;

fn scope_of(a: Ipv6Addr) -> u8 {
    match a {
        a if a.is_loopback() => RT_SCOPE_HOST,
        a if is_link_local(a) => RT_SCOPE_LINK,
        _ => RT_SCOPE_UNIVERSE,
    }
}

/// A device's addresses in Linux's list order (`ipv6_link_dev_addr`): wider scope
/// first, the newest first within a scope.
fn in_list_order(v: &[Ifaddr6]) -> Vec<&Ifaddr6> {
    let mut out: Vec<&Ifaddr6> = v.iter().rev().collect();
    out.sort_by_key(|f| scope_of(f.addr));
    out
}

/// `ifa_flags` of an address (IFA_F_*), as `inet6_fill_ifaddr` and /proc/net/if_inet6
/// report them.
pub(crate) fn ifa_flags(f: &Ifaddr6, now: Nanos) -> u32 {
    let mut flags = if f.permanent { IFA_F_PERMANENT } else { IFA_F_MANAGETEMPADDR };
    if f.nodad {
        flags |= IFA_F_NODAD;
    }
    if f.deprecated(now) {
        flags |= IFA_F_DEPRECATED;
    }
    if f.stable {
        flags |= IFA_F_STABLE_PRIVACY;
    }
    match f.state {
        AddrState::Tentative => flags |= IFA_F_TENTATIVE,
        AddrState::DadFailed => flags |= IFA_F_TENTATIVE | IFA_F_DADFAILED,
        AddrState::Preferred => {}
    }
    flags
}

/// `ifp->scope` as /proc/net/if_inet6 prints it (IFA_HOST 0x10, IFA_LINK 0x20).
pub(crate) fn ifa_scope_bits(a: Ipv6Addr) -> u8 {
    match scope_of(a) {
        RT_SCOPE_HOST => 0x10,
        RT_SCOPE_LINK => 0x20,
        _ => 0,
    }
}

fn fill(ctx: &mut Ctx<'_>, d: &Device, f: &Ifaddr6, multi: bool) {
    let flags = ifa_flags(f, ctx.now);
    let h = ctx.header(RTM_NEWADDR, multi);
    let (now, stamp) = (ctx.now, (ctx.now / 10_000_000) as u32);
    let w = &mut *ctx.out;
    w.begin(h);
    IfAddrMsg {
        family: AF_INET6,
        prefix_len: f.prefix_len,
        flags: flags as u8,
        scope: scope_of(f.addr),
        index: d.ifindex,
    }
    .emit(w);
    w.attr(IFA_ADDRESS, &f.addr.octets());
    let left = |t: Option<Nanos>| t.map_or(FOREVER, |e| (e.saturating_sub(now) / SEC) as u32);
    let mut ci = Vec::with_capacity(16);
    // struct ifa_cacheinfo: ifa_prefered, ifa_valid, cstamp, tstamp.
    for v in [left(f.preferred_until), left(f.valid_until), stamp, stamp] {
        ci.extend_from_slice(&v.to_ne_bytes());
    }
    w.attr(IFA_CACHEINFO, &ci);
    w.attr_u32(IFA_FLAGS, flags);
    w.end();
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family != AF_UNSPEC && family != AF_INET6 {
        return;
    }
    for d in net.devs.iter() {
        let Some(v) = net.ipv6.addrs.get(&d.ifindex) else { continue };
        for f in in_list_order(v) {
            fill(ctx, d, f, true);
        }
    }
}

/// The address, prefix length, device and flags of a request.
fn parse(payload: &[u8]) -> NlResult<(IfAddrMsg, Ipv6Addr, u32)> {
    let ifm = IfAddrMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[IfAddrMsg::LEN..];
    let addr = |ty| -> NlResult<Option<Ipv6Addr>> {
        match find_attr(attrs, ty) {
            None => Ok(None),
            Some(b) => {
                let o: [u8; 16] = b.try_into().map_err(|_| Errno::EINVAL)?;
                Ok(Some(Ipv6Addr::from(o)))
            }
        }
    };
    // `extract_addr`: IFA_LOCAL wins over IFA_ADDRESS.
    let a = addr(IFA_LOCAL)?.or(addr(IFA_ADDRESS)?).ok_or(Errno::EINVAL)?;
    let flags = attr_u32(attrs, IFA_FLAGS)?.unwrap_or(u32::from(ifm.flags));
    Ok((ifm, a, flags))
}

/// `inet6_rtm_newaddr` → `inet6_addr_add`: tentative until DAD ends, unless `nodad`.
pub fn new(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let (ifm, a, flags) = parse(payload)?;
    if ifm.prefix_len > 128 {
        return Err(Errno::EINVAL.into());
    }
    net.devs.get(ifm.index).ok_or(NlError::msg(Errno::ENODEV, "Unable to find the device"))?;
    if net.ipv6.find(ifm.index, a).is_some() {
        if ctx.flags & NLM_F_EXCL != 0 || ctx.flags & NLM_F_REPLACE == 0 {
            return Err(NlError::msg(Errno::EEXIST, "ipv6: address already assigned"));
        }
        return Ok(());
    }
    if ctx.flags & NLM_F_CREATE == 0 {
        return Err(Errno::ENODEV.into());
    }
    net.addr6_add_flags(ctx.now, ifm.index, a, ifm.prefix_len, flags & IFA_F_NODAD != 0).map_err(
        |e| match e {
            Errno::EACCES => NlError::msg(e, "ipv6: IPv6 is disabled on this device"),
            e => e.into(),
        },
    )
}

/// `inet6_rtm_deladdr` → `inet6_addr_del`.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (ifm, a, _) = parse(payload)?;
    let not_found = NlError::msg(Errno::EADDRNOTAVAIL, "ipv6: address not found");
    net.addr6_del(ifm.index, a, ifm.prefix_len).map_err(|_| not_found)
}
