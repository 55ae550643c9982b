//! `tos-pool`: the mining pool binary. The subcommands and everything behind them live in the
//! library (`tos_pool`, see its crate documentation for the module map).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    tos_pool::cli::Cli::parse().run()
}
