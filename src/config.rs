//! Configuration: `preclone.toml` → validated [`Config`]; instance names or bare URLs →
//! [`ResolvedInstance`] with secrets read from the environment into redacting [`Secret`]s.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

use crate::finding::FailOn;
use crate::toml_check::{self, type_name};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// Base URL without a trailing slash, e.g. `https://acme.service-now.com`.
    pub url: String,
    /// `production` from the config, when set.
    pub production: Option<bool>,
    pub auth: Auth,
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

// ---------------------------------------------------------------------------------------------
// preclone.toml: load, validate (every problem at once, each named by its key path), resolve.
// ---------------------------------------------------------------------------------------------

/// The file read when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "preclone.toml";

/// Environment variables that carry the credentials for a bare URL.
pub const URL_USERNAME_ENV: &str = "PRECLONE_USERNAME";
pub const URL_PASSWORD_ENV: &str = "PRECLONE_PASSWORD";

/// Bounds of `concurrency`.
pub const MAX_CONCURRENCY: usize = 64;

/// A validated `preclone.toml`. Holds no secret: only the names of the variables that do.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file read; `None` when no file was read.
    pub path: Option<PathBuf>,
    pub fail_on: Option<FailOn>,
    pub timeout: Option<Duration>,
    /// 1..=64.
    pub concurrency: Option<usize>,
    pub instances: BTreeMap<String, InstanceConfig>,
}

/// One `[instance.NAME]` table.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub name: String,
    /// Normalised base URL (see [`normalise_url`]).
    pub url: String,
    pub production: Option<bool>,
    pub auth: AuthConfig,
}

/// How to log in, with the names of the environment variables that hold the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    Basic {
        username: String,
        password_env: String,
    },
    OAuthPassword {
        client_id: String,
        client_secret_env: String,
        username: String,
        password_env: String,
    },
    OAuthClientCredentials {
        client_id: String,
        client_secret_env: String,
    },
    Bearer {
        token_env: String,
    },
}

impl AuthConfig {
    /// The `type` value that selects this variant.
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthConfig::Basic { .. } => "basic",
            AuthConfig::OAuthPassword { .. } => "oauth-password",
            AuthConfig::OAuthClientCredentials { .. } => "oauth-client-credentials",
            AuthConfig::Bearer { .. } => "bearer",
        }
    }
}

/// A variable named by the config (or a bare URL) that is unset or empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    /// The key that names it, e.g. `instance.dev.auth.password_env`.
    pub key: String,
    /// The variable's name.
    pub var: String,
}

/// Everything that can go wrong between `--config` and a [`ResolvedInstance`]. No variant holds
/// a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {} does not exist: check the --config path, or run `preclone init` to write an example",
        .path.display()
    )]
    NotFound { path: PathBuf },

    #[error("could not read config file {}: {source}; check that it is a readable file", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "config file {} is not valid TOML: line {line}, column {column}: {message}\nfix the syntax there (run `preclone init` to see a valid example)",
        .path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "config file {} has {} problem{}:\n{}\nfix {}, then run again (run `preclone init` for a commented example of every key)",
        .path.display(),
        .problems.len(),
        if .problems.len() == 1 { "" } else { "s" },
        bullet_list(.problems),
        if .problems.len() == 1 { "it" } else { "them" }
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error("{}", unknown_instance_message(.name, .known, .config.as_deref()))]
    UnknownInstance {
        name: String,
        known: Vec<String>,
        config: Option<PathBuf>,
    },

    #[error("{}", missing_env_message(.instance, .missing))]
    MissingEnv {
        instance: String,
        missing: Vec<MissingVar>,
    },

    #[error(
        "{url}: the URL {reason}; give the instance's base URL, e.g. https://acme.service-now.com"
    )]
    BadUrl { url: String, reason: String },

    #[error(
        "{url}: a bare URL takes its credentials from {URL_USERNAME_ENV} and {URL_PASSWORD_ENV}, and {} {} not set; export both, or name an instance of the config file instead",
        .missing.join(" and "),
        if .missing.len() == 1 { "is" } else { "are" }
    )]
    MissingUrlCredentials { url: String, missing: Vec<String> },
}

