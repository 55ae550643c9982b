//! Batch verification throughput of the CPU backend by thread count (and batch size).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pool_core::{CpuImpl, CpuVerifier, VerifyBackend};

fn by_threads(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let batch = tos_pool_benches::shares(1024);
    let mut g = c.benchmark_group("verify_batch/cpu_fast/threads");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    let mut threads = vec![1];
    threads.extend((2..=cores).filter(|t| t.is_power_of_two() || *t == cores));
    for t in threads {
        let v = CpuVerifier::new(t, CpuImpl::best()).expect("cpu verifier");
        g.bench_with_input(BenchmarkId::from_parameter(t), &batch, |b, batch| {
            b.iter(|| v.verify_batch(batch).expect("cpu never fails"))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("verify_batch/cpu_fast/batch_size");
    g.sample_size(10);
    let v = CpuVerifier::with_all_cores();
    for size in [16usize, 128, 1024, 4096] {
        let batch = tos_pool_benches::shares(size);
        g.throughput(Throughput::Elements(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &batch, |b, batch| {
            b.iter(|| v.verify_batch(batch).expect("cpu never fails"))
        });
    }
    g.finish();
}

criterion_group!(benches, by_threads);
criterion_main!(benches);
