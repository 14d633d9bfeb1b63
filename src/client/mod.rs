//! The only module that speaks HTTP: `GET` on the REST Table API and the OAuth token `POST`,
//! nothing else. It authenticates, follows every page (taking only the offset from a `Link`
//! header, never its host), retries what is worth retrying (429, 5xx, timeouts, cut-off bodies),
//! keeps only the requested fields of each row, and turns everything else into a [`ClientError`]
//! that names the instance, the table and what to do. No error, log line or `Debug` output holds
//! a credential.

mod body;
mod error;
mod link;

pub use error::{ClientError, ServerMessage};

use crate::config::{Auth, ClientSettings, ResolvedInstance, Secret};
use body::{parse_body, scalar_text, ResultShape};
use link::{next_from_link, LinkNext};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};

/// One Table API row with every value normalised to a string: plain strings stay as they are,
/// `{"link","value"}` and `{"display_value","value"}` give `value` (or `display_value` when no
/// `value`), `null` gives `""`, numbers and booleans their JSON text.
pub type Row = BTreeMap<String, String>;

/// One query: a table, an encoded query, the fields to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableQuery {
    pub table: String,
    /// `sysparm_query`; empty for none.
    pub query: String,
    /// `sysparm_fields`; never empty.
    pub fields: Vec<String>,
}

impl TableQuery {
    pub fn new(table: &str, query: impl Into<String>, fields: &[&str]) -> Self {
        TableQuery {
            table: table.to_string(),
            query: query.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// All rows of a query, every page followed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    pub rows: Vec<Row>,
    /// `X-Total-Count` of the first page, when sent.
    pub announced: Option<u64>,
    /// Requests this call sent (pages and retries included).
    pub requests: u64,
}

impl Rows {
    /// Rows the instance counted but did not send (ACL trimming).
    pub fn hidden(&self) -> u64 {
        self.announced
            .map(|a| a.saturating_sub(self.rows.len() as u64))
            .unwrap_or(0)
    }
}

/// What one small read of a table showed ([`Client::probe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Rows that came back.
    pub rows: u64,
    /// `X-Total-Count`, when sent (counted before ACLs trim the page).
    pub announced: Option<u64>,
    /// `sysparm_limit` of the read.
    pub limit: u64,
}

impl Probe {
    /// Rows of the page the instance counted but did not send: a hint of ACL trimming (or
    /// domain separation).
    pub fn hidden(&self) -> u64 {
        self.announced
            .map(|a| a.min(self.limit).saturating_sub(self.rows))
            .unwrap_or(0)
    }
}

/// Rows asked for per page unless [`Client::with_page_size`] says otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The most pages one query may take before paging is called malformed.
const MAX_PAGES: u64 = 10_000;
/// The first backoff after a 5xx, a timeout or a cut-off body; it doubles on every retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Time allowed to open a TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT_VALUE: &str = concat!("preclone/", env!("CARGO_PKG_VERSION"));
/// Longest server text (error message, detail) kept in an error.
const MAX_SERVER_TEXT: usize = 240;

/// A client for one instance. Cheap to clone: clones share the connection pool, the OAuth
/// token, the concurrency limit and the request counter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    page_size: usize,
}

struct Inner {
    name: String,
    /// Base URL without a trailing slash.
    base: String,
    host: String,
    auth: Auth,
    settings: ClientSettings,
    http: reqwest::Client,
    permits: Semaphore,
    token: Mutex<TokenSlot>,
    sent: AtomicU64,
}

#[derive(Default)]
struct TokenSlot {
    current: Option<Token>,
    issued: u64,
}

