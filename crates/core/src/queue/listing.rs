//! Reading the queue: the open consultations of the acting staff member's clinic, one
//! consultation, and a patient's consultations.

use chrono::Utc;

use super::{Consultation, ConsultationRow, ConsultationState, QueueFilter, QueueSort};
use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::patients::EntryPoint;

/// Open consultations of the acting staff member's clinic.
pub async fn list(tx: &mut ClinicTx, filter: &QueueFilter) -> Result<Vec<Consultation>> {
    tx.require(Capability::ReadQueue)?;
    if let Some(s) = filter.states.iter().find(|s| !s.is_open()) {
        return Err(Error::field(
            ErrorCode::InvalidInput,
            "states",
            format!("The queue shows open consultations only, not {} ones.", s.label()),
        ));
    }
    let states: Vec<String> = if filter.states.is_empty() {
        ConsultationState::open_names()
    } else {
        filter.states.iter().map(|s| s.as_str().to_string()).collect()
    };
    let sort = match filter.sort {
        QueueSort::WaitingLongest => "waiting_longest",
        QueueSort::WaitingShortest => "waiting_shortest",
        QueueSort::Deadline => "deadline",
    };
    // `queue_list` applies the clinic's row-level rule to the whole set (see its migration).
    let rows = sqlx::query_as!(
        ConsultationRow,
        r#"SELECT id AS "id!", state AS "state!: ConsultationState", patient_person_id AS "patient_person_id!",
                  organization_id AS "organization_id!", partner_id, referral_id, follow_up_of, category AS "category!",
                  assigned_doctor_id, primary_channel AS "primary_channel!", enabled_channels AS "enabled_channels!",
                  created_at AS "created_at!", deadline_at, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason,
                  patient_name, partner_name, doctor_name, entry_point AS "entry_point: EntryPoint"
             FROM queue_list($1, $2, $3, $4, $5, $6, $7)"#,
        &states,
        filter.assigned_doctor_id,
        filter.unassigned_only,
        filter.partner_id,
        sort,
        filter.limit.unwrap_or(50).clamp(1, 500),
        filter.offset.unwrap_or(0).max(0),
    )
    .fetch_all(tx.conn())
    .await?;
    let now = Utc::now();
    Ok(rows.into_iter().map(|r| r.into_consultation(now)).collect())
}

/// One consultation the actor may see, with the names a list shows (`consultations_listed`).
async fn named_one(tx: &mut ClinicTx, id: i32) -> Result<Option<Consultation>> {
    let row = sqlx::query_as!(
        ConsultationRow,
        r#"SELECT id AS "id!", state AS "state!: ConsultationState", patient_person_id AS "patient_person_id!",
                  organization_id AS "organization_id!", partner_id, referral_id, follow_up_of, category AS "category!",
                  assigned_doctor_id, primary_channel AS "primary_channel!", enabled_channels AS "enabled_channels!",
                  created_at AS "created_at!", deadline_at, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason,
                  patient_name, partner_name, doctor_name, entry_point AS "entry_point: EntryPoint"
             FROM consultations_listed WHERE id = $1"#,
        id,
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| r.into_consultation(Utc::now())))
}

/// One consultation the actor may see.
pub async fn get(tx: &mut ClinicTx, id: i32) -> Result<Consultation> {
    tx.require(Capability::ReadQueue)?;
    read_one(tx, id).await
}

/// One consultation, as lists show it (the operations that change one answer with it).
pub(crate) async fn read_one(tx: &mut ClinicTx, id: i32) -> Result<Consultation> {
    named_one(tx, id).await?.ok_or_else(|| Error::not_found("The consultation"))
}

/// A patient's consultations at the actor's clinic, newest first (the doctor's view of the
/// patient's history).
pub async fn history(tx: &mut ClinicTx, patient_person_id: i32) -> Result<Vec<Consultation>> {
    tx.require(Capability::ReadQueue)?;
    let rows = sqlx::query_as!(
        ConsultationRow,
        r#"SELECT id AS "id!", state AS "state!: ConsultationState", patient_person_id AS "patient_person_id!",
                  organization_id AS "organization_id!", partner_id, referral_id, follow_up_of, category AS "category!",
                  assigned_doctor_id, primary_channel AS "primary_channel!", enabled_channels AS "enabled_channels!",
                  created_at AS "created_at!", deadline_at, assigned_at, starts_at, ends_at, cancelled_at, cancel_reason,
                  patient_name, partner_name, doctor_name, entry_point AS "entry_point: EntryPoint"
             FROM consultations_listed WHERE patient_person_id = $1
            ORDER BY created_at DESC, id DESC LIMIT 500"#,
        patient_person_id,
    )
    .fetch_all(tx.conn())
    .await?;
    let now = Utc::now();
    Ok(rows.into_iter().map(|r| r.into_consultation(now)).collect())
}
