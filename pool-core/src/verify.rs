//! The verifier engine API: a batch of shares in, one verdict per share out.
//!
//! A backend only has to produce the TOS Hash V3 of each header; the verdict (does the hash meet the
//! share target, the network target) is always computed here, on the host, with exact 256-bit
//! comparisons — so a GPU backend reads back hashes only, and no backend can get the comparison wrong.
//!
//! [`CpuVerifier`] is the CPU backend: a dedicated rayon pool with one reusable scratchpad per
//! thread. The GPU backend (crate `gpu-verify`) implements the same [`VerifyBackend`] trait.

use crate::difficulty::Target;
use crate::hash::{DispatchLevel, Hash, TosHasher, reference};
use crate::work::MinerWork;
use rayon::prelude::*;
use std::sync::Mutex;

/// One share to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareCheck {
    /// The 112-byte header with the miner's nonce in place.
    pub header: MinerWork,
    /// The connection's share target.
    pub share_target: Target,
    /// The block target of the job's template.
    pub network_target: Target,
}

/// The verdict on one share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// TOS Hash V3 of the header.
    pub hash: Hash,
    /// `hash ≤ share_target`.
    pub meets_share: bool,
    /// `hash ≤ network_target`: a block. Checked independently of `meets_share`.
    pub meets_network: bool,
}

impl Verdict {
    /// Judges `hash` against the targets of `check`.
    pub fn judge(check: &ShareCheck, hash: Hash) -> Self {
        Verdict {
            hash,
            meets_share: check.share_target.is_met_by(&hash),
            meets_network: check.network_target.is_met_by(&hash),
        }
    }
}

/// Why a backend could not verify a batch. The caller re-verifies the batch elsewhere; a backend
/// never invents verdicts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("verifier device lost: {0}")]
    DeviceLost(String),
    #[error("verifier backend failed: {0}")]
    Backend(String),
    #[error("verifier backend returned {got} hashes for {expected} shares")]
    WrongCount { expected: usize, got: usize },
}

/// A backend that hashes batches of headers.
pub trait VerifyBackend: Send + Sync {
    /// A short human-readable description (shown in logs and benchmarks).
    fn describe(&self) -> String;

    /// TOS Hash V3 of every header, in order.
    fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError>;

    /// Verdicts for every share, in order.
    fn verify_batch(&self, shares: &[ShareCheck]) -> Result<Vec<Verdict>, VerifyError> {
        let headers: Vec<MinerWork> = shares.iter().map(|s| s.header).collect();
        let hashes = self.hash_batch(&headers)?;
        if hashes.len() != shares.len() {
            return Err(VerifyError::WrongCount { expected: shares.len(), got: hashes.len() });
        }
        Ok(shares.iter().zip(hashes).map(|(s, h)| Verdict::judge(s, h)).collect())
    }
}

/// `n` distinct synthetic shares (headers differing in nonce and `seed`), judged against share
/// difficulty `share` and network difficulty `network`: for benchmarks and calibration.
pub fn synthetic_shares(n: usize, seed: u64, share: u64, network: u64) -> Vec<ShareCheck> {
    let share_target = crate::Difficulty::from_u64(share.max(1)).expect("non-zero").target();
    let network_target = crate::Difficulty::from_u64(network.max(1)).expect("non-zero").target();
    let mut extra_nonce = [0u8; 32];
    extra_nonce[..8].copy_from_slice(&seed.to_le_bytes());
    let base = MinerWork::new([0x4b; 32], 1_714_174_126_448, 0, extra_nonce, [0xd6; 32]);
    (0..n as u64)
        .map(|i| ShareCheck {
            header: base.with_nonce(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            share_target,
            network_target,
        })
        .collect()
}

/// Which CPU implementation a [`CpuVerifier`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuImpl {
    /// The fast path at the given dispatch level.
    Fast(DispatchLevel),
    /// The literal reference (for benchmarks and cross-checks only).
    Reference,
}

impl CpuImpl {
    /// The fast path at the best level this CPU supports.
    pub fn best() -> Self {
        CpuImpl::Fast(DispatchLevel::detect())
    }
}

impl std::fmt::Display for CpuImpl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CpuImpl::Fast(l) => write!(f, "fast/{l}"),
            CpuImpl::Reference => f.write_str("reference"),
        }
    }
}

/// Why a CPU verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CpuVerifierError {
    #[error("this CPU does not support the {0} code path")]
    Unsupported(DispatchLevel),
    #[error("thread count must be at least 1")]
    ZeroThreads,
    #[error("could not start the verifier thread pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// The CPU backend: its own rayon pool, one scratchpad per pool thread (allocated once).
