//! Test support: a fresh, migrated database per test (cloned from a template database that is
//! migrated once per schema version), staff logins with unique names, and raw connections as them.

pub mod clerk_standin;
pub mod cluster;
pub mod fixtures;
pub mod http;
pub mod hubspot_standin;
pub mod service;
pub mod session_keys;
pub mod subscriber;

use std::str::FromStr;
use std::sync::OnceLock;

use digimed_core::keys::Vault;
use digimed_core::session::AppRole;
use digimed_core::{Acting, ClinicTx};
use digimed_crypto::{DataKeys, KeyDomain, Secret};
use digimed_domain::{Email, PersonName};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

/// Runs `op` in a transaction opened as `acting` says on `pool`, committed when `op` succeeds:
/// how the service acts for a caller, for tests of the core.
pub async fn act<T>(
    pool: &PgPool,
    acting: &Acting,
    op: impl AsyncFnOnce(&mut ClinicTx) -> digimed_core::Result<T>,
) -> digimed_core::Result<T> {
    let mut tx = ClinicTx::begin_acting(pool, acting).await?;
    let out = op(&mut tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Hands `op` a transaction opened as `acting` says; `op` commits it (operations with an effect
/// outside the database, such as onboarding, take their transaction).
pub async fn own<T>(
    pool: &PgPool,
    acting: &Acting,
    op: impl AsyncFnOnce(ClinicTx) -> digimed_core::Result<T>,
) -> digimed_core::Result<T> {
    op(ClinicTx::begin_acting(pool, acting).await?).await
}

/// Re-encrypts every contact field not under the vault's current contact key, a batch per
/// transaction, as `digimed keys rotate` does (as the owner).
pub async fn rotate_all(pool: &PgPool, vault: &Vault, batch: i64) -> digimed_core::Result<digimed_core::keys::RotationReport> {
    let (mut cursor, mut report) = Default::default();
    while ClinicTx::run(pool, async |tx| digimed_core::keys::reencrypt_batch(tx, vault, &mut cursor, batch, &mut report).await)
        .await?
    {}
    Ok(report)
}

/// Re-encrypts every result field not under the vault's current clinical key and moves those
/// under the contact keys, a batch per transaction, as `digimed keys rotate --domain clinical`
/// does (as an admin).
pub async fn rotate_clinical(
    pool: &PgPool,
    vault: &Vault,
    batch: i64,
) -> digimed_core::Result<digimed_core::keys::RotationReport> {
    let (mut cursor, mut report) = Default::default();
    while ClinicTx::run(pool, async |tx| {
        digimed_core::keys::reencrypt_clinical_batch(tx, vault, &mut cursor, batch, &mut report).await
    })
    .await?
    {}
    Ok(report)
}

/// The owner URL of the server the tests use (`DATABASE_URL`; `make test` sets it).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must name a PostgreSQL server for the tests; run them with `make test`, which starts the project's own",
    )
}

/// The URL of database `db` of the test server, as the owner (for tools such as pg_dump).
pub fn database_url(db: &str) -> String {
    let url = server_url();
    let (base, query) =
        url.split_once('?').map(|(b, q)| (b.to_string(), format!("?{q}"))).unwrap_or((url.clone(), String::new()));
    let without_db = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(base);
    format!("{without_db}/{db}{query}")
}

/// Connection options for database `db` of the test server (as the owner, unless changed).
pub fn options_for_db(db: &str) -> PgConnectOptions {
    options_for(db)
}

fn options_for(db: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(&server_url()).expect("DATABASE_URL is a valid URL").database(db)
}

/// Name of the template database for the current migrations.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut h = Sha256::new();
        for m in digimed_core::db::MIGRATOR.iter() {
            h.update(m.version.to_le_bytes());
            h.update(&*m.checksum);
        }
        format!("digimed_tmpl_{}", &hex::encode(h.finalize())[..16])
    })
}

