//! Loss keyed on TCP data: each transmission of a TCP data segment is lost with
//! probability `p`, independently (Bernoulli, as netem's `loss`), but the draw is a pure
//! function of the seed, of where the segment ends in its flow's byte stream (the
//! MSS-sized block holding its last byte, counted from the ISN) and of how many times a
//! segment ending in that block has passed before. Two runs with the same seed so lose
//! the same data at the same transmission, whatever else differs between them (ACK
//! timing, one retransmission more or less, another congestion control, a short segment
//! that shifts every later boundary — Linux sends the tail of a queue that ran dry,
//! Minshall's Nagle): common random numbers for A/B comparisons, where a draw per frame
//! in arrival order lets the first difference reshuffle every later loss. The fidelity
//! relay uses it so the Linux and the libos run of a cell, and libos-sim's run with the
//! same seed, lose the same data.
//!
//! The key holds no address or port (the two stacks' flows differ in both): a flow that
//! crosses two links losing this way sees correlated losses; use it on one link per path.

use crate::impair::stream_seed;
use std::collections::HashMap;

/// `stream_seed` tag of the keyed draws.
const TAG_SEQ_LOSS: u64 = 3;

/// A flow: source and destination IPv4 address and port, as on the wire.
type Flow = [u8; 12];

/// The fields of an IPv4 TCP segment the loss process keys on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TcpSegment {
    pub flow: Flow,
    pub seq: u32,
    pub syn: bool,
    /// Payload bytes.
    pub len: usize,
}

impl TcpSegment {
    /// Parses an Ethernet frame; None unless it holds a complete IPv4 TCP header.
    pub fn parse(frame: &[u8]) -> Option<TcpSegment> {
        if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 6 {
            return None;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if ihl < 20 || ip.len() < ihl + 20 || total > ip.len() {
            return None;
        }
        let tcp = &ip[ihl..];
        let doff = usize::from(tcp[12] >> 4) * 4;
        let mut flow = [0u8; 12];
        flow[..8].copy_from_slice(&ip[12..20]);
        flow[8..].copy_from_slice(&tcp[..4]);
        Some(TcpSegment {
            flow,
            seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
            syn: tcp[13] & 0x02 != 0,
            len: total.saturating_sub(ihl + doff),
        })
    }
}

/// What the loss process knows of a flow.
struct FlowState {
    /// The sequence number before the first data byte (the ISN, from the SYN).
    isn: u32,
    /// The largest payload seen: the block size.
    mss: u32,
}

/// The loss process of one direction.
pub struct SeqLoss {
    p: f64,
    seed: u64,
    flows: HashMap<Flow, FlowState>,
    /// Transmissions seen per (flow, block): one entry per segment sent (~90 k for 10 s
    /// at 100 Mbit/s).
    seen: HashMap<(Flow, u32), u16>,
}

impl SeqLoss {
    pub fn new(p: f64, seed: u64) -> Self {
        SeqLoss { p, seed, flows: HashMap::new(), seen: HashMap::new() }
    }

