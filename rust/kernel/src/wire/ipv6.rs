//! The IPv6 fixed header (RFC 8200 §3) and the extension headers a host walks past
//! (§4: hop-by-hop and destination options, routing, fragment), and the address facts
//! NDP needs (solicited-node groups RFC 4291 §2.7.1, multicast MACs RFC 2464 §7, EUI-64
//! interface identifiers RFC 4291 App. A).

use super::{Error, EthernetAddress, Result};
use std::net::Ipv6Addr;

mod field {
    use core::ops::Range;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST.end;

/// The minimum link MTU every IPv6 link supports (RFC 8200 §5).
pub const MIN_MTU: usize = 1280;

/// Next-header values (`include/uapi/linux/in6.h`).
pub mod nexthdr {
    pub const HOP_BY_HOP: u8 = 0;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ICMPV6: u8 = 58;
    pub const NONE: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
}

/// A read-only view of an IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Checks the version and that the payload length fits the buffer (RFC 8200 §3).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Ipv6Packet { buffer };
        let b = p.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        if HEADER_LEN + usize::from(p.payload_len()) > b.len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn word0(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::PAYLOAD_LEN];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC])
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST])
    }

    /// The payload, cut to the header's length (link padding dropped).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// The fixed header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: u8,
    pub payload_len: usize,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Ipv6Repr {
        Ipv6Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: usize::from(p.payload_len()),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        }
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first `HEADER_LEN` bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) {
        let w0 = 6u32 << 28 | u32::from(self.traffic_class) << 20 | (self.flow_label & 0xf_ffff);
        buf[field::VER_TC_FLOW].copy_from_slice(&w0.to_be_bytes());
        buf[field::PAYLOAD_LEN].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
        buf[field::NEXT_HEADER] = self.next_header;
        buf[field::HOP_LIMIT] = self.hop_limit;
        buf[field::SRC].copy_from_slice(&self.src_addr.octets());
        buf[field::DST].copy_from_slice(&self.dst_addr.octets());
    }
}

/// Where the upper-layer payload starts after the extension headers (RFC 8200 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    pub protocol: u8,
    /// Offset of the upper-layer header in the IPv6 payload.
    pub offset: usize,
    /// The packet is a fragment (RFC 8200 §4.5), with this (offset, more, id).
    pub fragment: Option<(u16, bool, u32)>,
}

/// Why the extension-header walk stopped short, with the ICMPv6 Parameter Problem
/// pointer Linux sends (RFC 8200 §4: code 0 bad field, 1 unknown next header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtError {
    Truncated,
    /// Hop-by-hop not first (`ipv6_parse_hopopts` only at offset 0), or an option with
    /// the "discard and send Parameter Problem" action bits: code and pointer.
    Problem {
        code: u8,
        pointer: u32,
    },
    /// A type 0 routing header with segments left (RFC 5095: deprecated, refused).
    RoutingType0 {
        pointer: u32,
    },
    /// An unknown option whose action bits say "discard silently" (01).
    Discard,
}

/// Walks hop-by-hop, routing, destination-options and fragment headers
/// (`ipv6_rcv` + `ip6_protocol_deliver_rcu`'s loop) to the upper layer.
pub fn walk_extensions(first: u8, payload: &[u8]) -> core::result::Result<UpperLayer, ExtError> {
    let mut nh = first;
    let mut off = 0usize;
    let mut fragment = None;
    // A chain longer than the packet could hold is impossible: bound the loop.
    for _ in 0..64 {
        match nh {
            nexthdr::HOP_BY_HOP | nexthdr::DEST_OPTS | nexthdr::ROUTING => {
                if nh == nexthdr::HOP_BY_HOP && off != 0 {
                    return Err(ExtError::Problem { code: 1, pointer: HEADER_LEN as u32 });
                }
                let h = payload.get(off..off + 8).ok_or(ExtError::Truncated)?;
                let len = (usize::from(h[1]) + 1) * 8;
                let body = payload.get(off..off + len).ok_or(ExtError::Truncated)?;
                if nh == nexthdr::ROUTING && body[2] == 0 && body[3] != 0 {
                    let pointer = (HEADER_LEN + off + 2) as u32;
                    return Err(ExtError::RoutingType0 { pointer });
                }
                if nh != nexthdr::ROUTING {
                    check_options(&body[2..], HEADER_LEN + off + 2)?;
                }
                nh = body[0];
                off += len;
            }
            nexthdr::FRAGMENT => {
                let h = payload.get(off..off + 8).ok_or(ExtError::Truncated)?;
                let word = u16::from_be_bytes([h[2], h[3]]);
                let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                fragment = Some((word & !7, word & 1 != 0, id));
                nh = h[0];
                off += 8;
            }
            protocol => return Ok(UpperLayer { protocol, offset: off, fragment }),
        }
    }
    Err(ExtError::Truncated)
}

