//! Jobs: templates turned into work, per-connection headers, freshness and duplicate rules.
//!
//! * A [`Job`] is one node template. Job ids never repeat across restarts: they start with the
//!   process's start time.
//! * Every connection gets its **own header** ([`ConnectionWork`]): extra_nonce bytes
//!   `0..8` = start time (ms), `8` = instance id, `9..16` = connection number, `16..20` = the
//!   connection's work counter (bumped for every new job or difficulty), the rest the template's
//!   (bytes 30..32 stay free for the node's own getwork miner). No two connections, and no two
//!   restarts, ever hash the same header.
//! * Freshness: the newest job is `Current`; a replaced job stays acceptable for `grace` (shares in
//!   flight when the chain moved); after that it is `Stale` but still known, so a block-grade share
//!   on it is still submitted (it may become a side block) — only the share is refused (code 21).

use crate::difficulty::{Difficulty, Target};
use crate::work::{BlockTemplate, MinerWork};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// A template from the node, parsed once.
#[derive(Debug)]
pub struct Template {
    pub template: BlockTemplate,
    /// The original hex: `submit_block` needs it unmodified.
    pub template_hex: String,
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
            template_hex,
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

/// How fresh a known job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Current,
    /// Replaced less than `grace` ago: shares still count.
    Grace,
    /// Replaced longer ago: shares are refused, blocks still submitted.
    Stale,
}

/// The recent jobs, newest last.
pub struct JobStore {
    jobs: VecDeque<(Arc<Job>, Option<u64>)>,
    keep: usize,
    grace_ms: u64,
    epoch_ms: u64,
    counter: u64,
}

impl JobStore {
    /// `epoch_ms`: the process start time (makes ids unique across restarts); `keep` jobs are
    /// remembered; a replaced job is accepted for `grace_ms`.
    pub fn new(epoch_ms: u64, keep: usize, grace_ms: u64) -> Self {
        JobStore { jobs: VecDeque::new(), keep: keep.max(2), grace_ms, epoch_ms, counter: 0 }
    }

    /// Adds a job for `template`; `clean` when the height changed since the current job.
    pub fn push(&mut self, template: Arc<Template>, now_ms: u64) -> Arc<Job> {
        let clean = self.current().is_none_or(|j| j.template.height != template.height);
        self.counter += 1;
        // Start time in ms: restarts a moment apart never share an id.
        let id = format!("{:x}{:05x}", self.epoch_ms, self.counter);
        let job = Arc::new(Job { id, template, created_ms: now_ms, clean });
        if let Some(last) = self.jobs.back_mut() {
            last.1 = Some(now_ms);
        }
        self.jobs.push_back((job.clone(), None));
        while self.jobs.len() > self.keep {
            self.jobs.pop_front();
        }
        job
    }

    pub fn current(&self) -> Option<&Arc<Job>> {
        self.jobs.back().map(|(j, _)| j)
    }

    /// The job and its freshness, or `None` if unknown (never issued, or forgotten).
    pub fn lookup(&self, id: &str, now_ms: u64) -> Option<(Arc<Job>, Freshness)> {
        let (job, replaced) = self.jobs.iter().find(|(j, _)| j.id == id)?;
        let f = match replaced {
            None => Freshness::Current,
            Some(t) if now_ms.saturating_sub(*t) <= self.grace_ms => Freshness::Grace,
            Some(_) => Freshness::Stale,
        };
        Some((job.clone(), f))
    }
}

/// Work issued to one connection: its header and the difficulty it was sent with.
#[derive(Clone, Debug)]
pub struct IssuedWork {
    pub job: Arc<Job>,
    pub header: MinerWork,
    pub difficulty: Difficulty,
    pub target: Target,
}

/// Why a submitted share is refused before hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrecheckError {
    UnknownJob,
    Duplicate,
}

/// One connection's work: unique headers, the jobs it was sent, and the nonces it already used.
pub struct ConnectionWork {
    prefix: [u8; 16],
    work_counter: u32,
    issued: VecDeque<(String, IssuedWork, HashSet<[u8; 8]>)>,
    keep: usize,
}

/// Largest number of nonces remembered per issued job (far above any sane share rate per job).
const MAX_NONCES_PER_JOB: usize = 1 << 16;

impl ConnectionWork {
    /// `epoch_ms` and `instance` identify the process, `connection` the connection within it.
    pub fn new(epoch_ms: u64, instance: u8, connection: u64, keep: usize) -> Self {
        let mut prefix = [0u8; 16];
        prefix[..8].copy_from_slice(&epoch_ms.to_be_bytes());
        prefix[8] = instance;
        prefix[9..16].copy_from_slice(&connection.to_be_bytes()[1..]);
        ConnectionWork { prefix, work_counter: 0, issued: VecDeque::new(), keep: keep.max(2) }
    }

    /// Issues `job` at `difficulty`: a fresh header and a job id for this connection.
    pub fn issue(&mut self, job: &Arc<Job>, difficulty: Difficulty) -> (String, IssuedWork) {
        self.work_counter = self.work_counter.wrapping_add(1);
        let mut en = job.template.base.extra_nonce();
        en[..16].copy_from_slice(&self.prefix);
        en[16..20].copy_from_slice(&self.work_counter.to_be_bytes());
        let header = job.template.base.with_extra_nonce(en);
        let id = format!("{}{:x}", job.id, self.work_counter);
        let work = IssuedWork { job: job.clone(), header, difficulty, target: difficulty.target() };
        self.issued.push_back((id.clone(), work.clone(), HashSet::new()));
        while self.issued.len() > self.keep {
            self.issued.pop_front();
        }
        (id, work)
    }

