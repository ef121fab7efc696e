//! What to send (Linux `tcp_output.c`): new data under cwnd, receive window, Nagle and
//! cork (`tcp_write_xmit`), retransmissions of lost segments
//! (`tcp_xmit_retransmit_queue`), pure ACKs, window probes and resets, and the receive
//! window we advertise (`tcp_select_window`).

use super::Cx;
use super::cong::CaState;
use super::rtt::{RTO_MAX, RTO_MIN};
use super::seq::SeqNumber;
use super::sock::{State, TS_OPT_LEN, TcpSock, TxSeg};
use super::timer::Timer;
use crate::ipv4::SkDst;
use crate::net::{IpTx, RouteOut};
use crate::pktbuf::PacketBuf;
use crate::socket::{Proto, SockRef};
use crate::wire::checksum;
use crate::wire::tcp::{Control, TcpOptions, TcpPacket, TcpRepr};
use crate::{Errno, SysResult};
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// Output route lookup (the pair harness of the unit tests can stand in for IPv4).
pub(crate) fn route(cx: &Cx<'_>, dst: IpAddr, oif: Option<u32>) -> SysResult<RouteOut> {
    #[cfg(test)]
    if let Some(tap) = cx.tap.as_ref() {
        return Ok(tap.route(dst));
    }
    cx.net.route_output(dst, oif)
}

/// Builds one segment into a fresh packet with IP+Ethernet headroom and hands it to IP.
pub(crate) fn emit(cx: &mut Cx<'_>, tx: &IpTx, sk_dst: Option<&mut SkDst>, repr: &TcpRepr<'_>) {
    let hl = repr.header_len();
    let mut pkt = PacketBuf::with_tail(hl, repr.payload);
    let payload_sum = checksum::sum(&pkt.data()[hl..]);
    repr.emit_header(&mut TcpPacket::new_unchecked(pkt.data_mut()), &tx.src, &tx.dst, payload_sum);
    cx.stats.mib.out_segs += 1;
    if repr.control == Control::Rst {
        cx.stats.mib.out_rsts += 1;
    }
    #[cfg(test)]
    if let Some(tap) = cx.tap.as_mut() {
        tap.out.push((*tx, pkt.into_bytes()));
        return;
    }
    // A failed send is recovered by the retransmit timer, as Linux's soft errors.
    let _ = cx.net.ip_queue_xmit(cx.now, tx, sk_dst, pkt);
}

/// Bare IpTx for a segment between two addresses (resets without a socket).
pub(crate) fn ip_tx(src: IpAddr, dst: IpAddr, ttl: u8) -> IpTx {
    IpTx { src, dst, protocol: 6, ttl, tos: 0, dont_frag: true, oif: None, allow_broadcast: false }
}

