//! TCP segments (RFC 9293 §3.1) and options: MSS (RFC 9293 §3.7.1), window scale and
//! timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).
//!
//! Panic contract: after `TcpPacket::new_checked` succeeds no accessor panics.
//! Option parsing follows Linux `tcp_parse_options`: a malformed option ends parsing
//! and the options already read stand.

use super::checksum;
use super::{Error, Result};
use crate::tcp::seq::SeqNumber;
use std::net::IpAddr;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const FLAGS: Range<usize> = 12..14;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS_START: usize = URGENT.end;
}

pub const HEADER_LEN: usize = field::OPTIONS_START;
/// Largest header: data offset 15 words.
pub const MAX_HEADER_LEN: usize = 60;

pub mod flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
}

mod opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TS: u8 = 8;
}

/// A read/write view of a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Validates that the header and its options fit in the buffer.
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let p = TcpPacket { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = p.header_len();
        if hl < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if hl > len {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::SEQ_NUM))
    }
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::ACK_NUM))
    }
    /// Header length in bytes (data offset * 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::FLAGS.start] >> 4) * 4
    }
    pub fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS) & 0x0fff
    }
    pub fn window_len(&self) -> u16 {
        self.u16_at(field::WIN_SIZE)
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
    pub fn urgent_at(&self) -> u16 {
        self.u16_at(field::URGENT)
    }
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
    /// Segment length in sequence space (RFC 9293 SEG.LEN: data + SYN + FIN).
    pub fn segment_len(&self) -> usize {
        let f = self.flags();
        self.payload().len() + usize::from(f & flags::SYN != 0) + usize::from(f & flags::FIN != 0)
    }

    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        checksum::verify_transport(src, dst, 6, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn set_u16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    fn set_u32(&mut self, r: core::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_src_port(&mut self, v: u16) {
        self.set_u16(field::SRC_PORT, v)
    }
    pub fn set_dst_port(&mut self, v: u16) {
        self.set_u16(field::DST_PORT, v)
    }
    pub fn set_seq_number(&mut self, v: SeqNumber) {
        self.set_u32(field::SEQ_NUM, v.0)
    }
    pub fn set_ack_number(&mut self, v: SeqNumber) {
        self.set_u32(field::ACK_NUM, v.0)
    }
    /// Sets data offset (from `header_len`, a multiple of 4) and the flag bits.
    pub fn set_header_len_flags(&mut self, header_len: usize, f: u16) {
        let v = ((header_len as u16 / 4) << 12) | (f & 0x0fff);
        self.set_u16(field::FLAGS, v)
    }
    pub fn set_window_len(&mut self, v: u16) {
        self.set_u16(field::WIN_SIZE, v)
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16(field::CHECKSUM, v)
    }
    pub fn set_urgent_at(&mut self, v: u16) {
        self.set_u16(field::URGENT, v)
    }
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[hl..]
    }
    /// Computes and stores the checksum over the pseudo header and the whole segment.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let c = checksum::transport(src, dst, 6, self.buffer.as_ref());
        self.set_checksum(c);
    }
}

/// The one control bit that drives the state machine (SYN+FIN and friends cannot be
/// represented: a RST wins, SYN+FIN is `Malformed`, as Linux discards it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Control {
    #[default]
    None,
    Syn,
    Fin,
    Rst,
}

/// Parsed options of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
    /// Up to 4 SACK blocks (left, right); 3 fit beside timestamps.
    pub sack: [Option<(SeqNumber, SeqNumber)>; 4],
}

/// TSval and TSecr from the 8 value bytes of a timestamps option (RFC 7323 §3).
fn ts_values(d: &[u8]) -> (u32, u32) {
    let v = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let e = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    (v, e)
}

