//! End-to-end: the real `tos-pool` binary — `devnet-node` as the TOS node, `run --config` as the pool —
//! driven over real sockets the way tosminer drives it.

use pool_core::address::Address;
use pool_core::hash::TosHasher;
use pool_core::{Difficulty, MinerWork, Target};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `tos-pool ARGS` and waits for a stdout line starting with `marker`; returns the rest.
fn spawn(args: &[&str], marker: &str) -> (Proc, String) {
    let (p, rx) = spawn_lines(args);
    let found = wait_for(&rx, marker);
    (p, found)
}

/// The rest of the next stdout line starting with `marker`.
fn wait_for(rx: &mpsc::Receiver<String>, marker: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("the process never printed {marker:?}"));
        if let Some(rest) = line.strip_prefix(marker) {
            return rest.to_owned();
        }
    }
}

/// Spawns `tos-pool ARGS`; every stdout line arrives on the receiver.
fn spawn_lines(args: &[&str]) -> (Proc, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args(args)
        .env("TOS_POOL_VERIFIER", "cpu")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Proc(child), rx)
}

fn node(rpc: &str) -> (Proc, String) {
    let (p, rest) = spawn(&["devnet-node", "--rpc", rpc], "simulated TOS devnet node: ");
    let url = rest.split_whitespace().next().unwrap().to_owned();
    (p, url)
}

fn pool_address() -> String {
    Address::normal(false, [7; 32]).to_string()
}

fn miner_login(worker: &str) -> String {
    format!("{}.{worker}", Address::normal(false, [9; 32]))
}

fn pool(node_urls: &[&str], start_difficulty: &str) -> (Proc, SocketAddr) {
    let (p, rx, _) = pool_with(node_urls, start_difficulty, "", 100);
    let addr = wait_for(&rx, "stratum listening on ");
    (p, addr.trim().parse().unwrap())
}

/// A pool with `extra_stratum` lines in its [stratum] section; returns its stdout lines too.
fn pool_with(
    node_urls: &[&str],
    start_difficulty: &str,
    extra_stratum: &str,
    poll_ms: u64,
) -> (Proc, mpsc::Receiver<String>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tos-pool-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("pool.toml");
    let urls: Vec<String> = node_urls.iter().map(|u| format!("{u:?}")).collect();
    std::fs::write(
        &cfg,
        format!(
            "[pool]\naddress = \"{}\"\nnetwork = \"devnet\"\n\n[stratum]\nlisten = \"127.0.0.1:0\"\nstart_difficulty = \"{start_difficulty}\"\n{extra_stratum}\n\n[node]\nurls = [{}]\npoll_ms = {poll_ms}\ntimeout_ms = 1000\n\n[verifier]\nbackend = \"cpu\"\ncpu_threads = 1\n",
            pool_address(),
            urls.join(", ")
        ),
    )
    .unwrap();
    let (p, rx) = spawn_lines(&["run", "--config", cfg.to_str().unwrap()]);
    (p, rx, dir)
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A Stratum client that keeps notifications apart from replies.
struct Miner {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    notifications: Vec<Value>,
}

impl Miner {
    fn connect(addr: SocketAddr) -> Miner {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Miner { reader: BufReader::new(s.try_clone().unwrap()), writer: s, notifications: vec![] }
    }

    fn send(&mut self, line: &str) {
        assert!(self.try_send(line), "the pool closed the connection");
    }

    /// Sends a line; false if the pool has closed the connection.
    fn try_send(&mut self, line: &str) -> bool {
        self.writer.write_all(format!("{line}\n").as_bytes()).is_ok()
    }

    /// The next raw line (None at EOF).
    fn line(&mut self) -> Option<String> {
        let mut s = String::new();
        match self.reader.read_line(&mut s) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(s),
        }
    }

    /// The raw reply line to request `id`, storing notifications seen meanwhile.
    fn reply_line(&mut self, id: u64) -> String {
        loop {
            let line = self.line().expect("connection open");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("method").is_some() {
                self.notifications.push(v);
            } else if v["id"] == id {
                return line;
            }
        }
    }

    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({"id": id, "method": method, "params": params}).to_string());
        serde_json::from_str(&self.reply_line(id)).unwrap()
    }

    /// Waits for the next `mining.notify` (already received or new).
    fn notify(&mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(i) = self.notifications.iter().position(|n| n["method"] == "mining.notify") {
                return self.notifications.remove(i);
            }
            assert!(Instant::now() < deadline, "no mining.notify");
            let line = self.line().expect("connection open");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("method").is_some() {
                self.notifications.push(v);
            }
        }
    }
}

