//! `tos-pool bench report` and `tos-pool bench compare`: the verifier matrix of a machine as
//! `report.json`, `report.md` and SVG charts, and several machines' reports side by side.
//!
//! | module | what |
//! |---|---|
//! | [`schema`] | the JSON of a report (versioned; `docs/bench-report.schema.json`) |
//! | [`machine`] | CPU, memory, OS, adapters and their largest batch, the binary |
//! | [`matrix`] | batch sizes, thread counts, GPU variants, the time rule |
//! | [`runner`] | measuring the points (through `bench verify`'s own code), progress |
//! | [`markdown`] | `report.md` and the comparison's tables |
//! | [`charts`] | SVG charts (plotters) |
//! | [`compare`] | `bench compare` |

pub mod charts;
pub mod compare;
pub mod machine;
pub mod markdown;
pub mod matrix;
pub mod runner;
pub mod schema;

use super::EXIT_USAGE;
use clap::{Args, ValueEnum};
use matrix::Size;
use schema::{Hardware, Report, SCHEMA_NAME, SCHEMA_VERSION};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Reference and fast paths by thread count and batch size.
    Cpu,
    /// Every adapter, arithmetic variant, kernel and batch size.
    Gpu,
    /// What `auto` picks and why.
    Auto,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Directory for report.json, report.md and the charts (created if missing).
    #[arg(long, default_value = "bench-report")]
    out: PathBuf,
    /// Verification time of each point (default: 2 s; --quick 0.5 s).
    #[arg(long)]
    seconds_per_point: Option<f64>,
    /// A smaller matrix: batches ×4 up to 4,096, lane workgroups no larger than the smallest
    /// batch, larger batches only for the fastest of them and coop, `auto` allowed a CPU
    /// rasteriser with one lane kernel; under 3 minutes on 2 cores with lavapipe.
    #[arg(long)]
    quick: bool,
    /// For tests: batch 64 only, one lane workgroup size, 0.05 s and 2 batches a point.
    #[arg(long)]
    tiny: bool,
    /// What to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu,gpu,auto")]
    backends: Vec<Part>,
    /// The machine's name in `bench compare` (default: the host name).
    #[arg(long)]
    label: Option<String>,
}

#[derive(Args)]
pub struct CompareArgs {
    /// Two or more report.json files; ratios are against the first.
    #[arg(required = true, num_args = 2..)]
    reports: Vec<PathBuf>,
    /// Directory for compare.md and the charts.
    #[arg(long, default_value = "bench-compare")]
    out: PathBuf,
}

/// What every report says before any figure.
fn notes(report: &Report) -> Vec<String> {
    let mut n = vec![
        "Every figure was measured in this one run by this one binary; each carries the `tos-pool bench verify` command that measures it again.".to_owned(),
        "Absolute figures move with whatever else the machine runs: compare ratios between points of one report, not absolute times across runs or machines.".to_owned(),
        format!(
            "Load average (1 min) {} at the start, {} at the end, on {} cores: a shared machine makes every figure noisy.",
            report.machine.load_average_start.map_or("unknown".into(), |l| format!("{l:.2}")),
            report.machine.load_average_end.map_or("unknown".into(), |l| format!("{l:.2}")),
            report.machine.cores
        ),
        format!(
            "A point is at least {} batches and {:.2} s of verification: its p99 is the slowest batch when it has fewer than 100.",
            report.settings.min_batches_per_point, report.settings.seconds_per_point
        ),
    ];
    if report.machine.adapters.iter().any(|a| a.hardware != Hardware::Gpu) {
        n.push("An adapter of device type CPU (lavapipe/llvmpipe) is a CPU rasteriser running the WGSL on this machine's cores: its figures are CPU-rasteriser figures, not GPU figures, and say nothing about any GPU.".to_owned());
    }
    if report.machine.adapters.is_empty() && report.settings.backends.iter().any(|b| b == "gpu") {
        n.push("wgpu found no adapter: no GPU figures.".to_owned());
    }
    if report.machine.build_profile != "release" {
        n.push(
            "This binary is a debug build: its figures are not representative (build with --release)."
                .to_owned(),
        );
    }
    n
}

