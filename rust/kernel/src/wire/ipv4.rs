//! The IPv4 header (RFC 791 §3.1). Options (IHL > 5) are kept opaque and skipped; the
//! total length field bounds the packet, so Ethernet padding is trimmed by `payload`.

use super::checksum;
use super::{Error, Result};
use std::net::Ipv4Addr;

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Largest IPv4 datagram (the total length field is 16 bits).
pub const MAX_PACKET_LEN: usize = 65535;

pub const FLAG_DF: u16 = 0x4000;
pub const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// IP protocol numbers we name.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
}

/// A view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Checks what `ip_rcv_core` checks before trusting any field: version 4, IHL >= 5,
    /// header and total length inside the buffer, total length >= header. After this no
    /// accessor panics.
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let p = Ipv4Packet { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 4 || p.header_len() < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < p.header_len() || len < usize::from(p.total_len()) {
            return Err(Error::Truncated);
        }
        if usize::from(p.total_len()) < p.header_len() {
            return Err(Error::Malformed);
        }
        Ok(p)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn total_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    pub fn ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }

    fn flg_off(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::FLG_OFF])
    }

    pub fn dont_frag(&self) -> bool {
        self.flg_off() & FLAG_DF != 0
    }

    pub fn more_frags(&self) -> bool {
        self.flg_off() & FLAG_MF != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> usize {
        usize::from(self.flg_off() & OFFSET_MASK) * 8
    }

    /// True for any fragment (MF set or a non-zero offset), Linux `ip_is_fragment`.
    pub fn is_fragment(&self) -> bool {
        self.flg_off() & (FLAG_MF | OFFSET_MASK) != 0
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// True if the header checksum verifies (RFC 1071).
    pub fn verify_checksum(&self) -> bool {
        checksum::sum_words(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }

    /// The header including options.
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.header_len()]
    }

    /// The whole packet up to total length (link padding trimmed).
    pub fn packet(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.total_len())]
    }

    /// The payload, up to total length (link padding trimmed).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    pub fn set_ver_ihl(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }

    pub fn set_total_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_ident(&mut self, v: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes DF, MF and the offset (in bytes, a multiple of 8).
    pub fn set_frag(&mut self, df: bool, mf: bool, offset: usize) {
        let mut v = ((offset / 8) as u16) & OFFSET_MASK;
        if df {
            v |= FLAG_DF;
        }
        if mf {
            v |= FLAG_MF;
        }
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v;
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Recomputes the header checksum over the whole header (options included).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        let c = !checksum::sum_words(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c);
    }

    /// Decrements TTL and patches the checksum incrementally (RFC 1624 eqn. 3, Linux
    /// `ip_decrease_ttl`).
    pub fn decrease_ttl(&mut self) {
        let ttl = self.ttl();
        self.set_ttl(ttl.wrapping_sub(1));
        // The TTL is the high byte of its 16-bit word: HC' = ~(~HC + ~m + m').
        let old = u16::from(ttl) << 8;
        let new = u16::from(ttl.wrapping_sub(1)) << 8;
        let hc = self.checksum();
        let c = checksum::combine(&[!hc, !old, new]);
        self.set_checksum(!c);
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// The header fields a host acts on (options are not represented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: u8,
    pub payload_len: usize,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    pub frag_offset: usize,
}

impl Ipv4Repr {
    /// Parses a checked packet; a wrong checksum is `Error::Checksum` (InCsumErrors).
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Result<Ipv4Repr> {
        if !p.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Ipv4Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: usize::from(p.total_len()) - p.header_len(),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
        })
    }

    /// Emitted headers have no options.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header (no options) with its checksum into the first 20 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv4Packet<T>) {
        p.set_ver_ihl(HEADER_LEN);
        p.set_tos(self.tos);
        p.set_total_len((HEADER_LEN + self.payload_len) as u16);
        p.set_ident(self.ident);
        p.set_frag(self.dont_frag, self.more_frags, self.frag_offset);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
        p.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // UDP from 192.168.0.1 to 192.168.0.199, DF, TTL 64, total length 0x73 (captured
    // from Linux; the header is the one checksum.rs verifies).
    static HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    fn packet() -> Vec<u8> {
        let mut v = HEADER.to_vec();
        v.extend((0..0x73 - 20).map(|i| i as u8));
        v
    }

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 168, 0, 1),
            dst_addr: Ipv4Addr::new(192, 168, 0, 199),
            protocol: proto::UDP,
            payload_len: 0x73 - 20,
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
    }

    #[test]
    fn deconstruct() {
        let v = packet();
        let p = Ipv4Packet::new_checked(&v[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 0x73);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.protocol(), 17);
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 0x73 - 20);
    }

    #[test]
    fn construct() {
        let mut v = packet();
        v[..20].fill(0);
        repr().emit(&mut Ipv4Packet::new_unchecked(&mut v[..]));
        assert_eq!(&v[..20], &HEADER[..]);
    }

    #[test]
    fn parse_emit_round_trip() {
        let v = packet();
        let r = Ipv4Repr::parse(&Ipv4Packet::new_checked(&v[..]).unwrap()).unwrap();
        assert_eq!(r, repr());
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, HEADER);
    }

    #[test]
    fn padding_is_trimmed() {
        let mut v = packet();
        v.extend([0u8; 7]);
        let p = Ipv4Packet::new_checked(&v[..]).unwrap();
        assert_eq!(p.payload().len(), 0x73 - 20);
    }

    #[test]
    fn options_are_skipped() {
        let mut v = HEADER.to_vec();
        v[0] = 0x46;
        v[3] = 28;
        v.extend([1, 1, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd]); // NOP NOP NOP EOL + payload
        let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&v[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 4);
    }

    #[test]
    fn rejects_bad_headers() {
        let v = packet();
        assert_eq!(Ipv4Packet::new_checked(&v[..19]).unwrap_err(), Error::Truncated);
        assert_eq!(Ipv4Packet::new_checked(&v[..0x72]).unwrap_err(), Error::Truncated);
        let mut bad = v.clone();
        bad[0] = 0x65;
        assert_eq!(Ipv4Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        let mut bad = v.clone();
        bad[0] = 0x44;
        assert_eq!(Ipv4Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        let mut bad = v.clone();
        bad[3] = 10;
        assert_eq!(Ipv4Packet::new_checked(&bad[..]).unwrap_err(), Error::Malformed);
        let mut bad = v;
        bad[11] ^= 1;
        let p = Ipv4Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap_err(), Error::Checksum);
    }

    #[test]
    fn ttl_decrement_keeps_checksum_valid() {
        let mut v = packet();
        for _ in 0..70 {
            let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
            p.decrease_ttl();
            assert!(p.verify_checksum(), "ttl {}", p.ttl());
        }
    }

    #[test]
    fn fragment_fields() {
        let mut v = packet();
        let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
        p.set_frag(false, true, 1480);
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
    }
}
