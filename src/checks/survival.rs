//! Will the target's MID Servers still log in? Every check here reads the simulation of
//! PRODUCT.md 2.1 (`crate::simulate`).

use super::{table_subject, CheckId, Ev, Judge};
use crate::evidence::{Evidence, Fact, InstanceEvidence, MidServer, Unreadable, User};
use crate::finding::{CheckResult, Severity, Subject};
use crate::simulate::{self, ClonePlan, Grant, Origin, World};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn judge(evidence: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(source) = evidence.source() else {
        return;
    };
    for target in evidence.target_instances() {
        judge_target(source, target, out);
        build_mismatch(source, target, out);
    }
    for inst in evidence.instances.values() {
        shared_by_mid_servers(inst, out);
    }
}

/// The logins a MID Server uses: its configured user and the user it logged in as.
pub(crate) fn mid_server_logins(inst: &InstanceEvidence, m: &MidServer) -> Vec<String> {
    let mut logins = BTreeSet::new();
    if let Fact::Ok { value: configs } = &inst.mid_configs {
        // A row that names no MID Server applies to all of them.
        for c in configs
            .iter()
            .filter(|c| c.ecc_agent == m.sys_id || c.ecc_agent.is_empty())
        {
            if !c.value.trim().is_empty() {
                logins.insert(c.value.trim().to_string());
            }
        }
    }
    if !m.user_name.trim().is_empty() {
        logins.insert(m.user_name.trim().to_string());
    }
    logins.into_iter().collect()
}

/// Whether the user is a MID user of this instance: it has a `sys_user_has_role` row (direct or
/// inherited) of `mid_server` or a role containing it, or holds it through a group.
pub(crate) fn is_mid_role_holder(today: &World, user: &User) -> bool {
    let granting = today.mid_granting_roles();
    let by_row = today
        .roles_of(&user.sys_id)
        .any(|r| granting.contains(&r.role));
    by_row || today.mid_grant(&user.sys_id).is_some()
}

/// Logins used by the MID Servers of an instance: user_name → MID Server names.
pub(crate) fn used_by(inst: &InstanceEvidence) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Fact::Ok { value: servers } = &inst.mid_servers {
        for m in servers {
            for l in mid_server_logins(inst, m) {
                map.entry(l).or_default().push(m.name.clone());
            }
        }
    }
    map
}

/// What the simulation says of one login on one target.
struct Fate<'a> {
    user_name: String,
    subject: Subject,
    /// The target's own records with this user_name.
    records: Vec<&'a User>,
    /// Users with this user_name after the clone.
    post: Vec<(User, Origin)>,
}

impl Fate<'_> {
    fn usable(&self) -> Vec<&(User, Origin)> {
        self.post.iter().filter(|(u, _)| u.usable()).collect()
    }
}

struct Outcome {
    /// Some(reason) when the user will not exist (mid-user-not-preserved fails).
    user_lost: Option<String>,
    /// Some(reason) when it exists but lacks mid_server.
    role_lost: Option<String>,
}

