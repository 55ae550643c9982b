//! `tos-pool bench stratum`: load on the Stratum server from C connections submitting R shares/s.
//!
//! The pool (with a simulated node) runs as a child process (`bench-pool-server`), so the
//! thousands of sockets are split between two processes' descriptor limits. Shares are at
//! difficulty 1 (every nonce valid): the load generator does no hashing, while the pool verifies
//! every share as usual. Reported: accepted shares/s, reply latency p50/p99, connections held, the
//! pool's memory (RSS).

use super::EXIT_USAGE;
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
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
    /// The simulated node's minimum difficulty. The default (devnet's 1,000) lets difficulty-1
    /// shares find blocks, so every block re-issues work to all connections, as on a live chain
    /// with 1 s blocks; a huge value (e.g. 1000000000000) measures the share path alone.
    #[arg(long, default_value_t = 1000)]
    node_difficulty: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    node_difficulty: u64,
    connections_requested: usize,
    connections_held: usize,
    shares_per_second_offered: u64,
    seconds: f64,
    submitted: u64,
    accepted: u64,
    rejected: u64,
    accepted_per_second: f64,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
    pool_rss_mb: f64,
}

/// One connection's job, updated by notifications.
struct Session {
    job: Mutex<String>,
    nonce: AtomicU64,
    tx: mpsc::UnboundedSender<String>,
}

struct Shared {
    sent_at: Mutex<HashMap<u64, Instant>>,
    latencies: Mutex<Vec<f64>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    next_id: AtomicU64,
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(args: StratumBenchArgs) -> ExitCode {
    if args.connections == 0 || args.shares_per_second == 0 || args.seconds == 0 {
        eprintln!("error: --connections, --shares-per-second and --seconds must be at least 1");
        return ExitCode::from(EXIT_USAGE);
    }
    let exe = std::env::current_exe().expect("own path");
    let mut child = match std::process::Command::new(exe)
        .arg("bench-pool-server")
        .arg(args.node_difficulty.to_string())
        .env("TOS_POOL_VERIFIER", "cpu")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot start the pool process: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = child.stdout.take().expect("piped");
    let addr: Option<SocketAddr> = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("stratum listening on ").and_then(|a| a.trim().parse().ok()));
    let Some(addr) = addr else {
        eprintln!("error: the pool process did not start");
        let _ = child.kill();
        return ExitCode::FAILURE;
    };
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let report = rt.block_on(load(addr, &args, pid));
    let _ = child.kill();
    let _ = child.wait();
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
    } else {
        println!(
            "{} of {} connections held · offered {} shares/s · accepted {:.0} shares/s ({} accepted, {} rejected in {:.1} s) · reply latency p50 {:.2} ms p99 {:.2} ms · pool RSS {:.0} MB",
            report.connections_held,
            report.connections_requested,
            report.shares_per_second_offered,
            report.accepted_per_second,
            report.accepted,
            report.rejected,
            report.seconds,
            report.latency_ms_p50,
            report.latency_ms_p99,
            report.pool_rss_mb
        );
    }
    ExitCode::SUCCESS
}

