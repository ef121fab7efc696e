//! BBR v1 (Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 2016;
//! draft-cardwell-iccrg-bbr-congestion-control-00), as Linux `net/ipv4/tcp_bbr.c`.
//!
//! The model: bottleneck bandwidth = windowed max of delivery-rate samples over 10
//! packet-timed rounds, min_rtt = windowed min over 10 s. Pacing rate = pacing_gain × bw
//! (1 % under), cwnd = cwnd_gain × BDP plus a quantization budget. Modes: STARTUP (gain
//! 2/ln2) until bw grows < 25 % for 3 rounds, DRAIN (gain ln2/2) until inflight ≤ BDP,
//! PROBE_BW (8-phase gain cycle 5/4, 3/4, 1 ×6, random start), PROBE_RTT (cwnd 4 for
//! 200 ms and a round) when min_rtt was not refreshed for 10 s. Losses are handled by
//! packet conservation in the first round of recovery and the long-term (policer) bw.
//!
//! Units as Linux: bandwidth in packets per µs << 24, gains << 8.

use super::minmax::MinMax;
use super::{CaEvent, CaState, CcView, CongestionOps, Control, CwndUpdate, RateSample};
use crate::Nanos;

const BW_SCALE: u32 = 24;
const BW_UNIT: u64 = 1 << BW_SCALE;
const BBR_SCALE: u32 = 8;
const BBR_UNIT: u32 = 1 << BBR_SCALE;
const USEC: u64 = 1_000;
const MSEC: u64 = 1_000_000;

/// Phases of the PROBE_BW gain cycle, and the bw filter length in rounds.
const CYCLE_LEN: u32 = 8;
const BW_RTTS: u32 = CYCLE_LEN + 2;
const MIN_RTT_WIN: Nanos = 10_000 * MSEC;
const PROBE_RTT_MODE: Nanos = 200 * MSEC;
/// Below this rate (bits/s) one segment per TSO burst.
const MIN_TSO_RATE: u64 = 1_200_000;
const PACING_MARGIN_PERCENT: u64 = 1;
/// 2/ln(2), and its inverse for DRAIN.
pub const HIGH_GAIN: u32 = BBR_UNIT * 2885 / 1000 + 1;
pub const DRAIN_GAIN: u32 = BBR_UNIT * 1000 / 2885;
pub const CWND_GAIN: u32 = BBR_UNIT * 2;
pub const PACING_GAIN: [u32; CYCLE_LEN as usize] = [
    BBR_UNIT * 5 / 4,
    BBR_UNIT * 3 / 4,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
];
const CYCLE_RAND: u32 = 7;
pub const CWND_MIN_TARGET: u32 = 4;
const FULL_BW_THRESH: u64 = (BBR_UNIT * 5 / 4) as u64;
const FULL_BW_CNT: u32 = 3;
const LT_INTVL_MIN_RTTS: u32 = 4;
const LT_LOSS_THRESH: u64 = 50;
const LT_BW_RATIO: u64 = (BBR_UNIT / 8) as u64;
const LT_BW_DIFF: u64 = 4000 / 8;
const LT_BW_MAX_RTTS: u32 = 48;
const EXTRA_ACKED_GAIN: u64 = BBR_UNIT as u64;
const EXTRA_ACKED_WIN_RTTS: u32 = 5;
const ACK_EPOCH_ACKED_RESET: u32 = 1 << 20;
const EXTRA_ACKED_MAX_US: u64 = 100_000;
/// Linux GSO_MAX_SIZE - 1 - MAX_TCP_HEADER (x86-64).
const GSO_BUDGET: u64 = 65536 - 1 - 320;
/// Linux `sk_pacing_shift` default: a TSO burst of ~1 ms at the pacing rate.
const PACING_SHIFT: u32 = 10;
const INIT_CWND: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}

