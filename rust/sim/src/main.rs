//! `libos-sim run <scenario.toml> [--seed N] [--out DIR] [--duration S]`

use clap::{Parser, Subcommand};
use libos_sim::scenario::{Overrides, Scenario};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "libos-sim",
    version,
    about = "Deterministic network simulator running libos nodes"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a scenario file and prints the per-flow table.
    Run {
        /// Scenario file (TOML; see rust/sim/README.md).
        scenario: PathBuf,
        /// Overrides the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory (pcaps, traces, plots, flows.txt).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overrides the duration, e.g. "5s" or "500ms".
        #[arg(long)]
        duration: Option<String>,
        /// Write no pcap files.
        #[arg(long)]
        no_pcap: bool,
        /// Capture only these devices: comma-separated `node` or `node:dev`.
        #[arg(long, value_delimiter = ',')]
        pcap: Option<Vec<String>>,
        /// Hide the progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let Cli { cmd: Cmd::Run { scenario, seed, out, duration, no_pcap, pcap, quiet } } =
        Cli::parse();
    let result = (|| {
        let duration = duration
            .map(|d| libos_sim::units::parse_duration(&d))
            .transpose()
            .map_err(|e| format!("--duration: {e}"))?;
        let sc = Scenario::load(&scenario)?;
        let o = Overrides { seed, out, duration, no_pcap, pcap };
        let built = sc.build(&o).map_err(|e| format!("{}: {e}", scenario.display()))?;
        let out = built.out.clone();
        let wall = std::time::Instant::now();
        let r = libos_sim::run::run(built, !quiet)?;
        print!("{}\n{}", libos_sim::output::table(&r.reports), r.links);
        eprintln!(
            "{} events in {:.2}s wall; outputs in {}",
            r.events,
            wall.elapsed().as_secs_f64(),
            out.display()
        );
        Ok::<_, String>(r)
    })();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
