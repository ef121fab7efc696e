//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-header sums (RFC 9293
//! §3.1, RFC 768, RFC 8200 §8.1).

use std::net::IpAddr;

/// One's-complement sum of `data` folded to 16 bits, not yet inverted.
pub fn sum(data: &[u8]) -> u16 {
    // Sum 32-bit big-endian words into four independent u64 lanes (RFC 1071 §2(B): the
    // sum may be taken over any word size and folded), 32 bytes per step; no lane can
    // overflow below 2^32 steps, far beyond any packet.
    let mut lanes = [0u64; 4];
    let mut wide = data.chunks_exact(32);
    for c in &mut wide {
        for (lane, w) in lanes.iter_mut().zip(c.chunks_exact(8)) {
            *lane += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                + u64::from(u32::from_be_bytes([w[4], w[5], w[6], w[7]]));
        }
    }
    let mut acc: u64 = lanes.iter().map(|&l| u64::from(fold(l))).sum();
    let mut chunks = wide.remainder().chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [b] = rest {
        acc += u64::from(*b) << 8;
    }
    fold(acc)
}

/// Folds a wide one's-complement accumulator to 16 bits.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// One's-complement addition of partial sums.
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u64::from(p)).sum())
}

/// The pseudo-header sum for a transport checksum over `length` bytes of `protocol`.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: u8, length: u32) -> u16 {
    let mut acc: u64 = u64::from(protocol);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc += u64::from(sum(&s.octets())) + u64::from(sum(&d.octets()));
            acc += u64::from(length);
        }
        _ => {
            acc += u64::from(sum(&ip_octets16(src))) + u64::from(sum(&ip_octets16(dst)));
            acc += u64::from(length >> 16) + u64::from(length & 0xffff);
        }
    }
    fold(acc)
}

fn ip_octets16(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The checksum field value for a transport segment: the inverted sum of pseudo-header
/// and `data` (whose checksum field must be zero while computing).
pub fn transport(src: &IpAddr, dst: &IpAddr, protocol: u8, data: &[u8]) -> u16 {
    !combine(&[pseudo_header(src, dst, protocol, data.len() as u32), sum(data)])
}

/// True when a received segment (checksum field included) verifies.
pub fn verify_transport(src: &IpAddr, dst: &IpAddr, protocol: u8, data: &[u8]) -> bool {
    combine(&[pseudo_header(src, dst, protocol, data.len() as u32), sum(data)]) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        assert_eq!(sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    /// RFC 1071's definition, 16 bits at a time: the oracle for the fast `sum`.
    fn sum_reference(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for c in data.chunks(2) {
            acc += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
        fold(acc)
    }

    #[test]
    fn fast_sum_matches_the_definition() {
        let mut x: u32 = 0x1234_5678;
        for len in (0..200).chain([1448, 1500, 9000, 65535]) {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(sum(&data), sum_reference(&data), "len {len}");
            assert_eq!(sum(&vec![0xff; len]), sum_reference(&vec![0xff; len]), "len {len}");
        }
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn ipv4_header_verifies() {
        // A real IPv4 header captured from Linux (checksum 0xb861).
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(sum(&h), 0xffff);
    }
}
