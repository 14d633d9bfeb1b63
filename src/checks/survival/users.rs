//! The fate of one login on one target: will the user exist (mid-user-not-preserved), only as
//! the source's copy (mid-user-survives-by-source-copy), twice (mid-user-name-collision), and
//! will it hold `mid_server` (mid-role-not-preserved).

use super::{preserver_names, preservers_of, Fate, Outcome};
use crate::checks::{advice, CheckId, Ev, Judge};
use crate::evidence::{InstanceEvidence, Preserver, User};
use crate::finding::CheckResult;
use crate::simulate::{class_table, ClonePlan, Grant, Origin, World};

pub(super) fn judge_login(
    fate: &Fate,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    plan: &ClonePlan,
    today: &World,
    after: &World,
    out: &mut Vec<CheckResult>,
) -> Outcome {
    let t = target.name.as_str();
    let s = source.name.as_str();
    let login = &fate.user_name;
    let usable = fate.usable();
    // Users after the clone that may be usable: what rests on them is undecided.
    let maybe = fate.maybe_usable();
    let kept_record = fate.post.iter().any(|(_, o)| *o == Origin::Target);
    let source_copies = &fate.source_records;
    let applicable = preserver_names(source, plan, "sys_user");
    let base_ev = Ev::new()
        .with(
            "target_records",
            fate.records
                .iter()
                .map(|u| u.sys_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .with(
            "source_records",
            source_copies
                .iter()
                .map(|u| u.sys_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .with("applicable_sys_user_preservers", &applicable);

    // mid-user-not-preserved
    let j = Judge::new(CheckId::MidUserNotPreserved, t);
    let mut outcome = Outcome {
        user_lost: None,
        role_lost: None,
        undecided: None,
    };
    if let (true, Some((_, why))) = (usable.is_empty(), maybe.first()) {
        // Only a user whose `active` or `locked_out` is unknown could log in.
        out.push(j.error(fate.subject.clone(), why));
        for c in [
            CheckId::MidUserSurvivesBySourceCopy,
            CheckId::MidUserNameCollision,
            CheckId::MidRoleNotPreserved,
        ] {
            out.push(Judge::new(c, t).error(fate.subject.clone(), why));
        }
        outcome.undecided = Some(why.clone());
        return outcome;
    }
    if usable.is_empty() {
        // A child-class record is kept only by a preserver on its own class table.
        let child = fate
            .records
            .iter()
            .find(|u| class_table(u) != "sys_user")
            .filter(|_| !kept_record);
        let mut fix = None;
        let target_why = if fate.records.is_empty() {
            format!("{t} has no user named {login}")
        } else if let Some(u) = child {
            let (why, how) = child_class_lost(u, source, plan);
            fix = Some(how);
            why
        } else if let Some(ex) = plan.excluded.get("sys_user") {
            format!("sys_user is excluded from the clone ({ex})")
        } else if kept_record {
            format!("{t}'s record is kept but is inactive or locked out")
        } else {
            format!("no applicable sys_user preserver matches it (applicable: {applicable})")
        };
        let source_why = if source_copies.is_empty() {
            format!("{s} has no user named {login}")
        } else {
            format!("{s}'s {login} is inactive or locked out")
        };
        let why = format!("{target_why}; {source_why}");
        let fix = fix.unwrap_or_else(|| format!("on {s}, add a preserver on sys_user whose condition matches {login} (e.g. roles=mid_server) and list it in the clone profile"));
        out.push(j.fail(
            fate.subject.clone(),
            format!("after the clone no active, unlocked user {login} exists on {t}: {why}"),
            format!("{fix}, or create {login} in {s} (see prod-foreign-mid-user before you do)"),
            base_ev,
        ));
        outcome.user_lost = Some(if fate.records.is_empty() {
            source_why
        } else {
            target_why
        });
        return outcome;
    }
    let how = if kept_record {
        format!("{t}'s own record is kept")
    } else {
        format!("{s}'s copy is brought by the clone")
    };
    out.push(j.pass(
        fate.subject.clone(),
        format!("{login} exists after the clone: {how}"),
        base_ev,
    ));

    // mid-user-survives-by-source-copy
    let j = Judge::new(CheckId::MidUserSurvivesBySourceCopy, t);
    let target_maybe = maybe.iter().find(|((_, o), _)| *o == Origin::Target);
    if let (true, Some((_, why))) = (
        usable.iter().all(|(_, o)| *o == Origin::Source),
        target_maybe,
    ) {
        // The target's own record is kept, but whether it can log in is unknown.
        out.push(j.error(fate.subject.clone(), why));
    } else if usable.iter().all(|(_, o)| *o == Origin::Source) {
        // The target's own record is kept by a preserver on its class table.
        let table = fate
            .records
            .first()
            .map(|u| class_table(u))
            .unwrap_or("sys_user");
        out.push(j.fail(
            fate.subject.clone(),
            format!("{login} survives only as {s}'s copy: its password after the clone is {s}'s, and the MID Server's stored credential must match it"),
            format!("preserve {t}'s own {login} with a preserver on {table}, or confirm the MID Server's stored password equals {s}'s"),
            Ev::new().with("source_sys_id", &usable[0].0.sys_id),
        ));
    } else {
        out.push(j.pass(
            fate.subject.clone(),
            format!("{t}'s own record of {login} is kept"),
            Ev::new(),
        ));
    }

    // mid-user-name-collision
    let j = Judge::new(CheckId::MidUserNameCollision, t);
    if fate.post.len() > 1 {
        let ids: Vec<String> = fate
            .post
            .iter()
            .map(|(u, o)| {
                format!(
                    "{} ({})",
                    u.sys_id,
                    if *o == Origin::Source { s } else { t }
                )
            })
            .collect();
        out.push(j.fail(
            fate.subject.clone(),
            format!(
                "after the clone {} users are named {login}: {}",
                fate.post.len(),
                ids.join(", ")
            ),
            "",
            Ev::new().with("sys_ids", ids.join(", ")),
        ));
    } else {
        out.push(j.pass(
            fate.subject.clone(),
            format!("one user named {login} after the clone"),
            Ev::new(),
        ));
    }

    // mid-role-not-preserved
    let j = Judge::new(CheckId::MidRoleNotPreserved, t);
    let lacking: Vec<&&(User, Origin)> = usable
        .iter()
        .filter(|(u, _)| after.mid_grant(&u.sys_id).is_none())
        .collect();
    // A user that may be usable and lacks mid_server would fail it.
    let maybe_lacking = maybe
        .iter()
        .find(|((u, _), _)| after.mid_grant(&u.sys_id).is_none())
        .map(|(_, why)| why.clone());
    // A group row whose `inherits` is unknown may grant it: neither a pass nor a fail.
    if let Some(why) = lacking
        .iter()
        .find_map(|(u, _)| after.mid_grant_unknown(&u.sys_id))
    {
        out.push(j.error(fate.subject.clone(), &why));
        outcome.undecided = Some(why);
    } else if let (true, Some(why)) = (lacking.is_empty(), maybe_lacking) {
        out.push(j.error(fate.subject.clone(), &why));
        outcome.undecided = Some(why);
    } else if let Some((u, origin)) = lacking.first().map(|x| (&x.0, x.1)) {
        // The fix follows the cause: never a preserver the estate already applies, never a
        // group step when the role came directly.
        let add_or_fix = |table: &str| {
            let names = preserver_names(source, plan, table);
            if plan.applicable_on(preservers_of(source), table).is_empty() {
                format!(
                    "on {s}, add {} and list it in the clone profile",
                    advice::preserver(table).unwrap_or_else(|| format!("a preserver on {table}"))
                )
            } else {
                format!("on {s}, change the condition of the {table} preserver(s) {names} so that it matches {login}'s row")
            }
        };
        let (why, fix) = if origin == Origin::Source {
            (
                format!("{s}'s {login} does not hold mid_server in {s}"),
                format!("on {s}, grant mid_server to {login}, or keep {t}'s own record of it"),
            )
        } else {
            match fate
                .records
                .iter()
                .find(|r| r.sys_id == u.sys_id)
                .and_then(|r| today.mid_grant(&r.sys_id))
            {
                Some(g @ Grant::Direct { .. }) => (
                    format!(
                        "its {} is not kept (applicable sys_user_has_role preservers: {})",
                        today.describe(&g),
                        preserver_names(source, plan, "sys_user_has_role")
                    ),
                    add_or_fix("sys_user_has_role"),
                ),
                Some(Grant::Group { group, via, .. }) => {
                    let kept_membership = after.memberships_of(&u.sys_id).any(|m| m.group == group);
                    let gname = today.group_name(&via);
                    if !kept_membership {
                        (
                            format!(
                                "its membership of group \"{}\" is not kept",
                                today.group_name(&group)
                            ),
                            add_or_fix("sys_user_grmember"),
                        )
                    } else if !after.groups.contains_key(via.as_str()) {
                        (
                            format!("group \"{gname}\" will not exist after the clone"),
                            format!("on {s}, create group \"{gname}\" with the role mid_server (see mid-group-missing-in-source)"),
                        )
                    } else if after
                        .group_mid_row_not_inherited(&group, after.mid_granting_roles())
                        .is_some()
                    {
                        (
                            format!(
                                "in {s}, group \"{gname}\" holds mid_server without passing it to its members (inherits is false)"
                            ),
                            format!("on {s}, set inherits to true on the mid_server role row of group \"{gname}\""),
                        )
                    } else {
                        (
                            format!("group \"{gname}\" grants nothing in {s}"),
                            format!("on {s}, grant mid_server to group \"{gname}\""),
                        )
                    }
                }
                None => (
                    format!("{login} does not hold mid_server on {t} today either"),
                    format!("grant mid_server to {login} on {t} and on {s}"),
                ),
            }
        };
        out.push(
            j.fail(
                fate.subject.clone(),
                format!("{login} will exist after the clone but will not hold mid_server: {why}"),
                fix,
                Ev::new()
                    .with("user_sys_id", &u.sys_id)
                    .with("because", &why),
            ),
        );
        outcome.role_lost = Some(why);
    } else {
        let grants: Vec<String> = usable
            .iter()
            .filter_map(|(u, _)| after.mid_grant(&u.sys_id).map(|g| after.describe(&g)))
            .collect();
        out.push(j.pass(
            fate.subject.clone(),
            format!("{login} will hold mid_server through {}", grants.join("; ")),
            Ev::new().with("grant", grants.join("; ")),
        ));
    }
    outcome
}

/// Why a child-class record of a login will not be kept, and what to do: a `sys_user`
/// preserver does not reach it; a preserver on its own class table does, when one applies to
/// the clone and its condition matches.
fn child_class_lost(u: &User, source: &InstanceEvidence, plan: &ClonePlan) -> (String, String) {
    let s = source.name.as_str();
    let login = &u.user_name;
    let table = class_table(u);
    let on_table: Vec<&Preserver> = source
        .clone
        .as_ref()
        .and_then(|c| c.preservers.get())
        .map(|ps| ps.iter().filter(|p| p.table == table).collect())
        .unwrap_or_default();
    let (applicable, off): (Vec<&Preserver>, Vec<&Preserver>) = on_table
        .into_iter()
        .partition(|p| plan.applicable.contains(&p.sys_id));
    let head = format!(
        "its class is {table}, which a sys_user preserver does not keep: only a preserver on {table} does"
    );
    if !applicable.is_empty() {
        let names = preserver_names(source, plan, table);
        return (
            format!("{head}, and the applicable ones ({names}) do not match it"),
            format!("on {s}, change the condition of the preserver on {table} so that it matches {login} (e.g. roles=mid_server)"),
        );
    }
    if let Some(p) = off.first() {
        let why = plan
            .not_applied
            .get(&p.sys_id)
            .cloned()
            .unwrap_or_else(|| "not applied".into());
        return (
            format!(
                "{head}, and preserver \"{}\" on {table} will not run ({why})",
                p.name
            ),
            format!(
                "on {s}, make preserver \"{}\" on {table} run in this clone ({why})",
                p.name
            ),
        );
    }
    (
        format!("{head}, and there is none"),
        format!("on {s}, add a preserver on table {table} (not sys_user) with the condition roles=mid_server, or one that matches {login}, and list it in the clone profile"),
    )
}
