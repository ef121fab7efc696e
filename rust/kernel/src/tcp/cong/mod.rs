//! Pluggable congestion control, modelled on Linux `struct tcp_congestion_ops`
//! (`include/net/tcp.h`, `net/ipv4/tcp_cong.c`). An algorithm is one file implementing
//! [`CongestionOps`] plus one row in [`REGISTRY`]; it is chosen by name through
//! `net.ipv4.tcp_congestion_control` or `setsockopt(TCP_CONGESTION)`.
//!
//! Hooks take `now` and a read-only [`CcView`] of the sender and return decisions; they
//! never reach into the socket. `ssthresh`, `cong_avoid` and `undo_cwnd` are required
//! (Linux `tcp_validate_congestion_control`); the rest default to no-ops.

pub mod bbr;
pub mod cubic;
mod minmax;
pub mod reno;

pub use super::rate::RateSample;
use super::seq::SeqNumber;
use crate::Nanos;

/// Linux TCP_CA_NAME_MAX (16, including the NUL).
pub const CA_NAME_MAX: usize = 15;

/// Linux `enum tcp_ca_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaState {
    #[default]
    Open = 0,
    Disorder = 1,
    Cwr = 2,
    Recovery = 3,
    Loss = 4,
}

/// Linux `enum tcp_ca_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaEvent {
    TxStart,
    CwndRestart,
    CompleteCwr,
    Loss,
}

/// What a hook may read of the sender (counts in segments, like Linux).
#[derive(Debug, Clone, Copy, Default)]
pub struct CcView {
    pub cwnd: u32,
    pub cwnd_cnt: u32,
    pub ssthresh: u32,
    pub cwnd_clamp: u32,
    /// Cwnd before the last reduction (for `undo_cwnd`).
    pub prior_cwnd: u32,
    pub in_flight: u32,
    pub mss: u32,
    pub srtt_us: u32,
    pub min_rtt_us: u32,
    pub ca_state: CaState,
    /// Linux `tcp_is_cwnd_limited`.
    pub cwnd_limited: bool,
    /// SND.UNA and SND.NXT (HyStart's rounds, Linux `tp->snd_una`, `tp->snd_nxt`).
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    /// Segments sent and not cumulatively acknowledged (Linux `packets_out`).
    pub packets_out: u32,
    /// Last time new data was sent (Linux `lsndtime`).
    pub lsndtime: Nanos,
    /// Delivery-rate state (Linux `tp->delivered`, `delivered_mstamp`, `app_limited`).
    pub delivered: u64,
    pub delivered_ts: Nanos,
    pub app_limited: u64,
    /// Segments ever marked lost (Linux `tp->lost`).
    pub lost: u64,
    /// `sk_pacing_rate` and `sk_max_pacing_rate`, bytes per second (u64::MAX: none).
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    /// Earliest departure time of the next segment under pacing (Linux `tcp_wstamp_ns`).
    pub wstamp: Nanos,
    /// A draw from the instance RNG (`net.rng`), filled for `init` of `cong_control`
    /// algorithms (BBR seeds its random gain-cycle phase from it).
    pub rand: u32,
}

/// What a congestion control owning cwnd and pacing (Linux `cong_control`) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    pub cwnd: u32,
    /// New `sk_pacing_rate`, bytes per second.
    pub pacing_rate: u64,
    /// New `snd_ssthresh` (BBR sets it on leaving STARTUP).
    pub ssthresh: Option<u32>,
    /// New `tp->app_limited` mark (BBR's PROBE_RTT ignores low-rate samples).
    pub app_limited: Option<u64>,
}

/// Linux TCP_INFINITE_SSTHRESH.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// The new congestion window after `cong_avoid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CwndUpdate {
    pub cwnd: u32,
    pub cwnd_cnt: u32,
}

/// Linux `struct ack_sample`.
#[derive(Debug, Clone, Copy)]
pub struct AckSample {
    pub pkts_acked: u32,
    /// RTT of this ACK in microseconds, if measurable.
    pub rtt_us: Option<u32>,
    pub in_flight: u32,
}

