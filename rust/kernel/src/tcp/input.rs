//! Segment arrival for a connection (RFC 9293 §3.10.7.3-4, Linux `tcp_input.c`):
//! SYN-SENT processing, PAWS (RFC 7323 §5), the acceptability test, RST and SYN
//! handling with RFC 5961 challenge ACKs, ACK processing with RTT sampling and
//! NewReno recovery (RFC 6582, RFC 5681), in-order and out-of-order data, FIN.
//! Listening sockets are handled in `listen.rs`.

use super::Cx;
use super::cong::{AckSample, CaState};
use super::rate::RateSample;
use super::rtt::MS;
use super::sack::SackTag;
use super::seq::SeqNumber;
use super::sock::{DELACK_MAX, MAX_QUICKACKS, RCV_SHUTDOWN, SEND_SHUTDOWN, State, TcpSock};
use super::timer::Timer;
use crate::wire::tcp::{Control, TcpRepr};
use crate::{Errno, Nanos};

/// What one ACK did, for `fastretrans`.
#[derive(Debug, Clone, Copy, Default)]
struct AckFlags {
    /// Segments cumulatively acknowledged.
    acked: u32,
    /// An ECN echo (ECE on an ECN connection).
    ece: bool,
    newly_sacked: u32,
    /// Segments newly delivered, cumulatively or by SACK, each counted once (Linux
    /// `tcp_newly_delivered`, the `acked_sacked` of `tcp_cong_control`).
    delivered: u32,
    /// A duplicate ACK (RFC 5681 §2).
    is_dup: bool,
    /// SND.UNA before this ACK.
    prior_una: SeqNumber,
}

impl TcpSock {
    /// State change with the MIB bookkeeping of Linux `tcp_set_state`.
    pub(crate) fn set_state(&mut self, cx: &mut Cx<'_>, new: State) {
        let old = self.state;
        if old == new {
            return;
        }
        let mib = &mut cx.stats.mib;
        if old.is_curr_estab() && !new.is_curr_estab() {
            mib.curr_estab = mib.curr_estab.saturating_sub(1);
        } else if !old.is_curr_estab() && new.is_curr_estab() {
            mib.curr_estab += 1;
        }
        if new == State::Closed {
            if old.is_curr_estab() {
                mib.estab_resets += 1;
            }
            self.timers = [None; super::timer::TIMER_COUNT];
        }
        tracing::debug!(target: "libos::tcp", id = self.id, ?old, ?new, "state");
        self.state = new;
        cx.net.wake(self.sock_ref());
    }

    pub(crate) fn set_ca_state(&mut self, now: Nanos, st: CaState) {
        if self.ca_state != st {
            self.ca_state = st;
            self.cc.set_state(now, st);
        }
    }

    /// Linux `tcp_done` (+ `tcp_write_queue_purge`): the connection is over; `err` goes
    /// to `sk_err` for the next call or SO_ERROR.
    pub(crate) fn abort(&mut self, cx: &mut Cx<'_>, err: Option<Errno>, send_rst: bool) {
        if send_rst {
            self.send_active_reset(cx);
        }
        if matches!(self.state, State::SynSent | State::SynRecv) {
            cx.stats.mib.attempt_fails += 1;
        }
        if err.is_some() {
            self.common.error = err;
        }
        self.set_state(cx, State::Closed);
        self.shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
        self.unsent.clear();
        self.rtx.clear();
        self.rtx_bytes = 0;
        self.rtx_skbs = 0;
        self.ooo.clear();
        self.packets_out = 0;
        self.sacked_out = 0;
        self.lost_out = 0;
        self.retrans_out = 0;
        cx.net.wake(self.sock_ref());
    }

    /// Linux `tcp_reset`: the peer reset the connection.
    fn on_reset(&mut self, cx: &mut Cx<'_>) {
        let err = match self.state {
            State::SynSent => Errno::ECONNREFUSED,
            State::CloseWait => Errno::EPIPE,
            State::Closed => return,
            _ => Errno::ECONNRESET,
        };
        // An unaccepted child just goes away (Linux drops the request or child).
        let err = if self.in_syn_queue { None } else { Some(err) };
        self.abort(cx, err, false);
    }

    /// Negotiates options from the peer's SYN or SYN-ACK (Linux `tcp_parse_options`
    /// results applied in `tcp_rcv_synsent_state_process` / `tcp_openreq_init`).
    pub(crate) fn apply_syn_options(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        let t = &cx.net.sysctl.tcp;
        let o = &seg.options;
        self.ts_ok = t.tcp_timestamps != 0 && o.timestamp.is_some();
        if let (true, Some((tsval, _))) = (self.ts_ok, o.timestamp) {
            self.ts_recent = tsval;
        }
        self.sack_ok = t.tcp_sack && o.sack_permitted;
        self.wscale_ok = t.tcp_window_scaling && o.window_scale.is_some();
        if self.wscale_ok {
            self.snd_wscale = o.window_scale.unwrap_or(0);
        } else {
            self.snd_wscale = 0;
            self.rcv_wscale = 0;
        }
        self.peer_mss = o.mss;
        self.sync_mss(cx);
        self.ecn_syn(cx, seg);
    }

    /// RFC 9293 §3.10.7.3 SYN-SENT (Linux `tcp_rcv_synsent_state_process`).
    pub(crate) fn rcv_synsent(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        if let Some(ack) = seg.ack_number
            && (ack <= self.iss || ack > self.snd_nxt)
        {
            if seg.control != Control::Rst {
                self.send_reset_to(cx, seg);
            }
            return;
        }
        if seg.control == Control::Rst {
            if seg.ack_number.is_some() {
                self.on_reset(cx);
            }
            return;
        }
        if seg.control != Control::Syn {
            return;
        }
        self.irs = seg.seq_number;
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_wup = self.rcv_nxt;
        self.apply_syn_options(cx, seg);
        self.snd_wl1 = seg.seq_number;
        let Some(ack) = seg.ack_number else {
            // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, SYN-ACK.
            self.snd_wnd = u32::from(seg.window_len);
            self.max_window = self.snd_wnd;
            self.set_state(cx, State::SynRecv);
            if let Some(s) = self.rtx.front_mut() {
                s.sent = cx.now;
            }
            self.xmit_syn_again(cx);
            return;
        };
        self.snd_wl2 = ack;
        // The SYN-ACK window is never scaled (RFC 7323 §2.2).
        self.snd_wnd = u32::from(seg.window_len);
        self.max_window = self.snd_wnd;
        let una = self.snd_una;
        self.clean_rtx_queue(cx, ack, seg, &SackTag::default(), una);
        self.finish_connect(cx);
        self.send_ack(cx);
    }

