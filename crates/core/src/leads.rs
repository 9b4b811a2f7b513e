//! Leads (`docs/leads.md`): callers the clinic's call tracking filed at a clinic (entry point
//! `cold_call`) who have no app account yet. Support agents and admins list them, check whether
//! the clinic can serve them ([`check`]: age, coverage by the clinic or a partner, channel) and
//! convert them into patients through the one intake path (`intake::register`, entry point
//! `concierge_cold_call`), which gives them an account and runs the onboarding.

use chrono::{DateTime, NaiveDate, Utc};
use digimed_domain::{Email, NationalId, PersonName};
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::cold_calls::UNKNOWN_CALLER;
use crate::error::{Error, ErrorCode, Result};
use crate::intake::{self, IntakeInput};
use crate::keys::{index_kind, Vault};
use crate::patients::EntryPoint;

/// The youngest a clinic's new patient may be, in whole years: the clinic serves adults.
pub const MIN_AGE: u32 = 18;

/// A channel a consultation can be held on, as a lead may ask for it
/// (`organizations.consultation_channels` holds those a clinic offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Video,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Video, Channel::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Video => "video",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }
}

/// A Norwegian postcode: four digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(s: &str) -> Option<Postcode> {
        let s = s.trim();
        (s.len() == 4 && s.chars().all(|c| c.is_ascii_digit())).then(|| Postcode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the check knows of the lead.
#[derive(Debug, Clone, Default)]
pub struct Applicant {
    pub birth_date: Option<NaiveDate>,
    pub postcode: Option<Postcode>,
    pub channel: Option<Channel>,
}

/// What the clinic offers: the postcode prefixes it or one of its partners covers, and the
/// channels it holds consultations on.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    pub postcode_prefixes: Vec<String>,
    pub channels: Vec<Channel>,
}

/// One criterion of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// At least [`MIN_AGE`] years old today.
    Age,
    /// The postcode is covered by the clinic or one of its partners.
    Coverage,
    /// The channel asked for is one the clinic offers.
    Channel,
}

/// Why a criterion passed or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Adult,
    UnderAge,
    BirthDateUnknown,
    Covered,
    NotCovered,
    PostcodeMissing,
    Offered,
    NotOffered,
    ChannelMissing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CriterionResult {
    pub criterion: Criterion,
    pub passed: bool,
    pub reason: Reason,
    /// The input field the criterion is about.
    pub field: String,
}

/// The check's answer, criterion by criterion (age, coverage, channel, in that order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Serviceability {
    pub passed: bool,
    pub criteria: Vec<CriterionResult>,
}

impl Serviceability {
    /// The refusal of a conversion that failed the check: `invalid_input` on the first failing
    /// criterion's field, a message naming each failing criterion, the whole check as details.
    pub fn refusal(&self) -> Option<Error> {
        let failing: Vec<&CriterionResult> = self.criteria.iter().filter(|c| !c.passed).collect();
        let first = failing.first()?;
        let said: Vec<&str> = failing
            .iter()
            .map(|c| match c.reason {
                Reason::UnderAge => "age: the clinic serves adults (18 or older)",
                Reason::BirthDateUnknown => "age: give a date of birth or a national id",
                Reason::NotCovered => "coverage: the postcode is covered by neither the clinic nor its partners",
                Reason::PostcodeMissing => "coverage: give the postcode",
                Reason::NotOffered => "channel: the clinic does not offer this channel",
                Reason::ChannelMissing => "channel: choose video or phone",
                Reason::Adult | Reason::Covered | Reason::Offered => "",
            })
            .collect();
        Some(
            Error::field(ErrorCode::InvalidInput, &first.field, format!("The lead cannot be converted: {}.", said.join("; ")))
                .with_details(serde_json::json!({ "criteria": self.criteria })),
        )
    }
}

