//! The real-time host: one libos `Kernel` behind a mutex, a background thread that reads
//! every device and fires the kernel's timers at `next_deadline()` on CLOCK_MONOTONIC,
//! and a condition variable on which blocking socket calls park until the kernel reports
//! a readiness change (or their timeout passes).
//!
//! Callers use `lock()`, make kernel calls on `State::k`, then `flush()`: frames go out,
//! readiness events wake waiters, and the timer thread is woken if the kernel now needs
//! it earlier than it planned to wake.

use crate::config::{ConfError, Config};
use crate::device::HostDevice;
use crate::sys;
use libos_kernel::{DeviceConfig, Fd, IfIndex, Kernel, KernelConfig, Route};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Longest a parked caller sleeps without re-checking its sockets itself.
pub const RECHECK_NS: u64 = 250_000_000;

/// Why `Nuse::wait` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The kernel reported a readiness change.
    Event,
    /// `RECHECK_NS` passed with no event: look again.
    Recheck,
    /// The caller's deadline passed.
    Deadline,
}

/// What the host keeps per libos socket besides the kernel's own state.
#[derive(Debug, Clone, Default)]
pub struct SockMeta {
    /// Host fds (dups) referring to this socket; closed in the kernel at zero.
    pub refs: u32,
    /// SO_RCVTIMEO / SO_SNDTIMEO in ns (None: block forever).
    pub rcvtimeo: Option<u64>,
    pub sndtimeo: Option<u64>,
    pub ty: i32,
}

pub struct State {
    pub k: Kernel,
    pub meta: BTreeMap<Fd, SockMeta>,
    devs: Vec<(IfIndex, HostDevice)>,
    /// When the timer thread will next wake on its own.
    sleep_until: u64,
    /// eventfds of threads blocked in a host poll that mixes host and libos fds.
    waiters: Vec<RawFd>,
    /// Bumped on every batch of readiness events.
    pub generation: u64,
    /// Where device frames are read into.
    rx_buf: Vec<u8>,
}

pub struct Nuse {
    st: Mutex<State>,
    cond: Condvar,
    /// Wakes the timer thread (an eventfd).
    wake_fd: RawFd,
    base: u64,
}

/// Why the instance could not start.
#[derive(Debug)]
pub enum StartError {
    Config(ConfError),
    Device { name: String, line: usize, err: std::io::Error },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "{e}"),
            StartError::Device { name, line, err } => {
                let hint = match err.raw_os_error() {
                    Some(libc::EPERM | libc::EACCES) => {
                        " (TAP and RAW devices need CAP_NET_ADMIN/CAP_NET_RAW: run as root, or use viftype PIPE)"
                    }
                    Some(libc::ENODEV) => " (no such host interface for viftype RAW)",
                    Some(libc::EBUSY) => " (the TAP is attached by another process)",
                    _ => "",
                };
                write!(f, "line {line}: cannot open device {name}: {err}{hint}")
            }
        }
    }
}

fn conf_err(line: usize, what: &str, e: libos_kernel::Errno) -> StartError {
    StartError::Config(ConfError { line, msg: format!("{what}: {e}") })
}

/// Builds a kernel as `cfg` describes, opening host devices with `open`.
fn build(
    cfg: &Config,
    open: &mut dyn FnMut(&crate::config::IfaceConf) -> std::io::Result<HostDevice>,
) -> Result<(Kernel, Vec<(IfIndex, HostDevice)>), StartError> {
    let seed =
        cfg.seed.unwrap_or_else(|| sys::monotonic_ns() ^ u64::from(std::process::id()) << 32);
    let mut k = Kernel::new(KernelConfig { seed });
    // Sysctls naming a device of the file (net.ipv6.conf.tap0.accept_dad) are applied
    // once it exists, before its link is up; the others first.
    let names_dev =
        |name: &str| cfg.ifaces.iter().any(|i| name.split(['.', '/']).any(|part| part == i.name));
    let sysctl = |k: &mut Kernel, (name, value, line): &(String, String, usize)| {
        k.sysctl_set(name, value).map_err(|e| conf_err(*line, &format!("sysctl {name}"), e))
    };
    for s in cfg.sysctls.iter().filter(|s| !names_dev(&s.0)) {
        sysctl(&mut k, s)?;
    }
    let mut devs = Vec::new();
    for i in &cfg.ifaces {
        let dev = open(i).map_err(|err| StartError::Device {
            name: i.name.clone(),
            line: i.line,
            err,
        })?;
        let mut dc = DeviceConfig::ethernet(&i.name, i.mac);
        if let Some(m) = i.mtu {
            dc.mtu = m;
        }
        let ifindex = k.dev_add(dc).map_err(|e| conf_err(i.line, "interface", e))?;
        let own = |s: &&(String, String, usize)| s.0.split(['.', '/']).any(|p| p == i.name);
        for s in cfg.sysctls.iter().filter(own) {
            sysctl(&mut k, s)?;
        }
        k.dev_set_up(0, ifindex, true).map_err(|e| conf_err(i.line, "link up", e))?;
        if let Some((a, len)) = i.address {
            k.addr_add(0, ifindex, IpAddr::V4(a), len)
                .map_err(|e| conf_err(i.line, "address", e))?;
        }
        for &(a, len, line) in &i.addresses6 {
            k.addr_add(0, ifindex, IpAddr::V6(a), len)
                .map_err(|e| conf_err(line, "address6", e))?;
        }
        devs.push((ifindex, dev));
    }
    for r in &cfg.routes {
        let oif = r.dev.as_deref().and_then(|d| k.dev_index(d));
        let route = Route::new(r.network, r.prefix_len, r.gateway, oif);
        k.route_add(route).map_err(|e| conf_err(r.line, "route", e))?;
    }
    Ok((k, devs))
}

