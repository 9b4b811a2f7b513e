//! The consultation queue: concurrent picking, the doctor's and the secretary's
//! operations, refusals of illegal transitions and of other doctors' consultations (also on a
//! raw connection), and live notifications that survive a dropped connection.

use digimed_core::meetings::Meetings;
use digimed_core::ClinicTx;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use digimed_core::queue::{self, CallOutcome, ConsultationState, DeadlineStatus, QueueEventKind, QueueFilter, QueueWatcher};
use digimed_core::referrals::{self, BookingChoice};
use digimed_core::results::{self, ResultInput};
use digimed_core::session::{current_staff, StaffSession};
use digimed_core::ErrorCode;
use digimed_tests::{is_denied, Role, Staff, TestDb};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use crate::referrals::{body, nid, partner};

pub(crate) struct Clinic {
    pub(crate) db: TestDb,
    pub(crate) clinic: i32,
    pub(crate) person: i32,
    pub(crate) partner_id: i32,
    /// The test person's referral, awaiting screening.
    referral_id: i32,
}

pub(crate) async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let clinic = db.clinic("Oslo").await;
    let p = partner(&db, clinic, true).await;
    let r = ClinicTx::run(&db.owner, async |tx| {
        referrals::receive(tx, &db.vault, &p, body(nid(11).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
    })
    .await
    .unwrap();
    Clinic { db, clinic, person: r.receipt().patient_person_id, partner_id: p.id, referral_id: r.receipt().referral_id }
}

impl Clinic {
    /// Adds `n` waiting consultations for the test person, oldest first; returns their ids.
    pub(crate) async fn waiting(&self, n: i32) -> Vec<i32> {
        sqlx::query_scalar(
            "INSERT INTO consultations (patient_person_id, organization_id, partner_id, created_at, deadline_at)
             SELECT $1, $2, $3, now() - interval '1 hour' + make_interval(secs => g), now() + interval '1 day'
               FROM generate_series(1, $4) g ORDER BY g RETURNING id",
        )
        .bind(self.person)
        .bind(self.clinic)
        .bind(self.partner_id)
        .bind(n)
        .fetch_all(&self.db.owner)
        .await
        .unwrap()
    }

    pub(crate) async fn member(&self, role: Role, who: &str) -> (Staff, StaffSession) {
        let s = self.db.staff(role, self.clinic, who).await;
        let me = current_staff(&s.pool).await.unwrap();
        (s, me)
    }

    async fn pool_as(&self, s: &Staff, connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(connections)
            .connect_with(PgConnectOptions::from_str(&self.db.server()).unwrap().username(&s.login).password(s.password.expose()))
            .await
            .unwrap()
    }
}

/// One ICPC-2 code, as if imported (the list itself is never shipped).
async fn icpc2_code(owner: &PgPool) {
    sqlx::query(
        "WITH i AS (INSERT INTO icpc2_imports (sha256, code_count) VALUES ('test', 1) RETURNING id)
         INSERT INTO icpc2_codes (code, title, import_id) SELECT 'R74', 'Upper respiratory infection', id FROM i",
    )
    .execute(owner)
    .await
    .unwrap();
}

fn meeting() -> Meetings {
    Meetings::demo()
}

#[tokio::test]
async fn sixty_four_pickers_take_each_of_a_thousand_consultations_exactly_once() {
    let c = clinic().await;
    let ids: HashSet<i32> = c.waiting(1000).await.into_iter().collect();
    let mut tasks = Vec::new();
    for d in 0..16 {
        let (s, me) = c.member(Role::Doctor, &format!("doctor{d}")).await;
        let pool = c.pool_as(&s, 4).await;
        for _ in 0..4 {
            let (pool, me) = (pool.clone(), me.clone());
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(x) = ClinicTx::run(&pool, async |tx| queue::pick_next(tx).await).await.expect("pick") {
                    assert_eq!(x.state, ConsultationState::PendingSp);
                    assert_eq!(x.assigned_doctor_id, Some(me.staff_id));
                    mine.push((x.id, me.staff_id));
                }
                mine
            }));
        }
    }
    assert_eq!(tasks.len(), 64);
    let mut picked = Vec::new();
    for t in tasks {
        picked.extend(t.await.unwrap());
    }
    let unique: HashSet<i32> = picked.iter().map(|p| p.0).collect();
    assert_eq!(picked.len(), unique.len(), "no consultation was picked twice");
    assert_eq!(unique, ids, "every consultation was picked");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM consultations WHERE state = 'ready_for_pickup'")
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The database agrees with what each picker was told.
    for (id, doctor) in picked.iter().take(50) {
        let d: Option<i32> = sqlx::query_scalar("SELECT assigned_doctor_id FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
        assert_eq!(d, Some(*doctor));
    }
}

