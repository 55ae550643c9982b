//! Splitting one block's reward: [`split_solo`] for a solo miner's block, [`split_shared`] for a
//! block of the shared pool (the rules are in the [module doc](super)).

use super::allocate::largest_remainder;
use super::exact::checked_sum;
use super::explain::{CreditLine, GroupShare, SplitExplanation};
use super::fee::FeeBp;
use super::ratio::Ratio;
use super::scheme::Scheme;
use super::window::pplns_window;
use crate::difficulty::Difficulty;
use crate::u256::U256;
use std::collections::BTreeMap;

/// One accepted share's work (or a miner's summed work of one scheme: a round only uses sums).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareWork<M> {
    /// The storage's miner id; its order breaks ties.
    pub miner: M,
    /// The difficulty the share was credited at.
    pub difficulty: Difficulty,
    pub scheme: Scheme,
}

/// Where a block's reward goes. `Σ credits + pool_fee + pps_fund == reward`, exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSplit<M: Ord> {
    /// Miner balance credits; only non-zero amounts (a zero credit changes no balance).
    pub credits: BTreeMap<M, u64>,
    /// The pool's fee, plus any portion nobody could be paid from.
    pub pool_fee: u64,
    /// The block's PPS portion, returned to the fund that already paid PPS miners per share.
    pub pps_fund: u64,
}

impl<M: Ord> BlockSplit<M> {
    /// `Σ credits + pool_fee + pps_fund`, in `u128` so that even a corrupt split cannot overflow.
    pub fn total(&self) -> u128 {
        self.credits.values().map(|&c| c as u128).sum::<u128>()
            + self.pool_fee as u128
            + self.pps_fund as u128
    }

    /// Whether the split hands out exactly `reward`.
    pub fn conserves(&self, reward: u64) -> bool {
        self.total() == reward as u128
    }
}

/// Why a shared split cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the round's total work exceeds 2^256 - 1")]
    WorkOverflow,
}

/// A solo block: the fee to the pool, the rest to the finder.
pub fn split_solo<M: Ord>(reward: u64, fee: FeeBp, finder: M) -> BlockSplit<M> {
    let pool_fee = fee.of(reward);
    let mut credits = BTreeMap::new();
    if reward > pool_fee {
        credits.insert(finder, reward - pool_fee);
    }
    BlockSplit { credits, pool_fee, pps_fund: 0 }
}

/// A block of the shared pool. `round`: every share since the previous shared block, including
/// the block's own (any order; solo shares are ignored). `pplns_window`: shares newest first from
/// the block's own, across rounds (other schemes are skipped; read only as far as needed).
pub fn split_shared<M: Ord + Clone>(
    reward: u64,
    fee: FeeBp,
    network_difficulty: Difficulty,
    pplns_factor: Ratio,
    round: &[ShareWork<M>],
    pplns_window: impl IntoIterator<Item = ShareWork<M>>,
) -> Result<BlockSplit<M>, SplitError> {
    explain_shared(reward, fee, network_difficulty, pplns_factor, round, pplns_window).map(|e| e.split)
}

