//! source-copy-in-backup-window (PRODUCT.md 2.1 step 4): the clone copies the source's backup,
//! up to 36 hours old, unless an on-demand backup is asked for. A target MID user that survives
//! the clone only through source rows created or changed within 36 hours before the clone may
//! not survive it after all.
//!
//! Decided by simulating the clone again without those rows: the survival checks judge the copy
//! as present, this check alone warns. A source row whose times were not returned may be recent:
//! a login that survives only through such rows is undecided.

use super::{Outcome, SimulatedClone};
use crate::checks::{undecided_unless_known, unknown_active, CheckId, Ctx, Ev, Judge};
use crate::evidence::{
    parse_time, user_table_row_ids, Fact, InstanceEvidence, RequestTable, RowTimes, Unreadable,
    User,
};
use crate::finding::{CheckResult, Subject};
use crate::simulate::{login_key, ClonePlan, World};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// How old the backup a clone copies may be.
const WINDOW_HOURS: i64 = 36;

/// When the clone happens, and what says so.
struct CloneTime {
    at: DateTime<Utc>,
    /// `scheduled 2026-11-25 22:00:00`, or why the collection time stands in.
    said: String,
}

fn clone_time(clone: &SimulatedClone, now: DateTime<Utc>) -> CloneTime {
    let stamp = now.format("%Y-%m-%d %H:%M:%S");
    let at_now = |why: String| CloneTime {
        at: now,
        said: format!("{why}: judged at the evidence's collection time, {stamp}"),
    };
    match &clone.request {
        None => at_now("nothing is scheduled".into()),
        Some(r) => match parse_time(&r.scheduled) {
            Some(at) => CloneTime {
                at,
                said: format!("scheduled {}", r.scheduled.trim()),
            },
            None if r.scheduled.trim().is_empty() => {
                at_now("the request has no scheduled time".into())
            }
            None => at_now(format!(
                "the request's scheduled time {:?} is not a time",
                r.scheduled
            )),
        },
    }
}

/// Whether the clone copies an on-demand backup: `Some(true)` asked, `Some(false)` not (a
/// `clone_instance` request and the clone requested today have none), `None` unknown.
fn on_demand(clone: &SimulatedClone) -> Option<bool> {
    match &clone.request {
        None => Some(false),
        Some(r) if r.table == RequestTable::CloneInstance => Some(false),
        Some(r) => r.on_demand_backup,
    }
}

/// The source's user-table rows changed at or after `since` (`recent`) and those whose times
/// are unknown, by sys_id.
fn fresh_rows(
    source: &InstanceEvidence,
    since: DateTime<Utc>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut recent, mut unknown) = (BTreeSet::new(), BTreeSet::new());
    for id in user_table_row_ids(source) {
        match source.row_times.get(id).and_then(RowTimes::changed_at) {
            Some(t) if t >= since => recent.insert(id.to_string()),
            Some(_) => false,
            None => unknown.insert(id.to_string()),
        };
    }
    (recent, unknown)
}

/// The source as the backup may hold it: without the rows `drop` names.
fn without(source: &InstanceEvidence, drop: &BTreeSet<String>) -> InstanceEvidence {
    fn keep<T>(f: &mut Fact<Vec<T>>, id: fn(&T) -> &str, drop: &BTreeSet<String>) {
        if let Fact::Ok { value } = f {
            value.retain(|r| !drop.contains(id(r)));
        }
    }
    let mut s = source.clone();
    keep(&mut s.users, |r| &r.sys_id, drop);
    keep(&mut s.user_roles, |r| &r.sys_id, drop);
    keep(&mut s.memberships, |r| &r.sys_id, drop);
    keep(&mut s.groups, |r| &r.sys_id, drop);
    keep(&mut s.group_roles, |r| &r.sys_id, drop);
    keep(&mut s.role_contains, |r| &r.sys_id, drop);
    keep(&mut s.held_role_contains, |r| &r.sys_id, drop);
    s
}

/// The source's rows by what they belong to, built once per clone so that each login's rows
/// ([`SourceRows::related`]) are looked up rather than scanned for.
struct SourceRows<'s> {
    users: BTreeMap<String, Vec<&'s User>>,
    user_roles: BTreeMap<&'s str, Vec<(&'s str, &'s str)>>,
    memberships: BTreeMap<&'s str, Vec<(&'s str, &'s str)>>,
    groups: BTreeMap<&'s str, Vec<(&'s str, &'s str)>>,
    group_roles: BTreeMap<&'s str, Vec<(&'s str, &'s str)>>,
    /// The containment of the roles granting `mid_server`: the same for every login.
    containment: Vec<(String, String)>,
}

