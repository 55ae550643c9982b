//! `report.md`: the report as tables, every figure beside the command that measures it again.

use super::charts::Chart;
use super::schema::{Hardware, Point, Report};
use std::fmt::Write;

pub fn rate(v: f64) -> String {
    let s = format!("{:.0}", v);
    // Thousands separators: 125306 → 125,306.
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), ms)
}

fn cmd(c: &str) -> String {
    format!("`{c}`")
}

/// How an adapter's section is titled: only a GPU is called one.
pub fn adapter_title(
    index: usize,
    name: &str,
    backend: &str,
    device_type: &str,
    hardware: Hardware,
) -> String {
    match hardware {
        Hardware::Gpu => format!("GPU #{index}: {name} ({backend}, {device_type})"),
        other => format!("Adapter #{index}: {name} ({backend}, {device_type}) — {}", other.label()),
    }
}

pub fn report(r: &Report, charts: &[Chart]) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "# Verifier benchmark report — {}\n", r.label);
    let _ = writeln!(
        s,
        "Made by `{}` in {:.0} s ({} points, {} skipped). Schema `{}` version {}; the raw figures of every batch are in `report.json`.\n",
        r.command,
        r.duration_s,
        r.points.len(),
        r.skipped.len(),
        r.schema,
        r.schema_version
    );
    for n in &r.notes {
        let _ = writeln!(s, "> {n}\n>");
    }
    s.push('\n');

    let _ = writeln!(s, "## Machine\n\n| | |\n|---|---|");
    let _ = writeln!(s, "| CPU | {} |", m.cpu_model);
    let _ = writeln!(s, "| features | {} |", m.cpu_features.join(", "));
    let _ = writeln!(s, "| fast-path dispatch levels | {} |", m.dispatch_levels.join(", "));
    let _ = writeln!(s, "| cores (usable by this process) | {} |", m.cores);
    let _ = writeln!(
        s,
        "| memory | {} |",
        m.memory_bytes.map_or("unknown".into(), |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
    );
    let _ = writeln!(s, "| OS | {}, kernel {}, {} |", m.os, m.kernel, m.arch);
    let _ = writeln!(s, "| binary | tos-pool {} ({} build) |", m.binary_version, m.build_profile);
    let _ = writeln!(
        s,
        "| load average (1 min) | {} at start, {} at end |",
        m.load_average_start.map_or("?".into(), |l| format!("{l:.2}")),
        m.load_average_end.map_or("?".into(), |l| format!("{l:.2}"))
    );
    if !m.adapters.is_empty() {
        let _ = writeln!(
            s,
            "\n| adapter | name | driver | backend | device type | counted as | SHADER_INT64 | largest batch |\n|---|---|---|---|---|---|---|---|"
        );
        for a in &m.adapters {
            let _ = writeln!(
                s,
                "| #{} | {} | {} | {} | {} | {} | {} | {} ({}) |",
                a.index,
                a.name,
                a.driver,
                a.backend,
                a.device_type,
                a.hardware.label(),
                if a.shader_int64 { "yes" } else { "no" },
                rate(a.max_batch as f64),
                a.max_batch_reason
            );
        }
    }

    if !r.auto.is_empty() {
        let _ = writeln!(
            s,
            "\n## What `auto` picks\n\n| setting | batch | picks | on | why | command |\n|---|---|---|---|---|---|"
        );
        for a in &r.auto {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                a.setting,
                a.batch,
                a.picked,
                a.picked_hardware.label(),
                a.why.replace('|', "\\|"),
                cmd(&a.command)
            );
        }
        for a in r.auto.iter().filter(|a| !a.gpu_kernels.is_empty()) {
            let _ = writeln!(
                s,
                "\nKernels `auto` built ({}), fastest first, on one batch of {}:",
                a.setting, a.batch
            );
            for k in &a.gpu_kernels {
                let _ = writeln!(
                    s,
                    "* {}: {}",
                    k.kernel,
                    k.batch_ms.map_or("not timed (the only one)".into(), |t| format!("{} ms", ms(t)))
                );
            }
        }
    }

    let threads: Vec<&Point> = r.points.iter().filter(|p| p.group == "cpu-threads").collect();
    if !threads.is_empty() {
        let _ = writeln!(
            s,
            "\n## CPU by threads (batch {})\n\n`vs reference` divides by the reference at the same threads; `scaling` by the same implementation on 1 thread.\n\n| implementation | threads | hashes/s | per thread | vs reference | scaling | p50 ms | p99 ms | command |\n|---|---|---|---|---|---|---|---|---|",
            r.settings.cpu_batch
        );
        for p in &threads {
            let c = p.cpu.as_ref().expect("CPU points carry their setting");
            let reference = threads.iter().find(|q| {
                q.cpu.as_ref().is_some_and(|qc| qc.implementation == "reference" && qc.threads == c.threads)
            });
            let one = threads
                .iter()
                .find(|q| q.series == p.series && q.cpu.as_ref().is_some_and(|qc| qc.threads == 1));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                p.series,
                c.threads,
                rate(p.hashes_per_second),
                p.hashes_per_second_per_thread.map_or("—".into(), rate),
                reference
                    .map_or("—".into(), |q| format!("{:.2}×", p.hashes_per_second / q.hashes_per_second)),
                one.map_or("—".into(), |q| format!("{:.2}×", p.hashes_per_second / q.hashes_per_second)),
                ms(p.batch_latency_ms_p50),
                ms(p.batch_latency_ms_p99),
                cmd(&p.command)
            );
        }
    }

    let batches: Vec<&Point> = r.points.iter().filter(|p| p.group == "cpu-batch").collect();
    if let Some(first) = batches.first() {
        let _ = writeln!(
            s,
            "\n## CPU by batch size ({})\n\n| batch | hashes/s | p50 ms | p99 ms | batches | command |\n|---|---|---|---|---|---|",
            first.series
        );
        for p in &batches {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                rate(p.batch as f64),
                rate(p.hashes_per_second),
                ms(p.batch_latency_ms_p50),
                ms(p.batch_latency_ms_p99),
                p.batches,
                cmd(&p.command)
            );
        }
    }

    for a in &m.adapters {
        let pts: Vec<&Point> = r
            .points
            .iter()
            .filter(|p| p.group == "gpu" && p.gpu.as_ref().is_some_and(|g| g.adapter_index == a.index))
            .collect();
        let _ =
            writeln!(s, "\n## {}\n", adapter_title(a.index, &a.name, &a.backend, &a.device_type, a.hardware));
        if a.hardware != Hardware::Gpu {
            let _ = writeln!(
                s,
                "> **Not GPU figures.** This adapter's device type is `{}`: it runs the WGSL kernels on this machine's CPU cores. Its figures show that the kernels work and how they compare with each other here; they say nothing about a GPU's speed.\n",
                a.device_type
            );
        }
        if pts.is_empty() {
            let _ = writeln!(s, "No point measured (see Skipped).");
            continue;
        }
        let _ = writeln!(
            s,
            "| arithmetic | kernel | batch | hashes/s | p50 ms | p99 ms | kernel ms p50 (timestamps) | kernel hashes/s | batches | command |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for p in pts {
            let g = p.gpu.as_ref().expect("gpu points carry their setting");
            let kernel = match g.kernel.as_str() {
                "lane" => format!("lane, workgroup {}", g.workgroup_size),
                _ => format!("coop, {} KiB workgroup memory", g.workgroup_memory_bytes / 1024),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                g.arithmetic,
                kernel,
                rate(p.batch as f64),
                rate(p.hashes_per_second),
                ms(p.batch_latency_ms_p50),
                ms(p.batch_latency_ms_p99),
                opt_ms(p.kernel_ms_p50),
                p.kernel_hashes_per_second.map_or("—".into(), rate),
                p.batches,
                cmd(&p.command)
            );
        }
    }

    if !r.skipped.is_empty() {
        let _ = writeln!(s, "\n## Skipped\n\n| point | why | command |\n|---|---|---|");
        for k in &r.skipped {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} |",
                k.id,
                k.reason.replace('|', "\\|").replace('\n', " "),
                cmd(&k.command)
            );
        }
    }

    if !charts.is_empty() {
        let _ = writeln!(s, "\n## Charts\n");
        for c in charts {
            let _ = writeln!(s, "![{}]({})\n\n{}\n", c.title, c.file, c.caption);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_get_thousands_separators() {
        assert_eq!(rate(125_306.4), "125,306");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(1_000.0), "1,000");
        assert_eq!(rate(65_536.0), "65,536");
    }

    #[test]
    fn only_a_gpu_is_titled_gpu() {
        let t =
            adapter_title(0, "llvmpipe (LLVM 15.0.6, 256 bits)", "vulkan", "cpu", Hardware::CpuRasteriser);
        assert!(t.starts_with("Adapter #0") && t.contains("CPU rasteriser (not a GPU)"), "{t}");
        assert!(
            adapter_title(1, "NVIDIA H100", "vulkan", "discrete-gpu", Hardware::Gpu).starts_with("GPU #1")
        );
        assert!(!adapter_title(2, "x", "gl", "other", Hardware::OtherAdapter).starts_with("GPU"));
    }
}
