//! The fidelity harness: one emulated path and one sender program, run on the Linux
//! kernel and on libos (through NUSE) to compare the two stacks' TCP behaviour.
//!
//! - [`path`]: the path model of `libos-pathemu` (serialisation at a rate, one-way delay,
//!   drop-tail byte limit, seeded Bernoulli loss), pure and clock-free so it is tested here;
//! - [`tcpinfo`]: Linux `struct tcp_info` (include/uapi/linux/tcp.h) decoded by offset;
//! - [`args`]: `--key value` command lines with rate and time units;
//! - [`rng`]: the relay's seeded PRNG (SplitMix64).

pub mod args;
pub mod path;
pub mod rng;
pub mod tcpinfo;
