//! `net.ipv4.tcp_*`: the TCP knobs libos implements, with Linux's defaults and ranges.

use super::{Entry, Kind};
use crate::sysctl_int;

#[derive(Debug, Clone)]
pub struct TcpSysctl {
    pub tcp_rmem: [u32; 3],
    pub tcp_wmem: [u32; 3],
    pub tcp_congestion_control: &'static str,
    /// Algorithms an unprivileged TCP_CONGESTION may choose (Linux
    /// `tcp_allowed_congestion_control`, the TCP_CONG_NON_RESTRICTED flag).
    pub tcp_allowed_congestion_control: Vec<&'static str>,
    /// Pacing rate in percent of cwnd × mss / srtt, in slow start and after
    /// (Linux `tcp_pacing_ss_ratio`, `tcp_pacing_ca_ratio`).
    pub tcp_pacing_ss_ratio: u32,
    pub tcp_pacing_ca_ratio: u32,
    /// Fewest segments per GSO skb (`tcp_min_tso_segs`).
    pub tcp_min_tso_segs: u8,
    /// GSO skbs grow by 64 KB >> (min_rtt_us >> this) on tiny RTTs (`tcp_tso_rtt_log`).
    pub tcp_tso_rtt_log: u8,
    pub tcp_timestamps: u8,
    pub tcp_window_scaling: bool,
    pub tcp_sack: bool,
    /// Loss detection: bit 0 RACK, bit 2 no duplicate threshold (Linux `tcp_recovery`).
    pub tcp_recovery: u8,
    pub tcp_dsack: bool,
    /// Tail loss probes: 3 and 4 enable TLP (Linux `tcp_early_retrans`).
    pub tcp_early_retrans: u8,
    /// F-RTO, SACK-enhanced with 2 (Linux `tcp_frto`).
    pub tcp_frto: u8,
    /// ECN: 1 requests it on outgoing connections, 2 only accepts it (Linux `tcp_ecn`).
    pub tcp_ecn: u8,
    /// Initial reordering degree (`tcp_reordering`).
    pub tcp_reordering: u8,
    /// Ceiling of the reordering degree learned from SACKs (`tcp_max_reordering`).
    pub tcp_max_reordering: u32,
    pub tcp_syn_retries: u8,
    pub tcp_synack_retries: u8,
    pub tcp_retries1: u8,
    pub tcp_retries2: u8,
    pub tcp_fin_timeout: u32,
    pub tcp_keepalive_time: u32,
    pub tcp_keepalive_intvl: u32,
    pub tcp_keepalive_probes: u32,
    pub tcp_max_syn_backlog: u32,
    pub tcp_rfc1337: bool,
    pub tcp_challenge_ack_limit: u32,
    pub tcp_base_mss: u32,
    pub tcp_min_snd_mss: u32,
    pub tcp_slow_start_after_idle: bool,
    pub tcp_abort_on_overflow: bool,
    pub tcp_orphan_retries: u8,
    pub tcp_moderate_rcvbuf: bool,
    pub tcp_syncookies: u8,
    /// SACK compression: the longest hold of a duplicate ACK and how many may be held
    /// (`tcp_comp_sack_delay_ns`, `tcp_comp_sack_nr`; 0 turns compression off).
    pub tcp_comp_sack_delay_ns: u64,
    pub tcp_comp_sack_nr: u8,
}

