//! Staff logins: creation, sign-in, password rules, and that a clinic role cannot be changed.

use digimed_core::session::{sign_in, AppRole};
use digimed_core::ClinicTx;
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
        let app_role: Option<String> = sqlx::query_scalar("SELECT current_app_role()").fetch_one(&s.pool).await.unwrap();
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
        let e = ClinicTx::run(&db.owner, async |tx| {
            digimed_core::staff::add_staff(tx, &email, &name, AppRole::Doctor, Some(clinic), &Secret::new(pw.into())).await
        })
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
    let again = ClinicTx::run(&db.owner, async |tx| {
        digimed_core::staff::add_staff(
            tx,
            &Email::parse(&s.login).unwrap(),
            &name,
            AppRole::Admin,
            Some(clinic),
            &Secret::new("another long password".into()),
        )
        .await
    })
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
    let e = ClinicTx::run(&db.owner, async |tx| {
        digimed_core::staff::add_staff(
            tx,
            &email,
            &PersonName::parse("No Clinic").unwrap(),
            AppRole::Secretary,
            Some(4242),
            &Secret::new("a perfectly long password".into()),
        )
        .await
    })
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
    let listed = ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::list_staff(tx).await).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| (s.id, s.active)).collect::<Vec<_>>(),
        [(admin.id, true), (doctor.id, true), (secretary.id, true)]
    );

    let off = ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::set_active(tx, doctor.id, false).await).await.unwrap();
    assert!(!off.active);
    // The login can no longer sign in, and an open connection no longer counts as staff.
    let e = sign_in(&db.server(), &doctor.login, &doctor.password).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    let org: Option<i32> = sqlx::query_scalar("SELECT current_staff_org()").fetch_one(&doctor.pool).await.unwrap();
    assert_eq!(org, None);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE actor = $1 AND entity_type = 'staff' AND entity_id = $2")
            .bind(&admin.login)
            .bind(doctor.id.to_string())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(audited, 1, "the change is audited in the admin's name");

    let on = ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::set_active(tx, doctor.id, true).await).await.unwrap();
    assert!(on.active);
    let (_pool, session) = sign_in(&db.server(), &doctor.login, &doctor.password).await.expect("signs in again");
    assert_eq!(session.staff_id, doctor.id);

    // Never themselves; not another clinic's staff; not as another role; nothing changes.
    let e = ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::set_active(tx, admin.id, false).await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("staff_id")));
    let e = ClinicTx::run(&admin_other.pool, async |tx| digimed_core::staff::set_active(tx, doctor.id, false).await)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::NotFound, Some("staff_id")));
    assert_eq!(
        ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::set_active(tx, 999_999, false).await)
            .await
            .unwrap_err()
            .field
            .as_deref(),
        Some("staff_id")
    );
    assert_eq!(
        ClinicTx::run(&secretary.pool, async |tx| digimed_core::staff::set_active(tx, doctor.id, false).await)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let active: Vec<bool> = sqlx::query_scalar("SELECT active FROM staff ORDER BY id").fetch_all(&db.owner).await.unwrap();
    assert!(active.iter().all(|a| *a), "everyone is still active");
    let can_login: Vec<bool> = sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = ANY($1)")
        .bind(vec![admin.login.clone(), doctor.login.clone(), secretary.login.clone()])
        .fetch_all(&db.owner)
        .await
        .unwrap();
    assert_eq!(can_login, [true, true, true]);
}

/// An administrator adds a staff member to their own clinic from the console: the login is
/// created with the row, signs in with its password and holds the role given. Bad input is
/// refused naming the field, other roles are refused, and an existing login (another clinic's
/// staff member, the owner) can never be attached to the clinic. Nothing is written by a refusal.
#[tokio::test]
async fn an_admin_adds_staff_to_their_own_clinic_and_nothing_else() {
    use digimed_core::staff::NewStaffInput;
    let db = TestDb::new().await;
    let clinic = db.clinic("Testklinikken").await;
    let other = db.clinic("Andreklinikken").await;
    let admin = db.staff(AppRole::Admin, clinic, "add-admin").await;
    let elsewhere = db.staff(AppRole::Doctor, other, "add-elsewhere").await;
    let staff_rows = || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM staff").fetch_one(&db.owner);
    let input = |email: &str, role: &str, password: &str| NewStaffInput {
        email: email.to_string(),
        name: "Ny Lege".to_string(),
        role: role.to_string(),
        password: password.to_string(),
    };
    let new_email = format!("new-doctor@{}", db.login_domain());
    db.forget_login_later(&new_email);

    let before = staff_rows().await.unwrap();
    for (bad, field, code) in [
        (input("not an address", "doctor", "a-long-enough-password"), "email", ErrorCode::InvalidEmailFormat),
        (input(&new_email, "surgeon", "a-long-enough-password"), "role", ErrorCode::UnknownRole),
        (input(&new_email, "doctor", "short"), "password", ErrorCode::WeakPassword),
        (input(&elsewhere.login, "doctor", "a-long-enough-password"), "email", ErrorCode::AlreadyExists),
    ] {
        let e = ClinicTx::run(&admin.pool, async |tx| digimed_core::staff::add_to_own_clinic(tx, &bad).await).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (code, Some(field)), "{e:?}");
    }
    let secretary = db.staff(AppRole::Secretary, clinic, "add-secretary").await;
    let before = before + 1;
    let e = ClinicTx::run(&secretary.pool, async |tx| {
        digimed_core::staff::add_to_own_clinic(tx, &input(&new_email, "doctor", "a-long-enough-password")).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}");
    assert_eq!(staff_rows().await.unwrap(), before, "nothing written by a refusal");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(&new_email)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!exists, "no login left behind by a refusal");

    // Added: a doctor of the admin's clinic who signs in with the password given.
    let added = ClinicTx::run(&admin.pool, async |tx| {
        digimed_core::staff::add_to_own_clinic(tx, &input(&new_email, "doctor", "a-long-enough-password")).await
    })
    .await
    .unwrap();
    assert_eq!((added.role, added.organization_id, added.active), (AppRole::Doctor, clinic, true));
    let (_pool, session) = sign_in(&db.server(), &added.login, &Secret::new("a-long-enough-password".to_string()))
        .await
        .expect("the new login signs in");
    assert_eq!((session.role, session.staff_id), (AppRole::Doctor, added.id));
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE entity_type = 'staff' AND action = 'CREATE' AND entity_id = $1")
            .bind(added.id.to_string())
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(actor, admin.login, "the audit log names the admin who added them");

    // Straight at the table, an admin cannot attach an existing login or add to another clinic.
    let owner_login: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&db.owner).await.unwrap();
    for (login, org) in [(elsewhere.login.as_str(), clinic), (owner_login.as_str(), clinic), ("fresh@example.com", other)] {
        let e =
            sqlx::query("INSERT INTO staff (login_role, email, name, role, organization_id) VALUES ($1, $1, 'X', 'admin', $2)")
                .bind(login)
                .bind(org)
                .execute(&admin.pool)
                .await
                .unwrap_err();
        assert!(is_denied(&e) || e.to_string().contains("email"), "{login} in {org}: {e}");
    }
    // Without a password, no login is made and the row is refused.
    let e = sqlx::query("INSERT INTO staff (login_role, email, name, role, organization_id) VALUES ('nopw@example.com', 'nopw@example.com', 'X', 'doctor', $1)")
        .bind(clinic)
        .execute(&admin.pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("needs a password"), "{e}");
    assert_eq!(staff_rows().await.unwrap(), before + 1);
}
