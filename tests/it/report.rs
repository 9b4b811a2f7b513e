//! The insurer report: the workbook and the CSV read back and compared with the database row for
//! row, the summary's counts and percentiles, the newest result version used, each consultation's
//! price, discount and total and the sum rows as the database holds them, exports only by the
//! clinic's admins (audited), field errors without a file, and outcomes admins add.

use digimed_core::{Acting, ClinicTx};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::{Duration, NaiveDateTime, Utc};
use digimed_core::meetings::Meetings;
use digimed_core::queue::{self, NewBooking};
use digimed_core::report::{self, ReportRequest, ReportSummary};
use digimed_core::results::{self, Amendment, ResultInput};
use digimed_core::session::AppRole;
use digimed_core::ErrorCode;
use digimed_core::{orders, outcomes};
use digimed_tests::{Staff, TestDb};
use sqlx::types::Decimal;

struct Clinic {
    db: TestDb,
    partner: String,
    doctor: Staff,
    secretary: Staff,
    admin: Staff,
    dir: PathBuf,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let creds = db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let doctor = db.staff(AppRole::Doctor, oslo, "rep-doctor").await;
    let secretary = db.staff(AppRole::Secretary, oslo, "rep-secretary").await;
    let admin = db.staff(AppRole::Admin, oslo, "rep-admin").await;
    let dir = std::env::temp_dir().join(format!("digimed-report-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    Clinic { db, partner: creds.partner_name, doctor, secretary, admin, dir }
}

impl Drop for Clinic {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn input(icpc2: &str, outcome: &str, policy: &str) -> ResultInput {
    ResultInput { icpc2: icpc2.into(), outcome: outcome.into(), policy_number: Some(policy.into()), ..Default::default() }
}

/// Picks, starts and completes the oldest waiting consultation with the given result.
async fn complete(c: &Clinic, result: ResultInput) -> i32 {
    let picked =
        ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().expect("a consultation to pick");
    ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), picked.id).await).await.unwrap();
    ClinicTx::run(&c.doctor.pool, async |tx| results::complete_with_result(tx, &c.db.vault, picked.id, &result).await)
        .await
        .unwrap();
    picked.id
}

fn period(c: &Clinic) -> ReportRequest {
    let today = Utc::now().date_naive();
    ReportRequest { partner: c.partner.clone(), from: today - Duration::days(400), to: today + Duration::days(1) }
}

async fn export(c: &Clinic, who: &Staff, file: &str) -> digimed_core::Result<ReportSummary> {
    digimed_tests::own(&who.pool, &Acting::Direct, async |tx| {
        report::export(tx, &c.db.vault, &period(c), &c.dir.join(file), &mut |_, _| {}).await
    })
    .await
}

/// What the report should say about each consultation, computed here from the owner's view of
/// the tables and the newest result version decrypted with the test's keys.
#[derive(Debug, PartialEq)]
struct Expected {
    id: i32,
    state: String,
    created: NaiveDateTime,
    started: Option<NaiveDateTime>,
    ended: Option<NaiveDateTime>,
    waiting: Option<i64>,
    treatment: Option<i64>,
    outcome: Option<String>,
    icpc2: Option<String>,
    chapter: Option<String>,
    policy: Option<String>,
    /// Price, discount, total (as the database writes them), currency, and whether the line was
    /// booked without a deal price; none without an order.
    money: Option<(String, String, String, String, bool)>,
}

type ExpectedRow = (
    i32,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<String>,
);

