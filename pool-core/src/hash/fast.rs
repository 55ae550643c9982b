//! The fast TOS Hash V3 used everywhere outside tests.
//!
//! Three facts from `toshash-v3.md` make it fast, all exact:
//! * **Stage 2 carries nothing.** In every pass the neighbour equals the carry, so `neighbour ^ carry == 0`
//!   and a pass is the per-word map `a -> a*C ^ rotr(a, k_p)`, `k = 0, 3, 7, 10`. We apply the four maps
//!   to each block of 64 words right after stage 1 produced it ("fused"): the map is data-parallel and
//!   overlaps with stage 1's serial chain in the out-of-order window.
//! * **Stage 3 is parallel except at the wrap.** Processing 8 consecutive words at once, loading all
//!   operands before storing, reproduces the sequential in-place order exactly: a read of index `j ≥ i`
//!   sees the old value (as sequentially), a read that wrapped (`j < i`) sees the new value (as
//!   sequentially), because every earlier chunk was already stored. A round runs as three segments —
//!   head (both operands ahead), middle (second operand wrapped into the new head), end (both
//!   wrapped) — so no chunk straddles the wrap; stride 1 straddles only in its last chunk, which runs
//!   word by word (the "wrap tail").
//! * **Stage 4's fold** is fused into the last stage-3 round.
//!
//! The body is written once over [`Lanes8`] and compiled three times with different `target_feature`
//! sets. [`super::DispatchLevel`] picks the variant at run time, so one portable binary runs the best
//! code the CPU has, without `target-cpu=native`.

use super::lanes::{Lanes8, Portable};
use super::{C, SCRATCH_WORDS as N, STRIDES};

/// Stage-1 words produced before their stage-2 maps are applied. Exactly 64: stage 1 is unrolled by
/// 64 so every rotation `7·i mod 64` is a compile-time constant.
const BLOCK: usize = 64;

/// Rotation amounts (rho/2) of the four stage-2 passes: `(7p mod 64) / 2` for `p = 0..3`.
const STAGE2_ROT: [u32; 4] = [0, 3, 7, 10];

#[inline(always)]
fn mix(a: u64, b: u64, rho: u32) -> u64 {
    let y = a ^ b.rotate_left(rho);
    a.wrapping_add(b).wrapping_mul(C) ^ y.rotate_right(rho / 2)
}

/// `mix` on 8 lanes, rewritten with `rotr(a ^ rotl(b, ρ), k) = rotr(a, k) ^ rotl(b, ρ - k)`
/// (`k = ρ/2`) so the three XOR terms become one `vpternlogq` on AVX-512.
#[inline(always)]
unsafe fn mix8<V: Lanes8>(a: V, b: V, rho: u32) -> V {
    let k = rho / 2;
    // SAFETY: forwarded contract of `Lanes8`.
    unsafe { a.add(b).mul_c().xor3(a.rotr(k), b.rotl(rho - k)) }
}

/// Stage 1 for eighth `q` (words `8q..8q+8`) of a block of 64: continues the serial chain in `s`.
/// Blocks are 64 words, so 7·i mod 64 = 7·j mod 64 for the in-block index j: every rotation is a
/// compile-time constant once `q` is.
#[inline(always)]
fn stage1_quarter(block: &mut [u64; BLOCK], s: &mut [u64; 4], q: usize) {
    let [mut s0, mut s1, mut s2, mut s3] = *s;
    macro_rules! quad {
        ($($j:literal)*) => {$(
            s0 = mix(s0, s1, (7 * $j) % 64); block[$j] = s0;
            s1 = mix(s1, s2, (7 * ($j + 1)) % 64); block[$j + 1] = s1;
            s2 = mix(s2, s3, (7 * ($j + 2)) % 64); block[$j + 2] = s2;
            s3 = mix(s3, s0, (7 * ($j + 3)) % 64); block[$j + 3] = s3;
        )*};
    }
    match q {
        0 => {
            quad!(0 4);
        }
        1 => {
            quad!(8 12);
        }
        2 => {
            quad!(16 20);
        }
        3 => {
            quad!(24 28);
        }
        4 => {
            quad!(32 36);
        }
        5 => {
            quad!(40 44);
        }
        6 => {
            quad!(48 52);
        }
        _ => {
            quad!(56 60);
        }
    }
    *s = [s0, s1, s2, s3];
}

/// Stage 2 for one block: the four per-word maps, 8 words at a time.
#[inline(always)]
unsafe fn stage2_block<V: Lanes8>(block: &mut [u64; BLOCK]) {
    for at in (0..BLOCK).step_by(8) {
        // SAFETY: at + 8 <= BLOCK; forwarded `Lanes8` contract.
        unsafe {
            let p = block.as_mut_ptr().add(at);
            let mut v = V::load(p);
            for k in STAGE2_ROT {
                v = v.mul_c().xor(v.rotr(k));
            }
            v.store(p);
        }
    }
}

