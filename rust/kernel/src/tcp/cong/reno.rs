//! Reno / NewReno window management (RFC 5681), as Linux `tcp_reno_cong_avoid`,
//! `tcp_reno_ssthresh` and `tcp_reno_undo_cwnd`.

use super::{CcView, CongestionOps, CwndUpdate, cong_avoid_ai, slow_start};
use crate::Nanos;

#[derive(Debug, Default)]
pub struct Reno;

impl Reno {
    pub fn boxed() -> Box<dyn CongestionOps> {
        Box::new(Reno)
    }
}

impl CongestionOps for Reno {
    fn name(&self) -> &'static str {
        "reno"
    }

    /// RFC 5681 (4): ssthresh = max(FlightSize / 2, 2) (Linux halves cwnd).
    fn ssthresh(&mut self, _now: Nanos, v: &CcView) -> u32 {
        (v.cwnd >> 1).max(2)
    }

    fn cong_avoid(&mut self, _now: Nanos, v: &CcView, acked: u32) -> CwndUpdate {
        let same = CwndUpdate { cwnd: v.cwnd, cwnd_cnt: v.cwnd_cnt };
        if !v.cwnd_limited {
            return same;
        }
        let mut acked = acked;
        let mut cwnd = v.cwnd;
        if v.cwnd < v.ssthresh {
            (cwnd, acked) = slow_start(v, acked);
            if acked == 0 {
                return CwndUpdate { cwnd, cwnd_cnt: v.cwnd_cnt };
            }
        }
        cong_avoid_ai(cwnd, v.cwnd_cnt, cwnd, acked, v.cwnd_clamp)
    }

    fn undo_cwnd(&mut self, v: &CcView) -> u32 {
        v.cwnd.max(v.prior_cwnd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(cwnd: u32, ssthresh: u32) -> CcView {
        CcView { cwnd, ssthresh, cwnd_clamp: u32::MAX, cwnd_limited: true, ..Default::default() }
    }

    #[test]
    fn slow_start_then_linear() {
        let mut r = Reno;
        assert_eq!(r.cong_avoid(0, &view(10, 100), 2).cwnd, 12);
        // Crossing ssthresh: 2 to reach it, the rest counts toward +1.
        let u = r.cong_avoid(0, &view(10, 12), 5);
        assert_eq!((u.cwnd, u.cwnd_cnt), (12, 3));
        // Congestion avoidance: +1 per cwnd acked.
        let mut v = view(10, 5);
        for _ in 0..10 {
            let u = r.cong_avoid(0, &v, 1);
            v.cwnd = u.cwnd;
            v.cwnd_cnt = u.cwnd_cnt;
        }
        assert_eq!(v.cwnd, 11);
    }

    #[test]
    fn halves_and_not_limited() {
        let mut r = Reno;
        assert_eq!(r.ssthresh(0, &view(20, 100)), 10);
        assert_eq!(r.ssthresh(0, &view(3, 100)), 2);
        let mut v = view(10, 100);
        v.cwnd_limited = false;
        assert_eq!(r.cong_avoid(0, &v, 5).cwnd, 10);
    }
}
