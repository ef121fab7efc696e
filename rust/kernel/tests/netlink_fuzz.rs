//! Arbitrary input to `Kernel::netlink` and `Kernel::run_ip`: never a panic, output
//! bounded by the input (each message answers with at most one dump of a small state).

use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use proptest::prelude::*;

fn kernel() -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: 11 });
    let e = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, e, true).unwrap();
    k.run_ip(0, "addr add 10.0.0.1/24 dev eth0").unwrap();
    k.run_ip(0, "route add default via 10.0.0.254").unwrap();
    k
}

/// One netlink message with a valid header around arbitrary content.
fn message() -> impl Strategy<Value = Vec<u8>> {
    (16u16..40, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..200)).prop_map(
        |(ty, flags, body)| {
            let len = (16 + body.len()) as u32;
            let mut m = len.to_ne_bytes().to_vec();
            m.extend_from_slice(&ty.to_ne_bytes());
            m.extend_from_slice(&(flags | 1).to_ne_bytes());
            m.extend_from_slice(&[0; 8]);
            m.extend_from_slice(&body);
            m.resize(m.len().div_ceil(4) * 4, 0);
            m
        },
    )
}

const WORDS: &[&str] = &[
    "ip",
    "-4",
    "-d",
    "addr",
    "a",
    "route",
    "r",
    "ro",
    "link",
    "li",
    "neigh",
    "n",
    "add",
    "del",
    "replace",
    "append",
    "change",
    "show",
    "get",
    "flush",
    "set",
    "dev",
    "eth0",
    "lo",
    "up",
    "down",
    "mtu",
    "via",
    "src",
    "metric",
    "table",
    "proto",
    "scope",
    "default",
    "blackhole",
    "unreachable",
    "prohibit",
    "local",
    "nexthop",
    "weight",
    "lladdr",
    "nud",
    "brd",
    "+",
    "10.0.0.0/24",
    "10.0.0.254",
    "10.1.0.0/16",
    "0/0",
    "256",
    "all",
    "main",
    "1500",
    "02:00:00:00:00:09",
    "permanent",
    "link",
    "host",
    "static",
    "name",
    "label",
];

fn cmdline() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => "[a-z0-9./:+-]{0,12}",
    ];
    proptest::collection::vec(word, 0..10).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn netlink_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..512),
                                 msgs in proptest::collection::vec(message(), 0..6)) {
        let mut k = kernel();
        let out = k.netlink(0, &raw);
        prop_assert!(out.len() <= (raw.len() / 16 + 1) * 16384);
        let batch = msgs.concat();
        let out = k.netlink(0, &batch);
        prop_assert!(out.len() <= (batch.len() / 16 + 1) * 16384);
        prop_assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn ip_command_lines_never_panic(lines in proptest::collection::vec(cmdline(), 1..8)) {
        let mut k = kernel();
        for l in &lines {
            let r = k.run_ip(0, l);
            let len = match &r { Ok(s) | Err(s) => s.len() };
            prop_assert!(len < 1 << 16, "{l}: {len} bytes");
        }
        // Whatever happened, the kernel still answers.
        prop_assert!(k.run_ip(0, "route show").is_ok());
    }
}
