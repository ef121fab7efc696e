//! rtnetlink multicast notifications (`rtnl_notify`: `rtmsg_ifinfo`, `rtmsg_ifa`,
//! `rtmsg_fib`, `__neigh_notify`, `notify_rule_change`).
//!
//! A host opens subscribers (`Kernel::netlink_open`), each a bounded queue of messages
//! for the groups it joined. Rather than hooking every path that can change a link, an
//! address, a route, a neighbour or a rule (netlink, `run_ip`, ioctls, carrier, the host
//! API, a device going down), the notifier keeps the RTM_NEW* messages a dump would give
//! and, at the end of every entry point, re-renders what may have changed and sends the
//! difference as Linux's RTM_NEW*/RTM_DEL* messages. Nothing runs without a subscriber;
//! links, addresses, routes and rules are re-rendered only when the FIB generation moved
//! (every such change bumps it), neighbours only while someone listens to RTNLGRP_NEIGH.
//!
//! A full queue drops the message and reports ENOBUFS once on the next read, as Linux's
//! `netlink_overrun` does; the reader is expected to resynchronise with a dump.

use super::addr6::AF_INET6;
use super::wire::*;
use super::{Ctx, addr, addr6, link, neigh, route, route6, rule};
use crate::net::Net;
use crate::socket::{Event, Fd};
use crate::{DevFlags, Errno, Kernel, Nanos, SysResult};
use std::collections::{BTreeMap, VecDeque};

pub const RTNLGRP_LINK: u32 = 1;
pub const RTNLGRP_NEIGH: u32 = 3;
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
pub const RTNLGRP_IPV4_RULE: u32 = 8;
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
pub const RTNLGRP_IPV6_RULE: u32 = 19;
/// Highest group a subscriber may join (Linux has about 40 rtnetlink groups).
pub const GROUP_MAX: u32 = 64;
/// Subscriber ids live here in the fd space, apart from sockets; readiness events for
/// them come out of `Kernel::poll_event` with this `fd`.
pub const ID_BASE: Fd = 1 << 28;
/// Bytes a subscriber may hold unread (Linux's default `rmem_default`).
pub const QUEUE_BYTES: usize = 212_992;

const POLLIN: u16 = 0x1;
const POLLERR: u16 = 0x8;

fn bit(group: u32) -> u64 {
    1u64 << (group - 1)
}

struct Sub {
    /// Bit `g - 1` set for group `g`.
    groups: u64,
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    /// A message was dropped: the next read fails with ENOBUFS.
    overrun: bool,
    /// Mask last reported through an event.
    reported: u16,
}

impl Sub {
    fn mask(&self) -> u16 {
        let mut m = 0;
        if !self.queue.is_empty() {
            m |= POLLIN;
        }
        if self.overrun {
            m |= POLLERR;
        }
        m
    }
}

/// The rendered messages of one kind of object by identity: (sig, message), where
/// `sig` is the message without the parts that change without a notification.
#[derive(Default)]
struct Objects {
    by_key: BTreeMap<Vec<u8>, (Vec<u8>, Vec<u8>)>,
}

