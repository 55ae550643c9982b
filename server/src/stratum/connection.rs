//! One miner connection: the tosminer state machine (protocol.md §2.2), its work and vardiff, and
//! the share path — cheap checks, then the pipeline, then the network target first (a block is
//! submitted to every node at once), then the share target. The miner hears a verdict only after
//! it exists.

use super::Context;
use crate::jobs::now_ms;
use futures::StreamExt;
use pool_core::address::Address;
use pool_core::jobs::{ConnectionWork, Freshness, IssuedWork, Job, PrecheckError};
use pool_core::policy::{ShareOutcome, SubmitLimiter};
use pool_core::stratum::{self, MAX_LINE, Method, Request, StratumError};
use pool_core::vardiff::Vardiff;
use pool_core::{Difficulty, ShareCheck};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

/// tosminer drops a notify that arrives before its devices exist: send it again this much later.
const RESEND_AFTER_AUTHORIZE: Duration = Duration::from_millis(1500);
/// A write that cannot complete in this time drops the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

struct Miner {
    address: Address,
    worker: String,
}

struct Conn {
    ctx: Arc<Context>,
    id: u64,
    peer: SocketAddr,
    out: BufWriter<Box<dyn AsyncWrite + Unpin + Send>>,
    subscribed: bool,
    miner: Option<Miner>,
    work: ConnectionWork,
    vardiff: Vardiff,
    /// The job last sent (to re-issue on a difficulty change) and when.
    current_job: Option<Arc<Job>>,
    last_notify_ms: u64,
    resend_at: Option<tokio::time::Instant>,
    /// Set at authorize: the first job sent afterwards (now, or when the first template arrives)
    /// is sent again a moment later.
    resend_first_job: bool,
    last_notify_line: String,
    limiter: SubmitLimiter,
    malformed: u32,
}

/// Checks a worker name: 1–32 of `A-Z a-z 0-9 _ -`.
fn valid_worker(w: &str) -> bool {
    (1..=32).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serves one connection (plain TCP or TLS) until it ends.
pub async fn run<S>(stream: S, peer: SocketAddr, id: u64, ctx: Arc<Context>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (read, write) = tokio::io::split(stream);
    let write: Box<dyn AsyncWrite + Unpin + Send> = Box::new(write);
    // Small buffers: 10,000+ connections per process.
    let mut lines = FramedRead::with_capacity(read, LinesCodec::new_with_max_length(MAX_LINE), 1024);
    let now = now_ms();
    let mut conn = Conn {
        work: ConnectionWork::new(ctx.epoch_ms, ctx.config.instance_id, id, 8),
        vardiff: Vardiff::new(ctx.config.vardiff.clone(), ctx.config.start_difficulty, now),
        ctx: ctx.clone(),
        id,
        peer,
        out: BufWriter::with_capacity(1024, write),
        subscribed: false,
        miner: None,
        current_job: None,
        last_notify_ms: 0,
        resend_at: None,
        resend_first_job: false,
        last_notify_line: String::new(),
        limiter: SubmitLimiter::new(ctx.config.submit_burst, ctx.config.submit_per_second, now),
        malformed: 0,
    };
    tracing::debug!(%peer, id, "connection opened");
    let mut latest = ctx.jobs.latest.clone();
    let mut shutdown = ctx.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut got_first = false;
    let first_deadline = tokio::time::Instant::now() + ctx.config.first_message_timeout;
    let mut idle_deadline = tokio::time::Instant::now() + ctx.config.idle_timeout;
    loop {
        let deadline = if got_first { idle_deadline } else { first_deadline };
        let resend = conn.resend_at;
        let step = tokio::select! {
            line = lines.next() => match line {
                Some(Ok(line)) => {
                    got_first = true;
                    idle_deadline = tokio::time::Instant::now() + ctx.config.idle_timeout;
                    conn.on_line(&line).await
                }
                Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                    let _ = conn.send(&stratum::error_reply(&Value::Null, StratumError::TooLarge)).await;
                    tracing::warn!(%peer, limit = MAX_LINE, "line too long; disconnecting");
                    Err(())
                }
                Some(Err(LinesCodecError::Io(_))) | None => Err(()),
            },
            changed = latest.changed() => {
                if changed.is_err() {
                    tracing::error!("the job dispatcher has stopped; closing the connection");
                    break;
                }
                let job = latest.borrow_and_update().clone();
                // The job authorize already sent may still show as unseen here: skip it.
                let already_sent = |j: &Arc<Job>| conn.current_job.as_ref().is_some_and(|c| Arc::ptr_eq(c, j));
                match job {
                    Some(job) if conn.miner.is_some() && !already_sent(&job) => conn.send_job(&job).await,
                    _ => Ok(()),
                }
            }
            _ = tick.tick() => conn.on_tick().await,
            _ = async { tokio::time::sleep_until(resend.expect("guarded")).await }, if resend.is_some() => {
                conn.resend_at = None;
                let line = conn.last_notify_line.clone();
                conn.send(&line).await
            }
            _ = tokio::time::sleep_until(deadline) => {
                tracing::debug!(%peer, "connection silent too long; closing");
                Err(())
            }
            _ = shutdown.changed() => {
                let _ = conn.send(&stratum::reconnect()).await;
                Err(())
            }
        };
        if step.is_err() {
            break;
        }
    }
    tracing::debug!(%peer, id, "connection closed");
}

