//! Several pool instances on one PostgreSQL: each registers its `instance_id` (a second instance with
//! the same id refuses to start, naming the first), and the singletons (unlocker, payer, pruning)
//! run on exactly one of them, the **leader**, under a PostgreSQL advisory lock held on a dedicated
//! connection: when the leader dies its connection drops, the lock is released, and another instance
//! takes over within seconds. SQLite is one instance: a lock file refuses a second process, and it is
//! always the leader.

use super::db::Db;
use anyhow::Context as _;
use sqlx::Connection as _;
use std::time::Duration;

/// Advisory-lock keys: "tos" in the high bytes, then the purpose.
const LEADER_KEY: i64 = 0x746f_7300_0000_0001;
const INSTANCE_KEY_BASE: i64 = 0x746f_7300_0001_0000;

/// Holds this instance's registration for as long as it lives.
pub struct Registration {
    /// PostgreSQL: the connection holding the instance lock.
    _pg: Option<sqlx::PgConnection>,
    /// SQLite: the locked file.
    _file: Option<std::fs::File>,
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_owned()).unwrap_or_else(|_| "unknown".into())
}

/// Registers `instance_id`, refusing when another live process holds it.
pub async fn register(db: &Db, db_url: &str, instance_id: u8) -> anyhow::Result<Registration> {
    let now = crate::clock::now_ms() as i64;
    let upsert = "INSERT INTO instances (instance_id, host, pid, version, started_ms, seen_ms) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (instance_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version, \
         started_ms = EXCLUDED.started_ms, seen_ms = EXCLUDED.seen_ms";
    let bind = |q: &'static str| {
        (q, i16::from(instance_id), host(), i64::from(std::process::id()), env!("CARGO_PKG_VERSION"), now)
    };
    match db {
        Db::Pg(pool) => {
            let mut conn =
                sqlx::PgConnection::connect(db_url).await.context("a connection for the instance lock")?;
            let key = INSTANCE_KEY_BASE + i64::from(instance_id);
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut conn).await?;
            if !locked {
                let holder: Option<(String, i64, i64)> =
                    sqlx::query_as("SELECT host, pid, seen_ms FROM instances WHERE instance_id = $1")
                        .bind(i16::from(instance_id))
                        .fetch_optional(pool)
                        .await?;
                let who = holder.map_or("another process".into(), |(h, p, seen)| {
                    format!("host {h} pid {p} (seen {} s ago)", (now - seen).max(0) / 1000)
                });
                anyhow::bail!(
                    "pool.instance_id {instance_id} is already running on this database ({who}): give every instance its own pool.instance_id"
                );
            }
            let (q, id, h, pid, v, t) = bind(upsert);
            sqlx::query(q).bind(id).bind(h).bind(pid).bind(v).bind(t).execute(pool).await?;
            Ok(Registration { _pg: Some(conn), _file: None })
        }
        Db::Sqlite(pool) => {
            let path = db_url.strip_prefix("sqlite://").unwrap_or(db_url);
            let path = path.split('?').next().unwrap_or(path);
            let lock = format!("{path}.lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock)
                .with_context(|| format!("cannot open the lock file {lock}"))?;
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor we own; the lock lives as long as the file.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                anyhow::bail!(
                    "the SQLite database {path} is in use by another tos-pool process (SQLite is for one instance; use PostgreSQL for several)"
                );
            }
            let (q, id, h, pid, v, t) = bind(upsert);
            sqlx::query(q).bind(id).bind(h).bind(pid).bind(v).bind(t).execute(pool).await?;
            Ok(Registration { _pg: None, _file: Some(file) })
        }
    }
}

/// Records that this instance is alive and how much it has spooled.
pub async fn heartbeat(db: &Db, instance_id: u8, spooled: u64) -> Result<(), sqlx::Error> {
    let q = "UPDATE instances SET seen_ms = $2, spooled = $3 WHERE instance_id = $1";
    let now = crate::clock::now_ms() as i64;
    crate::on_db!(db, |p| sqlx::query(q)
        .bind(i16::from(instance_id))
        .bind(now)
        .bind(spooled as i64)
        .execute(p)
        .await
        .map(|_| ()))
}

/// Records spooled by instances seen in the last minute (the unlocker waits while any is non-zero).
pub async fn spooled_anywhere(db: &Db) -> Result<u64, sqlx::Error> {
    let since = crate::clock::now_ms() as i64 - 60_000;
    let q = "SELECT CAST(COALESCE(SUM(spooled), 0) AS BIGINT) FROM instances WHERE seen_ms >= $1";
    let n: i64 = crate::on_db!(db, |p| sqlx::query_scalar(q).bind(since).fetch_one(p).await)?;
    Ok(n.max(0) as u64)
}

/// The leader's lock, while held.
pub enum Leadership {
    /// PostgreSQL: the connection holding the advisory lock.
    Pg(sqlx::PgConnection),
    /// SQLite: the only instance.
    Sole,
}

impl Leadership {
    /// Tries to become the leader (PostgreSQL: non-blocking).
    pub async fn try_acquire(db: &Db, db_url: &str) -> anyhow::Result<Option<Leadership>> {
        match db {
            Db::Sqlite(_) => Ok(Some(Leadership::Sole)),
            Db::Pg(_) => {
                let mut conn = sqlx::PgConnection::connect(db_url).await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                Ok(got.then_some(Leadership::Pg(conn)))
            }
        }
    }

    /// Whether the lock is still held (its connection still alive).
    pub async fn still_held(&mut self) -> bool {
        match self {
            Leadership::Sole => true,
            Leadership::Pg(conn) => {
                tokio::time::timeout(Duration::from_secs(5), sqlx::query("SELECT 1").execute(&mut *conn))
                    .await
                    .is_ok_and(|r| r.is_ok())
            }
        }
    }
}
