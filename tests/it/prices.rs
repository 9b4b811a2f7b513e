//! Deal prices, discounts and order totals: a booking takes the partner's deal price in force
//! (and keeps it when the price changes), a booking without a deal price is opened at 0 and says
//! so, discounts are refused naming the field and writing nothing, the database keeps every
//! order's total whoever writes a line item, prices are set only by the admins of the partner's
//! clinic, every change is audited in the actor's name, and the billing view adds up what the
//! database holds.

use digimed_core::orders;
use digimed_core::prices;
use digimed_core::queue::{self, NewBooking};
use digimed_core::referrals::{self, Partner};
use digimed_core::session::AppRole;
use digimed_core::{ClinicTx, ErrorCode};
use digimed_tests::fixtures::{nid, partner, referral_body};
use digimed_tests::{is_denied, Staff, TestDb};
use uuid::Uuid;

struct Clinic {
    db: TestDb,
    clinic: i32,
    partner: Partner,
    person: i32,
    admin: Staff,
    secretary: Staff,
}

async fn clinic() -> Clinic {
    let db = TestDb::new().await;
    let clinic = db.clinic("Prisklinikken").await;
    let partner = partner(&db, clinic, true).await;
    // A referred patient of the clinic, to book consultations for.
    let r = ClinicTx::run(&db.owner, async |tx| {
        referrals::receive(tx, &db.vault, &partner, referral_body(nid(3).as_str(), Uuid::new_v4()).to_string().as_bytes()).await
    })
    .await
    .unwrap();
    let person = r.receipt().patient_person_id;
    let admin = db.staff(AppRole::Admin, clinic, "price-admin").await;
    let secretary = db.staff(AppRole::Secretary, clinic, "price-secretary").await;
    Clinic { db, clinic, partner, person, admin, secretary }
}

impl Clinic {
    async fn set_price(&self, category: &str, amount: &str) -> prices::DealPrice {
        ClinicTx::run(&self.admin.pool, async |tx| prices::set(tx, self.partner.id, category, amount, None).await).await.unwrap()
    }

    /// A secretary books an insurance consultation of the partner; returns its id.
    async fn book(&self) -> i32 {
        let b = NewBooking { patient_person_id: self.person, partner_id: Some(self.partner.id), ..Default::default() };
        ClinicTx::run(&self.secretary.pool, async |tx| queue::book(tx, &b).await).await.unwrap().id
    }

    /// The consultation's line item as stored: unit price, discount, reason, who, whether there
    /// was no deal price, and the order's total and whether it is `order_total(order)`.
    async fn line(&self, consultation: i32) -> Line {
        sqlx::query_as(
            "SELECT li.unit_price::text, li.discount::text, li.discount_reason, li.discount_set_by, li.no_deal_price,
                    o.total::text, o.total = order_total(o.id), o.currency
               FROM orders o JOIN line_items li ON li.order_id = o.id WHERE o.consultation_id = $1",
        )
        .bind(consultation)
        .fetch_one(&self.db.owner)
        .await
        .unwrap()
    }

    /// Everything a price or discount could change, and the audit rows, as one value.
    async fn written(&self) -> String {
        sqlx::query_scalar(
            "SELECT concat_ws(' | ',
                    (SELECT json_agg(l ORDER BY l.id) FROM line_items l)::text,
                    (SELECT json_agg(o ORDER BY o.id) FROM orders o)::text,
                    (SELECT json_agg(p ORDER BY p.id) FROM partner_prices p)::text,
                    (SELECT count(*) FROM audit_log)::text, (SELECT count(*) FROM audit_pending)::text)",
        )
        .fetch_one(&self.db.owner)
        .await
        .unwrap()
    }
}

type Line = (String, String, Option<String>, Option<String>, bool, String, bool, String);

