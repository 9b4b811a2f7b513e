//! The CRM worker (`docs/crm.md`): where HubSpot is configured (`HUBSPOT_ACCESS_TOKEN`), new
//! persons and referrals are upserted as HubSpot contacts through the CRM v3 API
//! (`POST /crm/v3/objects/contacts/batch/upsert`, keyed by the clinic's unique contact property
//! `digimed_person_id`), and a referral also becomes a task for the concierge
//! (`POST /crm/v3/objects/tasks`, associated with the contact, type 204). Syncs come from the
//! outbox after the clinical write has committed, so HubSpot never blocks or undoes it; they are
//! retried with back-off (honouring `429 Retry-After`) and given up on after `max_attempts` as
//! `failed`, with HubSpot's status and error category as the reason. The access token is a
//! secret: it goes in the `Authorization` header and nowhere else.

use std::time::Duration;

use digimed_core::config::HubSpot;
use digimed_core::crm::{self, ContactFields, DueSync, SyncAttempt, SyncKind};
use digimed_core::keys::Vault;
use digimed_core::{ClinicTx, Result};
use serde::Deserialize;
use sqlx::PgPool;

/// The unique custom contact property the clinic creates in HubSpot; it holds the person's id.
pub const ID_PROPERTY: &str = "digimed_person_id";
/// The custom contact property holding how the person came to the clinic.
pub const ENTRY_POINT_PROPERTY: &str = "digimed_entry_point";
/// The concierge task's subject: no clinical text.
pub const TASK_SUBJECT: &str = "New referral waiting for screening";
/// HubSpot's default association type of a task with a contact.
pub const TASK_TO_CONTACT: u32 = 204;

#[derive(Debug, Clone)]
pub struct CrmOptions {
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    pub max_attempts: i32,
    /// First retry delay; doubled per attempt, capped at `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    pub batch: i64,
}

impl Default for CrmOptions {
    fn default() -> Self {
        CrmOptions {
            poll_interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(15),
            max_attempts: 10,
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            max_retry_after: Duration::from_secs(3600),
            batch: 10,
        }
    }
}

/// A sentence for the service's start-up output saying whether anything is sent to a CRM.
pub fn notice(hubspot: Option<&HubSpot>) -> String {
    match hubspot {
        None => "CRM: HUBSPOT_ACCESS_TOKEN is not set, so nothing is sent to a CRM".into(),
        Some(h) => format!(
            "CRM: new persons and referrals are synced to HubSpot at {} as contacts{}",
            h.api_url,
            if h.concierge_owner_id.is_some() { ", referrals as tasks for the concierge owner" } else { ", referrals as tasks" }
        ),
    }
}

/// Why a call to HubSpot did not succeed.
#[derive(Debug, Clone)]
pub struct CallError {
    pub status: Option<u16>,
    /// Never patient data: the status and HubSpot's error category.
    pub reason: String,
    /// Retrying cannot help (the token is refused, the request is not accepted).
    pub permanent: bool,
    /// How long HubSpot asked us to wait (`429 Retry-After`).
    pub retry_after: Option<Duration>,
}

/// A client of HubSpot's CRM v3 API.
pub struct Client {
    http: reqwest::Client,
    config: HubSpot,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<Created>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    category: Option<String>,
}

