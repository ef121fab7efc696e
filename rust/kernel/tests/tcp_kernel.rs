//! TCP through whole kernels: two instances on one Ethernet segment with a delayed,
//! optionally lossy link, driven in virtual time to the earlier of the next frame
//! arrival and the next kernel deadline (bounded steps), plus loopback in one kernel.

use libos_kernel::uapi::*;
use libos_kernel::{DeviceConfig, Errno, EthernetAddress, Kernel, KernelConfig, Nanos};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const MS: Nanos = 1_000_000;
const SEC: Nanos = 1_000 * MS;
const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

fn host(seed: u64, n: u32, ip: Ipv4Addr) -> (Kernel, u32) {
    let mut k = Kernel::new(KernelConfig { seed });
    let eth = k.dev_add(DeviceConfig::ethernet("eth0", EthernetAddress::local(n))).unwrap();
    k.dev_set_up(0, eth, true).unwrap();
    k.addr_add(0, eth, IpAddr::V4(ip), 24).unwrap();
    (k, eth)
}

/// Decides a frame's fate: true drops it (the simple case).
type Drop = Box<dyn FnMut(bool, &[u8]) -> bool>;
/// Full control: the extra delays of each copy to deliver (empty: drop; two: duplicate).
type Impair = Box<dyn FnMut(bool, &[u8]) -> Vec<Nanos>>;

struct Net2 {
    a: Kernel,
    b: Kernel,
    a_eth: u32,
    b_eth: u32,
    now: Nanos,
    delay: Nanos,
    /// (arrival, sequence) -> (to_b, frame).
    link: BTreeMap<(Nanos, u64), (bool, Vec<u8>)>,
    sent: u64,
    drop: Option<Drop>,
    impair: Option<Impair>,
    /// Every frame put on the wire, in order, with its time (determinism checks, pcap).
    wire: Vec<(Nanos, Vec<u8>)>,
}

impl Net2 {
    fn new(seed: u64) -> Net2 {
        let (a, a_eth) = host(seed, 1, A_IP);
        let (b, b_eth) = host(seed + 1, 2, B_IP);
        Net2 {
            a,
            b,
            a_eth,
            b_eth,
            now: 0,
            delay: 5 * MS,
            link: BTreeMap::new(),
            sent: 0,
            drop: None,
            impair: None,
            wire: Vec::new(),
        }
    }

    fn collect(&mut self) {
        while let Some(t) = self.a.poll_transmit() {
            self.put(true, t.frame.to_vec());
        }
        while let Some(t) = self.b.poll_transmit() {
            self.put(false, t.frame.to_vec());
        }
        while self.a.poll_event().is_some() {}
        while self.b.poll_event().is_some() {}
    }

    fn put(&mut self, from_a: bool, f: Vec<u8>) {
        self.wire.push((self.now, f.clone()));
        if let Some(d) = self.drop.as_mut()
            && d(from_a, &f)
        {
            return;
        }
        let delays = match self.impair.as_mut() {
            Some(i) => i(from_a, &f),
            None => vec![0],
        };
        for d in delays {
            self.sent += 1;
            self.link.insert((self.now + self.delay + d, self.sent), (from_a, f.clone()));
        }
    }

