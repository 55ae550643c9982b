//! The pool's configuration file (TOML). Every field has a default except the pool address.
//!
//! ```toml
//! [pool]
//! address = "tos1…"        # the pool wallet: templates are requested for it (the node must hold its key)
//! network = "mainnet"      # mainnet | testnet | stagenet | devnet
//! instance_id = 0          # distinct per instance when several share a database
//!
//! [stratum]
//! listen = "0.0.0.0:3333"
//! tls_listen = "0.0.0.0:3334"   # optional; with tls_cert / tls_key (PEM)
//! proxy_protocol = false        # true behind a load balancer sending PROXY v1/v2 headers
//! start_difficulty = "10000"
//! min_difficulty = "1"
//! max_connections_per_ip = 256
//!
//! # idle_floor_difficulty = "625"   # default start_difficulty / 16
//!
//! [node]
//! urls = ["http://127.0.0.1:8080"]   # https:// works too (system roots, or ca_file)
//! poll_ms = 250
//! job_refresh_min_ms = 5000          # same height, other transactions: a new job at most this often
//! max_job_age_ms = 120000            # no node answering this long: shares are answered stale
//!
//! [verifier]
//! backend = "auto"          # auto | gpu | cpu (also TOS_POOL_VERIFIER, and `run --verifier`)
//! max_batch = 1024
//! max_wait_ms = 2
//! gpu_timeout_base_ms = 2000         # a GPU batch is abandoned after base + per-share × shares
//! gpu_timeout_per_share_us = 1000
//! kernel = "auto"           # GPU kernel: auto (measure both) | lane | coop
//! allow_cpu_adapter = false # true: accept a CPU rasteriser (llvmpipe) as the "GPU"
//!
//! [blocks]
//! unlock_interval_ms = 5000          # the unlocker asks the node about unsettled blocks this often
//! stable_margin = 2                  # heights beyond the node's stable height before a block is final
//! orphan_unknown_after_ms = 600000   # a block the node never heard of: orphaned once stable and this old
//! pps_credit_interval_ms = 5000
//! pps_credit_batch = 20000           # PPS shares per crediting transaction
//!
//! [retention]
//! share_days = 7            # raw shares kept at least this long (and while a block still needs them)
//! worker_stats_days = 30
//! prune_interval_ms = 60000
//! prune_chunk_rows = 10000  # rows per DELETE (short transactions, no long lock)
//!
//! [payouts]
//! enabled = false           # the leader pays balances through the wallet (ledger::payer)
//! interval_secs = 600       # a new round of payments at most this often
//! confirm_every_secs = 30   # batches in flight are followed (submitted, confirmed) this often
//! threshold = "1"           # TOS; a miner's own miners.payout_threshold overrides it
//! max_recipients = 100      # transfers per transaction (1..=500)
//! tx_fee = "pool"           # who pays the transaction fee: pool | recipients
//! # max_per_payment = "1000"  # TOS; the rest stays on the balance for the next round
//! stuck_after_secs = 3600   # a batch not confirmed after this long: an error logged every run
//!
//! [wallet]
//! url = "http://127.0.0.1:8081"          # the wallet's --rpc-bind-address
//! credentials_env = "TOS_WALLET_RPC"     # user:password, or credentials_file = "/path" (never here)
//! timeout_ms = 30000
//! # ca_file = "/etc/tos-pool/wallet-ca.pem"
//!
//! [http]                    # optional: without it `run` serves no web API or dashboard
//! listen = "0.0.0.0:8088"
//! cors_origins = []         # origins allowed to call the API from a browser ("*" for any)
//! rate_limit_per_minute = 120   # per client IP, on /api/v1
//! ws_max_connections = 1024
//!
//! [admin]                   # optional: the admin API and /metrics on their own listener
//! listen = "127.0.0.1:8089"
//!
//! [[webhooks]]              # any number; events from events::EVENT_NAMES
//! url = "https://hooks.example/tos"
//! events = ["block_found", "block_matured", "block_orphaned", "payment_failed", "gpu_out_of_service", "node_down"]
//! # timeout_ms = 5000
//! # max_attempts = 6
//! ```