type Dump = fn(&mut Net, &mut Ctx<'_>);
/// A message's identity and signature.
type Ident = fn(&[u8]) -> (Vec<u8>, Vec<u8>);

/// One kind of object: its group, its DEL type, its dump and identity.
struct Kind {
    group: u32,
    del: u16,
    dump: Dump,
    ident: Ident,
}

/// In Linux's order of announcements: a link, then its addresses, then the routes
/// they imply. Neighbours last: they are not covered by the FIB generation.
const KINDS: [Kind; 8] = [
    Kind { group: RTNLGRP_LINK, del: RTM_DELLINK, dump: dump_link, ident: link_ident },
    Kind { group: RTNLGRP_IPV4_IFADDR, del: RTM_DELADDR, dump: dump_addr, ident: addr_ident },
    Kind { group: RTNLGRP_IPV4_ROUTE, del: RTM_DELROUTE, dump: dump_route, ident: route_ident },
    Kind { group: RTNLGRP_IPV4_RULE, del: rule::RTM_DELRULE, dump: dump_rule, ident: rule_ident },
    Kind { group: RTNLGRP_IPV6_IFADDR, del: RTM_DELADDR, dump: dump_addr6, ident: addr6_ident },
    Kind { group: RTNLGRP_IPV6_ROUTE, del: RTM_DELROUTE, dump: dump_route6, ident: route_ident },
    Kind { group: RTNLGRP_IPV6_RULE, del: rule::RTM_DELRULE, dump: dump_rule6, ident: rule_ident },
    Kind { group: RTNLGRP_NEIGH, del: RTM_DELNEIGH, dump: dump_neigh, ident: neigh_ident },
];
const NEIGH: usize = 7;

#[derive(Default)]
struct Snapshot {
    /// By `KINDS` index.
    objs: [Objects; 8],
    /// FIB generation the FIB-covered kinds were rendered at.
    genid: u64,
}

/// The per-namespace notification state (a field of `Net`).
#[derive(Default)]
pub struct Notifier {
    subs: BTreeMap<Fd, Sub>,
    next: Fd,
    /// Present while any subscriber has a group.
    snap: Option<Snapshot>,
    /// The latest `now` seen: the time of changes made by calls that take none.
    last_now: Nanos,
    /// Neighbours deleted by request since the last collection (their identity keys).
    neigh_deleted: Vec<Vec<u8>>,
    /// The request being answered (sequence, sender's port id): the notifications it
    /// causes carry them, as `rtmsg_ifa`/`rtmsg_fib` copy `nlh->nlmsg_seq` and the
    /// sender's port id (neighbours only the port id, links neither).
    cause: Option<(u32, u32)>,
    events: VecDeque<Event>,
}

impl Notifier {
    fn union(&self) -> u64 {
        self.subs.values().fold(0, |a, s| a | s.groups)
    }

    /// The next readiness change of a subscriber (`Kernel::poll_event` drains these
    /// after the sockets' own).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Sets (or clears) the request whose changes are being collected.
    pub fn set_cause(&mut self, cause: Option<(u32, u32)>) {
        self.cause = cause;
    }

    /// `neigh_delete` removed this entry: Linux announces it failed, then deleted.
    pub fn neigh_deleted(&mut self, ifindex: u32, dst: std::net::IpAddr) {
        if self.snap.is_some() {
            let mut key = ifindex.to_ne_bytes().to_vec();
            match dst {
                std::net::IpAddr::V4(a) => key.extend_from_slice(&a.octets()),
                std::net::IpAddr::V6(a) => key.extend_from_slice(&a.octets()),
            }
            self.neigh_deleted.push(key);
        }
    }

    /// Time for changes made by calls without `now` (`route_add`, `sysctl_set`...).
    pub fn last_now(&self) -> Nanos {
        self.last_now
    }

    fn deliver(&mut self, group: u32, msg: &[u8]) {
        for (&id, s) in self.subs.iter_mut() {
            if s.groups & bit(group) == 0 {
                continue;
            }
            if s.bytes + msg.len() > QUEUE_BYTES {
                s.overrun = true;
            } else {
                s.bytes += msg.len();
                s.queue.push_back(msg.to_vec());
            }
            let m = s.mask();
            if m != s.reported {
                s.reported = m;
                self.events.push_back(Event { fd: id, revents: m });
            }
        }
    }
}

/// The messages of one dump, split.
fn render(net: &mut Net, now: Nanos, dump: fn(&mut Net, &mut Ctx<'_>)) -> Vec<Vec<u8>> {
    let mut out = MsgWriter::default();
    let mut ctx = Ctx { now, seq: 0, pid: 0, flags: 0, out: &mut out };
    dump(net, &mut ctx);
    let mut v = Vec::new();
    let mut rest = &out.buf[..];
    while let Some(m) = NlPacket::new_checked(rest) {
        let len = m.len() as usize;
        let mut msg = rest[..len].to_vec();
        // Notifications carry no sequence, port or NLM_F_MULTI.
        msg[6..16].fill(0);
        v.push(msg);
        rest = &rest[align4(len).min(rest.len())..];
    }
    v
}

/// The message without the attributes of types `skip` (counters, timestamps).
fn without(msg: &[u8], fixed: usize, skip: &[u16]) -> Vec<u8> {
    let head = (NLMSG_HDRLEN + fixed).min(msg.len());
    let mut v = msg[..head].to_vec();
    for (ty, data) in Attrs::new(&msg[head..]) {
        if !skip.contains(&ty) {
            v.extend_from_slice(&ty.to_ne_bytes());
            v.extend_from_slice(data);
        }
    }
    v
}

fn set_type(msg: &[u8], ty: u16) -> Vec<u8> {
    let mut m = msg.to_vec();
    m[4..6].copy_from_slice(&ty.to_ne_bytes());
    m
}

/// Replaces `objs` with `now_msgs`, returning the notifications in Linux's order:
/// deletions, then additions and changes.
fn diff(
    objs: &mut Objects,
    now_msgs: Vec<Vec<u8>>,
    del_ty: u16,
    ident: impl Fn(&[u8]) -> (Vec<u8>, Vec<u8>),
) -> Vec<Vec<u8>> {
    let mut next = BTreeMap::new();
    let mut added = Vec::new();
    for m in now_msgs {
        let (key, sig) = ident(&m);
        if objs.by_key.get(&key).is_none_or(|(s, _)| *s != sig) {
            added.push(m.clone());
        }
        next.insert(key, (sig, m));
    }
    let mut out: Vec<Vec<u8>> = objs
        .by_key
        .iter()
        .filter(|(k, _)| !next.contains_key(*k))
        .map(|(_, (_, m))| set_type(m, del_ty))
        .collect();
    out.extend(added);
    objs.by_key = next;
    out
}

/// A route's place in its table (`fib_table_insert`): table, destination, tos and
/// priority. Another route taking the place of one is a replacement.
fn route_slot(m: &[u8]) -> Option<(u32, Vec<u8>, u8, u8, u32)> {
    let p = m.get(NLMSG_HDRLEN..)?;
    let rtm = RtMsg::parse(p)?;
    let attrs = &p[RtMsg::LEN..];
    let table = attr_u32(attrs, RTA_TABLE).ok().flatten().unwrap_or(u32::from(rtm.table));
    let dst = find_attr(attrs, RTA_DST).unwrap_or_default().to_vec();
    let prio = attr_u32(attrs, RTA_PRIORITY).ok().flatten().unwrap_or(0);
    Some((table, dst, rtm.dst_len, rtm.tos, prio))
}

/// `fib_table_insert` with NLM_F_REPLACE announces one RTM_NEWROUTE flagged
/// NLM_F_REPLACE, not a deletion and an addition: merges such pairs of `diff`'s output.
fn merge_replacements(msgs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let ty = |m: &[u8]| u16::from_ne_bytes([m[4], m[5]]);
    let mut out: Vec<Option<Vec<u8>>> = msgs.into_iter().map(Some).collect();
    for i in 0..out.len() {
        let Some(new) = out[i].as_ref().filter(|m| ty(m) == RTM_NEWROUTE) else { continue };
        let slot = route_slot(new);
        let old = (0..i).find(|&j| {
            out[j].as_ref().is_some_and(|m| ty(m) == RTM_DELROUTE && route_slot(m) == slot)
        });
        if let Some(j) = old {
            out[j] = None;
            if let Some(m) = out[i].as_mut() {
                let f = u16::from_ne_bytes([m[6], m[7]]) | NLM_F_REPLACE;
                m[6..8].copy_from_slice(&f.to_ne_bytes());
            }
        }
    }
    out.into_iter().flatten().collect()
}

/// The devices a route message goes through: RTA_OIF or each path's.
fn route_devs(m: &[u8]) -> Vec<u32> {
    let attrs = &m[(NLMSG_HDRLEN + RtMsg::LEN).min(m.len())..];
    if let Some(mut mp) = find_attr(attrs, RTA_MULTIPATH) {
        let mut v = Vec::new();
        while mp.len() >= 8 {
            v.push(u32::from_ne_bytes([mp[4], mp[5], mp[6], mp[7]]));
            let len = usize::from(u16::from_ne_bytes([mp[0], mp[1]]));
            if len < 8 {
                break;
            }
            mp = &mp[align4(len).min(mp.len())..];
        }
        return v;
    }
    attr_u32(attrs, RTA_OIF).ok().flatten().into_iter().collect()
}

/// Linux's announcements for routes: a device going down flushes its routes without
/// RTM_DELROUTE (`fib_sync_down_dev` + `fib_flush` notify nothing); an address
/// announces its `local` route, its configured broadcast, its prefix route, then the
/// subnet's broadcast (`fib_add_ifaddr`), while deletions end with the `local` one
/// (`fib_del_ifaddr`).
fn linux_route_order(net: &Net, msgs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let ty = |m: &[u8]| u16::from_ne_bytes([m[4], m[5]]);
    let local = |m: &[u8]| m.get(NLMSG_HDRLEN + 7) == Some(&RTN_LOCAL);
    let down = |i: &u32| net.devs.get(*i).is_none_or(|d| !d.flags.contains(DevFlags::UP));
    let flushed = |m: &[u8]| {
        let devs = route_devs(m);
        !local(m) && !devs.is_empty() && devs.iter().all(down)
    };
    let (dels, news): (Vec<_>, Vec<_>) = msgs.into_iter().partition(|m| ty(m) == RTM_DELROUTE);
    let mut dels: Vec<_> = dels.into_iter().filter(|m| !flushed(m)).collect();
    dels.sort_by_key(|m| local(m));
    let mut news = news;
    let configured_brd = |m: &[u8]| {
        let dst = find_attr(&m[NLMSG_HDRLEN + RtMsg::LEN..], RTA_DST).unwrap_or_default();
        route_devs(m)
            .iter()
            .filter_map(|i| net.devs.get(*i))
            .any(|d| d.addrs4.iter().any(|a| a.broadcast.is_some_and(|b| b.octets()[..] == *dst)))
    };
    news.sort_by_key(|m| match m.get(NLMSG_HDRLEN + 7) {
        Some(&RTN_LOCAL) => 0,
        Some(&RTN_BROADCAST) if configured_brd(m) => 1,
        Some(&RTN_BROADCAST) => 3,
        _ => 2,
    });
    dels.extend(news);
    dels
}

/// `neigh_delete` as Linux announces it: the entry turns NUD_FAILED without a link-layer
/// address (RTM_NEWNEIGH), then goes (RTM_DELNEIGH, same contents).
fn neigh_deletions(msgs: Vec<Vec<u8>>, deleted: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for m in msgs {
        let is_del = u16::from_ne_bytes([m[4], m[5]]) == RTM_DELNEIGH;
        if !is_del || !deleted.contains(&neigh_ident(&m).0) {
            out.push(m);
            continue;
        }
        let head = NLMSG_HDRLEN + NdMsg::LEN;
        let mut failed = m[..head].to_vec();
        failed[NLMSG_HDRLEN + 8..NLMSG_HDRLEN + 10].copy_from_slice(&NUD_FAILED.to_ne_bytes());
        for (t, data) in Attrs::new(&m[head..]) {
            if t != NDA_LLADDR {
                let len = (4 + data.len()) as u16;
                failed.extend_from_slice(&len.to_ne_bytes());
                failed.extend_from_slice(&t.to_ne_bytes());
                failed.extend_from_slice(data);
                failed.resize(align4(failed.len()), 0);
            }
        }
        let len = failed.len() as u32;
        failed[..4].copy_from_slice(&len.to_ne_bytes());
        out.push(set_type(&failed, RTM_NEWNEIGH));
        out.push(failed);
    }
    out
}

fn link_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (m[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8].to_vec(), without(m, IfInfoMsg::LEN, &[IFLA_STATS64]))
}

fn addr_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = &m[NLMSG_HDRLEN..];
    let mut key = p[4..8].to_vec();
    key.push(p[1]);
    key.extend_from_slice(find_attr(&p[IfAddrMsg::LEN..], IFA_LOCAL).unwrap_or_default());
    (key, without(m, IfAddrMsg::LEN, &[IFA_CACHEINFO]))
}