/// [`split_shared`] with every weight and portion it used, for `tos-pool audit block`.
pub fn explain_shared<M: Ord + Clone>(
    reward: u64,
    fee: FeeBp,
    network_difficulty: Difficulty,
    pplns_factor: Ratio,
    round: &[ShareWork<M>],
    window_shares: impl IntoIterator<Item = ShareWork<M>>,
) -> Result<SplitExplanation<M>, SplitError> {
    let fee_amount = fee.of(reward);
    let rest = reward - fee_amount;

    // Round work by scheme, and PROP work by miner. Every sum is of non-negative values, so
    // whether one overflows does not depend on the order of the round.
    let add = |acc: &mut U256, d: Difficulty| -> Result<(), SplitError> {
        *acc = acc.checked_add(d.value()).ok_or(SplitError::WorkOverflow)?;
        Ok(())
    };
    let mut group_work = [U256::ZERO; 3];
    let mut prop_by_miner: BTreeMap<M, U256> = BTreeMap::new();
    for s in round {
        match s.scheme {
            Scheme::Pplns => add(&mut group_work[0], s.difficulty)?,
            Scheme::Prop => {
                add(&mut group_work[1], s.difficulty)?;
                add(prop_by_miner.entry(s.miner.clone()).or_insert(U256::ZERO), s.difficulty)?;
            }
            Scheme::Pps => add(&mut group_work[2], s.difficulty)?,
            Scheme::Solo => {}
        }
    }
    let prop_lines: Vec<(M, U256)> = prop_by_miner.into_iter().collect();
    let round_work = checked_sum(group_work).ok_or(SplitError::WorkOverflow)?;

    // Portions in the fixed order PPLNS, PROP, PPS (also the tie order). An empty round has no
    // portions: the whole rest is unassigned.
    let portions =
        if round_work.is_zero() { vec![0; 3] } else { largest_remainder(rest, &group_work, round_work) };
    let mut unassigned = if round_work.is_zero() { rest } else { 0 };

    // PPLNS: by work in the window (read only when the round has PPLNS work).
    let window =
        (!group_work[0].is_zero()).then(|| pplns_window(pplns_factor, network_difficulty, window_shares));
    let pplns_lines: Vec<(M, U256)> =
        window.as_ref().map(|w| w.work.iter().map(|(m, &v)| (m.clone(), v)).collect()).unwrap_or_default();
    let pplns = group(Scheme::Pplns, group_work[0], portions[0], pplns_lines, &mut unassigned);
    let prop = group(Scheme::Prop, group_work[1], portions[1], prop_lines, &mut unassigned);
    let pps = GroupShare {
        scheme: Scheme::Pps,
        round_work: group_work[2],
        portion: portions[2],
        weight_total: U256::ZERO,
        lines: Vec::new(),
    };

    let mut credits = BTreeMap::new();
    for line in pplns.lines.iter().chain(&prop.lines).filter(|l| l.credit > 0) {
        *credits.entry(line.miner.clone()).or_insert(0u64) += line.credit;
    }
    let split = BlockSplit { credits, pool_fee: fee_amount + unassigned, pps_fund: pps.portion };
    debug_assert!(split.conserves(reward));
    Ok(SplitExplanation {
        reward,
        fee,
        fee_amount,
        rest,
        round_work,
        groups: [pplns, prop, pps],
        window,
        unassigned,
        split,
    })
}

