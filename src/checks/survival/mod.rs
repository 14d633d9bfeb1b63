//! Will the target's MID Servers still log in? Every check here reads the simulation of
//! PRODUCT.md 2.1 (`crate::simulate`), as the [`Ctx`] holds it: [`users`] judges each login,
//! [`groups`] its memberships and the sys_ids of the roles and groups that grant `mid_server`,
//! [`servers`] the MID Servers themselves.

mod backup;
mod certs;
mod clusters;
mod groups;
mod health;
mod servers;
mod users;

use super::facts::mid_server_logins;
use super::per_clone::{self, CloneRun};
use super::{
    table_subject, undecided_unless_known, unknown_active, CheckId, Ctx, Judge, ServerImpact,
    SimulatedClone,
};
use crate::evidence::{InstanceEvidence, MidServer, Preserver, Unreadable, User};
use crate::finding::{CheckResult, Subject};
use crate::simulate::{login_key, same_login, ClonePlan, Origin};
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
        health::already_down(target, out);
        certs::expiring(target, evidence.started_at, out);
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
    /// The source's records with this user_name.
    source_records: Vec<&'a User>,
    /// Users with this user_name after the clone.
    post: Vec<(User, Origin)>,
}

impl Fate<'_> {
    /// The users after the clone known to be active and not locked out.
    fn usable(&self) -> Vec<&(User, Origin)> {
        self.post
            .iter()
            .filter(|(u, _)| u.usable() && u.locked_out.is_some())
            .collect()
    }

    /// The users after the clone that may or may not be usable (`active`, or an active one's
    /// `locked_out`, was not returned), each with why.
    fn maybe_usable(&self) -> Vec<(&(User, Origin), Unreadable)> {
        self.post
            .iter()
            .filter_map(|x| match (x.0.active, x.0.locked_out) {
                (None, _) => Some((x, not_returned("active", &x.0))),
                (Some(true), None) => Some((x, not_returned("locked_out", &x.0))),
                _ => None,
            })
            .collect()
    }
}