/// Stage-3 rounds: stride and rotation `rho = 7r mod 64` of round `r`.
const ROUND_STRIDE: [usize; 8] =
    [STRIDES[0], STRIDES[1], STRIDES[2], STRIDES[3], STRIDES[0], STRIDES[1], STRIDES[2], STRIDES[3]];

/// Words of round `r`'s own output over `[0, 2σ)` that its wrap tail reads after later rounds
/// have overwritten them (at least one chunk, for stride 1).
const fn side_len(r: usize) -> usize {
    if 2 * ROUND_STRIDE[r] > 8 { 2 * ROUND_STRIDE[r] } else { 8 }
}

/// Where round `r`'s saved words start in the side buffer.
const SIDE_AT: [usize; 9] = {
    let mut at = [0; 9];
    let mut r = 0;
    while r < 8 {
        at[r + 1] = at[r] + side_len(r);
        r += 1;
    }
    at
};

/// Size of the side buffer in words (42 KiB).
pub(super) const SIDE_WORDS: usize = SIDE_AT[8];

/// Words a round advances per sweep step.
const BLOCK3: usize = BLOCK;

/// How far (in words) round `r` trails the fill. Round `r` processing `[i, i + BLOCK3)` reads the
/// previous round's (or, for round 0, stage 2's) output up to `i + BLOCK3 + 2σ_r`, so it trails it
/// by at least `2σ_r + BLOCK3`, rounded up to whole blocks so blocks tile `[0, N)`.
const LAG: [usize; 8] = {
    let mut lag = [0; 8];
    // Round 0 trails stage 2, which trails stage 1 by one block.
    lag[0] = BLOCK3 + (2 * ROUND_STRIDE[0] + BLOCK3).div_ceil(BLOCK3) * BLOCK3;
    let mut r = 1;
    while r < 8 {
        let need = 2 * ROUND_STRIDE[r] + BLOCK3;
        lag[r] = lag[r - 1] + need.div_ceil(BLOCK3) * BLOCK3;
        r += 1;
    }
    lag
};

/// Round `R` (stride `S`) over the block `[at, at + BLOCK3)`.
///
/// Sequential semantics (module doc): the block's own words and its non-wrapped operands still hold
/// round `R-1`'s output (round `R-1` is `LAG` ahead, round `R+1` behind); wrapped operands are round
/// `R`'s own new values of `[0, 2S)`, read from `side`, which this function fills when `at < 2S`.
///
/// # Safety
/// `at` is a multiple of BLOCK3 below N; `side` points to `side_len(R)` words; the schedule of
/// [`strided_rounds`] holds.
#[inline(always)]
unsafe fn round_block<V: Lanes8, const S: usize, const FOLD: bool>(
    pad: &mut [u64; N],
    side: *mut u64,
    at: usize,
    rho: u32,
    mut fold: V,
) -> V {
    let p = pad.as_mut_ptr();
    // Operand bases: every chunk of the block reads from the same side of the wrap, except the last
    // chunk of the last block when S = 1.
    let operand = |idx: usize| -> *const u64 {
        // SAFETY: idx < N is in the pad; otherwise idx - N < 2S is in the side buffer.
        unsafe { if idx < N { p.add(idx).cast_const() } else { side.add(idx - N).cast_const() } }
    };
    let vector_chunks = if S < 8 && at + BLOCK3 == N { BLOCK3 / 8 - 1 } else { BLOCK3 / 8 };
    let (a_base, b_base) = (operand(at + S), operand(at + 2 * S));
    for c in 0..vector_chunks {
        // SAFETY: for S >= 64 (a multiple of BLOCK3) each operand range is block-aligned on one side
        // of the wrap; for S = 1 the vector chunks read at most index N - 7.
        unsafe {
            let i = at + 8 * c;
            let a = V::load(a_base.add(8 * c));
            let b = V::load(b_base.add(8 * c));
            let v = mix8(V::load(p.add(i)), a.xor(b), rho);
            v.store(p.add(i));
            if i < side_len_of(S) {
                v.store(side.add(i));
            }
            if FOLD {
                fold = fold.xor(v);
            }
        }
    }
    if vector_chunks < BLOCK3 / 8 {
        // The wrap tail of a stride-1 round: words N-8..N in order; index N-1 is read before it is
        // rewritten (old value), indices N and N+1 come from the side buffer (new values).
        let mut tail = [0u64; 8];
        for i in N - 8..N {
            // SAFETY: j < N + 2 <= N + side_len.
            let read = |j: usize| unsafe { if j < N { *p.add(j) } else { *side.add(j - N) } };
            // SAFETY: i < N.
            unsafe { *p.add(i) = mix(*p.add(i), read(i + S) ^ read(i + 2 * S), rho) };
            tail[i % 8] = pad[i];
        }
        if FOLD {
            // SAFETY: `tail` is 8 readable words.
            fold = unsafe { fold.xor(V::load(tail.as_ptr())) };
        }
    }
    fold
}

const fn side_len_of(stride: usize) -> usize {
    if 2 * stride > 8 { 2 * stride } else { 8 }
}

