//! Pay per share: the expected value of one share, credited at once, with the fraction carried.
//!
//! * A share of difficulty `d` at network difficulty `D` finds a block with probability `d / D`,
//!   so it is worth `reward × (10,000 − fee) × d / (10,000 × D)` atomic units ([`pps_value`]),
//!   exactly: a whole part and a remainder over the denominator `10,000 × D`.
//! * The denominator depends only on `D` (it is deliberately not reduced), so a miner's
//!   [`PpsAccumulator`] can add the fractions of consecutive shares exactly while the network
//!   difficulty stays the same, whatever the share difficulty, reward or fee: over such a run the
//!   units credited are exactly `floor(Σ exact values)` (plus the carry brought in).
//! * When `D` changes, the carried fraction `r / m` is converted to the new denominator `m'` as
//!   `floor(r × m' / m)`: this loses less than `1 / m'` (= `1 / (10,000 × D')`) of a unit, and
//!   never creates any. So the pool never credits more than the exact total, and N difficulty
//!   changes lose less than `N / (10,000 × D_min)` units in total — under one unit for the
//!   first 10 million changes even at devnet's minimum difficulty of 1,000. Exactness across
//!   changes would need a carry with an ever-growing denominator.

use super::MAX_SUPPLY_ATOMIC;
use super::exact::{add_mod, mul_div};
use super::fee::{BP_PER_UNIT, FeeBp};
use crate::difficulty::Difficulty;
use crate::u256::{ParseU256Error, U256};
use std::fmt;
use std::str::FromStr;

/// The exact value of one share: `atomic + remainder / denominator`, `remainder < denominator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PpsValue {
    atomic: u64,
    remainder: U256,
    denominator: U256,
}

impl PpsValue {
    /// The whole atomic units.
    pub fn atomic(&self) -> u64 {
        self.atomic
    }

    pub fn remainder(&self) -> U256 {
        self.remainder
    }

    /// `10,000 × D`.
    pub fn denominator(&self) -> U256 {
        self.denominator
    }
}

/// Why a PPS value cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PpsError {
    #[error("network difficulty above (2^256 - 1) / 10000")]
    DifficultyTooLarge,
    #[error("a share worth more than the maximum supply (share difficulty far above the network's)")]
    ValueTooLarge,
}

/// `block_reward × (10,000 − pps_fee) × d / (10,000 × D)`, exactly.
pub fn pps_value(
    share_difficulty: Difficulty,
    network_difficulty: Difficulty,
    block_reward: u64,
    pps_fee: FeeBp,
) -> Result<PpsValue, PpsError> {
    let denominator =
        network_difficulty.value().checked_mul_u64(BP_PER_UNIT.into()).ok_or(PpsError::DifficultyTooLarge)?;
    let numerator = U256::from_u128(block_reward as u128 * (BP_PER_UNIT - pps_fee.bp()) as u128);
    let (q, remainder) =
        mul_div(numerator, share_difficulty.value(), denominator).ok_or(PpsError::ValueTooLarge)?;
    let atomic = q.to_u64().filter(|&a| a <= MAX_SUPPLY_ATOMIC).ok_or(PpsError::ValueTooLarge)?;
    Ok(PpsValue { atomic, remainder, denominator })
}

/// One miner's carried PPS fraction `remainder / denominator` (< 1 unit), persisted as the
/// decimal string `"remainder/denominator"`. The initial state is `0/1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PpsAccumulator {
    remainder: U256,
    denominator: U256,
}

impl Default for PpsAccumulator {
    fn default() -> Self {
        PpsAccumulator { remainder: U256::ZERO, denominator: U256::ONE }
    }
}

impl PpsAccumulator {
    pub fn remainder(&self) -> U256 {
        self.remainder
    }

    pub fn denominator(&self) -> U256 {
        self.denominator
    }

    /// Adds one share's value and returns the whole units to credit now; the fraction stays.
    pub fn credit(&mut self, value: &PpsValue) -> u64 {
        let m = value.denominator;
        let carry = if self.denominator == m {
            self.remainder
        } else {
            // r/m_old → floor(r·m/m_old)/m: less than r/m_old, by under 1/m.
            mul_div(self.remainder, m, self.denominator).expect("r < m_old: the quotient is below m").0
        };
        let (remainder, whole) = add_mod(carry, value.remainder, m);
        *self = PpsAccumulator { remainder, denominator: m };
        // atomic ≤ the maximum supply, far from u64::MAX.
        value.atomic + whole as u64
    }
}

impl fmt::Display for PpsAccumulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.remainder, self.denominator)
    }
}

/// Why a string is not a persisted [`PpsAccumulator`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseCarryError {
    #[error("PPS carry is not \"remainder/denominator\"")]
    Form,
    #[error("PPS carry number: {0}")]
    Number(#[from] ParseU256Error),
    #[error("PPS carry is not a fraction below one unit (remainder < denominator, denominator ≥ 1)")]
    NotProper,
}

