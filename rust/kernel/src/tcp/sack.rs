//! The sender's SACK scoreboard and loss detection. SACK blocks tag the retransmit
//! queue (RFC 2018, RFC 6675 §4; Linux `tcp_sacktag_write_queue`), duplicate SACKs are
//! recognised (RFC 2883 §4; Linux `tcp_check_dsack`), and losses are found by RACK
//! (RFC 8985; Linux `tcp_recovery.c`, on by default through `tcp_recovery` = 1) or, with
//! `tcp_recovery` = 0, by the duplicate threshold (RFC 6675 `IsLost`, Linux
//! `tcp_update_scoreboard`). Proportional rate reduction sets cwnd during recovery
//! (RFC 6937; Linux `tcp_cwnd_reduction`).

use super::Cx;
use super::cong::CaState;
use super::seq::SeqNumber;
use super::sock::TcpSock;
use super::timer::Timer;
use crate::Nanos;

/// `tcp_recovery` bits (Linux `TCP_RACK_LOSS_DETECTION`, `TCP_RACK_STATIC_REO_WND`,
/// `TCP_RACK_NO_DUPTHRESH`).
pub const RACK_LOSS_DETECTION: u8 = 1;
pub const RACK_STATIC_REO_WND: u8 = 2;
pub const RACK_NO_DUPTHRESH: u8 = 4;

/// RACK state (RFC 8985 §6.1; Linux `tp->rack`).
///
/// "Sent after" is decided by a per-connection transmission counter rather than by
/// RACK.xmit_ts with RACK.end_seq as the tie-break: on a simulated clock many segments
/// leave at the same instant, and a retransmission sent after new data in that instant
/// has the lower sequence number (Linux keeps the same order in its time-sorted list).
#[derive(Debug, Clone, Copy)]
pub struct Rack {
    /// Send time of the most recently sent segment known delivered (RACK.xmit_ts).
    pub xmit_ts: Nanos,
    /// Its transmission number (stands for RACK.end_seq, see above).
    pub xmit_order: u64,
    /// Its round-trip time (RACK.rtt).
    pub rtt: Nanos,
    /// Moved since the last detection (Linux `rack.advanced`).
    pub advanced: bool,
    /// The reordering window in quarters of min_rtt (RFC 8985 §6.2 `reo_wnd_mult`,
    /// Linux `rack.reo_wnd_steps`), grown by DSACKs once reordering was seen.
    pub reo_wnd_steps: u8,
    /// Recoveries left before `reo_wnd_steps` falls back to 1 (`reo_wnd_persist`).
    pub reo_wnd_persist: u8,
    /// A DSACK waits to grow the window (Linux `rack.dsack_seen`).
    pub dsack_seen: bool,
    /// `tp.delivered` when the window last grew: once per round trip.
    pub last_delivered: u64,
}

impl Default for Rack {
    fn default() -> Self {
        // Linux `tcp_init_sock`: `reo_wnd_steps` = 1.
        Self {
            xmit_ts: 0,
            xmit_order: 0,
            rtt: 0,
            advanced: false,
            reo_wnd_steps: 1,
            reo_wnd_persist: 0,
            dsack_seen: false,
            last_delivered: 0,
        }
    }
}

/// Linux `TCP_RACK_RECOVERY_THRESH`: a grown reordering window lasts 16 recoveries.
const RACK_RECOVERY_THRESH: u8 = 16;

/// What one ACK's SACK blocks did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SackTag {
    /// Segments newly marked SACKed.
    pub newly_sacked: u32,
    /// The first block reported a duplicate (RFC 2883).
    pub dsack: bool,
    /// Send times of the oldest and newest newly SACKed segments never retransmitted
    /// (Linux `first_sackt`/`last_sackt`): an RTT sample when no cumulative one exists.
    pub first_sackt: Option<Nanos>,
    pub last_sackt: Option<Nanos>,
}

/// The kernel tick (CONFIG_HZ=1000) the reordering timer runs on.
const JIFFY: Nanos = 1_000_000;
/// Linux `TCP_TIMEOUT_MIN`: 2 jiffies.
const TIMEOUT_MIN_JIFFIES: Nanos = 2;

