//! What importing the records would do, predicted on the evidence: the records applied to a copy
//! of it (each new preserver evaluated on the targets' rows as its condition reads), judged
//! again with the same checks and waivers. A finding a record closes fails today and passes
//! then, and fails again when that record alone is left out; what would newly fail at medium or
//! above is said, and so is a locked clone request that will not take a record.

use super::records::BY_HAND;
use super::{Finding, PreserverFix};
use crate::checks::{self, CheckId, Ctx, Family};
use crate::evidence::{
    Evidence, Fact, InstanceEvidence, Preserver, PreserverEval, ProfilePreserver, Unreadable,
};
use crate::finding::{CheckResult, Severity, Status};
use crate::simulate::{class_table, class_tables, label, ClonePlan};
use crate::waivers::{self, Waiver};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::finding::ResultKey as Key;

fn by_key(results: &[CheckResult]) -> HashMap<Key, &CheckResult> {
    results.iter().map(|r| (r.key(), r)).collect()
}

/// Every result of `e`, with `waivers` applied by the clock `now`.
pub(super) fn judged(e: &Evidence, waivers: &[Waiver], now: DateTime<Utc>) -> Vec<CheckResult> {
    let mut results = checks::run(e).results;
    waivers::apply(&mut results, waivers, now);
    results
}

/// The evidence as it would stand once `fixes` are imported on the source at `stamp`: new and
/// updated preservers, new links (made at `stamp`), and each new preserver evaluated on every
/// target.
pub(super) fn apply<'f>(
    e: &Evidence,
    fixes: impl IntoIterator<Item = &'f PreserverFix>,
    stamp: &str,
) -> Evidence {
    let mut e = e.clone();
    let fixes: Vec<&PreserverFix> = fixes.into_iter().collect();
    let created: Vec<&Preserver> = fixes
        .iter()
        .filter(|f| f.change == Some(super::Change::Create))
        .map(|f| &f.preserver)
        .collect();
    for t in e.targets.clone() {
        if let Some(inst) = e.instances.get_mut(&t) {
            let evals: Vec<PreserverEval> =
                created.iter().filter_map(|p| evaluate(inst, p)).collect();
            inst.preserver_evals.extend(evals);
        }
    }
    let source = e.source.clone();
    let Some(setup) = e.instances.get_mut(&source).and_then(|s| s.clone.as_mut()) else {
        return e;
    };
    if let Fact::Ok { value: preservers } = &mut setup.preservers {
        for f in &fixes {
            match preservers
                .iter_mut()
                .find(|p| p.sys_id == f.preserver.sys_id)
            {
                Some(p) => *p = f.preserver.clone(),
                None => preservers.push(f.preserver.clone()),
            }
        }
    }
    if let Fact::Ok { value: links } = &mut setup.profile_preservers {
        for f in &fixes {
            links.extend(f.links.iter().map(|l| ProfilePreserver {
                profile: l.profile.clone(),
                preserver: f.preserver.sys_id.clone(),
                created_on: stamp.to_string(),
            }));
        }
    }
    e
}

