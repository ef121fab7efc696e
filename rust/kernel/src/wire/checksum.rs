//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-header sums (RFC 9293
//! §3.1, RFC 768, RFC 8200 §8.1).

use std::net::IpAddr;

/// One's-complement sum of `data` folded to 16 bits, not yet inverted.
pub fn sum(data: &[u8]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { avx2::sum(data) };
    }
    sum_scalar(data)
}

/// `sum` without SIMD.
fn sum_scalar(data: &[u8]) -> u16 {
    // RFC 1071 §2(B): the sum is byte-order independent and may be taken over any word
    // size, so add native-order 64-bit words, each carry going into the upper half of a
    // u128 (an add and an add-with-carry per word; the upper half cannot overflow below
    // 2^64 words), and swap once at the end.
    let mut acc: u128 = 0;
    let mut wide = data.chunks_exact(32);
    for c in &mut wide {
        acc += words32(c);
    }
    finish(acc + short_sum(wide.remainder()))
}

/// The native-order sum of fewer than 32 bytes (starting at an even offset): 64-bit
/// words, then the tail.
fn short_sum(rest: &[u8]) -> u128 {
    let mut acc = 0u128;
    let mut words = rest.chunks_exact(8);
    for w in &mut words {
        acc += u128::from(u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])));
    }
    acc + u128::from(tail_sum(words.remainder()))
}

/// A segment's payload is most of the bytes a stack touches twice (sent and received),
/// and the scalar sum's carry chain does 8 bytes per step: AVX2 adds eight native-order
/// 32-bit words per step, zero-extended into four 64-bit lanes each of two accumulators
/// (RFC 1071 §2(B): any word size, any order, one fold at the end).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sum(data: &[u8]) -> u16 {
        let zero = _mm256_setzero_si256();
        let (mut lo, mut hi) = (zero, zero);
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            // SAFETY: `c` is 32 readable bytes; loadu has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
            lo = _mm256_add_epi64(lo, _mm256_unpacklo_epi32(v, zero));
            hi = _mm256_add_epi64(hi, _mm256_unpackhi_epi32(v, zero));
        }
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 writable bytes; storeu has no alignment requirement.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm256_add_epi64(lo, hi)) };
        // Each lane holds at most len/32 words below 2^32: no overflow below 2^32 bytes.
        let acc = lanes.iter().map(|&l| u128::from(l)).sum::<u128>();
        super::finish(acc + super::short_sum(chunks.remainder()))
    }
}

/// `sum` of a buffer of whole 32-bit words, such as an IPv4 header (IHL counts 32-bit
/// words): big-endian words added to a u64 and folded once, without `sum`'s set-up for
/// long buffers (Linux `ip_fast_csum`).
pub fn sum_words(data: &[u8]) -> u16 {
    let mut acc = 0u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        return combine(&[fold(acc), sum(rest)]);
    }
    fold(acc)
}

/// The native-order sum of the last 0-7 bytes (starting at an even offset), read in
/// 4-, 2- and 1-byte pieces rather than copied into a padded word: a variable-length
/// copy costs a `memcpy` call, which dominates the sum of a 20-byte IP header. Where a
/// piece lands within a word does not matter (2^16 = 1 mod 2^16 - 1) as long as a
/// lone last byte sits where an even-offset byte sits in a native u16.
fn tail_sum(mut t: &[u8]) -> u64 {
    let mut v = 0u64;
    if let Some((w, rest)) = t.split_first_chunk::<4>() {
        v += u64::from(u32::from_ne_bytes(*w));
        t = rest;
    }
    if let Some((w, rest)) = t.split_first_chunk::<2>() {
        v += u64::from(u16::from_ne_bytes(*w));
        t = rest;
    }
    if let [b] = t {
        v += u64::from(u16::from_ne_bytes([*b, 0]));
    }
    v
}

/// The four native-order 64-bit words of a 32-byte chunk, summed.
#[inline(always)]
fn words32(c: &[u8]) -> u128 {
    let w = |i: usize| u128::from(u64::from_ne_bytes(c[i..i + 8].try_into().unwrap_or([0; 8])));
    w(0) + w(8) + w(16) + w(24)
}

/// Folds a u128 sum of native-order words to the 16-bit sum in network order.
fn finish(acc: u128) -> u16 {
    u16::from_be_bytes(fold128(acc).to_ne_bytes())
}

/// Copies `src` into `dst` (same length) and returns the sum of the bytes copied, in
/// one pass over the data (Linux `csum_partial_copy_nocheck`).
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
    let mut acc: u128 = 0;
    let mut from = src.chunks_exact(32);
    let mut to = dst.chunks_exact_mut(32);
    for (s, d) in (&mut from).zip(&mut to) {
        d.copy_from_slice(s);
        acc += words32(s);
    }
    let (s, d) = (from.remainder(), to.into_remainder());
    d.copy_from_slice(s);
    let tail = u64::from(u16::from_ne_bytes(sum(s).to_be_bytes()));
    finish(acc + u128::from(tail))
}

