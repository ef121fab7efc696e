//! The built-in `ip` (iproute2) for hosts that cannot run the binary (the ns-3
//! helper's `RunIp`): a command line becomes the rtnetlink messages iproute2 would send,
//! they run through `netlink::process`, and the replies are printed as iproute2 prints
//! them. Errors read like iproute2's (`RTNETLINK answers: File exists`, `Error: ...`).
//!
//! Supported (with or without the leading `ip`, iproute2's abbreviations, option `-4`):
//! - `addr add|change|replace|del PREFIX dev D [brd ADDR|+|-] [label L] [scope S]`,
//!   `addr [show|list] [dev D] [up]`, `addr flush dev D`;
//! - `link set [dev] D [up|down] [mtu N] [name N] [address MAC]`, `link [show] [dev D]`;
//! - `route add|del|change|replace|append|prepend [TYPE] PREFIX|default [via GW]
//!   [dev D] [src A] [metric N] [table T] [proto P] [scope S]
//!   [nexthop via GW dev D weight W ...]` with TYPE unicast, local, broadcast,
//!   blackhole, unreachable, prohibit; `route [show] [table T|all] [dev D] [proto P]
//!   [scope S] [type T] [PREFIX]`, `route get ADDR [from A] [oif D]`,
//!   `route flush SELECTOR|cache`;
//! - `rule add|del [not] [from P] [to P] [tos T] [iif D] [oif D] [pref N]
//!   [lookup T|blackhole|unreachable|prohibit] [proto P]`, `rule [show]`;
//! - `neigh add|replace|change|del ADDR lladdr MAC dev D [nud permanent|noarp]`,
//!   `neigh [show] [dev D]`, `neigh flush dev D`;
//! - with `-6`: `address add|change|replace|del ADDR[/LEN] dev D [nodad]` (`addr6.rs`);
//!   `route add|del|change|replace|append|prepend [TYPE] PREFIX|default
//!   [via GW] [dev D] [metric N] [table T] [proto P] [mtu N] [nexthop via GW dev D
//!   weight W ...]` and `route [show] [table T|all]` (`route6.rs`).

mod addr;
mod addr6;
mod route;
mod route6;
mod rule;

use super::wire::*;
use crate::{Kernel, Nanos};
use std::net::Ipv4Addr;

/// Runs one command line, with or without the leading `ip`.
pub fn run(k: &mut Kernel, now: Nanos, cmdline: &str) -> Result<String, String> {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let mut w = &words[..];
    if w.first() == Some(&"ip") {
        w = &w[1..];
    }
    let mut ip = Ip { k, now, seq: 0, four: false };
    let mut six = false;
    while let Some(o) = w.first().filter(|o| o.starts_with('-')) {
        match o.trim_start_matches('-') {
            "4" => ip.four = true,
            "6" => six = true,
            _ => return Err(format!("Option \"{o}\" is unknown, try \"ip -help\".")),
        }
        w = &w[1..];
    }
    let Some((obj, rest)) = w.split_first() else {
        return Err("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }".into());
    };
    if six {
        return match *obj {
            o if is(o, "address") => addr6::addr6(&mut ip, rest),
            o if is(o, "route") => route6::route6(&mut ip, rest),
            _ => Err("Error: only `ip -6 address` and `ip -6 route` are built in (use \
                      rtnetlink for the rest)."
                .into()),
        };
    }
    // iproute2's object table order decides abbreviations: `a` address, `r` route...
    if is(obj, "address") {
        addr::addr(&mut ip, rest)
    } else if is(obj, "route") {
        route::route(&mut ip, rest)
    } else if is(obj, "rule") {
        rule::rule(&mut ip, rest)
    } else if is(obj, "neighbor") || is(obj, "neighbour") {
        route::neigh(&mut ip, rest)
    } else if is(obj, "link") {
        addr::link(&mut ip, rest)
    } else {
        Err(format!("Object \"{obj}\" is unknown, try \"ip help\"."))
    }
}

