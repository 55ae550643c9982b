//! Command-line interface: one file per subcommand.

mod bench;
mod bench_stratum;
mod hash;
mod serve;

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
    /// Run the pool with a configuration file.
    Run(serve::RunArgs),
    /// Run a simulated node, the pool on it and demo miners, all in this process.
    Devnet(serve::DevnetCmd),
    /// Run the simulated devnet node alone (point `tos-pool run` at it).
    DevnetNode(serve::DevnetNodeCmd),
    /// (internal) The pool process of `bench stratum`.
    #[command(hide = true)]
    BenchPoolServer { node_difficulty: u64 },
}

impl Cli {
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Hash(args) => hash::run(args),
            Command::Bench(cmd) => bench::run(cmd),
            Command::Run(args) => serve::run(args),
            Command::Devnet(args) => serve::devnet(args),
            Command::DevnetNode(args) => serve::devnet_node(args),
            Command::BenchPoolServer { node_difficulty } => bench_stratum::pool_server(node_difficulty),
        }
    }
}
