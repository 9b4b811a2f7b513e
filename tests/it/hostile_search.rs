//! The ICPC-2 type-ahead with generated queries on the imported list: any text, however
//! hostile (SQL, LIKE wildcards, regular-expression operators, control characters, any script),
//! is a search and never an error; every code is found by its own code and by its own title
//! typed in any case. A modest number of cases, each a real query on PostgreSQL.

use digimed_core::ClinicTx;
use digimed_tests::TestDb;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// `n` values drawn from `strategy` (deterministic per test run's seed).
fn draw<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::default();
    (0..n).map(|_| strategy.new_tree(&mut runner).expect("a value").current()).collect()
}

#[tokio::test]
async fn any_query_is_a_search_and_never_an_error() {
    let db = TestDb::new().await;
    db.import_icpc2().await;
    let hostile = prop_oneof![
        any::<String>(),
        "[%_\\\\.*+?()\\[\\]{}|^$'\";: -]{0,12}",
        "(r|R)[0-9]{0,3}[%_*.]{0,2}",
        "[a-zæøå]{1,6}[ .\\-/]{1,2}[a-zæøå]{1,6}",
        "'; (DROP|DELETE FROM|TRUNCATE) icpc2_codes; --",
        ".{200,400}",
    ];
    let queries = draw(hostile, 160);
    for q in &queries {
        for limit in [1, 10, 1000] {
            let found = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::search(tx, q, limit).await)
                .await
                .unwrap_or_else(|e| panic!("{q:?}: {e:?}"));
            assert!(found.len() as i64 <= limit.clamp(1, 100), "{q:?}");
            let mut codes: Vec<&str> = found.iter().map(|c| c.code.as_str()).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), found.len(), "{q:?}: no code twice");
        }
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM icpc2_codes WHERE retired_at IS NULL").fetch_one(&db.owner).await.unwrap();
    assert_eq!(count, 708, "the list is intact after every query");
}

#[tokio::test]
async fn every_code_is_found_by_its_code_and_its_title() {
    let db = TestDb::new().await;
    db.import_icpc2().await;
    let all: Vec<(String, String)> =
        sqlx::query_as("SELECT code, title FROM icpc2_codes ORDER BY code").fetch_all(&db.owner).await.unwrap();
    let picks = draw((0..all.len(), any::<bool>(), "[ \t]{0,2}"), 96);
    for (i, upper, pad) in picks {
        let (code, title) = &all[i];
        let typed_code = format!("{pad}{}{pad}", if upper { code.clone() } else { code.to_lowercase() });
        let found = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::search(tx, &typed_code, 10).await).await.unwrap();
        assert_eq!(found.first().map(|c| c.code.as_str()), Some(code.as_str()), "{typed_code:?}");
        let typed_title = if upper { title.to_uppercase() } else { title.to_lowercase() };
        let found = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::search(tx, &typed_title, 100).await).await.unwrap();
        assert!(found.iter().any(|c| &c.code == code), "{code} by its title {typed_title:?}");
    }
}
