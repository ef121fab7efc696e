//! Per message type: requests as iproute2 builds them, replies decoded back, and
//! Linux's errno for each bad case.

use super::wire::*;
use crate::{DeviceConfig, Errno, EthernetAddress, Kernel, KernelConfig};
use std::net::Ipv4Addr;

fn kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let e = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, e, true).unwrap();
    k
}

fn msg(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut w = MsgWriter::default();
    w.begin(NlHeader { ty, flags, seq, pid: 0 });
    w.put_bytes(body);
    w.end();
    w.buf
}

/// Sends one request with NLM_F_REQUEST|NLM_F_ACK|`flags`; returns the ack's errno.
fn req(k: &mut Kernel, ty: u16, flags: u16, body: &[u8]) -> i32 {
    let r = split(&k.netlink(0, &msg(ty, NLM_F_REQUEST | NLM_F_ACK | flags, 1, body)));
    let last = r.last().expect("an ack");
    last.error().expect("NLMSG_ERROR")
}

fn dump(k: &mut Kernel, ty: u16, body: &[u8]) -> Vec<Reply> {
    let mut r = split(&k.netlink(0, &msg(ty, NLM_F_REQUEST | NLM_F_DUMP, 5, body)));
    let done = r.pop().unwrap();
    assert_eq!((done.ty, done.flags, done.seq), (NLMSG_DONE, NLM_F_MULTI, 5));
    assert!(r.iter().all(|m| m.flags & NLM_F_MULTI != 0 && m.seq == 5));
    r
}

fn body(f: impl FnOnce(&mut MsgWriter)) -> Vec<u8> {
    let mut w = MsgWriter::default();
    f(&mut w);
    w.buf
}

fn ifa(index: u32, a: [u8; 4], len: u8) -> Vec<u8> {
    body(|w| {
        IfAddrMsg { family: AF_INET, prefix_len: len, index, ..Default::default() }.emit(w);
        w.attr(IFA_LOCAL, &a);
        w.attr(IFA_ADDRESS, &a);
    })
}

fn rt(dst: [u8; 4], len: u8, kind: u8, attrs: impl FnOnce(&mut MsgWriter)) -> Vec<u8> {
    body(|w| {
        RtMsg {
            family: AF_INET,
            dst_len: len,
            table: 254,
            protocol: 3,
            kind,
            ..Default::default()
        }
        .emit(w);
        if len > 0 {
            w.attr(RTA_DST, &dst);
        }
        attrs(w);
    })
}

const CREATE: u16 = NLM_F_CREATE | NLM_F_EXCL;

#[test]
fn acks_and_framing() {
    let mut k = kernel();
    let b = ifa(2, [10, 0, 0, 1], 24);
    // Success: 36 bytes, NLM_F_CAPPED, the request header echoed.
    let out = k.netlink(0, &msg(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | CREATE, 9, &b));
    assert_eq!(out.len(), 36);
    let r = split(&out);
    assert_eq!(
        (r[0].ty, r[0].flags, r[0].seq, r[0].error()),
        (NLMSG_ERROR, NLM_F_CAPPED, 9, Some(0))
    );
    // Error: the whole request echoed after the errno.
    let req_bytes = msg(RTM_NEWADDR, NLM_F_REQUEST | CREATE, 10, &b);
    let out = k.netlink(0, &req_bytes);
    assert_eq!(out.len(), 20 + req_bytes.len());
    assert_eq!(&out[20..], &req_bytes[..]);
    assert_eq!(split(&out)[0].error(), Some(Errno::EEXIST.0));
    // No ACK flag, success: silence. Not a request / control type: ack only if asked.
    let up = body(|w| IfInfoMsg { index: 2, flags: 1, change: 1, ..Default::default() }.emit(w));
    assert!(k.netlink(0, &msg(RTM_NEWLINK, NLM_F_REQUEST, 1, &up)).is_empty());
    assert!(k.netlink(0, &msg(RTM_NEWADDR, 0, 1, &b)).is_empty());
    assert_eq!(
        split(&k.netlink(0, &msg(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1, &[])))[0].error(),
        Some(0)
    );
    // Lying lengths end the batch without a reply; two messages are both answered.
    let mut bad = msg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &[0; 16]);
    bad[0] = 200;
    assert!(k.netlink(0, &bad).is_empty());
    assert!(k.netlink(0, &bad[..15]).is_empty());
    let two = [
        msg(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 1, &[]),
        msg(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 2, &[]),
    ]
    .concat();
    assert_eq!(split(&k.netlink(0, &two)).iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    // Unknown types; an empty rtgenmsg is accepted and ignored.
    assert_eq!(req(&mut k, 200, 0, &[0; 16]), Errno::EOPNOTSUPP.0);
    assert_eq!(req(&mut k, 36, 0, &[0; 16]), Errno::EOPNOTSUPP.0); // RTM_NEWQDISC
    assert_eq!(req(&mut k, RTM_NEWROUTE, 0, &[]), 0);
    let r = split(&k.netlink(0, &msg(38, NLM_F_REQUEST | NLM_F_DUMP, 1, &[2])));
    assert_eq!(r[0].error(), Some(Errno::EOPNOTSUPP.0)); // RTM_GETQDISC dump
}

