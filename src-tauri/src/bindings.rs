//! The TypeScript bindings of the console's commands (`ui/src/bindings.ts`).
//!
//! The file is generated from [`specta_builder`] and committed. Regenerate it with
//! `cargo run -p digimed-console -- --write-bindings`; the test below fails while it is stale.

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;
use tauri_specta::{collect_commands, collect_events, Builder, ErrorHandlingMode};

use crate::{admin_commands, commands, draft_commands, patient_commands, queue_commands};

/// Where the bindings live, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/bindings.ts";

const HEADER: &str = "// Regenerate with `cargo run -p digimed-console -- --write-bindings`.\n\
// `cargo test -p digimed-console` fails while this file is out of date.\n\
/* eslint-disable */";

/// Every command the UI may call. The one place commands are registered, for both the app and
/// the bindings.
pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app_status,
            commands::remembered_password,
            commands::sign_in,
            commands::sign_out,
            queue_commands::queue_list,
            queue_commands::consultation_get,
            queue_commands::pick_next,
            queue_commands::pick,
            queue_commands::assign,
            queue_commands::cancel,
            queue_commands::start,
            queue_commands::complete_with_result,
            queue_commands::result_read,
            queue_commands::icpc2_search,
            queue_commands::doctors,
            queue_commands::screen,
            queue_commands::screenings,
            queue_commands::watch_queue,
            patient_commands::match_candidates,
            patient_commands::onboard_walk_in,
            patient_commands::account_directory,
            patient_commands::patient_forms,
            patient_commands::form_text,
            patient_commands::form_attest_signature,
            patient_commands::form_decline,
            patient_commands::consent_withdraw,
            patient_commands::consent_status,
            patient_commands::consent_timeline,
            admin_commands::partners,
            admin_commands::report_export,
            admin_commands::outcomes_list,
            admin_commands::outcome_add,
            admin_commands::outcome_set_active,
            admin_commands::staff_list,
            admin_commands::webhook_deliveries,
            admin_commands::audit_recent,
            admin_commands::audit_verify,
            admin_commands::form_templates,
            admin_commands::consent_kinds,
            admin_commands::form_template_create,
            admin_commands::form_template_add_version,
            admin_commands::form_template_publish,
            admin_commands::onboarding_rules,
            admin_commands::onboarding_rule_add,
            admin_commands::rule_require_form,
            admin_commands::rule_form_set_blocking,
            admin_commands::rule_form_remove,
            admin_commands::partner_add,
            admin_commands::staff_set_active,
            admin_commands::staff_add,
            draft_commands::draft_save,
            draft_commands::draft_load,
            draft_commands::draft_list,
            draft_commands::draft_discard,
        ])
        .events(collect_events![queue_commands::QueueChanged, admin_commands::ReportProgress])
        .error_handling(ErrorHandlingMode::Result)
        // The commands only send these types to the UI, so one shape per type is enough; split
        // serialize/deserialize shapes would only add `_Serialize` / `_Deserialize` aliases.
        .disable_serde_phases()
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
