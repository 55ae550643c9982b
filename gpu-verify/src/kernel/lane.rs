//! The generated part of the one-invocation-per-share kernel (`shaders/lane.wgsl`): stage 1 unrolled
//! over its 64-word rotation period and the eight stage-3 rounds, each with its σ and ρ as literals
//! and its memory traffic software-pipelined.
//!
//! **Why pipelined.** Word i's operands are loads and its result a store to the same buffer; the
//! compiler cannot prove they do not alias, so without help every word waits for the previous
//! word's store before its loads issue: one memory round trip per word, 65,536 times. Here a round
//! runs in blocks of [`BLOCK`] words and the loads of block t + 1 are issued before the stores of
//! block t. That reproduces the in-place sequential order exactly, because
//! * in the head (i < N − 2σ) every operand has a higher index than any word written so far, so it
//!   still holds the previous round's value whenever it is loaded, and
//! * in the wrap tail the wrapped operands are head words in [0, 2σ), finished blocks earlier (a
//!   block's loads are never of the block whose stores are pending: 2σ ≤ N − 2·BLOCK).
//!
//! So one loop with indices reduced mod N covers head and tail alike.

use super::toshash::{N, ROUNDS, last_round_read_back, rotations, sigma, stage3_fn};
use std::fmt::Write as _;

/// Words per pipelined block: 8 words keep 16–24 loads in flight per invocation.
pub const BLOCK: u32 = 8;

/// The stage-1 and stage-3 functions called by `shaders/lane.wgsl`.
pub fn generated() -> String {
    let mut s = stage1();
    s.push_str(&stage3_fn("array<Word, 4>"));
    for r in 0..ROUNDS {
        s.push_str(&if sigma(r) == 1 { unit_round(r) } else { strided_round(r) });
    }
    s
}

fn stage1() -> String {
    let mut s = String::from(
        "// Stages 1 + 2, unrolled over the 64-word rotation period: word i = c + k has rho = 7k mod 64.\n\
         fn stage1(seed: array<Word, 4>) {\n    \
         var s0 = seed[0];\n    var s1 = seed[1];\n    var s2 = seed[2];\n    var s3 = seed[3];\n    \
         for (var c = 0u; c < N; c += 64u) {\n",
    );
    for k in 0..64 {
        let (t, next) = (k % 4, (k + 1) % 4);
        let (rho, half) = rotations(k);
        writeln!(s, "        s{t} = mix(s{t}, s{next}, {rho}u, {half}u);").unwrap();
        writeln!(s, "        st(c + {k}u, stage2(s{t}));").unwrap();
    }
    s.push_str("    }\n}\n\n");
    s
}

/// Which words a round stores and whether it folds: every round stores all words but the last,
/// which stores only the words read back through its wrap and XORs every result into the fold.
struct Output {
    last: bool,
}

impl Output {
    fn of(r: u32) -> Self {
        Output { last: r == ROUNDS - 1 }
    }

    /// The loops of the round as (from, to, store) word ranges.
    fn spans(&self) -> Vec<(u32, u32, bool)> {
        if self.last {
            vec![(0, last_round_read_back(), true), (last_round_read_back(), N, false)]
        } else {
            vec![(0, N, true)]
        }
    }

    fn header(&self) -> (&'static str, &'static str) {
        if self.last {
            (
                " -> array<Word, 4>",
                "    var f0 = w_zero();\n    var f1 = w_zero();\n    var f2 = w_zero();\n    var f3 = w_zero();\n",
            )
        } else {
            ("", "")
        }
    }

    fn footer(&self) -> &'static str {
        if self.last { "    return array<Word, 4>(f0, f1, f2, f3);\n}\n\n" } else { "}\n\n" }
    }

    /// Stores (and fold updates) of the block starting at `i`, results y0..y{BLOCK-1}.
    fn emit(&self, s: &mut String, store: bool) {
        for k in 0..BLOCK {
            if store {
                writeln!(s, "        st(i + {k}u, y{k});").unwrap();
            }
            if self.last {
                writeln!(s, "        f{} = w_xor(f{}, y{k});", k % 4, k % 4).unwrap();
            }
        }
    }
}

