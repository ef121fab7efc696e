//! libos-pathemu: the emulated path of the fidelity harness. Relays every Ethernet frame
//! between two interfaces (AF_PACKET, ETH_P_ALL) through one timed FIFO per direction:
//! serialisation at `--rate`, `--rtt`/2 of one-way delay, a drop-tail byte limit, and
//! seeded Bernoulli loss on the a->b (data) direction's TCP data segments, keyed on
//! their place in the stream (`libos_sim::seq_loss`, as a libos-sim link with
//! `loss_keyed`). Runs until SIGINT/SIGTERM, then prints its counters.
//!
//! libos-pathemu --a r0 --b r1 --rate 10Mbit --rtt 50ms [--loss 0.01] [--queue BYTES]
//!               [--seed N]
//!
//! Default queue: one bandwidth-delay product (rate x RTT), at least 16 full frames.

use libos_fidelity::args;

use libos_fidelity::path::{DirParams, Direction};
use std::io::Error;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A non-blocking AF_PACKET socket bound to `ifname`, not seeing its own transmissions.
fn packet_socket(ifname: &str) -> Result<i32, String> {
    let name = std::ffi::CString::new(ifname).map_err(|e| e.to_string())?;
    // SAFETY: plain libc calls on values we own; results are checked.
    unsafe {
        let ifindex = libc::if_nametoindex(name.as_ptr());
        if ifindex == 0 {
            return Err(format!("{ifname}: {}", Error::last_os_error()));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto.into());
        if fd < 0 {
            return Err(format!("socket(AF_PACKET): {}", Error::last_os_error()));
        }
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        if libc::bind(fd, (&raw const sll).cast(), len) < 0 {
            return Err(format!("bind {ifname}: {}", Error::last_os_error()));
        }
        let one: libc::c_int = 1;
        let sz = std::mem::size_of::<libc::c_int>() as u32;
        // PACKET_IGNORE_OUTGOING (Linux 4.20): our own sends are not read back.
        libc::setsockopt(fd, libc::SOL_PACKET, 23, (&raw const one).cast(), sz);
        let buf: libc::c_int = 8 << 20;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, (&raw const buf).cast(), sz);
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, (&raw const buf).cast(), sz);
        Ok(fd)
    }
}

/// Reads every waiting frame from `fd` into `dir`.
fn drain(fd: i32, dir: &mut Direction, buf: &mut [u8]) {
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 {
            return;
        }
        dir.enqueue(now_ns(), buf[..n as usize].to_vec());
    }
}

/// Sends the frames due on `fd`.
fn flush(fd: i32, dir: &mut Direction) {
    let now = now_ns();
    while let Some(f) = dir.pop_due(now) {
        // SAFETY: f is valid for its length. A failed send is a drop, as on a wire.
        unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
    }
}

fn run(o: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    let get = |k: &str| o.get(k).ok_or_else(|| format!("--{k} is required"));
    let rate = args::rate(get("rate")?)?;
    let rtt = args::time(get("rtt")?)?;
    let loss: f64 = o.get("loss").map_or(Ok(0.0), |s| s.parse()).map_err(|_| "bad --loss")?;
    let seed: u64 = o.get("seed").map_or(Ok(1), |s| s.parse()).map_err(|_| "bad --seed")?;
    let bdp = rate as u128 * rtt as u128 / 8_000_000_000;
    let limit = match o.get("queue") {
        Some(q) => q.parse().map_err(|_| "bad --queue")?,
        None => (bdp as u64).max(16 * 1514),
    };
    let p = DirParams { rate_bps: rate, delay: rtt / 2, limit_bytes: limit, loss };
    let mut ab = Direction::new(p.clone(), seed);
    let mut ba = Direction::new(DirParams { loss: 0.0, ..p }, seed ^ 0x5a5a);
    let (fa, fb) = (packet_socket(get("a")?)?, packet_socket(get("b")?)?);
    eprintln!(
        "libos-pathemu: {} <-> {} rate {rate} bit/s rtt {rtt} ns loss {loss} queue {limit} B seed {seed}",
        get("a")?,
        get("b")?
    );
    // SAFETY: installing an async-signal-safe handler; 1 ns timer slack for ppoll.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::prctl(libc::PR_SET_TIMERSLACK, 1);
    }
    let mut buf = vec![0u8; 65536 + 64];
    while !STOP.load(Ordering::Relaxed) {
        let now = now_ns();
        let next = [ab.next_due(), ba.next_due()].into_iter().flatten().min();
        let wait = next.map_or(100_000_000, |t| t.saturating_sub(now)).min(100_000_000);
        let ts = libc::timespec {
            tv_sec: (wait / 1_000_000_000) as i64,
            tv_nsec: (wait % 1_000_000_000) as i64,
        };
        let mut fds = [
            libc::pollfd { fd: fa, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: fb, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: fds and ts are valid for the call.
        unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
        if fds[0].revents & libc::POLLIN != 0 {
            drain(fa, &mut ab, &mut buf);
        }
        if fds[1].revents & libc::POLLIN != 0 {
            drain(fb, &mut ba, &mut buf);
        }
        flush(fb, &mut ab);
        flush(fa, &mut ba);
    }
    for (name, d) in [("a->b", &ab), ("b->a", &ba)] {
        let c = &d.c;
        println!(
            "{name}: rx {} frames {} bytes, tx {}, queue_drops {}, loss_drops {}, peak_backlog {} B",
            c.rx, c.rx_bytes, c.tx, c.queue_drops, c.loss_drops, c.peak_backlog
        );
    }
    Ok(())
}

fn main() {
    let r = args::parse(std::env::args().skip(1)).and_then(|o| run(&o));
    if let Err(e) = r {
        eprintln!("libos-pathemu: {e}");
        std::process::exit(2);
    }
}
