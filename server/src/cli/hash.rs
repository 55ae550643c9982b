//! `tos-pool hash [--backend cpu|gpu] <HEX>`.

use super::EXIT_USAGE;
use clap::{Args, ValueEnum};
use gpu_verify::{GpuConfig, GpuVerifier};
use pool_core::hash::{DispatchLevel, TosHasher, reference};
use pool_core::hexutil;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum HashBackend {
    Cpu,
    Gpu,
}

#[derive(Args)]
pub struct HashArgs {
    /// The input bytes as hex (e.g. a 224-character MinerWork).
    hex: String,
    /// Where to compute it. The GPU kernel takes inputs of 1 to 112 bytes.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: HashBackend,
    /// Use the literal reference implementation (CPU only).
    #[arg(long)]
    reference: bool,
}

pub fn run(args: HashArgs) -> ExitCode {
    let input = match hexutil::decode(args.hex.trim()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: the input must be non-empty hex (e.g. a 224-character header): {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let hash = match args.backend {
        HashBackend::Cpu if args.reference => reference::tos_hash_v3(&input),
        HashBackend::Cpu => {
            TosHasher::with_level(DispatchLevel::detect()).expect("detected level").hash(&input)
        }
        HashBackend::Gpu => {
            if args.reference {
                eprintln!("error: --reference is a CPU implementation; drop it or use --backend cpu");
                return ExitCode::from(EXIT_USAGE);
            }
            if input.len() > 112 {
                eprintln!(
                    "error: the GPU kernel hashes inputs of 1 to 112 bytes; this one has {}",
                    input.len()
                );
                return ExitCode::from(EXIT_USAGE);
            }
            let config = GpuConfig {
                max_batch: 1,
                workgroup_size: Some(32),
                allow_cpu_adapter: true,
                ..Default::default()
            };
            let gpu = match GpuVerifier::new(&config) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            tracing::info!(adapter = %gpu.adapter(), arithmetic = %gpu.arithmetic(), "hashing on the GPU");
            let mut slot = [0u8; 112];
            slot[..input.len()].copy_from_slice(&input);
            match gpu.hash_inputs(input.len(), &[slot]) {
                Ok(h) => h[0],
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    println!("{}", hex::encode(hash));
    ExitCode::SUCCESS
}
