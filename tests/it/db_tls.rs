//! TLS to the clinic's database (`docs/operations.md`): a cluster of the test's own with
//! `ssl = on` and a server certificate from a CA made here. `verify-full` with the clinic's CA
//! and the certificate's host name gives an encrypted session, for the `digimed` tool and the
//! service (`db::connect`) and for the console's sign-in (`session::sign_in`); a certificate
//! from another CA, or one made out to another name, is refused with the sentence each face
//! shows; a server on another computer is never reached unencrypted.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use digimed_core::session::{self, AppRole};
use digimed_core::{db, staff, ClinicTx, ErrorCode};
use digimed_crypto::Secret;
use digimed_domain::{Email, PersonName};
use digimed_tests::cluster::{ScratchCluster, ServerTls};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

/// A CA of the test's own, in PEM, and the certificate and key of a server it signed.
struct Pki {
    ca_pem: String,
    server: ServerTls,
}

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, format!("Digimed test CA {}", Uuid::new_v4().simple()));
    (params.self_signed(&key).unwrap(), key)
}

/// A CA, and a server certificate it signed for `names` only.
fn pki(names: &[&str]) -> Pki {
    let (ca, ca_key) = ca();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.signed_by(&key, &ca, &ca_key).unwrap();
    Pki { ca_pem: ca.pem(), server: ServerTls { certificate_pem: certificate.pem(), key_pem: key.serialize_pem() } }
}

/// Writes `pem` to a file of the test's own and returns its path.
fn pem_file(pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("digimed-ca-{}.pem", Uuid::new_v4().simple()));
    std::fs::write(&path, pem).unwrap();
    path
}

/// `url` with `query` added to it.
fn with_query(url: &str, query: &str) -> String {
    format!("{url}{}{query}", if url.contains('?') { '&' } else { '?' })
}

async fn is_encrypted(pool: &PgPool) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn verify_full_with_the_clinics_ca_is_encrypted_and_a_wrong_ca_or_host_name_is_refused() {
    // The server's certificate names `localhost` only; 127.0.0.1 reaches the same server.
    let pki = pki(&["localhost"]);
    let cluster = ScratchCluster::with_tls(pki.server.clone()).await;
    let clinic_ca = pem_file(&pki.ca_pem);
    let other_ca = pem_file(&ca().0.pem());
    let by_name = |url: &str| url.replacen("@127.0.0.1:", "@localhost:", 1);
    let verified = |url: &str, ca: &PathBuf| with_query(url, &format!("sslmode=verify-full&sslrootcert={}", ca.display()));

    // The `digimed` tool and the service: db::connect with the clinic's CA and the right name.
    {
        let mut admin = PgConnection::connect(&cluster.owner_url("postgres")).await.unwrap();
        admin.execute("CREATE DATABASE clinic").await.unwrap();
        admin.close().await.unwrap();
    }
    let owner_url = verified(&by_name(&cluster.owner_url("clinic")), &clinic_ca);
    let owner = db::connect(&owner_url, 2).await.expect("verify-full with the clinic's CA and the certificate's name");
    assert!(is_encrypted(&owner).await, "the session is encrypted (pg_stat_ssl)");

    // The console: a staff member signs in over the same verified connection.
    db::migrate(&owner).await.unwrap();
    let org: i32 = sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('TLS Clinic', 'clinic') RETURNING id")
        .fetch_one(&owner)
        .await
        .unwrap();
    let password = Secret::new(format!("pw-{}-Long-enough", Uuid::new_v4().simple()));
    let secretary = ClinicTx::run(&owner, async |tx| {
        staff::add_staff(
            tx,
            &Email::parse("secretary@tls.digimed.test").unwrap(),
            &PersonName::parse("Siri Secretary").unwrap(),
            AppRole::Secretary,
            Some(org),
            &password,
        )
        .await
    })
    .await
    .unwrap();
    let server = verified(&format!("postgres://localhost:{}/clinic", cluster.port), &clinic_ca);
    let (console, me) = session::sign_in(&server, &secretary.login, &password).await.expect("the console signs in over TLS");
    assert_eq!(me.login, secretary.login);
    assert!(is_encrypted(&console).await, "the console's session is encrypted");
    console.close().await;
    owner.close().await;

    // A certificate from another CA: refused, for the tool and for the console.
    let e = db::connect(&verified(&by_name(&cluster.owner_url("clinic")), &other_ca), 2).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::UntrustedDatabaseCertificate, Some("DATABASE_URL")), "{e:?}");
    assert_eq!(
        e.message,
        "The database server localhost presented a certificate that is not signed by a CA this computer trusts: \
         give the clinic's CA certificate with sslrootcert, or ask IT for it."
    );
    let wrong_ca_server = verified(&format!("postgres://localhost:{}/clinic", cluster.port), &other_ca);
    let e = session::sign_in(&wrong_ca_server, &secretary.login, &password).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::UntrustedDatabaseCertificate, Some("server")), "{e:?}");
    assert_eq!(e.details, Some(serde_json::json!({"host": "localhost"})));
    assert_no_secret(&e, &password, &wrong_ca_server);

    // The right CA, but the server reached by a name its certificate does not carry.
    let e = db::connect(&verified(&cluster.owner_url("clinic"), &clinic_ca), 2).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::DatabaseCertificateNameMismatch, Some("DATABASE_URL")), "{e:?}");
    assert_eq!(
        e.message,
        "The database server's certificate is not made out to 127.0.0.1: connect by the host name its certificate names, \
         or ask IT for a certificate for 127.0.0.1."
    );
    let wrong_name_server = verified(&format!("postgres://127.0.0.1:{}/clinic", cluster.port), &clinic_ca);
    let e = session::sign_in(&wrong_name_server, &secretary.login, &password).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::DatabaseCertificateNameMismatch, Some("server")), "{e:?}");
    assert_eq!(e.details, Some(serde_json::json!({"host": "127.0.0.1"})));
    assert_no_secret(&e, &password, &wrong_name_server);

    std::fs::remove_file(clinic_ca).unwrap();
    std::fs::remove_file(other_ca).unwrap();
}