#[tokio::test]
async fn a_booking_takes_the_deal_price_in_force_and_keeps_it() {
    let c = clinic().await;
    let set = c.set_price("insurance", "650.00").await;
    assert_eq!((set.unit_price.to_string(), set.currency.as_str(), set.set_by.as_str()), ("650.00".into(), "NOK", "price-admin"));
    let stored: (String, String, String) = sqlx::query_as(
        "SELECT unit_price::text, currency, set_by FROM partner_prices WHERE partner_id = $1 AND category = 'insurance'",
    )
    .bind(c.partner.id)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(stored.2, c.admin.login, "the database records who set it");
    let first = c.book().await;
    let (price, discount, _, _, none, total, kept, currency) = c.line(first).await;
    assert_eq!(
        (price.as_str(), discount.as_str(), none, currency.as_str()),
        (stored.0.as_str(), "0.00", false, stored.1.as_str())
    );
    assert_eq!(total, stored.0, "the total is the price");
    assert!(kept);

    // A new price applies to bookings made afterwards; the booked one keeps its price.
    c.set_price("insurance", "700,50").await;
    let new_price: String =
        sqlx::query_scalar("SELECT unit_price::text FROM partner_prices WHERE partner_id = $1 AND category = 'insurance'")
            .bind(c.partner.id)
            .fetch_one(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(new_price, "700.50");
    assert_eq!(c.line(first).await.0, stored.0, "a booked consultation keeps its price");
    let second = c.book().await;
    assert_eq!(c.line(second).await.0, new_price);

    // Both changes are audited in the admin's name, and listed with the partner.
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT action, actor FROM audit_log WHERE entity_type = 'partner_prices' ORDER BY id")
            .fetch_all(&c.db.owner)
            .await
            .unwrap();
    assert_eq!(audited, [("CREATE".to_string(), c.admin.login.clone()), ("UPDATE".to_string(), c.admin.login.clone())]);
    let listed = ClinicTx::run(&c.admin.pool, async |tx| prices::list(tx).await).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].prices.iter().map(|p| (p.category.as_str(), p.unit_price.to_string())).collect::<Vec<_>>(),
        [("insurance", new_price.clone())]
    );
}

#[tokio::test]
async fn without_a_deal_price_the_line_is_opened_at_zero_and_says_so() {
    let c = clinic().await;
    // A price for the other category does not price this one.
    c.set_price("direct", "400").await;
    let id = c.book().await;
    let (price, _, _, _, none, total, kept, currency) = c.line(id).await;
    assert_eq!((price.as_str(), none, total.as_str(), kept, currency.as_str()), ("0.00", true, "0.00", true, "NOK"));
    let day = clinic_day(&c.db.owner, id).await;
    let billing = ClinicTx::run(&c.admin.pool, async |tx| orders::billing(tx, c.partner.id, &day, &day).await).await.unwrap();
    let line = billing.lines.iter().find(|l| l.consultation_id == id).unwrap();
    assert!(line.no_deal_price);
    // There is nothing to discount.
    let before = c.written().await;
    let e = ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, id, "10", "Goodwill").await).await.unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("amount")));
    assert!(e.message.contains("without a deal price"), "{}", e.message);
    assert_eq!(c.written().await, before);
}

#[tokio::test]
async fn a_discount_is_kept_with_its_reason_who_and_when_and_the_total_follows() {
    let c = clinic().await;
    c.set_price("insurance", "950").await;
    let id = c.book().await;
    let line =
        ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, id, "100.00", " Waited too long ").await).await.unwrap();
    let (price, discount, reason, by, _, total, kept, _) = c.line(id).await;
    assert_eq!(
        (discount.as_str(), reason.as_deref(), by.as_deref()),
        ("100.00", Some("Waited too long"), Some(c.admin.login.as_str()))
    );
    assert!(kept, "the order's total is order_total()");
    let expected_total: String = sqlx::query_scalar("SELECT ($1::numeric - $2::numeric)::numeric(14, 2)::text")
        .bind(&price)
        .bind(&discount)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(total, expected_total);
    assert_eq!(line.total.map(|t| t.to_string()), Some(total.clone()));
    assert_eq!(line.discount_set_by.as_deref(), Some("price-admin"));
    assert!(line.discount_set_at.is_some());
    // Audited in the admin's name: the discount and the reason on the line, the total on the order.
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM audit_log WHERE entity_type = 'line_items' AND action = 'UPDATE' AND actor = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(&c.admin.login)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(changes["discount"]["to"], serde_json::json!(100.00));
    assert_eq!(changes["discount_reason"]["to"], "Waited too long");
    let order_audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type = 'orders' AND action = 'UPDATE' AND actor = $1 AND changes ? 'total'",
    )
    .bind(&c.admin.login)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(order_audited, 1);
    // Taken back with 0 (and a reason), and the whole price as discount is allowed.
    ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, id, "0", "Given by mistake").await).await.unwrap();
    assert_eq!(c.line(id).await.5, price);
    ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, id, &price, "Free of charge").await).await.unwrap();
    assert_eq!(c.line(id).await.5, "0.00");
}

