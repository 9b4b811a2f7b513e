//! Automation rules (data in `automation_rules` / `automation_actions`, maintained by admins):
//! for an event, run the organization's matching active rules in order, in the caller's
//! transaction. Today's actions create consent forms (returned as the onboarding response's `required_forms`)
//! and queue a welcome e-mail.

use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::messages::{self, MessageKind};
use crate::outbox;

/// A form the patient must sign, as the onboarding response shows it (see `docs/onboarding.md`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// What a rule's action does (`automation_actions.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a consent form of a template for the new patient.
    CreateForm,
    /// Queue the welcome e-mail.
    SendWelcomeEmail,
}

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
pub async fn plan_patient_onboarded(tx: &mut ClinicTx, organization_id: i32, person_is_new: bool) -> Result<Plan> {
    let actions = sqlx::query!(
        r#"SELECT r.id AS rule_id, a.action AS "action: ActionKind", t.id AS "template_id?", a.blocking,
                  t.title AS "title?", t.type AS "form_type?", t.consent_types AS "consent_types?",
                  t.must_sign_before AS "must_sign_before?",
                  (SELECT v.id FROM form_template_versions v
                    WHERE v.template_id = t.id AND v.published_at IS NOT NULL
                    ORDER BY v.version DESC LIMIT 1) AS "version_id?"
             FROM automation_rules r
             JOIN automation_actions a ON a.rule_id = r.id
             LEFT JOIN form_templates t ON t.id = a.template_id
            WHERE r.organization_id = $1 AND r.active AND r.trigger_event = 'patient.onboarded'
              AND (r.person_is_new IS NULL OR r.person_is_new = $2)
            ORDER BY r.position, r.id, a.position"#,
        organization_id,
        person_is_new,
    )
    .fetch_all(tx.conn())
    .await?;
    let mut plan = Plan::default();
    for a in actions {
        match a.action {
            ActionKind::CreateForm => {
                let Some(template_id) = a.template_id else { continue };
                if plan.forms.iter().any(|f| f.template_id == template_id) {
                    continue;
                }
                let Some(version_id) = a.version_id else {
                    tracing::warn!(
                        rule_id = a.rule_id,
                        template_id,
                        "automation rule names a form template with no published version; skipped"
                    );
                    continue;
                };
                plan.forms.push(PlannedForm {
                    template_id,
                    version_id,
                    blocking: a.blocking,
                    title: a.title.unwrap_or_default(),
                    form_type: a.form_type.unwrap_or_default(),
                    consent_types: a.consent_types.unwrap_or_default(),
                    must_sign_before: a.must_sign_before,
                });
            }
            ActionKind::SendWelcomeEmail => plan.welcome_email = true,
        }
    }
    Ok(plan)
}