impl Conn {
    /// Writes a line; a client that stops reading for `WRITE_TIMEOUT` is dropped rather than
    /// holding its task (and its memory) forever.
    async fn send(&mut self, line: &str) -> Result<(), ()> {
        let write = async {
            self.out.write_all(line.as_bytes()).await?;
            self.out.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(()),
            Err(_) => {
                tracing::debug!(peer = %self.peer, "client not reading; disconnecting");
                Err(())
            }
        }
    }

    async fn reply(&mut self, id: &Value, result: Result<Value, StratumError>) -> Result<(), ()> {
        let line = match result {
            Ok(v) => stratum::result_reply(id, v),
            Err(e) => stratum::error_reply(id, e),
        };
        self.send(&line).await
    }

    async fn on_line(&mut self, line: &str) -> Result<(), ()> {
        let req = match Request::parse(line) {
            Ok(r) => r,
            Err(e) => {
                self.send(&e.reply()).await?;
                self.malformed += 1;
                if self.malformed > self.ctx.config.malformed_limit {
                    tracing::warn!(peer = %self.peer, "too many malformed lines; banning the IP and disconnecting");
                    self.ctx.bans.lock().unwrap_or_else(|e| e.into_inner()).ban(self.peer.ip(), now_ms());
                    return Err(());
                }
                return Ok(());
            }
        };
        match req.method {
            Method::Subscribe { .. } => {
                self.subscribed = true;
                let sid = format!("{:x}", self.id);
                self.send(&stratum::subscribe_reply(&req.id, &sid, "00000000")).await?;
                let d = self.effective_difficulty(None);
                self.send(&stratum::set_difficulty(&d)).await
            }
            Method::Authorize { user, eth_proxy, .. } => self.authorize(&req.id, &user, eth_proxy).await,
            Method::Submit { job_id, nonce, .. } => self.submit(&req.id, &job_id, &nonce).await,
            Method::Ping => self.reply(&req.id, Ok(json!("pong"))).await,
            Method::Unknown(_) => self.reply(&req.id, Err(StratumError::MethodNotFound)).await,
        }
    }

