//! The classic interface and routing ioctls, for programs older than netlink (ifconfig,
//! route, `ping -I`, DHCP clients): Linux `dev_ifsioc`/`dev_ifsioc_locked`,
//! `devinet_ioctl` and `ip_rt_ioctl`, with `struct ifreq` and `struct rtentry` in the
//! x86-64 layout. The host copies the structures in and out of the program's memory;
//! pointers inside them (`ifc_buf`, `rt_dev`) are the host's to follow.

use crate::dev::{DevFlags, IfIndex, prefix_mask};
use crate::route::{Route, RouteKind};
use crate::{Errno, Kernel, Nanos, SysResult};
use std::net::{IpAddr, Ipv4Addr};

/// `sizeof(struct ifreq)` and `sizeof(struct rtentry)` on x86-64.
pub const IFREQ_LEN: usize = 40;
pub const RTENTRY_LEN: usize = 120;

pub const SIOCADDRT: u32 = 0x890B;
pub const SIOCDELRT: u32 = 0x890C;
pub const SIOCGIFNAME: u32 = 0x8910;
pub const SIOCGIFCONF: u32 = 0x8912;
pub const SIOCGIFFLAGS: u32 = 0x8913;
pub const SIOCSIFFLAGS: u32 = 0x8914;
pub const SIOCGIFADDR: u32 = 0x8915;
pub const SIOCSIFADDR: u32 = 0x8916;
pub const SIOCGIFDSTADDR: u32 = 0x8917;
pub const SIOCGIFBRDADDR: u32 = 0x8919;
pub const SIOCSIFBRDADDR: u32 = 0x891A;
pub const SIOCGIFNETMASK: u32 = 0x891B;
pub const SIOCSIFNETMASK: u32 = 0x891C;
pub const SIOCGIFMETRIC: u32 = 0x891D;
pub const SIOCGIFTXQLEN: u32 = 0x8942;
pub const SIOCGIFMTU: u32 = 0x8921;
pub const SIOCSIFMTU: u32 = 0x8922;
pub const SIOCGIFHWADDR: u32 = 0x8927;
pub const SIOCGIFINDEX: u32 = 0x8933;

const AF_INET: u16 = 2;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const RTF_GATEWAY: u16 = 0x0002;
const RTF_HOST: u16 = 0x0004;
const RTF_REJECT: u16 = 0x0200;
/// `ifr_ifru` starts after the 16-byte name.
const U: usize = 16;

fn name_of(ifr: &[u8]) -> &str {
    let n = &ifr[..16];
    let end = n.iter().position(|&b| b == 0).unwrap_or(16);
    std::str::from_utf8(&n[..end]).unwrap_or("")
}

fn put_sockaddr_in(b: &mut [u8], a: Ipv4Addr) {
    b[..16].fill(0);
    b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
    b[4..8].copy_from_slice(&a.octets());
}

/// A `struct sockaddr_in` at `b`; EINVAL unless AF_INET (`devinet_ioctl`).
fn sockaddr_in(b: &[u8]) -> SysResult<Ipv4Addr> {
    if u16::from_ne_bytes([b[0], b[1]]) != AF_INET {
        return Err(Errno::EINVAL);
    }
    Ok(Ipv4Addr::new(b[4], b[5], b[6], b[7]))
}

/// Linux `inet_abc_len`: the classful prefix SIOCSIFADDR gives a new address.
fn classful_len(a: Ipv4Addr) -> Option<u8> {
    match a.octets()[0] {
        _ if a.is_unspecified() => Some(0),
        0..=127 => Some(8),
        128..=191 => Some(16),
        192..=223 => Some(24),
        _ => None,
    }
}

/// Linux `inet_mask_len`: the prefix length of a contiguous netmask.
fn mask_len(m: Ipv4Addr) -> Option<u8> {
    let m = u32::from(m);
    let len = m.leading_ones() as u8;
    (prefix_mask(len) == m).then_some(len)
}

impl Kernel {
    fn ifreq_dev(&self, ifr: &[u8]) -> SysResult<IfIndex> {
        self.net.devs.by_name(name_of(ifr)).map(|d| d.ifindex).ok_or(Errno::ENODEV)
    }

