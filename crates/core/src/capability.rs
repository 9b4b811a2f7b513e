//! What each operation needs, and who has it: the one table of roles in Rust.
//!
//! [`ClinicTx::require`](crate::clinic_tx::ClinicTx::require) checks an operation's capability
//! against this table before the operation touches anything, so the person gets a clear refusal.
//! The database holds the same rules again (grants, row-level security, triggers), so a raw
//! connection can do no more; a test compares this table with the database's grants
//! ([`Capability::grants`]).

use crate::clinic_tx::Actor;
use crate::session::AppRole;

use AppRole::{Admin, CustomerSupport, Doctor, Secretary};

/// Something an operation does that not everyone may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    // The queue and consultations.
    ReadQueue,
    PickConsultation,
    AssignConsultation,
    ReturnToQueue,
    CancelConsultation,
    StartConsultation,
    CompleteConsultation,
    BookConsultation,
    BookFollowUp,
    ScreenConsultation,
    ReadScreening,
    DecideReferral,
    // Results.
    ReadResult,
    AmendResult,
    // Patients.
    OnboardPatient,
    RegisterPatient,
    FindDuplicates,
    ReadPatientCard,
    EditPatientProfile,
    WorkLeads,
    // Consent forms.
    ReadForms,
    ActOnForms,
    AttestSignature,
    ReadConsentStatus,
    // Messages to patients.
    ReadMessages,
    ResendJoinLink,
    // Referrals from partners.
    ReceiveReferral,
    ReadReferralPayload,
    // Reference lists everyone uses.
    SearchIcpc2,
    // Enrolling the workstation one has just signed in on.
    UseEnrollment,
    KeepDrafts,
    // Administration of a clinic.
    ManageFormTemplates,
    ManageOnboardingRules,
    ManageOutcomes,
    ManagePartners,
    ManageStaff,
    ManageWebhooks,
    EnrollWorkstations,
    RevokeWorkstations,
    ReadAuditLog,
    ExportInsurerReport,
    ImportIcpc2,
    RotateClinicalKeys,
    // Prices and discounts.
    ReadBilling,
    ManagePrices,
    SetDiscounts,
    // The public review and preferences pages.
    ReadReviews,
    AnswerReview,
    ChangeContactPreferences,
    SignFormsFromLink,
    RotatePreferenceLink,
    SetMessageLanguage,
    // The patient app, signed in as the patient.
    ActOnOwnForms,
    ReadOwnConsultations,
    RequestBooking,
    // The clinic's call tracking.
    ReceiveCalls,
    // The clinic's fax provider, and the fax inbox.
    ReceiveFaxes,
    WorkFaxInbox,
    // Operations of the database owner.
    CreateLogins,
    IssueApiTokens,
    RotateKeys,
    RevokeApiTokens,
    AuthenticateCallers,
    ImportRecords,
    DeliverEvents,
}

struct Rule {
    /// What it is, after "cannot": "pick consultations".
    doing: &'static str,
    roles: &'static [AppRole],
    owner: bool,
    service: bool,
}

const fn rule(doing: &'static str, roles: &'static [AppRole], owner: bool, service: bool) -> Rule {
    Rule { doing, roles, owner, service }
}

