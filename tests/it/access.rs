//! What each clinic role may read and write, proven through raw connections as real staff
//! logins: the database refuses what the console hides.
//!
//! The fixture is the demo (clinic A "Digimed Oslo" with referred patients and consultations in
//! every state) plus a second clinic B with one patient, one consultation and its own doctor.

use digimed_core::session::AppRole;
use digimed_tests::{Staff, TestDb};
use sqlx::PgPool;

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Refused for lack of privilege or by a row-level security check.
    Denied,
    /// Allowed; this many rows were returned or changed.
    Rows(u64),
    /// Refused by a rule of the schema (SQLSTATE given).
    Refused(String),
}
use Outcome::*;

/// Runs one statement in a transaction that is rolled back, so cases do not affect each other.
async fn attempt(pool: &PgPool, sql: &str) -> Outcome {
    let mut tx = pool.begin().await.unwrap();
    let result = if sql.trim_start().to_uppercase().starts_with("SELECT") {
        sqlx::query(sql).fetch_all(&mut *tx).await.map(|r| r.len() as u64)
    } else {
        sqlx::query(sql).execute(&mut *tx).await.map(|r| r.rows_affected())
    };
    let _ = tx.rollback().await;
    match result {
        Ok(n) => Rows(n),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42501") => Denied,
        Err(sqlx::Error::Database(db)) => Refused(db.code().unwrap_or_default().to_string()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

struct World {
    db: TestDb,
    secretary: Staff,
    doctor: Staff,
    other_doctor: Staff,
    support: Staff,
    admin: Staff,
    doctor_b: Staff,
    /// Consultation ids in clinic A: unassigned, assigned to `doctor`, assigned to `other_doctor`.
    unassigned: i32,
    mine: i32,
    theirs: i32,
    clinic_b: i32,
}

async fn world() -> World {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let a: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let clinic_b: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Bergen'").fetch_one(&db.owner).await.unwrap();
    let secretary = db.staff(AppRole::Secretary, a, "m-secretary").await;
    let doctor = db.staff(AppRole::Doctor, a, "m-doctor").await;
    let other_doctor = db.staff(AppRole::Doctor, a, "m-other-doctor").await;
    let support = db.staff(AppRole::CustomerSupport, a, "m-support").await;
    let admin = db.staff(AppRole::Admin, a, "m-admin").await;
    let doctor_b = db.staff(AppRole::Doctor, clinic_b, "m-doctor-b").await;
    let open: Vec<i32> = sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id")
        .fetch_all(&db.owner)
        .await
        .unwrap();
    for (id, doc) in [(open[1], doctor.id), (open[2], other_doctor.id)] {
        sqlx::query("UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now() WHERE id = $1")
            .bind(id)
            .bind(doc)
            .execute(&db.owner)
            .await
            .unwrap();
    }
    // Clinic B's own patient and consultation.
    let person: i32 = sqlx::query_scalar("SELECT id FROM patient_persons WHERE user_id IS NULL ORDER BY id DESC LIMIT 1")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    sqlx::query("INSERT INTO patients (patient_person_id, organization_id, entry_point) VALUES ($1, $2, 'walk_in')")
        .bind(person)
        .bind(clinic_b)
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query("INSERT INTO consultations (patient_person_id, organization_id, category) VALUES ($1, $2, 'direct')")
        .bind(person)
        .bind(clinic_b)
        .execute(&db.owner)
        .await
        .unwrap();
    World {
        db,
        secretary,
        doctor,
        other_doctor,
        support,
        admin,
        doctor_b,
        unassigned: open[0],
        mine: open[1],
        theirs: open[2],
        clinic_b,
    }
}

#[tokio::test]
async fn patient_data_is_visible_only_within_the_clinic() {
    let w = world().await;
    // Clinic A has the 18 demo persons (8 referred and booked, 3 referred awaiting screening, 3
    // walk-ins, one fax draft, 3 leads); clinic B sees only its one patient.
    for s in [&w.secretary, &w.doctor, &w.support, &w.admin] {
        assert_eq!(attempt(&s.pool, "SELECT id FROM patient_persons").await, Rows(18), "{}", s.login);
        assert_eq!(attempt(&s.pool, "SELECT id FROM patients").await, Rows(18));
        assert_eq!(attempt(&s.pool, "SELECT id FROM communication_preference_tokens").await, Rows(18));
        assert_eq!(attempt(&s.pool, "SELECT id FROM users").await, Rows(10));
        assert_eq!(attempt(&s.pool, "SELECT user_id FROM user_organizations").await, Rows(10));
    }
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM patient_persons").await, Rows(1));
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM patients").await, Rows(1));
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM consultations").await, Rows(1));
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM referrals").await, Rows(0));
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM users").await, Rows(0));
    // Consultations: clinic A's 9 (8 referred, one walk-in booking).
    for s in [&w.secretary, &w.doctor, &w.support, &w.admin] {
        assert_eq!(attempt(&s.pool, "SELECT id FROM consultations").await, Rows(9));
    }
}

#[tokio::test]
async fn only_support_and_admins_onboard_patients() {
    let w = world().await;
    let insert_person = "INSERT INTO patient_persons (name, status) VALUES ('Test Person', 'draft')";
    for s in [&w.secretary, &w.doctor, &w.doctor_b] {
        assert_eq!(attempt(&s.pool, insert_person).await, Denied, "{}", s.login);
        assert_eq!(
            attempt(&s.pool, "INSERT INTO users (email, username, account_directory) VALUES ('x@example.com', 'x', 'local')")
                .await,
            Denied
        );
        assert_eq!(attempt(&s.pool, "UPDATE patient_persons SET name = 'Changed'").await, Denied);
    }
    for s in [&w.support, &w.admin] {
        assert_eq!(attempt(&s.pool, insert_person).await, Rows(1), "{}", s.login);
        assert_eq!(attempt(&s.pool, "UPDATE patient_persons SET name = name").await, Rows(18));
        // Linking a person to another clinic is refused by row-level security.
        let other = format!(
            "INSERT INTO patients (patient_person_id, organization_id, entry_point) VALUES (1, {}, 'walk_in')",
            w.clinic_b
        );
        assert_eq!(attempt(&s.pool, &other).await, Denied);
        let other = format!("INSERT INTO user_organizations (user_id, organization_id) VALUES (1, {})", w.clinic_b);
        assert_eq!(attempt(&s.pool, &other).await, Denied);
    }
    // Nobody deletes patient data through their login.
    for s in [&w.secretary, &w.doctor, &w.support, &w.admin] {
        assert_eq!(attempt(&s.pool, "DELETE FROM patient_persons").await, Denied);
        assert_eq!(attempt(&s.pool, "DELETE FROM patients").await, Denied);
        assert_eq!(attempt(&s.pool, "DELETE FROM consultations").await, Denied);
    }
}

#[tokio::test]
async fn doctors_work_only_on_their_own_or_unassigned_consultations() {
    let w = world().await;
    let d = &w.doctor.pool;
    // Picking an unassigned consultation for oneself.
    let pick = format!(
        "UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = {}, assigned_at = now() WHERE id = {}",
        w.doctor.id, w.unassigned
    );
    assert_eq!(attempt(d, &pick).await, Rows(1));
    // Starting one's own.
    let start = format!("UPDATE consultations SET state = 'in_progress', starts_at = now() WHERE id = {}", w.mine);
    assert_eq!(attempt(d, &start).await, Rows(1));
    // Another doctor's consultation is out of reach: no row matches.
    let start_theirs = format!("UPDATE consultations SET state = 'in_progress', starts_at = now() WHERE id = {}", w.theirs);
    assert_eq!(attempt(d, &start_theirs).await, Rows(0));
    // Handing an unassigned one to a colleague is refused.
    let give = format!(
        "UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = {}, assigned_at = now() WHERE id = {}",
        w.other_doctor.id, w.unassigned
    );
    assert_eq!(attempt(d, &give).await, Denied);
    // A doctor of another clinic reaches nothing in clinic A.
    let steal = format!(
        "UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = {}, assigned_at = now() WHERE id = {}",
        w.doctor_b.id, w.unassigned
    );
    assert_eq!(attempt(&w.doctor_b.pool, &steal).await, Rows(0));
    // Doctors do not change booking fields, and do not write screening notes.
    assert_eq!(attempt(d, &format!("UPDATE consultations SET deadline_at = now() WHERE id = {}", w.mine)).await, Denied);
    assert_eq!(
        attempt(d, &format!("INSERT INTO consultation_screenings (consultation_id, staff_id, kind, call_outcome) VALUES ({}, {}, 'call_attempt', 'reached')", w.mine, w.doctor.id)).await,
        Denied
    );
    // Rooms only for one's own consultation.
    assert_eq!(
        attempt(
            d,
            &format!("INSERT INTO meeting_rooms (consultation_id, provider, room_name) VALUES ({}, 'demo', md5('x'))", w.mine)
        )
        .await,
        Rows(1)
    );
    assert_eq!(
        attempt(
            d,
            &format!("INSERT INTO meeting_rooms (consultation_id, provider, room_name) VALUES ({}, 'demo', md5('y'))", w.theirs)
        )
        .await,
        Denied
    );
}

#[tokio::test]
async fn secretaries_book_assign_and_cancel_but_never_start_or_see_results() {
    let w = world().await;
    let s = &w.secretary.pool;
    let assign = format!(
        "UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = {}, assigned_at = now() WHERE id = {}",
        w.other_doctor.id, w.unassigned
    );
    assert_eq!(attempt(s, &assign).await, Rows(1));
    // Only a doctor of the same clinic can be assigned.
    let assign_b = format!(
        "UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = {}, assigned_at = now() WHERE id = {}",
        w.doctor_b.id, w.unassigned
    );
    assert_eq!(attempt(s, &assign_b).await, Denied);
    let cancel = format!(
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Patient declined' WHERE id = {}",
        w.unassigned
    );
    assert_eq!(attempt(s, &cancel).await, Rows(1));
    assert_eq!(attempt(s, &format!("UPDATE consultations SET starts_at = now() WHERE id = {}", w.mine)).await, Denied);
    // Screening notes in their own name only.
    let note = |staff: i32| {
        format!("INSERT INTO consultation_screenings (consultation_id, staff_id, kind, call_outcome) VALUES ({}, {staff}, 'call_attempt', 'no_answer')", w.unassigned)
    };
    assert_eq!(attempt(s, &note(w.secretary.id)).await, Rows(1));
    assert_eq!(attempt(s, &note(w.admin.id)).await, Denied);
    // Results and the audit log are not theirs to read; nor are other clinics' consultations.
    assert_eq!(attempt(s, "SELECT id FROM consultation_results").await, Denied);
    assert_eq!(attempt(s, "SELECT id FROM audit_log").await, Denied);
    assert_eq!(attempt(s, "SELECT * FROM audit_chain_head").await, Denied);
    let b_consultation: i32 = sqlx::query_scalar("SELECT id FROM consultations WHERE organization_id = $1")
        .bind(w.clinic_b)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(attempt(s, &format!("UPDATE consultations SET cancel_reason = 'x' WHERE id = {b_consultation}")).await, Rows(0));
    // Booking: a new consultation in their clinic, not in another.
    assert_eq!(
        attempt(s, "INSERT INTO consultations (patient_person_id, organization_id, category) VALUES (1, 1, 'direct')").await,
        Rows(1)
    );
    assert_eq!(
        attempt(
            s,
            &format!(
                "INSERT INTO consultations (patient_person_id, organization_id, category) VALUES (1, {}, 'direct')",
                w.clinic_b
            )
        )
        .await,
        Denied
    );
}

#[tokio::test]
async fn referrals_are_booked_and_declined_by_the_clinics_secretaries_and_admins_only() {
    let w = world().await;
    let awaiting: Vec<(i32, i32, i32)> = sqlx::query_as(
        "SELECT r.id, r.patient_person_id, r.partner_id FROM referrals r
          WHERE NOT EXISTS (SELECT 1 FROM consultations c WHERE c.referral_id = r.id) ORDER BY r.id",
    )
    .fetch_all(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(awaiting.len(), 3, "the demo's referrals awaiting screening");
    let (referral, person, partner) = awaiting[0];
    let a: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&w.db.owner).await.unwrap();
    let book = |r: i32, p: i32| {
        format!(
            "INSERT INTO consultations (patient_person_id, organization_id, partner_id, referral_id, category) VALUES ({p}, {a}, {partner}, {r}, 'insurance')"
        )
    };
    let decline = |r: i32| format!("UPDATE referrals SET decline_reason = 'Needs no help' WHERE id = {r}");
    // Doctors and support agents do neither; a doctor of another clinic does not even see it.
    for s in [&w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, &book(referral, person)).await, Denied, "{}", s.login);
        assert_eq!(attempt(&s.pool, &decline(referral)).await, Denied, "{}", s.login);
    }
    assert_eq!(attempt(&w.doctor_b.pool, &decline(referral)).await, Denied);
    // The clinic's secretaries and admins do, for the referral's own patient only.
    for s in [&w.secretary, &w.admin] {
        assert_eq!(attempt(&s.pool, &book(referral, person)).await, Rows(1), "{}", s.login);
        assert_eq!(attempt(&s.pool, &decline(referral)).await, Rows(1), "{}", s.login);
        assert_eq!(attempt(&s.pool, &book(referral, awaiting[1].1)).await, Refused("P0001".into()));
    }
    // The database records who declined and when, keeps the decline, and books no declined referral.
    sqlx::query(&decline(referral)).execute(&w.secretary.pool).await.unwrap();
    let (by, at): (Option<i32>, bool) =
        sqlx::query_as("SELECT declined_by_staff_id, declined_at IS NOT NULL FROM referrals WHERE id = $1")
            .bind(referral)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!((by, at), (Some(w.secretary.id), true));
    assert_eq!(attempt(&w.secretary.pool, &book(referral, person)).await, Refused("P0001".into()));
    assert_eq!(
        attempt(&w.admin.pool, &format!("UPDATE referrals SET decline_reason = 'Other' WHERE id = {referral}")).await,
        Refused("P0001".into())
    );
    // A booked referral is not declined.
    let booked: i32 = sqlx::query_scalar("SELECT referral_id FROM consultations WHERE referral_id IS NOT NULL LIMIT 1")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(attempt(&w.secretary.pool, &decline(booked)).await, Refused("P0001".into()));
    // Support agents book for their clinic's patients, but no referral and no one of another clinic.
    let direct = |org: i32| {
        format!("INSERT INTO consultations (patient_person_id, organization_id, category) VALUES ({person}, {org}, 'direct')")
    };
    assert_eq!(attempt(&w.support.pool, &direct(a)).await, Rows(1));
    assert_eq!(attempt(&w.support.pool, &direct(w.clinic_b)).await, Denied);
}

#[tokio::test]
async fn consultation_results_are_filed_by_the_assigned_doctor_and_read_by_nobody_directly() {
    let w = world().await;
    let file = |consultation: i32, author: i32| {
        format!("INSERT INTO consultation_results (consultation_id, author_staff_id, icpc2_encrypted, outcome_encrypted) VALUES ({consultation}, {author}, '\\x01', '\\x01')")
    };
    assert_eq!(attempt(&w.doctor.pool, &file(w.mine, w.doctor.id)).await, Rows(1));
    assert_eq!(attempt(&w.doctor.pool, &file(w.theirs, w.doctor.id)).await, Denied);
    assert_eq!(attempt(&w.doctor.pool, &file(w.theirs, w.other_doctor.id)).await, Denied);
    for s in [&w.secretary, &w.support] {
        assert_eq!(attempt(&s.pool, &file(w.mine, w.doctor.id)).await, Denied);
    }
    for s in [&w.secretary, &w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, "SELECT id FROM consultation_results").await, Denied, "{}", s.login);
    }
    // Admins re-encrypt results under the clinical keys: they may find the rows' ids, and only
    // while digimed.key_rotation is on; never a field.
    assert_eq!(attempt(&w.admin.pool, "SELECT id FROM consultation_results").await, Rows(0));
    assert_eq!(attempt(&w.admin.pool, "SELECT notes_encrypted FROM consultation_results").await, Denied);
    assert_eq!(attempt(&w.admin.pool, "SELECT outcome_encrypted FROM consultation_results").await, Denied);
    // A filed result is never changed in place, not even by the owner.
    sqlx::query(&file(w.mine, w.doctor.id)).execute(&w.db.owner).await.unwrap();
    assert_eq!(attempt(&w.db.owner, "UPDATE consultation_results SET version = 2").await, Refused("P0001".into()));
    assert_eq!(attempt(&w.db.owner, "DELETE FROM consultation_results").await, Refused("P0001".into()));
}

