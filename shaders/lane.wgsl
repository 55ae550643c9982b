// TOS Hash V3, one invocation per share ("lane" kernel). The host appends the generated stage 1 and
// the eight stage-3 rounds (gpu-verify/src/kernel/lane.rs) and substitutes WORKGROUP_SIZE.
//
// Layout: word i of the scratchpad of invocation `lane` is pad[i * params.stride + lane], so
// neighbouring invocations touch neighbouring words (coalesced). The host runs one dispatch per
// scratch buffer ("slab"), each within max_storage_buffer_binding_size, and pads every dispatch to
// whole workgroups, so the kernel has no bounds branch and no binding is selected per invocation.
// All branches depend only on loop indices or on the uniform input length.

@group(0) @binding(0) var<storage, read> inputs: array<u32>;
@group(0) @binding(1) var<storage, read_write> pad: array<Word>;
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

var<private> lane: u32;
var<private> stride: u32;

// Word i (0..N) of this invocation's scratchpad.
fn ld(i: u32) -> Word {
    return pad[i * stride + lane];
}
fn st(i: u32, w: Word) {
    pad[i * stride + lane] = w;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    lane = gid.x;
    stride = params.stride;
    let slot = params.first + lane;
    stage1(seed_of(slot, params.len));
    // The eight rounds; the last also folds, each word XORed in as it is produced.
    let h = hash_of_fold(stage3());
    for (var i = 0u; i < 8u; i++) {
        hashes[slot * 8u + i] = h[i];
    }
}
