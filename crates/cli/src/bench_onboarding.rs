//! `digimed bench onboarding`: how fast onboarding runs through the project, as a staff login
//! acting the way the console does, next to
//! - the bare reference: the same writes as one statement in one transaction on plain copies of
//!   the tables (same columns and indexes, none of the project's triggers, policies or foreign
//!   keys), the limit the server sets, and
//! - the with-triggers baseline: the same writes by hand on the project's tables (triggers and
//!   the audit chain included), as the database owner, and
//! - the same single statement as the bare reference on the project's tables, as the owner, once
//!   with every trigger and once with the audit triggers switched off for its slices: what the
//!   project's keys, checks and triggers cost, and what the audit costs of that,
//!
//! measured in the same run, at the same client counts, on a scratch database created next to the
//! one `DATABASE_URL` names and dropped afterwards, so no clinic data is touched.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use digimed_domain::{Email, PersonName, Phone};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use digimed_core::accounts::Accounts;
use digimed_core::config::Config;
use digimed_core::error::{Error, Result};
use digimed_core::keys::{index_kind, Vault};
use digimed_core::onboarding::{self, OnboardInput};
use digimed_core::patients::{new_token, EntryPoint};
use digimed_core::session::{current_staff, AppRole};
use digimed_core::ClinicTx;
use digimed_crypto::Secret;

use crate::bench_table::{Samples, Table};
use crate::scratch::{Scratch, BARE};

/// The tables an onboarding of a new person writes (with this bench's clinic: two consent forms
/// and a welcome e-mail); the bare reference writes plain copies of them.
const WRITTEN: &[&str] = &[
    "users",
    "patient_persons",
    "communication_preference_tokens",
    "patients",
    "user_organizations",
    "forms",
    "audit_log",
    "outbox",
    "patient_messages",
];

/// Runs the benchmark at each of `concurrencies`, each path for `each` in all.
pub async fn run(config: &Config, vault: &Vault, each: Duration, concurrencies: &[usize], keep: bool) -> Result<()> {
    let mut scratch = Scratch::create(config, "digimed_bench_onboarding").await?;
    let (opts, suffix) = (scratch.options.clone(), scratch.suffix.clone());
    let max = concurrencies.iter().copied().max().unwrap_or(1) as u32;
    let owner = PgPoolOptions::new().max_connections(max + 2).connect_with(opts.clone()).await?;
    let result = async {
        digimed_core::db::migrate(&owner).await?;
        let org = setup_clinic(&owner).await?;
        crate::scratch::create_bare(&owner, WRITTEN).await?;
        // The caller: a support agent (who may onboard), signed in with their own login.
        let email = Email::parse(&format!("bench-{suffix}-onboarding@bench.digimed.test")).map_err(internal)?;
        let password = Secret::new(new_token());
        let name = PersonName::parse("Bench Support").map_err(internal)?;
        let staff = ClinicTx::run(&owner, async |tx| {
            digimed_core::staff::add_staff(tx, &email, &name, AppRole::CustomerSupport, Some(org), &password).await
        })
        .await?;
        scratch.logins.push(staff.login.clone());
        let staff_pool = PgPoolOptions::new()
            .max_connections(max)
            .connect_with(opts.clone().username(&staff.login).password(password.expose()))
            .await?;
        let me = current_staff(&staff_pool).await?;
        let forms = clinic_forms(&owner, org).await?;
        let bench = Bench { staff: staff_pool, owner: owner.clone(), vault: vault.clone(), org, forms, counter: Arc::default() };
        let out = bench.tables(each, concurrencies, &me.login).await;
        bench.staff.close().await;
        out
    }
    .await;
    let _ = crate::scratch::drop_bare(&owner).await;
    owner.close().await;
    scratch.finish(keep).await;
    print!("{}", result?);
    Ok(())
}

/// The bare reference alone, at `clients` clients for `each` (after a short warm-up), on the
/// scratch database `owner` is connected to as its owner, with the clinic `setup_clinic` made;
/// the plain tables are created for it and dropped afterwards.
pub async fn bare_reference(owner: &PgPool, vault: &Vault, org: i32, clients: usize, each: Duration) -> Result<Samples> {
    crate::scratch::create_bare(owner, WRITTEN).await?;
    let forms = clinic_forms(owner, org).await?;
    let bench = Bench { staff: owner.clone(), owner: owner.clone(), vault: vault.clone(), org, forms, counter: Arc::default() };
    let out = async {
        bench.measure(clients, Duration::from_millis(500), Path::Bare).await?;
        bench.measure(clients, each, Path::Bare).await
    }
    .await;
    crate::scratch::drop_bare(owner).await?;
    out
}

/// The clinic's consent form templates and their versions.
async fn clinic_forms(owner: &PgPool, org: i32) -> Result<(Vec<i32>, Vec<i32>)> {
    Ok(sqlx::query_as(
        "SELECT array_agg(t.id ORDER BY t.id), array_agg(v.id ORDER BY t.id)
           FROM form_templates t JOIN form_template_versions v ON v.template_id = t.id WHERE t.organization_id = $1",
    )
    .bind(org)
    .fetch_one(owner)
    .await?)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bench: {e}"))
}