/// One group's portion split by `lines` (sorted by miner); a portion with no weight to split by is
/// added to `unassigned`.
fn group<M: Ord + Clone>(
    scheme: Scheme,
    round_work: U256,
    portion: u64,
    lines: Vec<(M, U256)>,
    unassigned: &mut u64,
) -> GroupShare<M> {
    let weights: Vec<U256> = lines.iter().map(|l| l.1).collect();
    let weight_total = checked_sum(weights.iter().copied()).expect("window or round work already summed");
    let credits = if weight_total.is_zero() {
        *unassigned += portion;
        vec![0; lines.len()]
    } else {
        largest_remainder(portion, &weights, weight_total)
    };
    let lines = lines
        .into_iter()
        .zip(credits)
        .map(|((miner, weight), credit)| CreditLine { miner, weight, credit })
        .collect();
    GroupShare { scheme, round_work, portion, weight_total, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: u64) -> Difficulty {
        Difficulty::from_u64(v).unwrap()
    }

    fn s(miner: u32, diff: u64, scheme: Scheme) -> ShareWork<u32> {
        ShareWork { miner, difficulty: d(diff), scheme }
    }

    fn fee(bp: u32) -> FeeBp {
        FeeBp::new(bp).unwrap()
    }

    fn shared(reward: u64, fee_bp: u32, round: &[ShareWork<u32>]) -> BlockSplit<u32> {
        // The window is the round's PPLNS shares, newest last in `round`.
        let window: Vec<_> = round.iter().rev().cloned().collect();
        split_shared(reward, fee(fee_bp), d(1_000_000), Ratio::TWO, round, window).unwrap()
    }

    #[test]
    fn solo_finder_gets_the_reward_minus_the_fee() {
        let sp = split_solo(97_486_707, fee(150), 7u32);
        assert_eq!(sp.pool_fee, 1_462_300, "floor(97,486,707 × 1.5 %) = floor(1,462,300.6)");
        assert_eq!(sp.credits, BTreeMap::from([(7, 96_024_407)]));
        assert!(sp.conserves(97_486_707));
        let all_fee = split_solo(1000, FeeBp::HUNDRED_PERCENT, 7u32);
        assert!(all_fee.credits.is_empty() && all_fee.pool_fee == 1000);
        let zero = split_solo(0, fee(150), 7u32);
        assert!(zero.credits.is_empty() && zero.total() == 0);
    }

    #[test]
    fn groups_get_their_round_work_share_then_miners_theirs() {
        // Round work: PPLNS 600 (miners 1, 2), PROP 300 (miners 3, 4), PPS 100. Fee 0.
        let round = [
            s(1, 400, Scheme::Pplns),
            s(2, 200, Scheme::Pplns),
            s(3, 200, Scheme::Prop),
            s(4, 100, Scheme::Prop),
            s(5, 100, Scheme::Pps),
            s(6, 5_000, Scheme::Solo),
        ];
        let sp = shared(1000, 0, &round);
        assert_eq!(sp.pps_fund, 100);
        assert_eq!(sp.credits, BTreeMap::from([(1, 400), (2, 200), (3, 200), (4, 100)]));
        assert_eq!(sp.pool_fee, 0);
        assert!(!sp.credits.contains_key(&6), "solo shares are not part of a shared round");
    }

    #[test]
    fn group_remainders_go_to_the_largest_fraction_then_pplns_prop_pps() {
        // Equal work in all three groups: 100 / 3 = 33.33 each; the one leftover unit → PPLNS.
        let round = [s(1, 10, Scheme::Pplns), s(2, 10, Scheme::Prop), s(3, 10, Scheme::Pps)];
        let sp = shared(100, 0, &round);
        assert_eq!(sp.credits, BTreeMap::from([(1, 34), (2, 33)]));
        assert_eq!(sp.pps_fund, 33);
        // 101 → two leftovers: PPLNS and PROP.
        let sp = shared(101, 0, &round);
        assert_eq!(sp.credits, BTreeMap::from([(1, 34), (2, 34)]));
        assert_eq!(sp.pps_fund, 33);
        // PROP 2 : PPS 1 with 100 → 66.67 / 33.33: PROP's larger fraction wins.
        let round = [s(2, 20, Scheme::Prop), s(3, 10, Scheme::Pps)];
        let sp = shared(100, 0, &round);
        assert_eq!((sp.credits[&2], sp.pps_fund), (67, 33));
    }

    #[test]
    fn the_fee_is_floored_and_taken_first() {
        let round = [s(1, 1, Scheme::Prop)];
        let sp = shared(99_999, 1, &round);
        assert_eq!(sp.pool_fee, 9, "floor(99,999 × 0.01 %) = 9");
        assert_eq!(sp.credits[&1], 99_990);
        let sp = shared(99_999, 10_000, &round);
        assert!(sp.credits.is_empty() && sp.pps_fund == 0 && sp.pool_fee == 99_999, "fee 100 %");
    }

    #[test]
    fn pplns_is_split_by_window_work_not_round_work() {
        // Network difficulty 1000, factor 2: window 2000. The round holds only miner 1's block
        // share (300); older rounds hold miner 2's 1500 and, beyond the window, miner 3's 900.
        let round = [s(1, 300, Scheme::Pplns)];
        let window = vec![s(1, 300, Scheme::Pplns), s(2, 1500, Scheme::Pplns), s(3, 900, Scheme::Pplns)];
        let e = explain_shared(2000, fee(0), d(1000), Ratio::TWO, &round, window).unwrap();
        // Miner 3 counts for 200 of its 900.
        assert_eq!(e.split.credits, BTreeMap::from([(1, 300), (2, 1500), (3, 200)]));
        let w = e.window.as_ref().unwrap();
        assert_eq!((w.filled, w.cut), (U256::from_u64(2000), U256::from_u64(700)));
        assert_eq!(e.groups[0].weight_total, U256::from_u64(2000));
    }

    #[test]
    fn equal_work_ties_go_by_miner_id() {
        // 10 units over 3 equal PROP miners: 3.33 each, one leftover → the smallest id.
        let round = [s(9, 5, Scheme::Prop), s(4, 5, Scheme::Prop), s(7, 5, Scheme::Prop)];
        assert_eq!(shared(10, 0, &round).credits, BTreeMap::from([(4, 4), (7, 3), (9, 3)]));
        // 7 units over 10 equal PPLNS miners: ids 0..7 get one, 7..10 nothing (and are absent).
        let round: Vec<_> = (0..10).rev().map(|m| s(m, 1, Scheme::Pplns)).collect();
        let sp = shared(7, 0, &round);
        assert_eq!(sp.credits, (0..7).map(|m| (m, 1)).collect());
    }

    #[test]
    fn one_miner_gets_everything_but_the_fee() {
        let round = [s(1, 3, Scheme::Pplns), s(1, 5, Scheme::Prop)];
        let sp = shared(1_000_001, 100, &round);
        assert_eq!(sp.pool_fee, 10_000);
        assert_eq!(sp.credits, BTreeMap::from([(1, 990_001)]), "both groups' portions to the same miner");
    }

    #[test]
    fn empty_round_and_empty_window_go_to_the_pool_fee() {
        // No shares at all (cannot happen: the block's own share is in its round).
        let e = explain_shared::<u32>(1000, fee(100), d(1000), Ratio::TWO, &[], vec![]).unwrap();
        assert_eq!((e.split.pool_fee, e.unassigned, e.split.credits.len()), (1000, 990, 0));
        assert!(e.window.is_none());
        // PPLNS work in the round but an empty window (an inconsistent caller): PPLNS portion to
        // the pool, PROP paid as usual.
        let round = [s(1, 10, Scheme::Pplns), s(2, 10, Scheme::Prop)];
        let e = explain_shared(1000, fee(0), d(1000), Ratio::TWO, &round, vec![]).unwrap();
        assert_eq!(e.split.credits, BTreeMap::from([(2, 500)]));
        assert_eq!((e.split.pool_fee, e.unassigned), (500, 500));
        assert!(e.split.conserves(1000));
    }

    #[test]
    fn zero_reward_and_zero_work_groups() {
        let round = [s(1, 10, Scheme::Pplns), s(2, 10, Scheme::Prop)];
        let sp = shared(0, 150, &round);
        assert!(sp.credits.is_empty() && sp.total() == 0);
        // No PPS shares: the PPS group's portion is 0, and nothing is returned to the fund.
        let sp = shared(1000, 0, &round);
        assert_eq!(sp.pps_fund, 0);
        // No PPLNS shares in the round: the window is never read.
        let round = [s(2, 10, Scheme::Prop)];
        let mut read = false;
        let window = std::iter::from_fn(|| {
            read = true;
            None
        });
        split_shared(1000, fee(0), d(1000), Ratio::TWO, &round, window).unwrap();
        assert!(!read);
    }

    #[test]
    fn overflowing_work_is_an_error_not_a_wrap() {
        let round = [
            ShareWork { miner: 1u32, difficulty: Difficulty::MAX, scheme: Scheme::Prop },
            s(2, 1, Scheme::Pps),
        ];
        assert_eq!(
            split_shared(1000, fee(0), d(1000), Ratio::TWO, &round, vec![]),
            Err(SplitError::WorkOverflow)
        );
        let round = [
            ShareWork { miner: 1u32, difficulty: Difficulty::MAX, scheme: Scheme::Prop },
            s(1, 1, Scheme::Prop),
        ];
        assert_eq!(
            split_shared(1000, fee(0), d(1000), Ratio::TWO, &round, vec![]),
            Err(SplitError::WorkOverflow)
        );
        // At the limit it still splits exactly.
        let round = [ShareWork { miner: 1u32, difficulty: Difficulty::MAX, scheme: Scheme::Prop }];
        assert_eq!(
            split_shared(1000, fee(0), d(1000), Ratio::TWO, &round, vec![]).unwrap().credits[&1],
            1000
        );
    }
}
