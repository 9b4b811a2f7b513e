//! One error type for every face (console, CLI, HTTP service). Each error carries a stable
//! machine-readable code, a message fit to show a person, and, for bad input, the field it is about.
//! Messages never contain patient data or secrets.

use serde::{Deserialize, Serialize};

/// Stable error codes. The HTTP service maps each to a status in one place; the console shows
/// the message next to `field` when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Input (400)
    NameRequired,
    NameTooLong,
    InvalidName,
    EmailRequired,
    InvalidEmailFormat,
    PhoneRequired,
    InvalidPhoneFormat,
    NationalIdRequired,
    InvalidNationalId,
    SyntheticNationalIdNotAllowed,
    InvalidInput,
    OrganizationIdRequired,
    PatientPersonIdRequired,
    InvalidJson,
    PayloadTooLarge,
    WeakPassword,
    UnknownRole,
    // Who may do what (401/403)
    Unauthorized,
    Forbidden,
    // State (404/409)
    NotFound,
    PatientAlreadyExists,
    AlreadyExists,
    InvalidStateTransition,
    /// A patient's first consultation waits for forms they must sign first.
    FormsUnsigned,
    /// A signature was given for another text of the form than the one on record.
    FormTemplateChanged,
    // Outside parties and infrastructure (502/503/500)
    ClerkApiError,
    /// The fax provider did not hand over a received fax's PDF (it delivers the event again).
    FaxMediaUnavailable,
    DatabaseUnavailable,
    /// Refused before connecting: the database server is on another computer and the address
    /// asks for no encryption (or no check of the server).
    InsecureDatabaseConnection,
    /// The database server answered that it offers no TLS, where the connection needs it.
    DatabaseTlsUnavailable,
    /// The database server's certificate is not signed by a CA this computer trusts (or expired).
    UntrustedDatabaseCertificate,
    /// The database server's certificate is made out to another host name.
    DatabaseCertificateNameMismatch,
    KeysUnavailable,
    /// A consultation result (or a draft of one) was to be read or written on a computer that
    /// does not hold the clinical keys: only doctors' and admins' workstations do.
    ClinicalKeysUnavailable,
    /// A workstation enrollment bundle could not be opened with the passphrase given.
    WrongPassphrase,
    /// A file is not an enrollment bundle, or it was changed after it was made.
    BundleTampered,
    /// The enrollment bundle has already been used on a workstation.
    EnrollmentUsed,
    /// The enrollment was revoked.
    EnrollmentRevoked,
    Configuration,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NameRequired => "name_required",
            ErrorCode::NameTooLong => "name_too_long",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::EmailRequired => "email_required",
            ErrorCode::InvalidEmailFormat => "invalid_email_format",
            ErrorCode::PhoneRequired => "phone_required",
            ErrorCode::InvalidPhoneFormat => "invalid_phone_format",
            ErrorCode::NationalIdRequired => "national_id_required",
            ErrorCode::InvalidNationalId => "invalid_national_id",
            ErrorCode::SyntheticNationalIdNotAllowed => "synthetic_national_id_not_allowed",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::OrganizationIdRequired => "organization_id_required",
            ErrorCode::PatientPersonIdRequired => "patient_person_id_required",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::UnknownRole => "unknown_role",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::PatientAlreadyExists => "patient_already_exists",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InvalidStateTransition => "invalid_state_transition",
            ErrorCode::FormsUnsigned => "forms_unsigned",
            ErrorCode::FormTemplateChanged => "form_template_changed",
            ErrorCode::ClerkApiError => "clerk_api_error",
            ErrorCode::FaxMediaUnavailable => "fax_media_unavailable",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::InsecureDatabaseConnection => "insecure_database_connection",
            ErrorCode::DatabaseTlsUnavailable => "database_tls_unavailable",
            ErrorCode::UntrustedDatabaseCertificate => "untrusted_database_certificate",
            ErrorCode::DatabaseCertificateNameMismatch => "database_certificate_name_mismatch",
            ErrorCode::KeysUnavailable => "keys_unavailable",
            ErrorCode::ClinicalKeysUnavailable => "clinical_keys_unavailable",
            ErrorCode::WrongPassphrase => "wrong_passphrase",
            ErrorCode::BundleTampered => "bundle_tampered",
            ErrorCode::EnrollmentUsed => "enrollment_used",
            ErrorCode::EnrollmentRevoked => "enrollment_revoked",
            ErrorCode::Configuration => "configuration",
            ErrorCode::Internal => "internal",
        }
    }
}

