//! `digimed bench queue`: seeds a scratch database (created next to the one `DATABASE_URL` names,
//! dropped afterwards) with historical and open consultations, then measures
//! - pick throughput of `queue::pick_next` with concurrent doctors, each signed in with their own
//!   login, next to the bare reference (a plain `UPDATE … FOR UPDATE SKIP LOCKED` on a copy of
//!   the consultations without the project's triggers and policies, at the same client count)
//!   and the with-triggers baseline (that statement on the project's table, by the same doctors'
//!   logins), in the same run, and
//! - the latency of `queue::list` for the first 50 open consultations, as a secretary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use digimed_core::config::Config;
use digimed_core::queue::{self, QueueFilter};
use digimed_core::session::{current_staff, AppRole, StaffSession};
use digimed_core::{ClinicTx, Error};
use digimed_crypto::Secret;
use digimed_domain::{Email, PersonName};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use crate::bench_table::{Samples, Table};
use crate::scratch::{Scratch, BARE};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Queue picking and listing on a seeded scratch database.
    Queue {
        /// Completed or cancelled consultations of the past two years.
        #[arg(long, default_value_t = 1_000_000)]
        historical: i64,
        /// Open consultations (four in five ready for pickup).
        #[arg(long, default_value_t = 10_000)]
        open: i64,
        /// Concurrent doctors picking.
        #[arg(long, default_value_t = 16)]
        doctors: usize,
        /// Picks per measured round; two rounds each of the core, the bare reference and the
        /// with-triggers baseline, taking turns.
        #[arg(long, default_value_t = 1_500)]
        picks: usize,
        /// Listings timed.
        #[arg(long, default_value_t = 1_000)]
        listings: usize,
        /// Keep the scratch database (and its logins) afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// Onboarding at 1 and 8 clients as a staff login, next to the bare reference (the same
    /// writes on plain tables) and a raw-SQL baseline on the project's tables, on a throw-away
    /// database.
    Onboarding(crate::patients_cmd::BenchOnboardingArgs),
    /// Insurer report export (.xlsx and .csv) of 100,000 consultations: time and peak memory,
    /// next to a raw-SQL read of the same rows.
    Report(crate::bench_report::BenchReportArgs),
    /// `digimed serve` on loopback under concurrent onboardings and signed referral webhooks:
    /// requests/s, p50/p95/p99 latency and errors per kind; `--soak-minutes` also tracks memory.
    Serve(crate::bench_serve::BenchServeArgs),
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bench: {e}"))
}

