//! Configuration: `preclone.toml` → validated [`Config`]; instance names or bare URLs →
//! [`ResolvedInstance`] with secrets read from the environment into redacting [`Secret`]s.
//!
//! Where a change goes: a new key is read in `validate.rs` and lands in [`Config`] here; a new
//! auth type touches [`AuthConfig`], `validate.rs`, `resolve.rs` and [`Auth`]; the URL rules live
//! in [`BaseUrl`] alone; every message of a refused config is worded in `error.rs`; the
//! `[[pair]]` tables of a fleet are read in `pairs.rs`.

mod error;
mod pairs;
mod resolve;
mod secret;
mod url;
mod validate;

pub use self::url::{normalise_url, BaseUrl, UrlError};
pub use error::{ConfigError, MissingVar};
pub use resolve::{RunInstances, URL_PASSWORD_ENV, URL_USERNAME_ENV};
pub use secret::{Auth, ClientSettings, ResolvedInstance, Secret};

use crate::finding::FailOn;
use crate::toml_check;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file read when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "preclone.toml";

/// Bounds of `concurrency`.
pub const MAX_CONCURRENCY: usize = 64;

/// The commented `preclone.toml` that `preclone init` writes. It parses as it stands.
pub const INIT_TEMPLATE: &str = include_str!("../../templates/preclone.toml");

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
    /// The `[[pair]]` tables (a fleet for `audit --pairs`), in file order, names unique.
    pub pairs: Vec<PairConfig>,
}

/// One `[[pair]]` table: a source and its targets, audited together under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConfig {
    /// Unique in the file; safe in a file name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// An `[instance.NAME]` of the file.
    pub source: String,
    /// `[instance.NAME]`s of the file, at least one, each once, none the source.
    pub targets: Vec<String>,
}

/// One `[instance.NAME]` table.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub name: String,
    /// The instance's base URL, checked.
    pub url: BaseUrl,
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
    /// [`Config::path`]. Reports every problem at once, each named by its key path.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let doc = toml_check::parse_table(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;

        let mut problems = Vec::new();
        validate::top_level(&doc, &mut problems);
        let fail_on = validate::fail_on(&doc, &mut problems);
        let timeout = validate::timeout(&doc, &mut problems);
        let concurrency = validate::concurrency(&doc, &mut problems);
        let instances = validate::instances(&doc, &mut problems);
        let defined: Vec<String> = match doc.get("instance") {
            Some(toml::Value::Table(t)) => t.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let pairs = pairs::pairs(&doc, &defined, &mut problems);

        if problems.is_empty() {
            Ok(Config {
                path: Some(path.to_path_buf()),
                fail_on,
                timeout,
                concurrency,
                instances,
                pairs,
            })
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}
