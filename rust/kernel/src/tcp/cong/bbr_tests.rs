//! BBR's state machine driven with synthetic ACKs: one call of `cong_control` per
//! packet-timed round, each carrying a delivery-rate sample (Linux `bbr_main` inputs).

use super::*;
use crate::tcp::cong::INFINITE_SSTHRESH;

const MS: Nanos = 1_000_000;
const MSS: u32 = 1448;

struct H {
    bbr: Bbr,
    now: Nanos,
    v: CcView,
}

impl H {
    fn new() -> H {
        H::seeded(0x1234_5678)
    }

    fn seeded(rand: u32) -> H {
        let v = CcView {
            cwnd: 10,
            ssthresh: INFINITE_SSTHRESH,
            cwnd_clamp: u32::MAX >> 1,
            mss: MSS,
            pacing_rate: u64::MAX,
            max_pacing_rate: u64::MAX,
            ..Default::default()
        };
        let mut h = H { bbr: Bbr::default(), now: 1_000 * MS, v };
        h.v.rand = rand;
        h.bbr.init(h.now, &h.v);
        let c = h.bbr.take_control().expect("init sets ssthresh and pacing");
        assert_eq!(c.ssthresh, Some(INFINITE_SSTHRESH));
        h.apply(c);
        h
    }

    fn apply(&mut self, c: Control) {
        self.v.cwnd = c.cwnd;
        self.v.pacing_rate = c.pacing_rate;
        if let Some(s) = c.ssthresh {
            self.v.ssthresh = s;
        }
    }

    /// One round of `rtt` in which `n` segments were delivered; `in_flight` after it.
    fn round(&mut self, n: u64, rtt: Nanos, in_flight: u32) -> Control {
        let prior_delivered = self.v.delivered;
        let prior_ts = self.now;
        self.now += rtt;
        self.v.delivered += n;
        self.v.delivered_ts = self.now;
        let rs = RateSample {
            prior_delivered,
            prior_ts: Some(prior_ts),
            interval: rtt,
            delivered: n,
            acked_sacked: n as u32,
            prior_in_flight: in_flight,
            rtt_us: Some((rtt / 1000) as u32),
            ..Default::default()
        };
        self.v.in_flight = in_flight;
        let c = self.bbr.cong_control(self.now, &self.v, &rs);
        self.apply(c);
        c
    }
}

/// Linux `bbr_rate_bytes_per_sec` in floating point: bw (pkts/s) × mss × gain × 0.99.
fn pacing(pkts_per_s: f64, gain: u32) -> f64 {
    pkts_per_s * f64::from(MSS) * f64::from(gain) / 256.0 * 0.99
}

#[test]
fn startup_drain_probe_bw() {
    let mut h = H::new();
    assert_eq!(h.bbr.mode, Mode::Startup);
    assert_eq!(h.bbr.pacing_gain, HIGH_GAIN);
    assert_eq!(HIGH_GAIN, 739);
    assert_eq!(DRAIN_GAIN, 88);
    // Init: high_gain × cwnd / 1 ms (no RTT yet).
    let want = pacing(10.0 / 0.001, HIGH_GAIN);
    assert!((h.v.pacing_rate as f64 / want - 1.0).abs() < 0.01, "{}", h.v.pacing_rate);
    // Slow start: the delivered count doubles every 40 ms round.
    let mut n = 10;
    for _ in 0..5 {
        h.round(n, 40 * MS, 2 * n as u32);
        assert_eq!(h.bbr.mode, Mode::Startup);
        assert!(!h.bbr.full_bw_reached);
        n *= 2;
    }
    // Pipe full at 320 segments per round (a last doubling, then 3 rounds without
    // 25 % growth).
    let full = n;
    for i in 0..4 {
        h.round(full, 40 * MS, 600);
        assert_eq!(h.bbr.full_bw_reached, i == 3, "round {i}");
    }
    // 600 in flight > BDP: DRAIN with the inverse gain, ssthresh = BDP + budget.
    assert_eq!(h.bbr.mode, Mode::Drain);
    assert_eq!(h.bbr.pacing_gain, DRAIN_GAIN);
    // BDP 320 plus the quantization budget: 3 TSO bursts of ~1 ms at the pacing rate.
    assert!((380..=420).contains(&h.v.ssthresh), "ssthresh {}", h.v.ssthresh);
    let bw = full as f64 / 0.040;
    let want = pacing(bw, DRAIN_GAIN);
    assert!((h.v.pacing_rate as f64 / want - 1.0).abs() < 0.01, "drain pacing {}", h.v.pacing_rate);
    // Queue drained (in flight at the BDP): PROBE_BW, never starting in the 3/4 phase.
    h.round(full, 40 * MS, 300);
    assert_eq!(h.bbr.mode, Mode::ProbeBw);
    assert_ne!(h.bbr.cycle_idx, 1);
    assert_eq!(h.bbr.cwnd_gain, CWND_GAIN);
    assert_eq!(h.bbr.pacing_gain, PACING_GAIN[h.bbr.cycle_idx as usize]);
    // cwnd no longer grows past cwnd_gain × BDP (640) plus the quantization budget
    // and the ACK-aggregation allowance (one ACK per round here: the most aggregated).
    let before = h.v.cwnd;
    h.round(full, 40 * MS, 300);
    let cwnd = h.v.cwnd;
    assert!(cwnd >= 640 && cwnd <= before + full as u32, "cwnd {cwnd} before {before}");
    let target = h.bbr.bdp(h.bbr.bw(), CWND_GAIN);
    assert_eq!(target, 640);
}

