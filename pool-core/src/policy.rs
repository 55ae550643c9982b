//! Abuse protection, as pure state machines (the server feeds them clock readings).
//!
//! * [`TokenBucket`]: a per-connection rate limit (on `mining.submit`, on `mining.authorize`), with
//!   an allowance for shares already in flight when vardiff raises the difficulty
//!   ([`TokenBucket::grant`]), so an honest fast miner never meets the limit.
//! * [`BanList`]: per-source share scores and bans. A source is an IPv4 address or an IPv6 /64 (one
//!   subscriber's prefix: a host can pick any address in it). A source whose **invalid** shares (low
//!   difficulty, duplicates, malformed, junk job ids) reach `invalid_percent` of its last `window`
//!   judged shares — a sliding window — is banned for `ban_ms`; bans expire. **Neutral** outcomes
//!   (stale shares, the pool's own troubles) never count: with 1-second blocks honest miners
//!   submit stale shares all the time. Memory is bounded: at the cap the least recently seen
//!   sources go first.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Token bucket: `burst` at once, a steady refill after that.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Millionths of a token.
    tokens_micro: u64,
    burst_micro: u64,
    refill_micro_per_ms: u64,
    /// Extra tokens granted beyond the burst (shares in flight after a retarget), spent first.
    allowance: u64,
    last_ms: u64,
}

impl TokenBucket {
    /// `burst` at once, `per_second` sustained.
    pub fn new(burst: u64, per_second: u64, now_ms: u64) -> Self {
        Self::with_refill(burst, per_second.saturating_mul(1000), now_ms)
    }

    /// `burst` at once, `per_minute` sustained.
    pub fn per_minute(burst: u64, per_minute: u64, now_ms: u64) -> Self {
        Self::with_refill(burst, per_minute.saturating_mul(1_000_000) / 60_000, now_ms)
    }

    fn with_refill(burst: u64, refill_micro_per_ms: u64, now_ms: u64) -> Self {
        let burst_micro = burst.saturating_mul(1_000_000);
        TokenBucket {
            tokens_micro: burst_micro,
            burst_micro,
            refill_micro_per_ms,
            allowance: 0,
            last_ms: now_ms,
        }
    }

    /// Takes one token; false when over the rate.
    pub fn allow(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms;
        self.tokens_micro = self
            .tokens_micro
            .saturating_add(elapsed.saturating_mul(self.refill_micro_per_ms))
            .min(self.burst_micro);
        if self.allowance > 0 {
            self.allowance -= 1;
            true
        } else if self.tokens_micro >= 1_000_000 {
            self.tokens_micro -= 1_000_000;
            true
        } else {
            false
        }
    }

    /// Allows `tokens` more at once (replacing any unspent allowance).
    pub fn grant(&mut self, tokens: u64) {
        self.allowance = tokens;
    }
}

/// The most shares allowed in flight after a retarget.
pub const MAX_IN_FLIGHT_ALLOWANCE: u64 = 20_000;

/// Tokens to grant when vardiff raises a connection's difficulty: the shares still in flight at
/// the old rate for up to two seconds of round trip (bounded; junk among them still counts toward
/// a ban, so the allowance is worth nothing to an attacker without real hashrate).
pub fn in_flight_allowance(old_shares_per_second: u64) -> u64 {
    old_shares_per_second.saturating_mul(2).min(MAX_IN_FLIGHT_ALLOWANCE)
}

/// How a judged share counts for bans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareOutcome {
    Valid,
    /// Low difficulty, duplicate, malformed, a job never issued.
    Invalid,
    /// Stale, or the pool's own circumstances: never counts.
    Neutral,
}

#[derive(Clone, Debug)]
pub struct BanConfig {
    /// Off: nothing is ever banned (benchmarks).
    pub enabled: bool,
    /// Judged shares per decision, at most 128.
    pub window: u32,
    pub invalid_percent: u32,
    pub ban_ms: u64,
    /// Sources with a score, and bans, kept at most.
    pub max_tracked: usize,
}

