//! Scenario files: parse a TOML description (see `schema`) and build a ready-to-run
//! [`Sim`]: nodes with sysctls, links and segments with addresses, static or auto
//! routes, pcap captures and apps. Every error names the line and the field.

pub mod schema;

use crate::apps::App;
use crate::apps::bulk::BulkSend;
use crate::apps::onoff::OnOff;
use crate::apps::ping::Ping;
use crate::apps::reqresp::{RrClient, RrServer};
use crate::apps::sink::{Proto, Sink};
use crate::apps::udp_echo::{UdpEchoClient, UdpEchoServer};
use crate::channel::QueueLimit;
use crate::impair::{GilbertElliott, Impairments};
use crate::pcap::PcapWriter;
use crate::sim::{LinkParams, NodeId, Sim};
use crate::stack::DevMode;
use libos_kernel::Route;
use schema::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Command-line overrides of the file's settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub duration: Option<u64>,
    /// Write no pcap files (tests that only look at reports).
    pub no_pcap: bool,
    /// Capture only these devices (`node` or `node:dev`), replacing the file's `pcap`.
    pub pcap: Option<Vec<String>>,
}

/// A scenario ready to run.
pub struct Built {
    pub sim: Sim,
    pub duration: u64,
    pub out: PathBuf,
    pub trace_interval: u64,
    pub pcap_files: Vec<PathBuf>,
}

/// A parsed scenario with its source text (for line numbers).
pub struct Scenario {
    pub file: ScenarioFile,
    pub src: String,
    pub name: String,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let name = path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        Scenario::parse(&src, &name).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(src: &str, name: &str) -> Result<Scenario, String> {
        let file: ScenarioFile = toml::from_str(src).map_err(|e| e.to_string())?;
        Ok(Scenario { file, src: src.to_string(), name: name.to_string() })
    }

    fn line(&self, span: Range<usize>) -> usize {
        self.src[..span.start.min(self.src.len())].matches('\n').count() + 1
    }

    fn err<T>(
        &self,
        span: Range<usize>,
        field: &str,
        msg: impl std::fmt::Display,
    ) -> Result<T, String> {
        Err(format!("line {}: `{field}`: {msg}", self.line(span)))
    }

    fn node(&self, b: &Builder, s: &Spanned<String>, field: &str) -> Result<NodeId, String> {
        match b.sim.node_id(s.get_ref()) {
            Some(n) => Ok(n),
            None => self.err(s.span(), field, format!("unknown node `{}`", s.get_ref())),
        }
    }

    fn cidr(&self, s: &Spanned<String>, field: &str) -> Result<(Ipv4Addr, u8), String> {
        match parse_cidr(s.get_ref()) {
            Some(v) => Ok(v),
            None => self.err(
                s.span(),
                field,
                format!("`{}` is not an IPv4 address/prefix", s.get_ref()),
            ),
        }
    }

    fn cidr6(&self, s: &Spanned<String>, field: &str) -> Result<(Ipv6Addr, u8), String> {
        match parse_cidr6(s.get_ref()) {
            Some(v) => Ok(v),
            None => self.err(
                s.span(),
                field,
                format!("`{}` is not an IPv6 address/prefix", s.get_ref()),
            ),
        }
    }

