//! The admin API (issue 9) on its own listener, on SQLite and PostgreSQL: key checks (missing,
//! wrong, revoked), bans by IP and by address taking effect, payouts and the dry run, the
//! redacted configuration, hostile path parameters, every action recorded; the runtime verifier
//! switch taking effect on the next batch; the `tos-pool admin` commands.

mod support;

use pool_core::hash::Hash;
use pool_core::{BackendMode, CpuImpl, CpuVerifier, MinerWork, VerifyBackend, VerifyEngine, VerifyError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::db::{Backend, TestDb};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tos_pool::admin::keys;
use tos_pool::config::{AdminSection, WebhookSection};
use tos_pool::devnet::node::DevnetNode;
use tos_pool::pool::{Pool, Tuning};

const SECRET: &str = "s3cret-webhook-token";

fn admin_config(node: &Node) -> tos_pool::config::Config {
    let mut cfg = config(&[node.url()], "1");
    cfg.admin = Some(AdminSection { listen: "127.0.0.1:0".parse().unwrap() });
    // Tokens where services put them: the query, the path (chat webhooks), the user part.
    let hook = |url: String| WebhookSection {
        url,
        events: vec!["node_down".into()],
        timeout_ms: 1_000,
        max_attempts: 1,
    };
    cfg.webhooks = vec![
        hook(format!("http://127.0.0.1:9/hook?token={SECRET}")),
        hook(format!("http://127.0.0.1:9/api/webhooks/1/{SECRET}")),
        hook(format!("http://{SECRET}@127.0.0.1:9/")),
    ];
    cfg
}

struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    fn new(addr: SocketAddr) -> Admin {
        let tls = tos_pool::node::client::tls_config(None).unwrap();
        Admin {
            http: tos_pool::node::client::http_client(Duration::from_secs(10), tls),
            base: format!("http://{addr}"),
        }
    }

    /// Status and JSON body of `method path` with `key` (None: no Authorization header).
    async fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut rb = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("the admin API answers");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text:?}"));
        (status, v)
    }
}

/// A connection from 127.0.0.1 over TCP (the ban check is at accept): true if the pool answers.
async fn tcp_pool_answers(pool: &Pool) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(pool.stratum_addr).await else { return false };
    let line =
        json!({"id": 1, "method": "mining.subscribe", "params": ["tosminer/1.0.0"]}).to_string() + "\n";
    if s.write_all(line.as_bytes()).await.is_err() {
        return false;
    }
    let mut lines = BufReader::new(s).lines();
    matches!(tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await, Ok(Ok(Some(_))))
}

