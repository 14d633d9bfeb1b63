//! Runs refused before the first request (PRODUCT.md section 7): the real binary against local
//! fake instances, each refusal exiting 3 with a message that names the input and says what to
//! do, and nothing in any fake's request log.

use crate::support::estate;
use crate::support::fake::{FakeInstance, AUDIT_PASSWORD, AUDIT_USER};
use assert_cmd::Command;
use std::path::{Path, PathBuf};

const PROD_ENV: &str = "REFUSALS_PROD_PASSWORD";
const DEV_ENV: &str = "REFUSALS_DEV_PASSWORD";
const TEST_ENV: &str = "REFUSALS_TEST_PASSWORD";

/// A source and two targets served by fakes, and a folder holding a config that names them (and
/// `dev-copy`, a second name of dev's URL).
struct Estate {
    prod: FakeInstance,
    dev: FakeInstance,
    test: FakeInstance,
    dir: tempfile::TempDir,
}

impl Estate {
    fn start() -> Estate {
        let prod = FakeInstance::start(estate::instance(true));
        let dev = FakeInstance::start(estate::instance(false));
        let test = FakeInstance::start(estate::instance(false));
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = String::new();
        for (name, url, production, env) in [
            ("prod", prod.url(), true, PROD_ENV),
            ("dev", dev.url(), false, DEV_ENV),
            ("dev-copy", dev.url(), false, DEV_ENV),
            ("test", test.url(), false, TEST_ENV),
        ] {
            config.push_str(&format!(
                "[instance.{name}]\nurl = \"{url}\"\nproduction = {production}\n\
                 auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{env}\" }}\n\n"
            ));
        }
        std::fs::write(dir.path().join("preclone.toml"), config).expect("write config");
        Estate {
            prod,
            dev,
            test,
            dir,
        }
    }

