//! Payouts end to end, on SQLite and PostgreSQL: balances credited directly, the payer (in this
//! process, or one run at a time in a child process that a failpoint aborts), the simulated wallet
//! and node on loopback, and after every scenario the invariants of `assert_settled` — every batch
//! final, money conserved, nothing paid twice, the chain paying each address exactly its ledger
//! `paid`.

#[path = "support/payout_support.rs"]
mod payout_support;

use payout_support::*;
use pool_core::address::Address;
use pool_core::payout::estimate_tx_fee;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tos_pool::devnet::accounts::TxFaults;
use tos_pool::events::PoolEvent;
use tos_pool::ledger::payer::Round;
use tos_pool::ledger::payout_store::{self, BatchStatus};
use tos_pool::wallet::Credentials;

/// Credits `amounts` to miners 0, 1, …; returns their ids.
async fn credit_all(db: &tos_pool::ledger::db::Db, amounts: &[u64]) -> Vec<i64> {
    let mut ids = Vec::new();
    for (i, a) in amounts.iter().enumerate() {
        ids.push(credit(db, &miner_address(i), *a).await);
    }
    ids
}

#[tokio::test]
async fn a_payout_is_confirmed_only_once_executed_in_a_stable_block() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let amounts = [5 * COIN, 2 * COIN, 3 * COIN / 2, COIN / 2];
        let ids = credit_all(&db, &amounts).await;
        let mut p = InProcess::start(&tdb, &devnet, &Settings::default()).await;

        let r = p.pass().await;
        assert_eq!((r.created.len(), r.submitted.len()), (1, 1), "{r:?}");
        let batch = r.created[0];
        let tx_hash = payout_store::batch(&db, batch).await.unwrap().unwrap().tx_hash.unwrap();
        assert_eq!(
            p.events.try_recv().unwrap(),
            PoolEvent::PaymentSent {
                tx_hash: tx_hash.clone(),
                recipients: 3,
                total: (17 * COIN / 2).to_string()
            }
        );
        for (id, a) in ids.iter().zip(amounts).take(3) {
            let b = balances_of(&db, *id).await;
            assert_eq!((b.balance, b.pending, b.paid), (0, a, 0), "intent first: balance → pending");
        }
        assert_eq!(balances_of(&db, ids[3]).await.balance, COIN / 2, "below the threshold: untouched");
        assert_eq!(audit(&db, "payout_intent").await, (3, -(17 * COIN as i64) / 2, 17 * COIN as i64 / 2, 0));
        assert_eq!(devnet.node.mempool_transactions(), 1);

        // Executed in the next block, but not stable: still pending.
        devnet.advance(1);
        let r = p.pass().await;
        assert!(r.confirmed.is_empty(), "{r:?}");
        let row = payout_store::batch(&db, batch).await.unwrap().unwrap();
        assert_eq!(row.status, BatchStatus::Submitted);
        assert!(row.executed_block.is_some() && row.executed_topoheight.is_some());
        devnet.advance(23);
        assert!(p.pass().await.confirmed.is_empty(), "23 blocks on top: not yet stable");
        assert_eq!(totals(&db).await.1, 17 * COIN / 2, "still pending");
        devnet.advance(1);
        assert_eq!(p.pass().await.confirmed, [batch], "24 blocks on top: stable");
        assert_eq!(p.events.try_recv().unwrap(), PoolEvent::PaymentConfirmed { tx_hash });
        assert!(p.events.try_recv().is_err(), "one event per move");

        let fee = estimate_tx_fee(3);
        assert_eq!(
            devnet.node.balance(&pool_address()),
            100 * COIN - 17 * COIN / 2 - fee,
            "the pool paid the fee on top"
        );
        for (id, a) in ids.iter().zip(amounts).take(3) {
            let b = balances_of(&db, *id).await;
            assert_eq!((b.balance, b.pending, b.paid), (0, 0, a));
        }
        assert_eq!(
            audit(&db, "payout_confirmed").await,
            (3, 0, -(17 * COIN as i64) / 2, 17 * COIN as i64 / 2)
        );
        let pool_fees: i64 = tos_pool::on_db!(&db, |q| sqlx::query_scalar(
            "SELECT amount FROM pool_accounts WHERE name = 'payout_tx_fees'"
        )
        .fetch_one(q)
        .await)
        .unwrap();
        assert_eq!(pool_fees, fee as i64, "the pool's fee is on its own account");
        let again = p.pass().await;
        assert!(again.created.is_empty(), "nothing left above the threshold: {again:?}");
        assert_settled(&db, &devnet, amounts.iter().sum()).await;
    })
    .await;
}

