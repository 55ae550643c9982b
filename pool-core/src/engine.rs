//! The verification engine: chooses the backend (`auto | gpu | cpu`), switches at run time, and
//! trusts the GPU only as far as the CPU confirms it.
//!
//! * Every share the GPU calls a **block** is re-hashed on the CPU (rare, and a block is worth it).
//! * Every share the GPU says **misses its share target** is re-hashed on the CPU before the miner
//!   hears it: a GPU lying in that direction would otherwise turn valid shares (and blocks) into
//!   rejections. Honest miners send few such shares; the invalid-share ban bounds the rest.
//! * One share in `sample_every` (default 100, i.e. 1 %) is re-hashed on the CPU, chosen by a global
//!   counter so a persistently lying GPU is caught within `sample_every` shares.
//! * GPU batches run on a worker thread and are **timed out** after a bound derived from their size
//!   ([`GpuTimeout`]): a hung device cannot hold a batch past the miners' own 30-s timeout.
//! * A mismatch, a timeout, a device loss or any GPU error takes the GPU **out of service** (loudly,
//!   counted in the stats) and the batch is re-verified on the CPU; so is any batch that was on the
//!   GPU when another thread took it out of service. [`VerifyEngine::verify`] never fails and never
//!   returns a verdict the CPU would not.

use crate::histogram::{BATCH_SIZES, Histogram, HistogramSnapshot, LATENCY_US};
use crate::verify::{ShareCheck, Verdict, VerifyBackend, VerifyError};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long a GPU batch may take: `base + per_share × shares`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuTimeout {
    pub base: Duration,
    pub per_share: Duration,
}

impl Default for GpuTimeout {
    /// 2 s plus 1 ms a share: ~3 s for a 1,024-share batch, far above a real GPU's milliseconds and
    /// a CPU rasteriser's ~0.5 ms a share, and well under tosminer's 30-s submit timeout.
    fn default() -> Self {
        GpuTimeout { base: Duration::from_secs(2), per_share: Duration::from_millis(1) }
    }
}

impl GpuTimeout {
    pub fn for_batch(&self, shares: usize) -> Duration {
        self.base + self.per_share.saturating_mul(shares.min(u32::MAX as usize) as u32)
    }
}

type GpuJob = (Vec<ShareCheck>, mpsc::Sender<Result<Vec<Verdict>, VerifyError>>);

/// The GPU's own thread: a hung batch blocks it, not the caller.
struct GpuWorker {
    jobs: Mutex<mpsc::Sender<GpuJob>>,
}

impl GpuWorker {
    fn spawn(gpu: Arc<dyn VerifyBackend>) -> Self {
        let (tx, rx) = mpsc::channel::<GpuJob>();
        std::thread::Builder::new()
            .name("verify-gpu".into())
            .spawn(move || {
                for (shares, reply) in rx {
                    let r =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gpu.verify_batch(&shares)))
                            .unwrap_or_else(|_| Err(VerifyError::Backend("the GPU backend panicked".into())));
                    let _ = reply.send(r); // the caller may have timed out
                }
            })
            .expect("spawn the GPU worker thread");
        GpuWorker { jobs: Mutex::new(tx) }
    }

    fn verify(&self, shares: &[ShareCheck], timeout: Duration) -> Result<Vec<Verdict>, VerifyError> {
        let (tx, rx) = mpsc::channel();
        let sent = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send((shares.to_vec(), tx));
        if sent.is_err() {
            return Err(VerifyError::Backend("the GPU worker thread has stopped".into()));
        }
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(VerifyError::Backend(format!(
                "a batch of {} shares timed out after {} ms",
                shares.len(),
                timeout.as_millis()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(VerifyError::Backend("the GPU worker thread has stopped".into()))
            }
        }
    }
}

/// What the operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendMode {
    /// Use the faster of GPU and CPU, as measured by [`VerifyEngine::calibrate`].
    Auto,
    Gpu,
    Cpu,
}

impl FromStr for BackendMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!("unknown verifier backend {other:?}: use auto, gpu or cpu")),
        }
    }
}

impl fmt::Display for BackendMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        })
    }
}

/// Why the engine refused a mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("GPU verification requested but no GPU backend is available")]
    NoGpu,
    #[error("GPU verification requested but the GPU is out of service: {0}")]
    GpuOutOfService(String),
}

