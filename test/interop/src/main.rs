//! libos-host: a real-time host for one libos kernel on a TAP or AF_PACKET device, used
//! by the tests against the Linux kernel in a network namespace (test/interop/*.py).
//!
//! The loop is the host contract of `libos_kernel::Kernel` on a real clock: block in
//! poll(2) until a frame arrives or the kernel's next deadline, feed frames to `dev_rx`,
//! call `advance` when the deadline has passed, write `poll_transmit` frames out, and
//! run the scripted app when the kernel reports readiness.

mod app;

use app::App;
use clap::{Parser, ValueEnum};
use libos_kernel::{DeviceConfig, EthernetAddress, Kernel, KernelConfig, Route};
use libos_nuse::device::HostDevice;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
enum DevKind {
    /// Attach to a TAP interface in this network namespace.
    Tap,
    /// Bind an AF_PACKET socket to an existing interface (e.g. a veth end).
    Packet,
}

#[derive(Clone, Copy, ValueEnum)]
enum AppKind {
    /// Only answer ARP and ping until --duration ends.
    Idle,
    /// Accept one TCP connection on --port, read to EOF, print bytes and sha256, close.
    TcpSink,
    /// Connect to --connect, send --bytes of the test pattern, half-close, wait for EOF.
    TcpSource,
    /// Answer one HTTP/1.0 GET on --port with --bytes of the test pattern.
    Http,
}

#[derive(Parser)]
#[command(version, about = "Run one libos kernel on a host device in real time")]
struct Args {
    #[arg(long, value_enum, default_value = "tap")]
    dev: DevKind,
    /// Host interface name (TAP to attach, or interface for AF_PACKET).
    #[arg(long)]
    ifname: String,
    /// MAC address of the libos device.
    #[arg(long, default_value = "02:00:00:00:00:02")]
    mac: String,
    /// Address of the libos device, e.g. 10.99.0.2/24.
    #[arg(long)]
    addr: String,
    /// IPv6 addresses of the libos device, e.g. 2001:db8::2/64 (repeatable; the
    /// link-local address comes from the MAC).
    #[arg(long = "addr6")]
    addrs6: Vec<String>,
    /// Default gateway.
    #[arg(long)]
    gateway: Option<IpAddr>,
    /// Sysctl settings, NAME=VALUE (repeatable).
    #[arg(long = "sysctl")]
    sysctls: Vec<String>,
    #[arg(long, value_enum, default_value = "idle")]
    app: AppKind,
    #[arg(long, default_value_t = 5001)]
    port: u16,
    #[arg(long)]
    connect: Option<SocketAddr>,
    #[arg(long, default_value_t = 1 << 20)]
    bytes: usize,
    /// Give up (exit 1) after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Keep running this long after the app finished, so the close handshake completes.
    #[arg(long, default_value_t = 1.0)]
    linger: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let arr: [u8; 6] = parts.try_into().map_err(|_| format!("bad MAC {s}"))?;
    Ok(EthernetAddress(arr))
}

