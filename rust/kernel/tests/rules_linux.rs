//! Policy routing against the Linux kernel: the same interfaces, tables and `ip rule`s
//! in a network namespace and in a libos instance, then the same `ip route get`
//! questions — the chosen gateway and device, or the error, must agree, and so must
//! the rule list. Needs root and iproute2 (CI runs as root); LIBOS_SKIP_NETNS=1 skips
//! it, loudly.

use libos_kernel::route::{Route, Rule, RuleAction};
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// `ip route get` questions: (destination, source).
const QUESTIONS: &[(&str, Option<&str>)] = &[
    ("8.8.8.8", None),
    ("8.8.8.8", Some("198.18.0.10")),
    ("203.0.113.5", None),
    ("203.0.113.5", Some("198.18.0.10")),
    ("100.64.1.1", None),
    ("100.127.1.1", Some("198.18.0.10")),
    ("100.127.1.1", None),
    ("10.99.0.1", None),
];

const SETUP: &str = "set -e
ip link add eth0 type veth peer name eth1; ip link set eth1 up; ip link set eth0 up
ip link add eth2 type veth peer name eth3; ip link set eth3 up; ip link set eth2 up
ip addr add 192.0.2.10/24 dev eth0
ip addr add 198.18.0.10/24 dev eth2
ip route add default via 192.0.2.1
ip route add default via 198.18.0.1 table 100
ip route add 203.0.113.0/24 via 192.0.2.2 table 200
ip rule add from 198.18.0.10 lookup 100
ip rule add to 203.0.113.0/24 lookup 200 pref 1000
ip rule add from 198.18.0.10 to 100.127.0.0/16 lookup main pref 1050
ip rule add to 100.64.0.0/10 prohibit pref 1100
ip rule add to 10.99.0.0/16 unreachable pref 1200
ip rule add to 10.98.0.0/16 blackhole pref 1300";

/// "via GW dev DEV", "dev DEV" or "E<errno name>" from `ip route get` output.
fn normalise_linux(out: &str, err: &str) -> String {
    if err.contains("Permission denied") {
        return "EACCES".into();
    }
    if err.contains("Network is unreachable") {
        return "ENETUNREACH".into();
    }
    if err.contains("Invalid argument") {
        return "EINVAL".into();
    }
    let w: Vec<&str> = out.split_whitespace().collect();
    let after = |k: &str| w.iter().position(|x| *x == k).map(|i| w[i + 1]);
    match (after("via"), after("dev")) {
        (Some(g), Some(d)) => format!("via {g} dev {d}"),
        (None, Some(d)) => format!("dev {d}"),
        _ => format!("?? {out} {err}"),
    }
}

fn linux_answers(ns: &str) -> (Vec<String>, String) {
    let sh = |cmd: &str| Command::new("ip").args(["netns", "exec", ns, "sh", "-c", cmd]).output();
    let o = sh(SETUP).unwrap();
    assert!(o.status.success(), "setup: {}", String::from_utf8_lossy(&o.stderr));
    let mut answers: Vec<String> = QUESTIONS
        .iter()
        .map(|(d, s)| {
            let cmd = match s {
                Some(s) => format!("ip route get {d} from {s}"),
                None => format!("ip route get {d}"),
            };
            let o = sh(&cmd).unwrap();
            normalise_linux(
                &String::from_utf8_lossy(&o.stdout),
                &String::from_utf8_lossy(&o.stderr),
            )
        })
        .collect();
    let rules = String::from_utf8(sh("ip rule show").unwrap().stdout).unwrap();
    // After deleting the table-200 rule, 203.0.113.5 follows the main table.
    let o = sh("ip rule del pref 1000 && ip route get 203.0.113.5").unwrap();
    answers.push(normalise_linux(
        &String::from_utf8_lossy(&o.stdout),
        &String::from_utf8_lossy(&o.stderr),
    ));
    (answers, rules)
}

