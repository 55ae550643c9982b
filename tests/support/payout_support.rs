//! Support for the payout tests: a fresh database of either dialect per test, the simulated node
//! and wallet on loopback, balances credited directly, a payer (in process, or one run in a child
//! process with a failpoint armed), and the invariants every payout must keep.
//!
//! Databases come from the shared `tests/support/db.rs` (a fresh one per test; the PostgreSQL
//! half is skipped when the server is unreachable, unless `TOS_POOL_REQUIRE_POSTGRES=1`).

#![allow(dead_code)]

#[path = "db.rs"]
mod db;
pub use db::{Backend, TestDb};

use pool_core::address::{Address, Network};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tos_pool::config::{Checked, Config};
use tos_pool::devnet::node::DevnetNode;
use tos_pool::devnet::wallet::DevnetWallet;
use tos_pool::ledger::accounts::{self, BalanceChange, DbTx};
use tos_pool::ledger::db::Db;
use tos_pool::ledger::payer::{Payer, Round};
use tos_pool::ledger::payout_store::{self, BatchStatus};
use tos_pool::ledger::{Ledger, LedgerConfig};
use tos_pool::node::Upstreams;

pub const COIN: u64 = 100_000_000;

static SEQ: AtomicU32 = AtomicU32::new(0);

fn seq() -> u32 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Runs `scenario` on SQLite, then on PostgreSQL (when reachable), each on a fresh database.
pub async fn on_both<F, Fut>(scenario: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    scenario(TestDb::new(Backend::Sqlite).await.expect("SQLite needs no server")).await;
    if let Some(db) = TestDb::new(Backend::Postgres).await {
        scenario(db).await;
    }
}

/// The simulated node and wallet, serving on loopback.
pub struct Devnet {
    pub node: DevnetNode,
    pub wallet: DevnetWallet,
    pub node_url: String,
    pub wallet_url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Devnet {
    pub async fn start() -> Devnet {
        Self::start_with(|w| w).await
    }

    /// With the wallet adjusted by `f` (credentials).
    pub async fn start_with(f: impl FnOnce(DevnetWallet) -> DevnetWallet) -> Devnet {
        let node = DevnetNode::new();
        let wallet = f(DevnetWallet::new(node.clone(), pool_address()));
        let nl = DevnetNode::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let wl = DevnetWallet::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let node_url = format!("http://{}", nl.local_addr().unwrap());
        let wallet_url = format!("http://{}", wl.local_addr().unwrap());
        let (n, w) = (node.clone(), wallet.clone());
        let tasks = vec![
            tokio::spawn(async move {
                let _ = n.serve(nl).await;
            }),
            tokio::spawn(async move {
                let _ = w.serve(wl).await;
            }),
        ];
        Devnet { node, wallet, node_url, wallet_url, tasks }
    }

    /// `n` blocks from the network (no proof of work).
    pub fn advance(&self, n: usize) {
        for _ in 0..n {
            self.node.advance();
        }
    }

    /// What each address received on chain from the pool address, by executed transaction.
    pub fn received(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for e in self.node.executed_transactions() {
            if e.tx.source != pool_address().key {
                continue;
            }
            for (a, amount) in e.tx.destinations() {
                *m.entry(a.to_string()).or_insert(0) += amount;
            }
        }
        m
    }

    /// Hashes of the pool's executed transactions, in order.
    pub fn pool_tx_hashes(&self) -> Vec<String> {
        self.node
            .executed_transactions()
            .iter()
            .filter(|e| e.tx.source == pool_address().key)
            .map(|e| hex::encode(e.hash))
            .collect()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub fn pool_address() -> Address {
    tos_pool::devnet::pool_address()
}

/// A valid devnet address for miner `i`.
pub fn miner_address(i: usize) -> String {
    tos_pool::devnet::demo_address(1000 + i).to_string()
}

/// Payout settings of the tests (TOML for `[payouts]`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub threshold: &'static str,
    pub max_recipients: usize,
    pub tx_fee: &'static str,
    pub max_per_payment: Option<&'static str>,
    pub wallet_timeout_ms: u64,
    pub credentials_file: Option<PathBuf>,
    pub credentials_env: Option<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: "1",
            max_recipients: 100,
            tx_fee: "pool",
            max_per_payment: None,
            wallet_timeout_ms: 5_000,
            credentials_file: None,
            credentials_env: None,
        }
    }
}