use anyhow::{Context as _, bail};
use pool_core::address::{Address, Network};
use pool_core::{BackendMode, Difficulty};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub pool: PoolSection,
    #[serde(default)]
    pub stratum: StratumSection,
    #[serde(default)]
    pub node: NodeSection,
    #[serde(default)]
    pub verifier: VerifierSection,
    #[serde(default)]
    pub database: DatabaseSection,
    #[serde(default)]
    pub rewards: RewardsSection,
    #[serde(default)]
    pub blocks: BlocksSection,
    #[serde(default)]
    pub retention: RetentionSection,
    #[serde(default)]
    pub payouts: PayoutsSection,
    #[serde(default)]
    pub wallet: WalletSection,
    /// The public web API and dashboard (none when absent).
    #[serde(default)]
    pub http: Option<HttpSection>,
    /// The admin API (`crate::admin`); absent: not served.
    #[serde(default)]
    pub admin: Option<AdminSection>,
    /// Where events are POSTed (`crate::webhooks`).
    #[serde(default)]
    pub webhooks: Vec<WebhookSection>,
}

/// The public web API, WebSocket feed and dashboard (`crate::http`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    pub listen: SocketAddr,
    /// Origins allowed by CORS (`"*"`: any); empty: no CORS headers, same-origin only.
    pub cors_origins: Vec<String>,
    /// Requests per minute per client IP on `/api/v1` (a burst of the same size).
    pub rate_limit_per_minute: u64,
    /// WebSocket connections open at once, pool-wide.
    pub ws_max_connections: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: "0.0.0.0:8088".parse().expect("valid"),
            cors_origins: Vec::new(),
            rate_limit_per_minute: 120,
            ws_max_connections: 1024,
        }
    }
}

impl HttpSection {
    fn check(&self) -> anyhow::Result<()> {
        if self.rate_limit_per_minute == 0 {
            bail!("http.rate_limit_per_minute must be at least 1");
        }
        if self.ws_max_connections == 0 {
            bail!("http.ws_max_connections must be at least 1");
        }
        for o in &self.cors_origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                bail!("http.cors_origins: {o:?} is not \"*\" or an http(s)://host origin");
            }
        }
        Ok(())
    }
}

/// The admin API's own listener (keep it on loopback or a private network: it switches the
/// verifier and bans miners; its keys live hashed in the database, `tos-pool admin create-key`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    pub listen: SocketAddr,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection { listen: SocketAddr::from(([127, 0, 0, 1], 8089)) }
    }
}

/// One webhook: the events it wants, POSTed as JSON to `url`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    pub url: String,
    /// Names from `events::EVENT_NAMES`.
    pub events: Vec<String>,
    #[serde(default = "default_webhook_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per event before it is dropped (with a warning).
    #[serde(default = "default_webhook_attempts")]
    pub max_attempts: u32,
}

fn default_webhook_timeout_ms() -> u64 {
    5_000
}

fn default_webhook_attempts() -> u32 {
    6
}

impl WebhookSection {
    fn check(&self, i: usize) -> anyhow::Result<()> {
        let key = format!("webhooks[{i}]");
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            bail!("{key}.url {:?} is not an http:// or https:// URL", self.url);
        }
        if self.events.is_empty() {
            bail!(
                "{key}.events is empty: list the events to send ({})",
                crate::events::EVENT_NAMES.join(", ")
            );
        }
        if let Some(bad) = self.events.iter().find(|e| !crate::events::EVENT_NAMES.contains(&e.as_str())) {
            bail!("{key}.events: unknown event {bad:?} (known: {})", crate::events::EVENT_NAMES.join(", "));
        }
        if self.timeout_ms == 0 || self.max_attempts == 0 {
            bail!("{key}.timeout_ms and {key}.max_attempts must be at least 1");
        }
        Ok(())
    }
}

