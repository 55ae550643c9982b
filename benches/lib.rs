//! Shared inputs for the criterion benchmarks in this folder.
//!
//! Run them with `cargo bench -p tos-pool-benches` (add `--bench hash`, `--bench verify_batch` or
//! `--bench gpu_batch`).

use pool_core::ShareCheck;

/// `n` distinct 112-byte headers with difficulty-16 share and difficulty-2^20 network targets.
pub fn shares(n: usize) -> Vec<ShareCheck> {
    pool_core::verify::synthetic_shares(n, 0, 16, 1 << 20)
}