/// RFC 9293 §3.10.7.1: the reset answering `seg` when no connection exists. Never a
/// reset for a reset.
pub(crate) fn send_reset_for(
    cx: &mut Cx<'_>,
    local: SocketAddr,
    remote: SocketAddr,
    seg: &TcpRepr<'_>,
) {
    if seg.control == Control::Rst {
        return;
    }
    let (seq, ack) = match seg.ack_number {
        Some(a) => (a, None),
        None => (SeqNumber(0), Some(seg.seq_number + seg.segment_len())),
    };
    let repr = TcpRepr {
        src_port: local.port(),
        dst_port: remote.port(),
        control: Control::Rst,
        psh: false,
        ece: false,
        cwr: false,
        seq_number: seq,
        ack_number: ack,
        window_len: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    let (ttl, oif) = match (local.ip(), remote.ip()) {
        (IpAddr::V6(l), IpAddr::V6(r)) if crate::wire::ipv6::is_link_local(r) => {
            // A link-local peer is reached through the interface holding our address.
            let dev = cx.net.ipv6.addrs.iter().find(|(_, v)| v.iter().any(|f| f.addr == l));
            let oif = dev.map(|(&i, _)| i);
            (cx.net.hop_limit6(oif.unwrap_or(0)), oif)
        }
        (_, IpAddr::V6(_)) => (cx.net.hop_limit6(0), None),
        _ => (cx.net.sysctl.ipv4.ip_default_ttl, None),
    };
    let tx = IpTx { oif, ..ip_tx(local.ip(), remote.ip(), ttl) };
    emit(cx, &tx, None, &repr);
}

impl TcpSock {
    pub fn sock_ref(&self) -> SockRef {
        SockRef { proto: Proto::Tcp, id: self.id }
    }

    fn ip_tx(&self, cx: &Cx<'_>, len: usize) -> IpTx {
        let (ttl, tos, dont_frag) = match self.remote.ip() {
            IpAddr::V6(d) => {
                let hops = self.inet6.hops(cx.net, d, self.common.bound_dev.unwrap_or(0));
                (hops, self.inet6.tclass, true)
            }
            IpAddr::V4(_) => {
                (self.inet.ttl(cx.net), self.inet.tos, self.inet.dont_frag(len + 20, self.pmtu))
            }
        };
        IpTx {
            src: self.local.ip(),
            dst: self.remote.ip(),
            protocol: 6,
            ttl,
            tos,
            dont_frag,
            oif: self.common.bound_dev,
            allow_broadcast: false,
        }
    }

    /// Linux `__tcp_select_window` (without receive-window slow start).
    pub(crate) fn compute_window(&self) -> u32 {
        let allowed = self.rcv_space() as u32;
        let full = if self.window_clamp > 0 { self.window_clamp.min(allowed) } else { allowed };
        let mut mss = self.rcv_mss.max(1);
        if mss > full {
            mss = full;
            if mss == 0 {
                return 0;
            }
        }
        let mut free = self.rcv_free() as u32;
        let gran = 1u32 << self.rcv_wscale;
        if free < full / 2 {
            free = free / gran * gran;
            if free < allowed / 16 || free < mss {
                return 0;
            }
        }
        free = free.min(full).min(self.rcv_ssthresh.max(mss));
        if self.rcv_wscale > 0 {
            free.div_ceil(gran) * gran
        } else {
            let w = self.rcv_wnd;
            if w + mss <= free && w <= free { w } else { free / mss * mss }
        }
    }

    /// Linux `tcp_select_window`: never shrink the window already offered (RFC 9293
    /// §3.8.6.2.2); returns the 16-bit header value.
    pub(crate) fn select_window(&mut self) -> u16 {
        let cur = self.rcv_window_now();
        let gran = 1u32 << self.rcv_wscale;
        let mut new = self.compute_window();
        if new < cur {
            new = cur.div_ceil(gran) * gran;
        }
        new = new.min(65535u32 << self.rcv_wscale);
        self.rcv_wnd = new;
        self.rcv_wup = self.rcv_nxt;
        (new >> self.rcv_wscale) as u16
    }

    /// The options of a non-SYN segment: timestamps and SACK blocks.
    fn data_options(&self, cx: &Cx<'_>) -> TcpOptions {
        let mut o = TcpOptions::default();
        if self.ts_ok {
            o.timestamp = Some((self.tsval(cx.now), self.ts_recent));
        }
        if self.sack_ok && (self.dsack.is_some() || !self.ooo.is_empty()) {
            let max = if self.ts_ok { 3 } else { 4 };
            // RFC 2883 §4: a duplicate is reported first; RFC 2018 §4: then the block
            // holding the most recently received segment, then the others.
            let dsack = self.dsack.filter(|_| cx.net.sysctl.tcp.tcp_dsack);
            let blocks = self.ooo.sack_blocks(max - usize::from(dsack.is_some()), self.ooo_recent);
            for (slot, b) in o.sack.iter_mut().zip(dsack.into_iter().chain(blocks)) {
                *slot = Some(b);
            }
        }
        o
    }

    /// Options of our SYN or SYN-ACK (Linux `tcp_syn_options`/`tcp_synack_options`).
    fn syn_options(&self, cx: &Cx<'_>) -> TcpOptions {
        let mut o = TcpOptions { mss: Some(self.advmss.min(65535) as u16), ..Default::default() };
        let t = &cx.net.sysctl.tcp;
        let active = self.state == State::SynSent;
        if self.ts_ok || (active && t.tcp_timestamps != 0) {
            o.timestamp = Some((self.tsval(cx.now), if active { 0 } else { self.ts_recent }));
        }
        if self.wscale_ok || (active && t.tcp_window_scaling) {
            o.window_scale = Some(self.rcv_wscale);
        }
        o.sack_permitted = self.sack_ok || (active && t.tcp_sack);
        o
    }

    /// Sends one segment. `ack` carries RCV.NXT and counts as the ACK we owed.
    fn send_segment(
        &mut self,
        cx: &mut Cx<'_>,
        seq: SeqNumber,
        control: Control,
        ack: bool,
        payload: &[u8],
    ) {
        let syn = control == Control::Syn;
        let options = if syn { self.syn_options(cx) } else { self.data_options(cx) };
        let (ece, cwr, ect) = self.ecn_bits(cx, syn, ack);
        let window = if syn {
            self.rcv_wnd.min(65535) as u16
        } else if control == Control::Rst {
            0
        } else {
            self.select_window()
        };
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            control,
            psh: self.psh_next && !payload.is_empty(),
            ece,
            cwr,
            seq_number: seq,
            ack_number: ack.then_some(self.rcv_nxt),
            window_len: window,
            options,
            payload,
        };
        let mut tx = self.ip_tx(cx, repr.buffer_len());
        if ect {
            tx.tos = (tx.tos & !3) | 2;
        }
        emit(cx, &tx, Some(&mut self.sk_dst), &repr);
        self.segs_out += 1;
        if !payload.is_empty() {
            self.data_segs_out += 1;
            self.last_data_sent = cx.now;
        }
        self.pacing_sent(cx.now, payload.len());
        if ack {
            // Linux `tcp_event_ack_sent`; a DSACK is reported once.
            self.dsack = None;
            self.ack_pending = false;
            self.quickack = self.quickack.saturating_sub(1);
            self.clear_timer(Timer::DelayedAck);
            cx.stats.mib.ack_compressed += u64::from(self.compressed_ack);
            self.compressed_ack = 0;
            self.clear_timer(Timer::CompressedAck);
        }
    }

    /// A pure ACK (Linux `tcp_send_ack`).
    pub(crate) fn send_ack(&mut self, cx: &mut Cx<'_>) {
        if !self.state.is_synchronized() {
            return;
        }
        self.send_segment(cx, self.snd_nxt, Control::None, true, &[]);
    }

    /// RFC 5961 challenge ACK, limited per second by `tcp_challenge_ack_limit`.
    pub(crate) fn send_challenge_ack(&mut self, cx: &mut Cx<'_>) {
        let sec = cx.now / 1_000_000_000;
        let st = &mut *cx.stats;
        if st.challenge_second != sec {
            st.challenge_second = sec;
            st.challenge_count = 0;
        }
        if st.challenge_count >= cx.net.sysctl.tcp.tcp_challenge_ack_limit {
            return;
        }
        st.challenge_count += 1;
        st.mib.challenge_acks += 1;
        self.send_ack(cx);
    }

    /// Linux `tcp_send_active_reset`: RST|ACK at SND.NXT.
    pub(crate) fn send_active_reset(&mut self, cx: &mut Cx<'_>) {
        if !self.state.is_synchronized() {
            return;
        }
        self.send_segment(cx, self.snd_nxt, Control::Rst, true, &[]);
    }

    /// Transmits `rtx[idx]` (first send or retransmission).
    fn xmit_seg(&mut self, cx: &mut Cx<'_>, idx: usize) {
        if matches!(self.ca_state, CaState::Recovery | CaState::Cwr) {
            self.prr_out += 1;
        }
        let s = &self.rtx[idx];
        self.ect_next = self.ecn_ok && !s.ever_retrans && !s.data.is_empty();
        self.tx_count += 1;
        self.rtx[idx].tx_order = self.tx_count;
        let pipe_was_empty = self.packets_out <= 1 && !self.rtx[idx].ever_retrans;
        self.rate_skb_sent(cx.now, idx, pipe_was_empty);
        let seg = &self.rtx[idx];
        let (seq, data, syn, fin) = (seg.seq, seg.data.clone(), seg.syn, seg.fin);
        self.psh_next = seg.psh;
        let control = if syn {
            Control::Syn
        } else if fin {
            Control::Fin
        } else {
            Control::None
        };
        let ack = self.state != State::SynSent;
        self.send_segment(cx, seq, control, ack, &data);
    }

    /// Queues the SYN (connect) or SYN-ACK (passive open) and sends it.
    pub(crate) fn send_syn(&mut self, cx: &mut Cx<'_>) {
        let seg = TxSeg { syn: true, ..TxSeg::new(self.iss, Bytes::new(), cx.now) };
        self.rtx.push_back(seg);
        self.rtx_skbs += 1;
        self.packets_out += 1;
        self.snd_nxt = self.iss + 1;
        self.xmit_seg(cx, self.rtx.len() - 1);
        self.set_timer(Timer::Retransmit, cx.now + self.rtt.rto_backoff(self.backoff));
    }

    /// Linux `tcp_xmit_retransmit_queue`: resend segments marked lost, in order, while
    /// cwnd and pacing allow — the first one too: a retransmission beyond cwnd lands
    /// on a queue that is already full. Fast retransmit gets its room from PRR (at
    /// least one segment) or, for BBR, from packet conservation.
    pub(crate) fn xmit_retransmits(&mut self, cx: &mut Cx<'_>) {
        for idx in 0..self.rtx.len() {
            if self.retrans_out >= self.lost_out {
                break;
            }
            let seg = &self.rtx[idx];
            if !seg.lost || seg.retrans {
                continue;
            }
            if self.pacing_check(cx.now) || self.in_flight() >= self.cwnd {
                break;
            }
            self.retransmit_lost(cx, idx);
        }
    }

    /// Linux `tcp_retransmit_timer` and the SYN timers: the head of the queue goes
    /// again now, whatever cwnd and pacing say.
    pub(crate) fn retransmit_head(&mut self, cx: &mut Cx<'_>) {
        if self.rtx.front().is_some_and(|s| s.lost && !s.retrans) {
            self.retransmit_lost(cx, 0);
        }
    }

    fn retransmit_lost(&mut self, cx: &mut Cx<'_>, idx: usize) {
        self.rtx[idx].retrans = true;
        self.retrans_out += 1;
        self.retransmit_seg(cx, idx);
    }

    /// Linux `tcp_simple_retransmit` after the path MTU dropped: sent segments longer
    /// than the new MSS are cut to it (`tcp_fragment`) and marked lost, then resent.
    pub(crate) fn simple_retransmit(&mut self, cx: &mut Cx<'_>) {
        let mss = self.mss as usize;
        let mut out = std::collections::VecDeque::with_capacity(self.rtx.len());
        for seg in std::mem::take(&mut self.rtx) {
            if seg.sacked || seg.syn || seg.data.len() <= mss {
                out.push_back(seg);
                continue;
            }
            let n = seg.data.len().div_ceil(mss);
            self.packets_out += n as u32 - 1;
            if seg.retrans {
                self.retrans_out = self.retrans_out.saturating_sub(1);
            }
            let newly_lost = if seg.lost { n - 1 } else { n } as u32;
            self.lost_out += newly_lost;
            self.lost_total += u64::from(newly_lost);
            for i in 0..n {
                let end = ((i + 1) * mss).min(seg.data.len());
                let last = i + 1 == n;
                let mut p = seg.clone();
                p.seq = seg.seq + i * mss;
                p.data = seg.data.slice(i * mss..end);
                p.fin = seg.fin && last;
                p.psh = seg.psh && last;
                p.lost = true;
                p.retrans = false;
                // `tcp_fragment`: every piece is an skb of its own.
                p.skb_head |= i > 0;
                out.push_back(p);
            }
        }
        self.rtx = out;
        self.recount_skbs();
        self.xmit_retransmits(cx);
    }

    /// Sends `rtx[idx]` again (Linux `__tcp_retransmit_skb`): Karn's mark, counters,
    /// and one more retransmission a DSACK must show spurious before an undo.
    pub(crate) fn retransmit_seg(&mut self, cx: &mut Cx<'_>, idx: usize) {
        let seg = &mut self.rtx[idx];
        seg.ever_retrans = true;
        seg.sent = cx.now;
        let len = seg.data.len() as u64;
        self.total_retrans += 1;
        self.bytes_retrans += len;
        // `__tcp_transmit_skb`: `bytes_sent` counts every data byte put on the wire.
        self.bytes_sent += len;
        cx.stats.mib.retrans_segs += 1;
        if self.retrans_stamp.is_none() {
            self.retrans_stamp = Some(cx.now);
        }
        if self.undo_marker.is_some() {
            self.undo_retrans = self.undo_retrans.max(0) + 1;
        }
        self.xmit_seg(cx, idx);
    }

    /// One new segment if the peer's window allows, Nagle aside (the probe of Linux
    /// `tcp_write_xmit(..., TCP_NAGLE_OFF, 2)`).
    pub(crate) fn write_xmit_one(&mut self, cx: &mut Cx<'_>) {
        let wnd_end = self.snd_una + self.snd_wnd as usize;
        if wnd_end <= self.snd_nxt {
            return;
        }
        let len = self.unsent.len().min(self.mss as usize).min(wnd_end.dist(self.snd_nxt));
        if len == 0 {
            return;
        }
        let fin = self.fin_queued && !self.fin_sent && len == self.unsent.len();
        self.push_segment(cx, len, fin, true);
    }

    /// Nagle (RFC 896 with Minshall's variant, Linux `tcp_nagle_test`): may a segment
    /// of `len` < MSS go now?
    fn nagle_allows(&self, len: usize, fin: bool) -> bool {
        if len >= self.mss as usize || fin {
            return true;
        }
        if self.cork {
            return false;
        }
        if self.nodelay {
            return true;
        }
        // Minshall: hold it only while an earlier small segment is unacknowledged.
        !(self.packets_out > 0 && self.snd_sml > self.snd_una && self.snd_sml <= self.snd_nxt)
    }

    /// Linux `tcp_write_xmit`: retransmissions first, then new data and the FIN.
    pub(crate) fn write_xmit(&mut self, cx: &mut Cx<'_>) {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return;
        }
        if !std::mem::take(&mut self.rexmit_new) {
            self.xmit_retransmits(cx);
        }
        let prior_packets = self.packets_out;
        if prior_packets == 0 && !self.unsent.is_empty() {
            self.cwnd_restart(cx);
        }
        let max_segs = self.tso_segs(cx);
        // Segments left in the GSO skb being sent; 0: the next segment starts one.
        let mut skb_left = 0u32;
        let mut skb_head = false;
        loop {
            let want_fin = self.fin_queued && !self.fin_sent;
            if self.unsent.is_empty() && !want_fin {
                break;
            }
            if self.in_flight() >= self.cwnd {
                break;
            }
            if skb_left == 0 {
                // Linux `tcp_pacing_check`: each skb waits for its departure time;
                // `tcp_cwnd_test` and `tcp_mss_split_point` size it: at most half of
                // cwnd and what cwnd still allows.
                if self.pacing_check(cx.now) {
                    break;
                }
                let quota = (self.cwnd >> 1).max(1).min(self.cwnd - self.in_flight());
                skb_left = quota.min(max_segs);
                skb_head = true;
            }
            let wnd_end = self.snd_una + self.snd_wnd as usize;
            let avail = wnd_end.dist(self.snd_nxt);
            let chunk = self.unsent.len().min(self.mss as usize);
            // Sender SWS avoidance (RFC 1122 §4.2.3.4; Linux `tcp_snd_wnd_test`): a
            // segment is not cut to fit the window; the persist timer probes one that
            // never fits.
            if chunk > avail {
                break;
            }
            let len = chunk;
            let fin = want_fin && len == self.unsent.len();
            if !self.nagle_allows(chunk, fin) {
                break;
            }
            self.push_segment(cx, len, fin, std::mem::take(&mut skb_head));
            skb_left -= 1;
            // Linux `tcp_event_new_data_sent`: while cwnd still has room.
            self.check_space(cx);
        }
        if prior_packets == 0 && self.packets_out > 0 {
            self.set_timer(Timer::Retransmit, cx.now + self.rtt.rto_backoff(self.backoff));
        }
        if self.packets_out > prior_packets {
            self.schedule_loss_probe(cx);
        }
        let cwnd_limited = self.in_flight() >= self.cwnd;
        if self.packets_out > prior_packets || cwnd_limited {
            self.cwnd_validate(cwnd_limited);
        }
        self.check_probe_timer(cx);
        self.check_space(cx);
    }

    /// Linux `tcp_cwnd_validate`: remember for the current window whether cwnd limited
    /// sending, else the most packets it had in flight.
    fn cwnd_validate(&mut self, cwnd_limited: bool) {
        let window_done = self.cwnd_usage_seq.is_none_or(|s| self.snd_una >= s);
        if window_done
            || cwnd_limited
            || (!self.is_cwnd_limited && self.packets_out > self.max_packets_out)
        {
            self.is_cwnd_limited = cwnd_limited;
            self.max_packets_out = self.packets_out;
            self.cwnd_usage_seq = Some(self.snd_nxt);
        }
    }

    /// Linux `tcp_is_cwnd_limited`: may congestion avoidance grow cwnd? Yes if cwnd
    /// limited sending in this window; in slow start, until cwnd is twice the most
    /// packets that were in flight.
    pub(crate) fn is_cwnd_limited(&self) -> bool {
        if self.is_cwnd_limited {
            return true;
        }
        self.cwnd < self.ssthresh && self.cwnd < 2 * self.max_packets_out
    }

    /// Moves `len` unsent bytes (and the FIN) to the retransmit queue and sends them.
    fn push_segment(&mut self, cx: &mut Cx<'_>, len: usize, fin: bool, skb_head: bool) {
        let data = self.unsent.take(len);
        let seg = TxSeg {
            fin,
            psh: self.unsent.is_empty(),
            skb_head,
            ..TxSeg::new(self.snd_nxt, data, cx.now)
        };
        self.snd_nxt = seg.end();
        if len < self.mss as usize {
            self.snd_sml = self.snd_nxt;
        }
        if fin {
            self.fin_sent = true;
        }
        self.bytes_sent += len as u64;
        self.rtx_bytes += len;
        self.rtx_skbs += usize::from(skb_head);
        if self.in_flight() == 0 {
            // Linux `tcp_event_data_sent`: sending resumes after idle.
            let v = self.cc_view();
            self.cc.cwnd_event_view(cx.now, &v, super::cong::CaEvent::TxStart);
            if let Some(c) = self.cc.take_control() {
                self.apply_control(c);
            }
        }
        self.lsndtime = cx.now;
        self.rtx.push_back(seg);
        self.packets_out += 1;
        self.xmit_seg(cx, self.rtx.len() - 1);
    }

    /// RFC 2861 / Linux `tcp_cwnd_restart`: after an idle RTO, halve cwnd per RTO
    /// down to the initial window (`tcp_slow_start_after_idle`).
    fn cwnd_restart(&mut self, cx: &mut Cx<'_>) {
        // Linux `tcp_slow_start_after_idle_check`: not for a `cong_control` algorithm.
        if !cx.net.sysctl.tcp.tcp_slow_start_after_idle
            || self.lsndtime == 0
            || self.cc.has_cong_control()
        {
            return;
        }
        let rto = self.rtt.rto;
        let mut idle = cx.now.saturating_sub(self.lsndtime);
        if idle <= rto {
            return;
        }
        let restart = super::sock::INIT_CWND.min(self.cwnd);
        self.ssthresh = self.ssthresh.max(self.cwnd / 4 * 3);
        while idle > rto && self.cwnd > restart {
            self.cwnd >>= 1;
            idle -= rto;
        }
        self.cwnd = self.cwnd.max(restart);
        self.cc.cwnd_event(cx.now, super::cong::CaEvent::CwndRestart);
    }

    /// Linux `tcp_check_probe_timer`: data waits, nothing in flight to clock it out.
    fn check_probe_timer(&mut self, cx: &mut Cx<'_>) {
        if self.packets_out == 0
            && !self.unsent.is_empty()
            && self.timer(Timer::Persist).is_none()
            && self.timer(Timer::Retransmit).is_none()
        {
            let base = self.rtt.rto.max(RTO_MIN);
            let t = base.checked_shl(self.backoff.min(31)).unwrap_or(RTO_MAX).min(RTO_MAX);
            self.set_timer(Timer::Persist, cx.now + t);
        }
    }

    /// Linux `tcp_write_wakeup`: send what the window allows regardless of Nagle and
    /// cwnd, else a probe with an old sequence number that forces an ACK.
    pub(crate) fn write_wakeup(&mut self, cx: &mut Cx<'_>) {
        if !self.state.is_synchronized() || self.state == State::SynRecv {
            return;
        }
        let wnd_end = self.snd_una + self.snd_wnd as usize;
        if !self.unsent.is_empty() && self.snd_nxt < wnd_end {
            let avail = wnd_end.dist(self.snd_nxt);
            let len = self.unsent.len().min(self.mss as usize).min(avail);
            let fin = self.fin_queued && !self.fin_sent && len == self.unsent.len();
            let prior = self.packets_out;
            self.push_segment(cx, len, fin, true);
            if prior == 0 {
                self.set_timer(Timer::Retransmit, cx.now + self.rtt.rto_backoff(self.backoff));
            }
        } else {
            self.send_segment(cx, self.snd_una - 1, Control::None, true, &[]);
        }
    }

    /// Effective MSS for sending (Linux `tcp_sync_mss`/`tcp_current_mss`).
    pub(crate) fn sync_mss(&mut self, cx: &Cx<'_>) {
        let peer_mss = self.peer_mss;
        let min = cx.net.sysctl.tcp.tcp_min_snd_mss.max(super::sock::MIN_MSS);
        let (hdr, max) = self.net_header();
        let mut mss = self.pmtu.min(max).saturating_sub(hdr + 20);
        mss = mss.min(u32::from(peer_mss.unwrap_or(super::sock::MSS_DEFAULT as u16)));
        if self.user_mss > 0 {
            mss = mss.min(self.user_mss);
        }
        mss = mss.max(min);
        if self.ts_ok {
            mss -= TS_OPT_LEN;
        }
        self.mss = mss;
    }

    /// Queues user data (Linux `tcp_sendmsg_locked`), returning what fit.
    pub(crate) fn queue_send(&mut self, data: &[u8]) -> SysResult<usize> {
        // Linux `tcp_sendmsg_locked`: is sending application-limited?
        self.rate_check_app_limited();
        let free = (self.sndbuf as usize).saturating_sub(self.wmem_queued());
        let n = data.len().min(free);
        if n < data.len() {
            self.nospace.set(true);
        }
        if n == 0 && !data.is_empty() {
            return Err(Errno::EAGAIN);
        }
        self.unsent.append(&data[..n]);
        Ok(n)
    }
}
