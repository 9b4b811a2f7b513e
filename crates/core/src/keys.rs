//! The data keys as the core uses them: encrypt a field bound to its table, column and row with
//! the keys of the column's domain; compute blind indexes; find every encrypted column for
//! rotation.

use std::sync::Arc;

use digimed_crypto::{DataKeys, FieldAad, KeyDomain, KeyStore, KeyStoreError};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};

/// Every encrypted column of the schema, as (table, column, key domain): the one place that says
/// which keys encrypt which column. Rotation walks this list; the vault picks the keys by it.
///
/// Clinical: every column of `consultation_results` and the drafts of a result. Contact: the
/// rest, including the screening note (a secretary's call note on reaching the patient and
/// booking; clinical findings belong in the result) and the referral payload and faxes (the
/// service receives them, and secretaries work them). See `docs/operations.md`, "Key domains".
pub const ENCRYPTED_COLUMNS: &[(&str, &str, KeyDomain)] = &[
    ("partners", "webhook_secret_encrypted", KeyDomain::Contact),
    ("patient_persons", "national_id_encrypted", KeyDomain::Contact),
    ("patient_persons", "phone_encrypted", KeyDomain::Contact),
    ("patient_persons", "emergency_contact_phone_encrypted", KeyDomain::Contact),
    ("referrals", "payload_encrypted", KeyDomain::Contact),
    ("consultation_screenings", "note_encrypted", KeyDomain::Contact),
    ("consultation_results", "icpc2_encrypted", KeyDomain::Clinical),
    ("consultation_results", "outcome_encrypted", KeyDomain::Clinical),
    ("consultation_results", "patient_ssn_encrypted", KeyDomain::Clinical),
    ("consultation_results", "patient_job_description_encrypted", KeyDomain::Clinical),
    ("consultation_results", "notes_encrypted", KeyDomain::Clinical),
    ("consultation_results", "policy_number_encrypted", KeyDomain::Clinical),
    ("consultation_results", "amend_reason_encrypted", KeyDomain::Clinical),
    ("webhook_subscriptions", "secret_encrypted", KeyDomain::Contact),
    ("drafts", "payload_encrypted", KeyDomain::Contact),
    ("drafts", "clinical_payload_encrypted", KeyDomain::Clinical),
    ("patient_messages", "recipient_encrypted", KeyDomain::Contact),
    ("patient_messages", "body_encrypted", KeyDomain::Contact),
    ("inbound_faxes", "sender_phone_encrypted", KeyDomain::Contact),
    ("inbound_faxes", "pdf_encrypted", KeyDomain::Contact),
];

/// The key domain of an encrypted column, as [`ENCRYPTED_COLUMNS`] says. A column missing from
/// the list is a programming error (a test checks the list against the schema); it is treated as
/// clinical, so that it never falls to the keys more people hold.
pub fn domain_of(table: &str, column: &str) -> KeyDomain {
    ENCRYPTED_COLUMNS.iter().find(|(t, c, _)| *t == table && *c == column).map_or(KeyDomain::Clinical, |(_, _, domain)| *domain)
}

/// The encrypted columns of one domain, as (table, column).
pub fn columns_of(domain: KeyDomain) -> impl Iterator<Item = (&'static str, &'static str)> {
    ENCRYPTED_COLUMNS.iter().filter(move |(_, _, d)| *d == domain).map(|(t, c, _)| (*t, *c))
}

/// Blind-index kinds; each hashes differently, so equal values of different kinds do not match.
pub mod index_kind {
    pub const NATIONAL_ID: &str = "national_id";
    pub const PHONE: &str = "phone";
}

/// The error of reading or writing a clinical field without the clinical keys.
pub fn clinical_keys_unavailable() -> Error {
    Error::new(
        ErrorCode::ClinicalKeysUnavailable,
        "Consultation results can only be read or written on a doctor's or admin's workstation that holds the clinical keys; this computer does not hold them.",
    )
}

/// Shared handle on the loaded keys: always the contact keys, and the clinical keys where this
/// computer holds them (doctors' and admins' workstations; never the service).
#[derive(Clone)]
pub struct Vault {
    contact: Arc<DataKeys>,
    clinical: Option<Arc<DataKeys>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([redacted])")
    }
}

