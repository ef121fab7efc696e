//! Command-line helpers shared by the binaries (`--key value` pairs, units).

use std::collections::BTreeMap;

/// `--key value` pairs and bare `--flag`s (value "1").
pub fn parse(args: impl Iterator<Item = String>) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    let mut it = args.peekable();
    while let Some(a) = it.next() {
        let key = a.strip_prefix("--").ok_or_else(|| format!("unexpected argument {a:?}"))?;
        let val = match it.peek() {
            Some(v) if !v.starts_with("--") => it.next().unwrap(),
            _ => "1".to_string(),
        };
        m.insert(key.to_string(), val);
    }
    Ok(m)
}

/// "10Mbit", "1.5Gbit", "800kbit", "1000000" -> bit/s.
pub fn rate(s: &str) -> Result<u64, String> {
    let (num, mul) = split_unit(s, &[("Gbit", 1e9), ("Mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]);
    num.parse::<f64>().map(|v| (v * mul) as u64).map_err(|_| format!("bad rate {s:?}"))
}

/// "10ms", "1.5s", "250us" -> ns.
pub fn time(s: &str) -> Result<u64, String> {
    let (num, mul) = split_unit(s, &[("ms", 1e6), ("us", 1e3), ("ns", 1.0), ("s", 1e9)]);
    num.parse::<f64>().map(|v| (v * mul) as u64).map_err(|_| format!("bad time {s:?}"))
}

fn split_unit<'a>(s: &'a str, units: &[(&str, f64)]) -> (&'a str, f64) {
    for (u, m) in units {
        if let Some(n) = s.strip_suffix(u) {
            return (n, *m);
        }
    }
    (s, 1.0)
}