/// An IPv6 address is its device and IFA_ADDRESS (there is no IFA_LOCAL).
fn addr6_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = &m[NLMSG_HDRLEN..];
    let mut key = p[4..8].to_vec();
    key.extend_from_slice(find_attr(&p[IfAddrMsg::LEN..], IFA_ADDRESS).unwrap_or_default());
    (key, without(m, IfAddrMsg::LEN, &[IFA_CACHEINFO]))
}

/// Linux's order around an IPv6 address change (`inet6_addr_add` adds the prefix route
/// before announcing the address, `__ipv6_ifa_notify` then inserts or deletes its local
/// route, `ipv6_del_addr` drops the prefix route last): new non-local routes, the
/// address messages, deleted local routes, deleted other routes, new local routes.
fn ipv6_order(out: &mut Vec<(u32, Vec<u8>)>) {
    let ty = |m: &[u8]| u16::from_ne_bytes([m[4], m[5]]);
    let local = |m: &[u8]| m.get(NLMSG_HDRLEN + 7) == Some(&RTN_LOCAL);
    let Some(at) = out.iter().position(|(g, _)| *g == RTNLGRP_IPV6_IFADDR) else { return };
    let (mut v6, rest): (Vec<_>, Vec<_>) = std::mem::take(out)
        .into_iter()
        .partition(|(g, _)| *g == RTNLGRP_IPV6_IFADDR || *g == RTNLGRP_IPV6_ROUTE);
    v6.sort_by_key(|(g, m)| match (*g == RTNLGRP_IPV6_ROUTE, ty(m) == RTM_NEWROUTE, local(m)) {
        (true, true, false) => 0,
        (false, _, _) => 1,
        (true, false, true) => 2,
        (true, false, false) => 3,
        (true, true, true) => 4,
    });
    let mut rest = rest;
    let tail = rest.split_off(at.min(rest.len()));
    rest.extend(v6);
    rest.extend(tail);
    *out = rest;
}