impl TcpOptions {
    /// Parses an option list; never fails (Linux `tcp_parse_options` semantics).
    pub fn parse(mut b: &[u8], syn: bool) -> TcpOptions {
        let mut o = TcpOptions::default();
        // Linux `tcp_parse_aligned_timestamp`: NOP, NOP, TS alone is the common case.
        if let [opt::NOP, opt::NOP, opt::TS, 10, ts @ ..] = b
            && ts.len() == 8
        {
            o.timestamp = Some(ts_values(ts));
            return o;
        }
        while let Some(&kind) = b.first() {
            match kind {
                opt::EOL => break,
                opt::NOP => {
                    b = &b[1..];
                    continue;
                }
                _ => {}
            }
            let Some(&len) = b.get(1) else { break };
            let len = usize::from(len);
            if len < 2 || len > b.len() {
                break;
            }
            let data = &b[2..len];
            match (kind, len) {
                (opt::MSS, 4) if syn => o.mss = Some(u16::from_be_bytes([data[0], data[1]])),
                // RFC 7323 §2.3: shifts above 14 are used as 14.
                (opt::WS, 3) if syn => o.window_scale = Some(data[0].min(14)),
                (opt::SACK_PERM, 2) if syn => o.sack_permitted = true,
                (opt::TS, 10) => o.timestamp = Some(ts_values(data)),
                (opt::SACK, _) if !syn && (len - 2) % 8 == 0 => {
                    for (slot, c) in o.sack.iter_mut().zip(data.chunks_exact(8)) {
                        let l = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                        let r = u32::from_be_bytes([c[4], c[5], c[6], c[7]]);
                        *slot = Some((SeqNumber(l), SeqNumber(r)));
                    }
                }
                _ => {}
            }
            b = &b[len..];
        }
        o
    }

    /// Encoded length, padded to 4 bytes, laid out as Linux `tcp_options_write` does.
    pub fn buffer_len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        // SACK-permitted rides with timestamps (4 + 8 + 2, padded) or alone (NOP NOP).
        if self.timestamp.is_some() {
            n += 12;
        } else if self.sack_permitted {
            n += 4;
        }
        if self.window_scale.is_some() {
            n += 4;
        }
        let blocks = self.sack.iter().flatten().count();
        if blocks > 0 {
            n += 4 + 8 * blocks;
        }
        n
    }

    /// Writes the options into `b` (exactly `buffer_len()` bytes).
    pub fn emit(&self, b: &mut [u8]) {
        let mut i = 0;
        let mut put = |bytes: &[u8]| {
            b[i..i + bytes.len()].copy_from_slice(bytes);
            i += bytes.len();
        };
        if let Some(m) = self.mss {
            let m = m.to_be_bytes();
            put(&[opt::MSS, 4, m[0], m[1]]);
        }
        if let Some((v, e)) = self.timestamp {
            if self.sack_permitted {
                put(&[opt::SACK_PERM, 2, opt::TS, 10]);
            } else {
                put(&[opt::NOP, opt::NOP, opt::TS, 10]);
            }
            put(&v.to_be_bytes());
            put(&e.to_be_bytes());
        } else if self.sack_permitted {
            put(&[opt::NOP, opt::NOP, opt::SACK_PERM, 2]);
        }
        if let Some(ws) = self.window_scale {
            put(&[opt::NOP, opt::WS, 3, ws]);
        }
        let blocks = self.sack.iter().flatten().count();
        if blocks > 0 {
            put(&[opt::NOP, opt::NOP, opt::SACK, 2 + 8 * blocks as u8]);
            for (l, r) in self.sack.iter().flatten() {
                put(&l.0.to_be_bytes());
                put(&r.0.to_be_bytes());
            }
        }
    }
}

