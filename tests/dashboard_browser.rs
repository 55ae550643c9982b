//! The dashboard in a real browser: headless Debian `chromium`, driven over the DevTools protocol
//! (a WebSocket; no chromedriver). It opens the dashboard of a `tos-pool devnet` (the binary, every
//! port chosen by the OS), waits for live data over the pool's WebSocket, checks the key elements
//! at desktop (1280 px) and phone (390 px) width, and saves screenshots under `target/tmp/`.
//! The operator page is checked against a stand-in for the admin API serving the same dashboard
//! router (the agreed contract: `GET /admin/v1/status`, `POST /admin/v1/verifier` with a bearer key).
//!
//! Skipped when chromium is absent, unless `TOS_POOL_REQUIRE_CHROMIUM=1` (CI), which fails instead.

use axum::Json;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn chromium() -> Option<PathBuf> {
    let path =
        PathBuf::from(std::env::var("TOS_POOL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("TOS_POOL_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("chromium is required (TOS_POOL_REQUIRE_CHROMIUM=1) but {} is missing", path.display());
    }
    eprintln!(
        "SKIPPED ({} missing: apt-get install chromium; TOS_POOL_REQUIRE_CHROMIUM=1 fails instead)",
        path.display()
    );
    None
}

/// Children killed on drop (also when an assertion fails).
struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `tos-pool devnet` on OS-chosen ports; returns the dashboard URL and the Stratum address.
fn devnet(kill: &mut Kill) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tos-pool"))
        .args([
            "devnet",
            "--stratum",
            "127.0.0.1:0",
            "--node-rpc",
            "127.0.0.1:0",
            "--wallet-rpc",
            "127.0.0.1:0",
        ])
        .args(["--http", "127.0.0.1:0", "--seconds", "300", "--demo-miners", "2"])
        .arg("--data-dir")
        .arg(scratch("browser-devnet"))
        .env("TOS_POOL_VERIFIER", "cpu")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tos-pool binary starts");
    let out = BufReader::new(child.stdout.take().unwrap());
    kill.0.push(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut dashboard, mut stratum) = (None, None);
    while dashboard.is_none() || stratum.is_none() {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("devnet prints its addresses");
        if let Some(u) = line.strip_prefix("dashboard: ") {
            dashboard = Some(u.trim().to_owned());
        }
        if let Some(a) = line.strip_prefix("stratum listening on ") {
            stratum = Some(a.trim().to_owned());
        }
    }
    (dashboard.unwrap(), stratum.unwrap())
}

/// Launches headless chromium; returns its DevTools browser WebSocket URL.
fn launch(path: &PathBuf, kill: &mut Kill) -> String {
    let profile = scratch("browser-profile");
    let mut cmd = Command::new(path);
    cmd.args(["--headless=new", "--remote-debugging-port=0", "--disable-gpu", "--no-first-run"])
        .args(["--no-default-browser-check", "--disable-extensions", "--disable-background-networking"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.arg("--no-sandbox"); // chromium refuses to run as root with its sandbox
    }
    cmd.arg("about:blank");
    let mut child = cmd.spawn().expect("chromium starts");
    let err = BufReader::new(child.stderr.take().unwrap());
    kill.0.push(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            if let Some(i) = line.find("DevTools listening on ") {
                let _ = tx.send(line[i + "DevTools listening on ".len()..].trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("chromium prints its DevTools address")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A DevTools protocol session on one page.
struct Cdp {
    ws: Socket,
    next: u64,
    session: Option<String>,
}

impl Cdp {
    async fn connect(url: &str) -> Cdp {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("DevTools WebSocket");
        Cdp { ws, next: 0, session: None }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::Text(msg.to_string().into())).await.unwrap();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer"))
                .expect("open")
                .expect("no error");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    async fn open_page(&mut self) {
        let t = self.call("Target.createTarget", json!({"url": "about:blank"})).await;
        let s = self.call("Target.attachToTarget", json!({"targetId": t["targetId"], "flatten": true})).await;
        self.session = Some(s["sessionId"].as_str().unwrap().to_owned());
        self.call("Page.enable", json!({})).await;
        self.call("Runtime.enable", json!({})).await;
    }

    async fn width(&mut self, width: u32, height: u32, mobile: bool) {
        let m = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
        self.call("Emulation.setDeviceMetricsOverride", m).await;
    }

    async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is `true`.
    async fn wait_for(&mut self, expr: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let v = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true})).await;
            if v["result"]["value"] == json!(true) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {expr}: {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn screenshot(&mut self, name: &str) -> PathBuf {
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}))
            .await;
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }
}

/// The page's key elements, read in one go.
const PROBE: &str = r#"(() => {
  const q = (s) => document.querySelector(s);
  const pl = q('#hashrate-chart polyline');
  return {
    live: q('#live-status').dataset.state,
    hashrate: q('#pool-hashrate').textContent,
    miners: q('#pool-miners').textContent,
    network: q('#net-info').textContent,
    chart_points: pl ? pl.getAttribute('points').trim().split(' ').length : 0,
    block_rows: document.querySelectorAll('#overview-blocks tbody tr').length,
    nav_links: [...document.querySelectorAll('#nav a')].filter((a) => a.getBoundingClientRect().width > 0).length,
    lookup_visible: q('#lookup-address').getBoundingClientRect().width > 0,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    card_columns: getComputedStyle(q('.cards')).gridTemplateColumns.split(' ').length,
  };
})()"#;

