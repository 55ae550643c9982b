//! Talking to TOS nodes: the JSON-RPC client ([`client`]) and its typed answers ([`types`]), the
//! set of upstreams with health, template source and block broadcast ([`upstreams`]), and the
//! WebSocket push trigger ([`push`]).

pub mod client;
pub mod push;
pub mod types;
pub mod upstreams;

pub use client::NodeError;
pub use upstreams::Upstreams;
