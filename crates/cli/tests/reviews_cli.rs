//! `digimed reviews` and `digimed patient rotate-preference-token` (docs/public-pages.md): the
//! ratings for admins only, and a new preference link issued by a support agent, the old token
//! gone; refusals are one line and change nothing.

use digimed_tests::{Role, TestDb};

mod common;

use common::{digimed_with_input as digimed, one_error_line, staff_url};

#[tokio::test]
async fn admins_read_the_ratings_and_support_agents_rotate_preference_tokens() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    // Two answered reviews and one waiting, as the review page leaves them.
    let ids: Vec<i32> = sqlx::query_scalar("SELECT id FROM consultations WHERE organization_id = $1 ORDER BY id LIMIT 3")
        .bind(oslo)
        .fetch_all(&db.owner)
        .await
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        sqlx::query("INSERT INTO consultation_reviews (consultation_id, token) VALUES ($1, $2)")
            .bind(id)
            .bind(digimed_core::patients::new_token())
            .execute(&db.owner)
            .await
            .unwrap();
        if i < 2 {
            sqlx::query(
                "UPDATE consultation_reviews SET rating = $2, comment = $3, submitted_at = now() WHERE consultation_id = $1",
            )
            .bind(id)
            .bind(if i == 0 { 5i16 } else { 2i16 })
            .bind(if i == 0 { Some("Takk for god hjelp") } else { None })
            .execute(&db.owner)
            .await
            .unwrap();
        }
    }
    let admin = db.staff(Role::Admin, oslo, "cli-reviews-admin").await;
    let secretary = db.staff(Role::Secretary, oslo, "cli-reviews-secretary").await;
    let support = db.staff(Role::CustomerSupport, oslo, "cli-reviews-support").await;

    let out = digimed(&["reviews", "--json"], &[("DATABASE_URL", &staff_url(&db, &admin))], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((json["answered"].as_i64(), json["unanswered"].as_i64()), (Some(2), Some(1)));
    assert_eq!(json["average"].as_f64(), Some(3.5));
    assert_eq!(json["latest_comments"][0]["comment"], "Takk for god hjelp");
    let out = digimed(&["reviews"], &[("DATABASE_URL", &staff_url(&db, &admin))], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 answered, average 3.50 of 5; 1 links not answered"), "{text}");
    assert!(text.contains("per doctor:") && text.contains("per partner:") && text.contains("Takk for god hjelp"), "{text}");
    let out = digimed(&["reviews"], &[("DATABASE_URL", &staff_url(&db, &secretary))], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("only administrators may"));

    let person: i32 = sqlx::query_scalar("SELECT patient_person_id FROM consultations WHERE id = $1")
        .bind(ids[0])
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let token = || async {
        sqlx::query_scalar::<_, String>("SELECT token FROM communication_preference_tokens WHERE patient_person_id = $1")
            .bind(person)
            .fetch_one(&db.owner)
            .await
            .unwrap()
    };
    let old = token().await;
    let p = person.to_string();
    let out = digimed(&["patient", "rotate-preference-token", &p], &[("DATABASE_URL", &staff_url(&db, &secretary))], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("support agents and administrators"));
    assert_eq!(token().await, old);
    let out = digimed(&["patient", "rotate-preference-token", &p], &[("DATABASE_URL", &staff_url(&db, &support))], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the old link no longer works"));
    let new = token().await;
    assert_ne!(new, old);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&new), "the new token is not printed");
    let out = digimed(&["patient", "rotate-preference-token", "999999"], &[("DATABASE_URL", &staff_url(&db, &support))], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("not found"));
}
