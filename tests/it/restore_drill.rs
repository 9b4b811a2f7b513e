//! The restore drill IT follows (`docs/operations.md`, "Back up and restore"): a clinic database
//! with data is dumped with `pg_dump` (custom format) and its key files are escrowed (copied);
//! the dump is restored into a new database with `pg_restore`; `digimed audit verify`'s core
//! function finds the audit chain intact; the escrowed copies alone decrypt every encrypted field
//! and still find patients by their blind indexes; staff sign in to the restored database as
//! before. A dump whose audit log was tampered with (one row changed) is restored too, and the
//! check finds that row.

use std::path::{Path, PathBuf};
use std::process::Command;

use digimed_core::keys::{index_kind, Vault, ENCRYPTED_COLUMNS};
use digimed_core::session::AppRole;
use digimed_core::ClinicTx;
use digimed_crypto::{DataKeys, FieldAad, KeyDomain, KeyStore};
use digimed_tests::TestDb;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};

/// The key files IT escrows beside every dump, as (the file's name in the escrow folder, the
/// keys it holds in the running clinic). Each is written, copied to escrow and read back from the
/// copy alone, and every encrypted field must decrypt with one of the copies: a second key file
/// is one more line here.
fn escrowed_key_files(vault: &Vault) -> Vec<(&'static str, &DataKeys)> {
    vec![("data-keys.json", vault.keys()), ("clinical-keys.json", vault.keys_of(KeyDomain::Clinical).expect("the clinical keys"))]
}

/// A PostgreSQL client program of the server's major version (Debian installs it beside the
/// server), or the one on PATH.
fn pg_tool(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin").join(name)).filter(|p| p.exists()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(out.status.success(), "{} {} failed: {}", program.display(), args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new, empty database on the test server, dropped with the guard.
struct Scratch {
    name: String,
}

impl Scratch {
    async fn create(purpose: &str) -> Scratch {
        let name = format!("r_{purpose}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&digimed_tests::options_for_db("postgres")).await.unwrap();
        admin.execute(format!("CREATE DATABASE {name} TEMPLATE template0").as_str()).await.unwrap();
        Scratch { name }
    }

    fn url(&self) -> String {
        digimed_tests::database_url(&self.name)
    }

    async fn owner(&self) -> PgPool {
        PgPoolOptions::new().max_connections(2).connect_with(digimed_tests::options_for_db(&self.name)).await.unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect_with(&digimed_tests::options_for_db("postgres")).await {
                    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                }
            });
        })
        .join();
    }
}

/// Every encrypted field of the database (by the core's list of encrypted columns), as (table,
/// column, row id, plaintext), decrypted by `read`; the first field that does not decrypt is
/// returned as an error naming it.
async fn decrypt_everything(
    pool: &PgPool,
    read: impl Fn(&str, &str, i64, &[u8]) -> Option<Vec<u8>>,
) -> Result<Vec<(String, String, i32, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for entry in ENCRYPTED_COLUMNS {
        let (table, column) = (entry.0, entry.1);
        let rows: Vec<(i32, Vec<u8>)> =
            sqlx::query_as(&format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id"))
                .fetch_all(pool)
                .await
                .unwrap();
        for (id, ct) in rows {
            let plain = read(table, column, i64::from(id), &ct)
                .ok_or_else(|| format!("{table}.{column} of row {id} does not decrypt"))?;
            out.push((table.to_string(), column.to_string(), id, plain));
        }
    }
    Ok(out)
}

/// Decrypts a field with the first of `keys` that opens it.
fn with_any_of(keys: &[DataKeys]) -> impl Fn(&str, &str, i64, &[u8]) -> Option<Vec<u8>> + '_ {
    move |table, column, row_id, ct| keys.iter().find_map(|k| k.decrypt(&FieldAad::new(table, column, row_id), ct).ok())
}

