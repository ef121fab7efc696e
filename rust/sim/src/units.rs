//! Human units in scenario files: durations ("10ms", "1.5s"), bit rates ("10Mbit",
//! "1Gbps"), byte sizes ("4MB", "64KiB"). Bare numbers are seconds, bit/s and bytes.

/// Nanoseconds from a duration string. Suffixes: ns, us, ms, s, min.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let (num, unit) = split_unit(s)?;
    let mul = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "min" => 60e9,
        _ => return Err(format!("unknown duration unit `{unit}` in `{s}` (ns, us, ms, s, min)")),
    };
    to_u64(num * mul, s)
}

/// Bits per second from a rate string. Suffixes: bps/bit, kbit/Kbps, Mbit/Mbps, Gbit/Gbps.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, unit) = split_unit(s)?;
    let lower = unit.to_ascii_lowercase();
    let mul = match lower.as_str() {
        "" | "bps" | "bit" | "b/s" | "bit/s" => 1.0,
        "kbps" | "kbit" | "kbit/s" | "k" => 1e3,
        "mbps" | "mbit" | "mbit/s" | "m" => 1e6,
        "gbps" | "gbit" | "gbit/s" | "g" => 1e9,
        _ => return Err(format!("unknown rate unit `{unit}` in `{s}` (bps, kbit, Mbit, Gbit)")),
    };
    let v = to_u64(num * mul, s)?;
    if v == 0 {
        return Err(format!("rate `{s}` must be positive"));
    }
    Ok(v)
}

/// Bytes from a size string. Suffixes: B, KB/MB/GB (10^3), KiB/MiB/GiB (2^10).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, unit) = split_unit(s)?;
    let mul = match unit {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        _ => return Err(format!("unknown size unit `{unit}` in `{s}` (B, KB, MB, GB, KiB, MiB)")),
    };
    to_u64(num * mul, s)
}

fn split_unit(s: &str) -> Result<(f64, &str), String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(s.len());
    // An 'e' right before a unit letter is part of the unit only if no digit follows.
    let (num, unit) = s.split_at(end);
    let num: f64 = num.parse().map_err(|_| format!("`{s}` is not a number with a unit"))?;
    Ok((num, unit.trim()))
}

fn to_u64(v: f64, s: &str) -> Result<u64, String> {
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(v.round() as u64)
}

/// Formats nanoseconds as seconds with millisecond precision ("1.250s").
pub fn fmt_secs(ns: u64) -> String {
    format!("{:.3}s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10ms").unwrap(), 10_000_000);
        assert_eq!(parse_duration("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_duration("2").unwrap(), 2_000_000_000);
        assert_eq!(parse_duration("250us").unwrap(), 250_000);
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn rates_and_sizes() {
        assert_eq!(parse_rate("10Mbit").unwrap(), 10_000_000);
        assert_eq!(parse_rate("1Gbps").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("100kbit").unwrap(), 100_000);
        assert!(parse_rate("0").is_err());
        assert_eq!(parse_size("4MB").unwrap(), 4_000_000);
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("1500").unwrap(), 1500);
    }
}
