//! `ip route` and `ip neigh` (iproute2 `iproute.c`, `ipneigh.c`).

use super::addr::scope_name;
use super::*;
use crate::route::{RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_LOCAL, RT_TABLE_MAIN};
use std::fmt::Write;
use std::net::IpAddr;

/// `RTAX_MTU`, the route metric `mtu` sets.
pub(super) const RTAX_MTU: u16 = 2;

/// `/etc/iproute2/rt_protos` as Debian ships it.
const PROTOS: &[(u8, &str)] = &[
    (0, "unspec"),
    (1, "redirect"),
    (2, "kernel"),
    (3, "boot"),
    (4, "static"),
    (8, "gated"),
    (9, "ra"),
    (10, "mrt"),
    (11, "zebra"),
    (12, "bird"),
    (13, "dnrouted"),
    (14, "xorp"),
    (15, "ntk"),
    (16, "dhcp"),
    (18, "keepalived"),
    (42, "babel"),
    (99, "openr"),
    (186, "bgp"),
    (187, "isis"),
    (188, "ospf"),
    (189, "rip"),
    (192, "eigrp"),
];

pub(super) fn proto_id(s: &str) -> Result<u8, String> {
    by_name(PROTOS, s)
        .ok_or_else(|| format!("Error: argument \"{s}\" is wrong: \"protocol\" value is invalid\n"))
}

pub(super) fn proto_name(p: u8) -> String {
    name_of(PROTOS, p)
}

const TYPES: &[(u8, &str)] = &[
    (RTN_UNICAST, "unicast"),
    (RTN_LOCAL, "local"),
    (RTN_BROADCAST, "broadcast"),
    (4, "anycast"),
    (5, "multicast"),
    (RTN_BLACKHOLE, "blackhole"),
    (RTN_UNREACHABLE, "unreachable"),
    (RTN_PROHIBIT, "prohibit"),
    (9, "throw"),
    (10, "nat"),
];

fn by_name(tab: &[(u8, &str)], s: &str) -> Option<u8> {
    tab.iter().find(|(_, n)| *n == s).map(|(v, _)| *v).or_else(|| s.parse().ok())
}

fn name_of(tab: &[(u8, &str)], v: u8) -> String {
    tab.iter().find(|(x, _)| *x == v).map_or_else(|| v.to_string(), |(_, n)| n.to_string())
}

pub(super) fn table_id(s: &str) -> Result<u32, String> {
    match s {
        "main" => Ok(RT_TABLE_MAIN),
        "local" => Ok(RT_TABLE_LOCAL),
        "default" => Ok(253),
        "all" => Ok(0),
        n => n
            .parse()
            .map_err(|_| format!("Error: argument \"{s}\" is wrong: \"table\" value is invalid\n")),
    }
}

pub(super) fn table_name(t: u32) -> String {
    match t {
        RT_TABLE_MAIN => "main".into(),
        RT_TABLE_LOCAL => "local".into(),
        253 => "default".into(),
        n => n.to_string(),
    }
}

fn scope_id(s: &str) -> Result<u8, String> {
    Ok(match s {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => RT_SCOPE_LINK,
        "host" => RT_SCOPE_HOST,
        "nowhere" => 255,
        n => n
            .parse()
            .map_err(|_| format!("Error: argument \"{s}\" is wrong: invalid scope value."))?,
    })
}

/// `ip route { add | del | change | replace | append | prepend | show | get | flush }`.
pub fn route(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return show(ip, &[]) };
    let flags = match edit_flags(cmd, true) {
        Some(f) => f,
        None if is_show(cmd) => return show(ip, rest),
        None if is(cmd, "get") => return get(ip, rest),
        None if is(cmd, "flush") => return flush(ip, rest),
        None => return Err(format!("Command \"{cmd}\" is unknown, try \"ip route help\".")),
    };
    let del = is(cmd, "delete");
    modify(ip, flags, del, rest).map(|()| String::new())
}

/// A route command line decoded (`iproute_modify`), either family.
pub(super) struct Spec<A> {
    pub kind: Option<u8>,
    pub dst: Option<(A, u8)>,
    pub gw: Option<A>,
    pub dev: Option<u32>,
    pub src: Option<A>,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub proto: Option<u8>,
    pub scope: Option<u8>,
    pub mtu: Option<u32>,
    /// `nexthop via GW dev DEV weight W`, repeated.
    pub nexthops: Vec<(Option<A>, Option<u32>, u16)>,
}

