//! The fidelity harness: one emulated path and one sender program, run on the Linux
//! kernel and on libos (through NUSE) to compare the two stacks' TCP behaviour.
//!
//! - [`path`]: the path model of `libos-pathemu` (serialisation at a rate, one-way delay,
//!   drop-tail byte limit, and libos-sim's loss keyed on the data's place in the stream,
//!   so two runs with one seed lose the same data), pure and clock-free so it is tested
//!   here;
//! - [`tcpinfo`]: Linux `struct tcp_info` (include/uapi/linux/tcp.h) decoded by offset;
//! - [`args`]: `--key value` command lines with rate and time units;

pub mod args;
pub mod path;
pub mod tcpinfo;
