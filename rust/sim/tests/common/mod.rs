//! Helpers shared by the integration tests: scenario runs into temp dirs, pcap parsing.
#![allow(dead_code)]

use libos_sim::apps::FlowReport;
use libos_sim::scenario::{Overrides, Scenario};
use std::path::{Path, PathBuf};

/// A fresh directory under the target's temp dir.
pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("libos-sim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct Outcome {
    pub reports: Vec<FlowReport>,
    pub pcaps: Vec<PathBuf>,
    pub sim_stats: libos_sim::sim::SimStats,
    pub chan_stats: Vec<libos_sim::channel::ChannelStats>,
}

/// Builds and runs a scenario text (pcaps into `out` unless None).
pub fn run(src: &str, seed: u64, out: Option<&Path>) -> Outcome {
    let sc = Scenario::parse(src, "test").unwrap_or_else(|e| panic!("scenario: {e}"));
    let o = Overrides {
        seed: Some(seed),
        out: out.map(Path::to_path_buf),
        no_pcap: out.is_none(),
        ..Default::default()
    };
    let mut b = sc.build(&o).unwrap_or_else(|e| panic!("build: {e}"));
    b.sim.run_until(b.duration);
    b.sim.finish().unwrap();
    Outcome {
        reports: b.sim.reports(),
        pcaps: b.pcap_files.clone(),
        sim_stats: b.sim.stats,
        chan_stats: b.sim.chans.iter().map(|c| c.stats.clone()).collect(),
    }
}

pub fn report<'a>(o: &'a Outcome, name: &str) -> &'a FlowReport {
    o.reports
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no flow {name}: {:#?}", o.reports))
}

/// (time ns, frame) of each record of a nanosecond pcap file.
pub fn pcap_records(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], &0xa1b2_3c4du32.to_le_bytes());
    let mut off = 24;
    let mut out = Vec::new();
    while off + 16 <= b.len() {
        let w = |i: usize| u32::from_le_bytes(b[off + i..off + i + 4].try_into().unwrap());
        let (t, len) = (u64::from(w(0)) * 1_000_000_000 + u64::from(w(4)), w(8) as usize);
        out.push((t, b[off + 16..off + 16 + len].to_vec()));
        off += 16 + len;
    }
    out
}

/// Frames of a nanosecond pcap file.
pub fn pcap_frames(path: &Path) -> Vec<Vec<u8>> {
    pcap_records(path).into_iter().map(|(_, f)| f).collect()
}

/// (source port, ISN) of every SYN without ACK in the frames.
pub fn syns(frames: &[Vec<u8>]) -> Vec<(u16, u32)> {
    frames
        .iter()
        .filter(|f| f.len() >= 54 && f[12..14] == [0x08, 0x00] && f[23] == 6)
        .filter_map(|f| {
            let ihl = usize::from(f[14] & 0xf) * 4;
            let t = &f[14 + ihl..];
            let flags = t[13];
            (flags & 0x12 == 0x02).then(|| {
                (u16::from_be_bytes([t[0], t[1]]), u32::from_be_bytes([t[4], t[5], t[6], t[7]]))
            })
        })
        .collect()
}

/// Two hosts over one link with the given extra link lines, a sink and a bulk sender.
pub fn two_hosts(link_extra: &str, bytes: &str, duration: &str) -> String {
    format!(
        r#"
duration = "{duration}"
trace_interval = "100ms"

[[node]]
name = "h1"

[[node]]
name = "h2"

[[link]]
a = "h1"
b = "h2"
rate = "20Mbit"
delay = "5ms"
a_addr = "10.0.0.1/24"
b_addr = "10.0.0.2/24"
{link_extra}

[[app]]
kind = "sink"
name = "sink"
node = "h2"
port = 5001

[[app]]
kind = "bulk"
name = "bulk"
node = "h1"
dst = "10.0.0.2:5001"
bytes = "{bytes}"
start = "10ms"
"#
    )
}

/// h1 - r1 - r2 - h2 with auto routes and every kind of app; the r1-r2 link in `mode`.
pub fn chain_all_apps(mode: &str) -> String {
    CHAIN_ALL_APPS.replace("{mode}", mode)
}

const CHAIN_ALL_APPS: &str = r#"
duration = "7s"
routing = "auto"

[[node]]
name = "h1"
[[node]]
name = "r1"
forward = true
[[node]]
name = "r2"
forward = true
[[node]]
name = "h2"

[[link]]
a = "h1"
b = "r1"
rate = "100Mbit"
delay = "1ms"
[[link]]
a = "r1"
b = "r2"
rate = "10Mbit"
delay = "10ms"
mode = "{mode}"
[[link]]
a = "r2"
b = "h2"
rate = "100Mbit"
delay = "1ms"

[[app]]
kind = "ping"
name = "ping"
node = "h1"
dst = "h2"
interval = "100ms"
count = 10

[[app]]
kind = "sink"
name = "sink"
node = "h2"
port = 5001
[[app]]
kind = "bulk"
name = "bulk"
node = "h1"
dst = "h2:5001"
bytes = "500KB"
cc = "reno"
# After the other apps (pings 0-1 s, UDP 1-3 s, TCP on-off 3-5 s): Reno fills the
# 10 Mbit/s link's queue and their packets would be lost.
start = "5s"

[[app]]
kind = "udp-echo-server"
node = "h2"
port = 7
[[app]]
kind = "udp-echo"
name = "echo"
node = "h1"
dst = "h2:7"
interval = "100ms"
count = 10
size = 200
start = "100ms"

[[app]]
kind = "sink"
name = "udp-sink"
node = "h2"
proto = "udp"
port = 9000
[[app]]
kind = "onoff"
name = "onoff"
node = "h1"
proto = "udp"
dst = "h2:9000"
rate = "1Mbit"
size = 500
on = "500ms"
off = "500ms"
start = "1s"
stop = "3s"

[[app]]
kind = "sink"
name = "tcp-onoff-sink"
node = "h2"
port = 9001
[[app]]
kind = "onoff"
name = "tcp-onoff"
node = "h1"
proto = "tcp"
dst = "h2:9001"
cc = "reno"
rate = "2Mbit"
size = 1000
on = "300ms"
off = "200ms"
start = "3s"
stop = "5s"

[[app]]
kind = "rr-server"
node = "h2"
port = 8080
request = 200
response = 5000
[[app]]
kind = "rr-client"
name = "rr"
node = "h1"
dst = "h2:8080"
request = 200
response = 5000
count = 20
start = "300ms"
"#;
