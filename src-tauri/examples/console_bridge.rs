//! The console's commands over HTTP, for the UI's browser tests: the very commands the desktop
//! console registers (`console_commands!`), run by Tauri's mock runtime on the real core and a
//! real database, and the built UI served beside them. A page loads the UI from this server and
//! sends each `invoke` here instead of to a webview's IPC; events the commands emit come back as
//! server-sent events.
//!
//! `console_bridge --ui DIR [--listen 127.0.0.1:0]`, with the environment the console reads
//! (`DIGIMED_KEY_FILE`, `DIGIMED_CLINICAL_KEY_FILE`, `DIGIMED_SERVER`, ...). Prints `listening on http://ADDR` when ready.
//!
//! Meeting links the console would open in the system browser are recorded instead:
//! `GET /opened` answers them, oldest first, as a JSON list.
//!
//! A test that must see a command's busy state holds the command (`POST /hold/{cmd}`): calls of
//! it wait, without running, until `POST /release/{cmd}`.
//! Test-only: it is an example of the console crate, never part of a release.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{Stream, StreamExt};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, WebviewWindow, WebviewWindowBuilder};
use tokio::sync::broadcast;

/// The events the console's commands emit (see `console_commands!`).
const EVENTS: [&str; 2] = ["queue-changed", "report-progress"];

struct Bridge {
    webview: WebviewWindow<MockRuntime>,
    ui: PathBuf,
    events: broadcast::Sender<String>,
    /// Commands held by a test: true while held.
    holds: std::sync::Mutex<HashMap<String, tokio::sync::watch::Sender<bool>>>,
    /// The links the console opened (recorded, never opened).
    opened: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Bridge {
    fn hold(&self, cmd: &str) -> tokio::sync::watch::Sender<bool> {
        self.holds.lock().expect("holds").entry(cmd.to_string()).or_insert_with(|| tokio::sync::watch::channel(false).0).clone()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut ui, mut listen) = (None, "127.0.0.1:0".to_string());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ui" => ui = args.next().map(PathBuf::from),
            "--listen" => listen = args.next().unwrap_or(listen),
            other => {
                eprintln!("unknown argument {other}; usage: console_bridge --ui DIR [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let Some(ui) = ui.filter(|d| d.join("index.html").is_file()) else {
        eprintln!("--ui must name the built UI (a folder with index.html)");
        std::process::exit(2);
    };

    let opened = Arc::new(std::sync::Mutex::new(Vec::new()));
    let state = digimed_console::ConsoleState::recording_opened_links(opened.clone());
    let mut app = digimed_console::configure_with_state(mock_builder(), digimed_console::console_commands!(MockRuntime), state)
        .build(mock_context(noop_assets()))
        .expect("the console builds on the mock runtime");
    // The console's setup (which mounts its events) runs when the application starts running:
    // one iteration of the mock runtime's loop runs it, as the desktop's first would.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("a webview of the mock runtime");
    let (events, _) = broadcast::channel::<String>(1024);
    for name in EVENTS {
        let events = events.clone();
        app.listen_any(name, move |e| {
            let payload: serde_json::Value = serde_json::from_str(e.payload()).unwrap_or(serde_json::Value::Null);
            let _ = events.send(serde_json::json!({ "event": name, "payload": payload }).to_string());
        });
    }
    let bridge = Arc::new(Bridge { webview, ui, events, holds: Default::default(), opened });

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime for the bridge");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("the bridge's address is free");
        let addr = listener.local_addr().expect("a bound address");
        let routes = Router::new()
            .route("/invoke/{cmd}", post(invoke))
            .route("/events", get(events_stream))
            .route("/opened", get(opened_links))
            .route("/hold/{cmd}", post(hold))
            .route("/release/{cmd}", post(release))
            .fallback(get(static_file))
            .with_state(bridge);
        println!("listening on http://{addr}");
        axum::serve(listener, routes).await.expect("the bridge serves");
    });
}

/// The meeting links the console opened, oldest first.
async fn opened_links(State(bridge): State<Arc<Bridge>>) -> axum::Json<Vec<String>> {
    axum::Json(bridge.opened.lock().map(|o| o.clone()).unwrap_or_default())
}

/// Runs one command as the webview's IPC would, and answers its result (200) or its error (400),
/// both as JSON.
async fn hold(State(bridge): State<Arc<Bridge>>, UrlPath(cmd): UrlPath<String>) -> StatusCode {
    bridge.hold(&cmd).send_replace(true);
    StatusCode::NO_CONTENT
}

async fn release(State(bridge): State<Arc<Bridge>>, UrlPath(cmd): UrlPath<String>) -> StatusCode {
    bridge.hold(&cmd).send_replace(false);
    StatusCode::NO_CONTENT
}

async fn invoke(State(bridge): State<Arc<Bridge>>, UrlPath(cmd): UrlPath<String>, body: Bytes) -> Response {
    let mut held = bridge.hold(&cmd).subscribe();
    if held.wait_for(|h| !*h).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let args: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) if body.is_empty() => serde_json::json!({}),
        Err(e) => return (StatusCode::BAD_REQUEST, format!("the arguments are not JSON: {e}")).into_response(),
    };
    let request = InvokeRequest {
        cmd,
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // The origin of the console's own pages, as the desktop webview loads them.
        url: "tauri://localhost".parse().expect("a URL"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    let webview = bridge.webview.clone();
    // The command runs on Tauri's own runtime; waiting for its answer blocks this thread only.
    let answer = tokio::task::spawn_blocking(move || get_ipc_response(&webview, request)).await;
    match answer {
        Ok(Ok(body)) => {
            let value: serde_json::Value = body.deserialize().unwrap_or(serde_json::Value::Null);
            (StatusCode::OK, axum::Json(value)).into_response()
        }
        Ok(Err(error)) => (StatusCode::BAD_REQUEST, axum::Json(error)).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the command stopped unexpectedly").into_response(),
    }
}

/// The events the commands emit, as they happen.
async fn events_stream(State(bridge): State<Arc<Bridge>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = bridge.events.subscribe();
    let stream = tokio_stream_from(rx).map(|data| Ok(Event::default().data(data)));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn tokio_stream_from(rx: broadcast::Receiver<String>) -> impl Stream<Item = String> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(item) => return Some((item, rx)),
                // A slow page missed some; the queue re-reads on the next one anyway.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// The built UI, read from `--ui`.
async fn static_file(State(bridge): State<Arc<Bridge>>, uri: axum::http::Uri) -> Response {
    let relative = uri.path().trim_start_matches('/');
    let relative = if relative.is_empty() { "index.html" } else { relative };
    let path = Path::new(relative);
    if path.components().any(|c| !matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let file = bridge.ui.join(path);
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("woff2") => "font/woff2",
                _ => "application/octet-stream",
            };
            ([(header::CONTENT_TYPE, kind)], Body::from(bytes)).into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
