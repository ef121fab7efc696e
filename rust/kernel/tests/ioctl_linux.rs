//! Interface ioctls answered like the Linux kernel: the same sequence of SIOCGIF* and
//! SIOCSIF* requests runs against a veth in a network namespace (through Python's
//! `fcntl.ioctl`) and against a libos instance configured the same way, and the
//! returned `struct ifreq` bytes or errnos must be identical. Needs root and iproute2
//! (CI runs as root); LIBOS_SKIP_NETNS=1 skips it, loudly.

use libos_kernel::socket::ioctl::*;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

/// (request, interface, sockaddr_in argument or none).
const STEPS: &[(u32, &str, Option<[u8; 4]>)] = &[
    (SIOCGIFFLAGS, "eth0", None),
    (SIOCGIFMTU, "eth0", None),
    (SIOCGIFHWADDR, "eth0", None),
    (SIOCGIFADDR, "eth0", None),
    (SIOCGIFNETMASK, "eth0", None),
    (SIOCGIFBRDADDR, "eth0", None),
    (SIOCGIFDSTADDR, "eth0", None),
    (SIOCGIFMETRIC, "eth0", None),
    (SIOCGIFADDR, "nosuch0", None),
    (SIOCGIFADDR, "eth1", None),
    (SIOCGIFNETMASK, "eth1", None),
    (SIOCSIFNETMASK, "eth1", Some([255, 255, 0, 0])),
    (SIOCSIFADDR, "eth1", Some([10, 1, 2, 3])),
    (SIOCGIFADDR, "eth1", None),
    (SIOCGIFNETMASK, "eth1", None),
    (SIOCGIFBRDADDR, "eth1", None),
    (SIOCSIFNETMASK, "eth1", Some([255, 255, 0, 0])),
    (SIOCGIFNETMASK, "eth1", None),
    (SIOCSIFNETMASK, "eth1", Some([255, 0, 255, 0])),
    (SIOCSIFADDR, "eth1", Some([172, 16, 9, 9])),
    (SIOCGIFNETMASK, "eth1", None),
    (0x89FF, "eth0", None),
    (0x8950, "eth0", None),
];

fn ifreq(name: &str, arg: Option<[u8; 4]>) -> [u8; IFREQ_LEN] {
    let mut r = [0u8; IFREQ_LEN];
    r[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(a) = arg {
        r[16..18].copy_from_slice(&2u16.to_ne_bytes());
        r[20..24].copy_from_slice(&a);
    }
    r
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn libos_transcript() -> String {
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let eth0 = k
        .dev_add(DeviceConfig {
            mtu: 1400,
            ..DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))
        })
        .unwrap();
    let eth1 =
        k.dev_add(DeviceConfig::ethernet("eth1", EthernetAddress([2, 0, 0, 0, 0, 2]))).unwrap();
    for d in [eth0, eth1] {
        k.dev_set_up(0, d, true).unwrap();
    }
    k.addr_add(0, eth0, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 24).unwrap();
    let mut out = String::new();
    for &(req, name, arg) in STEPS {
        let mut r = ifreq(name, arg);
        match k.ioctl_ifreq(0, req, &mut r) {
            Ok(()) => out += &format!("{req:x} {name} {}\n", hex(&r[16..])),
            Err(e) => out += &format!("{req:x} {name} E{}\n", e.0),
        }
    }
    out
}

const PY: &str = r#"
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for line in sys.stdin:
    req, name, arg = line.split()
    req = int(req, 16)
    r = bytearray(40)
    r[:len(name)] = name.encode()
    if arg != "-":
        r[16:18] = struct.pack("=H", 2)
        r[20:24] = bytes(int(x) for x in arg.split("."))
    try:
        out = fcntl.ioctl(s, req, bytes(r))
        print("%x %s %s" % (req, name, out[16:].hex()))
    except OSError as e:
        print("%x %s E%d" % (req, name, e.errno))
"#;

