//! Per-destination next-hop exceptions (Linux `fib_nh_exception`): a value learned
//! for one destination (a lower path MTU, a redirected gateway) that expires after a
//! fixed lifetime. Bounded: when full, the entry expiring first is evicted. Keyed by
//! destination address (IPv4 here, IPv6 in `ipv6/pmtu.rs`).

use crate::Nanos;
use std::collections::{BTreeMap, BTreeSet};

/// Destinations remembered at most per table.
const MAX_ENTRIES: usize = 4096;

pub(crate) struct NhExceptions<V, K = std::net::Ipv4Addr> {
    entries: BTreeMap<K, (V, Nanos)>,
    timers: BTreeSet<(Nanos, K)>,
}

impl<V, K> Default for NhExceptions<V, K> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), timers: BTreeSet::new() }
    }
}

impl<V, K: Ord + Copy> NhExceptions<V, K> {
    pub(crate) fn get(&self, dst: K) -> Option<&V> {
        self.entries.get(&dst).map(|e| &e.0)
    }

    /// Sets `dst`'s value, expiring at `expires` (replacing any older one).
    pub(crate) fn insert(&mut self, dst: K, value: V, expires: Nanos) {
        if let Some((_, old)) = self.entries.remove(&dst) {
            self.timers.remove(&(old, dst));
        } else if self.entries.len() >= MAX_ENTRIES
            && let Some((_, victim)) = self.timers.pop_first()
        {
            self.entries.remove(&victim);
        }
        self.entries.insert(dst, (value, expires));
        self.timers.insert((expires, dst));
    }

    pub(crate) fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    /// Drops every entry whose expiry is at or before `now`; true if any went.
    pub(crate) fn expire(&mut self, now: Nanos) -> bool {
        let before = self.entries.len();
        while let Some(&(at, dst)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.entries.remove(&dst);
        }
        self.entries.len() != before
    }
}
