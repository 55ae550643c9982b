use super::*;
use crate::testutil::{SplitMix64, vectors};
use rayon::prelude::*;

#[test]
fn reference_reproduces_every_vector() {
    let vs = vectors();
    assert_eq!(vs.len(), 4, "vectors.json has the three node vectors and the worked share");
    for v in vs {
        assert_eq!(reference::tos_hash_v3(&v.input), v.hash, "reference: {}", v.name);
    }
}

#[test]
fn fast_reproduces_every_vector_at_every_level() {
    for level in DispatchLevel::supported() {
        let mut h = TosHasher::with_level(level).unwrap();
        for v in vectors() {
            assert_eq!(h.hash(&v.input), v.hash, "{level}: {}", v.name);
        }
    }
    for v in vectors() {
        assert_eq!(tos_hash_v3(&v.input), v.hash, "thread hasher: {}", v.name);
    }
}

#[test]
fn the_vectors_are_the_specs_vectors() {
    // The copy in testdata must not drift from the spec. A missing spec fails: a test that passes
    // without its input proves nothing.
    let dir = std::env::var("TOS_POOL_SPEC_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/spec").to_owned());
    let path = std::path::Path::new(&dir).join("vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the spec's vectors at {} ({e}): set TOS_POOL_SPEC_DIR to the shared/spec directory",
            path.display()
        )
    });
    assert_eq!(text, include_str!("../../testdata/vectors.json"));
}

#[test]
fn unsupported_level_is_refused_not_faked() {
    for level in DispatchLevel::ALL {
        assert_eq!(TosHasher::with_level(level).is_some(), level.is_supported());
    }
    assert!(DispatchLevel::detect().is_supported());
}

#[test]
fn mix_rotation_by_zero_is_identity() {
    // r = 0 → rho = 0: (a+b)·C ^ (a ^ b).
    let (a, b) = (0x0123_4567_89ab_cdef_u64, 0xfedc_ba98_7654_3210_u64);
    assert_eq!(reference::mix(a, b, 0), a.wrapping_add(b).wrapping_mul(C) ^ (a ^ b));
    // r = 64 wraps to rho = 0 too (7·64 mod 64 = 0).
    assert_eq!(reference::mix(a, b, 64), reference::mix(a, b, 0));
}

/// Inputs of every length class the issue names, then random lengths; mostly 112-byte headers.
fn random_input(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
    const NAMED: [usize; 8] = [0, 1, 26, 64, 111, 112, 113, 1000];
    let len = match n % 4 {
        0 | 1 => 112,
        2 => NAMED[(n / 4) % NAMED.len()],
        _ => (rng.next_u64() % 300) as usize,
    };
    rng.bytes(len)
}

#[test]
fn fast_equals_reference_on_100k_random_inputs_at_every_level() {
    const COUNT: usize = 100_000;
    let levels = DispatchLevel::supported();
    let mismatches: Vec<String> = (0..COUNT)
        .into_par_iter()
        .chunks(1000)
        .flat_map_iter(|ns| {
            let mut hashers: Vec<TosHasher> =
                levels.iter().map(|&l| TosHasher::with_level(l).unwrap()).collect();
            let mut bad = Vec::new();
            for n in ns {
                let mut rng = SplitMix64(n as u64 ^ 0x7051_0051);
                let input = random_input(&mut rng, n);
                let want = reference::tos_hash_v3(&input);
                for h in hashers.iter_mut() {
                    if h.hash(&input) != want {
                        bad.push(format!("{}: len {} input {}", h.level(), input.len(), hex::encode(&input)));
                    }
                }
            }
            bad
        })
        .collect();
    assert!(mismatches.is_empty(), "{} mismatches, first: {:?}", mismatches.len(), mismatches.first());
}

#[test]
fn scratchpad_reuse_does_not_leak_state_between_hashes() {
    let mut h = TosHasher::new();
    let a = vec![0xa5u8; 112];
    let first = h.hash(&a);
    h.hash(&[1, 2, 3]);
    assert_eq!(h.hash(&a), first);
}

#[test]
fn known_vectors_equal_vectors_json() {
    let file = vectors();
    assert_eq!(file.len(), KNOWN_VECTORS.len());
    for (k, v) in KNOWN_VECTORS.iter().zip(file) {
        assert_eq!(
            (k.name, hex::decode(k.input_hex).unwrap(), k.hash_hex),
            (v.name.as_str(), v.input, hex::encode(v.hash).as_str())
        );
    }
}