/// The serviceability check: whether the clinic can serve the lead `today`. Every criterion is
/// answered, so a person sees all that fails at once.
pub fn check(applicant: &Applicant, offer: &Offer, today: NaiveDate) -> Serviceability {
    let age = match applicant.birth_date {
        None => (false, Reason::BirthDateUnknown),
        Some(born) if today.years_since(born).unwrap_or(0) >= MIN_AGE => (true, Reason::Adult),
        Some(_) => (false, Reason::UnderAge),
    };
    let coverage = match &applicant.postcode {
        None => (false, Reason::PostcodeMissing),
        Some(p) if offer.postcode_prefixes.iter().any(|prefix| p.as_str().starts_with(prefix.as_str())) => {
            (true, Reason::Covered)
        }
        Some(_) => (false, Reason::NotCovered),
    };
    let channel = match applicant.channel {
        None => (false, Reason::ChannelMissing),
        Some(c) if offer.channels.contains(&c) => (true, Reason::Offered),
        Some(_) => (false, Reason::NotOffered),
    };
    let criteria = vec![
        CriterionResult { criterion: Criterion::Age, passed: age.0, reason: age.1, field: "date_of_birth".into() },
        CriterionResult { criterion: Criterion::Coverage, passed: coverage.0, reason: coverage.1, field: "postcode".into() },
        CriterionResult { criterion: Criterion::Channel, passed: channel.0, reason: channel.1, field: "channel".into() },
    ];
    Serviceability { passed: criteria.iter().all(|c| c.passed), criteria }
}

/// A lead as the Leads screen lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Lead {
    pub patient_person_id: i32,
    /// The link the cold call made.
    pub patient_id: i32,
    pub name: String,
    /// False when the call tracking knew no name for the caller (the name is then
    /// [`UNKNOWN_CALLER`], and converting the lead needs one).
    pub name_known: bool,
    pub entry_point: EntryPoint,
    /// When the lead came in (the link was made).
    pub came_in_at: DateTime<Utc>,
    /// The latest call recorded for the lead at this clinic (when it started, else when it was reported).
    pub last_call_at: Option<DateTime<Utc>>,
    pub last_call_seconds: Option<i32>,
    /// The phone number with all but its first three and last three characters hidden.
    pub phone_masked: Option<String>,
    /// The date of birth on record, if any (from a national id, say).
    pub date_of_birth: Option<NaiveDate>,
}

/// The leads of the caller's clinic, the latest call first. Each lead's phone is read through
/// the audited `patient_contact_as` and shown masked.
pub async fn list_leads(tx: &mut ClinicTx, vault: &Vault) -> Result<Vec<Lead>> {
    tx.require(Capability::WorkLeads)?;
    let org = my_clinic(tx)?;
    let rows = sqlx::query!(
        r#"SELECT pp.id AS "patient_person_id!", p.id AS patient_id, pp.name AS "name!",
                  p.entry_point AS "entry_point: EntryPoint", p.created_at AS came_in_at, pr.date_of_birth,
                  lc.at AS "last_call_at?", lc.duration_seconds AS "last_call_seconds?"
             FROM patients p
             JOIN patient_persons pp ON pp.id = p.patient_person_id
             LEFT JOIN patient_profiles pr ON pr.id = pp.id
             LEFT JOIN LATERAL (SELECT coalesce(c.started_at, c.received_at) AS at, c.duration_seconds
                                  FROM tracked_calls c
                                 WHERE c.patient_person_id = pp.id AND c.organization_id = p.organization_id
                                 ORDER BY 1 DESC LIMIT 1) lc ON true
            WHERE p.organization_id = $1 AND p.entry_point = 'cold_call' AND pp.user_id IS NULL AND pp.status = 'active'
            ORDER BY coalesce(lc.at, p.created_at) DESC, p.id DESC"#,
        org,
    )
    .fetch_all(tx.conn())
    .await?;
    let mut leads = Vec::with_capacity(rows.len());
    for r in rows {
        let phone = read_phone(tx, vault, r.patient_person_id).await?;
        leads.push(Lead {
            patient_person_id: r.patient_person_id,
            patient_id: r.patient_id,
            name_known: r.name != UNKNOWN_CALLER,
            name: r.name,
            entry_point: r.entry_point,
            came_in_at: r.came_in_at,
            last_call_at: r.last_call_at,
            last_call_seconds: r.last_call_seconds,
            phone_masked: phone.as_deref().map(mask_phone),
            date_of_birth: r.date_of_birth,
        });
    }
    Ok(leads)
}

/// What a support agent fills in for a lead: the check's facts, and for the conversion the name
/// (when the call tracking knew none) and the e-mail address the account is made for. Any field
/// may be missing; what the check needs and lacks fails its criterion.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LeadInput {
    pub patient_person_id: Option<i32>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
    pub national_id: Option<String>,
    pub postcode: Option<String>,
    pub channel: Option<String>,
}

/// The lead converted: the patient link and the account.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Converted {
    pub patient_person_id: i32,
    pub patient_id: i32,
    pub user_id: Option<i32>,
    pub name: String,
    pub serviceability: Serviceability,
}

