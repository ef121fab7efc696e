//! Per-socket timers (Linux `tcp_timer.c`): a fixed table fired in declared order when
//! several are due at once. Each socket keeps `[Option<Nanos>; TIMER_COUNT]`; the table
//! mirrors them in one ordered set so `next_deadline` is O(log n).
//! The SYN-ACK retransmit of an embryonic child is its `Retransmit` timer.

use super::Cx;
use super::cong::{CaEvent, CaState};
use super::rtt::{RTO_INIT, RTO_MAX, RTO_MIN, give_up_after};
use super::sock::{State, TIMEWAIT_LEN, TcpSock};
use crate::{Errno, Nanos};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// RTO, SYN and SYN-ACK retransmission (`tcp_retransmit_timer`).
    Retransmit = 0,
    /// `tcp_delack_timer`.
    DelayedAck = 1,
    /// Zero-window probe (`tcp_probe_timer`).
    Persist = 2,
    /// `tcp_keepalive_timer`.
    Keepalive = 3,
    /// TIME_WAIT expiry and the orphaned FIN_WAIT2 timeout (`tcp_fin_timeout`).
    TimeWait = 4,
    /// RACK reordering window (`tcp_rack_reo_timeout`, ICSK_TIME_REO_TIMEOUT).
    Reorder = 5,
    /// Tail loss probe (`tcp_send_loss_probe`, ICSK_TIME_LOSS_PROBE).
    LossProbe = 6,
    /// Internal pacing (`tcp_pace_kick`, the `pacing_timer` hrtimer).
    Pacing = 7,
    /// The held-back SACK (`tcp_compressed_ack_kick`, the `compressed_ack_timer`).
    CompressedAck = 8,
}

pub const TIMER_COUNT: usize = 9;

impl Timer {
    pub const VALUES: [Timer; TIMER_COUNT] = [
        Timer::Retransmit,
        Timer::DelayedAck,
        Timer::Persist,
        Timer::Keepalive,
        Timer::TimeWait,
        Timer::Reorder,
        Timer::LossProbe,
        Timer::Pacing,
        Timer::CompressedAck,
    ];
}

impl TcpSock {
    /// Runs timer `t` (already due).
    pub(crate) fn on_timer(&mut self, cx: &mut Cx<'_>, t: Timer) {
        self.clear_timer(t);
        match t {
            Timer::Retransmit => self.retransmit_timer(cx),
            Timer::DelayedAck => {
                if self.ack_pending && self.state != State::Closed {
                    cx.stats.mib.delayed_acks += 1;
                    // Linux `tcp_delack_timer_handler` (not in pingpong mode): the
                    // delayed ACK was missed, deflate the ATO.
                    self.ato = super::sock::ATO_MIN;
                    self.send_ack(cx);
                }
            }
            Timer::Persist => self.probe_timer(cx),
            Timer::Reorder => self.rack_reo_timeout(cx),
            Timer::LossProbe => self.send_loss_probe(cx),
            // `tcp_tsq_write`: retransmissions, then new data.
            Timer::Pacing => self.write_xmit(cx),
            Timer::CompressedAck => {
                // The ACK sent now stands for one of the held-back ones.
                if self.compressed_ack > 0 && self.state != State::Closed {
                    self.compressed_ack -= 1;
                    self.send_ack(cx);
                }
            }
            Timer::Keepalive => self.keepalive_timer(cx),
            Timer::TimeWait => {
                if matches!(self.state, State::TimeWait | State::FinWait2) {
                    self.set_state(cx, State::Closed);
                }
            }
        }
    }

    /// Linux `tcp_orphan_retries`: 0 means 8 (for an alive peer).
    fn orphan_retries(&self, cx: &Cx<'_>) -> u32 {
        match cx.net.sysctl.tcp.tcp_orphan_retries {
            0 => 8,
            n => u32::from(n),
        }
    }

