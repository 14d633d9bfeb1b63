//! Resolved credentials and client settings: what the client is handed once the config and the
//! environment have been read. No value here prints a secret.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

use super::url::{BaseUrl, UrlError};

/// A credential. Its `Debug` and `Display` print `(redacted)`; only the client exposes it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(SecretString::from(value))
    }

    /// The clear text, for the HTTP layer alone.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// How preclone logs in to an instance, with secrets resolved.
#[derive(Clone, Debug)]
pub enum Auth {
    Basic {
        username: String,
        password: Secret,
    },
    OAuthPassword {
        client_id: String,
        client_secret: Secret,
        username: String,
        password: Secret,
    },
    OAuthClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    Bearer {
        token: Secret,
    },
}

impl Auth {
    /// The user the audit runs as, where the config names one.
    pub fn audit_user(&self) -> Option<String> {
        match self {
            Auth::Basic { username, .. } | Auth::OAuthPassword { username, .. } => {
                Some(username.clone())
            }
            Auth::OAuthClientCredentials { client_id, .. } => {
                Some(format!("OAuth client {client_id}"))
            }
            Auth::Bearer { .. } => None,
        }
    }
}

/// One instance ready to be audited.
#[derive(Clone, Debug)]
pub struct ResolvedInstance {
    /// The name the user gave: a config name, or the URL itself.
    pub name: String,
    /// Base URL without a trailing slash, e.g. `https://acme.service-now.com`. Built from a
    /// checked [`BaseUrl`] by [`ResolvedInstance::new`]; [`ResolvedInstance::base_url`] checks
    /// it again for an instance built by hand.
    pub url: String,
    /// `production` from the config, when set.
    pub production: Option<bool>,
    pub auth: Auth,
}

impl ResolvedInstance {
    pub fn new(name: String, url: &BaseUrl, production: Option<bool>, auth: Auth) -> Self {
        ResolvedInstance {
            name,
            url: url.as_str().to_string(),
            production,
            auth,
        }
    }

    /// The instance's base URL, through the one URL check.
    pub fn base_url(&self) -> Result<BaseUrl, UrlError> {
        BaseUrl::parse(&self.url)
    }
}

/// Client settings shared by every instance of a run.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Concurrent requests per instance.
    pub concurrency: usize,
    /// Retries for 429, 5xx and timeouts before giving up.
    pub retries: u32,
    /// Upper bound on one backoff or `Retry-After` sleep.
    pub max_backoff: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_secs(30),
            concurrency: 8,
            retries: 4,
            max_backoff: Duration::from_secs(60),
        }
    }
}
