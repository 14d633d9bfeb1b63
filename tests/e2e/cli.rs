//! The command line: bad input gets a clear message and the documented exit code; the demo,
//! the catalogue, explain, init and the offline re-audit work without any instance.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn preclone() -> Command {
    let mut c = Command::cargo_bin("preclone").expect("binary");
    c.env_remove("PRECLONE_FROZEN_TIME").env("NO_COLOR", "1");
    c
}

#[test]
fn a_missing_config_file_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    preclone()
        .current_dir(dir.path())
        .args([
            "audit",
            "--config",
            "nope.toml",
            "--source",
            "prod",
            "--target",
            "dev",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nope.toml"))
        .stdout(predicate::str::is_empty());
}

#[test]
fn an_unknown_instance_name_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("preclone.toml"),
        "[instance.prod]\nurl = \"https://acme.service-now.com\"\nauth = { type = \"basic\", username = \"a\", password_env = \"P\" }\n",
    )
    .unwrap();
    preclone()
        .current_dir(dir.path())
        .env("P", "x")
        .args(["audit", "--source", "prod", "--target", "devv"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("devv").and(predicate::str::contains("prod")));
}

#[test]
fn malformed_toml_is_a_usage_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("preclone.toml"),
        "[instance.prod\nurl = 1\n",
    )
    .unwrap();
    preclone()
        .current_dir(dir.path())
        .args(["audit", "--source", "prod", "--target", "dev"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("preclone.toml").and(predicate::str::contains("line 1")));
}

#[test]
fn an_unreachable_host_exits_4_and_writes_an_incomplete_report() {
    // A port on loopback where nothing listens.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    preclone()
        .current_dir(dir.path())
        .env("PRECLONE_USERNAME", "u")
        .env("PRECLONE_PASSWORD", "secret-that-must-not-print")
        .args([
            "audit",
            "--source",
            &url,
            "--target",
            &format!("http://localhost:{port}"),
            "-o",
            "r.json",
            "--timeout",
            "2s",
        ])
        .assert()
        .code(4)
        .stderr(
            predicate::str::contains("127.0.0.1")
                .and(predicate::str::contains("secret-that-must-not-print").not()),
        );
    // What was collected is written, marked incomplete with the exit code.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["gate"]["exit_code"], 4);
    assert_eq!(report["gate"]["verdict"], "incomplete");
}

#[test]
fn a_plain_http_url_to_another_host_is_refused() {
    preclone()
        .env("PRECLONE_USERNAME", "u")
        .env("PRECLONE_PASSWORD", "p")
        .args([
            "audit",
            "--source",
            "http://example.com",
            "--target",
            "https://b.service-now.com",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("https://"));
}

#[test]
fn an_unknown_check_id_is_a_usage_error() {
    preclone()
        .args(["explain", "mid-user-not-preservd"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("preclone checks"));
}

#[test]
fn clap_usage_errors_exit_3_and_help_exits_0() {
    preclone()
        .args(["audit", "--no-such-flag"])
        .assert()
        .code(3);
    preclone()
        .args(["audit", "--fail-on", "severe", "--evidence", "x.json"])
        .assert()
        .code(3);
    preclone()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("audit"));
}

#[test]
fn an_unknown_report_extension_is_refused_before_anything_runs() {
    preclone()
        .args(["demo", "-o", "report.pdf"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("report.pdf"));
}

#[test]
fn explain_and_checks_describe_the_catalogue() {
    preclone()
        .args(["explain", "mid-user-not-preserved"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("critical").and(predicate::str::contains("preserver")));
    let out = preclone().args(["checks", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"mid-server-will-go-down") && ids.contains(&"rows-hidden-by-acl"));
    assert_eq!(ids.len(), preclone::checks::CATALOGUE.len());
}

#[test]
fn init_writes_a_config_that_doctor_can_read_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    preclone()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .code(0);
    let text = std::fs::read_to_string(dir.path().join("preclone.toml")).unwrap();
    assert!(text.contains("[instance."));
    preclone()
        .current_dir(dir.path())
        .arg("init")
        .assert()
        .code(3);
}

fn demo_json(extra: &[&str]) -> (i32, Value) {
    let out = preclone()
        .args(["demo", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn the_demo_exits_0_and_shows_every_check_family() {
    let (code, report) = demo_json(&[]);
    assert_eq!(code, 0);
    let results = report["results"].as_array().unwrap();
    let has = |check: &str, status: &str| {
        results
            .iter()
            .any(|r| r["check"] == check && r["status"] == status)
    };
    // Survival: a MID Server goes down.
    assert!(has("mid-server-will-go-down", "fail"));
    assert!(!report["impact"].as_array().unwrap().is_empty());
    // Preservers, exposure, coverage and waivers.
    assert!(has("preserver-not-applied", "fail") && has("preserver-dot-walked", "fail"));
    assert!(has("prod-foreign-mid-user", "fail"));
    assert!(has("rows-hidden-by-acl", "error"));
    assert!(has("waiver-expired", "fail"));
    assert!(results.iter().any(|r| r["status"] == "waived"));
    let states: Vec<&str> = report["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"active") && states.contains(&"expiring") && states.contains(&"expired"),
        "{states:?}"
    );
}

#[test]
fn the_demo_with_a_gate_fails_and_the_console_leads_with_the_verdict() {
    let (code, _) = demo_json(&["--fail-on", "high"]);
    assert_eq!(code, 1);
    let out = preclone().arg("demo").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text
        .lines()
        .find(|l| l.starts_with("PASS") || l.starts_with("FAIL") || l.starts_with("INCOMPLETE"));
    assert!(first.is_some(), "{text}");
    assert!(text.find("MID Servers that will go down").unwrap() < text.find("Findings").unwrap());
}

#[test]
fn saved_evidence_re_audits_offline_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence.json");
    let out = preclone()
        .env("PRECLONE_FROZEN_TIME", "2026-11-24T09:12:00Z")
        .args([
            "demo",
            "--format",
            "json",
            "--waivers",
            "/dev/null",
            "--save-evidence",
        ])
        .arg(&ev)
        .output()
        .unwrap();
    let live: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = preclone()
        .args([
            "audit",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--evidence",
        ])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let offline: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(live["results"], offline["results"]);
    assert_eq!(live["evidence_digest"], offline["evidence_digest"]);
    // Not evidence: a clear error.
    std::fs::write(dir.path().join("bad.json"), "{\"x\":1}").unwrap();
    preclone()
        .args(["audit", "--evidence"])
        .arg(dir.path().join("bad.json"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("evidence"));
}

#[test]
fn render_turns_evidence_and_json_reports_into_other_formats() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence.json");
    preclone()
        .args(["demo", "-q", "-o"])
        .arg(dir.path().join("r.json"))
        .arg("--save-evidence")
        .arg(&ev)
        .assert()
        .code(0);
    preclone()
        .arg("render")
        .arg(&ev)
        .arg("-o")
        .arg(dir.path().join("a.md"))
        .assert()
        .code(0);
    preclone()
        .arg("render")
        .arg(dir.path().join("r.json"))
        .arg("-o")
        .arg(dir.path().join("b.csv"))
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(dir.path().join("a.md"))
        .unwrap()
        .contains("mid-server-will-go-down"));
    assert!(std::fs::read_to_string(dir.path().join("b.csv"))
        .unwrap()
        .starts_with("check,"));
}

#[test]
fn evidence_that_lacks_an_instance_it_names_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence.json");
    preclone()
        .args(["demo", "-q", "--save-evidence"])
        .arg(&ev)
        .assert()
        .code(0);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&ev).unwrap()).unwrap();
    v["source"] = Value::from("nope");
    std::fs::write(&ev, v.to_string()).unwrap();
    preclone()
        .args(["audit", "--fail-on", "critical", "--evidence"])
        .arg(&ev)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("nope"));
}

