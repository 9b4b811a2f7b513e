//! The clinic's rules, shared by the desktop console, the `digimed` command-line tool and the
//! HTTP service. Nothing here knows which face called it.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod automation;
pub mod capability;
pub mod clinic_tx;
pub mod cold_calls;
pub mod config;
pub mod consents;
pub mod crm;
pub mod db;
pub mod drafts;
pub mod error;
pub mod faxes;
pub mod forms;
pub mod icpc2;
pub mod intake;
pub mod keys;
pub mod leads;
pub mod meetings;
pub mod messages;
pub mod onboarding;
pub mod orders;
pub mod outbox;
pub mod outcomes;
pub mod patient_app;
pub mod patients;
pub mod preferences;
pub mod prices;
pub mod public_links;
pub mod queue;
pub mod referrals;
pub mod report;
pub mod results;
pub mod reviews;
pub mod session;
pub mod staff;
pub mod webhook_signature;
pub mod webhooks;
pub mod workstations;

pub use capability::Capability;
pub use clinic_tx::{Acting, Actor, ClinicTx};
pub use error::{Error, ErrorCode, Result};
