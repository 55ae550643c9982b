//! Prometheus `/metrics` (issue 9) on the admin listener: every line is `# HELP`, `# TYPE` or
//! `name{labels} value`; the counts move when shares are judged; the ledger's families are there.

mod support;

use std::collections::HashMap;
use std::time::Duration;
use support::db::{Backend, TestDb};
use support::*;
use tos_pool::config::AdminSection;
use tos_pool::devnet::node::DevnetNode;
use tos_pool::pool::Pool;

/// Samples by `name{labels}`; panics on any line that is not valid exposition.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(rest.split_once(' ').is_some_and(|(n, h)| valid_name(n) && !h.is_empty()), "{line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(
                valid_name(name) && ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            assert!(typed.insert(name.to_owned()), "one TYPE per family: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line:?}"));
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(valid_name(name), "{line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in split_labels(&labels[1..labels.len() - 1]) {
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                assert!(valid_name(k) && v.starts_with('"') && v.ends_with('"') && v.len() >= 2, "{line}");
            }
        }
        let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(typed.contains(name) || typed.contains(family), "a sample before its TYPE: {line}");
        assert!(samples.insert(series.to_owned(), v).is_none(), "duplicate series: {line}");
    }
    samples
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with(|c: char| c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y,z"` → pairs (commas inside quotes kept).
fn split_labels(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_the_shares() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else { return };
    let node = Node::start(DevnetNode::new()).await;
    let mut cfg = config(&[node.url()], "1");
    cfg.admin = Some(AdminSection { listen: "127.0.0.1:0".parse().unwrap() });
    let pool = Pool::start(&cfg.check().unwrap(), db.ledger().await).await.unwrap();
    let url = format!("http://{}/metrics", pool.admin_addr.unwrap());
    let http = tos_pool::node::client::http_client(
        Duration::from_secs(10),
        tos_pool::node::client::tls_config(None).unwrap(),
    );
    let scrape = || async {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "no key needed for /metrics");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        parse(&r.text().await.unwrap())
    };
    let before = scrape().await;
    assert_eq!(before["tos_pool_shares_total{result=\"accepted\"}"], 0.0);
    assert_eq!(before[&format!("tos_pool_node_up{{url=\"{}\"}}", node.url())], 1.0);
    assert_eq!(before["tos_pool_spool_depth"], 0.0);
    assert_eq!(before["tos_pool_verifier_mode{mode=\"cpu\"}"], 1.0);

    let mut m = Client::connect(&pool);
    let w = m.login("rig").await;
    let net = pool_core::Difficulty::from_u64(tos_pool::devnet::node::MIN_DIFFICULTY).unwrap().target();
    let n = find_nonce(&w.header, &[], &[net], 0);
    assert_eq!(m.submit(10, &w.job, n).await["result"], true);
    assert_eq!(code(&m.submit(11, &w.job, n).await), 22, "a duplicate");
    let after = scrape().await;
    assert_eq!(after["tos_pool_shares_total{result=\"accepted\"}"], 1.0);
    assert_eq!(after["tos_pool_shares_total{result=\"duplicate\"}"], 1.0);
    assert!(
        after["tos_pool_verifier_shares_total{backend=\"cpu\"}"] >= 1.0,
        "the duplicate is caught before hashing"
    );
    assert!(after["tos_pool_verify_batch_seconds_count{backend=\"cpu\"}"] >= 1.0);
    assert_eq!(
        after["tos_pool_verify_batch_seconds_bucket{backend=\"cpu\",le=\"+Inf\"}"],
        after["tos_pool_verify_batch_seconds_count{backend=\"cpu\"}"]
    );
    assert!(after["tos_pool_verify_batch_shares_count"] >= 1.0);
    assert!(after["tos_pool_database_commit_seconds_count"] >= 1.0, "the accepted share was committed");
    assert_eq!(after["tos_pool_connections"], 0.0, "in-process clients are not TCP connections");
    assert!(after.contains_key("tos_pool_share_queue_depth"));
    assert!(after.contains_key("tos_pool_gpu_mismatches_total"));
    assert!(after.contains_key("tos_pool_reverified_batches_total{by=\"engine\"}"));
    pool.shutdown().await;
}
