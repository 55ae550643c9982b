//! Defect 7c: an honest fast miner must never meet the submit rate limit, however low its start.
//!
//! A deterministic simulation of the pool's per-connection policy — [`Vardiff`] plus the submit
//! [`TokenBucket`] with the in-flight allowance — against a miner that, like tosminer, mines the
//! newest work it has received, with 25 ms each way between pool and miner.

use pool_core::Difficulty;
use pool_core::policy::{TokenBucket, in_flight_allowance};
use pool_core::vardiff::{Vardiff, VardiffConfig};

/// The pool's defaults: burst 100, 20/s sustained; start 10,000; idle floor start/16.
const BURST: u64 = 100;
const PER_SECOND: u64 = 20;
const START: u64 = 10_000;
const IDLE_FLOOR: u64 = START / 16;
const ONE_WAY_US: u64 = 25_000;

struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Outcome {
    refused: u64,
    shares: u64,
    final_difficulty: Difficulty,
}

/// Runs a miner of `hashrate` H/s for `seconds`, silent during `[quiet_from, quiet_to)` seconds.
fn run(hashrate: u64, start: u64, seconds: u64, quiet: Option<(u64, u64)>, seed: u64) -> Outcome {
    let cfg =
        VardiffConfig { idle_floor: Difficulty::from_u64(IDLE_FLOOR).unwrap(), ..VardiffConfig::default() };
    let mut vardiff = Vardiff::new(cfg, Difficulty::from_u64(start).unwrap(), 0);
    let mut limiter = TokenBucket::new(BURST, PER_SECOND, 0);
    let mut rng = Rng(seed);
    // (time the miner receives it, difficulty): work in flight towards the miner.
    let mut pending: Vec<(u64, Difficulty)> = Vec::new();
    let mut mining = vardiff.difficulty();
    let (mut t_us, mut refused, mut shares) = (0u64, 0u64, 0u64);
    let mut next_tick_us = 5_000_000;
    let end_us = seconds * 1_000_000;
    while t_us < end_us {
        // The miner's next share at the difficulty it is mining now (exponential).
        let d = mining.value().to_u128().unwrap() as f64;
        let gap = ((-(1.0 - rng.unit()).ln() * d / hashrate as f64) * 1e6) as u64 + 1;
        let found = t_us + gap;
        // New work reaching the miner first restarts its search (memoryless: just switch).
        if let Some(&(at, nd)) = pending.first()
            && at <= found
        {
            t_us = at;
            mining = nd;
            pending.remove(0);
            continue;
        }
        // The pool's 5-second tick (idle sweep) before the share arrives.
        let arrives = found + ONE_WAY_US;
        if next_tick_us <= arrives {
            t_us = t_us.max(next_tick_us.min(found));
            if let Some(r) = vardiff.on_tick(next_tick_us / 1000) {
                pending.push((next_tick_us + ONE_WAY_US, r.difficulty));
            }
            next_tick_us += 5_000_000;
            if next_tick_us <= arrives {
                continue;
            }
        }
        t_us = found;
        if quiet.is_some_and(|(a, b)| (a * 1_000_000..b * 1_000_000).contains(&found)) {
            continue; // paused rig: the share is never sent
        }
        let now_ms = arrives / 1000;
        shares += 1;
        if !limiter.allow(now_ms) {
            refused += 1;
            continue;
        }
        if let Some(r) = vardiff.on_share(now_ms, mining) {
            if r.difficulty > mining {
                limiter.grant(in_flight_allowance(r.old_shares_per_second));
            }
            pending.push((arrives + ONE_WAY_US, r.difficulty));
        }
    }
    Outcome { refused, shares, final_difficulty: vardiff.difficulty() }
}

const HASHRATES: [u64; 6] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

#[test]
fn from_the_start_difficulty_no_honest_share_is_refused() {
    for (i, h) in HASHRATES.into_iter().enumerate() {
        let o = run(h, START, 600, None, 1 + i as u64);
        assert_eq!(o.refused, 0, "{h} H/s from {START}: {} of {} shares refused", o.refused, o.shares);
        // And it ends near 15 shares/min: difficulty ≈ 4 s of its hashes.
        let want = (h * 4) as f64;
        let got = o.final_difficulty.value().to_u128().unwrap() as f64;
        assert!((want / 3.0..want * 3.0).contains(&got), "{h} H/s ends at {got}, want ≈ {want}");
    }
}

#[test]
fn from_the_idle_floor_no_honest_share_is_refused() {
    for (i, h) in HASHRATES.into_iter().enumerate() {
        let o = run(h, IDLE_FLOOR, 600, None, 100 + i as u64);
        assert_eq!(o.refused, 0, "{h} H/s from {IDLE_FLOOR}: {} of {} shares refused", o.refused, o.shares);
    }
}

#[test]
fn back_after_the_idle_sweep_no_honest_share_is_refused() {
    // Mining, then paused for 20 minutes (the sweep takes the difficulty down to the floor), back.
    for (i, h) in HASHRATES.into_iter().enumerate() {
        let o = run(h, START, 2_400, Some((300, 1_500)), 200 + i as u64);
        assert_eq!(o.refused, 0, "{h} H/s back after idling: {} of {} shares refused", o.refused, o.shares);
    }
}