pub fn run_report(args: ReportArgs) -> ExitCode {
    if args.seconds_per_point.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        eprintln!("error: --seconds-per-point must be a positive number of seconds");
        return ExitCode::from(EXIT_USAGE);
    }
    let size = if args.tiny {
        Size::Tiny
    } else if args.quick {
        Size::Quick
    } else {
        Size::Full
    };
    let cores = machine::cores();
    let parts: Vec<String> = args.backends.iter().map(|p| format!("{p:?}").to_lowercase()).collect();
    let settings = matrix::settings(size, args.seconds_per_point, cores, parts);
    let wants = |p: Part| args.backends.contains(&p);
    let adapters = if wants(Part::Gpu) || wants(Part::Auto) { machine::adapters() } else { Vec::new() };
    let machine = machine::describe(adapters.clone());
    eprintln!(
        "bench report: {} ({} cores, fast path {}), {} adapter(s){}; {:.2} s per point → {}",
        machine.cpu_model,
        cores,
        machine.dispatch_levels.join("/"),
        adapters.len(),
        adapters
            .iter()
            .map(|a| format!(
                "\n  #{} {} ({}, {}): {}",
                a.index,
                a.name,
                a.backend,
                a.device_type,
                a.hardware.label()
            ))
            .collect::<String>(),
        settings.seconds_per_point,
        args.out.display()
    );
    let mut runner = runner::Runner::new(settings.clone(), size);
    if wants(Part::Cpu) {
        runner.cpu_threads(&machine.dispatch_levels);
        let best = machine.dispatch_levels.last().cloned().unwrap_or_else(|| "portable".into());
        runner.cpu_batches(&best, cores);
    }
    if wants(Part::Gpu) {
        for a in &adapters {
            // One device through two APIs (llvmpipe through Vulkan and GL, a GPU through Vulkan and
            // GL): measured once, through the better-ranked one. GL compiles `coop` for minutes.
            match adapters.iter().find(|b| b.index < a.index && b.name == a.name) {
                Some(b) => runner.skip_adapter(
                    a,
                    format!(
                        "the same device as adapter #{} ({}), measured through {} only",
                        b.index, b.backend, b.backend
                    ),
                ),
                None => runner.gpu(a),
            }
        }
    }
    let mut auto = Vec::new();
    if wants(Part::Auto) {
        auto.push(runner.auto(cores, settings.cpu_batch, false));
        // The pool refuses a CPU rasteriser: show what `auto` would do if it were allowed.
        if adapters.first().is_some_and(|a| a.hardware != Hardware::Gpu) {
            let batch = if size == Size::Full { settings.cpu_batch } else { 64 };
            auto.push(runner.auto(cores, batch, true));
        }
    }
    let mut report = Report {
        schema: SCHEMA_NAME.into(),
        schema_version: SCHEMA_VERSION,
        label: args.label.clone().unwrap_or_else(|| machine.hostname.clone()),
        created_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        duration_s: runner.elapsed_s(),
        command: std::iter::once("tos-pool".to_owned())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        settings,
        machine,
        notes: Vec::new(),
        auto,
        points: std::mem::take(&mut runner.points),
        skipped: std::mem::take(&mut runner.skipped),
    };
    report.machine.load_average_end = machine::load_average();
    report.notes = notes(&report);
    match write_report(&report, &args.out) {
        Ok(files) => {
            println!(
                "{} points ({} skipped) in {:.0} s; wrote {}",
                report.points.len(),
                report.skipped.len(),
                report.duration_s,
                files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing the report to {}: {e:#}", args.out.display());
            ExitCode::FAILURE
        }
    }
}

fn write_report(report: &Report, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let mut files = vec![out.join("report.json"), out.join("report.md")];
    std::fs::write(&files[0], serde_json::to_string_pretty(report)? + "\n")?;
    let written = charts::report_charts(report, out)?;
    std::fs::write(&files[1], markdown::report(report, &written))?;
    files.extend(written.into_iter().map(|c| out.join(c.file)));
    Ok(files)
}

pub fn run_compare(args: CompareArgs) -> ExitCode {
    compare::run(&args.reports, &args.out)
}