impl FromStr for PpsAccumulator {
    type Err = ParseCarryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (r, m) = s.split_once('/').ok_or(ParseCarryError::Form)?;
        let (remainder, denominator) = (U256::from_dec_str(r)?, U256::from_dec_str(m)?);
        if remainder >= denominator {
            return Err(ParseCarryError::NotProper);
        }
        Ok(PpsAccumulator { remainder, denominator })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: u64) -> Difficulty {
        Difficulty::from_u64(v).unwrap()
    }

    #[test]
    fn value_is_exact() {
        // 97,486,707 × 9,800 × 1,000 / (10,000 × 1,000,000) = 95,536.97286 units.
        let v = pps_value(d(1_000), d(1_000_000), 97_486_707, FeeBp::new(200).unwrap()).unwrap();
        assert_eq!(v.atomic(), 95_536);
        assert_eq!(v.denominator(), U256::from_u64(10_000_000_000));
        assert_eq!(v.remainder(), U256::from_u64(9_728_600_000));
        // A share at the network difficulty is worth the reward minus the fee, exactly.
        let v = pps_value(d(777), d(777), 1_000, FeeBp::new(150).unwrap()).unwrap();
        assert_eq!((v.atomic(), v.remainder()), (985, U256::ZERO));
        // 100 % fee: nothing.
        let v = pps_value(d(5), d(7), 1_000, FeeBp::HUNDRED_PERCENT).unwrap();
        assert_eq!((v.atomic(), v.remainder()), (0, U256::ZERO));
    }

    #[test]
    fn extremes_are_errors_not_wraps() {
        assert_eq!(pps_value(d(1), Difficulty::MAX, 1, FeeBp::ZERO), Err(PpsError::DifficultyTooLarge));
        assert_eq!(pps_value(Difficulty::MAX, d(1), 1, FeeBp::ZERO), Err(PpsError::ValueTooLarge));
        // Above the maximum supply, even though it fits a u64.
        assert_eq!(pps_value(d(2), d(1), MAX_SUPPLY_ATOMIC, FeeBp::ZERO), Err(PpsError::ValueTooLarge));
        assert!(pps_value(d(1), d(1), MAX_SUPPLY_ATOMIC, FeeBp::ZERO).is_ok());
        // Tiny values at a huge difficulty: all fraction.
        let huge = Difficulty::new(U256::MAX.div_rem_u64(10_001).unwrap().0).unwrap();
        let v = pps_value(d(1), huge, MAX_SUPPLY_ATOMIC, FeeBp::ZERO).unwrap();
        assert_eq!(v.atomic(), 0);
        assert!(v.remainder() < v.denominator());
    }

    #[test]
    fn the_carry_turns_fractions_into_units() {
        // One third of a unit per share: 0, 0, 1, 0, 0, 1.
        let v = pps_value(d(1), d(3), 1, FeeBp::ZERO).unwrap();
        let mut acc = PpsAccumulator::default();
        let credits: Vec<u64> = (0..6).map(|_| acc.credit(&v)).collect();
        assert_eq!(credits, [0, 0, 1, 0, 0, 1]);
        assert_eq!(acc.remainder(), U256::ZERO);
        // Without the carry a low-difficulty miner would lose up to a unit per share.
        let v = pps_value(d(1), d(3), 2, FeeBp::ZERO).unwrap();
        assert_eq!([acc.credit(&v), acc.credit(&v), acc.credit(&v)], [0, 1, 1]);
    }

    #[test]
    fn a_difficulty_change_rescales_the_carry_down() {
        let mut acc = PpsAccumulator::default();
        // 2/3 of a unit carried at D = 3 (denominator 30,000)…
        acc.credit(&pps_value(d(2), d(3), 1, FeeBp::ZERO).unwrap());
        assert_eq!((acc.remainder(), acc.denominator()), (U256::from_u64(20_000), U256::from_u64(30_000)));
        // …becomes floor(2/3 × 70,000) / 70,000 at D = 7; adding 1/7 stays below a unit.
        assert_eq!(acc.credit(&pps_value(d(1), d(7), 1, FeeBp::ZERO).unwrap()), 0);
        assert_eq!(
            (acc.remainder(), acc.denominator()),
            (U256::from_u64(46_666 + 10_000), U256::from_u64(70_000))
        );
        // 2/7 more crosses the unit: 0.8095… + 0.2857… = 1.095…
        assert_eq!(acc.credit(&pps_value(d(2), d(7), 1, FeeBp::ZERO).unwrap()), 1);
    }

    #[test]
    fn persisted_form_round_trips_and_is_checked() {
        let mut acc = PpsAccumulator::default();
        assert_eq!(acc.to_string(), "0/1");
        acc.credit(&pps_value(d(1), d(3), 1, FeeBp::ZERO).unwrap());
        assert_eq!(acc.to_string(), "10000/30000");
        assert_eq!("10000/30000".parse::<PpsAccumulator>(), Ok(acc));
        assert_eq!("0/1".parse(), Ok(PpsAccumulator::default()));
        assert_eq!("5".parse::<PpsAccumulator>(), Err(ParseCarryError::Form));
        assert_eq!("3/3".parse::<PpsAccumulator>(), Err(ParseCarryError::NotProper));
        assert_eq!("0/0".parse::<PpsAccumulator>(), Err(ParseCarryError::NotProper));
        assert_eq!(
            "x/3".parse::<PpsAccumulator>(),
            Err(ParseCarryError::Number(ParseU256Error::InvalidDigit))
        );
        assert_eq!("1/".parse::<PpsAccumulator>(), Err(ParseCarryError::Number(ParseU256Error::Empty)));
    }
}
