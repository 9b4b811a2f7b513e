//! Consent forms (seed 002): versioned templates that admins write and publish, the forms the
//! automation rules create for a patient, and their lifecycle: `pending` → `signed` | `declined`,
//! or `superseded` by a form of a newer published version. Signing records who signed (the
//! patient through the API, or a staff member attesting a paper signature in the clinic), when,
//! and the hash of the exact text signed; it grants the form's consents in the same transaction.
//! A consent is later withdrawn with a time and a reason. Signing or withdrawing profile sharing
//! opens or closes the portable profile to that organization; the database keeps
//! `patients.profile_shared` in step with the consent, so nothing else can set it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::acting::{self, Acting};
use crate::error::{Error, ErrorCode, Result};

/// A form as the patient app and the console show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FormText {
    pub form_id: i32,
    pub title: String,
    pub template_version: i32,
    pub body: String,
    pub template_sha256: String,
}

/// Who put the signature on the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SignedBy {
    /// The patient, in the patient app (through the API).
    Patient,
    /// The patient signed on paper in the clinic; the signed-in staff member attests it.
    StaffAttested,
}

impl SignedBy {
    fn as_str(self) -> &'static str {
        match self {
            SignedBy::Patient => "patient",
            SignedBy::StaffAttested => "staff_attested",
        }
    }
}

#[derive(sqlx::FromRow)]
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

const FORM_SELECT: &str = "SELECT f.id, f.patient_id, f.template_id, v.version, t.title, t.type AS form_type, f.status, f.blocking,
        f.must_sign_before, t.consent_types, v.body_sha256, f.created_at, f.signed_at, f.signed_by,
        f.attested_by_staff_id, f.declined_at, f.superseded_by
   FROM forms f
   JOIN form_templates t ON t.id = f.template_id
   JOIN form_template_versions v ON v.id = f.template_version_id";

async fn consents_of(conn: &mut PgConnection, form_ids: &[i32]) -> Result<Vec<Consent>> {
    let rows: Vec<(i32, i32, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<String>)> = sqlx::query_as(
        "SELECT id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason
           FROM consents WHERE form_id = ANY($1) ORDER BY id",
    )
    .bind(form_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason)| Consent {
            id,
            form_id,
            consent_type,
            granted_at,
            withdrawn_at,
            withdraw_reason,
        })
        .collect())
}

async fn forms_where(conn: &mut PgConnection, condition: &str, id: i32) -> Result<Vec<Form>> {
    let rows: Vec<FormRow> = sqlx::query_as(&format!("{FORM_SELECT} WHERE {condition} ORDER BY f.id"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
    let mut consents = consents_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (mine, rest): (Vec<Consent>, Vec<Consent>) = consents.drain(..).partition(|c| c.form_id == r.id);
            consents = rest;
            Form {
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
                consents: mine,
            }
        })
        .collect())
}

async fn one_form(conn: &mut PgConnection, form_id: i32) -> Result<Form> {
    forms_where(conn, "f.id = $1", form_id).await?.pop().ok_or_else(|| Error::not_found("form"))
}

/// Every form of an org-patient link (`patients.id`), oldest first, with its consents.
pub async fn list_for_patient(pool: &PgPool, acting: &Acting, patient_id: i32) -> Result<Vec<Form>> {
    let mut tx = acting::begin(pool, acting).await?;
    let visible: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)")
        .bind(patient_id)
        .fetch_one(&mut *tx)
        .await?;
    if !visible {
        return Err(Error::not_found("patient"));
    }
    let forms = forms_where(&mut tx, "f.patient_id = $1", patient_id).await?;
    tx.commit().await?;
    Ok(forms)
}

/// The text of a form's template version, with the hash a signature must name.
pub async fn text(pool: &PgPool, acting: &Acting, form_id: i32) -> Result<FormText> {
    let mut tx = acting::begin(pool, acting).await?;
    let row: Option<(String, i32, String, Vec<u8>)> = sqlx::query_as(
        "SELECT t.title, v.version, v.body, v.body_sha256 FROM forms f
           JOIN form_templates t ON t.id = f.template_id
           JOIN form_template_versions v ON v.id = f.template_version_id
          WHERE f.id = $1",
    )
    .bind(form_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (title, template_version, body, sha) = row.ok_or_else(|| Error::not_found("form"))?;
    Ok(FormText { form_id, title, template_version, body, template_sha256: hex::encode(sha) })
}

fn parse_sha256(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::invalid("template_sha256", "Name the text that was signed by its SHA-256 (template_sha256 of the form)."));
    }
    match hex::decode(s.to_ascii_lowercase()) {
        Ok(b) if b.len() == 32 => Ok(b),
        _ => Err(Error::invalid("template_sha256", "template_sha256 must be 64 hexadecimal characters.")),
    }
}

