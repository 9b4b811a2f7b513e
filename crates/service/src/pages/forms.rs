//! `/forms/{token}`: the patient reads their consent forms and signs or declines each pending one
//! (`forms::for_link`, `forms::answer_from_link`). The token is the person's communication-preference
//! token, the one the forms invitation carries.
//!
//! Answers: 200 with the forms (after a POST, with "signed: …" or "declined: …"); 404 "this link
//! is not valid" (also for a form that is not the link holder's); 422 the page with the error next
//! to the form whose box was not ticked (nothing written); 409 the page as it stands when the form
//! was already answered, or its text changed since it was shown (nothing written); 400 the page
//! again when its form key is missing or too old; 403 when posted from another site.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digimed_core::forms::{self, LinkAnswer, LinkForm, LinkForms};
use digimed_core::preferences::Language;
use digimed_core::{Acting, ClinicTx, Error, ErrorCode};
use maud::{html, Markup};

use super::text::{date, texts, Texts};
use super::{
    chosen_language, error_summary, form_key, form_key_valid, invalid_link, layout, link_or_page, now_secs, page, posted_to_link,
    server_error, LangQuery,
};
use crate::AppState;

const PAGE: &str = "forms";

async fn find(state: &AppState, token: &str) -> Result<Option<LinkForms>, Error> {
    ClinicTx::run(&state.pool, async |tx| forms::for_link(tx, token).await).await
}

/// What the page says above the forms.
#[derive(Clone, PartialEq, Eq)]
enum Outcome {
    Shown,
    Signed(String),
    Declined(String),
    /// The box "I have read the form and I agree" of this form was not ticked.
    NotAgreed(i32),
    /// This form's text changed since the page was shown.
    Changed(i32),
    /// The form had been signed or declined already.
    AlreadyAnswered,
    Expired,
}

/// The patient's consent forms: read, sign or decline.
#[utoipa::path(get, path = "/forms/{token}", operation_id = "show_forms_page", tag = "public pages",
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
        Ok(f) => render(&state, &token, chosen.unwrap_or(f.language), &f, &Outcome::Shown, StatusCode::OK),
    }
}

/// Signs or declines a form.
///
/// The fields: `form_id`, `action` (`sign` or `decline`), and for signing `agree` and the
/// `template_sha256` of the text shown.
#[utoipa::path(post, path = "/forms/{token}", operation_id = "sign_on_forms_page", tag = "public pages",
    params(("token" = String, Path, description = "The link's token.")),
    request_body(content = super::PageForm, content_type = "application/x-www-form-urlencoded"),
    responses(super::PageAnswers))]
