//! Will the target's MID Servers still log in? Every check here reads the simulation of
//! PRODUCT.md 2.1 (`crate::simulate`), as the [`Ctx`] holds it: [`users`] judges each login,
//! [`groups`] its memberships and the sys_ids of the roles and groups that grant `mid_server`,
//! [`servers`] the MID Servers themselves.

mod groups;
mod servers;
mod users;

use super::facts::mid_server_logins;
use super::per_clone::{self, CloneRun};
use super::{table_subject, CheckId, Ctx, Judge, ServerImpact, SimulatedClone};
use crate::evidence::{InstanceEvidence, MidServer, Unreadable, User};
use crate::finding::{CheckResult, Subject};
use crate::simulate::{ClonePlan, Origin};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn judge(ctx: &Ctx, out: &mut Vec<CheckResult>, impact: &mut Vec<ServerImpact>) {
    let evidence = ctx.evidence;
    let Some(source) = evidence.source() else {
        return;
    };
    for target in evidence.target_instances() {
        // Judged under each clone onto the target, merged per subject.
        let runs = ctx
            .clones_onto(&target.name)
            .into_iter()
            .map(|clone| {
                let mut run = CloneRun {
                    label: clone.label(),
                    results: Vec::new(),
                    impact: Vec::new(),
                };
                judge_target(
                    ctx,
                    source,
                    target,
                    clone,
                    &mut run.results,
                    &mut run.impact,
                );
                run
            })
            .collect();
        let (results, hit) = per_clone::merge(runs);
        out.extend(results);
        impact.extend(hit);
        servers::build_mismatch(source, target, out);
    }
    for inst in evidence.instances.values() {
        servers::shared_by_mid_servers(ctx, inst, out);
    }
}

/// What the simulation says of one login on one target.
pub(super) struct Fate<'a> {
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

pub(super) struct Outcome {
    /// Some(reason) when the user will not exist (mid-user-not-preserved fails).
    user_lost: Option<String>,
    /// Some(reason) when it exists but lacks mid_server.
    role_lost: Option<String>,
}

fn judge_target(
    ctx: &Ctx,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    clone: &SimulatedClone,
    out: &mut Vec<CheckResult>,
    impact: &mut Vec<ServerImpact>,
) {
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
    // The same first error as building them in turn: today, the plan, after, the source today.
    let worlds = ctx.today(target).and_then(|today| {
        let plan = clone.plan.as_ref().map_err(Unreadable::clone)?;
        let after = clone.after.as_ref().map_err(Unreadable::clone)?;
        let src_today = ctx.today(source)?;
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
        .filter(|u| u.active == Some(true) && today.is_mid_role_holder(u))
        .map(|u| u.user_name.clone())
        .collect();
    if let Some(servers) = servers {
        for m in servers {
            logins.extend(mid_server_logins(target, m));
        }
    }

    let mut named: BTreeMap<&str, Vec<&User>> = BTreeMap::new();
    for u in users {
        named.entry(u.user_name.as_str()).or_default().push(u);
    }
    let mut outcomes: BTreeMap<String, Result<Outcome, Unreadable>> = BTreeMap::new();
    let mut group_results: BTreeMap<(CheckId, String), CheckResult> = BTreeMap::new();
    for login in &logins {
        let records: Vec<&User> = named.get(login.as_str()).cloned().unwrap_or_default();
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
        let outcome = users::judge_login(&fate, source, target, plan, today, after, out);
        groups::judge_memberships(&fate, source, target, today, after, &mut group_results, out);
        outcomes.insert(login.clone(), Ok(outcome));
    }
    out.extend(group_results.into_values());
    groups::role_ids(source, target, today, src_today, out);
    if let Some(servers) = servers {
        servers::judge_servers(target, servers, &outcomes, out, impact);
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

pub(super) fn server_subject(m: &MidServer) -> Subject {
    Subject::new("ecc_agent", &m.sys_id, &m.name)
}

pub(super) fn preserver_names(source: &InstanceEvidence, plan: &ClonePlan, table: &str) -> String {
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
