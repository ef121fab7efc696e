//! RTM_{NEW,DEL,GET}NEIGH for ARP and NDP (`neighbour.c`: `neigh_add`, `neigh_delete`,
//! `neigh_dump_table`, `neigh_fill_info`). Only administrator entries can be added (ARP):
//! NUD_PERMANENT (or NUD_NOARP, kept as permanent). Dumps list the ARP table, then NDP's.

use super::addr6::AF_INET6;
use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::Errno;
use crate::neigh::{Neighbour, NudState};
use crate::net::Net;
use crate::wire::EthernetAddress;

/// `NTF_ROUTER`: the neighbour is a router (NDP).
const NTF_ROUTER: u8 = 0x80;
use std::net::{IpAddr, Ipv6Addr};

pub fn nud_of(s: NudState) -> u16 {
    match s {
        NudState::Incomplete => NUD_INCOMPLETE,
        NudState::Reachable => NUD_REACHABLE,
        NudState::Stale => NUD_STALE,
        NudState::Delay => NUD_DELAY,
        NudState::Probe => NUD_PROBE,
        NudState::Failed => NUD_FAILED,
        NudState::Permanent => NUD_PERMANENT,
    }
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    let v4 = net.neigh.iter().filter(|(k, _)| k.1.is_ipv4());
    let v6 = net.neigh.iter().filter(|(k, _)| k.1.is_ipv6());
    let tables = [(AF_INET, v4.collect::<Vec<_>>()), (AF_INET6, v6.collect())];
    for (fam, entries) in tables {
        if family != AF_UNSPEC && family != fam {
            continue;
        }
        for (&(ifindex, addr), n) in entries {
            fill(ctx, net, ifindex, addr, n);
        }
    }
}

/// `neigh_fill_info` for one entry; NTF_ROUTER for a default router learned by NDP.
fn fill(ctx: &mut Ctx<'_>, net: &Net, ifindex: u32, addr: IpAddr, n: &Neighbour) {
    let router =
        net.ipv6.routers.iter().any(|r| (IpAddr::V6(r.addr), r.ifindex) == (addr, ifindex));
    let flags = if router { NTF_ROUTER } else { 0 };
    let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
    let h = ctx.header(RTM_NEWNEIGH, true);
    let w = &mut *ctx.out;
    w.begin(h);
    let state = nud_of(n.state);
    NdMsg { family, ifindex: ifindex as i32, state, flags, kind: RTN_UNICAST }.emit(w);
    match addr {
        IpAddr::V4(a) => w.attr(NDA_DST, &a.octets()),
        IpAddr::V6(a) => w.attr(NDA_DST, &a.octets()),
    }
    if let Some(m) = n.lladdr {
        w.attr(NDA_LLADDR, &m.0);
    }
    // struct nda_cacheinfo: confirmed, used, updated, refcnt (ages in clock ticks).
    w.attr(NDA_CACHEINFO, &[0u8; 16]);
    w.attr_u32(NDA_PROBES, 0);
    w.end();
}

fn parse(payload: &[u8]) -> NlResult<(NdMsg, &[u8], IpAddr)> {
    let nd = NdMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[NdMsg::LEN..];
    let missing = || NlError::msg(Errno::EINVAL, "Network address not specified");
    let dst = match nd.family {
        AF_INET => IpAddr::V4(attr_in_addr(attrs, NDA_DST)?.ok_or_else(missing)?),
        AF_INET6 => {
            let d = find_attr(attrs, NDA_DST).ok_or_else(missing)?;
            let o: [u8; 16] = d.get(..16).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?;
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return Err(Errno::EAFNOSUPPORT.into()),
    };
    Ok((nd, attrs, dst))
}

/// `neigh_add`: EEXIST with NLM_F_EXCL on a present entry, ENOENT without CREATE.
pub fn new(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let (nd, attrs, dst) = parse(payload)?;
    let ifindex = u32::try_from(nd.ifindex).unwrap_or(0);
    if ifindex == 0 {
        return Err(NlError::msg(Errno::EINVAL, "Device not specified"));
    }
    net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
    let mac = match find_attr(attrs, NDA_LLADDR) {
        Some(m) if m.len() == 6 => EthernetAddress([m[0], m[1], m[2], m[3], m[4], m[5]]),
        Some(_) => return Err(NlError::msg(Errno::EINVAL, "Invalid link address")),
        None => return Err(Errno::EINVAL.into()),
    };
    if nd.state & (NUD_PERMANENT | NUD_NOARP) == 0 {
        // Dynamic states set by hand (`nud reachable|stale`) are not supported.
        return Err(Errno::EOPNOTSUPP.into());
    }
    let present = net.neigh.get(ifindex, dst).is_some();
    if present && ctx.flags & NLM_F_EXCL != 0 {
        return Err(Errno::EEXIST.into());
    }
    if !present && ctx.flags & NLM_F_CREATE == 0 {
        return Err(Errno::ENOENT.into());
    }
    match dst {
        IpAddr::V6(a) => net.neigh6_add(ifindex, a, mac)?,
        v4 => net.neigh_add(ifindex, v4, mac)?,
    }
    Ok(())
}

/// `neigh_delete`: ENOENT if absent.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (nd, _, dst) = parse(payload)?;
    let ifindex = u32::try_from(nd.ifindex).unwrap_or(0);
    net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
    net.neigh_del(ifindex, dst)?;
    net.notify.neigh_deleted(ifindex, dst);
    Ok(())
}
