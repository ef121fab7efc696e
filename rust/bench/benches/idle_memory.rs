//! Idle memory: heap bytes of one idle instance (lo + one Ethernet device with an
//! address, default sysctls), measured with a counting global allocator; the RSS of
//! 100,000 such instances in one process; and smoltcp's `Interface` + empty `SocketSet`
//! for comparison.
//!
//! `cargo bench -p libos-bench --bench idle_memory [-- --instances N]`

mod common;

use common::smol::SmolNode;
use libos_bench::{CountingAlloc, Table, vm_rss_bytes};
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Target from the design: an idle instance stays a few KB.
const TARGET_BYTES: usize = 16 * 1024;

fn idle_kernel(i: u32) -> Kernel {
    let mut k = Kernel::new(KernelConfig { seed: i as u64 });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(i))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    let a = Ipv4Addr::from(0x0a00_0000 | (i & 0xff_ffff));
    k.addr_add(0, eth, IpAddr::V4(a), 8).unwrap();
    k
}

fn idle_smol(i: u32) -> SmolNode {
    let mac = [0x02, 0, (i >> 24) as u8, (i >> 16) as u8, (i >> 8) as u8, i as u8 | 1];
    let a = (0x0a00_0000 | (i & 0xff_ffff)).to_be_bytes();
    SmolNode::new(i as u64, mac, a, 8, 0)
}

/// (heap bytes, allocation calls) of what `make` builds and keeps.
fn heap_of<T>(make: impl FnOnce() -> T) -> (usize, usize, T) {
    let (b0, a0) = (ALLOC.live(), ALLOC.allocs());
    let v = black_box(make());
    (ALLOC.live() - b0, ALLOC.allocs() - a0, v)
}

fn rss_of_many<T>(n: usize, make: impl Fn(u32) -> T) -> (u64, usize) {
    let r0 = vm_rss_bytes().unwrap_or(0);
    let h0 = ALLOC.live();
    let v: Vec<T> = (0..n as u32).map(&make).collect();
    let r1 = vm_rss_bytes().unwrap_or(0);
    let heap = ALLOC.live() - h0;
    drop(black_box(v));
    (r1.saturating_sub(r0), heap)
}

fn arg_after(args: &[String], flag: &str) -> Option<String> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).cloned()
}

/// Child mode: builds `n` instances of one stack and prints "rss heap" (bytes).
fn rss_child(stack: &str, n: usize) {
    let (rss, heap) = match stack {
        "libos" => rss_of_many(n, idle_kernel),
        _ => rss_of_many(n, idle_smol),
    };
    println!("{rss} {heap}");
}

/// Runs `rss_child` in a fresh process, so one stack's freed pages do not hide the
/// other's growth.
fn rss_in_child(stack: &str, n: usize) -> (u64, usize) {
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .args(["--rss-child", stack, "--instances", &n.to_string()])
        .output()
        .expect("spawn child");
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0) as usize)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg_after(&args, "--instances").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    if let Some(stack) = arg_after(&args, "--rss-child") {
        return rss_child(&stack, n);
    }

    // Warm up anything lazily initialized by std before measuring.
    drop(black_box(idle_kernel(0)));
    drop(black_box(idle_smol(0)));

    let (kheap, kallocs, k) = heap_of(|| idle_kernel(1));
    let kinline = std::mem::size_of::<Kernel>();
    drop(k);
    let (sheap, sallocs, s) = heap_of(|| idle_smol(1));
    let sinline = std::mem::size_of::<SmolNode>();
    drop(s);

    println!("## One idle instance (lo + eth0 up with 10.0.0.1/8, default sysctls)\n");
    let mut t = Table::new(&["stack", "heap bytes", "allocations", "inline bytes", "total bytes"]);
    t.row(vec![
        "libos Kernel".into(),
        kheap.to_string(),
        kallocs.to_string(),
        kinline.to_string(),
        (kheap + kinline).to_string(),
    ]);
    t.row(vec![
        "smoltcp Interface+SocketSet+device".into(),
        sheap.to_string(),
        sallocs.to_string(),
        sinline.to_string(),
        (sheap + sinline).to_string(),
    ]);
    print!("{}", t.render());
    let verdict = if kheap + kinline <= TARGET_BYTES { "OK" } else { "OVER" };
    println!(
        "\nlibos idle instance: {} bytes total vs target {} bytes: {verdict}\n",
        kheap + kinline,
        TARGET_BYTES
    );

    println!("## {n} idle instances in one process (each stack in a fresh process)\n");
    let mut t =
        Table::new(&["stack", "instances", "RSS growth MiB", "RSS/instance B", "heap/instance B"]);
    let (rss, heap) = rss_in_child("libos", n);
    t.row(row("libos Kernel", n, rss, heap));
    let (rss, heap) = rss_in_child("smoltcp", n);
    t.row(row("smoltcp Interface+SocketSet+device", n, rss, heap));
    print!("{}", t.render());
    println!("\n(heap/instance includes the instance's own slot in the Vec that holds them all.)");
}

fn row(name: &str, n: usize, rss: u64, heap: usize) -> Vec<String> {
    vec![
        name.into(),
        n.to_string(),
        format!("{:.1}", rss as f64 / (1024.0 * 1024.0)),
        (rss / n as u64).to_string(),
        (heap / n).to_string(),
    ]
}
