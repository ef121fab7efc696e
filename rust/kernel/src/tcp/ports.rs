//! Local ports (Linux `inet_csk_get_port`, `inet_csk_bind_conflict`,
//! `__inet_hash_connect`): bind conflicts with SO_REUSEADDR / SO_REUSEPORT rules and
//! ephemeral ports from `ip_local_port_range`, drawn from the instance PRNG.

use super::TcpTable;
use super::sock::{State, TcpSock};
use crate::net::Net;
use crate::socket::inet6::{addrs_overlap, bind_parts};
use crate::{Errno, SysResult};
use std::net::IpAddr;

impl TcpTable {
    /// Would `s` binding `addr:port` conflict with a socket already there? Families
    /// meet as Linux `inet_rcv_saddr_equal` has them (`inet6::addrs_overlap`).
    pub(crate) fn bind_conflict(&self, s: &TcpSock, addr: IpAddr, port: u16, listen: bool) -> bool {
        let Some(ids) = self.ports.get(&port) else { return false };
        let mine = bind_parts(&s.inet6, addr);
        ids.iter().filter(|&&id| id != s.id).filter_map(|&id| self.sock(id)).any(|o| {
            if !addrs_overlap(mine, bind_parts(&o.inet6, o.local.ip())) {
                return false;
            }
            if s.common.reuseport && o.common.reuseport {
                return false;
            }
            let reuse = s.common.reuseaddr && o.common.reuseaddr;
            if listen {
                // Only another listener conflicts with listen() (Linux re-checks at
                // `inet_csk_listen_start`).
                return o.state == State::Listen && !reuse_port_pair(s, o);
            }
            !(reuse && o.state != State::Listen)
        })
    }

    /// An ephemeral port for `s` (connect: even ports first, bind(0): odd first, as
    /// Linux since 4.6), starting at a random offset.
    pub(crate) fn pick_port(
        &self,
        net: &mut Net,
        s: &TcpSock,
        for_connect: bool,
    ) -> SysResult<u16> {
        let [lo, hi] = net.sysctl.ipv4.ip_local_port_range;
        let (lo, hi) = (u32::from(lo.min(hi)), u32::from(hi.max(lo)));
        let span = hi - lo + 1;
        let start = net.rng.range_u32(0, span - 1);
        let first_parity = if for_connect { lo % 2 } else { (lo + 1) % 2 };
        for parity in [first_parity, 1 - first_parity] {
            for i in 0..span {
                let p = lo + (start + i) % span;
                if p % 2 != parity {
                    continue;
                }
                let port = p as u16;
                if !self.ports.contains_key(&port) {
                    return Ok(port);
                }
                if !for_connect && !self.bind_conflict(s, s.local.ip(), port, false) {
                    // bind(0) never shares a port with anyone (Linux prefers free ones).
                    continue;
                }
            }
        }
        Err(Errno::EADDRNOTAVAIL)
    }

    pub(crate) fn hold_port(&mut self, id: u32, port: u16) {
        let v = self.ports.entry(port).or_default();
        if !v.contains(&id) {
            v.push(id);
        }
    }
}

fn reuse_port_pair(a: &TcpSock, b: &TcpSock) -> bool {
    a.common.reuseport && b.common.reuseport
}