    /// Common to both ends reaching ESTABLISHED (Linux `tcp_finish_connect`,
    /// `tcp_init_transfer`).
    pub(crate) fn finish_connect(&mut self, cx: &mut Cx<'_>) {
        self.set_state(cx, State::Established);
        self.backoff = 0;
        self.retransmits = 0;
        self.retrans_stamp = None;
        self.cwnd = super::sock::INIT_CWND;
        if self.rtt.srtt.is_none() {
            // RFC 6298 (5.7) / Linux TCP_TIMEOUT_FALLBACK: no sample from the handshake.
            self.rtt.rto = super::rtt::RTO_FALLBACK;
        }
        self.cc_init(cx);
        self.expand_sndbuf(cx);
        self.reset_keepalive(cx);
        self.rcv_tstamp = cx.now;
        // Linux `tcp_init_buffer_space`.
        self.rcvq_space = (self.rcv_wnd as usize).min(10 * self.advmss as usize);
        self.rcvq_time = cx.now;
        if self.rtx.is_empty() {
            self.clear_timer(Timer::Retransmit);
        }
        cx.net.wake(self.sock_ref());
    }

    /// Resends our SYN (as SYN-ACK in SYN-RECEIVED) right away.
    pub(crate) fn xmit_syn_again(&mut self, cx: &mut Cx<'_>) {
        if let Some(s) = self.rtx.front_mut()
            && s.syn
        {
            s.lost = true;
            s.retrans = false;
            self.lost_out = 1;
            self.retrans_out = 0;
        }
        self.retransmit_head(cx);
    }

    /// Linux `tcp_send_dupack`: ACK a segment we cannot use; old data gets a DSACK
    /// (RFC 2883 §4) and quick ACKs, as the peer's retransmission was spurious.
    fn send_dupack(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        let (seq, end) = (seg.seq_number, seg.seq_number + seg.segment_len());
        if end != seq && seq < self.rcv_nxt {
            self.quickack = MAX_QUICKACKS;
            if self.sack_ok {
                self.dsack = Some((seq, if end > self.rcv_nxt { self.rcv_nxt } else { end }));
            }
        }
        self.send_ack(cx);
    }

    /// RFC 9293 §3.10.7.1-style reset answering an unacceptable segment.
    fn send_reset_to(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        super::output::send_reset_for(cx, self.local, self.remote, seg);
    }

    /// RFC 9293 §3.10.7.4 for every synchronized state and SYN-RECEIVED (Linux
    /// `tcp_rcv_state_process` after the fast path).
    pub(crate) fn rcv_state_process(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        let seq = seg.seq_number;
        let seg_len = seg.segment_len();
        // A retransmitted SYN reaching an embryonic child: resend the SYN-ACK
        // (Linux `tcp_check_req`).
        if self.state == State::SynRecv
            && seg.control == Control::Syn
            && seg.ack_number.is_none()
            && seq == self.irs
        {
            self.xmit_syn_again(cx);
            return;
        }
        // PAWS (RFC 7323 §5.3, Linux `tcp_paws_discard`).
        if let (true, Some((tsval, _))) = (self.ts_ok, seg.options.timestamp)
            && self.ts_recent.wrapping_sub(tsval) as i32 > 1
            && seg.control != Control::Rst
        {
            cx.stats.mib.paws_estab_rejected += 1;
            self.send_dupack(cx, seg);
            return;
        }
        // Acceptability (RFC 9293 §3.10.7.4 first; Linux `tcp_sequence`).
        let wnd_right = self.rcv_nxt + self.rcv_window_now() as usize;
        if (seq + seg_len) < self.rcv_wup || seq > wnd_right {
            // Linux `tcp_validate_incoming`: a SYN is challenged, else a dup ACK.
            match seg.control {
                Control::Rst => {}
                Control::Syn if self.state != State::SynRecv => {
                    cx.stats.mib.syn_challenge += 1;
                    self.send_challenge_ack(cx);
                }
                _ => self.send_dupack(cx, seg),
            }
            return;
        }
        if seg.control == Control::Rst {
            // RFC 5961 §3.2: exact match resets, anything else in window is challenged.
            let fin_rcvd = matches!(self.state, State::CloseWait | State::LastAck | State::Closing);
            if seq == self.rcv_nxt || (fin_rcvd && seq + 1 == self.rcv_nxt) {
                self.on_reset(cx);
            } else {
                self.send_challenge_ack(cx);
            }
            return;
        }
        if seg.control == Control::Syn {
            let simopen_synack = self.state == State::SynRecv
                && self.parent.is_none()
                && seq + 1 == self.rcv_nxt
                && seg.ack_number == Some(self.snd_nxt);
            if !simopen_synack {
                // RFC 5961 §4.2.
                cx.stats.mib.syn_challenge += 1;
                self.send_challenge_ack(cx);
                return;
            }
        }
        let Some(ack) = seg.ack_number else { return };
        if let (true, Some((tsval, _))) = (self.ts_ok, seg.options.timestamp) {
            // RFC 7323 §4.3 (Linux `tcp_replace_ts_recent`).
            if seq <= self.rcv_wup && tsval.wrapping_sub(self.ts_recent) as i32 >= 0 {
                self.ts_recent = tsval;
            }
        }
        if self.state == State::SynRecv {
            if ack <= self.snd_una || ack > self.snd_nxt {
                self.send_reset_to(cx, seg);
                return;
            }
            self.snd_wnd = u32::from(seg.window_len) << self.snd_wscale;
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            self.finish_connect(cx);
        }
        if !self.process_ack(cx, seg, ack) {
            return;
        }
        if self.state == State::Closed {
            return;
        }
        self.after_ack_state(cx);
        if self.state == State::Closed {
            return;
        }
        self.rcv_data(cx, seg);
        // Linux `tcp_data_snd_check` then `tcp_ack_snd_check`.
        self.write_xmit(cx);
        self.ack_snd_check(cx);
        cx.net.wake(self.sock_ref());
    }