/// Paying balances out (the payer, `ledger::payer`). Amounts are decimal TOS strings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutsSection {
    pub enabled: bool,
    /// A new round of payments at most this often (measured from the newest batch in the database,
    /// so a restart or a new leader does not pay early).
    pub interval_secs: u64,
    /// Batches in flight are followed (resubmitted, confirmed) this often.
    pub confirm_every_secs: u64,
    /// The default threshold (TOS); `miners.payout_threshold` overrides it per miner.
    pub threshold: String,
    /// Transfers per transaction (1..=500).
    pub max_recipients: usize,
    /// `pool` (on top of the amounts) or `recipients` (out of them, in proportion).
    pub tx_fee: String,
    /// The most one payment sends (TOS); the rest stays on the balance.
    pub max_per_payment: Option<String>,
    /// A batch not confirmed after this long is logged as an error every run (it is never
    /// rebuilt; the operator looks at the wallet and the daemon).
    pub stuck_after_secs: u64,
}

impl Default for PayoutsSection {
    fn default() -> Self {
        PayoutsSection {
            enabled: false,
            interval_secs: 600,
            confirm_every_secs: 30,
            threshold: "1".into(),
            max_recipients: 100,
            tx_fee: "pool".into(),
            max_per_payment: None,
            stuck_after_secs: 3_600,
        }
    }
}

/// The TOS wallet's RPC. Its credentials come from `credentials_env` or `credentials_file`
/// (`user:password`), never from this file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalletSection {
    pub url: Option<String>,
    pub credentials_env: Option<String>,
    pub credentials_file: Option<std::path::PathBuf>,
    pub timeout_ms: u64,
    /// A PEM file of extra CA certificates for an `https://` wallet.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for WalletSection {
    fn default() -> Self {
        WalletSection {
            url: None,
            credentials_env: None,
            credentials_file: None,
            timeout_ms: 30_000,
            ca_file: None,
        }
    }
}

/// The payout settings, checked.
#[derive(Debug, Clone)]
pub struct Payouts {
    pub enabled: bool,
    pub policy: pool_core::payout::PayoutPolicy,
    pub interval: std::time::Duration,
    pub confirm_every: std::time::Duration,
    pub stuck_after: std::time::Duration,
}

/// Where the ledger lives. The URL may carry a password, so it comes from exactly one of `url`
/// (no password allowed), `url_env` (an environment variable) or `url_file` (a file).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<std::path::PathBuf>,
    /// Where accepted shares wait while the database is unreachable (default: beside a SQLite file,
    /// else `tos-pool-spool`).
    pub spool_dir: Option<std::path::PathBuf>,
}

/// Reward schemes and fees (percentages as exact decimal strings).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardsSection {
    /// The schemes miners may choose (`pplns`, `pps`, `prop`, `solo`).
    pub schemes: Vec<String>,
    /// The scheme of a login that does not choose one.
    pub default_scheme: String,
    pub fee_percent: String,
    pub solo_fee_percent: String,
    pub pps_fee_percent: String,
    /// PPLNS window: this many times the network difficulty of share difficulty.
    pub pplns_factor: String,
}

impl Default for RewardsSection {
    fn default() -> Self {
        RewardsSection {
            schemes: vec!["pplns".into(), "solo".into()],
            default_scheme: "pplns".into(),
            fee_percent: "1".into(),
            solo_fee_percent: "1".into(),
            pps_fee_percent: "3".into(),
            pplns_factor: "2".into(),
        }
    }
}

