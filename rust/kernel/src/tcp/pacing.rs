//! TCP pacing as Linux does it without the fq qdisc (`tcp_internal_pacing`,
//! `net/ipv4/tcp_output.c`): `sk_pacing_rate` is kept for every algorithm
//! (`tcp_update_pacing_rate`: 200 % of cwnd × mss / srtt in slow start, 120 % after,
//! `tcp_pacing_ss_ratio`/`tcp_pacing_ca_ratio`), or set by a `cong_control` algorithm
//! (BBR). Segments are actually paced only when the algorithm asks for it or
//! SO_MAX_PACING_RATE was set (Linux `sk_pacing_status = SK_PACING_NEEDED`): each one
//! moves the earliest departure time (`tcp_wstamp_ns`) by len / rate, and
//! `tcp_write_xmit` waits on the pacing timer until then (`tcp_pacing_check`).

use super::Cx;
use super::cong::{CcView, Control};
use super::sock::TcpSock;
use super::timer::Timer;
use crate::Nanos;

/// `sk_pacing_rate` / `sk_max_pacing_rate` when unset (Linux ~0UL).
pub const RATE_UNLIMITED: u64 = u64::MAX;
/// Linux `tcp_update_skb_after_send`: the first 10 data segments are not paced.
const UNPACED_SEGS: u32 = 10;

impl TcpSock {
    /// Linux `tcp_needs_internal_pacing`.
    pub(crate) fn pacing_on(&self) -> bool {
        self.pacing_needed
    }

    /// Linux `tcp_update_pacing_rate`.
    pub(crate) fn update_pacing_rate(&mut self, cx: &Cx<'_>) {
        let t = &cx.net.sysctl.tcp;
        let ratio = if self.cwnd < self.ssthresh / 2 {
            t.tcp_pacing_ss_ratio
        } else {
            t.tcp_pacing_ca_ratio
        };
        // Linux: mss × (USEC_PER_SEC / 100 << 3) × ratio × cwnd / srtt_us (srtt << 3).
        let mut rate = u128::from(self.mss) * (10_000 << 3) * u128::from(ratio);
        rate *= u128::from(self.cwnd.max(self.packets_out));
        let srtt8 = self.rtt.srtt.unwrap_or(0) * 8 / 1000;
        if srtt8 > 0 {
            rate /= u128::from(srtt8);
        }
        let rate = rate.min(u128::from(u64::MAX)) as u64;
        self.pacing_rate = rate.min(self.max_pacing_rate);
    }

    /// Linux `tcp_pacing_check`: true (and the pacing timer armed) if the next segment
    /// must wait for its departure time.
    pub(crate) fn pacing_check(&mut self, now: Nanos) -> bool {
        if !self.pacing_on() || self.wstamp <= now {
            return false;
        }
        if self.timer(Timer::Pacing).is_none() {
            self.set_timer(Timer::Pacing, self.wstamp);
        }
        true
    }

    /// Linux `__tcp_transmit_skb` + `tcp_update_skb_after_send`: a segment of `len`
    /// payload bytes left at `now`; the next may leave len / rate later, less the
    /// credit of a late departure (at most half of it).
    pub(crate) fn pacing_sent(&mut self, now: Nanos, len: usize) {
        let prior = self.wstamp;
        self.wstamp = self.wstamp.max(now);
        let rate = self.pacing_rate;
        if !self.pacing_on() || rate == RATE_UNLIMITED || rate == 0 {
            return;
        }
        if self.data_segs_out < UNPACED_SEGS || len == 0 {
            return;
        }
        let mut len_ns = (len as u128 * 1_000_000_000 / u128::from(rate)) as u64;
        let credit = self.wstamp - prior;
        len_ns -= (len_ns / 2).min(credit);
        self.wstamp += len_ns;
    }

    /// Applies what a `cong_control` algorithm decided (Linux writes `tp->snd_cwnd`,
    /// `sk_pacing_rate`, `snd_ssthresh`, `tp->app_limited` from inside the hooks).
    pub(crate) fn apply_control(&mut self, c: Control) {
        self.cwnd = c.cwnd.max(1);
        self.pacing_rate = c.pacing_rate.min(self.max_pacing_rate);
        if let Some(s) = c.ssthresh {
            self.ssthresh = s;
        }
        if let Some(a) = c.app_limited {
            self.rate.app_limited = a;
        }
    }

    /// A view for `init`, with a draw from the instance RNG for `cong_control`
    /// algorithms.
    pub(crate) fn cc_view_rand(&self, cx: &mut Cx<'_>) -> CcView {
        let mut v = self.cc_view();
        if self.cc.has_cong_control() {
            v.rand = cx.net.rng.next_u32();
        }
        v
    }

    /// (Re)attaches the congestion control (Linux `tcp_init_congestion_control`):
    /// `init`, what it set, and its pacing request (never cleared, as Linux's cmpxchg).
    pub(crate) fn cc_init(&mut self, cx: &mut Cx<'_>) {
        let v = self.cc_view_rand(cx);
        self.cc.init(cx.now, &v);
        if let Some(c) = self.cc.take_control() {
            self.apply_control(c);
        }
        if self.cc.wants_pacing() {
            self.pacing_needed = true;
        }
        if !self.cc.has_cong_control() {
            self.update_pacing_rate(cx);
        }
    }

    /// Linux `tcp_cong_control`: a `cong_control` algorithm sets cwnd and pacing from
    /// the ACK's rate sample; others had their `cong_avoid`/PRR, then the pacing rate
    /// follows cwnd.
    pub(crate) fn cong_control(&mut self, cx: &mut Cx<'_>) {
        if !self.cc.has_cong_control() {
            self.update_pacing_rate(cx);
            return;
        }
        let v = self.cc_view();
        let rs = self.rate.rs;
        let c = self.cc.cong_control(cx.now, &v, &rs);
        self.apply_control(c);
    }

    /// SO_MAX_PACING_RATE (Linux `sk_setsockopt`): any limit but ~0 turns pacing on.
    pub(crate) fn set_max_pacing_rate(&mut self, rate: u64) {
        if rate != RATE_UNLIMITED {
            self.pacing_needed = true;
        }
        self.max_pacing_rate = rate;
        self.pacing_rate = self.pacing_rate.min(rate);
    }
}
