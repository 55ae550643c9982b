//! Opening a verifier for tests: any adapter (lavapipe included). Without one the test is skipped,
//! unless `TOS_POOL_REQUIRE_GPU=1` (set by `.ci/run`), where a missing adapter fails it.

#![allow(dead_code)] // each test file uses its own part

use gpu_verify::{Arithmetic, GpuConfig, GpuError, GpuVerifier, KernelKind};

/// The lane kernel at workgroup 64.
pub fn open(arithmetic: Arithmetic, max_batch: usize) -> Option<GpuVerifier> {
    open_with(GpuConfig {
        max_batch,
        kernel: Some(KernelKind::Lane),
        workgroup_size: Some(64),
        arithmetic: Some(arithmetic),
        allow_cpu_adapter: true,
        ..GpuConfig::default()
    })
}

/// The coop kernel with `workgroup_memory` bytes of each pad in workgroup memory.
pub fn open_coop(arithmetic: Arithmetic, max_batch: usize, workgroup_memory: u32) -> Option<GpuVerifier> {
    open_with(GpuConfig {
        max_batch,
        kernel: Some(KernelKind::Coop),
        workgroup_memory: Some(workgroup_memory),
        arithmetic: Some(arithmetic),
        allow_cpu_adapter: true,
        ..GpuConfig::default()
    })
}

/// Both kernels (lane at workgroup 64, coop at the adapter's split), ranked at `max_batch`.
pub fn open_both(max_batch: usize) -> Option<GpuVerifier> {
    open_with(GpuConfig {
        max_batch,
        workgroup_size: Some(64),
        arithmetic: Some(Arithmetic::U64),
        allow_cpu_adapter: true,
        ..GpuConfig::default()
    })
}

pub fn require_gpu() -> bool {
    std::env::var("TOS_POOL_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

pub fn open_with(config: GpuConfig) -> Option<GpuVerifier> {
    match GpuVerifier::new(&config) {
        Ok(v) => Some(v),
        Err(e @ (GpuError::NoAdapter(_) | GpuError::NoInt64(_))) => {
            if require_gpu() {
                panic!("TOS_POOL_REQUIRE_GPU=1 but no usable adapter: {e}");
            }
            eprintln!("skipping: this test needs a GPU adapter (or Mesa's lavapipe): {e}");
            None
        }
        Err(e) => panic!("the GPU verifier failed to start: {e}"),
    }
}
