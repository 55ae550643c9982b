//! Both GPU kernels equal the CPU, bit for bit: every arithmetic variant, and the cooperative kernel
//! with 0, 16 KiB and 32 KiB of each pad in workgroup memory.

mod common;

use gpu_verify::{Arithmetic, GpuVerifier, Kernel, KernelKind, Split, selftest};
use pool_core::hash::{KNOWN_VECTORS, TosHasher};

const SPLITS: [u32; 3] = [0, 16 * 1024, 32 * 1024];

fn random_headers(n: usize, seed: u64) -> Vec<[u8; 112]> {
    selftest::random_inputs(n, seed)
}

fn vectors(gpu: &GpuVerifier) {
    let kernel = gpu.kernel();
    for v in KNOWN_VECTORS {
        let input = hex::decode(v.input_hex).unwrap();
        let mut slot = [0u8; 112];
        slot[..input.len()].copy_from_slice(&input);
        let got = gpu.hash_inputs(input.len(), &[slot]).unwrap();
        assert_eq!(hex::encode(got[0]), v.hash_hex, "{} {kernel}: {}", gpu.arithmetic(), v.name);
    }
    selftest::run(gpu, 64, 1).unwrap();
}

#[test]
fn vectors_lane() {
    for arith in [Arithmetic::U64, Arithmetic::Vec2] {
        let Some(gpu) = common::open(arith, 256) else { return };
        vectors(&gpu);
    }
}

#[test]
fn vectors_coop_every_split() {
    for arith in [Arithmetic::U64, Arithmetic::Vec2] {
        // One 256-byte row is the odd case: row 1 is already global (see coop.rs on barriers).
        for split in SPLITS.into_iter().chain([256]) {
            let Some(gpu) = common::open_coop(arith, 256, split) else { return };
            assert_eq!(gpu.kernel(), Kernel::Coop { split: Split::for_workgroup_bytes(split) });
            vectors(&gpu);
        }
    }
}

/// ≥ 20,000 random headers, in batches that span several submissions (pipelined) and, on
/// lavapipe's 128 MiB bindings, several slabs per submission.
fn random(gpu: &GpuVerifier, seed: u64) {
    let headers = random_headers(20_480, seed);
    let got = gpu.hash_inputs(112, &headers).unwrap();
    assert_eq!(got.len(), headers.len());
    let mut cpu = TosHasher::new();
    let bad: Vec<usize> = (0..headers.len()).filter(|&i| cpu.hash(&headers[i]) != got[i]).collect();
    let what = format!("{} {}", gpu.arithmetic(), gpu.kernel());
    assert!(bad.is_empty(), "{what}: {} of {} differ, first at {}", bad.len(), headers.len(), bad[0]);
    assert!(headers.len() >= 2 * gpu.capacity(), "{what}: at least two submissions in flight");
    assert_eq!(gpu.hashes_done(), headers.len() as u64, "{what}: every input hashed exactly once");
}

#[test]
fn random_20k_lane_u64() {
    let Some(gpu) = common::open(Arithmetic::U64, 4096) else { return };
    random(&gpu, 0x6770_7500);
}

#[test]
fn random_20k_lane_vec2() {
    let Some(gpu) = common::open(Arithmetic::Vec2, 4096) else { return };
    random(&gpu, 0x6770_7501);
}

#[test]
fn random_20k_coop_u64_no_workgroup_memory() {
    let Some(gpu) = common::open_coop(Arithmetic::U64, 4096, SPLITS[0]) else { return };
    random(&gpu, 0x6770_7510);
}

#[test]
fn random_20k_coop_u64_16k_workgroup_memory() {
    let Some(gpu) = common::open_coop(Arithmetic::U64, 4096, SPLITS[1]) else { return };
    random(&gpu, 0x6770_7511);
}

#[test]
fn random_20k_coop_u64_32k_workgroup_memory() {
    let Some(gpu) = common::open_coop(Arithmetic::U64, 4096, SPLITS[2]) else { return };
    random(&gpu, 0x6770_7512);
}

#[test]
fn random_20k_coop_vec2_32k_workgroup_memory() {
    let Some(gpu) = common::open_coop(Arithmetic::Vec2, 4096, SPLITS[2]) else { return };
    random(&gpu, 0x6770_7513);
}

#[test]
fn odd_sizes_and_short_inputs() {
    let lane = common::open(Arithmetic::U64, 256);
    let coop = common::open_coop(Arithmetic::U64, 256, SPLITS[1]);
    let mut cpu = TosHasher::new();
    for gpu in lane.iter().chain(coop.iter()) {
        let kernel = gpu.kernel();
        for n in [1usize, 63, 65, 257, 513] {
            let headers = random_headers(n, n as u64);
            assert_eq!(
                gpu.hash_inputs(112, &headers).unwrap(),
                headers.iter().map(|h| cpu.hash(h)).collect::<Vec<_>>(),
                "{kernel}: n = {n}"
            );
        }
        for len in [1usize, 26, 32, 63, 64, 65, 111] {
            let headers = random_headers(3, len as u64);
            let want: Vec<_> = headers.iter().map(|h| cpu.hash(&h[..len])).collect();
            assert_eq!(gpu.hash_inputs(len, &headers).unwrap(), want, "{kernel}: len = {len}");
        }
        assert!(gpu.hash_inputs(0, &[[0; 112]]).is_err());
        assert!(gpu.hash_inputs(113, &[[0; 112]]).is_err());
    }
}

/// Without a kernel chosen, both are built, timed at the configured batch size, self-tested, and
/// batches run on the faster; either can still be asked for by name.
#[test]
fn both_kernels_are_built_ranked_and_self_tested() {
    let Some(gpu) = common::open_both(64) else { return };
    let kernels = gpu.kernels();
    assert_eq!(kernels.len(), 2, "{kernels:?}");
    let kinds: Vec<KernelKind> = kernels.iter().map(|(k, _)| k.kind()).collect();
    assert!(kinds.contains(&KernelKind::Lane) && kinds.contains(&KernelKind::Coop));
    assert!(kernels[0].1.unwrap() <= kernels[1].1.unwrap(), "fastest first: {kernels:?}");
    assert_eq!(gpu.kernel(), kernels[0].0);
    selftest::run(&gpu, 32, 9).unwrap();
    assert_eq!(gpu.kernels().len(), 2, "both passed");
    let headers = random_headers(40, 5);
    let mut cpu = TosHasher::new();
    let want: Vec<_> = headers.iter().map(|h| cpu.hash(h)).collect();
    for (k, _) in kernels {
        assert_eq!(gpu.hash_inputs_on(Some(k), 112, &headers).unwrap(), want, "{k}");
    }
}

/// GPU timestamps, where the adapter has them, bracket the kernel inside the batch's wall time.
#[test]
fn batch_timing_separates_the_kernel() {
    let Some(gpu) = common::open(Arithmetic::U64, 256) else { return };
    let headers = random_headers(256, 11);
    let t = std::time::Instant::now();
    gpu.hash_inputs(112, &headers).unwrap();
    let wall = t.elapsed();
    let timing = gpu.last_timing();
    assert_eq!(timing.submissions, 1);
    assert!(timing.upload + timing.submit + timing.wait + timing.readback <= wall);
    assert_eq!(timing.kernel.is_some(), gpu.has_timestamps());
    if let Some(kernel) = timing.kernel {
        assert!(kernel > std::time::Duration::ZERO && kernel <= wall, "{timing:?}");
    }
}
