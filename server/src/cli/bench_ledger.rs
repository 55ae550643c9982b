//! `tos-pool bench ledger`: accepted-share rows per second into a database at the batch sizes the
//! share stage produces, through the ledger's own write path (`ledger::record::write`: miners,
//! shares, per-minute statistics, one transaction per batch).

use super::EXIT_USAGE;
use crate::ledger::db::Db;
use crate::ledger::record::{MinerIds, write};
use crate::ledger::spool::{SpoolRecord, SpooledShare};
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct LedgerBenchArgs {
    /// The database (`postgres://…` or `sqlite://path`); a scratch database is best: rows are added.
    #[arg(long, env = "TOS_POOL_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Shares per batch (comma-separated for several runs).
    #[arg(long, default_value = "64,256,1024,4096")]
    batch: String,
    /// Seconds per batch size.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Distinct miners (each with 4 workers) the shares come from.
    #[arg(long, default_value_t = 1000)]
    miners: usize,
    /// Batches written concurrently (several share stages, or instances, on one database).
    #[arg(long, default_value_t = 1)]
    writers: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Point {
    database: &'static str,
    batch: usize,
    writers: usize,
    rows: u64,
    seconds: f64,
    rows_per_second: f64,
    commit_ms_p50: f64,
    commit_ms_p99: f64,
}

fn batch_of(n: usize, first: u64, miners: usize) -> SpoolRecord {
    let shares = (0..n as u64)
        .map(|i| {
            let k = first + i;
            let m = (k as usize) % miners;
            SpooledShare {
                share_id: hex::encode(blake3::hash(&k.to_le_bytes()).as_bytes()),
                address: crate::devnet::demo_address(m).to_string(),
                worker: format!("rig{}", k % 4),
                scheme: "pplns".into(),
                difficulty: (100_000 + k % 1000).to_string(),
                network_difficulty: "1000000000".into(),
                height: 1 + k / 10_000,
                job_id: String::new(),
                hash: String::new(),
                is_block: false,
                submitted_ms: crate::clock::now_ms(),
            }
        })
        .collect();
    SpoolRecord::Batch { shares, blocks: vec![] }
}

pub fn run(args: LedgerBenchArgs) -> ExitCode {
    let sizes: Result<Vec<usize>, _> = args.batch.split(',').map(|s| s.trim().parse::<usize>()).collect();
    let Ok(sizes) = sizes.map(|v| v.into_iter().filter(|&n| n > 0).collect::<Vec<_>>()) else {
        eprintln!("error: --batch takes comma-separated share counts");
        return ExitCode::from(EXIT_USAGE);
    };
    if sizes.is_empty() || args.seconds == 0 || args.writers == 0 || args.miners == 0 {
        eprintln!("error: --batch, --seconds, --writers and --miners must be at least 1");
        return ExitCode::from(EXIT_USAGE);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let result = rt.block_on(async {
        let db = Db::connect(&args.database_url).await?;
        db.migrate().await?;
        let miners = std::sync::Arc::new(MinerIds::default());
        // Warm-up: every miner exists (the steady state of a running pool).
        write(&db, &miners, 0, &[batch_of(args.miners * 4, u64::MAX / 2, args.miners)]).await?;
        let mut points = Vec::new();
        let mut next = (crate::clock::now_ms() % 1_000_000) << 32;
        for &n in &sizes {
            eprintln!(
                "{} batches of {n} shares, {} writer(s), {} s …",
                db.kind(),
                args.writers,
                args.seconds
            );
            let end = Instant::now() + Duration::from_secs(args.seconds);
            let started = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..args.writers {
                let (db, miners) = (db.clone(), miners.clone());
                let base = next + (w as u64) * (1 << 28);
                let miners_n = args.miners;
                tasks.push(tokio::spawn(async move {
                    let (mut rows, mut lat, mut k) = (0u64, Vec::new(), base);
                    while Instant::now() < end {
                        let rec = batch_of(n, k, miners_n);
                        k += n as u64;
                        let t = Instant::now();
                        write(&db, &miners, 0, std::slice::from_ref(&rec)).await?;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        rows += n as u64;
                    }
                    Ok::<_, sqlx::Error>((rows, lat))
                }));
            }
            let (mut rows, mut lat) = (0u64, Vec::new());
            for t in tasks {
                let (r, l) = t.await.expect("writer task")?;
                rows += r;
                lat.extend(l);
            }
            next += 1 << 40;
            let seconds = started.elapsed().as_secs_f64();
            lat.sort_by(f64::total_cmp);
            let pct = |p: f64| {
                lat.get(((lat.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(0.0)
            };
            points.push(Point {
                database: db.kind(),
                batch: n,
                writers: args.writers,
                rows,
                seconds,
                rows_per_second: rows as f64 / seconds,
                commit_ms_p50: pct(0.5),
                commit_ms_p99: pct(0.99),
            });
        }
        Ok::<_, anyhow::Error>(points)
    });
    match result {
        Ok(points) if args.json => {
            println!("{}", serde_json::to_string(&points).expect("serializable"));
            ExitCode::SUCCESS
        }
        Ok(points) => {
            for p in points {
                println!(
                    "{} · batch {} · {} writer(s) · {:.0} rows/s ({} rows in {:.1} s) · commit p50 {:.2} ms p99 {:.2} ms",
                    p.database,
                    p.batch,
                    p.writers,
                    p.rows_per_second,
                    p.rows,
                    p.seconds,
                    p.commit_ms_p50,
                    p.commit_ms_p99
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
