//! `digimed bench report`: seeds a scratch database (created next to the one `DATABASE_URL`
//! names, dropped afterwards) with a partner's consultations and their encrypted results, then
//! exports the insurer report as an administrator, as `.xlsx` and as `.csv`, and prints for each
//! the export time, rows per second and the process's peak memory during the export, next to a
//! raw-SQL baseline that only reads the same rows (no decryption, no file) in the same run.
//! A one-month export is measured too, to show the peak does not grow with the row count.

use std::path::Path;
use std::time::Instant;

use clap::Args;
use digimed_core::config::Config;
use digimed_core::keys::Vault;
use digimed_core::report::{self, ReportRequest};
use digimed_core::session::AppRole;
use digimed_core::{ClinicTx, Error};
use digimed_crypto::{DataKeys, Secret};
use digimed_domain::{Email, PersonName};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Row};

use crate::scratch::Scratch;

#[derive(Args)]
pub struct BenchReportArgs {
    /// Consultations of the partner, spread over the past year (nine in ten completed).
    #[arg(long, default_value_t = 100_000)]
    consultations: i64,
    /// Keep the scratch database (and its logins) afterwards.
    #[arg(long)]
    keep: bool,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bench: {e}"))
}

const CODES: [&str; 12] = ["R74", "R05", "A03", "L03", "D01", "P74", "S18", "N01", "K86", "U71", "H71", "T90"];
const OUTCOMES: [&str; 3] = ["helped", "referred_gp", "unable"];

pub async fn run(config: &Config, args: BenchReportArgs) -> Result<(), Error> {
    let mut scratch = Scratch::create(config, "digimed_bench").await?;
    let owner = PgPoolOptions::new().max_connections(4).connect_with(scratch.options.clone()).await?;
    let (opts, suffix) = (scratch.options.clone(), scratch.suffix.clone());
    let result = bench(&owner, &opts, &suffix, args.consultations, &mut scratch.logins).await;
    owner.close().await;
    scratch.finish(args.keep).await;
    result
}

