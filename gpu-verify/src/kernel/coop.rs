//! The generated part of the cooperative kernel (`shaders/coop.wgsl`): one 32-invocation workgroup
//! per share, its pad split between workgroup memory (rows `[0, split_rows)`) and global memory.
//!
//! Why 32 lanes can share one pad without a barrier per word:
//! * **σ = 64, 256, 1024**: σ is a multiple of 32, so every operand of word j is owned by lane
//!   j mod 32. Each lane runs the in-place recurrence over its own 256 words (one column) in order;
//!   loads are pipelined a block of rows ahead as in the lane kernel.
//! * **σ = 1**: word j reads j + 1 and j + 2, owned by neighbours. A sweep handles one 32-word row:
//!   the operands of row s + 1 are loaded, a barrier passes, row s is stored. A sweep's loads touch
//!   only rows not yet written this round, except the last sweep's wrap to the new words 0 and 1,
//!   written 255 barriers earlier — the in-place order exactly, with one barrier per sweep.
//! * **Stage 1** is one serial chain, run by every lane (uniform control flow); each lane keeps, by
//!   `select`, the two words of each 64-word period it owns, and applies stage 2 to those only.
//! * **The fold** is fused into round 7 (each lane XORs its column as it is produced); the 32
//!   partials meet in row 0 after one barrier.
//!
//! The split is a whole number of 32-word rows, so "which memory" is decided per row: the same for
//! all lanes, never a divergent branch (Mesa 22 miscompiles those, `wgpu-here.md`).

use super::toshash::{N, ROUNDS, last_round_read_back, rotations, sigma, stage3_fn};
use std::fmt::Write as _;

/// Invocations per workgroup: one per column of the pad.
pub const LANES: u32 = 32;
/// Rows of a pad.
pub const ROWS: u32 = N / LANES;
/// Rows per pipelined block in the σ ≥ 64 rounds.
const BLOCK_ROWS: u32 = 8;

/// Where the pad of one share lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Split {
    /// Rows (of 32 words) in workgroup memory, 0..=256.
    pub rows: u32,
}

impl Split {
    /// The split for `bytes` of workgroup memory: as many whole rows as fit.
    pub fn for_workgroup_bytes(bytes: u32) -> Self {
        Split { rows: (bytes / (LANES * 8)).min(ROWS) }
    }

    pub fn workgroup_bytes(self) -> u32 {
        self.rows * LANES * 8
    }

    /// Words of each share's pad in the global scratch buffer.
    pub fn global_words(self) -> u32 {
        N - self.rows * LANES
    }
}

/// Everything `shaders/coop.wgsl` calls, for this split.
pub fn generated(split: Split) -> String {
    let mut s = format!(
        "const SPLIT_ROWS: u32 = {}u;\nconst GLOBAL_WORDS: u32 = {}u;\n",
        split.rows,
        split.global_words()
    );
    s.push_str(&access(split));
    s.push_str(&stage1());
    s.push_str(&unit_operands());
    s.push_str(&stage3_fn("Word"));
    for r in 0..ROUNDS {
        s.push_str(&if sigma(r) == 1 { unit_round(r, split) } else { strided_round(r) });
    }
    s.push_str(&fold(split));
    s
}

/// `ld_at(row, col)` / `st_at(row, col, w)`: the branch is on the row only.
fn access(split: Split) -> String {
    let wg = |op: &str| format!("wpad[row * 32u + col]{op}");
    let gl = |op: &str, first: &str| format!("pad[base + (row{first}) * 32u + col]{op}");
    match split.rows {
        0 => format!(
            "fn ld_at(row: u32, col: u32) -> Word {{\n    return {};\n}}\nfn st_at(row: u32, col: u32, w: Word) {{\n    {};\n}}\n\n",
            gl("", ""),
            gl(" = w", "")
        ),
        ROWS => format!(
            "var<workgroup> wpad: array<Word, {N}>;\nfn ld_at(row: u32, col: u32) -> Word {{\n    return {};\n}}\nfn st_at(row: u32, col: u32, w: Word) {{\n    {};\n}}\n\n",
            wg(""),
            wg(" = w")
        ),
        rows => format!(
            "var<workgroup> wpad: array<Word, {words}>;\n\
             fn ld_at(row: u32, col: u32) -> Word {{\n    var v: Word;\n    if row < SPLIT_ROWS {{\n        v = {};\n    }} else {{\n        v = {};\n    }}\n    return v;\n}}\n\
             fn st_at(row: u32, col: u32, w: Word) {{\n    if row < SPLIT_ROWS {{\n        {};\n    }} else {{\n        {};\n    }}\n}}\n\n",
            wg(""),
            gl("", " - SPLIT_ROWS"),
            wg(" = w"),
            gl(" = w", " - SPLIT_ROWS"),
            words = rows * LANES
        ),
    }
}

