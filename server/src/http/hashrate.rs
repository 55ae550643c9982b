//! Hashrate from accepted work: one difficulty point is one expected hash (protocol.md §1), so
//! hashrate = Σ share difficulty / seconds, read from the ledger's per-minute rollups. Exact
//! integers (H/s, rounded down), never floats.

use pool_core::U256;
use serde::Serialize;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;

/// The averaging windows the API reports.
pub const WINDOWS_MS: [i64; 3] = [10 * MINUTE_MS, 60 * MINUTE_MS, 24 * 60 * MINUTE_MS];

/// Hashrate over the three windows, H/s as decimal strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HashrateWindows {
    #[serde(rename = "10m")]
    pub m10: String,
    #[serde(rename = "1h")]
    pub h1: String,
    #[serde(rename = "24h")]
    pub h24: String,
}

/// One point of a hashrate chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HashratePoint {
    /// The bucket's start (Unix ms).
    pub t_ms: i64,
    /// H/s over the bucket (the current bucket: over its elapsed part).
    pub hashrate: String,
}

fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(MINUTE_MS)
}

fn per_second(work: U256, elapsed_ms: i64) -> U256 {
    let secs = (elapsed_ms / 1000).max(1) as u64;
    work.div_rem_u64(secs).map_or(U256::ZERO, |(q, _)| q)
}

/// Average H/s over the `window_ms` ending now: the minutes that started in the window, divided by
/// the time from the first of them to now (the current minute counts with its elapsed part).
pub fn over(minutes: &BTreeMap<i64, U256>, now_ms: i64, window_ms: i64) -> U256 {
    let start = minute_of(now_ms) - (window_ms - MINUTE_MS);
    let work = minutes.range(start..).fold(U256::ZERO, |a, (_, w)| a.checked_add(*w).unwrap_or(U256::MAX));
    per_second(work, now_ms - start)
}

pub fn windows(minutes: &BTreeMap<i64, U256>, now_ms: i64) -> HashrateWindows {
    HashrateWindows {
        m10: over(minutes, now_ms, WINDOWS_MS[0]).to_string(),
        h1: over(minutes, now_ms, WINDOWS_MS[1]).to_string(),
        h24: over(minutes, now_ms, WINDOWS_MS[2]).to_string(),
    }
}

/// The bucket size for a chart of `hours` (at most ~300 points, whole minutes).
pub fn bucket_ms(hours: i64) -> i64 {
    let minutes = ((hours * 60 + 299) / 300).max(1);
    minutes * MINUTE_MS
}

/// A chart of the last `hours`, oldest first, one point per bucket (empty buckets are zero).
pub fn history(minutes: &BTreeMap<i64, U256>, now_ms: i64, hours: i64) -> Vec<HashratePoint> {
    let bucket = bucket_ms(hours);
    let end = minute_of(now_ms) - minute_of(now_ms).rem_euclid(bucket);
    let first = end - (hours * 60 * MINUTE_MS / bucket - 1).max(0) * bucket;
    let mut out = Vec::new();
    let mut t = first;
    while t <= end {
        let work =
            minutes.range(t..t + bucket).fold(U256::ZERO, |a, (_, w)| a.checked_add(*w).unwrap_or(U256::MAX));
        let elapsed = (now_ms - t).min(bucket);
        out.push(HashratePoint { t_ms: t, hashrate: per_second(work, elapsed).to_string() });
        t += bucket;
    }
    out
}

/// The first minute a chart of `hours` needs.
pub fn history_since(now_ms: i64, hours: i64) -> i64 {
    minute_of(now_ms) - hours * 60 * MINUTE_MS - bucket_ms(hours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from_u64(v)
    }

    #[test]
    fn averages_over_the_covered_minutes() {
        let now = 10 * MINUTE_MS + 30_000; // half a minute into minute 10
        let mut m = BTreeMap::new();
        m.insert(10 * MINUTE_MS, u(30_000)); // the current half minute
        m.insert(9 * MINUTE_MS, u(60_000));
        m.insert(0, u(1_000_000)); // outside the 10-minute window
        // 10 min window starts at minute 1: 9.5 min = 570 s; 90_000 / 570 = 157.
        assert_eq!(over(&m, now, 10 * MINUTE_MS), u(157));
        let w = windows(&m, now);
        assert_eq!(w.m10, "157");
    }

    #[test]
    fn history_has_one_point_per_bucket() {
        let now = 120 * MINUTE_MS;
        let mut m = BTreeMap::new();
        m.insert(119 * MINUTE_MS, u(6_000));
        let h = history(&m, now, 1);
        assert_eq!(h.len(), 60);
        assert_eq!(h.last().unwrap().t_ms, 120 * MINUTE_MS);
        assert_eq!(h[h.len() - 2].hashrate, "100");
        assert_eq!(bucket_ms(24), 5 * MINUTE_MS);
        assert_eq!(history(&m, now, 24).len(), 288);
    }
}
