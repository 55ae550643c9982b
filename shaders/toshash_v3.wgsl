// TOS Hash V3, one invocation per input. Prepended at build time with blake3.wgsl and one of
// word_u64.wgsl / word_vec2.wgsl (which define `Word` and its operations); WORKGROUP_SIZE is
// substituted by the host with the size it measured best.
//
// Layout: word i of the scratchpad of invocation `lane` is pad[i * params.stride + lane], so
// neighbouring invocations touch neighbouring words (coalesced). The host runs one dispatch per
// scratch buffer ("slab"), each within max_storage_buffer_binding_size, and pads every dispatch to
// whole workgroups, so the kernel has no bounds branch and no binding is selected per invocation.
// All branches below depend only on loop indices or on the uniform input length.

const N: u32 = 8192u;

struct Params {
    // Bytes per input (1..=112), the same for the whole dispatch.
    len: u32,
    // Scratch words between consecutive words of one invocation (the slab's invocation count).
    stride: u32,
    // Index of this slab's first input in `inputs` / `hashes`.
    first: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> inputs: array<u32>;
@group(0) @binding(1) var<storage, read_write> pad: array<Word>;
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

// 28 u32 words (112 bytes) per input slot.
const INPUT_WORDS: u32 = 28u;

fn mix(a: Word, b: Word, r: u32) -> Word {
    let rho = (7u * r) % 64u;
    let y = w_xor(a, w_rotl(b, rho));
    return w_xor(w_mul_c(w_add(a, b)), w_rotr(y, rho / 2u));
}

// The four stage-2 passes collapse to per-word maps (their neighbour always equals the carry):
// a -> a*C ^ rotr(a, k), k = 0, 3, 7, 10.
fn stage2(a0: Word) -> Word {
    var a = w_xor(w_mul_c(a0), a0);
    a = w_xor(w_mul_c(a), w_rotr(a, 3u));
    a = w_xor(w_mul_c(a), w_rotr(a, 7u));
    return w_xor(w_mul_c(a), w_rotr(a, 10u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let lane = gid.x;
    let slot = params.first + lane;
    let stride = params.stride;

    // Seed: BLAKE3 of the input.
    var msg: array<u32, 32>;
    for (var i = 0u; i < INPUT_WORDS; i++) {
        msg[i] = inputs[slot * INPUT_WORDS + i];
    }
    let seed = b3_hash(msg, params.len);
    var s0 = w_from_u32s(seed[0], seed[1]);
    var s1 = w_from_u32s(seed[2], seed[3]);
    var s2 = w_from_u32s(seed[4], seed[5]);
    var s3 = w_from_u32s(seed[6], seed[7]);

    // Stages 1 + 2 fused in registers: each word gets its stage-2 maps before it is stored.
    for (var i = 0u; i < N; i += 4u) {
        s0 = mix(s0, s1, i);
        pad[i * stride + lane] = stage2(s0);
        s1 = mix(s1, s2, i + 1u);
        pad[(i + 1u) * stride + lane] = stage2(s1);
        s2 = mix(s2, s3, i + 2u);
        pad[(i + 2u) * stride + lane] = stage2(s2);
        s3 = mix(s3, s0, i + 3u);
        pad[(i + 3u) * stride + lane] = stage2(s3);
    }

    // Stage 3: eight strided rounds in place, each as its head (operands ahead, no wrap) and its
    // wrap tail (operands reduced mod N). Both loops take two words per iteration (every head and
    // tail length is even): llvmpipe stops an invocation's loops after ~65,535 back-edges in total,
    // and one word per iteration would pass that (see docs/gpu.md).
    for (var r = 0u; r < 8u; r++) {
        var sigma = 1u;
        switch r % 4u {
            case 1u: { sigma = 64u; }
            case 2u: { sigma = 256u; }
            case 3u: { sigma = 1024u; }
            default: { sigma = 1u; }
        }
        let head = N - 2u * sigma;
        for (var i = 0u; i < head; i += 2u) {
            let a0 = pad[(i + sigma) * stride + lane];
            let b0 = pad[(i + 2u * sigma) * stride + lane];
            pad[i * stride + lane] = mix(pad[i * stride + lane], w_xor(a0, b0), r);
            let j = i + 1u;
            let a1 = pad[(j + sigma) * stride + lane];
            let b1 = pad[(j + 2u * sigma) * stride + lane];
            pad[j * stride + lane] = mix(pad[j * stride + lane], w_xor(a1, b1), r);
        }
        for (var i = head; i < N; i += 2u) {
            let a0 = pad[((i + sigma) & (N - 1u)) * stride + lane];
            let b0 = pad[((i + 2u * sigma) & (N - 1u)) * stride + lane];
            pad[i * stride + lane] = mix(pad[i * stride + lane], w_xor(a0, b0), r);
            let j = i + 1u;
            let a1 = pad[((j + sigma) & (N - 1u)) * stride + lane];
            let b1 = pad[((j + 2u * sigma) & (N - 1u)) * stride + lane];
            pad[j * stride + lane] = mix(pad[j * stride + lane], w_xor(a1, b1), r);
        }
    }

    // Stage 4: XOR-fold into four words.
    var f0 = w_zero();
    var f1 = w_zero();
    var f2 = w_zero();
    var f3 = w_zero();
    for (var i = 0u; i < N; i += 4u) {
        f0 = w_xor(f0, pad[i * stride + lane]);
        f1 = w_xor(f1, pad[(i + 1u) * stride + lane]);
        f2 = w_xor(f2, pad[(i + 2u) * stride + lane]);
        f3 = w_xor(f3, pad[(i + 3u) * stride + lane]);
    }

    let h = b3_hash32(array<u32, 8>(w_lo(f0), w_hi(f0), w_lo(f1), w_hi(f1), w_lo(f2), w_hi(f2), w_lo(f3), w_hi(f3)));
    for (var i = 0u; i < 8u; i++) {
        hashes[slot * 8u + i] = h[i];
    }
}
