//! The relay's random draws: SplitMix64's output function (Steele, Lea, Flood 2014) over
//! a seed and a key, so a draw is a pure function of what it decides, not of the order
//! of the draws before it.

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) (53 bits) for `key` under `seed`; distinct keys give
/// independent-looking draws.
pub fn keyed_uniform(seed: u64, key: u64) -> f64 {
    let z = mix64(mix64(seed.wrapping_add(0x9e37_79b9_7f4a_7c15)) ^ key);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_and_keyed() {
        assert_eq!(keyed_uniform(7, 42), keyed_uniform(7, 42));
        assert_ne!(keyed_uniform(7, 42), keyed_uniform(8, 42));
        // Consecutive keys (the relay's are sequence numbers) still spread evenly.
        let mut bins = [0u32; 10];
        for k in 0..100_000u64 {
            bins[(keyed_uniform(1, k << 16) * 10.0) as usize] += 1;
        }
        assert!(bins.iter().all(|&b| (9_500..10_500).contains(&b)), "{bins:?}");
        let hits = (0..100_000u64).filter(|&k| keyed_uniform(3, k) < 0.01).count();
        assert!((850..1150).contains(&hits), "{hits}");
    }
}
