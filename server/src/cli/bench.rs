//! `tos-pool bench verify`: verifier throughput, per thread and in total.

use super::EXIT_USAGE;
use clap::{Args, Subcommand, ValueEnum};
use pool_core::hash::DispatchLevel;
use pool_core::{CpuImpl, CpuVerifier, Difficulty, MinerWork, ShareCheck, VerifyBackend};
use serde::Serialize;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Share-verification throughput of a verifier backend.
    Verify(VerifyArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Cpu,
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

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
    /// CPU implementation.
    #[arg(long = "impl", value_enum, default_value = "fast")]
    imp: Impl,
    /// CPU dispatch level of the fast path.
    #[arg(long, value_enum, default_value = "best")]
    level: Level,
    /// Shares to verify in total.
    #[arg(long, default_value_t = 20_000)]
    shares: usize,
    /// Shares per batch handed to the backend.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Verifier threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    backend: String,
    implementation: String,
    threads: usize,
    shares: usize,
    batch: usize,
    seconds: f64,
    hashes_per_second: f64,
    hashes_per_second_per_thread: f64,
    batch_latency_ms_p50: f64,
    batch_latency_ms_p99: f64,
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_USAGE)
}

pub fn run(cmd: BenchCommand) -> ExitCode {
    match cmd {
        BenchCommand::Verify(args) => verify(args),
    }
}

/// Random headers, judged against difficulty-16 share and difficulty-2^20 network targets.
pub fn sample_shares(n: usize, seed: u64) -> Vec<ShareCheck> {
    let share_target = Difficulty::from_u64(16).expect("non-zero").target();
    let network_target = Difficulty::from_u64(1 << 20).expect("non-zero").target();
    let mut x = seed;
    (0..n)
        .map(|i| {
            let mut b = [0u8; 112];
            for chunk in b.chunks_mut(8) {
                // SplitMix64: cheap, deterministic header bytes.
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            ShareCheck { header: MinerWork(b).with_nonce(i as u64), share_target, network_target }
        })
        .collect()
}

fn verify(args: VerifyArgs) -> ExitCode {
    let Backend::Cpu = args.backend;
    if args.shares == 0 || args.batch == 0 {
        return usage("--shares and --batch must be at least 1");
    }
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
    let verifier = match CpuVerifier::new(threads, imp) {
        Ok(v) => v,
        Err(e) => return usage(&e.to_string()),
    };
    let shares = sample_shares(args.shares, 0x7051);
    // Warm-up: page in scratchpads and let the clock settle.
    if let Err(e) = verifier.verify_batch(&shares[..args.batch.min(shares.len())]) {
        eprintln!("error: warm-up failed: {e}");
        return ExitCode::FAILURE;
    }
    tracing::info!(backend = %verifier.describe(), shares = args.shares, batch = args.batch, "benchmarking");
    let mut latencies = Vec::with_capacity(args.shares.div_ceil(args.batch));
    let started = Instant::now();
    for batch in shares.chunks(args.batch) {
        let t = Instant::now();
        if let Err(e) = verifier.verify_batch(batch) {
            eprintln!("error: verification failed: {e}");
            return ExitCode::FAILURE;
        }
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let report = Report {
        backend: "cpu".into(),
        implementation: imp.to_string(),
        threads,
        shares: args.shares,
        batch: args.batch,
        seconds,
        hashes_per_second: args.shares as f64 / seconds,
        hashes_per_second_per_thread: args.shares as f64 / seconds / threads as f64,
        batch_latency_ms_p50: pct(0.5),
        batch_latency_ms_p99: pct(0.99),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
    } else {
        println!(
            "{} ({}, {} threads): {:.0} hashes/s total, {:.0} hashes/s per thread; {} shares in {:.2} s; batch of {} p50 {:.2} ms p99 {:.2} ms",
            report.backend,
            report.implementation,
            threads,
            report.hashes_per_second,
            report.hashes_per_second_per_thread,
            args.shares,
            seconds,
            args.batch,
            report.batch_latency_ms_p50,
            report.batch_latency_ms_p99
        );
    }
    ExitCode::SUCCESS
}