#[tokio::test]
async fn reference_data_partners_orders_and_admin_tables() {
    let w = world().await;
    for s in [&w.secretary, &w.doctor, &w.support, &w.admin] {
        assert_eq!(attempt(&s.pool, "SELECT id FROM organizations").await, Rows(3));
        assert_eq!(attempt(&s.pool, "SELECT code FROM entry_points").await, Rows(11));
        assert_eq!(attempt(&s.pool, "SELECT code FROM result_outcomes").await, Rows(3));
        assert_eq!(attempt(&s.pool, "SELECT id FROM form_templates").await, Rows(3));
        assert_eq!(attempt(&s.pool, "SELECT id, name, is_test_partner FROM partners").await, Rows(1));
        // The partner's webhook secret (even encrypted) is for the service only.
        assert_eq!(attempt(&s.pool, "SELECT webhook_secret_encrypted FROM partners").await, Denied);
        assert_eq!(attempt(&s.pool, "SELECT token_hash FROM api_tokens").await, Denied);
        assert_eq!(attempt(&s.pool, "SELECT secret_encrypted FROM webhook_subscriptions").await, Denied);
        assert_eq!(attempt(&s.pool, "UPDATE staff SET role = 'admin'").await, Denied);
        assert_eq!(
            attempt(
                &s.pool,
                "INSERT INTO staff (login_role, email, name, role, organization_id) VALUES ('x', 'x@x.test', 'X', 'admin', 1)"
            )
            .await,
            Denied
        );
    }
    for s in [&w.secretary, &w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, "INSERT INTO organizations (name, kind) VALUES ('New', 'clinic')").await, Denied);
        assert_eq!(attempt(&s.pool, "INSERT INTO result_outcomes (code, label) VALUES ('other', 'Other')").await, Denied);
        assert_eq!(attempt(&s.pool, "UPDATE automation_rules SET active = false").await, Denied);
        assert_eq!(attempt(&s.pool, "SELECT id FROM audit_log").await, Denied);
        assert_eq!(attempt(&s.pool, "SELECT id FROM outbox").await, Denied);
        assert_eq!(attempt(&s.pool, "SELECT id FROM webhook_deliveries").await, Denied);
    }
    assert_eq!(attempt(&w.admin.pool, "INSERT INTO organizations (name, kind) VALUES ('New', 'clinic')").await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, "INSERT INTO result_outcomes (code, label) VALUES ('other', 'Other')").await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, "UPDATE staff SET name = 'Renamed' WHERE id = 1").await, Rows(1));
    assert!(matches!(attempt(&w.admin.pool, "SELECT id FROM audit_log").await, Rows(n) if n > 50));
    // A published form template version is immutable, even for admins.
    assert_eq!(attempt(&w.admin.pool, "UPDATE form_template_versions SET body = 'changed'").await, Refused("P0001".into()));
    // Orders: the clinic's secretaries and admins, not doctors or support.
    assert_eq!(attempt(&w.secretary.pool, "SELECT id FROM orders").await, Rows(8));
    assert_eq!(attempt(&w.secretary.pool, "SELECT id FROM line_items").await, Rows(8));
    assert_eq!(attempt(&w.doctor.pool, "SELECT id FROM orders").await, Denied);
    assert_eq!(attempt(&w.support.pool, "SELECT id FROM line_items").await, Denied);
    // Support agents open the order of a booking they make, and read back its id only.
    assert_eq!(attempt(&w.support.pool, "SELECT total FROM orders").await, Denied);
    assert_eq!(attempt(&w.doctor_b.pool, "SELECT id FROM referrals").await, Rows(0));
    assert_eq!(attempt(&w.support.pool, "SELECT id FROM referrals").await, Denied);
    // Everyone who changes data may queue its event; only admins read the queue.
    for s in [&w.secretary, &w.doctor, &w.support, &w.admin] {
        let ev = "INSERT INTO outbox (event_id, event_type, payload) VALUES (gen_random_uuid(), 'test.event', '{}')";
        assert_eq!(attempt(&s.pool, ev).await, Rows(1));
    }
    // Consent forms: written by support and admins only.
    let form = "INSERT INTO forms (patient_id, template_id, template_version_id) VALUES (1, 1, 1)";
    assert_eq!(attempt(&w.secretary.pool, form).await, Denied);
    assert_eq!(attempt(&w.doctor.pool, form).await, Denied);
    assert_eq!(attempt(&w.support.pool, form).await, Rows(1));
}