    /// Linux `tcp_write_timeout`: true if the connection was given up.
    fn write_timeout(&mut self, cx: &mut Cx<'_>) -> bool {
        let t = &cx.net.sysctl.tcp;
        let (boundary, base) = match self.state {
            State::SynSent => (u32::from(self.syn_retries.unwrap_or(t.tcp_syn_retries)), RTO_INIT),
            State::SynRecv if self.parent.is_some() => (u32::from(t.tcp_synack_retries), RTO_INIT),
            _ if self.user_closed => (self.orphan_retries(cx), RTO_MIN),
            _ => (u32::from(t.tcp_retries2), RTO_MIN),
        };
        let Some(start) = self.retrans_stamp else { return false };
        let elapsed = cx.now.saturating_sub(start);
        let expired = if self.user_timeout_ms > 0 && self.state.is_synchronized() {
            elapsed >= u64::from(self.user_timeout_ms) * 1_000_000
        } else if self.parent.is_some() && self.state == State::SynRecv {
            self.retransmits >= boundary
        } else {
            elapsed >= give_up_after(boundary, base)
        };
        if expired {
            let err = self.err_soft.unwrap_or(Errno::ETIMEDOUT);
            self.abort(cx, Some(err), false);
        }
        expired
    }

    /// Linux `tcp_retransmit_timer` + `tcp_enter_loss`.
    fn retransmit_timer(&mut self, cx: &mut Cx<'_>) {
        if self.rtx.is_empty() || self.state == State::Closed {
            return;
        }
        if self.cookie && self.state == State::SynRecv {
            // The cookie expired unanswered: forget the embryo (Linux had none).
            self.set_state(cx, State::Closed);
            return;
        }
        if self.write_timeout(cx) {
            return;
        }
        if self.retrans_stamp.is_none() {
            self.retrans_stamp = Some(self.rtx.front().map_or(cx.now, |s| s.sent));
        }
        if self.state.is_synchronized() && self.state != State::SynRecv {
            cx.stats.mib.timeouts += 1;
            self.enter_loss(cx);
        } else {
            // SYN / SYN-ACK: resend it as it was.
            if let Some(seg) = self.rtx.front_mut() {
                seg.lost = true;
                seg.retrans = false;
            }
            self.lost_out = 1;
            self.retrans_out = 0;
        }
        self.backoff += 1;
        self.retransmits += 1;
        tracing::debug!(target: "libos::tcp", id = self.id, backoff = self.backoff, "rto");
        self.retransmit_head(cx);
        let rto = self.rtt.rto_backoff(self.backoff);
        self.set_timer(Timer::Retransmit, cx.now + rto);
        cx.net.wake(self.sock_ref());
    }

    /// RTO: everything outstanding is lost, cwnd restarts at 1 (RFC 5681 (4)).
    fn enter_loss(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        // F-RTO step 1 (Linux `tcp_enter_loss`): judged unless this RTO interrupted a
        // recovery on its first expiry.
        let new_recovery = !matches!(self.ca_state, CaState::Recovery | CaState::Loss);
        self.frto = cx.net.sysctl.tcp.tcp_frto != 0 && (new_recovery || self.retransmits > 0);
        self.rexmit_new = false;
        if self.ca_state != CaState::Loss || self.retransmits == 0 {
            self.prior_ssthresh = self.current_ssthresh();
            self.prior_cwnd = self.cwnd;
            let v = self.cc_view();
            self.ssthresh = self.cc.ssthresh(now, &v);
            self.cc.cwnd_event(now, CaEvent::Loss);
            self.init_undo();
        }
        self.cwnd = 1;
        self.cwnd_cnt = 0;
        self.set_ca_state(now, CaState::Loss);
        self.high_seq = self.snd_nxt;
        self.tlp_high_seq = None;
        self.queue_ecn_cwr();
        self.retrans_out = 0;
        self.clear_timer(Timer::Reorder);
        // Everything not SACKed is lost (Linux `tcp_enter_loss`, `tcp_timeout_mark_lost`);
        // without SACK the duplicate-ACK count goes.
        if !self.sack_ok {
            self.sacked_out = 0;
        }
        self.lost_out = 0;
        for seg in self.rtx.iter_mut() {
            seg.retrans = false;
            // Linux `tcp_mark_skb_lost` counts newly lost segments in `tp->lost`.
            self.lost_total += u64::from(!seg.sacked && !seg.lost);
            seg.lost = !seg.sacked;
            self.lost_out += u32::from(seg.lost);
        }
    }

