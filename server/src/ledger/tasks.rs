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

/// The leader's tasks. Fails when a configured task cannot be set up (e.g. the wallet
/// credentials cannot be read): the pool then refuses to start, naming it.
pub fn singletons(ctx: &SingletonContext) -> anyhow::Result<Vec<Arc<dyn LeaderTask>>> {
    let mut tasks: Vec<Arc<dyn LeaderTask>> = Vec::new();
    tasks.extend(super::payer::task(&ctx.ledger, &ctx.upstreams, &ctx.config)?);
    Ok(tasks)
}
