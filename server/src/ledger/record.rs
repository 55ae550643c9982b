//! Writing accepted shares, found blocks and submission outcomes: one transaction per group of
//! batches (a group commit), on either dialect. The same code writes a live batch and replays a
//! spooled one, so replay is exactly the live path.
//!
//! A block's `found_ms` is stored as the receive time of its own share (the same batch carries
//! both) rather than the moment its batch was judged: rounds are cut on the clock shares are timed
//! by, so a block's own share always falls in its own round — not in the previous block's, as it
//! would when two blocks are judged in consecutive batches.
//!
//! Exactly once: a share's id is its primary key (`ON CONFLICT DO NOTHING` / `INSERT OR IGNORE`), and
//! only the shares actually inserted feed the PPS queue and the per-minute statistics, so a batch
//! written twice (a spool replay after a crash) changes nothing.

use super::db::Db;
use super::spool::{SpoolRecord, SpooledBlock, SpooledShare};
use pool_core::U256;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::RwLock;

/// The statistics bucket of a share: its minute.
pub fn minute_of(ms: u64) -> i64 {
    (ms - ms % 60_000) as i64
}

/// Miner ids by address, learned as batches are written.
#[derive(Default)]
pub struct MinerIds {
    ids: RwLock<HashMap<String, i64>>,
}

impl MinerIds {
    fn get(&self, address: &str) -> Option<i64> {
        self.ids.read().unwrap_or_else(|e| e.into_inner()).get(address).copied()
    }

    fn learn(&self, found: impl IntoIterator<Item = (String, i64)>) {
        self.ids.write().unwrap_or_else(|e| e.into_inner()).extend(found);
    }
}

/// What a write did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Shares newly inserted (a replayed share already there is not counted).
    pub shares: u64,
    pub blocks: u64,
    pub outcomes: u64,
    /// Outcomes whose block row was not there (yet).
    pub orphan_outcomes: u64,
}

struct Rows<'a> {
    shares: Vec<&'a SpooledShare>,
    /// The receive time of each block's own share (share id = block id).
    block_share_ms: HashMap<&'a str, u64>,
    blocks: Vec<&'a SpooledBlock>,
    outcomes: Vec<(&'a str, bool, &'a str)>,
    addresses: Vec<String>,
}

fn rows(records: &[SpoolRecord]) -> Rows<'_> {
    let mut r = Rows {
        shares: Vec::new(),
        block_share_ms: HashMap::new(),
        blocks: Vec::new(),
        outcomes: Vec::new(),
        addresses: Vec::new(),
    };
    let mut seen = HashSet::new();
    for rec in records {
        match rec {
            SpoolRecord::Batch { shares, blocks } => {
                r.shares.extend(shares);
                r.blocks.extend(blocks);
            }
            SpoolRecord::BlockOutcome { block_id, accepted, note } => {
                r.outcomes.push((block_id, *accepted, note))
            }
        }
    }
    r.block_share_ms =
        r.shares.iter().filter(|s| s.is_block).map(|s| (s.share_id.as_str(), s.submitted_ms)).collect();
    for a in r.shares.iter().map(|s| &s.address).chain(r.blocks.iter().map(|b| &b.address)) {
        if seen.insert(a.as_str()) {
            r.addresses.push(a.clone());
        }
    }
    r
}

impl Rows<'_> {
    /// `b`'s found time as stored: its own share's receive time when the batch carries it.
    fn found_ms(&self, b: &SpooledBlock) -> u64 {
        self.block_share_ms.get(b.block_id.as_str()).map_or(b.found_ms, |&ms| ms.min(b.found_ms))
    }
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_default()
}

/// Per (miner, worker, minute): shares and work of the newly inserted shares.
fn minute_stats(
    shares: &[&SpooledShare],
    ids: &HashMap<String, i64>,
) -> BTreeMap<(i64, String, i64), (i64, U256, i64)> {
    let mut m: BTreeMap<(i64, String, i64), (i64, U256, i64)> = BTreeMap::new();
    for s in shares {
        let key = (ids[&s.address], s.worker.clone(), minute_of(s.submitted_ms));
        let e = m.entry(key).or_insert((0, U256::ZERO, 0));
        e.0 += 1;
        e.1 = e.1.checked_add(U256::from_dec_str(&s.difficulty).unwrap_or(U256::ZERO)).unwrap_or(U256::MAX);
        e.2 = e.2.max(s.submitted_ms as i64);
    }
    m
}

/// Writes `records` in one transaction.
pub async fn write(
    db: &Db,
    miners: &MinerIds,
    instance_id: i16,
    records: &[SpoolRecord],
) -> Result<Written, sqlx::Error> {
    let rows = rows(records);
    match db {
        Db::Pg(p) => write_pg(p, miners, instance_id, &rows).await,
        Db::Sqlite(p) => write_sqlite(p, miners, instance_id, &rows).await,
    }
}

