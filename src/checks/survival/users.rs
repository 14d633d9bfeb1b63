//! The fate of one login on one target: will the user exist (mid-user-not-preserved), only as
//! the source's copy (mid-user-survives-by-source-copy), twice (mid-user-name-collision), and
//! will it hold `mid_server` (mid-role-not-preserved).

use super::{preserver_names, Fate, Outcome};
use crate::checks::{advice, CheckId, Ev, Judge};
use crate::evidence::{InstanceEvidence, User};
use crate::finding::CheckResult;
use crate::simulate::{ClonePlan, Grant, Origin, World};

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
    let kept_record = fate.post.iter().any(|(_, o)| *o == Origin::Target);
    let source_copies: Vec<&User> = source
        .users
        .get()
        .map(|us| us.iter().filter(|u| &u.user_name == login).collect())
        .unwrap_or_default();
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
    };
    if usable.is_empty() {
        let target_why = if fate.records.is_empty() {
            format!("{t} has no user named {login}")
        } else if let Some(ex) = plan.excluded.get("sys_user") {
            format!("sys_user is excluded from the clone ({ex})")
        } else if let Some(u) = fate
            .records
            .iter()
            .find(|u| !u.sys_class_name.is_empty() && u.sys_class_name != "sys_user")
        {
            format!(
                "its class is {}, and preservers do not reach child classes",
                u.sys_class_name
            )
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
        out.push(j.fail(
            fate.subject.clone(),
            format!("after the clone no active, unlocked user {login} exists on {t}: {why}"),
            format!("on {s}, add a preserver on sys_user whose condition matches {login} (e.g. roles=mid_server) and list it in the clone profile, or create {login} in {s} (see prod-foreign-mid-user before you do)"),
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
    if usable.iter().all(|(_, o)| *o == Origin::Source) {
        out.push(j.fail(
            fate.subject.clone(),
            format!("{login} survives only as {s}'s copy: its password after the clone is {s}'s, and the MID Server's stored credential must match it"),
            format!("preserve {t}'s own {login} with a sys_user preserver, or confirm the MID Server's stored password equals {s}'s"),
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
    if let Some((u, origin)) = lacking.first().map(|x| (&x.0, x.1)) {
        let why = if origin == Origin::Source {
            format!("{s}'s {login} does not hold mid_server in {s}")
        } else {
            match fate
                .records
                .iter()
                .find(|r| r.sys_id == u.sys_id)
                .and_then(|r| today.mid_grant(&r.sys_id))
            {
                Some(g @ Grant::Direct { .. }) => format!(
                    "its {} is not kept (applicable sys_user_has_role preservers: {})",
                    today.describe(&g),
                    preserver_names(source, plan, "sys_user_has_role")
                ),
                Some(Grant::Group { group, via, .. }) => {
                    let kept_membership = after.memberships_of(&u.sys_id).any(|m| m.group == group);
                    if !kept_membership {
                        format!(
                            "its membership of group \"{}\" is not kept",
                            today.group_name(&group)
                        )
                    } else if !after.groups.contains_key(&via) {
                        format!(
                            "group \"{}\" will not exist after the clone",
                            today.group_name(&via)
                        )
                    } else {
                        format!("group \"{}\" grants nothing in {s}", today.group_name(&via))
                    }
                }
                None => format!("{login} does not hold mid_server on {t} today either"),
            }
        };
        out.push(j.fail(
            fate.subject.clone(),
            format!("{login} will exist after the clone but will not hold mid_server: {why}"),
            format!(
                "on {s}, add {} and list it in the clone profile, or grant mid_server to {login} or its group in {s}",
                advice::preserver("sys_user_has_role").unwrap_or_default()
            ),
            Ev::new().with("user_sys_id", &u.sys_id).with("because", &why),
        ));
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
