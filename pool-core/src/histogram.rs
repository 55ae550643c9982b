//! A lock-free histogram with fixed buckets: recording is one atomic add per bucket touched, so
//! the hot path (every verified batch) never waits for a reader (the metrics endpoint).

use std::sync::atomic::{AtomicU64, Ordering};

/// Fixed upper bounds (inclusive, in the histogram's unit) and one counter per bucket, plus the
/// overflow bucket (`+Inf`), the sum and the count.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    count: AtomicU64,
}

/// A reading of a [`Histogram`]: counts per bucket (not cumulative), then the `+Inf` bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub bounds: Vec<u64>,
    /// `bounds.len() + 1` counts; the last is above every bound.
    pub counts: Vec<u64>,
    pub sum: u64,
    pub count: u64,
}

/// Verification time of a batch, µs: 50 µs … 5 s.
pub const LATENCY_US: &[u64] =
    &[50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 5_000_000];

/// Shares in a batch: 1 … 4096.
pub const BATCH_SIZES: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

impl Histogram {
    /// `bounds` must be increasing.
    pub fn new(bounds: &'static [u64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "increasing bounds");
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn record(&self, value: u64) {
        let i = self.bounds.partition_point(|&b| b < value);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        HistogramSnapshot {
            bounds: self.bounds.to_vec(),
            // The count is read as the sum of the buckets, so `+Inf == count` always holds.
            count: counts.iter().sum(),
            counts,
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

impl HistogramSnapshot {
    /// Cumulative counts per bound, then `+Inf` (the Prometheus `le` buckets).
    pub fn cumulative(&self) -> Vec<u64> {
        self.counts
            .iter()
            .scan(0u64, |acc, c| {
                *acc += c;
                Some(*acc)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        let h = Histogram::new(&[10, 100]);
        for v in [0, 10, 11, 100, 101, 5_000] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 2]);
        assert_eq!(s.cumulative(), vec![2, 4, 6]);
        assert_eq!((s.count, s.sum), (6, 5_222));
    }

    #[test]
    fn recording_from_many_threads_loses_nothing() {
        let h = std::sync::Arc::new(Histogram::new(BATCH_SIZES));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let h = h.clone();
                std::thread::spawn(move || (0..1000).for_each(|i| h.record(i)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(h.snapshot().count, 4000);
    }
}
