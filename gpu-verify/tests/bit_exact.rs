//! The GPU kernels equal the CPU, bit for bit, for both arithmetic variants.

mod common;

use gpu_verify::{Arithmetic, selftest};
use pool_core::hash::{KNOWN_VECTORS, TosHasher};

fn random_headers(n: usize, seed: u64) -> Vec<[u8; 112]> {
    selftest::random_inputs(n, seed)
}

fn vectors(arith: Arithmetic) {
    let Some(gpu) = common::open(arith, 256) else { return };
    for v in KNOWN_VECTORS {
        let input = hex::decode(v.input_hex).unwrap();
        let mut slot = [0u8; 112];
        slot[..input.len()].copy_from_slice(&input);
        let got = gpu.hash_inputs(input.len(), &[slot]).unwrap();
        assert_eq!(hex::encode(got[0]), v.hash_hex, "{arith}: {}", v.name);
    }
    selftest::run(&gpu, 64, 1).unwrap();
}

#[test]
fn vectors_u64() {
    vectors(Arithmetic::U64);
}

#[test]
fn vectors_vec2() {
    vectors(Arithmetic::Vec2);
}

/// ≥ 20,000 random headers per variant, in batches that span several submissions (pipelined) and,
/// on lavapipe's 128 MiB bindings, several slabs per submission.
fn random(arith: Arithmetic) {
    let Some(gpu) = common::open(arith, 4096) else { return };
    let headers = random_headers(20_480, 0x6770_7500 + arith as u64);
    let got = gpu.hash_inputs(112, &headers).unwrap();
    assert_eq!(got.len(), headers.len());
    let mut cpu = TosHasher::new();
    let bad: Vec<usize> = (0..headers.len()).filter(|&i| cpu.hash(&headers[i]) != got[i]).collect();
    assert!(bad.is_empty(), "{arith}: {} of {} differ, first at {}", bad.len(), headers.len(), bad[0]);
    // The batch spans several pipelined submissions (and, where a binding holds fewer than the
    // capacity, several slabs per submission): the comparison above covers those paths.
    assert!(headers.len() >= 2 * gpu.capacity(), "at least two submissions in flight");
    assert_eq!(gpu.hashes_done(), headers.len() as u64, "every input hashed exactly once");
}

#[test]
fn random_20k_u64() {
    random(Arithmetic::U64);
}

#[test]
fn random_20k_vec2() {
    random(Arithmetic::Vec2);
}

#[test]
fn odd_sizes_and_short_inputs() {
    let Some(gpu) = common::open(Arithmetic::U64, 256) else { return };
    let mut cpu = TosHasher::new();
    for n in [1usize, 63, 65, 257, 513] {
        let headers = random_headers(n, n as u64);
        assert_eq!(
            gpu.hash_inputs(112, &headers).unwrap(),
            headers.iter().map(|h| cpu.hash(h)).collect::<Vec<_>>(),
            "n = {n}"
        );
    }
    for len in [1usize, 26, 32, 63, 64, 65, 111] {
        let headers = random_headers(3, len as u64);
        let want: Vec<_> = headers.iter().map(|h| cpu.hash(&h[..len])).collect();
        assert_eq!(gpu.hash_inputs(len, &headers).unwrap(), want, "len = {len}");
    }
    assert!(gpu.hash_inputs(0, &[[0; 112]]).is_err());
    assert!(gpu.hash_inputs(113, &[[0; 112]]).is_err());
}
