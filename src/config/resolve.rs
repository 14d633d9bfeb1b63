//! An instance named on the command line → [`ResolvedInstance`]: a name of the config file, or a
//! bare URL. Secrets are read from the environment here alone, and only for the instance asked
//! for.

use super::error::{ConfigError, MissingVar};
use super::secret::{Auth, ResolvedInstance, Secret};
use super::url::{redact_userinfo, BaseUrl};
use super::validate::join_key;
use super::{AuthConfig, Config, InstanceConfig};

/// Environment variables that carry the credentials for a bare URL.
pub const URL_USERNAME_ENV: &str = "PRECLONE_USERNAME";
pub const URL_PASSWORD_ENV: &str = "PRECLONE_PASSWORD";

impl Config {
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
            return named(instance, &read);
        }
        if !name_or_url.contains("://") {
            return Err(ConfigError::UnknownInstance {
                name: name_or_url.to_string(),
                known: self.instances.keys().cloned().collect(),
                config: self.path.clone(),
            });
        }
        bare_url(name_or_url, &read)
    }
}

/// An instance of the config file, with every secret its auth names.
fn named(
    instance: &InstanceConfig,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedInstance, ConfigError> {
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
    match auth {
        Some(auth) if missing.is_empty() => Ok(ResolvedInstance::new(
            instance.name.clone(),
            &instance.url,
            instance.production,
            auth,
        )),
        _ => Err(ConfigError::MissingEnv {
            instance: instance.name.clone(),
            missing,
        }),
    }
}

/// A URL given instead of a name: basic auth from `PRECLONE_USERNAME` and `PRECLONE_PASSWORD`.
fn bare_url(
    raw: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedInstance, ConfigError> {
    let url = BaseUrl::parse(raw).map_err(|reason| ConfigError::BadUrl {
        url: redact_userinfo(raw),
        reason: reason.to_string(),
    })?;
    match (read(URL_USERNAME_ENV), read(URL_PASSWORD_ENV)) {
        (Some(username), Some(password)) => Ok(ResolvedInstance::new(
            raw.to_string(),
            &url,
            None,
            Auth::Basic {
                username,
                password: Secret::new(password),
            },
        )),
        (username, password) => {
            let mut missing = Vec::new();
            if username.is_none() {
                missing.push(URL_USERNAME_ENV.to_string());
            }
            if password.is_none() {
                missing.push(URL_PASSWORD_ENV.to_string());
            }
            Err(ConfigError::MissingUrlCredentials {
                url: url.into(),
                missing,
            })
        }
    }
}
