//! Measuring the matrix point by point, with progress on the terminal.

use super::matrix::{self, Size, Variant};
use super::schema::{
    Adapter, AutoChoice, CpuSetting, GpuSetting, Hardware, KernelTime, Point, RawFigures, Settings, Skipped,
};
use crate::cli::bench::{self, OpenedBackend, Until};
use std::time::Instant;

/// One configuration of the matrix, as `bench verify` options (without `--batch`/`--shares`).
pub struct Config {
    /// The point id without its batch: `{id}/b{batch}`.
    pub id: String,
    pub group: &'static str,
    pub series: String,
    pub args: Vec<String>,
    pub cpu: Option<CpuSetting>,
    /// The GPU setting, less what only the opened device knows (timestamps).
    pub gpu: Option<GpuSetting>,
}

impl Config {
    fn argv(&self, batch: usize, shares: usize) -> Vec<String> {
        let mut a = self.args.clone();
        a.extend([
            "--batch".into(),
            batch.to_string(),
            "--shares".into(),
            shares.to_string(),
            "--json".into(),
        ]);
        a
    }

    pub fn command(&self, batch: usize, shares: usize) -> String {
        format!("tos-pool bench verify {}", self.argv(batch, shares).join(" "))
    }

    fn point_id(&self, batch: usize) -> String {
        format!("{}/b{batch}", self.id)
    }
}

pub struct Runner {
    pub settings: Settings,
    pub size: Size,
    started: Instant,
    done: usize,
    pub points: Vec<Point>,
    pub skipped: Vec<Skipped>,
}

impl Runner {
    pub fn new(settings: Settings, size: Size) -> Self {
        Runner { settings, size, started: Instant::now(), done: 0, points: Vec::new(), skipped: Vec::new() }
    }

    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn progress(&self, msg: &str) {
        eprintln!("[{:>3} points, {:>5.1} s] {msg}", self.done, self.elapsed_s());
    }

    fn skip(&mut self, config: &Config, batch: usize, reason: String) {
        self.progress(&format!("skipped {}: {reason}", config.point_id(batch)));
        let shares = batch * self.settings.min_batches_per_point;
        self.skipped.push(Skipped {
            id: config.point_id(batch),
            reason,
            command: config.command(batch, shares),
        });
    }

    /// Skips `batches` (growing) by the time rule: one entry, predicted for the first of them.
    fn skip_rest(&mut self, config: &Config, batches: &[usize], measured: usize, measured_ms: f64) {
        let (Some(&first), Some(&last)) = (batches.first(), batches.last()) else { return };
        let mut reason = matrix::within_time(&self.settings, measured, measured_ms, first)
            .err()
            .unwrap_or_else(|| format!("over the time rule after batch {measured}"));
        if last > first {
            reason = format!("batches {first}…{last}: {reason}");
        }
        self.skip(config, first, reason);
    }

    /// Opens and measures one point; `self_test` as `bench verify` does (once per GPU variant).
    fn measure(
        &mut self,
        config: &Config,
        batch: usize,
        self_test: bool,
    ) -> Result<(Point, OpenedBackend), String> {
        let args = bench::parse_verify_args(&config.argv(batch, 1))?;
        let opened = bench::open_backend(&args, self_test).map_err(|e| e.message().to_owned())?;
        let until = Until::Seconds {
            seconds: self.settings.seconds_per_point,
            min_batches: self.settings.min_batches_per_point,
        };
        let m = bench::measure(&opened, batch, until)?;
        let hardware = match &opened.adapter {
            Some(a) if opened.on_gpu() => Hardware::of_device_type(&a.device_type),
            _ => Hardware::Cpu,
        };
        let timing = m.gpu_timing(batch);
        let gpu_raw = |f: &dyn Fn(&gpu_verify::BatchTiming) -> f64| {
            (!m.timings.is_empty()).then(|| m.timings.iter().map(f).collect::<Vec<f64>>())
        };
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let rate = m.hashes_per_second();
        let point = Point {
            id: config.point_id(batch),
            group: config.group.to_owned(),
            hardware,
            series: config.series.clone(),
            implementation: opened.implementation.clone(),
            cpu: config.cpu.clone(),
            gpu: config.gpu.clone().map(|mut g| {
                g.timestamps = opened.adapter.as_ref().is_some_and(|a| a.timestamps);
                g
            }),
            batch,
            shares: m.shares,
            batches: m.latencies_ms.len(),
            seconds: m.seconds,
            hashes_per_second: rate,
            hashes_per_second_per_thread: config.cpu.as_ref().map(|c| rate / c.threads as f64),
            batch_latency_ms_p50: m.latency_ms(0.5),
            batch_latency_ms_p99: m.latency_ms(0.99),
            kernel_ms_p50: timing.as_ref().and_then(|t| t.kernel_ms_p50),
            kernel_ms_p99: timing.as_ref().and_then(|t| t.kernel_ms_p99),
            kernel_hashes_per_second: timing.as_ref().and_then(|t| t.kernel_hashes_per_second),
            raw: RawFigures {
                batch_latency_ms: m.latencies_ms.clone(),
                kernel_ms: (!m.timings.is_empty())
                    .then(|| m.timings.iter().map(|t| t.kernel.map(ms)).collect()),
                upload_ms: gpu_raw(&|t| ms(t.upload)),
                submit_ms: gpu_raw(&|t| ms(t.submit)),
                wait_ms: gpu_raw(&|t| ms(t.wait)),
                readback_ms: gpu_raw(&|t| ms(t.readback)),
            },
            command: config.command(batch, m.shares),
        };
        Ok((point, opened))
    }

