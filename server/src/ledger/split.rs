//! A block's split computed from the stored shares — the one code path the unlocker credits with
//! and `tos-pool audit block` recomputes with.
//!
//! * **Solo block**: [`split_solo`] — the finder alone, `rewards.solo_fee`. Its round (for effort)
//!   is the finder's solo shares since its previous solo block.
//! * **Shared block**: [`explain_shared`] with
//!   * the **round**: every non-solo share with `created_ms` in (previous shared block's
//!     `found_ms`, this block's `found_ms`], summed per miner and scheme (PostgreSQL sums exactly in
//!     `NUMERIC`; SQLite streams the rows and sums in Rust);
//!   * the **PPLNS window**: PPLNS shares with `created_ms ≤ found_ms`, newest first (ties: larger
//!     share id first, the same order on both databases), read a page at a time only until
//!     `ceil(factor × D)` is reached. The shares that fit entirely are handed to the split summed
//!     per miner, followed by the crossing share on its own, which gives exactly the per-miner window
//!     work of the share-by-share stream with memory per miner, not per share.
//!
//! Difficulties are read as decimal text (`CAST(… AS TEXT)`: exact on both dialects), never as
//! floats.

use super::blocks::{self, BlockRow};
use super::db::Db;
use futures::TryStreamExt as _;
use pool_core::reward::{
    BlockSplit, FeeBp, Ratio, Scheme, ShareWork, SplitExplanation, effort_bp, explain_shared, split_solo,
    window_target,
};
use pool_core::{Difficulty, U256};
use std::collections::BTreeMap;

/// Rows per page of the PPLNS window walk.
const WINDOW_PAGE: i64 = 4_096;

/// The terms a block is split under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// `rewards.fee` for a shared block, `rewards.solo_fee` for a solo one.
    pub fee: FeeBp,
    pub pplns_factor: Ratio,
}

impl Terms {
    /// The terms of the configuration for `block`.
    pub fn for_block(rewards: &crate::config::Rewards, block: &BlockRow) -> Terms {
        Terms {
            fee: if block.is_solo() { rewards.solo_fee } else { rewards.fee },
            pplns_factor: rewards.pplns_factor,
        }
    }

    /// The factor as stored: `num/den`.
    pub fn factor_text(&self) -> String {
        format!("{}/{}", self.pplns_factor.num(), self.pplns_factor.den())
    }

    /// Terms read back from a settlement row.
    pub fn from_stored(fee_bp: i64, factor: &str) -> anyhow::Result<Terms> {
        let fee = u32::try_from(fee_bp)
            .ok()
            .and_then(|b| FeeBp::new(b).ok())
            .ok_or_else(|| anyhow::anyhow!("stored fee {fee_bp} bp is not a fee"))?;
        let (n, d) = factor.split_once('/').ok_or_else(|| anyhow::anyhow!("stored factor {factor:?}"))?;
        let pplns_factor = Ratio::new(n.parse()?, d.parse()?)?;
        Ok(Terms { fee, pplns_factor })
    }
}

/// One miner's work behind a block's split.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinerWork {
    /// Work in the PPLNS window (the crossing share only for the part that fits).
    pub window: U256,
    /// Work in the round, every scheme but solo (for a solo block: the finder's solo work).
    pub round: U256,
}

/// The PPLNS window as read from the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowRead {
    /// `ceil(factor × D)`.
    pub target: U256,
    /// Shares read (the last one possibly only in part).
    pub shares: u64,
    /// `created_ms` of the oldest share read: nothing older is needed. None: no PPLNS share.
    pub start_ms: Option<i64>,
    /// Whether the window reached its target (otherwise it holds every PPLNS share there is).
    pub full: bool,
    /// The shares that fit entirely, summed per miner.
    whole: BTreeMap<i64, U256>,
    /// The share that crossed the target, whole (the split cuts it).
    crossing: Option<(i64, Difficulty)>,
}

impl WindowRead {
    /// The window as the split's share stream: the whole shares per miner, then the crossing one.
    pub fn stream(&self) -> Vec<ShareWork<i64>> {
        let whole = self.whole.iter().map(|(&miner, &w)| ShareWork {
            miner,
            difficulty: Difficulty::new(w).expect("a sum of difficulties is never zero"),
            scheme: Scheme::Pplns,
        });
        let crossing =
            self.crossing.map(|(miner, difficulty)| ShareWork { miner, difficulty, scheme: Scheme::Pplns });
        whole.chain(crossing).collect()
    }
}

