//! Consultation results (`docs/consultations.md`): ICPC-2 code, outcome, the patient's
//! national id when the patient is not the account holder (a minor), job description, notes and
//! policy number. Every field is encrypted, bound to its row. A result is filed together with
//! completing the consultation; the author amends it by adding a version with a reason, and the
//! earlier versions are kept. Reading goes through the database's audited
//! `read_consultation_results_as`, which lets through only the author, the clinic's admins and a
//! doctor assigned to a follow-up of the consultation (`may_read_consultation_result`).
//!
//! Every field is of the clinical key domain: without the clinical keys (anywhere but a doctor's
//! or admin's workstation) filing, amending and reading a result fail with
//! `clinical_keys_unavailable` before anything is written.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use digimed_domain::NationalId;
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::drafts::{self, DraftKind};
use crate::error::{Error, ErrorCode, Result};
use crate::icpc2::{self, Icpc2Code};
use crate::keys::Vault;
use crate::queue::{self, Consultation, ConsultationState};
use digimed_crypto::KeyDomain;

/// What the doctor fills in.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultInput {
    pub icpc2: String,
    /// A code of `result_outcomes` (`referred_gp`, `helped`, `unable`, or one an admin added).
    pub outcome: String,
    /// The patient's national id when the patient is not the account holder: a minor (under 18
    /// on the consultation's date).
    pub patient_ssn: Option<String>,
    pub patient_job_description: Option<String>,
    pub notes: Option<String>,
    pub policy_number: Option<String>,
}

/// An amendment: why, and the fields it changes. A field left out (`None`) keeps the latest
/// version's value; an empty text clears an optional field.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Amendment {
    /// Required: why the result is amended (stored encrypted with the new version).
    pub reason: String,
    pub icpc2: Option<String>,
    pub outcome: Option<String>,
    pub patient_ssn: Option<String>,
    pub patient_job_description: Option<String>,
    pub notes: Option<String>,
    pub policy_number: Option<String>,
}

impl Amendment {
    /// An amendment that files `input` whole (every field given; an empty optional field is cleared).
    pub fn whole(reason: &str, input: &ResultInput) -> Amendment {
        let given = |v: &Option<String>| Some(v.clone().unwrap_or_default());
        Amendment {
            reason: reason.to_string(),
            icpc2: Some(input.icpc2.clone()),
            outcome: Some(input.outcome.clone()),
            patient_ssn: given(&input.patient_ssn),
            patient_job_description: given(&input.patient_job_description),
            notes: given(&input.notes),
            policy_number: given(&input.policy_number),
        }
    }

    fn leaves_out_a_field(&self) -> bool {
        [&self.icpc2, &self.outcome, &self.patient_ssn, &self.patient_job_description, &self.notes, &self.policy_number]
            .iter()
            .any(|f| f.is_none())
    }

    /// The whole result this amendment files, on top of the latest version (when a field is left out).
    fn over(&self, latest: Option<&ResultVersion>) -> ResultInput {
        let keep = |mine: &Option<String>, theirs: Option<&Option<String>>| match mine {
            Some(v) => Some(v.clone()),
            None => theirs.cloned().flatten(),
        };
        ResultInput {
            icpc2: keep(&self.icpc2, latest.map(|l| Some(l.icpc2.code.clone())).as_ref()).unwrap_or_default(),
            outcome: keep(&self.outcome, latest.map(|l| Some(l.outcome.clone())).as_ref()).unwrap_or_default(),
            patient_ssn: keep(&self.patient_ssn, latest.map(|l| &l.patient_ssn)),
            patient_job_description: keep(&self.patient_job_description, latest.map(|l| &l.patient_job_description)),
            notes: keep(&self.notes, latest.map(|l| &l.notes)),
            policy_number: keep(&self.policy_number, latest.map(|l| &l.policy_number)),
        }
    }
}

