//! The TypeScript bindings of the console's commands (`ui/src/bindings.ts`).
//!
//! The file is generated from [`specta_builder`] and committed. Regenerate it with
//! `cargo run -p digimed-console -- --write-bindings`; the test below fails while it is stale.

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;
use tauri_specta::Builder;

/// Where the bindings live, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/bindings.ts";

const HEADER: &str = "// Regenerate with `cargo run -p digimed-console -- --write-bindings`.\n\
// `cargo test -p digimed-console` fails while this file is out of date.\n\
/* eslint-disable */";

/// Every command the UI may call, for the Tauri runtime `$runtime`: the one place commands and
/// events are registered, for the app, the bindings and the test bridge.
#[macro_export]
macro_rules! console_commands {
    ($runtime:ty) => {
        $crate::__tauri_specta::Builder::<$runtime>::new()
            .commands($crate::__tauri_specta::collect_commands![
                $crate::commands::app_status::<$runtime>,
                $crate::commands::remembered_password,
                $crate::commands::sign_in,
                $crate::commands::sign_out,
                $crate::queue_commands::queue_list,
                $crate::queue_commands::consultation_get,
                $crate::queue_commands::pick_next,
                $crate::queue_commands::pick,
                $crate::queue_commands::assign,
                $crate::queue_commands::cancel,
                $crate::queue_commands::start,
                $crate::queue_commands::meeting_status,
                $crate::queue_commands::meeting_links,
                $crate::queue_commands::meeting_join::<$runtime>,
                $crate::queue_commands::complete_with_result,
                $crate::queue_commands::result_read,
                $crate::queue_commands::result_amend,
                $crate::queue_commands::consultation_history,
                $crate::queue_commands::book_follow_up,
                $crate::queue_commands::icpc2_search,
                $crate::queue_commands::doctors,
                $crate::queue_commands::screenings,
                $crate::queue_commands::watch_queue::<$runtime>,
                $crate::patient_commands::match_candidates,
                $crate::patient_commands::onboard_walk_in,
                $crate::patient_commands::account_directory,
                $crate::patient_commands::patient_forms,
                $crate::patient_commands::form_text,
                $crate::patient_commands::form_attest_signature,
                $crate::patient_commands::form_decline,
                $crate::patient_commands::consent_withdraw,
                $crate::patient_commands::consent_status,
                $crate::patient_commands::consent_timeline,
                $crate::patient_commands::patient_card,
                $crate::patient_commands::patient_profile_edit,
                $crate::patient_commands::patient_set_message_language,
                $crate::fax_commands::fax_inbox,
                $crate::fax_commands::fax_open,
                $crate::fax_commands::fax_complete,
                $crate::fax_commands::fax_discard,
                $crate::lead_commands::leads_list,
                $crate::lead_commands::lead_check,
                $crate::lead_commands::lead_convert,
                $crate::message_commands::messages_list,
                $crate::message_commands::message_resend_join_link,
                $crate::message_commands::join_link_warnings,
                $crate::admin_commands::partners,
                $crate::admin_commands::report_export::<$runtime>,
                $crate::admin_commands::outcomes_list,
                $crate::admin_commands::outcome_add,
                $crate::admin_commands::outcome_set_active,
                $crate::admin_commands::staff_list,
                $crate::admin_commands::webhook_deliveries,
                $crate::admin_commands::crm_syncs,
                $crate::admin_commands::audit_recent,
                $crate::admin_commands::audit_verify,
                $crate::admin_commands::partner_prices,
                $crate::admin_commands::partner_price_set,
                $crate::admin_commands::billing,
                $crate::admin_commands::order_discount_set,
                $crate::admin_commands::form_templates,
                $crate::admin_commands::consent_kinds,
                $crate::admin_commands::form_template_create,
                $crate::admin_commands::form_template_add_version,
                $crate::admin_commands::form_template_publish,
                $crate::admin_commands::onboarding_rules,
                $crate::admin_commands::onboarding_rule_add,
                $crate::admin_commands::rule_require_form,
                $crate::admin_commands::rule_form_set_blocking,
                $crate::admin_commands::rule_form_remove,
                $crate::admin_commands::rule_set_welcome_email,
                $crate::admin_commands::partner_add,
                $crate::admin_commands::staff_set_active,
                $crate::admin_commands::staff_add,
                $crate::workstation_commands::workstation_enroll::<$runtime>,
                $crate::workstation_commands::workstations_list,
                $crate::workstation_commands::workstation_revoke,
                $crate::workstation_commands::workstation_enrolled,
                $crate::workstation_commands::enrollment_open,
                $crate::workstation_commands::enrollment_complete::<$runtime>,
                $crate::draft_commands::draft_save,
                $crate::draft_commands::draft_load,
                $crate::draft_commands::draft_list,
                $crate::draft_commands::draft_discard,
                $crate::referral_commands::screening_list,
                $crate::referral_commands::referral_fields,
                $crate::referral_commands::referral_screen,
                $crate::referral_commands::referral_screenings,
                $crate::referral_commands::referral_book,
                $crate::referral_commands::referral_decline,
                $crate::referral_commands::consultation_book,
                $crate::referral_commands::partner_set_book_on_arrival,
                $crate::public_page_commands::reviews_summary,
                $crate::public_page_commands::preference_token_rotate,
            ])
            .events($crate::__tauri_specta::collect_events![
                $crate::queue_commands::QueueChanged,
                $crate::admin_commands::ReportProgress
            ])
            .error_handling($crate::__tauri_specta::ErrorHandlingMode::Result)
            // The commands only send these types to the UI, so one shape per type is enough; split
            // serialize/deserialize shapes would only add `_Serialize` / `_Deserialize` aliases.
            .disable_serde_phases()
    };
}