/// What a new preserver's condition (`roles=mid_server`, or `user.roles=mid_server`) matches
/// among a target's MID-related rows: the rows of the users with a `mid_server` role row (on the
/// cluster table, with no condition, every cluster). `None` where the target would not be asked
/// (a class table none of its MID users has, no certificate or cluster row).
fn evaluate(t: &InstanceEvidence, p: &Preserver) -> Option<PreserverEval> {
    let holders = || -> Result<BTreeSet<String>, Unreadable> {
        let mid: BTreeSet<&str> = t
            .mid_role
            .as_result()?
            .iter()
            .map(|r| r.sys_id.as_str())
            .collect();
        Ok(t.user_roles
            .as_result()?
            .iter()
            .filter(|r| mid.contains(r.role.as_str()))
            .map(|r| r.user.to_string())
            .collect())
    };
    // The MID-related rows of the table, and which of them match.
    let rows: Result<(usize, Vec<String>), Unreadable> = match p.table.as_str() {
        "sys_user" => t.users.as_result().and_then(|users| {
            let h = holders()?;
            let matched = users.iter().filter(|u| h.contains(&u.sys_id));
            Ok((users.len(), matched.map(|u| u.sys_id.clone()).collect()))
        }),
        "sys_user_has_role" => t.user_roles.as_result().and_then(|rows| {
            let h = holders()?;
            let matched = rows.iter().filter(|r| h.contains(r.user.as_str()));
            Ok((rows.len(), matched.map(|r| r.sys_id.clone()).collect()))
        }),
        "sys_user_grmember" => t.memberships.as_result().and_then(|rows| {
            let h = holders()?;
            let matched = rows.iter().filter(|m| h.contains(m.user.as_str()));
            Ok((rows.len(), matched.map(|m| m.sys_id.clone()).collect()))
        }),
        class if class_tables(&[t]).contains(class) => t.users.as_result().and_then(|users| {
            let h = holders()?;
            let of_class: Vec<_> = users.iter().filter(|u| class_table(u) == class).collect();
            let matched = of_class.iter().filter(|u| h.contains(&u.sys_id));
            Ok((of_class.len(), matched.map(|u| u.sys_id.clone()).collect()))
        }),
        _ => super::mid_level::evaluate(t, p, holders)?,
    };
    let (related, matched, total) = match rows {
        Ok((related, matched)) => {
            let total = matched.len() as u64;
            (related as u64, Fact::ok(matched), Fact::ok(total))
        }
        Err(e) => (
            0,
            Fact::error(&e.table, &e.reason),
            Fact::error(&e.table, e.reason),
        ),
    };
    Some(PreserverEval {
        preserver: p.sys_id.clone(),
        table: p.table.clone(),
        matched,
        table_matches: total,
        mid_related_rows: related,
    })
}

/// What the prediction found, besides the findings each record closes.
pub(super) struct Outcome {
    /// One manual step per locked clone request that will not take a record.
    pub(super) locked: Vec<String>,
    pub(super) new_fails: Vec<Finding>,
    pub(super) still_open: Vec<Finding>,
    pub(super) undecided: Vec<Finding>,
}

/// The families whose findings a preserver can close.
fn fixable(check: CheckId) -> bool {
    matches!(check.family(), Family::Survival | Family::Preservers)
}

/// Most severe first, then by instance, check and subject.
fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.severity),
            &a.instance,
            a.check.as_str(),
            &a.subject,
        )
            .cmp(&(
                std::cmp::Reverse(b.severity),
                &b.instance,
                b.check.as_str(),
                &b.subject,
            ))
    });
    findings
}

/// Predicts the import of `fixes` over `e` (whose results are `before`): fills each fix's
/// `closes`, and returns what would newly fail, what stays open and the locked requests.
pub(super) fn outcome(
    e: &Evidence,
    waivers: &[Waiver],
    now: DateTime<Utc>,
    before: &[CheckResult],
    fixes: &mut [PreserverFix],
    stamp: &str,
) -> Outcome {
    let imported = apply(e, fixes.iter(), stamp);
    let after = judged(&imported, waivers, now);
    let (before_by, after_by) = (by_key(before), by_key(&after));
    let closed: Vec<&CheckResult> = before
        .iter()
        .filter(|r| r.status == Status::Fail)
        .filter(|r| {
            after_by
                .get(&r.key())
                .is_some_and(|a| a.status == Status::Pass)
        })
        .collect();
    // Each record closes what fails again without it; what no single record is needed for
    // (two would each do) is closed by them together.
    let mut claimed = vec![false; closed.len()];
    let mut closes: Vec<Vec<Finding>> = vec![Vec::new(); fixes.len()];
    if fixes.len() > 1 {
        for (i, mine) in closes.iter_mut().enumerate() {
            let others = fixes.iter().enumerate().filter(|(j, _)| *j != i);
            let without = judged(&apply(e, others.map(|(_, f)| f), stamp), waivers, now);
            let without = by_key(&without);
            for (k, r) in closed.iter().enumerate() {
                if without
                    .get(&r.key())
                    .is_none_or(|w| w.status != Status::Pass)
                {
                    mine.push(Finding::of(r));
                    claimed[k] = true;
                }
            }
        }
    }
    for (k, r) in closed.iter().enumerate() {
        if !claimed[k] {
            for mine in closes.iter_mut() {
                mine.push(Finding::of(r));
            }
        }
    }
    for (f, mine) in fixes.iter_mut().zip(closes) {
        f.closes = sorted(mine);
    }
    let medium_fail = |r: &&CheckResult| r.status == Status::Fail && r.severity >= Severity::Medium;
    let new_fails = after
        .iter()
        .filter(medium_fail)
        .filter(|r| {
            before_by
                .get(&r.key())
                .is_none_or(|b| b.status != Status::Fail)
        })
        .map(Finding::of)
        .collect();
    let still_open = after
        .iter()
        .filter(medium_fail)
        .filter(|r| fixable(r.check) && !BY_HAND.contains(&r.check))
        .filter(|r| {
            before_by
                .get(&r.key())
                .is_some_and(|b| b.status == Status::Fail)
        })
        .map(Finding::of)
        .collect();
    let undecided = before
        .iter()
        .filter(|r| r.status == Status::Error && fixable(r.check))
        .map(Finding::of)
        .collect();
    Outcome {
        locked: locked(&imported, fixes, before),
        new_fails: sorted(new_fails),
        still_open: sorted(still_open),
        undecided: sorted(undecided),
    }
}

