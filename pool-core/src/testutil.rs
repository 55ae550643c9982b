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
