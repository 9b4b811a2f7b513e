//! Consent forms (see `docs/onboarding.md`): signing grants the form's consents, declining and superseding, a
//! signature for a text that is no longer on record refused, profile visibility that follows the
//! profile-sharing consent (read as the new organization's staff on raw connections), the
//! booking guard on a first consultation, the consent-status view, and the patient app's API.

use digimed_core::api_tokens;
use digimed_core::forms::{self, NewTemplate, SignedBy};
use digimed_core::meetings::Meetings;
use digimed_core::onboarding::Onboarded;
use digimed_core::queue::{self, NewBooking};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::{consents, ErrorCode};
use digimed_crypto::Secret;
use digimed_domain::Email;
use digimed_tests::clerk_standin::ClerkStandin;
use digimed_tests::service::{self, standin_accounts};
use digimed_tests::{Staff, TestDb};
use serde_json::json;

use crate::onboarding::{input, run, seed_rules};

struct World {
    db: TestDb,
    _clerk: ClerkStandin,
    accounts: digimed_core::accounts::Accounts,
    org1: i32,
    org2: i32,
    privacy: i32,
    support1: Staff,
    support2: Staff,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let org1 = db.clinic("Consent One").await;
    let org2 = db.clinic("Consent Two").await;
    let (privacy, _sharing) = seed_rules(&db, &[org1, org2]).await;
    let clerk = ClerkStandin::start().await;
    let accounts = standin_accounts(&clerk);
    let support1 = db.staff(AppRole::CustomerSupport, org1, "cf-support1").await;
    let support2 = db.staff(AppRole::CustomerSupport, org2, "cf-support2").await;
    World { db, _clerk: clerk, accounts, org1, org2, privacy, support1, support2 }
}

async fn onboard(w: &World, who: &Staff, org: i32, name: &str, email: &str) -> Onboarded {
    run(&who.pool, &w.db, &w.accounts, &input(name, email, "91234567", org)).await.unwrap()
}

fn sha_of(forms: &[forms::Form], form_id: i32) -> String {
    forms.iter().find(|f| f.form_id == form_id).unwrap().template_sha256.clone()
}

async fn count(w: &World, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&w.db.owner).await.unwrap()
}

#[tokio::test]
async fn signing_grants_the_forms_consents_and_records_who_signed() {
    let w = world().await;
    let done = onboard(&w, &w.support1, w.org1, "Kari Nordmann", "kari@example.com").await;
    let listed = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, done.patient.id).await).await.unwrap();
    assert_eq!(listed.iter().map(|f| f.status.as_str()).collect::<Vec<_>>(), ["pending", "pending"]);
    let privacy = &done.required_forms[0];
    assert_eq!(privacy.consent_types, ["analytics", "marketing"]);
    // The text shown is the text whose hash is signed.
    let text = ClinicTx::run(&w.support1.pool, async |tx| forms::text(tx, privacy.form_id).await).await.unwrap();
    assert_eq!(text.body, "Text.");
    assert_eq!(text.template_sha256, sha_of(&listed, privacy.form_id));

    let signed = ClinicTx::run(&w.support1.pool, async |tx| {
        forms::sign(tx, privacy.form_id, SignedBy::StaffAttested, &text.template_sha256).await
    })
    .await
    .unwrap();
    assert_eq!(signed.status, "signed");
    assert_eq!(signed.signed_by.as_deref(), Some("staff_attested"));
    assert_eq!(signed.attested_by_staff_id, Some(w.support1.id));
    assert!(signed.signed_at.is_some());
    let mut granted: Vec<&str> = signed.consents.iter().map(|c| c.consent_type.as_str()).collect();
    granted.sort();
    assert_eq!(granted, ["analytics", "marketing"]);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT signed_template_sha256 FROM forms WHERE id = $1")
        .bind(privacy.form_id)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(hex::encode(stored), text.template_sha256);

    // Signed once: signing again or declining is refused.
    let again = ClinicTx::run(&w.support1.pool, async |tx| {
        forms::sign(tx, privacy.form_id, SignedBy::StaffAttested, &text.template_sha256).await
    })
    .await;
    assert_eq!(again.unwrap_err().code, ErrorCode::InvalidStateTransition);
    assert_eq!(
        ClinicTx::run(&w.support1.pool, async |tx| forms::decline(tx, privacy.form_id).await).await.unwrap_err().code,
        ErrorCode::InvalidStateTransition
    );

    // Withdrawing marketing is recorded with its time and reason; once.
    let marketing = signed.consents.iter().find(|c| c.consent_type == "marketing").unwrap();
    let e = ClinicTx::run(&w.support1.pool, async |tx| forms::withdraw(tx, marketing.id, "  ").await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("reason"));
    let withdrawn = ClinicTx::run(&w.support1.pool, async |tx| forms::withdraw(tx, marketing.id, "No newsletters, please").await)
        .await
        .unwrap();
    assert!(withdrawn.withdrawn_at.is_some());
    assert_eq!(withdrawn.withdraw_reason.as_deref(), Some("No newsletters, please"));
    let twice = ClinicTx::run(&w.support1.pool, async |tx| forms::withdraw(tx, marketing.id, "again").await).await.unwrap_err();
    assert_eq!(twice.code, ErrorCode::InvalidStateTransition);

    // The timeline tells it in order.
    let events: Vec<(String, Option<String>)> =
        ClinicTx::run(&w.support1.pool, async |tx| consents::timeline(tx, done.patient.id).await)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.form_id == privacy.form_id)
            .map(|e| (e.event, e.consent_type))
            .collect();
    assert_eq!(events.first().map(|e| e.0.as_str()), Some("form_created"));
    assert!(events.contains(&("form_signed".into(), None)));
    assert!(events.contains(&("consent_granted".into(), Some("analytics".into()))));
    assert_eq!(events.last(), Some(&("consent_withdrawn".to_string(), Some("marketing".to_string()))));
}

