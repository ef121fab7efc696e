//! A small lookup cache in front of the FIB for the per-packet paths: output routes
//! (`route_output`) and input classification (`route_input`). Entries carry the FIB's
//! generation and are ignored once it moves on — Linux's `rt_genid`, bumped by
//! `rt_cache_flush` on any routing, address, device, PMTU, redirect or sysctl change.
//! Direct-mapped with a fixed number of slots, so it never grows (the reason Linux
//! dropped its unbounded route cache), and allocated on first use so idle instances
//! stay small.

use super::OutKey;
use crate::net::RouteOut;
use std::cell::{Cell, OnceCell};

const SLOTS: usize = 8;

#[derive(Clone, Copy)]
struct Slot<K, V> {
    genid: u64,
    key: K,
    value: V,
}

type Slots<K, V> = Box<[Cell<Option<Slot<K, V>>>; SLOTS]>;

pub(super) struct DstCache<K, V> {
    slots: OnceCell<Slots<K, V>>,
}

impl<K, V> Default for DstCache<K, V> {
    fn default() -> Self {
        DstCache { slots: OnceCell::new() }
    }
}

impl<K: Copy + Eq, V: Copy> DstCache<K, V> {
    /// The cached value for `key` if it was stored under generation `genid`, else
    /// computes it with `slow` and caches a successful result.
    pub(super) fn get_or<E>(
        &self,
        genid: u64,
        key: K,
        hash: u32,
        slow: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let slot = &self.slots.get_or_init(|| Box::new(std::array::from_fn(|_| Cell::new(None))))
            [(hash.wrapping_mul(0x9e37_79b1) >> (32 - SLOTS.trailing_zeros())) as usize];
        if let Some(s) = slot.get().filter(|s| s.genid == genid && s.key == key) {
            return Ok(s.value);
        }
        let value = slow()?;
        slot.set(Some(Slot { genid, key, value }));
        Ok(value)
    }
}

/// A socket's cached output route (Linux `sk_dst_cache`, checked as `__sk_dst_check`
/// does): reused while the FIB generation and the flow it was looked up for are
/// unchanged, so a connection skips the shared cache's hashing for every segment.
#[derive(Debug, Default, Clone, Copy)]
pub struct SkDst(Option<SkDstEntry>);

#[derive(Debug, Clone, Copy)]
struct SkDstEntry {
    genid: u64,
    flow: OutKey,
    rt: RouteOut,
}

impl SkDst {
    pub(super) fn get(&self, genid: u64, flow: OutKey) -> Option<RouteOut> {
        self.0.filter(|e| e.genid == genid && e.flow == flow).map(|e| e.rt)
    }

    pub(super) fn set(&mut self, genid: u64, flow: OutKey, rt: RouteOut) {
        self.0 = Some(SkDstEntry { genid, flow, rt });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_generation() {
        let c: DstCache<u32, u32> = DstCache::default();
        let calls = Cell::new(0);
        let get = |g, k| {
            c.get_or::<()>(g, k, k, || {
                calls.set(calls.get() + 1);
                Ok(k * 10)
            })
        };
        assert_eq!(get(1, 7), Ok(70));
        assert_eq!(get(1, 7), Ok(70));
        assert_eq!(get(2, 7), Ok(70), "a new generation recomputes");
        assert_eq!(get(2, 8), Ok(80));
        assert_eq!(calls.get(), 3);
        let r: Result<u32, &str> = c.get_or(2, 9, 9, || Err("no route"));
        assert_eq!(r, Err("no route"), "errors are not cached");
    }

    #[test]
    fn socket_route_is_checked_against_generation_and_flow() {
        use std::net::{IpAddr, Ipv4Addr};
        let a = Ipv4Addr::new(10, 0, 0, 2);
        let rt = RouteOut {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            oif: 2,
            next_hop: IpAddr::V4(a),
            mtu: 1500,
            broadcast: false,
            local: false,
        };
        let mut d = SkDst::default();
        assert_eq!(d.get(1, (a, None, None)), None);
        d.set(1, (a, None, None), rt);
        assert_eq!(d.get(1, (a, None, None)), Some(rt));
        assert_eq!(d.get(2, (a, None, None)), None, "the FIB changed");
        assert_eq!(d.get(1, (a, None, Some(3))), None, "bound to another device since");
    }
}
