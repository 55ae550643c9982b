//! Talking to TOS nodes: the JSON-RPC client ([`client`]) and the set of upstreams with health and
//! block broadcast ([`upstreams`]).

pub mod client;
pub mod upstreams;

pub use upstreams::Upstreams;
