//! Read-only queries for the web API (`crate::http`), on both dialects.
//!
//! Difficulty sums stay exact: PostgreSQL sums `NUMERIC` and returns text; SQLite cannot sum
//! decimal text exactly, so it returns the values joined with `group_concat` and Rust sums them.
//! Both come back as one text column that [`sum_decimal_list`] reads — one code path.

use super::blocks::BlockRow;
use super::db::Db;
use super::payout_store::BatchStatus;
use crate::on_db;
use pool_core::U256;
use std::collections::BTreeMap;

/// The per-dialect "exact sum of a decimal column, as text" expression.
fn exact_sum(db: &Db, column: &str) -> String {
    match db {
        Db::Pg(_) => format!("CAST(SUM({column}) AS TEXT)"),
        Db::Sqlite(_) => format!("group_concat({column}, ',')"),
    }
}

/// Sums a PostgreSQL sum or a SQLite comma-joined list of decimal integers (saturating at 2^256).
pub fn sum_decimal_list(text: Option<&str>) -> U256 {
    let mut total = U256::ZERO;
    for part in text.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // PostgreSQL may print a NUMERIC sum without a fraction; a malformed value counts as zero.
        let v = U256::from_dec_str(part.split('.').next().unwrap_or("0")).unwrap_or(U256::ZERO);
        total = total.checked_add(v).unwrap_or(U256::MAX);
    }
    total
}

/// Accepted work per statistics minute since `since_ms` (minute starts), pool-wide or one miner's.
pub async fn minute_work(
    db: &Db,
    since_ms: i64,
    miner_id: Option<i64>,
) -> Result<BTreeMap<i64, U256>, sqlx::Error> {
    let filter = if miner_id.is_some() { " AND miner_id = $2" } else { "" };
    let q = format!(
        "SELECT minute_ms, {} FROM worker_stats WHERE minute_ms >= $1{filter} GROUP BY minute_ms",
        exact_sum(db, "work")
    );
    let rows: Vec<(i64, Option<String>)> = on_db!(db, |p| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(q.clone())).bind(since_ms);
        if let Some(id) = miner_id {
            query = query.bind(id);
        }
        query.fetch_all(p).await
    })?;
    Ok(rows.into_iter().map(|(m, w)| (m, sum_decimal_list(w.as_deref()))).collect())
}

/// One worker's recent activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerActivity {
    pub worker: String,
    pub last_share_ms: i64,
    pub shares: u64,
    /// Accepted work per minute start.
    pub minutes: BTreeMap<i64, U256>,
}

/// A miner's workers with a share since `since_ms`, by name.
pub async fn workers(db: &Db, miner_id: i64, since_ms: i64) -> Result<Vec<WorkerActivity>, sqlx::Error> {
    let q = format!(
        "SELECT worker, minute_ms, MAX(last_ms), CAST(SUM(shares) AS BIGINT), {} FROM worker_stats \
         WHERE miner_id = $1 AND minute_ms >= $2 GROUP BY worker, minute_ms ORDER BY worker, minute_ms",
        exact_sum(db, "work")
    );
    let rows: Vec<(String, i64, i64, i64, Option<String>)> =
        on_db!(db, |p| sqlx::query_as(sqlx::AssertSqlSafe(q.clone()))
            .bind(miner_id)
            .bind(since_ms)
            .fetch_all(p)
            .await)?;
    let mut out: Vec<WorkerActivity> = Vec::new();
    for (worker, minute, last, shares, work) in rows {
        if out.last().is_none_or(|w| w.worker != worker) {
            out.push(WorkerActivity {
                worker: worker.clone(),
                last_share_ms: 0,
                shares: 0,
                minutes: BTreeMap::new(),
            });
        }
        let w = out.last_mut().expect("pushed");
        w.last_share_ms = w.last_share_ms.max(last);
        w.shares += u64::try_from(shares).unwrap_or(0);
        w.minutes.insert(minute, sum_decimal_list(work.as_deref()));
    }
    Ok(out)
}

