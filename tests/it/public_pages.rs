//! The public review, preferences and consent-forms pages of `digimed serve`
//! (docs/public-pages.md), on the demo data, through HTTP as a patient's browser sends it; the
//! admins' ratings; rotating the preference token.

use digimed_core::accounts::Accounts;
use digimed_core::preferences;
use digimed_core::reviews::{self, ReviewAnswer};
use digimed_core::session::AppRole;
use digimed_core::{Acting, ClinicTx, ErrorCode};
use digimed_tests::service::{self, RunningService};
use digimed_tests::{is_denied, Staff, TestDb};

struct World {
    db: TestDb,
    svc: RunningService,
    oslo: i32,
    http: reqwest::Client,
}

async fn world() -> World {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let svc = service::start(&db, Accounts::Local).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    World { db, svc, oslo, http }
}

/// A review link for consultation `id`, as completing it creates one.
async fn review_token(db: &TestDb, id: i32) -> String {
    let token = digimed_core::patients::new_token();
    sqlx::query("INSERT INTO consultation_reviews (consultation_id, token) VALUES ($1, $2)")
        .bind(id)
        .bind(&token)
        .execute(&db.owner)
        .await
        .unwrap();
    token
}

/// The demo's completed consultation (assigned to a doctor, from the demo partner).
async fn completed(db: &TestDb) -> i32 {
    sqlx::query_scalar("SELECT id FROM consultations WHERE state = 'completed' ORDER BY id LIMIT 1")
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

async fn person_token(db: &TestDb, person: i32) -> String {
    sqlx::query_scalar("SELECT token FROM communication_preference_tokens WHERE patient_person_id = $1")
        .bind(person)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

/// The audit log's and the reviews' and preferences' state: what a refused request must leave.
async fn written(db: &TestDb) -> (i64, i64, String, String) {
    let audit: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending)")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let answered: i64 = sqlx::query_scalar("SELECT count(*) FROM consultation_reviews WHERE submitted_at IS NOT NULL")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let reviews: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(format('%s|%s|%s|%s', consultation_id, rating, comment, submitted_at), ';' ORDER BY consultation_id), '')
           FROM consultation_reviews",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    let prefs: String = sqlx::query_scalar(
        "SELECT string_agg(format('%s|%s|%s|%s|%s|%s', patient_person_id, token, email_allowed, sms_allowed, marketing_opt_out, updated_at), ';' ORDER BY id)
           FROM communication_preference_tokens",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    (audit, answered, reviews, prefs)
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    /// The form key of the form on the page.
    fn form_key(&self) -> String {
        let at = self.body.find(r#"name="form_key" value=""#).expect("the page has a form") + r#"name="form_key" value=""#.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The page's form key, or `fallback` when the page has no form.
    fn form_key_or(&self, fallback: &str) -> String {
        if self.body.contains(r#"name="form_key" value=""#) {
            self.form_key()
        } else {
            fallback.to_string()
        }
    }
}

async fn get(w: &World, path: &str, accept_language: Option<&str>) -> Page {
    let mut req = w.http.get(format!("{}{path}", w.svc.base));
    if let Some(l) = accept_language {
        req = req.header("accept-language", l);
    }
    let resp = req.send().await.unwrap();
    Page { status: resp.status().as_u16(), headers: resp.headers().clone(), body: resp.text().await.unwrap() }
}

/// A form post as a browser sends it from the page itself.
async fn post(w: &World, path: &str, fields: &[(&str, &str)]) -> Page {
    post_with(w, path, fields, &[("sec-fetch-site", "same-origin"), ("origin", "null")]).await
}

async fn post_with(w: &World, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
    let mut req = w.http.post(format!("{}{path}", w.svc.base)).form(fields);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    Page { status: resp.status().as_u16(), headers: resp.headers().clone(), body: resp.text().await.unwrap() }
}

fn assert_strict_headers(p: &Page) {
    let h = |n: &str| p.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(h("content-type").starts_with("text/html"), "{}", h("content-type"));
    assert!(h("content-security-policy").contains("default-src 'none'"), "{}", h("content-security-policy"));
    assert!(h("content-security-policy").contains("form-action 'self'"));
    assert!(!h("content-security-policy").contains("unsafe-inline"));
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("cache-control"), "no-store");
    assert!(h("x-robots-tag").contains("noindex"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert!(!p.body.contains("<script"), "the pages need no script");
}

#[tokio::test]
async fn a_rating_is_recorded_once_and_a_second_answer_is_refused() {
    let w = world().await;
    let cid = completed(&w.db).await;
    let token = review_token(&w.db, cid).await;
    let path = format!("/review/{token}");

    // The form, in the patient's language (bokmål), naming the doctor by first name only.
    let form = get(&w, &path, Some("en")).await;
    assert_eq!(form.status, 200);
    assert_strict_headers(&form);
    assert!(form.has(r#"<html lang="nb">"#) && form.has("Hvordan var konsultasjonen?"), "{}", form.body);
    let doctor: String =
        sqlx::query_scalar("SELECT s.name FROM consultations c JOIN staff s ON s.id = c.assigned_doctor_id WHERE c.id = $1")
            .bind(cid)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let (first, rest) = doctor.trim_start_matches("Dr. ").split_once(' ').unwrap();
    assert!(form.has(&format!("dr. {first}")), "the doctor's first name: {}", form.body);
    assert!(!form.has(rest), "never the doctor's full name");
    assert!(!form.has("R74") && !form.has("Sore throat"), "nothing clinical");
    // And in English when asked.
    let english = get(&w, &format!("{path}?lang=en"), None).await;
    assert!(english.has(r#"<html lang="en">"#) && english.has("How was your consultation?"));
    assert!(english.has(&format!("Dr. {first}")));

    let before = written(&w.db).await;
    let thanks = post(
        &w,
        &path,
        &[("lang", "en"), ("form_key", &english.form_key()), ("rating", "4"), ("comment", "  Kind & <quick>.  ")],
    )
    .await;
    assert_eq!(thanks.status, 200, "{}", thanks.body);
    assert!(thanks.has("Thank you for your rating!"));
    let (rating, comment, submitted): (Option<i16>, Option<String>, bool) =
        sqlx::query_as("SELECT rating, comment, submitted_at IS NOT NULL FROM consultation_reviews WHERE consultation_id = $1")
            .bind(cid)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert_eq!((rating, comment.as_deref(), submitted), (Some(4), Some("Kind & <quick>."), true));
    assert_eq!(written(&w.db).await.1, before.1 + 1);
    // In the audit log as the service, acting for the review link's holder.
    let (actor, acting_for): (String, Option<String>) = sqlx::query_as(
        "SELECT actor, acting_for FROM audit_log WHERE entity_type = 'consultation_reviews' AND action = 'UPDATE' AND entity_id = $1::text",
    )
    .bind(cid)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert!(actor.starts_with("svc_"), "{actor}");
    assert_eq!(acting_for.as_deref(), Some(format!("review-link:{cid}").as_str()));

    // A second answer, even with the form as first rendered: "already received", nothing written.
    let after = written(&w.db).await;
    let again =
        post(&w, &path, &[("lang", "nb"), ("form_key", &form.form_key()), ("rating", "1"), ("comment", "Changed my mind")]).await;
    assert_eq!(again.status, 409);
    assert_strict_headers(&again);
    assert!(again.has("Vi har allerede tatt imot vurderingen din"), "{}", again.body);
    assert_eq!(written(&w.db).await, after);
    // Opening the link again says the same, without a form.
    let reopened = get(&w, &format!("{path}?lang=en"), None).await;
    assert_eq!(reopened.status, 200);
    assert!(reopened.has("We have already received your rating") && !reopened.has("<form"));
    // The core refuses it too, and so does the database, even for the owner.
    let svc = w.svc.pool.clone();
    let e = digimed_tests::act(&svc, &Acting::Party { acting_for: "test".into() }, async |tx| {
        reviews::submit(tx, &token, &ReviewAnswer { rating: 2, comment: None }).await
    })
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    let raw =
        sqlx::query("UPDATE consultation_reviews SET rating = 1 WHERE consultation_id = $1").bind(cid).execute(&w.db.owner).await;
    assert!(raw.is_err(), "the database keeps the first answer");
    assert_eq!(written(&w.db).await, after);
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_not_found_page_and_writes_nothing() {
    let w = world().await;
    let cid = completed(&w.db).await;
    let real = review_token(&w.db, cid).await;
    let before = written(&w.db).await;
    let wrong = digimed_core::patients::new_token();
    // Looks like a token, is none; is no token at all; is the real one changed in one character.
    let mut near = real.clone();
    near.replace_range(0..1, if real.starts_with('A') { "B" } else { "A" });
    for token in [wrong.as_str(), "x", near.as_str(), "%27%20OR%201%3D1--"] {
        for page in ["review", "preferences", "forms"] {
            let nb = get(&w, &format!("/{page}/{token}"), None).await;
            assert_eq!(nb.status, 404, "{page}/{token}");
            assert_strict_headers(&nb);
            assert!(nb.has("Denne lenken er ikke gyldig") && nb.has(r#"lang="nb""#), "{}", nb.body);
            let en = get(&w, &format!("/{page}/{token}"), Some("en-GB,en;q=0.9")).await;
            assert!(en.has("This link is not valid"), "{}", en.body);
            let en = get(&w, &format!("/{page}/{token}?lang=en"), Some("nb")).await;
            assert!(en.has("This link is not valid"));
            let posted = post(
                &w,
                &format!("/{page}/{token}"),
                &[("lang", "en"), ("form_key", "1.x"), ("rating", "5"), ("email", "yes"), ("marketing", "yes")],
            )
            .await;
            assert_eq!(posted.status, 404);
            assert!(posted.has("This link is not valid"));
        }
    }
    assert_eq!(written(&w.db).await, before, "nothing written");
}

#[tokio::test]
async fn an_invalid_rating_shows_the_form_again_with_the_error_next_to_the_field() {
    let w = world().await;
    let cid = completed(&w.db).await;
    let token = review_token(&w.db, cid).await;
    let path = format!("/review/{token}");
    let before = written(&w.db).await;
    let key = get(&w, &path, None).await.form_key();
    for rating in [None, Some("0"), Some("6"), Some("4.5"), Some("five")] {
        let mut fields = vec![("lang", "nb"), ("form_key", key.as_str()), ("comment", "Kept as typed <b>")];
        if let Some(r) = rating {
            fields.push(("rating", r));
        }
        let p = post(&w, &path, &fields).await;
        assert_eq!(p.status, 422, "{rating:?}");
        assert!(p.has(r#"id="rating-error""#) && p.has(">Velg en vurdering fra 1 til 5.</p>"), "{}", p.body);
        assert!(p.has(r#"aria-describedby="rating-error""#));
        assert!(p.has("Kept as typed &lt;b&gt;"), "the comment is kept, escaped");
        assert!(p.has("<title>Feil: "));
    }
    let long = "å".repeat(2001);
    let p = post(&w, &path, &[("lang", "en"), ("form_key", &key), ("rating", "3"), ("comment", &long)]).await;
    assert_eq!(p.status, 422);
    assert!(p.has(r#"id="comment-error""#) && p.has(">The comment can be at most 2000 characters.</p>"), "{}", p.body);
    assert!(p.has(r#"checked"#), "the rating chosen is kept");
    // No form key, a forged one, or a post from another site: refused, nothing written.
    let p = post(&w, &path, &[("lang", "en"), ("rating", "3")]).await;
    assert_eq!(p.status, 400);
    assert!(p.has("The page was too old"));
    let p = post(&w, &path, &[("lang", "en"), ("rating", "3"), ("form_key", "1800000000.AAAA")]).await;
    assert_eq!(p.status, 400);
    let p =
        post_with(&w, &path, &[("lang", "en"), ("rating", "3"), ("form_key", &key)], &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(p.status, 403);
    assert!(p.has("The form was not sent"));
    let p =
        post_with(&w, &path, &[("lang", "en"), ("rating", "3"), ("form_key", &key)], &[("origin", "https://elsewhere.example")])
            .await;
    assert_eq!(p.status, 403);
    assert_eq!(written(&w.db).await, before, "nothing written");
    // Then a good answer still goes through.
    let p = post(&w, &path, &[("lang", "en"), ("form_key", &key), ("rating", "5")]).await;
    assert_eq!(p.status, 200);
}

#[tokio::test]
async fn preferences_are_changed_on_the_page_and_audited() {
    let w = world().await;
    let person: i32 = sqlx::query_scalar("SELECT patient_person_id FROM consultations ORDER BY id LIMIT 1")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    let token = person_token(&w.db, person).await;
    let path = format!("/preferences/{token}");
    let form = get(&w, &path, None).await;
    assert_eq!(form.status, 200);
    assert_strict_headers(&form);
    assert!(form.has("Hvordan vil du at vi kontakter deg?"));
    assert!(form.has("Minst én må være valgt"), "the page says one channel must stay");
    assert!(form.has(r#"id="email" name="email" value="yes" checked"#) && form.has(r#"id="sms" name="sms" value="yes" checked"#));
    assert!(form.has(r#"id="marketing-yes" name="marketing" value="yes" checked"#));
    let name: String =
        sqlx::query_scalar("SELECT name FROM patient_persons WHERE id = $1").bind(person).fetch_one(&w.db.owner).await.unwrap();
    assert!(!form.has(&name), "nothing that identifies the patient");

    // E-mail only, no marketing.
    let saved = post(&w, &path, &[("lang", "en"), ("form_key", &form.form_key()), ("email", "yes"), ("marketing", "no")]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.has("Your choices are saved."));
    assert!(
        saved.has(r#"id="email" name="email" value="yes" checked"#) && !saved.has(r#"id="sms" name="sms" value="yes" checked"#)
    );
    assert!(saved.has(r#"id="marketing-no" name="marketing" value="no" checked"#));
    let (email, sms, opt_out, updated): (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT email_allowed, sms_allowed, marketing_opt_out, updated_at IS NOT NULL FROM communication_preference_tokens WHERE patient_person_id = $1",
    )
    .bind(person)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert_eq!((email, sms, opt_out, updated), (true, false, true, true));
    // Audited: the service, acting for the holder of this person's preference link; the token
    // itself never in the log.
    let entry = ClinicTx::run(&w.db.owner, async |tx| digimed_core::audit::recent(tx, 20, None).await)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.entity_type == "communication_preference_tokens" && e.action == "UPDATE")
        .expect("the change is in the audit log");
    assert!(entry.actor.starts_with("svc_"), "{}", entry.actor);
    assert_eq!(entry.acting_for.as_deref(), Some(format!("preference-link:{person}").as_str()));
    let changes = entry.changes;
    assert!(changes.contains("sms_allowed") && changes.contains("marketing_opt_out"), "{changes}");
    assert!(!changes.contains(&token));

    // Saving the same again changes nothing and writes nothing.
    let before = written(&w.db).await;
    let same = post(&w, &path, &[("lang", "nb"), ("form_key", &saved.form_key()), ("email", "yes"), ("marketing", "no")]).await;
    assert_eq!(same.status, 200);
    assert!(same.has("Valgene dine er lagret."));
    assert_eq!(written(&w.db).await, before);
}

#[tokio::test]
async fn no_channel_at_all_is_refused_with_a_clear_error() {
    let w = world().await;
    let person: i32 = sqlx::query_scalar("SELECT patient_person_id FROM consultations ORDER BY id LIMIT 1")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    let token = person_token(&w.db, person).await;
    let path = format!("/preferences/{token}");
    let key = get(&w, &path, None).await.form_key();
    let before = written(&w.db).await;
    let p = post(&w, &path, &[("lang", "nb"), ("form_key", &key), ("marketing", "yes")]).await;
    assert_eq!(p.status, 422);
    assert!(p.has(r#"id="channels-error""#) && p.has(">Velg e-post, SMS eller begge."), "{}", p.body);
    assert!(p.has(r#"aria-describedby="channels-hint channels-error""#));
    let p = post(&w, &path, &[("lang", "en"), ("form_key", &key), ("sms", "yes")]).await;
    assert_eq!(p.status, 422);
    assert!(p.has(r#"id="marketing-error""#));
    assert_eq!(written(&w.db).await, before, "nothing written");
    // The core names the field, and the database holds the rule for every connection.
    let e = preferences::PreferenceChoice::parse(false, false, Some("no")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("channels"));
    let raw = sqlx::query(
        "UPDATE communication_preference_tokens SET email_allowed = false, sms_allowed = false WHERE patient_person_id = $1",
    )
    .bind(person)
    .execute(&w.svc.pool)
    .await;
    assert!(raw.is_err(), "no channel at all is refused by the database");
}

#[tokio::test]
async fn rotating_the_preference_token_invalidates_the_old_link() {
    let w = world().await;
    let person: i32 =
        sqlx::query_scalar("SELECT patient_person_id FROM consultations WHERE organization_id = $1 ORDER BY id LIMIT 1")
            .bind(w.oslo)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let old = person_token(&w.db, person).await;
    assert_eq!(get(&w, &format!("/preferences/{old}"), None).await.status, 200);
    let support = w.db.staff(AppRole::CustomerSupport, w.oslo, "rotating-support").await;
    ClinicTx::run(&support.pool, async |tx| preferences::rotate_token(tx, person).await).await.unwrap();
    let new = person_token(&w.db, person).await;
    assert_ne!(new, old);
    assert!(new.len() >= 43, "at least 256 bits, URL-safe base64");
    let gone = get(&w, &format!("/preferences/{old}?lang=en"), None).await;
    assert_eq!(gone.status, 404);
    assert!(gone.has("This link is not valid"));
    assert_eq!(get(&w, &format!("/preferences/{new}"), None).await.status, 200);
    // Recorded, without the token.
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE entity_type = 'communication_preference_tokens' AND action = 'UPDATE' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert!(changes.get("rotated_at").is_some(), "{changes}");
    assert!(!changes.to_string().contains(&new) && !changes.to_string().contains(&old), "{changes}");
    // Admins may too; secretaries and doctors may not; nobody outside the patient's clinics.
    let admin = w.db.staff(AppRole::Admin, w.oslo, "rotating-admin").await;
    ClinicTx::run(&admin.pool, async |tx| preferences::rotate_token(tx, person).await).await.unwrap();
    for role in [AppRole::Secretary, AppRole::Doctor] {
        let s = w.db.staff(role, w.oslo, &format!("rotating-{}", role.as_str().replace('_', "-"))).await;
        let e = ClinicTx::run(&s.pool, async |tx| preferences::rotate_token(tx, person).await).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{role:?}");
        let raw = sqlx::query("UPDATE communication_preference_tokens SET token = 'x' || token WHERE patient_person_id = $1")
            .bind(person)
            .execute(&s.pool)
            .await
            .unwrap_err();
        assert!(is_denied(&raw), "{role:?}: {raw}");
    }
    let elsewhere = w.db.clinic("Another Clinic").await;
    let stranger = w.db.staff(AppRole::CustomerSupport, elsewhere, "rotating-stranger").await;
    let e = ClinicTx::run(&stranger.pool, async |tx| preferences::rotate_token(tx, person).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.field.as_deref(), Some("person_id"));
}

async fn answer(w: &World, consultation: i32, rating: i16, comment: Option<&str>) {
    let token = review_token(&w.db, consultation).await;
    let answer = ReviewAnswer { rating, comment: comment.map(str::to_string) };
    digimed_tests::act(&w.svc.pool, &Acting::Party { acting_for: format!("review-link:{consultation}") }, async |tx| {
        reviews::submit(tx, &token, &answer).await
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn admins_see_the_ratings_per_doctor_and_per_partner_and_no_one_else_does() {
    let w = world().await;
    // Consultations of the demo clinic: assigned to the demo doctors, or to nobody.
    let rows: Vec<(i32, Option<i32>)> =
        sqlx::query_as("SELECT id, assigned_doctor_id FROM consultations WHERE organization_id = $1 ORDER BY id")
            .bind(w.oslo)
            .fetch_all(&w.db.owner)
            .await
            .unwrap();
    let assigned: Vec<&(i32, Option<i32>)> = rows.iter().filter(|(_, d)| d.is_some()).collect();
    let unassigned = rows.iter().find(|(_, d)| d.is_none()).unwrap();
    assert!(assigned.len() >= 3);
    answer(&w, assigned[0].0, 5, Some("Very helpful, thank you.")).await;
    answer(&w, assigned[1].0, 3, None).await;
    answer(&w, assigned[2].0, 4, Some("Good, but the video froze.")).await;
    answer(&w, unassigned.0, 1, Some("Nobody called me.")).await;
    // A link not answered yet.
    review_token(&w.db, rows.last().unwrap().0).await;

    let admin = w.db.staff(AppRole::Admin, w.oslo, "reviews-admin").await;
    let s = ClinicTx::run(&admin.pool, async |tx| reviews::summary(tx).await).await.unwrap();
    assert_eq!((s.answered, s.unanswered), (4, 1));
    assert_eq!(s.average, Some(13.0 / 4.0));
    // Per doctor: each doctor's own ratings, and the consultations no doctor had.
    let total: i32 = s.by_doctor.iter().map(|g| g.answered).sum();
    assert_eq!(total, 4);
    for g in &s.by_doctor {
        assert_eq!(g.ratings.iter().sum::<i32>(), g.answered);
        assert!((1.0..=5.0).contains(&g.average));
    }
    let nobody = s.by_doctor.iter().find(|g| g.id.is_none()).expect("a group for no doctor");
    assert_eq!((nobody.answered, nobody.average, nobody.ratings.clone()), (1, 1.0, vec![1, 0, 0, 0, 0]));
    let doctor_of = |id: i32| assigned.iter().find(|(c, _)| *c == id).unwrap().1;
    let first = s.by_doctor.iter().find(|g| g.id == doctor_of(assigned[0].0)).unwrap();
    assert!(first.name.is_some());
    // Per partner: the demo's consultations all came from its insurer partner.
    assert_eq!(s.by_partner.len(), 1);
    assert_eq!(s.by_partner[0].answered, 4);
    assert!(s.by_partner[0].name.is_some());
    // The newest comments first, with what they are about.
    let comments: Vec<&str> = s.latest_comments.iter().map(|c| c.comment.as_str()).collect();
    assert_eq!(comments, ["Nobody called me.", "Good, but the video froze.", "Very helpful, thank you."]);
    assert_eq!(s.latest_comments[0].doctor_name, None);
    assert!(s.latest_comments[1].partner_name.is_some());

    // Only admins (and the owner) read them; the others are refused with a sentence, and cannot
    // read the comments with their own logins either.
    let owner = ClinicTx::run(&w.db.owner, async |tx| reviews::summary(tx).await).await.unwrap();
    assert_eq!(owner.answered, 4);
    for role in [AppRole::Secretary, AppRole::Doctor, AppRole::CustomerSupport] {
        let s: Staff = w.db.staff(role, w.oslo, &format!("reviews-{}", role.as_str().replace('_', "-"))).await;
        let e = ClinicTx::run(&s.pool, async |tx| reviews::summary(tx).await).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{role:?}");
        assert!(e.message.contains("only administrators may"), "{}", e.message);
        let raw = sqlx::query("SELECT comment FROM consultation_reviews").fetch_all(&s.pool).await.unwrap_err();
        assert!(is_denied(&raw), "{role:?}");
    }
    // An admin of another clinic sees none of these.
    let elsewhere = w.db.clinic("Another Clinic").await;
    let other = w.db.staff(AppRole::Admin, elsewhere, "reviews-other-admin").await;
    let s = ClinicTx::run(&other.pool, async |tx| reviews::summary(tx).await).await.unwrap();
    assert_eq!((s.answered, s.unanswered, s.by_doctor.len()), (0, 0, 0));
}

/// Every form's state and the consents granted: what a refused answer on the forms page must leave.
async fn forms_state(db: &TestDb) -> String {
    sqlx::query_scalar(
        "SELECT format('%s / %s', (SELECT string_agg(format('%s|%s|%s|%s', id, status, signed_by, declined_at), ';' ORDER BY id) FROM forms),
                      (SELECT count(*) FROM consents))",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

/// A demo person with at least two pending consent forms, and those forms (id, title, hash).
async fn person_with_pending_forms(db: &TestDb) -> (i32, Vec<(i32, String, String)>) {
    let person: i32 = sqlx::query_scalar(
        "SELECT p.patient_person_id FROM forms f JOIN patients p ON p.id = f.patient_id
          WHERE f.status = 'pending' GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1 LIMIT 1",
    )
    .fetch_one(&db.owner)
    .await
    .expect("the demo has a patient with two pending forms");
    let forms: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT f.id, t.title, encode(v.body_sha256, 'hex') FROM forms f
           JOIN patients p ON p.id = f.patient_id
           JOIN form_templates t ON t.id = f.template_id
           JOIN form_template_versions v ON v.id = f.template_version_id
          WHERE p.patient_person_id = $1 AND f.status = 'pending' ORDER BY f.id",
    )
    .bind(person)
    .fetch_all(&db.owner)
    .await
    .unwrap();
    (person, forms)
}

#[tokio::test]
async fn consent_forms_are_signed_and_declined_from_the_forms_link() {
    let w = world().await;
    let (person, pending) = person_with_pending_forms(&w.db).await;
    let token = person_token(&w.db, person).await;
    let path = format!("/forms/{token}");
    // Titles as the page writes them (HTML-escaped: "Privacy Policy &amp; GDPR Consent").
    let escaped = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let (first, first_title, first_sha) = pending[0].clone();
    let (second, second_title, _) = pending[1].clone();
    let (first_title, second_title) = (escaped(&first_title), escaped(&second_title));

    let page = get(&w, &path, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_strict_headers(&page);
    assert!(page.has("Skjemaene dine") && page.has(&first_title) && page.has(&second_title), "{}", page.body);
    assert!(page.has(&format!(r#"name="template_sha256" value="{first_sha}""#)), "the page names the text it shows");
    let name: String =
        sqlx::query_scalar("SELECT name FROM patient_persons WHERE id = $1").bind(person).fetch_one(&w.db.owner).await.unwrap();
    assert!(!page.has(&name), "nothing that identifies the patient");
    let en = get(&w, &format!("{path}?lang=en"), None).await;
    assert!(en.has("Your forms") && en.has("I have read the form and I agree"), "{}", en.body);
    let key = page.form_key();
    let first_id = first.to_string();

    // Refusals: each leaves every form and consent, and the audit log, as they were.
    let before = (written(&w.db).await, forms_state(&w.db).await);
    let sign = |agree: bool, sha: &str| {
        let mut f = vec![
            ("lang", "en".to_string()),
            ("form_key", key.clone()),
            ("form_id", first_id.clone()),
            ("action", "sign".to_string()),
            ("template_sha256", sha.to_string()),
        ];
        if agree {
            f.push(("agree", "yes".to_string()));
        }
        f
    };
    let send = async |fields: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&w, &path, &refs).await
    };
    // The box not ticked: the error next to it.
    let p = send(sign(false, &first_sha)).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has(&format!(r#"id="agree-{first}-error""#)) && p.has("Tick the box"), "{}", p.body);
    assert!(p.has(&format!(r#"aria-describedby="agree-{first}-error""#)));
    assert!(p.has("<title>Error: "));
    // A text other than the one on record.
    let p = send(sign(true, &"0".repeat(64))).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.has("The form has changed since the page was shown"), "{}", p.body);
    // Another person's form, through this person's link: not found, like no form at all.
    let (stranger_form,): (i32,) = sqlx::query_as(
        "SELECT f.id FROM forms f JOIN patients p ON p.id = f.patient_id WHERE f.status = 'pending' AND p.patient_person_id <> $1 LIMIT 1",
    )
    .bind(person)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    let stranger_id = stranger_form.to_string();
    for id in [stranger_id.as_str(), "999999", "x"] {
        let p = post(&w, &path, &[("lang", "en"), ("form_key", &key), ("form_id", id), ("action", "decline"), ("agree", "yes")])
            .await;
        assert_eq!(p.status, 404, "{id}: {}", p.body);
        assert!(p.has("This link is not valid"));
    }
    // No form key, or posted from another site.
    let p = post(&w, &path, &[("lang", "en"), ("form_id", &first_id), ("action", "decline")]).await;
    assert_eq!(p.status, 400);
    let p = post_with(
        &w,
        &path,
        &[("lang", "en"), ("form_key", &key), ("form_id", &first_id), ("action", "decline")],
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(p.status, 403);
    assert_eq!((written(&w.db).await, forms_state(&w.db).await), before, "nothing written");

    // Signing: the form is the patient's, for the text shown, with its consents, audited.
    let p = send(sign(true, &first_sha)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has(&format!("Signed: {first_title}")), "{}", p.body);
    assert!(p.has("Forms you have answered"));
    let (status, signed_by, sha, consents): (String, Option<String>, Option<String>, i64) = sqlx::query_as(
        "SELECT f.status, f.signed_by, encode(f.signed_template_sha256, 'hex'), (SELECT count(*) FROM consents c WHERE c.form_id = f.id)
           FROM forms f WHERE f.id = $1",
    )
    .bind(first)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    let consent_types: i64 = sqlx::query_scalar(
        "SELECT cardinality(t.consent_types)::bigint FROM forms f JOIN form_templates t ON t.id = f.template_id WHERE f.id = $1",
    )
    .bind(first)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert_eq!((status.as_str(), signed_by.as_deref(), sha.as_deref()), ("signed", Some("patient"), Some(first_sha.as_str())));
    assert_eq!(consents, consent_types, "each of the form's consents is granted");
    let entry = ClinicTx::run(&w.db.owner, async |tx| digimed_core::audit::recent(tx, 30, None).await)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.entity_type == "forms" && e.action == "UPDATE")
        .expect("the signature is in the audit log");
    assert!(entry.actor.starts_with("svc_"), "{}", entry.actor);
    assert_eq!(entry.acting_for.as_deref(), Some(format!("forms-link:{person}").as_str()));

    // The same form again: already answered, nothing more written.
    let again = (written(&w.db).await, forms_state(&w.db).await);
    let p = send(sign(true, &first_sha)).await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(
        p.has("This form was already answered. Nothing was changed.") && !p.has(&format!("Signed: {first_title}")),
        "{}",
        p.body
    );
    assert_eq!((written(&w.db).await, forms_state(&w.db).await), again);

    // Declining the other.
    let p = post(
        &w,
        &path,
        &[("lang", "nb"), ("form_key", &p.form_key_or(&key)), ("form_id", &second.to_string()), ("action", "decline")],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.has(&format!("Avslått: {second_title}")), "{}", p.body);
    let status: String =
        sqlx::query_scalar("SELECT status FROM forms WHERE id = $1").bind(second).fetch_one(&w.db.owner).await.unwrap();
    assert_eq!(status, "declined");
    assert!(p.has("Besvarte skjemaer") && p.has("Signert") && p.has("Avslått"));
}
