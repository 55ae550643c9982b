//! What the machine is: CPU, memory, OS, adapters, and the binary measuring it.

use super::schema::{Adapter, Hardware, Machine};
use gpu_verify::AdapterSummary;
use pool_core::hash::DispatchLevel;

/// Scratch a batch may use, at most: wgpu does not report device memory, so the report caps it
/// (65,536 shares of 64 KiB).
const SCRATCH_BUDGET_BYTES: u64 = 4 << 30;
const SCRATCH_BYTES_PER_SHARE: u64 = 64 << 10;
const INPUT_BYTES_PER_SHARE: u64 = 112;

pub fn describe(adapters: Vec<Adapter>) -> Machine {
    Machine {
        hostname: hostname(),
        cpu_model: cpu_model(),
        cpu_features: cpu_features(),
        dispatch_levels: DispatchLevel::supported().iter().map(|l| l.name().to_owned()).collect(),
        cores: cores(),
        memory_bytes: memory_bytes(),
        os: os_name(),
        kernel: kernel_release(),
        arch: std::env::consts::ARCH.to_owned(),
        load_average_start: load_average(),
        load_average_end: None,
        binary_version: env!("CARGO_PKG_VERSION").to_owned(),
        build_profile: if cfg!(debug_assertions) { "debug" } else { "release" }.to_owned(),
        adapters,
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Every adapter wgpu finds, in its ranking (the index `bench verify --adapter` takes).
pub fn adapters() -> Vec<Adapter> {
    let instance = gpu_verify::adapter::instance();
    gpu_verify::adapter::ranked_adapters(&instance)
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let s = AdapterSummary::of(a);
            let l = a.limits();
            let (max_batch, max_batch_reason) =
                max_batch(l.max_storage_buffer_binding_size, l.max_buffer_size);
            Adapter {
                index,
                name: s.name.clone(),
                driver: s.driver.clone(),
                backend: s.backend.clone(),
                device_type: s.kind.name().to_owned(),
                hardware: Hardware::of_device_type(s.kind.name()),
                shader_int64: s.shader_int64,
                max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
                max_buffer_size: l.max_buffer_size,
                max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
                max_compute_invocations_per_workgroup: l
                    .max_compute_invocations_per_workgroup
                    .min(l.max_compute_workgroup_size_x),
                max_batch,
                max_batch_reason,
            }
        })
        .collect()
}

/// The largest batch a device with these limits takes: the inputs and hashes each live in one
/// storage binding, the scratch (64 KiB a share, one binding per slab) within the budget.
pub fn max_batch(binding: u64, buffer: u64) -> (usize, String) {
    let by_inputs = binding.min(buffer) / INPUT_BYTES_PER_SHARE;
    let by_scratch = SCRATCH_BUDGET_BYTES / SCRATCH_BYTES_PER_SHARE;
    if by_inputs < by_scratch {
        (by_inputs as usize, format!("the inputs, 112 B a share, fill one {binding}-byte binding"))
    } else {
        (
            by_scratch as usize,
            format!(
                "scratch capped at 4 GiB, as wgpu reports no device memory; the bindings allow {by_inputs}"
            ),
        )
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn hostname() -> String {
    read("/proc/sys/kernel/hostname").map_or_else(|| "unknown".into(), |s| s.trim().to_owned())
}

/// `/proc/cpuinfo`'s first `model name` (x86) or `Model`/`CPU part` elsewhere.
fn cpu_model() -> String {
    let info = read("/proc/cpuinfo").unwrap_or_default();
    ["model name", "Model", "Hardware", "CPU part"]
        .iter()
        .find_map(|key| {
            info.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == *key).then(|| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_features() -> Vec<String> {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detected {
            ($($f:tt),*) => {
                [$((
                    $f,
                    std::arch::is_x86_feature_detected!($f)
                )),*]
            };
        }
        detected!(
            "sse4.2",
            "avx",
            "avx2",
            "bmi2",
            "fma",
            "avx512f",
            "avx512dq",
            "avx512vl",
            "avx512bw",
            "avx512ifma",
            "vaes"
        )
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| f.to_owned())
        .collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

fn memory_bytes() -> Option<u64> {
    let info = read("/proc/meminfo")?;
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn os_name() -> String {
    read("/etc/os-release")
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned())
}

fn kernel_release() -> String {
    read("/proc/sys/kernel/osrelease").map_or_else(|| "unknown".into(), |s| s.trim().to_owned())
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    read("/proc/loadavg")?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_batch_is_the_tighter_of_bindings_and_scratch() {
        // lavapipe: 128 MiB bindings hold 1.2 M inputs; the scratch budget caps at 65,536.
        let (n, why) = max_batch(128 << 20, (2 << 30) - 1);
        assert_eq!(n, 65_536);
        assert!(why.contains("4 GiB") && why.contains("1198372"), "{why}");
        // A 1 MiB binding holds 9,362 inputs of 112 bytes.
        let (n, why) = max_batch(1 << 20, 1 << 30);
        assert_eq!(n, (1 << 20) / 112);
        assert!(why.contains("binding"), "{why}");
    }

    #[test]
    fn only_gpu_device_types_are_gpu_hardware() {
        assert_eq!(Hardware::of_device_type("discrete-gpu"), Hardware::Gpu);
        assert_eq!(Hardware::of_device_type("integrated-gpu"), Hardware::Gpu);
        assert_eq!(Hardware::of_device_type("cpu"), Hardware::CpuRasteriser);
        assert_eq!(Hardware::of_device_type("other"), Hardware::OtherAdapter);
        assert_eq!(Hardware::CpuRasteriser.label(), "CPU rasteriser (not a GPU)");
        assert_eq!(Hardware::Gpu.label(), "GPU");
    }
}
