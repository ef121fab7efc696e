//! SOL_IPV6 (and the raw-socket levels) option by option against the Linux kernel
//! running the tests: each case opens a fresh socket on both stacks (Python's socket
//! module for Linux), optionally binds it, sets a value, reads it back, and the errno
//! or value must be the same. Needs python3; raw sockets need root (CI runs as root;
//! LIBOS_SKIP_NETNS=1 skips, loudly).

use libos_kernel::uapi::*;
use libos_kernel::{Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::Command;

const SOL_IPV6: i32 = 41;
const SOL_ICMPV6: i32 = 58;
const SOL_RAW: i32 = 255;

/// (family, type, protocol, level, name, value to set, bind first).
type Case = (i32, i32, i32, i32, i32, Option<i32>, bool);

fn cases() -> Vec<Case> {
    let (u, t, r) =
        ((AF_INET6, SOCK_DGRAM, 0), (AF_INET6, SOCK_STREAM, 0), (AF_INET6, SOCK_RAW, 58));
    let mut v: Vec<Case> = Vec::new();
    let mut add = |s: (i32, i32, i32), level, name, val, bind| {
        v.push((s.0, s.1, s.2, level, name, val, bind))
    };
    for (name, vals) in [
        (16, &[None, Some(7), Some(256), Some(-1), Some(-2)][..]), // IPV6_UNICAST_HOPS
        (18, &[None, Some(5), Some(-1), Some(300)][..]),           // IPV6_MULTICAST_HOPS
        (19, &[None, Some(0), Some(2)][..]),                       // IPV6_MULTICAST_LOOP
        (17, &[None, Some(0), Some(999)][..]),                     // IPV6_MULTICAST_IF
        (26, &[None, Some(1), Some(0)][..]),                       // IPV6_V6ONLY
        (67, &[None, Some(0x2b), Some(-1), Some(256)][..]),        // IPV6_TCLASS
        (23, &[None, Some(2), Some(6)][..]),                       // IPV6_MTU_DISCOVER
        (24, &[None, Some(1000), Some(1280)][..]),                 // IPV6_MTU
        (49, &[None, Some(1)][..]),                                // IPV6_RECVPKTINFO
        (51, &[None, Some(1)][..]),                                // IPV6_RECVHOPLIMIT
        (66, &[None, Some(1)][..]),                                // IPV6_RECVTCLASS
        (62, &[None, Some(1)][..]),                                // IPV6_DONTFRAG
        (25, &[None, Some(1)][..]),                                // IPV6_RECVERR
        (29, &[None, Some(0)][..]),                                // IPV6_MULTICAST_ALL
        (7, &[None, Some(2)][..]),                                 // IPV6_CHECKSUM
    ] {
        for &val in vals {
            add(u, SOL_IPV6, name, val, false);
            add(t, SOL_IPV6, name, val, false);
        }
    }
    // IPV6_V6ONLY once bound.
    add(u, SOL_IPV6, 26, Some(1), true);
    add(t, SOL_IPV6, 26, Some(1), true);
    // Raw ICMPv6: the checksum offset at SOL_RAW and SOL_IPV6, ICMP6_FILTER.
    add(r, SOL_RAW, 7, None, false);
    add(r, SOL_RAW, 7, Some(4), false);
    add(r, SOL_RAW, 7, Some(3), false);
    add(r, SOL_IPV6, 7, Some(2), false);
    add(r, SOL_IPV6, 16, Some(9), false);
    add(r, SOL_ICMPV6, 1, Some(-1), false);
    let raw89 = (AF_INET6, SOCK_RAW, 89);
    add(raw89, SOL_IPV6, 7, None, false);
    add(raw89, SOL_IPV6, 7, Some(12), false);
    add(raw89, SOL_ICMPV6, 1, Some(0), false);
    // SOL_IPV6 on an IPv4 socket.
    add((AF_INET, SOCK_DGRAM, 0), SOL_IPV6, 26, None, false);
    add((AF_INET, SOCK_DGRAM, 0), SOL_IPV6, 16, Some(3), false);
    v
}

fn python(cases: &[Case]) -> String {
    let mut p = String::from(
        "import socket, struct\n\
         def run(fam, ty, proto, level, name, val, bind):\n\
         \x20   s = socket.socket(fam, ty, proto)\n\
         \x20   if bind: s.bind(('::', 0))\n\
         \x20   r = []\n\
         \x20   if val is not None:\n\
         \x20       try:\n\
         \x20           s.setsockopt(level, name, struct.pack('i', val)); r.append('set=0')\n\
         \x20       except OSError as e:\n\
         \x20           r.append('set=%d' % e.errno)\n\
         \x20   try:\n\
         \x20       v = s.getsockopt(level, name, 4); r.append('get=%d' % struct.unpack('i', v.ljust(4, b'\\0'))[0])\n\
         \x20   except OSError as e:\n\
         \x20       r.append('get=E%d' % e.errno)\n\
         \x20   print(' '.join(r))\n\
         \x20   s.close()\n",
    );
    for c in cases {
        let val = c.5.map_or("None".to_string(), |v| v.to_string());
        let bind = if c.6 { "True" } else { "False" };
        p.push_str(&format!("run({}, {}, {}, {}, {}, {val}, {bind})\n", c.0, c.1, c.2, c.3, c.4));
    }
    p
}

fn libos(k: &mut Kernel, c: &Case) -> String {
    let fd = k.socket(c.0, c.1, c.2).unwrap();
    if c.6 {
        k.bind(fd, SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)).unwrap();
    }
    let mut r = Vec::new();
    if let Some(v) = c.5 {
        match k.setsockopt(0, fd, c.3, c.4, &v.to_ne_bytes()) {
            Ok(()) => r.push("set=0".to_string()),
            Err(e) => r.push(format!("set={}", e.0)),
        }
    }
    let mut out = [0u8; 4];
    match k.getsockopt(fd, c.3, c.4, &mut out) {
        Ok(_) => r.push(format!("get={}", i32::from_ne_bytes(out))),
        Err(e) => r.push(format!("get=E{}", e.0)),
    }
    k.close(0, fd).unwrap();
    r.join(" ")
}

#[test]
fn ipv6_socket_options_answer_as_linux() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: IPv6 socket options against Linux SKIPPED !!!!");
        return;
    }
    let cases = cases();
    let o = Command::new("python3").args(["-c", &python(&cases)]).output().expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let linux = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let _ = Ipv4Addr::LOCALHOST;
    let mut diffs = Vec::new();
    for (c, theirs) in cases.iter().zip(linux.lines()) {
        let ours = libos(&mut k, c);
        if ours != theirs {
            diffs.push(format!("{c:?}: libos {ours} / linux {theirs}"));
        }
    }
    assert_eq!(linux.lines().count(), cases.len());
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
