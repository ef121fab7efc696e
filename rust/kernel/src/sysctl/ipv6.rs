//! `net.ipv6.*`: the namespace-wide knobs and the per-device `net.ipv6.conf.<dev>.*`
//! (Linux `addrconf.c` `addrconf_sysctl`, `ipv6_devconf`/`ipv6_devconf_dflt`). A device's
//! knobs are one small array of i32 indexed by `Knob`, with Linux's defaults, bounds and
//! the `all` propagation of `addrconf_fixup_forwarding`.

use super::ipv4::named_dev;
use super::{Entry, Kind, Sysctl};
use crate::Errno;
use crate::dev::{DevConf6, DevTable};
use crate::sysctl_int;
use std::net::Ipv6Addr;

/// `net.ipv6.*` outside the per-device tree.
#[derive(Debug, Clone)]
pub struct Ipv6Sysctl {
    pub bindv6only: bool,
    /// `icmp.ratelimit`, milliseconds between rate-limited ICMPv6 errors.
    pub icmp_ratelimit_ms: u32,
    pub icmp_echo_ignore_all: bool,
    pub icmp_echo_ignore_multicast: bool,
    pub icmp_echo_ignore_anycast: bool,
    pub ip6frag_high_thresh: u32,
    pub ip6frag_low_thresh: u32,
    /// Seconds a partial datagram waits for its fragments.
    pub ip6frag_time: u32,
    /// `route.mtu_expires`, seconds a learned path MTU lasts.
    pub route_mtu_expires: u32,
    pub route_min_adv_mss: u32,
    pub route_gc_timeout: u32,
    pub flowlabel_consistency: bool,
    pub auto_flowlabels: u8,
    pub ip_nonlocal_bind: bool,
    pub max_dst_opts_number: i32,
    pub max_hbh_opts_number: i32,
    pub max_dst_opts_length: i32,
    pub max_hbh_length: i32,
    pub anycast_src_echo_reply: bool,
    pub fib_multipath_hash_policy: u8,
    pub fib_multipath_hash_fields: u32,
    pub fib_notify_on_flag_change: u8,
    pub flowlabel_reflect: u8,
    pub flowlabel_state_ranges: bool,
    pub fwmark_reflect: bool,
    pub icmp_error_anycast_as_unicast: bool,
    /// `icmp.ratemask`: bit t set when ICMPv6 type t is rate limited (`icmpv6_mask_allow`).
    pub icmp_ratemask: [u64; 4],
    pub idgen_delay: u32,
    pub idgen_retries: u32,
    pub ioam6_id: u32,
    pub ioam6_id_wide: u64,
    pub route_gc_elasticity: u32,
    pub route_gc_interval: u32,
    /// `route.gc_min_interval_ms` (`gc_min_interval` is the same in seconds).
    pub route_gc_min_interval_ms: u32,
    pub route_gc_thresh: u32,
    pub route_max_size: u32,
    pub route_skip_notify_on_dev_down: bool,
    pub seg6_flowlabel: i32,
    pub xfrm6_gc_thresh: u32,
    pub conf_all: DevConf6,
    pub conf_default: DevConf6,
}

impl Default for Ipv6Sysctl {
    /// Linux 6.18 defaults (`ipv6_sysctl_net_init`, `ipv6_devconf`, `ipv6_devconf_dflt`).
    fn default() -> Self {
        let mut all = DevConf6::default();
        // `ipv6_devconf.accept_dad` is 0; `ipv6_devconf_dflt.accept_dad` is 1.
        all.set(Knob::AcceptDad, 0);
        Ipv6Sysctl {
            bindv6only: false,
            // Linux 6.18 prints 100 (`icmpv6_time`, was 1000 before 6.x).
            icmp_ratelimit_ms: 100,
            icmp_echo_ignore_all: false,
            icmp_echo_ignore_multicast: false,
            icmp_echo_ignore_anycast: false,
            ip6frag_high_thresh: 4 * 1024 * 1024,
            ip6frag_low_thresh: 3 * 1024 * 1024,
            ip6frag_time: 60,
            route_mtu_expires: 600,
            route_min_adv_mss: 1220,
            route_gc_timeout: 60,
            flowlabel_consistency: true,
            auto_flowlabels: 1,
            ip_nonlocal_bind: false,
            max_dst_opts_number: 8,
            max_hbh_opts_number: 8,
            max_dst_opts_length: i32::MAX,
            max_hbh_length: i32::MAX,
            anycast_src_echo_reply: false,
            fib_multipath_hash_policy: 0,
            fib_multipath_hash_fields: 7,
            fib_notify_on_flag_change: 0,
            flowlabel_reflect: 0,
            flowlabel_state_ranges: false,
            fwmark_reflect: false,
            icmp_error_anycast_as_unicast: false,
            // Every type but 2 (packet too big) below 128: the errors (`icmpv6_mask_allow`).
            icmp_ratemask: [!(1 << 2), u64::MAX, 0, 0],
            idgen_delay: 1,
            idgen_retries: 3,
            ioam6_id: 0x00ff_ffff,
            ioam6_id_wide: (1 << 56) - 1,
            route_gc_elasticity: 9,
            route_gc_interval: 30,
            route_gc_min_interval_ms: 500,
            route_gc_thresh: 1024,
            route_max_size: i32::MAX as u32,
            route_skip_notify_on_dev_down: false,
            seg6_flowlabel: 0,
            xfrm6_gc_thresh: 32768,
            conf_all: all,
            conf_default: DevConf6::default(),
        }
    }
}

