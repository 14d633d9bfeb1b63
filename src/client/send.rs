//! The one send loop, for the Table API `GET` and the OAuth token `POST` alike. It owns the
//! concurrency permit, request counting, the timeout, the one token refresh after a 401,
//! transport classification (connect, TLS, timeout, broken connection) and the retry schedule
//! ([`RetryPolicy`]).

use super::auth::Credential;
use super::classify::{retry_after, Answer, Context, Transient, Verdict};
use super::{Client, ClientError};
use crate::config::ClientSettings;
use reqwest::header::{ACCEPT, USER_AGENT};
use reqwest::{RequestBuilder, StatusCode};
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The ceiling of the first retry's pause; it doubles on every retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Time allowed to open a TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT_VALUE: &str = concat!("preclone/", env!("CARGO_PKG_VERSION"));

/// The one HTTP client of the process: rustls, gzip, no redirects, a connect timeout.
pub(super) fn shared_http() -> Result<reqwest::Client, String> {
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

/// The only two requests preclone ever sends: read-only by construction.
pub(super) enum Target<'a> {
    /// `GET` of one Table API page, with the instance's credential.
    Table { table: &'a str, url: &'a url::Url },
    /// `POST /oauth_token.do` with this form, before a read of `table`.
    Token {
        table: Option<&'a str>,
        form: &'a [(&'a str, &'a str)],
    },
}

impl Target<'_> {
    fn table(&self) -> Option<&str> {
        match self {
            Target::Table { table, .. } => Some(table),
            Target::Token { table, .. } => *table,
        }
    }

    fn method(&self) -> &'static str {
        match self {
            Target::Table { .. } => "GET",
            Target::Token { .. } => "POST",
        }
    }

    /// Path and query, for the log.
    fn path(&self) -> String {
        match self {
            Target::Table { url, .. } => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            },
            Target::Token { .. } => "/oauth_token.do".to_string(),
        }
    }

    /// The request, still without a credential.
    fn request(&self, http: &reqwest::Client, base: &str, timeout: Duration) -> RequestBuilder {
        let req = match self {
            Target::Table { url, .. } => http.get((*url).clone()),
            Target::Token { form, .. } => http.post(format!("{base}/oauth_token.do")).form(form),
        };
        req.header(ACCEPT, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .timeout(timeout)
    }

    /// The error once all `attempts` failed, the last one for `cause`.
    fn exhausted(
        &self,
        instance: String,
        timeout: Duration,
        cause: Transient,
        attempts: u32,
    ) -> ClientError {
        let Target::Table { table, .. } = self else {
            let reason = match cause {
                Transient::RateLimited => format!("still rate limited after {attempts} attempts"),
                Transient::Server(s, m) => format!("server error {s} ({m}), {attempts} attempts"),
                Transient::Timeout => format!("no answer, {attempts} attempts"),
                Transient::Transport(r) => format!("connection failed ({r}), {attempts} attempts"),
                Transient::Truncated => format!("the answer was cut off, {attempts} attempts"),
            };
            return ClientError::Token { instance, reason };
        };
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
                after: timeout,
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
}

/// When to try again: at most `retries` more attempts; before retry `n` (from 0), a random pause
/// of up to `first` × 2ⁿ ("full jitter"), on top of the server's `Retry-After`, never more than
/// `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RetryPolicy {
    pub retries: u32,
    pub first: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub(super) fn new(settings: &ClientSettings) -> Self {
        RetryPolicy {
            retries: settings.retries,
            first: FIRST_BACKOFF,
            max: settings.max_backoff,
        }
    }

    /// The pause before retry `attempt` (0 for the first retry). A `Retry-After` is waited out
    /// (up to `max`), and the jitter spreads the retries of many requests refused at once.
    pub(super) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with(attempt, retry_after, random_fraction())
    }

    /// [`RetryPolicy::delay`] with the random draw given: `fraction` in `[0, 1]`.
    fn delay_with(&self, attempt: u32, retry_after: Option<Duration>, fraction: f64) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        let ceiling = self.first.saturating_mul(factor).min(self.max);
        let jitter_nanos = ceiling.as_nanos() as f64 * fraction.clamp(0.0, 1.0);
        let jitter = Duration::from_nanos(jitter_nanos as u64);
        retry_after
            .unwrap_or_default()
            .saturating_add(jitter)
            .min(self.max)
    }
}