    /// Builds the simulation (creating the output and pcap files).
    pub fn build(&self, o: &Overrides) -> Result<Built, String> {
        let f = &self.file;
        let seed = o.seed.or(f.seed).unwrap_or(1);
        let out = o.out.clone().unwrap_or_else(|| {
            f.out.as_ref().map_or_else(|| PathBuf::from("out").join(&self.name), PathBuf::from)
        });
        let mut b = Builder { sim: Sim::new(seed), pending_sysctl: Vec::new() };
        self.add_nodes(&mut b)?;
        for (i, l) in f.links.iter().enumerate() {
            self.add_link(&mut b, i, l)?;
        }
        for (i, s) in f.segments.iter().enumerate() {
            self.add_segment(&mut b, f.links.len() + i, s)?;
        }
        for (n, name, value, span) in std::mem::take(&mut b.pending_sysctl) {
            let k = b.sim.kernel(n).expect("libos node");
            if let Err(e) = k.sysctl_set(&name, &value) {
                return self.err(
                    span,
                    &format!("sysctl.\"{name}\""),
                    format!("{e:?} setting it to `{value}`"),
                );
            }
        }
        self.add_routes(&mut b)?;
        let pcap_files =
            if o.no_pcap { Vec::new() } else { self.add_pcaps(&mut b, &out, o.pcap.as_ref())? };
        for (i, a) in f.apps.iter().enumerate() {
            self.add_app(&mut b, i, a)?;
        }
        let duration = o.duration.or(f.duration.map(|d| d.0)).unwrap_or(10_000_000_000);
        let trace_interval = f.trace_interval.map_or(100_000_000, |d| d.0);
        b.sim.set_trace_interval(trace_interval);
        Ok(Built { sim: b.sim, duration, out, trace_interval, pcap_files })
    }

