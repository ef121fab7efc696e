//! Throughput: one bulk TCP flow over a 10 Gbit/s, 1 ms point-to-point link, run by
//! libos and by smoltcp 0.14 (CUBIC on) on the same libos-sim engine and link model, in
//! one run. The figure is simulated packets per wall-clock second; the ratio is
//! libos / smoltcp (higher is better for libos).
//!
//! Like for like: smoltcp keeps its default Nagle ON, so both stacks send full 1448-byte
//! segments (with Nagle off smoltcp sends the 100 MB as ~112,000 frames of ~889 bytes, since
//! every partial write leaves at once; `--smol-nodelay` restores that mode).
//!
//! Wall time (best of R, interleaved):
//! `cargo bench -p libos-bench --bench throughput -- --repeat 7 [--mbytes N --queue P --only libos|smoltcp --smol-nodelay]`
//!
//! Instructions (deterministic, unlike wall time on a shared machine): `--instructions`
//! re-runs this binary once per stack under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*run_libos*'`
//! (resp. `'*run_smoltcp*'`) `-- <this binary> --only libos --repeat 1`, so only the
//! transfer itself is counted, with `GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=2000000000`
//! (valgrind counts a `rep movsb` copy once per byte), and prints instructions per
//! simulated frame and the ratio:
//! `cargo bench -p libos-bench --bench throughput -- --instructions`
mod common;

use common::smol::SmolNode;
use common::verify_sink::VerifySink;
use libos_bench::Table;
use libos_sim::apps::bulk::BulkSend;
use libos_sim::channel::QueueLimit;
use libos_sim::sim::{LinkParams, Sim};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

const RATE_BPS: u64 = 10_000_000_000;
const DELAY_NS: u64 = 1_000_000;
/// Simulated-time step between completion checks.
const STEP_NS: u64 = 250_000;
/// Give up after this much simulated time.
const SIM_LIMIT_NS: u64 = 120_000_000_000;
/// Socket buffers each way, both stacks (about 2x the 2.5 MB bandwidth-delay product).
const BUF_BYTES: usize = 6 * 1024 * 1024;

struct Params {
    bytes: u64,
    queue: usize,
    repeat: usize,
    /// smoltcp with Nagle off (its old configuration in this bench).
    smol_nodelay: bool,
}

struct Outcome {
    stack: &'static str,
    sim_ns: u64,
    packets: u64,
    data_packets: u64,
    events: u64,
    wall_s: f64,
    delivered: u64,
    bad: u64,
    note: String,
}

fn link(p: &Params) -> LinkParams {
    LinkParams {
        rate_bps: RATE_BPS,
        delay: DELAY_NS,
        limit: QueueLimit::Packets(p.queue),
        ..LinkParams::default()
    }
}

fn packets(sim: &Sim) -> u64 {
    sim.chans.iter().map(|c| c.stats.tx_frames).sum()
}

/// Frames of the data direction (the channel that carried the most bytes).
fn data_packets(sim: &Sim) -> u64 {
    sim.chans.iter().max_by_key(|c| c.stats.tx_bytes).map_or(0, |c| c.stats.tx_frames)
}

#[inline(never)]
fn run_libos(p: &Params) -> Outcome {
    let mut sim = Sim::new(1);
    let a = sim.add_kernel_node("sender");
    let b = sim.add_kernel_node("receiver");
    let (ia, ib) = sim.add_p2p(a, b, &link(p)).expect("link");
    let (ipa, ipb) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let mut notes = Vec::new();
    for (n, i, ip) in [(a, ia, ipa), (b, ib, ipb)] {
        let k = sim.kernel(n).expect("libos node");
        k.addr_add(0, i, IpAddr::V4(ip), 24).expect("addr");
        // Linux-style buffer limits large enough for the BDP (autotuning's ceiling).
        for (name, v) in [
            ("net.ipv4.tcp_rmem", format!("4096 131072 {BUF_BYTES}")),
            ("net.ipv4.tcp_wmem", format!("4096 16384 {BUF_BYTES}")),
            ("net.core.rmem_max", BUF_BYTES.to_string()),
            ("net.core.wmem_max", BUF_BYTES.to_string()),
        ] {
            if let Err(e) = k.sysctl_set(name, &v) {
                notes.push(format!("{name}: {e:?}"));
            }
        }
    }
    let sink = sim
        .add_app(b, Box::new(VerifySink::new(SocketAddr::new(IpAddr::V4(ipb), 5001))), 0, None)
        .expect("sink");
    let dst = SocketAddr::new(IpAddr::V4(ipb), 5001);
    sim.add_app(a, Box::new(BulkSend::new("bulk", dst, Some(p.bytes), None)), 0, None)
        .expect("bulk");
    let t0 = Instant::now();
    let mut t = 0;
    let (delivered, bad) = loop {
        t += STEP_NS;
        sim.run_until(t);
        let r = &sim.reports()[sink];
        if r.bytes >= p.bytes || t >= SIM_LIMIT_NS {
            break (r.bytes, r.errors);
        }
    };
    let wall_s = t0.elapsed().as_secs_f64();
    notes.dedup();
    Outcome {
        stack: "libos",
        sim_ns: t,
        packets: packets(&sim),
        data_packets: data_packets(&sim),
        events: sim.stats.events,
        wall_s,
        delivered,
        bad,
        note: notes.join("; "),
    }
}

