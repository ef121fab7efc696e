//! The FIB (Linux `fib_frontend.c`, `fib_trie.c`, `fib_semantics.c`): routing tables
//! keyed by table id, looked up local (255) then main (254) as Linux's default rules
//! do. Each table holds one ordered map per prefix length, so a lookup is at most 33
//! map probes (O(32 log n)); aliases of one prefix are kept ordered by metric.
//! Policy rules (`rules.rs`) choose the table; a route may have several weighted next
//! hops (ECMP, chosen per flow by `ipv4::route`). IPv6 routes live in the same
//! tables in one map keyed by (prefix length, network), probed per length in use
//! (at most 129 probes), with their own rule list (`ip -6 rule`).

mod rules;
pub use rules::{FlowKey, RT_TABLE_DEFAULT, Rule, RuleAction};

use crate::dev::{IfIndex, prefix_mask};
use crate::{Errno, Nanos, SysResult};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Route types with Linux's `RTN_*` meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum RouteKind {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Blackhole,
    Unreachable,
    Prohibit,
    /// `multicast ff00::/8 dev X table local` (IPv6 only).
    Multicast,
    /// The subnet-router anycast address of a forwarding device (IPv6 only).
    Anycast,
}

impl RouteKind {
    /// The errno an output lookup hitting this type returns (Linux `fib_props`).
    pub fn output_error(self) -> Option<Errno> {
        match self {
            RouteKind::Blackhole => Some(Errno::EINVAL),
            RouteKind::Unreachable => Some(Errno::EHOSTUNREACH),
            RouteKind::Prohibit => Some(Errno::EACCES),
            _ => None,
        }
    }
}

/// `RTPROT_KERNEL`: routes the kernel derives from addresses.
pub const RTPROT_KERNEL: u8 = 2;
pub const RTPROT_BOOT: u8 = 3;
/// `RTPROT_RA`: learned from a router advertisement.
pub const RTPROT_RA: u8 = 9;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
pub const RT_TABLE_MAIN: u32 = 254;
pub const RT_TABLE_LOCAL: u32 = 255;

/// `ESRCH`: what Linux returns when deleting a route that does not exist.
pub const ESRCH: Errno = Errno(3);

/// One route as `ip route add` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub oif: Option<IfIndex>,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    pub metric: u32,
    pub kind: RouteKind,
    /// `RTPROT_*`: 2 kernel, 3 boot, 4 static...
    pub protocol: u8,
    /// `RT_SCOPE_*`: 0 universe, 253 link, 254 host.
    pub scope: u8,
    /// Routing table id (254 = main, 255 = local).
    pub table: u32,
    /// ECMP paths (`nexthop via GW dev DEV weight W ...`); empty for a single path,
    /// which `gateway` and `oif` describe.
    pub nexthops: Vec<NextHop>,
    /// End of the route's lifetime (IPv6 routes from advertisements, `expires`).
    pub expires: Option<Nanos>,
    /// The `mtu` metric (RTAX_MTU), 0 when unset.
    pub mtu: u32,
}

/// The netmask of an IPv6 prefix length (0..=128).
pub fn prefix_mask6(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) }
}

/// Where a route lives in a table.
#[derive(Debug, Clone, Copy)]
enum Key {
    V4(usize, u32),
    V6(u8, u128),
}

/// One path of a multipath route (Linux `struct fib_nh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    pub oif: Option<IfIndex>,
    /// 1..=256 (`rtnh_hops` + 1).
    pub weight: u16,
}

impl Route {
    /// A static unicast route in the main table, as `ip route add dst/len via gw`.
    pub fn new(
        dst: IpAddr,
        prefix_len: u8,
        gateway: Option<IpAddr>,
        oif: Option<IfIndex>,
    ) -> Route {
        Route {
            dst,
            prefix_len,
            gateway,
            oif,
            src: None,
            metric: 0,
            kind: RouteKind::Unicast,
            protocol: RTPROT_BOOT,
            scope: if gateway.is_some() { RT_SCOPE_UNIVERSE } else { RT_SCOPE_LINK },
            table: RT_TABLE_MAIN,
            nexthops: Vec::new(),
            expires: None,
            mtu: 0,
        }
    }

    /// A route of another type (`ip route add blackhole|unreachable|prohibit dst/len`).
    pub fn of_kind(dst: IpAddr, prefix_len: u8, kind: RouteKind) -> Route {
        Route { kind, scope: RT_SCOPE_UNIVERSE, ..Route::new(dst, prefix_len, None, None) }
    }

