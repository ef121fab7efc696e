//! libos-ns3: the Rust half of the ns-3 plugin.
//!
//! [`handle::Handle`] wraps one `libos_kernel::Kernel` behind a C-friendly surface
//! (integers, byte slices, `-errno` results); `bridge` (feature `ns3`) exposes it to the
//! C++ classes in `cpp/` through cxx and stops every Rust panic at the boundary.

pub use libos_kernel as kernel;

pub mod handle;

#[cfg(feature = "ns3")]
pub mod bridge;
