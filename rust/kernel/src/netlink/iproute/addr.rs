//! `ip address` and `ip link` (iproute2 `ipaddress.c`, `iplink.c`).

use super::*;
use crate::dev::DevFlags;
use crate::route::RT_SCOPE_HOST;
use std::fmt::Write;

/// `ip address { add | change | replace | del | show | flush } ...`.
pub fn addr(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return show(ip, &[]) };
    let flags = match edit_flags(cmd, false) {
        Some(f) => f,
        None if is_show(cmd) => return show(ip, rest),
        None if is(cmd, "flush") => return flush(ip, rest),
        None => return Err(format!("Command \"{cmd}\" is unknown, try \"ip address help\".")),
    };
    modify(ip, flags, is(cmd, "delete"), rest).map(|()| String::new())
}

/// `ipaddr_modify`: one RTM_NEWADDR or RTM_DELADDR.
fn modify(ip: &mut Ip<'_>, flags: u16, del: bool, w: &[&str]) -> Result<(), String> {
    let (mut local, mut dev, mut label, mut brd, mut scope) = (None, None, None, None, None);
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "label" => label = Some(value(&mut it, k)?),
            "broadcast" | "brd" => brd = Some(value(&mut it, k)?),
            "scope" => scope = Some(scope_id(value(&mut it, k)?)?),
            "valid_lft" | "preferred_lft" => {
                let v = value(&mut it, k)?;
                if v != "forever" {
                    return Err("Error: address lifetimes are not supported by libos.".into());
                }
            }
            "noprefixroute" | "peer" | "remote" | "anycast" | "metric" | "proto" => {
                return Err(format!("Error: \"{k}\" is not supported by libos."));
            }
            _ if local.is_none() => {
                let v = if k == "local" { value(&mut it, k)? } else { k };
                local = Some(prefix(v, "inet")?);
            }
            _ => return Err(garbage("local", k)),
        }
    }
    let dev = required(dev, "dev")?;
    let (a, len) = required(local, "local")?;
    let index = ip.ifindex(dev)?;
    let plen = len.unwrap_or(32);
    let mut body = MsgWriter::default();
    let scope = scope.unwrap_or(if del { 0 } else { super::super::addr::scope_of(a) });
    IfAddrMsg { family: AF_INET, prefix_len: plen, flags: 0, scope, index }.emit(&mut body);
    body.attr(IFA_LOCAL, &a.octets());
    // A delete without a length is iproute2's wildcard deletion: no IFA_ADDRESS.
    if !del || len.is_some() {
        body.attr(IFA_ADDRESS, &a.octets());
    }
    if let Some(b) = brd {
        let mask = crate::dev::prefix_mask(plen);
        let b = match b {
            "+" => Ipv4Addr::from(u32::from(a) | !mask),
            "-" => Ipv4Addr::from(u32::from(a) & mask),
            s => address(s)?,
        };
        body.attr(IFA_BROADCAST, &b.octets());
    }
    if let Some(l) = label {
        body.attr_str(IFA_LABEL, l);
    }
    let ty = if del { RTM_DELADDR } else { RTM_NEWADDR };
    ip.exec(ty, flags, &body.buf)
}

fn scope_id(s: &str) -> Result<u8, String> {
    Ok(match s {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n
            .parse()
            .map_err(|_| format!("Error: argument \"{s}\" is wrong: invalid scope value."))?,
    })
}

pub(super) fn scope_name(s: u8) -> String {
    match s {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

/// Flag names in iproute2's order (`print_link_flags`); RUNNING is never printed.
fn link_flags(f: u32) -> String {
    const NAMES: [(u32, &str); 9] = [
        (DevFlags::LOOPBACK.0, "LOOPBACK"),
        (DevFlags::BROADCAST.0, "BROADCAST"),
        (DevFlags::POINTOPOINT.0, "POINTOPOINT"),
        (DevFlags::MULTICAST.0, "MULTICAST"),
        (DevFlags::NOARP.0, "NOARP"),
        (0x200, "ALLMULTI"),
        (DevFlags::PROMISC.0, "PROMISC"),
        (DevFlags::UP.0, "UP"),
        (DevFlags::LOWER_UP.0, "LOWER_UP"),
    ];
    let mut v: Vec<&str> = Vec::new();
    if f & DevFlags::UP.0 != 0 && f & DevFlags::RUNNING.0 == 0 {
        v.push("NO-CARRIER");
    }
    v.extend(NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n));
    v.join(",")
}

fn oper_name(s: u8) -> &'static str {
    match s {
        0 => "UNKNOWN",
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        _ => "UP",
    }
}