pub async fn answer(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let (fields, chosen, current) = match posted_to_link(&headers, &body, find(&state, &token)).await {
        Ok(posted) => posted,
        Err(page) => return *page,
    };
    let lang = chosen.unwrap_or(current.language);
    if !form_key_valid(&state.vault, PAGE, &token, fields.get("form_key"), now_secs()) {
        return render(&state, &token, lang, &current, &Outcome::Expired, StatusCode::BAD_REQUEST);
    }
    let Some(form) = fields
        .get("form_id")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .and_then(|id| current.forms.iter().find(|f| f.form_id == id))
    else {
        return invalid_link(lang);
    };
    let answer = match fields.get("action") {
        Some("sign") if fields.get("agree") == Some("yes") => {
            LinkAnswer::Sign { template_sha256: fields.get("template_sha256").unwrap_or("") }
        }
        Some("decline") => LinkAnswer::Decline,
        _ => {
            let outcome = Outcome::NotAgreed(form.form_id);
            return render(&state, &token, lang, &current, &outcome, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let (form_id, title) = (form.form_id, form.title.clone());
    let acting = Acting::Party { acting_for: format!("forms-link:{}", current.person_id) };
    let answered =
        ClinicTx::run_acting(&state.pool, &acting, async |tx| forms::answer_from_link(tx, &token, form_id, answer).await);
    let (outcome, status) = match answered.await {
        Ok(_) => match answer {
            LinkAnswer::Sign { .. } => (Outcome::Signed(title), StatusCode::OK),
            LinkAnswer::Decline => (Outcome::Declined(title), StatusCode::OK),
        },
        Err(e) if e.code == ErrorCode::NotFound => return invalid_link(lang),
        Err(e) if e.code == ErrorCode::FormTemplateChanged => (Outcome::Changed(form_id), StatusCode::CONFLICT),
        Err(e) if e.code == ErrorCode::InvalidStateTransition => (Outcome::AlreadyAnswered, StatusCode::CONFLICT),
        Err(e) => return server_error(lang, &e),
    };
    // The page as it stands now, with the answer just recorded.
    match find(&state, &token).await {
        Ok(Some(now)) => render(&state, &token, lang, &now, &outcome, status),
        Ok(None) => invalid_link(lang),
        Err(e) => server_error(lang, &e),
    }
}

fn render(state: &AppState, token: &str, lang: Language, f: &LinkForms, outcome: &Outcome, status: StatusCode) -> Response {
    let t = texts(lang);
    let key = form_key(&state.vault, PAGE, token, now_secs());
    let (pending, answered): (Vec<&LinkForm>, Vec<&LinkForm>) = f.forms.iter().partition(|f| f.status == "pending");
    let mut problems: Vec<(String, &str)> = Vec::new();
    match outcome {
        Outcome::NotAgreed(id) => problems.push((format!("agree-{id}"), t.forms_agree_error)),
        Outcome::Changed(id) => problems.push((format!("form-{id}"), t.forms_changed)),
        _ => {}
    }
    let problem_refs: Vec<(&str, &str)> = problems.iter().map(|(a, m)| (a.as_str(), *m)).collect();
    let main = html! {
        h1 { (t.forms_heading) }
        p.lead { (t.forms_intro) }
        @match outcome {
            Outcome::Signed(title) => div.notice role="status" { (t.forms_signed_notice) " " (title) },
            Outcome::Declined(title) => div.notice role="status" { (t.forms_declined_notice) " " (title) },
            Outcome::Expired => div.error-summary role="alert" { p { (t.form_expired) } },
            Outcome::AlreadyAnswered => div.error-summary role="alert" { p { (t.forms_already) } },
            _ => {},
        }
        @if !problem_refs.is_empty() { (error_summary(t, &problem_refs)) }
        @if pending.is_empty() {
            p { (t.forms_none) }
        }
        @for form in &pending {
            (pending_form(t, lang, &key, form, outcome))
        }
        @if !answered.is_empty() {
            section.answered aria-labelledby="answered-title" {
                h2 #answered-title { (t.forms_answered_heading) }
                ul {
                    @for form in &answered {
                        li {
                            strong { (form.title) }
                            " · " (form.organization) " · "
                            (if form.status == "signed" { t.forms_signed_on } else { t.forms_declined_on })
                            @if let Some(day) = form.answered_on { " " (date(lang, day)) }
                        }
                    }
                }
                p.small { (t.forms_withdraw_hint) }
            }
        }
    };
    let has_error = matches!(outcome, Outcome::NotAgreed(_) | Outcome::Changed(_) | Outcome::Expired);
    page(status, layout(t, t.forms_page_title, has_error, main))
}

fn pending_form(t: &Texts, lang: Language, key: &str, form: &LinkForm, outcome: &Outcome) -> Markup {
    let id = form.form_id;
    let not_agreed = *outcome == Outcome::NotAgreed(id);
    let changed = *outcome == Outcome::Changed(id);
    let described = if not_agreed { format!("agree-{id}-error") } else { String::new() };
    html! {
        section.form-card #(format!("form-{id}")) aria-labelledby=(format!("form-{id}-title")) {
            h2 #(format!("form-{id}-title")) { (form.title) }
            p.small { (t.forms_for) " " (form.organization) }
            @if form.blocking { p.tag { (t.forms_required) } }
            @if changed { p.error-message { (t.forms_changed) } }
            details open[not_agreed || changed] {
                summary { (t.forms_read) }
                div.form-text tabindex="0" { (form.body) }
            }
            form method="post" novalidate {
                input type="hidden" name="lang" value=(lang.as_str());
                input type="hidden" name="form_key" value=(key);
                input type="hidden" name="form_id" value=(id);
                input type="hidden" name="template_sha256" value=(form.template_sha256);
                div.agree.has-error[not_agreed] {
                    @if not_agreed { p.error-message #(described) { (t.forms_agree_error) } }
                    label.choice for=(format!("agree-{id}")) {
                        input type="checkbox" id=(format!("agree-{id}")) name="agree" value="yes"
                            aria-describedby=[not_agreed.then_some(described.as_str())];
                        span { (t.forms_agree) }
                    }
                }
                div.actions {
                    button.button type="submit" name="action" value="sign" { (t.forms_sign) }
                    button.button.button-secondary type="submit" name="action" value="decline" { (t.forms_decline) }
                }
            }
        }
    }
}
