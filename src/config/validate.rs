//! Key-by-key validation of `preclone.toml`. Every function pushes each problem it finds, named
//! by its key path, and goes on: the file's problems are reported all at once.

use std::collections::BTreeMap;
use std::time::Duration;

use super::url::BaseUrl;
use super::{AuthConfig, InstanceConfig, MAX_CONCURRENCY};
use crate::finding::FailOn;
use crate::toml_check::{self, type_name, NoText};

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

const TOP_KEYS: &[&str] = &["fail_on", "timeout", "concurrency", "instance", "pair"];
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

/// The keys of the file itself: no secret anywhere, no unknown top-level key.
pub(super) fn top_level(doc: &toml::Table, problems: &mut Vec<String>) {
    find_secrets_in(doc, "", problems);
    unknown_keys(doc, "", TOP_KEYS, problems);
}

/// `fail_on`: a severity or `never`.
pub(super) fn fail_on(doc: &toml::Table, problems: &mut Vec<String>) -> Option<FailOn> {
    match doc.get("fail_on") {
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
    }
}

/// `timeout`: a duration longer than zero, written like `"30s"`.
pub(super) fn timeout(doc: &toml::Table, problems: &mut Vec<String>) -> Option<Duration> {
    match doc.get("timeout") {
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
    }
}

/// `concurrency`: a whole number from 1 to [`MAX_CONCURRENCY`].
pub(super) fn concurrency(doc: &toml::Table, problems: &mut Vec<String>) -> Option<usize> {
    match doc.get("concurrency") {
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
    }
}

/// The `[instance.NAME]` tables; an instance with a problem is left out.
pub(super) fn instances(
    doc: &toml::Table,
    problems: &mut Vec<String>,
) -> BTreeMap<String, InstanceConfig> {
    let mut instances = BTreeMap::new();
    match doc.get("instance") {
        None => {}
        Some(toml::Value::Table(table)) => {
            for (name, value) in table {
                if let Some(instance) = parse_instance(name, value, problems) {
                    instances.insert(name.clone(), instance);
                }
            }
        }
        Some(other) => problems.push(format!(
            "instance: must hold tables such as [instance.prod], not {}",
            type_name(other)
        )),
    }
    instances
}

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

pub(super) fn join_key(parent: &str, key: &str) -> String {
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
        toml::Value::Table(table) => find_secrets_in(table, path, problems),
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_secrets(item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

fn find_secrets_in(table: &toml::Table, path: &str, problems: &mut Vec<String>) {
    for (key, child) in table {
        let child_path = join_key(path, key);
        if is_secret_key(key) {
            problems.push(secret_problem(&child_path, key));
        } else {
            find_secrets(child, &child_path, problems);
        }
    }
}

/// Reports keys of `table` outside `allowed` (secret-named keys are reported by [`find_secrets`]).
pub(super) fn unknown_keys(
    table: &toml::Table,
    path: &str,
    allowed: &[&str],
    problems: &mut Vec<String>,
) {
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
pub(super) fn required_str(
    table: &toml::Table,
    path: &str,
    key: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let key_path = join_key(path, key);
    toml_check::required_str(table, key)
        .map_err(|why| {
            problems.push(match why {
                NoText::Missing => format!("{key_path}: missing (this key is required)"),
                NoText::Empty => format!("{key_path}: must not be empty"),
                NoText::NotAString(t) => format!("{key_path}: must be a string, not {t}"),
            })
        })
        .ok()
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

pub(super) fn valid_instance_name(name: &str) -> bool {
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
        Some(toml::Value::String(raw)) => match BaseUrl::parse(raw) {
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
