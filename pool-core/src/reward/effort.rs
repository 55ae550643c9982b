//! Round effort: the work a round took relative to the network difficulty, in basis points
//! (10,000 = 100 %: the block took exactly the expected work; above means bad luck).

use super::exact::mul_div;
use super::fee::BP_PER_UNIT;
use crate::difficulty::Difficulty;
use crate::u256::U256;

/// `floor(round_work × 10,000 / D)`, saturating at `u64::MAX` (an effort beyond 10^15 % is
/// not a number anyone acts on).
pub fn effort_bp(round_work: U256, network_difficulty: Difficulty) -> u64 {
    mul_div(U256::from_u64(BP_PER_UNIT.into()), round_work, network_difficulty.value())
        .and_then(|(q, _)| q.to_u64())
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: u64) -> Difficulty {
        Difficulty::from_u64(v).unwrap()
    }

    #[test]
    fn effort_in_basis_points() {
        assert_eq!(effort_bp(U256::from_u64(1_000_000), d(1_000_000)), 10_000);
        assert_eq!(effort_bp(U256::from_u64(2_500_000), d(1_000_000)), 25_000);
        assert_eq!(effort_bp(U256::from_u64(123_456), d(1_000_000)), 1_234, "12.3456 % rounds down");
        assert_eq!(effort_bp(U256::ZERO, d(1_000_000)), 0);
        assert_eq!(effort_bp(U256::MAX, Difficulty::MAX), 10_000);
        assert_eq!(effort_bp(U256::MAX, d(1)), u64::MAX, "saturates");
        // Work near 2^256 at a large difficulty: exact, although work × 10,000 overflows 256 bits.
        let half = Difficulty::new(U256::MAX.div_rem_u64(2).unwrap().0).unwrap();
        assert_eq!(effort_bp(U256::MAX, half), 20_000);
    }
}
