//! # gpu-verify
//!
//! TOS Hash V3 share verification on GPU compute shaders (wgpu/WGSL), implementing
//! [`pool_core::VerifyBackend`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`adapter`] | finding adapters and ranking them by `device_type` (discrete > integrated > CPU) |
//! | [`kernel`] | assembling the WGSL (`shaders/`) for an arithmetic variant and building its pipeline |
//! | [`verifier`] | [`GpuVerifier`]: buffers allocated once, slabs within the binding limit, pipelined batches |
//! | [`selftest`] | the start-up self-test: known vectors and a random batch compared with the CPU |
//! | [`setup`] | building the pool's `VerifyEngine`: open, self-test, calibrate (`auto`) |
//!
//! The GPU only produces hashes; verdicts are always computed on the host (`pool_core::verify`), and
//! the engine (`pool_core::engine`) re-checks a sample of GPU hashes on the CPU at run time.

pub mod adapter;
pub mod kernel;
pub mod selftest;
pub mod setup;
pub mod verifier;

pub use adapter::{AdapterSummary, DeviceKind};
pub use kernel::Arithmetic;
pub use setup::{EngineOptions, EngineSetup, build_engine};
pub use verifier::{Fault, GpuConfig, GpuError, GpuVerifier};