impl<'s> SourceRows<'s> {
    fn new(source: &'s InstanceEvidence, after: &World) -> Self {
        let mut rows = SourceRows {
            users: BTreeMap::new(),
            user_roles: BTreeMap::new(),
            memberships: BTreeMap::new(),
            groups: BTreeMap::new(),
            group_roles: BTreeMap::new(),
            containment: Vec::new(),
        };
        for u in source.users.get().into_iter().flatten() {
            rows.users
                .entry(login_key(&u.user_name))
                .or_default()
                .push(u);
        }
        for r in source.user_roles.get().into_iter().flatten() {
            let e = rows.user_roles.entry(r.user.as_str()).or_default();
            e.push((r.sys_id.as_str(), r.role.as_str()));
        }
        for m in source.memberships.get().into_iter().flatten() {
            let e = rows.memberships.entry(m.user.as_str()).or_default();
            e.push((m.sys_id.as_str(), m.group.as_str()));
        }
        for g in source.groups.get().into_iter().flatten() {
            let e = rows.groups.entry(g.sys_id.as_str()).or_default();
            e.push((g.sys_id.as_str(), g.name.as_str()));
        }
        for r in source.group_roles.get().into_iter().flatten() {
            let e = rows.group_roles.entry(r.group.as_str()).or_default();
            e.push((r.sys_id.as_str(), r.role.as_str()));
        }
        let granting = after.mid_granting_roles();
        let held = source.held_role_contains.get().into_iter().flatten();
        for c in source.role_contains.get().into_iter().flatten().chain(held) {
            if granting.contains(&c.contains) {
                let what = format!(
                    "{} contains {}",
                    after.role_name(&c.role),
                    after.role_name(&c.contains)
                );
                rows.containment.push((c.sys_id.clone(), what));
            }
        }
        rows
    }

    /// The source rows a login's survival can rest on, each with how people name it: its
    /// users, their role rows and memberships, the groups (with their ancestors) of its
    /// memberships after the clone and those groups' role rows, and the containment of the
    /// roles granting `mid_server`.
    fn related(&self, after: &World, login: &str) -> Vec<(String, String)> {
        let mut users: BTreeSet<String> = after
            .users_named(login)
            .into_iter()
            .map(|(u, _)| u.sys_id.clone())
            .collect();
        let mut out: Vec<(String, String)> = Vec::new();
        for u in self.users.get(&login_key(login)).into_iter().flatten() {
            users.insert(u.sys_id.clone());
            out.push((u.sys_id.clone(), format!("user {}", u.user_name)));
        }
        let mut groups: BTreeSet<String> = BTreeSet::new();
        for u in &users {
            for m in after.memberships_of(u) {
                groups.extend(after.ancestry(&m.group));
            }
        }
        for u in &users {
            for (id, role) in self.user_roles.get(u.as_str()).into_iter().flatten() {
                let what = format!("grant of role {}", after.role_name(role));
                out.push((id.to_string(), what));
            }
        }
        for u in &users {
            for (id, group) in self.memberships.get(u.as_str()).into_iter().flatten() {
                groups.extend(after.ancestry(group));
                let what = format!("membership of group \"{}\"", after.group_name(group));
                out.push((id.to_string(), what));
            }
        }
        for g in &groups {
            for (id, name) in self.groups.get(g.as_str()).into_iter().flatten() {
                out.push((id.to_string(), format!("group \"{name}\"")));
            }
            for (id, role) in self.group_roles.get(g.as_str()).into_iter().flatten() {
                let what = format!(
                    "role {} of group \"{}\"",
                    after.role_name(role),
                    after.group_name(g)
                );
                out.push((id.to_string(), what));
            }
        }
        out.extend(self.containment.iter().cloned());
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// Whether a login survives in a state of the tables: a usable user of that name that holds
/// `mid_server`; `Err` when that rests on something unknown.
fn survives(w: &World, login: &str) -> Result<bool, Unreadable> {
    let named = w.users_named(login);
    let grants = |u: &User| w.mid_grant(&u.sys_id).is_some();
    if named
        .iter()
        .any(|(u, _)| u.usable() && u.locked_out.is_some() && grants(u))
    {
        return Ok(true);
    }
    for (u, _) in named {
        if u.active == Some(false) || u.locked_out == Some(true) {
            continue;
        }
        if let Some(why) = w.mid_grant_unknown(&u.sys_id) {
            return Err(why);
        }
        if grants(u) {
            return Err(Unreadable {
                table: "sys_user".into(),
                reason: format!(
                    "active or locked_out of {} ({}) was not returned",
                    u.user_name, u.sys_id
                ),
            });
        }
    }
    Ok(false)
}

/// Whether a login survives in the simulation without some rows (`dropped`, as people name
/// them): without any, it survives as it does in the clone.
fn survives_in(
    world: &Option<Result<World, Unreadable>>,
    dropped: &[String],
    login: &str,
) -> Result<bool, Unreadable> {
    match world {
        Some(w) if !dropped.is_empty() => w
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|w| survives(w, login)),
        _ => Ok(true),
    }
}

/// The rows among `rows` that `set` holds, described with their times.
fn named_rows(
    source: &InstanceEvidence,
    rows: &[(String, String)],
    set: &BTreeSet<String>,
    since: DateTime<Utc>,
) -> Vec<String> {
    rows.iter()
        .filter(|(id, _)| set.contains(id))
        .map(|(id, what)| match source.row_times.get(id) {
            Some(t) if t.created_since(since) => format!("{what} (created {})", t.created_on),
            Some(t) if t.changed_at().is_some() => format!("{what} (changed {})", t.updated_on),
            _ => format!("{what} ({id}: times not returned)"),
        })
        .collect()
}

/// The simulation of the clone without the rows `drop`, when some login needs it.
struct Reduced {
    source: Option<InstanceEvidence>,
}

impl Reduced {
    fn new(source: &InstanceEvidence, drop: &BTreeSet<String>, needed: bool) -> Self {
        Reduced {
            source: (needed && !drop.is_empty()).then(|| without(source, drop)),
        }
    }

