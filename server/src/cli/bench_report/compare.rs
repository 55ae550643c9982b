//! `tos-pool bench compare`: several machines' reports side by side, ratios on the points they
//! have in common, and the report's charts with one series per machine.

use super::charts::{self, Chart, Scale, Series};
use super::markdown::{ms, rate};
use super::schema::{Hardware, Point, Report, SCHEMA_NAME, SCHEMA_VERSION};
use crate::cli::EXIT_USAGE;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Reads a report, refusing another schema or version rather than misreading it.
pub fn load(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    if v["schema"] != SCHEMA_NAME {
        return Err(format!("{}: not a `bench report` report (schema {})", path.display(), v["schema"]));
    }
    if v["schema_version"] != SCHEMA_VERSION {
        return Err(format!(
            "{}: schema version {}, this binary reads version {SCHEMA_VERSION}: compare with the binary that made it",
            path.display(),
            v["schema_version"]
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(paths: &[PathBuf], out: &Path) -> ExitCode {
    let mut reports = Vec::new();
    for p in paths {
        match load(p) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    // Two machines of the same name stay apart in the tables and legends.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in &mut reports {
        let n = seen.entry(r.label.clone()).or_default();
        *n += 1;
        if *n > 1 {
            r.label = format!("{} ({n})", r.label);
        }
    }
    let result = std::fs::create_dir_all(out)
        .map_err(anyhow::Error::from)
        .and_then(|()| compare_charts(&reports, out))
        .and_then(|c| {
            let md = markdown(&reports, &c);
            std::fs::write(out.join("compare.md"), &md)?;
            Ok(md)
        });
    match result {
        Ok(md) => {
            print!("{md}");
            eprintln!("wrote {}", out.join("compare.md").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing {}: {e:#}", out.display());
            ExitCode::FAILURE
        }
    }
}

/// Point ids every report has, in the first report's order.
pub fn common_ids(reports: &[Report]) -> Vec<String> {
    let sets: Vec<HashSet<&str>> =
        reports.iter().map(|r| r.points.iter().map(|p| p.id.as_str()).collect()).collect();
    reports[0]
        .points
        .iter()
        .map(|p| p.id.as_str())
        .filter(|id| sets.iter().all(|s| s.contains(id)))
        .map(str::to_owned)
        .collect()
}

fn point<'a>(r: &'a Report, id: &str) -> &'a Point {
    r.points.iter().find(|p| p.id == id).expect("a common id")
}

fn tag(p: &Point) -> &'static str {
    match p.hardware {
        Hardware::Cpu | Hardware::Gpu => "",
        Hardware::CpuRasteriser => " [CPU rasteriser]",
        Hardware::OtherAdapter => " [unknown adapter]",
    }
}

pub fn markdown(reports: &[Report], charts: &[Chart]) -> String {
    let mut s = String::new();
    let labels: Vec<&str> = reports.iter().map(|r| r.label.as_str()).collect();
    let _ = writeln!(s, "# Verifier benchmark comparison: {}\n", labels.join(" vs "));
    let _ = writeln!(
        s,
        "> Ratios are against {}. Each report was measured in one run by one binary; machines differ in load and binary as well as hardware, so read ratios between machines as indications and ratios within a report as the firmer figures. A `[CPU rasteriser]` figure is not a GPU figure.\n",
        labels[0]
    );
    let row = |s: &mut String, name: &str, f: &dyn Fn(&Report) -> String| {
        let _ = writeln!(s, "| {name} | {} |", reports.iter().map(f).collect::<Vec<_>>().join(" | "));
    };
    let _ = writeln!(s, "## Machines\n\n| | {} |\n|---|{}", labels.join(" | "), "---|".repeat(reports.len()));
    row(&mut s, "CPU", &|r| r.machine.cpu_model.clone());
    row(&mut s, "cores", &|r| r.machine.cores.to_string());
    row(&mut s, "dispatch levels", &|r| r.machine.dispatch_levels.join(", "));
    row(&mut s, "memory", &|r| {
        r.machine.memory_bytes.map_or("?".into(), |b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
    });
    row(&mut s, "OS", &|r| format!("{} ({})", r.machine.os, r.machine.kernel));
    row(&mut s, "adapters", &|r| {
        let a: Vec<String> = r
            .machine
            .adapters
            .iter()
            .map(|a| format!("#{} {} ({}, {})", a.index, a.name, a.backend, a.hardware.label()))
            .collect();
        if a.is_empty() { "none".into() } else { a.join("; ") }
    });
    row(&mut s, "binary", &|r| format!("{} ({})", r.machine.binary_version, r.machine.build_profile));
    row(&mut s, "load average start → end", &|r| {
        let f = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.2}"));
        format!("{} → {}", f(r.machine.load_average_start), f(r.machine.load_average_end))
    });
    row(&mut s, "points", &|r| r.points.len().to_string());
    let binaries: HashSet<(String, String)> =
        reports.iter().map(|r| (r.machine.binary_version.clone(), r.machine.build_profile.clone())).collect();
    if binaries.len() > 1 {
        let _ = writeln!(
            s,
            "\n> The reports come from different binaries (version or build profile): the ratios compare the binaries too."
        );
    }

    let common = common_ids(reports);
    let _ = writeln!(s, "\n## Common points ({})\n", common.len());
    if common.is_empty() {
        let _ = writeln!(s, "The reports have no point in common.");
    } else {
        let mut head = String::from("| point |");
        let mut rule = String::from("|---|");
        for (i, l) in labels.iter().enumerate() {
            head += &format!(" {l} hashes/s |");
            rule += "---|";
            if i > 0 {
                head += &format!(" {l} / {} |", labels[0]);
                rule += "---|";
            }
        }
        for l in &labels {
            head += &format!(" {l} p50 ms |");
            rule += "---|";
        }
        let _ = writeln!(s, "{head}\n{rule}");
        for id in &common {
            let base = point(&reports[0], id);
            let mut line = format!("| `{id}` |");
            for (i, r) in reports.iter().enumerate() {
                let p = point(r, id);
                line += &format!(" {}{} |", rate(p.hashes_per_second), tag(p));
                if i > 0 {
                    line += &format!(" {:.2}× |", p.hashes_per_second / base.hashes_per_second);
                }
            }
            for r in reports {
                line += &format!(" {} |", ms(point(r, id).batch_latency_ms_p50));
            }
            let _ = writeln!(s, "{line}");
        }
    }
    for r in reports {
        let only = r.points.len() - common.len();
        if only > 0 {
            let _ = writeln!(s, "\n{only} point(s) only in {} (see its report).", r.label);
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

/// Per batch, the fastest GPU variant of adapter #0 (the best adapter each machine has).
fn best_adapter_points(r: &Report) -> Vec<&Point> {
    let mut best: BTreeMap<usize, &Point> = BTreeMap::new();
    for p in
        r.points.iter().filter(|p| p.group == "gpu" && p.gpu.as_ref().is_some_and(|g| g.adapter_index == 0))
    {
        let e = best.entry(p.batch).or_insert(p);
        if p.hashes_per_second > e.hashes_per_second {
            *e = p;
        }
    }
    best.into_values().collect()
}

fn series(name: String, pts: &[&Point], y: impl Fn(&Point) -> f64, colour: usize, dashed: bool) -> Series {
    Series { name, points: pts.iter().map(|p| (p.batch as f64, y(p))).collect(), dashed, colour }
}

/// The report's three charts, one series (p50/p99: one pair) per machine.
pub fn compare_charts(reports: &[Report], dir: &Path) -> anyhow::Result<Vec<Chart>> {
    let title = |what: &str| {
        format!("{what} — {}", reports.iter().map(|r| r.label.as_str()).collect::<Vec<_>>().join(" vs "))
    };
    let cpu: Vec<Vec<&Point>> =
        reports.iter().map(|r| r.points.iter().filter(|p| p.group == "cpu-batch").collect()).collect();
    let gpu: Vec<Vec<&Point>> = reports.iter().map(best_adapter_points).collect();
    let gpu_name = |r: &Report, pts: &[&Point]| {
        let a = r.machine.adapters.first().map_or("adapter #0".into(), |a| a.name.clone());
        format!("{}: {a}{}", r.label, pts.first().map_or("", |p| tag(p)))
    };
    let mut charts = vec![
        Chart {
            file: "throughput-by-batch-cpu.svg".into(),
            title: title("CPU hashes/s by batch (every core)"),
            x_desc: "shares per batch".into(),
            y_desc: "hashes/s".into(),
            x_scale: Scale::Log2,
            y_scale: Scale::Log10,
            series: reports.iter().zip(&cpu).enumerate().map(|(i, (r, p))| series(r.label.clone(), p, |p| p.hashes_per_second, i, false)).collect(),
            caption: "Each machine's fast path at its best level on all its cores.".into(),
        },
        Chart {
            file: "throughput-by-batch-adapter0.svg".into(),
            title: title("best adapter hashes/s by batch"),
            x_desc: "shares per batch".into(),
            y_desc: "hashes/s".into(),
            x_scale: Scale::Log2,
            y_scale: Scale::Log10,
            series: reports.iter().zip(&gpu).enumerate().map(|(i, (r, p))| series(gpu_name(r, p), p, |p| p.hashes_per_second, i, false)).collect(),
            caption: "Each machine's adapter #0, the fastest of its variants at each batch; [CPU rasteriser] marks figures that are not GPU figures.".into(),
        },
    ];
    for (file, what, sets, names) in [
        (
            "latency-by-batch-cpu.svg",
            "CPU batch latency p50 (solid) / p99 (dashed)",
            &cpu,
            reports.iter().map(|r| r.label.clone()).collect::<Vec<_>>(),
        ),
        (
            "latency-by-batch-adapter0.svg",
            "best adapter batch latency p50 (solid) / p99 (dashed)",
            &gpu,
            reports.iter().zip(&gpu).map(|(r, p)| gpu_name(r, p)).collect(),
        ),
    ] {
        let mut s = Vec::new();
        for (i, (pts, name)) in sets.iter().zip(names).enumerate() {
            s.push(series(format!("{name} p50"), pts, |p| p.batch_latency_ms_p50, i, false));
            s.push(series(format!("{name} p99"), pts, |p| p.batch_latency_ms_p99, i, true));
        }
        charts.push(Chart {
            file: file.into(),
            title: title(what),
            x_desc: "shares per batch".into(),
            y_desc: "ms per batch".into(),
            x_scale: Scale::Log2,
            y_scale: Scale::Log10,
            series: s,
            caption: "The points of the throughput chart above.".into(),
        });
    }
    charts.push(Chart {
        file: "cpu-scaling.svg".into(),
        title: title("CPU hashes/s by threads, fast path at its best level"),
        x_desc: "threads".into(),
        y_desc: "hashes/s (all threads)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series: reports
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let level = r.machine.dispatch_levels.last().cloned().unwrap_or_default();
                let pts: Vec<(f64, f64)> = r
                    .points
                    .iter()
                    .filter(|p| {
                        p.group == "cpu-threads"
                            && p.cpu.as_ref().is_some_and(|c| c.level.as_deref() == Some(level.as_str()))
                    })
                    .map(|p| (p.cpu.as_ref().map_or(0.0, |c| c.threads as f64), p.hashes_per_second))
                    .collect();
                Series { name: format!("{}: fast/{level}", r.label), points: pts, dashed: false, colour: i }
            })
            .collect(),
        caption: "Each machine's fast path at its best dispatch level, by thread count.".into(),
    });
    charts.retain(|c| c.series.iter().any(|s| !s.points.is_empty()));
    for c in &charts {
        charts::draw(c, dir)?;
    }
    Ok(charts)
}
