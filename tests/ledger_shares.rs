//! The ledger's share path (issue 8 items 2 and 6) on both databases: shares acknowledged only once
//! durable, a PostgreSQL outage during mining (spool, replay, nothing lost, nothing twice), kill -9
//! right after acknowledging shares, instance registration and leader failover.
//!
//! PostgreSQL tests get a fresh database each on the local server (`tests/support/db.rs`); they are
//! skipped when it is unreachable unless `TOS_POOL_REQUIRE_POSTGRES=1` (CI sets it).

mod support;

use serde_json::json;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::db::{Backend, TestDb};
use support::*;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::ledger::db::Db;
use tos_pool::ledger::{Ledger, LedgerConfig};
use tos_pool::pool::Pool;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tos-pool-ledger-{tag}-{}-{}",
        std::process::id(),
        tos_pool::clock::now_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn open_ledger(url: &str, spool: PathBuf) -> Arc<Ledger> {
    Ledger::open(&LedgerConfig { url: url.into(), spool_dir: spool, instance_id: 0 })
        .await
        .expect("ledger opens")
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    tos_pool::on_db!(db, |p| sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await).unwrap()
}

async fn stored_share_ids(db: &Db) -> HashSet<Vec<u8>> {
    let q = "SELECT share_id FROM shares";
    tos_pool::on_db!(db, |p| sqlx::query_scalar::<_, Vec<u8>>(q).fetch_all(p).await)
        .unwrap()
        .into_iter()
        .collect()
}

fn network_target() -> pool_core::Target {
    pool_core::Difficulty::from_u64(tos_pool::devnet::node::MIN_DIFFICULTY).unwrap().target()
}

/// Submits `n` difficulty-1 non-block shares on `w`, from `start`; returns the share ids acknowledged.
async fn mine(m: &mut Client, w: &Work, n: u64, start: u64, id_base: u64) -> Vec<Vec<u8>> {
    let mut acked = Vec::new();
    let mut nonce = start;
    for i in 0..n {
        nonce = find_nonce(&w.header, &[], &[network_target()], nonce + 1);
        let r = m.submit(id_base + i, &w.job, nonce).await;
        if r["result"] == true {
            acked.push(w.header.with_nonce(nonce).block_id().to_vec());
        }
    }
    acked
}

