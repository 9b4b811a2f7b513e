//! The CRM connection (`docs/crm.md`): where HubSpot is configured, the service's CRM worker
//! turns `patient.onboarded` and `referral.received` events of the outbox into syncs (a contact
//! upsert per event; for a referral also a task for the concierge), claims the due ones with a
//! lease, reads what a contact needs through the audited `crm_contact_read` (name, e-mail, phone
//! and entry point; nothing clinical) and records how each attempt went. A sync is never part of
//! the clinical write: that is committed before the worker ever sees its event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::Result;
use crate::keys::Vault;

/// What a sync does in the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SyncKind {
    /// Create or update the person's contact.
    Contact,
    /// Create a task for the concierge, associated with the person's contact.
    ConciergeTask,
}

/// Makes the syncs of the next events not yet considered: one `contact` per `patient.onboarded`
/// and `referral.received` event, and a `concierge_task` per `referral.received`. Each event is
/// considered once (a replay of the same event makes no new sync). Returns the events considered.
pub async fn make_syncs(tx: &mut ClinicTx) -> Result<usize> {
    tx.require(Capability::DeliverEvents)?;
    let n = sqlx::query_scalar!(
        r#"WITH e AS (SELECT id, organization_id, event_type, (payload->>'patient_person_id')::int AS person
                        FROM outbox
                       WHERE crm_considered_at IS NULL AND event_type IN ('patient.onboarded', 'referral.received')
                       ORDER BY id LIMIT 200 FOR UPDATE SKIP LOCKED),
                ins AS (INSERT INTO crm_syncs (outbox_id, organization_id, kind, patient_person_id)
                        SELECT e.id, e.organization_id, k.kind, e.person
                          FROM e CROSS JOIN LATERAL unnest(CASE WHEN e.event_type = 'referral.received'
                                                                THEN ARRAY['contact', 'concierge_task']
                                                                ELSE ARRAY['contact'] END) AS k(kind)
                         WHERE e.person IS NOT NULL
                        ON CONFLICT (outbox_id, kind) DO NOTHING),
                upd AS (UPDATE outbox SET crm_considered_at = now() WHERE id IN (SELECT id FROM e) RETURNING id)
           SELECT count(*) AS "n!" FROM upd"#
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(n as usize)
}

/// A sync claimed for sending.
#[derive(Debug, Clone)]
pub struct DueSync {
    pub id: i64,
    /// Attempts made before this one.
    pub attempts: i32,
    pub kind: SyncKind,
    pub patient_person_id: i32,
    /// The contact id already known: this sync's own (a task whose contact was upserted on an
    /// earlier attempt), or else that of the same event's contact sync.
    pub contact_id: Option<String>,
}

/// Claims up to `batch` due syncs for `lease_seconds`: no other worker takes them meanwhile. A
/// concierge task is due only once its event's contact is synced.
pub async fn claim_due(tx: &mut ClinicTx, batch: i64, lease_seconds: f64) -> Result<Vec<DueSync>> {
    tx.require(Capability::DeliverEvents)?;
    Ok(sqlx::query_as!(
        DueSync,
        r#"WITH claimed AS (
               UPDATE crm_syncs s SET next_attempt_at = now() + make_interval(secs => $2)
                WHERE s.id IN (SELECT d.id FROM crm_syncs d
                                WHERE d.state = 'pending' AND d.next_attempt_at <= now()
                                  AND (d.kind = 'contact' OR EXISTS (
                                        SELECT 1 FROM crm_syncs c WHERE c.outbox_id = d.outbox_id
                                           AND c.kind = 'contact' AND c.state = 'synced'))
                                ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
               RETURNING s.id, s.attempts, s.kind, s.patient_person_id, s.outbox_id, s.hubspot_contact_id)
           SELECT c.id AS "id!", c.attempts AS "attempts!", c.kind AS "kind!: SyncKind",
                  c.patient_person_id AS "patient_person_id!",
                  coalesce(c.hubspot_contact_id,
                           (SELECT o.hubspot_contact_id FROM crm_syncs o
                             WHERE o.outbox_id = c.outbox_id AND o.kind = 'contact')) AS contact_id
             FROM claimed c"#,
        batch,
        lease_seconds,
    )
    .fetch_all(tx.conn())
    .await?)
}

/// What a contact in the CRM holds of a person: never anything clinical.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactFields {
    pub patient_person_id: i32,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// How the person came to the clinic (`entry_points.code`).
    pub entry_point: Option<String>,
}

impl std::fmt::Debug for ContactFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactFields").field("patient_person_id", &self.patient_person_id).finish_non_exhaustive()
    }
}

