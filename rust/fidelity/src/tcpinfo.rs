//! Linux `struct tcp_info` (include/uapi/linux/tcp.h) decoded from the bytes
//! getsockopt(IPPROTO_TCP, TCP_INFO) returns, by field offset; fields past the returned
//! length read as 0 (an older kernel, or a stack that fills less).

/// The fields the harness samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpInfo {
    pub state: u8,
    pub ca_state: u8,
    /// `tcpi_delivery_rate_app_limited`: the last rate sample was application-limited.
    pub app_limited: bool,
    pub rto_us: u32,
    pub snd_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub reordering: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub bytes_acked: u64,
    pub segs_out: u32,
    pub data_segs_out: u32,
    pub delivery_rate: u64,
    pub delivered: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub snd_wnd: u32,
    pub notsent_bytes: u32,
    /// The receiving side: `tcpi_rcv_mss`, `tcpi_rcv_ssthresh` (the window's growth
    /// limit), `tcpi_rcv_rtt` (µs), `tcpi_rcv_space` (the buffer autotuning's estimate),
    /// `tcpi_bytes_received`, `tcpi_rcv_wnd` (the window last advertised).
    pub rcv_mss: u32,
    pub rcv_ssthresh: u32,
    pub rcv_rtt_us: u32,
    pub rcv_space: u32,
    pub bytes_received: u64,
    pub rcv_wnd: u32,
}

/// Bytes to ask for: up to `tcpi_total_rto_time` (Linux 6.7+).
pub const TCP_INFO_LEN: usize = 248;

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4).map_or(0, |s| u32::from_ne_bytes(s.try_into().unwrap()))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8).map_or(0, |s| u64::from_ne_bytes(s.try_into().unwrap()))
}

impl TcpInfo {
    /// Decodes the first `b.len()` bytes the kernel filled.
    pub fn parse(b: &[u8]) -> TcpInfo {
        TcpInfo {
            state: b.first().copied().unwrap_or(0),
            ca_state: b.get(1).copied().unwrap_or(0),
            app_limited: b.get(7).is_some_and(|x| x & 1 != 0),
            rto_us: u32_at(b, 8),
            snd_mss: u32_at(b, 16),
            unacked: u32_at(b, 24),
            sacked: u32_at(b, 28),
            lost: u32_at(b, 32),
            retrans: u32_at(b, 36),
            rtt_us: u32_at(b, 68),
            rttvar_us: u32_at(b, 72),
            snd_ssthresh: u32_at(b, 76),
            snd_cwnd: u32_at(b, 80),
            reordering: u32_at(b, 88),
            total_retrans: u32_at(b, 100),
            pacing_rate: u64_at(b, 104),
            bytes_acked: u64_at(b, 120),
            segs_out: u32_at(b, 136),
            data_segs_out: u32_at(b, 156),
            delivery_rate: u64_at(b, 160),
            delivered: u32_at(b, 192),
            bytes_sent: u64_at(b, 200),
            bytes_retrans: u64_at(b, 208),
            dsack_dups: u32_at(b, 216),
            reord_seen: u32_at(b, 220),
            snd_wnd: u32_at(b, 228),
            notsent_bytes: u32_at(b, 144),
            rcv_mss: u32_at(b, 20),
            rcv_ssthresh: u32_at(b, 64),
            rcv_rtt_us: u32_at(b, 92),
            rcv_space: u32_at(b, 96),
            bytes_received: u64_at(b, 128),
            rcv_wnd: u32_at(b, 232),
        }
    }

    /// The CSV header matching [`TcpInfo::csv_row`].
    pub const CSV_HEADER: &'static str = "t_s,cwnd,ssthresh,rtt_us,rttvar_us,retrans,total_retrans,\
lost,delivered,bytes_acked,bytes_sent,bytes_retrans,data_segs_out,pacing_rate_bps,\
delivery_rate_bps,ca_state,mss,sacked,reordering,dsack_dups,reord_seen,snd_wnd,app_limited,unacked,notsent_bytes";

