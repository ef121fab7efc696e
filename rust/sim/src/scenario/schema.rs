//! The scenario file format (TOML). Unknown keys are errors, so typos are caught with
//! their line; units are human strings ("10Mbit", "10ms", "4MB") or bare numbers.

use crate::units;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

macro_rules! unit_type {
    ($name:ident, $parse:path, $what:expr) => {
        /// A value parsed from a number or a string with a unit.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name(pub u64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        $parse(s).map($name).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        $parse(&v.to_string()).map($name).map_err(E::custom)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        $parse(&v.to_string()).map($name).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

unit_type!(Duration, units::parse_duration, "a duration like \"10ms\" or a number of seconds");
unit_type!(Rate, units::parse_rate, "a bit rate like \"10Mbit\" or a number of bit/s");
unit_type!(Size, units::parse_size, "a size like \"4MB\" or a number of bytes");

/// `pcap = true`, `pcap = false` or `pcap = ["h1", "r1:eth1"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PcapSel {
    All(bool),
    Some(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub seed: Option<u64>,
    pub duration: Option<Duration>,
    pub out: Option<String>,
    pub trace_interval: Option<Duration>,
    pub pcap: Option<PcapSel>,
    /// "static" (only the [[route]] entries) or "auto" (shortest-path static routes).
    pub routing: Option<Spanned<String>>,
    /// Automatic IPv6 addresses too (2001:db8:<n>::1/64 ...) where a link or attachment
    /// gives none: a dual-stack topology without writing addresses.
    #[serde(default)]
    pub ipv6: bool,
    /// Duplicate address detection on the scenario's IPv6 addresses (default false: they
    /// are added `nodad`, usable at time 0; link-local addresses always run DAD).
    #[serde(default)]
    pub dad: bool,
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeSpec>,
    #[serde(default, rename = "link")]
    pub links: Vec<LinkSpec>,
    #[serde(default, rename = "segment")]
    pub segments: Vec<SegmentSpec>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteSpec>,
    #[serde(default, rename = "app")]
    pub apps: Vec<AppSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: Spanned<String>,
    /// Shorthand for `net.ipv4.ip_forward = 1` and `net.ipv6.conf.all.forwarding = 1`.
    #[serde(default)]
    pub forward: bool,
    #[serde(default)]
    pub sysctl: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BurstLoss {
    pub p_good_bad: f64,
    pub p_bad_good: f64,
    #[serde(default)]
    pub loss_good: f64,
    #[serde(default = "one")]
    pub loss_bad: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub a: Spanned<String>,
    pub b: Spanned<String>,
    pub rate: Option<Rate>,
    /// Rate of the b->a direction when it differs (ADSL-like links).
    pub rate_reverse: Option<Rate>,
    pub delay: Option<Duration>,
    /// Drop-tail limit in packets (default 100).
    pub queue: Option<usize>,
    /// Drop-tail limit in bytes (instead of packets).
    pub queue_bytes: Option<Size>,
    pub a_addr: Option<Spanned<String>>,
    pub b_addr: Option<Spanned<String>>,
    /// IPv6 "2001:db8:1::1/64" (both or neither).
    pub a_addr6: Option<Spanned<String>>,
    pub b_addr6: Option<Spanned<String>>,
    /// "ethernet" (default, with ARP) or "ptp" (POINTOPOINT|NOARP).
    pub mode: Option<Spanned<String>>,
    pub mtu: Option<u32>,
    #[serde(default)]
    pub loss: f64,
    /// `loss` hits TCP data only, keyed on the data's place in the stream: two runs with
    /// one seed lose the same data (`seq_loss`).
    #[serde(default)]
    pub loss_keyed: bool,
    pub burst_loss: Option<BurstLoss>,
    #[serde(default)]
    pub reorder: f64,
    pub reorder_delay: Option<Duration>,
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub corrupt: f64,
    /// Which directions the impairments apply to: "both" (default), "a-to-b", "b-to-a".
    pub impair_direction: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    pub node: Spanned<String>,
    pub addr: Option<Spanned<String>>,
    /// IPv6 "2001:db8:5::10/64".
    pub addr6: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    pub name: Option<String>,
    pub rate: Option<Rate>,
    pub delay: Option<Duration>,
    pub queue: Option<usize>,
    pub mtu: Option<u32>,
    pub attach: Vec<Attach>,
    /// Impairments of every port, both directions (each with its own PRNG stream).
    #[serde(default)]
    pub loss: f64,
    pub burst_loss: Option<BurstLoss>,
    #[serde(default)]
    pub reorder: f64,
    pub reorder_delay: Option<Duration>,
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub corrupt: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub node: Spanned<String>,
    /// "10.0.2.0/24", "2001:db8:2::/64" or "default" (IPv6 when `via` is).
    pub dst: Spanned<String>,
    pub via: Option<Spanned<String>>,
    /// Device name on the node ("eth0").
    pub dev: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// bulk, sink, onoff, ping, udp-echo-server, udp-echo, rr-server, rr-client.
    pub kind: Spanned<String>,
    pub node: Spanned<String>,
    pub name: Option<String>,
    /// "10.0.1.2:5001", "[2001:db8:1::2]:5001", "h2:5001", or for ping "10.0.1.2" /
    /// "2001:db8:1::2" / "h2".
    pub dst: Option<Spanned<String>>,
    /// Resolve node names in `dst` to the node's first IPv6 address (a node with only
    /// IPv6 addresses resolves to IPv6 anyway).
    #[serde(default)]
    pub ipv6: bool,
    /// Port a sink or server listens on.
    pub port: Option<u16>,
    /// "tcp" (default) or "udp" for sink and onoff.
    pub proto: Option<Spanned<String>>,
    pub start: Option<Duration>,
    pub stop: Option<Duration>,
    /// Bulk: bytes to send (default: until stop).
    pub bytes: Option<Size>,
    /// TCP congestion control (TCP_CONGESTION).
    pub cc: Option<String>,
    pub interval: Option<Duration>,
    pub count: Option<u64>,
    /// Message / datagram / ping payload size.
    pub size: Option<Size>,
    pub rate: Option<Rate>,
    pub on: Option<Duration>,
    pub off: Option<Duration>,
    pub request: Option<Size>,
    pub response: Option<Size>,
    pub gap: Option<Duration>,
}