#[tokio::test]
async fn discount_refusals_name_the_field_and_write_nothing() {
    let c = clinic().await;
    c.set_price("insurance", "650.00").await;
    let id = c.book().await;
    let other_clinic = c.db.clinic("Annen klinikk").await;
    let other_admin = c.db.staff(AppRole::Admin, other_clinic, "price-other-admin").await;
    let doctor = c.db.staff(AppRole::Doctor, c.clinic, "price-doctor").await;
    let before = c.written().await;
    let too_long = "x".repeat(501);
    let cases: [(&Staff, &str, &str, ErrorCode, Option<&str>); 9] = [
        (&c.admin, "-1", "Goodwill", ErrorCode::InvalidInput, Some("amount")),
        (&c.admin, "650.01", "Goodwill", ErrorCode::InvalidInput, Some("amount")),
        (&c.admin, "1,5.0", "Goodwill", ErrorCode::InvalidInput, Some("amount")),
        (&c.admin, "10.001", "Goodwill", ErrorCode::InvalidInput, Some("amount")),
        (&c.admin, "10", "   ", ErrorCode::InvalidInput, Some("reason")),
        (&c.admin, "10", &too_long, ErrorCode::InvalidInput, Some("reason")),
        (&other_admin, "10", "Goodwill", ErrorCode::NotFound, Some("consultation_id")),
        (&c.secretary, "10", "Goodwill", ErrorCode::Forbidden, None),
        (&doctor, "10", "Goodwill", ErrorCode::Forbidden, None),
    ];
    for (who, amount, reason, code, field) in cases {
        let e = ClinicTx::run(&who.pool, async |tx| orders::set_discount(tx, id, amount, reason).await).await.unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (code, field), "{amount:?} {reason:?}: {}", e.message);
        assert!(!e.message.contains(amount) || amount == "10", "the message does not repeat the amount: {}", e.message);
    }
    let e = ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, 999_999, "1", "Goodwill").await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("consultation_id"));
    assert_eq!(c.written().await, before, "no refusal wrote anything");

    // The database holds the same rules for a raw connection, and the core names the field.
    let raw = |sql: &'static str| {
        let pool = c.admin.pool.clone();
        async move { sqlx::query(sql).bind(id).execute(&pool).await.unwrap_err() }
    };
    let set = "UPDATE line_items SET discount = -1, discount_reason = 'x' WHERE order_id = (SELECT id FROM orders WHERE consultation_id = $1)";
    assert_eq!(digimed_core::error::from_database(&raw(set).await).field.as_deref(), Some("amount"));
    let above =
        "UPDATE line_items SET discount = 650.01, discount_reason = 'x' WHERE order_id = (SELECT id FROM orders WHERE consultation_id = $1)";
    assert_eq!(digimed_core::error::from_database(&raw(above).await).field.as_deref(), Some("amount"));
    let no_reason = "UPDATE line_items SET discount = 1, discount_reason = NULL WHERE order_id = (SELECT id FROM orders WHERE consultation_id = $1)";
    assert_eq!(digimed_core::error::from_database(&raw(no_reason).await).field.as_deref(), Some("reason"));
    let price = "UPDATE line_items SET unit_price = 1 WHERE order_id = (SELECT id FROM orders WHERE consultation_id = $1)";
    assert!(is_denied(&raw(price).await), "admins change the discount, not the price");
    // Another clinic's admin sees no line item to change.
    let hidden = sqlx::query(
        "UPDATE line_items SET discount = 1, discount_reason = 'x' WHERE order_id = (SELECT id FROM orders WHERE consultation_id = $1)",
    )
    .bind(id)
    .execute(&other_admin.pool)
    .await
    .unwrap();
    assert_eq!(hidden.rows_affected(), 0);
    assert_eq!(c.written().await, before, "nothing written by the raw attempts either");
}