fn smol(sim: &mut Sim, n: usize) -> &mut SmolNode {
    sim.nodes[n].stack.as_any_mut().downcast_mut::<SmolNode>().expect("smoltcp node")
}

#[inline(never)]
fn run_smoltcp(p: &Params) -> Outcome {
    let mut sim = Sim::new(1);
    let (ipa, ipb) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    // Sockets are set up before the nodes join the engine, so their first deadline is
    // already known when the engine schedules them.
    let mut sa = SmolNode::new(11, [2, 0, 0, 0, 0, 1], ipa, 24, 0);
    let mut sb = SmolNode::new(12, [2, 0, 0, 0, 0, 2], ipb, 24, 0);
    sa.nagle = !p.smol_nodelay;
    sb.nagle = !p.smol_nodelay;
    sb.listen(5001, BUF_BYTES);
    sa.connect(ipb, 5001, p.bytes, BUF_BYTES);
    let a = sim.add_node("sender", Box::new(sa));
    let b = sim.add_node("receiver", Box::new(sb));
    sim.add_p2p(a, b, &link(p)).expect("link");
    let t0 = Instant::now();
    let mut t = 0;
    let (delivered, bad) = loop {
        t += STEP_NS;
        sim.run_until(t);
        let (got, bad) = smol(&mut sim, b).received();
        if got >= p.bytes || t >= SIM_LIMIT_NS {
            break (got, bad);
        }
    };
    let wall_s = t0.elapsed().as_secs_f64();
    Outcome {
        stack: if p.smol_nodelay {
            "smoltcp 0.14 (cubic, nodelay)"
        } else {
            "smoltcp 0.14 (cubic)"
        },
        sim_ns: t,
        packets: packets(&sim),
        data_packets: data_packets(&sim),
        events: sim.stats.events,
        wall_s,
        delivered,
        bad,
        note: String::new(),
    }
}

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const STACKS: [&str; 2] = ["libos", "smoltcp"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let p = Params {
        bytes: arg(&args, "--mbytes", 100u64) * 1_000_000,
        queue: arg(&args, "--queue", 1000usize),
        repeat: arg(&args, "--repeat", 3usize).max(1),
        smol_nodelay: args.iter().any(|a| a == "--smol-nodelay"),
    };
    if args.iter().any(|a| a == "--instructions") {
        instructions(&p);
        return;
    }
    // `--only libos|smoltcp` runs one stack (for profiling).
    let only =
        args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(|s| s.as_str());
    println!(
        "## Bulk TCP, {} MB over 10 Gbit/s, 1 ms one-way, drop-tail {} packets; best of {}\n",
        p.bytes / 1_000_000,
        p.queue,
        p.repeat
    );
    // Interleave the stacks so both see the same machine conditions; keep the best
    // (least disturbed) wall time of each.
    let mut best: [Option<Outcome>; 2] = [None, None];
    for _ in 0..p.repeat {
        for (i, run) in [run_libos as fn(&Params) -> Outcome, run_smoltcp].iter().enumerate() {
            if only.is_some_and(|o| o != STACKS[i]) {
                continue;
            }
            let o = run(&p);
            if best[i].as_ref().is_none_or(|b| o.wall_s < b.wall_s) {
                best[i] = Some(o);
            }
        }
    }
    print!("{}", table(best.iter().flatten()).render());
    for o in best.iter().flatten() {
        // Machine-readable, for `--instructions`.
        println!("frames {} {}", o.stack, o.packets);
        if o.delivered < p.bytes {
            println!("WARNING: {} delivered {} of {} bytes", o.stack, o.delivered, p.bytes);
        }
        if !o.note.is_empty() {
            println!("note ({}): {}", o.stack, o.note);
        }
    }
    let [Some(l), Some(s)] = best else { return };
    let pps = |o: &Outcome| o.packets as f64 / o.wall_s;
    let ratio = pps(&l) / pps(&s);
    println!("\nratio libos/smoltcp packets per wall-second: {ratio:.2} (target >= 1.00)");
    let dps = |o: &Outcome| o.data_packets as f64 / o.wall_s;
    println!("ratio libos/smoltcp data packets per wall-second: {:.2}", dps(&l) / dps(&s));
    let bps = |o: &Outcome| o.delivered as f64 / o.wall_s;
    println!("ratio libos/smoltcp delivered bytes per wall-second: {:.2}", bps(&l) / bps(&s));
}

