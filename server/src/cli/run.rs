//! `tos-pool run`: the pool against real nodes (or `devnet-node`), from a configuration file.

use super::{report, runtime};
use crate::config::Config;
use crate::pool::Pool;
use crate::share_stage::MemorySink;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct RunArgs {
    /// The configuration file (TOML; see the README).
    #[arg(long)]
    config: PathBuf,
    /// Overrides verifier.backend: auto | gpu | cpu.
    #[arg(long, env = "TOS_POOL_VERIFIER")]
    verifier: Option<String>,
}

pub fn run(args: RunArgs) -> ExitCode {
    report(runtime().block_on(async move {
        let mut cfg = Config::load(&args.config)?;
        if let Some(v) = args.verifier {
            cfg.backend = v.parse().map_err(anyhow::Error::msg)?;
        }
        tracing::warn!(
            "shares are kept in memory only (storage is not built yet): do not run this for real miners"
        );
        let pool = Pool::start(&cfg, MemorySink::new()).await?;
        super::wait_for_signal().await;
        tracing::info!(
            "shutting down: answering owed shares, telling miners to reconnect, finishing block submissions"
        );
        pool.shutdown().await;
        Ok(())
    }))
}
