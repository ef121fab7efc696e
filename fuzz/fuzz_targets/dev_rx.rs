//! Arbitrary bytes, split into frames, clock steps and socket calls (format in
//! `libos_bench::fuzz_harness`), fed to a configured instance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libos_bench::fuzz_harness::Harness;

fuzz_target!(|data: &[u8]| {
    Harness::new().run(data);
});