/// Miners and workers with a share since `since_ms`.
pub async fn active_counts(db: &Db, since_ms: i64) -> Result<(u64, u64), sqlx::Error> {
    let miners = "SELECT COUNT(DISTINCT miner_id) FROM worker_stats WHERE minute_ms >= $1";
    let workers = "SELECT COUNT(*) FROM (SELECT DISTINCT miner_id, worker FROM worker_stats WHERE minute_ms >= $1) AS w";
    let m: i64 = on_db!(db, |p| sqlx::query_scalar(miners).bind(since_ms).fetch_one(p).await)?;
    let w: i64 = on_db!(db, |p| sqlx::query_scalar(workers).bind(since_ms).fetch_one(p).await)?;
    Ok((m as u64, w as u64))
}

/// The work of non-solo shares with `created_ms` in (`after_ms`, `until_ms`] (None: from the first
/// share). PostgreSQL sums in `NUMERIC`; SQLite streams the rows and Rust sums them (a long round
/// can hold millions: never one joined string).
pub async fn shared_work_between(db: &Db, after_ms: Option<i64>, until_ms: i64) -> Result<U256, sqlx::Error> {
    use futures::TryStreamExt as _;
    let after = after_ms.unwrap_or(-1);
    match db {
        Db::Pg(p) => {
            let q = "SELECT CAST(SUM(difficulty) AS TEXT) FROM shares \
                     WHERE created_ms > $1 AND created_ms <= $2 AND scheme <> 'solo'";
            let text: Option<String> = sqlx::query_scalar(q).bind(after).bind(until_ms).fetch_one(p).await?;
            Ok(sum_decimal_list(text.as_deref()))
        }
        Db::Sqlite(p) => {
            let q = "SELECT difficulty FROM shares WHERE created_ms > $1 AND created_ms <= $2 AND scheme <> 'solo'";
            let mut rows = sqlx::query_scalar::<_, String>(q).bind(after).bind(until_ms).fetch(p);
            let mut total = U256::ZERO;
            while let Some(d) = rows.try_next().await? {
                total = total.checked_add(sum_decimal_list(Some(&d))).unwrap_or(U256::MAX);
            }
            Ok(total)
        }
    }
}

/// A found block as the API lists it.
#[derive(Clone, Debug)]
pub struct ListedBlock {
    pub row: BlockRow,
    pub finder_address: String,
}

/// Blocks, newest first; and how many there are.
pub async fn blocks_page(db: &Db, limit: i64, offset: i64) -> anyhow::Result<(Vec<ListedBlock>, u64)> {
    const Q: &str = "SELECT b.block_id, b.height, b.finder_id, b.finder_worker, b.scheme, \
         CAST(b.network_difficulty AS TEXT), b.found_ms, b.submitted, b.status, b.topoheight, b.block_type, \
         b.reward, CAST(b.round_work AS TEXT), b.effort_bp, COALESCE(m.address, '') \
         FROM blocks b LEFT JOIN miners m ON m.id = b.finder_id \
         ORDER BY b.found_ms DESC, b.block_id LIMIT $1 OFFSET $2";
    type Raw = (
        Vec<u8>,
        i64,
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        String,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        String,
    );
    let rows: Vec<Raw> = on_db!(db, |p| sqlx::query_as(Q).bind(limit).bind(offset).fetch_all(p).await)?;
    let total: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM blocks").fetch_one(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let raw = (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13);
        out.push(ListedBlock { row: super::blocks::parse(raw)?, finder_address: r.14 });
    }
    Ok((out, total as u64))
}

/// A payout transaction as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedPayout {
    pub id: i64,
    pub status: BatchStatus,
    pub tx_hash: Option<String>,
    pub total: u64,
    pub tx_fee: u64,
    pub recipients: u32,
    pub created_ms: i64,
    pub executed_topoheight: Option<u64>,
}

