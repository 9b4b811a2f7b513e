//! Live updates of the queue and the screening list: `LISTEN digimed_queue` turned into typed
//! events, with a re-read of what changed meanwhile after a lost connection.

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::ConsultationState;
use crate::error::{Error, ErrorCode, Result};

/// The NOTIFY channel of queue changes.
pub const CHANNEL: &str = "digimed_queue";

/// What happened: to a consultation (`insert`, `update`), to a referral (`referral`: it arrived,
/// was declined, or got its supervisor), or a screening entry was written (`screening`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    Insert,
    Update,
    Screening,
    Referral,
    /// Re-read after the notification connection was lost: a consultation's current state, or a
    /// referral that changed meanwhile, which may repeat one already delivered.
    Resync,
}

/// A change of the queue or the screening list. Carries ids and state only, never patient data.
/// A booked referral's consultation names its referral; a referral's own change names no
/// consultation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QueueEvent {
    pub kind: QueueEventKind,
    pub consultation_id: Option<i32>,
    pub referral_id: Option<i32>,
    pub organization_id: Option<i32>,
    pub state: Option<ConsultationState>,
    pub assigned_doctor_id: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// How far back a re-read after a lost connection reaches before the newest change seen, to
/// cover transactions that committed later than they changed a row.
pub const RESYNC_MARGIN: Duration = Duration::minutes(2);

/// Typed queue events from `LISTEN digimed_queue`, for one clinic (the signed-in staff member's)
/// or, for the owner, all. After a lost connection it reconnects (with back-off) and re-reads
/// every consultation and referral changed since shortly before the newest change it had
/// delivered, so no change is missed; those come as [`QueueEventKind::Resync`] events.
pub struct QueueWatcher {
    pool: PgPool,
    listener: Option<PgListener>,
    organization_id: Option<i32>,
    last_seen: DateTime<Utc>,
    pending: VecDeque<QueueEvent>,
    reconnects: u32,
}

