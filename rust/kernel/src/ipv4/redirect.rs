//! ICMP redirects (RFC 792, RFC 1122 §3.2.2.2, RFC 1812 §5.2.7.2).
//!
//! Sending (Linux `ip_rt_send_redirect`): a router forwarding a packet back out the
//! interface it came in on, to a sender on that link, tells the sender the better next
//! hop; per sender at most `ip_rt_redirect_number` (9) with exponential backoff from
//! `ip_rt_redirect_load` (20 ms), reset after `ip_rt_redirect_silence` (20.48 s).
//!
//! Receiving (Linux `__ip_do_redirect`): a host (accept_redirects) believes a redirect
//! only from the gateway it uses for that destination, to a new on-link gateway whose
//! link address is already known (otherwise it only starts resolving it); the learned
//! next hop lives `ip_rt_gc_timeout` (300 s).

use super::nh_exception::NhExceptions;
use crate::Nanos;
use crate::dev::IfIndex;
use crate::neigh::NeighParams;
use crate::net::Net;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

const MS: Nanos = 1_000_000;
const REDIRECT_NUMBER: u32 = 9;
const REDIRECT_LOAD: Nanos = 20 * MS;
const REDIRECT_SILENCE: Nanos = REDIRECT_LOAD << 10;
const GC_TIMEOUT: Nanos = 300 * 1_000 * MS;
/// Senders whose redirect rate is tracked at most.
const MAX_PEERS: usize = 4096;

#[derive(Default)]
pub(super) struct Redirects {
    /// Send side, per sender: (rate_last, n_redirects).
    peers: BTreeMap<Ipv4Addr, (Nanos, u32)>,
    /// Learned next hops: dst -> (old gateway, new gateway).
    learned: NhExceptions<(IpAddr, IpAddr)>,
}

impl Redirects {
    /// The redirected next hop for `dst`, if one was learned from `current` gateway.
    pub(super) fn gateway_for(&self, dst: Ipv4Addr, current: IpAddr) -> Option<IpAddr> {
        self.learned.get(dst).filter(|e| e.0 == current).map(|e| e.1)
    }

    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.learned.next_deadline()
    }

    pub(super) fn expire(&mut self, now: Nanos) -> bool {
        self.learned.expire(now)
    }

    fn learn(&mut self, now: Nanos, dst: Ipv4Addr, old: IpAddr, new: IpAddr) {
        self.learned.insert(dst, (old, new), now + GC_TIMEOUT);
    }

    /// The `ip_rt_send_redirect` token scheme for one sender: true to send now.
    fn send_allowed(&mut self, now: Nanos, src: Ipv4Addr) -> bool {
        if !self.peers.contains_key(&src) && self.peers.len() >= MAX_PEERS {
            self.peers.pop_first();
        }
        let (last, n) = self.peers.entry(src).or_insert((now, 0));
        if now > *last + REDIRECT_SILENCE {
            *n = 0;
        }
        if *n >= REDIRECT_NUMBER {
            *last = now;
            return false;
        }
        if *n == 0 || now > *last + (REDIRECT_LOAD << *n) {
            *last = now;
            *n += 1;
            return true;
        }
        false
    }
}

/// True when some address of `ifindex` has a subnet holding `a` and `b` (Linux
/// `inet_addr_onlink`).
fn onlink(net: &Net, ifindex: IfIndex, a: Ipv4Addr, b: Option<Ipv4Addr>) -> bool {
    net.devs.get(ifindex).is_some_and(|d| {
        d.addrs4.iter().any(|ifa| ifa.contains(a) && b.is_none_or(|b| ifa.contains(b)))
    })
}

/// Whether forwarding `src`'s packet out `oif` (it came in on `iif`) via `gateway`
/// deserves a redirect and the limiter lets one go (`__mkroute_input` IPSKB_DOREDIRECT).
pub(super) fn should_send(
    now: Nanos,
    net: &mut Net,
    iif: IfIndex,
    oif: IfIndex,
    src: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
) -> bool {
    let dev_on = net.devs.get(iif).is_some_and(|d| d.conf4.send_redirects);
    let on = dev_on || net.sysctl.ipv4.conf_all.send_redirects;
    iif == oif && on && onlink(net, iif, src, gateway) && net.ipv4.redirects.send_allowed(now, src)
}

/// A redirect from `from` on `ifindex`: packets to `dst` should go to `new_gw`.
pub(super) fn receive(
    now: Nanos,
    net: &mut Net,
    ifindex: IfIndex,
    from: Ipv4Addr,
    dst: Ipv4Addr,
    new_gw: Ipv4Addr,
) {
    let Some(dev) = net.devs.get(ifindex) else { return };
    let all = net.sysctl.ipv4.conf_all.accept_redirects;
    // IN_DEV_RX_REDIRECTS: a router needs both, a host either.
    let accept = if dev.conf4.forwarding {
        all && dev.conf4.accept_redirects
    } else {
        all || dev.conf4.accept_redirects
    };
    let bad_gw = new_gw.is_multicast()
        || new_gw.is_broadcast()
        || new_gw.octets()[0] == 0
        || net.is_local_addr(IpAddr::V4(new_gw));
    if !accept || bad_gw || new_gw == from || !onlink(net, ifindex, new_gw, Some(from)) {
        return;
    }
    let Ok(rt) = net.route_output(IpAddr::V4(dst), None) else { return };
    if rt.oif != ifindex || rt.next_hop != IpAddr::V4(from) || rt.next_hop == IpAddr::V4(dst) {
        return;
    }
    let key = (ifindex, IpAddr::V4(new_gw));
    if net.neigh.is_valid(key) {
        net.ipv4.redirects.learn(now, dst, IpAddr::V4(from), IpAddr::V4(new_gw));
        net.fib.invalidate();
    } else {
        let p = NeighParams::from_sysctl(&net.sysctl.ipv4);
        let mut actions = Vec::new();
        let _ = net.neigh.kick(now, key, &p, &mut actions);
        net.neigh_actions(now, actions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_backoff_and_silence() {
        let mut r = Redirects::default();
        let s = Ipv4Addr::new(10, 0, 0, 2);
        let mut sent = Vec::new();
        let mut t = 0;
        while t < 30_000 * MS {
            if r.send_allowed(t, s) {
                sent.push(t / MS);
            }
            t += MS;
        }
        // 9 redirects, each gap doubling from 40 ms, then silence until packets stop.
        assert_eq!(sent.len(), 9);
        assert_eq!(&sent[..4], &[0, 41, 122, 283]);
        assert!(!r.send_allowed(t, s));
        // 20.48 s without redirected packets resets the count.
        assert!(r.send_allowed(t + REDIRECT_SILENCE + 1, s));
    }

    #[test]
    fn learned_gateway_expires() {
        let mut r = Redirects::default();
        let d = Ipv4Addr::new(192, 0, 2, 1);
        let (old, new) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 3]));
        r.learn(0, d, old, new);
        assert_eq!(r.gateway_for(d, old), Some(new));
        assert_eq!(r.gateway_for(d, new), None, "only for the redirected gateway");
        r.expire(GC_TIMEOUT);
        assert!(r.next_deadline().is_none());
        assert_eq!(r.gateway_for(d, old), None);
    }
}
