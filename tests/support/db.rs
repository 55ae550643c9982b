//! Test databases on both backends: a fresh PostgreSQL database per test (`tospool_t_<pid>_<n>`,
//! dropped afterwards) on the local server, or a SQLite file in a temporary directory; and a
//! [`Ledger`] opened on either.
//!
//! PostgreSQL is `postgres://postgres@127.0.0.1:5432/test` (trust auth; `TOS_POOL_TEST_POSTGRES`
//! overrides it). When it is unreachable the PostgreSQL variant of a test is skipped with a
//! message — unless `TOS_POOL_REQUIRE_POSTGRES=1` (CI), which makes it fail.

use sqlx::Connection as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tos_pool::ledger::{Ledger, LedgerConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TOS_POOL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres_required() -> bool {
    std::env::var("TOS_POOL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

fn server_url(admin: &str) -> &str {
    admin.rsplit_once('/').map_or(admin, |(base, _)| base)
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// One test's database and scratch directory; both are removed on drop.
pub struct TestDb {
    pub backend: Backend,
    /// The database URL (for `Ledger::open`, `Db::connect`, the binary's `--database-url`).
    pub url: String,
    /// Scratch space (the SQLite file, spools).
    pub dir: PathBuf,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh database on `backend`; None when PostgreSQL is unreachable and not required (the
    /// skip is printed).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("tospool-test-{}-{n}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.join("pool.db").display());
                Some(TestDb { backend, url, dir, pg_name: None })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) if !postgres_required() => {
                        eprintln!(
                            "SKIPPED (PostgreSQL at {admin} unreachable: {e}; set TOS_POOL_REQUIRE_POSTGRES=1 to fail instead)"
                        );
                        let _ = std::fs::remove_dir_all(&dir);
                        return None;
                    }
                    Err(e) => panic!(
                        "PostgreSQL at {admin} is required (TOS_POOL_REQUIRE_POSTGRES=1) but unreachable: {e}"
                    ),
                };
                let name = format!("tospool_t_{}_{n}", std::process::id());
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .expect("drop a leftover test database");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let _ = conn.close().await;
                let url = format!("{}/{name}", server_url(&admin));
                Some(TestDb { backend, url, dir, pg_name: Some(name) })
            }
        }
    }

    /// "sqlite" or "postgresql", for messages.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// Connected and migrated, without a ledger (for crediting and reading directly).
    pub async fn connect(&self) -> tos_pool::ledger::db::Db {
        let db = tos_pool::ledger::db::Db::connect(&self.url).await.expect("connect to the test database");
        db.migrate().await.expect("migrate");
        db
    }

    /// A ledger on this database (migrations applied, instance 0 registered).
    pub async fn ledger(&self) -> Arc<Ledger> {
        self.ledger_as(0).await
    }

    pub async fn ledger_as(&self, instance_id: u8) -> Arc<Ledger> {
        Ledger::open(&LedgerConfig {
            url: self.url.clone(),
            spool_dir: self.dir.join(format!("spool-{instance_id}")),
            instance_id,
        })
        .await
        .expect("the ledger opens")
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos() as u64)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let Some(name) = self.pg_name.take() else { return };
        let admin = postgres_admin_url();
        // A thread of its own: drop may run inside the test's runtime, which must not block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}