async fn expected(c: &Clinic) -> Vec<Expected> {
    let rows: Vec<ExpectedRow> = sqlx::query_as(
        "SELECT c.id, c.state, c.created_at AT TIME ZONE 'Europe/Oslo', c.starts_at AT TIME ZONE 'Europe/Oslo',
                c.ends_at AT TIME ZONE 'Europe/Oslo',
                extract(epoch FROM date_trunc('second', c.starts_at) - date_trunc('second', c.created_at))::bigint,
                extract(epoch FROM date_trunc('second', c.ends_at) - date_trunc('second', c.starts_at))::bigint,
                r.id, r.icpc2_encrypted, r.outcome_encrypted, r.policy_number_encrypted, NULL::text
           FROM consultations c JOIN partners p ON p.id = c.partner_id
           LEFT JOIN LATERAL (SELECT * FROM consultation_results x WHERE x.consultation_id = c.id ORDER BY version DESC LIMIT 1) r ON true
          WHERE p.name = $1 ORDER BY c.created_at, c.id",
    )
    .bind(&c.partner)
    .fetch_all(&c.db.owner)
    .await
    .unwrap();
    let labels: BTreeMap<String, String> =
        sqlx::query_as("SELECT code, label FROM result_outcomes").fetch_all(&c.db.owner).await.unwrap().into_iter().collect();
    let mut money: BTreeMap<i32, (String, String, String, String, bool)> =
        sqlx::query_as::<_, (i32, String, String, String, String, bool)>(
            "SELECT o.consultation_id, sum(li.quantity * li.unit_price)::text, sum(li.discount)::text, o.total::text, o.currency,
                bool_or(li.no_deal_price)
           FROM orders o JOIN line_items li ON li.order_id = o.id GROUP BY o.id",
        )
        .fetch_all(&c.db.owner)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, price, discount, total, currency, none)| (id, (price, discount, total, currency, none)))
        .collect();
    rows.into_iter()
        .map(|(id, state, created, started, ended, waiting, treatment, rid, icpc2, outcome, policy, _)| {
            let dec = |col: &str, ct: Option<Vec<u8>>| {
                ct.map(|ct| c.db.vault.decrypt("consultation_results", col, rid.unwrap() as i64, &ct).unwrap())
            };
            let icpc2 = dec("icpc2_encrypted", icpc2);
            Expected {
                id,
                state,
                created,
                started,
                ended,
                waiting,
                treatment,
                outcome: dec("outcome_encrypted", outcome).map(|o| labels[&o].clone()),
                chapter: icpc2.as_ref().map(|i| i[..1].to_string()),
                icpc2,
                policy: dec("policy_number_encrypted", policy),
                money: money.remove(&id),
            }
        })
        .collect()
}

fn cell_text(d: &Data) -> Option<String> {
    match d {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Excel keeps times as days since 1899-12-30; the report writes them to the minute's display
/// but stores the exact value.
fn excel_time(d: &Data) -> Option<NaiveDateTime> {
    match d {
        Data::DateTime(t) => t.as_datetime(),
        Data::Float(f) => calamine::ExcelDateTime::new(*f, calamine::ExcelDateTimeType::DateTime, false).as_datetime(),
        _ => None,
    }
}

fn excel_seconds(d: &Data) -> Option<i64> {
    let days = match d {
        Data::Float(f) => *f,
        Data::DateTime(t) => t.as_f64(),
        Data::Int(i) => *i as f64,
        _ => return None,
    };
    Some((days * 86_400.0).round() as i64)
}

fn num(d: &Data) -> Option<f64> {
    match d {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        _ => None,
    }
}

/// A workbook number as the exact decimal its text in the file says.
fn exact(d: &Data) -> Option<Decimal> {
    num(d).map(|f| f.to_string().parse().unwrap())
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The partner's price, discount and total summed per currency, by the database.
async fn partner_sums(c: &Clinic) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT currency, sum(price)::text, sum(discount)::text, sum(total)::text
           FROM (SELECT o.currency, sum(li.quantity * li.unit_price) AS price, sum(li.discount) AS discount, o.total
                   FROM orders o JOIN line_items li ON li.order_id = o.id
                   JOIN consultations c ON c.id = o.consultation_id JOIN partners p ON p.id = c.partner_id
                  WHERE p.name = $1 GROUP BY o.id) per_order
          GROUP BY currency ORDER BY currency",
    )
    .bind(&c.partner)
    .fetch_all(&c.db.owner)
    .await
    .unwrap()
}

fn same_second(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).num_milliseconds().abs() < 1_000,
        _ => false,
    }
}

