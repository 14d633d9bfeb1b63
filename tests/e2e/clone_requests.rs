//! End-to-end: the clones preclone simulates (PRODUCT.md 2.1 steps 0 to 2). Requests come from
//! `clone_instance` and the Clone Admin Console's `sn_instance_clone_request`, their targets
//! from the `instance` records they point to; every pending request is judged on its own and
//! named by what fails under it; unknown is never "applies"; exclusions apply as each request's
//! options say.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, doctor, pair, preclone, Run};
use serde_json::{json, Value};

const LEGACY: &str = "clone_instance";
const CONSOLE: &str = "sn_instance_clone_request";

/// The sys_ids of what [`estate`] gives prod: the seed's three preservers and dev's `instance`
/// record.
struct Seed {
    users: String,
    roles: String,
    members: String,
    dev: String,
}

/// prod (mid.prod and its MID Server, the seed's three preservers, dev registered as a clone
/// target) and dev (mid.dev and mid-dev-01), started; `build` adds to prod first.
fn estate(build: impl FnOnce(&mut FakeState, &Seed)) -> (FakeInstance, FakeInstance) {
    estate_with(target_dev(), build)
}

fn estate_with(
    dev: FakeState,
    build: impl FnOnce(&mut FakeState, &Seed),
) -> (FakeInstance, FakeInstance) {
    let dev = FakeInstance::start(dev);
    let mut prod = source_prod();
    let seed = Seed {
        users: prod.add_preserver("MID server users", "sys_user", "roles=mid_server"),
        roles: prod.add_preserver(
            "MID server user has role",
            "sys_user_has_role",
            "user.roles=mid_server",
        ),
        members: prod.add_preserver(
            "MID server user group membership",
            "sys_user_grmember",
            "user.roles=mid_server",
        ),
        dev: prod.add_instance_record("acmedev", &dev.url()),
    };
    build(&mut prod, &seed);
    (FakeInstance::start(prod), dev)
}

/// A profile that lacks the role preserver.
fn thin(prod: &mut FakeState, seed: &Seed) -> String {
    prod.add_clone_profile("Thin", false, &[&seed.users, &seed.members])
}

/// A profile with the seed's three preservers.
fn full(prod: &mut FakeState, seed: &Seed) -> String {
    prod.add_clone_profile("Full", false, &[&seed.users, &seed.roles, &seed.members])
}

/// The one result of `check` on `instance` for `subject`.
fn result<'r>(run: &'r Run, check: &str, instance: &str, subject: &str) -> &'r Value {
    let found = run.of(check, instance, subject);
    assert_eq!(found.len(), 1, "{check} {subject}\n{}", run.problems());
    found[0]
}

/// Every result of `check` on dev is an error whose message contains `needle`.
fn errors_naming(run: &Run, check: &str, needle: &str) {
    let found = run.results_on(check, "dev");
    assert!(!found.is_empty(), "no {check} on dev\n{}", run.problems());
    for r in found {
        assert_eq!(r["status"], "error", "{r}");
        let m = r["message"].as_str().unwrap_or_default();
        assert!(m.contains(needle), "{check}: {m}");
    }
}

