//! The devnet's own transaction format. The simulated node cannot check real TOS transactions
//! (confidential amounts, signatures), so the simulated wallet builds, and the simulated node
//! executes, this tiny plain one instead. The pool never looks inside: to it a transaction is a
//! hash and a hex, exactly as with the real wallet and daemon.
//!
//! ```text
//! "TDT1" ‖ source key (32) ‖ nonce (u64 BE) ‖ salt (16) ‖ fee (u64 BE) ‖ count (u16 BE)
//!        ‖ count × (destination key (32) ‖ amount (u64 BE)) ‖ seal (32)
//! ```
//! The wallet draws a random salt for every build, as real TOS transactions differ at every
//! build (their proofs are randomised): building the same transfers twice gives two different
//! transactions — with the same nonce, so at most one of them can ever execute.
//! `seal = BLAKE3("tos-pool devnet tx" ‖ everything before it)` catches corruption (it is not a
//! signature: the devnet has no secrets). The transaction hash is BLAKE3 of all the bytes.

use pool_core::address::Address;

const MAGIC: &[u8; 4] = b"TDT1";
const SEAL_DOMAIN: &[u8] = b"tos-pool devnet tx";
const HEAD: usize = 4 + 32 + 8 + 16 + 8 + 2;
const TRANSFER: usize = 32 + 8;
/// As the real node (MAX_TRANSFER_COUNT).
pub const MAX_TRANSFERS: usize = 500;

/// A devnet transfer transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetTx {
    pub source: [u8; 32],
    pub nonce: u64,
    pub salt: [u8; 16],
    pub fee: u64,
    /// (destination key, amount)
    pub transfers: Vec<([u8; 32], u64)>,
}

impl DevnetTx {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEAD + self.transfers.len() * TRANSFER + 32);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&self.source);
        b.extend_from_slice(&self.nonce.to_be_bytes());
        b.extend_from_slice(&self.salt);
        b.extend_from_slice(&self.fee.to_be_bytes());
        b.extend_from_slice(&(self.transfers.len() as u16).to_be_bytes());
        for (dest, amount) in &self.transfers {
            b.extend_from_slice(dest);
            b.extend_from_slice(&amount.to_be_bytes());
        }
        let seal = seal(&b);
        b.extend_from_slice(&seal);
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<DevnetTx, String> {
        if b.len() < HEAD + 32 || &b[..4] != MAGIC {
            return Err("not a devnet transaction (bad magic or too short)".into());
        }
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let count = u16::from_be_bytes([b[HEAD - 2], b[HEAD - 1]]) as usize;
        if count == 0 || count > MAX_TRANSFERS {
            return Err(format!("{count} transfers (1..={MAX_TRANSFERS})"));
        }
        let body = HEAD + count * TRANSFER;
        if b.len() != body + 32 {
            return Err(format!("length {} for {count} transfers (expected {})", b.len(), body + 32));
        }
        if b[body..] != seal(&b[..body]) {
            return Err("the seal does not match (corrupt transaction)".into());
        }
        let transfers = (0..count)
            .map(|i| {
                let at = HEAD + i * TRANSFER;
                (b[at..at + 32].try_into().expect("32 bytes"), u64_at(at + 32))
            })
            .collect();
        Ok(DevnetTx {
            source: b[4..36].try_into().expect("32 bytes"),
            nonce: u64_at(36),
            salt: b[44..60].try_into().expect("16 bytes"),
            fee: u64_at(60),
            transfers,
        })
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    pub fn from_hex(s: &str) -> Result<DevnetTx, String> {
        DevnetTx::from_bytes(&hex::decode(s).map_err(|e| format!("not hex: {e}"))?)
    }

    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// Σ amounts.
    pub fn sent(&self) -> u128 {
        self.transfers.iter().map(|(_, a)| *a as u128).sum()
    }

    /// What leaves the source: Σ amounts + fee.
    pub fn cost(&self) -> u128 {
        self.sent() + self.fee as u128
    }

    pub fn size(&self) -> usize {
        HEAD + self.transfers.len() * TRANSFER + 32
    }

    /// The real wallet's fee formula over this transaction's size (protocol.md §4).
    pub fn required_fee(&self) -> u64 {
        (self.size() as u64).div_ceil(1024) * pool_core::payout::FEE_PER_KB
            + self.transfers.len() as u64 * pool_core::payout::FEE_PER_TRANSFER
    }

    pub fn destinations(&self) -> impl Iterator<Item = (Address, u64)> + '_ {
        self.transfers.iter().map(|(k, a)| (Address::normal(false, *k), *a))
    }
}

fn seal(body: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(SEAL_DOMAIN);
    h.update(body);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let tx = DevnetTx {
            source: [7; 32],
            nonce: 3,
            salt: [5; 16],
            fee: 35_000,
            transfers: vec![([1; 32], 5), ([2; 32], 9)],
        };
        let hex = tx.to_hex();
        assert_eq!(DevnetTx::from_hex(&hex), Ok(tx.clone()));
        assert_eq!(tx.cost(), 35_014);
        let mut bytes = tx.to_bytes();
        bytes[40] ^= 1;
        assert!(DevnetTx::from_bytes(&bytes).unwrap_err().contains("seal"));
        assert!(DevnetTx::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(DevnetTx::from_hex("zz").is_err());
        let rebuilt = DevnetTx { salt: [6; 16], ..tx.clone() };
        assert_ne!(rebuilt.hash(), tx.hash(), "every build is another transaction");
    }
}
