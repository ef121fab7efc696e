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
    /// Default gateway, IPv4 or IPv6 (repeatable: one per family).
    #[arg(long = "gateway")]
    gateways: Vec<IpAddr>,
    /// A second interface (same --dev kind), making libos a router between two links.
    #[arg(long)]
    ifname2: Option<String>,
    #[arg(long, default_value = "02:00:00:00:00:03")]
    mac2: String,
    /// Addresses of the second device, IPv4 or IPv6 (repeatable).
    #[arg(long = "addr2")]
    addrs2: Vec<String>,
    /// Built-in iproute2 command lines run after the addresses, e.g.
    /// "-6 route add 2001:db8:97::/64 via 2001:db8:99::1" (repeatable).
    #[arg(long = "ip", allow_hyphen_values = true)]
    ip_cmds: Vec<String>,
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

/// Adds device `name` with `mac`, up, holding `addrs` (CIDR strings).
fn add_dev<'a>(
    k: &mut Kernel,
    name: &str,
    mac: &str,
    addrs: impl Iterator<Item = &'a String>,
) -> Result<u32, String> {
    let mac = parse_mac(mac)?;
    let ifindex = k.dev_add(DeviceConfig::ethernet(name, mac)).map_err(|e| e.to_string())?;
    k.dev_set_up(0, ifindex, true).map_err(|e| e.to_string())?;
    for a in addrs {
        let (ip, len) = a.split_once('/').ok_or(format!("{a}: needs a prefix length"))?;
        let ip: IpAddr = ip.parse().map_err(|e| format!("{a}: {e}"))?;
        let len: u8 = len.parse().map_err(|e| format!("{a}: {e}"))?;
        k.addr_add(0, ifindex, ip, len).map_err(|e| format!("addr add {a}: {e}"))?;
    }
    Ok(ifindex)
}

fn set_sysctl(k: &mut Kernel, s: &str) -> Result<(), String> {
    let (n, v) = s.split_once('=').ok_or(format!("--sysctl {s}: want NAME=VALUE"))?;
    k.sysctl_set(n, v).map_err(|e| format!("sysctl {n}: {e}"))
}

/// Devices eth0 (and eth1 with --ifname2), sysctls, addresses, routes; the ifindexes.
fn configure(k: &mut Kernel, args: &Args) -> Result<Vec<u32>, String> {
    // Namespace-wide sysctls first (`all.forwarding`, `default.*` reach new devices),
    // per-device ones once the devices exist.
    let (per_dev, global): (Vec<&String>, Vec<&String>) =
        args.sysctls.iter().partition(|s| s.contains(".eth"));
    for s in global {
        set_sysctl(k, s)?;
    }
    let addrs = std::iter::once(&args.addr).chain(&args.addrs6);
    let mut devs = vec![add_dev(k, "eth0", &args.mac, addrs)?];
    if args.ifname2.is_some() {
        devs.push(add_dev(k, "eth1", &args.mac2, args.addrs2.iter())?);
    }
    for s in per_dev {
        set_sysctl(k, s)?;
    }
    for gw in &args.gateways {
        match gw {
            IpAddr::V4(_) => {
                let any = IpAddr::from([0, 0, 0, 0]);
                k.route_add(Route::new(any, 0, Some(*gw), None))
                    .map_err(|e| format!("route: {e}"))?;
            }
            IpAddr::V6(_) => {
                let c = format!("-6 route add default via {gw} dev eth0");
                k.run_ip(0, &c).map_err(|e| format!("ip {c}: {e}"))?;
            }
        }
    }
    for c in &args.ip_cmds {
        k.run_ip(0, c).map_err(|e| format!("ip {c}: {e}"))?;
    }
    Ok(devs)
}

fn open(kind: DevKind, name: &str) -> Result<HostDevice, String> {
    let dev = match kind {
        DevKind::Tap => HostDevice::tap(name),
        DevKind::Packet => HostDevice::packet(name),
    };
    dev.map_err(|e| format!("cannot open {name}: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let names = std::iter::once(&args.ifname).chain(args.ifname2.as_ref());
    let devs: Result<Vec<HostDevice>, String> = names.map(|n| open(args.dev, n)).collect();
    let devs = match devs {
        Ok(d) => d,
        Err(e) => {
            eprintln!("libos-host: {e}");
            return ExitCode::from(2);
        }
    };
    let mut k = Kernel::new(KernelConfig { seed: args.seed });
    let ifindexes = match configure(&mut k, &args) {
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
    let ports: Vec<(HostDevice, u32)> = devs.into_iter().zip(ifindexes.iter().copied()).collect();
    let ok = run(&mut k, &ports, &mut app, &args, &now);
    let ifindex = ifindexes[0];
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
    // Non-zero /proc/net/snmp6 counters, for the tests' drop checks.
    for line in k.proc_read(now(), "/proc/net/snmp6").unwrap_or_default().lines() {
        let mut w = line.split_whitespace();
        if let (Some(n), Some(v)) = (w.next(), w.next())
            && v != "0"
        {
            println!("SNMP6 {n} {v}");
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Waits up to `timeout_ms` for a frame on any of the devices.
fn wait_any(links: &[(HostDevice, u32)], timeout_ms: i32) {
    let mut fds: Vec<libc::pollfd> = links
        .iter()
        .map(|(d, _)| libc::pollfd { fd: d.fd(), events: libc::POLLIN, revents: 0 })
        .collect();
    // SAFETY: `fds` is a valid array of pollfd for its length.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
}

/// The real-time loop; returns the app's success (Idle succeeds at --duration).
fn run(
    k: &mut Kernel,
    links: &[(HostDevice, u32)],
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
            if let Some((dev, _)) = links.iter().find(|(_, i)| *i == tx.ifindex) {
                dev.send(&tx.frame);
            }
        }
        ready = false;
        while k.poll_event().is_some() {
            ready = true;
        }
        if ready {
            continue;
        }
        let wait_ns = k.next_deadline().map_or(100_000_000, |d| d.saturating_sub(now()));
        wait_any(links, (wait_ns.div_ceil(1_000_000)).min(100) as i32);
        for (dev, ifindex) in links {
            while let Some(rx) = dev.recv(&mut frame) {
                k.dev_rx(now(), *ifindex, &frame[..rx.len]);
            }
        }
        let t = now();
        if k.next_deadline().is_some_and(|d| d <= t) {
            k.advance(t);
        }
    }
}
