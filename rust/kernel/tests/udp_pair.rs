//! UDP between two kernels on one Ethernet segment, checked against Linux behaviour.

mod socket_pair;

use libos_kernel::uapi::*;
use libos_kernel::{Errno, Kernel, KernelConfig};
use socket_pair::*;
use std::net::Ipv4Addr;

fn udp(k: &mut Kernel) -> i32 {
    k.socket(AF_INET, SOCK_DGRAM, 0).unwrap()
}

fn recv(k: &mut Kernel, fd: i32) -> Result<(Vec<u8>, Option<std::net::SocketAddr>), Errno> {
    let mut buf = vec![0u8; 70_000];
    let (n, from) = k.recvfrom(0, fd, &mut buf, 0)?;
    buf.truncate(n);
    Ok((buf, from))
}

#[test]
fn echo_both_ways() {
    let mut p = Pair::new(1);
    let srv = udp(&mut p.a);
    p.a.bind(srv, sa(A_IP, 7)).unwrap();
    let cli = udp(&mut p.b);
    let msg: Vec<u8> = (0..1200u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(p.b.sendto(0, cli, &msg, 0, Some(sa(A_IP, 7))), Ok(msg.len()));
    p.drive();
    let cli_addr = p.b.getsockname(cli).unwrap();
    assert_eq!(cli_addr.ip(), std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let (got, from) = recv(&mut p.a, srv).unwrap();
    assert_eq!(got, msg);
    let from = from.unwrap();
    assert_eq!(from, sa(B_IP, cli_addr.port()));
    // Echo back, as a gather list.
    let (h, t) = got.split_at(100);
    assert_eq!(p.a.sendmsg(p.now, srv, &[h, t], 0, Some(from)), Ok(msg.len()));
    p.drive();
    let mut x = vec![0u8; 1000];
    let mut y = vec![0u8; 1000];
    let (n, src) = p.b.recvmsg(p.now, cli, &mut [&mut x[..], &mut y[..]], 0).unwrap();
    assert_eq!((n, src), (msg.len(), Some(sa(A_IP, 7))));
    assert_eq!([&x[..], &y[..200]].concat(), msg);
    assert_eq!(p.a.udp_mib().out_datagrams, 1);
    assert_eq!(p.a.udp_mib().in_datagrams, 1);
}

#[test]
fn fragmented_datagram_arrives_whole() {
    let mut p = Pair::new(2);
    let srv = udp(&mut p.a);
    p.a.bind(srv, sa(A_IP, 9000)).unwrap();
    let cli = udp(&mut p.b);
    let msg: Vec<u8> = (0..20_000u32).map(|i| (i % 256) as u8).collect();
    assert_eq!(p.b.sendto(0, cli, &msg, 0, Some(sa(A_IP, 9000))), Ok(msg.len()));
    p.drive();
    assert_eq!(recv(&mut p.a, srv).unwrap().0, msg);
    // IP_PMTUDISC_DO forbids local fragmentation.
    p.b.setsockopt_int(p.now, cli, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO).unwrap();
    assert_eq!(p.b.sendto(p.now, cli, &msg, 0, Some(sa(A_IP, 9000))), Err(Errno::EMSGSIZE));
    assert_eq!(p.b.sendto(p.now, cli, &msg[..1472], 0, Some(sa(A_IP, 9000))), Ok(1472));
    assert_eq!(p.b.sendto(p.now, cli, &msg[..1473], 0, Some(sa(A_IP, 9000))), Err(Errno::EMSGSIZE));
    let big = vec![0u8; 65_508];
    p.b.setsockopt_int(p.now, cli, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT).unwrap();
    assert_eq!(p.b.sendto(p.now, cli, &big, 0, Some(sa(A_IP, 9000))), Err(Errno::EMSGSIZE));
}

#[test]
fn loopback_in_one_kernel() {
    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let a = udp(&mut k);
    let b = udp(&mut k);
    k.bind(a, sa(Ipv4Addr::LOCALHOST, 5353)).unwrap();
    k.connect(0, b, sa(Ipv4Addr::LOCALHOST, 5353)).unwrap();
    let local = k.getsockname(b).unwrap();
    assert_eq!(local.ip(), std::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(local.port(), 0);
    assert_eq!(k.send(0, b, b"ping", 0), Ok(4));
    // The host hears that `a` became readable.
    let mut ev = Vec::new();
    while let Some(e) = k.poll_event() {
        ev.push(e);
    }
    assert!(ev.iter().any(|e| e.fd == a && e.revents & POLLIN != 0), "{ev:?}");
    assert_eq!(recv(&mut k, a).unwrap(), (b"ping".to_vec(), Some(local)));
    assert_eq!(k.poll(a).unwrap() & POLLIN, 0);
}

#[test]
fn ephemeral_ports_follow_the_seed() {
    let ports = |seed| {
        let mut k = Kernel::new(KernelConfig { seed });
        (0..4)
            .map(|_| {
                let fd = udp(&mut k);
                k.connect(0, fd, sa(Ipv4Addr::LOCALHOST, 9)).unwrap();
                k.getsockname(fd).unwrap().port()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ports(11), ports(11));
    assert_ne!(ports(11), ports(12));
    let mut k = Kernel::new(KernelConfig { seed: 5 });
    k.sysctl_set("net.ipv4.ip_local_port_range", "40000 40000").unwrap();
    let fd = udp(&mut k);
    k.bind(fd, sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    assert_eq!(k.getsockname(fd).unwrap().port(), 40000);
    let fd2 = udp(&mut k);
    // Autobind failure is EAGAIN on connect/send, EADDRINUSE on bind (Linux).
    assert_eq!(k.connect(0, fd2, sa(Ipv4Addr::LOCALHOST, 9)), Err(Errno::EAGAIN));
    assert_eq!(k.bind(fd2, sa(Ipv4Addr::UNSPECIFIED, 0)), Err(Errno::EADDRINUSE));
}

#[test]
fn addrinuse_and_reuseaddr() {
    let mut p = Pair::new(4);
    let k = &mut p.a;
    let a = udp(k);
    let b = udp(k);
    k.bind(a, sa(Ipv4Addr::UNSPECIFIED, 500)).unwrap();
    assert_eq!(k.bind(b, sa(A_IP, 500)), Err(Errno::EADDRINUSE));
    assert_eq!(k.bind(b, sa(Ipv4Addr::new(10, 0, 0, 9), 500)), Err(Errno::EADDRNOTAVAIL));
    k.setsockopt_int(0, b, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
    assert_eq!(k.bind(b, sa(A_IP, 500)), Err(Errno::EADDRINUSE), "needs it on both");
    k.close(0, a).unwrap();
    let a = udp(k);
    k.setsockopt_int(0, a, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
    k.bind(a, sa(Ipv4Addr::UNSPECIFIED, 500)).unwrap();
    k.bind(b, sa(A_IP, 500)).unwrap();
    assert_eq!(k.bind(b, sa(A_IP, 501)), Err(Errno::EINVAL));
    // SO_REUSEPORT on both also shares.
    let c = udp(k);
    let d = udp(k);
    for fd in [c, d] {
        k.setsockopt_int(0, fd, SOL_SOCKET, SO_REUSEPORT, 1).unwrap();
        k.bind(fd, sa(A_IP, 600)).unwrap();
    }
}

#[test]
fn connected_socket_to_closed_port_gets_econnrefused() {
    let mut p = Pair::new(5);
    let fd = udp(&mut p.b);
    p.b.connect(0, fd, sa(A_IP, 9999)).unwrap();
    assert_eq!(p.b.getpeername(fd), Ok(sa(A_IP, 9999)));
    assert_eq!(p.b.getsockname(fd).unwrap().ip(), std::net::IpAddr::V4(B_IP));
    p.b.send(0, fd, b"anyone?", 0).unwrap();
    p.drive();
    assert_eq!(p.a.udp_mib().no_ports, 1);
    assert_eq!(p.b.poll(fd).unwrap() & POLLERR, POLLERR);
    // The pending error fails the next send (which sends nothing)...
    assert_eq!(p.b.send(p.now, fd, b"again", 0), Err(Errno::ECONNREFUSED));
    assert_eq!(p.b.poll(fd).unwrap() & POLLERR, 0);
    // ...or the next receive, after another datagram met the closed port (one
    // second later, clear of the ICMP rate limit).
    p.now += 1_000_000_000;
    p.b.send(p.now, fd, b"third", 0).unwrap();
    p.drive();
    assert_eq!(recv(&mut p.b, fd), Err(Errno::ECONNREFUSED));
    assert_eq!(recv(&mut p.b, fd), Err(Errno::EAGAIN));
    // An unconnected socket is not told (Linux without IP_RECVERR).
    let u = udp(&mut p.b);
    p.b.sendto(p.now, u, b"x", 0, Some(sa(A_IP, 9998))).unwrap();
    p.drive();
    assert_eq!(p.b.getsockopt_int(u, SOL_SOCKET, SO_ERROR), Ok(0));
    assert_eq!(p.b.poll(u).unwrap() & POLLERR, 0);
    // AF_UNSPEC connect dissolves the association.
    p.b.disconnect(p.now, fd).unwrap();
    assert_eq!(p.b.getpeername(fd), Err(Errno::ENOTCONN));
    assert_eq!(p.b.send(p.now, fd, b"x", 0), Err(Errno::EDESTADDRREQ));
}

#[test]
fn so_broadcast() {
    let mut p = Pair::new(6);
    let srv = udp(&mut p.a);
    p.a.bind(srv, sa(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    let cli = udp(&mut p.b);
    assert_eq!(p.b.sendto(0, cli, b"hi", 0, Some(sa(BCAST, 5000))), Err(Errno::EACCES));
    assert_eq!(p.b.connect(0, cli, sa(BCAST, 5000)), Err(Errno::EACCES));
    p.b.setsockopt_int(0, cli, SOL_SOCKET, SO_BROADCAST, 1).unwrap();
    assert_eq!(p.b.getsockopt_int(cli, SOL_SOCKET, SO_BROADCAST), Ok(1));
    assert_eq!(p.b.sendto(0, cli, b"hi", 0, Some(sa(BCAST, 5000))), Ok(2));
    p.drive();
    let (got, from) = recv(&mut p.a, srv).unwrap();
    assert_eq!(got, b"hi");
    assert_eq!(from.unwrap().ip(), std::net::IpAddr::V4(B_IP));
}

#[test]
fn receive_buffer_overflow_is_counted() {
    let mut p = Pair::new(7);
    let srv = udp(&mut p.a);
    p.a.setsockopt_int(0, srv, SOL_SOCKET, SO_RCVBUF, 1000).unwrap();
    assert_eq!(p.a.getsockopt_int(srv, SOL_SOCKET, SO_RCVBUF), Ok(2304));
    p.a.bind(srv, sa(A_IP, 7)).unwrap();
    let cli = udp(&mut p.b);
    for _ in 0..6 {
        p.b.sendto(p.now, cli, &[1u8; 1000], 0, Some(sa(A_IP, 7))).unwrap();
        p.drive();
    }
    let mut n = 0;
    while recv(&mut p.a, srv).is_ok() {
        n += 1;
    }
    assert_eq!(n, 2);
    let mib = p.a.udp_mib();
    assert_eq!((mib.rcvbuf_errors, mib.in_errors, mib.in_datagrams), (4, 4, 2));
}

#[test]
fn ttl_and_tos_reach_the_wire() {
    let mut p = Pair::new(8);
    let fd = udp(&mut p.b);
    p.b.setsockopt_int(0, fd, SOL_IP, IP_TTL, 3).unwrap();
    p.b.setsockopt_int(0, fd, SOL_IP, IP_TOS, 0x28).unwrap();
    assert_eq!(p.b.getsockopt_int(fd, SOL_IP, IP_TTL), Ok(3));
    // Resolve ARP first so the next frame is the datagram.
    p.b.sendto(0, fd, b"x", 0, Some(sa(A_IP, 1))).unwrap();
    p.drive();
    p.b.sendto(p.now, fd, b"y", 0, Some(sa(A_IP, 1))).unwrap();
    let t = p.b.poll_transmit().expect("a frame");
    let ip = &t.frame[14..];
    assert_eq!((ip[1], ip[8], ip[9]), (0x28, 3, 17));
}

/// Every frame both kernels sent, for an echo exchange under `seed`.
fn wire_trace(seed: u64) -> Vec<Vec<u8>> {
    let mut p = Pair::new(seed);
    let srv = udp(&mut p.a);
    p.a.bind(srv, sa(A_IP, 7)).unwrap();
    let cli = udp(&mut p.b);
    let mut trace = Vec::new();
    for i in 0..3u8 {
        p.b.sendto(p.now, cli, &[i; 40], 0, Some(sa(A_IP, 7))).unwrap();
        // Carry by hand to record the frames.
        for _ in 0..10 {
            let mut moved = false;
            while let Some(t) = p.b.poll_transmit() {
                trace.push(t.frame.to_vec());
                p.a.dev_rx(p.now, p.a_eth, &t.frame);
                moved = true;
            }
            let mut buf = [0u8; 64];
            while let Ok((n, Some(from))) = p.a.recvfrom(p.now, srv, &mut buf, 0) {
                p.a.sendto(p.now, srv, &buf[..n], 0, Some(from)).unwrap();
            }
            while let Some(t) = p.a.poll_transmit() {
                trace.push(t.frame.to_vec());
                p.b.dev_rx(p.now, p.b_eth, &t.frame);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        p.now += 1_000_000;
    }
    trace
}

#[test]
fn same_seed_same_bytes_on_the_wire() {
    let a = wire_trace(31);
    assert!(a.len() >= 8, "ARP + 3 datagrams each way");
    assert_eq!(a, wire_trace(31));
    assert_ne!(a, wire_trace(32));
}

#[test]
fn limited_broadcast_on_a_bound_device() {
    let mut p = Pair::new(9);
    let srv = udp(&mut p.a);
    p.a.bind(srv, sa(Ipv4Addr::UNSPECIFIED, 67)).unwrap();
    let cli = udp(&mut p.b);
    p.b.setsockopt(0, cli, SOL_SOCKET, SO_BINDTODEVICE, b"eth0\0").unwrap();
    let to = sa(Ipv4Addr::BROADCAST, 67);
    assert_eq!(p.b.sendto(0, cli, b"discover", 0, Some(to)), Err(Errno::EACCES));
    p.b.setsockopt_int(0, cli, SOL_SOCKET, SO_BROADCAST, 1).unwrap();
    assert_eq!(p.b.sendto(0, cli, b"discover", 0, Some(to)), Ok(8));
    p.drive();
    assert_eq!(recv(&mut p.a, srv).unwrap().0, b"discover");
    // A socket bound to another device does not see it.
    assert_eq!(
        p.a.setsockopt(0, srv, SOL_SOCKET, SO_BINDTODEVICE, b"nosuch\0"),
        Err(Errno::ENODEV)
    );
    p.a.setsockopt(0, srv, SOL_SOCKET, SO_BINDTODEVICE, b"lo\0").unwrap();
    p.b.sendto(p.now, cli, b"again", 0, Some(to)).unwrap();
    p.drive();
    assert_eq!(recv(&mut p.a, srv), Err(Errno::EAGAIN));
}

#[test]
fn multicast_group_membership() {
    const IP_MULTICAST_IF: i32 = 32;
    const IP_ADD_MEMBERSHIP: i32 = 35;
    const IP_MULTICAST_ALL: i32 = 49;
    let group = Ipv4Addr::new(239, 1, 1, 1);
    let mreqn = |idx: u32| [&group.octets()[..], &[0; 4], &(idx as i32).to_ne_bytes()].concat();
    let mut p = Pair::new(10);
    let member = udp(&mut p.a);
    let other = udp(&mut p.a);
    for fd in [member, other] {
        p.a.setsockopt_int(0, fd, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
        p.a.setsockopt_int(0, fd, SOL_IP, IP_MULTICAST_ALL, 0).unwrap();
        p.a.bind(fd, sa(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    }
    p.a.setsockopt(0, member, SOL_IP, IP_ADD_MEMBERSHIP, &mreqn(p.a_eth)).unwrap();
    let cli = udp(&mut p.b);
    p.b.setsockopt(0, cli, SOL_IP, IP_MULTICAST_IF, &mreqn(p.b_eth)).unwrap();
    p.drive(); // gratuitous ARP and the like
    assert_eq!(p.b.sendto(p.now, cli, b"group", 0, Some(sa(group, 5000))), Ok(5));
    let t = p.b.poll_transmit().expect("sent without ARP");
    assert_eq!(&t.frame[..6], &[0x01, 0x00, 0x5e, 1, 1, 1]);
    assert_eq!(t.frame[14 + 8], 1, "IP_MULTICAST_TTL defaults to 1");
    p.a.dev_rx(p.now, p.a_eth, &t.frame);
    assert_eq!(recv(&mut p.a, member).unwrap().0, b"group");
    assert_eq!(recv(&mut p.a, other), Err(Errno::EAGAIN));
}
