//! IGMP, host side (Linux `net/ipv4/igmp.c`): which groups each device has joined (a
//! count of the sockets that joined), the reports announcing a join or a leave —
//! IGMPv3 state-change reports sent `igmp_qrv` times (RFC 3376 §5.1), or IGMPv2 reports
//! and leaves while an older querier is present (RFC 3376 §7.2.1) — and the answers to
//! queries after a random delay (RFC 2236 §3, RFC 3376 §5.2). 224.0.0.1 is never
//! reported. Packets carry the Router Alert option, TTL 1, TOS 0xc0, as Linux sends.

use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::igmp::{self, IgmpRepr};
use crate::wire::ipv4::Ipv4Packet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

const MS: Nanos = 1_000_000;
/// Linux `IGMP_V3_UNSOLICITED_REPORT_INTERVAL` / `IGMP_V2_UNSOLICITED_REPORT_INTERVAL`.
const V3_UNSOLICITED: Nanos = 1_000 * MS;
const V2_UNSOLICITED: Nanos = 10_000 * MS;
/// Robustness, query interval and response interval defaults (RFC 3376 §8).
const QRV: u8 = 2;
const QUERY_INTERVAL: Nanos = 125_000 * MS;
const QUERY_RESPONSE: Nanos = 10_000 * MS;
const ALL_HOSTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
const V3_REPORTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// IP Router Alert (RFC 2113).
const ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0, 0];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// State-change record (v3), sends left.
    Change(u8, u8),
    /// Answer to a query: current state.
    Current,
    /// v2 unsolicited reports left.
    V2Reports(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Membership {
    users: u32,
    pending: Option<Pending>,
    /// Leaving: the membership goes once its change records are sent.
    leaving: bool,
}

/// IGMP state of one namespace.
#[derive(Default)]
pub struct Igmp {
    groups: BTreeMap<(IfIndex, Ipv4Addr), Membership>,
    /// When each (device, group) has a report due.
    timers: BTreeSet<(Nanos, IfIndex, Ipv4Addr)>,
    /// Devices with a v1/v2 querier, until when (Linux `mr_v2_seen`).
    older_querier: BTreeMap<IfIndex, Nanos>,
    pub out_reports: u64,
    /// Malformed or bad-checksum messages.
    pub in_errors: u64,
}

impl crate::deadline::Timers for Igmp {
    fn next_deadline(&self) -> Option<Nanos> {
        let t = self.timers.first().map(|t| t.0);
        let q = self.older_querier.values().min().copied();
        [t, q].into_iter().flatten().min()
    }
}

impl Igmp {
    fn v2_mode(&self, ifindex: IfIndex) -> bool {
        self.older_querier.contains_key(&ifindex)
    }

    fn schedule(&mut self, at: Nanos, key: (IfIndex, Ipv4Addr)) {
        self.timers.retain(|t| (t.1, t.2) != key);
        self.timers.insert((at, key.0, key.1));
    }

    /// Devices' joined groups, for `ip maddr`-style listings.
    pub fn joined(&self) -> impl Iterator<Item = (IfIndex, Ipv4Addr)> + '_ {
        self.groups.iter().filter(|(_, m)| !m.leaving).map(|(&k, _)| k)
    }
}

fn jitter(net: &mut Net, max: Nanos) -> Nanos {
    if max == 0 { 0 } else { net.rng.next_u64() % max }
}

impl Net {
    /// A socket joined `group` on `ifindex` (`ip_mc_inc_group`): the first join
    /// announces it.
    pub(crate) fn mc_join(&mut self, now: Nanos, ifindex: IfIndex, group: Ipv4Addr) {
        let key = (ifindex, group);
        let v2 = self.ipv4.igmp.v2_mode(ifindex);
        let m = self.ipv4.igmp.groups.entry(key).or_insert(Membership {
            users: 0,
            pending: None,
            leaving: false,
        });
        m.users += 1;
        if m.users > 1 && !m.leaving {
            return;
        }
        m.leaving = false;
        if group == ALL_HOSTS {
            return;
        }
        m.pending = Some(if v2 {
            Pending::V2Reports(QRV)
        } else {
            Pending::Change(igmp::CHANGE_TO_EXCLUDE, QRV)
        });
        // Linux `igmp_ifc_start_timer(in_dev, 1)`: the first report goes at once.
        self.ipv4.igmp.schedule(now, key);
    }

