//! The WGSL of the two kernels and the compute pipelines built from them.
//!
//! | module | what |
//! |---|---|
//! | [`toshash`] | the constants of TOS Hash V3 the generators specialise on |
//! | [`lane`] | generated rounds of the one-invocation-per-share kernel (`shaders/lane.wgsl`) |
//! | [`coop`] | generated rounds of the 32-invocations-per-share kernel (`shaders/coop.wgsl`) |

pub mod coop;
pub mod lane;
pub mod toshash;

pub use coop::Split;
use std::fmt;

const BLAKE3: &str = include_str!("../../../shaders/blake3.wgsl");
const WORD_U64: &str = include_str!("../../../shaders/word_u64.wgsl");
const WORD_VEC2: &str = include_str!("../../../shaders/word_vec2.wgsl");
const COMMON: &str = include_str!("../../../shaders/toshash_common.wgsl");
const LANE: &str = include_str!("../../../shaders/lane.wgsl");
const COOP: &str = include_str!("../../../shaders/coop.wgsl");

/// How the kernel does 64-bit arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arithmetic {
    /// Native `u64` (needs `wgpu::Features::SHADER_INT64`).
    U64,
    /// `vec2<u32>` emulation (any adapter).
    Vec2,
}

impl Arithmetic {
    pub fn name(self) -> &'static str {
        match self {
            Arithmetic::U64 => "u64",
            Arithmetic::Vec2 => "vec2<u32>",
        }
    }
}

impl fmt::Display for Arithmetic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a share is mapped onto invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelKind {
    /// One invocation per share, the pad in global memory (`shaders/lane.wgsl`).
    Lane,
    /// One 32-invocation workgroup per share, the pad split between workgroup and global memory
    /// (`shaders/coop.wgsl`).
    Coop,
}

impl KernelKind {
    pub fn name(self) -> &'static str {
        match self {
            KernelKind::Lane => "lane",
            KernelKind::Coop => "coop",
        }
    }
}

/// The operator's kernel choice: `auto` (`None`: build both, keep the faster), `lane` or `coop`.
pub fn kernel_choice(s: &str) -> Result<Option<KernelKind>, String> {
    match s {
        "auto" => Ok(None),
        "lane" => Ok(Some(KernelKind::Lane)),
        "coop" => Ok(Some(KernelKind::Coop)),
        other => Err(format!("unknown GPU kernel {other:?}: use auto, lane or coop")),
    }
}

impl fmt::Display for KernelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One compilable kernel variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The lane kernel at this workgroup size.
    Lane { workgroup_size: u32 },
    /// The cooperative kernel with this workgroup-memory split.
    Coop { split: Split },
}

impl Kernel {
    pub fn kind(self) -> KernelKind {
        match self {
            Kernel::Lane { .. } => KernelKind::Lane,
            Kernel::Coop { .. } => KernelKind::Coop,
        }
    }

    /// Invocations per workgroup.
    pub fn workgroup_size(self) -> u32 {
        match self {
            Kernel::Lane { workgroup_size } => workgroup_size,
            Kernel::Coop { .. } => coop::LANES,
        }
    }

    /// Bytes of workgroup memory per workgroup.
    pub fn workgroup_bytes(self) -> u32 {
        match self {
            Kernel::Lane { .. } => 0,
            Kernel::Coop { split } => split.workgroup_bytes(),
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kernel::Lane { workgroup_size } => write!(f, "lane (workgroup {workgroup_size})"),
            Kernel::Coop { split } => write!(
                f,
                "coop (32 lanes per share, {} KiB of the pad in workgroup memory)",
                split.workgroup_bytes() / 1024
            ),
        }
    }
}

/// The complete WGSL of `kernel` with `arith`.
pub fn source(arith: Arithmetic, kernel: Kernel) -> String {
    let word = match arith {
        Arithmetic::U64 => WORD_U64,
        Arithmetic::Vec2 => WORD_VEC2,
    };
    let main = match kernel {
        Kernel::Lane { workgroup_size } => {
            format!("{}\n{}", LANE.replace("WORKGROUP_SIZE", &workgroup_size.to_string()), lane::generated())
        }
        Kernel::Coop { split } => format!("{COOP}\n{}", coop::generated(split)),
    };
    format!("{BLAKE3}\n{word}\n{COMMON}\n{main}")
}

/// The bind group layout every kernel variant uses: inputs, scratch, hashes, params.
pub fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("toshash-v3"),
        entries: &[
            storage(0, true),
            storage(1, false),
            storage(2, false),
            wgpu::BindGroupLayoutEntry {
                binding: 3,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
        ],
    })
}

/// Whether shader modules on this backend are built without wgpu's runtime checks.
///
/// On Vulkan, yes: every index in both kernels is in bounds by construction — pad words are
/// `i & (N-1)` or rows below 256, lanes below the slab's lane count (dispatches cover exactly the
/// slab), slots below the buffers' capacity, workgroup rows below `SPLIT_ROWS`, local arrays indexed
/// by constants or `lane & 7` — loops have constant bounds and nothing divides by a variable; and
/// the Vulkan driver's robust buffer access (enabled by wgpu where offered) still confines any
/// storage access to its binding. Elsewhere the checked module is kept.
pub fn trusted_on(backend: wgpu::Backend) -> bool {
    backend == wgpu::Backend::Vulkan
}

/// Builds the pipeline, turning shader or pipeline validation errors into an `Err` (error scope).
pub fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    arith: Arithmetic,
    kernel: Kernel,
    trusted: bool,
) -> Result<wgpu::ComputePipeline, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some("toshash-v3"),
        source: wgpu::ShaderSource::Wgsl(source(arith, kernel).into()),
    };
    let module = if trusted {
        // SAFETY: see `trusted_on`: indexing in bounds and loops bounded by construction.
        unsafe { device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
    } else {
        device.create_shader_module(desc)
    };
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("toshash-v3"),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("toshash-v3"),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        Some(e) => Err(format!("the {arith} {kernel} kernel failed to build: {e}")),
        None => Ok(pipeline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_choices_parse() {
        assert_eq!(kernel_choice("auto"), Ok(None));
        assert_eq!(kernel_choice("coop"), Ok(Some(KernelKind::Coop)));
        assert_eq!(kernel_choice("lane"), Ok(Some(KernelKind::Lane)));
        assert!(kernel_choice("fast").is_err());
    }

    /// Every variant is valid WGSL that naga accepts (parse + validate), without a device.
    #[test]
    fn every_variant_validates() {
        let kernels = [
            Kernel::Lane { workgroup_size: 64 },
            Kernel::Coop { split: Split { rows: 0 } },
            Kernel::Coop { split: Split { rows: 1 } },
            Kernel::Coop { split: Split { rows: 128 } },
            Kernel::Coop { split: Split { rows: 256 } },
        ];
        for arith in [Arithmetic::U64, Arithmetic::Vec2] {
            for kernel in kernels {
                let src = source(arith, kernel);
                let module = wgpu::naga::front::wgsl::parse_str(&src)
                    .unwrap_or_else(|e| panic!("{arith} {kernel}: {}", e.emit_to_string(&src)));
                wgpu::naga::valid::Validator::new(
                    wgpu::naga::valid::ValidationFlags::all(),
                    wgpu::naga::valid::Capabilities::all(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{arith} {kernel}: {e:?}"));
            }
        }
    }
}
