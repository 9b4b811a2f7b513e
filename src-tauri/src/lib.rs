//! The Digimed Console desktop shell: typed Tauri commands over `digimed-core`.
//!
//! Every command parses its arguments, calls the core and hands the core's typed
//! [`digimed_core::Error`] to the UI. Rules about patients, referrals and who may do what live in
//! the core and the database, never here.

// The command modules are public only for `console_commands!`, which names their commands.
#[doc(hidden)]
pub mod admin_commands;
mod bindings;
#[doc(hidden)]
pub mod commands;
#[doc(hidden)]
pub mod draft_commands;
#[doc(hidden)]
pub mod fax_commands;
pub mod lead_commands;
#[doc(hidden)]
pub mod message_commands;
#[doc(hidden)]
pub mod patient_commands;
#[doc(hidden)]
pub mod public_page_commands;
#[doc(hidden)]
pub mod queue_commands;
#[doc(hidden)]
pub mod referral_commands;
mod state;
mod timing;
#[doc(hidden)]
pub mod workstation_commands;

pub use bindings::{render_bindings, specta_builder, write_bindings, BINDINGS_PATH};
pub use commands::{AppStatus, ClerkMode};
pub use state::{ConsoleState, LinkOpener};
#[doc(hidden)]
pub use tauri_specta as __tauri_specta;

/// Starts the console, or with `--write-bindings` regenerates `ui/src/bindings.ts` and exits.
pub fn run() {
    timing::started();
    webview_memory_settings();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    if std::env::args().skip(1).any(|arg| arg == "--write-bindings") {
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

    timing::mark("main");
    configure(tauri::Builder::default(), specta_builder())
        .run(tauri::generate_context!())
        .expect("the console window could not be started");
}

/// The console as a Tauri application: its state, its commands and events, and what starts with
/// it. Generic over the runtime, so that tests run the very same commands without a window (see
/// `examples/console_bridge.rs`).
pub fn configure<R: tauri::Runtime>(builder: tauri::Builder<R>, commands: tauri_specta::Builder<R>) -> tauri::Builder<R> {
    configure_with_state(builder, commands, ConsoleState::default())
}

/// [`configure`] with a given state (the test bridge records opened links instead of opening
/// them).
pub fn configure_with_state<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    commands: tauri_specta::Builder<R>,
    state: ConsoleState,
) -> tauri::Builder<R> {
    // The opener plugin opens the doctor's meeting link in the system browser, from Rust only:
    // the window's capability grants none of its commands, so the page itself opens nothing.
    builder.plugin(tauri_plugin_opener::init()).manage(state).invoke_handler(commands.invoke_handler()).setup(move |app| {
        commands.mount_events(app);
        // Whether Clerk is configured may take a keyring round trip: read it while the window
        // and its page load, so the sign-in screen need not wait for it.
        let handle = app.handle().clone();
        tauri::async_runtime::spawn(async move {
            use tauri::Manager;
            let state = handle.state::<ConsoleState>();
            timing::timed("Clerk configuration read (keyring)", state.clerk_configured()).await;
            // One line saying which meeting service is used, or what is wrong with its settings.
            eprintln!("{}", timing::timed("meeting service read (keyring)", state.meetings()).await.startup_line());
        });
        timing::mark("window set up");
        Ok(())
    })
}

/// WebKitGTK paints with the GPU by default, and where there is none (a virtual machine, a remote
/// desktop, Xvfb) with software OpenGL: the web process then holds GL contexts, shader code and
/// GPU-sized tile buffers, about 50 MB more than painting the same tiles on the CPU, which is
/// ample for a console of forms and tables. Compositing stays on, so scrolling and painting keep
/// their speed. Set before GTK and WebKit start (no other thread runs yet);
/// `WEBKIT_SKIA_ENABLE_CPU_RENDERING=0` in the environment paints with the GPU again.
fn webview_memory_settings() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_SKIA_ENABLE_CPU_RENDERING").is_none() {
        std::env::set_var("WEBKIT_SKIA_ENABLE_CPU_RENDERING", "1");
    }
}