impl<A> Default for Spec<A> {
    fn default() -> Self {
        Spec {
            kind: None,
            dst: None,
            gw: None,
            dev: None,
            src: None,
            metric: None,
            table: None,
            proto: None,
            scope: None,
            mtu: None,
            nexthops: Vec::new(),
        }
    }
}

/// A number argument, or iproute2's "value is invalid" error naming `what`.
pub(super) fn number(v: &str, what: &str) -> Result<u32, String> {
    v.parse()
        .map_err(|_| format!("Error: argument \"{v}\" is wrong: \"{what}\" value is invalid\n"))
}

impl<A: Copy + Into<IpAddr>> Spec<A> {
    /// The words after `nexthop` up to the next `nexthop`; `addr` parses a gateway.
    pub(super) fn parse_nexthop(
        &mut self,
        ip: &mut Ip<'_>,
        it: &mut std::slice::Iter<'_, &str>,
        addr: fn(&str) -> Result<A, String>,
    ) -> Result<(), String> {
        let mut nh = (None, None, 1u16);
        while let Some(&k) = it.as_slice().first() {
            if k == "nexthop" {
                break;
            }
            it.next();
            match k {
                "via" => nh.0 = Some(addr(value(it, k)?)?),
                "dev" => nh.1 = Some(ip.ifindex(value(it, k)?)?),
                "weight" => {
                    let v = value(it, k)?;
                    nh.2 = v.parse().ok().filter(|w| (1..=256).contains(w)).ok_or_else(|| {
                        format!("Error: argument \"{v}\" is wrong: \"weight\" is invalid\n")
                    })?;
                }
                _ => return Err(garbage("nexthop", k)),
            }
        }
        self.nexthops.push(nh);
        Ok(())
    }

    /// `[TYPE] [to] PREFIX`, the word `k` not being a keyword; `types` are the family's
    /// route types, `prefix` parses its prefixes.
    pub(super) fn parse_dst(
        &mut self,
        k: &str,
        it: &mut std::slice::Iter<'_, &str>,
        types: &[(u8, &str)],
        prefix: impl Fn(&str) -> Result<(A, u8), String>,
    ) -> Result<(), String> {
        let mut d = k;
        if self.kind.is_none()
            && self.dst.is_none()
            && let Some(t) = types.iter().find(|(_, n)| *n == d)
        {
            self.kind = Some(t.0);
            d = value(it, k)?;
        }
        if d == "to" {
            d = value(it, k)?;
        }
        if self.dst.is_some() {
            return Err(garbage("to", d));
        }
        self.dst = Some(prefix(d)?);
        Ok(())
    }

    /// Sends the RTM_NEWROUTE (RTM_DELROUTE if `del`) request with iproute2's defaults:
    /// type unicast (any for deletes), table local for local routes else main, protocol
    /// boot (any for deletes), the scope from `scope` given the type.
    pub(super) fn exec(
        &self,
        ip: &mut Ip<'_>,
        flags: u16,
        del: bool,
        family: u8,
        scope: impl FnOnce(u8) -> u8,
    ) -> Result<(), String> {
        if self.dst.is_none() {
            return Err("Error: a destination prefix is required.".into());
        }
        let kind = self.kind.unwrap_or(if del { RTN_UNSPEC } else { RTN_UNICAST });
        let local = kind == RTN_LOCAL;
        let table = self.table.unwrap_or(if local { RT_TABLE_LOCAL } else { RT_TABLE_MAIN });
        let rtm = RtMsg {
            family,
            protocol: self.proto.unwrap_or(if del { 0 } else { 3 }),
            scope: self.scope.unwrap_or_else(|| scope(kind)),
            kind,
            ..Default::default()
        };
        ip.exec(if del { RTM_DELROUTE } else { RTM_NEWROUTE }, flags, &self.request(rtm, table))
    }

