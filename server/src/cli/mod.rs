//! Command-line interface: one file per subcommand.

mod bench;
mod hash;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for bad user input (as distinct from 1, a failure while running).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(name = "tos-pool", version, about = "TOS mining pool")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the TOS Hash V3 of a hex-encoded input (any length) as 64 hex characters.
    Hash(hash::HashArgs),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

impl Cli {
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Hash(args) => hash::run(args),
            Command::Bench(cmd) => bench::run(cmd),
        }
    }
}