/// When a reordering timer armed at `now` for `wait` fires: Linux
/// `inet_csk_reset_xmit_timer(.., usecs_to_jiffies(wait) + TCP_TIMEOUT_MIN)` expires
/// at that many ticks after the current jiffy.
pub(crate) fn reo_timer_deadline(now: Nanos, wait: Nanos) -> Nanos {
    let wait_us = wait.div_ceil(1000);
    let ticks = wait_us.div_ceil(JIFFY / 1000) + TIMEOUT_MIN_JIFFIES;
    (now / JIFFY + ticks) * JIFFY
}

impl TcpSock {
    /// Tags the segments the SACK blocks of one ACK cover. Invalid blocks are counted
    /// and ignored (Linux `tcp_is_sackblock_valid`); only whole segments are tagged.
    pub(crate) fn sacktag(
        &mut self,
        cx: &mut Cx<'_>,
        blocks: &[(SeqNumber, SeqNumber)],
        ack: SeqNumber,
    ) -> SackTag {
        let mut tag = SackTag::default();
        let Some(&(s0, e0)) = blocks.first() else { return tag };
        // Linux `tcp_sacktag_write_queue`: the lowest sequence delivered out of order.
        let mut reord: Option<SeqNumber> = None;
        // RFC 2883 §4: a first block below the cumulative ACK, or inside the second
        // block, reports a duplicate segment.
        let dsack = s0 < ack || blocks.get(1).is_some_and(|&(s1, e1)| s0 >= s1 && e0 <= e1);
        if dsack {
            cx.stats.mib.dsack_recv += 1;
            tag.dsack = self.dsack_seen(cx, s0, e0);
            if tag.dsack {
                reord = self.dsack_reordering(s0, e0);
            }
        }
        // Linux sorts the blocks by sequence before tagging, so that a block the
        // receiver lists first (the most recent) does not make the lower blocks of the
        // same ACK look reordered.
        let mut sorted = [(SeqNumber(0), SeqNumber(0)); 4];
        let mut n = 0;
        for (i, &(start, end)) in blocks.iter().enumerate().take(sorted.len()) {
            if i == 0 && dsack {
                continue;
            }
            if !(start < end && start >= self.snd_una && end <= self.snd_nxt) {
                cx.stats.mib.sack_discard += 1;
                continue;
            }
            sorted[n] = (start, end);
            n += 1;
        }
        let una = self.snd_una;
        sorted[..n].sort_unstable_by_key(|b| b.0.dist(una));
        for &(start, end) in &sorted[..n] {
            let first = self.rtx.partition_point(|s| s.end() <= start);
            for idx in first..self.rtx.len() {
                let s = &self.rtx[idx];
                if s.seq >= end {
                    break;
                }
                if !s.sacked && s.seq >= start && s.end() <= end {
                    let (sent, low) = self.mark_sacked(cx, idx);
                    if let Some(sent) = sent {
                        tag.first_sackt = Some(tag.first_sackt.map_or(sent, |t| t.min(sent)));
                        tag.last_sackt = Some(tag.last_sackt.map_or(sent, |t| t.max(sent)));
                    }
                    if let Some(low) = low {
                        reord = Some(reord.map_or(low, |r| r.min(low)));
                    }
                    tag.newly_sacked += 1;
                }
            }
        }
        if let Some(low) = reord
            && (self.ca_state != CaState::Loss || self.undo_marker.is_some())
        {
            self.check_reordering(cx, low, false);
        }
        tag
    }

