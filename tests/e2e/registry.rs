//! `tables::ALL` is the whole list of what an audit reads: a real audit against fake instances
//! requests no table outside it, asks each table for exactly its fields (or only `sys_id`, to
//! count and to evaluate preservers), reads every table on the source, and every table scoped
//! to every instance on a target. `preclone doctor` probes that list, so it cannot miss a table
//! the audit needs.

use crate::support::estate::*;
use crate::support::fake::*;
use assert_cmd::Command;
use preclone::tables::{self, Scope, Table};
use std::collections::BTreeSet;
use std::path::PathBuf;

const PASSWORD_ENV: &str = "PRECLONE_REGISTRY_PASSWORD";
const TABLE_PATH: &str = "/api/now/v2/table/";

fn config(instances: &[(&str, &FakeInstance)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for (name, fake) in instances {
        text.push_str(&format!(
            "[instance.{name}]\nurl = \"{}\"\nauth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n",
            fake.url()
        ));
    }
    let path = dir.path().join("preclone.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

/// An instance whose MID user is in a group (under a parent group) that holds a role, and whose
/// MID Server is configured with its login: every kind of row the audit follows.
fn estate(production: bool, id: u32, login: &str) -> FakeState {
    let mut s = instance(production);
    let uid = mid_user(&mut s, id, login, "");
    let agent = s.add_mid_server(&format!("{login}-01"), login, "Up");
    s.add_mid_config(&agent, "mid.instance.username", login);
    let parent = s.add_group("IT", None);
    let group = s.add_group("MID Servers", Some(&parent));
    s.add_member(&uid, &group);
    s.grant_group_role(&group, ITIL_ROLE);
    let wrapper = s.add_role("mid_wrapper");
    s.add_role_contains(&wrapper, MID_ROLE);
    // A second MID Server logs in with a client certificate; both form a cluster, one has an
    // open issue and a pinned version.
    let cert_server = s.add_mid_server(&format!("{login}-02"), login, "Up");
    s.set_field("ecc_agent", &cert_server, "is_using_mutual_auth", "true");
    s.add_user_certificate(&uid, &format!("CN={login}"), true, "2030-01-01 00:00:00");
    s.add_cluster("MID cluster", "Failover", &[&agent, &cert_server]);
    s.add_agent_issue(&agent, "MIDUserConnectivity", "new");
    s.add_mid_config(&agent, "mid.pinned.version", "xanadu-07-02-2024__patch1");
    s
}

/// The tables of the Table API requests an instance received.
fn tables_requested(fake: &FakeInstance) -> BTreeSet<String> {
    fake.requests()
        .iter()
        .filter_map(|r| r.path.strip_prefix(TABLE_PATH))
        .map(str::to_string)
        .collect()
}

fn names(tables: impl IntoIterator<Item = &'static &'static Table>) -> BTreeSet<String> {
    tables.into_iter().map(|t| t.name.to_string()).collect()
}

#[test]
fn an_audit_reads_exactly_the_tables_and_fields_of_the_registry() {
    let mut prod = estate(true, 100, "mid.prod");
    seed_preservers(&mut prod);
    prod.add_preserver("MID groups", "sys_user_group", "nameSTARTSWITHMID");
    // A MID Server named like dev's, so that production's credentials naming it are read.
    prod.add_mid_server("mid.dev-01", "mid.prod", "Up");
    // A pending request, so that its target's `instance` record is read.
    let record = prod.add_instance_record("acmetest", "https://acmetest.example.invalid");
    prod.add_clone_request("sn_instance_clone_request", &record, serde_json::json!({}));
    let (prod, dev) = (
        FakeInstance::start(prod),
        FakeInstance::start(estate(false, 200, "mid.dev")),
    );
    let (dir, cfg) = config(&[("prod", &prod), ("dev", &dev)]);
    let out = Command::cargo_bin("preclone")
        .expect("binary")
        .current_dir(dir.path())
        .env(PASSWORD_ENV, AUDIT_PASSWORD)
        .args(["audit", "--config"])
        .arg(&cfg)
        .args(["--source", "prod", "--target", "dev", "--format", "json"])
        .args(["--timeout", "5s"])
        .output()
        .expect("run preclone");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        [0, 1].contains(&code),
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let all = names(tables::ALL);
    for (name, fake) in [("prod", &prod), ("dev", &dev)] {
        for r in fake.requests() {
            let table = r.path.strip_prefix(TABLE_PATH);
            assert!(
                table.is_some(),
                "{name}: a request outside the Table API: {r:?}"
            );
            let table = table.unwrap_or_default();
            let def = tables::ALL.iter().find(|t| t.name == table);
            assert!(
                def.is_some(),
                "{name} was asked for {table}, which tables::ALL lacks"
            );
            let fields = r.query.get("sysparm_fields").map(String::as_str);
            let own = def.map(|t| t.fields.join(","));
            assert!(
                fields == Some("sys_id") || fields == own.as_deref(),
                "{name} {table}: fields {fields:?} are neither its own ({own:?}) nor sys_id"
            );
        }
    }
    // The source reads every table; a target every table scoped to every instance, and no other.
    assert_eq!(tables_requested(&prod), all);
    let every = names(tables::ALL.iter().filter(|t| t.scope == Scope::Every));
    assert_eq!(tables_requested(&dev), every);
}
