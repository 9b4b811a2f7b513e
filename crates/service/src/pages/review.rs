//! `/review/{token}`: the patient rates a completed consultation from 1 to 5, with an optional
//! comment, once (`reviews::submit`).
//!
//! Answers: 200 with the form (or, once answered, "already received"); 404 "this link is not
//! valid"; on POST 200 "thank you", 409 "already received" (nothing written), 422 the form with
//! the error next to the field (nothing written), 400 the form again when its form key is missing
//! or too old, 403 when posted from another site.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digimed_core::preferences::Language;
use digimed_core::reviews::{self, ReviewAnswer, ReviewLink, COMMENT_MAX_CHARS};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};
use maud::html;

use super::text::{date, texts};
use super::{
    chosen_language, error_summary, form_key, form_key_valid, invalid_link, is_failure, layout, link_or_page, message_page,
    now_secs, page, posted_to_link, server_error, LangQuery,
};
use crate::AppState;

const PAGE: &str = "review";

async fn find(state: &AppState, token: &str) -> Result<Option<ReviewLink>, Error> {
    ClinicTx::run(&state.pool, async |tx| reviews::find(tx, token).await).await
}

/// The review page of a completed consultation: rate it once.
#[utoipa::path(get, path = "/review/{token}", operation_id = "show_review_page", tag = "public pages",
    params(("token" = String, Path, description = "The link's token."), LangQuery),
    responses(super::PageAnswers))]
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let chosen = chosen_language(q.lang.as_deref());
    match link_or_page(find(&state, &token).await, chosen, &headers) {
        Err(page) => *page,
        Ok(link) => {
            let lang = chosen.unwrap_or(link.language);
            if link.answered {
                already(lang, StatusCode::OK)
            } else {
                form(&state, &token, &link, lang, &Entered::default(), None, StatusCode::OK)
            }
        }
    }
}

/// Saves the patient's rating.
#[utoipa::path(post, path = "/review/{token}", operation_id = "answer_review_page", tag = "public pages",
    params(("token" = String, Path, description = "The link's token.")),
    request_body(content = super::PageForm, content_type = "application/x-www-form-urlencoded"),
    responses(super::PageAnswers))]
pub async fn answer(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (fields, chosen, link) = match posted_to_link(&headers, &body, find(&state, &token)).await {
        Ok(posted) => posted,
        Err(page) => return *page,
    };
    let lang = chosen.unwrap_or(link.language);
    if link.answered {
        return already(lang, StatusCode::CONFLICT);
    }
    let entered =
        Entered { rating: fields.get("rating").map(str::to_string), comment: fields.get("comment").unwrap_or("").to_string() };
    if !form_key_valid(&state.vault, PAGE, &token, fields.get("form_key"), now_secs()) {
        return form(&state, &token, &link, lang, &entered, Some(Problem::Expired), StatusCode::BAD_REQUEST);
    }
    let parsed = match ReviewAnswer::parse(entered.rating.as_deref(), Some(&entered.comment)) {
        Ok(a) => a,
        Err(e) => {
            let problem = match e.field.as_deref() {
                Some("comment") if entered.comment.trim().chars().count() > COMMENT_MAX_CHARS => Problem::CommentTooLong,
                Some("comment") => Problem::CommentCharacters,
                _ => Problem::Rating,
            };
            return form(&state, &token, &link, lang, &entered, Some(problem), StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let acting = Acting::Party { acting_for: format!("review-link:{}", link.consultation_id) };
    match ClinicTx::run_acting(&state.pool, &acting, async |tx| reviews::submit(tx, &token, &parsed).await).await {
        Ok(_) => {
            let t = texts(lang);
            message_page(lang, StatusCode::OK, t.thanks_title, &[t.thanks_body])
        }
        Err(e) if e.code == ErrorCode::AlreadyExists => already(lang, StatusCode::CONFLICT),
        Err(e) if e.code == ErrorCode::NotFound => invalid_link(lang),
        Err(e) if !is_failure(&e) => {
            form(&state, &token, &link, lang, &entered, Some(Problem::Rating), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => server_error(lang, &e),
    }
}

fn already(lang: Language, status: StatusCode) -> Response {
    let t = texts(lang);
    message_page(lang, status, t.already_title, &[t.already_body])
}

/// What the patient entered, shown again with an error.
#[derive(Default)]
struct Entered {
    rating: Option<String>,
    comment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Problem {
    Rating,
    CommentTooLong,
    CommentCharacters,
    Expired,
}

fn form(
    state: &AppState,
    token: &str,
    link: &ReviewLink,
    lang: Language,
    entered: &Entered,
    problem: Option<Problem>,
    status: StatusCode,
) -> Response {
    let t = texts(lang);
    let key = form_key(&state.vault, PAGE, token, now_secs());
    let intro = match (&link.doctor_first_name, link.consulted_on) {
        (Some(name), Some(day)) => {
            format!("{} {} {name} {} {}.", t.review_intro_with, t.doctor_prefix, t.review_intro_on, date(lang, day))
        }
        (Some(name), None) => format!("{} {} {name}.", t.review_intro_with, t.doctor_prefix),
        _ => t.review_intro_plain.to_string(),
    };
    let rating_error = (problem == Some(Problem::Rating)).then_some(t.rating_error);
    let comment_error = match problem {
        Some(Problem::CommentTooLong) => Some(t.comment_error_long),
        Some(Problem::CommentCharacters) => Some(t.comment_error_chars),
        _ => None,
    };
    let mut problems: Vec<(&str, &str)> = Vec::new();
    if let Some(m) = rating_error {
        problems.push(("rating-1", m));
    }
    if let Some(m) = comment_error {
        problems.push(("comment", m));
    }
    let comment_described = if comment_error.is_some() { "comment-hint comment-error" } else { "comment-hint" };
    let main = html! {
        h1 { (t.review_heading) }
        p.lead { (intro) }
        @if problem == Some(Problem::Expired) {
            div.error-summary role="alert" { p { (t.form_expired) } }
        }
        @if !problems.is_empty() { (error_summary(t, &problems)) }
        form method="post" novalidate {
            input type="hidden" name="lang" value=(lang.as_str());
            input type="hidden" name="form_key" value=(key);
            fieldset.has-error[rating_error.is_some()] aria-describedby=[rating_error.map(|_| "rating-error")] {
                legend { (t.rating_legend) }
                @if let Some(m) = rating_error { p #rating-error .error-message { (m) } }
                div.choices {
                    @for (i, label) in t.rating_labels.iter().enumerate() {
                        @let value = (i + 1).to_string();
                        label.choice for=(format!("rating-{value}")) {
                            input type="radio" id=(format!("rating-{value}")) name="rating" value=(value)
                                checked[entered.rating.as_deref() == Some(value.as_str())];
                            span { (label) }
                        }
                    }
                }
            }
            div.field.has-error[comment_error.is_some()] {
                label for="comment" { (t.comment_label) }
                p #comment-hint .hint { (t.comment_hint) }
                @if let Some(m) = comment_error { p #comment-error .error-message { (m) } }
                textarea #comment name="comment" rows="5" maxlength=(COMMENT_MAX_CHARS)
                    aria-describedby=(comment_described) aria-invalid=[comment_error.map(|_| "true")] { (entered.comment) }
            }
            button.button type="submit" { (t.review_submit) }
        }
        p.small { (t.review_privacy) }
    };
    let has_error = problem.is_some();
    page(status, layout(t, t.review_page_title, has_error, main))
}