pub static ENTRIES: &[Entry] = &[
    sysctl_int!("net.ipv6.bindv6only", ipv6.bindv6only, 0, 1),
    sysctl_int!("net.ipv6.icmp.ratelimit", ipv6.icmp_ratelimit_ms, 0, i32::MAX),
    sysctl_int!("net.ipv6.icmp.echo_ignore_all", ipv6.icmp_echo_ignore_all, 0, 1),
    sysctl_int!("net.ipv6.icmp.echo_ignore_multicast", ipv6.icmp_echo_ignore_multicast, 0, 1),
    sysctl_int!("net.ipv6.icmp.echo_ignore_anycast", ipv6.icmp_echo_ignore_anycast, 0, 1),
    sysctl_int!("net.ipv6.ip6frag_high_thresh", ipv6.ip6frag_high_thresh, 0, i32::MAX),
    sysctl_int!("net.ipv6.ip6frag_low_thresh", ipv6.ip6frag_low_thresh, 0, i32::MAX),
    sysctl_int!("net.ipv6.ip6frag_time", ipv6.ip6frag_time, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.mtu_expires", ipv6.route_mtu_expires, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.min_adv_mss", ipv6.route_min_adv_mss, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.gc_timeout", ipv6.route_gc_timeout, 0, i32::MAX),
    sysctl_int!("net.ipv6.flowlabel_consistency", ipv6.flowlabel_consistency, 0, 1),
    sysctl_int!("net.ipv6.auto_flowlabels", ipv6.auto_flowlabels, 0, 3),
    sysctl_int!("net.ipv6.ip_nonlocal_bind", ipv6.ip_nonlocal_bind, 0, 1),
    sysctl_int!("net.ipv6.max_dst_opts_number", ipv6.max_dst_opts_number, i32::MIN, i32::MAX),
    sysctl_int!("net.ipv6.max_hbh_opts_number", ipv6.max_hbh_opts_number, i32::MIN, i32::MAX),
    sysctl_int!("net.ipv6.max_dst_opts_length", ipv6.max_dst_opts_length, i32::MIN, i32::MAX),
    sysctl_int!("net.ipv6.max_hbh_length", ipv6.max_hbh_length, i32::MIN, i32::MAX),
    sysctl_int!("net.ipv6.anycast_src_echo_reply", ipv6.anycast_src_echo_reply, 0, 1),
    sysctl_int!("net.ipv6.fib_multipath_hash_policy", ipv6.fib_multipath_hash_policy, 0, 3),
    sysctl_int!("net.ipv6.fib_multipath_hash_fields", ipv6.fib_multipath_hash_fields, 1, 0xff),
    sysctl_int!("net.ipv6.fib_notify_on_flag_change", ipv6.fib_notify_on_flag_change, 0, 2),
    sysctl_int!("net.ipv6.flowlabel_reflect", ipv6.flowlabel_reflect, 0, 7),
    sysctl_int!("net.ipv6.flowlabel_state_ranges", ipv6.flowlabel_state_ranges, 0, 1),
    sysctl_int!("net.ipv6.fwmark_reflect", ipv6.fwmark_reflect, 0, 1),
    sysctl_int!("net.ipv6.icmp.error_anycast_as_unicast", ipv6.icmp_error_anycast_as_unicast, 0, 1),
    Entry {
        name: "net.ipv6.icmp.ratemask",
        kind: Kind::Str { get: |s| format_ratemask(&s.ipv6.icmp_ratemask), set: set_ratemask },
    },
    sysctl_int!("net.ipv6.idgen_delay", ipv6.idgen_delay, 0, i32::MAX),
    sysctl_int!("net.ipv6.idgen_retries", ipv6.idgen_retries, 0, i32::MAX),
    sysctl_int!("net.ipv6.ioam6_id", ipv6.ioam6_id, 0, 0x00ff_ffff),
    sysctl_int!("net.ipv6.ioam6_id_wide", ipv6.ioam6_id_wide, 0, (1i64 << 56) - 1),
    sysctl_int!("net.ipv6.route.gc_elasticity", ipv6.route_gc_elasticity, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.gc_interval", ipv6.route_gc_interval, 0, i32::MAX),
    Entry {
        name: "net.ipv6.route.gc_min_interval",
        kind: Kind::Int {
            get: |s| i64::from(s.ipv6.route_gc_min_interval_ms / 1000),
            set: |s, v| s.ipv6.route_gc_min_interval_ms = (v as u32).saturating_mul(1000),
            min: 0,
            max: (i32::MAX / 1000) as i64,
        },
    },
    sysctl_int!("net.ipv6.route.gc_min_interval_ms", ipv6.route_gc_min_interval_ms, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.gc_thresh", ipv6.route_gc_thresh, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.max_size", ipv6.route_max_size, 0, i32::MAX),
    sysctl_int!("net.ipv6.route.skip_notify_on_dev_down", ipv6.route_skip_notify_on_dev_down, 0, 1),
    sysctl_int!("net.ipv6.seg6_flowlabel", ipv6.seg6_flowlabel, -1, 1),
    sysctl_int!("net.ipv6.xfrm6_gc_thresh", ipv6.xfrm6_gc_thresh, 0, i32::MAX),
];

/// A 256-bit map as `proc_do_large_bitmap` prints it: ranges `a-b` and singles,
/// comma-separated.
fn format_ratemask(m: &[u64; 4]) -> String {
    let on = |t: usize| m[t / 64] & (1 << (t % 64)) != 0;
    let mut parts = Vec::new();
    let mut t = 0;
    while t < 256 {
        if !on(t) {
            t += 1;
            continue;
        }
        let start = t;
        while t + 1 < 256 && on(t + 1) {
            t += 1;
        }
        parts.push(if start == t { start.to_string() } else { format!("{start}-{t}") });
        t += 1;
    }
    parts.join(",")
}

/// Parses `proc_do_large_bitmap` input: comma-separated types or ranges, each ≤ 255.
fn set_ratemask(s: &mut Sysctl, v: &str) -> Result<(), Errno> {
    let mut m = [0u64; 4];
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: usize = a.trim().parse().map_err(|_| Errno::EINVAL)?;
        let b: usize = b.trim().parse().map_err(|_| Errno::EINVAL)?;
        if a > b || b > 255 {
            return Err(Errno::EINVAL);
        }
        for t in a..=b {
            m[t / 64] |= 1 << (t % 64);
        }
    }
    s.ipv6.icmp_ratemask = m;
    Ok(())
}

const ANY: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);
const U32: (i64, i64) = (0, u32::MAX as i64);

