//! The payer: a leader singleton that pays balances through the wallet and never pays twice.
//!
//! ## The state machine of a payout batch (one transaction of ≤ 500 transfers)
//!
//! ```text
//!          plan_payouts: wallet online, its balance, per-miner thresholds
//!                │
//!                │ ONE database transaction: batch + payments + balance → pending (audited)
//!                ▼
//!          ┌───────────┐  the build failed, or found so at start
//!          │  intent   │─ (no hash: nothing can have been broadcast) ─────────────────┐
//!          └───────────┘                                                              │
//!                │ build_transaction(broadcast: false) → hash + hex stored            │
//!                ▼                                                                    │
//!          ┌───────────┐  every node refuses this hex for good, none knows it,        │
//!          │   built   │─ and the topoheight of that refusal is now stable ────────┐  │
//!          └───────────┘                                                           │  │
//!                │ a node took the hex                                             │  │
//!                ▼                                                                 ▼  ▼
//!          ┌───────────┐  unknown to every node:                              ┌────────────┐
//!          │ submitted │◀─ the SAME hex again (never rebuilt) ─┐              │   failed   │
//!          └───────────┘───────────────────────────────────────┘              └────────────┘
//!                │   └─ (the same refusal rule as built) ─────────────────────────▶ ▲
//!                │ executed in a block at or below the stable topoheight     pending → balance
//!                ▼                                                              (audited)
//!          ┌───────────┐
//!          │ confirmed │  pending → paid (audited)
//!          └───────────┘
//! ```
//!
//! ## Rules
//! * **Intent first.** The debit (`balance → pending`) and the payment rows are committed before
//!   the wallet is asked for anything; the transaction is built with `broadcast: false` and its
//!   hash and hex are committed before any node sees it. Each failpoint below sits right after
//!   one of these steps, and the crash tests abort the process at every one of them.
//! * **One transaction per batch, forever.** A built batch is only ever resubmitted with the
//!   **same hex** — never rebuilt — so it can execute at most once (its nonce).
//! * **Every run starts by reconciling** each batch that is not final against the chain, oldest
//!   first, never blindly resending:
//!   * `intent` (no hash): nothing can have been broadcast → rolled back (`failed`);
//!   * `built` / `submitted`: the hash is looked up on every node —
//!     executed in a stable block → `confirmed`; executed, not yet stable → wait (recorded);
//!     in a mempool → wait (`submitted`); unknown → the same hex is submitted again.
//! * **When a built transaction is declared failed** — the only way its money comes back: every
//!   node refuses that exact hex *for good* (its nonce is used by another transaction, or the hex
//!   is unreadable: [`Submission::RefusedForGood`]), no node knows it (all answered), and the
//!   stable topoheight has reached the topoheight of the first such refusal — so whatever took its
//!   nonce is final and it can never execute. Anything less certain (a node silent, "insufficient
//!   funds", an unknown message) keeps the money pending and the batch is resubmitted each run; past
//!   `stuck_after` it is logged as an error every run for the operator.
//! * **New batches only when nothing is in flight** (every open batch executed, awaiting stability),
//!   at most every `interval` (counted from the newest batch in the database, so restarts and new
//!   leaders do not pay early), and only while the wallet is online. A batch whose build fails or
//!   that no node takes ends the round: the next batch would reuse its nonce.
//! * **Compare-and-set transitions** ([`payout_store`]): a batch moves only from the state the
//!   payer saw, so a takeover by another leader in the middle of a run cannot act twice.
//! * Planning is `pool_core::payout::plan_payouts`: per-miner thresholds (`miners.payout_threshold`,
//!   else the configured default), ≤ `max_recipients` per batch, the fee policy, `max_per_payment`, a
//!   bad address skipped (logged) without blocking anyone, what the wallet cannot cover deferred.
//!
//! Failpoints (`TOS_POOL_FAILPOINT`): `payout:after_intent` (intent committed, nothing built),
//! `payout:built_unrecorded` (the wallet answered, its hash not stored), `payout:after_build`
//! (built committed, not submitted), `payout:after_submit` (a node took the hex, `submitted` not
//! recorded), `payout:after_confirm` (confirmation committed).

