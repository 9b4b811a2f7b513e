//! Demo data for a new installation or a developer's private database: an insurer partner, two
//! clinics, one staff member per role, consent form templates and automation rules, a few
//! referred patients whose referrals were screened and booked, with consultations in every state,
//! and a few referrals still waiting for screening, some already called, leads filed by the call
//! tracking and where the clinics and their partner serve patients. Every person is invented and every
//! national id number is a synthetic one (month + 80) that passes the check digits.

use chrono::{Duration, NaiveDate, Utc};
use digimed_crypto::Secret;
use digimed_domain::{Email, NationalId, PersonName, Phone};
use rand::Rng;
use serde::Serialize;
use sqlx::PgPool;

use digimed_core::error::{Error, ErrorCode, Result};
use digimed_core::keys::Vault;
use digimed_core::patients::{create_person, link_patient, EntryPoint, NewPerson, PersonStatus};
use digimed_core::session::AppRole;
use digimed_core::staff::add_staff;
use digimed_core::ClinicTx;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Domain of the demo staff logins; logins are cluster-wide, so tests pass their own.
    pub login_domain: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { login_domain: "demo.digimed.test".to_string() }
    }
}

/// Generated sign-in details, shown once to whoever seeded the database.
#[derive(Serialize)]
pub struct DemoCredentials {
    pub staff: Vec<DemoLogin>,
    pub partner_name: String,
    #[serde(skip)]
    pub partner_secret: Secret<String>,
}

#[derive(Serialize)]
pub struct DemoLogin {
    pub role: AppRole,
    pub name: String,
    pub login: String,
    #[serde(skip)]
    pub password: Secret<String>,
}

impl DemoLogin {
    pub fn password(&self) -> &str {
        self.password.expose()
    }
}

fn random_password() -> Secret<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let words: Vec<String> =
        (0..3).map(|_| (0..5).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()).collect();
    Secret::new(words.join("-"))
}

/// Whether the database already holds the demo (or any) organizations.
pub async fn is_seeded(owner: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations)").fetch_one(owner).await?)
}

struct DemoPerson {
    name: &'static str,
    born: (i32, u32, u32),
    phone: &'static str,
    email: Option<&'static str>,
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        name: "Ingrid Solberg",
        born: (1984, 3, 14),
        phone: "+47 412 34 501",
        email: Some("ingrid.solberg@example.com"),
    },
    DemoPerson { name: "Magnus Haugen", born: (1971, 11, 2), phone: "+47 412 34 502", email: Some("magnus.haugen@example.com") },
    DemoPerson { name: "Sofie Berntsen", born: (1996, 6, 23), phone: "+47 412 34 503", email: None },
    DemoPerson { name: "Eirik Lunde", born: (1959, 1, 30), phone: "+47 412 34 504", email: Some("eirik.lunde@example.com") },
    DemoPerson { name: "Nora Vik", born: (2009, 9, 9), phone: "+47 412 34 505", email: None },
    DemoPerson { name: "Henrik Aasen", born: (1990, 12, 12), phone: "+47 412 34 506", email: Some("henrik.aasen@example.com") },
    DemoPerson {
        name: "Thea Kristiansen",
        born: (1978, 4, 5),
        phone: "+47 412 34 507",
        email: Some("thea.kristiansen@example.com"),
    },
    DemoPerson { name: "Jonas Myhre", born: (1988, 8, 18), phone: "+47 412 34 508", email: None },
];

/// A secretary's call about a referral: how many hours ago, its outcome, and a note.
type DemoCall = (i64, &'static str, Option<&'static str>);

/// Referred patients whose referrals wait for screening: received that many hours ago, and the
/// secretary's calls so far.
const AWAITING: &[(DemoPerson, i64, &[DemoCall])] = &[
    (
        DemoPerson { name: "Astrid Holm", born: (1967, 2, 19), phone: "+47 412 34 521", email: Some("astrid.holm@example.com") },
        45,
        &[(44, "no_answer", None), (5, "voicemail", Some("Left a message asking her to call the clinic back."))],
    ),
    (
        DemoPerson { name: "Per Gundersen", born: (1993, 7, 7), phone: "+47 412 34 522", email: None },
        4,
        &[(3, "no_answer", None)],
    ),
    (
        DemoPerson { name: "Silje Bakke", born: (2001, 10, 28), phone: "+47 412 34 523", email: Some("silje.bakke@example.com") },
        1,
        &[],
    ),
];