/// iproute2's `matches`: `word` is a non-empty prefix of `full`.
pub(super) fn is(word: &str, full: &str) -> bool {
    !word.is_empty() && full.starts_with(word)
}

/// The request flags of an editing subcommand in iproute2's abbreviation order: `add`,
/// `change`, `replace`, `prepend` and `append` where the object keeps lists
/// (`ordered`), `delete` (no flags); None for any other word.
pub(super) fn edit_flags(cmd: &str, ordered: bool) -> Option<u16> {
    if is(cmd, "add") {
        Some(NLM_F_CREATE | NLM_F_EXCL)
    } else if is(cmd, "change") || cmd == "chg" {
        Some(NLM_F_REPLACE)
    } else if is(cmd, "replace") {
        Some(NLM_F_CREATE | NLM_F_REPLACE)
    } else if ordered && is(cmd, "prepend") {
        Some(NLM_F_CREATE)
    } else if ordered && is(cmd, "append") {
        Some(NLM_F_CREATE | NLM_F_APPEND)
    } else if is(cmd, "delete") {
        Some(0)
    } else {
        None
    }
}

/// `list`, `show` or `lst`.
pub(super) fn is_show(cmd: &str) -> bool {
    is(cmd, "list") || is(cmd, "show") || cmd == "lst"
}

/// One `ip` invocation: a kernel and the sequence numbers of its requests.
pub(super) struct Ip<'k> {
    k: &'k mut Kernel,
    now: Nanos,
    seq: u32,
    /// `-4`: IPv4 only (`ip -4 addr` leaves out link lines and bare devices).
    four: bool,
}

/// A device as a link dump describes it.
#[derive(Debug, Clone)]
pub(super) struct Link {
    pub index: u32,
    pub name: String,
    pub ty: u16,
    pub flags: u32,
    pub mtu: u32,
    pub qdisc: String,
    pub operstate: u8,
    pub mac: Vec<u8>,
    pub brd: Vec<u8>,
}

impl Ip<'_> {
    /// Sends one message (with the extended acks iproute2 asks for); returns the replies.
    fn talk(&mut self, ty: u16, flags: u16, body: &[u8]) -> Vec<Reply> {
        self.seq += 1;
        let mut w = MsgWriter::default();
        w.begin(NlHeader { ty, flags: flags | NLM_F_REQUEST, seq: self.seq, pid: 0 });
        w.put_bytes(body);
        w.end();
        let out = super::process(&mut self.k.net, self.now, &w.buf, true);
        self.k.finish(self.now);
        split(&out)
    }

    /// A change request with NLM_F_ACK: Ok, or the error as iproute2 prints it.
    pub fn exec(&mut self, ty: u16, flags: u16, body: &[u8]) -> Result<(), String> {
        for r in self.talk(ty, flags | NLM_F_ACK, body) {
            match r.error() {
                Some(0) | None => {}
                Some(e) => return Err(error_text(e, &r.payload)),
            }
        }
        Ok(())
    }

    /// A dump request; the replies before NLMSG_DONE.
    pub fn dump(&mut self, ty: u16, body: &[u8]) -> Result<Vec<Reply>, String> {
        let mut v = Vec::new();
        for r in self.talk(ty, NLM_F_DUMP, body) {
            match r.error() {
                Some(e) if e != 0 => return Err(error_text(e, &r.payload)),
                _ if r.ty == NLMSG_DONE => break,
                _ => v.push(r),
            }
        }
        Ok(v)
    }

    /// A get request answered by one message.
    pub fn get(&mut self, ty: u16, body: &[u8]) -> Result<Reply, String> {
        let replies = self.talk(ty, 0, body);
        for r in &replies {
            if let Some(e) = r.error().filter(|&e| e != 0) {
                return Err(error_text(e, &r.payload));
            }
        }
        replies.into_iter().next().ok_or_else(|| "RTNETLINK answers: no reply".into())
    }

    pub fn links(&mut self) -> Result<Vec<Link>, String> {
        let mut body = MsgWriter::default();
        IfInfoMsg::default().emit(&mut body);
        let replies = self.dump(RTM_GETLINK, &body.buf)?;
        Ok(replies.iter().filter_map(|r| parse_link(&r.payload)).collect())
    }

    /// `ll_name_to_index`, failing as iproute2 does.
    pub fn ifindex(&mut self, name: &str) -> Result<u32, String> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| format!("Cannot find device \"{name}\""))
    }
}

