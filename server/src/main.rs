//! `tos-pool`: the mining pool binary.
//!
//! Subcommands (see `tos-pool --help`):
//! * `hash` — TOS Hash V3 of a hex input (`cli/hash.rs`);
//! * `bench verify` — verifier throughput (`cli/bench.rs`).

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    cli::Cli::parse().run()
}
