//! The list of consultation outcomes a result may name ("Referred GP", "Helped",
//! "Unable", extendable by admins). An outcome is retired rather than removed, so that earlier
//! results keep their meaning; the database lets only admins change the list and audits it.

use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Outcome {
    pub code: String,
    pub label: String,
    pub active: bool,
}

/// Every outcome, the active ones first, by label.
pub async fn list(tx: &mut ClinicTx) -> Result<Vec<Outcome>> {
    Ok(sqlx::query_as!(Outcome, "SELECT code, label, active FROM result_outcomes ORDER BY NOT active, label")
        .fetch_all(tx.conn())
        .await?)
}

/// Turns a label into the outcome's code: `Referred to specialist` → `referred_to_specialist`.
pub fn code_for(label: &str) -> String {
    let mut code = String::new();
    for c in crate::icpc2::fold(label).chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c);
        } else if !code.ends_with('_') {
            code.push('_');
        }
    }
    code.trim_matches('_').to_string()
}

/// Adds an outcome (as an admin). Its code is derived from the label.
pub async fn add(tx: &mut ClinicTx, label: &str) -> Result<Outcome> {
    tx.require(Capability::ManageOutcomes)?;
    let label = label.trim();
    if label.is_empty() {
        return Err(Error::invalid("label", "Write the outcome as the doctors should see it."));
    }
    if label.chars().count() > 80 {
        return Err(Error::invalid("label", "An outcome may have at most 80 characters."));
    }
    let code = code_for(label);
    if !code.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(Error::invalid("label", "Start the outcome with a letter."));
    }
    let taken = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM result_outcomes WHERE code = $1) AS "taken!""#, code)
        .fetch_one(tx.conn())
        .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "label", format!("The outcome '{code}' already exists.")));
    }
    Ok(sqlx::query_as!(
        Outcome,
        "INSERT INTO result_outcomes (code, label) VALUES ($1, $2) RETURNING code, label, active",
        code,
        label,
    )
    .fetch_one(tx.conn())
    .await?)
}

/// Retires an outcome (no new results may name it) or brings it back.
pub async fn set_active(tx: &mut ClinicTx, code: &str, active: bool) -> Result<Outcome> {
    tx.require(Capability::ManageOutcomes)?;
    sqlx::query_as!(
        Outcome,
        "UPDATE result_outcomes SET active = $2 WHERE code = $1 RETURNING code, label, active",
        code.trim(),
        active,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "code", "There is no such outcome."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_from_labels() {
        assert_eq!(super::code_for("Referred to specialist"), "referred_to_specialist");
        assert_eq!(super::code_for("  Henvist til fastlege (GP) "), "henvist_til_fastlege_gp");
        assert_eq!(super::code_for("Ønsker ny time"), "onsker_ny_time");
    }
}