struct Token {
    value: Secret,
    /// When to fetch a new one (a little before it expires); `None` when the instance gave
    /// no lifetime.
    renew_at: Option<Instant>,
    generation: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("instance", &self.inner.name)
            .field("url", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// The one HTTP client of the process: rustls, gzip, no redirects, a connect timeout.
fn shared_http() -> Result<reqwest::Client, String> {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = HTTP.get() {
        return Ok(c.clone());
    }
    let built = reqwest::Client::builder()
        .use_rustls_tls()
        .gzip(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("could not set up the HTTP client: {}", e.without_url()))?;
    Ok(HTTP.get_or_init(|| built).clone())
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    }
}

/// The credential one request carries.
enum Credential {
    Basic(String, Secret),
    Bearer(Secret, u64),
}

impl Credential {
    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Basic(user, password) => req.basic_auth(user, Some(password.expose())),
            Credential::Bearer(token, _) => req.bearer_auth(token.expose()),
        }
    }
}

struct Page {
    rows: Vec<Row>,
    total: Option<u64>,
    link: LinkNext,
}

/// A failure worth another attempt.
enum Transient {
    RateLimited,
    Server(u16, ServerMessage),
    Timeout,
    Transport(String),
    Truncated,
}

impl Client {
    /// A client for one instance. Checks the URL; sends nothing.
    pub fn new(
        instance: &ResolvedInstance,
        settings: &ClientSettings,
    ) -> Result<Client, ClientError> {
        let setup = |reason: String| ClientError::Setup {
            instance: instance.name.clone(),
            reason,
        };
        let trimmed = instance.url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(trimmed).map_err(|e| {
            setup(format!(
                "the URL is not valid ({e}); write it as https://<name>.service-now.com"
            ))
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(setup(
                "the URL holds credentials; put them in the instance's auth settings instead"
                    .to_string(),
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(setup(
                "the URL has a query or fragment; give only https://<name>.service-now.com"
                    .to_string(),
            ));
        }
        let host = parsed
            .host()
            .ok_or_else(|| setup("the URL has no host".to_string()))?;
        let host_text = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            _ => {
                return Err(setup(format!(
                "the URL must start with https:// (http:// only to a loopback address), not {}://",
                parsed.scheme()
            )))
            }
        }
        let http = shared_http().map_err(setup)?;
        Ok(Client {
            inner: Arc::new(Inner {
                name: instance.name.clone(),
                base: trimmed.to_string(),
                host: host_text,
                auth: instance.auth.clone(),
                settings: settings.clone(),
                http,
                permits: Semaphore::new(settings.concurrency.max(1)),
                token: Mutex::new(TokenSlot::default()),
                sent: AtomicU64::new(0),
            }),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// The same client asking for `n` rows per page (1 to 10,000).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 10_000);
        self
    }

    /// The instance name.
    pub fn instance(&self) -> &str {
        &self.inner.name
    }

    /// Every HTTP request sent so far by this client and its clones: pages, retries and token
    /// requests.
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Every row of a query, every page followed.
    pub async fn fetch(&self, q: &TableQuery) -> Result<Rows, ClientError> {
        let fields: Vec<&str> = q
            .fields
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            return Err(self.setup(format!(
                "a query on table '{}' named no fields; every request must name sysparm_fields",
                q.table
            )));
        }
        let wanted: HashSet<&str> = fields.iter().copied().collect();
        let fields_csv = fields.join(",");
        let limit = self.page_size as u64;
        let mut out = Rows::default();
        let mut sent = 0u64;
        let mut offset = 0u64;
        let mut seen = HashSet::from([0u64]);
        let mut pages = 0u64;
        loop {
            let page = self
                .get_page(
                    &q.table,
                    &q.query,
                    &wanted,
                    &fields_csv,
                    limit,
                    offset,
                    &mut sent,
                )
                .await?;
            pages += 1;
            if pages == 1 {
                out.announced = page.total;
            }
            let received = page.rows.len() as u64;
            out.rows.extend(page.rows);
            let next = match page.link {
                LinkNext::Next(n) => Some(n),
                LinkNext::NoNext => None,
                LinkNext::Absent => match page.total {
                    Some(total) => (offset + limit < total).then_some(offset + limit),
                    None => (received >= limit).then_some(offset + limit),
                },
            };
            let Some(next) = next else { break };
            let paging = |reason: String| ClientError::Paging {
                instance: self.inner.name.clone(),
                table: Some(q.table.clone()),
                reason,
            };
            if next <= offset {
                return Err(paging(format!(
                    "the next page's offset {next} does not advance past {offset}"
                )));
            }
            if !seen.insert(next) {
                return Err(paging(format!("offset {next} was already read")));
            }
            if pages >= MAX_PAGES {
                return Err(paging(format!("more than {MAX_PAGES} pages")));
            }
            offset = next;
        }
        out.requests = sent;
        Ok(out)
    }

    /// One page of at most `limit` rows (sys_id only, no paging): how many rows came back and
    /// how many the instance counted. For `preclone doctor`.
    pub async fn probe(&self, table: &str, query: &str, limit: u64) -> Result<Probe, ClientError> {
        let wanted = HashSet::from(["sys_id"]);
        let limit = limit.clamp(1, 10_000);
        let mut sent = 0;
        let page = self
            .get_page(table, query, &wanted, "sys_id", limit, 0, &mut sent)
            .await?;
        Ok(Probe {
            rows: page.rows.len() as u64,
            announced: page.total,
            limit,
        })
    }

    /// How many rows of `table` match `query`, from `X-Total-Count` (`sysparm_limit=1`).
    pub async fn count(&self, table: &str, query: &str) -> Result<u64, ClientError> {
        let wanted = HashSet::from(["sys_id"]);
        let mut sent = 0;
        let page = self
            .get_page(table, query, &wanted, "sys_id", 1, 0, &mut sent)
            .await?;
        page.total.ok_or_else(|| ClientError::MissingCount {
            instance: self.inner.name.clone(),
            table: Some(table.to_string()),
        })
    }

    fn setup(&self, reason: String) -> ClientError {
        ClientError::Setup {
            instance: self.inner.name.clone(),
            reason,
        }
    }

    /// The server's text with every known secret blanked, on one line, clipped.
    fn clean(&self, text: &str) -> String {
        let mut s: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        for secret in self.secrets() {
            if secret.len() >= 3 {
                s = s.replace(&secret, "(redacted)");
            }
        }
        if s.chars().count() > MAX_SERVER_TEXT {
            s = s.chars().take(MAX_SERVER_TEXT).collect::<String>() + "...";
        }
        s
    }

    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.inner.auth {
            Auth::Basic { password, .. } => out.push(password.expose().to_string()),
            Auth::OAuthPassword {
                client_secret,
                password,
                ..
            } => {
                out.push(client_secret.expose().to_string());
                out.push(password.expose().to_string());
            }
            Auth::OAuthClientCredentials { client_secret, .. } => {
                out.push(client_secret.expose().to_string())
            }
            Auth::Bearer { token } => out.push(token.expose().to_string()),
        }
        if let Ok(slot) = self.inner.token.try_lock() {
            if let Some(t) = &slot.current {
                out.push(t.value.expose().to_string());
            }
        }
        out
    }

    fn is_oauth(&self) -> bool {
        matches!(
            self.inner.auth,
            Auth::OAuthPassword { .. } | Auth::OAuthClientCredentials { .. }
        )
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        FIRST_BACKOFF
            .saturating_mul(factor)
            .min(self.inner.settings.max_backoff)
    }

    fn count_request(&self, sent: &mut u64) {
        *sent += 1;
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
    }

    fn transport_error(
        &self,
        table: Option<&str>,
        err: &reqwest::Error,
    ) -> Result<Transient, ClientError> {
        let reason = self.clean(&root_cause(err));
        if err.is_connect() {
            let tls = looks_like_tls(err);
            return Err(ClientError::Connect {
                instance: self.inner.name.clone(),
                table: table.map(str::to_string),
                host: self.inner.host.clone(),
                reason,
                tls,
            });
        }
        if err.is_timeout() {
            return Ok(Transient::Timeout);
        }
        Ok(Transient::Transport(reason))
    }

    fn give_up(&self, table: &str, cause: Transient, attempts: u32) -> ClientError {
        let instance = self.inner.name.clone();
        let table = Some(table.to_string());
        match cause {
            Transient::RateLimited => ClientError::RateLimited {
                instance,
                table,
                attempts,
            },
            Transient::Server(status, message) => ClientError::Server {
                instance,
                table,
                status,
                message,
                attempts,
            },
            Transient::Timeout => ClientError::Timeout {
                instance,
                table,
                after: self.inner.settings.timeout,
                attempts,
            },
            Transient::Transport(reason) => ClientError::Transport {
                instance,
                table,
                reason,
                attempts,
            },
            Transient::Truncated => ClientError::Malformed {
                instance,
                table,
                reason: format!("the body was cut off on every one of {attempts} attempts"),
            },
        }
    }

    /// The credential for the next request; fetches an OAuth token when none is fresh.
    async fn credential(
        &self,
        table: Option<&str>,
        sent: &mut u64,
    ) -> Result<Credential, ClientError> {
        match &self.inner.auth {
            Auth::Basic { username, password } => {
                Ok(Credential::Basic(username.clone(), password.clone()))
            }
            Auth::Bearer { token } => Ok(Credential::Bearer(token.clone(), 0)),
            Auth::OAuthPassword { .. } | Auth::OAuthClientCredentials { .. } => {
                let mut slot = self.inner.token.lock().await;
                if let Some(t) = &slot.current {
                    let fresh = match t.renew_at {
                        Some(at) => Instant::now() < at,
                        None => true,
                    };
                    if fresh {
                        return Ok(Credential::Bearer(t.value.clone(), t.generation));
                    }
                }
                slot.current = None;
                let (value, lifetime) = self.request_token(table, sent).await?;
                slot.issued += 1;
                let generation = slot.issued;
                let renew_at = lifetime.map(|l| {
                    let margin = (l / 10).min(Duration::from_secs(30));
                    Instant::now() + l.saturating_sub(margin)
                });
                slot.current = Some(Token {
                    value: value.clone(),
                    renew_at,
                    generation,
                });
                Ok(Credential::Bearer(value, generation))
            }
        }
    }

    /// Forgets the token of `generation` (after a 401), unless a newer one replaced it.
    async fn drop_token(&self, generation: u64) {
        let mut slot = self.inner.token.lock().await;
        if slot.current.as_ref().map(|t| t.generation) == Some(generation) {
            slot.current = None;
        }
    }

    /// `POST /oauth_token.do`: the only request that is not a GET.
    async fn request_token(
        &self,
        table: Option<&str>,
        sent: &mut u64,
    ) -> Result<(Secret, Option<Duration>), ClientError> {
        let form: Vec<(&str, &str)> = match &self.inner.auth {
            Auth::OAuthPassword {
                client_id,
                client_secret,
                username,
                password,
            } => vec![
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("username", username),
                ("password", password.expose()),
            ],
            Auth::OAuthClientCredentials {
                client_id,
                client_secret,
            } => vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
            ],
            Auth::Basic { .. } | Auth::Bearer { .. } => {
                return Err(self.setup("no OAuth settings for a token request".to_string()))
            }
        };
        let token_error = |reason: String| ClientError::Token {
            instance: self.inner.name.clone(),
            reason,
        };
        let url = format!("{}/oauth_token.do", self.inner.base);
        let mut retries = 0u32;
        loop {
            let permit = self
                .inner
                .permits
                .acquire()
                .await
                .map_err(|_| self.setup("the request limiter was closed".to_string()))?;
            self.count_request(sent);
            let result = async {
                let resp = self
                    .inner
                    .http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .header(USER_AGENT, USER_AGENT_VALUE)
                    .timeout(self.inner.settings.timeout)
                    .form(&form)
                    .send()
                    .await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.bytes().await;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .await;
            drop(permit);
            let transient = match result {
                Err(e) => {
                    tracing::debug!(instance = %self.inner.name, method = "POST", target = "/oauth_token.do", error = %root_cause(&e), "http");
                    self.transport_error(table, &e)?
                }
                Ok((status, headers, body)) => {
                    tracing::debug!(instance = %self.inner.name, method = "POST", target = "/oauth_token.do", status = status.as_u16(), "http");
                    let body = match body {
                        Ok(b) => b,
                        Err(e) => {
                            let t = self.transport_error(table, &e)?;
                            if retries < self.inner.settings.retries {
                                tokio::time::sleep(self.backoff(retries)).await;
                                retries += 1;
                                continue;
                            }
                            return Err(token_error(format!(
                                "the answer could not be read ({})",
                                match t {
                                    Transient::Transport(r) => r,
                                    _ => "timed out".to_string(),
                                }
                            )));
                        }
                    };
                    if status.is_success() {
                        return self.parse_token(&headers, &body).map_err(token_error);
                    }
                    if status.is_redirection() {
                        return Err(ClientError::Redirect {
                            instance: self.inner.name.clone(),
                            table: table.map(str::to_string),
                            status: status.as_u16(),
                            location_host: self.location_host(&headers),
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        if status == StatusCode::TOO_MANY_REQUESTS {
                            Transient::RateLimited
                        } else {
                            Transient::Server(status.as_u16(), self.server_message(&body))
                        }
                    } else {
                        return Err(token_error(format!(
                            "{} ({})",
                            status_text(status),
                            self.oauth_message(&body)
                        )));
                    }
                }
            };
            if retries >= self.inner.settings.retries {
                let attempts = retries + 1;
                return Err(token_error(match transient {
                    Transient::RateLimited => {
                        format!("still rate limited after {attempts} attempts")
                    }
                    Transient::Server(s, m) => {
                        format!("server error {s} ({m}), {attempts} attempts")
                    }
                    Transient::Timeout => format!("no answer, {attempts} attempts"),
                    Transient::Transport(r) => {
                        format!("connection failed ({r}), {attempts} attempts")
                    }
                    Transient::Truncated => format!("the answer was cut off, {attempts} attempts"),
                }));
            }
            tokio::time::sleep(self.backoff(retries)).await;
            retries += 1;
        }
    }

    fn parse_token(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(Secret, Option<Duration>), String> {
        if looks_like_html(headers, body) {
            return Err(
                "the instance answered with an HTML page (hibernating, or behind SSO)".to_string(),
            );
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
        let token = value
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| "the answer holds no access_token".to_string())?;
        let lifetime = match value.get("expires_in") {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .map(Duration::from_secs);
        Ok((Secret::new(token.to_string()), lifetime))
    }

    /// `error` and `error_description` of an OAuth error answer, cleaned.
    fn oauth_message(&self, body: &[u8]) -> String {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let text = parsed.as_ref().and_then(|v| {
            let e = v.get("error").and_then(|e| e.as_str()).unwrap_or("");
            let d = v
                .get("error_description")
                .and_then(|e| e.as_str())
                .unwrap_or("");
            match (e.is_empty(), d.is_empty()) {
                (true, true) => None,
                (false, true) => Some(e.to_string()),
                (true, false) => Some(d.to_string()),
                (false, false) => Some(format!("{e}: {d}")),
            }
        });
        match text {
            Some(t) => self.clean(&t),
            None => "no error message".to_string(),
        }
    }

    /// The message of a ServiceNow error body, or the status text when there is none.
    fn server_message(&self, body: &[u8]) -> ServerMessage {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let message = error
            .and_then(|e| e.get("message"))
            .and_then(scalar_text)
            .map(|m| self.clean(&m))
            .filter(|m| !m.is_empty());
        let detail = error
            .and_then(|e| e.get("detail"))
            .and_then(scalar_text)
            .map(|d| self.clean(&d))
            .filter(|d| !d.is_empty());
        match (message, detail) {
            (Some(m), Some(d)) if m == d => ServerMessage::plain(&m),
            (Some(m), d) => ServerMessage {
                message: m,
                detail: d,
            },
            (None, Some(d)) => ServerMessage::plain(&d),
            (None, None) => ServerMessage::plain("no error message"),
        }
    }

    fn location_host(&self, headers: &HeaderMap) -> String {
        let Some(loc) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
            return "(no Location header)".to_string();
        };
        let base = url::Url::parse(&self.inner.base).ok();
        let target = match url::Url::parse(loc) {
            Ok(u) => Some(u),
            Err(_) => base.as_ref().and_then(|b| b.join(loc).ok()),
        };
        match target.and_then(|u| u.host_str().map(str::to_string)) {
            Some(h) => self.clean(&h),
            None => "(unreadable Location header)".to_string(),
        }
    }

    fn table_url(&self, table: &str, params: &[(&str, &str)]) -> Result<url::Url, ClientError> {
        if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(self.setup(format!(
                "'{table}' is not a table name (letters, digits and _ only)"
            )));
        }
        let mut url = url::Url::parse(&format!("{}/api/now/v2/table/{table}", self.inner.base))
            .map_err(|e| self.setup(format!("could not build the request URL ({e})")))?;
        url.query_pairs_mut().extend_pairs(params.iter());
        Ok(url)
    }

    /// One page, with retries. `sent` counts every request, token requests included.
    #[allow(clippy::too_many_arguments)]
    async fn get_page(
        &self,
        table: &str,
        query: &str,
        wanted: &HashSet<&str>,
        fields_csv: &str,
        limit: u64,
        offset: u64,
        sent: &mut u64,
    ) -> Result<Page, ClientError> {
        let limit_text = limit.to_string();
        let offset_text = offset.to_string();
        let url = self.table_url(
            table,
            &[
                ("sysparm_query", query),
                ("sysparm_fields", fields_csv),
                ("sysparm_limit", &limit_text),
                ("sysparm_offset", &offset_text),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let credential = self.credential(Some(table), sent).await?;
            let permit = self
                .inner
                .permits
                .acquire()
                .await
                .map_err(|_| self.setup("the request limiter was closed".to_string()))?;
            self.count_request(sent);
            let req = self
                .inner
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, USER_AGENT_VALUE)
                .timeout(self.inner.settings.timeout);
            let result = async {
                let resp = credential.apply(req).send().await?;
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.bytes().await;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .await;
            drop(permit);

            let (transient, wait) = match result {
                Err(e) => {
                    tracing::debug!(instance = %self.inner.name, method = "GET", target = %target, error = %root_cause(&e), "http");
                    (self.transport_error(Some(table), &e)?, None)
                }
                Ok((status, headers, body)) => {
                    tracing::debug!(instance = %self.inner.name, method = "GET", target = %target, status = status.as_u16(), "http");
                    match body {
                        Err(e) => (self.transport_error(Some(table), &e)?, None),
                        Ok(body) => {
                            if status == StatusCode::UNAUTHORIZED {
                                if let (true, false, Credential::Bearer(_, generation)) =
                                    (self.is_oauth(), refreshed, &credential)
                                {
                                    refreshed = true;
                                    self.drop_token(*generation).await;
                                    continue;
                                }
                            }
                            match self.judge(table, status, &headers, &body, wanted)? {
                                Ok(page) => return Ok(page),
                                Err(transient) => {
                                    let wait = match transient {
                                        Transient::RateLimited => retry_after(&headers),
                                        _ => None,
                                    };
                                    (transient, wait)
                                }
                            }
                        }
                    }
                }
            };
            if retries >= self.inner.settings.retries {
                return Err(self.give_up(table, transient, retries + 1));
            }
            let pause = wait
                .unwrap_or_else(|| self.backoff(retries))
                .min(self.inner.settings.max_backoff);
            tracing::debug!(instance = %self.inner.name, table, retry = retries + 1, pause_ms = pause.as_millis() as u64, "retrying");
            tokio::time::sleep(pause).await;
            retries += 1;
        }
    }

    /// Reads one answer: a page, a failure worth retrying, or a final error.
    fn judge(
        &self,
        table: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        wanted: &HashSet<&str>,
    ) -> Result<Result<Page, Transient>, ClientError> {
        let instance = self.inner.name.clone();
        let t = Some(table.to_string());
        if status.is_redirection() {
            return Err(ClientError::Redirect {
                instance,
                table: t,
                status: status.as_u16(),
                location_host: self.location_host(headers),
            });
        }
        match status.as_u16() {
            200..=299 => {}
            401 => {
                return Err(ClientError::Unauthorized {
                    instance,
                    table: t,
                    message: self.server_message(body),
                    oauth: self.is_oauth(),
                })
            }
            403 => {
                return Err(ClientError::Forbidden {
                    instance,
                    table: t,
                    message: self.server_message(body),
                })
            }
            404 => {
                return Err(ClientError::NotFound {
                    instance,
                    table: t,
                    message: self.server_message(body),
                })
            }
            400 => {
                return Err(ClientError::BadRequest {
                    instance,
                    table: t,
                    message: self.server_message(body),
                })
            }
            429 => return Ok(Err(Transient::RateLimited)),
            500..=599 => {
                return Ok(Err(Transient::Server(
                    status.as_u16(),
                    self.server_message(body),
                )))
            }
            _ => {
                return Err(ClientError::Status {
                    instance,
                    table: t,
                    status: status.as_u16(),
                    message: self.server_message(body),
                })
            }
        }
        if looks_like_html(headers, body) {
            return Err(ClientError::NotJson {
                instance,
                table: t,
                what: self.html_what(body),
            });
        }
        let parsed = match parse_body(body, wanted) {
            Ok(b) => b,
            Err(e) => {
                return match e.classify() {
                    serde_json::error::Category::Eof | serde_json::error::Category::Io => {
                        Ok(Err(Transient::Truncated))
                    }
                    serde_json::error::Category::Syntax => Err(ClientError::NotJson {
                        instance,
                        table: t,
                        what: "a body that is not JSON".to_string(),
                    }),
                    serde_json::error::Category::Data => Err(ClientError::Malformed {
                        instance,
                        table: t,
                        reason: self.clean(&e.to_string()),
                    }),
                }
            }
        };
        let rows = match parsed.result {
            Some(ResultShape::Rows(rows)) => rows,
            Some(ResultShape::Other) => {
                return Err(ClientError::Malformed {
                    instance,
                    table: t,
                    reason: "`result` is not an array".to_string(),
                })
            }
            None => {
                let reason = match parsed.error {
                    Some(m) => format!("no `result` array; the instance said: {}", self.clean(&m)),
                    None => "JSON without a `result` array".to_string(),
                };
                return Err(ClientError::Malformed {
                    instance,
                    table: t,
                    reason,
                });
            }
        };
        let total = headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let link =
            next_from_link(headers, &self.inner.base).map_err(|reason| ClientError::Paging {
                instance,
                table: t,
                reason,
            })?;
        Ok(Ok(Page { rows, total, link }))
    }

    fn html_what(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
        let lower = text.to_ascii_lowercase();
        let title = lower.find("<title").and_then(|start| {
            let open_end = lower[start..].find('>')? + start + 1;
            let close = lower[open_end..].find("</title")? + open_end;
            Some(self.clean(&text[open_end..close]))
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

/// The deepest cause of a reqwest error, without the URL.
fn root_cause(err: &reqwest::Error) -> String {
    let mut last: Option<String> = None;
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| {
        if err.is_timeout() {
            "timed out".to_string()
        } else if err.is_body() || err.is_decode() {
            "the body was cut off".to_string()
        } else {
            "request failed".to_string()
        }
    })
}

fn looks_like_tls(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string().to_ascii_lowercase();
        if ["certificate", "tls", "handshake", "rustls", "ssl"]
            .iter()
            .any(|k| text.contains(k))
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn looks_like_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let html_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"));
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    html_type || first == Some(&b'<')
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// `Retry-After` in seconds, when given as a number.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
