//! The TOS wallet's JSON-RPC (protocol.md §4), which holds the pool's keys and signs payouts.
//!
//! * [`client`]: JSON-RPC 2.0 over HTTP(S) with HTTP Basic auth; typed calls `is_online`,
//!   `get_balance` and `build_transaction` — always with `broadcast: false, tx_as_hex: true`, so
//!   the pool stores the signed transaction (hash and hex) *before* anything can reach the network
//!   and broadcasts it itself through the daemon's `submit_transaction`.
//! * [`credentials`]: the `user:password` of the wallet's `--rpc-username/--rpc-password`, read
//!   from an environment variable or a file — never from the configuration, never logged.

pub mod client;
pub mod credentials;

pub use client::{BuiltTransaction, Transfer, WalletClient, WalletError};
pub use credentials::Credentials;
