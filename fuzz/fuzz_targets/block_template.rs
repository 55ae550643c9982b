//! The node's block template (protocol.md §1.1) on arbitrary input, as raw bytes and, when the
//! input is UTF-8, as the hex string `get_block_template` returns. Every template that parses must
//! serialize back to exactly the bytes it came from (the pool submits the template it was given),
//! and its work hash and `MinerWork` must be computable and consistent with its fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool_core::work::{
    BlockTemplate, EXTRA_NONCE_SIZE, MINER_WORK_SIZE, MinerWork, TIPS_LIMIT, VRF_DATA_SIZE,
};
use tos_pool_fuzz as _; // the allocation guard

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = BlockTemplate::from_bytes(data) {
        check(&t, data);
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(t) = BlockTemplate::from_hex(s)
    {
        let bytes = hex::decode(s).expect("from_hex accepted it, so it is hex");
        check(&t, &bytes);
    }
});

fn check(t: &BlockTemplate, bytes: &[u8]) {
    assert_eq!(t.to_bytes(), bytes, "serialization does not round-trip");
    assert_eq!(BlockTemplate::from_hex(&t.to_hex()).as_ref(), Ok(t));
    let tips = t.tips.len();
    assert!(tips <= TIPS_LIMIT);
    let fixed = 1 + 8 + 8 + 8 + EXTRA_NONCE_SIZE + 1 + 32 * tips + 2 + 32 * t.txs.len() + 32;
    let vrf = match &t.vrf {
        None => 0,
        Some(None) => 1,
        Some(Some(_)) => 1 + VRF_DATA_SIZE,
    };
    assert_eq!(bytes.len(), fixed + vrf);

    let work = t.miner_work();
    assert_eq!(work.as_bytes().len(), MINER_WORK_SIZE);
    assert_eq!(work.work_hash(), t.work_hash());
    assert_eq!(work.timestamp_ms(), t.timestamp_ms);
    assert_eq!(work.nonce(), t.nonce);
    assert_eq!(work.extra_nonce(), t.extra_nonce);
    assert_eq!(work.miner_key(), t.miner_key);
    assert_eq!(MinerWork::from_hex(&work.to_hex()), Ok(work));
    let _ = work.block_id();
}