pub async fn run(config: &Config, command: BenchCommand) -> Result<(), Error> {
    let (historical, open, doctors, picks, listings, keep) = match command {
        BenchCommand::Queue { historical, open, doctors, picks, listings, keep } => {
            (historical, open, doctors, picks, listings, keep)
        }
        BenchCommand::Onboarding(args) => return crate::patients_cmd::bench_onboarding(config, args).await,
        BenchCommand::Report(args) => return crate::bench_report::run(config, args).await,
        BenchCommand::Serve(args) => return crate::bench_serve::run(config, args).await,
    };
    let mut scratch = Scratch::create(config, "digimed_bench").await?;
    let owner = PgPoolOptions::new().max_connections(4).connect_with(scratch.options.clone()).await.map_err(Error::from)?;
    let (opts, suffix) = (scratch.options.clone(), scratch.suffix.clone());
    let result = bench(&owner, &opts, &suffix, historical, open, doctors, picks, listings, &mut scratch.logins).await;
    owner.close().await;
    scratch.finish(keep).await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn bench(
    owner: &PgPool,
    opts: &PgConnectOptions,
    suffix: &str,
    historical: i64,
    open: i64,
    doctors: usize,
    picks: usize,
    listings: usize,
    logins: &mut Vec<String>,
) -> Result<(), Error> {
    let t = Instant::now();
    let crate::scratch::BenchClinic { clinic, partner } = crate::scratch::bench_clinic(owner).await?;

    // Staff: the doctors who pick and a secretary who lists, each with their own login.
    let mut staff = Vec::new();
    for i in 0..=doctors {
        let (role, who) =
            if i < doctors { (AppRole::Doctor, format!("doctor{i}")) } else { (AppRole::Secretary, "secretary".into()) };
        let email = Email::parse(&format!("bench-{suffix}-{who}@bench.digimed.test")).map_err(err)?;
        let password = Secret::new(digimed_core::patients::new_token());
        let name = PersonName::parse(&who).map_err(err)?;
        let s = ClinicTx::run(owner, async |tx| {
            digimed_core::staff::add_staff(tx, &email, &name, role, Some(clinic), &password).await
        })
        .await?;
        logins.push(s.login.clone());
        staff.push((s, password));
    }
    let doctor_ids: Vec<i32> = staff.iter().filter(|(s, _)| s.role == AppRole::Doctor).map(|(s, _)| s.id).collect();

    // Seeding is set-based with the row triggers (audit, notifications, checks) switched off in
    // this scratch database; every row is valid under the schema's constraints.
    let persons = 20_000i64.min(historical + open).max(1);
    let mut tx = owner.begin().await?;
    for table in ["patient_persons", "patients", "communication_preference_tokens", "consultations"] {
        tx.execute(format!("ALTER TABLE {table} DISABLE TRIGGER USER").as_str()).await?;
    }
    // Secondary indexes are rebuilt once after the bulk insert instead of row by row.
    let secondary: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
          WHERE i.indrelid = 'consultations'::regclass AND NOT i.indisprimary AND NOT i.indisunique",
    )
    .fetch_all(&mut *tx)
    .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT i.indexrelid::regclass::text FROM pg_index i
          WHERE i.indrelid = 'consultations'::regclass AND NOT i.indisprimary AND NOT i.indisunique",
    )
    .fetch_all(&mut *tx)
    .await?;
    for name in &names {
        tx.execute(format!("DROP INDEX {name}").as_str()).await?;
    }
    sqlx::query(
        "INSERT INTO patient_persons (name, status, source_partner_id)
         SELECT 'Bench Patient ' || g, 'draft', $2 FROM generate_series(1, $1) g",
    )
    .bind(persons)
    .bind(partner)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO communication_preference_tokens (patient_person_id, token)
         SELECT id, md5(random()::text) || md5(id::text) FROM patient_persons",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO patients (patient_person_id, organization_id, entry_point, profile_origin) SELECT id, $1, 'partner_referral', true FROM patient_persons")
        .bind(clinic)
        .execute(&mut *tx)
        .await?;
    let first_person: i32 = sqlx::query_scalar("SELECT min(id) FROM patient_persons").fetch_one(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO consultations (patient_person_id, organization_id, partner_id, state, assigned_doctor_id,
                                    created_at, deadline_at, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason, updated_at)
         SELECT $1 + (g % $2)::int, $3, $4, s.state, CASE WHEN s.state = 'completed' THEN $5[1 + (g % cardinality($5))] END,
                s.created, s.created + interval '2 days',
                CASE WHEN s.state = 'completed' THEN s.created + interval '30 minutes' END,
                CASE WHEN s.state = 'completed' THEN s.created + interval '2 hours' END,
                CASE WHEN s.state = 'completed' THEN s.created + interval '2 hours 25 minutes' END,
                CASE WHEN s.state = 'cancelled' THEN s.created + interval '1 hour' END,
                CASE WHEN s.state = 'cancelled' THEN 'Patient recovered' END,
                s.created + interval '3 hours'
           FROM generate_series(1, $6) g
          CROSS JOIN LATERAL (SELECT CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'completed' END AS state,
                                     now() - interval '730 days' + (g::float8 / $6) * interval '720 days' AS created) s",
    )
    .bind(first_person)
    .bind(persons)
    .bind(clinic)
    .bind(partner)
    .bind(&doctor_ids)
    .bind(historical)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO consultations (patient_person_id, organization_id, partner_id, state, assigned_doctor_id,
                                    created_at, deadline_at, assigned_at, starts_at, updated_at)
         SELECT $1 + (g % $2)::int, $3, $4, s.state, CASE WHEN s.state <> 'ready_for_pickup' THEN $5[1 + (g % cardinality($5))] END,
                s.created, add_working_days(s.created, 2),
                CASE WHEN s.state <> 'ready_for_pickup' THEN s.created + interval '1 minute' END,
                CASE WHEN s.state = 'in_progress' THEN s.created + interval '2 minutes' END,
                s.created + interval '2 minutes'
           FROM generate_series(1, $6) g
          CROSS JOIN LATERAL (SELECT CASE g % 10 WHEN 0 THEN 'pending_sp' WHEN 1 THEN 'in_progress' ELSE 'ready_for_pickup' END AS state,
                                     now() - interval '3 days' + (g::float8 / $6) * interval '3 days' - interval '1 minute' AS created) s",
    )
    .bind(first_person)
    .bind(persons)
    .bind(clinic)
    .bind(partner)
    .bind(&doctor_ids)
    .bind(open)
    .execute(&mut *tx)
    .await?;
    for def in &secondary {
        tx.execute(def.as_str()).await?;
    }
    for table in ["patient_persons", "patients", "communication_preference_tokens", "consultations"] {
        tx.execute(format!("ALTER TABLE {table} ENABLE TRIGGER USER").as_str()).await?;
    }
    tx.commit().await?;
    owner.execute("ANALYZE").await?;
    // The bare reference's own copy of the consultations: same rows, columns and indexes, no
    // triggers or policies.
    crate::scratch::create_bare(owner, &["consultations"]).await?;
    owner
        .execute(format!("INSERT INTO {BARE}.consultations SELECT * FROM consultations; ANALYZE {BARE}.consultations").as_str())
        .await?;
    let bare = PgPoolOptions::new()
        .max_connections(doctors.max(1) as u32)
        .min_connections(doctors.max(1) as u32)
        .connect_with(opts.clone())
        .await?;
    let ready: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consultations WHERE state = 'ready_for_pickup'").fetch_one(owner).await?;
    println!(
        "seeded {historical} historical and {open} open consultations ({ready} ready for pickup, {persons} patients) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if (ready as usize) < picks * 4 {
        return Err(err(format!("too few ready consultations ({ready}) for 4 rounds of {picks} picks; lower --picks")));
    }

    // Each doctor has one connection of their own, as a console would.
    let mut doctors_in = Vec::new();
    let mut secretary = None;
    for (s, password) in &staff {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(opts.clone().username(&s.login).password(password.expose()))
            .await?;
        let me = current_staff(&pool).await?;
        if s.role == AppRole::Doctor {
            doctors_in.push((pool, me));
        } else {
            secretary = Some(pool);
        }
    }
    let secretary = secretary.expect("a secretary");

    // Listing latency, as the secretary (row-level security applies).
    let filter = QueueFilter { limit: Some(50), ..Default::default() };
    for _ in 0..50 {
        ClinicTx::run(&secretary, async |tx| queue::list(tx, &filter).await).await?;
    }
    let mut samples = Vec::with_capacity(listings);
    for _ in 0..listings {
        let t = Instant::now();
        let rows = ClinicTx::run(&secretary, async |tx| queue::list(tx, &filter).await).await?;
        samples.push(t.elapsed());
        if rows.len() != 50 {
            return Err(err("the listing did not return 50 rows"));
        }
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).saturating_sub(1).min(samples.len() - 1)];
    let (p50, p95) = (pct(0.50), pct(0.95));

    // Pick throughput: the three paths take turns, twice each.
    let (mut core, mut reference, mut triggers) = (Samples::default(), Samples::default(), Samples::default());
    for _ in 0..2 {
        reference.add(pick_round(&doctors_in, &bare, picks, Pick::Bare).await?);
        core.add(pick_round(&doctors_in, &bare, picks, Pick::Project).await?);
        triggers.add(pick_round(&doctors_in, &bare, picks, Pick::WithTriggers).await?);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    print!(
        "{}",
        Table {
            title: format!("pick throughput, {} concurrent doctors, {} picks per path:", doctors_in.len(), 2 * picks),
            rows: vec![
                ("queue::pick_next (doctor login)", &core),
                ("bare UPDATE SKIP LOCKED", &reference),
                ("raw SQL SKIP LOCKED (project)", &triggers),
            ],
            bare: &reference,
            with_triggers: &triggers,
        }
        .render()
    );
    println!("list first 50 open consultations ({listings} runs, as a secretary):");
    println!(
        "  p50 {:.3} ms   p95 {:.3} ms   (target p95 < 2 ms) {}",
        ms(p50),
        ms(p95),
        if ms(p95) < 2.0 { "ok" } else { "ABOVE TARGET" }
    );
    for (pool, _) in doctors_in {
        pool.close().await;
    }
    secretary.close().await;
    bare.close().await;
    Ok(())
}

