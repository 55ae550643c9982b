//! [`GpuVerifier`]: TOS Hash V3 of batches on one wgpu device.
//!
//! * **Two kernels** (`kernel/`): one invocation per share (`lane`) or one 32-invocation workgroup
//!   per share (`coop`). The candidates allowed by the configuration are built, timed on a batch
//!   of the configured size, and kept fastest first; the self-test may drop a candidate.
//! * **Buffers are allocated once** for `max_batch` inputs: two I/O sets (inputs, hashes, readback,
//!   params) so the upload of batch N+1 overlaps batch N, and one scratch buffer per *slab*.
//! * **Slabs**: a 64 KiB scratchpad per input means one binding holds
//!   `max_storage_buffer_binding_size / 64 KiB` inputs (2,048 at 128 MiB). Each slab is its own dispatch
//!   with its own bind group, so the kernel never chooses a binding per invocation (Mesa 22's
//!   divergent-branch miscompile) and never needs a bounds branch: lane dispatches are padded to
//!   whole workgroups and the padding's hashes are discarded; coop dispatches are one workgroup per
//!   input.
//! * **Only hashes are read back** (32 bytes per input), after the GPU timestamps of the pass where
//!   the adapter has timestamp queries.
//! * **Failure is an error, never a guess**: validation/OOM/internal errors (error scopes), device loss
//!   (callback), map failures and timeouts all return [`GpuError`]; the caller re-verifies on the CPU.

use crate::adapter::{self, AdapterSummary, DeviceKind};
use crate::kernel::{self, Arithmetic, Kernel, KernelKind, Split};
use crate::timing::{BatchTiming, READBACK_HEADER, Timestamps};
use pool_core::hash::Hash;
use pool_core::{MinerWork, VerifyBackend, VerifyError};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const SCRATCH_BYTES_PER_INPUT: u64 = 8192 * 8;
const INPUT_BYTES: usize = 112;
/// Lane-kernel workgroup sizes tried when none is configured; every slab is a multiple of the largest.
pub const WORKGROUP_CANDIDATES: [u32; 4] = [32, 64, 128, 256];
const SLAB_ALIGN: usize = 256;
/// A batch that takes longer than this is treated as a hung device.
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);

/// How to set the verifier up.
#[derive(Clone, Debug)]
pub struct GpuConfig {
    /// Inputs per submission; larger batches are split and pipelined. Kernel candidates are timed
    /// on a batch of this size.
    pub max_batch: usize,
    /// The kernel; `None` builds both, times them and keeps the faster.
    pub kernel: Option<KernelKind>,
    /// Lane-kernel workgroup size; `None` times the candidates and keeps the fastest.
    pub workgroup_size: Option<u32>,
    /// Coop kernel: bytes of each share's pad kept in workgroup memory (whole 32-word rows);
    /// `None` takes as much as the adapter allows.
    pub workgroup_memory: Option<u32>,
    /// 64-bit arithmetic; `None` takes native `u64` where the adapter has `SHADER_INT64`.
    pub arithmetic: Option<Arithmetic>,
    /// Accept a CPU-type adapter (llvmpipe/lavapipe) as the GPU: for tests and machines that
    /// knowingly have no GPU. Off, a server missing its GPU driver fails loudly instead of
    /// verifying at a CPU rasteriser's ~2k hashes/s.
    pub allow_cpu_adapter: bool,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            max_batch: 2048,
            kernel: None,
            workgroup_size: None,
            workgroup_memory: None,
            arithmetic: None,
            allow_cpu_adapter: false,
        }
    }
}

/// Why the GPU verifier could not start or could not finish a batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no graphics adapter found ({0}); install a GPU driver (or, to test on the CPU, `apt-get install libvulkan1 mesa-vulkan-drivers`)"
    )]
    NoAdapter(String),
    #[error(
        "refusing the CPU rasteriser {adapter} as a GPU: {hint}. To verify on it anyway (~2k hashes/s), allow it explicitly (`--allow-cpu-adapter`, verifier.allow_cpu_adapter = true)"
    )]
    CpuAdapterRefused { adapter: String, hint: String },
    #[error("the adapter {0} lacks SHADER_INT64, required by the u64 kernel; use the vec2<u32> variant")]
    NoInt64(String),
    #[error("could not open the device: {0}")]
    Device(String),
    #[error("{0}")]
    Kernel(String),
    #[error("GPU device lost: {0}")]
    Lost(String),
    #[error("GPU error during a batch: {0}")]
    Batch(String),
    #[error("inputs must be 1..=112 bytes, got {0}")]
    InputLength(usize),
}