fn keys_unavailable(e: KeyStoreError) -> Error {
    Error::new(ErrorCode::KeysUnavailable, e.to_string())
}

impl Vault {
    /// A vault of contact keys only (the service's, or a secretary's).
    pub fn new(contact: DataKeys) -> Vault {
        Vault::with_clinical(contact, None)
    }

    /// A vault of contact keys and, when given, clinical keys (a doctor's or admin's workstation).
    ///
    /// # Panics
    /// When a key set is of the other domain than its place says (a programming error).
    pub fn with_clinical(contact: DataKeys, clinical: Option<DataKeys>) -> Vault {
        assert_eq!(contact.domain(), KeyDomain::Contact, "the contact keys are of the contact domain");
        if let Some(clinical) = &clinical {
            assert_eq!(clinical.domain(), KeyDomain::Clinical, "the clinical keys are of the clinical domain");
        }
        Vault { contact: Arc::new(contact), clinical: clinical.map(Arc::new) }
    }

    /// Loads the contact keys from `store`, with a message that says how to fix a miss. The
    /// vault holds no clinical keys: this is how the service loads its keys.
    pub fn load(store: &KeyStore) -> Result<Vault> {
        Ok(Vault::new(store.load_for(KeyDomain::Contact).map_err(keys_unavailable)?))
    }

    /// Loads the contact keys and, where this computer holds them, the clinical keys, as the
    /// configuration says: a clinical key file that is named must be there; a keyring without a
    /// `clinical-keys` entry means the clinical keys are not held here.
    pub fn load_configured(config: &Config) -> Result<Vault> {
        let contact = config.key_store.load_for(KeyDomain::Contact).map_err(keys_unavailable)?;
        let clinical = match &config.clinical_key_store {
            None => None,
            Some(store) => match store.load_for(KeyDomain::Clinical) {
                Ok(keys) => Some(keys),
                Err(KeyStoreError::Missing { .. }) if matches!(store, KeyStore::Keyring { .. }) => None,
                Err(e) => return Err(keys_unavailable(e)),
            },
        };
        Ok(Vault::with_clinical(contact, clinical))
    }

    /// The same contact keys without the clinical keys (what the service is given).
    pub fn contact_only(&self) -> Vault {
        Vault { contact: self.contact.clone(), clinical: None }
    }

    /// Whether this vault holds the keys of `domain`.
    pub fn holds(&self, domain: KeyDomain) -> bool {
        match domain {
            KeyDomain::Contact => true,
            KeyDomain::Clinical => self.clinical.is_some(),
        }
    }

    /// The contact keys.
    pub fn keys(&self) -> &DataKeys {
        &self.contact
    }

    /// The keys of `domain`, or `clinical_keys_unavailable`.
    pub fn keys_of(&self, domain: KeyDomain) -> Result<&DataKeys> {
        match domain {
            KeyDomain::Contact => Ok(&self.contact),
            KeyDomain::Clinical => self.clinical.as_deref().ok_or_else(clinical_keys_unavailable),
        }
    }

    /// Encrypts text for a field with the keys of the column's domain.
    pub fn encrypt(&self, table: &str, column: &str, row_id: i64, plaintext: &str) -> Result<Vec<u8>> {
        self.encrypt_bytes(table, column, row_id, plaintext.as_bytes())
    }

    pub fn decrypt(&self, table: &str, column: &str, row_id: i64, ciphertext: &[u8]) -> Result<String> {
        let bytes = self.decrypt_bytes(table, column, row_id, ciphertext)?;
        String::from_utf8(bytes).map_err(|_| Error::new(ErrorCode::KeysUnavailable, "Decrypted text is not UTF-8."))
    }

    /// Encrypts bytes that are not text (a fax's PDF), bound to the table, column and row.
    pub fn encrypt_bytes(&self, table: &str, column: &str, row_id: i64, plaintext: &[u8]) -> Result<Vec<u8>> {
        let keys = self.keys_of(domain_of(table, column))?;
        Ok(keys.encrypt(&FieldAad { table, column, row_id }, plaintext))
    }