    /// Measures one point and records it (or why it was skipped).
    fn point(&mut self, config: &Config, batch: usize, self_test: bool) -> Option<(Point, OpenedBackend)> {
        match self.measure(config, batch, self_test) {
            Ok((p, o)) => {
                self.done += 1;
                let kernel = p.kernel_ms_p50.map(|k| format!(", kernel {k:.2} ms")).unwrap_or_default();
                self.progress(&format!(
                    "{} [{}]: {:.0} hashes/s, batch p50 {:.2} ms p99 {:.2} ms{kernel}",
                    p.id,
                    p.hardware.label(),
                    p.hashes_per_second,
                    p.batch_latency_ms_p50,
                    p.batch_latency_ms_p99
                ));
                self.points.push(p.clone());
                Some((p, o))
            }
            Err(e) => {
                self.skip(config, batch, e);
                None
            }
        }
    }

    /// A configuration at growing batches until the time rule (or a failure) stops it.
    fn series(&mut self, config: &Config, batches: &[usize], mut self_test: bool) {
        let mut prev: Option<(usize, f64)> = None;
        for (i, &batch) in batches.iter().enumerate() {
            if let Some((pb, pms)) = prev
                && matrix::within_time(&self.settings, pb, pms, batch).is_err()
            {
                self.skip_rest(config, &batches[i..], pb, pms);
                return;
            }
            match self.point(config, batch, self_test) {
                Some((p, _)) => prev = Some((batch, p.batch_latency_ms_p50)),
                None => return,
            }
            self_test = false;
        }
    }

    /// Reference and fast at every dispatch level, by thread count, at the pool's batch.
    pub fn cpu_threads(&mut self, levels: &[String]) {
        let mut impls: Vec<(String, Vec<String>, Option<String>)> =
            vec![("reference".into(), vec!["--impl".into(), "reference".into()], None)];
        for l in levels {
            impls.push((
                format!("fast-{l}"),
                vec!["--impl".into(), "fast".into(), "--level".into(), l.clone()],
                Some(l.clone()),
            ));
        }
        for (name, args, level) in impls {
            for &threads in &self.settings.thread_counts.clone() {
                let mut a = vec!["--backend".into(), "cpu".into()];
                a.extend(args.clone());
                a.extend(["--threads".into(), threads.to_string()]);
                let config = Config {
                    id: format!("cpu-threads/{name}/t{threads}"),
                    group: "cpu-threads",
                    series: level.as_ref().map_or("reference".into(), |l| format!("fast/{l}")),
                    args: a,
                    cpu: Some(CpuSetting {
                        implementation: if level.is_some() { "fast" } else { "reference" }.into(),
                        level: level.clone(),
                        threads,
                    }),
                    gpu: None,
                };
                let batch = self.settings.cpu_batch;
                self.point(&config, batch, false);
            }
        }
    }