const ALL_STAFF: &[AppRole] = &[Secretary, Doctor, CustomerSupport, Admin];

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::ReadQueue,
        Capability::PickConsultation,
        Capability::AssignConsultation,
        Capability::ReturnToQueue,
        Capability::CancelConsultation,
        Capability::StartConsultation,
        Capability::CompleteConsultation,
        Capability::BookConsultation,
        Capability::BookFollowUp,
        Capability::ScreenConsultation,
        Capability::ReadScreening,
        Capability::DecideReferral,
        Capability::ReadResult,
        Capability::AmendResult,
        Capability::OnboardPatient,
        Capability::RegisterPatient,
        Capability::FindDuplicates,
        Capability::ReadPatientCard,
        Capability::EditPatientProfile,
        Capability::WorkLeads,
        Capability::ReadForms,
        Capability::ActOnForms,
        Capability::AttestSignature,
        Capability::ReadConsentStatus,
        Capability::ReadMessages,
        Capability::ResendJoinLink,
        Capability::ReceiveReferral,
        Capability::ReadReferralPayload,
        Capability::SearchIcpc2,
        Capability::UseEnrollment,
        Capability::KeepDrafts,
        Capability::ManageFormTemplates,
        Capability::ManageOnboardingRules,
        Capability::ManageOutcomes,
        Capability::ManagePartners,
        Capability::ManageStaff,
        Capability::ManageWebhooks,
        Capability::EnrollWorkstations,
        Capability::RevokeWorkstations,
        Capability::ReadAuditLog,
        Capability::ExportInsurerReport,
        Capability::ImportIcpc2,
        Capability::RotateClinicalKeys,
        Capability::ReadBilling,
        Capability::ManagePrices,
        Capability::SetDiscounts,
        Capability::ReadReviews,
        Capability::AnswerReview,
        Capability::ChangeContactPreferences,
        Capability::SignFormsFromLink,
        Capability::RotatePreferenceLink,
        Capability::SetMessageLanguage,
        Capability::ActOnOwnForms,
        Capability::ReadOwnConsultations,
        Capability::RequestBooking,
        Capability::ReceiveCalls,
        Capability::ReceiveFaxes,
        Capability::WorkFaxInbox,
        Capability::CreateLogins,
        Capability::IssueApiTokens,
        Capability::RotateKeys,
        Capability::RevokeApiTokens,
        Capability::AuthenticateCallers,
        Capability::ImportRecords,
        Capability::DeliverEvents,
    ];

    fn rule(self) -> Rule {
        use Capability as C;
        match self {
            C::ReadQueue => rule("see the consultation queue", ALL_STAFF, true, false),
            C::PickConsultation => rule("pick consultations", &[Doctor], false, false),
            C::AssignConsultation => rule("assign consultations", &[Secretary, Admin], false, false),
            C::ReturnToQueue => rule("return consultations to the queue", &[Secretary, Admin], false, false),
            C::CancelConsultation => rule("cancel consultations", &[Secretary, Admin, Doctor], false, false),
            C::StartConsultation => rule("start consultations", &[Doctor], false, false),
            C::CompleteConsultation => rule("complete consultations and file their results", &[Doctor], false, false),
            C::BookConsultation => rule("book consultations", &[Secretary, CustomerSupport, Admin], false, false),
            C::BookFollowUp => rule("book follow-ups", &[Doctor, Secretary, Admin], false, false),
            C::ScreenConsultation => rule("screen referrals", &[Secretary, Admin], false, false),
            C::ReadScreening => rule("read screening notes", &[Secretary, Doctor, Admin], true, false),
            C::DecideReferral => rule("book or decline referrals", &[Secretary, Admin], false, false),
            C::ReadResult => rule("read consultation results", &[Doctor, Admin], false, false),
            C::AmendResult => rule("amend consultation results", &[Doctor], false, false),
            C::OnboardPatient => rule("onboard patients", &[CustomerSupport, Admin], true, false),
            C::RegisterPatient => rule("register patients", &[CustomerSupport, Admin], true, true),
            C::FindDuplicates => rule("search for existing patients", &[CustomerSupport, Admin], true, false),
            C::ReadPatientCard => rule("read patient cards", ALL_STAFF, false, false),
            C::ReadMessages => rule("see the messages sent to patients", ALL_STAFF, true, false),
            C::ResendJoinLink => rule("resend the join link to the patient", &[Doctor, Secretary, Admin], true, false),
            C::EditPatientProfile => rule("edit patients' profiles", &[CustomerSupport, Admin, Doctor], false, false),
            C::WorkLeads => rule("see and convert leads", &[CustomerSupport, Admin], false, false),
            C::ReadForms => rule("read consent forms", ALL_STAFF, true, false),
            C::ActOnForms => rule("sign, decline or withdraw consent forms", &[CustomerSupport, Admin], true, false),
            C::AttestSignature => rule("attest a paper signature", &[CustomerSupport, Admin], false, false),
            C::ReadConsentStatus => rule("see which consent forms are unsigned", ALL_STAFF, true, false),
            C::ReceiveReferral => rule("receive partner referrals", &[Admin], true, true),
            C::ReadReferralPayload => rule("read a referral as the partner sent it", &[Secretary, Admin], true, false),
            C::SearchIcpc2 => rule("search the ICPC-2 list", ALL_STAFF, true, false),
            C::KeepDrafts => rule("keep drafts", ALL_STAFF, false, false),
            C::ManageFormTemplates => rule("write form templates", &[Admin], true, false),
            C::ManageOnboardingRules => rule("change the forms required at onboarding", &[Admin], true, false),
            C::ManageOutcomes => rule("change the list of outcomes", &[Admin], true, false),
            C::ManagePartners => rule("add partners", &[Admin], true, false),
            C::ManageStaff => rule("add, deactivate or reactivate staff", &[Admin], true, false),
            C::ManageWebhooks => rule("manage webhook subscriptions", &[Admin], true, false),
            C::EnrollWorkstations => rule("enroll workstations", &[Admin], false, false),
            C::RevokeWorkstations => rule("list and revoke enrolled workstations", &[Admin], true, false),
            C::UseEnrollment => rule("enroll this workstation", ALL_STAFF, false, false),
            C::ReadAuditLog => rule("read the audit log", &[Admin], true, false),
            C::ExportInsurerReport => rule("export insurer reports", &[Admin], false, false),
            C::ImportIcpc2 => rule("import the ICPC-2 list", &[Admin], true, false),
            // The database owner and the service never hold the clinical keys.
            C::RotateClinicalKeys => rule("re-encrypt consultation results under the clinical keys", &[Admin], false, false),
            C::ReadBilling => rule("see prices, discounts and order totals", &[Secretary, Admin], true, false),
            C::ManagePrices => rule("set partners' deal prices", &[Admin], true, false),
            C::SetDiscounts => rule("give discounts", &[Admin], true, false),
            C::ReadReviews => rule("see patients' ratings and comments of consultations", &[Admin], true, false),
            C::AnswerReview => rule("record a patient's review from their review link", &[], true, true),
            C::ChangeContactPreferences => {
                rule("change a patient's contact preferences from their preference link", &[], true, true)
            }
            C::SignFormsFromLink => rule("sign or decline a patient's consent forms from their forms link", &[], true, true),
            C::RotatePreferenceLink => rule("issue a patient a new preference link", &[CustomerSupport, Admin], true, false),
            C::SetMessageLanguage => rule("choose the language of a patient's messages", &[CustomerSupport, Admin], false, false),
            C::ActOnOwnForms => rule("read, sign, decline or withdraw a patient's own consent forms", &[], false, false),
            C::ReadOwnConsultations => rule("list a patient's own consultations", &[], false, false),
            C::RequestBooking => rule("ask for a consultation from the patient app", &[], false, false),
            C::ReceiveCalls => rule("record the calls the clinic's call tracking reports", &[], true, true),
            C::ReceiveFaxes => rule("file the faxes the clinic's fax provider receives", &[], true, true),
            C::WorkFaxInbox => rule("read faxes and complete or discard their drafts", &[CustomerSupport, Admin], false, false),
            C::CreateLogins => rule("create database logins", &[], true, false),
            C::IssueApiTokens => rule("issue API tokens", &[], true, false),
            C::RotateKeys => rule("rotate the data keys", &[], true, false),
            C::RevokeApiTokens => rule("revoke API tokens", &[Admin], true, false),
            C::AuthenticateCallers => rule("check the credentials of callers", &[], true, true),
            C::ImportRecords => rule("import earlier records", &[], true, false),
            C::DeliverEvents => rule("deliver outgoing events", &[], true, true),
        }
    }

    /// The clinic roles that have it.
    pub fn roles(self) -> &'static [AppRole] {
        self.rule().roles
    }

    /// Whether the database owner has it (operations from the command line).
    pub fn owner(self) -> bool {
        self.rule().owner
    }

    /// Whether the service has it when acting as itself for an outside party.
    pub fn service(self) -> bool {
        self.rule().service
    }

    /// Whether a patient signed in to the patient app has it (the service acting for them, the
    /// database narrowed to their own rows).
    pub fn patient(self) -> bool {
        matches!(self, Capability::ActOnOwnForms | Capability::ReadOwnConsultations | Capability::RequestBooking)
    }

    /// What it is, in words: "pick consultations".
    pub fn doing(self) -> &'static str {
        self.rule().doing
    }

    pub fn allows(self, actor: &Actor) -> bool {
        let r = self.rule();
        match actor {
            Actor::Staff(s) => r.roles.contains(&s.role),
            Actor::Owner => r.owner,
            Actor::Service => r.service,
            Actor::Patient { .. } => self.patient(),
        }
    }

    /// The refusal a person reads: "Your role (secretary) cannot pick consultations; only doctors
    /// may."
    pub fn refusal(self, actor: &Actor) -> String {
        let who = actor.describe();
        let mut c = who.chars();
        let who = match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect::<String>(),
            None => who,
        };
        let plural = |r: &AppRole| match r {
            Secretary => "secretaries",
            Doctor => "doctors",
            CustomerSupport => "support agents",
            Admin => "administrators",
        };
        let roles: Vec<&str> = self.roles().iter().map(plural).collect();
        match roles.as_slice() {
            [] if self.patient() => format!("{who} cannot {}; only the patient may, in the patient app.", self.doing()),
            [] => format!("{who} cannot {}; it is an operation of the database owner.", self.doing()),
            [one] => format!("{who} cannot {}; only {one} may.", self.doing()),
            [rest @ .., last] => format!("{who} cannot {}; only {} and {last} may.", self.doing(), rest.join(", ")),
        }
    }

    /// The table privileges the database grants to a role that has this capability: a role of
    /// [`Capability::roles`] must hold every one (checked against the schema by a test). An
    /// entry is (table, privilege), ("table.column", privilege) where a column draws the line, or
    /// (function, "EXECUTE").
    pub fn grants(self) -> &'static [(&'static str, &'static str)] {
        use Capability as C;
        match self {
            C::ReadQueue => &[
                ("consultations", "SELECT"),
                ("patient_persons", "SELECT"),
                ("staff", "SELECT"),
                ("consultations_listed", "SELECT"),
            ],
            C::PickConsultation | C::AssignConsultation | C::ReturnToQueue | C::CancelConsultation => {
                &[("consultations", "UPDATE")]
            }
            C::StartConsultation => &[("consultations", "UPDATE"), ("meeting_rooms", "INSERT")],
            C::CompleteConsultation => {
                &[("consultations", "UPDATE"), ("consultation_results", "INSERT"), ("consultation_reviews", "INSERT")]
            }
            C::AmendResult => &[("consultations", "UPDATE"), ("consultation_results", "INSERT")],
            C::ReadMessages => &[("patient_messages", "SELECT")],
            // Every clinic role queues messages (onboarding, consultations), so no table privilege
            // draws the line for resending a link; the rule is the core's.
            C::ResendJoinLink => &[],
            C::BookConsultation => &[("consultations", "INSERT"), ("orders", "INSERT"), ("line_items", "INSERT")],
            C::BookFollowUp => &[("consultations", "INSERT")],
            C::ScreenConsultation => &[("consultation_screenings", "INSERT"), ("referrals", "UPDATE")],
            C::ReadScreening => &[("consultation_screenings", "SELECT")],
            C::DecideReferral => {
                &[("referrals", "UPDATE"), ("consultations", "INSERT"), ("orders", "INSERT"), ("line_items", "INSERT")]
            }
            C::ReadResult => &[("read_consultation_results_as", "EXECUTE")],
            C::OnboardPatient | C::RegisterPatient => &[
                ("users", "INSERT"),
                ("patient_persons", "INSERT"),
                ("patients", "INSERT"),
                ("user_organizations", "INSERT"),
                ("communication_preference_tokens", "INSERT"),
                ("forms", "INSERT"),
            ],
            C::FindDuplicates => &[("patient_match_candidates", "EXECUTE")],
            C::ReadPatientCard => &[("patient_profiles", "SELECT"), ("patient_contact_as", "EXECUTE")],
            C::EditPatientProfile => &[("patient_persons", "UPDATE")],
            C::WorkLeads => {
                &[("organization_coverage", "SELECT"), ("tracked_calls.started_at", "SELECT"), ("patients.entry_point", "UPDATE")]
            }
            C::ReadForms | C::ReadConsentStatus => &[("forms", "SELECT"), ("consents", "SELECT")],
            C::ActOnForms | C::AttestSignature => &[("forms", "UPDATE"), ("consents", "INSERT"), ("consents", "UPDATE")],
            C::ReceiveReferral => &[("referrals", "INSERT"), ("consultations", "INSERT"), ("orders", "INSERT")],
            C::ReadReferralPayload => &[("referrals", "SELECT")],
            C::SearchIcpc2 => &[("icpc2_codes", "SELECT")],
            C::KeepDrafts => &[("drafts", "INSERT"), ("drafts", "SELECT"), ("drafts", "DELETE")],
            C::ManageFormTemplates => {
                &[("form_templates", "INSERT"), ("form_template_versions", "INSERT"), ("form_template_versions", "UPDATE")]
            }
            C::ManageOnboardingRules => {
                &[("automation_rules", "INSERT"), ("automation_actions", "INSERT"), ("automation_actions", "DELETE")]
            }
            C::ManageOutcomes => &[("result_outcomes", "INSERT"), ("result_outcomes", "UPDATE")],
            C::ManagePartners => &[("partners", "INSERT"), ("organizations", "INSERT")],
            C::ManageStaff => &[("staff", "INSERT"), ("staff", "UPDATE")],
            C::ManageWebhooks => &[("webhook_subscriptions", "INSERT"), ("webhook_deliveries", "SELECT")],
            C::EnrollWorkstations => &[("workstation_enrollments", "INSERT"), ("workstation_enrollments", "SELECT")],
            C::RevokeWorkstations => &[("workstation_enrollments.revoked_at", "UPDATE"), ("workstation_enrollments", "SELECT")],
            C::UseEnrollment => &[("workstation_enrollment_use", "EXECUTE"), ("workstation_key_delivery", "EXECUTE")],
            C::ReadAuditLog => &[("audit_log", "SELECT")],
            C::ExportInsurerReport => &[("consultations", "SELECT"), ("insurer_report_rows", "EXECUTE")],
            C::ImportIcpc2 => &[("icpc2_codes", "INSERT"), ("icpc2_imports", "INSERT")],
            C::RotateClinicalKeys => {
                &[("consultation_result_ciphertexts", "EXECUTE"), ("consultation_results.notes_encrypted", "UPDATE")]
            }
            C::RevokeApiTokens => &[("api_tokens", "UPDATE")],
            // Support agents book paid consultations, so they write orders and keep their totals,
            // but read no totals, discounts or their reasons.
            C::ReadBilling => {
                &[("orders.total", "SELECT"), ("line_items.discount_reason", "SELECT"), ("partner_prices", "SELECT")]
            }
            C::ManagePrices => &[("partner_prices", "INSERT"), ("partner_prices", "UPDATE")],
            C::SetDiscounts => &[("line_items", "UPDATE")],
            C::ReadReviews => &[("consultation_reviews.comment", "SELECT")],
            C::AnswerReview => &[("consultation_reviews.rating", "UPDATE"), ("consultation_reviews.submitted_at", "UPDATE")],
            C::ChangeContactPreferences => &[
                ("communication_preference_tokens.email_allowed", "UPDATE"),
                ("communication_preference_tokens.sms_allowed", "UPDATE"),
                ("communication_preference_tokens.marketing_opt_out", "UPDATE"),
            ],
            C::RotatePreferenceLink => {
                &[("communication_preference_tokens.token", "UPDATE"), ("communication_preference_tokens.rotated_at", "UPDATE")]
            }
            C::SetMessageLanguage => &[("patient_persons.language", "UPDATE")],
            // The service holds these privileges already; the policy acting_patient narrows them to
            // the patient's own rows.
            C::ActOnOwnForms | C::ReadOwnConsultations | C::RequestBooking => &[],
            C::ReceiveCalls => &[("tracked_calls", "INSERT")],
            C::ReceiveFaxes => &[("inbound_faxes", "INSERT")],
            C::WorkFaxInbox => &[("inbound_faxes.state", "UPDATE"), ("inbound_fax_read_as", "EXECUTE")],
            C::SignFormsFromLink
            | C::CreateLogins
            | C::IssueApiTokens
            | C::RotateKeys
            | C::AuthenticateCallers
            | C::ImportRecords
            | C::DeliverEvents => &[],
        }
    }
}