async fn verify(pool: &PgPool) -> digimed_core::audit::ChainReport {
    ClinicTx::run(pool, async |tx| digimed_core::audit::verify_chain(tx).await).await.expect("the audit log can be verified")
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn a_dump_and_the_escrowed_keys_restore_the_clinic_and_a_tampered_dump_is_found() {
    // The clinic: the demo's patients (encrypted phones and national ids), referrals, a completed
    // consultation with its result, and the audit rows all of that wrote.
    let db = TestDb::new().await;
    let demo = db.seed_demo().await;
    let work = tempdir();
    let live = work.join("etc-digimed");
    let escrow = work.join("escrow");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(&escrow).unwrap();

    // What the clinic has running: the key files, as `digimed keys init` writes them.
    let files = escrowed_key_files(&db.vault);
    for (name, keys) in &files {
        KeyStore::File(live.join(name)).save(keys).expect("write the key file");
    }
    // What the clinic reads, through its vault.
    let original = decrypt_everything(&db.owner, |t, c, id, ct| db.vault.decrypt_bytes(t, c, id, ct).ok())
        .await
        .expect("the live database decrypts");
    let audit_rows = count(&db.owner, "SELECT count(*) FROM audit_log").await;
    for (sql, what) in [
        ("SELECT count(*) FROM patient_persons WHERE phone_encrypted IS NOT NULL AND national_id_encrypted IS NOT NULL", "patients with phone and national id"),
        ("SELECT count(*) FROM referrals", "referrals"),
        ("SELECT count(*) FROM consultations c JOIN consultation_results r ON r.consultation_id = c.id WHERE c.state = 'completed'", "completed consultations with a result"),
    ] {
        assert!(count(&db.owner, sql).await > 0, "the clinic has {what}");
    }
    assert!(audit_rows > 50, "the clinic has audit rows ({audit_rows})");
    assert!(verify(&db.owner).await.intact());

    // The backup: the dump, and a copy of each key file.
    let dump = work.join("clinic.dump");
    run(
        &pg_tool("pg_dump"),
        &["--format=custom", "--file", dump.to_str().unwrap(), "--dbname", &digimed_tests::database_url(&db.name)],
    );
    for (name, _) in &files {
        std::fs::copy(live.join(name), escrow.join(name)).unwrap();
    }
    // The running clinic's key files are gone (the server is lost); only the escrow is left.
    std::fs::remove_dir_all(&live).unwrap();

    // The restore: a new database, `pg_restore`, then the checks.
    let restored = Scratch::create("restore").await;
    run(
        &pg_tool("pg_restore"),
        &["--exit-on-error", "--single-transaction", "--dbname", &restored.url(), dump.to_str().unwrap()],
    );
    let pool = restored.owner().await;
    assert_eq!(count(&pool, "SELECT count(*) FROM audit_log").await, audit_rows);
    let report = verify(&pool).await;
    assert!(report.intact(), "the restored audit chain: {report:?}");
    assert_eq!(i64::from(report.rows), audit_rows);

    // The escrowed copies alone decrypt every encrypted field, to what the clinic had.
    let escrowed: Vec<DataKeys> =
        files.iter().map(|(name, _)| KeyStore::File(escrow.join(name)).load().expect("an escrowed key file loads")).collect();
    let after =
        decrypt_everything(&pool, with_any_of(&escrowed)).await.expect("the restored database decrypts with the escrowed keys");
    assert_eq!(after, original, "every encrypted field decrypts to what the clinic had");
    for column in ["phone_encrypted", "national_id_encrypted"] {
        assert!(after.iter().any(|(t, c, _, _)| t == "patient_persons" && c == column), "patients' {column} were checked");
    }
    assert!(after.iter().any(|(t, _, _, _)| t == "consultation_results"), "results were checked");
    // ... and patients are found by national id as before: the blind index key is escrowed too.
    let patients: Vec<(i32, Vec<u8>)> =
        sqlx::query_as("SELECT id, national_id_index FROM patient_persons WHERE national_id_encrypted IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (id, index) in &patients {
        let (_, _, _, nid) = after
            .iter()
            .find(|(t, c, row, _)| t == "patient_persons" && c == "national_id_encrypted" && row == id)
            .expect("the national id was decrypted");
        let nid = String::from_utf8(nid.clone()).unwrap();
        assert!(
            escrowed.iter().any(|k| k.blind_index(index_kind::NATIONAL_ID, &nid).as_slice() == index.as_slice()),
            "patient {id} is found by national id with the escrowed keys"
        );
    }
    // Keys that were not escrowed read nothing: the check above can fail.
    let wrong = [DataKeys::generate()];
    let refused = decrypt_everything(&pool, with_any_of(&wrong)).await.expect_err("other keys decrypt nothing");
    assert!(refused.contains("does not decrypt"), "{refused}");

    // Staff sign in to the restored database with their own logins, and an admin's check agrees.
    let admin = demo.staff.iter().find(|s| s.role == AppRole::Admin).expect("the demo has an admin");
    let as_admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(digimed_tests::options_for_db(&restored.name).username(&admin.login).password(admin.password.expose()))
        .await
        .expect("the admin signs in to the restored database");
    assert!(verify(&as_admin).await.intact());
    as_admin.close().await;
    pool.close().await;

    // A tampered backup: one audit row of the dump changed (its actor), then restored.
    let row_id: i64 =
        sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id OFFSET 20 LIMIT 1").fetch_one(&db.owner).await.unwrap();
    let script = run(&pg_tool("pg_restore"), &["--file", "-", dump.to_str().unwrap()]);
    let tampered_script = work.join("tampered.sql");
    std::fs::write(&tampered_script, change_audit_actor(&script, row_id, "someone-else")).unwrap();
    let tampered = Scratch::create("tampered").await;
    run(
        &pg_tool("psql"),
        &[
            "--quiet",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "--dbname",
            &tampered.url(),
            "--file",
            tampered_script.to_str().unwrap(),
        ],
    );
    let pool = tampered.owner().await;
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM audit_log WHERE id = $1").bind(row_id).fetch_one(&pool).await.unwrap();
    assert_eq!(actor, "someone-else", "the tampered row was restored as changed");
    let report = verify(&pool).await;
    assert_eq!(report.first_broken_id, Some(row_id.to_string()), "{report:?}");
    assert!(report.problem.as_deref().unwrap_or_default().contains("changed"), "{report:?}");
    pool.close().await;
    let _ = std::fs::remove_dir_all(&work);
}

/// `script` (a plain SQL dump) with the actor of audit row `id` replaced by `actor`, in the
/// `COPY public.audit_log` block's data.
fn change_audit_actor(script: &str, id: i64, actor: &str) -> String {
    let mut out = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut changed = false;
    for line in script.lines() {
        if let Some(rest) = line.strip_prefix("COPY public.audit_log (") {
            let names = rest.split(')').next().unwrap();
            columns = Some(names.split(',').map(|c| c.trim().to_string()).collect());
            out.push(line.to_string());
            continue;
        }
        if line == "\\." {
            columns = None;
        }
        if let Some(cols) = &columns {
            let mut fields: Vec<&str> = line.split('\t').collect();
            let at = |name: &str| cols.iter().position(|c| c == name).expect("audit_log has the column");
            if fields[at("id")] == id.to_string() {
                fields[at("actor")] = actor;
                changed = true;
                out.push(fields.join("\t"));
                continue;
            }
        }
        out.push(line.to_string());
    }
    assert!(changed, "audit row {id} is in the dump");
    out.join("\n") + "\n"
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("digimed-restore-drill-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