#[derive(Debug, Clone, Default)]
pub struct Bbr {
    pub mode: Mode,
    pub min_rtt_us: u32,
    min_rtt_stamp: Nanos,
    probe_rtt_done_stamp: Option<Nanos>,
    bw: MinMax,
    pub rtt_cnt: u32,
    next_rtt_delivered: u64,
    cycle_mstamp: Nanos,
    prev_ca_state: CaState,
    packet_conservation: bool,
    round_start: bool,
    idle_restart: bool,
    probe_rtt_round_done: bool,
    lt_is_sampling: bool,
    lt_rtt_cnt: u32,
    pub lt_use_bw: bool,
    lt_bw: u64,
    lt_last_delivered: u64,
    lt_last_stamp: Nanos,
    lt_last_lost: u64,
    pub pacing_gain: u32,
    pub cwnd_gain: u32,
    pub full_bw_reached: bool,
    full_bw_cnt: u32,
    pub cycle_idx: u32,
    has_seen_rtt: bool,
    prior_cwnd: u32,
    full_bw: u64,
    ack_epoch_mstamp: Nanos,
    extra_acked: [u32; 2],
    ack_epoch_acked: u32,
    extra_acked_win_rtts: u32,
    extra_acked_win_idx: usize,
    /// An RTO happened (`bbr_set_state(TCP_CA_Loss)`): its one-loss long-term sample is
    /// taken on the next `cong_control`, which has the sender's view.
    lt_pending_loss: bool,
    /// xorshift32 state seeded from the instance RNG at `init` (the random phase).
    rng: u32,
    /// The socket's settings as this hook leaves them (Linux writes `tp` directly).
    out: Option<Control>,
}

/// Linux `bbr_min_tso_segs`: single-segment skbs below 1.2 Mbit/s, else 2.
fn min_tso_segs(pacing_rate: u64) -> u32 {
    if pacing_rate < MIN_TSO_RATE >> 3 { 1 } else { 2 }
}

impl Bbr {
    pub fn boxed() -> Box<dyn CongestionOps> {
        Box::new(Bbr::default())
    }

    fn max_bw(&self) -> u64 {
        self.bw.get()
    }

    /// Linux `bbr_bw`: the policed rate when one was detected, else the max filter.
    pub fn bw(&self) -> u64 {
        if self.lt_use_bw { self.lt_bw } else { self.max_bw() }
    }

    /// Linux `bbr_rate_bytes_per_sec`: packets/µs << 24 with a gain to bytes/s, 1 % under.
    fn rate_bytes_per_sec(mss: u32, rate: u64, gain: u32) -> u64 {
        let r = (u128::from(rate) * u128::from(mss) * u128::from(gain)) >> BBR_SCALE;
        let r = r * u128::from(1_000_000 / 100 * (100 - PACING_MARGIN_PERCENT));
        (r >> BW_SCALE).min(u128::from(u64::MAX)) as u64
    }

    fn bw_to_pacing_rate(v: &CcView, bw: u64, gain: u32) -> u64 {
        Self::rate_bytes_per_sec(v.mss, bw, gain).min(v.max_pacing_rate)
    }

    fn out(&mut self, v: &CcView) -> &mut Control {
        self.out.get_or_insert(Control {
            cwnd: v.cwnd,
            pacing_rate: v.pacing_rate,
            ssthresh: None,
            app_limited: None,
        })
    }

    /// Linux `bbr_init_pacing_rate_from_rtt`: high_gain × cwnd / srtt (1 ms if none).
    fn init_pacing_rate_from_rtt(&mut self, v: &CcView) {
        let rtt_us = if v.srtt_us > 0 {
            self.has_seen_rtt = true;
            v.srtt_us.max(1)
        } else {
            1000
        };
        let cwnd = self.out(v).cwnd;
        let bw = u64::from(cwnd) * BW_UNIT / u64::from(rtt_us);
        self.out(v).pacing_rate = Self::bw_to_pacing_rate(v, bw, HIGH_GAIN);
    }

    /// Linux `bbr_set_pacing_rate`: never slower than now until the pipe was filled.
    fn set_pacing_rate(&mut self, v: &CcView, bw: u64, gain: u32) {
        let rate = Self::bw_to_pacing_rate(v, bw, gain);
        if !self.has_seen_rtt && v.srtt_us > 0 {
            self.init_pacing_rate_from_rtt(v);
        }
        let full = self.full_bw_reached;
        let o = self.out(v);
        if full || rate > o.pacing_rate {
            o.pacing_rate = rate;
        }
    }

    /// Linux `bbr_tso_segs_goal` (TSO/GSO burst at ~1 ms of the pacing rate).
    fn tso_segs_goal(&mut self, v: &CcView) -> u32 {
        let rate = self.out(v).pacing_rate;
        let min_segs = min_tso_segs(rate);
        let bytes = (rate >> PACING_SHIFT).min(GSO_BUDGET);
        ((bytes / u64::from(v.mss.max(1))) as u32).max(min_segs)
    }

