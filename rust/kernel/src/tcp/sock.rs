//! The per-connection state (Linux `struct tcp_sock` and the parts of `inet_connection_sock`
//! and `struct sock` TCP uses): RFC 9293 §3.3.1 send/receive sequence variables, the
//! write queue and retransmit queue, the receive and out-of-order queues, timers.

use super::cong::{CaState, CcView, CongestionOps};
use super::listen::Listen;
use super::ofo::OfoQueue;
use super::rtt::{MS, RttEstimator};
use super::seq::SeqNumber;
use super::timer::{TIMER_COUNT, Timer};
use crate::Nanos;
use crate::socket::inet::InetOpts;
use crate::socket::options::SockCommon;
use crate::{Errno, net::Net};
use bytes::Bytes;
use std::cell::Cell;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// RFC 9293 §3.3.2 states, numbered as Linux `TCP_ESTABLISHED`... for `tcpi_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Closed = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
}

impl State {
    /// States that count in `CurrEstab` (Linux: ESTABLISHED and CLOSE_WAIT).
    pub fn is_curr_estab(self) -> bool {
        matches!(self, State::Established | State::CloseWait)
    }

    /// Synchronized states (RFC 9293 §3.5.2 group 3), plus SYN-RECEIVED.
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }
}

/// `sk_shutdown` bits.
pub use crate::socket::{RCV_SHUTDOWN, SEND_SHUTDOWN};

/// Linux TCP_TIMEWAIT_LEN: 60 s.
pub const TIMEWAIT_LEN: Nanos = 60_000 * MS;
/// RFC 6928 / Linux TCP_INIT_CWND.
pub const INIT_CWND: u32 = 10;
/// Linux TCP_MSS_DEFAULT (RFC 9293 §3.7.1 default send MSS) and TCP_MIN_MSS.
pub const MSS_DEFAULT: u32 = 536;
pub const MIN_MSS: u32 = 88;
/// Linux TCP_ATO_MIN and TCP_DELACK_MAX.
pub const ATO_MIN: Nanos = 40 * MS;
pub const DELACK_MAX: Nanos = 200 * MS;
/// Linux TCP_MAX_QUICKACKS.
pub const MAX_QUICKACKS: u32 = 16;
/// TCP_TIMESTAMP option bytes carried on every segment when negotiated.
pub const TS_OPT_LEN: u32 = 12;

/// One sent, not yet acknowledged segment (Linux: an skb on the rtx queue) with its
/// scoreboard bits (Linux `TCPCB_SACKED_ACKED`, `TCPCB_LOST`, `TCPCB_SACKED_RETRANS`).
#[derive(Debug, Clone)]
pub struct TxSeg {
    pub seq: SeqNumber,
    pub data: Bytes,
    pub syn: bool,
    pub fin: bool,
    /// Ends a write (PSH, Linux `tcp_mark_push`).
    pub psh: bool,
    /// Last (re)transmission time.
    pub sent: Nanos,
    /// Ever retransmitted (Karn's rule: no RTT sample).
    pub ever_retrans: bool,
    /// Marked lost (TCPCB_LOST).
    pub lost: bool,
    /// A retransmitted copy is in flight (TCPCB_SACKED_RETRANS).
    pub retrans: bool,
    /// Covered by a SACK block (TCPCB_SACKED_ACKED).
    pub sacked: bool,
    /// First segment of a modelled Linux skb (`tso.rs`): the send buffer is charged
    /// one skb head for it.
    pub skb_head: bool,
    /// Transmission number of the last (re)transmission (RACK's "sent after").
    pub tx_order: u64,
    /// Delivery-rate stamps taken when it left (`rate.rs`): delivered count and its
    /// time (None once delivered), the flight's first send, application-limited.
    pub delivered: u64,
    pub delivered_ts: Option<Nanos>,
    pub first_tx_ts: Nanos,
    pub app_limited: bool,
}

impl TxSeg {
    /// A segment leaving for the first time at `sent`, the first of its skb.
    pub fn new(seq: SeqNumber, data: Bytes, sent: Nanos) -> TxSeg {
        TxSeg {
            seq,
            data,
            syn: false,
            fin: false,
            psh: false,
            sent,
            ever_retrans: false,
            lost: false,
            retrans: false,
            sacked: false,
            skb_head: true,
            tx_order: 0,
            delivered: 0,
            delivered_ts: None,
            first_tx_ts: 0,
            app_limited: false,
        }
    }

