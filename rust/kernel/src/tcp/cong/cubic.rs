//! CUBIC with HyStart, as Linux `net/ipv4/tcp_cubic.c` (the Linux default; RFC 9438
//! describes the same window curve with floats). Linux's integer arithmetic is kept so the
//! windows match bit for bit: beta 717/1024, C = `bic_scale`/1024 against a fixed 100 ms
//! RTT, time in jiffies scaled by 2^10, a table cube root, and `cnt` (ACKs per +1 cwnd)
//! recomputed at most once per jiffy. HyStart (ACK train + delay increase) ends slow start
//! by setting ssthresh to cwnd.

use super::{AckSample, CaEvent, CaState, CcView, CongestionOps, CwndUpdate};
use super::{cong_avoid_ai, slow_start};
use crate::Nanos;
use crate::tcp::seq::SeqNumber;

/// Linux `BICTCP_BETA_SCALE`: beta and the fast-convergence factor are /1024.
const BETA_SCALE: u32 = 1024;
/// Linux `beta` (717/1024 ≈ 0.7, RFC 9438 §4.6 β_cubic).
pub const BETA: u32 = 717;
/// Linux `bic_scale`: C = 41 * 10 / 1024 ≈ 0.4 (RFC 9438 §5.1) at the 100 ms reference.
const BIC_SCALE: u32 = 41;
/// Linux `BICTCP_HZ`: time in the cubic is in 1/2^10 s.
const BICTCP_HZ: u32 = 10;
/// The kernel tick the cubic's clock runs on (`tcp_jiffies32`); CONFIG_HZ=1000.
pub const HZ: u32 = 1000;
/// Linux `cube_rtt_scale` (1024 * C / rtt).
const CUBE_RTT_SCALE: u64 = (BIC_SCALE * 10) as u64;
/// Linux `cube_factor`: 2^(10 + 3 * BICTCP_HZ) / (bic_scale * 10), for K.
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * BICTCP_HZ)) / (BIC_SCALE as u64 * 10);
/// Linux `beta_scale`: the Reno estimate grows 1 per (cwnd * 15 / 8) ACKs, i.e.
/// α = 3(1-β)/(1+β) (RFC 9438 §4.3).
const FRIENDLY_SCALE: u32 = 8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA);

/// `hystart_detect` bits.
pub const HYSTART_ACK_TRAIN: u8 = 0x1;
pub const HYSTART_DELAY: u8 = 0x2;
/// Linux `HYSTART_MIN_SAMPLES`: delay samples per round before deciding.
const HYSTART_MIN_SAMPLES: u8 = 8;
/// Linux `HYSTART_DELAY_THRESH` bounds, microseconds.
const HYSTART_DELAY_MIN: u32 = 4000;
const HYSTART_DELAY_MAX: u32 = 16000;
/// `sk_gso_max_size` of an Ethernet device (GSO_LEGACY_MAX_SIZE), for `hystart_ack_delay`.
const GSO_MAX_SIZE: u64 = 65536;
/// `tcp_pacing_ss_ratio` / `tcp_pacing_ca_ratio` (percent), for the pacing rate HyStart
/// reads.
const PACING_SS_RATIO: u64 = 200;
const PACING_CA_RATIO: u64 = 120;

/// The module parameters of `tcp_cubic` that may change at run time
/// (`/sys/module/tcp_cubic/parameters/*`), with Linux's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CubicParams {
    pub fast_convergence: bool,
    pub tcp_friendliness: bool,
    pub hystart: bool,
    pub hystart_detect: u8,
    pub hystart_low_window: u32,
    pub hystart_ack_delta_us: u32,
}

impl Default for CubicParams {
    fn default() -> Self {
        CubicParams {
            fast_convergence: true,
            tcp_friendliness: true,
            hystart: true,
            hystart_detect: HYSTART_ACK_TRAIN | HYSTART_DELAY,
            hystart_low_window: 16,
            hystart_ack_delta_us: 2000,
        }
    }
}