    /// The destination with host bits cleared; None if the prefix length is invalid.
    fn key(&self) -> Option<Key> {
        let len = self.prefix_len;
        match self.dst {
            IpAddr::V4(a) if len <= 32 => {
                Some(Key::V4(usize::from(len), u32::from(a) & prefix_mask(len)))
            }
            IpAddr::V6(a) if len <= 128 => Some(Key::V6(len, u128::from(a) & prefix_mask6(len))),
            _ => None,
        }
    }

    pub fn is_v6(&self) -> bool {
        self.dst.is_ipv6()
    }

    /// True if `other` (a delete request) selects this route, as `fib_table_delete`
    /// matches: unset fields in the request match anything.
    fn matches(&self, req: &Route) -> bool {
        (req.gateway.is_none() || req.gateway == self.gateway)
            && (req.oif.is_none() || req.oif == self.oif)
            && (req.src.is_none() || req.src == self.src)
            && (req.metric == 0 || req.metric == self.metric)
            && (req.kind == RouteKind::Unicast || req.kind == self.kind)
    }
}

/// One routing table.
struct Table {
    /// Index = prefix length; key = network; aliases ordered by metric, then age.
    v4: Vec<BTreeMap<u32, Vec<Route>>>,
    /// Bit n set when prefix length n holds routes: lookups probe only those.
    v4_lens: u64,
    /// IPv6: (prefix length, network) → aliases ordered by metric, then age.
    v6: BTreeMap<(u8, u128), Vec<Route>>,
    /// Bit n of word n/64 set when prefix length n holds IPv6 routes.
    v6_lens: [u64; 3],
}

impl Default for Table {
    fn default() -> Self {
        Table {
            v4: (0..=32).map(|_| BTreeMap::new()).collect(),
            v4_lens: 0,
            v6: BTreeMap::new(),
            v6_lens: [0; 3],
        }
    }
}

/// All routing tables and policy rules of one namespace.
pub struct Fib {
    tables: BTreeMap<u32, Table>,
    rules: Vec<Rule>,
    /// `ip -6 rule`: IPv6 has its own list (`fib6_rules.c`).
    rules6: Vec<Rule>,
    /// Bumped by every change here and by `invalidate` (Linux `rt_genid`).
    genid: u64,
}

impl Default for Fib {
    fn default() -> Self {
        Fib {
            tables: BTreeMap::new(),
            rules: Rule::defaults(),
            rules6: Rule::defaults6(),
            genid: 0,
        }
    }
}

impl Fib {
    fn table(&self, id: u32) -> Option<&Table> {
        self.tables.get(&id)
    }

    /// The generation that cached lookups are valid for.
    pub fn genid(&self) -> u64 {
        self.genid
    }

    /// Invalidates cached lookups after a change outside the tables that alters what a
    /// lookup means (device, address, PMTU, redirect, sysctl: Linux `rt_cache_flush`).
    pub fn invalidate(&mut self) {
        self.genid += 1;
    }

    /// Adds a route (`NLM_F_CREATE|NLM_F_EXCL`): EEXIST if a route with the same prefix,
    /// metric and table is present.
    pub fn insert(&mut self, r: Route) -> SysResult<()> {
        self.invalidate();
        let key = r.key().ok_or(Errno::EINVAL)?;
        let v = self.tables.entry(r.table).or_default().slot_entry(key);
        if v.iter().any(|e| e.metric == r.metric) {
            return Err(Errno::EEXIST);
        }
        let at = v.iter().position(|e| e.metric > r.metric).unwrap_or(v.len());
        v.insert(at, r);
        Ok(())
    }

    /// Adds a route after the aliases of equal metric (`NLM_F_APPEND`, as `fib_magic`
    /// adds kernel routes); an identical route is not added twice.
    pub fn append(&mut self, r: Route) -> SysResult<()> {
        self.invalidate();
        let key = r.key().ok_or(Errno::EINVAL)?;
        let v = self.tables.entry(r.table).or_default().slot_entry(key);
        if v.contains(&r) {
            return Err(Errno::EEXIST);
        }
        let at = v.iter().position(|e| e.metric > r.metric).unwrap_or(v.len());
        v.insert(at, r);
        Ok(())
    }

