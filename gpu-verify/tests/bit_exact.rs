//! The GPU kernels equal the CPU, bit for bit, for both arithmetic variants.

mod common;

use gpu_verify::{Arithmetic, selftest};
use pool_core::hash::{KNOWN_VECTORS, TosHasher};

fn random_headers(n: usize, seed: u64) -> Vec<[u8; 112]> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            let mut b = [0u8; 112];
            for chunk in b.chunks_mut(8) {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            b
        })
        .collect()
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
