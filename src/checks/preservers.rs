//! Are the preservers right? Judged on the source (where preservers are defined) from what each
//! target answered for their conditions.

use super::{advice, table_subject, CheckId, Ctx, Ev, Judge, SimulatedClone};
use crate::evidence::{Fact, InstanceEvidence, Preserver, Unreadable, USER_TABLES};
use crate::finding::{CheckResult, Subject};
use crate::query;
use crate::simulate::class_tables;
use crate::tables::{is_mid_level, ECC_AGENT_CLUSTER, SYS_USER_CERTIFICATE};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn judge(ctx: &Ctx, out: &mut Vec<CheckResult>) {
    let evidence = ctx.evidence;
    let Some(source) = evidence.source() else {
        return;
    };
    let s = source.name.as_str();
    let Some(clone) = &source.clone else {
        return;
    };

    // clone-excludes-user-tables, under every clone onto every target
    let j = Judge::new(CheckId::CloneExcludesUserTables, s);
    match clone.excludes.as_result() {
        Ok(_) => excluded_tables(ctx, &j, out),
        Err(e) => out.push(j.error(table_subject("clone_data_exclude"), &e)),
    }

    let preservers = match clone.preservers.as_result() {
        Ok(p) => p,
        Err(e) => {
            for c in [
                CheckId::PreserverMissing,
                CheckId::PreserverNotApplied,
                CheckId::PreserverOverbroad,
                CheckId::PreserverDotWalked,
            ] {
                out.push(Judge::new(c, s).error(table_subject("clone_data_preserver"), &e));
            }
            return;
        }
    };

    // The preservers judged: those on the user tables, those on the class table of a MID
    // user of some target (which keep such users where a sys_user preserver does not), and
    // those on the MID Servers' cluster and certificate tables.
    let judged = |p: &&Preserver| {
        USER_TABLES.contains(&p.table.as_str())
            || is_mid_level(&p.table)
            || evidence
                .target_instances()
                .any(|t| class_tables(&[t]).contains(&p.table))
    };

    // preserver-dot-walked
    let j = Judge::new(CheckId::PreserverDotWalked, s);
    for p in preservers.iter().filter(judged) {
        let ev = Ev::new()
            .with("table", &p.table)
            .with("condition", &p.condition);
        if query::is_dot_walked(&p.condition) {
            out.push(j.fail(
                subject(p),
                format!("preserver \"{}\" on {} dot-walks ({}): the legacy clone engine cannot apply it, should a clone fall back to it (rare: only where glide.db.clone.fallback_inapp is true)", p.name, p.table, p.condition),
                "",
                ev,
            ));
        } else {
            out.push(j.pass(
                subject(p),
                format!("preserver \"{}\" does not dot-walk", p.name),
                ev,
            ));
        }
    }

    // preserver-missing
    let j = Judge::new(CheckId::PreserverMissing, s);
    for table in ["sys_user", "sys_user_has_role", "sys_user_grmember"] {
        let mut lacking = Vec::new();
        let mut undecided = None;
        for target in evidence.target_instances() {
            // A MID user whose `active` is unknown may be an active one (`maybe`).
            let (has_mid_users, maybe) =
                match ctx.today(target) {
                    Ok(today) => {
                        let holders =
                            || {
                                target.users.get().into_iter().flatten().filter(|u| {
                                    u.active != Some(false) && today.is_mid_role_holder(u)
                                })
                            };
                        let maybe = holders().find(|u| u.active.is_none()).map(|u| Unreadable {
                            table: "sys_user".into(),
                            reason: format!(
                                "active of {} ({}) was not returned",
                                u.user_name, u.sys_id
                            ),
                        });
                        let sure = holders().any(|u| u.active == Some(true))
                            || !ctx.used_by(target).is_empty();
                        (sure, maybe)
                    }
                    Err(e) => {
                        undecided = Some(e);
                        continue;
                    }
                };
            for clone in ctx.clones_onto(&target.name) {
                match &clone.plan {
                    Ok(plan)
                        if has_mid_users && plan.applicable_on(preservers, table).is_empty() =>
                    {
                        lacking.push(onto(&target.name, clone));
                    }
                    Ok(plan) if plan.applicable_on(preservers, table).is_empty() => {
                        if let Some(e) = &maybe {
                            undecided = Some(e.clone());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => undecided = Some(e.clone()),
                }
            }
        }
        if !lacking.is_empty() {
            out.push(j.fail(
                table_subject(table),
                format!("no applicable preserver on {table} for the clone onto {}, which has active MID users", lacking.join(", ")),
                format!(
                    "on {s}, add {} and list it in the clone profile",
                    advice::preserver(table).unwrap_or_else(|| format!("a preserver on {table}"))
                ),
                Ev::new().with("targets", lacking.join(", ")),
            ));
        } else if let Some(e) = undecided {
            out.push(j.error(table_subject(table), &e));
        } else {
            out.push(j.pass(
                table_subject(table),
                format!("every target with MID users has an applicable preserver on {table}"),
                Ev::new(),
            ));
        }
    }

    // preserver-not-applied and preserver-overbroad, for MID-related preservers
    let jn = Judge::new(CheckId::PreserverNotApplied, s);
    let jo = Judge::new(CheckId::PreserverOverbroad, s);
    for p in preservers.iter().filter(judged) {
        // The certificate rows read are those of MID Servers that log in with one: a MID
        // user's other certificates are not read, so over-breadth is not judged there.
        let breadth = p.table != SYS_USER_CERTIFICATE.name;
        let mut related = false;
        let mut undecided = None;
        let mut broad = Vec::new();
        let mut count_error = None;
        for target in evidence.target_instances() {
            let Some(eval) = target
                .preserver_evals
                .iter()
                .find(|e| e.preserver == p.sys_id)
            else {
                // A cluster or certificate preserver is evaluated only where the target has such
                // rows of its MID Servers: none (or none read) decides nothing there.
                if is_mid_level(&p.table) {
                    if let Some(e) = mid_level_unread(target, &p.table) {
                        undecided = Some(e);
                    }
                    continue;
                }
                // A class table's preserver is evaluated only where MID users have that class.
                if !USER_TABLES.contains(&p.table.as_str())
                    && !class_tables(&[target]).contains(&p.table)
                {
                    continue;
                }
                undecided = Some(crate::evidence::Unreadable {
                    table: p.table.clone(),
                    reason: format!("the condition was not evaluated on {}", target.name),
                });
                continue;
            };
            // MID-related when it matches a MID-related row on some target; over-broad when
            // it matches, on any target (whether or not it matched a MID-related row there),
            // more rows than the MID-related ones it matched.
            match &eval.matched {
                Fact::Ok { value } if !breadth => {
                    related |= !value.is_empty();
                }
                Fact::Ok { value } => {
                    related |= !value.is_empty();
                    match &eval.table_matches {
                        Fact::Ok { value: total } if *total > value.len() as u64 => {
                            broad.push(format!(
                                "{}: {} rows of {} match, {} of them MID-related",
                                target.name,
                                total,
                                p.table,
                                value.len()
                            ))
                        }
                        Fact::Ok { .. } => {}
                        Fact::Error { table, reason } => {
                            count_error = Some(crate::evidence::Unreadable {
                                table: table.clone(),
                                reason: reason.clone(),
                            })
                        }
                    }
                }
                Fact::Error { table, reason } => {
                    undecided = Some(crate::evidence::Unreadable {
                        table: table.clone(),
                        reason: reason.clone(),
                    })
                }
            }
        }
        let ev = Ev::new()
            .with("table", &p.table)
            .with("condition", &p.condition);
        if !related {
            if let Some(e) = undecided {
                out.push(jn.error(subject(p), &e));
                if breadth {
                    out.push(jo.error(subject(p), &e));
                }
            }
            continue;
        }
        // not applied
        let mut skipped = Vec::new();
        let mut plan_error = None;
        for target in evidence.target_instances() {
            for clone in ctx.clones_onto(&target.name) {
                match &clone.plan {
                    Ok(plan) => {
                        if let Some(why) = plan.not_applied.get(&p.sys_id) {
                            skipped.push(format!("{}: {why}", onto(&target.name, clone)));
                        }
                    }
                    Err(e) => plan_error = Some(e.clone()),
                }
            }
        }
        if !skipped.is_empty() {
            out.push(jn.fail(
                subject(p),
                format!(
                    "MID-related preserver \"{}\" will not run — {}",
                    p.name,
                    skipped.join("; ")
                ),
                "",
                ev.with("not_applied", skipped.join("; ")),
            ));
        } else if let Some(e) = plan_error {
            out.push(jn.error(subject(p), &e));
        } else {
            out.push(jn.pass(
                subject(p),
                format!("preserver \"{}\" applies to every target's clone", p.name),
                Ev::new(),
            ));
        }
        if !breadth {
            continue;
        }
        if !broad.is_empty() {
            let narrow = match advice::preserver(&p.table) {
                Some(seed) => format!(
                    "on {s}, replace the condition of \"{}\" with one that matches only MID-related rows, as {seed}; a field that {} lacks is ignored and matches every row",
                    p.name, p.table
                ),
                None => format!(
                    "on {s}, narrow the condition of \"{}\" to the MID-related rows, and check that {} has every field it names (a field it lacks is ignored and matches every row)",
                    p.name, p.table
                ),
            };
            out.push(
                jo.fail(
                    subject(p),
                    format!(
                        "preserver \"{}\" keeps rows that are not MID-related — {}",
                        p.name,
                        broad.join("; ")
                    ),
                    narrow,
                    Ev::new()
                        .with("condition", &p.condition)
                        .with("matches", broad.join("; ")),
                ),
            );
        } else if let Some(e) = count_error.or(undecided) {
            out.push(jo.error(subject(p), &e));
        } else {
            out.push(jo.pass(
                subject(p),
                format!("preserver \"{}\" matches only MID-related rows", p.name),
                Ev::new(),
            ));
        }
    }
}

/// Why the target's rows of a MID Server table ([`crate::tables::MID_LEVEL`]) could not be
/// read, if they could not: a preserver on it was then not evaluated there for want of rows,
/// not for want of any.
fn mid_level_unread(target: &InstanceEvidence, table: &str) -> Option<Unreadable> {
    if table == ECC_AGENT_CLUSTER.name {
        target.clusters.as_result().err()
    } else {
        target.certificates.as_result().err()
    }
}

fn subject(p: &Preserver) -> Subject {
    Subject::new("clone_data_preserver", &p.sys_id, &p.name)
}

/// The clone onto `target` as results name it: the target, and the request when one decides.
fn onto(target: &str, clone: &SimulatedClone) -> String {
    match clone.label() {
        Some(l) => format!("{target} ({l})"),
        None => target.to_string(),
    }
}

/// clone-excludes-user-tables: each user table, and each class table of a MID user, that some
/// clone of PRODUCT.md 2.1 step 0 empties as it applies the exclusion list.
fn excluded_tables(ctx: &Ctx, j: &Judge, out: &mut Vec<CheckResult>) {
    let evidence = ctx.evidence;
    let insts: Vec<_> = evidence.instances.values().collect();
    let mut tables: BTreeSet<String> = USER_TABLES.iter().map(|t| t.to_string()).collect();
    tables.extend(class_tables(&insts));
    let mut hits: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut undecided: Option<Unreadable> = None;
    for target in evidence.target_instances() {
        for clone in ctx.clones_onto(&target.name) {
            match &clone.plan {
                Ok(plan) => {
                    for (t, e) in &plan.excluded {
                        tables.insert(t.clone());
                        let hit = (onto(&target.name, clone), e.clone());
                        hits.entry(t.clone()).or_default().push(hit);
                    }
                }
                Err(e) => undecided = Some(e.clone()),
            }
        }
    }
    for t in &tables {
        match (hits.get(t), &undecided) {
            (Some(h), _) => {
                let (clones, exclusion): (Vec<String>, Vec<String>) = h.iter().cloned().unzip();
                out.push(j.fail(
                    table_subject(t),
                    format!(
                        "clone_data_exclude entry {} removes {t} in the clone onto {}: it ends up empty there unless preserved",
                        exclusion[0],
                        clones.join("; ")
                    ),
                    "",
                    Ev::new()
                        .with("exclusion", &exclusion[0])
                        .with("clones", clones.join("; ")),
                ));
            }
            (None, Some(e)) => out.push(j.error(table_subject(t), e)),
            (None, None) => {
                out.push(j.pass(table_subject(t), format!("{t} is not excluded"), Ev::new()))
            }
        }
    }
}