impl Nuse {
    /// Opens the devices, configures the kernel and starts the timer/receive thread.
    /// The instance lives for the rest of the process.
    pub fn start(cfg: &Config) -> Result<&'static Nuse, StartError> {
        let mut open = |i: &crate::config::IfaceConf| {
            HostDevice::open(i.viftype, &i.name, i.pipepath.as_deref())
        };
        let (k, devs) = build(cfg, &mut open)?;
        // SAFETY: plain eventfd creation.
        let wake_fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if wake_fd < 0 {
            let err = std::io::Error::last_os_error();
            return Err(StartError::Device { name: "eventfd".into(), line: 0, err });
        }
        let polled: Vec<(IfIndex, RawFd)> = devs.iter().map(|(i, d)| (*i, d.fd())).collect();
        let st = State {
            k,
            meta: BTreeMap::new(),
            devs,
            sleep_until: 0,
            waiters: Vec::new(),
            generation: 0,
            rx_buf: vec![0u8; 65536 + 64],
        };
        let n: &'static Nuse = Box::leak(Box::new(Nuse {
            st: Mutex::new(st),
            cond: Condvar::new(),
            wake_fd,
            base: sys::monotonic_ns(),
        }));
        std::thread::Builder::new()
            .name("libos-nuse".into())
            .spawn(move || n.run(&polled))
            .map_err(|err| StartError::Device { name: "timer thread".into(), line: 0, err })?;
        Ok(n)
    }

    /// Nanoseconds since the instance started (the kernel's clock).
    pub fn now(&self) -> u64 {
        sys::monotonic_ns().saturating_sub(self.base)
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock()
    }

    /// After kernel calls: send queued frames, wake waiters on readiness changes, and
    /// pull the timer thread forward if the kernel's deadline moved earlier.
    pub fn flush(&self, st: &mut State) {
        while let Some(tx) = st.k.poll_transmit() {
            if let Some((_, d)) = st.devs.iter().find(|(i, _)| *i == tx.ifindex) {
                d.send(&tx.frame);
            }
        }
        let mut any = false;
        while st.k.poll_event().is_some() {
            any = true;
        }
        if any {
            st.generation += 1;
            self.cond.notify_all();
            for &w in &st.waiters {
                kick(w);
            }
        }
        if let Some(d) = st.k.next_deadline()
            && d < st.sleep_until
        {
            st.sleep_until = d;
            kick(self.wake_fd);
        }
    }

    /// Parks until the next readiness change or `deadline` (instance ns), and never
    /// longer than `RECHECK_NS`, so a readiness change the kernel failed to announce
    /// costs latency rather than a hang.
    pub fn wait(&self, g: &mut MutexGuard<'_, State>, deadline: Option<u64>) -> Wake {
        let now = self.now();
        if deadline.is_some_and(|d| d <= now) {
            return Wake::Deadline;
        }
        let cap = now + RECHECK_NS;
        let until_ns = deadline.map_or(cap, |d| d.min(cap));
        let until = Instant::now() + Duration::from_nanos(until_ns - now);
        if !self.cond.wait_until(g, until).timed_out() {
            Wake::Event
        } else if deadline.is_some_and(|d| self.now() >= d) {
            Wake::Deadline
        } else {
            Wake::Recheck
        }
    }

    /// Registers an eventfd to be kicked on readiness changes (mixed host/libos polls).
    pub fn add_waiter(&self, st: &mut State, efd: RawFd) {
        st.waiters.push(efd);
    }

    pub fn remove_waiter(&self, st: &mut State, efd: RawFd) {
        st.waiters.retain(|&w| w != efd);
    }

    /// The timer and receive loop.
    fn run(&self, devs: &[(IfIndex, RawFd)]) {
        let mut pfds: Vec<libc::pollfd> = devs
            .iter()
            .map(|&(_, fd)| libc::pollfd { fd, events: libc::POLLIN, revents: 0 })
            .collect();
        pfds.push(libc::pollfd { fd: self.wake_fd, events: libc::POLLIN, revents: 0 });
        let mut panicked = false;
        loop {
            // A kernel panic must not kill the only thread that drives devices and timers:
            // report it once and keep going (the instance may misbehave from then on).
            let step =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.step(&pfds, devs)));
            let timeout = step.unwrap_or_else(|_| {
                if !panicked {
                    sys::say("the libos kernel panicked in the timer/receive thread; continuing");
                    panicked = true;
                }
                Some(10_000_000)
            });
            let ts = timeout.map(|ns| libc::timespec {
                tv_sec: (ns / 1_000_000_000) as i64,
                tv_nsec: (ns % 1_000_000_000) as i64,
            });
            let tp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: pfds and ts outlive the call.
            unsafe {
                sys::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, tp, std::ptr::null())
            };
            if pfds.last().is_some_and(|p| p.revents != 0) {
                drain(self.wake_fd);
            }
        }
    }
}

