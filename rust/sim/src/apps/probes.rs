//! What the probing clients (ping, udp-echo) share: one non-blocking socket, a probe
//! every interval until `count`, and per reply the RTT and a measured row.

use super::{AppCx, Measured, RttStats, measured_csv};

pub struct Probes {
    pub interval: u64,
    pub count: Option<u64>,
    pub fd: Option<i32>,
    /// Probes sent.
    pub seq: u64,
    /// Replies matched to a probe.
    pub received: u64,
    pub rtt: RttStats,
    replies: Vec<Measured>,
    pub error: Option<String>,
}

impl Probes {
    pub fn new(interval: u64, count: Option<u64>) -> Probes {
        Probes {
            interval: interval.max(1),
            count,
            fd: None,
            seq: 0,
            received: 0,
            rtt: RttStats::default(),
            replies: Vec::new(),
            error: None,
        }
    }

    /// `App::start`: opens the socket; the first probe is due on it (then call `next`).
    pub fn open(&mut self, cx: &mut AppCx<'_>, domain: i32, ty: i32, proto: i32) -> Option<i32> {
        match cx.k().socket(domain, ty, proto) {
            Ok(fd) => {
                cx.own(fd);
                self.fd = Some(fd);
                Some(fd)
            }
            Err(e) => {
                self.error = Some(format!("socket: {}", e.name()));
                None
            }
        }
    }

    /// `App::timer`: the socket if another probe is due (then call `next`).
    pub fn due(&self) -> Option<i32> {
        let fd = self.fd?;
        self.count.is_none_or(|c| self.seq < c).then_some(fd)
    }

    /// Arms the timer for the probe after the one just sent.
    pub fn next(&self, cx: &mut AppCx<'_>) {
        cx.set_timer(cx.now + self.interval);
    }

    /// A reply to probe `seq` sent at `sent` came at `now`.
    pub fn reply(&mut self, seq: u64, sent: u64, now: u64) {
        let rtt = now.saturating_sub(sent);
        self.received += 1;
        self.rtt.add(rtt as f64 / 1e3);
        self.replies.push((seq, sent, rtt));
    }

    /// `App::stop`.
    pub fn close(&mut self, cx: &mut AppCx<'_>) {
        if let Some(fd) = self.fd.take() {
            cx.close(fd);
        }
    }

    /// `App::events_csv`.
    pub fn csv(&self) -> String {
        measured_csv(&self.replies)
    }

    /// Ends a report's note with the error, if any.
    pub fn note_error(&self, note: &mut String) {
        if let Some(e) = &self.error {
            note.push_str(&format!(", {e}"));
        }
    }
}

/// A probing client: its probes and how it sends one.
pub trait Prober {
    fn probes(&mut self) -> &mut Probes;

    /// Sends probe number `probes().seq` on `fd` (and counts it).
    fn send_one(&mut self, cx: &mut AppCx<'_>, fd: i32);

    /// `App::start`: opens the socket and sends the first probe.
    fn start_probing(&mut self, cx: &mut AppCx<'_>, domain: i32, ty: i32, proto: i32) {
        if let Some(fd) = self.probes().open(cx, domain, ty, proto) {
            self.send_one(cx, fd);
            self.probes().next(cx);
        }
    }

    /// `App::timer`: the next probe, if `count` allows.
    fn probe_timer(&mut self, cx: &mut AppCx<'_>) {
        if let Some(fd) = self.probes().due() {
            self.send_one(cx, fd);
            self.probes().next(cx);
        }
    }
}
