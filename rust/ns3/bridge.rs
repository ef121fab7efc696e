//! The cxx bridge (`#include "libos-ns3/rust/ns3/bridge.rs.h"`, namespace `libos`): one
//! opaque `KernelHandle` per ns-3 node. Every call runs under `catch_unwind`; a panic
//! poisons the handle (the kernel may be half-updated), is reported once on stderr by the
//! default hook, and every later call returns `-EIO` / does nothing. `is_poisoned` lets
//! the C++ side stop the simulation with a clear NS_FATAL_ERROR.

use crate::handle::{Addr4, Addr6, Handle, TcpSample};
use std::panic::{AssertUnwindSafe, catch_unwind};

#[cxx::bridge(namespace = "libos")]
mod ffi {
    /// IPv4 address (host order, as `ns3::Ipv4Address::Get()`) and port.
    #[derive(Default)]
    struct SockAddr4 {
        addr: u32,
        port: u16,
    }

    /// IPv6 address bytes (`ns3::Ipv6Address::GetBytes`), port, scope (ifindex).
    #[derive(Default)]
    struct SockAddr6 {
        addr: [u8; 16],
        port: u16,
        scope_id: u32,
    }

    /// `tcp_info` fields for the CongestionWindow / RTT trace sources.
    #[derive(Default)]
    struct TcpInfoSample {
        state: u8,
        snd_cwnd: u32,
        snd_mss: u32,
        snd_ssthresh: u32,
        rtt_us: u32,
        rttvar_us: u32,
        total_retrans: u32,
    }

    extern "Rust" {
        type KernelHandle;

        fn kernel_new(seed: u64) -> Box<KernelHandle>;
        fn is_poisoned(self: &KernelHandle) -> bool;

        fn dev_add(self: &mut KernelHandle, name: &str, mac: &[u8], mtu: u32, flags: u32) -> i32;
        fn dev_set_up(self: &mut KernelHandle, now: u64, ifindex: u32, up: bool) -> i32;
        fn dev_set_carrier(self: &mut KernelHandle, now: u64, ifindex: u32, on: bool) -> i32;
        fn dev_rx(self: &mut KernelHandle, now: u64, ifindex: u32, frame: &[u8]);
        fn poll_transmit(self: &mut KernelHandle, ifindex: &mut u32, frame: &mut Vec<u8>) -> bool;
        fn poll_event(self: &mut KernelHandle, fd: &mut i32, revents: &mut u16) -> bool;
        fn next_deadline(self: &KernelHandle) -> u64;
        fn advance(self: &mut KernelHandle, now: u64);

        fn sysctl_set(self: &mut KernelHandle, name: &str, value: &str) -> i32;
        fn sysctl_get(self: &mut KernelHandle, name: &str, out: &mut String) -> i32;
        fn run_ip(self: &mut KernelHandle, now: u64, cmd: &str, out: &mut String) -> i32;
        fn netlink(self: &mut KernelHandle, now: u64, req: &[u8]) -> Vec<u8>;
        fn addr_add(self: &mut KernelHandle, now: u64, ifindex: u32, addr: u32, plen: u8) -> i32;
        fn route_add(self: &mut KernelHandle, dst: u32, plen: u8, gw: u32, oif: u32) -> i32;
        fn snmp_counter(self: &mut KernelHandle, section: &str, name: &str) -> i64;

        fn socket(self: &mut KernelHandle, domain: i32, ty: i32, protocol: i32) -> i32;
        fn bind(self: &mut KernelHandle, fd: i32, addr: u32, port: u16) -> i32;
        fn connect(self: &mut KernelHandle, now: u64, fd: i32, addr: u32, port: u16) -> i32;
        fn listen(self: &mut KernelHandle, fd: i32, backlog: i32) -> i32;
        fn accept(self: &mut KernelHandle, now: u64, fd: i32, peer: &mut SockAddr4) -> i32;
        fn send(self: &mut KernelHandle, now: u64, fd: i32, data: &[u8], flags: i32) -> i64;
        fn sendto(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            data: &[u8],
            flags: i32,
            to: &SockAddr4,
        ) -> i64;
        fn recvfrom(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            buf: &mut [u8],
            flags: i32,
            from: &mut SockAddr4,
        ) -> i64;
        fn shutdown(self: &mut KernelHandle, now: u64, fd: i32, how: i32) -> i32;
        fn close(self: &mut KernelHandle, now: u64, fd: i32) -> i32;
        fn setsockopt(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            level: i32,
            name: i32,
            val: &[u8],
        ) -> i32;
        fn setsockopt_int(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            level: i32,
            name: i32,
            v: i32,
        ) -> i32;
        fn getsockopt_int(
            self: &mut KernelHandle,
            fd: i32,
            level: i32,
            name: i32,
            out: &mut i32,
        ) -> i32;
        fn getsockname(self: &mut KernelHandle, fd: i32, out: &mut SockAddr4) -> i32;
        fn getpeername(self: &mut KernelHandle, fd: i32, out: &mut SockAddr4) -> i32;
        fn tcp_info(self: &mut KernelHandle, fd: i32, out: &mut TcpInfoSample) -> i32;
        fn poll(self: &mut KernelHandle, fd: i32) -> i32;
        fn ioctl(self: &mut KernelHandle, fd: i32, request: u32, arg: i32) -> i32;
        fn set_nonblocking(self: &mut KernelHandle, fd: i32, on: bool) -> i32;

        fn addr6_add(self: &mut KernelHandle, now: u64, ifindex: u32, addr: &[u8], plen: u8)
        -> i32;
        fn bind6(self: &mut KernelHandle, fd: i32, addr: &SockAddr6) -> i32;
        fn connect6(self: &mut KernelHandle, now: u64, fd: i32, addr: &SockAddr6) -> i32;
        fn accept6(self: &mut KernelHandle, now: u64, fd: i32, peer: &mut SockAddr6) -> i32;
        fn sendto6(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            data: &[u8],
            flags: i32,
            to: &SockAddr6,
        ) -> i64;
        fn recvfrom6(
            self: &mut KernelHandle,
            now: u64,
            fd: i32,
            buf: &mut [u8],
            flags: i32,
            from: &mut SockAddr6,
        ) -> i64;
        fn getsockname6(self: &mut KernelHandle, fd: i32, out: &mut SockAddr6) -> i32;
        fn getpeername6(self: &mut KernelHandle, fd: i32, out: &mut SockAddr6) -> i32;
    }
}

