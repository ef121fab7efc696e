//! Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation; Linux
//! `tcp_rate.c`): each transmission remembers how much had been delivered when it left,
//! and each ACK turns the newest delivered segment's record into a sample of
//! delivered / max(send interval, ACK interval). It feeds `tcpi_delivery_rate` and
//! model-based congestion control (BBR).

use super::seq::SeqNumber;
use super::sock::{TcpSock, TxSeg};
use crate::Nanos;

/// One ACK's rate sample (Linux `struct rate_sample`), built while the ACK delivers
/// segments and closed by `rate_gen`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateSample {
    /// `tp.delivered` when the newest delivered segment was sent.
    pub prior_delivered: u64,
    /// When that count was reached; None = no segment delivered yet.
    pub prior_ts: Option<Nanos>,
    /// Send phase of that segment's flight, then the sample's interval.
    pub interval: Nanos,
    /// Segments delivered over `interval`.
    pub delivered: u64,
    pub is_app_limited: bool,
    pub is_retrans: bool,
    /// End of the segment the sample comes from (ties in send time go to the higher).
    pub last_end_seq: SeqNumber,
    /// The interval was shorter than the minimum RTT: no valid sample.
    pub invalid: bool,
    /// Filled for `cong_control` (Linux `tcp_ack`): segments newly (S)ACKed, newly
    /// marked lost, in flight before the ACK, and the RTT of the newest segment acked.
    pub acked_sacked: u32,
    pub losses: u32,
    pub prior_in_flight: u32,
    pub rtt_us: Option<u32>,
}

/// The per-connection estimator state (Linux `tp->delivered`, `delivered_mstamp`,
/// `first_tx_mstamp`, `app_limited`, `rate_delivered`, `rate_interval_us`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RateState {
    pub delivered: u64,
    pub delivered_ts: Nanos,
    pub first_tx_ts: Nanos,
    /// Nonzero: the flow is application-limited until `delivered` passes this.
    pub app_limited: u64,
    pub rate_delivered: u64,
    pub rate_interval: Nanos,
    pub rate_app_limited: bool,
    /// The sample of the ACK being processed.
    pub rs: RateSample,
}

impl TcpSock {
    /// Linux `tcp_rate_skb_sent`: stamps `rtx[idx]` as it leaves. A transmission into
    /// an empty pipe starts a new flight.
    pub(crate) fn rate_skb_sent(&mut self, now: Nanos, idx: usize, pipe_was_empty: bool) {
        let r = &mut self.rate;
        if pipe_was_empty {
            r.first_tx_ts = now;
            r.delivered_ts = now;
        }
        let (first_tx, delivered_ts, delivered, app) =
            (r.first_tx_ts, r.delivered_ts, r.delivered, r.app_limited != 0);
        let s = &mut self.rtx[idx];
        s.first_tx_ts = first_tx;
        s.delivered_ts = Some(delivered_ts);
        s.delivered = delivered;
        s.app_limited = app;
    }

    /// Linux `tcp_rate_skb_delivered`: `seg` was SACKed or cumulatively ACKed; the
    /// most recently sent such segment gives the sample (`tcp_skb_sent_after`: later
    /// send time, or the same and a higher end — several segments leave between two
    /// ACKs with one `delivered` count). Counted once per segment.
    pub(crate) fn rate_skb_delivered(r: &mut RateState, seg: &mut TxSeg) {
        let Some(delivered_ts) = seg.delivered_ts.take() else { return };
        r.delivered += 1;
        let sent_after = seg.sent > r.first_tx_ts
            || (seg.sent == r.first_tx_ts && seg.end() > r.rs.last_end_seq);
        if r.rs.prior_ts.is_none() || sent_after {
            r.rs.prior_delivered = seg.delivered;
            r.rs.prior_ts = Some(delivered_ts);
            r.rs.is_app_limited = seg.app_limited;
            r.rs.is_retrans = seg.ever_retrans;
            r.rs.last_end_seq = seg.end();
            r.first_tx_ts = seg.sent;
            r.rs.interval = seg.sent.saturating_sub(seg.first_tx_ts);
        }
    }

