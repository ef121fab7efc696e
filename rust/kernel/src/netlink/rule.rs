//! RTM_{NEW,DEL,GET}RULE for IPv4 and IPv6 policy rules (`fib_rules.c`:
//! `fib_nl_newrule`, `fib_nl_delrule`, `fib_nl_dumprule`, `fib_nl_fill_rule`;
//! `fib4_rules.c`, `fib6_rules.c`), one list per family.
//! `struct fib_rule_hdr` has `struct rtmsg`'s layout: table, res1, res2, action sit
//! where `rtm_table`, `rtm_protocol`, `rtm_scope`, `rtm_type` are.

use super::addr6::AF_INET6;
use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::Errno;
use crate::net::Net;
use crate::route::{Rule, RuleAction};
use std::net::{IpAddr, Ipv6Addr};

pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;
pub const FRA_DST: u16 = 1;
pub const FRA_SRC: u16 = 2;
pub const FRA_IIFNAME: u16 = 3;
pub const FRA_PRIORITY: u16 = 6;
pub const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
pub const FRA_TABLE: u16 = 15;
pub const FRA_OIFNAME: u16 = 17;
pub const FRA_PROTOCOL: u16 = 21;
pub const FR_ACT_TO_TBL: u8 = 1;
pub const FR_ACT_BLACKHOLE: u8 = 6;
pub const FR_ACT_UNREACHABLE: u8 = 7;
pub const FR_ACT_PROHIBIT: u8 = 8;
pub const FIB_RULE_INVERT: u32 = 0x2;

fn action_code(a: RuleAction) -> (u8, u32) {
    match a {
        RuleAction::Table(t) => (FR_ACT_TO_TBL, t),
        RuleAction::Blackhole => (FR_ACT_BLACKHOLE, 0),
        RuleAction::Unreachable => (FR_ACT_UNREACHABLE, 0),
        RuleAction::Prohibit => (FR_ACT_PROHIBIT, 0),
    }
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    if family == AF_UNSPEC || family == AF_INET {
        dump_family(net, ctx, AF_INET);
    }
    if family == AF_UNSPEC || family == AF_INET6 {
        dump_family(net, ctx, AF_INET6);
    }
}

fn dump_family(net: &mut Net, ctx: &mut Ctx<'_>, family: u8) {
    let rules = if family == AF_INET6 { net.fib.rules6() } else { net.fib.rules() };
    for r in rules {
        let h = ctx.header(RTM_NEWRULE, true);
        let w = &mut *ctx.out;
        w.begin(h);
        let (action, table) = action_code(r.action);
        let len = |p: Option<(IpAddr, u8)>| p.map_or(0, |(_, l)| l);
        RtMsg {
            family,
            dst_len: len(r.dst),
            src_len: len(r.src),
            tos: r.tos,
            table: if table < 256 { table as u8 } else { RT_TABLE_COMPAT },
            protocol: 0,
            scope: 0,
            kind: action,
            flags: if r.invert { FIB_RULE_INVERT } else { 0 },
        }
        .emit(w);
        w.attr_u32(FRA_TABLE, table);
        w.attr_u32(FRA_SUPPRESS_PREFIXLEN, u32::MAX);
        w.attr_u8(FRA_PROTOCOL, r.protocol);
        for (ty, dev) in [(FRA_IIFNAME, r.iif), (FRA_OIFNAME, r.oif)] {
            if let Some(d) = dev.and_then(|i| net.devs.get(i)) {
                w.attr_str(ty, &d.name);
            }
        }
        if r.priority != 0 {
            w.attr_u32(FRA_PRIORITY, r.priority);
        }
        for (ty, p) in [(FRA_DST, r.dst), (FRA_SRC, r.src)] {
            // Stored as given, host bits included (`fib4_rule_configure`).
            match p.filter(|p| p.1 > 0) {
                Some((IpAddr::V4(a), _)) => w.attr(ty, &a.octets()),
                Some((IpAddr::V6(a), _)) => w.attr(ty, &a.octets()),
                None => {}
            }
        }
        w.end();
    }
}

