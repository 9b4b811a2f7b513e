//! `digimed bench onboarding`: how fast the full onboarding path is compared with raw SQL doing
//! the same inserts in one transaction, measured in the same run on the same server. Runs in a
//! throw-away database (created, migrated and dropped here), so no clinic data is touched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use digimed_domain::{PersonName, Phone};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, PgPool};

use digimed_core::accounts::Accounts;
use digimed_core::error::{Error, Result};
use digimed_core::keys::{index_kind, Vault};
use digimed_core::onboarding::{self, OnboardInput};
use digimed_core::patients::{new_token, EntryPoint};
use digimed_core::ClinicTx;

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub concurrency: usize,
    pub onboard_per_sec: f64,
    pub raw_per_sec: f64,
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub seconds: u64,
    pub rows: Vec<BenchRow>,
}

impl BenchReport {
    pub fn table(&self) -> String {
        let mut s = format!(
            "onboarding benchmark ({}s per measurement, local account directory, throw-away database)\n{:>11}  {:>12}  {:>12}  {:>6}\n",
            self.seconds, "concurrency", "onboard/s", "raw SQL/s", "ratio"
        );
        for r in &self.rows {
            s.push_str(&format!(
                "{:>11}  {:>12.1}  {:>12.1}  {:>6.2}\n",
                r.concurrency,
                r.onboard_per_sec,
                r.raw_per_sec,
                if r.raw_per_sec > 0.0 { r.onboard_per_sec / r.raw_per_sec } else { 0.0 }
            ));
        }
        s
    }
}

/// Runs the benchmark. `server` is an owner connection (it must be allowed to create databases).
pub async fn onboarding(server: &PgPool, vault: &Vault, each: Duration, concurrencies: &[usize]) -> Result<BenchReport> {
    let name = format!("digimed_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(server).await?;
    let result = run_in(server, &name, vault, each, concurrencies).await;
    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(server).await;
    result
}

async fn run_in(server: &PgPool, name: &str, vault: &Vault, each: Duration, concurrencies: &[usize]) -> Result<BenchReport> {
    let opts = server.connect_options().as_ref().clone().database(name).disable_statement_logging();
    let max = concurrencies.iter().copied().max().unwrap_or(1) as u32;
    let pool = PgPoolOptions::new().max_connections(max + 2).connect_with(opts).await?;
    digimed_core::db::migrate(&pool).await?;
    let org = setup_clinic(&pool).await?;
    // Warm up both paths (connections, plans).
    let counter = Arc::new(AtomicU64::new(0));
    measure(&pool, vault, org, 2, Duration::from_millis(300), Path::Onboard, &counter).await?;
    measure(&pool, vault, org, 2, Duration::from_millis(300), Path::Raw, &counter).await?;
    let mut rows = Vec::new();
    // The two paths take turns in short slices, so load that comes and goes on the machine
    // falls on both alike.
    const SLICES: u32 = 5;
    let slice = each / SLICES;
    for &c in concurrencies {
        let (mut raw, mut onboard) = (0.0, 0.0);
        for _ in 0..SLICES {
            raw += measure(&pool, vault, org, c, slice, Path::Raw, &counter).await?;
            onboard += measure(&pool, vault, org, c, slice, Path::Onboard, &counter).await?;
        }
        let n = f64::from(SLICES);
        rows.push(BenchRow { concurrency: c, onboard_per_sec: onboard / n, raw_per_sec: raw / n });
    }
    pool.close().await;
    Ok(BenchReport { seconds: each.as_secs(), rows })
}

/// A clinic with the two standard consent forms and the automation rule that requires them of new
/// patients (for benchmarks on a scratch database).
pub async fn setup_clinic(pool: &PgPool) -> Result<i32> {
    let org: i32 = sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Bench Clinic', 'clinic') RETURNING id")
        .fetch_one(pool)
        .await?;
    let mut templates = Vec::new();
    for (key, title, consents) in [
        ("privacy_gdpr", "Privacy Policy & GDPR Consent", vec!["analytics", "marketing"]),
        ("profile_sharing", "Profile Sharing Consent", vec!["profile_sharing"]),
    ] {
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO form_templates (organization_id, key, title, consent_types, must_sign_before)
             VALUES ($1, $2, $3, $4, 'first_appointment') RETURNING id",
        )
        .bind(org)
        .bind(key)
        .bind(title)
        .bind(consents)
        .fetch_one(pool)
        .await?;
        sqlx::query(
            "INSERT INTO form_template_versions (template_id, version, body, published_at) VALUES ($1, 1, 'Text.', now())",
        )
        .bind(id)
        .execute(pool)
        .await?;
        templates.push(id);
    }
    let rule: i32 = sqlx::query_scalar(
        "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
         VALUES ($1, 'new patients', 'patient.onboarded', true, 1) RETURNING id",
    )
    .bind(org)
    .fetch_one(pool)
    .await?;
    sqlx::query(
        "INSERT INTO automation_actions (rule_id, position, action, template_id) VALUES
           ($1, 1, 'create_form', $2), ($1, 2, 'create_form', $3), ($1, 3, 'send_welcome_email', NULL)",
    )
    .bind(rule)
    .bind(templates[0])
    .bind(templates[1])
    .execute(pool)
    .await?;
    Ok(org)
}

