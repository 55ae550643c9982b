//! Eight 64-bit words as one value: the unit of work of the fast path's data-parallel stages.
//!
//! Three implementations: [`Portable`] (a plain array), and on x86-64 [`Avx2`] (two `__m256i`) and
//! [`Avx512`] (one `__m512i`). The methods are `unsafe` because the SIMD ones may only run on a CPU
//! with the matching features; `fast.rs` calls them only from functions compiled with those
//! features and selected by `DispatchLevel::detect`. Explicit intrinsics, because LLVM's
//! autovectoriser turned the chunk loops into gathers and scatters.

use super::C;

/// Eight u64 words and the operations `mix` needs on them.
pub(super) trait Lanes8: Copy {
    /// Loads 8 words from `p` (unaligned).
    unsafe fn load(p: *const u64) -> Self;
    /// Stores 8 words to `p` (unaligned).
    unsafe fn store(self, p: *mut u64);
    unsafe fn xor(self, o: Self) -> Self;
    /// `self ^ b ^ c` (one `vpternlogq` on AVX-512).
    #[inline(always)]
    unsafe fn xor3(self, b: Self, c: Self) -> Self {
        // SAFETY: forwarded contract.
        unsafe { self.xor(b).xor(c) }
    }
    unsafe fn add(self, o: Self) -> Self;
    /// Wrapping multiplication of each word by [`C`].
    unsafe fn mul_c(self) -> Self;
    unsafe fn rotl(self, n: u32) -> Self;
    unsafe fn rotr(self, n: u32) -> Self;
    unsafe fn to_array(self) -> [u64; 8];
}

#[derive(Clone, Copy)]
pub(super) struct Portable([u64; 8]);

