//! `tos-pool devnet`: a simulated TOS node, a simulated wallet holding the pool address, the pool
//! on them (payouts enabled: a small threshold, a short interval), and demo miners — one process,
//! nothing to install. `tos-pool devnet-node` runs the simulated node alone.

pub mod accounts;
pub mod miner;
pub mod node;
pub mod transaction;
pub mod wallet;

use crate::config::{
    BlocksSection, Config, DatabaseSection, NodeSection, PayoutsSection, PoolSection, RetentionSection,
    RewardsSection, StratumSection, VerifierSection, WalletSection,
};
use crate::ledger::{Ledger, LedgerConfig};
use crate::pool::Pool;
use pool_core::address::Address;
use pool_core::payout::Tos;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The devnet pool wallet: a fixed key, so runs are reproducible.
pub fn pool_address() -> Address {
    Address::normal(false, *blake3::hash(b"tos-pool devnet pool wallet").as_bytes())
}

/// A demo miner's payout address.
pub fn demo_address(i: usize) -> Address {
    Address::normal(false, *blake3::hash(format!("tos-pool demo miner {i}").as_bytes()).as_bytes())
}

pub struct DevnetArgs {
    pub data_dir: std::path::PathBuf,
    pub stratum: SocketAddr,
    /// The web API and dashboard (None: not served).
    pub http: Option<SocketAddr>,
    /// The admin API's address (skipped with a warning when it is taken).
    pub admin: SocketAddr,
    pub node_rpc: SocketAddr,
    /// The simulated wallet's JSON-RPC address.
    pub wallet_rpc: SocketAddr,
    pub demo_miners: usize,
    pub demo_hashrate: u64,
    pub verifier: String,
    /// Stop after this long (None: until Ctrl-C).
    pub duration: Option<Duration>,
}

/// The config the devnet pool runs with: the simulated node, devnet addresses, low difficulty.
pub fn devnet_config(stratum: SocketAddr, node_rpc: SocketAddr, verifier: &str) -> Config {
    Config {
        pool: PoolSection { address: pool_address().to_string(), network: "devnet".into(), instance_id: 0 },
        stratum: StratumSection {
            listen: stratum,
            start_difficulty: "1000".into(),
            ..StratumSection::default()
        },
        node: NodeSection {
            urls: vec![format!("http://{node_rpc}")],
            poll_ms: 100,
            timeout_ms: 2_000,
            ..NodeSection::default()
        },
        verifier: VerifierSection { backend: verifier.into(), ..VerifierSection::default() },
        database: DatabaseSection::default(),
        rewards: RewardsSection::default(),
        blocks: BlocksSection::default(),
        retention: RetentionSection::default(),
        payouts: PayoutsSection::default(),
        wallet: WalletSection::default(),
        http: None,
        admin: None,
        webhooks: Vec::new(),
    }
}

/// Payouts on devnet: 1 TOS threshold, a round every 30 s, in-flight batches followed every 5 s
/// (a block is stable 24 s after it is found), through the simulated wallet at `wallet_rpc`.
pub fn devnet_payouts(wallet_rpc: SocketAddr) -> (PayoutsSection, WalletSection) {
    (
        PayoutsSection {
            enabled: true,
            interval_secs: 30,
            confirm_every_secs: 5,
            threshold: "1".into(),
            max_recipients: 100,
            ..PayoutsSection::default()
        },
        WalletSection {
            url: Some(format!("http://{wallet_rpc}")),
            timeout_ms: 5_000,
            ..WalletSection::default()
        },
    )
}

/// A fresh SQLite ledger in `data_dir` (the simulated chain is new every run, so is its ledger).
async fn open_ledger(data_dir: &std::path::Path) -> anyhow::Result<std::sync::Arc<Ledger>> {
    use anyhow::Context as _;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create --data-dir {}", data_dir.display()))?;
    for f in ["pool.db", "pool.db-wal", "pool.db-shm"] {
        let _ = std::fs::remove_file(data_dir.join(f));
    }
    let _ = std::fs::remove_dir_all(data_dir.join("spool"));
    let db = data_dir.join("pool.db");
    tracing::info!(database = %db.display(), "devnet ledger (SQLite)");
    Ledger::open(&LedgerConfig {
        url: format!("sqlite://{}", db.display()),
        spool_dir: data_dir.join("spool"),
        instance_id: 0,
    })
    .await
}

/// The admin section for `listen`, or none (with a warning) when the address is taken: a second
/// devnet on one machine still runs.
fn admin_section(listen: SocketAddr) -> Option<crate::config::AdminSection> {
    match std::net::TcpListener::bind(listen) {
        Ok(probe) => {
            drop(probe);
            Some(crate::config::AdminSection { listen })
        }
        Err(e) => {
            tracing::warn!(%listen, error = %e, "the admin API is not served: its address is taken (pick another with --admin)");
            None
        }
    }
}

