//! Partner referrals (seed 001): a partner such as Pridok posts a signed JSON referral; the clinic
//! fetches or creates the patient, keeps the raw payload encrypted and puts a consultation in the
//! queue. [`receive`] is the one intake path, used by the webhook route and by
//! `digimed referral import`.

use chrono::{DateTime, Utc};
use digimed_domain::{Email, NationalId, NationalIdError, PersonName, Phone};
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{index_kind, Vault};
use crate::patients::{create_person, link_patient, EntryPoint, NewPerson, PersonStatus};
use crate::webhook_signature::{self, SignedHeaders, SigningKey};

/// A referral partner and the clinic that serves its referrals.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Partner {
    pub id: i32,
    pub name: String,
    pub organization_id: i32,
    pub clinic_id: i32,
    /// Accepts synthetic (test) national id numbers.
    pub is_test_partner: bool,
    /// The contractual time to start a consultation, in working days.
    pub deadline_working_days: i32,
}

type PartnerRow = (i32, String, i32, i32, bool, i32);

const PARTNER_COLUMNS: &str = "id, name, organization_id, clinic_id, is_test_partner, deadline_working_days";

fn partner_from(r: PartnerRow) -> Partner {
    Partner {
        id: r.0,
        name: r.1,
        organization_id: r.2,
        clinic_id: r.3,
        is_test_partner: r.4,
        deadline_working_days: r.5,
    }
}

/// Finds a partner by its name.
pub async fn partner_by_name(pool: &PgPool, name: &str) -> Result<Partner> {
    sqlx::query_as::<_, PartnerRow>(&format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE name = $1"))
        .bind(name.trim())
        .fetch_optional(pool)
        .await?
        .map(partner_from)
        .ok_or_else(|| Error::field(ErrorCode::NotFound, "partner", "There is no partner with that name."))
}

/// What `digimed partner add` asks for.
#[derive(Debug, Clone)]
pub struct NewPartner<'a> {
    pub name: &'a str,
    pub clinic_id: i32,
    pub is_test_partner: bool,
    pub deadline_working_days: i32,
    pub deal_id: Option<&'a str>,
}

/// A partner as a list of choices shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerOption {
    pub id: i32,
    pub name: String,
}

/// The partners of the signed-in staff member's clinic (every partner for the owner).
pub async fn list_partners(pool: &PgPool) -> Result<Vec<PartnerOption>> {
    let rows: Vec<(i32, String)> = sqlx::query_as(
        "SELECT id, name FROM partners WHERE current_staff_org() IS NULL OR clinic_id = current_staff_org() ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, name)| PartnerOption { id, name }).collect())
}

fn check_new_partner(name: &str, deadline_working_days: i32) -> Result<&str> {
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name.len() <= 63
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(Error::field(
            ErrorCode::InvalidInput,
            "name",
            "A partner name is lower-case letters, digits, '-' and '_' (e.g. pridok).",
        ));
    }
    if !(1..=60).contains(&deadline_working_days) {
        return Err(Error::field(ErrorCode::InvalidInput, "deadline_days", "The deadline is 1 to 60 working days."));
    }
    Ok(name)
}

/// Inserts a new partner (and its insurer organization, unless one of that name exists) with
/// its webhook secret encrypted for its own row; returns its id.
async fn insert_partner(conn: &mut PgConnection, vault: &Vault, name: &str, clinic_id: i32, p: &NewPartner<'_>, secret: &str) -> Result<i32> {
    let org: i32 = match sqlx::query_scalar::<_, i32>("SELECT id FROM organizations WHERE name = $1 AND kind = 'insurer_partner'")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    {
        Some(org) => org,
        None => sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ($1, 'insurer_partner') RETURNING id")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?,
    };
    let id: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('partners', 'id'))::int")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO partners (id, organization_id, clinic_id, name, webhook_secret_encrypted, is_test_partner,
                               deadline_working_days, deal_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(org)
    .bind(clinic_id)
    .bind(name)
    .bind(vault.encrypt("partners", "webhook_secret_encrypted", id as i64, secret.trim()))
    .bind(p.is_test_partner)
    .bind(p.deadline_working_days)
    .bind(p.deal_id)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