    /// Linux `bbr_save_cwnd`.
    fn save_cwnd(&mut self, cwnd: u32) {
        if (self.prev_ca_state as u8) < CaState::Recovery as u8 && self.mode != Mode::ProbeRtt {
            self.prior_cwnd = cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(cwnd);
        }
    }

    /// Linux `bbr_bdp`: ceil(bw × min_rtt × gain), the initial window without an RTT.
    fn bdp(&self, bw: u64, gain: u32) -> u32 {
        if self.min_rtt_us == u32::MAX {
            return INIT_CWND;
        }
        let w = u128::from(bw) * u128::from(self.min_rtt_us);
        let bdp = ((w * u128::from(gain)) >> BBR_SCALE).div_ceil(u128::from(BW_UNIT));
        bdp.min(u128::from(u32::MAX)) as u32
    }

    /// Linux `bbr_quantization_budget`.
    fn quantization_budget(&mut self, v: &CcView, cwnd: u32) -> u32 {
        let mut cwnd = cwnd.saturating_add(3 * self.tso_segs_goal(v));
        cwnd = (cwnd.saturating_add(1)) & !1;
        if self.mode == Mode::ProbeBw && self.cycle_idx == 0 {
            cwnd = cwnd.saturating_add(2);
        }
        cwnd
    }

    /// Linux `bbr_inflight`.
    fn inflight(&mut self, v: &CcView, bw: u64, gain: u32) -> u32 {
        let bdp = self.bdp(bw, gain);
        self.quantization_budget(v, bdp)
    }

    /// Linux `bbr_packets_in_net_at_edt`: in flight when the next paced segment leaves.
    fn packets_in_net_at_edt(&mut self, v: &CcView, now: Nanos, inflight_now: u32) -> u32 {
        let interval_us = v.wstamp.max(now).saturating_sub(now) / USEC;
        let delivered = ((u128::from(self.bw()) * u128::from(interval_us)) >> BW_SCALE) as u64;
        let mut at_edt = inflight_now;
        if self.pacing_gain > BBR_UNIT {
            at_edt = at_edt.saturating_add(self.tso_segs_goal(v));
        }
        if delivered >= u64::from(at_edt) { 0 } else { at_edt - delivered as u32 }
    }

    /// Linux `bbr_ack_aggregation_cwnd`.
    fn ack_aggregation_cwnd(&self) -> u32 {
        if !self.full_bw_reached {
            return 0;
        }
        let max_aggr = (u128::from(self.bw()) * u128::from(EXTRA_ACKED_MAX_US)
            / u128::from(BW_UNIT))
        .min(u128::from(u32::MAX)) as u64;
        let extra = u64::from(self.extra_acked[0].max(self.extra_acked[1]));
        ((EXTRA_ACKED_GAIN * extra) >> BBR_SCALE).min(max_aggr) as u32
    }

    /// Linux `bbr_set_cwnd_to_recover_or_restore`: packet conservation in the first
    /// round of recovery, the saved cwnd back when it ends. Some(cwnd) if conserving.
    fn recover_or_restore(&mut self, v: &CcView, rs: &RateSample, acked: u32) -> (u32, bool) {
        let state = v.ca_state;
        let mut cwnd = self.out(v).cwnd;
        if rs.losses > 0 {
            cwnd = cwnd.saturating_sub(rs.losses).max(1);
        }
        if state == CaState::Recovery && self.prev_ca_state != CaState::Recovery {
            self.packet_conservation = true;
            self.next_rtt_delivered = v.delivered;
            cwnd = v.in_flight + acked;
        } else if self.prev_ca_state as u8 >= CaState::Recovery as u8
            && (state as u8) < CaState::Recovery as u8
        {
            cwnd = cwnd.max(self.prior_cwnd);
            self.packet_conservation = false;
        }
        self.prev_ca_state = state;
        if self.packet_conservation {
            return (cwnd.max(v.in_flight + acked), true);
        }
        (cwnd, false)
    }

