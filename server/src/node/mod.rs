//! Talking to TOS nodes: the JSON-RPC client ([`client`]) and its typed answers ([`types`]), the
//! set of upstreams with health, template source and block broadcast ([`upstreams`]), the
//! WebSocket push trigger ([`push`]), and payout transactions: submitting them and finding them
//! ([`transactions`]).

pub mod client;
pub mod push;
pub mod transactions;
pub mod types;
pub mod upstreams;

pub use client::NodeError;
pub use upstreams::Upstreams;
