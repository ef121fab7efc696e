//! "Auto" routing: shortest-path (hop count) static routes over the topology, as a
//! researcher would otherwise write by hand. Paths only transit forwarding nodes.
//! Ties are broken by declaration order, so the result is deterministic. IPv4 and IPv6
//! are computed apart (one call per family, networks of that family only).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One node's address on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub node: usize,
    pub ifindex: u32,
    pub addr: IpAddr,
}

/// An IP subnet shared by the members of one link or segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub prefix: IpAddr,
    pub len: u8,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoRoute {
    pub node: usize,
    pub dst: IpAddr,
    pub len: u8,
    pub via: IpAddr,
    pub oif: u32,
}

/// Routes for every node to every network it is not attached to. A node attached to a
/// single network whose routes all use one gateway gets one default route instead.
pub fn compute(n_nodes: usize, forwards: &[bool], nets: &[Network]) -> Vec<AutoRoute> {
    let mut node_nets: Vec<Vec<usize>> = vec![Vec::new(); n_nodes];
    for (ni, n) in nets.iter().enumerate() {
        for m in &n.members {
            if node_nets[m.node].last() != Some(&ni) {
                node_nets[m.node].push(ni);
            }
        }
    }
    let mut out = Vec::new();
    let mut dist = vec![u32::MAX; n_nodes];
    // First hop toward each node: (gateway address, our outgoing ifindex).
    let mut first: Vec<Option<(IpAddr, u32)>> = vec![None; n_nodes];
    let mut q = VecDeque::new();
    for s in 0..n_nodes {
        dist.fill(u32::MAX);
        first.fill(None);
        dist[s] = 0;
        q.push_back(s);
        while let Some(u) = q.pop_front() {
            if u != s && !forwards[u] {
                continue;
            }
            for &ni in &node_nets[u] {
                let own = nets[ni].members.iter().find(|m| m.node == u).map(|m| m.ifindex);
                for m in &nets[ni].members {
                    if dist[m.node] != u32::MAX {
                        continue;
                    }
                    dist[m.node] = dist[u] + 1;
                    first[m.node] =
                        if u == s { Some((m.addr, own.unwrap_or(0))) } else { first[u] };
                    q.push_back(m.node);
                }
            }
        }
        let start = out.len();
        for (ni, n) in nets.iter().enumerate() {
            if node_nets[s].contains(&ni) {
                continue;
            }
            let best =
                n.members.iter().filter(|m| dist[m.node] != u32::MAX).min_by_key(|m| dist[m.node]);
            if let Some((via, oif)) = best.and_then(|m| first[m.node]) {
                out.push(AutoRoute { node: s, dst: n.prefix, len: n.len, via, oif });
            }
        }
        let mine = &out[start..];
        if node_nets[s].len() == 1
            && mine.len() > 1
            && mine.iter().all(|r| (r.via, r.oif) == (mine[0].via, mine[0].oif))
        {
            let r = mine[0];
            out.truncate(start);
            let any = match r.dst {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            out.push(AutoRoute { dst: any, len: 0, ..r });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(i: u8, a: (usize, u32), b: (usize, u32)) -> Network {
        Network {
            prefix: IpAddr::V4(Ipv4Addr::new(10, 0, i, 0)),
            len: 24,
            members: vec![
                Member { node: a.0, ifindex: a.1, addr: IpAddr::V4(Ipv4Addr::new(10, 0, i, 1)) },
                Member { node: b.0, ifindex: b.1, addr: IpAddr::V4(Ipv4Addr::new(10, 0, i, 2)) },
            ],
        }
    }

    #[test]
    fn chain_of_routers() {
        // h0 - r1 - r2 - h3
        let nets = vec![net(1, (0, 2), (1, 2)), net(2, (1, 3), (2, 2)), net(3, (2, 3), (3, 2))];
        let fw = [false, true, true, false];
        let r = compute(4, &fw, &nets);
        let of = |n| r.iter().filter(|x| x.node == n).copied().collect::<Vec<_>>();
        // Hosts get a default route via their router.
        assert_eq!(
            of(0),
            vec![AutoRoute {
                node: 0,
                dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                len: 0,
                via: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)),
                oif: 2
            }]
        );
        assert_eq!(of(3)[0].via, IpAddr::V4(Ipv4Addr::new(10, 0, 3, 1)));
        // r1 reaches 10.0.3.0/24 via r2.
        assert!(of(1).contains(&AutoRoute {
            node: 1,
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 3, 0)),
            len: 24,
            via: IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2)),
            oif: 3
        }));
        assert_eq!(of(1).len(), 1);
    }

    #[test]
    fn hosts_do_not_transit() {
        // r0 - h1 - r2 - h3: h1 does not forward, so r0 has no route to 10.0.3.0/24.
        let nets = vec![net(1, (0, 2), (1, 2)), net(2, (1, 3), (2, 2)), net(3, (2, 3), (3, 2))];
        let r = compute(4, &[true, false, true, false], &nets);
        assert!(!r.iter().any(|x| x.node == 0 && x.dst == IpAddr::V4(Ipv4Addr::new(10, 0, 3, 0))));
        assert!(r.iter().any(|x| x.node == 2 && x.dst == IpAddr::V4(Ipv4Addr::new(10, 0, 1, 0))));
    }
}