#[tokio::test]
async fn the_database_refuses_consents_without_a_signature_and_signatures_for_another_text() {
    let w = world().await;
    let done = onboard(&w, &w.support1, w.org1, "Ola Nordmann", "ola@example.com").await;
    let form = done.required_forms[0].form_id;
    // A consent for an unsigned form, on a raw connection.
    let e = sqlx::query("INSERT INTO consents (patient_id, form_id, consent_type) VALUES ($1, $2, 'analytics')")
        .bind(done.patient.id)
        .bind(form)
        .execute(&w.support1.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signing a form"), "{e}");
    // A signature naming a hash that is not the form's text.
    let e = sqlx::query(
        "UPDATE forms SET status = 'signed', signed_at = now(), signed_by = 'patient', signed_template_sha256 = sha256('other text') WHERE id = $1",
    )
    .bind(form)
    .execute(&w.support1.pool)
    .await
    .unwrap_err();
    assert!(matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("DMF02")), "{e}");
    // Through the core: a well-formed but wrong hash names the field, and nothing is written.
    let before = (count(&w, "consents").await, count(&w, "audit_log").await);
    let wrong = hex::encode([7u8; 32]);
    let e = ClinicTx::run(&w.support1.pool, async |tx| forms::sign(tx, form, SignedBy::StaffAttested, &wrong).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::FormTemplateChanged, Some("template_sha256")));
    let e = ClinicTx::run(&w.support1.pool, async |tx| forms::sign(tx, form, SignedBy::StaffAttested, "not-hex").await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("template_sha256")));
    assert_eq!((count(&w, "consents").await, count(&w, "audit_log").await), before);
    let status: String =
        sqlx::query_scalar("SELECT status FROM forms WHERE id = $1").bind(form).fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(status, "pending");
    // Staff of another organization cannot even see the form.
    let e = ClinicTx::run(&w.support2.pool, async |tx| forms::decline(tx, form).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn declining_and_a_newer_version_superseding_pending_forms() {
    let w = world().await;
    let a = onboard(&w, &w.support1, w.org1, "Anne Pending", "anne@example.com").await;
    let b = onboard(&w, &w.support1, w.org1, "Bjorn Signed", "bjorn@example.com").await;
    let c = onboard(&w, &w.support1, w.org1, "Cato Declined", "cato@example.com").await;
    let listed_b = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, b.patient.id).await).await.unwrap();
    let old_sha = sha_of(&listed_b, b.required_forms[0].form_id);
    ClinicTx::run(&w.support1.pool, async |tx| {
        forms::sign(tx, b.required_forms[0].form_id, SignedBy::StaffAttested, &old_sha).await
    })
    .await
    .unwrap();
    let declined =
        ClinicTx::run(&w.support1.pool, async |tx| forms::decline(tx, c.required_forms[0].form_id).await).await.unwrap();
    assert_eq!(declined.status, "declined");
    assert!(declined.declined_at.is_some());
    assert!(declined.consents.is_empty());

    // The admin writes version 2 of the privacy text and publishes it.
    let admin = w.db.staff(AppRole::Admin, w.org1, "cf-admin").await;
    assert_eq!(
        ClinicTx::run(&w.support1.pool, async |tx| forms::add_version(tx, w.privacy, "New text.").await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    let v2 = ClinicTx::run(&admin.pool, async |tx| forms::add_version(tx, w.privacy, "Text, version two.").await).await.unwrap();
    assert_eq!(v2.version, 2);
    let published = ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, v2.id).await).await.unwrap();
    assert_eq!(published.superseded, 1, "only Anne's privacy form was still pending in this clinic");
    assert_eq!(
        ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, v2.id).await).await.unwrap_err().code,
        ErrorCode::InvalidStateTransition
    );
    // A published version is immutable.
    let e = sqlx::query("UPDATE form_template_versions SET body = 'changed' WHERE id = $1")
        .bind(v2.id)
        .execute(&admin.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("published"), "{e}");

    let forms_a = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, a.patient.id).await).await.unwrap();
    let old = forms_a.iter().find(|f| f.form_id == a.required_forms[0].form_id).unwrap();
    assert_eq!(old.status, "superseded");
    let fresh = forms_a.iter().find(|f| Some(f.form_id) == old.superseded_by).unwrap();
    assert_eq!((fresh.status.as_str(), fresh.template_version), ("pending", 2));
    assert_eq!(fresh.template_sha256, v2.sha256);
    // The superseded form cannot be signed any more; the new one not with the old text's hash.
    let e = ClinicTx::run(&w.support1.pool, async |tx| {
        forms::sign(tx, old.form_id, SignedBy::StaffAttested, &old.template_sha256).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    let e = ClinicTx::run(&w.support1.pool, async |tx| forms::sign(tx, fresh.form_id, SignedBy::StaffAttested, &old_sha).await)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::FormTemplateChanged);
    ClinicTx::run(&w.support1.pool, async |tx| forms::sign(tx, fresh.form_id, SignedBy::StaffAttested, &v2.sha256).await)
        .await
        .unwrap();
    // Bjorn's signed and Cato's declined forms stay as they were.
    let b_now = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, b.patient.id).await).await.unwrap();
    assert_eq!(b_now.iter().find(|f| f.form_id == b.required_forms[0].form_id).unwrap().status, "signed");
    let c_now = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, c.patient.id).await).await.unwrap();
    assert_eq!(c_now.iter().find(|f| f.form_id == c.required_forms[0].form_id).unwrap().status, "declined");
}