/// The console's commands for the desktop runtime.
pub fn specta_builder() -> Builder<tauri::Wry> {
    crate::console_commands!(tauri::Wry)
}

fn exporter() -> Typescript {
    Typescript::default().header(HEADER)
}

/// The bindings as they would be written now. Types come out sorted by name, so the text only
/// changes when a command or type does.
pub fn render_bindings() -> Result<String, String> {
    let dir =
        std::env::temp_dir().join(format!("digimed-console-bindings-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join("bindings.ts");
    let result = specta_builder()
        .export(exporter(), &file)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::read_to_string(&file).map_err(|e| e.to_string()));
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|text| normalize(&text))
}

/// One trailing newline and no trailing spaces, whatever the exporter's habits.
fn normalize(text: &str) -> String {
    let mut out: String = text.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
    while out.ends_with('\n') {
        out.pop();
    }
    out.push('\n');
    out
}

/// The committed bindings file.
pub fn bindings_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH)
}

/// Regenerates `ui/src/bindings.ts`.
pub fn write_bindings() -> Result<PathBuf, String> {
    let path = bindings_path();
    let text = render_bindings()?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    //! `ui/src/bindings.ts` must match the commands. When this fails, regenerate the file with
    //!
    //!     cargo run -p digimed-console -- --write-bindings
    //!
    //! (or `DIGIMED_WRITE_BINDINGS=1 cargo test -p digimed-console`) and commit it.

    use super::*;

    #[test]
    fn committed_bindings_are_up_to_date() {
        let fresh = render_bindings().expect("the bindings could not be generated");
        if std::env::var("DIGIMED_WRITE_BINDINGS").as_deref() == Ok("1") {
            write_bindings().expect("the bindings could not be written");
            return;
        }
        let committed = std::fs::read_to_string(bindings_path()).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings.ts is out of date with the console's commands.\n\
             Run `cargo run -p digimed-console -- --write-bindings` (or \
             `DIGIMED_WRITE_BINDINGS=1 cargo test -p digimed-console`) and commit the result.\n\
             First difference at line {}.",
            first_difference(&committed, &fresh)
        );
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(render_bindings().unwrap(), render_bindings().unwrap());
    }

    fn first_difference(a: &str, b: &str) -> usize {
        a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or_else(|| a.lines().count().min(b.lines().count())) + 1
    }
}
