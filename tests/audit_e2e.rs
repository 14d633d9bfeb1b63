//! End-to-end: the real `preclone` binary against local fake instances over real HTTP. Each
//! scenario builds a production source and its targets, runs `preclone audit`, and asserts the
//! exit code and the results of the JSON report.

mod support;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::PathBuf;
use support::estate::*;
use support::fake::*;

const PASSWORD_ENV: &str = "PRECLONE_E2E_PASSWORD";

struct Run {
    code: i32,
    report: Value,
    stdout: String,
    stderr: String,
}

impl Run {
    fn results(&self, check: &str) -> Vec<&Value> {
        self.report["results"]
            .as_array()
            .map(|a| a.iter().filter(|r| r["check"] == check).collect())
            .unwrap_or_default()
    }

    /// The status of the one result of `check` on `instance` for `subject` (by name).
    fn status(&self, check: &str, instance: &str, subject: &str) -> String {
        let found: Vec<&Value> = self
            .results(check)
            .into_iter()
            .filter(|r| r["instance"] == instance && r["subject"]["name"] == subject)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{check} {instance} {subject}: {found:?}\n{}",
            self.stdout
        );
        found[0]["status"].as_str().unwrap_or_default().to_string()
    }

    /// Non-passing results, one line each, for assertion messages.
    fn problems(&self) -> String {
        self.report["results"]
            .as_array()
            .map(|a| {
                a.iter()
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
            })
            .unwrap_or_else(|| format!("no report; stderr: {}", self.stderr))
    }

    fn statuses(&self, check: &str) -> Vec<String> {
        self.results(check)
            .iter()
            .map(|r| r["status"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

fn config(instances: &[(&str, &FakeInstance, Option<bool>)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for (name, fake, production) in instances {
        text.push_str(&format!("[instance.{name}]\nurl = \"{}\"\n", fake.url()));
        if let Some(p) = production {
            text.push_str(&format!("production = {p}\n"));
        }
        text.push_str(&format!(
            "auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n"
        ));
    }
    let path = dir.path().join("preclone.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

fn audit(instances: &[(&str, &FakeInstance, Option<bool>)], extra: &[&str]) -> Run {
    let (dir, cfg) = config(instances);
    let mut cmd = Command::cargo_bin("preclone").expect("binary");
    cmd.current_dir(dir.path())
        .env(PASSWORD_ENV, AUDIT_PASSWORD)
        .env_remove("PRECLONE_FROZEN_TIME")
        .arg("audit")
        .arg("--config")
        .arg(&cfg)
        .args(["--source", instances[0].0]);
    for (name, _, _) in &instances[1..] {
        cmd.args(["--target", name]);
    }
    cmd.args(["--format", "json", "--timeout", "5s"])
        .args(extra);
    let out = cmd.output().expect("run preclone");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        stdout,
        stderr,
    }
}

/// prod with mid.prod and its MID Server; dev with mid.dev and its MID Server.
fn estate() -> (FakeState, FakeState) {
    let mut prod = instance(true);
    mid_user(&mut prod, 100, "mid.prod", "mid-prod-01");
    let mut dev = instance(false);
    mid_user(&mut dev, 200, "mid.dev", "mid-dev-01");
    (prod, dev)
}

#[test]
fn the_three_seed_preservers_keep_the_mid_user_and_the_gate_passes() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-user-survives-by-source-copy", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-server-will-go-down", "dev", "mid-dev-01"),
        "pass"
    );
    for t in ["sys_user", "sys_user_has_role", "sys_user_grmember"] {
        assert_eq!(run.status("preserver-missing", "prod", t), "pass");
    }
    // The seed's dot-walked conditions are flagged (medium), below the default gate.
    assert_eq!(
        run.status("preserver-dot-walked", "prod", "MID server user has role"),
        "fail"
    );
    assert_eq!(
        run.status("prod-foreign-mid-user", "prod", "mid.prod"),
        "pass"
    );
    assert_eq!(run.report["gate"]["verdict"], "pass");
    // Every preserver condition was evaluated by the target, restricted to MID-related rows.
    let evals: Vec<String> = dev
        .requests()
        .iter()
        .filter_map(|r| r.query.get("sysparm_query").cloned())
        .filter(|q| q.starts_with("roles=mid_server^"))
        .collect();
    assert!(
        evals
            .iter()
            .any(|q| q == &format!("roles=mid_server^sys_idIN{}", sid(200))),
        "{evals:?}"
    );
}

#[test]
fn without_preservers_the_mid_server_goes_down_and_the_gate_fails() {
    let (prod, dev) = estate();
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.dev"),
        "fail"
    );
    assert_eq!(
        run.status("mid-server-will-go-down", "dev", "mid-dev-01"),
        "fail"
    );
    for t in ["sys_user", "sys_user_has_role", "sys_user_grmember"] {
        assert_eq!(run.status("preserver-missing", "prod", t), "fail");
    }
    // Not reported for a user that will not exist.
    assert!(run
        .results("mid-role-not-preserved")
        .iter()
        .all(|r| r["instance"] != "dev"));
    assert_eq!(run.report["impact"][0]["mid_server"], "mid-dev-01");
    assert!(run.stderr.contains("exit 1"), "{}", run.stderr);
}

#[test]
fn every_mid_user_kept_in_production_survives_but_exposes_production() {
    let (mut prod, dev) = estate();
    // Solution 1 of the clone tip: dev's MID user also lives in prod (another sys_id).
    mid_user(&mut prod, 300, "mid.dev", "");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.problems());
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-user-survives-by-source-copy", "dev", "mid.dev"),
        "fail"
    );
    assert_eq!(
        run.status("mid-server-will-go-down", "dev", "mid-dev-01"),
        "pass"
    );
    assert_eq!(
        run.status("prod-foreign-mid-user", "prod", "mid.dev"),
        "fail"
    );
    assert_eq!(
        run.status("prod-shared-mid-credential", "prod", "mid.dev"),
        "fail"
    );
    let foreign = run
        .results("prod-foreign-mid-user")
        .into_iter()
        .find(|r| r["subject"]["name"] == "mid.dev")
        .cloned()
        .unwrap_or_default();
    assert!(
        foreign["message"]
            .as_str()
            .unwrap_or("")
            .contains("mid-dev-01"),
        "{foreign}"
    );
}

