//! The Stratum server: the accept loop and per-IP limits here, one task per connection in
//! [`connection`]. Shutdown sends `client.reconnect` to every miner.

mod connection;

use crate::jobs::Jobs;
use crate::node::Upstreams;
use crate::pipeline::SharePipeline;
use pool_core::Difficulty;
use pool_core::address::Network;
use pool_core::policy::{BanConfig, BanList};
use pool_core::proxy;
use pool_core::vardiff::VardiffConfig;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Settings of the Stratum front end.
#[derive(Clone, Debug)]
pub struct StratumConfig {
    pub network: Network,
    /// Distinguishes pool instances sharing a database (goes into every header).
    pub instance_id: u8,
    pub start_difficulty: Difficulty,
    pub vardiff: VardiffConfig,
    pub max_connections_per_ip: usize,
    /// A connection must send its first line within this time.
    pub first_message_timeout: Duration,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// A job is re-sent at least this often.
    pub job_refresh: Duration,
    /// Submits a connection may send at once, and per second sustained.
    pub submit_burst: u64,
    pub submit_per_second: u64,
    /// Expect a PROXY protocol (v1/v2) header first: behind a load balancer, the real client address
    /// then drives per-IP limits and bans.
    pub proxy_protocol: bool,
    /// Malformed lines tolerated per connection before its IP is banned.
    pub malformed_limit: u32,
    pub bans: BanConfig,
}

impl Default for StratumConfig {
    fn default() -> Self {
        StratumConfig {
            network: Network::Mainnet,
            instance_id: 0,
            start_difficulty: Difficulty::from_u64(10_000).expect("non-zero"),
            vardiff: VardiffConfig::default(),
            max_connections_per_ip: 256,
            first_message_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            job_refresh: Duration::from_secs(25),
            submit_burst: 100,
            submit_per_second: 20,
            proxy_protocol: false,
            malformed_limit: 5,
            bans: BanConfig::default(),
        }
    }
}

/// Pool-wide share counters.
#[derive(Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub accepted_difficulty: AtomicU64,
    pub rejected: AtomicU64,
    pub blocks_found: AtomicU64,
    pub blocks_accepted: AtomicU64,
    pub connections: AtomicU64,
    pub refused_banned: AtomicU64,
}

/// What every connection task shares.
pub struct Context {
    pub config: StratumConfig,
    pub jobs: Jobs,
    pub pipeline: SharePipeline,
    pub upstreams: Upstreams,
    pub epoch_ms: u64,
    pub stats: Stats,
    next_connection: AtomicU64,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    pub bans: Mutex<BanList>,
    pub shutdown: watch::Receiver<bool>,
}

impl Context {
    pub fn new(
        config: StratumConfig,
        jobs: Jobs,
        pipeline: SharePipeline,
        upstreams: Upstreams,
        epoch_ms: u64,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        Arc::new(Context {
            bans: Mutex::new(BanList::new(config.bans.clone())),
            config,
            jobs,
            pipeline,
            upstreams,
            epoch_ms,
            stats: Stats::default(),
            next_connection: AtomicU64::new(1),
            per_ip: Mutex::new(HashMap::new()),
            shutdown,
        })
    }
}

/// Releases the per-IP slot when a connection ends, however it ends.
struct IpSlot {
    ctx: Arc<Context>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.ctx.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
        self.ctx.stats.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// TLS: the acceptor built from the configured certificate chain and key (PEM files).
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context as _;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a PEM private key from {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until shutdown; with `tls`, each connection is a TLS session.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>, tls: Option<tokio_rustls::TlsAcceptor>) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let (ctx, tls) = (ctx.clone(), tls.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            accept_one(stream, peer, ctx, tls).await;
        });
    }
}

/// Reads a PROXY protocol header (v1 or v2) without consuming any Stratum byte.
async fn read_proxy_header(stream: &mut tokio::net::TcpStream) -> Result<proxy::ProxySource, String> {
    use tokio::io::AsyncReadExt;
    let mut have = Vec::with_capacity(64);
    while let Some(n) = proxy::next_read(&have).map_err(|e| e.to_string())? {
        let at = have.len();
        have.resize(at + n, 0);
        stream.read_exact(&mut have[at..]).await.map_err(|e| e.to_string())?;
    }
    proxy::parse(&have).map_err(|e| e.to_string())
}

/// One accepted socket: PROXY header, ban check and per-IP slot on the real client address, TLS,
/// then the Stratum session.
async fn accept_one(
    mut stream: tokio::net::TcpStream,
    socket_peer: SocketAddr,
    ctx: Arc<Context>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let mut peer = socket_peer;
    if ctx.config.proxy_protocol {
        match tokio::time::timeout(Duration::from_secs(5), read_proxy_header(&mut stream)).await {
            Ok(Ok(proxy::ProxySource::Client(client))) => peer = client,
            Ok(Ok(proxy::ProxySource::Local)) => {}
            Ok(Err(e)) => {
                tracing::warn!(%socket_peer, error = %e, "PROXY protocol is on but the connection did not start with a valid header; closing");
                return;
            }
            Err(_) => return,
        }
    }
    if ctx.bans.lock().unwrap_or_else(|e| e.into_inner()).is_banned(peer.ip(), crate::jobs::now_ms()) {
        ctx.stats.refused_banned.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, "refusing a banned IP");
        return;
    }
    let _slot = {
        let mut m = ctx.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(peer.ip()).or_default();
        if *n >= ctx.config.max_connections_per_ip {
            tracing::warn!(%peer, limit = ctx.config.max_connections_per_ip, "per-IP connection limit reached; refusing");
            return;
        }
        *n += 1;
        IpSlot { ctx: ctx.clone(), ip: peer.ip() }
    };
    ctx.stats.connections.fetch_add(1, Ordering::Relaxed);
    let id = ctx.next_connection.fetch_add(1, Ordering::Relaxed);
    match tls {
        None => connection::run(stream, peer, id, ctx).await,
        Some(acceptor) => {
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => connection::run(tls_stream, peer, id, ctx).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// Binds the Stratum port.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
