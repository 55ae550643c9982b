//! Work issued to one connection: unique headers, the issues it was sent, and the nonces used.
//!
//! * Every connection gets its **own header** for every job ([`ConnectionWork::issue`]): extra_nonce
//!   bytes `0..8` = process start time (ms), `8` = instance id, `9..16` = connection number,
//!   `16..20` = the connection's issue counter (bumped for every new job or difficulty), the rest
//!   the template's (bytes 30..32 stay free for the node's own getwork miner). No two connections,
//!   no two issues and no two restarts ever hash the same header.
//! * An [`Issue`] is the unit a share is judged against: its header, difficulty and target, and
//!   the nonces already submitted on it (duplicates are per issue, since headers are).
//! * A job id the connection was sent but has since forgotten is [`Lookup::Forgotten`] (a stale
//!   share); one it was never sent is [`Lookup::Unknown`] (junk, which counts toward a ban).

use crate::difficulty::{Difficulty, Target};
use crate::jobs::{Job, JobStore};
use crate::work::MinerWork;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// Largest number of nonces remembered per issue (far above any sane share rate per issue).
const MAX_NONCES_PER_ISSUE: usize = 1 << 16;

/// One job as issued to one connection.
#[derive(Debug)]
pub struct Issue {
    /// The job id the miner was sent (and echoes back).
    pub id: String,
    pub job: Arc<Job>,
    /// This connection's header for the job (nonce 0).
    pub header: MinerWork,
    pub difficulty: Difficulty,
    pub target: Target,
    /// `target` as the 64 hex characters of `mining.notify` (shared by the connection's issues at
    /// one difficulty).
    pub target_hex: Arc<str>,
    pub issued_ms: u64,
    nonces: Mutex<HashSet<[u8; 8]>>,
}

impl Issue {
    /// Records `nonce` as submitted on this issue; false if it was submitted before (a duplicate).
    pub fn claim(&self, nonce: [u8; 8]) -> bool {
        let mut set = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if set.contains(&nonce) {
            return false;
        }
        if set.len() < MAX_NONCES_PER_ISSUE {
            set.insert(nonce);
        }
        true
    }

    /// The header the miner hashed for `nonce`.
    pub fn header_with(&self, nonce: [u8; 8]) -> MinerWork {
        self.header.with_nonce_bytes(nonce)
    }

    /// The `mining.notify` line that sends this issue.
    pub fn notify_line(&self) -> String {
        let mut header = String::with_capacity(224);
        crate::hexutil::encode_into(self.header.as_bytes(), &mut header);
        crate::stratum::notify(&self.id, &header, &self.target_hex, self.job.template.height, self.job.clean)
    }
}

/// What a submitted job id refers to.
#[derive(Clone, Debug)]
pub enum Lookup {
    Found(Arc<Issue>),
    /// Issued to this connection, no longer remembered: stale.
    Forgotten,
    /// Never issued to this connection: junk.
    Unknown,
}

/// One connection's work.
pub struct ConnectionWork {
    prefix: [u8; 16],
    job_id_prefix: String,
    counter: u32,
    issued: VecDeque<(u32, Arc<Issue>)>,
    keep: usize,
    /// The last difficulty's target: a 256-bit division per issue otherwise.
    target: Option<(Difficulty, Target, Arc<str>)>,
}

impl ConnectionWork {
    /// `epoch_ms` and `instance` identify the process, `connection` the connection within it;
    /// `keep` issues are remembered.
    pub fn new(epoch_ms: u64, instance: u8, connection: u64, keep: usize) -> Self {
        let mut prefix = [0u8; 16];
        prefix[..8].copy_from_slice(&epoch_ms.to_be_bytes());
        prefix[8] = instance;
        prefix[9..16].copy_from_slice(&connection.to_be_bytes()[1..]);
        ConnectionWork {
            prefix,
            job_id_prefix: JobStore::id_prefix(epoch_ms),
            counter: 0,
            issued: VecDeque::new(),
            keep: keep.max(2),
            target: None,
        }
    }

    /// Issues `job` at `difficulty`: a fresh header and a job id for this connection.
    pub fn issue(&mut self, job: &Arc<Job>, difficulty: Difficulty, now_ms: u64) -> Arc<Issue> {
        self.counter = self.counter.wrapping_add(1).max(1);
        let mut en = job.template.base.extra_nonce();
        en[..16].copy_from_slice(&self.prefix);
        en[16..20].copy_from_slice(&self.counter.to_be_bytes());
        let (target, target_hex) = match &self.target {
            Some((d, t, h)) if *d == difficulty => (*t, h.clone()),
            _ => {
                let t = difficulty.target();
                let h: Arc<str> = t.to_hex64().into();
                self.target = Some((difficulty, t, h.clone()));
                (t, h)
            }
        };
        let issue = Arc::new(Issue {
            // A fixed-width counter suffix: a forgotten issue is still recognisable as ours.
            id: format!("{}{:08x}", job.id, self.counter),
            job: job.clone(),
            header: job.template.base.with_extra_nonce(en),
            difficulty,
            target,
            target_hex,
            issued_ms: now_ms,
            nonces: Mutex::new(HashSet::new()),
        });
        self.issued.push_back((self.counter, issue.clone()));
        while self.issued.len() > self.keep {
            self.issued.pop_front();
        }
        issue
    }