#[test]
fn link_messages() {
    let mut k = kernel();
    let links = dump(&mut k, RTM_GETLINK, &[0; 16]);
    let names: Vec<String> =
        links.iter().map(|r| attr_name(&r.payload[16..], IFLA_IFNAME).unwrap().unwrap()).collect();
    assert_eq!(names, ["lo", "eth0"]);
    let eth = IfInfoMsg::parse(&links[1].payload).unwrap();
    assert_eq!((eth.index, eth.ty, eth.flags & 1), (2, ARPHRD_ETHER, 1));
    assert_eq!(attr_u32(&links[1].payload[16..], IFLA_MTU), Ok(Some(1500)));
    assert_eq!(find_attr(&links[1].payload[16..], IFLA_ADDRESS), Some(&[2u8, 0, 0, 0, 0, 1][..]));
    // Get by name (what `ip` does to resolve a name), by index; misses.
    let by_name = body(|w| {
        IfInfoMsg::default().emit(w);
        w.attr_str(IFLA_IFNAME, "eth0");
    });
    let r = split(&k.netlink(0, &msg(RTM_GETLINK, NLM_F_REQUEST, 3, &by_name)));
    assert_eq!((r.len(), r[0].ty, r[0].flags), (1, RTM_NEWLINK, 0));
    assert_eq!(IfInfoMsg::parse(&r[0].payload).unwrap().index, 2);
    let idx = |i: i32| body(|w| IfInfoMsg { index: i, ..Default::default() }.emit(w));
    assert_eq!(req(&mut k, RTM_GETLINK, 0, &idx(9)), Errno::ENODEV.0);
    assert_eq!(req(&mut k, RTM_GETLINK, 0, &idx(0)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_GETLINK, 0, &[0; 8]), Errno::EINVAL.0);
    // Down, MTU, back up.
    let set = |flags: u32, mtu: Option<u32>| {
        body(|w| {
            IfInfoMsg { index: 2, flags, change: 1, ..Default::default() }.emit(w);
            if let Some(m) = mtu {
                w.attr_u32(IFLA_MTU, m);
            }
        })
    };
    assert_eq!(req(&mut k, RTM_NEWLINK, 0, &set(0, Some(1400))), 0);
    assert!(!k.dev(2).unwrap().flags.contains(crate::DevFlags::UP));
    assert_eq!(k.dev(2).unwrap().mtu, 1400);
    assert_eq!(req(&mut k, RTM_NEWLINK, 0, &set(1, Some(20))), Errno::EINVAL.0);
    assert_eq!(k.dev(2).unwrap().mtu, 1400, "a failed request changes nothing");
    assert!(!k.dev(2).unwrap().flags.contains(crate::DevFlags::UP));
    assert_eq!(req(&mut k, RTM_SETLINK, 0, &set(1, None)), 0);
    assert!(k.dev(2).unwrap().flags.contains(crate::DevFlags::UP));
    // Short MTU attribute, device creation, deletion.
    let short = body(|w| {
        IfInfoMsg { index: 2, ..Default::default() }.emit(w);
        w.attr(IFLA_MTU, &[1, 2]);
    });
    assert_eq!(req(&mut k, RTM_NEWLINK, 0, &short), Errno::ERANGE.0);
    let veth = body(|w| {
        IfInfoMsg::default().emit(w);
        w.attr_str(IFLA_IFNAME, "veth9");
    });
    assert_eq!(req(&mut k, RTM_NEWLINK, CREATE, &veth), Errno::EOPNOTSUPP.0);
    assert_eq!(req(&mut k, RTM_NEWLINK, 0, &veth), Errno::ENODEV.0);
    assert_eq!(req(&mut k, RTM_DELLINK, 0, &idx(2)), Errno::EOPNOTSUPP.0);
    assert_eq!(req(&mut k, RTM_NEWLINK, CREATE, &idx(2)), Errno::EEXIST.0);
}

