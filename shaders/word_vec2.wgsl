// 64-bit words emulated as vec2<u32> (x = low 32 bits, y = high 32 bits), for adapters without
// SHADER_INT64. WGSL masks 32-bit shift amounts, so rotations by 0 and 32 are special-cased.
alias Word = vec2<u32>;

fn w_from_u32s(lo: u32, hi: u32) -> Word { return vec2<u32>(lo, hi); }
fn w_lo(x: Word) -> u32 { return x.x; }
fn w_hi(x: Word) -> u32 { return x.y; }
fn w_add(a: Word, b: Word) -> Word {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn w_xor(a: Word, b: Word) -> Word { return a ^ b; }

// Full 64-bit product of two u32 from 16-bit partial products (WGSL has no mul-high).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Cannot overflow: p01 <= (2^16-1)^2 and the two addends are < 2^16 each.
    let mid = p01 + (p00 >> 16u) + (p10 & 0xFFFFu);
    return vec2<u32>((mid << 16u) | (p00 & 0xFFFFu), p11 + (mid >> 16u) + (p10 >> 16u));
}

// Low 64 bits of a * 0x517cc1b727220a95.
fn w_mul_c(a: Word) -> Word {
    let c_lo = 0x27220a95u;
    let c_hi = 0x517cc1b7u;
    let p = mul_wide(a.x, c_lo);
    return vec2<u32>(p.x, p.y + a.x * c_hi + a.y * c_lo);
}

fn w_rotl(x: Word, n: u32) -> Word {
    if n == 0u {
        return x;
    }
    if n == 32u {
        return x.yx;
    }
    var v = x;
    var m = n;
    if m > 32u {
        v = x.yx;
        m = m - 32u;
    }
    return vec2<u32>((v.x << m) | (v.y >> (32u - m)), (v.y << m) | (v.x >> (32u - m)));
}
fn w_rotr(x: Word, n: u32) -> Word { return w_rotl(x, (64u - n) & 63u); }
fn w_zero() -> Word { return vec2<u32>(0u, 0u); }
