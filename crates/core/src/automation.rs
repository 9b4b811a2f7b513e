//! Automation rules (data in `automation_rules` / `automation_actions`, maintained by admins):
//! for an event, run the organization's matching active rules in order, in the caller's
//! transaction. Today's actions create consent forms (returned as the seed's `required_forms`)
//! and queue a welcome e-mail.

use serde::Serialize;
use sqlx::PgConnection;

use crate::error::Result;
use crate::outbox;

/// A form the patient must sign, as the onboarding response shows it (seed 002).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RequiredForm {
    pub form_id: i32,
    pub template_id: i32,
    pub title: String,
    #[serde(rename = "type")]
    pub form_type: String,
    pub status: String,
    pub must_sign_before: Option<String>,
    pub consent_types: Vec<String>,
}

type ActionRow = (i32, String, Option<i32>, bool, Option<String>, Option<String>, Option<Vec<String>>, Option<String>, Option<i32>);

/// What the matching rules will do, read before anything is written so that the writing part
/// of the transaction stays short.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    forms: Vec<PlannedForm>,
    /// A `send_welcome_email` action matched: queue the event.
    pub welcome_email: bool,
}

#[derive(Debug, Clone)]
struct PlannedForm {
    template_id: i32,
    version_id: i32,
    blocking: bool,
    title: String,
    form_type: String,
    consent_types: Vec<String>,
    must_sign_before: Option<String>,
}

/// Reads the `patient.onboarded` rules of `organization_id` that match.
/// `person_is_new`: the person was created by this onboarding (not known at another org).
pub async fn plan_patient_onboarded(conn: &mut PgConnection, organization_id: i32, person_is_new: bool) -> Result<Plan> {
    let actions: Vec<ActionRow> = sqlx::query_as(
        "SELECT r.id, a.action, t.id, a.blocking, t.title, t.type, t.consent_types, t.must_sign_before,
                (SELECT v.id FROM form_template_versions v
                  WHERE v.template_id = t.id AND v.published_at IS NOT NULL
                  ORDER BY v.version DESC LIMIT 1)
           FROM automation_rules r
           JOIN automation_actions a ON a.rule_id = r.id
           LEFT JOIN form_templates t ON t.id = a.template_id
          WHERE r.organization_id = $1 AND r.active AND r.trigger_event = 'patient.onboarded'
            AND (r.person_is_new IS NULL OR r.person_is_new = $2)
          ORDER BY r.position, r.id, a.position",
    )
    .bind(organization_id)
    .bind(person_is_new)
    .fetch_all(&mut *conn)
    .await?;
    let mut plan = Plan::default();
    for (rule_id, action, template_id, blocking, title, form_type, consent_types, must_sign_before, version_id) in actions {
        match action.as_str() {
            "create_form" => {
                let Some(template_id) = template_id else { continue };
                if plan.forms.iter().any(|f| f.template_id == template_id) {
                    continue;
                }
                let Some(version_id) = version_id else {
                    tracing::warn!(rule_id, template_id, "automation rule names a form template with no published version; skipped");
                    continue;
                };
                plan.forms.push(PlannedForm {
                    template_id,
                    version_id,
                    blocking,
                    title: title.unwrap_or_default(),
                    form_type: form_type.unwrap_or_default(),
                    consent_types: consent_types.unwrap_or_default(),
                    must_sign_before,
                });
            }
            "send_welcome_email" => plan.welcome_email = true,
            _ => {}
        }
    }
    Ok(plan)
}

/// Creates the planned forms for the new org-patient link, in one statement, and returns them
/// in rule order. (The welcome e-mail event is the caller's to queue, with its other events.)
pub async fn create_forms(conn: &mut PgConnection, plan: &Plan, patient_id: i32) -> Result<Vec<RequiredForm>> {
    if plan.forms.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i32, i32, String)> = sqlx::query_as(
        "INSERT INTO forms (patient_id, template_id, template_version_id, blocking, must_sign_before)
         SELECT $1, x.t, x.v, x.b, x.m
           FROM unnest($2::int[], $3::int[], $4::bool[], $5::text[]) WITH ORDINALITY AS x(t, v, b, m, ord)
          ORDER BY x.ord
         RETURNING id, template_id, status",
    )
    .bind(patient_id)
    .bind(plan.forms.iter().map(|f| f.template_id).collect::<Vec<_>>())
    .bind(plan.forms.iter().map(|f| f.version_id).collect::<Vec<_>>())
    .bind(plan.forms.iter().map(|f| f.blocking).collect::<Vec<_>>())
    .bind(plan.forms.iter().map(|f| f.must_sign_before.clone()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(plan
        .forms
        .iter()
        .filter_map(|f| {
            rows.iter().find(|r| r.1 == f.template_id).map(|(form_id, _, status)| RequiredForm {
                form_id: *form_id,
                template_id: f.template_id,
                title: f.title.clone(),
                form_type: f.form_type.clone(),
                status: status.clone(),
                must_sign_before: f.must_sign_before.clone(),
                consent_types: f.consent_types.clone(),
            })
        })
        .collect())
}

/// Plans and applies the `patient.onboarded` rules in one go (forms and the welcome e-mail).
pub async fn run_patient_onboarded(
    conn: &mut PgConnection,
    organization_id: i32,
    patient_id: i32,
    person_is_new: bool,
) -> Result<Vec<RequiredForm>> {
    let plan = plan_patient_onboarded(conn, organization_id, person_is_new).await?;
    let forms = create_forms(conn, &plan, patient_id).await?;
    if plan.welcome_email {
        outbox::enqueue(conn, WELCOME_EMAIL_EVENT, Some(organization_id), &welcome_payload(patient_id, organization_id)).await?;
    }
    Ok(forms)
}

pub const WELCOME_EMAIL_EVENT: &str = "patient.welcome_email_requested";

pub fn welcome_payload(patient_id: i32, organization_id: i32) -> serde_json::Value {
    serde_json::json!({"patient_id": patient_id, "organization_id": organization_id})
}
