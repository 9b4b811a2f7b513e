//! Running the `digimed` binary in the CLI's tests: a clean environment, standard input, and
//! database URLs for a test's own database (as the owner, or signed in as a staff member).

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use digimed_tests::{Staff, TestDb};

/// Runs `digimed` with only the given environment of its own (no DATABASE_URL, key file, Clerk
/// key or meeting service inherited from the caller) and `stdin` on its standard input.
pub fn digimed_with_input(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_digimed"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DIGIMED_KEY_FILE")
        .env_remove("DIGIMED_CLINICAL_KEY_FILE")
        .env_remove("CLERK_SECRET_KEY")
        .env_remove("DIGIMED_JITSI_DOMAIN")
        .env_remove("DIGIMED_JITSI_APP_ID")
        .env_remove("DIGIMED_JITSI_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run digimed");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The test database's URL, as the owner.
pub fn db_url(db: &TestDb) -> String {
    let url = digimed_tests::server_url();
    match url.split_once('?') {
        Some((base, q)) => format!("{}/{}?{q}", base.rsplit_once('/').unwrap().0, db.name),
        None => format!("{}/{}", url.rsplit_once('/').unwrap().0, db.name),
    }
}

/// The test database's URL, signed in as a staff member with their own login and password.
pub fn staff_url(db: &TestDb, staff: &Staff) -> String {
    let url = db_url(db);
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let encode = |s: &str| s.replace('%', "%25").replace('@', "%40").replace(':', "%3A").replace('/', "%2F");
    format!("{scheme}://{}:{}@{host}", encode(&staff.login), encode(staff.password.expose()))
}

/// The one line a failed command writes on standard error.
pub fn one_error_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}
