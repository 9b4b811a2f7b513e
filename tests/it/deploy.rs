//! The service's installation files in `deploy/`: the systemd unit passes `systemd-analyze
//! verify` and keeps its hardening, and `deploy/serve.env.example` documents every environment
//! variable `digimed serve` reads, and no other. The variables are read from the code itself (the
//! crates `digimed serve` is built from), so a new setting that is not documented fails here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The source folders of the crates `digimed serve` is built from.
const SERVE_SOURCES: &[&str] =
    &["crates/cli/src", "crates/service/src", "crates/core/src", "crates/crypto/src", "crates/clerk/src", "crates/domain/src"];

/// The names of the functions and closures the code reads the environment with
/// (`std::env::var`, `var_os`, tracing's `EnvFilter::try_from_env`, and the local closures and
/// helpers called `var`, `env` and `get` that wrap `std::env::var`).
const READERS: &[&str] = &["var", "var_os", "env", "get", "try_from_env", "from_env"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_variable_name(s: &str) -> bool {
    s.len() >= 3
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// What follows `reader(` in `text` at `at`: a string literal or a constant's name, alone.
fn argument(text: &str, at: usize) -> Option<(bool, &str)> {
    let rest = text[at..].trim_start();
    if let Some(lit) = rest.strip_prefix('"') {
        let end = lit.find('"')?;
        lit[end + 1..].trim_start().starts_with(')').then_some((true, &lit[..end]))
    } else {
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        rest[end..].trim_start().starts_with(')').then_some((false, &rest[..end]))
    }
}

/// Every environment variable the sources of `digimed serve` read: `reader("NAME")`, or
/// `reader(CONSTANT)` with `const CONSTANT: &str = "NAME"`.
fn variables_read() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    for dir in SERVE_SOURCES {
        rust_files(&repo().join(dir), &mut files);
    }
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect();
    let mut constants = BTreeMap::new();
    for (_, text) in &texts {
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            if let Some(rest) = line.strip_prefix("const ") {
                if let Some((name, value)) = rest.split_once(": &str = \"") {
                    if let Some(value) = value.strip_suffix("\";") {
                        constants.insert(name.trim().to_string(), value.to_string());
                    }
                }
            }
        }
    }
    let mut found = BTreeMap::new();
    for (path, text) in &texts {
        for reader in READERS {
            let call = format!("{reader}(");
            for (at, _) in text.match_indices(&call) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let name = match argument(text, at + call.len()) {
                    Some((true, literal)) => literal.to_string(),
                    Some((false, constant)) => match constants.get(constant) {
                        Some(value) => value.clone(),
                        None => continue,
                    },
                    None => continue,
                };
                if is_variable_name(&name) {
                    let file = path.strip_prefix(repo()).unwrap_or(path).display().to_string();
                    found.entry(name).or_insert(file);
                }
            }
        }
    }
    found
}

/// The variables `deploy/serve.env.example` documents: `NAME=...` lines, set or commented out
/// (`# NAME=...`), each with a comment line of its own above it.
fn variables_documented() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo().join("deploy/serve.env.example")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let assignment = line.trim_start_matches("# ").trim_start_matches('#');
        let Some((name, value)) = assignment.split_once('=') else { continue };
        if !is_variable_name(name) || name.contains(' ') {
            continue;
        }
        let comment = i.checked_sub(1).map(|j| lines[j]).unwrap_or("");
        assert!(
            comment.starts_with("# ") && !comment.contains('='),
            "deploy/serve.env.example: {name} needs a comment line of its own above it"
        );
        assert!(out.insert(name.to_string(), value.to_string()).is_none(), "deploy/serve.env.example names {name} twice");
    }
    out
}

#[test]
fn the_example_environment_file_documents_every_variable_the_service_reads() {
    let read = variables_read();
    // The reading is found wherever it is written: directly, through a closure, by a constant.
    for known in ["DATABASE_URL", "DIGIMED_KEY_FILE", "PGSSLMODE", "DIGIMED_PUBLIC_URL", "DIGIMED_JITSI_DOMAIN", "DIGIMED_LOG"] {
        assert!(read.contains_key(known), "the scan of the sources misses {known}: {read:?}");
    }
    let documented = variables_documented();
    let missing: Vec<String> = read
        .iter()
        .filter(|(name, _)| !documented.contains_key(*name))
        .map(|(name, file)| format!("{name} (read in {file})"))
        .collect();
    assert!(missing.is_empty(), "deploy/serve.env.example does not document: {}", missing.join(", "));
    // Only what the unit itself passes on (DIGIMED_LISTEN, to `--listen`) may be documented
    // without the code reading it.
    let unit = std::fs::read_to_string(repo().join("deploy/digimed-serve.service")).unwrap();
    let stale: Vec<&String> =
        documented.keys().filter(|name| !read.contains_key(*name) && !unit.contains(&format!("${{{name}}}"))).collect();
    assert!(stale.is_empty(), "deploy/serve.env.example documents variables nothing reads: {stale:?}");
    // No secret in the example: every variable holding one is left empty.
    for (name, value) in &documented {
        if ["SECRET", "TOKEN", "PASSWORD", "_KEY"].iter().any(|s| name.contains(s)) && name != "DIGIMED_KEY_FILE" {
            assert!(value.trim().is_empty(), "deploy/serve.env.example gives {name} a value; leave secrets empty");
        }
    }
}

/// The unit's `[Service]` settings, in order (a key may repeat).
fn service_settings(unit: &str) -> Vec<(String, String)> {
    let mut section = "";
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("not a setting: {line}"));
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

#[test]
fn the_service_unit_is_valid_and_hardened() {
    let path = repo().join("deploy/digimed-serve.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    let settings = service_settings(&unit);
    let get = |key: &str| settings.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    for (key, value) in [
        ("User", "digimed"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("SystemCallFilter", "@system-service"),
        ("EnvironmentFile", "/etc/digimed/serve.env"),
        ("LoadCredential", "data-keys.json:/etc/digimed/data-keys.json"),
        ("Environment", "DIGIMED_KEY_FILE=%d/data-keys.json"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGINT"),
    ] {
        assert!(get(key).contains(&value), "{key}={value} is missing from the unit (it has {:?})", get(key));
    }
    assert!(get("ExecStart").iter().any(|e| e.starts_with("/usr/bin/digimed serve ")), "ExecStart runs digimed serve");

    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here: the unit was checked by parsing only");
        return;
    };
    assert!(version.status.success());
    // `verify` checks that the command exists: the copy runs this build's `digimed`, or any
    // program when it is not built.
    let dir = std::env::temp_dir().join(format!("digimed-unit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("digimed-serve.service");
    let program = std::env::var("CARGO_TARGET_DIR")
        .map(|t| PathBuf::from(t).join("debug/digimed"))
        .ok()
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/bin/true"));
    std::fs::write(&copy, unit.replace("/usr/bin/digimed", &program.display().to_string())).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&copy).output().unwrap();
    let complaints = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && complaints.trim().is_empty(), "systemd-analyze verify: {complaints}");
    // The exposure systemd itself computes from the hardening: "OK" is below 2.0 of 10.
    let out = Command::new("systemd-analyze").args(["security", "--offline=true", "--no-pager"]).arg(&copy).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let level: f32 = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for ").and_then(|(_, r)| r.split_once(": ")))
        .and_then(|(_, r)| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(level < 2.0, "the unit's exposure level is {level}: {report}");
    let _ = std::fs::remove_dir_all(&dir);
}
