//! Consent forms (see `docs/onboarding.md`): versioned templates that admins write and publish, the forms the
//! automation rules create for a patient, and their lifecycle: `pending` → `signed` | `declined`,
//! or `superseded` by a form of a newer published version. Signing records who signed (the
//! patient through the API, or a staff member attesting a paper signature in the clinic), when,
//! and the hash of the exact text signed; it grants the form's consents in the same transaction.
//! A consent is later withdrawn with a time and a reason. Signing or withdrawing profile sharing
//! opens or closes the portable profile to that organization; the database keeps
//! `patients.profile_shared` in step with the consent, so nothing else can set it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};

/// A form as the patient app and the console show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Form {
    pub form_id: i32,
    pub patient_id: i32,
    pub template_id: i32,
    pub template_version: i32,
    pub title: String,
    #[serde(rename = "type")]
    pub form_type: String,
    pub status: String,
    pub blocking: bool,
    pub must_sign_before: Option<String>,
    pub consent_types: Vec<String>,
    /// SHA-256 (hex) of the text of this form's template version: what a signature must name.
    pub template_sha256: String,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    /// `patient` or `staff_attested`.
    pub signed_by: Option<String>,
    pub attested_by_staff_id: Option<i32>,
    pub declined_at: Option<DateTime<Utc>>,
    pub superseded_by: Option<i32>,
    pub consents: Vec<Consent>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Consent {
    pub id: i32,
    pub form_id: i32,
    pub consent_type: String,
    pub granted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdraw_reason: Option<String>,
}

/// The text of a form, to show before signing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FormText {
    pub form_id: i32,
    pub title: String,
    pub template_version: i32,
    pub body: String,
    pub template_sha256: String,
}

/// Who put the signature on the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SignedBy {
    /// The patient, in the patient app (through the API).
    Patient,
    /// The patient signed on paper in the clinic; the signed-in staff member attests it.
    StaffAttested,
}

struct FormRow {
    id: i32,
    patient_id: i32,
    template_id: i32,
    version: i32,
    title: String,
    form_type: String,
    status: String,
    blocking: bool,
    must_sign_before: Option<String>,
    consent_types: Vec<String>,
    body_sha256: Vec<u8>,
    created_at: DateTime<Utc>,
    signed_at: Option<DateTime<Utc>>,
    signed_by: Option<String>,
    attested_by_staff_id: Option<i32>,
    declined_at: Option<DateTime<Utc>>,
    superseded_by: Option<i32>,
}

/// The forms of a patient (`patients.id`), or the one form `form_id`, oldest first, each with
/// its consents.
async fn read_forms(tx: &mut ClinicTx, patient_id: Option<i32>, form_id: Option<i32>) -> Result<Vec<Form>> {
    let rows = sqlx::query_as!(
        FormRow,
        r#"SELECT f.id, f.patient_id, f.template_id, v.version, t.title, t.type AS form_type, f.status, f.blocking,
                  f.must_sign_before, t.consent_types, v.body_sha256 AS "body_sha256!", f.created_at, f.signed_at, f.signed_by,
                  f.attested_by_staff_id, f.declined_at, f.superseded_by
             FROM forms f
             JOIN form_templates t ON t.id = f.template_id
             JOIN form_template_versions v ON v.id = f.template_version_id
            WHERE ($1::int IS NULL OR f.patient_id = $1) AND ($2::int IS NULL OR f.id = $2)
            ORDER BY f.id"#,
        patient_id,
        form_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let consents = sqlx::query_as!(
        Consent,
        "SELECT id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason FROM consents WHERE form_id = ANY($1) ORDER BY id",
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Form {
            consents: consents.iter().filter(|c| c.form_id == r.id).cloned().collect(),
            form_id: r.id,
            patient_id: r.patient_id,
            template_id: r.template_id,
            template_version: r.version,
            title: r.title,
            form_type: r.form_type,
            status: r.status,
            blocking: r.blocking,
            must_sign_before: r.must_sign_before,
            consent_types: r.consent_types,
            template_sha256: hex::encode(r.body_sha256),
            created_at: r.created_at,
            signed_at: r.signed_at,
            signed_by: r.signed_by,
            attested_by_staff_id: r.attested_by_staff_id,
            declined_at: r.declined_at,
            superseded_by: r.superseded_by,
        })
        .collect())
}