fn table<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Table {
    let mut t = Table::new(&[
        "stack",
        "simulated s",
        "packets",
        "events",
        "wall s",
        "packets/wall-s",
        "data packets",
        "data packets/wall-s",
        "MB/wall-s",
        "goodput Mbit/s",
        "delivered MB",
        "bad bytes",
    ]);
    for o in outcomes {
        let sim_s = o.sim_ns as f64 / 1e9;
        t.row(vec![
            o.stack.into(),
            format!("{sim_s:.4}"),
            o.packets.to_string(),
            o.events.to_string(),
            format!("{:.3}", o.wall_s),
            format!("{:.0}", o.packets as f64 / o.wall_s),
            o.data_packets.to_string(),
            format!("{:.0}", o.data_packets as f64 / o.wall_s),
            format!("{:.0}", o.delivered as f64 / 1e6 / o.wall_s),
            format!("{:.1}", o.delivered as f64 * 8.0 / sim_s / 1e6),
            format!("{:.1}", o.delivered as f64 / 1e6),
            o.bad.to_string(),
        ]);
    }
    t
}

/// Instructions per frame of each stack, counted by callgrind over `run_<stack>` only.
fn instructions(p: &Params) {
    let exe = std::env::current_exe().expect("own path");
    let mut rows = Vec::new();
    for stack in STACKS {
        let out = std::env::temp_dir().join(format!("libos-tp-{}-{stack}.out", std::process::id()));
        let mut cmd = std::process::Command::new("valgrind");
        // Large copies in glibc's memcpy use `rep movsb`, which valgrind counts once per
        // byte; a threshold above any copy here keeps the vector loop, whose count
        // reflects the cost.
        cmd.env("GLIBC_TUNABLES", "glibc.cpu.x86_rep_movsb_threshold=2000000000");
        cmd.arg("--tool=callgrind")
            .arg("--collect-atstart=no")
            .arg(format!("--toggle-collect=*run_{stack}*"))
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .args(["--only", stack, "--repeat", "1"])
            .args(["--mbytes", &(p.bytes / 1_000_000).to_string()])
            .args(["--queue", &p.queue.to_string()]);
        if p.smol_nodelay {
            cmd.arg("--smol-nodelay");
        }
        let res = match cmd.output() {
            Ok(r) => r,
            Err(e) => {
                println!("valgrind: {e} (install valgrind)");
                return;
            }
        };
        let stdout = String::from_utf8_lossy(&res.stdout);
        let frames = stdout
            .lines()
            .find_map(|l| l.strip_prefix("frames ")?.rsplit(' ').next()?.parse::<u64>().ok());
        let ir = std::fs::read_to_string(&out).ok().and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("totals: ")?.trim().parse::<u64>().ok())
        });
        let _ = std::fs::remove_file(&out);
        let (Some(frames), Some(ir)) = (frames, ir) else {
            println!("{stack}: no result\n{}", String::from_utf8_lossy(&res.stderr));
            return;
        };
        rows.push((stack, frames, ir));
    }
    println!(
        "## Instructions (callgrind), bulk TCP {} MB, one run per stack\n",
        p.bytes / 1_000_000
    );
    let mut t = Table::new(&["stack", "frames", "instructions", "instructions/frame"]);
    for (stack, frames, ir) in &rows {
        t.row(vec![
            stack.to_string(),
            frames.to_string(),
            ir.to_string(),
            format!("{:.0}", *ir as f64 / *frames as f64),
        ]);
    }
    print!("{}", t.render());
    let per = |r: &(&str, u64, u64)| r.2 as f64 / r.1 as f64;
    println!(
        "\nratio smoltcp/libos instructions per frame: {:.2} (libos at least as fast: >= 1.00)",
        per(&rows[1]) / per(&rows[0])
    );
}
