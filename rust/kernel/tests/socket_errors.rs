//! The socket layer's errno for every misuse, as Linux answers it.

use libos_kernel::uapi::*;
use libos_kernel::{Errno, Kernel, KernelConfig};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

fn k() -> Kernel {
    Kernel::new(KernelConfig { seed: 1 })
}

fn lo(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

#[test]
fn socket_creation_errors() {
    let mut k = k();
    assert_eq!(k.socket(AF_UNIX, SOCK_STREAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(k.socket(AF_INET, 9, 0), Err(Errno::ESOCKTNOSUPPORT));
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM | 0x100, 0), Err(Errno::EINVAL));
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(k.socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(k.socket(AF_INET, SOCK_RAW, 0), Err(Errno::EPROTONOSUPPORT));
    assert_eq!(k.socket(AF_INET, SOCK_RAW, -1), Err(Errno::EINVAL));
    assert_eq!(k.socket(AF_INET, SOCK_RAW, 256), Err(Errno::EINVAL));
    // ICMP datagram ("ping") sockets are refused by the default ping_group_range.
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), Err(Errno::EACCES));
    assert!(k.fds().is_empty());
}

#[test]
fn bad_descriptors() {
    let mut k = k();
    let mut b = [0u8; 4];
    assert_eq!(k.bind(3, lo(1)), Err(Errno::EBADF));
    assert_eq!(k.close(0, -1), Err(Errno::EBADF));
    assert_eq!(k.recv(0, 1000, &mut b, 0), Err(Errno::EBADF));
    assert_eq!(k.send(0, 0, b"x", 0), Err(Errno::EBADF));
    assert_eq!(k.poll(3), Err(Errno::EBADF));
    assert_eq!(k.getsockopt_int(3, SOL_SOCKET, SO_TYPE), Err(Errno::EBADF));
    let fd = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.close(0, fd).unwrap();
    assert_eq!(k.close(0, fd), Err(Errno::EBADF));
    assert_eq!(k.getsockname(fd), Err(Errno::EBADF));
}

#[test]
fn lowest_free_descriptor_is_reused() {
    let mut k = k();
    let fds: Vec<i32> = (0..4).map(|_| k.socket(AF_INET, SOCK_DGRAM, 0).unwrap()).collect();
    assert_eq!(fds, [3, 4, 5, 6]);
    k.close(0, 5).unwrap();
    k.close(0, 4).unwrap();
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM, 0), Ok(4));
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), Ok(5));
    assert_eq!(k.is_nonblocking(5), Ok(true));
    assert_eq!(k.socket(AF_INET, SOCK_DGRAM, 0), Ok(7));
}

#[test]
fn udp_misuse() {
    let mut k = k();
    let fd = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let v6: SocketAddr = "[::1]:53".parse().unwrap();
    assert_eq!(k.bind(fd, v6), Err(Errno::EAFNOSUPPORT));
    assert_eq!(k.connect(0, fd, v6), Err(Errno::EAFNOSUPPORT));
    assert_eq!(k.sendto(0, fd, b"x", 0, Some(v6)), Err(Errno::EAFNOSUPPORT));
    assert_eq!(k.listen(fd, 5), Err(Errno::EOPNOTSUPP));
    assert_eq!(k.accept(0, fd, 0).map(|_| ()), Err(Errno::EOPNOTSUPP));
    assert_eq!(k.getpeername(fd), Err(Errno::ENOTCONN));
    assert_eq!(k.send(0, fd, b"x", 0), Err(Errno::EDESTADDRREQ));
    let mut b = [0u8; 4];
    assert_eq!(k.recv(0, fd, &mut b, 0), Err(Errno::EAGAIN));
    assert_eq!(k.shutdown(0, fd, 7), Err(Errno::EINVAL));
    assert_eq!(k.shutdown(0, fd, SHUT_RDWR), Err(Errno::ENOTCONN));
    assert_eq!(k.ioctl(fd, 0x1234, 0), Err(Errno::ENOTTY));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, 999), Err(Errno::ENOPROTOOPT));
    assert_eq!(k.setsockopt_int(0, fd, 999, 1, 1), Err(Errno::ENOPROTOOPT));
    assert_eq!(k.setsockopt(0, fd, SOL_SOCKET, SO_REUSEADDR, &[1]), Err(Errno::EINVAL));
    assert_eq!(k.setsockopt_int(0, fd, SOL_IP, IP_HDRINCL, 1), Err(Errno::ENOPROTOOPT));
    assert_eq!(k.getsockopt_int(fd, SOL_IP, IP_MTU), Err(Errno::ENOTCONN));
}

#[test]
fn socket_level_options() {
    let mut k = k();
    let fd = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_TYPE), Ok(SOCK_DGRAM));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_DOMAIN), Ok(AF_INET));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_UDP));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_ERROR), Ok(0));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN), Ok(0));
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF), Ok(212_992));
    k.setsockopt_int(0, fd, SOL_SOCKET, SO_RCVBUF, 65536).unwrap();
    assert_eq!(k.getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF), Ok(131_072));
    assert_eq!(k.getsockopt_int(fd, SOL_IP, IP_TTL), Ok(64));
    assert_eq!(k.getsockopt_int(fd, SOL_IP, IP_MTU_DISCOVER), Ok(IP_PMTUDISC_WANT));
    let raw = k.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    assert_eq!(k.getsockopt_int(raw, SOL_SOCKET, SO_TYPE), Ok(SOCK_RAW));
    assert_eq!(k.getsockopt_int(raw, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_ICMP));
    assert_eq!(k.getsockname(raw), Ok(SocketAddr::V4(SocketAddrV4::new(0.into(), 1))));
    // ioctl FIONBIO toggles the O_NONBLOCK the host tracks.
    assert_eq!(k.ioctl(fd, FIONBIO, 1), Ok(0));
    assert_eq!(k.is_nonblocking(fd), Ok(true));
    assert_eq!(k.ioctl(fd, FIONREAD, 0), Ok(0));
    assert_eq!(k.ioctl(fd, SIOCOUTQ, 0), Ok(0));
}

#[test]
fn readiness_events_follow_the_queue() {
    let mut k = k();
    let a = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let b = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.bind(a, lo(7)).unwrap();
    let ev = |k: &mut Kernel| std::iter::from_fn(|| k.poll_event()).collect::<Vec<_>>();
    ev(&mut k);
    assert_eq!(k.poll(a).unwrap() & (POLLIN | POLLOUT), POLLOUT);
    for round in 0..3 {
        k.sendto(0, b, b"x", 0, Some(lo(7))).unwrap();
        let e = ev(&mut k);
        assert!(e.iter().any(|e| e.fd == a && e.revents & POLLIN != 0), "round {round}: {e:?}");
        let mut buf = [0u8; 8];
        assert_eq!(k.recv(0, a, &mut buf, 0), Ok(1));
        ev(&mut k);
    }
    // A closed fd produces no more events.
    k.sendto(0, b, b"x", 0, Some(lo(7))).unwrap();
    k.close(0, a).unwrap();
    assert!(ev(&mut k).iter().all(|e| e.fd != a));
}
