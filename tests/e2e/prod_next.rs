//! End-to-end: the backup a clone copies (`source-copy-in-backup-window`, PRODUCT.md 2.1 step
//! 4), non-production MID Servers registered in production (`prod-nonprod-mid-server`, with the
//! production credentials that name them as optional evidence) and the property that counts
//! every MID Server as validated (`prod-validation-override`). Each check passes, fails and ends
//! in `error` on an estate of its own; no secret of a credential or an `instance` record is ever
//! asked for or shown.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, doctor, inst, pair, run, Run};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

const LEGACY: &str = "clone_instance";
const CONSOLE: &str = "sn_instance_clone_request";
const WINDOW: &str = "source-copy-in-backup-window";
const NONPROD: &str = "prod-nonprod-mid-server";
const OVERRIDE: &str = "prod-validation-override";

/// A Table API time `hours` from now (negative: ago).
fn hours_from_now(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The one result of `check` on `instance` for `subject`, with its status, severity and the
/// subject's table asserted.
fn one<'r>(run: &'r Run, check: &str, instance: &str, subject: &str) -> &'r Value {
    let found = run.of(check, instance, subject);
    assert_eq!(found.len(), 1, "{check} {subject}\n{}", run.problems());
    found[0]
}

fn assert_result(
    run: &Run,
    check: &str,
    instance: &str,
    subject: (&str, &str),
    status: &str,
    severity: &str,
) {
    let r = one(run, check, instance, subject.1);
    assert_eq!(r["status"], status, "{r}\n{}", run.problems());
    assert_eq!(r["severity"], severity, "{r}");
    assert_eq!(r["subject"]["table"], subject.0, "{r}");
}

