//! # pool-core
//!
//! The pure logic of tos-pool: no async runtime, no sockets, no database. Every module is
//! unit-testable without I/O.
//!
//! | module | what it holds |
//! |---|---|
//! | [`hash`] | TOS Hash V3: the literal reference and the fast, runtime-dispatched path |
//! | [`u256`] | 256-bit unsigned integers (difficulty is never squeezed into `u64`) |
//! | [`difficulty`] | the node's exact difficulty ↔ target rule |
//! | [`work`] | block templates, work hash, the 112-byte `MinerWork`, block ids |
//! | [`jobs`] | templates, jobs and their freshness (by height; expired when no node answers) |
//! | [`issue`] | work issued to one connection: unique headers, job-id lookup, duplicate nonces |
//! | [`share`] | the pure share judge: `Result<Accepted, ShareRejection>`, the job-race retry |
//! | [`policy`] | abuse protection: rate limits with in-flight allowance, sliding-window bans by IP / IPv6 /64 |
//! | [`proxy`] | the PROXY protocol v1/v2 header, parsed without over-reading |
//! | [`vardiff`] | per-connection difficulty aiming at 10–20 shares/min |
//! | [`address`] | TOS bech32 addresses: parse, validate, encode |
//! | [`verify`] | the verifier engine API: a batch of shares in, one verdict each out; the CPU backend |
//! | [`engine`] | `VerifyEngine`: `auto | gpu | cpu`, runtime switch, CPU re-checks of GPU hashes, fallback |
//! | [`stratum`] | the Stratum V1 dialect tosminer speaks: parse requests, build replies and notifications |
//! | [`hexutil`] | strict fixed-length hex decoding |
//! | [`histogram`] | lock-free fixed-bucket histograms (verify latency, batch sizes) for metrics |
//! | [`payout`] | payout plans: thresholds, address checks, ≤ 500-recipient batches, tx fees, the wallet bound |
//! | [`reward`] | a block's money: fee, PPLNS window, PROP/PPS/SOLO splits, PPS per share, effort — exact, conserving |

pub mod address;
pub mod difficulty;
pub mod engine;
pub mod hash;
pub mod hexutil;
pub mod histogram;
pub mod issue;
pub mod jobs;
pub mod payout;
pub mod policy;
pub mod proxy;
pub mod reward;
pub mod share;
pub mod stratum;
pub mod u256;
pub mod vardiff;
pub mod verify;
pub mod work;

pub use address::{Address, AddressError, Network};
pub use difficulty::{Difficulty, DifficultyError, Target};
pub use engine::{BackendMode, GpuTimeout, VerifyEngine};
pub use u256::U256;
pub use verify::{CpuImpl, CpuVerifier, ShareCheck, Verdict, VerifyBackend, VerifyError};
pub use work::{BlockTemplate, MinerWork};

#[cfg(test)]
mod testutil;