/// Seeds the demo. Refuses when the database already has organizations.
pub async fn seed_demo(owner: &PgPool, vault: &Vault, opts: &DemoOptions) -> Result<DemoCredentials> {
    if is_seeded(owner).await? {
        return Err(Error::new(
            ErrorCode::AlreadyExists,
            "The database already has data; the demo is only seeded into an empty one.",
        ));
    }
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM icpc2_codes").fetch_one(owner).await?;
    if codes == 0 {
        return Err(Error::new(
            ErrorCode::Configuration,
            "Import the ICPC-2 code list first (digimed icpc2 import FILE); the demo's completed consultation has a result.",
        ));
    }
    // Staff logins are roles and are created by `add_staff` in their own transactions; the rest
    // goes in one transaction. If that fails, the logins are dropped again.
    let orgs: (i32, i32, i32) = {
        let mut tx = ClinicTx::begin(owner).await?;
        let oslo: i32 =
            sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Digimed Oslo', 'clinic') RETURNING id")
                .fetch_one(tx.conn())
                .await?;
        let bergen: i32 =
            sqlx::query_scalar("INSERT INTO organizations (name, kind) VALUES ('Digimed Bergen', 'clinic') RETURNING id")
                .fetch_one(tx.conn())
                .await?;
        let insurer: i32 = sqlx::query_scalar(
            "INSERT INTO organizations (name, kind) VALUES ('Fjordtrygd Forsikring', 'insurer_partner') RETURNING id",
        )
        .fetch_one(tx.conn())
        .await?;
        tx.commit().await?;
        (oslo, bergen, insurer)
    };
    let (oslo, bergen, insurer) = orgs;
    let staff_plan = [
        (AppRole::Secretary, "Sara Lie", "sara.lie"),
        (AppRole::Doctor, "Dr. Anders Moe", "anders.moe"),
        (AppRole::Doctor, "Dr. Kari Dahl", "kari.dahl"),
        (AppRole::CustomerSupport, "Ola Brekke", "ola.brekke"),
        (AppRole::Admin, "Hanne Strand", "hanne.strand"),
    ];
    let mut logins = Vec::new();
    for (role, name, local) in staff_plan {
        let email = Email::parse(&format!("{local}@{}", opts.login_domain)).map_err(|_| {
            Error::field(ErrorCode::InvalidInput, "login_domain", "The demo login domain is not a valid e-mail domain.")
        })?;
        let person = PersonName::parse(name).map_err(|_| Error::internal("demo staff name"))?;
        let password = random_password();
        let added = async {
            let mut tx = ClinicTx::begin(owner).await?;
            let s = add_staff(&mut tx, &email, &person, role, Some(oslo), &password).await?;
            tx.commit().await?;
            Ok::<_, Error>(s)
        };
        let created = match added.await {
            Ok(s) => s,
            Err(e) => {
                drop_logins(owner, &logins).await;
                return Err(e);
            }
        };
        logins.push(DemoLogin { role, name: name.to_string(), login: created.login, password });
    }
    match seed_records(owner, vault, oslo, bergen, insurer).await {
        Ok(partner_secret) => Ok(DemoCredentials { staff: logins, partner_name: "fjordtrygd".into(), partner_secret }),
        Err(e) => {
            drop_logins(owner, &logins).await;
            Err(e)
        }
    }
}

async fn drop_logins(owner: &PgPool, logins: &[DemoLogin]) {
    for l in logins {
        let _ = sqlx::query("DELETE FROM staff WHERE login_role = $1").bind(&l.login).execute(owner).await;
        if let Ok(ddl) = sqlx::query_scalar::<_, String>("SELECT format('DROP ROLE IF EXISTS %I', $1::text)")
            .bind(&l.login)
            .fetch_one(owner)
            .await
        {
            let _ = sqlx::raw_sql(&ddl).execute(owner).await;
        }
    }
}

