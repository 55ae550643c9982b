//! One miner connection: the tosminer state machine (protocol.md §2.2), its work, vardiff and
//! limits — I/O and session state only. A share's cheap checks happen here (authorized, rate,
//! nonce, job id, duplicate: `pool_core::issue`); its verdict comes from the share stage, and the
//! connection keeps reading (and sending jobs) while verdicts are pending. Answers are written in
//! the order the shares came.
//!
//! Shutdown: stop reading, write the answers still owed, send `client.reconnect`, close.

use super::Context;
use crate::clock::now_ms;
use crate::log_limit::clip;
use crate::share_stage::{MinerLogin, ShareAnswer, SubmittedShare};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use pool_core::address::Address;
use pool_core::issue::{ConnectionWork, Issue, Lookup};
use pool_core::jobs::Job;
use pool_core::policy::{ShareOutcome, TokenBucket, in_flight_allowance};
use pool_core::share::ShareRejection;
use pool_core::stratum::{self, MAX_LINE, Method, Request, RequestId, StratumError};
use pool_core::vardiff::{Retarget, Vardiff};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};

/// tosminer drops a notify that arrives before its devices exist: send fresh work again this much
/// later, unless other work went out meanwhile.
const RESEND_AFTER_AUTHORIZE: Duration = Duration::from_millis(1500);
/// A write that cannot complete in this time drops the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type PendingAnswer = BoxFuture<'static, (RequestId, ShareAnswer)>;

struct Session {
    ctx: Arc<Context>,
    id: u64,
    peer: SocketAddr,
    out: BufWriter<Box<dyn AsyncWrite + Unpin + Send>>,
    subscribed: bool,
    miner: Option<Arc<MinerLogin>>,
    work: ConnectionWork,
    vardiff: Vardiff,
    /// The job last issued (re-issued on a difficulty change).
    current_job: Option<Arc<Job>>,
    last_notify_ms: u64,
    /// After authorize: when to send fresh work again, if the issue count is still this.
    resend: Option<(tokio::time::Instant, u32)>,
    /// Set at authorize until the first work goes out (arms `resend`).
    awaiting_first_issue: bool,
    submits: TokenBucket,
    authorizes: TokenBucket,
    malformed: u32,
    told_node_lost: bool,
    pending: FuturesOrdered<PendingAnswer>,
}

