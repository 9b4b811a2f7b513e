//! The consent-status view (see `docs/onboarding.md`): per organization, the patients whose blocking forms are
//! still unsigned (how long the oldest has waited, and their next booking) and counts of forms
//! by template and status; per patient, the timeline of their forms and consents.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, Result};
use crate::queue::ConsultationState;

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

/// The consent status of an organization, as the acting staff member may see it (row-level
/// security limits staff to their own organization).
pub async fn status(tx: &mut ClinicTx, organization_id: i32) -> Result<ConsentStatus> {
    tx.require(Capability::ReadConsentStatus)?;
    let open: Vec<String> = ConsultationState::OPEN.iter().map(|s| s.as_str().to_string()).collect();
    let rows = sqlx::query!(
        r#"SELECT p.id, pp.id AS person_id, pp.name,
                  array_agg(f.id ORDER BY f.created_at, f.id) AS "form_ids!",
                  array_agg(t.title ORDER BY f.created_at, f.id) AS "titles!",
                  array_agg(f.must_sign_before ORDER BY f.created_at, f.id) AS "musts!: Vec<Option<String>>",
                  array_agg(f.created_at ORDER BY f.created_at, f.id) AS "created!",
                  nb.id AS "nb_id?", nb.state AS "nb_state?", nb.created_at AS "nb_created?", nb.deadline_at AS nb_deadline
             FROM forms f
             JOIN patients p ON p.id = f.patient_id
             JOIN patient_persons pp ON pp.id = p.patient_person_id
             JOIN form_templates t ON t.id = f.template_id
             LEFT JOIN LATERAL (
                   SELECT c.id, c.state, c.created_at, c.deadline_at FROM consultations c
                    WHERE c.patient_person_id = p.patient_person_id AND c.organization_id = p.organization_id
                      AND c.state = ANY($2)
                    ORDER BY c.created_at, c.id LIMIT 1) nb ON true
            WHERE p.organization_id = $1 AND f.status = 'pending' AND f.blocking
            GROUP BY p.id, pp.id, pp.name, nb.id, nb.state, nb.created_at, nb.deadline_at
            ORDER BY min(f.created_at), p.id"#,
        organization_id,
        &open,
    )
    .fetch_all(tx.conn())
    .await?;
    let counts = sqlx::query!(
        r#"SELECT t.id, t.title,
                  count(*) FILTER (WHERE f.status = 'pending') AS "pending!",
                  count(*) FILTER (WHERE f.status = 'signed') AS "signed!",
                  count(*) FILTER (WHERE f.status = 'declined') AS "declined!",
                  count(*) FILTER (WHERE f.status = 'superseded') AS "superseded!"
             FROM forms f
             JOIN patients p ON p.id = f.patient_id
             JOIN form_templates t ON t.id = f.template_id
            WHERE p.organization_id = $1
            GROUP BY t.id, t.title ORDER BY t.title, t.id"#,
        organization_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let generated_at = sqlx::query_scalar!(r#"SELECT now() AS "now!""#).fetch_one(tx.conn()).await?;
    let patients_waiting = rows
        .into_iter()
        .map(|r| {
            let pending_forms: Vec<PendingForm> = r
                .form_ids
                .into_iter()
                .zip(r.titles)
                .zip(r.musts)
                .zip(r.created)
                .map(|(((form_id, title), must_sign_before), created_at)| PendingForm {
                    form_id,
                    title,
                    must_sign_before,
                    created_at,
                })
                .collect();
            PatientWaiting {
                patient_id: r.id,
                patient_person_id: r.person_id,
                name: r.name,
                oldest_pending_since: pending_forms.iter().map(|f| f.created_at).min().unwrap_or(generated_at),
                pending_forms,
                next_booking: match (r.nb_id, r.nb_state, r.nb_created) {
                    (Some(consultation_id), Some(state), Some(created_at)) => {
                        Some(NextBooking { consultation_id, state, created_at, deadline_at: r.nb_deadline })
                    }
                    _ => None,
                },
            }
        })
        .collect();
    let n = |v: i64| v.clamp(0, i64::from(u32::MAX)) as u32;
    Ok(ConsentStatus {
        organization_id,
        generated_at,
        patients_waiting,
        by_form: counts
            .into_iter()
            .map(|c| FormCounts {
                template_id: c.id,
                title: c.title,
                pending: n(c.pending),
                signed: n(c.signed),
                declined: n(c.declined),
                superseded: n(c.superseded),
            })
            .collect(),
    })
}

/// One event in a patient's consent history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
pub async fn timeline(tx: &mut ClinicTx, patient_id: i32) -> Result<Vec<TimelineEntry>> {
    tx.require(Capability::ReadForms)?;
    if !crate::forms::patient_visible(tx, patient_id).await? {
        return Err(Error::not_found("patient"));
    }
    Ok(sqlx::query_as!(
        TimelineEntry,
        r#"SELECT e.at AS "at!", e.event AS "event!", f.id AS "form_id!", t.title AS "title!", e.consent_id, e.consent_type, e.detail
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
            ORDER BY 1, 3, 2"#,
        patient_id,
    )
    .fetch_all(tx.conn())
    .await?)
}