async fn partner_row(conn: &mut PgConnection, id: i32) -> Result<Partner> {
    Ok(sqlx::query_as::<_, PartnerRow>(&format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map(partner_from)?)
}

/// Creates a partner (and its organization) with its webhook secret encrypted, or replaces the
/// secret and settings of an existing partner of that name. Runs as the database owner or an admin.
pub async fn add_partner(pool: &PgPool, vault: &Vault, p: &NewPartner<'_>, secret: &str) -> Result<Partner> {
    SigningKey::from_secret(secret)?;
    let name = check_new_partner(p.name, p.deadline_working_days)?;
    let mut tx = pool.begin().await?;
    let clinic: Option<i32> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 AND kind = 'clinic'")
        .bind(p.clinic_id)
        .fetch_optional(&mut *tx)
        .await?;
    if clinic.is_none() {
        return Err(Error::field(ErrorCode::NotFound, "clinic", "There is no clinic with that id."));
    }
    let existing: Option<i32> = sqlx::query_scalar("SELECT id FROM partners WHERE name = $1 FOR UPDATE")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let id = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE partners SET clinic_id = $2, is_test_partner = $3, deadline_working_days = $4,
                        deal_id = coalesce($5, deal_id), webhook_secret_encrypted = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(p.clinic_id)
            .bind(p.is_test_partner)
            .bind(p.deadline_working_days)
            .bind(p.deal_id)
            .bind(vault.encrypt("partners", "webhook_secret_encrypted", id as i64, secret.trim()))
            .execute(&mut *tx)
            .await?;
            id
        }
        None => insert_partner(&mut tx, vault, name, p.clinic_id, p, secret).await?,
    };
    let partner = partner_row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(partner)
}

/// A partner an administrator adds to their own clinic from the console.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerInput {
    /// e.g. `pridok`.
    pub name: String,
    /// The contractual time to start a consultation, in working days (1 to 60).
    pub deadline_working_days: i32,
    /// Accepts synthetic (test) national id numbers.
    pub is_test_partner: bool,
    /// The webhook secret agreed with the partner; none or empty: a new one is generated.
    pub secret: Option<String>,
}

/// A partner just created, with its webhook secret: shown this once, stored only encrypted.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CreatedPartner {
    pub partner: Partner,
    pub secret: String,
}

/// A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
pub fn generate_webhook_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// Adds a new partner to the signed-in administrator's clinic, with the webhook secret given or
/// a generated one, encrypted. Unlike [`add_partner`] it never replaces an existing partner: a
/// name already taken is refused. The database lets an admin add partners only to their clinic.
pub async fn create_partner(pool: &PgPool, vault: &Vault, input: &PartnerInput) -> Result<CreatedPartner> {
    let name = check_new_partner(&input.name, input.deadline_working_days)?;
    let secret = match input.secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(given) => given.to_string(),
        None => generate_webhook_secret(),
    };
    SigningKey::from_secret(&secret)?;
    let mut tx = pool.begin().await?;
    let clinic: Option<i32> = sqlx::query_scalar("SELECT current_staff_org()").fetch_one(&mut *tx).await?;
    let clinic = clinic.ok_or_else(|| {
        Error::forbidden("Sign in as an administrator of a clinic to add its partners (the database owner uses `digimed partner add`).")
    })?;
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM partners WHERE name = $1)")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "name", format!("A partner '{name}' already exists.")));
    }
    let p = NewPartner { name, clinic_id: clinic, is_test_partner: input.is_test_partner, deadline_working_days: input.deadline_working_days, deal_id: None };
    let id = insert_partner(&mut tx, vault, name, clinic, &p, &secret).await.map_err(|e| match e {
        e if e.code == ErrorCode::Forbidden => Error::forbidden("Only administrators may add partners, and only to their own clinic."),
        e if e.code == ErrorCode::AlreadyExists => Error::field(ErrorCode::AlreadyExists, "name", format!("A partner '{name}' already exists.")),
        e => e,
    })?;
    let partner = partner_row(&mut tx, id).await?;
    tx.commit().await?;
    Ok(CreatedPartner { partner, secret })
}