    /// A socket left `group` (`ip_mc_dec_group`): the last one announces the leave.
    pub(crate) fn mc_leave(&mut self, now: Nanos, ifindex: IfIndex, group: Ipv4Addr) {
        let key = (ifindex, group);
        let v2 = self.ipv4.igmp.v2_mode(ifindex);
        let Some(m) = self.ipv4.igmp.groups.get_mut(&key) else { return };
        m.users = m.users.saturating_sub(1);
        if m.users > 0 {
            return;
        }
        if group == ALL_HOSTS || v2 {
            self.ipv4.igmp.groups.remove(&key);
            self.ipv4.igmp.timers.retain(|t| (t.1, t.2) != key);
            if v2 && group != ALL_HOSTS {
                self.igmp_send_v2(now, ifindex, igmp::V2_LEAVE, group);
            }
            return;
        }
        m.leaving = true;
        m.pending = Some(Pending::Change(igmp::CHANGE_TO_INCLUDE, QRV));
        self.ipv4.igmp.schedule(now, key);
    }

    /// An IGMP message arrived (`igmp_rcv`); bad checksums are counted as errors.
    pub(crate) fn igmp_rcv(&mut self, now: Nanos, ifindex: IfIndex, payload: &[u8]) {
        let Ok(msg) = IgmpRepr::parse(payload) else {
            self.ipv4.igmp.in_errors += 1;
            return;
        };
        match msg {
            IgmpRepr::Query { version, max_resp_ds, group } => {
                if version < 3 {
                    // RFC 3376 §7.2.1: act as a v2 host while an older querier is heard.
                    let until = now + u64::from(QRV) * QUERY_INTERVAL + QUERY_RESPONSE;
                    self.ipv4.igmp.older_querier.insert(ifindex, until);
                }
                let max = u64::from(max_resp_ds.max(1)) * 100 * MS;
                let keys: Vec<_> = self
                    .ipv4
                    .igmp
                    .groups
                    .iter()
                    .filter(|&(&(i, g), m)| {
                        i == ifindex
                            && g != ALL_HOSTS
                            && !m.leaving
                            && (group.is_unspecified() || group == g)
                    })
                    .map(|(&k, _)| k)
                    .collect();
                for key in keys {
                    let at = now + jitter(self, max);
                    let v2 = self.ipv4.igmp.v2_mode(ifindex);
                    if let Some(m) = self.ipv4.igmp.groups.get_mut(&key) {
                        m.pending = Some(if v2 { Pending::V2Reports(1) } else { Pending::Current });
                    }
                    // An earlier pending report stands (RFC 2236 §3: the smaller delay).
                    let earlier =
                        self.ipv4.igmp.timers.iter().any(|t| (t.1, t.2) == key && t.0 <= at);
                    if !earlier {
                        self.ipv4.igmp.schedule(at, key);
                    }
                }
            }
            // RFC 2236 §3: another member's v2 report for the group cancels ours.
            IgmpRepr::Report { group } if self.ipv4.igmp.v2_mode(ifindex) => {
                self.ipv4.igmp.timers.retain(|t| (t.1, t.2) != (ifindex, group));
            }
            _ => {}
        }
    }

    /// Sends what is due (`igmp_timer_expire`, `igmp_ifc_timer_expire`).
    pub(crate) fn igmp_advance(&mut self, now: Nanos) {
        self.ipv4.igmp.older_querier.retain(|_, until| *until > now);
        while let Some(&(at, ifindex, group)) = self.ipv4.igmp.timers.first() {
            if at > now {
                break;
            }
            self.ipv4.igmp.timers.pop_first();
            self.igmp_fire(now, ifindex, group);
        }
    }