/// `b` is fresh work for the same job as `a`: same height and target, same work hash, but a new
/// job id and a new header (tosminer restarts its nonces on every notify: the same header again
/// would turn its first shares into duplicates).
fn assert_fresh_reissue(a: &Value, b: &Value) {
    let (pa, pb) = (&a["params"], &b["params"]);
    assert_eq!((&pa[2], &pa[3]), (&pb[2], &pb[3]), "same target and height");
    assert_ne!(pa[0], pb[0], "a new job id");
    assert_ne!(pa[1], pb[1], "a new header");
    let (ha, hb) = (
        MinerWork::from_hex(pa[1].as_str().unwrap()).unwrap(),
        MinerWork::from_hex(pb[1].as_str().unwrap()).unwrap(),
    );
    assert_eq!(ha.work_hash(), hb.work_hash(), "the same job");
}

fn code(reply: &Value) -> i64 {
    reply["error"][0].as_i64().unwrap_or_else(|| panic!("an error reply: {reply}"))
}

/// Finds a nonce whose hash does (`meets`) or does not meet `target`.
fn find_nonce(header: &MinerWork, target: &Target, meets: bool, start: u64) -> u64 {
    let mut h = TosHasher::new();
    (start..).find(|&n| target.is_met_by(&h.hash(header.with_nonce(n).as_bytes())) == meets).unwrap()
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    let addr = url.trim_start_matches("http://").trim_end_matches("/json_rpc");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "POST /json_rpc HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let json_start = resp.find("\r\n\r\n").unwrap() + 4;
    serde_json::from_str(&resp[json_start..]).unwrap()
}

fn node_height(url: &str) -> u64 {
    rpc(url, "get_info", Value::Null)["result"]["height"].as_u64().unwrap()
}