    /// The CSV header matching [`TcpInfo::rcv_csv_row`] (a receiver's trace).
    pub const RCV_CSV_HEADER: &'static str =
        "t_s,bytes_received,rcv_wnd,rcv_ssthresh,rcv_space,rcv_rtt_us,rcv_mss";

    pub fn rcv_csv_row(&self, t_s: f64) -> String {
        format!(
            "{t_s:.4},{},{},{},{},{},{}",
            self.bytes_received,
            self.rcv_wnd,
            self.rcv_ssthresh,
            self.rcv_space,
            self.rcv_rtt_us,
            self.rcv_mss
        )
    }

    pub fn csv_row(&self, t_s: f64) -> String {
        // Linux reports the rates in bytes/s; the CSV has bit/s.
        format!(
            "{t_s:.4},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.snd_cwnd,
            self.snd_ssthresh,
            self.rtt_us,
            self.rttvar_us,
            self.retrans,
            self.total_retrans,
            self.lost,
            self.delivered,
            self.bytes_acked,
            self.bytes_sent,
            self.bytes_retrans,
            self.data_segs_out,
            self.pacing_rate.saturating_mul(8),
            self.delivery_rate.saturating_mul(8),
            self.ca_state,
            self.snd_mss,
            self.sacked,
            self.reordering,
            self.dsack_dups,
            self.reord_seen,
            self.snd_wnd,
            u8::from(self.app_limited),
            self.unacked,
            self.notsent_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_linux_layout() {
        let mut b = vec![0u8; TCP_INFO_LEN];
        b[0] = 1;
        b[1] = 3;
        b[80..84].copy_from_slice(&42u32.to_ne_bytes());
        b[100..104].copy_from_slice(&7u32.to_ne_bytes());
        b[120..128].copy_from_slice(&123_456u64.to_ne_bytes());
        b[192..196].copy_from_slice(&99u32.to_ne_bytes());
        b[216..220].copy_from_slice(&2u32.to_ne_bytes());
        b[220..224].copy_from_slice(&5u32.to_ne_bytes());
        b[228..232].copy_from_slice(&65_535u32.to_ne_bytes());
        b[24..28].copy_from_slice(&300u32.to_ne_bytes());
        b[144..148].copy_from_slice(&4_096u32.to_ne_bytes());
        b[64..68].copy_from_slice(&202_752u32.to_ne_bytes());
        b[96..100].copy_from_slice(&14_480u32.to_ne_bytes());
        b[232..236].copy_from_slice(&131_072u32.to_ne_bytes());
        b[7] = 1;
        let i = TcpInfo::parse(&b);
        assert_eq!((i.state, i.ca_state, i.snd_cwnd, i.total_retrans), (1, 3, 42, 7));
        assert_eq!((i.bytes_acked, i.delivered), (123_456, 99));
        assert_eq!((i.dsack_dups, i.reord_seen, i.snd_wnd), (2, 5, 65_535));
        assert!(i.app_limited);
        assert_eq!((i.unacked, i.notsent_bytes), (300, 4_096));
        assert_eq!((i.rcv_ssthresh, i.rcv_space, i.rcv_wnd), (202_752, 14_480, 131_072));
        // A short answer: the missing fields are 0.
        let s = TcpInfo::parse(&b[..104]);
        assert_eq!((s.total_retrans, s.bytes_acked), (7, 0));
    }

    #[test]
    fn csv_has_header_columns() {
        let cols = TcpInfo::CSV_HEADER.split(',').count();
        assert_eq!(TcpInfo::default().csv_row(0.0).split(',').count(), cols);
        let cols = TcpInfo::RCV_CSV_HEADER.split(',').count();
        assert_eq!(TcpInfo::default().rcv_csv_row(0.0).split(',').count(), cols);
    }
}
