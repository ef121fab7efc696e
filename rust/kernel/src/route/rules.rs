//! Policy routing rules (`ip rule`; Linux `net/core/fib_rules.c`, `fib4_rules.c`):
//! an ordered list of selectors (source and destination prefix, input and output
//! device, TOS) each naming a table to look in or a verdict. A lookup walks the rules
//! by priority; a table without a matching route passes on to the next rule.

use super::{Fib, Route};
use crate::dev::{IfIndex, prefix_mask};
use crate::{Errno, SysResult};
use std::net::IpAddr;

pub const RT_TABLE_DEFAULT: u32 = 253;

/// What a matching rule does (Linux `FR_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Look in this table (FR_ACT_TO_TBL).
    Table(u32),
    /// Drop silently: EINVAL for local senders (FR_ACT_BLACKHOLE).
    Blackhole,
    /// ENETUNREACH (FR_ACT_UNREACHABLE).
    Unreachable,
    /// EACCES (FR_ACT_PROHIBIT).
    Prohibit,
}

/// One rule as `ip rule add` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u32,
    /// `from PREFIX`, `to PREFIX`.
    pub src: Option<(IpAddr, u8)>,
    pub dst: Option<(IpAddr, u8)>,
    /// `iif DEV`, `oif DEV` (locally generated traffic has input device `lo`).
    pub iif: Option<IfIndex>,
    pub oif: Option<IfIndex>,
    pub tos: u8,
    /// `not`: the selector is inverted.
    pub invert: bool,
    pub action: RuleAction,
    /// RTPROT_* of whoever added it.
    pub protocol: u8,
}

impl Rule {
    /// `ip rule add [from ...] lookup TABLE` with everything else unset.
    pub fn lookup(priority: u32, table: u32) -> Rule {
        Rule {
            priority,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            tos: 0,
            invert: false,
            action: RuleAction::Table(table),
            protocol: super::RTPROT_BOOT,
        }
    }

    /// Linux's three default rules: 0 local, 32766 main, 32767 default.
    pub(super) fn defaults() -> Vec<Rule> {
        [(0, super::RT_TABLE_LOCAL), (32766, super::RT_TABLE_MAIN), (32767, RT_TABLE_DEFAULT)]
            .into_iter()
            .map(|(p, t)| Rule { protocol: super::RTPROT_KERNEL, ..Rule::lookup(p, t) })
            .collect()
    }

    /// IPv6's two default rules: 0 local, 32766 main (`fib6_rules_net_init`).
    pub(super) fn defaults6() -> Vec<Rule> {
        let mut v = Rule::defaults();
        v.truncate(2);
        v
    }

    /// Linux `fib4_rule_match`/`fib6_rule_match` + `fib_rule_match`.
    fn matches(&self, k: &FlowKey) -> bool {
        let prefix_ok = |sel: Option<(IpAddr, u8)>, a: Option<IpAddr>| match (sel, a) {
            (None, _) => true,
            (Some((IpAddr::V4(n), len)), Some(IpAddr::V4(a))) => {
                (u32::from(n) ^ u32::from(a)) & prefix_mask(len) == 0
            }
            (Some((IpAddr::V6(n), len)), Some(IpAddr::V6(a))) => {
                (u128::from(n) ^ u128::from(a)) & super::prefix_mask6(len) == 0
            }
            (Some((_, 0)), _) => true,
            _ => false,
        };
        let m = prefix_ok(self.src, k.src)
            && prefix_ok(self.dst, Some(k.dst))
            && self.iif.is_none_or(|i| k.iif == Some(i))
            && self.oif.is_none_or(|o| k.oif == Some(o))
            && (self.tos == 0 || self.tos == k.tos);
        m != self.invert
    }

    /// Same selectors and action (what `ip rule del` compares, unset fields match).
    fn selects(&self, req: &Rule) -> bool {
        (req.priority == 0 || req.priority == self.priority)
            && (req.src.is_none() || req.src == self.src)
            && (req.dst.is_none() || req.dst == self.dst)
            && (req.iif.is_none() || req.iif == self.iif)
            && (req.oif.is_none() || req.oif == self.oif)
            && (req.tos == 0 || req.tos == self.tos)
            && req.invert == self.invert
            && (req.action == RuleAction::Table(0) || req.action == self.action)
    }
}

/// What a route lookup knows of the packet (Linux `struct flowi4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub dst: IpAddr,
    pub src: Option<IpAddr>,
    pub iif: Option<IfIndex>,
    pub oif: Option<IfIndex>,
    pub tos: u8,
}

impl Fib {
    /// `ip rule add`: with `priority` None the rule goes just before the last
    /// non-default one (Linux `fib_default_rule_pref`: one below the second rule).
    /// EEXIST for an identical rule (NLM_F_EXCL, as iproute2 sends it).
    pub fn rule_add(&mut self, r: Rule, priority: Option<u32>) -> SysResult<()> {
        self.invalidate();
        add_rule(&mut self.rules, r, priority)
    }

    /// `ip -6 rule add`, as `rule_add` on the IPv6 list.
    pub fn rule_add6(&mut self, r: Rule, priority: Option<u32>) -> SysResult<()> {
        self.invalidate();
        add_rule(&mut self.rules6, r, priority)
    }

    /// `ip rule del`: the first rule the request selects; ENOENT if none.
    pub fn rule_del(&mut self, req: &Rule) -> SysResult<Rule> {
        self.invalidate();
        let i = self.rules.iter().position(|r| r.selects(req)).ok_or(Errno::ENOENT)?;
        Ok(self.rules.remove(i))
    }

    /// `ip -6 rule del`.
    pub fn rule_del6(&mut self, req: &Rule) -> SysResult<Rule> {
        self.invalidate();
        let i = self.rules6.iter().position(|r| r.selects(req)).ok_or(Errno::ENOENT)?;
        Ok(self.rules6.remove(i))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rules6(&self) -> &[Rule] {
        &self.rules6
    }

    /// Linux `fib_lookup` through the rules: the route, or the errno a rule verdict
    /// or the absence of any route gives (ENETUNREACH).
    pub fn lookup_flow(
        &self,
        k: &FlowKey,
        usable: impl Fn(IfIndex) -> bool,
    ) -> Result<&Route, Errno> {
        let rules = if k.dst.is_ipv6() { &self.rules6 } else { &self.rules };
        for rule in rules.iter().filter(|r| r.matches(k)) {
            let table = match rule.action {
                RuleAction::Table(t) => t,
                RuleAction::Blackhole => return Err(Errno::EINVAL),
                RuleAction::Unreachable => return Err(Errno::ENETUNREACH),
                RuleAction::Prohibit => return Err(Errno::EACCES),
            };
            if let Some(r) = self.table(table).and_then(|t| t.lookup(k.dst, k.oif, &usable)) {
                return Ok(r);
            }
        }
        Err(Errno::ENETUNREACH)
    }
}

/// With `priority` None the rule goes just before the last non-default one (Linux
/// `fib_default_rule_pref`: one below the second rule). EEXIST for an identical rule
/// (NLM_F_EXCL, as iproute2 sends it).
fn add_rule(rules: &mut Vec<Rule>, mut r: Rule, priority: Option<u32>) -> SysResult<()> {
    r.priority = match priority {
        Some(p) => p,
        None => rules.get(1).map_or(0, |x| x.priority.saturating_sub(1)),
    };
    if rules.contains(&r) {
        return Err(Errno::EEXIST);
    }
    let at = rules.partition_point(|x| x.priority <= r.priority);
    rules.insert(at, r);
    Ok(())
}