#[test]
fn tosminer_exchange_every_reject_code_and_a_block() {
    let (_node, url) = node("127.0.0.1:0");
    let (_pool, addr) = pool(&[&url], "1000");
    let mut m = Miner::connect(addr);

    // Subscribe: the exact reply tosminer parses, then set_difficulty.
    m.send(r#"{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}"#);
    assert_eq!(
        m.reply_line(1),
        "{\"id\":1,\"result\":[[[\"mining.notify\",\"1\"],[\"mining.set_difficulty\",\"1\"]],\"00000000\",4],\"error\":null}\n"
    );
    assert_eq!(m.line().unwrap(), "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[1000]}\n");

    // A bad address is refused with a clear message; a good one is authorized.
    let bad = m.call(2, "mining.authorize", json!(["tos1notanaddress.rig1", "x"]));
    assert_eq!(code(&bad), -1);
    assert!(bad["error"][1].as_str().unwrap().starts_with("Invalid TOS address"));
    let wrong_net =
        m.call(2, "mining.authorize", json!([format!("{}.rig1", Address::normal(true, [9; 32])), "x"]));
    assert_eq!(code(&wrong_net), -1, "a mainnet address on a devnet pool");
    assert_eq!(
        code(&m.call(
            2,
            "mining.authorize",
            json!([format!("{}.bad worker!", Address::normal(false, [9; 32])), "x"])
        )),
        -1
    );
    m.send(&json!({"id": 3, "method": "mining.authorize", "params": [miner_login("rig1"), "x"]}).to_string());
    assert_eq!(m.reply_line(3), "{\"id\":3,\"result\":true,\"error\":null}\n");

    // The job, with this connection's own target, then the same notify again for tosminer's devices.
    let n = m.notify();
    let p = n["params"].as_array().unwrap().clone();
    assert_eq!(p.len(), 5);
    let job_id = p[0].as_str().unwrap().to_owned();
    let header = MinerWork::from_hex(p[1].as_str().unwrap()).unwrap();
    let target_hex = p[2].as_str().unwrap();
    assert_eq!(target_hex, Difficulty::from_u64(1000).unwrap().target().to_hex64());
    assert!(p[3].is_u64() && p[4].is_boolean());
    let again = m.notify();
    assert_fresh_reissue(&n, &again);
    let target = Difficulty::from_u64(1000).unwrap().target();

    // Accepted — and at difficulty 1000 (the devnet network difficulty) it is also a block.
    let height_before = node_height(&url);
    let good = find_nonce(&header, &target, true, 0);
    let nonce_hex = hex::encode(good.to_be_bytes());
    let accept = m.call(4, "mining.submit", json!([miner_login("rig1"), job_id, "00000000", nonce_hex]));
    assert_eq!(accept, json!({"id": 4, "result": true, "error": null}));
    let deadline = Instant::now() + Duration::from_secs(10);
    while node_height(&url) == height_before {
        assert!(Instant::now() < deadline, "the node never accepted the block");
        std::thread::sleep(Duration::from_millis(50));
    }
    let block_id = hex::encode(header.with_nonce(good).block_id());
    let block = rpc(&url, "get_block_by_hash", json!({"hash": block_id}));
    assert_eq!(block["result"]["hash"], block_id, "the node knows the block by BLAKE3(MinerWork)");
    assert_eq!(block["result"]["miner"], pool_address(), "mined to the pool's key");

    // Every reject code.
    let dup = m.call(5, "mining.submit", json!([miner_login("rig1"), job_id, "00000000", nonce_hex]));
    assert_eq!(code(&dup), 22);
    let low = find_nonce(&header, &target, false, good + 1);
    assert_eq!(
        code(&m.call(
            6,
            "mining.submit",
            json!([miner_login("rig1"), job_id, "00000000", hex::encode(low.to_be_bytes())])
        )),
        23
    );
    assert_eq!(
        code(&m.call(
            7,
            "mining.submit",
            json!([miner_login("rig1"), "nosuchjob", "00000000", "0000000000000001"])
        )),
        21
    );
    assert_eq!(
        code(&m.call(8, "mining.submit", json!([miner_login("rig1"), job_id, "00000000", "xyz"]))),
        20
    );
    assert_eq!(code(&m.call(9, "mining.submit", json!([miner_login("rig1"), job_id]))), 20);
    assert_eq!(m.call(10, "mining.ping", json!([])), json!({"id": 10, "result": "pong", "error": null}));
    assert_eq!(code(&m.call(11, "mining.extranonce.subscribe", json!([]))), -32601);
    m.send("this is not json");
    let parse = loop {
        let v: Value = serde_json::from_str(&m.line().unwrap()).unwrap();
        if v.get("method").is_none() {
            break v;
        }
    };
    assert_eq!(parse, json!({"id": null, "result": null, "error": [-32700, "Parse error", null]}));

    // A second connection: unauthorized and unsubscribed.
    let mut other = Miner::connect(addr);
    assert_eq!(code(&other.call(1, "mining.submit", json!(["x", job_id, "00000000", nonce_hex]))), 24);
    assert_eq!(code(&other.call(2, "mining.authorize", json!([miner_login("rig2"), "x"]))), 25);
    // EthProxy login works without subscribe and delivers a job.
    let mut proxy = Miner::connect(addr);
    assert_eq!(proxy.call(1, "eth_submitLogin", json!([miner_login("rig3")]))["result"], true);
    assert_eq!(proxy.notify()["params"].as_array().unwrap().len(), 5);

    // An oversized line: -32600, then the connection is closed.
    other.send(&"x".repeat(4096));
    let v: Value = serde_json::from_str(&other.line().unwrap()).unwrap();
    assert_eq!(code(&v), -32600);
    assert_eq!(other.line(), None, "disconnected");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn node_down_then_back() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/json_rpc");
    let (_pool, addr) = pool(&[&url], "1000");
    let mut m = Miner::connect(addr);
    assert!(m.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]))["result"].is_array());
    assert_eq!(m.call(2, "mining.authorize", json!([miner_login("rig1"), "x"]))["result"], true);
    // No node: no job yet, but the connection stays up (a ping is answered).
    assert_eq!(m.call(3, "mining.ping", json!([]))["result"], "pong");
    assert!(m.notifications.iter().all(|n| n["method"] != "mining.notify"));
    // The node comes up on the configured port: work flows, and the first job is sent twice
    // (tosminer drops a job that arrives before its devices have started).
    let (_node, _) = node(&format!("127.0.0.1:{port}"));
    let n = m.notify();
    assert_eq!(n["params"][2], Difficulty::from_u64(1000).unwrap().target().to_hex64());
    assert_fresh_reissue(&n, &m.notify());
}