impl Default for TcpSysctl {
    /// Linux 6.18 defaults (`tcp_sk_init`, `tcp_init`: `tcp_rmem[2]` is 32 MiB since
    /// Linux 6.16, on any host with more than 4 GiB of memory).
    fn default() -> Self {
        TcpSysctl {
            tcp_rmem: [4096, 131_072, 32 << 20],
            tcp_wmem: [4096, 16_384, 4_194_304],
            tcp_congestion_control: "cubic",
            // reno, cubic and bbr all carry TCP_CONG_NON_RESTRICTED in Linux.
            tcp_allowed_congestion_control: vec!["reno", "cubic", "bbr"],
            tcp_pacing_ss_ratio: 200,
            tcp_pacing_ca_ratio: 120,
            tcp_min_tso_segs: 2,
            tcp_tso_rtt_log: 9,
            tcp_timestamps: 1,
            tcp_window_scaling: true,
            tcp_sack: true,
            tcp_recovery: 1,
            tcp_dsack: true,
            tcp_early_retrans: 3,
            tcp_frto: 2,
            tcp_ecn: 2,
            tcp_reordering: 3,
            tcp_max_reordering: 300,
            tcp_syn_retries: 6,
            tcp_synack_retries: 5,
            tcp_retries1: 3,
            tcp_retries2: 15,
            tcp_fin_timeout: 60,
            tcp_keepalive_time: 7200,
            tcp_keepalive_intvl: 75,
            tcp_keepalive_probes: 9,
            tcp_max_syn_backlog: 128,
            tcp_rfc1337: false,
            tcp_challenge_ack_limit: i32::MAX as u32,
            tcp_base_mss: 1024,
            tcp_min_snd_mss: 48,
            tcp_slow_start_after_idle: true,
            tcp_abort_on_overflow: false,
            tcp_orphan_retries: 0,
            tcp_moderate_rcvbuf: true,
            tcp_syncookies: 1,
            tcp_comp_sack_delay_ns: 1_000_000,
            tcp_comp_sack_nr: 44,
        }
    }
}

