//! Per-destination next-hop exceptions (Linux `fib_nh_exception`): a value learned
//! for one destination (a lower path MTU, a redirected gateway) that expires after a
//! fixed lifetime. Bounded: when full, the entry expiring first is evicted.

use crate::Nanos;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Destinations remembered at most per table.
const MAX_ENTRIES: usize = 4096;

pub(super) struct NhExceptions<V> {
    entries: BTreeMap<Ipv4Addr, (V, Nanos)>,
    timers: BTreeSet<(Nanos, Ipv4Addr)>,
}

impl<V> Default for NhExceptions<V> {
    fn default() -> Self {
        Self { entries: BTreeMap::new(), timers: BTreeSet::new() }
    }
}

impl<V> NhExceptions<V> {
    pub(super) fn get(&self, dst: Ipv4Addr) -> Option<&V> {
        self.entries.get(&dst).map(|e| &e.0)
    }

    /// Sets `dst`'s value, expiring at `expires` (replacing any older one).
    pub(super) fn insert(&mut self, dst: Ipv4Addr, value: V, expires: Nanos) {
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

    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    /// Drops every entry whose expiry is at or before `now`; true if any went.
    pub(super) fn expire(&mut self, now: Nanos) -> bool {
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