#[tokio::test]
async fn illegal_state_transitions_are_refused_naming_the_state() {
    let w = world().await;
    let cancelled: i32 =
        sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'cancelled'").fetch_one(&w.db.owner).await.unwrap();
    let mut tx = w.db.owner.begin().await.unwrap();
    let e = sqlx::query("UPDATE consultations SET state = 'completed', starts_at = now(), ends_at = now() WHERE id = $1")
        .bind(cancelled)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("cancelled"), "{msg}");
    drop(tx);
    let e = digimed_core::Error::from(e);
    assert_eq!(e.code, digimed_core::ErrorCode::InvalidStateTransition);
    let unassigned = w.unassigned;
    for (sql, why) in [
        ("UPDATE consultations SET state = 'completed', starts_at = now(), ends_at = now() WHERE id = $1", "skip to completed"),
        ("UPDATE consultations SET state = 'in_progress', starts_at = now() WHERE id = $1", "start unassigned"),
    ] {
        let r = sqlx::query(sql).bind(unassigned).execute(&w.db.owner).await;
        assert!(r.is_err(), "{why} must be refused");
    }
    let e = sqlx::query("INSERT INTO consultations (patient_person_id, organization_id, state) VALUES (1, 1, 'completed')")
        .execute(&w.db.owner)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("completed"));
}

