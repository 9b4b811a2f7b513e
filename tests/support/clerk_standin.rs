//! A stand-in for Clerk's Backend API on 127.0.0.1: a real HTTP server speaking the documented
//! request and response shapes (`GET /v1/users?email_address=`, `POST /v1/users`,
//! `DELETE /v1/users/{id}`, `GET /v1/jwks` (the instance's JSON Web Key Set, which a test sets
//! and rotates), errors as `{"errors":[{"message","long_message","code"}]}`), with
//! switches to make it fail: HTTP 500, 429 with `Retry-After`, a slow answer, malformed JSON.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};

/// How the stand-in misbehaves for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with Clerk's error body.
    ServerError,
    /// HTTP 429 with `Retry-After: secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// Waits this long before answering normally.
    Slow(Duration),
    /// HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// HTTP 200 for a creation that is applied, then the connection answers 502 (the user exists
    /// but the client was told it failed).
    CreateThenBadGateway,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Find,
    Create,
    Delete,
    Jwks,
    Any,
}

#[derive(Debug, Clone)]
pub struct StandinUser {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Default)]
struct Inner {
    users: BTreeMap<String, StandinUser>,
    next_id: u64,
    /// One-shot faults, consumed in order by matching requests.
    queued: VecDeque<(Op, Fault)>,
    /// A fault applied to every matching request until cleared.
    always: Option<(Op, Fault)>,
    calls: Vec<(Op, u16)>,
    deleted: Vec<String>,
    /// The JSON Web Keys `GET /v1/jwks` serves.
    jwks: Vec<serde_json::Value>,
}

#[derive(Clone)]
pub struct ClerkStandin {
    /// The API base, e.g. `http://127.0.0.1:41234/v1` (what `CLERK_API_URL` takes).
    pub url: String,
    pub secret_key: String,
    inner: Arc<Mutex<Inner>>,
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone)]
struct AppState {
    inner: Arc<Mutex<Inner>>,
    secret_key: String,
}

impl ClerkStandin {
    /// Starts the server on 127.0.0.1 with a random port.
    pub async fn start() -> ClerkStandin {
        let secret_key = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = AppState { inner: inner.clone(), secret_key: secret_key.clone() };
        let app = Router::new()
            .route("/v1/users", get(find).post(create))
            .route("/v1/users/{id}", delete(remove))
            .route("/v1/jwks", get(jwks))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Clerk stand-in");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        ClerkStandin { url: format!("http://{addr}/v1"), secret_key, inner, _stop: Arc::new(tx) }
    }

    /// The next matching request fails this way (queue several for several requests).
    pub fn fail_next(&self, op: Op, fault: Fault) {
        self.inner.lock().unwrap().queued.push_back((op, fault));
    }

    /// Every matching request fails this way until [`ClerkStandin::heal`].
    pub fn fail_always(&self, op: Op, fault: Fault) {
        self.inner.lock().unwrap().always = Some((op, fault));
    }

    pub fn heal(&self) {
        let mut i = self.inner.lock().unwrap();
        i.always = None;
        i.queued.clear();
    }

    /// Adds a user directly (as if created elsewhere).
    pub fn add_user(&self, email: &str) -> String {
        let mut i = self.inner.lock().unwrap();
        i.next_id += 1;
        let id = format!("user_standin{:06}", i.next_id);
        i.users.insert(
            id.clone(),
            StandinUser { id: id.clone(), email: email.to_string(), first_name: String::new(), last_name: String::new() },
        );
        id
    }

    pub fn users(&self) -> Vec<StandinUser> {
        self.inner.lock().unwrap().users.values().cloned().collect()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.inner.lock().unwrap().deleted.clone()
    }

    /// Requests received so far, with the status answered.
    pub fn calls(&self) -> Vec<(Op, u16)> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// The keys `GET /v1/jwks` serves from now on (a rotation replaces them).
    pub fn set_jwks(&self, keys: Vec<serde_json::Value>) {
        self.inner.lock().unwrap().jwks = keys;
    }

    pub fn count(&self, op: Op) -> usize {
        self.calls().iter().filter(|(o, _)| *o == op).count()
    }
}

fn clerk_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({
            "errors": [{"message": message, "long_message": format!("{message} (stand-in)"), "code": code}],
            "clerk_trace_id": uuid::Uuid::new_v4().simple().to_string(),
        })),
    )
        .into_response()
}

fn user_json(u: &StandinUser) -> serde_json::Value {
    serde_json::json!({
        "object": "user",
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "email_addresses": [{"id": format!("idn_{}", u.id), "object": "email_address", "email_address": u.email}],
        "primary_email_address_id": format!("idn_{}", u.id),
        "created_at": 1_700_000_000_000u64,
        "updated_at": 1_700_000_000_000u64,
    })
}

