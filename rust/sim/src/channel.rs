//! One direction of a link: a drop-tail transmit queue feeding a serializer of fixed
//! rate, then a propagation delay, with seeded impairments. Point-to-point links are two
//! channels; a switched segment is two channels per attached port.

use crate::impair::{Impairer, Verdict};
use bytes::Bytes;
use std::collections::VecDeque;

/// Drop-tail limit of a transmit queue (the frame being serialized is not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueLimit {
    Packets(usize),
    Bytes(usize),
}

impl Default for QueueLimit {
    /// ns-3's DropTailQueue default (100 packets); Linux txqueuelen is 1000.
    fn default() -> Self {
        QueueLimit::Packets(100)
    }
}

/// Where frames leaving a channel go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A node's device.
    Node { node: usize, ifindex: u32 },
    /// The switch port `port` of segment `seg`.
    Switch { seg: usize, port: usize },
}

#[derive(Debug, Clone, Default)]
pub struct ChannelStats {
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub queue_drops: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub corrupted: u64,
    pub reordered: u64,
    pub max_queue: usize,
}

pub struct Channel {
    pub rate_bps: u64,
    pub delay: u64,
    pub limit: QueueLimit,
    pub target: Target,
    queue: VecDeque<Bytes>,
    queued_bytes: usize,
    /// Frames on the wire in arrival order (those without extra delay): the engine keeps
    /// one event for the head instead of one per frame.
    flight: VecDeque<(u64, Bytes)>,
    busy: bool,
    impair: Impairer,
    pub stats: ChannelStats,
}

/// The frame was dropped at the tail of a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// A frame that has been serialized: it arrives at the target (none, once or twice).
pub struct Departure {
    /// When serialization ends (the channel is free again).
    pub done: u64,
    /// (arrival time, frame); no allocation per frame.
    pub arrivals: [Option<(u64, Bytes)>; 2],
    /// The first arrival keeps FIFO order on the wire (no reordering delay), so it
    /// may join the channel's in-flight queue.
    pub in_order: bool,
}

impl Channel {
    pub fn new(
        rate_bps: u64,
        delay: u64,
        limit: QueueLimit,
        target: Target,
        impair: Impairer,
    ) -> Channel {
        Channel {
            rate_bps: rate_bps.max(1),
            delay,
            limit,
            target,
            queue: VecDeque::new(),
            queued_bytes: 0,
            flight: VecDeque::new(),
            busy: false,
            impair,
            stats: ChannelStats::default(),
        }
    }

    /// Serialization time of `len` bytes, rounded up to whole nanoseconds.
    /// Puts an in-order frame on the wire; true if it is the new head (schedule it).
    pub fn fly(&mut self, at: u64, frame: Bytes) -> bool {
        debug_assert!(self.flight.back().is_none_or(|(t, _)| *t <= at));
        self.flight.push_back((at, frame));
        self.flight.len() == 1
    }

    /// Takes the head frame off the wire; returns it and the next head's arrival time.
    pub fn land(&mut self) -> Option<(Bytes, Option<u64>)> {
        let (_, frame) = self.flight.pop_front()?;
        Some((frame, self.flight.front().map(|(t, _)| *t)))
    }

    pub fn tx_time(&self, len: usize) -> u64 {
        let bits = len as u128 * 8 * 1_000_000_000;
        bits.div_ceil(u128::from(self.rate_bps)) as u64
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Offers a frame at `now`. Returns the departure if the channel was idle, `None` if
    /// the frame was queued or dropped (`stats.queue_drops`).
    pub fn enqueue(&mut self, now: u64, frame: Bytes) -> Result<Option<Departure>, QueueFull> {
        if self.impair.lost_at_enqueue(&frame) {
            self.stats.lost += 1;
            return Ok(None);
        }
        if !self.busy {
            return Ok(Some(self.start(now, frame)));
        }
        let full = match self.limit {
            QueueLimit::Packets(n) => self.queue.len() >= n,
            QueueLimit::Bytes(n) => self.queued_bytes + frame.len() > n,
        };
        if full {
            self.stats.queue_drops += 1;
            return Err(QueueFull);
        }
        self.queued_bytes += frame.len();
        self.queue.push_back(frame);
        self.stats.max_queue = self.stats.max_queue.max(self.queue.len());
        Ok(None)
    }

    /// Serialization of the current frame ended at `now`: starts the next one, if any.
    pub fn tx_done(&mut self, now: u64) -> Option<Departure> {
        self.busy = false;
        let frame = self.queue.pop_front()?;
        self.queued_bytes -= frame.len();
        Some(self.start(now, frame))
    }

    fn start(&mut self, now: u64, frame: Bytes) -> Departure {
        self.busy = true;
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        let done = now + self.tx_time(frame.len());
        let v: Verdict = self.impair.judge(&frame);
        let mut arrivals = [None, None];
        if v.drop {
            self.stats.lost += 1;
            return Departure { done, arrivals, in_order: true };
        }
        let frame = match v.flip_bit {
            Some(bit) => {
                self.stats.corrupted += 1;
                let mut b = frame.to_vec();
                b[bit / 8] ^= 1 << (bit % 8);
                Bytes::from(b)
            }
            None => frame,
        };
        if v.extra_delay > 0 {
            self.stats.reordered += 1;
        }
        let at = done + self.delay + v.extra_delay;
        if v.duplicate {
            self.stats.duplicated += 1;
            arrivals[1] = Some((at, frame.clone()));
        }
        arrivals[0] = Some((at, frame));
        Departure { done, arrivals, in_order: v.extra_delay == 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::Impairments;

    fn chan(limit: QueueLimit) -> Channel {
        let t = Target::Node { node: 0, ifindex: 2 };
        Channel::new(10_000_000, 1_000_000, limit, t, Impairer::new(Impairments::default(), 0, 0))
    }

    #[test]
    fn serialization_and_propagation() {
        let mut c = chan(QueueLimit::Packets(2));
        // 1250 bytes at 10 Mbit/s = 1 ms.
        let d = c.enqueue(0, Bytes::from(vec![0; 1250])).unwrap().unwrap();
        assert_eq!(d.done, 1_000_000);
        assert_eq!(d.arrivals[0].as_ref().unwrap().0, 2_000_000);
        assert!(c.enqueue(10, Bytes::from(vec![1; 1250])).unwrap().is_none());
        assert!(c.enqueue(20, Bytes::from(vec![2; 1250])).unwrap().is_none());
        assert!(c.enqueue(30, Bytes::from(vec![3; 1250])).is_err());
        assert_eq!(c.stats.queue_drops, 1);
        let d2 = c.tx_done(1_000_000).unwrap();
        assert_eq!(d2.done, 2_000_000);
        assert_eq!(d2.arrivals[0].as_ref().unwrap().1[0], 1);
        let d3 = c.tx_done(2_000_000).unwrap();
        assert_eq!(d3.arrivals[0].as_ref().unwrap().1[0], 2);
        assert!(c.tx_done(3_000_000).is_none());
    }

    #[test]
    fn byte_limit() {
        let mut c = chan(QueueLimit::Bytes(3000));
        c.enqueue(0, Bytes::from(vec![0; 1500])).unwrap();
        c.enqueue(0, Bytes::from(vec![0; 1500])).unwrap();
        c.enqueue(0, Bytes::from(vec![0; 1500])).unwrap();
        assert!(c.enqueue(0, Bytes::from(vec![0; 1])).is_err());
    }
}
