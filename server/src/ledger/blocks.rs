//! The `blocks` table as the unlocker, the audit and pruning read it: one [`BlockRow`] per found
//! block, and the block a round starts after.
//!
//! A block's status moves only forward: `candidate` → `immature` → `mature`, or to `orphaned` from
//! either of the first two. Every move is a guarded `UPDATE … WHERE status = <the old one>` inside
//! the transaction that moves the money (see [`super::unlocker`]), so two writers can never both
//! make the same move.

use super::db::Db;
use pool_core::Difficulty;
use pool_core::reward::Scheme;

/// The statuses, as stored.
pub mod status {
    pub const CANDIDATE: &str = "candidate";
    pub const IMMATURE: &str = "immature";
    pub const MATURE: &str = "mature";
    pub const ORPHANED: &str = "orphaned";
}

/// One found block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    pub block_id: Vec<u8>,
    pub height: u64,
    pub finder_id: i64,
    pub finder_worker: String,
    pub scheme: Scheme,
    pub network_difficulty: Difficulty,
    pub found_ms: i64,
    /// `accepted` | `failed` | None while the submission is in progress.
    pub submitted: Option<String>,
    pub status: String,
    pub topoheight: Option<i64>,
    pub block_type: Option<String>,
    pub reward: Option<i64>,
    pub round_work: Option<String>,
    pub effort_bp: Option<i64>,
}

impl BlockRow {
    pub fn hash_hex(&self) -> String {
        hex::encode(&self.block_id)
    }

    pub fn is_solo(&self) -> bool {
        self.scheme == Scheme::Solo
    }
}

/// The columns of a [`BlockRow`], in its order (a macro, so queries stay literal strings).
macro_rules! block_columns {
    () => {
        "block_id, height, finder_id, finder_worker, scheme, CAST(network_difficulty AS TEXT), found_ms, \
         submitted, status, topoheight, block_type, reward, CAST(round_work AS TEXT), effort_bp"
    };
}

/// A block row as both dialects decode it (the [`block_columns`] order).
pub(crate) type RawRow = (
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
);

pub(crate) fn parse(r: RawRow) -> anyhow::Result<BlockRow> {
    let id = hex::encode(&r.0);
    let scheme = r.4.parse::<Scheme>().map_err(|e| anyhow::anyhow!("block {id}: {e}"))?;
    let network_difficulty = Difficulty::from_dec_str(&r.5)
        .map_err(|e| anyhow::anyhow!("block {id}: stored network difficulty {:?}: {e}", r.5))?;
    Ok(BlockRow {
        block_id: r.0,
        height: u64::try_from(r.1).unwrap_or(0),
        finder_id: r.2,
        finder_worker: r.3,
        scheme,
        network_difficulty,
        found_ms: r.6,
        submitted: r.7,
        status: r.8,
        topoheight: r.9,
        block_type: r.10,
        reward: r.11,
        round_work: r.12,
        effort_bp: r.13,
    })
}

/// Every block still to be settled (`candidate`, `immature`), oldest first.
pub async fn unsettled(db: &Db) -> anyhow::Result<Vec<BlockRow>> {
    const Q: &str = concat!(
        "SELECT ",
        block_columns!(),
        " FROM blocks WHERE status IN ('candidate', 'immature') ORDER BY found_ms, block_id"
    );
    let rows: Vec<RawRow> = crate::on_db!(db, |p| sqlx::query_as(Q).fetch_all(p).await)?;
    rows.into_iter().map(parse).collect()
}

/// The block `block_id`, if recorded.
pub async fn by_id(db: &Db, block_id: &[u8]) -> anyhow::Result<Option<BlockRow>> {
    const Q: &str = concat!("SELECT ", block_columns!(), " FROM blocks WHERE block_id = $1");
    let row: Option<RawRow> =
        crate::on_db!(db, |p| sqlx::query_as(Q).bind(block_id).fetch_optional(p).await)?;
    row.map(parse).transpose()
}

/// Where `block`'s round starts (exclusive): the `found_ms` of the previous block of the same kind
/// — the previous shared block for a shared one, the finder's previous solo block for a solo one —
/// whatever its status (an orphaned block still closed its round). None: the round starts at the
/// first share. Blocks found in the same millisecond share their round.
pub async fn round_start_after(db: &Db, block: &BlockRow) -> anyhow::Result<Option<i64>> {
    let found = block.found_ms;
    let prev: Option<i64> = if block.is_solo() {
        let q = "SELECT MAX(found_ms) FROM blocks WHERE scheme = 'solo' AND finder_id = $1 AND found_ms < $2";
        crate::on_db!(db, |p| sqlx::query_scalar(q).bind(block.finder_id).bind(found).fetch_one(p).await)?
    } else {
        let q = "SELECT MAX(found_ms) FROM blocks WHERE scheme <> 'solo' AND found_ms < $1";
        crate::on_db!(db, |p| sqlx::query_scalar(q).bind(found).fetch_one(p).await)?
    };
    Ok(prev)
}

/// The `found_ms` of the newest shared block: the open round starts after it.
pub async fn newest_shared_found_ms(db: &Db) -> anyhow::Result<Option<i64>> {
    let q = "SELECT MAX(found_ms) FROM blocks WHERE scheme <> 'solo'";
    Ok(crate::on_db!(db, |p| sqlx::query_scalar(q).fetch_one(p).await)?)
}
