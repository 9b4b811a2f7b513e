//! Patients' reviews of their consultations (`docs/public-pages.md`). A review row is created
//! when a consultation completes, with an unguessable token; the patient answers it once on the
//! public review page (a rating from 1 to 5 and an optional comment), and admins read the ratings
//! per doctor and per partner ([`summary`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use crate::preferences::{plausible_token, Language};

/// The longest comment, in characters (the table's check says the same).
pub const COMMENT_MAX_CHARS: usize = 2000;

/// What the review page shows of a consultation: enough for the patient to know which one, and
/// nothing clinical. The doctor is named by first name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewLink {
    pub consultation_id: i32,
    /// The doctor's first name, when a doctor was assigned.
    pub doctor_first_name: Option<String>,
    /// The day the consultation ended, in Norway.
    pub consulted_on: Option<NaiveDate>,
    pub language: Language,
    /// Whether the patient already answered.
    pub answered: bool,
}

/// The patient's answer, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewAnswer {
    pub rating: i16,
    pub comment: Option<String>,
}

impl ReviewAnswer {
    /// Parses the page's answer: `rating` a whole number from 1 to 5 (field `rating`), `comment`
    /// optional, trimmed, at most [`COMMENT_MAX_CHARS`] characters (field `comment`).
    pub fn parse(rating: Option<&str>, comment: Option<&str>) -> Result<ReviewAnswer> {
        let rating = match rating.map(str::trim).filter(|r| !r.is_empty()) {
            None => return Err(Error::invalid("rating", "Choose a rating from 1 to 5.")),
            Some(r) => match r.parse::<i16>() {
                Ok(n) if (1..=5).contains(&n) => n,
                _ => return Err(Error::invalid("rating", "The rating must be a whole number from 1 to 5.")),
            },
        };
        let comment = comment.map(|c| c.trim().replace("\r\n", "\n")).filter(|c| !c.is_empty());
        if let Some(c) = &comment {
            if c.chars().count() > COMMENT_MAX_CHARS {
                return Err(Error::invalid("comment", format!("The comment can be at most {COMMENT_MAX_CHARS} characters.")));
            }
            if c.chars().any(|ch| ch.is_control() && ch != '\n' && ch != '\t') {
                return Err(Error::invalid("comment", "The comment has characters that cannot be kept."));
            }
        }
        Ok(ReviewAnswer { rating, comment })
    }
}

/// The review behind `token`, or `None` when no review has that token (nothing says whether
/// another token exists).
pub async fn find(tx: &mut ClinicTx, token: &str) -> Result<Option<ReviewLink>> {
    tx.require(Capability::AnswerReview)?;
    if !plausible_token(token) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT r.consultation_id, r.submitted_at IS NOT NULL AS "answered!",
                  s.name AS "doctor_name?",
                  (c.ends_at AT TIME ZONE 'Europe/Oslo')::date AS consulted_on,
                  p.language
             FROM consultation_reviews r
             JOIN consultations c ON c.id = r.consultation_id
             JOIN patient_persons p ON p.id = c.patient_person_id
             LEFT JOIN staff s ON s.id = c.assigned_doctor_id
            WHERE r.token = $1"#,
        token
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| ReviewLink {
        consultation_id: r.consultation_id,
        doctor_first_name: r.doctor_name.as_deref().and_then(first_name),
        consulted_on: r.consulted_on,
        language: Language::parse(&r.language).unwrap_or(Language::Nb),
        answered: r.answered,
    }))
}

/// Records the patient's answer for the review behind `token`, once. `not_found` when no review
/// has the token; `already_exists` when it was answered (nothing is written then; the database's
/// trigger `answered_once` refuses it too).
pub async fn submit(tx: &mut ClinicTx, token: &str, answer: &ReviewAnswer) -> Result<i32> {
    tx.require(Capability::AnswerReview)?;
    let Some(link) = find(tx, token).await? else {
        return Err(Error::not_found("This review link"));
    };
    if link.answered {
        return Err(already_answered());
    }
    // Two answers at once: the second waits for the first's row lock, then finds it answered.
    let recorded = sqlx::query_scalar!(
        "UPDATE consultation_reviews SET rating = $2, comment = $3, submitted_at = now()
          WHERE token = $1 AND submitted_at IS NULL
      RETURNING consultation_id",
        token,
        answer.rating,
        answer.comment.as_deref(),
    )
    .fetch_optional(tx.conn())
    .await?;
    match recorded {
        Some(id) => {
            tracing::info!(consultation_id = id, "review recorded");
            Ok(id)
        }
        None => Err(already_answered()),
    }
}

/// The first name of a staff member's name as written ("Dr. Kari Dahl" is Kari).
fn first_name(full: &str) -> Option<String> {
    let mut words = full.split_whitespace();
    let mut word = words.next()?;
    if word.trim_end_matches('.').eq_ignore_ascii_case("dr") {
        word = words.next()?;
    }
    Some(word.to_string())
}

fn already_answered() -> Error {
    Error::new(ErrorCode::AlreadyExists, "This review was already answered.")
}

/// Ratings of one doctor or one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RatingGroup {
    /// The doctor's staff id or the partner's id; `None` for consultations without one (no
    /// doctor assigned, or booked directly without a partner).
    pub id: Option<i32>,
    pub name: Option<String>,
    /// Reviews answered.
    pub answered: i32,
    /// The mean rating, 1 to 5.
    pub average: f64,
    /// How many gave 1, 2, 3, 4 and 5.
    pub ratings: Vec<i32>,
}

/// A comment a patient wrote, with what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewComment {
    pub consultation_id: i32,
    pub submitted_at: DateTime<Utc>,
    pub rating: i16,
    pub comment: String,
    pub doctor_name: Option<String>,
    pub partner_name: Option<String>,
}

