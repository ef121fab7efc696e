//! MLDv2 host reports (RFC 3810, Linux `mcast.c`): joining a group — the
//! solicited-node group of every address — sends an unsolicited State-Change Report
//! (CHANGE_TO_EXCLUDE, no sources) to all MLDv2 routers (ff02::16), hop limit 1, behind
//! a hop-by-hop Router Alert (RFC 2711), from the link-local address or `::` while that
//! is tentative (RFC 3590), and once more a random time within the unsolicited report
//! interval later (robustness variable 2, `mld_ifc_start_work`). ff02::1 is never
//! reported (RFC 3810 §6). Queries (RFC 3810 §6.2, `igmp6_event_query`) from a
//! link-local source are answered after a random delay below their Maximum Response
//! Delay: a Current-State Report (MODE_IS_EXCLUDE) of every group we listen to, or of
//! the queried group; an MLDv1 query (24 bytes) draws MLDv1 reports (RFC 2710 §4).

use super::output::Ip6Tx;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::checksum;
use crate::wire::icmpv6::ty;
use crate::wire::ipv6::{is_link_local, multicast_mac, nexthdr};
use std::net::{IpAddr, Ipv6Addr};

const ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// `mld_unsolicited_report_interval` for MLDv2: 1 s.
const UNSOLICITED_INTERVAL_MS: u32 = 1000;
/// MLDv2 record type CHANGE_TO_EXCLUDE_MODE (RFC 3810 §5.2.12).
const CHANGE_TO_EXCLUDE: u8 = 4;
/// CHANGE_TO_INCLUDE_MODE: with no sources, the group is left.
const CHANGE_TO_INCLUDE: u8 = 3;
/// MODE_IS_EXCLUDE (RFC 3810 §5.2.12), the current-state record of an ASM listener.
const MODE_IS_EXCLUDE: u8 = 2;
/// ICMPv6 types: Multicast Listener Query and the MLDv1 report (RFC 2710 §3).
const MLD_QUERY: u8 = 130;
const MLD1_REPORT: u8 = 131;
/// Query answers pending at most (one per device and group, or general).
const MAX_RESPONSES: usize = 256;
/// Hop-by-hop header: next header ICMPv6, length 0, Router Alert (type 5, value 0 =
/// MLD), PadN of 0 bytes.
const HBH_ROUTER_ALERT: [u8; 8] = [nexthdr::ICMPV6, 0, 5, 2, 0, 0, 1, 0];

/// Groups waiting for their retransmitted report, per device, with its time; the
/// groups sockets joined (IPV6_JOIN_GROUP), with how many sockets hold each.
#[derive(Debug, Default)]
pub struct Mld {
    pending: Vec<(Nanos, IfIndex, Ipv6Addr)>,
    /// Query answers: (when, device, queried group or None for all, MLDv1).
    responses: Vec<(Nanos, IfIndex, Option<Ipv6Addr>, bool)>,
    joined: std::collections::BTreeMap<(IfIndex, Ipv6Addr), u32>,
}

impl Mld {
    pub fn next_deadline(&self) -> Option<Nanos> {
        self.pending.iter().map(|p| p.0).chain(self.responses.iter().map(|r| r.0)).min()
    }

    pub fn forget_dev(&mut self, ifindex: IfIndex) {
        self.pending.retain(|p| p.1 != ifindex);
        self.responses.retain(|p| p.1 != ifindex);
        self.joined.retain(|k, _| k.0 != ifindex);
    }

    /// A socket joined `group` on `ifindex`.
    pub fn joined(&self, ifindex: IfIndex, group: Ipv6Addr) -> bool {
        self.joined.contains_key(&(ifindex, group))
    }
}

/// The report body: header, then one record per group.
fn report(groups: &[Ipv6Addr]) -> Vec<u8> {
    report_of(groups, CHANGE_TO_EXCLUDE)
}

/// An MLDv2 report with one `record` type record per group.
fn report_of(groups: &[Ipv6Addr], record: u8) -> Vec<u8> {
    let mut b = vec![ty::MLD2_REPORT, 0, 0, 0, 0, 0];
    b.extend_from_slice(&(groups.len() as u16).to_be_bytes());
    for g in groups {
        b.extend_from_slice(&[record, 0, 0, 0]);
        b.extend_from_slice(&g.octets());
    }
    b
}