fn route_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // A route is its whole message; RTNH_F_LINKDOWN/RTNH_F_DEAD follow the devices
    // without a notification of their own (`fib_sync_down_dev` sends none), in
    // `rtm_flags` and in each path's `rtnh_flags`.
    let mut k = m.to_vec();
    k[NLMSG_HDRLEN + 8..NLMSG_HDRLEN + 12].fill(0);
    let mut at = NLMSG_HDRLEN + RtMsg::LEN;
    while at + 4 <= k.len() {
        let len = usize::from(u16::from_ne_bytes([k[at], k[at + 1]]));
        let ty = u16::from_ne_bytes([k[at + 2], k[at + 3]]);
        if len < 4 || at + len > k.len() {
            break;
        }
        if ty == RTA_CACHEINFO {
            // `rta_expires` counts down without a notification.
            k[at + 4..at + len].fill(0);
        }
        if ty == RTA_MULTIPATH {
            let mut nh = at + 4;
            while nh + 8 <= at + len {
                let nl = usize::from(u16::from_ne_bytes([k[nh], k[nh + 1]]));
                k[nh + 2] = 0;
                if nl < 8 {
                    break;
                }
                nh += align4(nl);
            }
        }
        at += align4(len);
    }
    (k, Vec::new())
}

fn rule_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (m.to_vec(), Vec::new())
}

