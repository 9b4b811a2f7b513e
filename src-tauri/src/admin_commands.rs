//! The administrator's commands: the insurer report (with progress events) and the list of
//! consultation outcomes. Thin adapters over the core.

use std::path::PathBuf;

use digimed_core::audit::{self, AuditEntry, ChainReport};
use digimed_core::automation::{self, AppliesTo, OnboardingRule};
use digimed_core::forms::{self, ConsentKind, NewTemplate, Published, Template, TemplateVersion};
use digimed_core::outcomes::{self, Outcome};
use digimed_core::staff::{self, NewStaffInput, StaffMember};
use digimed_core::webhooks::{self, Delivery};
use digimed_core::referrals::{self, CreatedPartner, PartnerInput, PartnerOption};
use digimed_core::report::{self, ReportRequest, ReportSummary};
use digimed_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;

use crate::state::ConsoleState;

/// How far a report export has come.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ReportProgress {
    pub done: u32,
    pub total: u32,
}

/// The partners of the clinic, for choosing a report.
#[tauri::command]
#[specta::specta]
pub async fn partners(state: State<'_, ConsoleState>) -> Result<Vec<PartnerOption>, Error> {
    let (pool, _) = state.require().await?;
    referrals::list_partners(&pool).await
}

/// Exports the insurer report of a partner and period into the user's Downloads folder as
/// `.xlsx` or `.csv`, reporting progress as `ReportProgress` events.
#[tauri::command]
#[specta::specta]
pub async fn report_export(
    app: AppHandle,
    state: State<'_, ConsoleState>,
    partner: String,
    from: String,
    to: String,
    format: report::ReportFormat,
) -> Result<ReportSummary, Error> {
    let request = ReportRequest::parse(&partner, &from, &to)?;
    let (pool, _) = state.require().await?;
    let vault = state.vault().await?;
    let dir: PathBuf = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|_| Error::new(ErrorCode::Configuration, "There is no Downloads folder to save the report in."))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(ErrorCode::Configuration, format!("The folder {} cannot be created: {e}", dir.display())))?;
    let out = dir.join(report::default_file_name(&request, format));
    let emitter = app.clone();
    let mut progress = move |done: u32, total: u32| {
        let _ = ReportProgress { done, total }.emit(&emitter);
    };
    report::export(&pool, &vault, &request, &out, &mut progress).await
}

/// The outcomes a result may name.
#[tauri::command]
#[specta::specta]
pub async fn outcomes_list(state: State<'_, ConsoleState>) -> Result<Vec<Outcome>, Error> {
    let (pool, _) = state.require().await?;
    outcomes::list(&pool).await
}

/// Adds an outcome (admins).
#[tauri::command]
#[specta::specta]
pub async fn outcome_add(state: State<'_, ConsoleState>, label: String) -> Result<Outcome, Error> {
    let (pool, _) = state.require().await?;
    outcomes::add(&pool, &label).await
}

/// Retires an outcome or brings it back (admins).
#[tauri::command]
#[specta::specta]
pub async fn outcome_set_active(state: State<'_, ConsoleState>, code: String, active: bool) -> Result<Outcome, Error> {
    let (pool, _) = state.require().await?;
    outcomes::set_active(&pool, &code, active).await
}

/// The clinic's staff members.
#[tauri::command]
#[specta::specta]
pub async fn staff_list(state: State<'_, ConsoleState>) -> Result<Vec<StaffMember>, Error> {
    let (pool, _) = state.require().await?;
    staff::list_staff(&pool).await
}

/// The newest outgoing webhook deliveries of the clinic (admins).
#[tauri::command]
#[specta::specta]
pub async fn webhook_deliveries(state: State<'_, ConsoleState>) -> Result<Vec<Delivery>, Error> {
    let (pool, _) = state.require().await?;
    webhooks::deliveries(&pool, 50).await
}

/// The newest audit rows, before `before_id` when given (admins).
#[tauri::command]
#[specta::specta]
pub async fn audit_recent(state: State<'_, ConsoleState>, before_id: Option<f64>) -> Result<Vec<AuditEntry>, Error> {
    let (pool, _) = state.require().await?;
    audit::recent(&pool, 50, before_id.map(|id| id as i64)).await
}