/// The reward settings, checked.
#[derive(Debug, Clone)]
pub struct Rewards {
    pub schemes: Vec<pool_core::reward::Scheme>,
    pub default_scheme: pool_core::reward::Scheme,
    pub fee: pool_core::reward::FeeBp,
    pub solo_fee: pool_core::reward::FeeBp,
    pub pps_fee: pool_core::reward::FeeBp,
    pub pplns_factor: pool_core::reward::Ratio,
}

/// Following found blocks to maturity, and crediting (the leader's unlocker and PPS crediter).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlocksSection {
    /// How often the unlocker asks the node about every block not yet mature or orphaned.
    pub unlock_interval_ms: u64,
    /// Heights beyond the node's stable height before a block is final (mature or orphaned).
    pub stable_margin: u64,
    /// A block the node has never heard of (a failed submission) is orphaned once its height is
    /// stable and at least this long has passed since it was found.
    pub orphan_unknown_after_ms: u64,
    /// How often the PPS queue is credited.
    pub pps_credit_interval_ms: u64,
    /// PPS shares credited per transaction.
    pub pps_credit_batch: u64,
}

impl Default for BlocksSection {
    fn default() -> Self {
        BlocksSection {
            unlock_interval_ms: 5_000,
            stable_margin: 2,
            orphan_unknown_after_ms: 600_000,
            pps_credit_interval_ms: 5_000,
            pps_credit_batch: 20_000,
        }
    }
}

/// How long raw data is kept (pruned by the leader in bounded chunks).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Raw shares are kept at least this long (so recent blocks can be audited), and always as long
    /// as an unsettled block, the open round or the current PPLNS window needs them. 0: only the latter.
    pub share_days: u64,
    /// Per-minute worker statistics are deleted after this long.
    pub worker_stats_days: u64,
    pub prune_interval_ms: u64,
    /// Rows per DELETE statement (each is its own short transaction).
    pub prune_chunk_rows: u64,
}

