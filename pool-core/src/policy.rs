//! Abuse protection, as pure state machines (the server feeds them clock readings).
//!
//! * [`SubmitLimiter`]: a per-connection token bucket on `mining.submit`.
//! * [`BanList`]: per-IP share scores and bans. An IP whose **invalid** shares (low difficulty,
//!   duplicates, malformed) reach `invalid_percent` of its last `window` judged shares is banned for
//!   `ban_ms`; bans expire. **Stale shares never count**: with 1-second blocks honest miners
//!   submit them all the time.

use std::collections::HashMap;
use std::net::IpAddr;

/// Token bucket: `burst` submits at once, `per_second` sustained.
#[derive(Clone, Debug)]
pub struct SubmitLimiter {
    tokens_milli: u64,
    burst: u64,
    per_second: u64,
    last_ms: u64,
}

impl SubmitLimiter {
    pub fn new(burst: u64, per_second: u64, now_ms: u64) -> Self {
        SubmitLimiter { tokens_milli: burst * 1000, burst, per_second, last_ms: now_ms }
    }

    /// Takes one token; false when the connection is over its rate.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms;
        self.tokens_milli = (self.tokens_milli + elapsed * self.per_second).min(self.burst * 1000);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

/// How a judged share counts for bans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareOutcome {
    Valid,
    /// Low difficulty, duplicate, malformed.
    Invalid,
    /// Stale (job replaced): never counts.
    Stale,
}

#[derive(Clone, Debug)]
pub struct BanConfig {
    pub window: u32,
    pub invalid_percent: u32,
    pub ban_ms: u64,
}

impl Default for BanConfig {
    fn default() -> Self {
        BanConfig { window: 50, invalid_percent: 50, ban_ms: 10 * 60 * 1000 }
    }
}

/// IPs with a partial score kept at most; beyond it the partial scores are dropped (harmless: a
/// ban needs a full window) so a pool that sees millions of addresses does not grow without bound.
const MAX_TRACKED: usize = 65_536;

#[derive(Default, Clone, Debug)]
struct Score {
    valid: u32,
    invalid: u32,
}

/// Per-IP scores and bans.
#[derive(Default, Debug)]
pub struct BanList {
    config: BanConfig,
    scores: HashMap<IpAddr, Score>,
    bans: HashMap<IpAddr, u64>,
}

impl BanList {
    pub fn new(config: BanConfig) -> Self {
        BanList { config, scores: HashMap::new(), bans: HashMap::new() }
    }

    /// Whether `ip` is banned now (expired bans are forgotten).
    pub fn is_banned(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        match self.bans.get(&ip) {
            Some(&until) if until > now_ms => true,
            Some(_) => {
                self.bans.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Records a judged share; returns true if this share got `ip` banned.
    pub fn record(&mut self, ip: IpAddr, outcome: ShareOutcome, now_ms: u64) -> bool {
        if self.scores.len() >= MAX_TRACKED && !self.scores.contains_key(&ip) {
            self.scores.clear();
        }
        if self.bans.len() >= MAX_TRACKED {
            self.bans.retain(|_, until| *until > now_ms);
        }
        let s = self.scores.entry(ip).or_default();
        match outcome {
            ShareOutcome::Valid => s.valid += 1,
            ShareOutcome::Invalid => s.invalid += 1,
            ShareOutcome::Stale => return false,
        }
        if s.valid + s.invalid < self.config.window {
            return false;
        }
        let bad = s.invalid * 100 >= self.config.invalid_percent * (s.valid + s.invalid);
        self.scores.remove(&ip);
        if bad {
            self.bans.insert(ip, now_ms + self.config.ban_ms);
        }
        bad
    }

    /// Bans `ip` outright (e.g. a flood of malformed lines).
    pub fn ban(&mut self, ip: IpAddr, now_ms: u64) {
        self.bans.insert(ip, now_ms + self.config.ban_ms);
    }

    pub fn banned_count(&self) -> usize {
        self.bans.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_burst_then_the_sustained_rate() {
        let mut l = SubmitLimiter::new(5, 2, 0);
        assert_eq!((0..10).filter(|_| l.allow(0)).count(), 5);
        assert!(!l.allow(100));
        assert!(l.allow(500), "one token per 500 ms at 2/s");
        assert!(!l.allow(600));
        assert_eq!((0..10).filter(|_| l.allow(60_000)).count(), 5, "refill caps at the burst");
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut b = BanList::new(BanConfig { window: 10, invalid_percent: 50, ban_ms: 1000 });
        // 5 invalid of 10 reaches 50 %: banned on the 10th share.
        for i in 0..9 {
            assert!(!b.record(ip, if i % 2 == 0 { ShareOutcome::Invalid } else { ShareOutcome::Valid }, 0));
        }
        assert!(b.record(ip, ShareOutcome::Valid, 0));
        assert!(b.is_banned(ip, 10));
        // 4 invalid of 10 does not.
        let ip2: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..10 {
            assert!(!b.record(ip2, if i < 4 { ShareOutcome::Invalid } else { ShareOutcome::Valid }, 0));
        }
        assert!(!b.is_banned(ip2, 10));
    }

    #[test]
    fn stale_shares_never_count_and_honest_miners_are_not_banned() {
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let mut b = BanList::new(BanConfig { window: 10, invalid_percent: 50, ban_ms: 1000 });
        for _ in 0..1000 {
            assert!(!b.record(ip, ShareOutcome::Stale, 0));
        }
        for _ in 0..100 {
            b.record(ip, ShareOutcome::Valid, 0);
        }
        assert!(!b.is_banned(ip, 0));
    }

    #[test]
    fn memory_stays_bounded_with_many_addresses() {
        let mut b = BanList::new(BanConfig { window: 10, invalid_percent: 50, ban_ms: 1000 });
        for i in 0..(3 * MAX_TRACKED as u32) {
            let ip = IpAddr::from(i.to_be_bytes());
            b.record(ip, ShareOutcome::Valid, 0);
            b.ban(ip, 0);
            b.record(ip, ShareOutcome::Valid, 2_000); // after the bans expired
        }
        assert!(b.scores.len() <= MAX_TRACKED);
        assert!(b.bans.len() <= MAX_TRACKED + 1);
    }

    #[test]
    fn a_junk_submitter_is_banned_until_expiry() {
        let ip: IpAddr = "10.0.0.3".parse().unwrap();
        let mut b = BanList::new(BanConfig { window: 10, invalid_percent: 50, ban_ms: 1000 });
        let banned_at = (0..10).position(|_| b.record(ip, ShareOutcome::Invalid, 5)).unwrap();
        assert_eq!(banned_at, 9);
        assert!(b.is_banned(ip, 1004));
        assert!(!b.is_banned(ip, 1005), "expired");
        assert_eq!(b.banned_count(), 0);
        let other: IpAddr = "10.0.0.4".parse().unwrap();
        b.ban(other, 0);
        assert!(b.is_banned(other, 999));
    }
}