#[test]
fn two_nodes_one_dead() {
    let dead = format!("http://127.0.0.1:{}/json_rpc", free_port());
    let (_node, live) = node("127.0.0.1:0");
    let (_pool, addr) = pool(&[&dead, &live], "1000");
    let mut m = Miner::connect(addr);
    m.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]));
    assert_eq!(m.call(2, "mining.authorize", json!([miner_login("rig1"), "x"]))["result"], true);
    let n = m.notify();
    let header = MinerWork::from_hex(n["params"][1].as_str().unwrap()).unwrap();
    let target = Difficulty::from_u64(1000).unwrap().target();
    let before = node_height(&live);
    let good = find_nonce(&header, &target, true, 0);
    let r = m.call(
        3,
        "mining.submit",
        json!([miner_login("rig1"), n["params"][0], "00000000", hex::encode(good.to_be_bytes())]),
    );
    assert_eq!(r["result"], true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while node_height(&live) == before {
        assert!(Instant::now() < deadline, "the live node never got the block");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn junk_submitters_are_banned_and_refused() {
    let (_node, url) = node("127.0.0.1:0");
    let (_pool, addr) = pool(&[&url], "1000");
    let mut m = Miner::connect(addr);
    m.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]));
    assert_eq!(m.call(2, "mining.authorize", json!([miner_login("rig1"), "x"]))["result"], true);
    let n = m.notify();
    let job = n["params"][0].as_str().unwrap().to_owned();
    // 50 shares, all the same nonce after the first: duplicates are invalid (stale would not count).
    let mut banned_after = None;
    for i in 0..60u64 {
        let sent = m.try_send(&json!({"id": 100 + i, "method": "mining.submit", "params": [miner_login("rig1"), job, "00000000", "00000000000000aa"]}).to_string());
        if !sent || m.line().is_none() {
            banned_after = Some(i);
            break;
        }
    }
    assert!(banned_after.is_some_and(|i| i >= 49), "banned after the 50-share window: {banned_after:?}");
    // The IP is refused from now on: the connection closes without a reply.
    let mut again = Miner::connect(addr);
    let _ = again.try_send(r#"{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}"#);
    assert_eq!(again.line(), None);
}