#[tokio::test]
async fn the_profile_follows_the_sharing_consent_for_the_new_organizations_staff() {
    let w = world().await;
    let first = onboard(&w, &w.support1, w.org1, "Kari Deling", "kari.deling@example.com").await;
    sqlx::query("UPDATE patient_persons SET blood_type = 'A+', allergies = ARRAY['penicillin'] WHERE id = $1")
        .bind(first.patient_person_id)
        .execute(&w.db.owner)
        .await
        .unwrap();
    let second = onboard(&w, &w.support2, w.org2, "Kari Deling", "kari.deling@example.com").await;
    assert_eq!(second.required_forms.len(), 1);
    let sharing = second.required_forms[0].form_id;
    // The health profile, as the new organization's support agent reads it through the view.
    let read = || async {
        sqlx::query_as::<_, (bool, Option<String>, Option<Vec<String>>)>(
            "SELECT profile_visible, blood_type, allergies FROM patient_profiles WHERE id = $1",
        )
        .bind(first.patient_person_id)
        .fetch_one(&w.support2.pool)
        .await
        .unwrap()
    };
    assert_eq!(read().await, (false, None, None), "only the name before the consent");

    let listed = ClinicTx::run(&w.support2.pool, async |tx| forms::list_for_patient(tx, second.patient.id).await).await.unwrap();
    let signed = ClinicTx::run(&w.support2.pool, async |tx| {
        forms::sign(tx, sharing, SignedBy::StaffAttested, &sha_of(&listed, sharing)).await
    })
    .await
    .unwrap();
    assert_eq!(read().await, (true, Some("A+".into()), Some(vec!["penicillin".into()])));
    let shared: bool = sqlx::query_scalar("SELECT profile_shared FROM patients WHERE id = $1")
        .bind(second.patient.id)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert!(shared);

    let consent = signed.consents[0].id;
    ClinicTx::run(&w.support2.pool, async |tx| forms::withdraw(tx, consent, "Patient asked to stop sharing").await)
        .await
        .unwrap();
    assert_eq!(read().await, (false, None, None), "hidden again at once");
    // Nobody turns it back on by hand, not even an admin on a raw connection.
    let admin2 = w.db.staff(AppRole::Admin, w.org2, "cf-admin2").await;
    let e = sqlx::query("UPDATE patients SET profile_shared = true WHERE id = $1")
        .bind(second.patient.id)
        .execute(&admin2.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("consent"), "{e}");
    assert_eq!(read().await, (false, None, None));
}