/// Per-connection state (Linux `struct bictcp`). Times are jiffies (`_j`) or
/// microseconds (`_us`), both wrapping u32 like Linux.
#[derive(Debug, Default, Clone)]
pub struct Cubic {
    pub params: CubicParams,
    /// ACKs per +1 cwnd.
    cnt: u32,
    /// W_max (Linux `last_max_cwnd`).
    last_max_cwnd: u32,
    last_cwnd: u32,
    last_time_j: u32,
    /// W_max or the cwnd the epoch started from.
    origin_point: u32,
    /// K in 1/1024 s.
    k: u32,
    delay_min_us: u32,
    /// Start of the current congestion-avoidance epoch (Linux `epoch_start`; its 0 is None).
    epoch_start_j: Option<u32>,
    ack_cnt: u32,
    /// Reno's window over the same epoch (W_est, RFC 9438 §4.3).
    tcp_cwnd: u32,
    // HyStart.
    sample_cnt: u8,
    found: bool,
    round_start_us: u32,
    end_seq: SeqNumber,
    last_ack_us: u32,
    curr_rtt_us: u32,
    /// SND.NXT of the last view seen, for the round reset on entering Loss.
    snd_nxt: SeqNumber,
}

fn jiffies(now: Nanos) -> u32 {
    (now / (1_000_000_000 / u64::from(HZ))) as u32
}

fn clock_us(now: Nanos) -> u32 {
    (now / 1000) as u32
}

/// Linux `usecs_to_jiffies` (rounds up).
fn usecs_to_jiffies(us: u32) -> u32 {
    let per = 1_000_000 / HZ;
    us.div_ceil(per)
}

/// Linux `cubic_root`: cube root of `a` from a 64-entry table of the top bits, then one
/// Newton-Raphson step (error ~0.2 %).
pub fn cubic_root(a: u64) -> u32 {
    // For x in 0..64: cbrt(x << 18) - 1, so that cbrt(x) = (V[x] + 10) >> 6.
    const V: [u8; 64] = [
        0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164,
        168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209,
        211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
        242, 244, 245, 246, 248, 250, 251, 252, 254,
    ];
    let bits = 64 - a.leading_zeros();
    if bits < 7 {
        return (u32::from(V[a as usize]) + 35) >> 6;
    }
    // Roughly bits / 3 - 1: the shift that brings `a` into the table's range.
    let b = ((bits * 84) >> 8) - 1;
    let top = (a >> (b * 3)) as usize;
    let x = ((u32::from(V[top]) + 10) << b) >> 6;
    // x' = (2x + a / x^2) / 3, with x(x-1) and 341/1024 as Linux has them.
    let x = (2 * x).wrapping_add((a / (u64::from(x) * u64::from(x - 1))) as u32);
    x.wrapping_mul(341) >> 10
}

impl Cubic {
    pub fn new(params: CubicParams) -> Self {
        Cubic { params, ..Default::default() }
    }

    pub fn boxed() -> Box<dyn CongestionOps> {
        Box::new(Cubic::default())
    }

    /// W_max (segments).
    pub fn w_max(&self) -> u32 {
        self.last_max_cwnd
    }

    /// K in 1/1024 s, and the window the curve is centred on.
    pub fn k_and_origin(&self) -> (u32, u32) {
        (self.k, self.origin_point)
    }

    /// Whether HyStart ended slow start in this episode.
    pub fn hystart_found(&self) -> bool {
        self.found
    }

    /// Linux `bictcp_reset`: everything but the parameters and the HyStart round.
    fn reset(&mut self) {
        *self = Cubic {
            params: self.params,
            round_start_us: self.round_start_us,
            end_seq: self.end_seq,
            last_ack_us: self.last_ack_us,
            curr_rtt_us: self.curr_rtt_us,
            sample_cnt: self.sample_cnt,
            snd_nxt: self.snd_nxt,
            ..Default::default()
        };
    }

    /// Linux `bictcp_hystart_reset`: a new round starts now and ends when SND.NXT is acked.
    fn hystart_reset(&mut self, now: Nanos, snd_nxt: SeqNumber) {
        self.round_start_us = clock_us(now);
        self.last_ack_us = self.round_start_us;
        self.end_seq = snd_nxt;
        self.curr_rtt_us = u32::MAX;
        self.sample_cnt = 0;
    }