    /// Linux `tcp_dsack_seen`: a DSACK counts only if it is no wider than the largest
    /// window and this sender retransmitted at least as many segments as were reported
    /// duplicate; otherwise it is dubious and ignored (TCPDSACKIgnoredDubious). Once
    /// reordering was seen it may grow RACK's window — unless it answers a tail loss
    /// probe, which a timer sent and not RACK. It also proves a retransmission
    /// spurious for undo (`tcp_sacktag_one`).
    fn dsack_seen(&mut self, cx: &mut Cx<'_>, s0: SeqNumber, e0: SeqNumber) -> bool {
        let len = e0.dist(s0) as u32;
        let segs = len.div_ceil(self.mss.max(1)).max(1);
        if len > self.max_window {
            cx.stats.mib.dsack_ignored_dubious += 1;
            return false;
        }
        self.dsack_dups = self.dsack_dups.saturating_add(segs);
        if self.dsack_dups > self.total_retrans {
            cx.stats.mib.dsack_ignored_dubious += 1;
            return false;
        }
        let tlp = len <= self.mss && self.tlp_high_seq == Some(e0);
        if self.reord_seen > 0 && !tlp {
            self.rack.dsack_seen = true;
        }
        if self.undo_marker.is_some_and(|m| e0 > m) && self.undo_retrans > 0 {
            self.undo_retrans = (self.undo_retrans - segs as i32).max(0);
        }
        true
    }

    /// Linux `tcp_sacktag_one` with a duplicate: a retransmission DSACKed after its
    /// original was SACKed means the original was only late — reordering.
    fn dsack_reordering(&self, s0: SeqNumber, e0: SeqNumber) -> Option<SeqNumber> {
        if e0 <= self.snd_una {
            return None;
        }
        let first = self.rtx.partition_point(|s| s.end() <= s0);
        self.rtx
            .range(first..)
            .take_while(|s| s.seq < e0)
            .find(|s| s.sacked && s.ever_retrans)
            .map(|s| s.seq)
    }

    /// Linux `tcp_check_sack_reordering`: data at `low_seq` arrived after data above
    /// it. The distance to the highest SACK raises the duplicate threshold
    /// (`tp->reordering`, at most `tcp_max_reordering`), and the event turns RACK's
    /// reordering window on.
    pub(crate) fn check_reordering(&mut self, cx: &mut Cx<'_>, low_seq: SeqNumber, ts: bool) {
        let fack = self.highest_sack_seq();
        if low_seq >= fack {
            return;
        }
        let metric = fack.dist(low_seq) as u32;
        let mss = self.mss.max(1);
        if metric > self.reordering.saturating_mul(mss) {
            let max = cx.net.sysctl.tcp.tcp_max_reordering;
            self.reordering = metric.div_ceil(mss).min(max);
        }
        self.reord_seen += 1;
        if ts {
            cx.stats.mib.ts_reorder += 1;
        } else {
            cx.stats.mib.sack_reorder += 1;
        }
    }

    /// Linux `tcp_highest_sack_seq`: the start of the highest SACKed segment, SND.UNA
    /// with nothing SACKed.
    pub(crate) fn highest_sack_seq(&self) -> SeqNumber {
        match self.highest_sack {
            Some(h) if self.sacked_out > 0 => h,
            _ => self.snd_una,
        }
    }

    /// Marks one segment SACKed; returns its send time if it was never retransmitted,
    /// and its sequence if it is an original transmission below the highest SACK.
    fn mark_sacked(&mut self, cx: &mut Cx<'_>, idx: usize) -> (Option<Nanos>, Option<SeqNumber>) {
        let highest = self.highest_sack_seq();
        self.rtx[idx].sacked = true;
        self.reshape_skbs_on_sack(idx);
        let s = &mut self.rtx[idx];
        TcpSock::rate_skb_delivered(&mut self.rate, s);
        if s.lost {
            s.lost = false;
            self.lost_out = self.lost_out.saturating_sub(1);
        }
        if s.retrans {
            s.retrans = false;
            self.retrans_out = self.retrans_out.saturating_sub(1);
        }
        let (sent, order, seq, ever_retrans) = (s.sent, s.tx_order, s.seq, s.ever_retrans);
        // Linux `tcp_sacktag_one`: an original transmission SACKed below the highest
        // SACK arrived out of order.
        let reordered = (!ever_retrans && seq < highest).then_some(seq);
        if self.sacked_out == 0 || seq >= highest {
            self.highest_sack = Some(seq);
        }
        self.sacked_out += 1;
        self.rack_advance(cx.now, sent, order, ever_retrans);
        ((!ever_retrans).then_some(sent), reordered)
    }