#[tokio::test]
async fn a_doctor_picks_starts_and_completes() {
    let c = clinic().await;
    let (doc, me) = c.member(Role::Doctor, "dora").await;
    let ids = c.waiting(3).await;
    // Oldest first.
    let picked = ClinicTx::run(&doc.pool, async |tx| queue::pick_next(tx).await).await.unwrap().unwrap();
    assert_eq!(picked.id, ids[0]);
    assert!(picked.assigned_at.is_some());
    let specific = ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[2]).await).await.unwrap();
    assert_eq!(specific.assigned_doctor_id, Some(me.staff_id));

    let started = ClinicTx::run(&doc.pool, async |tx| queue::start(tx, &meeting(), picked.id).await).await.unwrap();
    assert_eq!(started.consultation.state, ConsultationState::InProgress);
    assert!(started.demo);
    assert!(started.doctor_video_url.starts_with("https://meet.digimed.test/"));
    let rooms: i64 = sqlx::query_scalar("SELECT count(*) FROM meeting_rooms WHERE consultation_id = $1")
        .bind(picked.id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(rooms, 1);
    // Starting twice is refused, naming the state.
    let e = ClinicTx::run(&doc.pool, async |tx| queue::start(tx, &meeting(), picked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert!(e.message.contains("in progress"), "{}", e.message);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Completing needs the result, filed in the same transaction.
    let e = ClinicTx::run(&doc.pool, async |tx| queue::complete(tx, picked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    icpc2_code(&c.db.owner).await;
    let result = ResultInput { icpc2: "R74".into(), outcome: "helped".into(), ..Default::default() };
    let done = ClinicTx::run(&doc.pool, async |tx| results::complete_with_result(tx, &c.db.vault, picked.id, &result).await)
        .await
        .unwrap();
    assert_eq!(done.state, ConsultationState::Completed);
    assert!(done.treatment_seconds.unwrap() >= 1);
    assert_eq!(done.deadline_status, DeadlineStatus::Met);
    let waited = (done.starts_at.unwrap() - done.created_at).num_seconds() as i32;
    assert_eq!(done.waiting_seconds, waited, "WAITING_TIME = starts_at - created_at");
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM outbox WHERE payload->>'consultation_id' = $1 ORDER BY id")
            .bind(picked.id.to_string())
            .fetch_all(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(events, ["consultation.started", "consultation.completed"]);

    // History and a follow-up for the same patient.
    let history = ClinicTx::run(&doc.pool, async |tx| queue::history(tx, c.person).await).await.unwrap();
    assert_eq!(history.len(), 3);
    let follow = ClinicTx::run(&doc.pool, async |tx| queue::book_follow_up(tx, picked.id).await).await.unwrap();
    assert_eq!(
        (follow.follow_up_of, follow.state, follow.assigned_doctor_id),
        (Some(picked.id), ConsultationState::PendingSp, Some(me.staff_id))
    );
    assert_eq!(follow.patient_person_id, c.person);
}

#[tokio::test]
async fn illegal_transitions_are_refused_naming_the_state() {
    let c = clinic().await;
    let (doc, me) = c.member(Role::Doctor, "dora").await;
    let (sec, _sme) = c.member(Role::Secretary, "sara").await;
    let ids = c.waiting(4).await;

    // Completing or starting what is not picked.
    let e = ClinicTx::run(&doc.pool, async |tx| queue::complete(tx, ids[0]).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert!(e.message.contains("ready for pickup"), "{}", e.message);
    let e = ClinicTx::run(&doc.pool, async |tx| queue::start(tx, &meeting(), ids[0]).await).await.unwrap_err();
    assert!(e.message.contains("ready for pickup"), "{}", e.message);

    // Completing a cancelled consultation.
    ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[1]).await).await.unwrap();
    ClinicTx::run(&sec.pool, async |tx| queue::cancel(tx, ids[1], "Patient recovered").await).await.unwrap();
    let e = ClinicTx::run(&doc.pool, async |tx| queue::complete(tx, ids[1]).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert!(e.message.contains("cancelled"), "{}", e.message);
    let e = ClinicTx::run(&sec.pool, async |tx| queue::cancel(tx, ids[1], "again").await).await.unwrap_err();
    assert!(e.message.contains("cancelled"), "{}", e.message);
    let e = ClinicTx::run(&sec.pool, async |tx| queue::assign(tx, ids[1], me.staff_id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);

    // Picking what another doctor has.
    ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[2]).await).await.unwrap();
    let (_other, _ome) = c.member(Role::Doctor, "otto").await;
    let e = ClinicTx::run(&_other.pool, async |tx| queue::pick(tx, ids[2]).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = ClinicTx::run(&_other.pool, async |tx| queue::start(tx, &meeting(), ids[2]).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{}", e.message);
    let e = ClinicTx::run(&_other.pool, async |tx| queue::complete(tx, ids[2]).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = ClinicTx::run(&_other.pool, async |tx| queue::cancel(tx, ids[2], "not mine").await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);

    // Roles: a secretary does not pick, a doctor does not assign.
    assert_eq!(ClinicTx::run(&sec.pool, async |tx| queue::pick_next(tx).await).await.unwrap_err().code, ErrorCode::Forbidden);
    assert_eq!(
        ClinicTx::run(&doc.pool, async |tx| queue::assign(tx, ids[3], me.staff_id).await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        ClinicTx::run(&sec.pool, async |tx| queue::cancel(tx, ids[3], "  ").await).await.unwrap_err().field.as_deref(),
        Some("reason")
    );

    // The database itself refuses every transition outside the legal ones (owner, no RLS).
    let legal: HashSet<(&str, &str)> = [
        ("ready_for_pickup", "pending_sp"),
        ("ready_for_pickup", "cancelled"),
        ("pending_sp", "ready_for_pickup"),
        ("pending_sp", "in_progress"),
        ("pending_sp", "cancelled"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
    ]
    .into_iter()
    .collect();
    let doctor = me.staff_id;
    for from in ConsultationState::ALL {
        for to in ConsultationState::ALL {
            if from == to || legal.contains(&(from.as_str(), to.as_str())) {
                continue;
            }
            let id = c.waiting(1).await[0];
            drive_to(&c.db.owner, id, from, doctor).await;
            let err = sqlx::query(
                "UPDATE consultations SET state = $2, assigned_doctor_id = $3, assigned_at = coalesce(assigned_at, now()),
                        starts_at = coalesce(starts_at, now()), ends_at = coalesce(ends_at, now()),
                        cancelled_at = coalesce(cancelled_at, now()), cancel_reason = coalesce(cancel_reason, 'x')
                  WHERE id = $1",
            )
            .bind(id)
            .bind(to.as_str())
            .bind(doctor)
            .execute(&c.db.owner)
            .await
            .expect_err(&format!("{} -> {} must be refused", from.as_str(), to.as_str()));
            let db_err = err.as_database_error().expect("a database error");
            assert_eq!(db_err.code().as_deref(), Some("P0001"));
            assert!(db_err.message().contains(&from.label()), "{}", db_err.message());
            let e: digimed_core::Error = err.into();
            assert_eq!(e.code, ErrorCode::InvalidStateTransition);
        }
    }
}

/// Moves a fresh consultation to `state` along the legal path, as the owner.
async fn drive_to(owner: &PgPool, id: i32, state: ConsultationState, doctor: i32) {
    let path: &[&str] = match state {
        ConsultationState::ReadyForPickup => &[],
        ConsultationState::PendingSp => &["pending_sp"],
        ConsultationState::InProgress => &["pending_sp", "in_progress"],
        ConsultationState::Completed => &["pending_sp", "in_progress", "result", "completed"],
        ConsultationState::Cancelled => &["cancelled"],
    };
    for step in path {
        if *step == "result" {
            // A completed consultation has its result (ciphertext is irrelevant here).
            sqlx::query(
                "INSERT INTO consultation_results (consultation_id, author_staff_id, icpc2_encrypted, outcome_encrypted)
                 VALUES ($1, $2, '\\x00', '\\x00')",
            )
            .bind(id)
            .bind(doctor)
            .execute(owner)
            .await
            .unwrap();
            continue;
        }
        sqlx::query(
            "UPDATE consultations SET state = $2,
                    assigned_doctor_id = CASE WHEN $2 = 'cancelled' THEN assigned_doctor_id ELSE $3 END,
                    assigned_at = CASE WHEN $2 = 'cancelled' THEN assigned_at ELSE coalesce(assigned_at, now()) END,
                    starts_at = CASE WHEN $2 IN ('in_progress', 'completed') THEN coalesce(starts_at, now()) ELSE starts_at END,
                    ends_at = CASE WHEN $2 = 'completed' THEN now() ELSE ends_at END,
                    cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() END,
                    cancel_reason = CASE WHEN $2 = 'cancelled' THEN 'test' END
              WHERE id = $1",
        )
        .bind(id)
        .bind(step)
        .bind(doctor)
        .execute(owner)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_doctor_cannot_touch_another_doctors_consultation_on_a_raw_connection() {
    let c = clinic().await;
    let (anna, _ame) = c.member(Role::Doctor, "anna").await;
    let (bent, _) = c.member(Role::Doctor, "bent").await;
    let id = c.waiting(1).await[0];
    ClinicTx::run(&anna.pool, async |tx| queue::pick(tx, id).await).await.unwrap();
    for sql in [
        "UPDATE consultations SET state = 'in_progress', starts_at = now() WHERE id = $1",
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'x' WHERE id = $1",
        "UPDATE consultations SET assigned_doctor_id = current_staff_id() WHERE id = $1",
        "UPDATE consultations SET state = 'ready_for_pickup', assigned_doctor_id = NULL, assigned_at = NULL WHERE id = $1",
    ] {
        let r = sqlx::query(sql).bind(id).execute(&bent.pool).await.unwrap();
        assert_eq!(r.rows_affected(), 0, "{sql}");
    }
    // Not even the assigned doctor rewrites when a consultation started (it is reported).
    ClinicTx::run(&anna.pool, async |tx| queue::start(tx, &meeting(), id).await).await.unwrap();
    let e = sqlx::query("UPDATE consultations SET starts_at = starts_at - interval '1 day' WHERE id = $1")
        .bind(id)
        .execute(&anna.pool)
        .await
        .unwrap_err();
    assert_eq!(e.as_database_error().and_then(|d| d.code()).as_deref(), Some("P0001"));
    let e = sqlx::query("INSERT INTO meeting_rooms (consultation_id, provider, room_name) VALUES ($1, 'demo', md5('x'))")
        .bind(id)
        .execute(&bent.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&e));
    let (state, doctor): (String, Option<i32>) =
        sqlx::query_as("SELECT state, assigned_doctor_id FROM consultations WHERE id = $1")
            .bind(id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert_eq!((state.as_str(), doctor), ("in_progress", Some(anna.id)));
}

#[tokio::test]
async fn a_secretary_screens_assigns_reassigns_and_cancels() {
    let c = clinic().await;
    let (sec, sme) = c.member(Role::Secretary, "sara").await;
    let (_d1, d1) = c.member(Role::Doctor, "dag").await;
    let (_d2, d2) = c.member(Role::Doctor, "dina").await;
    let ids = c.waiting(3).await;

    // The referral is screened, then booked: its consultation joins the queue.
    let entry = ClinicTx::run(&sec.pool, async |tx| {
        referrals::screen(tx, &c.db.vault, c.referral_id, Some(CallOutcome::NoAnswer), Some("Try after 16:00")).await
    })
    .await
    .unwrap();
    let referral_consultation =
        ClinicTx::run(&sec.pool, async |tx| referrals::book(tx, c.referral_id, &BookingChoice::default()).await)
            .await
            .unwrap()
            .id;
    assert_eq!(entry.call_outcome, Some(CallOutcome::NoAnswer));
    let ct: Vec<u8> = sqlx::query_scalar("SELECT note_encrypted FROM consultation_screenings WHERE id = $1")
        .bind(entry.id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&ct).contains("16:00"), "notes are stored encrypted");
    let read =
        ClinicTx::run(&sec.pool, async |tx| queue::screenings(tx, &c.db.vault, referral_consultation).await).await.unwrap();
    assert_eq!(read[0].note.as_deref(), Some("Try after 16:00"));
    let supervisor: Option<i32> =
        sqlx::query_scalar("SELECT supervisor_staff_id FROM referrals").fetch_one(&c.db.owner).await.unwrap();
    assert_eq!(supervisor, Some(sme.staff_id));

    let a = ClinicTx::run(&sec.pool, async |tx| queue::assign(tx, ids[0], d1.staff_id).await).await.unwrap();
    assert_eq!((a.state, a.assigned_doctor_id), (ConsultationState::PendingSp, Some(d1.staff_id)));
    let b = ClinicTx::run(&sec.pool, async |tx| queue::assign(tx, ids[0], d2.staff_id).await).await.unwrap();
    assert_eq!(b.assigned_doctor_id, Some(d2.staff_id));
    let e = ClinicTx::run(&sec.pool, async |tx| queue::assign(tx, ids[1], sme.staff_id).await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("doctor_id"));
    let back = ClinicTx::run(&sec.pool, async |tx| queue::release(tx, ids[0]).await).await.unwrap();
    assert_eq!((back.state, back.assigned_doctor_id), (ConsultationState::ReadyForPickup, None));
    let x = ClinicTx::run(&sec.pool, async |tx| queue::cancel(tx, ids[2], "Patient did not want a consultation").await)
        .await
        .unwrap();
    assert_eq!(x.state, ConsultationState::Cancelled);

    // The list: open only, oldest first, filters, deadline flags.
    let all = ClinicTx::run(&sec.pool, async |tx| queue::list(tx, &QueueFilter::default()).await).await.unwrap();
    assert_eq!(all.iter().map(|x| x.id).collect::<Vec<_>>(), vec![ids[0], ids[1], referral_consultation]);
    assert_eq!(all[2].patient_name.as_deref(), Some("Line Danser"));
    assert_eq!(all[2].partner_name.as_deref(), Some("pridok-test"));
    assert!(all.windows(2).all(|w| w[0].waiting_seconds >= w[1].waiting_seconds));
    ClinicTx::run(&sec.pool, async |tx| queue::assign(tx, ids[1], d1.staff_id).await).await.unwrap();
    let mine = ClinicTx::run(&sec.pool, async |tx| {
        queue::list(tx, &QueueFilter { assigned_doctor_id: Some(d1.staff_id), ..Default::default() }).await
    })
    .await
    .unwrap();
    assert_eq!(mine.iter().map(|x| x.id).collect::<Vec<_>>(), vec![ids[1]]);
    assert_eq!(mine[0].doctor_name.as_deref(), Some("dag"));
    let unassigned =
        ClinicTx::run(&sec.pool, async |tx| queue::list(tx, &QueueFilter { unassigned_only: true, ..Default::default() }).await)
            .await
            .unwrap();
    assert_eq!(unassigned.len(), 2);
    sqlx::query("UPDATE consultations SET deadline_at = now() - interval '1 hour' WHERE id = $1")
        .bind(ids[0])
        .execute(&c.db.owner)
        .await
        .unwrap();
    sqlx::query("UPDATE consultations SET deadline_at = now() + interval '1 hour' WHERE id = $1")
        .bind(ids[1])
        .execute(&c.db.owner)
        .await
        .unwrap();
    let by_deadline = ClinicTx::run(&sec.pool, async |tx| {
        queue::list(tx, &QueueFilter { sort: queue::QueueSort::Deadline, ..Default::default() }).await
    })
    .await
    .unwrap();
    assert_eq!(by_deadline[0].id, ids[0]);
    assert_eq!(by_deadline[0].deadline_status, DeadlineStatus::Breached);
    assert_eq!(by_deadline[1].deadline_status, DeadlineStatus::Near);
    assert_eq!(by_deadline[2].deadline_status, DeadlineStatus::OnTrack);
    // Another clinic sees none of it.
    let bergen = c.db.clinic("Bergen").await;
    let other = c.db.staff(Role::Secretary, bergen, "siri").await;
    assert!(ClinicTx::run(&other.pool, async |tx| queue::list(tx, &QueueFilter::default()).await).await.unwrap().is_empty());
}

async fn next_event(w: &mut QueueWatcher) -> queue::QueueEvent {
    tokio::time::timeout(Duration::from_secs(10), w.next()).await.expect("an event within 10 s").unwrap()
}

#[tokio::test]
async fn live_events_survive_a_dropped_connection() {
    let c = clinic().await;
    let (doc, me) = c.member(Role::Doctor, "dora").await;
    let (sec, _) = c.member(Role::Secretary, "sara").await;
    let ids = c.waiting(3).await;
    let mut w = QueueWatcher::connect(&sec.pool).await.unwrap();

    ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[0]).await).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.consultation_id, e.state), (QueueEventKind::Update, Some(ids[0]), Some(ConsultationState::PendingSp)));
    assert_eq!(e.assigned_doctor_id, Some(me.staff_id));

    // Kill the listening connection, then change the queue while it is down.
    let pid = w.backend_pid().await.unwrap();
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&c.db.owner).await.unwrap();
    assert!(killed);
    ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[1]).await).await.unwrap();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e: &queue::QueueEvent| e.consultation_id == Some(ids[1]) && e.state == Some(ConsultationState::PendingSp))
    {
        seen.push(next_event(&mut w).await);
    }
    assert!(w.reconnects() >= 1);
    assert!(seen.iter().any(|e| e.kind == QueueEventKind::Resync));
    // And it keeps listening afterwards.
    ClinicTx::run(&doc.pool, async |tx| queue::pick(tx, ids[2]).await).await.unwrap();
    loop {
        let e = next_event(&mut w).await;
        if e.consultation_id == Some(ids[2]) && e.kind == QueueEventKind::Update {
            break;
        }
    }
    // A new referral arrives (for the screening list), and its booking inserts its consultation.
    let p = ClinicTx::run(&c.db.owner, async |tx| referrals::partner_by_name(tx, "pridok-test").await).await.unwrap();
    let r = ClinicTx::run(&c.db.owner, async |tx| {
        referrals::receive(tx, &c.db.vault, &p, body(nid(12).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
    })
    .await
    .unwrap();
    let referral_id = r.receipt().referral_id;
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.referral_id, e.consultation_id), (QueueEventKind::Referral, Some(referral_id), None));
    let booked =
        ClinicTx::run(&sec.pool, async |tx| referrals::book(tx, referral_id, &BookingChoice::default()).await).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.consultation_id, e.referral_id), (QueueEventKind::Insert, Some(booked.id), Some(referral_id)));
}

