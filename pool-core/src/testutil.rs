//! Helpers shared by unit tests: a deterministic PRNG and the spec's test vectors.

/// SplitMix64: tiny, deterministic, good enough to generate test inputs.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fill(&mut v);
        v
    }
}

/// One entry of `testdata/vectors.json` (a copy of `shared/spec/vectors.json`).
pub struct Vector {
    pub name: String,
    pub input: Vec<u8>,
    pub hash: [u8; 32],
}

pub fn vectors() -> Vec<Vector> {
    let raw: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/vectors.json")).expect("vectors.json parses");
    raw.as_array()
        .expect("an array")
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_owned(),
            input: hex::decode(v["input_hex"].as_str().unwrap()).unwrap(),
            hash: hex::decode(v["hash_hex"].as_str().unwrap()).unwrap().try_into().unwrap(),
        })
        .collect()
}

/// protocol.md §2.12: the node's own unit-test template (v0.1.3 layout + VRF flag 00), 125 bytes.
pub const WORKED_TEMPLATE: &str = concat!(
    "00",
    "000000000000002d",
    "0000018f1cbd6970",
    "0000000000000000",
    "0eded85557e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ff",
    "01",
    "d3a0154853dbb01dc28c9102e9d94bea355b8ee0d82c3e078ac80841445e8652",
    "0000",
    "d67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55",
    "00"
);
