//! Ethernet II framing (IEEE 802.3 with an EtherType; no 802.1Q tags are parsed, a
//! tagged frame is `Unsupported`).

use super::{Error, Result};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    pub const ZERO: EthernetAddress = EthernetAddress([0; 6]);

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// A locally administered unicast address derived from `n` (02:00:00:xx:xx:xx).
    pub fn local(n: u32) -> EthernetAddress {
        let b = n.to_be_bytes();
        EthernetAddress([0x02, 0x00, b[0], b[1], b[2], b[3]])
    }

    pub fn from_bytes(b: &[u8]) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&b[..6]);
        EthernetAddress(a)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// EtherType values we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthernetProtocol {
    Ipv4,
    Arp,
    Ipv6,
    Unknown(u16),
}

impl From<u16> for EthernetProtocol {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EthernetProtocol::Ipv4,
            0x0806 => EthernetProtocol::Arp,
            0x86dd => EthernetProtocol::Ipv6,
            other => EthernetProtocol::Unknown(other),
        }
    }
}

impl From<EthernetProtocol> for u16 {
    fn from(v: EthernetProtocol) -> u16 {
        match v {
            EthernetProtocol::Ipv4 => 0x0800,
            EthernetProtocol::Arp => 0x0806,
            EthernetProtocol::Ipv6 => 0x86dd,
            EthernetProtocol::Unknown(other) => other,
        }
    }
}

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = ETHERTYPE.end;
}

/// Length of an Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` after checking it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(EthernetFrame { buffer })
    }

    /// Wraps `buffer` without checking; accessors panic if it is short.
    pub fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    pub fn ethertype(&self) -> EthernetProtocol {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EthernetProtocol::from(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }

    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }

    pub fn set_ethertype(&mut self, p: EthernetProtocol) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(p).to_be_bytes());
    }
}

/// The parsed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    pub ethertype: EthernetProtocol,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FRAME: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0xaa,
        0xbb, 0xcc, 0xdd,
    ];

    fn repr() -> EthernetRepr {
        EthernetRepr {
            src_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        }
    }

    #[test]
    fn deconstruct() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert!(f.dst_addr().is_broadcast());
        assert_eq!(f.ethertype(), EthernetProtocol::Arp);
        assert_eq!(f.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn parse_and_emit_round_trip() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f).unwrap(), repr());
        let mut out = FRAME;
        out[..HEADER_LEN].fill(0);
        repr().emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        assert_eq!(out, FRAME);
    }

    #[test]
    fn truncated() {
        assert_eq!(EthernetFrame::new_checked(&FRAME[..13]).unwrap_err(), Error::Truncated);
    }
}
