//! The net_device table: host-owned devices as the kernel sees them (name, MAC, MTU,
//! flags, carrier, counters), plus the loopback device that every instance has.
//! Frames leave through `Net::dev_xmit`; the host collects them with `poll_transmit`.

use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Interface index, as `if_nametoindex(3)` returns. Loopback is always 1.
pub type IfIndex = u32;

pub const LOOPBACK_IFINDEX: IfIndex = 1;

/// Interface flags with Linux's `IFF_*` values (`include/uapi/linux/if.h`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct DevFlags(pub u32);

impl DevFlags {
    pub const UP: DevFlags = DevFlags(0x1);
    pub const BROADCAST: DevFlags = DevFlags(0x2);
    pub const LOOPBACK: DevFlags = DevFlags(0x8);
    pub const POINTOPOINT: DevFlags = DevFlags(0x10);
    pub const RUNNING: DevFlags = DevFlags(0x40);
    pub const NOARP: DevFlags = DevFlags(0x80);
    pub const PROMISC: DevFlags = DevFlags(0x100);
    pub const MULTICAST: DevFlags = DevFlags(0x1000);
    pub const LOWER_UP: DevFlags = DevFlags(0x10000);

    pub const fn contains(self, other: DevFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: DevFlags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: DevFlags) {
        self.0 &= !other.0;
    }
}

impl core::ops::BitOr for DevFlags {
    type Output = DevFlags;
    fn bitor(self, rhs: DevFlags) -> DevFlags {
        DevFlags(self.0 | rhs.0)
    }
}

impl core::fmt::Debug for DevFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const NAMES: [(DevFlags, &str); 9] = [
            (DevFlags::UP, "UP"),
            (DevFlags::BROADCAST, "BROADCAST"),
            (DevFlags::LOOPBACK, "LOOPBACK"),
            (DevFlags::POINTOPOINT, "POINTOPOINT"),
            (DevFlags::RUNNING, "RUNNING"),
            (DevFlags::NOARP, "NOARP"),
            (DevFlags::PROMISC, "PROMISC"),
            (DevFlags::MULTICAST, "MULTICAST"),
            (DevFlags::LOWER_UP, "LOWER_UP"),
        ];
        let names: Vec<&str> =
            NAMES.iter().filter(|(fl, _)| self.contains(*fl)).map(|(_, n)| *n).collect();
        write!(f, "<{}>", names.join(","))
    }
}

/// What the host says about a device it creates.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Interface name, at most 15 bytes (IFNAMSIZ - 1).
    pub name: String,
    pub mac: EthernetAddress,
    pub mtu: u32,
    /// Capability flags: BROADCAST|MULTICAST for Ethernet, POINTOPOINT|NOARP for
    /// point-to-point links. UP is set by `dev_set_up`, not here.
    pub flags: DevFlags,
}

impl DeviceConfig {
    /// An Ethernet device (ARP, broadcast) with MTU 1500.
    pub fn ethernet(name: &str, mac: EthernetAddress) -> DeviceConfig {
        DeviceConfig {
            name: name.to_string(),
            mac,
            mtu: 1500,
            flags: DevFlags::BROADCAST | DevFlags::MULTICAST,
        }
    }
}

/// Per-device counters, as `struct rtnl_link_stats64`.
#[derive(Debug, Clone, Default)]
pub struct DevStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub multicast: u64,
}

/// An IPv4 address on an interface (`struct in_ifaddr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ifaddr4 {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// Peer address of a point-to-point link (IFA_ADDRESS when it differs from IFA_LOCAL).
    pub peer: Option<Ipv4Addr>,
    pub broadcast: Option<Ipv4Addr>,
}

impl Ifaddr4 {
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_mask(self.prefix_len))
    }

    /// The connected prefix: of the peer on a point-to-point address (`ifa_address`).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.peer.unwrap_or(self.addr)) & prefix_mask(self.prefix_len))
    }

    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & prefix_mask(self.prefix_len) == u32::from(self.network())
    }
}

/// The netmask for an IPv4 prefix length (0..=32).
pub fn prefix_mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) }
}

/// Per-interface IPv4 configuration (`net.ipv4.conf.<dev>.*`), as `struct ipv4_devconf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevConf4 {
    pub forwarding: bool,
    pub rp_filter: u8,
    pub accept_redirects: bool,
    pub send_redirects: bool,
    pub accept_local: bool,
    pub arp_ignore: u8,
    pub arp_announce: u8,
}

impl Default for DevConf4 {
    /// Linux defaults for a new device (`ipv4_devconf_dflt`).
    fn default() -> Self {
        DevConf4 {
            forwarding: false,
            rp_filter: 0,
            accept_redirects: true,
            send_redirects: true,
            accept_local: false,
            arp_ignore: 0,
            arp_announce: 0,
        }
    }
}

/// Per-interface IPv6 configuration (`net.ipv6.conf.<dev>.*`, Linux `struct
/// ipv6_devconf`): the knobs of `sysctl::ipv6::KNOBS` that differ from Linux's default,
/// sorted by knob (an idle device holds one or two), plus the stable secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DevConf6 {
    set: Vec<(u8, i32)>,
    /// `stable_secret` (addr_gen_mode 2); None until written (reads give EIO).
    pub stable_secret: Option<std::net::Ipv6Addr>,
}

