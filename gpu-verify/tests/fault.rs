//! A lying or dying GPU never gets a share credited and is taken out of service.

mod common;

use gpu_verify::{
    Arithmetic, EngineOptions, Fault, GpuConfig, GpuError, GpuVerifier, KernelKind, adapter, build_engine,
    selftest, setup::SetupError, setup::calibration_sample,
};
use pool_core::verify::{CpuImpl, CpuVerifier, ShareCheck};
use pool_core::{BackendMode, Difficulty, GpuTimeout, VerifyBackend, VerifyEngine};
use std::sync::Arc;
use std::time::Duration;

fn hard_shares(n: usize) -> Vec<ShareCheck> {
    // Share difficulty 2^40: no random header meets it, so any "accept" would be a lie.
    let share_target = Difficulty::from_u64(1 << 40).unwrap().target();
    let network_target = Difficulty::from_u64(1 << 50).unwrap().target();
    calibration_sample(n).into_iter().map(|s| ShareCheck { share_target, network_target, ..s }).collect()
}

fn engine_over(gpu: Arc<gpu_verify::GpuVerifier>, sample_every: u64) -> VerifyEngine {
    let cpu = Arc::new(CpuVerifier::new(2, CpuImpl::best()).unwrap());
    let engine = VerifyEngine::new(cpu, Some(gpu), BackendMode::Gpu, sample_every).unwrap();
    // Lavapipe takes ~0.5 ms a share on a quiet core and several times that on a loaded CI machine:
    // the production bound (2 s + 1 ms a share) would time honest batches out here. The timeout
    // itself is tested with a backend that hangs (pool-core's engine tests, tests/share_service.rs).
    engine.set_gpu_timeout(GpuTimeout { base: Duration::from_secs(300), per_share: Duration::ZERO });
    engine
}

#[test]
fn a_gpu_claiming_blocks_is_caught_and_nothing_is_credited() {
    let Some(lane) = common::open(Arithmetic::U64, 256) else { return };
    claiming_blocks_is_caught(lane);
    let coop = common::open_coop(Arithmetic::U64, 256, 16 * 1024).expect("an adapter was found above");
    claiming_blocks_is_caught(coop);
}

fn claiming_blocks_is_caught(gpu: GpuVerifier) {
    let gpu = Arc::new(gpu);
    let engine = engine_over(gpu.clone(), u64::MAX);
    let shares = hard_shares(200);
    // Honest first: all on the GPU, nothing re-verified.
    let honest = engine.verify(&shares);
    assert!(honest.iter().all(|v| !v.meets_share));
    assert_eq!(engine.stats().reverified_batches, 0);
    // Now every 7th hash comes back zero: "meets every target".
    gpu.inject_fault(Fault::ZeroEvery(7));
    let verdicts = engine.verify(&shares);
    assert!(verdicts.iter().all(|v| !v.meets_share && !v.meets_network), "no lie credited");
    assert_eq!(verdicts, honest, "the batch was re-verified on the CPU");
    let st = engine.stats();
    assert!(st.gpu_mismatches >= 28, "every claimed block was re-checked: {st:?}");
    assert_eq!(st.reverified_batches, 1);
    assert!(!engine.using_gpu());
    assert!(engine.out_of_service_reason().unwrap().contains("disagrees with the CPU"));
    // Later batches never touch the GPU again.
    let before = gpu.hashes_done();
    engine.verify(&shares);
    assert_eq!(gpu.hashes_done(), before);
}

#[test]
fn sampling_catches_random_corruption() {
    // The lane kernel: lavapipe's LLVM takes minutes to compile the cooperative one on a loaded
    // machine, and which kernel lies does not matter to the sampling (both are tested above).
    let Some(gpu) = common::open(Arithmetic::Vec2, 256) else { return };
    let gpu = Arc::new(gpu);
    let engine = engine_over(gpu.clone(), 100);
    gpu.inject_fault(Fault::FlipEvery(1));
    let shares = hard_shares(300);
    let cpu = CpuVerifier::new(2, CpuImpl::best()).unwrap().verify_batch(&shares).unwrap();
    assert_eq!(engine.verify(&shares), cpu);
    assert!(engine.stats().gpu_mismatches >= 1);
    assert!(!engine.using_gpu());
}

#[test]
fn the_self_test_refuses_a_lying_gpu() {
    let Some(gpu) = common::open_both(256) else { return };
    assert_eq!(gpu.kernels().len(), 2, "both kernels built");
    gpu.inject_fault(Fault::FlipEvery(50));
    let err = selftest::run(&gpu, 256, 7).unwrap_err();
    assert!(err.to_string().contains("disagree with the CPU"), "{err}");
    assert_eq!(gpu.kernels().len(), 2, "when every kernel fails none is dropped: the GPU is out");
    gpu.inject_fault(Fault::FlipEvery(1));
    assert!(selftest::run(&gpu, 16, 7).unwrap_err().to_string().contains("vector"));
}

