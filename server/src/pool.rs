//! Assembling a running pool from a checked configuration: verifier engine, upstream nodes, job
//! dispatcher, share pipeline, Stratum listener. One shutdown signal stops them all.

use crate::config::Checked;
use crate::node::Upstreams;
use crate::pipeline::SharePipeline;
use crate::stratum::{self, Context, StratumConfig};
use gpu_verify::{EngineOptions, GpuConfig, build_engine};
use pool_core::vardiff::VardiffConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A running pool.
pub struct RunningPool {
    pub stratum_addr: SocketAddr,
    pub ctx: Arc<Context>,
    shutdown: watch::Sender<bool>,
    stratum_task: tokio::task::JoinHandle<()>,
    tls_task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningPool {
    /// Sends `client.reconnect` to every miner and stops accepting.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.stratum_task.await;
        if let Some(t) = self.tls_task {
            let _ = t.await;
        }
        // Give connection tasks a moment to flush their reconnect line.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Settings that are not configuration: the benchmark lifts the abuse limits and vardiff.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tuning {
    pub bench: bool,
}

pub async fn start(cfg: &Checked) -> anyhow::Result<RunningPool> {
    start_with(cfg, Tuning::default()).await
}

pub async fn start_with(cfg: &Checked, tuning: Tuning) -> anyhow::Result<RunningPool> {
    let epoch_ms = crate::jobs::now_ms();
    let opts = EngineOptions {
        mode: cfg.backend,
        cpu_threads: cfg.raw.verifier.cpu_threads,
        gpu: GpuConfig {
            max_batch: cfg.raw.verifier.max_batch,
            kernel: cfg.raw.verifier.gpu_kernel()?,
            allow_cpu_adapter: cfg.raw.verifier.allow_cpu_adapter,
            ..GpuConfig::default()
        },
        sample_every: cfg.raw.verifier.sample_every,
        ..EngineOptions::default()
    };
    let setup = tokio::task::spawn_blocking(move || build_engine(&opts)).await??;
    let status = setup.engine.status();
    tracing::info!(mode = %status.mode, using_gpu = status.using_gpu, cpu = %status.cpu, gpu = ?status.gpu, "share verifier ready");
    let engine = setup.engine;

    let upstreams = Upstreams::new(&cfg.raw.node.urls, Duration::from_millis(cfg.raw.node.timeout_ms));
    upstreams.spawn_health_checks(Duration::from_secs(5));
    let jobs = crate::jobs::spawn(
        upstreams.clone(),
        cfg.address.to_string(),
        epoch_ms,
        Duration::from_millis(cfg.raw.node.poll_ms),
        Duration::from_secs(25),
    );
    let pipeline = SharePipeline::spawn(
        engine.clone(),
        cfg.raw.verifier.max_batch,
        Duration::from_millis(cfg.raw.verifier.max_wait_ms),
        65_536,
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut config = StratumConfig {
        network: cfg.network,
        instance_id: cfg.raw.pool.instance_id,
        start_difficulty: cfg.start_difficulty,
        vardiff: VardiffConfig { min: cfg.min_difficulty, ..VardiffConfig::default() },
        max_connections_per_ip: cfg.raw.stratum.max_connections_per_ip,
        proxy_protocol: cfg.raw.stratum.proxy_protocol,
        ..StratumConfig::default()
    };
    if tuning.bench {
        // Difficulty 1 for good, and no limits: the load generator is one IP sending fast.
        config.vardiff.max = cfg.start_difficulty;
        config.vardiff.min = cfg.start_difficulty;
        config.submit_burst = u64::MAX / 2000;
        config.submit_per_second = u64::MAX / 2000;
        config.bans.window = u32::MAX;
    }
    let ctx = Context::new(config, jobs, pipeline, upstreams, epoch_ms, shutdown_rx);
    let listener = stratum::bind(cfg.raw.stratum.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for Stratum on {}: {e}", cfg.raw.stratum.listen))?;
    let stratum_addr = listener.local_addr()?;
    tracing::info!(%stratum_addr, pool_address = %cfg.address, nodes = ?cfg.raw.node.urls, "Stratum server listening");
    // A machine-readable line for scripts and tests (the port may have been chosen by the OS).
    println!("stratum listening on {stratum_addr}");
    let stratum_task = tokio::spawn(stratum::serve(listener, ctx.clone(), None));
    let tls_task = match cfg.raw.stratum.tls_listen {
        Some(addr) => {
            let (cert, key) = (cfg.raw.stratum.tls_cert.as_ref(), cfg.raw.stratum.tls_key.as_ref());
            let acceptor = stratum::tls_acceptor(cert.expect("checked"), key.expect("checked"))?;
            let listener = stratum::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen for Stratum TLS on {addr}: {e}"))?;
            let local = listener.local_addr()?;
            println!("stratum tls listening on {local}");
            Some(tokio::spawn(stratum::serve(listener, ctx.clone(), Some(acceptor))))
        }
        None => None,
    };
    Ok(RunningPool { stratum_addr, ctx, shutdown, stratum_task, tls_task })
}