#[tokio::test]
async fn form_templates_are_written_by_admins_of_their_own_clinic() {
    let w = world().await;
    let a: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&w.db.owner).await.unwrap();
    let admin_b = w.db.staff(AppRole::Admin, w.clinic_b, "m-admin-b").await;
    let own: i32 = sqlx::query_scalar(
        "INSERT INTO form_templates (organization_id, key, title) VALUES ($1, 'clinic_a_terms', 'Clinic A terms') RETURNING id",
    )
    .bind(a)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    let shared: i32 = sqlx::query_scalar("SELECT id FROM form_templates WHERE organization_id IS NULL ORDER BY id LIMIT 1")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    let version = |t: i32| format!("INSERT INTO form_template_versions (template_id, version, body) VALUES ({t}, 9, 'Text')");
    let template =
        |org: i32| format!("INSERT INTO form_templates (organization_id, key, title) VALUES ({org}, 'new_form', 'New form')");
    for s in [&w.secretary, &w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, &template(a)).await, Denied);
        assert_eq!(attempt(&s.pool, &version(own)).await, Denied);
        assert_eq!(attempt(&s.pool, &version(shared)).await, Denied);
        assert_eq!(
            attempt(&s.pool, "UPDATE form_template_versions SET published_at = now() WHERE published_at IS NULL").await,
            Denied
        );
    }
    // Clinic A's admin: its own clinic's templates and the shared ones.
    assert_eq!(attempt(&w.admin.pool, &template(a)).await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, &version(own)).await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, &version(shared)).await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, &format!("UPDATE form_templates SET title = 'Renamed' WHERE id = {own}")).await, Rows(1));
    // Clinic B's admin: not clinic A's, whether new, revised or renamed; the shared ones, yes.
    assert_eq!(attempt(&admin_b.pool, &template(a)).await, Denied);
    assert_eq!(attempt(&admin_b.pool, &version(own)).await, Denied);
    assert_eq!(attempt(&admin_b.pool, &format!("UPDATE form_templates SET title = 'Renamed' WHERE id = {own}")).await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, &version(shared)).await, Rows(1));
    assert_eq!(attempt(&admin_b.pool, &template(w.clinic_b)).await, Rows(1));
    // Everyone still reads the templates (forms name them).
    for s in [&w.secretary, &w.doctor, &w.support, &admin_b] {
        assert_eq!(attempt(&s.pool, "SELECT id FROM form_templates").await, Rows(4));
    }
}

