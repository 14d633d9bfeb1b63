//! Is production exposed? Non-production MID credentials live in production, interactive or
//! over-privileged MID users, dormant ones, unvalidated production MID Servers, production
//! targets.

use super::{
    instance_subject, table_subject, undecided_unless_known, unknown_active, user_subject, CheckId,
    Ctx, Ev, Judge, UsedBy,
};
use crate::evidence::{InstanceEvidence, ProductionOrigin, Unreadable, User};
use crate::finding::{CheckResult, Severity, Subject};
use crate::simulate::{login_key, World};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::collections::BTreeSet;

/// The logins ([`login_key`]) of a non-production target's active MID users, and apart those
/// of the MID users whose `active` is unknown.
type TargetNames = (BTreeSet<String>, BTreeSet<String>);

/// A target's name, the logins its MID Servers use, and (non-production targets) the logins of
/// its MID users or why they could not be read.
type TargetLogins<'a> = (&'a str, &'a UsedBy, Option<Result<TargetNames, Unreadable>>);

const ELEVATED: [&str; 2] = ["admin", "security_admin"];
const DORMANT_DAYS: i64 = 90;

/// The MID users of an instance that are active, or whose `active` is unknown (unknown is
/// never inactive): holders of mid_server and the logins of its MID Servers.
fn active_mid_users<'a>(ctx: &Ctx, inst: &'a InstanceEvidence, today: &World) -> Vec<&'a User> {
    let used = ctx.used_by(inst);
    inst.users
        .get()
        .map(|us| {
            us.iter()
                .filter(|u| {
                    u.active != Some(false)
                        && (today.is_mid_role_holder(u) || used.contains_key(&u.user_name))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The results pushed since `start` about `u`: where its `active` is unknown, what would fail
/// is undecided (an inactive MID user is never judged by these checks).
fn unless_active_unknown(u: &User, out: &mut [CheckResult], start: usize) {
    if u.active.is_none() {
        let (why, fix) = unknown_active(u);
        for r in &mut out[start..] {
            *r = undecided_unless_known(r.clone(), &why, fix);
        }
    }
}

/// The roles among `held` and the roles they contain (transitively) that are elevated
/// (`admin`, `security_admin`, or marked `elevated_privilege`), each described with the held
/// role that brings it: `admin`, or `admin (contained in mid_bundle)`.
fn elevated_in(w: &World, held: &BTreeSet<String>) -> Vec<String> {
    let is_elevated = |id: &str| {
        ELEVATED.contains(&w.role_name(id).as_str())
            || w.roles
                .get(id)
                .is_some_and(|(r, _)| r.elevated_privilege == Some(true))
    };
    let contained = w.contained(held);
    // The held role a contained role comes from, following the containers up.
    let origin = |id: &str| {
        let mut current = id.to_string();
        for _ in 0..=contained.len() {
            match contained.get(&current) {
                Some(up) if !held.contains(&current) => current = up.clone(),
                _ => break,
            }
        }
        current
    };
    let mut out: Vec<String> = held
        .iter()
        .filter(|id| is_elevated(id))
        .map(|id| w.role_name(id))
        .collect();
    out.extend(
        contained
            .keys()
            .filter(|id| !held.contains(*id) && is_elevated(id))
            .map(|id| {
                format!(
                    "{} (contained in {})",
                    w.role_name(id),
                    w.role_name(&origin(id))
                )
            }),
    );
    out
}

pub(super) fn judge(ctx: &Ctx, out: &mut Vec<CheckResult>) {
    let evidence = ctx.evidence;
    let Some(source) = evidence.source() else {
        return;
    };
    production_source(ctx, source, out);
    for inst in evidence.instances.values() {
        per_instance(ctx, inst, out);
    }
    for target in evidence.target_instances() {
        target_is_production(target, out);
    }
}

/// Why the instance's production status is unknown, and what to do: set `production` in the
/// config. `None` when it is known.
fn unknown_production(inst: &InstanceEvidence) -> Option<(String, String)> {
    let because = inst.production.unknown_because()?;
    Some((
        format!("whether {} is production is not known: {because}", inst.name),
        format!(
            "set `production = true` or `production = false` for instance {} in the config, then run the audit again",
            inst.name
        ),
    ))
}

/// Whether the production checks `checks` are judged on `source`: true when it is production;
/// false when it is not, or when that is unknown (each check then ends undecided, saying so).
pub(super) fn is_production(
    source: &InstanceEvidence,
    checks: &[CheckId],
    out: &mut Vec<CheckResult>,
) -> bool {
    match source.production.resolve().0 {
        Some(true) => true,
        Some(false) => false,
        None => {
            let (message, fix) = unknown_production(source).unwrap_or_default();
            for &c in checks {
                out.push(Judge::new(c, &source.name).undecided(
                    instance_subject(source),
                    message.clone(),
                    fix.clone(),
                ));
            }
            false
        }
    }
}

fn production_source(ctx: &Ctx, source: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let s = source.name.as_str();
    let checks = [
        CheckId::ProdForeignMidUser,
        CheckId::ProdSharedMidCredential,
        CheckId::MidServerUnvalidated,
    ];
    if !is_production(source, &checks, out) {
        return;
    }
    let today = match ctx.today(source) {
        Ok(w) => w,
        Err(e) => {
            for c in checks {
                out.push(Judge::new(c, s).error(table_subject(&e.table), &e));
            }
            return;
        }
    };
    let used_here = ctx.used_by(source);
    // Who uses a login that no readable row shows in use is unknown while production's MID
    // Servers or their configured users cannot be read.
    let logins_unread = source
        .mid_servers
        .as_result()
        .and_then(|_| source.mid_configs.as_result())
        .err();
    // Per target, once: the logins its MID Servers use, and (non-production targets) the names
    // of its active MID users, or why they could not be read.
    let targets: Vec<TargetLogins> = ctx
        .evidence
        .target_instances()
        .map(|t| {
            let names = (t.production.resolve().0 != Some(true)).then(|| {
                ctx.today(t).map(|tt| {
                    let (sure, unknown): (Vec<&User>, Vec<&User>) = active_mid_users(ctx, t, tt)
                        .into_iter()
                        .partition(|x| x.active == Some(true));
                    let keys =
                        |us: Vec<&User>| us.iter().map(|x| login_key(&x.user_name)).collect();
                    (keys(sure), keys(unknown))
                })
            });
            (t.name.as_str(), ctx.used_by(t), names)
        })
        .collect();
    let jf = Judge::new(CheckId::ProdForeignMidUser, s);
    let js = Judge::new(CheckId::ProdSharedMidCredential, s);
    for u in active_mid_users(ctx, source, today) {
        let start = out.len();
        // Targets whose MID Servers use this login, and non-production targets with the same active MID user.
        let mut users_of = Vec::new();
        let mut shared = Vec::new();
        let mut unreadable = None;
        let key = login_key(&u.user_name);
        for (name, used, names) in &targets {
            if let Some(servers) = used.get(&u.user_name) {
                users_of.push(format!("{name} ({})", servers.join(", ")));
            }
            match names {
                Some(Ok((sure, _))) if sure.contains(&key) => shared.push(name.to_string()),
                Some(Ok((_, unknown))) if unknown.contains(&key) => {
                    let u = Unreadable {
                        table: "sys_user".into(),
                        reason: format!("active of {} on {name} was not returned", u.user_name),
                    };
                    unreadable.get_or_insert(u);
                }
                Some(Err(e)) => unreadable = Some(e.clone()),
                _ => {}
            }
        }
        let ev = Ev::new().with("used_by_targets", users_of.join("; "));
        match (used_here.get(&u.user_name), &logins_unread) {
            (Some(servers), _) => out.push(jf.pass(
                user_subject(u),
                format!(
                    "{} is used by {s}'s MID Servers {}",
                    u.user_name,
                    servers.join(", ")
                ),
                ev,
            )),
            (None, Some(e)) => out.push(jf.error(user_subject(u), e)),
            (None, None) => out.push(jf.fail(
                user_subject(u),
                format!(
                    "{} is an active MID user in production {s} that no MID Server of {s} uses{}",
                    u.user_name,
                    if users_of.is_empty() {
                        String::new()
                    } else {
                        format!("; it is the login of {}", users_of.join("; "))
                    }
                ),
                format!(
                    "deactivate {} in {s}, and preserve it on the target(s) instead",
                    u.user_name
                ),
                ev,
            )),
        }
        if let (true, Some(e)) = (shared.is_empty(), &unreadable) {
            out.push(js.error(user_subject(u), e));
        } else if shared.is_empty() {
            out.push(js.pass(
                user_subject(u),
                format!(
                    "{} is not an active MID user of a non-production target",
                    u.user_name
                ),
                Ev::new(),
            ));
        } else {
            out.push(js.fail(
                user_subject(u),
                format!(
                    "{} is an active MID user in production {s} and on {}",
                    u.user_name,
                    shared.join(", ")
                ),
                "",
                Ev::new().with("targets", shared.join(", ")),
            ));
        }
        unless_active_unknown(u, out, start);
    }
    unvalidated(source, out);
}

fn unvalidated(inst: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let j = Judge::new(CheckId::MidServerUnvalidated, &inst.name);
    match inst.mid_servers.as_result() {
        Ok(servers) => {
            for m in servers {
                let subject = Subject::new("ecc_agent", &m.sys_id, &m.name);
                if m.validated == Some(true) {
                    out.push(j.pass(subject, format!("{} is validated", m.name), Ev::new()));
                } else {
                    out.push(
                        j.fail(
                            subject,
                            format!(
                                "production MID Server {} ({}) is not validated",
                                m.name, m.host_name
                            ),
                            "",
                            Ev::new().with(
                                "validated",
                                m.validated
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "unknown".into()),
                            ),
                        ),
                    );
                }
            }
        }
        Err(e) => out.push(j.error(table_subject("ecc_agent"), &e)),
    }
}

fn per_instance(ctx: &Ctx, inst: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let evidence = ctx.evidence;
    let name = inst.name.as_str();
    let checks = [
        CheckId::MidUserInteractiveLogin,
        CheckId::MidUserElevatedRoles,
        CheckId::MidUserDormant,
    ];
    let today = match ctx.today(inst) {
        Ok(w) => w,
        Err(e) => {
            for c in checks {
                out.push(Judge::new(c, name).error(table_subject(&e.table), &e));
            }
            return;
        }
    };
    let production = inst.production.resolve().0;
    let mid_users = active_mid_users(ctx, inst, today);

    // After the clone (targets only): the simulated roles of kept users.
    let afters: Vec<Result<&World, &Unreadable>> = ctx
        .clones_onto(&inst.name)
        .into_iter()
        .map(|c| c.after.as_ref())
        .collect();

    let ji = Judge::new(CheckId::MidUserInteractiveLogin, name);
    let je = Judge::new(CheckId::MidUserElevatedRoles, name);
    let jd = Judge::new(CheckId::MidUserDormant, name);
    let used = ctx.used_by(inst);
    // Where each user's results start, to judge again those of users whose `active` is unknown.
    let mut starts = Vec::new();
    for u in &mid_users {
        starts.push((out.len(), *u));
        let subject = user_subject(u);
        // Interactive login.
        let severity = if production == Some(false) {
            Severity::Medium
        } else {
            Severity::High
        };
        match u.web_service_access_only {
            Some(true) => out.push(ji.pass(subject.clone(), format!("{} is web service access only", u.user_name), Ev::new())),
            // Medium or high: which one, only the production status says.
            Some(false) if production.is_none() => {
                let (unknown, fix) = unknown_production(inst).unwrap_or_default();
                out.push(ji.undecided(
                    subject.clone(),
                    format!("{} is an active MID user that can log in to the UI (web_service_access_only is false), and its severity is not known: {unknown}", u.user_name),
                    format!("{fix}; and set Web service access only on {}", u.user_name),
                ));
            }
            Some(false) => out.push(ji.fail_at(
                severity,
                subject.clone(),
                format!("{} is an active MID user that can log in to the UI (web_service_access_only is false){}", u.user_name, if production == Some(true) { " in production" } else { "" }),
                "",
                Ev::new().with("web_service_access_only", "false"),
            )),
            None => out.push(ji.undecided(
                subject.clone(),
                format!("web_service_access_only of {} is unknown (the field was not returned)", u.user_name),
                "check the field on the user record; grant the audit user read access to it",
            )),
        }
        // Elevated roles, today (grants, inherited rows, groups) and after the clone, with
        // the roles they contain.
        let (mut held, maybe) = today.granted_roles(&u.sys_id);
        // Every grant row of the user, inherited ones and any state included.
        held.extend(today.roles_of(&u.sys_id).map(|r| r.role.to_string()));
        let mut elevated = elevated_in(today, &held);
        let mut maybe_elevated = elevated_in(today, &maybe);
        let mut unread = today.held_unread.clone();
        for a in afters.iter().flatten() {
            if a.users.contains_key(u.sys_id.as_str()) {
                let (after_held, after_maybe) = a.granted_roles(&u.sys_id);
                for (from, into) in [
                    (elevated_in(a, &after_held), &mut elevated),
                    (elevated_in(a, &after_maybe), &mut maybe_elevated),
                ] {
                    for n in from {
                        let n = format!("{n} (after the clone)");
                        if !into.contains(&n) {
                            into.push(n);
                        }
                    }
                }
                unread = unread.or_else(|| a.held_unread.clone());
            }
        }
        elevated.dedup();
        let names = |ids: &BTreeSet<String>| {
            ids.iter()
                .map(|id| today.role_name(id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let unsimulated = afters.iter().find_map(|a| a.as_ref().err());
        if let (true, Some(e)) = (elevated.is_empty(), unsimulated) {
            // Nothing elevated today, but the state after the clone could not be simulated.
            out.push(je.error(subject.clone(), e));
        } else if let (true, Some(role)) = (elevated.is_empty(), maybe_elevated.first()) {
            // A group row whose `inherits` is unknown would grant an elevated role.
            out.push(je.undecided(
                subject.clone(),
                format!("{} may hold {role}: a group's role row that would grant it has an unknown inherits", u.user_name),
                "make sys_group_has_role.inherits readable to the audit user (run `preclone doctor`), then run the audit again",
            ));
        } else if let (true, Some(e)) = (elevated.is_empty(), &unread) {
            // The roles its roles contain could not all be read.
            out.push(je.error(subject.clone(), e));
        } else if elevated.is_empty() {
            out.push(je.pass(
                subject.clone(),
                format!("{} holds no elevated role", u.user_name),
                Ev::new(),
            ));
        } else {
            out.push(je.fail(
                subject.clone(),
                format!(
                    "MID user {} holds {} beside mid_server",
                    u.user_name,
                    elevated.join(", ")
                ),
                format!(
                    "remove {} from {} and its groups",
                    elevated.join(", "),
                    u.user_name
                ),
                Ev::new().with("roles", names(&held)),
            ));
        }
        // Dormant.
        if used.contains_key(&u.user_name) {
            out.push(jd.pass(
                subject,
                format!("{} is used by a MID Server", u.user_name),
                Ev::new(),
            ));
            continue;
        }
        // Whether a MID Server uses it is unknown while they or their configs are unreadable.
        if let Err(e) = inst
            .mid_servers
            .as_result()
            .and_then(|_| inst.mid_configs.as_result())
        {
            out.push(jd.error(subject, &e));
            continue;
        }
        let last = u.last_login_time.trim();
        let since = parse_time(last);
        let cutoff = evidence.started_at - Duration::days(DORMANT_DAYS);
        match (last.is_empty(), since) {
            (true, _) => out.push(jd.fail(
                subject,
                format!(
                    "{} is active, no MID Server uses it, and it never logged in",
                    u.user_name
                ),
                "",
                Ev::new().with("last_login_time", "never"),
            )),
            (false, Some(t)) if t < cutoff => out.push(jd.fail(
                subject,
                format!(
                    "{} is active, no MID Server uses it, and its last login was {} days ago",
                    u.user_name,
                    (evidence.started_at - t).num_days()
                ),
                "",
                Ev::new().with("last_login_time", last),
            )),
            (false, Some(_)) => out.push(jd.pass(
                subject,
                format!("{} logged in within {DORMANT_DAYS} days", u.user_name),
                Ev::new(),
            )),
            (false, None) => out.push(jd.undecided(
                subject,
                format!("last_login_time of {} is not a date: {last:?}", u.user_name),
                "check the user's last_login_time",
            )),
        }
    }
    let ends = starts.iter().skip(1).map(|(s, _)| *s).chain([out.len()]);
    for ((start, u), end) in starts.iter().zip(ends) {
        unless_active_unknown(u, &mut out[..end], *start);
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn target_is_production(target: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let j = Judge::new(CheckId::TargetIsProduction, &target.name);
    let subject = instance_subject(target);
    match target.production.resolve() {
        (Some(true), origin) => {
            let (sev, said) = if origin == ProductionOrigin::Config {
                (Severity::Critical, "the config says so")
            } else {
                (
                    Severity::High,
                    "glide.installation.production is true (a clone may have copied it)",
                )
            };
            out.push(j.fail_at(
                sev,
                subject,
                format!("clone target {} is production: {said}", target.name),
                "",
                Ev::new().with(
                    "origin",
                    if origin == ProductionOrigin::Config {
                        "config"
                    } else {
                        "property"
                    },
                ),
            ));
        }
        (Some(false), _) => out.push(j.pass(
            subject,
            format!("{} is not production", target.name),
            Ev::new(),
        )),
        (None, _) => {
            let (message, fix) = unknown_production(target).unwrap_or_default();
            out.push(j.undecided(subject, message, fix));
        }
    }
}