async fn seed_records(owner: &PgPool, vault: &Vault, oslo: i32, bergen: i32, insurer: i32) -> Result<Secret<String>> {
    let mut tx = ClinicTx::begin(owner).await?;
    let secret = Secret::new(digimed_core::patients::new_token());
    let partner_id: i32 =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('partners', 'id'))::int").fetch_one(tx.conn()).await?;
    sqlx::query(
        "INSERT INTO partners (id, organization_id, clinic_id, name, webhook_secret_encrypted, is_test_partner, deadline_working_days, deal_id)
         VALUES ($1, $2, $3, 'fjordtrygd', $4, true, 2, 'FT-DIGIMED-2026')",
    )
    .bind(partner_id)
    .bind(insurer)
    .bind(oslo)
    .bind(vault.encrypt("partners", "webhook_secret_encrypted", partner_id as i64, secret.expose())?)
    .execute(tx.conn()).await?;
    // The partner's deal: what its consultations cost, per category.
    for (category, price) in [("insurance", "950.00"), ("direct", "650.00")] {
        digimed_core::prices::set(&mut tx, partner_id, category, price, Some("NOK")).await?;
    }

    // Consent form templates (shared by both clinics) and each clinic's onboarding rules.
    let templates = [
        ("privacy_gdpr", "Privacy Policy & GDPR Consent", vec!["analytics", "marketing"], Some("first_appointment"),
         "We process your personal data to provide care. You may consent to anonymous analytics and to receiving news from us. You can withdraw consent at any time."),
        ("profile_sharing", "Profile Sharing Consent", vec!["profile_sharing"], Some("first_appointment"),
         "I allow this clinic to see my health profile (date of birth, blood type, allergies, chronic conditions and insurance) that I registered with another clinic."),
        ("terms_of_service", "Terms of Service", vec![], None,
         "Consultations are given by licensed health personnel. Cancel at least 24 hours in advance."),
    ];
    let mut template_ids = Vec::new();
    for (key, title, consents, must, body) in &templates {
        let tid: i32 = sqlx::query_scalar(
            "INSERT INTO form_templates (key, title, type, consent_types, must_sign_before) VALUES ($1, $2, 'disclaimer', $3, $4) RETURNING id",
        )
        .bind(key).bind(title).bind(consents).bind(must)
        .fetch_one(tx.conn()).await?;
        sqlx::query("INSERT INTO form_template_versions (template_id, version, body, published_at) VALUES ($1, 1, $2, now())")
            .bind(tid)
            .bind(body)
            .execute(tx.conn())
            .await?;
        template_ids.push(tid);
    }
    for org in [oslo, bergen] {
        let new_rule: i32 = sqlx::query_scalar(
            "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
             VALUES ($1, 'New patients sign privacy and profile sharing', 'patient.onboarded', true, 1) RETURNING id",
        )
        .bind(org)
        .fetch_one(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO automation_actions (rule_id, position, action, template_id, blocking) VALUES
               ($1, 1, 'create_form', $2, true), ($1, 2, 'create_form', $3, true), ($1, 3, 'send_welcome_email', NULL, false)",
        )
        .bind(new_rule)
        .bind(template_ids[0])
        .bind(template_ids[1])
        .execute(tx.conn())
        .await?;
        let existing_rule: i32 = sqlx::query_scalar(
            "INSERT INTO automation_rules (organization_id, name, trigger_event, person_is_new, position)
             VALUES ($1, 'Patients known elsewhere sign profile sharing', 'patient.onboarded', false, 2) RETURNING id",
        )
        .bind(org)
        .fetch_one(tx.conn())
        .await?;
        sqlx::query("INSERT INTO automation_actions (rule_id, position, action, template_id, blocking) VALUES ($1, 1, 'create_form', $2, true)")
            .bind(existing_rule).bind(template_ids[1]).execute(tx.conn()).await?;
    }

    // Referred patients, with consultations in every state.
    let doctors: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM staff WHERE role = 'doctor' ORDER BY id").fetch_all(tx.conn()).await?;
    let states = [
        "ready_for_pickup",
        "ready_for_pickup",
        "ready_for_pickup",
        "pending_sp",
        "in_progress",
        "completed",
        "cancelled",
        "ready_for_pickup",
    ];
    let secretary: i32 =
        sqlx::query_scalar("SELECT id FROM staff WHERE role = 'secretary' AND organization_id = $1 ORDER BY id LIMIT 1")
            .bind(oslo)
            .fetch_one(tx.conn())
            .await?;
    let now = Utc::now();
    for (i, p) in PEOPLE.iter().enumerate() {
        // Received, called within a quarter of an hour, and booked: the consultation's clock
        // starts at the booking, its deadline (two days) counts from the referral's arrival.
        let created = now - Duration::hours(6 + 9 * i as i64);
        let received = created - Duration::minutes(25);
        let (person, referral_id) =
            referral_of(&mut tx, vault, p, 10 + i as u16, partner_id, oslo, received, received + Duration::days(2)).await?;
        screening_call(&mut tx, vault, referral_id, secretary, created - Duration::minutes(10), "reached", None).await?;
        let doctor = doctors[i % doctors.len()];
        let cid: i32 = sqlx::query_scalar(
            "INSERT INTO consultations (patient_person_id, organization_id, partner_id, referral_id, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(person)
        .bind(oslo)
        .bind(partner_id)
        .bind(referral_id)
        .bind(created)
        .fetch_one(tx.conn())
        .await?;
        digimed_core::orders::open_for_consultation(&mut tx, oslo, insurer, person, cid).await?;
        if i % 3 == 0 {
            digimed_core::orders::set_discount(&mut tx, cid, "95.00", "Goodwill: the first video call dropped.").await?;
        }
        let state = states[i % states.len()];
        let assigned = created + Duration::minutes(40);
        let started = created + Duration::hours(2);
        let ended = started + Duration::minutes(25);
        if state != "ready_for_pickup" && state != "cancelled" {
            sqlx::query("UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = $3 WHERE id = $1")
                .bind(cid)
                .bind(doctor)
                .bind(assigned)
                .execute(tx.conn())
                .await?;
        }
        if state == "in_progress" || state == "completed" {
            sqlx::query("UPDATE consultations SET state = 'in_progress', starts_at = $2 WHERE id = $1")
                .bind(cid)
                .bind(started)
                .execute(tx.conn())
                .await?;
            sqlx::query("INSERT INTO meeting_rooms (consultation_id, provider, room_name) VALUES ($1, 'demo', $2)")
                .bind(cid)
                .bind(digimed_core::meetings::random_room_name())
                .execute(tx.conn())
                .await?;
        }
        if state == "completed" {
            sqlx::query("UPDATE consultations SET state = 'completed', ends_at = $2 WHERE id = $1")
                .bind(cid)
                .bind(ended)
                .execute(tx.conn())
                .await?;
            digimed_core::results::file_as_owner(
                &mut tx,
                vault,
                cid,
                doctor,
                &digimed_core::results::ResultInput {
                    icpc2: "R74".into(),
                    outcome: "helped".into(),
                    patient_job_description: Some("Teacher".into()),
                    notes: Some("Sore throat and cough for three days, no fever. Advised rest and fluids.".into()),
                    policy_number: Some("4410029381".into()),
                    ..Default::default()
                },
            )
            .await?;
        }
        if state == "cancelled" {
            sqlx::query("UPDATE consultations SET state = 'cancelled', cancelled_at = $2, cancel_reason = 'Patient recovered before the call' WHERE id = $1")
                .bind(cid).bind(assigned).execute(tx.conn()).await?;
        }
    }
    // Referrals waiting for screening, some called already.
    for (i, (p, hours_ago, calls)) in AWAITING.iter().enumerate() {
        let received = now - Duration::hours(*hours_ago);
        let (_, referral_id) =
            referral_of(&mut tx, vault, p, 200 + i as u16, partner_id, oslo, received, received + Duration::days(2)).await?;
        for (called, outcome, note) in calls.iter() {
            screening_call(&mut tx, vault, referral_id, secretary, now - Duration::hours(*called), outcome, *note).await?;
        }
    }
    seed_walk_ins(&mut tx, vault, oslo, doctors.get(1).copied().unwrap_or(doctors[0])).await?;
    seed_leads(&mut tx, vault, oslo, bergen, insurer).await?;
    tx.commit().await?;
    seed_fax(owner, vault, oslo).await?;
    Ok(secret)
}