#[test]
fn console_request_with_thin_profile_fails() {
    let (prod, dev) = estate(|p, s| {
        let profile = thin(p, s);
        p.add_clone_request(
            CONSOLE,
            &s.dev,
            json!({"request_id": "CR0010001", "profile": profile}),
        );
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "fail");
    run.expect(
        "preserver-not-applied",
        "prod",
        "MID server user has role",
        "fail",
    );
    let r = result(&run, "mid-role-not-preserved", "dev", "mid.dev");
    let m = r["message"].as_str().unwrap_or_default();
    assert!(m.contains("clone request CR0010001"), "{m}");
    assert!(m.contains("scheduled 2026-12-01 22:00:00"), "{m}");
    let named = r["evidence"]["clone_request"].as_str().unwrap_or_default();
    assert!(named.contains(CONSOLE), "{r}");
    // The target's instance record was a read of its own, by sys_id, with no password field.
    let reads: Vec<RecordedRequest> = prod
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/table/instance"))
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let q = &reads[0].query;
    assert_eq!(
        q.get("sysparm_query"),
        Some(&format!("sys_idIN{}", prod_record(&prod)))
    );
    let fields = q.get("sysparm_fields").cloned().unwrap_or_default();
    assert_eq!(fields, "sys_id,instance_name,instance_url,production");
    for r in prod.requests() {
        let fields = r.query.get("sysparm_fields").cloned().unwrap_or_default();
        assert!(!fields.contains("password"), "{r:?}");
        assert!(
            !fields.contains("target_instance."),
            "dot-walked target: {r:?}"
        );
    }
}

/// dev's instance record on prod.
fn prod_record(prod: &FakeInstance) -> String {
    prod.inspect(|s| s.find("instance", "instance_name", "acmedev")[0]["sys_id"].clone())
}

#[test]
fn legacy_request_names_its_target_through_the_instance_record() {
    // A request to another registered instance is ignored.
    let (prod, dev) = estate(|p, s| {
        let profile = thin(p, s);
        let other = p.add_instance_record("acmetest", "https://acmetest.service-now.com/");
        p.add_clone_request(
            LEGACY,
            &other,
            json!({"clone_id": "CLN0000002", "profile": profile}),
        );
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    // The same profile on a request to dev, its URL with a trailing slash and in capitals.
    let (prod, dev) = estate(|p, s| {
        let profile = thin(p, s);
        let url = format!("{}/", prod_url_upper(&s.dev, p));
        p.set_field("instance", &s.dev, "instance_url", &url);
        p.add_clone_request(
            LEGACY,
            &s.dev,
            json!({"clone_id": "CLN0000003", "profile": profile}),
        );
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "fail");
    let m = run.message("mid-role-not-preserved", "dev", "mid.dev");
    assert!(m.contains("CLN0000003") && m.contains(LEGACY), "{m}");
}

/// The URL of the record `id`, upper-cased.
fn prod_url_upper(id: &str, prod: &FakeState) -> String {
    prod.row("instance", id).expect("the record")["instance_url"].to_uppercase()
}

#[test]
fn release_without_console_table_is_absent_not_unreadable() {
    let (prod, dev) = estate(|p, _| p.drop_table(CONSOLE));
    let run = audit(&pair(&prod, &dev), &["--save-evidence", "evidence.json"]);
    run.assert_code(0);
    run.expect("table-unreadable", "prod", CONSOLE, "pass");
    let m = run.message("table-unreadable", "prod", CONSOLE);
    assert!(m.contains("does not exist"), "{m}");
    let text = std::fs::read_to_string(run.file("evidence.json")).expect("evidence");
    let ev: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        ev["instances"]["prod"]["clone"]["console_requests"],
        json!({"status": "ok", "value": null})
    );
    // doctor says so, and exits 0.
    let out = doctor(&pair(&prod, &dev), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(CONSOLE))
        .unwrap_or_default();
    assert!(line.contains("absent"), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("│ instance ") && l.contains("readable")),
        "{}",
        out.stdout
    );
}

#[test]
fn unresolvable_request_target_is_error_naming_it() {
    let survival = [
        "mid-user-not-preserved",
        "mid-role-not-preserved",
        "mid-server-will-go-down",
    ];
    // The record it points to was not returned.
    let (prod, dev) = estate(|p, _| {
        p.add_clone_request(LEGACY, &sid(999), json!({"clone_id": "CLN0000999"}));
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    for c in survival {
        errors_naming(&run, c, "CLN0000999");
    }
    let m = run.message("mid-server-will-go-down", "dev", "mid-dev-01");
    assert!(m.contains("was not returned"), "{m}");
    // The instance table is unreadable.
    let (mut prod, dev) = (source_prod(), target_dev());
    seed_preservers(&mut prod);
    let record = prod.add_instance_record("acmedev", "https://acmedev.service-now.com");
    prod.add_clone_request(CONSOLE, &record, json!({"request_id": "CR0000998"}));
    prod.faults.forbidden_tables.insert("instance".into());
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    for c in survival {
        errors_naming(&run, c, "CR0000998");
    }
    // A record with neither URL nor name.
    let (prod, dev) = estate(|p, s| {
        p.set_field("instance", &s.dev, "instance_url", "");
        p.set_field("instance", &s.dev, "instance_name", "");
        p.add_clone_request(LEGACY, &s.dev, json!({"clone_id": "CLN0000997"}));
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    for c in survival {
        errors_naming(&run, c, "CLN0000997");
    }
    // A request that is not pending needs no target.
    let (prod, dev) = estate(|p, _| {
        p.add_clone_request(LEGACY, &sid(999), json!({"state": "Completed"}));
    });
    audit(&pair(&prod, &dev), &[]).assert_code(0);
}

/// Tomorrow's clone with a thin profile, behind next month's newer request with a full one,
/// and a console request with the full profile too.
fn two_requests(p: &mut FakeState, s: &Seed) {
    let (thin, full) = (thin(p, s), full(p, s));
    p.add_clone_request(
        LEGACY,
        &s.dev,
        json!({"clone_id": "CLN-SOON", "profile": thin, "scheduled": "2026-12-02 22:00:00", "sys_created_on": "2026-11-01 09:00:00"}),
    );
    p.add_clone_request(
        LEGACY,
        &s.dev,
        json!({"clone_id": "CLN-LATER", "profile": full, "scheduled": "2027-01-05 22:00:00", "sys_created_on": "2026-11-20 09:00:00"}),
    );
    p.add_clone_request(
        CONSOLE,
        &s.dev,
        json!({"request_id": "CR-FULL", "profile": full, "scheduled": "2027-02-05 22:00:00", "sys_created_on": "2026-11-21 09:00:00"}),
    );
}

#[test]
fn each_pending_request_is_judged_and_named() {
    let (prod, dev) = estate(two_requests);
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    // One result per subject, failing under the request it fails under, and only that one.
    for check in ["mid-role-not-preserved", "mid-server-will-go-down"] {
        let subject = if check == "mid-server-will-go-down" {
            "mid-dev-01"
        } else {
            "mid.dev"
        };
        let r = result(&run, check, "dev", subject);
        assert_eq!(r["status"], "fail", "{r}");
        let m = r["message"].as_str().unwrap_or_default();
        assert!(
            m.contains("CLN-SOON") && m.contains("2026-12-02 22:00:00"),
            "{m}"
        );
        assert!(!m.contains("CLN-LATER") && !m.contains("CR-FULL"), "{m}");
    }
    // The user itself is kept under every request.
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    let not_applied = run.message("preserver-not-applied", "prod", "MID server user has role");
    assert!(not_applied.contains("CLN-SOON"), "{not_applied}");
    assert!(!not_applied.contains("CLN-LATER"), "{not_applied}");
    let impact = &run.report["impact"][0];
    assert_eq!(impact["mid_server"], "mid-dev-01", "{impact}");
    assert!(
        impact.to_string().contains("CLN-SOON"),
        "the impact names the request: {impact}"
    );
}

#[test]
fn unknown_lock_state_is_error() {
    for value in ["", "maybe"] {
        let (prod, dev) = estate(|p, s| {
            p.add_clone_request(
                LEGACY,
                &s.dev,
                json!({"clone_id": "CLN0000100", "lock_profile_settings": value}),
            );
        });
        let run = audit(&pair(&prod, &dev), &[]);
        run.assert_code(2);
        for c in ["mid-user-not-preserved", "mid-server-will-go-down"] {
            errors_naming(&run, c, "CLN0000100");
        }
        let m = run.message("mid-server-will-go-down", "dev", "mid-dev-01");
        assert!(m.contains("lock_profile_settings"), "{m}");
    }
}

#[test]
fn preserver_linked_after_locked_request_does_not_apply() {
    // The role preserver was linked into the profile after the request locked it.
    let locked = |link_time: &'static str| {
        move |p: &mut FakeState, s: &Seed| {
            let profile = thin(p, s);
            p.link_preserver(&profile, &s.roles, link_time);
            p.add_clone_request(
                LEGACY,
                &s.dev,
                json!({"clone_id": "CLN0000200", "profile": profile, "lock_profile_settings": "true", "sys_created_on": "2026-11-01 09:00:00"}),
            );
        }
    };
    let (prod, dev) = estate(locked("2026-11-15 08:00:00"));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "fail");
    let m = run.message("preserver-not-applied", "prod", "MID server user has role");
    assert!(
        m.contains("linked into the profile after") && m.contains("CLN0000200"),
        "{m}"
    );
    // Linked before: it applies.
    let (prod, dev) = estate(locked("2026-10-15 08:00:00"));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    // When it was linked is unknown: undecided, never "applies".
    let (prod, dev) = estate(locked(""));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    errors_naming(&run, "mid-role-not-preserved", "CLN0000200");
    // A preserver created after a locked request without a profile does not apply either.
    let (prod, dev) = estate(|p, s| {
        p.set_field(
            "clone_data_preserver",
            &s.roles,
            "sys_created_on",
            "2026-11-10 00:00:00",
        );
        p.add_clone_request(
            LEGACY,
            &s.dev,
            json!({"clone_id": "CLN0000201", "lock_profile_settings": "true"}),
        );
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    let m = run.message("preserver-not-applied", "prod", "MID server user has role");
    assert!(
        m.contains("created after") && m.contains("CLN0000201"),
        "{m}"
    );
}

#[test]
fn state_compared_case_insensitively_unknown_is_pending() {
    let with_state = |state: &'static str| {
        move |p: &mut FakeState, s: &Seed| {
            let profile = thin(p, s);
            p.add_clone_request(
                LEGACY,
                &s.dev,
                json!({"clone_id": "CLN0000300", "profile": profile, "state": state}),
            );
        }
    };
    for state in ["SCHEDULED", "hold", "Awaiting approval", ""] {
        let (prod, dev) = estate(with_state(state));
        let run = audit(&pair(&prod, &dev), &[]);
        run.assert_code(1);
        let m = run.message("mid-role-not-preserved", "dev", "mid.dev");
        assert!(m.contains("CLN0000300"), "{state}: {m}");
        match state {
            "Awaiting approval" => assert!(
                m.contains("\"Awaiting approval\" is not a known one: counted as pending"),
                "{m}"
            ),
            "" => assert!(m.contains("no state: counted as pending"), "{m}"),
            _ => assert!(!m.contains("counted as pending"), "{m}"),
        }
    }
    for state in ["COMPLETED", "cancelled", "Rolled back", "running"] {
        let (prod, dev) = estate(with_state(state));
        audit(&pair(&prod, &dev), &[]).assert_code(0);
    }
}

#[test]
fn custom_exclusions_follow_request_options() {
    let check = "clone-excludes-user-tables";
    let with_options = |exclude_all: &'static str, large: &'static str| {
        move |p: &mut FakeState, s: &Seed| {
            p.add_exclusion("sys_user_has_role", false);
            p.add_exclusion("sys_audit", true);
            p.add_clone_request(
                CONSOLE,
                &s.dev,
                json!({"request_id": "CR0000400", "exclude_all_from_exclusion_list": exclude_all, "exclude_large_data": large}),
            );
        }
    };
    // Both options on, or one unknown: the custom list applies.
    for (all, large) in [("true", "true"), ("true", ""), ("", "true")] {
        let (prod, dev) = estate(with_options(all, large));
        let run = audit(&pair(&prod, &dev), &[]);
        run.expect(check, "prod", "sys_user_has_role", "fail");
        let m = run.message(check, "prod", "sys_user_has_role");
        assert!(m.contains("CR0000400"), "{all} {large}: {m}");
        run.expect(check, "prod", "sys_user", "pass");
    }
    // Either one off: it does not.
    for (all, large) in [("false", "true"), ("true", "false")] {
        let (prod, dev) = estate(with_options(all, large));
        let run = audit(&pair(&prod, &dev), &[]);
        run.expect(check, "prod", "sys_user_has_role", "pass");
    }
    // A default exclusion applies whatever the options.
    let (prod, dev) = estate(|p, s| {
        p.add_exclusion("sys_user_grmember", true);
        p.add_clone_request(
            LEGACY,
            &s.dev,
            json!({"exclude_all_from_exclusion_list": "false", "exclude_large_data": "false"}),
        );
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.expect(check, "prod", "sys_user_grmember", "fail");
    // No request: the default profile's options decide, else they are unknown.
    let (prod, dev) = estate(|p, s| {
        p.add_exclusion("sys_user_has_role", false);
        let profile = full(p, s);
        p.set_field("clone_profile", &profile, "default_profile", "true");
        p.set_field("clone_profile", &profile, "exclude_large_data", "false");
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.expect(check, "prod", "sys_user_has_role", "pass");
    let (prod, dev) = estate(|p, _| {
        p.add_exclusion("sys_user_has_role", false);
    });
    let run = audit(&pair(&prod, &dev), &[]);
    run.expect(check, "prod", "sys_user_has_role", "fail");
}

#[test]
fn match_rgx_preserver_not_applied() {
    let mut prod = source_prod();
    prod.add_preserver(
        "MID users by pattern",
        "sys_user",
        "user_nameMATCH_RGXmid\\..*",
    );
    prod.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(target_dev()));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect(
        "preserver-not-applied",
        "prod",
        "MID users by pattern",
        "fail",
    );
    let m = run.message("preserver-not-applied", "prod", "MID users by pattern");
    assert!(m.contains("MATCH_RGX"), "{m}");
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "fail");
    run.expect("preserver-missing", "prod", "sys_user", "fail");
}

#[test]
fn sys_user_exclusion_excludes_class_tables() {
    let dev = || {
        let mut dev = target_dev();
        let svc = dev.add_user_with(
            "mid.svc",
            json!({"sys_class_name": "u_mid_service_account", "web_service_access_only": "true"}),
        );
        dev.grant_role(&svc, MID_ROLE);
        dev.add_mid_server("mid-dev-02", "mid.svc", "Up");
        dev
    };
    let check = "clone-excludes-user-tables";
    // Excluding sys_user excludes the MID user's class table too.
    let (prod, dev_fake) = estate_with(dev(), |p, _| {
        p.add_exclusion("sys_user", true);
    });
    let run = audit(&pair(&prod, &dev_fake), &[]);
    run.expect(check, "prod", "sys_user", "fail");
    run.expect(check, "prod", "u_mid_service_account", "fail");
    let m = run.message(check, "prod", "u_mid_service_account");
    assert!(m.contains("through sys_user"), "{m}");
    // Without the exclusion the class table is judged, and passes.
    let (prod, dev_fake) = estate_with(dev(), |_, _| {});
    let run = audit(&pair(&prod, &dev_fake), &[]);
    run.expect(check, "prod", "u_mid_service_account", "pass");
}

/// (check, instance, subject, status, message) of every result, sorted.
fn verdicts(report: &Value) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = report["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&r["check"]),
                s(&r["instance"]),
                s(&r["subject"]["name"]),
                s(&r["status"]),
                s(&r["message"]),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn offline_reaudit_of_a_request_estate_gives_the_same_verdicts() {
    let (prod, dev) = estate(|p, s| {
        two_requests(p, s);
        p.add_exclusion("sys_user_grmember", false);
    });
    let run = audit(&pair(&prod, &dev), &["--save-evidence", "evidence.json"]);
    run.assert_code(1);
    let saved = run.file("evidence.json");
    let out = preclone()
        .current_dir(run.dir.path())
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&saved)
        .output()
        .expect("run preclone");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(verdicts(&run.report), verdicts(&offline));
    assert_eq!(run.report["impact"], offline["impact"]);
    // Evidence of the previous schema is refused, naming both versions.
    let text = std::fs::read_to_string(&saved).expect("evidence");
    let mut ev: Value = serde_json::from_str(&text).expect("json");
    ev["schema_version"] = json!(1);
    let old = run.file("old.json");
    std::fs::write(&old, ev.to_string()).expect("write");
    let out = preclone()
        .args(["audit", "--evidence"])
        .arg(&old)
        .output()
        .expect("run preclone");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    let current = format!("schema {}", preclone::evidence::EVIDENCE_SCHEMA_VERSION);
    assert!(err.contains("schema 1") && err.contains(&current), "{err}");
}
