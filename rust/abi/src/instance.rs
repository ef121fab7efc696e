//! One libos instance behind the ABI: the kernel, the handle tables, and the glue that
//! turns the kernel's outputs into host calls (`flush`): frames to `dev_xmit`,
//! readiness to `poll_event` and `task_wakeup`, timers to one host event.

use crate::host::Host;
use crate::netlink::NlSock;
use crate::types::{SimDevice, SimTask};
use crate::{with, with_r};
use libos_kernel::{Errno, Fd, IfIndex, Kernel, KernelConfig, SysResult};
use std::collections::BTreeMap;
use std::ffi::c_void;

pub const POLLIN: u16 = 0x1;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;

/// Packets from dev_create_packet not yet given to dev_rx: beyond this, creation fails.
const MAX_PENDING_PACKETS: usize = 4096;

pub enum Sock {
    /// A kernel socket; SO_RCVTIMEO/SO_SNDTIMEO (ns, 0 = none) live here, as the kernel
    /// never blocks.
    Inet {
        fd: Fd,
        stream: bool,
        rcvtimeo: u64,
        sndtimeo: u64,
    },
    Netlink(NlSock),
}

impl Sock {
    pub fn inet(fd: Fd, stream: bool) -> Sock {
        Sock::Inet { fd, stream, rcvtimeo: 0, sndtimeo: 0 }
    }
}

/// Which timeout a blocking call waits under.
#[derive(Clone, Copy)]
pub enum Dir {
    Rcv,
    Snd,
}

pub struct Dev {
    pub ifindex: IfIndex,
    pub private: *mut c_void,
}

pub struct PollReg {
    pub sock: usize,
    pub mask: u16,
    pub token: *mut c_void,
}

pub struct Instance {
    pub busy: bool,
    pub host: Host,
    pub k: Kernel,
    last_now: u64,
    next_id: usize,
    pub socks: BTreeMap<usize, Sock>,
    pub fd_sock: BTreeMap<Fd, usize>,
    pub devs: BTreeMap<usize, Dev>,
    pub if_dev: BTreeMap<IfIndex, usize>,
    /// `task_create`d tasks: handle -> (private, pid).
    pub tasks: BTreeMap<usize, (*mut c_void, std::ffi::c_ulong)>,
    pub packets: BTreeMap<usize, Vec<u8>>,
    pub polls: BTreeMap<usize, PollReg>,
    /// Host tasks parked in a blocking call, by socket handle.
    pub waiters: Vec<(usize, *mut SimTask)>,
    /// Readiness to report that does not come from the kernel: netlink replies queued,
    /// a socket closed under a parked task.
    pub ready: Vec<(usize, u16)>,
    /// The one pending host event: (deadline, handle).
    timer: Option<(u64, *mut c_void)>,
    pub sysfiles: Vec<String>,
    pub sysfile_ids: BTreeMap<String, usize>,
    pub nl_next_port: u32,
}

impl Instance {
    /// Seeds the kernel from the host's `random` (DCE: ns-3's seeded RNG).
    pub fn new(host: Host) -> Instance {
        let seed = match (host.random(), host.random()) {
            (Some(a), Some(b)) => (a << 32) ^ b,
            _ => 0,
        };
        Instance {
            busy: false,
            host,
            k: Kernel::new(KernelConfig { seed }),
            last_now: 0,
            next_id: 1,
            socks: BTreeMap::new(),
            fd_sock: BTreeMap::new(),
            devs: BTreeMap::new(),
            if_dev: BTreeMap::new(),
            tasks: BTreeMap::new(),
            packets: BTreeMap::new(),
            polls: BTreeMap::new(),
            waiters: Vec::new(),
            ready: Vec::new(),
            timer: None,
            sysfiles: Vec::new(),
            sysfile_ids: BTreeMap::new(),
            nl_next_port: 0x1000,
        }
    }

    /// The host clock, never going backwards.
    pub fn now(&mut self) -> u64 {
        if let Some(t) = self.host.now() {
            self.last_now = self.last_now.max(t);
        }
        self.last_now
    }