pub static ENTRIES: &[Entry] = &[
    Entry {
        name: "net.ipv4.tcp_rmem",
        kind: Kind::Triple {
            get: |s| s.tcp.tcp_rmem.map(i64::from),
            set: |s, v| s.tcp.tcp_rmem = v.map(|x| x as u32),
            min: 1,
        },
    },
    Entry {
        name: "net.ipv4.tcp_wmem",
        kind: Kind::Triple {
            get: |s| s.tcp.tcp_wmem.map(i64::from),
            set: |s, v| s.tcp.tcp_wmem = v.map(|x| x as u32),
            min: 1,
        },
    },
    Entry {
        name: "net.ipv4.tcp_congestion_control",
        kind: Kind::Str {
            get: |s| s.tcp.tcp_congestion_control.to_string(),
            set: |s, v| {
                let name = crate::tcp::cong::lookup(v).ok_or(crate::Errno::ENOENT)?.name;
                s.tcp.tcp_congestion_control = name;
                // Linux `tcp_set_default_congestion_control`: the default is allowed.
                allow(&mut s.tcp.tcp_allowed_congestion_control, name);
                Ok(())
            },
        },
    },
    Entry {
        name: "net.ipv4.tcp_available_congestion_control",
        kind: Kind::ReadOnly { get: |_| crate::tcp::cong::available().join(" ") },
    },
    Entry {
        name: "net.ipv4.tcp_allowed_congestion_control",
        kind: Kind::Str {
            get: |s| s.tcp.tcp_allowed_congestion_control.join(" "),
            set: |s, v| {
                s.tcp.tcp_allowed_congestion_control = parse_allowed(v)?;
                Ok(())
            },
        },
    },
    sysctl_int!("net.ipv4.tcp_pacing_ss_ratio", tcp.tcp_pacing_ss_ratio, 0, 1000),
    sysctl_int!("net.ipv4.tcp_comp_sack_delay_ns", tcp.tcp_comp_sack_delay_ns, 0, i64::MAX),
    sysctl_int!("net.ipv4.tcp_comp_sack_nr", tcp.tcp_comp_sack_nr, 0, 255),
    sysctl_int!("net.ipv4.tcp_pacing_ca_ratio", tcp.tcp_pacing_ca_ratio, 0, 1000),
    sysctl_int!("net.ipv4.tcp_min_tso_segs", tcp.tcp_min_tso_segs, 1, 255),
    sysctl_int!("net.ipv4.tcp_tso_rtt_log", tcp.tcp_tso_rtt_log, 0, 255),
    sysctl_int!("net.ipv4.tcp_timestamps", tcp.tcp_timestamps, 0, 2),
    sysctl_int!("net.ipv4.tcp_window_scaling", tcp.tcp_window_scaling, 0, 1),
    sysctl_int!("net.ipv4.tcp_sack", tcp.tcp_sack, 0, 1),
    sysctl_int!("net.ipv4.tcp_recovery", tcp.tcp_recovery, 0, 7),
    sysctl_int!("net.ipv4.tcp_dsack", tcp.tcp_dsack, 0, 1),
    sysctl_int!("net.ipv4.tcp_early_retrans", tcp.tcp_early_retrans, 0, 4),
    sysctl_int!("net.ipv4.tcp_frto", tcp.tcp_frto, 0, 2),
    sysctl_int!("net.ipv4.tcp_ecn", tcp.tcp_ecn, 0, 2),
    sysctl_int!("net.ipv4.tcp_reordering", tcp.tcp_reordering, 0, 255),
    sysctl_int!("net.ipv4.tcp_max_reordering", tcp.tcp_max_reordering, 0, i32::MAX),
    sysctl_int!("net.ipv4.tcp_syn_retries", tcp.tcp_syn_retries, 1, 127),
    sysctl_int!("net.ipv4.tcp_synack_retries", tcp.tcp_synack_retries, 0, 255),
    sysctl_int!("net.ipv4.tcp_retries1", tcp.tcp_retries1, 0, 255),
    sysctl_int!("net.ipv4.tcp_retries2", tcp.tcp_retries2, 0, 255),
    sysctl_int!("net.ipv4.tcp_fin_timeout", tcp.tcp_fin_timeout, 0, i32::MAX),
    sysctl_int!("net.ipv4.tcp_keepalive_time", tcp.tcp_keepalive_time, 1, 32767),
    sysctl_int!("net.ipv4.tcp_keepalive_intvl", tcp.tcp_keepalive_intvl, 1, 32767),
    sysctl_int!("net.ipv4.tcp_keepalive_probes", tcp.tcp_keepalive_probes, 1, 127),
    sysctl_int!("net.ipv4.tcp_max_syn_backlog", tcp.tcp_max_syn_backlog, 0, i32::MAX),
    sysctl_int!("net.ipv4.tcp_rfc1337", tcp.tcp_rfc1337, 0, 1),
    sysctl_int!("net.ipv4.tcp_challenge_ack_limit", tcp.tcp_challenge_ack_limit, 0, i32::MAX),
    sysctl_int!("net.ipv4.tcp_base_mss", tcp.tcp_base_mss, 48, 65535),
    sysctl_int!("net.ipv4.tcp_min_snd_mss", tcp.tcp_min_snd_mss, 48, 65535),
    sysctl_int!("net.ipv4.tcp_slow_start_after_idle", tcp.tcp_slow_start_after_idle, 0, 1),
    sysctl_int!("net.ipv4.tcp_abort_on_overflow", tcp.tcp_abort_on_overflow, 0, 1),
    sysctl_int!("net.ipv4.tcp_orphan_retries", tcp.tcp_orphan_retries, 0, 255),
    sysctl_int!("net.ipv4.tcp_moderate_rcvbuf", tcp.tcp_moderate_rcvbuf, 0, 1),
    sysctl_int!("net.ipv4.tcp_syncookies", tcp.tcp_syncookies, 0, 2),
];

fn allow(list: &mut Vec<&'static str>, name: &'static str) {
    if !list.contains(&name) {
        list.push(name);
    }
}

/// Linux `tcp_set_allowed_congestion_control`: space-separated names, each registered
/// (ENOENT otherwise); listed in registration order, as Linux prints them.
fn parse_allowed(v: &str) -> Result<Vec<&'static str>, crate::Errno> {
    let mut want = Vec::new();
    for n in v.split_whitespace() {
        allow(&mut want, crate::tcp::cong::lookup(n).ok_or(crate::Errno::ENOENT)?.name);
    }
    Ok(crate::tcp::cong::available().into_iter().filter(|n| want.contains(n)).collect())
}