    /// Sequence space taken (data, SYN, FIN).
    pub fn seq_len(&self) -> usize {
        self.data.len() + usize::from(self.syn) + usize::from(self.fin)
    }

    pub fn end(&self) -> SeqNumber {
        self.seq + self.seq_len()
    }
}

pub struct TcpSock {
    pub id: u32,
    pub state: State,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Holds a port in the bind table.
    pub bound: bool,
    /// The user bound the address explicitly (kept across a failed connect).
    pub user_bound: bool,
    pub common: SockCommon,
    pub inet: InetOpts,
    pub inet6: crate::socket::inet6::Inet6Opts,
    /// `sk_shutdown`.
    pub shutdown: u8,
    /// `SOCK_DONE`: the peer closed or the connection ended.
    pub done: bool,
    /// No fd refers to it (closed by the user, or an unaccepted child).
    pub orphan: bool,
    /// The user closed it (an unaccepted child is an orphan but not closed).
    pub user_closed: bool,
    /// `SS_CONNECTING` at the socket layer: connect() started and not yet reported.
    pub connecting: bool,
    /// `SS_CONNECTED`: accepted, or connect() reported success.
    pub connected: bool,
    /// `sk_err_soft`.
    pub err_soft: Option<Errno>,
    pub listen: Option<Listen>,
    /// The listener of an unaccepted child.
    pub parent: Option<u32>,
    /// Child still counted in the parent's SYN queue.
    pub in_syn_queue: bool,
    /// Child created on the SYN-cookie path: its SYN-ACK is never retransmitted.
    pub cookie: bool,

    // --- sender (RFC 9293 SND.*) ---
    pub iss: SeqNumber,
    pub snd_una: SeqNumber,
    pub snd_nxt: SeqNumber,
    /// Send window in bytes (already scaled).
    pub snd_wnd: u32,
    pub snd_wl1: SeqNumber,
    pub snd_wl2: SeqNumber,
    pub max_window: u32,
    pub snd_wscale: u8,
    /// End of the last sub-MSS segment sent (Minshall's Nagle).
    pub snd_sml: SeqNumber,
    /// PSH for the segment being built (set from its `TxSeg`).
    pub psh_next: bool,
    /// ECN (RFC 3168; Linux `ecn_flags`): negotiated; our SYN asked for it; the peer
    /// must see CWR (we echo ECE, TCP_ECN_DEMAND_CWR); our next new data carries CWR
    /// (TCP_ECN_QUEUE_CWR); the segment being built is new data (ECT(0)); the segment
    /// being processed carried these ECN bits in its IP header.
    pub ecn_ok: bool,
    pub ecn_syn_sent: bool,
    pub ecn_demand_cwr: bool,
    pub ecn_queue_cwr: bool,
    pub ect_next: bool,
    pub rx_ecn: u8,
    /// Bytes written by the user, not yet sent.
    pub unsent: super::sendq::SendQueue,
    pub rtx: VecDeque<TxSeg>,
    /// Payload bytes held in `rtx`.
    pub rtx_bytes: usize,
    /// Modelled skbs in `rtx` (segments with `skb_head`).
    pub rtx_skbs: usize,
    /// Last time new data was sent (Linux `lsndtime`, for the idle restart).
    pub lsndtime: Nanos,
    /// Receive-buffer autotuning (Linux `rcvq_space`): bytes copied to the user since
    /// `rcvq_time`, and the window space measured last.
    pub rcvq_copied: usize,
    pub rcvq_time: Nanos,
    pub rcvq_space: usize,
    /// Receiver RTT estimate in µs << 3 (Linux `rcv_rtt_est.rtt_us`) and the TSecr it
    /// last used (`rcv_rtt_last_tsecr`).
    pub rcv_rtt_us8: u32,
    pub rcv_rtt_last_tsecr: u32,
    /// Shutdown(WR)/close asked for a FIN; `fin_sent` once it went out.
    pub fin_queued: bool,
    pub fin_sent: bool,
    /// Effective send MSS (payload bytes per segment, options excluded).
    pub mss: u32,
    /// MSS we advertise (route MTU - 40).
    pub advmss: u32,
    pub pmtu: u32,
    /// The MSS option of the peer's SYN.
    pub peer_mss: Option<u16>,
    /// TCP_MAXSEG clamp (0 = none).
    pub user_mss: u32,
    pub sndbuf: u32,
    /// Linux `SOCK_NOSPACE`: a writer found the send buffer full (poll or send), so
    /// the ACKs that free space may grow it (`tcp_check_space`). A `Cell` because
    /// poll, which sets it as Linux `tcp_poll` does, takes the socket shared.
    pub nospace: Cell<bool>,