const LIVE: &str = "document.querySelector('#live-status').dataset.state === 'live' \
                    && !['–', '0 H/s'].includes(document.querySelector('#pool-hashrate').textContent) \
                    && document.querySelector('#pool-miners').textContent === '2 / 2'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_dashboard_is_live_at_desktop_and_phone_width() {
    let Some(chromium) = chromium() else { return };
    let mut kill = Kill(Vec::new());
    let (dashboard, stratum) = devnet(&mut kill);
    let browser = launch(&chromium, &mut kill);
    let mut cdp = Cdp::connect(&browser).await;
    cdp.open_page().await;

    // Desktop.
    cdp.width(1280, 900, false).await;
    cdp.goto(&dashboard).await;
    cdp.wait_for(LIVE, Duration::from_secs(60)).await;
    cdp.wait_for(
        "document.querySelectorAll('#overview-blocks tbody tr').length > 0",
        Duration::from_secs(60),
    )
    .await;
    cdp.wait_for(
        "(document.querySelector('#hashrate-chart').dataset.points|0) >= 2",
        Duration::from_secs(30),
    )
    .await;
    // A stats message arrives every 2 s on devnet: the page keeps updating without a reload.
    let updated = cdp.eval("document.querySelector('#stats-updated').textContent").await;
    let changed = format!("document.querySelector('#stats-updated').textContent !== {updated}");
    cdp.wait_for(&changed, Duration::from_secs(20)).await;
    let desk = cdp.eval(PROBE).await;
    eprintln!("desktop: {desk}");
    assert_eq!(desk["live"], "live");
    assert!(desk["chart_points"].as_u64().unwrap() >= 2, "{desk}");
    assert!(desk["block_rows"].as_u64().unwrap() >= 1, "{desk}");
    assert!(desk["network"].as_str().unwrap().contains("height"), "{desk}");
    assert_eq!(desk["nav_links"], 5);
    assert!(desk["card_columns"].as_u64().unwrap() >= 3, "{desk}");
    assert!(desk["overflow"].as_i64().unwrap() <= 0, "{desk}");
    cdp.screenshot("dashboard-desktop").await;

    // Getting started: the exact tosminer command for this pool's port.
    cdp.goto(&format!("{dashboard}#/start")).await;
    let port = stratum.rsplit(':').next().unwrap();
    let want = format!("tosminer --cpu -P stratum+tcp://127.0.0.1:{port} -u tst1");
    cdp.wait_for(
        &format!("document.querySelector('#start-command').textContent.startsWith({want:?})"),
        Duration::from_secs(20),
    )
    .await;

    // The operator page on the public listener says where it works.
    cdp.goto(&format!("{dashboard}#/operator")).await;
    cdp.wait_for(
        "document.querySelector('#operator-note').textContent.includes('admin address')",
        Duration::from_secs(20),
    )
    .await;

    // Phone.
    cdp.width(390, 844, true).await;
    cdp.goto(&format!("{dashboard}#/")).await;
    cdp.wait_for(LIVE, Duration::from_secs(60)).await;
    cdp.wait_for(
        "document.querySelectorAll('#overview-blocks tbody tr').length > 0",
        Duration::from_secs(30),
    )
    .await;
    let phone = cdp.eval(PROBE).await;
    eprintln!("phone: {phone}");
    assert_eq!(phone["live"], "live");
    assert_eq!(phone["nav_links"], 5, "the navigation wraps, it does not vanish");
    assert_eq!(phone["lookup_visible"], true);
    assert!(phone["overflow"].as_i64().unwrap() <= 0, "no sideways scrolling at 390 px: {phone}");
    assert!(phone["card_columns"].as_u64().unwrap() <= 2, "{phone}");
    cdp.screenshot("dashboard-phone").await;

    // Miner lookup at phone width: workers, balances, chart.
    let address = tos_pool::devnet::demo_address(0).to_string();
    cdp.eval(&format!(
        "document.querySelector('#lookup-address').value = {address:?}; document.querySelector('#lookup').requestSubmit(); true"
    ))
    .await;
    cdp.wait_for("!document.querySelector('#miner-body').hidden", Duration::from_secs(30)).await;
    cdp.wait_for("document.querySelectorAll('#miner-workers tbody tr').length > 0", Duration::from_secs(30))
        .await;
    cdp.wait_for("!!document.querySelector('#miner-chart polyline')", Duration::from_secs(30)).await;
    let worker = cdp.eval("document.querySelector('#miner-workers tbody td').textContent").await;
    assert_eq!(worker, "demo0");
    let overflow =
        cdp.eval("document.documentElement.scrollWidth - document.documentElement.clientWidth").await;
    assert!(overflow.as_i64().unwrap() <= 0, "the miner page fits 390 px: {overflow}");
    cdp.screenshot("dashboard-miner-phone").await;

    // A block's credits (the audit's numbers) once the unlocker has credited one.
    cdp.width(1280, 900, false).await;
    let credited = "fetch('/api/v1/blocks?limit=50').then((r) => r.json()).then((p) => \
                    (p.items.find((b) => b.status === 'immature' || b.status === 'mature') || {}).hash || '')";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let hash = loop {
        let h = cdp.eval(credited).await;
        if h.as_str().is_some_and(|h| !h.is_empty()) {
            break h.as_str().unwrap().to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no block was credited on devnet");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    cdp.goto(&format!("{dashboard}#/blocks/{hash}")).await;
    cdp.wait_for("document.querySelectorAll('#block-credits tbody tr').length > 0", Duration::from_secs(30))
        .await;
    cdp.wait_for("document.querySelectorAll('#blocks-table tbody tr').length > 0", Duration::from_secs(30))
        .await;
    cdp.screenshot("dashboard-block-credits").await;

    // The operator page against a stand-in admin API (the same dashboard router, merged).
    let (admin_url, seen) = fake_admin().await;
    cdp.width(1280, 900, false).await;
    cdp.goto(&format!("{admin_url}/#/operator")).await;
    cdp.wait_for(
        "document.querySelector('#operator-note').textContent.includes('Enter an admin API key')",
        Duration::from_secs(20),
    )
    .await;
    cdp.eval("document.querySelector('#operator-key').value = 'k-123'; document.querySelector('#operator-key-form').requestSubmit(); true")
        .await;
    cdp.wait_for("!document.querySelector('#operator-body').hidden", Duration::from_secs(20)).await;
    cdp.wait_for(
        "document.querySelector('#op-verifier-mode').textContent === 'auto'",
        Duration::from_secs(20),
    )
    .await;
    cdp.wait_for("document.querySelectorAll('#op-nodes tbody tr').length === 2", Duration::from_secs(20))
        .await;
    cdp.eval("document.querySelector('#op-verifier-buttons [data-mode=cpu]').click(); true").await;
    cdp.wait_for(
        "document.querySelector('#op-verifier-mode').textContent === 'cpu'",
        Duration::from_secs(20),
    )
    .await;
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts, vec![("Bearer k-123".to_owned(), json!({"mode": "cpu"}))]);
    let key_kept = cdp
        .eval("sessionStorage.getItem('tos-pool-admin-key') === 'k-123' && localStorage.length === 0")
        .await;
    assert_eq!(key_kept, true);
    cdp.screenshot("dashboard-operator").await;
    drop(kill);
}

