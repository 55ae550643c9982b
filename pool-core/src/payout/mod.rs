//! Payout planning: which balances are paid now, in which transactions, for what fee. Pure: the
//! server writes the plan as payment intents, then builds and sends the transactions.
//!
//! ## Rules ([`plan_payouts`])
//! 1. **Eligible**: balance ≥ the miner's own threshold, or the policy's default (and > 0).
//!    Others are simply not in the plan.
//! 2. **Each address validated** ([`Address::parse_normal`](crate::Address::parse_normal) on the
//!    pool's network): a bad one is listed in [`PayoutPlan::skipped`] with its reason and never
//!    blocks anyone else. A miner id that appears twice in the input is skipped entirely
//!    (a storage bug must not pay twice).
//! 3. **Amount** = the balance, capped at `max_per_payment` (the rest stays on the balance).
//!    With [`TxFeePolicy::RecipientsPay`], an amount not above one transfer's fee is skipped
//!    (`BelowTxFee`): the recipient would receive nothing.
//! 4. **Order**: largest amount first, then miner id — independent of the input order. Batches
//!    of at most `max_recipients` (≤ 500) are cut in that order; each batch lists its payments by
//!    miner id.
//! 5. **Fee**: [`estimate_tx_fee`] of the batch size (a conservative bound; build the transaction
//!    with exactly this fee). The pool pays it on top, or the recipients pay it out of their
//!    amounts in proportion to them, by largest remainder (ties by miner id), exactly.
//! 6. **Wallet**: batches are included while Σ sent + fees fits in `wallet_available`; the batch
//!    that does not fit is cut to the longest prefix that does, and every later payment is
//!    listed in [`PayoutPlan::deferred`] ("wallet balance").
//!
//! **Conservation**: for every payment `debit == send + fee_share`; per batch Σ `fee_share` is
//! `tx_fee` (recipients pay) or 0 (pool pays); nothing is debited beyond a balance.
//!
//! | file | concept |
//! |---|---|
//! | `amount.rs` | TOS amounts as operators write them (decimal, 8 places) ↔ atomic units, exactly |
//! | `fee.rs` | [`estimate_tx_fee`], [`TxFeePolicy`], the size bound |
//! | `policy.rs` | [`PayoutPolicy`], checked |
//! | `plan.rs` | [`plan_payouts`] and the plan's types |

mod amount;
mod fee;
mod plan;
mod policy;

#[cfg(test)]
mod proptests;

pub use amount::{AmountError, Tos, format_tos_i128, parse_tos};
pub use fee::{
    FEE_PER_KB, FEE_PER_TRANSFER, MAX_TRANSFERS_PER_TX, TRANSFER_BYTES, TX_BASE_BYTES, TxFeePolicy,
    UnknownTxFeePolicy, estimate_tx_fee,
};
pub use plan::{
    Batch, DeferReason, Deferred, PayableBalance, Payment, PayoutPlan, SkipReason, Skipped, plan_payouts,
};
pub use policy::{PayoutPolicy, PolicyError};