/// A barrier covering every memory the pad uses (the start of a σ = 1 round).
fn full_barrier(split: Split) -> &'static str {
    match split.rows {
        0 => "    storageBarrier();\n",
        ROWS => "    workgroupBarrier();\n",
        _ => "    workgroupBarrier();\n    storageBarrier();\n",
    }
}

fn stage1() -> String {
    let mut s = String::from(
        "// Stages 1 + 2: every lane runs the chain; lane L keeps words c + L and c + 32 + L.\n\
         fn stage1(seed: array<Word, 4>) {\n    \
         var s0 = seed[0];\n    var s1 = seed[1];\n    var s2 = seed[2];\n    var s3 = seed[3];\n    \
         for (var c = 0u; c < 128u; c++) {\n        var m0 = w_zero();\n        var m1 = w_zero();\n",
    );
    for k in 0..64 {
        let (t, next) = (k % 4, (k + 1) % 4);
        let (rho, half) = rotations(k);
        writeln!(s, "        s{t} = mix(s{t}, s{next}, {rho}u, {half}u);").unwrap();
        writeln!(s, "        m{m} = select(m{m}, s{t}, lane == {}u);", k % 32, m = k / 32).unwrap();
    }
    s.push_str(
        "        st_at(2u * c, lane, stage2(m0));\n        st_at(2u * c + 1u, lane, stage2(m1));\n    }\n}\n\n",
    );
    s
}

/// The operands of lane L's word in row s (σ = 1): P[j], P[j+1] ^ P[j+2] for j = 32s + L. Lanes 30
/// and 31 reach into row s + 1; both rows are loaded by every lane and `select` picks, so the
/// memory chosen depends on the row alone.
fn unit_operands() -> String {
    String::from(
        "struct Unit {\n    x: Word,\n    a: Word,\n}\n\
         fn unit_operands(s: u32) -> Unit {\n    \
         let t = (s + 1u) & 255u;\n    \
         let p1 = select(ld_at(s, min(lane + 1u, 31u)), ld_at(t, 0u), lane == 31u);\n    \
         let p2 = select(ld_at(s, min(lane + 2u, 31u)), ld_at(t, (lane + 2u) & 31u), lane >= 30u);\n    \
         return Unit(ld_at(s, lane), w_xor(p1, p2));\n}\n\n",
    )
}

fn unit_round(r: u32, split: Split) -> String {
    let (rho, half) = rotations(r);
    assert!(r != ROUNDS - 1, "the last round has σ = 1024");
    // Per sweep: a barrier for the memory row s lives in. Where the pad is split, sweep 1 also
    // carries a workgroup barrier, so the new row 0 is visible to the final sweep's wrap.
    let sweep_barrier = match split.rows {
        0 => "        storageBarrier();\n".to_owned(),
        ROWS => "        workgroupBarrier();\n".to_owned(),
        _ => "        if s < SPLIT_ROWS || s == 1u {\n            workgroupBarrier();\n        }\n        \
              if s >= SPLIT_ROWS {\n            storageBarrier();\n        }\n"
            .to_owned(),
    };
    format!(
        "// Stage-3 round {r}: sigma = 1, rho = {rho}; one row per sweep.\nfn round{r}() {{\n\
         {full}    var o = unit_operands(0u);\n    for (var s = 0u; s < 256u; s++) {{\n        \
         let y = mix(o.x, o.a, {rho}u, {half}u);\n        \
         o = unit_operands((s + 1u) & 255u);\n{sweep_barrier}        st_at(s, lane, y);\n    }}\n}}\n\n",
        full = full_barrier(split)
    )
}