/// Finds the partner whose webhook secret signed this message (Standard Webhooks headers).
/// `partner_name` narrows the search when the caller knows it. Any failure is `Unauthorized`
/// and says only which check failed. Needs read access to the secrets (the service role or owner).
pub async fn authenticate(
    pool: &PgPool,
    vault: &Vault,
    partner_name: Option<&str>,
    headers: &SignedHeaders<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Partner> {
    webhook_signature::check_headers(headers, now.timestamp())?;
    type SecretRow = (i32, String, i32, i32, bool, i32, Vec<u8>);
    let rows: Vec<SecretRow> = sqlx::query_as(&format!(
        "SELECT {PARTNER_COLUMNS}, webhook_secret_encrypted FROM partners
          WHERE webhook_secret_encrypted IS NOT NULL AND ($1::text IS NULL OR name = $1) ORDER BY id"
    ))
    .bind(partner_name.map(str::trim))
    .fetch_all(pool)
    .await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut partners = Vec::with_capacity(rows.len());
    for (id, name, org, clinic, test, days, ct) in rows {
        let secret = vault.decrypt("partners", "webhook_secret_encrypted", id as i64, &ct)?;
        if let Ok(key) = SigningKey::from_secret(&secret) {
            keys.push(key);
            partners.push(partner_from((id, name, org, clinic, test, days)));
        }
    }
    let i = webhook_signature::verify_any(&keys, headers, body, now.timestamp())?;
    Ok(partners.swap_remove(i))
}

/// A referral as seed 001 describes it, parsed and checked. Unknown fields are kept in `extra`.
#[derive(Debug, Clone)]
pub struct PridokReferral {
    pub journal_guid: Uuid,
    pub national_id: NationalId,
    pub format_id: Option<String>,
    pub message_timestamp: DateTime<Utc>,
    pub name: PersonName,
    pub email: Option<Email>,
    pub phone: Phone,
    pub extra: Map<String, Value>,
}

const KNOWN_FIELDS: &[&str] =
    &["JournalGuid", "PID", "FormatId", "MessageTimestamp", "Firstname", "Lastname", "Email", "PhoneNumber"];

fn national_id_code(e: &NationalIdError) -> ErrorCode {
    match e {
        NationalIdError::Required => ErrorCode::NationalIdRequired,
        NationalIdError::Invalid(_) => ErrorCode::InvalidNationalId,
        NationalIdError::SyntheticNotAllowed => ErrorCode::SyntheticNationalIdNotAllowed,
    }
}

impl PridokReferral {
    /// Parses and validates a referral body. Every invalid field is reported (in `details`); the
    /// error itself names the first, in the order of seed 001. Messages never repeat the values.
    pub fn parse(body: &[u8], allow_synthetic: bool) -> Result<PridokReferral> {
        let obj = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => o,
            _ => return Err(Error::new(ErrorCode::InvalidJson, "The body must be a JSON object.")),
        };
        let mut errors: Vec<(ErrorCode, &'static str, String)> = Vec::new();
        // A present, non-null string field; `None` when absent or null.
        let text = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str| -> Option<String> {
            match obj.get(field) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    errors.push((ErrorCode::InvalidInput, field, format!("{field} must be a string.")));
                    None
                }
            }
        };
        let required = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str, code: ErrorCode| {
            errors.push((code, field, format!("{field} is required.")));
        };

        let guid = text(&mut errors, "JournalGuid");
        let journal_guid = match guid.as_deref().map(str::trim) {
            _ if errors.iter().any(|e| e.1 == "JournalGuid") => None,
            None | Some("") => {
                required(&mut errors, "JournalGuid", ErrorCode::InvalidInput);
                None
            }
            Some(g) => match Uuid::parse_str(g) {
                Ok(u) => Some(u),
                Err(_) => {
                    errors.push((ErrorCode::InvalidInput, "JournalGuid", "JournalGuid must be a UUID.".into()));
                    None
                }
            },
        };

        let pid = text(&mut errors, "PID");
        let national_id = match pid {
            _ if errors.iter().any(|e| e.1 == "PID") => None,
            None => {
                required(&mut errors, "PID", ErrorCode::NationalIdRequired);
                None
            }
            Some(p) => match NationalId::parse(&p, allow_synthetic) {
                Ok(n) => Some(n),
                Err(e) => {
                    let msg = match e {
                        NationalIdError::SyntheticNotAllowed => {
                            "PID is a synthetic test number, which this partner may not send.".to_string()
                        }
                        NationalIdError::Required => "PID is required.".to_string(),
                        NationalIdError::Invalid(why) => {
                            format!("PID is not a valid fødselsnummer or D-number: {why}.")
                        }
                    };
                    errors.push((national_id_code(&e), "PID", msg));
                    None
                }
            },
        };

        let format_id = text(&mut errors, "FormatId").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        if format_id.as_ref().is_some_and(|f| f.chars().count() > 500) {
            errors.push((ErrorCode::InvalidInput, "FormatId", "FormatId is too long.".into()));
        }

        let ts = text(&mut errors, "MessageTimestamp");
        let message_timestamp = match ts.as_deref().map(str::trim) {
            None if errors.iter().any(|e| e.1 == "MessageTimestamp") => None,
            None | Some("") => {
                required(&mut errors, "MessageTimestamp", ErrorCode::InvalidInput);
                None
            }
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(d) => Some(d.with_timezone(&Utc)),
                Err(_) => {
                    errors.push((
                        ErrorCode::InvalidInput,
                        "MessageTimestamp",
                        "MessageTimestamp must be an RFC 3339 date and time with a zone.".into(),
                    ));
                    None
                }
            },
        };

        let name_part = |errors: &mut Vec<(ErrorCode, &'static str, String)>, field: &'static str| {
            let v = text(errors, field);
            match v {
                None if errors.iter().any(|e| e.1 == field) => None,
                None => {
                    required(errors, field, ErrorCode::NameRequired);
                    None
                }
                Some(s) => match PersonName::parse(&s) {
                    Ok(n) => Some(n),
                    Err(e) => {
                        let code = match e.code() {
                            "name_required" => ErrorCode::NameRequired,
                            "name_too_long" => ErrorCode::NameTooLong,
                            _ => ErrorCode::InvalidName,
                        };
                        errors.push((code, field, format!("{field}: {e}.")));
                        None
                    }
                },
            }
        };
        let first = name_part(&mut errors, "Firstname");
        let last = name_part(&mut errors, "Lastname");
        let name = match (first, last) {
            (Some(f), Some(l)) => match PersonName::parse(&format!("{} {}", f.as_str(), l.as_str())) {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push((ErrorCode::NameTooLong, "Lastname", "Firstname and Lastname together are too long.".into()));
                    None
                }
            },
            _ => None,
        };

        let email = match text(&mut errors, "Email").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => match Email::parse(e) {
                Ok(e) => Some(e),
                Err(_) => {
                    errors.push((ErrorCode::InvalidEmailFormat, "Email", "Email is not a valid e-mail address.".into()));
                    None
                }
            },
        };

        let phone_text = text(&mut errors, "PhoneNumber");
        let phone = match phone_text.as_deref().map(str::trim) {
            None if errors.iter().any(|e| e.1 == "PhoneNumber") => None,
            None | Some("") => {
                required(&mut errors, "PhoneNumber", ErrorCode::PhoneRequired);
                None
            }
            Some(p) if !p.starts_with('+') => {
                errors.push((
                    ErrorCode::InvalidPhoneFormat,
                    "PhoneNumber",
                    "PhoneNumber must be in E.164 form (+ and country code).".into(),
                ));
                None
            }
            Some(p) => match Phone::parse(p, "47") {
                Ok(ph) => Some(ph),
                Err(_) => {
                    errors.push((ErrorCode::InvalidPhoneFormat, "PhoneNumber", "PhoneNumber is not a valid phone number.".into()));
                    None
                }
            },
        };

        if let Some((code, field, message)) = errors.first().cloned() {
            let all: Vec<Value> = errors
                .iter()
                .map(|(c, f, m)| serde_json::json!({"field": f, "code": c.as_str(), "message": m}))
                .collect();
            return Err(Error::field(code, field, message).with_details(serde_json::json!({ "fields": all })));
        }
        let extra: Map<String, Value> =
            obj.into_iter().filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str())).collect();
        Ok(PridokReferral {
            journal_guid: journal_guid.expect("checked"),
            national_id: national_id.expect("checked"),
            format_id,
            message_timestamp: message_timestamp.expect("checked"),
            name: name.expect("checked"),
            email,
            phone: phone.expect("checked"),
            extra,
        })
    }
}