    /// `preclone audit` in the config's folder, every variable set unless `unset` names it.
    fn audit(&self, args: &[&str], unset: &[&str]) -> Outcome {
        let mut cmd = Command::cargo_bin("preclone").expect("binary");
        cmd.current_dir(self.dir.path())
            .env_remove("PRECLONE_FROZEN_TIME")
            .env_remove("PRECLONE_USERNAME")
            .env_remove("PRECLONE_PASSWORD")
            .env("NO_COLOR", "1")
            .env("CI", "true");
        for var in [PROD_ENV, DEV_ENV, TEST_ENV] {
            if unset.contains(&var) {
                cmd.env_remove(var);
            } else {
                cmd.env(var, AUDIT_PASSWORD);
            }
        }
        let out = cmd.arg("audit").args(args).output().expect("run preclone");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Requests received by each fake.
    fn requests(&self) -> [(&'static str, usize); 3] {
        [
            ("prod", self.prod.requests().len()),
            ("dev", self.dev.requests().len()),
            ("test", self.test.requests().len()),
        ]
    }

    /// Asserts exit 3, every one of `says` on stderr, nothing on stdout, no request to any fake
    /// and no file left in the folder but the config.
    fn assert_refused(&self, outcome: &Outcome, says: &[&str]) {
        assert_eq!(outcome.code, 3, "stderr: {}", outcome.stderr);
        for s in says {
            assert!(
                outcome.stderr.contains(s),
                "stderr lacks {s:?}: {}",
                outcome.stderr
            );
        }
        assert!(outcome.stdout.is_empty(), "stdout: {}", outcome.stdout);
        assert_eq!(
            self.requests(),
            [("prod", 0), ("dev", 0), ("test", 0)],
            "a refused run sent requests; stderr: {}",
            outcome.stderr
        );
        assert_eq!(
            files_in(self.dir.path()),
            ["preclone.toml"],
            "a refused run wrote files"
        );
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const GOOD: &[&str] = &["--source", "prod", "--target", "dev", "--target", "test"];

/// `GOOD` and then `extra`.
fn good_and(extra: &[&str]) -> Vec<String> {
    GOOD.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn the_estate_is_audited_when_nothing_is_wrong() {
    // The control: the same estate and config do reach the fakes, so the zero counts below mean
    // the refusals came first.
    let estate = Estate::start();
    let run = estate.audit(&strs(&good_and(&["--format", "json"])), &[]);
    assert!(
        [0, 1, 2].contains(&run.code),
        "code {}; stderr: {}",
        run.code,
        run.stderr
    );
    assert!(
        estate.requests().iter().all(|(_, n)| *n > 0),
        "{:?}",
        estate.requests()
    );
}

#[test]
fn the_same_target_twice_is_refused() {
    let estate = Estate::start();
    let run = estate.audit(
        &["--source", "prod", "--target", "dev", "--target", "dev"],
        &[],
    );
    estate.assert_refused(
        &run,
        &["--target dev is given 2 times", "give each target once"],
    );
}

#[test]
fn one_url_under_two_config_names_is_refused() {
    let estate = Estate::start();
    let run = estate.audit(
        &[
            "--source", "prod", "--target", "dev", "--target", "dev-copy",
        ],
        &[],
    );
    let url = estate.dev.url();
    estate.assert_refused(
        &run,
        &[
            "--target dev and --target dev-copy are the same instance",
            url.as_str(),
            "drop one of them",
        ],
    );
}

#[test]
fn the_source_as_a_target_is_refused_by_url_and_by_name() {
    let estate = Estate::start();
    let url = estate.prod.url();
    let by_url = estate.audit(&["--source", "prod", "--target", &url], &[]);
    estate.assert_refused(
        &by_url,
        &[
            &format!("--target {url} is the source prod"),
            &format!("drop --target {url}"),
        ],
    );

    let by_name = estate.audit(&["--source", "prod", "--target", "prod"], &[]);
    estate.assert_refused(
        &by_name,
        &["prod is both --source and --target", "drop --target prod"],
    );
}

#[test]
fn every_missing_variable_of_every_instance_is_named_at_once() {
    let estate = Estate::start();
    let run = estate.audit(GOOD, &[PROD_ENV, DEV_ENV, TEST_ENV]);
    estate.assert_refused(
        &run,
        &[
            "3 problems",
            &format!("instance prod: the environment variable {PROD_ENV}"),
            &format!("instance dev: the environment variable {DEV_ENV}"),
            &format!("instance test: the environment variable {TEST_ENV}"),
            "export it",
        ],
    );
}

#[test]
fn several_kinds_of_problem_are_listed_together() {
    let estate = Estate::start();
    let run = estate.audit(
        &[
            "--source", "prod", "--target", "dev", "--target", "dev", "--target", "qa",
        ],
        &[PROD_ENV],
    );
    estate.assert_refused(
        &run,
        &[
            "refused before any request",
            "3 problems",
            "--target dev is given 2 times",
            PROD_ENV,
            "unknown instance \"qa\"",
        ],
    );
}

#[test]
fn a_report_in_a_missing_folder_is_refused() {
    let estate = Estate::start();
    let run = estate.audit(&strs(&good_and(&["-o", "nope/report.html"])), &[]);
    estate.assert_refused(
        &run,
        &[
            "-o nope/report.html",
            "the folder nope does not exist",
            "create it first",
        ],
    );
}

#[test]
fn a_report_path_that_is_a_folder_is_refused() {
    let estate = Estate::start();
    std::fs::create_dir(estate.path("report.json")).unwrap();
    let run = estate.audit(&strs(&good_and(&["-o", "report.json"])), &[]);
    std::fs::remove_dir(estate.path("report.json")).unwrap();
    estate.assert_refused(
        &run,
        &["-o report.json: this is a folder", "the path of a file"],
    );
}

/// A folder no file can be created in: read-only, or (as root, who may write anyway) `/sys`.
fn unwritable_folder(estate: &Estate) -> Option<PathBuf> {
    let dir = estate.path("locked");
    std::fs::create_dir(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if std::fs::write(&probe, "").is_err() {
            return Some(dir);
        }
        std::fs::remove_file(probe).unwrap();
    }
    std::fs::remove_dir(&dir).unwrap();
    let sys = PathBuf::from("/sys");
    (sys.is_dir() && std::fs::write(sys.join("preclone-probe"), "").is_err()).then_some(sys)
}

#[test]
fn evidence_in_a_folder_that_cannot_be_written_is_refused() {
    let estate = Estate::start();
    let Some(folder) = unwritable_folder(&estate) else {
        eprintln!("skipped: no folder here refuses a new file");
        return;
    };
    let path = folder.join("run.json");
    let path = path.to_str().unwrap();
    let run = estate.audit(&strs(&good_and(&["--save-evidence", path])), &[]);
    if folder.starts_with(estate.dir.path()) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::remove_dir(&folder).unwrap();
    }
    estate.assert_refused(
        &run,
        &[
            &format!("--save-evidence {path}: no file can be created in the folder"),
            "make it writable",
        ],
    );
}

#[test]
fn an_existing_report_is_left_whole_when_the_evidence_path_is_refused() {
    let estate = Estate::start();
    std::fs::write(estate.path("report.json"), "the previous report").unwrap();
    let run = estate.audit(
        &strs(&good_and(&[
            "-o",
            "report.json",
            "--save-evidence",
            "gone/run.json",
        ])),
        &[],
    );
    assert_eq!(
        std::fs::read_to_string(estate.path("report.json")).unwrap(),
        "the previous report"
    );
    std::fs::remove_file(estate.path("report.json")).unwrap();
    estate.assert_refused(&run, &["--save-evidence gone/run.json", "does not exist"]);
}

#[test]
fn a_zero_timeout_is_refused() {
    let estate = Estate::start();
    let run = estate.audit(&strs(&good_and(&["--timeout", "0s"])), &[]);
    estate.assert_refused(&run, &["--timeout", "longer than zero", "30s"]);
}

#[test]
fn evidence_cannot_be_saved_from_a_re_audit() {
    let estate = Estate::start();
    let run = estate.audit(
        &["--evidence", "run.json", "--save-evidence", "again.json"],
        &[],
    );
    estate.assert_refused(
        &run,
        &["--save-evidence", "cannot be used with", "--evidence"],
    );
}

#[test]
fn the_readme_and_init_name_the_same_variables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let template = preclone::config::Config::parse(
        preclone::config::INIT_TEMPLATE,
        Path::new("templates/preclone.toml"),
    )
    .expect("the init template parses");
    let env_names = |auth: &preclone::config::AuthConfig| -> Vec<String> {
        use preclone::config::AuthConfig::*;
        match auth {
            Basic { password_env, .. } => vec![password_env.clone()],
            OAuthPassword {
                client_secret_env,
                password_env,
                ..
            } => vec![client_secret_env.clone(), password_env.clone()],
            OAuthClientCredentials {
                client_secret_env, ..
            } => vec![client_secret_env.clone()],
            Bearer { token_env } => vec![token_env.clone()],
        }
    };
    let named: Vec<String> = template
        .instances
        .values()
        .flat_map(|i| env_names(&i.auth))
        .collect();

    // Each variable the README exports is one that `preclone init` names.
    let exports: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| w.split_once('=').map(|(var, _)| var))
        .filter(|var| var.starts_with("PRECLONE_"))
        .collect();
    assert!(!exports.is_empty(), "the README exports no variable");
    for var in &exports {
        assert!(
            named.iter().any(|n| n == var),
            "the README exports {var}, which the init template does not name ({named:?})"
        );
    }

    // The README's config example names the same variables as the template, instance by instance.
    let example = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml example in the README");
    let example = preclone::config::Config::parse(example, Path::new("README.md"))
        .expect("the README example parses");
    for (name, instance) in &example.instances {
        let in_template = template
            .instances
            .get(name)
            .unwrap_or_else(|| panic!("the init template has no instance {name}"));
        assert_eq!(
            env_names(&instance.auth),
            env_names(&in_template.auth),
            "instance {name}"
        );
    }
}