async fn lock_pending(conn: &mut PgConnection, form_id: i32) -> Result<(i32, Vec<u8>)> {
    let row: Option<(String, i32, Vec<u8>)> = sqlx::query_as(
        "SELECT f.status, f.patient_id, v.body_sha256 FROM forms f
           JOIN form_template_versions v ON v.id = f.template_version_id
          WHERE f.id = $1 FOR UPDATE OF f",
    )
    .bind(form_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (status, patient_id, sha) = row.ok_or_else(|| Error::not_found("form"))?;
    if status != "pending" {
        return Err(Error::new(ErrorCode::InvalidStateTransition, format!("This form is already {status}; it cannot change.")));
    }
    Ok((patient_id, sha))
}

/// Signs a pending form for the text whose SHA-256 is `template_sha256`, and grants its
/// consents, in one transaction. A hash that is not the form's current text is refused with
/// `form_template_changed` and nothing is written.
pub async fn sign(pool: &PgPool, acting: &Acting, form_id: i32, signed_by: SignedBy, template_sha256: &str) -> Result<Form> {
    let presented = parse_sha256(template_sha256)?;
    let mut tx = acting::begin(pool, acting).await?;
    let (patient_id, on_record) = lock_pending(&mut tx, form_id).await?;
    if presented != on_record {
        return Err(Error::field(
            ErrorCode::FormTemplateChanged,
            "template_sha256",
            "The signature is for another text of this form than the one on record; show the patient the current text and sign again.",
        ));
    }
    sqlx::query(
        "UPDATE forms SET status = 'signed', signed_at = now(), signed_by = $2, signed_template_sha256 = $3,
                attested_by_staff_id = CASE WHEN $2 = 'staff_attested' THEN current_staff_id() END
          WHERE id = $1",
    )
    .bind(form_id)
    .bind(signed_by.as_str())
    .bind(&presented)
    .execute(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::InvalidInput => {
            Error::forbidden("Only a staff member can attest a paper signature.")
        }
        e => e,
    })?;
    sqlx::query(
        "INSERT INTO consents (patient_id, form_id, consent_type)
         SELECT $1, f.id, c FROM forms f JOIN form_templates t ON t.id = f.template_id, unnest(t.consent_types) c
          WHERE f.id = $2",
    )
    .bind(patient_id)
    .bind(form_id)
    .execute(&mut *tx)
    .await?;
    let form = one_form(&mut tx, form_id).await?;
    tx.commit().await?;
    Ok(form)
}

/// Records that the patient declined a pending form.
pub async fn decline(pool: &PgPool, acting: &Acting, form_id: i32) -> Result<Form> {
    let mut tx = acting::begin(pool, acting).await?;
    lock_pending(&mut tx, form_id).await?;
    sqlx::query("UPDATE forms SET status = 'declined', declined_at = now() WHERE id = $1")
        .bind(form_id)
        .execute(&mut *tx)
        .await?;
    let form = one_form(&mut tx, form_id).await?;
    tx.commit().await?;
    Ok(form)
}

/// Withdraws a granted consent, with a reason; it takes effect in the same transaction (for
/// profile sharing: the organization stops seeing the portable profile).
pub async fn withdraw(pool: &PgPool, acting: &Acting, consent_id: i32, reason: &str) -> Result<Consent> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "Say why the consent is withdrawn."));
    }
    if reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "The reason may have at most 500 characters."));
    }
    let mut tx = acting::begin(pool, acting).await?;
    let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as("SELECT withdrawn_at FROM consents WHERE id = $1 FOR UPDATE")
        .bind(consent_id)
        .fetch_optional(&mut *tx)
        .await?;
    match row {
        None => return Err(Error::not_found("consent")),
        Some((Some(_),)) => {
            return Err(Error::new(ErrorCode::InvalidStateTransition, "This consent was already withdrawn."));
        }
        Some((None,)) => {}
    }
    let (id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason): (
        i32,
        i32,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
    ) = sqlx::query_as(
        "UPDATE consents SET withdrawn_at = now(), withdraw_reason = $2 WHERE id = $1
         RETURNING id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason",
    )
    .bind(consent_id)
    .bind(reason)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Consent { id, form_id, consent_type, granted_at, withdrawn_at, withdraw_reason })
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
pub async fn consent_kinds(pool: &PgPool) -> Result<Vec<ConsentKind>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT code, label FROM consent_types ORDER BY code").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(code, label)| ConsentKind { code, label }).collect())
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

/// Creates a template (no version yet) in the admin's organization.
pub async fn create_template(pool: &PgPool, t: &NewTemplate) -> Result<Template> {
    let key = t.key.trim();
    if !slug_ok(key) {
        return Err(Error::invalid("key", "Use lower-case letters, digits and _ , starting with a letter (e.g. privacy_policy)."));
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
    let known: Vec<String> = sqlx::query_scalar("SELECT code FROM consent_types").fetch_all(pool).await?;
    if let Some(unknown) = consent_types.iter().find(|c| !known.contains(c)) {
        return Err(Error::invalid("consent_types", format!("'{unknown}' is not a known kind of consent ({}).", known.join(", "))));
    }
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO form_templates (organization_id, key, title, type, consent_types, must_sign_before)
         VALUES (current_staff_org(), $1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(key)
    .bind(title)
    .bind(form_type)
    .bind(&consent_types)
    .bind(must)
    .fetch_one(pool)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::AlreadyExists => Error::field(ErrorCode::AlreadyExists, "key", format!("A template '{key}' already exists.")),
        e if e.code == ErrorCode::Forbidden => Error::forbidden("Only administrators may write form templates, and only those of their own clinic."),
        e => e,
    })?;
    template(pool, id).await
}