    /// The issue a submitted job id names.
    pub fn lookup(&self, job_id: &str) -> Lookup {
        if let Some((_, issue)) = self.issued.iter().rev().find(|(_, i)| i.id == job_id) {
            return Lookup::Found(issue.clone());
        }
        let oldest = self.issued.front().map_or(u32::MAX, |(n, _)| *n);
        let seq = job_id
            .len()
            .checked_sub(8)
            .filter(|&at| job_id.is_char_boundary(at) && job_id.starts_with(&self.job_id_prefix))
            .and_then(|at| u32::from_str_radix(&job_id[at..], 16).ok());
        match seq {
            Some(n) if n >= 1 && n < oldest && n <= self.counter => Lookup::Forgotten,
            _ => Lookup::Unknown,
        }
    }

    /// The most recently issued work.
    pub fn latest(&self) -> Option<&Arc<Issue>> {
        self.issued.back().map(|(_, i)| i)
    }

    /// The issue sent just before the newest one.
    pub fn before_latest(&self) -> Option<&Arc<Issue>> {
        self.issued.iter().rev().nth(1).map(|(_, i)| i)
    }

    /// How many issues this connection has been sent.
    pub fn issued_count(&self) -> u32 {
        self.counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::tests::template;
    use crate::jobs::{FreshnessRules, JobStore};

    #[test]
    fn headers_are_unique_per_connection_and_per_issue() {
        let mut s = JobStore::new(1_700_000_000_000, FreshnessRules::default());
        let job = s.push(template(5), 0);
        let d = Difficulty::from_u64(16).unwrap();
        let mut c1 = ConnectionWork::new(1_700_000_000_000, 0, 1, 8);
        let mut c2 = ConnectionWork::new(1_700_000_000_000, 0, 2, 8);
        let restarted = ConnectionWork::new(1_700_000_009_000, 0, 1, 8).issue(&job, d, 0).header;
        let w1 = c1.issue(&job, d, 0);
        let w1b = c1.issue(&job, Difficulty::from_u64(32).unwrap(), 0);
        let w2 = c2.issue(&job, d, 0);
        let headers = [w1.header, w1b.header, w2.header, restarted];
        for i in 0..headers.len() {
            for j in 0..i {
                assert_ne!(headers[i], headers[j]);
            }
        }
        assert_ne!(w1.id, w1b.id);
        // Only the extra nonce differs from the template's header; its last 2 bytes are untouched.
        assert_eq!(w1.header.work_hash(), job.template.base.work_hash());
        assert_eq!(w1.header.extra_nonce()[30..], job.template.base.extra_nonce()[30..]);
        assert_eq!(w1b.difficulty, Difficulty::from_u64(32).unwrap());
        assert_eq!(w1b.target, Difficulty::from_u64(32).unwrap().target());
        assert_eq!(&*w1b.target_hex, Difficulty::from_u64(32).unwrap().target().to_hex64());
        assert_eq!(
            &*c1.issue(&job, d, 0).target_hex,
            d.target().to_hex64(),
            "the cache follows the difficulty"
        );
        let line = w1.notify_line();
        let want = crate::stratum::notify(&w1.id, &w1.header.to_hex(), &d.target().to_hex64(), 5, job.clean);
        assert_eq!(line, want);
    }

    #[test]
    fn duplicates_are_per_issue() {
        let mut s = JobStore::new(1, FreshnessRules::default());
        let job = s.push(template(5), 0);
        let mut c = ConnectionWork::new(1, 0, 1, 4);
        let a = c.issue(&job, Difficulty::ONE, 0);
        let b = c.issue(&job, Difficulty::ONE, 0);
        assert!(a.claim([1; 8]));
        assert!(!a.claim([1; 8]), "the same nonce on the same issue");
        assert!(b.claim([1; 8]), "another issue is another header");
        assert_eq!(a.header_with([1; 8]).as_bytes()[40..48], [1; 8]);
    }

    #[test]
    fn forgotten_issues_are_stale_and_never_issued_ids_are_junk() {
        let mut s = JobStore::new(1_700_000_000_000, FreshnessRules::default());
        let job = s.push(template(5), 0);
        let mut c = ConnectionWork::new(1_700_000_000_000, 0, 1, 2);
        let first = c.issue(&job, Difficulty::ONE, 0);
        assert!(matches!(c.lookup(&first.id), Lookup::Found(ref i) if Arc::ptr_eq(i, &first)));
        let second = c.issue(&job, Difficulty::ONE, 0);
        let third = c.issue(&job, Difficulty::ONE, 0);
        assert!(matches!(c.lookup(&first.id), Lookup::Forgotten), "only `keep` issues are remembered");
        assert!(Arc::ptr_eq(c.latest().unwrap(), &third));
        assert!(Arc::ptr_eq(c.before_latest().unwrap(), &second));
        // Never issued: a made-up id, a future counter, another process's job, garbage.
        let future = format!("{}{:08x}", job.id, 99);
        let foreign = format!("{:x}0000100000001", 1_600_000_000_000u64);
        for id in ["nosuchjob", "", &future, &foreign, "é1234567"] {
            assert!(matches!(c.lookup(id), Lookup::Unknown), "{id:?}");
        }
        assert_eq!(c.issued_count(), 3);
    }
}