#[tokio::test]
async fn a_first_consultation_waits_for_the_blocking_forms_and_the_status_view_shows_it() {
    let w = world().await;
    let done = onboard(&w, &w.support1, w.org1, "Per Venter", "per@example.com").await;
    let secretary = w.db.staff(AppRole::Secretary, w.org1, "cf-secretary").await;
    let doctor = w.db.staff(AppRole::Doctor, w.org1, "cf-doctor").await;
    let booking = NewBooking {
        patient_person_id: done.patient_person_id,
        partner_id: None,
        enabled_channels: vec![],
        primary_channel: None,
        doctor_id: Some(doctor.id),
    };
    let booked = ClinicTx::run(&secretary.pool, async |tx| queue::book(tx, &booking).await).await.unwrap();

    // The consent-status view: Per waits for two forms and has a booking.
    let status = ClinicTx::run(&w.support1.pool, async |tx| consents::status(tx, w.org1).await).await.unwrap();
    let per = status.patients_waiting.iter().find(|p| p.patient_id == done.patient.id).expect("Per is waiting");
    assert_eq!(
        per.pending_forms.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
        ["Privacy Policy & GDPR Consent", "Profile Sharing Consent"]
    );
    assert_eq!(per.next_booking.as_ref().map(|b| b.consultation_id), Some(booked.id));
    let privacy_counts = status.by_form.iter().find(|f| f.title == "Privacy Policy & GDPR Consent").unwrap();
    assert_eq!((privacy_counts.pending, privacy_counts.signed), (1, 0));
    // Another clinic's staff see nothing of it.
    let other = ClinicTx::run(&w.support2.pool, async |tx| consents::status(tx, w.org1).await).await.unwrap();
    assert!(other.patients_waiting.is_empty() && other.by_form.is_empty());

    // The doctor cannot start it; the refusal names the forms; nothing changes.
    let e = ClinicTx::run(&doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), booked.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::FormsUnsigned, "{e:?}");
    assert!(
        e.message.contains("Privacy Policy & GDPR Consent") && e.message.contains("Profile Sharing Consent"),
        "{}",
        e.message
    );
    let state: String =
        sqlx::query_scalar("SELECT state FROM consultations WHERE id = $1").bind(booked.id).fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(state, "pending_sp");

    // One signed is not enough; both are.
    let listed = ClinicTx::run(&w.support1.pool, async |tx| forms::list_for_patient(tx, done.patient.id).await).await.unwrap();
    for f in &listed[..1] {
        ClinicTx::run(&w.support1.pool, async |tx| forms::sign(tx, f.form_id, SignedBy::StaffAttested, &f.template_sha256).await)
            .await
            .unwrap();
    }
    let e = ClinicTx::run(&doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), booked.id).await).await.unwrap_err();
    assert!(e.message.contains("Profile Sharing Consent") && !e.message.contains("Privacy"), "{}", e.message);
    ClinicTx::run(&w.support1.pool, async |tx| {
        forms::sign(tx, listed[1].form_id, SignedBy::StaffAttested, &listed[1].template_sha256).await
    })
    .await
    .unwrap();
    ClinicTx::run(&doctor.pool, async |tx| queue::start(tx, &Meetings::demo(), booked.id).await).await.unwrap();

    let status = ClinicTx::run(&w.support1.pool, async |tx| consents::status(tx, w.org1).await).await.unwrap();
    assert!(status.patients_waiting.iter().all(|p| p.patient_id != done.patient.id));
    let privacy_counts = status.by_form.iter().find(|f| f.title == "Privacy Policy & GDPR Consent").unwrap();
    assert_eq!((privacy_counts.pending, privacy_counts.signed), (0, 1));
}