    /// Linux `tcp_rate_gen`: closes this ACK's sample; keeps it as the connection's
    /// delivery rate unless it is application-limited and slower than the last one.
    pub(crate) fn rate_gen(&mut self, now: Nanos, delivered_now: bool) {
        let min_rtt = self.rtt.min_rtt.unwrap_or(0);
        let r = &mut self.rate;
        if r.app_limited != 0 && r.delivered > r.app_limited {
            r.app_limited = 0;
        }
        if delivered_now {
            r.delivered_ts = now;
        }
        let rs = &mut r.rs;
        let Some(prior_ts) = rs.prior_ts else {
            rs.invalid = true;
            return;
        };
        rs.delivered = r.delivered - rs.prior_delivered;
        // The slower of the send and ACK phases bounds the rate (compression either way).
        rs.interval = rs.interval.max(now.saturating_sub(prior_ts));
        if rs.interval < min_rtt || rs.interval == 0 {
            rs.invalid = true;
            return;
        }
        let faster = u128::from(rs.delivered) * u128::from(r.rate_interval)
            >= u128::from(r.rate_delivered) * u128::from(rs.interval);
        if !rs.is_app_limited || faster {
            r.rate_delivered = rs.delivered;
            r.rate_interval = rs.interval;
            r.rate_app_limited = rs.is_app_limited;
        }
    }

    /// Linux `tcp_rate_check_app_limited`: nothing left to send while cwnd has room and
    /// no loss waits for a retransmission — samples until this data is delivered
    /// measure the application, not the network.
    pub(crate) fn rate_check_app_limited(&mut self) {
        if self.unsent.len() < self.mss as usize
            && self.in_flight() < self.cwnd
            && self.lost_out <= self.retrans_out
        {
            self.rate.app_limited = (self.rate.delivered + u64::from(self.in_flight())).max(1);
        }
    }

    /// `tcpi_delivery_rate`, bytes per second.
    pub fn delivery_rate(&self) -> u64 {
        let r = &self.rate;
        if r.rate_interval == 0 {
            return 0;
        }
        let bytes = u128::from(r.rate_delivered) * u128::from(self.mss);
        (bytes * 1_000_000_000 / u128::from(r.rate_interval)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::rtt::MS;

    fn seg(seq: u32, sent: Nanos, app_limited: bool) -> TxSeg {
        let data = bytes::Bytes::from(vec![0; 1000]);
        TxSeg {
            delivered: 5,
            delivered_ts: Some(9 * MS),
            app_limited,
            ..TxSeg::new(SeqNumber(seq), data, sent)
        }
    }

    #[test]
    fn the_sample_comes_from_the_segment_sent_last() {
        // Two segments left between the same two ACKs (one `delivered` count); one ACK
        // delivers both, the older first. Linux 5.18+ (`tcp_skb_sent_after`) samples
        // the newer: its app-limited mark and its send phase.
        let mut r = RateState::default();
        let (mut a, mut b) = (seg(0, 10 * MS, false), seg(1000, 12 * MS, true));
        TcpSock::rate_skb_delivered(&mut r, &mut a);
        TcpSock::rate_skb_delivered(&mut r, &mut b);
        assert_eq!(r.delivered, 2);
        assert!(r.rs.is_app_limited);
        assert_eq!((r.rs.interval, r.first_tx_ts), (12 * MS, 12 * MS));
        assert_eq!(r.rs.last_end_seq, SeqNumber(2000));
        // Sent at the same instant: the higher sequence wins, whatever the order.
        let mut r = RateState::default();
        let (mut a, mut b) = (seg(0, 10 * MS, false), seg(1000, 10 * MS, true));
        TcpSock::rate_skb_delivered(&mut r, &mut b);
        TcpSock::rate_skb_delivered(&mut r, &mut a);
        assert!(r.rs.is_app_limited, "b, the higher end, still gives the sample");
    }
}
