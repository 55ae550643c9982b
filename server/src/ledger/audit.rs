//! `tos-pool audit block HASH`: a block's credits recomputed from the stored shares and compared
//! with what was credited.
//!
//! The recomputation is [`split::compute`] — `explain_shared` over the round and PPLNS window read
//! from `shares`, or `split_solo` — with the reward and the terms (fee, PPLNS factor) stored in the
//! block's settlement, so a later change of the configuration does not show as a difference. Per
//! miner it shows the work in the window and in the round, the share of its group's portion, the
//! computed credit, the stored credit and any difference; then the settlement (reward, pool fee, PPS
//! fund) and effort. Any difference — a credit, the pool fee, the PPS fund, or stored rows that do
//! not add up to the reward — makes [`Audit::has_difference`] true (the command exits 1).
//!
//! A shared block whose shares were pruned (older than `retention.share_days`) cannot be audited:
//! the command says so instead of reporting differences.

use super::blocks::{self, BlockRow, status};
use super::db::Db;
use super::split::{self, Computed, Terms};
use crate::config::Rewards;
use pool_core::U256;
use pool_core::reward::Scheme;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The settlement row of the audited stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSettlement {
    pub stage: String,
    pub reward: i64,
    pub pool_fee: i64,
    pub pps_fund: i64,
    pub fee_bp: Option<i64>,
    pub pplns_factor: Option<String>,
}

/// One miner's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLine {
    pub miner_id: i64,
    pub address: String,
    pub window_work: U256,
    pub round_work: U256,
    /// (group, parts per million of the group's portion).
    pub shares_ppm: Vec<(Scheme, u64)>,
    pub computed: u64,
    pub stored: u64,
}

impl AuditLine {
    /// stored − computed.
    pub fn difference(&self) -> i128 {
        self.stored as i128 - self.computed as i128
    }
}

/// A block's audit.
#[derive(Clone, Debug)]
pub struct Audit {
    pub block: BlockRow,
    pub finder: String,
    pub settlement: Option<StoredSettlement>,
    pub computed: Option<Computed>,
    pub lines: Vec<AuditLine>,
    /// Money differences (each makes the audit fail).
    pub differences: Vec<String>,
    /// Remarks that are not money (effort recorded differently, nothing to audit…).
    pub notes: Vec<String>,
}

impl Audit {
    pub fn has_difference(&self) -> bool {
        !self.differences.is_empty()
    }
}

async fn address(db: &Db, miner_id: i64) -> anyhow::Result<String> {
    let q = "SELECT address FROM miners WHERE id = $1";
    let a: Option<String> =
        crate::on_db!(db, |p| sqlx::query_scalar(q).bind(miner_id).fetch_optional(p).await)?;
    Ok(a.unwrap_or_else(|| format!("(miner {miner_id})")))
}

/// reward, pool_fee, pps_fund, fee_bp, pplns_factor.
type SettlementRow = (i64, i64, i64, Option<i64>, Option<String>);

async fn settlement(db: &Db, block_id: &[u8], stage: &str) -> anyhow::Result<Option<StoredSettlement>> {
    let q = "SELECT reward, pool_fee, pps_fund, CAST(fee_bp AS BIGINT), pplns_factor FROM settlements \
             WHERE block_id = $1 AND stage = $2";
    let row: Option<SettlementRow> =
        crate::on_db!(db, |p| sqlx::query_as(q).bind(block_id).bind(stage).fetch_optional(p).await)
            .map_err(|e| anyhow::anyhow!("{e} (is the database migrated? run `tos-pool migrate`)"))?;
    Ok(row.map(|(reward, pool_fee, pps_fund, fee_bp, pplns_factor)| StoredSettlement {
        stage: stage.to_owned(),
        reward,
        pool_fee,
        pps_fund,
        fee_bp,
        pplns_factor,
    }))
}

async fn stored_credits(db: &Db, block_id: &[u8], stage: &str) -> anyhow::Result<BTreeMap<i64, i64>> {
    let q = "SELECT miner_id, amount FROM credits WHERE block_id = $1 AND stage = $2";
    let rows: Vec<(i64, i64)> =
        crate::on_db!(db, |p| sqlx::query_as(q).bind(block_id).bind(stage).fetch_all(p).await)?;
    Ok(rows.into_iter().collect())
}