impl QueueWatcher {
    pub async fn connect(pool: &PgPool) -> Result<QueueWatcher> {
        let row = sqlx::query!(r#"SELECT current_staff_org() AS org, now() AS "now!""#).fetch_one(pool).await?;
        let mut w = QueueWatcher {
            pool: pool.clone(),
            listener: None,
            organization_id: row.org,
            last_seen: row.now,
            pending: VecDeque::new(),
            reconnects: 0,
        };
        w.listener = Some(Self::listen(pool).await?);
        Ok(w)
    }

    async fn listen(pool: &PgPool) -> Result<PgListener> {
        let mut l = PgListener::connect_with(pool).await?;
        l.listen(CHANNEL).await?;
        Ok(l)
    }

    /// How many times the connection was re-established.
    pub fn reconnects(&self) -> u32 {
        self.reconnects
    }

    /// The backend process id of the listening connection (for operations and tests).
    pub async fn backend_pid(&mut self) -> Result<i32> {
        let l = self.listener.as_mut().ok_or_else(|| Error::internal("not listening"))?;
        Ok(sqlx::query_scalar!(r#"SELECT pg_backend_pid() AS "pid!""#).fetch_one(l).await?)
    }

    fn accept(&mut self, e: QueueEvent) -> Option<QueueEvent> {
        if let Some(at) = e.updated_at {
            self.last_seen = self.last_seen.max(at);
        }
        match (self.organization_id, e.organization_id) {
            (Some(mine), Some(theirs)) if mine != theirs => None,
            _ => Some(e),
        }
    }

    /// Re-establishes the listener, then re-reads what changed meanwhile.
    async fn recover(&mut self) -> Result<()> {
        self.listener = None;
        let mut delay = StdDuration::from_millis(100);
        let listener = loop {
            if self.pool.is_closed() {
                return Err(Error::new(ErrorCode::DatabaseUnavailable, "The connection pool was closed."));
            }
            match Self::listen(&self.pool).await {
                Ok(l) => break l,
                Err(e) if e.retryable || e.code == ErrorCode::DatabaseUnavailable => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(StdDuration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        };
        self.listener = Some(listener);
        self.reconnects += 1;
        let since = self.last_seen - RESYNC_MARGIN;
        let rows = sqlx::query!(
            r#"SELECT id, referral_id, organization_id, state AS "state: ConsultationState", assigned_doctor_id, updated_at
                 FROM consultations
                WHERE updated_at >= $1 ORDER BY updated_at, id"#,
            since,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut missed: Vec<QueueEvent> = rows
            .into_iter()
            .map(|r| QueueEvent {
                kind: QueueEventKind::Resync,
                consultation_id: Some(r.id),
                referral_id: r.referral_id,
                organization_id: Some(r.organization_id),
                state: Some(r.state),
                assigned_doctor_id: r.assigned_doctor_id,
                updated_at: Some(r.updated_at),
            })
            .collect();
        // Referrals that arrived, were declined or screened meanwhile.
        let referrals = sqlx::query!(
            r#"SELECT r.id, referral_clinic(r.id) AS clinic,
                      greatest(r.received_at, r.declined_at,
                               (SELECT max(s.created_at) FROM consultation_screenings s WHERE s.referral_id = r.id)) AS "at!"
                 FROM referrals r
                WHERE r.received_at >= $1 OR r.declined_at >= $1
                   OR EXISTS (SELECT 1 FROM consultation_screenings s WHERE s.referral_id = r.id AND s.created_at >= $1)
                ORDER BY 3, r.id"#,
            since,
        )
        .fetch_all(&self.pool)
        .await
        .or_else(|e| match Error::from(e) {
            // A role that may not read referrals (support agents) has no screening list to re-read.
            e if e.code == ErrorCode::Forbidden => Ok(Vec::new()),
            e => Err(e),
        })?;
        missed.extend(referrals.into_iter().map(|r| QueueEvent {
            kind: QueueEventKind::Resync,
            consultation_id: None,
            referral_id: Some(r.id),
            organization_id: r.clinic,
            state: None,
            assigned_doctor_id: None,
            updated_at: Some(r.at),
        }));
        for e in missed {
            if let Some(e) = self.accept(e) {
                self.pending.push_back(e);
            }
        }
        Ok(())
    }

    /// The next queue event; waits for one.
    pub async fn next(&mut self) -> Result<QueueEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            let received = match self.listener.as_mut() {
                Some(l) => l.try_recv().await,
                None => Ok(None),
            };
            match received {
                Ok(Some(n)) => {
                    #[derive(Deserialize)]
                    struct Payload {
                        kind: String,
                        consultation_id: Option<i32>,
                        referral_id: Option<i32>,
                        organization_id: Option<i32>,
                        state: Option<String>,
                        assigned_doctor_id: Option<i32>,
                        updated_at: Option<DateTime<Utc>>,
                    }
                    let Ok(p) = serde_json::from_str::<Payload>(n.payload()) else {
                        tracing::warn!("ignoring a malformed queue notification");
                        continue;
                    };
                    let kind = match p.kind.as_str() {
                        "insert" => QueueEventKind::Insert,
                        "screening" => QueueEventKind::Screening,
                        "referral" => QueueEventKind::Referral,
                        _ => QueueEventKind::Update,
                    };
                    let e = QueueEvent {
                        kind,
                        consultation_id: p.consultation_id,
                        referral_id: p.referral_id,
                        organization_id: p.organization_id,
                        state: p.state.as_deref().and_then(|s| ConsultationState::parse(s).ok()),
                        assigned_doctor_id: p.assigned_doctor_id,
                        updated_at: p.updated_at,
                    };
                    if let Some(e) = self.accept(e) {
                        return Ok(e);
                    }
                }
                // The connection was lost (or never re-established): start over and re-read.
                Ok(None) | Err(_) => {
                    tracing::info!("queue notifications interrupted; reconnecting");
                    self.recover().await?;
                }
            }
        }
    }
}
