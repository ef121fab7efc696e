//! `ip rule` (iproute2 `iprule.c`).

use super::*;
use crate::netlink::rule::*;
use std::fmt::Write;

/// `ip rule { add | del | show }`.
pub fn rule(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return show(ip) };
    if is_show(cmd) {
        if let Some(x) = rest.first() {
            return Err(format!("Error: \"{x}\" filters are not supported by libos."));
        }
        return show(ip);
    }
    let new = is(cmd, "add");
    if !new && !is(cmd, "delete") {
        return Err(format!("Command \"{cmd}\" is unknown, try \"ip rule help\"."));
    }
    let mut h = RtMsg { family: AF_INET, ..Default::default() };
    if new {
        h.kind = FR_ACT_TO_TBL;
    }
    let mut attrs = MsgWriter::default();
    let mut table = None;
    let mut it = rest.iter();
    while let Some(&k) = it.next() {
        match k {
            "not" => h.flags |= FIB_RULE_INVERT,
            "from" | "to" => {
                let v = value(&mut it, k)?;
                if v == "all" {
                    continue;
                }
                let (a, len) = prefix(v, "inet")?;
                let len = len.unwrap_or(32);
                if k == "from" {
                    h.src_len = len;
                    attrs.attr(FRA_SRC, &a.octets());
                } else {
                    h.dst_len = len;
                    attrs.attr(FRA_DST, &a.octets());
                }
            }
            "tos" | "dsfield" => {
                let v = value(&mut it, k)?;
                let t = v
                    .strip_prefix("0x")
                    .map_or_else(|| v.parse().ok(), |x| u8::from_str_radix(x, 16).ok());
                h.tos = t.ok_or_else(|| {
                    format!("Error: argument \"{v}\" is wrong: TOS value is invalid\n")
                })?;
            }
            "iif" | "dev" => attrs.attr_str(FRA_IIFNAME, value(&mut it, k)?),
            "oif" => attrs.attr_str(FRA_OIFNAME, value(&mut it, k)?),
            "pref" | "priority" | "preference" | "order" => {
                let v = value(&mut it, k)?;
                let p: u32 = v.parse().map_err(|_| {
                    format!("Error: argument \"{v}\" is wrong: preference value is invalid\n")
                })?;
                attrs.attr_u32(FRA_PRIORITY, p);
            }
            "lookup" | "table" => {
                let v = value(&mut it, k)?;
                table = Some(route::table_id(v)?);
            }
            "protocol" | "proto" => {
                let v = value(&mut it, k)?;
                attrs.attr_u8(FRA_PROTOCOL, route::proto_id(v)?);
            }
            "blackhole" => h.kind = FR_ACT_BLACKHOLE,
            "unreachable" => h.kind = FR_ACT_UNREACHABLE,
            "prohibit" => h.kind = FR_ACT_PROHIBIT,
            _ => return Err(format!("Error: \"{k}\" is not supported by libos.")),
        }
    }
    if new && h.kind == FR_ACT_TO_TBL && table.is_none() {
        table = Some(crate::route::RT_TABLE_MAIN);
    }
    if let Some(t) = table {
        if t < 256 {
            h.table = t as u8;
        } else {
            attrs.attr_u32(FRA_TABLE, t);
        }
    }
    let mut body = MsgWriter::default();
    h.emit(&mut body);
    body.put_bytes(&attrs.buf);
    let (ty, flags) = if new { (RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL) } else { (RTM_DELRULE, 0) };
    ip.exec(ty, flags, &body.buf).map(|()| String::new())
}

/// `print_rule`.
fn show(ip: &mut Ip<'_>) -> Result<String, String> {
    let mut body = MsgWriter::default();
    RtMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    let mut out = String::new();
    for r in ip.dump(RTM_GETRULE, &body.buf)? {
        let Some(h) = RtMsg::parse(&r.payload) else { continue };
        let a = &r.payload[RtMsg::LEN..];
        let _ = write!(out, "{}:\t", attr_u32(a, FRA_PRIORITY).ok().flatten().unwrap_or(0));
        if h.flags & FIB_RULE_INVERT != 0 {
            out.push_str("not ");
        }
        let pfx = |ty, len: u8| {
            let a = attr_in_addr(a, ty).ok().flatten();
            match (a, len) {
                (Some(a), 32) => Some(a.to_string()),
                (Some(a), l) => Some(format!("{a}/{l}")),
                (None, 0) => None,
                (None, l) => Some(format!("0/{l}")),
            }
        };
        let _ = write!(out, "from {}", pfx(FRA_SRC, h.src_len).unwrap_or_else(|| "all".into()));
        if let Some(d) = pfx(FRA_DST, h.dst_len) {
            let _ = write!(out, " to {d}");
        }
        if h.tos != 0 {
            let _ = write!(out, " tos 0x{:02x}", h.tos);
        }
        for (ty, word) in [(FRA_IIFNAME, "iif"), (FRA_OIFNAME, "oif")] {
            if let Some(n) = attr_name(a, ty).ok().flatten() {
                let _ = write!(out, " {word} {n}");
            }
        }
        let table = attr_u32(a, FRA_TABLE).ok().flatten().unwrap_or(u32::from(h.table));
        if table != 0 {
            let _ = write!(out, " lookup {}", route::table_name(table));
        }
        match h.kind {
            FR_ACT_TO_TBL => {}
            FR_ACT_BLACKHOLE => out.push_str(" blackhole"),
            FR_ACT_UNREACHABLE => out.push_str(" unreachable"),
            FR_ACT_PROHIBIT => out.push_str(" prohibit"),
            k => {
                let _ = write!(out, " {k}");
            }
        }
        if let Some(&p) = find_attr(a, FRA_PROTOCOL).and_then(|p| p.first())
            && p != 0
            && p != 2
        {
            let _ = write!(out, " proto {}", route::proto_name(p));
        }
        out.push('\n');
    }
    Ok(out)
}
