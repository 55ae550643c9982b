//! Built-in demo miners: real Stratum clients speaking tosminer's dialect over loopback, hashing
//! with the CPU fast path on a plain thread each (capped so the pool keeps CPU for itself).

use pool_core::hash::TosHasher;
use pool_core::{MinerWork, Target};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What one demo miner did.
#[derive(Default, Debug)]
pub struct MinerStats {
    pub hashes: AtomicU64,
    pub submitted: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
}

struct Work {
    job_id: String,
    header: MinerWork,
    target: Target,
    generation: u64,
}

/// Runs one demo miner until `stop` is set. `hashrate_cap` limits hashes per second.
pub async fn run(
    pool: SocketAddr,
    login: String,
    hashrate_cap: u64,
    stats: Arc<MinerStats>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match TcpStream::connect(pool).await {
            Ok(stream) => session(stream, &login, hashrate_cap, &stats, &stop).await,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn session(stream: TcpStream, login: &str, cap: u64, stats: &Arc<MinerStats>, stop: &Arc<AtomicBool>) {
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<String>(256);
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if write.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let next_id = Arc::new(AtomicU64::new(3));
    let _ = tx
        .send(
            json!({"id": 1, "method": "mining.subscribe", "params": ["tos-pool-demo/1.0"]}).to_string()
                + "\n",
        )
        .await;
    let _ = tx
        .send(json!({"id": 2, "method": "mining.authorize", "params": [login, "x"]}).to_string() + "\n")
        .await;

    let work: Arc<Mutex<Option<Work>>> = Arc::new(Mutex::new(None));
    let session_over = Arc::new(AtomicBool::new(false));
    let hasher_thread = {
        let (work, tx, stats, stop, over, next_id, login) = (
            work.clone(),
            tx.clone(),
            stats.clone(),
            stop.clone(),
            session_over.clone(),
            next_id.clone(),
            login.to_owned(),
        );
        std::thread::spawn(move || mine(work, tx, stats, stop, over, next_id, login, cap))
    };
    let mut lines = BufReader::new(read).lines();
    let mut generation = 0u64;
    while let Ok(Some(line)) = lines.next_line().await {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        match v.get("method").and_then(Value::as_str) {
            Some("mining.notify") => {
                let p = &v["params"];
                let (Some(job_id), Some(h), Some(t)) = (p[0].as_str(), p[1].as_str(), p[2].as_str()) else {
                    continue;
                };
                let (Ok(header), Ok(target)) =
                    (MinerWork::from_hex(h), pool_core::hexutil::decode_array::<32>(t))
                else {
                    continue;
                };
                generation += 1;
                *work.lock().unwrap_or_else(|e| e.into_inner()) = Some(Work {
                    job_id: job_id.to_owned(),
                    header,
                    target: Target::from_be_bytes(&target),
                    generation,
                });
            }
            Some(_) => {}
            None => {
                let id = v.get("id").and_then(Value::as_u64).unwrap_or(0);
                if id >= 3 {
                    if v.get("result") == Some(&Value::Bool(true)) {
                        stats.accepted.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.rejected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    session_over.store(true, Ordering::Relaxed);
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || hasher_thread.join()).await;
    writer.abort();
}

#[allow(clippy::too_many_arguments)]
fn mine(
    work: Arc<Mutex<Option<Work>>>,
    tx: mpsc::Sender<String>,
    stats: Arc<MinerStats>,
    stop: Arc<AtomicBool>,
    over: Arc<AtomicBool>,
    next_id: Arc<AtomicU64>,
    login: String,
    cap: u64,
) {
    let mut hasher = TosHasher::new();
    let mut nonce: u64 = rand::random();
    let mut current = 0u64;
    let started = Instant::now();
    let mut done = 0u64;
    while !stop.load(Ordering::Relaxed) && !over.load(Ordering::Relaxed) {
        let snapshot = {
            let w = work.lock().unwrap_or_else(|e| e.into_inner());
            w.as_ref().map(|w| (w.job_id.clone(), w.header, w.target, w.generation))
        };
        let Some((job_id, header, target, generation)) = snapshot else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if generation != current {
            current = generation;
            nonce = rand::random();
        }
        for _ in 0..64 {
            let candidate = header.with_nonce(nonce);
            if target.is_met_by(&hasher.hash(candidate.as_bytes())) {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let line = json!({"id": id, "method": "mining.submit", "params": [login, job_id, "00000000", hex::encode(nonce.to_be_bytes())]});
                stats.submitted.fetch_add(1, Ordering::Relaxed);
                if tx.blocking_send(line.to_string() + "\n").is_err() {
                    return;
                }
            }
            nonce = nonce.wrapping_add(1);
        }
        done += 64;
        stats.hashes.fetch_add(64, Ordering::Relaxed);
        // Stay under the cap: sleep off any lead over `cap` hashes per second.
        let ahead =
            Duration::from_secs_f64(done as f64 / cap.max(1) as f64).saturating_sub(started.elapsed());
        if !ahead.is_zero() {
            std::thread::sleep(ahead);
        }
    }
}
