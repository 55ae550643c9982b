//! `tos-pool`: the mining pool binary.
//!
//! Subcommands (see `tos-pool --help`): `run`, `devnet`, `devnet-node` (`cli/serve.rs`), `hash`
//! (`cli/hash.rs`), `bench verify` (`cli/bench.rs`).
//!
//! | module | what it holds |
//! |---|---|
//! | `config` | the TOML configuration and its checks |
//! | `pool` | assembling a running pool |
//! | `node` | JSON-RPC client to TOS nodes; upstream health, failover, block broadcast |
//! | `jobs` | the job dispatcher task (templates → jobs) |
//! | `pipeline` | the share pipeline: batching shares into the verifier engine |
//! | `stratum` | the Stratum server and its per-connection task |
//! | `devnet` | the simulated node and demo miners |
//! | `rpc` | JSON-RPC envelopes |

mod cli;
mod config;
mod devnet;
mod jobs;
mod node;
mod pipeline;
mod pool;
mod rpc;
mod stratum;

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
