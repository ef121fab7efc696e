//! Path MTU exceptions (RFC 1191; Linux `__ip_rt_update_pmtu` and the fib nexthop
//! exceptions): a "fragmentation needed" lowers the MTU toward its destination for
//! `ip_rt_mtu_expires` (600 s), never below `ip_rt_min_pmtu` (552).

use crate::Nanos;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Linux `ip_rt_min_pmtu`: 512 + 20 + 20.
pub const MIN_PMTU: u32 = 552;
/// Linux `ip_rt_mtu_expires`.
const MTU_EXPIRES: Nanos = 600 * 1_000_000_000;
/// Destinations remembered at most (oldest expiry evicted first).
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(super) struct PmtuCache {
    entries: BTreeMap<Ipv4Addr, (u32, Nanos)>,
    timers: BTreeSet<(Nanos, Ipv4Addr)>,
}

impl PmtuCache {
    pub(super) fn get(&self, dst: Ipv4Addr) -> Option<u32> {
        self.entries.get(&dst).map(|e| e.0)
    }

    /// Records a reported next-hop MTU if it lowers what `dst` has now (`path_mtu`).
    pub(super) fn update(&mut self, now: Nanos, dst: Ipv4Addr, reported: u32, path_mtu: u32) {
        let mtu = reported.max(MIN_PMTU);
        if mtu >= path_mtu {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&dst) {
            self.timers.remove(&(old, dst));
        } else if self.entries.len() >= MAX_ENTRIES
            && let Some((_, victim)) = self.timers.pop_first()
        {
            self.entries.remove(&victim);
        }
        let expires = now + MTU_EXPIRES;
        self.entries.insert(dst, (mtu, expires));
        self.timers.insert((expires, dst));
    }

    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    pub(super) fn expire(&mut self, now: Nanos) {
        while let Some(&(at, dst)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.entries.remove(&dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn lowers_clamps_and_expires() {
        let mut c = PmtuCache::default();
        c.update(0, D, 1600, 1500);
        assert_eq!(c.get(D), None, "never raises");
        c.update(0, D, 1400, 1500);
        assert_eq!(c.get(D), Some(1400));
        c.update(1, D, 100, 1400);
        assert_eq!(c.get(D), Some(MIN_PMTU));
        c.expire(MTU_EXPIRES);
        assert_eq!(c.get(D), Some(MIN_PMTU));
        c.expire(MTU_EXPIRES + 1);
        assert_eq!(c.get(D), None);
        assert!(c.next_deadline().is_none());
    }
}
