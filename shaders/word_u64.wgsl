// 64-bit words as native u64 (adapters with SHADER_INT64).
alias Word = u64;

fn w_from_u32s(lo: u32, hi: u32) -> Word {
    return (u64(hi) << 32u) | u64(lo);
}
fn w_lo(x: Word) -> u32 { return u32(x & 0xFFFFFFFFlu); }
fn w_hi(x: Word) -> u32 { return u32(x >> 32u); }
fn w_add(a: Word, b: Word) -> Word { return a + b; }
fn w_xor(a: Word, b: Word) -> Word { return a ^ b; }
fn w_mul_c(a: Word) -> Word { return a * 0x517cc1b727220a95lu; }
// A shift by 64 is masked to 0 for runtime amounts, so n = 0 needs the explicit `& 63u`.
fn w_rotl(x: Word, n: u32) -> Word { return (x << n) | (x >> ((64u - n) & 63u)); }
fn w_rotr(x: Word, n: u32) -> Word { return (x >> n) | (x << ((64u - n) & 63u)); }
fn w_zero() -> Word { return 0lu; }
