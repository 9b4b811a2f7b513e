//! A stand-in for HubSpot's CRM v3 API on 127.0.0.1: a real HTTP server speaking the documented
//! requests and answers of `POST /crm/v3/objects/contacts/batch/upsert` (inputs keyed by a unique
//! `idProperty`; answer `{"status":"COMPLETE","results":[{"id","properties","new",...}]}`) and
//! `POST /crm/v3/objects/tasks` (properties with `hs_timestamp`, associations
//! `{"to":{"id"},"types":[{"associationCategory","associationTypeId"}]}`; answer the task with its
//! `id`), checking `Authorization: Bearer <private app token>` (401 otherwise, HubSpot's error
//! body), with switches to answer 500 or 429 with `Retry-After`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// How the stand-in misbehaves for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with HubSpot's error body.
    ServerError,
    /// HTTP 429 with `Retry-After: secs`.
    TooManyRequests { retry_after_secs: u64 },
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: String,
    /// The value of the unique id property.
    pub key: String,
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub properties: BTreeMap<String, Value>,
    /// (contact id, associationCategory, associationTypeId)
    pub associations: Vec<(String, String, u64)>,
}

#[derive(Default)]
struct Inner {
    contacts: Vec<Contact>,
    tasks: Vec<Task>,
    next_id: u64,
    queued: VecDeque<Fault>,
    always: Option<Fault>,
    /// (path, status answered)
    calls: Vec<(String, u16)>,
    /// Every request body received.
    bodies: Vec<String>,
}

#[derive(Clone)]
pub struct HubSpotStandin {
    /// The API base (what `HUBSPOT_API_URL` takes).
    pub url: String,
    pub token: String,
    inner: Arc<Mutex<Inner>>,
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone)]
struct AppState {
    inner: Arc<Mutex<Inner>>,
    token: String,
}

impl HubSpotStandin {
    pub async fn start() -> HubSpotStandin {
        let token = format!("pat-eu1-{}", uuid::Uuid::new_v4());
        let inner = Arc::new(Mutex::new(Inner { next_id: 1000, ..Default::default() }));
        let state = AppState { inner: inner.clone(), token: token.clone() };
        let app = Router::new()
            .route("/crm/v3/objects/contacts/batch/upsert", post(upsert))
            .route("/crm/v3/objects/tasks", post(create_task))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the HubSpot stand-in");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        HubSpotStandin { url: format!("http://{addr}"), token, inner, _stop: Arc::new(tx) }
    }

    pub fn fail_next(&self, fault: Fault) {
        self.inner.lock().unwrap().queued.push_back(fault);
    }

    pub fn fail_always(&self, fault: Fault) {
        self.inner.lock().unwrap().always = Some(fault);
    }

    pub fn heal(&self) {
        let mut i = self.inner.lock().unwrap();
        i.always = None;
        i.queued.clear();
    }

    pub fn contacts(&self) -> Vec<Contact> {
        self.inner.lock().unwrap().contacts.clone()
    }

    pub fn tasks(&self) -> Vec<Task> {
        self.inner.lock().unwrap().tasks.clone()
    }

    pub fn calls(&self) -> Vec<(String, u16)> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn bodies(&self) -> Vec<String> {
        self.inner.lock().unwrap().bodies.clone()
    }
}

fn hubspot_error(status: StatusCode, category: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "status": "error",
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
            "category": category,
        })),
    )
        .into_response()
}

/// Records the call, checks the token and applies any fault: `Some` is the answer to give instead.
fn gate(state: &AppState, headers: &HeaderMap, path: &str, body: &str) -> Option<Response> {
    let mut i = state.inner.lock().unwrap();
    i.bodies.push(body.to_string());
    let authorised =
        headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v == format!("Bearer {}", state.token));
    let answer = if !authorised {
        Err(hubspot_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
        ))
    } else {
        match i.queued.pop_front().or_else(|| i.always.clone()) {
            None => Ok(()),
            Some(Fault::ServerError) => {
                Err(hubspot_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error (stand-in)"))
            }
            Some(Fault::TooManyRequests { retry_after_secs }) => {
                let mut r = hubspot_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITS",
                    "You have reached your secondly limit. (stand-in)",
                );
                r.headers_mut().insert("retry-after", retry_after_secs.to_string().parse().unwrap());
                Err(r)
            }
        }
    };
    let status = match &answer {
        Ok(()) => 200,
        Err(r) => r.status().as_u16(),
    };
    i.calls.push((path.to_string(), status));
    answer.err()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn upsert(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = gate(&state, &headers, "/crm/v3/objects/contacts/batch/upsert", &body) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Invalid input JSON");
    };
    let Some(inputs) = v["inputs"].as_array() else {
        return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "inputs is required");
    };
    let mut i = state.inner.lock().unwrap();
    let mut results = Vec::new();
    for input in inputs {
        let (Some(id_property), Some(key)) = (input["idProperty"].as_str(), input["id"].as_str()) else {
            return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "idProperty and id are required");
        };
        if id_property != "digimed_person_id" {
            return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Property is not unique");
        }
        let props: BTreeMap<String, Value> =
            input["properties"].as_object().map(|o| o.clone().into_iter().collect()).unwrap_or_default();
        let existing = i.contacts.iter().position(|c| c.key == key);
        let (contact, new) = match existing {
            Some(p) => {
                i.contacts[p].properties.extend(props);
                (i.contacts[p].clone(), false)
            }
            None => {
                i.next_id += 1;
                let mut properties = props;
                properties.insert(id_property.to_string(), Value::String(key.to_string()));
                let c = Contact { id: i.next_id.to_string(), key: key.to_string(), properties };
                i.contacts.push(c.clone());
                (c, true)
            }
        };
        results.push(json!({
            "id": contact.id,
            "properties": contact.properties,
            "createdAt": now(),
            "updatedAt": now(),
            "archived": false,
            "new": new,
        }));
    }
    Json(json!({
        "status": "COMPLETE",
        "results": results,
        "requestedAt": now(),
        "startedAt": now(),
        "completedAt": now(),
    }))
    .into_response()
}

async fn create_task(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    if let Some(r) = gate(&state, &headers, "/crm/v3/objects/tasks", &body) {
        return r;
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "Invalid input JSON");
    };
    let properties: BTreeMap<String, Value> =
        v["properties"].as_object().map(|o| o.clone().into_iter().collect()).unwrap_or_default();
    if !properties.contains_key("hs_timestamp") {
        return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "hs_timestamp is required");
    }
    let mut i = state.inner.lock().unwrap();
    let mut associations = Vec::new();
    for a in v["associations"].as_array().cloned().unwrap_or_default() {
        let to = a["to"]["id"].as_str().map(str::to_string).or_else(|| a["to"]["id"].as_u64().map(|n| n.to_string()));
        let Some(to) = to else {
            return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "association target is required");
        };
        if !i.contacts.iter().any(|c| c.id == to) {
            return hubspot_error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "association target does not exist");
        }
        for t in a["types"].as_array().cloned().unwrap_or_default() {
            associations.push((
                to.clone(),
                t["associationCategory"].as_str().unwrap_or_default().to_string(),
                t["associationTypeId"].as_u64().unwrap_or_default(),
            ));
        }
    }
    i.next_id += 1;
    let task = Task { id: i.next_id.to_string(), properties, associations };
    i.tasks.push(task.clone());
    (
        StatusCode::CREATED,
        Json(json!({
            "id": task.id,
            "properties": task.properties,
            "createdAt": now(),
            "updatedAt": now(),
            "archived": false,
        })),
    )
        .into_response()
}