/// An evidence file of another schema version: a version-1 file once the schema has moved on,
/// an older and a newer one. Each is refused by its version (exit 3, naming both versions) even
/// though its shape is not this build's: the version is read before the shape.
#[test]
fn evidence_of_another_schema_version_is_refused_naming_both_versions() {
    use preclone::evidence::EVIDENCE_SCHEMA_VERSION as CURRENT;
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("old.json");
    for version in [1, 0, CURRENT + 1].into_iter().filter(|v| *v != CURRENT) {
        // The top of a version-1 file, its instances cut short: not this build's shape.
        let old = serde_json::json!({
            "schema_version": version,
            "tool_version": "0.1.0",
            "run_id": "frozen-20261124T091200Z",
            "source": "prod",
            "targets": ["dev"],
            "instances": { "prod": { "name": "prod", "build_tag": "glide-xanadu" } },
        });
        std::fs::write(&ev, old.to_string()).unwrap();
        let says = format!("evidence schema {version}, this preclone reads schema {CURRENT}");
        preclone()
            .args(["audit", "--evidence"])
            .arg(&ev)
            .assert()
            .code(3)
            .stderr(predicate::str::contains(&says));
        preclone()
            .arg("render")
            .arg(&ev)
            .arg("-o")
            .arg(dir.path().join("r.md"))
            .assert()
            .code(3)
            .stderr(predicate::str::contains(&says));
    }
}

/// A report that could not be written to stdout is not a pass: `preclone demo > /dev/full`
/// exits 3 and says so. A reader that went away (`preclone demo | head`) is no failure.
#[test]
fn a_failed_write_to_stdout_is_not_a_pass_but_a_closed_pipe_is_no_failure() {
    let bin = assert_cmd::cargo::cargo_bin("preclone");
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        for args in [&["demo", "--format", "json"][..], &["checks"]] {
            let out = std::process::Command::new(&bin)
                .args(args)
                .stdout(full.try_clone().unwrap())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(3), "{args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("could not write to standard output"),
                "{stderr}"
            );
        }
    }
    let mut child = std::process::Command::new(&bin)
        .args(["demo", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closing the reading end before the report is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn quiet_runs_never_point_at_findings_above() {
    // -q prints no console report, so the closing paragraph must not say "above".
    let quiet = preclone()
        .args(["demo", "--fail-on", "high", "-q"])
        .output()
        .expect("run");
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty());
    let err = String::from_utf8_lossy(&quiet.stderr);
    assert!(!err.is_empty(), "a non-zero exit says why");
    assert!(!err.contains("findings above"), "{err}");
    // With the console shown, the same paragraph may point at it.
    let loud = preclone()
        .args(["demo", "--fail-on", "high"])
        .output()
        .expect("run");
    assert_eq!(loud.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&loud.stderr).contains("findings above"));
}

#[test]
fn a_lost_role_is_told_the_fix_of_its_cause_never_a_preserver_the_estate_applies() {
    let (_, report) = demo_json(&[]);
    let results = report["results"].as_array().expect("results");
    let disc = results
        .iter()
        .find(|r| r["check"] == "mid-role-not-preserved" && r["subject"]["name"] == "mid.disc")
        .expect("mid.disc's role result");
    assert_eq!(disc["status"], "fail");
    let fix = disc["remediation"].as_str().unwrap_or_default();
    // mid.disc holds mid_server through a group whose source row does not inherit: the fix is
    // that row, not the sys_user_has_role preserver the demo's source already applies.
    assert!(fix.contains("set inherits to true"), "{fix}");
    assert!(!fix.contains("add a preserver"), "{fix}");
}