#[tokio::test]
async fn thresholds_are_per_miner_with_the_default_for_the_others() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        // own 0.5 (paid at 0.6) · own 5 (not paid at 3) · default 1 (paid at 1) · default (not at 0.9)
        let amounts = [6 * COIN / 10, 3 * COIN, COIN, 9 * COIN / 10];
        let ids = credit_all(&db, &amounts).await;
        payout_store::set_threshold(&db, ids[0], Some(COIN / 2)).await.unwrap();
        payout_store::set_threshold(&db, ids[1], Some(5 * COIN)).await.unwrap();
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        p.settle(&devnet, 5).await;
        let paid: Vec<u64> = futures_paid(&db, &ids).await;
        assert_eq!(paid, [6 * COIN / 10, 0, COIN, 0]);
        assert_eq!(balances_of(&db, ids[1]).await.balance, 3 * COIN);
        assert_settled(&db, &devnet, amounts.iter().sum()).await;
    })
    .await;
}

async fn futures_paid(db: &tos_pool::ledger::db::Db, ids: &[i64]) -> Vec<u64> {
    let mut v = Vec::new();
    for id in ids {
        v.push(balances_of(db, *id).await.paid);
    }
    v
}

#[tokio::test]
async fn a_bad_address_is_skipped_and_the_others_are_paid() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let good = credit_all(&db, &[2 * COIN, 3 * COIN]).await;
        let junk = credit(&db, "tst1notanaddress", 4 * COIN).await;
        let mainnet = credit(&db, &Address::normal(true, [7; 32]).to_string(), 4 * COIN).await;
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        let r = p.pass().await;
        assert_eq!((r.created.len(), r.skipped), (1, 2), "{r:?}");
        p.settle(&devnet, 5).await;
        assert_eq!(futures_paid(&db, &good).await, [2 * COIN, 3 * COIN]);
        for bad in [junk, mainnet] {
            let b = balances_of(&db, bad).await;
            assert_eq!((b.balance, b.pending, b.paid), (4 * COIN, 0, 0), "a bad address keeps its balance");
        }
        assert_settled(&db, &devnet, 13 * COIN).await;
    })
    .await;
}

#[tokio::test]
async fn a_short_wallet_pays_the_largest_first_and_defers_the_rest() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        let db = tdb.connect().await;
        let amounts = [2 * COIN, 3 * COIN / 2, COIN];
        let ids = credit_all(&db, &amounts).await;
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        // An empty wallet: nobody is paid, nothing is written.
        let r = p.pass().await;
        assert_eq!((r.created.len(), r.deferred), (0, 3), "{r:?}");
        assert!(batches(&db).await.is_empty());
        // Enough for 2 + 1.5 and their fee, not for the third.
        devnet.node.fund(&pool_address(), 7 * COIN / 2 + estimate_tx_fee(2) + 1_000);
        let r = p.pass().await;
        assert_eq!((r.created.len(), r.deferred), (1, 1), "{r:?}");
        p.settle(&devnet, 5).await;
        assert_eq!(futures_paid(&db, &ids).await, [2 * COIN, 3 * COIN / 2, 0]);
        assert_eq!(balances_of(&db, ids[2]).await.balance, COIN, "deferred: still on the balance");
        assert_settled(&db, &devnet, amounts.iter().sum()).await;
        // Funded, the next round pays it.
        devnet.node.fund(&pool_address(), 2 * COIN);
        p.settle(&devnet, 5).await;
        assert_eq!(futures_paid(&db, &ids).await, amounts);
        assert_settled(&db, &devnet, amounts.iter().sum()).await;
    })
    .await;
}

