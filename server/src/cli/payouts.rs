//! `tos-pool payouts --dry-run`: the plan the payer would carry out now — recipients, amounts,
//! fees, what is skipped and why, what is deferred — and the batches in flight, without writing
//! to the database or sending anything (the database is only read; the wallet is only asked
//! `is_online` and `get_balance`).
//!
//! `tos-pool payout-pass` (hidden): one payer run against the configured database, nodes and
//! wallet — for crash tests and operators' one-offs.

use super::{EXIT_USAGE, report, runtime};
use crate::config::Config;
use crate::ledger::db::{Db, redact};
use crate::ledger::payer::{self, Payer, Round};
use crate::ledger::payout_store::{self, BatchRow};
use crate::ledger::{Ledger, LedgerConfig};
use crate::node::Upstreams;
use anyhow::Context as _;
use clap::Args;
use pool_core::payout::{PayoutPlan, Tos, format_tos_i128};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct PayoutsArgs {
    /// Print the plan without touching anything (the payer itself runs inside `tos-pool run`).
    #[arg(long)]
    dry_run: bool,
    /// The configuration file.
    #[arg(long, default_value = "pool.toml")]
    config: PathBuf,
}

#[derive(Args)]
pub struct PayoutPassArgs {
    #[arg(long)]
    config: PathBuf,
    /// now: pay if nothing is in flight · due: only if the interval has passed · never: only
    /// reconcile the batches in flight.
    #[arg(long, default_value = "now")]
    round: String,
}

