//! Consultation results (`docs/consultations.md`): ICPC-2 code, outcome, the patient's
//! national id when the patient is not the account holder (a minor), job description, notes and
//! policy number. Every field is encrypted, bound to its row. A result is filed together with
//! completing the consultation; an amendment adds a version and keeps the earlier ones. Reading
//! goes through the database's audited `read_consultation_results_as`, which only lets the
//! authoring doctor and the clinic's admins through.

use chrono::{DateTime, Utc};
use digimed_domain::NationalId;
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::drafts::{self, DraftKind};
use crate::error::{Error, ErrorCode, Result};
use crate::icpc2::{self, Icpc2Code};
use crate::keys::Vault;
use crate::queue::{self, Consultation};

/// What the doctor fills in.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultInput {
    pub icpc2: String,
    /// A code of `result_outcomes` (`referred_gp`, `helped`, `unable`, or one an admin added).
    pub outcome: String,
    /// The patient's national id when the patient is not the account holder (e.g. a child).
    pub patient_ssn: Option<String>,
    pub patient_job_description: Option<String>,
    pub notes: Option<String>,
    pub policy_number: Option<String>,
}

/// A result version as its reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultVersion {
    pub id: i32,
    pub consultation_id: i32,
    pub version: i32,
    pub author_staff_id: i32,
    pub icpc2: Icpc2Code,
    pub outcome: String,
    pub patient_ssn: Option<String>,
    /// True when `patient_ssn` belongs to someone under 18 today.
    pub patient_is_minor: bool,
    pub patient_job_description: Option<String>,
    pub notes: Option<String>,
    pub policy_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

struct Checked {
    icpc2: Icpc2Code,
    outcome: String,
    patient_ssn: Option<NationalId>,
    job: Option<String>,
    notes: Option<String>,
    policy: Option<String>,
}

fn optional_text(v: &Option<String>, field: &str, max: usize) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => {
            Err(Error::field(ErrorCode::InvalidInput, field, format!("This may have at most {max} characters.")))
        }
        Some(t) => Ok(Some(t.to_string())),
    }
}

/// Checks every field; the first problem is returned with its field named.
async fn check(tx: &mut ClinicTx, consultation_id: i32, input: &ResultInput) -> Result<Checked> {
    let icpc2 = icpc2::lookup(tx, &input.icpc2).await?;
    let outcome = input.outcome.trim().to_lowercase();
    let known =
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM result_outcomes WHERE code = $1 AND active) AS "known!""#, outcome,)
            .fetch_one(tx.conn())
            .await?;
    if !known {
        return Err(Error::field(ErrorCode::InvalidInput, "outcome", "Choose one of the listed outcomes."));
    }
    let patient_ssn = match input.patient_ssn.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            // Synthetic numbers are only accepted for a test partner's consultations.
            let test_partner = sqlx::query_scalar!(
                r#"SELECT coalesce(bool_or(p.is_test_partner), false) AS "test!" FROM consultations c
                     LEFT JOIN partners p ON p.id = c.partner_id WHERE c.id = $1"#,
                consultation_id,
            )
            .fetch_one(tx.conn())
            .await?;
            Some(NationalId::parse(s, test_partner).map_err(|e| {
                Error::field(ErrorCode::InvalidNationalId, "patient_ssn", format!("The patient's national id is not valid: {e}"))
            })?)
        }
    };
    let policy = optional_text(&input.policy_number, "policy_number", 18)?;
    if let Some(p) = &policy {
        if !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::field(ErrorCode::InvalidInput, "policy_number", "The policy number has digits only."));
        }
    }
    Ok(Checked {
        icpc2,
        outcome,
        patient_ssn,
        job: optional_text(&input.patient_job_description, "patient_job_description", 500)?,
        notes: optional_text(&input.notes, "notes", 20_000)?,
        policy,
    })
}