/// Deliberate misbehaviour, for tests of everything that must catch a lying or dying GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Flip a bit in every n-th hash read back (a random hardware fault).
    FlipEvery(u64),
    /// Zero every n-th hash read back: the GPU claims the share meets every target, a block included
    /// (the most expensive lie).
    ZeroEvery(u64),
}

struct IoSet {
    inputs: wgpu::Buffer,
    hashes: wgpu::Buffer,
    /// [`READBACK_HEADER`] bytes of timestamps, then the hashes.
    readback: wgpu::Buffer,
    params: Vec<wgpu::Buffer>,
    bind_groups: Vec<wgpu::BindGroup>,
    timestamps: Option<Timestamps>,
}

/// A built kernel and what timing it measured.
struct Variant {
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    measured: Option<Duration>,
}

struct State {
    /// Fastest first; batches run on `variants[0]`.
    variants: Vec<Variant>,
    sets: [IoSet; 2],
}

struct InFlight {
    set: usize,
    count: usize,
    submission: wgpu::SubmissionIndex,
    mapped: mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
    timing: BatchTiming,
    kind: KernelKind,
}

/// TOS Hash V3 on one GPU (or CPU-type adapter). Batches are serialised per device.
pub struct GpuVerifier {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    arithmetic: Arithmetic,
    capacity: usize,
    slab_inputs: usize,
    state: Mutex<State>,
    lost: Arc<Mutex<Option<String>>>,
    errored: Arc<AtomicBool>,
    /// The injected [`Fault`] and the kernel it is limited to (`None`: every kernel).
    fault: Mutex<(Fault, Option<KernelKind>)>,
    hashes_done: AtomicU64,
    last_timing: Mutex<BatchTiming>,
}

impl GpuVerifier {
    /// Opens the best adapter allowed by `config` and builds the kernels.
    pub fn new(config: &GpuConfig) -> Result<Self, GpuError> {
        let instance = adapter::instance();
        let adapters = adapter::ranked_adapters(&instance);
        let Some(best) = adapters.first() else {
            return Err(GpuError::NoAdapter("wgpu enumerated no adapters".into()));
        };
        let summary = AdapterSummary::of(best);
        if !summary.kind.is_gpu() && !config.allow_cpu_adapter {
            return Err(GpuError::CpuAdapterRefused {
                adapter: summary.to_string(),
                hint: crate::drivers::missing_driver_hint(),
            });
        }
        Self::with_adapter(best, config)
    }