    /// Transitions driven by the ACK of our FIN (RFC 9293 §3.10.7.4, fifth check).
    fn after_ack_state(&mut self, cx: &mut Cx<'_>) {
        let fin_acked = self.fin_sent && self.snd_una == self.snd_nxt;
        if !fin_acked {
            return;
        }
        match self.state {
            State::FinWait1 => {
                self.set_state(cx, State::FinWait2);
                self.shutdown |= SEND_SHUTDOWN;
                if self.user_closed {
                    // Linux `tcp_rcv_state_process`: orphans wait tcp_fin_timeout.
                    match self.linger2 {
                        Some(l) if l < 0 => self.abort(cx, None, true),
                        _ => {
                            let tmo = self.fin_timeout(cx);
                            self.time_wait(cx, State::FinWait2, tmo);
                        }
                    }
                }
            }
            State::Closing => self.time_wait(cx, State::TimeWait, 0),
            State::LastAck => self.set_state(cx, State::Closed),
            _ => {}
        }
    }

    /// Linux `tcp_fin_time`: FIN_WAIT2 lifetime of an orphan.
    pub(crate) fn fin_timeout(&self, cx: &Cx<'_>) -> Nanos {
        let secs = match self.linger2 {
            Some(l) if l > 0 => l as u64,
            _ => u64::from(cx.net.sysctl.tcp.tcp_fin_timeout),
        };
        (secs * 1000 * MS).max(self.rtt.rto * 7 / 2)
    }

    /// Linux `tcp_ack`. Returns false if the segment must be dropped.
    fn process_ack(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>, ack: SeqNumber) -> bool {
        if ack > self.snd_nxt {
            // RFC 9293: ACK of something not yet sent: ACK and drop.
            self.send_ack(cx);
            return false;
        }
        if ack < self.snd_una - self.max_window as usize {
            // RFC 5961 §5.2: too old to be plausible.
            self.send_challenge_ack(cx);
            return false;
        }
        self.rcv_tstamp = cx.now;
        self.last_ack_recv = cx.now;
        self.probes_out = 0;
        if ack < self.snd_una {
            return true;
        }
        let prior_una = self.snd_una;
        let prior_wnd = self.snd_wnd;
        let prior_in_flight = self.in_flight();
        let nwin = u32::from(seg.window_len) << self.snd_wscale;
        // RFC 9293 §3.10.7.4 window update rule (Linux `tcp_may_update_window`).
        if ack > self.snd_una
            || seg.seq_number > self.snd_wl1
            || (seg.seq_number == self.snd_wl1 && nwin != self.snd_wnd)
        {
            self.snd_wnd = nwin;
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
            self.max_window = self.max_window.max(nwin);
            if nwin > 0 {
                self.clear_timer(Timer::Persist);
                if self.packets_out == 0 {
                    self.backoff = 0;
                }
            }
        }
        self.rate.rs = RateSample::default();
        self.orig_delivered = false;
        self.last_tsecr = seg.options.timestamp.map_or(0, |t| t.1);
        let delivered_before = self.rate.delivered;
        let lost_before = self.lost_total;
        let prior_fack = self.highest_sack_seq();
        let mut tag = SackTag::default();
        if self.sack_ok {
            let mut blocks = [(SeqNumber(0), SeqNumber(0)); 4];
            let mut n = 0;
            for b in seg.options.sack.iter().flatten() {
                blocks[n] = *b;
                n += 1;
            }
            tag = self.sacktag(cx, &blocks[..n], ack);
        }
        if self.packets_out == 0 {
            // Linux `tcp_ack`, `goto no_queue`: with nothing in flight there is nothing
            // to clean, time or hand to the congestion control (a receiver's ACKs of
            // its peer's data end here); a DSACK may still undo a reduction.
            if tag.dsack {
                let flags = AckFlags { ece: self.ecn_echo(seg), prior_una, ..Default::default() };
                self.fastretrans(cx, flags);
            }
            self.process_tlp_ack(cx, ack, tag.dsack, false);
            return true;
        }
        let acked_pkts = self.clean_rtx_queue(cx, ack, seg, &tag, prior_fack);
        self.rack_update_reo_wnd(cx);
        self.rate_gen(cx.now, self.rate.delivered > delivered_before);
        let is_dup = ack == prior_una
            && seg.payload.is_empty()
            && seg.control == Control::None
            && nwin == prior_wnd
            && self.packets_out > 0;
        self.process_tlp_ack(cx, ack, tag.dsack, is_dup);
        let flags = AckFlags {
            acked: acked_pkts,
            ece: self.ecn_echo(seg),
            newly_sacked: tag.newly_sacked,
            delivered: (self.rate.delivered - delivered_before) as u32,
            is_dup,
            prior_una,
        };
        self.fastretrans(cx, flags);
        // Linux `tcp_ack`: the rate sample's delivered and lost counts, then
        // `tcp_cong_control`.
        let rs = &mut self.rate.rs;
        rs.acked_sacked = (self.rate.delivered - delivered_before) as u32;
        rs.losses = (self.lost_total - lost_before) as u32;
        rs.prior_in_flight = prior_in_flight;
        self.cong_control(cx);
        if self.packets_out == 0 {
            self.clear_timer(Timer::Retransmit);
            self.clear_timer(Timer::LossProbe);
        } else if ack > prior_una {
            self.set_timer(Timer::Retransmit, cx.now + self.rtt.rto_backoff(self.backoff));
            self.schedule_loss_probe(cx);
        }
        if ack > prior_una {
            cx.net.wake(self.sock_ref());
        }
        true
    }

