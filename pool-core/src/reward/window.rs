//! The PPLNS window: the most recent PPLNS work worth `factor ×` the network difficulty.
//!
//! * The target is `ceil(num × D / den)`: accumulated (integer) work "reaches" `factor × D`
//!   exactly when it is at least that ceiling. With the default factor 2 it is `2D`, exactly.
//!   A target beyond 2^256 − 1 is capped there (no window of real shares can hold more).
//! * Shares are taken newest first; the one that crosses the target counts only for the part
//!   that fits, so the window's work is exactly `min(all PPLNS work offered, target)`.
//! * Shares of other schemes are skipped, so the caller may stream every share newest first.
//!   Iteration stops as soon as the window is full: a database cursor is read no further.
//! * The caller starts the stream at the block's own share (shares after the block do not count).

use super::exact::mul_div;
use super::ratio::Ratio;
use super::scheme::Scheme;
use super::split::ShareWork;
use crate::difficulty::Difficulty;
use crate::u256::U256;
use std::collections::BTreeMap;

/// The window that was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PplnsWindow<M: Ord> {
    /// The work each miner has in the window (the weight of its PPLNS credit).
    pub work: BTreeMap<M, U256>,
    /// `ceil(factor × D)`.
    pub target: U256,
    /// Σ `work`: `min(PPLNS work offered, target)`.
    pub filled: U256,
    /// PPLNS shares read (the last one possibly only in part). Everything older is not needed
    /// for this block.
    pub shares: usize,
    /// The part of the oldest share read that did not fit (0 when it fit entirely).
    pub cut: U256,
}

/// `ceil(factor × D)`, capped at 2^256 − 1.
pub fn window_target(factor: Ratio, network_difficulty: Difficulty) -> U256 {
    let (q, r) = mul_div(
        U256::from_u64(factor.num().into()),
        network_difficulty.value(),
        U256::from_u64(factor.den().into()),
    )
    .unwrap_or((U256::MAX, U256::ZERO));
    if r.is_zero() { q } else { q.checked_add(U256::ONE).unwrap_or(U256::MAX) }
}

/// Takes the window from `shares`, newest first.
pub fn pplns_window<M: Ord + Clone>(
    factor: Ratio,
    network_difficulty: Difficulty,
    shares: impl IntoIterator<Item = ShareWork<M>>,
) -> PplnsWindow<M> {
    let target = window_target(factor, network_difficulty);
    let mut w = PplnsWindow { work: BTreeMap::new(), target, filled: U256::ZERO, shares: 0, cut: U256::ZERO };
    let mut shares = shares.into_iter();
    // Checked before each read, so a full window reads no further share.
    while w.filled < target {
        let Some(share) = shares.next() else { break };
        if share.scheme != Scheme::Pplns {
            continue;
        }
        let room = target.checked_sub(w.filled).expect("filled < target");
        let d = share.difficulty.value();
        let take = d.min(room);
        w.cut = d.checked_sub(take).expect("take ≤ d");
        w.filled = w.filled.checked_add(take).expect("filled ≤ target");
        let entry = w.work.entry(share.miner).or_insert(U256::ZERO);
        *entry = entry.checked_add(take).expect("a miner's work ≤ filled");
        w.shares += 1;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(miner: u32, d: u64, scheme: Scheme) -> ShareWork<u32> {
        ShareWork { miner, difficulty: Difficulty::from_u64(d).unwrap(), scheme }
    }

    fn diff(d: u64) -> Difficulty {
        Difficulty::from_u64(d).unwrap()
    }

    #[test]
    fn target_is_the_ceiling_of_factor_times_d() {
        assert_eq!(window_target(Ratio::TWO, diff(1000)), U256::from_u64(2000));
        assert_eq!(window_target(Ratio::new(3, 2).unwrap(), diff(1001)), U256::from_u64(1502), "1501.5 ↑");
        assert_eq!(window_target(Ratio::new(1, 3).unwrap(), diff(1)), U256::ONE, "never empty");
        assert_eq!(window_target(Ratio::TWO, Difficulty::MAX), U256::MAX, "capped");
        assert_eq!(
            window_target(Ratio::new(1, 2).unwrap(), Difficulty::MAX),
            U256::MAX.div_rem_u64(2).unwrap().0.checked_add(U256::ONE).unwrap()
        );
    }

    #[test]
    fn the_crossing_share_counts_only_for_what_fits() {
        let shares = vec![
            share(1, 700, Scheme::Pplns),
            share(2, 900, Scheme::Pplns),
            share(1, 800, Scheme::Pplns),
            share(3, 5, Scheme::Pplns),
        ];
        let w = pplns_window(Ratio::TWO, diff(1000), shares);
        assert_eq!(w.filled, U256::from_u64(2000));
        assert_eq!(w.work[&1], U256::from_u64(700 + 400));
        assert_eq!(w.work[&2], U256::from_u64(900));
        assert!(!w.work.contains_key(&3), "older than the window");
        assert_eq!((w.shares, w.cut), (3, U256::from_u64(400)));
    }

    #[test]
    fn other_schemes_are_skipped_and_a_short_history_is_taken_whole() {
        let shares = vec![
            share(1, 10, Scheme::Prop),
            share(2, 30, Scheme::Pplns),
            share(3, 10, Scheme::Pps),
            share(2, 20, Scheme::Pplns),
        ];
        let w = pplns_window(Ratio::TWO, diff(1000), shares);
        assert_eq!(w.filled, U256::from_u64(50));
        assert_eq!(w.work.len(), 1);
        assert_eq!((w.shares, w.cut), (2, U256::ZERO));
        let empty = pplns_window::<u32>(Ratio::TWO, diff(1000), vec![]);
        assert!(empty.work.is_empty() && empty.filled.is_zero());
    }

    #[test]
    fn a_full_window_reads_no_further() {
        let mut read = 0;
        let stream = (0..1000u32).map(|i| {
            read += 1;
            share(i, 100, Scheme::Pplns)
        });
        let w = pplns_window(Ratio::TWO, diff(1000), stream);
        assert_eq!(w.shares, 20);
        assert_eq!(read, 20);
    }
}
