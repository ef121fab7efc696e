//! `/proc/net/tcp`, `udp` and `raw` (Linux `tcp4_seq_show` with `get_tcp4_sock` and
//! `get_timewait4_sock`, `udp4_format_sock`, `raw_sock_seq_show`) and their IPv6
//! twins `tcp6`, `udp6`, `raw6` (`get_tcp6_sock`, `get_timewait6_sock`,
//! `ip6_dgram_sock_seq_show`): AF_INET6 sockets, IPv4 peers v4-mapped, unpadded lines.

use super::{clock_t, hex_addr, padded};
use crate::Nanos;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// One socket as the protocol tables report it for /proc: IPv4 addresses for the
/// IPv4 files, IPv6 ones (v4-mapped where IPv4) for the `*6` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `sk_state` (TCP state numbers; UDP/raw use 7 unconnected, 1 connected).
    pub state: u8,
    pub tx_queue: u64,
    pub rx_queue: u64,
    /// Synthetic inode number (0 for TIME_WAIT).
    pub inode: u64,
    pub drops: u64,
    pub tcp: Option<TcpRow>,
}

impl SockRow {
    /// A UDP or raw socket: connected (state 1) or not (7, TCP_CLOSE), nothing queued
    /// to send, `rmem` bytes charged to receive.
    pub(crate) fn datagram(
        local: SocketAddr,
        peer: Option<SocketAddr>,
        rmem: usize,
        inode: u64,
        drops: u64,
    ) -> SockRow {
        let any = SocketAddr::new(
            if local.is_ipv4() {
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            },
            0,
        );
        SockRow {
            local,
            remote: peer.unwrap_or(any),
            state: if peer.is_some() { 1 } else { 7 },
            tx_queue: 0,
            rx_queue: rmem as u64,
            inode,
            drops,
            tcp: None,
        }
    }
}

/// The TCP-only columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRow {
    /// `tr`: 0 none, 1 retransmit/probe-timeout/reorder, 2 keepalive, 4 zero window
    /// probe; for TIME_WAIT 3.
    pub timer: u8,
    /// Time left on that timer.
    pub timer_left: Nanos,
    pub retransmits: u32,
    pub probes: u32,
    pub rto: Nanos,
    pub ato: Nanos,
    /// `(icsk_ack.quick << 1) | pingpong`.
    pub quick: u32,
    pub cwnd: u32,
    /// None while in initial slow start (printed -1).
    pub ssthresh: Option<u32>,
    pub time_wait: bool,
}

const TCP_WIDTH: usize = 149;
const UDP_WIDTH: usize = 127;
const NULL_PTR: &str = "0000000000000000";

/// An address as Linux prints it: `%08X` per raw 32-bit word on a little-endian host
/// (IPv6: the four `s6_addr32` words).
fn hex_ip(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => hex_addr(a),
        IpAddr::V6(a) => a
            .octets()
            .chunks_exact(4)
            .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            .collect(),
    }
}

fn ends(r: &SockRow) -> String {
    format!(
        "{}:{:04X} {}:{:04X}",
        hex_ip(r.local.ip()),
        r.local.port(),
        hex_ip(r.remote.ip()),
        r.remote.port()
    )
}

/// The `*6` files' header, with its two wider address columns.
const HEADER6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

/// Ends a line: padded to `width` for the IPv4 files, as is for the IPv6 ones.
fn line_out(out: &mut String, line: &str, width: Option<usize>) {
    match width {
        Some(w) => padded(out, line, w),
        None => {
            out.push_str(line);
            out.push('\n');
        }
    }
}

pub(super) fn tcp(rows: &[SockRow]) -> String {
    let mut out = String::new();
    padded(
        &mut out,
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        TCP_WIDTH,
    );
    tcp_rows(&mut out, rows, Some(TCP_WIDTH));
    out
}

/// `tcp6_seq_show`.
pub(super) fn tcp6(rows: &[SockRow]) -> String {
    let mut out = String::from(HEADER6);
    out.push('\n');
    tcp_rows(&mut out, rows, None);
    out
}

