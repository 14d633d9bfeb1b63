//! Running the real `preclone` binary against fake instances: the config file it reads
//! ([`Inst`]), the command line ([`audit`], [`doctor`]), and what one run left ([`Run`]: exit
//! code, JSON report, stdout, stderr, wall time and the folder it ran in), with the assertions
//! the end-to-end scenarios share.
#![allow(dead_code)]

use super::fake::{FakeInstance, AUDIT_PASSWORD, AUDIT_USER, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};
use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the config tells preclone to read the audit user's password.
pub const PASSWORD_ENV: &str = "PRECLONE_TEST_PASSWORD";
/// Where the config tells preclone to read the OAuth client secret.
pub const SECRET_ENV: &str = "PRECLONE_TEST_SECRET";

/// Whether this is a CI run (`CI` set, and neither `0` nor `false`): tests that skip locally
/// without a tool or a file fail there instead.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// How the config tells preclone to log in to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    Basic,
    ClientCredentials,
    OAuthPassword,
}

/// One `[instance.NAME]` of the config file.
#[derive(Clone, Debug)]
pub struct Inst {
    pub name: &'static str,
    pub url: String,
    /// The `production` key, left out when `None`.
    pub production: Option<bool>,
    pub auth: AuthKind,
}

impl Inst {
    /// `name` at `url`, with basic auth and no `production` key.
    pub fn new(name: &'static str, url: impl Into<String>) -> Inst {
        Inst {
            name,
            url: url.into(),
            production: None,
            auth: AuthKind::Basic,
        }
    }

    pub fn auth(mut self, auth: AuthKind) -> Inst {
        self.auth = auth;
        self
    }

    /// This instance's lines of the config file.
    fn config(&self) -> String {
        let mut text = format!("[instance.{}]\nurl = \"{}\"\n", self.name, self.url);
        if let Some(p) = self.production {
            text.push_str(&format!("production = {p}\n"));
        }
        text.push_str(&match self.auth {
            AuthKind::Basic => format!(
                "auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n"
            ),
            AuthKind::ClientCredentials => format!(
                "auth = {{ type = \"oauth-client-credentials\", client_id = \"{OAUTH_CLIENT_ID}\", client_secret_env = \"{SECRET_ENV}\" }}\n\n"
            ),
            AuthKind::OAuthPassword => format!(
                "auth = {{ type = \"oauth-password\", client_id = \"{OAUTH_CLIENT_ID}\", client_secret_env = \"{SECRET_ENV}\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n"
            ),
        });
        text
    }
}

/// `name` at `url` with `production` stated and basic auth.
pub fn inst(name: &'static str, url: impl Into<String>, production: bool) -> Inst {
    Inst {
        production: Some(production),
        ..Inst::new(name, url)
    }
}

/// The usual pair: `prod` (production) as the source, `dev` as the target.
pub fn pair(prod: &FakeInstance, dev: &FakeInstance) -> [Inst; 2] {
    [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ]
}

/// The binary, with the secrets in its environment and the real clock. `CI` is set so that it
/// never shows progress, as in a pipeline.
pub fn preclone() -> Command {
    let mut cmd = Command::cargo_bin("preclone").expect("the preclone binary is built");
    cmd.env(PASSWORD_ENV, AUDIT_PASSWORD)
        .env(SECRET_ENV, OAUTH_CLIENT_SECRET)
        .env_remove("PRECLONE_FROZEN_TIME")
        .env("CI", "true");
    cmd
}

/// What one run of the binary left.
pub struct Run {
    pub code: i32,
    /// The JSON report on stdout (`Null` when stdout is not JSON).
    pub report: Value,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The folder the run worked in: its config file, and any relative output path.
    pub dir: tempfile::TempDir,
}

/// `preclone SUBCOMMAND --config preclone.toml ARGS…` in a new folder holding the config for
/// `instances`.
pub fn run(instances: &[Inst], subcommand: &str, args: &[String]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = instances.iter().map(Inst::config).collect();
    let cfg = dir.path().join("preclone.toml");
    std::fs::write(&cfg, text).expect("write config");
    let mut cmd = preclone();
    cmd.current_dir(dir.path())
        .arg(subcommand)
        .arg("--config")
        .arg(&cfg)
        .args(args);
    let started = Instant::now();
    let out = cmd.output().expect("run preclone");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        elapsed,
        dir,
    }
}

/// `preclone audit` of `instances[0]` (the source) and the rest (the targets): a JSON report on
/// stdout and `--timeout 10s`, unless `extra` names a format or a timeout. A short timeout only
/// where a case is about timeouts, so a loaded machine does not add retries to the exact request
/// counts the other cases assert.
pub fn audit(instances: &[Inst], extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["--source".into(), instances[0].name.into()];
    for i in &instances[1..] {
        args.extend(["--target".into(), i.name.into()]);
    }
    if !extra.contains(&"--format") {
        args.extend(["--format".into(), "json".into()]);
    }
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout".into(), "10s".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    run(instances, "audit", &args)
}

