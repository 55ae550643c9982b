//! Money moves: every change of a miner's balances writes its audit row in the same transaction,
//! and the schema's `CHECK (… >= 0)` constraints turn any attempt to overdraw into an error that rolls
//! the whole transaction back.
//!
//! [`DbTx`] is a transaction on either dialect; [`on_tx!`](crate::on_tx) runs one statement on it.

use super::db::Db;

/// A transaction on either dialect.
pub enum DbTx {
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection (compiled for both dialects).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::ledger::accounts::DbTx::Pg(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::ledger::accounts::DbTx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl DbTx {
    pub async fn begin(db: &Db) -> Result<DbTx, sqlx::Error> {
        Ok(match db {
            Db::Pg(p) => DbTx::Pg(p.begin().await?),
            Db::Sqlite(p) => DbTx::Sqlite(p.begin().await?),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Pg(t) => t.commit().await,
            DbTx::Sqlite(t) => t.commit().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbTx::Pg(_))
    }
}

/// One change of one miner's balances, with why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BalanceChange {
    pub miner_id: i64,
    /// e.g. `block_immature`, `block_mature`, `block_orphaned`, `pps`, `payout_intent`, `payout_confirmed`,
    /// `payout_failed`.
    pub reason: &'static str,
    pub d_balance: i64,
    pub d_immature: i64,
    pub d_pending: i64,
    pub d_paid: i64,
    pub block_id: Option<Vec<u8>>,
    pub batch_id: Option<i64>,
    pub note: Option<String>,
}

/// Applies `changes` in `tx`: the balance rows (created at zero when new) and one audit row each.
/// Fails — and the caller must drop the transaction — if any balance would go negative.
pub async fn apply(tx: &mut DbTx, changes: &[BalanceChange]) -> Result<(), sqlx::Error> {
    let now = crate::clock::now_ms() as i64;
    for c in changes {
        on_tx!(tx, |conn| {
            sqlx::query("INSERT INTO balances (miner_id) VALUES ($1) ON CONFLICT (miner_id) DO NOTHING")
                .bind(c.miner_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE balances SET balance = balance + $2, immature = immature + $3, pending = pending + $4, paid = paid + $5 \
                 WHERE miner_id = $1",
            )
            .bind(c.miner_id)
            .bind(c.d_balance)
            .bind(c.d_immature)
            .bind(c.d_pending)
            .bind(c.d_paid)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO balance_changes (miner_id, at_ms, reason, d_balance, d_immature, d_pending, d_paid, block_id, batch_id, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(c.miner_id)
            .bind(now)
            .bind(c.reason)
            .bind(c.d_balance)
            .bind(c.d_immature)
            .bind(c.d_pending)
            .bind(c.d_paid)
            .bind(c.block_id.as_deref())
            .bind(c.batch_id)
            .bind(c.note.as_deref())
            .execute(&mut *conn)
            .await?;
        });
    }
    Ok(())
}

/// Adds `delta` to one of the pool's own accounts (`pool_fee`, `pps_fund`; signed).
pub async fn pool_account(tx: &mut DbTx, name: &str, delta: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| {
        sqlx::query("INSERT INTO pool_accounts (name, amount) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE pool_accounts SET amount = amount + $2 WHERE name = $1")
            .bind(name)
            .bind(delta)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// A miner's balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    pub balance: u64,
    pub immature: u64,
    pub pending: u64,
    pub paid: u64,
}

/// `miner_id`'s balances (zero when it has none).
pub async fn balances(db: &Db, miner_id: i64) -> Result<Balances, sqlx::Error> {
    let q = "SELECT balance, immature, pending, paid FROM balances WHERE miner_id = $1";
    let row: Option<(i64, i64, i64, i64)> =
        crate::on_db!(db, |p| sqlx::query_as(q).bind(miner_id).fetch_optional(p).await)?;
    Ok(row.map_or(Balances::default(), |(b, i, p, d)| Balances {
        balance: b as u64,
        immature: i as u64,
        pending: p as u64,
        paid: d as u64,
    }))
}

/// The id of the miner with `address`, if it ever had a share recorded.
pub async fn miner_id(db: &Db, address: &str) -> Result<Option<i64>, sqlx::Error> {
    let q = "SELECT id FROM miners WHERE address = $1";
    crate::on_db!(db, |p| sqlx::query_scalar(q).bind(address).fetch_optional(p).await)
}
