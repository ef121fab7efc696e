//! `TCP_INFO`: the typed view of Linux `struct tcp_info` (`include/uapi/linux/tcp.h`).
//! Times are in microseconds and sizes in bytes or segments, as Linux reports them.

use super::sock::{State, TcpSock};
use crate::Nanos;

/// `tcpi_options` bits.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
pub const TCPI_OPT_SACK: u8 = 2;
pub const TCPI_OPT_WSCALE: u8 = 4;

/// A snapshot of one connection, field for field as Linux's `struct tcp_info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub state: u8,
    pub ca_state: u8,
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub options: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub rto: u32,
    pub ato: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub last_data_sent: u32,
    pub last_data_recv: u32,
    pub last_ack_recv: u32,
    pub pmtu: u32,
    pub rcv_ssthresh: u32,
    pub rtt: u32,
    pub rttvar: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub advmss: u32,
    pub reordering: u32,
    pub rcv_rtt: u32,
    pub rcv_space: u32,
    pub total_retrans: u32,
    /// `sk_pacing_rate` and `sk_max_pacing_rate`, bytes/s (u64::MAX: unlimited).
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub data_segs_out: u32,
    pub data_segs_in: u32,
    pub delivery_rate: u64,
    /// `tcpi_delivery_rate_app_limited` (bit 0 of byte 7).
    pub delivery_rate_app_limited: bool,
    /// Segments delivered (Linux `tp->delivered`).
    pub delivered: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub notsent_bytes: u32,
    pub min_rtt: u32,
    pub snd_wnd: u32,
    pub rcv_wnd: u32,
}

/// Bytes of the Linux struct we fill (through `tcpi_rcv_wnd`).
pub const TCP_INFO_LEN: usize = 236;

impl TcpInfo {
    /// Linux's exact byte layout (x86-64, native endian), `TCP_INFO_LEN` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; TCP_INFO_LEN];
        b[0] = self.state;
        b[1] = self.ca_state;
        b[2] = self.retransmits;
        b[3] = self.probes;
        b[4] = self.backoff;
        b[5] = self.options;
        b[6] = (self.snd_wscale & 0xf) | (self.rcv_wscale << 4);
        b[7] = u8::from(self.delivery_rate_app_limited);
        let u32s: [(usize, u32); 34] = [
            (8, self.rto),
            (12, self.ato),
            (16, self.snd_mss),
            (20, self.rcv_mss),
            (24, self.unacked),
            (28, self.sacked),
            (32, self.lost),
            (36, self.retrans),
            (44, self.last_data_sent),
            (52, self.last_data_recv),
            (56, self.last_ack_recv),
            (60, self.pmtu),
            (64, self.rcv_ssthresh),
            (68, self.rtt),
            (72, self.rttvar),
            (76, self.snd_ssthresh),
            (80, self.snd_cwnd),
            (84, self.advmss),
            (88, self.reordering),
            (92, self.rcv_rtt),
            (96, self.rcv_space),
            (100, self.total_retrans),
            (136, self.segs_out),
            (140, self.segs_in),
            (144, self.notsent_bytes),
            (148, self.min_rtt),
            (152, self.data_segs_in),
            (156, self.data_segs_out),
            (192, self.delivered),
            (216, self.dsack_dups),
            (220, self.reord_seen),
            (228, self.snd_wnd),
            (232, self.rcv_wnd),
            (40, 0),
        ];
        for (off, v) in u32s {
            b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        }
        let u64s: [(usize, u64); 7] = [
            (104, self.pacing_rate),
            (112, self.max_pacing_rate),
            (120, self.bytes_acked),
            (128, self.bytes_received),
            (160, self.delivery_rate),
            (200, self.bytes_sent),
            (208, self.bytes_retrans),
        ];
        for (off, v) in u64s {
            b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }
}

fn age_ms(now: Nanos, t: Nanos) -> u32 {
    (now.saturating_sub(t) / 1_000_000) as u32
}

