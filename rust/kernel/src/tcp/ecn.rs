//! Explicit Congestion Notification for TCP (RFC 3168 §6.1; Linux `tcp_ecn_*`): set up
//! in the handshake (`tcp_ecn` = 1 asks, 2 only accepts), ECT(0) on new data, CE seen by
//! the receiver echoed with ECE until the sender answers with CWR, and the sender's
//! answer to ECE: one cwnd reduction per window (the CWR state, Linux `tcp_enter_cwr`).

use super::Cx;
use super::cong::CaState;
use super::sock::TcpSock;
use crate::wire::tcp::TcpRepr;

/// IP ECN codepoints (RFC 3168 §5).
const ECN_NOT_ECT: u8 = 0;
const ECN_CE: u8 = 3;

impl TcpSock {
    /// ECE, CWR and ECT(0) of the segment being sent (`tcp_ecn_send_syn`,
    /// `tcp_ecn_make_synack`, `tcp_ecn_send`): retransmissions and pure ACKs are not ECT.
    pub(crate) fn ecn_bits(&mut self, cx: &Cx<'_>, syn: bool, ack: bool) -> (bool, bool, bool) {
        let ect = std::mem::take(&mut self.ect_next);
        if syn && !ack {
            self.ecn_syn_sent = cx.net.sysctl.tcp.tcp_ecn == 1;
            return (self.ecn_syn_sent, self.ecn_syn_sent, false);
        }
        if syn {
            return (self.ecn_ok, false, false);
        }
        if !self.ecn_ok {
            return (false, false, false);
        }
        let cwr = ect && std::mem::take(&mut self.ecn_queue_cwr);
        (self.ecn_demand_cwr, cwr, ect)
    }

    /// The peer's SYN (`tcp_ecn_create_request`: ECE and CWR set, not ECT-marked, ECN
    /// enabled) or SYN-ACK (`tcp_ecn_rcv_synack`: ECE without CWR answers our request).
    pub(crate) fn ecn_syn(&mut self, cx: &Cx<'_>, seg: &TcpRepr<'_>) {
        self.ecn_ok = if seg.ack_number.is_none() {
            seg.ece && seg.cwr && self.rx_ecn == ECN_NOT_ECT && cx.net.sysctl.tcp.tcp_ecn != 0
        } else {
            self.ecn_syn_sent && seg.ece && !seg.cwr
        };
    }

    /// A data segment arrived (`tcp_ecn_accept_cwr`, `tcp_ecn_check_ce`): CWR ends the
    /// echo; CE starts it, with quick ACKs since the sender's cwnd may be tiny.
    pub(crate) fn ecn_rcv(&mut self, seg: &TcpRepr<'_>) {
        if !self.ecn_ok {
            return;
        }
        if seg.cwr {
            self.ecn_demand_cwr = false;
        }
        if self.rx_ecn == ECN_CE && !seg.payload.is_empty() && !self.ecn_demand_cwr {
            self.ecn_demand_cwr = true;
            self.quickack = self.quickack.max(2);
        }
    }

    /// Is this ACK an ECN echo (`tcp_ecn_rcv_ecn_echo`)?
    pub(crate) fn ecn_echo(&self, seg: &TcpRepr<'_>) -> bool {
        self.ecn_ok && seg.ece && seg.control != crate::wire::tcp::Control::Syn
    }

    /// `tcp_enter_cwr`: one reduction, cwnd then follows PRR down to ssthresh until
    /// everything sent so far is acknowledged; CWR goes on the next new data.
    pub(crate) fn enter_cwr(&mut self, cx: &mut Cx<'_>) {
        if !matches!(self.ca_state, CaState::Open | CaState::Disorder) {
            return;
        }
        self.prior_ssthresh = 0;
        self.undo_marker = None;
        self.init_cwnd_reduction(cx.now);
        self.set_ca_state(cx.now, CaState::Cwr);
    }

    /// `tcp_ecn_queue_cwr`: the next new data segment carries CWR.
    pub(crate) fn queue_ecn_cwr(&mut self) {
        self.ecn_queue_cwr |= self.ecn_ok;
    }
}