    /// The fast path at its best level on every core, by batch size.
    pub fn cpu_batches(&mut self, best: &str, cores: usize) {
        let config = Config {
            id: "cpu-batch/fast-best/all-cores".into(),
            group: "cpu-batch",
            series: format!("CPU fast/{best} ×{cores} threads"),
            args: ["--backend", "cpu", "--impl", "fast", "--level", best, "--threads", &cores.to_string()]
                .map(String::from)
                .to_vec(),
            cpu: Some(CpuSetting { implementation: "fast".into(), level: Some(best.into()), threads: cores }),
            gpu: None,
        };
        let batches = self.settings.batches.clone();
        self.series(&config, &batches, false);
    }

    /// Every arithmetic variant × kernel variant × batch on one adapter.
    pub fn gpu(&mut self, adapter: &Adapter) {
        let batches = matrix::batches_up_to(&self.settings, adapter.max_batch);
        let mut ariths = Vec::new();
        if adapter.shader_int64 {
            ariths.push(("u64", "u64", "u64"));
        }
        ariths.push(("vec2", "vec2", "vec2<u32>"));
        let tag = match adapter.hardware {
            Hardware::Gpu => String::new(),
            _ => " [CPU rasteriser]".into(),
        };
        for (arg, id, name) in ariths {
            let configs: Vec<Config> = matrix::variants(adapter, self.size)
                .into_iter()
                .map(|v| self.gpu_config(adapter, &v, arg, id, name, &tag))
                .collect();
            if self.size == Size::Full {
                for c in &configs {
                    self.series(c, &batches, true);
                }
                continue;
            }
            // Quick: every variant that fits the smallest batch, then the fastest lane size and coop on.
            let Some((&first, rest)) = batches.split_first() else { continue };
            let mut firsts: Vec<(usize, f64, f64)> = Vec::new(); // (config, hashes/s, p50 ms)
            for (i, c) in configs.iter().enumerate() {
                let g = c.gpu.as_ref().expect("a GPU config");
                if g.kernel == "lane" && g.workgroup_size as usize > first {
                    // Lane dispatches whole workgroups: most of this one would hash padding.
                    let reason = format!(
                        "--quick: a lane workgroup of {} is larger than the batch of {first} (the rest is padding); the full report measures it",
                        g.workgroup_size
                    );
                    self.skip(c, first, reason);
                    continue;
                }
                if let Some((p, _)) = self.point(c, first, true) {
                    firsts.push((i, p.hashes_per_second, p.batch_latency_ms_p50));
                }
            }
            let best_lane = firsts
                .iter()
                .filter(|(i, ..)| configs[*i].id.contains("/lane-"))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|f| f.0);
            for &(i, _, p50) in &firsts {
                let c = &configs[i];
                if c.id.contains("/lane-") && Some(i) != best_lane {
                    continue;
                }
                let mut prev = (first, p50);
                for (k, &batch) in rest.iter().enumerate() {
                    if matrix::within_time(&self.settings, prev.0, prev.1, batch).is_err() {
                        self.skip_rest(c, &rest[k..], prev.0, prev.1);
                        break;
                    }
                    match self.point(c, batch, false) {
                        Some((p, _)) => prev = (batch, p.batch_latency_ms_p50),
                        None => break,
                    }
                }
            }
        }
    }

    /// Records an adapter left out of the matrix, with a command that measures it anyway.
    pub fn skip_adapter(&mut self, adapter: &Adapter, reason: String) {
        let variant = Variant::Lane { workgroup_size: 64 };
        let config = self.gpu_config(adapter, &variant, "vec2", "vec2", "vec2<u32>", "");
        let batch = self.settings.batches[0];
        self.skip(&config, batch, reason);
    }

    fn gpu_config(&self, a: &Adapter, v: &Variant, arg: &str, id: &str, name: &str, tag: &str) -> Config {
        let mut args = vec!["--backend".into(), "gpu".into(), "--adapter".into(), a.index.to_string()];
        args.extend(["--arithmetic".into(), arg.into()]);
        args.extend(v.args());
        if a.hardware != Hardware::Gpu {
            args.push("--allow-cpu-adapter".into());
        }
        let (kernel, workgroup_size, workgroup_memory_bytes) = match v {
            Variant::Lane { workgroup_size } => ("lane", *workgroup_size, 0),
            Variant::Coop { workgroup_memory } => {
                ("coop", gpu_verify::kernel::coop::LANES, *workgroup_memory)
            }
        };
        Config {
            id: format!("gpu/a{}/{id}/{}", a.index, v.id()),
            group: "gpu",
            // "llvmpipe (LLVM 15.0.6, 256 bits)" → "llvmpipe": legends stay readable.
            series: format!(
                "#{} {}{tag} {name} {}",
                a.index,
                a.name.split(" (").next().unwrap_or(&a.name),
                v.label()
            ),
            args,
            cpu: None,
            gpu: Some(GpuSetting {
                adapter_index: a.index,
                adapter: a.name.clone(),
                arithmetic: name.into(),
                kernel: kernel.into(),
                workgroup_size,
                workgroup_memory_bytes,
                timestamps: false,
            }),
        }
    }

    /// What `auto` picks at `batch` (`allow_cpu_adapter`: with a CPU rasteriser allowed as the GPU).
    pub fn auto(&mut self, cores: usize, batch: usize, allow_cpu_adapter: bool) -> AutoChoice {
        let setting = if allow_cpu_adapter { "cpu-adapter-allowed" } else { "default" };
        let mut args: Vec<String> =
            ["--backend", "auto", "--threads", &cores.to_string()].map(String::from).to_vec();
        if allow_cpu_adapter {
            args.push("--allow-cpu-adapter".into());
            if self.size != Size::Full {
                // Building, ranking and self-testing all five kernels on lavapipe takes ~30 s.
                args.extend(["--kernel", "lane", "--workgroup-size", "64"].map(String::from));
            }
        }
        let config = Config {
            id: format!("auto/{setting}"),
            group: "auto",
            series: format!("auto ({setting})"),
            args,
            cpu: None,
            gpu: None,
        };
        self.progress(&format!(
            "auto ({setting}): building the engine as the pool does (self-test, calibration)"
        ));
        let Some((point, opened)) = self.point(&config, batch, true) else {
            let reason = self.skipped.last().map(|s| s.reason.clone()).unwrap_or_default();
            return AutoChoice {
                setting: setting.into(),
                batch,
                picked: "none".into(),
                picked_hardware: Hardware::Cpu,
                why: format!("the engine could not be built: {reason}"),
                cpu_hashes_per_second: None,
                gpu_hashes_per_second: None,
                gpu_adapter: None,
                gpu_kernels: Vec::new(),
                gpu_unused_reason: Some(reason),
                point_id: None,
                command: config.command(batch, batch),
            };
        };
        let picked = opened.implementation.trim_start_matches("auto → ").to_owned();
        let c = opened.calibration.as_ref();
        let gpu_adapter =
            opened.adapter.as_ref().map(|a| format!("{} ({}, {})", a.name, a.backend, a.device_type));
        let why = match (c, &opened.gpu_unused_reason) {
            (Some(c), _) => format!(
                "measured at start-up: CPU {:.0} hashes/s, {} {} hashes/s: the {} is faster",
                c.cpu_hashes_per_second,
                gpu_adapter.as_deref().unwrap_or("GPU"),
                c.gpu_hashes_per_second.map_or("failed".into(), |g| format!("{g:.0}")),
                if c.chose_gpu { "adapter" } else { "CPU" }
            ),
            (None, Some(reason)) => format!("no GPU to calibrate against: {reason}"),
            (None, None) => "no GPU adapter".into(),
        };
        AutoChoice {
            setting: setting.into(),
            batch,
            picked,
            picked_hardware: point.hardware,
            why,
            cpu_hashes_per_second: c.map(|c| c.cpu_hashes_per_second),
            gpu_hashes_per_second: c.and_then(|c| c.gpu_hashes_per_second),
            gpu_adapter,
            gpu_kernels: opened
                .adapter
                .as_ref()
                .map(|a| {
                    a.kernels
                        .iter()
                        .map(|k| KernelTime { kernel: k.kernel.clone(), batch_ms: k.batch_ms })
                        .collect()
                })
                .unwrap_or_default(),
            gpu_unused_reason: opened.gpu_unused_reason.clone(),
            point_id: Some(point.id),
            command: point.command,
        }
    }
}