impl Default for BanConfig {
    fn default() -> Self {
        BanConfig {
            enabled: true,
            window: 50,
            invalid_percent: 50,
            ban_ms: 10 * 60 * 1000,
            max_tracked: 65_536,
        }
    }
}

/// The unit a ban applies to: the IPv4 address, or the IPv6 /64 (an IPv4-mapped IPv6 address is
/// its IPv4 address).
pub fn ban_source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// The last judged shares of one source: bit i of `bits` is the i-th most recent (1 = invalid).
#[derive(Clone, Copy, Debug, Default)]
struct Score {
    bits: u128,
    seen: u32,
    stamp: u64,
}

/// Per-source scores and bans.
#[derive(Debug)]
pub struct BanList {
    config: BanConfig,
    scores: HashMap<IpAddr, Score>,
    /// Scores by last use, oldest first (for eviction at the cap).
    by_age: BTreeMap<u64, IpAddr>,
    next_stamp: u64,
    bans: HashMap<IpAddr, u64>,
}

impl BanList {
    pub fn new(config: BanConfig) -> Self {
        let config = BanConfig { window: config.window.clamp(1, 128), ..config };
        BanList {
            config,
            scores: HashMap::new(),
            by_age: BTreeMap::new(),
            next_stamp: 0,
            bans: HashMap::new(),
        }
    }

    /// Whether `ip`'s source is banned now (an expired ban is forgotten).
    pub fn is_banned(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        let src = ban_source(ip);
        match self.bans.get(&src) {
            Some(&until) if until > now_ms => true,
            Some(_) => {
                self.bans.remove(&src);
                false
            }
            None => false,
        }
    }

    /// Records a judged share; returns true if this share got the source banned.
    pub fn record(&mut self, ip: IpAddr, outcome: ShareOutcome, now_ms: u64) -> bool {
        let invalid = match outcome {
            ShareOutcome::Valid => false,
            ShareOutcome::Invalid => true,
            ShareOutcome::Neutral => return false,
        };
        if !self.config.enabled {
            return false;
        }
        let src = ban_source(ip);
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        let mut score = match self.scores.remove(&src) {
            Some(s) => {
                self.by_age.remove(&s.stamp);
                s
            }
            None => {
                while self.scores.len() >= self.config.max_tracked.max(1) {
                    let Some((_, oldest)) = self.by_age.pop_first() else { break };
                    self.scores.remove(&oldest);
                }
                Score::default()
            }
        };
        score.bits = (score.bits << 1) | u128::from(invalid);
        score.seen = score.seen.saturating_add(1);
        score.stamp = stamp;
        let window = self.config.window;
        if score.seen >= window {
            let mask = if window == 128 { u128::MAX } else { (1u128 << window) - 1 };
            let bad = (score.bits & mask).count_ones();
            if bad * 100 >= self.config.invalid_percent * window {
                self.ban(ip, now_ms);
                return true;
            }
        }
        self.scores.insert(src, score);
        self.by_age.insert(stamp, src);
        false
    }

    /// Bans `ip`'s source outright (e.g. a flood of malformed lines); its score starts afresh.
    pub fn ban(&mut self, ip: IpAddr, now_ms: u64) {
        let src = ban_source(ip);
        if let Some(s) = self.scores.remove(&src) {
            self.by_age.remove(&s.stamp);
        }
        if self.bans.len() >= self.config.max_tracked.max(1) {
            self.bans.retain(|_, until| *until > now_ms);
            // Still full of live bans: the one that ends soonest goes.
            if self.bans.len() >= self.config.max_tracked.max(1)
                && let Some(first) = self.bans.iter().min_by_key(|(_, u)| **u).map(|(k, _)| *k)
            {
                self.bans.remove(&first);
            }
        }
        // Never shortens a ban already running (an operator's day-long ban outlives junk lines).
        let until = now_ms + self.config.ban_ms;
        let until = self.bans.get(&src).map_or(until, |&u| u.max(until));
        self.bans.insert(src, until);
    }

