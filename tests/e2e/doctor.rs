//! `preclone doctor` against local fake instances over real HTTP: the matrix (table ×
//! instance), the grant named for each gap, and the exit codes (0 all readable, 2 something
//! unreadable, 4 an instance that cannot be logged in to), with no secret in any output.

use crate::support::fake::*;
use crate::support::run::{doctor, preclone, Inst, Run};
use preclone::doctor::NEEDS;
use std::collections::BTreeSet;

/// The cells of the matrix line of `table`: table, needed on, then one per instance.
fn row(out: &Run, table: &str) -> Vec<String> {
    out.stdout
        .lines()
        .map(|l| {
            l.trim_matches(|c: char| c == '│' || c.is_whitespace())
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first().map(String::as_str) == Some(table))
        .unwrap_or_else(|| panic!("no matrix line for {table}:\n{}", out.stdout))
}

/// The config's `prod` and `dev`, with no `production` key.
fn both(prod: &FakeInstance, dev: &FakeInstance) -> [Inst; 2] {
    [Inst::new("prod", prod.url()), Inst::new("dev", dev.url())]
}

fn instance() -> FakeState {
    let mut s = FakeState::new();
    let role = s.add_role("mid_server");
    let user = s.add_user("mid.dev");
    s.grant_role(&user, &role);
    let agent = s.add_mid_server("mid-dev-01", "mid.dev", "Up");
    s.add_mid_config(&agent, "mid.instance.username", "mid.dev");
    s.set_property("glide.installation.production", "false");
    s
}

#[test]
fn everything_readable_exits_0_with_the_whole_matrix() {
    let (prod, dev) = (
        FakeInstance::start(instance()),
        FakeInstance::start(instance()),
    );
    let out = doctor(&both(&prod, &dev), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Everything the audit needs is readable."),
        "{}",
        out.stdout
    );
    // Columns follow the config's instance order (sorted by name): dev, prod.
    let header = row(&out, "table");
    assert_eq!(header, ["table", "needed on", "dev", "prod"]);
    for need in NEEDS {
        let cells = row(&out, need.name);
        assert_eq!(
            cells,
            [need.name, need.scope.needed_on(), "readable", "readable"],
            "{}",
            out.stdout
        );
    }
    // One small read per table and instance, sys_id only, no paging.
    for fake in [&prod, &dev] {
        let reqs = fake.requests();
        assert_eq!(reqs.len(), NEEDS.len());
        let tables: BTreeSet<&str> = reqs
            .iter()
            .map(|r| r.path.rsplit('/').next().unwrap_or(""))
            .collect();
        assert_eq!(tables.len(), NEEDS.len());
        for r in &reqs {
            assert_eq!(r.method, "GET");
            assert_eq!(
                r.query.get("sysparm_fields").map(String::as_str),
                Some("sys_id")
            );
            assert_eq!(r.query.get("sysparm_limit").map(String::as_str), Some("20"));
        }
    }
}

#[test]
fn a_forbidden_table_exits_2_and_names_what_to_grant() {
    let mut dev = instance();
    dev.faults
        .forbidden_tables
        .insert("sys_user_grmember".into());
    let (prod, dev) = (FakeInstance::start(instance()), FakeInstance::start(dev));
    let out = doctor(&both(&prod, &dev), &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        row(&out, "sys_user_grmember"),
        [
            "sys_user_grmember",
            "every instance",
            "forbidden",
            "readable"
        ]
    );
    assert_eq!(
        row(&out, "sys_user_has_role"),
        [
            "sys_user_has_role",
            "every instance",
            "readable",
            "readable"
        ]
    );
    let hint = out
        .stdout
        .lines()
        .find(|l| l.contains("dev sys_user_grmember (forbidden)"))
        .unwrap_or_else(|| panic!("no hint:\n{}", out.stdout));
    assert!(
        hint.contains("grant the audit user read access to sys_user_grmember"),
        "{hint}"
    );
    assert!(hint.contains("read ACLs of sys_user_grmember"), "{hint}");
    assert!(hint.contains("403"), "{hint}");
    // Only the gap is listed.
    assert_eq!(out.stdout.matches("  - ").count(), 1, "{}", out.stdout);
    assert!(out.stderr.contains("exit 2"), "{}", out.stderr);
}

#[test]
fn hidden_rows_and_missing_tables_are_gaps_too() {
    let mut prod = instance();
    prod.faults
        .hidden_when
        .insert("ecc_agent".into(), std::sync::Arc::new(|_row| true));
    prod.drop_table("clone_profile_preservers");
    let prod = FakeInstance::start(prod);
    let out = doctor(&[Inst::new("prod", prod.url())], &[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        row(&out, "ecc_agent"),
        ["ecc_agent", "every instance", "hidden rows"]
    );
    assert_eq!(
        row(&out, "clone_profile_preservers"),
        ["clone_profile_preservers", "source", "missing"]
    );
    assert_eq!(
        row(&out, "sys_user"),
        ["sys_user", "every instance", "readable"]
    );
    let hidden = out
        .stdout
        .lines()
        .find(|l| l.contains("prod ecc_agent (hidden rows)"))
        .unwrap_or_else(|| panic!("no hint:\n{}", out.stdout));
    assert!(hidden.contains("1 of the first 1 counted rows"), "{hidden}");
    assert!(hidden.contains("read ACL of ecc_agent"), "{hidden}");
    assert!(
        out.stdout.contains(
            "prod clone_profile_preservers (missing): clone_profile_preservers does not exist"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_credentials_exit_4_without_the_password() {
    let prod = FakeInstance::start(instance());
    let dev = FakeInstance::start(instance().with_basic(AUDIT_USER, "the-right-password-42"));
    let out = doctor(&both(&prod, &dev), &[]);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(AUDIT_PASSWORD), "the password leaked");
        assert!(!text.contains("the-right-password-42"));
    }
    assert!(
        out.stdout.contains("dev: cannot reach or log in"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("401"), "{}", out.stdout);
    assert!(
        out.stderr.contains("dev") && out.stderr.contains("exit 4"),
        "{}",
        out.stderr
    );
    // dev has no cells; prod is still checked in full.
    assert_eq!(
        row(&out, "ecc_agent"),
        ["ecc_agent", "every instance", "—", "readable"]
    );
    // A refused login is not retried, and nothing more is asked.
    assert_eq!(dev.requests().len(), 1);
    assert_eq!(prod.requests().len(), NEEDS.len());
}

#[test]
fn a_hibernating_instance_exits_4() {
    let mut dev = instance();
    dev.faults.html_everything = true;
    let dev = FakeInstance::start(dev);
    let out = doctor(&[Inst::new("dev", dev.url())], &["dev"]);
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("HTML page"), "{}", out.stdout);
    assert_eq!(dev.requests().len(), 1);
}

#[test]
fn only_the_named_instances_are_checked() {
    let (prod, dev) = (
        FakeInstance::start(instance()),
        FakeInstance::start(instance()),
    );
    let out = doctor(&both(&prod, &dev), &["dev"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(row(&out, "table"), ["table", "needed on", "dev"]);
    assert!(prod.requests().is_empty());
}

#[test]
fn the_help_documents_the_exit_codes() {
    let out = preclone().args(["doctor", "--help"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes:"), "{text}");
    for line in [
        "  0  every table",
        "  2  something is unreadable",
        "  4  an instance could not be reached or logged in to",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    // The audit's own help is not changed.
    let out = preclone().args(["audit", "--help"]).output().expect("run");
    let audit_help = String::from_utf8_lossy(&out.stdout);
    assert!(!audit_help.contains("every table the audit needs is readable"));
}

#[test]
fn the_matrix_as_json_names_every_cell_and_the_exit_code() {
    let mut dev = instance();
    dev.faults
        .forbidden_tables
        .insert("sys_user_grmember".into());
    let (prod, dev) = (FakeInstance::start(instance()), FakeInstance::start(dev));
    let args: Vec<String> = ["--format", "json", "--timeout", "5s"]
        .map(String::from)
        .to_vec();
    let out = crate::support::run::run(&both(&prod, &dev), "doctor", &args);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let json = &out.report;
    assert_eq!(json["exit_code"], 2, "{}", out.stdout);
    assert_eq!(json["all_readable"], false);
    let instances = json["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 2);
    let dev = instances
        .iter()
        .find(|i| i["instance"] == "dev")
        .expect("dev");
    assert!(dev["access_error"].is_null());
    let tables = dev["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), NEEDS.len());
    let grmember = tables
        .iter()
        .find(|t| t["table"] == "sys_user_grmember")
        .expect("sys_user_grmember");
    assert_eq!(grmember["access"], "forbidden");
    assert_eq!(grmember["fails"], true);
    assert!(grmember["fix"]
        .as_str()
        .is_some_and(|f| f.contains("grant the audit user read access")));
    assert!(tables
        .iter()
        .filter(|t| t["table"] != "sys_user_grmember")
        .all(|t| t["access"] == "readable" && t["fix"].is_null()));
}
