//! The simulator core: nodes (one `Stack` each), channels, switches and apps driven by
//! one deterministic event queue.
//!
//! Each node has exactly one live wake-up in the queue while it has a deadline, at or
//! before its `next_deadline`: an earlier deadline bumps the node's generation and the
//! old entry is skipped when popped (lazy invalidation); a later one keeps the early
//! entry, which then just re-arms. So an event costs O(log N) whatever the number of
//! nodes, and no event ever sweeps them.
//! After every call into a stack the engine drains `poll_transmit` (frames go to the
//! device's channel), then `poll_event` (the app owning the fd is called with the mask as
//! it is now), repeats until both are empty, and finally re-reads `next_deadline`.

use crate::apps::{App, AppCx, FlowReport, Sample};
use crate::channel::{Channel, Departure, QueueLimit, Target};
use crate::engine::EventQueue;
use crate::impair::{Impairer, Impairments, stream_seed};
use crate::pcap::PcapWriter;
use crate::routes::{self, Member, Network};
use crate::stack::{DevMode, Stack};
use bytes::Bytes;
use libos_kernel::{Kernel, KernelConfig, Route};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub type NodeId = usize;
pub type AppId = usize;

/// Stream tags for `stream_seed`.
const TAG_NODE: u64 = 1;
const TAG_CHAN: u64 = 2;

#[derive(Debug)]
enum Ev {
    Wake {
        node: NodeId,
        generation: u64,
    },
    Arrive {
        target: Target,
        frame: Bytes,
    },
    /// The head of channel `chan`'s in-order frames on the wire arrives.
    Land {
        chan: usize,
    },
    TxDone {
        chan: usize,
    },
    AppStart {
        app: AppId,
    },
    AppStop {
        app: AppId,
    },
    AppTimer {
        app: AppId,
        generation: u64,
    },
    Sample,
}

/// A device as the engine knows it.
#[derive(Debug, Clone)]
pub struct DevInfo {
    pub ifindex: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// Outgoing channel.
    pub chan: usize,
    /// Index into `Sim::pcaps`.
    pub pcap: Option<usize>,
    /// The L2 domain (p2p link or segment) the device is on.
    pub domain: usize,
}

pub struct Node {
    pub name: String,
    pub stack: Box<dyn Stack>,
    pub devs: Vec<DevInfo>,
    /// ifindex -> position in `devs`.
    by_ifindex: BTreeMap<u32, usize>,
    wake_gen: u64,
    wake_at: Option<u64>,
    fd_owner: BTreeMap<i32, AppId>,
}

impl Node {
    pub fn dev(&self, ifindex: u32) -> Option<&DevInfo> {
        self.by_ifindex.get(&ifindex).map(|&i| &self.devs[i])
    }

    pub fn dev_by_name(&self, name: &str) -> Option<&DevInfo> {
        self.devs.iter().find(|d| d.name == name)
    }
}

struct AppSlot {
    node: NodeId,
    app: Box<dyn App>,
    timer_gen: u64,
    started: bool,
    running: bool,
    trace: Vec<(u64, Sample)>,
}

/// A learning switch joining the ports of a shared segment.
struct Switch {
    domain: usize,
    /// Downlink channel (switch -> host) per port.
    downlinks: Vec<usize>,
    table: BTreeMap<[u8; 6], usize>,
}

