//! Fragment queues shared by IPv4 and IPv6 reassembly (Linux `inet_fragment.c`:
//! `inet_frag_find`, `inet_frag_queue_insert`, `inet_frag_kill`, `inet_frag_reasm_*`).
//!
//! A queue is keyed per family (`K`); the family parses its fragment, checks its own
//! rules (IPv4 trims a non-final fragment to 8 bytes, IPv6 answers Parameter Problem)
//! and hands the queue offset, data and More-Fragments. Rules kept here for both, as
//! Linux: a fragment wholly inside data already held is a duplicate and is ignored
//! (`IPFRAG_DUP`); any other overlap kills the datagram (`IPFRAG_OVERLAP`, RFC 5722);
//! contradictory ends or an empty fragment kill the queue; no fragment is accepted while
//! the queues hold more than `high_thresh` bytes; a queue lives `*frag_time` seconds.

use crate::Nanos;
use std::collections::{BTreeMap, BTreeSet};

/// Bytes charged per fragment on top of its data (stand-in for skb truesize).
pub(crate) const FRAG_OVERHEAD: usize = 256;

struct FragQueue {
    /// offset -> data bytes; never overlapping.
    frags: BTreeMap<usize, Vec<u8>>,
    /// Header of the fragment at offset 0, as the family wants it to head the datagram.
    head: Option<Vec<u8>>,
    /// Known or provisional total data length (`q.len`).
    len: usize,
    last_in: bool,
    /// Data bytes held (`q.meat`).
    meat: usize,
    mem: usize,
    deadline: Nanos,
}

/// All reassembly queues of one family in one namespace (`fqdir`).
pub struct FragQueues<K> {
    queues: BTreeMap<K, FragQueue>,
    timers: BTreeSet<(Nanos, K)>,
    /// Memory held by all queues (`frag_mem_limit`).
    mem: usize,
}

impl<K> Default for FragQueues<K> {
    fn default() -> Self {
        FragQueues { queues: BTreeMap::new(), timers: BTreeSet::new(), mem: 0 }
    }
}

/// One fragment as the family parsed it.
pub(crate) struct Frag<'a> {
    /// Offset of `data` in the datagram's fragmentable part.
    pub offset: usize,
    pub data: &'a [u8],
    /// More Fragments.
    pub more: bool,
    /// Largest total data length the datagram may reach.
    pub max_len: usize,
}

/// Why a fragment went no further.
pub(crate) enum Dropped {
    /// Wholly inside data already held: ignored, not counted as a failure.
    Dup,
    /// Above `high_thresh`, or the queue was killed (`REASMFAILS`).
    Fail,
    /// Overlapped held data: the datagram is dropped (`REASMOVERLAPS`, `REASMFAILS`).
    Overlap,
}

impl Dropped {
    /// Adds the drop to the family's `REASMFAILS` / `REASMOVERLAPS` counters.
    pub(crate) fn count(&self, fails: &mut u64, overlaps: &mut u64) {
        match self {
            Dropped::Dup => {}
            Dropped::Fail => *fails += 1,
            Dropped::Overlap => {
                *fails += 1;
                *overlaps += 1;
            }
        }
    }
}

/// A queue taken off by expiry or eviction.
pub(crate) struct Expired<K> {
    pub key: K,
    /// Its timer ran out (else it was evicted for memory).
    pub timed_out: bool,
    /// The first fragment (head then data) if it had arrived, for the ICMP error.
    pub first: Option<Vec<u8>>,
}

enum Insert {
    Ok,
    Dup,
    Overlap,
}

impl FragQueue {
    /// Records where the datagram ends (`ip_frag_queue`/`ip6_frag_queue`); true if this
    /// end contradicts what the queue knows.
    fn set_end(&mut self, end: usize, more: bool) -> bool {
        if !more {
            // The last fragment: nothing may lie beyond it, and ends must agree.
            let bad = end < self.len || (self.last_in && end != self.len);
            self.last_in = true;
            self.len = end;
            bad
        } else {
            let bad = end > self.len && self.last_in;
            self.len = self.len.max(end);
            bad
        }
    }