/// A checked, parsed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub control: Control,
    pub psh: bool,
    /// ECN-Echo and Congestion Window Reduced (RFC 3168 §6.1).
    pub ece: bool,
    pub cwr: bool,
    pub seq_number: SeqNumber,
    pub ack_number: Option<SeqNumber>,
    /// The raw 16-bit window field (unscaled).
    pub window_len: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parses a segment, verifying the checksum over the IP pseudo header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        p: &'a TcpPacket<&'a T>,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<TcpRepr<'a>> {
        if p.src_port() == 0 || p.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if !p.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        let f = p.flags();
        let control = match (f & flags::SYN != 0, f & flags::FIN != 0, f & flags::RST != 0) {
            (_, _, true) => Control::Rst,
            (true, true, false) => return Err(Error::Malformed),
            (true, false, false) => Control::Syn,
            (false, true, false) => Control::Fin,
            (false, false, false) => Control::None,
        };
        Ok(TcpRepr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            control,
            psh: f & flags::PSH != 0,
            ece: f & flags::ECE != 0,
            cwr: f & flags::CWR != 0,
            seq_number: p.seq_number(),
            ack_number: (f & flags::ACK != 0).then(|| p.ack_number()),
            window_len: p.window_len(),
            options: TcpOptions::parse(p.options(), control == Control::Syn),
            payload: p.payload(),
        })
    }

    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.buffer_len()
    }

    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// SEG.LEN (RFC 9293 §3.4).
    pub fn segment_len(&self) -> usize {
        self.payload.len() + usize::from(matches!(self.control, Control::Syn | Control::Fin))
    }

    pub fn flags(&self) -> u16 {
        let mut f = match self.control {
            Control::None => 0,
            Control::Syn => flags::SYN,
            Control::Fin => flags::FIN,
            Control::Rst => flags::RST,
        };
        if self.psh {
            f |= flags::PSH;
        }
        if self.ece {
            f |= flags::ECE;
        }
        if self.cwr {
            f |= flags::CWR;
        }
        if self.ack_number.is_some() {
            f |= flags::ACK;
        }
        f
    }

    /// Writes header, options and payload, then the checksum over `src`/`dst`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut TcpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
    ) {
        let hl = self.header_len();
        let payload = checksum::copy_and_sum(
            &mut p.buffer.as_mut()[hl..hl + self.payload.len()],
            self.payload,
        );
        self.emit_header(p, src, dst, payload);
    }

    /// Writes the header and the checksum of a segment whose payload is already in place
    /// after it, given the payload's sum (`checksum::sum`).
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut TcpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
        payload_sum: u16,
    ) {
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_seq_number(self.seq_number);
        p.set_ack_number(self.ack_number.unwrap_or_default());
        p.set_header_len_flags(self.header_len(), self.flags());
        p.set_window_len(self.window_len);
        p.set_urgent_at(0);
        self.options.emit(p.options_mut());
        p.set_checksum(0);
        let hl = p.header_len();
        let len = hl + self.payload.len();
        // The payload starts at an even offset, so the sums concatenate (RFC 1071 §2(A)).
        let header = checksum::sum(&p.buffer.as_ref()[..hl]);
        let pseudo = checksum::pseudo_header(src, dst, 6, len as u32);
        p.set_checksum(!checksum::combine(&[pseudo, header, payload_sum]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2));

    // A Linux SYN: 40000 -> 80, seq 0x01020304, MSS 1460, SACK-perm, TS, WS 7.
    static SYN_BYTES: [u8; 40] = [
        0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
        0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    fn syn_repr() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            control: Control::Syn,
            psh: false,
            ece: false,
            cwr: false,
            seq_number: SeqNumber(0x01020304),
            ack_number: None,
            window_len: 64240,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some((100, 0)),
                sack: [None; 4],
            },
            payload: &[],
        }
    }

    fn with_checksum() -> Vec<u8> {
        let mut b = SYN_BYTES.to_vec();
        TcpPacket::new_unchecked(&mut b[..]).fill_checksum(&SRC, &DST);
        b
    }

    #[test]
    fn deconstruct() {
        let b = with_checksum();
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), flags::SYN);
        assert_eq!(p.segment_len(), 1);
        assert!(p.verify_checksum(&SRC, &DST));
    }

    #[test]
    fn construct() {
        let mut b = vec![0u8; 40];
        let mut p = TcpPacket::new_unchecked(&mut b[..]);
        p.set_src_port(40000);
        p.set_dst_port(80);
        p.set_seq_number(SeqNumber(0x01020304));
        p.set_header_len_flags(40, flags::SYN);
        p.set_window_len(64240);
        p.options_mut().copy_from_slice(&SYN_BYTES[20..]);
        p.fill_checksum(&SRC, &DST);
        assert_eq!(b, with_checksum());
    }

    #[test]
    fn parse_and_emit() {
        let b = with_checksum();
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        let r = TcpRepr::parse(&p, &SRC, &DST).unwrap();
        assert_eq!(r, syn_repr());
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), &SRC, &DST);
        assert_eq!(out, b);
    }

    #[test]
    fn bad_checksum_and_lengths() {
        let mut b = with_checksum();
        b[5] ^= 1;
        let p = TcpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p, &SRC, &DST), Err(Error::Checksum));
        assert_eq!(TcpPacket::new_checked(&b[..19]).err(), Some(Error::Truncated));
        b[12] = 0x40;
        assert_eq!(TcpPacket::new_checked(&b[..]).err(), Some(Error::Malformed));
        b[12] = 0xf0;
        assert_eq!(TcpPacket::new_checked(&b[..]).err(), Some(Error::Truncated));
    }

    #[test]
    fn sack_blocks_round_trip() {
        let o = TcpOptions {
            timestamp: Some((1, 2)),
            sack: [
                Some((SeqNumber(10), SeqNumber(20))),
                Some((SeqNumber(30), SeqNumber(40))),
                None,
                None,
            ],
            ..Default::default()
        };
        let mut b = vec![0u8; o.buffer_len()];
        o.emit(&mut b);
        assert_eq!(b.len() % 4, 0);
        assert_eq!(TcpOptions::parse(&b, false), o);
    }

    #[test]
    fn malformed_options_never_panic() {
        for case in [&[2u8][..], &[2, 0], &[2, 1, 5], &[8, 40, 1, 2], &[5, 3, 0], &[3, 3]] {
            let _ = TcpOptions::parse(case, true);
            let _ = TcpOptions::parse(case, false);
        }
        let o = TcpOptions::parse(&[1, 1, 3, 3, 20], true);
        assert_eq!(o.window_scale, Some(14));
    }

    #[test]
    fn aligned_timestamp_fast_path_matches_the_generic_parse() {
        let ts = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];
        assert_eq!(TcpOptions::parse(&ts, false).timestamp, Some((7, 9)));
        // The same option after a SACK block goes through the generic loop.
        let mut both = vec![1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2];
        both.extend_from_slice(&ts);
        let o = TcpOptions::parse(&both, false);
        assert_eq!(o.timestamp, Some((7, 9)));
        assert_eq!(o.sack[0], Some((SeqNumber(1), SeqNumber(2))));
        // Truncated: no timestamp.
        assert_eq!(TcpOptions::parse(&ts[..11], false).timestamp, None);
    }

    #[test]
    fn emit_header_over_a_payload_in_place_equals_emit() {
        let payload: Vec<u8> = (0..1001u32).map(|i| (i * 7) as u8).collect();
        let repr = TcpRepr {
            control: Control::None,
            ack_number: Some(SeqNumber(5)),
            options: TcpOptions { timestamp: Some((3, 4)), ..TcpOptions::default() },
            payload: &payload,
            ..syn_repr()
        };
        let mut a = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut a[..]), &SRC, &DST);
        let hl = repr.header_len();
        let mut b = crate::pktbuf::PacketBuf::with_tail(hl, &payload);
        let sum = checksum::sum(&b.data()[hl..]);
        repr.emit_header(&mut TcpPacket::new_unchecked(b.data_mut()), &SRC, &DST, sum);
        assert_eq!(a, b.data());
        assert!(TcpPacket::new_checked(&a[..]).unwrap().verify_checksum(&SRC, &DST));
    }
}
