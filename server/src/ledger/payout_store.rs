//! The payer's rows: `payout_batches` and `payments`, and every transition between the states of
//! the payout state machine (see [`super::payer`]). Each transition is one transaction, and each
//! is a **compare-and-set** on the batch's status: it happens only if the batch is still in the
//! state the caller saw, so two leaders racing over one batch (a takeover while the old one is
//! still running) can never both act on it — e.g. a batch rolled back by one is never built or
//! submitted by the other.
//!
//! Money moves only through [`accounts::apply`] (with its audit rows):
//! * intent: `balance → pending` (reason `payout_intent`), by each payment's `debit`;
//! * confirmed: `pending −debit, paid +amount` (`payout_confirmed`); with the recipients paying the
//!   fee, `debit − amount` is their fee share, gone to the network; a fee the pool pays on top is
//!   added to the pool account `payout_tx_fees`;
//! * failed: `pending → balance` (`payout_failed`), by each payment's `debit`.

use super::accounts::{self, BalanceChange, DbTx};
use super::db::{Db, to_i64, to_u64};
use crate::on_db;
use crate::wallet::BuiltTransaction;
use pool_core::payout::{Batch, PayableBalance};
use sqlx::Row;

/// Pool account for the transaction fees the pool paid on top of the payments.
pub const POOL_TX_FEES: &str = "payout_tx_fees";

/// A batch's state (the `payout_batches.status` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchStatus {
    /// Balances debited and payments written; no transaction built yet.
    Intent,
    /// Built and signed by the wallet (hash and hex stored), not yet taken by a node.
    Built,
    /// Taken by a node (mempool or chain); waiting for execution in a stable block.
    Submitted,
    /// Executed in a stable block: paid.
    Confirmed,
    /// Can never execute: the money went back to the balances.
    Failed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Intent => "intent",
            BatchStatus::Built => "built",
            BatchStatus::Submitted => "submitted",
            BatchStatus::Confirmed => "confirmed",
            BatchStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<BatchStatus> {
        Some(match s {
            "intent" => BatchStatus::Intent,
            "built" => BatchStatus::Built,
            "submitted" => BatchStatus::Submitted,
            "confirmed" => BatchStatus::Confirmed,
            "failed" => BatchStatus::Failed,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, BatchStatus::Confirmed | BatchStatus::Failed)
    }
}

impl std::fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One `payout_batches` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRow {
    pub id: i64,
    pub status: BatchStatus,
    pub tx_hash: Option<String>,
    pub tx_hex: Option<String>,
    pub tx_fee: u64,
    pub total: u64,
    pub recipients: u32,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub error: Option<String>,
    pub submit_attempts: u32,
    pub submitted_ms: Option<i64>,
    pub executed_block: Option<String>,
    pub executed_topoheight: Option<u64>,
    pub refused_topoheight: Option<u64>,
    pub refusal: Option<String>,
}

/// One `payments` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: i64,
    pub batch_id: i64,
    pub miner_id: i64,
    pub address: String,
    /// Taken off the balance: `amount + fee_share`.
    pub debit: u64,
    /// Sent to the address.
    pub amount: u64,
    pub fee_share: u64,
    pub status: String,
}

macro_rules! batch_columns {
    () => {
        "id, status, tx_hash, tx_hex, tx_fee, total, recipients, created_ms, updated_ms, error, \
         submit_attempts, submitted_ms, executed_block, executed_topoheight, refused_topoheight, refusal"
    };
}

