//! NUSECONF: NUSE's configuration format (linux-libos-tools `nuse.conf.sample`), plus
//! `sysctl NAME VALUE` lines and a `seed N` line.
//!
//! ```text
//! # comment
//! interface tap0              # block header: the host interface name (TAP / RAW)
//!     address 10.0.0.2
//!     netmask 255.255.255.0
//!     macaddr 02:00:00:00:00:02   # optional; derived from the name otherwise
//!     viftype TAP                 # RAW (default) | TAP | PIPE
//!     pipepath /tmp/link0         # PIPE only
//!     mtu 1500                    # optional
//! route
//!     network 0.0.0.0
//!     netmask 0.0.0.0
//!     gateway 10.0.0.1
//! sysctl net.ipv4.tcp_sack 0
//! ```
//! Keys of a block are indented (tab or spaces); every error names its line.

use libos_kernel::EthernetAddress;
use std::fmt;
use std::net::Ipv4Addr;
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
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub mac: EthernetAddress,
    pub viftype: VifType,
    pub pipepath: Option<PathBuf>,
    pub mtu: Option<u32>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteConf {
    pub network: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
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
    mac: Option<EthernetAddress>,
    viftype: Option<VifType>,
    pipepath: Option<PathBuf>,
    mtu: Option<u32>,
}

#[derive(Default)]
struct RouteDraft {
    line: usize,
    network: Option<Ipv4Addr>,
    netmask: Option<(Ipv4Addr, usize)>,
    gateway: Option<Ipv4Addr>,
}

enum Block {
    None,
    Iface(IfaceDraft),
    Route(RouteDraft),
}

fn ip(v: &str, key: &str, line: usize) -> Result<Ipv4Addr, ConfError> {
    v.parse().or_else(|_| err(line, format!("{key}: '{v}' is not an IPv4 address")))
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
                let Some(address) = d.address else {
                    return err(d.line, format!("interface {} has no address", d.name));
                };
                let prefix_len = match d.netmask {
                    Some((m, l)) => prefix_of(m, l)?,
                    None => return err(d.line, format!("interface {} has no netmask", d.name)),
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
                    prefix_len,
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
                let Some(network) = d.network else { return err(d.line, "route has no network") };
                let Some((mask, ml)) = d.netmask else {
                    return err(d.line, "route has no netmask");
                };
                let prefix_len = prefix_of(mask, ml)?;
                if u32::from(network) & !u32::from(mask) != 0 {
                    return err(ml, format!("network {network} has bits outside netmask {mask}"));
                }
                self.routes.push(RouteConf {
                    network,
                    prefix_len,
                    gateway: d.gateway,
                    line: d.line,
                });
                Ok(())
            }
        }
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
                    "unknown interface key '{key}' (address, netmask, macaddr, viftype, pipepath, mtu)"
                ),
            );
        }
    }
    Ok(())
}

fn route_key(d: &mut RouteDraft, key: &str, args: &[&str], line: usize) -> Result<(), ConfError> {
    let v = one(key, args, line)?;
    match key {
        "network" => d.network = Some(ip(v, key, line)?),
        "netmask" => d.netmask = Some((ip(v, key, line)?, line)),
        "gateway" => d.gateway = Some(ip(v, key, line)?),
        _ => return err(line, format!("unknown route key '{key}' (network, netmask, gateway)")),
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
            (i.name.as_str(), i.address, i.prefix_len),
            ("eth0", Ipv4Addr::new(192, 168, 0, 10), 24)
        );
        assert_eq!(i.mac, EthernetAddress([0, 1, 1, 1, 1, 1]));
        assert_eq!(i.viftype, VifType::Tap);
        assert_eq!(c.routes[0].prefix_len, 0);
        assert_eq!(c.routes[0].gateway, Some(Ipv4Addr::new(192, 168, 0, 1)));
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
            ("route\n\tnetwork 10.0.0.1\n\tnetmask 255.0.0.0\n", 3, "outside netmask"),
            ("sysctl a\n", 1, "usage"),
        ];
        for (text, line, what) in cases {
            let e = Config::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.msg.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn default_mac_is_unicast_and_local() {
        let c = Config::parse("interface x\n address 10.0.0.1\n netmask 255.255.255.0\n").unwrap();
        let m = c.ifaces[0].mac;
        assert!(!m.is_multicast());
        assert_eq!(m.0[0] & 2, 2);
    }
}
