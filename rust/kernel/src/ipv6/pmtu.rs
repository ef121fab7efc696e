//! IPv6 path MTU discovery (RFC 8201; Linux `rt6_do_update_pmtu`): a Packet Too Big
//! lowers the MTU toward its destination for `net.ipv6.route.mtu_expires` (600 s),
//! never below the IPv6 minimum link MTU (1280, RFC 8200 §5; Linux clamps instead of
//! adding atomic fragments, RFC 8021).

use crate::Nanos;
use crate::ipv4::nh_exception::NhExceptions;
use crate::net::Net;
use std::net::Ipv6Addr;

/// `IPV6_MIN_MTU`.
pub const MIN_PMTU: u32 = 1280;

/// Learned path MTUs per destination.
#[derive(Default)]
pub struct Pmtu6Cache {
    mtus: NhExceptions<u32, Ipv6Addr>,
}

impl Pmtu6Cache {
    pub fn get(&self, dst: Ipv6Addr) -> Option<u32> {
        self.mtus.get(dst).copied()
    }

    /// Records `reported` (clamped to 1280) if it lowers `path_mtu`; true if it did.
    fn update(&mut self, expires: Nanos, dst: Ipv6Addr, reported: u32, path_mtu: u32) -> bool {
        let mtu = reported.max(MIN_PMTU);
        if mtu >= path_mtu {
            return false;
        }
        self.mtus.insert(dst, mtu, expires);
        true
    }

    pub fn next_deadline(&self) -> Option<Nanos> {
        self.mtus.next_deadline()
    }

    pub fn expire(&mut self, now: Nanos) -> bool {
        self.mtus.expire(now)
    }
}

impl Net {
    /// The path MTU learned toward `dst`, if any (RouteOut.mtu takes the minimum).
    pub fn pmtu6(&self, dst: Ipv6Addr) -> Option<u32> {
        self.ipv6.pmtu.get(dst)
    }

    /// `ip6_update_pmtu`: a Packet Too Big reported `mtu` for `dst`. Ignored unless it
    /// lowers the current path MTU (RFC 8201 §4: never raise on a PTB).
    pub(crate) fn ip6_update_pmtu(&mut self, now: Nanos, dst: Ipv6Addr, mtu: u32) -> bool {
        let path = match self.route_output6(dst, None, None) {
            Ok(rt) => rt.mtu,
            Err(_) => return false,
        };
        let secs = u64::from(self.sysctl.ipv6.route_mtu_expires);
        let expires = now.saturating_add(secs * 1_000_000_000);
        self.ipv6.pmtu.update(expires, dst, mtu, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

    #[test]
    fn lowers_clamps_and_expires() {
        let mut c = Pmtu6Cache::default();
        let exp = 600 * 1_000_000_000;
        c.update(exp, D, 1600, 1500);
        assert_eq!(c.get(D), None, "never raises");
        c.update(exp, D, 1400, 1500);
        assert_eq!(c.get(D), Some(1400));
        c.update(exp, D, 576, 1400);
        assert_eq!(c.get(D), Some(MIN_PMTU), "clamped to 1280");
        c.expire(exp);
        assert_eq!(c.get(D), None);
        assert!(c.next_deadline().is_none());
    }
}