#[test]
fn a_role_granted_through_a_group_the_source_lacks_is_lost() {
    let mut prod = instance(true);
    mid_user(&mut prod, 100, "mid.prod", "mid-prod-01");
    seed_preservers(&mut prod);
    let mut dev = instance(false);
    let group = sid(900);
    dev.insert(
        "sys_user_group",
        json!({"sys_id": group, "name": "Discovery MIDs", "parent": ""}),
    );
    dev.insert(
        "sys_group_has_role",
        json!({"sys_id": sid(901), "group": group, "role": MID_ROLE}),
    );
    let u = sid(210);
    dev.add_user_with(
        "mid.disc",
        json!({"sys_id": u, "web_service_access_only": "true"}),
    );
    dev.insert(
        "sys_user_grmember",
        json!({"sys_id": sid(211), "user": u, "group": group}),
    );
    // The platform's inherited row for the group's role.
    dev.insert("sys_user_has_role", json!({"sys_id": sid(212), "user": u, "role": MID_ROLE, "inherited": "true", "state": "active"}));
    dev.add_mid_server("mid-disc-01", "mid.disc", "Up");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.problems());
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.disc"),
        "pass"
    );
    assert_eq!(
        run.status("mid-membership-not-preserved", "dev", "mid.disc"),
        "pass"
    );
    assert_eq!(
        run.status("mid-group-missing-in-source", "dev", "Discovery MIDs"),
        "fail"
    );
    let missing = run.results("mid-group-missing-in-source")[0].clone();
    assert_eq!(missing["severity"], "critical");
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.disc"),
        "fail"
    );
    assert_eq!(
        run.status("mid-server-will-go-down", "dev", "mid-disc-01"),
        "fail"
    );
}

#[test]
fn a_group_that_exists_in_the_source_without_the_role_is_reported() {
    let mut prod = instance(true);
    mid_user(&mut prod, 100, "mid.prod", "mid-prod-01");
    seed_preservers(&mut prod);
    let group = sid(900);
    prod.insert(
        "sys_user_group",
        json!({"sys_id": group, "name": "Discovery MIDs", "parent": ""}),
    );
    prod.insert(
        "sys_group_has_role",
        json!({"sys_id": sid(905), "group": group, "role": ITIL_ROLE}),
    );
    let mut dev = instance(false);
    let parent = sid(902);
    dev.insert(
        "sys_user_group",
        json!({"sys_id": parent, "name": "MID parents", "parent": ""}),
    );
    dev.insert(
        "sys_user_group",
        json!({"sys_id": group, "name": "Discovery MIDs", "parent": parent}),
    );
    // mid_server comes through the parent group.
    dev.insert(
        "sys_group_has_role",
        json!({"sys_id": sid(901), "group": parent, "role": MID_ROLE}),
    );
    let u = sid(210);
    dev.add_user_with(
        "mid.disc",
        json!({"sys_id": u, "web_service_access_only": "true"}),
    );
    dev.insert(
        "sys_user_grmember",
        json!({"sys_id": sid(211), "user": u, "group": group}),
    );
    dev.insert(
        "sys_user_has_role",
        json!({"sys_id": sid(212), "user": u, "role": MID_ROLE, "inherited": "true"}),
    );
    dev.add_mid_server("mid-disc-01", "mid.disc", "Up");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.problems());
    assert_eq!(
        run.status("mid-group-missing-in-source", "dev", "Discovery MIDs"),
        "pass"
    );
    assert_eq!(
        run.status("mid-group-lacks-role-in-source", "dev", "Discovery MIDs"),
        "fail"
    );
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.disc"),
        "fail"
    );
}

