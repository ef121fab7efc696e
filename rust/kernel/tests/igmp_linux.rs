//! IGMP reports against the Linux kernel: a socket joins 239.1.2.3 and leaves it, once
//! on a veth in a Linux network namespace (captured with tcpdump) and once on a libos
//! instance (its frames written to a pcap); tshark decodes both, and the reports must
//! match field for field in the same order: IGMPv3 to 224.0.0.22, TTL 1, TOS 0xc0, DF,
//! ID 0, Router Alert, two CHANGE_TO_EXCLUDE reports then two CHANGE_TO_INCLUDE ones.
//! Needs root, iproute2, tcpdump and tshark (CI has them); LIBOS_SKIP_NETNS=1 skips it.

use libos_kernel::socket::inet::{IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP};
use libos_kernel::uapi::*;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig, Nanos};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

const FIELDS: &[&str] = &[
    "ip.dst",
    "ip.ttl",
    "ip.dsfield",
    "ip.flags.df",
    "ip.id",
    "ip.opt.type",
    "igmp.version",
    "igmp.type",
    "igmp.record_type",
    "igmp.maddr",
    "igmp.checksum.status",
    "ip.checksum.status",
];

fn tshark(pcap: &str) -> String {
    let mut args = vec!["-r", pcap, "-o", "ip.check_checksum:TRUE", "-Y", "igmp", "-T", "fields"];
    for f in FIELDS {
        args.extend(["-e", f]);
    }
    let o = Command::new("tshark").args(&args).output().expect("tshark");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn mreq(group: Ipv4Addr, iface: Ipv4Addr) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[..4].copy_from_slice(&group.octets());
    m[4..].copy_from_slice(&iface.octets());
    m
}

/// A minimal pcap (Ethernet link type) of `frames`.
fn write_pcap(path: &str, frames: &[(Nanos, Vec<u8>)]) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut h = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    for (t, fr) in frames {
        for v in [
            (t / 1_000_000_000) as u32,
            (t % 1_000_000_000 / 1000) as u32,
            fr.len() as u32,
            fr.len() as u32,
        ] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(fr);
    }
    f.write_all(&h).unwrap();
}

fn libos_reports(pcap: &str) -> String {
    let mut k = Kernel::new(KernelConfig { seed: 11 });
    let eth0 = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
    k.dev_set_up(0, eth0, true).unwrap();
    let me = Ipv4Addr::new(192, 0, 2, 10);
    k.addr_add(0, eth0, IpAddr::V4(me), 24).unwrap();
    let drain =
        |k: &mut Kernel, until: Nanos, now: &mut Nanos, frames: &mut Vec<(Nanos, Vec<u8>)>| {
            loop {
                while let Some(t) = k.poll_transmit() {
                    frames.push((*now, t.frame.to_vec()));
                }
                match k.next_deadline() {
                    Some(d) if d <= until => {
                        *now = d.max(*now);
                        k.advance(*now);
                    }
                    _ => break,
                }
            }
            *now = until;
        };
    let (mut now, mut frames, mut arp) = (0, Vec::new(), Vec::new());
    drain(&mut k, 1_000_000_000, &mut now, &mut arp); // gratuitous ARP from the address
    let s = k.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let g = Ipv4Addr::new(239, 1, 2, 3);
    k.setsockopt(now, s, SOL_IP, IP_ADD_MEMBERSHIP, &mreq(g, me)).unwrap();
    drain(&mut k, 3_000_000_000, &mut now, &mut frames);
    k.setsockopt(now, s, SOL_IP, IP_DROP_MEMBERSHIP, &mreq(g, me)).unwrap();
    drain(&mut k, 5_000_000_000, &mut now, &mut frames);
    write_pcap(pcap, &frames);
    tshark(pcap)
}

const PY: &str = r#"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m = socket.inet_aton("239.1.2.3") + socket.inet_aton("192.0.2.10")
s.setsockopt(socket.SOL_IP, socket.IP_ADD_MEMBERSHIP, m)
time.sleep(2)
s.setsockopt(socket.SOL_IP, socket.IP_DROP_MEMBERSHIP, m)
time.sleep(2)
"#;

fn linux_reports(pcap: &str) -> String {
    let ns = format!("libos-igmp-{}", std::process::id());
    let ipns = |args: &[&str]| {
        let mut a = vec!["netns", "exec", ns.as_str()];
        a.extend_from_slice(args);
        Command::new("ip").args(a).output().unwrap()
    };
    assert!(Command::new("ip").args(["netns", "add", &ns]).status().unwrap().success());
    let setup = "ip link add eth0 type veth peer name eth1 && ip link set eth1 up && \
                 ip link set eth0 up && ip addr add 192.0.2.10/24 dev eth0";
    let o = ipns(&["sh", "-c", setup]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut dump = Command::new("ip")
        .args(["netns", "exec", &ns, "tcpdump", "-i", "eth1", "-U", "-w", pcap, "igmp"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let o = ipns(&["python3", "-c", PY]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = dump.kill();
    let _ = dump.wait();
    Command::new("ip").args(["netns", "del", &ns]).status().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tshark(pcap)
}

#[test]
fn join_and_leave_report_like_linux() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: IGMP against a Linux netns SKIPPED !!!!");
        return;
    }
    let dir = std::env::temp_dir();
    let theirs = linux_reports(dir.join("libos-igmp-linux.pcap").to_str().unwrap());
    let ours = libos_reports(dir.join("libos-igmp-libos.pcap").to_str().unwrap());
    let only_group = |t: &str| {
        t.lines().filter(|l| l.contains("239.1.2.3")).map(str::to_string).collect::<Vec<_>>()
    };
    let (o, t) = (only_group(&ours), only_group(&theirs));
    assert_eq!(t.len(), 4, "Linux sent:\n{theirs}");
    assert_eq!(o, t, "\nlibos:\n{ours}\nlinux:\n{theirs}");
}
