//! recvmsg control messages against the Linux kernel (the host's, over loopback; no
//! root needed): a datagram sent with IP_TTL 42 and IP_TOS 0x10 to a socket with
//! IP_PKTINFO, IP_RECVTTL and IP_RECVTOS on; and a datagram to a closed port from a
//! socket with IP_RECVERR, whose ICMP error is read with MSG_ERRQUEUE. Python asks the
//! host kernel, libos answers for itself; payloads, addresses and the (level, type,
//! data) control messages must be the same.

use libos_kernel::socket::inet::{IP_PKTINFO, IP_RECVTOS, IP_RECVTTL};
use libos_kernel::uapi::*;
use libos_kernel::{Kernel, KernelConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;

const PY: &str = r#"
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
for opt in (8, 12, 13):  # IP_PKTINFO, IP_RECVTTL, IP_RECVTOS
    r.setsockopt(socket.SOL_IP, opt, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, socket.IP_TTL, 42)
s.setsockopt(socket.SOL_IP, socket.IP_TOS, 0x10)
s.sendto(b"hello", r.getsockname())
data, anc, flags, addr = r.recvmsg(100, 1024)
for level, ty, d in anc:
    print(level, ty, d.hex())
"#;

/// Splits Linux-layout `msg_control` bytes into (level, type, data) lines, checking
/// lengths and 8-byte alignment on the way.
fn parse(mut b: &[u8]) -> String {
    let mut out = String::new();
    while !b.is_empty() {
        assert!(b.len() >= 16, "short cmsghdr");
        let len = u64::from_ne_bytes(b[..8].try_into().unwrap()) as usize;
        let level = i32::from_ne_bytes(b[8..12].try_into().unwrap());
        let ty = i32::from_ne_bytes(b[12..16].try_into().unwrap());
        let data = &b[16..len];
        out += &format!(
            "{level} {ty} {}\n",
            data.iter().map(|x| format!("{x:02x}")).collect::<String>()
        );
        b = &b[len.next_multiple_of(8).min(b.len())..];
    }
    out
}

#[test]
fn pktinfo_ttl_tos_like_linux() {
    let o = Command::new("python3").args(["-c", PY]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs = String::from_utf8(o.stdout).unwrap();

    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let r = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let at = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 5000);
    k.bind(r, at).unwrap();
    for opt in [IP_PKTINFO, IP_RECVTTL, IP_RECVTOS] {
        k.setsockopt_int(0, r, SOL_IP, opt, 1).unwrap();
    }
    let s = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.setsockopt_int(0, s, SOL_IP, IP_TTL, 42).unwrap();
    k.setsockopt_int(0, s, SOL_IP, IP_TOS, 0x10).unwrap();
    k.sendto(0, s, b"hello", 0, Some(at)).unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(k.recvfrom(0, r, &mut buf, 0).unwrap().0, 5);
    let ours = parse(&k.recvmsg_control(r).unwrap());
    assert_eq!(ours, theirs);
    assert_eq!(ours.lines().count(), 3, "{ours}");
}

const PY_ERR: &str = r#"
import socket, time
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, 11, 1)  # IP_RECVERR
s.sendto(b"probe", ("127.0.0.1", port))
time.sleep(0.2)
data, anc, flags, addr = s.recvmsg(64, 1024, socket.MSG_ERRQUEUE)
print(data.hex(), addr[0], str(addr[1] == port).lower())
for level, ty, d in anc:
    print(level, ty, d.hex())
"#;

#[test]
fn icmp_errors_on_the_error_queue_like_linux() {
    let o = Command::new("python3").args(["-c", PY_ERR]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs = String::from_utf8(o.stdout).unwrap();

    let mut k = Kernel::new(KernelConfig { seed: 3 });
    let s = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    k.setsockopt_int(0, s, SOL_IP, libos_kernel::uapi::IP_RECVERR, 1).unwrap();
    let port = 33_333;
    k.sendto(0, s, b"probe", 0, Some(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port))).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = k.recvmsg(0, s, &mut [&mut buf[..]], MSG_ERRQUEUE).unwrap();
    let hex: String = buf[..n].iter().map(|x| format!("{x:02x}")).collect();
    let from = from.unwrap();
    let mut ours = format!("{hex} {} {}\n", from.ip(), from.port() == port);
    ours += &parse(&k.recvmsg_control(s).unwrap());
    assert_eq!(ours, theirs);
}
