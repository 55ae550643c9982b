//! What a shared split used, line by line: the data behind `tos-pool audit block HASH` ("miner,
//! work in window, share of portion, credit"). Computed by the same code as the split itself
//! ([`explain_shared`](super::explain_shared)), so the audit can never disagree with the credit.

use super::fee::FeeBp;
use super::scheme::Scheme;
use super::split::BlockSplit;
use super::window::PplnsWindow;
use crate::u256::U256;

/// A shared split and every number that produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitExplanation<M: Ord> {
    pub split: BlockSplit<M>,
    pub reward: u64,
    pub fee: FeeBp,
    /// `floor(reward × fee)`.
    pub fee_amount: u64,
    /// `reward − fee_amount`: what the groups share.
    pub rest: u64,
    /// Σ work of the round's PPLNS, PROP and PPS shares.
    pub round_work: U256,
    /// PPLNS, PROP, PPS, in that order.
    pub groups: [GroupShare<M>; 3],
    /// The PPLNS window, when the round had PPLNS work (otherwise it is not read).
    pub window: Option<PplnsWindow<M>>,
    /// Portions with nobody to pay (an empty round; a PPLNS portion with an empty window),
    /// included in `split.pool_fee`.
    pub unassigned: u64,
}

/// One scheme group's part of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupShare<M> {
    pub scheme: Scheme,
    /// The group's work in the round: what its portion is proportional to.
    pub round_work: U256,
    /// The group's part of `rest`.
    pub portion: u64,
    /// Σ `lines[i].weight` (window work for PPLNS, round work for PROP; 0 for PPS, whose portion
    /// goes to the fund).
    pub weight_total: U256,
    /// By miner id.
    pub lines: Vec<CreditLine<M>>,
}

/// One miner in one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditLine<M> {
    pub miner: M,
    /// The work the credit is proportional to.
    pub weight: U256,
    /// This miner's credit from the group's portion (may be 0).
    pub credit: u64,
}

impl<M> GroupShare<M> {
    /// A line's share of the portion in parts per million, rounded down (for display only: the
    /// credit itself is exact).
    pub fn share_ppm(&self, line: &CreditLine<M>) -> u64 {
        if self.weight_total.is_zero() {
            return 0;
        }
        super::exact::mul_div(U256::from_u64(1_000_000), line.weight, self.weight_total)
            .and_then(|(q, _)| q.to_u64())
            .expect("weight ≤ total: at most 10^6")
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Ratio, ShareWork, explain_shared};
    use crate::difficulty::Difficulty;
    use crate::u256::U256;

    #[test]
    fn the_explanation_adds_up_to_the_split() {
        let d = |v| Difficulty::from_u64(v).unwrap();
        let round = [
            ShareWork { miner: "a", difficulty: d(1), scheme: super::Scheme::Pplns },
            ShareWork { miner: "b", difficulty: d(2), scheme: super::Scheme::Pplns },
            ShareWork { miner: "c", difficulty: d(3), scheme: super::Scheme::Prop },
        ];
        let window: Vec<_> = round.iter().rev().cloned().collect();
        let e =
            explain_shared(600, super::FeeBp::new(0).unwrap(), d(100), Ratio::TWO, &round, window).unwrap();
        assert_eq!((e.groups[0].portion, e.groups[1].portion, e.groups[2].portion), (300, 300, 0));
        let pplns = &e.groups[0];
        assert_eq!(
            pplns.lines.iter().map(|l| (l.miner, l.credit)).collect::<Vec<_>>(),
            [("a", 100), ("b", 200)]
        );
        assert_eq!(pplns.lines.iter().map(|l| pplns.share_ppm(l)).collect::<Vec<_>>(), [333_333, 666_666]);
        assert_eq!(e.groups[1].weight_total, U256::from_u64(3));
        let credited: u64 = e.groups.iter().flat_map(|g| &g.lines).map(|l| l.credit).sum();
        assert_eq!(credited + e.split.pool_fee + e.split.pps_fund, 600);
    }
}