pub trait CongestionOps: Send {
    fn name(&self) -> &'static str;
    /// Connection established / algorithm attached.
    fn init(&mut self, _now: Nanos, _v: &CcView) {}
    /// New slow-start threshold after a loss (required).
    fn ssthresh(&mut self, now: Nanos, v: &CcView) -> u32;
    /// Window growth on an ACK of `acked` segments (required).
    fn cong_avoid(&mut self, now: Nanos, v: &CcView, acked: u32) -> CwndUpdate;
    /// Window to restore when a reduction proves spurious (required).
    fn undo_cwnd(&mut self, v: &CcView) -> u32;
    fn set_state(&mut self, _now: Nanos, _state: CaState) {}
    fn cwnd_event(&mut self, _now: Nanos, _ev: CaEvent) {}
    fn in_ack_event(&mut self, _now: Nanos, _flags: u32) {}
    fn pkts_acked(&mut self, _now: Nanos, _s: &AckSample) {}
    /// `pkts_acked` with the sender's view. A returned value becomes ssthresh (Linux
    /// HyStart sets `tp->snd_ssthresh` from this hook). Defaults to `pkts_acked`.
    fn pkts_acked_view(&mut self, now: Nanos, _v: &CcView, s: &AckSample) -> Option<u32> {
        self.pkts_acked(now, s);
        None
    }
    /// `cwnd_event` with the sender's view (CUBIC reads `lsndtime` on `TxStart`).
    /// Defaults to `cwnd_event`.
    fn cwnd_event_view(&mut self, now: Nanos, _v: &CcView, ev: CaEvent) {
        self.cwnd_event(now, ev);
    }
    /// True if the algorithm implements `cong_control` (Linux: it then owns cwnd and
    /// pacing; `cong_avoid` and PRR are not used).
    fn has_cong_control(&self) -> bool {
        false
    }
    /// Linux `cong_control`: called once per ACK with its rate sample, after loss
    /// detection (`tcp_cong_control` in `tcp_ack`).
    fn cong_control(&mut self, _now: Nanos, v: &CcView, _rs: &RateSample) -> Control {
        Control { cwnd: v.cwnd, pacing_rate: v.pacing_rate, ssthresh: None, app_limited: None }
    }
    /// Settings made by `init` or `cwnd_event` (Linux BBR writes `sk_pacing_rate`,
    /// `snd_ssthresh` and cwnd from those hooks); None if nothing changed.
    fn take_control(&mut self) -> Option<Control> {
        None
    }
    /// The algorithm needs pacing (Linux `sk_pacing_status = SK_PACING_NEEDED`).
    fn wants_pacing(&self) -> bool {
        false
    }
    /// Fewest segments per GSO skb at this pacing rate (bytes/s), overriding
    /// `tcp_min_tso_segs` (Linux `min_tso_segs`).
    fn min_tso_segs(&self, _pacing_rate: u64) -> Option<u32> {
        None
    }
    /// Send buffer in congestion windows, in Linux's 2 × truesize accounting units
    /// (`sndbuf_expand`; `tcp_sndbuf_expand` defaults to 2).
    fn sndbuf_expand(&self) -> u32 {
        2
    }
    /// `TCP_CC_INFO` bytes (Linux `get_info`); empty if the algorithm has none.
    fn get_info(&self, _v: &CcView) -> Vec<u8> {
        Vec::new()
    }
}

/// One registered algorithm.
pub struct CongInfo {
    pub name: &'static str,
    pub new: fn() -> Box<dyn CongestionOps>,
}

/// Every algorithm, by name, in Linux's `tcp_available_congestion_control` order (`reno`
/// is built in first, then modules as registered; `cubic` is the default).
pub static REGISTRY: &[CongInfo] = &[
    CongInfo { name: "reno", new: reno::Reno::boxed },
    CongInfo { name: "cubic", new: cubic::Cubic::boxed },
    CongInfo { name: "bbr", new: bbr::Bbr::boxed },
];

pub fn lookup(name: &str) -> Option<&'static CongInfo> {
    if name.is_empty() || name.len() > CA_NAME_MAX {
        return None;
    }
    REGISTRY.iter().find(|c| c.name == name)
}

/// `net.ipv4.tcp_available_congestion_control`.
pub fn available() -> Vec<&'static str> {
    REGISTRY.iter().map(|c| c.name).collect()
}

/// Linux `tcp_slow_start`: grows cwnd by `acked` up to ssthresh; returns what is left.
pub fn slow_start(v: &CcView, acked: u32) -> (u32, u32) {
    let cwnd = v.cwnd.saturating_add(acked).min(v.ssthresh);
    let left = acked - (cwnd.saturating_sub(v.cwnd)).min(acked);
    (cwnd.min(v.cwnd_clamp), left)
}

/// Linux `tcp_cong_avoid_ai`: one segment per `w` segments acked.
pub fn cong_avoid_ai(cwnd: u32, cwnd_cnt: u32, w: u32, acked: u32, clamp: u32) -> CwndUpdate {
    let w = w.max(1);
    let (mut cwnd, mut cnt) = (cwnd, cwnd_cnt);
    if cnt >= w {
        cnt = 0;
        cwnd += 1;
    }
    cnt += acked;
    if cnt >= w {
        let delta = cnt / w;
        cnt -= delta * w;
        cwnd += delta;
    }
    CwndUpdate { cwnd: cwnd.min(clamp), cwnd_cnt: cnt }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_by_name() {
        assert_eq!(lookup("reno").map(|c| c.name), Some("reno"));
        assert!(lookup("nope").is_none());
        assert!(lookup("").is_none());
        for c in REGISTRY {
            assert!(c.name.len() <= CA_NAME_MAX);
            assert_eq!((c.new)().name(), c.name);
        }
        assert_eq!(available(), vec!["reno", "cubic", "bbr"]);
    }
}
