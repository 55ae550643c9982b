//! Prometheus metrics: `GET /metrics` in the text exposition format 0.0.4, rendered by hand from
//! the counters the pool already keeps (atomics and lock-free histograms: a scrape never holds up
//! a share) plus two small `GROUP BY` queries on the ledger (blocks and payouts by state).
//!
//! Latencies are exported in seconds as Prometheus expects; they are measurements, never money.

use crate::ledger::Ledger;
use crate::node::Upstreams;
use crate::on_db;
use crate::share_stage::ShareStageHandle;
use crate::stats::{PoolStats, REJECTIONS, rejection_label};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use pool_core::VerifyEngine;
use pool_core::histogram::HistogramSnapshot;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the metrics are read from (cheap to clone; every field is shared with the running pool).
#[derive(Clone)]
pub struct MetricsSource {
    pub stats: Arc<PoolStats>,
    pub engine: Arc<VerifyEngine>,
    pub stage: ShareStageHandle,
    pub upstreams: Upstreams,
    pub ledger: Option<Arc<Ledger>>,
}

impl MetricsSource {
    pub fn of(pool: &crate::pool::Pool) -> Self {
        MetricsSource {
            stats: pool.stats.clone(),
            engine: pool.engine.clone(),
            stage: pool.ctx.stage.clone(),
            upstreams: pool.upstreams.clone(),
            ledger: pool.ledger.clone(),
        }
    }
}

/// `GET /metrics`.
pub fn metrics_router(source: MetricsSource) -> Router {
    Router::new().route("/metrics", get(serve)).with_state(source)
}

async fn serve(State(source): State<MetricsSource>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&source).await)
}

/// A text exposition being written: one `# HELP` / `# TYPE` per family, then its samples.
#[derive(Default)]
struct Exposition {
    out: String,
}

/// A label value escaped as the format requires (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', r#"\""#).replace('\n', r"\n")
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            let _ = write!(self.out, "{{{}}}", body.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// One counter or gauge family with a single unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A histogram's samples (the family header written by the caller); `scale` divides the
    /// recorded unit into the exported one (µs → s: 1e6).
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot, scale: f64) {
        let bucket = format!("{name}_bucket");
        for (bound, count) in h.bounds.iter().zip(h.cumulative()) {
            let le = format!("{}", *bound as f64 / scale);
            let mut l = labels.to_vec();
            l.push(("le", &le));
            self.sample(&bucket, &l, count);
        }
        let mut l = labels.to_vec();
        l.push(("le", "+Inf"));
        self.sample(&bucket, &l, h.count);
        self.sample(&format!("{name}_sum"), labels, h.sum as f64 / scale);
        self.sample(&format!("{name}_count"), labels, h.count);
    }
}

/// Counts by a text column (`blocks.status`, `payout_batches.status`).
async fn counts_by_status(ledger: &Ledger, table: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let q =
        sqlx::AssertSqlSafe(format!("SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status"));
    on_db!(ledger.db(), |p| sqlx::query_as::<_, (String, i64)>(q).fetch_all(p).await)
}