    /// Linux `bbr_set_cwnd`: slow start toward the target, or snap down to it once the
    /// pipe was filled; 4 segments in PROBE_RTT.
    fn set_cwnd(&mut self, v: &CcView, rs: &RateSample, acked: u32, bw: u64, gain: u32) {
        let mut cwnd = self.out(v).cwnd;
        if acked > 0 {
            let (c, conserving) = self.recover_or_restore(v, rs, acked);
            cwnd = c;
            if !conserving {
                let mut target = self.bdp(bw, gain);
                target = target.saturating_add(self.ack_aggregation_cwnd());
                target = self.quantization_budget(v, target);
                if self.full_bw_reached {
                    cwnd = cwnd.saturating_add(acked).min(target);
                } else if cwnd < target || v.delivered < u64::from(INIT_CWND) {
                    cwnd = cwnd.saturating_add(acked);
                }
                cwnd = cwnd.max(CWND_MIN_TARGET);
            }
        }
        let mut cwnd = cwnd.min(v.cwnd_clamp);
        if self.mode == Mode::ProbeRtt {
            cwnd = cwnd.min(CWND_MIN_TARGET);
        }
        self.out(v).cwnd = cwnd;
    }

    /// Linux `bbr_is_next_cycle_phase`.
    fn is_next_cycle_phase(&mut self, v: &CcView, now: Nanos, rs: &RateSample) -> bool {
        let full_length =
            v.delivered_ts.saturating_sub(self.cycle_mstamp) / USEC > u64::from(self.min_rtt_us);
        if self.pacing_gain == BBR_UNIT {
            return full_length;
        }
        let inflight = self.packets_in_net_at_edt(v, now, rs.prior_in_flight);
        let bw = self.max_bw();
        if self.pacing_gain > BBR_UNIT {
            return full_length
                && (rs.losses > 0 || inflight >= self.inflight(v, bw, self.pacing_gain));
        }
        full_length || inflight <= self.inflight(v, bw, BBR_UNIT)
    }

    fn advance_cycle_phase(&mut self, v: &CcView) {
        self.cycle_idx = (self.cycle_idx + 1) & (CYCLE_LEN - 1);
        self.cycle_mstamp = v.delivered_ts;
    }

    /// Linux `bbr_reset_probe_bw_mode`: a random phase other than the 3/4 one follows.
    fn reset_probe_bw_mode(&mut self, v: &CcView) {
        self.mode = Mode::ProbeBw;
        // Linux `get_random_u32_below(bbr_cycle_rand)`.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        let r = ((u64::from(self.rng) * u64::from(CYCLE_RAND)) >> 32) as u32;
        self.cycle_idx = CYCLE_LEN - 1 - r;
        self.advance_cycle_phase(v);
    }

    fn reset_mode(&mut self, v: &CcView) {
        if self.full_bw_reached {
            self.reset_probe_bw_mode(v);
        } else {
            self.mode = Mode::Startup;
        }
    }

    fn reset_lt_bw_sampling_interval(&mut self, v: &CcView) {
        self.lt_last_stamp = v.delivered_ts / MSEC;
        self.lt_last_delivered = v.delivered;
        self.lt_last_lost = v.lost;
        self.lt_rtt_cnt = 0;
    }

    fn reset_lt_bw_sampling(&mut self, v: &CcView) {
        self.lt_bw = 0;
        self.lt_use_bw = false;
        self.lt_is_sampling = false;
        self.reset_lt_bw_sampling_interval(v);
    }

    /// Linux `bbr_lt_bw_interval_done`: two consistent lossy intervals = a policer.
    fn lt_bw_interval_done(&mut self, v: &CcView, bw: u64) {
        if self.lt_bw > 0 {
            let diff = bw.abs_diff(self.lt_bw);
            if diff * u64::from(BBR_UNIT) <= LT_BW_RATIO * self.lt_bw
                || Self::rate_bytes_per_sec(v.mss, diff, BBR_UNIT) <= LT_BW_DIFF
            {
                self.lt_bw = (bw + self.lt_bw) >> 1;
                self.lt_use_bw = true;
                self.pacing_gain = BBR_UNIT;
                self.lt_rtt_cnt = 0;
                return;
            }
        }
        self.lt_bw = bw;
        self.reset_lt_bw_sampling_interval(v);
    }