use super::Ledger;
use super::db::Db;
use super::leader::LeaderTask;
use super::payout_store::{self, BatchRow, BatchStatus};
use crate::config::Payouts;
use crate::events::{EventBus, PoolEvent};
use crate::failpoint;
use crate::log_limit::clip;
use crate::node::Upstreams;
use crate::node::transactions::{Submission, TxStatus};
use crate::wallet::{Transfer, WalletClient};
use anyhow::Context as _;
use futures::future::BoxFuture;
use pool_core::address::{Address, Network};
use pool_core::payout::{PayoutPlan, PayoutPolicy, Tos, plan_payouts};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a run may start a new round of payments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// When the interval since the newest batch has passed (the leader's runs).
    WhenDue,
    /// Now, if nothing is in flight (one-off passes: tests, `payout-pass`).
    Now,
    /// Never: only reconcile the batches in flight.
    Never,
}

/// What one run did, by batch id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// New batches (intent written) this run.
    pub created: Vec<i64>,
    /// Batches a node took this run (first submission or the same hex again).
    pub submitted: Vec<i64>,
    pub confirmed: Vec<i64>,
    pub failed: Vec<i64>,
    /// Batches still in flight after the run.
    pub in_flight: Vec<i64>,
    /// Eligible balances the plan skipped (bad address, …) and payments deferred (wallet).
    pub skipped: usize,
    pub deferred: usize,
    /// Why no new round started, when one could have.
    pub waited: Option<String>,
    /// Of `submitted`, the batches sent again (their `payment_sent` event went out the first time).
    pub resubmitted: Vec<i64>,
}

impl PassReport {
    fn is_quiet(&self) -> bool {
        self.created.is_empty()
            && self.submitted.is_empty()
            && self.confirmed.is_empty()
            && self.failed.is_empty()
    }
}

/// A batch row to the event of its move.
type ToEvent = fn(BatchRow) -> PoolEvent;

/// The payer.
pub struct Payer {
    db: Db,
    instance_id: u8,
    upstreams: Upstreams,
    wallet: WalletClient,
    network: Network,
    pool_address: Address,
    settings: Payouts,
    wallet_address_checked: AtomicBool,
    /// `payment_sent` / `payment_confirmed` / `payment_failed` go here after each run.
    events: Option<EventBus>,
}

/// The plan of the next round from the stored balances (step a, and the dry run).
pub async fn plan_round(
    db: &Db,
    network: Network,
    wallet_available: u64,
    policy: &PayoutPolicy,
) -> anyhow::Result<PayoutPlan<i64>> {
    let balances = payout_store::payable_balances(db).await.context("reading the balances")?;
    Ok(plan_payouts(&balances, network, wallet_available, policy))
}

/// The wallet as a dry run sees it (it is only asked `is_online` and `get_balance`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalletView {
    /// No `wallet.url`: planned as if it held enough.
    NotConfigured,
    Answered {
        url: String,
        online: bool,
        balance: u64,
    },
    /// Planned as if it held enough.
    Unreachable {
        url: String,
        error: String,
    },
}

impl WalletView {
    /// What the plan may spend.
    pub fn available(&self) -> u64 {
        match self {
            WalletView::Answered { balance, .. } => *balance,
            _ => u64::MAX,
        }
    }
}

/// Asks the configured wallet what it holds (for `payouts --dry-run` and the admin API).
pub async fn wallet_view(cfg: &crate::config::Checked) -> anyhow::Result<WalletView> {
    if cfg.raw.wallet.url.is_none() {
        return Ok(WalletView::NotConfigured);
    }
    let wallet = wallet_client(cfg)?;
    let url = wallet.url.to_string();
    Ok(match (wallet.is_online().await, wallet.get_balance().await) {
        (Ok(online), Ok(balance)) => WalletView::Answered { url, online, balance },
        (Err(e), _) | (_, Err(e)) => WalletView::Unreachable { url, error: e.to_string() },
    })
}

/// The wallet client the configuration describes (credentials read now).
pub fn wallet_client(cfg: &crate::config::Checked) -> anyhow::Result<WalletClient> {
    let w = &cfg.raw.wallet;
    let url = w
        .url
        .as_deref()
        .context("wallet.url is not set (the TOS wallet's RPC, e.g. http://127.0.0.1:8081)")?;
    let credentials = w.resolve_credentials()?;
    let tls = crate::node::client::tls_config(w.ca_file.as_deref())?;
    Ok(WalletClient::new(url, credentials, Duration::from_millis(w.timeout_ms), tls))
}