const PG_MINERS: &str = "INSERT INTO miners (address, created_ms) SELECT a, $2 FROM UNNEST($1::text[]) AS a \
     ON CONFLICT (address) DO NOTHING";
const PG_MINER_IDS: &str = "SELECT id, address FROM miners WHERE address = ANY($1::text[])";
/// Shares, their per-minute statistics and the PPS queue in one statement: only the rows actually
/// inserted (`RETURNING`) feed the other two, and the sums are exact `NUMERIC` on the server.
const PG_SHARES: &str = "WITH input AS ( \
       SELECT s, m, w, sc, d::numeric AS d, n::numeric AS n, h, c \
       FROM UNNEST($1::bytea[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[]) \
       AS t(s, m, w, sc, d, n, h, c)), \
     ins AS ( \
       INSERT INTO shares (share_id, miner_id, worker, scheme, difficulty, height, created_ms, instance_id) \
       SELECT s, m, w, sc, d, h, c, $9 FROM input ON CONFLICT (created_ms, share_id) DO NOTHING \
       RETURNING share_id, miner_id, worker, scheme, difficulty, created_ms), \
     stats AS ( \
       INSERT INTO worker_stats (miner_id, worker, minute_ms, instance_id, shares, work, last_ms) \
       SELECT miner_id, worker, created_ms - created_ms % 60000, $9, COUNT(*), SUM(difficulty), MAX(created_ms) \
       FROM ins GROUP BY 1, 2, 3 \
       ON CONFLICT (miner_id, worker, minute_ms, instance_id) DO UPDATE SET \
       shares = worker_stats.shares + EXCLUDED.shares, work = worker_stats.work + EXCLUDED.work, \
       last_ms = GREATEST(worker_stats.last_ms, EXCLUDED.last_ms) RETURNING 1), \
     pps AS ( \
       INSERT INTO pps_queue (share_id, miner_id, difficulty, network_difficulty, created_ms) \
       SELECT ins.share_id, ins.miner_id, ins.difficulty, input.n, ins.created_ms FROM ins JOIN input ON input.s = ins.share_id \
       WHERE ins.scheme = 'pps' ON CONFLICT (share_id) DO NOTHING RETURNING 1) \
     SELECT (SELECT COUNT(*) FROM ins), (SELECT COUNT(*) FROM stats), (SELECT COUNT(*) FROM pps)";
const PG_BLOCK: &str = "INSERT INTO blocks (block_id, height, finder_id, finder_worker, scheme, network_difficulty, \
     template_hex, miner_work_hex, found_ms, instance_id, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, $9) ON CONFLICT (block_id) DO NOTHING";
const SQLITE_BLOCK: &str = "INSERT OR IGNORE INTO blocks (block_id, height, finder_id, finder_worker, scheme, network_difficulty, \
     template_hex, miner_work_hex, found_ms, instance_id, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9)";
const OUTCOME: &str =
    "UPDATE blocks SET submitted = $2, submit_note = $3, updated_ms = $4 WHERE block_id = $1";

async fn write_pg(
    pool: &sqlx::PgPool,
    miners: &MinerIds,
    instance_id: i16,
    r: &Rows<'_>,
) -> Result<Written, sqlx::Error> {
    let now = crate::clock::now_ms() as i64;
    let mut tx = pool.begin().await?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    let unknown: Vec<String> = r.addresses.iter().filter(|a| miners.get(a).is_none()).cloned().collect();
    for a in &r.addresses {
        if let Some(id) = miners.get(a) {
            ids.insert(a.clone(), id);
        }
    }
    if !unknown.is_empty() {
        sqlx::query(PG_MINERS).bind(&unknown).bind(now).execute(&mut *tx).await?;
        for row in sqlx::query(PG_MINER_IDS).bind(&unknown).fetch_all(&mut *tx).await? {
            ids.insert(row.get::<String, _>(1), row.get::<i64, _>(0));
        }
    }
    let mut w = Written::default();
    if !r.shares.is_empty() {
        let s = &r.shares;
        let (inserted, _, _): (i64, i64, i64) = sqlx::query_as(PG_SHARES)
            .bind(s.iter().map(|s| unhex(&s.share_id)).collect::<Vec<_>>())
            .bind(s.iter().map(|s| ids[&s.address]).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.worker.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.scheme.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.difficulty.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.network_difficulty.as_str()).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.height as i64).collect::<Vec<_>>())
            .bind(s.iter().map(|s| s.submitted_ms as i64).collect::<Vec<_>>())
            .bind(instance_id)
            .fetch_one(&mut *tx)
            .await?;
        w.shares = inserted as u64;
    }
    for b in &r.blocks {
        let done = sqlx::query(PG_BLOCK)
            .bind(unhex(&b.block_id))
            .bind(b.height as i64)
            .bind(ids[&b.address])
            .bind(&b.worker)
            .bind(&b.scheme)
            .bind(&b.network_difficulty)
            .bind(&b.template_hex)
            .bind(&b.miner_work_hex)
            .bind(r.found_ms(b) as i64)
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        w.blocks += done.rows_affected();
    }
    for (block_id, accepted, note) in &r.outcomes {
        let done = sqlx::query(OUTCOME)
            .bind(unhex(block_id))
            .bind(if *accepted { "accepted" } else { "failed" })
            .bind(*note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        w.outcomes += done.rows_affected();
        w.orphan_outcomes += u64::from(done.rows_affected() == 0);
    }
    tx.commit().await?;
    miners.learn(ids);
    Ok(w)
}

