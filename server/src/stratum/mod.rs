//! The Stratum server: the accept loop and per-IP limits here, one task per connection in
//! [`connection`] (I/O and session state only: shares go to the share stage for their verdict).
//! Repeated events (refused connections, bad logins, bans) are summarised, not logged one by one.

mod connection;

pub use connection::serve_connection;

use crate::clock::now_ms;
use crate::job_dispatcher::JobFeed;
use crate::lifecycle::{Lifecycle, Phase};
use crate::log_limit::EventSummary;
use crate::share_stage::ShareStageHandle;
use crate::stats::PoolStats;
use pool_core::Difficulty;
use pool_core::address::Network;
use pool_core::policy::{BanConfig, BanList};
use pool_core::proxy;
use pool_core::vardiff::VardiffConfig;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

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
    /// Authorize attempts a connection may send at once, and per minute sustained.
    pub authorize_burst: u64,
    pub authorize_per_minute: u64,
    /// Expect a PROXY protocol (v1/v2) header first: behind a load balancer, the real client address
    /// then drives per-IP limits and bans.
    pub proxy_protocol: bool,
    /// Malformed lines and bad logins tolerated per connection before its IP is banned.
    pub malformed_limit: u32,
    pub bans: BanConfig,
    /// Issues remembered per connection (shares on older ones are stale).
    pub issues_kept: usize,
    /// Shares a connection may have awaiting their verdict before it stops reading.
    pub max_in_flight: usize,
    /// Reward schemes a login may choose (`-p scheme=solo`), and the one it gets otherwise.
    pub schemes: Vec<pool_core::reward::Scheme>,
    pub default_scheme: pool_core::reward::Scheme,
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
            authorize_burst: 5,
            authorize_per_minute: 6,
            proxy_protocol: false,
            malformed_limit: 5,
            bans: BanConfig::default(),
            issues_kept: 8,
            max_in_flight: 256,
            schemes: vec![pool_core::reward::Scheme::Pplns, pool_core::reward::Scheme::Solo],
            default_scheme: pool_core::reward::Scheme::Pplns,
        }
    }
}

/// What every connection task shares.
pub struct Context {
    pub config: StratumConfig,
    pub jobs: JobFeed,
    pub stage: ShareStageHandle,
    pub stats: Arc<PoolStats>,
    pub events: Arc<EventSummary>,
    pub epoch_ms: u64,
    pub lifecycle: Lifecycle,
    next_connection: AtomicU64,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    pub bans: Mutex<BanList>,
    /// Miner addresses the operator banned (refused at authorize), with when.
    banned_addresses: Mutex<BTreeMap<String, u64>>,
}

impl Context {
    pub fn new(
        config: StratumConfig,
        jobs: JobFeed,
        stage: ShareStageHandle,
        stats: Arc<PoolStats>,
        events: Arc<EventSummary>,
        epoch_ms: u64,
        lifecycle: Lifecycle,
    ) -> Arc<Self> {
        Arc::new(Context {
            bans: Mutex::new(BanList::new(config.bans.clone())),
            config,
            jobs,
            stage,
            stats,
            events,
            epoch_ms,
            lifecycle,
            next_connection: AtomicU64::new(1),
            per_ip: Mutex::new(HashMap::new()),
            banned_addresses: Mutex::new(BTreeMap::new()),
        })
    }

    fn address_bans(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        self.banned_addresses.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses `mining.authorize` for `address` from now on (the admin's ban).
    pub fn ban_address(&self, address: &str, now_ms: u64) {
        self.address_bans().entry(address.to_owned()).or_insert(now_ms);
    }

    pub fn unban_address(&self, address: &str) -> bool {
        self.address_bans().remove(address).is_some()
    }

    pub fn is_address_banned(&self, address: &str) -> bool {
        self.address_bans().contains_key(address)
    }

    /// The banned addresses and since when.
    pub fn banned_addresses(&self) -> Vec<(String, u64)> {
        self.address_bans().iter().map(|(a, t)| (a.clone(), *t)).collect()
    }

    pub fn bans(&self) -> std::sync::MutexGuard<'_, BanList> {
        self.bans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh connection number.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
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
    let stop = ctx.lifecycle.token(Phase::Accept);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors, usually: the summary says how often.
                    ctx.events.note("accept_failed", || e.to_string());
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                        _ = stop.cancelled() => return,
                    }
                    continue;
                }
            },
            _ = stop.cancelled() => return,
        };
        let (ctx2, tls) = (ctx.clone(), tls.clone());
        ctx.lifecycle.spawn(Phase::Connections, async move {
            let _ = stream.set_nodelay(true);
            accept_one(stream, peer, ctx2, tls).await;
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
    let stop = ctx.lifecycle.token(Phase::Connections);
    if ctx.config.proxy_protocol {
        let header = tokio::select! {
            h = tokio::time::timeout(Duration::from_secs(5), read_proxy_header(&mut stream)) => h,
            _ = stop.cancelled() => return,
        };
        match header {
            Ok(Ok(proxy::ProxySource::Client(client))) => peer = client,
            Ok(Ok(proxy::ProxySource::Local)) => {}
            Ok(Err(e)) => {
                ctx.events.note("connection_without_proxy_header", || format!("{socket_peer}: {e}"));
                return;
            }
            Err(_) => return,
        }
    }
    if ctx.bans().is_banned(peer.ip(), now_ms()) {
        ctx.stats.refused_banned.fetch_add(1, Ordering::Relaxed);
        ctx.events.note("connection_refused_banned", || peer.ip().to_string());
        return;
    }
    let _slot = {
        let mut m = ctx.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(peer.ip()).or_default();
        if *n >= ctx.config.max_connections_per_ip {
            ctx.stats.refused_over_cap.fetch_add(1, Ordering::Relaxed);
            ctx.events.note("connection_refused_over_per_ip_cap", || peer.ip().to_string());
            return;
        }
        *n += 1;
        IpSlot { ctx: ctx.clone(), ip: peer.ip() }
    };
    ctx.stats.connections.fetch_add(1, Ordering::Relaxed);
    match tls {
        None => serve_connection(stream, peer, ctx).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                h = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)) => h,
                _ = stop.cancelled() => return,
            };
            match handshake {
                Ok(Ok(tls_stream)) => serve_connection(tls_stream, peer, ctx).await,
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