#[tokio::test]
async fn the_database_keeps_every_orders_total_whoever_writes_a_line_item() {
    let c = clinic().await;
    c.set_price("insurance", "333.33").await;
    let id = c.book().await;
    let order: i32 =
        sqlx::query_scalar("SELECT id FROM orders WHERE consultation_id = $1").bind(id).fetch_one(&c.db.owner).await.unwrap();
    let agrees = || async {
        sqlx::query_as::<_, (String, bool)>("SELECT total::text, total = order_total(id) FROM orders WHERE id = $1")
            .bind(order)
            .fetch_one(&c.db.owner)
            .await
            .unwrap()
    };
    // Written by hand, as the owner: a changed price, two more lines, a line removed.
    sqlx::query("UPDATE line_items SET quantity = 3, discount = 0.99, discount_reason = 'Rounded down' WHERE order_id = $1")
        .bind(order)
        .execute(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(agrees().await, ("999.00".to_string(), true), "3 × 333.33 − 0.99");
    sqlx::query(
        "INSERT INTO line_items (order_id, description, quantity, unit_price, discount, discount_reason)
         VALUES ($1, 'Follow-up', 1, 0.10, 0, NULL), ($1, 'Report', 2, 0.20, 0.10, 'Goodwill')",
    )
    .bind(order)
    .execute(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(agrees().await, ("999.40".to_string(), true), "exact: no binary rounding anywhere");
    sqlx::query("DELETE FROM line_items WHERE order_id = $1 AND description = 'Report'")
        .bind(order)
        .execute(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(agrees().await, ("999.10".to_string(), true));
    // The total cannot be set to anything else, even by the owner.
    sqlx::query("UPDATE orders SET total = 5 WHERE id = $1").bind(order).execute(&c.db.owner).await.unwrap();
    assert_eq!(agrees().await, ("999.10".to_string(), true));
    // And a discount through the core: the admin's change of the line recomputes it too.
    ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, id, "999.99", "Free of charge").await).await.unwrap();
    assert_eq!(agrees().await, ("0.10".to_string(), true));
    let shown = ClinicTx::run(&c.secretary.pool, async |tx| orders::show(tx, id).await).await.unwrap();
    assert_eq!((shown.total.to_string(), shown.line_items.len()), ("0.10".to_string(), 2));
}

#[tokio::test]
async fn deal_prices_are_set_only_by_the_admins_of_the_partners_clinic() {
    let c = clinic().await;
    let other_clinic = c.db.clinic("Annen klinikk").await;
    let other_admin = c.db.staff(AppRole::Admin, other_clinic, "price-other-admin").await;
    let before = c.written().await;
    let set = |who: &Staff, category: &'static str, amount: &'static str, currency: Option<&'static str>| {
        let (pool, partner) = (who.pool.clone(), c.partner.id);
        async move { ClinicTx::run(&pool, async |tx| prices::set(tx, partner, category, amount, currency).await).await.unwrap_err() }
    };
    for (e, code, field) in [
        (set(&c.secretary, "insurance", "650", None).await, ErrorCode::Forbidden, None),
        (set(&other_admin, "insurance", "650", None).await, ErrorCode::NotFound, Some("partner")),
        (set(&c.admin, "follow-up", "650", None).await, ErrorCode::InvalidInput, Some("category")),
        (set(&c.admin, "insurance", "-650", None).await, ErrorCode::InvalidInput, Some("amount")),
        (set(&c.admin, "insurance", "", None).await, ErrorCode::InvalidInput, Some("amount")),
        (set(&c.admin, "insurance", "650", Some("kroner")).await, ErrorCode::InvalidInput, Some("currency")),
    ] {
        assert_eq!((e.code, e.field.as_deref()), (code, field), "{}", e.message);
    }
    assert_eq!(c.written().await, before, "no refusal wrote anything");
    // The database says the same to raw connections: no price for another clinic's partner, none
    // negative, and another clinic's prices are not even visible.
    let e = sqlx::query("INSERT INTO partner_prices (partner_id, category, unit_price) VALUES ($1, 'insurance', 1)")
        .bind(c.partner.id)
        .execute(&other_admin.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&e), "{e}");
    let e = sqlx::query("INSERT INTO partner_prices (partner_id, category, unit_price) VALUES ($1, 'insurance', -1)")
        .bind(c.partner.id)
        .execute(&c.admin.pool)
        .await
        .unwrap_err();
    assert_eq!(digimed_core::error::from_database(&e).field.as_deref(), Some("amount"));
    c.set_price("insurance", "650").await;
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM partner_prices").fetch_one(&other_admin.pool).await.unwrap();
    assert_eq!(seen, 0);
    // Who set it is the database's to say, not the writer's.
    sqlx::query("UPDATE partner_prices SET unit_price = 660 WHERE partner_id = $1")
        .bind(c.partner.id)
        .execute(&c.admin.pool)
        .await
        .unwrap();
    let forged = sqlx::query("UPDATE partner_prices SET set_by = 'someone-else' WHERE partner_id = $1")
        .bind(c.partner.id)
        .execute(&c.admin.pool)
        .await
        .unwrap_err();
    assert!(is_denied(&forged));
    let by: String = sqlx::query_scalar("SELECT set_by FROM partner_prices WHERE partner_id = $1")
        .bind(c.partner.id)
        .fetch_one(&c.db.owner)
        .await
        .unwrap();
    assert_eq!(by, c.admin.login);
}

