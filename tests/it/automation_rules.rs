//! The onboarding rules as admins change them: which forms a clinic requires of an onboarded
//! patient (add, blocking or not, remove, a new rule), the next onboarding following the change,
//! bad input and other roles and clinics refused with nothing written, and every change audited.

use digimed_core::automation::{self, AppliesTo};
use digimed_core::forms::{self, NewTemplate};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::service::standin_accounts;
use digimed_tests::{Staff, TestDb};

use crate::onboarding::{count, input, run, seed_rules};

struct World {
    db: TestDb,
    org1: i32,
    org2: i32,
    privacy: i32,
    sharing: i32,
    admin1: Staff,
    admin2: Staff,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let org1 = db.clinic("Rules One").await;
    let org2 = db.clinic("Rules Two").await;
    let (privacy, sharing) = seed_rules(&db, &[org1, org2]).await;
    let admin1 = db.staff(AppRole::Admin, org1, "ar-admin1").await;
    let admin2 = db.staff(AppRole::Admin, org2, "ar-admin2").await;
    World { db, org1, org2, privacy, sharing, admin1, admin2 }
}

/// A published template of `admin`'s clinic.
async fn clinic_template(admin: &Staff, key: &str, publish: bool) -> i32 {
    let t = ClinicTx::run(&admin.pool, async |tx| {
        forms::create_template(
            tx,
            &NewTemplate {
                key: key.into(),
                title: format!("Form {key}"),
                form_type: String::new(),
                consent_types: vec![],
                must_sign_before: None,
            },
        )
        .await
    })
    .await
    .unwrap();
    let v = ClinicTx::run(&admin.pool, async |tx| forms::add_version(tx, t.id, "Text of the form.").await).await.unwrap();
    if publish {
        ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, v.id).await).await.unwrap();
    }
    t.id
}

#[tokio::test]
async fn an_admin_sees_and_changes_the_forms_required_at_onboarding_and_the_next_onboarding_follows() {
    let w = world().await;
    let rules = ClinicTx::run(&w.admin1.pool, async |tx| automation::onboarding_rules(tx).await).await.unwrap();
    assert_eq!(
        rules.iter().map(|r| (r.name.as_str(), r.applies_to)).collect::<Vec<_>>(),
        [("new", AppliesTo::NewPersons), ("known", AppliesTo::KnownPersons)]
    );
    assert!(rules.iter().all(|r| r.organization_id == w.org1), "only the admin's own clinic");
    let new_rule = &rules[0];
    assert_eq!(
        new_rule.forms.iter().map(|f| (f.template_id, f.blocking, f.published)).collect::<Vec<_>>(),
        [(w.privacy, true, true), (w.sharing, true, true)]
    );
    assert!(new_rule.welcome_email);

    // Require the clinic's own terms (not blocking), make privacy not blocking, drop sharing.
    let terms = clinic_template(&w.admin1, "terms", true).await;
    let changed =
        ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, new_rule.id, terms, false).await).await.unwrap();
    assert_eq!(changed.forms.last().map(|f| (f.template_id, f.blocking, f.position)), Some((terms, false, 4)));
    let privacy_action = changed.forms[0].action_id;
    let sharing_action = changed.forms[1].action_id;
    ClinicTx::run(&w.admin1.pool, async |tx| automation::set_form_blocking(tx, privacy_action, false).await).await.unwrap();
    let after = ClinicTx::run(&w.admin1.pool, async |tx| automation::remove_form(tx, sharing_action).await).await.unwrap();
    assert_eq!(after.forms.iter().map(|f| (f.template_id, f.blocking)).collect::<Vec<_>>(), [(w.privacy, false), (terms, false)]);
    assert!(after.welcome_email, "the welcome e-mail stays");

    // The next new patient of clinic one gets exactly those forms; clinic two is unchanged.
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    let support1 = w.db.staff(AppRole::CustomerSupport, w.org1, "ar-support1").await;
    let support2 = w.db.staff(AppRole::CustomerSupport, w.org2, "ar-support2").await;
    let done = run(&support1.pool, &w.db, &accounts, &input("Rita Regel", "rita@example.com", "91234567", w.org1)).await.unwrap();
    assert_eq!(done.required_forms.iter().map(|f| f.template_id).collect::<Vec<_>>(), [w.privacy, terms]);
    let blocking: Vec<bool> = sqlx::query_scalar("SELECT blocking FROM forms WHERE patient_id = $1 ORDER BY id")
        .bind(done.patient.id)
        .fetch_all(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(blocking, [false, false]);
    let other =
        run(&support2.pool, &w.db, &accounts, &input("Ola Uendret", "ola@example.com", "91234568", w.org2)).await.unwrap();
    assert_eq!(other.required_forms.iter().map(|f| f.template_id).collect::<Vec<_>>(), [w.privacy, w.sharing]);

    // A rule of its own for every patient, requiring the sharing form again.
    let every = ClinicTx::run(&w.admin1.pool, async |tx| {
        automation::add_onboarding_rule(tx, "  Everyone signs sharing ", AppliesTo::Everyone).await
    })
    .await
    .unwrap();
    assert_eq!((every.name.as_str(), every.position, every.active, every.forms.len()), ("Everyone signs sharing", 3, true, 0));
    let every =
        ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, every.id, w.sharing, true).await).await.unwrap();
    assert_eq!(every.forms.iter().map(|f| f.template_id).collect::<Vec<_>>(), [w.sharing]);
    assert_eq!(ClinicTx::run(&w.admin1.pool, async |tx| automation::onboarding_rules(tx).await).await.unwrap().len(), 3);

    // Each change is in the audit log in the admin's name.
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, entity_type FROM audit_log WHERE actor = $1 AND entity_type IN ('automation_rules', 'automation_actions') ORDER BY id",
    )
    .bind(&w.admin1.login)
    .fetch_all(&w.db.owner)
    .await
    .unwrap();
    let kinds: Vec<String> = audited.iter().map(|(a, e)| format!("{a} {e}")).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(kinds[0].ends_with("automation_actions") && kinds[3].ends_with("automation_rules"), "{kinds:?}");
}

