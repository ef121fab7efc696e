//! libos-ns3: the Rust half of the ns-3 plugin.
//!
//! The cxx bridge that exposes a `libos_kernel::Kernel` handle to `cpp/` lands with the
//! ns-3 plugin issue; until then this crate only re-exports the kernel so the workspace
//! layout of DESIGN.md holds.

pub use libos_kernel as kernel;
