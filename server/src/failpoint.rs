//! Crash points for tests: `TOS_POOL_FAILPOINT=<name>` makes the process abort (as `kill -9` would:
//! no destructors, no flush) the moment it reaches the named point. Unset, a failpoint costs one
//! cached environment lookup.

use std::sync::OnceLock;

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED.get_or_init(|| std::env::var("TOS_POOL_FAILPOINT").ok().filter(|s| !s.is_empty())).as_deref()
}

/// Aborts the process if `name` is the armed failpoint.
pub fn hit(name: &str) {
    if armed() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