pub use ffi::{SockAddr4, SockAddr6, TcpInfoSample};

const EIO: i32 = 5;

/// The handle the C++ side owns (`rust::Box<libos::KernelHandle>`).
pub struct KernelHandle {
    h: Handle,
    poisoned: bool,
}

pub fn kernel_new(seed: u64) -> Box<KernelHandle> {
    Box::new(KernelHandle { h: Handle::new(seed), poisoned: false })
}

fn a4(a: &SockAddr4) -> Addr4 {
    Addr4 { addr: a.addr, port: a.port }
}

fn a6(a: &SockAddr6) -> Addr6 {
    Addr6 { addr: a.addr, port: a.port, scope_id: a.scope_id }
}

fn put6(out: &mut SockAddr6, a: Addr6) {
    out.addr = a.addr;
    out.port = a.port;
    out.scope_id = a.scope_id;
}

fn put(out: &mut SockAddr4, a: Addr4) {
    out.addr = a.addr;
    out.port = a.port;
}

impl KernelHandle {
    /// Runs `f` unless poisoned; a panic poisons the handle and yields `dflt`.
    fn guard<R>(&mut self, dflt: R, f: impl FnOnce(&mut Handle) -> R) -> R {
        if self.poisoned {
            return dflt;
        }
        let h = &mut self.h;
        match catch_unwind(AssertUnwindSafe(|| f(h))) {
            Ok(r) => r,
            Err(_) => {
                self.poisoned = true;
                dflt
            }
        }
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn dev_add(&mut self, name: &str, mac: &[u8], mtu: u32, flags: u32) -> i32 {
        self.guard(-EIO, |h| h.dev_add(name, mac, mtu, flags))
    }

    fn dev_set_up(&mut self, now: u64, ifindex: u32, up: bool) -> i32 {
        self.guard(-EIO, |h| h.dev_set_up(now, ifindex, up))
    }

    fn dev_set_carrier(&mut self, now: u64, ifindex: u32, on: bool) -> i32 {
        self.guard(-EIO, |h| h.dev_set_carrier(now, ifindex, on))
    }

    fn dev_rx(&mut self, now: u64, ifindex: u32, frame: &[u8]) {
        self.guard((), |h| h.dev_rx(now, ifindex, frame))
    }

    fn poll_transmit(&mut self, ifindex: &mut u32, frame: &mut Vec<u8>) -> bool {
        match self.guard(None, |h| h.poll_transmit()) {
            Some((i, f)) => {
                *ifindex = i;
                *frame = f;
                true
            }
            None => false,
        }
    }

    fn poll_event(&mut self, fd: &mut i32, revents: &mut u16) -> bool {
        match self.guard(None, |h| h.poll_event()) {
            Some((f, r)) => {
                *fd = f;
                *revents = r;
                true
            }
            None => false,
        }
    }

    fn next_deadline(&self) -> u64 {
        if self.poisoned { crate::handle::NO_DEADLINE } else { self.h.next_deadline() }
    }

    fn advance(&mut self, now: u64) {
        self.guard((), |h| h.advance(now))
    }

    fn sysctl_set(&mut self, name: &str, value: &str) -> i32 {
        self.guard(-EIO, |h| h.sysctl_set(name, value))
    }

    fn sysctl_get(&mut self, name: &str, out: &mut String) -> i32 {
        self.guard(-EIO, |h| h.sysctl_get(name, out))
    }

    fn run_ip(&mut self, now: u64, cmd: &str, out: &mut String) -> i32 {
        self.guard(-EIO, |h| h.run_ip(now, cmd, out))
    }

    fn netlink(&mut self, now: u64, req: &[u8]) -> Vec<u8> {
        self.guard(Vec::new(), |h| h.netlink(now, req))
    }

    fn addr_add(&mut self, now: u64, ifindex: u32, addr: u32, plen: u8) -> i32 {
        self.guard(-EIO, |h| h.addr_add(now, ifindex, addr, plen))
    }

    fn route_add(&mut self, dst: u32, plen: u8, gw: u32, oif: u32) -> i32 {
        self.guard(-EIO, |h| h.route_add(dst, plen, gw, oif))
    }

    fn snmp_counter(&mut self, section: &str, name: &str) -> i64 {
        self.guard(-1, |h| h.snmp_counter(section, name))
    }

    fn socket(&mut self, domain: i32, ty: i32, protocol: i32) -> i32 {
        self.guard(-EIO, |h| h.socket(domain, ty, protocol))
    }

    fn bind(&mut self, fd: i32, addr: u32, port: u16) -> i32 {
        self.guard(-EIO, |h| h.bind(fd, addr, port))
    }

    fn connect(&mut self, now: u64, fd: i32, addr: u32, port: u16) -> i32 {
        self.guard(-EIO, |h| h.connect(now, fd, addr, port))
    }

    fn listen(&mut self, fd: i32, backlog: i32) -> i32 {
        self.guard(-EIO, |h| h.listen(fd, backlog))
    }

    fn accept(&mut self, now: u64, fd: i32, peer: &mut SockAddr4) -> i32 {
        let mut a = Addr4::default();
        let r = self.guard(-EIO, |h| h.accept(now, fd, &mut a));
        put(peer, a);
        r
    }

    fn send(&mut self, now: u64, fd: i32, data: &[u8], flags: i32) -> i64 {
        self.guard(-EIO as i64, |h| h.sendto(now, fd, data, flags, None))
    }

    fn sendto(&mut self, now: u64, fd: i32, data: &[u8], flags: i32, to: &SockAddr4) -> i64 {
        let to = a4(to);
        self.guard(-EIO as i64, |h| h.sendto(now, fd, data, flags, Some(to)))
    }

    fn recvfrom(
        &mut self,
        now: u64,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        from: &mut SockAddr4,
    ) -> i64 {
        let mut a = Addr4::default();
        let r = self.guard(-EIO as i64, |h| h.recvfrom(now, fd, buf, flags, &mut a));
        put(from, a);
        r
    }

    fn shutdown(&mut self, now: u64, fd: i32, how: i32) -> i32 {
        self.guard(-EIO, |h| h.shutdown(now, fd, how))
    }

    fn close(&mut self, now: u64, fd: i32) -> i32 {
        self.guard(-EIO, |h| h.close(now, fd))
    }

    fn setsockopt(&mut self, now: u64, fd: i32, level: i32, name: i32, val: &[u8]) -> i32 {
        self.guard(-EIO, |h| h.setsockopt(now, fd, level, name, val))
    }

    fn setsockopt_int(&mut self, now: u64, fd: i32, level: i32, name: i32, v: i32) -> i32 {
        self.guard(-EIO, |h| h.setsockopt_int(now, fd, level, name, v))
    }

    fn getsockopt_int(&mut self, fd: i32, level: i32, name: i32, out: &mut i32) -> i32 {
        self.guard(-EIO, |h| h.getsockopt_int(fd, level, name, out))
    }

    fn getsockname(&mut self, fd: i32, out: &mut SockAddr4) -> i32 {
        let mut a = Addr4::default();
        let r = self.guard(-EIO, |h| h.getsockname(fd, &mut a));
        put(out, a);
        r
    }

    fn getpeername(&mut self, fd: i32, out: &mut SockAddr4) -> i32 {
        let mut a = Addr4::default();
        let r = self.guard(-EIO, |h| h.getpeername(fd, &mut a));
        put(out, a);
        r
    }

    fn tcp_info(&mut self, fd: i32, out: &mut TcpInfoSample) -> i32 {
        let mut s = TcpSample::default();
        let r = self.guard(-EIO, |h| h.tcp_info(fd, &mut s));
        *out = TcpInfoSample {
            state: s.state,
            snd_cwnd: s.snd_cwnd,
            snd_mss: s.snd_mss,
            snd_ssthresh: s.snd_ssthresh,
            rtt_us: s.rtt_us,
            rttvar_us: s.rttvar_us,
            total_retrans: s.total_retrans,
        };
        r
    }

    fn poll(&mut self, fd: i32) -> i32 {
        self.guard(-EIO, |h| h.poll(fd))
    }

    fn ioctl(&mut self, fd: i32, request: u32, arg: i32) -> i32 {
        self.guard(-EIO, |h| h.ioctl(fd, request, arg))
    }

    fn set_nonblocking(&mut self, fd: i32, on: bool) -> i32 {
        self.guard(-EIO, |h| h.set_nonblocking(fd, on))
    }

    fn addr6_add(&mut self, now: u64, ifindex: u32, addr: &[u8], plen: u8) -> i32 {
        let Ok(a) = <[u8; 16]>::try_from(addr) else { return -22 };
        self.guard(-EIO, |h| h.addr6_add(now, ifindex, a, plen))
    }

    fn bind6(&mut self, fd: i32, addr: &SockAddr6) -> i32 {
        let a = a6(addr);
        self.guard(-EIO, |h| h.bind6(fd, a))
    }

    fn connect6(&mut self, now: u64, fd: i32, addr: &SockAddr6) -> i32 {
        let a = a6(addr);
        self.guard(-EIO, |h| h.connect6(now, fd, a))
    }

    fn accept6(&mut self, now: u64, fd: i32, peer: &mut SockAddr6) -> i32 {
        let mut a = Addr6::default();
        let r = self.guard(-EIO, |h| h.accept6(now, fd, &mut a));
        put6(peer, a);
        r
    }

    fn sendto6(&mut self, now: u64, fd: i32, data: &[u8], flags: i32, to: &SockAddr6) -> i64 {
        let to = a6(to);
        self.guard(-EIO as i64, |h| h.sendto6(now, fd, data, flags, to))
    }

    fn recvfrom6(
        &mut self,
        now: u64,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
        from: &mut SockAddr6,
    ) -> i64 {
        let mut a = Addr6::default();
        let r = self.guard(-EIO as i64, |h| h.recvfrom6(now, fd, buf, flags, &mut a));
        put6(from, a);
        r
    }

    fn getsockname6(&mut self, fd: i32, out: &mut SockAddr6) -> i32 {
        let mut a = Addr6::default();
        let r = self.guard(-EIO, |h| h.getsockname6(fd, &mut a));
        put6(out, a);
        r
    }

    fn getpeername6(&mut self, fd: i32, out: &mut SockAddr6) -> i32 {
        let mut a = Addr6::default();
        let r = self.guard(-EIO, |h| h.getpeername6(fd, &mut a));
        put6(out, a);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_poisons_the_handle_and_does_not_unwind() {
        let mut k = kernel_new(7);
        assert!(k.socket(2, 1, 0) >= 0);
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = k.guard(0, |_| -> i32 { panic!("boom") });
        std::panic::set_hook(prev);
        assert_eq!(r, 0);
        assert!(k.is_poisoned());
        assert_eq!(k.socket(2, 1, 0), -EIO);
        assert_eq!(k.next_deadline(), crate::handle::NO_DEADLINE);
        let (mut i, mut f) = (0, Vec::new());
        assert!(!k.poll_transmit(&mut i, &mut f));
    }
}