    /// Removes acknowledged segments (Linux `tcp_clean_rtx_queue`), samples the RTT
    /// (`tcp_ack_update_rtt`) and notes a hole filled by an original transmission
    /// below `prior_fack` (the highest SACK before this ACK) as reordering.
    fn clean_rtx_queue(
        &mut self,
        cx: &mut Cx<'_>,
        ack: SeqNumber,
        seg: &TcpRepr<'_>,
        tag: &SackTag,
        prior_fack: SeqNumber,
    ) -> u32 {
        let mut pkts = 0;
        let mut reord: Option<SeqNumber> = None;
        let mut first_sent: Option<Nanos> = None;
        let mut last_sent: Option<Nanos> = None;
        let mut any_retrans = false;
        let acked_bytes = ack.dist(self.snd_una);
        while let Some(head) = self.rtx.front_mut() {
            if head.end() <= ack {
                let Some(mut s) = self.rtx.pop_front() else { break };
                TcpSock::rate_skb_delivered(&mut self.rate, &mut s);
                self.rtx_bytes -= s.data.len();
                self.rtx_skbs -= usize::from(s.skb_head);
                pkts += 1;
                self.packets_out = self.packets_out.saturating_sub(1);
                if s.lost {
                    self.lost_out = self.lost_out.saturating_sub(1);
                }
                if s.retrans {
                    self.retrans_out = self.retrans_out.saturating_sub(1);
                }
                if s.sacked {
                    self.sacked_out = self.sacked_out.saturating_sub(1);
                } else if self.sack_ok {
                    self.rack_advance(cx.now, s.sent, s.tx_order, s.ever_retrans);
                }
                if s.ever_retrans {
                    any_retrans = true;
                } else if !s.sacked {
                    reord = reord.or(Some(s.seq));
                    self.orig_delivered = true;
                    first_sent = first_sent.or(Some(s.sent));
                    last_sent = Some(s.sent);
                }
            } else {
                if head.seq < ack {
                    // Partial ACK of a segment: trim its head (Linux `tcp_trim_head`).
                    let cut = ack.dist(head.seq);
                    let syn = usize::from(head.syn);
                    let cut_data = cut.saturating_sub(syn).min(head.data.len());
                    head.data = head.data.slice(cut_data..);
                    self.rtx_bytes -= cut_data;
                    head.syn = false;
                    head.seq = ack;
                }
                break;
            }
        }
        if pkts > 0 {
            self.front_stays_an_skb();
        }
        // Linux `tcp_ack_update_rtt`: the oldest newly acked segment never retransmitted
        // nor SACKed, and none if retransmitted data is acked (Karn, RFC 6298 (3)); else
        // the oldest newly SACKed one; else the echoed timestamp if data was acked (RFC
        // 7323 §4.1). `ca_rtt` (the newest such segment) feeds min_rtt and the CC hooks.
        let age = |t: Nanos| cx.now.saturating_sub(t);
        let seq_rtt = first_sent.filter(|_| !any_retrans).map(age);
        let mut ca_rtt = last_sent.filter(|_| !any_retrans).map(age);
        if let Some(t) = tag.last_sackt {
            ca_rtt = Some(age(t));
        }
        let mut rtt = seq_rtt.or(tag.first_sackt.map(age));
        if rtt.is_none()
            && pkts > 0
            && self.ts_ok
            && let Some((_, tsecr)) = seg.options.timestamp.filter(|t| t.1 != 0)
        {
            let ms = self.tsval(cx.now).wrapping_sub(tsecr);
            if (ms as i32) >= 0 {
                rtt = Some(u64::from(ms) * MS);
                ca_rtt = rtt;
            }
        }
        if let (Some(r), Some(ca)) = (rtt, ca_rtt) {
            self.rtt.sample(r, ca);
            // RFC 6298 (5.7)/Linux: a valid sample ends the backoff.
            self.backoff = 0;
        }
        if acked_bytes > 0 {
            self.snd_una = ack;
            self.bytes_acked += acked_bytes as u64;
            if let Some(low) = reord.filter(|&r| self.sack_ok && r < prior_fack) {
                self.check_reordering(cx, low, false);
            }
            if !any_retrans || self.retrans_out == 0 {
                self.retransmits = 0;
            }
            // `tcp_try_to_open`: the stamp of the first retransmission goes once none is
            // outstanding, but not during Loss or Recovery, whose undo checks need it.
            if !matches!(self.ca_state, CaState::Loss | CaState::Recovery)
                && !self.any_retrans_done()
            {
                self.retrans_stamp = None;
            }
        }
        // Every ACK, SACK-only ones included, hands the CC its sample.
        let rtt_us = ca_rtt.map(|r| (r / 1000) as u32);
        self.rate.rs.rtt_us = rtt_us;
        let sample = AckSample { pkts_acked: pkts, rtt_us, in_flight: self.in_flight() };
        let v = self.cc_view();
        if let Some(ssthresh) = self.cc.pkts_acked_view(cx.now, &v, &sample) {
            self.ssthresh = ssthresh;
        }
        pkts
    }

