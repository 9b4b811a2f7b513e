//! Verifying the audit log's hash chain. Rows are written by the database itself (triggers and
//! audited functions); this module only reads them back and recomputes every link.

use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

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

type AuditRow = (i64, i64, String, String, String, String, String, String, Vec<u8>, Vec<u8>);

/// Recomputes the whole chain, in id order, and reports the first broken row.
pub async fn verify_chain(pool: &PgPool) -> Result<ChainReport> {
    let mut rows = sqlx::query_as::<_, AuditRow>(
        "SELECT id, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor, coalesce(acting_for, ''),
                action, entity_type, entity_id, changes::text, prev_hash, hash
           FROM audit_log ORDER BY id",
    )
    .fetch(pool);
    let mut prev = vec![0u8; 32];
    let mut count: u32 = 0;
    let broken = |id: i64, count: u32, why: &str| ChainReport {
        rows: count,
        first_broken_id: Some(id.to_string()),
        problem: Some(why.to_string()),
    };
    while let Some((id, micros, actor, acting_for, action, et, eid, changes, prev_hash, hash)) =
        rows.try_next().await?
    {
        count += 1;
        if prev_hash != prev {
            return Ok(broken(id, count, "the row does not link to the row before it (a row was removed or inserted)"));
        }
        let mut h = Sha256::new();
        h.update(&prev);
        h.update(canonical(id, micros, &actor, &acting_for, &action, &et, &eid, &changes).as_bytes());
        let expect = h.finalize().to_vec();
        if expect != hash {
            return Ok(broken(id, count, "the row's content does not match its hash (it was changed)"));
        }
        prev = hash;
    }
    drop(rows);
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT last_id, last_hash FROM audit_chain_head").fetch_optional(pool).await?;
    if let Some((last_id, last_hash)) = head {
        if last_hash != prev {
            return Ok(broken(last_id, count, "the newest rows of the log are missing"));
        }
    }
    Ok(ChainReport { rows: count, first_broken_id: None, problem: None })
}
