//! The neighbour cache (Linux `net/core/neighbour.c`): one state machine for ARP and,
//! later, NDP. Entries are keyed by (device, protocol address); the protocol layer says
//! how to solicit (ipv4/arp.rs) and this table says when.
//!
//! States as Linux NUD: INCOMPLETE (broadcast solicits, packets queued), REACHABLE
//! (confirmed within reachable_time), STALE (usable, unconfirmed), DELAY (used while
//! stale: wait delay_first_probe_time for a confirmation), PROBE (unicast solicits),
//! FAILED (queued packets are reported unreachable). Timers live in one ordered set of
//! (deadline, key): `next_deadline` is its first element, nothing sweeps the table.

use crate::dev::IfIndex;
use crate::pktbuf::PacketBuf;
use crate::rand::Rng;
use crate::wire::EthernetAddress;
use crate::{Errno, Nanos};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

const MS: Nanos = 1_000_000;
const SEC: Nanos = 1_000_000_000;

/// Linux `gc_thresh3`: the table never holds more entries than this.
pub const GC_THRESH3: usize = 1024;
/// Bytes charged per queued packet on top of its length (stand-in for skb truesize).
const QUEUE_OVERHEAD: usize = 576;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    /// Configured by the administrator (`ip neigh add ... nud permanent`): never
    /// expires, never overridden by the wire.
    Permanent,
}

/// `neigh_parms` (from `net.ipv4.neigh.default.*`).
#[derive(Debug, Clone, Copy)]
pub struct NeighParams {
    pub base_reachable: Nanos,
    pub retrans: Nanos,
    pub delay_first_probe: Nanos,
    pub gc_stale: Nanos,
    pub ucast_solicit: u32,
    pub mcast_solicit: u32,
    pub unres_qlen_bytes: usize,
}

impl NeighParams {
    /// All `output_addr` needs, without building the rest for every packet.
    pub fn delay_first_probe(s: &crate::sysctl::ipv4::Ipv4Sysctl) -> Nanos {
        Nanos::from(s.neigh_delay_first_probe_time) * SEC
    }

    pub fn from_sysctl(s: &crate::sysctl::ipv4::Ipv4Sysctl) -> NeighParams {
        NeighParams {
            base_reachable: Nanos::from(s.neigh_base_reachable_time_ms) * MS,
            retrans: Nanos::from(s.neigh_retrans_time_ms) * MS,
            delay_first_probe: NeighParams::delay_first_probe(s),
            gc_stale: Nanos::from(s.neigh_gc_stale_time) * SEC,
            ucast_solicit: s.neigh_ucast_solicit,
            mcast_solicit: s.neigh_mcast_solicit,
            unres_qlen_bytes: s.neigh_unres_qlen_bytes as usize,
        }
    }
}

pub type NeighKey = (IfIndex, IpAddr);

#[derive(Debug)]
pub struct Neighbour {
    pub state: NudState,
    pub lladdr: Option<EthernetAddress>,
    /// Solicits sent in the current INCOMPLETE/PROBE round.
    probes: u32,
    /// Last confirmation of reachability.
    confirmed: Nanos,
    /// Last time a packet went out through this entry.
    used: Nanos,
    /// This entry's reachable time, drawn in [base/2, 3*base/2) (`neigh_rand_reach_time`).
    reachable_time: Nanos,
    queue: VecDeque<PacketBuf>,
    queue_bytes: usize,
    deadline: Option<Nanos>,
}

impl Neighbour {
    /// A new entry (`neigh_alloc`): FAILED until an event moves it.
    fn new(confirmed: Nanos, used: Nanos) -> Self {
        Neighbour {
            state: NudState::Failed,
            lladdr: None,
            probes: 0,
            confirmed,
            used,
            reachable_time: 0,
            queue: VecDeque::new(),
            queue_bytes: 0,
            deadline: None,
        }
    }
}