fn linux_transcript() -> String {
    let ns = format!("libos-ioctl-{}", std::process::id());
    let run = |args: &[&str]| {
        let o = Command::new(args[0]).args(&args[1..]).output().expect(args[0]);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["ip", "netns", "add", &ns]);
    let setup = "ip link add eth0 type veth peer name eth1 && \
                 ip link set eth0 address 02:00:00:00:00:01 mtu 1400 up && \
                 ip link set eth1 address 02:00:00:00:00:02 up && \
                 ip addr add 192.0.2.10/24 brd + dev eth0";
    let ok = Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", setup]).output().unwrap();
    let input: String = STEPS
        .iter()
        .map(|&(req, name, arg)| {
            let a = arg.map_or("-".into(), |a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]));
            format!("{req:x} {name} {a}\n")
        })
        .collect();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c", PY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    run(&["ip", "netns", "del", &ns]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn interface_ioctls_answer_like_linux() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: ioctls against a Linux netns SKIPPED !!!!");
        return;
    }
    let theirs = linux_transcript();
    let ours = libos_transcript();
    assert_eq!(ours.lines().count(), STEPS.len(), "{ours}");
    for (o, t) in ours.lines().zip(theirs.lines()) {
        assert_eq!(o, t, "\nlibos:\n{ours}\nlinux:\n{theirs}");
    }
    assert_eq!(ours, theirs);
}

/// (request, dst, gateway, genmask, flags, rt_metric) for SIOCADDRT/SIOCDELRT on eth0.
type RtStep = (u32, [u8; 4], [u8; 4], [u8; 4], u16, i16);
const RT_STEPS: &[RtStep] = &[
    (SIOCADDRT, [198, 51, 100, 0], [192, 0, 2, 1], [255, 255, 255, 0], 0x3, 6),
    (SIOCADDRT, [198, 51, 101, 0], [192, 0, 2, 2], [255, 255, 255, 0], 0x3, 0),
    (SIOCADDRT, [203, 0, 113, 7], [0, 0, 0, 0], [255, 255, 255, 255], 0x5, 0),
    (SIOCADDRT, [10, 9, 0, 0], [0, 0, 0, 0], [255, 255, 0, 0], 0x201, 0),
    (SIOCADDRT, [10, 8, 0, 0], [0, 0, 0, 0], [255, 0, 255, 0], 0x1, 0),
    (SIOCADDRT, [198, 51, 102, 1], [0, 0, 0, 0], [255, 255, 255, 0], 0x1, 0),
    (SIOCDELRT, [198, 51, 101, 0], [192, 0, 2, 2], [255, 255, 255, 0], 0x3, 0),
    (SIOCDELRT, [198, 51, 101, 0], [192, 0, 2, 2], [255, 255, 255, 0], 0x3, 0),
];

fn rtentry(s: &RtStep) -> [u8; RTENTRY_LEN] {
    let mut r = [0u8; RTENTRY_LEN];
    for (off, a) in [(8, s.1), (24, s.2), (40, s.3)] {
        r[off..off + 2].copy_from_slice(&2u16.to_ne_bytes());
        r[off + 4..off + 8].copy_from_slice(&a);
    }
    r[56..58].copy_from_slice(&s.4.to_ne_bytes());
    r[80..82].copy_from_slice(&s.5.to_ne_bytes());
    r
}

const PY_RT: &str = r#"
import ctypes, fcntl, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dev = ctypes.create_string_buffer(b"eth0")
for line in sys.stdin:
    req, hexbytes = line.split()
    r = bytearray.fromhex(hexbytes)
    r[88:96] = ctypes.addressof(dev).to_bytes(8, "little")
    try:
        fcntl.ioctl(s, int(req, 16), bytes(r))
        print("ok")
    except OSError as e:
        print("E%d" % e.errno)
print(open("/proc/net/route").read(), end="")
"#;

#[test]
fn route_ioctls_answer_like_linux() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: route ioctls against a Linux netns SKIPPED !!!!");
        return;
    }
    let ns = format!("libos-rtioctl-{}", std::process::id());
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    ok(Command::new("ip").args(["netns", "add", &ns]).output().unwrap());
    let setup = "ip link add eth0 type veth peer name eth1 && ip link set eth1 up && \
                 ip link set eth0 up && ip addr add 192.0.2.10/24 dev eth0";
    let o = Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", setup]).output().unwrap();
    let input: String =
        RT_STEPS.iter().map(|s| format!("{:x} {}\n", s.0, hex(&rtentry(s)))).collect();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c", PY_RT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let theirs = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    ok(Command::new("ip").args(["netns", "del", &ns]).output().unwrap());
    ok(o);

    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let eth0 =
        k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, eth0, true).unwrap();
    k.addr_add(0, eth0, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 24).unwrap();
    let mut ours = String::new();
    for s in RT_STEPS {
        match k.ioctl_rtentry(s.0, &rtentry(s), Some("eth0")) {
            Ok(()) => ours += "ok\n",
            Err(e) => ours += &format!("E{}\n", e.0),
        }
    }
    ours += &k.proc_read(0, "/proc/net/route").unwrap();
    assert_eq!(ours, theirs, "\nlibos:\n{ours}\nlinux:\n{theirs}");
}
