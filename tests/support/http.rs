//! Helpers for talking to the HTTP service the way an outside caller would: raw requests over a
//! TCP socket (for bodies and headers an HTTP client would not send), Standard Webhooks signing,
//! API tokens for staff, and row counts of every table a request could write.

use digimed_core::ClinicTx;
use std::time::Duration;

use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SigningKey};
use digimed_crypto::Secret;
use digimed_domain::Email;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::TestDb;

/// Every table an onboarding, a link, a match or a referral could write.
pub const WRITTEN_TABLES: &[&str] = &[
    "users",
    "patient_persons",
    "patients",
    "user_organizations",
    "communication_preference_tokens",
    "forms",
    "referrals",
    "consultations",
    "orders",
    "line_items",
    "outbox",
    "audit_log",
    "audit_pending",
];

/// Row counts of [`WRITTEN_TABLES`], named, so a failed comparison says which table changed.
pub async fn footprint(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in WRITTEN_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}")).fetch_one(&db.owner).await.unwrap();
        out.push((*t, n));
    }
    out
}

/// A staff member of `org` in `role` with a fresh API token (valid 30 days).
pub async fn staff_token(db: &TestDb, role: AppRole, org: i32, who: &str) -> (i32, Secret<String>) {
    let s = db.staff(role, org, who).await;
    let email = Email::parse(&s.login).unwrap();
    let created =
        ClinicTx::run(&db.owner, async |tx| digimed_core::api_tokens::create(tx, &email, Some(30)).await).await.unwrap();
    (created.id, created.token)
}

/// The three Standard Webhooks headers for `body`, signed with `secret` at `timestamp`.
pub fn webhook_headers(secret: &str, body: &[u8], timestamp: i64) -> [(&'static str, String); 3] {
    let key = SigningKey::from_secret(secret).unwrap();
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    // Signatures cover text; a body that is not UTF-8 is refused before its signature is read.
    let sig = webhook_signature::sign(&key, &id, timestamp, &String::from_utf8_lossy(body));
    [("webhook-id", id), ("webhook-timestamp", timestamp.to_string()), ("webhook-signature", sig)]
}

/// An answer read off the socket.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` (a complete HTTP/1.1 request, sent as is) to the service at `base`
/// (`http://host:port`) and reads the answer until the server closes the connection. The
/// request should carry `Connection: close`.
pub async fn raw_http(base: &str, request: &[u8]) -> RawAnswer {
    let addr = base.strip_prefix("http://").unwrap_or(base);
    let sock = tokio::net::TcpStream::connect(addr).await.expect("connect to the service");
    let (mut rd, mut wr) = sock.into_split();
    // Read while writing: the server may answer (e.g. 413) and close before it has read
    // everything, which is fine.
    let request = request.to_vec();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&request).await;
        wr
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut buf)).await;
    drop(writer.await);
    parse_answer(&buf)
}

fn parse_answer(buf: &[u8]) -> RawAnswer {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP answer: {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let mut body = buf[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawAnswer { status, headers, body }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[(eol + 4 + size).min(rest.len())..];
    }
    out
}

/// A request with the given method, path, headers and body, with `Content-Length` and
/// `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Like [`request`], but the body is sent in chunks of `chunk` bytes with no `Content-Length`,
/// so the server cannot know its size in advance.
pub fn chunked_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    for piece in body.chunks(chunk.max(1)) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// Asserts that `v` is the API's error shape (`docs/errors.md`) (`{"error": {"code", "message", "details"?}}`,
/// nothing else) and returns the code.
pub fn error_code(v: &serde_json::Value) -> String {
    let top = v.as_object().unwrap_or_else(|| panic!("an error body, got {v}"));
    assert_eq!(top.keys().collect::<Vec<_>>(), vec!["error"], "{v}");
    let e = v["error"].as_object().unwrap_or_else(|| panic!("an error object, got {v}"));
    assert!(e.keys().all(|k| ["code", "message", "details"].contains(&k.as_str())), "{v}");
    assert!(!e["message"].as_str().unwrap_or_default().is_empty(), "{v}");
    e["code"].as_str().unwrap_or_else(|| panic!("a code, got {v}")).to_string()
}
