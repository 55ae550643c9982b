//! Per-client-IP request limit on the API: a token bucket per IP (IPv6 per /64, which one
//! subscriber usually holds), `rate_limit_per_minute` sustained with a burst of the same size.
//!
//! Memory is capped: at most [`MAX_TRACKED`] buckets. When the table is full, buckets idle long
//! enough to have refilled are forgotten (they would allow a full burst anyway); if every bucket is
//! still busy, new addresses share one overflow bucket, so a flood of spoofed sources can neither
//! grow memory nor escape the limit.

use pool_core::policy::TokenBucket;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Buckets kept at most (≈ 100 bytes each).
pub const MAX_TRACKED: usize = 65_536;

struct Entry {
    bucket: TokenBucket,
    last_ms: u64,
}

/// The API's per-IP limiter.
pub struct RateLimiter {
    per_minute: u64,
    table: Mutex<Table>,
}

struct Table {
    buckets: HashMap<IpAddr, Entry>,
    overflow: TokenBucket,
    /// When the full table was last swept: at most once a [`SWEEP_EVERY_MS`], so a flood of new
    /// sources costs one scan per interval, not one per request.
    swept_ms: u64,
}

/// The full table is swept for idle buckets at most this often.
const SWEEP_EVERY_MS: u64 = 5_000;

/// The key an address is limited under (an IPv6 /64 is one client).
pub fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl RateLimiter {
    pub fn new(per_minute: u64) -> Self {
        let now = crate::clock::now_ms();
        RateLimiter {
            per_minute,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                overflow: TokenBucket::per_minute(per_minute, per_minute, now),
                swept_ms: 0,
            }),
        }
    }

    /// Takes one request from `ip`'s allowance; `Err(seconds)` to wait when over the limit.
    pub fn check(&self, ip: IpAddr, now_ms: u64) -> Result<(), u64> {
        let refill_ms = 60_000u64;
        let retry = (60 / self.per_minute.max(1)).max(1);
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(ip);
        if !t.buckets.contains_key(&k)
            && t.buckets.len() >= MAX_TRACKED
            && now_ms.saturating_sub(t.swept_ms) >= SWEEP_EVERY_MS
        {
            t.swept_ms = now_ms;
            t.buckets.retain(|_, e| now_ms.saturating_sub(e.last_ms) < refill_ms);
        }
        let allowed = if t.buckets.len() < MAX_TRACKED || t.buckets.contains_key(&k) {
            let per_minute = self.per_minute;
            let e = t.buckets.entry(k).or_insert_with(|| Entry {
                bucket: TokenBucket::per_minute(per_minute, per_minute, now_ms),
                last_ms: now_ms,
            });
            e.last_ms = now_ms;
            e.bucket.allow(now_ms)
        } else {
            t.overflow.allow(now_ms)
        };
        if allowed { Ok(()) } else { Err(retry) }
    }

    /// Buckets held now.
    pub fn tracked(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_refills() {
        let l = RateLimiter::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(a, 1_000).is_ok());
        }
        assert!(l.check(a, 1_000).is_err());
        assert!(l.check(b, 1_000).is_ok(), "another IP has its own bucket");
        assert!(l.check(a, 1_000 + 20_000).is_ok(), "one token back after 20 s at 3/min");
    }

    #[test]
    fn an_ipv6_subnet_is_one_client() {
        let l = RateLimiter::new(1);
        assert!(l.check("2001:db8::1".parse().unwrap(), 0).is_ok());
        assert!(l.check("2001:db8::2".parse().unwrap(), 0).is_err());
    }

    #[test]
    fn memory_stays_capped_under_a_flood_of_sources() {
        let l = RateLimiter::new(1);
        for i in 0..(MAX_TRACKED as u32 + 1000) {
            let _ = l.check(IpAddr::V4(std::net::Ipv4Addr::from(i)), 5);
        }
        assert_eq!(l.tracked(), MAX_TRACKED);
        // The newcomers share the overflow bucket (one request, then refused).
        let late = IpAddr::V4(std::net::Ipv4Addr::from(u32::MAX));
        assert!(l.check(late, 5).is_err());
        // A minute later idle buckets are forgotten and a newcomer gets its own.
        assert!(l.check(late, 70_000).is_ok());
        assert_eq!(l.tracked(), 1);
    }
}
