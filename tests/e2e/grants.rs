//! End-to-end: how users hold roles, as the platform grants them. A group passes a role to its
//! members only by a row whose `inherits` is true; a MID user of a child class of `sys_user` is
//! kept only by a preserver on its own class table; logins compare case-insensitively; a MID
//! user whose `active` is not returned is judged, and undecided; roles contained in the roles a
//! MID user holds, today or after the clone, are followed (issue 9, items 4, 5, 8, 10, 11).

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, inst, pair, Run};
use serde_json::json;

/// The group "MID Servers" (`sid(900)`), the same sys_id on every instance.
const GROUP: u32 = 900;
/// The class of the MID service accounts, a child of sys_user.
const CLASS: &str = "u_mid_service_account";

/// A group whose mid_server role row has this `inherits` (`None`: left out of the answers).
fn mid_group(s: &mut FakeState, inherits: Option<&str>) -> String {
    let group = sid(GROUP);
    s.insert(
        "sys_user_group",
        json!({"sys_id": group, "name": "MID Servers", "parent": ""}),
    );
    let row = sid(GROUP + 1);
    s.insert(
        "sys_group_has_role",
        json!({"sys_id": row, "group": group, "role": MID_ROLE, "inherits": inherits.unwrap_or("true")}),
    );
    if inherits.is_none() {
        s.omit_field("sys_group_has_role", &row, "inherits");
    }
    group
}

/// dev's `mid.grp` (`sid(210)`), holding mid_server only through the group "MID Servers"
/// (with the platform's inherited row), and its MID Server `mid-grp-01`.
fn dev_with_group_member() -> FakeState {
    let mut dev = target_dev();
    let group = mid_group(&mut dev, Some("true"));
    let u = sid(210);
    dev.add_user_with(
        "mid.grp",
        json!({"sys_id": u, "web_service_access_only": "true", "last_login_time": "2026-11-23 10:00:00"}),
    );
    dev.insert(
        "sys_user_grmember",
        json!({"sys_id": sid(211), "user": u, "group": group}),
    );
    dev.grant_role_with(
        &u,
        MID_ROLE,
        json!({"sys_id": sid(212), "inherited": "true", "granted_by": group}),
    );
    dev.add_mid_server("mid-grp-01", "mid.grp", "Up");
    dev
}

/// prod, with the seed's preservers and the group "MID Servers" whose mid_server row has
/// `inherits` as given.
fn prod_with_group(inherits: Option<&str>) -> FakeState {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    mid_group(&mut prod, inherits);
    prod
}

