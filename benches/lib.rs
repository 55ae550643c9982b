//! Shared inputs for the criterion benchmarks in this folder.
//!
//! Run them with `cargo bench -p tos-pool-benches` (add `--bench hash` or `--bench verify_batch`).

use pool_core::{Difficulty, MinerWork, ShareCheck};

/// `n` distinct 112-byte headers with difficulty-16 share and difficulty-2^20 network targets.
pub fn shares(n: usize) -> Vec<ShareCheck> {
    let share_target = Difficulty::from_u64(16).expect("non-zero").target();
    let network_target = Difficulty::from_u64(1 << 20).expect("non-zero").target();
    let base = MinerWork::new([0x4b; 32], 1_714_174_126_448, 0, [0x57; 32], [0xd6; 32]);
    (0..n as u64)
        .map(|i| ShareCheck {
            header: base.with_nonce(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            share_target,
            network_target,
        })
        .collect()
}