pub(super) struct Outcome {
    /// Some(reason) when the user will not exist (mid-user-not-preserved fails).
    user_lost: Option<String>,
    /// Some(reason) when it exists but lacks mid_server.
    role_lost: Option<String>,
    /// Some(why) when whether it will hold mid_server is unknown.
    undecided: Option<Unreadable>,
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
    clusters::not_preserved(source, target, clone, out);
    let user_checks = [
        CheckId::MidUserNotPreserved,
        CheckId::MidUserSurvivesBySourceCopy,
        CheckId::MidUserNameCollision,
        CheckId::MidRoleNotPreserved,
        CheckId::MidMembershipNotPreserved,
        CheckId::MidGroupMissingInSource,
        CheckId::MidGroupLacksRoleInSource,
        CheckId::MidRoleIdDiffers,
        CheckId::SourceCopyInBackupWindow,
    ];
    let server_checks = [
        CheckId::MidServerWillGoDown,
        CheckId::MidServerLoginUnknown,
        CheckId::MidCertificateNotPreserved,
    ];

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
            let mut fates = BTreeMap::new();
            if let Some(servers) = servers {
                let j = Judge::new(CheckId::MidServerWillGoDown, t);
                for m in servers {
                    out.push(j.error(server_subject(m), &e));
                    fates.insert(m.sys_id.clone(), clusters::ServerFate::Undecided(e.clone()));
                }
                if servers
                    .iter()
                    .any(|m| m.is_using_mutual_auth != Some(false))
                {
                    let j = Judge::new(CheckId::MidCertificateNotPreserved, t);
                    out.push(j.error(subject, &e));
                }
            }
            let listed = target.mid_servers.as_result().map(Vec::as_slice);
            clusters::will_go_down(target, listed, &fates, out);
            return;
        }
    };
    let users = target.users.get().map(Vec::as_slice).unwrap_or_default();

    // Every login judged: MID users of the target that are active or whose `active` is
    // unknown, and every MID Server login; logins compare case-insensitively (the first
    // spelling met names the login).
    let mut logins: BTreeMap<String, String> = BTreeMap::new();
    for u in users
        .iter()
        .filter(|u| u.active != Some(false) && today.is_mid_role_holder(u))
    {
        logins
            .entry(login_key(&u.user_name))
            .or_insert_with(|| u.user_name.clone());
    }
    let mut server_logins = BTreeSet::new();
    if let Some(servers) = servers {
        for m in servers {
            for l in mid_server_logins(target, m) {
                server_logins.insert(login_key(&l));
                logins.entry(login_key(&l)).or_insert(l);
            }
        }
    }

    let named = by_name(users);
    let source_named = by_name(source.users.get().map(Vec::as_slice).unwrap_or_default());
    let mut outcomes: BTreeMap<String, Result<Outcome, Unreadable>> = BTreeMap::new();
    let mut group_results: BTreeMap<(CheckId, crate::shared_text::Shared), CheckResult> =
        BTreeMap::new();
    for (key, login) in &logins {
        let records: Vec<&User> = named.get(key).cloned().unwrap_or_default();
        let post: Vec<(User, Origin)> = after
            .users_named(login)
            .into_iter()
            .map(|(u, o)| (u.clone(), o))
            .collect();
        let subject = match records.first() {
            Some(u) => Subject::new("sys_user", &u.sys_id, login),
            None => Subject::new("sys_user", "", login),
        };
        if let Some(why) = undecidable_login(login, source, target, &records) {
            for c in [
                CheckId::MidUserNotPreserved,
                CheckId::MidUserSurvivesBySourceCopy,
                CheckId::MidUserNameCollision,
                CheckId::MidRoleNotPreserved,
            ] {
                out.push(Judge::new(c, t).error(subject.clone(), &why));
            }
            outcomes.insert(key.clone(), Err(why));
            continue;
        }
        // A login no MID Server uses is judged only when its user is active: where that is
        // unknown, what would fail is undecided.
        let active_unknown =
            if server_logins.contains(key) || records.iter().any(|u| u.active == Some(true)) {
                None
            } else {
                records.iter().copied().find(|u| u.active.is_none())
            };
        let start = out.len();
        let fate = Fate {
            user_name: login.clone(),
            subject,
            records,
            source_records: source_named.get(key).cloned().unwrap_or_default(),
            post,
        };
        let outcome = users::judge_login(&fate, source, target, plan, today, after, out);
        match active_unknown {
            Some(u) => {
                // Its memberships are not judged either, as for an inactive user.
                let (why, fix) = unknown_active(u);
                for r in &mut out[start..] {
                    *r = undecided_unless_known(r.clone(), &why, fix);
                }
            }
            None => groups::judge_memberships(
                &fate,
                source,
                target,
                today,
                after,
                &mut group_results,
                out,
            ),
        }
        outcomes.insert(key.clone(), Ok(outcome));
    }
    out.extend(group_results.into_values());
    // The users judged: those whose login is judged (inactive MID users that no MID Server
    // uses are inventory only).
    let judged: BTreeSet<&str> = users
        .iter()
        .filter(|u| logins.contains_key(&login_key(&u.user_name)))
        .map(|u| u.sys_id.as_str())
        .collect();
    groups::role_ids(source, target, today, src_today, &judged, out);
    backup::judge(ctx, target, clone, (plan, after), &logins, &outcomes, out);
    let listed = target.mid_servers.as_result().map(Vec::as_slice);
    let fates = match servers {
        Some(servers) => {
            let certs = certs::not_preserved(source, target, plan, after, servers, out);
            servers::judge_servers(target, servers, &outcomes, &certs, out, impact)
        }
        None => BTreeMap::new(),
    };
    clusters::will_go_down(target, listed, &fates, out);
}

/// Users by user_name ([`login_key`]), each name's records in the evidence's order.
fn by_name(users: &[User]) -> BTreeMap<String, Vec<&User>> {
    let mut named: BTreeMap<String, Vec<&User>> = BTreeMap::new();
    for u in users {
        named.entry(login_key(&u.user_name)).or_default().push(u);
    }
    named
}

/// Why a login's fate cannot be read from the evidence: it could not be looked up safely on
/// either side, or a field the verdict rests on was not returned (unknown is not false).
fn undecidable_login(
    login: &str,
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    records: &[&User],
) -> Option<Unreadable> {
    if let Some(u) = target
        .unsafe_logins
        .iter()
        .chain(&source.unsafe_logins)
        .find(|u| same_login(&u.user_name, login))
    {
        return Some(Unreadable {
            table: "sys_user".into(),
            reason: u.reason.clone(),
        });
    }
    if let Some(u) = records.iter().find(|u| u.sys_class_name.is_empty()) {
        return Some(not_returned("sys_class_name", u));
    }
    None
}

fn not_returned(what: &str, u: &User) -> Unreadable {
    Unreadable {
        table: "sys_user".into(),
        reason: format!("{what} of {} ({}) was not returned", u.user_name, u.sys_id),
    }
}

pub(super) fn server_subject(m: &MidServer) -> Subject {
    Subject::new("ecc_agent", &m.sys_id, &m.name)
}

/// The source's preservers, none when they could not be read.
pub(super) fn preservers_of(source: &InstanceEvidence) -> &[Preserver] {
    source
        .clone
        .as_ref()
        .and_then(|c| c.preservers.get())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub(super) fn preserver_names(source: &InstanceEvidence, plan: &ClonePlan, table: &str) -> String {
    let preservers = preservers_of(source);
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
