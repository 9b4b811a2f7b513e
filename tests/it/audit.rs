//! The audit log: written by the database for every change, in the same transaction, in the
//! actor's name, hash-chained so that changes, removals and insertions are found.

use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_tests::{is_denied, TestDb};

#[tokio::test]
async fn writes_are_audited_in_the_actors_name_without_secrets() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    let consultation: i32 =
        sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    sqlx::query(
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1",
    )
    .bind(consultation)
    .execute(&secretary.pool)
    .await
    .unwrap();
    let (actor, changes): (String, serde_json::Value) = sqlx::query_as(
        "SELECT actor, changes FROM audit_log WHERE entity_type = 'consultations' AND entity_id = $1 AND action = 'UPDATE' ORDER BY id DESC LIMIT 1",
    )
    .bind(consultation.to_string())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(actor, secretary.login);
    assert_eq!(changes["state"]["from"], "ready_for_pickup");
    assert_eq!(changes["state"]["to"], "cancelled");

    // Encrypted columns and blind indexes never reach the log.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'patient_persons'
            AND (changes ->> 'phone_encrypted' <> '[redacted]' OR changes ->> 'national_id_index' <> '[redacted]')",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert!(report.rows > 50);
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_audit_row() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&db.owner).await.unwrap();
    let mut tx = db.owner.begin().await.unwrap();
    sqlx::query("UPDATE consultations SET cancel_reason = 'x' WHERE state = 'ready_for_pickup'").execute(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&db.owner).await.unwrap();
    assert_eq!(before, after);
    assert!(ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap().intact());
}

#[tokio::test]
async fn staff_cannot_write_or_forge_audit_rows() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let admin = db.staff(AppRole::Admin, clinic, "audit-admin").await;
    let e = sqlx::query("INSERT INTO audit_log (occurred_at, actor, action, entity_type, entity_id, prev_hash, hash) VALUES (now(), 'x', 'CREATE', 'x', '1', '\\x00', '\\x00')")
        .execute(&admin.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&e), "{e}");
    let e = sqlx::query("UPDATE audit_log SET actor = 'someone else'").execute(&admin.pool).await.unwrap_err();
    assert!(is_denied(&e), "{e}");
    // Rows waiting for their transaction's commit cannot be written, read or removed directly.
    for sql in [
        "INSERT INTO audit_pending (occurred_at, actor, action, entity_type, entity_id, changes) VALUES (now(), 'x', 'CREATE', 'x', '1', '{}')",
        "SELECT * FROM audit_pending",
        "DELETE FROM audit_pending",
    ] {
        let e = sqlx::query(sql).execute(&admin.pool).await.unwrap_err();
        assert!(is_denied(&e), "{sql}: {e}");
    }
    // Writing in another staff member's name, or a role that does not exist, is refused.
    let colleague = db.staff(AppRole::Doctor, clinic, "audit-doctor").await;
    for actor in [colleague.login.as_str(), "no-such-role"] {
        let e = sqlx::query("SELECT audit_append($1, 'CREATE', 'patients', '1', '{}')")
            .bind(actor)
            .execute(&admin.pool)
            .await
            .unwrap_err();
        assert!(is_denied(&e), "{e}");
    }
    // Admins may read the log; other roles may not.
    let secretary = db.staff(AppRole::Secretary, clinic, "audit-sec").await;
    let e = sqlx::query("SELECT * FROM audit_log").fetch_all(&secretary.pool).await.unwrap_err();
    assert!(is_denied(&e), "{e}");
    let report = ClinicTx::run(&admin.pool, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact());
}