/// Counters for metrics and the admin API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub gpu_batches: u64,
    pub gpu_shares: u64,
    pub cpu_batches: u64,
    pub cpu_shares: u64,
    /// GPU hashes re-checked on the CPU (samples, blocks and would-be rejections).
    pub gpu_rechecked: u64,
    /// GPU hashes that disagreed with the CPU.
    pub gpu_mismatches: u64,
    /// GPU batches that failed (device lost, errors, timeouts).
    pub gpu_failures: u64,
    /// Batches verified on the GPU and then again on the CPU (mismatch, failure, or taken out of
    /// service while in flight).
    pub reverified_batches: u64,
}

/// What the engine is doing now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineStatus {
    pub mode: BackendMode,
    /// Whether batches go to the GPU now.
    pub using_gpu: bool,
    pub gpu: Option<String>,
    pub cpu: String,
    /// Why the GPU was taken out of service, if it was.
    pub gpu_out_of_service: Option<String>,
    pub stats: EngineStats,
}

/// Measured throughput of both backends (for `auto`).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub cpu_hashes_per_second: f64,
    pub gpu_hashes_per_second: Option<f64>,
    pub chose_gpu: bool,
}

/// Distributions for metrics: batch verify time per backend (µs) and batch sizes (shares).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineTimings {
    pub cpu_batch_us: HistogramSnapshot,
    pub gpu_batch_us: HistogramSnapshot,
    pub batch_shares: HistogramSnapshot,
}

struct Timings {
    cpu_batch_us: Histogram,
    gpu_batch_us: Histogram,
    batch_shares: Histogram,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            cpu_batch_us: Histogram::new(LATENCY_US),
            gpu_batch_us: Histogram::new(LATENCY_US),
            batch_shares: Histogram::new(BATCH_SIZES),
        }
    }
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros().min(u64::MAX as u128) as u64
}

#[derive(Default)]
struct Counters {
    gpu_batches: AtomicU64,
    gpu_shares: AtomicU64,
    cpu_batches: AtomicU64,
    cpu_shares: AtomicU64,
    gpu_rechecked: AtomicU64,
    gpu_mismatches: AtomicU64,
    gpu_failures: AtomicU64,
    reverified_batches: AtomicU64,
}

/// The share verifier the pool uses.
pub struct VerifyEngine {
    cpu: Arc<dyn VerifyBackend>,
    gpu: Option<Arc<dyn VerifyBackend>>,
    gpu_worker: Option<GpuWorker>,
    gpu_timeout: Mutex<GpuTimeout>,
    mode: Mutex<BackendMode>,
    /// The decision for `auto` (set by calibration) or the forced choice.
    prefer_gpu: AtomicBool,
    /// What the last calibration chose (what `auto` means when switched to at run time).
    auto_choice: AtomicBool,
    out_of_service: Mutex<Option<String>>,
    /// Bumped whenever the GPU is taken out of service, so in-flight batches notice.
    generation: AtomicU64,
    sample_every: u64,
    sample_counter: AtomicU64,
    counters: Counters,
    timings: Timings,
}

impl VerifyEngine {
    /// An engine over `cpu` and optionally `gpu`. `sample_every` = 100 re-checks 1 % of GPU hashes.
    /// `Auto` starts on the CPU until [`calibrate`](Self::calibrate) says otherwise.
    pub fn new(
        cpu: Arc<dyn VerifyBackend>,
        gpu: Option<Arc<dyn VerifyBackend>>,
        mode: BackendMode,
        sample_every: u64,
    ) -> Result<Self, EngineError> {
        let engine = VerifyEngine {
            cpu,
            gpu_worker: gpu.clone().map(GpuWorker::spawn),
            gpu,
            gpu_timeout: Mutex::new(GpuTimeout::default()),
            mode: Mutex::new(BackendMode::Cpu),
            prefer_gpu: AtomicBool::new(false),
            auto_choice: AtomicBool::new(false),
            out_of_service: Mutex::new(None),
            generation: AtomicU64::new(0),
            sample_every: sample_every.max(1),
            sample_counter: AtomicU64::new(0),
            counters: Counters::default(),
            timings: Timings::default(),
        };
        engine.set_mode(mode)?;
        Ok(engine)
    }