/// Recomputes the audit log's hash chain and reports the first broken row (admins).
#[tauri::command]
#[specta::specta]
pub async fn audit_verify(state: State<'_, ConsoleState>) -> Result<ChainReport, Error> {
    let (pool, _) = state.require().await?;
    audit::verify_chain(&pool).await
}

/// The form templates of the clinic (and the shared ones), each with its versions.
#[tauri::command]
#[specta::specta]
pub async fn form_templates(state: State<'_, ConsoleState>) -> Result<Vec<Template>, Error> {
    let (pool, _) = state.require().await?;
    forms::list_templates(&pool).await
}

/// The kinds of consent a template may grant.
#[tauri::command]
#[specta::specta]
pub async fn consent_kinds(state: State<'_, ConsoleState>) -> Result<Vec<ConsentKind>, Error> {
    let (pool, _) = state.require().await?;
    forms::consent_kinds(&pool).await
}

/// Creates a form template of the clinic, without text yet (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_create(state: State<'_, ConsoleState>, template: NewTemplate) -> Result<Template, Error> {
    let (pool, _) = state.require().await?;
    forms::create_template(&pool, &template).await
}

/// Adds a draft version with a new text to a template (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_add_version(
    state: State<'_, ConsoleState>,
    template_id: i32,
    body: String,
) -> Result<TemplateVersion, Error> {
    let (pool, _) = state.require().await?;
    forms::add_version(&pool, template_id, &body).await
}

/// Publishes a draft version; pending forms of older versions are superseded (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_publish(state: State<'_, ConsoleState>, version_id: i32) -> Result<Published, Error> {
    let (pool, _) = state.require().await?;
    forms::publish(&pool, version_id).await
}

/// The clinic's onboarding rules and the forms each requires.
#[tauri::command]
#[specta::specta]
pub async fn onboarding_rules(state: State<'_, ConsoleState>) -> Result<Vec<OnboardingRule>, Error> {
    let (pool, _) = state.require().await?;
    automation::onboarding_rules(&pool).await
}

/// Adds an onboarding rule to the clinic (admins).
#[tauri::command]
#[specta::specta]
pub async fn onboarding_rule_add(state: State<'_, ConsoleState>, name: String, applies_to: AppliesTo) -> Result<OnboardingRule, Error> {
    let (pool, _) = state.require().await?;
    automation::add_onboarding_rule(&pool, &name, applies_to).await
}

/// Makes a rule require a form template (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_require_form(
    state: State<'_, ConsoleState>,
    rule_id: i32,
    template_id: i32,
    blocking: bool,
) -> Result<OnboardingRule, Error> {
    let (pool, _) = state.require().await?;
    automation::require_form(&pool, rule_id, template_id, blocking).await
}

/// Makes a required form blocking or not (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_form_set_blocking(state: State<'_, ConsoleState>, action_id: i32, blocking: bool) -> Result<OnboardingRule, Error> {
    let (pool, _) = state.require().await?;
    automation::set_form_blocking(&pool, action_id, blocking).await
}

/// Stops requiring a form (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_form_remove(state: State<'_, ConsoleState>, action_id: i32) -> Result<OnboardingRule, Error> {
    let (pool, _) = state.require().await?;
    automation::remove_form(&pool, action_id).await
}

/// Adds a partner to the clinic with its webhook secret (given, or generated); the secret is
/// returned this once and stored only encrypted with the data keys (admins).
#[tauri::command]
#[specta::specta]
pub async fn partner_add(state: State<'_, ConsoleState>, partner: PartnerInput) -> Result<CreatedPartner, Error> {
    let (pool, _) = state.require().await?;
    let vault = state.vault().await?;
    referrals::create_partner(&pool, &vault, &partner).await
}

/// Deactivates a staff member of the clinic (their login can no longer sign in) or reactivates
/// them (admins; never themselves).
#[tauri::command]
#[specta::specta]
pub async fn staff_set_active(state: State<'_, ConsoleState>, staff_id: i32, active: bool) -> Result<StaffMember, Error> {
    let (pool, _) = state.require().await?;
    staff::set_active(&pool, staff_id, active).await
}

/// Adds a staff member, with their login, to the administrator's own clinic.
#[tauri::command]
#[specta::specta]
pub async fn staff_add(state: State<'_, ConsoleState>, input: NewStaffInput) -> Result<StaffMember, Error> {
    let (pool, _) = state.require().await?;
    staff::add_to_own_clinic(&pool, &input).await
}
