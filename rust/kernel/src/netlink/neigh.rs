//! RTM_{NEW,DEL,GET}NEIGH for ARP (`neighbour.c`: `neigh_add`, `neigh_delete`,
//! `neigh_dump_table`, `neigh_fill_info`). Only administrator entries can be added:
//! NUD_PERMANENT (or NUD_NOARP, kept as permanent).

use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::Errno;
use crate::neigh::NudState;
use crate::net::Net;
use crate::wire::EthernetAddress;
use std::net::{IpAddr, Ipv4Addr};

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
    if family != AF_UNSPEC && family != AF_INET {
        return;
    }
    for (&(ifindex, addr), n) in net.neigh.iter() {
        let IpAddr::V4(a) = addr else { continue };
        let h = ctx.header(RTM_NEWNEIGH, true);
        let w = &mut *ctx.out;
        w.begin(h);
        let state = nud_of(n.state);
        NdMsg { family: AF_INET, ifindex: ifindex as i32, state, flags: 0, kind: RTN_UNICAST }
            .emit(w);
        w.attr(NDA_DST, &a.octets());
        if let Some(m) = n.lladdr {
            w.attr(NDA_LLADDR, &m.0);
        }
        // struct nda_cacheinfo: confirmed, used, updated, refcnt (ages in clock ticks).
        w.attr(NDA_CACHEINFO, &[0u8; 16]);
        w.attr_u32(NDA_PROBES, 0);
        w.end();
    }
}

fn parse(payload: &[u8]) -> NlResult<(NdMsg, &[u8], Ipv4Addr)> {
    let nd = NdMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let attrs = &payload[NdMsg::LEN..];
    if nd.family != AF_INET {
        return Err(Errno::EAFNOSUPPORT.into());
    }
    let dst = attr_in_addr(attrs, NDA_DST)?
        .ok_or(NlError::msg(Errno::EINVAL, "Network address not specified"))?;
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
    let present = net.neigh.get(ifindex, IpAddr::V4(dst)).is_some();
    if present && ctx.flags & NLM_F_EXCL != 0 {
        return Err(Errno::EEXIST.into());
    }
    if !present && ctx.flags & NLM_F_CREATE == 0 {
        return Err(Errno::ENOENT.into());
    }
    net.neigh_add(ifindex, IpAddr::V4(dst), mac)?;
    Ok(())
}

/// `neigh_delete`: ENOENT if absent.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (nd, _, dst) = parse(payload)?;
    let ifindex = u32::try_from(nd.ifindex).unwrap_or(0);
    net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
    net.neigh_del(ifindex, IpAddr::V4(dst))?;
    net.notify.neigh_deleted(ifindex, dst);
    Ok(())
}
