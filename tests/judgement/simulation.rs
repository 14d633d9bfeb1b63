//! The clone simulation and the checks, on evidence built by hand: contained roles, parent
//! groups, exclusions, theme and profile rules, locked requests, child classes, hidden facts.

use super::estate::*;
use chrono::{TimeZone, Utc};
use preclone::checks::{self, CheckId};
use preclone::evidence::*;
use preclone::finding::{CheckResult, Status};

#[test]
fn the_mid_user_and_its_grant_kept_by_preservers_survive() {
    let r = checks::run(&estate(MID)).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Pass
    );
}

#[test]
fn a_role_that_contains_mid_server_counts_only_when_the_source_keeps_the_containment() {
    // dev: mid_wrapper contains mid_server, and mid.dev holds mid_wrapper.
    let mut e = estate(WRAPPER);
    let contains = RoleContains {
        sys_id: id(50),
        role: id(WRAPPER),
        contains: id(MID),
    };
    dev(&mut e).role_contains = Fact::ok(vec![contains.clone()]);
    // The source lacks the containment: after the clone mid_wrapper grants nothing.
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
    // With the same containment in the source, the grant survives.
    prod(&mut e).role_contains = Fact::ok(vec![contains]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
}

#[test]
fn a_parent_groups_role_reaches_the_member() {
    let mut e = estate(MID);
    let parent = Group {
        sys_id: id(60),
        name: "MID parent".into(),
        parent: String::new(),
    };
    let child = Group {
        sys_id: id(61),
        name: "MID child".into(),
        parent: id(60),
    };
    let gr = GroupRole {
        sys_id: id(62),
        group: id(60),
        role: id(MID),
        inherits: Some(true),
    };
    let m = Membership {
        sys_id: id(63),
        user: id(100).into(),
        group: id(61).into(),
    };
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![]);
    d.memberships = Fact::ok(vec![m]);
    d.groups = Fact::ok(vec![parent.clone(), child.clone()]);
    d.group_roles = Fact::ok(vec![gr.clone()]);
    d.preserver_evals[2] = eval(12, "sys_user_grmember", &[63], 1);
    // The source has both groups and the parent's role.
    let p = prod(&mut e);
    p.groups = Fact::ok(vec![parent, child]);
    p.group_roles = Fact::ok(vec![gr]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-membership-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    // Without the parent's role in the source, the group grants nothing after the clone.
    prod(&mut e).group_roles = Fact::ok(vec![]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-group-lacks-role-in-source", "dev", "MID child"),
        Status::Fail
    );
}

#[test]
fn an_excluded_user_table_removes_the_source_copy_and_is_reported() {
    let mut e = estate(MID);
    clone_setup(&mut e).excludes = Fact::ok(vec![exclusion(80, "sys_user_has*")]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(
            &r,
            "clone-excludes-user-tables",
            "prod",
            "sys_user_has_role"
        ),
        Status::Fail
    );
    assert_eq!(
        status(&r, "clone-excludes-user-tables", "prod", "sys_user"),
        Status::Pass
    );
    // The preserved grant still survives: an excluded table keeps what preservers keep.
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
}

#[test]
fn a_child_class_is_not_kept_by_a_sys_user_preserver() {
    let mut e = estate(MID);
    let mut u = user(100, "mid.dev");
    u.sys_class_name = "u_mid_account".into();
    dev(&mut e).users = Fact::ok(vec![u]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Fail
    );
}

#[test]
fn switched_off_theme_and_late_preservers_do_not_apply() {
    // Switched off.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].include_in_system_clone = Some(false);
    }
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "users"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
    // A theme preserver, and the clone does not keep the theme.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].theme = Some(true);
    }
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "users"),
        Status::Fail
    );
    // Created after a request that locked its settings.
    let mut e = estate(MID);
    clone_setup(&mut e).clone_requests = Fact::ok(vec![CloneRequest {
        lock_profile_settings: Some(true),
        ..request(70)
    }]);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[1].created_on = "2026-11-10 00:00:00".into();
    }
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "grants"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "users"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
}