    // --- congestion control (segments) ---
    pub cwnd: u32,
    pub cwnd_cnt: u32,
    /// Linux `tcp_cwnd_validate` state: whether cwnd limited sending in the current
    /// window (which ends when `cwnd_usage_seq` is acknowledged; None: no window yet),
    /// and the most packets in flight in it while it was not.
    pub is_cwnd_limited: bool,
    pub max_packets_out: u32,
    pub cwnd_usage_seq: Option<SeqNumber>,
    pub ssthresh: u32,
    pub prior_cwnd: u32,
    pub prior_ssthresh: u32,
    pub cwnd_clamp: u32,
    pub ca_state: CaState,
    /// NewReno `recover` (RFC 6582) / Linux `high_seq`.
    pub high_seq: SeqNumber,
    pub packets_out: u32,
    /// SACKed segments, or without SACK the duplicate ACKs counted as such (Linux
    /// `tcp_add_reno_sack`).
    pub sacked_out: u32,
    pub lost_out: u32,
    pub retrans_out: u32,
    pub cc: Box<dyn CongestionOps>,
    /// Start of the highest SACKed segment (Linux `tp->highest_sack`); meaningful
    /// while `sacked_out` > 0 (`highest_sack_seq`).
    pub highest_sack: Option<SeqNumber>,
    /// Segments the network may reorder before one counts as lost (`tp->reordering`).
    pub reordering: u32,
    /// Reordering events seen (Linux `reord_seen`).
    pub reord_seen: u32,
    pub rack: super::sack::Rack,
    pub rate: super::rate::RateState,
    /// Segments ever marked lost (Linux `tp->lost`).
    pub lost_total: u64,
    /// Pacing (`pacing.rs`): `sk_pacing_rate` and `sk_max_pacing_rate` in bytes per
    /// second, `sk_pacing_status == SK_PACING_NEEDED`, the earliest departure time of
    /// the next segment (`tcp_wstamp_ns`).
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub pacing_needed: bool,
    pub wstamp: Nanos,
    /// Segments (re)transmitted so far, numbering `TxSeg::tx_order`.
    pub tx_count: u64,
    /// A tail loss probe is out, up to this sequence (Linux `tlp_high_seq`); it was a
    /// retransmission (`tlp_retrans`).
    pub tlp_high_seq: Option<SeqNumber>,
    pub tlp_retrans: bool,
    /// Undo state (Linux `undo_marker`, `undo_retrans`): SND.UNA when the reduction
    /// began, and retransmissions not yet shown spurious by a DSACK.
    pub undo_marker: Option<SeqNumber>,
    pub undo_retrans: i32,
    /// F-RTO (RFC 5682) is judging the last RTO (Linux `tp->frto`); on the next send
    /// new data goes instead of retransmissions (Linux `REXMIT_NEW`).
    pub frto: bool,
    pub rexmit_new: bool,
    /// The ACK being processed acknowledged or SACKed never-retransmitted data
    /// (Linux `FLAG_ORIG_SACK_ACKED`).
    pub orig_delivered: bool,
    /// TSecr of the ACK being processed (0: none).
    pub last_tsecr: u32,
    /// RFC 6937 PRR: delivered and sent since recovery began.
    pub prr_delivered: u32,
    pub prr_out: u32,
    pub rtt: RttEstimator,
    pub backoff: u32,
    pub retransmits: u32,
    /// First retransmission of the current episode (Linux `retrans_stamp`).
    pub retrans_stamp: Option<Nanos>,
    /// Zero-window or keepalive probes without answer.
    pub probes_out: u32,
    pub nodelay: bool,
    pub cork: bool,

