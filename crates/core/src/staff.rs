//! Staff members: each is a PostgreSQL login role in exactly one clinic role, plus a row in
//! `staff`. Created by the database owner (`digimed staff add`) or by a clinic's administrator
//! (the console's Admin screen), deactivated and reactivated by administrators.

use digimed_crypto::Secret;
use digimed_domain::{Email, PersonName};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::session::AppRole;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
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

/// A SCRAM-SHA-256 verifier as PostgreSQL stores it (random salt, 4096 iterations, the password
/// prepared as PostgreSQL does), computed here so the plain password never reaches the server
/// (nor its statement log).
pub fn scram_verifier(password: &Secret<String>) -> String {
    postgres_protocol::password::scram_sha_256(password.expose().as_bytes())
}

/// Creates a staff member: the login role (named by their e-mail address), its membership in the
/// clinic role, and the `staff` row, in one transaction. Login names are unique in the whole
/// cluster, so a name already used by any database of the cluster is refused. The owner's
/// operation (`digimed staff add`).
pub async fn add_staff(
    tx: &mut ClinicTx,
    email: &Email,
    name: &PersonName,
    role: AppRole,
    organization_id: Option<i32>,
    password: &Secret<String>,
) -> Result<StaffMember> {
    tx.require(Capability::CreateLogins)?;
    check_password(password, email)?;
    let org = match organization_id {
        Some(id) => sqlx::query_scalar!("SELECT id FROM organizations WHERE id = $1 AND kind = 'clinic'", id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| Error::field(ErrorCode::NotFound, "org", format!("There is no clinic with id {id}.")))?,
        None => {
            let clinics = sqlx::query_scalar!("SELECT id FROM organizations WHERE kind = 'clinic' ORDER BY id")
                .fetch_all(tx.conn())
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
    ensure_login_free(tx, &login).await?;
    create_login_role(tx, &login, &scram_verifier(password), role.as_str()).await?;
    let member = insert_staff_row(tx, &login, name, role, org).await?;
    tracing::info!(staff_id = member.id, role = role.as_str(), "staff member created");
    Ok(member)
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
        f.debug_struct("NewStaffInput")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Adds a staff member to the acting administrator's own clinic (the console's Admin screen).
/// The administrator inserts the `staff` row; the database creates its login role (named by the
/// e-mail address, in the clinic role given) from the password's SCRAM verifier, in the same
/// transaction, and refuses a login that already exists anywhere on the server.
pub async fn add_to_own_clinic(tx: &mut ClinicTx, input: &NewStaffInput) -> Result<StaffMember> {
    tx.require(Capability::ManageStaff)?;
    let email = Email::parse(&input.email).map_err(|e| Error::refused("email", e.code(), e))?;
    let name = PersonName::parse(&input.name).map_err(|e| Error::refused("name", e.code(), e))?;
    let role = AppRole::parse(&input.role)?;
    let password = Secret::new(input.password.clone());
    check_password(&password, &email)?;
    let login = email.as_str().to_string();
    let clinic = tx.staff()?.organization_id;
    ensure_login_free(tx, &login).await?;
    sqlx::query_scalar!(r#"SELECT set_config('digimed.new_login_verifier', $1, true) AS "set!""#, scram_verifier(&password))
        .fetch_one(tx.conn())
        .await?;
    let member = insert_staff_row(tx, &login, &name, role, clinic).await?;
    sqlx::query_scalar!(r#"SELECT set_config('digimed.new_login_verifier', '', true) AS "set!""#).fetch_one(tx.conn()).await?;
    tracing::info!(staff_id = member.id, role = role.as_str(), "staff member added by an administrator");
    Ok(member)
}

/// The `staff` row of a login (named by the e-mail address): a new, active member of `clinic`.
async fn insert_staff_row(tx: &mut ClinicTx, login: &str, name: &PersonName, role: AppRole, clinic: i32) -> Result<StaffMember> {
    let id = sqlx::query_scalar!(
        "INSERT INTO staff (login_role, email, name, role, organization_id) VALUES ($1, $1, $2, $3, $4) RETURNING id",
        login,
        name.as_str(),
        role as AppRole,
        clinic,
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(StaffMember {
        id,
        login: login.to_string(),
        email: login.to_string(),
        name: name.as_str().to_string(),
        role,
        organization_id: clinic,
        active: true,
    })
}

/// Refuses, naming the e-mail field, a login name already used anywhere on the database server
/// (login roles belong to the whole cluster, not to one database).
async fn ensure_login_free(tx: &mut ClinicTx, login: &str) -> Result<()> {
    ensure_role_name_free(tx, login, "email", "A login with this e-mail address already exists on this database server.").await
}

/// Refuses a login name already used anywhere on the database server, naming `field`.
pub(crate) async fn ensure_role_name_free(tx: &mut ClinicTx, login: &str, field: &str, message: &str) -> Result<()> {
    let taken = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS "taken!""#, login)
        .fetch_one(tx.conn())
        .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, field, message));
    }
    Ok(())
}

/// Creates a login role whose password is `verifier`, a member of `in_role`, inside the caller's
/// transaction. Identifiers and the verifier cannot be bind parameters of CREATE ROLE, so they
/// are handed over as settings local to the transaction and the server builds the statement
/// itself (quoting with `format`): the verifier never appears in the text of a statement, so
/// neither the client's statement log nor the server's DDL log shows it.
pub(crate) async fn create_login_role(tx: &mut ClinicTx, login: &str, verifier: &str, in_role: &str) -> Result<()> {
    tx.require(Capability::CreateLogins)?;
    sqlx::query!(
        r#"SELECT set_config('digimed.new_login', $1, true) AS "login!", set_config('digimed.new_login_verifier', $2, true) AS "verifier!",
                  set_config('digimed.new_login_in_role', $3, true) AS "in_role!""#,
        login,
        verifier,
        in_role,
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::raw_sql(
        "DO $$ BEGIN
           EXECUTE format('CREATE ROLE %I LOGIN INHERIT PASSWORD %L IN ROLE %I', current_setting('digimed.new_login'),
                          current_setting('digimed.new_login_verifier'), current_setting('digimed.new_login_in_role'));
         END $$",
    )
    .execute(tx.conn())
    .await?;
    sqlx::query_scalar!(r#"SELECT set_config('digimed.new_login_verifier', '', true) AS "set!""#).fetch_one(tx.conn()).await?;
    Ok(())
}

/// Lists staff: the acting staff member's clinic, or every clinic's for the owner.
pub async fn list_staff(tx: &mut ClinicTx) -> Result<Vec<StaffMember>> {
    let clinic = tx.clinic();
    Ok(sqlx::query_as!(
        StaffMember,
        r#"SELECT id, login_role AS login, email, name, role AS "role: AppRole", organization_id, active FROM staff
            WHERE $1::int IS NULL OR organization_id = $1 ORDER BY id"#,
        clinic,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// Deactivates a staff member (their login can no longer sign in) or reactivates them. An admin
/// changes only their own clinic's staff and never deactivates themselves; the database holds
/// both rules and takes the login's LOGIN right away or gives it back in the same transaction.
pub async fn set_active(tx: &mut ClinicTx, staff_id: i32, active: bool) -> Result<StaffMember> {
    tx.require(Capability::ManageStaff)?;
    if !active && tx.staff().is_ok_and(|me| me.staff_id == staff_id) {
        return Err(Error::invalid("staff_id", "You cannot deactivate your own login; another administrator can."));
    }
    let member = sqlx::query_as!(
        StaffMember,
        r#"UPDATE staff SET active = $2 WHERE id = $1
           RETURNING id, login_role AS login, email, name, role AS "role: AppRole", organization_id, active"#,
        staff_id,
        active,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "staff_id", "There is no such staff member in your clinic."))?;
    tracing::info!(staff_id = member.id, active, "staff member's activity changed");
    Ok(member)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn verifier_has_postgres_format_and_a_fresh_salt() {
        use base64::engine::general_purpose::STANDARD as B64;
        use base64::Engine;
        let password = Secret::new("correct horse battery".to_string());
        let v = scram_verifier(&password);
        // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
        let (head, keys) =
            v.split_once('$').and_then(|(m, rest)| Some((m, rest.split_once('$')?))).map(|(m, (i, k))| ((m, i), k)).unwrap();
        assert_eq!(head.0, "SCRAM-SHA-256");
        let (iterations, salt) = head.1.split_once(':').unwrap();
        assert_eq!(iterations, "4096");
        assert_eq!(B64.decode(salt).unwrap().len(), 16);
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!((B64.decode(stored).unwrap().len(), B64.decode(server).unwrap().len()), (32, 32));
        assert!(!v.contains("correct horse"));
        assert_ne!(v, scram_verifier(&password), "each verifier has its own salt");
    }
}