    /// Decrypts a field with the keys of the column's domain. A clinical column is never read
    /// without the clinical keys, not even a result written under the contact keys before the
    /// domains existed (which is read with the contact keys until rotation moves it).
    pub fn decrypt_bytes(&self, table: &str, column: &str, row_id: i64, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let column_domain = domain_of(table, column);
        let clinical = self.keys_of(column_domain)?;
        let keys = match (column_domain, DataKeys::domain_of(ciphertext)) {
            (KeyDomain::Clinical, Ok(KeyDomain::Contact)) => &*self.contact,
            _ => clinical,
        };
        Ok(keys.decrypt(&FieldAad { table, column, row_id }, ciphertext)?)
    }

    pub fn blind_index(&self, kind: &str, normalised: &str) -> Vec<u8> {
        self.contact.blind_index(kind, normalised).to_vec()
    }
}

/// Progress of a re-encryption pass.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RotationReport {
    pub new_key_id: u32,
    pub reencrypted: u64,
    pub already_current: u64,
    /// Clinical fields written under the contact keys before the key domains existed, now under
    /// the clinical keys (clinical rotation only).
    pub moved_from_contact: u64,
}

/// Where a re-encryption pass has got to: the column (of the domain's columns in
/// [`ENCRYPTED_COLUMNS`]) and the last row done. A pass is a series of batches, each in a
/// transaction of its own, so the clinic keeps working meanwhile.
#[derive(Debug, Default, Clone)]
pub struct RotationCursor {
    column: usize,
    after: i32,
}

/// Whether the acting login may re-encrypt `domain`'s fields: the owner the contact ones, an admin
/// the clinical ones. Asked before a new key is made, so that a refused rotation leaves the key
/// store as it was.
pub fn check_rotation(tx: &ClinicTx, domain: KeyDomain) -> Result<()> {
    tx.require(match domain {
        KeyDomain::Contact => Capability::RotateKeys,
        KeyDomain::Clinical => Capability::RotateClinicalKeys,
    })
}

/// Re-encrypts the next batch of contact fields that are not under the current contact key (the
/// owner's operation); returns false once every contact column is done. Clinical columns are not
/// touched: their ciphertexts mean nothing to the contact keys.
pub async fn reencrypt_batch(
    tx: &mut ClinicTx,
    vault: &Vault,
    cursor: &mut RotationCursor,
    batch: i64,
    report: &mut RotationReport,
) -> Result<bool> {
    tx.require(Capability::RotateKeys)?;
    let keys = vault.keys();
    report.new_key_id = keys.current_key_id();
    let columns: Vec<_> = columns_of(KeyDomain::Contact).collect();
    let Some((table, column)) = columns.get(cursor.column).copied() else { return Ok(false) };
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
        return Ok(cursor.column < columns.len());
    }
    for (id, ct) in &rows {
        cursor.after = *id;
        if !keys.needs_rotation(ct) {
            report.already_current += 1;
            continue;
        }
        let aad = FieldAad { table, column, row_id: i64::from(*id) };
        let plain = keys.decrypt(&aad, ct)?;
        let fresh = keys.encrypt(&aad, &plain);
        sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE id = $2")).bind(fresh).bind(id).execute(tx.conn()).await?;
        report.reencrypted += 1;
    }
    Ok(true)
}

