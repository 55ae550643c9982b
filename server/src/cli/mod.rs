//! Command-line interface: one file per subcommand.

mod admin;
mod audit;
mod bench;
mod bench_ledger;
mod bench_report;
mod bench_stratum;
mod devnet;
mod hash;
mod payouts;
mod run;

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
    Run(run::RunArgs),
    /// Apply the database migrations (they are also applied at start).
    Migrate(run::MigrateArgs),
    /// Run a simulated node, the pool on it and demo miners, all in this process.
    Devnet(devnet::DevnetCmd),
    /// Run the simulated devnet node alone (point `tos-pool run` at it).
    DevnetNode(devnet::DevnetNodeCmd),
    /// Recompute stored credits and show any difference.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Admin API keys, and the running pool's verifier switch.
    #[command(subcommand)]
    Admin(admin::AdminCmd),
    /// Show what the payer would pay now (`--dry-run`): recipients, amounts, fees, skipped, deferred.
    Payouts(payouts::PayoutsArgs),
    /// (internal) One payer run against the configured database, nodes and wallet.
    #[command(hide = true)]
    PayoutPass(payouts::PayoutPassArgs),
    /// (internal) The pool process of `bench stratum`.
    #[command(hide = true)]
    BenchPoolServer {
        #[arg(long, default_value_t = 1000)]
        block_interval_ms: u64,
        #[arg(long)]
        database: Option<String>,
    },
    /// (internal) A load-generator process of `bench stratum`.
    #[command(hide = true)]
    BenchLoadClient(bench_stratum::LoadClientArgs),
}

impl Cli {
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Hash(args) => hash::run(args),
            Command::Bench(cmd) => bench::run(cmd),
            Command::Run(args) => run::run(args),
            Command::Migrate(args) => run::migrate(args),
            Command::Devnet(args) => devnet::devnet(args),
            Command::DevnetNode(args) => devnet::devnet_node(args),
            Command::Audit(cmd) => audit::run(cmd),
            Command::Admin(cmd) => admin::run(cmd),
            Command::Payouts(args) => payouts::payouts(args),
            Command::PayoutPass(args) => payouts::payout_pass(args),
            Command::BenchPoolServer { block_interval_ms, database } => {
                bench_stratum::pool_server(block_interval_ms, database)
            }
            Command::BenchLoadClient(args) => bench_stratum::load_client(args),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM (systemd's stop, `kill`): both start the ordered shutdown.
pub(crate) async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