    /// The RTM_NEWROUTE/RTM_DELROUTE body iproute2 sends: `rtm` (family, protocol,
    /// scope, type) with the destination length and table filled in, then the
    /// attributes in `iproute_modify`'s order.
    fn request(&self, mut rtm: RtMsg, table: u32) -> Vec<u8> {
        let mut body = MsgWriter::default();
        let (dst, len) = match self.dst {
            Some((d, l)) => (Some(d), l),
            None => (None, 0),
        };
        rtm.dst_len = len;
        rtm.table = if table < 256 { table as u8 } else { RT_TABLE_UNSPEC };
        rtm.emit(&mut body);
        if table >= 256 {
            body.attr_u32(RTA_TABLE, table);
        }
        if let Some(d) = dst.filter(|_| len > 0) {
            attr_ip(&mut body, RTA_DST, d.into());
        }
        if let Some(m) = self.metric {
            body.attr_u32(RTA_PRIORITY, m);
        }
        if let Some(g) = self.gw {
            attr_ip(&mut body, RTA_GATEWAY, g.into());
        }
        if let Some(p) = self.src {
            attr_ip(&mut body, RTA_PREFSRC, p.into());
        }
        if let Some(d) = self.dev {
            body.attr_u32(RTA_OIF, d);
        }
        if let Some(m) = self.mtu {
            let mut mx = MsgWriter::default();
            mx.attr_u32(RTAX_MTU, m);
            body.attr(RTA_METRICS, &mx.buf);
        }
        if !self.nexthops.is_empty() {
            let mut mp = MsgWriter::default();
            for &(gw, dev, weight) in &self.nexthops {
                let at = mp.buf.len();
                mp.put_bytes(&[0, 0, 0, (weight - 1) as u8]);
                mp.put_bytes(&dev.unwrap_or(0).to_ne_bytes());
                if let Some(g) = gw {
                    attr_ip(&mut mp, RTA_GATEWAY, g.into());
                }
                let len = (mp.buf.len() - at) as u16;
                mp.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
            }
            body.attr(RTA_MULTIPATH, &mp.buf);
        }
        body.buf
    }
}

fn attr_ip(w: &mut MsgWriter, ty: u16, a: IpAddr) {
    match a {
        IpAddr::V4(a) => w.attr(ty, &a.octets()),
        IpAddr::V6(a) => w.attr(ty, &a.octets()),
    }
}

fn parse_spec(ip: &mut Ip<'_>, w: &[&str]) -> Result<Spec<Ipv4Addr>, String> {
    let mut s = Spec::default();
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "via" => {
                let mut v = value(&mut it, k)?;
                if v == "inet" {
                    v = value(&mut it, k)?;
                }
                s.gw = Some(address(v)?);
            }
            "src" => s.src = Some(address(value(&mut it, k)?)?),
            "metric" | "priority" | "preference" => {
                s.metric = Some(number(value(&mut it, k)?, "metric")?)
            }
            "table" => s.table = Some(table_id(value(&mut it, k)?)?),
            "dev" | "oif" => s.dev = Some(ip.ifindex(value(&mut it, k)?)?),
            "proto" | "protocol" => s.proto = Some(proto_id(value(&mut it, k)?)?),
            "scope" => s.scope = Some(scope_id(value(&mut it, k)?)?),
            "nexthop" => s.parse_nexthop(ip, &mut it, address)?,
            "onlink" | "mtu" | "advmss" | "from" | "tos" | "dsfield" | "realm" | "realms"
            | "encap" | "nhid" | "initcwnd" | "expires" => {
                return Err(format!("Error: \"{k}\" is not supported by libos."));
            }
            _ => s.parse_dst(k, &mut it, TYPES, |d| {
                Ok(match d {
                    "default" | "all" | "any" => (Ipv4Addr::UNSPECIFIED, 0),
                    d => {
                        let (a, l) = prefix(d, "inet")?;
                        (a, l.unwrap_or(32))
                    }
                })
            })?,
        }
    }
    Ok(s)
}

fn modify(ip: &mut Ip<'_>, flags: u16, del: bool, w: &[&str]) -> Result<(), String> {
    let s = parse_spec(ip, w)?;
    // iproute2's default scopes: host for local, link for broadcast and for device
    // routes without a gateway, nowhere (= any) for deletes.
    let device_route = s.gw.is_none() && s.nexthops.is_empty();
    s.exec(ip, flags, del, AF_INET, |kind| match kind {
        RTN_LOCAL => RT_SCOPE_HOST,
        RTN_BROADCAST => RT_SCOPE_LINK,
        RTN_UNICAST | RTN_UNSPEC if del => RT_SCOPE_NOWHERE,
        RTN_UNICAST | RTN_UNSPEC if device_route => RT_SCOPE_LINK,
        _ => 0,
    })
}

