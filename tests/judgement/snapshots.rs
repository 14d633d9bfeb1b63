//! Whole judgements of small hand-built estates, as JSON snapshots (`tests/judgement/snapshots/`):
//! every result with its message and evidence, the inventory and the MID Servers that go down. A
//! change in what a check says shows up as a reviewable diff (`cargo insta review`).

use super::estate::*;
use preclone::checks::{self, Judgement};
use preclone::evidence::*;

/// The judgement with its results in report order, so a snapshot reads like the report.
fn judged(e: &Evidence) -> Judgement {
    let mut j = checks::run(e);
    checks::sort(&mut j.results);
    j
}

/// The MID user and its grant are kept: every survival check passes, nothing goes down.
#[test]
fn snapshot_a_kept_mid_user() {
    insta::assert_json_snapshot!(judged(&estate(MID)));
}

/// The preservers match nothing on dev and prod has no such user: the user is lost, its MID
/// Server goes down, and prod is told to add a preserver.
#[test]
fn snapshot_a_mid_server_that_goes_down() {
    let mut e = estate(MID);
    dev(&mut e).preserver_evals = vec![
        eval(10, "sys_user", &[], 0),
        eval(11, "sys_user_has_role", &[], 0),
        eval(12, "sys_user_grmember", &[], 0),
    ];
    let j = judged(&e);
    assert_eq!(j.impact.len(), 1, "{:#?}", j.impact);
    insta::assert_json_snapshot!(j);
}

/// mid_server comes to the MID user through a group that prod holds without the role: the role is
/// lost after the clone although the user and its membership are kept.
#[test]
fn snapshot_a_group_that_grants_nothing_in_the_source() {
    let mut e = estate(MID);
    let (g, gr, m) = mid_group();
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![]);
    d.memberships = Fact::ok(vec![m]);
    d.groups = Fact::ok(vec![g.clone()]);
    d.group_roles = Fact::ok(vec![gr]);
    d.preserver_evals = vec![
        eval(10, "sys_user", &[100], 1),
        eval(11, "sys_user_has_role", &[], 0),
        eval(12, "sys_user_grmember", &[63], 1),
    ];
    prod(&mut e).groups = Fact::ok(vec![g]);
    insta::assert_json_snapshot!(judged(&e));
}

/// dev's grants could not be read: every check that needs them is undecided, never a pass.
#[test]
fn snapshot_an_unreadable_table() {
    let mut e = estate(MID);
    dev(&mut e).user_roles = Fact::error("sys_user_has_role", "403 Forbidden");
    insta::assert_json_snapshot!(judged(&e));
}