/// A block's split and everything it was computed from.
#[derive(Clone, Debug)]
pub struct Computed {
    pub split: BlockSplit<i64>,
    /// Shared blocks: every weight and portion.
    pub explanation: Option<SplitExplanation<i64>>,
    pub terms: Terms,
    /// Σ round work (non-solo shares; for a solo block, the finder's solo shares).
    pub round_work: U256,
    pub effort_bp: u64,
    /// The round is the shares after this `found_ms` (None: from the first share).
    pub round_after_ms: Option<i64>,
    /// Shared blocks whose round had PPLNS work.
    pub window: Option<WindowRead>,
    pub work: BTreeMap<i64, MinerWork>,
}

impl Computed {
    /// The oldest `created_ms` this block's split reads (shares older than it are not needed).
    pub fn needs_from_ms(&self) -> i64 {
        let round = self.round_after_ms.map_or(0, |t| t.saturating_add(1));
        match self.window.as_ref().and_then(|w| w.start_ms) {
            Some(w) => round.min(w),
            None => round,
        }
    }
}

/// Which shares a round is.
enum RoundOf {
    /// Every non-solo share.
    Shared,
    /// One miner's solo shares.
    Solo(i64),
}

/// Round work per (miner, scheme) for shares with `created_ms` in (`after`, `until`].
async fn round_work(
    db: &Db,
    of: &RoundOf,
    after: Option<i64>,
    until: i64,
) -> anyhow::Result<BTreeMap<(i64, Scheme), U256>> {
    let after = after.unwrap_or(i64::MIN);
    const PG_SHARED: &str = "SELECT miner_id, scheme, CAST(SUM(difficulty) AS TEXT) FROM shares \
         WHERE created_ms > $1 AND created_ms <= $2 AND scheme <> 'solo' GROUP BY miner_id, scheme";
    const PG_SOLO: &str = "SELECT miner_id, scheme, CAST(SUM(difficulty) AS TEXT) FROM shares \
         WHERE created_ms > $1 AND created_ms <= $2 AND scheme = 'solo' AND miner_id = $3 GROUP BY miner_id, scheme";
    // No exact wide sums in SQLite: the rows are streamed and summed here.
    const SQLITE_SHARED: &str = "SELECT miner_id, scheme, difficulty FROM shares \
         WHERE created_ms > $1 AND created_ms <= $2 AND scheme <> 'solo'";
    const SQLITE_SOLO: &str = "SELECT miner_id, scheme, difficulty FROM shares \
         WHERE created_ms > $1 AND created_ms <= $2 AND scheme = 'solo' AND miner_id = $3";
    let solo_miner = match of {
        RoundOf::Solo(m) => Some(*m),
        RoundOf::Shared => None,
    };
    let mut out: BTreeMap<(i64, Scheme), U256> = BTreeMap::new();
    let mut add = |miner: i64, scheme: &str, d: &str| -> anyhow::Result<()> {
        let scheme = scheme.parse::<Scheme>().map_err(|e| anyhow::anyhow!("a stored share: {e}"))?;
        let d = U256::from_dec_str(d).map_err(|e| anyhow::anyhow!("a stored share difficulty {d:?}: {e}"))?;
        let e = out.entry((miner, scheme)).or_insert(U256::ZERO);
        *e = e.checked_add(d).ok_or_else(|| anyhow::anyhow!("round work exceeds 2^256 - 1"))?;
        Ok(())
    };
    match db {
        Db::Pg(p) => {
            let q = if solo_miner.is_some() { PG_SOLO } else { PG_SHARED };
            let mut query = sqlx::query_as::<_, (i64, String, String)>(q).bind(after).bind(until);
            if let Some(m) = solo_miner {
                query = query.bind(m);
            }
            let rows = query.fetch_all(p).await?;
            for (m, s, d) in rows {
                add(m, &s, &d)?;
            }
        }
        Db::Sqlite(p) => {
            let q = if solo_miner.is_some() { SQLITE_SOLO } else { SQLITE_SHARED };
            let mut query = sqlx::query_as::<_, (i64, String, String)>(q).bind(after).bind(until);
            if let Some(m) = solo_miner {
                query = query.bind(m);
            }
            let mut rows = query.fetch(p);
            while let Some((m, s, d)) = rows.try_next().await? {
                add(m, &s, &d)?;
            }
        }
    }
    Ok(out)
}