#[tokio::test]
async fn batches_hold_at_most_max_recipients() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let amounts: Vec<u64> = (1..=7).map(|i| i * COIN).collect();
        let ids = credit_all(&db, &amounts).await;
        let s = Settings { max_recipients: 3, ..Settings::default() };
        let p = InProcess::start(&tdb, &devnet, &s).await;
        let r = p.pass().await;
        assert_eq!(r.created.len(), 3, "7 payments by 3: {r:?}");
        p.settle(&devnet, 5).await;
        let sizes: Vec<u32> = batches(&db).await.iter().map(|b| b.3).collect();
        assert_eq!(sizes, [3, 3, 1]);
        let on_chain: Vec<usize> =
            devnet.node.executed_transactions().iter().map(|e| e.tx.transfers.len()).collect();
        assert_eq!(on_chain, [3, 3, 1], "one transaction per batch on chain");
        assert_eq!(futures_paid(&db, &ids).await, amounts);
        assert_settled(&db, &devnet, amounts.iter().sum()).await;
    })
    .await;
}

#[tokio::test]
async fn recipients_pay_the_fee_and_the_cap_per_payment_holds() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let ids = credit_all(&db, &[5 * COIN, 3 * COIN / 2]).await;
        let s = Settings { tx_fee: "recipients", max_per_payment: Some("2"), ..Settings::default() };
        let p = InProcess::start(&tdb, &devnet, &s).await;
        let r = p.pass().await;
        let payments = payout_store::payments_of(&db, r.created[0]).await.unwrap();
        let fee = estimate_tx_fee(2);
        assert_eq!(
            payments.iter().map(|p| p.debit).collect::<Vec<_>>(),
            [2 * COIN, 3 * COIN / 2],
            "capped at 2 TOS"
        );
        assert_eq!(
            payments.iter().map(|p| p.fee_share).sum::<u64>(),
            fee,
            "the recipients share the fee exactly"
        );
        let wallet_before = devnet.node.balance(&pool_address());
        devnet.advance(25);
        assert_eq!(p.pass_round(Round::Never).await.confirmed, r.created);
        assert_eq!(
            wallet_before - devnet.node.balance(&pool_address()),
            7 * COIN / 2,
            "the wallet paid only what was debited"
        );
        let b0 = balances_of(&db, ids[0]).await;
        assert_eq!((b0.balance, b0.paid), (3 * COIN, 2 * COIN - payments[0].fee_share), "the rest stays");
        assert_eq!(devnet.received()[&miner_address(1)], 3 * COIN / 2 - payments[1].fee_share);
        assert_settled(&db, &devnet, 13 * COIN / 2).await;
        // The remaining 3 TOS goes out as 2 + 1 in the next rounds.
        p.settle(&devnet, 10).await;
        assert_eq!(balances_of(&db, ids[0]).await.balance, 0);
        assert_eq!(batches(&db).await.len(), 3);
        assert_settled(&db, &devnet, 13 * COIN / 2).await;
    })
    .await;
}

#[tokio::test]
async fn a_failed_build_gives_the_money_back_and_the_next_round_pays_once() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let ids = credit_all(&db, &[2 * COIN, 3 * COIN]).await;
        let mut p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        *devnet.wallet.faults().fail_builds.lock().unwrap() =
            Some("Insufficient funds: needed 5, available 0".into());
        let r = p.pass().await;
        assert_eq!((r.created.len(), r.failed.len()), (1, 1), "{r:?}");
        let e = p.events.try_recv().unwrap();
        assert!(
            matches!(&e, PoolEvent::PaymentFailed { reason, recipients: 2, total } if reason.contains("Insufficient funds") && *total == (5 * COIN).to_string()),
            "{e:?}"
        );
        let row = payout_store::batch(&db, r.failed[0]).await.unwrap().unwrap();
        assert_eq!(row.status, BatchStatus::Failed);
        assert!(row.error.as_deref().unwrap().contains("Insufficient funds"), "{row:?}");
        for (id, a) in ids.iter().zip([2 * COIN, 3 * COIN]) {
            let b = balances_of(&db, *id).await;
            assert_eq!((b.balance, b.pending), (a, 0), "rolled back");
        }
        assert_eq!(audit(&db, "payout_failed").await, (2, 5 * COIN as i64, -(5 * COIN as i64), 0));
        *devnet.wallet.faults().fail_builds.lock().unwrap() = None;
        p.settle(&devnet, 5).await;
        assert_eq!(futures_paid(&db, &ids).await, [2 * COIN, 3 * COIN]);
        assert_settled(&db, &devnet, 5 * COIN).await;
    })
    .await;
}