async fn scenario(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let node = Node::start(DevnetNode::new()).await;
    let ledger = db.ledger().await;
    let cfg = admin_config(&node).check().unwrap();
    let pool = Pool::start(&cfg, ledger.clone()).await.unwrap();
    let admin = Admin::new(pool.admin_addr.expect("[admin] is served"));
    let key = keys::create(ledger.db(), "ops", 1).await.unwrap().key;

    // Keys: missing, wrong, revoked → 401 with a JSON error; the right one → 200.
    let (s, v) = admin.call("GET", "/admin/v1/status", None, None).await;
    assert_eq!((s, v["status"].as_u64()), (401, Some(401)), "{v}");
    assert!(v["error"].as_str().unwrap().contains("missing"), "{v}");
    let (s, v) = admin.call("GET", "/admin/v1/status", Some("tpk_wrong"), None).await;
    assert_eq!(s, 401, "{v}");
    let (s, v) = admin.call("GET", "/admin/v1/status", Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["verifier"]["mode"], "cpu");
    assert_eq!(v["verifier"]["using_gpu"], false);
    assert_eq!(v["verifier"]["gpu"]["state"], "absent");
    assert_eq!(v["nodes"][0]["url"], node.url());
    assert_eq!(v["nodes"][0]["healthy"], true);
    assert_eq!(v["spool"], json!({"depth": 0, "in_outage": false}));
    let spare = keys::create(ledger.db(), "spare", 2).await.unwrap().key;
    keys::revoke(ledger.db(), "spare", 3).await.unwrap();
    let (s, v) = admin.call("GET", "/admin/v1/status", Some(&spare), None).await;
    assert_eq!(s, 401);
    assert!(v["error"].as_str().unwrap().contains("revoked"), "{v}");
    // Unknown routes need the key too, then are a JSON 404.
    assert_eq!(admin.call("GET", "/admin/v1/nope", None, None).await.0, 401);
    assert_eq!(admin.call("GET", "/admin/v1/nope", Some(&key), None).await.0, 404);
    // Another origin's page is refused even with the key.
    let r = admin
        .http
        .get(format!("{}/admin/v1/status", admin.base))
        .bearer_auth(&key)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // Bans by IP: refused at connect, then allowed again.
    assert!(tcp_pool_answers(&pool).await);
    let (s, v) = admin
        .call("POST", "/admin/v1/bans", Some(&key), Some(json!({"ip": "127.0.0.1", "duration_secs": 600})))
        .await;
    assert_eq!((s, v["ip"].as_str()), (200, Some("127.0.0.1")), "{v}");
    assert!(!tcp_pool_answers(&pool).await, "a banned IP is refused at connect");
    let (_, v) = admin.call("GET", "/admin/v1/bans", Some(&key), None).await;
    assert_eq!(v["ips"][0]["ip"], "127.0.0.1");
    let (s, _) = admin.call("DELETE", "/admin/v1/bans/127.0.0.1", Some(&key), None).await;
    assert_eq!(s, 200);
    assert!(tcp_pool_answers(&pool).await, "unbanned");

    // Bans by address: authorize is refused, then allowed again.
    let address = login("rig").split('.').next().unwrap().to_owned();
    let (s, v) = admin.call("POST", "/admin/v1/bans", Some(&key), Some(json!({"address": address}))).await;
    assert_eq!(s, 200, "{v}");
    let mut m = Client::connect(&pool);
    assert!(m.call(1, "mining.subscribe", json!(["tosminer/1.0.0"])).await["result"].is_array());
    let r = m.call(2, "mining.authorize", json!([login("rig"), "x"])).await;
    assert!(r["error"].to_string().contains("banned"), "{r}");
    let (s, _) = admin.call("DELETE", &format!("/admin/v1/bans/{address}"), Some(&key), None).await;
    assert_eq!(s, 200);
    let mut m = Client::connect(&pool);
    m.login("rig").await;
    let (s, v) = admin.call("DELETE", &format!("/admin/v1/bans/{address}"), Some(&key), None).await;
    assert_eq!(s, 404, "not banned any more: {v}");

    // Hostile path parameters and bodies: 4xx with a JSON error, never a 500.
    for path in [
        "/admin/v1/bans/..%2F..%2Fetc%2Fpasswd",
        "/admin/v1/bans/%00",
        "/admin/v1/bans/%ZZ",
        "/admin/v1/bans/'%3B%20DROP%20TABLE%20admin_keys%3B--",
        "/admin/v1/bans/tos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "/admin/v1/bans/999.1.1.1",
        &format!("/admin/v1/bans/{}", "a".repeat(5000)),
        "/admin/v1/bans/%F0%9F%92%A9",
    ] {
        let (s, v) = admin.call("DELETE", path, Some(&key), None).await;
        assert!((400..500).contains(&s), "{path}: {s} {v}");
        assert!(v["error"].is_string(), "{path}: {v}");
    }
    for body in [
        json!({"target": "nonsense"}),
        json!({"ip": "10.0.0.1", "duration_secs": 0}),
        json!({"bogus": 1}),
        json!([1]),
    ] {
        let (s, v) = admin.call("POST", "/admin/v1/bans", Some(&key), Some(body.clone())).await;
        assert!(s == 400 && v["error"].is_string(), "{body}: {s} {v}");
    }
    let (s, v) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "fpga"}))).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "gpu"}))).await;
    assert_eq!(s, 409, "no GPU on this engine: {v}");

    // Payouts and the dry run.
    let (s, v) = admin.call("GET", "/admin/v1/payouts", Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["pending"].is_array() && v["recent"].is_array());
    assert_eq!(v["summary"]["paid"], "0");
    let (s, v) = admin.call("POST", "/admin/v1/payouts/dry-run", Some(&key), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["dry_run"].as_bool(), v["wallet"]["state"].as_str()), (Some(true), Some("not_configured")));
    assert!(v["batches"].as_array().unwrap().is_empty(), "nothing owed yet: {v}");

    // The configuration, secrets redacted.
    let (s, v) = admin.call("GET", "/admin/v1/config", Some(&key), None).await;
    assert_eq!(s, 200);
    let text = v.to_string();
    assert!(!text.contains(SECRET) && !text.contains(&key), "{text}");
    assert_eq!(v["pool"]["network"], "devnet");
    for i in 0..3 {
        assert_eq!(v["webhooks"][i]["url"], "http://127.0.0.1:9/[redacted]", "{i}");
    }

    // Every action was recorded under the key's name, never the key.
    let actions = tos_pool::admin::actions::recent(ledger.db(), 100).await.unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a.2.as_str()).collect();
    for a in ["ban", "unban", "payouts_dry_run"] {
        assert!(names.contains(&a), "{a} in {names:?}");
    }
    assert!(actions.iter().all(|a| a.1 == "ops" && !a.3.contains(&key)));

    // The keys cannot be read (here: their table is gone): the keys last read still decide.
    tos_pool::on_db!(ledger.db(), |p| sqlx::query("DROP TABLE admin_keys").execute(p).await.map(|_| ()))
        .unwrap();
    assert_eq!(admin.call("GET", "/admin/v1/status", Some(&key), None).await.0, 200);
    assert_eq!(admin.call("GET", "/admin/v1/status", Some(&spare), None).await.0, 401, "still revoked");
    assert_eq!(admin.call("GET", "/admin/v1/status", Some("tpk_wrong"), None).await.0, 401);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_postgres() {
    scenario(Backend::Postgres).await;
}

