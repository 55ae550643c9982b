//! TOS amounts as operators write and read them: decimal TOS with up to 8 decimals, converted
//! exactly to and from atomic units (1 TOS = [`COIN`] = 10^8). No floating point anywhere.

use crate::reward::COIN;
use std::fmt;

/// Why a TOS amount is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{0:?} is not a TOS amount (write it like \"1\", \"0.5\" or \"12.34567891\")")]
    Syntax(String),
    #[error("{0:?} has more than 8 decimals (1 atomic unit is 0.00000001 TOS)")]
    TooPrecise(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Parses `"1"`, `"0.5"`, `"12.34567891"` (TOS) into atomic units, exactly.
pub fn parse_tos(s: &str) -> Result<u64, AmountError> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) || t.ends_with('.') {
        return Err(AmountError::Syntax(s.to_owned()));
    }
    if frac.len() > 8 {
        return Err(AmountError::TooPrecise(s.to_owned()));
    }
    let too_large = || AmountError::TooLarge(s.to_owned());
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
    let frac: u64 = format!("{frac:0<8}").parse().expect("8 digits");
    whole.checked_mul(COIN).and_then(|w| w.checked_add(frac)).ok_or_else(too_large)
}

/// Atomic units shown as TOS with 8 decimals: `Tos(150_000_000)` is `1.50000000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tos(pub u64);

impl fmt::Display for Tos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{}.{:08}", self.0 / COIN, self.0 % COIN))
    }
}

/// A signed or wide sum (Σ over many balances) shown as TOS.
pub fn format_tos_i128(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:08}", a / COIN as u128, a % COIN as u128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_both_ways() {
        assert_eq!(parse_tos("1"), Ok(COIN));
        assert_eq!(parse_tos("0.5"), Ok(COIN / 2));
        assert_eq!(parse_tos(".5"), Ok(COIN / 2));
        assert_eq!(parse_tos("12.34567891"), Ok(1_234_567_891));
        assert_eq!(parse_tos("0.00000001"), Ok(1));
        assert_eq!(parse_tos(" 2 "), Ok(2 * COIN));
        assert_eq!(Tos(1_234_567_891).to_string(), "12.34567891");
        assert_eq!(Tos(1).to_string(), "0.00000001");
        assert_eq!(Tos(0).to_string(), "0.00000000");
        assert_eq!(format_tos_i128(-150_000_000), "-1.50000000");
        for v in [0, 1, 99, COIN, 184_000_000 * COIN, u64::MAX / 2] {
            assert_eq!(parse_tos(&Tos(v).to_string()), Ok(v));
        }
    }

    #[test]
    fn refusals_name_the_problem() {
        for bad in ["", ".", "1.", "-1", "1e8", "0x10", "1.2.3", "one"] {
            assert!(matches!(parse_tos(bad), Err(AmountError::Syntax(_))), "{bad:?}");
        }
        assert_eq!(parse_tos("0.000000001"), Err(AmountError::TooPrecise("0.000000001".into())));
        assert_eq!(parse_tos("999999999999999"), Err(AmountError::TooLarge("999999999999999".into())));
    }
}