    /// Whether to drop `frame`. Only TCP segments with payload are ever lost (so the
    /// handshake, pure ACKs and ARP are not, and every run starts the same way). A
    /// flow whose SYN was not seen counts from its first data segment.
    pub fn drops(&mut self, frame: &[u8]) -> bool {
        let Some(s) = TcpSegment::parse(frame) else {
            return false;
        };
        if s.syn {
            self.flows.insert(s.flow, FlowState { isn: s.seq, mss: 1 });
        }
        if s.len == 0 || self.p <= 0.0 {
            return false;
        }
        let len = s.len as u32;
        let f =
            self.flows.entry(s.flow).or_insert(FlowState { isn: s.seq.wrapping_sub(1), mss: 1 });
        f.mss = f.mss.max(len);
        let last = s.seq.wrapping_sub(f.isn).wrapping_sub(1).wrapping_add(len - 1);
        let block = last / f.mss;
        let n = self.seen.entry((s.flow, block)).or_insert(0);
        let key = u64::from(block) << 16 | u64::from(*n);
        *n = n.saturating_add(1);
        let z = stream_seed(self.seed, TAG_SEQ_LOSS, key);
        ((z >> 11) as f64 / (1u64 << 53) as f64) < self.p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP frame of `sport` with `seq` and `len` payload bytes.
    fn segment(sport: u16, seq: u32, len: usize, syn: bool) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20 + len];
        f[12] = 0x08;
        f[14] = 0x45;
        f[14 + 2..14 + 4].copy_from_slice(&((40 + len) as u16).to_be_bytes());
        f[14 + 9] = 6;
        f[14 + 12..14 + 20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let t = 14 + 20;
        f[t..t + 2].copy_from_slice(&sport.to_be_bytes());
        f[t + 2..t + 4].copy_from_slice(&5001u16.to_be_bytes());
        f[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
        f[t + 12] = 5 << 4;
        f[t + 13] = if syn { 0x02 } else { 0x10 };
        f
    }

    #[test]
    fn parses_the_fields_it_keys_on() {
        let s = TcpSegment::parse(&segment(40000, 7, 100, false)).unwrap();
        assert_eq!((s.seq, s.len, s.syn), (7, 100, false));
        assert_eq!(&s.flow[8..10], &40000u16.to_be_bytes());
        assert_eq!(TcpSegment::parse(&segment(1, 0, 0, true)).unwrap().len, 0);
        let mut arp = segment(1, 0, 10, false);
        arp[13] = 0x06;
        assert_eq!(TcpSegment::parse(&arp), None);
        assert_eq!(TcpSegment::parse(&arp[..20]), None);
    }

    /// Which of the first `n` segments (1448 bytes each, after a SYN with `isn`) are lost,
    /// sent once each with every `extra`-th one sent twice in a row.
    fn lost(seed: u64, isn: u32, n: u32, extra: u32) -> Vec<(u32, u32)> {
        let mut l = SeqLoss::new(0.1, seed);
        assert!(!l.drops(&segment(40000, isn, 0, true)), "a SYN is never lost");
        let mut out = Vec::new();
        for i in 0..n {
            let seq = isn.wrapping_add(1 + i * 1448);
            let times = if extra > 0 && i % extra == 0 { 2 } else { 1 };
            for k in 0..times {
                if l.drops(&segment(40000, seq, 1448, false)) {
                    out.push((i, k));
                }
            }
        }
        out
    }

    #[test]
    fn same_data_same_fate_whatever_the_isn_and_the_other_frames() {
        let a = lost(1, 1000, 5000, 0);
        assert_eq!(a, lost(1, 0xffff_ff00, 5000, 0), "keyed on the relative sequence");
        // Extra transmissions in between do not move the first transmissions' losses.
        let b = lost(1, 1000, 5000, 7);
        let first: Vec<_> = b.iter().copied().filter(|&(_, k)| k == 0).collect();
        assert_eq!(a, first);
        // ~10 % of first transmissions and of second ones, independently.
        assert!((400..600).contains(&a.len()), "{}", a.len());
        let second = b.iter().filter(|&&(_, k)| k == 1).count();
        assert!((40..110).contains(&second), "{second} of 715 second transmissions");
        assert_ne!(a, lost(2, 1000, 5000, 0), "another seed, other losses");
    }

    #[test]
    fn a_short_segment_shifts_no_later_fate() {
        // One stream of full segments; the other sends 808 bytes at block 300 and then
        // full segments 808 bytes later: block by block, the same first-send fates.
        let fates = |short: bool| {
            let mut l = SeqLoss::new(0.1, 4);
            l.drops(&segment(40000, 0, 0, true));
            let mut seq = 1u32;
            let mut out = Vec::new();
            for i in 0..3000u32 {
                let len = if short && i == 300 { 808 } else { 1448 };
                out.push((seq + len - 2) / 1448);
                let lost = l.drops(&segment(40000, seq, len as usize, false));
                *out.last_mut().unwrap() |= u32::from(lost) << 31;
                seq += len;
            }
            out
        };
        let (a, b) = (fates(false), fates(true));
        let lost = |v: &[u32]| {
            v.iter().filter(|x| *x >> 31 == 1).map(|x| x & !(1 << 31)).collect::<Vec<_>>()
        };
        assert_eq!(lost(&a[..300]), lost(&b[..300]));
        assert_eq!(lost(&a[301..]), lost(&b[301..]), "blocks after the short segment");
        assert!(lost(&a).len() > 200);
    }

    #[test]
    fn pure_acks_and_zero_loss_pass() {
        let mut l = SeqLoss::new(1.0, 1);
        assert!(!l.drops(&segment(1, 5, 0, false)));
        assert!(l.drops(&segment(1, 5, 1, false)));
        let mut none = SeqLoss::new(0.0, 1);
        assert!(!none.drops(&segment(1, 5, 1, false)));
    }
}
