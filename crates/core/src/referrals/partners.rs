//! Referral partners (an insurer's referral channel such as Pridok) and their webhook secrets:
//! added by the owner (`digimed partner add`) or a clinic's administrator, and the signature
//! check that tells which partner sent a webhook.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Vault;
use crate::webhook_signature::{self, SignedHeaders, SigningKey};

/// A referral partner and the clinic that serves its referrals.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
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
    /// Its referrals are booked as they arrive, without screening.
    pub book_on_arrival: bool,
}

/// Finds a partner by its name.
pub async fn partner_by_name(tx: &mut ClinicTx, name: &str) -> Result<Partner> {
    sqlx::query_as!(
        Partner,
        "SELECT id, name, organization_id, clinic_id, is_test_partner, deadline_working_days, book_on_arrival
           FROM partners WHERE name = $1",
        name.trim(),
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "partner", "There is no partner with that name."))
}

async fn partner_row(tx: &mut ClinicTx, id: i32) -> Result<Partner> {
    Ok(sqlx::query_as!(
        Partner,
        "SELECT id, name, organization_id, clinic_id, is_test_partner, deadline_working_days, book_on_arrival
           FROM partners WHERE id = $1",
        id,
    )
    .fetch_one(tx.conn())
    .await?)
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

/// A partner as a list of choices (and the partner admin's list) shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PartnerOption {
    pub id: i32,
    pub name: String,
    /// Its referrals are booked as they arrive, without screening.
    pub book_on_arrival: bool,
}

