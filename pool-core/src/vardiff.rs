//! Per-connection variable difficulty: aim at 10–20 shares per minute (target 15).
//!
//! * The rate is measured over the shares since the last retarget (they were all found at the current
//!   difficulty), within a 5-minute window.
//! * A dead band: nothing changes while the rate stays within [8, 25] shares/min. Outside it, the
//!   difficulty is scaled by `rate / target`, at most ×4 or ÷4 per step, clamped to [min, max].
//! * Retargets happen at most every 30 s, sooner only for a flood (≥ 4× the band's top in shares).
//! * The idle sweep ([`Vardiff::on_tick`]) lowers the difficulty of a miner gone quiet.
//! * All arithmetic on 256-bit difficulties; no floats.

use crate::difficulty::Difficulty;
use crate::u256::U256;

#[derive(Clone, Debug)]
pub struct VardiffConfig {
    pub target_per_min: u64,
    pub low_per_min: u64,
    pub high_per_min: u64,
    pub window_ms: u64,
    pub retarget_ms: u64,
    pub max_step: u64,
    pub min: Difficulty,
    pub max: Difficulty,
}

impl Default for VardiffConfig {
    fn default() -> Self {
        VardiffConfig {
            target_per_min: 15,
            low_per_min: 8,
            high_per_min: 25,
            window_ms: 300_000,
            retarget_ms: 30_000,
            max_step: 4,
            min: Difficulty::ONE,
            max: Difficulty::MAX,
        }
    }
}

/// One connection's vardiff state.
#[derive(Clone, Debug)]
pub struct Vardiff {
    cfg: VardiffConfig,
    current: Difficulty,
    /// Start of the current measurement (last retarget, or connection start).
    since_ms: u64,
    /// Times of shares since `since_ms` (bounded by the flood threshold).
    shares: Vec<u64>,
}

impl Vardiff {
    pub fn new(cfg: VardiffConfig, start: Difficulty, now_ms: u64) -> Self {
        let current = start.clamp(cfg.min, cfg.max);
        Vardiff { cfg, current, since_ms: now_ms, shares: Vec::new() }
    }

    pub fn difficulty(&self) -> Difficulty {
        self.current
    }

    /// Records an accepted share; returns the new difficulty if it changes.
    pub fn on_share(&mut self, now_ms: u64) -> Option<Difficulty> {
        self.shares.push(now_ms);
        let flood = self.shares.len() as u64 >= 4 * self.cfg.high_per_min;
        if flood || now_ms.saturating_sub(self.since_ms) >= self.cfg.retarget_ms {
            return self.retarget(now_ms);
        }
        None
    }

    /// The idle sweep: call periodically; lowers the difficulty of a connection without shares.
    pub fn on_tick(&mut self, now_ms: u64) -> Option<Difficulty> {
        if now_ms.saturating_sub(self.since_ms) >= self.cfg.retarget_ms {
            return self.retarget(now_ms);
        }
        None
    }