impl Lanes8 for Portable {
    #[inline(always)]
    unsafe fn load(p: *const u64) -> Self {
        // SAFETY: the caller guarantees 8 readable words.
        Self(unsafe { p.cast::<[u64; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u64) {
        // SAFETY: the caller guarantees 8 writable words.
        unsafe { p.cast::<[u64; 8]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l] ^ o.0[l]))
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        Self(std::array::from_fn(|l| self.0[l].wrapping_add(o.0[l])))
    }
    #[inline(always)]
    unsafe fn mul_c(self) -> Self {
        Self(self.0.map(|x| x.wrapping_mul(C)))
    }
    #[inline(always)]
    unsafe fn rotl(self, n: u32) -> Self {
        Self(self.0.map(|x| x.rotate_left(n)))
    }
    #[inline(always)]
    unsafe fn rotr(self, n: u32) -> Self {
        Self(self.0.map(|x| x.rotate_right(n)))
    }
    #[inline(always)]
    unsafe fn to_array(self) -> [u64; 8] {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{C, Lanes8};
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(in super::super) struct Avx512(__m512i);

    // SAFETY (all methods): callers run only on CPUs with AVX-512 F/DQ (checked at dispatch) and
    // pass pointers to 8 valid words.
    impl Lanes8 for Avx512 {
        #[inline(always)]
        unsafe fn load(p: *const u64) -> Self {
            unsafe { Self(_mm512_loadu_si512(p.cast())) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut u64) {
            unsafe { _mm512_storeu_si512(p.cast(), self.0) }
        }
        #[inline(always)]
        unsafe fn xor(self, o: Self) -> Self {
            unsafe { Self(_mm512_xor_si512(self.0, o.0)) }
        }
        #[inline(always)]
        unsafe fn xor3(self, b: Self, c: Self) -> Self {
            unsafe { Self(_mm512_ternarylogic_epi64::<0x96>(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        unsafe fn add(self, o: Self) -> Self {
            unsafe { Self(_mm512_add_epi64(self.0, o.0)) }
        }
        #[inline(always)]
        unsafe fn mul_c(self) -> Self {
            unsafe { Self(_mm512_mullo_epi64(self.0, _mm512_set1_epi64(C as i64))) }
        }
        #[inline(always)]
        unsafe fn rotl(self, n: u32) -> Self {
            unsafe { Self(_mm512_rolv_epi64(self.0, _mm512_set1_epi64(n as i64))) }
        }
        #[inline(always)]
        unsafe fn rotr(self, n: u32) -> Self {
            unsafe { Self(_mm512_rorv_epi64(self.0, _mm512_set1_epi64(n as i64))) }
        }
        #[inline(always)]
        unsafe fn to_array(self) -> [u64; 8] {
            unsafe { std::mem::transmute::<__m512i, [u64; 8]>(self.0) }
        }
    }

    #[derive(Clone, Copy)]
    pub(in super::super) struct Avx2(__m256i, __m256i);

    /// Low 64 bits of `x * C` per lane from 32×32→64 partial products (AVX2 has no 64-bit multiply):
    /// `lo(x)·lo(C) + ((hi(x)·lo(C) + lo(x)·hi(C)) << 32)`.
    #[inline(always)]
    unsafe fn mul_c_256(x: __m256i) -> __m256i {
        unsafe {
            let c_lo = _mm256_set1_epi64x((C & 0xffff_ffff) as i64);
            let c_hi = _mm256_set1_epi64x((C >> 32) as i64);
            let lo = _mm256_mul_epu32(x, c_lo);
            let cross = _mm256_add_epi64(
                _mm256_mul_epu32(_mm256_srli_epi64::<32>(x), c_lo),
                _mm256_mul_epu32(x, c_hi),
            );
            _mm256_add_epi64(lo, _mm256_slli_epi64::<32>(cross))
        }
    }

    /// Rotate left by `n` in 0..64. AVX2 shifts by ≥ 64 give 0, so `n = 0` needs no special case.
    #[inline(always)]
    unsafe fn rotl_256(x: __m256i, n: u32) -> __m256i {
        unsafe {
            let l = _mm_cvtsi32_si128(n as i32);
            let r = _mm_cvtsi32_si128(64 - n as i32);
            _mm256_or_si256(_mm256_sll_epi64(x, l), _mm256_srl_epi64(x, r))
        }
    }

    // SAFETY (all methods): callers run only on CPUs with AVX2 (checked at dispatch) and pass
    // pointers to 8 valid words.
    impl Lanes8 for Avx2 {
        #[inline(always)]
        unsafe fn load(p: *const u64) -> Self {
            unsafe { Self(_mm256_loadu_si256(p.cast()), _mm256_loadu_si256(p.add(4).cast())) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut u64) {
            unsafe {
                _mm256_storeu_si256(p.cast(), self.0);
                _mm256_storeu_si256(p.add(4).cast(), self.1);
            }
        }
        #[inline(always)]
        unsafe fn xor(self, o: Self) -> Self {
            unsafe { Self(_mm256_xor_si256(self.0, o.0), _mm256_xor_si256(self.1, o.1)) }
        }
        #[inline(always)]
        unsafe fn add(self, o: Self) -> Self {
            unsafe { Self(_mm256_add_epi64(self.0, o.0), _mm256_add_epi64(self.1, o.1)) }
        }
        #[inline(always)]
        unsafe fn mul_c(self) -> Self {
            unsafe { Self(mul_c_256(self.0), mul_c_256(self.1)) }
        }
        #[inline(always)]
        unsafe fn rotl(self, n: u32) -> Self {
            unsafe { Self(rotl_256(self.0, n), rotl_256(self.1, n)) }
        }
        #[inline(always)]
        unsafe fn rotr(self, n: u32) -> Self {
            unsafe { Self(rotl_256(self.0, (64 - n) % 64), rotl_256(self.1, (64 - n) % 64)) }
        }
        #[inline(always)]
        unsafe fn to_array(self) -> [u64; 8] {
            unsafe { std::mem::transmute::<[__m256i; 2], [u64; 8]>([self.0, self.1]) }
        }
    }
}