#[tokio::test]
async fn a_build_answered_too_late_is_rolled_back_and_never_broadcast() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let ids = credit_all(&db, &[2 * COIN]).await;
        let s = Settings { wallet_timeout_ms: 500, ..Settings::default() };
        let p = InProcess::start(&tdb, &devnet, &s).await;
        devnet.wallet.faults().build_delay_ms.store(1_500, Ordering::Relaxed);
        let r = p.pass().await;
        assert_eq!(r.failed.len(), 1, "{r:?}");
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let late = devnet.wallet.builds();
        assert_eq!(late.len(), 1, "the wallet did build it");
        assert!(!late[0].broadcast);
        devnet.wallet.faults().build_delay_ms.store(0, Ordering::Relaxed);
        p.settle(&devnet, 5).await;
        assert_eq!(devnet.wallet.builds().len(), 2, "built again as a new batch");
        assert_eq!(devnet.node.submissions(&late[0].hash), 0, "the late one never reached a node");
        assert_eq!(futures_paid(&db, &ids).await, [2 * COIN]);
        assert_settled(&db, &devnet, 2 * COIN).await;
    })
    .await;
}

#[tokio::test]
async fn an_offline_wallet_pays_nobody() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        credit_all(&db, &[2 * COIN]).await;
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        devnet.wallet.faults().offline.store(true, Ordering::Relaxed);
        let r = p.pass().await;
        assert!(r.created.is_empty() && r.waited.as_deref() == Some("the wallet is offline"), "{r:?}");
        assert!(batches(&db).await.is_empty());
        assert_eq!(totals(&db).await, (2 * COIN, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn a_transaction_lost_from_the_mempool_is_resubmitted_with_the_same_hex() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        credit_all(&db, &[2 * COIN, 3 * COIN]).await;
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        let r = p.pass().await;
        let batch = payout_store::batch(&db, r.created[0]).await.unwrap().unwrap();
        let hash: [u8; 32] = hex::decode(batch.tx_hash.as_ref().unwrap()).unwrap().try_into().unwrap();
        devnet.node.drop_mempool(); // a node restart
        let r = p.pass().await;
        assert_eq!(r.submitted, [batch.id], "unknown to the node: the same hex again");
        assert_eq!(devnet.node.submissions(&hash), 2);
        let again = payout_store::batch(&db, batch.id).await.unwrap().unwrap();
        assert_eq!(
            (again.tx_hash, again.tx_hex),
            (batch.tx_hash.clone(), batch.tx_hex.clone()),
            "never rebuilt"
        );
        // In the mempool: waited for, not resent.
        assert!(p.pass().await.submitted.is_empty());
        assert_eq!(devnet.node.submissions(&hash), 2);
        p.settle(&devnet, 5).await;
        assert_eq!(devnet.wallet.builds().len(), 1, "one transaction, built once");
        assert_settled(&db, &devnet, 5 * COIN).await;
    })
    .await;
}