/// The ratings an admin sees: of their clinic (the owner: of every clinic).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReviewSummary {
    pub answered: i32,
    /// Review links sent and not (yet) answered.
    pub unanswered: i32,
    /// The mean of every answered rating; `None` before the first.
    pub average: Option<f64>,
    pub by_doctor: Vec<RatingGroup>,
    pub by_partner: Vec<RatingGroup>,
    /// The newest comments, newest first.
    pub latest_comments: Vec<ReviewComment>,
}

/// How many of the newest comments [`summary`] returns.
pub const LATEST_COMMENTS: i64 = 20;

/// Ratings per doctor and per partner, and the newest comments (admins, the owner).
pub async fn summary(tx: &mut ClinicTx) -> Result<ReviewSummary> {
    tx.require(Capability::ReadReviews)?;
    let totals = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE r.submitted_at IS NOT NULL)::int AS "answered!",
                  count(*) FILTER (WHERE r.submitted_at IS NULL)::int AS "unanswered!",
                  avg(r.rating) FILTER (WHERE r.submitted_at IS NOT NULL)::float8 AS average
             FROM consultation_reviews r"#
    )
    .fetch_one(tx.conn())
    .await?;
    let by_doctor = sqlx::query!(
        r#"SELECT s.id AS "id?", s.name AS "name?", count(*)::int AS "answered!", avg(r.rating)::float8 AS "average!",
                  array[count(*) FILTER (WHERE r.rating = 1), count(*) FILTER (WHERE r.rating = 2),
                        count(*) FILTER (WHERE r.rating = 3), count(*) FILTER (WHERE r.rating = 4),
                        count(*) FILTER (WHERE r.rating = 5)]::int[] AS "ratings!"
             FROM consultation_reviews r
             JOIN consultations c ON c.id = r.consultation_id
             LEFT JOIN staff s ON s.id = c.assigned_doctor_id
            WHERE r.submitted_at IS NOT NULL
            GROUP BY s.id, s.name
            ORDER BY s.name NULLS LAST, s.id"#
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| RatingGroup { id: r.id, name: r.name, answered: r.answered, average: r.average, ratings: r.ratings })
    .collect();
    let by_partner = sqlx::query!(
        r#"SELECT p.id AS "id?", p.name AS "name?", count(*)::int AS "answered!", avg(r.rating)::float8 AS "average!",
                  array[count(*) FILTER (WHERE r.rating = 1), count(*) FILTER (WHERE r.rating = 2),
                        count(*) FILTER (WHERE r.rating = 3), count(*) FILTER (WHERE r.rating = 4),
                        count(*) FILTER (WHERE r.rating = 5)]::int[] AS "ratings!"
             FROM consultation_reviews r
             JOIN consultations c ON c.id = r.consultation_id
             LEFT JOIN partners p ON p.id = c.partner_id
            WHERE r.submitted_at IS NOT NULL
            GROUP BY p.id, p.name
            ORDER BY p.name NULLS LAST, p.id"#
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| RatingGroup { id: r.id, name: r.name, answered: r.answered, average: r.average, ratings: r.ratings })
    .collect();
    let latest_comments = sqlx::query_as!(
        ReviewComment,
        r#"SELECT r.consultation_id, r.submitted_at AS "submitted_at!", r.rating AS "rating!", r.comment AS "comment!",
                  s.name AS "doctor_name?", p.name AS "partner_name?"
             FROM consultation_reviews r
             JOIN consultations c ON c.id = r.consultation_id
             LEFT JOIN staff s ON s.id = c.assigned_doctor_id
             LEFT JOIN partners p ON p.id = c.partner_id
            WHERE r.submitted_at IS NOT NULL AND r.comment IS NOT NULL
            ORDER BY r.submitted_at DESC, r.consultation_id DESC
            LIMIT $1"#,
        LATEST_COMMENTS
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(ReviewSummary {
        answered: totals.answered,
        unanswered: totals.unanswered,
        average: totals.average,
        by_doctor,
        by_partner,
        latest_comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctors_are_named_by_first_name() {
        assert_eq!(first_name("Dr. Kari Dahl").as_deref(), Some("Kari"));
        assert_eq!(first_name("dr Anders Moe").as_deref(), Some("Anders"));
        assert_eq!(first_name("Ingrid").as_deref(), Some("Ingrid"));
        assert_eq!(first_name("Dr."), None);
        assert_eq!(first_name("  "), None);
    }

    #[test]
    fn answers_parse_or_name_their_field() {
        assert_eq!(
            ReviewAnswer::parse(Some("4"), Some("  Fint  ")).unwrap(),
            ReviewAnswer { rating: 4, comment: Some("Fint".into()) }
        );
        assert_eq!(ReviewAnswer::parse(Some("5"), Some("   ")).unwrap().comment, None);
        for bad in [None, Some(""), Some("0"), Some("6"), Some("4.5"), Some("x")] {
            assert_eq!(ReviewAnswer::parse(bad, None).unwrap_err().field.as_deref(), Some("rating"), "{bad:?}");
        }
        let long = "ø".repeat(COMMENT_MAX_CHARS + 1);
        assert_eq!(ReviewAnswer::parse(Some("3"), Some(&long)).unwrap_err().field.as_deref(), Some("comment"));
        assert!(ReviewAnswer::parse(Some("3"), Some(&"ø".repeat(COMMENT_MAX_CHARS))).is_ok());
        assert_eq!(ReviewAnswer::parse(Some("3"), Some("a\u{0}b")).unwrap_err().field.as_deref(), Some("comment"));
    }
}