/// σ ≥ 64: three loads per word (x, and the two operands XORed at load time).
fn strided_round(r: u32) -> String {
    let sig = sigma(r);
    let (rho, half) = rotations(r);
    let out = Output::of(r);
    let (ret, fold_vars) = out.header();
    let mut s =
        format!("// Stage-3 round {r}: sigma = {sig}, rho = {rho}.\nfn round{r}(){ret} {{\n{fold_vars}");
    for k in 0..BLOCK {
        writeln!(s, "    var x{k}: Word;\n    var a{k}: Word;").unwrap();
    }
    block_loads(&mut s, "    ", "0u", sig);
    for (from, to, store) in out.spans() {
        writeln!(s, "    for (var i = {from}u; i < {to}u; i += {BLOCK}u) {{").unwrap();
        for k in 0..BLOCK {
            writeln!(s, "        let y{k} = mix(x{k}, a{k}, {rho}u, {half}u);").unwrap();
        }
        // The next block's operands, before this block's stores (see the module comment).
        block_loads(&mut s, "        ", &format!("(i + {BLOCK}u) & {}u", N - 1), sig);
        out.emit(&mut s, store);
        s.push_str("    }\n");
    }
    s.push_str(out.footer());
    s
}

/// Loads x0.. and a0.. of the block starting at word `first` (a WGSL expression, a multiple of BLOCK).
fn block_loads(s: &mut String, indent: &str, first: &str, sig: u32) {
    writeln!(s, "{indent}let j = {first};").unwrap();
    for k in 0..BLOCK {
        writeln!(s, "{indent}x{k} = ld(j + {k}u);").unwrap();
        writeln!(
            s,
            "{indent}a{k} = w_xor(ld((j + {}u) & {m}u), ld((j + {}u) & {m}u));",
            k + sig,
            k + 2 * sig,
            m = N - 1
        )
        .unwrap();
    }
}

/// σ = 1: word i needs P[i], P[i+1], P[i+2], so a window of BLOCK + 2 old words slides along and
/// each word costs one load. The last block's window wraps to the new P[0], P[1], as in order.
fn unit_round(r: u32) -> String {
    let (rho, half) = rotations(r);
    let out = Output::of(r);
    let (ret, fold_vars) = out.header();
    let w = BLOCK + 2;
    let mut s = format!("// Stage-3 round {r}: sigma = 1, rho = {rho}.\nfn round{r}(){ret} {{\n{fold_vars}");
    for k in 0..w {
        writeln!(s, "    var w{k} = ld({k}u);").unwrap();
    }
    for (from, to, store) in out.spans() {
        writeln!(s, "    for (var i = {from}u; i < {to}u; i += {BLOCK}u) {{").unwrap();
        for k in 0..BLOCK {
            writeln!(s, "        let y{k} = mix(w{k}, w_xor(w{}, w{}), {rho}u, {half}u);", k + 1, k + 2)
                .unwrap();
        }
        writeln!(s, "        w0 = w{BLOCK};\n        w1 = w{};", BLOCK + 1).unwrap();
        for k in 2..w {
            writeln!(s, "        w{k} = ld((i + {}u) & {}u);", BLOCK + k, N - 1).unwrap();
        }
        out.emit(&mut s, store);
        s.push_str("    }\n");
    }
    s.push_str(out.footer());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_is_specialised_and_only_the_last_folds() {
        let g = generated();
        for r in 0..ROUNDS {
            let folds = if r == ROUNDS - 1 { " -> array<Word, 4> {" } else { " {" };
            assert!(g.contains(&format!("fn round{r}(){folds}")), "round {r}");
        }
        // Every mix has literal rotations: `mix(…, 49u, 24u);`.
        for line in g.lines().filter(|l| l.contains("= mix(")) {
            let args: Vec<&str> = line.trim_end_matches(");").rsplit(", ").take(2).collect();
            assert!(
                args.iter().all(|a| a.ends_with('u') && a[..a.len() - 1].parse::<u32>().is_ok()),
                "{line}"
            );
        }
        assert_eq!(g.matches("stage2(").count(), 64, "stage 1 unrolled 64 times");
    }

    #[test]
    fn the_last_round_stores_only_what_its_wrap_reads() {
        let g = generated();
        let last = &g[g.find("fn round7(").unwrap()..];
        let loops: Vec<&str> = last.split("for (").skip(1).collect();
        assert_eq!(loops.len(), 2);
        assert!(loops[0].starts_with("var i = 0u; i < 2048u;") && loops[0].contains("st("));
        assert!(loops[1].starts_with("var i = 2048u; i < 8192u;") && !loops[1].contains("st("));
    }
}
