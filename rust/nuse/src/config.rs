//! NUSECONF: NUSE's configuration format (linux-libos-tools `nuse.conf.sample`), plus
//! `sysctl NAME VALUE` lines and a `seed N` line, and IPv6: `address6` lines in interface
//! blocks and IPv6 `route` blocks.
//!
//! ```text
//! # comment
//! interface tap0              # block header: the host interface name (TAP / RAW)
//!     address 10.0.0.2            # optional when the interface has an address6
//!     netmask 255.255.255.0
//!     address6 2001:db8::2/64     # repeatable; the prefix length is required
//!     macaddr 02:00:00:00:00:02   # optional; derived from the name otherwise
//!     viftype TAP                 # RAW (default) | TAP | PIPE
//!     pipepath /tmp/link0         # PIPE only
//!     mtu 1500                    # optional
//! route
//!     network 0.0.0.0
//!     netmask 0.0.0.0
//!     gateway 10.0.0.1
//! route                       # IPv6: the network in CIDR form (or network + prefixlen)
//!     network ::/0
//!     gateway fe80::1
//!     dev tap0                    # required for a link-local gateway
//! sysctl net.ipv4.tcp_sack 0
//! sysctl net.ipv6.conf.tap0.accept_dad 0   # per-device: applied before the link is up
//! ```
//! Keys of a block are indented (tab or spaces); every error names its line. An IPv4
//! network may be written in CIDR form too; `netmask` is IPv4 only.

use libos_kernel::EthernetAddress;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// NUSE's limits (`NUSE_VIF_MAX`, `NUSE_ROUTE_MAX`).
const MAX_IFACES: usize = 16;
const MAX_ROUTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VifType {
    /// AF_PACKET socket bound to the host interface of the same name.
    Raw,
    /// `/dev/net/tun` TAP interface of that name (created if missing).
    Tap,
    /// Point-to-point link to one other process over unix datagram sockets.
    Pipe,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IfaceConf {
    pub name: String,
    /// The IPv4 address and its prefix length (`address` + `netmask`).
    pub address: Option<(Ipv4Addr, u8)>,
    /// `address6 ADDR/LEN` lines: (address, prefix length, line).
    pub addresses6: Vec<(Ipv6Addr, u8, usize)>,
    pub mac: EthernetAddress,
    pub viftype: VifType,
    pub pipepath: Option<PathBuf>,
    pub mtu: Option<u32>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteConf {
    pub network: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    /// `dev NAME`: an interface of this file (the route's output interface).
    pub dev: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub ifaces: Vec<IfaceConf>,
    pub routes: Vec<RouteConf>,
    /// (name, value, line)
    pub sysctls: Vec<(String, String, usize)>,
    pub seed: Option<u64>,
}

/// A configuration error: the line (1-based; 0 = the whole file) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "line {}: {}", self.line, self.msg)
        }
    }
}

fn err<T>(line: usize, msg: impl Into<String>) -> Result<T, ConfError> {
    Err(ConfError { line, msg: msg.into() })
}

/// A contiguous netmask as a prefix length.
fn prefix_of(mask: Ipv4Addr, line: usize) -> Result<u8, ConfError> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    if m.checked_shl(len).unwrap_or(0) != 0 {
        return err(line, format!("netmask {mask} is not contiguous"));
    }
    Ok(len as u8)
}

pub fn parse_mac(s: &str) -> Option<EthernetAddress> {
    let parts: Vec<u8> =
        s.split(':').map(|p| u8::from_str_radix(p, 16).ok()).collect::<Option<_>>()?;
    let arr: [u8; 6] = parts.try_into().ok()?;
    Some(EthernetAddress(arr))
}

/// A locally administered MAC for an interface without `macaddr`: FNV-1a over the
/// name, the interface's position and the pid, so two processes sharing a config (two
/// ends of a PIPE) differ.
fn default_mac(name: &str, idx: usize) -> EthernetAddress {
    let seed = format!("{name}/{idx}/{}", std::process::id());
    let h = seed.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    EthernetAddress::local(h)
}

#[derive(Default)]
struct IfaceDraft {
    name: String,
    line: usize,
    address: Option<Ipv4Addr>,
    netmask: Option<(Ipv4Addr, usize)>,
    addresses6: Vec<(Ipv6Addr, u8, usize)>,
    mac: Option<EthernetAddress>,
    viftype: Option<VifType>,
    pipepath: Option<PathBuf>,
    mtu: Option<u32>,
}