#[test]
fn addr_messages() {
    let mut k = kernel();
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(2, [10, 0, 0, 1], 24)), 0);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(2, [10, 0, 0, 1], 24)), Errno::EEXIST.0);
    assert_eq!(
        req(&mut k, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa(2, [10, 0, 0, 1], 24)),
        0
    );
    assert_eq!(req(&mut k, RTM_NEWADDR, 0, &ifa(2, [10, 0, 0, 2], 24)), Errno::ENOENT.0);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(9, [10, 0, 0, 2], 24)), Errno::ENODEV.0);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(2, [10, 0, 0, 2], 33)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &[2, 24, 0, 0, 2, 0, 0, 0]), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &[2, 24, 0, 0]), Errno::EINVAL.0);
    let mut v6 = ifa(2, [10, 0, 0, 2], 24);
    v6[0] = 10;
    // AF_INET6 with a 4-byte address: malformed (`extract_addr`).
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &v6), Errno::EINVAL.0);
    let short = body(|w| {
        IfAddrMsg { family: AF_INET, prefix_len: 24, index: 2, ..Default::default() }.emit(w);
        w.attr(IFA_LOCAL, &[10, 0]);
    });
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &short), Errno::EINVAL.0);
    let addrs = dump(&mut k, RTM_GETADDR, &[AF_INET]);
    assert_eq!(addrs.len(), 2);
    let m = IfAddrMsg::parse(&addrs[1].payload).unwrap();
    assert_eq!((m.family, m.prefix_len, m.index, m.scope), (AF_INET, 24, 2, 0));
    let a = &addrs[1].payload[8..];
    assert_eq!(attr_in_addr(a, IFA_LOCAL), Ok(Some(Ipv4Addr::new(10, 0, 0, 1))));
    // No IFA_BROADCAST in the request, none on the address (`inet_rtm_newaddr`).
    assert_eq!(attr_in_addr(a, IFA_BROADCAST), Ok(None));
    assert_eq!(attr_u32(a, IFA_FLAGS), Ok(Some(IFA_F_PERMANENT)));
    assert_eq!(attr_name(a, IFA_LABEL), Ok(Some("eth0".into())));
    assert_eq!(req(&mut k, RTM_DELADDR, 0, &ifa(2, [10, 0, 0, 9], 24)), Errno::EADDRNOTAVAIL.0);
    assert_eq!(req(&mut k, RTM_DELADDR, 0, &ifa(2, [10, 0, 0, 1], 24)), 0);
    assert_eq!(dump(&mut k, RTM_GETADDR, &[AF_INET]).len(), 1);
    // AF_UNSPEC: IPv4 then IPv6 (::1 on lo at least); AF_INET6: IPv6 only.
    let all = dump(&mut k, RTM_GETADDR, &[0]);
    assert!(all.len() >= 2 && all[0].payload[0] == AF_INET && all[1].payload[0] == 10);
    let v6 = dump(&mut k, RTM_GETADDR, &[10]);
    assert!(!v6.is_empty() && v6.iter().all(|m| m.payload[0] == 10));
}

fn routes(k: &mut Kernel) -> Vec<(RtMsg, Vec<u8>)> {
    dump(k, RTM_GETROUTE, &[AF_INET])
        .into_iter()
        .map(|r| (RtMsg::parse(&r.payload).unwrap(), r.payload[RtMsg::LEN..].to_vec()))
        .collect()
}

