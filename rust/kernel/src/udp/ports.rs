//! The UDP port table: bind conflicts (Linux `udp_lib_lport_inuse`), ephemeral port
//! choice (`udp_lib_get_port` with port 0) and receive demultiplexing
//! (`__udp4_lib_lookup` / `compute_score`, `__udp4_lib_mcast_deliver`).

use super::{UdpSock, UdpTable};
use crate::net::Net;
use crate::socket::inet6::{addrs_overlap, bind_parts, match_local};
use crate::{Errno, SysResult};
use std::net::{IpAddr, SocketAddr};

/// The packet's four-tuple as seen from the receiver (IPv4 in kernel form, also when
/// it reaches an AF_INET6 socket).
#[derive(Debug, Clone, Copy)]
pub struct Tuple {
    pub saddr: IpAddr,
    pub sport: u16,
    pub daddr: IpAddr,
    pub dport: u16,
    /// The arrival device; None matches any (ICMP error lookups).
    pub ifindex: Option<u32>,
}

/// Would `a` and `b` conflict on the same port (`udp_lib_lport_inuse`)? Both
/// SO_REUSEADDR, or both SO_REUSEPORT, lets them share; different bound devices or
/// different specific addresses never conflict.
fn conflicts(a: &UdpSock, b: &UdpSock) -> bool {
    let devs = match (a.common.bound_dev, b.common.bound_dev) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    let addrs = addrs_overlap(bind_parts(&a.inet6, a.laddr), bind_parts(&b.inet6, b.laddr));
    let reuse = a.common.reuseaddr && b.common.reuseaddr;
    let reuseport = a.common.reuseport && b.common.reuseport;
    devs && addrs && !reuse && !reuseport
}

/// Linux `compute_score` for a unicast packet; None when the socket cannot take it.
/// An exact local-address match outranks every wildcard socket, since Linux searches
/// the (daddr, port) hash chain before the (INADDR_ANY, port) one; an IPv4 socket
/// outranks a dual-stack one.
fn score(s: &UdpSock, t: &Tuple) -> Option<u32> {
    let m = match_local(&s.inet6, s.laddr, t.daddr)?;
    let mut score = m & 3;
    if m > 3 {
        score += 64;
    }
    if let Some(p) = s.peer {
        if p.ip() != t.saddr || p.port() != t.sport {
            return None;
        }
        score += 8;
    }
    if let Some(dev) = s.common.bound_dev {
        if t.ifindex.is_some_and(|i| i != dev) {
            return None;
        }
        score += 4;
    }
    Some(score)
}

/// A deterministic flow hash to spread datagrams over a SO_REUSEPORT group (Linux
/// uses a jhash of the four-tuple, `udp_ehashfn`).
fn flow_hash(t: &Tuple) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let fold = |a: IpAddr| match a {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let x = u128::from(a);
            (x ^ (x >> 32) ^ (x >> 64) ^ (x >> 96)) as u32
        }
    };
    let words = [fold(t.saddr), fold(t.daddr), u32::from(t.sport) << 16 | u32::from(t.dport)];
    for w in words {
        for b in w.to_be_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    h
}

impl UdpTable {
    /// True if `id` could take `port` now.
    fn port_free_for(&self, id: u32, port: u16) -> bool {
        let Some(me) = self.socks.get(id) else { return false };
        let Some(ids) = self.ports.get(&port) else { return true };
        ids.iter()
            .filter(|&&o| o != id)
            .filter_map(|&o| self.socks.get(o))
            .all(|o| !conflicts(me, o))
    }

    /// Binds `id` (whose `laddr` is already set) to `port`, or to an ephemeral port
    /// from `ip_local_port_range` if 0: a start chosen by the instance PRNG, then the
    /// first usable port after it (a simplification of Linux's strided search).
    pub(super) fn get_port(&mut self, net: &mut Net, id: u32, port: u16) -> SysResult<u16> {
        let port = if port != 0 {
            if !self.port_free_for(id, port) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else {
            let [lo, hi] = net.sysctl.ipv4.ip_local_port_range;
            let (lo, hi) = (u32::from(lo.min(hi)), u32::from(lo.max(hi)));
            let span = hi - lo + 1;
            let start = net.rng.range_u32(lo, hi) - lo;
            (0..span)
                .map(|i| (lo + (start + i) % span) as u16)
                .find(|&p| self.port_free_for(id, p))
                .ok_or(Errno::EADDRINUSE)?
        };
        if let Some(s) = self.socks.get_mut(id) {
            s.lport = port;
        }
        self.ports.entry(port).or_default().push(id);
        Ok(port)
    }

    /// Removes `id` from the port table (close, or disconnect of an autobound socket).
    pub(super) fn put_port(&mut self, id: u32) {
        let Some(s) = self.socks.get_mut(id) else { return };
        let port = std::mem::take(&mut s.lport);
        if port == 0 {
            return;
        }
        if let Some(ids) = self.ports.get_mut(&port) {
            ids.retain(|&o| o != id);
            if ids.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    /// The socket a unicast datagram goes to. Among equal scores the most recently
    /// bound wins (Linux adds IPv4 sockets at the head of the chain), unless the
    /// winner is in a SO_REUSEPORT group, which picks a member by flow hash.
    pub(super) fn lookup(&self, t: &Tuple) -> Option<u32> {
        let ids = self.ports.get(&t.dport)?;
        let mut best: Option<(u32, u32)> = None;
        for &id in ids.iter().rev() {
            let Some(sc) = self.socks.get(id).and_then(|s| score(s, t)) else { continue };
            if best.is_none_or(|(b, _)| sc > b) {
                best = Some((sc, id));
            }
        }
        let (sc, id) = best?;
        let winner = self.socks.get(id)?;
        if !winner.common.reuseport {
            return Some(id);
        }
        // The group: reuseport sockets of the same score and local address, in bind
        // order.
        let group: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&o| {
                self.socks.get(o).is_some_and(|s| {
                    s.common.reuseport && s.laddr == winner.laddr && score(s, t) == Some(sc)
                })
            })
            .collect();
        Some(group[(flow_hash(t) as usize) % group.len()])
    }

    /// Every socket a broadcast or multicast datagram goes to (Linux
    /// `__udp_is_mcast_sock`): port matches, local address wildcard or equal to the
    /// destination, connected peer (if any) equal to the source, device matches.
    pub(super) fn lookup_all(&self, t: &Tuple) -> Vec<u32> {
        let Some(ids) = self.ports.get(&t.dport) else { return Vec::new() };
        ids.iter()
            .copied()
            .filter(|&id| {
                self.socks.get(id).is_some_and(|s| {
                    match_local(&s.inet6, s.laddr, t.daddr).is_some()
                        && s.peer.is_none_or(|p| p.ip() == t.saddr && p.port() == t.sport)
                        && s.common.bound_dev.is_none_or(|d| t.ifindex.is_none_or(|i| i == d))
                        && match t.daddr {
                            IpAddr::V4(g) if g.is_multicast() => {
                                s.groups.allows(&s.inet, g, t.ifindex.unwrap_or(0))
                            }
                            IpAddr::V6(g) if g.is_multicast() => {
                                s.groups6.allows(&s.inet6, g, t.ifindex.unwrap_or(0))
                            }
                            _ => true,
                        }
                })
            })
            .collect()
    }
}

/// The local address a socket reports (v4-mapped on an AF_INET6 socket).
pub fn local(s: &UdpSock) -> SocketAddr {
    let a = SocketAddr::new(s.laddr, s.lport);
    crate::socket::inet6::to_user(s.inet6.v6, a, s.common.bound_dev)
}
