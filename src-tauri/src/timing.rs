//! Timings of what the console waits on during start-up and sign-in (database, keyring), logged
//! at debug level under the target `digimed_console::timing`:
//! `RUST_LOG=info,digimed_console::timing=debug digimed-console`.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Notes when the process started running `main` (the first call wins).
pub fn started() {
    STARTED.get_or_init(Instant::now);
}

fn since_start_ms() -> u128 {
    STARTED.get_or_init(Instant::now).elapsed().as_millis()
}

/// Logs a point of start-up with the milliseconds since `main` began.
pub fn mark(what: &'static str) {
    tracing::debug!(target: "digimed_console::timing", at_ms = since_start_ms() as u64, "{what}");
}

/// Runs `fut` and logs how long it took (and when it ended, since `main` began).
pub async fn timed<T>(what: &'static str, fut: impl Future<Output = T>) -> T {
    if !tracing::enabled!(target: "digimed_console::timing", tracing::Level::DEBUG) {
        return fut.await;
    }
    let t0 = Instant::now();
    let out = fut.await;
    tracing::debug!(
        target: "digimed_console::timing",
        took_ms = t0.elapsed().as_secs_f64() * 1000.0,
        at_ms = since_start_ms() as u64,
        "{what}"
    );
    out
}