    fn add_nodes(&self, b: &mut Builder) -> Result<(), String> {
        for n in &self.file.nodes {
            if b.sim.node_id(n.name.get_ref()).is_some() {
                return self.err(
                    n.name.span(),
                    "name",
                    format!("duplicate node `{}`", n.name.get_ref()),
                );
            }
            let id = b.sim.add_kernel_node(n.name.get_ref());
            let mut all: Vec<(String, String, Range<usize>)> = Vec::new();
            if n.forward {
                all.push(("net.ipv4.ip_forward".into(), "1".into(), n.name.span()));
                all.push(("net.ipv6.conf.all.forwarding".into(), "1".into(), n.name.span()));
            }
            for (k, v) in &n.sysctl {
                let val = match v.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(x) => u8::from(*x).to_string(),
                    other => {
                        return self.err(
                            v.span(),
                            &format!("sysctl.\"{k}\""),
                            format!("unsupported value {other}"),
                        );
                    }
                };
                all.push((k.clone(), val, v.span()));
            }
            let k = b.sim.kernel(id).expect("libos node");
            for (name, val, span) in all {
                // Per-device names only exist once the links are built: retry them then.
                if k.sysctl_set(&name, &val).is_err() {
                    b.pending_sysctl.push((id, name, val, span));
                }
            }
        }
        Ok(())
    }

    fn link_params(
        &self,
        rate: Option<Rate>,
        delay: Option<Duration>,
        queue: Option<usize>,
        mtu: Option<u32>,
    ) -> LinkParams {
        LinkParams {
            rate_bps: rate.map_or(1_000_000_000, |r| r.0),
            delay: delay.map_or(0, |d| d.0),
            limit: QueueLimit::Packets(queue.unwrap_or(100)),
            mtu: mtu.unwrap_or(1500),
            ..Default::default()
        }
    }

    fn add_link(&self, b: &mut Builder, idx: usize, l: &LinkSpec) -> Result<(), String> {
        let na = self.node(b, &l.a, "a")?;
        let nb = self.node(b, &l.b, "b")?;
        if na == nb {
            return self.err(l.b.span(), "b", "a link needs two different nodes");
        }
        let mut p = self.link_params(l.rate, l.delay, l.queue, l.mtu);
        if let Some(qb) = l.queue_bytes {
            p.limit = QueueLimit::Bytes(qb.0 as usize);
        }
        if let Some(m) = &l.mode {
            p.mode = match m.get_ref().as_str() {
                "ethernet" => DevMode::Ethernet,
                "ptp" | "pointopoint" => DevMode::PointToPoint,
                other => {
                    return self.err(
                        m.span(),
                        "mode",
                        format!("`{other}`: expected \"ethernet\" or \"ptp\""),
                    );
                }
            };
        }
        p.rate_reverse = l.rate_reverse.map(|r| r.0);
        let rd = l.reorder_delay.map_or(p.delay.max(1_000_000), |d| d.0);
        p.impair = impairments(l.loss, l.burst_loss, l.reorder, rd, l.duplicate, l.corrupt);
        p.impair.loss_keyed = l.loss_keyed;
        if let Err(e) = p.impair.validate() {
            return self.err(l.a.span(), "link", e);
        }
        if l.loss_keyed && p.mode != DevMode::Ethernet {
            let msg = "`loss_keyed` reads TCP segments in Ethernet frames: not on a ptp link";
            return self.err(l.a.span(), "loss_keyed", msg);
        }
        if let Some(d) = &l.impair_direction {
            let none = Impairments::default();
            match d.get_ref().as_str() {
                "both" => {}
                "a-to-b" => p.impair_reverse = Some(none),
                "b-to-a" => p.impair_reverse = Some(std::mem::replace(&mut p.impair, none)),
                other => {
                    let msg = format!("`{other}`: expected \"both\", \"a-to-b\" or \"b-to-a\"");
                    return self.err(d.span(), "impair_direction", msg);
                }
            }
        }
        let (ia, ib) = b
            .sim
            .add_p2p(na, nb, &p)
            .map_err(|e| format!("line {}: {e}", self.line(l.a.span())))?;
        let (aa, ab) = match (&l.a_addr, &l.b_addr) {
            (None, None) => {
                let (x, y) = auto_subnet(idx);
                ((x, 24), (y, 24))
            }
            (Some(a), Some(bb)) => (self.cidr(a, "a_addr")?, self.cidr(bb, "b_addr")?),
            (Some(a), None) => {
                return self.err(a.span(), "b_addr", "give both a_addr and b_addr, or neither");
            }
            (None, Some(bb)) => {
                return self.err(bb.span(), "a_addr", "give both a_addr and b_addr, or neither");
            }
        };
        for (node, ifindex, (addr, len), span) in
            [(na, ia, aa, l.a.span()), (nb, ib, ab, l.b.span())]
        {
            self.addr_add(b, node, ifindex, addr, len, span)?;
        }
        let v6 = match (&l.a_addr6, &l.b_addr6) {
            (None, None) if self.file.ipv6 => {
                let (x, y) = auto_subnet6(idx);
                Some(((x, 64), (y, 64)))
            }
            (None, None) => None,
            (Some(a), Some(bb)) => Some((self.cidr6(a, "a_addr6")?, self.cidr6(bb, "b_addr6")?)),
            (Some(a), None) => {
                return self.err(a.span(), "b_addr6", "give both a_addr6 and b_addr6, or neither");
            }
            (None, Some(bb)) => {
                return self.err(bb.span(), "a_addr6", "give both a_addr6 and b_addr6, or neither");
            }
        };
        if let Some((aa, ab)) = v6 {
            for (node, ifindex, (addr, len), span) in
                [(na, ia, aa, l.a.span()), (nb, ib, ab, l.b.span())]
            {
                self.addr6_add(b, node, ifindex, addr, len, span)?;
            }
        }
        Ok(())
    }

    fn addr6_add(
        &self,
        b: &mut Builder,
        node: NodeId,
        ifindex: u32,
        addr: Ipv6Addr,
        len: u8,
        span: Range<usize>,
    ) -> Result<(), String> {
        match b.sim.addr6_add(node, ifindex, addr, len, !self.file.dad) {
            Ok(()) => Ok(()),
            Err(e) => self.err(span, "addr6", e),
        }
    }

    fn addr_add(
        &self,
        b: &mut Builder,
        node: NodeId,
        ifindex: u32,
        addr: Ipv4Addr,
        len: u8,
        span: Range<usize>,
    ) -> Result<(), String> {
        match b.sim.addr_add(node, ifindex, addr, len) {
            Ok(()) => Ok(()),
            Err(e) => self.err(span, "addr", e),
        }
    }

    fn add_segment(&self, b: &mut Builder, idx: usize, s: &SegmentSpec) -> Result<(), String> {
        let mut p = self.link_params(s.rate, s.delay, s.queue, s.mtu);
        let rd = s.reorder_delay.map_or(p.delay.max(1_000_000), |d| d.0);
        p.impair = impairments(s.loss, s.burst_loss, s.reorder, rd, s.duplicate, s.corrupt);
        if let Err(e) = p.impair.validate() {
            let span = s.attach.first().map_or(0..0, |a| a.node.span());
            return self.err(span, "segment", e);
        }
        let seg = b.sim.add_segment();
        for (i, a) in s.attach.iter().enumerate() {
            let node = self.node(b, &a.node, "attach.node")?;
            let ifindex = b
                .sim
                .attach(seg, node, &p)
                .map_err(|e| format!("line {}: {e}", self.line(a.node.span())))?;
            let (addr, len) = match &a.addr {
                Some(x) => self.cidr(x, "attach.addr")?,
                None => {
                    let base = u32::from(auto_subnet(idx).0) & !0xff;
                    if i >= 254 {
                        return self.err(
                            a.node.span(),
                            "attach.addr",
                            "more than 254 auto addresses",
                        );
                    }
                    (Ipv4Addr::from(base + i as u32 + 1), 24)
                }
            };
            self.addr_add(b, node, ifindex, addr, len, a.node.span())?;
            let v6 = match &a.addr6 {
                Some(x) => Some(self.cidr6(x, "attach.addr6")?),
                None if self.file.ipv6 => {
                    let base = u128::from(auto_subnet6(idx).0) & !0xffff;
                    Some((Ipv6Addr::from(base + i as u128 + 1), 64))
                }
                None => None,
            };
            if let Some((addr, len)) = v6 {
                self.addr6_add(b, node, ifindex, addr, len, a.node.span())?;
            }
        }
        Ok(())
    }

    fn add_routes(&self, b: &mut Builder) -> Result<(), String> {
        for r in &self.file.routes {
            let node = self.node(b, &r.node, "node")?;
            let via = match &r.via {
                Some(v) => match v.get_ref().parse::<IpAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => {
                        return self.err(
                            v.span(),
                            "via",
                            format!("`{}` is not an IP address", v.get_ref()),
                        );
                    }
                },
                None => None,
            };
            let (dst, len) = match r.dst.get_ref().as_str() {
                "default" if via.is_some_and(|v| v.is_ipv6()) => {
                    (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
                }
                "default" => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                d if d.contains(':') => {
                    let (a, l) = self.cidr6(&r.dst, "dst")?;
                    (IpAddr::V6(a), l)
                }
                _ => {
                    let (a, l) = self.cidr(&r.dst, "dst")?;
                    (IpAddr::V4(a), l)
                }
            };
            if via.is_some_and(|v| v.is_ipv6() != dst.is_ipv6()) {
                return self.err(r.dst.span(), "via", "`dst` and `via` are of different families");
            }
            let oif = match &r.dev {
                Some(d) => match b.sim.nodes[node].dev_by_name(d.get_ref()) {
                    Some(x) => Some(x.ifindex),
                    None => {
                        return self.err(
                            d.span(),
                            "dev",
                            format!("node has no device `{}`", d.get_ref()),
                        );
                    }
                },
                None => None,
            };
            if via.is_none() && oif.is_none() {
                return self.err(r.dst.span(), "via", "a route needs `via` or `dev`");
            }
            if let Err(e) = b.sim.route_add(node, Route::new(dst, len, via, oif)) {
                return self.err(r.dst.span(), "route", e);
            }
        }
        let Some(mode) = &self.file.routing else { return Ok(()) };
        match mode.get_ref().as_str() {
            "static" => Ok(()),
            "auto" => match b.sim.auto_routes() {
                Ok(_) => Ok(()),
                Err(e) => self.err(mode.span(), "routing", format!("auto: {e}")),
            },
            other => self.err(
                mode.span(),
                "routing",
                format!("`{other}`: expected \"static\" or \"auto\""),
            ),
        }
    }

    fn add_pcaps(
        &self,
        b: &mut Builder,
        out: &Path,
        only: Option<&Vec<String>>,
    ) -> Result<Vec<PathBuf>, String> {
        let sel = match (only, &self.file.pcap) {
            (Some(v), _) => Some(v),
            (None, None | Some(PcapSel::All(true))) => None,
            (None, Some(PcapSel::All(false))) => return Ok(Vec::new()),
            (None, Some(PcapSel::Some(v))) => Some(v),
        };
        let dir = out.join("pcap");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files = Vec::new();
        for n in 0..b.sim.nodes.len() {
            let node = &b.sim.nodes[n];
            let devs: Vec<(u32, String)> = node
                .devs
                .iter()
                .filter(|d| {
                    sel.is_none_or(|s| {
                        s.iter()
                            .any(|x| *x == node.name || *x == format!("{}:{}", node.name, d.name))
                    })
                })
                .map(|d| (d.ifindex, format!("{}-{}.pcap", node.name, d.name)))
                .collect();
            for (ifindex, fname) in devs {
                let path = dir.join(fname);
                let w =
                    PcapWriter::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                b.sim.capture(n, ifindex, w)?;
                files.push(path);
            }
        }
        Ok(files)
    }

    /// `ip:port`, `[ip6]:port`, `node:port`, `ip` or `node` (port 0). A node name is its
    /// first IPv4 address, or IPv6 one with `v6` or when it has no IPv4 address.
    fn endpoint(
        &self,
        b: &Builder,
        s: &Spanned<String>,
        field: &str,
        v6: bool,
    ) -> Result<SocketAddr, String> {
        let v = s.get_ref();
        if let Ok(a) = v.parse::<SocketAddr>() {
            return Ok(a);
        }
        if let Ok(a) = v.parse::<IpAddr>() {
            return Ok(SocketAddr::new(a, 0));
        }
        let (host, port) = match v.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h, p),
                Err(_) => return self.err(s.span(), field, format!("bad port in `{v}`")),
            },
            None => (v.as_str(), 0),
        };
        let Some(n) = b.sim.node_id(host) else {
            return self.err(s.span(), field, format!("`{host}` is neither an address nor a node"));
        };
        let a4 = b.sim.node_addr(n).filter(|_| !v6).map(IpAddr::V4);
        match a4.or(b.sim.node_addr6(n).map(IpAddr::V6)) {
            Some(a) => Ok(SocketAddr::new(a, port)),
            None => self.err(s.span(), field, format!("node `{host}` has no address")),
        }
    }

    fn add_app(&self, b: &mut Builder, idx: usize, a: &AppSpec) -> Result<(), String> {
        let node = self.node(b, &a.node, "node")?;
        let kind = a.kind.get_ref().as_str();
        let name = a.name.clone().unwrap_or_else(|| format!("{kind}-{}-{idx}", a.node.get_ref()));
        let need_dst = |f: &str| -> Result<SocketAddr, String> {
            match &a.dst {
                Some(d) => self.endpoint(b, d, "dst", a.ipv6),
                None => self.err(a.kind.span(), "dst", format!("a `{f}` app needs `dst`")),
            }
        };
        let proto = match a.proto.as_ref().map(|p| p.get_ref().as_str()) {
            None | Some("tcp") => Proto::Tcp,
            Some("udp") => Proto::Udp,
            Some(other) => {
                return self.err(
                    a.proto.as_ref().expect("some").span(),
                    "proto",
                    format!("`{other}`: expected \"tcp\" or \"udp\""),
                );
            }
        };
        let port = a.port.unwrap_or(5001);
        // Servers on a node with IPv6 addresses listen on [::], dual-stack (iperf3 -s).
        let any_ip = match b.sim.node_addr6(node) {
            Some(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let any = SocketAddr::new(any_ip, port);
        let interval = a.interval.map_or(1_000_000_000, |d| d.0);
        let app: Box<dyn App> = match kind {
            "bulk" => {
                Box::new(BulkSend::new(&name, need_dst(kind)?, a.bytes.map(|s| s.0), a.cc.clone()))
            }
            "sink" => Box::new(Sink::new(&name, proto, any)),
            "ping" => {
                let d = need_dst(kind)?;
                Box::new(Ping::new(
                    &name,
                    d.ip(),
                    interval,
                    a.count,
                    a.size.map_or(56, |s| s.0 as usize),
                ))
            }
            "udp-echo-server" => {
                Box::new(UdpEchoServer::new(&name, SocketAddr::new(any.ip(), a.port.unwrap_or(7))))
            }
            "udp-echo" => Box::new(UdpEchoClient::new(
                &name,
                need_dst(kind)?,
                interval,
                a.count,
                a.size.map_or(64, |s| s.0 as usize),
            )),
            "onoff" => {
                let mut o = OnOff::new(
                    &name,
                    proto,
                    need_dst(kind)?,
                    a.rate.map_or(1_000_000, |r| r.0),
                    a.size.map_or(1000, |s| s.0 as usize),
                );
                if let Some(on) = a.on {
                    o.on = on.0;
                }
                o.off = a.off.map_or(0, |d| d.0);
                o.cc = a.cc.clone();
                Box::new(o)
            }
            "rr-server" => Box::new(RrServer::new(
                &name,
                any,
                a.request.map_or(100, |s| s.0),
                a.response.map_or(1000, |s| s.0),
            )),
            "rr-client" => {
                let mut c = RrClient::new(
                    &name,
                    need_dst(kind)?,
                    a.request.map_or(100, |s| s.0),
                    a.response.map_or(1000, |s| s.0),
                );
                c.count = a.count;
                c.gap = a.gap.map_or(0, |d| d.0);
                Box::new(c)
            }
            other => {
                return self.err(a.kind.span(), "kind", format!("unknown app kind `{other}` (bulk, sink, onoff, ping, udp-echo-server, udp-echo, rr-server, rr-client)"));
            }
        };
        let start = a.start.map_or(0, |d| d.0);
        let stop = a.stop.map(|d| d.0);
        if stop.is_some_and(|s| s < start) {
            return self.err(a.kind.span(), "stop", "stop is before start");
        }
        b.sim.add_app(node, app, start, stop)?;
        Ok(())
    }
}

struct Builder {
    sim: Sim,
    pending_sysctl: Vec<(NodeId, String, String, Range<usize>)>,
}

fn impairments(
    loss: f64,
    burst: Option<BurstLoss>,
    reorder: f64,
    reorder_delay: u64,
    duplicate: f64,
    corrupt: f64,
) -> Impairments {
    Impairments {
        loss,
        loss_keyed: false,
        burst: burst.map(|g| GilbertElliott {
            p_good_bad: g.p_good_bad,
            p_bad_good: g.p_bad_good,
            loss_good: g.loss_good,
            loss_bad: g.loss_bad,
        }),
        reorder,
        reorder_delay,
        duplicate,
        corrupt,
    }
}

/// The automatic /24 of link or segment `idx`: 10.<hi>.<lo>.0/24 with `idx + 1`.
fn auto_subnet(idx: usize) -> (Ipv4Addr, Ipv4Addr) {
    let n = idx as u32 + 1;
    let base = (10 << 24) | ((n & 0xffff) << 8);
    (Ipv4Addr::from(base | 1), Ipv4Addr::from(base | 2))
}

/// The automatic IPv6 /64 of link or segment `idx`: 2001:db8:<idx + 1>::/64, ::1 and ::2.
fn auto_subnet6(idx: usize) -> (Ipv6Addr, Ipv6Addr) {
    let n = (idx as u128 + 1) & 0xffff;
    let base = (0x2001_0db8u128 << 96) | (n << 80);
    (Ipv6Addr::from(base | 1), Ipv6Addr::from(base | 2))
}

/// "2001:db8::1/64" (a bare address is a /128).
pub fn parse_cidr6(s: &str) -> Option<(Ipv6Addr, u8)> {
    match s.split_once('/') {
        Some((a, l)) => {
            let len: u8 = l.parse().ok()?;
            (len <= 128).then_some(())?;
            Some((a.parse().ok()?, len))
        }
        None => Some((s.parse().ok()?, 128)),
    }
}

/// "10.0.0.1/24" (a bare address is a /32).
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    match s.split_once('/') {
        Some((a, l)) => {
            let len: u8 = l.parse().ok()?;
            (len <= 32).then_some(())?;
            Some((a.parse().ok()?, len))
        }
        None => Some((s.parse().ok()?, 32)),
    }
}

#[cfg(test)]
mod tests;