async fn shares_are_durable_before_they_are_acknowledged(url: &str, spool: PathBuf) {
    let node = Node::start(DevnetNode::new()).await;
    let ledger = open_ledger(url, spool).await;
    let cfg = config(&[node.url()], "1").check().unwrap();
    let pool = Pool::start(&cfg, ledger.clone()).await.unwrap();
    let mut m = Client::connect(&pool);
    let w = m.login("rig1").await;
    let acked = mine(&mut m, &w, 20, 0, 100).await;
    assert_eq!(acked.len(), 20);
    // Acknowledged means committed: every acknowledged share is in the database now.
    let stored = stored_share_ids(ledger.db()).await;
    assert!(acked.iter().all(|id| stored.contains(id)), "every acknowledged share is stored");
    assert_eq!(count(ledger.db(), "SELECT COUNT(*) FROM miners").await, 1);
    let per_minute = "SELECT CAST(SUM(shares) AS BIGINT) FROM worker_stats";
    assert_eq!(count(ledger.db(), per_minute).await, 20, "rolled up per minute");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shares_are_durable_before_they_are_acknowledged() {
    let d = temp_dir("sqlite");
    shares_are_durable_before_they_are_acknowledged(
        &format!("sqlite://{}/pool.db", d.display()),
        d.join("spool"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shares_are_durable_before_they_are_acknowledged() {
    let Some(pg) = TestDb::new(Backend::Postgres).await else { return };
    shares_are_durable_before_they_are_acknowledged(&pg.url, temp_dir("pg").join("spool")).await;
    drop(pg);
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped, new ones
/// refused) and restore: a real database outage as the pool sees it.
struct CutProxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl CutProxy {
    async fn start(target: SocketAddr) -> CutProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(tokio::sync::watch::channel(0u64).0);
        let (u, g) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                if !u.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let mut cut = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        CutProxy { addr, up, generation }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_during_mining_spools_and_replays_exactly_once() {
    let Some(pg) = TestDb::new(Backend::Postgres).await else { return };
    let proxy = CutProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let via_proxy = pg.url.replace("127.0.0.1:5432", &proxy.addr.to_string());
    let spool = temp_dir("outage").join("spool");
    let node = Node::start(DevnetNode::new()).await;
    let ledger = open_ledger(&via_proxy, spool.clone()).await;
    let cfg = config(&[node.url()], "1").check().unwrap();
    let pool = Pool::start(&cfg, ledger.clone()).await.unwrap();
    let mut m = Client::connect(&pool);
    let w = m.login("rig1").await;
    let mut acked = mine(&mut m, &w, 10, 0, 100).await;
    // The database goes away: shares are still acknowledged — from the fsync'd spool.
    proxy.cut();
    let during = mine(&mut m, &w, 15, 1_000_000, 200).await;
    assert_eq!(during.len(), 15, "acknowledged while the database is down");
    assert!(ledger.in_outage() && ledger.spooled() > 0, "spooled: {}", ledger.spooled());
    acked.extend(during);
    // It comes back: the spool is replayed, and everything is there exactly once.
    proxy.restore();
    assert!(
        eventually(Duration::from_secs(30), || ledger.spooled() == 0 && !ledger.in_outage()).await,
        "spool drained"
    );
    let after = mine(&mut m, &w, 5, 2_000_000, 300).await;
    acked.extend(after);
    let direct = Db::connect(&pg.url).await.unwrap();
    let stored = stored_share_ids(&direct).await;
    assert_eq!(stored.len(), acked.len(), "nothing lost, nothing twice");
    assert!(acked.iter().all(|id| stored.contains(id)));
    assert_eq!(
        count(&direct, "SELECT CAST(SUM(shares) AS BIGINT) FROM worker_stats").await,
        acked.len() as i64
    );
    pool.shutdown().await;
    direct.close().await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_replayed_twice_changes_nothing() {
    // A crash between the replay's commit and the segment's deletion replays it again.
    for backend in ["sqlite", "postgres"] {
        let pg = if backend == "postgres" {
            match TestDb::new(Backend::Postgres).await {
                Some(pg) => Some(pg),
                None => continue,
            }
        } else {
            None
        };
        let d = temp_dir("twice");
        let url = pg.as_ref().map_or(format!("sqlite://{}/pool.db", d.display()), |p| p.url.clone());
        let spool_dir = d.join("spool");
        let spool = tos_pool::ledger::spool::Spool::open(&spool_dir).unwrap();
        let share = |n: u64| tos_pool::ledger::spool::SpooledShare {
            share_id: format!("{n:064x}"),
            address: login("rig").split('.').next().unwrap().to_owned(),
            worker: "rig".into(),
            scheme: "pplns".into(),
            difficulty: "123456789012345678901234567890".into(),
            network_difficulty: "99999999999999999999999999999999".into(),
            height: 5,
            job_id: "j".into(),
            hash: "00".repeat(32),
            is_block: false,
            submitted_ms: 1_700_000_000_000 + n,
        };
        spool
            .append(&tos_pool::ledger::spool::SpoolRecord::Batch {
                shares: (0..50).map(share).collect(),
                blocks: vec![],
            })
            .unwrap();
        let seg = spool.segments().unwrap().pop().unwrap();
        let copy = d.join("copy.seg");
        std::fs::copy(&seg, &copy).unwrap();
        drop(spool);
        let ledger = open_ledger(&url, spool_dir.clone()).await;
        assert_eq!(ledger.replay_spool().await.unwrap(), 1, "one record of 50 shares");
        std::fs::copy(&copy, &seg).unwrap(); // as if the deletion had never happened
        assert_eq!(ledger.replay_spool().await.unwrap(), 1, "read again");
        assert_eq!(count(ledger.db(), "SELECT COUNT(*) FROM shares").await, 50, "{backend}: stored once");
        assert_eq!(count(ledger.db(), "SELECT CAST(SUM(shares) AS BIGINT) FROM worker_stats").await, 50);
        // The exact difficulty survives the round trip (NUMERIC / TEXT, never a float).
        let q = if backend == "postgres" {
            "SELECT difficulty::text FROM shares LIMIT 1"
        } else {
            "SELECT difficulty FROM shares LIMIT 1"
        };
        let d: String =
            tos_pool::on_db!(ledger.db(), |p| sqlx::query_scalar(sqlx::AssertSqlSafe(q)).fetch_one(p).await)
                .unwrap();
        assert_eq!(d, "123456789012345678901234567890");
        if let Some(pg) = pg {
            ledger.db().close().await;
            drop(ledger);
            drop(pg);
        }
    }
}

/// A `tos-pool run` child process, killed with SIGKILL when dropped.
struct RunningPool {
    child: std::process::Child,
    addr: SocketAddr,
    stderr: Arc<std::sync::Mutex<Vec<String>>>,
}

impl RunningPool {
    fn start(config: &std::path::Path) -> RunningPool {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("TOS_POOL_VERIFIER", "cpu")
            .env("RUST_LOG", "tos_pool=info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(std::sync::Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        });
        let out = child.stdout.take().unwrap();
        let mut addr = None;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(a) = l.strip_prefix("stratum listening on ") {
                addr = Some(a.trim().parse().unwrap());
                break;
            }
        }
        let addr = addr.unwrap_or_else(|| panic!("the pool did not start: {:?}", stderr.lock().unwrap()));
        RunningPool { child, addr, stderr }
    }

    fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no shutdown, no flush
        let _ = self.child.wait();
    }

    fn log_has(&self, text: &str) -> bool {
        self.stderr.lock().unwrap().iter().any(|l| l.contains(text))
    }
}

impl Drop for RunningPool {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn write_config(dir: &std::path::Path, node: &str, database: &str, instance: u8) -> PathBuf {
    let cfg = dir.join(format!("pool-{instance}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[pool]\naddress = \"{}\"\nnetwork = \"devnet\"\ninstance_id = {instance}\n\n[stratum]\nlisten = \"127.0.0.1:0\"\nstart_difficulty = \"1\"\n\n[node]\nurls = [\"{node}\"]\npoll_ms = 50\n\n[verifier]\nbackend = \"cpu\"\ncpu_threads = 1\n\n[database]\n{database}\nspool_dir = \"{}\"\n",
            tos_pool::devnet::pool_address(),
            dir.join(format!("spool-{instance}")).display()
        ),
    )
    .unwrap();
    cfg
}

/// A blocking Stratum client over TCP for the child-process tests.
async fn tcp_client(addr: SocketAddr) -> TcpClient {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, w) = s.into_split();
    TcpClient { lines: tokio::io::BufReader::new(r), w, last_notify: None }
}

struct TcpClient {
    lines: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
    last_notify: Option<serde_json::Value>,
}

impl TcpClient {
    async fn call(&mut self, id: u64, method: &str, params: serde_json::Value) -> serde_json::Value {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
        self.w.write_all(line.as_bytes()).await.unwrap();
        loop {
            let mut s = String::new();
            let n = tokio::time::timeout(Duration::from_secs(20), self.lines.read_line(&mut s))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed");
            let v: serde_json::Value = serde_json::from_str(&s).unwrap();
            if v["id"] == id && v.get("method").is_none() {
                return v;
            }
            if v["method"] == "mining.notify" {
                self.last_notify = Some(v);
            }
        }
    }
}

async fn kill9_right_after_acknowledging_shares_loses_nothing(database: &str, check_url: &str, dir: PathBuf) {
    let node = Node::start(DevnetNode::new()).await;
    let cfg = write_config(&dir, &node.url(), database, 1);
    let mut pool = RunningPool::start(&cfg);
    let mut m = Miner::connect(pool.addr).await;
    let w = m.login().await;
    let mut acked = Vec::new();
    let mut nonce = 0;
    for i in 0..30 {
        nonce = find_nonce(&w.header, &[], &[network_target()], nonce + 1);
        let r = m.submit(100 + i, &w.job, nonce).await;
        assert_eq!(r["result"], true, "{r}");
        acked.push(w.header.with_nonce(nonce).block_id().to_vec());
    }
    pool.kill9(); // the instant after the last acknowledgement
    let db = Db::connect(check_url).await.unwrap();
    let stored = stored_share_ids(&db).await;
    assert!(acked.iter().all(|id| stored.contains(id)), "every acknowledged share survived kill -9");
    db.close().await;
    // It starts again on the same database (its instance registration is free again).
    let again = RunningPool::start(&cfg);
    let mut m = Miner::connect(again.addr).await;
    let w = m.login().await;
    let n = find_nonce(&w.header, &[], &[network_target()], 0);
    assert_eq!(m.submit(500, &w.job, n).await["result"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_right_after_acknowledging_shares_loses_nothing() {
    let d = temp_dir("kill9");
    let url = format!("sqlite://{}/pool.db", d.display());
    kill9_right_after_acknowledging_shares_loses_nothing(&format!("url = \"{url}\""), &url, d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill9_right_after_acknowledging_shares_loses_nothing() {
    let Some(pg) = TestDb::new(Backend::Postgres).await else { return };
    let d = temp_dir("kill9pg");
    // The URL from a file, as an operator with a password would give it.
    std::fs::write(d.join("db-url"), &pg.url).unwrap();
    let database = format!("url_file = \"{}\"", d.join("db-url").display());
    kill9_right_after_acknowledging_shares_loses_nothing(&database, &pg.url, d).await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_exclusive_and_the_leader_fails_over() {
    let node = Node::start(DevnetNode::new()).await;
    // SQLite is one instance: a second process on the same file is refused.
    let d = temp_dir("exclusive");
    let url = format!("url = \"sqlite://{}/pool.db\"", d.display());
    let first = RunningPool::start(&write_config(&d, &node.url(), &url, 1));
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args(["run", "--config", write_config(&d, &node.url(), &url, 2).to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by another tos-pool process"));
    drop(first);
    // PostgreSQL: the same instance id twice is refused naming the first; two ids share the
    // database, one leads, and when it is killed the other takes over.
    let Some(pg) = TestDb::new(Backend::Postgres).await else { return };
    let d = temp_dir("leader");
    std::fs::write(d.join("db-url"), &pg.url).unwrap();
    let database = format!("url_file = \"{}\"", d.join("db-url").display());
    let mut a = RunningPool::start(&write_config(&d, &node.url(), &database, 1));
    let dup = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args(["run", "--config", write_config(&d, &node.url(), &database, 1).to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&dup.stderr);
    assert!(!dup.status.success() && err.contains("pool.instance_id 1 is already running"), "{err}");
    assert!(err.contains("pid"), "names the first: {err}");
    let mut b = RunningPool::start(&write_config(&d, &node.url(), &database, 2));
    assert!(
        eventually(Duration::from_secs(10), || a.log_has("this instance is the leader")).await,
        "{:?}",
        a.stderr.lock().unwrap()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!b.log_has("this instance is the leader"), "one leader at a time");
    a.kill9();
    assert!(
        eventually(Duration::from_secs(15), || b.log_has("this instance is the leader")).await,
        "took over within seconds"
    );
    b.kill9();
    drop(pg);
}

/// A tosminer-like client over TCP.
struct Miner {
    c: TcpClient,
}

impl Miner {
    async fn connect(addr: SocketAddr) -> Miner {
        Miner { c: tcp_client(addr).await }
    }

    async fn login(&mut self) -> Work {
        self.c.call(1, "mining.subscribe", json!(["tosminer/1.0.0"])).await;
        self.c.last_notify = None;
        assert_eq!(self.c.call(2, "mining.authorize", json!([login("rig"), "x"])).await["result"], true);
        while self.c.last_notify.is_none() {
            self.c.call(3, "mining.ping", json!([])).await;
        }
        Work::from_notify(self.c.last_notify.as_ref().unwrap())
    }

    async fn submit(&mut self, id: u64, job: &str, nonce: u64) -> serde_json::Value {
        self.c
            .call(id, "mining.submit", json!(["x", job, "00000000", hex::encode(nonce.to_be_bytes())]))
            .await
    }
}
