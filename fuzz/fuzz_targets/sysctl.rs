//! Arbitrary sysctl names and values: set then get, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    libos_bench::fuzz_harness::run_sysctl(data);
});
