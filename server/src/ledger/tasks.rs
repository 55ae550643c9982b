//! The singletons the leader runs (see [`super::leader`]), assembled from the configuration.

use super::Ledger;
use super::leader::LeaderTask;
use crate::config::Checked;
use crate::node::Upstreams;
use std::sync::Arc;

/// What the singletons need.
#[derive(Clone)]
pub struct SingletonContext {
    pub ledger: Arc<Ledger>,
    pub upstreams: Upstreams,
    pub config: Checked,
}

/// The leader's tasks.
pub fn singletons(ctx: &SingletonContext) -> Vec<Arc<dyn LeaderTask>> {
    let _ = ctx;
    Vec::new()
}