/// Whether `p` does not run in the clone of `plan` only because its request locked its profile
/// settings before `p` was made or linked.
fn locked_out(p: &Preserver, plan: &ClonePlan, links: &[ProfilePreserver]) -> bool {
    plan.not_applied.contains_key(&p.sys_id)
        && p.include_in_system_clone != Some(false)
        && !p.condition.contains("MATCH_RGX")
        && !(p.theme == Some(true) && plan.options.preserve_theme != Some(true))
        && plan.profile.as_ref().is_none_or(|profile| {
            links
                .iter()
                .any(|l| &l.profile == profile && l.preserver == p.sys_id)
        })
}

/// One step per pending request that locked its profile settings and so will not take a
/// preserver fix writes or links, or one that will not run today.
fn locked(imported: &Evidence, fixes: &[PreserverFix], before: &[CheckResult]) -> Vec<String> {
    let Some(setup) = imported.source().and_then(|s| s.clone.as_ref()) else {
        return Vec::new();
    };
    let (Some(preservers), Some(links)) = (setup.preservers.get(), setup.profile_preservers.get())
    else {
        return Vec::new();
    };
    let mut concerned: BTreeSet<&str> = fixes.iter().map(|f| f.preserver.sys_id.as_str()).collect();
    concerned.extend(
        before
            .iter()
            .filter(|r| r.check == CheckId::PreserverNotApplied && r.status == Status::Fail)
            .map(|r| r.subject.sys_id.as_str()),
    );
    let ctx = Ctx::new(imported);
    let mut steps: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for t in &imported.targets {
        for c in ctx.clones_onto(t) {
            let (Some(r), Ok(plan)) = (&c.request, &c.plan) else {
                continue;
            };
            if r.lock_profile_settings != Some(true) {
                continue;
            }
            for p in preservers
                .iter()
                .filter(|p| concerned.contains(p.sys_id.as_str()))
            {
                if locked_out(p, plan, links) {
                    let head = format!(
                        "The {} onto {t} locked its profile settings when it was requested ({} UTC)",
                        label(r),
                        r.created_on
                    );
                    let entry = steps.entry(r.sys_id.clone()).or_insert((head, Vec::new()));
                    let name = format!("\"{}\" on {}", p.name, p.table);
                    if !entry.1.contains(&name) {
                        entry.1.push(name);
                    }
                }
            }
        }
    }
    steps
        .into_values()
        .map(|(head, names)| {
            format!(
                "{head}: preserver {} will not run in it, whatever is imported, so its MID Servers stay as the audit found them. Cancel it and request the clone again once the XML file is imported: a new request takes the profile as it then stands.",
                names.join(", ")
            )
        })
        .collect()
}