/// A route reply decoded for printing and filtering.
struct Shown {
    rtm: RtMsg,
    table: u32,
    dst: Option<Ipv4Addr>,
    from: Option<Ipv4Addr>,
    gw: Option<Ipv4Addr>,
    oif: Option<u32>,
    src: Option<Ipv4Addr>,
    metric: Option<u32>,
    uid: Option<u32>,
    /// RTA_MULTIPATH paths: (gateway, oif, weight, rtnh_flags).
    paths: Vec<(Option<Ipv4Addr>, u32, u16, u8)>,
}

fn decode_multipath(mut b: &[u8]) -> Vec<(Option<Ipv4Addr>, u32, u16, u8)> {
    let mut v = Vec::new();
    while b.len() >= 8 {
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        if len < 8 || len > b.len() {
            break;
        }
        let oif = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        let gw = attr_in_addr(&b[8..len], RTA_GATEWAY).ok().flatten();
        v.push((gw, oif, u16::from(b[3]) + 1, b[2]));
        b = &b[align4(len).min(b.len())..];
    }
    v
}

fn decode(p: &[u8]) -> Option<Shown> {
    let rtm = RtMsg::parse(p)?;
    let a = &p[RtMsg::LEN..];
    let addr = |t| attr_in_addr(a, t).ok().flatten();
    let num = |t| attr_u32(a, t).ok().flatten();
    Some(Shown {
        rtm,
        table: num(RTA_TABLE).unwrap_or(u32::from(rtm.table)),
        dst: addr(RTA_DST),
        from: addr(RTA_SRC),
        gw: addr(RTA_GATEWAY),
        oif: num(RTA_OIF),
        src: addr(RTA_PREFSRC),
        metric: num(RTA_PRIORITY),
        uid: num(RTA_UID),
        paths: find_attr(a, RTA_MULTIPATH).map(decode_multipath).unwrap_or_default(),
    })
}

/// `print_route`.
fn print_route(out: &mut String, r: &Shown, names: &[Link], table_filter: Option<u32>) {
    let cloned = r.rtm.flags & RTM_F_CLONED != 0;
    let mut s = String::new();
    if r.rtm.kind != RTN_UNICAST {
        let _ = write!(s, "{} ", name_of(TYPES, r.rtm.kind));
    }
    match r.dst {
        Some(d) if r.rtm.dst_len == 32 => {
            let _ = write!(s, "{d} ");
        }
        Some(d) => {
            let _ = write!(s, "{d}/{} ", r.rtm.dst_len);
        }
        None if r.rtm.dst_len > 0 => {
            let _ = write!(s, "0/{} ", r.rtm.dst_len);
        }
        None => s.push_str("default "),
    }
    if let Some(f) = r.from {
        match r.rtm.src_len {
            32 => write!(s, "from {f} "),
            l => write!(s, "from {f}/{l} "),
        }
        .ok();
    }
    if let Some(g) = r.gw {
        let _ = write!(s, "via {g} ");
    }
    if let Some(o) = r.oif {
        let name = names
            .iter()
            .find(|l| l.index == o)
            .map_or_else(|| format!("if{o}"), |l| l.name.clone());
        let _ = write!(s, "dev {name} ");
    }
    if table_filter.is_none() && r.table != RT_TABLE_MAIN {
        let _ = write!(s, "table {} ", table_name(r.table));
    }
    if !cloned {
        if r.rtm.protocol != 3 {
            let _ = write!(s, "proto {} ", name_of(PROTOS, r.rtm.protocol));
        }
        if r.rtm.scope != 0 {
            let _ = write!(s, "scope {} ", scope_name(r.rtm.scope));
        }
    }
    if let Some(p) = r.src {
        let _ = write!(s, "src {p} ");
    }
    if let Some(m) = r.metric {
        let _ = write!(s, "metric {m} ");
    }
    if r.rtm.flags & RTNH_F_LINKDOWN != 0 {
        s.push_str("linkdown ");
    }
    let dev_name = |o: u32| {
        names.iter().find(|l| l.index == o).map_or_else(|| format!("if{o}"), |l| l.name.clone())
    };
    for &(gw, oif, weight, flags) in &r.paths {
        s.push_str("\n\tnexthop ");
        if let Some(g) = gw {
            let _ = write!(s, "via {g} ");
        }
        let _ = write!(s, "dev {} weight {weight} ", dev_name(oif));
        // iproute2's `print_rt_flags` order.
        if u32::from(flags) & RTNH_F_DEAD != 0 {
            s.push_str("dead ");
        }
        if u32::from(flags) & RTNH_F_LINKDOWN != 0 {
            s.push_str("linkdown ");
        }
    }
    if cloned {
        if let Some(u) = r.uid {
            let _ = write!(s, "uid {u} ");
        }
        s.push_str("\n    cache ");
        let f = r.rtm.flags;
        let mut cf = Vec::new();
        if f & RTCF_LOCAL != 0 {
            cf.push("local");
        }
        if f & RTCF_BROADCAST != 0 {
            cf.push("brd");
        }
        if !cf.is_empty() {
            let _ = write!(s, "<{}> ", cf.join(","));
        }
    }
    out.push_str(&s);
    out.push('\n');
}

