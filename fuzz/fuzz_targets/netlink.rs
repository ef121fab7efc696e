//! Arbitrary rtnetlink batches and `ip` command lines against a configured kernel:
//! never a panic, a hang or unbounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};

fuzz_target!(|data: &[u8]| {
    let mut k = Kernel::new(KernelConfig { seed: 1 });
    let e = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress([2, 0, 0, 0, 0, 1]))).unwrap();
    k.dev_set_up(0, e, true).unwrap();
    let _ = k.run_ip(0, "addr add 10.0.0.1/24 dev eth0");
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let out = k.netlink(0, rest);
        assert!(out.len() <= (rest.len() / 16 + 1) * 16384);
    } else {
        for line in String::from_utf8_lossy(rest).lines() {
            let _ = k.run_ip(0, line);
        }
    }
    let _ = k.netlink(0, &[]);
});
