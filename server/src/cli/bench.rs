//! `tos-pool bench verify`: verifier throughput and batch latency, for any backend.

use super::EXIT_USAGE;
use clap::{Args, Subcommand, ValueEnum};
use gpu_verify::{
    Arithmetic, BatchTiming, EngineOptions, GpuConfig, GpuVerifier, KernelKind, build_engine, selftest,
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
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Cpu,
    Gpu,
    /// The pool's engine in `auto` mode: calibrates both and uses the faster.
    Auto,
}

#[derive(Clone, Copy, ValueEnum)]
enum Impl {
    Fast,
    Reference,
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    Best,
    Portable,
    Avx2,
    Avx512,
}

#[derive(Clone, Copy, ValueEnum)]
enum Arith {
    Best,
    U64,
    Vec2,
}

#[derive(Clone, Copy, ValueEnum)]
enum KernelArg {
    /// Build both, time them at the batch size, keep the faster.
    Auto,
    /// One invocation per share.
    Lane,
    /// One 32-invocation workgroup per share.
    Coop,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long, value_enum, default_value = "cpu", env = "TOS_POOL_VERIFIER")]
    backend: Backend,
    /// CPU implementation.
    #[arg(long = "impl", value_enum, default_value = "fast")]
    imp: Impl,
    /// CPU dispatch level of the fast path.
    #[arg(long, value_enum, default_value = "best")]
    level: Level,
    /// GPU 64-bit arithmetic variant.
    #[arg(long, value_enum, default_value = "best")]
    arithmetic: Arith,
    /// GPU kernel.
    #[arg(long, value_enum, default_value = "auto")]
    kernel: KernelArg,
    /// Lane-kernel workgroup size (default: measured).
    #[arg(long)]
    workgroup_size: Option<u32>,
    /// Coop kernel: bytes of each share's pad in workgroup memory (default: the adapter's maximum).
    #[arg(long)]
    workgroup_memory: Option<u32>,
    /// Accept a CPU rasteriser (llvmpipe/lavapipe) as the GPU; refused otherwise.
    #[arg(long)]
    allow_cpu_adapter: bool,
    /// Shares to verify in total.
    #[arg(long, default_value_t = 20_000)]
    shares: usize,
    /// Shares per batch handed to the backend.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// CPU verifier threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct AdapterReport {
    name: String,
    backend: String,
    device_type: String,
    arithmetic: String,
    workgroup_size: u32,
    /// The kernel batches ran on.
    kernel: String,
    /// Every kernel built, fastest first, with its start-up time on one batch of `--batch` shares.
    kernels: Vec<KernelReport>,
    /// Whether the adapter has GPU timestamp queries (then `gpu_timing.kernel_ms_*` are measured).
    timestamps: bool,
}

#[derive(Serialize)]
struct KernelReport {
    kernel: String,
    batch_ms: Option<f64>,
}

/// Where a GPU batch's time went (medians over the measured batches, milliseconds).
#[derive(Serialize)]
struct GpuTimingReport {
    /// The compute pass alone, from GPU timestamps (`null` without timestamp queries).
    kernel_ms_p50: Option<f64>,
    kernel_ms_p99: Option<f64>,
    /// Shares per second of kernel time at the median (`null` without timestamp queries).
    kernel_hashes_per_second: Option<f64>,
    upload_ms_p50: f64,
    submit_ms_p50: f64,
    /// Submission to completion (kernel + copies + scheduling).
    wait_ms_p50: f64,
    readback_ms_p50: f64,
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
    }
}