fn tcp_rows(out: &mut String, rows: &[SockRow], width: Option<usize>) {
    for (i, r) in rows.iter().enumerate() {
        let Some(t) = r.tcp else { continue };
        let mut line = String::new();
        let when = clock_t(t.timer_left);
        if t.time_wait {
            let _ = write!(
                line,
                "{i:4}: {} {:02X} 00000000:00000000 03:{when:08X} 00000000     0        0 0 3 {NULL_PTR}",
                ends(r),
                r.state
            );
        } else {
            let ssthresh = t.ssthresh.map_or(-1, |s| s as i64);
            let _ = write!(
                line,
                "{i:4}: {} {:02X} {:08X}:{:08X} {:02X}:{when:08X} {:08X} {:5} {:8} {} {} {NULL_PTR} {} {} {} {} {}",
                ends(r),
                r.state,
                r.tx_queue as u32,
                r.rx_queue as u32,
                t.timer,
                t.retransmits,
                0,
                t.probes,
                r.inode,
                1,
                clock_t(t.rto),
                clock_t(t.ato),
                t.quick,
                t.cwnd,
                ssthresh
            );
        }
        line_out(out, &line, width);
    }
}

/// `udp4_format_sock`: the first column is the port's hash slot.
pub(super) fn udp(rows: &[SockRow]) -> String {
    let mut out = String::new();
    padded(
        &mut out,
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
        UDP_WIDTH,
    );
    udp_rows(&mut out, rows, Some(UDP_WIDTH));
    out
}

/// `udp6_seq_show` (`ip6_dgram_sock_seq_show`).
pub(super) fn udp6(rows: &[SockRow]) -> String {
    let mut out = format!("{HEADER6} ref pointer drops\n");
    udp_rows(&mut out, rows, None);
    out
}

/// `raw6_seq_show`: the slot and the local "port" are the protocol.
pub(super) fn raw6(rows: &[SockRow]) -> String {
    let mut out = format!("{HEADER6} ref pointer drops\n");
    for r in rows {
        let _ = writeln!(out, "{}", dgram_line(r, r.local.port(), 5));
    }
    out
}

fn udp_rows(out: &mut String, rows: &[SockRow], width: Option<usize>) {
    for r in rows {
        line_out(out, &dgram_line(r, r.local.port() & 0x3fff, 5), width);
    }
}

/// One datagram socket's line (`ip4_datagram`/`ip6_dgram_sock_seq_show`) after its
/// slot, printed `slot_width` wide.
fn dgram_line(r: &SockRow, slot: u16, slot_width: usize) -> String {
    format!(
        "{slot:slot_width$}: {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:5} {:8} {} 2 {NULL_PTR} {}",
        ends(r),
        r.state,
        r.tx_queue as u32,
        r.rx_queue as u32,
        0,
        0,
        r.inode,
        r.drops
    )
}

/// `raw_sock_seq_show`: the slot and the local "port" are the protocol (its hash
/// bucket); lines are not padded.
pub(super) fn raw(rows: &[SockRow]) -> String {
    let mut out = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    );
    for r in rows {
        let _ = writeln!(out, "{}", dgram_line(r, r.local.port(), 4));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// An ICMP raw socket's and a UDP socket's lines in Linux's format
    /// (`raw_sock_seq_show` pads the slot to 4, `udp4_format_sock` to 5).
    #[test]
    fn datagram_lines_as_linux() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let row = |port| SockRow::datagram(SocketAddr::new(lo, port), None, 768, 42, 3);
        let tail = "00000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 42 2 \
                    0000000000000000 3";
        let raw = raw(&[row(1)]);
        assert_eq!(raw.lines().nth(1), Some(format!("   1: 0100007F:0001 {tail}").as_str()));
        let mut out = String::new();
        udp_rows(&mut out, &[row(53)], None);
        assert_eq!(out, format!("   53: 0100007F:0035 {tail}\n"));
    }
}