/// Checks the key and applies any fault. `Err` is the answer to give instead.
async fn gate(state: &AppState, headers: &HeaderMap, op: Op) -> Result<Option<Fault>, Response> {
    let authorised =
        headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v == format!("Bearer {}", state.secret_key));
    if !authorised {
        return Err(clerk_error(StatusCode::UNAUTHORIZED, "authentication_invalid", "Unauthorized request"));
    }
    let fault = {
        let mut i = state.inner.lock().unwrap();
        let pos = i.queued.iter().position(|(o, _)| *o == op || *o == Op::Any);
        match pos {
            Some(p) => i.queued.remove(p).map(|(_, f)| f),
            None => i.always.clone().filter(|(o, _)| *o == op || *o == Op::Any).map(|(_, f)| f),
        }
    };
    match fault {
        None => Ok(None),
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            Ok(None)
        }
        Some(Fault::ServerError) => {
            Err(clerk_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_clerk_error", "Something went wrong"))
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = clerk_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many requests");
            r.headers_mut().insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            Err(r)
        }
        Some(Fault::MalformedJson) => Err((StatusCode::OK, "{\"object\": \"user\", \"id\": ").into_response()),
        Some(f @ Fault::CreateThenBadGateway) => Ok(Some(f)),
    }
}

fn log(state: &AppState, op: Op, resp: Response) -> Response {
    state.inner.lock().unwrap().calls.push((op, resp.status().as_u16()));
    resp
}

async fn find(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Vec<(String, String)>>) -> Response {
    if let Err(r) = gate(&state, &headers, Op::Find).await {
        return log(&state, Op::Find, r);
    }
    let wanted: Vec<String> =
        q.iter().filter(|(k, _)| k == "email_address" || k == "email_address[]").map(|(_, v)| v.to_lowercase()).collect();
    let found: Vec<serde_json::Value> = state
        .inner
        .lock()
        .unwrap()
        .users
        .values()
        .filter(|u| wanted.is_empty() || wanted.contains(&u.email))
        .map(user_json)
        .collect();
    log(&state, Op::Find, Json(found).into_response())
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let fault = match gate(&state, &headers, Op::Create).await {
        Err(r) => return log(&state, Op::Create, r),
        Ok(f) => f,
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return log(&state, Op::Create, clerk_error(StatusCode::BAD_REQUEST, "malformed_request", "Malformed request"));
    };
    let email = v["email_address"].as_array().and_then(|a| a.first()).and_then(|e| e.as_str()).map(str::to_lowercase);
    let Some(email) = email else {
        return log(
            &state,
            Op::Create,
            clerk_error(StatusCode::UNPROCESSABLE_ENTITY, "form_param_missing", "email_address is missing"),
        );
    };
    let user = {
        let mut i = state.inner.lock().unwrap();
        if i.users.values().any(|u| u.email == email) {
            drop(i);
            return log(
                &state,
                Op::Create,
                clerk_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "form_identifier_exists",
                    "That email address is taken. Please try another.",
                ),
            );
        }
        i.next_id += 1;
        let id = format!("user_standin{:06}", i.next_id);
        let u = StandinUser {
            id: id.clone(),
            email,
            first_name: v["first_name"].as_str().unwrap_or_default().to_string(),
            last_name: v["last_name"].as_str().unwrap_or_default().to_string(),
        };
        i.users.insert(id, u.clone());
        u
    };
    if fault == Some(Fault::CreateThenBadGateway) {
        return log(&state, Op::Create, clerk_error(StatusCode::BAD_GATEWAY, "bad_gateway", "Bad gateway"));
    }
    log(&state, Op::Create, Json(user_json(&user)).into_response())
}

async fn remove(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = gate(&state, &headers, Op::Delete).await {
        return log(&state, Op::Delete, r);
    }
    let removed = {
        let mut i = state.inner.lock().unwrap();
        let r = i.users.remove(&id);
        if r.is_some() {
            i.deleted.push(id.clone());
        }
        r
    };
    let resp = match removed {
        Some(_) => Json(serde_json::json!({"object": "user", "id": id, "deleted": true})).into_response(),
        None => clerk_error(StatusCode::NOT_FOUND, "resource_not_found", "not found"),
    };
    log(&state, Op::Delete, resp)
}

async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&state, &headers, Op::Jwks).await {
        return log(&state, Op::Jwks, r);
    }
    let keys = state.inner.lock().unwrap().jwks.clone();
    log(&state, Op::Jwks, Json(serde_json::json!({ "keys": keys })).into_response())
}
