//! One kernel instance as the ns-3 glue sees it: IPv4 addresses and ports as host-order
//! integers, results as `-errno` (Linux convention), no Rust types the C++ side would
//! have to mirror. Pure Rust, so it is tested without ns-3.

use libos_kernel::{DevFlags, DeviceConfig, Errno, EthernetAddress, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `next_deadline` when the instance has no timer armed.
pub const NO_DEADLINE: u64 = u64::MAX;

/// A peer address: IPv4 as a host-order `u32` (ns-3's `Ipv4Address::Get()`) and a port.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Addr4 {
    pub addr: u32,
    pub port: u16,
}

/// An IPv6 peer: the 16 address bytes (ns-3's `Ipv6Address::GetBytes`), port and scope
/// (the ifindex of a link-local peer). An IPv4 peer of a dual-stack socket is reported as
/// ::ffff:a.b.c.d, as Linux does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Addr6 {
    pub addr: [u8; 16],
    pub port: u16,
    pub scope_id: u32,
}

/// The `tcp_info` fields the ns-3 trace sources need.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TcpSample {
    pub state: u8,
    pub snd_cwnd: u32,
    pub snd_mss: u32,
    pub snd_ssthresh: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub total_retrans: u32,
}

pub struct Handle {
    k: Kernel,
}

fn err(e: Errno) -> i32 {
    -e.0
}

fn r0(r: Result<(), Errno>) -> i32 {
    r.map_or_else(err, |_| 0)
}

fn sa(a: u32, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(a), port))
}

impl From<SocketAddr> for Addr4 {
    fn from(s: SocketAddr) -> Addr4 {
        match s {
            SocketAddr::V4(v) => Addr4 { addr: u32::from(*v.ip()), port: v.port() },
            SocketAddr::V6(v) => Addr4 { addr: 0, port: v.port() },
        }
    }
}

fn sa6(a: Addr6) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(a.addr), a.port, 0, a.scope_id))
}

impl From<SocketAddr> for Addr6 {
    fn from(s: SocketAddr) -> Addr6 {
        let (addr, scope_id) = match s {
            SocketAddr::V6(v) => (v.ip().octets(), v.scope_id()),
            SocketAddr::V4(v) => (v.ip().to_ipv6_mapped().octets(), 0),
        };
        Addr6 { addr, port: s.port(), scope_id }
    }
}

/// Bytes moved or `-errno`.
fn len_or_err(r: Result<usize, Errno>) -> i64 {
    r.map_or_else(|e| i64::from(err(e)), |n| n as i64)
}

/// The address written to `out` in the caller's form: 0 or `-errno`.
fn put_addr<A: From<SocketAddr>>(r: Result<SocketAddr, Errno>, out: &mut A) -> i32 {
    r.map_or_else(err, |a| {
        *out = a.into();
        0
    })
}

impl Handle {
    pub fn new(seed: u64) -> Handle {
        Handle { k: Kernel::new(KernelConfig { seed }) }
    }

    pub fn kernel(&mut self) -> &mut Kernel {
        &mut self.k
    }

    /// Declares a device; `flags` are IFF_* bits (BROADCAST, POINTOPOINT, NOARP, ...).
    /// Returns the ifindex or `-errno`.
    pub fn dev_add(&mut self, name: &str, mac: &[u8], mtu: u32, flags: u32) -> i32 {
        let Ok(mac) = <[u8; 6]>::try_from(mac) else {
            return err(Errno::EINVAL);
        };
        let cfg = DeviceConfig {
            name: name.to_string(),
            mac: EthernetAddress(mac),
            mtu,
            flags: DevFlags(flags),
        };
        self.k.dev_add(cfg).map_or_else(err, |i| i as i32)
    }

    pub fn dev_set_up(&mut self, now: u64, ifindex: u32, up: bool) -> i32 {
        r0(self.k.dev_set_up(now, ifindex, up))
    }

    pub fn dev_set_carrier(&mut self, now: u64, ifindex: u32, on: bool) -> i32 {
        r0(self.k.dev_set_carrier(now, ifindex, on))
    }

    pub fn dev_rx(&mut self, now: u64, ifindex: u32, frame: &[u8]) {
        self.k.dev_rx(now, ifindex, frame);
    }

    /// The next frame to send: (ifindex, whole Ethernet frame).
    pub fn poll_transmit(&mut self) -> Option<(u32, Vec<u8>)> {
        self.k.poll_transmit().map(|t| (t.ifindex, t.frame.to_vec()))
    }

