//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages carried in it (RFC 4861 §4):
//! echo, the four error types, router and neighbour solicitations and advertisements
//! with their link-layer address, prefix-information and MTU options (§4.6).

use super::checksum;
use super::{Error, EthernetAddress, Result};
use std::net::{IpAddr, Ipv6Addr};

/// ICMPv6 types (`include/uapi/linux/icmpv6.h`).
pub mod ty {
    pub const DEST_UNREACH: u8 = 1;
    pub const PKT_TOOBIG: u8 = 2;
    pub const TIME_EXCEED: u8 = 3;
    pub const PARAMPROB: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    pub const MLD2_REPORT: u8 = 143;
    pub const ROUTER_SOLICIT: u8 = 133;
    pub const ROUTER_ADVERT: u8 = 134;
    pub const NEIGHBOUR_SOLICIT: u8 = 135;
    pub const NEIGHBOUR_ADVERT: u8 = 136;
    pub const REDIRECT: u8 = 137;
}

/// NDP option types (RFC 4861 §4.6).
mod opt {
    pub const SOURCE_LLADDR: u8 = 1;
    pub const TARGET_LLADDR: u8 = 2;
    pub const PREFIX_INFO: u8 = 3;
    pub const MTU: u8 = 5;
}

pub const HEADER_LEN: usize = 8;

/// A Prefix Information option (RFC 4861 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub on_link: bool,
    pub autonomous: bool,
    /// Seconds; u32::MAX is infinity.
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

/// An ICMPv6 message, parsed or to be emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Icmpv6Repr<'a> {
    EchoRequest {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq: u16,
        data: &'a [u8],
    },
    /// Destination unreachable, packet too big (with `param` = MTU), time exceeded,
    /// parameter problem (with `param` = pointer): the quoted packet in `data`.
    Error {
        ty: u8,
        code: u8,
        param: u32,
        data: &'a [u8],
    },
    RouterSolicit {
        lladdr: Option<EthernetAddress>,
    },
    RouterAdvert {
        hop_limit: u8,
        managed: bool,
        other: bool,
        router_lifetime: u16,
        reachable_ms: u32,
        retrans_ms: u32,
        lladdr: Option<EthernetAddress>,
        mtu: Option<u32>,
        /// Up to the first 4 prefix options (more are ignored).
        prefixes: [Option<PrefixInfo>; 4],
    },
    NeighborSolicit {
        target: Ipv6Addr,
        lladdr: Option<EthernetAddress>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        target: Ipv6Addr,
        lladdr: Option<EthernetAddress>,
    },
    /// Any other type: recognised as well formed, not acted on.
    Other {
        ty: u8,
        code: u8,
    },
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// The NDP options after a message's fixed part: (source or target lladdr, MTU,
/// prefixes). Malformed: a zero-length option (RFC 4861 §4.6: silently discard).
struct NdOptions {
    lladdr: Option<EthernetAddress>,
    mtu: Option<u32>,
    prefixes: [Option<PrefixInfo>; 4],
}

fn parse_options(mut b: &[u8], lladdr_type: u8) -> Result<NdOptions> {
    let mut o = NdOptions { lladdr: None, mtu: None, prefixes: [None; 4] };
    let mut n_prefix = 0;
    while !b.is_empty() {
        let len = usize::from(*b.get(1).ok_or(Error::Truncated)?) * 8;
        if len == 0 {
            return Err(Error::Malformed);
        }
        let body = b.get(..len).ok_or(Error::Truncated)?;
        match body[0] {
            t if t == lladdr_type && len == 8 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(&body[2..8]);
                o.lladdr = Some(EthernetAddress(m));
            }
            opt::MTU if len == 8 => o.mtu = Some(be32(&body[4..8])),
            opt::PREFIX_INFO if len == 32 && n_prefix < 4 => {
                o.prefixes[n_prefix] = Some(PrefixInfo {
                    prefix_len: body[2],
                    on_link: body[3] & 0x80 != 0,
                    autonomous: body[3] & 0x40 != 0,
                    valid_lifetime: be32(&body[4..8]),
                    preferred_lifetime: be32(&body[8..12]),
                    prefix: v6(&body[16..32]),
                });
                n_prefix += 1;
            }
            _ => {}
        }
        b = &b[len..];
    }
    Ok(o)
}

