//! The message worker: delivers the patient messages queued in `patient_messages` by e-mail and
//! SMS (`docs/messages.md`). It runs beside the webhook worker in `digimed serve`; any number of
//! services may run it on one database, since each message is claimed with a lease and sent
//! under its idempotency key.

use std::time::Duration;

use digimed_core::keys::Vault;
use digimed_core::messages::delivery::{self, DeliveryOptions};
use digimed_core::messages::transport::{DeliveryConfig, EmailSetup};
use digimed_core::Result;
use sqlx::PgPool;

pub struct MessageWorker {
    pool: PgPool,
    vault: Vault,
    config: DeliveryConfig,
    opts: DeliveryOptions,
    poll_interval: Duration,
}

impl MessageWorker {
    pub fn new(pool: PgPool, vault: Vault, config: DeliveryConfig, opts: DeliveryOptions) -> MessageWorker {
        MessageWorker { pool, vault: vault.contact_only(), config, opts, poll_interval: Duration::from_secs(1) }
    }

    /// How long an idle worker waits before it looks again (one second unless changed).
    pub fn with_poll_interval(mut self, every: Duration) -> MessageWorker {
        self.poll_interval = every;
        self
    }

    /// The lines `digimed serve` prints at start: what is sent, and what is not and why. An
    /// e-mail server that does not answer is named here too.
    pub async fn notices(config: &DeliveryConfig) -> Vec<String> {
        let mut lines = config.notices();
        if let EmailSetup::Ready(m) = &config.email {
            if let Err(reason) = m.check().await {
                lines.push(format!("messages: {reason}; e-mails are retried and fail when the retries run out."));
            }
        }
        lines
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        crate::run_passes(self.poll_interval, stop, "message worker pass failed", || self.tick()).await
    }

    /// One pass over the due messages; returns how many were attempted.
    pub async fn tick(&self) -> Result<usize> {
        delivery::deliver_due(&self.pool, &self.vault, &self.config, &self.opts).await
    }
}
