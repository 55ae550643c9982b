//! A 256-bit unsigned integer: just what difficulty and targets need, exact, no floats.
//!
//! Limbs are little-endian (`limbs[0]` is the least significant 64 bits). Byte conversions are
//! big-endian, matching how the node compares hashes with targets.

// Limb loops index several arrays in lock-step; iterator chains would obscure the carries.
#![allow(clippy::needless_range_loop)]

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256([u64; 4]);

impl U256 {
    pub const ZERO: U256 = U256([0; 4]);
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    pub const MAX: U256 = U256([u64::MAX; 4]);

    pub const fn from_u64(v: u64) -> Self {
        U256([v, 0, 0, 0])
    }

    pub const fn from_u128(v: u128) -> Self {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    /// From 32 big-endian bytes (byte 0 most significant), e.g. a hash.
    pub fn from_be_bytes(b: &[u8; 32]) -> Self {
        let limb = |i: usize| u64::from_be_bytes(b[32 - 8 * (i + 1)..32 - 8 * i].try_into().unwrap());
        U256([limb(0), limb(1), limb(2), limb(3)])
    }

    pub fn to_be_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..4 {
            out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&self.0[i].to_be_bytes());
        }
        out
    }

    /// The value if it fits in a `u64`.
    pub fn to_u64(self) -> Option<u64> {
        (self.0[1] == 0 && self.0[2] == 0 && self.0[3] == 0).then_some(self.0[0])
    }

    /// The value if it fits in a `u128`.
    pub fn to_u128(self) -> Option<u128> {
        (self.0[2] == 0 && self.0[3] == 0).then_some(self.0[0] as u128 | (self.0[1] as u128) << 64)
    }

    pub fn is_zero(self) -> bool {
        self == Self::ZERO
    }

    /// Number of significant bits (0 for zero).
    pub fn bits(self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + 64 - self.0[i].leading_zeros();
            }
        }
        0
    }

    fn bit(self, i: u32) -> bool {
        self.0[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    pub fn checked_add(self, o: Self) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for i in 0..4 {
            let (s1, c1) = self.0[i].overflowing_add(o.0[i]);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            out[i] = s2;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(out))
    }

    pub fn checked_sub(self, o: Self) -> Option<Self> {
        let (v, borrow) = self.overflowing_sub(o);
        (!borrow).then_some(v)
    }

    /// `self − o` mod 2^256, and whether it borrowed.
    fn overflowing_sub(self, o: Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for i in 0..4 {
            let (d1, b1) = self.0[i].overflowing_sub(o.0[i]);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            out[i] = d2;
            borrow = b1 || b2;
        }
        (U256(out), borrow)
    }

    pub fn checked_mul_u64(self, m: u64) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let p = self.0[i] as u128 * m as u128 + carry;
            out[i] = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(out))
    }

    pub fn checked_mul(self, o: Self) -> Option<Self> {
        let mut out = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let cur = out[i + j] as u128 + self.0[i] as u128 * o.0[j] as u128 + carry;
                out[i + j] = cur as u64;
                carry = cur >> 64;
            }
            out[i + 4] = carry as u64;
        }
        out[4..].iter().all(|&w| w == 0).then_some(U256([out[0], out[1], out[2], out[3]]))
    }

    fn shl1(self) -> Self {
        let mut out = [0u64; 4];
        for i in 0..4 {
            out[i] = self.0[i] << 1 | if i > 0 { self.0[i - 1] >> 63 } else { 0 };
        }
        U256(out)
    }

    /// `(self / d, self % d)`, or `None` when `d` is zero. Binary long division: difficulty changes
    /// are rare, so clarity beats speed here.
    pub fn div_rem(self, d: Self) -> Option<(Self, Self)> {
        if d.is_zero() {
            return None;
        }
        if self < d {
            return Some((Self::ZERO, self));
        }
        let mut q = Self::ZERO;
        let mut r = Self::ZERO;
        for i in (0..self.bits()).rev() {
            // r < d <= MAX, and r's top bit is clear unless d's is set: shifting can drop a bit only
            // when r >= 2^255, in which case r >= d after the shift as well; handle that with the
            // carry explicitly.
            let top = r.bit(255);
            r = r.shl1();
            if self.bit(i) {
                r.0[0] |= 1;
            }
            if top || r >= d {
                r = r.overflowing_sub(d).0;
                q.0[(i / 64) as usize] |= 1 << (i % 64);
            }
        }
        Some((q, r))
    }

    /// `(self / d, self % d)` for a small divisor (used by decimal formatting).
    pub fn div_rem_u64(self, d: u64) -> Option<(Self, u64)> {
        if d == 0 {
            return None;
        }
        let mut q = [0u64; 4];
        let mut r = 0u128;
        for i in (0..4).rev() {
            let cur = r << 64 | self.0[i] as u128;
            q[i] = (cur / d as u128) as u64;
            r = cur % d as u128;
        }
        Some((U256(q), r as u64))
    }

    /// Parses an unsigned decimal string (ASCII digits only, at least one, no sign or spaces).
    pub fn from_dec_str(s: &str) -> Result<Self, ParseU256Error> {
        if s.is_empty() {
            return Err(ParseU256Error::Empty);
        }
        let mut v = Self::ZERO;
        for c in s.bytes() {
            if !c.is_ascii_digit() {
                return Err(ParseU256Error::InvalidDigit);
            }
            v = v
                .checked_mul_u64(10)
                .and_then(|v| v.checked_add(Self::from_u64((c - b'0') as u64)))
                .ok_or(ParseU256Error::Overflow)?;
        }
        Ok(v)
    }

    /// 64 lower-case hex characters, big-endian (the form of a Stratum target).
    pub fn to_hex64(self) -> String {
        crate::hexutil::encode(&self.to_be_bytes())
    }
}