macro_rules! knobs {
    ($($v:ident $name:literal $dflt:expr, $range:expr;)*) => {
        /// The per-device knobs, in `sysctl -a` (alphabetical) order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Knob { $($v),* }
        /// (name, default, (min, max)) per knob, indexed by `Knob`.
        pub(crate) const KNOBS: &[(&str, i64, (i64, i64))] = &[$(($name, $dflt, $range)),*];
    };
}

knobs! {
    AcceptDad "accept_dad" 1, ANY;
    AcceptRa "accept_ra" 1, ANY;
    AcceptRaDefrtr "accept_ra_defrtr" 1, ANY;
    AcceptRaFromLocal "accept_ra_from_local" 0, ANY;
    AcceptRaMinHopLimit "accept_ra_min_hop_limit" 1, ANY;
    AcceptRaMinLft "accept_ra_min_lft" 0, ANY;
    AcceptRaMtu "accept_ra_mtu" 1, ANY;
    AcceptRaPinfo "accept_ra_pinfo" 1, ANY;
    AcceptRaRtInfoMaxPlen "accept_ra_rt_info_max_plen" 0, ANY;
    AcceptRaRtInfoMinPlen "accept_ra_rt_info_min_plen" 0, ANY;
    AcceptRaRtrPref "accept_ra_rtr_pref" 1, ANY;
    AcceptRedirects "accept_redirects" 1, ANY;
    AcceptSourceRoute "accept_source_route" 0, ANY;
    AcceptUntrackedNa "accept_untracked_na" 0, (0, 2);
    AddrGenMode "addr_gen_mode" 0, (0, 3);
    Autoconf "autoconf" 1, ANY;
    DadTransmits "dad_transmits" 1, ANY;
    DisableIpv6 "disable_ipv6" 0, ANY;
    DisablePolicy "disable_policy" 0, ANY;
    DropUnicastInL2Multicast "drop_unicast_in_l2_multicast" 0, ANY;
    DropUnsolicitedNa "drop_unsolicited_na" 0, ANY;
    EnhancedDad "enhanced_dad" 1, ANY;
    ForceForwarding "force_forwarding" 0, (0, 1);
    ForceMldVersion "force_mld_version" 0, ANY;
    ForceTllao "force_tllao" 0, ANY;
    Forwarding "forwarding" 0, ANY;
    HopLimit "hop_limit" 64, (1, 255);
    IgnoreRoutesWithLinkdown "ignore_routes_with_linkdown" 0, ANY;
    Ioam6Enabled "ioam6_enabled" 0, (0, 1);
    Ioam6Id "ioam6_id" 65535, (0, 65535);
    Ioam6IdWide "ioam6_id_wide" u32::MAX as i64, U32;
    KeepAddrOnDown "keep_addr_on_down" 0, ANY;
    MaxAddresses "max_addresses" 16, ANY;
    MaxDesyncFactor "max_desync_factor" 600, ANY;
    McForwarding "mc_forwarding" 0, (0, -1);
    Mldv1UnsolicitedReportInterval "mldv1_unsolicited_report_interval" 10000, ANY;
    Mldv2UnsolicitedReportInterval "mldv2_unsolicited_report_interval" 1000, ANY;
    Mtu "mtu" 1280, (1280, i32::MAX as i64);
    NdiscEvictNocarrier "ndisc_evict_nocarrier" 1, (0, 1);
    NdiscNotify "ndisc_notify" 0, ANY;
    NdiscTclass "ndisc_tclass" 0, (0, 255);
    OptimisticDad "optimistic_dad" 0, ANY;
    ProxyNdp "proxy_ndp" 0, ANY;
    RaDefrtrMetric "ra_defrtr_metric" 1024, (1, u32::MAX as i64);
    RaHonorPioLife "ra_honor_pio_life" 0, (0, 1);
    RaHonorPioPflag "ra_honor_pio_pflag" 0, (0, 1);
    RegenMaxRetry "regen_max_retry" 3, ANY;
    RegenMinAdvance "regen_min_advance" 2, ANY;
    RouterProbeInterval "router_probe_interval" 60, ANY;
    RouterSolicitationDelay "router_solicitation_delay" 1, ANY;
    RouterSolicitationInterval "router_solicitation_interval" 4, ANY;
    RouterSolicitationMaxInterval "router_solicitation_max_interval" 3600, ANY;
    RouterSolicitations "router_solicitations" -1, (-1, i32::MAX as i64);
    RplSegEnabled "rpl_seg_enabled" 0, ANY;
    Seg6Enabled "seg6_enabled" 0, ANY;
    Seg6RequireHmac "seg6_require_hmac" 0, ANY;
    SuppressFragNdisc "suppress_frag_ndisc" 1, ANY;
    TempPreferedLft "temp_prefered_lft" 86400, ANY;
    TempValidLft "temp_valid_lft" 604800, ANY;
    UseOifAddrsOnly "use_oif_addrs_only" 0, ANY;
    UseOptimistic "use_optimistic" 0, ANY;
    UseTempaddr "use_tempaddr" 0, ANY;
}

