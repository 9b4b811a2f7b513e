//! `digimed bench serve`: drives the HTTP service the way the outside world does. A scratch
//! database is created next to the one `DATABASE_URL` names (migrated, with a clinic, a support
//! agent with an API token, a test partner with a webhook secret, and the service's own login),
//! `digimed serve`'s router and outgoing-webhook worker are started in this process on a random
//! loopback port, and N concurrent clients post onboardings and signed partner referrals, mixed,
//! for D seconds. Prints requests per second, p50/p95/p99 latency and errors per kind of request.
//! Clients send as soon as their previous answer arrived (closed loop: the figures are those of
//! a saturated service), or with `--rate`, on a fixed schedule (open loop: the latency a caller
//! meets at that load).
//! With `--soak-minutes`, runs that long and samples the process's resident memory as it goes;
//! each minute it prints that minute's request p99, seals the audit chain as the owner (timed) and
//! reads the plan of the sealer's scan of the pending queue (time and buffers), and at the end it
//! sets the first ten minutes against the last ten, to show whether anything grows with time.
//! The service acts for the support agent as `digimed serve` does (its own login becoming the
//! agent's for each transaction). Afterwards, at the same client count, the bare reference: an
//! onboarding's writes as one statement on plain copies of the tables, without the project's
//! triggers and policies (see `bench_onboarding`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use digimed_core::accounts::Accounts;
use digimed_core::config::{AccountDirectory, Config};
use digimed_core::keys::Vault;
use digimed_core::referrals::{add_partner, NewPartner};
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SigningKey};
use digimed_core::{db, ClinicTx, Error};
use digimed_crypto::Secret;
use digimed_domain::{Email, NationalId, PersonName};
use sqlx::postgres::PgPoolOptions;
use sqlx::ConnectOptions;

use crate::scratch::Scratch;

#[derive(Args)]
pub struct BenchServeArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds of measured load (after a two-second warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Run this many minutes instead of `--seconds`, sampling the process's resident memory
    /// every few seconds, and print its start, end and highest value; each minute, its request
    /// p99 and a timed seal of the audit chain, and at the end the first ten minutes against the
    /// last ten.
    #[arg(long)]
    soak_minutes: Option<u64>,
    /// Offered load in requests per second, shared evenly by the clients, each sending on a fixed
    /// schedule (open loop) instead of as soon as its previous answer arrived (closed loop, the
    /// default). Latency then counts from when a request was due, so a request held up behind a
    /// slow one is not hidden.
    #[arg(long)]
    rate: Option<f64>,
    /// Share of requests that are partner referral webhooks, in percent; the rest are onboardings.
    #[arg(long, default_value_t = 50)]
    referral_percent: u64,
    /// Where patient accounts are created: a Clerk stand-in in this process that answers at
    /// once, or the local account directory.
    #[arg(long, value_enum, default_value_t = AccountsChoice::ClerkStandin)]
    accounts: AccountsChoice,
    /// Database connections of the service (as `digimed serve` opens).
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Keep the scratch database (and its logins) afterwards.
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AccountsChoice {
    ClerkStandin,
    Local,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bench: {e}"))
}

pub async fn run(config: &Config, args: BenchServeArgs) -> Result<(), Error> {
    let mut scratch = Scratch::create(config, "digimed_bench_serve").await?;
    let (opts, suffix) = (scratch.options.clone(), scratch.suffix.clone());
    let result = bench(config, &args, &opts, &suffix, &mut scratch.logins).await;
    scratch.finish(args.keep).await;
    result
}

/// Latencies in buckets 1 % wide (from 1 µs to about 27 hours), so that memory stays the same
/// however long the run.
struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    errors: AtomicU64,
    statuses: Mutex<BTreeMap<String, u64>>,
    max_us: AtomicU64,
}

