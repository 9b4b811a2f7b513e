//! The Digimed Console desktop shell: typed Tauri commands over `digimed-core`.
//!
//! Every command parses its arguments, calls the core and hands the core's typed
//! [`digimed_core::Error`] to the UI. Rules about patients, referrals and who may do what live in
//! the core and the database, never here.

mod bindings;
mod admin_commands;
mod commands;
mod patient_commands;
mod draft_commands;
mod queue_commands;
mod state;

pub use bindings::{render_bindings, specta_builder, write_bindings, BINDINGS_PATH};
pub use commands::{AppStatus, ClerkMode};
pub use state::ConsoleState;

/// Starts the console, or with `--write-bindings` regenerates `ui/src/bindings.ts` and exits.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    if std::env::args()
        .skip(1)
        .any(|arg| arg == "--write-bindings")
    {
        match write_bindings() {
            Ok(path) => {
                println!("wrote {}", path.display());
                return;
            }
            Err(e) => {
                eprintln!("could not write the bindings: {e}");
                std::process::exit(1);
            }
        }
    }

    let builder = specta_builder();
    tauri::Builder::default()
        .manage(ConsoleState::default())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the console window could not be started");
}