fn neigh_ident(m: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = &m[NLMSG_HDRLEN..];
    let mut key = p[4..8].to_vec();
    key.extend_from_slice(find_attr(&p[NdMsg::LEN..], NDA_DST).unwrap_or_default());
    (key, without(m, NdMsg::LEN, &[NDA_CACHEINFO]))
}

fn dump_link(net: &mut Net, ctx: &mut Ctx<'_>) {
    link::dump(net, ctx);
}
fn dump_addr(net: &mut Net, ctx: &mut Ctx<'_>) {
    addr::dump(net, ctx, AF_INET);
}
fn dump_route(net: &mut Net, ctx: &mut Ctx<'_>) {
    route::dump(net, ctx, AF_INET);
}
fn dump_rule(net: &mut Net, ctx: &mut Ctx<'_>) {
    rule::dump(net, ctx, AF_INET);
}
fn dump_neigh(net: &mut Net, ctx: &mut Ctx<'_>) {
    neigh::dump(net, ctx, AF_UNSPEC);
}
fn dump_addr6(net: &mut Net, ctx: &mut Ctx<'_>) {
    addr6::dump(net, ctx, AF_INET6);
}
fn dump_route6(net: &mut Net, ctx: &mut Ctx<'_>) {
    route6::dump(net, ctx, AF_INET6);
}
fn dump_rule6(net: &mut Net, ctx: &mut Ctx<'_>) {
    rule::dump(net, ctx, AF_INET6);
}

