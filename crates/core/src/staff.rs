//! Staff members: each is a PostgreSQL login role in exactly one clinic role, plus a row in
//! `staff`. Created by the database owner (`digimed staff add`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use digimed_crypto::Secret;
use digimed_domain::{Email, PersonName};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{Error, ErrorCode, Result};
use crate::session::AppRole;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StaffMember {
    pub id: i32,
    pub login: String,
    pub email: String,
    pub name: String,
    pub role: AppRole,
    pub organization_id: i32,
    /// False once deactivated: the login can no longer sign in.
    pub active: bool,
}

/// Minimum rules for a staff password: long enough, not trivially repetitive, not the login.
pub fn check_password(password: &Secret<String>, email: &Email) -> Result<()> {
    let p = password.expose();
    let weak = |m: &str| Error::field(ErrorCode::WeakPassword, "password", m.to_string());
    if p.trim().is_empty() {
        return Err(weak("The password is empty."));
    }
    if p.chars().count() < 12 {
        return Err(weak("The password must have at least 12 characters."));
    }
    let distinct: std::collections::HashSet<char> = p.chars().collect();
    if distinct.len() < 5 {
        return Err(weak("The password repeats too few different characters."));
    }
    if p.to_lowercase().contains(email.as_str().split('@').next().unwrap_or_default()) {
        return Err(weak("The password must not contain the login name."));
    }
    Ok(())
}

/// A SCRAM-SHA-256 verifier as PostgreSQL stores it, computed here so the plain password never
/// reaches the server (nor its statement log).
pub fn scram_verifier(password: &Secret<String>) -> String {
    const ITERATIONS: u32 = 4096;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salted = pbkdf2_sha256(password.expose().as_bytes(), &salt, ITERATIONS);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac_sha256(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        B64.encode(salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &block);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// Creates a staff member: the login role (named by their e-mail address), its membership in the
/// clinic role, and the `staff` row, in one transaction. Login names are unique in the whole
/// cluster, so a name already used by any database of the cluster is refused.
pub async fn add_staff(
    owner: &PgPool,
    email: &Email,
    name: &PersonName,
    role: AppRole,
    organization_id: Option<i32>,
    password: &Secret<String>,
) -> Result<StaffMember> {
    check_password(password, email)?;
    let mut tx = owner.begin().await?;
    let org = match organization_id {
        Some(id) => sqlx::query_scalar::<_, i32>("SELECT id FROM organizations WHERE id = $1 AND kind = 'clinic'")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::field(ErrorCode::NotFound, "org", format!("There is no clinic with id {id}.")))?,
        None => {
            let clinics: Vec<i32> =
                sqlx::query_scalar("SELECT id FROM organizations WHERE kind = 'clinic' ORDER BY id")
                    .fetch_all(&mut *tx)
                    .await?;
            match clinics.as_slice() {
                [only] => *only,
                [] => return Err(Error::field(ErrorCode::NotFound, "org", "There is no clinic yet; create one first.")),
                _ => {
                    return Err(Error::field(
                        ErrorCode::InvalidInput,
                        "org",
                        "There are several clinics; say which one with --org.",
                    ))
                }
            }
        }
    };
    let login = email.as_str().to_string();
    ensure_login_free(&mut tx, &login).await?;
    create_login_role(&mut tx, &login, &scram_verifier(password), role.as_str()).await?;
    let id: i32 = sqlx::query_scalar(
        "INSERT INTO staff (login_role, email, name, role, organization_id) VALUES ($1, $1, $2, $3, $4) RETURNING id",
    )
    .bind(&login)
    .bind(name.as_str())
    .bind(role.as_str())
    .bind(org)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(staff_id = id, role = role.as_str(), "staff member created");
    Ok(StaffMember { id, login: login.clone(), email: login, name: name.as_str().to_string(), role, organization_id: org, active: true })
}

/// A new staff member as the administrator typed them in.
#[derive(Clone, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewStaffInput {
    pub email: String,
    pub name: String,
    /// `secretary`, `doctor`, `customer_support` or `admin`.
    pub role: String,
    /// The first password, which the staff member changes; never logged or stored in plain text.
    pub password: String,
}

impl std::fmt::Debug for NewStaffInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaffInput").field("email", &self.email).field("role", &self.role).field("password", &"[redacted]").finish()
    }
}

/// Adds a staff member to the signed-in administrator's own clinic (the console's Admin screen).
/// The administrator inserts the `staff` row; the database creates its login role (named by the
/// e-mail address, in the clinic role given) from the password's SCRAM verifier, in the same
/// transaction, and refuses a login that already exists anywhere on the server.
pub async fn add_to_own_clinic(pool: &PgPool, input: &NewStaffInput) -> Result<StaffMember> {
    let email = Email::parse(&input.email).map_err(|e| Error::field(ErrorCode::InvalidEmailFormat, "email", e.to_string()))?;
    let name = PersonName::parse(&input.name).map_err(|e| Error::field(ErrorCode::InvalidName, "name", e.to_string()))?;
    let role = AppRole::parse(&input.role)?;
    let password = Secret::new(input.password.clone());
    let (email, name, password) = (&email, &name, &password);
    check_password(password, email)?;
    let login = email.as_str().to_string();
    let mut tx = pool.begin().await?;
    ensure_login_free(&mut tx, &login).await?;
    sqlx::query("SELECT set_config('digimed.new_login_verifier', $1, true)")
        .bind(scram_verifier(password))
        .execute(&mut *tx)
        .await?;
    let row: (i32, i32) = sqlx::query_as(
        "INSERT INTO staff (login_role, email, name, role, organization_id)
         VALUES ($1, $1, $2, $3, current_staff_org()) RETURNING id, organization_id",
    )
    .bind(&login)
    .bind(name.as_str())
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::Forbidden => Error::forbidden("Only administrators may add staff, and only to their own clinic."),
        e if e.code == ErrorCode::AlreadyExists => {
            Error::field(ErrorCode::AlreadyExists, "email", "A staff member with this e-mail address already exists.")
        }
        e => e,
    })?;
    sqlx::query("SELECT set_config('digimed.new_login_verifier', '', true)").execute(&mut *tx).await?;
    tx.commit().await?;
    let (id, organization_id) = row;
    tracing::info!(staff_id = id, role = role.as_str(), "staff member added by an administrator");
    Ok(StaffMember { id, login: login.clone(), email: login, name: name.as_str().to_string(), role, organization_id, active: true })
}