#[tokio::test]
async fn a_transaction_refused_for_good_fails_only_once_that_is_stable() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let ids = credit_all(&db, &[2 * COIN, 3 * COIN]).await;
        let p = InProcess::start(&tdb, &devnet, &Settings::default()).await;
        // The node refuses for now: the batch stays built.
        devnet.node.set_tx_faults(TxFaults { refuse_submissions: Some("mempool is full".into()) });
        let r = p.pass().await;
        let id = r.created[0];
        assert!(r.submitted.is_empty());
        assert_eq!(payout_store::batch(&db, id).await.unwrap().unwrap().status, BatchStatus::Built);
        devnet.node.set_tx_faults(TxFaults::default());
        // Meanwhile another transaction from the pool wallet takes the nonce, and executes.
        let other = devnet
            .wallet
            .call(
                "build_transaction",
                &serde_json::json!({"transfers": [{"asset": "00".repeat(32), "amount": 1, "destination": miner_address(99)}]}),
            )
            .await
            .unwrap();
        devnet.advance(1);
        let r = p.pass().await;
        assert!(r.failed.is_empty(), "the first refusal for good is only recorded: {r:?}");
        let row = payout_store::batch(&db, id).await.unwrap().unwrap();
        let refused_at = row.refused_topoheight.expect("the refusal is recorded");
        assert!(row.refusal.as_deref().unwrap().contains("already used"), "{row:?}");
        devnet.advance(23);
        assert!(p.pass().await.failed.is_empty(), "the nonce's other transaction is not stable yet");
        assert_eq!(balances_of(&db, ids[0]).await.pending, 2 * COIN);
        devnet.advance(1);
        let r = p.pass_round(Round::Never).await;
        assert_eq!(r.failed, [id], "stable: it can never execute ({refused_at})");
        assert_eq!(audit(&db, "payout_failed").await, (2, 5 * COIN as i64, -(5 * COIN as i64), 0));
        let b = balances_of(&db, ids[0]).await;
        assert_eq!((b.balance, b.pending), (2 * COIN, 0), "the money is back");
        // And it is paid once, by a new transaction.
        p.settle(&devnet, 5).await;
        assert_eq!(futures_paid(&db, &ids).await, [2 * COIN, 3 * COIN]);
        let mut received = devnet.received();
        let stolen = received.remove(&miner_address(99));
        assert_eq!(stolen, Some(1), "{other}");
        assert_eq!(received, paid_by_address(&db).await);
        assert_eq!(payout_store::batch(&db, id).await.unwrap().unwrap().status, BatchStatus::Failed);
    })
    .await;
}

#[tokio::test]
async fn wallet_credentials_come_from_a_file_and_wrong_ones_pay_nobody() {
    on_both(|tdb| async move {
        let devnet = Devnet::start_with(|w| w.with_credentials(Credentials::new("pool", "s3cr:et"))).await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        credit_all(&db, &[2 * COIN]).await;
        let wrong = tdb.dir.join("wrong-credentials");
        std::fs::write(&wrong, "pool:guess\n").unwrap();
        let p = InProcess::start(
            &tdb,
            &devnet,
            &Settings { credentials_file: Some(wrong), ..Settings::default() },
        )
        .await;
        let r = p.pass().await;
        let waited = r.waited.clone().unwrap_or_default();
        assert!(r.created.is_empty() && waited.contains("HTTP 401") && !waited.contains("guess"), "{r:?}");
        drop(p);
        let right = tdb.dir.join("credentials");
        std::fs::write(&right, "pool:s3cr:et\n").unwrap();
        let p = InProcess::start(
            &tdb,
            &devnet,
            &Settings { credentials_file: Some(right), ..Settings::default() },
        )
        .await;
        p.settle(&devnet, 5).await;
        assert_settled(&db, &devnet, 2 * COIN).await;
        assert_eq!(totals(&db).await, (0, 0, 2 * COIN));
    })
    .await;
}