fn libos_kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let e0 = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(1))).unwrap();
    let e2 = k.dev_add(DeviceConfig::ethernet("eth2", EthernetAddress::local(2))).unwrap();
    for d in [e0, e2] {
        k.dev_set_up(0, d, true).unwrap();
    }
    k.addr_add(0, e0, IpAddr::V4(ip4("192.0.2.10")), 24).unwrap();
    k.addr_add(0, e2, IpAddr::V4(ip4("198.18.0.10")), 24).unwrap();
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    k.route_add(Route::new(any, 0, Some(IpAddr::V4(ip4("192.0.2.1"))), None)).unwrap();
    let mut r = Route::new(any, 0, Some(IpAddr::V4(ip4("198.18.0.1"))), None);
    r.table = 100;
    k.route_add(r).unwrap();
    let mut r =
        Route::new(IpAddr::V4(ip4("203.0.113.0")), 24, Some(IpAddr::V4(ip4("192.0.2.2"))), None);
    r.table = 200;
    k.route_add(r).unwrap();
    let pfx = |s: &str, l| Some((IpAddr::V4(ip4(s)), l));
    k.rule_add(Rule { src: pfx("198.18.0.10", 32), ..Rule::lookup(0, 100) }, None).unwrap();
    k.rule_add(Rule { dst: pfx("203.0.113.0", 24), ..Rule::lookup(0, 200) }, Some(1000)).unwrap();
    let r =
        Rule { src: pfx("198.18.0.10", 32), dst: pfx("100.127.0.0", 16), ..Rule::lookup(0, 254) };
    k.rule_add(r, Some(1050)).unwrap();
    for (net, len, act, pref) in [
        ("100.64.0.0", 10, RuleAction::Prohibit, 1100),
        ("10.99.0.0", 16, RuleAction::Unreachable, 1200),
        ("10.98.0.0", 16, RuleAction::Blackhole, 1300),
    ] {
        k.rule_add(Rule { dst: pfx(net, len), action: act, ..Rule::lookup(0, 0) }, Some(pref))
            .unwrap();
    }
    k
}

fn answer(k: &Kernel, dst: &str, src: Option<&str>) -> String {
    let d = IpAddr::V4(ip4(dst));
    let r = match src {
        Some(s) => k.route_get_from(d, ip4(s)),
        None => k.route_get(d),
    };
    match r {
        Err(e) => e.name().to_string(),
        Ok(rt) => {
            let dev = k.dev_name(rt.oif).unwrap_or_default();
            if rt.next_hop == d {
                format!("dev {dev}")
            } else {
                format!("via {} dev {dev}", rt.next_hop)
            }
        }
    }
}

/// `ip rule show` lines reduced to "PRIO action".
fn rule_summary(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let prio = l.split(':').next().unwrap().trim();
            let w: Vec<&str> = l.split_whitespace().collect();
            let act = match w.iter().position(|x| *x == "lookup") {
                Some(i) => format!("lookup {}", w[i + 1]),
                None => w.last().unwrap().to_string(),
            };
            format!("{prio} {act}")
        })
        .collect()
}

#[test]
fn policy_rules_route_like_linux() {
    if std::env::var("LIBOS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("!!!! LIBOS_SKIP_NETNS=1: policy rules against a Linux netns SKIPPED !!!!");
        return;
    }
    let ns = format!("libos-rules-{}", std::process::id());
    assert!(Command::new("ip").args(["netns", "add", &ns]).status().unwrap().success());
    let (theirs, linux_rules) = linux_answers(&ns);
    Command::new("ip").args(["netns", "del", &ns]).status().unwrap();

    let mut k = libos_kernel();
    let table_name = |t: u32| match t {
        255 => "local".to_string(),
        254 => "main".to_string(),
        253 => "default".to_string(),
        t => t.to_string(),
    };
    let ours_rules: Vec<String> = k
        .rules()
        .iter()
        .map(|r| {
            let act = match r.action {
                RuleAction::Table(t) => format!("lookup {}", table_name(t)),
                RuleAction::Prohibit => "prohibit".into(),
                RuleAction::Unreachable => "unreachable".into(),
                RuleAction::Blackhole => "blackhole".into(),
            };
            format!("{} {act}", r.priority)
        })
        .collect();
    assert_eq!(ours_rules, rule_summary(&linux_rules), "\n{linux_rules}");
    let mut ours: Vec<String> = QUESTIONS.iter().map(|(d, s)| answer(&k, d, *s)).collect();
    let del = Rule { dst: Some((IpAddr::V4(ip4("203.0.113.0")), 24)), ..Rule::lookup(1000, 0) };
    k.rule_del(&del).unwrap();
    ours.push(answer(&k, "203.0.113.5", None));
    assert_eq!(ours, theirs);
}