#[tokio::test]
async fn the_billing_view_adds_up_what_the_database_holds() {
    let c = clinic().await;
    c.set_price("insurance", "650.00").await;
    let a = c.book().await;
    let b = c.book().await;
    c.set_price("insurance", "725.35").await;
    let d = c.book().await;
    ClinicTx::run(&c.admin.pool, async |tx| orders::set_discount(tx, b, "50.10", "Short consultation").await).await.unwrap();
    // Billing periods are dates in the clinic's time zone: from the day before the first booking
    // to the day of the last (midnight there may fall between them).
    let first: chrono::NaiveDate = clinic_day(&c.db.owner, a).await.parse().unwrap();
    let (from, to) = ((first - chrono::Duration::days(1)).to_string(), clinic_day(&c.db.owner, d).await);
    let billing = ClinicTx::run(&c.admin.pool, async |tx| orders::billing(tx, c.partner.id, &from, &to).await).await.unwrap();
    let listed: Vec<i32> = billing.lines.iter().map(|l| l.consultation_id).collect();
    for id in [a, b, d] {
        assert!(listed.contains(&id), "{id} listed");
    }
    for l in &billing.lines {
        let (price, discount, _, _, none, total, _, currency) = c.line(l.consultation_id).await;
        assert_eq!(
            (l.price.map(|p| p.to_string()), l.discount.map(|p| p.to_string()), l.total.map(|p| p.to_string())),
            (Some(price), Some(discount), Some(total))
        );
        assert_eq!((l.currency.clone(), l.no_deal_price), (Some(currency), none));
    }
    let sums: (String, String, String, i64) = sqlx::query_as(
        "SELECT sum(li.quantity * li.unit_price)::text, sum(li.discount)::text, sum(o.total)::text, count(*)
           FROM orders o JOIN line_items li ON li.order_id = o.id JOIN consultations c ON c.id = o.consultation_id
          WHERE c.partner_id = $1",
    )
    .bind(c.partner.id)
    .fetch_one(&c.db.owner)
    .await
    .unwrap();
    assert_eq!(billing.sums.len(), 1);
    let s = &billing.sums[0];
    assert_eq!((s.price.to_string(), s.discount.to_string(), s.total.to_string(), i64::from(s.consultations)), sums);
    // Secretaries may read it (the database lets them read orders); doctors may not.
    ClinicTx::run(&c.secretary.pool, async |tx| orders::billing(tx, c.partner.id, &from, &to).await).await.unwrap();
    let doctor = c.db.staff(AppRole::Doctor, c.clinic, "price-doctor").await;
    let e = ClinicTx::run(&doctor.pool, async |tx| orders::billing(tx, c.partner.id, &from, &to).await).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = ClinicTx::run(&c.admin.pool, async |tx| orders::billing(tx, c.partner.id, &to, &from).await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("to"));
}

/// The date, in the clinic's time zone (where billing periods are counted), on which consultation
/// `id` was booked.
async fn clinic_day(owner: &sqlx::PgPool, id: i32) -> String {
    sqlx::query_scalar("SELECT (created_at AT TIME ZONE 'Europe/Oslo')::date::text FROM consultations WHERE id = $1")
        .bind(id)
        .fetch_one(owner)
        .await
        .unwrap()
}
