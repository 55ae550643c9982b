// BLAKE3 for inputs of at most 128 bytes (one chunk, at most two 64-byte blocks), 32-byte output.
// Enough for TOS Hash V3: the seed over the 112-byte header and the final hash over the 32-byte fold.
// Message words are little-endian u32, as BLAKE3 defines them.

const B3_CHUNK_START: u32 = 1u;
const B3_CHUNK_END: u32 = 2u;
const B3_ROOT: u32 = 8u;

fn b3_iv(i: u32) -> u32 {
    switch i {
        case 0u: { return 0x6A09E667u; }
        case 1u: { return 0xBB67AE85u; }
        case 2u: { return 0x3C6EF372u; }
        case 3u: { return 0xA54FF53Au; }
        case 4u: { return 0x510E527Fu; }
        case 5u: { return 0x9B05688Cu; }
        case 6u: { return 0x1F83D9ABu; }
        default: { return 0x5BE0CD19u; }
    }
}

fn b3_rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

// The quarter-round on state words a, b, c, d.
fn b3_g(v: ptr<function, array<u32, 16>>, a: u32, b: u32, c: u32, d: u32, mx: u32, my: u32) {
    (*v)[a] = (*v)[a] + (*v)[b] + mx;
    (*v)[d] = b3_rotr((*v)[d] ^ (*v)[a], 16u);
    (*v)[c] = (*v)[c] + (*v)[d];
    (*v)[b] = b3_rotr((*v)[b] ^ (*v)[c], 12u);
    (*v)[a] = (*v)[a] + (*v)[b] + my;
    (*v)[d] = b3_rotr((*v)[d] ^ (*v)[a], 8u);
    (*v)[c] = (*v)[c] + (*v)[d];
    (*v)[b] = b3_rotr((*v)[b] ^ (*v)[c], 7u);
}

// The compression function with counter 0; returns the 8-word output (state[i] ^ state[i+8]).
fn b3_compress(cv: array<u32, 8>, block: array<u32, 16>, block_len: u32, flags: u32) -> array<u32, 8> {
    var v: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        v[i] = cv[i];
        v[i + 8u] = b3_iv(i);
    }
    v[12] = 0u; // counter low
    v[13] = 0u; // counter high
    v[14] = block_len;
    v[15] = flags;
    var m = block;
    for (var r = 0u; r < 7u; r++) {
        b3_g(&v, 0u, 4u, 8u, 12u, m[0], m[1]);
        b3_g(&v, 1u, 5u, 9u, 13u, m[2], m[3]);
        b3_g(&v, 2u, 6u, 10u, 14u, m[4], m[5]);
        b3_g(&v, 3u, 7u, 11u, 15u, m[6], m[7]);
        b3_g(&v, 0u, 5u, 10u, 15u, m[8], m[9]);
        b3_g(&v, 1u, 6u, 11u, 12u, m[10], m[11]);
        b3_g(&v, 2u, 7u, 8u, 13u, m[12], m[13]);
        b3_g(&v, 3u, 4u, 9u, 14u, m[14], m[15]);
        // Message permutation: new[i] = old[P[i]], P = 2 6 3 10 7 0 4 13 1 11 12 5 9 14 15 8.
        m = array<u32, 16>(m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
                           m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8]);
    }
    var out: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        out[i] = v[i] ^ v[i + 8u];
    }
    return out;
}

fn b3_iv_cv() -> array<u32, 8> {
    return array<u32, 8>(b3_iv(0u), b3_iv(1u), b3_iv(2u), b3_iv(3u), b3_iv(4u), b3_iv(5u), b3_iv(6u), b3_iv(7u));
}

// BLAKE3 of `len` bytes (1..=128) held little-endian in `msg` (32 words, zero beyond `len`).
// `len` is uniform across a dispatch, so both branches are uniform.
fn b3_hash(msg: array<u32, 32>, len: u32) -> array<u32, 8> {
    var first: array<u32, 16>;
    var second: array<u32, 16>;
    for (var i = 0u; i < 16u; i++) {
        first[i] = msg[i];
        second[i] = msg[i + 16u];
    }
    if len <= 64u {
        return b3_compress(b3_iv_cv(), first, len, B3_CHUNK_START | B3_CHUNK_END | B3_ROOT);
    }
    let cv = b3_compress(b3_iv_cv(), first, 64u, B3_CHUNK_START);
    return b3_compress(cv, second, len - 64u, B3_CHUNK_END | B3_ROOT);
}

// BLAKE3 of exactly 32 bytes (one block).
fn b3_hash32(words: array<u32, 8>) -> array<u32, 8> {
    var block: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        block[i] = words[i];
    }
    return b3_compress(b3_iv_cv(), block, 32u, B3_CHUNK_START | B3_CHUNK_END | B3_ROOT);
}
