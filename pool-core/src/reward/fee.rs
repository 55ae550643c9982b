//! A fee in basis points: 1 bp = 0.01 %, 10,000 bp = 100 %. Integers only, so a fee of 1.5 %
//! is exactly 150 bp and never 1.4999…

use std::fmt;

/// A fee of 0..=10,000 basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FeeBp(u32);

/// Basis points in 100 %.
pub const BP_PER_UNIT: u32 = 10_000;

/// Why a value is not a fee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("fee of {0} basis points exceeds 100 % (10000)")]
    AboveHundredPercent(u64),
    #[error("fee {0:?} is not a percentage with at most 2 decimals (e.g. \"1.5\")")]
    Malformed(String),
}

impl FeeBp {
    pub const ZERO: FeeBp = FeeBp(0);
    pub const HUNDRED_PERCENT: FeeBp = FeeBp(BP_PER_UNIT);

    pub fn new(bp: u32) -> Result<Self, FeeError> {
        if bp > BP_PER_UNIT { Err(FeeError::AboveHundredPercent(bp.into())) } else { Ok(FeeBp(bp)) }
    }

    pub fn bp(self) -> u32 {
        self.0
    }

    /// Parses a percentage as operators write it in a config: `"1"`, `"1.5"`, `"0.25"`, `"100"`.
    /// More than 2 decimals would not be a whole number of basis points and is refused.
    pub fn from_percent_str(s: &str) -> Result<Self, FeeError> {
        let malformed = || FeeError::Malformed(s.to_owned());
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (s.contains('.') && !digits(frac)) || frac.len() > 2 {
            return Err(malformed());
        }
        let int: u64 = int.parse().map_err(|_| malformed())?;
        let frac: u64 =
            if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| malformed())? };
        let bp = int * 100 + frac;
        u32::try_from(bp)
            .ok()
            .filter(|&b| b <= BP_PER_UNIT)
            .map(FeeBp)
            .ok_or(FeeError::AboveHundredPercent(bp))
    }

    /// `floor(amount × fee)`: the fee on `amount`, rounded down (the payer keeps the fraction).
    pub fn of(self, amount: u64) -> u64 {
        (amount as u128 * self.0 as u128 / BP_PER_UNIT as u128) as u64
    }
}

impl fmt::Display for FeeBp {
    /// As a percentage: `1.50%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_checked() {
        assert_eq!(FeeBp::new(10_000), Ok(FeeBp::HUNDRED_PERCENT));
        assert_eq!(FeeBp::new(10_001), Err(FeeError::AboveHundredPercent(10_001)));
        assert_eq!(FeeBp::new(0).unwrap().bp(), 0);
    }

    #[test]
    fn percent_strings() {
        for (s, bp) in [("0", 0), ("1", 100), ("1.5", 150), ("1.50", 150), ("0.01", 1), ("100", 10_000)] {
            assert_eq!(FeeBp::from_percent_str(s), Ok(FeeBp(bp)), "{s}");
        }
        assert_eq!(FeeBp::from_percent_str("100.01"), Err(FeeError::AboveHundredPercent(10_001)));
        for bad in ["", ".5", "1.", "1.234", "-1", "1e2", " 1", "1,5", "1.5%"] {
            assert_eq!(FeeBp::from_percent_str(bad), Err(FeeError::Malformed(bad.into())), "{bad:?}");
        }
        assert_eq!(FeeBp(150).to_string(), "1.50%");
        assert_eq!(FeeBp(10_000).to_string(), "100.00%");
    }

    #[test]
    fn fee_is_floored_and_exact_at_the_extremes() {
        assert_eq!(FeeBp(150).of(1_000_000), 15_000);
        assert_eq!(FeeBp(1).of(9_999), 0, "0.9999 units round down");
        assert_eq!(FeeBp(1).of(10_000), 1);
        assert_eq!(FeeBp::HUNDRED_PERCENT.of(u64::MAX), u64::MAX);
        assert_eq!(FeeBp(9_999).of(u64::MAX), (u64::MAX as u128 * 9_999 / 10_000) as u64);
    }
}
