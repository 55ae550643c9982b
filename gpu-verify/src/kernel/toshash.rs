//! The facts of TOS Hash V3 (`/work/shared/spec/toshash-v3.md`) that the kernel generators
//! specialise on: every stride and rotation below becomes a WGSL literal.

/// Words in the scratchpad.
pub const N: u32 = 8192;
/// Stage-3 rounds.
pub const ROUNDS: u32 = 8;

/// The stride σ of stage-3 round `r`.
pub fn sigma(r: u32) -> u32 {
    [1, 64, 256, 1024][(r % 4) as usize]
}

/// `(rho, rho / 2)` of `mix(·, ·, r)`: rho = 7r mod 64. Stage 1 word i uses r = i, so its rotations
/// repeat every 64 words.
pub fn rotations(r: u32) -> (u32, u32) {
    let rho = (7 * r) % 64;
    (rho, rho / 2)
}

/// Words of the last round that later words of the same round read back (through the wrap):
/// only these need storing, the rest of round 7 goes straight into the fold.
pub fn last_round_read_back() -> u32 {
    2 * sigma(ROUNDS - 1)
}

/// `fn stage3() -> {ret}`: the eight generated rounds in order; round 7 returns the fold.
pub fn stage3_fn(ret: &str) -> String {
    let rounds: String = (0..ROUNDS - 1).map(|r| format!("    round{r}();\n")).collect();
    format!("fn stage3() -> {ret} {{\n{rounds}    return round{}();\n}}\n\n", ROUNDS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_rotations_follow_the_spec() {
        assert_eq!((0..8).map(sigma).collect::<Vec<_>>(), [1, 64, 256, 1024, 1, 64, 256, 1024]);
        assert_eq!(rotations(0), (0, 0));
        assert_eq!(rotations(7), (49, 24));
        assert_eq!(rotations(10), (6, 3));
        // Stage 1's period: word i and word i + 64 rotate alike.
        assert!((0..64).all(|k| rotations(k) == rotations(k + 64)));
        assert_eq!(last_round_read_back(), 2048);
    }
}
