//! libos-kernel: a Linux-like network stack as a plain value driven by its host.
//!
//! # The host contract
//!
//! A [`Kernel`] owns protocol state and the system-call surface; the host owns time,
//! devices and scheduling. The kernel never reads a clock, never spawns a thread, never
//! touches a global, and never blocks.
//!
//! - **Time is an argument.** Every entry point that can change state takes `now`, in
//!   nanoseconds on the host's clock (monotonic, never decreasing). After any call the
//!   host asks [`Kernel::next_deadline`] and calls [`Kernel::advance`] at that time (or
//!   later; early or spurious calls are harmless no-ops).
//! - **Devices are the host's.** [`Kernel::dev_add`] declares a device; the host hands
//!   each received Ethernet frame to [`Kernel::dev_rx`] and, after every call, drains the
//!   frames to send with [`Kernel::poll_transmit`]. Frames are whole Ethernet II frames
//!   with every checksum filled in.
//! - **System calls are the kernel's.** `socket`, `bind`, `connect`, ... return Linux
//!   errno values and never block: where Linux would sleep they return `EAGAIN` or
//!   `EINPROGRESS`. Readiness changes come out of [`Kernel::poll_event`]; the host parks
//!   and wakes its tasks on them.
//!
//! # Draining order
//!
//! After any entry point the host drains, in this order: `poll_transmit` until `None`
//! (frames to put on the wire), `poll_event` until `None` (tasks to wake), then
//! `next_deadline` (when to call `advance`).
//!
//! # Methods by kind
//!
//! - input: `dev_rx`, `advance`;
//! - output: `poll_transmit`, `poll_event`, `next_deadline`;
//! - configuration: `dev_add`, `dev_set_up`, `dev_set_carrier`, `addr_add`, `route_add`,
//!   `sysctl_set`, ...;
//! - sockets: `socket` ... `ioctl`, with Linux semantics.

pub mod deadline;
pub mod dev;
pub mod errno;
pub mod ipv4;
pub mod ipv6;
pub mod neigh;
pub mod net;
pub mod netlink;
pub mod pktbuf;
pub mod procfs;
pub mod rand;
pub mod raw;
pub mod route;
pub mod socket;
pub mod sysctl;
pub mod tcp;
pub mod uapi;
pub mod udp;
pub mod wire;

pub use dev::{DevFlags, DevStats, DeviceConfig, IfIndex};
pub use errno::{Errno, SysResult};
pub use route::{Route, RouteKind};
pub use socket::{Event, Fd};
pub use wire::EthernetAddress;

use bytes::Bytes;
use net::Net;
use socket::Sockets;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use wire::ethernet::{EthernetFrame, EthernetProtocol};

/// Nanoseconds on the host's clock.
pub type Nanos = u64;

/// A frame the kernel asks the host to send on device `ifindex`.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub ifindex: IfIndex,
    pub frame: Bytes,
}

/// How a new instance starts.
#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    /// Seed of the instance's PRNG (ISNs, ephemeral ports, IP IDs, jitter).
    pub seed: u64,
}

/// One network stack instance. `Send`; any number may live in one process.
pub struct Kernel {
    net: Net,
    socks: Sockets,
}

impl Kernel {
    /// A new instance with the loopback device `lo` up and holding 127.0.0.1/8.
    pub fn new(cfg: KernelConfig) -> Kernel {
        let mut k = Kernel { net: Net::new(cfg.seed), socks: Sockets::default() };
        let lo = DeviceConfig {
            name: "lo".into(),
            mac: EthernetAddress::ZERO,
            mtu: 65536,
            flags: DevFlags::LOOPBACK,
        };
        let ifindex = k.net.devs.add(lo).expect("the first device is always valid");
        debug_assert_eq!(ifindex, dev::LOOPBACK_IFINDEX);
        k.dev_set_up(0, ifindex, true).expect("lo exists");
        k.net
            .addr_add(0, ifindex, IpAddr::V4(Ipv4Addr::LOCALHOST), 8)
            .expect("127.0.0.1/8 on a fresh lo");
        k
    }