    /// `ip route replace` (`NLM_F_CREATE|NLM_F_REPLACE`): takes the place of the route
    /// with the same prefix, table and metric, or is added.
    pub fn replace(&mut self, r: Route) -> SysResult<()> {
        self.invalidate();
        let key = r.key().ok_or(Errno::EINVAL)?;
        let same = self
            .tables
            .get_mut(&r.table)
            .and_then(|t| t.slot(key))
            .and_then(|v| v.iter_mut().find(|e| e.metric == r.metric));
        if let Some(e) = same {
            *e = r;
            return Ok(());
        }
        self.insert(r)
    }

    /// Deletes the first route selected by `req` (`ip route del`); ESRCH if none.
    pub fn remove(&mut self, req: &Route) -> SysResult<Route> {
        self.invalidate();
        let key = req.key().ok_or(Errno::EINVAL)?;
        let t = self.tables.get_mut(&req.table).ok_or(ESRCH)?;
        let v = t.slot(key).ok_or(ESRCH)?;
        let i = v.iter().position(|e| e.matches(req)).ok_or(ESRCH)?;
        let r = v.remove(i);
        t.drop_if_empty(key);
        t.sync_lens();
        Ok(r)
    }

    /// Keeps the IPv4 routes for which `keep` holds (IPv6 ones: `retain6`).
    pub fn retain(&mut self, mut keep: impl FnMut(&Route) -> bool) {
        self.invalidate();
        for t in self.tables.values_mut() {
            for m in t.v4.iter_mut() {
                m.retain(|_, v| {
                    v.retain(&mut keep);
                    !v.is_empty()
                });
            }
            t.sync_lens();
        }
    }

    /// Keeps the IPv6 routes for which `keep` holds.
    pub fn retain6(&mut self, mut keep: impl FnMut(&Route) -> bool) {
        self.invalidate();
        for t in self.tables.values_mut() {
            t.v6.retain(|_, v| {
                v.retain(&mut keep);
                !v.is_empty()
            });
            t.sync_lens();
        }
    }

    /// Updates in place the IPv6 routes `f` returns true for, without a change of
    /// key (lifetimes refreshed by advertisements).
    pub fn update6(&mut self, mut f: impl FnMut(&mut Route) -> bool) {
        let mut changed = false;
        for t in self.tables.values_mut() {
            for r in t.v6.values_mut().flatten() {
                changed |= f(r);
            }
        }
        if changed {
            self.invalidate();
        }
    }

    /// Longest-prefix match over local then main (`fib_lookup`). With `oif`, only routes
    /// through that device (or device-less reject routes) qualify, as `fib_table_lookup`
    /// does for a bound flow. `usable` says whether a device may carry traffic.
    pub fn lookup(
        &self,
        dst: IpAddr,
        oif: Option<IfIndex>,
        usable: impl Fn(IfIndex) -> bool,
    ) -> Option<&Route> {
        [RT_TABLE_LOCAL, RT_TABLE_MAIN]
            .iter()
            .filter_map(|id| self.tables.get(id))
            .find_map(|t| t.lookup(dst, oif, &usable))
    }

    /// Every IPv4 route in table order (table, prefix length descending, network), for
    /// `ip route show` and /proc/net/route.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.tables
            .values()
            .flat_map(|t| t.v4.iter().rev().flat_map(|m| m.values().flat_map(|v| v.iter())))
    }

    /// Every IPv6 route, table by table in the fib6 tree's order (`inet6_dump_fib`):
    /// a prefix after the more specific prefixes under it, the 0 branch before the 1
    /// branch, aliases by metric.
    pub fn routes6(&self) -> Vec<&Route> {
        let mut out = Vec::new();
        for t in self.tables.values() {
            let mut keys: Vec<&(u8, u128)> = t.v6.keys().collect();
            keys.sort_by(|a, b| tree_order(**a, **b));
            out.extend(keys.into_iter().flat_map(|k| t.v6[k].iter()));
        }
        out
    }
}

/// Post-order of the fib6 radix tree for (length, network) keys.
pub fn tree_order(a: (u8, u128), b: (u8, u128)) -> std::cmp::Ordering {
    let common = ((a.1 ^ b.1).leading_zeros() as u8).min(a.0).min(b.0);
    if common == a.0.min(b.0) {
        return b.0.cmp(&a.0);
    }
    a.1.cmp(&b.1)
}