/// Walks the PPLNS window of a block found at `until` (newest first) until `target` is reached.
pub async fn read_window(db: &Db, factor: Ratio, d: Difficulty, until: i64) -> anyhow::Result<WindowRead> {
    let target = window_target(factor, d);
    let mut w = WindowRead { target, ..WindowRead::default() };
    let mut filled = U256::ZERO;
    let mut cursor: Option<(i64, Vec<u8>)> = None;
    const FIRST: &str = "SELECT miner_id, CAST(difficulty AS TEXT), created_ms, share_id FROM shares \
         WHERE scheme = 'pplns' AND created_ms <= $1 ORDER BY created_ms DESC, share_id DESC LIMIT $2";
    const NEXT: &str = "SELECT miner_id, CAST(difficulty AS TEXT), created_ms, share_id FROM shares \
         WHERE scheme = 'pplns' AND (created_ms < $3 OR (created_ms = $3 AND share_id < $4)) \
         ORDER BY created_ms DESC, share_id DESC LIMIT $2";
    loop {
        let page: Vec<(i64, String, i64, Vec<u8>)> = match &cursor {
            None => {
                crate::on_db!(db, |p| sqlx::query_as(FIRST).bind(until).bind(WINDOW_PAGE).fetch_all(p).await)?
            }
            Some((ms, id)) => crate::on_db!(db, |p| sqlx::query_as(NEXT)
                .bind(until)
                .bind(WINDOW_PAGE)
                .bind(*ms)
                .bind(id.as_slice())
                .fetch_all(p)
                .await)?,
        };
        let last_page = (page.len() as i64) < WINDOW_PAGE;
        for (miner, d, created_ms, share_id) in page {
            let d = Difficulty::from_dec_str(&d)
                .map_err(|e| anyhow::anyhow!("a stored share difficulty {d:?}: {e}"))?;
            w.shares += 1;
            w.start_ms = Some(created_ms);
            let sum = filled.checked_add(d.value()).unwrap_or(U256::MAX);
            if sum >= target {
                w.crossing = Some((miner, d));
                w.full = true;
                return Ok(w);
            }
            filled = sum;
            let e = w.whole.entry(miner).or_insert(U256::ZERO);
            *e = e.checked_add(d.value()).expect("below the target");
            cursor = Some((created_ms, share_id));
        }
        if last_page {
            return Ok(w);
        }
    }
}

/// Computes `block`'s split of `reward` under `terms` from the stored shares.
pub async fn compute(db: &Db, block: &BlockRow, reward: u64, terms: Terms) -> anyhow::Result<Computed> {
    let d = block.network_difficulty;
    let after = blocks::round_start_after(db, block).await?;
    let mut work: BTreeMap<i64, MinerWork> = BTreeMap::new();
    if block.is_solo() {
        let round = round_work(db, &RoundOf::Solo(block.finder_id), after, block.found_ms).await?;
        let round_work = round.values().fold(U256::ZERO, |a, &b| a.checked_add(b).unwrap_or(U256::MAX));
        work.entry(block.finder_id).or_default().round = round_work;
        return Ok(Computed {
            split: split_solo(reward, terms.fee, block.finder_id),
            explanation: None,
            terms,
            round_work,
            effort_bp: effort_bp(round_work, d),
            round_after_ms: after,
            window: None,
            work,
        });
    }
    let sums = round_work(db, &RoundOf::Shared, after, block.found_ms).await?;
    let round: Vec<ShareWork<i64>> = sums
        .iter()
        .map(|(&(miner, scheme), &w)| ShareWork {
            miner,
            difficulty: Difficulty::new(w).expect("a sum of difficulties is never zero"),
            scheme,
        })
        .collect();
    for (&(miner, _), &w) in &sums {
        let e = &mut work.entry(miner).or_default().round;
        *e = e.checked_add(w).unwrap_or(U256::MAX);
    }
    let has_pplns = sums.keys().any(|(_, s)| *s == Scheme::Pplns);
    let window =
        if has_pplns { Some(read_window(db, terms.pplns_factor, d, block.found_ms).await?) } else { None };
    let stream = window.as_ref().map(WindowRead::stream).unwrap_or_default();
    let explanation = explain_shared(reward, terms.fee, d, terms.pplns_factor, &round, stream)
        .map_err(|e| anyhow::anyhow!("block {}: {e}", block.hash_hex()))?;
    if let Some(w) = &explanation.window {
        for (&miner, &v) in &w.work {
            work.entry(miner).or_default().window = v;
        }
    }
    let round_work = explanation.round_work;
    Ok(Computed {
        split: explanation.split.clone(),
        explanation: Some(explanation),
        terms,
        round_work,
        effort_bp: effort_bp(round_work, d),
        round_after_ms: after,
        window,
        work,
    })
}