impl Net {
    /// `ipv6_sock_mc_join` → `__ipv6_dev_mc_inc`: the first socket to join a group on a
    /// device makes the host listen to it and report it.
    pub(crate) fn ipv6_mc_join(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        group: Ipv6Addr,
    ) -> crate::SysResult<()> {
        self.devs.get(ifindex).ok_or(crate::Errno::ENODEV)?;
        let n = self.ipv6.mld.joined.entry((ifindex, group)).or_insert(0);
        *n += 1;
        if *n == 1 {
            self.mld_join(now, ifindex, group);
        }
        Ok(())
    }

    /// `__ipv6_dev_mc_dec`: the last socket leaving stops the listening and reports
    /// CHANGE_TO_INCLUDE with no sources (RFC 3810 §6.1, the MLDv2 leave).
    pub(crate) fn ipv6_mc_leave(&mut self, _now: Nanos, ifindex: IfIndex, group: Ipv6Addr) {
        let key = (ifindex, group);
        if let Some(n) = self.ipv6.mld.joined.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.ipv6.mld.joined.remove(&key);
                self.ipv6.mld.pending.retain(|p| (p.1, p.2) != key);
                let reported = group != ALL_NODES
                    && !self.ipv6.in_group(ifindex, group)
                    && self.devs.get(ifindex).is_some_and(|d| d.needs_arp());
                if reported {
                    self.mld_xmit(
                        ifindex,
                        ALL_MLDV2_ROUTERS,
                        report_of(&[group], CHANGE_TO_INCLUDE),
                    );
                }
            }
        }
    }

    /// `igmp6_join_group` for `group` on `ifindex`: report now, and again later.
    pub(crate) fn mld_join(&mut self, now: Nanos, ifindex: IfIndex, group: Ipv6Addr) {
        if group == ALL_NODES || !self.devs.get(ifindex).is_some_and(|d| d.needs_arp()) {
            return;
        }
        self.mld_send(now, ifindex, &[group]);
        let delay = Nanos::from(self.rng.range_u32(0, UNSOLICITED_INTERVAL_MS - 1)) * 1_000_000;
        self.ipv6.mld.pending.push((now + delay, ifindex, group));
    }

    /// Sends the retransmissions that are due, one report per device.
    pub(crate) fn mld_advance(&mut self, now: Nanos) {
        let due: Vec<(Nanos, IfIndex, Ipv6Addr)> =
            self.ipv6.mld.pending.iter().copied().filter(|p| p.0 <= now).collect();
        self.ipv6.mld.pending.retain(|p| p.0 > now);
        let mut devs: Vec<IfIndex> = due.iter().map(|p| p.1).collect();
        devs.dedup();
        for i in devs {
            let groups: Vec<Ipv6Addr> = due.iter().filter(|p| p.1 == i).map(|p| p.2).collect();
            self.mld_send(now, i, &groups);
        }
        let answers: Vec<_> =
            self.ipv6.mld.responses.iter().copied().filter(|r| r.0 <= now).collect();
        self.ipv6.mld.responses.retain(|r| r.0 > now);
        for (_, i, group, v1) in answers {
            let mut groups = self.mld_groups(i);
            if let Some(g) = group {
                groups.retain(|&x| x == g);
            }
            if groups.is_empty() {
                continue;
            }
            if v1 {
                for g in groups {
                    let mut b = vec![MLD1_REPORT, 0, 0, 0, 0, 0, 0, 0];
                    b.extend_from_slice(&g.octets());
                    self.mld_xmit(i, g, b);
                }
            } else {
                self.mld_xmit(i, ALL_MLDV2_ROUTERS, report_of(&groups, MODE_IS_EXCLUDE));
            }
        }
    }

    /// The groups `ifindex` listens to and reports: solicited-node groups of its
    /// addresses and the sockets' groups (never all-nodes, RFC 3810 §6).
    fn mld_groups(&self, ifindex: IfIndex) -> Vec<Ipv6Addr> {
        let mut g: Vec<Ipv6Addr> = self
            .ipv6
            .addrs
            .get(&ifindex)
            .into_iter()
            .flatten()
            .filter(|f| f.state != super::AddrState::DadFailed)
            .map(|f| crate::wire::ipv6::solicited_node(f.addr))
            .chain(self.ipv6.mld.joined.keys().filter(|k| k.0 == ifindex).map(|k| k.1))
            .filter(|&a| a != ALL_NODES)
            .collect();
        g.sort();
        g.dedup();
        g
    }

    /// `igmp6_event_query`: schedules the answer to a query `msg` received on
    /// `ifindex` from `src`. Queries from a non-link-local source are dropped (RFC 3810
    /// §5.1.14).
    pub(crate) fn mld_query(&mut self, now: Nanos, ifindex: IfIndex, src: Ipv6Addr, msg: &[u8]) {
        if msg.first() != Some(&MLD_QUERY) || !is_link_local(src) || msg.len() < 24 {
            self.ipv6.mib.icmp_in_errors += 1;
            return;
        }
        let code = u16::from_be_bytes([msg[4], msg[5]]);
        let v1 = msg.len() < 28;
        // RFC 3810 §5.1.3: Maximum Response Code, exponential above 32767.
        let max_ms = if v1 || code < 0x8000 {
            u64::from(code)
        } else {
            let (exp, mant) = ((code >> 12) & 7, u64::from(code & 0xfff));
            (mant | 0x1000) << (exp + 3)
        };
        let group = Ipv6Addr::from(<[u8; 16]>::try_from(&msg[8..24]).unwrap_or_default());
        let group = (!group.is_unspecified()).then_some(group);
        if group.is_some_and(|g| !g.is_multicast()) {
            self.ipv6.mib.icmp_in_errors += 1;
            return;
        }
        let delay = match max_ms {
            0 => 0,
            m => self.rng.next_u64() % (m * 1_000_000),
        };
        let at = now + delay;
        let r = &mut self.ipv6.mld.responses;
        // One answer per device and group; an earlier one already pending stands.
        if let Some(old) = r.iter_mut().find(|x| x.1 == ifindex && x.2 == group) {
            old.0 = old.0.min(at);
            old.3 = v1;
        } else if r.len() < MAX_RESPONSES {
            r.push((at, ifindex, group, v1));
        }
    }

    fn mld_send(&mut self, _now: Nanos, ifindex: IfIndex, groups: &[Ipv6Addr]) {
        self.mld_xmit(ifindex, ALL_MLDV2_ROUTERS, report(groups));
    }

    /// Sends MLD message `body` (checksum left 0) to `dst` with hop limit 1 behind a
    /// Router Alert, from the link-local address (`::` while it is tentative, RFC 3590).
    fn mld_xmit(&mut self, ifindex: IfIndex, dst: Ipv6Addr, mut body: Vec<u8>) {
        let src = self
            .ipv6
            .addrs
            .get(&ifindex)
            .and_then(|v| {
                v.iter().find(|f| is_link_local(f.addr) && f.state == super::AddrState::Preferred)
            })
            .map_or(Ipv6Addr::UNSPECIFIED, |f| f.addr);
        let (s, d) = (IpAddr::V6(src), IpAddr::V6(dst));
        let sum = checksum::transport(&s, &d, nexthdr::ICMPV6, &body);
        body[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut pkt = PacketBuf::new(HBH_ROUTER_ALERT.len() + body.len());
        pkt.data_mut()[..8].copy_from_slice(&HBH_ROUTER_ALERT);
        pkt.data_mut()[8..].copy_from_slice(&body);
        self.ipv6.mib.icmp_out_msgs += 1;
        let tx = Ip6Tx { oif: ifindex, src, dst, next_header: nexthdr::HOP_BY_HOP, hop_limit: 1 };
        self.ip6_xmit_to(&tx, multicast_mac(dst), pkt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_layout() {
        let g: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
        let b = report(&[g]);
        assert_eq!(&b[..8], &[143, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&b[8..12], &[4, 0, 0, 0]);
        assert_eq!(&b[12..28], &g.octets());
    }
}
