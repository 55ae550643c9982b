//! Per-connection variable difficulty: aim at 10–20 shares per minute (target 15).
//!
//! * The miner's hashrate is measured from the **work** of its shares (Σ credited difficulty /
//!   time), so shares still arriving at an older difficulty after a retarget count for what they
//!   are worth instead of skewing the rate.
//! * A dead band: nothing changes while the rate at the current difficulty stays within [8, 25]
//!   shares/min. Outside it, every `retarget_ms` (30 s), the difficulty moves to the target rate,
//!   at most ×4 or ÷4 per step.
//! * A **burst** (the last 8 shares came faster than 4× the band's top) retargets at once, straight
//!   to the measured rate, with no step limit: a fast miner starting low (or back after the idle
//!   sweep) is at its difficulty after a handful of shares, long before the submit rate limit.
//!   The [`Retarget`] says how fast the shares were coming, so the connection can allow for the
//!   ones already in flight at the old difficulty.
//! * The idle sweep ([`Vardiff::on_tick`]) lowers the difficulty of a miner gone quiet (÷4 per
//!   30 s), but with no share at all as evidence never below `idle_floor`.
//! * The state never exceeds the **ceiling** (the network difficulty: a share never needs more
//!   work than a block), so a later hashrate drop starts from the cap, not from far above it.
//! * All arithmetic on 256-bit difficulties; no floats.

use crate::difficulty::Difficulty;
use crate::u256::U256;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct VardiffConfig {
    pub target_per_min: u64,
    pub low_per_min: u64,
    pub high_per_min: u64,
    pub window_ms: u64,
    pub retarget_ms: u64,
    /// Step limit of a regular retarget (both ways).
    pub max_step: u64,
    /// A burst is judged on this many shares…
    pub burst_shares: usize,
    /// …arriving at more than this many times `high_per_min`.
    pub burst_factor: u64,
    pub min: Difficulty,
    pub max: Difficulty,
    /// The idle sweep (no share at all) goes no lower than this.
    pub idle_floor: Difficulty,
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
            burst_shares: 8,
            burst_factor: 4,
            min: Difficulty::ONE,
            max: Difficulty::MAX,
            idle_floor: Difficulty::ONE,
        }
    }
}

/// A difficulty change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retarget {
    pub difficulty: Difficulty,
    /// Shares per second the connection was sending before the change (rounded up): the shares in
    /// flight at the old difficulty until the miner has the new work.
    pub old_shares_per_second: u64,
}

/// Shares kept for measuring (more is never needed within one window at a sane rate).
const MAX_SAMPLES: usize = 4096;

/// One connection's vardiff state.
#[derive(Clone, Debug)]
pub struct Vardiff {
    cfg: VardiffConfig,
    current: Difficulty,
    ceiling: Difficulty,
    /// Start of the current measurement (last retarget, or connection start).
    since_ms: u64,
    /// (time, credited difficulty) of the shares since `since_ms`.
    shares: VecDeque<(u64, Difficulty)>,
}

impl Vardiff {
    pub fn new(cfg: VardiffConfig, start: Difficulty, now_ms: u64) -> Self {
        let current = start.clamp(cfg.min, cfg.max);
        Vardiff { ceiling: cfg.max, cfg, current, since_ms: now_ms, shares: VecDeque::new() }
    }

    /// The difficulty to issue (never above the ceiling).
    pub fn difficulty(&self) -> Difficulty {
        self.current
    }

    /// Sets the ceiling (the network difficulty of the newest job); returns the new difficulty if
    /// the cap lowered it.
    pub fn set_ceiling(&mut self, ceiling: Difficulty) -> Option<Difficulty> {
        self.ceiling = ceiling.min(self.cfg.max);
        (self.current > self.ceiling).then(|| {
            self.current = self.ceiling;
            self.current
        })
    }