#[test]
fn stratum_over_tls() {
    let (_node, url) = node("127.0.0.1:0");
    let dir = std::env::temp_dir().join(format!("tos-pool-tls-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let extra = format!(
        "tls_listen = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}",
        cert_path.to_str().unwrap(),
        key_path.to_str().unwrap()
    );
    let (_pool, rx, _) = pool_with(&[&url], "1000", &extra, 100);
    let tls_addr: SocketAddr = wait_for(&rx, "stratum tls listening on ").trim().parse().unwrap();

    // A strict client (as tosminer is by default): it trusts only this certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(tls_addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    let mut exchange = |line: &str| -> Vec<Value> {
        tls.get_mut().write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut s = String::new();
        tls.read_line(&mut s).unwrap();
        let mut out = vec![serde_json::from_str(&s).unwrap()];
        if line.contains("authorize") {
            s.clear();
            tls.read_line(&mut s).unwrap();
            out.push(serde_json::from_str(&s).unwrap());
        }
        out
    };
    let sub = exchange(r#"{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}"#);
    assert_eq!(sub[0]["result"][1], "00000000");
    let auth = exchange(
        &json!({"id": 2, "method": "mining.authorize", "params": [miner_login("tls"), "x"]}).to_string(),
    );
    // After subscribe came set_difficulty; then the authorize reply; then the job.
    assert_eq!(auth[0]["method"], "mining.set_difficulty");
    assert_eq!(auth[1], json!({"id": 2, "result": true, "error": null}));
    let mut s = String::new();
    tls.read_line(&mut s).unwrap();
    let notify: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(notify["method"], "mining.notify");
    assert_eq!(notify["params"][1].as_str().unwrap().len(), 224);
}

#[test]
fn new_blocks_are_pushed_over_the_nodes_websocket() {
    let (_node, url) = node("127.0.0.1:0");
    // Polling once a minute: only the WebSocket push can bring the next job quickly.
    let (_pool, rx, _) = pool_with(&[&url], "1000", "", 60_000);
    let addr: SocketAddr = wait_for(&rx, "stratum listening on ").trim().parse().unwrap();
    let mut m = Miner::connect(addr);
    m.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]));
    assert_eq!(m.call(2, "mining.authorize", json!([miner_login("rig1"), "x"]))["result"], true);
    let first = m.notify();
    let height = first["params"][3].as_u64().unwrap();
    // Another party mines the block straight at the node (as if from the network).
    let template = rpc(&url, "get_block_template", json!({"address": pool_address()}))["result"]["template"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut t = pool_core::BlockTemplate::from_hex(&template).unwrap();
    t.nonce = 0;
    let mut h = TosHasher::new();
    let target = Difficulty::from_u64(1000).unwrap().target();
    let work = t.miner_work();
    let nonce = (0u64..).find(|&n| target.is_met_by(&h.hash(work.with_nonce(n).as_bytes()))).unwrap();
    let submitted = rpc(
        &url,
        "submit_block",
        json!({"block_template": template, "miner_work": work.with_nonce(nonce).to_hex()}),
    );
    assert_eq!(submitted["result"], true, "{submitted}");
    let started = Instant::now();
    loop {
        let n = m.notify();
        if n["params"][3].as_u64().unwrap() > height {
            assert_eq!(n["params"][4], true, "a new height is a clean job");
            break;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the push arrived long before the next poll");
}

#[test]
fn behind_a_proxy_bans_hit_the_real_client_not_the_balancer() {
    let (_node, url) = node("127.0.0.1:0");
    let (_pool, rx, _) = pool_with(&[&url], "1000", "proxy_protocol = true", 100);
    let addr: SocketAddr = wait_for(&rx, "stratum listening on ").trim().parse().unwrap();
    let via = |client: &str| {
        let mut m = Miner::connect(addr);
        assert!(m.try_send(&format!("PROXY TCP4 {client} 10.0.0.1 40000 3333\r")));
        m
    };
    // Client A submits junk until banned.
    let mut a = via("203.0.113.7");
    a.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]));
    assert_eq!(a.call(2, "mining.authorize", json!([miner_login("a"), "x"]))["result"], true);
    let job = a.notify()["params"][0].as_str().unwrap().to_owned();
    for i in 0..60u64 {
        let line = json!({"id": 100 + i, "method": "mining.submit", "params": ["a", job, "00000000", "00000000000000aa"]});
        if !a.try_send(&line.to_string()) || a.line().is_none() {
            break;
        }
    }
    // A is refused; client B, through the same balancer, is served.
    let mut a2 = via("203.0.113.7");
    let _ = a2.try_send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#);
    assert_eq!(a2.line(), None, "the real client is banned");
    let mut b = via("198.51.100.20");
    assert!(
        b.call(1, "mining.subscribe", json!(["tosminer/1.0.0"]))["result"].is_array(),
        "another client is not"
    );
    // Without a header the connection is closed.
    let mut raw = Miner::connect(addr);
    let _ = raw.try_send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#);
    assert_eq!(raw.line(), None);
}

#[test]
fn devnet_shows_accepted_shares_and_blocks_within_a_minute() {
    // The README's run command, shortened: node + pool + two demo miners in one process.
    let (_p, rx) = spawn_lines(&[
        "devnet",
        "--stratum",
        "127.0.0.1:0",
        "--node-rpc",
        "127.0.0.1:0",
        "--wallet-rpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--seconds",
        "20",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else { break };
        if line.contains("shares accepted") {
            last = line;
            let num = |key: &str| -> u64 {
                let at = last.find(key).unwrap() + key.len();
                last[at..].split_whitespace().next().unwrap().parse().unwrap()
            };
            if num("shares accepted ") > 0 && num("accepted by node ") > 0 {
                assert_eq!(num("rejected "), 0, "{last}");
                return;
            }
        }
    }
    panic!("no accepted shares and blocks within a minute; last status: {last:?}");
}