#[derive(Default)]
struct RouteDraft {
    line: usize,
    /// The network and, in CIDR form, its prefix length.
    network: Option<(IpAddr, Option<u8>, usize)>,
    netmask: Option<(Ipv4Addr, usize)>,
    prefixlen: Option<(u8, usize)>,
    gateway: Option<(IpAddr, usize)>,
    dev: Option<(String, usize)>,
}

enum Block {
    None,
    Iface(IfaceDraft),
    Route(RouteDraft),
}

fn ip(v: &str, key: &str, line: usize) -> Result<Ipv4Addr, ConfError> {
    v.parse().or_else(|_| err(line, format!("{key}: '{v}' is not an IPv4 address")))
}

fn any_ip(v: &str, key: &str, line: usize) -> Result<IpAddr, ConfError> {
    v.parse().or_else(|_| err(line, format!("{key}: '{v}' is not an IPv4 or IPv6 address")))
}

/// `ADDR/LEN` (LEN optional when `need_len` is false), the length checked for the family.
fn cidr(v: &str, key: &str, line: usize) -> Result<(IpAddr, Option<u8>), ConfError> {
    let (a, len) = match v.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (v, None),
    };
    let addr = any_ip(a, key, line)?;
    let Some(l) = len else { return Ok((addr, None)) };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match l.parse::<u8>() {
        Ok(n) if n <= max => Ok((addr, Some(n))),
        _ => err(line, format!("{key}: prefix length '{l}' is not in 0..={max}")),
    }
}

/// The bits of `a` beyond its first `len` are zero.
fn is_network(a: IpAddr, len: u8) -> bool {
    match a {
        IpAddr::V4(v) => u32::from(v).checked_shl(u32::from(len)).unwrap_or(0) == 0,
        IpAddr::V6(v) => u128::from(v).checked_shl(u32::from(len)).unwrap_or(0) == 0,
    }
}

impl Config {
    /// Parses a NUSECONF text.
    pub fn parse(text: &str) -> Result<Config, ConfError> {
        let mut cfg = Config::default();
        let mut block = Block::None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let body = raw.split('#').next().unwrap_or("");
            if body.trim().is_empty() {
                continue;
            }
            let indented = body.starts_with([' ', '\t']);
            let mut words = body.split_whitespace();
            let key = words.next().unwrap_or("");
            let args: Vec<&str> = words.collect();
            if indented {
                match &mut block {
                    Block::Iface(d) => iface_key(d, key, &args, line)?,
                    Block::Route(d) => route_key(d, key, &args, line)?,
                    Block::None => {
                        return err(
                            line,
                            format!(
                                "'{key}' is indented but not inside an interface or route block"
                            ),
                        );
                    }
                }
                continue;
            }
            cfg.close_block(std::mem::replace(&mut block, Block::None))?;
            match (key, args.as_slice()) {
                ("interface", [name]) => {
                    if name.len() >= 16 {
                        return err(
                            line,
                            format!("interface name '{name}' is longer than 15 bytes"),
                        );
                    }
                    if cfg.ifaces.iter().any(|f| f.name == *name) {
                        return err(line, format!("interface {name} is declared twice"));
                    }
                    block = Block::Iface(IfaceDraft {
                        name: name.to_string(),
                        line,
                        ..Default::default()
                    });
                }
                ("interface", _) => return err(line, "usage: interface NAME"),
                ("route", []) => block = Block::Route(RouteDraft { line, ..Default::default() }),
                ("route", _) => {
                    return err(
                        line,
                        "'route' takes no argument; put network/netmask/gateway on indented lines",
                    );
                }
                ("sysctl", [name, value]) => {
                    cfg.sysctls.push((name.to_string(), value.to_string(), line))
                }
                ("sysctl", _) => return err(line, "usage: sysctl NAME VALUE"),
                ("seed", [v]) => {
                    cfg.seed = Some(
                        v.parse().or_else(|_| err(line, format!("seed: '{v}' is not a number")))?,
                    )
                }
                _ => {
                    return err(
                        line,
                        format!(
                            "unknown directive '{key}' (expected interface, route, sysctl or seed)"
                        ),
                    );
                }
            }
        }
        cfg.close_block(block)?;
        Ok(cfg)
    }

    fn close_block(&mut self, block: Block) -> Result<(), ConfError> {
        match block {
            Block::None => Ok(()),
            Block::Iface(d) => {
                if self.ifaces.len() == MAX_IFACES {
                    return err(d.line, format!("more than {MAX_IFACES} interfaces"));
                }
                let address = match (d.address, d.netmask) {
                    (Some(a), Some((m, l))) => Some((a, prefix_of(m, l)?)),
                    (Some(_), None) => {
                        return err(d.line, format!("interface {} has no netmask", d.name));
                    }
                    (None, Some((_, l))) => {
                        return err(
                            l,
                            format!("interface {} has a netmask but no address", d.name),
                        );
                    }
                    (None, None) if d.addresses6.is_empty() => {
                        return err(
                            d.line,
                            format!("interface {} has no address (address or address6)", d.name),
                        );
                    }
                    (None, None) => None,
                };
                let viftype = d.viftype.unwrap_or(VifType::Raw);
                if viftype == VifType::Pipe && d.pipepath.is_none() {
                    return err(
                        d.line,
                        format!("interface {} is viftype PIPE but has no pipepath", d.name),
                    );
                }
                let idx = self.ifaces.len();
                self.ifaces.push(IfaceConf {
                    mac: d.mac.unwrap_or_else(|| default_mac(&d.name, idx)),
                    name: d.name,
                    address,
                    addresses6: d.addresses6,
                    viftype,
                    pipepath: d.pipepath,
                    mtu: d.mtu,
                    line: d.line,
                });
                Ok(())
            }
            Block::Route(d) => {
                if self.routes.len() == MAX_ROUTES {
                    return err(d.line, format!("more than {MAX_ROUTES} routes"));
                }
                let route = self.close_route(d)?;
                self.routes.push(route);
                Ok(())
            }
        }
    }
}

