//! Adapter discovery and ranking.
//!
//! "An adapter exists" does not mean "a GPU exists": with Mesa installed, wgpu finds llvmpipe (a CPU)
//! through Vulkan or GL. Every decision here is made on `AdapterInfo::device_type`.

use std::fmt;

/// What kind of device an adapter drives, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKind {
    DiscreteGpu,
    IntegratedGpu,
    VirtualGpu,
    /// A software rasteriser such as llvmpipe/lavapipe: correct, slow, useful for tests.
    Cpu,
    Other,
}

impl DeviceKind {
    pub fn from_wgpu(t: wgpu::DeviceType) -> Self {
        match t {
            wgpu::DeviceType::DiscreteGpu => Self::DiscreteGpu,
            wgpu::DeviceType::IntegratedGpu => Self::IntegratedGpu,
            wgpu::DeviceType::VirtualGpu => Self::VirtualGpu,
            wgpu::DeviceType::Cpu => Self::Cpu,
            wgpu::DeviceType::Other => Self::Other,
        }
    }

    /// Whether this is real GPU hardware (not a CPU rasteriser).
    pub fn is_gpu(self) -> bool {
        matches!(self, Self::DiscreteGpu | Self::IntegratedGpu | Self::VirtualGpu)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::DiscreteGpu => "discrete-gpu",
            Self::IntegratedGpu => "integrated-gpu",
            Self::VirtualGpu => "virtual-gpu",
            Self::Cpu => "cpu",
            Self::Other => "other",
        }
    }
}

/// What an operator needs to know about the adapter in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub kind: DeviceKind,
    pub driver: String,
    pub shader_int64: bool,
}

impl AdapterSummary {
    pub fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend).to_lowercase(),
            kind: DeviceKind::from_wgpu(info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_owned(),
            shader_int64: adapter.features().contains(wgpu::Features::SHADER_INT64),
        }
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.kind.name())
    }
}

/// A headless instance configured from the environment (`WGPU_BACKEND=vulkan|gl` forces a backend).
pub fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter, best first: by device kind, then Vulkan/Metal/DX12 before GL (compute on GL
/// lacks `SHADER_INT64`), then with `SHADER_INT64` first.
pub fn ranked_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(|a| {
        let info = a.get_info();
        (
            DeviceKind::from_wgpu(info.device_type),
            info.backend == wgpu::Backend::Gl,
            !a.features().contains(wgpu::Features::SHADER_INT64),
        )
    });
    adapters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_rank_gpus_before_cpus() {
        let mut k = [DeviceKind::Cpu, DeviceKind::Other, DeviceKind::IntegratedGpu, DeviceKind::DiscreteGpu];
        k.sort();
        assert_eq!(
            k,
            [DeviceKind::DiscreteGpu, DeviceKind::IntegratedGpu, DeviceKind::Cpu, DeviceKind::Other]
        );
        assert!(!DeviceKind::Cpu.is_gpu() && DeviceKind::DiscreteGpu.is_gpu());
    }
}