/// Refuses, naming the e-mail field, a login name already used anywhere on the database server
/// (login roles belong to the whole cluster, not to one database).
async fn ensure_login_free(conn: &mut sqlx::PgConnection, login: &str) -> Result<()> {
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(login)
        .fetch_one(&mut *conn)
        .await?;
    if taken {
        return Err(Error::field(
            ErrorCode::AlreadyExists,
            "email",
            "A login with this e-mail address already exists on this database server.",
        ));
    }
    Ok(())
}

/// Creates a login role whose password is `verifier`, a member of `in_role`, inside the caller's
/// transaction. Identifiers and the verifier cannot be bind parameters of CREATE ROLE, so they
/// are handed over as settings local to the transaction and the server builds the statement
/// itself (quoting with `format`): the verifier never appears in the text of a statement, so
/// neither the client's statement log nor the server's DDL log shows it.
pub(crate) async fn create_login_role(conn: &mut sqlx::PgConnection, login: &str, verifier: &str, in_role: &str) -> Result<()> {
    sqlx::query(
        "SELECT set_config('digimed.new_login', $1, true), set_config('digimed.new_login_verifier', $2, true),
                set_config('digimed.new_login_in_role', $3, true)",
    )
    .bind(login)
    .bind(verifier)
    .bind(in_role)
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql(
        "DO $$ BEGIN
           EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L IN ROLE %I', current_setting('digimed.new_login'),
                          current_setting('digimed.new_login_verifier'), current_setting('digimed.new_login_in_role'));
         END $$",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT set_config('digimed.new_login_verifier', '', true)").execute(&mut *conn).await?;
    Ok(())
}

/// Lists staff: the signed-in staff member's clinic, or every clinic's for the owner.
pub async fn list_staff(pool: &PgPool) -> Result<Vec<StaffMember>> {
    let rows: Vec<(i32, String, String, String, String, i32, bool)> = sqlx::query_as(
        "SELECT id, login_role, email, name, role, organization_id, active FROM staff
          WHERE current_staff_org() IS NULL OR organization_id = current_staff_org() ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, login, email, name, role, organization_id, active)| {
            Ok(StaffMember { id, login, email, name, role: AppRole::parse(&role)?, organization_id, active })
        })
        .collect()
}

/// Deactivates a staff member (their login can no longer sign in) or reactivates them. An admin
/// changes only their own clinic's staff and never deactivates themselves; the database holds
/// both rules and takes the login's LOGIN right away or gives it back in the same transaction.
pub async fn set_active(pool: &PgPool, staff_id: i32, active: bool) -> Result<StaffMember> {
    let mut tx = pool.begin().await?;
    let me: Option<i32> = sqlx::query_scalar("SELECT current_staff_id()").fetch_one(&mut *tx).await?;
    if !active && me == Some(staff_id) {
        return Err(Error::invalid("staff_id", "You cannot deactivate your own login; another administrator can."));
    }
    let row: Option<(i32, String, String, String, String, i32, bool)> = sqlx::query_as(
        "UPDATE staff SET active = $2 WHERE id = $1 RETURNING id, login_role, email, name, role, organization_id, active",
    )
    .bind(staff_id)
    .bind(active)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::Forbidden => {
            Error::forbidden("Only administrators may deactivate or reactivate staff, and only their own clinic's.")
        }
        e => e,
    })?;
    let (id, login, email, name, role, organization_id, active) =
        row.ok_or_else(|| Error::field(ErrorCode::NotFound, "staff_id", "There is no such staff member in your clinic."))?;
    tx.commit().await?;
    tracing::info!(staff_id = id, active, "staff member's activity changed");
    Ok(StaffMember { id, login, email, name, role: AppRole::parse(&role)?, organization_id, active })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_rfc7914_vector() {
        // PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, first 32 bytes (RFC 7914 section 11).
        let out = pbkdf2_sha256(b"passwd", b"salt", 1);
        assert_eq!(hex::encode(out), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    }

    #[test]
    fn weak_passwords_are_refused_with_the_field_named() {
        let email = Email::parse("kari.nordmann@clinic.test").unwrap();
        for p in ["", "short", "aaaaaaaaaaaaaaaa", "kari.nordmann-Secret-1"] {
            let e = check_password(&Secret::new(p.to_string()), &email).unwrap_err();
            assert_eq!(e.code, ErrorCode::WeakPassword, "{p:?}");
            assert_eq!(e.field.as_deref(), Some("password"));
        }
        check_password(&Secret::new("correct horse battery".to_string()), &email).unwrap();
    }

    #[test]
    fn verifier_has_postgres_format() {
        let v = scram_verifier(&Secret::new("correct horse battery".to_string()));
        assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
        assert!(!v.contains("correct horse"));
    }
}
