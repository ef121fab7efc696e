//! libos-sim: the embedded deterministic simulator host for libos.
//!
//! - [`engine`]: the (time, seq) event queue; [`sim::Sim`]: nodes, links, apps.
//! - [`channel`], [`impair`]: link directions with rate, delay, drop-tail queue and
//!   seeded loss/burst-loss/reorder/duplicate/corrupt impairments; [`seq_loss`]: loss
//!   keyed on where TCP segments end in their stream, so two runs with one seed lose the
//!   same data.
//! - [`stack::Stack`]: the node abstraction (libos `Kernel`, or an adapter).
//! - [`apps`]: bulk, sink, on-off, ping, UDP echo, request/response.
//! - [`scenario`]: TOML scenarios and the run driver; [`output`]: tables, CSV, plots.
//!
//! # Builder API
//!
//! Scenario files are one way in; the same topology can be built in Rust:
//!
//! ```no_run
//! use libos_sim::apps::{bulk::BulkSend, sink::{Proto, Sink}};
//! use libos_sim::{LinkParams, Sim};
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//!
//! let mut sim = Sim::new(42); // the seed of every node and link PRNG
//! let (h1, h2) = (sim.add_kernel_node("h1"), sim.add_kernel_node("h2"));
//! let p = LinkParams { rate_bps: 10_000_000, delay: 10_000_000, ..Default::default() };
//! let (if1, if2) = sim.add_p2p(h1, h2, &p).unwrap();
//! let ip = |d| Ipv4Addr::new(10, 0, 0, d);
//! sim.addr_add(h1, if1, ip(1), 24).unwrap();
//! sim.addr_add(h2, if2, ip(2), 24).unwrap();
//! sim.auto_routes().unwrap(); // shortest-path static routes (none needed here)
//! let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5001);
//! sim.add_app(h2, Box::new(Sink::new("sink", Proto::Tcp, any)), 0, None).unwrap();
//! let bulk = BulkSend::new("bulk", SocketAddr::new(ip(2).into(), 5001), Some(1_000_000), None);
//! sim.add_app(h1, Box::new(bulk), 0, None).unwrap();
//! sim.set_trace_interval(100_000_000);
//! sim.run_until(10_000_000_000);
//! print!("{}", libos_sim::output::table(&sim.reports()));
//! ```
//!
//! IPv6: `sim.addr6_add(h1, if1, "2001:db8::1".parse().unwrap(), 64, true)` (the last
//! argument is `nodad`), `sim.route_add(node, Route::new(...))` for either family; apps
//! aimed at an IPv6 `SocketAddr` open AF_INET6 sockets.

pub mod apps;
pub mod channel;
pub mod engine;
pub mod impair;
pub mod pcap;
pub mod seq_loss;
pub mod sim;
pub mod stack;
pub mod units;

pub use sim::{LinkParams, NodeId, Sim};
pub use stack::{DevMode, Stack};
pub mod output;
pub mod plot;
pub mod routes;
pub mod run;
pub mod scenario;