    /// Linux `tcp_fastretrans_alert` + `tcp_cong_control`: find losses (RACK or the
    /// duplicate threshold with SACK, RFC 6582 NewReno without), move between the
    /// congestion states, then set cwnd — PRR during recovery, the congestion control's
    /// `cong_avoid` otherwise.
    fn fastretrans(&mut self, cx: &mut Cx<'_>, a: AckFlags) {
        let now = cx.now;
        let una_advanced = a.acked > 0;
        // Segments SACKed earlier and now cumulatively acked are not delivered again.
        let mut delivered = a.delivered;
        // `tcp_ack_is_dubious`: an in-order ACK in the Open state needs no loss work.
        let dubious = a.is_dup || a.newly_sacked > 0 || a.ece || self.ca_state != CaState::Open;
        if !dubious {
            self.cong_avoid(now, a.acked);
            return;
        }
        self.try_undo_dsack(cx);
        let lost_before = self.lost_out;
        if !self.sack_ok && a.is_dup {
            self.add_reno_sack();
            delivered += 1;
        }
        if self.ca_state == CaState::Recovery {
            // Linux `tcp_fastretrans_alert`: the recovery ends (or NewReno holds it), or
            // a partial ACK may show it was reordering; a held ACK marks nothing more.
            let held = if self.snd_una >= self.high_seq {
                self.end_recovery(cx)
            } else {
                una_advanced && self.try_undo_partial(cx, a.prior_una)
            };
            if held {
                self.cwnd_reduction(delivered, false, una_advanced);
                return;
            }
        }
        if self.sack_ok && self.rack_enabled(cx) {
            self.rack_mark_lost(cx);
        }
        match self.ca_state {
            CaState::Recovery => {
                if !self.sack_ok && a.acked > 0 {
                    // Partial ACK: the next hole is lost too (RFC 6582 §3.2 (4)).
                    self.sacked_out = self.sacked_out.saturating_sub(a.acked - 1);
                    self.mark_head_lost();
                }
            }
            CaState::Loss => {
                if self.process_loss(cx, a) {
                    return;
                }
                // `tcp_cong_control`: cwnd grows by what was delivered (acked and
                // newly SACKed) when the ACK moved SND.UNA (`tcp_may_raise_cwnd`).
                if a.acked > 0 {
                    self.cong_avoid(now, delivered);
                }
                return;
            }
            _ => {
                if !self.sack_ok && a.acked > 0 {
                    self.sacked_out = 0;
                }
                if self.time_to_recover(cx) {
                    self.enter_recovery(cx, a.ece);
                } else {
                    // `tcp_try_to_open`: a finished CWR episode ends with cwnd = ssthresh;
                    // an ECN echo starts one; during one cwnd follows PRR. CWR ends only
                    // once something above high_seq is acked, so that the CWR flag (on
                    // the segment at high_seq) has reached the receiver and the echoes
                    // sent before it cannot start a second episode (`tcp_fastretrans_alert`).
                    if self.ca_state == CaState::Cwr && self.snd_una > self.high_seq {
                        self.end_cwnd_reduction();
                        self.set_ca_state(now, CaState::Open);
                    }
                    if a.ece {
                        self.enter_cwr(cx);
                    }
                    if self.ca_state == CaState::Cwr {
                        self.cwnd_reduction(delivered, false, una_advanced);
                        return;
                    }
                    let st = if self.sacked_out > 0 { CaState::Disorder } else { CaState::Open };
                    self.set_ca_state(now, st);
                    if a.acked > 0 {
                        self.cong_avoid(now, delivered);
                    }
                    return;
                }
            }
        }
        if self.sack_ok && !self.rack_enabled(cx) {
            self.mark_lost_by_dupthresh(cx);
        }
        self.cwnd_reduction(delivered, self.lost_out > lost_before, una_advanced);
    }

    /// Recovery ends at the recovery point (RFC 6582 §3.2 (3), RFC 6675 §5; Linux
    /// `tcp_try_undo_recovery`, `tcp_end_cwnd_reduction`): the reduction is undone if
    /// every retransmission proved needless (DSACKs, or an echoed timestamp older
    /// than the first retransmission), else cwnd = ssthresh; the state opens. True
    /// if NewReno holds Recovery until an ACK above the recovery point (RFC 6582
    /// §3.2 (3) and §4.1: duplicates of this ACK must not start another recovery).
    /// As in Linux `tcp_fastretrans_alert`, the same ACK then goes through the Open
    /// state's checks, so a loss already marked above the old recovery point starts
    /// the next recovery at once: the congestion control never sees the Open state in
    /// between (BBR keeps its cwnd instead of restarting packet conservation).
    fn end_recovery(&mut self, cx: &mut Cx<'_>) -> bool {
        if !self.sack_ok {
            self.sacked_out = 0;
        }
        if self.may_undo() {
            self.undo_cwnd_reduction(false);
            cx.stats.mib.full_undo += 1;
        } else {
            self.rack_recovery_not_undone();
        }
        if !self.sack_ok && self.snd_una == self.high_seq {
            if !self.any_retrans_done() {
                self.retrans_stamp = None;
            }
            return true;
        }
        if self.undo_marker.take().is_some() {
            self.end_cwnd_reduction();
        }
        self.set_ca_state(cx.now, CaState::Open);
        false
    }

    /// Linux `tcp_try_undo_partial`: a partial ACK echoing a timestamp older than the
    /// first retransmission was filled by a late original — reordering, not loss.
    /// With retransmissions still out, true: mark and send nothing more on this ACK;
    /// with none, the reduction is undone and the state opens.
    fn try_undo_partial(&mut self, cx: &mut Cx<'_>, prior_una: SeqNumber) -> bool {
        if self.undo_marker.is_none() || !self.packet_delayed() {
            return false;
        }
        self.check_reordering(cx, prior_una, true);
        if self.retrans_out > 0 {
            return true;
        }
        if !self.any_retrans_done() {
            self.retrans_stamp = None;
        }
        self.undo_cwnd_reduction(true);
        cx.stats.mib.partial_undo += 1;
        self.try_keep_open(cx.now);
        false
    }

    /// Linux `tcp_any_retrans_done`: a retransmission is out, or the head was
    /// retransmitted once.
    pub(crate) fn any_retrans_done(&self) -> bool {
        self.retrans_out > 0 || self.rtx.front().is_some_and(|s| s.ever_retrans)
    }

    /// Linux `tcp_process_loss`: after an RTO, F-RTO (RFC 5682 §3.1, SACK-enhanced)
    /// and the timestamps (RFC 3522, `tcp_packet_delayed`) may show it was spurious;
    /// otherwise the Loss state ends at the recovery point. True if cwnd is settled.
    fn process_loss(&mut self, cx: &mut Cx<'_>, a: AckFlags) -> bool {
        let recovered = self.snd_una >= self.high_seq;
        if a.acked > 0 && self.try_undo_loss(cx, false) {
            return true;
        }
        if self.frto {
            // Step 3.b: never-retransmitted data was delivered, so not all was lost.
            if self.orig_delivered && self.try_undo_loss(cx, true) {
                return true;
            }
            if self.snd_nxt > self.high_seq {
                // Step 3.a: new data went out and the ACKs still show holes.
                if a.newly_sacked > 0 || a.is_dup {
                    self.frto = false;
                }
            } else if a.acked > 0 && !recovered {
                // Step 2.b: send new data next instead of more retransmissions.
                self.high_seq = self.snd_nxt;
                let wnd_end = self.snd_una + self.snd_wnd as usize;
                if !self.unsent.is_empty() && wnd_end > self.snd_nxt {
                    self.rexmit_new = true;
                    return false;
                }
                self.frto = false;
            }
        }
        if recovered {
            // `tcp_try_undo_recovery`, then the Open state.
            if self.may_undo() {
                self.undo_cwnd_reduction(true);
            } else {
                self.rack_recovery_not_undone();
            }
            self.set_ca_state(cx.now, CaState::Open);
            return false;
        }
        false
    }