#[tokio::test]
async fn the_patient_apps_api_lists_signs_and_withdraws() {
    let w = world().await;
    let done = onboard(&w, &w.support1, w.org1, "Siri App", "siri@example.com").await;
    let svc = service::start(&w.db, w.accounts.clone()).await;
    let email = Email::parse(&w.support1.login).unwrap();
    let token: Secret<String> =
        ClinicTx::run(&w.db.owner, async |tx| api_tokens::create(tx, &email, Some(30)).await).await.unwrap().token;
    let http = reqwest::Client::new();
    let get = |path: String, token: Option<Secret<String>>| {
        let mut req = http.get(format!("{}{path}", svc.base));
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let post = |path: String, body: serde_json::Value| {
        let req = http.post(format!("{}{path}", svc.base)).bearer_auth(token.expose()).json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };

    let (status, v) = get(format!("/v1/patients/{}/forms", done.patient.id), None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, v) = get(format!("/v1/patients/{}/forms", done.patient.id), Some(token.clone())).await;
    assert_eq!(status, 200, "{v}");
    let forms_json = v["data"].as_array().unwrap();
    assert_eq!(forms_json.len(), 2);
    let form_id = forms_json[1]["form_id"].as_i64().unwrap();
    let sha = forms_json[1]["template_sha256"].as_str().unwrap().to_string();
    assert_eq!(forms_json[1]["status"], "pending");
    let (status, v) = get("/v1/patients/abc/forms".to_string(), Some(token.clone())).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_input")));
    let (status, _) = get(format!("/v1/patients/{}/forms", 999_999), Some(token.clone())).await;
    assert_eq!(status, 404);

    let (status, v) = post(format!("/v1/forms/{form_id}/sign"), json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (status, v) = post(format!("/v1/forms/{form_id}/sign"), json!({"template_sha256": hex::encode([1u8; 32])})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("form_template_changed")), "{v}");
    let (status, v) = post(format!("/v1/forms/{form_id}/sign"), json!({"template_sha256": sha})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["data"]["status"].as_str(), v["data"]["signed_by"].as_str()), (Some("signed"), Some("patient")));
    let consent_id = v["data"]["consents"][0]["id"].as_i64().unwrap();
    let (status, v) = post(format!("/v1/forms/{form_id}/sign"), json!({"template_sha256": sha})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (422, Some("invalid_state_transition")));

    let (status, v) = post(format!("/v1/consents/{consent_id}/withdraw"), json!({})).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_input")));
    let (status, v) = post(format!("/v1/consents/{consent_id}/withdraw"), json!({"reason": "Changed my mind"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["withdraw_reason"], "Changed my mind");
    let acting_for: Option<String> = sqlx::query_scalar(
        "SELECT acting_for FROM audit_log WHERE entity_type = 'consents' AND action = 'UPDATE' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert!(acting_for.unwrap_or_default().starts_with("api-token:"), "the audit log says on whose behalf");
}

#[tokio::test]
async fn template_writing_refuses_bad_fields_other_roles_and_an_older_version() {
    let w = world().await;
    let admin = w.db.staff(AppRole::Admin, w.org1, "cf-tpl-admin").await;
    let good = NewTemplate {
        key: "terms".into(),
        title: "Terms of Service".into(),
        form_type: "disclaimer".into(),
        consent_types: vec![],
        must_sign_before: None,
    };
    let before = count(&w, "form_templates").await;
    for (bad, field) in [
        (NewTemplate { key: "Terms!".into(), ..good.clone() }, "key"),
        (NewTemplate { title: " ".into(), ..good.clone() }, "title"),
        (NewTemplate { consent_types: vec!["telepathy".into()], ..good.clone() }, "consent_types"),
        (NewTemplate { must_sign_before: Some("next_week".into()), ..good.clone() }, "must_sign_before"),
    ] {
        let e = ClinicTx::run(&admin.pool, async |tx| forms::create_template(tx, &bad).await).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
    }
    assert_eq!(
        ClinicTx::run(&w.support1.pool, async |tx| forms::create_template(tx, &good).await).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(count(&w, "form_templates").await, before, "nothing written");

    let t = ClinicTx::run(&admin.pool, async |tx| forms::create_template(tx, &good).await).await.unwrap();
    assert_eq!(t.organization_id, Some(w.org1));
    let e = ClinicTx::run(&admin.pool, async |tx| forms::create_template(tx, &good).await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::AlreadyExists, Some("key")));
    assert_eq!(
        ClinicTx::run(&admin.pool, async |tx| forms::add_version(tx, t.id, "  ").await).await.unwrap_err().field.as_deref(),
        Some("body")
    );
    let v1 = ClinicTx::run(&admin.pool, async |tx| forms::add_version(tx, t.id, "First text.").await).await.unwrap();
    let v2 = ClinicTx::run(&admin.pool, async |tx| forms::add_version(tx, t.id, "Second text.").await).await.unwrap();
    ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, v2.id).await).await.unwrap();
    // An older draft cannot be published over a newer published text.
    let e = ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, v1.id).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidStateTransition);
    assert_eq!(
        ClinicTx::run(&admin.pool, async |tx| forms::publish(tx, 999_999).await).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    let listed = ClinicTx::run(&admin.pool, async |tx| forms::list_templates(tx).await).await.unwrap();
    let mine = listed.iter().find(|x| x.id == t.id).unwrap();
    assert_eq!(mine.versions.iter().filter(|v| v.published_at.is_some()).map(|v| v.version).collect::<Vec<_>>(), [2]);
}