async fn one_form(tx: &mut ClinicTx, form_id: i32) -> Result<Form> {
    read_forms(tx, None, Some(form_id)).await?.pop().ok_or_else(|| Error::not_found("form"))
}

/// Whether the org-patient link is visible to the actor (row-level security).
pub(crate) async fn patient_visible(tx: &mut ClinicTx, patient_id: i32) -> Result<bool> {
    Ok(sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1) AS "visible!""#, patient_id)
        .fetch_one(tx.conn())
        .await?)
}

/// Every form of an org-patient link (`patients.id`), oldest first, with its consents.
pub async fn list_for_patient(tx: &mut ClinicTx, patient_id: i32) -> Result<Vec<Form>> {
    tx.require(Capability::ReadForms)?;
    if !patient_visible(tx, patient_id).await? {
        return Err(Error::not_found("patient"));
    }
    read_forms(tx, Some(patient_id), None).await
}

/// Every form of the patient signed in to the patient app, across the clinics they are a
/// patient of, oldest first, with its consents.
pub async fn list_own(tx: &mut ClinicTx) -> Result<Vec<Form>> {
    tx.require(Capability::ActOnOwnForms)?;
    let person_id = tx.patient_person()?;
    let patient_ids = sqlx::query_scalar!("SELECT id FROM patients WHERE patient_person_id = $1 ORDER BY id", person_id)
        .fetch_all(tx.conn())
        .await?;
    let mut out = Vec::new();
    for patient_id in patient_ids {
        out.extend(read_forms(tx, Some(patient_id), None).await?);
    }
    out.sort_by_key(|f| f.form_id);
    Ok(out)
}

/// Staff with the capability `staff_may`, or the patient signed in to the patient app acting on
/// their own forms (the database shows the service no other patient's rows while it acts for
/// one, so another patient's form or consent is simply not found).
fn require_staff_or_own(tx: &ClinicTx, staff_may: Capability) -> Result<()> {
    if tx.patient_person().is_ok() {
        tx.require(Capability::ActOnOwnForms)
    } else {
        tx.require(staff_may)
    }
}

/// The text of a form's template version, with the hash a signature must name.
pub async fn text(tx: &mut ClinicTx, form_id: i32) -> Result<FormText> {
    require_staff_or_own(tx, Capability::ReadForms)?;
    let row = sqlx::query!(
        r#"SELECT t.title, v.version, v.body, v.body_sha256 AS "body_sha256!" FROM forms f
             JOIN form_templates t ON t.id = f.template_id
             JOIN form_template_versions v ON v.id = f.template_version_id
            WHERE f.id = $1"#,
        form_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("form"))?;
    Ok(FormText {
        form_id,
        title: row.title,
        template_version: row.version,
        body: row.body,
        template_sha256: hex::encode(row.body_sha256),
    })
}

fn parse_sha256(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid(
            "template_sha256",
            "Name the text that was signed by its SHA-256 (template_sha256 of the form).",
        ));
    }
    match hex::decode(s.to_ascii_lowercase()) {
        Ok(b) if b.len() == 32 => Ok(b),
        _ => Err(Error::invalid("template_sha256", "template_sha256 must be 64 hexadecimal characters.")),
    }
}

/// Locks a pending form; returns its patient and the hash of its text.
async fn lock_pending(tx: &mut ClinicTx, form_id: i32) -> Result<(i32, Vec<u8>)> {
    let row = sqlx::query!(
        r#"SELECT f.status, f.patient_id, v.body_sha256 AS "body_sha256!" FROM forms f
             JOIN form_template_versions v ON v.id = f.template_version_id
            WHERE f.id = $1 FOR UPDATE OF f"#,
        form_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("form"))?;
    if row.status != "pending" {
        return Err(Error::new(
            ErrorCode::InvalidStateTransition,
            format!("This form is already {}; it cannot change.", row.status),
        ));
    }
    Ok((row.patient_id, row.body_sha256))
}