async fn ensure_template() {
    let tmpl = template_name();
    let mut admin = PgConnection::connect_with(&options_for("postgres")).await.expect("connect to the test server");
    // One process builds the template; the others wait on the lock.
    sqlx::query("SELECT pg_advisory_lock(8312001)").execute(&mut admin).await.unwrap();
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(tmpl)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if !exists {
        let building = format!("{tmpl}_building");
        admin.execute(format!("DROP DATABASE IF EXISTS {building}").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE {building}").as_str()).await.unwrap();
        {
            let pool = PgPoolOptions::new().max_connections(1).connect_with(options_for(&building)).await.unwrap();
            digimed_core::db::migrate(&pool).await.expect("migrations apply to an empty database");
            pool.close().await;
        }
        admin.execute(format!("ALTER DATABASE {building} RENAME TO {tmpl}").as_str()).await.unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(8312001)").execute(&mut admin).await.unwrap();
}

/// The ICPC-2 list the tests and the demo use: `DIGIMED_ICPC2_FILE`, or the npm package pinned in
/// `data/package-lock.json` (installed by `scripts/deps.sh`; see `data/README.md`).
pub fn icpc2_file() -> String {
    std::env::var("DIGIMED_ICPC2_FILE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../data/node_modules/@navikt/diagnosekoder/lib/ICPC2.json").to_string()
    })
}

/// A fresh database of its own, migrated, owned by the server's owner login.
pub struct TestDb {
    pub name: String,
    /// The owner's pool (not subject to row-level security).
    pub owner: PgPool,
    /// A doctor's or admin's workstation vault: the contact and the clinical keys. The service is
    /// given `vault.contact_only()`.
    pub vault: Vault,
    logins: std::sync::Mutex<Vec<String>>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        ensure_template().await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&options_for("postgres")).await.unwrap();
        admin
            .execute(format!("CREATE DATABASE {name} TEMPLATE {}", template_name()).as_str())
            .await
            .expect("create a test database from the template");
        let owner = PgPoolOptions::new().max_connections(8).connect_with(options_for(&name)).await.unwrap();
        let vault = Vault::with_clinical(DataKeys::generate(), Some(DataKeys::generate_for(KeyDomain::Clinical)));
        TestDb { name, owner, vault, logins: Default::default() }
    }

    /// The URL of this database without any user, as the console's "server" field takes it.
    pub fn server(&self) -> String {
        let url = server_url();
        let (base, query) =
            url.split_once('?').map(|(b, q)| (b.to_string(), format!("?{q}"))).unwrap_or((url.clone(), String::new()));
        let without_db = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(base);
        let without_user = match without_db.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest)),
            None => without_db,
        };
        format!("{without_user}/{}{query}", self.name)
    }

    /// Writes this database's keys to `dir` as key files, (contact, clinical), for the faces
    /// that read them from `DIGIMED_KEY_FILE` and `DIGIMED_CLINICAL_KEY_FILE`.
    pub fn write_key_files(&self, dir: &std::path::Path) -> (String, String) {
        std::fs::create_dir_all(dir).unwrap();
        let contact = dir.join("keys.json");
        let clinical = dir.join("clinical-keys.json");
        std::fs::write(&contact, self.vault.keys().to_json().expose()).unwrap();
        let clinical_keys = self.vault.keys_of(KeyDomain::Clinical).expect("the test vault holds the clinical keys");
        std::fs::write(&clinical, clinical_keys.to_json().expose()).unwrap();
        (contact.to_str().unwrap().to_string(), clinical.to_str().unwrap().to_string())
    }

    /// A unique login domain for this test (logins are cluster-wide).
    pub fn login_domain(&self) -> String {
        format!("{}.test.digimed.test", &self.name[2..14])
    }

    /// Creates a clinic and returns its id.
    pub async fn clinic(&self, name: &str) -> i32 {
        sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ($1, 'clinic') RETURNING id")
            .bind(name)
            .fetch_one(&self.owner)
            .await
            .unwrap()
    }

    /// Creates a staff member with a unique login and returns (staff id, pool signed in as them).
    pub async fn staff(&self, role: AppRole, org: i32, who: &str) -> Staff {
        let email = Email::parse(&format!("{who}@{}", self.login_domain())).unwrap();
        // A random password that never contains the login's name (a short name such as "ada" can
        // turn up in random hex), which the password rules refuse.
        let password = loop {
            let candidate = format!("pw-{}-Long-enough", uuid::Uuid::new_v4().simple());
            if !candidate.to_lowercase().contains(&who.to_lowercase()) {
                break Secret::new(candidate);
            }
        };
        let name = PersonName::parse(who).unwrap();
        let s = ClinicTx::run(&self.owner, async |tx| {
            digimed_core::staff::add_staff(tx, &email, &name, role, Some(org), &password).await
        })
        .await
        .expect("create staff");
        self.logins.lock().unwrap().push(s.login.clone());
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options_for(&self.name).username(&s.login).password(password.expose()))
            .await
            .expect("sign in as the new staff member");
        Staff { id: s.id, login: s.login, password, pool }
    }

    /// Seeds the demo data (two clinics, an insurer partner, one staff member per role, referred
    /// patients in every consultation state) with logins unique to this database.
    pub async fn seed_demo(&self) -> digimed_demo::DemoCredentials {
        self.import_icpc2().await;
        let opts = digimed_demo::DemoOptions { login_domain: self.login_domain() };
        digimed_demo::seed_demo(&self.owner, &self.vault, &opts).await.expect("seed the demo")
    }

    /// Imports the ICPC-2 list (see [`icpc2_file`]).
    pub async fn import_icpc2(&self) {
        let path = icpc2_file();
        let file =
            std::fs::read(&path).unwrap_or_else(|e| panic!("the ICPC-2 list at {path} ({e}); `scripts/deps.sh` installs it"));
        ClinicTx::run(&self.owner, async |tx| digimed_core::icpc2::import(tx, &file).await).await.expect("import ICPC-2");
    }

    /// A raw pool signed in with the given login and password.
    pub async fn connect_as(&self, login: &str, password: &str) -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new().max_connections(2).connect_with(options_for(&self.name).username(login).password(password)).await
    }

    /// Records a login created outside `staff()` so it is dropped with the database.
    pub fn forget_login_later(&self, login: &str) {
        self.logins.lock().unwrap().push(login.to_string());
    }
}

