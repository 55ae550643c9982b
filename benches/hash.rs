//! One TOS Hash V3: the reference against the fast path at every dispatch level this CPU has.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pool_core::hash::{DispatchLevel, TosHasher, reference};
use std::hint::black_box;

fn one_hash(c: &mut Criterion) {
    let header = tos_pool_benches::shares(1)[0].header;
    let mut g = c.benchmark_group("tos_hash_v3/112_bytes");
    g.throughput(Throughput::Elements(1));
    g.bench_function("reference", |b| b.iter(|| reference::tos_hash_v3(black_box(header.as_bytes()))));
    for level in DispatchLevel::supported() {
        let mut h = TosHasher::with_level(level).expect("supported");
        g.bench_function(format!("fast/{level}"), |b| b.iter(|| h.hash(black_box(header.as_bytes()))));
    }
    g.finish();
}

criterion_group!(benches, one_hash);
criterion_main!(benches);