impl ErrorCode {
    /// The code of a value the domain types (`digimed_domain`) refused; they name their problems
    /// with these same words.
    pub fn of_domain(code: &str) -> ErrorCode {
        match code {
            "name_required" => ErrorCode::NameRequired,
            "name_too_long" => ErrorCode::NameTooLong,
            "invalid_name" => ErrorCode::InvalidName,
            "email_required" => ErrorCode::EmailRequired,
            "invalid_email_format" => ErrorCode::InvalidEmailFormat,
            "phone_required" => ErrorCode::PhoneRequired,
            "invalid_phone_format" => ErrorCode::InvalidPhoneFormat,
            "national_id_required" => ErrorCode::NationalIdRequired,
            "invalid_national_id" => ErrorCode::InvalidNationalId,
            "synthetic_national_id_not_allowed" => ErrorCode::SyntheticNationalIdNotAllowed,
            _ => ErrorCode::InvalidInput,
        }
    }
}

/// The error every core operation returns.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// The input field the error is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extra machine-readable facts (never patient data beyond what the caller sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "specta", specta(skip))]
    pub details: Option<serde_json::Value>,
    /// True when the same request may succeed if tried again (lost connection, restart).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), field: None, details: None, retryable: false }
    }
    pub fn field(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        Error { field: Some(field.to_string()), ..Error::new(code, message) }
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
    /// A value of `field` the domain types refused: their code (see [`ErrorCode::of_domain`]) and
    /// their reason, as a sentence.
    pub fn refused(field: &str, code: &str, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string();
        let mut chars = reason.chars();
        let mut sentence: String = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        if !sentence.ends_with('.') {
            sentence.push('.');
        }
        Error::field(ErrorCode::of_domain(code), field, sentence)
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::field(ErrorCode::InvalidInput, field, message)
    }
    pub fn not_found(what: &str) -> Self {
        Error::new(ErrorCode::NotFound, format!("{what} was not found"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Forbidden, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Internal, message)
    }
}

/// SQLSTATE classes that mean "the connection or server went away; try again".
fn is_retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code == "57P01" // admin shutdown (pg_terminate_backend)
        || code == "57P02"
        || code == "57P03"
        || code == "40001" // serialization failure
        || code == "40P01" // deadlock
}

/// What breaking a named constraint of the schema means for the person who did: the code, the
/// input field, and the sentence they read. Constraints not listed get the generic error of
/// their kind.
const CONSTRAINTS: &[(&str, ErrorCode, &str, &str)] = &[
    (
        "patients_patient_person_id_organization_id_key",
        ErrorCode::PatientAlreadyExists,
        "patient_person_id",
        "This person is already a patient of this organization.",
    ),
    ("partners_name_key", ErrorCode::AlreadyExists, "name", "A partner of this name already exists."),
    ("organizations_name_key", ErrorCode::AlreadyExists, "name", "An organization of this name already exists."),
    ("staff_email_key", ErrorCode::AlreadyExists, "email", "A staff member with this e-mail address already exists."),
    ("staff_login_role_key", ErrorCode::AlreadyExists, "email", "A staff member with this login already exists."),
    ("users_email_key", ErrorCode::AlreadyExists, "email", "An account with this e-mail address already exists."),
    (
        "patient_persons_national_id_index_key",
        ErrorCode::AlreadyExists,
        "national_id",
        "A person with this national id already exists.",
    ),
    ("form_templates_organization_id_key_key", ErrorCode::AlreadyExists, "key", "A template with this key already exists."),
    ("result_outcomes_pkey", ErrorCode::AlreadyExists, "label", "This outcome already exists."),
    ("referrals_partner_id_journal_guid_key", ErrorCode::AlreadyExists, "JournalGuid", "This referral was already received."),
    ("consultations_referral_id_key", ErrorCode::AlreadyExists, "referral_id", "This referral is already booked."),
    ("line_items_check", ErrorCode::InvalidInput, "amount", "A discount cannot be larger than the price."),
    ("line_items_discount_check", ErrorCode::InvalidInput, "amount", "A discount cannot be negative."),
    ("line_items_discount_reason_check", ErrorCode::InvalidInput, "reason", "Write why the discount is given."),
    ("partner_prices_unit_price_check", ErrorCode::InvalidInput, "amount", "A price cannot be negative."),
    ("partner_prices_currency_check", ErrorCode::InvalidInput, "currency", "A currency is three capital letters, e.g. NOK."),
    ("partner_prices_category_check", ErrorCode::InvalidInput, "category", "The category is insurance or direct."),
    (
        "consultations_referral_not_declined",
        ErrorCode::InvalidStateTransition,
        "referral_id",
        "This referral was declined; it cannot be booked.",
    ),
    (
        "consultations_referral_matches",
        ErrorCode::InvalidInput,
        "referral_id",
        "A referral is booked for its own patient, partner and clinic.",
    ),
    (
        "referrals_booked_not_declined",
        ErrorCode::InvalidStateTransition,
        "referral_id",
        "This referral is booked; cancel its consultation instead of declining it.",
    ),
    (
        "referrals_decline_final",
        ErrorCode::InvalidStateTransition,
        "referral_id",
        "This referral was declined already; a decline cannot be changed.",
    ),
];