pub const NKNOBS: usize = KNOBS.len();

/// Knobs that a write to `all` copies to `default` and every device
/// (`addrconf_fixup_forwarding`, `addrconf_disable_ipv6`, `addrconf_fixup_linkdown`).
const ALL_PROPAGATES: [Knob; 3] =
    [Knob::Forwarding, Knob::DisableIpv6, Knob::IgnoreRoutesWithLinkdown];

fn knob_index(name: &str) -> Option<usize> {
    KNOBS.iter().position(|k| k.0 == name)
}

/// Every name under `net.ipv6.conf.<dev>.`, stable_secret included.
pub fn conf_knob_names() -> impl Iterator<Item = &'static str> {
    KNOBS.iter().map(|k| k.0).chain(["stable_secret"])
}

/// Reads `net.ipv6.conf.<dev>.<knob>`: `stable_secret` is EIO until set, as in Linux.
pub fn conf_get(c: &DevConf6, knob: &str) -> Result<String, Errno> {
    if knob == "stable_secret" {
        let s = c.stable_secret.ok_or(Errno::EIO)?;
        let seg = s.segments();
        return Ok(seg.map(|x| format!("{x:04x}")).join(":"));
    }
    let i = knob_index(knob).ok_or(Errno::ENOENT)?;
    Ok(c.value(i).to_string())
}

