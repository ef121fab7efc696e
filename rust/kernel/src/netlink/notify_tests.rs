//! Notifications from every path, group filtering, overrun, readiness events.

use super::*;
use crate::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr};

const ALL: u32 = 1 << (RTNLGRP_LINK - 1)
    | 1 << (RTNLGRP_NEIGH - 1)
    | 1 << (RTNLGRP_IPV4_IFADDR - 1)
    | 1 << (RTNLGRP_IPV4_ROUTE - 1)
    | 1 << (RTNLGRP_IPV4_RULE - 1);

fn kernel() -> (Kernel, u32) {
    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let e = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, e, true).unwrap();
    (k, e)
}

/// (type, the message) of everything queued for `id`.
fn drain(k: &mut Kernel, id: Fd) -> Vec<(u16, Vec<u8>)> {
    let mut v = Vec::new();
    while let Some(m) = k.netlink_recv(0, id).unwrap() {
        let p = NlPacket::new_checked(&m[..]).expect("a whole message");
        assert_eq!(p.len() as usize, m.len());
        v.push((p.ty(), m.clone()));
    }
    v
}

fn types(v: &[(u16, Vec<u8>)]) -> Vec<u16> {
    v.iter().map(|(t, _)| *t).collect()
}

/// rtm_dst_len and RTA_DST of a route message.
fn route_dst(m: &[u8]) -> (Ipv4Addr, u8) {
    let p = &m[NLMSG_HDRLEN..];
    let a = find_attr(&p[RtMsg::LEN..], RTA_DST).map_or([0; 4], |d| [d[0], d[1], d[2], d[3]]);
    (Ipv4Addr::from(a), p[1])
}

#[test]
fn address_add_and_del_announce_address_then_routes() {
    let (mut k, e) = kernel();
    let id = k.netlink_open(0, ALL);
    assert!(id >= ID_BASE);
    assert!(drain(&mut k, id).is_empty(), "the baseline is not announced");
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v)[0], RTM_NEWADDR);
    assert!(types(&v)[1..].iter().all(|&t| t == RTM_NEWROUTE));
    let dsts: Vec<_> = v[1..].iter().map(|(_, m)| route_dst(m)).collect();
    for want in [("10.0.0.0", 24), ("10.0.0.1", 32), ("10.0.0.255", 32)] {
        assert!(dsts.contains(&(want.0.parse().unwrap(), want.1)), "{want:?} in {dsts:?}");
    }
    k.addr_del(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v)[0], RTM_DELADDR);
    assert_eq!(types(&v)[1..], [RTM_DELROUTE; 3]);
}

#[test]
fn link_down_and_carrier_send_newlink_and_drop_routes() {
    let (mut k, e) = kernel();
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    let id = k.netlink_open(0, ALL);
    k.dev_set_carrier(0, e, false).unwrap();
    assert_eq!(types(&drain(&mut k, id)), [RTM_NEWLINK]);
    k.dev_set_carrier(0, e, true).unwrap();
    assert_eq!(types(&drain(&mut k, id)), [RTM_NEWLINK]);
    k.run_ip(0, "link set dev eth0 down").unwrap();
    let v = types(&drain(&mut k, id));
    assert_eq!(v[0], RTM_NEWLINK);
    // The connected and broadcast routes go (the local one stays, host scope), flushed
    // without an announcement as in Linux: only the RTM_NEWLINK.
    assert_eq!(v.len(), 1);
    assert!(k.routes().all(|r| r.oif != Some(e) || r.kind == crate::RouteKind::Local));
    k.run_ip(0, "link set dev eth0 up mtu 1400").unwrap();
    let v = types(&drain(&mut k, id));
    assert_eq!(v[0], RTM_NEWLINK);
    assert_eq!(v[1..], [RTM_NEWROUTE; 2]);
    // An address: local, prefix, then subnet broadcast routes (`fib_add_ifaddr`); a
    // configured broadcast comes before the prefix; deletions end with the local one.
    let local = |m: &[u8]| m[NLMSG_HDRLEN + 7] == RTN_LOCAL;
    let brd = |m: &[u8]| m[NLMSG_HDRLEN + 7] == RTN_BROADCAST;
    k.run_ip(0, "addr add 10.6.0.1/24 brd + dev eth0").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWROUTE]);
    assert!(local(&v[1].1) && brd(&v[2].1) && !local(&v[3].1) && !brd(&v[3].1));
    k.run_ip(0, "addr add 10.5.0.1/24 dev eth0").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWROUTE]);
    assert!(local(&v[1].1) && !local(&v[2].1) && !brd(&v[2].1) && brd(&v[3].1));
    k.addr_del(0, e, "10.5.0.1".parse().unwrap(), 24).unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_DELADDR, RTM_DELROUTE, RTM_DELROUTE, RTM_DELROUTE]);
    assert!(local(&v[3].1) && !local(&v[1].1));
}

