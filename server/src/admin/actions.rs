//! Every admin action, logged (tracing at INFO with the key's name, never the key) and written to
//! `admin_actions`. A failed write is logged and does not undo the action.

use crate::ledger::db::Db;
use crate::on_db;

pub async fn record(db: &Db, key_name: &str, action: &str, detail: &str) {
    tracing::info!(key = key_name, action, detail, "admin action");
    let q = "INSERT INTO admin_actions (at_ms, key_name, action, detail) VALUES ($1, $2, $3, $4)";
    let now = crate::clock::now_ms() as i64;
    let r = on_db!(db, |p| sqlx::query(q)
        .bind(now)
        .bind(key_name)
        .bind(action)
        .bind(detail)
        .execute(p)
        .await
        .map(|_| ()));
    if let Err(e) = r {
        tracing::warn!(error = %e, action, "the admin action could not be written to admin_actions");
    }
}

/// The newest actions (for the tests and operators' queries).
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<(i64, String, String, String)>, sqlx::Error> {
    let q = "SELECT at_ms, key_name, action, detail FROM admin_actions ORDER BY id DESC LIMIT $1";
    on_db!(db, |p| sqlx::query_as(q).bind(limit).fetch_all(p).await)
}