/// Parameters of a point-to-point link or of a segment's ports.
#[derive(Debug, Clone)]
pub struct LinkParams {
    pub rate_bps: u64,
    /// Rate of the b->a direction of a point-to-point link, when different.
    pub rate_reverse: Option<u64>,
    /// One-way propagation delay, ns.
    pub delay: u64,
    pub limit: QueueLimit,
    /// Impairments of the a->b direction (and of b->a unless `impair_reverse` is set).
    pub impair: Impairments,
    /// Impairments of the b->a direction, when different.
    pub impair_reverse: Option<Impairments>,
    pub mode: DevMode,
    pub mtu: u32,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            rate_bps: 1_000_000_000,
            rate_reverse: None,
            delay: 0,
            limit: QueueLimit::default(),
            impair: Impairments::default(),
            impair_reverse: None,
            mode: DevMode::Ethernet,
            mtu: 1500,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SimStats {
    pub events: u64,
    pub stale_wakes: u64,
    pub frames_delivered: u64,
    pub no_channel_drops: u64,
}

pub struct Sim {
    pub seed: u64,
    now: u64,
    queue: EventQueue<Ev>,
    pub nodes: Vec<Node>,
    by_name: BTreeMap<String, NodeId>,
    pub chans: Vec<Channel>,
    switches: Vec<Switch>,
    apps: Vec<AppSlot>,
    pub pcaps: Vec<(String, PcapWriter)>,
    next_mac: u32,
    domains: usize,
    /// Addresses given through `addr_add`/`addr6_add`: (L2 domain, member, prefix length).
    addrs: Vec<(usize, Member, u8)>,
    pub stats: SimStats,
    trace_interval: Option<u64>,
    /// Called with the virtual time every few thousand events (progress bars).
    pub progress: Option<Box<dyn FnMut(u64)>>,
    scratch: Vec<(i32, u16)>,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        Sim {
            seed,
            now: 0,
            queue: EventQueue::default(),
            nodes: Vec::new(),
            by_name: BTreeMap::new(),
            chans: Vec::new(),
            switches: Vec::new(),
            apps: Vec::new(),
            pcaps: Vec::new(),
            next_mac: 1,
            domains: 0,
            addrs: Vec::new(),
            stats: SimStats::default(),
            trace_interval: None,
            progress: None,
            scratch: Vec::new(),
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    // ---- building ------------------------------------------------------------------

    pub fn add_node(&mut self, name: &str, stack: Box<dyn Stack>) -> NodeId {
        self.nodes.push(Node {
            name: name.to_string(),
            stack,
            devs: Vec::new(),
            by_ifindex: BTreeMap::new(),
            wake_gen: 0,
            wake_at: None,
            fd_owner: BTreeMap::new(),
        });
        let id = self.nodes.len() - 1;
        self.by_name.entry(name.to_string()).or_insert(id);
        self.reschedule(id);
        id
    }

    /// A libos kernel node whose PRNG seed derives from the scenario seed and its index.
    pub fn add_kernel_node(&mut self, name: &str) -> NodeId {
        let seed = stream_seed(self.seed, TAG_NODE, self.nodes.len() as u64);
        self.add_node(name, Box::new(Kernel::new(KernelConfig { seed })))
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub fn kernel(&mut self, node: NodeId) -> Option<&mut Kernel> {
        self.nodes.get_mut(node)?.stack.as_kernel()
    }

    fn new_chan(&mut self, p: &LinkParams, target: Target) -> usize {
        let id = self.chans.len();
        let seed = stream_seed(self.seed, TAG_CHAN, id as u64);
        let im = Impairer::new(p.impair.clone(), seed, self.seed);
        self.chans.push(Channel::new(p.rate_bps, p.delay, p.limit, target, im));
        id
    }

    fn add_dev(
        &mut self,
        node: NodeId,
        chan: usize,
        domain: usize,
        p: &LinkParams,
    ) -> Result<u32, String> {
        let n = &mut self.nodes[node];
        let name = format!("eth{}", n.devs.len());
        let m = self.next_mac.to_be_bytes();
        self.next_mac += 1;
        let mac = [0x02, 0x00, m[0], m[1], m[2], m[3]];
        let ifindex = n.stack.add_device(self.now, &name, mac, p.mtu, p.mode)?;
        n.by_ifindex.insert(ifindex, n.devs.len());
        n.devs.push(DevInfo { ifindex, name, mac, chan, pcap: None, domain });
        self.service(node);
        Ok(ifindex)
    }

    /// A point-to-point link; returns the new devices' ifindexes on `a` and `b`.
    pub fn add_p2p(&mut self, a: NodeId, b: NodeId, p: &LinkParams) -> Result<(u32, u32), String> {
        if a == b {
            return Err("a link needs two different nodes".into());
        }
        let ab = self.new_chan(p, Target::Node { node: b, ifindex: 0 });
        let rev = LinkParams {
            rate_bps: p.rate_reverse.unwrap_or(p.rate_bps),
            impair: p.impair_reverse.clone().unwrap_or(p.impair.clone()),
            ..p.clone()
        };
        let ba = self.new_chan(&rev, Target::Node { node: a, ifindex: 0 });
        self.domains += 1;
        let ia = self.add_dev(a, ab, self.domains - 1, p)?;
        let ib = self.add_dev(b, ba, self.domains - 1, p)?;
        self.chans[ab].target = Target::Node { node: b, ifindex: ib };
        self.chans[ba].target = Target::Node { node: a, ifindex: ia };
        Ok((ia, ib))
    }

    /// A switched Ethernet segment; hosts join it with `attach`.
    pub fn add_segment(&mut self) -> usize {
        self.domains += 1;
        let domain = self.domains - 1;
        self.switches.push(Switch { domain, downlinks: Vec::new(), table: BTreeMap::new() });
        self.switches.len() - 1
    }

    /// Attaches `node` to segment `seg` through a port with parameters `p` (the uplink
    /// carries the propagation delay, the downlink only serialization).
    pub fn attach(&mut self, seg: usize, node: NodeId, p: &LinkParams) -> Result<u32, String> {
        let port = self.switches[seg].downlinks.len();
        let up = self.new_chan(p, Target::Switch { seg, port });
        let down_p = LinkParams { delay: 0, ..p.clone() };
        let down = self.new_chan(&down_p, Target::Node { node, ifindex: 0 });
        self.switches[seg].downlinks.push(down);
        let ifindex = self.add_dev(node, up, self.switches[seg].domain, p)?;
        self.chans[down].target = Target::Node { node, ifindex };
        Ok(ifindex)
    }

    /// `ip addr add addr/len dev ifindex` on a libos node, remembered for `auto_routes`
    /// and `node_addr`.
    pub fn addr_add(
        &mut self,
        node: NodeId,
        ifindex: u32,
        addr: Ipv4Addr,
        len: u8,
    ) -> Result<(), String> {
        self.addr_add_ip(node, ifindex, IpAddr::V4(addr), len, false)
    }

    /// `ip -6 addr add addr/len dev ifindex [nodad]` on a libos node. Without `nodad`
    /// the address is tentative until DAD ends (about 1-2 s, as on Linux: an app bound
    /// to it before gets EADDRNOTAVAIL); with it the address is usable at once.
    pub fn addr6_add(
        &mut self,
        node: NodeId,
        ifindex: u32,
        addr: Ipv6Addr,
        len: u8,
        nodad: bool,
    ) -> Result<(), String> {
        self.addr_add_ip(node, ifindex, IpAddr::V6(addr), len, nodad)
    }

    fn addr_add_ip(
        &mut self,
        node: NodeId,
        ifindex: u32,
        addr: IpAddr,
        len: u8,
        nodad: bool,
    ) -> Result<(), String> {
        let now = self.now;
        let n = &mut self.nodes[node];
        let dev = n.dev(ifindex).ok_or_else(|| format!("{}: no device {ifindex}", n.name))?;
        let domain = dev.domain;
        let k = n.stack.as_kernel().ok_or_else(|| format!("{} is not a libos node", n.name))?;
        let r = match addr {
            IpAddr::V6(a) => k.addr6_add(now, ifindex, a, len, nodad),
            IpAddr::V4(_) => k.addr_add(now, ifindex, addr, len),
        };
        r.map_err(|e| format!("{}: adding {addr}/{len}: {e:?}", n.name))?;
        self.addrs.push((domain, Member { node, ifindex, addr }, len));
        self.service(node);
        Ok(())
    }

    /// The first IPv4 address given to `node` through `addr_add`.
    pub fn node_addr(&self, node: NodeId) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|(_, m, _)| match m.addr {
            IpAddr::V4(a) if m.node == node => Some(a),
            _ => None,
        })
    }

