//! End-to-end: the real `preclone` binary against local fake instances over real HTTP. Each
//! scenario builds a production source and its targets, runs `preclone audit`, and asserts the
//! exit code and the results of the JSON report.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, inst, pair};
use serde_json::json;

/// prod with mid.prod and its MID Server; dev with mid.dev and its MID Server.
fn estate() -> (FakeState, FakeState) {
    (source_prod(), target_dev())
}

#[test]
fn the_three_seed_preservers_keep_the_mid_user_and_the_gate_passes() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-user-survives-by-source-copy", "dev", "mid.dev", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    for t in ["sys_user", "sys_user_has_role", "sys_user_grmember"] {
        run.expect("preserver-missing", "prod", t, "pass");
    }
    // The seed's dot-walked conditions are flagged (low), below the default gate.
    run.expect(
        "preserver-dot-walked",
        "prod",
        "MID server user has role",
        "fail",
    );
    run.expect("prod-foreign-mid-user", "prod", "mid.prod", "pass");
    assert_eq!(run.report["gate"]["verdict"], "pass");
    // Every preserver condition was evaluated by the target: asked on its own, one page of
    // sys_ids with the count of every match, which held them all (no restricted read needed).
    let evals: Vec<_> = dev
        .requests()
        .into_iter()
        .filter(|r| {
            r.query
                .get("sysparm_query")
                .is_some_and(|q| q.starts_with("roles=mid_server"))
        })
        .collect();
    assert_eq!(evals.len(), 1, "{evals:?}");
    assert_eq!(evals[0].query["sysparm_query"], "roles=mid_server");
    assert_eq!(evals[0].query["sysparm_fields"], "sys_id");
}

#[test]
fn without_preservers_the_mid_server_goes_down_and_the_gate_fails() {
    let (prod, dev) = estate();
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "fail");
    for t in ["sys_user", "sys_user_has_role", "sys_user_grmember"] {
        run.expect("preserver-missing", "prod", t, "fail");
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
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-user-survives-by-source-copy", "dev", "mid.dev", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    run.expect("prod-foreign-mid-user", "prod", "mid.dev", "fail");
    run.expect("prod-shared-mid-credential", "prod", "mid.dev", "fail");
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

/// mid.disc on `dev` (with its MID Server mid-disc-01), holding `mid_server` only as a member of
/// `group`: the platform's inherited row for the group's role.
fn add_group_mid_user(dev: &mut FakeState, group: &str) {
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
        json!({"sys_id": sid(212), "user": u, "role": MID_ROLE, "inherited": "true", "state": "active"}),
    );
    dev.add_mid_server("mid-disc-01", "mid.disc", "Up");
}

#[test]
fn a_role_granted_through_a_group_the_source_lacks_is_lost() {
    let mut prod = source_prod();
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
    add_group_mid_user(&mut dev, &group);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect("mid-user-not-preserved", "dev", "mid.disc", "pass");
    run.expect("mid-membership-not-preserved", "dev", "mid.disc", "pass");
    run.expect(
        "mid-group-missing-in-source",
        "dev",
        "Discovery MIDs",
        "fail",
    );
    let missing = run.results("mid-group-missing-in-source")[0].clone();
    assert_eq!(missing["severity"], "critical");
    run.expect("mid-role-not-preserved", "dev", "mid.disc", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-disc-01", "fail");
}

#[test]
fn a_group_that_exists_in_the_source_without_the_role_is_reported() {
    let mut prod = source_prod();
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
    add_group_mid_user(&mut dev, &group);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect(
        "mid-group-missing-in-source",
        "dev",
        "Discovery MIDs",
        "pass",
    );
    run.expect(
        "mid-group-lacks-role-in-source",
        "dev",
        "Discovery MIDs",
        "fail",
    );
    run.expect("mid-role-not-preserved", "dev", "mid.disc", "fail");
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
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "pass");
    run.expect("preserver-overbroad", "prod", "MID users by prefix", "fail");
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
    // More users named `nobody` than a first page holds: the condition is asked again,
    // restricted to the MID users.
    let mut dev = dev;
    for _ in 0..1_000 {
        dev.add_user("nobody");
    }
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("preserver-overbroad", "prod", "MID users", "fail");
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
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(1);
    run.expect(
        "preserver-not-applied",
        "prod",
        "MID server user has role",
        "fail",
    );
    run.expect("preserver-not-applied", "prod", "MID server users", "pass");
    run.expect("preserver-missing", "prod", "sys_user_has_role", "fail");
    run.expect("mid-role-not-preserved", "dev", "mid.dev", "fail");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "fail");
}

#[test]
fn forbidden_preservers_make_the_evidence_incomplete_and_nothing_passes_on_it() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    prod.faults
        .forbidden_tables
        .insert("clone_data_preserver".into());
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
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
    run.expect("table-unreadable", "prod", "clone_data_preserver", "error");
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    // --allow-incomplete turns 2 into 0.
    let run = audit(&pair(&prod, &dev), &["--allow-incomplete"]);
    run.assert_code(0);
}