    /// The next readiness change: (fd, poll mask).
    pub fn poll_event(&mut self) -> Option<(i32, u16)> {
        self.k.poll_event().map(|e| (e.fd, e.revents))
    }

    pub fn next_deadline(&self) -> u64 {
        self.k.next_deadline().unwrap_or(NO_DEADLINE)
    }

    pub fn advance(&mut self, now: u64) {
        self.k.advance(now);
    }

    pub fn sysctl_set(&mut self, name: &str, value: &str) -> i32 {
        r0(self.k.sysctl_set(name, value))
    }

    pub fn sysctl_get(&self, name: &str, out: &mut String) -> i32 {
        match self.k.sysctl_get(name) {
            Ok(v) => {
                *out = v;
                0
            }
            Err(e) => err(e),
        }
    }

    /// An iproute2 command line; `out` gets its output (0) or its error text (-1).
    pub fn run_ip(&mut self, now: u64, cmd: &str, out: &mut String) -> i32 {
        match self.k.run_ip(now, cmd) {
            Ok(s) => {
                *out = s;
                0
            }
            Err(s) => {
                *out = s;
                -1
            }
        }
    }

    /// rtnetlink request bytes in, the replies Linux would queue out.
    pub fn netlink(&mut self, now: u64, req: &[u8]) -> Vec<u8> {
        self.k.netlink(now, req)
    }

    pub fn addr_add(&mut self, now: u64, ifindex: u32, addr: u32, prefix: u8) -> i32 {
        let a = IpAddr::V4(Ipv4Addr::from(addr));
        r0(self.k.addr_add(now, ifindex, a, prefix))
    }

    /// `route add dst/prefix [via gw] dev oif`; `gw == 0` means on-link.
    pub fn route_add(&mut self, dst: u32, prefix: u8, gw: u32, oif: u32) -> i32 {
        let gw = (gw != 0).then(|| IpAddr::V4(Ipv4Addr::from(gw)));
        let dst = IpAddr::V4(Ipv4Addr::from(dst));
        r0(self.k.route_add(libos_kernel::Route::new(dst, prefix, gw, Some(oif))))
    }

    /// `ip -6 addr add addr/prefix dev ifindex`: tentative while DAD runs on Ethernet
    /// devices (about 1-2 s, as Linux), usable at once on point-to-point (NOARP) ones.
    pub fn addr6_add(&mut self, now: u64, ifindex: u32, addr: [u8; 16], prefix: u8) -> i32 {
        let a = IpAddr::V6(Ipv6Addr::from(addr));
        r0(self.k.addr_add(now, ifindex, a, prefix))
    }

    pub fn bind6(&mut self, fd: i32, a: Addr6) -> i32 {
        r0(self.k.bind(fd, sa6(a)))
    }

    pub fn connect6(&mut self, now: u64, fd: i32, a: Addr6) -> i32 {
        r0(self.k.connect(now, fd, sa6(a)))
    }

    pub fn accept6(&mut self, now: u64, fd: i32, peer: &mut Addr6) -> i32 {
        self.accept_as(now, fd, peer)
    }

    pub fn sendto6(&mut self, now: u64, fd: i32, data: &[u8], flags: i32, to: Addr6) -> i64 {
        len_or_err(self.k.sendto(now, fd, data, flags, Some(sa6(to))))
    }

    pub fn recvfrom6(
        &mut self,
        now: u64,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        from: &mut Addr6,
    ) -> i64 {
        self.recvfrom_as(now, fd, buf, flags, from)
    }

    pub fn getsockname6(&self, fd: i32, out: &mut Addr6) -> i32 {
        put_addr(self.k.getsockname(fd), out)
    }

    pub fn getpeername6(&self, fd: i32, out: &mut Addr6) -> i32 {
        put_addr(self.k.getpeername(fd), out)
    }

    pub fn socket(&mut self, domain: i32, ty: i32, protocol: i32) -> i32 {
        self.k.socket(domain, ty, protocol).unwrap_or_else(err)
    }

    pub fn bind(&mut self, fd: i32, addr: u32, port: u16) -> i32 {
        r0(self.k.bind(fd, sa(addr, port)))
    }

    pub fn connect(&mut self, now: u64, fd: i32, addr: u32, port: u16) -> i32 {
        r0(self.k.connect(now, fd, sa(addr, port)))
    }

