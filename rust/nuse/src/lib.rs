//! libos-nuse: runs an unmodified, dynamically linked Linux program's sockets on an
//! in-process libos kernel (the NUSE host of DESIGN.md, "The four hosts").
//!
//! This crate holds the parts shared by the LD_PRELOAD shim (`libnuse.so`, crate
//! `libos-nuse-shim` in `shim/`) and the launcher binary `libos-nuse`:
//! - `config`: the NUSECONF file format;
//! - `device`: TAP, RAW (AF_PACKET) and PIPE virtual interfaces;
//! - `runtime`: the real-time host (kernel mutex, timer/receive thread, parking);
//! - `sys`: the host libc functions behind the shim's interceptors.

pub mod config;
pub mod device;
pub mod runtime;
pub mod sys;

pub use config::Config;
pub use runtime::{Nuse, RECHECK_NS, SockMeta, StartError, State, Wake};

/// Reads and parses the NUSECONF file at `path`; errors read `PATH line N: ...`.
pub fn load_config(path: &str) -> Result<Config, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read NUSECONF {path}: {e}"))?;
    Config::parse(&text).map_err(|e| format!("NUSECONF {path} {e}"))
}