/// The first lines of a device in `ip link` / `ip addr` output.
fn print_link(out: &mut String, l: &Link, mode: bool, link_line: bool) {
    let mode = if mode { "mode DEFAULT " } else { "" };
    let _ = writeln!(
        out,
        "{}: {}: <{}> mtu {} qdisc {} state {} {mode}group default qlen 1000",
        l.index,
        l.name,
        link_flags(l.flags),
        l.mtu,
        l.qdisc,
        oper_name(l.operstate)
    );
    if link_line {
        let kind = if l.ty == ARPHRD_LOOPBACK { "loopback" } else { "ether" };
        let _ = writeln!(out, "    link/{kind} {} brd {}", mac_str(&l.mac), mac_str(&l.brd));
    }
}

/// `ip [-4] addr show [dev X] [up]`. Without `-4` every device is listed with its
/// link line; libos has IPv4 only, so `-4` just drops the link lines and bare devices.
fn show(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let mut dev = None;
    let mut up_only = false;
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "up" => up_only = true,
            _ if dev.is_none() => dev = Some(k),
            _ => return Err(garbage("dev", k)),
        }
    }
    let links = ip.links()?;
    if let Some(d) = dev
        && !links.iter().any(|l| l.name == d)
    {
        return Err(format!("Device \"{d}\" does not exist."));
    }
    let mut body = MsgWriter::default();
    IfAddrMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    let addrs = ip.dump(RTM_GETADDR, &body.buf)?;
    let mut out = String::new();
    for l in links.iter().filter(|l| dev.is_none_or(|d| d == l.name)) {
        if up_only && l.flags & DevFlags::UP.0 == 0 {
            continue;
        }
        let mine: Vec<&Reply> = addrs
            .iter()
            .filter(|r| IfAddrMsg::parse(&r.payload).is_some_and(|m| m.index == l.index))
            .collect();
        if ip.four && mine.is_empty() {
            continue;
        }
        print_link(&mut out, l, false, !ip.four);
        for r in mine {
            print_addr(&mut out, &r.payload);
        }
    }
    Ok(out)
}

fn print_addr(out: &mut String, p: &[u8]) {
    let Some(m) = IfAddrMsg::parse(p) else { return };
    let a = &p[IfAddrMsg::LEN..];
    let get = |t| attr_in_addr(a, t).ok().flatten();
    let Some(local) = get(IFA_LOCAL).or(get(IFA_ADDRESS)) else { return };
    let _ = write!(out, "    inet {local}/{}", m.prefix_len);
    if let Some(b) = get(IFA_BROADCAST) {
        let _ = write!(out, " brd {b}");
    }
    let flags = attr_u32(a, IFA_FLAGS).ok().flatten().unwrap_or(u32::from(m.flags));
    let _ = write!(out, " scope {}", scope_name(m.scope));
    if flags & IFA_F_SECONDARY != 0 {
        out.push_str(" secondary");
    }
    let label = attr_name(a, IFA_LABEL).ok().flatten().unwrap_or_default();
    let _ = writeln!(out, " {label}");
    out.push_str("       valid_lft forever preferred_lft forever\n");
}

