//! [`ClientError`], the one error type of the client, and [`ServerMessage`], the cleaned text of
//! a ServiceNow error body. Every message names the instance, the table when there is one, and
//! what to do; none holds a credential.

use std::fmt;
use std::time::Duration;

/// The error message and detail of a ServiceNow error body
/// (`{"error":{"message","detail"},"status":"failure"}`), cleaned to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    pub message: String,
    /// Absent when the body had `null`, `""` or the same text as `message`.
    pub detail: Option<String>,
}

impl ServerMessage {
    pub(super) fn plain(message: &str) -> Self {
        ServerMessage {
            message: message.to_string(),
            detail: None,
        }
    }

    /// The message, with the detail when it is short prose (not a JSON document).
    fn brief(&self) -> String {
        match &self.detail {
            Some(d) if d.len() <= 120 && !d.starts_with('{') && !d.starts_with('[') => {
                format!("{} ({d})", self.message)
            }
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{} ({d})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn on(table: &Option<String>) -> String {
    match table {
        Some(t) => format!(" reading table '{t}'"),
        None => String::new(),
    }
}

fn table_name(table: &Option<String>) -> &str {
    table.as_deref().unwrap_or("the table")
}

fn connect_hint(tls: &bool) -> &'static str {
    if *tls {
        "The TLS handshake failed: preclone trusts the public web PKI roots only, so a \
         self-signed certificate or a TLS-inspecting proxy is refused; use the instance's own \
         https:// address (e.g. https://<name>.service-now.com) and check the clock of this machine"
    } else {
        "Check the URL, DNS and proxy settings (HTTPS_PROXY), and that the instance is reachable \
         from this machine; then run `preclone doctor`"
    }
}

fn unauthorized_hint(oauth: &bool) -> &'static str {
    if *oauth {
        "a fresh OAuth token was refused too: check that the OAuth user or client may use the \
         REST API and that its account is active and not locked out"
    } else {
        "check the user name and password (or token) configured for this instance, that the \
         account is active and not locked out, and that it may use the REST API"
    }
}

/// Why a request to an instance failed. Every message names the instance, the table when there
/// is one, and what to do; none holds a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The instance could not be used at all (a bad URL, no TLS backend).
    #[error("instance '{instance}': {reason}")]
    Setup { instance: String, reason: String },
    /// No connection: refused, DNS, TLS.
    #[error("instance '{instance}': could not connect to {host}{}: {reason}. {}", on(.table), connect_hint(.tls))]
    Connect {
        instance: String,
        table: Option<String>,
        host: String,
        reason: String,
        tls: bool,
    },
    /// No answer within the timeout, every attempt.
    #[error("instance '{instance}'{}: no answer within {}s, {attempts} attempts. The instance may be slow or overloaded: raise --timeout, lower --concurrency, or retry later", on(.table), .after.as_secs_f32())]
    Timeout {
        instance: String,
        table: Option<String>,
        after: Duration,
        attempts: u32,
    },
    /// The connection broke (reset, cut-off body), every attempt.
    #[error("instance '{instance}'{}: the connection failed ({reason}), {attempts} attempts. Retry later; if it persists, check the network and proxy between here and the instance", on(.table))]
    Transport {
        instance: String,
        table: Option<String>,
        reason: String,
        attempts: u32,
    },
    /// 401, after one token refresh for OAuth.
    #[error("instance '{instance}'{}: 401 Unauthorized ({message}): the credentials were refused; {}. Then run `preclone doctor {instance}`", on(.table), unauthorized_hint(.oauth))]
    Unauthorized {
        instance: String,
        table: Option<String>,
        message: ServerMessage,
        oauth: bool,
    },
    /// The OAuth token request failed.
    #[error("instance '{instance}': the OAuth token request (POST /oauth_token.do) failed: {reason}. Check client_id and client_secret (and the user name and password for the password grant), and that the OAuth grant type is enabled on the instance (client_credentials needs glide.oauth.inbound.client.credential.grant_type.enabled=true)")]
    Token { instance: String, reason: String },
    /// A 3xx: never followed.
    #[error("instance '{instance}'{}: answered {status} redirecting to host '{location_host}'; preclone never follows redirects. Check the instance URL (use its final https:// address), or whether the instance was renamed or sits behind SSO", on(.table))]
    Redirect {
        instance: String,
        table: Option<String>,
        status: u16,
        location_host: String,
    },
    /// 403: an ACL or a policy refused the read.
    #[error("instance '{instance}'{}: 403 Forbidden: {message}. Grant the audit user read access to {} (e.g. a role with a read ACL on it), or run `preclone doctor`", on(.table), table_name(.table))]
    Forbidden {
        instance: String,
        table: Option<String>,
        message: ServerMessage,
    },
    /// 404: an ACL, or a table that does not exist.
    #[error("instance '{instance}'{}: 404 Not Found: {message}. The table is missing on this instance or hidden by an ACL: grant the audit user read access to {}, or run `preclone doctor`", on(.table), table_name(.table))]
    NotFound {
        instance: String,
        table: Option<String>,
        message: ServerMessage,
    },
    /// 400: an invalid table or a refused query.
    #[error("instance '{instance}'{}: 400 Bad Request: {message}. The table may not exist on this release, or the query was refused; run `preclone doctor` to see which tables are readable", on(.table))]
    BadRequest {
        instance: String,
        table: Option<String>,
        message: ServerMessage,
    },
    /// 429 on every attempt.
    #[error("instance '{instance}'{}: still rate limited (429) after {attempts} attempts. Lower --concurrency, or ask the instance's admins about the REST rate limit rules that apply to the audit user", on(.table))]
    RateLimited {
        instance: String,
        table: Option<String>,
        attempts: u32,
    },
    /// 5xx on every attempt.
    #[error("instance '{instance}'{}: server error {status} ({message}), {attempts} attempts. The instance may be restarting or overloaded; retry later", on(.table))]
    Server {
        instance: String,
        table: Option<String>,
        status: u16,
        message: ServerMessage,
        attempts: u32,
    },
    /// Any other unexpected status.
    #[error("instance '{instance}'{}: unexpected HTTP {status} ({message}); run `preclone doctor`", on(.table))]
    Status {
        instance: String,
        table: Option<String>,
        status: u16,
        message: ServerMessage,
    },
    /// A 200 whose body is not JSON.
    #[error("instance '{instance}'{}: answered with {what} instead of JSON: the instance may be hibernating (wake it up) or behind SSO (use an account that logs in to the REST API directly); open the instance URL in a browser to see", on(.table))]
    NotJson {
        instance: String,
        table: Option<String>,
        what: String,
    },
    /// JSON, but not a Table API answer (no `result` array, a row that is not an object, a body
    /// that stayed cut off).
    #[error("instance '{instance}'{}: the answer is not a Table API result ({reason}); retry, or run `preclone doctor`", on(.table))]
    Malformed {
        instance: String,
        table: Option<String>,
        reason: String,
    },
    /// Paging that would not end (a `Link` that loops, an offset that does not advance).
    #[error("instance '{instance}'{}: malformed paging ({reason}); stopped instead of looping. Retry later; if it persists, run with -v and report it", on(.table))]
    Paging {
        instance: String,
        table: Option<String>,
        reason: String,
    },
    /// A count was asked for and no `X-Total-Count` came back.
    #[error("instance '{instance}'{}: the answer carried no X-Total-Count header, so the rows cannot be counted (a proxy may strip it)", on(.table))]
    MissingCount {
        instance: String,
        table: Option<String>,
    },
}

