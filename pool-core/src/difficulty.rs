//! The node's difficulty ↔ target rule, exact (toshash-v3.md "Difficulty and target").
//!
//! * `target(D) = floor((2^256 − 1) / D)` for `D > 0`;
//! * a hash meets `D` iff the hash, read as a big-endian 256-bit integer, is `≤ target(D)`;
//! * the difficulty of a hash `H` is `floor((2^256 − 1) / H)`.
//!
//! No approximation anywhere: the Go pool's 64-bit shortcut accepts hashes the node rejects.

use crate::hash::Hash;
use crate::u256::{ParseU256Error, U256};
use std::fmt;
use std::str::FromStr;

/// A difficulty: one point is one expected hash. Never zero.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Difficulty(U256);

/// A share or block target: a hash is valid when it is `≤` the target.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

/// Why a value is not a valid difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DifficultyError {
    #[error("difficulty is zero (the node rejects it; a zero would make every hash valid)")]
    Zero,
    #[error("difficulty is not a decimal number: {0}")]
    Parse(#[from] ParseU256Error),
}

impl Difficulty {
    /// Difficulty 1: target `2^256 − 1`, every hash meets it.
    pub const ONE: Difficulty = Difficulty(U256::ONE);
    pub const MAX: Difficulty = Difficulty(U256::MAX);

    pub fn new(d: U256) -> Result<Self, DifficultyError> {
        if d.is_zero() { Err(DifficultyError::Zero) } else { Ok(Difficulty(d)) }
    }

    pub fn from_u64(d: u64) -> Result<Self, DifficultyError> {
        Self::new(U256::from_u64(d))
    }

    /// Parses the node's decimal difficulty string (e.g. `get_block_template.difficulty`).
    pub fn from_dec_str(s: &str) -> Result<Self, DifficultyError> {
        Self::new(U256::from_dec_str(s)?)
    }

    pub fn value(self) -> U256 {
        self.0
    }

    /// `floor((2^256 − 1) / D)`.
    pub fn target(self) -> Target {
        Target(U256::MAX.div_rem(self.0).expect("difficulty is never zero").0)
    }
}

impl FromStr for Difficulty {
    type Err = DifficultyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_dec_str(s)
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Difficulty({})", self.0)
    }
}

impl Target {
    pub const MAX: Target = Target(U256::MAX);

    pub fn from_u256(t: U256) -> Self {
        Target(t)
    }

    pub fn from_be_bytes(b: &[u8; 32]) -> Self {
        Target(U256::from_be_bytes(b))
    }

    pub fn value(self) -> U256 {
        self.0
    }

    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Whether `hash` meets this target (`hash ≤ target`, big-endian).
    pub fn is_met_by(self, hash: &Hash) -> bool {
        U256::from_be_bytes(hash) <= self.0
    }

    /// 64 lower-case hex characters, big-endian: what `mining.notify` carries.
    pub fn to_hex64(self) -> String {
        self.0.to_hex64()
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.to_hex64())
    }
}

