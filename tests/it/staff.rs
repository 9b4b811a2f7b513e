//! Staff logins: creation, sign-in, password rules, and that a clinic role cannot be changed.

use digimed_core::session::{sign_in, AppRole};
use digimed_core::staff::{add_staff, list_staff, set_active};
use digimed_core::ErrorCode;
use digimed_crypto::Secret;
use digimed_domain::{Email, PersonName};
use digimed_tests::{is_denied, TestDb};

#[tokio::test]
async fn each_role_signs_in_and_knows_its_role() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    for role in AppRole::ALL {
        let s = db.staff(role, clinic, &format!("{}-person", role.as_str().replace('_', "-"))).await;
        let (_pool, session) = sign_in(&db.server(), &s.login, &s.password).await.expect("sign in");
        assert_eq!(session.role, role);
        assert_eq!(session.staff_id, s.id);
        let app_role: Option<String> =
            sqlx::query_scalar("SELECT current_app_role()").fetch_one(&s.pool).await.unwrap();
        assert_eq!(app_role.as_deref(), Some(role.as_str()));
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_login_are_refused() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let s = db.staff(AppRole::Secretary, clinic, "sara").await;
    let e = sign_in(&db.server(), &s.login, &Secret::new("not-the-password-at-all".into())).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    assert!(!e.message.contains("not-the-password"));
    let e = sign_in(&db.server(), "nobody@nowhere.test", &Secret::new("whatever-password".into())).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    let e = sign_in(&db.server(), &s.login, &Secret::new(String::new())).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("password"));
    // A database that does not exist, and a server field that is no URL, are named as the server's.
    let missing = db.server().replace(&db.name, "no_such_database");
    let e = sign_in(&missing, &s.login, &s.password).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::Configuration, Some("server")), "{e:?}");
    let e = sign_in("not a url", &s.login, &s.password).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("server"), "{e:?}");
}

#[tokio::test]
async fn weak_password_or_duplicate_login_creates_nothing() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let email = Email::parse(&format!("weak@{}", db.login_domain())).unwrap();
    let name = PersonName::parse("Weak Password").unwrap();
    for pw in ["", "short", "aaaaaaaaaaaaaaaaaa"] {
        let e = add_staff(&db.owner, &email, &name, AppRole::Doctor, Some(clinic), &Secret::new(pw.into()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::WeakPassword);
        assert_eq!(e.field.as_deref(), Some("password"));
    }
    let role_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(email.as_str())
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!role_exists, "no login role may be left behind");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM staff").fetch_one(&db.owner).await.unwrap();
    assert_eq!(rows, 0);

    let s = db.staff(AppRole::Doctor, clinic, "dup").await;
    let again = add_staff(
        &db.owner,
        &Email::parse(&s.login).unwrap(),
        &name,
        AppRole::Admin,
        Some(clinic),
        &Secret::new("another long password".into()),
    )
    .await
    .unwrap_err();
    assert_eq!(again.code, ErrorCode::AlreadyExists);
    assert_eq!(again.field.as_deref(), Some("email"));
    let role: Option<String> = sqlx::query_scalar("SELECT current_app_role()").fetch_one(&s.pool).await.unwrap();
    assert_eq!(role.as_deref(), Some("doctor"), "the existing login keeps its one role");
}

#[tokio::test]
async fn unknown_role_and_clinic_are_refused_with_the_field() {
    let e = AppRole::parse("nurse").unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownRole);
    assert_eq!(e.field.as_deref(), Some("role"));

    let db = TestDb::new().await;
    let email = Email::parse(&format!("noclinic@{}", db.login_domain())).unwrap();
    let e = add_staff(
        &db.owner,
        &email,
        &PersonName::parse("No Clinic").unwrap(),
        AppRole::Secretary,
        Some(4242),
        &Secret::new("a perfectly long password".into()),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.field.as_deref(), Some("org"));
}

#[tokio::test]
async fn the_clinic_role_cannot_be_changed_with_set() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let s = db.staff(AppRole::Secretary, clinic, "sara").await;
    let mut conn = s.pool.acquire().await.unwrap();
    let e = sqlx::query("SET ROLE admin").execute(&mut *conn).await.unwrap_err();
    assert!(is_denied(&e), "{e}");
    sqlx::query("SET digimed.app_role = 'admin'").execute(&mut *conn).await.unwrap();
    let role: Option<String> = sqlx::query_scalar("SELECT current_app_role()").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(role.as_deref(), Some("secretary"));
    // Nor can a staff member grant themselves another clinic role.
    let e = sqlx::query(&format!("GRANT admin TO \"{}\"", s.login)).execute(&mut *conn).await.unwrap_err();
    assert!(is_denied(&e), "{e}");
}

#[tokio::test]
async fn an_admin_deactivates_and_reactivates_their_clinics_staff_and_the_login_follows() {
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let other = db.clinic("Andreklinikken").await;
    let admin = db.staff(AppRole::Admin, clinic, "active-admin").await;
    let doctor = db.staff(AppRole::Doctor, clinic, "active-doctor").await;
    let secretary = db.staff(AppRole::Secretary, clinic, "active-secretary").await;
    let admin_other = db.staff(AppRole::Admin, other, "active-admin-other").await;

    // The admin's list is their own clinic's staff, all active.
    let listed = list_staff(&admin.pool).await.unwrap();
    assert_eq!(listed.iter().map(|s| (s.id, s.active)).collect::<Vec<_>>(), [(admin.id, true), (doctor.id, true), (secretary.id, true)]);

    let off = set_active(&admin.pool, doctor.id, false).await.unwrap();
    assert!(!off.active);
    // The login can no longer sign in, and an open connection no longer counts as staff.
    let e = sign_in(&db.server(), &doctor.login, &doctor.password).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    let org: Option<i32> = sqlx::query_scalar("SELECT current_staff_org()").fetch_one(&doctor.pool).await.unwrap();
    assert_eq!(org, None);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor = $1 AND entity_type = 'staff' AND entity_id = $2")
        .bind(&admin.login)
        .bind(doctor.id.to_string())
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(audited, 1, "the change is audited in the admin's name");

    let on = set_active(&admin.pool, doctor.id, true).await.unwrap();
    assert!(on.active);
    let (_pool, session) = sign_in(&db.server(), &doctor.login, &doctor.password).await.expect("signs in again");
    assert_eq!(session.staff_id, doctor.id);

    // Never themselves; not another clinic's staff; not as another role; nothing changes.
    let e = set_active(&admin.pool, admin.id, false).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("staff_id")));
    let e = set_active(&admin_other.pool, doctor.id, false).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NotFound, Some("staff_id")));
    assert_eq!(set_active(&admin.pool, 999_999, false).await.unwrap_err().field.as_deref(), Some("staff_id"));
    assert_eq!(set_active(&secretary.pool, doctor.id, false).await.unwrap_err().code, ErrorCode::Forbidden);
    let active: Vec<bool> = sqlx::query_scalar("SELECT active FROM staff ORDER BY id").fetch_all(&db.owner).await.unwrap();
    assert!(active.iter().all(|a| *a), "everyone is still active");
    let can_login: Vec<bool> = sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = ANY($1)")
        .bind(vec![admin.login.clone(), doctor.login.clone(), secretary.login.clone()])
        .fetch_all(&db.owner)
        .await
        .unwrap();
    assert_eq!(can_login, [true, true, true]);
}