#[test]
fn route_messages() {
    let mut k = kernel();
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(2, [10, 0, 0, 1], 24)), 0);
    let via = |g: [u8; 4], metric: u32| {
        move |w: &mut MsgWriter| {
            w.attr(RTA_GATEWAY, &g);
            w.attr_u32(RTA_PRIORITY, metric);
        }
    };
    let r1 = rt([10, 9, 0, 0], 16, RTN_UNICAST, via([10, 0, 0, 254], 5));
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &r1), 0);
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &r1), Errno::EEXIST.0);
    assert_eq!(req(&mut k, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND, &r1), Errno::EEXIST.0);
    let r2 = rt([10, 9, 0, 0], 16, RTN_UNICAST, via([10, 0, 0, 253], 5));
    assert_eq!(req(&mut k, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND, &r2), 0);
    assert_eq!(req(&mut k, RTM_NEWROUTE, NLM_F_REPLACE, &r2), 0);
    let r3 = rt([10, 8, 0, 0], 16, RTN_UNICAST, via([10, 0, 0, 253], 5));
    assert_eq!(req(&mut k, RTM_NEWROUTE, NLM_F_REPLACE, &r3), Errno::ENOENT.0);
    // Round trip: the dump gives back what was added, in Linux's attribute layout.
    let main: Vec<_> = routes(&mut k).into_iter().filter(|(m, _)| m.table == 254).collect();
    let (m, a) = main.iter().find(|(m, _)| m.dst_len == 16).unwrap();
    assert_eq!((m.family, m.protocol, m.scope, m.kind), (AF_INET, 3, 0, RTN_UNICAST));
    assert_eq!(attr_in_addr(a, RTA_DST), Ok(Some(Ipv4Addr::new(10, 9, 0, 0))));
    assert_eq!(attr_in_addr(a, RTA_GATEWAY), Ok(Some(Ipv4Addr::new(10, 0, 0, 253))));
    assert_eq!(attr_u32(a, RTA_PRIORITY), Ok(Some(5)));
    assert_eq!(attr_u32(a, RTA_OIF), Ok(Some(2)));
    assert_eq!(attr_u32(a, RTA_TABLE), Ok(Some(254)));
    assert_eq!(main.iter().filter(|(m, _)| m.dst_len == 16).count(), 2);
    // Big table ids go in RTA_TABLE with rtm_table = RT_TABLE_COMPAT.
    let t = rt([10, 7, 0, 0], 16, RTN_UNICAST, |w| {
        w.attr(RTA_GATEWAY, &[10, 0, 0, 254]);
        w.attr_u32(RTA_TABLE, 1000);
    });
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &t), 0);
    let (m, _) = routes(&mut k)
        .into_iter()
        .find(|(m, a)| m.table == RT_TABLE_COMPAT && attr_u32(a, RTA_TABLE) == Ok(Some(1000)))
        .unwrap();
    assert_eq!(m.dst_len, 16);
    // Multipath round trip.
    let mp = rt([10, 5, 0, 0], 16, RTN_UNICAST, |w| {
        let mut nh = Vec::new();
        for (g, hops) in [([10, 0, 0, 3], 1u8), ([10, 0, 0, 4], 0)] {
            nh.extend_from_slice(&16u16.to_ne_bytes());
            nh.extend_from_slice(&[0, hops, 0, 0, 0, 0, 8, 0, 5, 0]);
            nh.extend_from_slice(&g);
        }
        w.attr(RTA_MULTIPATH, &nh);
    });
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &mp), 0);
    let (_, a) =
        routes(&mut k).into_iter().find(|(_, a)| find_attr(a, RTA_MULTIPATH).is_some()).unwrap();
    let nh = find_attr(&a, RTA_MULTIPATH).unwrap();
    assert_eq!((nh.len(), nh[3], nh[4], nh[19], nh[20]), (32, 1, 2, 0, 2));
    // Deletes: missing is ESRCH; wildcard fields select.
    let del = rt([10, 9, 0, 0], 16, RTN_UNSPEC, |_| {});
    assert_eq!(req(&mut k, RTM_DELROUTE, 0, &del), 0);
    assert_eq!(req(&mut k, RTM_DELROUTE, 0, &del), 0);
    assert_eq!(req(&mut k, RTM_DELROUTE, 0, &del), 3);
    // Bad requests.
    assert_eq!(
        req(&mut k, RTM_NEWROUTE, CREATE, &rt([10, 1, 0, 0], 33, 1, |_| {})),
        Errno::EINVAL.0
    );
    let host_bits = rt([10, 1, 2, 3], 16, RTN_UNICAST, |w| w.attr_u32(RTA_OIF, 2));
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &host_bits), Errno::EINVAL.0);
    assert_eq!(
        req(&mut k, RTM_NEWROUTE, CREATE, &rt([10, 1, 0, 0], 16, 9, |_| {})),
        Errno::EOPNOTSUPP.0
    );
    assert_eq!(
        req(&mut k, RTM_NEWROUTE, CREATE, &rt([10, 1, 0, 0], 16, 200, |_| {})),
        Errno::EINVAL.0
    );
    let short = rt([10, 1, 0, 0], 16, RTN_UNICAST, |w| w.attr(RTA_PRIORITY, &[1]));
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &short), Errno::ERANGE.0);
    let far = rt([10, 1, 0, 0], 16, RTN_UNICAST, |w| w.attr(RTA_GATEWAY, &[10, 99, 0, 1]));
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &far), Errno::ENETUNREACH.0);
    assert_eq!(
        req(&mut k, RTM_NEWROUTE, CREATE, &rt([10, 1, 0, 0], 16, 1, |_| {})),
        Errno::ENODEV.0
    );
    let bh_dev = rt([10, 1, 0, 0], 16, RTN_BLACKHOLE, |w| w.attr_u32(RTA_OIF, 2));
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &bh_dev), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &[2, 16, 0, 0]), Errno::EINVAL.0);
    let mut v6 = r1.clone();
    v6[0] = 10;
    // An IPv4-sized RTA_DST in an AF_INET6 request (`rtm_ipv6_policy`).
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &v6), Errno::EINVAL.0);
}