    async fn authorize(&mut self, id: &Value, user: &str, eth_proxy: bool) -> Result<(), ()> {
        if !self.subscribed && !eth_proxy {
            return self.reply(id, Err(StratumError::NotSubscribed)).await;
        }
        let (addr, worker) = user.split_once('.').unwrap_or((user, "default"));
        let address = match Address::parse_normal(addr, self.ctx.config.network) {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(peer = %self.peer, %addr, error = %e, "authorize refused: bad address");
                return self
                    .send(&stratum::error_reply_with(
                        id,
                        StratumError::InvalidAddress,
                        &format!("Invalid TOS address: {e}"),
                    ))
                    .await;
            }
        };
        if !valid_worker(worker) {
            return self.reply(id, Err(StratumError::InvalidWorker)).await;
        }
        self.subscribed = true;
        tracing::info!(peer = %self.peer, address = %address, worker, "miner authorized");
        self.miner = Some(Miner { address, worker: worker.to_owned() });
        self.reply(id, Ok(json!(true))).await?;
        self.resend_first_job = true;
        let job = self.ctx.jobs.latest.borrow().clone();
        match job {
            Some(job) => self.send_job(&job).await,
            None => Ok(()), // no template yet: the first one is sent (twice) when it arrives
        }
    }

    /// The connection's difficulty, capped at the network difficulty (a share can never need more
    /// work than a block).
    fn effective_difficulty(&self, job: Option<&Job>) -> Difficulty {
        let d = self.vardiff.difficulty();
        match job.or(self.current_job.as_deref()) {
            Some(j) => d.min(j.template.network_difficulty),
            None => d,
        }
    }

    /// Sends `job` as fresh work: a new header for this connection, at its current difficulty.
    async fn send_job(&mut self, job: &Arc<Job>) -> Result<(), ()> {
        let d = self.effective_difficulty(Some(job));
        let (job_id, work) = self.work.issue(job, d);
        let line = stratum::notify(
            &job_id,
            &work.header.to_hex(),
            &work.target.to_hex64(),
            job.template.height,
            job.clean,
        );
        self.current_job = Some(job.clone());
        self.last_notify_ms = now_ms();
        self.last_notify_line = line.clone();
        if std::mem::take(&mut self.resend_first_job) {
            self.resend_at = Some(tokio::time::Instant::now() + RESEND_AFTER_AUTHORIZE);
        }
        self.send(&line).await
    }

    async fn on_tick(&mut self) -> Result<(), ()> {
        if self.miner.is_none() {
            return Ok(());
        }
        let now = now_ms();
        let retarget = self.vardiff.on_tick(now);
        let stale = now.saturating_sub(self.last_notify_ms) >= self.ctx.config.job_refresh.as_millis() as u64;
        if retarget.is_some() || stale {
            if let Some(d) = retarget {
                let d = self.effective_difficulty(None).min(d);
                self.send(&stratum::set_difficulty(&d)).await?;
            }
            let job = self.ctx.jobs.latest.borrow().clone().or_else(|| self.current_job.clone());
            if let Some(job) = job {
                self.send_job(&job).await?;
            }
        }
        Ok(())
    }

    async fn submit(&mut self, id: &Value, job_id: &str, nonce_hex: &str) -> Result<(), ()> {
        // 1. Authorized?
        if self.miner.is_none() {
            return self.reply(id, Err(StratumError::Unauthorized)).await;
        }
        if !self.limiter.allow(now_ms()) {
            return self.reply(id, Err(StratumError::RateLimited)).await;
        }
        // 2. Nonce well formed (16 hex)?
        let Some(nonce) = stratum::parse_nonce(nonce_hex) else {
            return self.reject(id, StratumError::InvalidParams).await;
        };
        // 3. Job known to this connection, nonce not used before?
        let work: IssuedWork = match self.work.precheck(job_id, nonce) {
            Ok(w) => w,
            Err(PrecheckError::UnknownJob) => return self.reject(id, StratumError::JobNotFound).await,
            Err(PrecheckError::Duplicate) => return self.reject(id, StratumError::Duplicate).await,
        };
        // 4. Freshness of the underlying template.
        let freshness = {
            let store = self.ctx.jobs.store.lock().unwrap_or_else(|e| e.into_inner());
            store.lookup(&work.job.id, now_ms()).map_or(Freshness::Stale, |(_, f)| f)
        };
        // 5. Verify (batched). Stale shares are hashed too: one may be a block.
        let header = work.header.with_nonce_bytes(nonce);
        let template = work.job.template.clone();
        let check = ShareCheck { header, share_target: work.target, network_target: template.network_target };
        let Ok(verdict) = self.ctx.pipeline.verify(check).await else {
            return Err(());
        };
        // 6. Network target first.
        if verdict.meets_network {
            self.ctx.stats.blocks_found.fetch_add(1, Ordering::Relaxed);
            let miner = self.miner.as_ref().expect("authorized");
            tracing::info!(
                height = template.height,
                block = %hex::encode(header.block_id()),
                finder = %miner.address,
                worker = %miner.worker,
                "BLOCK FOUND; submitting to every node"
            );
            let ctx = self.ctx.clone();
            let template_hex = template.template_hex.clone();
            tokio::spawn(async move {
                let r = ctx.upstreams.submit_block(&template_hex, &header.to_hex()).await;
                if r.accepted.is_empty() {
                    tracing::error!(errors = ?r.rejected, "block rejected by every node");
                } else {
                    ctx.stats.blocks_accepted.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(nodes = ?r.accepted, rejected = r.rejected.len(), "block accepted");
                }
                ctx.jobs.refresh_now.notify_one();
            });
        }
        // 7. Then the share target (a block always counts as a share).
        if !(verdict.meets_share || verdict.meets_network) {
            return self.reject(id, StratumError::LowDifficulty).await;
        }
        if freshness == Freshness::Stale && !verdict.meets_network {
            return self.reject(id, StratumError::JobNotFound).await;
        }
        self.judge(ShareOutcome::Valid)?;
        self.ctx.stats.accepted.fetch_add(1, Ordering::Relaxed);
        self.ctx
            .stats
            .accepted_difficulty
            .fetch_add(work.difficulty.value().to_u64().unwrap_or(u64::MAX), Ordering::Relaxed);
        self.reply(id, Ok(json!(true))).await?;
        // Vardiff: a change goes out as set_difficulty + a new job with the new target; shares on
        // the previous job (and its difficulty) stay valid until the miner switches.
        if let Some(d) = self.vardiff.on_share(now_ms()) {
            let job = self.ctx.jobs.latest.borrow().clone().or_else(|| self.current_job.clone());
            if let Some(job) = job {
                let d = d.min(job.template.network_difficulty);
                self.send(&stratum::set_difficulty(&d)).await?;
                self.send_job(&job).await?;
            }
        }
        Ok(())
    }

    async fn reject(&mut self, id: &Value, e: StratumError) -> Result<(), ()> {
        self.ctx.stats.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(peer = %self.peer, code = e.code(), "share rejected: {e}");
        self.reply(id, Err(e)).await?;
        let outcome =
            if e == StratumError::JobNotFound { ShareOutcome::Stale } else { ShareOutcome::Invalid };
        self.judge(outcome)
    }

    /// Feeds the ban list; a ban ends the connection (the IP is refused until it expires).
    fn judge(&mut self, outcome: ShareOutcome) -> Result<(), ()> {
        let banned =
            self.ctx.bans.lock().unwrap_or_else(|e| e.into_inner()).record(self.peer.ip(), outcome, now_ms());
        if banned {
            tracing::warn!(peer = %self.peer, "invalid-share ratio too high; IP banned");
            return Err(());
        }
        Ok(())
    }
}
