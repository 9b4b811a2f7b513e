//! The administrator's commands: the insurer report (with progress events), the list of
//! consultation outcomes, partners and their deal prices, billing and discounts. Thin adapters
//! over the core.

use std::path::PathBuf;

use digimed_core::audit::{self, AuditEntry, ChainReport};
use digimed_core::automation::{self, AppliesTo, OnboardingRule};
use digimed_core::crm::{self, CrmSync};
use digimed_core::forms::{self, ConsentKind, NewTemplate, Published, Template, TemplateVersion};
use digimed_core::orders::{self, Billing, BillingLine};
use digimed_core::outcomes::{self, Outcome};
use digimed_core::prices::{self, DealPrice, PartnerDeal};
use digimed_core::referrals::{self, CreatedPartner, PartnerInput, PartnerOption};
use digimed_core::report::{self, ReportRequest, ReportSummary};
use digimed_core::staff::{self, NewStaffInput, StaffMember};
use digimed_core::webhooks::{self, Delivery};
use digimed_core::{ClinicTx, Error, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
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
    state.act(async |tx| referrals::list_partners(tx).await).await
}

/// Exports the insurer report of a partner and period into the user's Downloads folder as
/// `.xlsx` or `.csv`, reporting progress as `ReportProgress` events.
#[tauri::command]
#[specta::specta]
pub async fn report_export<R: Runtime>(
    app: AppHandle<R>,
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
    report::export(ClinicTx::begin(&pool).await?, &vault, &request, &out, &mut progress).await
}

/// The outcomes a result may name.
#[tauri::command]
#[specta::specta]
pub async fn outcomes_list(state: State<'_, ConsoleState>) -> Result<Vec<Outcome>, Error> {
    state.act(async |tx| outcomes::list(tx).await).await
}

/// Adds an outcome (admins).
#[tauri::command]
#[specta::specta]
pub async fn outcome_add(state: State<'_, ConsoleState>, label: String) -> Result<Outcome, Error> {
    state.act(async |tx| outcomes::add(tx, &label).await).await
}

/// Retires an outcome or brings it back (admins).
#[tauri::command]
#[specta::specta]
pub async fn outcome_set_active(state: State<'_, ConsoleState>, code: String, active: bool) -> Result<Outcome, Error> {
    state.act(async |tx| outcomes::set_active(tx, &code, active).await).await
}

/// The clinic's staff members.
#[tauri::command]
#[specta::specta]
pub async fn staff_list(state: State<'_, ConsoleState>) -> Result<Vec<StaffMember>, Error> {
    state.act(async |tx| staff::list_staff(tx).await).await
}

/// The newest outgoing webhook deliveries of the clinic (admins).
#[tauri::command]
#[specta::specta]
pub async fn webhook_deliveries(state: State<'_, ConsoleState>) -> Result<Vec<Delivery>, Error> {
    state.act(async |tx| webhooks::deliveries(tx, 50).await).await
}

/// The newest CRM syncs of the clinic and their state (admins); never patient data.
#[tauri::command]
#[specta::specta]
pub async fn crm_syncs(state: State<'_, ConsoleState>) -> Result<Vec<CrmSync>, Error> {
    state.act(async |tx| crm::syncs(tx, 50).await).await
}

/// The newest audit rows, before `before_id` when given (admins).
#[tauri::command]
#[specta::specta]
pub async fn audit_recent(state: State<'_, ConsoleState>, before_id: Option<f64>) -> Result<Vec<AuditEntry>, Error> {
    state.act(async |tx| audit::recent(tx, 50, before_id.map(|id| id as i64)).await).await
}

/// Recomputes the audit log's hash chain and reports the first broken row (admins).
#[tauri::command]
#[specta::specta]
pub async fn audit_verify(state: State<'_, ConsoleState>) -> Result<ChainReport, Error> {
    state.act(async |tx| audit::verify_chain(tx).await).await
}

/// The form templates of the clinic (and the shared ones), each with its versions.
#[tauri::command]
#[specta::specta]
pub async fn form_templates(state: State<'_, ConsoleState>) -> Result<Vec<Template>, Error> {
    state.act(async |tx| forms::list_templates(tx).await).await
}

/// The kinds of consent a template may grant.
#[tauri::command]
#[specta::specta]
pub async fn consent_kinds(state: State<'_, ConsoleState>) -> Result<Vec<ConsentKind>, Error> {
    state.act(async |tx| forms::consent_kinds(tx).await).await
}

/// Creates a form template of the clinic, without text yet (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_create(state: State<'_, ConsoleState>, template: NewTemplate) -> Result<Template, Error> {
    state.act(async |tx| forms::create_template(tx, &template).await).await
}

