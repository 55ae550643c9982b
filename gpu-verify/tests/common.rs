//! Opening a verifier for tests: any adapter (lavapipe included). Without one the test is skipped,
//! unless `TOS_POOL_REQUIRE_GPU=1` (set by `.ci/run`), where a missing adapter fails it.

use gpu_verify::{Arithmetic, GpuConfig, GpuError, GpuVerifier};

pub fn open(arithmetic: Arithmetic, max_batch: usize) -> Option<GpuVerifier> {
    let config = GpuConfig {
        max_batch,
        workgroup_size: Some(64),
        arithmetic: Some(arithmetic),
        allow_cpu_adapter: true,
    };
    match GpuVerifier::new(&config) {
        Ok(v) => Some(v),
        Err(e @ (GpuError::NoAdapter(_) | GpuError::NoInt64(_))) => {
            if std::env::var("TOS_POOL_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("TOS_POOL_REQUIRE_GPU=1 but no usable adapter: {e}");
            }
            eprintln!("skipping: this test needs a GPU adapter (or Mesa's lavapipe): {e}");
            None
        }
        Err(e) => panic!("the GPU verifier failed to start: {e}"),
    }
}
