//! The TCP sockets as observers list them: `/proc/net/tcp` (Linux `get_tcp4_sock`,
//! `get_timewait4_sock`) and inet_diag (`inet_sk_diag_fill`, `tcp_diag_get_info`):
//! listeners first, then the others, IPv4 only.

use super::TcpTable;
use super::sock::{State, TcpSock};
use super::timer::Timer;
use crate::Nanos;
use crate::netlink::sock_diag::DiagSock;
use crate::procfs::{SockRow, TcpRow};
use std::net::{SocketAddr, SocketAddrV4};

/// Linux `TCP_INFINITE_SSTHRESH`.
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

fn v4(a: SocketAddr) -> Option<SocketAddrV4> {
    match a {
        SocketAddr::V4(a) => Some(a),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(ip) => Some(SocketAddrV4::new(ip, a.port())),
            None if a.ip().is_unspecified() => {
                Some(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, a.port()))
            }
            None => None,
        },
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
        self.listed().into_iter().filter_map(|s| row(s, now)).collect()
    }

    /// The sockets as `inet_diag_msg`s with their attributes' contents.
    pub(crate) fn diag(&self, now: Nanos) -> Vec<DiagSock> {
        let mut out = Vec::new();
        for s in self.listed() {
            let Some((r, Some(t))) = row(s, now).map(|r| (r, r.tcp)) else { continue };
            let queued = s.wmem_queued() as u32;
            out.push(DiagSock {
                state: r.state,
                timer: t.timer,
                retrans: t.retransmits.min(255) as u8,
                sport: r.local.port(),
                dport: r.remote.port(),
                src: r.local.ip().octets(),
                dst: r.remote.ip().octets(),
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

fn row(s: &TcpSock, now: Nanos) -> Option<SockRow> {
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
        local: v4(s.local)?,
        remote: v4(s.remote)?,
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
