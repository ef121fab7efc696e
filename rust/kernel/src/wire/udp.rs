//! UDP datagrams (RFC 768). The checksum covers the IPv4/IPv6 pseudo header; over IPv4
//! a received zero checksum means "not computed" and is accepted, and a computed zero
//! is sent as 0xffff (RFC 768, "If the computed checksum is zero, it is transmitted as
//! all ones").

use super::checksum;
use super::{Error, Result};
use std::net::IpAddr;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = CHECKSUM.end;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// IP protocol number of UDP.
pub const PROTOCOL: u8 = 17;

/// A view of a UDP datagram. After `new_checked` the length field is known to lie
/// within the buffer and be at least `HEADER_LEN`, so no accessor panics.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Checks the header fits and the length field is sane (Linux `__udp4_lib_rcv`:
    /// `ulen > skb->len || ulen < sizeof(*uh)` is a short packet).
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let p = UdpPacket { buffer };
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let ulen = usize::from(p.len());
        if ulen < HEADER_LEN || ulen > len {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }

    /// The length field (header + payload).
    pub fn len(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// The datagram as the length field bounds it (trailing link padding cut off).
    pub fn datagram(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.len()).min(b.len())]
    }

    pub fn payload(&self) -> &[u8] {
        let d = self.datagram();
        &d[HEADER_LEN.min(d.len())..]
    }

    /// True when the checksum verifies, or is zero over IPv4 (not computed).
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        if self.checksum() == 0 && src.is_ipv4() {
            return true;
        }
        checksum::verify_transport(src, dst, PROTOCOL, self.datagram())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    fn set_u16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_src_port(&mut self, v: u16) {
        self.set_u16(field::SRC_PORT, v)
    }

    pub fn set_dst_port(&mut self, v: u16) {
        self.set_u16(field::DST_PORT, v)
    }

    pub fn set_len(&mut self, v: u16) {
        self.set_u16(field::LENGTH, v)
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.set_u16(field::CHECKSUM, v)
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len()).min(self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[HEADER_LEN.min(len)..len]
    }

    /// Computes and stores the checksum over the pseudo header and the datagram; a
    /// computed zero goes out as 0xffff (RFC 768).
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) {
        self.set_checksum(0);
        let c = checksum::transport(src, dst, PROTOCOL, self.datagram());
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

/// The parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl UdpRepr {
    /// Parses a checked packet and verifies its checksum. Port 0 as destination is
    /// left to the socket layer (nothing can bind it, so it ends as NoPorts).
    pub fn parse<T: AsRef<[u8]>>(
        packet: &UdpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<UdpRepr> {
        if !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.payload().len(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header (checksum zero); fill the payload, then `fill_checksum`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len().min(usize::from(u16::MAX)) as u16);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2));

    // 192.168.1.1:53 -> 192.168.1.2:49153, payload "libos"; checksum computed
    // independently (Python, RFC 1071 sum over the pseudo header).
    static PACKET: [u8; 13] =
        [0x00, 0x35, 0xc0, 0x01, 0x00, 0x0d, 0x7a, 0x70, 0x6c, 0x69, 0x62, 0x6f, 0x73];
    static PAYLOAD: &[u8] = b"libos";

    fn repr() -> UdpRepr {
        UdpRepr { src_port: 53, dst_port: 49153, payload_len: PAYLOAD.len() }
    }

    #[test]
    fn deconstruct() {
        let p = UdpPacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.src_port(), 53);
        assert_eq!(p.dst_port(), 49153);
        assert_eq!(p.len(), 13);
        assert_eq!(p.checksum(), 0x7a70);
        assert_eq!(p.payload(), PAYLOAD);
        assert!(p.verify_checksum(&SRC, &DST));
    }

    #[test]
    fn construct() {
        let mut buf = [0u8; 13];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        p.set_src_port(53);
        p.set_dst_port(49153);
        p.set_len(13);
        p.payload_mut().copy_from_slice(PAYLOAD);
        p.fill_checksum(&SRC, &DST);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse() {
        let p = UdpPacket::new_checked(&PACKET[..]).unwrap();
        assert_eq!(UdpRepr::parse(&p, &SRC, &DST).unwrap(), repr());
    }

    #[test]
    fn emit() {
        let mut buf = [0u8; 13];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        repr().emit(&mut p);
        p.payload_mut().copy_from_slice(PAYLOAD);
        p.fill_checksum(&SRC, &DST);
        assert_eq!(buf, PACKET);
        assert_eq!(repr().buffer_len(), PACKET.len());
    }

    #[test]
    fn bad_checksum_and_zero_checksum() {
        let mut buf = PACKET;
        buf[7] ^= 1;
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(UdpRepr::parse(&p, &SRC, &DST), Err(Error::Checksum));
        buf[6] = 0;
        buf[7] = 0;
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(UdpRepr::parse(&p, &SRC, &DST).unwrap(), repr());
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Choose the payload so the checksum comes out zero: put the complement of the
        // sum of everything else into the last 16-bit word.
        let mut buf = [0u8; 10];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        UdpRepr { src_port: 1, dst_port: 2, payload_len: 2 }.emit(&mut p);
        let rest = checksum::combine(&[
            checksum::pseudo_header(&SRC, &DST, PROTOCOL, 10),
            checksum::sum(p.datagram()),
        ]);
        p.payload_mut().copy_from_slice(&(!rest).to_be_bytes());
        p.fill_checksum(&SRC, &DST);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum(&SRC, &DST));
    }

    #[test]
    fn truncated_and_bad_length() {
        assert_eq!(UdpPacket::new_checked(&PACKET[..7]).unwrap_err(), Error::Truncated);
        let mut buf = PACKET;
        buf[5] = 14; // longer than the buffer
        assert_eq!(UdpPacket::new_checked(&buf[..]).unwrap_err(), Error::Truncated);
        buf[5] = 7; // shorter than the header
        assert_eq!(UdpPacket::new_checked(&buf[..]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn trailing_padding_is_ignored() {
        let mut buf = [0u8; 20];
        buf[..13].copy_from_slice(&PACKET);
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.payload(), PAYLOAD);
        assert!(p.verify_checksum(&SRC, &DST));
    }
}
