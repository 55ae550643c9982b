//! Assembling a running pool from a checked configuration: verifier engine, upstream nodes, job
//! dispatcher, block submitter, share stage, Stratum listeners — every task under one
//! [`Lifecycle`] — and its ordered shutdown.

use crate::block_submitter::{self, RetryPolicy};
use crate::config::Checked;
use crate::events::EventBus;
use crate::job_dispatcher::{self, DispatchTiming, JobFeed};
use crate::ledger::Ledger;
use crate::ledger::leader;
use crate::ledger::tasks::{SingletonContext, singletons};
use crate::lifecycle::{Lifecycle, Phase};
use crate::log_limit::EventSummary;
use crate::node::Upstreams;
use crate::share_stage::{self, MemorySink, ShareSink, StageConfig};
use crate::stats::PoolStats;
use crate::stratum::{self, Context, StratumConfig};
use gpu_verify::{EngineOptions, GpuConfig, build_engine};
use pool_core::jobs::FreshnessRules;
use pool_core::policy::BanConfig;
use pool_core::vardiff::VardiffConfig;
use pool_core::{GpuTimeout, VerifyEngine};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often repeated events are summarised in the log.
const SUMMARY_EVERY: Duration = Duration::from_secs(30);

/// Settings that are not configuration: the benchmark lifts the abuse limits and vardiff.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tuning {
    pub bench: bool,
}

/// Where accepted shares go.
#[derive(Clone)]
pub enum Sink {
    /// In memory only (tests, benchmarks).
    Memory(Arc<MemorySink>),
    /// The ledger (PostgreSQL / SQLite): its background tasks run under the pool's lifecycle.
    Ledger(Arc<Ledger>),
}

impl Sink {
    fn share_sink(&self) -> Arc<dyn ShareSink> {
        match self {
            Sink::Memory(m) => m.clone(),
            Sink::Ledger(l) => l.clone(),
        }
    }
}

impl From<Arc<MemorySink>> for Sink {
    fn from(m: Arc<MemorySink>) -> Self {
        Sink::Memory(m)
    }
}

impl From<Arc<Ledger>> for Sink {
    fn from(l: Arc<Ledger>) -> Self {
        Sink::Ledger(l)
    }
}

/// A running pool.
pub struct Pool {
    pub stratum_addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    /// The admin API and `/metrics`, when `[admin]` is configured.
    pub admin_addr: Option<SocketAddr>,
    pub stats: Arc<PoolStats>,
    pub engine: Arc<VerifyEngine>,
    pub jobs: JobFeed,
    pub upstreams: Upstreams,
    pub ctx: Arc<Context>,
    pub ledger: Option<Arc<Ledger>>,
    /// What happens, as it happens (WebSocket feed, webhooks).
    pub bus: EventBus,
    sink: Arc<dyn ShareSink>,
    lifecycle: Lifecycle,
}

/// Serves the admin API (and `/metrics`) on `listen`; its keys live in the ledger.
#[allow(clippy::too_many_arguments)]
async fn start_admin(
    listen: SocketAddr,
    cfg: &Checked,
    ledger: &Option<Arc<Ledger>>,
    engine: &Arc<VerifyEngine>,
    upstreams: &Upstreams,
    ctx: &Arc<Context>,
    stats: &Arc<PoolStats>,
    lifecycle: &Lifecycle,
) -> anyhow::Result<SocketAddr> {
    let ledger = ledger
        .clone()
        .ok_or_else(|| anyhow::anyhow!("[admin] needs the database: its API keys are stored there"))?;
    let metrics = crate::metrics::MetricsSource {
        stats: stats.clone(),
        engine: engine.clone(),
        stage: ctx.stage.clone(),
        upstreams: upstreams.clone(),
        ledger: Some(ledger.clone()),
    };
    let state = crate::admin::AdminState {
        ledger,
        engine: engine.clone(),
        upstreams: upstreams.clone(),
        stratum: ctx.clone(),
        config: Arc::new(cfg.clone()),
        network: cfg.network,
        metrics,
        known_keys: Default::default(),
    };
    let (addr, task) = crate::admin::serve(listen, state, lifecycle.token(Phase::Accept)).await?;
    tracing::info!(%addr, "admin API listening (Bearer keys: tos-pool admin create-key)");
    println!("admin listening on {addr}");
    lifecycle.spawn(Phase::Accept, task);
    Ok(addr)
}

impl Pool {
    pub async fn start(cfg: &Checked, sink: impl Into<Sink>) -> anyhow::Result<Pool> {
        Self::start_with(cfg, sink, Tuning::default()).await
    }

