//! What one answer is: status, headers and body → the thing asked for, a failure worth another
//! attempt ([`Transient`]), or a final [`ClientError`]. Pure: nothing here sends a request.

use super::body::{parse_body, scalar_text, FromFields, ResultShape};
use super::link::next_from_link;
use super::redact::Redactor;
use super::{Client, ClientError, Page, ServerMessage};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::StatusCode;
use std::collections::HashSet;
use std::time::Duration;

/// One answer, its body read in full.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A failure worth another attempt.
pub(super) enum Transient {
    RateLimited,
    Server(u16, ServerMessage),
    Timeout,
    Transport(String),
    Truncated,
}

/// What an answer gave: the thing asked for, or a failure worth another attempt.
pub(super) enum Verdict<T> {
    Done(T),
    Retry(Transient),
}

/// What an answer is judged against: whose it is, what was read, which secrets to blank.
pub(super) struct Context<'a> {
    pub instance: &'a str,
    /// Base URL of the instance, to resolve relative `Location` and `Link` URLs.
    pub base: &'a str,
    pub table: Option<&'a str>,
    pub oauth: bool,
    pub redact: Redactor,
}

impl Context<'_> {
    pub(super) fn instance(&self) -> String {
        self.instance.to_string()
    }

    pub(super) fn table(&self) -> Option<String> {
        self.table.map(str::to_string)
    }

    /// The message of a ServiceNow error body, or "no error message".
    pub(super) fn server_message(&self, body: &[u8]) -> ServerMessage {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let text = |key: &str| {
            error
                .and_then(|e| e.get(key))
                .and_then(scalar_text)
                .map(|m| self.redact.clean(&m))
                .filter(|m| !m.is_empty())
        };
        match (text("message"), text("detail")) {
            (Some(m), Some(d)) if m == d => ServerMessage::plain(&m),
            (Some(m), d) => ServerMessage {
                message: m,
                detail: d,
            },
            (None, Some(d)) => ServerMessage::plain(&d),
            (None, None) => ServerMessage::plain("no error message"),
        }
    }

    /// The host a redirect points to (never followed, only named).
    fn location_host(&self, headers: &HeaderMap) -> String {
        let Some(loc) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
            return "(no Location header)".to_string();
        };
        let target = match url::Url::parse(loc) {
            Ok(u) => Some(u),
            Err(_) => url::Url::parse(self.base)
                .ok()
                .and_then(|b| b.join(loc).ok()),
        };
        match target.and_then(|u| u.host_str().map(str::to_string)) {
            Some(h) => self.redact.clean(&h),
            None => "(unreadable Location header)".to_string(),
        }
    }

    /// "an HTML page", with its title when it has one.
    fn html_what(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        let lower = text.to_ascii_lowercase();
        let title = lower.find("<title").and_then(|start| {
            let open_end = lower[start..].find('>')? + start + 1;
            let close = lower[open_end..].find("</title")? + open_end;
            Some(self.redact.clean(&text[open_end..close]))
        });
        match title {
            Some(t) if !t.is_empty() => {
                let t: String = t.chars().take(80).collect();
                format!("an HTML page (\"{t}\")")
            }
            _ => "an HTML page".to_string(),
        }
    }
}

impl Client {
    /// What an answer to a request of this client about `table` is judged against.
    pub(super) fn context<'a>(&'a self, table: Option<&'a str>) -> Context<'a> {
        Context {
            instance: &self.inner.name,
            base: &self.inner.base,
            table,
            oauth: self.is_oauth(),
            redact: self.redactor(),
        }
    }
}

/// What every answer shares, the token POST's included: a redirect is final (never followed),
/// 429 and 5xx are worth another attempt, anything else is for the caller to judge.
pub(super) fn redirect_or_retry(
    cx: &Context<'_>,
    answer: &Answer,
) -> Result<Option<Transient>, ClientError> {
    let status = answer.status;
    if status.is_redirection() {
        return Err(ClientError::Redirect {
            instance: cx.instance(),
            table: cx.table(),
            status: status.as_u16(),
            location_host: cx.location_host(&answer.headers),
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Ok(Some(Transient::RateLimited));
    }
    if status.is_server_error() {
        let message = cx.server_message(&answer.body);
        return Ok(Some(Transient::Server(status.as_u16(), message)));
    }
    Ok(None)
}

/// One page of a Table API read: its rows (only the `wanted` fields), `X-Total-Count` and the
/// `Link` header's next offset.
pub(super) fn page<R: FromFields>(
    cx: &Context<'_>,
    answer: &Answer,
    wanted: &HashSet<&str>,
    times: bool,
) -> Result<Verdict<Page<R>>, ClientError> {
    if let Some(transient) = redirect_or_retry(cx, answer)? {
        return Ok(Verdict::Retry(transient));
    }
    let (instance, table) = (cx.instance(), cx.table());
    let body = &answer.body[..];
    let message = || cx.server_message(body);
    match answer.status.as_u16() {
        200..=299 => {}
        401 => {
            return Err(ClientError::Unauthorized {
                instance,
                table,
                message: message(),
                oauth: cx.oauth,
            })
        }
        403 => {
            return Err(ClientError::Forbidden {
                instance,
                table,
                message: message(),
            })
        }
        404 => {
            return Err(ClientError::NotFound {
                instance,
                table,
                message: message(),
            })
        }
        400 => {
            return Err(ClientError::BadRequest {
                instance,
                table,
                message: message(),
            })
        }
        status => {
            return Err(ClientError::Status {
                instance,
                table,
                status,
                message: message(),
            })
        }
    }
    if looks_like_html(&answer.headers, body) {
        return Err(ClientError::NotJson {
            instance,
            table,
            what: cx.html_what(body),
        });
    }
    let malformed = |reason: String| ClientError::Malformed {
        instance: cx.instance(),
        table: cx.table(),
        reason,
    };
    let parsed = match parse_body::<R>(body, wanted, times) {
        Ok(b) => b,
        Err(e) => {
            return match e.classify() {
                serde_json::error::Category::Eof | serde_json::error::Category::Io => {
                    Ok(Verdict::Retry(Transient::Truncated))
                }
                serde_json::error::Category::Syntax => Err(ClientError::NotJson {
                    instance,
                    table,
                    what: "a body that is not JSON".to_string(),
                }),
                serde_json::error::Category::Data => {
                    Err(malformed(cx.redact.clean(&e.to_string())))
                }
            }
        }
    };
    let rows = match parsed.result {
        Some(ResultShape::Rows(rows)) => rows,
        Some(ResultShape::Other) => return Err(malformed("`result` is not an array".to_string())),
        None => {
            return Err(malformed(match parsed.error {
                Some(m) => format!(
                    "no `result` array; the instance said: {}",
                    cx.redact.clean(&m)
                ),
                None => "JSON without a `result` array".to_string(),
            }))
        }
    };
    let total = answer
        .headers
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let link = next_from_link(&answer.headers, cx.base).map_err(|reason| ClientError::Paging {
        instance,
        table,
        reason,
    })?;
    Ok(Verdict::Done(Page { rows, total, link }))
}

/// An HTML content type, or a body that starts with `<`.
pub(super) fn looks_like_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let html_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"));
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    html_type || first == Some(&b'<')
}

/// "401 Unauthorized", or "HTTP 499" for a status without a reason phrase.
pub(super) fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// `Retry-After` in seconds, when given as a number.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
