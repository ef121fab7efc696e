//! fid-plot: cwnd against time, several runs overlaid, as a PNG (plotters' bitmap
//! backend with an embedded DejaVu font, so it renders headless).
//!
//! fid-plot OUT.png "TITLE" NAME=FILE.csv [NAME=FILE.csv ...]
//! Each CSV has a header; time is the first column, cwnd the column named `cwnd` or
//! `cwnd_segs` (tcp-probe's and libos-sim's traces).

use libos_sim::plot::{Look, Series, draw};
use std::path::Path;

/// Black for Linux, then red and blue.
const LOOK: Look<'static> = Look {
    size: (1000, 500),
    caption_font: 22,
    margin: 12,
    label_areas: (40, 60),
    colors: &[(0, 0, 0), (220, 50, 32), (0, 120, 220)],
};

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
        draw(Path::new(&a[0]), &a[1], "cwnd (segments)", &series, &LOOK)
    })();
    if let Err(e) = r {
        eprintln!("fid-plot: {e}");
        std::process::exit(1);
    }
}