    fn retarget(&mut self, now_ms: u64) -> Option<Difficulty> {
        let start = self.since_ms.max(now_ms.saturating_sub(self.cfg.window_ms));
        self.shares.retain(|&t| t >= start);
        let n = self.shares.len() as u64;
        let elapsed = now_ms.saturating_sub(start).max(1);
        // rate per minute = n * 60000 / elapsed; compare without division.
        let in_band =
            n * 60_000 >= self.cfg.low_per_min * elapsed && n * 60_000 <= self.cfg.high_per_min * elapsed;
        if in_band {
            // Keep measuring, but slide the window so old shares age out.
            if now_ms - self.since_ms >= self.cfg.window_ms {
                self.since_ms = now_ms - self.cfg.window_ms / 2;
            }
            return None;
        }
        // new = cur * rate / target = cur * n * 60000 / (elapsed * target), limited to ×/÷ max_step.
        let cur = self.current.value();
        let num = U256::from_u64(n.max(1)).checked_mul_u64(60_000).expect("small");
        let den = U256::from_u128(elapsed as u128 * self.cfg.target_per_min as u128);
        let scaled = cur.checked_mul(num).map(|v| v.div_rem(den).expect("non-zero").0).unwrap_or(U256::MAX);
        let up = cur.checked_mul_u64(self.cfg.max_step).unwrap_or(U256::MAX);
        let down = cur.div_rem_u64(self.cfg.max_step).expect("non-zero").0;
        let mut next = scaled.min(up).max(down);
        if n == 0 {
            next = down; // nothing at all: step down as far as allowed
        }
        let next = Difficulty::new(next).unwrap_or(Difficulty::ONE).clamp(self.cfg.min, self.cfg.max);
        self.since_ms = now_ms;
        self.shares.clear();
        if next == self.current {
            return None;
        }
        self.current = next;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::SplitMix64;

    /// Simulates a miner of `hashrate` H/s for `minutes`; returns (difficulty changes in the last
    /// 15 minutes, shares per minute over the last 15 minutes).
    fn simulate(hashrate: u64, start: u64, minutes: u64, seed: u64) -> (usize, f64, Difficulty) {
        let mut rng = SplitMix64(seed);
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(start).unwrap(), 0);
        let end = minutes * 60_000;
        let tail = end - 15 * 60_000;
        let (mut t, mut changes, mut tail_shares) = (0u64, 0usize, 0u64);
        let mut next_tick = 5_000;
        loop {
            // Exponential inter-arrival at rate hashrate / difficulty per second.
            let d = v.difficulty().value().to_u128().unwrap_or(u128::MAX) as f64;
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let gap_ms = (-(1.0 - u).ln() * d / hashrate as f64 * 1000.0) as u64;
            let share_at = t + gap_ms.max(1);
            while next_tick < share_at.min(end) {
                if v.on_tick(next_tick).is_some() && next_tick >= tail {
                    changes += 1;
                }
                next_tick += 5_000;
            }
            if share_at >= end {
                break;
            }
            t = share_at;
            if t >= tail {
                tail_shares += 1;
            }
            if v.on_share(t).is_some() && t >= tail {
                changes += 1;
            }
        }
        (changes, tail_shares as f64 / 15.0, v.difficulty())
    }

    #[test]
    fn converges_into_the_band_from_1khs_to_1ghs_without_oscillating() {
        for (i, hashrate) in [1_000u64, 50_000, 1_000_000, 100_000_000, 1_000_000_000].into_iter().enumerate()
        {
            for start in [1u64, 1_000_000] {
                let (changes, rate, d) = simulate(hashrate, start, 90, 100 + i as u64);
                assert!(
                    (6.0..=30.0).contains(&rate),
                    "{hashrate} H/s from {start}: {rate:.1} shares/min at {d}"
                );
                assert!(changes <= 3, "{hashrate} H/s from {start}: {changes} retargets in the last 15 min");
            }
        }
    }

    #[test]
    fn idle_sweep_lowers_and_clamps() {
        let cfg = VardiffConfig { min: Difficulty::from_u64(100).unwrap(), ..VardiffConfig::default() };
        let mut v = Vardiff::new(cfg, Difficulty::from_u64(10_000).unwrap(), 0);
        assert_eq!(v.on_tick(10_000), None, "too early");
        assert_eq!(v.on_tick(30_000), Some(Difficulty::from_u64(2_500).unwrap()));
        assert_eq!(v.on_tick(60_000), Some(Difficulty::from_u64(625).unwrap()));
        assert_eq!(v.on_tick(90_000), Some(Difficulty::from_u64(156).unwrap()));
        assert_eq!(v.on_tick(120_000), Some(Difficulty::from_u64(100).unwrap()), "clamped to min");
        assert_eq!(v.on_tick(150_000), None);
    }

    #[test]
    fn a_flood_retargets_at_once_by_at_most_4x() {
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(10).unwrap(), 0);
        let mut changed = None;
        for i in 1..=100 {
            if let Some(d) = v.on_share(i * 10) {
                changed = Some((i, d));
                break;
            }
        }
        assert_eq!(changed, Some((100, Difficulty::from_u64(40).unwrap())));
    }

    #[test]
    fn in_band_does_not_change() {
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(1000).unwrap(), 0);
        for i in 1..=60 {
            assert_eq!(v.on_share(i * 4_000), None, "15/min is on target");
        }
    }
}
