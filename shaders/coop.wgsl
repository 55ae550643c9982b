// TOS Hash V3, one 32-invocation workgroup per share ("coop" kernel). The host appends the generated
// pad access, stage 1 and the eight stage-3 rounds (gpu-verify/src/kernel/coop.rs).
//
// Word j of the share's pad lives in row j / 32, column j % 32, and is only ever written by lane
// j % 32. Rows [0, SPLIT_ROWS) are in workgroup memory, the rest in this share's region of `pad`
// (row-major, so the 32 lanes touch one contiguous 256-byte row). Every branch is on a row index or
// a loop index, the same for all 32 lanes, so the workgroup never splits across branches.

@group(0) @binding(0) var<storage, read> inputs: array<u32>;
@group(0) @binding(1) var<storage, read_write> pad: array<Word>;
// Four lanes store each hash word (the same value): atomic stores make that race-free.
@group(0) @binding(2) var<storage, read_write> hashes: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

var<private> lane: u32;
// This share's first word in `pad`.
var<private> base: u32;

@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    lane = lid.x;
    base = wid.x * GLOBAL_WORDS;
    let slot = params.first + wid.x;
    // Stage 1 runs redundantly on every lane (uniform control flow); each keeps its own words.
    stage1(seed_of(slot, params.len));
    // The eight rounds; the last also folds the lane's words (all ≡ lane mod 4) into one partial.
    let partial = stage3();
    var h = hash_of_fold(fold(partial));
    atomicStore(&hashes[slot * 8u + (lane & 7u)], h[lane & 7u]);
}
