//! Builds the cxx bridge of the ns-3 plugin when the `ns3` feature is on; `cpp/build.sh`
//! then compiles cpp/*.cc against the generated header and links libns3-libos.so.
//! Without the feature nothing is compiled, so `cargo build` needs no C++ toolchain.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "ns3")]
    {
        println!("cargo:rerun-if-changed=rust/ns3/bridge.rs");
        cxx_build::bridge("rust/ns3/bridge.rs").std("c++17").compile("libos-ns3-bridge");
    }
}