/// One referral fax waiting in the Oslo clinic's fax inbox, as the fax provider would file it.
async fn seed_fax(owner: &PgPool, vault: &Vault, oslo: i32) -> Result<()> {
    let fax = digimed_core::faxes::ReceivedFax {
        fax_id: "demo-fax-0001".to_string(),
        from: "+4722990011".to_string(),
        media_url: "https://fax.example.invalid/demo-fax-0001.pdf".to_string(),
        page_count: Some(1),
        occurred_at: Some(Utc::now() - Duration::hours(2)),
    };
    let pdf = sample_fax_pdf(&[
        "REFERRAL (demo)",
        "From: Dr. Demo Legesen, Demo Legekontor",
        "Patient: Ola Fakstest, born 01.02.1980",
        "Phone: +47 900 11 222",
        "Reason: persistent lower back pain, please assess.",
    ]);
    let tx = ClinicTx::begin(owner).await?;
    digimed_core::faxes::receive(tx, vault, oslo, &fax, "47", async move || Ok(pdf)).await?;
    Ok(())
}

/// A small, valid one-page PDF with `lines` of text (ASCII) in Helvetica: the synthetic referral
/// faxes of the demo and the tests.
pub fn sample_fax_pdf(lines: &[&str]) -> Vec<u8> {
    let mut text = String::from("BT /F1 14 Tf 72 770 Td 20 TL");
    for line in lines {
        let escaped: String = line
            .chars()
            .filter(char::is_ascii)
            .flat_map(|c| match c {
                '(' | ')' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        text.push_str(&format!(" ({escaped}) Tj T*"));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// A referred person of the Oslo clinic and the partner's referral for them, received at
/// `received` with the deadline given; returns the person's and the referral's ids.
#[allow(clippy::too_many_arguments)]
async fn referral_of(
    tx: &mut ClinicTx,
    vault: &Vault,
    p: &DemoPerson,
    seq: u16,
    partner_id: i32,
    oslo: i32,
    received: chrono::DateTime<Utc>,
    deadline: chrono::DateTime<Utc>,
) -> Result<(i32, i32)> {
    let born = NaiveDate::from_ymd_opt(p.born.0, p.born.1, p.born.2).ok_or_else(|| Error::internal("demo date"))?;
    let nid = (0u16..200)
        .find_map(|k| NationalId::synthetic(born, seq + k * 7))
        .ok_or_else(|| Error::internal("no synthetic national id for a demo person"))?;
    let name = PersonName::parse(p.name).map_err(|_| Error::internal("demo name"))?;
    let phone = Phone::parse(p.phone, "47").map_err(|_| Error::internal("demo phone"))?;
    let user_id: Option<i32> = match p.email {
        Some(e) => Some(
            sqlx::query_scalar("INSERT INTO users (email, username, account_directory) VALUES ($1, $1, 'local') RETURNING id")
                .bind(e)
                .fetch_one(tx.conn())
                .await?,
        ),
        None => None,
    };
    let person = create_person(
        tx,
        vault,
        NewPerson {
            name: &name,
            user_id,
            date_of_birth: None,
            national_id: Some(&nid),
            phone: Some(&phone),
            status: PersonStatus::Active,
            source_partner_id: Some(partner_id),
        },
    )
    .await?;
    link_patient(tx, person, oslo, EntryPoint::PartnerReferral, true).await?;
    if let Some(u) = user_id {
        sqlx::query("INSERT INTO user_organizations (user_id, organization_id) VALUES ($1, $2)")
            .bind(u)
            .bind(oslo)
            .execute(tx.conn())
            .await?;
    }
    let referral_id: i32 =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('referrals', 'id'))::int").fetch_one(tx.conn()).await?;
    let guid = uuid::Uuid::new_v4();
    let payload = serde_json::json!({
        "JournalGuid": guid, "PID": nid.as_str(), "FormatId": "http://ehelse.no/xmlstds/henvisning/2017-11-30",
        "MessageTimestamp": received, "Firstname": name.split_first_last().0, "Lastname": name.split_first_last().1,
        "Email": p.email, "PhoneNumber": phone.as_str(),
    });
    sqlx::query(
        "INSERT INTO referrals (id, partner_id, journal_guid, patient_person_id, format_id, message_timestamp, payload_encrypted,
                                received_at, deadline_at)
         VALUES ($1, $2, $3, $4, 'http://ehelse.no/xmlstds/henvisning/2017-11-30', $5, $6, $5, $7)",
    )
    .bind(referral_id)
    .bind(partner_id)
    .bind(guid)
    .bind(person)
    .bind(received)
    .bind(vault.encrypt("referrals", "payload_encrypted", referral_id as i64, &payload.to_string())?)
    .bind(deadline)
    .execute(tx.conn())
    .await?;
    Ok((person, referral_id))
}

/// A secretary's call about a referral, at `at`, with its outcome and an optional note; the first
/// makes the secretary the referral's supervisor.
async fn screening_call(
    tx: &mut ClinicTx,
    vault: &Vault,
    referral_id: i32,
    secretary: i32,
    at: chrono::DateTime<Utc>,
    outcome: &str,
    note: Option<&str>,
) -> Result<()> {
    let id: i32 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('consultation_screenings', 'id'))::int")
        .fetch_one(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO consultation_screenings (id, referral_id, staff_id, kind, call_outcome, note_encrypted, created_at)
         VALUES ($1, $2, $3, 'call_attempt', $4, $5, $6)",
    )
    .bind(id)
    .bind(referral_id)
    .bind(secretary)
    .bind(outcome)
    .bind(note.map(|n| vault.encrypt("consultation_screenings", "note_encrypted", i64::from(id), n)).transpose()?)
    .bind(at)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE referrals SET supervisor_staff_id = $2 WHERE id = $1 AND supervisor_staff_id IS NULL")
        .bind(referral_id)
        .bind(secretary)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Where the clinics and the insurer partner serve patients (postcode prefixes: Oslo's clinic the
/// 0xxx and 1xxx areas, the insurer partner of Oslo's clinic Bergen's 50xx, Bergen's clinic the
/// 5xxx area), and leads the call tracking filed at Oslo's clinic after a call of a few minutes:
/// an adult whose national id is on record, a caller it knew no name for, and a minor.
async fn seed_leads(tx: &mut ClinicTx, vault: &Vault, oslo: i32, bergen: i32, insurer: i32) -> Result<()> {
    for (org, prefix) in [(oslo, "0"), (oslo, "1"), (insurer, "50"), (bergen, "5")] {
        sqlx::query("INSERT INTO organization_coverage (organization_id, postcode_prefix) VALUES ($1, $2)")
            .bind(org)
            .bind(prefix)
            .execute(tx.conn())
            .await?;
    }
    let leads = [
        ("Kristin Hovland", Some((1978, 9, 14)), "+47 413 50 001", "CAL-DEMO-0001", 2i64, 184),
        (digimed_core::cold_calls::UNKNOWN_CALLER, None, "+47 413 50 002", "CAL-DEMO-0002", 5, 95),
        ("Oskar Lien", Some((2011, 3, 30)), "+47 413 50 003", "CAL-DEMO-0003", 26, 240),
    ];
    for (i, (name, born, phone, call_id, hours_ago, seconds)) in leads.into_iter().enumerate() {
        let nid = match born {
            Some((y, m, d)) => {
                let born = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| Error::internal("demo date"))?;
                let first = if y >= 2000 { 500 } else { 100 };
                Some(
                    (0u16..200)
                        .find_map(|k| NationalId::synthetic(born, first + k * 7 + i as u16))
                        .ok_or_else(|| Error::internal("no synthetic national id for a demo person"))?,
                )
            }
            None => None,
        };
        let person_name = PersonName::parse(name).map_err(|_| Error::internal("demo name"))?;
        let phone = Phone::parse(phone, "47").map_err(|_| Error::internal("demo phone"))?;
        let person = create_person(
            tx,
            vault,
            NewPerson {
                name: &person_name,
                user_id: None,
                date_of_birth: None,
                national_id: nid.as_ref(),
                phone: Some(&phone),
                status: PersonStatus::Active,
                source_partner_id: None,
            },
        )
        .await?;
        let when = Utc::now() - Duration::hours(hours_ago);
        let patient = link_patient(tx, person, oslo, EntryPoint::ColdCall, true).await?;
        sqlx::query("UPDATE patients SET created_at = $2, updated_at = $2 WHERE id = $1")
            .bind(patient)
            .bind(when)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO tracked_calls (call_id, organization_id, phone_index, duration_seconds, answered, started_at, patient_person_id, received_at)
             VALUES ($1, $2, $3, $4, true, $5, $6, $5 + make_interval(secs => $4))",
        )
        .bind(call_id)
        .bind(oslo)
        .bind(vault.blind_index(digimed_core::keys::index_kind::PHONE, phone.as_str()))
        .bind(seconds)
        .bind(when)
        .bind(person)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Walk-in patients onboarded at the Oslo desk, with their forms in each state: one who has
/// signed nothing yet and is booked with a doctor (whom the booking guard holds back), one half
/// way, one done.
async fn seed_walk_ins(tx: &mut ClinicTx, vault: &Vault, oslo: i32, doctor: i32) -> Result<()> {
    let walk_ins = [
        ("Mari Eriksen", (1993, 5, 17), "+47 412 34 511", "mari.eriksen@example.com", 0usize, 3i64),
        ("Lars Nilsen", (1967, 10, 2), "+47 412 34 512", "lars.nilsen@example.com", 1, 8),
        ("Emma Johansen", (2001, 2, 27), "+47 412 34 513", "emma.johansen@example.com", 2, 20),
    ];
    for (i, (name, born, phone, email, signed, days_ago)) in walk_ins.into_iter().enumerate() {
        let born = NaiveDate::from_ymd_opt(born.0, born.1, born.2).ok_or_else(|| Error::internal("demo date"))?;
        let nid = (0u16..200)
            .find_map(|k| NationalId::synthetic(born, 300 + k * 7 + i as u16))
            .ok_or_else(|| Error::internal("no synthetic national id for a demo person"))?;
        let person_name = PersonName::parse(name).map_err(|_| Error::internal("demo name"))?;
        let phone = Phone::parse(phone, "47").map_err(|_| Error::internal("demo phone"))?;
        let user_id: i32 =
            sqlx::query_scalar("INSERT INTO users (email, username, account_directory) VALUES ($1, $1, 'local') RETURNING id")
                .bind(email)
                .fetch_one(tx.conn())
                .await?;
        let person = create_person(
            tx,
            vault,
            NewPerson {
                name: &person_name,
                user_id: Some(user_id),
                date_of_birth: None,
                national_id: Some(&nid),
                phone: Some(&phone),
                status: PersonStatus::Active,
                source_partner_id: None,
            },
        )
        .await?;
        let patient = link_patient(tx, person, oslo, EntryPoint::WalkIn, true).await?;
        sqlx::query("INSERT INTO user_organizations (user_id, organization_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(oslo)
            .execute(tx.conn())
            .await?;
        let forms = digimed_core::automation::run_patient_onboarded(tx, oslo, patient, true).await?;
        let when = Utc::now() - Duration::days(days_ago);
        sqlx::query("UPDATE forms SET created_at = $2 WHERE patient_id = $1").bind(patient).bind(when).execute(tx.conn()).await?;
        for form in forms.iter().take(signed) {
            sqlx::query(
                "UPDATE forms f SET status = 'signed', signed_at = $2, signed_by = 'patient', signed_template_sha256 = v.body_sha256
                   FROM form_template_versions v WHERE v.id = f.template_version_id AND f.id = $1",
            )
            .bind(form.form_id)
            .bind(when + Duration::hours(1))
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "INSERT INTO consents (patient_id, form_id, consent_type, granted_at)
                 SELECT $1, $2, c, $3 FROM unnest($4::text[]) c",
            )
            .bind(patient)
            .bind(form.form_id)
            .bind(when + Duration::hours(1))
            .bind(&form.consent_types)
            .execute(tx.conn())
            .await?;
        }
        if signed == 0 {
            // Booked with a doctor; the first consultation waits for the forms.
            let cid: i32 = sqlx::query_scalar(
                "INSERT INTO consultations (patient_person_id, organization_id, category, created_at)
                 VALUES ($1, $2, 'direct', now() - interval '1 hour') RETURNING id",
            )
            .bind(person)
            .bind(oslo)
            .fetch_one(tx.conn())
            .await?;
            sqlx::query("UPDATE consultations SET state = 'pending_sp', assigned_doctor_id = $2, assigned_at = now() - interval '50 minutes' WHERE id = $1")
                .bind(cid)
                .bind(doctor)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}
