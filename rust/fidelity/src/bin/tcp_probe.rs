//! tcp-probe: the fidelity harness's sender (and its plain sink). Plain libc socket
//! calls, so the same binary runs on Linux and on libos under `libos-nuse`.
//!
//! tcp-probe --connect IP:PORT --time 10s [--cc cubic] [--csv out.csv] [--interval 10ms]
//!     connects (TCP_CONGESTION set before connect), sends for --time, samples
//!     getsockopt(TCP_INFO) every --interval into the CSV, prints one summary line:
//!     `cc=.. goodput_mbps=.. bytes_acked=.. total_retrans=.. first_retrans_s=.. mean_cwnd=..`
//! tcp-probe --listen PORT [--bind IP] [--csv rcv.csv] [--interval 10ms]
//!     accepts connections and discards what they send (one thread each); with --csv,
//!     samples the first connection's receiving side of TCP_INFO into it.

use libos_fidelity::args;

use libos_fidelity::tcpinfo::{TCP_INFO_LEN, TcpInfo};
use std::io::{Error, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn check(r: libc::c_int, what: &str) -> Result<libc::c_int, String> {
    if r < 0 { Err(format!("{what}: {}", Error::last_os_error())) } else { Ok(r) }
}

fn tcp_info(fd: i32) -> Result<TcpInfo, String> {
    let mut b = [0u8; TCP_INFO_LEN];
    let mut len = b.len() as libc::socklen_t;
    // SAFETY: b and len are valid out-pointers of the given size.
    let r = unsafe {
        libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, b.as_mut_ptr().cast(), &mut len)
    };
    check(r, "getsockopt(TCP_INFO)")?;
    Ok(TcpInfo::parse(&b[..(len as usize).min(b.len())]))
}

fn congestion(fd: i32) -> String {
    let mut b = [0u8; 16];
    let mut len = b.len() as libc::socklen_t;
    // SAFETY: as above.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            b.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r < 0 {
        return "?".into();
    }
    let s = &b[..(len as usize).min(16)];
    String::from_utf8_lossy(s.split(|c| *c == 0).next().unwrap_or(s)).into_owned()
}

/// `TCP_CC_INFO` (linux/tcp.h) when the socket runs BBR: `struct tcp_bbr_info`'s bw
/// (bytes/s), pacing and cwnd gains (<< 8) and min_rtt (µs). The CSV's last four columns;
/// empty for the other algorithms (their `tcp_cc_info` has no such fields).
fn bbr_info(fd: i32) -> String {
    const TCP_CC_INFO: libc::c_int = 26;
    let mut b = [0u8; 20];
    let mut len = b.len() as libc::socklen_t;
    // SAFETY: b and len are valid out-pointers of the given size.
    let r = unsafe {
        libc::getsockopt(fd, libc::IPPROTO_TCP, TCP_CC_INFO, b.as_mut_ptr().cast(), &mut len)
    };
    if r < 0 || len < 20 {
        return ",,,".into();
    }
    let u = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let bw = u64::from(u(0)) | u64::from(u(4)) << 32;
    format!("{},{},{},{}", bw.saturating_mul(8), u(12), u(16), u(8))
}

fn mono() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// A connected TCP socket to `dst` with congestion control `cc`.
fn connect(dst: SocketAddrV4, cc: Option<&str>) -> Result<i32, String> {
    // SAFETY: plain libc calls; every result is checked.
    unsafe {
        let fd = check(libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0), "socket")?;
        if let Some(cc) = cc {
            let r = libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_CONGESTION,
                cc.as_ptr().cast(),
                cc.len() as u32,
            );
            check(r, &format!("setsockopt(TCP_CONGESTION, {cc})"))?;
        }
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_port = dst.port().to_be();
        sa.sin_addr.s_addr = u32::from(*dst.ip()).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        check(libc::connect(fd, (&raw const sa).cast(), len), &format!("connect {dst}"))?;
        let fl = libc::fcntl(fd, libc::F_GETFL);
        check(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK), "fcntl")?;
        Ok(fd)
    }
}

struct Summary {
    first_retrans: Option<f64>,
    cwnd_sum: f64,
    samples: u64,
}