/// A number in `[0, 1)`, different on every call: enough to spread retries, not for secrets.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Client {
    /// Sends `target` until `classify` takes its answer or the retries run out. `sent` counts
    /// every request, token requests included.
    pub(super) async fn send<T>(
        &self,
        target: Target<'_>,
        sent: &mut u64,
        classify: impl Fn(&Context<'_>, &Answer) -> Result<Verdict<T>, ClientError>,
    ) -> Result<T, ClientError> {
        let (policy, table) = (RetryPolicy::new(&self.inner.settings), target.table());
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            let credential = match target {
                Target::Table { table, .. } => Some(self.credential(Some(table), sent).await?),
                Target::Token { .. } => None,
            };
            let result = self.attempt(&target, credential.as_ref(), sent).await?;
            let (transient, wait) = match result {
                Err(e) => (transport(&self.context(table), &self.inner.host, &e)?, None),
                Ok(answer) => {
                    if let (
                        StatusCode::UNAUTHORIZED,
                        false,
                        Some(Credential::OAuth(_, generation)),
                    ) = (answer.status, refreshed, &credential)
                    {
                        refreshed = true;
                        self.drop_token(*generation).await;
                        continue;
                    }
                    match classify(&self.context(table), &answer)? {
                        Verdict::Done(done) => return Ok(done),
                        Verdict::Retry(t @ Transient::RateLimited) => {
                            (t, retry_after(&answer.headers))
                        }
                        Verdict::Retry(t) => (t, None),
                    }
                }
            };
            if retries >= policy.retries {
                let (instance, timeout) = (self.inner.name.clone(), self.inner.settings.timeout);
                return Err(target.exhausted(instance, timeout, transient, retries + 1));
            }
            let pause = policy.delay(retries, wait);
            tracing::debug!(instance = %self.inner.name, method = target.method(), target = %target.path(), retry = retries + 1, pause_ms = pause.as_millis() as u64, "retrying");
            tokio::time::sleep(pause).await;
            retries += 1;
        }
    }

    /// One request and its whole body, within the timeout, holding a permit and counted.
    async fn attempt(
        &self,
        target: &Target<'_>,
        credential: Option<&Credential>,
        sent: &mut u64,
    ) -> Result<Result<Answer, reqwest::Error>, ClientError> {
        let inner = &self.inner;
        let mut req = target.request(&inner.http, &inner.base, inner.settings.timeout);
        if let Some(credential) = credential {
            req = credential.apply(req);
        }
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| self.setup("the request limiter was closed".to_string()))?;
        *sent += 1;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let (method, path) = (target.method(), target.path());
        let result = async {
            let resp = req.send().await.inspect_err(|e| {
                tracing::debug!(instance = %inner.name, method, target = %path, error = %root_cause(e), "http");
            })?;
            let status = resp.status();
            tracing::debug!(instance = %inner.name, method, target = %path, status = status.as_u16(), "http");
            let headers = resp.headers().clone();
            let body = resp.bytes().await?.into();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        Ok(result.await)
    }
}

/// A request that got no whole answer: a final error when no connection could be made to
/// `host`, otherwise worth another attempt.
fn transport(cx: &Context<'_>, host: &str, err: &reqwest::Error) -> Result<Transient, ClientError> {
    let reason = cx.redact.clean(&root_cause(err));
    if err.is_connect() {
        return Err(ClientError::Connect {
            instance: cx.instance(),
            table: cx.table(),
            host: host.to_string(),
            reason,
            tls: is_tls(err),
        });
    }
    if err.is_timeout() {
        return Ok(Transient::Timeout);
    }
    Ok(Transient::Transport(reason))
}

/// The deepest cause of a reqwest error, without the URL.
fn root_cause(err: &reqwest::Error) -> String {
    let mut last: Option<String> = None;
    let mut source = StdError::source(err);
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

/// Whether a connect error is a failed TLS handshake: a rustls error among its causes, or the
/// connection closed in the middle of the handshake (tokio-rustls reports that as an
/// `io::Error` of kind `UnexpectedEof`, which nothing else in the connect phase gives). An
/// `io::Error` hides the error it wraps from `source()`, so each one is opened with `get_ref()`.
fn is_tls(err: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::UnexpectedEof {
                return true;
            }
            if io.get_ref().is_some_and(|inner| is_tls(inner)) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        retries: 4,
        first: Duration::from_millis(200),
        max: Duration::from_secs(3),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_ceiling_doubles_and_is_capped() {
        let top: Vec<Duration> = (0..6).map(|n| POLICY.delay_with(n, None, 1.0)).collect();
        assert_eq!(
            top,
            [ms(200), ms(400), ms(800), ms(1600), ms(3000), ms(3000)]
        );
        assert_eq!(POLICY.delay_with(u32::MAX, None, 1.0), ms(3000));
        for n in 0..6 {
            assert_eq!(POLICY.delay_with(n, None, 0.0), Duration::ZERO);
        }
        assert_eq!(POLICY.delay_with(1, None, 0.5), ms(200));
    }

    #[test]
    fn retry_after_is_waited_out_then_jittered_and_capped() {
        assert_eq!(POLICY.delay_with(0, Some(ms(1000)), 0.0), ms(1000));
        assert_eq!(POLICY.delay_with(0, Some(ms(1000)), 1.0), ms(1200));
        assert_eq!(POLICY.delay_with(0, Some(ms(2900)), 1.0), ms(3000));
        assert_eq!(
            POLICY.delay_with(0, Some(Duration::from_secs(600)), 0.0),
            ms(3000)
        );
        assert_eq!(POLICY.delay_with(0, Some(Duration::MAX), 1.0), ms(3000));
    }

    #[test]
    fn random_delays_stay_within_bounds_and_differ() {
        let delays: Vec<Duration> = (0..200).map(|_| POLICY.delay(2, None)).collect();
        assert!(delays.iter().all(|d| *d <= ms(800)), "{delays:?}");
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "{} distinct", distinct.len());
        for _ in 0..200 {
            let d = POLICY.delay(0, Some(ms(500)));
            assert!((ms(500)..=ms(700)).contains(&d), "{d:?}");
        }
    }

    #[test]
    fn a_huge_max_does_not_overflow() {
        let p = RetryPolicy {
            max: Duration::MAX,
            ..POLICY
        };
        assert!(p.delay_with(40, None, 1.0) >= Duration::from_secs(13_000));
        assert!(p.delay_with(40, Some(Duration::MAX), 1.0) == Duration::MAX);
    }

    #[test]
    fn a_rustls_error_is_found_inside_nested_io_errors() {
        use std::io::{Error, ErrorKind};
        let handshake = Error::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let outer = Error::other(handshake);
        assert!(is_tls(&outer));
        let refused = Error::other(Error::new(ErrorKind::ConnectionRefused, "refused"));
        assert!(!is_tls(&refused));
        let hung_up = Error::other(Error::new(ErrorKind::UnexpectedEof, "tls handshake eof"));
        assert!(is_tls(&hung_up));
        let words = Error::other("tls handshake certificate");
        assert!(!is_tls(&words), "words alone are not a TLS failure");
    }
}
