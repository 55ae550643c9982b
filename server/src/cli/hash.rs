//! `tos-pool hash <HEX>`.

use super::EXIT_USAGE;
use clap::Args;
use pool_core::hash::{DispatchLevel, TosHasher, reference};
use pool_core::hexutil;
use std::process::ExitCode;

#[derive(Args)]
pub struct HashArgs {
    /// The input bytes as hex (e.g. a 224-character MinerWork).
    hex: String,
    /// Use the literal reference implementation instead of the fast path.
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
    let hash = if args.reference {
        reference::tos_hash_v3(&input)
    } else {
        TosHasher::with_level(DispatchLevel::detect()).expect("detected level").hash(&input)
    };
    println!("{}", hex::encode(hash));
    ExitCode::SUCCESS
}
