//! Verifying the audit log's hash chain. Rows are written by the database itself (triggers and
//! audited functions); this module only reads them back and recomputes every link.

use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::Result;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChainReport {
    /// Rows checked.
    pub rows: u32,
    /// The first row whose link or content does not match, if any.
    pub first_broken_id: Option<String>,
    pub problem: Option<String>,
}

/// One row of the audit log as an administrator reads it (encrypted values were never copied in).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditEntry {
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub id: i64,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    /// How the service authenticated the caller it acted for (e.g. `api-token:12`).
    pub acting_for: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// The recorded change, as JSON text.
    pub changes: String,
}

/// Chains the audit rows that are waiting (committed, in `audit_pending`) onto the log, unless
/// another transaction is chaining at this moment (it then takes them). Returns how many rows
/// this call chained. Committing transactions do this themselves; `digimed serve` calls it every
/// second, and reading or verifying the log calls it first.
pub async fn seal_pending(tx: &mut ClinicTx) -> Result<u32> {
    let n = sqlx::query_scalar!(r#"SELECT audit_seal_pending() AS "chained!""#).fetch_one(tx.conn()).await?;
    Ok(n.max(0) as u32)
}

/// The newest audit rows (before `before_id`, when given), newest first. Only admins (and the
/// owner) read the log.
pub async fn recent(tx: &mut ClinicTx, limit: i64, before_id: Option<i64>) -> Result<Vec<AuditEntry>> {
    tx.require(Capability::ReadAuditLog)?;
    seal_pending(tx).await?;
    Ok(sqlx::query_as!(
        AuditEntry,
        r#"SELECT id, occurred_at, actor, acting_for, action, entity_type, entity_id, changes::text AS "changes!"
             FROM audit_log WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $1"#,
        limit.clamp(1, 500),
        before_id,
    )
    .fetch_all(tx.conn())
    .await?)
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.first_broken_id.is_none()
    }
}

/// The text that is hashed for one row; must match the database's `audit_canonical`.
#[allow(clippy::too_many_arguments)]
fn canonical(
    id: i64,
    micros: i64,
    actor: &str,
    acting_for: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    changes: &str,
) -> String {
    [&id.to_string(), &micros.to_string(), actor, acting_for, action, entity_type, entity_id, changes].join("\u{1f}")
}

/// Recomputes the whole chain, in id order, and reports the first broken row.
pub async fn verify_chain(tx: &mut ClinicTx) -> Result<ChainReport> {
    tx.require(Capability::ReadAuditLog)?;
    seal_pending(tx).await?;
    let mut rows = sqlx::query!(
        r#"SELECT id, (extract(epoch FROM occurred_at) * 1000000)::bigint AS "micros!", actor,
                  coalesce(acting_for, '') AS "acting_for!", action, entity_type, entity_id,
                  changes::text AS "changes!", prev_hash, hash
             FROM audit_log ORDER BY id"#
    )
    .fetch(tx.conn());
    let mut prev = vec![0u8; 32];
    let mut count: u32 = 0;
    let broken = |id: i64, count: u32, why: &str| ChainReport {
        rows: count,
        first_broken_id: Some(id.to_string()),
        problem: Some(why.to_string()),
    };
    while let Some(r) = rows.try_next().await? {
        count += 1;
        if r.prev_hash != prev {
            return Ok(broken(r.id, count, "the row does not link to the row before it (a row was removed or inserted)"));
        }
        let mut h = Sha256::new();
        h.update(&prev);
        h.update(
            canonical(r.id, r.micros, &r.actor, &r.acting_for, &r.action, &r.entity_type, &r.entity_id, &r.changes).as_bytes(),
        );
        let expect = h.finalize().to_vec();
        if expect != r.hash {
            return Ok(broken(r.id, count, "the row's content does not match its hash (it was changed)"));
        }
        prev = r.hash;
    }
    drop(rows);
    let head = sqlx::query!("SELECT last_id, last_hash FROM audit_chain_head").fetch_optional(tx.conn()).await?;
    if let Some(head) = head {
        if head.last_hash != prev {
            return Ok(broken(head.last_id, count, "the newest rows of the log are missing"));
        }
    }
    Ok(ChainReport { rows: count, first_broken_id: None, problem: None })
}
