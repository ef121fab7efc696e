//! libos-bench: the measuring tools shared by the benchmarks in `benches/` (throughput
//! against smoltcp, idle memory, scale) and the fuzzing harness behind `fuzz/`.
//! Benchmarks print ratios and tables; they are not timed tests. The figures and the
//! commands that produce them are in the README's "Benchmarks" section.

pub mod alloc;
pub mod fuzz_harness;
pub mod report;

pub use alloc::CountingAlloc;
pub use report::{Table, vm_rss_bytes};