/// Arms `failpoint` in a child payer run until it aborts there, then runs children until every
/// batch is final, and checks nothing was paid twice or lost.
async fn crash_and_restart(tdb: TestDb, failpoint: &'static str) {
    let devnet = Devnet::start_with(|w| w.with_credentials(Credentials::new("pool", "pw"))).await;
    devnet.node.fund(&pool_address(), 1_000 * COIN);
    let db = tdb.connect().await;
    let amounts: Vec<u64> = (0..5).map(|i| (i + 1) * COIN + i * 1_234).collect();
    let credited: u64 = amounts.iter().sum();
    credit_all(&db, &amounts).await;
    let s =
        Settings { max_recipients: 2, credentials_env: Some("TOS_POOL_TEST_WALLET"), ..Settings::default() };
    let config = write_config(&tdb, &devnet, &s);
    let env = [("TOS_POOL_TEST_WALLET", "pool:pw")];
    let mut aborted = false;
    for _ in 0..6 {
        let r = child_pass(&config, Some(failpoint), &env).await;
        if r.aborted {
            assert!(r.stderr.contains(&format!("failpoint {failpoint}")), "{}", r.stderr);
            aborted = true;
            break;
        }
        assert!(r.success, "{}", r.stderr);
        devnet.advance(25);
    }
    assert!(aborted, "{failpoint} was reached");
    let crashed = batches(&db).await;
    // Right after the crash: what the crash left behind.
    let open: Vec<_> = crashed.iter().filter(|b| !b.1.is_final()).collect();
    let hash_of = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    let mut watch: Option<[u8; 32]> = None;
    match failpoint {
        "payout:after_intent" => {
            assert_eq!(open.iter().map(|b| b.1).collect::<Vec<_>>(), [BatchStatus::Intent])
        }
        "payout:built_unrecorded" => {
            assert_eq!(open.iter().map(|b| b.1).collect::<Vec<_>>(), [BatchStatus::Intent]);
            let built = devnet.wallet.builds();
            assert_eq!(built.len(), 1, "the wallet built it, the pool never stored it");
            watch = Some(built[0].hash);
        }
        "payout:after_build" => {
            let b = open.iter().find(|b| b.1 == BatchStatus::Built).expect("a built batch");
            let h = hash_of(b.2.as_deref().unwrap());
            assert_eq!(devnet.node.submissions(&h), 0, "built, not submitted");
            watch = Some(h);
        }
        "payout:after_submit" => {
            let b = open.iter().find(|b| b.1 == BatchStatus::Built).expect("submitted, not recorded");
            let h = hash_of(b.2.as_deref().unwrap());
            assert_eq!(devnet.node.submissions(&h), 1, "the node has it");
            watch = Some(h);
        }
        "payout:after_confirm" => assert!(crashed.iter().any(|b| b.1 == BatchStatus::Confirmed)),
        other => panic!("unknown failpoint {other}"),
    }
    let mut settled = false;
    for _ in 0..15 {
        let r = child_pass(&config, None, &env).await;
        assert!(r.success && !r.aborted, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("the run's JSON line");
        let empty = |k: &str| v[k].as_array().is_some_and(|a| a.is_empty());
        if empty("in_flight") && empty("created") {
            settled = true;
            break;
        }
        devnet.advance(25);
    }
    assert!(settled, "every batch became final");
    assert_settled(&db, &devnet, credited).await;
    assert_eq!(totals(&db).await, (0, 0, credited), "everyone paid in full, once");
    let all = batches(&db).await;
    let failed: Vec<_> = all.iter().filter(|b| b.1 == BatchStatus::Failed).collect();
    match failpoint {
        "payout:after_intent" | "payout:built_unrecorded" => {
            assert_eq!(failed.len(), 1, "the crashed intent is rolled back: {all:?}");
            let row = payout_store::batch(&db, failed[0].0).await.unwrap().unwrap();
            assert!(row.error.unwrap().contains("no transaction was built"));
        }
        _ => assert!(failed.is_empty(), "nothing had to be rolled back: {all:?}"),
    }
    if let Some(h) = watch {
        let subs = devnet.node.submissions(&h);
        match failpoint {
            "payout:built_unrecorded" => assert_eq!(subs, 0, "the unrecorded build never reached a node"),
            // Found in the mempool after the restart: waited for, never sent again.
            "payout:after_submit" => assert_eq!(subs, 1, "not resent blindly"),
            _ => assert_eq!(subs, 1, "submitted once, after the restart"),
        }
    }
}

#[tokio::test]
async fn crash_after_intent_never_pays_twice() {
    on_both(|tdb| crash_and_restart(tdb, "payout:after_intent")).await;
}

#[tokio::test]
async fn crash_after_the_wallet_built_but_before_storing_never_pays_twice() {
    on_both(|tdb| crash_and_restart(tdb, "payout:built_unrecorded")).await;
}

#[tokio::test]
async fn crash_after_build_never_pays_twice() {
    on_both(|tdb| crash_and_restart(tdb, "payout:after_build")).await;
}

#[tokio::test]
async fn crash_after_submit_never_pays_twice() {
    on_both(|tdb| crash_and_restart(tdb, "payout:after_submit")).await;
}

#[tokio::test]
async fn crash_after_confirm_never_pays_twice() {
    on_both(|tdb| crash_and_restart(tdb, "payout:after_confirm")).await;
}

#[tokio::test]
async fn the_dry_run_prints_the_plan_and_touches_nothing() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 3 * COIN);
        let db = tdb.connect().await;
        credit_all(&db, &[2 * COIN, 3 * COIN / 2]).await;
        credit(&db, "tst1notanaddress", 4 * COIN).await;
        let config = write_config(&tdb, &devnet, &Settings::default());
        let before = (totals(&db).await, audit(&db, "test_credit").await);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
            .args(["payouts", "--dry-run", "--config"])
            .arg(&config)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("dry run") && text.contains("balance 3.00000000 TOS"), "{text}");
        assert!(text.contains(&miner_address(0)) && text.contains("2.00000000"), "the payment: {text}");
        assert!(text.contains(&format!("tx fee {}", pool_core::payout::Tos(estimate_tx_fee(1)))), "{text}");
        assert!(
            text.contains("tst1notanaddress") && text.contains("invalid payout address"),
            "skipped with why: {text}"
        );
        assert!(
            text.contains("deferred") && text.contains(&miner_address(1)),
            "the wallet covers one: {text}"
        );
        assert_eq!((totals(&db).await, audit(&db, "test_credit").await), before, "nothing moved");
        assert!(
            batches(&db).await.is_empty() && devnet.wallet.builds().is_empty(),
            "nothing written or built"
        );
        let usage = tokio::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
            .args(["payouts", "--config"])
            .arg(&config)
            .output()
            .await
            .unwrap();
        assert_eq!(usage.status.code(), Some(2), "without --dry-run: a usage error");
    })
    .await;
}