fn bullet_list(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn unknown_instance_message(name: &str, known: &[String], config: Option<&Path>) -> String {
    let hint_url = if name.contains('.') && !name.contains("://") {
        format!(" (for a URL, write https://{name})")
    } else {
        String::new()
    };
    match (config, known.is_empty()) {
        (None, _) => format!(
            "unknown instance {name:?}: no config file was read, so NAME must be a URL such as \
             https://acme.service-now.com{hint_url}; or run `preclone init` to write a preclone.toml \
             that names your instances"
        ),
        (Some(path), true) => format!(
            "unknown instance {name:?}: {} defines no instances; add an [instance.{name}] table \
             there, or give a URL such as https://acme.service-now.com{hint_url}",
            path.display()
        ),
        (Some(path), false) => format!(
            "unknown instance {name:?}: {} defines {}; use one of those, or a URL such as \
             https://acme.service-now.com{hint_url}",
            path.display(),
            known.join(", ")
        ),
    }
}

fn missing_env_message(instance: &str, missing: &[MissingVar]) -> String {
    let list = missing
        .iter()
        .map(|m| format!("{} (named by {})", m.var, m.key))
        .collect::<Vec<_>>()
        .join(", ");
    let (noun, verb) = if missing.len() == 1 {
        ("variable", "is")
    } else {
        ("variables", "are")
    };
    format!(
        "instance {instance}: the environment {noun} {list} {verb} unset or empty; export {} \
         before running preclone (secrets are read from the environment only)",
        if missing.len() == 1 { "it" } else { "them" }
    )
}

/// Key names that hold a secret's value; never allowed in the file.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "api_token",
    "secret",
    "api_key",
    "apikey",
];

const TOP_KEYS: &[&str] = &["fail_on", "timeout", "concurrency", "instance"];
const INSTANCE_KEYS: &[&str] = &["url", "production", "auth"];
const AUTH_TYPES: &[&str] = &[
    "basic",
    "oauth-password",
    "oauth-client-credentials",
    "bearer",
];

fn auth_keys(auth_type: &str) -> Option<&'static [&'static str]> {
    match auth_type {
        "basic" => Some(&["type", "username", "password_env"]),
        "oauth-password" => Some(&[
            "type",
            "client_id",
            "client_secret_env",
            "username",
            "password_env",
        ]),
        "oauth-client-credentials" => Some(&["type", "client_id", "client_secret_env"]),
        "bearer" => Some(&["type", "token_env"]),
        _ => None,
    }
}

/// Every key any auth type accepts, for the message when `type` itself is wrong.
const ALL_AUTH_KEYS: &[&str] = &[
    "type",
    "username",
    "password_env",
    "client_id",
    "client_secret_env",
    "token_env",
];

/// One segment of a key path, quoted as TOML would need it.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key_segment(key)
    } else {
        format!("{parent}.{}", key_segment(key))
    }
}

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str())
}

fn secret_problem(path: &str, key: &str) -> String {
    let replacement = match key.to_ascii_lowercase().as_str() {
        "password" | "passwd" => "password_env".to_string(),
        "client_secret" => "client_secret_env".to_string(),
        "token" | "access_token" | "api_token" => "token_env".to_string(),
        _ => "the auth type's *_env key (password_env, client_secret_env or token_env)".to_string(),
    };
    format!(
        "{path}: a secret must not be written into the config file; delete it, put the value in \
         an environment variable and name that variable with {replacement}"
    )
}

