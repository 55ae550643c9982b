//! SVG charts, drawn by plotters: hashes/s and batch latency against batch size, CPU scaling by
//! threads; for one report (a series per configuration) or several (a series per machine).

use super::schema::{Hardware, Point, Report};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// How an axis maps values: batch sizes and rates span decades, thread counts do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log2,
    Log10,
}

impl Scale {
    fn to_axis(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log2 => v.log2(),
            Scale::Log10 => v.log10(),
        }
    }

    /// The label at axis position `a` of an axis `span` wide: a log axis spanning more than one
    /// step is labelled at whole powers only (64, 128, … or 100, 1k, …).
    fn label(self, a: f64, span: f64) -> String {
        if self != Scale::Linear && span > 1.5 && (a - a.round()).abs() > 1e-6 {
            return String::new();
        }
        let v = match self {
            Scale::Linear => a,
            Scale::Log2 => a.exp2(),
            Scale::Log10 => 10f64.powf(a),
        };
        human(v)
    }
}

/// 1234 → "1.2k", 65536 → "66k", 2.5 → "2.5".
pub fn human(v: f64) -> String {
    let (n, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    if n.abs() >= 10.0 || n.fract().abs() < 1e-9 {
        format!("{n:.0}{suffix}")
    } else {
        format!("{n:.1}{suffix}")
    }
}

pub struct Series {
    pub name: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Series with the same colour belong together (p50 and p99 of one configuration).
    pub colour: usize,
}

pub struct Chart {
    pub file: String,
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
    /// What the chart shows and where its figures' commands are.
    pub caption: String,
}

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 560;
const PLOT_WIDTH: u32 = 700;

/// Draws `chart` as `dir/chart.file`.
pub fn draw(chart: &Chart, dir: &Path) -> anyhow::Result<()> {
    let err = |e: &dyn std::fmt::Debug| anyhow::anyhow!("drawing {}: {e:?}", chart.file);
    let path = dir.join(&chart.file);
    let root = SVGBackend::new(&path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (plot, legend) = root.split_horizontally(PLOT_WIDTH);
    let mapped: Vec<Vec<(f64, f64)>> = chart
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|(x, y)| *x > 0.0 && *y > 0.0 || chart.y_scale == Scale::Linear)
                .map(|&(x, y)| (chart.x_scale.to_axis(x), chart.y_scale.to_axis(y)))
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = mapped.iter().flatten().copied().collect();
    let span = |vals: Vec<f64>, scale: Scale| {
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        match scale {
            // From zero, so heights compare.
            Scale::Linear => (lo.min(0.0), hi + ((hi - lo) * 0.05).max(hi.abs() * 0.05).max(0.5)),
            // Whole powers at both ends, so the ends are labelled.
            _ => ((lo - 0.05).floor(), (hi + 0.05).ceil()),
        }
    };
    let (x0, x1) = span(all.iter().map(|p| p.0).collect(), chart.x_scale);
    let (y0, y1) = span(all.iter().map(|p| p.1).collect(), chart.y_scale);
    let mut ctx = ChartBuilder::on(&plot)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let (xs, ys) = (chart.x_scale, chart.y_scale);
    let x_fmt = move |v: &f64| xs.label(*v, x1 - x0);
    let y_fmt = move |v: &f64| ys.label(*v, y1 - y0);
    // Enough labels for a step of one: every thread count, every power of two.
    let x_labels = ((x1 - x0).ceil() as usize + 1).clamp(2, 20);
    ctx.configure_mesh()
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        .x_labels(x_labels)
        .y_labels(12)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(|e| err(&e))?;
    for (s, pts) in chart.series.iter().zip(&mapped) {
        let colour = Palette99::pick(s.colour).to_rgba();
        let style = colour.stroke_width(2);
        if s.dashed {
            ctx.draw_series(DashedLineSeries::new(pts.clone(), 7, 5, style)).map_err(|e| err(&e))?;
        } else {
            ctx.draw_series(LineSeries::new(pts.clone(), style)).map_err(|e| err(&e))?;
        }
        ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(|e| err(&e))?;
    }
    // The legend beside the plot: a dozen series would hide the data inside it.
    for (i, s) in chart.series.iter().enumerate() {
        let y = 40 + i as i32 * 20;
        let colour = Palette99::pick(s.colour).to_rgba();
        let segments: &[(i32, i32)] = if s.dashed { &[(8, 15), (22, 30)] } else { &[(8, 30)] };
        for &(a, b) in segments {
            legend
                .draw(&PathElement::new(vec![(a, y), (b, y)], colour.stroke_width(2)))
                .map_err(|e| err(&e))?;
        }
        legend.draw(&Text::new(s.name.clone(), (36, y - 7), ("sans-serif", 13))).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Points of `group` by series name, each sorted by `x`.
fn by_series<'a>(points: impl Iterator<Item = &'a Point>) -> BTreeMap<String, Vec<&'a Point>> {
    let mut m: BTreeMap<String, Vec<&Point>> = BTreeMap::new();
    for p in points {
        m.entry(p.series.clone()).or_default().push(p);
    }
    m
}

/// The lane workgroup size to stand for `lane` where one line per kernel is wanted: the one
/// measured at the most batch sizes (quick runs carry only the fastest forward), then the fastest.
fn representative_gpu_series(points: &[Point]) -> Vec<String> {
    let gpu = by_series(points.iter().filter(|p| p.group == "gpu"));
    // (adapter, arithmetic, kernel) → its series.
    type Candidates<'a> = Vec<(&'a String, &'a Vec<&'a Point>)>;
    let mut groups: BTreeMap<(usize, String, String), Candidates> = BTreeMap::new();
    for (name, pts) in &gpu {
        let g = pts[0].gpu.as_ref().expect("gpu points carry their setting");
        groups
            .entry((g.adapter_index, g.arithmetic.clone(), g.kernel.clone()))
            .or_default()
            .push((name, pts));
    }
    groups
        .into_values()
        .filter_map(|c| {
            c.into_iter()
                .max_by(|a, b| {
                    let first = |p: &Vec<&Point>| {
                        p.iter().min_by_key(|p| p.batch).map_or(0.0, |p| p.hashes_per_second)
                    };
                    a.1.len().cmp(&b.1.len()).then(first(a.1).total_cmp(&first(b.1)))
                })
                .map(|(n, _)| n.clone())
        })
        .collect()
}