impl Payer {
    pub fn new(
        ledger: &Ledger,
        upstreams: Upstreams,
        wallet: WalletClient,
        network: Network,
        pool_address: Address,
        settings: Payouts,
    ) -> Payer {
        Payer {
            db: ledger.db().clone(),
            instance_id: ledger.instance_id(),
            upstreams,
            wallet,
            network,
            pool_address,
            settings,
            wallet_address_checked: AtomicBool::new(false),
            events: None,
        }
    }

    /// Publishes what each run did on `bus`.
    pub fn with_events(mut self, bus: EventBus) -> Self {
        self.events = Some(bus);
        self
    }

    /// One event per batch the run moved (read back from the database: the report holds ids).
    async fn publish(&self, report: &PassReport) {
        let Some(bus) = &self.events else { return };
        let sent = |b: BatchRow| PoolEvent::PaymentSent {
            tx_hash: b.tx_hash.unwrap_or_default(),
            recipients: b.recipients,
            total: b.total.to_string(),
        };
        let confirmed = |b: BatchRow| PoolEvent::PaymentConfirmed { tx_hash: b.tx_hash.unwrap_or_default() };
        let failed = |b: BatchRow| PoolEvent::PaymentFailed {
            reason: b.error.unwrap_or_default(),
            recipients: b.recipients,
            total: b.total.to_string(),
        };
        let first_sent: Vec<i64> =
            report.submitted.iter().copied().filter(|id| !report.resubmitted.contains(id)).collect();
        let moved: [(&Vec<i64>, ToEvent); 3] =
            [(&first_sent, sent), (&report.confirmed, confirmed), (&report.failed, failed)];
        for (ids, event) in moved {
            for &id in ids {
                match payout_store::batch(&self.db, id).await {
                    Ok(Some(b)) => bus.publish(event(b)),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(batch = id, error = %e, "cannot read a payout batch back for its event")
                    }
                }
            }
        }
    }

    /// The payer of a checked configuration (reads the wallet credentials).
    pub fn from_config(
        ledger: &Ledger,
        upstreams: Upstreams,
        cfg: &crate::config::Checked,
    ) -> anyhow::Result<Payer> {
        let wallet = wallet_client(cfg)?;
        Ok(Payer::new(ledger, upstreams, wallet, cfg.network, cfg.address.clone(), cfg.payouts.clone()))
    }

    /// One run: reconcile every open batch, then maybe a new round.
    pub async fn pass(&self, round: Round) -> anyhow::Result<PassReport> {
        let mut report = PassReport::default();
        let done = self.pass_steps(round, &mut report).await;
        // Every transition committed before a failure is announced too.
        self.publish(&report).await;
        done.map(|()| report)
    }

    async fn pass_steps(&self, round: Round, report: &mut PassReport) -> anyhow::Result<()> {
        let open = payout_store::open_batches(&self.db).await.context("reading the open payout batches")?;
        for batch in open {
            self.reconcile(batch, report).await?;
        }
        let open = payout_store::open_batches(&self.db).await.context("reading the open payout batches")?;
        if let Some(b) = open.iter().find(|b| b.executed_block.is_none()) {
            report.waited = Some(format!("batch {} is {} and not executed yet", b.id, b.status));
        } else if round != Round::Never {
            self.round(round, report).await?;
        }
        report.in_flight = payout_store::open_batches(&self.db).await?.iter().map(|b| b.id).collect();
        Ok(())
    }

    /// Brings one open batch as far as the chain allows.
    async fn reconcile(&self, batch: BatchRow, report: &mut PassReport) -> anyhow::Result<()> {
        let age = Duration::from_millis((crate::clock::now_ms() as i64 - batch.created_ms).max(0) as u64);
        if age > self.settings.stuck_after {
            tracing::error!(
                batch = batch.id, status = %batch.status, tx = batch.tx_hash.as_deref().unwrap_or("-"),
                age_min = age.as_secs() / 60, last_error = batch.error.as_deref().unwrap_or("-"),
                "PAYOUT BATCH NOT CONFIRMED: its money stays pending and the same transaction is resubmitted each run (it is never rebuilt); check the wallet and the daemon"
            );
        }
        match batch.status {
            BatchStatus::Intent => {
                let reason = "no transaction was built for this intent (the payer stopped, or the wallet failed, before its hash was stored): nothing can have been broadcast";
                if payout_store::fail(&self.db, batch.id, &[BatchStatus::Intent], reason).await? {
                    tracing::warn!(batch = batch.id, total = %Tos(batch.total), "payout intent rolled back: {reason}; the amounts are back on the balances");
                    report.failed.push(batch.id);
                }
                Ok(())
            }
            BatchStatus::Built | BatchStatus::Submitted => self.follow(batch, report).await,
            BatchStatus::Confirmed | BatchStatus::Failed => Ok(()),
        }
    }

    /// A built or submitted batch: look its hash up; confirm, wait, or submit the same hex again.
    async fn follow(&self, batch: BatchRow, report: &mut PassReport) -> anyhow::Result<()> {
        let (Some(hash), Some(hex)) = (batch.tx_hash.as_deref(), batch.tx_hex.as_deref()) else {
            tracing::error!(batch = batch.id, status = %batch.status, "a payout batch past intent has no transaction stored: left as it is for the operator");
            return Ok(());
        };
        let status = match self.upstreams.transaction_status(hash).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(batch = batch.id, tx = hash, error = %e, "cannot look the payout transaction up (no node answers): next run");
                return Ok(());
            }
        };
        match status {
            TxStatus::Executed { block, topoheight, stable: true } => {
                if payout_store::confirm(&self.db, batch.id, &block, topoheight).await? {
                    failpoint::hit("payout:after_confirm");
                    tracing::info!(batch = batch.id, tx = hash, block, topoheight, recipients = batch.recipients,
                        total = %Tos(batch.total), fee = %Tos(batch.tx_fee), "payout confirmed: executed in a stable block");
                    report.confirmed.push(batch.id);
                }
            }
            TxStatus::Executed { block, topoheight, stable: false } => {
                if batch.executed_block.as_deref() != Some(block.as_str()) {
                    payout_store::record_executed(&self.db, batch.id, &block, topoheight).await?;
                    tracing::info!(
                        batch = batch.id,
                        tx = hash,
                        block,
                        topoheight,
                        "payout executed; confirmed once its block is stable"
                    );
                }
            }
            TxStatus::InMempool => {
                let recorded = batch.status == BatchStatus::Built || batch.refused_topoheight.is_some();
                if recorded
                    && payout_store::record_submitted(&self.db, batch.id).await?
                    && batch.status == BatchStatus::Built
                {
                    report.submitted.push(batch.id);
                }
            }
            TxStatus::Unknown { all_answered } => {
                self.resubmit(&batch, hash, hex, all_answered, report).await?
            }
        }
        Ok(())
    }

    /// No node knows the transaction: the same hex again; or, on proof it can never execute, failed.
    async fn resubmit(
        &self,
        batch: &BatchRow,
        hash: &str,
        hex: &str,
        all_answered: bool,
        report: &mut PassReport,
    ) -> anyhow::Result<()> {
        if batch.executed_block.is_some() {
            tracing::warn!(
                batch = batch.id,
                tx = hash,
                "the payout's executing block left the chain (reorganised): submitting the same transaction again"
            );
        }
        match self.upstreams.submit_transaction(hex).await {
            s if s.is_taken() => {
                if payout_store::record_submitted(&self.db, batch.id).await? {
                    report.submitted.push(batch.id);
                    report.resubmitted.push(batch.id);
                    tracing::info!(
                        batch = batch.id,
                        tx = hash,
                        attempt = batch.submit_attempts + 1,
                        "payout transaction submitted again (the same hex)"
                    );
                }
            }
            Submission::RefusedForGood(why) => {
                let why = bounded(&why);
                match batch.refused_topoheight {
                    None => match self.upstreams.topoheight().await {
                        Some(topo) => {
                            payout_store::record_refusal(&self.db, batch.id, topo, &why).await?;
                            tracing::warn!(batch = batch.id, tx = hash, refusal = %why, topoheight = topo,
                                "every node refuses the payout transaction for good and none knows it: it is declared failed (money back) once this topoheight is stable");
                        }
                        None => payout_store::record_attempt(&self.db, batch.id, &why).await?,
                    },
                    Some(refused_at) => {
                        let stable = self.upstreams.lowest_stable_topoheight().await;
                        if all_answered && stable.is_some_and(|s| s >= refused_at) {
                            let reason = format!(
                                "every node refuses this exact transaction for good ({why}) and none knows it, since topoheight {refused_at}, now stable: it can never execute"
                            );
                            let from = [BatchStatus::Built, BatchStatus::Submitted];
                            if payout_store::fail(&self.db, batch.id, &from, &reason).await? {
                                tracing::error!(batch = batch.id, tx = hash, total = %Tos(batch.total), "payout failed: {reason}; the amounts are back on the balances and are paid in a later round");
                                report.failed.push(batch.id);
                            }
                        } else {
                            payout_store::record_refusal(&self.db, batch.id, refused_at, &why).await?;
                        }
                    }
                }
            }
            Submission::NotNow(why) => {
                payout_store::record_attempt(&self.db, batch.id, &bounded(&why)).await?;
                tracing::warn!(batch = batch.id, tx = hash, reason = %bounded(&why), "no node takes the payout transaction now: the same hex is submitted again next run");
            }
            Submission::Accepted | Submission::AlreadyKnown(_) => unreachable!("taken, above"),
        }
        Ok(())
    }

    /// A new round, if due and the wallet can pay.
    async fn round(&self, round: Round, report: &mut PassReport) -> anyhow::Result<()> {
        if round == Round::WhenDue
            && let Some(newest) = payout_store::newest_batch_ms(&self.db).await?
        {
            let since = (crate::clock::now_ms() as i64 - newest).max(0) as u64;
            if Duration::from_millis(since) < self.settings.interval {
                return Ok(());
            }
        }
        match self.wallet.is_online().await {
            Ok(true) => {}
            Ok(false) => {
                report.waited = Some("the wallet is offline".into());
                tracing::warn!(wallet = %self.wallet.url, "the wallet is not online (not connected to its daemon): payouts wait");
                return Ok(());
            }
            Err(e) => {
                report.waited = Some(format!("the wallet is unreachable: {e}"));
                tracing::warn!(error = %e, "the wallet is unreachable: payouts wait");
                return Ok(());
            }
        }
        self.check_wallet_address().await;
        let available = match self.wallet.get_balance().await {
            Ok(b) => b,
            Err(e) => {
                report.waited = Some(format!("the wallet balance is unknown: {e}"));
                tracing::warn!(error = %e, "cannot read the wallet balance: payouts wait");
                return Ok(());
            }
        };
        let plan = plan_round(&self.db, self.network, available, &self.settings.policy).await?;
        report.skipped = plan.skipped.len();
        report.deferred = plan.deferred.len();
        for s in &plan.skipped {
            tracing::warn!(miner = s.miner, address = %clip(&s.address), balance = %Tos(s.balance), reason = %s.reason,
                "balance not paid: fix the miner's payout address (the others are paid)");
        }
        if !plan.deferred.is_empty() {
            let owed: u128 = plan.deferred.iter().map(|d| d.amount as u128).sum();
            tracing::warn!(payments = plan.deferred.len(), owed = %pool_core::payout::format_tos_i128(owed as i128),
                wallet = %Tos(available), "the wallet cannot cover every payment: the rest waits for the next round (largest first)");
        }
        for batch in &plan.batches {
            let id = payout_store::record_intent(&self.db, batch, self.instance_id)
                .await
                .context("writing a payout intent (nothing was sent)")?;
            report.created.push(id);
            failpoint::hit("payout:after_intent");
            let transfers: Vec<Transfer> = batch
                .payments
                .iter()
                .map(|p| Transfer { destination: p.address.clone(), amount: p.send })
                .collect();
            let built = match self.wallet.build_transaction(&transfers, batch.tx_fee).await {
                Ok(b) => b,
                Err(e) => {
                    let reason = format!(
                        "the wallet did not build the transaction: {e} (broadcast: false, so nothing was sent)"
                    );
                    if payout_store::fail(&self.db, id, &[BatchStatus::Intent], &reason).await? {
                        report.failed.push(id);
                    }
                    tracing::error!(
                        batch = id,
                        "payout not built: {reason}; the amounts are back on the balances, the next round tries again"
                    );
                    return Ok(());
                }
            };
            failpoint::hit("payout:built_unrecorded");
            match payout_store::record_built(&self.db, id, &built).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(
                        batch = id,
                        tx = built.hash,
                        "the payout intent was rolled back by another leader while the wallet built it: this transaction is dropped, never submitted"
                    );
                    return Ok(());
                }
                Err(e) if is_unique_violation(&e) => {
                    let reason = format!(
                        "the wallet returned transaction {} that another batch already holds",
                        built.hash
                    );
                    if payout_store::fail(&self.db, id, &[BatchStatus::Intent], &reason).await? {
                        report.failed.push(id);
                    }
                    tracing::error!(batch = id, "{reason}: this batch is rolled back");
                    return Ok(());
                }
                Err(e) => {
                    return Err(e).context("storing the built payout transaction (it was not submitted)");
                }
            }
            failpoint::hit("payout:after_build");
            tracing::info!(batch = id, tx = built.hash, recipients = batch.payments.len(),
                total = %pool_core::payout::format_tos_i128(batch.sent() as i128), fee = %Tos(batch.tx_fee), "payout built");
            match self.upstreams.submit_transaction(&built.hex).await {
                s if s.is_taken() => {
                    failpoint::hit("payout:after_submit");
                    payout_store::record_submitted(&self.db, id).await?;
                    report.submitted.push(id);
                }
                Submission::RefusedForGood(why) | Submission::NotNow(why) => {
                    payout_store::record_attempt(&self.db, id, &bounded(&why)).await?;
                    tracing::warn!(batch = id, tx = built.hash, reason = %bounded(&why), "no node took the new payout transaction: the same hex is submitted again next run; no further batch this round");
                    return Ok(());
                }
                Submission::Accepted | Submission::AlreadyKnown(_) => unreachable!("taken, above"),
            }
        }
        Ok(())
    }

    async fn check_wallet_address(&self) {
        if self.wallet_address_checked.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(a) = self.wallet.get_address().await {
            self.wallet_address_checked.store(true, Ordering::Relaxed);
            if a != self.pool_address.to_string() {
                tracing::warn!(wallet_address = %clip(&a), pool_address = %self.pool_address,
                    "the wallet pays from another address than pool.address (where the blocks pay): keep it funded");
            }
        }
    }
}

