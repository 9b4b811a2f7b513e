//! What many tests start from: a clinic's consent templates and onboarding rules, a partner with
//! a known webhook secret, synthetic national ids, a partner referral's body, and a referral
//! received and booked.

use digimed_core::referrals::{self, BookingChoice, NewPartner, Partner, ReferralReceipt};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_domain::NationalId;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::TestDb;

/// Consent templates and onboarding rules for a clinic, as an admin would set them up.
pub async fn seed_rules(db: &TestDb, orgs: &[i32]) -> (i32, i32) {
    let mut ids = Vec::new();
    for (key, title, consents) in [
        ("privacy_gdpr", "Privacy Policy & GDPR Consent", vec!["analytics", "marketing"]),
        ("profile_sharing", "Profile Sharing Consent", vec!["profile_sharing"]),
    ] {
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO form_templates (key, title, type, consent_types, must_sign_before)
             VALUES ($1, $2, 'disclaimer', $3, 'first_appointment') RETURNING id",
        )
        .bind(key)
        .bind(title)
        .bind(consents)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO form_template_versions (template_id, version, body, published_at) VALUES ($1, 1, 'Text.', now())",
        )
        .bind(id)
        .execute(&db.owner)
        .await
        .unwrap();
        ids.push(id);
    }
    for org in orgs {
        let new_rule: i32 = sqlx::query_scalar(
            "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
             VALUES ($1, 'new', 'patient.onboarded', true, 1) RETURNING id",
        )
        .bind(org)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO automation_actions (rule_id, position, action, template_id) VALUES
               ($1, 1, 'create_form', $2), ($1, 2, 'create_form', $3), ($1, 3, 'send_welcome_email', NULL)",
        )
        .bind(new_rule)
        .bind(ids[0])
        .bind(ids[1])
        .execute(&db.owner)
        .await
        .unwrap();
        let known_rule: i32 = sqlx::query_scalar(
            "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
             VALUES ($1, 'known', 'patient.onboarded', false, 2) RETURNING id",
        )
        .bind(org)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        sqlx::query("INSERT INTO automation_actions (rule_id, position, action, template_id) VALUES ($1, 1, 'create_form', $2)")
            .bind(known_rule)
            .bind(ids[1])
            .execute(&db.owner)
            .await
            .unwrap();
    }
    (ids[0], ids[1])
}

/// The webhook secret of [`partner`].
pub const SECRET: &str = "whsec_c2VjcmV0LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODk=";

/// The clinic's referral partner (`pridok-test` when `test_partner`), signing with [`SECRET`].
pub async fn partner(db: &TestDb, clinic: i32, test_partner: bool) -> Partner {
    let name = if test_partner { "pridok-test" } else { "pridok" };
    let new = NewPartner { name, clinic_id: clinic, is_test_partner: test_partner, deadline_working_days: 2, deal_id: None };
    ClinicTx::run(&db.owner, async |tx| referrals::add_partner(tx, &db.vault, &new, SECRET).await).await.expect("add partner")
}

/// The n-th synthetic national id (valid check digits, never a real person's).
pub fn nid(n: u16) -> NationalId {
    NationalId::synthetic_sequence(u64::from(n) + 7).next().unwrap()
}

/// A partner referral's JSON body for national id `pid` and journal `guid`.
pub fn referral_body(pid: &str, guid: Uuid) -> Value {
    json!({
        "JournalGuid": guid.to_string(),
        "PID": pid,
        "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
        "MessageTimestamp": "2026-11-08T22:51:10.1127156Z",
        "Firstname": "Line",
        "Lastname": "Danser",
        "Email": "line.danser@example.com",
        "PhoneNumber": "+4712345678",
        "Urgency": {"level": 2, "note": "kept as sent"}
    })
}

/// A referral of `partner` for the n-th synthetic national id, received (as the owner imports it)
/// and then booked by a secretary of the partner's clinic: unassigned, video and chat, in the
/// doctors' queue. Returns the receipt of the booked referral.
pub async fn booked_referral(db: &TestDb, partner: &Partner, n: u16) -> ReferralReceipt {
    let raw = referral_body(nid(n).as_str(), Uuid::new_v4()).to_string();
    let received = ClinicTx::run(&db.owner, async |tx| referrals::receive(tx, &db.vault, partner, raw.as_bytes()).await)
        .await
        .expect("receive the referral")
        .receipt();
    let secretary = db.staff(AppRole::Secretary, partner.clinic_id, &format!("booking-secretary-{n}")).await;
    let booked =
        ClinicTx::run(&secretary.pool, async |tx| referrals::book(tx, received.referral_id, &BookingChoice::default()).await)
            .await
            .expect("book the referral");
    ReferralReceipt { consultation_id: Some(booked.id), status: referrals::ReferralStatus::Booked, ..received }
}