fn configure(k: &mut Kernel, args: &Args) -> Result<u32, String> {
    let mac = parse_mac(&args.mac)?;
    let ifindex = k.dev_add(DeviceConfig::ethernet("eth0", mac)).map_err(|e| e.to_string())?;
    k.dev_set_up(0, ifindex, true).map_err(|e| e.to_string())?;
    for a in std::iter::once(&args.addr).chain(&args.addrs6) {
        let (ip, len) = a.split_once('/').ok_or(format!("{a}: needs a prefix length"))?;
        let ip: IpAddr = ip.parse().map_err(|e| format!("{a}: {e}"))?;
        let len: u8 = len.parse().map_err(|e| format!("{a}: {e}"))?;
        k.addr_add(0, ifindex, ip, len).map_err(|e| format!("addr add {a}: {e}"))?;
    }
    if let Some(gw) = args.gateway {
        let any = IpAddr::from([0, 0, 0, 0]);
        k.route_add(Route::new(any, 0, Some(gw), None)).map_err(|e| format!("route: {e}"))?;
    }
    for s in &args.sysctls {
        let (n, v) = s.split_once('=').ok_or(format!("--sysctl {s}: want NAME=VALUE"))?;
        k.sysctl_set(n, v).map_err(|e| format!("sysctl {n}: {e}"))?;
    }
    Ok(ifindex)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dev = match args.dev {
        DevKind::Tap => HostDevice::tap(&args.ifname),
        DevKind::Packet => HostDevice::packet(&args.ifname),
    };
    let dev = match dev {
        Ok(d) => d,
        Err(e) => {
            eprintln!("libos-host: cannot open {}: {e}", args.ifname);
            return ExitCode::from(2);
        }
    };
    let mut k = Kernel::new(KernelConfig { seed: args.seed });
    let ifindex = match configure(&mut k, &args) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("libos-host: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let now = || start.elapsed().as_nanos() as u64;
    let app = match args.app {
        AppKind::Idle => Ok(App::Idle),
        AppKind::TcpSink => App::tcp_sink(&mut k, args.port, None),
        AppKind::Http => App::http(&mut k, args.port, args.bytes),
        AppKind::TcpSource => match args.connect {
            Some(to) => App::tcp_source(&mut k, now(), to, args.bytes),
            None => {
                eprintln!("libos-host: tcp-source needs --connect");
                return ExitCode::from(2);
            }
        },
    };
    let mut app = match app {
        Ok(a) => a,
        Err(e) => {
            eprintln!("libos-host: app setup: {e}");
            return ExitCode::from(2);
        }
    };
    println!("READY");
    let ok = run(&mut k, &dev, ifindex, &mut app, &args, &now);
    let d = k.dev(ifindex).map(|d| d.stats.clone()).unwrap_or_default();
    println!(
        "STATS rx_packets={} tx_packets={} rx_dropped={}",
        d.rx_packets, d.tx_packets, d.rx_dropped
    );
    for a in k.addrs6(ifindex) {
        println!("ADDR6 {}/{} {:?}", a.addr, a.prefix_len, a.state);
    }
    for r in k.default_routers6() {
        println!("ROUTER6 {}", r.addr);
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The real-time loop; returns the app's success (Idle succeeds at --duration).
fn run(
    k: &mut Kernel,
    dev: &HostDevice,
    ifindex: u32,
    app: &mut App,
    args: &Args,
    now: &dyn Fn() -> u64,
) -> bool {
    let limit = (args.duration * 1e9) as u64;
    let linger = (args.linger * 1e9) as u64;
    let mut done: Option<(bool, u64)> = None;
    let mut frame = vec![0u8; 65536];
    let mut ready = true;
    loop {
        let t = now();
        if let Some((ok, at)) = done {
            if t >= at + linger {
                return ok;
            }
        } else if t >= limit {
            if matches!(app, App::Idle) {
                return true;
            }
            println!("ERROR timeout");
            return false;
        }
        if (ready || app.needs_tick())
            && done.is_none()
            && let Some(ok) = app.step(k, t)
        {
            done = Some((ok, t));
        }
        while let Some(tx) = k.poll_transmit() {
            dev.send(&tx.frame);
        }
        ready = false;
        while k.poll_event().is_some() {
            ready = true;
        }
        if ready {
            continue;
        }
        let wait_ns = k.next_deadline().map_or(100_000_000, |d| d.saturating_sub(now()));
        dev.wait((wait_ns.div_ceil(1_000_000)).min(100) as i32);
        while let Some(n) = dev.recv(&mut frame) {
            k.dev_rx(now(), ifindex, &frame[..n]);
        }
        let t = now();
        if k.next_deadline().is_some_and(|d| d <= t) {
            k.advance(t);
        }
    }
}