    /// Switches backend at run time (the admin API's handle).
    pub fn set_mode(&self, mode: BackendMode) -> Result<(), EngineError> {
        if mode == BackendMode::Gpu {
            if self.gpu.is_none() {
                return Err(EngineError::NoGpu);
            }
            if let Some(reason) = self.out_of_service_reason() {
                return Err(EngineError::GpuOutOfService(reason));
            }
        }
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
        let gpu = match mode {
            BackendMode::Gpu => true,
            BackendMode::Cpu => false,
            BackendMode::Auto => self.auto_choice.load(Ordering::SeqCst),
        };
        self.prefer_gpu.store(gpu, Ordering::SeqCst);
        tracing::info!(%mode, "verifier backend mode set");
        Ok(())
    }

    /// Sets the bound after which a GPU batch is abandoned (and the GPU taken out of service).
    pub fn set_gpu_timeout(&self, timeout: GpuTimeout) {
        *self.gpu_timeout.lock().unwrap_or_else(|e| e.into_inner()) = timeout;
    }

    pub fn gpu_timeout(&self) -> GpuTimeout {
        *self.gpu_timeout.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn mode(&self) -> BackendMode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn out_of_service_reason(&self) -> Option<String> {
        self.out_of_service.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the next batch goes to the GPU.
    pub fn using_gpu(&self) -> bool {
        self.gpu.is_some() && self.prefer_gpu.load(Ordering::SeqCst) && self.out_of_service_reason().is_none()
    }

    /// Takes the GPU out of service for good (until restart): loudly.
    pub fn take_gpu_out_of_service(&self, reason: &str) {
        let mut slot = self.out_of_service.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            tracing::error!(%reason, "GPU TAKEN OUT OF SERVICE: all shares are now verified on the CPU");
            *slot = Some(reason.to_owned());
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Measures both backends on `sample` (a few hundred shares) and, in `auto`, uses the faster.
    pub fn calibrate(&self, sample: &[ShareCheck], min_time: Duration) -> Calibration {
        let rate = |b: &dyn VerifyBackend| -> Option<f64> {
            b.verify_batch(sample).ok()?; // warm-up
            let start = Instant::now();
            let mut n = 0usize;
            while start.elapsed() < min_time || n == 0 {
                b.verify_batch(sample).ok()?;
                n += sample.len();
            }
            Some(n as f64 / start.elapsed().as_secs_f64())
        };
        let cpu = rate(self.cpu.as_ref()).unwrap_or(0.0);
        let gpu = match &self.gpu {
            Some(g) if self.out_of_service_reason().is_none() => rate(g.as_ref()),
            _ => None,
        };
        let chose_gpu = gpu.is_some_and(|g| g > cpu);
        self.auto_choice.store(chose_gpu, Ordering::SeqCst);
        if self.mode() == BackendMode::Auto {
            self.prefer_gpu.store(chose_gpu, Ordering::SeqCst);
        }
        tracing::info!(cpu_hashes_per_second = cpu, gpu_hashes_per_second = ?gpu, chose_gpu, "verifier calibrated");
        Calibration { cpu_hashes_per_second: cpu, gpu_hashes_per_second: gpu, chose_gpu }
    }

    /// Verdicts for every share, in order. Never fails: the CPU is the fallback for everything.
    pub fn verify(&self, shares: &[ShareCheck]) -> Vec<Verdict> {
        if shares.is_empty() {
            return Vec::new();
        }
        self.timings.batch_shares.record(shares.len() as u64);
        if let Some(gpu) = self.gpu_worker.as_ref().filter(|_| self.using_gpu()) {
            let generation = self.generation.load(Ordering::SeqCst);
            let started = Instant::now();
            match gpu.verify(shares, self.gpu_timeout().for_batch(shares.len())) {
                Ok(verdicts) => {
                    self.timings.gpu_batch_us.record(micros(started));
                    self.counters.gpu_batches.fetch_add(1, Ordering::Relaxed);
                    self.counters.gpu_shares.fetch_add(shares.len() as u64, Ordering::Relaxed);
                    if self.confirm(shares, &verdicts) && self.generation.load(Ordering::SeqCst) == generation
                    {
                        return verdicts;
                    }
                    self.counters.reverified_batches.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.counters.gpu_failures.fetch_add(1, Ordering::Relaxed);
                    self.counters.reverified_batches.fetch_add(1, Ordering::Relaxed);
                    self.take_gpu_out_of_service(&format!("GPU batch failed: {e}"));
                }
            }
        }
        self.verify_cpu(shares)
    }

    /// Verdicts from the CPU alone (the fallback of every fallback).
    pub fn verify_cpu(&self, shares: &[ShareCheck]) -> Vec<Verdict> {
        self.counters.cpu_batches.fetch_add(1, Ordering::Relaxed);
        self.counters.cpu_shares.fetch_add(shares.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let verdicts = self.cpu.verify_batch(shares).expect("the CPU backend does not fail");
        self.timings.cpu_batch_us.record(micros(started));
        verdicts
    }

    /// Re-checks on the CPU the GPU's block claims, every verdict that would reject, and a sample.
    /// False on any disagreement (and the GPU is then out of service).
    fn confirm(&self, shares: &[ShareCheck], verdicts: &[Verdict]) -> bool {
        let base = self.sample_counter.fetch_add(shares.len() as u64, Ordering::Relaxed);
        let picked: Vec<usize> = (0..shares.len())
            .filter(|&i| {
                verdicts[i].meets_network
                    || !verdicts[i].meets_share
                    || (base + i as u64).is_multiple_of(self.sample_every)
            })
            .collect();
        if picked.is_empty() {
            return true;
        }
        let subset: Vec<ShareCheck> = picked.iter().map(|&i| shares[i]).collect();
        let truth = self.cpu.verify_batch(&subset).expect("the CPU backend does not fail");
        self.counters.gpu_rechecked.fetch_add(picked.len() as u64, Ordering::Relaxed);
        let bad = picked.iter().zip(&truth).filter(|(i, t)| verdicts[**i].hash != t.hash).count();
        if bad == 0 {
            return true;
        }
        self.counters.gpu_mismatches.fetch_add(bad as u64, Ordering::Relaxed);
        let (i, t) = picked.iter().zip(&truth).find(|(i, t)| verdicts[**i].hash != t.hash).expect("bad > 0");
        self.take_gpu_out_of_service(&format!(
            "GPU hash disagrees with the CPU ({bad} of {} re-checked in a batch of {}; header {} GPU {} CPU {})",
            picked.len(),
            shares.len(),
            shares[*i].header.to_hex(),
            hex::encode(verdicts[*i].hash),
            hex::encode(t.hash)
        ));
        false
    }

    pub fn stats(&self) -> EngineStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            gpu_batches: l(&c.gpu_batches),
            gpu_shares: l(&c.gpu_shares),
            cpu_batches: l(&c.cpu_batches),
            cpu_shares: l(&c.cpu_shares),
            gpu_rechecked: l(&c.gpu_rechecked),
            gpu_mismatches: l(&c.gpu_mismatches),
            gpu_failures: l(&c.gpu_failures),
            reverified_batches: l(&c.reverified_batches),
        }
    }

    /// Batch verify times per backend and batch sizes (lock-free readings).
    pub fn timings(&self) -> EngineTimings {
        let t = &self.timings;
        EngineTimings {
            cpu_batch_us: t.cpu_batch_us.snapshot(),
            gpu_batch_us: t.gpu_batch_us.snapshot(),
            batch_shares: t.batch_shares.snapshot(),
        }
    }

    pub fn status(&self) -> EngineStatus {
        EngineStatus {
            mode: self.mode(),
            using_gpu: self.using_gpu(),
            gpu: self.gpu.as_ref().map(|g| g.describe()),
            cpu: self.cpu.describe(),
            gpu_out_of_service: self.out_of_service_reason(),
            stats: self.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::difficulty::Difficulty;
    use crate::hash::Hash;
    use crate::testutil::SplitMix64;
    use crate::verify::{CpuImpl, CpuVerifier, VerifyError};
    use crate::work::MinerWork;

    /// What a lying backend does on the shares it lies about.
    #[derive(Clone, Copy)]
    enum Lie {
        /// A zero hash: "meets every target", the most dangerous lie.
        Zero,
        /// An all-ones hash: "misses every target", which would turn a valid share into a reject.
        Max,
    }

    /// A backend that tells the truth except where told to lie, or that fails, hangs or panics.
    struct Liar {
        lie_on: fn(u64) -> bool,
        lie: Lie,
        fail: bool,
        hang: Option<Duration>,
        panic: bool,
        seen: AtomicU64,
    }

    impl VerifyBackend for Liar {
        fn describe(&self) -> String {
            "liar".into()
        }
        fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
            if self.fail {
                return Err(VerifyError::DeviceLost("simulated".into()));
            }
            if let Some(d) = self.hang {
                std::thread::sleep(d);
            }
            if self.panic {
                panic!("simulated GPU driver crash");
            }
            Ok(headers
                .iter()
                .map(|h| {
                    let mut hash = crate::hash::tos_hash_v3(h.as_bytes());
                    if (self.lie_on)(self.seen.fetch_add(1, Ordering::SeqCst)) {
                        hash = match self.lie {
                            Lie::Zero => [0; 32],
                            Lie::Max => [0xff; 32],
                        };
                    }
                    hash
                })
                .collect())
        }
    }

    fn liar(lie_on: fn(u64) -> bool, fail: bool) -> Liar {
        Liar { lie_on, lie: Lie::Zero, fail, hang: None, panic: false, seen: AtomicU64::new(0) }
    }

    fn engine_over(gpu: Liar, sample_every: u64) -> VerifyEngine {
        let cpu = Arc::new(CpuVerifier::new(1, CpuImpl::best()).unwrap());
        VerifyEngine::new(cpu, Some(Arc::new(gpu)), BackendMode::Gpu, sample_every).unwrap()
    }

    fn engine(lie_on: fn(u64) -> bool, fail: bool, sample_every: u64) -> VerifyEngine {
        engine_over(liar(lie_on, fail), sample_every)
    }

    fn shares(n: usize) -> Vec<ShareCheck> {
        let mut rng = SplitMix64(9);
        // Difficulty 1: every share meets its target (an honest miner's traffic).
        let share_target = Difficulty::ONE.target();
        let network_target = Difficulty::from_u64(1 << 40).unwrap().target();
        (0..n)
            .map(|_| {
                let mut b = [0u8; 112];
                rng.fill(&mut b);
                ShareCheck { header: MinerWork(b), share_target, network_target }
            })
            .collect()
    }

    fn cpu_truth(s: &[ShareCheck]) -> Vec<Verdict> {
        CpuVerifier::new(1, CpuImpl::Reference).unwrap().verify_batch(s).unwrap()
    }

    #[test]
    fn honest_gpu_stays_in_service_and_is_sampled() {
        let e = engine(|_| false, false, 10);
        let s = shares(100);
        assert_eq!(e.verify(&s), cpu_truth(&s));
        let st = e.stats();
        assert_eq!((st.gpu_batches, st.gpu_shares, st.cpu_batches), (1, 100, 0));
        assert_eq!(st.gpu_rechecked, 10);
        assert!(e.using_gpu() && e.out_of_service_reason().is_none());
        let t = e.timings();
        assert_eq!((t.gpu_batch_us.count, t.cpu_batch_us.count, t.batch_shares.count), (1, 0, 1));
        assert_eq!(t.batch_shares.sum, 100);
    }

    #[test]
    fn a_claimed_block_is_always_rechecked_and_a_lie_is_not_credited() {
        // The GPU lies once, on share 3, claiming a zero hash (a block and a valid share). With
        // sampling effectively off, only the block re-check can catch it.
        let e = engine(|n| n == 3, false, u64::MAX);
        let s = shares(20);
        let v = e.verify(&s);
        assert_eq!(v, cpu_truth(&s), "verdicts come from the CPU after the mismatch");
        assert!(!v[3].meets_network, "the lie is not credited as a block");
        let st = e.stats();
        assert_eq!((st.gpu_mismatches, st.reverified_batches), (1, 1));
        assert!(e.out_of_service_reason().unwrap().contains("disagrees with the CPU"));
        assert!(!e.using_gpu());
        // From now on everything runs on the CPU, and the GPU cannot be forced back.
        assert_eq!(e.verify(&s), cpu_truth(&s));
        assert_eq!(e.stats().cpu_batches, 2);
        assert!(matches!(e.set_mode(BackendMode::Gpu), Err(EngineError::GpuOutOfService(_))));
    }

    #[test]
    fn sampling_catches_a_persistent_liar_within_one_period() {
        // Every hash is a lie, sampling 1 in 50.
        let e = engine(|_| true, false, 50);
        let s = shares(50);
        assert_eq!(e.verify(&s), cpu_truth(&s));
        assert!(e.stats().gpu_mismatches >= 1);
        assert!(!e.using_gpu());
    }

    #[test]
    fn device_loss_falls_back_without_losing_the_batch() {
        let e = engine(|_| false, true, 100);
        let s = shares(30);
        assert_eq!(e.verify(&s), cpu_truth(&s));
        let st = e.stats();
        assert_eq!((st.gpu_failures, st.cpu_batches, st.cpu_shares), (1, 1, 30));
        assert!(e.out_of_service_reason().unwrap().contains("device lost"));
    }

    #[test]
    fn a_gpu_false_negative_is_caught_before_the_miner_hears_it() {
        // The GPU says every share misses its target (difficulty 2: about half truly meet it);
        // sampling is off, so only the re-check of would-be rejections can catch it.
        let e = engine_over(Liar { lie: Lie::Max, ..liar(|_| true, false) }, u64::MAX);
        let two = Difficulty::from_u64(2).unwrap().target();
        let s: Vec<ShareCheck> =
            shares(20).into_iter().map(|c| ShareCheck { share_target: two, ..c }).collect();
        let v = e.verify(&s);
        assert_eq!(v, cpu_truth(&s));
        assert!(v.iter().any(|v| v.meets_share), "the valid shares stay valid");
        assert!(e.stats().gpu_mismatches >= 1);
        assert!(!e.using_gpu(), "a GPU that lies is taken out of service");
    }

    #[test]
    fn a_hung_gpu_batch_times_out_and_is_verified_on_the_cpu() {
        let e = engine_over(Liar { hang: Some(Duration::from_secs(30)), ..liar(|_| false, false) }, 100);
        e.set_gpu_timeout(GpuTimeout {
            base: Duration::from_millis(200),
            per_share: Duration::from_millis(1),
        });
        assert_eq!(e.gpu_timeout().for_batch(10), Duration::from_millis(210));
        let s = shares(10);
        let started = Instant::now();
        assert_eq!(e.verify(&s), cpu_truth(&s));
        assert!(started.elapsed() < Duration::from_secs(10), "did not wait for the hung batch");
        assert!(e.out_of_service_reason().unwrap().contains("timed out"));
        assert_eq!((e.stats().gpu_failures, e.stats().reverified_batches), (1, 1));
        // The next batch goes straight to the CPU.
        assert_eq!(e.verify(&s), cpu_truth(&s));
        assert_eq!(e.stats().cpu_batches, 2);
    }

    #[test]
    fn a_panicking_gpu_backend_is_taken_out_of_service() {
        let e = engine_over(Liar { panic: true, ..liar(|_| false, false) }, 100);
        let s = shares(5);
        assert_eq!(e.verify(&s), cpu_truth(&s));
        assert!(e.out_of_service_reason().unwrap().contains("panicked"));
    }

    #[test]
    fn modes_and_runtime_switch() {
        let cpu: Arc<dyn VerifyBackend> = Arc::new(CpuVerifier::new(1, CpuImpl::best()).unwrap());
        assert_eq!(
            VerifyEngine::new(cpu.clone(), None, BackendMode::Gpu, 100).err(),
            Some(EngineError::NoGpu)
        );
        let e = VerifyEngine::new(cpu.clone(), None, BackendMode::Auto, 100).unwrap();
        assert!(!e.using_gpu());
        let e = engine(|_| false, false, 100);
        e.set_mode(BackendMode::Cpu).unwrap();
        assert!(!e.using_gpu());
        e.verify(&shares(5));
        assert_eq!((e.stats().cpu_batches, e.stats().gpu_batches), (1, 0));
        e.set_mode(BackendMode::Gpu).unwrap();
        assert!(e.using_gpu());
        assert_eq!("AUTO".parse::<BackendMode>(), Ok(BackendMode::Auto));
        assert!("fpga".parse::<BackendMode>().is_err());
    }

    #[test]
    fn auto_picks_the_faster_backend_and_remembers_it_across_switches() {
        let e = engine(|_| false, false, 100);
        e.set_mode(BackendMode::Auto).unwrap();
        let c = e.calibrate(&shares(8), Duration::from_millis(20));
        assert!(c.cpu_hashes_per_second > 0.0 && c.gpu_hashes_per_second.is_some());
        assert_eq!(e.using_gpu(), c.chose_gpu);
        e.set_mode(BackendMode::Cpu).unwrap();
        assert!(!e.using_gpu());
        e.set_mode(BackendMode::Auto).unwrap();
        assert_eq!(e.using_gpu(), c.chose_gpu, "auto means the calibrated choice");
    }
}
