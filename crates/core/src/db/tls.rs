//! How the clinic's database is reached: encrypted, and with the server's identity checked,
//! whenever it is not on this computer. Every face (the console's sign-in, the `digimed` tool,
//! `digimed serve`) builds its connection options here, so the rule is decided in one place
//! (`docs/operations.md`, "Connecting to the clinic's database securely").
//!
//! The rule, for a server that is not local (not a Unix socket, not `localhost`, not a loopback
//! address):
//!
//! | `sslmode` in the address | `PGSSLMODE` | connection |
//! |---|---|---|
//! | absent | absent or `prefer` | `verify-full` |
//! | `prefer` | any | `verify-full` |
//! | absent | `verify-full`, `verify-ca` | as `PGSSLMODE` says |
//! | absent | `require`, `allow`, `disable` | refused: a lower mode must be written in the address |
//! | `verify-full`, `verify-ca` | any | as written |
//! | `require` | any | `verify-ca` with `sslrootcert`; without one, encrypted but unverified (the explicit opt-in) |
//! | `allow`, `disable` | any | refused: never unencrypted to another computer |
//!
//! A local server gets what was asked (`prefer` when nothing was), and `require` with an
//! `sslrootcert` means `verify-ca` everywhere, as it does for libpq.

use std::net::IpAddr;
use std::path::PathBuf;

use rustls::pki_types::{pem::PemObject, CertificateDer};
use rustls::CertificateError;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::error::{Error, ErrorCode, Result};

/// What an address says about TLS, read from its query before sqlx parses it (sqlx keeps no record
/// of whether a mode was written or came from the environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsRequest {
    /// `sslmode` (or `ssl-mode`) as written in the address.
    pub written: Option<SslMode>,
    /// `PGSSLMODE` from the environment.
    pub ambient: Option<SslMode>,
    /// `sslrootcert` (or `ssl-root-cert`, `ssl-ca`) in the address, else `PGSSLROOTCERT`.
    pub root_cert: Option<PathBuf>,
}

/// Where `sslmode` (or `PGSSLMODE`) came from, for the sentence that refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeSource {
    Address,
    Environment,
}

/// A connection the rule refuses before any byte is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `disable` or `allow` (or an unverified `require` from `PGSSLMODE`) for a remote server.
    Unprotected { host: String, mode: SslMode, source: ModeSource },
}

/// PostgreSQL's `sslmode`, as libpq names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const ALL: [SslMode; 6] =
        [SslMode::Disable, SslMode::Allow, SslMode::Prefer, SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull];

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn to_sqlx(self) -> PgSslMode {
        match self {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        }
    }
}

fn parse_mode(value: &str, field: &str, what: &str) -> Result<SslMode> {
    let value = value.trim();
    SslMode::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(value)).ok_or_else(|| {
        Error::field(
            ErrorCode::Configuration,
            field,
            format!("{what} must be one of disable, allow, prefer, require, verify-ca, verify-full."),
        )
    })
}

impl TlsRequest {
    /// Reads `sslmode` and `sslrootcert` from `address` and `PGSSLMODE`/`PGSSLROOTCERT` from the
    /// environment. An unknown mode is refused naming `field`.
    pub fn read(address: &str, field: &str) -> Result<TlsRequest> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self::from_parts(address, env("PGSSLMODE").as_deref(), env("PGSSLROOTCERT").as_deref(), field)
    }

    /// As [`TlsRequest::read`], with the environment's values given.
    pub fn from_parts(address: &str, pgsslmode: Option<&str>, pgsslrootcert: Option<&str>, field: &str) -> Result<TlsRequest> {
        let mut request = TlsRequest {
            written: None,
            ambient: pgsslmode.map(|m| parse_mode(m, field, "PGSSLMODE")).transpose()?,
            root_cert: pgsslrootcert.map(PathBuf::from),
        };
        // An address that does not parse is refused by the caller's own parse, with its sentence.
        if let Ok(url) = url::Url::parse(address.trim()) {
            for (key, value) in url.query_pairs() {
                match &*key {
                    "sslmode" | "ssl-mode" => request.written = Some(parse_mode(&value, field, "sslmode")?),
                    "sslrootcert" | "ssl-root-cert" | "ssl-ca" => request.root_cert = Some(PathBuf::from(&*value)),
                    _ => {}
                }
            }
        }
        Ok(request)
    }
}