/// Adds a draft version with a new text to a template (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_add_version(
    state: State<'_, ConsoleState>,
    template_id: i32,
    body: String,
) -> Result<TemplateVersion, Error> {
    state.act(async |tx| forms::add_version(tx, template_id, &body).await).await
}

/// Publishes a draft version; pending forms of older versions are superseded (admins).
#[tauri::command]
#[specta::specta]
pub async fn form_template_publish(state: State<'_, ConsoleState>, version_id: i32) -> Result<Published, Error> {
    state.act(async |tx| forms::publish(tx, version_id).await).await
}

/// The clinic's onboarding rules and the forms each requires.
#[tauri::command]
#[specta::specta]
pub async fn onboarding_rules(state: State<'_, ConsoleState>) -> Result<Vec<OnboardingRule>, Error> {
    state.act(async |tx| automation::onboarding_rules(tx).await).await
}

/// Adds an onboarding rule to the clinic (admins).
#[tauri::command]
#[specta::specta]
pub async fn onboarding_rule_add(
    state: State<'_, ConsoleState>,
    name: String,
    applies_to: AppliesTo,
) -> Result<OnboardingRule, Error> {
    state.act(async |tx| automation::add_onboarding_rule(tx, &name, applies_to).await).await
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
    state.act(async |tx| automation::require_form(tx, rule_id, template_id, blocking).await).await
}

/// Makes a required form blocking or not (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_form_set_blocking(
    state: State<'_, ConsoleState>,
    action_id: i32,
    blocking: bool,
) -> Result<OnboardingRule, Error> {
    state.act(async |tx| automation::set_form_blocking(tx, action_id, blocking).await).await
}

/// Stops requiring a form (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_form_remove(state: State<'_, ConsoleState>, action_id: i32) -> Result<OnboardingRule, Error> {
    state.act(async |tx| automation::remove_form(tx, action_id).await).await
}

/// Adds the welcome e-mail to a rule or removes it (admins).
#[tauri::command]
#[specta::specta]
pub async fn rule_set_welcome_email(state: State<'_, ConsoleState>, rule_id: i32, on: bool) -> Result<OnboardingRule, Error> {
    state.act(async |tx| automation::set_welcome_email(tx, rule_id, on).await).await
}

/// Adds a partner to the clinic with its webhook secret (given, or generated); the secret is
/// returned this once and stored only encrypted with the data keys (admins).
#[tauri::command]
#[specta::specta]
pub async fn partner_add(state: State<'_, ConsoleState>, partner: PartnerInput) -> Result<CreatedPartner, Error> {
    let vault = state.vault().await?;
    state.act(async |tx| referrals::create_partner(tx, &vault, &partner).await).await
}

/// Deactivates a staff member of the clinic (their login can no longer sign in) or reactivates
/// them (admins; never themselves).
#[tauri::command]
#[specta::specta]
pub async fn staff_set_active(state: State<'_, ConsoleState>, staff_id: i32, active: bool) -> Result<StaffMember, Error> {
    state.act(async |tx| staff::set_active(tx, staff_id, active).await).await
}

/// Adds a staff member, with their login, to the administrator's own clinic.
#[tauri::command]
#[specta::specta]
pub async fn staff_add(state: State<'_, ConsoleState>, input: NewStaffInput) -> Result<StaffMember, Error> {
    state.act(async |tx| staff::add_to_own_clinic(tx, &input).await).await
}

/// The clinic's partners, each with its deal prices per consultation category.
#[tauri::command]
#[specta::specta]
pub async fn partner_prices(state: State<'_, ConsoleState>) -> Result<Vec<PartnerDeal>, Error> {
    state.act(async |tx| prices::list(tx).await).await
}

/// Sets a partner's deal price for a category, e.g. `"650.00"` (admins); bookings made from now
/// on are priced with it.
#[tauri::command]
#[specta::specta]
pub async fn partner_price_set(
    state: State<'_, ConsoleState>,
    partner_id: i32,
    category: String,
    amount: String,
    currency: Option<String>,
) -> Result<DealPrice, Error> {
    state.act(async |tx| prices::set(tx, partner_id, &category, &amount, currency.as_deref()).await).await
}

/// A partner's consultations created in a period, with price, discount and total, and the sums.
#[tauri::command]
#[specta::specta]
pub async fn billing(state: State<'_, ConsoleState>, partner_id: i32, from: String, to: String) -> Result<Billing, Error> {
    state.act(async |tx| orders::billing(tx, partner_id, &from, &to).await).await
}

/// Gives a discount on a consultation's line item, with the reason (admins).
#[tauri::command]
#[specta::specta]
pub async fn order_discount_set(
    state: State<'_, ConsoleState>,
    consultation_id: i32,
    amount: String,
    reason: String,
) -> Result<BillingLine, Error> {
    state.act(async |tx| orders::set_discount(tx, consultation_id, &amount, &reason).await).await
}
