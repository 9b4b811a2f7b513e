//! A database connection killed in the middle of an operation (`pg_terminate_backend`, as an
//! operator or a failing server would): an onboarding, a doctor's pick and a result filing.
//! The test holds a row lock the operation must wait on after it has written, so the operation is
//! provably half-way through its transaction when its connection is killed. Then: nothing of it
//! is left, the caller gets the retryable `database_unavailable`, and a retry succeeds with
//! exactly one of each in the end.

use digimed_core::{Acting, ClinicTx};
use std::time::Duration;

use digimed_core::meetings::Meetings;
use digimed_core::onboarding;
use digimed_core::patients::EntryPoint;
use digimed_core::queue::{self, ConsultationState};
use digimed_core::results::{self, ResultInput};
use digimed_core::session::{current_staff, AppRole};
use digimed_core::{Error, ErrorCode};
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::service::standin_accounts;
use digimed_tests::TestDb;
use sqlx::{PgPool, Postgres, Transaction};

use crate::onboarding::{footprint, input, seed_rules};
use crate::referrals::partner;
use digimed_tests::fixtures::booked_referral;

/// Generous: the whole suite runs in parallel on a small machine.
const WAIT: Duration = Duration::from_secs(60);

/// A transaction of the test's own (as the owner) holding a lock; its backend pid.
async fn hold(owner: &PgPool, sql: &str, id: i32) -> (Transaction<'static, Postgres>, i32) {
    let mut tx = owner.begin().await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *tx).await.unwrap();
    (tx, pid)
}

/// Waits until a backend is blocked by `blocker` and returns its pid.
async fn blocked_by(owner: &PgPool, blocker: i32) -> i32 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let pid: Option<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))")
            .bind(blocker)
            .fetch_optional(owner)
            .await
            .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(tokio::time::Instant::now() < deadline, "the operation never reached the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The tables the backend has written to in its open transaction.
async fn written_tables(owner: &PgPool, pid: i32) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT relation::regclass::text FROM pg_locks
          WHERE pid = $1 AND locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted ORDER BY 1",
    )
    .bind(pid)
    .fetch_all(owner)
    .await
    .unwrap()
}

/// Whether another transaction holds a lock on the row `id` of `table` (it has changed it).
async fn row_is_locked(owner: &PgPool, table: &str, id: i32) -> bool {
    let mut tx = owner.begin().await.unwrap();
    let r = sqlx::query(&format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE NOWAIT")).bind(id).execute(&mut *tx).await;
    let _ = tx.rollback().await;
    match r {
        Ok(_) => false,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => true,
        Err(e) => panic!("unexpected error probing the lock: {e}"),
    }
}

async fn kill(owner: &PgPool, pid: i32) {
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(owner).await.unwrap();
    assert!(killed, "the backend was terminated");
}

fn assert_retryable_unavailable<T: std::fmt::Debug>(r: Result<T, Error>) {
    let e = r.expect_err("the operation fails when its connection is killed");
    assert_eq!(e.code, ErrorCode::DatabaseUnavailable, "{e:?}");
    assert!(e.retryable, "{e:?}");
    assert!(!e.message.is_empty());
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.owner).await.unwrap()
}