    /// Linux `tcp_may_undo`: every retransmission shown spurious by DSACK, or the
    /// packet was only delayed.
    fn may_undo(&self) -> bool {
        self.undo_marker.is_some() && (self.undo_retrans == 0 || self.packet_delayed())
    }

    /// Linux 6.18 `tcp_packet_delayed`: the ACK echoes a timestamp older than the
    /// first retransmission, or nothing was retransmitted yet — except without SACK
    /// at the recovery point, where the stamp was cleared by the NewReno hold.
    fn packet_delayed(&self) -> bool {
        match self.retrans_stamp {
            Some(t) => {
                self.ts_ok
                    && self.last_tsecr != 0
                    && (self.last_tsecr.wrapping_sub(self.tsval(t)) as i32) < 0
            }
            None => (self.sack_ok || self.snd_una < self.high_seq) && self.state != State::SynSent,
        }
    }

    /// Linux `tcp_try_undo_loss`.
    fn try_undo_loss(&mut self, cx: &mut Cx<'_>, frto_undo: bool) -> bool {
        if !frto_undo && !self.may_undo() {
            return false;
        }
        self.undo_cwnd_reduction(true);
        cx.stats.mib.loss_undo += 1;
        if frto_undo {
            cx.stats.mib.spurious_rtos += 1;
        }
        self.retransmits = 0;
        if frto_undo || self.sack_ok {
            self.set_ca_state(cx.now, CaState::Open);
        }
        true
    }

    /// Linux `tcp_time_to_recover`: a segment is known lost, or (without RACK) the
    /// duplicate threshold is reached.
    fn time_to_recover(&self, cx: &Cx<'_>) -> bool {
        self.lost_out > 0
            || ((!self.sack_ok || !self.rack_enabled(cx)) && self.sacked_out >= self.reordering)
    }

    fn add_reno_sack(&mut self) {
        self.sacked_out = (self.sacked_out + 1).min(self.packets_out.saturating_sub(1).max(1));
    }

    fn mark_head_lost(&mut self) {
        if let Some(h) = self.rtx.front_mut() {
            if !h.lost {
                h.lost = true;
                h.retrans = false;
                self.lost_out += 1;
                self.lost_total += 1;
            } else if h.retrans {
                // Retransmission lost again: send it once more.
                h.retrans = false;
                self.retrans_out = self.retrans_out.saturating_sub(1);
                self.lost_total += 1;
            }
        }
    }

    /// Fast recovery begins (RFC 5681 §3.2, RFC 6675 §5; Linux `tcp_enter_recovery`
    /// and `tcp_init_cwnd_reduction`): ssthresh from the congestion control, cwnd then
    /// follows PRR.
    pub(crate) fn enter_recovery(&mut self, cx: &mut Cx<'_>, ece: bool) {
        let now = cx.now;
        cx.stats.mib.fast_retrans += 1;
        if self.sack_ok {
            cx.stats.mib.sack_recovery += 1;
        } else {
            cx.stats.mib.reno_recovery += 1;
        }
        tracing::debug!(target: "libos::tcp", id = self.id, cwnd = self.cwnd, "fast retransmit");
        // Linux `tcp_enter_recovery`: a reduction already under way (CWR) continues,
        // and neither it nor one an ECN echo starts can be undone.
        self.prior_ssthresh = 0;
        if self.ca_state != CaState::Cwr {
            if !ece {
                self.prior_ssthresh = self.current_ssthresh();
            }
            self.init_cwnd_reduction(now);
        }
        self.init_undo();
        self.set_ca_state(now, CaState::Recovery);
        if !self.sack_ok {
            self.mark_head_lost();
        } else if self.lost_out == 0 {
            // Duplicate threshold without RACK marks from the head.
            self.mark_lost_by_dupthresh(cx);
        }
    }

    fn cong_avoid(&mut self, now: Nanos, acked: u32) {
        if self.cc.has_cong_control() {
            // Linux `tcp_cong_control`: the algorithm sets cwnd itself.
            return;
        }
        let mut v = self.cc_view();
        v.cwnd_limited = self.is_cwnd_limited();
        let u = self.cc.cong_avoid(now, &v, acked);
        self.cwnd = u.cwnd.max(1);
        self.cwnd_cnt = u.cwnd_cnt;
    }

    /// Linux `tcp_check_space` and `tcp_new_space`, after each transmission attempt
    /// (`tcp_data_snd_check`, `tcp_event_new_data_sent`): while a writer waits for
    /// send-buffer space, the buffer grows unless cwnd is what limits sending
    /// (`tcp_should_expand_sndbuf`), and the writer is woken once it is writable.
    pub(crate) fn check_space(&mut self, cx: &mut Cx<'_>) {
        if !self.nospace.get() {
            return;
        }
        if self.in_flight() < self.cwnd {
            self.expand_sndbuf(cx);
        }
        if self.is_writeable() {
            self.nospace.set(false);
            cx.net.wake(self.sock_ref());
        }
    }

    /// Linux `tcp_sndbuf_expand`: room for `sndbuf_expand` (2, BBR 3) windows of
    /// `per_mss` bytes, Linux's truesize bound for one MSS-sized skb: the head rounded
    /// up to a power of two with `MAX_TCP_HEADER` and `skb_shared_info`, plus
    /// `sk_buff`. x86-64 sizes of the reference kernel (6.18, no wireless, so
    /// `MAX_TCP_HEADER` 256; with `LL_MAX_HEADER` 128 it is 320): 2,304 bytes for MSS
    /// 1,460. What is charged against it is the modelled truesize (`tso.rs`).
    pub(crate) fn expand_sndbuf(&mut self, cx: &Cx<'_>) {
        if self.common.sndbuf_locked {
            return;
        }
        let mss = self.mss.max(self.peer_mss.map_or(0, u32::from));
        let per_mss = u64::from((mss + 256 + 320).next_power_of_two() + 256);
        let segs = self.cwnd.max(super::sock::INIT_CWND).max(self.reordering + 1);
        let want = (u64::from(self.cc.sndbuf_expand()) * u64::from(segs) * per_mss)
            .min(u64::from(cx.net.sysctl.tcp.tcp_wmem[2])) as u32;
        self.sndbuf = self.sndbuf.max(want);
    }