/// A node's words, kept whole but bounded (they are stored and logged).
fn bounded(s: &str) -> String {
    const MAX: usize = 500;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl LeaderTask for Payer {
    fn name(&self) -> &'static str {
        "payer"
    }

    fn every(&self) -> Duration {
        self.settings.confirm_every
    }

    fn run(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let report = self.pass(Round::WhenDue).await?;
            if !report.is_quiet() {
                tracing::info!(created = ?report.created, submitted = ?report.submitted, confirmed = ?report.confirmed,
                    failed = ?report.failed, in_flight = ?report.in_flight, skipped = report.skipped, deferred = report.deferred,
                    "payer run");
            }
            Ok(())
        })
    }
}

/// The payer as a leader task, when `[payouts] enabled`.
pub fn task(
    ledger: &Arc<Ledger>,
    upstreams: &Upstreams,
    cfg: &crate::config::Checked,
    bus: &EventBus,
) -> anyhow::Result<Option<Arc<dyn LeaderTask>>> {
    if !cfg.payouts.enabled {
        return Ok(None);
    }
    let payer = Payer::from_config(ledger, upstreams.clone(), cfg)?.with_events(bus.clone());
    tracing::info!(wallet = %payer.wallet.url, threshold = %Tos(cfg.payouts.policy.default_threshold()),
        max_recipients = cfg.payouts.policy.max_recipients(), tx_fee = %cfg.payouts.policy.tx_fee(),
        interval_s = cfg.payouts.interval.as_secs(), "payouts enabled (run by the leader)");
    Ok(Some(Arc::new(payer)))
}