/// All four stages in one staggered sweep over the pad: at step `t` the fill produces block `t`
/// (stages 1 + 2) and stage-3 round `r` processes the block at `t·BLOCK − LAG[r]`; round 7 also
/// folds (stage 4). Touching the pad once instead of nine times keeps it in L1, and interleaving the
/// fill's serial scalar chain with the rounds' vector work lets the out-of-order core run both.
#[inline(always)]
unsafe fn sweep<V: Lanes8>(pad: &mut [u64; N], side: &mut [u64; SIDE_WORDS], seed: [u64; 4]) -> [u64; 4] {
    const _: () = assert!(STRIDES[0] == 1 && STRIDES[1].is_multiple_of(BLOCK3) && N.is_multiple_of(BLOCK3));
    let side = side.as_mut_ptr();
    let mut s = seed;
    // SAFETY: forwarded `Lanes8` contract; blocks and side offsets follow the schedule.
    unsafe {
        let zero = V::load([0u64; 8].as_ptr());
        let mut fold = zero;
        let steps = (N + LAG[7]) / BLOCK3;
        for t in 0..steps {
            let now = t * BLOCK3;
            // Stage 2 runs one block behind stage 1, so the vector loads of a block do not hit its
            // scalar stores still in flight.
            if now >= BLOCK && now - BLOCK < N {
                let at = now - BLOCK;
                let block: &mut [u64; BLOCK] = (&mut pad[at..at + BLOCK]).try_into().expect("a block");
                stage2_block::<V>(block);
            }
            // Stage 1's serial chain, a quarter block at a time, interleaved with the rounds' independent
            // vector work so the out-of-order window always holds both (a whole block of the chain at
            // once fills the reorder buffer and starves the vector ports).
            macro_rules! step {
                ($r:literal, $s:literal, $fold:literal) => {
                    if now >= LAG[$r] && now - LAG[$r] < N {
                        let f = round_block::<V, $s, $fold>(
                            pad,
                            side.add(SIDE_AT[$r]),
                            now - LAG[$r],
                            (7 * $r) % 64,
                            fold,
                        );
                        if $fold {
                            fold = f;
                        }
                    }
                };
            }
            let fill = |s: &mut [u64; 4], q: usize, pad: &mut [u64; N]| {
                if now < N {
                    let block: &mut [u64; BLOCK] = (&mut pad[now..now + BLOCK]).try_into().expect("a block");
                    stage1_quarter(block, s, q);
                }
            };
            fill(&mut s, 0, pad);
            step!(0, 1, false);
            fill(&mut s, 1, pad);
            step!(1, 64, false);
            fill(&mut s, 2, pad);
            step!(2, 256, false);
            fill(&mut s, 3, pad);
            step!(3, 1024, false);
            fill(&mut s, 4, pad);
            step!(4, 1, false);
            fill(&mut s, 5, pad);
            step!(5, 64, false);
            fill(&mut s, 6, pad);
            step!(6, 256, false);
            fill(&mut s, 7, pad);
            step!(7, 1024, true);
        }
        // Lane l of the fold holds indices ≡ l (mod 8); fold word w is lanes w and w + 4.
        let f = fold.to_array();
        [f[0] ^ f[4], f[1] ^ f[5], f[2] ^ f[6], f[3] ^ f[7]]
    }
}

#[inline(always)]
unsafe fn body<V: Lanes8>(pad: &mut [u64; N], side: &mut [u64; SIDE_WORDS], seed: [u64; 4]) -> [u64; 4] {
    // SAFETY: forwarded `Lanes8` contract.
    unsafe { sweep::<V>(pad, side, seed) }
}

/// Portable variant: whatever the compilation target guarantees (SSE2 on x86-64).
pub(super) fn hash_words_portable(
    pad: &mut [u64; N],
    side: &mut [u64; SIDE_WORDS],
    seed: [u64; 4],
) -> [u64; 4] {
    // SAFETY: `Portable` needs no CPU feature.
    unsafe { body::<Portable>(pad, side, seed) }
}

/// AVX2 variant.
///
/// # Safety
/// The CPU must support AVX2 and BMI2 (checked by `DispatchLevel::is_supported`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi2")]
pub(super) unsafe fn hash_words_avx2(
    pad: &mut [u64; N],
    side: &mut [u64; SIDE_WORDS],
    seed: [u64; 4],
) -> [u64; 4] {
    // SAFETY: this function's own contract.
    unsafe { body::<super::lanes::Avx2>(pad, side, seed) }
}

/// AVX-512 variant (`vpmullq` from AVX-512DQ makes the 64-bit multiplies cheap).
///
/// # Safety
/// The CPU must support AVX-512 F/DQ/VL/BW, AVX2 and BMI2 (checked by `DispatchLevel::is_supported`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,avx2,bmi2")]
pub(super) unsafe fn hash_words_avx512(
    pad: &mut [u64; N],
    side: &mut [u64; SIDE_WORDS],
    seed: [u64; 4],
) -> [u64; 4] {
    // SAFETY: this function's own contract.
    unsafe { body::<super::lanes::Avx512>(pad, side, seed) }
}
