//! The deterministic payload of stream apps: byte `i` of every stream is
//! `TABLE[i % PERIOD]`, a hash-derived table whose prime period never lines up with
//! segment sizes, so a lost, duplicated or shifted byte is caught by the sink, which
//! also hashes the whole stream.

use std::sync::OnceLock;

/// Prime period of the pattern.
pub const PERIOD: usize = 65_521;

fn table() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    // Twice the period so any window of up to PERIOD bytes is one contiguous slice.
    T.get_or_init(|| {
        (0..2 * PERIOD)
            .map(|i| {
                let x = ((i % PERIOD) as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                (x >> 56) as u8
            })
            .collect()
    })
}

/// The pattern bytes at stream offset `off`, at most `max` of them (and at most PERIOD).
pub fn slice(off: u64, max: usize) -> &'static [u8] {
    let start = (off % PERIOD as u64) as usize;
    &table()[start..start + max.min(PERIOD)]
}

/// Checks `data` received at stream offset `off`; returns how many bytes differ.
pub fn mismatches(off: u64, data: &[u8]) -> u64 {
    let mut bad = 0;
    let mut done = 0;
    while done < data.len() {
        let want = slice(off + done as u64, data.len() - done);
        let got = &data[done..done + want.len()];
        if want != got {
            bad += want.iter().zip(got).filter(|(a, b)| a != b).count() as u64;
        }
        done += want.len();
    }
    bad
}

/// A stream hash that does not depend on how the stream was cut into reads: 64-bit
/// little-endian words mixed by multiply-rotate (8 bytes per step, so a 10 Gbit/s sink
/// can afford it), the tail and the length folded in at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamHash {
    h: u64,
    len: u64,
    tail: [u8; 8],
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl StreamHash {
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(K).rotate_left(29);
    }

    pub fn update(&mut self, mut data: &[u8]) {
        let used = (self.len % 8) as usize;
        self.len += data.len() as u64;
        if used > 0 {
            let take = (8 - used).min(data.len());
            self.tail[used..used + take].copy_from_slice(&data[..take]);
            data = &data[take..];
            if used + take < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
    }

    pub fn finish(&self) -> u64 {
        let used = (self.len % 8) as usize;
        let mut t = [0u8; 8];
        t[..used].copy_from_slice(&self.tail[..used]);
        let h = (self.h ^ u64::from_le_bytes(t)).wrapping_mul(K).rotate_left(29);
        (h ^ self.len).wrapping_mul(K)
    }
}

/// The hash of the first `len` pattern bytes (what an intact stream hashes to).
pub fn stream_hash(len: u64) -> u64 {
    let mut h = StreamHash::default();
    let mut off = 0;
    while off < len {
        let s = slice(off, (len - off).min(PERIOD as u64) as usize);
        h.update(s);
        off += s.len() as u64;
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_wrap_and_verify() {
        let mut all = Vec::new();
        let mut off = 0u64;
        while off < 200_000 {
            let s = slice(off, 1448);
            all.extend_from_slice(s);
            off += s.len() as u64;
        }
        assert_eq!(mismatches(0, &all), 0);
        assert_eq!(mismatches(1, &all[1..]), 0);
        assert!(mismatches(0, &all[1..]) > 1000, "a shifted stream must not verify");
        // Any cut into reads gives the same hash.
        for cut in [1usize, 7, 8, 1000, 4093] {
            let mut h = StreamHash::default();
            for c in all[..150_001].chunks(cut) {
                h.update(c);
            }
            assert_eq!(h.finish(), stream_hash(150_001), "cut {cut}");
        }
        let mut bad = all[..150_001].to_vec();
        bad[77_777] ^= 4;
        let mut h = StreamHash::default();
        h.update(&bad);
        assert_ne!(h.finish(), stream_hash(150_001));
    }
}