impl Config {
    /// Checks a route block: one prefix length (CIDR, `netmask` for IPv4 or `prefixlen`),
    /// a gateway of the network's family, a declared `dev` (needed by a link-local
    /// gateway, as Linux's `ip -6 route add ... via fe80::1` needs one).
    fn close_route(&self, d: RouteDraft) -> Result<RouteConf, ConfError> {
        let Some((network, cidr_len, nl)) = d.network else {
            return err(d.line, "route has no network");
        };
        if let (IpAddr::V6(_), Some((_, ml))) = (network, d.netmask) {
            return err(ml, "netmask is IPv4 only (use network ADDR/LEN or prefixlen)");
        }
        let prefix_len = match (cidr_len, d.netmask, d.prefixlen) {
            (Some(n), None, None) => n,
            (None, Some((mask, ml)), None) => prefix_of(mask, ml)?,
            (None, None, Some((n, pl))) => {
                let max = if network.is_ipv4() { 32 } else { 128 };
                if n > max {
                    return err(pl, format!("prefixlen {n} is not in 0..={max}"));
                }
                n
            }
            (None, None, None) => {
                return err(d.line, "route has no netmask (or network ADDR/LEN, or prefixlen)");
            }
            _ => return err(d.line, "route has more than one of ADDR/LEN, netmask, prefixlen"),
        };
        if !is_network(network, prefix_len) {
            return err(nl, format!("network {network} has bits outside /{prefix_len}"));
        }
        if let Some((gw, gl)) = d.gateway {
            if gw.is_ipv4() != network.is_ipv4() {
                return err(gl, format!("gateway {gw} is not of the family of network {network}"));
            }
            let link_local = matches!(gw, IpAddr::V6(g) if g.is_unicast_link_local());
            if link_local && d.dev.is_none() {
                return err(gl, format!("gateway {gw} is link-local: the route needs 'dev NAME'"));
            }
        }
        if let Some((dev, dl)) = &d.dev
            && !self.ifaces.iter().any(|i| &i.name == dev)
        {
            return err(*dl, format!("dev {dev}: no interface of that name declared above"));
        }
        Ok(RouteConf {
            network,
            prefix_len,
            gateway: d.gateway.map(|g| g.0),
            dev: d.dev.map(|d| d.0),
            line: d.line,
        })
    }
}

fn one<'a>(key: &str, args: &[&'a str], line: usize) -> Result<&'a str, ConfError> {
    match args {
        [v] => Ok(v),
        _ => err(line, format!("'{key}' takes exactly one value")),
    }
}