/// `ip route show [table T|all] [dev X] [proto P] [scope S] [type T] [PREFIX]`.
fn show(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let (filter, table) = show_filter(ip, w)?;
    let names = ip.links()?;
    let mut body = MsgWriter::default();
    RtMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    let mut out = String::new();
    for r in ip.dump(RTM_GETROUTE, &body.buf)?.iter().filter_map(|r| decode(&r.payload)) {
        if filter.keep(&r, table) {
            print_route(&mut out, &r, &names, (table != 0).then_some(table));
        }
    }
    Ok(out)
}

/// Selectors of `ip route show` and `ip route flush`.
fn show_filter(ip: &mut Ip<'_>, w: &[&str]) -> Result<(Spec<Ipv4Addr>, u32), String> {
    let spec = parse_spec(ip, w)?;
    let table = spec.table.unwrap_or(RT_TABLE_MAIN);
    Ok((spec, table))
}

impl Spec<Ipv4Addr> {
    fn keep(&self, r: &Shown, table: u32) -> bool {
        (table == 0 || r.table == table)
            && self.dev.is_none_or(|d| r.oif == Some(d))
            && self.proto.is_none_or(|p| r.rtm.protocol == p)
            && self.scope.is_none_or(|s| r.rtm.scope == s)
            && self.kind.is_none_or(|k| r.rtm.kind == k)
            && self.gw.is_none_or(|g| r.gw == Some(g))
            && self.metric.is_none_or(|m| r.metric.unwrap_or(0) == m)
            && self.dst.is_none_or(|(d, l)| {
                r.rtm.dst_len == l && r.dst.unwrap_or(Ipv4Addr::UNSPECIFIED) == d
            })
    }
}

/// `ip route flush SELECTOR`: deletes every matching route (`cache` is a no-op).
fn flush(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    if w == ["cache"] {
        return Ok(String::new());
    }
    if w.is_empty() {
        return Err("\"ip route flush\" requires arguments.".into());
    }
    let (filter, table) = show_filter(ip, w)?;
    let mut body = MsgWriter::default();
    RtMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    for r in ip.dump(RTM_GETROUTE, &body.buf)? {
        let Some(s) = decode(&r.payload) else { continue };
        if !filter.keep(&s, table) {
            continue;
        }
        // The dumped route itself is the most precise delete request.
        ip.exec(RTM_DELROUTE, 0, &r.payload)?;
    }
    Ok(String::new())
}

/// `ip route get ADDR [oif|dev X]`.
fn get(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let (mut dst, mut dev, mut from) = (None, None, None);
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "oif" | "dev" => dev = Some(ip.ifindex(value(&mut it, k)?)?),
            "to" => dst = Some(address(value(&mut it, k)?)?),
            "from" => from = Some(prefix(value(&mut it, k)?, "inet")?.0),
            "iif" | "tos" | "mark" | "uid" | "fibmatch" | "ipproto" | "sport" | "dport" => {
                return Err(format!("Error: \"{k}\" is not supported by libos."));
            }
            _ if dst.is_none() => dst = Some(prefix(k, "inet")?.0),
            _ => return Err(garbage("to", k)),
        }
    }
    let Some(dst) = dst else { return Err("need at least a destination address".into()) };
    let mut body = MsgWriter::default();
    let src_len = if from.is_some() { 32 } else { 0 };
    RtMsg { family: AF_INET, dst_len: 32, src_len, ..Default::default() }.emit(&mut body);
    body.attr(RTA_DST, &dst.octets());
    if let Some(f) = from {
        body.attr(RTA_SRC, &f.octets());
    }
    if let Some(d) = dev {
        body.attr_u32(RTA_OIF, d);
    }
    let r = ip.get(RTM_GETROUTE, &body.buf)?;
    let names = ip.links()?;
    let mut out = String::new();
    if let Some(s) = decode(&r.payload) {
        print_route(&mut out, &s, &names, None);
    }
    Ok(out)
}