    /// Linux `bbr_lt_bw_sampling`: token-bucket policer detection.
    fn lt_bw_sampling(&mut self, v: &CcView, rs: &RateSample) {
        if self.lt_use_bw {
            if self.mode == Mode::ProbeBw && self.round_start {
                self.lt_rtt_cnt += 1;
                if self.lt_rtt_cnt >= LT_BW_MAX_RTTS {
                    self.reset_lt_bw_sampling(v);
                    self.reset_probe_bw_mode(v);
                }
            }
            return;
        }
        if !self.lt_is_sampling {
            if rs.losses == 0 {
                return;
            }
            self.reset_lt_bw_sampling_interval(v);
            self.lt_is_sampling = true;
        }
        if rs.is_app_limited {
            self.reset_lt_bw_sampling(v);
            return;
        }
        if self.round_start {
            self.lt_rtt_cnt += 1;
        }
        if self.lt_rtt_cnt < LT_INTVL_MIN_RTTS {
            return;
        }
        if self.lt_rtt_cnt > 4 * LT_INTVL_MIN_RTTS {
            self.reset_lt_bw_sampling(v);
            return;
        }
        if rs.losses == 0 {
            return;
        }
        let lost = v.lost.saturating_sub(self.lt_last_lost);
        let delivered = v.delivered.saturating_sub(self.lt_last_delivered);
        if delivered == 0 || (lost << BBR_SCALE) < LT_LOSS_THRESH * delivered {
            return;
        }
        let t_ms = (v.delivered_ts / MSEC).saturating_sub(self.lt_last_stamp);
        if t_ms < 1 {
            return;
        }
        if t_ms >= u64::from(u32::MAX) / 1000 {
            self.reset_lt_bw_sampling(v);
            return;
        }
        let bw = delivered * BW_UNIT / (t_ms * 1000);
        self.lt_bw_interval_done(v, bw);
    }

    /// Linux `bbr_update_bw`: rounds, and the max filter of delivery-rate samples.
    fn update_bw(&mut self, v: &CcView, rs: &RateSample) {
        self.round_start = false;
        if rs.invalid || rs.prior_ts.is_none() {
            return;
        }
        if rs.prior_delivered >= self.next_rtt_delivered {
            self.next_rtt_delivered = v.delivered;
            self.rtt_cnt += 1;
            self.round_start = true;
            self.packet_conservation = false;
        }
        self.lt_bw_sampling(v, rs);
        let us = (rs.interval / USEC).max(1);
        let bw = rs.delivered * BW_UNIT / us;
        if !rs.is_app_limited || bw >= self.max_bw() {
            self.bw.running_max(BW_RTTS, self.rtt_cnt, bw);
        }
    }

    /// Linux `bbr_update_ack_aggregation`: the windowed max of data ACKed beyond bw.
    fn update_ack_aggregation(&mut self, v: &CcView, rs: &RateSample) {
        if rs.acked_sacked == 0 || rs.invalid || rs.prior_ts.is_none() {
            return;
        }
        if self.round_start {
            self.extra_acked_win_rtts = (self.extra_acked_win_rtts + 1).min(0x1f);
            if self.extra_acked_win_rtts >= EXTRA_ACKED_WIN_RTTS {
                self.extra_acked_win_rtts = 0;
                self.extra_acked_win_idx ^= 1;
                self.extra_acked[self.extra_acked_win_idx] = 0;
            }
        }
        let epoch_us = v.delivered_ts.saturating_sub(self.ack_epoch_mstamp) / USEC;
        let mut expected = (u128::from(self.bw()) * u128::from(epoch_us) / u128::from(BW_UNIT))
            .min(u128::from(u32::MAX)) as u32;
        if self.ack_epoch_acked <= expected
            || self.ack_epoch_acked + rs.acked_sacked >= ACK_EPOCH_ACKED_RESET
        {
            self.ack_epoch_acked = 0;
            self.ack_epoch_mstamp = v.delivered_ts;
            expected = 0;
        }
        self.ack_epoch_acked = (self.ack_epoch_acked + rs.acked_sacked).min(0xfffff);
        let extra = (self.ack_epoch_acked - expected).min(self.out(v).cwnd);
        let slot = &mut self.extra_acked[self.extra_acked_win_idx];
        *slot = (*slot).max(extra);
    }