/// Creates the planned forms for the new org-patient link, in one statement, and returns them
/// in rule order. (The welcome e-mail event is the caller's to queue, with its other events.)
pub async fn create_forms(tx: &mut ClinicTx, plan: &Plan, patient_id: i32) -> Result<Vec<RequiredForm>> {
    if plan.forms.is_empty() {
        return Ok(Vec::new());
    }
    let templates: Vec<i32> = plan.forms.iter().map(|f| f.template_id).collect();
    let versions: Vec<i32> = plan.forms.iter().map(|f| f.version_id).collect();
    let blocking: Vec<bool> = plan.forms.iter().map(|f| f.blocking).collect();
    let before: Vec<Option<String>> = plan.forms.iter().map(|f| f.must_sign_before.clone()).collect();
    let rows = sqlx::query!(
        r#"INSERT INTO forms (patient_id, template_id, template_version_id, blocking, must_sign_before)
           SELECT $1, x.t, x.v, x.b, x.m
             FROM unnest($2::int[], $3::int[], $4::bool[], $5::text[]) WITH ORDINALITY AS x(t, v, b, m, ord)
            ORDER BY x.ord
           RETURNING id, template_id, status"#,
        patient_id,
        &templates,
        &versions,
        &blocking,
        &before as &[Option<String>],
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(plan
        .forms
        .iter()
        .filter_map(|f| {
            rows.iter().find(|r| r.template_id == f.template_id).map(|r| RequiredForm {
                form_id: r.id,
                template_id: f.template_id,
                title: f.title.clone(),
                form_type: f.form_type.clone(),
                status: r.status.clone(),
                must_sign_before: f.must_sign_before.clone(),
                consent_types: f.consent_types.clone(),
            })
        })
        .collect())
}

/// Plans and applies the `patient.onboarded` rules in one go (forms and the welcome e-mail).
pub async fn run_patient_onboarded(
    tx: &mut ClinicTx,
    organization_id: i32,
    patient_id: i32,
    person_is_new: bool,
) -> Result<Vec<RequiredForm>> {
    let plan = plan_patient_onboarded(tx, organization_id, person_is_new).await?;
    let forms = create_forms(tx, &plan, patient_id).await?;
    if plan.welcome_email {
        outbox::enqueue(tx, WELCOME_EMAIL_EVENT, Some(organization_id), &welcome_payload(patient_id, organization_id)).await?;
    }
    if plan.welcome_email || !forms.is_empty() {
        let person_id = sqlx::query_scalar!("SELECT patient_person_id FROM patients WHERE id = $1", patient_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| Error::not_found("The patient"))?;
        queue_messages(tx, &plan, &forms, person_id, organization_id).await?;
    }
    Ok(forms)
}

/// Queues the messages an onboarding's rules ask for, in its transaction: the welcome e-mail
/// (a `send_welcome_email` action) and the invitation to sign the forms it created, to the person
/// of the new link at `organization_id`.
pub async fn queue_messages(
    tx: &mut ClinicTx,
    plan: &Plan,
    forms: &[RequiredForm],
    person_id: i32,
    organization_id: i32,
) -> Result<()> {
    let mut kinds = Vec::with_capacity(2);
    if plan.welcome_email {
        kinds.push(MessageKind::Welcome);
    }
    if !forms.is_empty() {
        kinds.push(MessageKind::FormsInvitation);
    }
    messages::queue_all(tx, &kinds, person_id, organization_id).await
}

pub const WELCOME_EMAIL_EVENT: &str = "patient.welcome_email_requested";

pub fn welcome_payload(patient_id: i32, organization_id: i32) -> serde_json::Value {
    serde_json::json!({"patient_id": patient_id, "organization_id": organization_id})
}

// ---------------------------------------------------------------------------------------------
// The onboarding rules as admins keep them: which forms a clinic requires when a patient is
// onboarded. The database lets an administrator change only their own clinic's rules, and name
// only their own clinic's or the shared templates; every change is in the audit log (triggers).

/// Whom a `patient.onboarded` rule applies to (`automation_rules.person_is_new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// Every onboarded patient (NULL).
    Everyone,
    /// Only persons new to the system (true).
    NewPersons,
    /// Only persons already known at another clinic (false).
    KnownPersons,
}

impl AppliesTo {
    fn from_column(v: Option<bool>) -> Self {
        match v {
            None => AppliesTo::Everyone,
            Some(true) => AppliesTo::NewPersons,
            Some(false) => AppliesTo::KnownPersons,
        }
    }
    fn to_column(self) -> Option<bool> {
        match self {
            AppliesTo::Everyone => None,
            AppliesTo::NewPersons => Some(true),
            AppliesTo::KnownPersons => Some(false),
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "everyone" => Ok(AppliesTo::Everyone),
            "new_persons" => Ok(AppliesTo::NewPersons),
            "known_persons" => Ok(AppliesTo::KnownPersons),
            _ => Err(Error::invalid("applies_to", "Use everyone, new_persons or known_persons.")),
        }
    }
}

/// A form a rule requires (a `create_form` action).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RuleForm {
    pub action_id: i32,
    pub position: i32,
    pub template_id: i32,
    pub title: String,
    pub key: String,
    /// A blocking form must be signed before the patient's first consultation starts.
    pub blocking: bool,
    /// False while the template has no published version: onboarding skips it until then.
    pub published: bool,
}

/// One `patient.onboarded` rule of a clinic, with the forms it requires.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OnboardingRule {
    pub id: i32,
    pub organization_id: i32,
    pub name: String,
    pub applies_to: AppliesTo,
    pub position: i32,
    pub active: bool,
    pub forms: Vec<RuleForm>,
    /// The rule also queues the welcome e-mail.
    pub welcome_email: bool,
}