/// Re-encrypts the next batch of result fields that are not under the current clinical key, and
/// moves those still under the contact keys (written before the key domains existed) into the
/// clinical domain; returns false once every column of `consultation_results` is done. An
/// admin's operation, on a workstation holding both domains' keys (the database owner never holds
/// the clinical keys): the database hands the ciphertexts out through the audited
/// `consultation_result_ciphertexts` and lets admins replace only those columns, only under the
/// `digimed.key_rotation` rule, and only with clinical ciphertexts.
///
/// Drafts of results are not re-encrypted: each is its author's alone, rewritten under the
/// current key whenever they save it and discarded when the result is filed; the older keys stay
/// in the key store, so it still opens meanwhile.
pub async fn reencrypt_clinical_batch(
    tx: &mut ClinicTx,
    vault: &Vault,
    cursor: &mut RotationCursor,
    batch: i64,
    report: &mut RotationReport,
) -> Result<bool> {
    tx.require(Capability::RotateClinicalKeys)?;
    let clinical = vault.keys_of(KeyDomain::Clinical)?;
    report.new_key_id = clinical.current_key_id();
    let columns: Vec<_> = columns_of(KeyDomain::Clinical).filter(|(table, _)| *table == "consultation_results").collect();
    let Some((table, column)) = columns.get(cursor.column).copied() else { return Ok(false) };
    sqlx::query_scalar!(r#"SELECT set_config('digimed.key_rotation', 'on', true) AS "set!""#).fetch_one(tx.conn()).await?;
    let rows: Vec<(i32, Vec<u8>)> =
        sqlx::query_as("SELECT id, ciphertext FROM consultation_result_ciphertexts($1, $2, $3::int, current_user::text)")
            .bind(column)
            .bind(cursor.after)
            .bind(batch)
            .fetch_all(tx.conn())
            .await?;
    if rows.is_empty() {
        *cursor = RotationCursor { column: cursor.column + 1, after: 0 };
        return Ok(cursor.column < columns.len());
    }
    for (id, ct) in &rows {
        cursor.after = *id;
        let aad = FieldAad { table, column, row_id: i64::from(*id) };
        let plain = match DataKeys::domain_of(ct) {
            Ok(KeyDomain::Contact) => {
                report.moved_from_contact += 1;
                vault.keys().decrypt(&aad, ct)?
            }
            Ok(KeyDomain::Clinical) if clinical.needs_rotation(ct) => {
                report.reencrypted += 1;
                clinical.decrypt(&aad, ct)?
            }
            Ok(KeyDomain::Clinical) => {
                report.already_current += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let fresh = clinical.encrypt(&aad, &plain);
        // The column name comes from the constant list above, never from input.
        sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE id = $2")).bind(fresh).bind(id).execute(tx.conn()).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_column_is_clinical_and_the_service_data_is_contact() {
        for (table, column, domain) in ENCRYPTED_COLUMNS {
            let expected = if *table == "consultation_results" || *column == "clinical_payload_encrypted" {
                KeyDomain::Clinical
            } else {
                KeyDomain::Contact
            };
            assert_eq!(*domain, expected, "{table}.{column}");
            assert_eq!(domain_of(table, column), *domain);
        }
        assert_eq!(columns_of(KeyDomain::Clinical).count(), 8);
    }

    #[test]
    fn the_vault_picks_the_columns_domain() {
        let both = Vault::with_clinical(DataKeys::generate(), Some(DataKeys::generate_for(KeyDomain::Clinical)));
        let service = both.contact_only();
        assert!(both.holds(KeyDomain::Clinical) && !service.holds(KeyDomain::Clinical) && service.holds(KeyDomain::Contact));
        let result = both.encrypt("consultation_results", "notes_encrypted", 7, "Advised rest.").unwrap();
        assert_eq!(DataKeys::domain_of(&result), Ok(KeyDomain::Clinical));
        assert_eq!(both.decrypt("consultation_results", "notes_encrypted", 7, &result).unwrap(), "Advised rest.");
        let refused = service.decrypt("consultation_results", "notes_encrypted", 7, &result).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ClinicalKeysUnavailable);
        assert!(refused.message.contains("doctor's or admin's workstation"), "{}", refused.message);
        let refused = service.encrypt("consultation_results", "notes_encrypted", 7, "x").unwrap_err();
        assert_eq!(refused.code, ErrorCode::ClinicalKeysUnavailable);
        // A result written under the contact keys before the domains existed: read by the
        // workstation (until rotation moves it), never by the service's vault.
        let legacy = both.keys().encrypt(&FieldAad::new("consultation_results", "notes_encrypted", 7), b"old");
        assert_eq!(both.decrypt("consultation_results", "notes_encrypted", 7, &legacy).unwrap(), "old");
        assert_eq!(
            service.decrypt("consultation_results", "notes_encrypted", 7, &legacy).unwrap_err().code,
            ErrorCode::ClinicalKeysUnavailable
        );
        let phone = service.encrypt("patient_persons", "phone_encrypted", 7, "+4791234567").unwrap();
        assert_eq!(DataKeys::domain_of(&phone), Ok(KeyDomain::Contact));
        assert_eq!(both.decrypt("patient_persons", "phone_encrypted", 7, &phone).unwrap(), "+4791234567");
        // A clinical ciphertext put into a contact column does not decrypt.
        assert_eq!(both.decrypt("patient_persons", "phone_encrypted", 7, &result).unwrap_err().code, ErrorCode::KeysUnavailable);
    }
}