pub struct Staff {
    pub id: i32,
    pub login: String,
    pub password: Secret<String>,
    /// A raw connection pool signed in as this staff member.
    pub pool: PgPool,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let logins = std::mem::take(&mut *self.logins.lock().unwrap());
        // The test's own runtime is blocked here, so its pool cannot be used: drop the database
        // and its logins over fresh connections on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut staff: Vec<String> = Vec::new();
                if let Ok(mut conn) = PgConnection::connect_with(&options_for(&name)).await {
                    staff = sqlx::query_scalar("SELECT login_role FROM staff").fetch_all(&mut conn).await.unwrap_or_default();
                    let _ = conn.close().await;
                }
                if let Ok(mut admin) = PgConnection::connect_with(&options_for("postgres")).await {
                    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                    for login in staff.iter().chain(logins.iter()) {
                        if let Ok(ddl) = sqlx::query_scalar::<_, String>("SELECT format('DROP ROLE IF EXISTS %I', $1::text)")
                            .bind(login)
                            .fetch_one(&mut admin)
                            .await
                        {
                            let _ = admin.execute(ddl.as_str()).await;
                        }
                    }
                }
            });
        })
        .join();
    }
}

/// Whether an error is PostgreSQL refusing for lack of privilege or by row-level security.
pub fn is_denied(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42501"))
}

pub use digimed_core::session::AppRole as Role;