async fn write_sqlite(
    pool: &sqlx::SqlitePool,
    miners: &MinerIds,
    instance_id: i16,
    r: &Rows<'_>,
) -> Result<Written, sqlx::Error> {
    let now = crate::clock::now_ms() as i64;
    let mut tx = pool.begin().await?;
    let mut ids: HashMap<String, i64> = HashMap::new();
    for a in &r.addresses {
        let id = match miners.get(a) {
            Some(id) => id,
            None => {
                sqlx::query("INSERT OR IGNORE INTO miners (address, created_ms) VALUES ($1, $2)")
                    .bind(a)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query_scalar("SELECT id FROM miners WHERE address = $1")
                    .bind(a)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        ids.insert(a.clone(), id);
    }
    let mut w = Written::default();
    let mut new = Vec::with_capacity(r.shares.len());
    // Many rows per statement (a statement is a round trip to SQLite's worker thread); 8 binds a
    // row stays under SQLite's 32,766 parameters.
    for chunk in r.shares.chunks(512) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR IGNORE INTO shares (share_id, miner_id, worker, scheme, difficulty, height, created_ms, instance_id) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(unhex(&s.share_id))
                .push_bind(ids[&s.address])
                .push_bind(s.worker.as_str())
                .push_bind(s.scheme.as_str())
                .push_bind(s.difficulty.as_str())
                .push_bind(s.height as i64)
                .push_bind(s.submitted_ms as i64)
                .push_bind(instance_id);
        });
        q.push(" RETURNING share_id");
        let inserted: HashSet<Vec<u8>> =
            q.build_query_scalar::<Vec<u8>>().fetch_all(&mut *tx).await?.into_iter().collect();
        new.extend(chunk.iter().copied().filter(|s| inserted.contains(&unhex(&s.share_id))));
    }
    w.shares = new.len() as u64;
    for s in new.iter().filter(|s| s.scheme == "pps") {
        sqlx::query(
            "INSERT OR IGNORE INTO pps_queue (share_id, miner_id, difficulty, network_difficulty, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(unhex(&s.share_id))
        .bind(ids[&s.address])
        .bind(&s.difficulty)
        .bind(&s.network_difficulty)
        .bind(s.submitted_ms as i64)
        .execute(&mut *tx)
        .await?;
    }
    for ((miner, worker, minute), (n, work, last)) in minute_stats(&new, &ids) {
        // No exact wide numbers in SQLite: add in Rust (one writer: the transaction holds the lock).
        let old: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT shares, work, last_ms FROM worker_stats WHERE miner_id = $1 AND worker = $2 AND minute_ms = $3 AND instance_id = $4",
        )
        .bind(miner)
        .bind(&worker)
        .bind(minute)
        .bind(instance_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (n, work, last) = match old {
            Some((on, ow, ol)) => {
                let ow = U256::from_dec_str(&ow).unwrap_or(U256::ZERO);
                (on + n, ow.checked_add(work).unwrap_or(U256::MAX), ol.max(last))
            }
            None => (n, work, last),
        };
        sqlx::query(
            "INSERT OR REPLACE INTO worker_stats (miner_id, worker, minute_ms, instance_id, shares, work, last_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(miner)
        .bind(&worker)
        .bind(minute)
        .bind(instance_id)
        .bind(n)
        .bind(work.to_string())
        .bind(last)
        .execute(&mut *tx)
        .await?;
    }
    for b in &r.blocks {
        let done = sqlx::query(SQLITE_BLOCK)
            .bind(unhex(&b.block_id))
            .bind(b.height as i64)
            .bind(ids[&b.address])
            .bind(&b.worker)
            .bind(&b.scheme)
            .bind(&b.network_difficulty)
            .bind(&b.template_hex)
            .bind(&b.miner_work_hex)
            .bind(r.found_ms(b) as i64)
            .bind(instance_id)
            .execute(&mut *tx)
            .await?;
        w.blocks += done.rows_affected();
    }
    for (block_id, accepted, note) in &r.outcomes {
        let done = sqlx::query(OUTCOME)
            .bind(unhex(block_id))
            .bind(if *accepted { "accepted" } else { "failed" })
            .bind(*note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        w.outcomes += done.rows_affected();
        w.orphan_outcomes += u64::from(done.rows_affected() == 0);
    }
    tx.commit().await?;
    miners.learn(ids);
    Ok(w)
}