/// The configuration file of a payer on `db`, the devnet node and wallet.
pub fn config_toml(db: &TestDb, devnet: &Devnet, s: &Settings) -> String {
    let mut t = format!(
        r#"[pool]
address = "{pool}"
network = "devnet"

[database]
url = "{url}"
spool_dir = "{spool}"

[node]
urls = ["{node}"]
timeout_ms = 2000

[payouts]
enabled = true
interval_secs = 1
confirm_every_secs = 1
threshold = "{threshold}"
max_recipients = {max}
tx_fee = "{fee}"
"#,
        pool = pool_address(),
        url = db.url,
        spool = db.dir.join("spool").display(),
        node = devnet.node_url,
        threshold = s.threshold,
        max = s.max_recipients,
        fee = s.tx_fee,
    );
    if let Some(cap) = s.max_per_payment {
        t.push_str(&format!("max_per_payment = \"{cap}\"\n"));
    }
    t.push_str(&format!(
        "\n[wallet]\nurl = \"{}\"\ntimeout_ms = {}\n",
        devnet.wallet_url, s.wallet_timeout_ms
    ));
    if let Some(f) = &s.credentials_file {
        t.push_str(&format!("credentials_file = \"{}\"\n", f.display()));
    }
    if let Some(v) = s.credentials_env {
        t.push_str(&format!("credentials_env = \"{v}\"\n"));
    }
    t
}

/// Writes the configuration file; returns its path.
pub fn write_config(db: &TestDb, devnet: &Devnet, s: &Settings) -> PathBuf {
    let path = db.dir.join(format!("pool-{}.toml", seq()));
    std::fs::write(&path, config_toml(db, devnet, s)).unwrap();
    path
}

pub fn checked(db: &TestDb, devnet: &Devnet, s: &Settings) -> Checked {
    Config::load(&write_config(db, devnet, s)).expect("a valid test config")
}

/// A payer in this process (its own ledger on `db`).
pub struct InProcess {
    pub payer: Payer,
    pub ledger: Arc<Ledger>,
    /// What the payer published (`payment_sent` / `confirmed` / `failed`).
    pub events: tokio::sync::broadcast::Receiver<tos_pool::events::PoolEvent>,
}

impl InProcess {
    pub async fn start(db: &TestDb, devnet: &Devnet, s: &Settings) -> InProcess {
        let cfg = checked(db, devnet, s);
        let ledger = Ledger::open(&LedgerConfig {
            url: db.url.clone(),
            spool_dir: db.dir.join("spool"),
            instance_id: 0,
        })
        .await
        .expect("the ledger opens");
        let tls = tos_pool::node::client::tls_config(None).unwrap();
        let upstreams = Upstreams::new(
            std::slice::from_ref(&devnet.node_url),
            Duration::from_secs(2),
            tls,
            cfg.address.clone(),
            Network::Devnet,
        );
        let bus = tos_pool::events::EventBus::default();
        let events = bus.subscribe();
        let payer =
            Payer::from_config(&ledger, upstreams, &cfg).expect("the payer is set up").with_events(bus);
        InProcess { payer, ledger, events }
    }

    pub async fn pass(&self) -> tos_pool::ledger::payer::PassReport {
        self.pass_round(Round::Now).await
    }

    pub async fn pass_round(&self, round: Round) -> tos_pool::ledger::payer::PassReport {
        self.payer.pass(round).await.expect("a payer run")
    }

    /// Runs and makes blocks until no batch is in flight (at most `rounds` runs).
    pub async fn settle(&self, devnet: &Devnet, rounds: usize) {
        for _ in 0..rounds {
            let r = self.pass().await;
            if r.in_flight.is_empty() && r.created.is_empty() {
                return;
            }
            devnet.advance(25);
        }
        panic!("payouts did not settle in {rounds} runs");
    }
}

/// Creates the miner `address` (if new) and credits `amount` to its balance; returns its id.
pub async fn credit(db: &Db, address: &str, amount: u64) -> i64 {
    let q = "INSERT INTO miners (address, created_ms) VALUES ($1, $2) ON CONFLICT (address) DO NOTHING";
    tos_pool::on_db!(db, |p| sqlx::query(q).bind(address).bind(1_i64).execute(p).await.map(|_| ())).unwrap();
    let id = accounts::miner_id(db, address).await.unwrap().expect("the miner row");
    let mut tx = DbTx::begin(db).await.unwrap();
    let change = BalanceChange {
        miner_id: id,
        reason: "test_credit",
        d_balance: amount as i64,
        ..BalanceChange::default()
    };
    accounts::apply(&mut tx, &[change]).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Σ balance, Σ pending, Σ paid over every miner.
pub async fn totals(db: &Db) -> (u64, u64, u64) {
    let s = payout_store::summary(db).await.unwrap();
    (s.balance, s.pending, s.paid)
}

/// Σ fee_share of the confirmed payments (what the recipients paid the network).
pub async fn confirmed_fee_shares(db: &Db) -> u64 {
    let q = "SELECT CAST(COALESCE(SUM(fee_share), 0) AS BIGINT) FROM payments WHERE status = 'confirmed'";
    let v: i64 = tos_pool::on_db!(db, |p| sqlx::query_scalar(q).fetch_one(p).await).unwrap();
    v as u64
}

/// Every batch: (id, status, tx hash, recipients).
pub async fn batches(db: &Db) -> Vec<(i64, BatchStatus, Option<String>, u32)> {
    let mut v: Vec<_> = payout_store::recent_batches(db, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.id, b.status, b.tx_hash, b.recipients))
        .collect();
    v.sort_by_key(|b| b.0);
    v
}