    /// Data and FIN of an accepted segment (RFC 9293 §3.10.7.4 seventh and eighth).
    fn rcv_data(&mut self, cx: &mut Cx<'_>, seg: &TcpRepr<'_>) {
        let fin = seg.control == Control::Fin;
        if seg.payload.is_empty() && !fin {
            return;
        }
        self.ecn_rcv(seg);
        if !matches!(self.state, State::Established | State::FinWait1 | State::FinWait2) {
            // After the peer's FIN nothing new can arrive (RFC 9293: ignore).
            return;
        }
        if self.shutdown & RCV_SHUTDOWN != 0 && !seg.payload.is_empty() && self.user_closed {
            // Linux `tcp_rcv_state_process`: data for a closed socket aborts it.
            let end = seg.seq_number + seg.payload.len();
            if end > self.rcv_nxt {
                cx.stats.mib.abort_on_data += 1;
                self.abort(cx, Some(Errno::ECONNRESET), true);
                return;
            }
        }
        self.rcv_rtt_measure_ts(cx, seg);
        self.segs_in_data(cx, seg.payload.len());
        if !seg.payload.is_empty() {
            self.grow_window();
        }
        let mut seq = seg.seq_number;
        let mut data = seg.payload;
        let end = seq + data.len();
        if end <= self.rcv_nxt && !(fin && end == self.rcv_nxt) {
            // Entirely old: a duplicate; ACK at once with a DSACK (Linux
            // `tcp_data_queue` → `tcp_dsack_set`).
            if self.sack_ok && !data.is_empty() {
                self.dsack = Some((seq, end));
            }
            self.ack_pending = true;
            self.quickack = self.quickack.max(1);
            return;
        }
        if seq < self.rcv_nxt {
            let cut = self.rcv_nxt.dist(seq);
            data = &data[cut.min(data.len())..];
            seq = self.rcv_nxt;
        }
        // Trim to the window we offered.
        let right = self.rcv_nxt + self.rcv_window_now() as usize;
        let room = right.dist(seq);
        let mut fin = fin;
        if data.len() > room {
            data = &data[..room];
            fin = false;
        }
        if data.is_empty() && !fin {
            // Zero window: nothing fits, but the ACK says so.
            self.ack_pending = true;
            self.quickack = self.quickack.max(1);
            return;
        }
        // Linux `tcp_try_rmem_schedule`: the offered window is rounded up to the scale
        // unit and never shrunk, so it can run past the buffer; what would overfill
        // the buffer is dropped (TCPRcvQDrop / TCPOFODrop), never queued.
        if self.rcvq.len() + self.ooo.bytes() + data.len() > self.rcvbuf as usize {
            if seq == self.rcv_nxt {
                cx.stats.mib.rcvq_drop += 1;
            } else {
                cx.stats.mib.ofo_drop += 1;
            }
            self.ack_pending = true;
            self.quickack = self.quickack.max(1);
            return;
        }
        if seq == self.rcv_nxt {
            let had_ooo = !self.ooo.is_empty();
            self.ack_pending = true;
            self.rcvq.extend(data);
            self.advance_rcv_nxt(data.len());
            self.bytes_received += data.len() as u64;
            if fin {
                self.on_fin(cx);
            }
            self.drain_ooo(cx);
            if had_ooo {
                // Filling a gap: ACK now (RFC 5681 §4.2).
                self.quickack = self.quickack.max(1);
            }
        } else {
            // No quick ACK: `ack_snd_check` sends or holds it (SACK compression).
            let off = self.rcv_off + seq.dist(self.rcv_nxt) as u64;
            self.flush_compressed_before_new_block(cx, off, data.len());
            self.insert_ooo(seq, data, fin);
            cx.stats.mib.ofo_queue += 1;
            self.ack_pending = true;
        }
        cx.net.wake(self.sock_ref());
    }

    /// Linux `tcp_event_data_recv`: receiver MSS estimate and the ATO.
    fn segs_in_data(&mut self, cx: &Cx<'_>, len: usize) {
        if len == 0 {
            return;
        }
        self.data_segs_in += 1;
        self.last_data_recv = cx.now;
        let len = len as u32;
        if len >= self.rcv_mss {
            self.rcv_mss = len.min(self.advmss);
        }
        let now = cx.now;
        if self.data_segs_in == 1 {
            self.incr_quickack();
            self.ato = super::sock::ATO_MIN;
        } else {
            let m = now.saturating_sub(self.lrcvtime);
            let half = super::sock::ATO_MIN / 2;
            if m <= half {
                self.ato = self.ato / 2 + half;
            } else if m < self.ato {
                self.ato = (self.ato / 2 + m).min(self.rtt.rto);
            } else if m > self.rtt.rto {
                self.incr_quickack();
            }
        }
        self.lrcvtime = now;
    }

    /// Linux `tcp_rcv_rtt_measure_ts`: the receiver's RTT from the TSecr of a
    /// full-sized segment, once per new TSecr (`tcp_rcv_rtt_update`, smoothed 1/8).
    fn rcv_rtt_measure_ts(&mut self, cx: &Cx<'_>, seg: &TcpRepr<'_>) {
        let Some((_, tsecr)) = seg.options.timestamp.filter(|t| self.ts_ok && t.1 != 0) else {
            return;
        };
        if tsecr == self.rcv_rtt_last_tsecr {
            return;
        }
        self.rcv_rtt_last_tsecr = tsecr;
        if (seg.payload.len() as u32) < self.rcv_mss {
            return;
        }
        // Linux takes samples below INT_MAX µs only (a forged TSecr gives none).
        let delta = self.tsval(cx.now).wrapping_sub(tsecr) as i32;
        if !(0..i32::MAX / 1000).contains(&delta) {
            return;
        }
        let sample = delta.max(1) as u32 * 1000;
        self.rcv_rtt_us8 = match self.rcv_rtt_us8 {
            0 => sample.saturating_mul(8),
            r => (r - (r >> 3)).saturating_add(sample),
        };
    }