/// Brings the snapshot up to date and queues the differences. Called at the end of
/// every entry point; a no-op without subscribers or changes (inlined: that check is
/// all most entry points need).
#[inline]
pub fn collect(net: &mut Net, now: Nanos) {
    net.notify.last_now = net.notify.last_now.max(now);
    if net.notify.snap.is_some() {
        collect_changes(net, now);
    }
}

fn collect_changes(net: &mut Net, now: Nanos) {
    let Some(mut snap) = net.notify.snap.take() else { return };
    let groups = net.notify.union();
    let genid = net.fib.genid();
    let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
    for (i, k) in KINDS.iter().enumerate() {
        let due = if i == NEIGH { groups & bit(k.group) != 0 } else { genid != snap.genid };
        if due {
            let msgs = render(net, now, k.dump);
            let mut d = diff(&mut snap.objs[i], msgs, k.del, k.ident);
            if k.group == RTNLGRP_IPV4_ROUTE {
                d = linux_route_order(net, merge_replacements(d));
            } else if k.group == RTNLGRP_IPV6_ROUTE {
                d = merge_replacements(d);
            }
            if k.del == RTM_DELNEIGH {
                let deleted = std::mem::take(&mut net.notify.neigh_deleted);
                d = neigh_deletions(d, &deleted);
            }
            out.extend(d.into_iter().map(|m| (k.group, m)));
        }
    }
    ipv6_order(&mut out);
    snap.genid = genid;
    net.notify.snap = Some(snap);
    let cause = net.notify.cause;
    for (g, mut m) in out {
        if let Some((seq, pid)) = cause.filter(|_| g != RTNLGRP_LINK) {
            let seq = if g == RTNLGRP_NEIGH { 0 } else { seq };
            m[8..12].copy_from_slice(&seq.to_ne_bytes());
            m[12..16].copy_from_slice(&pid.to_ne_bytes());
        }
        net.notify.deliver(g, &m);
    }
}

/// Renders kind `i` into the snapshot without announcing anything.
fn baseline(net: &mut Net, now: Nanos, snap: &mut Snapshot, i: usize) {
    let msgs = render(net, now, KINDS[i].dump);
    diff(&mut snap.objs[i], msgs, 0, KINDS[i].ident);
}

/// Takes the baseline the first time someone listens (and the neighbours' when
/// RTNLGRP_NEIGH gains its first listener); drops it when nobody listens.
fn resnapshot(net: &mut Net, now: Nanos, before: u64) {
    let listening = net.notify.union();
    match net.notify.snap.take() {
        None if listening != 0 => {
            let mut snap = Snapshot { genid: net.fib.genid(), ..Default::default() };
            for i in 0..KINDS.len() {
                baseline(net, now, &mut snap, i);
            }
            net.notify.snap = Some(snap);
        }
        Some(mut snap) if listening != 0 => {
            let neigh = bit(RTNLGRP_NEIGH);
            if before & neigh == 0 && listening & neigh != 0 {
                baseline(net, now, &mut snap, NEIGH);
            }
            net.notify.snap = Some(snap);
        }
        _ => {}
    }
}