#[tokio::test]
async fn an_admin_writes_the_templates_of_their_own_clinic_and_the_shared_ones_only() {
    let w = world().await;
    let admin1 = w.db.staff(AppRole::Admin, w.org1, "cf-own-admin1").await;
    let admin2 = w.db.staff(AppRole::Admin, w.org2, "cf-own-admin2").await;
    let new = NewTemplate {
        key: "video_consent".into(),
        title: "Video consultation consent".into(),
        form_type: String::new(),
        consent_types: vec!["analytics".into()],
        must_sign_before: Some("first_appointment".into()),
    };
    let t = ClinicTx::run(&admin1.pool, async |tx| forms::create_template(tx, &new).await).await.unwrap();
    assert_eq!((t.form_type.as_str(), t.versions.len()), ("disclaimer", 0), "an empty type is a disclaimer; no text yet");
    let draft = ClinicTx::run(&admin1.pool, async |tx| {
        forms::add_version(tx, t.id, "I agree to consultations by video.\nLine two.").await
    })
    .await
    .unwrap();
    assert_eq!((draft.version, draft.published_at), (1, None));
    assert_eq!(draft.body, "I agree to consultations by video.\nLine two.");

    // Another clinic's admin neither sees it nor writes it; nothing changes.
    let versions_before = count(&w, "form_template_versions").await;
    assert!(!ClinicTx::run(&admin2.pool, async |tx| forms::list_templates(tx).await).await.unwrap().iter().any(|x| x.id == t.id));
    let e = ClinicTx::run(&admin2.pool, async |tx| forms::add_version(tx, t.id, "Sneaked in.").await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}");
    assert_eq!(
        ClinicTx::run(&admin2.pool, async |tx| forms::publish(tx, draft.id).await).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(count(&w, "form_template_versions").await, versions_before);
    let still: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT published_at FROM form_template_versions WHERE id = $1")
            .bind(draft.id)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(still, None, "the draft is still a draft");

    // The shared template (organization_id NULL) is every clinic's to revise.
    let shared_draft =
        ClinicTx::run(&admin2.pool, async |tx| forms::add_version(tx, w.privacy, "Privacy, revised by clinic two.").await)
            .await
            .unwrap();
    assert_eq!(shared_draft.version, 2);

    // A text too long is refused naming the field, and nothing is written.
    let long = "x".repeat(forms::MAX_BODY_CHARS + 1);
    let e = ClinicTx::run(&admin1.pool, async |tx| forms::add_version(tx, t.id, &long).await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("body")));
    assert_eq!(count(&w, "form_template_versions").await, versions_before + 1);

    // Publishing returns the text and the count; the list shows bodies and states.
    let p = ClinicTx::run(&admin1.pool, async |tx| forms::publish(tx, draft.id).await).await.unwrap();
    assert_eq!((p.superseded, p.version.body.as_str()), (0, draft.body.as_str()));
    let listed = ClinicTx::run(&admin1.pool, async |tx| forms::list_templates(tx).await).await.unwrap();
    let mine = listed.iter().find(|x| x.id == t.id).unwrap();
    assert_eq!(mine.versions.len(), 1);
    assert!(mine.versions[0].published_at.is_some());
    assert_eq!(mine.versions[0].sha256, draft.sha256);
    let kinds = ClinicTx::run(&admin1.pool, async |tx| forms::consent_kinds(tx).await).await.unwrap();
    assert_eq!(kinds.iter().map(|k| k.code.as_str()).collect::<Vec<_>>(), ["analytics", "marketing", "profile_sharing"]);
    // Every step is in the audit log in the admin's name.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = $1 AND entity_type IN ('form_templates', 'form_template_versions')",
    )
    .bind(&admin1.login)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert!(audited >= 3, "create, add a version, publish: {audited} audit rows");
}
