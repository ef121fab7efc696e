//! Round-trip time estimation and the retransmission timeout: RFC 6298 with Linux's
//! choices (`tcp_rtt_estimator`, `__tcp_set_rto`): the variance term is floored at
//! TCP_RTO_MIN, so RTO = SRTT + max(4 * RTTVAR, 200 ms), clamped to TCP_RTO_MAX.

use crate::Nanos;

pub const MS: Nanos = 1_000_000;
/// Linux TCP_RTO_MIN.
pub const RTO_MIN: Nanos = 200 * MS;
/// Linux TCP_RTO_MAX.
pub const RTO_MAX: Nanos = 120_000 * MS;
/// RFC 6298 (2.1) / Linux TCP_TIMEOUT_INIT.
pub const RTO_INIT: Nanos = 1_000 * MS;
/// RFC 6298 (5.7) / Linux TCP_TIMEOUT_FALLBACK: RTO once the SYN needed retransmission.
pub const RTO_FALLBACK: Nanos = 3_000 * MS;

#[derive(Debug, Clone, Copy)]
pub struct RttEstimator {
    /// Smoothed RTT; None before the first sample.
    pub srtt: Option<Nanos>,
    pub rttvar: Nanos,
    pub min_rtt: Option<Nanos>,
    /// The RTO before backoff.
    pub rto: Nanos,
}

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator { srtt: None, rttvar: 0, min_rtt: None, rto: RTO_INIT }
    }
}

impl RttEstimator {
    /// Takes one RTT measurement (RFC 6298 (2.2), (2.3)); min_rtt follows `ca_rtt`,
    /// the RTT of the newest segment the ACK covers (Linux `tcp_update_rtt_min`).
    pub fn sample(&mut self, rtt: Nanos, ca_rtt: Nanos) {
        let rtt = rtt.max(1_000);
        let ca_rtt = ca_rtt.max(1_000);
        self.min_rtt = Some(self.min_rtt.map_or(ca_rtt, |m| m.min(ca_rtt)));
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'.
                let err = srtt.abs_diff(rtt);
                self.rttvar = (3 * self.rttvar + err) / 4;
                self.srtt = Some((7 * srtt + rtt) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        self.rto = (srtt + (4 * self.rttvar).max(RTO_MIN)).min(RTO_MAX);
    }

    /// The RTO after `backoff` doublings (RFC 6298 (5.5)), at most TCP_RTO_MAX.
    pub fn rto_backoff(&self, backoff: u32) -> Nanos {
        self.rto.checked_shl(backoff.min(31)).unwrap_or(RTO_MAX).min(RTO_MAX)
    }

    pub fn srtt_us(&self) -> u32 {
        (self.srtt.unwrap_or(0) / 1000) as u32
    }
}

/// Linux `tcp_model_timeout`/`retransmits_timed_out`: how long `boundary` exponential
/// backoffs starting at `rto_base` take, with the RTO capped at TCP_RTO_MAX.
pub fn give_up_after(boundary: u32, rto_base: Nanos) -> Nanos {
    let thresh = (RTO_MAX / rto_base).max(1).ilog2();
    if boundary <= thresh {
        ((2u64 << boundary) - 1) * rto_base
    } else {
        ((2u64 << thresh) - 1) * rto_base + u64::from(boundary - thresh) * RTO_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_rfc6298() {
        let mut r = RttEstimator::default();
        assert_eq!(r.rto, RTO_INIT);
        r.sample(100 * MS, 100 * MS);
        assert_eq!(r.srtt, Some(100 * MS));
        assert_eq!(r.rttvar, 50 * MS);
        assert_eq!(r.rto, 300 * MS);
        r.sample(10 * MS, 10 * MS);
        // Floor: SRTT + TCP_RTO_MIN.
        assert!(r.rto >= r.srtt.unwrap() + RTO_MIN);
    }

    #[test]
    fn backoff_caps() {
        let r = RttEstimator::default();
        assert_eq!(r.rto_backoff(1), 2 * RTO_INIT);
        assert_eq!(r.rto_backoff(20), RTO_MAX);
    }

    #[test]
    fn linux_timeouts() {
        // tcp_syn_retries = 6 from a 1 s RTO: 127 s; tcp_retries2 = 15 from 200 ms: 924.6 s.
        assert_eq!(give_up_after(6, RTO_INIT), 127_000 * MS);
        assert_eq!(give_up_after(15, RTO_MIN), 924_600 * MS);
    }
}
