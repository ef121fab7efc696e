//! The TCP sockets as observers list them: `/proc/net/tcp` (Linux `get_tcp4_sock`,
//! `get_timewait4_sock`) and inet_diag (`inet_sk_diag_fill`, `tcp_diag_get_info`):
//! listeners first, then the others; AF_INET sockets in `tcp`, AF_INET6 ones (IPv4
//! peers v4-mapped) in `tcp6`.

use super::TcpTable;
use super::sock::{State, TcpSock};
use super::timer::Timer;
use crate::Nanos;
use crate::netlink::sock_diag::DiagSock;
use crate::procfs::{SockRow, TcpRow};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Linux `TCP_INFINITE_SSTHRESH`.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// An address of an AF_INET6 socket as /proc and inet_diag show it (`sk_v6_*`):
/// IPv4 v4-mapped, the IPv4 wildcard as `::`.
pub(crate) fn as_v6(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(v) if v.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), a.port())
        }
        IpAddr::V4(v) => SocketAddr::new(v.to_ipv6_mapped().into(), a.port()),
        IpAddr::V6(_) => a,
    }
}

impl TcpTable {
    fn listed(&self) -> Vec<&TcpSock> {
        let mut socks: Vec<&TcpSock> = self.socks.iter().flatten().map(|s| &**s).collect();
        socks.retain(|s| s.state != State::Closed);
        socks.sort_by_key(|s| (s.state != State::Listen, s.id));
        socks
    }

    pub(crate) fn proc_rows(&self, now: Nanos) -> Vec<SockRow> {
        self.listed().into_iter().filter_map(|s| row(s, now, false)).collect()
    }

    /// `/proc/net/tcp6`.
    pub(crate) fn proc_rows6(&self, now: Nanos) -> Vec<SockRow> {
        self.listed().into_iter().filter_map(|s| row(s, now, true)).collect()
    }

    /// The sockets of one family as `inet_diag_msg`s with their attributes' contents.
    pub(crate) fn diag(&self, now: Nanos, v6: bool) -> Vec<DiagSock> {
        let mut out = Vec::new();
        for s in self.listed() {
            let Some((r, Some(t))) = row(s, now, v6).map(|r| (r, r.tcp)) else { continue };
            let queued = s.wmem_queued() as u32;
            out.push(DiagSock {
                state: r.state,
                timer: t.timer,
                retrans: t.retransmits.min(255) as u8,
                sport: r.local.port(),
                dport: r.remote.port(),
                src: octets16(r.local.ip()),
                dst: octets16(r.remote.ip()),
                expires_ms: (t.timer_left / 1_000_000) as u32,
                rqueue: r.rx_queue as u32,
                wqueue: r.tx_queue as u32,
                inode: r.inode as u32,
                info: s.tcp_info(now).to_bytes(),
                cong: s.cc.name(),
                shutdown: s.shutdown,
                skmem: [s.rcvq.len() as u32, s.rcvbuf, queued, s.sndbuf, 0, queued, 0, 0, 0],
            });
        }
        out
    }
}

/// `idiag_src`/`idiag_dst`: an IPv4 address in the first word, the rest zero.
pub(crate) fn octets16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v.octets());
            b
        }
        IpAddr::V6(v) => v.octets(),
    }
}

fn row(s: &TcpSock, now: Nanos, v6: bool) -> Option<SockRow> {
    if s.inet6.v6 != v6 {
        return None;
    }
    let fam = |a: SocketAddr| if v6 { as_v6(a) } else { a };
    let left = |t: Timer| s.timer(t).map(|at| at.saturating_sub(now));
    let (timer, timer_left) = if s.state == State::TimeWait {
        (3, left(Timer::TimeWait).unwrap_or(0))
    } else if let Some(l) =
        left(Timer::Retransmit).or_else(|| left(Timer::LossProbe)).or_else(|| left(Timer::Reorder))
    {
        (1, l)
    } else if let Some(l) = left(Timer::Persist) {
        (4, l)
    } else if let Some(l) = left(Timer::Keepalive) {
        (2, l)
    } else {
        (0, 0)
    };
    let listen = s.listen.as_ref();
    Some(SockRow {
        local: fam(s.local),
        remote: fam(s.remote),
        state: s.state as u8,
        tx_queue: if listen.is_some() { 0 } else { s.outq() as u64 },
        rx_queue: listen.map_or(s.rcvq.len(), |l| l.accept.len()) as u64,
        inode: if s.state == State::TimeWait { 0 } else { 0x0100_0000 + u64::from(s.id) },
        drops: 0,
        tcp: Some(TcpRow {
            timer,
            timer_left,
            retransmits: s.retransmits,
            probes: s.probes_out,
            rto: s.rtt.rto_backoff(0),
            ato: s.ato,
            quick: (s.quickack.min(255) << 1),
            cwnd: s.cwnd,
            ssthresh: (s.ssthresh < INFINITE_SSTHRESH).then_some(s.ssthresh),
            time_wait: s.state == State::TimeWait,
        }),
    })
}