    /// Finds the work for `job_id` and records `nonce`; refuses unknown jobs and repeated nonces.
    pub fn precheck(&mut self, job_id: &str, nonce: [u8; 8]) -> Result<IssuedWork, PrecheckError> {
        let (_, work, nonces) =
            self.issued.iter_mut().find(|(id, _, _)| id == job_id).ok_or(PrecheckError::UnknownJob)?;
        if nonces.contains(&nonce) {
            return Err(PrecheckError::Duplicate);
        }
        if nonces.len() < MAX_NONCES_PER_JOB {
            nonces.insert(nonce);
        }
        Ok(work.clone())
    }

    /// The most recently issued work.
    pub fn latest(&self) -> Option<&IssuedWork> {
        self.issued.back().map(|(_, w, _)| w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::WORKED_TEMPLATE as TEMPLATE;

    fn template(height: u64) -> Arc<Template> {
        let mut t = BlockTemplate::from_hex(TEMPLATE).unwrap();
        t.height = height;
        Arc::new(Template::new(t.to_hex(), Difficulty::from_u64(1000).unwrap()).unwrap())
    }

    #[test]
    fn freshness_and_clean_flags() {
        let mut s = JobStore::new(1_700_000_000_000, 4, 2_000);
        let a = s.push(template(10), 0);
        assert!(a.clean);
        let b = s.push(template(10), 100);
        assert!(!b.clean, "same height: not clean");
        assert_eq!(s.lookup(&b.id, 100).unwrap().1, Freshness::Current);
        assert_eq!(s.lookup(&a.id, 2_000).unwrap().1, Freshness::Grace);
        assert_eq!(s.lookup(&a.id, 2_101).unwrap().1, Freshness::Stale);
        let c = s.push(template(11), 3_000);
        assert!(c.clean);
        for h in 0..3 {
            s.push(template(12 + h), 4_000);
        }
        assert!(s.lookup(&a.id, 5_000).is_none(), "forgotten after `keep` jobs");
        assert!(s.lookup("nope", 0).is_none());
    }

    #[test]
    fn job_ids_do_not_repeat_across_restarts() {
        let mut first = JobStore::new(1_700_000_000_000, 4, 0);
        let mut second = JobStore::new(1_700_000_000_001, 4, 0);
        let a: Vec<String> = (0..3).map(|_| first.push(template(1), 0).id.clone()).collect();
        let b: Vec<String> = (0..3).map(|_| second.push(template(1), 0).id.clone()).collect();
        assert!(a.iter().all(|x| !b.contains(x)));
    }

    #[test]
    fn headers_are_unique_per_connection_and_per_issue() {
        let mut s = JobStore::new(1_700_000_000_000, 4, 0);
        let job = s.push(template(5), 0);
        let d = Difficulty::from_u64(16).unwrap();
        let mut c1 = ConnectionWork::new(1_700_000_000_000, 0, 1, 8);
        let mut c2 = ConnectionWork::new(1_700_000_000_000, 0, 2, 8);
        let restarted = ConnectionWork::new(1_700_000_009_000, 0, 1, 8).issue(&job, d).1.header;
        let (id1, w1) = c1.issue(&job, d);
        let (id1b, w1b) = c1.issue(&job, Difficulty::from_u64(32).unwrap());
        let (_, w2) = c2.issue(&job, d);
        let headers = [w1.header, w1b.header, w2.header, restarted];
        for i in 0..headers.len() {
            for j in 0..i {
                assert_ne!(headers[i], headers[j]);
            }
        }
        assert_ne!(id1, id1b);
        // Only the extra nonce differs from the template's header; its last 2 bytes are untouched.
        assert_eq!(w1.header.work_hash(), job.template.base.work_hash());
        assert_eq!(w1.header.extra_nonce()[30..], job.template.base.extra_nonce()[30..]);
        assert_eq!(w1b.difficulty, Difficulty::from_u64(32).unwrap());
    }

    #[test]
    fn duplicates_and_unknown_jobs() {
        let mut s = JobStore::new(1, 4, 0);
        let job = s.push(template(5), 0);
        let mut c = ConnectionWork::new(1, 0, 1, 2);
        let (id, _) = c.issue(&job, Difficulty::ONE);
        assert!(c.precheck(&id, [1; 8]).is_ok());
        assert_eq!(c.precheck(&id, [1; 8]).unwrap_err(), PrecheckError::Duplicate);
        assert!(c.precheck(&id, [2; 8]).is_ok());
        assert_eq!(c.precheck("other", [1; 8]).unwrap_err(), PrecheckError::UnknownJob);
        c.issue(&job, Difficulty::ONE);
        c.issue(&job, Difficulty::ONE);
        assert_eq!(c.precheck(&id, [3; 8]).unwrap_err(), PrecheckError::UnknownJob, "only `keep` issues");
    }
}