macro_rules! batch_row {
    ($r:expr) => {{
        let r = $r;
        let status: String = r.try_get("status")?;
        BatchRow {
            id: r.try_get("id")?,
            status: BatchStatus::parse(&status).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown payout batch status {status:?}").into())
            })?,
            tx_hash: r.try_get("tx_hash")?,
            tx_hex: r.try_get("tx_hex")?,
            tx_fee: to_u64(r.try_get("tx_fee")?),
            total: to_u64(r.try_get("total")?),
            recipients: r.try_get::<i32, _>("recipients")? as u32,
            created_ms: r.try_get("created_ms")?,
            updated_ms: r.try_get("updated_ms")?,
            error: r.try_get("error")?,
            submit_attempts: r.try_get::<i32, _>("submit_attempts")? as u32,
            submitted_ms: r.try_get("submitted_ms")?,
            executed_block: r.try_get("executed_block")?,
            executed_topoheight: r.try_get::<Option<i64>, _>("executed_topoheight")?.map(to_u64),
            refused_topoheight: r.try_get::<Option<i64>, _>("refused_topoheight")?.map(to_u64),
            refusal: r.try_get("refusal")?,
        }
    }};
}

/// Every balance above zero, with its address and the miner's own threshold.
pub async fn payable_balances(db: &Db) -> Result<Vec<PayableBalance<i64>>, sqlx::Error> {
    let q = "SELECT m.id, m.address, b.balance, m.payout_threshold FROM balances b JOIN miners m ON m.id = b.miner_id \
             WHERE b.balance > 0 ORDER BY m.id";
    let rows: Vec<(i64, String, i64, Option<i64>)> = on_db!(db, |p| sqlx::query_as(q).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(miner, address, balance, threshold)| PayableBalance {
            miner,
            address,
            balance: to_u64(balance),
            threshold: threshold.map(to_u64),
        })
        .collect())
}

/// When the newest batch was created (the payout interval counts from it).
pub async fn newest_batch_ms(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    let q = "SELECT MAX(created_ms) FROM payout_batches";
    on_db!(db, |p| sqlx::query_scalar(q).fetch_one(p).await)
}

/// Every batch not yet confirmed or failed, oldest first.
pub async fn open_batches(db: &Db) -> Result<Vec<BatchRow>, sqlx::Error> {
    let q = concat!(
        "SELECT ",
        batch_columns!(),
        " FROM payout_batches WHERE status IN ('intent', 'built', 'submitted') ORDER BY id"
    );
    on_db!(db, |p| {
        let rows = sqlx::query(q).fetch_all(p).await?;
        rows.iter().map(|r| Ok(batch_row!(r))).collect()
    })
}

/// Every batch, newest first (at most `limit`).
pub async fn recent_batches(db: &Db, limit: i64) -> Result<Vec<BatchRow>, sqlx::Error> {
    let q = concat!("SELECT ", batch_columns!(), " FROM payout_batches ORDER BY id DESC LIMIT $1");
    on_db!(db, |p| {
        let rows = sqlx::query(q).bind(limit).fetch_all(p).await?;
        rows.iter().map(|r| Ok(batch_row!(r))).collect()
    })
}

/// One batch.
pub async fn batch(db: &Db, id: i64) -> Result<Option<BatchRow>, sqlx::Error> {
    let q = concat!("SELECT ", batch_columns!(), " FROM payout_batches WHERE id = $1");
    on_db!(db, |p| {
        match sqlx::query(q).bind(id).fetch_optional(p).await? {
            Some(r) => Ok(Some(batch_row!(&r))),
            None => Ok(None),
        }
    })
}

/// A batch's payments, by miner id.
pub async fn payments_of(db: &Db, batch_id: i64) -> Result<Vec<PaymentRow>, sqlx::Error> {
    let q = "SELECT id, batch_id, miner_id, address, debit, amount, fee_share, status FROM payments \
             WHERE batch_id = $1 ORDER BY miner_id";
    /// id, batch_id, miner_id, address, debit, amount, fee_share, status
    type Columns = (i64, i64, i64, String, i64, i64, i64, String);
    let rows: Vec<Columns> = on_db!(db, |p| sqlx::query_as(q).bind(batch_id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, batch_id, miner_id, address, debit, amount, fee_share, status)| PaymentRow {
            id,
            batch_id,
            miner_id,
            address,
            debit: to_u64(debit),
            amount: to_u64(amount),
            fee_share: to_u64(fee_share),
            status,
        })
        .collect())
}