#[test]
fn routes_rules_and_neighbours_from_run_ip() {
    let (mut k, e) = kernel();
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    let id = k.netlink_open(0, ALL);
    k.run_ip(0, "route add 10.9.0.0/16 via 10.0.0.2 proto bird").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWROUTE]);
    assert_eq!(route_dst(&v[0].1), ("10.9.0.0".parse().unwrap(), 16));
    assert_eq!(v[0].1[NLMSG_HDRLEN + 5], 12, "rtm_protocol bird");
    k.run_ip(0, "route del 10.9.0.0/16").unwrap();
    assert_eq!(types(&drain(&mut k, id)), [RTM_DELROUTE]);
    k.run_ip(0, "rule add from 10.1.0.0/16 table 100").unwrap();
    assert_eq!(types(&drain(&mut k, id)), [rule::RTM_NEWRULE]);
    k.run_ip(0, "neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev eth0").unwrap();
    assert_eq!(types(&drain(&mut k, id)), [RTM_NEWNEIGH]);
    // `neigh_delete`: NUD_FAILED without an address, then gone.
    k.run_ip(0, "neigh del 10.0.0.7 dev eth0").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWNEIGH, RTM_DELNEIGH]);
    for (_, m) in &v {
        let state = u16::from_ne_bytes([m[NLMSG_HDRLEN + 8], m[NLMSG_HDRLEN + 9]]);
        assert_eq!(state, NUD_FAILED);
        assert!(find_attr(&m[NLMSG_HDRLEN + NdMsg::LEN..], NDA_LLADDR).is_none());
        assert_eq!(NlPacket::new_checked(&m[..]).unwrap().len() as usize, m.len());
    }
}

#[test]
fn groups_filter_and_membership() {
    let (mut k, e) = kernel();
    let links = k.netlink_open(0, 1 << (RTNLGRP_LINK - 1));
    let none = k.netlink_open(0, 0);
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    assert!(drain(&mut k, links).is_empty());
    assert!(drain(&mut k, none).is_empty());
    k.netlink_membership(0, none, RTNLGRP_IPV4_ROUTE, true).unwrap();
    assert_eq!(k.netlink_groups(none), Ok(1 << 6));
    assert_eq!(k.netlink_membership(0, none, 0, true), Err(Errno::EINVAL));
    assert_eq!(k.netlink_membership(0, none, 65, true), Err(Errno::EINVAL));
    k.run_ip(0, "route add 10.9.0.0/16 via 10.0.0.2").unwrap();
    assert!(drain(&mut k, links).is_empty());
    assert_eq!(types(&drain(&mut k, none)), [RTM_NEWROUTE]);
    k.netlink_close(0, links);
    assert_eq!(k.netlink_recv(0, links), Err(Errno::EBADF));
}

