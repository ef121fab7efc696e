//! `net.ipv4.*` outside TCP: forwarding, TTL, ports, ICMP, fragments, neighbours, and the
//! per-device `net.ipv4.conf.<dev>.*` (Linux `devinet.c`).

use super::{Entry, Kind, Sysctl};
use crate::Errno;
use crate::dev::{DevConf4, DevTable, Device};
use crate::sysctl_int;

#[derive(Debug, Clone)]
pub struct Ipv4Sysctl {
    pub ip_forward: bool,
    pub ip_default_ttl: u8,
    pub ip_local_port_range: [u16; 2],
    pub ip_nonlocal_bind: bool,
    pub ip_no_pmtu_disc: u8,
    pub icmp_echo_ignore_all: bool,
    pub icmp_echo_ignore_broadcasts: bool,
    pub icmp_ignore_bogus_error_responses: bool,
    /// Minimum milliseconds between rate-limited ICMP messages (token bucket).
    pub icmp_ratelimit: u32,
    pub icmp_ratemask: u32,
    pub icmp_msgs_per_sec: u32,
    pub icmp_msgs_burst: u32,
    pub ipfrag_high_thresh: u32,
    pub ipfrag_low_thresh: u32,
    /// Seconds a partial datagram waits for its fragments.
    pub ipfrag_time: u32,
    /// `neigh.default.*` (ARP): milliseconds unless noted.
    pub neigh_base_reachable_time_ms: u32,
    pub neigh_delay_first_probe_time: u32,
    pub neigh_gc_stale_time: u32,
    pub neigh_retrans_time_ms: u32,
    pub neigh_ucast_solicit: u32,
    pub neigh_mcast_solicit: u32,
    pub neigh_unres_qlen_bytes: u32,
    pub conf_all: DevConf4,
    pub conf_default: DevConf4,
}

impl Default for Ipv4Sysctl {
    /// Linux 6.x defaults.
    fn default() -> Self {
        Ipv4Sysctl {
            ip_forward: false,
            ip_default_ttl: 64,
            ip_local_port_range: [32768, 60999],
            ip_nonlocal_bind: false,
            ip_no_pmtu_disc: 0,
            icmp_echo_ignore_all: false,
            icmp_echo_ignore_broadcasts: true,
            icmp_ignore_bogus_error_responses: true,
            icmp_ratelimit: 1000,
            icmp_ratemask: 6168,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            ipfrag_high_thresh: 4 * 1024 * 1024,
            ipfrag_low_thresh: 3 * 1024 * 1024,
            ipfrag_time: 30,
            neigh_base_reachable_time_ms: 30_000,
            neigh_delay_first_probe_time: 5,
            neigh_gc_stale_time: 60,
            neigh_retrans_time_ms: 1000,
            neigh_ucast_solicit: 3,
            neigh_mcast_solicit: 3,
            neigh_unres_qlen_bytes: 212_992,
            conf_all: DevConf4::default(),
            conf_default: DevConf4::default(),
        }
    }
}

pub static ENTRIES: &[Entry] = &[
    sysctl_int!("net.ipv4.ip_forward", ipv4.ip_forward, 0, 1),
    sysctl_int!("net.ipv4.ip_default_ttl", ipv4.ip_default_ttl, 1, 255),
    Entry {
        name: "net.ipv4.ip_local_port_range",
        kind: Kind::Pair {
            get: |s| s.ipv4.ip_local_port_range.map(i64::from),
            set: |s, v| s.ipv4.ip_local_port_range = v.map(|x| x as u16),
            // Linux `ipv4_local_port_range`: 1 <= low <= high <= 65535.
            check: |v| v[0] >= 1 && v[0] <= v[1] && v[1] <= 65535,
        },
    },
    sysctl_int!("net.ipv4.ip_nonlocal_bind", ipv4.ip_nonlocal_bind, 0, 1),
    sysctl_int!("net.ipv4.ip_no_pmtu_disc", ipv4.ip_no_pmtu_disc, 0, 3),
    sysctl_int!("net.ipv4.icmp_echo_ignore_all", ipv4.icmp_echo_ignore_all, 0, 1),
    sysctl_int!("net.ipv4.icmp_echo_ignore_broadcasts", ipv4.icmp_echo_ignore_broadcasts, 0, 1),
    sysctl_int!(
        "net.ipv4.icmp_ignore_bogus_error_responses",
        ipv4.icmp_ignore_bogus_error_responses,
        0,
        1
    ),
    sysctl_int!("net.ipv4.icmp_ratelimit", ipv4.icmp_ratelimit, 0, i32::MAX),
    sysctl_int!("net.ipv4.icmp_ratemask", ipv4.icmp_ratemask, 0, i32::MAX),
    sysctl_int!("net.ipv4.icmp_msgs_per_sec", ipv4.icmp_msgs_per_sec, 0, i32::MAX),
    sysctl_int!("net.ipv4.icmp_msgs_burst", ipv4.icmp_msgs_burst, 0, i32::MAX),
    sysctl_int!("net.ipv4.ipfrag_high_thresh", ipv4.ipfrag_high_thresh, 0, i32::MAX),
    sysctl_int!("net.ipv4.ipfrag_low_thresh", ipv4.ipfrag_low_thresh, 0, i32::MAX),
    sysctl_int!("net.ipv4.ipfrag_time", ipv4.ipfrag_time, 0, i32::MAX),
    sysctl_int!(
        "net.ipv4.neigh.default.base_reachable_time_ms",
        ipv4.neigh_base_reachable_time_ms,
        0,
        i32::MAX
    ),
    sysctl_int!(
        "net.ipv4.neigh.default.delay_first_probe_time",
        ipv4.neigh_delay_first_probe_time,
        0,
        i32::MAX
    ),
    sysctl_int!("net.ipv4.neigh.default.gc_stale_time", ipv4.neigh_gc_stale_time, 0, i32::MAX),
    sysctl_int!("net.ipv4.neigh.default.retrans_time_ms", ipv4.neigh_retrans_time_ms, 10, i32::MAX),
    sysctl_int!("net.ipv4.neigh.default.ucast_solicit", ipv4.neigh_ucast_solicit, 0, i32::MAX),
    sysctl_int!("net.ipv4.neigh.default.mcast_solicit", ipv4.neigh_mcast_solicit, 0, i32::MAX),
    sysctl_int!(
        "net.ipv4.neigh.default.unres_qlen_bytes",
        ipv4.neigh_unres_qlen_bytes,
        0,
        i32::MAX
    ),
];