/// The socket-facing side: what a host's AF_NETLINK/NETLINK_ROUTE socket needs.
impl Kernel {
    /// Opens a subscriber with the legacy `nl_groups` bitmask (`RTMGRP_*`, bit g-1 for
    /// group g), as `bind(2)` with a `sockaddr_nl` gives it. Its id is an `Fd` at or
    /// above `ID_BASE`; `poll_event` reports its readiness under that fd.
    pub fn netlink_open(&mut self, now: Nanos, groups: u32) -> Fd {
        let n = &mut self.net.notify;
        // Ids are reused only after wrapping around 2^28 opens, skipping live ones.
        let mut id = ID_BASE + n.next;
        while n.subs.contains_key(&id) {
            n.next = (n.next + 1) & (ID_BASE - 1);
            id = ID_BASE + n.next;
        }
        n.next = (n.next + 1) & (ID_BASE - 1);
        n.subs.insert(
            id,
            Sub { groups: 0, queue: VecDeque::new(), bytes: 0, overrun: false, reported: 0 },
        );
        let _ = self.netlink_set_groups(now, id, groups);
        id
    }

    /// `bind(2)`: replaces the groups below 33 with the `nl_groups` bitmask.
    pub fn netlink_set_groups(&mut self, now: Nanos, id: Fd, groups: u32) -> SysResult<()> {
        // Changes before the new membership are not the subscriber's to see.
        collect(&mut self.net, now);
        let before = self.net.notify.union();
        let s = self.net.notify.subs.get_mut(&id).ok_or(Errno::EBADF)?;
        s.groups = (s.groups & !0xffff_ffff) | u64::from(groups);
        resnapshot(&mut self.net, now, before);
        Ok(())
    }

    /// NETLINK_ADD_MEMBERSHIP / NETLINK_DROP_MEMBERSHIP of one group.
    pub fn netlink_membership(
        &mut self,
        now: Nanos,
        id: Fd,
        group: u32,
        join: bool,
    ) -> SysResult<()> {
        if group == 0 || group > GROUP_MAX {
            return Err(Errno::EINVAL);
        }
        collect(&mut self.net, now);
        let before = self.net.notify.union();
        let s = self.net.notify.subs.get_mut(&id).ok_or(Errno::EBADF)?;
        if join {
            s.groups |= bit(group);
        } else {
            s.groups &= !bit(group);
        }
        resnapshot(&mut self.net, now, before);
        Ok(())
    }

    /// The groups of a subscriber (bit g-1 for group g); its low 32 bits are what
    /// getsockname reports as `nl_groups`.
    pub fn netlink_groups(&self, id: Fd) -> SysResult<u64> {
        self.net.notify.subs.get(&id).map(|s| s.groups).ok_or(Errno::EBADF)
    }

    /// The next notification (one message), None when there is none, ENOBUFS once
    /// after messages were lost.
    pub fn netlink_recv(&mut self, now: Nanos, id: Fd) -> SysResult<Option<Vec<u8>>> {
        collect(&mut self.net, now);
        let n = &mut self.net.notify;
        let s = n.subs.get_mut(&id).ok_or(Errno::EBADF)?;
        let r = if s.overrun {
            s.overrun = false;
            Err(Errno::ENOBUFS)
        } else {
            let m = s.queue.pop_front();
            s.bytes -= m.as_ref().map_or(0, |m| m.len());
            Ok(m)
        };
        s.reported = s.mask();
        r
    }

    /// poll(2) bits of a subscriber: POLLIN with messages queued, POLLERR after a loss.
    pub fn netlink_poll(&self, id: Fd) -> SysResult<u16> {
        self.net.notify.subs.get(&id).map(Sub::mask).ok_or(Errno::EBADF)
    }

    pub fn netlink_close(&mut self, now: Nanos, id: Fd) {
        let before = self.net.notify.union();
        self.net.notify.subs.remove(&id);
        resnapshot(&mut self.net, now, before);
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