fn remediation(run: &Run, check: &str, instance: &str, subject: &str) -> String {
    run.of(check, instance, subject)
        .first()
        .map(|r| r["remediation"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn group_role_without_inherits_does_not_keep_mid_server() {
    let prod = FakeInstance::start(prod_with_group(Some("false")));
    let dev = FakeInstance::start(dev_with_group_member());
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    // The membership is kept and the group exists in prod, but prod's group does not pass
    // mid_server to its members.
    run.expect("mid-user-not-preserved", "dev", "mid.grp", "pass");
    run.expect("mid-group-missing-in-source", "dev", "MID Servers", "pass");
    run.expect(
        "mid-group-lacks-role-in-source",
        "dev",
        "MID Servers",
        "fail",
    );
    run.expect("mid-role-not-preserved", "dev", "mid.grp", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-grp-01", "fail");
    let lacks = run.message("mid-group-lacks-role-in-source", "dev", "MID Servers");
    assert!(lacks.contains("inherits is false"), "{lacks}");
    let fix = remediation(&run, "mid-group-lacks-role-in-source", "dev", "MID Servers");
    assert!(fix.contains("set inherits to true"), "{fix}");
    // mid.dev, granted directly, is untouched.
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");

    // The same group passing the role (`inherits` true, in any case) keeps it.
    let prod = FakeInstance::start(prod_with_group(Some("TRUE")));
    let dev = FakeInstance::start(dev_with_group_member());
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.expect(
        "mid-group-lacks-role-in-source",
        "dev",
        "MID Servers",
        "pass",
    );
    run.expect("mid-role-not-preserved", "dev", "mid.grp", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-grp-01", "pass");
}

#[test]
fn unknown_inherits_is_error() {
    // Not returned, and not a boolean.
    for inherits in [None, Some("yes")] {
        let prod = FakeInstance::start(prod_with_group(inherits));
        let dev = FakeInstance::start(dev_with_group_member());
        let run = audit(&pair(&prod, &dev), &[]);
        run.assert_code(2);
        for (check, subject) in [
            ("mid-group-lacks-role-in-source", "MID Servers"),
            ("mid-role-not-preserved", "mid.grp"),
            ("mid-server-will-go-down", "mid-grp-01"),
        ] {
            run.expect(check, "dev", subject, "error");
        }
        let why = run.message("mid-role-not-preserved", "dev", "mid.grp");
        assert!(why.contains("inherits"), "{inherits:?}: {why}");
        run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    }
}

/// dev's `mid.svc` (`sid(220)`), of the class `u_mid_service_account`, with a direct grant of
/// mid_server and its MID Server `mid-svc-01`.
fn dev_with_service_account() -> FakeState {
    let mut dev = target_dev();
    dev.add_child_class(CLASS, "sys_user");
    let u = sid(220);
    dev.add_user_with(
        "mid.svc",
        json!({"sys_id": u, "sys_class_name": CLASS, "web_service_access_only": "true", "last_login_time": "2026-11-23 10:00:00"}),
    );
    dev.grant_role_with(&u, MID_ROLE, json!({"sys_id": sid(221)}));
    dev.add_mid_server("mid-svc-01", "mid.svc", "Up");
    dev
}

#[test]
fn child_class_user_kept_by_preserver_on_its_class_table() {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    prod.add_preserver("MID service accounts", CLASS, "roles=mid_server");
    let (prod, dev) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev_with_service_account()),
    );
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.assert_target_survives("dev", "mid.svc", "mid-svc-01");
    run.expect("mid-user-survives-by-source-copy", "dev", "mid.svc", "pass");
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    // dev evaluated the class table's preserver itself: one page of its matches, with their
    // count, which held them all.
    let asked: Vec<String> = dev
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(&format!("/table/{CLASS}")))
        .filter_map(|r| r.query.get("sysparm_query").cloned())
        .collect();
    assert_eq!(asked, ["roles=mid_server"]);
}

#[test]
fn child_class_user_lost_names_class_table_to_preserve() {
    // The seed's sys_user preserver (roles=mid_server) matches mid.svc but does not keep it.
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let (prod, dev) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev_with_service_account()),
    );
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-user-not-preserved", "dev", "mid.svc", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-svc-01", "fail");
    let why = run.message("mid-user-not-preserved", "dev", "mid.svc");
    assert!(why.contains(&format!("its class is {CLASS}")), "{why}");
    let fix = remediation(&run, "mid-user-not-preserved", "dev", "mid.svc");
    assert!(
        fix.contains(&format!("add a preserver on table {CLASS}")),
        "{fix}"
    );
    // Never the sys_user preserver the estate already has.
    assert!(!fix.contains("preserver on sys_user"), "{fix}");
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");

    // A preserver on the class table that will not run is named, with what to do about it.
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let p = prod.add_preserver("MID service accounts", CLASS, "roles=mid_server");
    prod.set_field(
        "clone_data_preserver",
        &p,
        "include_in_system_clone",
        "false",
    );
    let (prod, dev) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev_with_service_account()),
    );
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-user-not-preserved", "dev", "mid.svc", "fail");
    let why = run.message("mid-user-not-preserved", "dev", "mid.svc");
    assert!(why.contains("\"MID service accounts\""), "{why}");
    let fix = remediation(&run, "mid-user-not-preserved", "dev", "mid.svc");
    assert!(
        fix.contains("make preserver \"MID service accounts\""),
        "{fix}"
    );
}

