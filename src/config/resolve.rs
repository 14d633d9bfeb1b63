//! An instance named on the command line → [`ResolvedInstance`]: a name of the config file, or a
//! bare URL. Secrets are read from the environment here alone, and only for the instances asked
//! for. [`Config::resolve_run`] checks the instances of one audit together (each once, no two the
//! same instance) before any request is sent.

use super::error::{ConfigError, MissingVar};
use super::secret::{Auth, ResolvedInstance, Secret};
use super::url::{redact_userinfo, BaseUrl};
use super::validate::join_key;
use super::{AuthConfig, Config, InstanceConfig};

/// The instances of one audit, each resolved once and checked together.
#[derive(Debug, Clone)]
pub struct RunInstances {
    pub source: ResolvedInstance,
    /// In command-line order.
    pub targets: Vec<ResolvedInstance>,
}

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

    /// Resolves every instance of `names`, naming every problem at once (each missing variable of
    /// each instance, each unknown name, each bad URL) rather than the first.
    pub fn resolve_all(
        &self,
        names: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<ResolvedInstance>, ConfigError> {
        let mut problems = Vec::new();
        let resolved = self.resolve_each(names.iter().map(String::as_str), env, &mut problems);
        ConfigError::from_problems(problems).map_or(Ok(resolved), Err)
    }

    /// Resolves the source and targets of one audit and checks them together, before any request:
    /// a target given twice, the source given as a target (by name or by URL), two names of one
    /// URL, and everything [`Config::resolve_all`] refuses. Every problem is named at once.
    pub fn resolve_run(
        &self,
        source: &str,
        targets: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RunInstances, ConfigError> {
        let mut problems = self.run_shape(source, targets);
        let mut unique: Vec<&str> = Vec::new();
        for target in targets {
            if target != source && !unique.contains(&target.as_str()) {
                unique.push(target);
            }
        }
        let names = std::iter::once(source).chain(unique.iter().copied());
        let mut resolved = self.resolve_each(names, env, &mut problems).into_iter();
        match (ConfigError::from_problems(problems), resolved.next()) {
            (None, Some(source)) => Ok(RunInstances {
                source,
                targets: resolved.collect(),
            }),
            (Some(err), _) => Err(err),
            (None, None) => unreachable!("the source resolved without a problem"),
        }
    }

    /// The instances named by `names`, each problem pushed to `problems`. A bare URL's missing
    /// `PRECLONE_USERNAME` or `PRECLONE_PASSWORD` is named once, not once per URL.
    fn resolve_each<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
        env: &dyn Fn(&str) -> Option<String>,
        problems: &mut Vec<ConfigError>,
    ) -> Vec<ResolvedInstance> {
        let mut resolved = Vec::new();
        for name in names {
            match self.resolve(name, env) {
                Ok(instance) => resolved.push(instance),
                Err(ConfigError::MissingUrlCredentials { missing, .. })
                    if problems.iter().any(|p| {
                        matches!(p, ConfigError::MissingUrlCredentials { missing: m, .. } if *m == missing)
                    }) => {}
                Err(err) => problems.push(err),
            }
        }
        resolved
    }

    /// What is wrong with the run as a whole, whatever the environment: a target given more than
    /// once, the source among the targets, two names of one instance URL.
    fn run_shape(&self, source: &str, targets: &[String]) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for target in targets {
            if seen.contains(&target.as_str()) {
                continue;
            }
            seen.push(target);
            let times = targets.iter().filter(|t| *t == target).count();
            if times > 1 {
                problems.push(ConfigError::RepeatedTarget {
                    name: redact_userinfo(target),
                    times,
                });
            }
            if target == source {
                problems.push(ConfigError::SourceIsTarget {
                    source_name: redact_userinfo(source),
                    target: redact_userinfo(target),
                    url: None,
                });
            }
        }
        // One instance under two names: the URLs of the config, or of bare URLs, compared.
        let mut urls: Vec<(BaseUrl, &str)> = Vec::new();
        for name in std::iter::once(source).chain(seen.into_iter().filter(|t| *t != source)) {
            let Some(url) = self.url_of(name) else {
                continue;
            };
            match urls.iter().find(|(u, _)| *u == url) {
                Some((_, first)) if *first == source => {
                    problems.push(ConfigError::SourceIsTarget {
                        source_name: source.to_string(),
                        target: name.to_string(),
                        url: Some(url.to_string()),
                    })
                }
                Some((_, first)) => problems.push(ConfigError::SameUrl {
                    first: first.to_string(),
                    second: name.to_string(),
                    url: url.to_string(),
                }),
                None => urls.push((url, name)),
            }
        }
        problems
    }

    /// The base URL `name` stands for, when it can be told without the environment: the `url` of
    /// a config instance, or the name itself when it is a valid URL.
    fn url_of(&self, name: &str) -> Option<BaseUrl> {
        match self.instances.get(name) {
            Some(instance) => Some(instance.url.clone()),
            None if name.contains("://") => BaseUrl::parse(name).ok(),
            None => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CONFIG: &str = r#"
[instance.prod]
url = "https://acme.service-now.com"
auth = { type = "basic", username = "a", password_env = "PROD_PASS" }

[instance.dev]
url = "https://acmedev.service-now.com"
auth = { type = "oauth-client-credentials", client_id = "c", client_secret_env = "DEV_SECRET" }

[instance.dev-again]
url = "https://AcmeDev.service-now.com:443/"
auth = { type = "bearer", token_env = "DEV_TOKEN" }

[instance.test]
url = "https://acmetest.service-now.com"
auth = { type = "oauth-password", client_id = "c", client_secret_env = "TEST_SECRET", username = "u", password_env = "TEST_PASS" }
"#;

    fn config() -> Config {
        Config::parse(CONFIG, Path::new("preclone.toml")).expect("valid")
    }

    fn all_set(_: &str) -> Option<String> {
        Some("set".to_string())
    }

    fn none_set(_: &str) -> Option<String> {
        None
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// The problems of a refused run, one error per problem.
    fn problems(err: ConfigError) -> Vec<ConfigError> {
        match err {
            ConfigError::Run { problems } => problems,
            one => vec![one],
        }
    }

    #[test]
    fn a_good_run_resolves_the_source_and_each_target_in_order() {
        let run = config()
            .resolve_run("prod", &names(&["test", "dev"]), &all_set)
            .expect("a good run");
        assert_eq!(run.source.name, "prod");
        let targets: Vec<&str> = run.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(targets, ["test", "dev"]);
    }

    #[test]
    fn a_target_given_twice_is_refused_once_with_its_count() {
        let err = config()
            .resolve_run("prod", &names(&["dev", "test", "dev", "dev"]), &all_set)
            .expect_err("dev three times");
        match &err {
            ConfigError::RepeatedTarget { name, times } => {
                assert_eq!((name.as_str(), *times), ("dev", 3));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("give each target once"), "{err}");
    }

    #[test]
    fn the_source_as_a_target_is_refused_by_name_and_by_url() {
        let by_name = config()
            .resolve_run("prod", &names(&["prod"]), &all_set)
            .expect_err("by name");
        assert!(
            matches!(&by_name, ConfigError::SourceIsTarget { url: None, .. }),
            "{by_name:?}"
        );
        assert!(
            by_name.to_string().contains("drop --target prod"),
            "{by_name}"
        );

        let url = "https://ACME.service-now.com/";
        let by_url = config()
            .resolve_run("prod", &names(&[url]), &all_set)
            .expect_err("by URL");
        match &by_url {
            ConfigError::SourceIsTarget {
                source_name,
                target,
                url: Some(shared),
            } => {
                assert_eq!(source_name, "prod");
                assert_eq!(target, url);
                assert_eq!(shared, "https://acme.service-now.com");
            }
            other => panic!("{other:?}"),
        }

        // A bare URL source and a config name of the same instance.
        let err = config()
            .resolve_run("https://acme.service-now.com", &names(&["prod"]), &all_set)
            .expect_err("the other way round");
        assert!(
            matches!(&err, ConfigError::SourceIsTarget { target, url: Some(_), .. } if target == "prod"),
            "{err:?}"
        );
    }

    #[test]
    fn two_names_of_one_url_are_refused_naming_both() {
        let err = config()
            .resolve_run("prod", &names(&["dev", "test", "dev-again"]), &all_set)
            .expect_err("dev and dev-again are one instance");
        match &err {
            ConfigError::SameUrl { first, second, url } => {
                assert_eq!(
                    (first.as_str(), second.as_str(), url.as_str()),
                    ("dev", "dev-again", "https://acmedev.service-now.com")
                );
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("--target dev and --target dev-again"),
            "{text}"
        );

        // Two spellings of one bare URL.
        let err = config()
            .resolve_run(
                "prod",
                &names(&["https://q.service-now.com", "https://Q.service-now.com:443"]),
                &all_set,
            )
            .expect_err("one URL twice");
        assert!(matches!(err, ConfigError::SameUrl { .. }), "{err:?}");
    }

    #[test]
    fn every_missing_variable_of_every_instance_is_named_at_once() {
        let set_only = |var: &str| (var == "TEST_SECRET").then(|| "set".to_string());
        let err = config()
            .resolve_run("prod", &names(&["dev", "test"]), &set_only)
            .expect_err("variables missing");
        let missing: Vec<(String, Vec<String>)> = problems(err)
            .into_iter()
            .map(|p| match p {
                ConfigError::MissingEnv { instance, missing } => {
                    (instance, missing.into_iter().map(|m| m.var).collect())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let want = [
            ("prod", vec!["PROD_PASS"]),
            ("dev", vec!["DEV_SECRET"]),
            ("test", vec!["TEST_PASS"]),
        ];
        let want: Vec<(String, Vec<String>)> = want
            .iter()
            .map(|(i, v)| (i.to_string(), names(v)))
            .collect();
        assert_eq!(missing, want);
    }

    #[test]
    fn a_run_with_several_problems_lists_them_all_in_one_message() {
        let err = config()
            .resolve_run(
                "prod",
                &names(&[
                    "dev",
                    "dev",
                    "qa",
                    "https://b.service-now.com",
                    "https://c.service-now.com",
                ]),
                &none_set,
            )
            .expect_err("many problems");
        let text = err.to_string();
        let list = problems(err);
        // dev twice; prod and dev without variables; qa unknown; the bare URLs' variables once.
        assert_eq!(list.len(), 5, "{text}");
        assert!(
            matches!(list[0], ConfigError::RepeatedTarget { .. }),
            "{text}"
        );
        assert!(
            matches!(list[3], ConfigError::UnknownInstance { .. }),
            "{text}"
        );
        assert!(
            matches!(list[4], ConfigError::MissingUrlCredentials { .. }),
            "{text}"
        );
        assert!(text.contains("refused before any request"), "{text}");
        assert!(text.contains("5 problems"), "{text}");
        assert_eq!(text.matches("PRECLONE_USERNAME").count(), 2, "{text}");
    }

    #[test]
    fn a_repeated_url_with_a_password_is_not_echoed() {
        let bad = "https://admin:pw-Zq9@acme.service-now.com";
        let err = config()
            .resolve_run("dev", &names(&[bad, bad]), &all_set)
            .expect_err("userinfo, twice");
        let text = err.to_string();
        assert!(!text.contains("pw-Zq9"), "{text}");
        assert!(text.contains("given 2 times"), "{text}");
    }

    #[test]
    fn resolve_all_names_every_instance_that_does_not_resolve() {
        let err = config()
            .resolve_all(&names(&["prod", "nope", "dev"]), &none_set)
            .expect_err("three problems");
        assert_eq!(problems(err).len(), 3);
        let all = config()
            .resolve_all(&names(&["prod", "dev"]), &all_set)
            .expect("both resolve");
        assert_eq!(all.len(), 2);
    }
}
