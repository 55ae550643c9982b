//! TOS Hash V3 transcribed literally from the definition (`toshash-v3.md`, protocol.md §1.4).
//!
//! This is the oracle every other implementation is tested against. It is deliberately naive:
//! no fusion, no splitting, a fresh scratchpad per call. Do not optimise it.

use super::{C, HASH_SIZE, MEMORY_PASSES, SCRATCH_WORDS, STRIDED_ROUNDS, STRIDES};

/// `mix(a, b, r)` exactly as the definition states it.
pub fn mix(a: u64, b: u64, r: u64) -> u64 {
    let rho = ((7 * r) % 64) as u32;
    let x = a.wrapping_add(b);
    let y = a ^ b.rotate_left(rho);
    let z = x.wrapping_mul(C);
    z ^ y.rotate_right(rho / 2)
}

/// TOS Hash V3 of `input` (any length), the literal way.
pub fn tos_hash_v3(input: &[u8]) -> [u8; HASH_SIZE] {
    const N: usize = SCRATCH_WORDS;
    let mut pad = vec![0u64; N];

    // Stage 1: seed from BLAKE3, fill the scratchpad.
    let seed = blake3::hash(input);
    let seed = seed.as_bytes();
    let mut s = [0u64; 4];
    for (w, word) in s.iter_mut().enumerate() {
        *word = u64::from_le_bytes(seed[8 * w..8 * w + 8].try_into().unwrap());
    }
    for (i, slot) in pad.iter_mut().enumerate() {
        let k = i % 4;
        s[k] = mix(s[k], s[(k + 1) % 4], i as u64);
        *slot = s[k];
    }

    // Stage 2: four sequential memory passes with a carry.
    for p in 0..MEMORY_PASSES {
        if p % 2 == 0 {
            let mut carry = pad[N - 1];
            for i in 0..N {
                let prev = if i == 0 { pad[N - 1] } else { pad[i - 1] };
                pad[i] = mix(pad[i], prev ^ carry, p as u64);
                carry = pad[i];
            }
        } else {
            let mut carry = pad[0];
            for i in (0..N).rev() {
                let next = if i == N - 1 { pad[0] } else { pad[i + 1] };
                pad[i] = mix(pad[i], next ^ carry, p as u64);
                carry = pad[i];
            }
        }
    }

    // Stage 3: strided rounds, in place, in increasing index order.
    for r in 0..STRIDED_ROUNDS {
        let stride = STRIDES[r % 4];
        for i in 0..N {
            let a = pad[(i + stride) % N];
            let b = pad[(i + 2 * stride) % N];
            pad[i] = mix(pad[i], a ^ b, r as u64);
        }
    }

    // Stage 4: XOR-fold and finalise.
    let mut fold = [0u64; 4];
    for (i, word) in pad.iter().enumerate() {
        fold[i % 4] ^= word;
    }
    let mut out = [0u8; 32];
    for (w, word) in fold.iter().enumerate() {
        out[8 * w..8 * w + 8].copy_from_slice(&word.to_le_bytes());
    }
    *blake3::hash(&out).as_bytes()
}
