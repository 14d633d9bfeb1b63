//! Config file validation, instance resolution and URL rules of `preclone.toml`.

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

use preclone::config::{
    normalise_url, Auth, AuthConfig, BaseUrl, Config, ConfigError, ResolvedInstance, UrlError,
    INIT_TEMPLATE,
};
use preclone::finding::FailOn;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const README_EXAMPLE: &str = r#"
fail_on = "high"          # optional defaults for --fail-on, --timeout, --concurrency
timeout = "30s"
concurrency = 8

[instance.prod]
url = "https://acme.service-now.com"
production = true         # optional; otherwise glide.installation.production decides, where readable
auth = { type = "basic", username = "preclone.audit", password_env = "PRECLONE_PROD_PASSWORD" }

[instance.dev]
url = "https://acmedev.service-now.com"
production = false
auth = { type = "oauth-client-credentials", client_id = "0a1b...", client_secret_env = "PRECLONE_DEV_SECRET" }
# also: type = "oauth-password" (client_id, client_secret_env, username, password_env)
#       type = "bearer" (token_env)
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("preclone.toml"))
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected validation problems, got {other:?}"),
    }
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn readme_example_parses_with_every_value() {
    let config = parse(README_EXAMPLE).expect("the README example is valid");
    assert_eq!(config.path.as_deref(), Some(Path::new("preclone.toml")));
    assert_eq!(config.fail_on, Some(FailOn::High));
    assert_eq!(config.timeout, Some(Duration::from_secs(30)));
    assert_eq!(config.concurrency, Some(8));
    assert_eq!(
        config.instances.keys().collect::<Vec<_>>(),
        vec!["dev", "prod"]
    );
    let prod = &config.instances["prod"];
    assert_eq!(prod.name, "prod");
    assert_eq!(prod.url, "https://acme.service-now.com");
    assert_eq!(prod.production, Some(true));
    assert_eq!(
        prod.auth,
        AuthConfig::Basic {
            username: "preclone.audit".into(),
            password_env: "PRECLONE_PROD_PASSWORD".into()
        }
    );
    let dev = &config.instances["dev"];
    assert_eq!(dev.production, Some(false));
    assert_eq!(
        dev.auth,
        AuthConfig::OAuthClientCredentials {
            client_id: "0a1b...".into(),
            client_secret_env: "PRECLONE_DEV_SECRET".into()
        }
    );
}

#[test]
fn optional_keys_may_be_left_out() {
    let config = parse(
        r#"
[instance.x]
url = "https://x.service-now.com/"
auth = { type = "bearer", token_env = "X_TOKEN" }
"#,
    )
    .expect("valid");
    assert_eq!(config.fail_on, None);
    assert_eq!(config.timeout, None);
    assert_eq!(config.concurrency, None);
    assert_eq!(config.instances["x"].production, None);
    // the trailing slash is dropped
    assert_eq!(config.instances["x"].url, "https://x.service-now.com");
}

#[test]
fn every_auth_type_parses_and_resolves_from_the_environment() {
    let text = r#"
timeout = "2m"
[instance.b]
url = "https://b.service-now.com"
auth = { type = "basic", username = "u.b", password_env = "B_PASS" }
[instance.op]
url = "https://op.service-now.com"
[instance.op.auth]
type = "oauth-password"
client_id = "cid-op"
client_secret_env = "OP_SECRET"
username = "u.op"
password_env = "OP_PASS"
[instance.cc]
url = "https://cc.service-now.com"
auth = { type = "oauth-client-credentials", client_id = "cid-cc", client_secret_env = "CC_SECRET" }
[instance.tok]
url = "https://tok.service-now.com"
auth = { type = "bearer", token_env = "TOK_TOKEN" }
"#;
    let config = parse(text).expect("valid");
    assert_eq!(config.timeout, Some(Duration::from_secs(120)));
    let env = env_of(&[
        ("B_PASS", "pw-b"),
        ("OP_SECRET", "sec-op"),
        ("OP_PASS", "pw-op"),
        ("CC_SECRET", "sec-cc"),
        ("TOK_TOKEN", "tok-1"),
    ]);

    let b = config.resolve("b", &env).expect("basic resolves");
    assert_eq!(b.name, "b");
    assert_eq!(b.url, "https://b.service-now.com");
    match &b.auth {
        Auth::Basic { username, password } => {
            assert_eq!(username, "u.b");
            assert_eq!(password.expose(), "pw-b");
        }
        other => panic!("expected basic, got {other:?}"),
    }

    match config
        .resolve("op", &env)
        .expect("oauth-password resolves")
        .auth
    {
        Auth::OAuthPassword {
            client_id,
            client_secret,
            username,
            password,
        } => {
            assert_eq!(client_id, "cid-op");
            assert_eq!(client_secret.expose(), "sec-op");
            assert_eq!(username, "u.op");
            assert_eq!(password.expose(), "pw-op");
        }
        other => panic!("expected oauth-password, got {other:?}"),
    }

    match config
        .resolve("cc", &env)
        .expect("client credentials resolve")
        .auth
    {
        Auth::OAuthClientCredentials {
            client_id,
            client_secret,
        } => {
            assert_eq!(client_id, "cid-cc");
            assert_eq!(client_secret.expose(), "sec-cc");
        }
        other => panic!("expected client credentials, got {other:?}"),
    }

    match config.resolve("tok", &env).expect("bearer resolves").auth {
        Auth::Bearer { token } => assert_eq!(token.expose(), "tok-1"),
        other => panic!("expected bearer, got {other:?}"),
    }
}

