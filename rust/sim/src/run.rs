//! Runs a built scenario to its end: progress bar, then the outputs (flow table,
//! traces, plots, pcaps).

use crate::apps::FlowReport;
use crate::scenario::Built;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

pub struct RunResult {
    pub reports: Vec<FlowReport>,
    /// The per-link table (`output::link_table`).
    pub links: String,
    pub files: Vec<PathBuf>,
    pub events: u64,
}

/// Runs `b` for its duration. `progress`: show a bar on stderr (only if it is a tty).
pub fn run(mut b: Built, progress: bool) -> Result<RunResult, String> {
    let bar = if progress && std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(
            Some(b.duration / 1_000_000),
            ProgressDrawTarget::stderr(),
        );
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ms sim",
            )
            .map_err(|e| e.to_string())?,
        );
        Some(pb)
    } else {
        None
    };
    if let Some(pb) = bar.clone() {
        b.sim.progress = Some(Box::new(move |now| pb.set_position(now / 1_000_000)));
    }
    std::fs::create_dir_all(&b.out).map_err(|e| format!("{}: {e}", b.out.display()))?;
    b.sim.run_until(b.duration);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    b.sim.finish().map_err(|e| format!("writing pcaps: {e}"))?;
    let mut files = b.pcap_files.clone();
    let traces = b.sim.traces();
    if !traces.is_empty() {
        files.extend(
            crate::output::write_traces(&b.out.join("traces"), &traces)
                .map_err(|e| format!("traces: {e}"))?,
        );
        files.extend(crate::plot::plot_traces(&b.out.join("plots"), &traces)?);
    }
    let events = b.sim.events_csv();
    if !events.is_empty() {
        let dir = b.out.join("traces");
        files.extend(
            crate::output::write_events(&dir, &events).map_err(|e| format!("traces: {e}"))?,
        );
    }
    let reports = b.sim.reports();
    let stats: Vec<_> = b.sim.chans.iter().map(|c| &c.stats).collect();
    let links = crate::output::link_table(&b.sim.channel_labels(), &stats);
    let text = format!("{}\n{links}", crate::output::table(&reports));
    std::fs::write(b.out.join("flows.txt"), &text).map_err(|e| format!("flows.txt: {e}"))?;
    Ok(RunResult { reports, links, files, events: b.sim.stats.events })
}