    /// Linux `bictcp_update`: recompute `cnt` so cwnd follows W_cubic(t + RTT), or Reno's
    /// estimate where that is larger (RFC 9438 §4.2-4.4).
    fn update(&mut self, now: Nanos, cwnd: u32, acked: u32) {
        let now_j = jiffies(now);
        self.ack_cnt = self.ack_cnt.wrapping_add(acked);
        if self.last_cwnd == cwnd && (now_j.wrapping_sub(self.last_time_j) as i32) <= HZ as i32 / 32
        {
            return;
        }
        // `cnt` changes at most once per jiffy; a reduction clears the epoch to force it.
        if self.epoch_start_j.is_none() || now_j != self.last_time_j {
            self.last_cwnd = cwnd;
            self.last_time_j = now_j;
            self.cubic_cnt(now_j, cwnd, acked);
        }
        if self.params.tcp_friendliness {
            self.friendliness(cwnd);
        }
        // At most +1 per 2 ACKed: 1.5x per RTT.
        self.cnt = self.cnt.max(2);
    }

    /// The cubic half of `bictcp_update`: start the epoch if needed, then
    /// W_cubic(t) = C (t - K)^3 + origin with t one delay_min ahead.
    fn cubic_cnt(&mut self, now_j: u32, cwnd: u32, acked: u32) {
        let epoch = match self.epoch_start_j {
            Some(e) => e,
            None => {
                self.epoch_start_j = Some(now_j);
                self.ack_cnt = acked;
                self.tcp_cwnd = cwnd;
                if self.last_max_cwnd <= cwnd {
                    self.k = 0;
                    self.origin_point = cwnd;
                } else {
                    // K = cbrt((W_max - cwnd) / C), RFC 9438 eq. 2, in 1/1024 s.
                    let gap = u64::from(self.last_max_cwnd - cwnd);
                    self.k = cubic_root(CUBE_FACTOR.wrapping_mul(gap));
                    self.origin_point = self.last_max_cwnd;
                }
                now_j
            }
        };
        let mut t = i64::from(now_j.wrapping_sub(epoch) as i32) as u64;
        t = t.wrapping_add(u64::from(usecs_to_jiffies(self.delay_min_us)));
        let target = self.w_cubic((t << BICTCP_HZ) / u64::from(HZ));
        self.cnt = if target > cwnd { cwnd / (target - cwnd) } else { cwnd.wrapping_mul(100) };
        // No W_max yet (no loss): at least +5 % per RTT.
        if self.last_max_cwnd == 0 && self.cnt > 20 {
            self.cnt = 20;
        }
    }

    /// W_cubic(t) = C (t - K)^3 + origin (RFC 9438 eq. 1), `t` in 1/1024 s since the
    /// epoch began, with Linux's fixed point (u32 wrap included).
    pub fn w_cubic(&self, t: u64) -> u32 {
        let k = u64::from(self.k);
        let offs = t.abs_diff(k);
        let delta = (CUBE_RTT_SCALE.wrapping_mul(offs).wrapping_mul(offs).wrapping_mul(offs)
            >> (10 + 3 * BICTCP_HZ)) as u32;
        if t < k {
            self.origin_point.wrapping_sub(delta)
        } else {
            self.origin_point.wrapping_add(delta)
        }
    }

