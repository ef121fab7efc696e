//! Packet formats. Each protocol file follows one shape: a private `mod field` of named
//! byte ranges, a zero-copy `Packet<T: AsRef<[u8]>>` view whose `new_checked` validates
//! lengths once (after which no accessor panics), and a small checked `Repr` with
//! symmetric `parse`/`emit` and `buffer_len`. Fixture round-trip tests close each file.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod icmpv6;
pub mod igmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use ethernet::{EthernetAddress, EthernetFrame, EthernetProtocol};

/// Why a received packet was not accepted. Each variant names the Linux MIB counter the
/// drop is accounted under, so /proc/net/snmp can say what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its header or its own length fields (`InTruncatedPkts`).
    Truncated,
    /// A header field is invalid: version, IHL, data offset... (`InHdrErrors`).
    Malformed,
    /// The checksum does not verify (`InCsumErrors`).
    Checksum,
    /// Well formed but not something we handle (`InUnknownProtos`, dropped quietly).
    Unsupported,
}

pub type Result<T> = core::result::Result<T, Error>;