    /// Records an accepted share credited at `credited`; returns the retarget if the difficulty
    /// changes.
    pub fn on_share(&mut self, now_ms: u64, credited: Difficulty) -> Option<Retarget> {
        if self.shares.len() == MAX_SAMPLES {
            self.shares.pop_front();
        }
        self.shares.push_back((now_ms, credited));
        if let Some(r) = self.burst(now_ms) {
            return Some(r);
        }
        if now_ms.saturating_sub(self.since_ms) >= self.cfg.retarget_ms {
            return self.retarget(now_ms);
        }
        None
    }

    /// The idle sweep: call periodically; lowers the difficulty of a connection without shares.
    pub fn on_tick(&mut self, now_ms: u64) -> Option<Retarget> {
        if now_ms.saturating_sub(self.since_ms) >= self.cfg.retarget_ms {
            return self.retarget(now_ms);
        }
        None
    }

    /// Work per minute at the current difficulty, scaled: `work × 60000 / elapsed_ms`, compared
    /// with `per_min × current` without division.
    fn rate_exceeds(&self, work: U256, elapsed_ms: u64, per_min: u64) -> bool {
        let lhs = work.checked_mul_u64(60_000).unwrap_or(U256::MAX);
        let rhs = self.current.value().checked_mul(U256::from_u128(elapsed_ms as u128 * per_min as u128));
        rhs.is_some_and(|r| lhs > r)
    }

    fn rate_below(&self, work: U256, elapsed_ms: u64, per_min: u64) -> bool {
        let lhs = work.checked_mul_u64(60_000).unwrap_or(U256::MAX);
        match self.current.value().checked_mul(U256::from_u128(elapsed_ms as u128 * per_min as u128)) {
            Some(r) => lhs < r,
            None => true,
        }
    }

    /// The difficulty that would give `target_per_min` at `work` per `elapsed_ms`.
    fn at_target(&self, work: U256, elapsed_ms: u64) -> U256 {
        let den = U256::from_u128(elapsed_ms.max(1) as u128 * self.cfg.target_per_min as u128);
        work.checked_mul_u64(60_000).unwrap_or(U256::MAX).div_rem(den).expect("non-zero").0
    }

    fn old_rate(&self, count: usize, elapsed_ms: u64) -> u64 {
        (count as u64 * 1000).div_ceil(elapsed_ms.max(1))
    }

    /// The last `burst_shares` shares, if they came faster than `burst_factor` × the band's top.
    fn burst(&mut self, now_ms: u64) -> Option<Retarget> {
        let n = self.cfg.burst_shares.max(2);
        if self.shares.len() < n {
            return None;
        }
        let recent = self.shares.range(self.shares.len() - n..);
        let first = self.shares[self.shares.len() - n].0;
        // n shares span n − 1 intervals: the work of all but the first, over their span.
        let work = recent.skip(1).fold(U256::ZERO, |w, (_, d)| w.checked_add(d.value()).unwrap_or(U256::MAX));
        let span = now_ms.saturating_sub(first).max(1);
        if !self.rate_exceeds(work, span, self.cfg.burst_factor * self.cfg.high_per_min) {
            return None;
        }
        let next = self.clamp(self.at_target(work, span), self.cfg.min);
        Some(self.apply(next, self.old_rate(n - 1, span), now_ms)).flatten()
    }

    fn retarget(&mut self, now_ms: u64) -> Option<Retarget> {
        let start = self.since_ms.max(now_ms.saturating_sub(self.cfg.window_ms));
        while self.shares.front().is_some_and(|(t, _)| *t < start) {
            self.shares.pop_front();
        }
        let elapsed = now_ms.saturating_sub(start).max(1);
        let work =
            self.shares.iter().fold(U256::ZERO, |w, (_, d)| w.checked_add(d.value()).unwrap_or(U256::MAX));
        let cur = self.current.value();
        let down = cur.div_rem_u64(self.cfg.max_step).expect("non-zero").0;
        if self.shares.is_empty() {
            // Nothing at all: step down, but without evidence not below the idle floor.
            let floor = self.cfg.idle_floor.max(self.cfg.min);
            let next = if self.current <= floor { self.current } else { self.clamp(down, floor) };
            return self.apply(next, 0, now_ms);
        }
        let high = self.rate_exceeds(work, elapsed, self.cfg.high_per_min);
        let low = self.rate_below(work, elapsed, self.cfg.low_per_min);
        if !high && !low {
            // In the band: keep measuring, sliding the window so old shares age out.
            if now_ms - self.since_ms >= self.cfg.window_ms {
                self.since_ms = now_ms - self.cfg.window_ms / 2;
            }
            return None;
        }
        let up = cur.checked_mul_u64(self.cfg.max_step).unwrap_or(U256::MAX);
        let next = self.clamp(self.at_target(work, elapsed).min(up).max(down), self.cfg.min);
        let rate = self.old_rate(self.shares.len(), elapsed);
        self.apply(next, rate, now_ms)
    }