#[test]
fn three_mistakes_give_three_problems_named_by_key() {
    let found = problems(
        r#"
fail_on = "hgih"
timeout = "soon"
[instance.prod]
url = "http://example.com"
auth = { type = "basic", username = "u", password_env = "P" }
"#,
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found
        .iter()
        .any(|p| p.starts_with("fail_on: ") && p.contains("hgih")));
    assert!(found
        .iter()
        .any(|p| p == "timeout: \"soon\" is not a duration like \"30s\" or \"2m\""));
    assert!(found.iter().any(|p| p
        == "instance.prod.url: must start with https:// (http:// is allowed only for localhost)"));
}

#[test]
fn misspelt_auth_key_names_the_path_and_the_expected_keys() {
    let found = problems(
        r#"
[instance.dev]
url = "https://dev.service-now.com"
auth = { type = "basic", username = "u", pasword_env = "P" }
"#,
    );
    assert!(found.contains(
        &"instance.dev.auth.pasword_env: unknown key (expected one of: type, username, password_env)"
            .to_string()
    ));
    assert!(found
        .iter()
        .any(|p| p.starts_with("instance.dev.auth.password_env: missing")));
}

#[test]
fn unknown_keys_and_bad_values_are_each_reported() {
    let err = parse(
        r#"
colour = "blue"
concurrency = 65
[instance.dev]
url = "https://dev.service-now.com"
production = "yes"
region = "eu"
auth = { type = "saml" }
"#,
    )
    .expect_err("invalid");
    let text = err.to_string();
    for expected in [
        "colour: unknown key (expected one of: fail_on, timeout, concurrency, instance, pair)",
        "concurrency: 65 is out of range (1 to 64)",
        "instance.dev.production: must be true or false",
        "instance.dev.region: unknown key (expected one of: url, production, auth)",
        "instance.dev.auth.type: unknown auth type \"saml\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.contains("preclone init"), "says what to do: {text}");
    match err {
        ConfigError::Invalid { problems, .. } => assert_eq!(problems.len(), 5, "{problems:#?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_instance_keys_are_reported() {
    let found = problems("[instance.dev]\nproduction = true\n");
    assert!(found
        .iter()
        .any(|p| p.starts_with("instance.dev.url: missing")));
    assert!(found
        .iter()
        .any(|p| p.starts_with("instance.dev.auth: missing")));
}

#[test]
fn literal_secret_is_rejected_without_echoing_its_value() {
    let err = parse(
        r#"
[instance.dev]
url = "https://dev.service-now.com"
auth = { type = "basic", username = "u", password_env = "P", password = "hunter2-Zq9" }
[instance.cc]
url = "https://cc.service-now.com"
auth = { type = "oauth-client-credentials", client_id = "c", client_secret = "s3cr3t-Wx7" }
[instance.t]
url = "https://t.service-now.com"
api_key = "key-Yv5"
auth = { type = "bearer", token_env = "T" }
"#,
    )
    .expect_err("secrets in the file are refused");
    let text = err.to_string();
    assert!(text.contains("instance.dev.auth.password:"), "{text}");
    assert!(text.contains("password_env"), "{text}");
    assert!(text.contains("instance.cc.auth.client_secret:"), "{text}");
    assert!(text.contains("client_secret_env"), "{text}");
    assert!(text.contains("instance.t.api_key:"), "{text}");
    for value in ["hunter2-Zq9", "s3cr3t-Wx7", "key-Yv5"] {
        assert!(!text.contains(value), "secret value echoed: {text}");
        assert!(!format!("{err:?}").contains(value), "secret value in Debug");
    }
}

#[test]
fn secret_pasted_into_an_env_key_is_not_echoed() {
    let err = parse(
        r#"
[instance.dev]
url = "https://dev.service-now.com"
auth = { type = "basic", username = "u", password_env = "pa ss!word-Qj3" }
"#,
    )
    .expect_err("not a variable name");
    let text = err.to_string();
    assert!(text
        .contains("instance.dev.auth.password_env: must be the NAME of an environment variable"));
    assert!(!text.contains("pa ss!word-Qj3"), "{text}");
}

#[test]
fn malformed_toml_names_the_file_and_position_without_quoting_the_line() {
    let err = Config::parse(
        "fail_on = \"high\"\n[instance.dev]\npassword = hunter2-Rk4\n",
        Path::new("conf/bad.toml"),
    )
    .expect_err("not TOML");
    let text = err.to_string();
    assert!(text.contains("conf/bad.toml"), "{text}");
    assert!(text.contains("line 3"), "{text}");
    assert!(!text.contains("hunter2-Rk4"), "{text}");
    assert!(
        matches!(err, ConfigError::Syntax { line: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_instance_lists_the_known_names_and_says_a_url_works() {
    let config = parse(README_EXAMPLE).expect("valid");
    let err = config.resolve("qa", &no_env).expect_err("unknown");
    assert!(matches!(err, ConfigError::UnknownInstance { .. }));
    let text = err.to_string();
    assert!(text.contains("\"qa\""), "{text}");
    assert!(text.contains("dev, prod"), "{text}");
    assert!(text.contains("URL"), "{text}");

    let empty = Config::default();
    let text = empty
        .resolve("qa", &no_env)
        .expect_err("unknown")
        .to_string();
    assert!(text.contains("preclone init"), "{text}");
}

#[test]
fn missing_env_var_names_instance_key_and_variable_but_no_value() {
    let text = r#"
[instance.op]
url = "https://op.service-now.com"
auth = { type = "oauth-password", client_id = "c", client_secret_env = "OP_SECRET", username = "u", password_env = "OP_PASS" }
"#;
    let config = parse(text).expect("valid");
    // the secret that is set must not show up; the empty one counts as missing
    let env = env_of(&[("OP_SECRET", "sec-Lm2"), ("OP_PASS", "")]);
    let err = config.resolve("op", &env).expect_err("password missing");
    let text = err.to_string();
    assert!(text.contains("instance op"), "{text}");
    assert!(text.contains("instance.op.auth.password_env"), "{text}");
    assert!(text.contains("OP_PASS"), "{text}");
    assert!(
        !text.contains("OP_SECRET"),
        "only the missing one is named: {text}"
    );
    assert!(!text.contains("sec-Lm2"), "{text}");
    assert!(!format!("{err:?}").contains("sec-Lm2"));

    // both missing: both named at once
    let err = config.resolve("op", &no_env).expect_err("both missing");
    match &err {
        ConfigError::MissingEnv { instance, missing } => {
            assert_eq!(instance, "op");
            let vars: Vec<_> = missing.iter().map(|m| m.var.as_str()).collect();
            assert_eq!(vars, ["OP_SECRET", "OP_PASS"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_only_for_loopback() {
    let reason = normalise_url("http://example.com").expect_err("plain http refused");
    assert!(reason.contains("https://"), "{reason}");
    assert_eq!(
        normalise_url("http://127.0.0.1:8080").as_deref(),
        Ok("http://127.0.0.1:8080")
    );
    assert_eq!(
        normalise_url("http://127.5.6.7:9000/").as_deref(),
        Ok("http://127.5.6.7:9000")
    );
    assert_eq!(
        normalise_url("http://localhost:3000/").as_deref(),
        Ok("http://localhost:3000")
    );
    assert_eq!(
        normalise_url("http://[::1]:8080").as_deref(),
        Ok("http://[::1]:8080")
    );
    assert!(normalise_url("http://128.0.0.1").is_err());
    assert!(normalise_url("http://localhost.example.com").is_err());
    assert!(normalise_url("ftp://acme.service-now.com").is_err());
    assert!(normalise_url("acme.service-now.com").is_err());
}

#[test]
fn urls_are_reduced_to_their_base() {
    assert_eq!(
        normalise_url("https://Acme.Service-Now.com/").as_deref(),
        Ok("https://acme.service-now.com")
    );
    assert_eq!(
        normalise_url("https://acme.service-now.com:443").as_deref(),
        Ok("https://acme.service-now.com")
    );
    assert!(normalise_url("https://acme.service-now.com/nav_to.do").is_err());
    assert!(normalise_url("https://acme.service-now.com/?x=1").is_err());
    let reason = normalise_url("https://admin:pw-Hx8@acme.service-now.com").expect_err("userinfo");
    assert!(!reason.contains("pw-Hx8"), "{reason}");
}

#[test]
fn one_url_check_for_the_file_the_command_line_and_the_client() {
    // the file's url key gives the reason BaseUrl gives, after the key path
    let refused = problems(
        r#"
[instance.q]
url = "https://q.service-now.com/?sysparm=1"
auth = { type = "bearer", token_env = "Q_TOKEN" }
"#,
    );
    assert_eq!(
        refused,
        [format!("instance.q.url: {}", UrlError::QueryOrFragment)]
    );
    // a bare URL on the command line gives the same reason
    let err = Config::default()
        .resolve("https://q.service-now.com/?sysparm=1", &no_env)
        .expect_err("query");
    assert!(
        err.to_string()
            .contains(&UrlError::QueryOrFragment.to_string()),
        "{err}"
    );

    // a resolved instance hands the client the checked base URL
    let config = parse(README_EXAMPLE).expect("valid");
    let base: &BaseUrl = &config.instances["prod"].url;
    assert_eq!(base.as_str(), "https://acme.service-now.com");
    let env = env_of(&[("PRECLONE_PROD_PASSWORD", "pw")]);
    let resolved = config.resolve("prod", &env).expect("resolves");
    assert_eq!(resolved.base_url().as_ref(), Ok(base));
    assert_eq!(resolved.url, base.as_str());
    assert_eq!(
        "http://localhost:8080/"
            .parse::<BaseUrl>()
            .map(String::from),
        Ok("http://localhost:8080".to_string())
    );
}

#[test]
fn bare_url_uses_preclone_username_and_password() {
    let config = Config::default();
    let env = env_of(&[
        ("PRECLONE_USERNAME", "audit.user"),
        ("PRECLONE_PASSWORD", "pw-Nt6"),
    ]);
    let resolved = config
        .resolve("https://acme.service-now.com/", &env)
        .expect("resolves");
    assert_eq!(resolved.name, "https://acme.service-now.com/");
    assert_eq!(resolved.url, "https://acme.service-now.com");
    assert_eq!(resolved.production, None);
    match &resolved.auth {
        Auth::Basic { username, password } => {
            assert_eq!(username, "audit.user");
            assert_eq!(password.expose(), "pw-Nt6");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bare_url_without_credentials_names_both_variables() {
    let config = Config::default();
    let text = config
        .resolve("http://127.0.0.1:8080", &no_env)
        .expect_err("no credentials")
        .to_string();
    assert!(text.contains("PRECLONE_USERNAME"), "{text}");
    assert!(text.contains("PRECLONE_PASSWORD"), "{text}");

    let only_user = env_of(&[("PRECLONE_USERNAME", "u")]);
    let err = config
        .resolve("http://127.0.0.1:8080", &only_user)
        .expect_err("no password");
    match &err {
        ConfigError::MissingUrlCredentials { missing, .. } => {
            assert_eq!(missing, &vec!["PRECLONE_PASSWORD".to_string()])
        }
        other => panic!("{other:?}"),
    }

    let err = config
        .resolve("http://example.com", &only_user)
        .expect_err("plain http");
    assert!(matches!(err, ConfigError::BadUrl { .. }), "{err:?}");
}

#[test]
fn bare_url_with_userinfo_is_refused_without_echoing_the_password() {
    let err = Config::default()
        .resolve("https://admin:pw-Vb3@acme.service-now.com", &no_env)
        .expect_err("userinfo");
    let text = err.to_string();
    assert!(!text.contains("pw-Vb3"), "{text}");
    assert!(text.contains("acme.service-now.com"), "{text}");
}

#[test]
fn init_template_parses_and_shows_every_auth_type() {
    let config = parse(INIT_TEMPLATE).expect("the init template is valid");
    let types: Vec<&str> = config
        .instances
        .values()
        .map(|i| i.auth.type_name())
        .collect();
    for t in [
        "basic",
        "oauth-password",
        "oauth-client-credentials",
        "bearer",
    ] {
        assert!(types.contains(&t), "template lacks {t}");
    }
    assert!(config.fail_on.is_some());
    assert!(config.timeout.is_some());
    assert!(config.concurrency.is_some());
    assert!(config.instances.values().any(|i| i.production.is_some()));
}

#[test]
fn debug_of_resolved_instance_hides_the_secret() {
    let config = parse(README_EXAMPLE).expect("valid");
    let env = env_of(&[("PRECLONE_PROD_PASSWORD", "pw-Debug-9Kf")]);
    let resolved: ResolvedInstance = config.resolve("prod", &env).expect("resolves");
    let debug = format!("{resolved:?}");
    assert!(!debug.contains("pw-Debug-9Kf"), "{debug}");
    assert!(debug.contains("(redacted)"), "{debug}");
    assert!(debug.contains("preclone.audit"), "{debug}");
}

#[test]
fn load_reads_a_file_and_refuses_a_missing_explicit_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.toml");
    let err = Config::load(Some(&missing)).expect_err("missing file");
    assert!(matches!(err, ConfigError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("preclone init"));
    assert!(err.to_string().contains("nope.toml"));

    let file = dir.path().join("preclone.toml");
    std::fs::write(&file, README_EXAMPLE).expect("write");
    let config = Config::load(Some(&file)).expect("loads");
    assert_eq!(config.path.as_deref(), Some(file.as_path()));
    assert_eq!(config.instances.len(), 2);
}

const FLEET: &str = r#"
[instance.prod]
url = "https://acme.service-now.com"
auth = { type = "basic", username = "preclone.audit", password_env = "PRECLONE_PROD_PASSWORD" }
[instance.dev]
url = "https://acmedev.service-now.com"
auth = { type = "basic", username = "preclone.audit", password_env = "PRECLONE_DEV_PASSWORD" }
[instance.test]
url = "https://acmetest.service-now.com"
auth = { type = "basic", username = "preclone.audit", password_env = "PRECLONE_TEST_PASSWORD" }
"#;

#[test]
fn pairs_are_read_in_file_order() {
    let text = format!(
        "{FLEET}\n[[pair]]\nname = \"prod-dev\"\nsource = \"prod\"\ntargets = [\"dev\"]\n\
         [[pair]]\nname = \"prod-all\"\nsource = \"prod\"\ntargets = [\"dev\", \"test\"]\n"
    );
    let config = parse(&text).expect("valid pairs");
    let got: Vec<(&str, &str, Vec<&str>)> = config
        .pairs
        .iter()
        .map(|p| {
            let targets = p.targets.iter().map(String::as_str).collect();
            (p.name.as_str(), p.source.as_str(), targets)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("prod-dev", "prod", vec!["dev"]),
            ("prod-all", "prod", vec!["dev", "test"])
        ]
    );
    assert!(parse(FLEET).expect("no pairs").pairs.is_empty());
    // The init template's example pair, uncommented, is valid.
    let example: String = INIT_TEMPLATE
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if ["[[pair]]", "name", "source", "targets"]
                    .iter()
                    .any(|k| rest.starts_with(k)) =>
            {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let config = parse(&example).expect("the example pair is valid");
    assert_eq!(config.pairs.len(), 1);
    assert_eq!(config.pairs[0].targets, ["dev", "test"]);
}

#[test]
fn every_problem_of_the_pairs_is_named_by_its_key() {
    let text = format!(
        r#"{FLEET}
[[pair]]
name = "a"
source = "prod"
targets = ["dev", "staging", "dev", "prod"]
region = "eu"

[[pair]]
name = "a"
source = "https://acme.service-now.com"
targets = "dev"

[[pair]]
name = "../up"
source = "prod"
targets = []

[[pair]]
source = "prod"
targets = ["test"]
"#
    );
    let found = problems(&text);
    for expected in [
        "pair[0].region: unknown key (expected one of: name, source, targets)",
        "pair[0].targets[1]: unknown instance \"staging\" (the file defines dev, prod, test)",
        "pair[0].targets[2]: \"dev\" is listed twice",
        "pair[0].targets[3]: \"prod\" is the pair's source",
        "pair[1].source: unknown instance \"https://acme.service-now.com\"",
        "pair[1].targets: must be a list of instance names",
        "pair[1].name: the pair name \"a\" is already used by pair[0]",
        "pair[2].name: \"../up\" cannot name a pair",
        "pair[2].targets: must name at least one target instance",
        "pair[3].name: missing",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "missing {expected:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 10, "{found:#?}");
    // A duplicate name is named where it repeats, with the first pair that holds it.
    let dup = format!(
        "{FLEET}[[pair]]\nname = \"a\"\nsource = \"prod\"\ntargets = [\"dev\"]\n\
         [[pair]]\nname = \"a\"\nsource = \"prod\"\ntargets = [\"test\"]\n"
    );
    let found = problems(&dup);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("pair[1].name: the pair name \"a\" is already used by pair[0]"),
        "{found:#?}"
    );
    let not_a_list = problems(&format!("pair = \"prod-dev\"\n{FLEET}"));
    assert!(not_a_list[0].starts_with("pair: must be a list of [[pair]] tables"));
}