impl Default for RetentionSection {
    fn default() -> Self {
        RetentionSection {
            share_days: 7,
            worker_stats_days: 30,
            prune_interval_ms: 60_000,
            prune_chunk_rows: 10_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSection {
    pub address: String,
    #[serde(default = "default_network")]
    pub network: String,
    #[serde(default)]
    pub instance_id: u8,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StratumSection {
    pub listen: SocketAddr,
    /// A second, TLS port (needs `tls_cert` and `tls_key`, PEM files).
    pub tls_listen: Option<SocketAddr>,
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// Connections start with a PROXY protocol v1/v2 header (behind HAProxy, a cloud load balancer…).
    pub proxy_protocol: bool,
    pub start_difficulty: String,
    pub min_difficulty: String,
    /// Without any share, vardiff's idle sweep goes no lower (default: start_difficulty / 16).
    pub idle_floor_difficulty: Option<String>,
    pub max_connections_per_ip: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    pub urls: Vec<String>,
    pub poll_ms: u64,
    pub timeout_ms: u64,
    /// Same height, other transactions: a new job at most this often.
    pub job_refresh_min_ms: u64,
    /// When no node has answered for this long, shares are answered stale (21).
    pub max_job_age_ms: u64,
    /// A PEM file of extra CA certificates for `https://` nodes (beside the system's roots).
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifierSection {
    pub backend: String,
    pub max_batch: usize,
    pub max_wait_ms: u64,
    pub cpu_threads: Option<usize>,
    pub sample_every: u64,
    pub gpu_timeout_base_ms: u64,
    pub gpu_timeout_per_share_us: u64,
    /// GPU kernel: `auto` (both measured at start-up), `lane` or `coop`.
    pub kernel: String,
    /// Accept a CPU-type adapter (llvmpipe) in `gpu`/`auto` modes; off, a missing GPU driver is an
    /// error instead of a ~2k hashes/s "GPU".
    pub allow_cpu_adapter: bool,
}

impl VerifierSection {
    /// The GPU kernel to build (`None`: both, the faster kept).
    pub fn gpu_kernel(&self) -> anyhow::Result<Option<gpu_verify::KernelKind>> {
        gpu_verify::kernel_choice(&self.kernel).map_err(anyhow::Error::msg).context("verifier.kernel")
    }
}

fn default_network() -> String {
    "mainnet".into()
}

impl Default for StratumSection {
    fn default() -> Self {
        StratumSection {
            listen: "0.0.0.0:3333".parse().expect("valid"),
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            proxy_protocol: false,
            start_difficulty: "10000".into(),
            min_difficulty: "1".into(),
            idle_floor_difficulty: None,
            max_connections_per_ip: 256,
        }
    }
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            urls: vec!["http://127.0.0.1:8080".into()],
            poll_ms: 250,
            timeout_ms: 5_000,
            job_refresh_min_ms: 5_000,
            max_job_age_ms: 120_000,
            ca_file: None,
        }
    }
}

impl Default for VerifierSection {
    fn default() -> Self {
        VerifierSection {
            backend: "auto".into(),
            max_batch: 1024,
            max_wait_ms: 2,
            cpu_threads: None,
            sample_every: 100,
            gpu_timeout_base_ms: 2_000,
            gpu_timeout_per_share_us: 1_000,
            kernel: "auto".into(),
            allow_cpu_adapter: false,
        }
    }
}

/// The configuration checked and converted.
#[derive(Debug, Clone)]
pub struct Checked {
    pub raw: Config,
    pub network: Network,
    pub address: Address,
    pub start_difficulty: Difficulty,
    pub min_difficulty: Difficulty,
    pub idle_floor: Difficulty,
    pub backend: BackendMode,
    pub rewards: Rewards,
    pub payouts: Payouts,
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Checked> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        let raw: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid tos-pool config", path.display()))?;
        raw.check()
    }

    pub fn check(self) -> anyhow::Result<Checked> {
        let network = Network::from_node_name(&self.pool.network).with_context(|| {
            format!("pool.network {:?}: use mainnet, testnet, stagenet or devnet", self.pool.network)
        })?;
        let address = Address::parse_normal(&self.pool.address, network).with_context(|| {
            format!("pool.address {:?} is not a normal {} address", self.pool.address, network.hrp())
        })?;
        let start_difficulty =
            Difficulty::from_dec_str(&self.stratum.start_difficulty).context("stratum.start_difficulty")?;
        let min_difficulty =
            Difficulty::from_dec_str(&self.stratum.min_difficulty).context("stratum.min_difficulty")?;
        let idle_floor = match &self.stratum.idle_floor_difficulty {
            Some(s) => Difficulty::from_dec_str(s).context("stratum.idle_floor_difficulty")?,
            None => Difficulty::new(start_difficulty.value().div_rem_u64(16).expect("non-zero").0)
                .unwrap_or(Difficulty::ONE),
        }
        .max(min_difficulty);
        if min_difficulty > start_difficulty {
            bail!(
                "stratum.min_difficulty ({min_difficulty}) is above stratum.start_difficulty ({start_difficulty})"
            );
        }
        if self.node.poll_ms == 0 || self.node.timeout_ms == 0 {
            bail!("node.poll_ms and node.timeout_ms must be at least 1");
        }
        if self.verifier.max_batch == 0 {
            bail!("verifier.max_batch must be at least 1");
        }
        if let Some(bad) =
            self.node.urls.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            bail!("node.urls: {bad:?} is not an http:// or https:// URL");
        }
        let backend = self
            .verifier
            .backend
            .parse::<BackendMode>()
            .map_err(anyhow::Error::msg)
            .context("verifier.backend")?;
        self.verifier.gpu_kernel()?;
        if self.stratum.tls_listen.is_some()
            && (self.stratum.tls_cert.is_none() || self.stratum.tls_key.is_none())
        {
            bail!("stratum.tls_listen is set: also set stratum.tls_cert and stratum.tls_key (PEM files)");
        }
        if self.node.urls.is_empty() {
            bail!("node.urls is empty: list at least one TOS node (http://host:8080)");
        }
        let rewards = self.rewards.check()?;
        self.database.check()?;
        self.blocks.check()?;
        self.retention.check()?;
        let payouts = self.payouts.check()?;
        self.wallet.check(payouts.enabled)?;
        if let Some(h) = &self.http {
            h.check()?;
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            w.check(i)?;
        }
        Ok(Checked {
            raw: self,
            network,
            address,
            start_difficulty,
            min_difficulty,
            idle_floor,
            backend,
            rewards,
            payouts,
        })
    }
}

impl PayoutsSection {
    fn check(&self) -> anyhow::Result<Payouts> {
        use pool_core::payout::{PayoutPolicy, TxFeePolicy, parse_tos};
        let threshold = parse_tos(&self.threshold).context("payouts.threshold")?;
        let cap = match &self.max_per_payment {
            Some(s) => Some(parse_tos(s).context("payouts.max_per_payment")?),
            None => None,
        };
        let tx_fee: TxFeePolicy = self.tx_fee.parse().context("payouts.tx_fee")?;
        let policy =
            PayoutPolicy::new(threshold, self.max_recipients, tx_fee, cap).context("payouts settings")?;
        if self.interval_secs == 0 || self.confirm_every_secs == 0 {
            bail!("payouts.interval_secs and payouts.confirm_every_secs must be at least 1");
        }
        let secs = std::time::Duration::from_secs;
        Ok(Payouts {
            enabled: self.enabled,
            policy,
            interval: secs(self.interval_secs),
            confirm_every: secs(self.confirm_every_secs),
            stuck_after: secs(self.stuck_after_secs.max(1)),
        })
    }
}

impl WalletSection {
    fn check(&self, payouts_enabled: bool) -> anyhow::Result<()> {
        if self.credentials_env.is_some() && self.credentials_file.is_some() {
            bail!("wallet: set only one of credentials_env, credentials_file");
        }
        if self.timeout_ms == 0 {
            bail!("wallet.timeout_ms must be at least 1");
        }
        match &self.url {
            None if payouts_enabled => {
                bail!("payouts.enabled needs wallet.url (the TOS wallet's RPC, e.g. http://127.0.0.1:8081)")
            }
            None => Ok(()),
            Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                bail!("wallet.url {u:?} is not an http:// or https:// URL")
            }
            Some(u)
                if u.split("://")
                    .nth(1)
                    .is_some_and(|rest| rest.split('/').next().unwrap_or("").contains('@')) =>
            {
                bail!(
                    "wallet.url carries credentials: remove them and put user:password in an environment variable (wallet.credentials_env) or a file (wallet.credentials_file)"
                )
            }
            Some(_) => Ok(()),
        }
    }

