//! Splitting an amount in proportion to weights, exactly (the largest-remainder method).
//!
//! 1. Entry `i` gets `floor(amount × w_i / W)` (`W = Σ w`), computed exactly in 256 bits.
//! 2. The units the floors leave over (fewer than the number of entries) go one each to the
//!    entries with the largest remainders `amount × w_i mod W`; equal remainders go in the order
//!    of the entries (the caller orders them: miner id, or the fixed scheme order).
//!
//! Nothing is lost or created: the parts always sum to `amount`. An entry of weight 0 has
//! remainder 0 and never receives a leftover unit (there are always enough entries with a positive
//! remainder to take them all). More weight never means less: `w_a > w_b` gives `a` at least what
//! `b` gets, since either `a`'s floor is higher or the floors are equal and `a`'s remainder larger.

use super::exact::mul_div_u64;
use crate::u256::U256;

/// The parts of `amount` for `weights`, whose sum is `total` (`> 0`). Same length and order.
pub(crate) fn largest_remainder(amount: u64, weights: &[U256], total: U256) -> Vec<u64> {
    assert!(!total.is_zero(), "a proportional split needs some weight");
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let (part, rem) = mul_div_u64(amount, w, total);
        parts.push(part);
        remainders.push((rem, i));
    }
    let floors: u64 = parts.iter().sum();
    let left = (amount - floors) as usize;
    debug_assert!(left < weights.len().max(1));
    if left > 0 {
        // Largest remainder first; equal ones in entry order.
        remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in &remainders[..left] {
            parts[i] += 1;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(amount: u64, weights: &[u64]) -> Vec<u64> {
        let w: Vec<U256> = weights.iter().map(|&v| U256::from_u64(v)).collect();
        largest_remainder(amount, &w, U256::from_u64(weights.iter().sum()))
    }

    #[test]
    fn leftover_units_go_to_the_largest_remainders() {
        // 10 × 1/6, 2/6, 3/6 = 1.67, 3.33, 5: the 0.67 wins the leftover unit.
        assert_eq!(split(10, &[1, 2, 3]), vec![2, 3, 5]);
        // 100 × (1, 1, 1)/3 = 33.33 each: one leftover, tie → the first entry.
        assert_eq!(split(100, &[1, 1, 1]), vec![34, 33, 33]);
        // 101: two leftovers to the first two.
        assert_eq!(split(101, &[7, 7, 7]), vec![34, 34, 33]);
        // A zero weight never gets a unit, even when it sorts first.
        assert_eq!(split(5, &[0, 1, 1]), vec![0, 3, 2]);
        assert_eq!(split(0, &[3, 4]), vec![0, 0]);
        assert_eq!(split(u64::MAX, &[1]), vec![u64::MAX]);
    }

    #[test]
    fn weights_above_two_to_the_200() {
        let big = U256::ONE
            .checked_mul(U256::from_u128(1 << 100))
            .unwrap()
            .checked_mul(U256::from_u128(1 << 100))
            .unwrap();
        let w = [big, big.checked_add(U256::ONE).unwrap(), big];
        let total = w.iter().fold(U256::ZERO, |a, &b| a.checked_add(b).unwrap());
        let parts = largest_remainder(18_400_000_000_000_000, &w, total);
        assert_eq!(parts.iter().sum::<u64>(), 18_400_000_000_000_000);
        // 1.84e16 / 3 = 6_133_333_333_333_333.33: the heavier middle entry takes the one leftover.
        assert_eq!(parts, vec![6_133_333_333_333_333, 6_133_333_333_333_334, 6_133_333_333_333_333]);
    }
}
