//! Builds the C++ half of the ns-3 plugin (cpp/) when the `ns3` feature is on.
//! Without it nothing is compiled, so `cargo build` needs no C++ toolchain or ns-3.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_NS3").is_none() {
        return;
    }
    println!("cargo:rerun-if-changed=cpp");
    println!("cargo:warning=the ns3 feature has no C++ sources yet (see the ns-3 plugin issue)");
}