    /// RFC 8985 §6.2 step 2 (Linux `tcp_rack_advance`): a delivered segment moves RACK
    /// forward if it was sent later than the one it knows. A retransmission whose RTT
    /// is below the minimum may be the original's ACK and is ignored.
    pub(crate) fn rack_advance(&mut self, now: Nanos, sent: Nanos, order: u64, retrans: bool) {
        let rtt = now.saturating_sub(sent);
        if retrans && self.rtt.min_rtt.is_some_and(|m| rtt < m) {
            return;
        }
        if order > self.rack.xmit_order {
            self.rack.xmit_ts = sent;
            self.rack.xmit_order = order;
            self.rack.rtt = rtt;
            self.rack.advanced = true;
        }
    }

    pub(crate) fn rack_enabled(&self, cx: &Cx<'_>) -> bool {
        cx.net.sysctl.tcp.tcp_recovery & RACK_LOSS_DETECTION != 0
    }

    /// RFC 8985 §6.2 step 4 (Linux `tcp_rack_reo_wnd`): no reordering window before
    /// reordering was seen, in recovery or past the duplicate threshold; otherwise
    /// `reo_wnd_steps` quarters of the minimum RTT, never more than SRTT.
    fn rack_reo_wnd(&self, cx: &Cx<'_>) -> Nanos {
        if self.reord_seen == 0 {
            let no_dupthresh = cx.net.sysctl.tcp.tcp_recovery & RACK_NO_DUPTHRESH != 0;
            if matches!(self.ca_state, CaState::Recovery | CaState::Loss)
                || (self.sacked_out >= self.reordering && !no_dupthresh)
            {
                return 0;
            }
        }
        let min_rtt = self.rtt.min_rtt.unwrap_or(0);
        (min_rtt / 4 * Nanos::from(self.rack.reo_wnd_steps)).min(self.rtt.srtt.unwrap_or(min_rtt))
    }

    /// RFC 8985 §6.2 step 4 `RACK_update_reo_wnd` (Linux `tcp_rack_update_reo_wnd`,
    /// after the queue is cleaned): a DSACK grows the window by one step at most once
    /// per round trip and keeps it for 16 recoveries; then it falls back to one step.
    pub(crate) fn rack_update_reo_wnd(&mut self, cx: &Cx<'_>) {
        let rs = &self.rate.rs;
        if cx.net.sysctl.tcp.tcp_recovery & RACK_STATIC_REO_WND != 0
            || rs.prior_ts.is_none()
            || rs.prior_delivered == 0
        {
            return;
        }
        if rs.prior_delivered < self.rack.last_delivered {
            self.rack.dsack_seen = false;
        }
        if self.rack.dsack_seen {
            self.rack.reo_wnd_steps = self.rack.reo_wnd_steps.saturating_add(1);
            self.rack.dsack_seen = false;
            self.rack.last_delivered = self.rate.delivered;
            self.rack.reo_wnd_persist = RACK_RECOVERY_THRESH;
        } else if self.rack.reo_wnd_persist == 0 {
            self.rack.reo_wnd_steps = 1;
        }
    }

    /// Linux `tcp_try_undo_recovery`: a recovery that ends without undo uses up one of
    /// the 16 a grown reordering window lasts.
    pub(crate) fn rack_recovery_not_undone(&mut self) {
        self.rack.reo_wnd_persist = self.rack.reo_wnd_persist.saturating_sub(1);
    }