/// Step (b): in ONE transaction, the batch row (`intent`), its payments and the debits
/// `balance → pending` with their audit rows. Returns the batch id. Fails — writing nothing — if
/// any balance no longer covers its debit.
pub async fn record_intent(db: &Db, batch: &Batch<i64>, instance_id: u8) -> Result<i64, sqlx::Error> {
    let now = crate::clock::now_ms() as i64;
    let total = u64::try_from(batch.debited()).expect("a batch's debits fit in u64");
    let mut tx = DbTx::begin(db).await?;
    let id: i64 = crate::on_tx!(&mut tx, |conn| {
        sqlx::query_scalar(
            "INSERT INTO payout_batches (status, tx_fee, total, recipients, created_ms, updated_ms, instance_id) \
             VALUES ('intent', $1, $2, $3, $4, $4, $5) RETURNING id",
        )
        .bind(to_i64(batch.tx_fee))
        .bind(to_i64(total))
        .bind(batch.payments.len() as i32)
        .bind(now)
        .bind(i16::from(instance_id))
        .fetch_one(&mut *conn)
        .await?
    });
    for p in &batch.payments {
        crate::on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO payments (batch_id, miner_id, address, debit, amount, fee_share, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
            )
            .bind(id)
            .bind(p.miner)
            .bind(&p.address)
            .bind(to_i64(p.debit))
            .bind(to_i64(p.send))
            .bind(to_i64(p.fee_share))
            .execute(&mut *conn)
            .await?;
        });
    }
    let changes: Vec<BalanceChange> = batch
        .payments
        .iter()
        .map(|p| BalanceChange {
            miner_id: p.miner,
            reason: "payout_intent",
            d_balance: -to_i64(p.debit),
            d_pending: to_i64(p.debit),
            batch_id: Some(id),
            ..BalanceChange::default()
        })
        .collect();
    accounts::apply(&mut tx, &changes).await?;
    tx.commit().await?;
    Ok(id)
}

/// Runs `UPDATE payout_batches SET … WHERE id = $1 AND status IN (from)` in `tx`; whether it matched.
async fn cas(
    tx: &mut DbTx,
    id: i64,
    from: &[BatchStatus],
    set: &str,
    binds: CasBinds<'_>,
) -> Result<bool, sqlx::Error> {
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let q = format!("UPDATE payout_batches SET {set} WHERE id = $1 AND status IN ({})", from.join(", "));
    let now = crate::clock::now_ms() as i64;
    // Audited: `set` and the statuses are literals of this module; every value is bound.
    let affected = crate::on_tx!(tx, |conn| {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q.clone())).bind(id).bind(now);
        for s in binds.texts {
            query = query.bind(*s);
        }
        for n in binds.numbers {
            query = query.bind(*n);
        }
        query.execute(&mut *conn).await?.rows_affected()
    });
    Ok(affected == 1)
}

/// Extra parameters of a [`cas`] update: `$3…` are the texts, then the numbers (`$2` is now).
#[derive(Default)]
struct CasBinds<'a> {
    texts: &'a [Option<&'a str>],
    numbers: &'a [Option<i64>],
}

/// Step (c): `intent → built` with the transaction's hash and hex. `false`: the batch is no longer
/// an intent (another leader rolled it back) — the transaction must then never be submitted.
pub async fn record_built(db: &Db, id: i64, built: &BuiltTransaction) -> Result<bool, sqlx::Error> {
    let mut tx = DbTx::begin(db).await?;
    let ok = cas(
        &mut tx,
        id,
        &[BatchStatus::Intent],
        "status = 'built', tx_hash = $3, tx_hex = $4, updated_ms = $2",
        CasBinds { texts: &[Some(&built.hash), Some(&built.hex)], numbers: &[] },
    )
    .await?;
    tx.commit().await?;
    Ok(ok)
}