/// A fresh admin key, written to `<data_dir>/admin.key` (mode 0600); returns the path. The key
/// is never printed.
async fn write_admin_key(ledger: &Ledger, data_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context as _;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = crate::admin::keys::create(ledger.db(), "devnet", crate::clock::now_ms() as i64).await?;
    let path = data_dir.join("admin.key");
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(f, "{}", key.key)?;
    Ok(path)
}

pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let node = node::DevnetNode::new();
    let listener = node::DevnetNode::bind(args.node_rpc).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen for the devnet node on {}: {e} (pick another with --node-rpc)",
            args.node_rpc
        )
    })?;
    let node_addr = listener.local_addr()?;
    tokio::spawn(node.clone().serve(listener));
    tracing::info!(%node_addr, "simulated TOS node listening (JSON-RPC at /json_rpc)");

    let wallet = wallet::DevnetWallet::new(node.clone(), pool_address());
    let wallet_listener = wallet::DevnetWallet::bind(args.wallet_rpc).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen for the devnet wallet on {}: {e} (pick another with --wallet-rpc)",
            args.wallet_rpc
        )
    })?;
    let wallet_addr = wallet_listener.local_addr()?;
    tokio::spawn(wallet.serve(wallet_listener));
    tracing::info!(%wallet_addr, address = %pool_address(), "simulated TOS wallet listening (JSON-RPC at /json_rpc)");

    let mut cfg = devnet_config(args.stratum, node_addr, &args.verifier);
    (cfg.payouts, cfg.wallet) = devnet_payouts(wallet_addr);
    cfg.admin = admin_section(args.admin);
    let cfg = cfg.check()?;
    let ledger = open_ledger(&args.data_dir).await?;
    let key_file = match cfg.raw.admin {
        Some(_) => Some(write_admin_key(&ledger, &args.data_dir).await?),
        None => None,
    };
    let pool = Pool::start(&cfg, ledger.clone()).await?;
    let dashboard = match args.http {
        Some(listen) => {
            let settings = crate::http::HttpSettings {
                listen,
                cors_origins: Vec::new(),
                rate_limit_per_minute: 600,
                ws_max_connections: 256,
                ws_queue: crate::http::ws::DEFAULT_QUEUE,
                stats_every: Duration::from_secs(2),
            };
            let server = crate::http::start(&pool, &cfg, settings).await?;
            println!("dashboard: http://{}/", server.addr);
            format!(" · dashboard http://{}/", server.addr)
        }
        None => String::new(),
    };
    if let (Some(addr), Some(file)) = (pool.admin_addr, &key_file) {
        println!(
            "devnet: admin API http://{addr}/admin/v1/status · metrics http://{addr}/metrics · admin key in {} (Authorization: Bearer $(cat {}))",
            file.display(),
            file.display()
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut miners = Vec::new();
    for i in 0..args.demo_miners {
        let stats = Arc::new(miner::MinerStats::default());
        let login = format!("{}.demo{i}", demo_address(i));
        tokio::spawn(miner::run(pool.stratum_addr, login, args.demo_hashrate, stats.clone(), stop.clone()));
        miners.push(stats);
    }
    println!(
        "devnet: node http://{node_addr}/json_rpc · wallet http://{wallet_addr}/json_rpc · stratum {}{dashboard} · {} demo miner(s). Point tosminer --cpu at stratum+tcp://{} with any tst1… address. Ctrl-C stops.",
        pool.stratum_addr, args.demo_miners, pool.stratum_addr
    );
    let started = tokio::time::Instant::now();
    let mut report = tokio::time::interval(Duration::from_secs(5));
    report.tick().await;
    loop {
        tokio::select! {
            _ = report.tick() => {
                let s = &pool.stats;
                let hashes: u64 = miners.iter().map(|m| m.hashes.load(Ordering::Relaxed)).sum();
                let money = match crate::ledger::payout_store::summary(ledger.db()).await {
                    Ok(m) => format!(
                        "owed {} TOS · pending {} TOS · paid {} TOS in {} payments · wallet {} TOS",
                        Tos(m.balance), Tos(m.pending), Tos(m.paid), m.confirmed_payments, Tos(node.balance(&pool_address()))
                    ),
                    Err(e) => format!("balances unavailable: {e}"),
                };
                println!(
                    "[{:>4}s] height {} · shares accepted {} rejected {} · blocks found {} accepted by node {} · demo hashrate {:.0} H/s · connections {} · {money}",
                    started.elapsed().as_secs(),
                    node.height(),
                    s.accepted(),
                    s.rejected_total(),
                    s.blocks_found.load(Ordering::Relaxed),
                    s.blocks_accepted.load(Ordering::Relaxed),
                    hashes as f64 / started.elapsed().as_secs_f64(),
                    s.connections.load(Ordering::Relaxed),
                );
                if args.duration.is_some_and(|d| started.elapsed() >= d) {
                    break;
                }
            }
            _ = crate::cli::wait_for_signal() => break,
        }
    }
    stop.store(true, Ordering::Relaxed);
    pool.shutdown().await;
    Ok(())
}
