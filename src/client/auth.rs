//! The credential each request carries, and the OAuth token: fetched by the one `POST` preclone
//! sends (through the same send loop as every read), shared by the clones of a client, renewed
//! a little before it expires and once after a 401.

use super::classify::{redirect_or_retry, status_text, Answer, Context, Verdict};
use super::redact::Redactor;
use super::send::Target;
use super::{Client, ClientError};
use crate::config::{Auth, Secret};
use std::time::{Duration, Instant};

/// The credential one request carries.
pub(super) enum Credential {
    Basic(String, Secret),
    /// A bearer token given in the config.
    Bearer(Secret),
    /// An OAuth token and its generation (to forget exactly that one after a 401).
    OAuth(Secret, u64),
}

impl Credential {
    pub(super) fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Basic(user, password) => req.basic_auth(user, Some(password.expose())),
            Credential::Bearer(token) | Credential::OAuth(token, _) => {
                req.bearer_auth(token.expose())
            }
        }
    }
}

/// The OAuth token of a client and its clones.
#[derive(Default)]
pub(super) struct TokenSlot {
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

/// A token and its lifetime, as the token endpoint gave them.
type Issued = (Secret, Option<Duration>);

impl TokenSlot {
    /// The current token, while it is fresh.
    fn fresh(&self) -> Option<Credential> {
        let t = self.current.as_ref()?;
        t.renew_at
            .is_none_or(|at| Instant::now() < at)
            .then(|| Credential::OAuth(t.value.clone(), t.generation))
    }

    /// Keeps a new token until a little before its lifetime ends.
    fn keep(&mut self, (value, lifetime): Issued) -> Credential {
        self.issued += 1;
        let renew_at = lifetime.map(|l| {
            let margin = (l / 10).min(Duration::from_secs(30));
            Instant::now() + l.saturating_sub(margin)
        });
        self.current = Some(Token {
            value: value.clone(),
            renew_at,
            generation: self.issued,
        });
        Credential::OAuth(value, self.issued)
    }
}

impl Client {
    pub(super) fn is_oauth(&self) -> bool {
        token_form(&self.inner.auth).is_some()
    }

    /// Every secret of this client, the current token included when it can be seen right now.
    pub(super) fn redactor(&self) -> Redactor {
        let slot = self.inner.token.try_lock().ok();
        let token = slot
            .as_ref()
            .and_then(|s| s.current.as_ref())
            .map(|t| &t.value);
        Redactor::new(&self.inner.auth, token)
    }

    /// The credential for the next request; fetches an OAuth token when none is fresh.
    pub(super) async fn credential(
        &self,
        table: Option<&str>,
        sent: &mut u64,
    ) -> Result<Credential, ClientError> {
        match &self.inner.auth {
            Auth::Basic { username, password } => {
                return Ok(Credential::Basic(username.clone(), password.clone()))
            }
            Auth::Bearer { token } => return Ok(Credential::Bearer(token.clone())),
            Auth::OAuthPassword { .. } | Auth::OAuthClientCredentials { .. } => {}
        }
        let mut slot = self.inner.token.lock().await;
        if let Some(fresh) = slot.fresh() {
            return Ok(fresh);
        }
        slot.current = None;
        // Boxed: the token request goes through the same send loop that asks for credentials.
        let issued = Box::pin(self.request_token(table, sent)).await?;
        Ok(slot.keep(issued))
    }

    /// Forgets the token of `generation` (after a 401), unless a newer one replaced it.
    pub(super) async fn drop_token(&self, generation: u64) {
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
    ) -> Result<Issued, ClientError> {
        let Some(form) = token_form(&self.inner.auth) else {
            return Err(self.setup("no OAuth settings for a token request".to_string()));
        };
        let target = Target::Token { table, form: &form };
        self.send(target, sent, token_answer).await
    }
}

/// The form of the token request, for the OAuth kinds of auth.
fn token_form(auth: &Auth) -> Option<Vec<(&str, &str)>> {
    match auth {
        Auth::OAuthPassword {
            client_id,
            client_secret,
            username,
            password,
        } => Some(vec![
            ("grant_type", "password"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
            ("username", username),
            ("password", password.expose()),
        ]),
        Auth::OAuthClientCredentials {
            client_id,
            client_secret,
        } => Some(vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ]),
        Auth::Basic { .. } | Auth::Bearer { .. } => None,
    }
}

/// What the token endpoint's answer is: a token, a failure worth another attempt, or an error.
fn token_answer(cx: &Context<'_>, answer: &Answer) -> Result<Verdict<Issued>, ClientError> {
    if let Some(transient) = redirect_or_retry(cx, answer)? {
        return Ok(Verdict::Retry(transient));
    }
    let refused = |reason: String| ClientError::Token {
        instance: cx.instance(),
        reason,
    };
    if answer.status.is_success() {
        return parse_token(answer).map(Verdict::Done).map_err(refused);
    }
    Err(refused(format!(
        "{} ({})",
        status_text(answer.status),
        oauth_message(cx, &answer.body)
    )))
}

fn parse_token(answer: &Answer) -> Result<Issued, String> {
    if super::classify::looks_like_html(&answer.headers, &answer.body) {
        return Err(
            "the instance answered with an HTML page (hibernating, or behind SSO)".to_string(),
        );
    }
    let value: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|_| "the answer is not JSON".to_string())?;
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
fn oauth_message(cx: &Context<'_>, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = parsed.as_ref().and_then(|v| {
        let field = |k: &str| v.get(k).and_then(|e| e.as_str()).unwrap_or("");
        match (field("error"), field("error_description")) {
            ("", "") => None,
            (e, "") => Some(e.to_string()),
            ("", d) => Some(d.to_string()),
            (e, d) => Some(format!("{e}: {d}")),
        }
    });
    match text {
        Some(t) => cx.redact.clean(&t),
        None => "no error message".to_string(),
    }
}
