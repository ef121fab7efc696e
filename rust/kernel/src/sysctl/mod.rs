//! The `net.*` sysctl tree with Linux's names, types, ranges and errors. Values live in
//! a compact struct; a static name table maps each path to typed accessors, so an idle
//! instance pays for the values only. Names are accepted in every form hosts use:
//! `net.ipv4.ip_forward`, DCE's `.net.ipv4.ip_forward`, `net/ipv4/ip_forward` and
//! `/proc/sys/net/ipv4/ip_forward`.

mod entry;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;

pub use entry::{Entry, Kind, SysVal};

use crate::Errno;
use crate::dev::{DevConf4, DevTable};

/// Every sysctl value of one instance.
#[derive(Debug, Clone, Default)]
pub struct Sysctl {
    pub core: CoreSysctl,
    pub ipv4: ipv4::Ipv4Sysctl,
    pub ipv6: ipv6::Ipv6Sysctl,
    pub tcp: tcp::TcpSysctl,
}

/// `net.core.*`.
#[derive(Debug, Clone)]
pub struct CoreSysctl {
    pub somaxconn: u32,
    pub rmem_default: u32,
    pub rmem_max: u32,
    pub wmem_default: u32,
    pub wmem_max: u32,
}

impl Default for CoreSysctl {
    /// Linux 6.18 defaults (`net/core/sysctl_net_core.c`: `SK_RMEM_DEFAULT` = 212992;
    /// the maxima are 4 MiB since Linux 6.16).
    fn default() -> Self {
        CoreSysctl {
            somaxconn: 4096,
            rmem_default: 212_992,
            rmem_max: 4 << 20,
            wmem_default: 212_992,
            wmem_max: 4 << 20,
        }
    }
}

static CORE_ENTRIES: &[Entry] = &[
    crate::sysctl_int!("net.core.somaxconn", core.somaxconn, 0, i32::MAX),
    crate::sysctl_int!("net.core.rmem_default", core.rmem_default, 2304, i32::MAX),
    crate::sysctl_int!("net.core.rmem_max", core.rmem_max, 2304, i32::MAX),
    crate::sysctl_int!("net.core.wmem_default", core.wmem_default, 4608, i32::MAX),
    crate::sysctl_int!("net.core.wmem_max", core.wmem_max, 4608, i32::MAX),
];

fn tables() -> [&'static [Entry]; 4] {
    [CORE_ENTRIES, ipv4::ENTRIES, ipv6::ENTRIES, tcp::ENTRIES]
}

/// Normalizes any accepted spelling to the dotted form without a leading dot.
pub fn normalize(name: &str) -> String {
    let n = name.trim();
    let n = n.strip_prefix("/proc/sys/").unwrap_or(n);
    let n = n.trim_start_matches(['.', '/']);
    n.replace('/', ".")
}

fn find(name: &str) -> Option<&'static Entry> {
    tables().into_iter().flatten().find(|e| e.name == name)
}

/// The per-device part of a name: `net.ipv4.conf.<dev|all|default>.<knob>`.
fn split_conf(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("net.ipv4.conf.")?;
    let dot = rest.rfind('.')?;
    Some((&rest[..dot], &rest[dot + 1..]))
}

/// `net.ipv6.conf.<dev|all|default>.<knob>`.
fn split_conf6(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("net.ipv6.conf.")?;
    let dot = rest.rfind('.')?;
    Some((&rest[..dot], &rest[dot + 1..]))
}

/// Reads one sysctl, formatted as `cat /proc/sys/...` prints it (without the newline).
pub fn get(sys: &Sysctl, devs: &DevTable, name: &str) -> Result<String, Errno> {
    let name = normalize(name);
    if let Some((dev, knob)) = split_conf(&name) {
        let conf = conf_of(sys, devs, dev).ok_or(Errno::ENOENT)?;
        return ipv4::conf_get(&conf, knob).map(|v| v.to_string()).ok_or(Errno::ENOENT);
    }
    if let Some((dev, knob)) = split_conf6(&name) {
        let conf = match dev {
            "all" => &sys.ipv6.conf_all,
            "default" => &sys.ipv6.conf_default,
            name => &devs.by_name(name).ok_or(Errno::ENOENT)?.conf6,
        };
        return ipv6::conf_get(conf, knob);
    }
    let e = find(&name).ok_or(Errno::ENOENT)?;
    Ok(e.kind.get(sys))
}

/// Writes one sysctl with Linux's validation: unknown name ENOENT, bad or out-of-range
/// value EINVAL, read-only EPERM.
pub fn set(sys: &mut Sysctl, devs: &mut DevTable, name: &str, value: &str) -> Result<(), Errno> {
    let name = normalize(name);
    if let Some((dev, knob)) = split_conf(&name) {
        return ipv4::conf_set(sys, devs, dev, knob, value);
    }
    if let Some((dev, knob)) = split_conf6(&name) {
        return ipv6::conf_set(sys, devs, dev, knob, value);
    }
    let e = find(&name).ok_or(Errno::ENOENT)?;
    e.kind.set(sys, value)?;
    if name == "net.ipv4.ip_forward" {
        // Linux `devinet_sysctl_forward`: ip_forward writes conf.all and every device.
        ipv4::propagate_forwarding(sys, devs);
    }
    Ok(())
}

/// Every name, sorted, including the per-device entries (for `sysctl -a`).
pub fn names(devs: &DevTable) -> Vec<String> {
    let mut v: Vec<String> = tables().into_iter().flatten().map(|e| e.name.to_string()).collect();
    let confs = ["all".to_string(), "default".to_string()];
    for dev in confs.into_iter().chain(devs.iter().map(|d| d.name.clone())) {
        for knob in ipv4::CONF_KNOBS {
            v.push(format!("net.ipv4.conf.{dev}.{knob}"));
        }
        for knob in ipv6::conf_knob_names() {
            v.push(format!("net.ipv6.conf.{dev}.{knob}"));
        }
    }
    v.sort();
    v
}

fn conf_of(sys: &Sysctl, devs: &DevTable, dev: &str) -> Option<DevConf4> {
    match dev {
        "all" => Some(sys.ipv4.conf_all),
        "default" => Some(sys.ipv4.conf_default),
        name => devs.by_name(name).map(|d| d.conf4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_every_spelling() {
        let mut s = Sysctl::default();
        let mut d = DevTable::default();
        set(&mut s, &mut d, ".net.ipv4.ip_forward", "1").unwrap();
        assert_eq!(get(&s, &d, "/proc/sys/net/ipv4/ip_forward").unwrap(), "1");
        assert_eq!(get(&s, &d, "net/ipv4/ip_forward").unwrap(), "1");
    }

    #[test]
    fn linux_errors() {
        let mut s = Sysctl::default();
        let mut d = DevTable::default();
        assert_eq!(set(&mut s, &mut d, "net.ipv4.nope", "1"), Err(Errno::ENOENT));
        assert_eq!(set(&mut s, &mut d, "net.ipv4.ip_forward", "x"), Err(Errno::EINVAL));
        assert_eq!(set(&mut s, &mut d, "net.ipv4.ip_forward", "2"), Err(Errno::EINVAL));
        assert_eq!(set(&mut s, &mut d, "net.core.somaxconn", "-1"), Err(Errno::EINVAL));
    }

    #[test]
    fn every_name_reads() {
        let s = Sysctl::default();
        let d = DevTable::default();
        for n in names(&d).into_iter().filter(|n| !n.ends_with("stable_secret")) {
            assert!(get(&s, &d, &n).is_ok(), "{n}");
        }
    }
}
