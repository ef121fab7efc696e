//! Results of a run: the per-flow table, per-flow CSV traces, and PNG plots.

use crate::apps::{FlowReport, Sample};
use crate::channel::ChannelStats;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.2}", x / 1e3))
}

/// The flow table as printed by `libos-sim run`.
pub fn table(reports: &[FlowReport]) -> String {
    let w = reports.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:<10} {:>12} {:>9} {:>7} {:>9} {:>9} {:>9}  note",
        "flow", "kind", "bytes", "Mbit/s", "retx", "rtt avg", "rtt min", "rtt max"
    );
    for r in reports {
        let (avg, min, max) = match r.rtt_us {
            Some((a, b, c)) => (Some(a), Some(b), Some(c)),
            None => (None, None, None),
        };
        let gp = if r.active_ns > 0 { format!("{:.3}", r.goodput_mbps()) } else { "-".into() };
        let _ = writeln!(
            s,
            "{:<w$}  {:<10} {:>12} {:>9} {:>7} {:>9} {:>9} {:>9}  {}",
            r.name,
            r.kind,
            r.bytes,
            gp,
            r.retrans.map_or("-".into(), |x| x.to_string()),
            opt_ms(avg),
            opt_ms(min),
            opt_ms(max),
            r.note
        );
    }
    let _ = writeln!(s, "(RTTs in ms; goodput over each flow's active time)");
    s
}

/// Per link direction: frames sent, drop-tail drops, impairment counts, peak queue.
/// Only directions that carried traffic are listed.
pub fn link_table(labels: &[String], stats: &[&ChannelStats]) -> String {
    let w = labels.iter().map(|l| l.len()).max().unwrap_or(0).max("link (tx side)".len());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:>10} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
        "link (tx side)", "frames", "qdrops", "lost", "dup", "corrupt", "reord", "maxq"
    );
    for (l, st) in labels.iter().zip(stats) {
        if st.tx_frames == 0 && st.queue_drops == 0 {
            continue;
        }
        let _ = writeln!(
            s,
            "{:<w$}  {:>10} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6}",
            l,
            st.tx_frames,
            st.queue_drops,
            st.lost,
            st.duplicated,
            st.corrupted,
            st.reordered,
            st.max_queue
        );
    }
    s
}

/// Goodput in Mbit/s between consecutive samples.
pub fn goodput_series(samples: &[(u64, Sample)]) -> Vec<(f64, f64)> {
    samples
        .windows(2)
        .map(|w| {
            let dt = (w[1].0 - w[0].0) as f64 / 1e9;
            let db = w[1].1.bytes.saturating_sub(w[0].1.bytes) as f64;
            (w[1].0 as f64 / 1e9, if dt > 0.0 { db * 8.0 / dt / 1e6 } else { 0.0 })
        })
        .collect()
}

fn safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

/// One `<name>.events.csv` per app with per-message measurements.
pub fn write_events(dir: &Path, events: &[(String, String)]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for (name, csv) in events {
        let path = dir.join(format!("{}.events.csv", safe(name)));
        std::fs::write(&path, csv)?;
        files.push(path);
    }
    Ok(files)
}

/// One CSV per flow: time_s, cwnd_segs, ssthresh, rtt_ms, bytes, goodput_mbps, retrans,
/// delivery_rate_mbps (the sender's `tcpi_delivery_rate`).
pub fn write_traces(
    dir: &Path,
    traces: &[(String, &[(u64, Sample)])],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for (name, samples) in traces {
        let path = dir.join(format!("{}.csv", safe(name)));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(
            f,
            "time_s,cwnd_segs,ssthresh,rtt_ms,bytes,goodput_mbps,retrans,delivery_rate_mbps"
        )?;
        let mut prev: Option<(u64, u64)> = None;
        for &(t, s) in samples.iter() {
            let gp = match prev {
                Some((pt, pb)) if t > pt => {
                    s.bytes.saturating_sub(pb) as f64 * 8.0 / ((t - pt) as f64 / 1e9) / 1e6
                }
                _ => 0.0,
            };
            prev = Some((t, s.bytes));
            writeln!(
                f,
                "{:.6},{},{},{:.3},{},{:.3},{},{:.3}",
                t as f64 / 1e9,
                s.cwnd,
                s.ssthresh,
                f64::from(s.rtt_us) / 1e3,
                s.bytes,
                gp,
                s.retrans,
                s.delivery_rate as f64 * 8.0 / 1e6
            )?;
        }
        f.flush()?;
        files.push(path);
    }
    Ok(files)
}