async fn own_share_stored(db: &Db, block_id: &[u8]) -> anyhow::Result<bool> {
    let q = "SELECT COUNT(*) FROM shares WHERE share_id = $1";
    let n: i64 = crate::on_db!(db, |p| sqlx::query_scalar(q).bind(block_id).fetch_one(p).await)?;
    Ok(n > 0)
}

/// Audits block `block_id`. `rewards`: the configuration's terms, used only for a settlement
/// written before terms were stored.
pub async fn audit_block(db: &Db, block_id: &[u8], rewards: Option<&Rewards>) -> anyhow::Result<Audit> {
    let hash = hex::encode(block_id);
    let block = blocks::by_id(db, block_id).await?.ok_or_else(|| {
        anyhow::anyhow!("block {hash} is not in this ledger (check the hash and the database URL)")
    })?;
    let finder = format!("{}.{}", address(db, block.finder_id).await?, block.finder_worker);
    let mut audit = Audit {
        block: block.clone(),
        finder,
        settlement: None,
        computed: None,
        lines: Vec::new(),
        differences: Vec::new(),
        notes: Vec::new(),
    };
    let stage = match block.status.as_str() {
        status::MATURE => "mature",
        status::IMMATURE => "immature",
        other => {
            audit.notes.push(format!("the block is {other}: nothing is credited for it, nothing to audit"));
            return Ok(audit);
        }
    };
    let Some(stored) = settlement(db, block_id, stage).await? else {
        audit.differences.push(format!("the block is {stage} but has no {stage} settlement row"));
        return Ok(audit);
    };
    let terms = match (stored.fee_bp, stored.pplns_factor.as_deref(), rewards) {
        (Some(fee), Some(factor), _) => Terms::from_stored(fee, factor)?,
        (_, _, Some(r)) => {
            audit
                .notes
                .push("the settlement stores no terms: the configuration's fee and factor are used".into());
            Terms::for_block(r, &block)
        }
        _ => anyhow::bail!(
            "the settlement of block {hash} stores no fee or PPLNS factor: pass --config with the terms it was credited under"
        ),
    };
    if !block.is_solo() && !own_share_stored(db, block_id).await? {
        anyhow::bail!(
            "cannot audit block {hash}: its shares are no longer stored (pruned after retention.share_days); its credits, settlement and audit rows are kept"
        );
    }
    let reward =
        u64::try_from(stored.reward).map_err(|_| anyhow::anyhow!("stored reward {}", stored.reward))?;
    let computed = split::compute(db, &block, reward, terms).await?;
    let credits = stored_credits(db, block_id, stage).await?;

    let miners: BTreeSet<i64> =
        computed.split.credits.keys().chain(computed.work.keys()).chain(credits.keys()).copied().collect();
    for miner_id in miners {
        let work = computed.work.get(&miner_id).cloned().unwrap_or_default();
        let mut shares_ppm = Vec::new();
        if let Some(e) = &computed.explanation {
            for g in &e.groups {
                if let Some(line) = g.lines.iter().find(|l| l.miner == miner_id) {
                    shares_ppm.push((g.scheme, g.share_ppm(line)));
                }
            }
        } else if miner_id == block.finder_id {
            shares_ppm.push((Scheme::Solo, 1_000_000));
        }
        let line = AuditLine {
            miner_id,
            address: address(db, miner_id).await?,
            window_work: work.window,
            round_work: work.round,
            shares_ppm,
            computed: computed.split.credits.get(&miner_id).copied().unwrap_or(0),
            stored: credits.get(&miner_id).map_or(0, |&a| a.max(0) as u64),
        };
        if line.difference() != 0 {
            audit.differences.push(format!(
                "miner {} ({}): stored {} but the split gives {} ({:+})",
                miner_id,
                line.address,
                line.stored,
                line.computed,
                line.difference()
            ));
        }
        audit.lines.push(line);
    }
    for (what, stored_v, computed_v) in [
        ("pool fee", stored.pool_fee, computed.split.pool_fee),
        ("PPS fund", stored.pps_fund, computed.split.pps_fund),
    ] {
        if stored_v as i128 != computed_v as i128 {
            audit.differences.push(format!("{what}: stored {stored_v} but the split gives {computed_v}"));
        }
    }
    let stored_total: i128 = credits.values().map(|&a| a as i128).sum::<i128>()
        + stored.pool_fee as i128
        + stored.pps_fund as i128;
    if stored_total != stored.reward as i128 {
        audit.differences.push(format!(
            "the stored rows do not add up: credits + pool fee + PPS fund = {stored_total}, reward {}",
            stored.reward
        ));
    }
    if block.effort_bp != i64::try_from(computed.effort_bp).ok() {
        audit.notes.push(format!(
            "effort recorded {:?} bp, recomputed {} bp (shares arrived or were pruned since)",
            block.effort_bp, computed.effort_bp
        ));
    }
    audit.settlement = Some(stored);
    audit.computed = Some(computed);
    Ok(audit)
}