/// σ ≥ 64: lane L's own column, in blocks of rows, loads one block ahead.
fn strided_round(r: u32) -> String {
    let sig_rows = sigma(r) / LANES;
    let (rho, half) = rotations(r);
    let last = r == ROUNDS - 1;
    let mut s = format!(
        "// Stage-3 round {r}: sigma = {}, rho = {rho}; this lane's column only.\nfn round{r}(){} {{\n",
        sigma(r),
        if last { " -> Word" } else { "" }
    );
    if last {
        s.push_str("    var f = w_zero();\n");
    }
    for k in 0..BLOCK_ROWS {
        writeln!(s, "    var x{k}: Word;\n    var a{k}: Word;").unwrap();
    }
    block_loads(&mut s, "    ", "0u", sig_rows);
    let read_back_rows = last_round_read_back() / LANES;
    let spans = if last {
        vec![(0, read_back_rows, true), (read_back_rows, ROWS, false)]
    } else {
        vec![(0, ROWS, true)]
    };
    for (from, to, store) in spans {
        writeln!(s, "    for (var k = {from}u; k < {to}u; k += {BLOCK_ROWS}u) {{").unwrap();
        for k in 0..BLOCK_ROWS {
            writeln!(s, "        let y{k} = mix(x{k}, a{k}, {rho}u, {half}u);").unwrap();
        }
        // The next block's operands, before this block's stores.
        block_loads(&mut s, "        ", &format!("(k + {BLOCK_ROWS}u) & 255u"), sig_rows);
        for k in 0..BLOCK_ROWS {
            if store {
                writeln!(s, "        st_at(k + {k}u, lane, y{k});").unwrap();
            }
            if last {
                writeln!(s, "        f = w_xor(f, y{k});").unwrap();
            }
        }
        s.push_str("    }\n");
    }
    s.push_str(if last { "    return f;\n}\n\n" } else { "}\n\n" });
    s
}

/// Loads x0.. and a0.. of the block of rows starting at `first` (a WGSL expression, < 256).
fn block_loads(s: &mut String, indent: &str, first: &str, sig_rows: u32) {
    writeln!(s, "{indent}let n = {first};").unwrap();
    for k in 0..BLOCK_ROWS {
        writeln!(s, "{indent}x{k} = ld_at(n + {k}u, lane);").unwrap();
        writeln!(
            s,
            "{indent}a{k} = w_xor(ld_at((n + {}u) & 255u, lane), ld_at((n + {}u) & 255u, lane));",
            k + sig_rows,
            k + 2 * sig_rows
        )
        .unwrap();
    }
}

/// The 32 partials meet in row 0 (dead after round 7; each lane overwrites its own word).
fn fold(split: Split) -> String {
    let barrier = if split.rows == 0 { "    storageBarrier();\n" } else { "    workgroupBarrier();\n" };
    let mut s = format!(
        "fn fold(partial: Word) -> array<Word, 4> {{\n    st_at(0u, lane, partial);\n{barrier}    \
         var f0 = w_zero();\n    var f1 = w_zero();\n    var f2 = w_zero();\n    var f3 = w_zero();\n"
    );
    for c in 0..LANES {
        writeln!(s, "    f{w} = w_xor(f{w}, ld_at(0u, {c}u));", w = c % 4).unwrap();
    }
    s.push_str("    return array<Word, 4>(f0, f1, f2, f3);\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_whole_rows() {
        assert_eq!(Split::for_workgroup_bytes(32 * 1024), Split { rows: 128 });
        assert_eq!(Split::for_workgroup_bytes(48 * 1024 + 100), Split { rows: 192 });
        assert_eq!(Split::for_workgroup_bytes(1 << 20), Split { rows: 256 });
        assert_eq!(Split { rows: 64 }.global_words(), 8192 - 2048);
        assert_eq!(Split { rows: 64 }.workgroup_bytes(), 16 * 1024);
    }

    #[test]
    fn memory_declarations_follow_the_split() {
        assert!(!generated(Split { rows: 0 }).contains("var<workgroup>"));
        assert!(generated(Split { rows: 128 }).contains("var<workgroup> wpad: array<Word, 4096>;"));
        let all = generated(Split { rows: 256 });
        assert!(all.contains("array<Word, 8192>") && !all.contains("pad[base"));
    }

    #[test]
    fn barriers_only_in_unit_rounds_and_the_fold() {
        let g = generated(Split { rows: 64 });
        for r in [1, 2, 3, 5, 6, 7] {
            let body = &g[g.find(&format!("fn round{r}(")).unwrap()..];
            let body = &body[..body.find("\n}\n").unwrap()];
            assert!(!body.contains("Barrier"), "round {r} is lane-local");
        }
        for r in [0, 4] {
            let body = &g[g.find(&format!("fn round{r}(")).unwrap()..];
            assert!(body[..body.find("\n}\n").unwrap()].contains("workgroupBarrier"), "round {r}");
        }
    }
}
