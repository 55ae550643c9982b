//! `tos-pool audit block HASH`: recomputes a block's credits from the stored shares and prints them
//! beside the stored ones (see `ledger::audit`). Exit code 0: no difference; 1: a difference (or
//! the block cannot be audited); 2: bad input.

use super::{EXIT_USAGE, runtime};
use crate::config::Config;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// One block: per miner its work in the window and round, share of the portion, computed and
    /// stored credit, and any difference; the settlement and effort.
    Block(BlockArgs),
}

#[derive(Args)]
pub struct BlockArgs {
    /// The block hash (64 hex characters).
    hash: String,
    /// The configuration file whose [database] to read (its [rewards] is used only for blocks
    /// settled before their terms were stored).
    #[arg(long, conflicts_with = "database_url")]
    config: Option<PathBuf>,
    /// Or the database URL itself.
    #[arg(long, env = "TOS_POOL_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

pub fn run(cmd: AuditCmd) -> ExitCode {
    match cmd {
        AuditCmd::Block(args) => block(args),
    }
}

fn block(args: BlockArgs) -> ExitCode {
    let Ok(id) = pool_core::hexutil::decode_array::<32>(&args.hash) else {
        eprintln!("error: the block hash must be 64 hex characters, got {:?}", args.hash);
        return ExitCode::from(EXIT_USAGE);
    };
    let r = runtime().block_on(async move {
        let (url, rewards) = match (args.config, args.database_url) {
            (_, Some(url)) => (url, None),
            (Some(path), None) => {
                let cfg = Config::load(&path)?;
                (cfg.raw.database.resolve_url()?, Some(cfg.rewards))
            }
            (None, None) => (crate::config::DEFAULT_DATABASE_URL.to_owned(), None),
        };
        let db = crate::ledger::db::Db::connect(&url).await?;
        let audit = crate::ledger::audit::audit_block(&db, &id, rewards.as_ref()).await;
        db.close().await;
        audit
    });
    match r {
        Ok(audit) => {
            print!("{}", audit.render());
            if audit.has_difference() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