impl TcpSock {
    /// Linux `tcp_get_info`.
    pub fn tcp_info(&self, now: Nanos) -> TcpInfo {
        let mut o = 0;
        if self.ts_ok {
            o |= TCPI_OPT_TIMESTAMPS;
        }
        if self.sack_ok {
            o |= TCPI_OPT_SACK;
        }
        if self.wscale_ok {
            o |= TCPI_OPT_WSCALE;
        }
        let listen = self.state == State::Listen;
        let q = self.listen.as_ref();
        TcpInfo {
            state: self.state as u8,
            ca_state: self.ca_state as u8,
            retransmits: self.retransmits.min(255) as u8,
            probes: self.probes_out.min(255) as u8,
            backoff: self.backoff.min(255) as u8,
            options: o,
            snd_wscale: if self.wscale_ok { self.snd_wscale } else { 0 },
            rcv_wscale: if self.wscale_ok { self.rcv_wscale } else { 0 },
            rto: (self.rtt.rto_backoff(self.backoff) / 1000) as u32,
            ato: (self.ato / 1000) as u32,
            snd_mss: self.mss,
            rcv_mss: self.rcv_mss,
            // A listener reports its accept queue length and backlog here (Linux).
            unacked: if listen { q.map_or(0, |q| q.accept.len() as u32) } else { self.packets_out },
            sacked: if listen { q.map_or(0, |q| q.backlog) } else { self.sacked_out },
            lost: self.lost_out,
            retrans: self.retrans_out,
            last_data_sent: age_ms(now, self.last_data_sent),
            last_data_recv: age_ms(now, self.last_data_recv),
            last_ack_recv: age_ms(now, self.last_ack_recv),
            pmtu: self.pmtu,
            rcv_ssthresh: self.rcv_ssthresh,
            rtt: self.rtt.srtt_us(),
            rttvar: (self.rtt.rttvar / 1000) as u32,
            snd_ssthresh: self.ssthresh.min(0x7fff_ffff),
            snd_cwnd: self.cwnd,
            advmss: self.advmss,
            reordering: self.reordering,
            rcv_rtt: self.rcv_rtt_us8 >> 3,
            rcv_space: self.rcv_space() as u32,
            total_retrans: self.total_retrans,
            pacing_rate: self.pacing_rate,
            max_pacing_rate: self.max_pacing_rate,
            bytes_acked: self.bytes_acked,
            bytes_received: self.bytes_received,
            segs_out: self.segs_out,
            segs_in: self.segs_in,
            data_segs_out: self.data_segs_out,
            data_segs_in: self.data_segs_in,
            delivery_rate: self.delivery_rate(),
            delivery_rate_app_limited: self.rate.rate_app_limited,
            delivered: self.rate.delivered as u32,
            bytes_sent: self.bytes_sent,
            bytes_retrans: self.bytes_retrans,
            dsack_dups: self.dsack_dups,
            reord_seen: self.reord_seen,
            notsent_bytes: self.unsent.len() as u32,
            min_rtt: self.rtt.min_rtt.map_or(u32::MAX, |r| (r / 1000) as u32),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_wnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_layout_offsets() {
        let i = TcpInfo {
            state: 1,
            snd_wscale: 7,
            rcv_wscale: 9,
            rto: 0x11223344,
            snd_cwnd: 10,
            bytes_acked: 0x0102030405060708,
            data_segs_in: 5,
            data_segs_out: 6,
            rcv_wnd: 99,
            ..Default::default()
        };
        let b = i.to_bytes();
        assert_eq!(b.len(), TCP_INFO_LEN);
        assert_eq!(b[0], 1);
        assert_eq!(b[6], 0x97);
        assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 0x11223344);
        assert_eq!(u32::from_ne_bytes(b[80..84].try_into().unwrap()), 10);
        assert_eq!(u64::from_ne_bytes(b[120..128].try_into().unwrap()), 0x0102030405060708);
        assert_eq!(u32::from_ne_bytes(b[152..156].try_into().unwrap()), 5);
        assert_eq!(u32::from_ne_bytes(b[156..160].try_into().unwrap()), 6);
        assert_eq!(u32::from_ne_bytes(b[232..236].try_into().unwrap()), 99);
    }
}
