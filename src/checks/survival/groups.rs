//! A kept MID user's groups: memberships kept (mid-membership-not-preserved), groups that will
//! not exist (mid-group-missing-in-source) or will not grant `mid_server`
//! (mid-group-lacks-role-in-source), and the sys_ids of what grants it (mid-role-id-differs).

use super::Fate;
use crate::checks::{undecided_unless_known, CheckId, Ev, Judge};
use crate::evidence::InstanceEvidence;
use crate::finding::{CheckResult, Severity, Status, Subject};
use crate::shared_text::Shared;
use crate::simulate::{Origin, World};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn judge_memberships(
    fate: &Fate,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    today: &World,
    after: &World,
    group_results: &mut BTreeMap<(CheckId, Shared), CheckResult>,
    out: &mut Vec<CheckResult>,
) {
    let t = target.name.as_str();
    let login = &fate.user_name;
    let granting_today = today.mid_granting_roles();
    let granting_after = after.mid_granting_roles();
    for (user, origin) in &fate.post {
        if *origin != Origin::Target {
            continue;
        }
        let j = Judge::new(CheckId::MidMembershipNotPreserved, t);
        let memberships: Vec<_> = today.memberships_of(&user.sys_id).collect();
        // A membership is kept when the same user is in the same group after the clone,
        // whether the preserver kept the target's row or the source holds the same row.
        let kept = |m: &crate::evidence::Membership| {
            after.memberships_of(&m.user).any(|a| a.group == m.group)
        };
        let (kept_rows, lost): (Vec<_>, Vec<_>) = memberships.into_iter().partition(|m| kept(m));
        if lost.is_empty() {
            out.push(j.pass(
                fate.subject.clone(),
                format!(
                    "every group membership of {login} is kept ({})",
                    kept_rows.len()
                ),
                Ev::new(),
            ));
        } else {
            // A group that may grant it (a row with an unknown `inherits`) counts as granting.
            let through: Vec<String> = lost
                .iter()
                .filter(|m| {
                    today.group_mid_grant(&m.group, granting_today).is_some()
                        || today
                            .group_mid_grant_unknown(&m.group, granting_today)
                            .is_some()
                })
                .map(|m| today.group_name(&m.group))
                .collect();
            let names: Vec<String> = lost
                .iter()
                .map(|m| format!("\"{}\"", today.group_name(&m.group)))
                .collect();
            let sev = if through.is_empty() {
                Severity::Low
            } else {
                Severity::High
            };
            out.push(
                j.fail_at(
                    sev,
                    fate.subject.clone(),
                    format!(
                        "{login}'s membership of {} is not kept{}",
                        names.join(", "),
                        if through.is_empty() {
                            String::new()
                        } else {
                            format!("; mid_server comes through {}", through.join(", "))
                        }
                    ),
                    "",
                    Ev::new().with("lost_groups", names.join(", ")).with(
                        "lost_memberships",
                        lost.iter()
                            .map(|m| m.sys_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ),
            );
        }
        // The user loses mid_server because of a group only when mid_server came through it
        // today and the user will not hold it otherwise (a direct grant, another group).
        let loses_role = after.mid_grant(&user.sys_id).is_none();
        for m in kept_rows {
            let gname = today.group_name(&m.group);
            let via_today = today.group_mid_grant(&m.group, granting_today);
            // Whether mid_server comes through the group today is unknown (`inherits`).
            let unknown_today = today.group_mid_grant_unknown(&m.group, granting_today);
            let gsubject = Subject::new("sys_user_group", &m.group, &gname);
            let key = |c: CheckId| (c, m.group.clone());
            let sev = if (via_today.is_some() || unknown_today.is_some()) && loses_role {
                Severity::Critical
            } else {
                Severity::Medium
            };
            let jm = Judge::new(CheckId::MidGroupMissingInSource, t);
            if !after.groups.contains_key(m.group.as_str()) {
                let kept_by = if via_today.is_some() && !loses_role {
                    format!("; {login} keeps mid_server otherwise")
                } else {
                    String::new()
                };
                put_worst(
                    group_results,
                    key(jm.def.id),
                    jm.fail_at(
                        sev,
                        gsubject.clone(),
                        format!("the kept membership of {login} points to group \"{gname}\" ({}), which will not exist after the clone{kept_by}", m.group),
                        "",
                        Ev::new().with("member", login),
                    ),
                );
                continue;
            }
            group_results.entry(key(jm.def.id)).or_insert_with(|| {
                jm.pass(
                    gsubject.clone(),
                    format!("group \"{gname}\" exists after the clone"),
                    Ev::new(),
                )
            });
            if via_today.is_some() || unknown_today.is_some() {
                let jl = Judge::new(CheckId::MidGroupLacksRoleInSource, t);
                let s = &source.name;
                if let Some(why) = after.group_mid_grant_unknown(&m.group, granting_after) {
                    // Whether the source's group passes it to its members is unknown.
                    put_worst(group_results, key(jl.def.id), jl.error(gsubject, &why));
                } else if after.group_mid_grant(&m.group, granting_after).is_none() {
                    // A row of the role whose `inherits` is false grants nothing to members.
                    let (why, fix) = match after.group_mid_row_not_inherited(&m.group, granting_after) {
                        Some((via, role)) => (
                            format!(
                                ": in {s}, group \"{}\" holds {} without passing it to its members (inherits is false)",
                                after.group_name(&via),
                                after.role_name(&role)
                            ),
                            format!("on {s}, set inherits to true on the {} role row of group \"{}\"", after.role_name(&role), after.group_name(&via)),
                        ),
                        None => (
                            String::new(),
                            format!("on {s}, grant mid_server to group \"{gname}\""),
                        ),
                    };
                    let (then, fix) = if loses_role {
                        (String::new(), fix)
                    } else {
                        (
                            format!("; {login} keeps mid_server otherwise"),
                            format!(
                                "{fix}, so that its members hold it the same way after the clone"
                            ),
                        )
                    };
                    let fail = jl.fail_at(
                        sev,
                        gsubject,
                        format!("mid_server comes to {login} through group \"{gname}\", which after the clone will not grant it{why}{then}"),
                        fix,
                        Ev::new().with("member", login),
                    );
                    let result = match (&via_today, &unknown_today) {
                        // Whether it comes through the group today is unknown.
                        (None, Some(u)) => undecided_unless_known(
                            fail,
                            &format!("whether mid_server comes to {login} through group \"{gname}\" today is unknown: {}", u.reason),
                            "make sys_group_has_role.inherits readable to the audit user (run `preclone doctor`), then run the audit again",
                        ),
                        _ => fail,
                    };
                    put_worst(group_results, key(jl.def.id), result);
                } else {
                    group_results.entry(key(jl.def.id)).or_insert_with(|| {
                        jl.pass(
                            gsubject,
                            format!("group \"{gname}\" still grants mid_server"),
                            Ev::new(),
                        )
                    });
                }
            }
        }
    }
}

/// Records `result` for its group, unless one recorded for another member is worse (a fail
/// over a pass, then the higher severity).
fn put_worst(
    group_results: &mut BTreeMap<(CheckId, Shared), CheckResult>,
    key: (CheckId, Shared),
    result: CheckResult,
) {
    let rank = |r: &CheckResult| {
        (
            r.status == Status::Fail,
            r.status == Status::Error,
            r.severity,
        )
    };
    match group_results.get(&key) {
        Some(old) if rank(old) >= rank(&result) => {}
        _ => {
            group_results.insert(key, result);
        }
    }
}

/// mid-role-id-differs: mid_server, and the roles and groups through which a judged MID user
/// (`judged`, by sys_id) holds it, looked up on the source by sys_id. Names are not unique: a
/// record passes when the source has its sys_id, whatever else bears its name, and fails when
/// only records of the same name with other sys_ids exist there.
pub(super) fn role_ids(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    today: &World,
    src: &World,
    judged: &BTreeSet<&str>,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::MidRoleIdDiffers, &target.name);
    let s = &source.name;
    let t = &target.name;
    let granting = today.mid_granting_roles();
    let mut roles: BTreeSet<String> = today.mid_roles.clone();
    let mut groups = BTreeSet::new();
    for user in judged {
        roles.extend(
            today
                .roles_of(user)
                .filter(|r| granting.contains(r.role.as_str()))
                .map(|r| r.role.to_string()),
        );
        for m in today.memberships_of(user) {
            if let Some((via, role)) = today.group_mid_grant(&m.group, granting) {
                groups.insert(m.group.to_string());
                groups.insert(via);
                roles.insert(role);
            }
        }
    }
    let ids = |found: Vec<&str>| found.join(", ");
    for id in roles {
        let name = today.role_name(&id);
        let subject = Subject::new("sys_user_role", &id, &name);
        let named: Vec<&str> = src
            .roles
            .values()
            .filter(|(r, _)| r.name == name)
            .map(|(r, _)| r.sys_id.as_str())
            .collect();
        if src.roles.contains_key(id.as_str()) {
            out.push(j.pass(
                subject,
                format!("role {name} has the same sys_id on both"),
                Ev::new(),
            ));
        } else if !named.is_empty() {
            out.push(j.fail(
                subject,
                format!("role {name} is {id} on {t} but {} on {s}: kept rows pointing to it will point nowhere", ids(named.clone())),
                "",
                Ev::new().with("target_sys_id", &id).with("source_sys_id", ids(named)),
            ));
        } else if name == "mid_server" {
            out.push(j.fail(
                subject,
                format!("{s} has no mid_server role record"),
                "",
                Ev::new(),
            ));
        }
    }
    for gid in groups {
        let name = today.group_name(&gid);
        let subject = Subject::new("sys_user_group", &gid, &name);
        let named: Vec<&str> = src
            .groups
            .values()
            .filter(|(g, _)| g.name == name)
            .map(|(g, _)| g.sys_id.as_str())
            .collect();
        if src.groups.contains_key(gid.as_str()) {
            out.push(j.pass(
                subject,
                format!("group \"{name}\" has the same sys_id on both"),
                Ev::new(),
            ));
        } else if !named.is_empty() {
            out.push(j.fail(
                subject,
                format!("group \"{name}\" is {gid} on {t} but {} on {s}: kept memberships will point nowhere", ids(named.clone())),
                "",
                Ev::new().with("target_sys_id", &gid).with("source_sys_id", ids(named)),
            ));
        }
    }
}