    pub fn listen(&mut self, fd: i32, backlog: i32) -> i32 {
        r0(self.k.listen(fd, backlog))
    }

    pub fn accept(&mut self, now: u64, fd: i32, peer: &mut Addr4) -> i32 {
        self.accept_as(now, fd, peer)
    }

    /// accept(2), the peer written in the caller's form: the new fd or `-errno`.
    fn accept_as<A: From<SocketAddr>>(&mut self, now: u64, fd: i32, peer: &mut A) -> i32 {
        match self.k.accept(now, fd, 0) {
            Ok((nfd, a)) => {
                *peer = a.into();
                nfd
            }
            Err(e) => err(e),
        }
    }

    /// `sendto`; `to == None` for a connected socket. Bytes taken or `-errno`.
    pub fn sendto(&mut self, now: u64, fd: i32, data: &[u8], flags: i32, to: Option<Addr4>) -> i64 {
        let to = to.map(|a| sa(a.addr, a.port));
        len_or_err(self.k.sendto(now, fd, data, flags, to))
    }

    pub fn recvfrom(
        &mut self,
        now: u64,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        from: &mut Addr4,
    ) -> i64 {
        self.recvfrom_as(now, fd, buf, flags, from)
    }

    /// recvfrom(2), the sender written in the caller's form (left alone if none): bytes
    /// read or `-errno`.
    fn recvfrom_as<A: From<SocketAddr>>(
        &mut self,
        now: u64,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        from: &mut A,
    ) -> i64 {
        let r = self.k.recvfrom(now, fd, buf, flags);
        if let Ok((_, Some(a))) = r {
            *from = a.into();
        }
        len_or_err(r.map(|(n, _)| n))
    }

    pub fn shutdown(&mut self, now: u64, fd: i32, how: i32) -> i32 {
        r0(self.k.shutdown(now, fd, how))
    }

    pub fn close(&mut self, now: u64, fd: i32) -> i32 {
        r0(self.k.close(now, fd))
    }

    pub fn setsockopt(&mut self, now: u64, fd: i32, level: i32, name: i32, val: &[u8]) -> i32 {
        r0(self.k.setsockopt(now, fd, level, name, val))
    }

    pub fn setsockopt_int(&mut self, now: u64, fd: i32, level: i32, name: i32, v: i32) -> i32 {
        r0(self.k.setsockopt_int(now, fd, level, name, v))
    }

    pub fn getsockopt_int(&mut self, fd: i32, level: i32, name: i32, out: &mut i32) -> i32 {
        match self.k.getsockopt_int(fd, level, name) {
            Ok(v) => {
                *out = v;
                0
            }
            Err(e) => err(e),
        }
    }

    pub fn getsockname(&self, fd: i32, out: &mut Addr4) -> i32 {
        put_addr(self.k.getsockname(fd), out)
    }

    pub fn getpeername(&self, fd: i32, out: &mut Addr4) -> i32 {
        put_addr(self.k.getpeername(fd), out)
    }

    pub fn tcp_info(&self, fd: i32, out: &mut TcpSample) -> i32 {
        self.k.tcp_info(fd).map_or_else(err, |i| {
            *out = TcpSample {
                state: i.state,
                snd_cwnd: i.snd_cwnd,
                snd_mss: i.snd_mss,
                snd_ssthresh: i.snd_ssthresh,
                rtt_us: i.rtt,
                rttvar_us: i.rttvar,
                total_retrans: i.total_retrans,
            };
            0
        })
    }

    /// The poll mask of `fd` now, or `-errno`.
    pub fn poll(&self, fd: i32) -> i32 {
        self.k.poll(fd).map_or_else(err, i32::from)
    }

    pub fn ioctl(&mut self, fd: i32, request: u32, arg: i32) -> i32 {
        self.k.ioctl(fd, request, arg).unwrap_or_else(err)
    }

    pub fn set_nonblocking(&mut self, fd: i32, on: bool) -> i32 {
        r0(self.k.set_nonblocking(fd, on))
    }

    /// A `/proc/net/snmp` counter, or -1 when unknown.
    pub fn snmp_counter(&self, section: &str, name: &str) -> i64 {
        self.k.snmp_counter(section, name).unwrap_or(-1)
    }
}

#[cfg(test)]
#[path = "handle_tests.rs"]
mod tests;
