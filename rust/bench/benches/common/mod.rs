//! Pieces shared by the benchmark binaries (not a crate module: smoltcp is a
//! dev-dependency, so its adapter lives with the benches).

#![allow(dead_code)]

pub mod smol;
pub mod smol_stack;
pub mod verify_sink;
