//! A Linux twin for the tests that compare libos with the kernel: namespace `a` holds
//! Ethernet devices `eth0`, `eth1`... (MACs 02:00:00:00:00:01, :02...; ifindex 2, 3...),
//! each a veth whose peer lives in namespace `b`, so taking a peer down is the carrier
//! going away; and the libos kernel built the same way. Needs root and iproute2;
//! LIBOS_SKIP_NETNS=1 skips, loudly; without root the tests fail rather than pass.

use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::process::Command;

/// True (after a loud line) when LIBOS_SKIP_NETNS=1; panics without root.
pub fn skip(what: &str) -> bool {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: {what} against a Linux netns SKIPPED !!!!");
        return true;
    }
    let uid = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "{what} needs root (network namespaces); set LIBOS_SKIP_NETNS=1 to skip"
    );
    false
}

/// Runs a shell command that must succeed.
pub fn sh(c: &str) {
    let o = Command::new("sh").args(["-c", c]).output().unwrap();
    assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The two namespaces; deleted on drop.
pub struct Netns {
    pub a: String,
    pub b: String,
}

impl Netns {
    pub fn new(tag: &str, devs: &[&str]) -> Netns {
        let pid = std::process::id();
        let n = Netns { a: format!("tw-{tag}-{pid}a"), b: format!("tw-{tag}-{pid}b") };
        sh(&format!("ip netns add {} && ip netns add {}", n.a, n.b));
        sh(&format!("ip -n {} link set lo up", n.a));
        for (i, dev) in devs.iter().enumerate() {
            sh(&format!(
                "ip -n {a} link add {dev} type veth peer name {dev} netns {b} && \
                 ip -n {a} link set {dev} address 02:00:00:00:00:0{m} && \
                 ip -n {a} link set {dev} up && ip -n {b} link set {dev} up",
                a = n.a,
                b = n.b,
                m = i + 1
            ));
        }
        n
    }

    /// Runs `ip -n A <cmd>`: stdout if it succeeded, else `ERR <stderr>`.
    pub fn ip(&self, cmd: &str) -> String {
        let mut args = vec!["-n", &self.a];
        args.extend(cmd.split_whitespace());
        let o = Command::new("ip").args(&args).output().expect("ip");
        if o.status.success() {
            norm(&String::from_utf8_lossy(&o.stdout))
        } else {
            format!("ERR {}", String::from_utf8_lossy(&o.stderr).trim())
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

/// Drops what names the veth peer: `@ifN` after the device name, `link-netns NAME`.
pub fn norm(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines() {
        let mut l = l.to_string();
        if let Some(at) = l.find("@if")
            && let Some(colon) = l[at..].find(':')
        {
            l.replace_range(at..at + colon, "");
        }
        if let Some(i) = l.find(" link-netns") {
            l.truncate(i);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// A libos kernel with the same devices, up.
pub fn libos(devs: &[&str]) -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 7 });
    for (i, name) in devs.iter().enumerate() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, i as u8 + 1]);
        let e = k.dev_add(DeviceConfig::ethernet(name, mac)).unwrap();
        assert_eq!(e, i as u32 + 2);
        k.dev_set_up(0, e, true).unwrap();
    }
    k
}