/// `ip address flush dev X`: deletes every IPv4 address of the device.
fn flush(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let mut dev = None;
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            _ if dev.is_none() => dev = Some(k),
            _ => return Err(garbage("dev", k)),
        }
    }
    let Some(d) = dev else { return Err("Flush requires arguments.".into()) };
    let index = ip.ifindex(d)?;
    let mut body = MsgWriter::default();
    IfAddrMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    // Newest first, so secondaries go before their primary.
    let mut all = ip.dump(RTM_GETADDR, &body.buf)?;
    all.reverse();
    for r in all {
        let Some(m) = IfAddrMsg::parse(&r.payload) else { continue };
        if m.index != index {
            continue;
        }
        let a = &r.payload[IfAddrMsg::LEN..];
        let Some(local) = attr_in_addr(a, IFA_LOCAL).ok().flatten() else { continue };
        let mut b = MsgWriter::default();
        IfAddrMsg { scope: if m.scope == RT_SCOPE_HOST { m.scope } else { 0 }, ..m }.emit(&mut b);
        b.attr(IFA_LOCAL, &local.octets());
        b.attr(IFA_ADDRESS, &local.octets());
        match ip.exec(RTM_DELADDR, 0, &b.buf) {
            // A primary's deletion may already have taken this secondary.
            Ok(()) => {}
            Err(e) if e.contains("Address not found") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(String::new())
}

/// `ip link { set | show } ...`.
pub fn link(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return link_show(ip, &[]) };
    if is(cmd, "set") {
        link_set(ip, rest).map(|()| String::new())
    } else if is_show(cmd) {
        link_show(ip, rest)
    } else if is(cmd, "add") || is(cmd, "delete") {
        Err("RTNETLINK answers: Operation not supported".into())
    } else {
        Err(format!("Command \"{cmd}\" is unknown, try \"ip link help\"."))
    }
}

fn link_set(ip: &mut Ip<'_>, w: &[&str]) -> Result<(), String> {
    let (mut dev, mut up, mut mtu, mut name, mut mac) = (None, None, None, None, None);
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "up" => up = Some(true),
            "down" => up = Some(false),
            "mtu" => {
                let v = value(&mut it, k)?;
                mtu = Some(v.parse::<u32>().map_err(|_| {
                    format!("Error: argument \"{v}\" is wrong: Invalid \"mtu\" value\n")
                })?);
            }
            "name" => name = Some(value(&mut it, k)?),
            "address" => mac = Some(parse_mac(value(&mut it, k)?)?),
            "arp" | "multicast" | "promisc" | "allmulticast" | "txqueuelen" | "qlen" | "alias"
            | "group" | "master" | "nomaster" => {
                return Err(format!("Error: \"{k}\" is not supported by libos."));
            }
            _ if dev.is_none() => dev = Some(k),
            _ => return Err(garbage("dev", k)),
        }
    }
    let index = ip.ifindex(required(dev, "dev")?)?;
    let mut body = MsgWriter::default();
    let (flags, change) = match up {
        Some(true) => (DevFlags::UP.0, DevFlags::UP.0),
        Some(false) => (0, DevFlags::UP.0),
        None => (0, 0),
    };
    IfInfoMsg { family: AF_UNSPEC, ty: 0, index: index as i32, flags, change }.emit(&mut body);
    if let Some(m) = mtu {
        body.attr_u32(IFLA_MTU, m);
    }
    if let Some(n) = name {
        body.attr_str(IFLA_IFNAME, n);
    }
    if let Some(m) = mac {
        body.attr(IFLA_ADDRESS, &m);
    }
    ip.exec(RTM_NEWLINK, 0, &body.buf)
}

fn link_show(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let mut dev = None;
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "up" => {}
            _ if dev.is_none() => dev = Some(k),
            _ => return Err(garbage("dev", k)),
        }
    }
    let links = ip.links()?;
    let mut out = String::new();
    if let Some(d) = dev
        && !links.iter().any(|l| l.name == d)
    {
        return Err(format!("Device \"{d}\" does not exist."));
    }
    let up_only = w.contains(&"up");
    for l in links.iter().filter(|l| dev.is_none_or(|d| d == l.name)) {
        if !up_only || l.flags & DevFlags::UP.0 != 0 {
            print_link(&mut out, l, true, true);
        }
    }
    Ok(out)
}