fn message(r: &Value) -> &str {
    r["message"].as_str().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The backup window.
// ---------------------------------------------------------------------------------------------

/// dev's mid.dev (`sid(200)`) is kept by the sys_user preserver, but nothing keeps its role row
/// (`sid(201)`): after the clone it holds mid_server only through prod's row of the same sys_id
/// (prod holds an inactive copy of the user, as a clone of production would), changed at
/// `grant_changed`. `build` adds to prod, given dev's `instance` record.
fn window_estate(
    grant_changed: &str,
    build: impl FnOnce(&mut FakeState, &str),
) -> (FakeInstance, FakeInstance) {
    let dev = FakeInstance::start(target_dev());
    let mut prod = source_prod();
    prod.add_user_with(
        "mid.dev",
        json!({"sys_id": sid(200), "active": "false", "web_service_access_only": "true"}),
    );
    prod.grant_role_with(
        &sid(200),
        MID_ROLE,
        json!({"sys_id": sid(201), "sys_created_on": LONG_AGO, "sys_updated_on": grant_changed}),
    );
    prod.add_preserver("MID server users", "sys_user", "roles=mid_server");
    prod.add_preserver("Inherited grants", "sys_user_has_role", "inherited=true");
    prod.add_preserver(
        "MID server user group membership",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
    let record = prod.add_instance_record("acmedev", &dev.url());
    build(&mut prod, &record);
    (FakeInstance::start(prod), dev)
}

fn window_run(grant_changed: &str, build: impl FnOnce(&mut FakeState, &str)) -> Run {
    let (prod, dev) = window_estate(grant_changed, build);
    audit(&pair(&prod, &dev), &["--fail-on", "medium"])
}

#[test]
fn a_login_resting_on_old_source_rows_passes_the_backup_window() {
    let run = window_run(LONG_AGO, |_, _| {});
    run.assert_code(0);
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    assert_result(
        &run,
        WINDOW,
        "dev",
        ("sys_user", "mid.dev"),
        "pass",
        "medium",
    );
    assert_eq!(
        one(&run, WINDOW, "dev", "mid.dev")["subject"]["sys_id"],
        sid(200)
    );
}

#[test]
fn a_login_resting_on_a_source_row_changed_two_hours_ago_fails_with_nothing_scheduled() {
    let changed = hours_from_now(-2);
    let run = window_run(&changed, |_, _| {});
    run.assert_code(1);
    // The survival checks judge the copy as present; this check alone warns.
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    assert_result(
        &run,
        WINDOW,
        "dev",
        ("sys_user", "mid.dev"),
        "fail",
        "medium",
    );
    let r = one(&run, WINDOW, "dev", "mid.dev");
    let m = message(r);
    assert!(m.contains("nothing is scheduled"), "{m}");
    assert!(
        m.contains(&format!("grant of role mid_server (changed {changed})")),
        "{m}"
    );
    assert_eq!(r["evidence"]["on_demand_backup"], "not asked", "{r}");
    // Nothing else reaches medium.
    let medium: Vec<&Value> = run
        .all()
        .iter()
        .filter(|r| r["status"] == "fail" && r["severity"] != "low")
        .collect();
    assert_eq!(medium.len(), 1, "{}", run.problems());
}

#[test]
fn times_not_returned_leave_the_backup_window_undecided() {
    let (mut prod_state, dev) = {
        let dev = FakeInstance::start(target_dev());
        (source_prod(), dev)
    };
    // The same estate, built by hand to hide the role row's times with a field ACL.
    prod_state.add_user_with(
        "mid.dev",
        json!({"sys_id": sid(200), "active": "false", "web_service_access_only": "true"}),
    );
    prod_state.grant_role_with(&sid(200), MID_ROLE, json!({"sys_id": sid(201)}));
    prod_state.add_preserver("MID server users", "sys_user", "roles=mid_server");
    prod_state.add_preserver("Inherited grants", "sys_user_has_role", "inherited=true");
    prod_state.add_preserver("Memberships", "sys_user_grmember", "user.roles=mid_server");
    for f in ["sys_created_on", "sys_updated_on"] {
        prod_state.omit_field("sys_user_has_role", &sid(201), f);
    }
    let prod = FakeInstance::start(prod_state);
    let run = audit(&pair(&prod, &dev), &["--fail-on", "medium"]);
    run.assert_code(2);
    assert_result(
        &run,
        WINDOW,
        "dev",
        ("sys_user", "mid.dev"),
        "error",
        "medium",
    );
    let m = message(one(&run, WINDOW, "dev", "mid.dev")).to_string();
    assert!(m.contains("was not returned"), "{m}");
}

#[test]
fn an_unreadable_source_role_table_leaves_the_backup_window_in_error() {
    let (prod, dev) = window_estate(LONG_AGO, |p, _| {
        p.faults.forbidden_tables.insert("sys_user_has_role".into());
    });
    let run = audit(&pair(&prod, &dev), &["--fail-on", "medium"]);
    run.assert_code(2);
    let found = run.results_on(WINDOW, "dev");
    assert_eq!(found.len(), 1, "{}", run.problems());
    assert_eq!(found[0]["status"], "error");
    assert_eq!(found[0]["severity"], "medium");
    assert_eq!(found[0]["subject"]["name"], "sys_user_has_role");
}

/// The status and message of the backup-window result of mid.dev under one request.
fn under_request(table: &str, fields: Value, changed: &str) -> (String, String, Value) {
    let run = window_run(changed, |p, record| {
        p.add_clone_request(table, record, fields);
    });
    let r = one(&run, WINDOW, "dev", "mid.dev").clone();
    let code = match r["status"].as_str() {
        Some("fail") => 1,
        Some("error") => 2,
        _ => 0,
    };
    run.assert_code(code);
    (
        r["status"].as_str().unwrap_or_default().to_string(),
        message(&r).to_string(),
        r,
    )
}

#[test]
fn the_window_ends_at_the_scheduled_time_not_now() {
    let changed = hours_from_now(-2);
    // In three days: the backup then is taken after the change.
    let later = hours_from_now(72);
    let (status, m, _) = under_request(
        LEGACY,
        json!({"clone_id": "CLN-LATER", "scheduled": later}),
        &changed,
    );
    assert_eq!(status, "pass", "{m}");
    // Tomorrow: the change is within 36 hours before it.
    let soon = hours_from_now(24);
    let (status, m, r) = under_request(
        LEGACY,
        json!({"clone_id": "CLN-SOON", "scheduled": soon}),
        &changed,
    );
    assert_eq!(status, "fail", "{m}");
    assert!(m.contains(&format!("scheduled {soon}")), "{m}");
    assert!(m.contains("CLN-SOON"), "{m}");
    assert_eq!(r["evidence"]["clone_time"], format!("scheduled {soon}"));
}

#[test]
fn an_unreadable_scheduled_time_is_judged_at_the_collection_time() {
    let changed = hours_from_now(-2);
    let (status, m, _) = under_request(
        LEGACY,
        json!({"clone_id": "CLN-TONIGHT", "scheduled": "tonight"}),
        &changed,
    );
    assert_eq!(status, "fail", "{m}");
    assert!(m.contains("\"tonight\" is not a time"), "{m}");
    assert!(m.contains("collection time"), "{m}");
}

#[test]
fn an_on_demand_backup_passes_and_a_legacy_request_has_none() {
    let changed = hours_from_now(-2);
    let soon = hours_from_now(24);
    let (status, m, r) = under_request(
        CONSOLE,
        json!({"request_id": "CR-FRESH", "scheduled": soon, "on_demand_backup": "true"}),
        &changed,
    );
    assert_eq!(status, "pass", "{m}");
    assert!(m.contains("on-demand backup"), "{m}");
    assert_eq!(r["evidence"]["on_demand_backup"], "asked");
    let (status, m, _) = under_request(
        CONSOLE,
        json!({"request_id": "CR-DAILY", "scheduled": soon, "on_demand_backup": "false"}),
        &changed,
    );
    assert_eq!(status, "fail", "{m}");
    // clone_instance has no on_demand_backup field: whatever its row holds, none is asked.
    let (status, m, r) = under_request(
        LEGACY,
        json!({"clone_id": "CLN-LEGACY", "scheduled": soon, "on_demand_backup": "true"}),
        &changed,
    );
    assert_eq!(status, "fail", "{m}");
    assert_eq!(r["evidence"]["on_demand_backup"], "not asked");
}

#[test]
fn a_console_request_whose_on_demand_backup_is_unknown_is_undecided() {
    let changed = hours_from_now(-2);
    let soon = hours_from_now(24);
    let run = window_run(&changed, |p, record| {
        let r = p.add_clone_request(
            CONSOLE,
            record,
            json!({"request_id": "CR-HIDDEN", "scheduled": soon, "on_demand_backup": "true"}),
        );
        p.omit_field(CONSOLE, &r, "on_demand_backup");
    });
    run.assert_code(2);
    assert_result(
        &run,
        WINDOW,
        "dev",
        ("sys_user", "mid.dev"),
        "error",
        "medium",
    );
    assert!(message(one(&run, WINDOW, "dev", "mid.dev")).contains("on_demand_backup"));
}

#[test]
fn exactly_36_hours_before_the_scheduled_time_is_inside_the_window() {
    let scheduled = "2027-03-10 12:00:00";
    let at = |changed: &str| {
        under_request(
            LEGACY,
            json!({"clone_id": "CLN-EDGE", "scheduled": scheduled}),
            changed,
        )
        .0
    };
    assert_eq!(at("2027-03-09 00:00:00"), "fail");
    assert_eq!(at("2027-03-08 23:59:59"), "pass");
}

// ---------------------------------------------------------------------------------------------
// Non-production MID Servers in production, and the validation override.
// ---------------------------------------------------------------------------------------------

/// prod and dev of the usual pair; `build` adds to prod.
fn exposure_estate(build: impl FnOnce(&mut FakeState)) -> (FakeInstance, FakeInstance) {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    build(&mut prod);
    (FakeInstance::start(prod), FakeInstance::start(target_dev()))
}

#[test]
fn production_mid_servers_of_their_own_pass() {
    let (prod, dev) = exposure_estate(|_| {});
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-prod-01"),
        "pass",
        "critical",
    );
    assert_result(&run, OVERRIDE, "prod", ("instance", "prod"), "pass", "high");
    assert!(message(one(&run, OVERRIDE, "prod", "prod")).contains("default, false"));
    // No MID Server looks like a target's: production's credentials are not read.
    let asked = prod
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/discovery_credentials"));
    assert!(!asked);
    let (prod, dev) = exposure_estate(|p| {
        p.set_property("glide.ecc_agent.validated.override", "False");
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    assert_result(&run, OVERRIDE, "prod", ("instance", "prod"), "pass", "high");
}

#[test]
fn a_dev_host_registered_in_production_fails_and_names_the_credentials_it_receives() {
    let mut agent = String::new();
    let (prod, dev) = exposure_estate(|p| {
        // dev's MID Server's name and host, in another case, logging in with prod's user.
        agent = p.add_mid_server("MID-DEV-01", "mid.prod", "Up");
        p.set_field("ecc_agent", &agent, "host_name", "Mid-Dev-01");
        p.add_credential("Linux SSH", "SSH", &[&agent]);
        let other = p.add_mid_server("mid-prod-02", "mid.prod", "Up");
        p.add_credential("Windows domain", "Windows", &[&other, &agent]);
        p.add_credential("Network SNMP", "SNMP", &[&other]);
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "MID-DEV-01"),
        "fail",
        "critical",
    );
    let r = one(&run, NONPROD, "prod", "MID-DEV-01");
    assert_eq!(r["subject"]["sys_id"], agent.as_str());
    let m = message(r);
    assert!(
        m.contains(
            "it is named mid-dev-01 and runs on host mid-dev-01 like dev's MID Server mid-dev-01"
        ),
        "{m}"
    );
    assert!(
        m.contains("it is validated, so it receives production's credentials"),
        "{m}"
    );
    assert!(
        m.contains("\"Linux SSH\" (SSH)") && m.contains("\"Windows domain\" (Windows)"),
        "{m}"
    );
    assert!(!m.contains("Network SNMP"), "{m}");
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-prod-02"),
        "pass",
        "critical",
    );
    // The credentials were read by the MID Server's sys_id, naming no secret field.
    let reads: Vec<RecordedRequest> = prod
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/discovery_credentials"))
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let q = &reads[0].query;
    assert_eq!(
        q.get("sysparm_query"),
        Some(&format!("mid_listLIKE{agent}"))
    );
    assert_eq!(
        q.get("sysparm_fields").map(String::as_str),
        Some("sys_id,name,type,active,mid_list")
    );
}

#[test]
fn the_credentials_read_stays_one_request_however_many_mid_servers_look_like_a_target() {
    let requests = |n: usize| {
        let (prod, dev) = exposure_estate(|p| {
            for i in 0..n {
                let agent = p.add_mid_server(&format!("mid-lab-{i}"), "mid.prod", "Up");
                p.set_field("ecc_agent", &agent, "host_name", "MID-DEV-01");
                p.add_credential(&format!("credential {i}"), "SSH", &[&agent]);
            }
        });
        let run = audit(&pair(&prod, &dev), &[]);
        run.assert_code(1);
        assert_eq!(
            run.results(NONPROD)
                .iter()
                .filter(|r| r["status"] == "fail")
                .count(),
            n
        );
        let m = message(one(&run, NONPROD, "prod", &format!("mid-lab-{}", n - 1))).to_string();
        assert!(
            m.contains(&format!("\"credential {}\" (SSH)", n - 1)),
            "{m}"
        );
        let reads = prod
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/discovery_credentials"))
            .count();
        (reads, prod.requests().len())
    };
    let (few, few_total) = requests(2);
    let (many, many_total) = requests(60);
    assert_eq!((few, many), (1, 1));
    assert_eq!(few_total, many_total);
}

#[test]
fn an_unvalidated_production_mid_server_with_a_dev_login_fails_and_says_it_is_not_validated() {
    let (prod, dev) = exposure_estate(|p| {
        let agent = p.add_mid_server("mid-lab", "MID.DEV", "Up");
        p.set_field("ecc_agent", &agent, "validated", "validating");
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-lab"),
        "fail",
        "critical",
    );
    let m = message(one(&run, NONPROD, "prod", "mid-lab")).to_string();
    assert!(m.contains("logs in as MID.DEV"), "{m}");
    assert!(m.contains("it is not validated"), "{m}");
    assert!(m.ends_with("production credentials naming it: none"), "{m}");
}

#[test]
fn unreadable_credentials_are_optional_evidence_never_an_error() {
    let (prod, dev) = exposure_estate(|p| {
        p.add_mid_server("mid-dev-01", "mid.prod", "Up");
        p.faults
            .forbidden_tables
            .insert("discovery_credentials".into());
    });
    let run = audit(&pair(&prod, &dev), &[]);
    // The gate fails on the finding, not on missing evidence.
    run.assert_code(1);
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-dev-01"),
        "fail",
        "critical",
    );
    let m = message(one(&run, NONPROD, "prod", "mid-dev-01")).to_string();
    assert!(m.contains("not read (discovery_credentials"), "{m}");
    assert!(run
        .results("table-unreadable")
        .iter()
        .all(|r| r["status"] != "error"));
    assert_eq!(run.report["summary"]["evidence_complete"], true);
}

#[test]
fn unreadable_dev_mid_servers_leave_the_production_mid_servers_in_error() {
    let mut dev_state = target_dev();
    dev_state.faults.forbidden_tables.insert("ecc_agent".into());
    let dev = FakeInstance::start(dev_state);
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let prod = FakeInstance::start(prod);
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-prod-01"),
        "error",
        "critical",
    );
    // The override does not need dev.
    assert_result(&run, OVERRIDE, "prod", ("instance", "prod"), "pass", "high");
}

#[test]
fn the_validation_override_fails_when_true_and_is_undecided_when_not_a_boolean() {
    let (prod, dev) = exposure_estate(|p| {
        p.set_property("glide.ecc_agent.validated.override", "TRUE");
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    assert_result(&run, OVERRIDE, "prod", ("instance", "prod"), "fail", "high");
    let (prod, dev) = exposure_estate(|p| {
        p.set_property("glide.ecc_agent.validated.override", "yes");
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    assert_result(
        &run,
        OVERRIDE,
        "prod",
        ("instance", "prod"),
        "error",
        "high",
    );
    assert!(message(one(&run, OVERRIDE, "prod", "prod")).contains("neither true nor false"));
}

#[test]
fn unreadable_production_properties_leave_the_validation_override_in_error() {
    let (prod, dev) = exposure_estate(|p| {
        p.faults.forbidden_tables.insert("sys_properties".into());
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    assert_result(
        &run,
        OVERRIDE,
        "prod",
        ("instance", "prod"),
        "error",
        "high",
    );
    // Its MID Servers are judged all the same.
    assert_result(
        &run,
        NONPROD,
        "prod",
        ("ecc_agent", "mid-prod-01"),
        "pass",
        "critical",
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets: credentials and `instance` records are read by named fields only; the instance even
// sends every field, and nothing beyond the named ones reaches any output.
// ---------------------------------------------------------------------------------------------

/// Values in prod's credential and `instance` rows that no output may hold.
const NEVER_SHOWN: &[&str] = &[
    "fake-cred-password-5b1e",
    "fake-cred-key-77c0",
    "fake-cred-passphrase-3a9d",
    "fake-cred-authkey-c4f2",
    "fake-cred-privkey-90be",
    "svc.discovery.fake-cred-user",
    "fake-instance-admin-password-9d2c",
    "fake-instance-db-password-41aa",
];

/// Field names no request may name.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "admin_password",
    "database_password",
    "ssh_private_key",
    "ssh_passphrase",
    "authentication_key",
    "privacy_key",
    "user_name",
];

fn assert_no_secret_field_asked(fake: &FakeInstance, table: &str, expected: usize) {
    let reads: Vec<RecordedRequest> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/table/{table}")))
        .collect();
    assert_eq!(reads.len(), expected, "{table}: {reads:?}");
    for r in reads {
        let fields = r.query.get("sysparm_fields").cloned().unwrap_or_default();
        assert!(!fields.is_empty(), "{table}: no sysparm_fields");
        for f in fields.split(',') {
            assert!(!SECRET_FIELDS.contains(&f), "{table} was asked for {f}");
            for part in ["password", "key", "passphrase", "secret"] {
                assert!(!f.contains(part), "{table} was asked for {f}");
            }
        }
    }
}

#[test]
fn no_credential_or_instance_secret_is_asked_for_or_reaches_any_output() {
    let dev = FakeInstance::start(target_dev());
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let agent = prod.add_mid_server("mid-dev-01", "mid.prod", "Up");
    prod.add_credential("Linux SSH", "SSH", &[&agent]);
    let record = prod.add_instance_record("acmedev", &dev.url());
    prod.add_clone_request(LEGACY, &record, json!({"clone_id": "CLN-SECRET"}));
    // An instance that ignores sysparm_fields and sends every field.
    prod.faults.send_all_fields = true;
    let prod = FakeInstance::start(prod);
    let reports = ["r.json", "r.csv", "r.html", "r.xml", "r.md"];
    let mut args: Vec<String> = [
        "-vv",
        "--source",
        "prod",
        "--target",
        "dev",
        "--timeout",
        "10s",
        "--save-evidence",
        "evidence.json",
    ]
    .map(String::from)
    .to_vec();
    for r in reports {
        args.extend(["-o".to_string(), r.to_string()]);
    }
    let instances = pair(&prod, &dev);
    let audited = run(&instances, "audit", &args);
    audited.assert_code(1);
    let mut outputs = vec![
        ("stdout".to_string(), audited.stdout.clone()),
        ("stderr".to_string(), audited.stderr.clone()),
    ];
    for f in reports.iter().chain(&["evidence.json"]) {
        let text = std::fs::read_to_string(audited.file(f)).expect(f);
        outputs.push((f.to_string(), text));
    }
    // What was named did get through: the check below means something.
    let json = &outputs[2].1;
    assert!(json.contains("\\\"Linux SSH\\\" (SSH)"), "{json}");
    assert!(
        outputs[7].1.contains("acmedev"),
        "the evidence holds the instance record"
    );
    assert_no_secret_field_asked(&prod, "discovery_credentials", 1);
    assert_no_secret_field_asked(&prod, "instance", 1);
    // doctor probes both tables the same way.
    prod.clear_requests();
    let probed = doctor(&[inst("prod", prod.url(), true)], &[]);
    assert!(probed.code == 0 || probed.code == 2, "{}", probed.stderr);
    assert_no_secret_field_asked(&prod, "discovery_credentials", 1);
    assert_no_secret_field_asked(&prod, "instance", 1);
    outputs.push(("doctor stdout".into(), probed.stdout.clone()));
    outputs.push(("doctor stderr".into(), probed.stderr.clone()));
    for (what, text) in &outputs {
        for s in NEVER_SHOWN {
            assert!(!text.contains(s), "{what} holds {s}");
        }
    }
}
