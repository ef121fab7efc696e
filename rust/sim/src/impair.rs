//! Seeded impairments on one link direction: random loss, Gilbert-Elliott burst loss,
//! reordering (extra delay for some frames), duplication and bit corruption. Each
//! direction owns its PRNG stream, derived from the scenario seed (see `stream_seed`).

use crate::seq_loss::SeqLoss;
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Gilbert-Elliott two-state loss model (the same parameters as netem `loss gemodel`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GilbertElliott {
    /// P(good -> bad) per frame.
    pub p_good_bad: f64,
    /// P(bad -> good) per frame.
    pub p_bad_good: f64,
    /// Loss probability while good (usually 0).
    pub loss_good: f64,
    /// Loss probability while bad (usually 1).
    pub loss_bad: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Impairments {
    /// Independent loss probability per frame.
    pub loss: f64,
    /// `loss` applies to TCP data segments only, each transmission's draw keyed on its
    /// place in the stream ([`SeqLoss`]) under the scenario seed.
    pub loss_keyed: bool,
    pub burst: Option<GilbertElliott>,
    /// Probability that a frame is held back by `reorder_delay` (so later ones pass it).
    pub reorder: f64,
    pub reorder_delay: u64,
    /// Probability that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability that a frame has one random bit flipped.
    pub corrupt: f64,
}

impl Impairments {
    pub fn is_none(&self) -> bool {
        self.loss == 0.0
            && self.burst.is_none()
            && self.reorder == 0.0
            && self.duplicate == 0.0
            && self.corrupt == 0.0
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut ps = vec![
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
        ];
        if let Some(b) = &self.burst {
            ps.extend([
                ("burst_loss.p_good_bad", b.p_good_bad),
                ("burst_loss.p_bad_good", b.p_bad_good),
                ("burst_loss.loss_good", b.loss_good),
                ("burst_loss.loss_bad", b.loss_bad),
            ]);
        }
        for (name, p) in ps {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("`{name}` = {p} is not a probability in [0, 1]"));
            }
        }
        Ok(())
    }
}

/// What happens to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    pub drop: bool,
    pub extra_delay: u64,
    pub duplicate: bool,
    /// Bit index to flip, if corrupted.
    pub flip_bit: Option<usize>,
}

/// The impairment state of one direction.
pub struct Impairer {
    pub cfg: Impairments,
    rng: Xoshiro256PlusPlus,
    bad: bool,
    keyed: Option<SeqLoss>,
}

/// Derives an independent PRNG seed for stream `id` of kind `tag` from the scenario seed
/// (SplitMix64 finalizer, so nearby ids give unrelated streams).
pub fn stream_seed(seed: u64, tag: u64, id: u64) -> u64 {
    let mut z =
        seed ^ tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ id.wrapping_mul(0xd1b5_4a32_d192_ed03);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Impairer {
    /// `seed`: this direction's stream; `key_seed`: the keyed loss's (the scenario's).
    pub fn new(cfg: Impairments, seed: u64, key_seed: u64) -> Impairer {
        let keyed = cfg.loss_keyed.then(|| SeqLoss::new(cfg.loss, key_seed));
        Impairer { cfg, rng: Xoshiro256PlusPlus::seed_from_u64(seed), bad: false, keyed }
    }

    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        // 53 random bits as a float in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        u < p
    }

    /// Keyed loss (`loss_keyed`) is decided as a frame reaches the queue, as netem and the
    /// fidelity relay do: a frame it drops takes no link time, and a later tail drop still
    /// counts as a transmission of its data.
    pub fn lost_at_enqueue(&mut self, frame: &[u8]) -> bool {
        self.keyed.as_mut().is_some_and(|k| k.drops(frame))
    }

    /// Decides the fate of `frame`. Draws happen in a fixed order so the stream stays
    /// reproducible whatever the outcome.
    pub fn judge(&mut self, frame: &[u8]) -> Verdict {
        let len = frame.len();
        let mut v = Verdict::default();
        if self.cfg.is_none() {
            return v;
        }
        if let Some(ge) = self.cfg.burst {
            let flip = if self.bad { ge.p_bad_good } else { ge.p_good_bad };
            if self.chance(flip) {
                self.bad = !self.bad;
            }
            let p = if self.bad { ge.loss_bad } else { ge.loss_good };
            v.drop |= self.chance(p);
        }
        if self.keyed.is_none() {
            v.drop |= self.chance(self.cfg.loss);
        }
        if self.chance(self.cfg.reorder) {
            v.extra_delay = self.cfg.reorder_delay;
        }
        v.duplicate = self.chance(self.cfg.duplicate);
        if self.chance(self.cfg.corrupt) && len > 0 {
            v.flip_bit = Some((self.rng.next_u64() % (len as u64 * 8)) as usize);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_rate_is_close_and_reproducible() {
        let cfg = Impairments { loss: 0.05, ..Default::default() };
        let run = |seed| {
            let mut im = Impairer::new(cfg.clone(), seed, 0);
            (0..100_000).map(|_| im.judge(&[0; 100]).drop as u32).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let lost: u32 = a.iter().sum();
        assert!((4500..5500).contains(&lost), "lost {lost}");
    }

    #[test]
    fn gilbert_elliott_makes_bursts() {
        let ge =
            GilbertElliott { p_good_bad: 0.01, p_bad_good: 0.25, loss_good: 0.0, loss_bad: 1.0 };
        let mut im = Impairer::new(Impairments { burst: Some(ge), ..Default::default() }, 1, 0);
        let drops: Vec<bool> = (0..100_000).map(|_| im.judge(&[0; 100]).drop).collect();
        let lost = drops.iter().filter(|d| **d).count();
        // Stationary bad fraction = 0.01 / (0.01 + 0.25) ~ 3.8 %, mean burst 4 frames.
        assert!((3000..4800).contains(&lost), "lost {lost}");
        let bursts = drops.windows(2).filter(|w| w[1] && !w[0]).count();
        assert!(lost as f64 / bursts as f64 > 2.5);
    }

    #[test]
    fn streams_differ() {
        assert_ne!(stream_seed(1, 2, 3), stream_seed(1, 2, 4));
        assert_ne!(stream_seed(1, 2, 3), stream_seed(2, 2, 3));
    }
}
