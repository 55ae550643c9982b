//! # tos-pool (the server library behind the `tos-pool` binary)
//!
//! One module per subsystem; each subsystem is a task owning its state, talking through typed
//! channels, spawned under one [`lifecycle::Lifecycle`] and stopped in order.
//!
//! | module | what it holds |
//! |---|---|
//! | [`pool`] | assembling a running [`pool::Pool`] and its ordered shutdown |
//! | [`lifecycle`] | one cancellation token and task tracker for every task; the shutdown phases |
//! | [`config`] | the TOML configuration and its checks |
//! | [`node`] | JSON-RPC client to TOS nodes (typed answers, https); upstream health, template source, broadcast; WebSocket push |
//! | [`job_dispatcher`] | the job dispatcher task: templates → jobs (new height at once, same height at most every 5 s) |
//! | [`stratum`] | the Stratum server: accept loop, per-IP limits, one task per connection (I/O and session state) |
//! | [`share_stage`] | the share stage: batch, verify, judge, record in the [`share_stage::ShareSink`], answer |
//! | [`ledger`] | PostgreSQL / SQLite storage: shares (group commit, spool when the database is down), blocks, balances, payments |
//! | [`wallet`] | JSON-RPC client to the TOS wallet (Basic auth from env/file, `build_transaction` without broadcast) |
//! | [`block_submitter`] | the block-submission task: every node at once, retries, full log when all refuse |
//! | [`admin`] | the admin API on its own listener: hashed API keys, verifier switch, bans, payouts, redacted config |
//! | [`events`] | the event bus: blocks, payments, verifier and node events for the WebSocket feed and webhooks |
//! | [`http`] | the public web server: REST API, WebSocket feed, OpenAPI document, dashboard |
//! | [`webhooks`] | configured events POSTed as JSON: bounded queue, retries with backoff, never blocking |
//! | [`stats`] | pool-wide counters |
//! | [`status_watch`] | verifier and node transitions published as events |
//! | [`metrics`] | Prometheus `GET /metrics` (text format 0.0.4) from the pool's counters and the ledger |
//! | [`log_limit`] | attacker text clipped in logs; repeated events summarised |
//! | [`clock`] | the one wall clock (`pool-core` is handed the time) |
//! | [`fd_limit`] | raising the open-file limit at start |
//! | [`failpoint`] | crash points for the kill -9 tests (`TOS_POOL_FAILPOINT`) |
//! | [`devnet`] | the simulated node and demo miners |
//! | [`cli`] | the binary's subcommands |
//! | [`rpc`] | JSON-RPC envelopes |

pub mod admin;
pub mod block_submitter;
pub mod cli;
pub mod clock;
pub mod config;
pub mod devnet;
pub mod events;
pub mod failpoint;
pub mod fd_limit;
pub mod http;
pub mod job_dispatcher;
pub mod ledger;
pub mod lifecycle;
pub mod log_limit;
pub mod metrics;
pub mod node;
pub mod pool;
pub mod rpc;
pub mod share_stage;
pub mod stats;
pub mod status_watch;
pub mod stratum;
pub mod wallet;
pub mod webhooks;