#[tokio::test]
async fn a_secretary_books_a_consultation_for_a_patient_of_the_clinic() {
    let c = clinic().await;
    let (sec, _sme) = c.member(Role::Secretary, "sara").await;
    let (doc, dme) = c.member(Role::Doctor, "dora").await;
    let booking = queue::NewBooking { patient_person_id: c.person, partner_id: Some(c.partner_id), ..Default::default() };
    let b = ClinicTx::run(&sec.pool, async |tx| queue::book(tx, &booking).await).await.unwrap();
    assert_eq!(
        (b.state, b.category.as_str(), b.partner_id),
        (ConsultationState::ReadyForPickup, "insurance", Some(c.partner_id))
    );
    let deadline_ok: bool =
        sqlx::query_scalar("SELECT deadline_at = add_working_days(created_at, 2) FROM consultations WHERE id = $1")
            .bind(b.id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert!(deadline_ok);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE consultation_id = $1")
        .bind(b.id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    let direct = queue::NewBooking {
        patient_person_id: c.person,
        doctor_id: Some(dme.staff_id),
        enabled_channels: vec!["phone".into()],
        ..Default::default()
    };
    let d = ClinicTx::run(&sec.pool, async |tx| queue::book(tx, &direct).await).await.unwrap();
    assert_eq!(
        (d.state, d.category.as_str(), d.assigned_doctor_id, d.primary_channel.as_str()),
        (ConsultationState::PendingSp, "direct", Some(dme.staff_id), "phone")
    );
    assert_eq!(d.deadline_at, None);
    // Refusals: a doctor does not book; unknown patient; a channel that is not enabled.
    assert_eq!(
        ClinicTx::run(&doc.pool, async |tx| queue::book(tx, &booking).await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    let stranger = queue::NewBooking { patient_person_id: c.person + 1000, ..Default::default() };
    assert_eq!(
        ClinicTx::run(&sec.pool, async |tx| queue::book(tx, &stranger).await).await.unwrap_err().field.as_deref(),
        Some("patient_person_id")
    );
    let bad = queue::NewBooking { patient_person_id: c.person, primary_channel: Some("phone".into()), ..Default::default() };
    assert_eq!(
        ClinicTx::run(&sec.pool, async |tx| queue::book(tx, &bad).await).await.unwrap_err().field.as_deref(),
        Some("primary_channel")
    );
}