/// Writes `net.ipv6.conf.<dev>.<knob>` with Linux's validation; writes to `all`
/// propagate as `addrconf_fixup_forwarding` does. Returns the device(s) touched so
/// the caller can apply side effects (router mode, MLD groups).
pub fn conf_set(
    sys: &mut Sysctl,
    devs: &mut DevTable,
    dev: &str,
    knob: &str,
    value: &str,
) -> Result<(), Errno> {
    let value = value.trim();
    if knob == "stable_secret" {
        return set_secret(sys, devs, dev, value);
    }
    let i = knob_index(knob).ok_or(Errno::ENOENT)?;
    let (_, _, (min, max)) = KNOBS[i];
    if max < min {
        return Err(Errno::EPERM);
    }
    let v: i64 = value.parse().map_err(|_| Errno::EINVAL)?;
    let max = match (dev, i == Knob::Mtu as usize) {
        ("all" | "default", _) | (_, false) => max,
        // `addrconf_sysctl_mtu`: a device's IPv6 MTU is at most its link MTU.
        (name, true) => devs.by_name(name).map_or(max, |d| i64::from(d.mtu)),
    };
    if v < min || v > max {
        return Err(Errno::EINVAL);
    }
    match dev {
        "all" => {
            sys.ipv6.conf_all.set_raw(i, v);
            if ALL_PROPAGATES.iter().any(|k| *k as usize == i) {
                sys.ipv6.conf_default.set_raw(i, v);
                for d in devs.iter_mut() {
                    d.conf6.set_raw(i, v);
                }
            }
        }
        "default" => sys.ipv6.conf_default.set_raw(i, v),
        name => named_dev(devs, name)?.conf6.set_raw(i, v),
    }
    Ok(())
}

