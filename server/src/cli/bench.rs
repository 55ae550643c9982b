//! `tos-pool bench verify`: verifier throughput and batch latency, for any backend.

use super::EXIT_USAGE;
use clap::{Args, Subcommand, ValueEnum};
use gpu_verify::{
    AdapterSummary, Arithmetic, BatchTiming, EngineOptions, GpuConfig, GpuError, GpuVerifier, KernelKind,
    build_engine, selftest,
};
use pool_core::hash::DispatchLevel;
use pool_core::{BackendMode, CpuImpl, CpuVerifier, ShareCheck, Verdict, VerifyBackend};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Share-verification throughput of a verifier backend.
    Verify(VerifyArgs),
    /// Load on the Stratum server: connections held, accepted shares/s, reply latency, memory.
    Stratum(super::bench_stratum::StratumBenchArgs),
    /// Accepted-share rows per second into a database through the ledger's write path.
    Ledger(super::bench_ledger::LedgerBenchArgs),
    /// The whole verifier matrix of this machine: report.json, report.md and SVG charts.
    Report(super::bench_report::ReportArgs),
    /// Reports of several machines side by side: ratios on their common points, charts.
    Compare(super::bench_report::CompareArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Backend {
    Cpu,
    Gpu,
    /// The pool's engine in `auto` mode: calibrates both and uses the faster.
    Auto,
}

impl Backend {
    pub(super) fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
            Backend::Auto => "auto",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Impl {
    Fast,
    Reference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Level {
    Best,
    Portable,
    Avx2,
    Avx512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Arith {
    Best,
    U64,
    Vec2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum KernelArg {
    /// Build both, time them at the batch size, keep the faster.
    Auto,
    /// One invocation per share.
    Lane,
    /// One 32-invocation workgroup per share.
    Coop,
}

#[derive(Args, Clone, Debug, PartialEq)]
pub struct VerifyArgs {
    #[arg(long, value_enum, default_value = "cpu", env = "TOS_POOL_VERIFIER")]
    pub(super) backend: Backend,
    /// CPU implementation.
    #[arg(long = "impl", value_enum, default_value = "fast")]
    pub(super) imp: Impl,
    /// CPU dispatch level of the fast path.
    #[arg(long, value_enum, default_value = "best")]
    pub(super) level: Level,
    /// GPU 64-bit arithmetic variant.
    #[arg(long, value_enum, default_value = "best")]
    pub(super) arithmetic: Arith,
    /// GPU kernel.
    #[arg(long, value_enum, default_value = "auto")]
    pub(super) kernel: KernelArg,
    /// Lane-kernel workgroup size (default: measured).
    #[arg(long)]
    pub(super) workgroup_size: Option<u32>,
    /// Coop kernel: bytes of each share's pad in workgroup memory (default: the adapter's maximum).
    #[arg(long)]
    pub(super) workgroup_memory: Option<u32>,
    /// Accept a CPU rasteriser (llvmpipe/lavapipe) as the GPU; refused otherwise.
    #[arg(long)]
    pub(super) allow_cpu_adapter: bool,
    /// `--backend gpu`: the adapter, by its index in `bench report`'s list (best first; default:
    /// the best).
    #[arg(long)]
    pub(super) adapter: Option<usize>,
    /// Shares to verify in total.
    #[arg(long, default_value_t = 20_000)]
    pub(super) shares: usize,
    /// Shares per batch handed to the backend.
    #[arg(long, default_value_t = 1024)]
    pub(super) batch: usize,
    /// CPU verifier threads (default: every core).
    #[arg(long)]
    pub(super) threads: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Clone, Serialize)]
pub(super) struct AdapterReport {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub arithmetic: String,
    pub workgroup_size: u32,
    /// The kernel batches ran on.
    pub kernel: String,
    /// Every kernel built, fastest first, with its start-up time on one batch of `--batch` shares.
    pub kernels: Vec<KernelReport>,
    /// Whether the adapter has GPU timestamp queries (then `gpu_timing.kernel_ms_*` are measured).
    pub timestamps: bool,
}

#[derive(Clone, Serialize)]
pub(super) struct KernelReport {
    pub kernel: String,
    pub batch_ms: Option<f64>,
}

/// Where a GPU batch's time went (medians over the measured batches, milliseconds).
#[derive(Serialize)]
pub(super) struct GpuTimingReport {
    /// The compute pass alone, from GPU timestamps (`null` without timestamp queries).
    pub kernel_ms_p50: Option<f64>,
    pub kernel_ms_p99: Option<f64>,
    /// Shares per second of kernel time at the median (`null` without timestamp queries).
    pub kernel_hashes_per_second: Option<f64>,
    pub upload_ms_p50: f64,
    pub submit_ms_p50: f64,
    /// Submission to completion (kernel + copies + scheduling).
    pub wait_ms_p50: f64,
    pub readback_ms_p50: f64,
}

#[derive(Serialize)]
struct Report {
    backend: String,
    implementation: String,
    adapter: Option<AdapterReport>,
    threads: Option<usize>,
    shares: usize,
    batch: usize,
    seconds: f64,
    hashes_per_second: f64,
    hashes_per_second_per_thread: Option<f64>,
    batch_latency_ms_p50: f64,
    batch_latency_ms_p99: f64,
    /// GPU batches only.
    gpu_timing: Option<GpuTimingReport>,
    /// `auto`: both backends measured at start-up.
    calibration: Option<CalibrationReport>,
    /// `auto`: why batches do not go to the GPU.
    gpu_unused_reason: Option<String>,
}

/// A backend under test, as a closure.
type VerifyFn = dyn Fn(&[ShareCheck]) -> Result<Vec<Verdict>, String>;

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_USAGE)
}

fn failure(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

pub fn run(cmd: BenchCommand) -> ExitCode {
    match cmd {
        BenchCommand::Verify(args) => verify(args),
        BenchCommand::Stratum(args) => super::bench_stratum::run(args),
        BenchCommand::Ledger(args) => super::bench_ledger::run(args),
        BenchCommand::Report(args) => super::bench_report::run_report(args),
        BenchCommand::Compare(args) => super::bench_report::run_compare(args),
    }
}

fn adapter_report(g: &GpuVerifier) -> AdapterReport {
    AdapterReport {
        name: g.adapter().name.clone(),
        backend: g.adapter().backend.clone(),
        device_type: g.adapter().kind.name().to_owned(),
        driver: g.adapter().driver.clone(),
        arithmetic: g.arithmetic().name().to_owned(),
        workgroup_size: g.workgroup_size(),
        kernel: g.kernel().to_string(),
        kernels: g
            .kernels()
            .into_iter()
            .map(|(k, d)| KernelReport { kernel: k.to_string(), batch_ms: d.map(|d| d.as_secs_f64() * 1e3) })
            .collect(),
        timestamps: g.has_timestamps(),
    }
}

/// The median (and p99) of each phase over the measured batches.
fn gpu_timing_report(timings: &[BatchTiming], batch: usize) -> Option<GpuTimingReport> {
    if timings.is_empty() {
        return None;
    }
    let median = |f: &dyn Fn(&BatchTiming) -> Duration| percentile(timings.iter().map(f).collect(), 0.5);
    let kernel: Option<Vec<Duration>> = timings.iter().map(|t| t.kernel).collect();
    let (kernel_p50, kernel_p99) = match kernel {
        Some(k) => (Some(percentile(k.clone(), 0.5)), Some(percentile(k, 0.99))),
        None => (None, None),
    };
    Some(GpuTimingReport {
        kernel_ms_p50: kernel_p50,
        kernel_ms_p99: kernel_p99,
        kernel_hashes_per_second: kernel_p50.filter(|&ms| ms > 0.0).map(|ms| batch as f64 / (ms / 1e3)),
        upload_ms_p50: median(&|t| t.upload),
        submit_ms_p50: median(&|t| t.submit),
        wait_ms_p50: median(&|t| t.wait),
        readback_ms_p50: median(&|t| t.readback),
    })
}

fn percentile(mut values: Vec<Duration>, p: f64) -> f64 {
    values.sort();
    values[((values.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

fn gpu_config(args: &VerifyArgs) -> GpuConfig {
    GpuConfig {
        max_batch: args.batch,
        kernel: match args.kernel {
            KernelArg::Auto => None,
            KernelArg::Lane => Some(KernelKind::Lane),
            KernelArg::Coop => Some(KernelKind::Coop),
        },
        workgroup_size: args.workgroup_size,
        workgroup_memory: args.workgroup_memory,
        arithmetic: match args.arithmetic {
            Arith::Best => None,
            Arith::U64 => Some(Arithmetic::U64),
            Arith::Vec2 => Some(Arithmetic::Vec2),
        },
        allow_cpu_adapter: args.allow_cpu_adapter,
    }
}

/// A backend opened as `args` describe, ready to measure.
pub(super) struct OpenedBackend {
    verifier: Box<VerifyFn>,
    /// The GPU whose batch timings are recorded (when batches run on one).
    timed_gpu: Option<Arc<GpuVerifier>>,
    pub implementation: String,
    pub adapter: Option<AdapterReport>,
    pub cpu_threads: Option<usize>,
    /// `auto` only: both backends measured at start-up.
    pub calibration: Option<CalibrationReport>,
    /// `auto` only: why batches do not go to the GPU (refused, failed to open or its self-test).
    pub gpu_unused_reason: Option<String>,
}

/// Why a backend could not be opened: bad settings (exit code 2) or a failure (1).
pub(super) enum OpenError {
    Usage(String),
    Failure(String),
}

impl OpenError {
    fn exit(self) -> ExitCode {
        match self {
            OpenError::Usage(m) => usage(&m),
            OpenError::Failure(m) => failure(&m),
        }
    }

    pub(super) fn message(&self) -> &str {
        match self {
            OpenError::Usage(m) | OpenError::Failure(m) => m,
        }
    }
}

/// How long a measurement runs.
#[derive(Clone, Copy, Debug)]
pub(super) enum Until {
    /// Exactly these shares (`bench verify --shares`).
    Shares(usize),
    /// Whole batches until `seconds` of verification and at least `min_batches` (`bench report`).
    Seconds { seconds: f64, min_batches: usize },
}

/// The batches of one measurement, after one warm-up batch.
pub(super) struct Measurement {
    pub shares: usize,
    /// Time spent verifying (the sum of the batch latencies).
    pub seconds: f64,
    /// Every batch's latency, in order.
    pub latencies_ms: Vec<f64>,
    /// Every batch's GPU timing (GPU batches only).
    pub timings: Vec<BatchTiming>,
}

impl Measurement {
    pub(super) fn hashes_per_second(&self) -> f64 {
        self.shares as f64 / self.seconds
    }

    /// Nearest-rank percentile of the batch latencies (`p` in 0..=1).
    pub(super) fn latency_ms(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    pub(super) fn gpu_timing(&self, batch: usize) -> Option<GpuTimingReport> {
        gpu_timing_report(&self.timings, batch)
    }
}

/// The seed of the synthetic shares every measurement verifies (same shares, same order).
const SHARE_SEED: u64 = 0x7051;

fn synthetic(n: usize) -> Vec<ShareCheck> {
    pool_core::verify::synthetic_shares(n, SHARE_SEED, 16, 1 << 20)
}

/// Verifies one warm-up batch, then batches of `batch` shares until `until`.
pub(super) fn measure(b: &OpenedBackend, batch: usize, until: Until) -> Result<Measurement, String> {
    // The shares are a prefix of one fixed sequence, so `--shares N` re-verifies the same ones.
    let mut shares = synthetic(match until {
        Until::Shares(n) => n,
        Until::Seconds { min_batches, .. } => batch * min_batches.max(1),
    });
    (b.verifier)(&shares[..batch.min(shares.len())]).map_err(|e| format!("warm-up failed: {e}"))?;
    let mut m = Measurement { shares: 0, seconds: 0.0, latencies_ms: Vec::new(), timings: Vec::new() };
    loop {
        let end = match until {
            Until::Shares(n) if m.shares >= n => break,
            Until::Shares(n) => (m.shares + batch).min(n),
            Until::Seconds { seconds, min_batches } => {
                if m.seconds >= seconds && m.latencies_ms.len() >= min_batches {
                    break;
                }
                m.shares + batch
            }
        };
        if end > shares.len() {
            // Grown outside the timed batches; doubling keeps regeneration rare.
            shares = synthetic(end.max(shares.len() * 2));
        }
        let t = Instant::now();
        (b.verifier)(&shares[m.shares..end]).map_err(|e| format!("verification failed: {e}"))?;
        let elapsed = t.elapsed().as_secs_f64();
        m.seconds += elapsed;
        m.latencies_ms.push(elapsed * 1e3);
        if let Some(g) = &b.timed_gpu {
            m.timings.push(g.last_timing());
        }
        m.shares = end;
    }
    Ok(m)
}

/// `auto`'s start-up measurement of both backends.
#[derive(Clone, Serialize)]
pub(super) struct CalibrationReport {
    pub cpu_hashes_per_second: f64,
    pub gpu_hashes_per_second: Option<f64>,
    pub chose_gpu: bool,
}

/// Opens the backend `args` describe; with `self_test`, a GPU must pass its self-test first.
pub(super) fn open_backend(args: &VerifyArgs, self_test: bool) -> Result<OpenedBackend, OpenError> {
    if args.shares == 0 || args.batch == 0 {
        return Err(OpenError::Usage("--shares and --batch must be at least 1".into()));
    }
    if args.adapter.is_some() && !matches!(args.backend, Backend::Gpu) {
        return Err(OpenError::Usage("--adapter chooses the adapter of --backend gpu".into()));
    }
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    match args.backend {
        Backend::Cpu => {
            let level = match args.level {
                Level::Best => DispatchLevel::detect(),
                Level::Portable => DispatchLevel::Portable,
                Level::Avx2 => DispatchLevel::Avx2,
                Level::Avx512 => DispatchLevel::Avx512,
            };
            let imp = match args.imp {
                Impl::Fast => CpuImpl::Fast(level),
                Impl::Reference => CpuImpl::Reference,
            };
            let cpu = CpuVerifier::new(threads, imp).map_err(|e| OpenError::Usage(e.to_string()))?;
            Ok(OpenedBackend {
                verifier: Box::new(move |s| cpu.verify_batch(s).map_err(|e| e.to_string())),
                timed_gpu: None,
                implementation: imp.to_string(),
                adapter: None,
                cpu_threads: Some(threads),
                calibration: None,
                gpu_unused_reason: None,
            })
        }
        Backend::Gpu => {
            let gpu = open_gpu(args).map_err(|e| OpenError::Failure(e.to_string()))?;
            if self_test && let Err(e) = selftest::run(&gpu, 256, 1) {
                return Err(OpenError::Failure(format!(
                    "refusing to benchmark a GPU that fails its self-test: {e}"
                )));
            }
            let adapter = adapter_report(&gpu);
            let implementation = gpu.describe();
            let gpu = Arc::new(gpu);
            let timed = gpu.clone();
            Ok(OpenedBackend {
                verifier: Box::new(move |s| gpu.verify_batch(s).map_err(|e| e.to_string())),
                timed_gpu: Some(timed),
                implementation,
                adapter: Some(adapter),
                cpu_threads: None,
                calibration: None,
                gpu_unused_reason: None,
            })
        }
        Backend::Auto => {
            let opts = EngineOptions {
                mode: BackendMode::Auto,
                cpu_threads: Some(threads),
                gpu: gpu_config(args),
                calibration_time: Duration::from_millis(500),
                ..EngineOptions::default()
            };
            let setup = build_engine(&opts).map_err(|e| OpenError::Failure(e.to_string()))?;
            let adapter = setup.gpu.as_deref().map(adapter_report);
            let status = setup.engine.status();
            let implementation = if status.using_gpu {
                format!("auto → {}", status.gpu.clone().unwrap_or_default())
            } else {
                format!("auto → {}", status.cpu)
            };
            let gpu_unused_reason = if status.using_gpu {
                None
            } else if setup.gpu.is_none() {
                // build_engine only logs why the GPU did not open: ask once more for the reason.
                Some(
                    GpuVerifier::new(&opts.gpu)
                        .err()
                        .map_or("the GPU did not open".into(), |e| e.to_string()),
                )
            } else {
                setup.engine.out_of_service_reason()
            };
            let calibration = setup.calibration.as_ref().map(|c| CalibrationReport {
                cpu_hashes_per_second: c.cpu_hashes_per_second,
                gpu_hashes_per_second: c.gpu_hashes_per_second,
                chose_gpu: c.chose_gpu,
            });
            if let Some(c) = &calibration {
                tracing::info!(cpu = c.cpu_hashes_per_second, gpu = ?c.gpu_hashes_per_second, "calibration (hashes/s)");
            }
            let timed_gpu = if status.using_gpu { setup.gpu.clone() } else { None };
            let engine = setup.engine;
            Ok(OpenedBackend {
                verifier: Box::new(move |s| Ok(engine.verify(s))),
                timed_gpu,
                implementation,
                adapter,
                cpu_threads: Some(threads),
                calibration,
                gpu_unused_reason,
            })
        }
    }
}

/// The best adapter (refusing a CPU rasteriser unless allowed), or the `--adapter`-th.
fn open_gpu(args: &VerifyArgs) -> Result<GpuVerifier, GpuError> {
    let config = gpu_config(args);
    let Some(index) = args.adapter else {
        return GpuVerifier::new(&config);
    };
    let adapters = gpu_verify::adapter::ranked_adapters(&gpu_verify::adapter::instance());
    let adapter = adapters.get(index).ok_or_else(|| {
        GpuError::NoAdapter(format!("--adapter {index}, but wgpu found {} adapter(s)", adapters.len()))
    })?;
    let summary = AdapterSummary::of(adapter);
    if !summary.kind.is_gpu() && !config.allow_cpu_adapter {
        return Err(GpuError::CpuAdapterRefused {
            adapter: summary.to_string(),
            hint: gpu_verify::drivers::missing_driver_hint(),
        });
    }
    GpuVerifier::with_adapter(adapter, &config)
}

fn verify(args: VerifyArgs) -> ExitCode {
    let opened = match open_backend(&args, true) {
        Ok(o) => o,
        Err(e) => return e.exit(),
    };
    tracing::info!(backend = %opened.implementation, shares = args.shares, batch = args.batch, "benchmarking");
    let m = match measure(&opened, args.batch, Until::Shares(args.shares)) {
        Ok(m) => m,
        Err(e) => return failure(&e),
    };
    let rate = m.hashes_per_second();
    let report = Report {
        backend: args.backend.name().into(),
        implementation: opened.implementation,
        adapter: opened.adapter,
        threads: opened.cpu_threads,
        shares: args.shares,
        batch: args.batch,
        seconds: m.seconds,
        hashes_per_second: rate,
        hashes_per_second_per_thread: opened
            .cpu_threads
            .filter(|_| matches!(args.backend, Backend::Cpu))
            .map(|t| rate / t as f64),
        batch_latency_ms_p50: m.latency_ms(0.5),
        batch_latency_ms_p99: m.latency_ms(0.99),
        gpu_timing: m.gpu_timing(args.batch),
        calibration: opened.calibration,
        gpu_unused_reason: opened.gpu_unused_reason,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
        return ExitCode::SUCCESS;
    }
    if let Some(a) = &report.adapter {
        println!(
            "adapter: {} (backend {}, device type {}, {} arithmetic, {} kernel)",
            a.name, a.backend, a.device_type, a.arithmetic, a.kernel
        );
        for k in &a.kernels {
            if let Some(ms) = k.batch_ms {
                println!("  candidate {}: {ms:.2} ms per batch of {} at start-up", k.kernel, args.batch);
            }
        }
        if a.device_type == "cpu" {
            println!(
                "note: this adapter is a CPU rasteriser (e.g. lavapipe): its figures say nothing about a real GPU"
            );
        }
    }
    if let Some(why) = &report.gpu_unused_reason {
        println!("auto: not on the GPU: {why}");
    }
    let per_thread = report
        .hashes_per_second_per_thread
        .map(|p| format!(", {p:.0} hashes/s per thread"))
        .unwrap_or_default();
    println!(
        "{}: {:.0} hashes/s{per_thread}; {} shares in {:.2} s; batch of {} p50 {:.2} ms p99 {:.2} ms",
        report.implementation,
        report.hashes_per_second,
        args.shares,
        m.seconds,
        args.batch,
        report.batch_latency_ms_p50,
        report.batch_latency_ms_p99
    );
    if let Some(t) = &report.gpu_timing {
        let kernel = match (t.kernel_ms_p50, t.kernel_hashes_per_second) {
            (Some(ms), Some(rate)) => format!("kernel {ms:.3} ms ({rate:.0} hashes/s of kernel time)"),
            _ => "kernel time unmeasured (no timestamp queries)".to_owned(),
        };
        println!(
            "GPU batch p50: {kernel}; upload {:.3} ms, submit {:.3} ms, wait {:.3} ms, readback {:.3} ms",
            t.upload_ms_p50, t.submit_ms_p50, t.wait_ms_p50, t.readback_ms_p50
        );
    }
    ExitCode::SUCCESS
}

/// `bench verify`'s options alone, for commands built as text (`bench report`).
#[derive(clap::Parser)]
#[command(name = "tos-pool bench verify", no_binary_name = true)]
struct VerifyCommand {
    #[command(flatten)]
    args: VerifyArgs,
}

/// Parses `bench verify` options (without `bench verify` itself), exactly as the binary would.
pub(super) fn parse_verify_args(argv: &[String]) -> Result<VerifyArgs, String> {
    use clap::Parser;
    VerifyCommand::try_parse_from(argv).map(|c| c.args).map_err(|e| e.to_string())
}

impl OpenedBackend {
    /// Whether batches run on a GPU adapter (always for `gpu`; for `auto`, when it chose one).
    pub(super) fn on_gpu(&self) -> bool {
        self.timed_gpu.is_some()
    }
}