impl Client {
    pub fn new(config: HubSpot, timeout: Duration) -> Client {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("digimed-crm")
            .build()
            .expect("the HubSpot HTTP client builds");
        Client { http, config }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> std::result::Result<T, CallError> {
        let sent = self
            .http
            .post(format!("{}{path}", self.config.api_url))
            .bearer_auth(self.config.access_token.expose())
            .json(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return Err(CallError {
                    status: None,
                    reason: if e.is_timeout() {
                        "HubSpot did not answer in time".into()
                    } else {
                        "HubSpot could not be reached".into()
                    },
                    permanent: false,
                    retry_after: None,
                })
            }
        };
        let status = resp.status();
        if status.is_success() {
            return resp.json::<T>().await.map_err(|_| CallError {
                status: Some(status.as_u16()),
                reason: "HubSpot's answer could not be read".into(),
                permanent: false,
                retry_after: None,
            });
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let category = resp
            .json::<ErrorAnswer>()
            .await
            .ok()
            .and_then(|e| e.category)
            .filter(|c| c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'));
        let code = status.as_u16();
        let what = match code {
            401 => "HubSpot refused the access token".to_string(),
            403 => "the access token lacks a scope HubSpot requires".to_string(),
            429 => "HubSpot's rate limit was reached".to_string(),
            _ => format!("HubSpot answered HTTP {code}"),
        };
        Err(CallError {
            status: Some(code),
            reason: match category {
                Some(c) => format!("{what} ({c})"),
                None => what,
            },
            permanent: code != 429 && code != 408 && (400..500).contains(&code),
            retry_after,
        })
    }

    /// Creates or updates the person's contact, keyed by [`ID_PROPERTY`]; returns its id.
    pub async fn upsert_contact(&self, c: &ContactFields) -> std::result::Result<String, CallError> {
        let mut properties = serde_json::json!({
            "firstname": c.first_name,
            "lastname": c.last_name,
        });
        if let Some(e) = &c.email {
            properties["email"] = e.clone().into();
        }
        if let Some(p) = &c.phone {
            properties["phone"] = p.clone().into();
        }
        if let Some(e) = &c.entry_point {
            properties[ENTRY_POINT_PROPERTY] = e.clone().into();
        }
        let body = serde_json::json!({
            "inputs": [{ "idProperty": ID_PROPERTY, "id": c.patient_person_id.to_string(), "properties": properties }]
        });
        let answer: BatchAnswer = self.post("/crm/v3/objects/contacts/batch/upsert", &body).await?;
        answer.results.into_iter().next().map(|r| r.id).ok_or(CallError {
            status: None,
            reason: "HubSpot's answer named no contact".into(),
            permanent: false,
            retry_after: None,
        })
    }

    /// Creates the concierge's task for a new referral, associated with `contact_id`; returns its id.
    pub async fn create_task(&self, contact_id: &str) -> std::result::Result<String, CallError> {
        let mut properties = serde_json::json!({
            "hs_timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "hs_task_subject": TASK_SUBJECT,
            "hs_task_body": "A referral has arrived. Open the clinic's console to screen it.",
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "TODO",
        });
        if let Some(owner) = &self.config.concierge_owner_id {
            properties["hubspot_owner_id"] = owner.clone().into();
        }
        let body = serde_json::json!({
            "properties": properties,
            "associations": [{
                "to": { "id": contact_id },
                "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT }]
            }]
        });
        let created: Created = self.post("/crm/v3/objects/tasks", &body).await?;
        Ok(created.id)
    }
}

/// The CRM worker: makes syncs from the outbox and sends the due ones.
pub struct Worker {
    pool: PgPool,
    vault: Vault,
    client: Client,
    opts: CrmOptions,
}

impl Worker {
    pub fn new(pool: PgPool, vault: Vault, hubspot: HubSpot, opts: CrmOptions) -> Worker {
        Worker { pool, vault: vault.contact_only(), client: Client::new(hubspot, opts.request_timeout), opts }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        crate::run_passes(self.opts.poll_interval, stop, "CRM worker pass failed", || self.tick()).await
    }

    /// One pass: make the syncs of new events, then attempt the due ones. Returns syncs attempted.
    pub async fn tick(&self) -> Result<usize> {
        ClinicTx::run(&self.pool, async |tx| crm::make_syncs(tx).await).await?;
        let lease = (self.opts.request_timeout * 3).as_secs_f64();
        let due = ClinicTx::run(&self.pool, async |tx| crm::claim_due(tx, self.opts.batch, lease).await).await?;
        let n = due.len();
        for d in due {
            let Some((attempt, error)) = self.attempt(&d).await? else { continue };
            let attempts = d.attempts + 1;
            let backoff =
                self.opts.base_backoff.saturating_mul(1u32 << (attempts - 1).clamp(0, 20) as u32).min(self.opts.max_backoff);
            let (delay, give_up) = match &error {
                None => (Duration::ZERO, false),
                Some(e) if e.permanent => (backoff, true),
                Some(e) => (
                    e.retry_after.map(|r| r.min(self.opts.max_retry_after)).unwrap_or(backoff),
                    attempts >= self.opts.max_attempts,
                ),
            };
            ClinicTx::run(&self.pool, async |tx| {
                crm::record_attempt(tx, d.id, attempts, &attempt, delay.as_secs_f64(), give_up).await
            })
            .await?;
        }
        Ok(n)
    }

    /// One attempt at a claimed sync; `None` when it is no longer pending.
    async fn attempt(&self, d: &DueSync) -> Result<Option<(SyncAttempt, Option<CallError>)>> {
        let failed = |e: CallError, contact_id: Option<String>| {
            (SyncAttempt::Failed { status: e.status, reason: e.reason.clone(), contact_id }, Some(e))
        };
        // A contact is upserted (idempotent, keyed by the person's id); a task uses the contact
        // its event's contact sync upserted.
        let contact_id = match (d.kind, &d.contact_id) {
            (SyncKind::ConciergeTask, Some(id)) => id.clone(),
            _ => {
                let fields = ClinicTx::run(&self.pool, async |tx| crm::contact_fields(tx, &self.vault, d.id).await).await?;
                let Some(fields) = fields else { return Ok(None) };
                match self.client.upsert_contact(&fields).await {
                    Ok(id) => id,
                    Err(e) => return Ok(Some(failed(e, None))),
                }
            }
        };
        match d.kind {
            SyncKind::Contact => Ok(Some((SyncAttempt::Synced { contact_id, task_id: None }, None))),
            SyncKind::ConciergeTask => match self.client.create_task(&contact_id).await {
                Ok(task_id) => Ok(Some((SyncAttempt::Synced { contact_id, task_id: Some(task_id) }, None))),
                Err(e) => Ok(Some(failed(e, Some(contact_id)))),
            },
        }
    }
}
