//! The out-of-order queue (Linux `tcp_data_queue_ofo`, `tcp_ofo_queue`): segments
//! beyond RCV.NXT keyed by their absolute stream offset, overlaps trimmed on insert so
//! nothing is copied twice, coalesced only when reported as SACK blocks (RFC 2018).
//! Its size is bounded by the receive window the caller trims to.

use super::seq::SeqNumber;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct OooSeg {
    pub seq: SeqNumber,
    pub data: Vec<u8>,
    pub fin: bool,
}

#[derive(Debug, Clone, Default)]
pub struct OfoQueue {
    /// By absolute offset of the first byte (bytes since the connection began).
    map: BTreeMap<u64, OooSeg>,
    bytes: usize,
}

impl OfoQueue {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }

    /// Adds `data` at absolute offset `off` (sequence `seq`), dropping what is already
    /// held. A FIN is kept only on the segment that ends the data.
    pub fn insert(&mut self, off: u64, seq: SeqNumber, data: &[u8], fin: bool) {
        let (mut start, mut data, mut seq) = (off, data, seq);
        let end = off + data.len() as u64;
        if let Some((&k, v)) = self.map.range(..=start).next_back() {
            let v_end = k + v.data.len() as u64;
            if v_end >= end && !(fin && v_end == end && !v.fin) {
                return;
            }
            if v_end > start {
                let cut = ((v_end - start) as usize).min(data.len());
                data = &data[cut..];
                seq += cut;
                start = v_end.min(end);
            }
        }
        let end = start + data.len() as u64;
        let mut fin = fin;
        // Successors: remove the ones we cover, stop at the first we overlap.
        while let Some((&k, v)) = self.map.range(start..).next() {
            if k >= end && !(k == end && data.is_empty()) {
                break;
            }
            let v_end = k + v.data.len() as u64;
            if v_end <= end {
                let Some(v) = self.map.remove(&k) else { break };
                self.bytes -= v.data.len();
                fin |= v.fin && v_end == end;
                continue;
            }
            data = &data[..(k - start) as usize];
            fin = false;
            break;
        }
        if data.is_empty() && !fin {
            return;
        }
        self.bytes += data.len();
        self.map.insert(start, OooSeg { seq, data: data.to_vec(), fin });
    }

    /// Removes and returns the first segment if it starts at or before `off`.
    pub fn pop_ready(&mut self, off: u64) -> Option<(u64, OooSeg)> {
        let (&k, _) = self.map.first_key_value()?;
        if k > off {
            return None;
        }
        let v = self.map.remove(&k)?;
        self.bytes -= v.data.len();
        Some((k, v))
    }

    /// Whether `[off, end)` would stand alone: neither overlapping nor touching held data.
    pub fn opens_block(&self, off: u64, end: u64) -> bool {
        let before = self
            .map
            .range(..=off)
            .next_back()
            .is_some_and(|(&k, v)| k + v.data.len() as u64 + u64::from(v.fin) >= off);
        let after = self.map.range(off..).next().is_some_and(|(&k, _)| k <= end);
        !before && !after
    }

    /// The number of contiguous ranges held (SACK blocks, before the limit).
    pub fn block_count(&self) -> usize {
        let mut n = 0;
        let mut last_end = None;
        for (&k, v) in self.map.iter() {
            if last_end != Some(k) {
                n += 1;
            }
            last_end = Some(k + v.data.len() as u64 + u64::from(v.fin));
        }
        n
    }

    /// Contiguous ranges held as SACK blocks (at most `max`): the one holding offset
    /// `recent` (the latest arrival, RFC 2018 §4) first, then the others highest first.
    pub fn sack_blocks(&self, max: usize, recent: u64) -> Vec<(SeqNumber, SeqNumber)> {
        let mut out: Vec<(u64, u64, SeqNumber)> = Vec::new();
        for (&k, v) in self.map.iter() {
            let e = k + v.data.len() as u64 + u64::from(v.fin);
            match out.last_mut() {
                Some(last) if last.1 == k => last.1 = e,
                _ => out.push((k, e, v.seq)),
            }
        }
        if let Some(i) = out.iter().position(|b| b.0 <= recent && recent < b.1) {
            let b = out.remove(i);
            out.push(b);
        }
        out.iter().rev().take(max).map(|&(s, e, seq)| (seq, seq + (e - s) as usize)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q_with(segs: &[(u64, usize)]) -> OfoQueue {
        let mut q = OfoQueue::default();
        let data = [7u8; 10_000];
        for &(off, len) in segs {
            q.insert(off, SeqNumber(1000 + off as u32), &data[..len], false);
        }
        q
    }

    #[test]
    fn overlaps_are_trimmed_not_merged() {
        let q = q_with(&[(100, 50), (200, 50), (120, 100), (100, 50), (0, 10)]);
        // (0,10) (100,50) (150,50 trimmed from 120..220) (200,50)
        assert_eq!(q.len(), 4);
        assert_eq!(q.bytes(), 160);
        let b = q.sack_blocks(4, 120);
        assert_eq!(b, vec![(SeqNumber(1100), SeqNumber(1250)), (SeqNumber(1000), SeqNumber(1010))]);
        // RFC 2018 §4: the block holding the latest arrival goes first.
        let b = q.sack_blocks(4, 5);
        assert_eq!(b, vec![(SeqNumber(1000), SeqNumber(1010)), (SeqNumber(1100), SeqNumber(1250))]);
        assert_eq!(q.sack_blocks(1, 5), vec![(SeqNumber(1000), SeqNumber(1010))]);
    }

    #[test]
    fn covering_segment_replaces_smaller_ones() {
        let mut q = q_with(&[(100, 10), (120, 10)]);
        q.insert(90, SeqNumber(1090), &[1u8; 60], true);
        assert_eq!(q.bytes(), 60);
        let (k, s) = q.pop_ready(90).unwrap();
        assert_eq!((k, s.data.len(), s.fin), (90, 60, true));
        assert!(q.is_empty());
    }
}