    /// Linux `bbr_check_full_bw_reached`: 3 rounds without 25 % growth.
    fn check_full_bw_reached(&mut self, rs: &RateSample) {
        if self.full_bw_reached || !self.round_start || rs.is_app_limited {
            return;
        }
        let thresh = (self.full_bw * FULL_BW_THRESH) >> BBR_SCALE;
        if self.max_bw() >= thresh {
            self.full_bw = self.max_bw();
            self.full_bw_cnt = 0;
            return;
        }
        self.full_bw_cnt += 1;
        self.full_bw_reached = self.full_bw_cnt >= FULL_BW_CNT;
    }

    /// Linux `bbr_check_drain`.
    fn check_drain(&mut self, v: &CcView, now: Nanos) {
        if self.mode == Mode::Startup && self.full_bw_reached {
            self.mode = Mode::Drain;
            let ss = self.inflight(v, self.max_bw(), BBR_UNIT);
            self.out(v).ssthresh = Some(ss);
        }
        if self.mode == Mode::Drain {
            let in_net = self.packets_in_net_at_edt(v, now, v.in_flight);
            if in_net <= self.inflight(v, self.max_bw(), BBR_UNIT) {
                self.reset_probe_bw_mode(v);
            }
        }
    }

    /// Linux `bbr_check_probe_rtt_done`.
    fn check_probe_rtt_done(&mut self, v: &CcView, now: Nanos) {
        match self.probe_rtt_done_stamp {
            Some(t) if now > t => {}
            _ => return,
        }
        self.min_rtt_stamp = now;
        let prior = self.prior_cwnd;
        let o = self.out(v);
        o.cwnd = o.cwnd.max(prior);
        self.reset_mode(v);
    }

    /// Linux `bbr_update_min_rtt`: the 10 s min filter and PROBE_RTT.
    fn update_min_rtt(&mut self, v: &CcView, now: Nanos, rs: &RateSample) {
        let expired = now > self.min_rtt_stamp + MIN_RTT_WIN;
        if let Some(rtt) = rs.rtt_us
            && (rtt < self.min_rtt_us || expired)
        {
            self.min_rtt_us = rtt;
            self.min_rtt_stamp = now;
        }
        if expired && !self.idle_restart && self.mode != Mode::ProbeRtt {
            self.mode = Mode::ProbeRtt;
            let cwnd = self.out(v).cwnd;
            self.save_cwnd(cwnd);
            self.probe_rtt_done_stamp = None;
        }
        if self.mode == Mode::ProbeRtt {
            self.out(v).app_limited = Some((v.delivered + u64::from(v.in_flight)).max(1));
            if self.probe_rtt_done_stamp.is_none() && v.in_flight <= CWND_MIN_TARGET {
                self.probe_rtt_done_stamp = Some(now + PROBE_RTT_MODE);
                self.probe_rtt_round_done = false;
                self.next_rtt_delivered = v.delivered;
            } else if self.probe_rtt_done_stamp.is_some() {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done {
                    self.check_probe_rtt_done(v, now);
                }
            }
        }
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    fn update_gains(&mut self) {
        (self.pacing_gain, self.cwnd_gain) = match self.mode {
            Mode::Startup => (HIGH_GAIN, HIGH_GAIN),
            Mode::Drain => (DRAIN_GAIN, HIGH_GAIN),
            Mode::ProbeBw if self.lt_use_bw => (BBR_UNIT, CWND_GAIN),
            Mode::ProbeBw => (PACING_GAIN[self.cycle_idx as usize], CWND_GAIN),
            Mode::ProbeRtt => (BBR_UNIT, BBR_UNIT),
        };
    }

    /// Linux `bbr_update_model`.
    fn update_model(&mut self, v: &CcView, now: Nanos, rs: &RateSample) {
        self.update_bw(v, rs);
        self.update_ack_aggregation(v, rs);
        if self.mode == Mode::ProbeBw && self.is_next_cycle_phase(v, now, rs) {
            self.advance_cycle_phase(v);
        }
        self.check_full_bw_reached(rs);
        self.check_drain(v, now);
        self.update_min_rtt(v, now, rs);
        self.update_gains();
    }
}

impl CongestionOps for Bbr {
    fn name(&self) -> &'static str {
        "bbr"
    }