fn xy(pts: &[&Point], x: impl Fn(&Point) -> f64, y: impl Fn(&Point) -> f64) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = pts.iter().map(|p| (x(p), y(p))).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The charts of one report (only those with something to show), drawn into `dir`.
pub fn report_charts(report: &Report, dir: &Path) -> anyhow::Result<Vec<Chart>> {
    let note = |h: bool| {
        if h {
            " Series marked [CPU rasteriser] ran on an adapter of device type CPU (lavapipe): not GPU figures."
        } else {
            ""
        }
    };
    let rasteriser = report.points.iter().any(|p| p.hardware == Hardware::CpuRasteriser);
    let by_batch: Vec<&Point> =
        report.points.iter().filter(|p| p.group == "cpu-batch" || p.group == "gpu").collect();
    let mut charts = Vec::new();

    let throughput = by_series(by_batch.iter().copied())
        .into_iter()
        .enumerate()
        .map(|(i, (name, pts))| Series {
            name,
            points: xy(&pts, |p| p.batch as f64, |p| p.hashes_per_second),
            dashed: false,
            colour: i,
        })
        .collect::<Vec<_>>();
    charts.push(Chart {
        file: "throughput-by-batch.svg".into(),
        title: format!("hashes/s by batch size — {}", report.label),
        x_desc: "shares per batch".into(),
        y_desc: "hashes/s".into(),
        x_scale: Scale::Log2,
        y_scale: Scale::Log10,
        series: throughput,
        caption: format!(
            "Every CPU-batch and adapter point; the tables list each with its command.{}",
            note(rasteriser)
        ),
    });

    let keep = representative_gpu_series(&report.points);
    let mut latency = Vec::new();
    for (i, (name, pts)) in
        by_series(by_batch.iter().copied().filter(|p| p.group == "cpu-batch" || keep.contains(&p.series)))
            .into_iter()
            .enumerate()
    {
        latency.push(Series {
            name: format!("{name} p50"),
            points: xy(&pts, |p| p.batch as f64, |p| p.batch_latency_ms_p50),
            dashed: false,
            colour: i,
        });
        latency.push(Series {
            name: format!("{name} p99"),
            points: xy(&pts, |p| p.batch as f64, |p| p.batch_latency_ms_p99),
            dashed: true,
            colour: i,
        });
    }
    charts.push(Chart {
        file: "latency-by-batch.svg".into(),
        title: format!("batch latency p50 (solid) / p99 (dashed) — {}", report.label),
        x_desc: "shares per batch".into(),
        y_desc: "ms per batch".into(),
        x_scale: Scale::Log2,
        y_scale: Scale::Log10,
        series: latency,
        caption: format!(
            "The CPU on every core and, per adapter and arithmetic, `coop` and one `lane` workgroup size (the one measured at most batch sizes).{}",
            note(rasteriser)
        ),
    });

    let scaling = by_series(report.points.iter().filter(|p| p.group == "cpu-threads"))
        .into_iter()
        .enumerate()
        .map(|(i, (name, pts))| Series {
            name,
            points: xy(&pts, |p| p.cpu.as_ref().map_or(0.0, |c| c.threads as f64), |p| p.hashes_per_second),
            dashed: false,
            colour: i,
        })
        .collect::<Vec<_>>();
    charts.push(Chart {
        file: "cpu-scaling.svg".into(),
        title: format!("CPU hashes/s by threads (batch {}) — {}", report.settings.cpu_batch, report.label),
        x_desc: "threads".into(),
        y_desc: "hashes/s (all threads)".into(),
        x_scale: Scale::Linear,
        y_scale: Scale::Linear,
        series: scaling,
        caption: "Reference and fast path at every dispatch level this CPU has.".into(),
    });
    charts.retain(|c| c.series.iter().any(|s| !s.points.is_empty()));
    for c in &charts {
        draw(c, dir)?;
    }
    Ok(charts)
}
