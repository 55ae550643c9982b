// What both TOS Hash V3 kernels share: the pad size, the uniform parameters, mix and the stage-2 map.
// Prepended by the host after blake3.wgsl and one Word file (word_u64.wgsl / word_vec2.wgsl).

const N: u32 = 8192u;
// 28 u32 words (112 bytes) per input slot.
const INPUT_WORDS: u32 = 28u;

struct Params {
    // Bytes per input (1..=112), the same for the whole dispatch.
    len: u32,
    // Lane kernel: scratch words between consecutive words of one invocation (the slab's lanes).
    stride: u32,
    // Index of this slab's first input in `inputs` / `hashes`.
    first: u32,
    _pad: u32,
}

// mix(a, b, r) with rho = 7r mod 64 and half = rho / 2 precomputed. The generated code passes both
// as literals, so after inlining every rotation is by a constant.
fn mix(a: Word, b: Word, rho: u32, half: u32) -> Word {
    let y = w_xor(a, w_rotl(b, rho));
    return w_xor(w_mul_c(w_add(a, b)), w_rotr(y, half));
}

// The four stage-2 passes collapse to per-word maps (their neighbour always equals the carry):
// a -> a*C ^ rotr(a, k), k = 0, 3, 7, 10.
fn stage2(a0: Word) -> Word {
    var a = w_xor(w_mul_c(a0), a0);
    a = w_xor(w_mul_c(a), w_rotr(a, 3u));
    a = w_xor(w_mul_c(a), w_rotr(a, 7u));
    return w_xor(w_mul_c(a), w_rotr(a, 10u));
}

// The BLAKE3 seed of one input slot, as four Words.
fn seed_of(slot: u32, len: u32) -> array<Word, 4> {
    var msg: array<u32, 32>;
    for (var i = 0u; i < INPUT_WORDS; i++) {
        msg[i] = inputs[slot * INPUT_WORDS + i];
    }
    let h = b3_hash(msg, len);
    return array<Word, 4>(w_from_u32s(h[0], h[1]), w_from_u32s(h[2], h[3]), w_from_u32s(h[4], h[5]),
                          w_from_u32s(h[6], h[7]));
}

// The final BLAKE3 over the 32-byte fold, as eight little-endian u32.
fn hash_of_fold(f: array<Word, 4>) -> array<u32, 8> {
    return b3_hash32(array<u32, 8>(w_lo(f[0]), w_hi(f[0]), w_lo(f[1]), w_hi(f[1]), w_lo(f[2]), w_hi(f[2]),
                                   w_lo(f[3]), w_hi(f[3])));
}
