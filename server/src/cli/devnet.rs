//! `tos-pool devnet` (simulated node + pool + demo miners) and `tos-pool devnet-node`.

use super::{report, runtime};
use crate::devnet::{self, DevnetArgs};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct DevnetCmd {
    /// Stratum listen address.
    #[arg(long, default_value = "127.0.0.1:3333")]
    stratum: SocketAddr,
    /// Web API and dashboard listen address (8080 is the TOS daemon's RPC port, hence 8088).
    #[arg(long, default_value = "127.0.0.1:8088")]
    http: SocketAddr,
    /// The admin API (and /metrics) listen address; its key is written to <data-dir>/admin.key.
    #[arg(long, default_value = "127.0.0.1:8089")]
    admin: SocketAddr,
    /// The simulated node's JSON-RPC address.
    #[arg(long, default_value = "127.0.0.1:18080")]
    node_rpc: SocketAddr,
    /// The simulated wallet's JSON-RPC address (the payer pays through it).
    #[arg(long, default_value = "127.0.0.1:18081")]
    wallet_rpc: SocketAddr,
    /// Built-in demo miners.
    #[arg(long, default_value_t = 2)]
    demo_miners: usize,
    /// Hashes per second per demo miner (keeps CPU for the pool).
    #[arg(long, default_value_t = 15_000)]
    demo_hashrate: u64,
    /// Where the embedded database (SQLite) and the spool live; started afresh every run, as the
    /// simulated chain is.
    #[arg(long, default_value = "devnet-data")]
    data_dir: PathBuf,
    /// Verifier backend: auto | gpu | cpu.
    #[arg(long, env = "TOS_POOL_VERIFIER", default_value = "cpu")]
    verifier: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

#[derive(Args)]
pub struct DevnetNodeCmd {
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1:18080")]
    rpc: SocketAddr,
    /// Change the mempool (the template's transactions) this many times a second, as a busy
    /// network does; 0 = never.
    #[arg(long, default_value_t = 0)]
    tx_churn_per_second: u32,
}

pub fn devnet(args: DevnetCmd) -> ExitCode {
    report(runtime().block_on(devnet::run(DevnetArgs {
        data_dir: args.data_dir,
        stratum: args.stratum,
        http: Some(args.http),
        admin: args.admin,
        node_rpc: args.node_rpc,
        wallet_rpc: args.wallet_rpc,
        demo_miners: args.demo_miners,
        demo_hashrate: args.demo_hashrate,
        verifier: args.verifier,
        duration: args.seconds.map(Duration::from_secs),
    })))
}

pub fn devnet_node(args: DevnetNodeCmd) -> ExitCode {
    report(runtime().block_on(async move {
        let node = devnet::node::DevnetNode::new();
        let listener = devnet::node::DevnetNode::bind(args.rpc).await?;
        println!(
            "simulated TOS devnet node: http://{}/json_rpc · pool address for templates: {}",
            listener.local_addr()?,
            devnet::pool_address()
        );
        if args.tx_churn_per_second > 0 {
            tokio::spawn(node.clone().churn_mempool(args.tx_churn_per_second));
        }
        tokio::select! {
            r = node.serve(listener) => r?,
            _ = super::wait_for_signal() => {}
        }
        Ok(())
    }))
}
