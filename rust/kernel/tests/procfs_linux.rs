//! /proc renderings checked against the Linux kernel running these tests: headers and
//! line widths byte for byte, the columns of the same listener on both stacks, and
//! /proc/net/route of a network namespace configured like the libos instance (that part
//! needs root and iproute2; CI runs as root — set LIBOS_SKIP_NETNS=1 to skip it, loudly).

use libos_kernel::uapi::*;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig, Route};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;

fn linux(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kernel() -> (Kernel, u32) {
    let mut k = Kernel::new(KernelConfig { seed: 5 });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    k.addr_add(0, eth, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 24).unwrap();
    (k, eth)
}

/// Whitespace-separated columns of the line for local address `hex`.
fn columns_of(text: &str, local: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(local))
        .unwrap_or_else(|| panic!("no {local} in\n{text}"));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn headers_and_widths_match_linux() {
    let (k, _) = kernel();
    for f in ["tcp", "udp", "raw", "route", "dev", "arp", "tcp6", "udp6", "raw6"] {
        let ours = k.proc_read(0, &format!("/proc/net/{f}")).unwrap();
        let theirs = linux(&format!("/proc/net/{f}"));
        let n = if f == "dev" { 2 } else { 1 };
        let head = |s: &str| s.lines().take(n).map(|l| format!("{l}\n")).collect::<String>();
        assert_eq!(head(&ours), head(&theirs), "/proc/net/{f} header");
    }
}

#[test]
fn a_tcp_listener_reads_like_linuxs() {
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let (mut k, _) = kernel();
    let fd = k.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    k.bind(fd, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)).unwrap();
    k.listen(fd, 128).unwrap();
    let local = format!("0100007F:{port:04X}");
    let ours_text = k.proc_read(0, "/proc/net/tcp").unwrap();
    let theirs_text = linux("/proc/net/tcp");
    let (ours, theirs) = (columns_of(&ours_text, &local), columns_of(&theirs_text, &local));
    assert_eq!(ours.len(), theirs.len(), "columns\n{ours:?}\n{theirs:?}");
    // local, remote, state, queues, timer, retransmits, uid, probes: the same values;
    // inode, refcount and pointer are the host's own.
    for i in [1, 2, 3, 4, 5, 6, 7, 8] {
        assert_eq!(ours[i], theirs[i], "column {i}\n{ours:?}\n{theirs:?}");
    }
    let width = |t: &str| t.lines().map(str::len).max().unwrap();
    assert_eq!(width(&ours_text), width(&theirs_text), "padded like seq_pad");
}

#[test]
fn a_bound_udp_socket_reads_like_linuxs() {
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let (mut k, _) = kernel();
    let fd = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.bind(fd, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)).unwrap();
    let local = format!("0100007F:{port:04X}");
    let ours = columns_of(&k.proc_read(0, "/proc/net/udp").unwrap(), &local);
    let theirs = columns_of(&linux("/proc/net/udp"), &local);
    assert_eq!(ours.len(), theirs.len(), "{ours:?}\n{theirs:?}");
    for i in 1..=8 {
        assert_eq!(ours[i], theirs[i], "column {i}\n{ours:?}\n{theirs:?}");
    }
}

