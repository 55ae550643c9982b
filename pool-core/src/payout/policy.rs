//! The operator's payout settings, checked once so that planning cannot fail.

use super::fee::{MAX_TRANSFERS_PER_TX, TxFeePolicy, estimate_tx_fee};
use crate::reward::COIN;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutPolicy {
    default_threshold: u64,
    max_recipients: usize,
    tx_fee: TxFeePolicy,
    max_per_payment: Option<u64>,
}

/// Why payout settings are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the payout threshold must be at least 1 atomic unit")]
    ZeroThreshold,
    #[error("recipients per transaction must be 1..={MAX_TRANSFERS_PER_TX}, not {0}")]
    MaxRecipients(usize),
    #[error("the cap per payment must be at least 1 atomic unit")]
    ZeroCap,
    #[error(
        "with recipients paying the transaction fee, the {what} ({value}) must exceed one transfer's fee ({fee}); \
         otherwise nothing would be left to send"
    )]
    BelowTxFee { what: &'static str, value: u64, fee: u64 },
}

impl PayoutPolicy {
    pub fn new(
        default_threshold: u64,
        max_recipients: usize,
        tx_fee: TxFeePolicy,
        max_per_payment: Option<u64>,
    ) -> Result<Self, PolicyError> {
        if default_threshold == 0 {
            return Err(PolicyError::ZeroThreshold);
        }
        if !(1..=MAX_TRANSFERS_PER_TX).contains(&max_recipients) {
            return Err(PolicyError::MaxRecipients(max_recipients));
        }
        if max_per_payment == Some(0) {
            return Err(PolicyError::ZeroCap);
        }
        if tx_fee == TxFeePolicy::RecipientsPay {
            let fee = estimate_tx_fee(1);
            for (what, value) in
                [("default threshold", Some(default_threshold)), ("cap per payment", max_per_payment)]
            {
                match value {
                    Some(value) if value <= fee => return Err(PolicyError::BelowTxFee { what, value, fee }),
                    _ => {}
                }
            }
        }
        Ok(PayoutPolicy { default_threshold, max_recipients, tx_fee, max_per_payment })
    }

    /// The threshold of miners without their own.
    pub fn default_threshold(&self) -> u64 {
        self.default_threshold
    }

    pub fn max_recipients(&self) -> usize {
        self.max_recipients
    }

    pub fn tx_fee(&self) -> TxFeePolicy {
        self.tx_fee
    }

    /// The most one payment sends; the rest stays on the balance for the next round.
    pub fn max_per_payment(&self) -> Option<u64> {
        self.max_per_payment
    }
}

impl Default for PayoutPolicy {
    /// 1 TOS threshold and 100 recipients per transaction (Go tos-pool's defaults), the pool pays
    /// the fee, no cap.
    fn default() -> Self {
        PayoutPolicy::new(COIN, 100, TxFeePolicy::PoolPays, None).expect("valid defaults")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        use TxFeePolicy::*;
        assert_eq!(PayoutPolicy::new(0, 100, PoolPays, None), Err(PolicyError::ZeroThreshold));
        assert_eq!(PayoutPolicy::new(1, 0, PoolPays, None), Err(PolicyError::MaxRecipients(0)));
        assert_eq!(PayoutPolicy::new(1, 501, PoolPays, None), Err(PolicyError::MaxRecipients(501)));
        assert!(PayoutPolicy::new(1, 500, PoolPays, None).is_ok());
        assert_eq!(PayoutPolicy::new(1, 1, PoolPays, Some(0)), Err(PolicyError::ZeroCap));
        let fee = estimate_tx_fee(1);
        assert_eq!(
            PayoutPolicy::new(fee, 1, RecipientsPay, None),
            Err(PolicyError::BelowTxFee { what: "default threshold", value: fee, fee })
        );
        assert_eq!(
            PayoutPolicy::new(COIN, 1, RecipientsPay, Some(fee)),
            Err(PolicyError::BelowTxFee { what: "cap per payment", value: fee, fee })
        );
        assert!(PayoutPolicy::new(fee + 1, 1, RecipientsPay, Some(fee + 1)).is_ok());
        assert!(PayoutPolicy::new(1, 1, PoolPays, Some(1)).is_ok(), "the pool paying, any amount works");
        let d = PayoutPolicy::default();
        assert_eq!(
            (d.default_threshold(), d.max_recipients(), d.tx_fee(), d.max_per_payment()),
            (COIN, 100, PoolPays, None)
        );
    }
}