    fn world<'a>(
        &'a self,
        target: &'a InstanceEvidence,
        plan: &ClonePlan,
    ) -> Option<Result<World<'a>, Unreadable>> {
        self.source
            .as_ref()
            .map(|s| World::after_clone(s, target, plan))
    }
}

/// Judges every login of `target` under one clone. `after` is the clone's simulation.
pub(super) fn judge(
    ctx: &Ctx,
    target: &InstanceEvidence,
    clone: &SimulatedClone,
    (plan, after): (&ClonePlan, &World),
    logins: &BTreeMap<String, String>,
    outcomes: &BTreeMap<String, Result<Outcome, Unreadable>>,
    out: &mut Vec<CheckResult>,
) {
    let Some(source) = ctx.evidence.source() else {
        return;
    };
    let j = Judge::new(CheckId::SourceCopyInBackupWindow, &target.name);
    let when = clone_time(clone, ctx.evidence.started_at);
    let since = when.at - Duration::hours(WINDOW_HOURS);
    let since_text = since.format("%Y-%m-%d %H:%M:%S").to_string();
    let backup = on_demand(clone);
    let (recent, unknown) = fresh_rows(source, since);
    let index = SourceRows::new(source, after);
    let rows: BTreeMap<&str, Vec<(String, String)>> = logins
        .values()
        .map(|l| (l.as_str(), index.related(after, l)))
        .collect();
    let touches = |set: &BTreeSet<String>| rows.values().flatten().any(|(id, _)| set.contains(id));
    let mut both = recent.clone();
    both.extend(unknown.iter().cloned());
    let (a, b) = (
        Reduced::new(source, &recent, backup != Some(true) && touches(&recent)),
        Reduced::new(source, &both, backup != Some(true) && touches(&unknown)),
    );
    let (world_a, world_b) = (a.world(target, plan), b.world(target, plan));
    // The target's records of each login.
    let mut records: BTreeMap<String, Vec<&User>> = BTreeMap::new();
    for u in target.users.get().into_iter().flatten() {
        records.entry(login_key(&u.user_name)).or_default().push(u);
    }
    for (key, login) in logins {
        let mine: Vec<&&User> = records.get(key).into_iter().flatten().collect();
        let subject = match mine.first() {
            Some(u) => Subject::new("sys_user", &u.sys_id, login),
            None => Subject::new("sys_user", "", login),
        };
        let related = rows
            .get(login.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let fresh = named_rows(source, related, &recent, since);
        let unsure = named_rows(source, related, &unknown, since);
        let ev = Ev::new()
            .with("clone_time", &when.said)
            .with("window_from", &since_text)
            .with(
                "on_demand_backup",
                match backup {
                    Some(true) => "asked",
                    Some(false) => "not asked",
                    None => "unknown (not returned)",
                },
            );
        let outcome = match outcomes.get(key) {
            Some(Ok(o)) => o,
            Some(Err(why)) => {
                out.push(j.error(subject, why));
                continue;
            }
            None => continue,
        };
        let r = if fresh.is_empty() && unsure.is_empty() {
            j.pass(
                subject,
                format!(
                    "no {} row that {login} relies on was created or changed since {since_text}",
                    source.name
                ),
                ev,
            )
        } else if backup == Some(true) {
            j.pass(
                subject,
                format!(
                    "the clone asks an on-demand backup: {}'s rows are copied as they stand",
                    source.name
                ),
                ev,
            )
        } else if outcome.user_lost.is_some() || outcome.role_lost.is_some() {
            j.pass(
                subject,
                format!("{login} does not survive the clone in any case (see mid-user-not-preserved and mid-role-not-preserved)"),
                ev,
            )
        } else if let Some(why) = &outcome.undecided {
            j.error(subject, why)
        } else {
            match survives_in(&world_a, &fresh, login) {
                Err(why) => j.error(subject, &why),
                Ok(false) => {
                    let r = j.fail(
                        subject,
                        format!(
                            "{login} survives the clone only through {} rows created or changed within {WINDOW_HOURS} hours before it ({}), which the backup it copies may not hold: {}",
                            source.name,
                            when.said,
                            fresh.join("; ")
                        ),
                        format!(
                            "request an on-demand backup with the clone, or schedule it after {} (36 hours after the last of those changes), or preserve {login}'s own rows on {}",
                            latest(source, related, &recent),
                            target.name
                        ),
                        ev.with("rows", fresh.join("; ")),
                    );
                    match backup {
                        None => undecided_unless_known(
                            r,
                            "on_demand_backup of the request was not returned",
                            "make sn_instance_clone_request.on_demand_backup readable to the audit user (run `preclone doctor`), then run the audit again",
                        ),
                        _ => r,
                    }
                }
                Ok(true) if matches!(survives_in(&world_b, &unsure, login), Ok(true)) => j.pass(
                    subject,
                    format!(
                        "{login} survives without the {} rows created or changed since {since_text}",
                        source.name
                    ),
                    ev,
                ),
                Ok(true) => j.undecided(
                    subject,
                    format!(
                        "could not be decided: {login} may survive only through {} rows whose sys_created_on or sys_updated_on was not returned: {}",
                        source.name,
                        unsure.join("; ")
                    ),
                    "make sys_created_on and sys_updated_on of the user tables readable to the audit user on the source (run `preclone doctor`), then run the audit again",
                ),
            }
        };
        out.push(unless_judged(ctx, target, &mine, login, r));
    }
}

/// The time 36 hours after the last change to the recent rows among `rows`.
fn latest(
    source: &InstanceEvidence,
    rows: &[(String, String)],
    recent: &BTreeSet<String>,
) -> String {
    rows.iter()
        .filter(|(id, _)| recent.contains(id))
        .filter_map(|(id, _)| source.row_times.get(id).and_then(RowTimes::changed_at))
        .max()
        .map(|t| {
            (t + Duration::hours(WINDOW_HOURS))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "36 hours after the last change".into())
}

/// A login no MID Server uses is judged only when its user is active: where that is unknown,
/// what would fail is undecided.
fn unless_judged(
    ctx: &Ctx,
    target: &InstanceEvidence,
    records: &[&&User],
    login: &str,
    r: CheckResult,
) -> CheckResult {
    if ctx.used_by(target).contains_key(login) || records.iter().any(|u| u.active == Some(true)) {
        return r;
    }
    match records.iter().find(|u| u.active.is_none()) {
        Some(u) => {
            let (why, fix) = unknown_active(u);
            undecided_unless_known(r, &why, fix)
        }
        None => r,
    }
}