#[test]
fn readiness_events_and_poll_mask() {
    let (mut k, e) = kernel();
    let id = k.netlink_open(0, ALL);
    while k.poll_event().is_some() {}
    assert_eq!(k.netlink_poll(id), Ok(0));
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    assert_eq!(k.poll_event(), Some(Event { fd: id, revents: POLLIN }));
    assert_eq!(k.poll_event(), None, "one event per change of mask");
    assert_eq!(k.netlink_poll(id), Ok(POLLIN));
    drain(&mut k, id);
    assert_eq!(k.netlink_poll(id), Ok(0));
}

#[test]
fn overrun_gives_enobufs_once_then_resumes() {
    let (mut k, e) = kernel();
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 16).unwrap();
    let id = k.netlink_open(0, 1 << (RTNLGRP_IPV4_ROUTE - 1));
    for i in 0..6000u32 {
        let r = crate::Route::new(
            IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + (i << 8))),
            24,
            Some(IpAddr::V4("10.0.0.2".parse().unwrap())),
            None,
        );
        k.route_add(r).unwrap();
        if i % 200 == 199 {
            k.dev_set_carrier(0, e, true).unwrap(); // any entry point announces
        }
    }
    assert!(k.netlink_poll(id).unwrap() & POLLERR != 0);
    // The error comes first (sock_error in `__skb_try_recv_datagram`), once.
    assert_eq!(k.netlink_recv(0, id), Err(Errno::ENOBUFS));
    let got = drain(&mut k, id).len();
    assert!(got > 100 && got < 6000, "{got}");
    assert_eq!(k.netlink_recv(0, id), Ok(None));
    k.run_ip(0, "route add 12.0.0.0/8 via 10.0.0.2").unwrap();
    assert_eq!(types(&drain(&mut k, id)), [RTM_NEWROUTE]);
}

#[test]
fn nothing_is_kept_without_listeners_and_counters_are_not_news() {
    let (mut k, e) = kernel();
    assert!(k.net.notify.snap.is_none());
    let id = k.netlink_open(0, 0);
    assert!(k.net.notify.snap.is_none());
    k.netlink_set_groups(0, id, ALL).unwrap();
    assert!(k.net.notify.snap.is_some());
    // Traffic changes counters and neighbour timers, not what is announced.
    k.dev_rx(0, e, &[0xff; 60]);
    k.advance(10_000_000_000);
    assert!(drain(&mut k, id).is_empty());
    k.netlink_set_groups(0, id, 0).unwrap();
    assert!(k.net.notify.snap.is_none());
}

#[test]
fn a_replaced_route_is_one_newroute_flagged_replace() {
    let (mut k, e) = kernel();
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    k.run_ip(0, "route add 10.9.0.0/16 via 10.0.0.2 metric 5").unwrap();
    let id = k.netlink_open(0, ALL);
    k.run_ip(0, "route replace 10.9.0.0/16 via 10.0.0.3 metric 5").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWROUTE]);
    let flags = u16::from_ne_bytes([v[0].1[6], v[0].1[7]]);
    assert_eq!(flags, NLM_F_REPLACE);
    // Another metric is another route: added, the old one stays.
    k.run_ip(0, "route add 10.9.0.0/16 via 10.0.0.4 metric 6").unwrap();
    let v = drain(&mut k, id);
    assert_eq!(types(&v), [RTM_NEWROUTE]);
    assert_eq!(u16::from_ne_bytes([v[0].1[6], v[0].1[7]]), 0);
}

#[test]
fn calls_without_now_are_announced_at_poll_event() {
    let (mut k, e) = kernel();
    k.addr_add(0, e, "10.0.0.1".parse().unwrap(), 24).unwrap();
    let id = k.netlink_open(0, ALL);
    while k.poll_event().is_some() {}
    let r =
        crate::Route::new("10.9.0.0".parse().unwrap(), 16, Some("10.0.0.2".parse().unwrap()), None);
    k.route_add(r).unwrap();
    assert_eq!(k.poll_event(), Some(Event { fd: id, revents: POLLIN }));
    assert_eq!(types(&drain(&mut k, id)), [RTM_NEWROUTE]);
    k.sysctl_set("net.ipv4.ip_forward", "1").unwrap();
    assert_eq!(k.poll_event(), None, "no change to announce");
}