/// The same AF_INET6 sockets on both stacks: a TCP listener on ::1, a dual-stack UDP
/// socket bound to `::` and a v4-mapped one, read from tcp6/udp6 column by column.
#[test]
fn ipv6_sockets_read_like_linuxs() {
    use std::net::{Ipv6Addr, SocketAddrV6};
    let lo6 = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0));
    let host = TcpListener::bind(lo6).unwrap();
    let port = host.local_addr().unwrap().port();
    let (mut k, _) = kernel();
    let fd = k.socket(AF_INET6, SOCK_STREAM, 0).unwrap();
    k.bind(fd, SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port)).unwrap();
    k.listen(fd, 128).unwrap();
    let local = format!("00000000000000000000000001000000:{port:04X}");
    let ours_text = k.proc_read(0, "/proc/net/tcp6").unwrap();
    let theirs_text = linux("/proc/net/tcp6");
    let (ours, theirs) = (columns_of(&ours_text, &local), columns_of(&theirs_text, &local));
    assert_eq!(ours.len(), theirs.len(), "columns\n{ours:?}\n{theirs:?}");
    for i in [1, 2, 3, 4, 5, 6, 7, 8] {
        assert_eq!(ours[i], theirs[i], "column {i}\n{ours:?}\n{theirs:?}");
    }
    assert!(!k.proc_read(0, "/proc/net/tcp").unwrap().contains(&format!(":{port:04X}")));
    // UDP: `::` (dual stack) and a v4-mapped bind, in udp6 only.
    let any = UdpSocket::bind(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0)).unwrap();
    let p1 = any.local_addr().unwrap().port();
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    let m = UdpSocket::bind(SocketAddr::new(mapped.into(), 0)).unwrap();
    let p2 = m.local_addr().unwrap().port();
    for (addr, port, hex) in [
        (Ipv6Addr::UNSPECIFIED, p1, "00000000000000000000000000000000"),
        (mapped, p2, "0000000000000000FFFF00000100007F"),
    ] {
        let fd = k.socket(AF_INET6, SOCK_DGRAM, 0).unwrap();
        k.bind(fd, SocketAddr::new(addr.into(), port)).unwrap();
        let local = format!("{hex}:{port:04X}");
        let ours = columns_of(&k.proc_read(0, "/proc/net/udp6").unwrap(), &local);
        let theirs = columns_of(&linux("/proc/net/udp6"), &local);
        assert_eq!(ours.len(), theirs.len(), "{ours:?}\n{theirs:?}");
        for i in 1..=8 {
            assert_eq!(ours[i], theirs[i], "column {i}\n{ours:?}\n{theirs:?}");
        }
    }
    assert!(!k.proc_read(0, "/proc/net/udp").unwrap().contains(&format!(":{p1:04X}")));
}

#[test]
fn sysctl_through_proc_sys() {
    let (mut k, _) = kernel();
    assert_eq!(k.proc_read(0, "/proc/sys/net/ipv4/tcp_sack").unwrap(), "1\n");
    k.proc_write("/proc/sys/net/ipv4/tcp_sack", "0\n").unwrap();
    assert_eq!(k.sysctl_get("net.ipv4.tcp_sack").unwrap(), "0");
    assert_eq!(k.proc_write("/proc/net/tcp", "x"), Err(libos_kernel::Errno::EACCES));
    assert_eq!(k.proc_read(0, "/proc/net/nope"), Err(libos_kernel::Errno::ENOENT));
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect(args[0]);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn route_table_reads_like_a_linux_namespace() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: /proc/net/route against a Linux netns SKIPPED !!!!");
        return;
    }
    let ns = format!("libos-proc-{}", std::process::id());
    run(&["ip", "netns", "add", &ns]);
    let sh = |cmd: &str| {
        Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", cmd]).output().unwrap()
    };
    let setup = "ip link add eth0 type veth peer name eth1 && ip link set eth1 up && \
                 ip link set eth0 up && \
                 ip addr add 192.0.2.10/24 dev eth0 && \
                 ip route add default via 192.0.2.1 && \
                 ip route add 198.51.100.0/24 via 192.0.2.2 metric 7 && \
                 ip route add unreachable 203.0.113.0/24";
    let ok = sh(setup);
    let theirs = String::from_utf8_lossy(&sh("cat /proc/net/route").stdout).into_owned();
    run(&["ip", "netns", "del", &ns]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));

    let (mut k, eth) = kernel();
    let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
    k.route_add(Route::new(v4("0.0.0.0"), 0, Some(v4("192.0.2.1")), Some(eth))).unwrap();
    let mut r = Route::new(v4("198.51.100.0"), 24, Some(v4("192.0.2.2")), Some(eth));
    r.metric = 7;
    k.route_add(r).unwrap();
    k.route_add(Route::of_kind(v4("203.0.113.0"), 24, libos_kernel::RouteKind::Unreachable))
        .unwrap();
    let ours = k.proc_read(0, "/proc/net/route").unwrap();
    assert_eq!(ours, theirs);
}