#[test]
fn gain_cycle_visits_every_phase() {
    let mut h = H::new();
    let mut n = 10;
    for _ in 0..12 {
        h.round(n, 40 * MS, 100);
        n = (n * 2).min(200);
    }
    assert_eq!(h.bbr.mode, Mode::ProbeBw);
    let mut seen = Vec::new();
    for _ in 0..40 {
        // The 5/4 phase ends once inflight reaches 5/4 of the BDP.
        let inflight = if h.bbr.pacing_gain > 256 { 300 } else { 180 };
        h.round(200, 41 * MS, inflight);
        seen.push(h.bbr.pacing_gain);
    }
    assert!(seen.contains(&320) && seen.contains(&192) && seen.contains(&256), "{seen:?}");
    // 1.0 six phases out of eight.
    let ones = seen.iter().filter(|&&g| g == 256).count();
    assert!(ones >= 25, "{seen:?}");
}

#[test]
fn full_bw_needs_three_rounds_under_25_percent() {
    let mut h = H::new();
    // 30 % growth per round never fills the pipe.
    let mut n = 100.0f64;
    for _ in 0..8 {
        h.round(n as u64, 40 * MS, 2 * n as u32);
        n *= 1.3;
    }
    assert!(!h.bbr.full_bw_reached);
    n /= 1.3;
    // 5 % growth (under 25 % over all three rounds too): three rounds.
    for i in 0..3 {
        n *= 1.05;
        h.round(n as u64, 40 * MS, 2 * n as u32);
        assert_eq!(h.bbr.full_bw_reached, i == 2);
    }
}

/// Reaches PROBE_BW at 100 segments per 40 ms round (min_rtt 40 ms).
fn steady() -> H {
    let mut h = H::new();
    let mut n = 10;
    for _ in 0..10 {
        h.round(n, 40 * MS, 60);
        n = (n * 2).min(100);
    }
    assert_eq!(h.bbr.mode, Mode::ProbeBw);
    h
}