    /// The first IPv6 address given to `node` through `addr6_add`.
    pub fn node_addr6(&self, node: NodeId) -> Option<Ipv6Addr> {
        self.addrs.iter().find_map(|(_, m, _)| match m.addr {
            IpAddr::V6(a) if m.node == node => Some(a),
            _ => None,
        })
    }

    /// The IP networks of one family: one per L2 domain that has addresses of it (its
    /// first address's prefix).
    pub fn networks(&self, v6: bool) -> Vec<Network> {
        let mut by_domain: BTreeMap<usize, Network> = BTreeMap::new();
        for &(d, m, len) in self.addrs.iter().filter(|(_, m, _)| m.addr.is_ipv6() == v6) {
            let net = by_domain.entry(d).or_insert_with(|| Network {
                prefix: match m.addr {
                    IpAddr::V4(a) => {
                        IpAddr::V4((u32::from(a) & libos_kernel::dev::prefix_mask(len)).into())
                    }
                    IpAddr::V6(a) => {
                        IpAddr::V6((u128::from(a) & libos_kernel::route::prefix_mask6(len)).into())
                    }
                },
                len,
                members: Vec::new(),
            });
            net.members.push(m);
        }
        by_domain.into_values().collect()
    }

    /// Installs shortest-path static routes on every libos node (see `routes`), transiting
    /// only nodes whose `net.ipv4.ip_forward` (IPv6: `net.ipv6.conf.all.forwarding`) is 1.
    /// Returns how many routes were added.
    pub fn auto_routes(&mut self) -> Result<usize, String> {
        let mut added = 0;
        for (v6, knob) in [(false, "net.ipv4.ip_forward"), (true, "net.ipv6.conf.all.forwarding")] {
            let forwards: Vec<bool> = (0..self.nodes.len())
                .map(|n| {
                    let k = self.nodes[n].stack.as_kernel();
                    k.and_then(|k| k.sysctl_get(knob).ok()).is_some_and(|v| v.trim() == "1")
                })
                .collect();
            let routes = routes::compute(self.nodes.len(), &forwards, &self.networks(v6));
            for r in &routes {
                let n = &mut self.nodes[r.node];
                let Some(k) = n.stack.as_kernel() else { continue };
                let route = Route::new(r.dst, r.len, Some(r.via), Some(r.oif));
                k.route_add(route).map_err(|e| {
                    format!("{}: route {}/{} via {}: {e:?}", n.name, r.dst, r.len, r.via)
                })?;
            }
            added += routes.len();
        }
        Ok(added)
    }

