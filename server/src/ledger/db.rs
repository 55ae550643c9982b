//! The database: PostgreSQL (production; several pool instances share one) or SQLite (the
//! embedded default for one machine). Migrations are compiled into the binary and applied at start.
//!
//! The two dialects share most SQL (`$1` placeholders work in both). Where they differ:
//! * difficulties are exact `NUMERIC(78,0)` in PostgreSQL (bound as text, cast with `::numeric`,
//!   read back with `::text`) and decimal `TEXT` in SQLite, whose sums are done in Rust;
//! * batches go to PostgreSQL as arrays (`UNNEST`: one statement per table per batch) and to SQLite
//!   row by row inside one WAL transaction.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// A connected database.
#[derive(Clone, Debug)]
pub enum Db {
    Pg(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the pool of either dialect (the body is compiled for both).
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::ledger::db::Db::Pg($pool) => $body,
            $crate::ledger::db::Db::Sqlite($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to `url` (`postgres://…` or `sqlite://path`; a SQLite file and its directory are
    /// created if missing).
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        use anyhow::Context as _;
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts =
                PgConnectOptions::from_str(url).context("database.url is not a valid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
            Ok(Db::Pg(pool))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let opts = SqliteConnectOptions::from_str(url)
                .context("database.url is not a valid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // An acknowledged share must survive a power cut: fsync every commit.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(false);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
            Ok(Db::Sqlite(pool))
        } else {
            anyhow::bail!("database.url {:?}: use postgres://… or sqlite://path", redact(url))
        }
    }

    /// Applies the migrations compiled into the binary.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        match self {
            Db::Pg(p) => sqlx::migrate!("./migrations/postgres").run(p).await,
            Db::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await,
        }
        .context("applying the database migrations")
    }

    /// The applied migration versions (`tos-pool migrate` prints them).
    pub async fn migrations(&self) -> anyhow::Result<Vec<i64>> {
        let q = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(on_db!(self, |p| sqlx::query_scalar(q).fetch_all(p).await)?)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgresql",
            Db::Sqlite(_) => "sqlite",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    /// Whether the database answers at all.
    pub async fn ping(&self) -> bool {
        on_db!(self, |p| sqlx::query("SELECT 1").execute(p).await.is_ok())
    }

    pub async fn close(&self) {
        on_db!(self, |p| p.close().await)
    }
}

/// Whether `e` means the database is unreachable (as opposed to a refused statement).
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            true
        }
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08…), shutting down / cannot connect now (57P…).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// `url` with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A u64 amount as the database's signed BIGINT (amounts never exceed the 1.84e16 supply).
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).expect("amount within BIGINT")
}

/// A BIGINT amount read back (negative only for the pool's own signed accounts).
pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).expect("a non-negative amount")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://pool:s3cret@db:5432/pool"), "postgres://pool:***@db:5432/pool");
        assert_eq!(redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact("sqlite://data/pool.db"), "sqlite://data/pool.db");
    }
}