#[test]
fn probe_rtt_after_ten_seconds_without_new_min() {
    let mut h = steady();
    assert_eq!(h.bbr.min_rtt_us, 40_000);
    // 50 ms RTTs (a standing queue) for 10 s: min_rtt is never refreshed. It was
    // measured by the first round (H::new at 1 s, 40 ms rounds).
    let start = 1_040 * MS;
    while h.now + 50 * MS <= start + 10_000 * MS {
        h.round(100, 50 * MS, 120);
        assert_eq!(h.bbr.mode, Mode::ProbeBw);
    }
    let mut entered = None;
    while h.now < start + 10_200 * MS && entered.is_none() {
        h.round(100, 50 * MS, 120);
        if h.bbr.mode == Mode::ProbeRtt {
            entered = Some(h.now);
        }
    }
    let at = entered.expect("PROBE_RTT after 10 s");
    assert!(at > start + 10_000 * MS);
    // cwnd 4 and gains of 1 while there.
    assert_eq!(h.v.cwnd, CWND_MIN_TARGET);
    assert_eq!((h.bbr.pacing_gain, h.bbr.cwnd_gain), (256, 256));
    // Inflight down to 4: at least 200 ms and a round, then back to PROBE_BW with the
    // cwnd it had.
    let mut left = None;
    for _ in 0..20 {
        h.round(4, 40 * MS, 4);
        if h.bbr.mode != Mode::ProbeRtt {
            left = Some(h.now);
            break;
        }
        assert_eq!(h.v.cwnd, CWND_MIN_TARGET);
    }
    let left = left.expect("PROBE_RTT ends");
    assert!(left >= at + 200 * MS, "left after {} ms", (left - at) / MS);
    assert!(left <= at + 320 * MS, "left after {} ms", (left - at) / MS);
    assert_eq!(h.bbr.mode, Mode::ProbeBw);
    assert!(h.v.cwnd > 100, "cwnd restored: {}", h.v.cwnd);
    assert_eq!(h.bbr.min_rtt_us, 40_000);
}

#[test]
fn recovery_conserves_packets_then_restores() {
    let mut h = steady();
    let before = h.v.cwnd;
    // Entering recovery: ssthresh unchanged (TCP_INFINITE_SSTHRESH or BBR's), cwnd saved.
    let ss = h.bbr.ssthresh(h.now, &h.v);
    assert_eq!(ss, h.v.ssthresh);
    h.v.ca_state = CaState::Recovery;
    let prior_delivered = h.v.delivered;
    h.v.delivered += 2;
    let rs = RateSample {
        prior_delivered,
        prior_ts: Some(h.now),
        interval: 40 * MS,
        delivered: 2,
        acked_sacked: 2,
        losses: 3,
        prior_in_flight: 60,
        ..Default::default()
    };
    h.now += MS;
    h.v.in_flight = 50;
    let c = h.bbr.cong_control(h.now, &h.v, &rs);
    // Packet conservation: in flight + acked.
    assert_eq!(c.cwnd, 52);
    h.apply(c);
    // Recovery over: the cwnd from before comes back.
    h.v.ca_state = CaState::Open;
    let c = h.round(100, 40 * MS, 50);
    assert!(c.cwnd >= before.min(c.cwnd) && c.cwnd >= 100, "{} vs {before}", c.cwnd);
    // undo keeps cwnd.
    let v = h.v;
    assert_eq!(h.bbr.undo_cwnd(&v), v.cwnd);
}

#[test]
fn max_pacing_rate_caps_and_info_layout() {
    let mut h = steady();
    h.v.max_pacing_rate = 100_000;
    let c = h.round(100, 40 * MS, 60);
    assert_eq!(c.pacing_rate, 100_000);
    let info = h.bbr.get_info(&h.v);
    assert_eq!(info.len(), 20);
    let bw = u64::from(u32::from_ne_bytes(info[0..4].try_into().unwrap()));
    // 100 segments / 40 ms × 1448 bytes.
    let want = 100.0 / 0.040 * f64::from(MSS);
    assert!((bw as f64 / want - 1.0).abs() < 0.01, "{bw}");
    assert_eq!(u32::from_ne_bytes(info[8..12].try_into().unwrap()), 40_000);
}

#[test]
fn random_start_phase_from_the_seed_never_the_drain_phase() {
    let mut phases = std::collections::BTreeSet::new();
    for seed in 1..64u32 {
        let mut h = H::seeded(seed.wrapping_mul(0x9e37_79b9));
        let mut n = 10;
        while h.bbr.mode != Mode::ProbeBw {
            h.round(n, 40 * MS, 10);
            n = (n * 2).min(100);
        }
        assert_ne!(h.bbr.cycle_idx, 1, "seed {seed}");
        phases.insert(h.bbr.cycle_idx);
    }
    // Linux: CYCLE_LEN - 1 - random(7), then the next phase: any but 3/4.
    assert_eq!(phases.into_iter().collect::<Vec<_>>(), vec![0, 2, 3, 4, 5, 6, 7]);
}