/// Why a decimal string is not a 256-bit unsigned integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseU256Error {
    #[error("empty number")]
    Empty,
    #[error("not a decimal number (only the digits 0-9 are allowed)")]
    InvalidDigit,
    #[error("number exceeds 2^256 - 1")]
    Overflow,
}

impl Ord for U256 {
    fn cmp(&self, o: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&o.0[i]) {
                Ordering::Equal => continue,
                ord => return ord,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl From<u64> for U256 {
    fn from(v: u64) -> Self {
        Self::from_u64(v)
    }
}

impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.pad("0");
        }
        let mut digits = Vec::with_capacity(78);
        let mut v = *self;
        while !v.is_zero() {
            let (q, r) = v.div_rem_u64(10).expect("non-zero divisor");
            digits.push(b'0' + r as u8);
            v = q;
        }
        digits.reverse();
        f.pad(std::str::from_utf8(&digits).expect("ASCII digits"))
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::SplitMix64;

    fn random(rng: &mut SplitMix64) -> U256 {
        // Vary the magnitude so small and large values both occur.
        let bits = rng.next_u64() % 257;
        let mut v = U256([rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()]);
        for i in bits..256 {
            v.0[(i / 64) as usize] &= !(1u64 << (i % 64));
        }
        v
    }

    #[test]
    fn decimal_round_trip_and_limits() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(U256::from_dec_str(max).unwrap(), U256::MAX);
        assert_eq!(U256::MAX.to_string(), max);
        assert_eq!(U256::from_dec_str("0").unwrap(), U256::ZERO);
        assert_eq!(U256::from_dec_str("000123").unwrap(), U256::from_u64(123));
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(U256::from_dec_str(over), Err(ParseU256Error::Overflow));
        assert_eq!(U256::from_dec_str(""), Err(ParseU256Error::Empty));
        for bad in ["-1", "+1", " 1", "1 ", "1e6", "0x10", "1.5", "١"] {
            assert_eq!(U256::from_dec_str(bad), Err(ParseU256Error::InvalidDigit), "{bad}");
        }
    }

    #[test]
    fn division_matches_u128_on_small_values() {
        let mut rng = SplitMix64(1);
        for _ in 0..20_000 {
            let a = (rng.next_u64() as u128) << (rng.next_u64() % 64) | rng.next_u64() as u128;
            let d = (rng.next_u64() >> (rng.next_u64() % 64)) as u128 | 1;
            let (q, r) = U256::from_u128(a).div_rem(U256::from_u128(d)).unwrap();
            assert_eq!((q.to_u128().unwrap(), r.to_u128().unwrap()), (a / d, a % d));
        }
    }

    #[test]
    fn division_identity_holds_on_random_256_bit_values() {
        let mut rng = SplitMix64(2);
        for _ in 0..20_000 {
            let (n, d) = (random(&mut rng), random(&mut rng));
            if d.is_zero() {
                assert_eq!(n.div_rem(d), None);
                continue;
            }
            let (q, r) = n.div_rem(d).unwrap();
            assert!(r < d);
            assert_eq!(q.checked_mul(d).and_then(|qd| qd.checked_add(r)), Some(n));
        }
    }

    #[test]
    fn byte_order_is_big_endian() {
        let mut b = [0u8; 32];
        b[31] = 1;
        assert_eq!(U256::from_be_bytes(&b), U256::ONE);
        b[0] = 0x80;
        let v = U256::from_be_bytes(&b);
        assert_eq!(v.bits(), 256);
        assert_eq!(v.to_be_bytes(), b);
        assert!(U256::from_be_bytes(&[0xff; 32]) == U256::MAX);
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(U256::MAX.checked_add(U256::ONE), None);
        assert_eq!(U256::ZERO.checked_sub(U256::ONE), None);
        assert_eq!(U256::MAX.checked_mul_u64(2), None);
        assert_eq!(U256::MAX.checked_mul(U256::from_u64(2)), None);
        assert_eq!(U256::MAX.checked_mul(U256::ONE), Some(U256::MAX));
    }
}