/// The host of a server that is not on this computer, or `None` for a local one: a Unix socket,
/// `localhost`, or a loopback address.
pub fn remote_host(opts: &PgConnectOptions) -> Option<String> {
    if opts.get_socket().is_some() {
        return None;
    }
    let host = opts.get_host();
    let bare = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.');
    if bare.starts_with('/') || bare.eq_ignore_ascii_case("localhost") {
        return None;
    }
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_loopback() => None,
        Ok(IpAddr::V6(ip)) if ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()) => None,
        _ => Some(host.to_string()),
    }
}

/// The mode a connection is made with, by the rule at the top of this module; `remote` is the
/// host of a server not on this computer.
pub fn decide(remote: Option<&str>, request: &TlsRequest) -> std::result::Result<SslMode, Refusal> {
    use SslMode::*;
    let with_root = |mode: SslMode| if mode == Require && request.root_cert.is_some() { VerifyCa } else { mode };
    let Some(host) = remote else {
        return Ok(with_root(request.written.or(request.ambient).unwrap_or(Prefer)));
    };
    let refuse = |mode, source| Err(Refusal::Unprotected { host: host.to_string(), mode, source });
    match (request.written, request.ambient) {
        (Some(VerifyFull), _) | (Some(Prefer), _) | (None, None | Some(Prefer) | Some(VerifyFull)) => Ok(VerifyFull),
        (Some(VerifyCa), _) | (None, Some(VerifyCa)) => Ok(VerifyCa),
        (Some(Require), _) => Ok(with_root(Require)),
        (Some(mode @ (Disable | Allow)), _) => refuse(mode, ModeSource::Address),
        (None, Some(Require)) if request.root_cert.is_some() => Ok(VerifyCa),
        (None, Some(mode @ (Require | Disable | Allow))) => refuse(mode, ModeSource::Environment),
    }
}

impl Refusal {
    /// The one line a person reads: why, and how to ask for a lower mode.
    pub fn into_error(self, field: &str) -> Error {
        let Refusal::Unprotected { host, mode, source } = self;
        let name = mode.as_str();
        let message = match (mode, source) {
            (SslMode::Require, _) => format!(
                "Refusing to connect to the database server {host} without checking its certificate (PGSSLMODE=require): \
                 a mode below verify-full must be written in the address itself. Unset PGSSLMODE to use verify-full, \
                 or write sslmode=require in the address to encrypt without checking the server."
            ),
            (_, ModeSource::Address) => format!(
                "Refusing to connect to the database server {host} without encryption (sslmode={name}): only a database \
                 on this computer may be reached unencrypted. Leave sslmode out to use verify-full, or write \
                 sslmode=require to encrypt without checking the server's certificate."
            ),
            (_, ModeSource::Environment) => format!(
                "Refusing to connect to the database server {host} without encryption (PGSSLMODE={name}): only a database \
                 on this computer may be reached unencrypted. Unset PGSSLMODE to use verify-full, or write \
                 sslmode=require in the address to encrypt without checking the server's certificate."
            ),
        };
        Error::field(ErrorCode::InsecureDatabaseConnection, field, message)
            .with_details(serde_json::json!({"host": host, "sslmode": name}))
    }
}

/// Applies the rule to options parsed from `address`: sets the mode, loads `sslrootcert` (so a
/// missing or empty file is named now, not as a failed connection), or refuses naming `field`.
pub fn secure(opts: PgConnectOptions, request: &TlsRequest, field: &str) -> Result<PgConnectOptions> {
    let remote = remote_host(&opts);
    let mode = decide(remote.as_deref(), request).map_err(|r| r.into_error(field))?;
    if remote.is_some() && mode == SslMode::Require {
        tracing::warn!(
            "the database connection is encrypted but the server's certificate is not checked (sslmode=require in the address)"
        );
    }
    let mut opts = opts.ssl_mode(mode.to_sqlx());
    if let Some(path) = &request.root_cert {
        let unreadable = |why: String| {
            Error::field(
                ErrorCode::Configuration,
                field,
                format!("The CA certificate file named by sslrootcert ({}) {why}.", path.display()),
            )
        };
        let pem = std::fs::read(path).map_err(|e| unreadable(format!("cannot be read: {}", e.kind())))?;
        let certificates = CertificateDer::pem_slice_iter(&pem).collect::<std::result::Result<Vec<_>, _>>();
        match certificates {
            Ok(c) if !c.is_empty() => {}
            _ => return Err(unreadable("holds no PEM certificate".to_string())),
        }
        opts = opts.ssl_root_cert_from_pem(pem);
    }
    Ok(opts)
}