    /// `ip route add` (IPv4) or `ip -6 route add` (IPv6) on a libos node.
    pub fn route_add(&mut self, node: NodeId, route: Route) -> Result<(), String> {
        let n = &mut self.nodes[node];
        let k = n.stack.as_kernel().ok_or_else(|| format!("{} is not a libos node", n.name))?;
        k.route_add(route).map_err(|e| format!("{e:?}"))?;
        self.service(node);
        Ok(())
    }

    /// Captures the frames `node` sends and receives on `ifindex`.
    pub fn capture(&mut self, node: NodeId, ifindex: u32, w: PcapWriter) -> Result<(), String> {
        let n = &mut self.nodes[node];
        let i = *n.by_ifindex.get(&ifindex).ok_or("no such device")?;
        let label = format!("{}-{}", n.name, n.devs[i].name);
        self.pcaps.push((label, w));
        n.devs[i].pcap = Some(self.pcaps.len() - 1);
        Ok(())
    }

    /// Adds an app on `node`, started at `start` and stopped at `stop`.
    pub fn add_app(
        &mut self,
        node: NodeId,
        app: Box<dyn App>,
        start: u64,
        stop: Option<u64>,
    ) -> Result<AppId, String> {
        if app.needs_kernel() && self.nodes[node].stack.as_kernel().is_none() {
            return Err(format!("node {} is not a libos node", self.nodes[node].name));
        }
        self.apps.push(AppSlot {
            node,
            app,
            timer_gen: 0,
            started: false,
            running: false,
            trace: Vec::new(),
        });
        let id = self.apps.len() - 1;
        self.queue.push(start.max(self.now), Ev::AppStart { app: id });
        if let Some(t) = stop {
            self.queue.push(t.max(start), Ev::AppStop { app: id });
        }
        Ok(id)
    }

