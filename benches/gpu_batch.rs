//! GPU verification throughput by kernel and batch size (with the CPU at the same sizes for
//! comparison). On a machine whose only adapter is a CPU rasteriser (lavapipe) the GPU figures say
//! nothing about real GPUs; the bench prints the adapter and labels each case with its device type.
//! `TOS_POOL_BENCH_BATCHES=256,1024,4096,16384` sets the sizes (default 64, 256, 1024).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gpu_verify::{GpuConfig, GpuVerifier, KernelKind};
use pool_core::{CpuVerifier, VerifyBackend};

fn sizes() -> Vec<usize> {
    std::env::var("TOS_POOL_BENCH_BATCHES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![64, 256, 1024])
}

fn by_batch_size(c: &mut Criterion) {
    let sizes = sizes();
    let max_batch = *sizes.iter().max().expect("sizes");
    let gpus: Vec<(KernelKind, GpuVerifier)> = [KernelKind::Lane, KernelKind::Coop]
        .into_iter()
        .filter_map(|kind| {
            let config =
                GpuConfig { max_batch, kernel: Some(kind), allow_cpu_adapter: true, ..GpuConfig::default() };
            match GpuVerifier::new(&config) {
                Ok(g) => {
                    eprintln!("GPU adapter: {} — {}", g.adapter(), g.describe());
                    Some((kind, g))
                }
                Err(e) => {
                    eprintln!("no {kind} GPU verifier, its cases skipped: {e}");
                    None
                }
            }
        })
        .collect();
    let cpu = CpuVerifier::with_all_cores();
    let mut g = c.benchmark_group("verify_batch/by_batch_size");
    g.sample_size(10);
    for size in sizes {
        let batch = tos_pool_benches::shares(size);
        g.throughput(Throughput::Elements(size as u64));
        for (kind, gpu) in &gpus {
            let label = format!("gpu-{kind}/{}", gpu.adapter().kind.name());
            g.bench_with_input(BenchmarkId::new(label, size), &batch, |b, batch| {
                b.iter(|| gpu.verify_batch(batch).expect("GPU batch"))
            });
        }
        g.bench_with_input(BenchmarkId::new("cpu", size), &batch, |b, batch| {
            b.iter(|| cpu.verify_batch(batch).expect("CPU batch"))
        });
    }
    g.finish();
}

criterion_group!(benches, by_batch_size);
criterion_main!(benches);
