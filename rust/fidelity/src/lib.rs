//! The fidelity harness: one emulated path and one sender program, run on the Linux
//! kernel and on libos (through NUSE) to compare the two stacks' TCP behaviour.
//!
//! - [`path`]: the path model of `libos-pathemu` (serialisation at a rate, one-way delay,
//!   drop-tail byte limit), pure and clock-free so it is tested here;
//! - [`loss`]: its loss process, Bernoulli per transmission of a TCP data segment, keyed
//!   on the sequence number so two runs with one seed lose the same data;
//! - [`tcpinfo`]: Linux `struct tcp_info` (include/uapi/linux/tcp.h) decoded by offset;
//! - [`args`]: `--key value` command lines with rate and time units;
//! - [`rng`]: the relay's keyed random draws (SplitMix64's mix).

pub mod args;
pub mod loss;
pub mod path;
pub mod rng;
pub mod tcpinfo;
