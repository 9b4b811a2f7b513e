//! The consent-status view (seed 002): per organization, the patients whose blocking forms are
//! still unsigned (how long the oldest has waited, and their next booking) and counts of forms
//! by template and status; per patient, the timeline of their forms and consents.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::acting::{self, Acting};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConsentStatus {
    pub organization_id: i32,
    pub generated_at: DateTime<Utc>,
    pub patients_waiting: Vec<PatientWaiting>,
    pub by_form: Vec<FormCounts>,
}

/// A patient with at least one pending blocking form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PatientWaiting {
    /// The org-patient link (`patients.id`).
    pub patient_id: i32,
    pub patient_person_id: i32,
    pub name: String,
    pub pending_forms: Vec<PendingForm>,
    /// When the oldest pending blocking form was created.
    pub oldest_pending_since: DateTime<Utc>,
    pub next_booking: Option<NextBooking>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PendingForm {
    pub form_id: i32,
    pub title: String,
    pub must_sign_before: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The patient's oldest open consultation at the organization.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NextBooking {
    pub consultation_id: i32,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FormCounts {
    pub template_id: i32,
    pub title: String,
    pub pending: u32,
    pub signed: u32,
    pub declined: u32,
    pub superseded: u32,
}

type WaitingRow = (i32, i32, String, Vec<i32>, Vec<String>, Vec<Option<String>>, Vec<DateTime<Utc>>, Option<i32>, Option<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The consent status of an organization, as the signed-in staff member may see it (row-level
/// security limits staff to their own organization).
pub async fn status(pool: &PgPool, acting: &Acting, organization_id: i32) -> Result<ConsentStatus> {
    let mut tx = acting::begin(pool, acting).await?;
    let rows: Vec<WaitingRow> = sqlx::query_as(
        "SELECT p.id, pp.id, pp.name,
                array_agg(f.id ORDER BY f.created_at, f.id), array_agg(t.title ORDER BY f.created_at, f.id),
                array_agg(f.must_sign_before ORDER BY f.created_at, f.id), array_agg(f.created_at ORDER BY f.created_at, f.id),
                nb.id, nb.state, nb.created_at, nb.deadline_at
           FROM forms f
           JOIN patients p ON p.id = f.patient_id
           JOIN patient_persons pp ON pp.id = p.patient_person_id
           JOIN form_templates t ON t.id = f.template_id
           LEFT JOIN LATERAL (
                 SELECT c.id, c.state, c.created_at, c.deadline_at FROM consultations c
                  WHERE c.patient_person_id = p.patient_person_id AND c.organization_id = p.organization_id
                    AND c.state IN ('ready_for_pickup', 'pending_sp', 'in_progress')
                  ORDER BY c.created_at, c.id LIMIT 1) nb ON true
          WHERE p.organization_id = $1 AND f.status = 'pending' AND f.blocking
          GROUP BY p.id, pp.id, pp.name, nb.id, nb.state, nb.created_at, nb.deadline_at
          ORDER BY min(f.created_at), p.id",
    )
    .bind(organization_id)
    .fetch_all(&mut *tx)
    .await?;
    let counts: Vec<(i32, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.id, t.title,
                count(*) FILTER (WHERE f.status = 'pending'), count(*) FILTER (WHERE f.status = 'signed'),
                count(*) FILTER (WHERE f.status = 'declined'), count(*) FILTER (WHERE f.status = 'superseded')
           FROM forms f
           JOIN patients p ON p.id = f.patient_id
           JOIN form_templates t ON t.id = f.template_id
          WHERE p.organization_id = $1
          GROUP BY t.id, t.title ORDER BY t.title, t.id",
    )
    .bind(organization_id)
    .fetch_all(&mut *tx)
    .await?;
    let generated_at: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    let patients_waiting = rows
        .into_iter()
        .map(|(patient_id, patient_person_id, name, ids, titles, musts, created, nb_id, nb_state, nb_created, nb_deadline)| {
            let pending_forms: Vec<PendingForm> = ids
                .into_iter()
                .zip(titles)
                .zip(musts)
                .zip(created)
                .map(|(((form_id, title), must_sign_before), created_at)| PendingForm { form_id, title, must_sign_before, created_at })
                .collect();
            PatientWaiting {
                patient_id,
                patient_person_id,
                name,
                oldest_pending_since: pending_forms.iter().map(|f| f.created_at).min().unwrap_or(generated_at),
                pending_forms,
                next_booking: match (nb_id, nb_state, nb_created) {
                    (Some(consultation_id), Some(state), Some(created_at)) => {
                        Some(NextBooking { consultation_id, state, created_at, deadline_at: nb_deadline })
                    }
                    _ => None,
                },
            }
        })
        .collect();
    let n = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
    Ok(ConsentStatus {
        organization_id,
        generated_at,
        patients_waiting,
        by_form: counts
            .into_iter()
            .map(|(template_id, title, p, s, d, x)| FormCounts { template_id, title, pending: n(p), signed: n(s), declined: n(d), superseded: n(x) })
            .collect(),
    })
}

/// One event in a patient's consent history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `form_created`, `form_signed`, `form_declined`, `form_superseded`, `consent_granted` or
    /// `consent_withdrawn`.
    pub event: String,
    pub form_id: i32,
    pub title: String,
    pub consent_id: Option<i32>,
    pub consent_type: Option<String>,
    /// Who signed (`patient` / `staff_attested`) or why a consent was withdrawn.
    pub detail: Option<String>,
}

/// The timeline of an org-patient link's forms and consents, oldest first.
pub async fn timeline(pool: &PgPool, acting: &Acting, patient_id: i32) -> Result<Vec<TimelineEntry>> {
    let mut tx = acting::begin(pool, acting).await?;
    let visible: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)")
        .bind(patient_id)
        .fetch_one(&mut *tx)
        .await?;
    if !visible {
        return Err(Error::not_found("patient"));
    }
    type Row = (DateTime<Utc>, String, i32, String, Option<i32>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.at, e.event, f.id, t.title, e.consent_id, e.consent_type, e.detail
           FROM forms f JOIN form_templates t ON t.id = f.template_id
          CROSS JOIN LATERAL (VALUES
                (f.created_at, 'form_created', NULL::int, NULL::text, 'version ' || (SELECT version FROM form_template_versions WHERE id = f.template_version_id)),
                (f.signed_at, 'form_signed', NULL, NULL, f.signed_by),
                (f.declined_at, 'form_declined', NULL, NULL, NULL),
                (CASE WHEN f.status = 'superseded' THEN (SELECT n.created_at FROM forms n WHERE n.id = f.superseded_by) END,
                 'form_superseded', NULL, NULL, 'by form ' || f.superseded_by)
               ) AS e(at, event, consent_id, consent_type, detail)
          WHERE f.patient_id = $1 AND e.at IS NOT NULL
         UNION ALL
         SELECT e.at, e.event, c.form_id, t.title, c.id, c.consent_type, e.detail
           FROM consents c JOIN forms f ON f.id = c.form_id JOIN form_templates t ON t.id = f.template_id
          CROSS JOIN LATERAL (VALUES (c.granted_at, 'consent_granted', NULL::text),
                                     (c.withdrawn_at, 'consent_withdrawn', c.withdraw_reason)) AS e(at, event, detail)
          WHERE c.patient_id = $1 AND e.at IS NOT NULL
          ORDER BY 1, 3, 2",
    )
    .bind(patient_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(at, event, form_id, title, consent_id, consent_type, detail)| TimelineEntry {
            at,
            event,
            form_id,
            title,
            consent_id,
            consent_type,
            detail,
        })
        .collect())
}