    /// Samples every app's trace every `interval` ns from now on.
    pub fn set_trace_interval(&mut self, interval: u64) {
        if interval > 0 && self.trace_interval.is_none() {
            self.queue.push(self.now, Ev::Sample);
        }
        self.trace_interval = (interval > 0).then_some(interval);
    }

    // ---- running -------------------------------------------------------------------

    /// Runs every event up to and including time `end`; virtual time is `end` after.
    pub fn run_until(&mut self, end: u64) {
        while let Some(t) = self.queue.peek_time() {
            if t > end {
                break;
            }
            let (t, ev) = self.queue.pop().expect("peeked");
            self.now = t;
            self.stats.events += 1;
            if self.stats.events & 0xfff == 0
                && let Some(p) = self.progress.as_mut()
            {
                p(t);
            }
            self.dispatch(ev);
        }
        self.now = self.now.max(end);
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Wake { node, generation } => {
                let n = &mut self.nodes[node];
                if n.wake_gen != generation {
                    self.stats.stale_wakes += 1;
                    return;
                }
                n.wake_at = None;
                // The entry may be early: deadlines that moved later keep their old
                // entry (see `reschedule`), and then there is nothing to run yet.
                if n.stack.next_deadline().is_some_and(|d| d <= self.now) {
                    n.stack.advance(self.now);
                    self.service(node);
                } else {
                    self.reschedule(node);
                }
            }
            Ev::Arrive { target, frame } => self.arrive(target, frame),
            Ev::Land { chan } => {
                if let Some((frame, next)) = self.chans[chan].land() {
                    if let Some(t) = next {
                        self.queue.push(t, Ev::Land { chan });
                    }
                    self.arrive(self.chans[chan].target, frame);
                }
            }
            Ev::TxDone { chan } => {
                if let Some(d) = self.chans[chan].tx_done(self.now) {
                    self.depart(chan, d);
                }
            }
            Ev::AppStart { app } => {
                self.apps[app].running = true;
                self.apps[app].started = true;
                self.call_app(app, |a, cx| a.start(cx));
            }
            Ev::AppStop { app } => {
                if self.apps[app].running {
                    self.apps[app].running = false;
                    self.call_app(app, |a, cx| a.stop(cx));
                }
            }
            Ev::AppTimer { app, generation } => {
                if self.apps[app].timer_gen == generation && self.apps[app].running {
                    self.call_app(app, |a, cx| a.timer(cx));
                }
            }
            Ev::Sample => self.sample_all(),
        }
    }

    fn sample_all(&mut self) {
        for a in 0..self.apps.len() {
            if !self.apps[a].running {
                continue;
            }
            let mut s = None;
            self.call_app(a, |app, cx| s = app.sample(cx));
            if let Some(s) = s {
                let now = self.now;
                self.apps[a].trace.push((now, s));
            }
        }
        if let Some(i) = self.trace_interval {
            self.queue.push(self.now + i, Ev::Sample);
        }
    }