impl Table {
    fn sync_lens(&mut self) {
        self.v4_lens =
            self.v4.iter().enumerate().filter(|(_, m)| !m.is_empty()).map(|(i, _)| 1 << i).sum();
        self.v6_lens = [0; 3];
        for &(len, _) in self.v6.keys() {
            self.v6_lens[usize::from(len / 64)] |= 1 << (len % 64);
        }
    }

    /// The aliases at `k`, created empty if absent.
    fn slot_entry(&mut self, k: Key) -> &mut Vec<Route> {
        match k {
            // Most prefixes hold one route: room for exactly one (a default-grown Vec
            // would reserve four).
            Key::V4(len, net) => {
                self.v4_lens |= 1 << len;
                self.v4[len].entry(net).or_insert_with(|| Vec::with_capacity(1))
            }
            Key::V6(len, net) => {
                self.v6_lens[usize::from(len / 64)] |= 1 << (len % 64);
                self.v6.entry((len, net)).or_insert_with(|| Vec::with_capacity(1))
            }
        }
    }

    fn slot(&mut self, k: Key) -> Option<&mut Vec<Route>> {
        match k {
            Key::V4(len, net) => self.v4[len].get_mut(&net),
            Key::V6(len, net) => self.v6.get_mut(&(len, net)),
        }
    }

    fn drop_if_empty(&mut self, k: Key) {
        match k {
            Key::V4(len, net) if self.v4[len].get(&net).is_some_and(|v| v.is_empty()) => {
                self.v4[len].remove(&net);
            }
            Key::V6(len, net) if self.v6.get(&(len, net)).is_some_and(|v| v.is_empty()) => {
                self.v6.remove(&(len, net));
            }
            _ => {}
        }
    }

    fn lookup(
        &self,
        dst: IpAddr,
        oif: Option<IfIndex>,
        usable: &impl Fn(IfIndex) -> bool,
    ) -> Option<&Route> {
        match dst {
            IpAddr::V4(a) => self.lookup_v4(a, oif, usable),
            IpAddr::V6(a) => self.lookup_v6(a, oif, usable),
        }
    }

    fn lookup_v6(
        &self,
        a: Ipv6Addr,
        oif: Option<IfIndex>,
        usable: &impl Fn(IfIndex) -> bool,
    ) -> Option<&Route> {
        let a = u128::from(a);
        for len in (0..=128u8).rev() {
            if self.v6_lens[usize::from(len / 64)] & (1 << (len % 64)) == 0 {
                continue;
            }
            let Some(v) = self.v6.get(&(len, a & prefix_mask6(len))) else { continue };
            if let Some(hit) = v.iter().find(|r| hit_ok(r, oif, usable)) {
                return Some(hit);
            }
        }
        None
    }

    fn lookup_v4(
        &self,
        a: Ipv4Addr,
        oif: Option<IfIndex>,
        usable: &impl Fn(IfIndex) -> bool,
    ) -> Option<&Route> {
        let a = u32::from(a);
        for len in (0..=32u8).rev().filter(|l| self.v4_lens & (1 << l) != 0) {
            let Some(v) = self.v4[usize::from(len)].get(&(a & prefix_mask(len))) else {
                continue;
            };
            let hit = v.iter().find(|r| hit_ok(r, oif, usable));
            if hit.is_some() {
                return hit;
            }
        }
        None
    }
}

