//! Named points where a test can make the broker die on purpose, to prove crash recovery at
//! an exact step of a protocol (a transaction's markers, for example) rather than wherever a
//! kill -9 happens to land. Off unless `STRATA_CRASH_POINT` names a point; the process then
//! aborts (as abruptly as SIGKILL: no flush, no clean-shutdown marker) the first time it gets
//! there.

use std::sync::OnceLock;

fn armed() -> Option<&'static str> {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    POINT
        .get_or_init(|| {
            std::env::var("STRATA_CRASH_POINT")
                .ok()
                .filter(|p| !p.is_empty())
        })
        .as_deref()
}

/// Aborts the process if `point` is the armed crash point.
pub fn hit(point: &str) {
    if armed() == Some(point) {
        eprintln!("crash point {point} reached: aborting");
        std::process::abort();
    }
}
