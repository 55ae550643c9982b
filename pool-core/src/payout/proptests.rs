//! Property tests of payout planning: conservation, batch limits, the wallet bound, every
//! eligible balance accounted for exactly once, deferral only when the wallet is short, and
//! independence from the input order.

use super::*;
use crate::address::{Address, Network};
use crate::reward::{COIN, MAX_SUPPLY_ATOMIC};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Mostly valid devnet addresses; sometimes mainnet, junk or integrated ones.
fn address(miner: u16, kind: u8) -> String {
    let mut key = [0u8; 32];
    key[..2].copy_from_slice(&miner.to_be_bytes());
    match kind {
        0 => Address::normal(true, key).to_string(),
        1 => "tst1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq".into(),
        2 => Address { mainnet: false, key, kind: crate::address::AddressKind::Integrated(vec![1]) }
            .to_string(),
        _ => Address::normal(false, key).to_string(),
    }
}

fn balance() -> impl Strategy<Value = u64> {
    prop_oneof![0..3 * COIN, 0..100_000u64, Just(COIN), 0..=MAX_SUPPLY_ATOMIC]
}

fn balances() -> impl Strategy<Value = Vec<PayableBalance<u16>>> {
    prop::collection::vec(
        (0..400u16, 0..24u8, balance(), prop::option::weighted(0.3, 0..2 * COIN)).prop_map(
            |(miner, kind, balance, threshold)| PayableBalance {
                miner,
                address: address(miner, kind),
                balance,
                threshold,
            },
        ),
        0..300,
    )
}

fn policy() -> impl Strategy<Value = PayoutPolicy> {
    (
        prop_oneof![Just(COIN), 50_000..2 * COIN],
        prop_oneof![1..=20usize, Just(MAX_TRANSFERS_PER_TX), 1..=MAX_TRANSFERS_PER_TX],
        prop_oneof![Just(TxFeePolicy::PoolPays), Just(TxFeePolicy::RecipientsPay)],
        prop::option::weighted(0.3, 50_000..3 * COIN),
    )
        .prop_map(|(t, m, f, c)| PayoutPolicy::new(t, m, f, c).unwrap())
}

/// The wallet: from nothing to far more than everything owed.
fn wallet() -> impl Strategy<Value = u64> {
    prop_oneof![0..10 * COIN, 0..1_000 * COIN, Just(u64::MAX)]
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut rng = crate::testutil::SplitMix64(seed);
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(crate::reward::proptest_config())]

    #[test]
    fn plans_conserve_respect_limits_and_account_for_everyone(
        balances in balances(),
        policy in policy(),
        wallet in wallet(),
    ) {
        let plan = plan_payouts(&balances, Network::Devnet, wallet, &policy);
        let recipients_pay = policy.tx_fee() == TxFeePolicy::RecipientsPay;

        // Conservation and limits, per payment and per batch.
        for b in &plan.batches {
            prop_assert!((1..=policy.max_recipients()).contains(&b.payments.len()));
            prop_assert_eq!(b.tx_fee, estimate_tx_fee(b.payments.len()));
            for p in &b.payments {
                prop_assert_eq!(p.debit, p.send + p.fee_share);
                prop_assert!(p.send >= 1);
                if !recipients_pay {
                    prop_assert_eq!(p.fee_share, 0);
                }
            }
            let shares: u64 = b.payments.iter().map(|p| p.fee_share).sum();
            prop_assert_eq!(shares, if recipients_pay { b.tx_fee } else { 0 });
            prop_assert_eq!(b.wallet_cost(), b.sent() + b.tx_fee as u128);
            prop_assert!(b.payments.windows(2).all(|w| w[0].miner < w[1].miner), "listed by miner id");
        }
        prop_assert!(plan.wallet_cost() <= wallet as u128);

        // Batches in payment order: every amount of a batch ≥ every amount of the next.
        for w in plan.batches.windows(2) {
            let min = w[0].payments.iter().map(|p| p.debit).min().unwrap();
            prop_assert!(w[1].payments.iter().all(|p| p.debit <= min));
        }

        // Everyone eligible is paid, skipped or deferred, exactly once; nobody else appears.
        let mut count: BTreeMap<u16, usize> = BTreeMap::new();
        for b in &balances {
            *count.entry(b.miner).or_default() += 1;
        }
        let paid: BTreeMap<u16, &Payment<u16>> = plan.payments().map(|p| (p.miner, p)).collect();
        prop_assert_eq!(paid.len(), plan.payments().count(), "a miner paid twice");
        let deferred: BTreeSet<u16> = plan.deferred.iter().map(|d| d.miner).collect();
        prop_assert_eq!(deferred.len(), plan.deferred.len());
        for b in &balances {
            let skipped: Vec<&Skipped<u16>> = plan.skipped.iter().filter(|s| s.miner == b.miner).collect();
            if count[&b.miner] > 1 {
                prop_assert_eq!(skipped.len(), count[&b.miner]);
                prop_assert!(skipped.iter().all(|s| s.reason == SkipReason::DuplicateMiner));
                prop_assert!(!paid.contains_key(&b.miner) && !deferred.contains(&b.miner));
                continue;
            }
            let eligible = b.balance > 0 && b.balance >= b.threshold.unwrap_or(policy.default_threshold());
            let amount = policy.max_per_payment().map_or(b.balance, |c| b.balance.min(c));
            let valid = Address::parse_normal(&b.address, Network::Devnet).is_ok();
            let too_small = recipients_pay && amount <= estimate_tx_fee(1);
            let places = paid.contains_key(&b.miner) as usize + deferred.contains(&b.miner) as usize + skipped.len();
            prop_assert_eq!(places, eligible as usize, "miner {}", b.miner);
            if let Some(p) = paid.get(&b.miner) {
                prop_assert!(valid && !too_small);
                prop_assert_eq!(p.debit, amount);
                prop_assert!(p.debit <= b.balance);
                prop_assert_eq!(&p.address, &b.address);
            }
            if let Some(s) = skipped.first() {
                prop_assert_eq!(matches!(s.reason, SkipReason::InvalidAddress(_)), !valid);
                prop_assert_eq!(matches!(s.reason, SkipReason::BelowTxFee { .. }), valid && too_small);
            }
        }

        // Deferral only when the wallet is short: the first deferred payment did not fit next
        // to the last batch (or alone in a new one).
        if let Some(d) = plan.deferred.first() {
            let left = wallet as u128 - plan.wallet_cost();
            let k = plan.batches.last().map_or(0, |b| b.payments.len());
            let k = if k == policy.max_recipients() { 0 } else { k };
            let extra_fee = if recipients_pay { 0 } else { estimate_tx_fee(k + 1) - if k == 0 { 0 } else { estimate_tx_fee(k) } };
            prop_assert!(left < d.amount as u128 + extra_fee as u128, "deferred although it fit");
            prop_assert!(plan.deferred.iter().all(|d| d.reason == DeferReason::WalletBalance));
        }
    }

    #[test]
    fn plans_do_not_depend_on_the_input_order(
        balances in balances(),
        policy in policy(),
        wallet in wallet(),
        seed in any::<u64>(),
    ) {
        let a = plan_payouts(&balances, Network::Devnet, wallet, &policy);
        let mut shuffled = balances.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(a, plan_payouts(&shuffled, Network::Devnet, wallet, &policy));
    }
}