/// Adds a draft version with the given text; it can be changed until it is published.
pub async fn add_version(pool: &PgPool, template_id: i32, body: &str) -> Result<TemplateVersion> {
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "Write the text the patient will read and sign."));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid("body", format!("The text may have at most {MAX_BODY_CHARS} characters.")));
    }
    let row: (i32, i32, Vec<u8>, Option<DateTime<Utc>>) = sqlx::query_as(
        "INSERT INTO form_template_versions (template_id, version, body)
         SELECT $1, coalesce(max(version), 0) + 1, $2 FROM form_template_versions WHERE template_id = $1
         RETURNING id, version, body_sha256, published_at",
    )
    .bind(template_id)
    .bind(body)
    .fetch_one(pool)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::NotFound => Error::not_found("form template"),
        e if e.code == ErrorCode::Forbidden => Error::forbidden("Only administrators may write form templates, and only those of their own clinic."),
        e => e,
    })?;
    Ok(TemplateVersion { id: row.0, template_id, version: row.1, body: body.to_string(), sha256: hex::encode(row.2), published_at: row.3 })
}

/// Publishes a draft version (from then on it cannot change) and lets it supersede the pending
/// forms of older versions: each gets a new pending form of this version, in one transaction.
pub async fn publish(pool: &PgPool, version_id: i32) -> Result<Published> {
    let mut tx = pool.begin().await?;
    let row: Option<(i32, i32, Option<DateTime<Utc>>, Option<i32>)> = sqlx::query_as(
        "SELECT v.template_id, v.version, v.published_at,
                (SELECT max(o.version) FROM form_template_versions o WHERE o.template_id = v.template_id AND o.published_at IS NOT NULL)
           FROM form_template_versions v WHERE v.id = $1 FOR UPDATE",
    )
    .bind(version_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (template_id, version, published_at, newest) = row.ok_or_else(|| Error::not_found("form template version"))?;
    if published_at.is_some() {
        return Err(Error::new(ErrorCode::InvalidStateTransition, format!("Version {version} is already published.")));
    }
    if newest.is_some_and(|n| n > version) {
        return Err(Error::new(
            ErrorCode::InvalidStateTransition,
            format!("Version {} is already published; a new text needs a new version.", newest.unwrap_or_default()),
        ));
    }
    let (body, sha, published_at): (String, Vec<u8>, DateTime<Utc>) = sqlx::query_as(
        "UPDATE form_template_versions SET published_at = now() WHERE id = $1 RETURNING body, body_sha256, published_at",
    )
    .bind(version_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::Forbidden => Error::forbidden("Only administrators may publish form templates."),
        e => e,
    })?;
    let superseded: i64 = sqlx::query_scalar(
        "WITH old AS (
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
         SELECT count(*) FROM done",
    )
    .bind(template_id)
    .bind(version_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Published {
        version: TemplateVersion { id: version_id, template_id, version, body, sha256: hex::encode(sha), published_at: Some(published_at) },
        superseded: superseded as u32,
    })
}

type TemplateRow = (i32, Option<i32>, String, String, String, Vec<String>, Option<String>);

async fn templates_where(pool: &PgPool, condition: &str, id: Option<i32>) -> Result<Vec<Template>> {
    let rows: Vec<TemplateRow> = sqlx::query_as(&format!(
        "SELECT id, organization_id, key, title, type, consent_types, must_sign_before FROM form_templates
          WHERE {condition} ORDER BY title, id"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    let versions: Vec<(i32, i32, i32, String, Vec<u8>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT id, template_id, version, body, body_sha256, published_at FROM form_template_versions
          WHERE template_id = ANY($1) ORDER BY version",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, organization_id, key, title, form_type, consent_types, must_sign_before)| Template {
            id,
            organization_id,
            key,
            title,
            form_type,
            consent_types,
            must_sign_before,
            versions: versions
                .iter()
                .filter(|v| v.1 == id)
                .map(|v| TemplateVersion {
                    id: v.0,
                    template_id: v.1,
                    version: v.2,
                    body: v.3.clone(),
                    sha256: hex::encode(&v.4),
                    published_at: v.5,
                })
                .collect(),
        })
        .collect())
}

async fn template(pool: &PgPool, id: i32) -> Result<Template> {
    templates_where(pool, "id = $1", Some(id)).await?.pop().ok_or_else(|| Error::not_found("form template"))
}

/// The templates of the signed-in staff member's organization (and the clinic-wide ones).
pub async fn list_templates(pool: &PgPool) -> Result<Vec<Template>> {
    templates_where(pool, "(organization_id IS NULL OR organization_id = current_staff_org() OR current_staff_org() IS NULL) AND $1::int IS NULL", None).await
}