/// A result version as its reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResultVersion {
    pub id: i32,
    pub consultation_id: i32,
    pub version: i32,
    pub author_staff_id: i32,
    pub author_name: Option<String>,
    /// Why this version was written; `None` for the first.
    pub amend_reason: Option<String>,
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
            // Synthetic numbers are only accepted for a test partner's consultations; a minor is
            // under 18 on the consultation's date (its start, or its creation before it starts).
            let c = sqlx::query!(
                r#"SELECT coalesce(p.is_test_partner, false) AS "test!",
                          (coalesce(c.starts_at, c.created_at) AT TIME ZONE 'Europe/Oslo')::date AS "day!: NaiveDate"
                     FROM consultations c LEFT JOIN partners p ON p.id = c.partner_id WHERE c.id = $1"#,
                consultation_id,
            )
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| Error::not_found("The consultation"))?;
            let id = NationalId::parse(s, c.test).map_err(|e| {
                Error::field(ErrorCode::InvalidNationalId, "patient_ssn", format!("The patient's national id is not valid: {e}"))
            })?;
            if !id.is_minor_on(c.day) {
                return Err(Error::field(
                    ErrorCode::InvalidInput,
                    "patient_ssn",
                    "The patient's own national id is recorded only for a minor; this number belongs to someone 18 or older on the consultation's date.",
                ));
            }
            Some(id)
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
    reason: Option<&str>,
) -> Result<i32> {
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('consultation_results', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    let enc = |column: &str, v: &str| vault.encrypt("consultation_results", column, i64::from(id), v);
    let opt = |column: &str, v: &Option<String>| v.as_deref().map(|v| enc(column, v)).transpose();
    let icpc2 = enc("icpc2_encrypted", &c.icpc2.code)?;
    let outcome = enc("outcome_encrypted", &c.outcome)?;
    let patient_ssn = c.patient_ssn.as_ref().map(|n| enc("patient_ssn_encrypted", n.as_str())).transpose()?;
    let job = opt("patient_job_description_encrypted", &c.job)?;
    let notes = opt("notes_encrypted", &c.notes)?;
    let policy = opt("policy_number_encrypted", &c.policy)?;
    let reason = reason.map(|r| enc("amend_reason_encrypted", r)).transpose()?;
    sqlx::query!(
        "INSERT INTO consultation_results (id, consultation_id, version, author_staff_id, icpc2_encrypted, outcome_encrypted,
             patient_ssn_encrypted, patient_job_description_encrypted, notes_encrypted, policy_number_encrypted,
             amend_reason_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        id,
        consultation_id,
        version,
        author,
        icpc2,
        outcome,
        patient_ssn,
        job,
        notes,
        policy,
        reason,
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
    vault.keys_of(KeyDomain::Clinical)?;
    let author = tx.staff()?.staff_id;
    let checked = check(tx, consultation_id, input).await?;
    let consultation = queue::complete(tx, consultation_id).await?;
    insert_version(tx, vault, consultation_id, author, 1, &checked, None).await?;
    drafts::discard_own(tx, DraftKind::ConsultationResult, consultation_id).await?;
    Ok(consultation)
}

/// The authoring doctor amends a result: a new version with the reason, the earlier ones kept.
/// Fields the amendment leaves out keep the latest version's values (which are read for it, and
/// that read is audited like any other). Returns the new version's number.
pub async fn amend(tx: &mut ClinicTx, vault: &Vault, consultation_id: i32, amendment: &Amendment) -> Result<i32> {
    tx.require(Capability::AmendResult)?;
    vault.keys_of(KeyDomain::Clinical)?;
    let author = tx.staff()?.staff_id;
    let reason = amendment.reason.trim();
    if reason.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "Say why the result is amended."));
    }
    if reason.chars().count() > 500 {
        return Err(Error::field(ErrorCode::InvalidInput, "reason", "The reason may have at most 500 characters."));
    }
    let doctor = sqlx::query_scalar!("SELECT assigned_doctor_id FROM consultations WHERE id = $1", consultation_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("The consultation"))?;
    let version =
        sqlx::query_scalar!(r#"SELECT next_result_version($1) AS "version!""#, consultation_id).fetch_one(tx.conn()).await?;
    if version == 1 {
        return Err(Error::new(ErrorCode::NotFound, "This consultation has no result to amend."));
    }
    if doctor != Some(author) {
        return Err(Error::forbidden("Only the doctor who wrote this result may amend it."));
    }
    let latest = if amendment.leaves_out_a_field() { read(tx, vault, consultation_id).await?.into_iter().next() } else { None };
    let checked = check(tx, consultation_id, &amendment.over(latest.as_ref())).await?;
    insert_version(tx, vault, consultation_id, author, version, &checked, Some(reason)).await?;
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
    vault.keys_of(KeyDomain::Clinical)?;
    let checked = check(tx, consultation_id, input).await?;
    insert_version(tx, vault, consultation_id, author, 1, &checked, None).await
}

/// Reads every version of a consultation's result (newest first) as the acting staff member.
/// The database refuses anyone but the author, the clinic's admins and a doctor following the
/// patient up, and records the read in the same transaction.
pub async fn read(tx: &mut ClinicTx, vault: &Vault, consultation_id: i32) -> Result<Vec<ResultVersion>> {
    tx.require(Capability::ReadResult)?;
    vault.keys_of(KeyDomain::Clinical)?;
    let rows = sqlx::query!(
        r#"SELECT r.id AS "id!", r.consultation_id AS "consultation_id!", r.version AS "version!",
                  r.author_staff_id AS "author_staff_id!", s.name AS "author_name?", r.amend_reason_encrypted,
                  r.icpc2_encrypted AS "icpc2_encrypted!", r.outcome_encrypted AS "outcome_encrypted!", r.patient_ssn_encrypted,
                  r.patient_job_description_encrypted, r.notes_encrypted, r.policy_number_encrypted, r.created_at AS "created_at!"
             FROM read_consultation_results_as($1, current_user::text) r
             LEFT JOIN staff s ON s.id = r.author_staff_id
            ORDER BY r.version DESC"#,
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
            author_name: r.author_name,
            amend_reason: opt("amend_reason_encrypted", r.amend_reason_encrypted)?,
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

/// One of a patient's consultations, with whether the acting staff member may open its result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HistoryEntry {
    pub consultation: Consultation,
    /// The consultation has a result and the actor may read it (its author, an admin of the
    /// clinic, a doctor following the patient up). Says whether, never what: nothing is read.
    pub result_readable: bool,
}

/// A patient's consultations at the actor's clinic, newest first, each saying whether the actor
/// may open its result (the database decides, `may_read_consultation_result`).
pub async fn history(tx: &mut ClinicTx, patient_person_id: i32) -> Result<Vec<HistoryEntry>> {
    let consultations = queue::history(tx, patient_person_id).await?;
    let completed: Vec<i32> = consultations.iter().filter(|c| c.state == ConsultationState::Completed).map(|c| c.id).collect();
    let readable: HashSet<i32> = if completed.is_empty() || !Capability::ReadResult.allows(tx.actor()) {
        HashSet::new()
    } else {
        sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM unnest($1::int[]) AS id WHERE may_read_consultation_result(id, current_user::text)"#,
            &completed,
        )
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .collect()
    };
    Ok(consultations.into_iter().map(|c| HistoryEntry { result_readable: readable.contains(&c.id), consultation: c }).collect())
}