    /// Reno-friendly region (RFC 9438 §4.3): W_est grows by one per cwnd / α ACKs; when
    /// it is ahead of cwnd, grow at least as fast as Reno would.
    fn friendliness(&mut self, cwnd: u32) {
        let per = ((cwnd.wrapping_mul(FRIENDLY_SCALE)) >> 3).max(1);
        if self.ack_cnt > per {
            let n = (self.ack_cnt - 1) / per;
            self.ack_cnt -= n * per;
            self.tcp_cwnd = self.tcp_cwnd.wrapping_add(n);
        }
        if self.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (self.tcp_cwnd - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
    }

    /// Linux `hystart_ack_delay`: room for TSO/GRO batching, 4 GSO packets at the pacing
    /// rate Linux would have set (`tcp_update_pacing_rate`), at most 1 ms.
    fn hystart_ack_delay(v: &CcView) -> u32 {
        let ratio = if v.cwnd < v.ssthresh / 2 { PACING_SS_RATIO } else { PACING_CA_RATIO };
        let mut rate = u64::from(v.mss) * 10_000 * ratio * u64::from(v.cwnd.max(v.packets_out));
        if v.srtt_us > 0 {
            rate /= u64::from(v.srtt_us);
        }
        if rate == 0 {
            return 0;
        }
        (GSO_MAX_SIZE * 4 * 1_000_000 / rate).min(1000) as u32
    }

    /// Linux `hystart_update`: in slow start, ACKs still arriving as a train after half
    /// the minimum delay (the pipe is full), or a round whose minimum RTT rose by
    /// clamp(delay_min / 8, 4 ms, 16 ms), end slow start at the current cwnd.
    fn hystart_update(&mut self, now: Nanos, v: &CcView, delay: u32) -> Option<u32> {
        if v.snd_una > self.end_seq {
            self.hystart_reset(now, v.snd_nxt);
        }
        if v.cwnd < self.params.hystart_low_window {
            return None;
        }
        let mut exit = None;
        if self.params.hystart_detect & HYSTART_ACK_TRAIN != 0 {
            let now_us = clock_us(now);
            if now_us.wrapping_sub(self.last_ack_us) as i32
                <= self.params.hystart_ack_delta_us as i32
            {
                self.last_ack_us = now_us;
                // Without pacing (SK_PACING_NONE) the train must reach delay_min / 2.
                let threshold = self.delay_min_us.wrapping_add(Self::hystart_ack_delay(v)) >> 1;
                if now_us.wrapping_sub(self.round_start_us) > threshold {
                    self.found = true;
                    exit = Some(v.cwnd);
                    tracing::debug!(target: "libos::tcp", cwnd = v.cwnd, "hystart ack train");
                }
            }
        }
        if self.params.hystart_detect & HYSTART_DELAY != 0 {
            self.curr_rtt_us = self.curr_rtt_us.min(delay);
            if self.sample_cnt < HYSTART_MIN_SAMPLES {
                self.sample_cnt += 1;
            } else {
                let thresh = (self.delay_min_us >> 3).clamp(HYSTART_DELAY_MIN, HYSTART_DELAY_MAX);
                if self.curr_rtt_us > self.delay_min_us.wrapping_add(thresh) {
                    self.found = true;
                    exit = Some(v.cwnd);
                    tracing::debug!(target: "libos::tcp", cwnd = v.cwnd, "hystart delay");
                }
            }
        }
        exit
    }
}

impl CongestionOps for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    /// Linux `cubictcp_init` (`initial_ssthresh` 0: unused).
    fn init(&mut self, now: Nanos, v: &CcView) {
        self.snd_nxt = v.snd_nxt;
        self.reset();
        if self.params.hystart {
            self.hystart_reset(now, v.snd_nxt);
        }
    }

    /// Linux `cubictcp_recalc_ssthresh`: the epoch ends; W_max = cwnd, or with fast
    /// convergence cwnd (1 + β) / 2 when below the previous W_max (RFC 9438 §4.7);
    /// ssthresh = cwnd β (§4.6).
    fn ssthresh(&mut self, _now: Nanos, v: &CcView) -> u32 {
        self.snd_nxt = v.snd_nxt;
        self.epoch_start_j = None;
        self.last_max_cwnd = if v.cwnd < self.last_max_cwnd && self.params.fast_convergence {
            (u64::from(v.cwnd) * u64::from(BETA_SCALE + BETA) / u64::from(2 * BETA_SCALE)) as u32
        } else {
            v.cwnd
        };
        ((u64::from(v.cwnd) * u64::from(BETA) / u64::from(BETA_SCALE)) as u32).max(2)
    }

    /// Linux `cubictcp_cong_avoid`: slow start below ssthresh, then +1 per `cnt` ACKs.
    fn cong_avoid(&mut self, now: Nanos, v: &CcView, acked: u32) -> CwndUpdate {
        self.snd_nxt = v.snd_nxt;
        if !v.cwnd_limited {
            return CwndUpdate { cwnd: v.cwnd, cwnd_cnt: v.cwnd_cnt };
        }
        let (mut cwnd, mut acked) = (v.cwnd, acked);
        if v.cwnd < v.ssthresh {
            (cwnd, acked) = slow_start(v, acked);
            if acked == 0 {
                return CwndUpdate { cwnd, cwnd_cnt: v.cwnd_cnt };
            }
        }
        self.update(now, cwnd, acked);
        cong_avoid_ai(cwnd, v.cwnd_cnt, self.cnt, acked, v.cwnd_clamp)
    }

    /// Linux uses `tcp_reno_undo_cwnd` for CUBIC: W_max stays where the loss put it.
    fn undo_cwnd(&mut self, v: &CcView) -> u32 {
        v.cwnd.max(v.prior_cwnd)
    }