    /// A fresh handle value (never 0, never reused).
    pub fn id(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn add_sock(&mut self, s: Sock) -> usize {
        let h = self.id();
        if let Sock::Inet { fd, .. } = s {
            self.fd_sock.insert(fd, h);
        }
        self.socks.insert(h, s);
        h
    }

    pub fn sock(&mut self, h: usize) -> SysResult<&mut Sock> {
        self.socks.get_mut(&h).ok_or(Errno::EBADF)
    }

    /// The kernel fd of an inet socket handle.
    pub fn fd(&self, h: usize) -> SysResult<Fd> {
        match self.socks.get(&h) {
            Some(Sock::Inet { fd, .. }) => Ok(*fd),
            Some(Sock::Netlink(_)) => Err(Errno::EOPNOTSUPP),
            None => Err(Errno::EBADF),
        }
    }

    /// The SO_RCVTIMEO / SO_SNDTIMEO of socket `h` in ns (0: wait forever).
    pub fn timeout(&self, h: usize, dir: Dir) -> u64 {
        match (self.socks.get(&h), dir) {
            (Some(Sock::Inet { rcvtimeo, .. }), Dir::Rcv) => *rcvtimeo,
            (Some(Sock::Inet { sndtimeo, .. }), Dir::Snd) => *sndtimeo,
            (Some(Sock::Netlink(nl)), Dir::Rcv) => nl.rcvtimeo,
            _ => 0,
        }
    }

    pub fn dev(&self, h: usize) -> SysResult<&Dev> {
        self.devs.get(&h).ok_or(Errno::ENODEV)
    }

    pub fn add_packet(&mut self, buf: Vec<u8>) -> Option<usize> {
        if self.packets.len() >= MAX_PENDING_PACKETS {
            return None;
        }
        let t = self.id();
        self.packets.insert(t, buf);
        Some(t)
    }

    /// Drains the kernel's outputs into host actions.
    fn collect(&mut self) -> Outputs {
        let mut out = Outputs::default();
        while let Some(t) = self.k.poll_transmit() {
            if let Some(&h) = self.if_dev.get(&t.ifindex) {
                out.frames.push((h, t.frame.to_vec()));
            }
        }
        let mut ready = std::mem::take(&mut self.ready);
        while let Some(e) = self.k.poll_event() {
            if let Some(&h) = self.fd_sock.get(&e.fd) {
                ready.push((h, e.revents));
            }
        }
        for (h, rev) in ready {
            for reg in self.polls.values().filter(|r| r.sock == h) {
                if rev & (reg.mask | POLLERR | POLLHUP) != 0 {
                    out.polls.push((i32::from(rev), reg.token));
                }
            }
            self.waiters.retain(|&(s, t)| {
                if s == h {
                    out.wake.push(t);
                }
                s != h
            });
        }
        out
    }

    /// What to do about the host timer: Some((old handle to cancel, new deadline)).
    fn timer_plan(&mut self) -> Option<(Option<*mut c_void>, Option<u64>, u64)> {
        let want = self.k.next_deadline();
        match (self.timer, want) {
            (Some((d, _)), Some(w)) if d == w => None,
            (None, None) => None,
            (old, want) => {
                self.timer = None;
                let now = self.now();
                Some((old.map(|o| o.1), want, now))
            }
        }
    }
}

#[derive(Default)]
struct Outputs {
    frames: Vec<(usize, Vec<u8>)>,
    polls: Vec<(i32, *mut c_void)>,
    wake: Vec<*mut SimTask>,
}

/// After every entry: hand frames to `dev_xmit`, wake pollers and parked tasks, then
/// keep one host event at the kernel's next deadline. Host calls happen with the
/// instance released, so a host that calls back in from them is served.
pub fn flush() {
    // Each round only carries what the previous host calls caused; bound it anyway.
    for _ in 0..1024 {
        let Ok((host, out)) = with(|i| (i.host, i.collect())) else { return };
        if out.frames.is_empty() && out.polls.is_empty() && out.wake.is_empty() {
            break;
        }
        for (h, mut f) in out.frames {
            host.xmit(h as *mut SimDevice, &mut f);
        }
        for (flag, token) in out.polls {
            host.poll_event(flag, token);
        }
        for t in out.wake {
            host.task_wakeup(t);
        }
    }
    rearm();
}

fn rearm() {
    let Ok((host, Some((old, want, now)))) = with(|i| (i.host, i.timer_plan())) else {
        return;
    };
    if let Some(ev) = old {
        host.cancel(ev);
    }
    if let Some(w) = want
        && let Some(ev) = host.schedule(
            w.saturating_sub(now),
            on_timer,
            std::ptr::null_mut(),
            Some(crate::libfns::lib_update_jiffies),
        )
    {
        let _ = with(|i| i.timer = Some((w, ev)));
    }
}

/// The host event at the kernel's deadline.
unsafe extern "C" fn on_timer(_ctx: *mut c_void) {
    crate::guard((), || {
        let _ = with(|i| {
            i.timer = None;
            let now = i.now();
            i.k.advance(now);
        });
        flush();
    })
}

/// Runs timers that are due and flushes (`lib_softirq_wakeup`, `lib_update_jiffies`).
pub fn run_due() {
    let _ = with(|i| {
        let now = i.now();
        if i.k.next_deadline().is_some_and(|d| d <= now) {
            i.k.advance(now);
        }
    });
    flush();
}

/// A timed wait: the host event that wakes the task at its deadline.
struct Alarm {
    host: Host,
    task: *mut SimTask,
    fired: bool,
}

unsafe extern "C" fn alarm_fire(ctx: *mut c_void) {
    crate::guard((), || {
        // SAFETY: `ctx` is the Alarm `wait_on` keeps alive until the event fired or was
        // cancelled.
        let a = unsafe { &mut *(ctx as *mut Alarm) };
        a.fired = true;
        a.host.task_wakeup(a.task);
    })
}

/// Parks the calling host task until socket `h` changes readiness or `deadline` (host
/// ns) passes: Ok(true) when the deadline ended the wait. Err(EAGAIN) when the host has
/// no task model.
pub fn wait_on(h: usize, deadline: Option<u64>) -> SysResult<bool> {
    let host = with(|i| i.host)?;
    if !host.can_block() {
        return Err(Errno::EAGAIN);
    }
    let t = host.task_current();
    if t.is_null() {
        return Err(Errno::EAGAIN);
    }
    with(|i| i.waiters.push((h, t)))?;
    flush();
    let mut alarm = Box::new(Alarm { host, task: t, fired: false });
    let ev = match deadline {
        Some(d) => {
            let now = with(|i| i.now())?;
            if d <= now {
                let _ = with(|i| i.waiters.retain(|&(s, w)| !(s == h && w == t)));
                return Ok(true);
            }
            let ctx = &mut *alarm as *mut Alarm as *mut c_void;
            host.schedule(d - now, alarm_fire, ctx, None)
        }
        None => None,
    };
    host.task_wait();
    let _ = with(|i| i.waiters.retain(|&(s, w)| !(s == h && w == t)));
    if let Some(ev) = ev
        && !alarm.fired
    {
        host.cancel(ev);
    }
    Ok(alarm.fired)
}

/// Runs `op` on socket `h` with the time, flushing after; if it would block and the
/// call is blocking, parks the task (under the socket's timeout for `dir`) and retries.
pub fn blocking<R>(
    h: usize,
    block: bool,
    dir: Dir,
    mut op: impl FnMut(&mut Instance, u64) -> SysResult<R>,
) -> SysResult<R> {
    let mut deadline = None;
    let mut last_try = false;
    loop {
        let r = with_r(|i| {
            let now = i.now();
            if deadline.is_none() {
                let t = i.timeout(h, dir);
                deadline = (t > 0).then(|| now.saturating_add(t));
            }
            op(i, now)
        });
        flush();
        match r {
            // The timeout passed: one more try (what became ready meanwhile is returned,
            // as Linux rechecks after schedule_timeout), then EAGAIN.
            Err(Errno::EAGAIN) if block && !last_try => last_try = wait_on(h, deadline)?,
            r => return r,
        }
    }
}
