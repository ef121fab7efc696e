//! /proc, as far as the network goes: the files tools read (`netstat`, `route`, `arp`,
//! `ss -F`, monitoring scripts) rendered byte for byte in Linux's formats from the
//! instance's state, and `/proc/sys/...` mapped onto the sysctl tree. Formats follow
//! the Linux `*_seq_show` functions named at each renderer.

mod ipv6;
mod sockets;
mod tables;

pub use sockets::{SockRow, TcpRow};

use crate::{Errno, Kernel, Nanos, SysResult};

impl Kernel {
    /// Reads a /proc file: `/proc/net/{tcp,udp,raw,route,dev,arp,snmp,netstat}` or
    /// `/proc/sys/net/...` (the `/proc` prefix may be left out). ENOENT otherwise.
    pub fn proc_read(&self, now: Nanos, path: &str) -> SysResult<String> {
        let p = path.trim_start_matches("/proc/").trim_start_matches('/');
        if p.starts_with("sys/") {
            return self.sysctl_get(&format!("/proc/{p}")).map(|v| v + "\n");
        }
        Ok(match p {
            "net/tcp" => sockets::tcp(&self.socks.tcp.proc_rows(now)),
            "net/udp" => sockets::udp(&self.socks.udp.proc_rows()),
            "net/raw" => sockets::raw(&self.socks.raw.proc_rows()),
            "net/tcp6" => sockets::tcp6(&self.socks.tcp.proc_rows6(now)),
            "net/udp6" => sockets::udp6(&self.socks.udp.proc_rows6()),
            "net/raw6" => sockets::raw6(&self.socks.raw.proc_rows6()),
            "net/route" => tables::route(&self.net),
            "net/dev" => tables::dev(&self.net),
            "net/arp" => tables::arp(&self.net),
            "net/snmp" => tables::snmp(&self.snmp(), &["Ip", "Icmp", "Tcp", "Udp"]),
            "net/netstat" => tables::snmp(&self.snmp(), &["TcpExt", "IpExt"]),
            "net/if_inet6" => ipv6::if_inet6(&self.net, now),
            "net/ipv6_route" => ipv6::ipv6_route(&self.net),
            "net/snmp6" => ipv6::snmp6(&self.net),
            _ => return Err(Errno::ENOENT),
        })
    }

    /// Writes a /proc file: only `/proc/sys/...` is writable (as `sysctl -w`); a
    /// trailing newline is ignored. EACCES for the read-only /proc/net files.
    pub fn proc_write(&mut self, path: &str, data: &str) -> SysResult<()> {
        let p = path.trim_start_matches("/proc/").trim_start_matches('/');
        if !p.starts_with("sys/") {
            return Err(if p.starts_with("net/") { Errno::EACCES } else { Errno::ENOENT });
        }
        self.sysctl_set(&format!("/proc/{p}"), data.trim_end_matches('\n'))
    }
}

/// Pads `line` with spaces to `width` and ends it (Linux `seq_setwidth` + `seq_pad`).
fn padded(out: &mut String, line: &str, width: usize) {
    out.push_str(line);
    for _ in line.len()..width {
        out.push(' ');
    }
    out.push('\n');
}

/// An IPv4 address as `%08X` of the raw `__be32` on a little-endian host (x86-64 Linux
/// prints 127.0.0.1 as 0100007F).
fn hex_addr(a: std::net::Ipv4Addr) -> String {
    format!("{:08X}", u32::from_le_bytes(a.octets()))
}

/// Kernel time to clock_t (USER_HZ = 100), as `jiffies_to_clock_t`.
fn clock_t(ns: Nanos) -> u64 {
    ns / 10_000_000
}