    // ---- devices -------------------------------------------------------------------

    /// Declares a host device. It starts administratively down with carrier present;
    /// new devices take `net.ipv4.conf.default.*`.
    pub fn dev_add(&mut self, cfg: DeviceConfig) -> SysResult<IfIndex> {
        let ifindex = self.net.devs.add(cfg)?;
        let conf = self.net.sysctl.ipv4.conf_default;
        let conf6 = self.net.sysctl.ipv6.conf_default.clone();
        if let Some(d) = self.net.devs.get_mut(ifindex) {
            d.conf4 = conf;
            d.conf6 = dev::DevConf6::for_device(&conf6, d.mtu, d.flags);
        }
        Ok(ifindex)
    }

    /// `ip link set dev up|down`.
    pub fn dev_set_up(&mut self, now: Nanos, ifindex: IfIndex, up: bool) -> SysResult<()> {
        let d = self.net.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        if up {
            d.flags.insert(DevFlags::UP);
        } else {
            d.flags.remove(DevFlags::UP);
        }
        self.net.dev_changed(now, ifindex);
        self.finish(now);
        Ok(())
    }

    /// The host reports the physical link state (ns-3 link up/down, TAP carrier).
    pub fn dev_set_carrier(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        carrier: bool,
    ) -> SysResult<()> {
        let d = self.net.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        d.carrier = carrier;
        self.net.dev_changed(now, ifindex);
        self.finish(now);
        Ok(())
    }

    /// `ip link set dev mtu N`.
    pub fn dev_set_mtu(&mut self, now: Nanos, ifindex: IfIndex, mtu: u32) -> SysResult<()> {
        let d = self.net.devs.get_mut(ifindex).ok_or(Errno::ENODEV)?;
        if !(68..=65536).contains(&mtu) {
            return Err(Errno::EINVAL);
        }
        d.mtu = mtu;
        d.conf6.set(sysctl::ipv6::Knob::Mtu, i64::from(mtu));
        self.net.dev_changed(now, ifindex);
        Ok(())
    }

    pub fn dev_name(&self, ifindex: IfIndex) -> Option<String> {
        self.net.devs.get(ifindex).map(|d| d.name.clone())
    }

    pub fn dev_index(&self, name: &str) -> Option<IfIndex> {
        self.net.devs.by_name(name).map(|d| d.ifindex)
    }

    /// Read access to a device (name, MAC, MTU, flags, counters, addresses).
    pub fn dev(&self, ifindex: IfIndex) -> Option<&dev::Device> {
        self.net.devs.get(ifindex)
    }

    pub fn devs(&self) -> impl Iterator<Item = &dev::Device> {
        self.net.devs.iter()
    }

    /// A frame received on `ifindex` (Linux `netif_receive_skb`). Any bytes are accepted:
    /// what is not a valid frame for us is dropped and counted, never a panic.
    pub fn dev_rx(&mut self, now: Nanos, ifindex: IfIndex, frame: &[u8]) {
        let Some(dev) = self.net.devs.get_mut(ifindex) else { return };
        if !dev.is_running() {
            dev.stats.rx_dropped += 1;
            return;
        }
        dev.stats.rx_packets += 1;
        dev.stats.rx_bytes += frame.len() as u64;
        self.l2_input(now, ifindex, frame);
        self.finish(now);
    }