    /// `inet_frag_queue_insert`: a duplicate lies wholly within held data, anything
    /// else touching held data overlaps.
    fn insert(&mut self, offset: usize, data: &[u8]) -> Insert {
        let end = offset + data.len();
        // Fragments that intersect [offset, end), last first.
        let mut hits: Vec<(usize, usize)> = self
            .frags
            .range(..end)
            .rev()
            .take_while(|(o, d)| *o + d.len() > offset)
            .map(|(o, d)| (*o, *o + d.len()))
            .collect();
        if hits.is_empty() {
            self.frags.insert(offset, data.to_vec());
            return Insert::Ok;
        }
        hits.reverse();
        let mut covered = hits[0].0 <= offset;
        for w in hits.windows(2) {
            covered &= w[1].0 == w[0].1;
        }
        let reach = hits[hits.len() - 1].1;
        if covered && reach >= end { Insert::Dup } else { Insert::Overlap }
    }

    fn complete(&self) -> bool {
        self.last_in && self.head.is_some() && self.meat == self.len
    }
}

impl<K: Ord + Copy> FragQueues<K> {
    pub fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    /// Memory held by all queues.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// No queue held.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.timers.is_empty()
    }

    /// `inet_frag_find`: the queue for `key`, created to expire `timeout` from now.
    /// False (nothing created) while the queues hold more than `high_thresh` bytes.
    pub(crate) fn find(&mut self, now: Nanos, key: K, high_thresh: usize, timeout: Nanos) -> bool {
        if self.mem > high_thresh {
            return false;
        }
        if !self.queues.contains_key(&key) {
            let deadline = now + timeout;
            self.timers.insert((deadline, key));
            self.queues.insert(
                key,
                FragQueue {
                    frags: BTreeMap::new(),
                    head: None,
                    len: 0,
                    last_in: false,
                    meat: 0,
                    mem: 0,
                    deadline,
                },
            );
        }
        true
    }

    /// Queues `frag` on the queue `find` made for `key`; `head` gives the header kept
    /// from the fragment at offset 0. Once every byte is in, the queue is gone and the
    /// datagram (head, then the data in order) returned: the family fixes its header.
    pub(crate) fn queue(
        &mut self,
        key: K,
        frag: Frag<'_>,
        head: impl FnOnce() -> Vec<u8>,
    ) -> Result<Option<Vec<u8>>, Dropped> {
        let Some(q) = self.queues.get_mut(&key) else { return Err(Dropped::Fail) };
        let end = frag.offset + frag.data.len();
        if q.set_end(end, frag.more) || frag.data.is_empty() || q.len > frag.max_len {
            self.kill(key);
            return Err(Dropped::Fail);
        }
        match q.insert(frag.offset, frag.data) {
            Insert::Ok => {}
            Insert::Dup => return Err(Dropped::Dup),
            Insert::Overlap => {
                self.kill(key);
                return Err(Dropped::Overlap);
            }
        }
        if frag.offset == 0 {
            q.head = Some(head());
        }
        q.meat += frag.data.len();
        let charge = frag.data.len() + FRAG_OVERHEAD;
        q.mem += charge;
        self.mem += charge;
        if !q.complete() {
            return Ok(None);
        }
        let q = self.kill(key).ok_or(Dropped::Fail)?;
        let mut out = q.head.ok_or(Dropped::Fail)?;
        out.reserve(q.len);
        for d in q.frags.values() {
            out.extend_from_slice(d);
        }
        Ok(Some(out))
    }

    /// The next queue to go at `now` (`ip_expire`/`ip6_frag_expire`), oldest first; with
    /// `evict_to`, also queues not yet due while memory is above that many bytes
    /// (`inet_frag_worker` eviction down to `low_thresh`).
    pub(crate) fn pop_expired(
        &mut self,
        now: Nanos,
        evict_to: Option<usize>,
    ) -> Option<Expired<K>> {
        loop {
            let &(at, key) = self.timers.first()?;
            let over = evict_to.is_some_and(|low| self.mem > low);
            if at > now && !over {
                return None;
            }
            let Some(q) = self.kill(key) else {
                self.timers.remove(&(at, key));
                continue;
            };
            let first = match (q.head, q.frags.get(&0)) {
                (Some(mut head), Some(data)) => {
                    head.extend_from_slice(data);
                    Some(head)
                }
                _ => None,
            };
            return Some(Expired { key, timed_out: at <= now, first });
        }
    }

    /// `inet_frag_kill`.
    fn kill(&mut self, key: K) -> Option<FragQueue> {
        let q = self.queues.remove(&key)?;
        self.timers.remove(&(q.deadline, key));
        self.mem -= q.mem;
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: usize, data: &[u8], more: bool) -> Frag<'_> {
        Frag { offset, data, more, max_len: 65535 }
    }

    fn add(fq: &mut FragQueues<u8>, f: Frag<'_>) -> Result<Option<Vec<u8>>, Dropped> {
        assert!(fq.find(0, 1, 1 << 20, 30));
        fq.queue(1, f, || b"H".to_vec())
    }

    #[test]
    fn out_of_order_pieces_complete_behind_the_head() {
        let mut fq = FragQueues::default();
        assert!(matches!(add(&mut fq, frag(8, b"bbbbbbbb", true)), Ok(None)));
        assert!(matches!(add(&mut fq, frag(16, b"cc", false)), Ok(None)));
        let out = add(&mut fq, frag(0, b"aaaaaaaa", true)).ok().flatten();
        assert_eq!(out.as_deref(), Some(&b"Haaaaaaaabbbbbbbbcc"[..]));
        assert!(fq.is_empty() && fq.mem() == 0);
    }

    #[test]
    fn duplicate_is_ignored_overlap_and_contradiction_kill() {
        let mut fq = FragQueues::default();
        add(&mut fq, frag(0, &[0; 16], true)).ok();
        assert!(matches!(add(&mut fq, frag(8, &[0; 8], true)), Err(Dropped::Dup)));
        assert!(matches!(add(&mut fq, frag(8, &[0; 16], true)), Err(Dropped::Overlap)));
        assert!(fq.is_empty());
        add(&mut fq, frag(16, &[0; 8], false)).ok();
        assert!(matches!(add(&mut fq, frag(24, &[0; 8], true)), Err(Dropped::Fail)));
        assert!(fq.is_empty() && fq.mem() == 0);
    }

    #[test]
    fn expiry_quotes_the_first_fragment_and_eviction_goes_oldest_first() {
        let mut fq = FragQueues::default();
        for key in 0..3u8 {
            assert!(fq.find(u64::from(key), key, 1 << 20, 30));
            fq.queue(key, frag(0, &[key; 8], true), || vec![9]).ok();
        }
        assert_eq!(fq.next_deadline(), Some(30));
        assert!(fq.pop_expired(29, None).is_none());
        let e = fq.pop_expired(30, None).unwrap();
        assert_eq!((e.key, e.timed_out, e.first), (0, true, Some(vec![9, 0, 0, 0, 0, 0, 0, 0, 0])));
        // Above high_thresh nothing new is queued; eviction drains to the low mark.
        assert!(!fq.find(0, 7, 1, 30));
        let e = fq.pop_expired(0, Some(8 + FRAG_OVERHEAD)).unwrap();
        assert_eq!((e.key, e.timed_out), (1, false));
        assert!(fq.pop_expired(0, Some(8 + FRAG_OVERHEAD)).is_none());
        assert_eq!(fq.mem(), 8 + FRAG_OVERHEAD);
    }
}
