//! GSO bursts and the send buffer's true size, as Linux has them since TCP always
//! builds GSO skbs (4.19): `tcp_write_xmit` sends each skb of up to `tcp_tso_segs`
//! segments (about 1 ms of the pacing rate, `tcp_tso_autosize`) back to back, and the
//! send buffer is charged each skb's truesize — payload plus a fixed head — not the
//! payload alone (`sk_wmem_queued`). libos keeps one `TxSeg` per segment and marks the
//! first segment of each modelled skb (`skb_head`): a transmitted burst starts one,
//! SACK edges split one (`tcp_match_skb_to_sack` → `tcp_fragment`), a SACKed skb next
//! to a SACKed one merges into it (`tcp_shift_skb_data`), and a partly acknowledged
//! one lives on trimmed (`tcp_trim_head`). With small skbs (2 segments in an ACK-clocked
//! slow start) the head is a third of the buffer, so the writer runs out of buffer —
//! and the flow looks application-limited to the rate estimator — much earlier than a
//! payload count would say.

use super::Cx;
use super::sock::TcpSock;

/// `SKB_TRUESIZE` of the head `tcp_stream_alloc_skb` allocates (`MAX_TCP_HEADER` 256,
/// x86-64: 256 + `sk_buff` 256 + `skb_shared_info` 320), charged per skb.
pub const SKB_HEAD_TRUESIZE: usize = 832;
/// `sk_gso_max_size` after `sk_setup_caps`: the device's 65,536 less
/// `MAX_TCP_HEADER` + 1.
const GSO_MAX_SIZE: u64 = 65_536 - 257;
/// `sk_pacing_shift`: an skb carries about 1/1024 s of the pacing rate.
const PACING_SHIFT: u32 = 10;

impl TcpSock {
    /// Linux `tcp_tso_segs` / `tcp_tso_autosize`: segments per skb, ~1 ms of the pacing
    /// rate plus a bonus on tiny RTTs (`tcp_tso_rtt_log`), at least the congestion
    /// control's or `tcp_min_tso_segs`.
    pub(crate) fn tso_segs(&self, cx: &Cx<'_>) -> u32 {
        let t = &cx.net.sysctl.tcp;
        let min = self.cc.min_tso_segs(self.pacing_rate).unwrap_or(u32::from(t.tcp_min_tso_segs));
        let mut bytes = self.pacing_rate >> PACING_SHIFT;
        let min_rtt_us = self.rtt.min_rtt.map_or(u64::MAX, |r| r / 1000);
        let r = min_rtt_us.checked_shr(u32::from(t.tcp_tso_rtt_log)).unwrap_or(0);
        if r < 32 {
            bytes = bytes.saturating_add(GSO_MAX_SIZE >> r);
        }
        let segs = bytes.min(GSO_MAX_SIZE) / u64::from(self.mss.max(1));
        (segs as u32).max(min)
    }

    /// Linux `tcp_xmit_size_goal`: the size `tcp_sendmsg` fills each unsent skb to, the
    /// GSO maximum bounded to half the largest window the peer offered.
    fn size_goal(&self) -> usize {
        let mss = self.mss.max(1) as usize;
        let mut goal = GSO_MAX_SIZE as usize;
        let half = (self.max_window as usize) >> 1;
        if half > 0 && goal > half {
            goal = half;
        }
        (goal / mss * mss).max(mss)
    }

    /// Bytes charged to the send buffer (Linux `sk_wmem_queued`): payload of unsent and
    /// unacknowledged data plus the head of every skb holding it.
    pub fn wmem_queued(&self) -> usize {
        let unsent_skbs = self.unsent.len().div_ceil(self.size_goal());
        self.unsent.len() + self.rtx_bytes + SKB_HEAD_TRUESIZE * (unsent_skbs + self.rtx_skbs)
    }

    /// Marks `rtx[idx]` as the first segment of a modelled skb (or not), keeping count.
    fn set_skb_head(&mut self, idx: usize, head: bool) {
        let s = &mut self.rtx[idx];
        if s.skb_head != head {
            s.skb_head = head;
            if head {
                self.rtx_skbs += 1;
            } else {
                self.rtx_skbs -= 1;
            }
        }
    }

    /// `rtx[idx]` was just SACKed: the skb holding it splits at the block's edges
    /// (`tcp_fragment`), then SACKed neighbours merge (`tcp_shift_skb_data`).
    pub(crate) fn reshape_skbs_on_sack(&mut self, idx: usize) {
        let prev_sacked = idx > 0 && self.rtx[idx - 1].sacked;
        self.set_skb_head(idx, !prev_sacked);
        if let Some(next) = self.rtx.get(idx + 1) {
            self.set_skb_head(idx + 1, !next.sacked);
        }
    }

    /// The queue's front lost its first segments to a cumulative ACK: what is left of
    /// that skb is still one skb (`tcp_trim_head`).
    pub(crate) fn front_stays_an_skb(&mut self) {
        if !self.rtx.is_empty() {
            self.set_skb_head(0, true);
        }
    }

    /// Recounts the heads after the queue was rebuilt.
    pub(crate) fn recount_skbs(&mut self) {
        self.rtx_skbs = self.rtx.iter().filter(|s| s.skb_head).count();
    }
}
