//! [`plan_payouts`]: from balances to transactions (the rules are in the [module doc](super)).

use super::fee::{TxFeePolicy, estimate_tx_fee};
use super::policy::PayoutPolicy;
use crate::address::{Address, AddressError, Network};
use crate::reward::largest_remainder;
use crate::u256::U256;

/// A miner's balance as storage holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PayableBalance<M> {
    pub miner: M,
    /// Where to pay: checked here against the pool's network.
    pub address: String,
    pub balance: u64,
    /// The miner's own threshold; `None` is the policy's default.
    pub threshold: Option<u64>,
}

/// One transfer of a batch. `debit == send + fee_share`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment<M> {
    pub miner: M,
    /// The validated address (normal, the pool's network).
    pub address: String,
    /// Taken off the miner's balance.
    pub debit: u64,
    /// The transfer's amount (≥ 1).
    pub send: u64,
    /// The miner's part of the transaction fee (0 when the pool pays).
    pub fee_share: u64,
}

/// One transaction: at most `max_recipients` payments, by miner id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch<M> {
    pub payments: Vec<Payment<M>>,
    /// The fee to build the transaction with, as an exact value.
    pub tx_fee: u64,
}

impl<M> Batch<M> {
    /// Σ `send`.
    pub fn sent(&self) -> u128 {
        self.payments.iter().map(|p| p.send as u128).sum()
    }

    /// Σ `debit`.
    pub fn debited(&self) -> u128 {
        self.payments.iter().map(|p| p.debit as u128).sum()
    }

    /// What leaves the wallet: Σ `send` + `tx_fee`.
    pub fn wallet_cost(&self) -> u128 {
        self.sent() + self.tx_fee as u128
    }
}

/// Why an eligible balance is not paid at all this time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("invalid payout address: {0}")]
    InvalidAddress(AddressError),
    #[error("the same miner appears more than once in the balances; none of its entries is paid")]
    DuplicateMiner,
    #[error("the amount {amount} does not exceed one transfer's fee {fee}, which the recipient would pay")]
    BelowTxFee { amount: u64, fee: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped<M> {
    pub miner: M,
    pub address: String,
    pub balance: u64,
    pub reason: SkipReason,
}

/// Why a payable, valid payment waits for a later run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeferReason {
    #[error("wallet balance")]
    WalletBalance,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deferred<M> {
    pub miner: M,
    pub address: String,
    /// What it would have debited.
    pub amount: u64,
    pub reason: DeferReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutPlan<M> {
    pub batches: Vec<Batch<M>>,
    /// By miner id.
    pub skipped: Vec<Skipped<M>>,
    /// In payment order.
    pub deferred: Vec<Deferred<M>>,
}

impl<M> PayoutPlan<M> {
    pub fn payments(&self) -> impl Iterator<Item = &Payment<M>> {
        self.batches.iter().flat_map(|b| &b.payments)
    }

    /// Σ over batches of what leaves the wallet: never above `wallet_available`.
    pub fn wallet_cost(&self) -> u128 {
        self.batches.iter().map(Batch::wallet_cost).sum()
    }
}

/// A payment chosen for this run, before batching.
struct Candidate<M> {
    miner: M,
    address: String,
    amount: u64,
}

/// Plans this run's payouts from `balances` (any order) with `wallet_available` atomic units in
/// the pool wallet.
pub fn plan_payouts<M: Ord + Clone>(
    balances: &[PayableBalance<M>],
    network: Network,
    wallet_available: u64,
    policy: &PayoutPolicy,
) -> PayoutPlan<M> {
    let mut sorted: Vec<&PayableBalance<M>> = balances.iter().collect();
    sorted.sort();
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    let single_fee = estimate_tx_fee(1);
    for (i, b) in sorted.iter().enumerate() {
        let skip = |reason| Skipped {
            miner: b.miner.clone(),
            address: b.address.clone(),
            balance: b.balance,
            reason,
        };
        let duplicate = sorted.get(i.wrapping_sub(1)).is_some_and(|p| p.miner == b.miner)
            || sorted.get(i + 1).is_some_and(|n| n.miner == b.miner);
        if duplicate {
            skipped.push(skip(SkipReason::DuplicateMiner));
            continue;
        }
        if b.balance == 0 || b.balance < b.threshold.unwrap_or(policy.default_threshold()) {
            continue;
        }
        if let Err(e) = Address::parse_normal(&b.address, network) {
            skipped.push(skip(SkipReason::InvalidAddress(e)));
            continue;
        }
        let amount = policy.max_per_payment().map_or(b.balance, |cap| b.balance.min(cap));
        if policy.tx_fee() == TxFeePolicy::RecipientsPay && amount <= single_fee {
            // fee(n) ≤ n·fee(1): above fee(1), every recipient keeps at least one unit.
            skipped.push(skip(SkipReason::BelowTxFee { amount, fee: single_fee }));
            continue;
        }
        candidates.push(Candidate { miner: b.miner.clone(), address: b.address.clone(), amount });
    }
    // Largest amounts first (the miners owed most are paid first when the wallet runs short).
    candidates.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.miner.cmp(&b.miner)));

    let mut batches = Vec::new();
    let mut deferred = Vec::new();
    let mut available = wallet_available as u128;
    let mut queue = candidates.into_iter();
    loop {
        let chunk: Vec<Candidate<M>> = queue.by_ref().take(policy.max_recipients()).collect();
        if chunk.is_empty() {
            break;
        }
        // The longest prefix of the chunk the wallet can afford (cost grows with every recipient).
        let mut take = chunk.len();
        while take > 0 && cost(&chunk[..take], policy.tx_fee()) > available {
            take -= 1;
        }
        let short = take < chunk.len();
        let mut chunk = chunk.into_iter();
        if take > 0 {
            let batch = batch(chunk.by_ref().take(take).collect(), policy.tx_fee());
            available -= batch.wallet_cost();
            batches.push(batch);
        }
        if short {
            // The wallet ran short: everyone after waits (nobody jumps the queue).
            deferred.extend(chunk.chain(queue).map(|c| Deferred {
                miner: c.miner,
                address: c.address,
                amount: c.amount,
                reason: DeferReason::WalletBalance,
            }));
            break;
        }
    }
    PayoutPlan { batches, skipped, deferred }
}

