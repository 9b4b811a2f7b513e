//! Encryption at rest: after the demo is seeded, the database owner finds no plaintext phone
//! or national id anywhere; a ciphertext moved to another row does not decrypt; rotating the
//! contact keys leaves every field readable, the contact fields under the new key and the clinical
//! fields untouched.

use digimed_core::keys::{Vault, ENCRYPTED_COLUMNS};
use digimed_crypto::{DataKeys, KeyDomain};
use digimed_tests::TestDb;

/// Every row of every table in the public schema, as text, the way the owner would see it.
async fn whole_database_as_text(db: &TestDb) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let mut all = String::new();
    for t in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t")).fetch_all(&db.owner).await.unwrap();
        all.push_str(&rows.join("\n"));
    }
    all
}

async fn decrypted(db: &TestDb, vault: &Vault, table: &str, column: &str) -> Vec<(i32, String)> {
    let rows: Vec<(i32, Vec<u8>)> =
        sqlx::query_as(&format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"))
            .fetch_all(&db.owner)
            .await
            .unwrap();
    // A fax's PDF is bytes, not text: compared as read.
    rows.into_iter()
        .map(|(id, ct)| {
            let plain = vault.decrypt_bytes(table, column, id as i64, &ct).expect("decrypts under its row");
            (id, String::from_utf8_lossy(&plain).into_owned())
        })
        .collect()
}

#[tokio::test]
async fn owner_finds_no_plaintext_phone_or_national_id() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let phones = decrypted(&db, &db.vault, "patient_persons", "phone_encrypted").await;
    let ids = decrypted(&db, &db.vault, "patient_persons", "national_id_encrypted").await;
    let payloads = decrypted(&db, &db.vault, "referrals", "payload_encrypted").await;
    assert_eq!(phones.len(), 17, "11 referred (8 booked, 3 awaiting screening), 3 walk-in demo patients and 3 leads");
    assert_eq!(ids.len(), 16, "all but the lead the call tracking knew nothing of");
    assert!(payloads.iter().all(|(_, p)| p.contains("JournalGuid")));
    let everything = whole_database_as_text(&db).await;
    for (_, phone) in &phones {
        let digits = phone.trim_start_matches('+');
        assert!(!everything.contains(digits), "a phone number is stored in plaintext");
        assert!(!everything.contains(&digits[2..]), "a national phone number is stored in plaintext");
    }
    for (_, nid) in &ids {
        assert_eq!(nid.len(), 11);
        assert!(!everything.contains(nid.as_str()), "a national id number is stored in plaintext");
    }
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_does_not_decrypt() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    sqlx::query(
        "UPDATE patient_persons SET phone_encrypted = (SELECT phone_encrypted FROM patient_persons WHERE id = 1) WHERE id = 2",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    let ct: Vec<u8> =
        sqlx::query_scalar("SELECT phone_encrypted FROM patient_persons WHERE id = 2").fetch_one(&db.owner).await.unwrap();
    assert!(db.vault.decrypt("patient_persons", "phone_encrypted", 2, &ct).is_err());
    assert!(db.vault.decrypt("patient_persons", "phone_encrypted", 1, &ct).is_ok());
    // Nor into another column of the same row.
    assert!(db.vault.decrypt("patient_persons", "national_id_encrypted", 1, &ct).is_err());
    // And another installation's keys read nothing.
    let stranger = Vault::new(DataKeys::generate());
    assert!(stranger.decrypt("patient_persons", "phone_encrypted", 1, &ct).is_err());
}

async fn ciphertexts(db: &TestDb, table: &str, column: &str) -> Vec<Vec<u8>> {
    sqlx::query_scalar(&format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"))
        .fetch_all(&db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn rotation_reencrypts_every_contact_field_and_keeps_it_readable() {
    let db = TestDb::new().await;
    db.seed_demo().await;
    let mut before = Vec::new();
    for (table, column, _) in ENCRYPTED_COLUMNS {
        before.push((decrypted(&db, &db.vault, table, column).await, ciphertexts(&db, table, column).await));
    }
    assert!(
        ENCRYPTED_COLUMNS.iter().zip(&before).any(|((_, _, d), (rows, _))| *d == KeyDomain::Clinical && !rows.is_empty()),
        "the demo has results to leave alone"
    );
    let mut keys = DataKeys::from_json(db.vault.keys().to_json().expose()).unwrap();
    let new_id = keys.rotate();
    let clinical = DataKeys::from_json(db.vault.keys_of(KeyDomain::Clinical).unwrap().to_json().expose()).unwrap();
    let rotated = Vault::with_clinical(keys, Some(clinical));
    // The owner rotates with the contact keys alone, as `digimed keys rotate` does.
    let report = digimed_tests::rotate_all(&db.owner, &rotated.contact_only(), 3).await.unwrap();
    let contact_total: usize = ENCRYPTED_COLUMNS
        .iter()
        .zip(&before)
        .filter(|((_, _, d), _)| *d == KeyDomain::Contact)
        .map(|(_, (rows, _))| rows.len())
        .sum();
    assert_eq!(report.reencrypted as usize, contact_total);
    for ((table, column, domain), (old, old_cts)) in ENCRYPTED_COLUMNS.iter().zip(before) {
        let now = decrypted(&db, &rotated, table, column).await;
        assert_eq!(now, old, "{table}.{column} reads the same after rotation");
        let cts = ciphertexts(&db, table, column).await;
        match domain {
            KeyDomain::Contact => {
                for ct in cts {
                    assert_eq!(DataKeys::header_of(&ct).unwrap(), (KeyDomain::Contact, new_id), "{table}.{column}");
                }
            }
            KeyDomain::Clinical => assert_eq!(cts, old_cts, "{table}.{column} is not the contact rotation's to touch"),
        }
    }
    // A second pass finds nothing left to do.
    let again = digimed_tests::rotate_all(&db.owner, &rotated, 100).await.unwrap();
    assert_eq!(again.reencrypted, 0);
    assert_eq!(again.already_current as usize, contact_total);
}