impl ClientError {
    /// The instance could not be reached or refused the credentials: could not connect (DNS,
    /// refused, TLS), 401 (after one token refresh), a failed OAuth token request, a redirect.
    pub fn is_access_failure(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. }
                | ClientError::Unauthorized { .. }
                | ClientError::Token { .. }
                | ClientError::Redirect { .. }
        )
    }

    /// Whether, on the first request to an instance, nothing can be read from it at all: an
    /// access failure, or a body that is not JSON (a hibernating instance or an SSO login page
    /// answers every request with HTML). On a later request such a body only makes that table
    /// unreadable.
    pub fn is_fatal_on_first_request(&self) -> bool {
        self.is_access_failure() || matches!(self, ClientError::NotJson { .. })
    }

    /// What fixes it, as the evidence and the reports group it.
    pub fn cause(&self) -> crate::evidence::Cause {
        use crate::evidence::Cause;
        match self {
            ClientError::Unauthorized { .. } | ClientError::Token { .. } => Cause::Credentials,
            ClientError::Connect { .. } | ClientError::Redirect { .. } => Cause::Unreachable,
            ClientError::NotJson { .. } => Cause::Html,
            ClientError::Forbidden { .. } | ClientError::NotFound { .. } => Cause::Acl,
            ClientError::Timeout { .. } => Cause::Timeout,
            ClientError::RateLimited { .. } => Cause::RateLimited,
            ClientError::Setup { .. }
            | ClientError::Transport { .. }
            | ClientError::BadRequest { .. }
            | ClientError::Server { .. }
            | ClientError::Status { .. }
            | ClientError::Malformed { .. }
            | ClientError::Paging { .. }
            | ClientError::MissingCount { .. } => Cause::Other,
        }
    }

    /// The HTTP status behind the error, when one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthorized { .. } => Some(401),
            ClientError::Forbidden { .. } => Some(403),
            ClientError::NotFound { .. } => Some(404),
            ClientError::BadRequest { .. } => Some(400),
            ClientError::RateLimited { .. } => Some(429),
            ClientError::Redirect { status, .. }
            | ClientError::Server { status, .. }
            | ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The table being read, when there was one.
    pub fn table(&self) -> Option<&str> {
        match self {
            ClientError::Connect { table, .. }
            | ClientError::Timeout { table, .. }
            | ClientError::Transport { table, .. }
            | ClientError::Unauthorized { table, .. }
            | ClientError::Redirect { table, .. }
            | ClientError::Forbidden { table, .. }
            | ClientError::NotFound { table, .. }
            | ClientError::BadRequest { table, .. }
            | ClientError::RateLimited { table, .. }
            | ClientError::Server { table, .. }
            | ClientError::Status { table, .. }
            | ClientError::NotJson { table, .. }
            | ClientError::Malformed { table, .. }
            | ClientError::Paging { table, .. }
            | ClientError::MissingCount { table, .. } => table.as_deref(),
            ClientError::Setup { .. } | ClientError::Token { .. } => None,
        }
    }

    /// A 400 "Invalid table ..." (v2 of the Table API answers so for a table that does not exist).
    pub fn is_invalid_table(&self) -> bool {
        matches!(self, ClientError::BadRequest { message, .. } if message.message.starts_with("Invalid table"))
    }

    /// A one-line reason for the evidence, e.g.
    /// `403 Forbidden: Insufficient rights to query records`.
    pub fn short(&self) -> String {
        match self {
            ClientError::Setup { reason, .. } => reason.clone(),
            ClientError::Connect {
                reason, tls: true, ..
            } => format!("TLS failure: {reason}"),
            ClientError::Connect { reason, .. } => format!("could not connect: {reason}"),
            ClientError::Timeout {
                after, attempts, ..
            } => format!(
                "timed out after {}s, {attempts} attempts",
                after.as_secs_f32()
            ),
            ClientError::Transport {
                reason, attempts, ..
            } => format!("connection failed after {attempts} attempts: {reason}"),
            ClientError::Unauthorized { message, .. } => {
                format!("401 Unauthorized: {}", message.brief())
            }
            ClientError::Token { reason, .. } => format!("OAuth token request failed: {reason}"),
            ClientError::Redirect {
                status,
                location_host,
                ..
            } => format!("{status} redirect to {location_host} (not followed)"),
            ClientError::Forbidden { message, .. } => {
                format!("403 Forbidden: {}", message.brief())
            }
            ClientError::NotFound { message, .. } => {
                format!("404 Not Found: {}", message.brief())
            }
            ClientError::BadRequest { message, .. } => {
                format!("400 Bad Request: {}", message.brief())
            }
            ClientError::RateLimited { attempts, .. } => {
                format!("429 Too Many Requests after {attempts} attempts")
            }
            ClientError::Server {
                status,
                message,
                attempts,
                ..
            } => format!("{status} after {attempts} attempts: {}", message.brief()),
            ClientError::Status {
                status, message, ..
            } => format!("HTTP {status}: {}", message.brief()),
            ClientError::NotJson { what, .. } => {
                format!("answered with {what}: the instance may be hibernating or behind SSO")
            }
            ClientError::Malformed { reason, .. } => format!("malformed answer: {reason}"),
            ClientError::Paging { reason, .. } => format!("malformed paging: {reason}"),
            ClientError::MissingCount { .. } => "no X-Total-Count header".to_string(),
        }
    }
}