    /// `d` within [floor, max] and under the ceiling.
    fn clamp(&self, d: U256, floor: Difficulty) -> Difficulty {
        Difficulty::new(d).unwrap_or(Difficulty::ONE).clamp(floor, self.cfg.max.max(floor)).min(self.ceiling)
    }

    /// Starts a new measurement at `next`; the retarget, if the difficulty changed.
    fn apply(&mut self, next: Difficulty, old_shares_per_second: u64, now_ms: u64) -> Option<Retarget> {
        self.since_ms = now_ms;
        self.shares.clear();
        if next == self.current {
            return None;
        }
        self.current = next;
        Some(Retarget { difficulty: next, old_shares_per_second })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::SplitMix64;

    /// Time to the next share of a miner at `hashrate` mining difficulty `d` (exponential).
    fn gap_ms(rng: &mut SplitMix64, d: Difficulty, hashrate: u64) -> u64 {
        let d = d.value().to_u128().unwrap_or(u128::MAX) as f64;
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-(1.0 - u).ln() * d / hashrate as f64 * 1000.0) as u64).max(1)
    }

    /// Simulates a miner of `hashrate` H/s for `minutes`, switching to new work at once; returns
    /// (difficulty changes in the last 15 minutes, shares per minute over the last 15 minutes).
    fn simulate(
        cfg: VardiffConfig,
        hashrate: u64,
        start: u64,
        minutes: u64,
        seed: u64,
    ) -> (usize, f64, Difficulty) {
        let mut rng = SplitMix64(seed);
        let mut v = Vardiff::new(cfg, Difficulty::from_u64(start).unwrap(), 0);
        let end = minutes * 60_000;
        let tail = end - 15 * 60_000;
        let (mut t, mut changes, mut tail_shares) = (0u64, 0usize, 0u64);
        let mut next_tick = 5_000;
        loop {
            let share_at = t + gap_ms(&mut rng, v.difficulty(), hashrate);
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
            let d = v.difficulty();
            if v.on_share(t, d).is_some() && t >= tail {
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
                let (changes, rate, d) =
                    simulate(VardiffConfig::default(), hashrate, start, 90, 100 + i as u64);
                assert!(
                    (6.0..=30.0).contains(&rate),
                    "{hashrate} H/s from {start}: {rate:.1} shares/min at {d}"
                );
                assert!(changes <= 3, "{hashrate} H/s from {start}: {changes} retargets in the last 15 min");
            }
        }
    }

    #[test]
    fn a_burst_retargets_at_once_to_the_measured_rate() {
        // 10,000 shares/s at difficulty 10 (100 kH/s): after 8 shares, straight to ~15/min.
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(10).unwrap(), 0);
        let d10 = Difficulty::from_u64(10).unwrap();
        let mut changed = None;
        for i in 1..=8u64 {
            if let Some(r) = v.on_share(1_000 + i / 10, d10) {
                changed = Some((i, r));
            }
        }
        let (i, r) = changed.expect("a burst retarget");
        assert_eq!(i, 8, "on the 8th share");
        // 7 × 10 work in ≤ 1 ms ⇒ ≥ 70 kH/s ⇒ ≥ 280,000 at 15/min: far more than ×4.
        assert!(r.difficulty >= Difficulty::from_u64(200_000).unwrap(), "{:?}", r.difficulty);
        assert!(r.old_shares_per_second >= 5_000, "{r:?}");
    }

    #[test]
    fn shares_at_an_old_difficulty_count_for_their_work() {
        // After a burst retarget, the stragglers at the old difficulty do not trigger another.
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(10).unwrap(), 0);
        let d10 = Difficulty::from_u64(10).unwrap();
        let mut r = None;
        for i in 0..8u64 {
            r = r.or(v.on_share(i, d10));
        }
        let new = r.expect("burst").difficulty;
        for i in 8..48u64 {
            assert_eq!(v.on_share(i, d10), None, "a straggler at the old difficulty");
        }
        assert_eq!(v.difficulty(), new);
    }

    #[test]
    fn idle_sweep_lowers_to_the_floor_without_evidence() {
        let cfg = VardiffConfig {
            min: Difficulty::from_u64(10).unwrap(),
            idle_floor: Difficulty::from_u64(100).unwrap(),
            ..VardiffConfig::default()
        };
        let mut v = Vardiff::new(cfg, Difficulty::from_u64(10_000).unwrap(), 0);
        let step = |v: &mut Vardiff, t| v.on_tick(t).map(|r| r.difficulty.value().to_u64().unwrap());
        assert_eq!(step(&mut v, 10_000), None, "too early");
        assert_eq!(step(&mut v, 30_000), Some(2_500));
        assert_eq!(step(&mut v, 60_000), Some(625));
        assert_eq!(step(&mut v, 90_000), Some(156));
        assert_eq!(step(&mut v, 120_000), Some(100), "the idle floor");
        assert_eq!(step(&mut v, 150_000), None);
        // With evidence (a slow miner's share), the regular retarget may go below the floor.
        v.on_share(160_000, Difficulty::from_u64(100).unwrap());
        assert_eq!(step(&mut v, 181_000), Some(25));
    }

    #[test]
    fn in_band_does_not_change() {
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(1000).unwrap(), 0);
        let d = v.difficulty();
        for i in 1..=60 {
            assert_eq!(v.on_share(i * 4_000, d), None, "15/min is on target");
        }
    }

    #[test]
    fn the_state_stays_within_the_network_cap() {
        // A miner far faster than the network difficulty allows: 10 MH/s at network difficulty 10^5
        // (100 shares/s even at the cap).
        let network = Difficulty::from_u64(100_000).unwrap();
        let mut v = Vardiff::new(VardiffConfig::default(), Difficulty::from_u64(1_000).unwrap(), 0);
        v.set_ceiling(network);
        let mut rng = SplitMix64(5);
        let mut t = 0;
        for _ in 0..20_000 {
            t += gap_ms(&mut rng, v.difficulty(), 10_000_000);
            let d = v.difficulty();
            v.on_share(t, d);
            v.on_tick(t);
            assert!(v.difficulty() <= network, "never above the cap");
        }
        assert_eq!(v.difficulty(), network);
        // The hashrate drops 1000×: the regular retarget comes down from the cap (÷4 per 30 s),
        // not from 4^k above it, and reaches the new rate's difficulty within a few minutes.
        let slow = 10_000;
        let until = t + 6 * 60_000;
        while t < until {
            let next = t + gap_ms(&mut rng, v.difficulty(), slow);
            while t + 5_000 < next.min(until) {
                t += 5_000;
                v.on_tick(t);
            }
            t = next;
            let d = v.difficulty();
            v.on_share(t, d);
        }
        let d = v.difficulty().value().to_u64().unwrap();
        assert!((10_000..=100_000).contains(&d), "at {d} after 6 minutes (≈ 40,000 is on target)");
        // A lower ceiling lowers the difficulty at once.
        assert_eq!(
            v.set_ceiling(Difficulty::from_u64(5_000).unwrap()),
            Some(Difficulty::from_u64(5_000).unwrap())
        );
    }
}