#[test]
fn an_equivalent_condition_written_differently_is_judged_by_what_it_matches() {
    let (mut prod, mut dev) = estate();
    prod.add_preserver("MID users by prefix", "sys_user", "user_nameSTARTSWITHmid.");
    prod.add_preserver(
        "MID roles by user prefix",
        "sys_user_has_role",
        "user.user_nameSTARTSWITHmid.",
    );
    prod.add_preserver(
        "MID memberships",
        "sys_user_grmember",
        "user.user_nameSTARTSWITHmid.",
    );
    // A user that is not a MID user but matches the prefix: over-broad.
    dev.add_user("mid.night.operator");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    assert_eq!(
        run.status("preserver-overbroad", "prod", "MID users by prefix"),
        "fail"
    );
}

#[test]
fn a_preserver_with_nq_groups_is_restricted_in_every_group() {
    let (mut prod, dev) = estate();
    prod.add_preserver(
        "MID users",
        "sys_user",
        "user_name=nobody^NQroles=mid_server^EQ",
    );
    prod.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    prod.add_preserver(
        "MID memberships",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    assert_eq!(
        run.status("mid-user-not-preserved", "dev", "mid.dev"),
        "pass"
    );
    let restricted = format!(
        "user_name=nobody^sys_idIN{0}^NQroles=mid_server^sys_idIN{0}",
        sid(200)
    );
    assert!(
        dev.requests()
            .iter()
            .any(|r| r.query.get("sysparm_query") == Some(&restricted)),
        "no request restricted every ^NQ group"
    );
}

#[test]
fn a_preserver_left_out_of_the_clone_profile_does_not_apply() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let profile = prod.insert(
        "clone_profile",
        json!({"name": "Standard", "default_profile": "true"}),
    );
    // The profile lists the user and membership preservers but not the role preserver.
    for p in prod.rows("clone_data_preserver") {
        if p["table"] != "sys_user_has_role" {
            prod.insert(
                "clone_profile_preservers",
                json!({"profile": profile, "preserver": p["sys_id"]}),
            );
        }
    }
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.problems());
    assert_eq!(
        run.status("preserver-not-applied", "prod", "MID server user has role"),
        "fail"
    );
    assert_eq!(
        run.status("preserver-not-applied", "prod", "MID server users"),
        "pass"
    );
    assert_eq!(
        run.status("preserver-missing", "prod", "sys_user_has_role"),
        "fail"
    );
    assert_eq!(
        run.status("mid-role-not-preserved", "dev", "mid.dev"),
        "fail"
    );
    assert_eq!(
        run.status("mid-server-will-go-down", "dev", "mid-dev-01"),
        "fail"
    );
}

#[test]
fn forbidden_preservers_make_the_evidence_incomplete_and_nothing_passes_on_it() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    prod.faults
        .forbidden_tables
        .insert("clone_data_preserver".into());
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    for check in [
        "preserver-missing",
        "preserver-not-applied",
        "preserver-overbroad",
        "preserver-dot-walked",
        "mid-user-not-preserved",
        "mid-role-not-preserved",
        "mid-server-will-go-down",
    ] {
        let st = run.statuses(check);
        assert!(!st.is_empty(), "{check} has no result");
        assert!(
            st.iter().all(|s| s != "pass"),
            "{check} passed without evidence: {st:?}"
        );
    }
    assert_eq!(
        run.status("table-unreadable", "prod", "clone_data_preserver"),
        "error"
    );
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    // --allow-incomplete turns 2 into 0.
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &["--allow-incomplete"],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
}

#[test]
fn bad_credentials_exit_4_without_printing_the_secret() {
    let (prod, dev) = estate();
    let prod = FakeInstance::start(prod.with_basic(AUDIT_USER, "another-password"));
    let dev = FakeInstance::start(dev);
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &["-vv"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("prod"), "{}", run.stderr);
    assert!(!run.stderr.contains(AUDIT_PASSWORD) && !run.stdout.contains(AUDIT_PASSWORD));
    // The report is still written, marked incomplete, and nothing passes on evidence not read.
    assert_eq!(run.report["gate"]["exit_code"], 4, "{}", run.stdout);
    assert_eq!(run.report["gate"]["verdict"], "incomplete");
    let passed: Vec<&Value> = run.report["results"]
        .as_array()
        .unwrap()
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
    assert!(passed.is_empty(), "{passed:?}");
    assert!(
        run.problems().contains("mid-server-will-go-down")
            || run.problems().contains("mid-user-not-preserved")
    );
}

