//! Path MTU exceptions (RFC 1191; Linux `__ip_rt_update_pmtu` and the fib nexthop
//! exceptions): a "fragmentation needed" lowers the MTU toward its destination for
//! `ip_rt_mtu_expires` (600 s), never below `ip_rt_min_pmtu` (552).

use super::nh_exception::NhExceptions;
use crate::Nanos;
use std::net::Ipv4Addr;

/// Linux `ip_rt_min_pmtu`: 512 + 20 + 20.
pub const MIN_PMTU: u32 = 552;
/// Linux `ip_rt_mtu_expires`.
const MTU_EXPIRES: Nanos = 600 * 1_000_000_000;

#[derive(Default)]
pub(super) struct PmtuCache {
    mtus: NhExceptions<u32>,
}

impl PmtuCache {
    pub(super) fn get(&self, dst: Ipv4Addr) -> Option<u32> {
        self.mtus.get(dst).copied()
    }

    /// Records a reported next-hop MTU if it lowers what `dst` has now (`path_mtu`);
    /// true if it did.
    pub(super) fn update(
        &mut self,
        now: Nanos,
        dst: Ipv4Addr,
        reported: u32,
        path_mtu: u32,
    ) -> bool {
        let mtu = reported.max(MIN_PMTU);
        if mtu >= path_mtu {
            return false;
        }
        self.mtus.insert(dst, mtu, now + MTU_EXPIRES);
        true
    }

    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.mtus.next_deadline()
    }

    pub(super) fn expire(&mut self, now: Nanos) -> bool {
        self.mtus.expire(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn lowers_clamps_and_expires() {
        let mut c = PmtuCache::default();
        c.update(0, D, 1600, 1500);
        assert_eq!(c.get(D), None, "never raises");
        c.update(0, D, 1400, 1500);
        assert_eq!(c.get(D), Some(1400));
        c.update(1, D, 100, 1400);
        assert_eq!(c.get(D), Some(MIN_PMTU));
        c.expire(MTU_EXPIRES);
        assert_eq!(c.get(D), Some(MIN_PMTU));
        c.expire(MTU_EXPIRES + 1);
        assert_eq!(c.get(D), None);
        assert!(c.next_deadline().is_none());
    }
}