    // --- receiver (RFC 9293 RCV.*) ---
    pub irs: SeqNumber,
    pub rcv_nxt: SeqNumber,
    /// Window last advertised, and RCV.NXT when it was (Linux `rcv_wnd`, `rcv_wup`).
    pub rcv_wnd: u32,
    pub rcv_wup: SeqNumber,
    pub rcv_wscale: u8,
    /// Receive-window slow start (Linux `rcv_ssthresh`, grown by `tcp_grow_window`).
    pub rcv_ssthresh: u32,
    pub window_clamp: u32,
    pub rcvbuf: u32,
    pub rcvq: VecDeque<u8>,
    pub ooo: OfoQueue,
    /// Stream offset of the latest out-of-order arrival (its SACK block goes first).
    pub ooo_recent: u64,
    /// A duplicate segment to report in the next ACK (RFC 2883, Linux `tcp_dsack_set`).
    pub dsack: Option<(SeqNumber, SeqNumber)>,
    /// Bytes RCV.NXT advanced since the connection began (out-of-order queue keys).
    pub rcv_off: u64,
    /// An ACK is owed (Linux `ICSK_ACK_SCHED`).
    pub ack_pending: bool,
    pub quickack: u32,
    /// SACK compression (Linux `compressed_ack`, `compressed_ack_rcv_nxt`,
    /// `dup_ack_counter`): out-of-order ACKs held back, the RCV.NXT they count for, and
    /// the immediate duplicate ACKs sent at that RCV.NXT.
    pub compressed_ack: u32,
    pub compressed_ack_rcv_nxt: SeqNumber,
    pub dup_ack_counter: u8,
    pub ato: Nanos,
    /// Last data arrival (Linux `icsk_ack.lrcvtime`).
    pub lrcvtime: Nanos,
    /// Estimated peer MSS (Linux `icsk_ack.rcv_mss`).
    pub rcv_mss: u32,

    // --- options ---
    pub ts_ok: bool,
    pub ts_offset: u32,
    pub ts_recent: u32,
    pub sack_ok: bool,
    pub wscale_ok: bool,

    // --- keepalive and user knobs ---
    pub keepidle: Option<u32>,
    pub keepintvl: Option<u32>,
    pub keepcnt: Option<u32>,
    pub syn_retries: Option<u8>,
    /// TCP_LINGER2: None = tcp_fin_timeout, Some(<0) = no FIN_WAIT2 state.
    pub linger2: Option<i32>,
    pub user_timeout_ms: u32,
    pub notsent_lowat: u32,

    /// The output route, looked up again only when the FIB changes (`sk_dst_cache`).
    pub sk_dst: crate::ipv4::SkDst,

    pub timers: [Option<Nanos>; TIMER_COUNT],
    /// Bit `t` set: timer `t` was armed since the table last mirrored this socket's
    /// timers (only an earlier deadline needs a new entry there; see `timer.rs`).
    pub timers_armed: u16,

    // --- statistics (TCP_INFO) ---
    pub total_retrans: u32,
    /// Segments reported duplicate by DSACKs (Linux `tp->dsack_dups`).
    pub dsack_dups: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub data_segs_out: u32,
    pub data_segs_in: u32,
    pub last_data_sent: Nanos,
    pub last_data_recv: Nanos,
    pub last_ack_recv: Nanos,
    /// Last receipt of anything (keepalive idle, Linux `rcv_tstamp`).
    pub rcv_tstamp: Nanos,
    /// The latest `now` any entry point showed this socket (TCP_INFO ages).
    pub seen: Nanos,
}

pub const UNSPEC: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
/// The unbound address of an AF_INET6 socket.
pub const UNSPEC6: SocketAddr =
    SocketAddr::V6(std::net::SocketAddrV6::new(std::net::Ipv6Addr::UNSPECIFIED, 0, 0, 0));

impl TcpSock {
    /// Network header bytes before TCP's: 20 over IPv4, 40 over IPv6 (so MSS = MTU -
    /// 60, Linux `tcp_v6_connect` `icsk_af_ops->net_header_len`), and the largest MTU
    /// an MSS can be drawn from (IPv4 packets are at most 65535 bytes; IPv6 payloads).
    pub fn net_header(&self) -> (u32, u32) {
        if self.remote.is_ipv6() { (40, 65_535 + 40) } else { (20, 65_535) }
    }

    /// A kernel-form address as the user of this socket sees it.
    pub fn user_addr(&self, a: SocketAddr) -> SocketAddr {
        crate::socket::inet6::to_user(self.inet6.v6, a, self.common.bound_dev)
    }
}