/// Payout transactions, newest first; and how many there are.
pub async fn payouts_page(db: &Db, limit: i64, offset: i64) -> Result<(Vec<ListedPayout>, u64), sqlx::Error> {
    const Q: &str = "SELECT id, status, tx_hash, total, tx_fee, CAST(recipients AS BIGINT), created_ms, executed_topoheight \
         FROM payout_batches ORDER BY id DESC LIMIT $1 OFFSET $2";
    type Raw = (i64, String, Option<String>, i64, i64, i64, i64, Option<i64>);
    let rows: Vec<Raw> = on_db!(db, |p| sqlx::query_as(Q).bind(limit).bind(offset).fetch_all(p).await)?;
    let total: i64 =
        on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM payout_batches").fetch_one(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let status = BatchStatus::parse(&r.1)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown payout batch status {:?}", r.1).into()))?;
        out.push(ListedPayout {
            id: r.0,
            status,
            tx_hash: r.2,
            total: r.3.max(0) as u64,
            tx_fee: r.4.max(0) as u64,
            recipients: u32::try_from(r.5).unwrap_or(0),
            created_ms: r.6,
            executed_topoheight: r.7.and_then(|t| u64::try_from(t).ok()),
        });
    }
    Ok((out, total as u64))
}

/// One payment to one miner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerPayment {
    pub batch_id: i64,
    pub amount: u64,
    pub fee_share: u64,
    pub status: String,
    pub tx_hash: Option<String>,
    pub created_ms: i64,
}

/// A miner's newest payments.
pub async fn miner_payments(db: &Db, miner_id: i64, limit: i64) -> Result<Vec<MinerPayment>, sqlx::Error> {
    const Q: &str = "SELECT p.batch_id, p.amount, p.fee_share, p.status, b.tx_hash, b.created_ms \
         FROM payments p JOIN payout_batches b ON b.id = p.batch_id WHERE p.miner_id = $1 \
         ORDER BY p.id DESC LIMIT $2";
    let rows: Vec<(i64, i64, i64, String, Option<String>, i64)> =
        on_db!(db, |p| sqlx::query_as(Q).bind(miner_id).bind(limit).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| MinerPayment {
            batch_id: r.0,
            amount: r.1.max(0) as u64,
            fee_share: r.2.max(0) as u64,
            status: r.3,
            tx_hash: r.4,
            created_ms: r.5,
        })
        .collect())
}

/// Net credits per UTC day (day start ms → atomic units; negative when an orphan took back more
/// than was credited that day): block credits and PPS, not payouts.
pub async fn daily_earnings(db: &Db, miner_id: i64, since_ms: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    const Q: &str = "SELECT (at_ms / 86400000) * 86400000 AS day, CAST(SUM(d_balance + d_immature) AS BIGINT) \
         FROM balance_changes WHERE miner_id = $1 AND at_ms >= $2 \
         AND reason IN ('block_immature', 'block_mature', 'block_orphaned', 'pps') \
         GROUP BY day ORDER BY day";
    on_db!(db, |p| sqlx::query_as(Q).bind(miner_id).bind(since_ms).fetch_all(p).await)
}

/// A miner's own payout threshold, if set (atomic units).
pub async fn payout_threshold(db: &Db, miner_id: i64) -> Result<Option<u64>, sqlx::Error> {
    let q = "SELECT payout_threshold FROM miners WHERE id = $1";
    let t: Option<Option<i64>> =
        on_db!(db, |p| sqlx::query_scalar(q).bind(miner_id).fetch_optional(p).await)?;
    Ok(t.flatten().and_then(|v| u64::try_from(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_sum_the_same() {
        assert_eq!(sum_decimal_list(Some("10,20,30")), U256::from_u64(60));
        assert_eq!(sum_decimal_list(Some("60")), U256::from_u64(60));
        assert_eq!(sum_decimal_list(None), U256::ZERO);
        let big = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(sum_decimal_list(Some(&format!("{big},1"))), U256::MAX);
    }
}
