//! Per-peer rate limiting (Linux `inetpeer.c` `inet_peer_xrlim_allow`): a token bucket
//! per remote address, one message per `timeout` with bursts of `XRLIM_BURST_FACTOR`.
//! Serves ICMP and ICMPv6 errors and NDP redirects; bounded to `MAX_PEERS` addresses
//! (the oldest goes first, as the inet_peer pool recycles).

use crate::Nanos;
use std::collections::BTreeMap;

/// Linux `XRLIM_BURST_FACTOR`.
pub(crate) const XRLIM_BURST_FACTOR: Nanos = 6;
/// Peers remembered at most.
const MAX_PEERS: usize = 4096;

/// Per peer: (tokens in ns, last update).
pub(crate) struct PeerLimit<K> {
    peers: BTreeMap<K, (Nanos, Nanos)>,
}

impl<K> Default for PeerLimit<K> {
    fn default() -> Self {
        PeerLimit { peers: BTreeMap::new() }
    }
}

impl<K: Ord + Copy> PeerLimit<K> {
    /// True if a message to `peer` may go now; takes its token. A new peer starts with
    /// a full burst (`rate_last = jiffies - 60*HZ`).
    pub(crate) fn allow(&mut self, now: Nanos, peer: K, timeout: Nanos) -> bool {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_PEERS {
            self.peers.pop_first();
        }
        let full = XRLIM_BURST_FACTOR * timeout;
        let (tokens, last) = self.peers.get(&peer).copied().unwrap_or((full, now));
        let mut token = (tokens + now.saturating_sub(last)).min(full);
        let ok = token >= timeout;
        if ok {
            token -= timeout;
        }
        self.peers.insert(peer, (token, now));
        ok
    }
}