/// The serviceability check for a lead of the caller's clinic, without writing anything.
pub async fn check_lead(tx: &mut ClinicTx, input: &LeadInput) -> Result<Serviceability> {
    tx.require(Capability::WorkLeads)?;
    let org = my_clinic(tx)?;
    let lead = find_lead(tx, org, input).await?;
    let applicant = applicant(input, lead.date_of_birth)?.0;
    let offer = offer(tx, org).await?;
    Ok(check(&applicant, &offer.0, offer.1))
}

/// Converts a lead of the caller's clinic into a patient: runs the check and, when it passes,
/// records the name, national id and date of birth given and makes the lead a patient through
/// `intake::register` (entry point `concierge_cold_call`, with the e-mail address: account,
/// forms, audit entry and event), all in this transaction, which it commits. A failed check is
/// `invalid_input` naming each failing criterion, and nothing is written.
pub async fn convert_lead(
    mut tx: ClinicTx,
    vault: &Vault,
    accounts: &Accounts,
    input: &LeadInput,
    default_phone_country: &str,
) -> Result<Converted> {
    tx.require(Capability::WorkLeads)?;
    let org = my_clinic(&tx)?;
    let lead = find_lead(&mut tx, org, input).await?;
    let person_id = lead.patient_person_id;
    let given_name = match input.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => Some(PersonName::parse(n).map_err(|e| Error::refused("name", e.code(), e))?),
        None => None,
    };
    if given_name.as_ref().map_or(lead.name.as_str(), |n| n.as_str()) == UNKNOWN_CALLER {
        return Err(Error::field(
            ErrorCode::NameRequired,
            "name",
            "The call tracking knew no name for this caller; give the lead's name.",
        ));
    }
    let email = Email::parse(input.email.as_deref().unwrap_or("")).map_err(|e| Error::refused("email", e.code(), e))?;
    let (applicant, national_id, typed_birth_date) = applicant(input, lead.date_of_birth)?;
    let (offer, today) = offer(&mut tx, org).await?;
    let serviceability = check(&applicant, &offer, today);
    if let Some(refusal) = serviceability.refusal() {
        return Err(refusal);
    }
    let phone = read_phone(&mut tx, vault, person_id)
        .await?
        .ok_or_else(|| Error::field(ErrorCode::PhoneRequired, "phone", "The lead has no phone number on record."))?;
    // What the check established is kept on the person.
    if let Some(name) = &given_name {
        sqlx::query!("UPDATE patient_persons SET name = $2, updated_at = now() WHERE id = $1", person_id, name.as_str())
            .execute(tx.conn())
            .await?;
    }
    if let Some(n) = &national_id {
        let row = i64::from(person_id);
        sqlx::query!(
            "UPDATE patient_persons SET national_id_encrypted = $2, national_id_index = $3, date_of_birth = $4 WHERE id = $1",
            person_id,
            vault.encrypt("patient_persons", "national_id_encrypted", row, n.as_str())?,
            vault.blind_index(index_kind::NATIONAL_ID, n.as_str()),
            n.birth_date(),
        )
        .execute(tx.conn())
        .await?;
    } else if let Some(born) = typed_birth_date {
        sqlx::query!("UPDATE patient_persons SET date_of_birth = $2 WHERE id = $1", person_id, born).execute(tx.conn()).await?;
    }
    let name = given_name.map(|n| n.as_str().to_string()).unwrap_or(lead.name);
    let registered = intake::register(
        tx,
        vault,
        accounts,
        EntryPoint::ConciergeColdCall,
        &IntakeInput {
            name: Some(name.clone()),
            email: Some(email.as_str().to_string()),
            phone: Some(phone),
            organization_id: Some(i64::from(org)),
            lead_person_id: Some(person_id),
            ..IntakeInput::default()
        },
        default_phone_country,
    )
    .await?;
    Ok(Converted {
        patient_person_id: person_id,
        patient_id: registered.patient_id,
        user_id: registered.user_id,
        name,
        serviceability,
    })
}

fn my_clinic(tx: &ClinicTx) -> Result<i32> {
    tx.clinic().ok_or_else(|| Error::forbidden("Leads are worked by the staff of a clinic."))
}

struct LeadRow {
    patient_person_id: i32,
    name: String,
    date_of_birth: Option<NaiveDate>,
}

