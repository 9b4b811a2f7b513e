//! The public pages patients open from the links the clinic sends them (`docs/public-pages.md`):
//! `/review/{token}` (rate a consultation once), `/preferences/{token}` (how the clinic may
//! contact them) and `/forms/{token}` (read, sign or decline their consent forms). Plain server-rendered HTML in bokmål and English, no script, strict headers.
//!
//! The token in the path is the capability: whoever holds the link acts for the patient. A POST
//! must also come from the page itself: a same-origin form post (`Sec-Fetch-Site`, or `Origin`
//! where a browser sends no fetch metadata) carrying the form key of the render it was sent from.
//! A wrong token gets the same "this link is not valid" page whether or not any other token
//! exists. The service acts for the link's holder as itself (`Acting::Party`, `review-link:<id>`
//! `preference-link:<person id>` or `forms-link:<person id>` in the audit log).

mod forms;
mod preferences;
mod review;
mod text;

use std::future::Future;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use digimed_core::keys::Vault;
use digimed_core::preferences::Language;
use digimed_core::{Error, ErrorCode};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use text::{texts, Texts};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(review::show, review::answer))
        .routes(routes!(preferences::show, preferences::save))
        .routes(routes!(forms::show, forms::answer))
        .layer(DefaultBodyLimit::max(crate::BODY_LIMIT))
        .layer(axum::middleware::map_response(strict_headers))
}

/// The pages' style sheet, inline; the Content-Security-Policy allows exactly this text.
const CSS: &str = include_str!("page.css");