#[test]
fn a_target_marked_production_fails_the_gate() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(true))],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.problems());
    assert_eq!(run.status("target-is-production", "dev", "dev"), "fail");
    let r = run.results("target-is-production")[0].clone();
    assert_eq!(r["severity"], "critical");
}

#[test]
fn only_get_requests_and_the_token_post_are_ever_sent() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    for fake in [&prod, &dev] {
        let reqs = fake.requests();
        assert!(!reqs.is_empty());
        for r in reqs {
            assert!(
                r.method == "GET" || (r.method == "POST" && r.path == "/oauth_token.do"),
                "{} {}",
                r.method,
                r.path
            );
            if r.method == "GET" {
                assert!(
                    r.query.contains_key("sysparm_fields"),
                    "{} without sysparm_fields",
                    r.path
                );
            }
        }
    }
}

#[test]
fn the_password_reaches_no_output_report_evidence_or_log() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let out = tempfile::tempdir().expect("tempdir");
    let files = [
        "r.json",
        "r.html",
        "r.csv",
        "r.xml",
        "r.md",
        "evidence.json",
    ];
    let mut extra: Vec<String> = vec![
        "-vv".into(),
        "--save-evidence".into(),
        out.path().join("evidence.json").display().to_string(),
    ];
    for f in &files[..5] {
        extra.push("-o".into());
        extra.push(out.path().join(f).display().to_string());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &extra,
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    assert!(
        run.stderr.contains("GET"),
        "-vv logs requests: {}",
        run.stderr
    );
    assert!(!run.stdout.contains(AUDIT_PASSWORD) && !run.stderr.contains(AUDIT_PASSWORD));
    for f in files {
        let text = std::fs::read_to_string(out.path().join(f)).expect(f);
        assert!(!text.is_empty(), "{f} is empty");
        assert!(!text.contains(AUDIT_PASSWORD), "{f} holds the password");
    }
}

#[test]
fn one_audit_of_a_source_and_two_targets_sends_a_fixed_number_of_requests() {
    let build = |extra_users: u32| {
        let (mut prod, mut dev) = estate();
        seed_preservers(&mut prod);
        let mut test = instance(false);
        mid_user(&mut test, 400, "mid.test", "mid-test-01");
        for i in 0..extra_users {
            mid_user(&mut dev, 1000 + i * 10, &format!("mid.extra{i}"), "");
        }
        (
            FakeInstance::start(prod),
            FakeInstance::start(dev),
            FakeInstance::start(test),
        )
    };
    let count = |extra: u32| {
        let (prod, dev, test) = build(extra);
        let run = audit(
            &[
                ("prod", &prod, Some(true)),
                ("dev", &dev, Some(false)),
                ("test", &test, Some(false)),
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{}", run.problems());
        let sent = prod.requests().len() + dev.requests().len() + test.requests().len();
        assert_eq!(run.report["summary"]["requests"], sent as u64);
        sent
    };
    let small = count(0);
    // Requests do not grow with the number of MID users (50 more on dev).
    assert_eq!(count(50), small);
    // Per target: 1 gate, 4 wave-1 reads and the properties, 3 user lookups (ids and logins
    // ORed into one request per table), 3 preserver counts and 3 evaluations = 15; the source:
    // 1 + 4 + its preservers, 4 clone-setup reads, the properties and 3 lookups = 14.
    assert_eq!(
        small, 44,
        "requests of one audit of one source and two targets changed"
    );
}

#[test]
fn a_hidden_mid_server_role_record_is_unreadable_not_absent() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    prod.faults.hidden_ids.insert(
        "sys_user_role".into(),
        [MID_ROLE.to_string()].into_iter().collect(),
    );
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[("prod", &prod, Some(true)), ("dev", &dev, Some(false))],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.problems());
    assert_eq!(
        run.status("rows-hidden-by-acl", "prod", "sys_user_role"),
        "error"
    );
    // Without the role record nobody could be told a MID user: nothing about them passes.
    for check in [
        "mid-user-not-preserved",
        "mid-role-not-preserved",
        "mid-server-will-go-down",
        "prod-foreign-mid-user",
    ] {
        assert!(
            run.statuses(check).iter().all(|s| s != "pass"),
            "{check}: {:?}",
            run.statuses(check)
        );
    }
}