#[tokio::test]
async fn an_onboarding_killed_half_way_leaves_nothing_and_a_retry_onboards_once() {
    let db = TestDb::new().await;
    let org = db.clinic("Kill Clinic").await;
    seed_rules(&db, &[org]).await;
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    let support = db.staff(AppRole::CustomerSupport, org, "kill-support").await;
    let before = footprint(&db).await;
    let request = input("Kari Nordmann", "kari.kill@example.com", "91234567", org);

    // The org-patient link checks its organization (a key-share lock): hold that row, so the
    // onboarding waits after it has written the user and the person (and their audit rows, which
    // join the chained log at commit).
    let (blocker, blocker_pid) = hold(&db.owner, "SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", org).await;
    let task = {
        let (pool, vault, accounts, request) = (support.pool.clone(), db.vault.clone(), accounts.clone(), request.clone());
        tokio::spawn(async move {
            digimed_tests::own(&pool, &Acting::Direct, async |tx| {
                onboarding::onboard(tx, &vault, &accounts, &request, EntryPoint::WalkIn, "47").await
            })
            .await
        })
    };
    let pid = blocked_by(&db.owner, blocker_pid).await;
    let written = written_tables(&db.owner, pid).await;
    for t in ["users", "patient_persons", "communication_preference_tokens", "audit_pending"] {
        assert!(written.contains(&t.to_string()), "{t} written before the link: {written:?}");
    }
    assert_eq!(clerk.users().len(), 1, "the Clerk account was created before the database writes");
    kill(&db.owner, pid).await;
    let outcome = tokio::time::timeout(WAIT, task).await.expect("the caller is answered").unwrap();
    blocker.rollback().await.unwrap();
    assert_retryable_unavailable(outcome);

    assert_eq!(footprint(&db).await, before, "no partial rows");
    assert!(clerk.users().is_empty(), "the Clerk account was deleted again");
    assert_eq!(clerk.deleted().len(), 1);

    let done = digimed_tests::own(&support.pool, &Acting::Direct, async |tx| {
        onboarding::onboard(tx, &db.vault, &accounts, &request, EntryPoint::WalkIn, "47").await
    })
    .await
    .expect("a retry succeeds");
    assert!(done.user_created);
    for (table, n) in [("users", 1), ("patient_persons", 1), ("patients", 1), ("user_organizations", 1)] {
        assert_eq!(count(&db, &format!("SELECT count(*) FROM {table}")).await, n, "{table}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM outbox WHERE event_type = 'patient.onboarded'").await, 1);
    assert_eq!(clerk.users().len(), 1, "one Clerk account");
}

/// A clinic with a waiting consultation and its doctor.
struct Waiting {
    db: TestDb,
    doctor: digimed_tests::Staff,
    me: digimed_core::session::StaffSession,
    consultation: i32,
}

async fn waiting() -> Waiting {
    let db = TestDb::new().await;
    let clinic = db.clinic("Kill Queue").await;
    let p = partner(&db, clinic, true).await;
    let r = booked_referral(&db, &p, 41).await;
    let doctor = db.staff(AppRole::Doctor, clinic, "kill-doctor").await;
    let me = current_staff(&doctor.pool).await.unwrap();
    Waiting { consultation: r.consultation_id.expect("booked"), db, doctor, me }
}

#[tokio::test]
async fn a_pick_killed_half_way_leaves_the_consultation_waiting_and_a_retry_picks_once() {
    let w = waiting().await;
    let audit_before = count(&w.db, "SELECT count(*) FROM audit_log").await;
    // Assigning checks the doctor (a key-share lock on the staff row): hold that row, so the
    // pick waits after it has changed the consultation.
    let (blocker, blocker_pid) = hold(&w.db.owner, "SELECT 1 FROM staff WHERE id = $1 FOR UPDATE", w.doctor.id).await;
    let task = {
        let (pool, _me) = (w.doctor.pool.clone(), w.me.clone());
        tokio::spawn(async move { ClinicTx::run(&pool, async |tx| queue::pick_next(tx).await).await })
    };
    let pid = blocked_by(&w.db.owner, blocker_pid).await;
    assert!(written_tables(&w.db.owner, pid).await.contains(&"consultations".to_string()));
    assert!(row_is_locked(&w.db.owner, "consultations", w.consultation).await, "the pick holds the consultation");
    kill(&w.db.owner, pid).await;
    let outcome = tokio::time::timeout(WAIT, task).await.expect("the caller is answered").unwrap();
    blocker.rollback().await.unwrap();
    assert_retryable_unavailable(outcome);

    let (state, doctor): (String, Option<i32>) =
        sqlx::query_as("SELECT state, assigned_doctor_id FROM consultations WHERE id = $1")
            .bind(w.consultation)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!((state.as_str(), doctor), ("ready_for_pickup", None), "the pick was rolled back");
    assert_eq!(count(&w.db, "SELECT count(*) FROM audit_log").await, audit_before, "no audit row of a pick that did not happen");

    let picked = ClinicTx::run(&w.doctor.pool, async |tx| queue::pick_next(tx).await)
        .await
        .expect("a retry succeeds")
        .expect("the consultation is still waiting");
    assert_eq!(
        (picked.id, picked.state, picked.assigned_doctor_id),
        (w.consultation, ConsultationState::PendingSp, Some(w.doctor.id))
    );
    assert_eq!(count(&w.db, "SELECT count(*) FROM consultations WHERE assigned_doctor_id IS NOT NULL").await, 1);
    assert!(
        ClinicTx::run(&w.doctor.pool, async |tx| queue::pick_next(tx).await).await.unwrap().is_none(),
        "nothing else to pick"
    );
}