struct Bench {
    /// The staff login's pool (the console's path: the login is the actor); unused by the bare
    /// reference.
    staff: PgPool,
    /// The owner's pool, for the bare reference and the with-triggers baseline.
    owner: PgPool,
    vault: Vault,
    org: i32,
    /// The clinic's consent form templates and their versions.
    forms: (Vec<i32>, Vec<i32>),
    counter: Arc<AtomicU64>,
}

#[derive(Clone, Copy)]
enum Path {
    Project,
    Bare,
    WithTriggers,
    /// The bare reference's statement on the project's tables (all triggers, the audit chain).
    OneStatement,
    /// The same, with the audit triggers switched off (`Bench::audit_triggers`).
    OneStatementNoAudit,
}

impl Bench {
    async fn tables(&self, each: Duration, concurrencies: &[usize], login: &str) -> Result<String> {
        // Warm up every path (connections, plans).
        for path in [Path::Project, Path::Bare, Path::WithTriggers, Path::OneStatement] {
            self.measure(2, Duration::from_millis(300), path).await?;
        }
        self.audit_triggers(false).await?;
        let warmed = self.measure(2, Duration::from_millis(300), Path::OneStatementNoAudit).await;
        self.audit_triggers(true).await?;
        warmed?;
        let mut out = format!(
            "onboarding benchmark: {}s per path and client count, in slices taking turns; {} build; writes: {}\n  project: as the staff login {login} through ClinicTx (row-level security, triggers, audit chain)\n",
            each.as_secs(),
            if cfg!(debug_assertions) { "debug" } else { "release" },
            WRITTEN.join(", "),
        );
        // The paths take turns in short slices, so load that comes and goes on the machine falls
        // on all alike.
        const SLICES: u32 = 5;
        let slice = each / SLICES;
        for &c in concurrencies {
            let (mut project, mut bare, mut triggers) = (Samples::default(), Samples::default(), Samples::default());
            let (mut one, mut one_unaudited) = (Samples::default(), Samples::default());
            for _ in 0..SLICES {
                bare.add(self.measure(c, slice, Path::Bare).await?);
                project.add(self.measure(c, slice, Path::Project).await?);
                triggers.add(self.measure(c, slice, Path::WithTriggers).await?);
                one.add(self.measure(c, slice, Path::OneStatement).await?);
                self.audit_triggers(false).await?;
                let unaudited = self.measure(c, slice, Path::OneStatementNoAudit).await;
                self.audit_triggers(true).await?;
                one_unaudited.add(unaudited?);
            }
            out.push_str(
                &Table {
                    title: format!("{c} client(s)"),
                    rows: vec![
                        ("project (staff login)", &project),
                        ("bare reference (one CTE)", &bare),
                        ("raw SQL with triggers (owner)", &triggers),
                        ("one CTE on project tables", &one),
                        ("  the same, audit triggers off", &one_unaudited),
                    ],
                    bare: &bare,
                    with_triggers: &triggers,
                }
                .render(),
            );
        }
        Ok(out)
    }

    /// Switches the audit triggers of the written tables on or off (the scratch database's owner
    /// may; nothing else runs on it meanwhile).
    async fn audit_triggers(&self, on: bool) -> Result<()> {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        let audited: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE t.tgname = 'audit' AND c.relnamespace = 'public'::regnamespace AND c.relname = ANY ($1)",
        )
        .bind(WRITTEN)
        .fetch_all(&self.owner)
        .await?;
        let ddl: String = audited.iter().map(|t| format!("ALTER TABLE public.{t} {verb} TRIGGER audit;")).collect();
        sqlx::raw_sql(&ddl).execute(&self.owner).await?;
        Ok(())
    }

    /// Onboardings over `each` with `concurrency` workers, each one timed.
    async fn measure(&self, concurrency: usize, each: Duration, path: Path) -> Result<Samples> {
        let start = Instant::now();
        let deadline = start + each;
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (staff, owner, vault, counter) =
                (self.staff.clone(), self.owner.clone(), self.vault.clone(), self.counter.clone());
            let (org, forms) = (self.org, self.forms.clone());
            tasks.push(tokio::spawn(async move {
                let accounts = Accounts::Local;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let name = format!("Bench Person {n}");
                    let email = format!("bench.{n}@example.com");
                    let phone = format!("+479{:07}", n % 10_000_000);
                    let t = Instant::now();
                    match path {
                        Path::Project => {
                            let input = OnboardInput {
                                name: Some(name),
                                email: Some(email),
                                phone: Some(phone),
                                organization_id: Some(org as i64),
                            };
                            let tx = ClinicTx::begin(&staff).await?;
                            onboarding::onboard(tx, &vault, &accounts, &input, EntryPoint::WalkIn, "47").await?;
                        }
                        Path::Bare => one_statement_onboard(&owner, &vault, org, &forms, BARE, &name, &email, &phone).await?,
                        Path::OneStatement | Path::OneStatementNoAudit => {
                            one_statement_onboard(&owner, &vault, org, &forms, "public", &name, &email, &phone).await?
                        }
                        Path::WithTriggers => raw_onboard(&owner, &vault, org, &name, &email, &phone).await?,
                    }
                    latencies.push(t.elapsed());
                }
                Ok::<Vec<Duration>, Error>(latencies)
            }));
        }
        let mut samples = Samples::default();
        for t in tasks {
            samples.latencies.extend(t.await.map_err(internal)??);
        }
        samples.wall = start.elapsed();
        Ok(samples)
    }
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