/// `fib_nl2rule` + `fib4_rule_configure`: (rule, priority if given).
fn parse(net: &Net, payload: &[u8], del: bool) -> NlResult<(Rule, Option<u32>)> {
    let h = RtMsg::parse(payload).ok_or(Errno::EINVAL)?;
    let a = &payload[RtMsg::LEN..];
    let max = match h.family {
        AF_INET => 32,
        AF_INET6 => 128,
        _ => return Err(Errno::EAFNOSUPPORT.into()),
    };
    if h.src_len > max || h.dst_len > max || (max == 32 && h.tos & !0x1e != 0) {
        return Err(Errno::EINVAL.into());
    }
    let table = attr_u32(a, FRA_TABLE)?.unwrap_or(u32::from(h.table));
    let action = match h.kind {
        0 if del => RuleAction::Table(table),
        FR_ACT_TO_TBL if table != 0 => RuleAction::Table(table),
        FR_ACT_TO_TBL => return Err(NlError::msg(Errno::EINVAL, "Invalid table")),
        FR_ACT_BLACKHOLE => RuleAction::Blackhole,
        FR_ACT_UNREACHABLE => RuleAction::Unreachable,
        FR_ACT_PROHIBIT => RuleAction::Prohibit,
        // goto and nop are not implemented.
        2 | 3 => return Err(Errno::EOPNOTSUPP.into()),
        _ => return Err(NlError::msg(Errno::EINVAL, "Invalid action")),
    };
    let prefix = |ty, len: u8| -> NlResult<Option<(IpAddr, u8)>> {
        if len == 0 {
            return Ok(None);
        }
        if max == 128 {
            let d = find_attr(a, ty).filter(|d| d.len() >= 16).ok_or(Errno::EINVAL)?;
            let mut o = [0u8; 16];
            o.copy_from_slice(&d[..16]);
            return Ok(Some((IpAddr::V6(Ipv6Addr::from(o)), len)));
        }
        let addr = attr_in_addr(a, ty)?.ok_or(Errno::EINVAL)?;
        Ok(Some((IpAddr::V4(addr), len)))
    };
    let dev = |ty| -> NlResult<Option<u32>> {
        match attr_name(a, ty)? {
            // Linux keeps rules for absent devices inactive; libos needs the device.
            Some(n) => Ok(Some(net.devs.by_name(&n).ok_or(Errno::ENODEV)?.ifindex)),
            None => Ok(None),
        }
    };
    let priority = attr_u32(a, FRA_PRIORITY)?;
    let rule = Rule {
        priority: priority.unwrap_or(0),
        src: prefix(FRA_SRC, h.src_len)?,
        dst: prefix(FRA_DST, h.dst_len)?,
        iif: dev(FRA_IIFNAME)?,
        oif: dev(FRA_OIFNAME)?,
        tos: h.tos,
        invert: h.flags & FIB_RULE_INVERT != 0,
        action,
        protocol: find_attr(a, FRA_PROTOCOL).and_then(|p| p.first().copied()).unwrap_or(0),
    };
    Ok((rule, priority))
}

pub fn new(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (rule, priority) = parse(net, payload, false)?;
    if payload.first() == Some(&AF_INET6) {
        net.fib.rule_add6(rule, priority)?;
    } else {
        net.fib.rule_add(rule, priority)?;
    }
    Ok(())
}

/// `fib_nl_delrule` → `rule_find`: every field the request sets must match; unset
/// ones (action, table, priority, selectors, the `not` flag) match anything.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (q, priority) = parse(net, payload, true)?;
    let any_action = payload.get(7) == Some(&0);
    let action_ok = |r: &Rule| match (any_action, q.action) {
        (true, RuleAction::Table(0)) => true,
        _ => q.action == r.action,
    };
    let v6 = payload.first() == Some(&AF_INET6);
    let rules = if v6 { net.fib.rules6() } else { net.fib.rules() };
    let hit = rules
        .iter()
        .find(|r| {
            action_ok(r)
                && priority.is_none_or(|p| p == r.priority)
                && q.src.is_none_or(|s| Some(s) == r.src)
                && q.dst.is_none_or(|d| Some(d) == r.dst)
                && q.iif.is_none_or(|i| Some(i) == r.iif)
                && q.oif.is_none_or(|o| Some(o) == r.oif)
                && (q.tos == 0 || q.tos == r.tos)
                && (!q.invert || r.invert)
        })
        .cloned()
        .ok_or(Errno::ENOENT)?;
    if v6 {
        net.fib.rule_del6(&hit)?;
    } else {
        net.fib.rule_del(&hit)?;
    }
    Ok(())
}
