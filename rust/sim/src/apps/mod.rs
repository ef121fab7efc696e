//! Traffic applications over the kernel socket API. Apps never block and never spin:
//! they make non-blocking calls and are called back on socket events (`event`) and on
//! their own timer (`timer`, one pending deadline per app, set through `AppCx`).

pub mod bulk;
pub mod onoff;
pub mod pattern;
pub mod ping;
pub mod probes;
pub mod reqresp;
pub mod sink;
pub mod udp_echo;

use crate::stack::Stack;
use libos_kernel::Kernel;
use libos_kernel::uapi::{AF_INET, AF_INET6};
use std::net::SocketAddr;

/// The socket domain for an address: AF_INET6 for IPv6 ones (a `[::]` server is then
/// dual-stack, as Linux with `net.ipv6.bindv6only = 0`).
pub fn family(a: &SocketAddr) -> i32 {
    if a.is_ipv6() { AF_INET6 } else { AF_INET }
}

/// What an app sees of the world during a callback.
pub struct AppCx<'a> {
    pub now: u64,
    pub(crate) stack: &'a mut dyn Stack,
    pub(crate) timer: &'a mut Option<u64>,
    pub(crate) fd_changes: &'a mut Vec<(i32, bool)>,
}

impl AppCx<'_> {
    /// The node's libos kernel (the engine only starts built-in apps on libos nodes).
    pub fn k(&mut self) -> &mut Kernel {
        self.stack.as_kernel().expect("built-in apps run on libos nodes only")
    }

    pub fn stack(&mut self) -> &mut dyn Stack {
        self.stack
    }

    /// Route events of `fd` to this app.
    pub fn own(&mut self, fd: i32) {
        self.fd_changes.push((fd, true));
    }

    /// Closes `fd` and stops routing its events here.
    pub fn close(&mut self, fd: i32) {
        let now = self.now;
        let _ = self.k().close(now, fd);
        self.fd_changes.push((fd, false));
    }

    /// Calls `timer` at `at` (replacing any earlier request).
    pub fn set_timer(&mut self, at: u64) {
        *self.timer = Some(at.max(self.now));
    }
}

/// One sample of a flow for the traces (cwnd/RTT from TCP_INFO, bytes so far).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Congestion window in segments (0 when not TCP).
    pub cwnd: u32,
    pub ssthresh: u32,
    /// Smoothed RTT in microseconds (0 unknown).
    pub rtt_us: u32,
    /// Bytes delivered so far (acked for senders, received for sinks).
    pub bytes: u64,
    pub retrans: u64,
    /// The sender's delivery-rate estimate (`tcpi_delivery_rate`), bytes per second.
    pub delivery_rate: u64,
}

/// The end-of-run summary of one app, a row of the flow table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowReport {
    pub name: String,
    pub kind: &'static str,
    /// Payload bytes delivered (acked for senders, verified for sinks).
    pub bytes: u64,
    /// Active time used for goodput (first to last byte), ns.
    pub active_ns: u64,
    pub retrans: Option<u64>,
    /// (mean, min, max) RTT in microseconds.
    pub rtt_us: Option<(f64, f64, f64)>,
    /// Problems the app found: corrupted bytes, failed connections...
    pub errors: u64,
    pub note: String,
}

impl FlowReport {
    pub fn goodput_mbps(&self) -> f64 {
        if self.active_ns == 0 {
            return 0.0;
        }
        self.bytes as f64 * 8.0 / (self.active_ns as f64 / 1e9) / 1e6
    }
}

/// Min/mean/max accumulator for RTTs (microseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct RttStats {
    pub n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

/// One measured message: (sequence number, send time ns, RTT or latency ns).
pub type Measured = (u64, u64, u64);

/// CSV text of measured messages: `seq,sent_s,rtt_ms`.
pub fn measured_csv(rows: &[Measured]) -> String {
    let mut s = String::from("seq,sent_s,rtt_ms\n");
    for &(seq, sent, rtt) in rows {
        s.push_str(&format!("{seq},{:.9},{:.6}\n", sent as f64 / 1e9, rtt as f64 / 1e6));
    }
    s
}

impl Sample {
    /// A TCP sender's sample from its TCP_INFO; the RTT, when known, also goes into `rtt`.
    pub fn of_tcp(i: &libos_kernel::tcp::TcpInfo, rtt: &mut RttStats) -> Sample {
        if i.rtt > 0 {
            rtt.add(f64::from(i.rtt));
        }
        Sample {
            cwnd: i.snd_cwnd,
            ssthresh: i.snd_ssthresh,
            rtt_us: i.rtt,
            bytes: i.bytes_acked,
            retrans: u64::from(i.total_retrans),
            delivery_rate: i.delivery_rate,
        }
    }
}

/// Closes the TCP socket in `fd` (if any) after a last TCP_INFO, which is returned.
pub fn close_tcp(cx: &mut AppCx<'_>, fd: &mut Option<i32>) -> Option<libos_kernel::tcp::TcpInfo> {
    let fd = fd.take()?;
    let info = cx.k().tcp_info(fd).ok();
    cx.close(fd);
    info
}

impl RttStats {
    pub fn add(&mut self, us: f64) {
        if self.n == 0 || us < self.min {
            self.min = us;
        }
        if self.n == 0 || us > self.max {
            self.max = us;
        }
        self.n += 1;
        self.sum += us;
    }

    pub fn summary(&self) -> Option<(f64, f64, f64)> {
        (self.n > 0).then(|| (self.sum / self.n as f64, self.min, self.max))
    }
}

pub trait App: Send {
    fn start(&mut self, cx: &mut AppCx<'_>);
    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16);
    fn timer(&mut self, _cx: &mut AppCx<'_>) {}
    /// The app's stop time came: stop sending, close what should be closed.
    fn stop(&mut self, _cx: &mut AppCx<'_>) {}
    /// A trace sample (None: this app has no trace).
    fn sample(&mut self, _cx: &mut AppCx<'_>) -> Option<Sample> {
        None
    }
    fn report(&self) -> FlowReport;
    /// Per-message measurements as CSV text with a header line (ping and echo replies,
    /// request/response exchanges), written to `traces/<name>.events.csv`.
    fn events_csv(&self) -> Option<String> {
        None
    }
    /// Whether the app uses `AppCx::k` (the built-in apps do). Apps for another stack
    /// return false and reach their stack through `AppCx::stack().as_any_mut()`.
    fn needs_kernel(&self) -> bool {
        true
    }
}