fn adapter_report(g: &GpuVerifier) -> AdapterReport {
    AdapterReport {
        name: g.adapter().name.clone(),
        backend: g.adapter().backend.clone(),
        device_type: g.adapter().kind.name().to_owned(),
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

fn verify(args: VerifyArgs) -> ExitCode {
    if args.shares == 0 || args.batch == 0 {
        return usage("--shares and --batch must be at least 1");
    }
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Each arm yields: a verifier closure, a description, an adapter report, the CPU thread count.
    let verifier: Box<VerifyFn>;
    // The GPU whose batch timings are recorded (when batches run on one).
    let mut timed_gpu: Option<Arc<GpuVerifier>> = None;
    let (implementation, adapter, cpu_threads) = match args.backend {
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
            let cpu = match CpuVerifier::new(threads, imp) {
                Ok(v) => v,
                Err(e) => return usage(&e.to_string()),
            };
            verifier = Box::new(move |s| cpu.verify_batch(s).map_err(|e| e.to_string()));
            (imp.to_string(), None, Some(threads))
        }
        Backend::Gpu => {
            let gpu = match GpuVerifier::new(&gpu_config(&args)) {
                Ok(g) => g,
                Err(e) => return failure(&e.to_string()),
            };
            if let Err(e) = selftest::run(&gpu, 256, 1) {
                return failure(&format!("refusing to benchmark a GPU that fails its self-test: {e}"));
            }
            let report = adapter_report(&gpu);
            let description = gpu.describe();
            let gpu = Arc::new(gpu);
            timed_gpu = Some(gpu.clone());
            verifier = Box::new(move |s| gpu.verify_batch(s).map_err(|e| e.to_string()));
            (description, Some(report), None)
        }
        Backend::Auto => {
            let opts = EngineOptions {
                mode: BackendMode::Auto,
                cpu_threads: Some(threads),
                gpu: gpu_config(&args),
                calibration_time: Duration::from_millis(500),
                ..EngineOptions::default()
            };
            let setup = match build_engine(&opts) {
                Ok(s) => s,
                Err(e) => return failure(&e.to_string()),
            };
            let report = setup.gpu.as_deref().map(adapter_report);
            let status = setup.engine.status();
            let description = if status.using_gpu {
                format!("auto → {}", status.gpu.unwrap_or_default())
            } else {
                format!("auto → {}", status.cpu)
            };
            if let Some(c) = &setup.calibration {
                tracing::info!(cpu = c.cpu_hashes_per_second, gpu = ?c.gpu_hashes_per_second, "calibration (hashes/s)");
            }
            if status.using_gpu {
                timed_gpu = setup.gpu.clone();
            }
            let engine = setup.engine;
            verifier = Box::new(move |s| Ok(engine.verify(s)));
            (description, report, Some(threads))
        }
    };

    let shares = pool_core::verify::synthetic_shares(args.shares, 0x7051, 16, 1 << 20);
    if let Err(e) = verifier(&shares[..args.batch.min(shares.len())]) {
        return failure(&format!("warm-up failed: {e}"));
    }
    tracing::info!(backend = %implementation, shares = args.shares, batch = args.batch, "benchmarking");
    let mut latencies = Vec::with_capacity(args.shares.div_ceil(args.batch));
    let mut timings = Vec::new();
    let started = Instant::now();
    for batch in shares.chunks(args.batch) {
        let t = Instant::now();
        if let Err(e) = verifier(batch) {
            return failure(&format!("verification failed: {e}"));
        }
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(g) = &timed_gpu {
            timings.push(g.last_timing());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let rate = args.shares as f64 / seconds;
    let report = Report {
        backend: match args.backend {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
            Backend::Auto => "auto",
        }
        .into(),
        implementation,
        adapter,
        threads: cpu_threads,
        shares: args.shares,
        batch: args.batch,
        seconds,
        hashes_per_second: rate,
        hashes_per_second_per_thread: cpu_threads
            .filter(|_| matches!(args.backend, Backend::Cpu))
            .map(|t| rate / t as f64),
        batch_latency_ms_p50: pct(0.5),
        batch_latency_ms_p99: pct(0.99),
        gpu_timing: gpu_timing_report(&timings, args.batch),
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
    let per_thread = report
        .hashes_per_second_per_thread
        .map(|p| format!(", {p:.0} hashes/s per thread"))
        .unwrap_or_default();
    println!(
        "{}: {:.0} hashes/s{per_thread}; {} shares in {:.2} s; batch of {} p50 {:.2} ms p99 {:.2} ms",
        report.implementation,
        report.hashes_per_second,
        args.shares,
        seconds,
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