fn percent_bp(bp: u64) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

fn percent_ppm(ppm: u64) -> String {
    format!("{}.{:04} %", ppm / 10_000, ppm % 10_000)
}

impl Audit {
    /// The report as printed by `tos-pool audit block`.
    pub fn render(&self) -> String {
        let b = &self.block;
        let mut s = String::new();
        let _ = writeln!(s, "block {}", b.hash_hex());
        let _ = writeln!(
            s,
            "  height {} · scheme {} · finder {} · status {}{}",
            b.height,
            b.scheme,
            self.finder,
            b.status,
            match (&b.block_type, b.topoheight) {
                (Some(t), Some(topo)) => format!(" ({t}, topoheight {topo})"),
                (Some(t), None) => format!(" ({t})"),
                _ => String::new(),
            }
        );
        if let (Some(st), Some(c)) = (&self.settlement, &self.computed) {
            let credited: u64 = c.split.credits.values().sum();
            let _ = writeln!(
                s,
                "  settlement ({}): reward {} · fee {} → pool fee {} · PPS fund {} · miners {}",
                st.stage, st.reward, c.terms.fee, st.pool_fee, st.pps_fund, credited
            );
            let _ = writeln!(
                s,
                "  round: work {} (shares after {}) · network difficulty {} · effort {}",
                c.round_work,
                c.round_after_ms.map_or("the first share".to_owned(), |t| format!("found_ms {t}")),
                b.network_difficulty,
                percent_bp(c.effort_bp)
            );
            if let (Some(w), Some(e)) = (&c.window, &c.explanation) {
                let filled = e.window.as_ref().map_or(U256::ZERO, |w| w.filled);
                let cut = e.window.as_ref().map_or(U256::ZERO, |w| w.cut);
                let _ = writeln!(
                    s,
                    "  PPLNS window: factor {} · target {} · filled {} · {} shares read{}",
                    c.terms.pplns_factor,
                    w.target,
                    filled,
                    w.shares,
                    if cut.is_zero() { String::new() } else { format!(", the oldest counted except {cut}") }
                );
            }
            if let Some(e) = &c.explanation {
                let g = &e.groups;
                let _ = writeln!(
                    s,
                    "  portions: PPLNS {} (round work {}) · PROP {} ({}) · PPS {} ({}){}",
                    g[0].portion,
                    g[0].round_work,
                    g[1].portion,
                    g[1].round_work,
                    g[2].portion,
                    g[2].round_work,
                    if e.unassigned > 0 {
                        format!(" · unassigned to the pool {}", e.unassigned)
                    } else {
                        String::new()
                    }
                );
            }
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "  {:>8}  {:>22}  {:>22}  {:<28}  {:>16}  {:>16}  {:>11}  address",
                "miner", "window work", "round work", "share of portion", "computed", "stored", "difference"
            );
            for l in &self.lines {
                let share = if l.shares_ppm.is_empty() {
                    "-".to_owned()
                } else {
                    l.shares_ppm
                        .iter()
                        .map(|(g, p)| format!("{g} {}", percent_ppm(*p)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let diff = match l.difference() {
                    0 => "-".to_owned(),
                    d => format!("{d:+}"),
                };
                let _ = writeln!(
                    s,
                    "  {:>8}  {:>22}  {:>22}  {:<28}  {:>16}  {:>16}  {:>11}  {}",
                    l.miner_id,
                    l.window_work.to_string(),
                    l.round_work.to_string(),
                    share,
                    l.computed,
                    l.stored,
                    diff,
                    l.address
                );
            }
            let _ = writeln!(s);
        }
        for n in &self.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        if self.differences.is_empty() {
            if self.computed.is_some() {
                let _ = writeln!(s, "no difference: the stored credits are exactly the recomputed split");
            }
        } else {
            for d in &self.differences {
                let _ = writeln!(s, "DIFFERENCE: {d}");
            }
        }
        s
    }
}