    /// The wallet's credentials, read from where the configuration says (`None`: no Basic auth).
    pub fn resolve_credentials(&self) -> anyhow::Result<Option<crate::wallet::Credentials>> {
        use crate::wallet::Credentials;
        if let Some(var) = &self.credentials_env {
            return Credentials::from_env(var).map(Some);
        }
        if let Some(path) = &self.credentials_file {
            return Credentials::from_file(path).map(Some);
        }
        Ok(None)
    }
}

impl RewardsSection {
    fn check(&self) -> anyhow::Result<Rewards> {
        use pool_core::reward::{FeeBp, Ratio, Scheme};
        let scheme = |s: &str, key: &str| -> anyhow::Result<Scheme> {
            s.parse::<Scheme>()
                .map_err(|_| anyhow::anyhow!("{key}: {s:?} is not a scheme (pplns, pps, prop, solo)"))
        };
        let schemes =
            self.schemes.iter().map(|s| scheme(s, "rewards.schemes")).collect::<anyhow::Result<Vec<_>>>()?;
        if schemes.is_empty() {
            bail!("rewards.schemes is empty: offer at least one of pplns, pps, prop, solo");
        }
        let default_scheme = scheme(&self.default_scheme, "rewards.default_scheme")?;
        if !schemes.contains(&default_scheme) {
            bail!("rewards.default_scheme {default_scheme} is not among rewards.schemes");
        }
        let fee = |s: &str, key: &str| -> anyhow::Result<FeeBp> {
            FeeBp::from_percent_str(s).map_err(|e| anyhow::anyhow!("{key}: {s:?}: {e}"))
        };
        Ok(Rewards {
            schemes,
            default_scheme,
            fee: fee(&self.fee_percent, "rewards.fee_percent")?,
            solo_fee: fee(&self.solo_fee_percent, "rewards.solo_fee_percent")?,
            pps_fee: fee(&self.pps_fee_percent, "rewards.pps_fee_percent")?,
            pplns_factor: self
                .pplns_factor
                .parse::<Ratio>()
                .map_err(|e| anyhow::anyhow!("rewards.pplns_factor {:?}: {e}", self.pplns_factor))?,
        })
    }
}

