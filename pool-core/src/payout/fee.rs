//! Transaction fees (protocol.md §4): the wallet computes `⌈size / 1024⌉ × 10,000 + 5,000` per
//! transfer. The pool cannot know the exact size before the wallet builds the transaction, so it
//! plans with an upper bound of the size and builds the transaction with that fee as an exact
//! value (`"fee": {"value": …}`): a fee at or above the computed one is accepted, and what the
//! plan deducted is exactly what the transaction pays.
//!
//! The size bound assumes TOS's confidential transfer layout and rounds every part up:
//! * per transfer, [`TRANSFER_BYTES`] = 384 ≥ asset 32 + destination 32 + extra-data tag 1 (the
//!   pool sends none) + commitment 32 + two decrypt handles 64 + ciphertext-validity proof ≤ 160
//!   = 321;
//! * per transaction, [`TX_BASE_BYTES`] = 2,048 ≥ version, chain id, source key, payload tag,
//!   counts, fee, nonce (≈ 60) + one source commitment with its equality proof (≈ 260) + the
//!   aggregated range proof (≤ 1,248 for 512 values) + reference 40 + multisig tag + signature 64
//!   ≈ 1,680.

use std::fmt;
use std::str::FromStr;

pub const FEE_PER_KB: u64 = 10_000;
pub const FEE_PER_TRANSFER: u64 = 5_000;
/// The node refuses a transaction with more transfers (MAX_TRANSFER_COUNT).
pub const MAX_TRANSFERS_PER_TX: usize = 500;
/// Upper bound of a transfer transaction's size apart from its transfers.
pub const TX_BASE_BYTES: u64 = 2_048;
/// Upper bound of one transfer's size.
pub const TRANSFER_BYTES: u64 = 384;

/// The fee of a transaction with `recipients` transfers, from the size bound above.
pub fn estimate_tx_fee(recipients: usize) -> u64 {
    let n = recipients as u64;
    (TX_BASE_BYTES + n * TRANSFER_BYTES).div_ceil(1024) * FEE_PER_KB + n * FEE_PER_TRANSFER
}

/// Who bears a payout transaction's fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TxFeePolicy {
    /// On top of the amounts, from the pool's own funds (Go tos-pool's behaviour).
    #[default]
    PoolPays,
    /// Deducted from the recipients' amounts, in proportion to them.
    RecipientsPay,
}

impl TxFeePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TxFeePolicy::PoolPays => "pool",
            TxFeePolicy::RecipientsPay => "recipients",
        }
    }
}

/// A fee policy name that is neither `pool` nor `recipients`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transaction fee policy {0:?} (expected pool or recipients)")]
pub struct UnknownTxFeePolicy(pub String);

impl FromStr for TxFeePolicy {
    type Err = UnknownTxFeePolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pool" => Ok(TxFeePolicy::PoolPays),
            "recipients" => Ok(TxFeePolicy::RecipientsPay),
            _ => Err(UnknownTxFeePolicy(s.to_owned())),
        }
    }
}

impl fmt::Display for TxFeePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_follows_the_wallet_formula_over_the_size_bound() {
        // 1 transfer: 2,048 + 384 = 2,432 bytes → 3 KiB → 30,000 + 5,000.
        assert_eq!(estimate_tx_fee(1), 35_000);
        // 100: 40,448 bytes → 40 KiB (40,960) → 400,000 + 500,000.
        assert_eq!(estimate_tx_fee(100), 900_000);
        // 500: 194,048 bytes → 190 KiB (194,560) → 1,900,000 + 2,500,000: 0.044 TOS.
        assert_eq!(estimate_tx_fee(500), 4_400_000);
        assert_eq!(estimate_tx_fee(0), 20_000);
    }

    #[test]
    fn the_bound_covers_the_layout_it_claims() {
        let transfer = 32 + 32 + 1 + 32 + 2 * 32 + 5 * 32;
        assert!(TRANSFER_BYTES >= transfer);
        // Aggregated range proof for 512 64-bit values: 2·log2(64·512) + 9 points/scalars.
        let range_proof = (2 * 15 + 9) * 32;
        let base = 60 + (32 + 6 * 32 + 32) + range_proof + 40 + 1 + 64;
        assert!(TX_BASE_BYTES >= base, "{base}");
    }

    #[test]
    fn a_batch_never_costs_more_than_its_transfers_alone() {
        // fee(n) ≤ n · fee(1): what makes RecipientsPay safe for amounts above fee(1).
        for n in 1..=MAX_TRANSFERS_PER_TX {
            assert!(estimate_tx_fee(n) <= n as u64 * estimate_tx_fee(1), "{n}");
            assert!(estimate_tx_fee(n) > estimate_tx_fee(n - 1));
        }
    }

    #[test]
    fn policy_names() {
        for p in [TxFeePolicy::PoolPays, TxFeePolicy::RecipientsPay] {
            assert_eq!(p.to_string().parse(), Ok(p));
        }
        assert_eq!("miner".parse::<TxFeePolicy>(), Err(UnknownTxFeePolicy("miner".into())));
    }
}