fn iface_key(d: &mut IfaceDraft, key: &str, args: &[&str], line: usize) -> Result<(), ConfError> {
    let v = one(key, args, line)?;
    match key {
        "address" => d.address = Some(ip(v, key, line)?),
        "netmask" => d.netmask = Some((ip(v, key, line)?, line)),
        "address6" => {
            let (a, len) = cidr(v, key, line)?;
            let IpAddr::V6(a) = a else {
                return err(line, format!("address6: '{v}' is not an IPv6 address"));
            };
            let Some(len) = len else {
                return err(line, format!("address6: '{v}' needs a prefix length (ADDR/LEN)"));
            };
            if a.is_unspecified() || a.is_multicast() || a.is_loopback() {
                return err(line, format!("address6: {a} is not a unicast address"));
            }
            if d.addresses6.iter().any(|x| x.0 == a) {
                return err(line, format!("address6 {a} is given twice"));
            }
            d.addresses6.push((a, len, line));
        }
        "macaddr" => {
            let mac = parse_mac(v).ok_or_else(|| ConfError {
                line,
                msg: format!("macaddr: '{v}' is not a MAC address (xx:xx:xx:xx:xx:xx)"),
            })?;
            if mac.is_multicast() {
                return err(line, format!("macaddr {v} is a multicast address"));
            }
            d.mac = Some(mac);
        }
        "viftype" => {
            d.viftype = Some(match v.to_ascii_uppercase().as_str() {
                "RAW" => VifType::Raw,
                "TAP" => VifType::Tap,
                "PIPE" => VifType::Pipe,
                "NETMAP" | "DPDK" => {
                    return err(
                        line,
                        format!(
                            "viftype {v} is not supported by libos-nuse (use RAW, TAP or PIPE)"
                        ),
                    );
                }
                _ => return err(line, format!("unknown viftype '{v}' (RAW, TAP or PIPE)")),
            })
        }
        "pipepath" => d.pipepath = Some(PathBuf::from(v)),
        "mtu" => {
            let m: u32 = v.parse().or_else(|_| err(line, format!("mtu: '{v}' is not a number")))?;
            if !(68..=65535).contains(&m) {
                return err(line, format!("mtu {m} out of range 68..65535"));
            }
            d.mtu = Some(m);
        }
        _ => {
            return err(
                line,
                format!(
                    "unknown interface key '{key}' (address, netmask, address6, macaddr, viftype, pipepath, mtu)"
                ),
            );
        }
    }
    Ok(())
}