#[tokio::test]
async fn bad_input_other_roles_and_other_clinics_are_refused_and_nothing_is_written() {
    let w = world().await;
    let rule1 = ClinicTx::run(&w.admin1.pool, async |tx| automation::onboarding_rules(tx).await).await.unwrap().remove(0);
    let rule2 = ClinicTx::run(&w.admin2.pool, async |tx| automation::onboarding_rules(tx).await).await.unwrap().remove(0);
    let draft_only = clinic_template(&w.admin1, "draft_only", false).await;
    let own2 = clinic_template(&w.admin2, "clinic_two_terms", true).await;
    let secretary = w.db.staff(AppRole::Secretary, w.org1, "ar-secretary").await;
    let doctor = w.db.staff(AppRole::Doctor, w.org1, "ar-doctor").await;
    let support = w.db.staff(AppRole::CustomerSupport, w.org1, "ar-support").await;
    let before = (count(&w.db, "automation_rules").await, count(&w.db, "automation_actions").await);
    let blocking_before: Vec<bool> =
        sqlx::query_scalar("SELECT blocking FROM automation_actions ORDER BY id").fetch_all(&w.db.owner).await.unwrap();

    let field = |e: digimed_core::Error| (e.code, e.field);
    // Bad input, naming the field.
    assert_eq!(
        field(
            ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, rule1.id, 999_999, true).await)
                .await
                .unwrap_err()
        ),
        (ErrorCode::NotFound, Some("template_id".into()))
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, 999_999, w.privacy, true).await)
                .await
                .unwrap_err()
        ),
        (ErrorCode::NotFound, Some("rule_id".into()))
    );
    let e = ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, rule1.id, draft_only, true).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("template_id")));
    assert!(e.message.contains("no published version"), "{}", e.message);
    let e = ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, rule1.id, w.privacy, true).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::AlreadyExists, Some("template_id")));
    assert_eq!(
        field(
            ClinicTx::run(&w.admin1.pool, async |tx| automation::add_onboarding_rule(tx, "   ", AppliesTo::Everyone).await)
                .await
                .unwrap_err()
        ),
        (ErrorCode::InvalidInput, Some("name".into()))
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin1.pool, async |tx| automation::add_onboarding_rule(tx, &"x".repeat(201), AppliesTo::Everyone)
                .await)
            .await
            .unwrap_err()
        )
        .1
        .as_deref(),
        Some("name")
    );
    assert_eq!(AppliesTo::parse("all").unwrap_err().field.as_deref(), Some("applies_to"));
    assert_eq!(
        field(ClinicTx::run(&w.admin1.pool, async |tx| automation::remove_form(tx, 999_999).await).await.unwrap_err()),
        (ErrorCode::NotFound, Some("action_id".into()))
    );

    // Other roles of the clinic: refused.
    for s in [&secretary, &doctor, &support] {
        assert_eq!(
            ClinicTx::run(&s.pool, async |tx| automation::require_form(tx, rule1.id, w.sharing, false).await)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            ClinicTx::run(&s.pool, async |tx| automation::set_form_blocking(tx, rule1.forms[0].action_id, false).await)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            ClinicTx::run(&s.pool, async |tx| automation::remove_form(tx, rule1.forms[0].action_id).await)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            ClinicTx::run(&s.pool, async |tx| automation::add_onboarding_rule(tx, "Mine", AppliesTo::Everyone).await)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        // They still read their clinic's rules (onboarding runs them as support).
        assert_eq!(ClinicTx::run(&s.pool, async |tx| automation::onboarding_rules(tx).await).await.unwrap().len(), 2);
    }
    // Another clinic's admin: neither sees nor changes clinic one's rules, nor names its template.
    assert!(ClinicTx::run(&w.admin2.pool, async |tx| automation::onboarding_rules(tx).await)
        .await
        .unwrap()
        .iter()
        .all(|r| r.organization_id == w.org2));
    assert_eq!(
        field(
            ClinicTx::run(&w.admin2.pool, async |tx| automation::require_form(tx, rule1.id, w.sharing, true).await)
                .await
                .unwrap_err()
        )
        .1
        .as_deref(),
        Some("rule_id")
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin2.pool, async |tx| automation::set_form_blocking(tx, rule1.forms[0].action_id, false).await)
                .await
                .unwrap_err()
        )
        .1
        .as_deref(),
        Some("action_id")
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin2.pool, async |tx| automation::remove_form(tx, rule1.forms[0].action_id).await)
                .await
                .unwrap_err()
        )
        .1
        .as_deref(),
        Some("action_id")
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin1.pool, async |tx| automation::require_form(tx, rule1.id, own2, true).await).await.unwrap_err()
        )
        .1
        .as_deref(),
        Some("template_id")
    );
    assert_eq!(
        field(
            ClinicTx::run(&w.admin2.pool, async |tx| automation::require_form(tx, rule2.id, draft_only, true).await)
                .await
                .unwrap_err()
        )
        .1
        .as_deref(),
        Some("template_id")
    );

    assert_eq!((count(&w.db, "automation_rules").await, count(&w.db, "automation_actions").await), before, "nothing written");
    let blocking_after: Vec<bool> =
        sqlx::query_scalar("SELECT blocking FROM automation_actions ORDER BY id").fetch_all(&w.db.owner).await.unwrap();
    assert_eq!(blocking_after, blocking_before, "nothing changed");
}