#[test]
fn route_get() {
    let mut k = kernel();
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &ifa(2, [10, 0, 0, 1], 24)), 0);
    let get = |d: [u8; 4]| {
        body(|w| {
            RtMsg { family: AF_INET, dst_len: 32, ..Default::default() }.emit(w);
            w.attr(RTA_DST, &d);
        })
    };
    let r = split(&k.netlink(0, &msg(RTM_GETROUTE, NLM_F_REQUEST, 4, &get([10, 0, 0, 7]))));
    assert_eq!((r.len(), r[0].ty, r[0].seq), (1, RTM_NEWROUTE, 4));
    let m = RtMsg::parse(&r[0].payload).unwrap();
    assert_eq!((m.dst_len, m.kind, m.flags & RTM_F_CLONED), (32, RTN_UNICAST, RTM_F_CLONED));
    let a = &r[0].payload[12..];
    assert_eq!(attr_u32(a, RTA_OIF), Ok(Some(2)));
    assert_eq!(attr_in_addr(a, RTA_PREFSRC), Ok(Some(Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(find_attr(a, RTA_GATEWAY), None);
    let r = split(&k.netlink(0, &msg(RTM_GETROUTE, NLM_F_REQUEST, 4, &get([10, 0, 0, 1]))));
    assert_eq!(RtMsg::parse(&r[0].payload).unwrap().kind, RTN_LOCAL);
    assert_eq!(req(&mut k, RTM_GETROUTE, 0, &get([192, 0, 2, 1])), Errno::ENETUNREACH.0);
    let bh = rt([192, 0, 2, 0], 24, RTN_UNREACHABLE, |_| {});
    assert_eq!(req(&mut k, RTM_NEWROUTE, CREATE, &bh), 0);
    assert_eq!(req(&mut k, RTM_GETROUTE, 0, &get([192, 0, 2, 1])), Errno::EHOSTUNREACH.0);
}

#[test]
fn neigh_messages() {
    let mut k = kernel();
    let nd = |ifindex: i32, family: u8, mac: bool| {
        body(|w| {
            NdMsg { family, ifindex, state: NUD_PERMANENT, flags: 0, kind: 0 }.emit(w);
            w.attr(NDA_DST, &[10, 0, 0, 9]);
            if mac {
                w.attr(NDA_LLADDR, &[2, 0, 0, 0, 0, 9]);
            }
        })
    };
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(2, AF_INET, true)), 0);
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(2, AF_INET, true)), Errno::EEXIST.0);
    assert_eq!(req(&mut k, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd(2, AF_INET, true)), 0);
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(2, AF_INET, false)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(9, AF_INET, true)), Errno::ENODEV.0);
    // An IPv4-sized NDA_DST in an AF_INET6 request; an unknown family.
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(2, 10, true)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWNEIGH, CREATE, &nd(2, 7, true)), Errno::EAFNOSUPPORT.0);
    assert_eq!(
        req(&mut k, RTM_NEWNEIGH, CREATE, &[2, 0, 0, 0, 2, 0, 0, 0, 0x80, 0, 0, 0]),
        Errno::EINVAL.0
    );
    let n = dump(&mut k, RTM_GETNEIGH, &[AF_INET]);
    assert_eq!(n.len(), 1);
    let m = NdMsg::parse(&n[0].payload).unwrap();
    assert_eq!((m.ifindex, m.state), (2, NUD_PERMANENT));
    assert_eq!(find_attr(&n[0].payload[12..], NDA_LLADDR), Some(&[2u8, 0, 0, 0, 0, 9][..]));
    assert_eq!(req(&mut k, RTM_DELNEIGH, 0, &nd(2, AF_INET, false)), 0);
    assert_eq!(req(&mut k, RTM_DELNEIGH, 0, &nd(2, AF_INET, false)), Errno::ENOENT.0);
    assert!(dump(&mut k, RTM_GETNEIGH, &[0]).is_empty());
}

