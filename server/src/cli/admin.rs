//! `tos-pool admin`: API keys in the database (`create-key`, `revoke-key`, `list-keys`, against
//! `--config FILE | --database-url URL` like `tos-pool audit`), and `admin verifier auto|gpu|cpu`,
//! which asks the running pool's admin API to switch (key from `TOS_POOL_ADMIN_KEY` or
//! `--key-file`).

use super::{EXIT_USAGE, report, runtime};
use crate::admin::keys;
use crate::config::Config;
use crate::ledger::db::Db;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create an API key; it is printed once (only its hash is stored).
    CreateKey {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke the key named NAME (refused from then on; the name stays taken).
    RevokeKey {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the keys (names and dates, never the keys).
    ListKeys {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Switch the running pool's verifier (takes effect on the next batch).
    Verifier(VerifierArgs),
}

#[derive(Args)]
pub struct DbArgs {
    /// The configuration file whose [database] holds the keys.
    #[arg(long, conflicts_with = "database_url")]
    config: Option<PathBuf>,
    /// Or the database URL itself.
    #[arg(long, env = "TOS_POOL_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Args)]
pub struct VerifierArgs {
    /// auto | gpu | cpu
    mode: String,
    /// The pool's admin API.
    #[arg(long, default_value = "http://127.0.0.1:8089")]
    admin_url: String,
    /// A file holding the key (else the environment variable TOS_POOL_ADMIN_KEY).
    #[arg(long)]
    key_file: Option<PathBuf>,
}

pub fn run(cmd: AdminCmd) -> ExitCode {
    match cmd {
        AdminCmd::CreateKey { name, db } => report(runtime().block_on(async move {
            let db = connect(db).await?;
            let k = keys::create(&db, &name, crate::clock::now_ms() as i64).await?;
            db.close().await;
            println!("admin key {:?} created; it is shown only now, store it (e.g. in a 0600 file for --key-file):", k.name);
            println!("{}", k.key);
            Ok(())
        })),
        AdminCmd::RevokeKey { name, db } => report(runtime().block_on(async move {
            let db = connect(db).await?;
            keys::revoke(&db, &name, crate::clock::now_ms() as i64).await?;
            db.close().await;
            println!("admin key {name:?} revoked");
            Ok(())
        })),
        AdminCmd::ListKeys { db } => report(runtime().block_on(async move {
            let db = connect(db).await?;
            let all = keys::list(&db).await?;
            db.close().await;
            if all.is_empty() {
                println!("no admin keys (tos-pool admin create-key --name NAME)");
            }
            for k in all {
                let state = k.revoked_ms.map_or("active".to_owned(), |t| format!("revoked at {t} ms"));
                println!("{}\tcreated at {} ms\t{state}", k.name, k.created_ms);
            }
            Ok(())
        })),
        AdminCmd::Verifier(args) => verifier(args),
    }
}

async fn connect(args: DbArgs) -> anyhow::Result<Db> {
    let url = match (args.config, args.database_url) {
        (_, Some(url)) => url,
        (Some(path), None) => Config::load(&path)?.raw.database.resolve_url()?,
        (None, None) => crate::config::DEFAULT_DATABASE_URL.to_owned(),
    };
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    Ok(db)
}

/// The key for the admin API: `--key-file`, else `TOS_POOL_ADMIN_KEY`.
fn admin_key(key_file: Option<&std::path::Path>) -> anyhow::Result<String> {
    let key = match key_file {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read the key file {}", p.display()))?
        }
        None => std::env::var("TOS_POOL_ADMIN_KEY").context(
            "no admin key: set TOS_POOL_ADMIN_KEY or pass --key-file (tos-pool admin create-key makes one)",
        )?,
    };
    let key = key.trim().to_owned();
    anyhow::ensure!(!key.is_empty(), "the admin key is empty");
    Ok(key)
}

fn verifier(args: VerifierArgs) -> ExitCode {
    if args.mode.parse::<pool_core::BackendMode>().is_err() {
        eprintln!("error: verifier mode {:?}: use auto, gpu or cpu", args.mode);
        return ExitCode::from(EXIT_USAGE);
    }
    report(runtime().block_on(async move {
        let key = admin_key(args.key_file.as_deref())?;
        let http =
            crate::node::client::http_client(Duration::from_secs(10), crate::node::client::tls_config(None)?);
        let url = format!("{}/admin/v1/verifier", args.admin_url.trim_end_matches('/'));
        let r = http
            .post(&url)
            .bearer_auth(key)
            .json(&serde_json::json!({ "mode": args.mode }))
            .send()
            .await
            .with_context(|| format!("cannot reach the admin API at {}", args.admin_url))?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "the admin API answered {status}: {}",
                body["error"].as_str().unwrap_or("(no detail)")
            );
        }
        println!("{}", serde_json::to_string_pretty(&body)?);
        Ok(())
    }))
}