/// The statement a bare-bones queue would use, for comparison.
fn baseline_pick(schema: &str) -> String {
    format!(
        "UPDATE {schema}.consultations SET state = 'pending_sp', assigned_doctor_id = $1, assigned_at = now()
          WHERE id = (SELECT id FROM {schema}.consultations WHERE state = 'ready_for_pickup'
                       ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id"
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// `queue::pick_next` through `ClinicTx`, as the doctor's login.
    Project,
    /// The bare statement on the project's table, as the doctor's login.
    WithTriggers,
    /// The bare statement on the trigger-less copy, one connection per doctor.
    Bare,
}

/// Every doctor picks until `picks` consultations have been taken in total; each pick timed.
async fn pick_round(doctors: &[(PgPool, StaffSession)], bare: &PgPool, picks: usize, path: Pick) -> Result<Samples, Error> {
    let taken = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (pool, me) in doctors {
        let (pool, me, taken) = (if path == Pick::Bare { bare.clone() } else { pool.clone() }, me.clone(), taken.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (project_sql, bare_sql) = (baseline_pick("public"), baseline_pick(BARE));
            while taken.fetch_add(1, Ordering::SeqCst) < picks {
                let t = Instant::now();
                let got = match path {
                    Pick::Project => {
                        let mut tx = ClinicTx::begin(&pool).await?;
                        let picked = queue::pick_next(&mut tx).await?.map(|c| c.id);
                        tx.commit().await?;
                        picked
                    }
                    Pick::WithTriggers => {
                        sqlx::query_scalar::<_, i32>(&project_sql).bind(me.staff_id).fetch_optional(&pool).await?
                    }
                    Pick::Bare => sqlx::query_scalar::<_, i32>(&bare_sql).bind(me.staff_id).fetch_optional(&pool).await?,
                };
                latencies.push(t.elapsed());
                if got.is_none() {
                    return Err(err("the queue ran empty during the bench"));
                }
            }
            Ok::<Vec<Duration>, Error>(latencies)
        }));
    }
    let mut samples = Samples::default();
    for t in tasks {
        samples.latencies.extend(t.await.map_err(err)??);
    }
    samples.wall = start.elapsed();
    Ok(samples)
}