#[tokio::test]
async fn partners_are_added_and_changed_by_admins_of_the_clinic_they_serve() {
    let w = world().await;
    let a: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&w.db.owner).await.unwrap();
    let admin_b = w.db.staff(AppRole::Admin, w.clinic_b, "m-partner-admin-b").await;
    let org: i32 =
        sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('nordvakt', 'insurer_partner') RETURNING id")
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let insert =
        |clinic: i32| format!("INSERT INTO partners (organization_id, clinic_id, name) VALUES ({org}, {clinic}, 'nordvakt')");
    for s in [&w.secretary, &w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, &insert(a)).await, Denied);
        assert_eq!(attempt(&s.pool, "UPDATE partners SET deadline_working_days = 5").await, Denied);
    }
    assert_eq!(attempt(&w.admin.pool, &insert(a)).await, Rows(1));
    assert_eq!(attempt(&w.admin.pool, "UPDATE partners SET deadline_working_days = 5").await, Rows(1));
    // Clinic B's admin: not for clinic A, not clinic A's partner (re-pointed or its secret replaced).
    assert_eq!(attempt(&admin_b.pool, &insert(a)).await, Denied);
    assert_eq!(attempt(&admin_b.pool, "UPDATE partners SET deadline_working_days = 5").await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, &format!("UPDATE partners SET clinic_id = {}", w.clinic_b)).await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, "UPDATE partners SET webhook_secret_encrypted = '\\x00'").await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, &insert(w.clinic_b)).await, Rows(1));
    // Everyone still reads the partners' names.
    assert_eq!(attempt(&admin_b.pool, "SELECT id, name FROM partners").await, Rows(1));
}