impl Nuse {
    /// One round of the timer/receive thread: read ready devices, run due timers, flush.
    /// Returns how long to sleep (None: until a frame or a kick).
    fn step(&self, pfds: &[libc::pollfd], devs: &[(IfIndex, RawFd)]) -> Option<u64> {
        let mut st = self.lock();
        let now = self.now();
        let ready = |i: IfIndex| {
            pfds.iter().zip(devs).any(|(p, d)| d.0 == i && p.revents & libc::POLLIN != 0)
        };
        receive(&mut st, now, ready);
        if st.k.next_deadline().is_some_and(|d| d <= now) {
            st.k.advance(now);
        }
        // This thread is awake: flush must not kick it.
        st.sleep_until = 0;
        self.flush(&mut st);
        let d = st.k.next_deadline();
        st.sleep_until = d.unwrap_or(u64::MAX);
        d.map(|d| d.saturating_sub(self.now()))
    }

    /// The time for a kernel call from a caller's thread, after feeding the kernel the
    /// frames already waiting on the devices, each at its arrival. Linux's softirq has
    /// handled a packet before a later system call reaches the socket; here a caller
    /// that wins the lock first would move the kernel's clock past queued frames, and
    /// an ACK that waited would count the wait as RTT (BBR's min_rtt, its cwnd).
    pub fn enter(&self, st: &mut State) -> u64 {
        let now = self.now();
        receive(st, now, |_| true);
        now
    }

    /// Host fds the instance owns (devices, its eventfd): a program must not close them.
    pub fn own_fds(&self) -> Vec<RawFd> {
        let st = self.lock();
        st.devs.iter().map(|(_, d)| d.fd()).chain([self.wake_fd]).collect()
    }
}

/// Feeds the kernel the frames waiting on the devices `ready` picks, a bounded batch
/// per device (so timers and callers get the lock), each at its arrival time.
fn receive(st: &mut State, now: u64, ready: impl Fn(IfIndex) -> bool) {
    let realtime = sys::realtime_ns();
    let State { k, devs, rx_buf, .. } = st;
    for (ifindex, d) in devs.iter().filter(|(i, _)| ready(*i)) {
        for _ in 0..256 {
            let Some(rx) = d.recv(rx_buf) else {
                break;
            };
            let at = arrival(now, realtime, rx.stamp, k.clock());
            k.dev_rx(at, *ifindex, &rx_buf[..rx.len]);
        }
    }
}

/// The instance time at which a frame reached the host: its receive timestamp
/// (`stamp`, CLOCK_REALTIME) carried back by its age at `realtime`, never before the
/// kernel's clock `floor` nor after `now`. Linux runs TCP in the softirq of the
/// arrival; a receive thread that runs late would otherwise squeeze the ACK spacing
/// that HyStart's ACK train and BBR's delivery rate measure.
fn arrival(now: u64, realtime: u64, stamp: Option<u64>, floor: u64) -> u64 {
    let age = stamp.map_or(0, |s| realtime.saturating_sub(s));
    now.saturating_sub(age).max(floor).min(now.max(floor))
}

/// Makes an eventfd readable.
pub fn kick(efd: RawFd) {
    let one: u64 = 1;
    // SAFETY: 8-byte buffer as eventfd requires.
    unsafe { sys::write(efd, (&raw const one).cast(), 8) };
}

/// Resets an eventfd.
pub fn drain(efd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: 8-byte buffer as eventfd requires.
    unsafe { sys::read(efd, (&raw mut v).cast(), 8) };
}

#[cfg(test)]
mod tests;