/// TLV options (RFC 8200 §4.2): Pad1/PadN skipped, unknown options acted on by their two
/// high bits (00 skip, 01 discard, 10/11 discard with Parameter Problem code 2).
fn check_options(mut opts: &[u8], mut at: usize) -> core::result::Result<(), ExtError> {
    while let Some(&ty) = opts.first() {
        if ty == 0 {
            opts = &opts[1..];
            at += 1;
            continue;
        }
        let len = usize::from(*opts.get(1).ok_or(ExtError::Truncated)?) + 2;
        if len > opts.len() {
            return Err(ExtError::Truncated);
        }
        match (ty, ty >> 6) {
            (1, _) | (_, 0) => {}
            (_, 1) => return Err(ExtError::Discard),
            // 10 and 11 (the latter only for unicast destinations, which the caller
            // checks before answering).
            _ => return Err(ExtError::Problem { code: 2, pointer: at as u32 }),
        }
        opts = &opts[len..];
        at += len;
    }
    Ok(())
}

/// The solicited-node multicast group of `a` (ff02::1:ffXX:XXXX, RFC 4291 §2.7.1).
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The Ethernet address of an IPv6 multicast group: 33:33 and its low 32 bits (RFC 2464 §7).
pub fn multicast_mac(a: Ipv6Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The modified EUI-64 interface identifier of a MAC (RFC 4291 App. A): ff:fe in the
/// middle and the universal/local bit inverted.
pub fn eui64(mac: EthernetAddress) -> [u8; 8] {
    let m = mac.0;
    [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

/// `prefix` (its first 64 bits) with the interface identifier `iid`.
pub fn with_iid(prefix: Ipv6Addr, iid: [u8; 8]) -> Ipv6Addr {
    let mut o = prefix.octets();
    o[8..].copy_from_slice(&iid);
    Ipv6Addr::from(o)
}

/// Link-local unicast fe80::/10 (RFC 4291 §2.5.6).
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Whether `a` is in `prefix/len`.
pub fn in_prefix(a: Ipv6Addr, prefix: Ipv6Addr, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
    u128::from(a) & mask == u128::from(prefix) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    // An ICMPv6 echo request header from fe80::1 to ff02::1, hop limit 64, 8 bytes.
    const FIXTURE: [u8; 48] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x01, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80, 0x00, 0x7f,
        0xbc, 0x12, 0x34, 0x00, 0x01,
    ];

    #[test]
    fn fixture_round_trips() {
        let p = Ipv6Packet::new_checked(&FIXTURE[..]).unwrap();
        let r = Ipv6Repr::parse(&p);
        assert_eq!(r.src_addr, "fe80::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.dst_addr, "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!((r.next_header, r.hop_limit, r.payload_len), (58, 64, 8));
        let mut out = [0u8; 40];
        r.emit(&mut out);
        assert_eq!(out[..], FIXTURE[..40]);
        assert_eq!(p.payload(), &FIXTURE[40..]);
    }

    #[test]
    fn bad_version_and_short_payload_rejected() {
        let mut b = FIXTURE;
        b[0] = 0x40;
        assert_eq!(Ipv6Packet::new_checked(&b[..]).unwrap_err(), Error::Malformed);
        assert_eq!(Ipv6Packet::new_checked(&FIXTURE[..47]).unwrap_err(), Error::Truncated);
        assert_eq!(Ipv6Packet::new_checked(&FIXTURE[..39]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn extension_chain_walked_to_the_upper_layer() {
        // Hop-by-hop (PadN), destination options (Pad1 x6), fragment, then UDP.
        let mut p = vec![nexthdr::DEST_OPTS, 0, 1, 4, 0, 0, 0, 0];
        p.extend([nexthdr::FRAGMENT, 0, 0, 0, 0, 0, 0, 0]);
        p.extend([nexthdr::UDP, 0, 0x00, 0x09, 0, 0, 0, 7]);
        p.extend([0u8; 8]);
        let u = walk_extensions(nexthdr::HOP_BY_HOP, &p).unwrap();
        assert_eq!(u, UpperLayer { protocol: 17, offset: 24, fragment: Some((8, true, 7)) });
    }

    #[test]
    fn bad_chains_refused() {
        // Hop-by-hop after another header.
        let p = [nexthdr::HOP_BY_HOP, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0];
        assert!(matches!(
            walk_extensions(nexthdr::DEST_OPTS, &p),
            Err(ExtError::Problem { code: 1, .. })
        ));
        // Type 0 routing header with segments left.
        let p = [59, 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(
            walk_extensions(nexthdr::ROUTING, &p),
            Err(ExtError::RoutingType0 { pointer: 42 })
        ));
        // An unknown option whose action is "discard and report" (high bits 10).
        let p = [59, 0, 0x80, 2, 0, 0, 1, 0];
        assert!(matches!(
            walk_extensions(nexthdr::DEST_OPTS, &p),
            Err(ExtError::Problem { code: 2, pointer: 42 })
        ));
        // Truncated.
        assert_eq!(walk_extensions(nexthdr::DEST_OPTS, &[59, 1, 0, 0]), Err(ExtError::Truncated));
    }

    #[test]
    fn address_helpers() {
        let a: Ipv6Addr = "2001:db8::0211:22ff:fe33:4455".parse().unwrap();
        assert_eq!(solicited_node(a), "ff02::1:ff33:4455".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(solicited_node(a)).0, [0x33, 0x33, 0xff, 0x33, 0x44, 0x55]);
        let mac = EthernetAddress([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(with_iid("2001:db8::".parse().unwrap(), eui64(mac)), a);
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
        assert!(in_prefix(a, "2001:db8::".parse().unwrap(), 64));
        assert!(!in_prefix(a, "2001:db9::".parse().unwrap(), 64));
    }
}