/// Signs a pending form for the text whose SHA-256 is `template_sha256`, and grants its
/// consents, in one transaction. A hash that is not the form's current text is refused with
/// `form_template_changed` and nothing is written. A paper signature is attested by the acting
/// staff member.
pub async fn sign(tx: &mut ClinicTx, form_id: i32, signed_by: SignedBy, template_sha256: &str) -> Result<Form> {
    require_staff_or_own(tx, Capability::ActOnForms)?;
    let attested_by = match signed_by {
        SignedBy::StaffAttested => {
            tx.require(Capability::AttestSignature)?;
            Some(tx.staff()?.staff_id)
        }
        SignedBy::Patient => None,
    };
    sign_pending(tx, form_id, signed_by, attested_by, template_sha256).await
}

/// Signs a pending form once the signer's right to has been checked.
async fn sign_pending(
    tx: &mut ClinicTx,
    form_id: i32,
    signed_by: SignedBy,
    attested_by: Option<i32>,
    template_sha256: &str,
) -> Result<Form> {
    let presented = parse_sha256(template_sha256)?;
    let (patient_id, on_record) = lock_pending(tx, form_id).await?;
    if presented != on_record {
        return Err(Error::field(
            ErrorCode::FormTemplateChanged,
            "template_sha256",
            "The signature is for another text of this form than the one on record; show the patient the current text and sign again.",
        ));
    }
    sqlx::query!(
        "UPDATE forms SET status = 'signed', signed_at = now(), signed_by = $2, signed_template_sha256 = $3,
                attested_by_staff_id = $4
          WHERE id = $1",
        form_id,
        signed_by as SignedBy,
        presented,
        attested_by,
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "INSERT INTO consents (patient_id, form_id, consent_type)
         SELECT $1, f.id, c FROM forms f JOIN form_templates t ON t.id = f.template_id, unnest(t.consent_types) c
          WHERE f.id = $2",
        patient_id,
        form_id,
    )
    .execute(tx.conn())
    .await?;
    one_form(tx, form_id).await
}

/// Records that the patient declined a pending form.
pub async fn decline(tx: &mut ClinicTx, form_id: i32) -> Result<Form> {
    require_staff_or_own(tx, Capability::ActOnForms)?;
    decline_pending(tx, form_id).await
}

async fn decline_pending(tx: &mut ClinicTx, form_id: i32) -> Result<Form> {
    lock_pending(tx, form_id).await?;
    sqlx::query!("UPDATE forms SET status = 'declined', declined_at = now() WHERE id = $1", form_id).execute(tx.conn()).await?;
    one_form(tx, form_id).await
}

/// Withdraws a granted consent, with a reason; it takes effect in the same transaction (for
/// profile sharing: the organization stops seeing the portable profile).
pub async fn withdraw(tx: &mut ClinicTx, consent_id: i32, reason: &str) -> Result<Consent> {
    require_staff_or_own(tx, Capability::ActOnForms)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "Say why the consent is withdrawn."));
    }
    if reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "The reason may have at most 500 characters."));
    }
    let withdrawn = sqlx::query_scalar!("SELECT withdrawn_at FROM consents WHERE id = $1 FOR UPDATE", consent_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("consent"))?;
    if withdrawn.is_some() {
        return Err(Error::new(ErrorCode::InvalidStateTransition, "This consent was already withdrawn."));
    }
    Ok(sqlx::query_as!(
        Consent,
        "UPDATE consents SET withdrawn_at = now(), withdraw_reason = $2 WHERE id = $1
         RETURNING id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason",
        consent_id,
        reason,
    )
    .fetch_one(tx.conn())
    .await?)
}

// ---------------------------------------------------------------------------------------------
// Templates (admins).

/// A new form template of the signed-in admin's organization.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewTemplate {
    /// A stable name, e.g. `privacy_policy`.
    pub key: String,
    pub title: String,
    /// e.g. `disclaimer`.
    pub form_type: String,
    pub consent_types: Vec<String>,
    /// `first_appointment`, or none.
    pub must_sign_before: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TemplateVersion {
    pub id: i32,
    pub template_id: i32,
    pub version: i32,
    /// The text the patient reads and signs.
    pub body: String,
    pub sha256: String,
    /// None while the version is a draft.
    pub published_at: Option<DateTime<Utc>>,
}

/// A kind of consent a template's signature can grant (`consent_types`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConsentKind {
    pub code: String,
    pub label: String,
}