const NUD_NAMES: &[(u16, &str)] = &[
    (NUD_INCOMPLETE, "INCOMPLETE"),
    (NUD_REACHABLE, "REACHABLE"),
    (NUD_STALE, "STALE"),
    (NUD_DELAY, "DELAY"),
    (NUD_PROBE, "PROBE"),
    (NUD_FAILED, "FAILED"),
    (NUD_NOARP, "NOARP"),
    (NUD_PERMANENT, "PERMANENT"),
];

/// `ip neigh { add | del | replace | change | show | flush }`.
pub fn neigh(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else { return neigh_show(ip, &[], false) };
    let flags = match edit_flags(cmd, false) {
        Some(f) => f,
        None if is_show(cmd) => return neigh_show(ip, rest, false),
        None if is(cmd, "flush") => return neigh_show(ip, rest, true),
        None => return Err(format!("Command \"{cmd}\" is unknown, try \"ip neigh help\".")),
    };
    let (mut dst, mut dev, mut mac, mut state) = (None, None, None, NUD_PERMANENT);
    let mut it = rest.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "lladdr" => mac = Some(parse_mac(value(&mut it, k)?)?),
            "nud" => {
                let v = value(&mut it, k)?;
                let up = v.to_ascii_uppercase();
                state =
                    NUD_NAMES.iter().find(|(_, n)| *n == up).map(|(s, _)| *s).ok_or_else(|| {
                        format!("Error: argument \"{v}\" is wrong: nud state is bad\n")
                    })?;
            }
            "to" => dst = Some(address(value(&mut it, k)?)?),
            _ if dst.is_none() => dst = Some(address(k)?),
            _ => return Err(garbage("to", k)),
        }
    }
    let (Some(dst), Some(dev)) = (dst, dev) else {
        return Err("Device and destination are required arguments.".into());
    };
    let index = ip.ifindex(dev)?;
    let mut body = MsgWriter::default();
    NdMsg { family: AF_INET, ifindex: index as i32, state, flags: 0, kind: 0 }.emit(&mut body);
    body.attr(NDA_DST, &dst.octets());
    if let Some(m) = mac {
        body.attr(NDA_LLADDR, &m);
    }
    let ty = if is(cmd, "delete") { RTM_DELNEIGH } else { RTM_NEWNEIGH };
    ip.exec(ty, flags, &body.buf).map(|()| String::new())
}

/// `ip neigh show [dev X]`, or `flush dev X` (dynamic entries only, as iproute2).
fn neigh_show(ip: &mut Ip<'_>, w: &[&str], flush: bool) -> Result<String, String> {
    let mut dev = None;
    let mut it = w.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(ip.ifindex(value(&mut it, k)?)?),
            _ => return Err(garbage("dev", k)),
        }
    }
    if flush && dev.is_none() {
        return Err("Flush requires arguments.".into());
    }
    let names = ip.links()?;
    let mut body = MsgWriter::default();
    NdMsg { family: AF_INET, ..Default::default() }.emit(&mut body);
    let mut out = String::new();
    for r in ip.dump(RTM_GETNEIGH, &body.buf)? {
        let Some(nd) = NdMsg::parse(&r.payload) else { continue };
        let a = &r.payload[NdMsg::LEN..];
        if dev.is_some_and(|d| d as i32 != nd.ifindex) || nd.state == NUD_NOARP {
            continue;
        }
        let Some(dst) = attr_in_addr(a, NDA_DST).ok().flatten() else { continue };
        if flush {
            if nd.state & NUD_PERMANENT == 0 {
                let mut b = MsgWriter::default();
                nd.emit(&mut b);
                b.attr(NDA_DST, &dst.octets());
                ip.exec(RTM_DELNEIGH, 0, &b.buf)?;
            }
            continue;
        }
        let _ = write!(out, "{dst} ");
        if dev.is_none() {
            let name = names.iter().find(|l| l.index as i32 == nd.ifindex);
            let _ = write!(out, "dev {} ", name.map_or("?", |l| l.name.as_str()));
        }
        if let Some(m) = find_attr(a, NDA_LLADDR) {
            let _ = write!(out, "lladdr {} ", mac_str(m));
        }
        let states: Vec<&str> =
            NUD_NAMES.iter().filter(|(s, _)| nd.state & s != 0).map(|(_, n)| *n).collect();
        let _ = writeln!(out, "{} ", states.join(","));
    }
    Ok(out)
}
