//! What the statistics refresher keeps between refreshes, so each refresh reads only what changed:
//! the per-minute work of the last 24 hours (the newest minutes re-read every time, everything
//! every few minutes to pick up late writes from other instances), and the open round's work
//! (only shares newer than the last read are added; a new shared block starts it again).

use crate::ledger::db::Db;
use crate::ledger::{blocks, queries};
use pool_core::U256;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;
/// Minutes re-read on every refresh (group commits and several instances land late).
const RECENT_MINUTES: i64 = 3;
/// Everything re-read this often.
const FULL_EVERY_MS: i64 = 10 * MINUTE_MS;
/// Shares newer than this are left for the next refresh (batches still committing).
const SETTLE_MS: i64 = 5_000;

/// Pool-wide accepted work per minute over `span_ms`.
pub struct MinuteCache {
    span_ms: i64,
    minutes: BTreeMap<i64, U256>,
    full_at: Option<i64>,
}

impl MinuteCache {
    pub fn new(span_ms: i64) -> Self {
        MinuteCache { span_ms, minutes: BTreeMap::new(), full_at: None }
    }

    pub async fn refresh(&mut self, db: &Db, now_ms: i64) -> Result<&BTreeMap<i64, U256>, sqlx::Error> {
        let oldest = now_ms - self.span_ms - MINUTE_MS;
        let full = self.full_at.is_none_or(|t| now_ms - t >= FULL_EVERY_MS);
        let since =
            if full { oldest } else { now_ms - now_ms.rem_euclid(MINUTE_MS) - RECENT_MINUTES * MINUTE_MS };
        let fresh = queries::minute_work(db, since, None).await?;
        if full {
            self.minutes = fresh;
            self.full_at = Some(now_ms);
        } else {
            let stale: Vec<i64> = self.minutes.range(since..).map(|(m, _)| *m).collect();
            for m in stale {
                self.minutes.remove(&m);
            }
            self.minutes.extend(fresh);
        }
        self.minutes = self.minutes.split_off(&oldest);
        Ok(&self.minutes)
    }
}

/// The open shared round's work. Shares written later than [`SETTLE_MS`] after their time (a spool
/// replayed after a database outage) are missed here until the next block; the block's recorded
/// effort, computed by the unlocker from the stored shares, always has them.
#[derive(Default)]
pub struct RoundTracker {
    /// The round starts after this block's `found_ms` (None: at the first share).
    after: Option<Option<i64>>,
    read_to: i64,
    work: U256,
}

impl RoundTracker {
    /// (the round's start, its work so far).
    pub async fn refresh(&mut self, db: &Db, now_ms: i64) -> anyhow::Result<(Option<i64>, U256)> {
        let after = blocks::newest_shared_found_ms(db).await?;
        if self.after != Some(after) {
            *self = RoundTracker { after: Some(after), read_to: after.unwrap_or(-1), work: U256::ZERO };
        }
        let until = now_ms - SETTLE_MS;
        if until > self.read_to {
            let more = queries::shared_work_between(db, Some(self.read_to), until).await?;
            self.work = self.work.checked_add(more).unwrap_or(U256::MAX);
            self.read_to = until;
        }
        Ok((after, self.work))
    }
}