/// The with-triggers baseline: the rows an onboarding of a new person writes, by hand, on the
/// project's tables (its triggers and the audit chain run), in one transaction: no
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
    .bind(vault.encrypt("patient_persons", "phone_encrypted", person_id as i64, phone.as_str())?)
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

/// What an onboarding of a new person writes, as one statement in one transaction, on the
/// tables of `schema`: the account, the person (phone encrypted and indexed, as the project
/// does), the preference token, the clinic's link and membership, the two consent forms, one
/// audit entry, the two events and the two messages. No look-up, no check.
///
/// On the plain copies ([`BARE`]) this is the bare reference: no trigger, no policy, no chain;
/// the audit row is written as a plain row. On the project's tables (`public`) the triggers run
/// and the audit entry goes through `audit_append`, as the project's own entry does.
#[allow(clippy::too_many_arguments)]
async fn one_statement_onboard(
    pool: &PgPool,
    vault: &Vault,
    org: i32,
    forms: &(Vec<i32>, Vec<i32>),
    schema: &str,
    name: &str,
    email: &str,
    phone: &str,
) -> Result<()> {
    let name = PersonName::parse(name).map_err(internal)?;
    let phone = Phone::parse(phone, "47").map_err(internal)?;
    let audit_entry = if schema == BARE {
        format!(
            "INSERT INTO {schema}.audit_log (occurred_at, actor, action, entity_type, entity_id, changes, prev_hash, hash)
                    SELECT clock_timestamp(), current_user, 'CREATE', 'patient', l.id::text,
                           jsonb_build_object('patient_person_id', l.patient_person_id, 'organization_id', $6, 'user_id', p.user_id),
                           '\\x00', '\\x00'
                      FROM l, p RETURNING 1"
        )
    } else {
        "SELECT audit_append(current_user::text, 'CREATE', 'patient', l.id::text,
                                 jsonb_build_object('patient_person_id', l.patient_person_id, 'organization_id', $6, 'user_id', p.user_id))
                      FROM l, p"
            .to_string()
    };
    let n = sqlx::query_scalar::<_, i32>(&format!(
        "WITH u AS (INSERT INTO {schema}.users (email, username, role, account_directory)
                    VALUES ($1, $1, 'patient', 'local') RETURNING id),
              p AS (INSERT INTO {schema}.patient_persons (user_id, name, phone_encrypted, phone_index, status)
                    SELECT id, $2, $3, $4, 'active' FROM u RETURNING id, user_id),
              t AS (INSERT INTO {schema}.communication_preference_tokens (patient_person_id, token) SELECT id, $5 FROM p),
              l AS (INSERT INTO {schema}.patients (patient_person_id, organization_id, entry_point, profile_origin)
                    SELECT id, $6, 'walk_in', true FROM p RETURNING id, patient_person_id),
              uo AS (INSERT INTO {schema}.user_organizations (user_id, organization_id) SELECT user_id, $6 FROM p),
              f AS (INSERT INTO {schema}.forms (patient_id, template_id, template_version_id, blocking, must_sign_before)
                    SELECT l.id, x.t, x.v, true, 'first_appointment' FROM l, unnest($7::int[], $8::int[]) AS x(t, v)),
              a AS ({audit_entry}),
              o AS (INSERT INTO {schema}.outbox (event_id, event_type, organization_id, payload)
                    SELECT gen_random_uuid(), e.kind, $6, jsonb_build_object('patient_id', l.id, 'organization_id', $6)
                      FROM l, (VALUES ('patient.onboarded'), ('patient.welcome_email_requested')) AS e(kind)),
              m AS (INSERT INTO {schema}.patient_messages (organization_id, patient_person_id, kind, purpose, channel, language)
                    SELECT $6, l.patient_person_id, k.kind, k.purpose, 'email', 'nb'
                      FROM l, (VALUES ('welcome', 'marketing'), ('forms_invitation', 'service')) AS k(kind, purpose))
         SELECT l.id FROM l, a"
    ))
    .bind(email)
    .bind(name.as_str())
    .bind(vault.encrypt("patient_persons", "phone_encrypted", 0, phone.as_str())?)
    .bind(vault.blind_index(index_kind::PHONE, phone.as_str()))
    .bind(new_token())
    .bind(org)
    .bind(&forms.0)
    .bind(&forms.1)
    .fetch_optional(pool)
    .await?;
    if n.is_none() {
        return Err(internal(format!("the single statement on {schema} wrote no patient")));
    }
    Ok(())
}
