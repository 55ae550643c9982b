//! TOS Hash V3, the proof of work (`toshash-v3.md`).
//!
//! * [`reference`] — the definition transcribed literally; the oracle in tests.
//! * [`TosHasher`] — the fast path (see `fast.rs`): owns one reusable 64 KiB scratchpad and runs the
//!   best variant the CPU supports ([`DispatchLevel`]).
//! * [`tos_hash_v3`] — convenience wrapper over a per-thread [`TosHasher`].

mod fast;
mod lanes;
pub mod reference;

use std::cell::RefCell;
use std::fmt;

/// Size of a hash in bytes.
pub const HASH_SIZE: usize = 32;
/// Scratchpad size in 64-bit words (64 KiB).
pub const SCRATCH_WORDS: usize = 8192;
/// The multiplier of `mix`.
pub const C: u64 = 0x517c_c1b7_2722_0a95;
pub(crate) const MEMORY_PASSES: usize = 4;
pub(crate) const STRIDED_ROUNDS: usize = 8;
pub(crate) const STRIDES: [usize; 4] = [1, 64, 256, 1024];

/// A published test vector (`shared/spec/vectors.json`).
#[derive(Clone, Copy, Debug)]
pub struct KnownVector {
    pub name: &'static str,
    pub input_hex: &'static str,
    pub hash_hex: &'static str,
}

/// The node's three official vectors and the worked share of protocol.md §2.12: what every
/// implementation (CPU, each GPU variant) must reproduce, and what the GPU self-test checks.
pub const KNOWN_VECTORS: [KnownVector; 4] = [
    KnownVector {
        name: "node_tck/zeros_112_bytes",
        input_hex: "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        hash_hex: "b9685f2eaa611ecf95862c8b2fd9376db7891f01d62dff24bc3fdb60d6906c02",
    },
    KnownVector {
        name: "node_tck/first_byte_one_rest_zero_112_bytes",
        input_hex: "01000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        hash_hex: "9df8dd8b862ee5d7bd92afcc9f71efd859a1fa885181c1d61c177d124fbf7936",
    },
    KnownVector {
        name: "node_tck/ascii_phrase",
        input_hex: "7465737420696e70757420666f7220746f732068617368207633",
        hash_hex: "3657e1aed85be845d7924e9ad88041a9d821c1425450374406e89f84ea5d24c3",
    },
    KnownVector {
        name: "worked_share_protocol_2_12",
        input_hex: "4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad0000018f1cbd697000000000010000120000000157e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ffd67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55",
        hash_hex: "0e3d48e4d7888732111437a898f1980d2ba682786d45aef5cc126e433eba0fcd",
    },
];

/// A 32-byte TOS Hash V3 output. Byte 0 is the most significant byte when compared with a target.
pub type Hash = [u8; HASH_SIZE];

/// Which compiled variant of the fast path runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DispatchLevel {
    /// Plain code for the compilation target's baseline.
    Portable,
    /// AVX2 + BMI2.
    Avx2,
    /// AVX-512 F/DQ/VL/BW.
    Avx512,
}

impl DispatchLevel {
    /// Every level, slowest first.
    pub const ALL: [DispatchLevel; 3] = [Self::Portable, Self::Avx2, Self::Avx512];

    /// The best level this CPU supports.
    pub fn detect() -> Self {
        Self::ALL.into_iter().rev().find(|l| l.is_supported()).unwrap_or(Self::Portable)
    }

    /// Every level this CPU supports, slowest first.
    pub fn supported() -> Vec<Self> {
        Self::ALL.into_iter().filter(|l| l.is_supported()).collect()
    }

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("bmi2")
            }
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("bmi2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Lower-case name, as used on the command line and in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        }
    }
}

impl fmt::Display for DispatchLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The 64 KiB scratchpad and the fast path's stage-3 side buffer, cache-line aligned.
#[repr(C, align(64))]
struct Scratchpad {
    pad: [u64; SCRATCH_WORDS],
    side: [u64; fast::SIDE_WORDS],
}

/// The fast TOS Hash V3 with its own reusable scratchpad. One per thread; never allocates per hash.
pub struct TosHasher {
    pad: Box<Scratchpad>,
    level: DispatchLevel,
}

impl TosHasher {
    /// A hasher running the best variant this CPU supports.
    pub fn new() -> Self {
        Self::with_level(DispatchLevel::detect()).expect("the detected level is supported")
    }

    /// A hasher pinned to `level`, or `None` if this CPU cannot run it.
    pub fn with_level(level: DispatchLevel) -> Option<Self> {
        level.is_supported().then(|| Self {
            pad: Box::new(Scratchpad { pad: [0; SCRATCH_WORDS], side: [0; fast::SIDE_WORDS] }),
            level,
        })
    }

    /// The variant this hasher runs.
    pub fn level(&self) -> DispatchLevel {
        self.level
    }

    /// TOS Hash V3 of `input` (any length).
    pub fn hash(&mut self, input: &[u8]) -> Hash {
        let seed = blake3::hash(input);
        let seed = seed.as_bytes();
        let mut s = [0u64; 4];
        for (w, word) in s.iter_mut().enumerate() {
            *word = u64::from_le_bytes(seed[8 * w..8 * w + 8].try_into().expect("8 bytes"));
        }
        let Scratchpad { pad, side } = &mut *self.pad;
        let fold = match self.level {
            DispatchLevel::Portable => fast::hash_words_portable(pad, side, s),
            // SAFETY: `with_level` only builds a hasher for a level the CPU supports.
            #[cfg(target_arch = "x86_64")]
            DispatchLevel::Avx2 => unsafe { fast::hash_words_avx2(pad, side, s) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            DispatchLevel::Avx512 => unsafe { fast::hash_words_avx512(pad, side, s) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("non-portable levels are never supported off x86-64"),
        };
        let mut out = [0u8; 32];
        for (w, word) in fold.iter().enumerate() {
            out[8 * w..8 * w + 8].copy_from_slice(&word.to_le_bytes());
        }
        *blake3::hash(&out).as_bytes()
    }
}

impl Default for TosHasher {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static THREAD_HASHER: RefCell<TosHasher> = RefCell::new(TosHasher::new());
}

/// TOS Hash V3 of `input` with this thread's [`TosHasher`] (allocated once per thread).
pub fn tos_hash_v3(input: &[u8]) -> Hash {
    THREAD_HASHER.with(|h| h.borrow_mut().hash(input))
}

/// Runs `f` with this thread's hasher (for callers hashing many inputs in a row).
pub fn with_thread_hasher<R>(f: impl FnOnce(&mut TosHasher) -> R) -> R {
    THREAD_HASHER.with(|h| f(&mut h.borrow_mut()))
}

#[cfg(test)]
mod tests;