/// `paid` per address, from the ledger.
pub async fn paid_by_address(db: &Db) -> BTreeMap<String, u64> {
    let q = "SELECT m.address, b.paid FROM balances b JOIN miners m ON m.id = b.miner_id WHERE b.paid > 0";
    let rows: Vec<(String, i64)> = tos_pool::on_db!(db, |p| sqlx::query_as(q).fetch_all(p).await).unwrap();
    rows.into_iter().map(|(a, p)| (a, p as u64)).collect()
}

/// The balances of one miner.
pub async fn balances_of(db: &Db, miner: i64) -> accounts::Balances {
    accounts::balances(db, miner).await.unwrap()
}

/// Audit rows of `reason`: (count, Σ d_balance, Σ d_pending, Σ d_paid).
pub async fn audit(db: &Db, reason: &str) -> (i64, i64, i64, i64) {
    let q = "SELECT COUNT(*), CAST(COALESCE(SUM(d_balance), 0) AS BIGINT), CAST(COALESCE(SUM(d_pending), 0) AS BIGINT), \
             CAST(COALESCE(SUM(d_paid), 0) AS BIGINT) FROM balance_changes WHERE reason = $1";
    tos_pool::on_db!(db, |p| sqlx::query_as(q).bind(reason).fetch_one(p).await).unwrap()
}

/// The invariants of any finished payout history, whatever happened on the way:
/// * every batch is final, nothing is left pending;
/// * conservation: Σ balance + Σ paid + the recipients' fee shares = everything credited;
/// * no double payment: each confirmed batch's transaction executed exactly once, no other
///   transaction from the pool executed, no failed batch's transaction executed, and what every
///   address received on chain is exactly its `paid` in the ledger.
pub async fn assert_settled(db: &Db, devnet: &Devnet, credited: u64) {
    let all = batches(db).await;
    assert!(all.iter().all(|b| b.1.is_final()), "every batch ends confirmed or failed: {all:?}");
    let (balance, pending, paid) = totals(db).await;
    assert_eq!(pending, 0, "nothing left pending");
    let fees = confirmed_fee_shares(db).await;
    assert_eq!(
        balance + paid + fees,
        credited,
        "conservation: balance {balance} + paid {paid} + fee shares {fees}"
    );
    let executed = devnet.pool_tx_hashes();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in &executed {
        *counts.entry(h.as_str()).or_insert(0) += 1;
    }
    let confirmed: Vec<&str> = all
        .iter()
        .filter(|b| b.1 == BatchStatus::Confirmed)
        .map(|b| b.2.as_deref().expect("a hash"))
        .collect();
    for h in &confirmed {
        assert_eq!(counts.get(h), Some(&1), "confirmed batch tx {h} executed exactly once");
    }
    assert_eq!(executed.len(), confirmed.len(), "no pool transaction executed beyond the confirmed batches");
    for b in all.iter().filter(|b| b.1 == BatchStatus::Failed) {
        if let Some(h) = &b.2 {
            assert!(!counts.contains_key(h.as_str()), "failed batch {} tx {h} never executed", b.0);
        }
    }
    assert_eq!(
        devnet.received(),
        paid_by_address(db).await,
        "the chain paid every address exactly its ledger paid"
    );
}

/// One payer run in a child process (`tos-pool payout-pass`), with `failpoint` armed.
pub struct ChildRun {
    pub aborted: bool,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

pub async fn child_pass(config: &Path, failpoint: Option<&str>, env: &[(&str, &str)]) -> ChildRun {
    for attempt in 0.. {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"));
        cmd.args(["payout-pass", "--config"]).arg(config).env("RUST_LOG", "warn");
        cmd.env_remove("TOS_POOL_FAILPOINT");
        if let Some(f) = failpoint {
            cmd.env("TOS_POOL_FAILPOINT", f);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("the payer run ends within a minute")
            .expect("the binary runs");
        let run = ChildRun {
            aborted: String::from_utf8_lossy(&out.stderr).contains("aborting"),
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // A killed predecessor's PostgreSQL session may take a moment to end (its instance lock).
        if !run.success && !run.aborted && run.stderr.contains("already running") && attempt < 20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        return run;
    }
    unreachable!()
}
