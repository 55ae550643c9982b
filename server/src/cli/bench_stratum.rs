//! `tos-pool bench stratum`: load on the Stratum server — C connections submitting R shares/s while
//! the simulated network finds a block every `--block-interval-ms` — reporting share reply latency,
//! **notify latency** (block on the node → each connection's new job), connections held and pool
//! memory per held connection.
//!
//! Three kinds of process, so the descriptors are spread over several process limits:
//! * the coordinator (this command) starts the others, releases the load at once, collects and
//!   reports;
//! * `bench-pool-server`: the simulated node (advancing on a timer, recording when each height
//!   appeared) and the pool on it, at share difficulty 1 with vardiff and limits off;
//! * `bench-load-client` ×P: each holds its part of the connections from its own loopback source
//!   address (127.0.0.2, 127.0.0.3, …), submits its part of the rate, records reply latencies and
//!   when each new height's job reached each connection.
//!
//! `--pin` puts the pool on CPU 0 and every load process on CPU 1, so the figures are per pool core
//! and repeatable on a 2-core machine. Shares are at difficulty 1 (every nonce valid): the load
//! generator does no hashing, the pool verifies every share as usual.

use super::EXIT_USAGE;
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

#[derive(Args)]
pub struct StratumBenchArgs {
    /// Connections to open and hold.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Shares per second submitted across all connections.
    #[arg(long, default_value_t = 5000)]
    shares_per_second: u64,
    /// Length of the measured run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The simulated network finds a block this often (every connection gets new work); 0: never.
    #[arg(long, default_value_t = 1000)]
    block_interval_ms: u64,
    /// Pin the pool to CPU 0 and the load generator to CPU 1 (figures per pool core).
    #[arg(long)]
    pin: bool,
    /// Load-generator processes (default: one per 10,000 connections).
    #[arg(long)]
    client_processes: Option<usize>,
    /// Record accepted shares in this database (`postgres://…`, `sqlite://path`) through the ledger,
    /// as a production pool does; default: in memory.
    #[arg(long, env = "TOS_POOL_BENCH_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What the coordinator reports.
#[derive(Serialize)]
struct Report {
    connections_requested: usize,
    connections_held: usize,
    client_processes: usize,
    pinned: bool,
    shares_per_second_offered: u64,
    block_interval_ms: u64,
    seconds: f64,
    submitted: u64,
    accepted: u64,
    rejected: u64,
    rejected_by_code: std::collections::BTreeMap<i64, u64>,
    accepted_per_second: f64,
    reply_ms_p50: f64,
    reply_ms_p99: f64,
    reply_ms_max: f64,
    blocks: usize,
    notify_ms_p50: f64,
    notify_ms_p99: f64,
    notify_ms_max: f64,
    notify_samples: usize,
    sink: String,
    pool_rss_mb_idle: f64,
    pool_rss_mb_loaded: f64,
    pool_kb_per_connection: f64,
    pool_open_file_limit: u64,
}

/// What one load client reports (one JSON line on stdout).
#[derive(Serialize, Deserialize, Default)]
struct ClientReport {
    held: usize,
    submitted: u64,
    accepted: u64,
    rejected: u64,
    seconds: f64,
    /// Reply latencies, µs.
    reply_us: Vec<u64>,
    /// Notify latencies (height appeared on the node → job received), µs.
    notify_us: Vec<u64>,
    blocks: usize,
    /// Rejections by wire code.
    #[serde(default)]
    rejected_by_code: std::collections::BTreeMap<i64, u64>,
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Pins this process (and the threads it starts later) to `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: sched_setaffinity reads the set passed in; pid 0 is this thread, whose mask new
    // threads inherit — called before any runtime starts.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!("warning: cannot pin to CPU {cpu}: {}", std::io::Error::last_os_error());
        }
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(args: &[String], pin: Option<usize>) -> std::io::Result<Proc> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args)
        .env("TOS_POOL_VERIFIER", "cpu")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(cpu) = pin {
        cmd.env("TOS_POOL_BENCH_PIN", cpu.to_string());
    }
    cmd.spawn().map(Proc)
}

/// Reads lines from `child` until one starts with `marker`; returns the rest.
fn read_marker(lines: &mut impl Iterator<Item = String>, marker: &str) -> Option<String> {
    lines.find_map(|l| l.strip_prefix(marker).map(str::to_owned))
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

pub fn run(args: StratumBenchArgs) -> ExitCode {
    if args.connections == 0 || args.shares_per_second == 0 || args.seconds == 0 {
        eprintln!("error: --connections, --shares-per-second and --seconds must be at least 1");
        return ExitCode::from(EXIT_USAGE);
    }
    let limits = crate::fd_limit::raise();
    if args.pin {
        pin_to(1);
    }
    let processes = args.client_processes.unwrap_or(args.connections.div_ceil(10_000)).clamp(1, 250);
    let pool_args = vec![
        "bench-pool-server".to_owned(),
        "--block-interval-ms".into(),
        args.block_interval_ms.to_string(),
    ];
    let mut pool = match spawn_child(&pool_args, args.pin.then_some(0)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start the pool process: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut pool_lines =
        std::io::BufReader::new(pool.0.stdout.take().expect("piped")).lines().map_while(Result::ok);
    let stratum = read_marker(&mut pool_lines, "stratum listening on ");
    let node = read_marker(&mut pool_lines, "bench node on ");
    let (Some(stratum), Some(node)) = (stratum, node) else {
        eprintln!("error: the pool process did not start");
        return ExitCode::FAILURE;
    };
    let pid = pool.0.id();
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = rss_mb(pid);
    eprintln!(
        "pool up on {stratum} (RSS {rss_idle:.0} MB); starting {processes} load process(es) for {} connections",
        args.connections
    );
    let mut clients = Vec::new();
    for i in 0..processes {
        let n = args.connections / processes + usize::from(i < args.connections % processes);
        let rate = args.shares_per_second / processes as u64
            + u64::from((i as u64) < args.shares_per_second % processes as u64);
        let source = format!("127.0.0.{}", 2 + i);
        let a = [
            "bench-load-client",
            "--pool",
            &stratum,
            "--node",
            &node,
            "--source",
            &source,
            "--connections",
            &n.to_string(),
            "--shares-per-second",
            &rate.to_string(),
            "--seconds",
            &args.seconds.to_string(),
        ]
        .map(str::to_owned);
        match spawn_child(&a, args.pin.then_some(1)) {
            Ok(c) => clients.push(c),
            Err(e) => {
                eprintln!("error: cannot start a load process: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // Every client holds its connections, then all start at once.
    let mut outputs = Vec::new();
    let mut held = 0usize;
    for c in clients.iter_mut() {
        let mut lines =
            std::io::BufReader::new(c.0.stdout.take().expect("piped")).lines().map_while(Result::ok);
        let ready =
            read_marker(&mut lines, "ready ").and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(0);
        held += ready;
        outputs.push(lines);
    }
    let rss_loaded = rss_mb(pid);
    eprintln!("{held} connections held (pool RSS {rss_loaded:.0} MB); measuring for {} s", args.seconds);
    for c in clients.iter_mut() {
        if let Some(stdin) = c.0.stdin.as_mut() {
            let _ = stdin.write_all(b"go\n");
            let _ = stdin.flush();
        }
    }
    let mut all = ClientReport::default();
    for lines in outputs.iter_mut() {
        let Some(line) = read_marker(lines, "report ") else {
            eprintln!("error: a load process ended without a report");
            continue;
        };
        let Ok(r) = serde_json::from_str::<ClientReport>(&line) else { continue };
        all.held += r.held;
        all.submitted += r.submitted;
        all.accepted += r.accepted;
        all.rejected += r.rejected;
        all.seconds = all.seconds.max(r.seconds);
        all.reply_us.extend(r.reply_us);
        all.notify_us.extend(r.notify_us);
        all.blocks = all.blocks.max(r.blocks);
        for (code, n) in r.rejected_by_code {
            *all.rejected_by_code.entry(code).or_default() += n;
        }
    }
    drop(clients);
    drop(pool);
    all.reply_us.sort_unstable();
    all.notify_us.sort_unstable();
    let report = Report {
        connections_requested: args.connections,
        connections_held: held,
        client_processes: processes,
        pinned: args.pin,
        shares_per_second_offered: args.shares_per_second,
        block_interval_ms: args.block_interval_ms,
        seconds: all.seconds,
        submitted: all.submitted,
        accepted: all.accepted,
        rejected: all.rejected,
        rejected_by_code: all.rejected_by_code.clone(),
        accepted_per_second: all.accepted as f64 / all.seconds.max(1e-9),
        reply_ms_p50: pct(&all.reply_us, 0.5),
        reply_ms_p99: pct(&all.reply_us, 0.99),
        reply_ms_max: pct(&all.reply_us, 1.0),
        blocks: all.blocks,
        notify_ms_p50: pct(&all.notify_us, 0.5),
        notify_ms_p99: pct(&all.notify_us, 0.99),
        notify_ms_max: pct(&all.notify_us, 1.0),
        notify_samples: all.notify_us.len(),
        sink: args.database.as_deref().map_or("memory".into(), crate::ledger::db::redact),
        pool_rss_mb_idle: rss_idle,
        pool_rss_mb_loaded: rss_loaded,
        pool_kb_per_connection: (rss_loaded - rss_idle) * 1024.0 / held.max(1) as f64,
        pool_open_file_limit: limits.map_or(0, |(soft, _)| soft),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
    } else {
        println!(
            "[{}] {} of {} connections held ({} load process(es){}) · offered {} shares/s · accepted {:.0}/s ({} accepted, {} rejected {:?} in {:.1} s) · reply p50 {:.2} ms p99 {:.2} ms · {} blocks, notify p50 {:.1} ms p99 {:.1} ms max {:.1} ms · pool RSS {:.0} MB ({:.1} KiB per connection)",
            report.sink,
            report.connections_held,
            report.connections_requested,
            report.client_processes,
            if report.pinned { ", pool pinned to one core" } else { "" },
            report.shares_per_second_offered,
            report.accepted_per_second,
            report.accepted,
            report.rejected,
            report.rejected_by_code,
            report.seconds,
            report.reply_ms_p50,
            report.reply_ms_p99,
            report.blocks,
            report.notify_ms_p50,
            report.notify_ms_p99,
            report.notify_ms_max,
            report.pool_rss_mb_loaded,
            report.pool_kb_per_connection,
        );
    }
    ExitCode::SUCCESS
}

fn pin_from_env() {
    if let Some(cpu) = std::env::var("TOS_POOL_BENCH_PIN").ok().and_then(|v| v.parse().ok()) {
        pin_to(cpu);
    }
}

/// The pool side: simulated node (advancing every `block_interval_ms`) + pool at difficulty 1,
/// vardiff and limits off.
pub fn pool_server(block_interval_ms: u64, database: Option<String>) -> ExitCode {
    pin_from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        // Shares never find blocks: the network does, on the timer.
        let node = crate::devnet::node::DevnetNode::with_min_difficulty(1 << 62);
        let listener =
            crate::devnet::node::DevnetNode::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
        let node_addr = listener.local_addr().expect("addr");
        tokio::spawn(node.clone().serve(listener));
        if block_interval_ms > 0 {
            let n = node.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(block_interval_ms));
                every.tick().await;
                loop {
                    every.tick().await;
                    n.advance();
                }
            });
        }
        let mut cfg = crate::devnet::devnet_config("127.0.0.1:0".parse().expect("addr"), node_addr, "cpu");
        cfg.stratum.start_difficulty = "1".into();
        cfg.stratum.max_connections_per_ip = usize::MAX;
        let checked = cfg.check().expect("bench config");
        let tuning = crate::pool::Tuning { bench: true };
        let sink: crate::pool::Sink = match database {
            Some(url) => {
                let spool = std::env::temp_dir().join(format!("tos-pool-bench-spool-{}", std::process::id()));
                let cfg = crate::ledger::LedgerConfig { url, spool_dir: spool, instance_id: 0 };
                crate::ledger::Ledger::open(&cfg).await.expect("the bench database opens").into()
            }
            None => crate::share_stage::MemorySink::new().into(),
        };
        let pool = crate::pool::Pool::start_with(&checked, sink, tuning).await.expect("pool starts");
        println!("bench node on http://{node_addr}/json_rpc");
        super::wait_for_signal().await;
        pool.shutdown().await;
    });
    ExitCode::SUCCESS
}

#[derive(Args)]
pub struct LoadClientArgs {
    #[arg(long)]
    pool: SocketAddr,
    #[arg(long)]
    node: String,
    #[arg(long)]
    source: IpAddr,
    #[arg(long)]
    connections: usize,
    #[arg(long)]
    shares_per_second: u64,
    #[arg(long)]
    seconds: u64,
}

/// One connection of a load client.
struct Session {
    job: Mutex<String>,
    nonce: AtomicU64,
    tx: mpsc::UnboundedSender<String>,
    sent_at: Mutex<HashMap<u64, Instant>>,
    /// (height, arrival µs) for each new height's first job.
    heights: Mutex<Vec<(u64, u64)>>,
}

#[derive(Default)]
struct Totals {
    reply_us: Mutex<Vec<u64>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    by_code: Mutex<std::collections::BTreeMap<i64, u64>>,
    measuring: std::sync::atomic::AtomicBool,
}

/// A load client: holds its connections, waits for "go" on stdin, loads, reports.
pub fn load_client(args: LoadClientArgs) -> ExitCode {
    pin_from_env();
    crate::fd_limit::raise();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let report = rt.block_on(load(args));
    println!("report {}", serde_json::to_string(&report).expect("serializable"));
    ExitCode::SUCCESS
}

async fn connect_one(args: &LoadClientArgs, i: usize, totals: Arc<Totals>) -> Option<Arc<Session>> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(args.source, 0)).ok()?;
    let stream = tokio::time::timeout(Duration::from_secs(30), socket.connect(args.pool)).await.ok()?.ok()?;
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if write.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let login = format!("{}.bench{i}", crate::devnet::demo_address(i % 16));
    let _ = tx.send(
        json!({"id": 1, "method": "mining.subscribe", "params": ["tos-pool-bench"]}).to_string() + "\n",
    );
    let _ =
        tx.send(json!({"id": 2, "method": "mining.authorize", "params": [login, "x"]}).to_string() + "\n");
    let session = Arc::new(Session {
        job: Mutex::new(String::new()),
        nonce: AtomicU64::new(0),
        tx,
        sent_at: Mutex::new(HashMap::new()),
        heights: Mutex::new(Vec::new()),
    });
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let s = session.clone();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut lines = BufReader::new(read).lines();
        let mut last_height = 0u64;
        while let Ok(Some(line)) = lines.next_line().await {
            let arrived = unix_us();
            // Parsed by hand: the generator must be cheaper than the pool it measures.
            if let Some((job, height)) = parse_notify(&line) {
                *s.job.lock().unwrap_or_else(|e| e.into_inner()) = job.to_owned();
                if height > last_height {
                    last_height = height;
                    s.heights.lock().unwrap_or_else(|e| e.into_inner()).push((height, arrived));
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            } else if let Some(id) = parse_reply_id(&line).filter(|&id| id > 2) {
                let t = s.sent_at.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(t) = t
                    && totals.measuring.load(Ordering::Relaxed)
                {
                    totals
                        .reply_us
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(t.elapsed().as_micros() as u64);
                    if line.contains("\"result\":true") {
                        totals.accepted.fetch_add(1, Ordering::Relaxed);
                    } else {
                        totals.rejected.fetch_add(1, Ordering::Relaxed);
                        let code = line
                            .split_once("\"error\":[")
                            .and_then(|(_, r)| r.split(',').next()?.parse::<i64>().ok())
                            .unwrap_or(0);
                        *totals.by_code.lock().unwrap_or_else(|e| e.into_inner()).entry(code).or_default() +=
                            1;
                    }
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), ready_rx).await.ok()?.ok()?;
    Some(session)
}

/// (job id, height) of a `mining.notify` line as the pool writes it.
fn parse_notify(line: &str) -> Option<(&str, u64)> {
    let rest = line.strip_prefix("{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"")?;
    let (job, rest) = rest.split_once('"')?;
    // Skip the header and target strings: `,"…","…",HEIGHT,`.
    let mut parts = rest.splitn(6, '"');
    let after = parts.nth(4)?;
    let height = after.trim_start_matches(',').split(',').next()?.parse().ok()?;
    Some((job, height))
}

/// The numeric id of a reply line (`{"id":N,…`).
fn parse_reply_id(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("{\"id\":")?;
    rest[..rest.find(',')?].parse().ok()
}

async fn load(args: LoadClientArgs) -> ClientReport {
    let totals = Arc::new(Totals::default());
    // Connect in waves so the accept queue is not overrun.
    let mut sessions = Vec::with_capacity(args.connections);
    let args = Arc::new(args);
    for wave in (0..args.connections).collect::<Vec<_>>().chunks(250) {
        let joins: Vec<_> = wave
            .iter()
            .map(|&i| {
                let (a, t) = (args.clone(), totals.clone());
                tokio::spawn(async move { connect_one(&a, i, t).await })
            })
            .collect();
        for j in joins {
            if let Ok(Some(s)) = j.await {
                sessions.push(s);
            }
        }
    }
    println!("ready {}", sessions.len());
    let _ = std::io::stdout().flush();
    // Wait for the coordinator's go (a line on stdin).
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
    let mut report = ClientReport { held: sessions.len(), ..ClientReport::default() };
    if sessions.is_empty() {
        return report;
    }
    let measure_from = unix_us();
    totals.measuring.store(true, Ordering::Relaxed);
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.seconds);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut next = 0usize;
    let mut next_id = 3u64;
    while Instant::now() < end {
        tick.tick().await;
        let due = (begin.elapsed().as_secs_f64() * args.shares_per_second as f64) as u64;
        while report.submitted < due {
            let s = &sessions[next % sessions.len()];
            next += 1;
            next_id += 1;
            let nonce = s.nonce.fetch_add(1, Ordering::Relaxed);
            let job = s.job.lock().unwrap_or_else(|e| e.into_inner()).clone();
            // Written by hand: the generator must stay cheaper than the pool it loads (the job id
            // is the pool's own hex).
            let line = format!(
                "{{\"id\":{next_id},\"method\":\"mining.submit\",\"params\":[\"bench\",\"{job}\",\"00000000\",\"{nonce:016x}\"]}}\n"
            );
            s.sent_at.lock().unwrap_or_else(|e| e.into_inner()).insert(next_id, Instant::now());
            let _ = s.tx.send(line);
            report.submitted += 1;
        }
    }
    report.seconds = begin.elapsed().as_secs_f64();
    // The last replies may arrive a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    totals.measuring.store(false, Ordering::Relaxed);
    report.accepted = totals.accepted.load(Ordering::Relaxed);
    report.rejected = totals.rejected.load(Ordering::Relaxed);
    report.rejected_by_code = std::mem::take(&mut *totals.by_code.lock().unwrap_or_else(|e| e.into_inner()));
    report.reply_us = std::mem::take(&mut *totals.reply_us.lock().unwrap_or_else(|e| e.into_inner()));
    // Notify latency: when each height appeared on the node vs when each connection had its job.
    let appeared: HashMap<u64, u64> = node_block_times(&args.node).await.into_iter().collect();
    let measured: Vec<(u64, u64)> =
        appeared.iter().filter(|(_, t)| **t >= measure_from).map(|(h, t)| (*h, *t)).collect();
    report.blocks = measured.len();
    for s in &sessions {
        // Work at height h builds on the block at h − 1.
        for (h, arrived) in s.heights.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(t) = appeared.get(&h.saturating_sub(1)).filter(|t| **t >= measure_from) {
                report.notify_us.push(arrived.saturating_sub(*t));
            }
        }
    }
    report
}

/// `devnet_block_times` from the bench node: (height, Unix µs when it appeared).
async fn node_block_times(url: &str) -> Vec<(u64, u64)> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "devnet_block_times"});
    let Ok(tls) = crate::node::client::tls_config(None) else { return Vec::new() };
    let client = crate::node::client::http_client(Duration::from_secs(10), tls);
    let Ok(resp) = client.post(url).json(&body).send().await else { return Vec::new() };
    let Ok(v) = resp.json::<Value>().await else { return Vec::new() };
    serde_json::from_value(v["result"].clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_parses_the_pools_lines() {
        let header = "ab".repeat(112);
        let target = "0f".repeat(32);
        let n = pool_core::stratum::notify("18c0a1b2c3d4e00001a0000002", &header, &target, 4567, false);
        assert_eq!(parse_notify(n.trim_end()), Some(("18c0a1b2c3d4e00001a0000002", 4567)));
        let r = pool_core::stratum::result_reply(&pool_core::stratum::RequestId::number(77), json!(true));
        assert_eq!(parse_reply_id(r.trim_end()), Some(77));
        assert_eq!(parse_notify(r.trim_end()), None);
    }
}
