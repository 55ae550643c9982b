//! Logging what attackers control, without letting them write the log.
//!
//! * [`clip`]: attacker-supplied text in a log line is cut to a few dozen characters and escaped.
//! * [`EventSummary`]: repeated events (refused connections over the per-IP cap, rejected shares,
//!   bad logins, bans) are counted and written as one summary line per interval, not a line each.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Longest attacker-supplied text written to a log line.
pub const CLIP: usize = 48;

/// `text` as a safe log value: at most [`CLIP`] characters, control characters escaped, a mark
/// when cut.
pub fn clip(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == CLIP {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

#[derive(Default)]
struct Kind {
    count: u64,
    sample: String,
}

/// Counts of repeated events, logged together every interval.
#[derive(Default)]
pub struct EventSummary {
    kinds: Mutex<BTreeMap<&'static str, Kind>>,
}

impl EventSummary {
    /// Counts one `event`; the first sample of each interval is kept (clipped) for the summary.
    pub fn note(&self, event: &'static str, sample: impl FnOnce() -> String) {
        let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        let k = kinds.entry(event).or_default();
        if k.count == 0 {
            k.sample = clip(&sample());
        }
        k.count += 1;
    }

    /// Takes the counts so far.
    pub fn take(&self) -> Vec<(&'static str, u64, String)> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *kinds).into_iter().map(|(e, k)| (e, k.count, k.sample)).collect()
    }

    /// Writes one line per event kind seen since the last call.
    pub fn flush(&self, over: Duration) {
        for (event, count, sample) in self.take() {
            tracing::warn!(event, count, example = %sample, "{count} × {event} in the last {} s", over.as_secs());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_and_escapes() {
        assert_eq!(clip("rig1"), "rig1");
        let long = "x".repeat(1000);
        assert_eq!(clip(&long).chars().count(), CLIP + 1);
        assert_eq!(clip("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn summary_counts_and_keeps_the_first_sample() {
        let s = EventSummary::default();
        for i in 0..1000 {
            s.note("bad_login", || format!("attempt {i}"));
        }
        s.note("over_cap", || "203.0.113.7".into());
        let got = s.take();
        assert_eq!(got, vec![("bad_login", 1000, "attempt 0".into()), ("over_cap", 1, "203.0.113.7".into())]);
        assert!(s.take().is_empty());
    }
}
