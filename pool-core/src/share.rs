//! The verdict on one share, as pure functions: from the issued work, its freshness and the hash
//! verdict to `Result<Accepted, ShareRejection>`.
//!
//! * The network target is checked first and independently: a block-grade share is always accepted
//!   (even on a stale job: the block is submitted and may still be paid as a side block).
//! * Then the share target of the **issue** the share names: work issued before a difficulty change
//!   keeps its own difficulty until the miner switches, so a share at the previous difficulty is
//!   credited at that difficulty.
//! * Then freshness: a stale job's share is refused (21) but never counts toward a ban.
//!
//! Every [`ShareRejection`] maps to exactly one wire error ([`ShareRejection::wire`]) and says
//! whether it counts toward a ban ([`ShareRejection::ban_outcome`]).

use crate::difficulty::Difficulty;
use crate::hash::Hash;
use crate::issue::Issue;
use crate::jobs::Freshness;
use crate::policy::ShareOutcome;
use crate::stratum::StratumError;
use crate::verify::Verdict;
use std::sync::Arc;

/// An accepted share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The difficulty credited, exact: the issue's (the network's for a block whose issue asked
    /// for more than a block).
    pub difficulty: Difficulty,
    /// The hash also meets the network target: a block.
    pub is_block: bool,
    pub hash: Hash,
}

/// Why a share is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ShareRejection {
    #[error("the connection is not authorized")]
    Unauthorized,
    #[error("over the submit rate limit")]
    RateLimited,
    #[error("the nonce is not 16 hex characters")]
    Malformed,
    #[error("a job id this connection was never sent")]
    UnknownJob,
    #[error("a job that is no longer current")]
    Stale,
    #[error("no node has confirmed the work for too long")]
    NoLiveNode,
    #[error("a nonce already submitted for this job")]
    Duplicate,
    #[error("the hash does not meet the share target")]
    LowDifficulty,
    #[error("the share could not be recorded")]
    NotRecorded,
}

impl ShareRejection {
    /// The error the miner is sent.
    pub fn wire(self) -> StratumError {
        match self {
            Self::Unauthorized => StratumError::Unauthorized,
            Self::RateLimited => StratumError::RateLimited,
            Self::Malformed => StratumError::InvalidParams,
            Self::UnknownJob => StratumError::JobNotFound,
            Self::Stale => StratumError::StaleJob,
            Self::NoLiveNode => StratumError::NoLiveNode,
            Self::Duplicate => StratumError::Duplicate,
            Self::LowDifficulty => StratumError::LowDifficulty,
            Self::NotRecorded => StratumError::NotRecorded,
        }
    }

    /// How the rejection counts for the per-IP ban score: junk counts, the pool's own
    /// circumstances (stale work, a dead node, storage, the rate limit) never do.
    pub fn ban_outcome(self) -> ShareOutcome {
        match self {
            Self::Malformed | Self::UnknownJob | Self::Duplicate | Self::LowDifficulty => {
                ShareOutcome::Invalid
            }
            Self::Unauthorized | Self::RateLimited | Self::Stale | Self::NoLiveNode | Self::NotRecorded => {
                ShareOutcome::Neutral
            }
        }
    }
}

/// The verdict on a share submitted on `issue`, whose job is `freshness`, with hash `verdict`.
pub fn judge(issue: &Issue, freshness: Freshness, verdict: &Verdict) -> Result<Accepted, ShareRejection> {
    if verdict.meets_network {
        let difficulty =
            if verdict.meets_share { issue.difficulty } else { issue.job.template.network_difficulty };
        return Ok(Accepted { difficulty, is_block: true, hash: verdict.hash });
    }
    if !verdict.meets_share {
        return Err(ShareRejection::LowDifficulty);
    }
    match freshness {
        Freshness::Current | Freshness::Grace => {
            Ok(Accepted { difficulty: issue.difficulty, is_block: false, hash: verdict.hash })
        }
        Freshness::Stale => Err(ShareRejection::Stale),
        Freshness::Expired => Err(ShareRejection::NoLiveNode),
    }
}

