//! How users hold roles, on evidence built by hand: group role rows pass their role only with
//! `inherits` true, child-class users are kept by preservers on their class table, a MID user
//! whose `active` is unknown is judged and undecided, and contained roles are followed for
//! elevated privileges.

use super::estate::*;
use preclone::checks::{self, CheckId};
use preclone::evidence::*;
use preclone::finding::Status;

/// mid.dev holds mid_server only through group "MIDs" (60), on dev and in prod; prod's row of
/// the role has `inherits` as given.
fn through_group(inherits: Option<bool>) -> Evidence {
    let mut e = estate(MID);
    let (group, grant, membership) = mid_group();
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![]);
    d.memberships = Fact::ok(vec![membership]);
    d.groups = Fact::ok(vec![group.clone()]);
    d.group_roles = Fact::ok(vec![grant.clone()]);
    d.preserver_evals[2] = eval(12, "sys_user_grmember", &[63], 1);
    let p = prod(&mut e);
    p.groups = Fact::ok(vec![group]);
    p.group_roles = Fact::ok(vec![GroupRole { inherits, ..grant }]);
    e
}

#[test]
fn a_group_passes_mid_server_only_by_a_row_that_inherits() {
    for (inherits, expected) in [
        (Some(true), Status::Pass),
        (Some(false), Status::Fail),
        (None, Status::Error),
    ] {
        let r = checks::run(&through_group(inherits)).results;
        for (check, subject) in [
            ("mid-role-not-preserved", "mid.dev"),
            ("mid-group-lacks-role-in-source", "MIDs"),
            ("mid-server-will-go-down", "mid-dev-01"),
        ] {
            assert_eq!(
                status(&r, check, "dev", subject),
                expected,
                "{check} with inherits {inherits:?}"
            );
        }
    }
    // Today too: a row that does not inherit gives the member nothing.
    let mut e = through_group(Some(true));
    let d = dev(&mut e);
    if let Fact::Ok { value } = &mut d.group_roles {
        value[0].inherits = Some(false);
    }
    let r = checks::run(&e).results;
    let inventory = checks::run(&e).inventory;
    let dev_users = inventory[1].mid_users.clone().unwrap_or_default();
    assert!(
        dev_users.iter().all(|u| u.has_mid_role == Some(false)),
        "{dev_users:?}"
    );
    // mid.dev is still a login of its MID Server, and will then not hold mid_server.
    assert_eq!(
        status(&r, "mid-role-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
}

#[test]
fn a_child_class_user_is_kept_by_a_preserver_on_its_class_table() {
    let mut e = estate(MID);
    let mut u = user(100, "mid.dev");
    u.sys_class_name = "u_mid_account".into();
    dev(&mut e).users = Fact::ok(vec![u]);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.push(preserver(
            13,
            "accounts",
            "u_mid_account",
            "roles=mid_server",
        ));
    }
    // Applicable but not evaluated on dev: undecided (naming the table), never kept.
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "u_mid_account"),
        Status::Error
    );
    assert!(r
        .iter()
        .all(|x| x.subject.name != "mid.dev" || x.status != Status::Fail));
    // Evaluated and matching: kept.
    dev(&mut e)
        .preserver_evals
        .push(eval(13, "u_mid_account", &[100], 1));
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "preserver-not-applied", "prod", "accounts"),
        Status::Pass
    );
    // Excluding sys_user does not remove a kept record of a child class.
    clone_setup(&mut e).excludes = Fact::ok(vec![exclusion(900, "sys_user")]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
}

#[test]
fn a_mid_user_whose_active_is_unknown_is_judged_and_undecided() {
    let mut e = estate(MID);
    // mid.spare (110) holds mid_server, is used by no MID Server, and no preserver keeps it.
    let mut spare = user(110, "mid.spare");
    spare.active = None;
    spare.last_login_time = String::new();
    let d = dev(&mut e);
    d.users = Fact::ok(vec![user(100, "mid.dev"), spare]);
    d.user_roles = Fact::ok(vec![grant(101, 100, MID), grant(111, 110, MID)]);
    let r = checks::run(&e).results;
    for check in ["mid-user-not-preserved", "mid-user-dormant"] {
        assert_eq!(
            status(&r, check, "dev", "mid.spare"),
            Status::Error,
            "{check}"
        );
    }
    assert_eq!(
        status(&r, "mid-user-interactive-login", "dev", "mid.spare"),
        Status::Pass
    );
    let errors: Vec<_> = r
        .iter()
        .filter(|x| x.subject.name == "mid.spare" && x.status == Status::Error)
        .collect();
    assert!(errors
        .iter()
        .all(|x| x.message.contains("active") && x.severity == x.check.def().max_severity));
    // Known inactive: inventory only.
    let mut e2 = e.clone();
    if let Fact::Ok { value } = &mut dev(&mut e2).users {
        value[1].active = Some(false);
    }
    let r = checks::run(&e2).results;
    assert!(r.iter().all(|x| x.subject.name != "mid.spare"));
}

#[test]
fn an_elevated_role_contained_in_a_role_held_after_the_clone_fails() {
    // mid.dev's kept grant is of mid_bundle (3), which in prod contains admin (4).
    const BUNDLE: u32 = 3;
    const ADMIN: u32 = 4;
    let mut e = estate(MID);
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![grant(101, 100, MID), grant(103, 100, BUNDLE)]);
    d.preserver_evals[1] = eval(11, "sys_user_has_role", &[101, 103], 2);
    let role = |n: u32, name: &str| Role {
        sys_id: id(n),
        name: name.into(),
        elevated_privilege: Some(false),
    };
    let p = prod(&mut e);
    p.roles = Fact::ok(vec![role(BUNDLE, "mid_bundle"), role(ADMIN, "admin")]);
    p.held_role_contains = Fact::ok(vec![RoleContains {
        sys_id: id(70),
        role: id(BUNDLE),
        contains: id(ADMIN),
    }]);
    let r = checks::run(&e).results;
    let found: Vec<_> = r
        .iter()
        .filter(|x| x.check == CheckId::MidUserElevatedRoles && x.instance == "dev")
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, Status::Fail);
    assert!(
        found[0]
            .message
            .contains("admin (contained in mid_bundle) (after the clone)"),
        "{}",
        found[0].message
    );
    // Unread containment in prod with nothing elevated seen: undecided.
    let p = prod(&mut e);
    p.held_role_contains = Fact::error("sys_user_role_contains", "403");
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-elevated-roles", "dev", "mid.dev"),
        Status::Error
    );
}

#[test]
fn an_unknown_active_user_leaves_undecided_only_what_rests_on_it() {
    // dev's mid.dev is kept but its `active` is unknown; prod brings a usable mid.dev.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut dev(&mut e).users {
        value[0].active = None;
    }
    let p = prod(&mut e);
    p.users = Fact::ok(vec![user(200, "MID.DEV")]);
    p.user_roles = Fact::ok(vec![grant(201, 200, MID)]);
    let r = checks::run(&e).results;
    // Someone will log in whatever it is.
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    // Whether that is only the source's copy rests on it.
    assert_eq!(
        status(&r, "mid-user-survives-by-source-copy", "dev", "mid.dev"),
        Status::Error
    );
    // Two users of that login either way.
    assert_eq!(
        status(&r, "mid-user-name-collision", "dev", "mid.dev"),
        Status::Fail
    );
    // Without the source's copy, only the unknown one could log in.
    prod(&mut e).users = Fact::ok(vec![]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Error
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
}
