//! The singletons the leader runs (see [`super::leader`]), assembled from the configuration.

use super::Ledger;
use super::leader::LeaderTask;
use crate::config::Checked;
use crate::events::EventBus;
use crate::node::Upstreams;
use std::sync::Arc;

/// What the singletons need.
#[derive(Clone)]
pub struct SingletonContext {
    pub ledger: Arc<Ledger>,
    pub upstreams: Upstreams,
    pub config: Checked,
    /// Where the unlocker and the payer publish what they did.
    pub bus: EventBus,
}

/// The leader's tasks. Fails when a configured task cannot be set up (e.g. the wallet
/// credentials cannot be read): the pool then refuses to start, naming it.
pub fn singletons(ctx: &SingletonContext) -> anyhow::Result<Vec<Arc<dyn LeaderTask>>> {
    let (l, u, c, bus) = (&ctx.ledger, &ctx.upstreams, &ctx.config, &ctx.bus);
    let mut tasks: Vec<Arc<dyn LeaderTask>> = vec![
        Arc::new(
            super::unlocker::Unlocker::new(
                l.clone(),
                u.clone(),
                c.rewards.clone(),
                super::unlocker::UnlockRules::from_config(c),
            )
            .with_events(bus.clone()),
        ),
        Arc::new(super::pps::PpsCrediter::new(l.clone(), u.clone(), super::pps::PpsRules::from_config(c))),
        Arc::new(super::prune::Pruner::new(l.clone(), u.clone(), super::prune::PruneRules::from_config(c))),
    ];
    tasks.extend(super::payer::task(l, u, c, bus)?);
    Ok(tasks)
}