#[tokio::test]
async fn a_result_filing_killed_half_way_leaves_no_result_and_a_retry_files_once() {
    let w = waiting().await;
    sqlx::query(
        "WITH i AS (INSERT INTO icpc2_imports (sha256, code_count) VALUES ('test', 1) RETURNING id)
         INSERT INTO icpc2_codes (code, title, import_id) SELECT 'R74', 'Upper respiratory infection', id FROM i",
    )
    .execute(&w.db.owner)
    .await
    .unwrap();
    ClinicTx::run(&w.doctor.pool, async |tx| queue::pick(tx, w.consultation).await).await.unwrap();
    let meeting = Meetings::demo();
    ClinicTx::run(&w.doctor.pool, async |tx| queue::start(tx, &meeting, w.consultation).await).await.unwrap();
    let result = ResultInput {
        icpc2: "R74".into(),
        outcome: "helped".into(),
        notes: Some("Rest and fluids.".into()),
        ..Default::default()
    };
    let audit_before = count(&w.db, "SELECT count(*) FROM audit_log").await;

    // The result names its author (a key-share lock on the staff row): hold that row, so the
    // filing waits after it has completed the consultation.
    let (blocker, blocker_pid) = hold(&w.db.owner, "SELECT 1 FROM staff WHERE id = $1 FOR UPDATE", w.doctor.id).await;
    let task = {
        let (pool, vault, _me, id, result) =
            (w.doctor.pool.clone(), w.db.vault.clone(), w.me.clone(), w.consultation, result.clone());
        tokio::spawn(async move {
            ClinicTx::run(&pool, async |tx| results::complete_with_result(tx, &vault, id, &result).await).await
        })
    };
    let pid = blocked_by(&w.db.owner, blocker_pid).await;
    let written = written_tables(&w.db.owner, pid).await;
    assert!(
        written.contains(&"consultations".to_string()) && written.contains(&"consultation_results".to_string()),
        "{written:?}"
    );
    assert!(row_is_locked(&w.db.owner, "consultations", w.consultation).await, "the filing holds the consultation");
    kill(&w.db.owner, pid).await;
    let outcome = tokio::time::timeout(WAIT, task).await.expect("the caller is answered").unwrap();
    blocker.rollback().await.unwrap();
    assert_retryable_unavailable(outcome);

    let state: String = sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1")
        .bind(w.consultation)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(state, "in_progress", "the completion was rolled back");
    assert_eq!(count(&w.db, "SELECT count(*) FROM consultation_results").await, 0, "no partial result");
    assert_eq!(count(&w.db, "SELECT count(*) FROM audit_log").await, audit_before);

    let done =
        ClinicTx::run(&w.doctor.pool, async |tx| results::complete_with_result(tx, &w.db.vault, w.consultation, &result).await)
            .await
            .expect("a retry succeeds");
    assert_eq!(done.state, ConsultationState::Completed);
    let versions = ClinicTx::run(&w.doctor.pool, async |tx| results::read(tx, &w.db.vault, w.consultation).await).await.unwrap();
    assert_eq!(versions.len(), 1, "exactly one result");
    assert_eq!((versions[0].version, versions[0].notes.as_deref()), (1, Some("Rest and fluids.")));
}