/// Checks a worker name: 1–32 of `A-Z a-z 0-9 _ -`.
fn valid_worker(w: &str) -> bool {
    (1..=32).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The reward scheme a login asks for in its password (`scheme=solo`, among comma-separated
/// options; anything else in the password is ignored, tosminer sends `x`).
fn login_scheme(
    password: Option<&str>,
    offered: &[pool_core::reward::Scheme],
    default: pool_core::reward::Scheme,
) -> Result<pool_core::reward::Scheme, String> {
    let asked =
        password.unwrap_or("").split([',', ';', ' ']).find_map(|opt| opt.trim().strip_prefix("scheme="));
    let Some(asked) = asked else { return Ok(default) };
    let list = || offered.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
    match asked.parse::<pool_core::reward::Scheme>() {
        Ok(s) if offered.contains(&s) => Ok(s),
        Ok(s) => Err(format!("Reward scheme {s} is not offered by this pool (offered: {})", list())),
        Err(_) => Err(format!("Unknown reward scheme {:?} (offered: {})", clip(asked), list())),
    }
}

/// Serves one connection (plain TCP, TLS, or any duplex stream in tests) until it ends.
pub async fn serve_connection<S>(stream: S, peer: SocketAddr, ctx: Arc<Context>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = ctx.next_connection_id();
    let (read, write) = tokio::io::split(stream);
    let write: Box<dyn AsyncWrite + Unpin + Send> = Box::new(write);
    // Small buffers: 10,000+ connections per process.
    let codec = AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), b"\n".to_vec(), MAX_LINE);
    let mut lines = FramedRead::with_capacity(read, codec, 1024);
    let now = now_ms();
    let c = &ctx.config;
    let mut s = Session {
        work: ConnectionWork::new(ctx.epoch_ms, c.instance_id, id, c.issues_kept),
        vardiff: Vardiff::new(c.vardiff.clone(), c.start_difficulty, now),
        ctx: ctx.clone(),
        id,
        peer,
        out: BufWriter::with_capacity(1024, write),
        subscribed: false,
        miner: None,
        current_job: None,
        last_notify_ms: 0,
        resend: None,
        awaiting_first_issue: false,
        submits: TokenBucket::new(c.submit_burst, c.submit_per_second, now),
        authorizes: TokenBucket::per_minute(c.authorize_burst, c.authorize_per_minute, now),
        malformed: 0,
        told_node_lost: false,
        pending: FuturesOrdered::new(),
    };
    tracing::debug!(%peer, id, "connection opened");
    let mut latest = ctx.jobs.latest.clone();
    let mut node_lost = ctx.jobs.node_lost.clone();
    let stop = ctx.lifecycle.token(crate::lifecycle::Phase::Connections);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut got_first = false;
    let first_deadline = tokio::time::Instant::now() + ctx.config.first_message_timeout;
    let mut idle_deadline = tokio::time::Instant::now() + ctx.config.idle_timeout;
    loop {
        let deadline = if got_first { idle_deadline } else { first_deadline };
        let resend = s.resend.map(|(at, _)| at);
        let can_read = s.pending.len() < ctx.config.max_in_flight;
        let step = tokio::select! {
            biased;
            _ = stop.cancelled() => {
                s.finish().await;
                break;
            }
            Some((rid, answer)) = s.pending.next(), if !s.pending.is_empty() => s.on_answer(&rid, answer).await,
            line = lines.next(), if can_read => match line {
                Some(Ok(line)) => {
                    if stratum::is_blank(&line) {
                        Ok(()) // a keep-alive
                    } else {
                        got_first = true;
                        idle_deadline = tokio::time::Instant::now() + ctx.config.idle_timeout;
                        s.on_line(&line).await
                    }
                }
                Some(Err(AnyDelimiterCodecError::MaxChunkLengthExceeded)) => {
                    let _ = s.send(&stratum::error_reply(&RequestId::null(), StratumError::TooLarge)).await;
                    ctx.events.note("line_too_long", || peer.ip().to_string());
                    Err(())
                }
                Some(Err(AnyDelimiterCodecError::Io(_))) | None => Err(()),
            },
            changed = latest.changed() => {
                if changed.is_err() {
                    tracing::debug!("the job dispatcher has stopped; closing the connection");
                    break;
                }
                let job = latest.borrow_and_update().clone();
                // The job authorize already issued may still show as unseen here: skip it.
                let already = |j: &Arc<Job>| s.current_job.as_ref().is_some_and(|c| Arc::ptr_eq(c, j));
                match job {
                    Some(job) if s.miner.is_some() && !already(&job) => s.issue(&job).await,
                    _ => Ok(()),
                }
            }
            changed = node_lost.changed() => {
                if changed.is_err() {
                    break;
                }
                let lost = *node_lost.borrow_and_update();
                s.on_node_lost(lost).await
            }
            _ = tick.tick() => s.on_tick().await,
            _ = async { tokio::time::sleep_until(resend.expect("guarded")).await }, if resend.is_some() => {
                s.on_resend().await
            }
            _ = tokio::time::sleep_until(deadline) => {
                tracing::debug!(%peer, "connection silent too long; closing");
                Err(())
            }
        };
        if step.is_err() {
            break;
        }
    }
    tracing::debug!(%peer, id, "connection closed");
}

impl Session {
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

    async fn reply(
        &mut self,
        id: &RequestId,
        result: Result<serde_json::Value, StratumError>,
    ) -> Result<(), ()> {
        let line = match result {
            Ok(v) => stratum::result_reply(id, v),
            Err(e) => stratum::error_reply(id, e),
        };
        self.send(&line).await
    }

    /// Shutdown: the answers still owed, then `client.reconnect`.
    async fn finish(&mut self) {
        while let Some((rid, answer)) = self.pending.next().await {
            if self.on_answer(&rid, answer).await.is_err() {
                return;
            }
        }
        let _ = self.send(&stratum::reconnect()).await;
    }