fn parse_link(p: &[u8]) -> Option<Link> {
    let ifi = IfInfoMsg::parse(p)?;
    let a = &p[IfInfoMsg::LEN..];
    let s = |t| attr_name(a, t).ok().flatten().unwrap_or_default();
    Some(Link {
        index: ifi.index as u32,
        name: s(IFLA_IFNAME),
        ty: ifi.ty,
        flags: ifi.flags,
        mtu: attr_u32(a, IFLA_MTU).ok().flatten().unwrap_or(0),
        qdisc: s(IFLA_QDISC),
        operstate: find_attr(a, IFLA_OPERSTATE).and_then(|v| v.first().copied()).unwrap_or(0),
        mac: find_attr(a, IFLA_ADDRESS).unwrap_or(&[]).to_vec(),
        brd: find_attr(a, IFLA_BROADCAST).unwrap_or(&[]).to_vec(),
    })
}

/// strerror(3) for what rtnetlink returns.
pub(super) fn strerror(e: i32) -> &'static str {
    match e {
        3 => "No such process",
        e => crate::Errno(e).message(),
    }
}

/// An NLMSG_ERROR as iproute2 reports it: the extended-ack text if the kernel gave one
/// (`Error: <text>.`), else `RTNETLINK answers: <strerror>`.
fn error_text(e: i32, payload: &[u8]) -> String {
    let echoed = payload
        .get(4..)
        .and_then(NlPacket::new_checked)
        .map_or(NLMSG_HDRLEN, |p| align4(p.len() as usize));
    let tlvs = payload.get(4 + echoed..).unwrap_or(&[]);
    match attr_name_long(tlvs, 1) {
        Some(m) if m.ends_with('.') => format!("Error: {m}"),
        Some(m) => format!("Error: {m}."),
        None => format!("RTNETLINK answers: {}", strerror(e)),
    }
}

fn attr_name_long(b: &[u8], ty: u16) -> Option<String> {
    let d = find_attr(b, ty)?;
    let d = d.split(|&c| c == 0).next().unwrap_or(&[]);
    Some(String::from_utf8_lossy(d).into_owned())
}

/// An IPv4 prefix `a.b.c.d[/len]`; the length is None when not written.
pub(super) fn prefix(s: &str, what: &str) -> Result<(Ipv4Addr, Option<u8>), String> {
    let bad = || format!("Error: {what} prefix is expected rather than \"{s}\".");
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok().filter(|&l| l <= 32).ok_or_else(bad)?)),
        None => (s, None),
    };
    Ok((a.parse().map_err(|_| bad())?, len))
}

/// An IPv4 address argument.
pub(super) fn address(s: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| format!("Error: inet address is expected rather than \"{s}\"."))
}

/// The value after a keyword.
pub(super) fn value<'a>(
    it: &mut std::slice::Iter<'_, &'a str>,
    key: &str,
) -> Result<&'a str, String> {
    it.next().copied().ok_or_else(|| {
        format!("Command line is not complete. Try option \"help\"\n(after \"{key}\")")
    })
}

/// An argument iproute2 requires (`"dev"`, `"local"`...).
pub(super) fn required<T>(v: Option<T>, what: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("Not enough information: \"{what}\" argument is required."))
}

pub(super) fn garbage(key: &str, w: &str) -> String {
    format!("Error: either \"{key}\" is duplicate, or \"{w}\" is a garbage.")
}

pub(super) fn mac_str(m: &[u8]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

pub(super) fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let mut m = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || format!("Error: \"{s}\" is not a valid link layer address.");
    if parts.len() != 6 {
        return Err(bad());
    }
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(m)
}

#[cfg(test)]
mod tests;