fn send_loop(fd: i32, secs: f64, interval: f64, csv: &mut dyn Write) -> Result<(), String> {
    let buf = vec![0x5au8; 65536];
    let bbr = congestion(fd) == "bbr";
    let t0 = mono();
    let mut next = 0.0;
    let mut sum = Summary { first_retrans: None, cwnd_sum: 0.0, samples: 0 };
    let mut last;
    loop {
        let t = mono() - t0;
        if t >= next {
            last = tcp_info(fd)?;
            let cc = if bbr { bbr_info(fd) } else { ",,,".into() };
            writeln!(csv, "{},{cc}", last.csv_row(t)).map_err(|e| e.to_string())?;
            if last.total_retrans > 0 && sum.first_retrans.is_none() {
                sum.first_retrans = Some(t);
            }
            sum.cwnd_sum += f64::from(last.snd_cwnd);
            sum.samples += 1;
            next += interval;
            if t >= secs {
                break;
            }
            continue;
        }
        let mut pfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
        let wait_ms = (((next - t) * 1000.0).ceil() as i32).max(1);
        // SAFETY: pfd is valid for the call.
        unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            return Err("connection failed while sending".into());
        }
        if pfd.revents & libc::POLLOUT != 0 {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
            if n < 0 && Error::last_os_error().raw_os_error() != Some(libc::EAGAIN) {
                return Err(format!("send: {}", Error::last_os_error()));
            }
        }
    }
    let first = sum.first_retrans.map_or("-".to_string(), |t| format!("{t:.3}"));
    println!(
        "cc={} goodput_mbps={:.3} bytes_acked={} total_retrans={} first_retrans_s={first} \
         mean_cwnd={:.1} samples={} data_segs_out={} mss={}",
        congestion(fd),
        last.bytes_acked as f64 * 8.0 / secs / 1e6,
        last.bytes_acked,
        last.total_retrans,
        sum.cwnd_sum / sum.samples.max(1) as f64,
        sum.samples,
        last.data_segs_out,
        last.snd_mss
    );
    Ok(())
}

fn sender(o: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    let dst: SocketAddrV4 = o["connect"].parse().map_err(|_| "bad --connect IP:PORT")?;
    let secs = o.get("time").map_or(Ok(10_000_000_000), |s| args::time(s))? as f64 / 1e9;
    let interval = o.get("interval").map_or(Ok(10_000_000), |s| args::time(s))? as f64 / 1e9;
    let fd = connect(dst, o.get("cc").map(String::as_str))?;
    let mut csv: Box<dyn Write> = match o.get("csv") {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("{p}: {e}"))?,
        )),
        None => Box::new(std::io::sink()),
    };
    writeln!(
        csv,
        "{},bbr_bw_bps,bbr_pacing_gain,bbr_cwnd_gain,bbr_min_rtt_us",
        TcpInfo::CSV_HEADER
    )
    .map_err(|e| e.to_string())?;
    let r = send_loop(fd, secs, interval.max(0.001), &mut *csv);
    csv.flush().map_err(|e| e.to_string())?;
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    r
}

/// Samples a receiving socket's TCP_INFO every `interval` s into `csv` until `done`.
fn sample_receiver(s: &TcpStream, interval: f64, csv: &str, done: &AtomicBool) {
    let fd = s.as_raw_fd();
    let Ok(f) = std::fs::File::create(csv) else {
        eprintln!("tcp-probe: cannot create {csv}");
        return;
    };
    // Line by line: the harness stops the sink with a signal, and a row a sample keeps
    // whatever was sampled by then.
    let mut w = std::io::LineWriter::new(f);
    let _ = writeln!(w, "{}", TcpInfo::RCV_CSV_HEADER);
    let t0 = mono();
    while !done.load(Ordering::Relaxed) {
        let Ok(i) = tcp_info(fd) else { break };
        let _ = writeln!(w, "{}", i.rcv_csv_row(mono() - t0));
        std::thread::sleep(std::time::Duration::from_secs_f64(interval));
    }
    let _ = w.flush();
}

fn sink(o: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    let port: u16 = o["listen"].parse().map_err(|_| "bad --listen PORT")?;
    let ip = o.get("bind").map_or(Ok(Ipv4Addr::UNSPECIFIED), |s| s.parse::<Ipv4Addr>());
    let ip = ip.map_err(|_| "bad --bind")?;
    let interval = o.get("interval").map_or(Ok(10_000_000), |s| args::time(s))? as f64 / 1e9;
    let mut csv = o.get("csv").cloned();
    let l = TcpListener::bind((ip, port)).map_err(|e| format!("bind: {e}"))?;
    eprintln!("tcp-probe: sink on {ip}:{port}");
    for s in l.incoming() {
        let Ok(s) = s else { continue };
        // Shared, so the sampler's descriptor stays open until it is done too.
        let s = Arc::new(s);
        let done = Arc::new(AtomicBool::new(false));
        if let Some(path) = csv.take() {
            let (s, done) = (s.clone(), done.clone());
            std::thread::spawn(move || sample_receiver(&s, interval.max(0.001), &path, &done));
        }
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            while let Ok(n) = (&*s).read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            done.store(true, Ordering::Relaxed);
            eprintln!("tcp-probe: sink received {total} bytes from {:?}", s.peer_addr());
        });
    }
    Ok(())
}

fn main() {
    let r = args::parse(std::env::args().skip(1)).and_then(|o| {
        if o.contains_key("listen") {
            sink(&o)
        } else if o.contains_key("connect") {
            sender(&o)
        } else {
            Err("--connect IP:PORT or --listen PORT".into())
        }
    });
    if let Err(e) = r {
        eprintln!("tcp-probe: {e}");
        std::process::exit(1);
    }
}