/// The lead `input` names, at clinic `org`: `not_found` when there is none, `patient_already_exists`
/// (with the patient's id) when the person was converted already.
async fn find_lead(tx: &mut ClinicTx, org: i32, input: &LeadInput) -> Result<LeadRow> {
    let person_id = input
        .patient_person_id
        .ok_or_else(|| Error::field(ErrorCode::PatientPersonIdRequired, "patient_person_id", "Choose a lead."))
        .and_then(|id| {
            Some(id)
                .filter(|id| *id > 0)
                .ok_or_else(|| Error::invalid("patient_person_id", "The patient_person_id is not a valid id."))
        })?;
    let row = sqlx::query!(
        r#"SELECT p.id, p.entry_point AS "entry_point: EntryPoint", pp.user_id, pp.name AS "name!", pr.date_of_birth
             FROM patients p
             JOIN patient_persons pp ON pp.id = p.patient_person_id
             LEFT JOIN patient_profiles pr ON pr.id = pp.id
            WHERE p.patient_person_id = $1 AND p.organization_id = $2 AND pp.status = 'active'"#,
        person_id,
        org,
    )
    .fetch_optional(tx.conn())
    .await?;
    match row {
        Some(r) if r.entry_point == EntryPoint::ColdCall && r.user_id.is_none() => {
            Ok(LeadRow { patient_person_id: person_id, name: r.name, date_of_birth: r.date_of_birth })
        }
        Some(r) if r.entry_point == EntryPoint::ConciergeColdCall => {
            Err(Error::new(ErrorCode::PatientAlreadyExists, "This lead has been converted already.").with_details(
                serde_json::json!({"patient_person_id": person_id, "organization_id": org, "existing_patient_id": r.id}),
            ))
        }
        _ => Err(Error::field(ErrorCode::NotFound, "patient_person_id", "There is no lead with this id at this clinic.")),
    }
}

/// The check's facts from the form: the birth date from the national id, else the date typed,
/// else the one on record; the postcode and the channel. A value given but malformed is an
/// error naming its field; a value missing fails its criterion. Also answers the national id and
/// the date typed, to be recorded on conversion.
fn applicant(input: &LeadInput, on_record: Option<NaiveDate>) -> Result<(Applicant, Option<NationalId>, Option<NaiveDate>)> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let national_id = match text(&input.national_id) {
        Some(n) => Some(NationalId::parse(&n, false).map_err(|e| Error::refused("national_id", e.code(), e))?),
        None => None,
    };
    let typed = match text(&input.date_of_birth) {
        Some(d) => Some(
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| Error::invalid("date_of_birth", "The date of birth must be a date (YYYY-MM-DD)."))?,
        ),
        None => None,
    };
    if let (Some(n), Some(d)) = (&national_id, typed) {
        if n.birth_date() != d {
            return Err(Error::invalid("date_of_birth", "The date of birth does not match the national id."));
        }
    }
    let postcode = match text(&input.postcode) {
        Some(p) => Some(Postcode::parse(&p).ok_or_else(|| Error::invalid("postcode", "A postcode has four digits."))?),
        None => None,
    };
    let channel = match text(&input.channel) {
        Some(c) => Some(Channel::parse(&c).ok_or_else(|| Error::invalid("channel", "The channel is video or phone."))?),
        None => None,
    };
    let birth_date = national_id.as_ref().map(|n| n.birth_date()).or(typed).or(on_record);
    Ok((Applicant { birth_date, postcode, channel }, national_id, typed))
}

/// What the clinic `org` offers, and today's date in Norway.
async fn offer(tx: &mut ClinicTx, org: i32) -> Result<(Offer, NaiveDate)> {
    let row = sqlx::query!(
        r#"SELECT o.consultation_channels AS "channels!",
                  ARRAY(SELECT DISTINCT c.postcode_prefix FROM organization_coverage c
                         WHERE c.organization_id = o.id
                            OR c.organization_id IN (SELECT p.organization_id FROM partners p WHERE p.clinic_id = o.id)
                         ORDER BY 1) AS "prefixes!",
                  (now() AT TIME ZONE 'Europe/Oslo')::date AS "today!"
             FROM organizations o WHERE o.id = $1"#,
        org,
    )
    .fetch_one(tx.conn())
    .await?;
    let channels = row.channels.iter().filter_map(|c| Channel::parse(c)).collect();
    Ok((Offer { postcode_prefixes: row.prefixes, channels }, row.today))
}

