//! `tos-pool bench verify`: verifier throughput and batch latency, for any backend.

use super::EXIT_USAGE;
use clap::{Args, Subcommand, ValueEnum};
use gpu_verify::{Arithmetic, EngineOptions, GpuConfig, GpuVerifier, build_engine, selftest};
use pool_core::hash::DispatchLevel;
use pool_core::{BackendMode, CpuImpl, CpuVerifier, ShareCheck, Verdict, VerifyBackend};
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Share-verification throughput of a verifier backend.
    Verify(VerifyArgs),
    /// Load on the Stratum server: connections held, accepted shares/s, reply latency, memory.
    Stratum(super::bench_stratum::StratumBenchArgs),
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
    /// GPU workgroup size (default: measured).
    #[arg(long)]
    workgroup_size: Option<u32>,
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
    }
}

fn adapter_report(g: &GpuVerifier) -> AdapterReport {
    AdapterReport {
        name: g.adapter().name.clone(),
        backend: g.adapter().backend.clone(),
        device_type: g.adapter().kind.name().to_owned(),
        arithmetic: g.arithmetic().name().to_owned(),
        workgroup_size: g.workgroup_size(),
    }
}

fn gpu_config(args: &VerifyArgs) -> GpuConfig {
    GpuConfig {
        max_batch: args.batch,
        workgroup_size: args.workgroup_size,
        arithmetic: match args.arithmetic {
            Arith::Best => None,
            Arith::U64 => Some(Arithmetic::U64),
            Arith::Vec2 => Some(Arithmetic::Vec2),
        },
        allow_cpu_adapter: true,
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    if args.shares == 0 || args.batch == 0 {
        return usage("--shares and --batch must be at least 1");
    }
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Each arm yields: a verifier closure, a description, an adapter report, the CPU thread count.
    let verifier: Box<VerifyFn>;
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
    let started = Instant::now();
    for batch in shares.chunks(args.batch) {
        let t = Instant::now();
        if let Err(e) = verifier(batch) {
            return failure(&format!("verification failed: {e}"));
        }
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
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
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
        return ExitCode::SUCCESS;
    }
    if let Some(a) = &report.adapter {
        println!(
            "adapter: {} (backend {}, device type {}, {} arithmetic, workgroup {})",
            a.name, a.backend, a.device_type, a.arithmetic, a.workgroup_size
        );
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
    ExitCode::SUCCESS
}