    /// Builds the verifier on a specific adapter (whatever its kind).
    pub fn with_adapter(adapter: &wgpu::Adapter, config: &GpuConfig) -> Result<Self, GpuError> {
        let summary = AdapterSummary::of(adapter);
        let arithmetic = match config.arithmetic {
            Some(Arithmetic::U64) if !summary.shader_int64 => {
                return Err(GpuError::NoInt64(summary.to_string()));
            }
            Some(a) => a,
            None if summary.shader_int64 => Arithmetic::U64,
            None => Arithmetic::Vec2,
        };
        let limits = adapter.limits();
        let mut features = wgpu::Features::empty();
        if arithmetic == Arithmetic::U64 {
            features |= wgpu::Features::SHADER_INT64;
        }
        // Kernel time in `bench verify`, where the adapter can measure it.
        features |= adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let candidates = candidates(config, &limits, &summary)?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tos-pool verifier"),
            required_features: features,
            // The adapter's own limits: wgpu's defaults would cap buffers at 256 MiB.
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;

        let lost = Arc::new(Mutex::new(None::<String>));
        let errored = Arc::new(AtomicBool::new(false));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, msg| {
                tracing::error!(?reason, %msg, "GPU device lost");
                *lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{reason:?}: {msg}"));
            });
            let errored = errored.clone();
            // wgpu's default handler panics; an uncaught GPU error must fail the batch instead.
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                tracing::error!(error = %e, "uncaptured GPU error");
                errored.store(true, Ordering::SeqCst);
            }));
        }

        // Slab size: what one storage binding (and one buffer) can hold, whole workgroups only.
        let per_binding = (limits.max_storage_buffer_binding_size / SCRATCH_BYTES_PER_INPUT)
            .min(limits.max_buffer_size / SCRATCH_BYTES_PER_INPUT) as usize;
        let align = candidates.iter().map(|k| k.workgroup_size() as usize).fold(SLAB_ALIGN, usize::max);
        let capacity = config.max_batch.max(1).div_ceil(align) * align;
        // Every slab has exactly `slab_inputs` lanes (the lane kernel's stride), the last one included.
        let slab_inputs = ((per_binding / align) * align).min(capacity);
        if slab_inputs == 0 {
            return Err(GpuError::Device(format!(
                "{summary} cannot bind even {align} scratchpads of 64 KiB (max_storage_buffer_binding_size {})",
                limits.max_storage_buffer_binding_size
            )));
        }
        let slabs = capacity.div_ceil(slab_inputs);
        let layout = kernel::bind_group_layout(&device);

        // Sized for the lane kernel (64 KiB per input); the coop kernel uses the part of each
        // input's region that its workgroup memory does not hold.
        let scratch: Vec<wgpu::Buffer> = (0..slabs)
            .map(|_| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("scratch"),
                    size: slab_inputs as u64 * SCRATCH_BYTES_PER_INPUT,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let make_set = |k: usize| {
            let storage = |label, size: usize, extra| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: size as u64,
                    usage: wgpu::BufferUsages::STORAGE | extra,
                    mapped_at_creation: false,
                })
            };
            let inputs = storage("inputs", capacity * INPUT_BYTES, wgpu::BufferUsages::COPY_DST);
            let hashes = storage("hashes", capacity * 32, wgpu::BufferUsages::COPY_SRC);
            let readback = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: READBACK_HEADER + (capacity * 32) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let params: Vec<wgpu::Buffer> = (0..slabs)
                .map(|_| {
                    device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("params"),
                        size: 16,
                        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    })
                })
                .collect();
            let bind_groups = (0..slabs)
                .map(|j| {
                    device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(if k == 0 { "slab/set0" } else { "slab/set1" }),
                        layout: &layout,
                        entries: &[
                            wgpu::BindGroupEntry { binding: 0, resource: inputs.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 1, resource: scratch[j].as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 2, resource: hashes.as_entire_binding() },
                            wgpu::BindGroupEntry { binding: 3, resource: params[j].as_entire_binding() },
                        ],
                    })
                })
                .collect();
            let timestamps = Timestamps::new(&device, &queue);
            IoSet { inputs, hashes, readback, params, bind_groups, timestamps }
        };
        let sets = [make_set(0), make_set(1)];

        let trusted = kernel::trusted_on(adapter.get_info().backend);
        let mut variants = Vec::new();
        let mut build_errors = Vec::new();
        for &k in &candidates {
            match kernel::pipeline(&device, &layout, arithmetic, k, trusted) {
                Ok(pipeline) => variants.push(Variant { kernel: k, pipeline, measured: None }),
                // With a choice of kernels, one the driver rejects is left out (and said so).
                Err(e) if config.kernel.is_none() => {
                    tracing::warn!(kernel = %k, error = %e, "kernel candidate left out");
                    build_errors.push(e);
                }
                Err(e) => return Err(GpuError::Kernel(e)),
            }
        }
        if variants.is_empty() {
            return Err(GpuError::Kernel(build_errors.join("; ")));
        }
        let verifier = GpuVerifier {
            device,
            queue,
            summary,
            arithmetic,
            capacity,
            slab_inputs,
            state: Mutex::new(State { variants, sets }),
            lost,
            errored,
            fault: Mutex::new((Fault::None, None)),
            hashes_done: AtomicU64::new(0),
            last_timing: Mutex::new(BatchTiming::default()),
        };
        verifier.rank_kernels(config.max_batch.clamp(1, capacity))?;
        tracing::info!(
            adapter = %verifier.summary,
            arithmetic = %verifier.arithmetic,
            kernel = %verifier.kernel(),
            trusted_module = trusted,
            timestamps = verifier.has_timestamps(),
            capacity,
            slab_inputs,
            "GPU verifier ready"
        );
        Ok(verifier)
    }

    /// With several candidates: times each on `batch` inputs (the configured batch size: what is
    /// fastest at 256 shares need not be at 1,024) and orders them fastest first.
    fn rank_kernels(&self, batch: usize) -> Result<(), GpuError> {
        let mut st = self.lock_state();
        if st.variants.len() < 2 {
            return Ok(());
        }
        let sample: Vec<[u8; INPUT_BYTES]> = (0..batch as u64)
            .map(|i| {
                let mut b = [0u8; INPUT_BYTES];
                b[..8].copy_from_slice(&i.to_le_bytes());
                b
            })
            .collect();
        for v in 0..st.variants.len() {
            self.run(&st, v, INPUT_BYTES, &sample)?; // warm-up (some drivers compile on first use)
            let mut best = Duration::MAX;
            for _ in 0..2 {
                let t = Instant::now();
                self.run(&st, v, INPUT_BYTES, &sample)?;
                best = best.min(t.elapsed());
            }
            tracing::debug!(kernel = %st.variants[v].kernel, ?best, batch, "kernel candidate");
            st.variants[v].measured = Some(best);
        }
        st.variants.sort_by_key(|v| v.measured);
        Ok(())
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    pub fn arithmetic(&self) -> Arithmetic {
        self.arithmetic
    }

    /// The kernel batches run on.
    pub fn kernel(&self) -> Kernel {
        self.lock_state().variants[0].kernel
    }

    /// Every kernel still in use, fastest first, with the time it took on a batch of the
    /// configured size (`None` when there was nothing to choose between).
    pub fn kernels(&self) -> Vec<(Kernel, Option<Duration>)> {
        self.lock_state().variants.iter().map(|v| (v.kernel, v.measured)).collect()
    }

    /// Leaves `kernel` out from now on (it failed its self-test). Returns how many remain; the last
    /// one is never removed.
    pub fn drop_kernel(&self, kernel: Kernel) -> usize {
        let mut st = self.lock_state();
        if st.variants.len() > 1 {
            st.variants.retain(|v| v.kernel != kernel);
        }
        st.variants.len()
    }

    pub fn workgroup_size(&self) -> u32 {
        self.kernel().workgroup_size()
    }

    /// Inputs per submission (the configured batch rounded up to whole slabs of workgroups).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Inputs per dispatch (one scratch binding).
    pub fn slab_inputs(&self) -> usize {
        self.slab_inputs
    }

    pub fn hashes_done(&self) -> u64 {
        self.hashes_done.load(Ordering::Relaxed)
    }

    /// Whether batches carry GPU timestamps (the adapter has `TIMESTAMP_QUERY`).
    pub fn has_timestamps(&self) -> bool {
        self.lock_state().sets[0].timestamps.is_some()
    }

    /// Where the time of the last `hash_inputs` call went.
    pub fn last_timing(&self) -> BatchTiming {
        *self.last_timing.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_gpu(&self) -> bool {
        self.summary.kind.is_gpu()
    }

    pub fn device_kind(&self) -> DeviceKind {
        self.summary.kind
    }

    /// Test hook: make the device lie (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.inject_fault_on(None, fault);
    }

    /// Test hook: make one kernel lie (`None`: all of them), as a miscompiled shader would.
    pub fn inject_fault_on(&self, kernel: Option<KernelKind>, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = (fault, kernel);
    }

    /// Test hook: destroy the device, as a driver reset would.
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    fn check_health(&self) -> Result<(), GpuError> {
        if let Some(reason) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(GpuError::Lost(reason));
        }
        if self.errored.load(Ordering::SeqCst) {
            return Err(GpuError::Batch("an uncaptured GPU error was reported (see log)".into()));
        }
        Ok(())
    }

    /// TOS Hash V3 of every input on the current kernel; all inputs are `len` bytes (1..=112), each
    /// given in a 112-byte slot whose bytes beyond `len` are ignored.
    pub fn hash_inputs(&self, len: usize, inputs: &[[u8; INPUT_BYTES]]) -> Result<Vec<Hash>, GpuError> {
        self.hash_inputs_on(None, len, inputs)
    }

    /// As [`hash_inputs`](Self::hash_inputs), on a given kernel (`None`: the current one), which
    /// must be one of [`kernels`](Self::kernels).
    pub fn hash_inputs_on(
        &self,
        kernel: Option<Kernel>,
        len: usize,
        inputs: &[[u8; INPUT_BYTES]],
    ) -> Result<Vec<Hash>, GpuError> {
        let st = self.lock_state();
        let v = match kernel {
            None => 0,
            Some(k) => st
                .variants
                .iter()
                .position(|v| v.kernel == k)
                .ok_or_else(|| GpuError::Kernel(format!("the {k} kernel is not built on this device")))?,
        };
        let out = self.run(&st, v, len, inputs)?;
        drop(st);
        self.hashes_done.fetch_add(inputs.len() as u64, Ordering::Relaxed);
        Ok(out)
    }

    fn run(
        &self,
        st: &State,
        v: usize,
        len: usize,
        inputs: &[[u8; INPUT_BYTES]],
    ) -> Result<Vec<Hash>, GpuError> {
        if !(1..=INPUT_BYTES).contains(&len) {
            return Err(GpuError::InputLength(len));
        }
        self.check_health()?;
        let mut out = vec![[0u8; 32]; inputs.len()];
        let mut timing = BatchTiming::default();
        let mut in_flight: VecDeque<(usize, InFlight)> = VecDeque::with_capacity(2);
        for (k, chunk) in inputs.chunks(self.capacity).enumerate() {
            if in_flight.len() == 2 {
                let (at, f) = in_flight.pop_front().expect("two in flight");
                timing.add(&self.collect(st, f, &mut out[at..])?);
            }
            let f = self.submit(st, v, k % 2, len, chunk)?;
            in_flight.push_back((k * self.capacity, f));
        }
        while let Some((at, f)) = in_flight.pop_front() {
            timing.add(&self.collect(st, f, &mut out[at..])?);
        }
        self.check_health()?;
        *self.last_timing.lock().unwrap_or_else(|e| e.into_inner()) = timing;
        Ok(out)
    }

    fn submit(
        &self,
        st: &State,
        v: usize,
        set: usize,
        len: usize,
        chunk: &[[u8; INPUT_BYTES]],
    ) -> Result<InFlight, GpuError> {
        let started = Instant::now();
        let io = &st.sets[set];
        let variant = &st.variants[v];
        let count = chunk.len();
        // Lane: whole workgroups of invocations (the padding's hashes are dropped). Coop: one
        // workgroup per input.
        let (padded, per_group) = match variant.kernel {
            Kernel::Lane { workgroup_size } => {
                let wg = workgroup_size as usize;
                (count.div_ceil(wg) * wg, wg)
            }
            Kernel::Coop { .. } => (count, 1),
        };
        // Inputs: bytes beyond `len` must be zero (BLAKE3 pads the last block with zeros).
        let mut bytes = vec![0u8; padded * INPUT_BYTES];
        for (slot, input) in bytes.chunks_exact_mut(INPUT_BYTES).zip(chunk) {
            slot[..len].copy_from_slice(&input[..len]);
        }
        let scopes =
            [wgpu::ErrorFilter::Validation, wgpu::ErrorFilter::OutOfMemory, wgpu::ErrorFilter::Internal]
                .map(|f| self.device.push_error_scope(f));
        self.queue.write_buffer(&io.inputs, 0, &bytes);
        // (bind group, workgroups) per slab.
        let mut dispatches = Vec::new();
        let mut first = 0usize;
        for (j, bind_group) in io.bind_groups.iter().enumerate() {
            if first >= padded {
                break;
            }
            let n = self.slab_inputs.min(padded - first);
            let params = [len as u32, self.slab_inputs as u32, first as u32, 0];
            self.queue.write_buffer(&io.params[j], 0, bytemuck::cast_slice(&params));
            dispatches.push((bind_group, (n / per_group) as u32));
            first += n;
        }
        let uploaded = Instant::now();
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("batch") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("toshash-v3"),
                timestamp_writes: io.timestamps.as_ref().map(Timestamps::writes),
            });
            pass.set_pipeline(&variant.pipeline);
            for (bind_group, groups) in dispatches {
                pass.set_bind_group(0, bind_group, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
            }
        }
        if let Some(ts) = &io.timestamps {
            ts.resolve_into(&mut encoder, &io.readback);
        }
        let bytes_out = (count * 32) as u64;
        encoder.copy_buffer_to_buffer(&io.hashes, 0, &io.readback, READBACK_HEADER, bytes_out);
        let submission = self.queue.submit([encoder.finish()]);
        for scope in scopes.into_iter().rev() {
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(GpuError::Batch(e.to_string()));
            }
        }
        let (tx, rx) = mpsc::channel();
        io.readback.slice(..READBACK_HEADER + bytes_out).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let timing = BatchTiming {
            submissions: 1,
            upload: uploaded - started,
            submit: uploaded.elapsed(),
            ..BatchTiming::default()
        };
        Ok(InFlight { set, count, submission, mapped: rx, timing, kind: variant.kernel.kind() })
    }

    fn collect(&self, st: &State, f: InFlight, out: &mut [Hash]) -> Result<BatchTiming, GpuError> {
        let io = &st.sets[f.set];
        let mut timing = f.timing;
        let waiting = Instant::now();
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(f.submission), timeout: Some(BATCH_TIMEOUT) })
            .map_err(|e| GpuError::Lost(format!("waiting for a batch: {e}")))?;
        match f.mapped.try_recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(GpuError::Lost(format!("reading hashes back: {e}"))),
            Err(_) => return Err(GpuError::Lost("the readback never completed".into())),
        }
        let reading = Instant::now();
        timing.wait = reading - waiting;
        {
            let bytes_out = (f.count * 32) as u64;
            let view = io
                .readback
                .slice(..READBACK_HEADER + bytes_out)
                .get_mapped_range()
                .map_err(|e| GpuError::Batch(e.to_string()))?;
            timing.kernel = io.timestamps.as_ref().and_then(|ts| ts.duration(&view[..16]));
            let (fault, on) = *self.fault.lock().unwrap_or_else(|e| e.into_inner());
            let (every, zero) = match fault {
                _ if on.is_some_and(|k| k != f.kind) => (0, false),
                Fault::None => (0, false),
                Fault::FlipEvery(n) => (n.max(1), false),
                Fault::ZeroEvery(n) => (n.max(1), true),
            };
            let done = self.hashes_done.load(Ordering::Relaxed);
            let hashes = &view[READBACK_HEADER as usize..];
            for (i, (dst, src)) in out.iter_mut().zip(hashes.chunks_exact(32)).enumerate() {
                dst.copy_from_slice(src);
                if every != 0 && (done + i as u64 + 1).is_multiple_of(every) {
                    if zero {
                        *dst = [0; 32];
                    } else {
                        dst[31] ^= 1;
                    }
                }
            }
        }
        io.readback.unmap();
        timing.readback = reading.elapsed();
        Ok(timing)
    }
}