/// The lead's phone number, read through the audited `patient_contact_as`.
async fn read_phone(tx: &mut ClinicTx, vault: &Vault, person_id: i32) -> Result<Option<String>> {
    let secrets = sqlx::query!(r#"SELECT phone_encrypted FROM patient_contact_as($1, current_user::text, false)"#, person_id,)
        .fetch_optional(tx.conn())
        .await?;
    match secrets.and_then(|s| s.phone_encrypted) {
        Some(ct) => Ok(Some(vault.decrypt("patient_persons", "phone_encrypted", i64::from(person_id), &ct)?)),
        None => Ok(None),
    }
}

/// A phone number with all but its first three and last three characters hidden: `+47*****567`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    chars.iter().enumerate().map(|(i, c)| if i < 3 || i >= chars.len() - 3 { *c } else { '*' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn offer() -> Offer {
        Offer { postcode_prefixes: vec!["0".into(), "13".into()], channels: vec![Channel::Video] }
    }

    fn failing(s: &Serviceability) -> Vec<(Criterion, Reason)> {
        s.criteria.iter().filter(|c| !c.passed).map(|c| (c.criterion, c.reason)).collect()
    }

    #[test]
    fn an_adult_in_a_covered_postcode_on_an_offered_channel_passes() {
        let a =
            Applicant { birth_date: Some(day(2008, 12, 7)), postcode: Postcode::parse("1358"), channel: Some(Channel::Video) };
        let s = check(&a, &offer(), day(2026, 12, 7));
        assert!(s.passed, "{s:?}");
        assert_eq!(
            s.criteria.iter().map(|c| c.criterion).collect::<Vec<_>>(),
            [Criterion::Age, Criterion::Coverage, Criterion::Channel]
        );
        assert!(s.refusal().is_none());
    }

    #[test]
    fn each_failing_criterion_is_named() {
        // 18 tomorrow: still a minor today.
        let a =
            Applicant { birth_date: Some(day(2008, 12, 8)), postcode: Postcode::parse("5003"), channel: Some(Channel::Phone) };
        let s = check(&a, &offer(), day(2026, 12, 7));
        assert!(!s.passed);
        assert_eq!(
            failing(&s),
            [
                (Criterion::Age, Reason::UnderAge),
                (Criterion::Coverage, Reason::NotCovered),
                (Criterion::Channel, Reason::NotOffered)
            ]
        );
        let e = s.refusal().unwrap();
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::InvalidInput, Some("date_of_birth")));
        for word in ["age", "coverage", "channel"] {
            assert!(e.message.contains(word), "{}", e.message);
        }
    }

    #[test]
    fn what_is_missing_fails_its_criterion() {
        let s = check(&Applicant::default(), &offer(), day(2026, 12, 7));
        assert_eq!(
            failing(&s),
            [
                (Criterion::Age, Reason::BirthDateUnknown),
                (Criterion::Coverage, Reason::PostcodeMissing),
                (Criterion::Channel, Reason::ChannelMissing)
            ]
        );
        let only_channel = Applicant { birth_date: Some(day(1980, 1, 1)), postcode: Postcode::parse("0150"), channel: None };
        let e = check(&only_channel, &offer(), day(2026, 12, 7)).refusal().unwrap();
        assert_eq!(e.field.as_deref(), Some("channel"));
        assert!(!e.message.contains("age"), "{}", e.message);
    }

    #[test]
    fn form_values_parse_or_name_their_field() {
        let born = day(1990, 4, 2);
        let nid = (100..200).find_map(|i| NationalId::synthetic(born, i)).unwrap();
        let field = |i: LeadInput| applicant(&i, None).unwrap_err().field;
        assert_eq!(field(LeadInput { postcode: Some("12".into()), ..Default::default() }).as_deref(), Some("postcode"));
        assert_eq!(field(LeadInput { channel: Some("fax".into()), ..Default::default() }).as_deref(), Some("channel"));
        assert_eq!(
            field(LeadInput { date_of_birth: Some("1.2.1990".into()), ..Default::default() }).as_deref(),
            Some("date_of_birth")
        );
        // Synthetic (test) numbers are refused, as at every entry point.
        assert_eq!(
            field(LeadInput { national_id: Some(nid.expose().into()), ..Default::default() }).as_deref(),
            Some("national_id")
        );
        // The date on record counts when nothing is typed.
        let (a, _, _) = applicant(&LeadInput { postcode: Some(" 0150 ".into()), ..Default::default() }, Some(born)).unwrap();
        assert_eq!((a.birth_date, a.postcode.unwrap().as_str()), (Some(born), "0150"));
    }

    #[test]
    fn a_phone_is_masked_but_for_its_ends() {
        assert_eq!(mask_phone("+4791234567"), "+47*****567");
        assert_eq!(mask_phone("+4712"), "*****");
    }
}