/// The contact fields of a claimed sync's person, read through the audited `crm_contact_read`
/// (one READ entry in the audit log per call); `None` when the sync is no longer pending.
pub async fn contact_fields(tx: &mut ClinicTx, vault: &Vault, sync_id: i64) -> Result<Option<ContactFields>> {
    tx.require(Capability::DeliverEvents)?;
    let row = sqlx::query!(
        r#"SELECT patient_person_id AS "patient_person_id!", name AS "name!", email, phone_encrypted, entry_point
             FROM crm_contact_read($1)"#,
        sync_id
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let phone = match &r.phone_encrypted {
        Some(ct) => Some(vault.decrypt("patient_persons", "phone_encrypted", i64::from(r.patient_person_id), ct)?),
        None => None,
    };
    let (first_name, last_name) = split_name(&r.name);
    Ok(Some(ContactFields {
        patient_person_id: r.patient_person_id,
        first_name,
        last_name,
        email: r.email,
        phone,
        entry_point: r.entry_point,
    }))
}

/// A full name as first and last name: the last word is the last name.
pub fn split_name(name: &str) -> (String, String) {
    let name = name.split_whitespace().collect::<Vec<_>>();
    match name.split_last() {
        None => (String::new(), String::new()),
        Some((last, [])) => (last.to_string(), String::new()),
        Some((last, first)) => (first.join(" "), last.to_string()),
    }
}

/// How one attempt at a sync went.
#[derive(Debug, Clone)]
pub enum SyncAttempt {
    /// Done: the contact, and for a concierge task the task.
    Synced { contact_id: String, task_id: Option<String> },
    /// Not done: HubSpot's status if it answered, why (never patient data), and the contact id
    /// if the contact was upserted on this attempt.
    Failed { status: Option<u16>, reason: String, contact_id: Option<String> },
}

/// Records an attempt: synced, or failed and due again after `retry_after_seconds`, or given up
/// on (`give_up`). A contact given up on takes its event's concierge task with it.
pub async fn record_attempt(
    tx: &mut ClinicTx,
    sync_id: i64,
    attempts: i32,
    attempt: &SyncAttempt,
    retry_after_seconds: f64,
    give_up: bool,
) -> Result<()> {
    tx.require(Capability::DeliverEvents)?;
    match attempt {
        SyncAttempt::Synced { contact_id, task_id } => {
            sqlx::query!(
                "UPDATE crm_syncs SET state = 'synced', attempts = $2, last_status = NULL, last_error = NULL,
                        hubspot_contact_id = $3, hubspot_task_id = $4, synced_at = now() WHERE id = $1",
                sync_id,
                attempts,
                contact_id,
                task_id.as_deref(),
            )
            .execute(tx.conn())
            .await?;
        }
        SyncAttempt::Failed { status, reason, contact_id } => {
            sqlx::query!(
                "UPDATE crm_syncs SET attempts = $2, last_status = $3, last_error = $4,
                        hubspot_contact_id = coalesce($7, hubspot_contact_id),
                        state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END,
                        next_attempt_at = now() + make_interval(secs => $6) WHERE id = $1",
                sync_id,
                attempts,
                status.map(i32::from),
                reason,
                give_up,
                retry_after_seconds,
                contact_id.as_deref(),
            )
            .execute(tx.conn())
            .await?;
            if give_up {
                sqlx::query!(
                    "UPDATE crm_syncs t SET state = 'failed', last_error = 'The contact of this referral could not be synced.'
                       FROM crm_syncs c
                      WHERE c.id = $1 AND c.kind = 'contact' AND t.outbox_id = c.outbox_id
                        AND t.kind = 'concierge_task' AND t.state = 'pending'",
                    sync_id,
                )
                .execute(tx.conn())
                .await?;
            }
        }
    }
    Ok(())
}

/// A sync as admins see it: its state, never patient data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CrmSync {
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub id: i64,
    pub event_type: String,
    pub kind: SyncKind,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub synced_at: Option<DateTime<Utc>>,
    pub hubspot_contact_id: Option<String>,
    pub hubspot_task_id: Option<String>,
}

/// The newest syncs, newest first (an admin sees their clinic's).
pub async fn syncs(tx: &mut ClinicTx, limit: i64) -> Result<Vec<CrmSync>> {
    tx.require(Capability::ManageWebhooks)?;
    Ok(sqlx::query_as!(
        CrmSync,
        r#"SELECT s.id, o.event_type, s.kind AS "kind: SyncKind", s.state, s.attempts, s.last_status, s.last_error,
                  s.next_attempt_at, s.synced_at, s.hubspot_contact_id, s.hubspot_task_id
             FROM crm_syncs s JOIN outbox o ON o.id = s.outbox_id
            ORDER BY s.id DESC LIMIT $1"#,
        limit.clamp(1, 1000),
    )
    .fetch_all(tx.conn())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_is_the_last_name() {
        assert_eq!(split_name("Kari  Nordmann"), ("Kari".into(), "Nordmann".into()));
        assert_eq!(split_name("Ola Jakob Hansen"), ("Ola Jakob".into(), "Hansen".into()));
        assert_eq!(split_name("Mononym"), ("Mononym".into(), String::new()));
    }
}
