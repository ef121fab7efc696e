//! Two handles wired back to back over a point-to-point "link" the test drives by hand,
//! as the C++ glue does: frames out of one go into the other.

use super::*;

const P2P: u32 = 0x10 | 0x80; // POINTOPOINT | NOARP
const AF_INET: i32 = 2;
const SOCK_STREAM: i32 = 1;
const SOCK_DGRAM: i32 = 2;

fn pair() -> (Handle, Handle) {
    let mut a = Handle::new(1);
    let mut b = Handle::new(2);
    for (h, last, ip) in [(&mut a, 1u8, 0x0a00_0001u32), (&mut b, 2, 0x0a00_0002)] {
        let i = h.dev_add("eth0", &[2, 0, 0, 0, 0, last], 1500, P2P);
        assert!(i > 0);
        assert_eq!(h.dev_set_up(0, i as u32, true), 0);
        assert_eq!(h.addr_add(0, i as u32, ip, 24), 0);
    }
    (a, b)
}

/// Moves frames both ways and fires timers until nothing is left to do before `until`.
fn run(a: &mut Handle, b: &mut Handle, now: &mut u64, until: u64) {
    loop {
        let mut moved = false;
        while let Some((_, f)) = a.poll_transmit() {
            b.dev_rx(*now, 2, &f);
            moved = true;
        }
        while let Some((_, f)) = b.poll_transmit() {
            a.dev_rx(*now, 2, &f);
            moved = true;
        }
        if moved {
            continue;
        }
        let d = a.next_deadline().min(b.next_deadline());
        if d > until {
            return;
        }
        *now = (*now).max(d);
        a.advance(*now);
        b.advance(*now);
    }
}

#[test]
fn tcp_over_handles() {
    let (mut a, mut b) = pair();
    let l = b.socket(AF_INET, SOCK_STREAM, 0);
    assert_eq!(b.bind(l, 0, 9), 0);
    assert_eq!(b.listen(l, 8), 0);
    let c = a.socket(AF_INET, SOCK_STREAM, 0);
    assert_eq!(a.set_nonblocking(c, true), 0);
    assert_eq!(a.connect(0, c, 0x0a00_0002, 9), -115); // EINPROGRESS
    let mut now = 0;
    run(&mut a, &mut b, &mut now, 1_000_000_000);
    let mut peer = Addr4::default();
    let s = b.accept(now, l, &mut peer);
    assert!(s >= 0);
    assert_eq!(peer.addr, 0x0a00_0001);
    assert_eq!(a.sendto(now, c, b"hello", 0, None), 5);
    run(&mut a, &mut b, &mut now, 2_000_000_000);
    let mut buf = [0u8; 16];
    assert_eq!(b.recvfrom(now, s, &mut buf, 0, &mut peer), 5);
    assert_eq!(&buf[..5], b"hello");
    let mut info = TcpSample::default();
    assert_eq!(a.tcp_info(c, &mut info), 0);
    assert!(info.snd_cwnd >= 1);
    assert!(a.poll_event().is_some());
}

#[test]
fn udp_and_errors() {
    let (mut a, mut b) = pair();
    let u = b.socket(AF_INET, SOCK_DGRAM, 0);
    assert_eq!(b.bind(u, 0, 7), 0);
    let v = a.socket(AF_INET, SOCK_DGRAM, 0);
    let to = Addr4 { addr: 0x0a00_0002, port: 7 };
    assert_eq!(a.sendto(0, v, b"ping", 0, Some(to)), 4);
    let mut now = 0;
    run(&mut a, &mut b, &mut now, 1_000_000);
    let mut buf = [0u8; 8];
    let mut from = Addr4::default();
    assert_eq!(b.recvfrom(now, u, &mut buf, 0, &mut from), 4);
    assert_eq!(from.addr, 0x0a00_0001);
    assert_eq!(a.dev_add("bad", &[1, 2, 3], 1500, 0), -22);
    assert!(a.sysctl_set(".net.ipv4.no_such_thing", "1") < 0);
    let mut s = String::new();
    assert_eq!(a.sysctl_get(".net.ipv4.tcp_congestion_control", &mut s), 0);
    assert!(!s.is_empty());
    assert_eq!(a.run_ip(0, "route add 10.9.0.0/16 via 10.0.0.2", &mut s), 0);
    assert_eq!(a.run_ip(0, "route add nonsense", &mut s), -1);
    assert!(!s.is_empty());
    assert_eq!(a.close(0, 12345), -9); // EBADF
}

#[test]
fn tcp_and_udp_over_ipv6_handles() {
    const AF_INET6: i32 = 10;
    let (mut a, mut b) = pair();
    let ip = |last: u8| {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        x[15] = last;
        x
    };
    // Point-to-point (NOARP): no DAD, the addresses are usable at once.
    assert_eq!(a.addr6_add(0, 2, ip(1), 64), 0);
    assert_eq!(b.addr6_add(0, 2, ip(2), 64), 0);
    let l = b.socket(AF_INET6, SOCK_STREAM, 0);
    assert_eq!(b.bind6(l, Addr6 { port: 9, ..Default::default() }), 0);
    assert_eq!(b.listen(l, 8), 0);
    let c = a.socket(AF_INET6, SOCK_STREAM, 0);
    assert_eq!(a.set_nonblocking(c, true), 0);
    let dst = Addr6 { addr: ip(2), port: 9, scope_id: 0 };
    assert_eq!(a.connect6(0, c, dst), -115); // EINPROGRESS
    let mut now = 0;
    run(&mut a, &mut b, &mut now, 1_000_000_000);
    let mut peer = Addr6::default();
    let s = b.accept6(now, l, &mut peer);
    assert!(s >= 0, "{s}");
    assert_eq!(peer.addr, ip(1));
    let mut me = Addr6::default();
    assert_eq!(a.getpeername6(c, &mut me), 0);
    assert_eq!(me, dst);
    assert_eq!(a.sendto(now, c, b"hello6", 0, None), 6);
    run(&mut a, &mut b, &mut now, 2_000_000_000);
    let mut buf = [0u8; 16];
    assert_eq!(b.recvfrom6(now, s, &mut buf, 0, &mut peer), 6);
    assert_eq!(&buf[..6], b"hello6");
    // UDP: a datagram to [2001:db8::2]:7 and its answer.
    let u = b.socket(AF_INET6, SOCK_DGRAM, 0);
    assert_eq!(b.bind6(u, Addr6 { port: 7, ..Default::default() }), 0);
    let v = a.socket(AF_INET6, SOCK_DGRAM, 0);
    assert_eq!(a.sendto6(now, v, b"ping", 0, Addr6 { port: 7, ..dst }), 4);
    run(&mut a, &mut b, &mut now, 3_000_000_000);
    assert_eq!(b.recvfrom6(now, u, &mut buf, 0, &mut peer), 4);
    assert_eq!(peer.addr, ip(1));
    assert_eq!(b.sendto6(now, u, b"pong", 0, peer), 4);
    run(&mut a, &mut b, &mut now, 4_000_000_000);
    assert_eq!(a.recvfrom6(now, v, &mut buf, 0, &mut peer), 4);
    assert_eq!((&buf[..4], peer.port), (&b"pong"[..], 7));
    let mut name = Addr6::default();
    assert_eq!(b.getsockname6(u, &mut name), 0);
    assert_eq!(name.port, 7);
}