/// Reports every secret-named key anywhere below `value` (the value is never looked at).
fn find_secrets(value: &toml::Value, path: &str, problems: &mut Vec<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                let child_path = join_key(path, key);
                if is_secret_key(key) {
                    problems.push(secret_problem(&child_path, key));
                } else {
                    find_secrets(child, &child_path, problems);
                }
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_secrets(item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// Reports keys of `table` outside `allowed` (secret-named keys are reported by [`find_secrets`]).
fn unknown_keys(table: &toml::Table, path: &str, allowed: &[&str], problems: &mut Vec<String>) {
    for key in table.keys() {
        if !allowed.contains(&key.as_str()) && !is_secret_key(key) {
            problems.push(format!(
                "{}: unknown key (expected one of: {})",
                join_key(path, key),
                allowed.join(", ")
            ));
        }
    }
}

/// A required, non-empty string.
fn required_str(
    table: &toml::Table,
    path: &str,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let key_path = join_key(path, key);
    match table.get(key) {
        None => {
            problems.push(format!("{key_path}: missing (this key is required)"));
            None
        }
        Some(toml::Value::String(s)) if s.trim().is_empty() => {
            problems.push(format!("{key_path}: must not be empty"));
            None
        }
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(other) => {
            problems.push(format!(
                "{key_path}: must be a string, not {}",
                type_name(other)
            ));
            None
        }
    }
}

/// A required string naming an environment variable. Its value is never echoed: a secret pasted
/// here by mistake must not reach the terminal.
fn required_env_name(
    table: &toml::Table,
    path: &str,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let name = required_str(table, path, key, problems)?;
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Some(name)
    } else {
        problems.push(format!(
            "{}: must be the NAME of an environment variable (letters, digits and _, e.g. \
             PRECLONE_PROD_PASSWORD), not the secret itself",
            join_key(path, key)
        ));
        None
    }
}

fn parse_auth(value: &toml::Value, path: &str, problems: &mut Vec<String>) -> Option<AuthConfig> {
    let toml::Value::Table(table) = value else {
        problems.push(format!(
            "{path}: must be a table such as {{ type = \"basic\", username = \"...\", \
             password_env = \"...\" }}, not {}",
            type_name(value)
        ));
        return None;
    };
    let type_path = join_key(path, "type");
    let auth_type = match table.get("type") {
        None => {
            problems.push(format!(
                "{type_path}: missing (expected one of: {})",
                AUTH_TYPES.join(", ")
            ));
            None
        }
        Some(toml::Value::String(t)) if auth_keys(t).is_some() => Some(t.as_str()),
        Some(toml::Value::String(t)) => {
            problems.push(format!(
                "{type_path}: unknown auth type {t:?} (expected one of: {})",
                AUTH_TYPES.join(", ")
            ));
            None
        }
        Some(other) => {
            problems.push(format!(
                "{type_path}: must be a string, not {} (expected one of: {})",
                type_name(other),
                AUTH_TYPES.join(", ")
            ));
            None
        }
    };
    let Some(auth_type) = auth_type else {
        unknown_keys(table, path, ALL_AUTH_KEYS, problems);
        return None;
    };
    let allowed = auth_keys(auth_type).unwrap_or(ALL_AUTH_KEYS);
    unknown_keys(table, path, allowed, problems);
    let before = problems.len();
    let auth = match auth_type {
        "basic" => {
            let username = required_str(table, path, "username", problems);
            let password_env = required_env_name(table, path, "password_env", problems);
            AuthConfig::Basic {
                username: username.unwrap_or_default(),
                password_env: password_env.unwrap_or_default(),
            }
        }
        "oauth-password" => {
            let client_id = required_str(table, path, "client_id", problems);
            let client_secret_env = required_env_name(table, path, "client_secret_env", problems);
            let username = required_str(table, path, "username", problems);
            let password_env = required_env_name(table, path, "password_env", problems);
            AuthConfig::OAuthPassword {
                client_id: client_id.unwrap_or_default(),
                client_secret_env: client_secret_env.unwrap_or_default(),
                username: username.unwrap_or_default(),
                password_env: password_env.unwrap_or_default(),
            }
        }
        "oauth-client-credentials" => {
            let client_id = required_str(table, path, "client_id", problems);
            let client_secret_env = required_env_name(table, path, "client_secret_env", problems);
            AuthConfig::OAuthClientCredentials {
                client_id: client_id.unwrap_or_default(),
                client_secret_env: client_secret_env.unwrap_or_default(),
            }
        }
        _ => {
            let token_env = required_env_name(table, path, "token_env", problems);
            AuthConfig::Bearer {
                token_env: token_env.unwrap_or_default(),
            }
        }
    };
    (problems.len() == before).then_some(auth)
}

fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_instance(
    name: &str,
    value: &toml::Value,
    problems: &mut Vec<String>,
) -> Option<InstanceConfig> {
    let path = join_key("instance", name);
    let before = problems.len();
    if !valid_instance_name(name) {
        problems.push(format!(
            "{path}: an instance name may hold only letters, digits, '-', '_' and '.'"
        ));
    }
    let toml::Value::Table(table) = value else {
        problems.push(format!(
            "{path}: must be a table ([{path}] with url and auth), not {}",
            type_name(value)
        ));
        return None;
    };
    unknown_keys(table, &path, INSTANCE_KEYS, problems);

    let url_path = join_key(&path, "url");
    let url = match table.get("url") {
        None => {
            problems.push(format!(
                "{url_path}: missing (the instance's base URL, e.g. https://acme.service-now.com)"
            ));
            None
        }
        Some(toml::Value::String(raw)) => match normalise_url(raw) {
            Ok(url) => Some(url),
            Err(reason) => {
                problems.push(format!("{url_path}: {reason}"));
                None
            }
        },
        Some(other) => {
            problems.push(format!(
                "{url_path}: must be a string, not {}",
                type_name(other)
            ));
            None
        }
    };

    let production = match table.get("production") {
        None => None,
        Some(toml::Value::Boolean(b)) => Some(*b),
        Some(other) => {
            problems.push(format!(
                "{}: must be true or false, not {}",
                join_key(&path, "production"),
                type_name(other)
            ));
            None
        }
    };

    let auth_path = join_key(&path, "auth");
    let auth = match table.get("auth") {
        None => {
            problems.push(format!(
                "{auth_path}: missing (e.g. auth = {{ type = \"basic\", username = \"...\", \
                 password_env = \"...\" }})"
            ));
            None
        }
        Some(value) => parse_auth(value, &auth_path, problems),
    };

    match (url, auth) {
        (Some(url), Some(auth)) if problems.len() == before => Some(InstanceConfig {
            name: name.to_string(),
            url,
            production,
            auth,
        }),
        _ => None,
    }
}

impl Config {
    /// `explicit` is the `--config` flag. An explicit path that does not exist is an error; with
    /// no flag, `./preclone.toml` is read if present, else the result is an empty `Config`.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                if !default.exists() {
                    return Ok(Config::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound { path: path.clone() }
            } else {
                ConfigError::Read {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        Config::parse(&text, &path)
    }

    /// Parses and validates the text of a config file; `path` is used in messages and kept in
    /// [`Config::path`]. Reports every problem at once.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let doc = toml_check::parse_table(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;

        let mut problems = Vec::new();
        find_secrets(&toml::Value::Table(doc.clone()), "", &mut problems);
        unknown_keys(&doc, "", TOP_KEYS, &mut problems);

        let fail_on = match doc.get("fail_on") {
            None => None,
            Some(toml::Value::String(s)) => match s.parse::<FailOn>() {
                Ok(level) => Some(level),
                Err(e) => {
                    problems.push(format!("fail_on: {e}"));
                    None
                }
            },
            Some(other) => {
                problems.push(format!(
                    "fail_on: must be a string (critical, high, medium, low, info or never), not {}",
                    type_name(other)
                ));
                None
            }
        };

        let timeout = match doc.get("timeout") {
            None => None,
            Some(toml::Value::String(s)) => match humantime::parse_duration(s.trim()) {
                Ok(d) if d.is_zero() => {
                    problems.push(format!("timeout: {s:?} must be longer than zero"));
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(format!(
                        "timeout: {s:?} is not a duration like \"30s\" or \"2m\""
                    ));
                    None
                }
            },
            Some(other) => {
                problems.push(format!(
                    "timeout: must be a string duration like \"30s\" or \"2m\", not {}",
                    type_name(other)
                ));
                None
            }
        };

        let concurrency = match doc.get("concurrency") {
            None => None,
            Some(toml::Value::Integer(n)) => match usize::try_from(*n) {
                Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Some(n),
                _ => {
                    problems.push(format!(
                        "concurrency: {n} is out of range (1 to {MAX_CONCURRENCY})"
                    ));
                    None
                }
            },
            Some(other) => {
                problems.push(format!(
                    "concurrency: must be a whole number from 1 to {MAX_CONCURRENCY}, not {}",
                    type_name(other)
                ));
                None
            }
        };

        let mut instances = BTreeMap::new();
        match doc.get("instance") {
            None => {}
            Some(toml::Value::Table(table)) => {
                for (name, value) in table {
                    if let Some(instance) = parse_instance(name, value, &mut problems) {
                        instances.insert(name.clone(), instance);
                    }
                }
            }
            Some(other) => problems.push(format!(
                "instance: must hold tables such as [instance.prod], not {}",
                type_name(other)
            )),
        }

        if problems.is_empty() {
            Ok(Config {
                path: Some(path.to_path_buf()),
                fail_on,
                timeout,
                concurrency,
                instances,
            })
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// `name_or_url` is an instance name of the config, or a URL (then the credentials come from
    /// `PRECLONE_USERNAME` / `PRECLONE_PASSWORD`). Secrets are read through `env` here alone, and
    /// only for the instance asked for.
    pub fn resolve(
        &self,
        name_or_url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedInstance, ConfigError> {
        let read = |var: &str| env(var).filter(|v| !v.trim().is_empty());

        if let Some(instance) = self.instances.get(name_or_url) {
            let base = format!("{}.auth", join_key("instance", &instance.name));
            let mut missing = Vec::new();
            let mut secret = |key: &str, var: &str| match read(var) {
                Some(value) => Some(Secret::new(value)),
                None => {
                    missing.push(MissingVar {
                        key: format!("{base}.{key}"),
                        var: var.to_string(),
                    });
                    None
                }
            };
            let auth = match &instance.auth {
                AuthConfig::Basic {
                    username,
                    password_env,
                } => secret("password_env", password_env).map(|password| Auth::Basic {
                    username: username.clone(),
                    password,
                }),
                AuthConfig::OAuthPassword {
                    client_id,
                    client_secret_env,
                    username,
                    password_env,
                } => {
                    let client_secret = secret("client_secret_env", client_secret_env);
                    let password = secret("password_env", password_env);
                    match (client_secret, password) {
                        (Some(client_secret), Some(password)) => Some(Auth::OAuthPassword {
                            client_id: client_id.clone(),
                            client_secret,
                            username: username.clone(),
                            password,
                        }),
                        _ => None,
                    }
                }
                AuthConfig::OAuthClientCredentials {
                    client_id,
                    client_secret_env,
                } => secret("client_secret_env", client_secret_env).map(|client_secret| {
                    Auth::OAuthClientCredentials {
                        client_id: client_id.clone(),
                        client_secret,
                    }
                }),
                AuthConfig::Bearer { token_env } => {
                    secret("token_env", token_env).map(|token| Auth::Bearer { token })
                }
            };
            return match auth {
                Some(auth) if missing.is_empty() => Ok(ResolvedInstance {
                    name: instance.name.clone(),
                    url: instance.url.clone(),
                    production: instance.production,
                    auth,
                }),
                _ => Err(ConfigError::MissingEnv {
                    instance: instance.name.clone(),
                    missing,
                }),
            };
        }

        if !name_or_url.contains("://") {
            return Err(ConfigError::UnknownInstance {
                name: name_or_url.to_string(),
                known: self.instances.keys().cloned().collect(),
                config: self.path.clone(),
            });
        }

        let url = normalise_url(name_or_url).map_err(|reason| ConfigError::BadUrl {
            url: redact_userinfo(name_or_url),
            reason,
        })?;
        let username = read(URL_USERNAME_ENV);
        let password = read(URL_PASSWORD_ENV);
        match (username, password) {
            (Some(username), Some(password)) => Ok(ResolvedInstance {
                name: name_or_url.to_string(),
                url,
                production: None,
                auth: Auth::Basic {
                    username,
                    password: Secret::new(password),
                },
            }),
            (username, password) => {
                let mut missing = Vec::new();
                if username.is_none() {
                    missing.push(URL_USERNAME_ENV.to_string());
                }
                if password.is_none() {
                    missing.push(URL_PASSWORD_ENV.to_string());
                }
                Err(ConfigError::MissingUrlCredentials { url, missing })
            }
        }
    }
}

/// Replaces any `user:password@` of a URL-like string with `***@`, for messages.
fn redact_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..scheme_end + 3], &rest[at..]),
        None => raw.to_string(),
    }
}