fn read_xlsx(path: &Path) -> (Vec<Vec<Data>>, Vec<Vec<Data>>) {
    let mut book: Xlsx<_> = open_workbook(path).expect("the workbook opens");
    assert_eq!(book.sheet_names(), vec!["Consultations".to_string(), "Summary".to_string()]);
    let rows = book.worksheet_range("Consultations").unwrap().rows().map(|r| r.to_vec()).collect();
    let summary = book.worksheet_range("Summary").unwrap().rows().map(|r| r.to_vec()).collect();
    (rows, summary)
}

fn summary_value(summary: &[Vec<Data>], label: &str) -> Option<Data> {
    summary.iter().find(|r| r.first().and_then(cell_text).as_deref() == Some(label)).and_then(|r| r.get(1).cloned())
}

/// A small RFC 4180 reader, enough for the report's own files.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (ch, _) => field.push(ch),
        }
    }
    rows
}

async fn exports_of(c: &Clinic) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'EXPORT' AND entity_type = 'insurer_report'")
        .fetch_one(&c.db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_workbook_and_the_csv_match_the_database_row_for_row() {
    let c = clinic().await;
    let a = complete(&c, input("R74", "helped", "11111111")).await;
    // An outcome label a spreadsheet would take for a formula.
    ClinicTx::run(&c.admin.pool, async |tx| outcomes::add(tx, "=Referred elsewhere").await).await.unwrap();
    complete(&c, input("L03", "referred_elsewhere", "22222222")).await;
    complete(&c, input("R05", "unable", "33333333")).await;
    // An amendment: the report shows the newest version.
    ClinicTx::run(&c.doctor.pool, async |tx| {
        results::amend(tx, &c.db.vault, a, &Amendment::whole("Code corrected", &input("A04", "referred_gp", "11111112"))).await
    })
    .await
    .unwrap();
    // The money: a discount given here, a booking made when the partner had no deal price, and a
    // follow-up, which has no order.
    ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, a, "123.45", "Waited too long").await).await.unwrap();
    sqlx::query("DELETE FROM partner_prices").execute(&c.db.owner).await.unwrap();
    let (person, partner_id): (i32, i32) =
        sqlx::query_as("SELECT c.patient_person_id, c.partner_id FROM consultations c WHERE c.id = $1")
            .bind(a)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    let unpriced = ClinicTx::run(&c.admin.pool, async |tx| {
        queue::book(tx, &NewBooking { patient_person_id: person, partner_id: Some(partner_id), ..Default::default() }).await
    })
    .await
    .unwrap()
    .id;
    let follow_up = ClinicTx::run(&c.doctor.pool, async |tx| queue::book_follow_up(tx, a).await).await.unwrap().id;

    let summary = export(&c, &c.admin, "report.xlsx").await.unwrap();
    let want = expected(&c).await;
    assert!(want.len() >= 10, "the demo partner's consultations and the five made here");
    assert_eq!(summary.consultations as usize, want.len());
    let of = |id: i32| want.iter().find(|w| w.id == id).unwrap();
    assert!(of(unpriced).money.as_ref().is_some_and(|m| m.4 && m.0 == "0.00"), "booked at 0 without a deal price");
    assert_eq!(of(follow_up).money, None, "a follow-up has no order");
    assert_eq!(of(a).money.as_ref().map(|m| m.1.as_str()), Some("123.45"));
    assert!(want.iter().filter(|w| w.money.as_ref().is_some_and(|m| m.1 != "0.00")).count() >= 2, "the demo's discounts too");
    let sums = partner_sums(&c).await;
    assert_eq!(summary.sums.len(), 1);
    let s0 = &summary.sums[0];
    assert_eq!(
        (s0.currency.clone(), s0.price.to_string(), s0.discount.to_string(), s0.total.to_string()),
        sums[0],
        "the summary's sums are the database's"
    );
    assert_eq!(summary.no_deal_price, 1);
    assert_eq!(summary.without_order, 1);

    let (rows, sheet) = read_xlsx(&c.dir.join("report.xlsx"));
    assert_eq!(rows[0].iter().filter_map(cell_text).collect::<Vec<_>>(), report::COLUMNS.to_vec());
    assert_eq!(rows.len() - 2, want.len(), "one row per consultation, and the sum row");
    for (row, w) in rows[1..=want.len()].iter().zip(&want) {
        assert_eq!(num(&row[0]), Some(w.id as f64), "ids in order of creation");
        assert_eq!(cell_text(&row[1]).as_deref(), Some(w.state.as_str()));
        assert!(same_second(excel_time(&row[2]), Some(w.created)), "created {:?} vs {:?}", row[2], w.created);
        assert!(same_second(excel_time(&row[4]), w.started), "started of {}", w.id);
        assert!(same_second(excel_time(&row[5]), w.ended), "ended of {}", w.id);
        let close = |got: Option<i64>, want: Option<i64>| match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() <= 1,
            (g, w) => g == w,
        };
        assert!(close(excel_seconds(&row[6]), w.waiting), "WAITING_TIME of {}: {:?} vs {:?}", w.id, row[6], w.waiting);
        assert!(close(excel_seconds(&row[7]), w.treatment), "TREATMENT_DURATION of {}", w.id);
        assert_eq!(cell_text(&row[8]), w.outcome, "outcome of {}", w.id);
        assert_eq!(cell_text(&row[9]), w.icpc2, "ICPC-2 of {}", w.id);
        assert_eq!(cell_text(&row[10]), w.chapter);
        assert_eq!(cell_text(&row[12]), w.policy, "policy number of {}", w.id);
        match &w.money {
            Some((price, discount, total, currency, none)) => {
                for (col, want) in [(16, price), (17, discount), (18, total)] {
                    assert_eq!(exact(&row[col]), Some(dec(want)), "{} of {}", report::COLUMNS[col], w.id);
                }
                assert_eq!(cell_text(&row[19]).as_ref(), Some(currency));
                assert_eq!(cell_text(&row[20]).as_deref(), none.then_some(report::NO_DEAL_PRICE));
            }
            None => {
                assert!((16..=19).all(|col| cell_text(&row[col]).is_none()), "no amounts for {}", w.id);
                assert_eq!(cell_text(&row[20]).as_deref(), Some(report::NO_ORDER));
            }
        }
    }
    // The sum row ends the sheet, with the database's sums.
    let sum_row = rows.last().unwrap();
    assert_eq!(cell_text(&sum_row[0]).as_deref(), Some(report::SUM_LABEL));
    let (currency, price, discount, total) = &sums[0];
    assert_eq!([16, 17, 18].map(|col| exact(&sum_row[col])), [price, discount, total].map(|v| Some(dec(v))));
    assert_eq!(cell_text(&sum_row[19]).as_ref(), Some(currency));
    assert_eq!(summary_value(&sheet, &format!("Total ({currency})")).as_ref().and_then(exact), Some(dec(total)));
    assert_eq!(summary_value(&sheet, &format!("Discounts ({currency})")).as_ref().and_then(exact), Some(dec(discount)));
    assert_eq!(summary_value(&sheet, "Booked without a deal price").and_then(|d| num(&d)), Some(1.0));
    let amended = want.iter().find(|w| w.id == a).unwrap();
    assert_eq!((amended.icpc2.as_deref(), amended.outcome.as_deref()), (Some("A04"), Some("Referred GP")));

    // The summary sheet agrees with the rows.
    let mut by_outcome: BTreeMap<String, u32> = BTreeMap::new();
    for w in &want {
        if let Some(o) = &w.outcome {
            *by_outcome.entry(o.clone()).or_default() += 1;
        }
    }
    for (label, n) in &by_outcome {
        let got = summary.by_outcome.iter().find(|c| &c.label == label).map(|c| c.count);
        assert_eq!(got, Some(*n), "{label}");
        let row = sheet.iter().position(|r| r.first().and_then(cell_text).as_deref() == Some(label.as_str()));
        assert_eq!(row.and_then(|i| num(&sheet[i][1])), Some(*n as f64), "{label} on the sheet");
    }
    let mut waits: Vec<u32> = want.iter().filter_map(|w| w.waiting).map(|s| s as u32).collect();
    let median = report::percentile(&mut waits, 50).unwrap();
    assert!(summary.waiting_median_seconds.unwrap().abs_diff(median) <= 1);
    let on_sheet = summary_value(&sheet, "WAITING_TIME median").and_then(|d| excel_seconds(&d)).unwrap();
    assert!((on_sheet - summary.waiting_median_seconds.unwrap() as i64).abs() <= 1);
    let breaches = summary_value(&sheet, "Deadline breaches").and_then(|d| num(&d));
    assert_eq!(breaches, Some(summary.deadline_breaches as f64));
    assert_eq!(
        summary.by_chapter.iter().map(|c| c.count).sum::<u32>() as usize,
        want.iter().filter(|w| w.icpc2.is_some()).count()
    );

    // The CSV says the same, and defuses what a spreadsheet would run.
    let csv_summary = export(&c, &c.admin, "report.csv").await.unwrap();
    assert_eq!(csv_summary.consultations, summary.consultations);
    let csv = parse_csv(&std::fs::read_to_string(c.dir.join("report.csv")).unwrap());
    assert_eq!(csv[0], report::COLUMNS.to_vec());
    assert_eq!(csv.len() - 2, want.len());
    for (row, w) in csv[1..=want.len()].iter().zip(&want) {
        assert_eq!(row[0], w.id.to_string());
        assert_eq!(row[1], w.state);
        let csv_wait = row[6].parse::<i64>().ok();
        assert!(
            match (csv_wait, w.waiting) {
                (Some(a), Some(b)) => (a - b).abs() <= 1,
                (a, b) => a == b,
            },
            "WAITING_TIME of {} in the CSV: {:?} vs {:?}",
            w.id,
            row[6],
            w.waiting
        );
        let outcome = w.outcome.clone().unwrap_or_default();
        let outcome = if outcome.starts_with('=') { format!("'{outcome}") } else { outcome };
        assert_eq!(row[8], outcome);
        assert_eq!(row[9], w.icpc2.clone().unwrap_or_default());
        assert_eq!(row[12], w.policy.clone().unwrap_or_default());
        // Amounts exactly as the database writes numeric(14, 2).
        let (price, discount, total, currency, note) = match &w.money {
            Some((p, d, t, cur, none)) => {
                (p.clone(), d.clone(), t.clone(), cur.clone(), if *none { report::NO_DEAL_PRICE } else { "" })
            }
            None => Default::default(),
        };
        let note = if w.money.is_none() { report::NO_ORDER } else { note };
        assert_eq!(row[16..21], [price, discount, total, currency, note.to_string()], "amounts of {}", w.id);
    }
    let sum_row = csv.last().unwrap();
    assert_eq!(sum_row.len(), report::COLUMNS.len());
    assert_eq!(sum_row[0], report::SUM_LABEL);
    assert!(sum_row[1..16].iter().all(String::is_empty));
    assert_eq!(sum_row[16..20], [price.clone(), discount.clone(), total.clone(), currency.clone()]);
    let side = parse_csv(&std::fs::read_to_string(c.dir.join("report-summary.csv")).unwrap());
    let consultations = side.iter().find(|r| r[0] == "Consultations").map(|r| r[1].clone());
    assert_eq!(consultations, Some(want.len().to_string()));
    let side_total = side.iter().find(|r| r[0] == format!("Total ({currency})")).map(|r| r[1].clone());
    assert_eq!(side_total.as_ref(), Some(total));

    // Each export is one audit row naming the period and the count.
    assert_eq!(exports_of(&c).await, 2);
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM audit_log WHERE action = 'EXPORT' AND actor = $1 ORDER BY id LIMIT 1")
            .bind(&c.admin.login)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(changes["consultations"], serde_json::json!(want.len()));
}