/// A stand-in for the admin listener: the dashboard plus the two admin endpoints the page uses.
async fn fake_admin() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let mode = Arc::new(Mutex::new("auto".to_owned()));
    let authorized =
        |h: &HeaderMap| h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer k-123");
    let (m1, m2, s2) = (mode.clone(), mode.clone(), seen.clone());
    let app = tos_pool::http::dashboard_router()
        .route(
            "/admin/v1/status",
            get(move |h: HeaderMap| {
                let m = m1.lock().unwrap().clone();
                async move {
                    if !authorized(&h) {
                        return (
                            axum::http::StatusCode::UNAUTHORIZED,
                            Json(json!({"error": "missing or wrong key"})),
                        );
                    }
                    (
                        axum::http::StatusCode::OK,
                        Json(json!({
                            "verifier": {"mode": m, "using_gpu": m != "cpu", "gpu": "llvmpipe (test)"},
                            "nodes": [{"url": "http://a/json_rpc", "healthy": true, "topoheight": 10},
                                      {"url": "http://b/json_rpc", "healthy": false, "topoheight": 3}],
                            "spool": {"depth": 0, "in_outage": false}
                        })),
                    )
                }
            }),
        )
        .route(
            "/admin/v1/verifier",
            post(move |h: HeaderMap, Json(body): Json<Value>| {
                let auth = h.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                s2.lock().unwrap().push((auth, body.clone()));
                *m2.lock().unwrap() = body["mode"].as_str().unwrap_or("auto").to_owned();
                async move { Json(json!({"mode": body["mode"]})) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}