    pub async fn start_with(cfg: &Checked, sink: impl Into<Sink>, tuning: Tuning) -> anyhow::Result<Pool> {
        Self::start_on(cfg, sink, tuning, None).await
    }

    /// Starts the pool on `engine` (tests hand in engines with faulty backends), or on the engine
    /// the configuration describes.
    pub async fn start_on(
        cfg: &Checked,
        sink: impl Into<Sink>,
        tuning: Tuning,
        engine: Option<Arc<VerifyEngine>>,
    ) -> anyhow::Result<Pool> {
        let sink: Sink = sink.into();
        let ledger = match &sink {
            Sink::Ledger(l) => Some(l.clone()),
            Sink::Memory(_) => None,
        };
        let sink = sink.share_sink();
        crate::fd_limit::raise();
        let epoch_ms = crate::clock::now_ms();
        let v = &cfg.raw.verifier;
        let engine = match engine {
            Some(e) => e,
            None => {
                let opts = EngineOptions {
                    mode: cfg.backend,
                    cpu_threads: v.cpu_threads,
                    gpu: GpuConfig {
                        max_batch: v.max_batch,
                        kernel: v.gpu_kernel()?,
                        allow_cpu_adapter: v.allow_cpu_adapter,
                        ..GpuConfig::default()
                    },
                    sample_every: v.sample_every,
                    ..EngineOptions::default()
                };
                tokio::task::spawn_blocking(move || build_engine(&opts)).await??.engine
            }
        };
        engine.set_gpu_timeout(GpuTimeout {
            base: Duration::from_millis(v.gpu_timeout_base_ms),
            per_share: Duration::from_micros(v.gpu_timeout_per_share_us),
        });
        let status = engine.status();
        tracing::info!(mode = %status.mode, using_gpu = status.using_gpu, cpu = %status.cpu, gpu = ?status.gpu, "share verifier ready");

        let lifecycle = Lifecycle::new();
        let bus = EventBus::default();
        if let Some(l) = &ledger {
            l.spawn_background(&lifecycle);
        }
        let stats = Arc::new(PoolStats::default());
        let events = Arc::new(EventSummary::default());
        let n = &cfg.raw.node;
        let tls = crate::node::client::tls_config(n.ca_file.as_deref())?;
        let upstreams = Upstreams::new(
            &n.urls,
            Duration::from_millis(n.timeout_ms),
            tls.clone(),
            cfg.address.clone(),
            cfg.network,
        );
        let health =
            upstreams.clone().health_loop(Duration::from_secs(5), lifecycle.token(Phase::Background));
        lifecycle.spawn(Phase::Background, health);
        let rules = FreshnessRules { max_age_ms: n.max_job_age_ms, ..FreshnessRules::default() };
        let timing = DispatchTiming {
            poll: Duration::from_millis(n.poll_ms),
            refresh_min: Duration::from_millis(n.job_refresh_min_ms),
            rules,
        };
        if let Some(l) = &ledger {
            let ctx = SingletonContext {
                ledger: l.clone(),
                upstreams: upstreams.clone(),
                config: cfg.clone(),
                bus: bus.clone(),
            };
            let tasks = singletons(&ctx)?;
            if !tasks.is_empty() {
                leader::spawn(&lifecycle, l.clone(), tasks);
            }
        }
        let (hooks, _) = crate::webhooks::tasks(
            &bus,
            &cfg.raw.webhooks,
            crate::webhooks::Backoff::default(),
            tls.clone(),
            lifecycle.token(Phase::Background),
        );
        for hook in hooks {
            lifecycle.spawn(Phase::Background, hook);
        }
        let jobs = job_dispatcher::spawn(&lifecycle, upstreams.clone(), tls, epoch_ms, timing);
        let blocks = block_submitter::spawn(
            &lifecycle,
            upstreams.clone(),
            sink.clone(),
            stats.clone(),
            jobs.refresh_now.clone(),
            RetryPolicy::default(),
            bus.clone(),
        );
        lifecycle.spawn(
            Phase::Background,
            crate::status_watch::run(
                engine.clone(),
                upstreams.clone(),
                bus.clone(),
                lifecycle.token(Phase::Background),
            ),
        );
        let stage = share_stage::spawn(
            &lifecycle,
            engine.clone(),
            jobs.clone(),
            share_stage::StageOutputs { sink: sink.clone(), blocks, stats: stats.clone(), bus: bus.clone() },
            StageConfig {
                max_batch: v.max_batch,
                max_wait: Duration::from_millis(v.max_wait_ms),
                race_window_ms: rules.grace_ms,
                ..StageConfig::default()
            },
        );
        let mut config = StratumConfig {
            network: cfg.network,
            instance_id: cfg.raw.pool.instance_id,
            start_difficulty: cfg.start_difficulty,
            vardiff: VardiffConfig {
                min: cfg.min_difficulty,
                idle_floor: cfg.idle_floor,
                ..VardiffConfig::default()
            },
            max_connections_per_ip: cfg.raw.stratum.max_connections_per_ip,
            proxy_protocol: cfg.raw.stratum.proxy_protocol,
            schemes: cfg.rewards.schemes.clone(),
            default_scheme: cfg.rewards.default_scheme,
            ..StratumConfig::default()
        };
        if tuning.bench {
            // Difficulty fixed, and no limits: the load generator is one IP sending fast.
            config.vardiff.max = cfg.start_difficulty;
            config.vardiff.min = cfg.start_difficulty;
            config.submit_burst = u64::MAX / 2000;
            config.submit_per_second = u64::MAX / 2000;
            config.bans = BanConfig { enabled: false, ..BanConfig::default() };
        }
        let summary_events = events.clone();
        let summary_stop = lifecycle.token(Phase::Background);
        lifecycle.spawn(Phase::Background, async move {
            let mut every = tokio::time::interval(SUMMARY_EVERY);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = every.tick() => summary_events.flush(SUMMARY_EVERY),
                    _ = summary_stop.cancelled() => return summary_events.flush(SUMMARY_EVERY),
                }
            }
        });
        let ctx =
            Context::new(config, jobs.clone(), stage, stats.clone(), events, epoch_ms, lifecycle.clone());
        let listen = cfg.raw.stratum.listen;
        let listener = stratum::bind(listen).await.map_err(|e| {
            anyhow::anyhow!("cannot listen for Stratum on {listen}: {e} (is another pool running?)")
        })?;
        let stratum_addr = listener.local_addr()?;
        tracing::info!(%stratum_addr, pool_address = %cfg.address, nodes = ?n.urls, "Stratum server listening");
        // A machine-readable line for scripts and tests (the port may have been chosen by the OS).
        println!("stratum listening on {stratum_addr}");
        lifecycle.spawn(Phase::Accept, stratum::serve(listener, ctx.clone(), None));
        let admin_addr = match &cfg.raw.admin {
            Some(a) => Some(
                start_admin(a.listen, cfg, &ledger, &engine, &upstreams, &ctx, &stats, &lifecycle).await?,
            ),
            None => None,
        };
        let tls_addr = match cfg.raw.stratum.tls_listen {
            Some(addr) => {
                let (cert, key) = (cfg.raw.stratum.tls_cert.as_ref(), cfg.raw.stratum.tls_key.as_ref());
                let acceptor = stratum::tls_acceptor(cert.expect("checked"), key.expect("checked"))?;
                let listener = stratum::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen for Stratum TLS on {addr}: {e}"))?;
                let local = listener.local_addr()?;
                println!("stratum tls listening on {local}");
                lifecycle.spawn(Phase::Accept, stratum::serve(listener, ctx.clone(), Some(acceptor)));
                Some(local)
            }
            None => None,
        };
        Ok(Pool {
            stratum_addr,
            tls_addr,
            admin_addr,
            stats,
            engine,
            jobs,
            upstreams,
            ctx,
            ledger,
            bus,
            sink,
            lifecycle,
        })
    }

    /// The ordered shutdown: stop accepting; every connection writes its owed answers, sends
    /// `client.reconnect` and closes; the share stage drains; the sink is flushed; block
    /// submissions finish; background tasks stop. Returns when all of it is done.
    pub async fn shutdown(self) {
        for phase in Phase::ORDER {
            let running = self.lifecycle.running(phase);
            tracing::info!(?phase, tasks = running, "shutting down");
            self.lifecycle.stop(phase).await;
            if phase == Phase::Shares
                && let Err(e) = self.sink.flush().await
            {
                tracing::error!(error = %e, "the share sink could not be flushed at shutdown");
            }
        }
        self.lifecycle.cancel_all();
        tracing::info!("shutdown complete");
    }

    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Serves one more Stratum connection over any stream (an in-process client, a test's
    /// `tokio::io::duplex`), as if accepted from `peer`.
    pub fn attach<S>(&self, stream: S, peer: SocketAddr)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let ctx = self.ctx.clone();
        self.lifecycle.spawn(Phase::Connections, stratum::serve_connection(stream, peer, ctx));
    }
}