/// A route qualifies for a lookup bound to `oif` through a usable device. A local
/// route stays usable on a down device (`fib_sync_down_dev` spares host-scope nexthops).
fn hit_ok(r: &Route, oif: Option<IfIndex>, usable: &impl Fn(IfIndex) -> bool) -> bool {
    match r.oif {
        Some(dev) => (r.kind == RouteKind::Local || usable(dev)) && oif.is_none_or(|o| o == dev),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fib() -> Fib {
        let mut f = Fib::default();
        f.insert(Route::new(v4("10.0.0.0"), 8, None, Some(2))).unwrap();
        f.insert(Route::new(v4("10.1.0.0"), 16, None, Some(3))).unwrap();
        f.insert(Route::new(v4("10.1.2.0"), 24, Some(v4("10.1.0.1")), Some(3))).unwrap();
        f.insert(Route::new(v4("0.0.0.0"), 0, Some(v4("10.0.0.1")), Some(2))).unwrap();
        f
    }

    fn oif_of(f: &Fib, dst: &str) -> Option<(u8, Option<IfIndex>)> {
        f.lookup(v4(dst), None, |_| true).map(|r| (r.prefix_len, r.oif))
    }

    #[test]
    fn longest_prefix_wins() {
        let f = fib();
        assert_eq!(oif_of(&f, "10.1.2.3"), Some((24, Some(3))));
        assert_eq!(oif_of(&f, "10.1.9.9"), Some((16, Some(3))));
        assert_eq!(oif_of(&f, "10.9.9.9"), Some((8, Some(2))));
        assert_eq!(oif_of(&f, "192.0.2.1"), Some((0, Some(2))));
    }

    #[test]
    fn no_default_no_route() {
        let mut f = fib();
        f.remove(&Route::new(v4("0.0.0.0"), 0, None, None)).unwrap();
        assert_eq!(oif_of(&f, "192.0.2.1"), None);
        assert_eq!(f.remove(&Route::new(v4("0.0.0.0"), 0, None, None)), Err(ESRCH));
    }

    #[test]
    fn metric_tie_break_and_dead_devices() {
        let mut f = Fib::default();
        let mut a = Route::new(v4("0.0.0.0"), 0, Some(v4("10.0.0.1")), Some(2));
        a.metric = 200;
        let mut b = Route::new(v4("0.0.0.0"), 0, Some(v4("10.0.1.1")), Some(3));
        b.metric = 100;
        f.insert(a.clone()).unwrap();
        f.insert(b.clone()).unwrap();
        assert_eq!(f.insert(b.clone()), Err(Errno::EEXIST));
        assert_eq!(f.lookup(v4("1.2.3.4"), None, |_| true).unwrap().oif, Some(3));
        assert_eq!(f.lookup(v4("1.2.3.4"), None, |d| d != 3).unwrap().oif, Some(2));
        assert_eq!(f.lookup(v4("1.2.3.4"), Some(2), |_| true).unwrap().oif, Some(2));
        assert!(f.lookup(v4("1.2.3.4"), None, |_| false).is_none());
    }

    #[test]
    fn local_table_first() {
        let mut f = fib();
        let mut l = Route::new(v4("10.0.0.5"), 32, None, Some(2));
        l.kind = RouteKind::Local;
        l.table = RT_TABLE_LOCAL;
        f.insert(l).unwrap();
        assert_eq!(f.lookup(v4("10.0.0.5"), None, |_| true).unwrap().kind, RouteKind::Local);
        assert_eq!(f.lookup(v4("10.0.0.6"), None, |_| true).unwrap().kind, RouteKind::Unicast);
    }

    #[test]
    fn reject_kinds() {
        let mut f = fib();
        f.insert(Route::of_kind(v4("10.1.2.128"), 25, RouteKind::Prohibit)).unwrap();
        let r = f.lookup(v4("10.1.2.200"), None, |_| true).unwrap();
        assert_eq!(r.kind.output_error(), Some(Errno::EACCES));
        assert_eq!(RouteKind::Blackhole.output_error(), Some(Errno::EINVAL));
        assert_eq!(RouteKind::Unreachable.output_error(), Some(Errno::EHOSTUNREACH));
    }

    #[test]
    fn host_bits_are_ignored_and_bad_len_rejected() {
        let mut f = Fib::default();
        f.insert(Route::new(v4("10.1.2.3"), 16, None, Some(2))).unwrap();
        assert_eq!(oif_of(&f, "10.1.200.1"), Some((16, Some(2))));
        assert_eq!(f.insert(Route::new(v4("10.0.0.0"), 33, None, Some(2))), Err(Errno::EINVAL));
    }

    #[test]
    fn replace_swaps_same_metric() {
        let mut f = fib();
        f.replace(Route::new(v4("0.0.0.0"), 0, Some(v4("10.1.0.9")), Some(3))).unwrap();
        assert_eq!(oif_of(&f, "192.0.2.1"), Some((0, Some(3))));
        assert_eq!(f.routes().count(), 4);
        f.replace(Route::new(v4("172.16.0.0"), 12, None, Some(2))).unwrap();
        assert_eq!(f.routes().count(), 5);
    }

    #[test]
    fn retain_removes_device_routes() {
        let mut f = fib();
        f.retain(|r| r.oif != Some(3));
        assert_eq!(oif_of(&f, "10.1.2.3"), Some((8, Some(2))));
        assert_eq!(f.routes().count(), 2);
    }
}