/// The answer to a referral: the same for the first delivery and every replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReferralReceipt {
    pub referral_id: i32,
    pub consultation_id: i32,
    pub patient_person_id: i32,
}

/// Whether a referral was new (HTTP 201) or a replay of one already received (HTTP 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    Created(ReferralReceipt),
    Replayed(ReferralReceipt),
}

impl Intake {
    pub fn receipt(&self) -> ReferralReceipt {
        match self {
            Intake::Created(r) | Intake::Replayed(r) => *r,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, Intake::Created(_))
    }
}

/// Receives one referral from `partner`: validates the body (nothing is written when a field is
/// invalid), then in one transaction fetches or creates the person by national id, links them to
/// the partner's clinic, stores the raw payload encrypted, and creates the consultation (ready for
/// pickup, with its contractual deadline), its order and line item, and an outbox event.
/// Idempotent on (partner, JournalGuid): a replay, concurrent or not, writes nothing and returns
/// the first receipt.
pub async fn receive(pool: &PgPool, vault: &Vault, partner: &Partner, body: &[u8]) -> Result<Intake> {
    let referral = PridokReferral::parse(body, partner.is_test_partner)?;
    let raw = std::str::from_utf8(body).map_err(|_| Error::new(ErrorCode::InvalidJson, "The body must be UTF-8 JSON."))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = pool.begin().await?;
        match receive_in(&mut tx, vault, partner, &referral, raw).await {
            Ok(intake) => {
                tx.commit().await?;
                if intake.is_new() {
                    tracing::info!(partner_id = partner.id, referral_id = intake.receipt().referral_id, "referral received");
                }
                return Ok(intake);
            }
            // A person created at the same moment by another path (unique national id index):
            // try again, and find them this time.
            Err(e) if e.code == ErrorCode::AlreadyExists && attempt < 3 => {
                drop(tx);
                continue;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn receive_in(
    conn: &mut PgConnection,
    vault: &Vault,
    partner: &Partner,
    r: &PridokReferral,
    raw: &str,
) -> Result<Intake> {
    // Concurrent deliveries of one referral wait here for each other.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("digimed:referral:{}:{}", partner.id, r.journal_guid))
        .execute(&mut *conn)
        .await?;
    if let Some(receipt) = find_receipt(conn, partner.id, r.journal_guid).await? {
        return Ok(Intake::Replayed(receipt));
    }

    let nid_index = vault.blind_index(index_kind::NATIONAL_ID, r.national_id.as_str());
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("digimed:person:{}", hex::encode(&nid_index)))
        .execute(&mut *conn)
        .await?;
    let existing: Option<i32> = sqlx::query_scalar("SELECT person_id_by_national_id_index($1)")
        .bind(&nid_index)
        .fetch_one(&mut *conn)
        .await?;
    let (person_id, new_person) = match existing {
        Some(id) => (id, false),
        None => {
            let id = create_person(
                conn,
                vault,
                NewPerson {
                    name: &r.name,
                    user_id: None,
                    date_of_birth: None,
                    national_id: Some(&r.national_id),
                    phone: Some(&r.phone),
                    status: PersonStatus::Active,
                    source_partner_id: Some(partner.id),
                },
            )
            .await?;
            (id, true)
        }
    };
    let linked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM patients WHERE patient_person_id = $1 AND organization_id = $2)",
    )
    .bind(person_id)
    .bind(partner.clinic_id)
    .fetch_one(&mut *conn)
    .await?;
    if !linked {
        link_patient(conn, person_id, partner.clinic_id, EntryPoint::PartnerReferral, new_person).await?;
    }

    let referral_id: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('referrals', 'id'))::int")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO referrals (id, partner_id, journal_guid, patient_person_id, format_id, message_timestamp, payload_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(referral_id)
    .bind(partner.id)
    .bind(r.journal_guid)
    .bind(person_id)
    .bind(r.format_id.as_deref())
    .bind(r.message_timestamp)
    .bind(vault.encrypt("referrals", "payload_encrypted", referral_id as i64, raw))
    .execute(&mut *conn)
    .await?;

    let consultation_id: i32 = sqlx::query_scalar(
        "INSERT INTO consultations (patient_person_id, organization_id, partner_id, referral_id, category, deadline_at)
         VALUES ($1, $2, $3, $4, 'insurance', add_working_days(now(), $5)) RETURNING id",
    )
    .bind(person_id)
    .bind(partner.clinic_id)
    .bind(partner.id)
    .bind(referral_id)
    .bind(partner.deadline_working_days)
    .fetch_one(&mut *conn)
    .await?;

    // The partner's order; the price follows its deal and is set when the order is invoiced.
    let order_id: i32 = sqlx::query_scalar(
        "INSERT INTO orders (clinic_id, customer_org_id, patient_person_id, consultation_id) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(partner.clinic_id)
    .bind(partner.organization_id)
    .bind(person_id)
    .bind(consultation_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO line_items (order_id, description, category, quantity, unit_price) VALUES ($1, 'Digimed consultation', 'insurance', 1, 0)",
    )
    .bind(order_id)
    .execute(&mut *conn)
    .await?;

    let receipt = ReferralReceipt { referral_id, consultation_id, patient_person_id: person_id };
    crate::outbox::enqueue(
        conn,
        "referral.received",
        Some(partner.clinic_id),
        &serde_json::json!({
            "referral_id": referral_id,
            "consultation_id": consultation_id,
            "patient_person_id": person_id,
            "partner_id": partner.id,
            "patient_created": new_person,
        }),
    )
    .await?;
    Ok(Intake::Created(receipt))
}