    fn run_for(&mut self, d: Nanos) {
        let end = self.now + d;
        self.collect();
        for _ in 0..5_000_000 {
            let next = [
                self.link.keys().next().map(|x| x.0),
                self.a.next_deadline(),
                self.b.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(t) = next.filter(|&t| t <= end) else { break };
            self.now = self.now.max(t);
            while self.link.keys().next().is_some_and(|x| x.0 <= self.now) {
                let (_, (to_b, f)) = self.link.pop_first().unwrap();
                if to_b {
                    self.b.dev_rx(self.now, self.b_eth, &f);
                } else {
                    self.a.dev_rx(self.now, self.a_eth, &f);
                }
                self.collect();
            }
            self.a.advance(self.now);
            self.b.advance(self.now);
            self.collect();
        }
        self.now = end;
    }

    /// Writes the frames seen so far as a pcap (for tshark checks by hand:
    /// `TCP_PCAP=/tmp/x.pcap cargo test ...`).
    fn dump_pcap(&self) {
        let Ok(path) = std::env::var("TCP_PCAP") else { return };
        let mut hdr = Vec::new();
        hdr.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        hdr.extend_from_slice(&2u16.to_le_bytes());
        hdr.extend_from_slice(&4u16.to_le_bytes());
        hdr.extend_from_slice(&0i32.to_le_bytes());
        hdr.extend_from_slice(&0u32.to_le_bytes());
        hdr.extend_from_slice(&65535u32.to_le_bytes());
        hdr.extend_from_slice(&1u32.to_le_bytes());
        for (t, f) in &self.wire {
            hdr.extend_from_slice(&((t / 1_000_000_000) as u32).to_le_bytes());
            hdr.extend_from_slice(&((t % 1_000_000_000 / 1000) as u32).to_le_bytes());
            hdr.extend_from_slice(&(f.len() as u32).to_le_bytes());
            hdr.extend_from_slice(&(f.len() as u32).to_le_bytes());
            hdr.extend_from_slice(f);
        }
        std::fs::write(path, hdr).expect("pcap written");
    }

    fn k(&mut self, a: bool) -> &mut Kernel {
        if a { &mut self.a } else { &mut self.b }
    }
}

fn tcp(k: &mut Kernel) -> i32 {
    k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap()
}

/// a connects to b:80 and b accepts: (net, client fd on a, server fd on b).
fn connected(seed: u64) -> (Net2, i32, i32) {
    let mut n = Net2::new(seed);
    let l = tcp(&mut n.b);
    n.b.bind(l, sa(Ipv4Addr::UNSPECIFIED, 80)).unwrap();
    n.b.listen(l, 8).unwrap();
    let c = tcp(&mut n.a);
    assert_eq!(n.a.connect(n.now, c, sa(B_IP, 80)), Err(Errno::EINPROGRESS));
    n.run_for(100 * MS);
    assert_eq!(n.a.poll(c).unwrap() & POLLOUT, POLLOUT);
    let (s, peer) = n.b.accept(n.now, l, 0).unwrap();
    assert_eq!(peer.ip(), IpAddr::V4(A_IP));
    (n, c, s)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8 ^ (i >> 12) as u8).collect()
}

fn transfer(n: &mut Net2, from_a: bool, s: i32, r: i32, data: &[u8], limit: Nanos) -> Vec<u8> {
    let (mut sent, mut got) = (0, Vec::new());
    let end = n.now + limit;
    let mut buf = vec![0u8; 65536];
    while n.now < end && got.len() < data.len() {
        let now = n.now;
        if sent < data.len()
            && let Ok(k) = n.k(from_a).send(now, s, &data[sent..], 0)
        {
            sent += k;
        }
        n.run_for(2 * MS);
        let now = n.now;
        while let Ok(k) = n.k(!from_a).recv(now, r, &mut buf, 0) {
            if k == 0 {
                break;
            }
            got.extend_from_slice(&buf[..k]);
        }
    }
    got
}

#[test]
fn handshake_and_data_over_ethernet() {
    let (mut n, c, s) = connected(1);
    assert_eq!(n.a.send(n.now, c, b"GET / HTTP/1.0\r\n\r\n", 0), Ok(18));
    n.run_for(50 * MS);
    let mut buf = [0u8; 100];
    assert_eq!(n.b.recv(n.now, s, &mut buf, 0), Ok(18));
    assert_eq!(&buf[..4], b"GET ");
    assert_eq!(n.b.getpeername(s).unwrap(), n.a.getsockname(c).unwrap());
    let info = n.a.tcp_info(c).unwrap();
    assert_eq!(info.state, 1);
    assert_eq!(info.snd_mss, 1448);
    assert_eq!(info.snd_cwnd, 10);
    // getsockopt(TCP_INFO) in Linux's layout, truncated to the caller's buffer.
    let mut raw = [0u8; 104];
    assert_eq!(n.a.getsockopt(c, SOL_TCP, TCP_INFO, &mut raw), Ok(104));
    assert_eq!(raw[0], 1);
    assert_eq!(u32::from_ne_bytes(raw[16..20].try_into().unwrap()), 1448);
}

