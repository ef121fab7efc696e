//! ICMPv4 (RFC 792, RFC 1191 for the next-hop MTU): echo, destination unreachable,
//! time exceeded and parameter problem; errors carry the quoted offending packet.

use super::checksum;
use super::{Error, Result};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Echo: identifier; errors: unused (or the next-hop MTU, or the pointer).
    pub const REST_HI: Range<usize> = 4..6;
    pub const REST_LO: Range<usize> = 6..8;
    pub const DATA: usize = REST_LO.end;
}

/// Length of the fixed ICMP header.
pub const HEADER_LEN: usize = field::DATA;

/// ICMP types (`include/uapi/linux/icmp.h`).
pub mod ty {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAMETERPROB: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
    pub const INFO_REQUEST: u8 = 15;
    pub const ADDRESS: u8 = 17;
    /// Linux `NR_ICMP_TYPES`: the highest type icmp.c knows.
    pub const NR_ICMP_TYPES: u8 = 18;
}

/// Destination unreachable codes.
pub mod unreach {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROT: u8 = 2;
    pub const PORT: u8 = 3;
    pub const FRAG_NEEDED: u8 = 4;
    pub const SR_FAILED: u8 = 5;
    pub const NET_UNKNOWN: u8 = 6;
    pub const HOST_UNKNOWN: u8 = 7;
    pub const HOST_ISOLATED: u8 = 8;
    pub const NET_ANO: u8 = 9;
    pub const HOST_ANO: u8 = 10;
    pub const NET_UNR_TOS: u8 = 11;
    pub const HOST_UNR_TOS: u8 = 12;
    pub const PKT_FILTERED: u8 = 13;
    pub const PREC_VIOLATION: u8 = 14;
    pub const PREC_CUTOFF: u8 = 15;
}

/// Redirect codes.
pub mod redirect {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
}

/// Time exceeded codes.
pub mod exceeded {
    pub const TTL: u8 = 0;
    pub const FRAGTIME: u8 = 1;
}