#[derive(Clone, Copy)]
enum Path {
    Onboard,
    Raw,
}

/// Onboardings per second over `each` with `concurrency` workers.
async fn measure(
    pool: &PgPool,
    vault: &Vault,
    org: i32,
    concurrency: usize,
    each: Duration,
    path: Path,
    counter: &Arc<AtomicU64>,
) -> Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + each;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (pool, vault, done, counter) = (pool.clone(), vault.clone(), done.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let accounts = Accounts::Local;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let email = format!("bench.{n}@example.com");
                let phone = format!("+479{:07}", n % 10_000_000);
                match path {
                    Path::Onboard => {
                        let input = OnboardInput {
                            name: Some(format!("Bench Person {n}")),
                            email: Some(email),
                            phone: Some(phone),
                            organization_id: Some(org as i64),
                        };
                        let tx = ClinicTx::begin(&pool).await?;
                        onboarding::onboard(tx, &vault, &accounts, &input, EntryPoint::WalkIn, "47").await?;
                    }
                    Path::Raw => raw_onboard(&pool, &vault, org, &format!("Bench Person {n}"), &email, &phone).await?,
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| Error::internal(e.to_string()))??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// The same rows an onboarding of a new person writes, by hand, in one transaction: no
/// validation beyond parsing, no permission check, no look-up, no lock.
async fn raw_onboard(pool: &PgPool, vault: &Vault, org: i32, name: &str, email: &str, phone: &str) -> Result<()> {
    let name = PersonName::parse(name).map_err(|e| Error::internal(e.to_string()))?;
    let phone = Phone::parse(phone, "47").map_err(|e| Error::internal(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let (user_id, person_id): (i32, i32) = sqlx::query_as(
        "SELECT nextval(pg_get_serial_sequence('users', 'id'))::int, nextval(pg_get_serial_sequence('patient_persons', 'id'))::int",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO users (id, email, username, role, account_directory) VALUES ($1, $2, $2, 'patient', 'local')")
        .bind(user_id)
        .bind(email)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO patient_persons (id, user_id, name, phone_encrypted, phone_index, status) VALUES ($1, $2, $3, $4, $5, 'active')",
    )
    .bind(person_id)
    .bind(user_id)
    .bind(name.as_str())
    .bind(vault.encrypt("patient_persons", "phone_encrypted", person_id as i64, phone.as_str()))
    .bind(vault.blind_index(index_kind::PHONE, phone.as_str()))
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO communication_preference_tokens (patient_person_id, token) VALUES ($1, $2)")
        .bind(person_id)
        .bind(new_token())
        .execute(&mut *tx)
        .await?;
    let patient_id: i32 = sqlx::query_scalar(
        "INSERT INTO patients (patient_person_id, organization_id, entry_point, profile_origin) VALUES ($1, $2, 'walk_in', true) RETURNING id",
    )
    .bind(person_id)
    .bind(org)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO user_organizations (user_id, organization_id) VALUES ($1, $2)")
        .bind(user_id)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO forms (patient_id, template_id, template_version_id, blocking, must_sign_before)
         SELECT $1, t.id, v.id, true, t.must_sign_before
           FROM form_templates t JOIN form_template_versions v ON v.template_id = t.id
          WHERE t.organization_id = $2",
    )
    .bind(patient_id)
    .bind(org)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT audit_append(current_user::text, 'CREATE', 'patient', $1, $2)")
        .bind(patient_id.to_string())
        .bind(serde_json::json!({"patient_person_id": person_id, "organization_id": org, "user_id": user_id}))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, organization_id, payload) VALUES
           ($1, 'patient.welcome_email_requested', $3, $4), ($2, 'patient.onboarded', $3, $5)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(uuid::Uuid::new_v4())
    .bind(org)
    .bind(serde_json::json!({"patient_id": patient_id, "organization_id": org}))
    .bind(serde_json::json!({"patient_id": patient_id, "patient_person_id": person_id, "user_id": user_id, "organization_id": org, "user_created": true}))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