    /// An interface ioctl on `struct ifreq` (SIOCGIF*/SIOCSIF*, SIOCGIFINDEX,
    /// SIOCGIFNAME); the answer is written back into `ifr`. ENOTTY for others.
    pub fn ioctl_ifreq(
        &mut self,
        now: Nanos,
        request: u32,
        ifr: &mut [u8; IFREQ_LEN],
    ) -> SysResult<()> {
        if request == SIOCGIFNAME {
            let index = u32::from_ne_bytes([ifr[U], ifr[U + 1], ifr[U + 2], ifr[U + 3]]);
            let dev = self.net.devs.get(index).ok_or(Errno::ENODEV)?;
            ifr[..16].fill(0);
            ifr[..dev.name.len().min(15)]
                .copy_from_slice(&dev.name.as_bytes()[..dev.name.len().min(15)]);
            return Ok(());
        }
        let ifindex = self.ifreq_dev(ifr)?;
        match request {
            SIOCGIFINDEX => ifr[U..U + 4].copy_from_slice(&ifindex.to_ne_bytes()),
            SIOCGIFMETRIC => ifr[U..U + 4].fill(0),
            // No qdisc layer: the length Linux gives Ethernet devices and lo.
            SIOCGIFTXQLEN => ifr[U..U + 4].copy_from_slice(&1000i32.to_ne_bytes()),
            SIOCGIFFLAGS => {
                let f = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?.visible_flags();
                ifr[U..U + 2].copy_from_slice(&(f.0 as u16).to_ne_bytes());
            }
            SIOCSIFFLAGS => {
                let f = DevFlags(u32::from(u16::from_ne_bytes([ifr[U], ifr[U + 1]])));
                self.set_ifflags(now, ifindex, f)?;
            }
            SIOCGIFMTU => {
                let mtu = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?.mtu;
                ifr[U..U + 4].copy_from_slice(&mtu.to_ne_bytes());
            }
            SIOCSIFMTU => {
                let mtu = i32::from_ne_bytes([ifr[U], ifr[U + 1], ifr[U + 2], ifr[U + 3]]);
                let mtu = u32::try_from(mtu).map_err(|_| Errno::EINVAL)?;
                self.dev_set_mtu(now, ifindex, mtu)?;
            }
            SIOCGIFHWADDR => {
                let d = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
                let ty = if d.is_loopback() { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
                ifr[U..U + 16].fill(0);
                ifr[U..U + 2].copy_from_slice(&ty.to_ne_bytes());
                ifr[U + 2..U + 8].copy_from_slice(&d.mac.0);
            }
            SIOCGIFADDR | SIOCGIFNETMASK | SIOCGIFBRDADDR | SIOCGIFDSTADDR => {
                let d = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
                let a = *d.addrs4.first().ok_or(Errno::EADDRNOTAVAIL)?;
                let v = match request {
                    SIOCGIFADDR => a.addr,
                    SIOCGIFNETMASK => Ipv4Addr::from(prefix_mask(a.prefix_len)),
                    SIOCGIFBRDADDR => a.broadcast.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    _ => a.peer.unwrap_or(a.addr),
                };
                put_sockaddr_in(&mut ifr[U..], v);
            }
            SIOCSIFADDR => {
                let a = sockaddr_in(&ifr[U..])?;
                let len = classful_len(a).ok_or(Errno::EINVAL)?;
                self.replace_primary(now, ifindex, a, len)?;
            }
            SIOCSIFNETMASK => {
                let len = mask_len(sockaddr_in(&ifr[U..])?).ok_or(Errno::EINVAL)?;
                let d = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
                let a = d.addrs4.first().ok_or(Errno::EADDRNOTAVAIL)?.addr;
                self.replace_primary(now, ifindex, a, len)?;
            }
            SIOCSIFBRDADDR => {
                let b = sockaddr_in(&ifr[U..])?;
                let d = self.net.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
                d.addrs4.first_mut().ok_or(Errno::EADDRNOTAVAIL)?.broadcast = Some(b);
                self.net.fib.invalidate();
            }
            // SIOCDEVPRIVATE..+15: driver-private, which our devices do not have.
            0x89F0..=0x89FF => return Err(Errno::EOPNOTSUPP),
            _ => return Err(Errno::ENOTTY),
        }
        Ok(())
    }

    /// `dev_change_flags` for what SIOCSIFFLAGS may change here: UP and NOARP.
    fn set_ifflags(&mut self, now: Nanos, ifindex: IfIndex, f: DevFlags) -> SysResult<()> {
        let d = self.net.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        if f.contains(DevFlags::NOARP) {
            d.flags.insert(DevFlags::NOARP);
        } else if !d.is_loopback() {
            d.flags.remove(DevFlags::NOARP);
        }
        let up = f.contains(DevFlags::UP);
        if up != d.flags.contains(DevFlags::UP) {
            self.dev_set_up(now, ifindex, up)?;
        }
        Ok(())
    }

    /// Replaces the interface's primary address (or adds the first one).
    fn replace_primary(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        a: Ipv4Addr,
        len: u8,
    ) -> SysResult<()> {
        let d = self.net.devs.get(ifindex).ok_or(Errno::ENODEV)?;
        if let Some(old) = d.addrs4.first().copied() {
            self.addr_del(now, ifindex, IpAddr::V4(old.addr), old.prefix_len)?;
        }
        self.addr_add(now, ifindex, IpAddr::V4(a), len)
    }

    /// SIOCGIFCONF: one `struct ifreq` (name, AF_INET address) per IPv4 address, in
    /// interface order; the host copies as many as fit in `ifc_len`.
    pub fn ioctl_ifconf(&self) -> Vec<[u8; IFREQ_LEN]> {
        let mut out = Vec::new();
        for d in self.net.devs.iter() {
            for a in &d.addrs4 {
                let mut r = [0u8; IFREQ_LEN];
                let n = d.name.len().min(15);
                r[..n].copy_from_slice(&d.name.as_bytes()[..n]);
                put_sockaddr_in(&mut r[U..], a.addr);
                out.push(r);
            }
        }
        out
    }

    /// SIOCADDRT / SIOCDELRT on a `struct rtentry` (`ip_rt_ioctl`,
    /// `rtentry_to_fib_config`); `dev` is the string `rt_dev` points to.
    pub fn ioctl_rtentry(
        &mut self,
        request: u32,
        rt: &[u8; RTENTRY_LEN],
        dev: Option<&str>,
    ) -> SysResult<()> {
        if u16::from_ne_bytes([rt[8], rt[9]]) != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let dst = Ipv4Addr::new(rt[12], rt[13], rt[14], rt[15]);
        let flags = u16::from_ne_bytes([rt[56], rt[57]]);
        let len = if flags & RTF_HOST != 0 {
            32
        } else {
            let mask = Ipv4Addr::new(rt[44], rt[45], rt[46], rt[47]);
            let len = mask_len(mask).ok_or(Errno::EINVAL)?;
            if u32::from(dst) & !prefix_mask(len) != 0 {
                return Err(Errno::EINVAL);
            }
            len
        };
        let gateway = (flags & RTF_GATEWAY != 0)
            .then(|| IpAddr::V4(Ipv4Addr::new(rt[28], rt[29], rt[30], rt[31])));
        let oif = match dev {
            Some(name) => Some(self.dev_index(name).ok_or(Errno::ENODEV)?),
            None => None,
        };
        let mut r = if flags & RTF_REJECT != 0 {
            Route::of_kind(IpAddr::V4(dst), len, RouteKind::Unreachable)
        } else {
            Route::new(IpAddr::V4(dst), len, gateway, oif)
        };
        // `rt_metric` counts from 1 (route(8) shows the stored priority plus one).
        let metric = i16::from_ne_bytes([rt[80], rt[81]]);
        r.metric = u32::try_from(metric - 1).unwrap_or(0);
        match request {
            SIOCADDRT => self.route_add(r),
            SIOCDELRT => self.route_del(&r),
            _ => Err(Errno::ENOTTY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_classes() {
        assert_eq!(mask_len(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(mask_len(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert_eq!(mask_len(Ipv4Addr::UNSPECIFIED), Some(0));
        assert_eq!(classful_len(Ipv4Addr::new(10, 1, 2, 3)), Some(8));
        assert_eq!(classful_len(Ipv4Addr::new(172, 16, 0, 1)), Some(16));
        assert_eq!(classful_len(Ipv4Addr::new(192, 0, 2, 1)), Some(24));
        assert_eq!(classful_len(Ipv4Addr::new(224, 0, 0, 1)), None);
    }
}
