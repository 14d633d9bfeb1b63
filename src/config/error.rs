//! [`ConfigError`]: everything that can go wrong between `--config` and a resolved instance, and
//! the helpers that word its messages. No message holds a secret's value.

use std::path::{Path, PathBuf};

use super::{URL_PASSWORD_ENV, URL_USERNAME_ENV};

/// A variable named by the config (or a bare URL) that is unset or empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVar {
    /// The key that names it, e.g. `instance.dev.auth.password_env`.
    pub key: String,
    /// The variable's name.
    pub var: String,
}

/// Everything that can go wrong between `--config` and a [`ResolvedInstance`](super::ResolvedInstance). No variant holds
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

    #[error(
        "--target {name} is given {times} times; give each target once (every finding about it \
         would be reported {times} times)"
    )]
    RepeatedTarget { name: String, times: usize },

    #[error("{}", source_is_target_message(.source_name, .target, .url.as_deref()))]
    SourceIsTarget {
        /// The `--source` (not named `source`, which would make it the error's cause).
        source_name: String,
        target: String,
        /// The URL they share, when the names differ.
        url: Option<String>,
    },

    #[error(
        "--target {first} and --target {second} are the same instance ({url}); drop one of \
         them, or correct the URL of the one that is wrong"
    )]
    SameUrl {
        first: String,
        second: String,
        url: String,
    },

    #[error(
        "the run was refused before any request was sent; {} problems:\n{}\nfix them, then run again",
        .problems.len(),
        bullet_list(&.problems.iter().map(ToString::to_string).collect::<Vec<_>>())
    )]
    Run { problems: Vec<ConfigError> },
}

impl ConfigError {
    /// No error for no problem, the problem itself for one, [`ConfigError::Run`] for several.
    pub(super) fn from_problems(mut problems: Vec<ConfigError>) -> Option<ConfigError> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(ConfigError::Run { problems }),
        }
    }
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

fn source_is_target_message(source: &str, target: &str, url: Option<&str>) -> String {
    match url {
        None => format!(
            "{source} is both --source and --target: the source is the instance cloned from, a \
             target one cloned over; drop --target {source}"
        ),
        Some(url) => format!(
            "--target {target} is the source {source} under another name (both are {url}); drop \
             --target {target}, or correct the URL of the one that is wrong"
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