/// A kernel that lies (a miscompiled shader) is left out by the self-test; the other carries on.
#[test]
fn the_self_test_drops_only_the_kernel_that_lies() {
    let Some(gpu) = common::open_both(64) else { return };
    gpu.inject_fault_on(Some(KernelKind::Coop), Fault::FlipEvery(1));
    selftest::run(&gpu, 32, 3).unwrap();
    let left: Vec<KernelKind> = gpu.kernels().iter().map(|(k, _)| k.kind()).collect();
    assert_eq!(left, [KernelKind::Lane]);
    assert_eq!(gpu.kernel().kind(), KernelKind::Lane);
}

#[test]
fn build_engine_auto_calibrates_and_gpu_mode_takes_the_adapter() {
    // Through the real set-up path: an honest lavapipe passes and `auto` picks the faster backend.
    let opts = EngineOptions {
        mode: BackendMode::Auto,
        cpu_threads: Some(1),
        gpu: GpuConfig {
            max_batch: 256,
            kernel: Some(KernelKind::Lane),
            workgroup_size: Some(64),
            arithmetic: None,
            allow_cpu_adapter: true,
            ..GpuConfig::default()
        },
        self_test_inputs: 64,
        calibration_time: std::time::Duration::from_millis(50),
        ..EngineOptions::default()
    };
    let Ok(setup) = build_engine(&opts) else { panic!("the engine builds even without a GPU") };
    if setup.gpu.is_none() {
        assert!(
            std::env::var("TOS_POOL_REQUIRE_GPU").map_or(true, |v| v != "1"),
            "TOS_POOL_REQUIRE_GPU=1 but no GPU"
        );
        return;
    }
    assert!(setup.engine.out_of_service_reason().is_none());
    let cal = setup.calibration.expect("auto calibrates");
    assert_eq!(setup.engine.using_gpu(), cal.chose_gpu);
    // Explicit `gpu` on a machine whose only adapter is a CPU rasteriser works when it is allowed.
    let gpu_mode =
        build_engine(&EngineOptions { mode: BackendMode::Gpu, calibration_time: Default::default(), ..opts })
            .unwrap();
    assert!(gpu_mode.engine.using_gpu());
}

#[test]
fn device_loss_reverifies_on_the_cpu() {
    let Some(gpu) = common::open(Arithmetic::U64, 256) else { return };
    let gpu = Arc::new(gpu);
    let engine = engine_over(gpu.clone(), 100);
    let shares = hard_shares(64);
    let truth = engine.verify(&shares);
    gpu.simulate_device_loss();
    assert_eq!(engine.verify(&shares), truth, "no share lost, no verdict invented");
    let st = engine.stats();
    assert_eq!(st.gpu_failures, 1);
    assert!(!engine.using_gpu());
}

/// `gpu` and `auto` never verify on a CPU rasteriser unless it is explicitly allowed: `gpu` fails
/// with an error naming the missing driver, `auto` verifies on the CPU backend.
#[test]
fn a_cpu_adapter_is_refused_unless_allowed() {
    let adapters = adapter::ranked_adapters(&adapter::instance());
    let Some(best) = adapters.first() else {
        assert!(!common::require_gpu(), "TOS_POOL_REQUIRE_GPU=1 but no adapter");
        return;
    };
    let best_is_gpu = gpu_verify::AdapterSummary::of(best).kind.is_gpu();
    let refused = GpuConfig {
        max_batch: 64,
        kernel: Some(KernelKind::Lane),
        workgroup_size: Some(64),
        ..GpuConfig::default()
    };
    assert!(!refused.allow_cpu_adapter, "refusal is the default");
    match GpuVerifier::new(&refused) {
        Ok(gpu) => assert!(best_is_gpu && gpu.is_gpu(), "opened {}", gpu.adapter()),
        Err(e @ GpuError::CpuAdapterRefused { .. }) => {
            assert!(!best_is_gpu);
            let msg = e.to_string();
            assert!(msg.contains("llvmpipe") || msg.contains("cpu"), "{msg}");
            assert!(msg.contains("Vulkan") && msg.contains("--allow-cpu-adapter"), "{msg}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
    if best_is_gpu {
        return;
    }
    let opts = |mode| EngineOptions {
        mode,
        cpu_threads: Some(1),
        gpu: refused.clone(),
        self_test_inputs: 16,
        calibration_time: std::time::Duration::from_millis(20),
        ..EngineOptions::default()
    };
    match build_engine(&opts(BackendMode::Gpu)) {
        Err(SetupError::Gpu(GpuError::CpuAdapterRefused { .. })) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("`gpu` mode took a CPU rasteriser"),
    }
    let auto = build_engine(&opts(BackendMode::Auto)).expect("auto falls back to the CPU");
    assert!(auto.gpu.is_none() && !auto.engine.using_gpu());
    assert!(!EngineOptions::default().gpu.allow_cpu_adapter);
}