    /// Linux `bbr_init`.
    fn init(&mut self, now: Nanos, v: &CcView) {
        *self = Bbr { rng: v.rand.max(1), ..Bbr::default() };
        self.out(v).ssthresh = Some(super::INFINITE_SSTHRESH);
        self.next_rtt_delivered = v.delivered;
        self.prev_ca_state = CaState::Open;
        self.min_rtt_us = if v.min_rtt_us == 0 { u32::MAX } else { v.min_rtt_us };
        self.min_rtt_stamp = now;
        self.bw.reset(0, 0);
        self.init_pacing_rate_from_rtt(v);
        self.reset_lt_bw_sampling(v);
        self.mode = Mode::Startup;
        self.update_gains();
        self.ack_epoch_mstamp = now;
    }

    /// Linux `bbr_ssthresh`: note cwnd for the end of recovery; ssthresh unchanged.
    fn ssthresh(&mut self, _now: Nanos, v: &CcView) -> u32 {
        self.save_cwnd(v.cwnd);
        v.ssthresh
    }

    fn cong_avoid(&mut self, _now: Nanos, v: &CcView, _acked: u32) -> CwndUpdate {
        CwndUpdate { cwnd: v.cwnd, cwnd_cnt: v.cwnd_cnt }
    }

    /// Linux `bbr_undo_cwnd`: a spurious slow-down resets full-pipe detection.
    fn undo_cwnd(&mut self, v: &CcView) -> u32 {
        self.full_bw = 0;
        self.full_bw_cnt = 0;
        self.reset_lt_bw_sampling(v);
        v.cwnd
    }

    /// Linux `bbr_set_state`: an RTO ends the round and counts as a loss.
    fn set_state(&mut self, _now: Nanos, state: CaState) {
        if state == CaState::Loss {
            self.prev_ca_state = CaState::Loss;
            self.full_bw = 0;
            self.round_start = true;
            // `bbr_lt_bw_sampling` with one loss; the view-free part of it here, the
            // interval is (re)started on the next ACK (see `cong_control`).
            self.lt_pending_loss = true;
        }
    }

    /// Linux `bbr_cwnd_event` (`CA_EVENT_TX_START`): restart from idle.
    fn cwnd_event_view(&mut self, now: Nanos, v: &CcView, ev: CaEvent) {
        if ev != CaEvent::TxStart || v.app_limited == 0 {
            return;
        }
        self.idle_restart = true;
        self.ack_epoch_mstamp = now;
        self.ack_epoch_acked = 0;
        if self.mode == Mode::ProbeBw {
            self.set_pacing_rate(v, self.bw(), BBR_UNIT);
        } else if self.mode == Mode::ProbeRtt {
            self.check_probe_rtt_done(v, now);
        }
    }

    fn has_cong_control(&self) -> bool {
        true
    }

    /// Linux `bbr_main`.
    fn cong_control(&mut self, now: Nanos, v: &CcView, rs: &RateSample) -> Control {
        if std::mem::take(&mut self.lt_pending_loss) {
            let loss = RateSample { losses: 1, ..Default::default() };
            self.lt_bw_sampling(v, &loss);
        }
        self.update_model(v, now, rs);
        let bw = self.bw();
        self.set_pacing_rate(v, bw, self.pacing_gain);
        self.set_cwnd(v, rs, rs.acked_sacked, bw, self.cwnd_gain);
        let o = *self.out(v);
        self.out = None;
        o
    }

    fn take_control(&mut self) -> Option<Control> {
        self.out.take()
    }

    fn wants_pacing(&self) -> bool {
        true
    }

    fn min_tso_segs(&self, pacing_rate: u64) -> Option<u32> {
        Some(min_tso_segs(pacing_rate))
    }

    /// Linux `bbr_sndbuf_expand`: 3 windows, as BBR may slow-start during recovery.
    fn sndbuf_expand(&self) -> u32 {
        3
    }

    /// Linux `bbr_get_info`: `struct tcp_bbr_info`.
    fn get_info(&self, v: &CcView) -> Vec<u8> {
        let bw = ((u128::from(self.bw()) * u128::from(v.mss) * 1_000_000) >> BW_SCALE) as u64;
        let mut b = Vec::with_capacity(20);
        for x in [bw as u32, (bw >> 32) as u32, self.min_rtt_us, self.pacing_gain, self.cwnd_gain] {
            b.extend_from_slice(&x.to_ne_bytes());
        }
        b
    }
}

#[cfg(test)]
#[path = "bbr_tests.rs"]
mod tests;