#[test]
fn unreadable_facts_never_pass() {
    let mut e = estate(MID);
    dev(&mut e).memberships = Fact::error("sys_user_grmember", "403 Forbidden");
    let r = checks::run(&e).results;
    let dev_survival: Vec<&CheckResult> = r
        .iter()
        .filter(|r| {
            r.instance == "dev"
                && r.check.as_str().starts_with("mid-")
                && r.check != CheckId::MidUserSharedByMidServers
                // The status and issues of a MID Server do not rest on the user tables.
                && r.check != CheckId::MidServerAlreadyDown
        })
        .collect();
    assert!(!dev_survival.is_empty());
    assert!(
        dev_survival.iter().all(|r| r.status != Status::Pass),
        "{dev_survival:#?}"
    );
    assert!(dev_survival
        .iter()
        .any(|r| r.check == CheckId::MidServerWillGoDown && r.status == Status::Error));
    // Production unknown: the production checks end in error.
    let mut e = estate(MID);
    prod(&mut e).production = Production {
        config: None,
        property: Fact::error("sys_properties", "403"),
    };
    prod(&mut e).users = Fact::ok(vec![user(200, "mid.prod")]);
    prod(&mut e).user_roles = Fact::ok(vec![grant(201, 200, MID)]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "prod-foreign-mid-user", "prod", "prod"),
        Status::Error
    );
}

#[test]
fn collisions_and_source_copies_are_told_apart() {
    let mut e = estate(MID);
    // prod has its own mid.dev with another sys_id, holding mid_server.
    prod(&mut e).users = Fact::ok(vec![user(300, "mid.dev")]);
    prod(&mut e).user_roles = Fact::ok(vec![grant(301, 300, MID)]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-name-collision", "dev", "mid.dev"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-user-survives-by-source-copy", "dev", "mid.dev"),
        Status::Pass
    );
    // Without the sys_user preserver, only the source's copy is left.
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.remove(0);
    }
    dev(&mut e).preserver_evals.remove(0);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-name-collision", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-user-survives-by-source-copy", "dev", "mid.dev"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "prod-foreign-mid-user", "prod", "mid.dev"),
        Status::Fail
    );
}

#[test]
fn every_result_names_a_catalogued_check_and_fails_carry_a_remediation() {
    let e = preclone::demo::evidence(Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(), "t");
    let r = checks::run(&e).results;
    for res in &r {
        assert_eq!(res.check.def().id, res.check);
        if res.status != Status::Pass {
            assert!(!res.remediation.is_empty(), "{res:#?}");
        }
    }
    // Results are sorted: failures first.
    let first_pass = r.iter().position(|x| x.status == Status::Pass).unwrap();
    assert!(r[..first_pass].iter().all(|x| x.status != Status::Pass));
}

#[test]
fn unreadable_mid_server_configs_leave_the_mid_server_undecided() {
    let mut e = estate(MID);
    dev(&mut e).mid_configs = Fact::error("ecc_agent_config", "1 of 3 rows hidden by ACLs");
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
    assert_eq!(
        status(&r, "mid-server-login-unknown", "dev", "mid-dev-01"),
        Status::Error
    );
}

#[test]
fn a_configured_user_for_every_mid_server_is_judged_for_each() {
    let mut e = estate(MID);
    // A configuration row that names no MID Server applies to all: mid.new does not exist.
    dev(&mut e).mid_configs = Fact::ok(vec![MidConfig {
        sys_id: id(80),
        ecc_agent: String::new(),
        value: "mid.new".into(),
    }]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.new"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Fail
    );
}