/// The kinds of consent a template may grant, by code.
pub async fn consent_kinds(tx: &mut ClinicTx) -> Result<Vec<ConsentKind>> {
    Ok(sqlx::query_as!(ConsentKind, "SELECT code, label FROM consent_types ORDER BY code").fetch_all(tx.conn()).await?)
}

/// The longest text a template version may have, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Template {
    pub id: i32,
    pub organization_id: Option<i32>,
    pub key: String,
    pub title: String,
    #[serde(rename = "type")]
    pub form_type: String,
    pub consent_types: Vec<String>,
    pub must_sign_before: Option<String>,
    pub versions: Vec<TemplateVersion>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Published {
    pub version: TemplateVersion,
    /// Pending forms of older versions replaced by a form of this version.
    pub superseded: u32,
}

fn slug_ok(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Creates a template (no version yet) in the admin's organization (a shared one, for the owner).
pub async fn create_template(tx: &mut ClinicTx, t: &NewTemplate) -> Result<Template> {
    tx.require(Capability::ManageFormTemplates)?;
    let key = t.key.trim();
    if !slug_ok(key) {
        return Err(Error::invalid(
            "key",
            "Use lower-case letters, digits and _ , starting with a letter (e.g. privacy_policy).",
        ));
    }
    let title = t.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::invalid("title", "Give the form a title of at most 200 characters."));
    }
    let form_type = if t.form_type.trim().is_empty() { "disclaimer" } else { t.form_type.trim() };
    if !slug_ok(form_type) {
        return Err(Error::invalid("form_type", "Use lower-case letters, digits and _ (e.g. disclaimer)."));
    }
    let must = t.must_sign_before.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if must.is_some_and(|m| m != "first_appointment") {
        return Err(Error::invalid("must_sign_before", "Use first_appointment, or leave it empty."));
    }
    let consent_types: Vec<String> = t.consent_types.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    let known = sqlx::query_scalar!("SELECT code FROM consent_types").fetch_all(tx.conn()).await?;
    if let Some(unknown) = consent_types.iter().find(|c| !known.contains(c)) {
        return Err(Error::invalid(
            "consent_types",
            format!("'{unknown}' is not a known kind of consent ({}).", known.join(", ")),
        ));
    }
    let clinic = tx.clinic();
    let taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM form_templates WHERE organization_id IS NOT DISTINCT FROM $1 AND key = $2) AS "taken!""#,
        clinic,
        key,
    )
    .fetch_one(tx.conn())
    .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "key", format!("A template '{key}' already exists.")));
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO form_templates (organization_id, key, title, type, consent_types, must_sign_before)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        clinic,
        key,
        title,
        form_type,
        &consent_types,
        must,
    )
    .fetch_one(tx.conn())
    .await?;
    template(tx, id).await
}

/// Adds a draft version with the given text; it can be changed until it is published.
pub async fn add_version(tx: &mut ClinicTx, template_id: i32, body: &str) -> Result<TemplateVersion> {
    tx.require(Capability::ManageFormTemplates)?;
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "Write the text the patient will read and sign."));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid("body", format!("The text may have at most {MAX_BODY_CHARS} characters.")));
    }
    // Another clinic's template: the database's row-level security refuses the insert.
    let row = sqlx::query!(
        r#"INSERT INTO form_template_versions (template_id, version, body)
           SELECT $1, coalesce(max(version), 0) + 1, $2 FROM form_template_versions WHERE template_id = $1
           RETURNING id, version, body_sha256 AS "body_sha256!", published_at"#,
        template_id,
        body,
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(TemplateVersion {
        id: row.id,
        template_id,
        version: row.version,
        body: body.to_string(),
        sha256: hex::encode(row.body_sha256),
        published_at: row.published_at,
    })
}

/// Whether the actor may write this template: their clinic's, or a shared one.
async fn template_visible(tx: &mut ClinicTx, template_id: i32) -> Result<bool> {
    let clinic = tx.clinic();
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM form_templates
                           WHERE id = $1 AND ($2::int IS NULL OR organization_id IS NULL OR organization_id = $2)) AS "visible!""#,
        template_id,
        clinic,
    )
    .fetch_one(tx.conn())
    .await?)
}