async fn connect_one(addr: SocketAddr, i: usize, shared: Arc<Shared>) -> Option<Arc<Session>> {
    let stream = TcpStream::connect(addr).await.ok()?;
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
    let session = Arc::new(Session { job: Mutex::new(String::new()), nonce: AtomicU64::new(0), tx });
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let s = session.clone();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if v["method"] == "mining.notify" {
                *s.job.lock().unwrap_or_else(|e| e.into_inner()) =
                    v["params"][0].as_str().unwrap_or("").to_owned();
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            } else if let Some(id) = v["id"].as_u64().filter(|&id| id > 2) {
                let t = shared.sent_at.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                if let Some(t) = t {
                    shared
                        .latencies
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(t.elapsed().as_secs_f64() * 1e3);
                }
                if v["result"] == Value::Bool(true) {
                    shared.accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    shared.rejected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(30), ready_rx).await.ok()?.ok()?;
    Some(session)
}

async fn load(addr: SocketAddr, args: &StratumBenchArgs, pid: u32) -> Report {
    let shared = Arc::new(Shared {
        sent_at: Mutex::new(HashMap::new()),
        latencies: Mutex::new(Vec::new()),
        accepted: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        next_id: AtomicU64::new(3),
    });
    // Connect in waves so the accept queue is not overrun.
    let mut sessions = Vec::with_capacity(args.connections);
    let started = Instant::now();
    for wave in (0..args.connections).collect::<Vec<_>>().chunks(500) {
        let joins: Vec<_> =
            wave.iter().map(|&i| tokio::spawn(connect_one(addr, i, shared.clone()))).collect();
        for j in joins {
            if let Ok(Some(s)) = j.await {
                sessions.push(s);
            }
        }
    }
    tracing::info!(held = sessions.len(), secs = started.elapsed().as_secs_f64(), "connections established");
    if sessions.is_empty() {
        return Report {
            node_difficulty: args.node_difficulty,
            connections_requested: args.connections,
            connections_held: 0,
            shares_per_second_offered: args.shares_per_second,
            seconds: 0.0,
            submitted: 0,
            accepted: 0,
            rejected: 0,
            accepted_per_second: 0.0,
            latency_ms_p50: 0.0,
            latency_ms_p99: 0.0,
            pool_rss_mb: rss_mb(pid),
        };
    }
    // Submit at the offered rate, round-robin over the connections, in 10 ms ticks.
    let (accepted0, rejected0) =
        (shared.accepted.load(Ordering::Relaxed), shared.rejected.load(Ordering::Relaxed));
    let begin = Instant::now();
    let end = begin + Duration::from_secs(args.seconds);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut submitted = 0u64;
    let mut next = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        let due = (begin.elapsed().as_secs_f64() * args.shares_per_second as f64) as u64;
        while submitted < due {
            let s = &sessions[next % sessions.len()];
            next += 1;
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            let nonce = s.nonce.fetch_add(1, Ordering::Relaxed);
            let job = s.job.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let line = json!({"id": id, "method": "mining.submit", "params": ["bench", job, "00000000", format!("{nonce:016x}")]}).to_string() + "\n";
            shared.sent_at.lock().unwrap_or_else(|e| e.into_inner()).insert(id, Instant::now());
            let _ = s.tx.send(line);
            submitted += 1;
        }
    }
    // The rate is over the submit window; the last replies may arrive a moment later.
    let seconds = begin.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted = shared.accepted.load(Ordering::Relaxed) - accepted0;
    let rejected = shared.rejected.load(Ordering::Relaxed) - rejected0;
    let mut lat = shared.latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| if lat.is_empty() { 0.0 } else { lat[((lat.len() - 1) as f64 * p).round() as usize] };
    let held = sessions.iter().filter(|s| !s.tx.is_closed()).count();
    Report {
        node_difficulty: args.node_difficulty,
        connections_requested: args.connections,
        connections_held: held,
        shares_per_second_offered: args.shares_per_second,
        seconds,
        submitted,
        accepted,
        rejected,
        accepted_per_second: accepted as f64 / seconds,
        latency_ms_p50: pct(0.5),
        latency_ms_p99: pct(0.99),
        pool_rss_mb: rss_mb(pid),
    }
}

/// The pool side of the benchmark: simulated node + pool at difficulty 1, no vardiff, no limits.
pub fn pool_server(node_difficulty: u64) -> ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let node = crate::devnet::node::DevnetNode::with_min_difficulty(node_difficulty);
        let listener =
            crate::devnet::node::DevnetNode::bind("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
        let node_addr = listener.local_addr().expect("addr");
        tokio::spawn(node.serve(listener));
        let mut cfg = crate::devnet::devnet_config("127.0.0.1:0".parse().expect("addr"), node_addr, "cpu");
        cfg.stratum.start_difficulty = "1".into();
        cfg.stratum.max_connections_per_ip = usize::MAX;
        let checked = cfg.check().expect("bench config");
        let tuning = crate::pool::Tuning { bench: true };
        let pool = crate::pool::Pool::start_with(&checked, crate::share_stage::MemorySink::new(), tuning)
            .await
            .expect("pool starts");
        super::wait_for_signal().await;
        pool.shutdown().await;
    });
    ExitCode::SUCCESS
}