    /// Calls into an app, then services its node.
    fn call_app(&mut self, app: AppId, f: impl FnOnce(&mut dyn App, &mut AppCx<'_>)) {
        self.invoke(app, f);
        self.service(self.apps[app].node);
    }

    /// Calls into an app and applies its fd-ownership and timer requests.
    fn invoke(&mut self, app: AppId, f: impl FnOnce(&mut dyn App, &mut AppCx<'_>)) {
        let node = self.apps[app].node;
        let mut timer = None;
        let mut fd_changes = Vec::new();
        {
            let slot = &mut self.apps[app];
            let mut cx = AppCx {
                now: self.now,
                stack: &mut *self.nodes[node].stack,
                timer: &mut timer,
                fd_changes: &mut fd_changes,
            };
            f(&mut *slot.app, &mut cx);
        }
        for (fd, own) in fd_changes {
            let owners = &mut self.nodes[node].fd_owner;
            if own {
                owners.insert(fd, app);
            } else if owners.get(&fd) == Some(&app) {
                owners.remove(&fd);
            }
        }
        if let Some(at) = timer {
            let slot = &mut self.apps[app];
            slot.timer_gen += 1;
            self.queue.push(at, Ev::AppTimer { app, generation: slot.timer_gen });
        }
    }

    /// Drains a node's output after any call into it, then reschedules its wake-up.
    fn service(&mut self, node: NodeId) {
        // Bounded so that a livelocked stack or app cannot hang the run.
        for round in 0..100_000 {
            if round == 99_999 {
                tracing::warn!(target: "libos_sim", node = %self.nodes[node].name, "event storm: gave up draining");
            }
            while let Some((ifindex, frame)) = self.nodes[node].stack.poll_transmit() {
                self.node_tx(node, ifindex, frame);
            }
            let mut evs = std::mem::take(&mut self.scratch);
            while let Some(e) = self.nodes[node].stack.poll_event() {
                evs.push(e);
            }
            if evs.is_empty() {
                self.scratch = evs;
                break;
            }
            for (fd, revents) in evs.drain(..) {
                if let Some(&app) = self.nodes[node].fd_owner.get(&fd) {
                    // The event may be stale (queued before later calls in the same
                    // entry point): hand the app the mask as it is now.
                    let revents = self.nodes[node].stack.poll_fd(fd).unwrap_or(revents);
                    self.invoke(app, |a, cx| a.event(cx, fd, revents));
                }
            }
            self.scratch = evs;
        }
        self.reschedule(node);
    }

    /// Keeps exactly one live wake-up per node, at or before its current deadline.
    /// A deadline that moves later (a TCP RTO re-armed by every ACK) keeps the earlier
    /// entry, which then only reschedules; a deadline that moves earlier gets a new
    /// entry and the old one goes stale. So the heap holds O(nodes) entries, not one
    /// per timer change.
    fn reschedule(&mut self, node: NodeId) {
        let n = &mut self.nodes[node];
        let d = n.stack.next_deadline().map(|t| t.max(self.now));
        match (d, n.wake_at) {
            (_, Some(w)) if d.is_none_or(|d| d >= w) => return,
            (None, None) => return,
            _ => {}
        }
        n.wake_gen += 1;
        n.wake_at = d;
        if let Some(t) = d {
            self.queue.push(t, Ev::Wake { node, generation: n.wake_gen });
        }
    }

    fn capture_frame(&mut self, node: NodeId, ifindex: u32, frame: &[u8]) {
        if let Some(p) = self.nodes[node].dev(ifindex).and_then(|d| d.pcap) {
            self.pcaps[p].1.write(self.now, frame);
        }
    }

    fn node_tx(&mut self, node: NodeId, ifindex: u32, frame: Bytes) {
        let Some(chan) = self.nodes[node].dev(ifindex).map(|d| d.chan) else {
            self.stats.no_channel_drops += 1;
            return;
        };
        self.capture_frame(node, ifindex, &frame);
        match self.chans[chan].enqueue(self.now, frame) {
            Ok(Some(d)) => self.depart(chan, d),
            Ok(None) => {}
            Err(_) => {
                tracing::trace!(target: "libos_sim::link", chan, node = %self.nodes[node].name, "queue full, frame dropped")
            }
        }
    }

    fn depart(&mut self, chan: usize, d: Departure) {
        self.queue.push(d.done, Ev::TxDone { chan });
        let target = self.chans[chan].target;
        let [first, dup] = d.arrivals;
        if let Some((at, frame)) = first {
            if !d.in_order {
                self.queue.push(at, Ev::Arrive { target, frame });
            } else if self.chans[chan].fly(at, frame) {
                self.queue.push(at, Ev::Land { chan });
            }
        }
        if let Some((at, frame)) = dup {
            self.queue.push(at, Ev::Arrive { target, frame });
        }
    }

    fn arrive(&mut self, target: Target, frame: Bytes) {
        match target {
            Target::Node { node, ifindex } => {
                self.stats.frames_delivered += 1;
                self.capture_frame(node, ifindex, &frame);
                self.nodes[node].stack.dev_rx(self.now, ifindex, &frame);
                self.service(node);
            }
            Target::Switch { seg, port } => self.switch_input(seg, port, frame),
        }
    }

    /// Learning switch: learn the source port, forward known unicast, flood the rest.
    fn switch_input(&mut self, seg: usize, port: usize, frame: Bytes) {
        if frame.len() < 14 {
            return;
        }
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        src.copy_from_slice(&frame[6..12]);
        let sw = &mut self.switches[seg];
        if src[0] & 1 == 0 {
            sw.table.insert(src, port);
        }
        let out: Vec<usize> = match sw.table.get(&dst) {
            Some(&p) if dst[0] & 1 == 0 => {
                if p == port {
                    return;
                }
                vec![sw.downlinks[p]]
            }
            _ => sw
                .downlinks
                .iter()
                .enumerate()
                .filter(|(p, _)| *p != port)
                .map(|(_, c)| *c)
                .collect(),
        };
        for chan in out {
            if let Ok(Some(d)) = self.chans[chan].enqueue(self.now, frame.clone()) {
                self.depart(chan, d);
            }
        }
    }

    // ---- results -------------------------------------------------------------------

    /// One row per app. Running apps take a last sample first (fresh TCP_INFO), so the
    /// numbers are those of now even without a trace interval.
    pub fn reports(&mut self) -> Vec<FlowReport> {
        for a in 0..self.apps.len() {
            if self.apps[a].running {
                self.call_app(a, |app, cx| {
                    app.sample(cx);
                });
            }
        }
        let report = |a: &AppSlot| {
            let mut r = a.app.report();
            if !a.started {
                r.note = "not started (starts after the end of the run)".into();
            }
            r
        };
        self.apps.iter().map(report).collect()
    }

    /// A label per channel: "node:dev" for a device's transmit side, "segN->node:dev"
    /// for a switch port's.
    pub fn channel_labels(&self) -> Vec<String> {
        let mut labels = vec![String::new(); self.chans.len()];
        for n in &self.nodes {
            for d in &n.devs {
                labels[d.chan] = format!("{}:{}", n.name, d.name);
            }
        }
        for (i, sw) in self.switches.iter().enumerate() {
            for &c in &sw.downlinks {
                if let Target::Node { node, ifindex } = self.chans[c].target {
                    let n = &self.nodes[node];
                    let dev = n.dev(ifindex).map_or("?", |d| d.name.as_str());
                    labels[c] = format!("seg{i}->{}:{dev}", n.name);
                }
            }
        }
        labels
    }

    /// (app report name, CSV text) per app with per-message measurements.
    pub fn events_csv(&self) -> Vec<(String, String)> {
        let rows =
            self.apps.iter().filter_map(|a| Some((a.app.report().name, a.app.events_csv()?)));
        rows.collect()
    }

    /// (app report name, samples) per app that produced a trace.
    pub fn traces(&self) -> Vec<(String, &[(u64, Sample)])> {
        self.apps
            .iter()
            .filter(|a| !a.trace.is_empty())
            .map(|a| (a.app.report().name, a.trace.as_slice()))
            .collect()
    }

    pub fn app_mut(&mut self, app: AppId) -> &mut dyn App {
        &mut *self.apps[app].app
    }

    /// Flushes every pcap file.
    pub fn finish(&mut self) -> std::io::Result<()> {
        for (_, w) in &mut self.pcaps {
            w.flush()?;
        }
        Ok(())
    }

    /// Live wake-up entries for `node` in the queue (tests: must be 0 or 1).
    pub fn live_wakes(&self, node: NodeId) -> usize {
        let g = self.nodes[node].wake_gen;
        self.queue
            .iter()
            .filter(|(_, e)| matches!(e, Ev::Wake { node: n, generation } if *n == node && *generation == g))
            .count()
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests;
