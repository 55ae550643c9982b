//! The node the leader's tasks ask about the chain: the healthy node with the highest topoheight
//! (then the others, best first), whose `get_info` answers and shows it on the pool's network. A
//! run asks every question of that one node, so the block answers and the stable heights they are
//! compared with come from the same view of the chain.

use crate::node::Upstreams;
use crate::node::client::NodeClient;
use crate::node::types::NodeInfo;
use pool_core::Network;

/// The chosen node and its `get_info`.
pub struct BestNode<'a> {
    pub client: &'a NodeClient,
    pub info: NodeInfo,
}

/// The best node that answers `get_info` on `network`, or why there is none.
pub async fn best_node(upstreams: &Upstreams, network: Network) -> anyhow::Result<BestNode<'_>> {
    let status = upstreams.status();
    let mut order: Vec<usize> = (0..status.len()).filter(|&i| status[i].refused.is_none()).collect();
    // Stable sort: healthy first, then the highest topoheight; ties keep the configured order.
    order.sort_by_key(|&i| (!status[i].healthy, std::cmp::Reverse(status[i].topoheight)));
    let mut errors = Vec::new();
    for i in order {
        let client = &upstreams.nodes()[i].client;
        match client.get_info().await {
            Ok(info) if Network::from_node_name(&info.network) == Some(network) => {
                return Ok(BestNode { client, info });
            }
            Ok(info) => errors.push(format!("{} is on network {:?}", client.url, info.network)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        anyhow::bail!("no usable node (every configured node is refused; see the log)");
    }
    anyhow::bail!("no node answered get_info on the pool's network: {}", errors.join("; "))
}