/// Whether a refusal's message was written by the schema for the person (a sentence), rather
/// than PostgreSQL's own wording, which names tables and policies.
fn is_own_sentence(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    !(m.starts_with("permission denied") || m.contains("row-level security") || m.contains("must be"))
        && message.chars().next().is_some_and(char::is_uppercase)
}

/// The one place a database refusal becomes an [`Error`]: lost connections (retryable),
/// privilege and row-level security refusals (42501), the schema's own SQLSTATEs (P0001 state
/// rules, DMF01 unsigned forms, DMF02 changed form text), and constraint violations, by
/// constraint name where the schema names what it protects.
pub fn from_database(e: &sqlx::Error) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            if is_retryable_sqlstate(&code) {
                return Error::new(
                    ErrorCode::DatabaseUnavailable,
                    "The database connection was interrupted; nothing was saved. Please try again.",
                )
                .retryable();
            }
            if let Some((_, c, field, message)) = db.constraint().and_then(|n| CONSTRAINTS.iter().find(|k| k.0 == n)) {
                return Error::field(*c, field, *message);
            }
            match code.as_str() {
                // insufficient_privilege and row-level security refusals; the schema's own functions
                // raise it with a sentence meant for the person, which is kept.
                "42501" if is_own_sentence(db.message()) => Error::forbidden(db.message().to_string()),
                "42501" => {
                    Error::forbidden("The database refused this: your role may not do it, or not for this record or clinic.")
                }
                // raised by the schema's own checks (state machine, guards)
                "P0001" => Error::new(ErrorCode::InvalidStateTransition, db.message().to_string()),
                // the booking guard: blocking forms unsigned before a first consultation
                "DMF01" => Error::new(ErrorCode::FormsUnsigned, db.message().to_string()),
                // a signature for another text of the form than the patient was shown
                "DMF02" => Error::field(ErrorCode::FormTemplateChanged, "template_sha256", db.message().to_string()),
                // workstation enrollment (workstation_enrollment_use)
                "DMW01" => Error::field(ErrorCode::NotFound, "bundle", db.message().to_string()),
                "DMW02" => Error::field(ErrorCode::EnrollmentUsed, "bundle", db.message().to_string()),
                "DMW03" => Error::field(ErrorCode::EnrollmentRevoked, "bundle", db.message().to_string()),
                "DMW04" => Error::field(ErrorCode::Forbidden, "username", db.message().to_string()),
                "23505" => Error::new(
                    ErrorCode::AlreadyExists,
                    format!("This already exists ({}).", db.constraint().unwrap_or("unique")),
                ),
                "23503" => Error::new(
                    ErrorCode::NotFound,
                    format!("A referenced record does not exist ({}).", db.constraint().unwrap_or("foreign key")),
                ),
                "23514" | "23502" | "22P02" | "22001" | "22007" | "22008" | "22023" => Error::new(
                    ErrorCode::InvalidInput,
                    format!("The database refused the value ({}).", db.constraint().unwrap_or(&code)),
                ),
                _ => {
                    tracing::error!(sqlstate = %code, "database error");
                    Error::internal("An unexpected database error occurred.")
                }
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::new(
            ErrorCode::DatabaseUnavailable,
            "The database cannot be reached right now; nothing was saved. Please try again.",
        )
        .retryable(),
        sqlx::Error::RowNotFound => Error::not_found("The record"),
        other => {
            tracing::error!(error = %other, "database error");
            Error::internal("An unexpected database error occurred.")
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        from_database(&e)
    }
}

impl From<digimed_crypto::CryptoError> for Error {
    fn from(e: digimed_crypto::CryptoError) -> Self {
        Error::new(ErrorCode::KeysUnavailable, format!("Encrypted data could not be read: {e}"))
    }
}