fn assert_no_secret(e: &digimed_core::Error, password: &Secret<String>, server: &str) {
    let shown = serde_json::to_string(e).unwrap();
    assert!(!shown.contains(password.expose().as_str()), "no password in {shown}");
    assert!(!shown.contains("postgres://") && !shown.contains(server), "no URL in {shown}");
    assert!(!e.message.contains('\n'), "one line: {}", e.message);
}

/// An address of this computer that is not a loopback address: to the rule it is another
/// computer, yet a listener of the test's own answers on it.
fn non_loopback_address() -> IpAddr {
    // Connecting a UDP socket sends nothing; it only picks the interface a packet would leave by.
    let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
    probe.connect("198.51.100.1:9").expect("a route off this computer (the test needs a non-loopback address)");
    let ip = probe.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "this computer has no non-loopback address");
    ip
}

#[tokio::test]
async fn a_remote_server_is_refused_unencrypted_before_any_connection_and_is_otherwise_asked_for_tls() {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = non_loopback_address();
    let url = format!("postgres://clinic:hemmelig-{}@{host}:{port}/clinic", Uuid::new_v4().simple());

    // Unencrypted: refused with one line, and nothing sent.
    for address in [with_query(&url, "sslmode=disable"), with_query(&url, "sslmode=allow")] {
        let e = db::connect(&address, 1).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InsecureDatabaseConnection, Some("DATABASE_URL")), "{e:?}");
        assert!(
            e.message.starts_with(&format!("Refusing to connect to the database server {host} without encryption (sslmode=")),
            "{}",
            e.message
        );
        assert!(e.message.contains("Leave sslmode out to use verify-full, or write sslmode=require"), "{}", e.message);
        assert!(!e.message.contains("hemmelig") && !e.message.contains("postgres://") && !e.message.contains('\n'));
    }
    let e = session::sign_in(&with_query(&url, "sslmode=disable"), "kari", &Secret::new("pw".into())).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InsecureDatabaseConnection, Some("server")), "{e:?}");
    // Whatever reached the listener would wait in its queue: nothing did.
    assert_eq!(listener.accept().map(|_| ()).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock), "no connection was made");

    // No sslmode: the first thing sent is PostgreSQL's SSLRequest, and a server that answers "no
    // TLS" ('N') is left, never spoken to in plaintext as `prefer` would.
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).unwrap();
        socket.write_all(b"N").unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
        (request, rest)
    });
    let e = db::connect(&url, 1).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::DatabaseTlsUnavailable, Some("DATABASE_URL")), "{e:?}");
    assert_eq!(
        e.message,
        format!("The database server {host} does not offer TLS, so no encrypted connection can be made; ask IT to turn TLS on.")
    );
    let (request, rest) = server.join().unwrap();
    // SSLRequest: length 8, code 80877103.
    assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    assert!(rest.is_empty(), "nothing was sent after the server declined TLS: {rest:?}");
}