#[test]
fn extended_ack_text() {
    let mut k = kernel();
    let b = ifa(2, [10, 0, 0, 1], 24);
    assert_eq!(req(&mut k, RTM_NEWADDR, CREATE, &b), 0);
    let out = super::process(&mut k.net, 0, &msg(RTM_NEWADDR, NLM_F_REQUEST | CREATE, 1, &b), true);
    let r = split(&out);
    assert_eq!(r[0].flags, 0x200); // NLM_F_ACK_TLVS
    let tlvs = &r[0].payload[4 + 16 + b.len()..];
    assert_eq!(
        find_attr(tlvs, 1).map(|s| String::from_utf8_lossy(s).into_owned()),
        Some("ipv4: Address already assigned\0".into())
    );
}

#[test]
fn rule_messages() {
    use super::rule::{
        FR_ACT_TO_TBL, FRA_PRIORITY, FRA_SRC, RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE,
    };
    let mut k = kernel();
    let rule = |family: u8, src_len: u8, action: u8| {
        body(|w| {
            let h = RtMsg { family, src_len, table: 100, kind: action, ..Default::default() };
            h.emit(w);
            w.attr(FRA_SRC, &[10, 0, 0, 0]);
            w.attr_u32(FRA_PRIORITY, 500);
        })
    };
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(AF_INET, 24, FR_ACT_TO_TBL)), 0);
    assert_eq!(
        req(&mut k, RTM_NEWRULE, CREATE, &rule(AF_INET, 24, FR_ACT_TO_TBL)),
        Errno::EEXIST.0
    );
    // An IPv4-sized FRA_SRC in an AF_INET6 rule (`fib_nl2rule`: addr_size).
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(10, 24, 1)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(7, 24, 1)), Errno::EAFNOSUPPORT.0);
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(AF_INET, 33, 1)), Errno::EINVAL.0);
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(AF_INET, 24, 2)), Errno::EOPNOTSUPP.0);
    assert_eq!(req(&mut k, RTM_NEWRULE, CREATE, &rule(AF_INET, 24, 99)), Errno::EINVAL.0);
    let rules = dump(&mut k, RTM_GETRULE, &[AF_INET]);
    assert_eq!(rules.len(), 4);
    let h = RtMsg::parse(&rules[1].payload).unwrap();
    let a = &rules[1].payload[RtMsg::LEN..];
    assert_eq!((h.src_len, h.table, h.kind), (24, 100, FR_ACT_TO_TBL));
    assert_eq!(attr_u32(a, FRA_PRIORITY), Ok(Some(500)));
    assert_eq!(attr_in_addr(a, FRA_SRC), Ok(Some(Ipv4Addr::new(10, 0, 0, 0))));
    let del = body(|w| {
        RtMsg { family: AF_INET, ..Default::default() }.emit(w);
        w.attr_u32(FRA_PRIORITY, 500);
    });
    assert_eq!(req(&mut k, RTM_DELRULE, 0, &del), 0);
    assert_eq!(req(&mut k, RTM_DELRULE, 0, &del), Errno::ENOENT.0);
}