/// The whole exposition.
pub async fn render(s: &MetricsSource) -> String {
    let mut x = Exposition::default();
    let st = &s.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);

    x.family("tos_pool_shares_total", "counter", "Shares judged, by result (accepted or the rejection).");
    x.sample("tos_pool_shares_total", &[("result", "accepted")], st.accepted());
    for r in REJECTIONS {
        x.sample("tos_pool_shares_total", &[("result", rejection_label(r))], st.rejected(r));
    }
    x.single(
        "tos_pool_race_credited_total",
        "counter",
        "Shares credited on the previous issue after the job race.",
        load(&st.race_credited),
    );
    x.family("tos_pool_blocks_found_total", "counter", "Block-grade shares found, by submission outcome.");
    x.sample("tos_pool_blocks_found_total", &[("outcome", "found")], load(&st.blocks_found));
    x.sample("tos_pool_blocks_found_total", &[("outcome", "accepted")], load(&st.blocks_accepted));
    x.sample("tos_pool_blocks_found_total", &[("outcome", "failed")], load(&st.blocks_failed));
    x.single("tos_pool_connections", "gauge", "Open Stratum connections.", load(&st.connections));
    x.family("tos_pool_connections_refused_total", "counter", "Connections refused, by reason.");
    x.sample("tos_pool_connections_refused_total", &[("reason", "banned")], load(&st.refused_banned));
    x.sample(
        "tos_pool_connections_refused_total",
        &[("reason", "over_per_ip_cap")],
        load(&st.refused_over_cap),
    );
    x.single("tos_pool_bans_total", "counter", "Sources banned automatically.", load(&st.bans));
    x.single(
        "tos_pool_share_queue_depth",
        "gauge",
        "Shares waiting for the share stage.",
        s.stage.queue_depth(),
    );

    // The verifier.
    let status = s.engine.status();
    let es = &status.stats;
    x.family("tos_pool_verifier_batches_total", "counter", "Batches verified, by backend.");
    x.sample("tos_pool_verifier_batches_total", &[("backend", "cpu")], es.cpu_batches);
    x.sample("tos_pool_verifier_batches_total", &[("backend", "gpu")], es.gpu_batches);
    x.family(
        "tos_pool_verifier_shares_total",
        "counter",
        "Shares hashed, by backend (its rate is the throughput).",
    );
    x.sample("tos_pool_verifier_shares_total", &[("backend", "cpu")], es.cpu_shares);
    x.sample("tos_pool_verifier_shares_total", &[("backend", "gpu")], es.gpu_shares);
    let t = s.engine.timings();
    x.family("tos_pool_verify_batch_seconds", "histogram", "Time to verify one batch, by backend.");
    x.histogram("tos_pool_verify_batch_seconds", &[("backend", "cpu")], &t.cpu_batch_us, 1e6);
    x.histogram("tos_pool_verify_batch_seconds", &[("backend", "gpu")], &t.gpu_batch_us, 1e6);
    x.family("tos_pool_verify_batch_shares", "histogram", "Shares per verified batch.");
    x.histogram("tos_pool_verify_batch_shares", &[], &t.batch_shares, 1.0);
    x.single(
        "tos_pool_gpu_rechecked_total",
        "counter",
        "GPU hashes re-checked on the CPU.",
        es.gpu_rechecked,
    );
    x.single(
        "tos_pool_gpu_mismatches_total",
        "counter",
        "GPU hashes that disagreed with the CPU (spot checks, blocks, would-be rejections).",
        es.gpu_mismatches,
    );
    x.single(
        "tos_pool_gpu_failures_total",
        "counter",
        "GPU batches that failed or timed out.",
        es.gpu_failures,
    );
    x.family("tos_pool_reverified_batches_total", "counter", "Batches verified again on the CPU, by cause.");
    x.sample("tos_pool_reverified_batches_total", &[("by", "engine")], es.reverified_batches);
    x.sample("tos_pool_reverified_batches_total", &[("by", "share_stage")], load(&st.batches_reverified));
    x.single(
        "tos_pool_verifier_using_gpu",
        "gauge",
        "1 when batches go to the GPU now.",
        u8::from(status.using_gpu),
    );
    x.single(
        "tos_pool_gpu_out_of_service",
        "gauge",
        "1 when the GPU was taken out of service.",
        u8::from(status.gpu_out_of_service.is_some()),
    );
    x.family("tos_pool_verifier_mode", "gauge", "The operator's verifier mode (1 on the mode in force).");
    for m in ["auto", "gpu", "cpu"] {
        x.sample("tos_pool_verifier_mode", &[("mode", m)], u8::from(status.mode.to_string() == m));
    }

    // Upstream nodes.
    let nodes = s.upstreams.status();
    x.family("tos_pool_node_up", "gauge", "1 when the upstream node answers and can serve this pool.");
    for n in &nodes {
        x.sample("tos_pool_node_up", &[("url", &n.url)], u8::from(n.healthy && n.refused.is_none()));
    }
    x.family("tos_pool_node_topoheight", "gauge", "The upstream node's topoheight at its last check.");
    for n in &nodes {
        x.sample("tos_pool_node_topoheight", &[("url", &n.url)], n.topoheight);
    }

    // The ledger.
    if let Some(l) = &s.ledger {
        let ls = &l.stats;
        x.single(
            "tos_pool_spool_depth",
            "gauge",
            "Records waiting in the spool for the database.",
            l.spooled(),
        );
        x.single(
            "tos_pool_database_outage",
            "gauge",
            "1 while the database is unreachable.",
            u8::from(l.in_outage()),
        );
        x.family("tos_pool_database_commit_seconds", "summary", "Time to commit one group of share batches.");
        x.sample("tos_pool_database_commit_seconds_sum", &[], load(&ls.commit_us) as f64 / 1e6);
        x.sample("tos_pool_database_commit_seconds_count", &[], load(&ls.commits));
        x.single(
            "tos_pool_spooled_batches_total",
            "counter",
            "Share batches written to the spool.",
            load(&ls.spooled_batches),
        );
        for (table, name, help) in [
            ("blocks", "tos_pool_blocks", "Blocks in the ledger, by state."),
            ("payout_batches", "tos_pool_payout_batches", "Payout batches in the ledger, by state."),
        ] {
            match counts_by_status(l, table).await {
                Ok(rows) => {
                    x.family(name, "gauge", help);
                    for (state, n) in rows {
                        x.sample(name, &[("state", &state)], n);
                    }
                }
                Err(e) => tracing::debug!(error = %e, table, "metrics: cannot count by state"),
            }
        }
    }
    x.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut x = Exposition::default();
        x.sample("m", &[("url", "a\"b\\c\nd")], 1);
        assert_eq!(x.out, "m{url=\"a\\\"b\\\\c\\nd\"} 1\n");
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let h = pool_core::histogram::Histogram::new(&[1_000, 10_000]);
        h.record(500);
        h.record(20_000);
        let mut x = Exposition::default();
        x.histogram("t", &[("backend", "cpu")], &h.snapshot(), 1e6);
        assert_eq!(
            x.out,
            "t_bucket{backend=\"cpu\",le=\"0.001\"} 1\nt_bucket{backend=\"cpu\",le=\"0.01\"} 1\n\
             t_bucket{backend=\"cpu\",le=\"+Inf\"} 2\nt_sum{backend=\"cpu\"} 0.0205\nt_count{backend=\"cpu\"} 2\n"
        );
    }
}