pub fn payouts(args: PayoutsArgs) -> ExitCode {
    if !args.dry_run {
        eprintln!(
            "tos-pool payouts: the payer runs inside `tos-pool run` when [payouts] enabled = true; use --dry-run to see what it would pay now"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    report(runtime().block_on(dry_run(args.config)))
}

async fn dry_run(config: PathBuf) -> anyhow::Result<()> {
    let cfg = Config::load(&config)?;
    let url = cfg.raw.database.resolve_url()?;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(
            std::path::Path::new(path).exists(),
            "no database at {path}: nothing has been recorded yet, so there is nothing to pay"
        );
    }
    let db = Db::connect(&url).await?;
    let open = payout_store::open_batches(&db).await.context(
        "reading the payout batches: is the database migrated? (tos-pool migrate, or start the pool once)",
    )?;
    let policy = &cfg.payouts.policy;
    println!("payout plan — dry run: nothing is written, nothing is sent");
    println!("database {} ({})", redact(&url), db.kind());
    if !cfg.payouts.enabled {
        println!(
            "note: [payouts] enabled = false in {}: this is what the payer would pay if enabled",
            config.display()
        );
    }
    let view = payer::wallet_view(&cfg).await?;
    match &view {
        payer::WalletView::NotConfigured => {
            println!("wallet: not configured (wallet.url): planned as if it held enough")
        }
        payer::WalletView::Answered { url, online, balance } => println!(
            "wallet {url}: {}, balance {} TOS",
            if *online { "online" } else { "OFFLINE (the payer would wait)" },
            Tos(*balance)
        ),
        payer::WalletView::Unreachable { url, error } => {
            println!("wallet {url}: unreachable ({error}): planned as if it held enough")
        }
    }
    let available = view.available();
    println!(
        "policy: threshold {} TOS (miners.payout_threshold overrides), ≤ {} recipients per transaction, fee paid by {}, {}",
        Tos(policy.default_threshold()),
        policy.max_recipients(),
        policy.tx_fee(),
        policy
            .max_per_payment()
            .map_or("no cap per payment".into(), |c| format!("at most {} TOS per payment", Tos(c))),
    );
    print_in_flight(&open);
    let plan = payer::plan_round(&db, cfg.network, available, policy).await?;
    print_plan(&plan, open.iter().any(|b| b.executed_block.is_none()));
    db.close().await;
    Ok(())
}

fn print_in_flight(open: &[BatchRow]) {
    if open.is_empty() {
        println!("in flight: none");
        return;
    }
    println!("in flight ({}):", open.len());
    for b in open {
        let state = match (&b.executed_block, b.executed_topoheight) {
            (Some(_), Some(t)) => format!("executed at topoheight {t}, waiting to be stable"),
            _ => b.error.clone().map_or("not executed yet".into(), |e| format!("not executed yet: {e}")),
        };
        println!(
            "  batch {} {} tx {} · {} recipients · {} TOS · {state}",
            b.id,
            b.status,
            b.tx_hash.as_deref().unwrap_or("(none)"),
            b.recipients,
            Tos(b.total)
        );
    }
}

fn print_plan(plan: &PayoutPlan<i64>, blocked: bool) {
    if blocked {
        println!(
            "a batch in flight is not executed yet: the payer would start no new round now; the plan below is for when it is"
        );
    }
    if plan.batches.is_empty() {
        println!("nothing to pay now");
    }
    for (i, b) in plan.batches.iter().enumerate() {
        println!(
            "batch {}: {} recipients · sends {} TOS · tx fee {} TOS · leaves the wallet {} TOS",
            i + 1,
            b.payments.len(),
            format_tos_i128(b.sent() as i128),
            Tos(b.tx_fee),
            format_tos_i128(b.wallet_cost() as i128)
        );
        println!(
            "  {:>8}  {:<66}  {:>18}  {:>18}  {:>12}",
            "miner", "address", "debit", "sends", "fee share"
        );
        for p in &b.payments {
            println!(
                "  {:>8}  {:<66}  {:>18}  {:>18}  {:>12}",
                p.miner,
                p.address,
                Tos(p.debit).to_string(),
                Tos(p.send).to_string(),
                Tos(p.fee_share).to_string()
            );
        }
    }
    if !plan.skipped.is_empty() {
        println!("skipped ({}; nobody else is held up):", plan.skipped.len());
        for s in &plan.skipped {
            println!(
                "  miner {} {} ({} TOS): {}",
                s.miner,
                crate::log_limit::clip(&s.address),
                Tos(s.balance),
                s.reason
            );
        }
    }
    if !plan.deferred.is_empty() {
        println!("deferred to a later round ({}):", plan.deferred.len());
        for d in &plan.deferred {
            println!("  miner {} {} {} TOS: {}", d.miner, d.address, Tos(d.amount), d.reason);
        }
    }
    let payments = plan.batches.iter().map(|b| b.payments.len()).sum::<usize>();
    let fees: u128 = plan.batches.iter().map(|b| b.tx_fee as u128).sum();
    let sent: u128 = plan.batches.iter().map(|b| b.sent()).sum();
    println!(
        "total: {} batches, {payments} payments, {} TOS sent, {} TOS in fees, {} TOS from the wallet",
        plan.batches.len(),
        format_tos_i128(sent as i128),
        format_tos_i128(fees as i128),
        format_tos_i128(plan.wallet_cost() as i128)
    );
}

/// `tos-pool payout-pass`: one payer run; prints what it did as one JSON line.
pub fn payout_pass(args: PayoutPassArgs) -> ExitCode {
    let round = match args.round.as_str() {
        "now" => Round::Now,
        "due" => Round::WhenDue,
        "never" => Round::Never,
        other => {
            eprintln!("--round {other:?}: use now, due or never");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    report(runtime().block_on(async move {
        let cfg = Config::load(&args.config)?;
        let url = cfg.raw.database.resolve_url()?;
        let ledger = Ledger::open(&LedgerConfig {
            spool_dir: cfg.raw.database.spool_dir_for(&url),
            url,
            instance_id: cfg.raw.pool.instance_id,
        })
        .await?;
        let n = &cfg.raw.node;
        let tls = crate::node::client::tls_config(n.ca_file.as_deref())?;
        let upstreams = Upstreams::new(
            &n.urls,
            Duration::from_millis(n.timeout_ms),
            tls,
            cfg.address.clone(),
            cfg.network,
        );
        let payer = Payer::from_config(&ledger, upstreams, &cfg)?;
        let r = payer.pass(round).await?;
        let line = serde_json::json!({
            "created": r.created,
            "submitted": r.submitted,
            "confirmed": r.confirmed,
            "failed": r.failed,
            "in_flight": r.in_flight,
            "skipped": r.skipped,
            "deferred": r.deferred,
            "waited": r.waited,
        });
        println!("{}", serde_json::to_string(&line)?);
        ledger.db().close().await;
        Ok(())
    }))
}