/// Folds a wide one's-complement accumulator to 16 bits, in a fixed number of steps
/// rather than a data-dependent loop (Linux `csum_fold`): below 2^33 after the first,
/// 2^18 after the second, 2^16 + 3 after the third, 2^16 after the fourth.
pub fn fold(acc: u64) -> u16 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// One's-complement addition of partial sums.
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u64::from(p)).sum())
}

/// The pseudo-header sum for a transport checksum over `length` bytes of `protocol`.
/// Addresses are added as big-endian integers: a 32- or 64-bit word folds to the sum of
/// its 16-bit words (2^16 = 1 mod 2^16 - 1), so one fold covers the whole header.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: u8, length: u32) -> u16 {
    let mut acc: u64 = u64::from(protocol);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc += u64::from(u32::from(*s)) + u64::from(u32::from(*d));
            acc += u64::from(length);
        }
        _ => {
            let halves = |a: &IpAddr| {
                let w = match a {
                    IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                    IpAddr::V6(v6) => u128::from(*v6),
                };
                u128::from(w as u64) + (w >> 64)
            };
            // Each address contributes below 2^65: the u128 total cannot overflow.
            let addrs = halves(src) + halves(dst);
            acc += u64::from(fold128(addrs)) + u64::from(length >> 16) + u64::from(length & 0xffff);
        }
    }
    fold(acc)
}

/// `fold` for a sum wider than 64 bits.
fn fold128(acc: u128) -> u16 {
    let x = (acc & u128::from(u64::MAX)) + (acc >> 64); // below 2^65
    fold(((x & 0xffff_ffff) + (x >> 32)) as u64) // below 2^34
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
    fn pseudo_header_matches_its_byte_layout() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        // RFC 9293 §3.1: src, dst, zero, protocol, TCP length (16 bits).
        let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 255), Ipv4Addr::new(255, 254, 0, 1));
        let mut b = [s4.octets(), d4.octets()].concat();
        b.extend_from_slice(&[0, 6, 0xff, 0xfe]);
        assert_eq!(pseudo_header(&s4.into(), &d4.into(), 6, 0xfffe), sum(&b));
        // RFC 8200 §8.1: src, dst, upper-layer length (32 bits), 3 zero bytes, next header.
        let s6: Ipv6Addr = "2001:db8:ffff::ffff:1".parse().unwrap();
        let d6: Ipv6Addr = "fe80::ffff:ffff:ffff:fffe".parse().unwrap();
        let mut b = [s6.octets(), d6.octets()].concat();
        b.extend_from_slice(&[0, 1, 0xff, 0xf0, 0, 0, 0, 17]);
        assert_eq!(pseudo_header(&s6.into(), &d6.into(), 17, 0x1fff0), sum(&b));
    }

    #[test]
    fn sum_words_matches_sum() {
        for len in 0..64 {
            let b: Vec<u8> = (0..len).map(|i| (i * 73 + 0xa5) as u8).collect();
            assert_eq!(sum_words(&b), sum(&b), "len {len}");
            assert_eq!(sum_words(&vec![0xff; len]), sum(&vec![0xff; len]), "len {len}");
        }
    }

    #[test]
    fn fold_matches_folding_until_it_fits() {
        let by_loop = |mut a: u64| {
            while a > 0xffff {
                a = (a & 0xffff) + (a >> 16);
            }
            a as u16
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let edges = [0, 1, 0xffff, 0x1_0000, 0x1_fffe, 0xffff_ffff, 0x1_ffff_fffe, u64::MAX];
        for a in edges.into_iter().chain((0..1000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 64)
        })) {
            assert_eq!(fold(a), by_loop(a), "{a:#x}");
        }
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
            assert_eq!(sum_scalar(&data), sum_reference(&data), "len {len}");
            assert_eq!(sum(&vec![0xff; len]), sum_reference(&vec![0xff; len]), "len {len}");
        }
    }

    #[test]
    fn copy_and_sum_matches_copy_then_sum() {
        for len in [0, 1, 7, 31, 32, 33, 100, 1448, 1449] {
            let src: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut dst = vec![0u8; len];
            assert_eq!(copy_and_sum(&mut dst, &src), sum(&src), "len {len}");
            assert_eq!(dst, src);
        }
        // All ones: every add carries.
        for len in 0..100 {
            let src = vec![0xffu8; len];
            let mut dst = vec![0u8; len];
            assert_eq!(copy_and_sum(&mut dst, &src), sum_reference(&src), "len {len}");
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