#[test]
fn mid_server_login_matches_user_case_insensitively() {
    // dev's MID Server logged in as MID.Dev and is configured as Mid.Dev: both are mid.dev.
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let mut dev = instance(false);
    mid_user(&mut dev, 200, "mid.dev", "");
    let agent = dev.add_mid_server("mid-dev-01", "MID.Dev", "Up");
    dev.add_mid_config(&agent, "mid.instance.username", "Mid.Dev");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    assert_eq!(run.results_on("mid-user-not-preserved", "dev").len(), 1);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-user-dormant", "dev", "mid.dev", "pass");

    // Without a preserver, the source's MID.DEV is the copy dev's mid.dev survives by.
    let mut prod = source_prod();
    mid_user(&mut prod, 400, "MID.DEV", "");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(target_dev()));
    let run = audit(&pair(&prod, &dev), &[]);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-user-survives-by-source-copy", "dev", "mid.dev", "fail");
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    // prod's MID.DEV is the login of dev's MID Server.
    let foreign = run.message("prod-foreign-mid-user", "prod", "MID.DEV");
    assert!(foreign.contains("mid-dev-01"), "{foreign}");
}

#[test]
fn unknown_active_is_judged_and_error() {
    // mid.spare holds mid_server, no MID Server uses it, and its `active` is not returned.
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    let mut dev = target_dev();
    let spare = mid_user(&mut dev, 230, "mid.spare", "");
    dev.set_field("sys_user", &spare, "last_login_time", "");
    dev.omit_field("sys_user", &spare, "active");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    run.expect("mid-user-not-preserved", "dev", "mid.spare", "error");
    // Never logged in: dormant if active, nothing if not.
    run.expect("mid-user-dormant", "dev", "mid.spare", "error");
    let why = run.message("mid-user-dormant", "dev", "mid.spare");
    assert!(why.contains("active"), "{why}");
    // What does not depend on it is decided.
    run.expect("mid-user-interactive-login", "dev", "mid.spare", "pass");
    let about: Vec<&str> = run
        .all()
        .iter()
        .filter(|r| r["subject"]["name"] == "mid.spare")
        .map(|r| r["status"].as_str().unwrap_or_default())
        .collect();
    assert!(!about.contains(&"fail"), "{about:?}");
    // Listed in the inventory with its active unknown.
    let inventory = run.report["inventory"].to_string();
    assert!(inventory.contains("mid.spare"), "{inventory}");
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");

    // Not kept and no copy: the fail would stand only if it were active.
    let prod = FakeInstance::start(source_prod());
    let mut dev = target_dev();
    let spare = mid_user(&mut dev, 230, "mid.spare", "");
    dev.omit_field("sys_user", &spare, "active");
    let dev = FakeInstance::start(dev);
    let run = audit(&pair(&prod, &dev), &[]);
    run.expect("mid-user-not-preserved", "dev", "mid.spare", "error");
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "fail");
}

#[test]
fn elevated_role_through_contained_role_after_clone_fails() {
    // In prod, the group "MID Servers" also grants mid_bundle, which contains admin.
    let bundle = sid(950);
    let mut prod = prod_with_group(Some("true"));
    prod.insert(
        "sys_user_role",
        json!({"sys_id": bundle, "name": "mid_bundle", "elevated_privilege": "false"}),
    );
    prod.grant_group_role(&sid(GROUP), &bundle);
    prod.add_role_contains(&bundle, ADMIN_ROLE);
    let dev = dev_with_group_member();
    // test's mid.bun holds mid_bundle, which on test contains admin (no inherited row says so).
    let mut test = target_test();
    test.insert(
        "sys_user_role",
        json!({"sys_id": bundle, "name": "mid_bundle", "elevated_privilege": "false"}),
    );
    test.add_role_contains(&bundle, ADMIN_ROLE);
    let u = mid_user(&mut test, 310, "mid.bun", "mid-bun-01");
    test.grant_role_with(&u, &bundle, json!({"sys_id": sid(315)}));
    let (prod, dev, test) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev),
        FakeInstance::start(test),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
            inst("test", test.url(), false),
        ],
        &[],
    );
    run.assert_code(1);
    run.expect("mid-user-elevated-roles", "dev", "mid.grp", "fail");
    let why = run.message("mid-user-elevated-roles", "dev", "mid.grp");
    assert!(
        why.contains("admin (contained in mid_bundle) (after the clone)"),
        "{why}"
    );
    // Today, through a role it holds.
    run.expect("mid-user-elevated-roles", "test", "mid.bun", "fail");
    let why = run.message("mid-user-elevated-roles", "test", "mid.bun");
    assert!(why.contains("admin (contained in mid_bundle)"), "{why}");
    // Users without such roles pass.
    run.expect("mid-user-elevated-roles", "dev", "mid.dev", "pass");
    // Containment is read whole, once per instance, and followed from the roles held.
    for fake in [&prod, &test] {
        let reads: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/sys_user_role_contains"))
            .collect();
        assert_eq!(reads.len(), 1, "{reads:?}");
        assert_eq!(
            reads[0].query.get("sysparm_query").map(String::as_str),
            Some("")
        );
    }
}

