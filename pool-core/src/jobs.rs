//! Jobs: node templates turned into work, and how fresh each one is.
//!
//! * A [`Job`] is one node template. Job ids never repeat across restarts: they start with the
//!   process's start time.
//! * Freshness follows the **height**: every job of the current height is [`Freshness::Current`]
//!   (a transactions-only template change does not make the miner's work stale); when the height
//!   moves on, the older heights' jobs stay acceptable for `grace` (shares in flight when the chain
//!   moved), then become [`Freshness::Stale`] but stay known, so a block-grade share on them is still
//!   submitted (it may become a side block) — only the share is refused (code 21).
//! * When no node has confirmed a template for `max_age` (every node down), every job is
//!   [`Freshness::Expired`]: shares are refused as stale rather than credited on a dead template.
//!
//! Per-connection work (unique headers, duplicate nonces) is in [`crate::issue`].

use crate::difficulty::{Difficulty, Target};
use crate::work::{BlockTemplate, MinerWork};
use std::collections::VecDeque;
use std::sync::Arc;

/// A template from the node, parsed once.
#[derive(Debug)]
pub struct Template {
    pub template: BlockTemplate,
    /// The original hex: `submit_block` needs it unmodified.
    pub template_hex: Arc<str>,
    pub height: u64,
    pub network_difficulty: Difficulty,
    pub network_target: Target,
    /// Header with nonce 0 and the template's extra nonce and timestamp.
    pub base: MinerWork,
}

impl Template {
    pub fn new(
        template_hex: String,
        network_difficulty: Difficulty,
    ) -> Result<Self, crate::work::TemplateError> {
        let template = BlockTemplate::from_hex(&template_hex)?;
        Ok(Template {
            height: template.height,
            network_target: network_difficulty.target(),
            network_difficulty,
            base: template.miner_work(),
            template,
            template_hex: template_hex.into(),
        })
    }

    /// Same tips and transactions (same work hash)?
    pub fn same_work(&self, other: &Template) -> bool {
        self.base.work_hash() == other.base.work_hash()
    }
}

/// One job: a template at a moment.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub template: Arc<Template>,
    pub created_ms: u64,
    /// True when the height changed: miners must drop older work.
    pub clean: bool,
}

/// How fresh a job is when a share on it is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// A job of the current height.
    Current,
    /// Of an older height, replaced less than `grace` ago: shares still count.
    Grace,
    /// Replaced longer ago, or forgotten: shares are refused, blocks still submitted.
    Stale,
    /// No node has confirmed a template for `max_age`: the work may be long dead.
    Expired,
}

impl Freshness {
    /// Shares on this job are credited.
    pub fn counts(self) -> bool {
        matches!(self, Freshness::Current | Freshness::Grace)
    }
}

/// Freshness rules.
#[derive(Clone, Copy, Debug)]
pub struct FreshnessRules {
    /// How long an older height's jobs stay acceptable after the height moved on.
    pub grace_ms: u64,
    /// How long the work stays valid without any node confirming a template.
    pub max_age_ms: u64,
    /// Jobs remembered at most (shares on forgotten jobs are stale).
    pub keep: usize,
}

impl Default for FreshnessRules {
    fn default() -> Self {
        FreshnessRules { grace_ms: 2_000, max_age_ms: 120_000, keep: 64 }
    }
}

/// The recent jobs, newest last.
pub struct JobStore {
    /// Each job with the time a higher height replaced it (None: still of the current height).
    jobs: VecDeque<(Arc<Job>, Option<u64>)>,
    rules: FreshnessRules,
    epoch_ms: u64,
    counter: u64,
    /// The last time a node answered with a template (changed or not).
    confirmed_ms: u64,
}

impl JobStore {
    /// `epoch_ms`: the process start time (makes ids unique across restarts).
    pub fn new(epoch_ms: u64, rules: FreshnessRules) -> Self {
        let rules = FreshnessRules { keep: rules.keep.max(2), ..rules };
        JobStore { jobs: VecDeque::new(), rules, epoch_ms, counter: 0, confirmed_ms: 0 }
    }

    /// The prefix every job id of this process starts with.
    pub fn id_prefix(epoch_ms: u64) -> String {
        format!("{epoch_ms:x}")
    }

    /// Adds a job for `template` (and counts as a node confirmation); `clean` when the height
    /// changed since the current job.
    pub fn push(&mut self, template: Arc<Template>, now_ms: u64) -> Arc<Job> {
        let clean = self.current().is_none_or(|j| j.template.height != template.height);
        self.counter += 1;
        // Start time in ms: restarts a moment apart never share an id.
        let id = format!("{}{:05x}", Self::id_prefix(self.epoch_ms), self.counter);
        let job = Arc::new(Job { id, template, created_ms: now_ms, clean });
        for (j, replaced) in self.jobs.iter_mut() {
            if replaced.is_none() && j.template.height != job.template.height {
                *replaced = Some(now_ms);
            }
        }
        self.jobs.push_back((job.clone(), None));
        while self.jobs.len() > self.rules.keep {
            self.jobs.pop_front();
        }
        self.confirmed_ms = now_ms;
        job
    }

