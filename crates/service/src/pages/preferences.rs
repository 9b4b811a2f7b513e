//! `/preferences/{token}`: the patient chooses e-mail and/or SMS for service messages (at least
//! one) and opts in or out of marketing (`preferences::save`, audited).
//!
//! Answers: 200 with the form (after a POST, with "your choices are saved"); 404 "this link is
//! not valid"; 422 the form with the error next to the field (nothing written); 400 the form again
//! when its form key is missing or too old; 403 when posted from another site.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digimed_core::preferences::{self, Language, PreferenceChoice, Preferences};
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};
use maud::html;

use super::text::texts;
use super::{
    chosen_language, error_summary, form_key, form_key_valid, invalid_link, is_failure, layout, link_or_page, now_secs, page,
    posted_to_link, server_error, LangQuery,
};
use crate::AppState;

const PAGE: &str = "preferences";

async fn find(state: &AppState, token: &str) -> Result<Option<Preferences>, Error> {
    ClinicTx::run(&state.pool, async |tx| preferences::find(tx, token).await).await
}

/// What the form shows: the choices as they stand, or as the patient just sent them.
struct Shown {
    email: bool,
    sms: bool,
    /// `Some(true)`: news and offers wanted.
    marketing: Option<bool>,
}

impl Shown {
    fn of(p: &Preferences) -> Shown {
        Shown { email: p.email_allowed, sms: p.sms_allowed, marketing: Some(!p.marketing_opt_out) }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Shown,
    Saved,
    NoChannel,
    NoMarketingChoice,
    Expired,
}

/// The patient's contact preferences: how the clinic may reach them.
#[utoipa::path(get, path = "/preferences/{token}", operation_id = "show_preferences_page", tag = "public pages",
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
        Ok(p) => form(&state, &token, chosen.unwrap_or(p.language), &Shown::of(&p), Outcome::Shown, StatusCode::OK),
    }
}

/// Saves the patient's contact preferences.
#[utoipa::path(post, path = "/preferences/{token}", operation_id = "save_preferences_page", tag = "public pages",
    params(("token" = String, Path, description = "The link's token.")),
    request_body(content = super::PageForm, content_type = "application/x-www-form-urlencoded"),
    responses(super::PageAnswers))]
pub async fn save(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (fields, chosen, current) = match posted_to_link(&headers, &body, find(&state, &token)).await {
        Ok(posted) => posted,
        Err(page) => return *page,
    };
    let lang = chosen.unwrap_or(current.language);
    let ticked = |name: &str| fields.get(name).is_some_and(|v| !v.is_empty());
    let marketing = fields.get("marketing");
    let sent = Shown {
        email: ticked("email"),
        sms: ticked("sms"),
        marketing: match marketing {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
    };
    if !form_key_valid(&state.vault, PAGE, &token, fields.get("form_key"), now_secs()) {
        return form(&state, &token, lang, &sent, Outcome::Expired, StatusCode::BAD_REQUEST);
    }
    let choice = match PreferenceChoice::parse(sent.email, sent.sms, marketing) {
        Ok(c) => c,
        Err(e) => {
            let outcome = if e.field.as_deref() == Some("channels") { Outcome::NoChannel } else { Outcome::NoMarketingChoice };
            return form(&state, &token, lang, &sent, outcome, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let acting = Acting::Party { acting_for: format!("preference-link:{}", current.person_id) };
    match ClinicTx::run_acting(&state.pool, &acting, async |tx| preferences::save(tx, &token, choice).await).await {
        Ok(p) => form(&state, &token, lang, &Shown::of(&p), Outcome::Saved, StatusCode::OK),
        Err(e) if e.code == ErrorCode::NotFound => invalid_link(lang),
        Err(e) if !is_failure(&e) => form(&state, &token, lang, &sent, Outcome::NoChannel, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => server_error(lang, &e),
    }
}

fn form(state: &AppState, token: &str, lang: Language, shown: &Shown, outcome: Outcome, status: StatusCode) -> Response {
    let t = texts(lang);
    let key = form_key(&state.vault, PAGE, token, now_secs());
    let channels_error = (outcome == Outcome::NoChannel).then_some(t.channels_error);
    let marketing_error = (outcome == Outcome::NoMarketingChoice).then_some(t.marketing_error);
    let mut problems: Vec<(&str, &str)> = Vec::new();
    if let Some(m) = channels_error {
        problems.push(("email", m));
    }
    if let Some(m) = marketing_error {
        problems.push(("marketing-yes", m));
    }
    let channels_described = if channels_error.is_some() { "channels-hint channels-error" } else { "channels-hint" };
    let main = html! {
        h1 { (t.prefs_heading) }
        p.lead { (t.prefs_intro) }
        @if outcome == Outcome::Saved {
            div.notice role="status" { (t.prefs_saved) }
        }
        @if outcome == Outcome::Expired {
            div.error-summary role="alert" { p { (t.form_expired) } }
        }
        @if !problems.is_empty() { (error_summary(t, &problems)) }
        form method="post" novalidate {
            input type="hidden" name="lang" value=(lang.as_str());
            input type="hidden" name="form_key" value=(key);
            fieldset.has-error[channels_error.is_some()] aria-describedby=(channels_described) {
                legend { (t.channels_legend) }
                p #channels-hint .hint { (t.channels_hint) }
                @if let Some(m) = channels_error { p #channels-error .error-message { (m) } }
                div.choices {
                    label.choice for="email" {
                        input type="checkbox" id="email" name="email" value="yes" checked[shown.email];
                        span { (t.channel_email) }
                    }
                    label.choice for="sms" {
                        input type="checkbox" id="sms" name="sms" value="yes" checked[shown.sms];
                        span { (t.channel_sms) }
                    }
                }
            }
            fieldset.has-error[marketing_error.is_some()] aria-describedby=[marketing_error.map(|_| "marketing-error")] {
                legend { (t.marketing_legend) }
                @if let Some(m) = marketing_error { p #marketing-error .error-message { (m) } }
                div.choices {
                    label.choice for="marketing-yes" {
                        input type="radio" id="marketing-yes" name="marketing" value="yes" checked[shown.marketing == Some(true)];
                        span { (t.marketing_yes) }
                    }
                    label.choice for="marketing-no" {
                        input type="radio" id="marketing-no" name="marketing" value="no" checked[shown.marketing == Some(false)];
                        span { (t.marketing_no) }
                    }
                }
            }
            button.button type="submit" { (t.prefs_submit) }
        }
    };
    let has_error = matches!(outcome, Outcome::NoChannel | Outcome::NoMarketingChoice | Outcome::Expired);
    page(status, layout(t, t.prefs_page_title, has_error, main))
}
