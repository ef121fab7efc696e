//! PNG plots of the traces (cwnd, RTT, goodput against time, one line per flow), drawn
//! with plotters' bitmap backend and an embedded DejaVu font so they render headless.

use crate::apps::Sample;
use crate::output::goodput_series;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::{Path, PathBuf};
use std::sync::Once;

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TTF shipped by the `dejavu` crate; failure is not expected.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// One line of a chart: its legend and its (x, y) points.
pub type Series = (String, Vec<(f64, f64)>);

/// How a chart looks.
pub struct Look<'a> {
    /// Image size in pixels.
    pub size: (u32, u32),
    pub caption_font: u32,
    pub margin: u32,
    /// Heights of the x and y label areas.
    pub label_areas: (u32, u32),
    /// Line colours in turn; empty: plotters' Palette99.
    pub colors: &'a [(u8, u8, u8)],
}

/// The simulator's trace plots.
pub const TRACES: Look<'static> =
    Look { size: (1000, 600), caption_font: 24, margin: 15, label_areas: (45, 70), colors: &[] };

/// Draws `series` against time (seconds) into the PNG `path`, axes from 0, the legend
/// upper right.
pub fn draw(
    path: &Path,
    title: &str,
    ylabel: &str,
    series: &[Series],
    look: &Look<'_>,
) -> Result<(), String> {
    fonts();
    let xmax = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).fold(0.0f64, f64::max).max(1e-3);
    let ymax =
        series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).fold(0.0f64, f64::max).max(1e-3) * 1.1;
    let root = BitMapBackend::new(path, look.size).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| format!("plot {}: {e}", path.display());
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", look.caption_font))
        .margin(look.margin)
        .x_label_area_size(look.label_areas.0)
        .y_label_area_size(look.label_areas.1)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(ylabel)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = match look.colors {
            [] => Palette99::pick(i).to_rgba(),
            c => {
                let (r, g, b) = c[i % c.len()];
                RGBColor(r, g, b).to_rgba()
            }
        };
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// Draws cwnd.png and rtt.png (if any TCP flow) and goodput.png into `dir`; returns
/// the files written.
pub fn plot_traces(
    dir: &Path,
    traces: &[(String, &[(u64, Sample)])],
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let secs = |t: u64| t as f64 / 1e9;
    let tcp: Vec<_> = traces.iter().filter(|(_, s)| s.iter().any(|x| x.1.cwnd > 0)).collect();
    let cwnd: Vec<Series> = tcp
        .iter()
        .map(|(n, s)| (n.clone(), s.iter().map(|(t, x)| (secs(*t), f64::from(x.cwnd))).collect()))
        .collect();
    let rtt: Vec<Series> = tcp
        .iter()
        .map(|(n, s)| {
            let pts = s
                .iter()
                .filter(|x| x.1.rtt_us > 0)
                .map(|(t, x)| (secs(*t), f64::from(x.rtt_us) / 1e3));
            (n.clone(), pts.collect())
        })
        .collect();
    // Goodput as the receivers see it; a TCP sender's acked rate would duplicate its
    // sink's line. Without receivers, plot the senders.
    let rx: Vec<_> = traces.iter().filter(|(_, s)| s.iter().all(|x| x.1.cwnd == 0)).collect();
    let gp_src = if rx.is_empty() { traces.iter().collect() } else { rx };
    let gp: Vec<Series> = gp_src.iter().map(|(n, s)| (n.clone(), goodput_series(s))).collect();
    let mut files = Vec::new();
    for (file, title, ylabel, series) in [
        ("cwnd.png", "Congestion window", "cwnd (segments)", &cwnd),
        ("rtt.png", "Smoothed RTT", "RTT (ms)", &rtt),
        ("goodput.png", "Goodput", "Mbit/s", &gp),
    ] {
        if series.is_empty() {
            continue;
        }
        let path = dir.join(file);
        draw(&path, title, ylabel, series, &TRACES)?;
        files.push(path);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_render_headless() {
        let mk = |k: u32| -> Vec<(u64, Sample)> {
            (0..100u64)
                .map(|i| {
                    let cwnd = 10 + ((i as u32 * k) % 40);
                    (
                        i * 100_000_000,
                        Sample {
                            cwnd,
                            rtt_us: 20_000 + cwnd * 100,
                            bytes: i * i * 1000,
                            ..Default::default()
                        },
                    )
                })
                .collect()
        };
        let (a, b) = (mk(3), mk(7));
        let traces =
            vec![("flow-a".to_string(), a.as_slice()), ("flow-b".to_string(), b.as_slice())];
        let dir = std::env::temp_dir().join(format!("libos-sim-plot-{}", std::process::id()));
        let files = plot_traces(&dir, &traces).unwrap();
        assert_eq!(files.len(), 3);
        for f in &files {
            let png = std::fs::read(f).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            assert!(png.len() > 10_000, "{} is suspiciously small", f.display());
        }
        if std::env::var_os("LIBOS_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
