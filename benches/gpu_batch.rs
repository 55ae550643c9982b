//! GPU verification throughput by batch size (with the CPU at the same sizes for comparison).
//! On a machine whose only adapter is a CPU rasteriser (lavapipe) the GPU figures say nothing
//! about real GPUs; the bench prints the adapter so results are labelled.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gpu_verify::{GpuConfig, GpuVerifier};
use pool_core::{CpuVerifier, VerifyBackend};

fn by_batch_size(c: &mut Criterion) {
    let sizes = [64usize, 256, 1024];
    let gpu = GpuVerifier::new(&GpuConfig {
        max_batch: *sizes.last().expect("sizes"),
        allow_cpu_adapter: true,
        ..GpuConfig::default()
    });
    let cpu = CpuVerifier::with_all_cores();
    let mut g = c.benchmark_group("verify_batch/by_batch_size");
    g.sample_size(10);
    match &gpu {
        Ok(gpu) => eprintln!("GPU adapter: {} — {}", gpu.adapter(), gpu.describe()),
        Err(e) => eprintln!("no GPU adapter, GPU cases skipped: {e}"),
    }
    for size in sizes {
        let batch = tos_pool_benches::shares(size);
        g.throughput(Throughput::Elements(size as u64));
        if let Ok(gpu) = &gpu {
            let label = format!("gpu/{}", gpu.adapter().kind.name());
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
