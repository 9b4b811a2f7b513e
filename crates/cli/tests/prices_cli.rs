//! `digimed partner price`, `digimed order discount` and `digimed order show` as an
//! administrator: the price and the discount stored as typed, the order shown as the database
//! holds it, and bad input or the wrong role refused with one line and nothing written.

use digimed_tests::{Role, TestDb};

mod common;

use common::{digimed_with_input as digimed, one_error_line, staff_url};

#[tokio::test]
async fn prices_and_discounts_from_the_command_line() {
    let db = TestDb::new().await;
    let creds = db.seed_demo().await;
    let oslo: i32 =
        sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Digimed Oslo'").fetch_one(&db.owner).await.unwrap();
    let admin = db.staff(Role::Admin, oslo, "cli-price-admin").await;
    let secretary = db.staff(Role::Secretary, oslo, "cli-price-secretary").await;
    let as_admin = staff_url(&db, &admin);
    let as_secretary = staff_url(&db, &secretary);
    let admin_env = [("DATABASE_URL", as_admin.as_str())];
    let partner = creds.partner_name.as_str();
    let stored_price = || async {
        sqlx::query_as::<_, (String, String, String)>(
            "SELECT pp.unit_price::text, pp.currency, pp.set_by FROM partner_prices pp JOIN partners p ON p.id = pp.partner_id
              WHERE p.name = $1 AND pp.category = 'insurance'",
        )
        .bind(partner)
        .fetch_one(&db.owner)
        .await
        .unwrap()
    };

    let out = digimed(
        &["partner", "price", partner, "--category", "insurance", "--amount", "1 250,50", "--currency", "nok"],
        &admin_env,
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stored_price().await, ("1250.50".to_string(), "NOK".to_string(), admin.login.clone()));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1250.50 NOK"));
    let before = stored_price().await;
    for (args, env, says) in [
        (vec!["--category", "insurance", "--amount", "-5"], as_admin.as_str(), "negative"),
        (vec!["--category", "surgery", "--amount", "5"], as_admin.as_str(), "insurance or direct"),
        (vec!["--category", "insurance", "--amount", "5", "--currency", "kroner"], as_admin.as_str(), "three letters"),
        (vec!["--category", "insurance", "--amount", "5"], as_secretary.as_str(), "administrators"),
    ] {
        let mut full = vec!["partner", "price", partner];
        full.extend(args);
        let out = digimed(&full, &[("DATABASE_URL", env)], "");
        assert_eq!(out.status.code(), Some(2), "{full:?}");
        assert!(one_error_line(&out).contains(says), "{full:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = digimed(&["partner", "price", "nobody", "--category", "insurance", "--amount", "5"], &admin_env, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("no partner"));
    assert_eq!(stored_price().await, before, "no refusal changed the price");

    // A demo consultation's order: a discount, refusals, and the order shown.
    let consultation: i32 =
        sqlx::query_scalar("SELECT consultation_id FROM orders ORDER BY id LIMIT 1").fetch_one(&db.owner).await.unwrap();
    let id = consultation.to_string();
    let stored_line = || async {
        sqlx::query_as::<_, (String, Option<String>, String)>(
            "SELECT li.discount::text, li.discount_reason, o.total::text FROM orders o JOIN line_items li ON li.order_id = o.id
              WHERE o.consultation_id = $1",
        )
        .bind(consultation)
        .fetch_one(&db.owner)
        .await
        .unwrap()
    };
    let out = digimed(&["order", "discount", &id, "--amount", "100.00", "--reason", "Waited too long"], &admin_env, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = stored_line().await;
    assert_eq!((line.0.as_str(), line.1.as_deref()), ("100.00", Some("Waited too long")));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("total {} NOK", line.2)),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (args, env, says) in [
        (vec!["--amount", "-1", "--reason", "x"], as_admin.as_str(), "negative"),
        (vec!["--amount", "999999", "--reason", "x"], as_admin.as_str(), "larger than the price"),
        (vec!["--amount", "1", "--reason", " "], as_admin.as_str(), "why"),
        (vec!["--amount", "1", "--reason", "x"], as_secretary.as_str(), "administrators"),
    ] {
        let mut full = vec!["order", "discount", &id];
        full.extend(args);
        let out = digimed(&full, &[("DATABASE_URL", env)], "");
        assert_eq!(out.status.code(), Some(2), "{full:?}");
        assert!(one_error_line(&out).contains(says), "{full:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(stored_line().await, line, "no refusal changed the line");

    let out = digimed(&["order", "show", &id, "--json"], &[("DATABASE_URL", as_secretary.as_str())], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["total"], serde_json::json!(line.2), "amounts as exact decimal strings");
    assert_eq!(shown["line_items"][0]["discount"], "100.00");
    assert_eq!(shown["line_items"][0]["discount_reason"], "Waited too long");
    assert_eq!(shown["line_items"][0]["discount_set_by"], "cli-price-admin");
    let out = digimed(&["order", "show", "999999"], &admin_env, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_error_line(&out).contains("no order"));
}