/// The rules of `clinic` (every clinic's when `None`), or only rule `rule_id`.
async fn read_rules(tx: &mut ClinicTx, clinic: Option<i32>, rule_id: Option<i32>) -> Result<Vec<OnboardingRule>> {
    let rules = sqlx::query!(
        "SELECT id, organization_id, name, person_is_new, position, active FROM automation_rules
          WHERE trigger_event = 'patient.onboarded' AND ($1::int IS NULL OR organization_id = $1)
            AND ($2::int IS NULL OR id = $2)
          ORDER BY organization_id, position, id",
        clinic,
        rule_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let ids: Vec<i32> = rules.iter().map(|r| r.id).collect();
    let actions = sqlx::query!(
        r#"SELECT a.id, a.rule_id, a.position, a.action AS "action: ActionKind", t.id AS "template_id?",
                  t.title AS "title?", t.key AS "key?", a.blocking,
                  EXISTS (SELECT 1 FROM form_template_versions v WHERE v.template_id = t.id AND v.published_at IS NOT NULL) AS "published!"
             FROM automation_actions a LEFT JOIN form_templates t ON t.id = a.template_id
            WHERE a.rule_id = ANY($1) ORDER BY a.position, a.id"#,
        &ids,
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rules
        .into_iter()
        .map(|r| {
            let mine = || actions.iter().filter(|a| a.rule_id == r.id);
            OnboardingRule {
                id: r.id,
                organization_id: r.organization_id,
                name: r.name,
                applies_to: AppliesTo::from_column(r.person_is_new),
                position: r.position,
                active: r.active,
                forms: mine()
                    .filter_map(|a| match (a.action, a.template_id) {
                        (ActionKind::CreateForm, Some(template_id)) => Some(RuleForm {
                            action_id: a.id,
                            position: a.position,
                            template_id,
                            title: a.title.clone().unwrap_or_default(),
                            key: a.key.clone().unwrap_or_default(),
                            blocking: a.blocking,
                            published: a.published,
                        }),
                        _ => None,
                    })
                    .collect(),
                welcome_email: mine().any(|a| a.action == ActionKind::SendWelcomeEmail),
            }
        })
        .collect())
}

async fn one_rule(tx: &mut ClinicTx, rule_id: i32) -> Result<OnboardingRule> {
    let clinic = tx.clinic();
    read_rules(tx, clinic, Some(rule_id))
        .await?
        .pop()
        .ok_or_else(|| Error::field(ErrorCode::NotFound, "rule_id", "There is no such onboarding rule in your clinic."))
}

/// The `patient.onboarded` rules of the acting staff member's clinic (every clinic's for the
/// database owner), in the order they run, with the forms each requires.
pub async fn onboarding_rules(tx: &mut ClinicTx) -> Result<Vec<OnboardingRule>> {
    let clinic = tx.clinic();
    read_rules(tx, clinic, None).await
}

/// Adds an (active) onboarding rule to the admin's clinic, after its other rules; it requires
/// no form until one is added.
pub async fn add_onboarding_rule(tx: &mut ClinicTx, name: &str, applies_to: AppliesTo) -> Result<OnboardingRule> {
    tx.require(Capability::ManageOnboardingRules)?;
    let clinic = tx.staff()?.organization_id;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid(
            "name",
            "Name the rule in at most 200 characters (e.g. New patients sign the privacy policy).",
        ));
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
         SELECT $1, $2, 'patient.onboarded', $3,
                coalesce((SELECT max(position) FROM automation_rules WHERE organization_id = $1), 0) + 1
         RETURNING id",
        clinic,
        name,
        applies_to.to_column(),
    )
    .fetch_one(tx.conn())
    .await?;
    one_rule(tx, id).await
}

