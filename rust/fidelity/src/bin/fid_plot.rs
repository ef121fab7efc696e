//! fid-plot: cwnd against time, several runs overlaid, as a PNG (plotters' bitmap
//! backend with an embedded DejaVu font, so it renders headless).
//!
//! fid-plot OUT.png "TITLE" NAME=FILE.csv [NAME=FILE.csv ...]
//! Each CSV has a header; time is the first column, cwnd the column named `cwnd` or
//! `cwnd_segs` (tcp-probe's and libos-sim's traces).

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

type Series = (String, Vec<(f64, f64)>);

fn read(name: &str, path: &str) -> Result<Series, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "cwnd" || *h == "cwnd_segs")
        .ok_or_else(|| format!("{path}: no cwnd column"))?;
    let pts = lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.parse().ok()?, f.get(col)?.parse().ok()?))
        })
        .collect();
    Ok((name.to_string(), pts))
}

fn draw(out: &str, title: &str, series: &[Series]) -> Result<(), String> {
    let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    let e = |x: &dyn std::fmt::Display| format!("{out}: {x}");
    let pts = || series.iter().flat_map(|s| s.1.iter());
    let xmax = pts().map(|p| p.0).fold(1e-3, f64::max);
    let ymax = pts().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let root = BitMapBackend::new(out, (1000, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("cwnd (segments)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    let colors = [RGBColor(0, 0, 0), RGBColor(220, 50, 32), RGBColor(0, 120, 220)];
    for (i, (name, p)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(p.iter().copied(), c.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let r = (|| {
        if a.len() < 3 {
            return Err("usage: fid-plot OUT.png TITLE NAME=FILE.csv...".to_string());
        }
        let mut series = Vec::new();
        for s in &a[2..] {
            let (n, p) = s.split_once('=').ok_or_else(|| format!("{s}: want NAME=FILE"))?;
            series.push(read(n, p)?);
        }
        draw(&a[0], &a[1], &series)
    })();
    if let Err(e) = r {
        eprintln!("fid-plot: {e}");
        std::process::exit(1);
    }
}
