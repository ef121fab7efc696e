//! Tail loss probes (RFC 8985 §7; Linux `tcp_schedule_loss_probe`,
//! `tcp_send_loss_probe`, `tcp_process_tlp_ack`, on with `tcp_early_retrans` = 3): when
//! the last segments of a flight are lost no duplicate ACKs come back, so two SRTTs
//! after the last transmission one segment is sent — new data if any, else the last
//! segment again — to draw the SACKs that start fast recovery instead of an RTO.

use super::Cx;
use super::cong::CaState;
use super::rtt::{MS, RTO_INIT, RTO_MIN};
use super::seq::SeqNumber;
use super::sock::TcpSock;
use super::timer::Timer;

/// Linux `TCP_TIMEOUT_MIN` (2 jiffies at HZ=1000).
const TIMEOUT_MIN: u64 = 2 * MS;

impl TcpSock {
    /// Arms the probe timeout (PTO) after new data went out or an ACK re-armed the RTO;
    /// false if TLP does not apply or the RTO would come first.
    pub(crate) fn schedule_loss_probe(&mut self, cx: &Cx<'_>) -> bool {
        let er = cx.net.sysctl.tcp.tcp_early_retrans;
        let applies = (er == 3 || er == 4)
            && self.packets_out > 0
            && self.sack_ok
            && matches!(self.ca_state, CaState::Open | CaState::Cwr);
        let Some(rto_at) = self.timer(Timer::Retransmit).filter(|_| applies) else {
            self.clear_timer(Timer::LossProbe);
            return false;
        };
        // RFC 8985 §7.2: PTO = 2·SRTT, plus room for a delayed ACK when one segment is
        // out (Linux adds TCP_RTO_MIN then, TCP_TIMEOUT_MIN otherwise).
        let pto = match self.rtt.srtt {
            Some(srtt) => 2 * srtt + if self.packets_out == 1 { RTO_MIN } else { TIMEOUT_MIN },
            None => RTO_INIT,
        };
        if cx.now + pto >= rto_at {
            self.clear_timer(Timer::LossProbe);
            return false;
        }
        self.set_timer(Timer::LossProbe, cx.now + pto);
        true
    }

    /// The PTO fired (Linux `tcp_send_loss_probe`): one probe per tail-loss episode.
    pub(crate) fn send_loss_probe(&mut self, cx: &mut Cx<'_>) {
        if self.tlp_high_seq.is_some()
            || self.packets_out == 0
            || !matches!(self.ca_state, CaState::Open | CaState::Cwr)
        {
            return;
        }
        let before = self.packets_out;
        if !self.unsent.is_empty() {
            self.write_xmit_one(cx);
        }
        if self.packets_out > before {
            self.tlp_retrans = false;
        } else {
            let Some(idx) = self.rtx.len().checked_sub(1) else { return };
            self.retransmit_seg(cx, idx);
            self.tlp_retrans = true;
        }
        cx.stats.mib.loss_probes += 1;
        self.tlp_high_seq = Some(self.snd_nxt);
        // Linux `tcp_rearm_rto`: the RTO restarts from the probe.
        self.set_timer(Timer::Retransmit, cx.now + self.rtt.rto_backoff(self.backoff));
    }

    /// Linux `tcp_process_tlp_ack`: did the probe repair a loss? If the ACK moves past
    /// the probe without a DSACK for it, one segment was lost and cwnd is reduced once
    /// (the CWR state, entered and left at once).
    pub(crate) fn process_tlp_ack(
        &mut self,
        cx: &mut Cx<'_>,
        ack: SeqNumber,
        dsack: bool,
        is_dup: bool,
    ) {
        let Some(high) = self.tlp_high_seq else { return };
        if ack < high {
            return;
        }
        if !self.tlp_retrans || dsack {
            // New data probed, or the original and the probe both arrived.
            self.tlp_high_seq = None;
        } else if ack > high {
            // One reduction, entered and completed at once.
            self.init_cwnd_reduction(cx.now);
            self.set_ca_state(cx.now, CaState::Cwr);
            self.end_cwnd_reduction();
            self.try_keep_open(cx.now);
            cx.stats.mib.loss_probe_recovery += 1;
        } else if is_dup {
            self.tlp_high_seq = None;
        }
    }
}