    /// Linux `tcp_grow_window`: open the window by two segments per segment received
    /// while there is room, and ACK the next segment at once (`icsk_ack.quick |= 1`):
    /// while the window grows, as in slow start, every segment is ACKed.
    fn grow_window(&mut self) {
        let space = self.rcv_space() as u32;
        let clamp = if self.window_clamp > 0 { self.window_clamp.min(space) } else { space };
        if self.rcv_ssthresh < clamp && (self.rcv_ssthresh as usize) < self.rcv_free() {
            self.rcv_ssthresh = (self.rcv_ssthresh + 2 * self.advmss).min(clamp);
            self.quickack |= 1;
        }
    }

    /// Linux `tcp_incr_quickack`.
    fn incr_quickack(&mut self) {
        let q = (self.rcv_wnd / (2 * self.rcv_mss.max(1))).max(2);
        self.quickack = self.quickack.max(q.min(MAX_QUICKACKS));
    }

    /// RCV.NXT moves forward by `n` (data or FIN).
    fn advance_rcv_nxt(&mut self, n: usize) {
        self.rcv_nxt += n;
        self.rcv_off += n as u64;
    }

    /// Adds an out-of-order segment (Linux `tcp_data_queue_ofo`).
    fn insert_ooo(&mut self, seq: SeqNumber, data: &[u8], fin: bool) {
        let off = self.rcv_off + seq.dist(self.rcv_nxt) as u64;
        self.ooo_recent = off;
        self.ooo.insert(off, seq, data, fin);
    }

    /// Linux `tcp_ofo_queue`: moves now-contiguous data into the receive queue.
    fn drain_ooo(&mut self, cx: &mut Cx<'_>) {
        while let Some((k, s)) = self.ooo.pop_ready(self.rcv_off) {
            let end = k + s.data.len() as u64;
            if end > self.rcv_off {
                let part = &s.data[(self.rcv_off - k) as usize..];
                self.rcvq.extend(part);
                self.bytes_received += part.len() as u64;
                self.advance_rcv_nxt(part.len());
            }
            if s.fin && end == self.rcv_off && self.shutdown & RCV_SHUTDOWN == 0 {
                self.on_fin(cx);
            }
        }
    }

    /// Linux `tcp_fin`: the peer's FIN is in sequence.
    fn on_fin(&mut self, cx: &mut Cx<'_>) {
        self.advance_rcv_nxt(1);
        self.shutdown |= RCV_SHUTDOWN;
        self.done = true;
        self.ooo.clear();
        match self.state {
            State::SynRecv | State::Established => {
                // Linux enters pingpong mode: the ACK may ride on our FIN.
                self.set_state(cx, State::CloseWait);
                self.ack_pending = true;
            }
            State::FinWait1 => {
                self.send_ack(cx);
                self.set_state(cx, State::Closing);
            }
            State::FinWait2 => {
                self.send_ack(cx);
                self.time_wait(cx, State::TimeWait, 0);
            }
            _ => {}
        }
        cx.net.wake(self.sock_ref());
    }

    /// Linux `__tcp_ack_snd_check`: ACK now, or arm the delayed-ACK timer.
    pub(crate) fn ack_snd_check(&mut self, cx: &mut Cx<'_>) {
        if !self.ack_pending || !self.state.is_synchronized() {
            return;
        }
        let unacked = self.rcv_nxt.dist(self.rcv_wup) as u32;
        let now_ack =
            (unacked > self.rcv_mss && self.compute_window() >= self.rcv_wnd) || self.quickack > 0;
        if self.state == State::CloseWait || (!now_ack && self.ooo.is_empty()) {
            if self.timer(Timer::DelayedAck).is_none() {
                let ato = self.ato.clamp(super::sock::ATO_MIN, DELACK_MAX);
                self.set_timer(Timer::DelayedAck, cx.now + ato);
            }
            return;
        }
        if now_ack || !self.compress_sack(cx) {
            self.send_ack(cx);
        }
    }

    /// Linux SACK compression (`__tcp_ack_snd_check` with data out of order): the first
    /// three duplicate ACKs at one RCV.NXT go at once, for the sender's fast retransmit;
    /// later ones are held back for 5 % of the RTT, at most `tcp_comp_sack_delay_ns`
    /// (1 ms), or until `tcp_comp_sack_nr` (44) are held. True if this one is held.
    fn compress_sack(&mut self, cx: &Cx<'_>) -> bool {
        let t = &cx.net.sysctl.tcp;
        if !self.sack_ok || self.compressed_ack >= u32::from(t.tcp_comp_sack_nr) {
            return false;
        }
        if self.compressed_ack_rcv_nxt != self.rcv_nxt {
            self.compressed_ack_rcv_nxt = self.rcv_nxt;
            self.dup_ack_counter = 0;
        }
        if self.dup_ack_counter < FASTRETRANS_THRESH {
            self.dup_ack_counter += 1;
            return false;
        }
        self.compressed_ack += 1;
        if self.timer(Timer::CompressedAck).is_some() {
            return true;
        }
        // min(receiver RTT estimate, SRTT); no estimate yet gives no delay, as Linux.
        let mut rtt = u64::from(self.rcv_rtt_us8 >> 3) * 1000;
        if let Some(srtt) = self.rtt.srtt.filter(|&s| s > 0 && s < rtt) {
            rtt = srtt;
        }
        let delay = (rtt / 20).min(cx.net.sysctl.tcp.tcp_comp_sack_delay_ns);
        self.set_timer(Timer::CompressedAck, cx.now + delay);
        true
    }

    /// Linux `tcp_sack_new_ofo_skb`: a segment that opens a new SACK block while the
    /// four-block table is full pushes out the oldest; held-back ACKs go first, so what
    /// they would report is not lost.
    fn flush_compressed_before_new_block(&mut self, cx: &mut Cx<'_>, off: u64, len: usize) {
        if self.compressed_ack > u32::from(FASTRETRANS_THRESH)
            && self.ooo.opens_block(off, off + len as u64)
            && self.ooo.block_count() >= MAX_SACK_BLOCKS
        {
            self.send_ack(cx);
        }
    }
}

/// Linux `TCP_FASTRETRANS_THRESH`.
const FASTRETRANS_THRESH: u8 = 3;
/// Linux `TCP_NUM_SACKS`: the receiver's SACK block table.
const MAX_SACK_BLOCKS: usize = 4;