/// Publishes a draft version (from then on it cannot change) and lets it supersede the pending
/// forms of older versions: each gets a new pending form of this version, in one transaction.
pub async fn publish(tx: &mut ClinicTx, version_id: i32) -> Result<Published> {
    tx.require(Capability::ManageFormTemplates)?;
    let row = sqlx::query!(
        r#"SELECT v.template_id, v.version, v.published_at,
                  (SELECT max(o.version) FROM form_template_versions o
                    WHERE o.template_id = v.template_id AND o.published_at IS NOT NULL) AS newest
             FROM form_template_versions v WHERE v.id = $1 FOR UPDATE"#,
        version_id,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("form template version"))?;
    let (template_id, version) = (row.template_id, row.version);
    if !template_visible(tx, template_id).await? {
        return Err(Error::not_found("form template version"));
    }
    if row.published_at.is_some() {
        return Err(Error::new(ErrorCode::InvalidStateTransition, format!("Version {version} is already published.")));
    }
    if let Some(newest) = row.newest.filter(|n| *n > version) {
        return Err(Error::new(
            ErrorCode::InvalidStateTransition,
            format!("Version {newest} is already published; a new text needs a new version."),
        ));
    }
    let published = sqlx::query!(
        r#"UPDATE form_template_versions SET published_at = now() WHERE id = $1
           RETURNING body, body_sha256 AS "body_sha256!", published_at AS "published_at!""#,
        version_id,
    )
    .fetch_one(tx.conn())
    .await?;
    let superseded = sqlx::query_scalar!(
        r#"WITH old AS (
               SELECT f.id, f.patient_id, f.blocking, f.must_sign_before FROM forms f
                WHERE f.template_id = $1 AND f.status = 'pending' AND f.template_version_id <> $2
                ORDER BY f.id FOR UPDATE),
           fresh AS (
               INSERT INTO forms (patient_id, template_id, template_version_id, blocking, must_sign_before)
               SELECT patient_id, $1, $2, blocking, must_sign_before FROM old ORDER BY id
               RETURNING id, patient_id),
           done AS (
               UPDATE forms f SET status = 'superseded', superseded_by = fresh.id
                 FROM old JOIN fresh ON fresh.patient_id = old.patient_id
                WHERE f.id = old.id
               RETURNING f.id)
           SELECT count(*) AS "superseded!" FROM done"#,
        template_id,
        version_id,
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(Published {
        version: TemplateVersion {
            id: version_id,
            template_id,
            version,
            body: published.body,
            sha256: hex::encode(published.body_sha256),
            published_at: Some(published.published_at),
        },
        superseded: superseded.clamp(0, i64::from(u32::MAX)) as u32,
    })
}

/// The templates of `clinic` and the shared ones (every template when `None`), or only
/// template `template_id`.
async fn read_templates(tx: &mut ClinicTx, template_id: Option<i32>) -> Result<Vec<Template>> {
    let clinic = tx.clinic();
    let rows = sqlx::query!(
        r#"SELECT id, organization_id, key, title, type AS form_type, consent_types, must_sign_before FROM form_templates
            WHERE ($1::int IS NULL OR organization_id IS NULL OR organization_id = $1) AND ($2::int IS NULL OR id = $2)
            ORDER BY title, id"#,
        clinic,
        template_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let versions = sqlx::query!(
        r#"SELECT id, template_id, version, body, body_sha256 AS "body_sha256!", published_at FROM form_template_versions
            WHERE template_id = ANY($1) ORDER BY version"#,
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Template {
            versions: versions
                .iter()
                .filter(|v| v.template_id == r.id)
                .map(|v| TemplateVersion {
                    id: v.id,
                    template_id: v.template_id,
                    version: v.version,
                    body: v.body.clone(),
                    sha256: hex::encode(&v.body_sha256),
                    published_at: v.published_at,
                })
                .collect(),
            id: r.id,
            organization_id: r.organization_id,
            key: r.key,
            title: r.title,
            form_type: r.form_type,
            consent_types: r.consent_types,
            must_sign_before: r.must_sign_before,
        })
        .collect())
}

async fn template(tx: &mut ClinicTx, id: i32) -> Result<Template> {
    read_templates(tx, Some(id)).await?.pop().ok_or_else(|| Error::not_found("form template"))
}

/// The templates of the acting staff member's organization and the shared ones (all, for the
/// owner).
pub async fn list_templates(tx: &mut ClinicTx) -> Result<Vec<Template>> {
    read_templates(tx, None).await
}