#[test]
fn devnet_runs_the_wallet_and_shows_balances_and_payments() {
    use std::io::BufRead as _;
    let dir = std::env::temp_dir().join(format!("tospool-payouts-devnet-{}", std::process::id()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args([
            "devnet",
            "--stratum",
            "127.0.0.1:0",
            "--node-rpc",
            "127.0.0.1:0",
            "--wallet-rpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ])
        .args(["--demo-miners", "1", "--seconds", "11", "--data-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> =
        std::io::BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success(), "{lines:?}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(lines.iter().any(|l| l.contains("wallet http://127.0.0.1:")), "{lines:?}");
    let status = lines.iter().rev().find(|l| l.contains("shares accepted")).expect("a status line");
    assert!(
        status.contains("owed ") && status.contains("pending ") && status.contains(" payments"),
        "{status}"
    );
    // The pool's wallet earns its blocks on the simulated node.
    let wallet: f64 =
        status.rsplit("wallet ").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let blocks: u64 =
        status.split("accepted by node ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(blocks == 0 || wallet > 0.0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_runs_the_payer_inside_the_pool() {
    on_both(|tdb| async move {
        let devnet = Devnet::start().await;
        devnet.node.fund(&pool_address(), 100 * COIN);
        let db = tdb.connect().await;
        let amounts = [2 * COIN, 3 * COIN];
        credit_all(&db, &amounts).await;
        let mut cfg = tos_pool::devnet::devnet_config(
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.1:1".parse().unwrap(),
            "cpu",
        );
        cfg.node.urls = vec![devnet.node_url.clone()];
        cfg.verifier.cpu_threads = Some(1);
        (cfg.payouts, cfg.wallet) = tos_pool::devnet::devnet_payouts(devnet.wallet_url[7..].parse().unwrap());
        cfg.payouts.confirm_every_secs = 1;
        let cfg = cfg.check().unwrap();
        let ledger = tos_pool::ledger::Ledger::open(&tos_pool::ledger::LedgerConfig {
            url: tdb.url.clone(),
            spool_dir: tdb.dir.join("spool"),
            instance_id: 0,
        })
        .await
        .unwrap();
        let pool = tos_pool::pool::Pool::start(&cfg, ledger).await.expect("the pool starts");
        // The network makes a block every 50 ms.
        let node = devnet.node.clone();
        let blocks = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                node.advance();
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while totals(&db).await.2 < 5 * COIN {
            assert!(tokio::time::Instant::now() < deadline, "paid within a minute: {:?}", batches(&db).await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        blocks.abort();
        pool.shutdown().await;
        assert_settled(&db, &devnet, 5 * COIN).await;
    })
    .await;
}

#[test]
fn payout_settings_are_checked_and_secrets_stay_out_of_the_config() {
    let pool = pool_address();
    let check = |extra: &str| {
        let text = format!("[pool]\naddress = \"{pool}\"\nnetwork = \"devnet\"\n{extra}");
        match toml::from_str::<tos_pool::config::Config>(&text) {
            Ok(c) => c.check().map(|_| ()).map_err(|e| format!("{e:#}")),
            Err(e) => Err(e.to_string()),
        }
    };
    assert_eq!(check(""), Ok(()), "payouts are off by default");
    let c = tos_pool::config::Config::load(&{
        let p = std::env::temp_dir().join(format!("tospool-payouts-cfg-{}.toml", std::process::id()));
        std::fs::write(&p, format!("[pool]\naddress = \"{pool}\"\nnetwork = \"devnet\"\n[payouts]\nthreshold = \"0.25\"\nmax_per_payment = \"12.5\"\n")).unwrap();
        p
    })
    .unwrap();
    assert_eq!(c.payouts.policy.default_threshold(), COIN / 4, "decimal TOS, exactly");
    assert_eq!(c.payouts.policy.max_per_payment(), Some(25 * COIN / 2));
    let err = check("[payouts]\nenabled = true\n").unwrap_err();
    assert!(err.contains("wallet.url"), "{err}");
    let err = check("[wallet]\nurl = \"http://pool:hunter2@127.0.0.1:8081\"\n").unwrap_err();
    assert!(err.contains("credentials_env") && !err.contains("hunter2"), "{err}");
    let err = check("[wallet]\nurl = \"http://w\"\ncredentials_env = \"A\"\ncredentials_file = \"/f\"\n")
        .unwrap_err();
    assert!(err.contains("only one of credentials_env, credentials_file"), "{err}");
    for (bad, key) in [
        ("threshold = \"0.000000001\"", "payouts.threshold"),
        ("threshold = \"1,5\"", "payouts.threshold"),
        ("tx_fee = \"miner\"", "payouts.tx_fee"),
        ("max_recipients = 501", "recipients per transaction"),
        ("tx_fee = \"recipients\"\nthreshold = \"0.00035\"", "must exceed one transfer's fee"),
    ] {
        let err = check(&format!("[payouts]\n{bad}\n")).unwrap_err();
        assert!(err.contains(key), "{bad}: {err}");
    }
    let err = check("[wallet]\nurl = \"x\"\npassword = \"p\"\n").unwrap_err();
    assert!(err.contains("password"), "no password key exists: {err}");
}

#[tokio::test]
async fn transitions_are_compare_and_set_so_a_batch_is_never_refunded_or_built_twice() {
    on_both(|tdb| async move {
        let db = tdb.connect().await;
        let ids = credit_all(&db, &[2 * COIN, 3 * COIN]).await;
        let balances = payout_store::payable_balances(&db).await.unwrap();
        let plan = pool_core::payout::plan_payouts(
            &balances,
            pool_core::address::Network::Devnet,
            u64::MAX,
            &pool_core::payout::PayoutPolicy::default(),
        );
        let id = payout_store::record_intent(&db, &plan.batches[0], 0).await.unwrap();
        assert_eq!(totals(&db).await, (0, 5 * COIN, 0));
        // One leader rolls the intent back; another, late, tries to act on it.
        assert!(payout_store::fail(&db, id, &[BatchStatus::Intent], "test").await.unwrap());
        assert!(
            !payout_store::fail(&db, id, &[BatchStatus::Intent], "again").await.unwrap(),
            "refunded once"
        );
        let built = tos_pool::wallet::BuiltTransaction { hash: "ab".repeat(32), hex: "00".into() };
        assert!(
            !payout_store::record_built(&db, id, &built).await.unwrap(),
            "a rolled-back intent is never built"
        );
        assert!(!payout_store::record_submitted(&db, id).await.unwrap());
        assert!(!payout_store::confirm(&db, id, "cd", 1).await.unwrap(), "nor paid");
        assert_eq!(totals(&db).await, (5 * COIN, 0, 0), "the money came back exactly once");
        assert_eq!(futures_paid(&db, &ids).await, [0, 0]);
        // A second intent for the same money cannot overdraw: the whole transaction is refused.
        let id2 = payout_store::record_intent(&db, &plan.batches[0], 0).await.unwrap();
        assert!(payout_store::record_intent(&db, &plan.batches[0], 0).await.is_err(), "balance CHECK");
        assert_eq!(totals(&db).await, (0, 5 * COIN, 0));
        assert_eq!(
            payout_store::open_batches(&db).await.unwrap().iter().map(|b| b.id).collect::<Vec<_>>(),
            [id2]
        );
    })
    .await;
}
