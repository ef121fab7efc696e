//! smoltcp as a comparison node: one `Interface` with one Ethernet device whose frames
//! the host moves (the same shape as a libos `Kernel`: frames in with `dev_rx`, frames
//! out with `poll_transmit`, timers through `next_deadline`/`advance`), plus the bulk
//! sender or sink application living beside it.

#![allow(dead_code)]

use libos_sim::apps::pattern;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use std::collections::VecDeque;

/// A device whose queues the host fills and drains.
pub struct QueueDevice {
    pub rx: VecDeque<Vec<u8>>,
    pub tx: VecDeque<Vec<u8>>,
    /// IP MTU; the Ethernet header comes on top.
    pub mtu: usize,
}

impl QueueDevice {
    pub fn new(mtu: usize) -> QueueDevice {
        QueueDevice { rx: VecDeque::new(), tx: VecDeque::new(), mtu }
    }
}

pub struct RxTok(Vec<u8>);
pub struct TxTok<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for RxTok {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = RxTok;
    type TxToken<'a> = TxTok<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        // Checksums computed and verified in software, as libos does.
        caps
    }

    fn receive(&mut self, _t: Instant) -> Option<(RxTok, TxTok<'_>)> {
        let f = self.rx.pop_front()?;
        Some((RxTok(f), TxTok(&mut self.tx)))
    }

    fn transmit(&mut self, _t: Instant) -> Option<TxTok<'_>> {
        Some(TxTok(&mut self.tx))
    }
}

/// What the application beside the stack does.
pub enum SmolApp {
    None,
    /// Sends `remaining` bytes of the pattern `i as u8` then closes.
    Bulk {
        remaining: u64,
        sent: u64,
    },
    /// Accepts one connection and reads everything.
    Sink {
        received: u64,
        bad: u64,
    },
}

pub struct SmolNode {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    pub dev: QueueDevice,
    pub tcp: Option<SocketHandle>,
    pub app: SmolApp,
    /// `poll_at` as of the last poll, in ns (smoltcp needs `&mut` to compute it).
    pub deadline: Option<u64>,
    /// Set when the sink saw the sender's FIN.
    pub done_at: Option<u64>,
    /// Nagle's algorithm on the node's socket (smoltcp's default: on).
    pub nagle: bool,
}

pub fn instant(now_ns: u64) -> Instant {
    Instant::from_micros((now_ns / 1000) as i64)
}

impl SmolNode {
    /// A node with one Ethernet device holding `addr/prefix` (IPv4).
    pub fn new(seed: u64, mac: [u8; 6], addr: [u8; 4], prefix: u8, now: u64) -> SmolNode {
        let mut dev = QueueDevice::new(1500);
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut dev, instant(now));
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::from(addr)), prefix));
        });
        SmolNode {
            iface,
            sockets: SocketSet::new(Vec::new()),
            dev,
            tcp: None,
            app: SmolApp::None,
            deadline: None,
            done_at: None,
            nagle: true,
        }
    }

    fn tcp_socket(&self, buf: usize) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0u8; buf]);
        let tx = tcp::SocketBuffer::new(vec![0u8; buf]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_congestion_control(tcp::CongestionControl::Cubic);
        s.set_nagle_enabled(self.nagle);
        s
    }

    /// A sink listening on `port` with `buf` bytes of buffer each way.
    pub fn listen(&mut self, port: u16, buf: usize) {
        let mut s = self.tcp_socket(buf);
        s.listen(port).expect("listen");
        self.tcp = Some(self.sockets.add(s));
        self.app = SmolApp::Sink { received: 0, bad: 0 };
        // Ask the engine for a first poll.
        self.deadline = Some(0);
    }

    /// A bulk sender of `bytes` to `dst:port`.
    pub fn connect(&mut self, dst: [u8; 4], port: u16, bytes: u64, buf: usize) {
        let mut s = self.tcp_socket(buf);
        let cx = self.iface.context();
        s.connect(cx, (Ipv4Address::from(dst), port), 49152).expect("connect");
        self.tcp = Some(self.sockets.add(s));
        self.app = SmolApp::Bulk { remaining: bytes, sent: 0 };
        self.deadline = Some(0);
    }

    pub fn dev_rx(&mut self, now: u64, frame: &[u8]) {
        self.dev.rx.push_back(frame.to_vec());
        self.poll(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.dev.tx.pop_front()
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.deadline
    }

    fn update_deadline(&mut self, now: u64) {
        let at = self.iface.poll_at(instant(now), &self.sockets);
        // smoltcp counts microseconds and says "now" (0) when it has work it could not
        // do yet; never ask to be woken before the next microsecond after a poll.
        self.deadline =
            at.map(|t| (t.total_micros().max(0) as u64 * 1000).max(now / 1000 * 1000 + 1000));
    }

    pub fn advance(&mut self, now: u64) {
        self.poll(now);
    }

    /// Runs the stack, then the application, then the stack again if the
    /// application queued or consumed data.
    fn poll(&mut self, now: u64) {
        let t = instant(now);
        self.iface.poll(t, &mut self.dev, &mut self.sockets);
        if self.run_app(now) {
            self.iface.poll(t, &mut self.dev, &mut self.sockets);
        }
        self.update_deadline(now);
    }

    fn run_app(&mut self, now: u64) -> bool {
        let Some(h) = self.tcp else { return false };
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        match &mut self.app {
            SmolApp::None => false,
            SmolApp::Bulk { remaining, sent } => {
                let mut moved = false;
                while *remaining > 0 && s.can_send() {
                    let n = s
                        .send(|buf| {
                            let want = buf.len().min(*remaining as usize);
                            let mut n = 0;
                            while n < want {
                                let src = pattern::slice(*sent + n as u64, want - n);
                                buf[n..n + src.len()].copy_from_slice(src);
                                n += src.len();
                            }
                            (n, n)
                        })
                        .unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    *remaining -= n as u64;
                    *sent += n as u64;
                    moved = true;
                }
                if *remaining == 0 && s.may_send() && s.send_queue() == 0 {
                    s.close();
                    moved = true;
                }
                moved
            }
            SmolApp::Sink { received, bad } => {
                let mut moved = false;
                while s.can_recv() {
                    let base = *received;
                    let n = s
                        .recv(|buf| {
                            *bad += pattern::mismatches(base, buf);
                            (buf.len(), buf.len())
                        })
                        .unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    *received += n as u64;
                    moved = true;
                }
                let fin_seen = matches!(
                    s.state(),
                    tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closed
                );
                if fin_seen && !s.can_recv() && self.done_at.is_none() {
                    self.done_at = Some(now);
                    s.close();
                    moved = true;
                }
                moved
            }
        }
    }

    /// (bytes received, bytes that differ from the pattern) for a sink.
    pub fn received(&self) -> (u64, u64) {
        match self.app {
            SmolApp::Sink { received, bad, .. } => (received, bad),
            _ => (0, 0),
        }
    }
}