/// Makes a rule require a form template (shared, or of the rule's clinic, with a published
/// version), after the forms it already requires.
pub async fn require_form(tx: &mut ClinicTx, rule_id: i32, template_id: i32, blocking: bool) -> Result<OnboardingRule> {
    tx.require(Capability::ManageOnboardingRules)?;
    let clinic = tx.clinic();
    let org = sqlx::query_scalar!(
        "SELECT organization_id FROM automation_rules
          WHERE id = $1 AND trigger_event = 'patient.onboarded' AND ($2::int IS NULL OR organization_id = $2) FOR UPDATE",
        rule_id,
        clinic,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "rule_id", "There is no such onboarding rule in your clinic."))?;
    let template = sqlx::query!(
        r#"SELECT t.title,
                  EXISTS (SELECT 1 FROM form_template_versions v WHERE v.template_id = t.id AND v.published_at IS NOT NULL) AS "published!"
             FROM form_templates t WHERE t.id = $1 AND (t.organization_id IS NULL OR t.organization_id = $2)"#,
        template_id,
        org,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "template_id", "There is no such form template for this clinic."))?;
    let title = template.title;
    if !template.published {
        return Err(Error::invalid(
            "template_id",
            format!("'{title}' has no published version yet; publish its text first, or onboarding would skip it."),
        ));
    }
    let taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM automation_actions WHERE rule_id = $1 AND action = 'create_form' AND template_id = $2) AS "taken!""#,
        rule_id,
        template_id,
    )
    .fetch_one(tx.conn())
    .await?;
    if taken {
        return Err(Error::field(ErrorCode::AlreadyExists, "template_id", format!("This rule already requires '{title}'.")));
    }
    sqlx::query!(
        "INSERT INTO automation_actions (rule_id, position, action, template_id, blocking)
         SELECT $1, coalesce(max(position), 0) + 1, 'create_form', $2, $3 FROM automation_actions WHERE rule_id = $1",
        rule_id,
        template_id,
        blocking,
    )
    .execute(tx.conn())
    .await?;
    one_rule(tx, rule_id).await
}

/// Makes a required form blocking (signed before the first consultation) or not.
pub async fn set_form_blocking(tx: &mut ClinicTx, action_id: i32, blocking: bool) -> Result<OnboardingRule> {
    tx.require(Capability::ManageOnboardingRules)?;
    let rule_id = sqlx::query_scalar!(
        "UPDATE automation_actions SET blocking = $2 WHERE id = $1 AND action = 'create_form' RETURNING rule_id",
        action_id,
        blocking,
    )
    .fetch_optional(tx.conn())
    .await?;
    changed_rule(tx, rule_id).await
}

/// The rule whose form requirement was just changed (none: the action was not one of its forms),
/// read back in the same transaction.
async fn changed_rule(tx: &mut ClinicTx, rule_id: Option<i32>) -> Result<OnboardingRule> {
    let rule_id = rule_id
        .ok_or_else(|| Error::field(ErrorCode::NotFound, "action_id", "This rule does not require that form (any more)."))?;
    one_rule(tx, rule_id).await
}

/// Stops requiring a form; patients onboarded from then on do not get it. Forms already
/// created stay as they are.
pub async fn remove_form(tx: &mut ClinicTx, action_id: i32) -> Result<OnboardingRule> {
    tx.require(Capability::ManageOnboardingRules)?;
    let rule_id = sqlx::query_scalar!(
        "DELETE FROM automation_actions WHERE id = $1 AND action = 'create_form' RETURNING rule_id",
        action_id,
    )
    .fetch_optional(tx.conn())
    .await?;
    changed_rule(tx, rule_id).await
}

/// Adds the welcome e-mail to a rule, after its other actions, or removes it. Patients onboarded
/// from then on get it (as marketing: see `docs/messages.md`) or not.
pub async fn set_welcome_email(tx: &mut ClinicTx, rule_id: i32, on: bool) -> Result<OnboardingRule> {
    tx.require(Capability::ManageOnboardingRules)?;
    let clinic = tx.clinic();
    sqlx::query_scalar!(
        "SELECT id FROM automation_rules
          WHERE id = $1 AND trigger_event = 'patient.onboarded' AND ($2::int IS NULL OR organization_id = $2) FOR UPDATE",
        rule_id,
        clinic,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::NotFound, "rule_id", "There is no such onboarding rule in your clinic."))?;
    if on {
        sqlx::query!(
            "INSERT INTO automation_actions (rule_id, position, action, template_id, blocking)
             SELECT $1, coalesce(max(position), 0) + 1, 'send_welcome_email', NULL, false FROM automation_actions
              WHERE rule_id = $1
             HAVING NOT bool_or(action = 'send_welcome_email') IS TRUE",
            rule_id,
        )
        .execute(tx.conn())
        .await?;
    } else {
        sqlx::query!("DELETE FROM automation_actions WHERE rule_id = $1 AND action = 'send_welcome_email'", rule_id)
            .execute(tx.conn())
            .await?;
    }
    one_rule(tx, rule_id).await
}