    fn l2_input(&mut self, now: Nanos, ifindex: IfIndex, frame: &[u8]) {
        let Some(dev) = self.net.devs.get_mut(ifindex) else { return };
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            dev.stats.rx_errors += 1;
            return;
        };
        let dst = eth.dst_addr();
        let to_us =
            dst == dev.mac || dev.is_loopback() || dev.flags.contains(DevFlags::POINTOPOINT);
        if dst.is_multicast() {
            dev.stats.multicast += 1;
        } else if !to_us {
            // PACKET_OTHERHOST: not for us, dropped before the protocols (Linux ip_rcv).
            return;
        }
        match eth.ethertype() {
            EthernetProtocol::Ipv4 => ipv4::input(
                now,
                &mut self.net,
                &mut self.socks,
                ifindex,
                eth.payload(),
                dst.is_multicast(),
            ),
            EthernetProtocol::Arp => ipv4::arp_input(now, &mut self.net, ifindex, eth.payload()),
            EthernetProtocol::Ipv6 => ipv6::input(
                now,
                &mut self.net,
                &mut self.socks,
                ifindex,
                eth.payload(),
                dst.is_multicast(),
            ),
            _ => dev.stats.rx_dropped += 1,
        }
    }

    /// The next frame to put on a host device, in send order.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.net.outbox.pop_front()
    }

    /// The next readiness change for the host to act on.
    /// Subscribers of rtnetlink groups (`netlink_open`) report here too, under their id;
    /// changes made by calls that take no `now` (`route_add`...) are announced here.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.socks.poll_event().or_else(|| {
            let now = self.net.notify.last_now();
            netlink::notify::collect(&mut self.net, now);
            self.net.notify.poll_event()
        })
    }

    /// The latest `now` an entry point has run at. A host that stamps input with an
    /// earlier time (a frame's arrival) clamps it to this: time never goes back.
    pub fn clock(&self) -> Nanos {
        self.net.notify.last_now()
    }

    /// When the kernel next needs `advance` (None: only input can change anything).
    pub fn next_deadline(&self) -> Option<Nanos> {
        match (self.net.ip_next_deadline(), self.socks.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at or before `now`.
    pub fn advance(&mut self, now: Nanos) {
        self.net.ip_advance(now);
        self.socks.advance(now, &mut self.net);
        self.finish(now);
    }

    /// Work deferred to the end of every entry point: loopback delivery (Linux's
    /// backlog softirq) and readiness events.
    fn finish(&mut self, now: Nanos) {
        // Each looped packet can only cause a bounded number of replies, but bound the
        // loop anyway so a protocol bug cannot hang the host.
        let mut budget = 1 << 16;
        while let Some((ifindex, frame)) = self.net.loopback.pop_front() {
            if budget == 0 {
                self.net.loopback.clear();
                break;
            }
            budget -= 1;
            self.l2_input(now, ifindex, &frame);
        }
        self.socks.collect_events(&mut self.net);
        netlink::notify::collect(&mut self.net, now);
    }

    // ---- configuration -------------------------------------------------------------

    /// `ip addr add addr/prefix_len dev ifindex`: also adds the connected route.
    pub fn addr_add(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: IpAddr,
        prefix_len: u8,
    ) -> SysResult<()> {
        let r = match addr {
            IpAddr::V4(_) => self.net.addr_add(now, ifindex, addr, prefix_len),
            IpAddr::V6(a) => self.net.addr6_add(now, ifindex, a, prefix_len),
        };
        self.finish(now);
        r
    }

    /// `ip -6 addr add addr/prefix_len dev ifindex [nodad]`: without `nodad` the address
    /// stays tentative until duplicate address detection ends (about 1-2 s).
    pub fn addr6_add(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: Ipv6Addr,
        prefix_len: u8,
        nodad: bool,
    ) -> SysResult<()> {
        let r = self.net.addr6_add_flags(now, ifindex, addr, prefix_len, nodad);
        self.finish(now);
        r
    }

    /// Default routers learned from router advertisements (`ip -6 route show default`).
    pub fn default_routers6(&self) -> &[ipv6::router::DefaultRouter] {
        &self.net.ipv6.routers
    }

    /// The IPv6 addresses of `ifindex` with their DAD state, as `ip -6 addr` lists them.
    pub fn addrs6(&self, ifindex: IfIndex) -> &[ipv6::Ifaddr6] {
        self.net.ipv6.addrs.get(&ifindex).map_or(&[], |v| v.as_slice())
    }

    pub fn addr_del(
        &mut self,
        now: Nanos,
        ifindex: IfIndex,
        addr: IpAddr,
        prefix_len: u8,
    ) -> SysResult<()> {
        let r = match addr {
            IpAddr::V4(_) => self.net.addr_del(now, ifindex, addr, prefix_len),
            IpAddr::V6(a) => self.net.addr6_del(ifindex, a, prefix_len),
        };
        self.finish(now);
        r
    }

    /// `ip route add` / `ip -6 route add` (NLM_F_CREATE | NLM_F_EXCL).
    pub fn route_add(&mut self, route: Route) -> SysResult<()> {
        match route.dst {
            IpAddr::V4(_) => self.net.route_add(route),
            IpAddr::V6(_) => {
                let flags = netlink::wire::NLM_F_CREATE | netlink::wire::NLM_F_EXCL;
                netlink::route6::add(&mut self.net, flags, route).map_err(|e| e.errno)
            }
        }
    }

    pub fn route_del(&mut self, route: &Route) -> SysResult<()> {
        self.net.route_del(route)
    }

    /// Output route lookup, as `ip route get` answers it.
    pub fn route_get(&self, dst: IpAddr) -> SysResult<net::RouteOut> {
        self.net.route_output(dst, None)
    }

    /// `ip route get DST from SRC`: the output route of a flow with a known source.
    pub fn route_get_from(&self, dst: IpAddr, src: Ipv4Addr) -> SysResult<net::RouteOut> {
        self.net.route_output_from(dst, Some(src), None)
    }

    /// `ip rule add` (priority None: the kernel picks, like iproute2 without `pref`).
    pub fn rule_add(&mut self, rule: route::Rule, priority: Option<u32>) -> SysResult<()> {
        self.net.fib.rule_add(rule, priority)
    }

    /// `ip rule del`: the first rule the request selects (unset fields match).
    pub fn rule_del(&mut self, rule: &route::Rule) -> SysResult<()> {
        self.net.fib.rule_del(rule).map(|_| ())
    }

    /// The policy rules in priority order, as `ip rule show` lists them.
    pub fn rules(&self) -> &[route::Rule] {
        self.net.fib.rules()
    }

    /// Writes a sysctl (`net.ipv4.ip_forward`, `.net.core.somaxconn`, `/proc/sys/...`).
    pub fn sysctl_set(&mut self, name: &str, value: &str) -> SysResult<()> {
        // Forwarding, accept_local and friends change what lookups mean.
        self.net.fib.invalidate();
        sysctl::set(&mut self.net.sysctl, &mut self.net.devs, name, value)?;
        let name = sysctl::normalize(name);
        if name.starts_with("net.ipv6.") {
            let now = self.net.notify.last_now();
            self.net.ipv6_conf_changed(now, &name);
        }
        Ok(())
    }

    pub fn sysctl_get(&self, name: &str) -> SysResult<String> {
        sysctl::get(&self.net.sysctl, &self.net.devs, name)
    }

    /// Every sysctl name, sorted.
    pub fn sysctl_names(&self) -> Vec<String> {
        sysctl::names(&self.net.devs)
    }

    // ---- sockets -------------------------------------------------------------------

    pub fn socket(&mut self, domain: i32, ty: i32, protocol: i32) -> SysResult<Fd> {
        self.socks.socket(&mut self.net, domain, ty, protocol)
    }

    pub fn bind(&mut self, fd: Fd, addr: SocketAddr) -> SysResult<()> {
        self.socks.bind(&mut self.net, fd, addr)
    }

    /// Non-blocking connect: TCP returns `EINPROGRESS`; the fd turns writable (or gets
    /// `SO_ERROR`) when the handshake ends.
    pub fn connect(&mut self, now: Nanos, fd: Fd, addr: SocketAddr) -> SysResult<()> {
        let r = self.socks.connect(now, &mut self.net, fd, addr);
        self.finish(now);
        r
    }

    /// connect(2) with an `AF_UNSPEC` address: a datagram socket forgets its peer
    /// (and an autobound port), TCP aborts.
    pub fn disconnect(&mut self, now: Nanos, fd: Fd) -> SysResult<()> {
        let r = self.socks.disconnect(now, &mut self.net, fd);
        self.finish(now);
        r
    }

    pub fn listen(&mut self, fd: Fd, backlog: i32) -> SysResult<()> {
        self.socks.listen(&mut self.net, fd, backlog)
    }

    /// accept4(2); `flags` may hold `SOCK_NONBLOCK | SOCK_CLOEXEC`.
    pub fn accept(&mut self, now: Nanos, fd: Fd, flags: i32) -> SysResult<(Fd, SocketAddr)> {
        let r = self.socks.accept(now, &mut self.net, fd, flags);
        self.finish(now);
        r
    }

    pub fn send(&mut self, now: Nanos, fd: Fd, data: &[u8], flags: i32) -> SysResult<usize> {
        self.sendto(now, fd, data, flags, None)
    }

    pub fn sendto(
        &mut self,
        now: Nanos,
        fd: Fd,
        data: &[u8],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        let r = self.socks.sendto(now, &mut self.net, fd, data, flags, to);
        self.finish(now);
        r
    }

    /// sendmsg(2) with a scatter list (no control messages yet): sends the iovecs as one
    /// datagram, or as a stream of bytes for TCP. Datagram sockets gather the pieces
    /// straight into the packet.
    pub fn sendmsg(
        &mut self,
        now: Nanos,
        fd: Fd,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        let r = self.socks.sendmsg(now, &mut self.net, fd, iov, flags, to);
        self.finish(now);
        r
    }

    /// sendmsg(2) with control messages (`msg_control`, Linux's `struct cmsghdr`
    /// layout): IP_PKTINFO / IPV6_PKTINFO (output device, source), IP_TTL /
    /// IPV6_HOPLIMIT, IP_TOS / IPV6_TCLASS for one packet on UDP and raw sockets
    /// (`ip_cmsg_send`, `ip6_datagram_send_ctl`; TCP ignores them). EINVAL for malformed
    /// or unknown IP-level messages, as Linux.
    pub fn sendmsg_control(
        &mut self,
        now: Nanos,
        fd: Fd,
        iov: &[&[u8]],
        flags: i32,
        to: Option<SocketAddr>,
        control: &[u8],
    ) -> SysResult<usize> {
        let ctl = raw::cmsg::parse(control)?;
        let r = self.socks.sendmsg_ctl(now, &mut self.net, fd, iov, flags, to, &ctl);
        self.finish(now);
        r
    }

    pub fn recv(&mut self, now: Nanos, fd: Fd, buf: &mut [u8], flags: i32) -> SysResult<usize> {
        self.recvfrom(now, fd, buf, flags).map(|(n, _)| n)
    }

    pub fn recvfrom(
        &mut self,
        now: Nanos,
        fd: Fd,
        buf: &mut [u8],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        let r = self.socks.recvfrom(now, &mut self.net, fd, buf, flags);
        self.finish(now);
        r
    }

    /// recvmsg(2) with a gather list: fills the iovecs in order.
    pub fn recvmsg(
        &mut self,
        now: Nanos,
        fd: Fd,
        iov: &mut [&mut [u8]],
        flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        let r = self.socks.recvmsg(now, &mut self.net, fd, iov, flags);
        self.finish(now);
        r
    }

    /// rtnetlink (NETLINK_ROUTE): answers the messages in `req` as Linux would queue
    /// the replies on the socket (acks, errors, dumps ending in NLMSG_DONE).
    pub fn netlink(&mut self, now: Nanos, req: &[u8]) -> Vec<u8> {
        self.netlink_process(now, req, false)
    }

    /// As [`Kernel::netlink`] for a socket that set `NETLINK_EXT_ACK`: error acks carry
    /// Linux's message text (NLMSGERR_ATTR_MSG), which iproute2 prints as `Error: ...`.
    pub fn netlink_ext_ack(&mut self, now: Nanos, req: &[u8]) -> Vec<u8> {
        self.netlink_process(now, req, true)
    }

    fn netlink_process(&mut self, now: Nanos, req: &[u8], ext_ack: bool) -> Vec<u8> {
        let out = netlink::process(&mut self.net, now, req, ext_ack);
        self.finish(now);
        out
    }

    /// Runs an iproute2 command line (`ip route add ...`) on this instance: the output
    /// iproute2 would print, or its error text.
    pub fn run_ip(&mut self, now: Nanos, cmdline: &str) -> Result<String, String> {
        let r = netlink::iproute::run(self, now, cmdline);
        self.finish(now);
        r
    }

    /// The control messages (`msg_control`, Linux's `struct cmsghdr` layout) of the
    /// message `fd` read last with `recvmsg`/`recvfrom`: IP_PKTINFO, IP_TTL, IP_TOS,
    /// IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS, IP(V6)_RECVERR as the socket enabled
    /// them.
    pub fn recvmsg_control(&self, fd: Fd) -> SysResult<Vec<u8>> {
        self.socks.recv_control(&self.net, fd)
    }

    pub fn shutdown(&mut self, now: Nanos, fd: Fd, how: i32) -> SysResult<()> {
        let r = self.socks.shutdown(now, &mut self.net, fd, how);
        self.finish(now);
        r
    }

    pub fn close(&mut self, now: Nanos, fd: Fd) -> SysResult<()> {
        let r = self.socks.close(now, &mut self.net, fd);
        self.finish(now);
        r
    }

    pub fn setsockopt(
        &mut self,
        now: Nanos,
        fd: Fd,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()> {
        let r = self.socks.setsockopt(now, &mut self.net, fd, level, name, val);
        self.finish(now);
        r
    }

    /// Writes the value into `out`; returns its length.
    pub fn getsockopt(
        &mut self,
        fd: Fd,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        self.socks.getsockopt(&self.net, fd, level, name, out)
    }

    /// An int-valued option, the common case.
    pub fn setsockopt_int(
        &mut self,
        now: Nanos,
        fd: Fd,
        level: i32,
        name: i32,
        v: i32,
    ) -> SysResult<()> {
        self.setsockopt(now, fd, level, name, &v.to_ne_bytes())
    }

    pub fn getsockopt_int(&mut self, fd: Fd, level: i32, name: i32) -> SysResult<i32> {
        let mut b = [0u8; 4];
        self.getsockopt(fd, level, name, &mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    pub fn getsockname(&self, fd: Fd) -> SysResult<SocketAddr> {
        self.socks.getsockname(fd)
    }

    pub fn getpeername(&self, fd: Fd) -> SysResult<SocketAddr> {
        self.socks.getpeername(fd)
    }

    /// The typed `TCP_INFO` of a TCP socket (what `getsockopt(SOL_TCP, TCP_INFO)` encodes).
    pub fn tcp_info(&self, fd: Fd) -> SysResult<tcp::TcpInfo> {
        self.socks.tcp_info(fd)
    }

    /// UDP MIB counters (the `Udp:` lines of /proc/net/snmp).
    pub fn udp_mib(&self) -> udp::UdpMib {
        self.socks.udp.mib
    }

    /// MIB counters by section, with Linux's names and order: `Ip`, `Icmp`, `Tcp`, `Udp`
    /// (the lines of /proc/net/snmp), `TcpExt` and `IpExt` (/proc/net/netstat).
    pub fn snmp(&self) -> Vec<(&'static str, Vec<(&'static str, i64)>)> {
        let wide = |rows: Vec<(&'static str, u64)>| -> Vec<(&'static str, i64)> {
            rows.into_iter().map(|(n, v)| (n, v as i64)).collect()
        };
        let tcp = &self.socks.tcp.stats.mib;
        let s4 = &self.net.sysctl.ipv4;
        let mut ip = vec![
            ("Forwarding", if s4.ip_forward { 1 } else { 2 }),
            ("DefaultTTL", i64::from(s4.ip_default_ttl)),
        ];
        ip.extend(wide(self.net.ipv4.mib.rows()));
        vec![
            ("Ip", ip),
            ("Icmp", wide(self.net.ipv4.icmp_mib.rows())),
            ("Tcp", tcp.snmp().to_vec()),
            ("Udp", wide(self.socks.udp.mib.rows())),
            ("TcpExt", wide(tcp.netstat().to_vec())),
            ("IpExt", wide(self.net.ipv4.mib.ext_rows())),
        ]
    }

    /// One counter by section and Linux name, e.g. `("Tcp", "RetransSegs")`.
    pub fn snmp_counter(&self, section: &str, name: &str) -> Option<i64> {
        self.snmp()
            .into_iter()
            .find(|(s, _)| *s == section)?
            .1
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Every route, as `ip route show table all` lists them.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.net.fib.routes()
    }

    /// The neighbour cache, as `ip neigh show` lists it.
    pub fn neighbours(&self) -> impl Iterator<Item = (&neigh::NeighKey, &neigh::Neighbour)> {
        self.net.neigh.iter()
    }

    /// The poll(2) mask of `fd` now.
    pub fn poll(&self, fd: Fd) -> SysResult<u16> {
        self.socks.poll(fd)
    }

    /// FIONREAD/SIOCINQ, SIOCOUTQ, FIONBIO.
    pub fn ioctl(&mut self, fd: Fd, request: u32, arg: i32) -> SysResult<i32> {
        self.socks.ioctl(fd, request, arg)
    }

    pub fn is_nonblocking(&self, fd: Fd) -> SysResult<bool> {
        self.socks.is_nonblocking(fd)
    }

    pub fn set_nonblocking(&mut self, fd: Fd, on: bool) -> SysResult<()> {
        self.socks.set_nonblocking(fd, on)
    }

    /// Open socket fds, ascending.
    pub fn fds(&self) -> Vec<Fd> {
        self.socks.fds().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn kernel_is_send() {
        assert_send::<Kernel>();
    }

    #[test]
    fn new_instance_has_loopback() {
        let k = Kernel::new(KernelConfig::default());
        let lo = k.dev(1).unwrap();
        assert_eq!(lo.name, "lo");
        assert!(lo.is_running());
        assert_eq!(k.dev_index("lo"), Some(1));
    }

    #[test]
    fn snmp_has_linux_sections() {
        let k = Kernel::new(KernelConfig::default());
        let sections: Vec<&str> = k.snmp().iter().map(|(s, _)| *s).collect();
        assert_eq!(sections, ["Ip", "Icmp", "Tcp", "Udp", "TcpExt", "IpExt"]);
        assert_eq!(k.snmp_counter("Tcp", "RtoMin"), Some(200));
        assert_eq!(k.snmp_counter("Tcp", "Nope"), None);
        assert!(k.routes().any(|r| r.kind == RouteKind::Local));
    }

    #[test]
    fn garbage_frames_are_dropped_not_panics() {
        let mut k = Kernel::new(KernelConfig::default());
        let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
        k.dev_set_up(0, eth, true).unwrap();
        // (Bringing the link up sends an MLD report for its link-local address.)
        while k.poll_transmit().is_some() {}
        k.dev_rx(0, eth, &[]);
        k.dev_rx(0, eth, &[0xff; 13]);
        k.dev_rx(0, 99, &[0; 64]);
        assert!(k.poll_transmit().is_none());
    }
}