fn route_key(d: &mut RouteDraft, key: &str, args: &[&str], line: usize) -> Result<(), ConfError> {
    let v = one(key, args, line)?;
    match key {
        "network" => {
            let (a, len) = cidr(v, key, line)?;
            d.network = Some((a, len, line));
        }
        "netmask" => d.netmask = Some((ip(v, key, line)?, line)),
        "prefixlen" => {
            let n =
                v.parse().or_else(|_| err(line, format!("prefixlen: '{v}' is not a number")))?;
            d.prefixlen = Some((n, line));
        }
        "gateway" => d.gateway = Some((any_ip(v, key, line)?, line)),
        "dev" => d.dev = Some((v.to_string(), line)),
        _ => {
            return err(
                line,
                format!("unknown route key '{key}' (network, netmask, prefixlen, gateway, dev)"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# NUSE sample\n\
        interface eth0\n\
        \taddress 192.168.0.10\n\
        \tnetmask 255.255.255.0\n\
        \tmacaddr 00:01:01:01:01:01\n\
        \tviftype TAP\n\
        route\n\
        \tnetwork 0.0.0.0\n\
        \tnetmask 0.0.0.0\n\
        \tgateway 192.168.0.1\n\
        sysctl net.ipv4.tcp_sack 0\n";

    #[test]
    fn parses_nuse_sample() {
        let c = Config::parse(SAMPLE).unwrap();
        assert_eq!(c.ifaces.len(), 1);
        let i = &c.ifaces[0];
        assert_eq!(
            (i.name.as_str(), i.address),
            ("eth0", Some((Ipv4Addr::new(192, 168, 0, 10), 24)))
        );
        assert_eq!(i.mac, EthernetAddress([0, 1, 1, 1, 1, 1]));
        assert_eq!(i.viftype, VifType::Tap);
        assert_eq!(c.routes[0].prefix_len, 0);
        assert_eq!(c.routes[0].gateway, Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))));
        assert_eq!(c.sysctls, vec![("net.ipv4.tcp_sack".into(), "0".into(), 11)]);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("interface a\n\tadress 1.2.3.4\n", 2, "unknown interface key"),
            ("interface a\n\taddress 1.2.3\n", 2, "not an IPv4"),
            ("interface a\n\taddress 1.2.3.4\n", 1, "no netmask"),
            ("interface a\n\taddress 1.2.3.4\n\tnetmask 255.0.255.0\n", 3, "not contiguous"),
            ("\taddress 1.2.3.4\n", 1, "not inside"),
            ("bogus\n", 1, "unknown directive"),
            (
                "interface a\n\taddress 1.1.1.1\n\tnetmask 255.0.0.0\n\tviftype PIPE\n",
                1,
                "pipepath",
            ),
            ("interface a\n\tviftype DPDK\n", 2, "not supported"),
            ("route\n\tnetwork 10.0.0.1\n\tnetmask 255.0.0.0\n", 2, "outside /8"),
            ("interface a\n\taddress6 2001:db8::1\n", 2, "needs a prefix length"),
            ("interface a\n\taddress6 10.0.0.1/8\n", 2, "not an IPv6"),
            ("interface a\n\taddress6 2001:db8::1/129\n", 2, "0..=128"),
            ("interface a\n\taddress6 ff02::1/64\n", 2, "not a unicast"),
            ("interface a\n\taddress6 ::1/64\n\taddress6 2001:db8::1/64\n", 2, "not a unicast"),
            ("interface a\n\tnetmask 255.0.0.0\n\taddress6 2001:db8::1/64\n", 2, "no address"),
            ("interface a\n\tviftype TAP\n", 1, "no address"),
            ("route\n\tnetwork 2001:db8::/64\n\tnetmask 255.0.0.0\n", 3, "IPv4 only"),
            ("route\n\tnetwork 2001:db8::1/64\n", 2, "outside /64"),
            ("route\n\tnetwork ::/0\n\tgateway 10.0.0.1\n", 3, "family"),
            ("route\n\tnetwork ::/0\n\tgateway fe80::1\n", 3, "link-local"),
            ("route\n\tnetwork ::/0\n\tgateway fe80::1\n\tdev tap9\n", 4, "no interface"),
            ("route\n\tnetwork 2001:db8::\n\tprefixlen 130\n", 3, "0..=128"),
            ("route\n\tnetwork 2001:db8::\n", 1, "no netmask"),
            ("route\n\tnetwork ::/0\n\tprefixlen 0\n", 1, "more than one"),
            ("sysctl a\n", 1, "usage"),
        ];
        for (text, line, what) in cases {
            let e = Config::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.msg.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn parses_ipv6() {
        let text = "interface tap0\n\taddress6 2001:db8::2/64\n\taddress6 fd00::2/48\n\
            \tviftype TAP\n\
            route\n\tnetwork ::/0\n\tgateway fe80::1\n\tdev tap0\n\
            route\n\tnetwork 2001:db8:1::\n\tprefixlen 48\n\tgateway 2001:db8::1\n\
            route\n\tnetwork 10.1.0.0/16\n\tdev tap0\n";
        let c = Config::parse(text).unwrap();
        let i = &c.ifaces[0];
        assert_eq!(i.address, None);
        let a6: Vec<_> = i.addresses6.iter().map(|a| (a.0.to_string(), a.1, a.2)).collect();
        assert_eq!(a6, [("2001:db8::2".into(), 64, 2), ("fd00::2".to_string(), 48, 3)]);
        let r: Vec<_> = c
            .routes
            .iter()
            .map(|r| (r.network.to_string(), r.prefix_len, r.gateway, r.dev.as_deref(), r.line))
            .collect();
        let gw = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            r,
            [
                ("::".into(), 0, gw("fe80::1"), Some("tap0"), 5),
                ("2001:db8:1::".into(), 48, gw("2001:db8::1"), None, 9),
                ("10.1.0.0".to_string(), 16, None, Some("tap0"), 13),
            ]
        );
    }

    #[test]
    fn default_mac_is_unicast_and_local() {
        let c = Config::parse("interface x\n address 10.0.0.1\n netmask 255.255.255.0\n").unwrap();
        let m = c.ifaces[0].mac;
        assert!(!m.is_multicast());
        assert_eq!(m.0[0] & 2, 2);
    }
}