#[test]
fn bad_credentials_exit_4_without_printing_the_secret() {
    let (prod, dev) = estate();
    let prod = FakeInstance::start(prod.with_basic(AUDIT_USER, "another-password"));
    let dev = FakeInstance::start(dev);
    let run = audit(&pair(&prod, &dev), &["-vv"]);
    run.assert_code(4);
    assert!(run.stderr.contains("prod"), "{}", run.stderr);
    assert!(!run.stderr.contains(AUDIT_PASSWORD) && !run.stdout.contains(AUDIT_PASSWORD));
    // The report is still written, marked incomplete, and nothing passes on evidence not read.
    run.assert_marked_incomplete();
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
        &[inst("prod", prod.url(), true), inst("dev", dev.url(), true)],
        &[],
    );
    run.assert_code(1);
    run.expect("target-is-production", "dev", "dev", "fail");
    let r = run.results("target-is-production")[0].clone();
    assert_eq!(r["severity"], "critical");
}

#[test]
fn only_get_requests_and_the_token_post_are_ever_sent() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(0);
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
    let files = [
        "r.json",
        "r.html",
        "r.csv",
        "r.xml",
        "r.md",
        "evidence.json",
    ];
    let mut extra = vec!["-vv", "--save-evidence", "evidence.json"];
    for f in &files[..5] {
        extra.extend(["-o", *f]);
    }
    let run = audit(&pair(&prod, &dev), &extra);
    run.assert_code(0);
    assert!(
        run.stderr.contains("GET"),
        "-vv logs requests: {}",
        run.stderr
    );
    assert!(!run.stdout.contains(AUDIT_PASSWORD) && !run.stderr.contains(AUDIT_PASSWORD));
    for f in files {
        let text = std::fs::read_to_string(run.file(f)).expect(f);
        assert!(!text.is_empty(), "{f} is empty");
        assert!(!text.contains(AUDIT_PASSWORD), "{f} holds the password");
    }
}

#[test]
fn one_audit_of_a_source_and_two_targets_sends_a_fixed_number_of_requests() {
    let build = |extra_users: u32| {
        let (mut prod, mut dev) = estate();
        seed_preservers(&mut prod);
        let test = target_test();
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
                inst("prod", prod.url(), true),
                inst("dev", dev.url(), false),
                inst("test", test.url(), false),
            ],
            &[],
        );
        run.assert_code(0);
        let sent = prod.requests().len() + dev.requests().len() + test.requests().len();
        assert_eq!(run.report["summary"]["requests"], sent as u64);
        sent
    };
    let small = count(0);
    // Requests do not grow with the number of MID users (50 more on dev).
    assert_eq!(count(50), small);
    // Per target: 1 login check, 4 first reads (the holders, MID Servers, the configured users
    // and pinned versions in one, role containment whole), the properties and the MID Servers'
    // clusters, cluster members and open issues, 3 user lookups (ids and logins ORed into one
    // request per table) and 3 preserver evaluations (one page each, its count included) = 15;
    // the source: 1 + 4 + its preservers, 5 clone-setup reads (both request tables; no
    // request, so no `instance` record to read), the properties, the same 3 MID Server reads
    // and 3 lookups = 18. No MID Server uses mutual authentication: no certificate read. Role
    // containment, read whole, needs no read of the roles held.
    assert_eq!(
        small, 48,
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
    let run = audit(&pair(&prod, &dev), &[]);
    run.assert_code(2);
    run.expect("rows-hidden-by-acl", "prod", "sys_user_role", "error");
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

/// `-v` logs every table read of every instance with its rows and how long it took; `-vv` adds
/// the queries. Without it, stderr stays quiet.
#[test]
fn verbose_logs_what_is_read_and_how_long_it_took() {
    let (mut prod, dev) = estate();
    seed_preservers(&mut prod);
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let quiet = audit(&pair(&prod, &dev), &[]);
    assert!(!quiet.stderr.contains(" read "), "{}", quiet.stderr);
    let run = audit(&pair(&prod, &dev), &["-v"]);
    run.assert_code(0);
    for instance in ["prod", "dev"] {
        let reads: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains(" read ") && l.contains(&format!("instance={instance} ")))
            .collect();
        for table in ["sys_user", "sys_user_has_role", "ecc_agent"] {
            assert!(
                reads
                    .iter()
                    .any(|l| l.contains(&format!("table=\"{table}\"")) && l.contains(" ms=")),
                "{instance} {table}: {}",
                run.stderr
            );
        }
    }
    assert!(
        !run.stderr.contains("reading"),
        "-v leaves the queries to -vv"
    );
    let run = audit(&pair(&prod, &dev), &["-vv"]);
    assert!(run.stderr.contains("reading") && run.stderr.contains("query="));
    // Each read names the read it waited for, which ended before it: only the login check of
    // each instance waited for none.
    let number = |line: &str, key: &str| -> Option<u64> {
        let rest = line.split(&format!(" {key}=")).nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let mut ended = std::collections::BTreeSet::new();
    let mut first = 0;
    for line in run.stderr.lines() {
        if line.contains(" read ") || line.contains(" counted ") {
            ended.extend(number(line, "read"));
        } else if line.contains("reading") || line.contains("counting") {
            match number(line, "after") {
                Some(after) => assert!(ended.contains(&after), "{line}\n{}", run.stderr),
                None => {
                    first += 1;
                    assert!(line.contains("sys_user_role\""), "{line}");
                }
            }
        }
    }
    assert_eq!(first, 2, "{}", run.stderr);
}