/// Checks an instance URL and returns its base URL (scheme, host and port; no trailing `/`).
///
/// `https://` is required, except `http://` to `localhost`, `127.0.0.0/8` or `[::1]`. A path
/// (other than `/`), a query, a fragment, or a user name or password in the URL is refused. The
/// error is a reason to put after the key or URL; it never repeats the URL.
pub fn normalise_url(url: &str) -> Result<String, String> {
    const SCHEME: &str = "must start with https:// (http:// is allowed only for localhost)";
    let raw = url.trim();
    let lower = raw.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(SCHEME.to_string());
    }
    let parsed = url::Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not hold a user name or password; put credentials in auth (or in \
             PRECLONE_USERNAME / PRECLONE_PASSWORD for a bare URL)"
                .to_string(),
        );
    }
    let host = match parsed.host() {
        Some(host) => host,
        None => return Err("has no host name".to_string()),
    };
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = match &host {
                url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
                url::Host::Ipv4(ip) => ip.is_loopback(),
                url::Host::Ipv6(ip) => ip.is_loopback(),
            };
            if !loopback {
                return Err(SCHEME.to_string());
            }
        }
        _ => return Err(SCHEME.to_string()),
    }
    if parsed.path() != "/" && !parsed.path().is_empty() {
        return Err(
            "must be the instance's base URL, without a path (drop everything after the host)"
                .to_string(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query (?...) or fragment (#...)".to_string());
    }
    Ok(parsed.origin().ascii_serialization())
}

/// The commented `preclone.toml` that `preclone init` writes. It parses as it stands.
pub const INIT_TEMPLATE: &str = include_str!("../templates/preclone.toml");