    fn igmp_fire(&mut self, now: Nanos, ifindex: IfIndex, group: Ipv4Addr) {
        let key = (ifindex, group);
        let Some(m) = self.ipv4.igmp.groups.get(&key).copied() else { return };
        match m.pending {
            Some(Pending::Change(ty, left)) => {
                self.igmp_send_v3(now, ifindex, &[(ty, group)]);
                let next = left.saturating_sub(1);
                if next > 0 {
                    let at = now + jitter(self, V3_UNSOLICITED);
                    self.set_pending(key, Some(Pending::Change(ty, next)));
                    self.ipv4.igmp.schedule(at, key);
                } else if m.leaving {
                    self.ipv4.igmp.groups.remove(&key);
                } else {
                    self.set_pending(key, None);
                }
            }
            Some(Pending::Current) => {
                self.igmp_send_v3(now, ifindex, &[(igmp::MODE_IS_EXCLUDE, group)]);
                self.set_pending(key, None);
            }
            Some(Pending::V2Reports(left)) => {
                self.igmp_send_v2(now, ifindex, igmp::V2_REPORT, group);
                if left > 1 {
                    let at = now + jitter(self, V2_UNSOLICITED);
                    self.set_pending(key, Some(Pending::V2Reports(left - 1)));
                    self.ipv4.igmp.schedule(at, key);
                } else {
                    self.set_pending(key, None);
                }
            }
            None => {}
        }
    }

    fn set_pending(&mut self, key: (IfIndex, Ipv4Addr), p: Option<Pending>) {
        if let Some(m) = self.ipv4.igmp.groups.get_mut(&key) {
            m.pending = p;
        }
    }

    fn igmp_send_v3(&mut self, now: Nanos, ifindex: IfIndex, records: &[(u8, Ipv4Addr)]) {
        let msg = igmp::emit_v3(records);
        self.igmp_xmit(now, ifindex, V3_REPORTS, &msg);
    }

    fn igmp_send_v2(&mut self, now: Nanos, ifindex: IfIndex, ty: u8, group: Ipv4Addr) {
        let dst = if ty == igmp::V2_LEAVE { ALL_ROUTERS } else { group };
        self.igmp_xmit(now, ifindex, dst, &igmp::emit_v2(ty, group));
    }

