//! `tos-pool run`: the pool against real nodes (or `devnet-node`), from a configuration file.

use super::{report, runtime};
use crate::config::Config;
use crate::ledger::{Ledger, LedgerConfig};
use crate::pool::Pool;
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
        let url = cfg.raw.database.resolve_url()?;
        let ledger = Ledger::open(&LedgerConfig {
            spool_dir: cfg.raw.database.spool_dir_for(&url),
            url,
            instance_id: cfg.raw.pool.instance_id,
        })
        .await?;
        let pool = Pool::start(&cfg, ledger).await?;
        if let Some(h) = &cfg.raw.http {
            crate::http::start(&pool, &cfg, h.into()).await?;
        }
        super::wait_for_signal().await;
        tracing::info!(
            "shutting down: answering owed shares, telling miners to reconnect, finishing block submissions"
        );
        pool.shutdown().await;
        Ok(())
    }))
}

#[derive(Args)]
pub struct MigrateArgs {
    /// The configuration file whose [database] to migrate.
    #[arg(long, conflicts_with = "database_url")]
    config: Option<PathBuf>,
    /// Or the database URL itself.
    #[arg(long, env = "TOS_POOL_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// `tos-pool migrate`: applies the migrations compiled into this binary and lists them.
pub fn migrate(args: MigrateArgs) -> ExitCode {
    report(runtime().block_on(async move {
        let url = match (args.config, args.database_url) {
            (_, Some(url)) => url,
            (Some(path), None) => Config::load(&path)?.raw.database.resolve_url()?,
            (None, None) => crate::config::DEFAULT_DATABASE_URL.to_owned(),
        };
        let db = crate::ledger::db::Db::connect(&url).await?;
        db.migrate().await?;
        let versions = db.migrations().await?;
        println!("{} at {}: migrations applied {:?}", db.kind(), crate::ledger::db::redact(&url), versions);
        Ok(())
    }))
}
