//! Is production exposed? Non-production MID credentials live in production, interactive or
//! over-privileged MID users, dormant ones, unvalidated production MID Servers, production
//! targets.

use super::{instance_subject, table_subject, user_subject, CheckId, Ctx, Ev, Judge};
use crate::evidence::{InstanceEvidence, ProductionOrigin, Unreadable, User};
use crate::finding::{CheckResult, Severity, Subject};
use crate::simulate::World;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// A target's name, the logins its MID Servers use, and (non-production targets) the names of its
/// active MID users or why they could not be read.
type TargetLogins<'a> = (
    &'a str,
    &'a BTreeMap<String, Vec<String>>,
    Option<Result<BTreeSet<String>, Unreadable>>,
);

const ELEVATED: [&str; 2] = ["admin", "security_admin"];
const DORMANT_DAYS: i64 = 90;

/// The active MID users of an instance: holders of mid_server and the logins of its MID Servers.
fn active_mid_users<'a>(ctx: &Ctx, inst: &'a InstanceEvidence, today: &World) -> Vec<&'a User> {
    let used = ctx.used_by(inst);
    inst.users
        .get()
        .map(|us| {
            us.iter()
                .filter(|u| {
                    u.active == Some(true)
                        && (today.is_mid_role_holder(u) || used.contains_key(&u.user_name))
                })
                .collect()
        })
        .unwrap_or_default()
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

fn unknown_production(inst: &InstanceEvidence) -> Unreadable {
    let reason = match inst.production.property.err() {
        Some((_, r)) => format!("glide.installation.production is not readable ({r})"),
        None => "production status unknown".to_string(),
    };
    Unreadable {
        table: "sys_properties".into(),
        reason: format!(
            "{reason}; set `production = true|false` for instance {} in the config",
            inst.name
        ),
    }
}

fn production_source(ctx: &Ctx, source: &InstanceEvidence, out: &mut Vec<CheckResult>) {
    let s = source.name.as_str();
    let checks = [
        CheckId::ProdForeignMidUser,
        CheckId::ProdSharedMidCredential,
        CheckId::MidServerUnvalidated,
    ];
    match source.production.resolve().0 {
        Some(false) => return,
        None => {
            let why = unknown_production(source);
            for c in checks {
                out.push(Judge::new(c, s).error(instance_subject(source), &why));
            }
            return;
        }
        Some(true) => {}
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
    // Per target, once: the logins its MID Servers use, and (non-production targets) the names
    // of its active MID users, or why they could not be read.
    let targets: Vec<TargetLogins> = ctx
        .evidence
        .target_instances()
        .map(|t| {
            let names = (t.production.resolve().0 != Some(true)).then(|| {
                ctx.today(t).map(|tt| {
                    active_mid_users(ctx, t, tt)
                        .into_iter()
                        .map(|x| x.user_name.clone())
                        .collect()
                })
            });
            (t.name.as_str(), ctx.used_by(t), names)
        })
        .collect();
    let jf = Judge::new(CheckId::ProdForeignMidUser, s);
    let js = Judge::new(CheckId::ProdSharedMidCredential, s);
    for u in active_mid_users(ctx, source, today) {
        // Targets whose MID Servers use this login, and non-production targets with the same active MID user.
        let mut users_of = Vec::new();
        let mut shared = Vec::new();
        let mut unreadable = None;
        for (name, used, names) in &targets {
            if let Some(servers) = used.get(&u.user_name) {
                users_of.push(format!("{name} ({})", servers.join(", ")));
            }
            match names {
                Some(Ok(names)) if names.contains(&u.user_name) => shared.push(name.to_string()),
                Some(Err(e)) => unreadable = Some(e.clone()),
                _ => {}
            }
        }
        let ev = Ev::new().with("used_by_targets", users_of.join("; "));
        match used_here.get(&u.user_name) {
            Some(servers) => out.push(jf.pass(
                user_subject(u),
                format!(
                    "{} is used by {s}'s MID Servers {}",
                    u.user_name,
                    servers.join(", ")
                ),
                ev,
            )),
            None => out.push(jf.fail(
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
    for u in &mid_users {
        let subject = user_subject(u);
        // Interactive login.
        let severity = if production == Some(false) {
            Severity::Medium
        } else {
            Severity::High
        };
        match u.web_service_access_only {
            Some(true) => out.push(ji.pass(subject.clone(), format!("{} is web service access only", u.user_name), Ev::new())),
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
        // Elevated roles, today (grants, inherited rows, groups) and after the clone.
        let mut held: BTreeSet<String> = today.granted_role_names(&u.sys_id);
        if let Some(rows) = inst.user_roles.get() {
            held.extend(
                rows.iter()
                    .filter(|r| r.user == u.sys_id)
                    .map(|r| today.role_name(&r.role)),
            );
        }
        let mut after_held: Vec<(&World, BTreeSet<String>)> = Vec::new();
        for a in afters.iter().flatten() {
            if a.users.contains_key(&u.sys_id) {
                after_held.push((a, a.granted_role_names(&u.sys_id)));
            }
        }
        let is_elevated = |n: &String, w: &World| {
            ELEVATED.contains(&n.as_str())
                || w.roles
                    .values()
                    .any(|(r, _)| &r.name == n && r.elevated_privilege == Some(true))
        };
        let mut elevated: Vec<String> = held
            .iter()
            .filter(|n| is_elevated(n, today))
            .cloned()
            .collect();
        for (a, held) in &after_held {
            for n in held.iter().filter(|n| is_elevated(n, a)) {
                let n = format!("{n} (after the clone)");
                if !elevated.contains(&n) {
                    elevated.push(n);
                }
            }
        }
        elevated.dedup();
        let unsimulated = afters.iter().find_map(|a| a.as_ref().err());
        if let (true, Some(e)) = (elevated.is_empty(), unsimulated) {
            // Nothing elevated today, but the state after the clone could not be simulated.
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
                Ev::new().with("roles", held.iter().cloned().collect::<Vec<_>>().join(", ")),
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
        (None, _) => out.push(j.error(subject, &unknown_production(target))),
    }
}
