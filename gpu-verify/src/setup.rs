//! Building the pool's [`VerifyEngine`] from the operator's choice: open the GPU, self-test it,
//! calibrate for `auto`.

use crate::selftest;
use crate::verifier::{GpuConfig, GpuVerifier};
use pool_core::engine::Calibration;
use pool_core::verify::{CpuImpl, CpuVerifier, CpuVerifierError, ShareCheck};
use pool_core::{BackendMode, VerifyBackend, VerifyEngine};
use std::sync::Arc;
use std::time::Duration;

/// The operator's verifier settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub mode: BackendMode,
    /// CPU verifier threads; `None` = every core.
    pub cpu_threads: Option<usize>,
    pub gpu: GpuConfig,
    /// Re-check one GPU hash in this many on the CPU (100 = 1 %).
    pub sample_every: u64,
    /// Random inputs compared with the CPU in the start-up self-test.
    pub self_test_inputs: usize,
    /// How long `auto` measures each backend.
    pub calibration_time: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            mode: BackendMode::Auto,
            cpu_threads: None,
            gpu: GpuConfig::default(),
            sample_every: 100,
            self_test_inputs: 256,
            calibration_time: Duration::from_millis(300),
        }
    }
}

/// The engine and what was learned building it.
pub struct EngineSetup {
    pub engine: Arc<VerifyEngine>,
    pub gpu: Option<Arc<GpuVerifier>>,
    pub calibration: Option<Calibration>,
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("CPU verifier: {0}")]
    Cpu(#[from] CpuVerifierError),
    #[error("`gpu` verification was requested but the GPU could not be opened: {0}")]
    Gpu(crate::GpuError),
}

/// Builds the engine. `gpu` mode fails if no GPU opens; a GPU that fails its self-test is kept out
/// of service (shares go to the CPU) and reported loudly, in every mode.
pub fn build_engine(opts: &EngineOptions) -> Result<EngineSetup, SetupError> {
    let threads =
        opts.cpu_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cpu: Arc<dyn VerifyBackend> = Arc::new(CpuVerifier::new(threads, CpuImpl::best())?);
    let gpu = match opts.mode {
        BackendMode::Cpu => None,
        mode => match GpuVerifier::new(&opts.gpu) {
            Ok(g) => Some(Arc::new(g)),
            Err(e) if mode == BackendMode::Gpu => return Err(SetupError::Gpu(e)),
            Err(e) => {
                tracing::warn!(error = %e, "no GPU verifier; verifying on the CPU");
                None
            }
        },
    };
    let self_test = gpu.as_ref().map(|g| selftest::run(g, opts.self_test_inputs, 0x5e1f_7e57));
    let engine = Arc::new(
        VerifyEngine::new(
            cpu,
            gpu.clone().map(|g| g as Arc<dyn VerifyBackend>),
            opts.mode,
            opts.sample_every,
        )
        .expect("gpu mode has a GPU here"),
    );
    match self_test {
        Some(Err(e)) => engine.take_gpu_out_of_service(&format!("start-up self-test failed: {e}")),
        Some(Ok(())) => {
            tracing::info!(gpu = %gpu.as_ref().expect("tested").adapter(), "GPU passed its self-test")
        }
        None => {}
    }
    let calibration = (opts.mode == BackendMode::Auto
        && engine.out_of_service_reason().is_none()
        && gpu.is_some())
    .then(|| {
        engine.calibrate(
            &calibration_sample(gpu.as_ref().map_or(256, |g| g.capacity().min(1024))),
            opts.calibration_time,
        )
    });
    Ok(EngineSetup { engine, gpu, calibration })
}

/// Distinct headers at difficulty 2 (share) and 2^40 (network) for calibration.
pub fn calibration_sample(n: usize) -> Vec<ShareCheck> {
    pool_core::verify::synthetic_shares(n, 0xca11, 2, 1 << 40)
}