fn judge_target(source: &InstanceEvidence, target: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let t = target.name.as_str();
    let user_checks = [
        CheckId::MidUserNotPreserved,
        CheckId::MidUserSurvivesBySourceCopy,
        CheckId::MidUserNameCollision,
        CheckId::MidRoleNotPreserved,
        CheckId::MidMembershipNotPreserved,
        CheckId::MidGroupMissingInSource,
        CheckId::MidGroupLacksRoleInSource,
        CheckId::MidRoleIdDiffers,
    ];
    let server_checks = [CheckId::MidServerWillGoDown, CheckId::MidServerLoginUnknown];

    // Subjects: the MID Servers and the target's MID users.
    let servers = match target.mid_servers.as_result() {
        Ok(s) => Some(s),
        Err(e) => {
            for c in server_checks {
                out.push(Judge::new(c, t).error(table_subject("ecc_agent"), &e));
            }
            None
        }
    };
    let worlds = World::today(target).and_then(|today| {
        let plan = simulate::plan(source, target)?;
        let after = World::after_clone(source, target, &plan)?;
        let src_today = World::today(source)?;
        Ok((today, plan, after, src_today))
    });
    let (today, plan, after, src_today) = match worlds {
        Ok(w) => w,
        Err(e) => {
            let subject = table_subject(&e.table);
            for c in user_checks {
                out.push(Judge::new(c, t).error(subject.clone(), &e));
            }
            if let Some(servers) = servers {
                let j = Judge::new(CheckId::MidServerWillGoDown, t);
                for m in servers {
                    out.push(j.error(server_subject(m), &e));
                }
            }
            return;
        }
    };
    let users = target.users.get().map(Vec::as_slice).unwrap_or_default();

    // Every login judged: active MID users of the target and every MID Server login.
    let mut logins: BTreeSet<String> = users
        .iter()
        .filter(|u| u.active == Some(true) && is_mid_role_holder(&today, u))
        .map(|u| u.user_name.clone())
        .collect();
    if let Some(servers) = servers {
        for m in servers {
            logins.extend(mid_server_logins(target, m));
        }
    }

    let mut outcomes: BTreeMap<String, Result<Outcome, Unreadable>> = BTreeMap::new();
    let mut group_results: BTreeMap<(CheckId, String), CheckResult> = BTreeMap::new();
    for login in &logins {
        let records: Vec<&User> = users.iter().filter(|u| &u.user_name == login).collect();
        let post: Vec<(User, Origin)> = after
            .users_named(login)
            .into_iter()
            .map(|(u, o)| (u.clone(), o))
            .collect();
        let subject = match records.first() {
            Some(u) => Subject::new("sys_user", &u.sys_id, login),
            None => Subject::new("sys_user", "", login),
        };
        if let Some(why) = undecidable_login(login, source, target, &records, &post) {
            for c in [
                CheckId::MidUserNotPreserved,
                CheckId::MidUserSurvivesBySourceCopy,
                CheckId::MidUserNameCollision,
                CheckId::MidRoleNotPreserved,
            ] {
                out.push(Judge::new(c, t).error(subject.clone(), &why));
            }
            outcomes.insert(login.clone(), Err(why));
            continue;
        }
        let fate = Fate {
            user_name: login.clone(),
            subject,
            records,
            post,
        };
        let outcome = judge_login(&fate, source, target, &plan, &today, &after, out);
        judge_memberships(
            &fate,
            source,
            target,
            &today,
            &after,
            &mut group_results,
            out,
        );
        outcomes.insert(login.clone(), Ok(outcome));
    }
    out.extend(group_results.into_values());
    role_ids(source, target, &today, &src_today, out);

    if let Some(servers) = servers {
        let down = Judge::new(CheckId::MidServerWillGoDown, t);
        let unknown = Judge::new(CheckId::MidServerLoginUnknown, t);
        // Without the configured users, a MID Server's next login is not known.
        if let Err(e) = target.mid_configs.as_result() {
            for m in servers {
                out.push(down.error(server_subject(m), &e));
                out.push(unknown.error(server_subject(m), &e));
            }
            return;
        }
        for m in servers {
            let logins = mid_server_logins(target, m);
            let subject = server_subject(m);
            let ev = Ev::new()
                .with("status", &m.status)
                .with("host_name", &m.host_name)
                .with("logins", logins.join(", "));
            if logins.is_empty() {
                out.push(unknown.fail(
                    subject,
                    format!(
                        "MID Server {} has no known login (no logged-in or configured user)",
                        m.name
                    ),
                    "",
                    ev.with("status", &m.status),
                ));
                continue;
            }
            out.push(unknown.pass(
                subject.clone(),
                format!("logs in as {}", logins.join(", ")),
                Ev::new(),
            ));
            let mut verdict: Option<(String, String)> = None;
            let mut undecided: Option<Unreadable> = None;
            for l in &logins {
                match outcomes.get(l) {
                    Some(Ok(o)) => {
                        if let Some(why) = &o.user_lost {
                            verdict.get_or_insert((l.clone(), format!("user not kept: {why}")));
                        } else if let Some(why) = &o.role_lost {
                            verdict.get_or_insert((l.clone(), format!("role lost: {why}")));
                        }
                    }
                    Some(Err(e)) => undecided = Some(e.clone()),
                    None => {}
                }
            }
            match (verdict, undecided) {
                (Some((login, because)), _) => out.push(down.fail(
                    subject,
                    format!("{} ({}) will go Down after the clone: it logs in as {login}, and {because}", m.name, m.status),
                    format!("fix the findings of {login} (mid-user-not-preserved / mid-role-not-preserved), or plan to re-key {} after the clone", m.name),
                    ev.with("user_name", &login).with("because", &because),
                )),
                (None, Some(e)) => out.push(down.error(subject, &e)),
                (None, None) => out.push(down.pass(
                    subject,
                    format!("{} will still log in as {}", m.name, logins.join(", ")),
                    ev,
                )),
            }
        }
    }
}

