//! The WGSL sources and the compute pipeline built from them.

use std::fmt;

const BLAKE3: &str = include_str!("../../shaders/blake3.wgsl");
const WORD_U64: &str = include_str!("../../shaders/word_u64.wgsl");
const WORD_VEC2: &str = include_str!("../../shaders/word_vec2.wgsl");
const TOSHASH: &str = include_str!("../../shaders/toshash_v3.wgsl");

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

/// The complete WGSL of the kernel for `arith` and `workgroup_size`.
pub fn source(arith: Arithmetic, workgroup_size: u32) -> String {
    let word = match arith {
        Arithmetic::U64 => WORD_U64,
        Arithmetic::Vec2 => WORD_VEC2,
    };
    let main = TOSHASH.replace("WORKGROUP_SIZE", &workgroup_size.to_string());
    format!("{BLAKE3}\n{word}\n{main}")
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

/// Builds the pipeline, turning shader or pipeline validation errors into an `Err` (error scope).
pub fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    arith: Arithmetic,
    workgroup_size: u32,
) -> Result<wgpu::ComputePipeline, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let src = source(arith, workgroup_size);
    // Checked module: bounds checks stay on. The kernel's indexing is in bounds by construction,
    // but a GPU that runs out of bounds must not corrupt other shares' scratch.
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("toshash-v3"),
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
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
        Some(e) => Err(format!("the {arith} kernel failed to build: {e}")),
        None => Ok(pipeline),
    }
}
