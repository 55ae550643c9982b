//! Exact `a × b / c` on 256-bit values without a 512-bit type.
//!
//! A reward of up to 2^54 atomic units times a work of up to 2^256 does not fit in [`U256`], so
//! the product is never formed: the quotient and remainder are built bit by bit over `a`
//! (`a·b = Σ bit_k(a) · 2^k · b`), keeping the running remainder below `c`. Every step stays
//! within 256 bits, so the result is exact for any inputs whose quotient fits.

use crate::u256::U256;

/// `((x + y) mod m, whether it wrapped)` for `x < m` and `y ≤ m`, never overflowing.
pub(crate) fn add_mod(x: U256, y: U256, m: U256) -> (U256, bool) {
    let gap = m.checked_sub(y).expect("y ≤ m");
    match x.checked_sub(gap) {
        // x + y ≥ m: the sum minus m, computed as x − (m − y).
        Some(wrapped) => (wrapped, true),
        None => (x.checked_add(y).expect("x + y < m"), false),
    }
}

/// `(floor(a·b / c), a·b mod c)`, or `None` when `c` is zero or the quotient exceeds 2^256 − 1.
pub(crate) fn mul_div(a: U256, b: U256, c: U256) -> Option<(U256, U256)> {
    if c.is_zero() {
        return None;
    }
    // b = bq·c + br, so a·b = a·bq·c + a·br; only a·br needs the bitwise walk.
    let (bq, br) = match b.cmp(&c) {
        std::cmp::Ordering::Less => (U256::ZERO, b),
        std::cmp::Ordering::Equal => (U256::ONE, U256::ZERO),
        std::cmp::Ordering::Greater => b.div_rem(c)?,
    };
    // U256 keeps its limbs private; read a's bits through its big-endian bytes.
    let a_bytes = a.to_be_bytes();
    let bit = |i: u32| a_bytes[31 - (i / 8) as usize] >> (i % 8) & 1 == 1;
    let (mut q, mut r) = (U256::ZERO, U256::ZERO);
    for i in (0..a.bits()).rev() {
        // (q, r) ← 2·(q, r): the value of the next longer prefix of a's bits.
        let (r2, wrap) = add_mod(r, r, c);
        q = q.checked_add(q)?.checked_add(U256::from_u64(wrap as u64))?;
        r = r2;
        if bit(i) {
            let (r2, wrap) = add_mod(r, br, c);
            q = q.checked_add(bq)?.checked_add(U256::from_u64(wrap as u64))?;
            r = r2;
        }
    }
    Some((q, r))
}

/// `(floor(a·w / total), a·w mod total)` for `w ≤ total`, `total > 0`: the quotient is at most `a`.
pub(crate) fn mul_div_u64(a: u64, w: U256, total: U256) -> (u64, U256) {
    debug_assert!(w <= total && !total.is_zero());
    let (q, r) = mul_div(U256::from_u64(a), w, total).expect("w ≤ total: the quotient is at most a");
    (q.to_u64().expect("the quotient is at most a"), r)
}

/// `Σ values`, or `None` on overflow.
pub(crate) fn checked_sum(values: impl IntoIterator<Item = U256>) -> Option<U256> {
    values.into_iter().try_fold(U256::ZERO, |acc, v| acc.checked_add(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::SplitMix64;

    #[test]
    fn matches_u128_arithmetic_on_small_values() {
        let mut rng = SplitMix64(8);
        for _ in 0..20_000 {
            let a = rng.next_u64() >> (rng.next_u64() % 64);
            let b = rng.next_u64() >> (rng.next_u64() % 64);
            let c = (rng.next_u64() >> (rng.next_u64() % 64)).max(1);
            let (q, r) = mul_div(a.into(), b.into(), c.into()).unwrap();
            let p = a as u128 * b as u128;
            assert_eq!(q.to_u128().unwrap(), p / c as u128, "{a}·{b}/{c}");
            assert_eq!(r.to_u128().unwrap(), p % c as u128, "{a}·{b}%{c}");
        }
    }

    #[test]
    fn products_beyond_256_bits_are_exact() {
        // a·b ≈ 2^310; (a·b)/c checked by q·c + r == a·b through a second exact route:
        // with b = c·k + s, a·b/c = a·k + a·s/c.
        let c = U256::MAX.div_rem(U256::from_u64(3)).unwrap().0; // ≈ 2^254.4
        let b = c.checked_sub(U256::from_u64(12_345)).unwrap();
        let a = U256::from_u64(184_000_000 * 100_000_000);
        let (q, r) = mul_div(a, b, c).unwrap();
        // a·b/c = a − a·12345/c, and a·12345 < c: so q = a − 1 and r = c − a·12345.
        assert_eq!(q, a.checked_sub(U256::ONE).unwrap());
        assert_eq!(r, c.checked_sub(a.checked_mul_u64(12_345).unwrap()).unwrap());
        // w = total: the whole amount, no remainder.
        assert_eq!(mul_div_u64(u64::MAX, U256::MAX, U256::MAX), (u64::MAX, U256::ZERO));
        // Top-bit divisors exercise the wrap of 2r in add_mod.
        let top = U256::MAX.checked_sub(U256::from_u64(1)).unwrap();
        let (q, r) = mul_div(U256::from_u64(5), top, U256::MAX).unwrap();
        // 5·(M − 1) = 4·M + (M − 5).
        assert_eq!((q, r), (U256::from_u64(4), U256::MAX.checked_sub(U256::from_u64(5)).unwrap()));
    }

    #[test]
    fn zero_divisor_and_quotient_overflow_are_refused() {
        assert_eq!(mul_div(U256::ONE, U256::ONE, U256::ZERO), None);
        assert_eq!(mul_div(U256::MAX, U256::from_u64(2), U256::ONE), None);
        assert_eq!(mul_div(U256::MAX, U256::from_u64(2), U256::from_u64(2)), Some((U256::MAX, U256::ZERO)));
        assert_eq!(mul_div(U256::ZERO, U256::MAX, U256::ONE), Some((U256::ZERO, U256::ZERO)));
    }
}