/// `preclone doctor` of the configured `instances`, or only of those `names` says.
pub fn doctor(instances: &[Inst], names: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["--timeout".into(), "5s".into()];
    args.extend(names.iter().map(|s| s.to_string()));
    run(instances, "doctor", &args)
}

impl Run {
    /// Every result of the report.
    pub fn all(&self) -> &[Value] {
        self.report["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The results of `check`, on every instance.
    pub fn results(&self, check: &str) -> Vec<&Value> {
        self.all().iter().filter(|r| r["check"] == check).collect()
    }

    /// The results of `check` on `instance`.
    pub fn results_on(&self, check: &str, instance: &str) -> Vec<&Value> {
        self.all()
            .iter()
            .filter(|r| r["check"] == check && r["instance"] == instance)
            .collect()
    }

    /// The results of `check` on `instance` for `subject` (by name).
    pub fn of(&self, check: &str, instance: &str, subject: &str) -> Vec<&Value> {
        self.results_on(check, instance)
            .into_iter()
            .filter(|r| r["subject"]["name"] == subject)
            .collect()
    }

    /// The status of the one result of `check` on `instance` for `subject`.
    pub fn status(&self, check: &str, instance: &str, subject: &str) -> String {
        let found = self.of(check, instance, subject);
        assert_eq!(
            found.len(),
            1,
            "{check} {instance} {subject:?}: {found:?}\n{}",
            self.problems()
        );
        found[0]["status"].as_str().unwrap_or_default().to_string()
    }

    /// The one result of `check` on `instance` for `subject` has `status`.
    pub fn expect(&self, check: &str, instance: &str, subject: &str, status: &str) {
        assert_eq!(
            self.status(check, instance, subject),
            status,
            "{check} {instance} {subject:?}\n{}",
            self.problems()
        );
    }

    /// The message of the result of `check` on `instance` for `subject` ("" when there is none).
    pub fn message(&self, check: &str, instance: &str, subject: &str) -> String {
        self.of(check, instance, subject)
            .first()
            .map(|r| r["message"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// The statuses of every result of `check`.
    pub fn statuses(&self, check: &str) -> Vec<String> {
        self.results(check)
            .iter()
            .map(|r| r["status"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Non-passing results, one line each, for assertion messages (stderr when there is no
    /// report).
    pub fn problems(&self) -> String {
        if !self.report["results"].is_array() {
            return format!("no report; stderr: {}", self.stderr);
        }
        self.all()
            .iter()
            .filter(|r| r["status"] != "pass")
            .map(|r| {
                format!(
                    "{} {} {} {} {}: {}",
                    r["status"],
                    r["severity"],
                    r["instance"],
                    r["check"],
                    r["subject"]["name"],
                    r["message"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The run exited with `code`.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            code,
            "stderr:\n{}\nproblems:\n{}",
            self.stderr,
            self.problems()
        );
    }

    /// No result of these checks on `instance` passed, and at least one of them was reported
    /// (an `error` stands where the evidence was missing).
    pub fn assert_none_passed(&self, instance: &str, checks: &[&str]) {
        let mut reported = 0;
        for c in checks {
            for r in self.results_on(c, instance) {
                reported += 1;
                assert_ne!(
                    r["status"], "pass",
                    "{c} on {instance} passed on evidence it did not have: {r}"
                );
            }
        }
        assert!(
            reported > 0,
            "no result of {checks:?} on {instance}\n{}",
            self.problems()
        );
    }

    /// `table` on `instance` is reported unreadable, with `reason` in the message.
    pub fn assert_unreadable(&self, instance: &str, table: &str, reason: &str) {
        self.expect("table-unreadable", instance, table, "error");
        let m = self.message("table-unreadable", instance, table);
        assert!(m.contains(reason), "{instance} {table}: {m}");
    }

    /// Exit 4 still writes what was collected, marked incomplete: the report's gate says 4, and
    /// no check but the coverage of what was read passes.
    pub fn assert_marked_incomplete(&self) {
        assert_eq!(self.report["gate"]["exit_code"], 4, "{}", self.stdout);
        assert_eq!(self.report["gate"]["verdict"], "incomplete");
        let results = self.all();
        assert!(!results.is_empty(), "{}", self.stdout);
        let passed: Vec<&Value> = results
            .iter()
            .filter(|r| r["status"] == "pass")
            // Coverage of what was read, and the production flag the config states.
            .filter(|r| {
                ![
                    "table-unreadable",
                    "rows-hidden-by-acl",
                    "target-is-production",
                ]
                .contains(&r["check"].as_str().unwrap_or(""))
            })
            .collect();
        assert!(passed.is_empty(), "passed without evidence: {passed:?}");
    }

    /// Every survival check of `target` passes for `user` and its MID Server `server`.
    pub fn assert_target_survives(&self, target: &str, user: &str, server: &str) {
        for c in [
            "mid-user-not-preserved",
            "mid-role-not-preserved",
            "mid-user-survives-by-source-copy",
        ] {
            self.expect(c, target, user, "pass");
        }
        self.expect("mid-server-will-go-down", target, server, "pass");
    }

    /// A file the run wrote in its folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