/// A "GPU" that hashes honestly on the CPU (a CPU-only machine's stand-in).
struct HonestGpu(CpuVerifier);

impl VerifyBackend for HonestGpu {
    fn describe(&self) -> String {
        "honest stand-in GPU".into()
    }
    fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
        self.0.hash_batch(headers)
    }
}

/// Submits the next share (not a block) on `w`.
async fn submit_share(m: &mut Client, w: &Work, next: &mut u64) -> Value {
    let net = pool_core::Difficulty::from_u64(tos_pool::devnet::node::MIN_DIFFICULTY).unwrap().target();
    let n = find_nonce(&w.header, &[], &[net], *next);
    *next = n + 1;
    m.submit(100 + n, &w.job, n).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_switch_takes_effect_on_the_next_batch() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let node = Node::start(DevnetNode::new()).await;
    let ledger = db.ledger().await;
    let cpu = Arc::new(CpuVerifier::new(1, CpuImpl::best()).unwrap());
    let gpu = Arc::new(HonestGpu(CpuVerifier::new(1, CpuImpl::best()).unwrap()));
    let engine = Arc::new(VerifyEngine::new(cpu, Some(gpu), BackendMode::Gpu, 100).unwrap());
    let cfg = admin_config(&node).check().unwrap();
    let pool = Pool::start_on(&cfg, ledger.clone(), Tuning::default(), Some(engine)).await.unwrap();
    let admin = Admin::new(pool.admin_addr.unwrap());
    let key = keys::create(ledger.db(), "ops", 1).await.unwrap().key;
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let mut next = 0;
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    let on_gpu = pool.engine.stats();
    assert_eq!((on_gpu.gpu_batches, on_gpu.cpu_batches), (1, 0), "{on_gpu:?}");

    let (s, v) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "cpu"}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["mode"].as_str(), v["using_gpu"].as_bool()), (Some("cpu"), Some(false)));
    assert_eq!(v["gpu"]["state"], "idle");
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    let st = pool.engine.stats();
    assert_eq!((st.gpu_batches, st.cpu_batches), (1, 1), "the next batch went to the CPU: {st:?}");

    let (s, v) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "gpu"}))).await;
    assert_eq!((s, v["using_gpu"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    let st = pool.engine.stats();
    assert_eq!((st.gpu_batches, st.cpu_batches), (2, 1), "and back to the GPU: {st:?}");
    let (_, v) = admin.call("GET", "/admin/v1/status", Some(&key), None).await;
    assert_eq!(v["verifier"]["stats"]["gpu_batches"], 2);
    let actions = tos_pool::admin::actions::recent(ledger.db(), 10).await.unwrap();
    assert_eq!(actions.iter().filter(|a| a.2 == "verifier").count(), 2);
    pool.shutdown().await;
}

fn tos_pool_cmd(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool")).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_manage_keys_and_switch_a_running_pool() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let url = db.url.clone();
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || tos_pool_cmd(&["admin", "create-key", "--name", "cli", "--database-url", &url])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key =
        stdout.lines().find(|l| l.starts_with(keys::KEY_PREFIX)).expect("the key is shown once").to_owned();

    let node = Node::start(DevnetNode::new()).await;
    let ledger = db.ledger().await;
    let pool = Pool::start(&admin_config(&node).check().unwrap(), ledger.clone()).await.unwrap();
    let admin_url = format!("http://{}", pool.admin_addr.unwrap());
    let key_file = db.dir.join("key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let run = |args: Vec<String>, env_key: Option<String>| {
        tokio::task::spawn_blocking(move || {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"));
            c.args(&args).env_remove("TOS_POOL_ADMIN_KEY");
            if let Some(k) = env_key {
                c.env("TOS_POOL_ADMIN_KEY", k);
            }
            c.output().unwrap()
        })
    };
    let args = |mode: &str, extra: &[&str]| {
        let mut v: Vec<String> =
            ["admin", "verifier", mode, "--admin-url", &admin_url].map(String::from).to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let out = run(args("auto", &[]), Some(key.clone())).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"mode\": \"auto\""));
    assert_eq!(pool.engine.mode(), BackendMode::Auto);
    let out = run(args("cpu", &["--key-file", key_file.to_str().unwrap()]), None).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(pool.engine.mode(), BackendMode::Cpu);
    let out = run(args("cpu", &[]), Some("tpk_wrong".into())).await.unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("401"));
    let out = run(args("fpga", &[]), Some(key.clone())).await.unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out =
        run(["admin", "list-keys", "--database-url", &url].map(String::from).to_vec(), None).await.unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains("cli") && listed.contains("active") && !listed.contains(&key), "{listed}");
    let out = run(
        ["admin", "revoke-key", "--name", "cli", "--database-url", &url].map(String::from).to_vec(),
        None,
    )
    .await
    .unwrap();
    assert!(out.status.success());
    let out = run(args("auto", &[]), Some(key.clone())).await.unwrap();
    assert!(!out.status.success(), "a revoked key is refused");
    pool.shutdown().await;
}