static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = B64.encode(Sha256::digest(CSS.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// Headers on every answer of the public pages, errors included.
async fn strict_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    resp
}

/// An HTML answer.
fn page(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// The page around `main`: title, language switch, footer.
fn layout(t: &Texts, title: &str, has_error: bool, main: Markup) -> Markup {
    let full_title = if has_error {
        format!("{}: {title} – {}", if t.lang_attr == "nb" { "Feil" } else { "Error" }, t.brand)
    } else {
        format!("{title} – {}", t.brand)
    };
    html! {
        (DOCTYPE)
        html lang=(t.lang_attr) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                meta name="referrer" content="no-referrer";
                title { (full_title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#main" { (t.skip_to_content) }
                header.top {
                    span.brand { (t.brand) }
                    nav aria-label=(t.language_nav) {
                        ul.langs {
                            li {
                                @if t.lang_attr == "nb" {
                                    span aria-current="true" lang="nb" { "Norsk (bokmål)" }
                                } @else {
                                    a href="?lang=nb" lang="nb" hreflang="nb" { "Norsk (bokmål)" }
                                }
                            }
                            li {
                                @if t.lang_attr == "en" {
                                    span aria-current="true" lang="en" { "English" }
                                } @else {
                                    a href="?lang=en" lang="en" hreflang="en" { "English" }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (main) }
                footer.bottom { p { (t.footer) } }
            }
        }
    }
}

/// A page with a heading and a few sentences (not valid, thanks, already answered, ...).
fn message_page(lang: Language, status: StatusCode, title: &str, paragraphs: &[&str]) -> Response {
    let t = texts(lang);
    page(
        status,
        layout(
            t,
            title,
            false,
            html! {
                h1 { (title) }
                @for para in paragraphs { p { (para) } }
            },
        ),
    )
}

/// "This link is not valid" (404): a wrong, mistyped or replaced token. Says nothing of whether
/// any other link exists.
fn invalid_link(lang: Language) -> Response {
    let t = texts(lang);
    message_page(lang, StatusCode::NOT_FOUND, t.invalid_title, &[t.invalid_body, t.invalid_hint])
}

/// The form was posted from another site (403); nothing was written.
fn cross_site_refused(lang: Language) -> Response {
    let t = texts(lang);
    message_page(lang, StatusCode::FORBIDDEN, t.cross_site_title, &[t.cross_site_body])
}

/// The service could not answer (database down, ...); nothing was written.
fn server_error(lang: Language, e: &Error) -> Response {
    let t = texts(lang);
    let status = crate::error::status_for(e.code);
    let status = if status.is_server_error() { status } else { StatusCode::INTERNAL_SERVER_ERROR };
    tracing::warn!(code = e.code.as_str(), status = status.as_u16(), "public page failed");
    message_page(lang, status, t.server_error_title, &[t.server_error_body])
}

/// The link a page's token names, or the page to answer instead: "this link is not valid" when
/// there is none, the error page when the look-up failed. Until the link is found, the page speaks
/// the language chosen, or else the browser's. (The page is boxed: an answer is large beside a
/// link.)
fn link_or_page<T>(found: Result<Option<T>, Error>, chosen: Option<Language>, headers: &HeaderMap) -> Result<T, Box<Response>> {
    let lang = || chosen.unwrap_or_else(|| browser_language(headers));
    match found {
        Err(e) => Err(Box::new(server_error(lang(), &e))),
        Ok(None) => Err(Box::new(invalid_link(lang()))),
        Ok(Some(link)) => Ok(link),
    }
}

/// A page's posted form and the language it chose, or the refusal when it was posted from another
/// site.
fn posted(headers: &HeaderMap, body: &Bytes) -> Result<(FormFields, Option<Language>), Box<Response>> {
    let fields = FormFields::parse(body);
    let chosen = chosen_language(fields.get("lang"));
    if cross_site(headers) {
        return Err(Box::new(cross_site_refused(chosen.unwrap_or_else(|| browser_language(headers)))));
    }
    Ok((fields, chosen))
}

/// A page's post and the link it was posted to: the posted fields, the language the page chose,
/// and the link `find` finds; or the page to answer instead (posted from another site, no such
/// link, the look-up failed). The link is looked up only for a post from the page itself.
async fn posted_to_link<T>(
    headers: &HeaderMap,
    body: &Bytes,
    find: impl Future<Output = Result<Option<T>, Error>>,
) -> Result<(FormFields, Option<Language>, T), Box<Response>> {
    let (fields, chosen) = posted(headers, body)?;
    let link = link_or_page(find.await, chosen, headers)?;
    Ok((fields, chosen, link))
}

/// The language asked for with `?lang=` or the form's `lang`, if it is one of ours.
fn chosen_language(value: Option<&str>) -> Option<Language> {
    value.and_then(Language::parse)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LangQuery {
    /// `nb` or `en`: the page's language (otherwise the patient's, or the browser's).
    lang: Option<String>,
}

/// What a public page answers: always HTML, errors included.
#[derive(utoipa::IntoResponses)]
pub enum PageAnswers {
    /// The page.
    #[response(status = 200, content_type = "text/html")]
    Page(String),
    /// The form's content is not valid (the page says why).
    #[response(status = 400, content_type = "text/html")]
    BadRequest(String),
    /// A post that does not come from the page itself.
    #[response(status = 403, content_type = "text/html")]
    Forbidden(String),
    /// The link is not valid (the same page whether or not any other link exists).
    #[response(status = 404, content_type = "text/html")]
    InvalidLink(String),
    /// The page changed since it was shown, or was answered already.
    #[response(status = 409, content_type = "text/html")]
    Conflict(String),
    /// A body over 64 KiB.
    #[response(status = 413, content_type = "text/html")]
    TooLarge(String),
    /// The answer is not valid (the page shows it again, with the reason).
    #[response(status = 422, content_type = "text/html")]
    Unprocessable(String),
    /// The service failed; nothing was saved.
    #[response(status = 500, content_type = "text/html")]
    Internal(String),
    /// The database or the data keys are not available.
    #[response(status = 503, content_type = "text/html")]
    Unavailable(String),
}

/// A page's form post: the page's own fields and the form key of the render it came from.
pub type PageForm = std::collections::HashMap<String, String>;

/// The browser's preferred language of ours, for pages that have no patient to ask: bokmål for
/// `nb`, `no` and `nn`, English for `en`, bokmål otherwise.
fn browser_language(headers: &HeaderMap) -> Language {
    let Some(accept) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
        return Language::Nb;
    };
    let mut best: Option<(f32, Language)> = None;
    for part in accept.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let lang = match primary {
            "nb" | "no" | "nn" => Language::Nb,
            "en" => Language::En,
            _ => continue,
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l).unwrap_or(Language::Nb)
}

/// Whether a POST came from another site: by the browser's fetch metadata where it sends it, or
/// else by an `Origin` naming another host. (`Origin: null`, which browsers send for a form post
/// from a page with `Referrer-Policy: no-referrer`, tells nothing either way.)
fn cross_site(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match get("origin") {
        None | Some("null") => false,
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            let ours = get("x-forwarded-host").or(get("host"));
            ours.is_none_or(|h| !h.eq_ignore_ascii_case(host))
        }
    }
}

/// The fields of a form post (`application/x-www-form-urlencoded`); a body that does not parse
/// has no fields.
struct FormFields(Vec<(String, String)>);

impl FormFields {
    fn parse(body: &Bytes) -> FormFields {
        FormFields(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How long a rendered form may be sent back.
const FORM_KEY_MAX_AGE_SECS: i64 = 24 * 60 * 60;

/// The form key of one render of a page: when it was rendered and a keyed hash (the data keys'
/// blind index) of the page, its token and that time. The same on every instance of the service.
fn form_key(vault: &Vault, page: &str, token: &str, now: i64) -> String {
    let mac = vault.blind_index("public-page-form", &format!("{page}\u{1f}{token}\u{1f}{now}"));
    format!("{now}.{}", B64URL.encode(mac))
}

/// Whether `key` is a form key this service rendered for this page and token within the last day.
fn form_key_valid(vault: &Vault, page: &str, token: &str, key: Option<&str>, now: i64) -> bool {
    let Some((issued, _)) = key.and_then(|k| k.split_once('.')) else {
        return false;
    };
    let Ok(issued) = issued.parse::<i64>() else {
        return false;
    };
    if issued > now + 300 || now - issued > FORM_KEY_MAX_AGE_SECS {
        return false;
    }
    let expected = form_key(vault, page, token, issued);
    key.is_some_and(|k| k.len() == expected.len() && bool::from(k.as_bytes().ct_eq(expected.as_bytes())))
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The error summary at the top of a form: each problem, linking to its field.
fn error_summary(t: &Texts, problems: &[(&str, &str)]) -> Markup {
    html! {
        div.error-summary role="alert" aria-labelledby="error-summary-title" tabindex="-1" {
            h2 #error-summary-title { (t.error_summary_title) }
            ul {
                @for (target, message) in problems {
                    li { a href=(format!("#{target}")) { (message) } }
                }
            }
        }
    }
}

/// Whether a core error means the service could not answer, rather than something about the
/// link or the answer.
fn is_failure(e: &Error) -> bool {
    !matches!(e.code, ErrorCode::NotFound | ErrorCode::AlreadyExists | ErrorCode::InvalidInput)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_picks_ours() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
            m
        };
        assert_eq!(browser_language(&h("en-GB,en;q=0.9")), Language::En);
        assert_eq!(browser_language(&h("nb-NO,nb;q=0.9,en;q=0.8")), Language::Nb);
        assert_eq!(browser_language(&h("de-DE, en;q=0.5, nn;q=0.7")), Language::Nb);
        assert_eq!(browser_language(&h("de")), Language::Nb);
        assert_eq!(browser_language(&HeaderMap::new()), Language::Nb);
    }

    #[test]
    fn posts_from_other_sites_are_told_apart() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(!cross_site(&h(&[("sec-fetch-site", "same-origin"), ("origin", "null")])));
        assert!(cross_site(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&h(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&h(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])));
        assert!(cross_site(&h(&[("origin", "https://evil.example"), ("host", "clinic.example")])));
        assert!(!cross_site(&h(&[("origin", "null"), ("host", "clinic.example")])));
        assert!(!cross_site(&h(&[])));
    }

    #[test]
    fn form_keys_are_bound_to_page_token_and_time() {
        let vault = Vault::new(digimed_crypto::DataKeys::generate());
        let now = 1_800_000_000;
        let key = form_key(&vault, "review", "tok", now);
        assert!(form_key_valid(&vault, "review", "tok", Some(&key), now + 60));
        assert!(!form_key_valid(&vault, "preferences", "tok", Some(&key), now + 60));
        assert!(!form_key_valid(&vault, "review", "other", Some(&key), now + 60));
        assert!(!form_key_valid(&vault, "review", "tok", Some(&key), now + FORM_KEY_MAX_AGE_SECS + 1));
        assert!(!form_key_valid(&vault, "review", "tok", None, now));
        assert!(!form_key_valid(&vault, "review", "tok", Some("123.abc"), now));
        let forged = format!("{}.{}", now + 1, key.split_once('.').unwrap().1);
        assert!(!form_key_valid(&vault, "review", "tok", Some(&forged), now + 60));
    }
}