/// The partners of the acting staff member's clinic (every partner for the owner).
pub async fn list_partners(tx: &mut ClinicTx) -> Result<Vec<PartnerOption>> {
    let clinic = tx.clinic();
    Ok(sqlx::query_as!(
        PartnerOption,
        "SELECT id, name, book_on_arrival FROM partners WHERE $1::int IS NULL OR clinic_id = $1 ORDER BY name",
        clinic,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Sets whether a partner's referrals are booked as they arrive (unassigned, video and chat)
/// instead of waiting for screening: an administrator for their own clinic's partners, or the
/// owner. Referrals already received stay as they are.
pub async fn set_book_on_arrival(tx: &mut ClinicTx, partner_id: i32, on: bool) -> Result<PartnerOption> {
    tx.require(Capability::ManagePartners)?;
    let clinic = tx.clinic();
    sqlx::query_as!(
        PartnerOption,
        "UPDATE partners SET book_on_arrival = $2 WHERE id = $1 AND ($3::int IS NULL OR clinic_id = $3)
         RETURNING id, name, book_on_arrival",
        partner_id,
        on,
        clinic,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "partner_id", "There is no such partner of your clinic."))
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
async fn insert_partner(tx: &mut ClinicTx, vault: &Vault, name: &str, p: &NewPartner<'_>, secret: &str) -> Result<i32> {
    let existing = sqlx::query_scalar!("SELECT id FROM organizations WHERE name = $1 AND kind = 'insurer_partner'", name)
        .fetch_optional(tx.conn())
        .await?;
    let org = match existing {
        Some(org) => org,
        None => {
            sqlx::query_scalar!("INSERT INTO organizations (name, kind) VALUES ($1, 'insurer_partner') RETURNING id", name)
                .fetch_one(tx.conn())
                .await?
        }
    };
    let id = sqlx::query_scalar!(r#"SELECT nextval(pg_get_serial_sequence('partners', 'id'))::int AS "id!""#)
        .fetch_one(tx.conn())
        .await?;
    sqlx::query!(
        "INSERT INTO partners (id, organization_id, clinic_id, name, webhook_secret_encrypted, is_test_partner,
                               deadline_working_days, deal_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        org,
        p.clinic_id,
        name,
        vault.encrypt("partners", "webhook_secret_encrypted", i64::from(id), secret.trim())?,
        p.is_test_partner,
        p.deadline_working_days,
        p.deal_id,
    )
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Creates a partner (and its organization) with its webhook secret encrypted, or replaces the
/// secret and settings of an existing partner of that name (the owner, or an administrator of
/// the partner's clinic).
pub async fn add_partner(tx: &mut ClinicTx, vault: &Vault, p: &NewPartner<'_>, secret: &str) -> Result<Partner> {
    tx.require(Capability::ManagePartners)?;
    SigningKey::from_secret(secret)?;
    let name = check_new_partner(p.name, p.deadline_working_days)?;
    let clinic = sqlx::query_scalar!("SELECT id FROM organizations WHERE id = $1 AND kind = 'clinic'", p.clinic_id)
        .fetch_optional(tx.conn())
        .await?;
    if clinic.is_none() {
        return Err(Error::field(ErrorCode::NotFound, "clinic", "There is no clinic with that id."));
    }
    let existing =
        sqlx::query_scalar!("SELECT id FROM partners WHERE name = $1 FOR UPDATE", name).fetch_optional(tx.conn()).await?;
    let id = match existing {
        Some(id) => {
            sqlx::query!(
                "UPDATE partners SET clinic_id = $2, is_test_partner = $3, deadline_working_days = $4,
                        deal_id = coalesce($5, deal_id), webhook_secret_encrypted = $6 WHERE id = $1",
                id,
                p.clinic_id,
                p.is_test_partner,
                p.deadline_working_days,
                p.deal_id,
                vault.encrypt("partners", "webhook_secret_encrypted", i64::from(id), secret.trim())?,
            )
            .execute(tx.conn())
            .await?;
            id
        }
        None => insert_partner(tx, vault, name, p, secret).await?,
    };
    partner_row(tx, id).await
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
    /// Book its referrals as they arrive, without screening.
    #[serde(default)]
    pub book_on_arrival: bool,
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

/// Adds a new partner to the acting administrator's clinic, with the webhook secret given or a
/// generated one, encrypted. Unlike [`add_partner`] it never replaces an existing partner: a
/// name already taken is refused.
pub async fn create_partner(tx: &mut ClinicTx, vault: &Vault, input: &PartnerInput) -> Result<CreatedPartner> {
    tx.require(Capability::ManagePartners)?;
    let clinic = tx.staff()?.organization_id;
    let name = check_new_partner(&input.name, input.deadline_working_days)?;
    let secret = match input.secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(given) => given.to_string(),
        None => generate_webhook_secret(),
    };
    SigningKey::from_secret(&secret)?;
    let taken = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM partners WHERE name = $1) AS "taken!""#, name)
        .fetch_one(tx.conn())
        .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "name", format!("A partner '{name}' already exists.")));
    }
    let p = NewPartner {
        name,
        clinic_id: clinic,
        is_test_partner: input.is_test_partner,
        deadline_working_days: input.deadline_working_days,
        deal_id: None,
    };
    let id = insert_partner(tx, vault, name, &p, &secret).await?;
    if input.book_on_arrival {
        set_book_on_arrival(tx, id, true).await?;
    }
    let partner = partner_row(tx, id).await?;
    Ok(CreatedPartner { partner, secret })
}

/// Finds the partner whose webhook secret signed this message (Standard Webhooks headers).
/// `partner_name` narrows the search when the caller knows it. Any failure is `Unauthorized`
/// and says only which check failed. Needs the webhook secrets: the service or the owner.
pub async fn authenticate(
    tx: &mut ClinicTx,
    vault: &Vault,
    partner_name: Option<&str>,
    headers: &SignedHeaders<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Partner> {
    tx.require(Capability::AuthenticateCallers)?;
    webhook_signature::check_headers(headers, now.timestamp())?;
    let rows = sqlx::query!(
        r#"SELECT id, name, organization_id, clinic_id, is_test_partner, deadline_working_days, book_on_arrival,
                  webhook_secret_encrypted AS "secret!"
             FROM partners
            WHERE webhook_secret_encrypted IS NOT NULL AND ($1::text IS NULL OR name = $1) ORDER BY id"#,
        partner_name.map(str::trim),
    )
    .fetch_all(tx.conn())
    .await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut partners = Vec::with_capacity(rows.len());
    for r in rows {
        let secret = vault.decrypt("partners", "webhook_secret_encrypted", i64::from(r.id), &r.secret)?;
        if let Ok(key) = SigningKey::from_secret(&secret) {
            keys.push(key);
            partners.push(Partner {
                id: r.id,
                name: r.name,
                organization_id: r.organization_id,
                clinic_id: r.clinic_id,
                is_test_partner: r.is_test_partner,
                deadline_working_days: r.deadline_working_days,
                book_on_arrival: r.book_on_arrival,
            });
        }
    }
    let i = webhook_signature::verify_any(&keys, headers, body)?;
    Ok(partners.swap_remove(i))
}
