//! The event queue: a binary heap keyed by (time, sequence number), so events at the
//! same instant run in the order they were scheduled — a total, deterministic order.
//!
//! The heap holds only small keys (time, sequence, slot); the events themselves sit in
//! a slab, so sifting moves 24 bytes per level whatever the event carries, and a heap of
//! many thousands of nodes' wake-ups stays cache-friendly.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(PartialEq, Eq)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    // Reversed: BinaryHeap is a max-heap and we pop the earliest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

pub struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    seq: u64,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), seq: 0, slab: Vec::new(), free: Vec::new() }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, time: u64, ev: E) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(ev);
                i
            }
            None => {
                self.slab.push(Some(ev));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Key { time, seq: self.seq, slot });
    }

    pub fn pop(&mut self) -> Option<(u64, E)> {
        let k = self.heap.pop()?;
        self.free.push(k.slot);
        let ev = self.slab[k.slot as usize].take().expect("a queued key has its event");
        Some((k.time, ev))
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|k| k.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every pending event, in no particular order (for tests and statistics).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &E)> {
        self.heap.iter().filter_map(|k| Some((k.time, self.slab[k.slot as usize].as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut q = EventQueue::default();
        q.push(30, "c");
        q.push(10, "a1");
        q.push(20, "b");
        q.push(10, "a2");
        q.push(10, "a3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(10, "a1"), (10, "a2"), (10, "a3"), (20, "b"), (30, "c")]);
    }
}