    /// Linux `tcp_probe_timer` / `tcp_send_probe0`.
    fn probe_timer(&mut self, cx: &mut Cx<'_>) {
        if self.packets_out > 0 || self.unsent.is_empty() || !self.state.is_synchronized() {
            self.probes_out = 0;
            return;
        }
        let max = if self.user_closed {
            self.orphan_retries(cx)
        } else {
            u32::from(cx.net.sysctl.tcp.tcp_retries2)
        };
        if self.probes_out >= max {
            self.abort(cx, Some(Errno::ETIMEDOUT), false);
            return;
        }
        self.write_wakeup(cx);
        self.probes_out += 1;
        if self.packets_out == 0 {
            self.backoff += 1;
            let base = self.rtt.rto.max(RTO_MIN);
            let t = base.checked_shl(self.backoff.min(31)).unwrap_or(RTO_MAX).min(RTO_MAX);
            self.set_timer(Timer::Persist, cx.now + t);
        } else {
            self.probes_out = 0;
            self.backoff = 0;
        }
    }

    /// Linux `tcp_keepalive_timer`.
    fn keepalive_timer(&mut self, cx: &mut Cx<'_>) {
        if !self.common.keepalive || matches!(self.state, State::Closed | State::SynSent) {
            return;
        }
        if self.state == State::Listen || !self.state.is_synchronized() {
            return;
        }
        let (idle, intvl, cnt) = self.keepalive_params(cx.net);
        let (idle, intvl) = (idle * 1_000_000_000, intvl * 1_000_000_000);
        if self.packets_out > 0 || !self.unsent.is_empty() {
            self.set_timer(Timer::Keepalive, cx.now + idle);
            return;
        }
        let elapsed = cx.now.saturating_sub(self.rcv_tstamp.max(self.last_data_sent));
        if elapsed >= idle {
            let timed_out = if self.user_timeout_ms > 0 {
                elapsed >= u64::from(self.user_timeout_ms) * 1_000_000 && self.probes_out > 0
            } else {
                self.probes_out >= cnt
            };
            if timed_out {
                self.send_active_reset(cx);
                self.abort(cx, Some(Errno::ETIMEDOUT), false);
                return;
            }
            self.write_wakeup(cx);
            self.probes_out += 1;
            self.set_timer(Timer::Keepalive, cx.now + intvl);
        } else {
            self.set_timer(Timer::Keepalive, cx.now + (idle - elapsed));
        }
    }

    /// (Re)arms keepalive after SO_KEEPALIVE/TCP_KEEPIDLE or on establishment.
    pub(crate) fn reset_keepalive(&mut self, cx: &mut Cx<'_>) {
        if self.common.keepalive && self.state.is_synchronized() {
            let (idle, _, _) = self.keepalive_params(cx.net);
            self.set_timer(Timer::Keepalive, cx.now + idle * 1_000_000_000);
        } else {
            self.clear_timer(Timer::Keepalive);
        }
    }

    /// Enters TIME_WAIT (Linux `tcp_time_wait`), or arms the orphaned FIN_WAIT2 timeout.
    pub(crate) fn time_wait(&mut self, cx: &mut Cx<'_>, state: State, timeout: Nanos) {
        self.set_state(cx, state);
        for t in [Timer::Retransmit, Timer::Persist, Timer::Keepalive, Timer::DelayedAck] {
            self.clear_timer(t);
        }
        // A TIME-WAIT socket keeps only its numbers (Linux: a small `tcp_timewait_sock`).
        if self.orphan {
            self.rcvq = Default::default();
            self.unsent = Default::default();
        }
        let len = if state == State::TimeWait { TIMEWAIT_LEN } else { timeout };
        self.set_timer(Timer::TimeWait, cx.now + len);
    }
}