#[test]
fn unknown_lock_state_or_class_is_undecided_not_usable() {
    let mut e = estate(MID);
    let mut u = user(100, "mid.dev");
    u.locked_out = None;
    dev(&mut e).users = Fact::ok(vec![u]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Error
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
    let mut e = estate(MID);
    let mut u = user(100, "mid.dev");
    u.sys_class_name = String::new();
    dev(&mut e).users = Fact::ok(vec![u]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Error
    );
}

#[test]
fn a_login_that_could_not_be_looked_up_on_the_source_is_undecided() {
    let mut e = estate(MID);
    prod(&mut e).unsafe_logins = vec![UnsafeLogin {
        user_name: "mid.dev".into(),
        reason: "cannot be put into a query".into(),
    }];
    let r = checks::run(&e).results;
    for c in [
        "mid-user-not-preserved",
        "mid-user-name-collision",
        "mid-user-survives-by-source-copy",
        "mid-role-not-preserved",
    ] {
        assert_eq!(status(&r, c, "dev", "mid.dev"), Status::Error, "{c}");
    }
}

#[test]
fn a_membership_the_source_holds_with_the_same_sys_id_counts_as_kept() {
    let mut e = estate(MID);
    let (g, gr, m) = mid_group();
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![]);
    d.memberships = Fact::ok(vec![m.clone()]);
    d.groups = Fact::ok(vec![g.clone()]);
    d.group_roles = Fact::ok(vec![gr.clone()]);
    // The membership preserver matches nothing, but prod holds the very same row.
    let p = prod(&mut e);
    p.memberships = Fact::ok(vec![m]);
    p.groups = Fact::ok(vec![g]);
    p.group_roles = Fact::ok(vec![gr]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-membership-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    // Without prod's row the membership is lost, and mid_server with it (high).
    prod(&mut e).memberships = Fact::ok(vec![]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-membership-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
    let lost = r
        .iter()
        .find(|x| x.check == CheckId::MidMembershipNotPreserved)
        .unwrap();
    assert_eq!(lost.severity, preclone::finding::Severity::High);
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Fail
    );
}

#[test]
fn a_request_without_a_profile_takes_every_preserver_and_one_with_a_profile_only_its_own() {
    let mut e = estate(MID);
    let setup = clone_setup(&mut e);
    setup.profiles = Fact::ok(vec![CloneProfile {
        sys_id: id(90),
        name: "Lean".into(),
        default_profile: Some(true),
        preserve_theme: Some(false),
        exclude_all_from_exclusion_list: Some(true),
        exclude_large_data: Some(true),
    }]);
    // The default profile lists only the user preserver.
    setup.profile_preservers = Fact::ok(vec![ProfilePreserver {
        profile: id(90),
        preserver: id(10),
        created_on: "2026-10-01 00:00:00".into(),
    }]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "grants"),
        Status::Fail
    );
    // A pending request with no profile: every preserver applies.
    let request = CloneRequest {
        state: "Requested".into(),
        scheduled: String::new(),
        ..request(91)
    };
    clone_setup(&mut e).clone_requests = Fact::ok(vec![request.clone()]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "grants"),
        Status::Pass
    );
    // The same request with the profile: only its preservers apply.
    clone_setup(&mut e).clone_requests = Fact::ok(vec![CloneRequest {
        profile: id(90),
        ..request.clone()
    }]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "grants"),
        Status::Fail
    );
    // A completed request is history, not a plan.
    clone_setup(&mut e).clone_requests = Fact::ok(vec![CloneRequest {
        state: "Completed".into(),
        ..request
    }]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "grants"),
        Status::Fail
    );
}

#[test]
fn each_pending_request_is_judged_and_a_failure_names_the_requests_it_fails_under() {
    let mut e = estate(MID);
    let setup = clone_setup(&mut e);
    setup.profiles = Fact::ok(vec![CloneProfile {
        sys_id: id(90),
        name: "Lean".into(),
        default_profile: Some(false),
        preserve_theme: None,
        exclude_all_from_exclusion_list: None,
        exclude_large_data: None,
    }]);
    setup.profile_preservers = Fact::ok(vec![ProfilePreserver {
        profile: id(90),
        preserver: id(10),
        created_on: "2026-10-01 00:00:00".into(),
    }]);
    // A lean console request and a legacy one taking every preserver.
    let lean = CloneRequest {
        table: RequestTable::SnInstanceCloneRequest,
        number: "CR1".into(),
        profile: id(90),
        ..request(71)
    };
    let full = CloneRequest {
        number: "CLN2".into(),
        created_on: "2026-11-20 00:00:00".into(),
        ..request(72)
    };
    setup.clone_requests = Fact::ok(vec![full.clone()]);
    setup.console_requests = Fact::ok(Some(vec![lean.clone()]));
    let r = checks::run(&e).results;
    let lost: Vec<&CheckResult> = r
        .iter()
        .filter(|x| x.check == CheckId::MidRoleNotPreserved)
        .collect();
    assert_eq!(lost.len(), 1, "{lost:#?}");
    assert_eq!(lost[0].status, Status::Fail);
    assert!(lost[0].message.contains("CR1"), "{}", lost[0].message);
    assert!(!lost[0].message.contains("CLN2"), "{}", lost[0].message);
    assert!(lost[0].evidence["clone_request"].contains("sn_instance_clone_request"));
    // Lean under both: the failure says so, and names both.
    clone_setup(&mut e).clone_requests = Fact::ok(vec![CloneRequest {
        profile: id(90),
        ..full
    }]);
    let r = checks::run(&e).results;
    let lost = r
        .iter()
        .find(|x| x.check == CheckId::MidRoleNotPreserved)
        .expect("a result");
    assert!(
        lost.message.contains("under every pending request") && lost.message.contains("CLN2"),
        "{}",
        lost.message
    );
    // An unknown lock state: undecided, naming the request (a failure under another request
    // would still fail).
    clone_setup(&mut e).clone_requests = Fact::ok(vec![]);
    clone_setup(&mut e).console_requests = Fact::ok(Some(vec![CloneRequest {
        lock_profile_settings: None,
        ..lean
    }]));
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
    let down = r
        .iter()
        .find(|x| x.check == CheckId::MidServerWillGoDown)
        .expect("a result");
    assert!(down.message.contains("CR1"), "{}", down.message);
}