/// The difficulty a hash achieves: `floor((2^256 − 1) / H)`. A hash of zero meets every
/// difficulty and returns `2^256 − 1`. `H ≤ target(D)` holds exactly when this is `≥ D`.
pub fn difficulty_of_hash(hash: &Hash) -> U256 {
    let h = U256::from_be_bytes(hash);
    if h.is_zero() { U256::MAX } else { U256::MAX.div_rem(h).expect("non-zero").0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::SplitMix64;

    fn d(v: u64) -> Difficulty {
        Difficulty::from_u64(v).unwrap()
    }

    #[test]
    fn protocol_example_targets() {
        // protocol.md §1.6.
        let cases = [
            (16, "0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
            (1_000, "004189374bc6a7ef9db22d0e5604189374bc6a7ef9db22d0e5604189374bc6a7"),
            (100_000, "0000a7c5ac471b4784230fcf80dc33721d53cddd6e04c059210385c67dfe32a0"),
            (1_000_000, "000010c6f7a0b5ed8d36b4c7f34938583621fafc8b0079a2834d26fa3fcc9ea9"),
        ];
        for (diff, hex) in cases {
            assert_eq!(d(diff).target().to_hex64(), hex, "D = {diff}");
        }
    }

    #[test]
    fn zero_garbage_and_overflow_are_errors_never_zero() {
        assert_eq!(Difficulty::from_u64(0), Err(DifficultyError::Zero));
        assert_eq!(Difficulty::from_dec_str("0"), Err(DifficultyError::Zero));
        assert_eq!(Difficulty::from_dec_str("000"), Err(DifficultyError::Zero));
        assert!(matches!(Difficulty::from_dec_str(""), Err(DifficultyError::Parse(ParseU256Error::Empty))));
        assert!(matches!(
            Difficulty::from_dec_str("12a"),
            Err(DifficultyError::Parse(ParseU256Error::InvalidDigit))
        ));
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(matches!(
            Difficulty::from_dec_str(over),
            Err(DifficultyError::Parse(ParseU256Error::Overflow))
        ));
        assert_eq!(Difficulty::from_dec_str("1000").unwrap(), d(1000));
    }

    #[test]
    fn extremes() {
        assert_eq!(Difficulty::ONE.target(), Target::MAX);
        assert!(Difficulty::ONE.target().is_met_by(&[0xff; 32]));
        // D = 2^256 − 1: target 1; only hashes 0 and 1 meet it.
        let t = Difficulty::MAX.target();
        assert_eq!(t.value(), U256::ONE);
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(t.is_met_by(&one));
        assert!(t.is_met_by(&[0u8; 32]));
        let mut two = [0u8; 32];
        two[31] = 2;
        assert!(!t.is_met_by(&two));
        assert_eq!(difficulty_of_hash(&[0u8; 32]), U256::MAX);
        assert_eq!(difficulty_of_hash(&one), U256::MAX);
        assert_eq!(difficulty_of_hash(&[0xff; 32]), U256::ONE);
    }

    #[test]
    fn hash_equal_to_target_meets_it_and_target_plus_one_does_not() {
        let mut rng = SplitMix64(3);
        for diff in [1u64, 2, 3, 7, 16, 1000, 100_000, 1 << 40, u64::MAX] {
            let t = d(diff).target();
            let at = t.to_be_bytes();
            assert!(t.is_met_by(&at), "hash = target(D = {diff}) meets D");
            assert!(U256::from_be_bytes(&at).checked_mul_u64(diff).unwrap() <= U256::MAX);
            if let Some(above) = t.value().checked_add(U256::ONE) {
                assert!(!t.is_met_by(&above.to_be_bytes()), "hash = target + 1 fails D = {diff}");
                assert!(difficulty_of_hash(&above.to_be_bytes()) < U256::from_u64(diff));
            }
            assert!(difficulty_of_hash(&at) >= U256::from_u64(diff));
            // A random hash: the two formulations agree.
            let mut h = [0u8; 32];
            rng.fill(&mut h);
            h[0] >>= rng.next_u64() % 8;
            assert_eq!(t.is_met_by(&h), difficulty_of_hash(&h) >= U256::from_u64(diff));
        }
    }

    #[test]
    fn powers_of_two() {
        for k in 0..256u32 {
            // D = 2^k → target = floor((2^256 − 1) / 2^k) = 2^(256−k) − 1: all ones below bit 256−k.
            let mut bytes = [0u8; 32];
            bytes[31 - (k / 8) as usize] = 1 << (k % 8);
            let dv = U256::from_be_bytes(&bytes);
            let t = Difficulty::new(dv).unwrap().target();
            assert_eq!(t.value().bits(), 256 - k, "D = 2^{k}");
            assert_eq!(
                t.value().checked_add(U256::ONE).map(|v| v.bits()),
                if k == 0 { None } else { Some(257 - k) }
            );
        }
    }

    #[test]
    fn go_pool_approximation_counter_example_is_rejected() {
        // protocol.md §1.6: 004189374bc6a7ef followed by all-f is difficulty 999, not 1000.
        let mut h = [0xffu8; 32];
        h[..8].copy_from_slice(&hex::decode("004189374bc6a7ef").unwrap());
        assert!(!d(1000).target().is_met_by(&h));
        assert_eq!(difficulty_of_hash(&h), U256::from_u64(999));
    }

    #[test]
    fn worked_share_has_difficulty_17() {
        let h: Hash = hex::decode("0e3d48e4d7888732111437a898f1980d2ba682786d45aef5cc126e433eba0fcd")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(difficulty_of_hash(&h), U256::from_u64(17));
        assert!(d(16).target().is_met_by(&h));
        assert!(d(17).target().is_met_by(&h));
        assert!(!d(18).target().is_met_by(&h));
    }
}