/// What the protocol layer must do after a table operation.
#[derive(Debug)]
pub enum NeighAction {
    /// Send a solicitation (ARP request): broadcast, or unicast to the known address.
    Solicit { ifindex: IfIndex, target: IpAddr, unicast: Option<EthernetAddress> },
    /// Resolution failed: report these queued packets unreachable (`arp_error_report`).
    Failed { ifindex: IfIndex, target: IpAddr, queued: Vec<PacketBuf> },
}

/// Counters as `/proc/net/stat/arp_cache`.
#[derive(Debug, Clone, Default)]
pub struct NeighStats {
    pub allocs: u64,
    pub destroys: u64,
    pub res_failed: u64,
    pub unres_discards: u64,
    pub table_fulls: u64,
}

#[derive(Default)]
pub struct NeighTable {
    entries: BTreeMap<NeighKey, Neighbour>,
    timers: BTreeSet<(Nanos, NeighKey)>,
    pub stats: NeighStats,
}

fn rand_reach_time(rng: &mut Rng, base: Nanos) -> Nanos {
    // Linux `neigh_rand_reach_time`: uniform in [base/2, 3*base/2).
    if base == 0 {
        return 0;
    }
    let ms = (base / MS).max(1);
    let lo = (ms / 2) as u32;
    let span = ms.max(1) as u32;
    Nanos::from(rng.range_u32(lo, lo.saturating_add(span - 1))) * MS
}

impl NeighTable {
    pub fn get(&self, ifindex: IfIndex, addr: IpAddr) -> Option<&Neighbour> {
        self.entries.get(&(ifindex, addr))
    }

    /// The oldest packet waiting for `key` (ARP takes its source address, as Linux
    /// `arp_solicit` does with arp_announce 0).
    pub fn queued_head(&self, key: NeighKey) -> Option<&[u8]> {
        self.entries.get(&key)?.queue.front().map(|p| p.data())
    }

    /// Entries in key order (`ip neigh show`).
    pub fn iter(&self) -> impl Iterator<Item = (&NeighKey, &Neighbour)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    fn arm(&mut self, key: NeighKey, at: Option<Nanos>) {
        let Some(n) = self.entries.get_mut(&key) else { return };
        if let Some(old) = n.deadline.take() {
            self.timers.remove(&(old, key));
        }
        if let Some(at) = at {
            n.deadline = Some(at);
            self.timers.insert((at, key));
        }
    }

    fn remove(&mut self, key: NeighKey) -> Option<Neighbour> {
        let n = self.entries.remove(&key)?;
        if let Some(d) = n.deadline {
            self.timers.remove(&(d, key));
        }
        self.stats.destroys += 1;
        Some(n)
    }

    /// The link address to send to now, if the entry is usable (`neigh_event_send`
    /// fast path). A STALE entry in use moves to DELAY (RFC 4861 §7.3.3) for
    /// `delay_first_probe`.
    pub fn output_addr(
        &mut self,
        now: Nanos,
        key: NeighKey,
        delay_first_probe: Nanos,
    ) -> Option<EthernetAddress> {
        let n = self.entries.get_mut(&key)?;
        let mac = n.lladdr?;
        match n.state {
            NudState::Reachable | NudState::Delay | NudState::Probe | NudState::Permanent => {}
            NudState::Stale => {
                n.state = NudState::Delay;
                n.used = now;
                self.arm(key, Some(now + delay_first_probe));
                return Some(mac);
            }
            NudState::Incomplete | NudState::Failed => return None,
        }
        n.used = now;
        Some(mac)
    }

    /// Queues `pkt` until `key` resolves, starting resolution if needed
    /// (`__neigh_event_send`). The queue is bounded by unres_qlen_bytes: the oldest
    /// packets are dropped (counted in unres_discards). ENOBUFS if the table is full.
    pub fn enqueue(
        &mut self,
        now: Nanos,
        key: NeighKey,
        pkt: PacketBuf,
        p: &NeighParams,
        actions: &mut Vec<NeighAction>,
    ) -> Result<(), Errno> {
        self.event_send(now, key, Some(pkt), p, actions)
    }

    /// `neigh_event_send` with no packet: starts resolving `key` if it is unknown.
    pub fn kick(
        &mut self,
        now: Nanos,
        key: NeighKey,
        p: &NeighParams,
        actions: &mut Vec<NeighAction>,
    ) -> Result<(), Errno> {
        self.event_send(now, key, None, p, actions)
    }