    /// A node answered with a template equal to the current one.
    pub fn confirm(&mut self, now_ms: u64) {
        self.confirmed_ms = now_ms;
    }

    /// Whether no node has confirmed a template for `max_age` (the work may be dead).
    pub fn expired(&self, now_ms: u64) -> bool {
        !self.jobs.is_empty() && now_ms.saturating_sub(self.confirmed_ms) > self.rules.max_age_ms
    }

    pub fn current(&self) -> Option<&Arc<Job>> {
        self.jobs.back().map(|(j, _)| j)
    }

    /// How fresh `job` is now. A job this store no longer remembers is stale.
    pub fn freshness(&self, job: &Job, now_ms: u64) -> Freshness {
        if self.expired(now_ms) {
            return Freshness::Expired;
        }
        match self.jobs.iter().find(|(j, _)| std::ptr::eq(j.as_ref(), job)) {
            None => Freshness::Stale,
            Some((_, None)) => Freshness::Current,
            Some((_, Some(t))) if now_ms.saturating_sub(*t) <= self.rules.grace_ms => Freshness::Grace,
            Some(_) => Freshness::Stale,
        }
    }

    pub fn rules(&self) -> FreshnessRules {
        self.rules
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::testutil::WORKED_TEMPLATE as TEMPLATE;

    /// A template at `height` whose transactions differ by `txs_seed`.
    pub(crate) fn template_with(height: u64, txs_seed: u8, difficulty: u64) -> Arc<Template> {
        let mut t = BlockTemplate::from_hex(TEMPLATE).unwrap();
        t.height = height;
        if txs_seed != 0 {
            t.txs = vec![[txs_seed; 32]];
        }
        Arc::new(Template::new(t.to_hex(), Difficulty::from_u64(difficulty).unwrap()).unwrap())
    }

    pub(crate) fn template(height: u64) -> Arc<Template> {
        template_with(height, 0, 1000)
    }

    fn rules(grace_ms: u64, keep: usize) -> FreshnessRules {
        FreshnessRules { grace_ms, max_age_ms: 120_000, keep }
    }

    #[test]
    fn freshness_follows_the_height() {
        let mut s = JobStore::new(1_700_000_000_000, rules(2_000, 8));
        let a = s.push(template(10), 0);
        assert!(a.clean);
        let b = s.push(template_with(10, 1, 1000), 100);
        assert!(!b.clean, "same height: not clean");
        // Both jobs of the current height stay current, however many transaction changes follow.
        assert_eq!(s.freshness(&a, 100), Freshness::Current);
        assert_eq!(s.freshness(&b, 100), Freshness::Current);
        let c = s.push(template(11), 3_000);
        assert!(c.clean);
        assert_eq!(s.freshness(&a, 5_000), Freshness::Grace, "replaced by a new height 2 s ago");
        assert_eq!(s.freshness(&b, 5_001), Freshness::Stale);
        assert_eq!(s.freshness(&c, 5_001), Freshness::Current);
        for h in 0..8 {
            s.push(template(12 + h), 6_000);
        }
        assert_eq!(s.freshness(&a, 6_000), Freshness::Stale, "forgotten after `keep` jobs");
    }

    #[test]
    fn no_node_for_max_age_expires_all_work() {
        let mut s = JobStore::new(1, FreshnessRules { grace_ms: 2_000, max_age_ms: 120_000, keep: 8 });
        let a = s.push(template(10), 1_000);
        assert_eq!(s.freshness(&a, 121_000), Freshness::Current);
        assert_eq!(s.freshness(&a, 121_001), Freshness::Expired);
        s.confirm(121_500);
        assert_eq!(s.freshness(&a, 122_000), Freshness::Current, "a node answered again");
        assert!(!Freshness::Expired.counts() && !Freshness::Stale.counts());
    }

    #[test]
    fn job_ids_do_not_repeat_across_restarts() {
        let mut first = JobStore::new(1_700_000_000_000, rules(0, 4));
        let mut second = JobStore::new(1_700_000_000_001, rules(0, 4));
        let a: Vec<String> = (0..3).map(|_| first.push(template(1), 0).id.clone()).collect();
        let b: Vec<String> = (0..3).map(|_| second.push(template(1), 0).id.clone()).collect();
        assert!(a.iter().all(|x| !b.contains(x)));
        assert!(a.iter().all(|x| x.starts_with(&JobStore::id_prefix(1_700_000_000_000))));
    }
}
