//! The capability table in Rust against the database's own grants: every role the table lets do
//! something holds the privileges the database asks for it, and, where the privileges alone tell
//! the roles apart, every other role lacks at least one of them. (Where they do not, row-level
//! policies or triggers draw the line; those capabilities are named below with the rule that
//! does.)

use digimed_core::session::AppRole;
use digimed_core::Capability;
use digimed_tests::TestDb;

/// Capabilities whose roles the table privileges do not tell apart, and what does.
const DECIDED_BY_POLICY: &[(Capability, &str)] = &[
    (Capability::PickConsultation, "doctors update only their own or unassigned consultations (policy own_or_pick)"),
    (Capability::AssignConsultation, "a doctor's update must assign the consultation to themselves (policy own_or_pick)"),
    (Capability::ReturnToQueue, "a doctor's update must keep the consultation assigned to themselves (policy own_or_pick)"),
    (
        Capability::ReadReferralPayload,
        "doctors read referrals of their clinic, but the console never decrypts the payload for them",
    ),
    (
        Capability::BookFollowUp,
        "support agents book consultations, but never as the follow-up of an earlier one (policy book_direct)",
    ),
];

async fn holds(db: &TestDb, role: &str, object: &str, privilege: &str) -> bool {
    if privilege == "EXECUTE" {
        sqlx::query_scalar::<_, Option<bool>>(
            "SELECT bool_or(has_function_privilege($1, p.oid, 'EXECUTE')) FROM pg_proc p
              WHERE p.proname = $2 AND p.pronamespace = 'public'::regnamespace",
        )
        .bind(role)
        .bind(object)
        .fetch_one(&db.owner)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("there is no function {object}"))
    } else if privilege == "DELETE" {
        sqlx::query_scalar("SELECT has_table_privilege($1, $2, 'DELETE')")
            .bind(role)
            .bind(object)
            .fetch_one(&db.owner)
            .await
            .unwrap()
    } else if let Some((table, column)) = object.split_once('.') {
        sqlx::query_scalar("SELECT has_column_privilege($1, $2, $3, $4)")
            .bind(role)
            .bind(table)
            .bind(column)
            .bind(privilege)
            .fetch_one(&db.owner)
            .await
            .unwrap()
    } else {
        sqlx::query_scalar("SELECT has_any_column_privilege($1, $2, $3)")
            .bind(role)
            .bind(object)
            .bind(privilege)
            .fetch_one(&db.owner)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_capability_table_agrees_with_the_database_grants() {
    let db = TestDb::new().await;
    let mut disagreements = Vec::new();
    for &cap in Capability::ALL {
        let grants = cap.grants();
        // Roles the table allows hold every privilege the capability needs.
        let mut allowed: Vec<&str> = cap.roles().iter().map(|r| r.as_str()).collect();
        if cap.service() {
            allowed.push("digimed_service");
        }
        for role in &allowed {
            for (object, privilege) in grants {
                if !holds(&db, role, object, privilege).await {
                    disagreements.push(format!("{cap:?}: {role} may, but lacks {privilege} on {object}"));
                }
            }
        }
        // Roles it does not allow lack at least one, unless a policy draws the line (and then
        // one of them does hold them all: the exemption is needed).
        if grants.is_empty() {
            continue;
        }
        let by_policy = DECIDED_BY_POLICY.iter().any(|(c, _)| *c == cap);
        let mut granted_to_others = Vec::new();
        for role in AppRole::ALL.iter().filter(|r| !cap.roles().contains(r)) {
            let mut holds_all = true;
            for (object, privilege) in grants {
                holds_all &= holds(&db, role.as_str(), object, privilege).await;
            }
            if holds_all {
                granted_to_others.push(role.as_str());
            }
        }
        match (by_policy, granted_to_others.is_empty()) {
            (false, false) => disagreements
                .push(format!("{cap:?}: {granted_to_others:?} may not, but the database grants them all of {grants:?}")),
            (true, true) => {
                disagreements.push(format!("{cap:?}: listed as decided by a policy, but the grants already tell the roles apart"))
            }
            _ => {}
        }
    }
    assert!(disagreements.is_empty(), "the capability table and the grants disagree:\n{}", disagreements.join("\n"));
}

#[tokio::test]
async fn every_capability_names_what_it_is_and_who_has_it() {
    for &cap in Capability::ALL {
        assert!(!cap.doing().is_empty());
        assert!(
            cap.roles().len() + usize::from(cap.owner()) + usize::from(cap.service()) + usize::from(cap.patient()) > 0,
            "{cap:?} is nobody's"
        );
    }
    // The refusal names the role and who may.
    let secretary = digimed_core::Actor::Staff(digimed_core::session::StaffSession {
        staff_id: 1,
        login: "s".into(),
        name: "S".into(),
        email: "s@example.com".into(),
        role: AppRole::Secretary,
        organization_id: 1,
    });
    assert_eq!(
        Capability::PickConsultation.refusal(&secretary),
        "Your role (secretary) cannot pick consultations; only doctors may."
    );
    assert!(!Capability::PickConsultation.allows(&secretary));
    assert!(Capability::BookConsultation.allows(&secretary));
    assert!(Capability::DecideReferral.allows(&secretary));
    assert!(!Capability::ScreenConsultation.allows(&digimed_core::Actor::Owner));
    // A patient signed in to the patient app acts on their own records only, and nothing else.
    let patient = digimed_core::Actor::Patient { person_id: 1 };
    let patients: Vec<Capability> = Capability::ALL.iter().copied().filter(|c| c.allows(&patient)).collect();
    assert_eq!(patients, [Capability::ActOnOwnForms, Capability::ReadOwnConsultations, Capability::RequestBooking]);
    assert!(patients.iter().all(|c| c.roles().is_empty() && !c.owner() && !c.service()));
    assert_eq!(
        Capability::ActOnForms.refusal(&patient),
        "A patient cannot sign, decline or withdraw consent forms; only support agents and administrators may."
    );
    assert_eq!(
        Capability::RequestBooking.refusal(&secretary),
        "Your role (secretary) cannot ask for a consultation from the patient app; only the patient may, in the patient app."
    );
}