async fn find_receipt(conn: &mut PgConnection, partner_id: i32, guid: Uuid) -> Result<Option<ReferralReceipt>> {
    let row: Option<(i32, i32, i32)> = sqlx::query_as(
        "SELECT r.id, c.id, r.patient_person_id FROM referrals r JOIN consultations c ON c.referral_id = r.id
          WHERE r.partner_id = $1 AND r.journal_guid = $2",
    )
    .bind(partner_id)
    .bind(guid)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(referral_id, consultation_id, patient_person_id)| ReferralReceipt {
        referral_id,
        consultation_id,
        patient_person_id,
    }))
}

/// Decrypts the stored raw payload of a referral (for the screening secretary).
pub async fn raw_payload(pool: &PgPool, vault: &Vault, referral_id: i32) -> Result<Value> {
    let ct: Vec<u8> = sqlx::query_scalar("SELECT payload_encrypted FROM referrals WHERE id = $1")
        .bind(referral_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("The referral"))?;
    let text = vault.decrypt("referrals", "payload_encrypted", referral_id as i64, &ct)?;
    serde_json::from_str(&text).map_err(|_| Error::internal("The stored referral payload is not JSON."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_kept() {
        let nid = NationalId::synthetic(chrono::NaiveDate::from_ymd_opt(1969, 11, 13).unwrap(), 2).unwrap();
        let body = serde_json::json!({
            "JournalGuid": "240b54a7-8c2a-4c3c-80a4-0bc63e2c9493", "PID": nid.as_str(),
            "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
            "MessageTimestamp": "2022-11-08T22:51:10.1127156Z", "Firstname": "Line", "Lastname": "Danser",
            "PhoneNumber": "+4712345678", "Priority": 3
        });
        let r = PridokReferral::parse(body.to_string().as_bytes(), true).unwrap();
        assert_eq!(r.extra.get("Priority"), Some(&Value::from(3)));
        assert_eq!(r.name.as_str(), "Line Danser");
        assert!(r.email.is_none());
        let e = PridokReferral::parse(body.to_string().as_bytes(), false).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::SyntheticNationalIdNotAllowed, Some("PID")));
    }
}
