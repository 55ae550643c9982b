//! An exact positive ratio `num / den`: the PPLNS window factor (Miningcore's default 2.0 is `2/1`).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: u32,
    den: u32,
}

/// Why a value is not a ratio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatioError {
    #[error("ratio denominator is zero")]
    ZeroDenominator,
    #[error("ratio is zero (an empty PPLNS window would pay nobody)")]
    Zero,
    #[error("{0:?} is not a decimal number with at most 9 decimals that fits 32 bits")]
    Malformed(String),
}

impl Ratio {
    /// Miningcore's default PPLNS factor.
    pub const TWO: Ratio = Ratio { num: 2, den: 1 };
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `num / den`, kept as given (not reduced). Both must be at least 1.
    pub fn new(num: u32, den: u32) -> Result<Self, RatioError> {
        match (num, den) {
            (_, 0) => Err(RatioError::ZeroDenominator),
            (0, _) => Err(RatioError::Zero),
            _ => Ok(Ratio { num, den }),
        }
    }

    pub fn num(self) -> u32 {
        self.num
    }

    pub fn den(self) -> u32 {
        self.den
    }
}

impl FromStr for Ratio {
    type Err = RatioError;
    /// A decimal as operators write it in a config (`"2"`, `"2.0"`, `"1.5"`, `"0.25"`), parsed
    /// exactly into `digits / 10^decimals`, then reduced.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || RatioError::Malformed(s.to_owned());
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (s.contains('.') && !digits(frac)) || frac.len() > 9 {
            return Err(malformed());
        }
        let den = 10u64.pow(frac.len() as u32);
        let num = format!("{int}{frac}").parse::<u64>().map_err(|_| malformed())?;
        let g = gcd(num, den);
        let (num, den) = (num / g.max(1), den / g.max(1));
        Ratio::new(u32::try_from(num).map_err(|_| malformed())?, u32::try_from(den).map_err(|_| malformed())?)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 { write!(f, "{}", self.num) } else { write!(f, "{}/{}", self.num, self.den) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_constructor() {
        assert_eq!(Ratio::new(2, 1), Ok(Ratio::TWO));
        assert_eq!(Ratio::new(1, 0), Err(RatioError::ZeroDenominator));
        assert_eq!(Ratio::new(0, 3), Err(RatioError::Zero));
        assert_eq!((Ratio::new(3, 2).unwrap().num(), Ratio::new(3, 2).unwrap().den()), (3, 2));
    }

    #[test]
    fn decimal_strings_parse_exactly() {
        for (s, num, den) in
            [("2", 2, 1), ("2.0", 2, 1), ("1.5", 3, 2), ("0.25", 1, 4), ("0.000000001", 1, 1_000_000_000)]
        {
            assert_eq!(s.parse::<Ratio>(), Ok(Ratio { num, den }), "{s}");
        }
        assert_eq!("0".parse::<Ratio>(), Err(RatioError::Zero));
        assert_eq!("0.0".parse::<Ratio>(), Err(RatioError::Zero));
        for bad in ["", ".5", "2.", "1e3", "-1", "0.0000000001", "4294967296", "1/2"] {
            assert_eq!(bad.parse::<Ratio>(), Err(RatioError::Malformed(bad.into())), "{bad:?}");
        }
        assert_eq!("4294967295".parse::<Ratio>(), Ok(Ratio { num: u32::MAX, den: 1 }));
        assert_eq!(Ratio::new(3, 2).unwrap().to_string(), "3/2");
        assert_eq!(Ratio::TWO.to_string(), "2");
    }
}