/// Says why a connection attempt failed at TLS: an untrusted certificate, one for another name,
/// or a server without TLS. `None` when the failure was not about TLS.
pub fn tls_failure(e: &sqlx::Error, opts: &PgConnectOptions, field: &str) -> Option<Error> {
    let host = opts.get_host();
    let error = |code, message: String| Some(Error::field(code, field, message).with_details(serde_json::json!({"host": host})));
    let rustls_error = match e {
        sqlx::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        sqlx::Error::Tls(tls) => {
            if tls.to_string().contains("does not support TLS") {
                return error(
                    ErrorCode::DatabaseTlsUnavailable,
                    format!(
                        "The database server {host} does not offer TLS, so no encrypted connection can be made; ask IT to turn TLS on."
                    ),
                );
            }
            tls.downcast_ref::<rustls::Error>()
        }
        _ => None,
    }?;
    tracing::warn!(error = %rustls_error, "the database server's TLS handshake failed");
    let untrusted = ErrorCode::UntrustedDatabaseCertificate;
    match rustls_error {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => error(
            ErrorCode::DatabaseCertificateNameMismatch,
            format!(
                "The database server's certificate is not made out to {host}: connect by the host name its certificate names, \
                 or ask IT for a certificate for {host}."
            ),
        ),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => error(
            untrusted,
            format!(
                "The database server {host} presented a certificate that is not signed by a CA this computer trusts: \
                 give the clinic's CA certificate with sslrootcert, or ask IT for it."
            ),
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::NotValidYet
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYetContext { .. },
        ) => error(
            untrusted,
            format!(
                "The database server {host} presented a certificate that has expired or is not yet valid; ask IT to renew it."
            ),
        ),
        rustls::Error::InvalidCertificate(other) => error(
            untrusted,
            format!("The database server {host} presented a certificate that was refused ({other:?}); ask IT to check it."),
        ),
        other => error(
            ErrorCode::DatabaseUnavailable,
            format!("The encrypted connection to the database server {host} could not be set up: {other}."),
        )
        .map(Error::retryable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn request(address: &str, pgsslmode: Option<&str>) -> TlsRequest {
        TlsRequest::from_parts(address, pgsslmode, None, "server").unwrap()
    }

    fn mode_for(address: &str, pgsslmode: Option<&str>) -> std::result::Result<SslMode, Refusal> {
        let opts = PgConnectOptions::from_str(address).unwrap();
        decide(remote_host(&opts).as_deref(), &request(address, pgsslmode))
    }

    #[test]
    fn local_servers_are_a_socket_localhost_or_a_loopback_address() {
        for local in [
            "postgres://digimed@localhost:5432/digimed?host=/var/tmp/pg",
            "postgres://u@localhost/db",
            "postgres://u@LOCALHOST./db",
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@127.8.9.10/db",
            "postgres://u@[::1]:5432/db",
            "postgres://u@%2Frun%2Fpostgresql/db",
        ] {
            assert_eq!(remote_host(&PgConnectOptions::from_str(local).unwrap()), None, "{local}");
        }
        for (remote, host) in [
            ("postgres://u@db.clinic.example/db", "db.clinic.example"),
            ("postgres://u@10.1.2.3:5432/db", "10.1.2.3"),
            ("postgres://u@[2001:db8::1]/db", "[2001:db8::1]"),
            ("postgres://u@localhost.clinic.example/db", "localhost.clinic.example"),
        ] {
            assert_eq!(remote_host(&PgConnectOptions::from_str(remote).unwrap()).as_deref(), Some(host), "{remote}");
        }
    }

    #[test]
    fn a_remote_server_is_verified_fully_unless_the_address_asks_otherwise() {
        use SslMode::*;
        let remote = "postgres://u@db.clinic.example/db";
        assert_eq!(mode_for(remote, None), Ok(VerifyFull));
        assert_eq!(mode_for(&format!("{remote}?sslmode=prefer"), None), Ok(VerifyFull));
        assert_eq!(mode_for(remote, Some("prefer")), Ok(VerifyFull));
        assert_eq!(mode_for(remote, Some("verify-ca")), Ok(VerifyCa));
        assert_eq!(mode_for(&format!("{remote}?sslmode=verify-ca"), None), Ok(VerifyCa));
        assert_eq!(mode_for(&format!("{remote}?sslmode=verify-full"), Some("disable")), Ok(VerifyFull));
        // The explicit opt-in: written in the address, encrypted without a check of the server.
        assert_eq!(mode_for(&format!("{remote}?sslmode=require"), None), Ok(Require));
        // With a CA certificate, require checks it (as libpq does).
        assert_eq!(mode_for(&format!("{remote}?sslmode=require&sslrootcert=/etc/clinic-ca.pem"), None), Ok(VerifyCa));
    }

    #[test]
    fn a_remote_server_is_never_reached_unencrypted_nor_unverified_by_the_environment_alone() {
        let remote = "postgres://u@db.clinic.example/db";
        for (address, env, mode, source) in [
            (format!("{remote}?sslmode=disable"), None, SslMode::Disable, ModeSource::Address),
            (format!("{remote}?sslmode=allow"), None, SslMode::Allow, ModeSource::Address),
            (format!("{remote}?sslmode=disable"), Some("verify-full"), SslMode::Disable, ModeSource::Address),
            (remote.to_string(), Some("disable"), SslMode::Disable, ModeSource::Environment),
            (remote.to_string(), Some("require"), SslMode::Require, ModeSource::Environment),
        ] {
            assert_eq!(
                mode_for(&address, env),
                Err(Refusal::Unprotected { host: "db.clinic.example".into(), mode, source }),
                "{address} with PGSSLMODE={env:?}"
            );
        }
    }

    #[test]
    fn a_local_server_gets_what_was_asked() {
        use SslMode::*;
        assert_eq!(mode_for("postgres://u@localhost/db?host=/var/tmp/pg", None), Ok(Prefer));
        assert_eq!(mode_for("postgres://u@127.0.0.1/db?sslmode=disable", None), Ok(Disable));
        assert_eq!(mode_for("postgres://u@127.0.0.1/db", Some("require")), Ok(Require));
        assert_eq!(mode_for("postgres://u@127.0.0.1/db?sslmode=verify-full", None), Ok(VerifyFull));
    }

    #[test]
    fn the_refusal_is_one_line_naming_the_host_the_mode_and_the_way_to_ask_for_less() {
        let opts = PgConnectOptions::from_str("postgres://kari:hemmelig@db.clinic.example/clinic?sslmode=disable").unwrap();
        let address = "postgres://kari:hemmelig@db.clinic.example/clinic?sslmode=disable";
        let e = secure(opts, &request(address, None), "server").unwrap_err();
        assert_eq!(e.code, ErrorCode::InsecureDatabaseConnection);
        assert_eq!(e.field.as_deref(), Some("server"));
        assert!(!e.message.contains('\n'), "{}", e.message);
        assert!(e.message.contains("db.clinic.example") && e.message.contains("sslmode=disable"), "{}", e.message);
        assert!(e.message.contains("write sslmode=require"), "{}", e.message);
        assert!(!e.message.contains("hemmelig") && !e.message.contains("kari") && !e.message.contains("postgres://"));
    }

    #[test]
    fn an_unknown_sslmode_and_an_unreadable_ca_file_are_named() {
        let e =
            TlsRequest::from_parts("postgres://u@db.clinic.example/db?sslmode=strict", None, None, "DATABASE_URL").unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Configuration, Some("DATABASE_URL")));
        assert!(e.message.starts_with("sslmode must be one of"), "{}", e.message);

        let address = "postgres://u@db.clinic.example/db?sslrootcert=/nonexistent/clinic-ca.pem";
        let e = secure(PgConnectOptions::from_str(address).unwrap(), &request(address, None), "server").unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Configuration, Some("server")));
        assert!(e.message.contains("/nonexistent/clinic-ca.pem") && e.message.contains("cannot be read"), "{}", e.message);

        let empty = std::env::temp_dir().join(format!("digimed-empty-ca-{}.pem", uuid::Uuid::new_v4().simple()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let address = format!("postgres://u@db.clinic.example/db?sslrootcert={}", empty.display());
        let e = secure(PgConnectOptions::from_str(&address).unwrap(), &request(&address, None), "server").unwrap_err();
        std::fs::remove_file(&empty).unwrap();
        assert!(e.message.contains("holds no PEM certificate"), "{}", e.message);
    }
}