    /// `igmpv3_newpack`/`igmp_send_report`: TTL 1, TOS 0xc0, DF, ID 0, Router Alert.
    fn igmp_xmit(&mut self, now: Nanos, ifindex: IfIndex, dst: Ipv4Addr, msg: &[u8]) {
        if self.devs.get(ifindex).is_none_or(|d| d.is_loopback() || !d.is_running()) {
            return;
        }
        let Ok(rt) = self.route_output(IpAddr::V4(dst), Some(ifindex)) else { return };
        let src = match rt.src {
            IpAddr::V4(s) => s,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        };
        let mut pkt = PacketBuf::from_slice(msg);
        let hlen = 24;
        let h = pkt.prepend(hlen);
        h[20..24].copy_from_slice(&ROUTER_ALERT);
        let mut ip = Ipv4Packet::new_unchecked(h);
        ip.set_ver_ihl(hlen);
        ip.set_tos(0xc0);
        ip.set_total_len((hlen + msg.len()) as u16);
        ip.set_ident(0);
        ip.set_frag(true, false, 0);
        ip.set_ttl(1);
        ip.set_protocol(2);
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        ip.fill_checksum();
        self.ipv4.mib.out_requests += 1;
        self.ipv4.igmp.out_reports += 1;
        let _ = self.ip_finish_output(now, &rt, pkt, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::{DevFlags, DeviceConfig};
    use crate::wire::EthernetAddress;

    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
    const SEC: Nanos = 1_000 * MS;

    fn net() -> (Net, IfIndex) {
        let mut net = Net::new(1);
        let i = net.devs.add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
        net.devs.get_mut(i).unwrap().flags.insert(DevFlags::UP);
        net.devs.get_mut(i).unwrap().carrier = true;
        net.addr_add(0, i, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 24).unwrap();
        net.outbox.clear();
        (net, i)
    }

    /// (IP destination, IGMP type, first record type or 0, group) of each IGMP frame sent.
    fn sent(net: &mut Net) -> Vec<(Ipv4Addr, u8, u8, Ipv4Addr)> {
        let mut out = Vec::new();
        for t in net.outbox.drain(..) {
            let f = &t.frame[..];
            if f.len() < 14 + 24 + 8 || f[14 + 9] != 2 {
                continue;
            }
            let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
            let m = &f[14 + 24..];
            let (rec, group) = if m[0] == igmp::V3_REPORT {
                (m[8], Ipv4Addr::new(m[12], m[13], m[14], m[15]))
            } else {
                (0, Ipv4Addr::new(m[4], m[5], m[6], m[7]))
            };
            out.push((dst, m[0], rec, group));
        }
        out
    }

    fn run(net: &mut Net, until: Nanos) {
        while let Some(d) = net.ipv4.igmp.next_deadline().filter(|&d| d <= until) {
            net.igmp_advance(d);
        }
    }

    fn query(max_resp_ds: u8, v3: bool) -> Vec<u8> {
        let mut q = vec![igmp::MEMBERSHIP_QUERY, max_resp_ds, 0, 0, 0, 0, 0, 0];
        if v3 {
            q.extend_from_slice(&[2, 125, 0, 0]);
        }
        let c = !crate::wire::checksum::sum(&q);
        q[2..4].copy_from_slice(&c.to_be_bytes());
        q
    }

    #[test]
    fn general_query_is_answered_within_the_response_time() {
        let (mut net, i) = net();
        net.mc_join(0, i, G);
        net.mc_join(0, i, ALL_HOSTS);
        run(&mut net, 5 * SEC);
        assert_eq!(sent(&mut net).len(), 2, "two state-change reports");
        net.igmp_rcv(10 * SEC, i, &query(100, true));
        run(&mut net, 10 * SEC + 10 * SEC);
        let r = sent(&mut net);
        assert_eq!(r, vec![(V3_REPORTS, igmp::V3_REPORT, igmp::MODE_IS_EXCLUDE, G)]);
    }

    #[test]
    fn older_querier_switches_to_v2_and_back() {
        let (mut net, i) = net();
        net.igmp_rcv(0, i, &query(100, false));
        net.mc_join(SEC, i, G);
        run(&mut net, 30 * SEC);
        let r = sent(&mut net);
        assert!(!r.is_empty() && r.iter().all(|&x| x == (G, igmp::V2_REPORT, 0, G)), "{r:?}");
        // Another member's v2 report answers a query for us (RFC 2236 §3).
        net.igmp_rcv(40 * SEC, i, &query(100, false));
        net.igmp_rcv(40 * SEC, i, &igmp::emit_v2(igmp::V2_REPORT, G));
        run(&mut net, 60 * SEC);
        assert_eq!(sent(&mut net), vec![], "suppressed");
        net.mc_leave(70 * SEC, i, G);
        assert_eq!(sent(&mut net), vec![(ALL_ROUTERS, igmp::V2_LEAVE, 0, G)]);
        // 2 × 125 s + 10 s after the last v2 query, v3 again.
        run(&mut net, 400 * SEC);
        net.mc_join(400 * SEC, i, G);
        run(&mut net, 410 * SEC);
        let r = sent(&mut net);
        assert_eq!(r.first(), Some(&(V3_REPORTS, igmp::V3_REPORT, igmp::CHANGE_TO_EXCLUDE, G)));
    }

    #[test]
    fn bad_messages_are_counted_not_acted_on() {
        let (mut net, i) = net();
        net.mc_join(0, i, G);
        run(&mut net, 5 * SEC);
        let _ = sent(&mut net);
        let mut q = query(100, true);
        q[3] ^= 0xff;
        net.igmp_rcv(10 * SEC, i, &q);
        net.igmp_rcv(10 * SEC, i, &[0x11, 1]);
        run(&mut net, 30 * SEC);
        assert_eq!(sent(&mut net), vec![]);
        assert_eq!(net.ipv4.igmp.in_errors, 2);
    }
}