/// Random configuration changes and random bytes with listeners on every group: no
/// panic, every queued message whole, queues within their bound, and the snapshot
/// equal to a fresh one (nothing missed).
#[test]
fn random_changes_keep_messages_whole_and_the_snapshot_exact() {
    let (mut k, _) = kernel();
    let all = k.netlink_open(0, ALL);
    let mut rng = crate::rand::Rng::new(11);
    let words = [
        "addr add 10.0.0.1/24 dev eth0",
        "addr add 10.0.0.2/24 dev eth0",
        "addr add 10.0.1.1/16 dev eth0",
        "addr del 10.0.0.1/24 dev eth0",
        "addr flush dev eth0",
        "route add 10.9.0.0/16 via 10.0.0.5",
        "route replace 10.9.0.0/16 via 10.0.0.6 metric 3",
        "route add 10.8.0.0/16 nexthop via 10.0.0.5 nexthop via 10.0.0.6",
        "route del 10.9.0.0/16",
        "route add blackhole 10.7.0.0/16",
        "link set dev eth0 down",
        "link set dev eth0 up",
        "link set dev eth0 mtu 1400",
        "rule add from 10.1.0.0/16 table 100",
        "rule del from 10.1.0.0/16 table 100",
        "neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0",
        "neigh del 10.0.0.9 dev eth0",
    ];
    for i in 0..400u64 {
        let w = words[rng.next_u32() as usize % words.len()];
        let _ = k.run_ip(i, w);
        if rng.next_u32().is_multiple_of(4) {
            let len = rng.next_u32() as usize % 64;
            let mut junk: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            if junk.len() >= 16 {
                junk[..4].copy_from_slice(&(len as u32).to_ne_bytes());
                junk[6] |= 1; // NLM_F_REQUEST
            }
            k.netlink(i, &junk);
        }
        if rng.next_u32().is_multiple_of(8) {
            assert!(k.net.notify.subs[&all].bytes <= QUEUE_BYTES);
            drain(&mut k, all);
        }
    }
    drain(&mut k, all);
    // What the notifier holds is what a fresh baseline would hold.
    let mut fresh = Snapshot::default();
    for i in 0..KINDS.len() {
        baseline(&mut k.net, 0, &mut fresh, i);
    }
    let snap = k.net.notify.snap.as_ref().unwrap();
    for i in 0..KINDS.len() {
        let keys = |s: &Snapshot| s.objs[i].by_key.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(snap), keys(&fresh), "kind {i}");
    }
}

#[test]
fn notifications_of_a_request_carry_its_sequence_and_sender() {
    let (mut k, _) = kernel();
    let id = k.netlink_open(0, ALL);
    // `ip addr add 10.0.0.1/24 dev eth0` as a request with seq 77 from port 4242.
    let mut w = MsgWriter::default();
    w.begin(NlHeader {
        ty: RTM_NEWADDR,
        flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq: 77,
        pid: 4242,
    });
    IfAddrMsg { family: AF_INET, prefix_len: 24, index: 2, ..Default::default() }.emit(&mut w);
    w.attr(IFA_LOCAL, &[10, 0, 0, 1]);
    w.end();
    k.netlink(0, &w.buf);
    let mut n = 0;
    while let Some(m) = k.netlink_recv(0, id).unwrap() {
        let p = NlPacket::new_checked(&m[..]).unwrap();
        assert_eq!((p.seq(), p.pid()), (77, 4242), "type {}", p.ty());
        n += 1;
    }
    assert_eq!(n, 4, "the address and its three routes");
    // Changes from elsewhere carry none.
    k.run_ip(0, "link set dev eth0 mtu 1400").unwrap();
    let m = k.netlink_recv(0, id).unwrap().unwrap();
    let p = NlPacket::new_checked(&m[..]).unwrap();
    assert_eq!((p.ty(), p.seq(), p.pid()), (RTM_NEWLINK, 0, 0));
}
