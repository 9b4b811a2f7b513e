//! The data keys as the core uses them: encrypt a field bound to its table, column and row;
//! compute blind indexes; find every encrypted column for rotation.

use std::sync::Arc;

use digimed_crypto::{DataKeys, FieldAad, KeyStore};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};

/// Every encrypted column of the schema, as (table, column). Rotation walks this list.
pub const ENCRYPTED_COLUMNS: &[(&str, &str)] = &[
    ("partners", "webhook_secret_encrypted"),
    ("patient_persons", "national_id_encrypted"),
    ("patient_persons", "phone_encrypted"),
    ("patient_persons", "emergency_contact_phone_encrypted"),
    ("referrals", "payload_encrypted"),
    ("consultation_screenings", "note_encrypted"),
    ("consultation_results", "icpc2_encrypted"),
    ("consultation_results", "outcome_encrypted"),
    ("consultation_results", "patient_ssn_encrypted"),
    ("consultation_results", "patient_job_description_encrypted"),
    ("consultation_results", "notes_encrypted"),
    ("consultation_results", "policy_number_encrypted"),
    ("consultation_results", "amend_reason_encrypted"),
    ("webhook_subscriptions", "secret_encrypted"),
    ("drafts", "payload_encrypted"),
    ("patient_messages", "recipient_encrypted"),
    ("patient_messages", "body_encrypted"),
    ("inbound_faxes", "sender_phone_encrypted"),
    ("inbound_faxes", "pdf_encrypted"),
];

/// Blind-index kinds; each hashes differently, so equal values of different kinds do not match.
pub mod index_kind {
    pub const NATIONAL_ID: &str = "national_id";
    pub const PHONE: &str = "phone";
}

/// Shared handle on the loaded data keys.
#[derive(Clone)]
pub struct Vault {
    keys: Arc<DataKeys>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([redacted])")
    }
}

impl Vault {
    pub fn new(keys: DataKeys) -> Vault {
        Vault { keys: Arc::new(keys) }
    }

    /// Loads the keys from the configured store, with a message that says how to fix a miss.
    pub fn load(store: &KeyStore) -> Result<Vault> {
        let keys = store.load().map_err(|e| Error::new(ErrorCode::KeysUnavailable, e.to_string()))?;
        Ok(Vault::new(keys))
    }

    pub fn keys(&self) -> &DataKeys {
        &self.keys
    }

    pub fn encrypt(&self, table: &str, column: &str, row_id: i64, plaintext: &str) -> Vec<u8> {
        self.keys.encrypt(&FieldAad { table, column, row_id }, plaintext.as_bytes())
    }

    pub fn decrypt(&self, table: &str, column: &str, row_id: i64, ciphertext: &[u8]) -> Result<String> {
        let bytes = self.keys.decrypt(&FieldAad { table, column, row_id }, ciphertext)?;
        String::from_utf8(bytes).map_err(|_| Error::new(ErrorCode::KeysUnavailable, "Decrypted text is not UTF-8."))
    }

    /// Encrypts bytes that are not text (a fax's PDF), bound to the table, column and row.
    pub fn encrypt_bytes(&self, table: &str, column: &str, row_id: i64, plaintext: &[u8]) -> Vec<u8> {
        self.keys.encrypt(&FieldAad { table, column, row_id }, plaintext)
    }

    pub fn decrypt_bytes(&self, table: &str, column: &str, row_id: i64, ciphertext: &[u8]) -> Result<Vec<u8>> {
        Ok(self.keys.decrypt(&FieldAad { table, column, row_id }, ciphertext)?)
    }

    pub fn blind_index(&self, kind: &str, normalised: &str) -> Vec<u8> {
        self.keys.blind_index(kind, normalised).to_vec()
    }
}

/// Progress of a re-encryption pass.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RotationReport {
    pub new_key_id: u32,
    pub reencrypted: u64,
    pub already_current: u64,
}

/// Where a re-encryption pass has got to: the column of [`ENCRYPTED_COLUMNS`] and the last row
/// done. A pass is a series of [`reencrypt_batch`] calls, each in a transaction of its own, so
/// the clinic keeps working meanwhile.
#[derive(Debug, Default, Clone)]
pub struct RotationCursor {
    column: usize,
    after: i32,
}

/// Re-encrypts the next batch of encrypted fields that are not under the current key (the
/// owner's operation); returns false once every column is done.
pub async fn reencrypt_batch(
    tx: &mut ClinicTx,
    vault: &Vault,
    cursor: &mut RotationCursor,
    batch: i64,
    report: &mut RotationReport,
) -> Result<bool> {
    tx.require(Capability::RotateKeys)?;
    report.new_key_id = vault.keys().current_key_id();
    let Some((table, column)) = ENCRYPTED_COLUMNS.get(cursor.column) else { return Ok(false) };
    sqlx::query_scalar!(r#"SELECT set_config('digimed.key_rotation', 'on', true) AS "set!""#).fetch_one(tx.conn()).await?;
    // Table and column names come from the constant list above, never from input.
    let rows: Vec<(i32, Vec<u8>)> = sqlx::query_as(&format!(
        "SELECT id, {column} FROM {table} WHERE id > $1 AND {column} IS NOT NULL ORDER BY id LIMIT $2 FOR UPDATE"
    ))
    .bind(cursor.after)
    .bind(batch)
    .fetch_all(tx.conn())
    .await?;
    if rows.is_empty() {
        *cursor = RotationCursor { column: cursor.column + 1, after: 0 };
        return Ok(cursor.column < ENCRYPTED_COLUMNS.len());
    }
    for (id, ct) in &rows {
        cursor.after = *id;
        if !vault.keys().needs_rotation(ct) {
            report.already_current += 1;
            continue;
        }
        let aad = FieldAad { table, column, row_id: i64::from(*id) };
        let plain = vault.keys().decrypt(&aad, ct)?;
        let fresh = vault.keys().encrypt(&aad, &plain);
        sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE id = $2")).bind(fresh).bind(id).execute(tx.conn()).await?;
        report.reencrypted += 1;
    }
    Ok(true)
}
