//! The matrix a report measures: batch sizes, thread counts, GPU variants, and the time rule
//! that keeps a run bounded.

use super::schema::{Adapter, Settings};

/// The smallest batch of every matrix; batches grow from it by `GROWTH_FULL` / `GROWTH_QUICK`.
const SMALLEST_BATCH: usize = 64;
const GROWTH_FULL: usize = 2;
const GROWTH_QUICK: usize = 4;
/// The largest batch of any matrix: what the scratch budget allows a device (`machine::max_batch`)
/// and where the CPU's sweep stops (a CPU has no device limit).
const LARGEST_BATCH: usize = 65_536;
/// The pool's default `verifier.max_batch`: the batch of the thread-scaling points and of `auto`.
pub const POOL_BATCH: usize = 1024;
pub const SECONDS_FULL: f64 = 2.0;
pub const SECONDS_QUICK: f64 = 0.5;
pub const SECONDS_TINY: f64 = 0.05;

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Full,
    Quick,
    /// For tests: batch 64 only, one lane workgroup size, two batches a point.
    Tiny,
}

pub fn settings(size: Size, seconds_per_point: Option<f64>, cores: usize, backends: Vec<String>) -> Settings {
    let (growth, top, seconds, min_batches, cpu_batch) = match size {
        Size::Full => (GROWTH_FULL, usize::MAX, SECONDS_FULL, 3, POOL_BATCH),
        Size::Quick => (GROWTH_QUICK, 4096, SECONDS_QUICK, 3, POOL_BATCH),
        Size::Tiny => (GROWTH_QUICK, SMALLEST_BATCH, SECONDS_TINY, 2, SMALLEST_BATCH),
    };
    let mut batches = vec![SMALLEST_BATCH];
    while let Some(&last) = batches.last()
        && last * growth <= top.min(LARGEST_BATCH)
    {
        batches.push(last * growth);
    }
    Settings {
        quick: size == Size::Quick,
        tiny: size == Size::Tiny,
        seconds_per_point: seconds_per_point.unwrap_or(seconds),
        min_batches_per_point: min_batches,
        batches,
        thread_counts: thread_counts(cores),
        cpu_batch,
        backends,
    }
}

/// 1, 2, 4, … below `cores`, then `cores`.
pub fn thread_counts(cores: usize) -> Vec<usize> {
    let mut t: Vec<usize> =
        std::iter::successors(Some(1usize), |n| Some(n * 2)).take_while(|&n| n < cores).collect();
    t.push(cores.max(1));
    t
}

/// The batches of `settings` a device taking at most `max_batch` runs.
pub fn batches_up_to(settings: &Settings, max_batch: usize) -> Vec<usize> {
    settings.batches.iter().copied().filter(|&b| b <= max_batch).collect()
}

/// Whether a batch of `next` is worth measuring after one of `prev` took `prev_ms` (p50): not
/// when it would take more than twice the time of a point by itself.
pub fn within_time(settings: &Settings, prev: usize, prev_ms: f64, next: usize) -> Result<(), String> {
    let predicted_s = prev_ms / 1e3 * next as f64 / prev as f64;
    let limit = 2.0 * settings.seconds_per_point;
    if predicted_s > limit {
        Err(format!(
            "one batch of {next} would take ~{predicted_s:.1} s (a batch of {prev} took {:.0} ms), over twice the {:.2} s per point: rerun with a larger --seconds-per-point to measure it",
            prev_ms, settings.seconds_per_point
        ))
    } else {
        Ok(())
    }
}

/// A GPU kernel variant of the matrix, as `bench verify` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    Lane { workgroup_size: u32 },
    Coop { workgroup_memory: u32 },
}

impl Variant {
    pub fn args(&self) -> Vec<String> {
        match self {
            Variant::Lane { workgroup_size } => {
                vec!["--kernel".into(), "lane".into(), "--workgroup-size".into(), workgroup_size.to_string()]
            }
            Variant::Coop { workgroup_memory } => {
                vec![
                    "--kernel".into(),
                    "coop".into(),
                    "--workgroup-memory".into(),
                    workgroup_memory.to_string(),
                ]
            }
        }
    }

    /// Id part: `lane-wg64`, `coop` (the split is the adapter's maximum, so it is left out of the
    /// id to match across machines).
    pub fn id(&self) -> String {
        match self {
            Variant::Lane { workgroup_size } => format!("lane-wg{workgroup_size}"),
            Variant::Coop { .. } => "coop".into(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Variant::Lane { workgroup_size } => format!("lane/{workgroup_size}"),
            Variant::Coop { workgroup_memory } => format!("coop/{}K", workgroup_memory / 1024),
        }
    }
}

/// The kernel variants tried on `adapter`: `lane` at every workgroup size the verifier tries and
/// the device allows (tiny: the smallest), `coop` with all the workgroup memory it allows.
pub fn variants(adapter: &Adapter, size: Size) -> Vec<Variant> {
    let max_wg = adapter.max_compute_invocations_per_workgroup;
    let mut v: Vec<Variant> = gpu_verify::verifier::WORKGROUP_CANDIDATES
        .into_iter()
        .filter(|&w| w <= max_wg)
        .map(|workgroup_size| Variant::Lane { workgroup_size })
        .collect();
    if size == Size::Tiny {
        v.truncate(1);
    }
    if max_wg >= gpu_verify::kernel::coop::LANES {
        let split = gpu_verify::Split::for_workgroup_bytes(adapter.max_compute_workgroup_storage_size);
        v.push(Variant::Coop { workgroup_memory: split.workgroup_bytes() });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_double_up_to_every_core() {
        assert_eq!(thread_counts(1), [1]);
        assert_eq!(thread_counts(2), [1, 2]);
        assert_eq!(thread_counts(6), [1, 2, 4, 6]);
        assert_eq!(thread_counts(8), [1, 2, 4, 8]);
    }

    #[test]
    fn batches_grow_from_64_to_each_size_limit() {
        let full = settings(Size::Full, None, 2, vec![]);
        assert_eq!(full.batches.first(), Some(&64));
        assert_eq!(full.batches.last(), Some(&65_536));
        assert_eq!(full.batches.len(), 11);
        assert_eq!(settings(Size::Quick, None, 2, vec![]).batches, [64, 256, 1024, 4096]);
        let tiny = settings(Size::Tiny, Some(0.01), 2, vec![]);
        assert_eq!((tiny.batches.as_slice(), tiny.seconds_per_point), (&[64][..], 0.01));
        assert_eq!(batches_up_to(&full, 1000), [64, 128, 256, 512]);
    }

    #[test]
    fn the_time_rule_skips_batches_predicted_over_twice_a_point() {
        let s = settings(Size::Quick, Some(0.5), 2, vec![]);
        assert!(within_time(&s, 64, 200.0, 256).is_ok()); // ~0.8 s ≤ 1 s
        let err = within_time(&s, 64, 300.0, 256).unwrap_err(); // ~1.2 s
        assert!(err.contains("--seconds-per-point"), "{err}");
    }
}