/// Step (d): a node took the transaction: `built → submitted` (a submitted batch stays so).
pub async fn record_submitted(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = DbTx::begin(db).await?;
    let ok = cas(
        &mut tx,
        id,
        &[BatchStatus::Built, BatchStatus::Submitted],
        "status = 'submitted', submit_attempts = submit_attempts + 1, submitted_ms = COALESCE(submitted_ms, $2), \
         updated_ms = $2, error = NULL, refused_topoheight = NULL, refusal = NULL",
        CasBinds::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(ok)
}

/// A submission no node took (now): counted, with the nodes' words. A refusal "for good" seen
/// before is forgotten (the bound starts again at the next one: only steady evidence fails a batch).
pub async fn record_attempt(db: &Db, id: i64, note: &str) -> Result<(), sqlx::Error> {
    let mut tx = DbTx::begin(db).await?;
    cas(
        &mut tx,
        id,
        &[BatchStatus::Built, BatchStatus::Submitted],
        "submit_attempts = submit_attempts + 1, error = $3, updated_ms = $2, refused_topoheight = NULL, refusal = NULL",
        CasBinds { texts: &[Some(note)], numbers: &[] },
    )
    .await?;
    tx.commit().await
}

/// The transaction was seen executed in `block` at `topoheight` (not necessarily stable yet).
pub async fn record_executed(db: &Db, id: i64, block: &str, topoheight: u64) -> Result<(), sqlx::Error> {
    let mut tx = DbTx::begin(db).await?;
    cas(
        &mut tx,
        id,
        &[BatchStatus::Built, BatchStatus::Submitted],
        "status = 'submitted', executed_block = $3, executed_topoheight = $4, submitted_ms = COALESCE(submitted_ms, $2), \
         updated_ms = $2, error = NULL, refused_topoheight = NULL, refusal = NULL",
        CasBinds { texts: &[Some(block)], numbers: &[Some(to_i64(topoheight))] },
    )
    .await?;
    tx.commit().await
}

/// The nodes refused the hex for good at `topoheight` while no block held the transaction. Only
/// the first observation is kept (the bound counts from it).
pub async fn record_refusal(db: &Db, id: i64, topoheight: u64, refusal: &str) -> Result<(), sqlx::Error> {
    let mut tx = DbTx::begin(db).await?;
    cas(
        &mut tx,
        id,
        &[BatchStatus::Built, BatchStatus::Submitted],
        "refused_topoheight = COALESCE(refused_topoheight, $4), refusal = $3, error = $3, \
         submit_attempts = submit_attempts + 1, updated_ms = $2",
        CasBinds { texts: &[Some(refusal)], numbers: &[Some(to_i64(topoheight))] },
    )
    .await?;
    tx.commit().await
}

/// Step (e): executed in a stable block — `pending → paid` for every payment, audited, the batch
/// `confirmed`, in one transaction. `false`: the batch was not in flight any more.
pub async fn confirm(db: &Db, id: i64, block: &str, topoheight: u64) -> Result<bool, sqlx::Error> {
    let payments = payments_of(db, id).await?;
    let Some(batch) = batch(db, id).await? else { return Ok(false) };
    let mut tx = DbTx::begin(db).await?;
    let ok = cas(
        &mut tx,
        id,
        &[BatchStatus::Built, BatchStatus::Submitted],
        "status = 'confirmed', executed_block = $3, executed_topoheight = $4, final_ms = $2, updated_ms = $2, \
         error = NULL, refused_topoheight = NULL, refusal = NULL",
        CasBinds { texts: &[Some(block)], numbers: &[Some(to_i64(topoheight))] },
    )
    .await?;
    if !ok {
        return Ok(false);
    }
    crate::on_tx!(&mut tx, |conn| {
        sqlx::query("UPDATE payments SET status = 'confirmed' WHERE batch_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    });
    let changes: Vec<BalanceChange> = payments
        .iter()
        .map(|p| BalanceChange {
            miner_id: p.miner_id,
            reason: "payout_confirmed",
            d_pending: -to_i64(p.debit),
            d_paid: to_i64(p.amount),
            batch_id: Some(id),
            note: (p.fee_share > 0).then(|| format!("tx {block}: fee share {}", p.fee_share)),
            ..BalanceChange::default()
        })
        .collect();
    accounts::apply(&mut tx, &changes).await?;
    let fee_shares: u64 = payments.iter().map(|p| p.fee_share).sum();
    let pool_paid = batch.tx_fee.saturating_sub(fee_shares);
    if pool_paid > 0 {
        accounts::pool_account(&mut tx, POOL_TX_FEES, to_i64(pool_paid)).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// A batch that can never execute: `pending → balance` for every payment, audited, the batch
/// `failed` with `reason`, in one transaction — only if it is still in one of `from`.
pub async fn fail(db: &Db, id: i64, from: &[BatchStatus], reason: &str) -> Result<bool, sqlx::Error> {
    let payments = payments_of(db, id).await?;
    let mut tx = DbTx::begin(db).await?;
    let ok = cas(
        &mut tx,
        id,
        from,
        "status = 'failed', error = $3, final_ms = $2, updated_ms = $2",
        CasBinds { texts: &[Some(reason)], numbers: &[] },
    )
    .await?;
    if !ok {
        return Ok(false);
    }
    crate::on_tx!(&mut tx, |conn| {
        sqlx::query("UPDATE payments SET status = 'failed' WHERE batch_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    });
    let changes: Vec<BalanceChange> = payments
        .iter()
        .map(|p| BalanceChange {
            miner_id: p.miner_id,
            reason: "payout_failed",
            d_balance: to_i64(p.debit),
            d_pending: -to_i64(p.debit),
            batch_id: Some(id),
            note: Some(reason.chars().take(500).collect()),
            ..BalanceChange::default()
        })
        .collect();
    accounts::apply(&mut tx, &changes).await?;
    tx.commit().await?;
    Ok(true)
}

/// Totals for status lines: what is owed, in flight and paid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PayoutSummary {
    /// Σ balances (owed, not yet in a batch).
    pub balance: u64,
    /// Σ pending (in a batch in flight).
    pub pending: u64,
    /// Σ paid (confirmed).
    pub paid: u64,
    pub confirmed_payments: u64,
    pub open_batches: u64,
    pub failed_batches: u64,
}

pub async fn summary(db: &Db) -> Result<PayoutSummary, sqlx::Error> {
    let sums = "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT), CAST(COALESCE(SUM(pending), 0) AS BIGINT), \
                CAST(COALESCE(SUM(paid), 0) AS BIGINT) FROM balances";
    let counts = "SELECT \
         (SELECT COUNT(*) FROM payments WHERE status = 'confirmed'), \
         (SELECT COUNT(*) FROM payout_batches WHERE status IN ('intent', 'built', 'submitted')), \
         (SELECT COUNT(*) FROM payout_batches WHERE status = 'failed')";
    let (b, p, d): (i64, i64, i64) = on_db!(db, |pool| sqlx::query_as(sums).fetch_one(pool).await)?;
    let (c, o, f): (i64, i64, i64) = on_db!(db, |pool| sqlx::query_as(counts).fetch_one(pool).await)?;
    Ok(PayoutSummary {
        balance: to_u64(b),
        pending: to_u64(p),
        paid: to_u64(d),
        confirmed_payments: c as u64,
        open_batches: o as u64,
        failed_batches: f as u64,
    })
}

/// Sets a miner's own payout threshold (`None`: the pool's default).
pub async fn set_threshold(db: &Db, miner_id: i64, threshold: Option<u64>) -> Result<(), sqlx::Error> {
    let q = "UPDATE miners SET payout_threshold = $2 WHERE id = $1";
    on_db!(db, |p| sqlx::query(q).bind(miner_id).bind(threshold.map(to_i64)).execute(p).await.map(|_| ()))?;
    Ok(())
}
