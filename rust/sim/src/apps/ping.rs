//! ping over a raw ICMP socket (SOCK_RAW, IPPROTO_ICMP), as iputils ping without the
//! unprivileged ICMP socket: echo requests every interval (RFC 792), RTT per reply, loss.
//! To an IPv6 address it is ping -6: a raw IPPROTO_ICMPV6 socket, echo types 128/129
//! (RFC 4443 §4), the checksum left to the kernel (RFC 3542 §3.1).

use super::probes::{Prober, Probes};
use super::{App, AppCx, FlowReport};
use libos_kernel::Errno;
use libos_kernel::uapi::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
const IPPROTO_ICMPV6: i32 = 58;

/// The Internet checksum (RFC 1071) of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { u16::from(c[0]) << 8 };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub struct Ping {
    pub name: String,
    pub dst: IpAddr,
    /// ICMP payload bytes (ping -s), at least 8 (the send timestamp).
    pub size: usize,
    ident: u16,
    probes: Probes,
    outstanding: BTreeMap<u16, u64>,
    dups: u64,
}

impl Ping {
    pub fn new(name: &str, dst: IpAddr, interval: u64, count: Option<u64>, size: usize) -> Ping {
        let ident = name.bytes().fold(0x1d0u16, |h, b| h.rotate_left(5) ^ u16::from(b));
        Ping {
            name: name.to_string(),
            dst,
            size: size.max(8),
            ident,
            probes: Probes::new(interval, count),
            outstanding: BTreeMap::new(),
            dups: 0,
        }
    }

    fn read(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let now = cx.now;
        let mut buf = [0u8; 2048];
        loop {
            let n = match cx.k().recvfrom(now, fd, &mut buf, 0) {
                Ok((n, _)) => n,
                Err(_) => return,
            };
            let p = &buf[..n];
            let icmp = if self.dst.is_ipv6() {
                // Raw IPv6 sockets deliver the ICMPv6 message alone, its checksum verified.
                if p.len() < 8 || p[0] != ICMPV6_ECHO_REPLY {
                    continue;
                }
                p
            } else {
                // Raw IPv4 sockets deliver the IP header too.
                if p.len() < 20 || p[0] >> 4 != 4 {
                    continue;
                }
                let ihl = usize::from(p[0] & 0xf) * 4;
                let Some(icmp) = p.get(ihl..) else { continue };
                if icmp.len() < 8 || icmp[0] != ICMP_ECHO_REPLY || inet_checksum(icmp) != 0 {
                    continue;
                }
                icmp
            };
            if u16::from_be_bytes([icmp[4], icmp[5]]) != self.ident {
                continue;
            }
            let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
            match self.outstanding.remove(&seq) {
                Some(sent) => self.probes.reply(u64::from(seq), sent, now),
                None => self.dups += 1,
            }
        }
    }
}

impl Prober for Ping {
    fn probes(&mut self) -> &mut Probes {
        &mut self.probes
    }

    fn send_one(&mut self, cx: &mut AppCx<'_>, fd: i32) {
        let seq = (self.probes.seq & 0xffff) as u16;
        let mut m = vec![0u8; 8 + self.size];
        m[0] = if self.dst.is_ipv6() { ICMPV6_ECHO_REQUEST } else { ICMP_ECHO_REQUEST };
        m[4..6].copy_from_slice(&self.ident.to_be_bytes());
        m[6..8].copy_from_slice(&seq.to_be_bytes());
        m[8..16].copy_from_slice(&cx.now.to_be_bytes());
        for (i, b) in m[16..].iter_mut().enumerate() {
            *b = (i & 0xff) as u8;
        }
        if self.dst.is_ipv4() {
            let c = inet_checksum(&m);
            m[2..4].copy_from_slice(&c.to_be_bytes());
        }
        let now = cx.now;
        match cx.k().sendto(now, fd, &m, 0, Some(SocketAddr::new(self.dst, 0))) {
            Ok(_) => {}
            // Like ping, a send error (no route, no ARP reply yet) counts as a loss.
            Err(Errno::EAGAIN | Errno::EHOSTUNREACH | Errno::ENETUNREACH) => {}
            Err(e) => self.probes.error = Some(format!("sendto: {}", e.name())),
        }
        self.outstanding.insert(seq, now);
        self.probes.seq += 1;
    }
}

impl App for Ping {
    fn start(&mut self, cx: &mut AppCx<'_>) {
        let (domain, proto) =
            if self.dst.is_ipv6() { (AF_INET6, IPPROTO_ICMPV6) } else { (AF_INET, IPPROTO_ICMP) };
        self.start_probing(cx, domain, SOCK_RAW | SOCK_NONBLOCK, proto);
    }

    fn timer(&mut self, cx: &mut AppCx<'_>) {
        self.probe_timer(cx);
    }

    fn event(&mut self, cx: &mut AppCx<'_>, fd: i32, revents: u16) {
        if Some(fd) == self.probes.fd && revents & POLLIN != 0 {
            self.read(cx, fd);
        }
    }

    fn stop(&mut self, cx: &mut AppCx<'_>) {
        self.probes.close(cx);
    }

    fn events_csv(&self) -> Option<String> {
        Some(self.probes.csv())
    }

    fn report(&self) -> FlowReport {
        let p = &self.probes;
        let sent = p.seq;
        let loss = if sent > 0 { 100.0 * (sent - p.received) as f64 / sent as f64 } else { 0.0 };
        let mut note = format!("{sent} sent, {} received, {loss:.0}% loss", p.received);
        if self.dups > 0 {
            note.push_str(&format!(", {} dup", self.dups));
        }
        p.note_error(&mut note);
        FlowReport {
            name: self.name.clone(),
            kind: "ping",
            bytes: p.received * self.size as u64,
            active_ns: 0,
            retrans: None,
            rtt_us: p.rtt.summary(),
            errors: u64::from(p.error.is_some()),
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_checksum() {
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2 before complement.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(inet_checksum(&d), !0xddf2);
        let mut m = d.to_vec();
        m.extend_from_slice(&inet_checksum(&d).to_be_bytes());
        assert_eq!(inet_checksum(&m), 0);
    }
}
