//! The fuzz targets' inputs as ordinary tests, so CI replays them without nightly:
//! every seed in `fuzz/seeds/<target>/`, every crash reproducer saved in
//! `fuzz/regressions/<target>/`, and a short deterministic random smoke run.

use libos_bench::fuzz_harness::{Harness, run_sysctl};
use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

/// xorshift64*: a fixed stream of pseudo-random inputs, no dependency needed.
fn smoke_inputs(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..n)
        .map(|_| {
            let len = (next() % 512) as usize;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

#[test]
fn dev_rx_seeds_and_regressions() {
    let all = inputs("dev_rx");
    assert!(!all.is_empty(), "fuzz/seeds/dev_rx is missing");
    for (path, data) in all {
        eprintln!("replaying {}", path.display());
        Harness::new().run(&data);
    }
}

#[test]
fn dev_rx_random_smoke() {
    for data in smoke_inputs(300, 0x5eed) {
        Harness::new().run(&data);
    }
}

#[test]
fn sysctl_seeds_and_regressions() {
    for (path, data) in inputs("sysctl") {
        eprintln!("replaying {}", path.display());
        run_sysctl(&data);
    }
    for data in smoke_inputs(300, 0xc7) {
        run_sysctl(&data);
    }
}

#[test]
fn harness_reaches_the_listener() {
    // The configured instance must actually have its sockets, or fuzzing tests little.
    let h = Harness::new();
    assert!(h.listener.is_some(), "TCP listener on :80");
    assert!(h.udp.is_some(), "UDP socket on :53");
}