impl<'a> Icmpv6Repr<'a> {
    /// Parses and verifies the checksum over the pseudo-header (mandatory, RFC 4443
    /// §2.3). NDP messages need their fixed part and well-formed options.
    pub fn parse(src: Ipv6Addr, dst: Ipv6Addr, b: &'a [u8]) -> Result<Icmpv6Repr<'a>> {
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if !checksum::verify_transport(&IpAddr::V6(src), &IpAddr::V6(dst), 58, b) {
            return Err(Error::Checksum);
        }
        let (t, code) = (b[0], b[1]);
        let rest = &b[4..];
        Ok(match t {
            ty::ECHO_REQUEST => {
                Icmpv6Repr::EchoRequest { ident: be16(rest), seq: be16(&rest[2..]), data: &b[8..] }
            }
            ty::ECHO_REPLY => {
                Icmpv6Repr::EchoReply { ident: be16(rest), seq: be16(&rest[2..]), data: &b[8..] }
            }
            ty::DEST_UNREACH | ty::PKT_TOOBIG | ty::TIME_EXCEED | ty::PARAMPROB => {
                Icmpv6Repr::Error { ty: t, code, param: be32(rest), data: &b[8..] }
            }
            ty::ROUTER_SOLICIT => {
                let o = parse_options(&b[8..], opt::SOURCE_LLADDR)?;
                Icmpv6Repr::RouterSolicit { lladdr: o.lladdr }
            }
            ty::ROUTER_ADVERT => {
                let f = b.get(..16).ok_or(Error::Truncated)?;
                let o = parse_options(&b[16..], opt::SOURCE_LLADDR)?;
                Icmpv6Repr::RouterAdvert {
                    hop_limit: f[4],
                    managed: f[5] & 0x80 != 0,
                    other: f[5] & 0x40 != 0,
                    router_lifetime: be16(&f[6..]),
                    reachable_ms: be32(&f[8..]),
                    retrans_ms: be32(&f[12..]),
                    lladdr: o.lladdr,
                    mtu: o.mtu,
                    prefixes: o.prefixes,
                }
            }
            ty::NEIGHBOUR_SOLICIT => {
                let f = b.get(..24).ok_or(Error::Truncated)?;
                let o = parse_options(&b[24..], opt::SOURCE_LLADDR)?;
                Icmpv6Repr::NeighborSolicit { target: v6(&f[8..]), lladdr: o.lladdr }
            }
            ty::NEIGHBOUR_ADVERT => {
                let f = b.get(..24).ok_or(Error::Truncated)?;
                let o = parse_options(&b[24..], opt::TARGET_LLADDR)?;
                Icmpv6Repr::NeighborAdvert {
                    router: f[4] & 0x80 != 0,
                    solicited: f[4] & 0x40 != 0,
                    override_: f[4] & 0x20 != 0,
                    target: v6(&f[8..]),
                    lladdr: o.lladdr,
                }
            }
            t => Icmpv6Repr::Other { ty: t, code },
        })
    }

    pub fn buffer_len(&self) -> usize {
        let ll = |l: &Option<EthernetAddress>| if l.is_some() { 8 } else { 0 };
        match self {
            Icmpv6Repr::EchoRequest { data, .. }
            | Icmpv6Repr::EchoReply { data, .. }
            | Icmpv6Repr::Error { data, .. } => HEADER_LEN + data.len(),
            Icmpv6Repr::RouterSolicit { lladdr } => HEADER_LEN + ll(lladdr),
            Icmpv6Repr::RouterAdvert { lladdr, mtu, prefixes, .. } => {
                16 + ll(lladdr)
                    + if mtu.is_some() { 8 } else { 0 }
                    + 32 * prefixes.iter().flatten().count()
            }
            Icmpv6Repr::NeighborSolicit { lladdr, .. }
            | Icmpv6Repr::NeighborAdvert { lladdr, .. } => 24 + ll(lladdr),
            Icmpv6Repr::Other { .. } => HEADER_LEN,
        }
    }

    /// Writes the message into `b` (`buffer_len` bytes) with its checksum.
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr, b: &mut [u8]) {
        b.fill(0);
        let put_ll = |b: &mut [u8], t: u8, l: &EthernetAddress| {
            b[0] = t;
            b[1] = 1;
            b[2..8].copy_from_slice(&l.0);
        };
        match self {
            Icmpv6Repr::EchoRequest { ident, seq, data }
            | Icmpv6Repr::EchoReply { ident, seq, data } => {
                b[0] = if matches!(self, Icmpv6Repr::EchoRequest { .. }) {
                    ty::ECHO_REQUEST
                } else {
                    ty::ECHO_REPLY
                };
                b[4..6].copy_from_slice(&ident.to_be_bytes());
                b[6..8].copy_from_slice(&seq.to_be_bytes());
                b[8..8 + data.len()].copy_from_slice(data);
            }
            Icmpv6Repr::Error { ty, code, param, data } => {
                (b[0], b[1]) = (*ty, *code);
                b[4..8].copy_from_slice(&param.to_be_bytes());
                b[8..8 + data.len()].copy_from_slice(data);
            }
            Icmpv6Repr::RouterSolicit { lladdr } => {
                b[0] = ty::ROUTER_SOLICIT;
                if let Some(l) = lladdr {
                    put_ll(&mut b[8..], opt::SOURCE_LLADDR, l);
                }
            }
            Icmpv6Repr::RouterAdvert { .. } => self.emit_ra(b),
            Icmpv6Repr::NeighborSolicit { target, lladdr } => {
                b[0] = ty::NEIGHBOUR_SOLICIT;
                b[8..24].copy_from_slice(&target.octets());
                if let Some(l) = lladdr {
                    put_ll(&mut b[24..], opt::SOURCE_LLADDR, l);
                }
            }
            Icmpv6Repr::NeighborAdvert { router, solicited, override_, target, lladdr } => {
                b[0] = ty::NEIGHBOUR_ADVERT;
                b[4] =
                    u8::from(*router) << 7 | u8::from(*solicited) << 6 | u8::from(*override_) << 5;
                b[8..24].copy_from_slice(&target.octets());
                if let Some(l) = lladdr {
                    put_ll(&mut b[24..], opt::TARGET_LLADDR, l);
                }
            }
            Icmpv6Repr::Other { ty, code } => (b[0], b[1]) = (*ty, *code),
        }
        let sum = checksum::transport(&IpAddr::V6(src), &IpAddr::V6(dst), 58, b);
        b[2..4].copy_from_slice(&sum.to_be_bytes());
    }

