//! IGMP messages: queries of all three versions (RFC 2236 §2, RFC 3376 §4.1), v2
//! reports and leaves, v3 reports with group records (RFC 3376 §4.2).

use super::checksum;
use super::{Error, Result};
use std::net::Ipv4Addr;

pub const MEMBERSHIP_QUERY: u8 = 0x11;
pub const V1_REPORT: u8 = 0x12;
pub const V2_REPORT: u8 = 0x16;
pub const V2_LEAVE: u8 = 0x17;
pub const V3_REPORT: u8 = 0x22;

/// RFC 3376 §4.2.12 group record types.
pub const MODE_IS_EXCLUDE: u8 = 2;
pub const CHANGE_TO_INCLUDE: u8 = 3;
pub const CHANGE_TO_EXCLUDE: u8 = 4;

/// A parsed message we act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgmpRepr {
    /// `version` 1, 2 or 3 by length and code (RFC 3376 §7.1); the maximum response
    /// time in tenths of a second; `group` unspecified for a general query.
    Query {
        version: u8,
        max_resp_ds: u32,
        group: Ipv4Addr,
    },
    /// Someone else's report for `group` (v1/v2 hosts suppress their own).
    Report {
        group: Ipv4Addr,
    },
    Leave {
        group: Ipv4Addr,
    },
    /// A v3 report: routers care, hosts ignore it.
    V3Report,
}

/// RFC 3376 §4.1.1: codes from 128 are a floating-point exponent/mantissa.
fn decode_code(c: u8) -> u32 {
    if c < 128 { u32::from(c) } else { (u32::from(c & 0x0f) | 0x10) << ((c >> 4 & 0x07) + 3) }
}

impl IgmpRepr {
    /// Parses an IGMP message (checksum verified, lengths checked).
    pub fn parse(b: &[u8]) -> Result<IgmpRepr> {
        if b.len() < 8 {
            return Err(Error::Truncated);
        }
        if checksum::sum(b) != 0xffff {
            return Err(Error::Checksum);
        }
        let group = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
        Ok(match b[0] {
            MEMBERSHIP_QUERY if b.len() == 8 => {
                let version = if b[1] == 0 { 1 } else { 2 };
                // v1 queries carry no time: 10 s (RFC 2236 §4).
                let max_resp_ds = if b[1] == 0 { 100 } else { u32::from(b[1]) };
                IgmpRepr::Query { version, max_resp_ds, group }
            }
            MEMBERSHIP_QUERY if b.len() >= 12 => {
                IgmpRepr::Query { version: 3, max_resp_ds: decode_code(b[1]), group }
            }
            MEMBERSHIP_QUERY => return Err(Error::Malformed),
            V1_REPORT | V2_REPORT => IgmpRepr::Report { group },
            V2_LEAVE => IgmpRepr::Leave { group },
            V3_REPORT => IgmpRepr::V3Report,
            _ => return Err(Error::Unsupported),
        })
    }
}

/// An 8-byte v2 message (report or leave) for `group`.
pub fn emit_v2(ty: u8, group: Ipv4Addr) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = ty;
    b[4..8].copy_from_slice(&group.octets());
    let c = !checksum::sum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

/// A v3 report with one source-less record per `(record type, group)`.
pub fn emit_v3(records: &[(u8, Ipv4Addr)]) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    b[0] = V3_REPORT;
    b[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
    for &(ty, group) in records {
        b.extend_from_slice(&[ty, 0, 0, 0]);
        b.extend_from_slice(&group.octets());
    }
    let c = !checksum::sum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);

    #[test]
    fn v3_report_layout_and_checksum() {
        let b = emit_v3(&[(CHANGE_TO_EXCLUDE, G)]);
        assert_eq!(b.len(), 16);
        assert_eq!(&b[..2], &[0x22, 0]);
        assert_eq!(&b[6..16], &[0, 1, 4, 0, 0, 0, 239, 1, 2, 3]);
        assert_eq!(checksum::sum(&b), 0xffff);
        assert_eq!(IgmpRepr::parse(&b), Ok(IgmpRepr::V3Report));
    }

    #[test]
    fn queries_by_version() {
        let mut q = [0x11, 0, 0, 0, 0, 0, 0, 0];
        let c = !checksum::sum(&q);
        q[2..4].copy_from_slice(&c.to_be_bytes());
        let v1 = IgmpRepr::Query { version: 1, max_resp_ds: 100, group: Ipv4Addr::UNSPECIFIED };
        assert_eq!(IgmpRepr::parse(&q), Ok(v1));
        // A v3 general query, max response code 100 (10 s), QRV 2, QQIC 125.
        let mut q3 = vec![0x11, 100, 0, 0, 0, 0, 0, 0, 0x02, 125, 0, 0];
        let c = !checksum::sum(&q3);
        q3[2..4].copy_from_slice(&c.to_be_bytes());
        let v3 = IgmpRepr::Query { version: 3, max_resp_ds: 100, group: Ipv4Addr::UNSPECIFIED };
        assert_eq!(IgmpRepr::parse(&q3), Ok(v3));
        assert_eq!(decode_code(0x80), 128, "exp 0, mant 0 → 0x10 << 3");
        q3[3] ^= 1;
        assert_eq!(IgmpRepr::parse(&q3), Err(Error::Checksum));
        assert_eq!(IgmpRepr::parse(&q3[..6]), Err(Error::Truncated));
    }

    #[test]
    fn v2_messages() {
        let r = emit_v2(V2_REPORT, G);
        assert_eq!(IgmpRepr::parse(&r), Ok(IgmpRepr::Report { group: G }));
        let l = emit_v2(V2_LEAVE, G);
        assert_eq!(IgmpRepr::parse(&l), Ok(IgmpRepr::Leave { group: G }));
    }
}