    /// Counts junk (malformed lines, bad logins); too much bans the IP.
    fn junk(&mut self, what: &'static str) -> Result<(), ()> {
        self.malformed += 1;
        if self.malformed > self.ctx.config.malformed_limit {
            self.ctx.events.note("ip_banned_for_junk", || format!("{} ({what})", self.peer.ip()));
            self.ctx.bans().ban(self.peer.ip(), now_ms());
            self.ctx.stats.bans.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        Ok(())
    }

    async fn on_line(&mut self, line: &[u8]) -> Result<(), ()> {
        let req = match Request::parse_bytes(line) {
            Ok(r) => r,
            Err(e) => {
                self.send(&e.reply()).await?;
                self.ctx.events.note("malformed_line", || String::from_utf8_lossy(line).into_owned());
                return self.junk("malformed lines");
            }
        };
        match req.method {
            Method::Subscribe { .. } => {
                self.subscribed = true;
                let sid = format!("{:x}", self.id);
                self.send(&stratum::subscribe_reply(&req.id, &sid, "00000000")).await?;
                let d = self.vardiff.difficulty();
                self.send(&stratum::set_difficulty(&d)).await
            }
            Method::Authorize { user, password, eth_proxy } => {
                self.authorize(&req.id, &user, password.as_deref(), eth_proxy).await
            }
            Method::Submit { job_id, nonce, .. } => self.submit(req.id, &job_id, &nonce).await,
            Method::Ping => self.reply(&req.id, Ok(json!("pong"))).await,
            Method::Unknown(_) => self.reply(&req.id, Err(StratumError::MethodNotFound)).await,
        }
    }

    async fn authorize(
        &mut self,
        id: &RequestId,
        user: &str,
        password: Option<&str>,
        eth_proxy: bool,
    ) -> Result<(), ()> {
        if !self.authorizes.allow(now_ms()) {
            self.reply(id, Err(StratumError::AuthorizeLimited)).await?;
            self.ctx.events.note("authorize_rate_limited", || self.peer.ip().to_string());
            return self.junk("authorize flood");
        }
        if !self.subscribed && !eth_proxy {
            return self.reply(id, Err(StratumError::NotSubscribed)).await;
        }
        let (addr, worker) = user.split_once('.').unwrap_or((user, "default"));
        if let Some(m) = &self.miner {
            // Already authorized: the same login again is fine (and sends no new job); another
            // login needs another connection.
            if m.address.to_string() == addr && m.worker == worker {
                return self.reply(id, Ok(json!(true))).await;
            }
            self.send(&stratum::error_reply_with(
                id,
                StratumError::InvalidWorker,
                "Already authorized with another login on this connection; reconnect to change it",
            ))
            .await?;
            return self.junk("re-authorize as another login");
        }
        let address = match Address::parse_normal(addr, self.ctx.config.network) {
            Ok(a) => a,
            Err(e) => {
                self.ctx
                    .events
                    .note("authorize_bad_address", || format!("{}: {} ({e})", self.peer.ip(), clip(addr)));
                self.send(&stratum::error_reply_with(
                    id,
                    StratumError::InvalidAddress,
                    &format!("Invalid TOS address: {e}"),
                ))
                .await?;
                return self.junk("bad logins");
            }
        };
        if self.ctx.is_address_banned(&address.to_string()) {
            self.ctx.events.note("authorize_banned_address", || format!("{}: {address}", self.peer.ip()));
            return self
                .send(&stratum::error_reply_with(
                    id,
                    StratumError::Unauthorized,
                    "This address is banned by the pool operator",
                ))
                .await;
        }
        if !valid_worker(worker) {
            self.ctx.events.note("authorize_bad_worker", || format!("{}: {}", self.peer.ip(), clip(worker)));
            self.reply(id, Err(StratumError::InvalidWorker)).await?;
            return self.junk("bad logins");
        }
        let scheme = match login_scheme(password, &self.ctx.config.schemes, self.ctx.config.default_scheme) {
            Ok(s) => s,
            Err(msg) => {
                return self.send(&stratum::error_reply_with(id, StratumError::InvalidParams, &msg)).await;
            }
        };
        self.subscribed = true;
        tracing::info!(peer = %self.peer, address = %address, worker, "miner authorized");
        self.miner = Some(Arc::new(MinerLogin {
            address,
            worker: worker.to_owned(),
            scheme,
            connection: self.id,
            ip: self.peer.ip(),
        }));
        self.reply(id, Ok(json!(true))).await?;
        self.awaiting_first_issue = true;
        let job = self.ctx.jobs.latest.borrow().clone();
        match job {
            Some(job) => self.issue(&job).await,
            None => Ok(()), // no template yet: the first one is issued (and re-issued) when it arrives
        }
    }

    /// The dispatcher's newest job, or the one last issued.
    fn newest_job(&self) -> Option<Arc<Job>> {
        let latest = self.ctx.jobs.latest.borrow().clone();
        latest.or_else(|| self.current_job.clone())
    }

    /// Issues `job` as fresh work: a new header for this connection, at its current difficulty.
    async fn issue(&mut self, job: &Arc<Job>) -> Result<(), ()> {
        if let Some(d) = self.vardiff.set_ceiling(job.template.network_difficulty) {
            self.send(&stratum::set_difficulty(&d)).await?;
        }
        let d = self.vardiff.difficulty();
        let now = now_ms();
        let issue = self.work.issue(job, d, now);
        let line = stratum::notify(
            &issue.id,
            &issue.header.to_hex(),
            &issue.target.to_hex64(),
            job.template.height,
            job.clean,
        );
        self.current_job = Some(job.clone());
        self.last_notify_ms = now;
        if std::mem::take(&mut self.awaiting_first_issue) {
            self.resend =
                Some((tokio::time::Instant::now() + RESEND_AFTER_AUTHORIZE, self.work.issued_count()));
        }
        self.send(&line).await
    }

    /// tosminer's devices start after authorize and drop work that came before them: fresh work
    /// (a new header, so the restarted nonces are not duplicates), but only if no other work went
    /// out since.
    async fn on_resend(&mut self) -> Result<(), ()> {
        let Some((_, count)) = self.resend.take() else { return Ok(()) };
        if self.work.issued_count() != count {
            return Ok(());
        }
        match self.newest_job() {
            Some(job) => self.issue(&job).await,
            None => Ok(()),
        }
    }

    async fn on_tick(&mut self) -> Result<(), ()> {
        if self.miner.is_none() {
            return Ok(());
        }
        let now = now_ms();
        let retarget = self.vardiff.on_tick(now);
        let stale = now.saturating_sub(self.last_notify_ms) >= self.ctx.config.job_refresh.as_millis() as u64;
        if retarget.is_some() || stale {
            self.retarget(retarget).await?;
        }
        Ok(())
    }

    /// Sends a difficulty change (if any) and fresh work at the new difficulty.
    async fn retarget(&mut self, retarget: Option<Retarget>) -> Result<(), ()> {
        if let Some(r) = retarget {
            if self.work.latest().is_some_and(|i| r.difficulty > i.difficulty) {
                // Shares found at the old difficulty are on their way: let them through.
                self.submits.grant(in_flight_allowance(r.old_shares_per_second));
            }
            self.send(&stratum::set_difficulty(&r.difficulty)).await?;
        }
        match self.newest_job() {
            Some(job) => self.issue(&job).await,
            None => Ok(()),
        }
    }

    async fn on_node_lost(&mut self, lost: bool) -> Result<(), ()> {
        if self.miner.is_none() || lost == self.told_node_lost {
            return Ok(());
        }
        self.told_node_lost = lost;
        let text = if lost {
            "tos-pool: the pool has lost contact with its TOS nodes; shares are refused as stale until a node is back"
        } else {
            "tos-pool: the pool's TOS node is back; shares are credited again"
        };
        self.send(&stratum::show_message(text)).await
    }

    /// A share refused before it reached the share stage.
    async fn refuse(&mut self, id: &RequestId, r: ShareRejection) -> Result<(), ()> {
        self.ctx.stats.reject(r);
        self.reply(id, Err(r.wire())).await?;
        self.judge(r.ban_outcome())
    }

    async fn submit(&mut self, id: RequestId, job_id: &str, nonce_hex: &str) -> Result<(), ()> {
        let Some(miner) = self.miner.clone() else {
            return self.refuse(&id, ShareRejection::Unauthorized).await;
        };
        let now = now_ms();
        if !self.submits.allow(now) {
            return self.refuse(&id, ShareRejection::RateLimited).await;
        }
        let Some(nonce) = stratum::parse_nonce(nonce_hex) else {
            return self.refuse(&id, ShareRejection::Malformed).await;
        };
        let issue: Arc<Issue> = match self.work.lookup(job_id) {
            Lookup::Found(i) => i,
            Lookup::Forgotten => return self.refuse(&id, ShareRejection::Stale).await,
            Lookup::Unknown => return self.refuse(&id, ShareRejection::UnknownJob).await,
        };
        if !issue.claim(nonce) {
            return self.refuse(&id, ShareRejection::Duplicate).await;
        }
        let newest = self.work.latest().is_some_and(|l| Arc::ptr_eq(l, &issue));
        let previous = if newest { self.work.before_latest().cloned() } else { None };
        let share = SubmittedShare { miner, issue, previous, nonce, received_ms: now };
        let Ok(answer) = self.ctx.stage.submit(share).await else {
            return Err(()); // the stage has stopped: shutting down
        };
        self.pending.push_back(Box::pin(async move {
            (id, answer.await.unwrap_or(Err(ShareRejection::NotRecorded)))
        }));
        Ok(())
    }

    /// The stage's verdict on a share: the reply, then the session's bookkeeping.
    async fn on_answer(&mut self, id: &RequestId, answer: ShareAnswer) -> Result<(), ()> {
        match answer {
            Ok(accepted) => {
                self.reply(id, Ok(json!(true))).await?;
                self.judge(ShareOutcome::Valid)?;
                // Vardiff: a change goes out as set_difficulty + fresh work with the new target;
                // work already issued keeps its own difficulty until the miner switches.
                if let Some(r) = self.vardiff.on_share(now_ms(), accepted.difficulty) {
                    self.retarget(Some(r)).await?;
                }
                Ok(())
            }
            Err(r) => {
                tracing::debug!(peer = %self.peer, code = r.wire().code(), "share rejected: {r}");
                self.reply(id, Err(r.wire())).await?;
                self.judge(r.ban_outcome())
            }
        }
    }

    /// Feeds the ban list; a ban ends the connection (the IP is refused until it expires).
    fn judge(&mut self, outcome: ShareOutcome) -> Result<(), ()> {
        let banned = self.ctx.bans().record(self.peer.ip(), outcome, now_ms());
        if banned {
            self.ctx.stats.bans.fetch_add(1, Ordering::Relaxed);
            self.ctx.events.note("ip_banned_for_invalid_shares", || self.peer.ip().to_string());
            return Err(());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::login_scheme;
    use pool_core::reward::Scheme;

    #[test]
    fn the_login_form_chooses_an_offered_scheme() {
        let offered = [Scheme::Pplns, Scheme::Solo];
        assert_eq!(login_scheme(None, &offered, Scheme::Pplns), Ok(Scheme::Pplns));
        assert_eq!(login_scheme(Some("x"), &offered, Scheme::Pplns), Ok(Scheme::Pplns));
        assert_eq!(login_scheme(Some("scheme=solo"), &offered, Scheme::Pplns), Ok(Scheme::Solo));
        assert_eq!(login_scheme(Some("d=5000,scheme=SOLO"), &offered, Scheme::Pplns), Ok(Scheme::Solo));
        assert!(
            login_scheme(Some("scheme=pps"), &offered, Scheme::Pplns).unwrap_err().contains("not offered")
        );
        assert!(login_scheme(Some("scheme=fpps"), &offered, Scheme::Pplns).unwrap_err().contains("Unknown"));
    }
}