    fn emit_ra(&self, b: &mut [u8]) {
        let Icmpv6Repr::RouterAdvert {
            hop_limit,
            managed,
            other,
            router_lifetime,
            reachable_ms,
            retrans_ms,
            lladdr,
            mtu,
            prefixes,
        } = self
        else {
            return;
        };
        b[0] = ty::ROUTER_ADVERT;
        b[4] = *hop_limit;
        b[5] = u8::from(*managed) << 7 | u8::from(*other) << 6;
        b[6..8].copy_from_slice(&router_lifetime.to_be_bytes());
        b[8..12].copy_from_slice(&reachable_ms.to_be_bytes());
        b[12..16].copy_from_slice(&retrans_ms.to_be_bytes());
        let mut at = 16;
        if let Some(l) = lladdr {
            (b[at], b[at + 1]) = (opt::SOURCE_LLADDR, 1);
            b[at + 2..at + 8].copy_from_slice(&l.0);
            at += 8;
        }
        if let Some(m) = mtu {
            (b[at], b[at + 1]) = (opt::MTU, 1);
            b[at + 4..at + 8].copy_from_slice(&m.to_be_bytes());
            at += 8;
        }
        for p in prefixes.iter().flatten() {
            (b[at], b[at + 1], b[at + 2]) = (opt::PREFIX_INFO, 4, p.prefix_len);
            b[at + 3] = u8::from(p.on_link) << 7 | u8::from(p.autonomous) << 6;
            b[at + 4..at + 8].copy_from_slice(&p.valid_lifetime.to_be_bytes());
            b[at + 8..at + 12].copy_from_slice(&p.preferred_lifetime.to_be_bytes());
            b[at + 16..at + 32].copy_from_slice(&p.prefix.octets());
            at += 32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn round_trip(r: &Icmpv6Repr<'_>, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(src, dst, &mut b);
        assert_eq!(&Icmpv6Repr::parse(src, dst, &b).unwrap(), r);
        b
    }

    #[test]
    fn neighbour_solicitation_matches_the_wire() {
        // A DAD-less NS for fe80::2 from fe80::1 (02:00:00:00:00:01), as Linux sends it.
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let r = Icmpv6Repr::NeighborSolicit { target: a("fe80::2"), lladdr: Some(mac) };
        let b = round_trip(&r, a("fe80::1"), a("ff02::1:ff00:2"));
        assert_eq!(b.len(), 32);
        assert_eq!(&b[..2], &[135, 0]);
        assert_eq!(&b[24..32], &[1, 1, 2, 0, 0, 0, 0, 1]);
        let mut bad = b.clone();
        bad[10] ^= 1;
        assert_eq!(
            Icmpv6Repr::parse(a("fe80::1"), a("ff02::1:ff00:2"), &bad),
            Err(Error::Checksum)
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let mac = Some(EthernetAddress([2, 0, 0, 0, 0, 9]));
        let (s, d) = (a("fe80::1"), a("fe80::2"));
        round_trip(&Icmpv6Repr::EchoRequest { ident: 7, seq: 1, data: b"hello" }, s, d);
        round_trip(&Icmpv6Repr::EchoReply { ident: 7, seq: 1, data: b"" }, s, d);
        round_trip(&Icmpv6Repr::Error { ty: 2, code: 0, param: 1280, data: &[0x60; 48] }, s, d);
        round_trip(&Icmpv6Repr::RouterSolicit { lladdr: mac }, s, d);
        let na = Icmpv6Repr::NeighborAdvert {
            router: true,
            solicited: true,
            override_: false,
            target: d,
            lladdr: mac,
        };
        round_trip(&na, s, d);
        let p = PrefixInfo {
            prefix: a("2001:db8::"),
            prefix_len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
        };
        let ra = Icmpv6Repr::RouterAdvert {
            hop_limit: 64,
            managed: false,
            other: true,
            router_lifetime: 1800,
            reachable_ms: 0,
            retrans_ms: 0,
            lladdr: mac,
            mtu: Some(1500),
            prefixes: [Some(p), None, None, None],
        };
        assert_eq!(round_trip(&ra, s, d).len(), 16 + 8 + 8 + 32);
    }

    #[test]
    fn malformed_options_and_short_messages_rejected() {
        let (s, d) = (a("fe80::1"), a("fe80::2"));
        let r = Icmpv6Repr::NeighborSolicit { target: d, lladdr: None };
        let mut b = vec![0u8; 32];
        r.emit(s, d, &mut b[..24]);
        // A zero-length option after the fixed part.
        b[24] = 1;
        let sum = checksum::transport(&IpAddr::V6(s), &IpAddr::V6(d), 58, &{
            let mut z = b.clone();
            z[2..4].fill(0);
            z
        });
        b[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(Icmpv6Repr::parse(s, d, &b), Err(Error::Malformed));
        assert_eq!(Icmpv6Repr::parse(s, d, &b[..4]), Err(Error::Truncated));
    }
}
