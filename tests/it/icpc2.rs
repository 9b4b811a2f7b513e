//! The ICPC-2 list: imported from the published file (never copied into the repository), idempotently, and
//! searched by code or title words regardless of case and Norwegian letters.

use digimed_core::icpc2::lookup;
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_core::ErrorCode;
use digimed_tests::TestDb;

fn published_list() -> Vec<u8> {
    std::fs::read(digimed_tests::icpc2_file()).expect("the ICPC-2 list (scripts/deps.sh installs it)")
}

#[tokio::test]
async fn import_is_idempotent_and_records_the_file() {
    let db = TestDb::new().await;
    let file = published_list();
    let first = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::import(tx, &file).await).await.unwrap();
    assert_eq!(first.codes, 708);
    assert!(!first.unchanged);
    // The import records which file it was: the SHA-256 of the bytes read.
    assert_eq!(first.sha256, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file)));
    let again = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::import(tx, &file).await).await.unwrap();
    assert!(again.unchanged);
    let (imports, codes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM icpc2_imports), (SELECT count(*) FROM icpc2_codes WHERE retired_at IS NULL)",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!((imports, codes), (1, 708));
    // Chapter and component come from the code.
    let r74 = ClinicTx::run(&db.owner, async |tx| lookup(tx, "r74").await).await.unwrap();
    assert_eq!((r74.chapter.as_str(), r74.component.as_str()), ("R", "diagnosis"));
    let a01 = ClinicTx::run(&db.owner, async |tx| lookup(tx, "A01").await).await.unwrap();
    assert_eq!(a01.component, "symptom");

    // A newer list without a code retires it; results can no longer use it.
    let mut list: Vec<serde_json::Value> = serde_json::from_slice(&file).unwrap();
    list.retain(|e| e["code"] != "A01");
    let r = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::import(tx, &serde_json::to_vec(&list).unwrap()).await)
        .await
        .unwrap();
    assert_eq!(r.retired, 1);
    let e = ClinicTx::run(&db.owner, async |tx| lookup(tx, "A01").await).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("icpc2"));
}

#[tokio::test]
async fn a_bad_file_is_refused_whole() {
    let db = TestDb::new().await;
    for (bad, field) in [
        (&b"not json"[..], "file"),
        (br#"[]"#, "file"),
        (br#"[{"code": "A01", "text": "Ok"}, {"code": "a1", "text": "Bad code"}]"#, "code"),
        (br#"[{"code": "A01", "text": "Ok"}, {"code": "A01", "text": "Twice"}]"#, "code"),
        (br#"[{"code": "A01", "text": "  "}]"#, "text"),
    ] {
        let e = ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::import(tx, bad).await).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(e.field.as_deref(), Some(field), "{}", String::from_utf8_lossy(bad));
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM icpc2_codes").fetch_one(&db.owner).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn search_by_code_and_words_tolerates_case_and_norwegian_letters() {
    let db = TestDb::new().await;
    ClinicTx::run(&db.owner, async |tx| digimed_core::icpc2::import(tx, &published_list()).await).await.unwrap();
    let clinic = db.clinic("Testklinikken").await;
    let doctor = db.staff(AppRole::Doctor, clinic, "icpc-doctor").await;
    let first = |q: &'static str| {
        let pool = doctor.pool.clone();
        async move { ClinicTx::run(&pool, async |tx| digimed_core::icpc2::search(tx, q, 10).await).await.unwrap() }
    };
    assert_eq!(first("R74").await[0].code, "R74");
    assert_eq!(first("r74").await[0].code, "R74");
    let hoste = first("hoste").await;
    assert_eq!(hoste[0].code, "R05", "{hoste:?}");
    let ovre = first("ovre luftvei").await;
    assert_eq!(ovre[0].code, "R74", "{ovre:?}");
    assert_eq!(ovre[0].title, "Akutt øvre luftveisinfeksjon");
    assert_eq!(first("ØVRE LUFTVEI").await[0].code, "R74");
    // A code prefix lists the chapter's codes in order.
    let r7 = first("R7").await;
    assert!(r7.iter().all(|c| c.code.starts_with("R7")), "{r7:?}");
    // Nothing odd happens with punctuation or SQL-looking text.
    assert!(first("'; DROP TABLE icpc2_codes; --").await.is_empty());
    assert!(first("   ").await.is_empty());
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM icpc2_codes").fetch_one(&db.owner).await.unwrap();
    assert_eq!(still, 708);
}