const GROWTH: f64 = 1.01;

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: (0..2600).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            statuses: Mutex::new(BTreeMap::new()),
            max_us: AtomicU64::new(0),
        }
    }

    fn record(&self, d: Duration) {
        let us = d.as_micros().max(1) as f64;
        let i = ((us.ln() / GROWTH.ln()) as usize).min(self.buckets.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.statuses.lock().unwrap().entry(what).or_insert(0) += 1;
    }

    /// The latency below which `p` of the recorded requests fall, in milliseconds (upper edge
    /// of the bucket).
    fn percentile_ms(&self, p: f64) -> f64 {
        let total = self.count.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        let want = ((total as f64) * p).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= want {
                return GROWTH.powi(i as i32 + 1) / 1000.0;
            }
        }
        self.max_us.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// The bucket counts now, to subtract from a later snapshot for the requests in between.
    fn snapshot(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect()
    }

    fn merge_from(&self, other: &Histogram) {
        for (a, b) in self.buckets.iter().zip(&other.buckets) {
            a.fetch_add(b.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.count.fetch_add(other.count.load(Ordering::Relaxed), Ordering::Relaxed);
        self.errors.fetch_add(other.errors.load(Ordering::Relaxed), Ordering::Relaxed);
        self.max_us.fetch_max(other.max_us.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut mine = self.statuses.lock().unwrap();
        for (k, v) in other.statuses.lock().unwrap().iter() {
            *mine.entry(k.clone()).or_insert(0) += v;
        }
    }
}

/// Distinct synthetic national ids, without remembering the ones handed out (the soak's memory
/// must not grow with the number of requests).
struct Ids(AtomicU64);

impl Ids {
    fn next(&self) -> NationalId {
        let first = chrono::NaiveDate::from_ymd_opt(1930, 1, 1).expect("a date");
        loop {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            let date = first + chrono::Days::new(n / 500);
            let individual = (n % 500) as u16 + if chrono::Datelike::year(&date) >= 2000 { 500 } else { 0 };
            if let Some(id) = NationalId::synthetic(date, individual) {
                return id;
            }
        }
    }
}

/// A stand-in for Clerk's Backend API that answers at once: no user is ever found, every
/// creation succeeds.
async fn clerk_standin() -> Result<(String, tokio::sync::oneshot::Sender<()>), Error> {
    use axum::routing::{delete, get};
    let next = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new()
        .route(
            "/v1/users",
            get(|| async { axum::Json(serde_json::json!([])) }).post(move || {
                let n = next.fetch_add(1, Ordering::Relaxed);
                async move { axum::Json(serde_json::json!({"id": format!("user_bench{n:08}")})) }
            }),
        )
        .route("/v1/users/{id}", delete(|| async { axum::Json(serde_json::json!({"deleted": true})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}/v1"), tx))
}

/// CPU time (user and system) this process has used so far (Linux), if it can be read.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in clock ticks, 100 per second on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// The process's resident set size in KiB (Linux), if it can be read.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The latency below which `p` of a window's requests fall (bucket counts from
/// [`Histogram::snapshot`] differences), in milliseconds.
fn window_percentile_ms(counts: &[u64], p: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let want = ((total as f64) * p).ceil() as u64;
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= want {
            return GROWTH.powi(i as i32 + 1) / 1000.0;
        }
    }
    0.0
}

/// One minute of a soak: its requests' latency buckets and what the audit chain's sealer cost.
struct SoakMinute {
    buckets: Vec<u64>,
    answered: u64,
    seal: Option<SealProbe>,
}

/// A seal run by the benchmark (as the owner) and the plan of the sealer's scan of the queue.
#[derive(Clone, Copy)]
struct SealProbe {
    seal_ms: f64,
    chained: i32,
    scan_ms: f64,
    scan_buffers: i64,
}

/// Seals what waits and reads how much the sealer's scan of `audit_pending` has to walk: the
/// figures that grow if the queue's dead entries were read again by every seal.
async fn probe_seal(owner: &sqlx::PgPool) -> Result<SealProbe, Error> {
    let started = Instant::now();
    let chained: i32 = sqlx::query_scalar("SELECT audit_seal_pending()").fetch_one(owner).await?;
    let seal_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The sealer's scan (the rows its DELETE … RETURNING takes), planned as the sealer plans it:
    // sequential scans of the queue forbidden.
    let mut tx = owner.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
    let plan: serde_json::Value = sqlx::query_scalar(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
         SELECT * FROM audit_pending WHERE xact >= (SELECT pending_from FROM audit_chain_head WHERE singleton)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    let top = &plan[0];
    let buffers = |k: &str| top["Plan"][k].as_i64().unwrap_or(0);
    Ok(SealProbe {
        seal_ms,
        chained,
        scan_ms: top["Execution Time"].as_f64().unwrap_or(0.0),
        scan_buffers: buffers("Shared Hit Blocks") + buffers("Shared Read Blocks"),
    })
}

/// The soak's first and last minutes side by side (ten each, or a third of the soak when it is
/// shorter than thirty minutes): request p99, seals and the sealer's scan.
fn print_soak_trend(minutes: &[SoakMinute]) {
    if minutes.len() < 3 {
        return;
    }
    let span = (minutes.len() / 3).clamp(1, 10);
    let summary = |w: &[SoakMinute]| {
        let mut counts = vec![0u64; w[0].buckets.len()];
        for m in w {
            for (c, b) in counts.iter_mut().zip(&m.buckets) {
                *c += b;
            }
        }
        let probes: Vec<SealProbe> = w.iter().filter_map(|m| m.seal).collect();
        let mut seals: Vec<f64> = probes.iter().map(|p| p.seal_ms).collect();
        seals.sort_by(f64::total_cmp);
        let median = seals.get(seals.len() / 2).copied().unwrap_or(0.0);
        let n = probes.len().max(1) as f64;
        (
            window_percentile_ms(&counts, 0.99),
            w.iter().map(|m| m.answered).sum::<u64>() as f64 / (w.len() as f64 * 60.0),
            median,
            probes.iter().map(|p| p.scan_ms).sum::<f64>() / n,
            probes.iter().map(|p| p.scan_buffers as f64).sum::<f64>() / n,
        )
    };
    let (first, last) = (summary(&minutes[..span]), summary(&minutes[minutes.len() - span..]));
    println!("soak trend, first {span} minute(s) against the last {span}:");
    println!("  {:<34} {:>10} {:>10}", "", "first", "last");
    println!("  {:<34} {:>10.2} {:>10.2}", "request p99, ms", first.0, last.0);
    println!("  {:<34} {:>10.1} {:>10.1}", "requests answered/s", first.1, last.1);
    println!("  {:<34} {:>10.2} {:>10.2}", "seal (median of the probes), ms", first.2, last.2);
    println!("  {:<34} {:>10.3} {:>10.3}", "sealer's scan of the queue, ms", first.3, last.3);
    println!("  {:<34} {:>10.1} {:>10.1}", "sealer's scan of the queue, buffers", first.4, last.4);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Onboarding,
    Referral,
}

async fn bench(
    config: &Config,
    args: &BenchServeArgs,
    opts: &sqlx::postgres::PgConnectOptions,
    suffix: &str,
    logins: &mut Vec<String>,
) -> Result<(), Error> {
    let owner = PgPoolOptions::new().max_connections(4).connect_with(opts.clone().disable_statement_logging()).await?;
    db::migrate(&owner).await?;
    let clinic = crate::bench_onboarding::setup_clinic(&owner).await?;
    let vault = match Vault::load(&config.key_store) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("note: no data keys configured; the benchmark uses throw-away keys");
            Vault::new(digimed_crypto::DataKeys::generate())
        }
    };

    // The caller: a support agent with an API token.
    let email = Email::parse(&format!("bench-{suffix}-support@bench.digimed.test")).map_err(err)?;
    let password = Secret::new(digimed_core::patients::new_token());
    let name = PersonName::parse("Bench Support").map_err(err)?;
    let staff = ClinicTx::run(&owner, async |tx| {
        digimed_core::staff::add_staff(tx, &email, &name, AppRole::CustomerSupport, Some(clinic), &password).await
    })
    .await?;
    logins.push(staff.login.clone());
    let token = ClinicTx::run(&owner, async |tx| digimed_core::api_tokens::create(tx, &email, Some(1)).await).await?.token;
    // The partner and its webhook secret.
    let secret = digimed_core::patients::new_token();
    let partner =
        NewPartner { name: "bench-pridok", clinic_id: clinic, is_test_partner: true, deadline_working_days: 2, deal_id: None };
    ClinicTx::run(&owner, async |tx| add_partner(tx, &vault, &partner, &secret).await).await?;
    let key = SigningKey::from_secret(&secret)?;
    // The service's own login, as `digimed api-token service-login` creates it.
    let service_login = format!("digimed_bench_svc_{suffix}");
    let service_password = Secret::new(digimed_core::patients::new_token());
    ClinicTx::run(&owner, async |tx| digimed_core::api_tokens::create_service_login(tx, &service_login, &service_password).await)
        .await?;
    logins.push(service_login.clone());

    let (accounts, clerk_stop, accounts_label) = match args.accounts {
        AccountsChoice::ClerkStandin => {
            let (api_url, stop) = clerk_standin().await?;
            let dir = AccountDirectory::Clerk { api_url, secret_key: Secret::new(format!("sk_test_bench_{suffix}")) };
            (Accounts::from_config(&dir)?, Some(stop), "a Clerk stand-in in this process answering at once")
        }
        AccountsChoice::Local => (Accounts::Local, None, "the local account directory"),
    };

    // `digimed serve`, in this process: its pool, its outgoing-webhook worker, its router.
    let pool = PgPoolOptions::new()
        .max_connections(args.connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.clone().application_name("digimed").username(&service_login).password(service_password.expose()))
        .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = digimed_service::webhooks::Worker::new(pool.clone(), vault.clone(), Default::default());
    let worker = tokio::spawn(worker.run(stop_rx));
    let reference_vault = vault.clone();
    let state = digimed_service::AppState {
        pool: pool.clone(),
        vault,
        accounts,
        phone_country: "47".into(),
        patient_sessions: None,
        booking_partner: None,
        clerk_webhook_key: None,
        callrail: None,
        fax: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
    let base = format!("http://{}", listener.local_addr().map_err(err)?);
    let (serve_stop, serve_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(digimed_service::serve(listener, state, async {
        let _ = serve_rx.await;
    }));

    let soak = args.soak_minutes.map(|m| Duration::from_secs(m.max(1) * 60));
    let measured = soak.unwrap_or(Duration::from_secs(args.seconds.max(1)));
    let clients = args.clients.max(1);
    let share = args.referral_percent.min(100);
    let rate = args.rate.filter(|r| r.is_finite() && *r > 0.0);
    // With a rate, each client sends every `clients / rate` seconds, the clients staggered.
    let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
    println!(
        "serve benchmark: {clients} concurrent clients, {} {}, {share}% signed referral webhooks and {}% onboardings,",
        if soak.is_some() { measured.as_secs() / 60 } else { measured.as_secs() },
        if soak.is_some() { "minute(s)" } else { "s" },
        100 - share,
    );
    println!(
        "  {} build, service with {} database connections, accounts in {accounts_label}",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        args.connections.max(1)
    );
    match rate {
        Some(r) => println!("  open loop: {r:.0} requests/s offered, latency counted from when each request was due"),
        None => println!("  closed loop: each client sends as soon as its previous answer arrived"),
    }

    let hist = Arc::new([Histogram::new(), Histogram::new()]);
    let ids = Arc::new(Ids(AtomicU64::new(0)));
    let counter = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().map_err(err)?;
    let warm_up = Duration::from_secs(2);
    let start = Instant::now();
    let measure_from = start + warm_up;
    let deadline = measure_from + measured;
    let mut tasks = Vec::new();
    let cpu_before = cpu_time();
    for client in 0..clients {
        let (http, hist, ids, counter, base, key) =
            (http.clone(), hist.clone(), ids.clone(), counter.clone(), base.clone(), key.clone());
        let (token, suffix) = (token.expose().clone(), suffix.to_string());
        tasks.push(tokio::spawn(async move {
            // When this client's next request is due (open loop only).
            let mut due = interval.map(|i| start + i.mul_f64(client as f64 / clients as f64));
            loop {
                if let Some(at) = due {
                    if at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(at.into()).await;
                } else if Instant::now() >= deadline {
                    break;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let kind = if (n * 37 % 100) < share { Kind::Referral } else { Kind::Onboarding };
                let req = match kind {
                    Kind::Onboarding => {
                        http.post(format!("{base}/v1/patients/onboard")).bearer_auth(&token).json(&serde_json::json!({
                            "name": format!("Bench Person {n}"),
                            "email": format!("bench.{suffix}.{n}@example.com"),
                            "phone": format!("+479{:07}", n % 10_000_000),
                            "organization_id": clinic,
                        }))
                    }
                    Kind::Referral => {
                        let body = serde_json::json!({
                            "JournalGuid": uuid_from(n, &suffix),
                            "PID": ids.next().as_str(),
                            "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
                            "MessageTimestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            "Firstname": "Bench",
                            "Lastname": format!("Referral{n}"),
                            "PhoneNumber": format!("+474{:07}", n % 10_000_000),
                        })
                        .to_string();
                        let ts = chrono::Utc::now().timestamp();
                        let id = format!("msg_bench_{n}");
                        let sig = webhook_signature::sign(&key, &id, ts, &body);
                        http.post(format!("{base}/v1/webhooks/pridok"))
                            .header("content-type", "application/json")
                            .header("webhook-id", id)
                            .header("webhook-timestamp", ts.to_string())
                            .header("webhook-signature", sig)
                            .body(body)
                    }
                };
                let h = &hist[kind as usize];
                // Open loop: from when the request was due, which is before now if the client
                // is behind its schedule.
                let t = due.unwrap_or_else(Instant::now);
                if let (Some(d), Some(i)) = (due.as_mut(), interval) {
                    *d += i;
                }
                let outcome = req.send().await;
                let outcome = match outcome {
                    Ok(resp) => {
                        let status = resp.status();
                        // Read the whole answer, as a caller would.
                        resp.bytes().await.map(|_| status)
                    }
                    Err(e) => Err(e),
                };
                let elapsed = t.elapsed();
                if t < measure_from {
                    continue;
                }
                match outcome {
                    Ok(status) if status.is_success() => h.record(elapsed),
                    Ok(status) => h.error(format!("HTTP {}", status.as_u16())),
                    Err(e) => h.error(if e.is_timeout() { "timeout".into() } else { "connection failed".into() }),
                }
            }
        }));
    }

    // Memory, sampled every five seconds. A soak also prints one line a minute: that minute's
    // request p99, and a seal with the plan of the sealer's scan of the queue.
    let sampler = {
        let (hist, owner) = (hist.clone(), owner.clone());
        let every = Duration::from_secs(5);
        tokio::spawn(async move {
            let mut samples: Vec<(Duration, u64)> = Vec::new();
            let mut minutes: Vec<SoakMinute> = Vec::new();
            tokio::time::sleep_until(measure_from.into()).await;
            let both = || {
                let (a, b) = (hist[0].snapshot(), hist[1].snapshot());
                a.iter().zip(&b).map(|(x, y)| x + y).collect::<Vec<u64>>()
            };
            let mut previous = both();
            let mut next_minute = 60;
            loop {
                let now = Instant::now();
                // The last pass, at the deadline, still closes the soak's last minute.
                let done = now >= deadline;
                if let Some(kib) = rss_kib() {
                    let at = now.min(deadline) - measure_from;
                    if !done {
                        samples.push((at, kib));
                    }
                    if soak.is_some() && at.as_secs() >= next_minute {
                        let current = both();
                        let buckets: Vec<u64> = current.iter().zip(&previous).map(|(c, p)| c - p).collect();
                        previous = current;
                        let answered: u64 = buckets.iter().sum();
                        let seal = probe_seal(&owner).await.ok();
                        let seal_text = seal.map_or_else(
                            || "seal probe failed".to_string(),
                            |p| {
                                format!(
                                    "seal {:.2} ms ({} chained), queue scan {:.3} ms / {} buffers",
                                    p.seal_ms, p.chained, p.scan_ms, p.scan_buffers
                                )
                            },
                        );
                        println!(
                            "  minute {:>3}: RSS {:>7.1} MiB, {answered} answered, p99 {:.2} ms, {seal_text}",
                            at.as_secs() / 60,
                            mib(kib),
                            window_percentile_ms(&buckets, 0.99)
                        );
                        minutes.push(SoakMinute { buckets, answered, seal });
                        next_minute += 60;
                    }
                }
                if done {
                    break;
                }
                tokio::time::sleep(every.min(deadline.saturating_duration_since(Instant::now()))).await;
            }
            if let Some(kib) = rss_kib() {
                samples.push((deadline - measure_from, kib));
            }
            (samples, minutes)
        })
    };
    for t in tasks {
        t.await.map_err(err)?;
    }
    let (samples, minutes) = sampler.await.map_err(err)?;

    let cpu_used = cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));

    // Requests started during the warm-up are not counted; the rate is over the measured time.
    let secs = measured.as_secs_f64();
    println!(
        "{:<11} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "kind", "answered", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    let all = Histogram::new();
    for (label, h) in [("onboarding", &hist[0]), ("referral", &hist[1])] {
        print_row(label, h, secs);
        all.merge_from(h);
    }
    print_row("all", &all, secs);
    // Every request sent, the warm-up's included, as the CPU time includes the warm-up.
    let sent = counter.load(Ordering::Relaxed);
    if let Some(cpu) = cpu_used.filter(|_| sent > 0) {
        println!(
            "CPU of this process (service, clients and stand-in; the database server not included): {:.2} ms per request",
            cpu.as_secs_f64() * 1000.0 / sent as f64
        );
    }
    let statuses: Vec<String> = all.statuses.lock().unwrap().iter().map(|(k, v)| format!("{k} x{v}")).collect();
    if !statuses.is_empty() {
        println!("errors: {}", statuses.join(", "));
    }
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
        let min = samples.iter().map(|s| s.1).min().unwrap_or(0);
        println!(
            "memory (RSS of this process: service, clients and stand-in): start {:.1} MiB, end {:.1} MiB, max {:.1} MiB, min {:.1} MiB ({} samples)",
            mib(first.1),
            mib(last.1),
            mib(max),
            mib(min),
            samples.len()
        );
        if samples.len() >= 4 {
            // Second half against first half, to tell a plateau from a steady climb.
            let half = samples.len() / 2;
            let avg = |s: &[(Duration, u64)]| s.iter().map(|x| x.1 as f64).sum::<f64>() / s.len() as f64;
            println!(
                "  mean RSS first half {:.1} MiB, second half {:.1} MiB",
                avg(&samples[..half]) / 1024.0,
                avg(&samples[half..]) / 1024.0
            );
        }
    }

    print_soak_trend(&minutes);

    let _ = serve_stop.send(());
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), worker).await;
    if let Some(stop) = clerk_stop {
        let _ = stop.send(());
    }
    pool.close().await;

    // The bare reference, at the same client count, on the same server, after the service is
    // stopped: the writes of one onboarding as one statement on plain tables.
    let bare_pool =
        PgPoolOptions::new().max_connections(clients as u32).connect_with(opts.clone().disable_statement_logging()).await?;
    let bare = crate::bench_onboarding::bare_reference(
        &bare_pool,
        &reference_vault,
        clinic,
        clients,
        measured.min(Duration::from_secs(60)),
    )
    .await;
    bare_pool.close().await;
    owner.close().await;
    let bare = bare?;
    let onboarded = hist[0].count.load(Ordering::Relaxed) as f64 / secs;
    println!(
        "bare reference (an onboarding's writes as one statement on plain tables, {clients} clients): {:.1} tx/s, p50 {:.2} ms, p99 {:.2} ms",
        bare.per_second(),
        bare.percentile_ms(0.50),
        bare.percentile_ms(0.99)
    );
    println!(
        "  onboardings answered/s over the bare reference: {:.2}{}",
        if bare.per_second() > 0.0 { onboarded / bare.per_second() } else { 0.0 },
        if share > 0 { format!(" (onboardings were {}% of the requests)", 100 - share) } else { String::new() }
    );
    let errors = all.errors.load(Ordering::Relaxed);
    if errors > 0 {
        eprintln!("note: {errors} request(s) failed");
    }
    Ok(())
}

/// One line of the table: requests answered (with success or not) and their rate; latencies of
/// the successful ones; errors.
fn print_row(label: &str, h: &Histogram, secs: f64) {
    let n = h.count.load(Ordering::Relaxed) + h.errors.load(Ordering::Relaxed);
    println!(
        "{label:<11} {n:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
        n as f64 / secs,
        h.percentile_ms(0.50),
        h.percentile_ms(0.95),
        h.percentile_ms(0.99),
        h.max_us.load(Ordering::Relaxed) as f64 / 1000.0,
        h.errors.load(Ordering::Relaxed)
    );
}

/// A referral's JournalGuid, unique per run and request.
fn uuid_from(n: u64, suffix: &str) -> String {
    let run = u64::from_str_radix(suffix, 16).unwrap_or(0);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (run >> 32) as u32,
        (run >> 16) as u16,
        run & 0xfff,
        (n >> 48) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}
