//! The PoW objects (protocol.md §1): the node's block template, the header work hash, the 112-byte
//! `MinerWork` that miners hash, and the block id.

use crate::hash::Hash;
use crate::hexutil::{self, HexError};

/// Size of the `MinerWork` (the PoW input).
pub const MINER_WORK_SIZE: usize = 112;
/// Size of the header's extra nonce.
pub const EXTRA_NONCE_SIZE: usize = 32;
/// At most this many tips (parents) per block.
pub const TIPS_LIMIT: usize = 3;
/// Size of the VRF data that follows a VRF flag of 1.
pub const VRF_DATA_SIZE: usize = 192;

/// Byte offsets inside the `MinerWork`.
pub mod offset {
    pub const WORK_HASH: usize = 0;
    pub const TIMESTAMP: usize = 32;
    /// The nonce: u64 big-endian at 40..48 — the only bytes a miner changes.
    pub const NONCE: usize = 40;
    pub const EXTRA_NONCE: usize = 48;
    pub const MINER_KEY: usize = 80;
}

/// The node's serialized `BlockHeader` (protocol.md §1.1): the `template` of `get_block_template`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockTemplate {
    pub version: u8,
    pub height: u64,
    pub timestamp_ms: u64,
    pub nonce: u64,
    pub extra_nonce: [u8; EXTRA_NONCE_SIZE],
    pub tips: Vec<Hash>,
    pub txs: Vec<Hash>,
    pub miner_key: [u8; 32],
    /// `None`: the v0.1.3 layout without the flag byte. `Some(None)`: flag 0. `Some(Some(_))`: flag 1
    /// and the 192 VRF bytes.
    pub vrf: Option<Option<Box<[u8; VRF_DATA_SIZE]>>>,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not hex: {0}")]
    Hex(#[from] HexError),
    #[error("template truncated: needed {needed} bytes, have {have}")]
    Truncated { needed: usize, have: usize },
    #[error("template has {0} tips; at most {TIPS_LIMIT} are allowed")]
    TooManyTips(usize),
    #[error("template lists the same tip twice")]
    DuplicateTip,
    #[error("template VRF flag is {0}; only 0 or 1 are defined")]
    BadVrfFlag(u8),
    #[error("template has {0} trailing bytes after the header")]
    TrailingBytes(usize),
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TemplateError> {
        let end = self.at + n;
        if end > self.buf.len() {
            return Err(TemplateError::Truncated { needed: end, have: self.buf.len() });
        }
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TemplateError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, TemplateError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, TemplateError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn hash(&mut self) -> Result<Hash, TemplateError> {
        Ok(self.take(32)?.try_into().unwrap())
    }
}

impl BlockTemplate {
    pub fn from_hex(s: &str) -> Result<Self, TemplateError> {
        Self::from_bytes(&hexutil::decode(s)?)
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, TemplateError> {
        let mut r = Reader { buf: b, at: 0 };
        let version = r.u8()?;
        let height = r.u64()?;
        let timestamp_ms = r.u64()?;
        let nonce = r.u64()?;
        let extra_nonce = r.hash()?;
        let tip_count = r.u8()? as usize;
        if tip_count > TIPS_LIMIT {
            return Err(TemplateError::TooManyTips(tip_count));
        }
        let tips = (0..tip_count).map(|_| r.hash()).collect::<Result<Vec<_>, _>>()?;
        if tips.iter().enumerate().any(|(i, t)| tips[..i].contains(t)) {
            return Err(TemplateError::DuplicateTip);
        }
        let tx_count = r.u16()? as usize;
        let txs = (0..tx_count).map(|_| r.hash()).collect::<Result<Vec<_>, _>>()?;
        let miner_key = r.hash()?;
        let vrf = if r.at == b.len() {
            None
        } else {
            match r.u8()? {
                0 => Some(None),
                1 => Some(Some(Box::new(r.take(VRF_DATA_SIZE)?.try_into().unwrap()))),
                f => return Err(TemplateError::BadVrfFlag(f)),
            }
        };
        if r.at != b.len() {
            return Err(TemplateError::TrailingBytes(b.len() - r.at));
        }
        Ok(BlockTemplate { version, height, timestamp_ms, nonce, extra_nonce, tips, txs, miner_key, vrf })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(92 + 32 * (self.tips.len() + self.txs.len()) + 1 + VRF_DATA_SIZE);
        out.push(self.version);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.extra_nonce);
        out.push(self.tips.len() as u8);
        self.tips.iter().for_each(|t| out.extend_from_slice(t));
        out.extend_from_slice(&(self.txs.len() as u16).to_be_bytes());
        self.txs.iter().for_each(|t| out.extend_from_slice(t));
        out.extend_from_slice(&self.miner_key);
        match &self.vrf {
            None => {}
            Some(None) => out.push(0),
            Some(Some(data)) => {
                out.push(1);
                out.extend_from_slice(&data[..]);
            }
        }
        out
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// `BLAKE3(version ‖ height BE ‖ BLAKE3(tips) ‖ BLAKE3(txs))` (§1.2).
    pub fn work_hash(&self) -> Hash {
        let tips_hash = blake3::hash(&self.tips.concat());
        let txs_hash = blake3::hash(&self.txs.concat());
        let mut work = [0u8; 73];
        work[0] = self.version;
        work[1..9].copy_from_slice(&self.height.to_be_bytes());
        work[9..41].copy_from_slice(tips_hash.as_bytes());
        work[41..73].copy_from_slice(txs_hash.as_bytes());
        *blake3::hash(&work).as_bytes()
    }

    /// The `MinerWork` the node would build from this template (nonce as in the template).
    pub fn miner_work(&self) -> MinerWork {
        MinerWork::new(self.work_hash(), self.timestamp_ms, self.nonce, self.extra_nonce, self.miner_key)
    }
}

/// The 112-byte PoW input: `work_hash ‖ timestamp BE ‖ nonce BE ‖ extra_nonce ‖ miner key` (§1.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MinerWork(pub [u8; MINER_WORK_SIZE]);

impl MinerWork {
    pub fn new(
        work_hash: Hash,
        timestamp_ms: u64,
        nonce: u64,
        extra_nonce: [u8; 32],
        miner_key: [u8; 32],
    ) -> Self {
        let mut b = [0u8; MINER_WORK_SIZE];
        b[..32].copy_from_slice(&work_hash);
        b[32..40].copy_from_slice(&timestamp_ms.to_be_bytes());
        b[40..48].copy_from_slice(&nonce.to_be_bytes());
        b[48..80].copy_from_slice(&extra_nonce);
        b[80..112].copy_from_slice(&miner_key);
        MinerWork(b)
    }

    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        Ok(MinerWork(hexutil::decode_array(s)?))
    }

    pub fn to_hex(&self) -> String {
        crate::hexutil::encode(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; MINER_WORK_SIZE] {
        &self.0
    }

    pub fn work_hash(&self) -> Hash {
        self.0[..32].try_into().unwrap()
    }

    pub fn timestamp_ms(&self) -> u64 {
        u64::from_be_bytes(self.0[32..40].try_into().unwrap())
    }

    pub fn nonce(&self) -> u64 {
        u64::from_be_bytes(self.0[40..48].try_into().unwrap())
    }

    pub fn extra_nonce(&self) -> [u8; 32] {
        self.0[48..80].try_into().unwrap()
    }

    pub fn miner_key(&self) -> [u8; 32] {
        self.0[80..112].try_into().unwrap()
    }

    /// The header with `nonce` written big-endian at bytes 40..48.
    pub fn with_nonce(mut self, nonce: u64) -> Self {
        self.0[40..48].copy_from_slice(&nonce.to_be_bytes());
        self
    }

    /// The header with the 8 nonce bytes copied as-is (what tosminer's `nonce_hex` decodes to).
    pub fn with_nonce_bytes(mut self, nonce: [u8; 8]) -> Self {
        self.0[40..48].copy_from_slice(&nonce);
        self
    }

    pub fn with_extra_nonce(mut self, extra_nonce: [u8; 32]) -> Self {
        self.0[48..80].copy_from_slice(&extra_nonce);
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: u64) -> Self {
        self.0[32..40].copy_from_slice(&timestamp_ms.to_be_bytes());
        self
    }

    /// The id the node knows the block by: plain BLAKE3 of the 112 bytes (§1.5), not TOS Hash V3.
    pub fn block_id(&self) -> Hash {
        *blake3::hash(&self.0).as_bytes()
    }

    /// The PoW hash (TOS Hash V3, fast path on this thread's hasher).
    pub fn pow_hash(&self) -> Hash {
        crate::hash::tos_hash_v3(&self.0)
    }
}

impl std::fmt::Debug for MinerWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MinerWork({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::difficulty::{Difficulty, difficulty_of_hash};
    use crate::u256::U256;

    use crate::testutil::WORKED_TEMPLATE as TEMPLATE;

    #[test]
    fn worked_example_end_to_end() {
        let t = BlockTemplate::from_hex(TEMPLATE).unwrap();
        assert_eq!(t.to_bytes().len(), 125);
        assert_eq!(
            (t.version, t.height, t.timestamp_ms, t.tips.len(), t.txs.len()),
            (0, 45, 1714174126448, 1, 0)
        );
        assert_eq!(t.vrf, Some(None));
        assert_eq!(t.to_hex(), TEMPLATE, "serialization round-trips byte for byte");
        assert_eq!(
            hex::encode(blake3::hash(&t.tips.concat()).as_bytes()),
            "9226e6ff5d72d7cfe1df8946c622b931cb792e2931214e1217e5686d854d0cc4"
        );
        assert_eq!(
            hex::encode(blake3::hash(&[]).as_bytes()),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(
            hex::encode(t.work_hash()),
            "4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad"
        );

        // The job for session 1: extra_nonce bytes 0..4 = 00000001, the rest kept.
        let mut en = t.extra_nonce;
        en[..4].copy_from_slice(&[0, 0, 0, 1]);
        let job = t.miner_work().with_extra_nonce(en);
        assert_eq!(
            job.to_hex(),
            concat!(
                "4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad",
                "0000018f1cbd6970",
                "0000000000000000",
                "0000000157e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ff",
                "d67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55"
            )
        );
        // The miner submits nonce_hex 0000000001000012: copied as-is into bytes 40..48.
        let solved = job.with_nonce_bytes(crate::hexutil::decode_array("0000000001000012").unwrap());
        assert_eq!(solved.nonce(), 0x0100_0012);
        assert_eq!(solved, job.with_nonce(0x0100_0012));
        let pow = solved.pow_hash();
        assert_eq!(hex::encode(pow), "0e3d48e4d7888732111437a898f1980d2ba682786d45aef5cc126e433eba0fcd");
        assert_eq!(difficulty_of_hash(&pow), U256::from_u64(17));
        assert!(Difficulty::from_u64(16).unwrap().target().is_met_by(&pow));
        assert_eq!(
            hex::encode(solved.block_id()),
            "d39c1fe10bc61962b1a1e99742832d4190397110e6c2e19c77dc8eea642fcfa5"
        );
    }

    #[test]
    fn layouts_with_and_without_vrf() {
        let t = BlockTemplate::from_hex(TEMPLATE).unwrap();
        // v0.1.3: no flag byte.
        let old = BlockTemplate { vrf: None, ..t.clone() };
        assert_eq!(old.to_bytes().len(), 124);
        assert_eq!(BlockTemplate::from_bytes(&old.to_bytes()).unwrap(), old);
        // Flag 1 + 192 bytes.
        let with = BlockTemplate { vrf: Some(Some(Box::new([7u8; VRF_DATA_SIZE]))), ..t.clone() };
        assert_eq!(with.to_bytes().len(), 125 + VRF_DATA_SIZE);
        assert_eq!(BlockTemplate::from_bytes(&with.to_bytes()).unwrap(), with);
        // The VRF data is not part of the work hash.
        assert_eq!(with.work_hash(), t.work_hash());
    }

    #[test]
    fn malformed_templates_are_named() {
        let b = BlockTemplate::from_hex(TEMPLATE).unwrap().to_bytes();
        assert!(matches!(BlockTemplate::from_bytes(&b[..50]), Err(TemplateError::Truncated { .. })));
        let mut bad = b.clone();
        *bad.last_mut().unwrap() = 2;
        assert_eq!(BlockTemplate::from_bytes(&bad), Err(TemplateError::BadVrfFlag(2)));
        let mut bad = b.clone();
        bad.push(0);
        assert_eq!(BlockTemplate::from_bytes(&bad), Err(TemplateError::TrailingBytes(1)));
        let mut bad = b.clone();
        bad[57] = 4;
        assert_eq!(BlockTemplate::from_bytes(&bad), Err(TemplateError::TooManyTips(4)));
        let t = BlockTemplate::from_bytes(&b).unwrap();
        let dup = BlockTemplate { tips: vec![t.tips[0], t.tips[0]], ..t };
        assert_eq!(BlockTemplate::from_bytes(&dup.to_bytes()), Err(TemplateError::DuplicateTip));
        assert!(matches!(BlockTemplate::from_hex("zz"), Err(TemplateError::Hex(_))));
        assert!(BlockTemplate::from_bytes(&[]).is_err());
    }

    #[test]
    fn miner_work_fields() {
        let w = MinerWork::new([1; 32], 0x0102030405060708, 0x1122334455667788, [3; 32], [4; 32]);
        assert_eq!(
            &w.0[40..48],
            &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88],
            "nonce big-endian at 40..48"
        );
        assert_eq!(
            (w.work_hash(), w.timestamp_ms(), w.nonce()),
            ([1; 32], 0x0102030405060708, 0x1122334455667788)
        );
        assert_eq!((w.extra_nonce(), w.miner_key()), ([3; 32], [4; 32]));
        assert_eq!(MinerWork::from_hex(&w.to_hex()).unwrap(), w);
        assert!(MinerWork::from_hex(&w.to_hex()[2..]).is_err());
    }
}
