//! Partners added from the console (`referrals::create_partner`): a generated or given webhook
//! secret returned once and stored only encrypted (it signs the partner's webhooks afterwards),
//! bad input and taken names refused with nothing written, only admins and only for their own
//! clinic, and the change audited.

use chrono::Utc;
use digimed_core::referrals::{self, PartnerInput};
use digimed_core::session::AppRole;
use digimed_core::webhook_signature::{self, SignedHeaders, SigningKey};
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_tests::TestDb;

use crate::onboarding::count;

fn input(name: &str, secret: Option<&str>) -> PartnerInput {
    PartnerInput {
        name: name.into(),
        deadline_working_days: 3,
        is_test_partner: false,
        secret: secret.map(str::to_string),
        book_on_arrival: false,
    }
}

#[tokio::test]
async fn an_admin_adds_a_partner_of_their_clinic_with_a_secret_shown_once() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Partner Clinic").await;
    let admin = db.staff(AppRole::Admin, clinic, "pa-admin").await;

    let created =
        ClinicTx::run(&admin.pool, async |tx| referrals::create_partner(tx, &db.vault, &input(" nordvakt ", None)).await)
            .await
            .unwrap();
    assert_eq!(
        (created.partner.name.as_str(), created.partner.clinic_id, created.partner.deadline_working_days),
        ("nordvakt", clinic, 3)
    );
    assert!(created.secret.starts_with("whsec_") && created.secret.len() == 50, "{} characters", created.secret.len());
    // Stored only encrypted: the ciphertext is not the secret, and decrypts to it for its row.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT webhook_secret_encrypted FROM partners WHERE id = $1")
        .bind(created.partner.id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&created.secret[6..]));
    assert_eq!(
        db.vault.decrypt("partners", "webhook_secret_encrypted", created.partner.id as i64, &stored).unwrap(),
        created.secret
    );
    // The partner's webhooks signed with it are recognised.
    let now = Utc::now();
    let ts = now.timestamp().to_string();
    let sig = webhook_signature::sign(&SigningKey::from_secret(&created.secret).unwrap(), "msg_1", now.timestamp(), "{}");
    let h = SignedHeaders { id: Some("msg_1"), timestamp: Some(&ts), signature: Some(&sig) };
    assert_eq!(
        ClinicTx::run(&db.owner, async |tx| referrals::authenticate(tx, &db.vault, None, &h, b"{}", now).await).await.unwrap().id,
        created.partner.id
    );
    // Two generated secrets differ; a given one is kept as given.
    let second = ClinicTx::run(&admin.pool, async |tx| referrals::create_partner(tx, &db.vault, &input("vardvakt", None)).await)
        .await
        .unwrap();
    assert_ne!(second.secret, created.secret);
    let given = ClinicTx::run(&admin.pool, async |tx| {
        referrals::create_partner(tx, &db.vault, &input("agreed", Some("  an-agreed-secret-of-enough-length  "))).await
    })
    .await
    .unwrap();
    assert_eq!(given.secret, "an-agreed-secret-of-enough-length");
    assert!(ClinicTx::run(&admin.pool, async |tx| referrals::list_partners(tx).await)
        .await
        .unwrap()
        .iter()
        .any(|p| p.name == "nordvakt"));
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor = $1 AND entity_type = 'partners'")
        .bind(&admin.login)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(audited, 3);
    let logged: String =
        sqlx::query_scalar("SELECT string_agg(changes::text, ' ') FROM audit_log WHERE entity_type = 'partners'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert!(!logged.contains(&created.secret[6..]) && !logged.contains("an-agreed-secret"), "no secret in the audit log");
}

#[tokio::test]
async fn bad_input_taken_names_other_roles_and_clinics_are_refused_and_nothing_is_written() {
    let db = TestDb::new().await;
    let a = db.clinic("Clinic A").await;
    let b = db.clinic("Clinic B").await;
    let admin_a = db.staff(AppRole::Admin, a, "pa-admin-a").await;
    let admin_b = db.staff(AppRole::Admin, b, "pa-admin-b").await;
    let theirs =
        ClinicTx::run(&admin_a.pool, async |tx| referrals::create_partner(tx, &db.vault, &input("fjordtrygd", None)).await)
            .await
            .unwrap();
    let before = (count(&db, "partners").await, count(&db, "organizations").await);

    let field = |e: digimed_core::Error| (e.code, e.field);
    for (bad, f) in [
        (input("Nordvakt", None), "name"),
        (input("", None), "name"),
        (PartnerInput { deadline_working_days: 0, ..input("nordvakt", None) }, "deadline_days"),
        (PartnerInput { deadline_working_days: 61, ..input("nordvakt", None) }, "deadline_days"),
        (input("nordvakt", Some("short")), "secret"),
        (input("nordvakt", Some("whsec_not base64!")), "secret"),
    ] {
        assert_eq!(
            field(
                ClinicTx::run(&admin_a.pool, async |tx| referrals::create_partner(tx, &db.vault, &bad).await).await.unwrap_err()
            ),
            (ErrorCode::InvalidInput, Some(f.into()))
        );
    }
    // A name taken (by any clinic) is refused, not replaced.
    let e = ClinicTx::run(&admin_b.pool, async |tx| referrals::create_partner(tx, &db.vault, &input("fjordtrygd", None)).await)
        .await
        .unwrap_err();
    assert_eq!(field(e), (ErrorCode::AlreadyExists, Some("name".into())));
    // Other roles may not; the owner is sent to the CLI.
    for role in [AppRole::Secretary, AppRole::Doctor, AppRole::CustomerSupport] {
        let s = db.staff(role, a, &format!("pa-{}", role.as_str().replace('_', "-"))).await;
        assert_eq!(
            ClinicTx::run(&s.pool, async |tx| referrals::create_partner(tx, &db.vault, &input("nordvakt", None)).await)
                .await
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
    }
    assert_eq!(
        ClinicTx::run(&db.owner, async |tx| referrals::create_partner(tx, &db.vault, &input("nordvakt", None)).await)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!((count(&db, "partners").await, count(&db, "organizations").await), before, "nothing written");

    // Clinic B's admin cannot take clinic A's partner over with the CLI's add-or-replace either.
    let e = ClinicTx::run(&admin_b.pool, async |tx| {
        referrals::add_partner(
            tx,
            &db.vault,
            &referrals::NewPartner {
                name: "fjordtrygd",
                clinic_id: b,
                is_test_partner: false,
                deadline_working_days: 2,
                deal_id: None,
            },
            "a-secret-of-clinic-b-0123456789",
        )
        .await
    })
    .await
    .unwrap_err();
    assert!(matches!(e.code, ErrorCode::AlreadyExists | ErrorCode::Forbidden), "{e:?}");
    let still: (i32, Vec<u8>) = sqlx::query_as("SELECT clinic_id, webhook_secret_encrypted FROM partners WHERE id = $1")
        .bind(theirs.partner.id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(still.0, a);
    assert_eq!(
        db.vault.decrypt("partners", "webhook_secret_encrypted", theirs.partner.id as i64, &still.1).unwrap(),
        theirs.secret
    );
}