/// Why a login's fate cannot be read from the evidence: it could not be looked up safely on
/// either side, or a field the verdict rests on was not returned (unknown is not false).
fn undecidable_login(
    login: &str,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    records: &[&User],
    post: &[(User, Origin)],
) -> Option<Unreadable> {
    if let Some(u) = target
        .unsafe_logins
        .iter()
        .chain(&source.unsafe_logins)
        .find(|u| u.user_name == login)
    {
        return Some(Unreadable {
            table: "sys_user".into(),
            reason: u.reason.clone(),
        });
    }
    let unknown = |what: &str, u: &User| Unreadable {
        table: "sys_user".into(),
        reason: format!("{what} of {} ({}) was not returned", u.user_name, u.sys_id),
    };
    if let Some(u) = records.iter().find(|u| u.sys_class_name.is_empty()) {
        return Some(unknown("sys_class_name", u));
    }
    for (u, _) in post {
        if u.active.is_none() {
            return Some(unknown("active", u));
        }
        if u.active == Some(true) && u.locked_out.is_none() {
            return Some(unknown("locked_out", u));
        }
    }
    None
}

fn server_subject(m: &MidServer) -> Subject {
    Subject::new("ecc_agent", &m.sys_id, &m.name)
}

fn preserver_names(source: &InstanceEvidence, plan: &ClonePlan, table: &str) -> String {
    let preservers = source
        .clone
        .as_ref()
        .and_then(|c| c.preservers.get())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let names: Vec<String> = plan
        .applicable_on(preservers, table)
        .iter()
        .map(|p| {
            format!(
                "\"{}\" ({})",
                p.name,
                if p.condition.is_empty() {
                    "no condition"
                } else {
                    &p.condition
                }
            )
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn judge_login(
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
            format!("on {s}, add a preserver on sys_user_has_role (e.g. user.roles=mid_server, or roleIN<mid_server sys_id>) and list it in the clone profile, or grant mid_server to {login} or its group in {s}"),
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

fn judge_memberships(
    fate: &Fate,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    today: &World,
    after: &World,
    group_results: &mut BTreeMap<(CheckId, String), CheckResult>,
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
            let through: Vec<String> = lost
                .iter()
                .filter(|m| today.group_mid_grant(&m.group, granting_today).is_some())
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
        for m in kept_rows {
            let gname = today.group_name(&m.group);
            let via_today = today.group_mid_grant(&m.group, granting_today);
            let gsubject = Subject::new("sys_user_group", &m.group, &gname);
            let key = |c: CheckId| (c, m.group.clone());
            let jm = Judge::new(CheckId::MidGroupMissingInSource, t);
            if !after.groups.contains_key(&m.group) {
                let sev = if via_today.is_some() {
                    Severity::Critical
                } else {
                    Severity::Medium
                };
                group_results.insert(
                    key(jm.def.id),
                    jm.fail_at(
                        sev,
                        gsubject.clone(),
                        format!("the kept membership of {login} points to group \"{gname}\" ({}), which will not exist after the clone", m.group),
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
            if via_today.is_some() {
                let jl = Judge::new(CheckId::MidGroupLacksRoleInSource, t);
                if after.group_mid_grant(&m.group, granting_after).is_none() {
                    group_results.insert(
                        key(jl.def.id),
                        jl.fail(
                            gsubject,
                            format!("mid_server comes to {login} through group \"{gname}\", which after the clone will not grant it"),
                            format!("on {}, grant mid_server to group \"{gname}\", or preserve {login}'s direct grant of mid_server", source.name),
                            Ev::new().with("member", login),
                        ),
                    );
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

/// mid-role-id-differs: mid_server, the roles containing it and the groups granting it to MID
/// users, compared by name between target and source.
fn role_ids(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    today: &World,
    src: &World,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::MidRoleIdDiffers, &target.name);
    let s = &source.name;
    let src_roles: BTreeMap<&str, &str> = src
        .roles
        .values()
        .map(|(r, _)| (r.name.as_str(), r.sys_id.as_str()))
        .collect();
    for id in today.mid_granting_roles() {
        let name = today.role_name(id);
        let subject = Subject::new("sys_user_role", id, &name);
        match src_roles.get(name.as_str()) {
            Some(sid) if *sid != id => out.push(j.fail(
                subject,
                format!("role {name} is {id} on {} but {sid} on {s}: kept rows pointing to it will point nowhere", target.name),
                "",
                Ev::new().with("target_sys_id", id).with("source_sys_id", sid),
            )),
            Some(_) => out.push(j.pass(subject, format!("role {name} has the same sys_id on both"), Ev::new())),
            None if name == "mid_server" => out.push(j.fail(
                subject,
                format!("{s} has no mid_server role record"),
                "",
                Ev::new(),
            )),
            None => {}
        }
    }
    let granting = today.mid_granting_roles();
    let mut groups = BTreeSet::new();
    for (m, _) in today.memberships.values() {
        if let Some((via, _)) = today.group_mid_grant(&m.group, granting) {
            groups.insert(m.group.clone());
            groups.insert(via);
        }
    }
    for gid in groups {
        let name = today.group_name(&gid);
        let subject = Subject::new("sys_user_group", &gid, &name);
        match src.groups.values().find(|(g, _)| g.name == name) {
            Some((g, _)) if g.sys_id != gid => out.push(j.fail(
                subject,
                format!("group \"{name}\" is {gid} on {} but {} on {s}: kept memberships will point nowhere", target.name, g.sys_id),
                "",
                Ev::new().with("target_sys_id", &gid).with("source_sys_id", &g.sys_id),
            )),
            Some(_) => out.push(j.pass(subject, format!("group \"{name}\" has the same sys_id on both"), Ev::new())),
            None => {}
        }
    }
}

fn build_mismatch(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::BuildMismatch, &target.name);
    let subject = Subject::new("instance", "", &target.name);
    let read = |i: &InstanceEvidence| match &i.build_tag {
        Fact::Ok { value: Some(v) } if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Fact::Ok { .. } => Err(Unreadable {
            table: "sys_properties".into(),
            reason: format!("glide.buildtag is not readable on {}", i.name),
        }),
        Fact::Error { table, reason } => Err(Unreadable {
            table: table.clone(),
            reason: reason.clone(),
        }),
    };
    match (read(source), read(target)) {
        (Ok(a), Ok(b)) if a == b => out.push(j.pass(subject, format!("both run {a}"), Ev::new().with("build", &a))),
        (Ok(a), Ok(b)) => out.push(j.fail(
            subject,
            format!("{} runs {b} but {} runs {a}: after the clone the MID Servers of {} upgrade or downgrade", target.name, source.name, target.name),
            "",
            Ev::new().with("source_build", &a).with("target_build", &b),
        )),
        (Err(e), _) | (_, Err(e)) => out.push(j.error(subject, &e)),
    }
}

fn shared_by_mid_servers(inst: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let j = Judge::new(CheckId::MidUserSharedByMidServers, &inst.name);
    if let Err(e) = inst
        .mid_servers
        .as_result()
        .and_then(|_| inst.mid_configs.as_result())
    {
        out.push(j.error(table_subject("ecc_agent"), &e));
        return;
    }
    for (login, servers) in used_by(inst) {
        let subject = Subject::new("sys_user", "", &login);
        if servers.len() > 1 {
            out.push(j.fail(
                subject,
                format!(
                    "{} MID Servers log in as {login}: {}",
                    servers.len(),
                    servers.join(", ")
                ),
                "",
                Ev::new().with("mid_servers", servers.join(", ")),
            ));
        } else {
            out.push(j.pass(
                subject,
                format!("only {} logs in as {login}", servers[0]),
                Ev::new(),
            ));
        }
    }
}