    /// RFC 8985 §6.2 step 5 (Linux `tcp_rack_detect_loss`): a segment sent before the
    /// latest delivered one is lost once RACK.rtt + reo_wnd has passed since it was
    /// sent. Returns the longest wait of the others (Linux records the maximum).
    fn rack_detect_loss(&mut self, cx: &mut Cx<'_>) -> Option<Nanos> {
        let reo_wnd = self.rack_reo_wnd(cx);
        let rack = self.rack;
        let mut wait: Option<Nanos> = None;
        for idx in 0..self.rtx.len() {
            let s = &self.rtx[idx];
            if s.sacked || (s.lost && !s.retrans) {
                continue;
            }
            if s.tx_order >= rack.xmit_order {
                continue;
            }
            let deadline = s.sent + rack.rtt + reo_wnd;
            if deadline <= cx.now {
                self.mark_lost(cx, idx);
            } else {
                let left = deadline - cx.now;
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        wait
    }

    /// Linux `tcp_rack_mark_lost`: detection runs only when RACK moved; the segments
    /// still inside the window arm the reordering timer for the longest wait, in
    /// jiffies, plus TCP_TIMEOUT_MIN (2 jiffies). The extra 2 ms lets the duplicate
    /// ACKs that usually follow start the recovery on an ACK instead of the timer,
    /// so the retransmission takes the place of a new segment rather than going out
    /// on top of the ones that ACK just clocked out.
    pub(crate) fn rack_mark_lost(&mut self, cx: &mut Cx<'_>) {
        if !self.rack.advanced {
            return;
        }
        self.rack.advanced = false;
        match self.rack_detect_loss(cx) {
            Some(w) => self.set_timer(Timer::Reorder, reo_timer_deadline(cx.now, w)),
            None => self.clear_timer(Timer::Reorder),
        }
    }

    /// RFC 6675 `IsLost` (Linux `tcp_update_scoreboard` without RACK): an unSACKed
    /// segment with at least `reordering` SACKed segments above it is lost.
    pub(crate) fn mark_lost_by_dupthresh(&mut self, cx: &mut Cx<'_>) {
        let mut sacked_above = 0;
        for idx in (0..self.rtx.len()).rev() {
            let s = &self.rtx[idx];
            if s.sacked {
                sacked_above += 1;
            } else if sacked_above >= self.reordering && !s.lost {
                self.mark_lost(cx, idx);
            }
        }
    }

    /// Marks `rtx[idx]` lost; a lost retransmission is sent again (Linux
    /// `tcp_mark_skb_lost`, TCPLostRetransmit).
    fn mark_lost(&mut self, cx: &mut Cx<'_>, idx: usize) {
        let s = &mut self.rtx[idx];
        if s.retrans {
            s.retrans = false;
            self.retrans_out = self.retrans_out.saturating_sub(1);
            cx.stats.mib.lost_retransmit += 1;
            self.lost_total += 1;
        }
        if !s.lost {
            s.lost = true;
            self.lost_out += 1;
            self.lost_total += 1;
        }
    }

    /// The reordering timer (Linux `tcp_rack_reo_timeout`): re-run detection, enter
    /// recovery if that found a loss, and retransmit.
    pub(crate) fn rack_reo_timeout(&mut self, cx: &mut Cx<'_>) {
        let lost_before = self.lost_out;
        // Linux re-runs the detection and does not re-arm the timer.
        let _ = self.rack_detect_loss(cx);
        if self.lost_out > lost_before {
            if !matches!(self.ca_state, CaState::Recovery | CaState::Loss) {
                self.enter_recovery(cx, false);
                self.cwnd_reduction(1, false, false);
            }
            self.xmit_retransmits(cx);
        }
    }

    /// Linux `tcp_current_ssthresh`: outside a reduction, at least 3/4 of cwnd — what
    /// an undo restores.
    pub(crate) fn current_ssthresh(&self) -> u32 {
        if matches!(self.ca_state, CaState::Cwr | CaState::Recovery) {
            self.ssthresh
        } else {
            self.ssthresh.max((self.cwnd >> 1) + (self.cwnd >> 2))
        }
    }

    /// Remembers where a cwnd reduction began (Linux `tcp_init_undo`).
    pub(crate) fn init_undo(&mut self) {
        self.undo_marker = Some(self.snd_una);
        self.undo_retrans = if self.retrans_out > 0 { self.retrans_out as i32 } else { -1 };
    }

    /// Every retransmission of the episode was DSACKed, so none was needed: restore
    /// cwnd and ssthresh (RFC 2883 §5; Linux `tcp_try_undo_dsack`,
    /// `tcp_undo_cwnd_reduction`). A spurious RTO also leaves the Loss state.
    pub(crate) fn try_undo_dsack(&mut self, cx: &mut Cx<'_>) {
        if self.undo_marker.is_none() || self.undo_retrans != 0 {
            return;
        }
        // The reordering window that would have avoided this is kept a little longer.
        self.rack.reo_wnd_persist = (self.rack.reo_wnd_persist + 1).min(RACK_RECOVERY_THRESH);
        let in_loss = self.ca_state == CaState::Loss;
        self.undo_cwnd_reduction(in_loss);
        cx.stats.mib.dsack_undo += 1;
        if in_loss {
            self.set_ca_state(cx.now, CaState::Open);
        }
    }

    /// Linux `tcp_undo_cwnd_reduction`: cwnd back through the congestion control's
    /// `undo_cwnd`, ssthresh back to what it was; after an RTO the loss marks go too.
    pub(crate) fn undo_cwnd_reduction(&mut self, unmark_loss: bool) {
        if unmark_loss {
            for s in self.rtx.iter_mut() {
                s.lost = false;
            }
            self.lost_out = 0;
        }
        if self.prior_ssthresh != 0 {
            let v = self.cc_view();
            self.cwnd = self.cc.undo_cwnd(&v).max(1);
            self.ssthresh = self.ssthresh.max(self.prior_ssthresh);
        }
        self.undo_marker = None;
    }

    /// Linux `tcp_init_cwnd_reduction`: a reduction starts at this point: ssthresh from
    /// the congestion control, PRR from zero, and CWR queued for the peer (RFC 3168
    /// §6.1.2: one signal per window, whatever caused the reduction).
    pub(crate) fn init_cwnd_reduction(&mut self, now: Nanos) {
        self.high_seq = self.snd_nxt;
        self.tlp_high_seq = None;
        self.cwnd_cnt = 0;
        self.prior_cwnd = self.cwnd;
        self.prr_delivered = 0;
        self.prr_out = 0;
        let v = self.cc_view();
        self.ssthresh = self.cc.ssthresh(now, &v);
        self.queue_ecn_cwr();
    }

    /// Linux `tcp_end_cwnd_reduction`: cwnd lands on ssthresh, unless a `cong_control`
    /// algorithm owns it.
    pub(crate) fn end_cwnd_reduction(&mut self) {
        if !self.cc.has_cong_control() {
            self.cwnd = self.ssthresh.max(1);
        }
    }

    /// Linux `tcp_try_keep_open`: Open, or Disorder while segments are SACKed, lost or
    /// retransmitted; the recovery point moves only on a change.
    pub(crate) fn try_keep_open(&mut self, now: Nanos) {
        let open = self.sacked_out == 0 && self.lost_out == 0 && !self.any_retrans_done();
        let state = if open { CaState::Open } else { CaState::Disorder };
        if self.ca_state != state {
            self.set_ca_state(now, state);
            self.high_seq = self.snd_nxt;
        }
    }

    /// RFC 6937 PRR with the slow-start reduction bound (Linux `tcp_cwnd_reduction`):
    /// during recovery cwnd follows what the peer delivered, falling smoothly to
    /// ssthresh instead of halving at once.
    pub(crate) fn cwnd_reduction(&mut self, delivered: u32, newly_lost: bool, una_advanced: bool) {
        // A `cong_control` algorithm (BBR) owns cwnd in recovery too.
        if delivered == 0 || self.prior_cwnd == 0 || self.cc.has_cong_control() {
            return;
        }
        self.prr_delivered += delivered;
        let in_flight = i64::from(self.in_flight());
        let delta = i64::from(self.ssthresh) - in_flight;
        let mut sndcnt = if delta < 0 {
            let dividend = u64::from(self.ssthresh) * u64::from(self.prr_delivered)
                + u64::from(self.prior_cwnd)
                - 1;
            (dividend / u64::from(self.prior_cwnd)) as i64 - i64::from(self.prr_out)
        } else {
            let mut n =
                (i64::from(self.prr_delivered) - i64::from(self.prr_out)).max(i64::from(delivered));
            if una_advanced && !newly_lost {
                n += 1;
            }
            n.min(delta)
        };
        // Force a fast retransmit upon entering recovery.
        sndcnt = sndcnt.max(i64::from(self.prr_out == 0));
        self.cwnd = (in_flight + sndcnt).max(1) as u32;
    }
}
