//! In-process test support: a simulated node, a pool on it, and Stratum clients over
//! `tokio::io::duplex` — the library's public API, no child processes.

#![allow(dead_code)]

pub mod db;

use pool_core::hash::TosHasher;
use pool_core::{MinerWork, Target};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf};
use tos_pool::config::{Checked, Config};
use tos_pool::devnet::node::DevnetNode;
use tos_pool::pool::Pool;
use tos_pool::share_stage::MemorySink;

/// A simulated node serving on loopback.
pub struct Node {
    pub node: DevnetNode,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    pub async fn start(node: DevnetNode) -> Node {
        Self::start_on(node, "127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(node: DevnetNode, addr: SocketAddr) -> Node {
        let listener = DevnetNode::bind(addr).await.expect("bind the node");
        let addr = listener.local_addr().unwrap();
        let n = node.clone();
        let task = tokio::spawn(async move {
            let _ = n.serve(listener).await;
        });
        Node { node, addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/json_rpc", self.addr)
    }

    /// Stops serving (the port closes); the chain is kept for a restart.
    pub async fn stop(self) -> (DevnetNode, SocketAddr) {
        self.task.abort();
        let _ = self.task.await;
        (self.node, self.addr)
    }
}

/// The devnet pool configuration on `urls`, listening on an ephemeral port, CPU verifier.
pub fn config(urls: &[String], start_difficulty: &str) -> Config {
    let mut cfg = tos_pool::devnet::devnet_config(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:1".parse().unwrap(),
        "cpu",
    );
    cfg.node.urls = urls.to_vec();
    cfg.node.poll_ms = 50;
    cfg.node.timeout_ms = 1_000;
    cfg.stratum.start_difficulty = start_difficulty.into();
    cfg.verifier.cpu_threads = Some(1);
    cfg
}

pub async fn pool(cfg: Config) -> (Pool, Arc<MemorySink>) {
    let checked: Checked = cfg.check().expect("a valid config");
    let sink = MemorySink::new();
    let pool = Pool::start(&checked, sink.clone()).await.expect("the pool starts");
    (pool, sink)
}

/// A Stratum client speaking tosminer's dialect over an in-process stream.
pub struct Client {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    writer: WriteHalf<DuplexStream>,
    /// Notifications received while waiting for replies.
    pub notes: VecDeque<Value>,
}

pub const LINE_TIMEOUT: Duration = Duration::from_secs(20);

impl Client {
    pub fn connect(pool: &Pool) -> Client {
        Self::connect_from(pool, "192.0.2.10:4000".parse().unwrap())
    }

    pub fn connect_from(pool: &Pool, peer: SocketAddr) -> Client {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        pool.attach(theirs, peer);
        let (r, w) = tokio::io::split(ours);
        Client { lines: BufReader::new(r).lines(), writer: w, notes: VecDeque::new() }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.writer.write_all(bytes).await.is_ok() && self.writer.flush().await.is_ok()
    }

    pub async fn send(&mut self, v: Value) -> bool {
        self.send_raw(format!("{v}\n").as_bytes()).await
    }

    /// The next raw line, None at EOF.
    pub async fn line(&mut self) -> Option<String> {
        tokio::time::timeout(LINE_TIMEOUT, self.lines.next_line())
            .await
            .expect("a line in time")
            .ok()
            .flatten()
    }

    /// The next line within `d`, if any.
    pub async fn line_within(&mut self, d: Duration) -> Option<String> {
        tokio::time::timeout(d, self.lines.next_line()).await.ok().and_then(|r| r.ok().flatten())
    }

    /// The reply to request `id` (notifications are kept in `notes`).
    pub async fn reply(&mut self, id: u64) -> Value {
        loop {
            let line = self.line().await.expect("connection open");
            let v: Value = serde_json::from_str(&line).expect("JSON");
            if v.get("method").is_some() {
                self.notes.push_back(v);
            } else if v["id"] == id {
                return v;
            }
        }
    }

    pub async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        assert!(self.send(json!({"id": id, "method": method, "params": params})).await, "connection open");
        self.reply(id).await
    }

    /// The next notification named `method` (already received or new).
    pub async fn next_note(&mut self, method: &str) -> Value {
        loop {
            if let Some(i) = self.notes.iter().position(|n| n["method"] == method) {
                return self.notes.remove(i).unwrap();
            }
            let line = self.line().await.expect("connection open");
            let v: Value = serde_json::from_str(&line).expect("JSON");
            if v.get("method").is_some() {
                self.notes.push_back(v);
            }
        }
    }

    pub async fn notify(&mut self) -> Work {
        Work::from_notify(&self.next_note("mining.notify").await)
    }

    /// Subscribes and authorizes as `worker` of a fixed devnet address; returns the first job.
    pub async fn login(&mut self, worker: &str) -> Work {
        assert!(self.call(1, "mining.subscribe", json!(["tosminer/1.0.0"])).await["result"].is_array());
        let r = self.call(2, "mining.authorize", json!([login(worker), "x"])).await;
        assert_eq!(r["result"], true, "{r}");
        self.notify().await
    }

    pub async fn submit(&mut self, id: u64, job: &str, nonce: u64) -> Value {
        self.call(id, "mining.submit", json!(["x", job, "00000000", hex::encode(nonce.to_be_bytes())])).await
    }
}

pub fn login(worker: &str) -> String {
    format!("{}.{worker}", pool_core::Address::normal(false, [9; 32]))
}

/// One `mining.notify`.
#[derive(Clone, Debug)]
pub struct Work {
    pub job: String,
    pub header: MinerWork,
    pub target: Target,
    pub height: u64,
    pub clean: bool,
}

impl Work {
    pub fn from_notify(n: &Value) -> Work {
        let p = &n["params"];
        Work {
            job: p[0].as_str().unwrap().to_owned(),
            header: MinerWork::from_hex(p[1].as_str().unwrap()).unwrap(),
            target: Target::from_be_bytes(
                &pool_core::hexutil::decode_array::<32>(p[2].as_str().unwrap()).unwrap(),
            ),
            height: p[3].as_u64().unwrap(),
            clean: p[4].as_bool().unwrap(),
        }
    }

    pub fn meets(&self, nonce: u64, target: &Target) -> bool {
        target.is_met_by(&TosHasher::new().hash(self.header.with_nonce(nonce).as_bytes()))
    }
}

/// The first nonce from `start` whose hash on `header` meets every target in `meet` and none in
/// `miss`.
pub fn find_nonce(header: &MinerWork, meet: &[Target], miss: &[Target], start: u64) -> u64 {
    let mut h = TosHasher::new();
    (start..)
        .find(|&n| {
            let hash = h.hash(header.with_nonce(n).as_bytes());
            meet.iter().all(|t| t.is_met_by(&hash)) && !miss.iter().any(|t| t.is_met_by(&hash))
        })
        .unwrap()
}

pub fn code(reply: &Value) -> i64 {
    reply["error"][0].as_i64().unwrap_or_else(|| panic!("an error reply: {reply}"))
}

/// Polls `cond` every 20 ms for up to `within`.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
