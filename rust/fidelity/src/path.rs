//! One direction of the emulated path: a drop-tail FIFO in front of a serialiser at
//! `rate_bps`, then `delay` of propagation, with seeded Bernoulli loss of TCP data at
//! enqueue (where netem applies it), keyed on the data's place in the stream
//! ([`SeqLoss`]). Time is an argument (ns); the relay passes CLOCK_MONOTONIC.

use libos_sim::seq_loss::SeqLoss;
use std::collections::VecDeque;

/// Parameters of one direction.
#[derive(Clone, Debug)]
pub struct DirParams {
    pub rate_bps: u64,
    /// One-way propagation delay, ns.
    pub delay: u64,
    /// Drop-tail limit on the bytes waiting for the serialiser (frame being sent included).
    pub limit_bytes: u64,
    /// Loss probability of each transmission of a TCP data segment.
    pub loss: f64,
}

/// Counters printed at exit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub rx: u64,
    pub rx_bytes: u64,
    pub tx: u64,
    pub queue_drops: u64,
    pub loss_drops: u64,
    pub peak_backlog: u64,
}

/// A direction: frames in, frames out at their delivery time.
pub struct Direction {
    p: DirParams,
    loss: SeqLoss,
    /// When the serialiser finishes the last accepted frame.
    busy_until: u64,
    fifo: VecDeque<(u64, Vec<u8>)>,
    pub c: Counters,
}

impl Direction {
    pub fn new(p: DirParams, seed: u64) -> Self {
        Direction {
            loss: SeqLoss::new(p.loss, seed),
            busy_until: 0,
            fifo: VecDeque::new(),
            c: Counters::default(),
            p,
        }
    }

    /// Serialisation time of `len` bytes, ns.
    fn tx_time(&self, len: usize) -> u64 {
        (len as u64 * 8 * 1_000_000_000).div_ceil(self.p.rate_bps.max(1))
    }

    /// Bytes still waiting for (or in) the serialiser at `now`.
    pub fn backlog(&self, now: u64) -> u64 {
        let left = self.busy_until.saturating_sub(now) as u128;
        (left * self.p.rate_bps as u128 / 8_000_000_000) as u64
    }

    /// Offers a frame arriving at `now`. Returns false if it was dropped.
    pub fn enqueue(&mut self, now: u64, frame: Vec<u8>) -> bool {
        self.c.rx += 1;
        self.c.rx_bytes += frame.len() as u64;
        if self.loss.drops(&frame) {
            self.c.loss_drops += 1;
            return false;
        }
        let backlog = self.backlog(now);
        if backlog + frame.len() as u64 > self.p.limit_bytes {
            self.c.queue_drops += 1;
            return false;
        }
        self.c.peak_backlog = self.c.peak_backlog.max(backlog + frame.len() as u64);
        self.busy_until = self.busy_until.max(now) + self.tx_time(frame.len());
        self.fifo.push_back((self.busy_until + self.p.delay, frame));
        true
    }

    /// The next delivery time, if any frame is in flight.
    pub fn next_due(&self) -> Option<u64> {
        self.fifo.front().map(|f| f.0)
    }

    /// The next frame due at `now` (delivery times are non-decreasing).
    pub fn pop_due(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.next_due()? > now {
            return None;
        }
        self.c.tx += 1;
        self.fifo.pop_front().map(|f| f.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn dir(limit: u64) -> Direction {
        let p = DirParams { rate_bps: 10_000_000, delay: 25 * MS, limit_bytes: limit, loss: 0.0 };
        Direction::new(p, 1)
    }

    #[test]
    fn serialises_then_delays() {
        let mut d = dir(100_000);
        // 1250 bytes at 10 Mbit/s = 1 ms each.
        assert!(d.enqueue(0, vec![0; 1250]));
        assert!(d.enqueue(0, vec![0; 1250]));
        assert_eq!(d.backlog(0), 2500);
        assert_eq!(d.next_due(), Some(26 * MS));
        assert_eq!(d.pop_due(26 * MS - 1), None);
        assert!(d.pop_due(26 * MS).is_some());
        assert_eq!(d.next_due(), Some(27 * MS));
        // An idle link: a later frame starts at its arrival.
        assert!(d.enqueue(100 * MS, vec![0; 1250]));
        assert!(d.pop_due(u64::MAX).is_some());
        assert_eq!(d.next_due(), Some(126 * MS));
    }

    #[test]
    fn drop_tail_at_byte_limit() {
        let mut d = dir(3000);
        assert!(d.enqueue(0, vec![0; 1500]));
        assert!(d.enqueue(0, vec![0; 1500]));
        assert!(!d.enqueue(0, vec![0; 1500]));
        assert_eq!(d.c.queue_drops, 1);
        // After 1.2 ms one frame has left the serialiser: room again.
        assert!(d.enqueue(1_200_000, vec![0; 1500]));
    }
}