#[tokio::test]
async fn verify_finds_a_changed_a_removed_and_a_truncated_row() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    assert!(ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap().intact());
    // Someone with the owner's power switches the guard off and edits history.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&db.owner).await.unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'nobody' WHERE id = 20").execute(&db.owner).await.unwrap();
    let r = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert_eq!(r.first_broken_id.as_deref(), Some("20"), "{r:?}");
    assert!(r.problem.unwrap().contains("changed"));

    let db = TestDb::new().await;
    db.seed_demo().await;
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&db.owner).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id = 30").execute(&db.owner).await.unwrap();
    let r = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert_eq!(r.first_broken_id.as_deref(), Some("31"), "{r:?}");

    let last: i64 = sqlx::query_scalar("SELECT max(id) FROM audit_log").fetch_one(&db.owner).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id >= 31").execute(&db.owner).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id = 30").execute(&db.owner).await.unwrap();
    let r = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert_eq!(r.first_broken_id.as_deref(), Some(last.to_string().as_str()), "{r:?}");
    assert!(r.problem.unwrap().contains("missing"));
}

/// A committing transaction does not wait while another chains: it leaves its rows waiting, and
/// the next commit (or `seal_pending`) chains them, in one order, with the chain intact.
#[tokio::test]
async fn a_commit_does_not_wait_for_the_chain_and_its_rows_are_chained_by_the_next() {
    use std::time::Duration;
    let db = TestDb::new().await;
    db.seed_demo().await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    let ready: Vec<i32> = sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 3")
        .fetch_all(&db.owner)
        .await
        .unwrap();
    assert_eq!(ready.len(), 3, "the demo has ready consultations");
    let cancel = |id: i32| {
        sqlx::query("UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1")
            .bind(id)
            .execute(&secretary.pool)
    };
    let pending = || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_pending").fetch_one(&db.owner);
    let logged = |id: i32| {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT max(id) FROM audit_log WHERE entity_type = 'consultations' AND entity_id = $1 AND action = 'UPDATE'",
        )
        .bind(id.to_string())
        .fetch_one(&db.owner)
    };

    // Someone holds the chain's head (as a committing transaction does while it chains).
    let mut holder = db.owner.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM audit_chain_head FOR UPDATE").execute(&mut *holder).await.unwrap();
    // The secretary's change commits regardless (a bound, so a wait fails instead of hanging).
    tokio::time::timeout(Duration::from_secs(60), cancel(ready[0]))
        .await
        .expect("the commit did not wait for the chain")
        .unwrap();
    assert_eq!(logged(ready[0]).await.unwrap(), None, "not chained while the head was held");
    assert!(pending().await.unwrap() >= 1, "the committed change's audit row waits");
    holder.rollback().await.unwrap();

    // The next audited commit finds the head free and chains the waiting row before its own.
    cancel(ready[1]).await.unwrap();
    assert_eq!(pending().await.unwrap(), 0);
    let (first, second) = (logged(ready[0]).await.unwrap().unwrap(), logged(ready[1]).await.unwrap().unwrap());
    assert!(first < second, "the waiting row is chained first: {first} < {second}");

    // When nothing else commits, sealing chains what waits.
    let mut holder = db.owner.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM audit_chain_head FOR UPDATE").execute(&mut *holder).await.unwrap();
    cancel(ready[2]).await.unwrap();
    assert_eq!(
        ClinicTx::run(&db.owner, async |tx| digimed_core::audit::seal_pending(tx).await).await.unwrap(),
        0,
        "nothing is chained while another holds the head"
    );
    holder.rollback().await.unwrap();
    assert!(ClinicTx::run(&db.owner, async |tx| digimed_core::audit::seal_pending(tx).await).await.unwrap() >= 1);
    assert_eq!(pending().await.unwrap(), 0);
    assert!(logged(ready[2]).await.unwrap().is_some());
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// Many audited transactions committing at once: every row reaches the log exactly once and the
/// chain verifies.
#[tokio::test]
async fn concurrent_audited_commits_all_reach_an_intact_chain() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&db.owner).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let pool = db.owner.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..5 {
                sqlx::query("SELECT audit_append(current_user, 'CREATE', 'concurrency_check', $1, '{}')")
                    .bind(format!("{i}-{j}"))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ClinicTx::run(&db.owner, async |tx| digimed_core::audit::seal_pending(tx).await).await.unwrap();
    let (logged, pending): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT entity_id) FROM audit_log WHERE entity_type = 'concurrency_check'),
                (SELECT count(*) FROM audit_pending)",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((logged, pending), (120, 0));
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&db.owner).await.unwrap();
    assert_eq!(after - before, 120);
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// The sealer reads only what can be new since its last run; an entry of a transaction that was
/// already running when another sealed, and that commits while the head is held, still reaches
/// the chain, after the entries sealed before it.
#[tokio::test]
async fn an_entry_of_a_transaction_running_across_a_seal_is_still_chained() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    let ready: Vec<i32> = sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 1")
        .fetch_all(&db.owner)
        .await
        .unwrap();
    assert_eq!(ready.len(), 1, "the demo has a ready consultation");
    let logged = |entity_type: &'static str, id: String| {
        sqlx::query_scalar::<_, Option<i64>>("SELECT max(id) FROM audit_log WHERE entity_type = $1 AND entity_id = $2")
            .bind(entity_type)
            .bind(id)
            .fetch_one(&db.owner)
    };

    // A transaction writes an audited entry and stays open.
    let mut late = db.owner.begin().await.unwrap();
    sqlx::query("SELECT audit_append(current_user, 'CREATE', 'seal_check', 'late', '{}')").execute(&mut *late).await.unwrap();
    // Meanwhile another change commits and is chained (the sealer moves its starting point on).
    sqlx::query(
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1",
    )
    .bind(ready[0])
    .execute(&secretary.pool)
    .await
    .unwrap();
    let earlier = logged("consultations", ready[0].to_string()).await.unwrap().expect("the change was chained");
    let from: (String,) = sqlx::query_as("SELECT pending_from::text FROM audit_chain_head").fetch_one(&db.owner).await.unwrap();
    assert_ne!(from.0, "0", "the sealer recorded where the next one starts");

    // The open transaction commits while the head is held, so its entry waits.
    let mut holder = db.owner.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM audit_chain_head FOR UPDATE").execute(&mut *holder).await.unwrap();
    late.commit().await.unwrap();
    assert_eq!(logged("seal_check", "late".into()).await.unwrap(), None, "not chained while the head was held");
    holder.rollback().await.unwrap();

    // The next seal finds it.
    assert_eq!(ClinicTx::run(&db.owner, async |tx| digimed_core::audit::seal_pending(tx).await).await.unwrap(), 1);
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_pending").fetch_one(&db.owner).await.unwrap();
    assert_eq!(pending, 0);
    let late_id = logged("seal_check", "late".into()).await.unwrap().expect("the late entry was chained");
    assert!(earlier < late_id, "chained after the entries sealed before it: {earlier} < {late_id}");
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// No staff login can switch auditing off, write the queue or the chain's head, take another's
/// name, or, by changing settings, keep a write out of the chain.
#[tokio::test]
async fn staff_cannot_switch_auditing_off_or_keep_a_write_out_of_the_chain() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let admin = db.staff(AppRole::Admin, 1, "audit-admin").await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    for staff in [&admin, &secretary] {
        for sql in [
            "UPDATE audit_chain_head SET last_hash = '\\x00'",
            "UPDATE audit_chain_head SET pending_from = '0'",
            "INSERT INTO audit_pending (occurred_at, actor, action, entity_type, entity_id, changes) VALUES (now(), current_user, 'CREATE', 'x', '1', '{}')",
            "UPDATE audit_pending SET actor = 'someone else'",
            "ALTER TABLE consultations DISABLE TRIGGER audit",
            "ALTER TABLE consultations DISABLE TRIGGER USER",
            "SET session_replication_role = replica",
            "SELECT set_config('session_replication_role', 'replica', false)",
        ] {
            let e = sqlx::query(sql).execute(&staff.pool).await.unwrap_err();
            assert!(is_denied(&e), "{sql}: {e}");
        }
        // Becoming a colleague's login (whose name the triggers would then write) is refused.
        let e =
            sqlx::query(&format!("SET ROLE \"{}\"", if staff.login == admin.login { &secretary.login } else { &admin.login }))
                .execute(&staff.pool)
                .await
                .unwrap_err();
        assert!(is_denied(&e), "{e}");
    }

    // Settings a login may change do not keep its write out of the chain, nor change its name.
    let consultation: i32 =
        sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let mut tx = secretary.pool.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('digimed.audit_seal_tried', 'yes', false), set_config('digimed.audit_seal_queued', 'yes', false),
                set_config('digimed.acting_for', 'api-token:1', true)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1",
    )
    .bind(consultation)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    ClinicTx::run(&db.owner, async |tx| digimed_core::audit::seal_pending(tx).await).await.unwrap();
    let (actor, acting_for): (String, Option<String>) = sqlx::query_as(
        "SELECT actor, acting_for FROM audit_log WHERE entity_type = 'consultations' AND entity_id = $1 AND action = 'UPDATE'
          ORDER BY id DESC LIMIT 1",
    )
    .bind(consultation.to_string())
    .fetch_one(&db.owner)
    .await
    .expect("the write was chained");
    assert_eq!(actor, secretary.login, "the actor is the login, whatever the settings say");
    // `acting_for` is what the transaction claims on whose behalf it acts; the actor answers for it.
    assert_eq!(acting_for.as_deref(), Some("api-token:1"));
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// The row trigger writes the pending queue with the owner's rights: no login may call it, attach
/// it to a table of its own (a temporary one, say) to write entries of its choosing, or name
/// another actor through the settings it reads.
#[tokio::test]
async fn the_audit_trigger_cannot_be_called_borrowed_or_told_another_name() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    let doctor = db.staff(AppRole::Doctor, 1, "audit-doc").await;
    for sql in [
        "SELECT audit_row()",
        "CREATE TEMP TABLE borrowed (id int); CREATE TRIGGER audit AFTER INSERT ON borrowed FOR EACH ROW EXECUTE FUNCTION audit_row()",
    ] {
        let mut tx = secretary.pool.begin().await.unwrap();
        let e = sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap_err();
        assert!(is_denied(&e), "{sql}: {e}");
        tx.rollback().await.unwrap();
    }
    // Taking a colleague's name through the `role` setting is refused like SET ROLE.
    let e = sqlx::query("SELECT set_config('role', $1, true)").bind(&doctor.login).execute(&secretary.pool).await.unwrap_err();
    assert!(is_denied(&e), "{e}");

    // The service, acting for the secretary with SET LOCAL ROLE, writes in the secretary's name.
    let consultation: i32 =
        sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 1")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let service = digimed_tests::service::service_pool(&db).await;
    let email = digimed_domain::Email::parse(&secretary.login).unwrap();
    ClinicTx::run(&db.owner, async |tx| digimed_core::api_tokens::create(tx, &email, Some(30)).await).await.unwrap();
    let mut tx = service.begin().await.unwrap();
    sqlx::query("SELECT set_config('role', $1, true)").bind(&secretary.login).execute(&mut *tx).await.unwrap();
    sqlx::query(
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1",
    )
    .bind(consultation)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE entity_type = 'consultations' AND entity_id = $1 AND action = 'UPDATE' ORDER BY id DESC LIMIT 1",
    )
    .bind(consultation.to_string())
    .fetch_one(&db.owner)
    .await
    .expect("chained at the service's commit");
    assert_eq!(actor, secretary.login);
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// A transaction queues its seal once. When the write that queued it is rolled back to a
/// savepoint, the seal goes with it, and the next write queues it again: the commit still chains.
#[tokio::test]
async fn a_write_after_a_rolled_back_savepoint_is_still_chained_at_commit() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let secretary = db.staff(AppRole::Secretary, 1, "audit-sec").await;
    let ready: Vec<i32> = sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'ready_for_pickup' ORDER BY id LIMIT 2")
        .fetch_all(&db.owner)
        .await
        .unwrap();
    let cancel =
        "UPDATE consultations SET state = 'cancelled', cancelled_at = now(), cancel_reason = 'Duplicate referral' WHERE id = $1";
    let mut tx = secretary.pool.begin().await.unwrap();
    sqlx::query("SAVEPOINT first").execute(&mut *tx).await.unwrap();
    sqlx::query(cancel).bind(ready[0]).execute(&mut *tx).await.unwrap();
    sqlx::query("ROLLBACK TO SAVEPOINT first").execute(&mut *tx).await.unwrap();
    sqlx::query(cancel).bind(ready[1]).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_pending").fetch_one(&db.owner).await.unwrap();
    assert_eq!(pending, 0, "the commit chained its entry itself");
    let logged: Vec<String> = sqlx::query_scalar(
        "SELECT entity_id FROM audit_log WHERE entity_type = 'consultations' AND action = 'UPDATE' AND actor = $1 ORDER BY id",
    )
    .bind(&secretary.login)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(logged, vec![ready[1].to_string()], "only the kept write is in the log");
    let report = ClinicTx::run(&db.owner, async |tx| digimed_core::audit::verify_chain(tx).await).await.unwrap();
    assert!(report.intact(), "{report:?}");
}