/// tosminer's job race (it checks a nonce on the previous header, then labels it with the job id
/// that just arrived): a share judged low-difficulty on the connection's **newest** issue, sent
/// within `window_ms` of that issue, is worth one more hash on the issue sent before it.
/// `previous` is given only when the share named the newest issue.
pub fn race_retry<'a>(
    outcome: &Result<Accepted, ShareRejection>,
    newest: &Issue,
    previous: Option<&'a Arc<Issue>>,
    previous_freshness: Freshness,
    now_ms: u64,
    window_ms: u64,
) -> Option<&'a Arc<Issue>> {
    if *outcome != Err(ShareRejection::LowDifficulty) || !previous_freshness.counts() {
        return None;
    }
    previous.filter(|_| now_ms.saturating_sub(newest.issued_ms) <= window_ms)
}

/// The verdict on the race retry: credited as `previous` (its difficulty, its duplicate key) if
/// the hash on its header meets its target; otherwise the original low-difficulty rejection.
pub fn judge_race(
    previous: &Issue,
    freshness: Freshness,
    nonce: [u8; 8],
    verdict: &Verdict,
) -> Result<Accepted, ShareRejection> {
    let accepted = judge(previous, freshness, verdict)?;
    if !previous.claim(nonce) {
        return Err(ShareRejection::Duplicate);
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;
    use crate::issue::ConnectionWork;
    use crate::jobs::tests::template_with;
    use crate::jobs::{FreshnessRules, JobStore};

    /// A hash just at, and just above, a target.
    fn at(t: Target) -> Hash {
        t.to_be_bytes()
    }
    fn above(t: Target) -> Hash {
        t.value().checked_add(crate::U256::ONE).expect("not MAX").to_be_bytes()
    }

    fn verdict(issue: &Issue, hash: Hash) -> Verdict {
        Verdict {
            hash,
            meets_share: issue.target.is_met_by(&hash),
            meets_network: issue.job.template.network_target.is_met_by(&hash),
        }
    }

    /// A connection with an issue at difficulty `share` on a job of network difficulty `network`.
    fn setup(share: u64, network: u64) -> (JobStore, ConnectionWork, Arc<Issue>) {
        let mut store = JobStore::new(7, FreshnessRules::default());
        let job = store.push(template_with(10, 0, network), 0);
        let mut work = ConnectionWork::new(7, 0, 1, 8);
        let issue = work.issue(&job, Difficulty::from_u64(share).unwrap(), 0);
        (store, work, issue)
    }

    #[test]
    fn every_outcome() {
        let (_, _, issue) = setup(16, 1000);
        let d16 = Difficulty::from_u64(16).unwrap();
        let ok = |hash| Ok(Accepted { difficulty: d16, is_block: false, hash });
        let share_hash = at(issue.target);
        let v = verdict(&issue, share_hash);
        assert_eq!(judge(&issue, Freshness::Current, &v), ok(share_hash), "hash = target meets it");
        assert_eq!(judge(&issue, Freshness::Grace, &v), ok(share_hash));
        assert_eq!(judge(&issue, Freshness::Stale, &v), Err(ShareRejection::Stale));
        assert_eq!(judge(&issue, Freshness::Expired, &v), Err(ShareRejection::NoLiveNode));
        let low = verdict(&issue, above(issue.target));
        assert_eq!(judge(&issue, Freshness::Current, &low), Err(ShareRejection::LowDifficulty));
        // A block, on a current and on a stale job: accepted either way, flagged as a block.
        let block_hash = at(issue.job.template.network_target);
        let b = verdict(&issue, block_hash);
        for f in [Freshness::Current, Freshness::Stale, Freshness::Expired] {
            assert_eq!(
                judge(&issue, f, &b),
                Ok(Accepted { difficulty: d16, is_block: true, hash: block_hash })
            );
        }
    }

    #[test]
    fn a_block_whose_issue_asked_for_more_than_a_block_is_credited_at_the_network_difficulty() {
        let (_, _, issue) = setup(5000, 1000);
        let hash = at(issue.job.template.network_target);
        let v = verdict(&issue, hash);
        assert!(v.meets_network && !v.meets_share);
        let a = judge(&issue, Freshness::Current, &v).unwrap();
        assert!(a.is_block);
        assert_eq!(a.difficulty, Difficulty::from_u64(1000).unwrap());
    }

    #[test]
    fn a_share_at_the_previous_difficulty_is_credited_at_that_difficulty() {
        let (_, mut work, old) = setup(16, 100_000);
        let newer = work.issue(&old.job, Difficulty::from_u64(64).unwrap(), 10);
        // Meets 16 but not 64: fine on the old issue, low on the new one.
        let hash = at(old.target);
        assert_eq!(judge(&old, Freshness::Current, &verdict(&old, hash)).unwrap().difficulty, old.difficulty);
        assert_eq!(
            judge(&newer, Freshness::Current, &verdict(&newer, hash)),
            Err(ShareRejection::LowDifficulty)
        );
    }

    #[test]
    fn every_rejection_has_one_wire_code_and_a_ban_rule() {
        use ShareRejection::*;
        let all = [
            Unauthorized,
            RateLimited,
            Malformed,
            UnknownJob,
            Stale,
            NoLiveNode,
            Duplicate,
            LowDifficulty,
            NotRecorded,
        ];
        let codes: Vec<i32> = all.iter().map(|r| r.wire().code()).collect();
        assert_eq!(codes, [24, -1, 20, 21, 21, 21, 22, 23, 20]);
        let wires: std::collections::HashSet<_> = all.iter().map(|r| r.wire()).collect();
        assert_eq!(wires.len(), all.len(), "one wire error per rejection");
        let counted: Vec<_> = all.iter().filter(|r| r.ban_outcome() == ShareOutcome::Invalid).collect();
        assert_eq!(counted, [&Malformed, &UnknownJob, &Duplicate, &LowDifficulty], "stale never counts");
    }

    #[test]
    fn the_job_race_is_credited_as_the_previous_issue_once() {
        let mut store = JobStore::new(7, FreshnessRules::default());
        let job_a = store.push(template_with(10, 0, 100_000), 0);
        let job_b = store.push(template_with(11, 0, 100_000), 1_000);
        let mut work = ConnectionWork::new(7, 0, 1, 8);
        let previous = work.issue(&job_a, Difficulty::from_u64(16).unwrap(), 0);
        let newest = work.issue(&job_b, Difficulty::from_u64(32).unwrap(), 1_000);
        let prev_ref = work.before_latest().cloned();
        let low: Result<Accepted, ShareRejection> = Err(ShareRejection::LowDifficulty);
        let fresh = store.freshness(&job_a, 1_500);
        assert_eq!(fresh, Freshness::Grace);
        // Retried only for a low-difficulty verdict, only within the window, only while fresh.
        let retry = race_retry(&low, &newest, prev_ref.as_ref(), fresh, 1_500, 2_000);
        assert!(retry.is_some_and(|p| Arc::ptr_eq(p, &previous)));
        assert!(race_retry(&low, &newest, prev_ref.as_ref(), fresh, 3_001, 2_000).is_none());
        assert!(race_retry(&low, &newest, prev_ref.as_ref(), Freshness::Stale, 1_500, 2_000).is_none());
        assert!(race_retry(&low, &newest, None, fresh, 1_500, 2_000).is_none());
        let dup: Result<Accepted, ShareRejection> = Err(ShareRejection::Duplicate);
        assert!(race_retry(&dup, &newest, prev_ref.as_ref(), fresh, 1_500, 2_000).is_none());
        // The hash on the previous header meets its target: credited at its difficulty, once.
        let nonce = [3; 8];
        let v = verdict(&previous, at(previous.target));
        let a = judge_race(&previous, fresh, nonce, &v).unwrap();
        assert_eq!(a.difficulty, previous.difficulty);
        assert_eq!(judge_race(&previous, fresh, nonce, &v), Err(ShareRejection::Duplicate));
        assert!(!previous.claim(nonce), "the previous issue's duplicate key is taken");
        // Not meeting the previous target either: still low difficulty.
        let miss = verdict(&previous, above(previous.target));
        assert_eq!(judge_race(&previous, fresh, [4; 8], &miss), Err(ShareRejection::LowDifficulty));
        assert!(previous.claim([4; 8]), "a refused retry takes no duplicate key");
    }
}
