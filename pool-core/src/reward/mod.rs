//! The money math of a block: who is credited what, exactly, in integer atomic units.
//!
//! Amounts are `u64` atomic units (8 decimals: [`COIN`] = 1 TOS); work is exact 256-bit
//! difficulty. No floats; every result depends only on the values given, never on the order of
//! a round or of a hash map.
//!
//! ## A shared block ([`split_shared`])
//! 1. `pool_fee = floor(reward × fee / 10,000)`; `rest = reward − pool_fee`.
//! 2. The **round** (every non-solo share since the previous shared block, the block's own
//!    included) gives each scheme group — PPLNS, PROP, PPS — a portion of `rest` in proportion to
//!    the group's round work (Σ difficulty). A group without work gets 0.
//! 3. The PPS portion goes to `pps_fund`: PPS miners were paid per share already, from the fund.
//! 4. The PROP portion is split among PROP miners by their round work.
//! 5. The PPLNS portion is split among PPLNS miners by their work in the **PPLNS window**
//!    ([`pplns_window`]): the newest PPLNS shares, across rounds, worth `ceil(factor × D)`, the
//!    oldest share counted only for the part that fits; all of them when there are fewer.
//! 6. Every proportional split (the largest-remainder rule): floors of `amount × w_i / Σw` computed
//!    exactly in 256 bits, then the leftover units one each by largest remainder, ties by the
//!    entries' order — miner id (`M: Ord`) for miners, PPLNS, PROP, PPS for groups.
//!
//! `Σ credits + pool_fee + pps_fund == reward`, always ([`BlockSplit::conserves`]).
//!
//! ## Edge cases, decided
//! * **Empty round** (impossible: the block's own share is in it): nobody to pay, the whole `rest`
//!   goes to `pool_fee`, and [`SplitExplanation::unassigned`] says so. The same holds for a
//!   PPLNS portion whose window is empty (a caller that did not stream the round's own shares).
//! * **Reward 0**: everything is 0. **Fee 100 %**: all to `pool_fee`, no credits.
//! * **Ties** (many miners with equal work): the leftover units go to the smallest miner ids.
//! * Zero credits are not listed in `credits` (they change no balance); the explanation lists
//!   every miner with its weight.
//! * Solo shares in a round, and non-PPLNS shares in the window stream, are ignored.
//! * A round whose work exceeds 2^256 − 1 is an error ([`SplitError::WorkOverflow`]), never a wrap.
//!
//! ## Per share ([`pps_value`], [`PpsAccumulator`])
//! A PPS share is worth `reward × (10,000 − fee) × d / (10,000 × D)`; each miner's accumulator
//! carries the fraction so that low-difficulty miners lose nothing to rounding (its doc gives the
//! exact guarantee).
//!
//! ## Solo ([`split_solo`])
//! The finder gets `reward − floor(reward × fee / 10,000)`.
//!
//! | file | concept |
//! |---|---|
//! | `fee.rs` | [`FeeBp`]: a fee in basis points, checked |
//! | `scheme.rs` | [`Scheme`]: `pplns`, `pps`, `prop`, `solo` |
//! | `ratio.rs` | [`Ratio`]: the exact PPLNS factor |
//! | `exact.rs` | `a × b / c` beyond 256 bits, exactly |
//! | `allocate.rs` | the largest-remainder split |
//! | `window.rs` | [`pplns_window`]: the PPLNS window |
//! | `split.rs` | [`ShareWork`], [`BlockSplit`], [`split_solo`], [`split_shared`] |
//! | `explain.rs` | [`SplitExplanation`]: every weight and portion, for audits |
//! | `pps.rs` | [`pps_value`], [`PpsAccumulator`] |
//! | `effort.rs` | [`effort_bp`] |

mod allocate;
mod effort;
mod exact;
mod explain;
mod fee;
mod pps;
mod ratio;
mod scheme;
mod split;
mod window;

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) use proptests::config as proptest_config;

pub use effort::effort_bp;
pub use explain::{CreditLine, GroupShare, SplitExplanation};
pub use fee::{BP_PER_UNIT, FeeBp, FeeError};
pub use pps::{ParseCarryError, PpsAccumulator, PpsError, PpsValue, pps_value};
pub use ratio::{Ratio, RatioError};
pub use scheme::{Scheme, UnknownScheme};
pub use split::{BlockSplit, ShareWork, SplitError, explain_shared, split_shared, split_solo};
pub use window::{PplnsWindow, pplns_window, window_target};

// The payout plan splits a transaction fee among its recipients by the same rule.
pub(crate) use allocate::largest_remainder;

/// One TOS in atomic units (8 decimals).
pub const COIN: u64 = 100_000_000;
/// The maximum supply, 184,000,000 TOS, in atomic units: no single amount can exceed it.
pub const MAX_SUPPLY_ATOMIC: u64 = 184_000_000 * COIN;