/// The knobs under `net.ipv4.conf.<dev>.`.
pub const CONF_KNOBS: [&str; 7] = [
    "forwarding",
    "rp_filter",
    "accept_redirects",
    "send_redirects",
    "accept_local",
    "arp_ignore",
    "arp_announce",
];

pub fn conf_get(c: &DevConf4, knob: &str) -> Option<u32> {
    Some(match knob {
        "forwarding" => c.forwarding.into(),
        "rp_filter" => c.rp_filter.into(),
        "accept_redirects" => c.accept_redirects.into(),
        "send_redirects" => c.send_redirects.into(),
        "accept_local" => c.accept_local.into(),
        "arp_ignore" => c.arp_ignore.into(),
        "arp_announce" => c.arp_announce.into(),
        _ => return None,
    })
}

fn conf_put(c: &mut DevConf4, knob: &str, v: u32) -> Result<(), Errno> {
    let max = match knob {
        "rp_filter" | "arp_announce" => 2,
        "arp_ignore" => 8,
        _ => 1,
    };
    if v > max {
        return Err(Errno::EINVAL);
    }
    match knob {
        "forwarding" => c.forwarding = v != 0,
        "rp_filter" => c.rp_filter = v as u8,
        "accept_redirects" => c.accept_redirects = v != 0,
        "send_redirects" => c.send_redirects = v != 0,
        "accept_local" => c.accept_local = v != 0,
        "arp_ignore" => c.arp_ignore = v as u8,
        "arp_announce" => c.arp_announce = v as u8,
        _ => return Err(Errno::ENOENT),
    }
    Ok(())
}

/// Writes `net.ipv4.conf.<dev>.<knob>`. `all.forwarding` also sets `ip_forward` and
/// every device, as Linux `devinet_conf_proc`/`inet_forward_change` do.
pub fn conf_set(
    sys: &mut Sysctl,
    devs: &mut DevTable,
    dev: &str,
    knob: &str,
    value: &str,
) -> Result<(), Errno> {
    conf_get(&DevConf4::default(), knob).ok_or(Errno::ENOENT)?;
    let v: u32 = value.trim().parse().map_err(|_| Errno::EINVAL)?;
    match dev {
        "all" => {
            conf_put(&mut sys.ipv4.conf_all, knob, v)?;
            if knob == "forwarding" {
                sys.ipv4.ip_forward = v != 0;
                propagate_forwarding(sys, devs);
            }
        }
        "default" => conf_put(&mut sys.ipv4.conf_default, knob, v)?,
        name => conf_put(&mut named_dev(devs, name)?.conf4, knob, v)?,
    }
    Ok(())
}

/// The device a `net.ipv{4,6}.conf.<dev>.` path names.
pub(super) fn named_dev<'a>(devs: &'a mut DevTable, name: &str) -> Result<&'a mut Device, Errno> {
    let ifindex = devs.by_name(name).ok_or(Errno::ENOENT)?.ifindex;
    devs.get_mut(ifindex).ok_or(Errno::ENOENT)
}

/// Linux `inet_forward_change`: all, default and every device follow ip_forward.
pub fn propagate_forwarding(sys: &mut Sysctl, devs: &mut DevTable) {
    let on = sys.ipv4.ip_forward;
    sys.ipv4.conf_all.forwarding = on;
    sys.ipv4.conf_default.forwarding = on;
    for d in devs.iter_mut() {
        d.conf4.forwarding = on;
    }
}