impl BlocksSection {
    fn check(&self) -> anyhow::Result<()> {
        if self.unlock_interval_ms == 0 || self.pps_credit_interval_ms == 0 {
            bail!("blocks.unlock_interval_ms and blocks.pps_credit_interval_ms must be at least 1");
        }
        if self.pps_credit_batch == 0 {
            bail!("blocks.pps_credit_batch must be at least 1");
        }
        // The block submitter retries an unanswered submission for up to 60 s.
        if self.orphan_unknown_after_ms < 60_000 {
            bail!(
                "blocks.orphan_unknown_after_ms is {} ms: use at least 60000 (a submission is retried for up to 60 s)",
                self.orphan_unknown_after_ms
            );
        }
        Ok(())
    }
}

impl RetentionSection {
    fn check(&self) -> anyhow::Result<()> {
        if self.worker_stats_days == 0 {
            bail!("retention.worker_stats_days must be at least 1");
        }
        if self.prune_interval_ms == 0 || self.prune_chunk_rows == 0 {
            bail!("retention.prune_interval_ms and retention.prune_chunk_rows must be at least 1");
        }
        Ok(())
    }
}

/// The default embedded database of `tos-pool run`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tos-pool-data/pool.db";

impl DatabaseSection {
    fn check(&self) -> anyhow::Result<()> {
        let given = [self.url.is_some(), self.url_env.is_some(), self.url_file.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given > 1 {
            bail!("database: set only one of url, url_env, url_file");
        }
        if let Some(url) = &self.url
            && crate::ledger::db::redact(url) != *url
        {
            bail!(
                "database.url carries a password: put the URL in an environment variable (url_env) or a file (url_file) instead"
            );
        }
        Ok(())
    }

    /// The database URL, read from where the configuration says.
    pub fn resolve_url(&self) -> anyhow::Result<String> {
        if let Some(var) = &self.url_env {
            return std::env::var(var)
                .with_context(|| format!("database.url_env: the environment variable {var} is not set"));
        }
        if let Some(path) = &self.url_file {
            let s = std::fs::read_to_string(path)
                .with_context(|| format!("database.url_file: cannot read {}", path.display()))?;
            return Ok(s.trim().to_owned());
        }
        Ok(self.url.clone().unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()))
    }

    /// Where the spool lives for `url`.
    pub fn spool_dir_for(&self, url: &str) -> std::path::PathBuf {
        if let Some(d) = &self.spool_dir {
            return d.clone();
        }
        match url.strip_prefix("sqlite://") {
            Some(path) => std::path::Path::new(path.split('?').next().unwrap_or(path))
                .parent()
                .map_or_else(|| "tos-pool-spool".into(), |p| p.join("spool")),
            None => "tos-pool-spool".into(),
        }
    }
}