#[tokio::test]
async fn only_the_clinics_admins_export_and_a_refusal_leaves_no_file_and_no_audit() {
    let c = clinic().await;
    complete(&c, input("R74", "helped", "1")).await;
    for who in [&c.secretary, &c.doctor] {
        let e = export(&c, who, "denied.xlsx").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}");
    }
    // An admin of another clinic.
    let bergen = c.db.clinic("Other clinic").await;
    let other = c.db.staff(AppRole::Admin, bergen, "rep-other-admin").await;
    assert_eq!(export(&c, &other, "denied.xlsx").await.unwrap_err().code, ErrorCode::Forbidden);
    // Reading the function directly in someone else's name is refused too.
    let forged = sqlx::query("SELECT * FROM insurer_report_rows(1, '2020-01-01', '2030-01-01', $1)")
        .bind(&c.admin.login)
        .fetch_all(&c.secretary.pool)
        .await
        .unwrap_err();
    assert!(digimed_tests::is_denied(&forged), "{forged:?}");
    assert_eq!(std::fs::read_dir(&c.dir).unwrap().count(), 0, "no file, not even a partial one");
    assert_eq!(exports_of(&c).await, 0);
}

#[tokio::test]
async fn bad_requests_name_their_field_and_write_nothing() {
    let c = clinic().await;
    let missing = ReportRequest { partner: "no-such-partner".into(), ..period(&c) };
    let e = digimed_tests::own(&c.admin.pool, &Acting::Direct, async |tx| {
        report::export(tx, &c.db.vault, &missing, &c.dir.join("r.xlsx"), &mut |_, _| {}).await
    })
    .await
    .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NotFound, Some("partner")));
    let e = digimed_tests::own(&c.admin.pool, &Acting::Direct, async |tx| {
        report::export(tx, &c.db.vault, &period(&c), &c.dir.join("r.pdf"), &mut |_, _| {}).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("out"));
    let e = digimed_tests::own(&c.admin.pool, &Acting::Direct, async |tx| {
        report::export(tx, &c.db.vault, &period(&c), &c.dir.join("nowhere/r.csv"), &mut |_, _| {}).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("out"));
    assert_eq!(ReportRequest::parse(&c.partner, "2026-02-01", "2026-01-01").unwrap_err().field.as_deref(), Some("to"));
    assert_eq!(std::fs::read_dir(&c.dir).unwrap().count(), 0);
    assert_eq!(exports_of(&c).await, 0);
}

#[tokio::test]
async fn admins_extend_the_outcomes_and_the_report_counts_them() {
    let c = clinic().await;
    let added = ClinicTx::run(&c.admin.pool, async |tx| outcomes::add(tx, "Referred to specialist").await).await.unwrap();
    assert_eq!(added.code, "referred_to_specialist");
    let e = ClinicTx::run(&c.admin.pool, async |tx| outcomes::add(tx, "referred to specialist").await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::AlreadyExists, Some("label")));
    assert_eq!(
        ClinicTx::run(&c.secretary.pool, async |tx| outcomes::add(tx, "Sent home").await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        ClinicTx::run(&c.admin.pool, async |tx| outcomes::add(tx, "  ").await).await.unwrap_err().field.as_deref(),
        Some("label")
    );
    // The change to the list is audited in the admin's name.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'result_outcomes' AND entity_id = 'referred_to_specialist' AND actor = $1",
    )
    .bind(&c.admin.login)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    complete(&c, input("K86", "referred_to_specialist", "42")).await;
    let summary = export(&c, &c.admin, "r.xlsx").await.unwrap();
    let specialist = summary.by_outcome.iter().find(|o| o.key == "referred_to_specialist").map(|o| o.count);
    assert_eq!(specialist, Some(1));

    assert_eq!(
        ClinicTx::run(&c.admin.pool, async |tx| outcomes::set_active(tx, "no_such_outcome", false).await)
            .await
            .unwrap_err()
            .field
            .as_deref(),
        Some("code")
    );
    assert_eq!(
        ClinicTx::run(&c.secretary.pool, async |tx| outcomes::set_active(tx, "helped", false).await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );

    // A retired outcome cannot be named by a new result, and the refusal names the field.
    ClinicTx::run(&c.admin.pool, async |tx| outcomes::set_active(tx, "referred_to_specialist", false).await).await.unwrap();
    let picked = ClinicTx::run(&c.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().unwrap();
    ClinicTx::run(&c.doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), picked.id).await).await.unwrap();
    let e = ClinicTx::run(&c.doctor.pool, async |tx| {
        results::complete_with_result(tx, &c.db.vault, picked.id, &input("K86", "referred_to_specialist", "43")).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("outcome"));
}