impl TcpSock {
    pub fn new(net: &Net, id: u32, cc: Box<dyn CongestionOps>) -> TcpSock {
        let t = &net.sysctl.tcp;
        TcpSock {
            id,
            state: State::Closed,
            local: UNSPEC,
            remote: UNSPEC,
            bound: false,
            user_bound: false,
            common: SockCommon::default(),
            inet: InetOpts::new(net),
            inet6: crate::socket::inet6::Inet6Opts::new(net, false),
            shutdown: 0,
            done: false,
            orphan: false,
            user_closed: false,
            connecting: false,
            connected: false,
            err_soft: None,
            listen: None,
            parent: None,
            in_syn_queue: false,
            cookie: false,
            iss: SeqNumber(0),
            snd_una: SeqNumber(0),
            snd_nxt: SeqNumber(0),
            snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            max_window: 0,
            snd_wscale: 0,
            snd_sml: SeqNumber(0),
            psh_next: false,
            ecn_ok: false,
            ecn_syn_sent: false,
            ecn_demand_cwr: false,
            ecn_queue_cwr: false,
            ect_next: false,
            rx_ecn: 0,
            unsent: Default::default(),
            rtx: VecDeque::new(),
            rtx_bytes: 0,
            rtx_skbs: 0,
            lsndtime: 0,
            rcvq_copied: 0,
            rcvq_time: 0,
            rcvq_space: 0,
            rcv_rtt_us8: 0,
            rcv_rtt_last_tsecr: 0,
            fin_queued: false,
            fin_sent: false,
            mss: MSS_DEFAULT,
            advmss: MSS_DEFAULT,
            pmtu: 576,
            peer_mss: None,
            user_mss: 0,
            sndbuf: t.tcp_wmem[1],
            nospace: Cell::new(false),
            cwnd: INIT_CWND,
            cwnd_cnt: 0,
            is_cwnd_limited: false,
            max_packets_out: 0,
            cwnd_usage_seq: None,
            ssthresh: u32::MAX >> 1,
            prior_cwnd: 0,
            prior_ssthresh: 0,
            cwnd_clamp: u32::MAX >> 1,
            ca_state: CaState::Open,
            high_seq: SeqNumber(0),
            packets_out: 0,
            sacked_out: 0,
            lost_out: 0,
            retrans_out: 0,
            cc,
            highest_sack: None,
            reordering: u32::from(t.tcp_reordering),
            reord_seen: 0,
            rack: Default::default(),
            rate: Default::default(),
            lost_total: 0,
            pacing_rate: super::pacing::RATE_UNLIMITED,
            max_pacing_rate: super::pacing::RATE_UNLIMITED,
            pacing_needed: false,
            wstamp: 0,
            tx_count: 0,
            tlp_high_seq: None,
            tlp_retrans: false,
            undo_marker: None,
            undo_retrans: 0,
            frto: false,
            rexmit_new: false,
            orig_delivered: false,
            last_tsecr: 0,
            prr_delivered: 0,
            prr_out: 0,
            rtt: RttEstimator::default(),
            backoff: 0,
            retransmits: 0,
            retrans_stamp: None,
            probes_out: 0,
            nodelay: false,
            cork: false,
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_wnd: 0,
            rcv_wup: SeqNumber(0),
            rcv_wscale: 0,
            rcv_ssthresh: 0,
            window_clamp: 0,
            rcvbuf: t.tcp_rmem[1],
            rcvq: VecDeque::new(),
            ooo: OfoQueue::default(),
            ooo_recent: 0,
            dsack: None,
            rcv_off: 0,
            ack_pending: false,
            quickack: 0,
            compressed_ack: 0,
            compressed_ack_rcv_nxt: SeqNumber(0),
            dup_ack_counter: 0,
            ato: ATO_MIN,
            lrcvtime: 0,
            rcv_mss: MSS_DEFAULT,
            ts_ok: false,
            ts_offset: 0,
            ts_recent: 0,
            sack_ok: false,
            wscale_ok: false,
            keepidle: None,
            keepintvl: None,
            keepcnt: None,
            syn_retries: None,
            linger2: None,
            user_timeout_ms: 0,
            notsent_lowat: 0,
            sk_dst: Default::default(),
            timers: [None; TIMER_COUNT],
            timers_armed: 0,
            total_retrans: 0,
            dsack_dups: 0,
            bytes_acked: 0,
            bytes_received: 0,
            bytes_sent: 0,
            bytes_retrans: 0,
            segs_out: 0,
            segs_in: 0,
            data_segs_out: 0,
            data_segs_in: 0,
            last_data_sent: 0,
            last_data_recv: 0,
            last_ack_recv: 0,
            rcv_tstamp: 0,
            seen: 0,
        }
    }