/// Writes one result version in the caller's transaction.
async fn insert_version(
    tx: &mut ClinicTx,
    vault: &Vault,
    consultation_id: i32,
    author: i32,
    version: i32,
    c: &Checked,
) -> Result<i32> {
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('consultation_results', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let enc = |column: &str, v: &str| vault.encrypt("consultation_results", column, i64::from(id), v);
    let opt = |column: &str, v: &Option<String>| v.as_deref().map(|v| enc(column, v));
    sqlx::query!(
        "INSERT INTO consultation_results (id, consultation_id, version, author_staff_id, icpc2_encrypted, outcome_encrypted,
             patient_ssn_encrypted, patient_job_description_encrypted, notes_encrypted, policy_number_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id,
        consultation_id,
        version,
        author,
        enc("icpc2_encrypted", &c.icpc2.code),
        enc("outcome_encrypted", &c.outcome),
        c.patient_ssn.as_ref().map(|n| enc("patient_ssn_encrypted", n.as_str())),
        opt("patient_job_description_encrypted", &c.job),
        opt("notes_encrypted", &c.notes),
        opt("policy_number_encrypted", &c.policy),
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// The assigned doctor completes the consultation and files its result, in one transaction.
pub async fn complete_with_result(
    tx: &mut ClinicTx,
    vault: &Vault,
    consultation_id: i32,
    input: &ResultInput,
) -> Result<Consultation> {
    tx.require(Capability::CompleteConsultation)?;
    let author = tx.staff()?.staff_id;
    let checked = check(tx, consultation_id, input).await?;
    let consultation = queue::complete(tx, consultation_id).await?;
    insert_version(tx, vault, consultation_id, author, 1, &checked).await?;
    drafts::discard_own(tx, DraftKind::ConsultationResult, consultation_id).await?;
    Ok(consultation)
}

/// The authoring doctor amends a result: a new version, the earlier ones kept.
pub async fn amend(tx: &mut ClinicTx, vault: &Vault, consultation_id: i32, input: &ResultInput) -> Result<i32> {
    tx.require(Capability::AmendResult)?;
    let author = tx.staff()?.staff_id;
    let checked = check(tx, consultation_id, input).await?;
    let version =
        sqlx::query_scalar!(r#"SELECT next_result_version($1) AS "version!""#, consultation_id).fetch_one(tx.conn()).await?;
    if version == 1 {
        return Err(Error::new(ErrorCode::NotFound, "This consultation has no result to amend."));
    }
    insert_version(tx, vault, consultation_id, author, version, &checked).await?;
    drafts::discard_own(tx, DraftKind::ConsultationResult, consultation_id).await?;
    Ok(version)
}

/// Files a result as the database owner, for demo data and imports of earlier records.
pub async fn file_as_owner(
    tx: &mut ClinicTx,
    vault: &Vault,
    consultation_id: i32,
    author: i32,
    input: &ResultInput,
) -> Result<i32> {
    tx.require(Capability::ImportRecords)?;
    let checked = check(tx, consultation_id, input).await?;
    insert_version(tx, vault, consultation_id, author, 1, &checked).await
}

/// Reads every version of a consultation's result (newest first) as the acting staff member.
/// The database refuses anyone but the author and the clinic's admins, and records the read in
/// the same transaction.
pub async fn read(tx: &mut ClinicTx, vault: &Vault, consultation_id: i32) -> Result<Vec<ResultVersion>> {
    tx.require(Capability::ReadResult)?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", consultation_id AS "consultation_id!", version AS "version!", author_staff_id AS "author_staff_id!",
                  icpc2_encrypted AS "icpc2_encrypted!", outcome_encrypted AS "outcome_encrypted!", patient_ssn_encrypted,
                  patient_job_description_encrypted, notes_encrypted, policy_number_encrypted, created_at AS "created_at!"
             FROM read_consultation_results_as($1, current_user::text)"#,
        consultation_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let today = Utc::now().date_naive();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = i64::from(r.id);
        let dec = |column: &str, ct: &[u8]| vault.decrypt("consultation_results", column, id, ct);
        let opt = |column: &str, ct: Option<Vec<u8>>| ct.map(|c| dec(column, &c)).transpose();
        let code = dec("icpc2_encrypted", &r.icpc2_encrypted)?;
        let icpc2 = icpc2::lookup_any(tx, &code).await?;
        let patient_ssn = opt("patient_ssn_encrypted", r.patient_ssn_encrypted)?;
        let patient_is_minor =
            patient_ssn.as_deref().and_then(|s| NationalId::parse(s, true).ok()).map(|n| n.is_minor_on(today)).unwrap_or(false);
        out.push(ResultVersion {
            id: r.id,
            consultation_id: r.consultation_id,
            version: r.version,
            author_staff_id: r.author_staff_id,
            icpc2,
            outcome: dec("outcome_encrypted", &r.outcome_encrypted)?,
            patient_ssn,
            patient_is_minor,
            patient_job_description: opt("patient_job_description_encrypted", r.patient_job_description_encrypted)?,
            notes: opt("notes_encrypted", r.notes_encrypted)?,
            policy_number: opt("policy_number_encrypted", r.policy_number_encrypted)?,
            created_at: r.created_at,
        });
    }
    Ok(out)
}