/// A view of an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    pub fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Icmpv4Packet { buffer })
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    pub fn echo_ident(&self) -> u16 {
        self.be16(field::REST_HI)
    }

    pub fn echo_seq_no(&self) -> u16 {
        self.be16(field::REST_LO)
    }

    /// The next-hop MTU of a "fragmentation needed" (RFC 1191 §4).
    pub fn next_hop_mtu(&self) -> u16 {
        self.be16(field::REST_LO)
    }

    /// The gateway of a redirect (RFC 792).
    pub fn gateway(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::REST_HI.start..field::REST_LO.end];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The parameter-problem pointer.
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::REST_HI.start]
    }

    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    pub fn verify_checksum(&self) -> bool {
        checksum::sum(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    pub fn set_type_code(&mut self, t: u8, c: u8) {
        self.buffer.as_mut()[field::TYPE] = t;
        self.buffer.as_mut()[field::CODE] = c;
    }

    pub fn set_rest(&mut self, hi: u16, lo: u16) {
        self.buffer.as_mut()[field::REST_HI].copy_from_slice(&hi.to_be_bytes());
        self.buffer.as_mut()[field::REST_LO].copy_from_slice(&lo.to_be_bytes());
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    pub fn fill_checksum(&mut self) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let c = !checksum::sum(self.buffer.as_ref());
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

/// The ICMP messages we act on. Error messages carry `data`: the quoted IP header and
/// the first bytes of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    DstUnreachable {
        code: u8,
        next_hop_mtu: u16,
        data: &'a [u8],
    },
    TimeExceeded {
        code: u8,
        data: &'a [u8],
    },
    ParamProblem {
        pointer: u8,
        data: &'a [u8],
    },
    /// RFC 792 redirect: use `gateway` for the quoted packet's destination.
    Redirect {
        code: u8,
        gateway: Ipv4Addr,
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses a message; a bad checksum is `Error::Checksum` (InCsumErrors), a type we
    /// do not handle is `Error::Unsupported`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(p: &Icmpv4Packet<&'a T>) -> Result<Icmpv4Repr<'a>> {
        if !p.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = &p.buffer.as_ref()[field::DATA..];
        Ok(match p.msg_type() {
            ty::ECHO => {
                Icmpv4Repr::EchoRequest { ident: p.echo_ident(), seq_no: p.echo_seq_no(), data }
            }
            ty::ECHO_REPLY => {
                Icmpv4Repr::EchoReply { ident: p.echo_ident(), seq_no: p.echo_seq_no(), data }
            }
            ty::DEST_UNREACH => Icmpv4Repr::DstUnreachable {
                code: p.msg_code(),
                next_hop_mtu: p.next_hop_mtu(),
                data,
            },
            ty::TIME_EXCEEDED => Icmpv4Repr::TimeExceeded { code: p.msg_code(), data },
            ty::PARAMETERPROB => Icmpv4Repr::ParamProblem { pointer: p.pointer(), data },
            ty::REDIRECT => Icmpv4Repr::Redirect { code: p.msg_code(), gateway: p.gateway(), data },
            _ => return Err(Error::Unsupported),
        })
    }

    pub fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::DstUnreachable { data, .. }
            | Icmpv4Repr::TimeExceeded { data, .. }
            | Icmpv4Repr::ParamProblem { data, .. }
            | Icmpv4Repr::Redirect { data, .. } => data,
        }
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the message and its checksum; `p` must be `buffer_len()` long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Icmpv4Packet<T>) {
        let (t, c, hi, lo) = match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => (ty::ECHO, 0, ident, seq_no),
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => (ty::ECHO_REPLY, 0, ident, seq_no),
            Icmpv4Repr::DstUnreachable { code, next_hop_mtu, .. } => {
                (ty::DEST_UNREACH, code, 0, next_hop_mtu)
            }
            Icmpv4Repr::TimeExceeded { code, .. } => (ty::TIME_EXCEEDED, code, 0, 0),
            Icmpv4Repr::Redirect { code, gateway, .. } => {
                let g = u32::from(gateway);
                (ty::REDIRECT, code, (g >> 16) as u16, g as u16)
            }
            Icmpv4Repr::ParamProblem { pointer, .. } => {
                (ty::PARAMETERPROB, 0, u16::from(pointer) << 8, 0)
            }
        };
        p.set_type_code(t, c);
        p.set_rest(hi, lo);
        let data = self.data();
        p.data_mut()[..data.len()].copy_from_slice(data);
        p.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ping` echo request: id 0x1234, seq 1, payload "abcd".
    static ECHO: [u8; 12] =
        [0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd'];

    // Fragmentation needed, next-hop MTU 1400, quoting 4 bytes.
    static FRAG_NEEDED: [u8; 12] =
        [0x03, 0x04, 0xac, 0xa7, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xdc];

    #[test]
    fn deconstruct_echo() {
        let p = Icmpv4Packet::new_checked(&ECHO[..]).unwrap();
        assert_eq!(p.msg_type(), ty::ECHO);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert!(p.verify_checksum());
    }

    #[test]
    fn echo_round_trip() {
        let r = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&ECHO[..]).unwrap()).unwrap();
        assert_eq!(r, Icmpv4Repr::EchoRequest { ident: 0x1234, seq_no: 1, data: b"abcd" });
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, ECHO);
    }

    #[test]
    fn frag_needed_round_trip() {
        let r = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&FRAG_NEEDED[..]).unwrap()).unwrap();
        assert_eq!(
            r,
            Icmpv4Repr::DstUnreachable {
                code: unreach::FRAG_NEEDED,
                next_hop_mtu: 1400,
                data: &[0x45, 0x00, 0x05, 0xdc]
            }
        );
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, FRAG_NEEDED);
    }

    #[test]
    fn time_exceeded_param_problem_redirect_emit_parse() {
        for r in [
            Icmpv4Repr::TimeExceeded { code: exceeded::FRAGTIME, data: &[1, 2, 3] },
            Icmpv4Repr::ParamProblem { pointer: 9, data: &[4, 5] },
            Icmpv4Repr::Redirect { code: 1, gateway: Ipv4Addr::new(10, 0, 0, 3), data: &[6] },
        ] {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
            let back = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&out[..]).unwrap()).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(Icmpv4Packet::new_checked(&ECHO[..7]).unwrap_err(), Error::Truncated);
        let mut bad = ECHO;
        bad[9] ^= 1;
        let p = Icmpv4Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&p).unwrap_err(), Error::Checksum);
        let mut ts = [13u8, 0, 0, 0, 0, 0, 0, 0];
        Icmpv4Packet::new_unchecked(&mut ts[..]).fill_checksum();
        let p = Icmpv4Packet::new_checked(&ts[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&p).unwrap_err(), Error::Unsupported);
    }
}