/// `addrconf_sysctl_stable_secret`: EIO for `all`; on a device (or on `default`, for
/// every device) it also selects addr_gen_mode stable_privacy.
fn set_secret(sys: &mut Sysctl, devs: &mut DevTable, dev: &str, value: &str) -> Result<(), Errno> {
    let secret: Ipv6Addr = value.parse().map_err(|_| Errno::EIO)?;
    let mode = Knob::AddrGenMode as usize;
    match dev {
        "all" => return Err(Errno::EIO),
        "default" => {
            sys.ipv6.conf_default.stable_secret = Some(secret);
            for d in devs.iter_mut() {
                d.conf6.set_raw(mode, 2);
            }
        }
        name => {
            let d = named_dev(devs, name)?;
            d.conf6.stable_secret = Some(secret);
            d.conf6.set_raw(mode, 2);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{get, set};
    use super::*;
    use crate::dev::DeviceConfig;
    use crate::wire::EthernetAddress;

    fn setup() -> (Sysctl, DevTable) {
        let mut d = DevTable::default();
        let mut lo = DeviceConfig::ethernet("lo", EthernetAddress::ZERO);
        lo.mtu = 65536;
        lo.flags = crate::dev::DevFlags::LOOPBACK;
        d.add(lo).unwrap();
        d.add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
        (Sysctl::default(), d)
    }

    #[test]
    fn defaults_as_linux() {
        let (s, d) = setup();
        assert_eq!(get(&s, &d, "net.ipv6.conf.all.accept_dad").unwrap(), "0");
        assert_eq!(get(&s, &d, "net.ipv6.conf.default.accept_dad").unwrap(), "1");
        assert_eq!(get(&s, &d, "net.ipv6.conf.lo.accept_dad").unwrap(), "-1");
        assert_eq!(get(&s, &d, "net.ipv6.conf.lo.use_tempaddr").unwrap(), "-1");
        assert_eq!(get(&s, &d, "net.ipv6.conf.lo.mtu").unwrap(), "65536");
        assert_eq!(get(&s, &d, "net.ipv6.conf.eth0.mtu").unwrap(), "1500");
        assert_eq!(get(&s, &d, "net.ipv6.conf.eth0.ioam6_id_wide").unwrap(), "4294967295");
        assert_eq!(get(&s, &d, "net.ipv6.conf.all.router_solicitations").unwrap(), "-1");
        assert_eq!(get(&s, &d, "net.ipv6.conf.all.stable_secret"), Err(Errno::EIO));
        assert_eq!(get(&s, &d, "net.ipv6.icmp.ratelimit").unwrap(), "100");
        assert_eq!(get(&s, &d, "net.ipv6.icmp.ratemask").unwrap(), "0-1,3-127");
        assert_eq!(get(&s, &d, "net.ipv6.ioam6_id_wide").unwrap(), "72057594037927935");
        assert_eq!(get(&s, &d, "net.ipv6.conf.eth9.mtu"), Err(Errno::ENOENT));
    }

    #[test]
    fn ranges_and_errors() {
        let (mut s, mut d) = setup();
        let mut w = |n: &str, v: &str| set(&mut s, &mut d, &format!("net.ipv6.conf.{n}"), v);
        assert_eq!(w("all.hop_limit", "0"), Err(Errno::EINVAL));
        assert_eq!(w("all.hop_limit", "256"), Err(Errno::EINVAL));
        assert_eq!(w("all.mtu", "1279"), Err(Errno::EINVAL));
        assert_eq!(w("all.mtu", "70000"), Ok(()));
        assert_eq!(w("lo.mtu", "65537"), Err(Errno::EINVAL));
        assert_eq!(w("eth0.mtu", "1400"), Ok(()));
        assert_eq!(w("all.addr_gen_mode", "4"), Err(Errno::EINVAL));
        assert_eq!(w("all.router_solicitations", "-2"), Err(Errno::EINVAL));
        assert_eq!(w("all.dad_transmits", "-3"), Ok(()));
        assert_eq!(w("all.accept_ra", "5"), Ok(()));
        assert_eq!(w("all.mc_forwarding", "1"), Err(Errno::EPERM));
        assert_eq!(w("all.nope", "1"), Err(Errno::ENOENT));
        assert_eq!(w("all.stable_secret", "::1"), Err(Errno::EIO));
        assert_eq!(w("eth0.stable_secret", "::1"), Ok(()));
        assert_eq!(
            get(&s, &d, "net.ipv6.conf.eth0.stable_secret").unwrap(),
            "0000:0000:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(get(&s, &d, "net.ipv6.conf.eth0.addr_gen_mode").unwrap(), "2");
        let mut g = |n: &str, v: &str| set(&mut s, &mut d, n, v);
        assert_eq!(g("net.ipv6.icmp.ratemask", "1,3-5,200-255"), Ok(()));
        assert_eq!(g("net.ipv6.icmp.ratemask", "3-256"), Err(Errno::EINVAL));
        assert_eq!(get(&s, &d, "net.ipv6.icmp.ratemask").unwrap(), "1,3-5,200-255");
        assert_eq!(set(&mut s, &mut d, "net.ipv6.route.gc_min_interval", "2"), Ok(()));
        assert_eq!(get(&s, &d, "net.ipv6.route.gc_min_interval_ms").unwrap(), "2000");
    }

    #[test]
    fn all_forwarding_writes_every_device() {
        let (mut s, mut d) = setup();
        set(&mut s, &mut d, "net.ipv6.conf.lo.forwarding", "3").unwrap();
        set(&mut s, &mut d, "net.ipv6.conf.all.forwarding", "2").unwrap();
        for dev in ["all", "default", "lo", "eth0"] {
            let n = format!("net.ipv6.conf.{dev}.forwarding");
            assert_eq!(get(&s, &d, &n).unwrap(), "2");
        }
        set(&mut s, &mut d, "net.ipv6.conf.eth0.forwarding", "0").unwrap();
        assert_eq!(get(&s, &d, "net.ipv6.conf.all.forwarding").unwrap(), "2");
        // Other knobs of `all` stay there.
        set(&mut s, &mut d, "net.ipv6.conf.all.hop_limit", "9").unwrap();
        assert_eq!(get(&s, &d, "net.ipv6.conf.eth0.hop_limit").unwrap(), "64");
    }
}