#[test]
fn devnet_creates_an_admin_key_file_readable_by_its_owner_only_and_never_prints_the_key() {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("tospool-admin-devnet-{}", std::process::id()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args([
            "devnet",
            "--stratum",
            "127.0.0.1:0",
            "--node-rpc",
            "127.0.0.1:0",
            "--wallet-rpc",
            "127.0.0.1:0",
        ])
        .args(["--admin", "127.0.0.1:0", "--demo-miners", "0", "--seconds", "6", "--data-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let admin_line = lines.by_ref().find(|l| l.contains("admin API http://")).expect("the admin line");
    let key_file = dir.join("admin.key");
    assert!(admin_line.contains(&key_file.display().to_string()), "{admin_line}");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_owned();
    assert!(key.starts_with(keys::KEY_PREFIX));
    let addr = admin_line.split("admin API http://").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (s, v) =
        rt.block_on(Admin::new(addr.parse().unwrap()).call("GET", "/admin/v1/status", Some(&key), None));
    assert_eq!(s, 200, "{v}");
    let rest: Vec<String> = lines.collect();
    assert!(child.wait().unwrap().success());
    assert!(!admin_line.contains(&key) && rest.iter().all(|l| !l.contains(&key)), "the key is never printed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_moves_batches_between_a_real_gpu_adapter_and_the_cpu() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let node = Node::start(DevnetNode::new()).await;
    let ledger = db.ledger().await;
    let mut cfg = admin_config(&node);
    cfg.verifier.backend = "gpu".into();
    cfg.verifier.allow_cpu_adapter = true; // lavapipe on machines without a GPU
    cfg.verifier.kernel = "lane".into(); // one kernel: no start-up race between two
    let pool = match Pool::start(&cfg.check().unwrap(), ledger.clone()).await {
        Ok(p) => p,
        Err(e) if std::env::var("TOS_POOL_REQUIRE_GPU").map_or(true, |v| v != "1") => {
            eprintln!("SKIPPED (no usable GPU adapter: {e:#}; set TOS_POOL_REQUIRE_GPU=1 to fail instead)");
            return;
        }
        Err(e) => panic!("TOS_POOL_REQUIRE_GPU=1 but the GPU verifier did not start: {e:#}"),
    };
    let admin = Admin::new(pool.admin_addr.unwrap());
    let key = keys::create(ledger.db(), "ops", 1).await.unwrap().key;
    let (_, v) = admin.call("GET", "/admin/v1/status", Some(&key), None).await;
    assert_eq!(
        (v["verifier"]["mode"].as_str(), v["verifier"]["gpu"]["state"].as_str()),
        (Some("gpu"), Some("in_use")),
        "{v}"
    );
    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let mut next = 0;
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    let st = pool.engine.stats();
    assert_eq!((st.gpu_batches, st.cpu_batches), (1, 0), "{st:?}");
    let (s, v) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "cpu"}))).await;
    assert_eq!((s, v["using_gpu"].as_bool()), (200, Some(false)), "{v}");
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    let st = pool.engine.stats();
    assert_eq!((st.gpu_batches, st.cpu_batches), (1, 1), "{st:?}");
    let (s, _) = admin.call("POST", "/admin/v1/verifier", Some(&key), Some(json!({"mode": "gpu"}))).await;
    assert_eq!(s, 200);
    assert_eq!(submit_share(&mut m, &w, &mut next).await["result"], true);
    assert_eq!(pool.engine.stats().gpu_batches, 2);
    pool.shutdown().await;
}
