//! The start-up self-test: every known vector, then a random batch compared with the CPU, on each
//! kernel the verifier built.

use crate::kernel::Kernel;
use crate::verifier::{GpuError, GpuVerifier};
use pool_core::hash::{KNOWN_VECTORS, TosHasher};

/// Why the GPU failed its self-test.
#[derive(Debug, thiserror::Error)]
pub enum SelfTestError {
    #[error("GPU self-test could not run: {0}")]
    Gpu(#[from] GpuError),
    #[error("GPU self-test, {kernel} kernel: vector {name} hashed to {got}, expected {want}")]
    Vector { kernel: Kernel, name: &'static str, got: String, want: &'static str },
    #[error(
        "GPU self-test, {kernel} kernel: {mismatches} of {total} random inputs disagree with the CPU (first: input {input})"
    )]
    Random { kernel: Kernel, mismatches: usize, total: usize, input: String },
}

/// Runs the self-test on every kernel the verifier holds; `random` inputs of 112 bytes are compared
/// with the CPU fast path. A kernel that fails is dropped (loudly) and the others carry on; the
/// first error is returned when no kernel passes.
pub fn run(gpu: &GpuVerifier, random: usize, seed: u64) -> Result<(), SelfTestError> {
    let kernels: Vec<Kernel> = gpu.kernels().into_iter().map(|(k, _)| k).collect();
    let mut failures = Vec::new();
    for &kernel in &kernels {
        if let Err(e) = run_on(gpu, kernel, random, seed) {
            tracing::error!(%kernel, error = %e, "GPU kernel failed its self-test");
            failures.push((kernel, e));
        }
    }
    if failures.len() == kernels.len() {
        return Err(failures.into_iter().next().expect("at least one kernel").1);
    }
    for (kernel, _) in failures {
        gpu.drop_kernel(kernel);
        tracing::warn!(%kernel, now = %gpu.kernel(), "kernel left out; verifying with one that passed");
    }
    Ok(())
}

/// The self-test of one kernel.
pub fn run_on(gpu: &GpuVerifier, kernel: Kernel, random: usize, seed: u64) -> Result<(), SelfTestError> {
    for v in KNOWN_VECTORS {
        let input = hex_bytes(v.input_hex);
        let mut slot = [0u8; 112];
        slot[..input.len()].copy_from_slice(&input);
        let got = gpu.hash_inputs_on(Some(kernel), input.len(), &[slot])?[0];
        let got = hex_string(&got);
        if got != v.hash_hex {
            return Err(SelfTestError::Vector { kernel, name: v.name, got, want: v.hash_hex });
        }
    }
    let inputs = random_inputs(random, seed);
    let got = gpu.hash_inputs_on(Some(kernel), 112, &inputs)?;
    let mut cpu = TosHasher::new();
    let bad: Vec<usize> = (0..inputs.len()).filter(|&i| cpu.hash(&inputs[i]) != got[i]).collect();
    if let Some(&first) = bad.first() {
        return Err(SelfTestError::Random {
            kernel,
            mismatches: bad.len(),
            total: random,
            input: hex_string(&inputs[first]),
        });
    }
    Ok(())
}

/// `n` pseudo-random 112-byte inputs (SplitMix64 from `seed`): deterministic, so a failure can be
/// reproduced.
pub fn random_inputs(n: usize, seed: u64) -> Vec<[u8; 112]> {
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

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("known vectors are hex"))
        .collect()
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