#[test]
fn the_demo_shows_a_child_class_user_and_a_group_role_that_does_not_inherit() {
    let out = crate::support::run::preclone()
        .args(["demo", "--format", "json", "--no-progress"])
        .output()
        .expect("preclone demo runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let result = |check: &str, instance: &str, subject: &str| {
        report["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                r["check"] == check && r["instance"] == instance && r["subject"]["name"] == subject
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {check} result for {subject} on {instance}"))
    };
    // dev's mid.dev2 is a u_mid_service_account: prod's sys_user preserver cannot keep it.
    let lost = result("mid-user-not-preserved", "dev", "mid.dev2");
    assert_eq!(lost["status"], "fail");
    let fix = lost["remediation"].as_str().unwrap_or_default();
    assert!(
        fix.contains("preserver on table u_mid_service_account"),
        "{fix}"
    );
    assert!(!fix.contains("preserver on sys_user"), "{fix}");
    // prod's "Discovery MIDs" holds mid_server without passing it to its members.
    let lacks = result("mid-group-lacks-role-in-source", "test", "Discovery MIDs");
    assert_eq!(lacks["status"], "fail");
    let why = lacks["message"].as_str().unwrap_or_default();
    assert!(why.contains("inherits is false"), "{why}");
}

#[test]
fn saved_evidence_gives_the_same_verdicts_and_version_1_is_refused() {
    // Group roles with and without inherits, a child class kept by its table's preserver, and
    // a contained elevated role: all of it in the evidence.
    let mut prod = prod_with_group(Some("false"));
    prod.add_preserver("MID service accounts", CLASS, "roles=mid_server");
    let bundle = sid(950);
    prod.insert(
        "sys_user_role",
        json!({"sys_id": bundle, "name": "mid_bundle", "elevated_privilege": "false"}),
    );
    prod.grant_group_role(&sid(GROUP), &bundle);
    prod.add_role_contains(&bundle, ADMIN_ROLE);
    let mut dev = dev_with_group_member();
    dev.add_child_class(CLASS, "sys_user");
    let u = sid(220);
    dev.add_user_with(
        "mid.svc",
        json!({"sys_id": u, "sys_class_name": CLASS, "web_service_access_only": "true"}),
    );
    dev.grant_role_with(&u, MID_ROLE, json!({"sys_id": sid(221)}));
    dev.add_mid_server("mid-svc-01", "MID.SVC", "Up");
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let live = audit(&pair(&prod, &dev), &["--save-evidence", "evidence.json"]);
    live.assert_code(1);
    live.assert_target_survives("dev", "mid.svc", "mid-svc-01");
    live.expect("mid-role-not-preserved", "dev", "mid.grp", "fail");
    let path = live.file("evidence.json");
    let offline = crate::support::run::preclone()
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&path)
        .output()
        .expect("an offline audit runs");
    assert_eq!(offline.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&offline.stdout).expect("JSON");
    assert_eq!(report["results"], live.report["results"]);

    // The same document as version 1 (before these facts) is refused, naming both versions.
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("evidence")).expect("JSON");
    old["schema_version"] = 1.into();
    for inst in old["instances"]
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        inst.as_object_mut().map(|i| i.remove("held_role_contains"));
    }
    let v1 = live.dir.path().join("v1.json");
    std::fs::write(&v1, old.to_string()).expect("write");
    let refused = crate::support::run::preclone()
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&v1)
        .output()
        .expect("an offline audit runs");
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let current = format!("schema {}", preclone::evidence::EVIDENCE_SCHEMA_VERSION);
    assert!(
        stderr.contains("schema 1") && stderr.contains(&current),
        "{stderr}"
    );
}