impl DevConf6 {
    /// `ipv6_add_dev`: a new device copies `default`, takes its link MTU, and loopback
    /// or NOARP devices get use_tempaddr -1 (loopback also accept_dad -1).
    pub fn for_device(dflt: &DevConf6, mtu: u32, flags: DevFlags) -> DevConf6 {
        use crate::sysctl::ipv6::Knob;
        let mut c = dflt.clone();
        c.set(Knob::Mtu, i64::from(mtu));
        if flags.contains(DevFlags::LOOPBACK) || flags.contains(DevFlags::NOARP) {
            c.set(Knob::UseTempaddr, -1);
        }
        if flags.contains(DevFlags::LOOPBACK) {
            c.set(Knob::AcceptDad, -1);
        }
        c
    }

    /// The value as `cat` prints it (unsigned knobs above i32::MAX included).
    pub fn value(&self, i: usize) -> i64 {
        let knob = crate::sysctl::ipv6::KNOBS[i];
        let Some(&(_, v)) = self.set.iter().find(|e| usize::from(e.0) == i) else {
            return knob.1;
        };
        if knob.2.1 > i64::from(i32::MAX) { i64::from(v as u32) } else { v.into() }
    }

    pub fn get(&self, k: crate::sysctl::ipv6::Knob) -> i64 {
        self.value(k as usize)
    }

    pub fn set(&mut self, k: crate::sysctl::ipv6::Knob, v: i64) {
        self.set_raw(k as usize, v);
    }

    pub(crate) fn set_raw(&mut self, i: usize, v: i64) {
        let at = self.set.partition_point(|e| usize::from(e.0) < i);
        let here = self.set.get(at).is_some_and(|e| usize::from(e.0) == i);
        match (here, v == crate::sysctl::ipv6::KNOBS[i].1) {
            (true, true) => {
                self.set.remove(at);
            }
            (true, false) => self.set[at].1 = v as i32,
            (false, false) => self.set.insert(at, (i as u8, v as i32)),
            (false, true) => {}
        }
    }
}

pub struct Device {
    pub ifindex: IfIndex,
    pub name: String,
    pub mac: EthernetAddress,
    pub mtu: u32,
    pub flags: DevFlags,
    /// Physical link state reported by the host (IFF_LOWER_UP / RUNNING).
    pub carrier: bool,
    pub stats: DevStats,
    pub addrs4: Vec<Ifaddr4>,
    pub conf4: DevConf4,
    pub conf6: DevConf6,
}

impl Device {
    /// Admin up and carrier present: frames may be sent.
    pub fn is_running(&self) -> bool {
        self.flags.contains(DevFlags::UP) && self.carrier
    }

    pub fn is_loopback(&self) -> bool {
        self.flags.contains(DevFlags::LOOPBACK)
    }

    /// True for links that need neighbour resolution (Ethernet without NOARP).
    pub fn needs_arp(&self) -> bool {
        !self.flags.contains(DevFlags::NOARP)
            && !self.flags.contains(DevFlags::LOOPBACK)
            && !self.flags.contains(DevFlags::POINTOPOINT)
    }

    /// Flags as `SIOCGIFFLAGS`/`ifi_flags` report them, with RUNNING/LOWER_UP derived.
    pub fn visible_flags(&self) -> DevFlags {
        let mut f = self.flags;
        if self.carrier {
            f.insert(DevFlags::LOWER_UP);
            if f.contains(DevFlags::UP) {
                f.insert(DevFlags::RUNNING);
            }
        }
        f
    }
}

/// The device table, indexed by ifindex (index 0 unused, as in Linux).
#[derive(Default)]
pub struct DevTable {
    devs: Vec<Option<Device>>,
}

pub const IFNAMSIZ: usize = 16;

impl DevTable {
    pub fn add(&mut self, cfg: DeviceConfig) -> Result<IfIndex, crate::Errno> {
        if cfg.name.is_empty() || cfg.name.len() >= IFNAMSIZ || cfg.name.contains(['/', ' ']) {
            return Err(crate::Errno::EINVAL);
        }
        if self.by_name(&cfg.name).is_some() {
            return Err(crate::Errno::EEXIST);
        }
        if cfg.mtu < 68 && !cfg.flags.contains(DevFlags::LOOPBACK) {
            return Err(crate::Errno::EINVAL);
        }
        if self.devs.is_empty() {
            self.devs.push(None);
        }
        let ifindex = self.devs.len() as IfIndex;
        let conf6 = DevConf6::for_device(&DevConf6::default(), cfg.mtu, cfg.flags);
        self.devs.push(Some(Device {
            ifindex,
            name: cfg.name,
            mac: cfg.mac,
            mtu: cfg.mtu,
            flags: cfg.flags,
            carrier: true,
            stats: DevStats::default(),
            addrs4: Vec::new(),
            conf4: DevConf4::default(),
            conf6,
        }));
        Ok(ifindex)
    }

    pub fn get(&self, ifindex: IfIndex) -> Option<&Device> {
        self.devs.get(ifindex as usize).and_then(|d| d.as_ref())
    }

    pub fn get_mut(&mut self, ifindex: IfIndex) -> Option<&mut Device> {
        self.devs.get_mut(ifindex as usize).and_then(|d| d.as_mut())
    }

    pub fn by_name(&self, name: &str) -> Option<&Device> {
        self.iter().find(|d| d.name == name)
    }

    /// Devices in ifindex order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devs.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Device> {
        self.devs.iter_mut().flatten()
    }
}
