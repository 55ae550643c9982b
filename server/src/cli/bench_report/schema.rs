//! The shape of `report.json`, version [`SCHEMA_VERSION`]; `docs/bench-report.schema.json` is the
//! same shape as a JSON Schema, and the tests hold every report to it.

use serde::{Deserialize, Serialize};

/// What `schema` says in every report.
pub const SCHEMA_NAME: &str = "tos-pool-bench-report";
/// Bumped whenever a field changes meaning or goes away (adding one is compatible).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub schema_version: u32,
    /// Names the machine in `bench compare` (default: the host name).
    pub label: String,
    pub created_unix_s: u64,
    /// Wall time of the whole run.
    pub duration_s: f64,
    /// The command that made this report.
    pub command: String,
    pub settings: Settings,
    pub machine: Machine,
    /// What a reader must know before quoting a figure.
    pub notes: Vec<String>,
    /// What `auto` picks here and why.
    pub auto: Vec<AutoChoice>,
    pub points: Vec<Point>,
    /// Points of the matrix that were not measured, and why.
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub quick: bool,
    pub tiny: bool,
    pub seconds_per_point: f64,
    pub min_batches_per_point: usize,
    /// Batch sizes of the matrix (each device stops at its own largest).
    pub batches: Vec<usize>,
    pub thread_counts: Vec<usize>,
    /// The batch of the CPU thread-scaling points and of `auto`.
    pub cpu_batch: usize,
    pub backends: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub hostname: String,
    pub cpu_model: String,
    /// Instruction-set extensions that matter to the hash, as the CPU reports them.
    pub cpu_features: Vec<String>,
    /// The fast path's dispatch levels this CPU runs, slowest first.
    pub dispatch_levels: Vec<String>,
    /// Threads this process may run at once (cgroup and affinity limits included).
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    /// 1-minute load average at the start and the end: other work on the machine.
    pub load_average_start: Option<f64>,
    pub load_average_end: Option<f64>,
    pub binary_version: String,
    /// `release` or `debug` (a debug build's figures are not representative).
    pub build_profile: String,
    pub adapters: Vec<Adapter>,
}

/// What a figure was measured on. Only `gpu` is a GPU figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hardware {
    /// The CPU backend (the pool's own Rust code).
    Cpu,
    /// A discrete, integrated or virtual GPU.
    Gpu,
    /// An adapter whose device type is CPU: a software rasteriser such as lavapipe/llvmpipe.
    CpuRasteriser,
    /// An adapter of unknown type: not counted as a GPU.
    OtherAdapter,
}

impl Hardware {
    /// The class of an adapter of `device_type` (gpu-verify's `DeviceKind::name`).
    pub fn of_device_type(device_type: &str) -> Self {
        match device_type {
            "discrete-gpu" | "integrated-gpu" | "virtual-gpu" => Hardware::Gpu,
            "cpu" => Hardware::CpuRasteriser,
            _ => Hardware::OtherAdapter,
        }
    }

    /// How tables and charts name it.
    pub fn label(self) -> &'static str {
        match self {
            Hardware::Cpu => "CPU",
            Hardware::Gpu => "GPU",
            Hardware::CpuRasteriser => "CPU rasteriser (not a GPU)",
            Hardware::OtherAdapter => "adapter of unknown type (not counted as a GPU)",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Adapter {
    /// Its index in wgpu's ranking (best first): `bench verify --adapter INDEX`.
    pub index: usize,
    pub name: String,
    pub driver: String,
    pub backend: String,
    pub device_type: String,
    pub hardware: Hardware,
    pub shader_int64: bool,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    /// The largest batch the device allows, and what limits it.
    pub max_batch: usize,
    pub max_batch_reason: String,
}

/// One measured configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    /// Stable across machines: `bench compare` matches points by it.
    pub id: String,
    /// `cpu-threads`, `cpu-batch`, `gpu` or `auto`.
    pub group: String,
    pub hardware: Hardware,
    /// Short name of the series this point belongs to (chart legends, tables).
    pub series: String,
    /// The verifier as it describes itself.
    pub implementation: String,
    pub cpu: Option<CpuSetting>,
    pub gpu: Option<GpuSetting>,
    pub batch: usize,
    pub shares: usize,
    pub batches: usize,
    pub seconds: f64,
    pub hashes_per_second: f64,
    pub hashes_per_second_per_thread: Option<f64>,
    pub batch_latency_ms_p50: f64,
    pub batch_latency_ms_p99: f64,
    /// GPU timestamps of the compute pass, where the adapter has them.
    pub kernel_ms_p50: Option<f64>,
    pub kernel_ms_p99: Option<f64>,
    pub kernel_hashes_per_second: Option<f64>,
    pub raw: RawFigures,
    /// Run it to measure this point again (same binary, same shares, same batches).
    pub command: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CpuSetting {
    /// `reference` or `fast`.
    pub implementation: String,
    /// The fast path's dispatch level (`null` for the reference).
    pub level: Option<String>,
    pub threads: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GpuSetting {
    pub adapter_index: usize,
    pub adapter: String,
    /// `u64` or `vec2<u32>`.
    pub arithmetic: String,
    /// `lane` or `coop`.
    pub kernel: String,
    pub workgroup_size: u32,
    /// Coop: bytes of each share's pad in workgroup memory.
    pub workgroup_memory_bytes: u32,
    pub timestamps: bool,
}

/// Every batch of the point, in order (milliseconds).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawFigures {
    pub batch_latency_ms: Vec<f64>,
    /// GPU batches: the kernel by GPU timestamps (`null` entries without timestamp queries).
    pub kernel_ms: Option<Vec<Option<f64>>>,
    pub upload_ms: Option<Vec<f64>>,
    pub submit_ms: Option<Vec<f64>>,
    pub wait_ms: Option<Vec<f64>>,
    pub readback_ms: Option<Vec<f64>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
    /// What would measure it (it may take long, or fail, as the reason says).
    pub command: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoChoice {
    /// `default` (as the pool runs) or `cpu-adapter-allowed`.
    pub setting: String,
    pub batch: usize,
    /// The implementation batches went to.
    pub picked: String,
    pub picked_hardware: Hardware,
    /// One sentence: why.
    pub why: String,
    pub cpu_hashes_per_second: Option<f64>,
    pub gpu_hashes_per_second: Option<f64>,
    /// The GPU adapter considered, if one opened.
    pub gpu_adapter: Option<String>,
    /// Kernels the GPU built, fastest first, with their time on one batch.
    pub gpu_kernels: Vec<KernelTime>,
    pub gpu_unused_reason: Option<String>,
    /// The measured point of this setting.
    pub point_id: Option<String>,
    pub command: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KernelTime {
    pub kernel: String,
    pub batch_ms: Option<f64>,
}