#[test]
fn bulk_with_loss_over_ethernet() {
    let (mut n, c, s) = connected(2);
    let mut k = 0u32;
    // Drop every 97th frame from a (data), never ARP.
    n.drop = Some(Box::new(move |from_a, f| {
        if from_a && f.len() > 100 {
            k += 1;
            return k.is_multiple_of(97);
        }
        false
    }));
    let data = pattern(3_000_000);
    let got = transfer(&mut n, true, c, s, &data, 120 * SEC);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert!(n.a.tcp_info(c).unwrap().total_retrans > 0);
    // Receive-buffer autotuning opened the window beyond the initial 64 KB.
    let rs = n.b.tcp_info(s).unwrap().rcv_space;
    assert!(rs > 65536, "rcv_space {rs}");
}

#[test]
fn goodput_fills_a_long_pipe() {
    let (mut n, c, s) = connected(5);
    n.delay = 50 * MS;
    let data = pattern(20_000_000);
    let t0 = n.now;
    let got = transfer(&mut n, true, c, s, &data, 120 * SEC);
    assert!(got == data);
    let secs = (n.now - t0) as f64 / 1e9;
    let info = n.a.tcp_info(c).unwrap();
    eprintln!("20 MB over 100 ms RTT in {secs:.2} s, cwnd {}", info.snd_cwnd);
    // Unlimited link: slow start then window-limited; well under 10 s.
    assert!(secs < 10.0, "{secs}");
}

#[test]
fn close_handshake_and_eof() {
    let (mut n, c, s) = connected(3);
    let local = n.a.getsockname(c).unwrap();
    n.a.send(n.now, c, b"bye", 0).unwrap();
    n.a.close(n.now, c).unwrap();
    n.run_for(100 * MS);
    let mut buf = [0u8; 10];
    assert_eq!(n.b.recv(n.now, s, &mut buf, 0), Ok(3));
    assert_eq!(n.b.recv(n.now, s, &mut buf, 0), Ok(0));
    assert_ne!(n.b.poll(s).unwrap() & POLLRDHUP, 0);
    n.b.close(n.now, s).unwrap();
    n.run_for(100 * MS);
    // TIME_WAIT holds the port (bind without SO_REUSEADDR fails) for 60 s.
    let x = tcp(&mut n.a);
    assert_eq!(n.a.bind(x, local), Err(Errno::EADDRINUSE));
    n.run_for(61 * SEC);
    assert_eq!(n.a.bind(x, local), Ok(()));
}

#[test]
fn refused_over_ethernet() {
    let mut n = Net2::new(4);
    let c = tcp(&mut n.a);
    assert_eq!(n.a.connect(0, c, sa(B_IP, 9)), Err(Errno::EINPROGRESS));
    n.run_for(100 * MS);
    assert_ne!(n.a.poll(c).unwrap() & POLLERR, 0);
    assert_eq!(n.a.getsockopt_int(c, SOL_SOCKET, SO_ERROR), Ok(Errno::ECONNREFUSED.0));
}

#[test]
fn loopback_connection() {
    let mut k = Kernel::new(KernelConfig { seed: 9 });
    let l = tcp(&mut k);
    k.bind(l, sa(Ipv4Addr::LOCALHOST, 5000)).unwrap();
    k.listen(l, 4).unwrap();
    let c = tcp(&mut k);
    assert_eq!(k.connect(0, c, sa(Ipv4Addr::LOCALHOST, 5000)), Err(Errno::EINPROGRESS));
    let (s, _) = k.accept(0, l, 0).unwrap();
    assert_eq!(k.send(0, c, b"over lo", 0), Ok(7));
    let mut buf = [0u8; 16];
    assert_eq!(k.recv(0, s, &mut buf, 0), Ok(7));
    assert_eq!(&buf[..7], b"over lo");
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let (mut n, c, s) = connected(seed);
        let data = pattern(200_000);
        let got = transfer(&mut n, true, c, s, &data, 30 * SEC);
        assert!(got == data);
        n.wire
    };
    assert_eq!(run(11), run(11));
}

