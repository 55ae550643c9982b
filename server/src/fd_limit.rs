//! Open-file limit: every connection is a descriptor. The soft limit is raised to the hard limit at
//! start, with a warning when even that is low for a pool.

/// Connections below which the descriptor limit is worth a warning.
const WARN_BELOW: u64 = 10_000;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns (soft, hard) after.
pub fn raise() -> Option<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        let (soft, hard) = (lim.rlim_cur, lim.rlim_max);
        if soft < WARN_BELOW {
            tracing::warn!(
                soft,
                hard,
                "the open-file limit allows only about {soft} connections: raise it (ulimit -Hn, LimitNOFILE= in the systemd unit)"
            );
        } else {
            tracing::info!(open_files = soft, "open-file limit");
        }
        Some((soft, hard))
    }
}