#[tokio::test]
async fn staff_are_deactivated_by_admins_of_their_own_clinic_only_and_never_themselves() {
    let w = world().await;
    let admin_b = w.db.staff(AppRole::Admin, w.clinic_b, "m-staff-admin-b").await;
    let deactivate = |id: i32| format!("UPDATE staff SET active = false WHERE id = {id}");
    for s in [&w.secretary, &w.doctor, &w.support] {
        assert_eq!(attempt(&s.pool, &deactivate(w.other_doctor.id)).await, Denied);
    }
    assert_eq!(attempt(&w.admin.pool, &deactivate(w.other_doctor.id)).await, Rows(1));
    // Another clinic's admin sees no row to change; their own clinic's, yes.
    assert_eq!(attempt(&admin_b.pool, &deactivate(w.other_doctor.id)).await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, &format!("UPDATE staff SET name = 'Renamed' WHERE id = {}", w.doctor.id)).await, Rows(0));
    assert_eq!(attempt(&admin_b.pool, &deactivate(w.doctor_b.id)).await, Rows(1));
    // Nobody deactivates their own login.
    assert_eq!(attempt(&w.admin.pool, &deactivate(w.admin.id)).await, Refused("P0001".into()));
    // Staff still read the staff list.
    assert!(matches!(attempt(&w.secretary.pool, "SELECT id FROM staff").await, Rows(n) if n >= 6));
}