#[test]
fn bulk_over_lossy_reordering_duplicating_long_link() {
    let (mut n, c, s) = connected(6);
    n.delay = 20 * MS;
    let mut x: u64 = 0x9e3779b97f4a7c15;
    n.impair = Some(Box::new(move |_, f| {
        if f.len() < 100 {
            return vec![0];
        }
        // xorshift: 1% loss, 1% duplicated, 2% delayed 3 ms (reordered).
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 100 {
            0 => vec![],
            1 => vec![0, 1_000_000],
            2 | 3 => vec![3 * MS],
            _ => vec![0],
        }
    }));
    let data = pattern(5_000_000);
    let got = transfer(&mut n, true, c, s, &data, 300 * SEC);
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    // And back the other way on the same connection.
    let back = pattern(1_000_000);
    let got = transfer(&mut n, false, s, c, &back, 300 * SEC);
    assert!(got == back);
    n.a.close(n.now, c).unwrap();
    n.b.close(n.now, s).unwrap();
    n.run_for(SEC);
    n.dump_pcap();
}

#[test]
fn loopback_mss_like_linux() {
    let mut k = Kernel::new(KernelConfig { seed: 10 });
    let l = tcp(&mut k);
    k.bind(l, sa(Ipv4Addr::LOCALHOST, 5001)).unwrap();
    k.listen(l, 4).unwrap();
    let c = tcp(&mut k);
    let _ = k.connect(0, c, sa(Ipv4Addr::LOCALHOST, 5001));
    let info = k.tcp_info(c).unwrap();
    // Linux on lo: advmss 65483 + 12 = 65495, snd_mss 65483 with timestamps.
    assert_eq!(info.advmss, 65495);
    assert_eq!(info.snd_mss, 65483);
    let big = vec![7u8; 1_000_000];
    let (s, _) = k.accept(0, l, 0).unwrap();
    let (mut sent, mut got) = (0, 0);
    let mut buf = vec![0u8; 1 << 16];
    let mut now = 0;
    for _ in 0..10_000 {
        if sent < big.len()
            && let Ok(n) = k.send(now, c, &big[sent..], 0)
        {
            sent += n;
        }
        while let Ok(n) = k.recv(now, s, &mut buf, 0) {
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == big.len() {
            break;
        }
        now = k.next_deadline().unwrap_or(now + MS).max(now + MS);
        k.advance(now);
    }
    assert_eq!(got, big.len());
}

/// BBR chosen with TCP_CONGESTION on a connected socket, through whole kernels with 1 %
/// of data frames lost: the stream arrives intact, TCP_INFO shows a pacing rate, and the
/// run (BBR's random gain-cycle phase included) is a function of the seed.
#[test]
fn bbr_through_kernels_with_loss_is_deterministic() {
    let run = |seed| {
        let (mut n, c, s) = connected(seed);
        n.delay = 20 * MS;
        let now = n.now;
        n.a.setsockopt(now, c, SOL_TCP, TCP_CONGESTION, b"bbr\0").unwrap();
        let mut name = [0u8; 16];
        n.a.getsockopt(c, SOL_TCP, TCP_CONGESTION, &mut name).unwrap();
        assert_eq!(&name[..4], b"bbr\0");
        let mut k = 0u32;
        n.drop = Some(Box::new(move |from_a, f| {
            if from_a && f.len() > 100 {
                k += 1;
                return k.is_multiple_of(101);
            }
            false
        }));
        let data = pattern(3_000_000);
        let got = transfer(&mut n, true, c, s, &data, 120 * SEC);
        assert!(got == data, "{} of {} bytes", got.len(), data.len());
        let info = n.a.tcp_info(c).unwrap();
        assert!(info.total_retrans > 0);
        assert!(info.pacing_rate > 0 && info.pacing_rate < u64::MAX, "{info:?}");
        assert_eq!(info.max_pacing_rate, u64::MAX);
        assert!(info.delivered > 2000 && info.min_rtt >= 10_000, "{info:?}");
        n.wire
    };
    assert_eq!(run(21), run(21));
}