    pub fn set_timer(&mut self, t: Timer, at: Nanos) {
        self.timers[t as usize] = Some(at);
        self.timers_armed |= 1 << t as u16;
    }

    pub fn clear_timer(&mut self, t: Timer) {
        self.timers[t as usize] = None;
    }

    pub fn timer(&self, t: Timer) -> Option<Nanos> {
        self.timers[t as usize]
    }

    /// Linux `tcp_packets_in_flight`: packets_out - (sacked_out + lost_out) + retrans_out.
    pub fn in_flight(&self) -> u32 {
        (self.packets_out.saturating_sub(self.sacked_out + self.lost_out)) + self.retrans_out
    }

    /// Bytes sent and not acknowledged (SIOCOUTQ counts unsent too, as Linux).
    pub fn outq(&self) -> usize {
        self.snd_nxt.dist(self.snd_una) + self.unsent.len()
    }

    /// Receive space the window is drawn from (Linux `tcp_win_from_space` with the
    /// default 50% scaling ratio).
    pub fn rcv_space(&self) -> usize {
        (self.rcvbuf / 2) as usize
    }

    pub fn rcv_free(&self) -> usize {
        self.rcv_space().saturating_sub(self.rcvq.len() + self.ooo.bytes())
    }

    /// Linux `tcp_receive_window`: what is left of the last advertised window.
    pub fn rcv_window_now(&self) -> u32 {
        let right = self.rcv_wup + self.rcv_wnd as usize;
        right.dist(self.rcv_nxt) as u32
    }

    /// Linux `sk_stream_is_writeable`: free space at least half of what is queued.
    pub fn is_writeable(&self) -> bool {
        let queued = self.wmem_queued();
        let free = (self.sndbuf as usize).saturating_sub(queued);
        let lowat_ok = self.notsent_lowat == 0 || self.unsent.len() < self.notsent_lowat as usize;
        free >= queued / 2 && free > 0 && lowat_ok
    }

    pub fn cc_view(&self) -> CcView {
        CcView {
            cwnd: self.cwnd,
            cwnd_cnt: self.cwnd_cnt,
            ssthresh: self.ssthresh,
            cwnd_clamp: self.cwnd_clamp,
            prior_cwnd: self.prior_cwnd,
            in_flight: self.in_flight(),
            mss: self.mss,
            srtt_us: self.rtt.srtt_us(),
            min_rtt_us: self.rtt.min_rtt.map_or(0, |r| (r / 1000) as u32),
            ca_state: self.ca_state,
            cwnd_limited: true,
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
            packets_out: self.packets_out,
            lsndtime: self.lsndtime,
            delivered: self.rate.delivered,
            delivered_ts: self.rate.delivered_ts,
            app_limited: self.rate.app_limited,
            lost: self.lost_total,
            pacing_rate: self.pacing_rate,
            max_pacing_rate: self.max_pacing_rate,
            wstamp: self.wstamp,
            rand: 0,
        }
    }

    /// TSval for a segment sent at `now`: ms clock plus the per-connection offset.
    pub fn tsval(&self, now: Nanos) -> u32 {
        ((now / MS) as u32).wrapping_add(self.ts_offset)
    }

    /// Keepalive knobs with the sysctl defaults (seconds).
    pub fn keepalive_params(&self, net: &Net) -> (u64, u64, u32) {
        let t = &net.sysctl.tcp;
        (
            u64::from(self.keepidle.unwrap_or(t.tcp_keepalive_time)),
            u64::from(self.keepintvl.unwrap_or(t.tcp_keepalive_intvl)),
            self.keepcnt.unwrap_or(t.tcp_keepalive_probes),
        )
    }

    /// Takes the pending error (Linux `sock_error`).
    pub fn take_error(&mut self) -> Option<Errno> {
        self.common.error.take()
    }
}