/// A consent form as the patient's forms page shows it: what it is, its text, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkForm {
    pub form_id: i32,
    pub title: String,
    /// The clinic or partner the consents are given to.
    pub organization: String,
    /// `pending`, `signed` or `declined`.
    pub status: String,
    pub blocking: bool,
    pub body: String,
    pub template_sha256: String,
    /// The day (in Norway) it was signed or declined.
    pub answered_on: Option<chrono::NaiveDate>,
}

/// The forms page of one person: the language to speak and their forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkForms {
    /// The patient person, for the audit trail (never shown on the page).
    pub person_id: i32,
    pub language: crate::preferences::Language,
    pub forms: Vec<LinkForm>,
}

/// The consent forms of the person holding a communication-preference token, for their forms
/// page (`docs/public-pages.md`): pending ones first, then the ones answered; superseded forms
/// are left out. `None` when no person has that token (nothing says whether another exists).
pub async fn for_link(tx: &mut ClinicTx, token: &str) -> Result<Option<LinkForms>> {
    tx.require(Capability::SignFormsFromLink)?;
    if !crate::preferences::plausible_token(token) {
        return Ok(None);
    }
    let Some(person) = sqlx::query!(
        "SELECT c.patient_person_id, p.language FROM communication_preference_tokens c
           JOIN patient_persons p ON p.id = c.patient_person_id
          WHERE c.token = $1",
        token
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(None);
    };
    let forms = sqlx::query!(
        r#"SELECT f.id, t.title, o.name AS organization, f.status, f.blocking, v.body,
                  v.body_sha256 AS "body_sha256!",
                  (coalesce(f.signed_at, f.declined_at) AT TIME ZONE 'Europe/Oslo')::date AS answered_on
             FROM forms f
             JOIN patients p ON p.id = f.patient_id
             JOIN organizations o ON o.id = p.organization_id
             JOIN form_templates t ON t.id = f.template_id
             JOIN form_template_versions v ON v.id = f.template_version_id
            WHERE p.patient_person_id = $1 AND f.status IN ('pending', 'signed', 'declined')
            ORDER BY f.status <> 'pending', f.blocking DESC, f.id"#,
        person.patient_person_id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| LinkForm {
        form_id: r.id,
        title: r.title,
        organization: r.organization,
        status: r.status,
        blocking: r.blocking,
        body: r.body,
        template_sha256: hex::encode(r.body_sha256),
        answered_on: r.answered_on,
    })
    .collect();
    Ok(Some(LinkForms {
        person_id: person.patient_person_id,
        language: crate::preferences::Language::parse(&person.language).unwrap_or(crate::preferences::Language::Nb),
        forms,
    }))
}

/// What the holder of a forms link does with one of their forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAnswer<'a> {
    /// Signs the text whose SHA-256 (hex) is given: the text the page showed.
    Sign {
        template_sha256: &'a str,
    },
    Decline,
}

/// Signs or declines, for the holder of `token`, one of their own pending forms. A form of
/// anyone else is `not_found`, exactly like a form that does not exist; a form no longer pending
/// is `invalid_state_transition`; a text changed since the page was shown is
/// `form_template_changed`. The signature is recorded as the patient's.
pub async fn answer_from_link(tx: &mut ClinicTx, token: &str, form_id: i32, answer: LinkAnswer<'_>) -> Result<Form> {
    tx.require(Capability::SignFormsFromLink)?;
    if !crate::preferences::plausible_token(token) {
        return Err(Error::not_found("form"));
    }
    let theirs = sqlx::query_scalar!(
        r#"SELECT EXISTS (
             SELECT 1 FROM forms f
               JOIN patients p ON p.id = f.patient_id
               JOIN communication_preference_tokens c ON c.patient_person_id = p.patient_person_id
              WHERE f.id = $1 AND c.token = $2) AS "theirs!""#,
        form_id,
        token
    )
    .fetch_one(tx.conn())
    .await?;
    if !theirs {
        return Err(Error::not_found("form"));
    }
    match answer {
        LinkAnswer::Sign { template_sha256 } => sign_pending(tx, form_id, SignedBy::Patient, None, template_sha256).await,
        LinkAnswer::Decline => decline_pending(tx, form_id).await,
    }
}
