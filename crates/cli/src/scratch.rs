//! A throw-away database for the benchmarks, created next to the one `DATABASE_URL` names and
//! dropped afterwards together with the staff logins the benchmark created in it.

use digimed_core::config::Config;
use digimed_core::{db, Error};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

pub struct Scratch {
    /// Connection options for the scratch database, as the owner.
    pub options: PgConnectOptions,
    /// A suffix unique to this run, for names (logins, e-mail addresses) made in it.
    pub suffix: String,
    /// Logins created in the run; dropped with the database.
    pub logins: Vec<String>,
    name: String,
    server: PgConnection,
}

impl Scratch {
    pub async fn create(config: &Config, prefix: &str) -> Result<Scratch, Error> {
        let base = db::connect_options(config.database_url()?)?;
        let suffix = format!("{:x}", std::process::id() as u64 ^ chrono::Utc::now().timestamp_micros() as u64);
        let name = format!("{prefix}_{suffix}");
        let mut server = PgConnection::connect_with(&base.clone().disable_statement_logging()).await?;
        server.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        let options = base.database(&name).disable_statement_logging();
        Ok(Scratch { options, suffix, logins: Vec::new(), name, server })
    }

    /// Drops the database and the run's logins, unless `keep`.
    pub async fn finish(mut self, keep: bool) {
        if keep {
            eprintln!("kept database {}", self.name);
            return;
        }
        let _ = self.server.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await;
        for login in &self.logins {
            if let Ok(ddl) = sqlx::query_scalar::<_, String>("SELECT format('DROP ROLE IF EXISTS %I', $1::text)")
                .bind(login)
                .fetch_one(&mut self.server)
                .await
            {
                let _ = self.server.execute(ddl.as_str()).await;
            }
        }
    }
}

/// The benchmarks' clinic and its insurer partner `bench` (the owner migrates first).
pub struct BenchClinic {
    pub clinic: i32,
    pub partner: i32,
}

pub async fn bench_clinic(owner: &sqlx::PgPool) -> Result<BenchClinic, Error> {
    db::migrate(owner).await?;
    let clinic: i32 = sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Bench clinic', 'clinic') RETURNING id")
        .fetch_one(owner)
        .await?;
    let insurer: i32 =
        sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Bench insurer', 'insurer_partner') RETURNING id")
            .fetch_one(owner)
            .await?;
    let partner: i32 = sqlx::query_scalar(
        "INSERT INTO partners (organization_id, clinic_id, name, is_test_partner) VALUES ($1, $2, 'bench', true) RETURNING id",
    )
    .bind(insurer)
    .bind(clinic)
    .fetch_one(owner)
    .await?;
    Ok(BenchClinic { clinic, partner })
}

/// The schema of the bare reference: plain copies of project tables.
pub const BARE: &str = "bench_bare";

/// Creates, in the scratch database, the schema [`BARE`] with a plain copy of each of `tables`:
/// the same columns, defaults, checks and indexes, but none of the project's triggers, row-level
/// security policies or foreign keys. The benchmarks' bare reference writes there; the schema
/// goes with the scratch database (or with [`drop_bare`]).
pub async fn create_bare(owner: &sqlx::PgPool, tables: &[&str]) -> Result<(), Error> {
    let mut ddl = format!("DROP SCHEMA IF EXISTS {BARE} CASCADE; CREATE SCHEMA {BARE};");
    for table in tables {
        ddl.push_str(&format!("CREATE TABLE {BARE}.{table} (LIKE public.{table} INCLUDING ALL);"));
    }
    sqlx::raw_sql(&ddl).execute(owner).await?;
    Ok(())
}

pub async fn drop_bare(owner: &sqlx::PgPool) -> Result<(), Error> {
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {BARE} CASCADE")).execute(owner).await?;
    Ok(())
}