/// The kernels `config` allows on an adapter with `limits`, before any is built.
fn candidates(
    config: &GpuConfig,
    limits: &wgpu::Limits,
    summary: &AdapterSummary,
) -> Result<Vec<Kernel>, GpuError> {
    let max_wg = limits.max_compute_invocations_per_workgroup.min(limits.max_compute_workgroup_size_x);
    let mut out = Vec::new();
    if config.kernel != Some(KernelKind::Coop) {
        let sizes: Vec<u32> = match config.workgroup_size {
            Some(w) => vec![w],
            None => WORKGROUP_CANDIDATES.into_iter().filter(|&w| w <= max_wg).collect(),
        };
        if sizes.is_empty() || sizes.iter().any(|&w| w == 0 || w > max_wg) {
            return Err(GpuError::Kernel(format!("workgroup size must be 1..={max_wg} on {summary}")));
        }
        out.extend(sizes.into_iter().map(|workgroup_size| Kernel::Lane { workgroup_size }));
    }
    if config.kernel != Some(KernelKind::Lane) {
        let limit = limits.max_compute_workgroup_storage_size;
        let bytes = config.workgroup_memory.unwrap_or(limit);
        if bytes > limit {
            return Err(GpuError::Kernel(format!(
                "{bytes} bytes of workgroup memory requested; {summary} allows {limit}"
            )));
        }
        if max_wg >= kernel::coop::LANES {
            out.push(Kernel::Coop { split: Split::for_workgroup_bytes(bytes) });
        } else if config.kernel == Some(KernelKind::Coop) {
            return Err(GpuError::Kernel(format!("{summary} cannot run 32 invocations per workgroup")));
        }
    }
    Ok(out)
}

impl VerifyBackend for GpuVerifier {
    fn describe(&self) -> String {
        format!("gpu {} [{} arithmetic, {} kernel]", self.summary, self.arithmetic, self.kernel())
    }

    fn hash_batch(&self, headers: &[MinerWork]) -> Result<Vec<Hash>, VerifyError> {
        let inputs: Vec<[u8; INPUT_BYTES]> = headers.iter().map(|h| *h.as_bytes()).collect();
        self.hash_inputs(INPUT_BYTES, &inputs).map_err(|e| match e {
            GpuError::Lost(m) => VerifyError::DeviceLost(m),
            other => VerifyError::Backend(other.to_string()),
        })
    }
}