    /// Bans `ip`'s source until `until_ms` (the admin's ban, with its own duration; an existing
    /// longer ban is kept).
    pub fn ban_until(&mut self, ip: IpAddr, until_ms: u64) {
        let src = ban_source(ip);
        let until = self.bans.get(&src).map_or(until_ms, |&u| u.max(until_ms));
        self.bans.insert(src, until);
    }

    /// The live bans (source, until), soonest-ending first.
    pub fn live_bans(&self, now_ms: u64) -> Vec<(IpAddr, u64)> {
        let mut v: Vec<(IpAddr, u64)> =
            self.bans.iter().filter(|(_, u)| **u > now_ms).map(|(k, u)| (*k, *u)).collect();
        v.sort_by_key(|(ip, u)| (*u, *ip));
        v
    }

    /// Lifts a ban (the admin's unban).
    pub fn unban(&mut self, ip: IpAddr) -> bool {
        self.bans.remove(&ban_source(ip)).is_some()
    }

    pub fn banned_count(&self) -> usize {
        self.bans.len()
    }

    pub fn tracked_count(&self) -> usize {
        self.scores.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(window: u32, max_tracked: usize) -> BanConfig {
        BanConfig { enabled: true, window, invalid_percent: 50, ban_ms: 1000, max_tracked }
    }

    #[test]
    fn bucket_allows_a_burst_then_the_sustained_rate_and_honours_a_grant() {
        let mut l = TokenBucket::new(5, 2, 0);
        assert_eq!((0..10).filter(|_| l.allow(0)).count(), 5);
        assert!(!l.allow(100));
        assert!(l.allow(500), "one token per 500 ms at 2/s");
        assert!(!l.allow(600));
        assert_eq!((0..10).filter(|_| l.allow(60_000)).count(), 5, "refill caps at the burst");
        l.grant(30);
        assert_eq!((0..100).filter(|_| l.allow(60_000)).count(), 30, "the grant on top of an empty bucket");
        assert_eq!(in_flight_allowance(5), 10);
        let mut a = TokenBucket::per_minute(2, 6, 0);
        assert!(a.allow(0) && a.allow(0) && !a.allow(0));
        assert!(!a.allow(9_999), "six a minute: one every 10 s");
        assert!(a.allow(10_000) && !a.allow(10_001));
        assert_eq!(in_flight_allowance(1 << 40), MAX_IN_FLIGHT_ALLOWANCE);
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut b = BanList::new(cfg(10, 100));
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
    fn the_window_slides() {
        // Blocks of 10 would miss this: 4 bad at the end of one block, 4 at the start of the next.
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let mut b = BanList::new(cfg(10, 100));
        let pattern = "VVVVVVIIII".to_owned() + "IVVVVV";
        let mut banned_at = None;
        for (i, c) in pattern.chars().enumerate() {
            let o = if c == 'I' { ShareOutcome::Invalid } else { ShareOutcome::Valid };
            if b.record(ip, o, 0) {
                banned_at = Some(i);
                break;
            }
        }
        assert_eq!(banned_at, Some(10), "5 of the last 10 invalid at the 11th share");
    }

    #[test]
    fn neutral_outcomes_never_count_and_honest_miners_are_not_banned() {
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let mut b = BanList::new(cfg(10, 100));
        for _ in 0..1000 {
            assert!(!b.record(ip, ShareOutcome::Neutral, 0));
        }
        for i in 0..1000 {
            // 1 invalid in 5 (an honest miner's duplicates and races would be far fewer).
            let o = if i % 5 == 0 { ShareOutcome::Invalid } else { ShareOutcome::Valid };
            assert!(!b.record(ip, o, 0));
        }
        assert!(!b.is_banned(ip, 0));
    }

    #[test]
    fn ipv6_is_banned_by_64_and_mapped_ipv4_as_ipv4() {
        let mut b = BanList::new(cfg(10, 100));
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::99".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        // Invalid shares spread over two addresses of one /64 add up.
        for i in 0..10 {
            b.record(if i % 2 == 0 { a } else { same_64 }, ShareOutcome::Invalid, 0);
        }
        assert!(b.is_banned(a, 1) && b.is_banned(same_64, 1));
        assert!(!b.is_banned(other_64, 1));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        b.ban(v4, 0);
        assert!(b.is_banned("::ffff:192.0.2.7".parse().unwrap(), 1));
        assert!(b.unban(v4) && !b.is_banned(v4, 1));
    }

    #[test]
    fn at_the_cap_the_least_recently_seen_go_first() {
        let mut b = BanList::new(cfg(10, 100));
        let ip = |i: u32| IpAddr::from(i.to_be_bytes());
        // Source 0 builds 9 invalid shares, then 200 others pass through while 0 stays active.
        for _ in 0..9 {
            b.record(ip(0), ShareOutcome::Invalid, 0);
        }
        for i in 1..=200 {
            b.record(ip(i), ShareOutcome::Valid, 0);
            if i % 50 == 0 {
                b.record(ip(0), ShareOutcome::Neutral, 0); // neutral: does not refresh
            }
        }
        assert_eq!(b.tracked_count(), 100, "one at a time, not all at once");
        assert!(!b.record(ip(0), ShareOutcome::Invalid, 0), "source 0, the least recently seen, was evicted");
        // An active source keeps its score while many newcomers come and go.
        let mut b = BanList::new(cfg(10, 100));
        for k in 0..9u32 {
            assert!(!b.record(ip(0), ShareOutcome::Invalid, 0));
            for j in 0..50 {
                b.record(ip(1000 + k * 50 + j), ShareOutcome::Valid, 0);
            }
        }
        assert_eq!(b.tracked_count(), 100);
        assert!(
            b.record(ip(0), ShareOutcome::Invalid, 0),
            "banned on its 10th invalid share: its score survived 450 newcomers"
        );
    }

    #[test]
    fn a_junk_submitter_is_banned_until_expiry_and_memory_stays_bounded() {
        let ip: IpAddr = "10.0.0.3".parse().unwrap();
        let mut b = BanList::new(cfg(10, 1000));
        let banned_at = (0..10).position(|_| b.record(ip, ShareOutcome::Invalid, 5)).unwrap();
        assert_eq!(banned_at, 9);
        assert!(b.is_banned(ip, 1004));
        assert!(!b.is_banned(ip, 1005), "expired");
        assert_eq!(b.banned_count(), 0);
        for i in 0..5000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            b.record(ip, ShareOutcome::Valid, 0);
            b.ban(ip, 0);
        }
        assert!(b.tracked_count() <= 1000 && b.banned_count() <= 1000);
        let disabled = BanConfig { enabled: false, ..cfg(10, 10) };
        let mut off = BanList::new(disabled);
        assert!((0..100).all(|_| !off.record(ip, ShareOutcome::Invalid, 0)));
    }

    #[test]
    fn an_operator_ban_is_listed_until_it_ends_and_lifted_by_unban() {
        let mut b = BanList::new(cfg(10, 1000));
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        b.ban_until(ip, 5_000);
        b.ban_until(ip, 4_000);
        assert_eq!(b.live_bans(0), vec![(ban_source(ip), 5_000)], "the longer ban is kept, by /64");
        assert!(b.is_banned("2001:db8::2".parse().unwrap(), 4_999));
        assert!(b.live_bans(5_000).is_empty());
        assert!(b.unban(ip) && !b.is_banned(ip, 0));
    }

    #[test]
    fn an_automatic_ban_never_shortens_an_operator_ban() {
        let mut b = BanList::new(cfg(10, 1000));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        b.ban_until(ip, 1_000_000);
        b.ban(ip, 10); // junk from a connection still open: the short automatic ban
        assert_eq!(b.live_bans(0), vec![(ip, 1_000_000)]);
        b.unban(ip);
        b.ban(ip, 10);
        assert_eq!(b.live_bans(0), vec![(ip, 1_010)], "alone, it lasts its own ban_ms");
    }
}