    /// Linux `cubictcp_state`: an RTO starts over, HyStart included.
    fn set_state(&mut self, now: Nanos, state: CaState) {
        if state == CaState::Loss {
            self.reset();
            self.hystart_reset(now, self.snd_nxt);
        }
    }

    /// Linux `cubictcp_cwnd_event`: after an application-limited idle period, shift the
    /// epoch by the idle time so cwnd stays on the curve (not beyond now).
    fn cwnd_event_view(&mut self, now: Nanos, v: &CcView, ev: CaEvent) {
        self.snd_nxt = v.snd_nxt;
        if ev != CaEvent::TxStart {
            return;
        }
        let now_j = jiffies(now);
        let idle = now_j.wrapping_sub(jiffies(v.lsndtime)) as i32;
        if let Some(e) = self.epoch_start_j
            && idle > 0
        {
            let e = e.wrapping_add(idle as u32);
            self.epoch_start_j = Some(if (e.wrapping_sub(now_j) as i32) > 0 { now_j } else { e });
        }
    }

    /// Linux `cubictcp_acked`: track the minimum delay and run HyStart in slow start.
    fn pkts_acked_view(&mut self, now: Nanos, v: &CcView, s: &AckSample) -> Option<u32> {
        self.snd_nxt = v.snd_nxt;
        let rtt = s.rtt_us?;
        // Delay samples right after a reduction are skewed by the recovery.
        if let Some(e) = self.epoch_start_j
            && (jiffies(now).wrapping_sub(e) as i32) < HZ as i32
        {
            return None;
        }
        let delay = rtt.max(1);
        if self.delay_min_us == 0 || self.delay_min_us > delay {
            self.delay_min_us = delay;
        }
        if !self.found && v.cwnd < v.ssthresh && self.params.hystart {
            return self.hystart_update(now, v, delay);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;
    const SEC: Nanos = 1_000_000_000;
    /// C as Linux has it: bic_scale * 10 / 1024 per second^3 (≈ 0.4, RFC 9438 §5.1).
    const C: f64 = 410.0 / 1024.0;

    fn view(cwnd: u32, ssthresh: u32) -> CcView {
        CcView {
            cwnd,
            ssthresh,
            cwnd_clamp: u32::MAX,
            cwnd_limited: true,
            mss: 1448,
            ..Default::default()
        }
    }

    /// One loss at `w_max`, then the epoch starts on the next ACK at `now`.
    fn after_loss(c: &mut Cubic, w_max: u32, now: Nanos) -> CcView {
        let ss = c.ssthresh(now, &view(w_max, u32::MAX));
        let mut v = view(ss, ss);
        let u = c.cong_avoid(now, &v, 1);
        v.cwnd = u.cwnd;
        v.cwnd_cnt = u.cwnd_cnt;
        v
    }

    /// ACK clock for `rtts` round trips of `rtt`: cwnd ACKs of one segment each, evenly
    /// spread, every one a delay sample. Returns cwnd at the start of each round.
    fn ack_clock(c: &mut Cubic, v: &mut CcView, start: Nanos, rtt: Nanos, rtts: u32) -> Vec<u32> {
        let mut trace = Vec::new();
        let mut now = start;
        for _ in 0..rtts {
            trace.push(v.cwnd);
            let n = v.cwnd;
            for _ in 0..n {
                now += rtt / Nanos::from(n);
                let s =
                    AckSample { pkts_acked: 1, rtt_us: Some((rtt / 1000) as u32), in_flight: n };
                if let Some(ss) = c.pkts_acked_view(now, v, &s) {
                    v.ssthresh = ss;
                }
                let u = c.cong_avoid(now, v, 1);
                v.cwnd = u.cwnd;
                v.cwnd_cnt = u.cwnd_cnt;
            }
        }
        trace
    }

    #[test]
    fn cube_root_within_linux_error() {
        for (a, want) in [(0u64, 0u32), (1, 1), (8, 2), (27, 3), (63, 4)] {
            assert_eq!(cubic_root(a), want, "cbrt({a})");
        }
        let mut a = 64u64;
        while a < 1 << 62 {
            for x in [a, a + a / 3, a + a / 2] {
                let exact = (x as f64).cbrt();
                let err = (f64::from(cubic_root(x)) - exact).abs();
                assert!(err < (exact / 100.0).max(1.0), "cbrt({x}) = {} vs {exact}", cubic_root(x));
            }
            a <<= 1;
        }
    }

    /// RFC 9438 §4.2 eq. 2: K = cbrt(W_max (1 - β) / C), here in Linux's 1/1024 s and
    /// from the integer cwnd after the reduction (W_max β rounded down).
    #[test]
    fn k_like_rfc9438() {
        for (w_max, k_rfc) in [(100u32, 75f64.cbrt()), (1000, 750f64.cbrt()), (20, 15f64.cbrt())] {
            let mut c = Cubic::default();
            let v = after_loss(&mut c, w_max, 10 * SEC);
            let cwnd = w_max * BETA / BETA_SCALE;
            assert_eq!(v.ssthresh, cwnd);
            let (k, origin) = c.k_and_origin();
            assert_eq!(origin, w_max);
            let k_exact = (f64::from(w_max - cwnd) / C).cbrt() * 1024.0;
            assert!((f64::from(k) - k_exact).abs() / k_exact < 0.005, "K {k} vs {k_exact}");
            // And the RFC's float K (β = 0.7, C = 0.4) to within 1 %.
            assert!((f64::from(k) / 1024.0 - k_rfc).abs() / k_rfc < 0.01, "{w_max}: {k}");
        }
        // W_max 100 -> cwnd 70, K ≈ 4.216 s.
        let mut c = Cubic::default();
        after_loss(&mut c, 100, SEC);
        assert!((4310..=4323).contains(&c.k), "K = {}", c.k);
    }

    /// RFC 9438 eq. 1: W_cubic(t) = C (t - K)^3 + W_max.
    #[test]
    fn w_cubic_like_rfc9438() {
        let mut c = Cubic::default();
        after_loss(&mut c, 100, SEC);
        let k = f64::from(c.k) / 1024.0;
        for t in [0.0, 1.0, 2.0, 3.0, k, k + 0.5, k + 1.0, k + 2.0, k + 4.0] {
            let want = C * (t - k).powi(3) + 100.0;
            let got = f64::from(c.w_cubic((t * 1024.0) as u64));
            assert!((got - want).abs() <= 1.0, "t {t}: {got} vs {want}");
        }
        // 71, not 70: K's cube root is ~0.1 % short, as in Linux.
        assert_eq!(c.w_cubic(0), 71);
        assert_eq!(c.w_cubic(u64::from(c.k)), 100);
    }

    /// After a loss at 100 with a 100 ms RTT: cwnd restarts at 70, rises fast, flattens
    /// around W_max near t = K, then accelerates (concave, then convex).
    #[test]
    fn concave_then_convex() {
        let mut c = Cubic::default();
        let mut v = after_loss(&mut c, 100, SEC);
        assert_eq!(v.cwnd, 70);
        let tr = ack_clock(&mut c, &mut v, SEC, 100 * MS, 80);
        let k_rtts = (c.k as usize * 10).div_ceil(1024); // K in 100 ms rounds
        let grow = |a: usize, b: usize| tr[b] as i64 - tr[a] as i64;
        // Concave: the first second grows more than the second before K.
        assert!(grow(0, 10) > grow(k_rtts - 10, k_rtts) + 5, "{tr:?}");
        // The plateau: within a few segments of W_max around K.
        assert!((95..=106).contains(&tr[k_rtts]), "at K {}: {tr:?}", tr[k_rtts]);
        // Convex: 3 s after K grows faster than the second around K.
        assert!(grow(k_rtts + 25, k_rtts + 35) > grow(k_rtts - 5, k_rtts + 5) + 5, "{tr:?}");
        // Never faster than 1.5x per RTT.
        for w in tr.windows(2) {
            assert!(w[1] <= w[0] + w[0] / 2 + 1, "{tr:?}");
        }
    }

    /// RFC 9438 §4.3: with a short RTT the cubic curve is slower than Reno, and the Reno
    /// estimate (α = 3(1-β)/(1+β) ≈ 0.53 per RTT) drives cwnd instead.
    #[test]
    fn reno_friendly_region() {
        let run = |friendly: bool| {
            let mut c =
                Cubic::new(CubicParams { tcp_friendliness: friendly, ..Default::default() });
            let mut v = after_loss(&mut c, 20, SEC);
            *ack_clock(&mut c, &mut v, SEC, 10 * MS, 300).last().unwrap()
        };
        let (cubic_only, friendly) = (run(false), run(true));
        // Cubic alone: 3 s, just past K ≈ 2.5 s, so still about W_max = 20.
        assert!((18..=24).contains(&cubic_only), "cubic only {cubic_only}");
        // Reno-friendly: 14 + 0.53 * 300 ≈ 173 segments.
        assert!((155..=185).contains(&friendly), "friendly {friendly}");
    }

    /// RFC 9438 §4.7: a loss below the previous W_max releases bandwidth:
    /// W_max = cwnd (1 + β) / 2.
    #[test]
    fn fast_convergence_lowers_w_max() {
        let mut c = Cubic::default();
        assert_eq!(c.ssthresh(0, &view(100, 200)), 70);
        assert_eq!(c.w_max(), 100);
        assert_eq!(c.ssthresh(0, &view(80, 70)), 56);
        assert_eq!(c.w_max(), 80 * 1741 / 2048);
        // Above the old W_max: W_max = cwnd.
        assert_eq!(c.ssthresh(0, &view(120, 70)), 84);
        assert_eq!(c.w_max(), 120);
        let mut plain = Cubic::new(CubicParams { fast_convergence: false, ..Default::default() });
        plain.ssthresh(0, &view(100, 200));
        plain.ssthresh(0, &view(80, 70));
        assert_eq!(plain.w_max(), 80);
        // Floor of 2 segments.
        assert_eq!(c.ssthresh(0, &view(2, 70)), 2);
    }

    /// Linux uses `tcp_reno_undo_cwnd`: cwnd back to where it was, W_max unchanged.
    #[test]
    fn undo_restores_prior_cwnd() {
        let mut c = Cubic::default();
        let mut v = after_loss(&mut c, 100, SEC);
        v.prior_cwnd = 100;
        assert_eq!(c.undo_cwnd(&v), 100);
        assert_eq!(c.w_max(), 100);
        v.cwnd = 120;
        assert_eq!(c.undo_cwnd(&v), 120);
    }

    /// An RTO (Loss state) forgets W_max and the epoch and re-arms HyStart.
    #[test]
    fn loss_state_resets() {
        let mut c = Cubic::default();
        after_loss(&mut c, 100, SEC);
        c.found = true;
        c.set_state(2 * SEC, CaState::Recovery);
        assert_eq!(c.w_max(), 100);
        c.set_state(2 * SEC, CaState::Loss);
        assert_eq!((c.w_max(), c.epoch_start_j, c.found), (0, None, false));
        assert_eq!(c.round_start_us, clock_us(2 * SEC));
    }

    /// Linux `cubictcp_cwnd_event(CA_EVENT_TX_START)`: idle time does not count on the
    /// curve; the epoch moves forward by it, never past now.
    #[test]
    fn idle_shifts_epoch() {
        let mut c = Cubic::default();
        after_loss(&mut c, 100, 10 * SEC);
        assert_eq!(c.epoch_start_j, Some(jiffies(10 * SEC)));
        let mut v = view(80, 70);
        v.lsndtime = 12 * SEC;
        c.cwnd_event_view(17 * SEC, &v, CaEvent::TxStart);
        assert_eq!(c.epoch_start_j, Some(jiffies(15 * SEC)));
        // Other events leave it alone.
        c.cwnd_event_view(30 * SEC, &v, CaEvent::CwndRestart);
        assert_eq!(c.epoch_start_j, Some(jiffies(15 * SEC)));
        // Clamped to now.
        v.lsndtime = 0;
        c.cwnd_event_view(20 * SEC, &v, CaEvent::TxStart);
        assert_eq!(c.epoch_start_j, Some(jiffies(20 * SEC)));
    }

    /// No loss yet (W_max 0): growth is at least 5 % per RTT (cnt <= 20).
    #[test]
    fn no_w_max_grows_five_percent() {
        let mut c = Cubic::default();
        let mut v = view(100, 50);
        let tr = ack_clock(&mut c, &mut v, SEC, 100 * MS, 5);
        for w in tr.windows(2) {
            assert!(w[1] >= w[0] + w[0] / 20, "{tr:?}");
        }
    }

    /// A slow-start flow, one segment per ACK, two sent per ACK. The RTT of the ACKs of
    /// round `r` is `rtt(r)`; ACKs are `gap` apart. Returns (round, ack in round, cwnd)
    /// at the HyStart exit, if any, before cwnd reaches `limit`.
    fn slow_start_run(
        p: CubicParams,
        rtt: impl Fn(u32) -> Nanos,
        gap: Nanos,
        limit: u32,
    ) -> Option<(u32, u32, u32)> {
        let mut c = Cubic::new(p);
        let mut v = view(10, 0x7fff_ffff);
        v.srtt_us = (rtt(0) / 1000) as u32;
        v.snd_nxt = SeqNumber(10);
        let mut now = SEC;
        c.init(now, &v);
        let (mut round, mut in_round) = (0, 0);
        while v.cwnd < limit {
            now += gap;
            v.snd_una += 1;
            if v.snd_una > c.end_seq {
                round += 1;
                in_round = 0;
            }
            in_round += 1;
            let s =
                AckSample { pkts_acked: 1, rtt_us: Some((rtt(round) / 1000) as u32), in_flight: 0 };
            if let Some(ss) = c.pkts_acked_view(now, &v, &s) {
                assert!(c.hystart_found());
                assert_eq!(ss, v.cwnd);
                return Some((round, in_round, v.cwnd));
            }
            let u = c.cong_avoid(now, &v, 1);
            v.cwnd = u.cwnd;
            v.snd_nxt += 2;
        }
        assert!(!c.hystart_found());
        None
    }

    /// HyStart delay increase: the round whose minimum RTT (over 8 samples) exceeds
    /// delay_min + clamp(delay_min / 8, 4 ms, 16 ms) ends slow start at cwnd.
    #[test]
    fn hystart_delay_increase_exits() {
        let p = CubicParams { hystart_detect: HYSTART_DELAY, ..Default::default() };
        // 40 ms base; +3 ms per round from round 3: 43 ms (under 40 + 5), then 46 ms.
        let ramp = |r: u32| 40 * MS + 3 * MS * Nanos::from(r.saturating_sub(2));
        let (round, ack, cwnd) = slow_start_run(p, ramp, 100_000, 100_000).expect("exit");
        assert_eq!((round, ack), (4, 9), "exits on the 9th sample of the 46 ms round");
        // Rounds double cwnd: 10 at round 0, 160 when round 4 begins, +8 ACKed since.
        assert_eq!(cwnd, 160 + 8);
        // A flat RTT (+4 ms jitter, under the 5 ms threshold) never exits.
        let flat = |r: u32| 40 * MS + 4 * MS * Nanos::from(r % 2);
        assert_eq!(slow_start_run(p, flat, 100_000, 5000), None);
        // Below hystart_low_window (16) nothing is decided.
        let early = |r: u32| if r == 0 { 40 * MS } else { 100 * MS };
        let (_, _, cwnd) = slow_start_run(p, early, 100_000, 100_000).unwrap();
        assert!(cwnd >= 16);
    }

    /// HyStart ACK train: ACKs closer than hystart_ack_delta_us (2 ms) for longer than
    /// delay_min / 2 (+ the 1 ms ack-delay cushion, halved) end slow start.
    #[test]
    fn hystart_ack_train_exits() {
        let p = CubicParams { hystart_detect: HYSTART_ACK_TRAIN, ..Default::default() };
        let rtt = |_| 40 * MS;
        let (round, ack, cwnd) = slow_start_run(p, rtt, MS, 100_000).expect("exit");
        // Round 2 holds 40 ACKs 1 ms apart; the one 21 ms after the round began is past
        // (40 ms + 1 ms) / 2.
        assert_eq!((round, ack), (2, 22));
        assert_eq!(cwnd, 40 + 21);
        // ACKs 3 ms apart are no train.
        assert_eq!(slow_start_run(p, rtt, 3 * MS, 5000), None);
        // Both detectors (the default) find it too.
        assert!(slow_start_run(CubicParams::default(), rtt, MS, 100_000).is_some());
        // HyStart off: slow start runs on.
        let off = CubicParams { hystart: false, ..Default::default() };
        assert_eq!(slow_start_run(off, rtt, MS, 5000), None);
    }

    #[test]
    fn not_cwnd_limited_holds() {
        let mut c = Cubic::default();
        let mut v = after_loss(&mut c, 100, SEC);
        v.cwnd_limited = false;
        let u = c.cong_avoid(2 * SEC, &v, 10);
        assert_eq!((u.cwnd, u.cwnd_cnt), (v.cwnd, v.cwnd_cnt));
    }
}