    /// True if the entry holds a usable link address (`NUD_VALID`).
    pub fn is_valid(&self, key: NeighKey) -> bool {
        self.entries.get(&key).is_some_and(|n| {
            n.lladdr.is_some() && !matches!(n.state, NudState::Incomplete | NudState::Failed)
        })
    }

    fn event_send(
        &mut self,
        now: Nanos,
        key: NeighKey,
        pkt: Option<PacketBuf>,
        p: &NeighParams,
        actions: &mut Vec<NeighAction>,
    ) -> Result<(), Errno> {
        let full = self.entries.len() >= GC_THRESH3;
        let n = match self.entries.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if full => {
                self.stats.table_fulls += 1;
                return Err(Errno::ENOBUFS);
            }
            Entry::Vacant(e) => {
                self.stats.allocs += 1;
                e.insert(Neighbour::new(0, now))
            }
        };
        n.used = now;
        let start = n.state == NudState::Failed;
        if start {
            n.state = NudState::Incomplete;
            n.probes = 0;
        }
        if let Some(pkt) = pkt.filter(|_| n.state == NudState::Incomplete) {
            let size = pkt.len() + QUEUE_OVERHEAD;
            while n.queue_bytes + size > p.unres_qlen_bytes {
                let Some(old) = n.queue.pop_front() else { break };
                n.queue_bytes -= old.len() + QUEUE_OVERHEAD;
                self.stats.unres_discards += 1;
            }
            if size <= p.unres_qlen_bytes {
                n.queue_bytes += size;
                n.queue.push_back(pkt);
            } else {
                self.stats.unres_discards += 1;
            }
        }
        if start {
            self.probe(now, key, p, actions);
        }
        Ok(())
    }

    /// Sends the next solicit of an INCOMPLETE/PROBE entry and arms retrans_time.
    fn probe(&mut self, now: Nanos, key: NeighKey, p: &NeighParams, out: &mut Vec<NeighAction>) {
        let Some(n) = self.entries.get_mut(&key) else { return };
        n.probes += 1;
        let unicast = if n.state == NudState::Probe { n.lladdr } else { None };
        out.push(NeighAction::Solicit { ifindex: key.0, target: key.1, unicast });
        self.arm(key, Some(now + p.retrans.max(1)));
    }

    /// A link address learned from the wire (`neigh_update`). `reachable` when the
    /// message confirms two-way reachability (a unicast reply to our request);
    /// otherwise the entry becomes STALE, or is only created when `create`. Returns the
    /// packets that waited for this address.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        now: Nanos,
        key: NeighKey,
        mac: EthernetAddress,
        reachable: bool,
        create: bool,
        p: &NeighParams,
        rng: &mut Rng,
    ) -> Vec<PacketBuf> {
        let full = self.entries.len() >= GC_THRESH3;
        let n = match self.entries.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if !create || full => return Vec::new(),
            Entry::Vacant(e) => {
                self.stats.allocs += 1;
                e.insert(Neighbour::new(now, 0))
            }
        };
        if n.state == NudState::Permanent {
            // `neigh_update` without NEIGH_UPDATE_F_ADMIN leaves these alone.
            return Vec::new();
        }
        let valid = !matches!(n.state, NudState::Incomplete | NudState::Failed);
        let same = n.lladdr == Some(mac);
        if !same {
            tracing::debug!(target: "libos::neigh", ifindex = key.0, addr = %key.1, %mac, "lladdr");
        }
        n.lladdr = Some(mac);
        let timer = if reachable {
            n.state = NudState::Reachable;
            n.confirmed = now;
            n.reachable_time = rand_reach_time(rng, p.base_reachable);
            Some(now + n.reachable_time)
        } else if valid && same {
            // An unconfirmed sighting of the same address keeps the state.
            n.deadline
        } else {
            n.state = NudState::Stale;
            Some(now + p.gc_stale)
        };
        let queued: Vec<PacketBuf> = n.queue.drain(..).collect();
        n.queue_bytes = 0;
        self.arm(key, timer);
        queued
    }

    /// `ip neigh replace ... nud permanent`: returns packets that waited for it.
    pub fn add_permanent(&mut self, key: NeighKey, mac: EthernetAddress) -> Vec<PacketBuf> {
        let mut queued = Vec::new();
        if let Some(mut old) = self.remove(key) {
            queued = old.queue.drain(..).collect();
        }
        self.stats.allocs += 1;
        let n = Neighbour {
            state: NudState::Permanent,
            lladdr: Some(mac),
            probes: 0,
            confirmed: 0,
            used: 0,
            reachable_time: 0,
            queue: VecDeque::new(),
            queue_bytes: 0,
            deadline: None,
        };
        self.entries.insert(key, n);
        queued
    }

    /// `ip neigh del`: false if there was no entry.
    pub fn delete(&mut self, key: NeighKey) -> bool {
        self.remove(key).is_some()
    }

    /// Drops every entry of `ifindex` (`neigh_ifdown`); queued packets are discarded.
    pub fn flush_dev(&mut self, ifindex: IfIndex) {
        let keys: Vec<NeighKey> =
            self.entries.range((ifindex, IpAddr::from([0u8; 4]))..).map(|(k, _)| *k).collect();
        for k in keys.into_iter().take_while(|k| k.0 == ifindex) {
            self.remove(k);
        }
    }

    /// Fires due timers (`neigh_timer_handler`), in deadline order.
    pub fn advance(
        &mut self,
        now: Nanos,
        p: &NeighParams,
        rng: &mut Rng,
        out: &mut Vec<NeighAction>,
    ) {
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, key));
            if let Some(n) = self.entries.get_mut(&key) {
                n.deadline = None;
            }
            self.expire(now, key, p, rng, out);
        }
    }

    fn expire(
        &mut self,
        now: Nanos,
        key: NeighKey,
        p: &NeighParams,
        rng: &mut Rng,
        out: &mut Vec<NeighAction>,
    ) {
        let Some(n) = self.entries.get_mut(&key) else { return };
        match n.state {
            NudState::Reachable => {
                if now < n.confirmed + n.reachable_time {
                    let at = n.confirmed + n.reachable_time;
                    self.arm(key, Some(at));
                } else if now < n.used + p.delay_first_probe {
                    n.state = NudState::Delay;
                    self.arm(key, Some(now + p.delay_first_probe));
                } else {
                    n.state = NudState::Stale;
                    self.arm(key, Some(now + p.gc_stale));
                }
            }
            NudState::Delay => {
                if now < n.confirmed + p.delay_first_probe {
                    n.state = NudState::Reachable;
                    n.reachable_time = rand_reach_time(rng, p.base_reachable);
                    let at = n.confirmed + n.reachable_time;
                    self.arm(key, Some(at));
                } else {
                    n.state = NudState::Probe;
                    n.probes = 0;
                    self.probe(now, key, p, out);
                }
            }
            NudState::Incomplete | NudState::Probe => {
                let max =
                    if n.state == NudState::Incomplete { p.mcast_solicit } else { p.ucast_solicit };
                if n.probes >= max {
                    self.fail(key, out);
                } else {
                    self.probe(now, key, p, out);
                }
            }
            // Garbage collection of unused STALE and FAILED entries (`neigh_periodic_work`).
            NudState::Stale | NudState::Failed => {
                self.remove(key);
            }
            NudState::Permanent => {}
        }
    }

    /// `neigh_invalidate`: FAILED, queued packets reported back.
    fn fail(&mut self, key: NeighKey, out: &mut Vec<NeighAction>) {
        self.stats.res_failed += 1;
        tracing::debug!(target: "libos::neigh", ifindex = key.0, addr = %key.1, "failed");
        if let Some(mut n) = self.remove(key) {
            let queued: Vec<PacketBuf> = n.queue.drain(..).collect();
            out.push(NeighAction::Failed { ifindex: key.0, target: key.1, queued });
        }
    }
}

#[cfg(test)]
mod tests;