async fn bench(owner: &PgPool, opts: &PgConnectOptions, suffix: &str, n: i64, logins: &mut Vec<String>) -> Result<(), Error> {
    let t = Instant::now();
    let crate::scratch::BenchClinic { clinic, partner } = crate::scratch::bench_clinic(owner).await?;
    let mut accounts = Vec::new();
    for (role, who) in [(AppRole::Admin, "admin"), (AppRole::Doctor, "doctor")] {
        let email = Email::parse(&format!("bench-{suffix}-{who}@bench.digimed.test")).map_err(err)?;
        let password = Secret::new(digimed_core::patients::new_token());
        let name = PersonName::parse(who).map_err(err)?;
        let s = ClinicTx::run(owner, async |tx| {
            digimed_core::staff::add_staff(tx, &email, &name, role, Some(clinic), &password).await
        })
        .await?;
        logins.push(s.login.clone());
        accounts.push((s, password));
    }
    let doctor = accounts[1].0.id;
    // Throw-away keys of both domains: the report reads results, as on an admin's workstation.
    let vault = Vault::with_clinical(DataKeys::generate(), Some(DataKeys::generate_for(digimed_crypto::KeyDomain::Clinical)));

    // Set-based seeding with the row triggers switched off in this scratch database.
    let mut tx = owner.begin().await?;
    for table in ["patient_persons", "patients", "communication_preference_tokens", "consultations", "consultation_results"] {
        tx.execute(format!("ALTER TABLE {table} DISABLE TRIGGER USER").as_str()).await?;
    }
    let persons = (n / 5).max(1);
    sqlx::query("INSERT INTO patient_persons (name, status, source_partner_id) SELECT 'Bench Patient ' || g, 'draft', $2 FROM generate_series(1, $1) g")
        .bind(persons)
        .bind(partner)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO communication_preference_tokens (patient_person_id, token) SELECT id, md5(id::text) || md5(random()::text) FROM patient_persons")
        .execute(&mut *tx)
        .await?;
    let first_person: i32 = sqlx::query_scalar("SELECT min(id) FROM patient_persons").fetch_one(&mut *tx).await?;
    // Waiting times of 5 minutes to about 3 working days and treatments of 5 to 45 minutes,
    // spread by a hash of the row number; one in twenty cancelled, one in twenty still open.
    sqlx::query(
        "INSERT INTO consultations (patient_person_id, organization_id, partner_id, state, assigned_doctor_id,
                                    created_at, deadline_at, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason, updated_at)
         SELECT $1 + (g % $2)::int, $3, $4, s.state,
                CASE WHEN s.state IN ('completed', 'in_progress') THEN $5 END,
                s.created, add_working_days(s.created, 2),
                CASE WHEN s.state IN ('completed', 'in_progress') THEN s.created + s.wait / 2 END,
                CASE WHEN s.state IN ('completed', 'in_progress') THEN s.created + s.wait END,
                CASE WHEN s.state = 'completed' THEN s.created + s.wait + s.treat END,
                CASE WHEN s.state = 'cancelled' THEN s.created + interval '1 hour' END,
                CASE WHEN s.state = 'cancelled' THEN 'Patient recovered' END,
                s.created + s.wait
           FROM generate_series(1, $6) g
          CROSS JOIN LATERAL (SELECT abs(hashint8(g)) AS h) x
          CROSS JOIN LATERAL (
                SELECT CASE WHEN g % 20 = 0 THEN 'cancelled' WHEN g % 20 = 1 THEN 'in_progress' ELSE 'completed' END AS state,
                       now() - interval '365 days' + (g::float8 / $6) * interval '364 days' AS created,
                       interval '5 minutes' + (x.h % 4320) * interval '1 minute' AS wait,
                       interval '5 minutes' + (x.h % 2400) * interval '1 second' AS treat) s",
    )
    .bind(first_person)
    .bind(persons)
    .bind(clinic)
    .bind(partner)
    .bind(doctor)
    .bind(n)
    .execute(&mut *tx)
    .await?;
    // Results: ids reserved first, since each field's ciphertext is bound to its row.
    let completed: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'completed' ORDER BY id").fetch_all(&mut *tx).await?;
    for chunk in completed.chunks(5_000) {
        let ids: Vec<i32> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('consultation_results', 'id'))::int FROM generate_series(1, $1)",
        )
        .bind(chunk.len() as i32)
        .fetch_all(&mut *tx)
        .await?;
        let (mut icpc2, mut outcome, mut policy) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (&id, &consultation)) in ids.iter().zip(chunk).enumerate() {
            let k = consultation as usize + i;
            icpc2.push(vault.encrypt("consultation_results", "icpc2_encrypted", id as i64, CODES[k % CODES.len()])?);
            outcome.push(vault.encrypt("consultation_results", "outcome_encrypted", id as i64, OUTCOMES[k % OUTCOMES.len()])?);
            policy.push(vault.encrypt(
                "consultation_results",
                "policy_number_encrypted",
                id as i64,
                &format!("{}", 70_000_000 + consultation),
            )?);
        }
        sqlx::query(
            "INSERT INTO consultation_results (id, consultation_id, version, author_staff_id, icpc2_encrypted, outcome_encrypted, policy_number_encrypted)
             SELECT * FROM unnest($1::int[], $2::int[], array_fill(1, ARRAY[$6]), array_fill($3::int, ARRAY[$6]), $4::bytea[], $5::bytea[], $7::bytea[])",
        )
        .bind(&ids)
        .bind(chunk)
        .bind(doctor)
        .bind(&icpc2)
        .bind(&outcome)
        .bind(chunk.len() as i32)
        .bind(&policy)
        .execute(&mut *tx)
        .await?;
    }
    for table in ["patient_persons", "patients", "communication_preference_tokens", "consultations", "consultation_results"] {
        tx.execute(format!("ALTER TABLE {table} ENABLE TRIGGER USER").as_str()).await?;
    }
    tx.commit().await?;
    owner.execute("ANALYZE").await?;
    println!(
        "seeded {n} consultations ({} with a result) for partner 'bench' in {:.1} s",
        completed.len(),
        t.elapsed().as_secs_f64()
    );

    let (admin, password) = &accounts[0];
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(opts.clone().username(&admin.login).password(password.expose()))
        .await?;
    let dir = std::env::temp_dir().join(format!("digimed-bench-report-{suffix}"));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let today = chrono::Utc::now().date_naive();
    let year = ReportRequest { partner: "bench".into(), from: today - chrono::Duration::days(366), to: today };
    let month = ReportRequest { partner: "bench".into(), from: today - chrono::Duration::days(31), to: today };
    let outcome = async {
        let base = baseline(owner, partner, &year).await?;
        println!("raw-SQL baseline (read the same rows, no decryption, no file): {} rows in {:.2} s", base.0, base.1);
        println!("{:<8} {:<7} {:>9} {:>9} {:>11} {:>10} {:>14} {:>9}", "format", "period", "rows", "seconds", "rows/s", "vs raw", "peak RSS (MB)", "file (MB)");
        for (label, request) in [("month", &month), ("year", &year)] {
            for ext in ["xlsx", "csv"] {
                let out = dir.join(format!("report-{label}.{ext}"));
                reset_peak_rss();
                let before = rss_kb();
                let t = Instant::now();
                let summary = report::export(ClinicTx::begin(&pool).await?, &vault, request, &out, &mut |_, _| {}).await?;
                let secs = t.elapsed().as_secs_f64();
                let peak = peak_rss_kb().max(before);
                let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
                println!(
                    "{:<8} {:<7} {:>9} {:>9.2} {:>11.0} {:>10.2} {:>14.1} {:>9.1}",
                    ext,
                    label,
                    summary.consultations,
                    secs,
                    summary.consultations as f64 / secs,
                    secs / base.1.max(1e-9) * (base.0 as f64 / summary.consultations.max(1) as f64),
                    peak as f64 / 1024.0,
                    size as f64 / 1e6
                );
            }
        }
        println!("(vs raw: export time per row over the baseline's read time per row; peak RSS is the whole process's high-water mark during that export)");
        Ok::<_, Error>(())
    }
    .await;
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Reads the rows the report reads, as the owner, streaming and discarding them.
async fn baseline(pool: &PgPool, partner: i32, r: &ReportRequest) -> Result<(u64, f64), Error> {
    let t = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut rows = sqlx::query(
        "SELECT c.id, c.state, c.created_at, c.assigned_at, c.starts_at, c.ends_at, c.deadline_at,
                r.id, r.icpc2_encrypted, r.outcome_encrypted, r.policy_number_encrypted
           FROM consultations c
           LEFT JOIN LATERAL (SELECT cr.id, cr.icpc2_encrypted, cr.outcome_encrypted, cr.policy_number_encrypted
                                FROM consultation_results cr WHERE cr.consultation_id = c.id
                               ORDER BY cr.version DESC LIMIT 1) r ON true
          WHERE c.partner_id = $1 AND c.created_at >= ($2::date)::timestamp AT TIME ZONE 'Europe/Oslo'
            AND c.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'Europe/Oslo'
          ORDER BY c.created_at, c.id",
    )
    .bind(partner)
    .bind(r.from)
    .bind(r.to)
    .fetch(&mut *conn);
    let mut n = 0u64;
    while let Some(row) = rows.try_next().await? {
        let _: i32 = row.get(0);
        n += 1;
    }
    Ok((n, t.elapsed().as_secs_f64()))
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

fn peak_rss_kb() -> u64 {
    status_kb("VmHWM:")
}

/// Resets the kernel's peak-RSS mark of this process (writing 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write(Path::new("/proc/self/clear_refs"), "5");
}
