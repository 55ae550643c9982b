//! # gpu-verify
//!
//! TOS Hash V3 share verification on GPU compute shaders (wgpu/WGSL), implementing
//! [`pool_core::VerifyBackend`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`adapter`] | finding adapters and ranking them by `device_type` (discrete > integrated > CPU) |
//! | [`drivers`] | which Vulkan driver is missing when only a CPU rasteriser was found |
//! | [`kernel`] | the two kernels' WGSL (`shaders/`, partly generated) and their pipelines |
//! | [`verifier`] | [`GpuVerifier`]: buffers allocated once, slabs, kernels ranked by measurement |
//! | [`timing`] | where a batch's time goes: upload, submit, wait, readback, GPU-timestamped kernel |
//! | [`selftest`] | the start-up self-test of every kernel: known vectors and a random batch vs the CPU |
//! | [`setup`] | building the pool's `VerifyEngine`: open, self-test, calibrate (`auto`) |
//!
//! The GPU only produces hashes; verdicts are always computed on the host (`pool_core::verify`), and
//! the engine (`pool_core::engine`) re-checks a sample of GPU hashes on the CPU at run time.

pub mod adapter;
pub mod drivers;
pub mod kernel;
pub mod selftest;
pub mod setup;
pub mod timing;
pub mod verifier;

pub use adapter::{AdapterSummary, DeviceKind};
pub use kernel::{Arithmetic, Kernel, KernelKind, Split, kernel_choice};
pub use setup::{EngineOptions, EngineSetup, build_engine};
pub use timing::BatchTiming;
pub use verifier::{Fault, GpuConfig, GpuError, GpuVerifier};