/// Which columns the log redacts is fixed when a table's audit trigger is attached. Every audited
/// table's trigger names exactly the columns the rule (`audit_redacted_columns`) names today, so a
/// column added without attaching the trigger again is found here, and a change to a redacted
/// column is still recorded as a change.
#[tokio::test]
async fn every_audited_table_redacts_the_columns_the_rule_names() {
    let db = TestDb::new().await;
    let stale_sql = "SELECT t.tgrelid::regclass::text FROM pg_trigger t
          WHERE t.tgfoid = 'audit_row'::regproc
            AND array_remove(string_to_array(encode(t.tgargs, 'escape'), '\\000'), '') <> audit_redacted_columns(t.tgrelid)
          ORDER BY 1";
    let stale: Vec<String> = sqlx::query_scalar(stale_sql).fetch_all(&db.owner).await.unwrap();
    assert!(stale.is_empty(), "audit triggers whose redacted columns are out of date: {stale:?}");
    let attached: Vec<String> = sqlx::query_scalar(
        "SELECT encode(tgargs, 'escape') FROM pg_trigger WHERE tgfoid = 'audit_row'::regproc AND tgrelid = 'patient_persons'::regclass",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(attached.len(), 1);
    for column in ["national_id_encrypted", "national_id_index", "phone_encrypted", "phone_index"] {
        assert!(attached[0].contains(column), "{column} in {}", attached[0]);
    }

    // A new secret column makes the table stale until its trigger is attached again.
    sqlx::raw_sql("ALTER TABLE staff ADD COLUMN pager_encrypted bytea").execute(&db.owner).await.unwrap();
    let stale: Vec<String> = sqlx::query_scalar(stale_sql).fetch_all(&db.owner).await.unwrap();
    assert_eq!(stale, ["staff"]);
    sqlx::raw_sql("SELECT audit_attach('staff')").execute(&db.owner).await.unwrap();
    let stale: Vec<String> = sqlx::query_scalar(stale_sql).fetch_all(&db.owner).await.unwrap();
    assert!(stale.is_empty(), "{stale:?}");

    // A change to a redacted column is recorded, without its value.
    db.seed_demo().await;
    let person: i32 = sqlx::query_scalar("SELECT id FROM patient_persons WHERE phone_encrypted IS NOT NULL ORDER BY id LIMIT 1")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    sqlx::query("UPDATE patient_persons SET phone_index = sha256(phone_index) WHERE id = $1")
        .bind(person)
        .execute(&db.owner)
        .await
        .unwrap();
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE entity_type = 'patient_persons' AND entity_id = $1 AND action = 'UPDATE' ORDER BY id DESC LIMIT 1",
    )
    .bind(person.to_string())
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(changes, serde_json::json!({"phone_index": {"from": "[redacted]", "to": "[redacted]"}}));
}