pub struct CpuVerifier {
    pool: rayon::ThreadPool,
    /// Indexed by `rayon::current_thread_index()`; each thread only ever locks its own, so the
    /// mutexes are never contended.
    hashers: Vec<Mutex<TosHasher>>,
    imp: CpuImpl,
}

impl CpuVerifier {
    /// A verifier running `imp` on `threads` threads.
    pub fn new(threads: usize, imp: CpuImpl) -> Result<Self, CpuVerifierError> {
        if threads == 0 {
            return Err(CpuVerifierError::ZeroThreads);
        }
        let level = match imp {
            CpuImpl::Fast(l) => l,
            CpuImpl::Reference => DispatchLevel::Portable,
        };
        let hashers = (0..threads)
            .map(|_| TosHasher::with_level(level).map(Mutex::new).ok_or(CpuVerifierError::Unsupported(level)))
            .collect::<Result<Vec<_>, _>>()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("verify-cpu-{i}"))
            .build()?;
        Ok(CpuVerifier { pool, hashers, imp })
    }

    /// The fast path at the best level, on every core.
    pub fn with_all_cores() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(threads, CpuImpl::best()).expect("the detected level is supported")
    }

    pub fn threads(&self) -> usize {
        self.hashers.len()
    }

    pub fn implementation(&self) -> CpuImpl {
        self.imp
    }

    fn hash_one(&self, header: &MinerWork) -> Hash {
        match self.imp {
            CpuImpl::Reference => reference::tos_hash_v3(header.as_bytes()),
            CpuImpl::Fast(_) => {
                let i = rayon::current_thread_index().expect("runs inside the verifier pool");
                let mut h = self.hashers[i].lock().unwrap_or_else(|e| e.into_inner());
                h.hash(header.as_bytes())
            }
        }
    }
}

impl VerifyBackend for CpuVerifier {
    fn describe(&self) -> String {
        format!("cpu {} × {} threads", self.imp, self.threads())
    }

    fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
        Ok(self.pool.install(|| headers.par_iter().map(|h| self.hash_one(h)).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::difficulty::Difficulty;
    use crate::testutil::SplitMix64;

    fn batch(n: usize, share: u64, network: u64) -> Vec<ShareCheck> {
        let mut rng = SplitMix64(42);
        (0..n)
            .map(|_| {
                let mut b = [0u8; 112];
                rng.fill(&mut b);
                ShareCheck {
                    header: MinerWork(b),
                    share_target: Difficulty::from_u64(share).unwrap().target(),
                    network_target: Difficulty::from_u64(network).unwrap().target(),
                }
            })
            .collect()
    }

    #[test]
    fn verdicts_match_the_reference_in_order() {
        let shares = batch(300, 4, 64);
        for imp in [CpuImpl::Reference, CpuImpl::Fast(crate::hash::DispatchLevel::detect())] {
            let v = CpuVerifier::new(2, imp).unwrap();
            let verdicts = v.verify_batch(&shares).unwrap();
            assert_eq!(verdicts.len(), shares.len());
            for (s, verdict) in shares.iter().zip(&verdicts) {
                let h = reference::tos_hash_v3(s.header.as_bytes());
                assert_eq!(verdict.hash, h);
                assert_eq!(verdict.meets_share, s.share_target.is_met_by(&h));
                assert_eq!(verdict.meets_network, s.network_target.is_met_by(&h));
            }
            // With difficulty 4 about a quarter meet the share target, 1/64 the network target.
            let share_hits = verdicts.iter().filter(|v| v.meets_share).count();
            assert!((40..120).contains(&share_hits), "{share_hits}");
        }
    }

    #[test]
    fn network_check_is_independent_of_share_check() {
        // Share difficulty above network difficulty (the Go pool lost these blocks): the block is
        // still reported.
        let shares = batch(200, 1 << 20, 2);
        let verdicts = CpuVerifier::new(1, CpuImpl::best()).unwrap().verify_batch(&shares).unwrap();
        assert!(verdicts.iter().any(|v| v.meets_network && !v.meets_share));
    }

    #[test]
    fn empty_batch_and_bad_config() {
        let v = CpuVerifier::new(1, CpuImpl::best()).unwrap();
        assert!(v.verify_batch(&[]).unwrap().is_empty());
        assert!(matches!(CpuVerifier::new(0, CpuImpl::best()), Err(CpuVerifierError::ZeroThreads)));
    }
}