/// What a batch of `c` takes from the wallet: the amounts, plus the fee when the pool pays it
/// (recipients' shares of the fee come out of their amounts).
fn cost<M>(c: &[Candidate<M>], policy: TxFeePolicy) -> u128 {
    let amounts: u128 = c.iter().map(|c| c.amount as u128).sum();
    match policy {
        TxFeePolicy::PoolPays => amounts + estimate_tx_fee(c.len()) as u128,
        TxFeePolicy::RecipientsPay => amounts,
    }
}

fn batch<M: Ord>(mut c: Vec<Candidate<M>>, policy: TxFeePolicy) -> Batch<M> {
    c.sort_by(|a, b| a.miner.cmp(&b.miner));
    let tx_fee = estimate_tx_fee(c.len());
    let shares = match policy {
        TxFeePolicy::PoolPays => vec![0; c.len()],
        TxFeePolicy::RecipientsPay => {
            // In proportion to the amounts; leftover units by largest remainder, ties by miner id.
            let weights: Vec<U256> = c.iter().map(|c| U256::from_u64(c.amount)).collect();
            let total = U256::from_u128(c.iter().map(|c| c.amount as u128).sum());
            largest_remainder(tx_fee, &weights, total)
        }
    };
    let payments = c
        .into_iter()
        .zip(shares)
        .map(|(c, fee_share)| Payment {
            miner: c.miner,
            address: c.address,
            debit: c.amount,
            send: c.amount - fee_share,
            fee_share,
        })
        .collect();
    Batch { payments, tx_fee }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reward::COIN;

    /// A valid devnet address for miner `m`.
    fn addr(m: u32) -> String {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&m.to_be_bytes());
        Address::normal(false, key).to_string()
    }

    fn bal(miner: u32, balance: u64, threshold: Option<u64>) -> PayableBalance<u32> {
        PayableBalance { miner, address: addr(miner), balance, threshold }
    }

    fn policy(max: usize, fee: TxFeePolicy, cap: Option<u64>) -> PayoutPolicy {
        PayoutPolicy::new(COIN, max, fee, cap).unwrap()
    }

    fn paid(plan: &PayoutPlan<u32>) -> Vec<(u32, u64)> {
        plan.payments().map(|p| (p.miner, p.debit)).collect()
    }

    #[test]
    fn own_threshold_or_the_default() {
        let balances = [
            bal(1, COIN, None),               // at the default: paid
            bal(2, COIN - 1, None),           // below: not in the plan
            bal(3, 5_000, Some(5_000)),       // its own, lower threshold
            bal(4, 2 * COIN, Some(3 * COIN)), // its own, higher threshold
            bal(5, 0, Some(0)),               // nothing to pay
        ];
        let plan = plan_payouts(&balances, Network::Devnet, u64::MAX, &PayoutPolicy::default());
        assert_eq!(paid(&plan), [(1, COIN), (3, 5_000)]);
        assert!(plan.skipped.is_empty() && plan.deferred.is_empty());
        assert_eq!(plan.batches[0].tx_fee, estimate_tx_fee(2));
        assert_eq!(plan.wallet_cost(), (COIN + 5_000 + estimate_tx_fee(2)) as u128);
    }

    #[test]
    fn a_bad_address_is_skipped_and_blocks_nobody() {
        let mut balances =
            vec![bal(1, COIN, None), bal(2, COIN, None), bal(3, COIN, None), bal(4, COIN, None)];
        balances[1].address = "tst1notanaddress".into();
        balances[2].address = Address::normal(true, [3; 32]).to_string(); // mainnet on devnet
        let plan = plan_payouts(&balances, Network::Devnet, u64::MAX, &PayoutPolicy::default());
        assert_eq!(paid(&plan), [(1, COIN), (4, COIN)]);
        assert_eq!(plan.skipped.iter().map(|s| s.miner).collect::<Vec<_>>(), [2, 3]);
        assert!(matches!(plan.skipped[0].reason, SkipReason::InvalidAddress(_)));
        assert_eq!(
            plan.skipped[1].reason,
            SkipReason::InvalidAddress(AddressError::WrongNetwork { expected: "tst", got: "tos".into() })
        );
        // Below its threshold, a bad address is not even looked at.
        let mut low = bal(9, 1, None);
        low.address = "junk".into();
        assert!(plan_payouts(&[low], Network::Devnet, u64::MAX, &PayoutPolicy::default()).skipped.is_empty());
    }

    #[test]
    fn a_duplicated_miner_is_never_paid() {
        let balances = [bal(1, COIN, None), bal(2, 3 * COIN, None), bal(1, 2 * COIN, None)];
        let plan = plan_payouts(&balances, Network::Devnet, u64::MAX, &PayoutPolicy::default());
        assert_eq!(paid(&plan), [(2, 3 * COIN)]);
        assert_eq!(
            plan.skipped.iter().map(|s| (s.miner, s.balance)).collect::<Vec<_>>(),
            [(1, COIN), (1, 2 * COIN)]
        );
        assert!(plan.skipped.iter().all(|s| s.reason == SkipReason::DuplicateMiner));
    }

    #[test]
    fn batches_are_cut_largest_first_and_listed_by_miner() {
        // Miners 0..7 owed 1..7 TOS + id; 3 per transaction.
        let balances: Vec<_> = (0..7).map(|m| bal(m, (m as u64 + 1) * COIN, None)).collect();
        let plan =
            plan_payouts(&balances, Network::Devnet, u64::MAX, &policy(3, TxFeePolicy::PoolPays, None));
        let batches: Vec<Vec<u32>> =
            plan.batches.iter().map(|b| b.payments.iter().map(|p| p.miner).collect()).collect();
        assert_eq!(batches, [vec![4, 5, 6], vec![1, 2, 3], vec![0]]);
        assert_eq!(
            plan.batches.iter().map(|b| b.tx_fee).collect::<Vec<_>>(),
            [estimate_tx_fee(3), estimate_tx_fee(3), estimate_tx_fee(1)]
        );
        for p in plan.payments() {
            assert_eq!((p.send, p.fee_share), (p.debit, 0), "the pool pays the fee on top");
        }
    }

    #[test]
    fn recipients_pay_the_fee_in_proportion_exactly() {
        // fee(3) = ⌈(2,048 + 1,152)/1024⌉ = 4 KiB → 40,000 + 15,000 = 55,000, over 1 : 2 : 4 TOS:
        // 7,857.14 / 15,714.29 / 31,428.57 → floors 7,857 + 15,714 + 31,428 = 54,999; the leftover
        // unit to the largest remainder (31,428.57).
        let balances = [bal(1, COIN, None), bal(2, 2 * COIN, None), bal(3, 4 * COIN, None)];
        let plan =
            plan_payouts(&balances, Network::Devnet, u64::MAX, &policy(10, TxFeePolicy::RecipientsPay, None));
        let b = &plan.batches[0];
        assert_eq!(b.tx_fee, 55_000);
        let shares: Vec<_> = b.payments.iter().map(|p| (p.miner, p.fee_share, p.send)).collect();
        assert_eq!(
            shares,
            [(1, 7_857, COIN - 7_857), (2, 15_714, 2 * COIN - 15_714), (3, 31_429, 4 * COIN - 31_429)]
        );
        assert_eq!(b.wallet_cost(), b.debited(), "the wallet sends exactly what was debited");
    }

    #[test]
    fn the_cap_leaves_the_rest_on_the_balance() {
        let balances = [bal(1, 10 * COIN, None), bal(2, COIN, None)];
        let plan = plan_payouts(
            &balances,
            Network::Devnet,
            u64::MAX,
            &policy(10, TxFeePolicy::PoolPays, Some(3 * COIN)),
        );
        assert_eq!(paid(&plan), [(1, 3 * COIN), (2, COIN)]);
    }

    #[test]
    fn amounts_the_fee_would_eat_are_skipped_when_recipients_pay() {
        let fee = estimate_tx_fee(1);
        let balances = [bal(1, fee, Some(1)), bal(2, fee + 1, Some(1))];
        let plan =
            plan_payouts(&balances, Network::Devnet, u64::MAX, &policy(10, TxFeePolicy::RecipientsPay, None));
        assert_eq!(
            plan.skipped.iter().map(|s| (s.miner, s.reason.clone())).collect::<Vec<_>>(),
            [(1, SkipReason::BelowTxFee { amount: fee, fee })]
        );
        let p = plan.payments().next().unwrap();
        assert_eq!((p.miner, p.send, p.fee_share), (2, 1, fee), "one unit left: the edge of the rule");
    }

    #[test]
    fn a_short_wallet_pays_in_order_and_defers_the_rest() {
        // 5 payments of 5, 4, 3, 2, 1 TOS, 2 per transaction, the pool paying the fee.
        let balances: Vec<_> = (1..=5).map(|m| bal(m, m as u64 * COIN, None)).collect();
        let pol = policy(2, TxFeePolicy::PoolPays, None);
        let first = 9 * COIN + estimate_tx_fee(2);
        // Enough for the first batch and the 3 TOS of the second, not its 2 TOS as well.
        let wallet = first + 3 * COIN + estimate_tx_fee(1) + COIN + estimate_tx_fee(1);
        let plan = plan_payouts(&balances, Network::Devnet, wallet, &pol);
        assert_eq!(paid(&plan), [(4, 4 * COIN), (5, 5 * COIN), (3, 3 * COIN)]);
        assert_eq!(
            plan.deferred.iter().map(|d| (d.miner, d.amount)).collect::<Vec<_>>(),
            [(2, 2 * COIN), (1, COIN)]
        );
        assert!(plan.deferred.iter().all(|d| d.reason == DeferReason::WalletBalance));
        assert!(plan.wallet_cost() <= wallet as u128);
        // The 1 TOS payment would fit in what is left, but does not jump the queue.
        assert!(wallet as u128 - plan.wallet_cost() >= (COIN + estimate_tx_fee(1)) as u128);
        // An empty wallet pays nobody.
        let plan = plan_payouts(&balances, Network::Devnet, 0, &pol);
        assert!(plan.batches.is_empty());
        assert_eq!(plan.deferred.len(), 5);
        // Exactly enough.
        let all = 15 * COIN + 2 * estimate_tx_fee(2) + estimate_tx_fee(1);
        let plan = plan_payouts(&balances, Network::Devnet, all, &pol);
        assert_eq!((plan.wallet_cost(), plan.deferred.len()), (all as u128, 0));
        assert_eq!(plan_payouts(&balances, Network::Devnet, all - 1, &pol).deferred.len(), 1);
    }
}
