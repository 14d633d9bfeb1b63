//! The MID Server tables a preserver keeps beside the user tables: `sys_user_certificate`, whose
//! rows map the client certificate of a MID Server using mutual authentication to its user
//! (`mid-certificate-not-preserved`), and `ecc_agent_cluster`, in the default clone exclusions
//! (`mid-cluster-not-preserved`). A failing row that a preserver on that exact table matches
//! but that does not run is closed by repairing it; a row no preserver matches, by the
//! recommended one: `user.roles=mid_server` on the certificates (the catalogue's remediation),
//! an empty condition on the clusters (every cluster: see [`CLUSTER_NOTE`]).

use super::records::{failing, regex_step, shown, Scope};
use crate::checks::CheckId;
use crate::evidence::{InstanceEvidence, Preserver, Unreadable};
use crate::finding::CheckResult;
use crate::simulate::ClonePlan;
use crate::tables::{ECC_AGENT_CLUSTER, SYS_USER_CERTIFICATE};
use std::collections::BTreeSet;

/// The condition fix writes on `sys_user_certificate`: the rows of the users that hold
/// `mid_server`, the dot-walk of the seed article's role and membership preservers.
pub(super) const CERT_CONDITION: &str = "user.roles=mid_server";

/// The condition fix writes on `ecc_agent_cluster`: none, so every cluster of the target.
pub(super) const CLUSTER_CONDITION: &str = "";

/// Why the cluster preserver has no condition, said beside it in the Markdown.
pub(super) const CLUSTER_NOTE: &str = "Its condition is empty on purpose: every row of ecc_agent_cluster is a MID Server cluster, so keeping every row keeps nothing that is not MID-related (its matches equal the target's clusters, which is not over-broad), and it also keeps a cluster created or renamed after this audit. A name= or sys_id condition would have to list every cluster of every target and would silently stop keeping the next one. Where a clone copies the table instead of excluding it, the target keeps its own clusters beside the source's (on a sys_id collision the target's row wins).";

/// Why the certificate preserver dot-walks, said beside it in the Markdown.
pub(super) const CERT_NOTE: &str = "Its condition dot-walks (user.roles), like the seed article's role and membership preservers: the legacy in-app clone engine, used only where a clone falls back to it, cannot apply it. It keeps the certificate rows of the users that hold mid_server only, never every user's certificates.";

/// The two tables, each with the check whose failing rows a preserver on it keeps.
const TABLES: [(&str, CheckId); 2] = [
    (
        SYS_USER_CERTIFICATE.name,
        CheckId::MidCertificateNotPreserved,
    ),
    (ECC_AGENT_CLUSTER.name, CheckId::MidClusterNotPreserved),
];

/// The check whose failing rows a preserver on `table` keeps, for the two tables here.
fn check_of(table: &str) -> Option<CheckId> {
    TABLES.iter().find(|(t, _)| *t == table).map(|(_, c)| *c)
}

/// The recommended condition on one of the two tables.
pub(super) fn recommended(table: &str) -> Option<&'static str> {
    match check_of(table)? {
        CheckId::MidCertificateNotPreserved => Some(CERT_CONDITION),
        _ => Some(CLUSTER_CONDITION),
    }
}

/// The name of a new preserver on one of the two tables.
pub(super) fn name(table: &str) -> Option<&'static str> {
    match check_of(table)? {
        CheckId::MidCertificateNotPreserved => Some("MID server user certificates"),
        _ => Some("MID server clusters"),
    }
}

/// What the recommended preserver on one of the two tables keeps.
pub(super) fn keeps(table: &str) -> Option<&'static str> {
    match check_of(table)? {
        CheckId::MidCertificateNotPreserved => Some("on each target, the sys_user_certificate rows of the users that hold mid_server: the client certificates their MID Servers present with mutual authentication, which the clone would otherwise replace with the source's rows (a preserver on sys_certificate does not reach this child table)"),
        _ => Some("on each target, every MID Server cluster (ecc_agent_cluster, which the default exclusions would empty), so that the member rows and everything that names a cluster still point to it"),
    }
}

/// The notes beside a preserver fix writes or repairs on one of the two tables: why fix chose
/// the recommended condition, or that another condition dot-walks.
pub(super) fn notes(table: &str, condition: &str) -> Option<Vec<String>> {
    let check = check_of(table)?;
    let note = match check {
        _ if !has_recommended(table, condition) => crate::query::is_dot_walked(condition).then_some(
            "Its condition dot-walks: the legacy in-app clone engine, used only where a clone falls back to it, cannot apply it.",
        ),
        CheckId::MidCertificateNotPreserved => Some(CERT_NOTE),
        _ => Some(CLUSTER_NOTE),
    };
    Some(note.into_iter().map(str::to_string).collect())
}

/// Whether `p` has the recommended condition of its table.
fn is_recommended(p: &Preserver) -> bool {
    has_recommended(&p.table, &p.condition)
}

/// Whether `condition` is the recommended one on `table`.
fn has_recommended(table: &str, condition: &str) -> bool {
    recommended(table).is_some_and(|c| crate::query::strip_eq(condition).trim() == c)
}

/// The rows of its table that `p` matches, as the target evaluated it.
fn matches<'t>(target: &'t InstanceEvidence, p: &Preserver) -> Option<&'t [String]> {
    target
        .preserver_evals
        .iter()
        .find(|e| e.preserver == p.sys_id && e.table == p.table)
        .and_then(|e| e.matched.get())
        .map(Vec::as_slice)
}

/// Whether the clone of `plan` brings the source's copy of the row: the table is not excluded
/// and the source has a row with that sys_id.
fn copied(source: &InstanceEvidence, plan: &ClonePlan, table: &str, row: &str) -> bool {
    if plan.mid_excluded.contains_key(table) {
        return false;
    }
    match check_of(table) {
        Some(CheckId::MidCertificateNotPreserved) => {
            (source.certificates.get()).is_some_and(|c| c.iter().any(|c| c.sys_id == row))
        }
        Some(_) => (source.clusters.get()).is_some_and(|c| c.iter().any(|c| c.sys_id == row)),
        None => false,
    }
}

/// A failing row of one of the two tables: its table, its result, its target, and the plans
/// of the clones onto that target.
type FailingRow<'s> = (
    &'static str,
    &'s CheckResult,
    &'s InstanceEvidence,
    Vec<&'s ClonePlan>,
);

/// Each failing row of the two tables.
fn failing_rows<'s>(scope: &'s Scope, results: &'s [CheckResult]) -> Vec<FailingRow<'s>> {
    let mut out = Vec::new();
    for (table, check) in TABLES {
        for r in failing(results, check) {
            let Some(target) = scope.evidence.instances.get(r.instance.as_str()) else {
                continue;
            };
            let plans = scope
                .ctx
                .clones_onto(&r.instance)
                .into_iter()
                .filter_map(|c| c.plan.as_ref().ok())
                .collect();
            out.push((table, r, target, plans));
        }
    }
    out
}

/// The two tables on which some failing row is kept by no applicable preserver, and not by the
/// source's copy either, under some clone: a row the clone keeps that fails for its user is
/// closed by the user tables' preservers.
pub(super) fn gaps(scope: &Scope, results: &[CheckResult]) -> BTreeSet<String> {
    let Some(source) = scope.evidence.source() else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for (table, r, target, plans) in failing_rows(scope, results) {
        let row = r.subject.sys_id.as_str();
        let lost = plans.iter().any(|plan| {
            let kept = plan
                .applicable_on(scope.preservers, table)
                .iter()
                .any(|p| matches(target, p).is_some_and(|m| m.iter().any(|id| id == row)));
            !kept && !copied(source, plan, table, row)
        });
        if lost {
            out.insert(table.to_string());
        }
    }
    out
}

/// Why a preserver on one of the two tables that does not run is left as it is, if it is: its
/// condition uses MATCH_RGX, or on some target it matches rows that are not MID-related (more
/// rows of the whole table than the MID-related ones it matched).
fn left_alone(scope: &Scope, p: &Preserver) -> Option<String> {
    if is_recommended(p) {
        return None;
    }
    if let Some(step) = regex_step(p) {
        return Some(step);
    }
    let broad: Vec<String> = scope
        .evidence
        .target_instances()
        .filter_map(|t| {
            let e = t.preserver_evals.iter().find(|e| e.preserver == p.sys_id)?;
            let (matched, total) = (e.matched.get()?.len() as u64, *e.table_matches.get()?);
            (total > matched)
                .then(|| format!("{}: {total} rows, {matched} of them MID-related", t.name))
        })
        .collect();
    (!broad.is_empty()).then(|| format!(
        "Preserver \"{}\" on {} will not run, and it matches rows that are not MID-related ({}): fix does not switch it on, and writes the recommended preserver on {} instead. Narrow its condition before you let it run, or delete it once the file is imported.",
        p.name, p.table, broad.join("; "), p.table
    ))
}

/// The preservers on the two tables that match a failing row on its target but do not run in
/// some clone onto it, once each, with what each keeps; those left alone are manual steps.
pub(super) fn to_repair<'s>(
    scope: &'s Scope,
    before: &[CheckResult],
    manual: &mut Vec<String>,
) -> Vec<(&'s Preserver, String)> {
    let mut out: Vec<(&Preserver, String)> = Vec::new();
    for (table, r, target, plans) in failing_rows(scope, before) {
        let row = r.subject.sys_id.as_str();
        let candidates = scope.preservers.iter().filter(|p| {
            p.table == table
                && matches(target, p).is_some_and(|m| m.iter().any(|id| id == row))
                && plans
                    .iter()
                    .any(|plan| plan.not_applied.contains_key(&p.sys_id))
        });
        for p in candidates {
            if out.iter().any(|(q, _)| q.sys_id == p.sys_id) {
                continue;
            }
            if let Some(why) = left_alone(scope, p) {
                manual.push(why);
                continue;
            }
            let what = match check_of(table) {
                Some(CheckId::MidCertificateNotPreserved) => {
                    "the certificate rows of the MID Servers' users"
                }
                _ => "the MID Server clusters",
            };
            out.push((
                p,
                format!(
                    "on each target, the rows of {} that its condition ({}) matches, among them {what}",
                    p.table,
                    shown(&p.condition)
                ),
            ));
        }
    }
    out
}

/// What the recommended condition on one of the two tables matches among a target's rows
/// (`holders`: the users with a `mid_server` role row): every cluster, or the certificate
/// rows of the holders. `None` where the target would not be asked (it has no such rows, or
/// they could not be read).
pub(super) fn evaluate(
    t: &InstanceEvidence,
    p: &Preserver,
    holders: impl Fn() -> Result<BTreeSet<String>, Unreadable>,
) -> Option<Result<(usize, Vec<String>), Unreadable>> {
    if !is_recommended(p) {
        return None;
    }
    match check_of(&p.table)? {
        CheckId::MidCertificateNotPreserved => {
            let certs = t.certificates.get().filter(|c| !c.is_empty())?;
            Some(holders().map(|h| {
                let matched = certs.iter().filter(|c| h.contains(&c.user));
                (certs.len(), matched.map(|c| c.sys_id.clone()).collect())
            }))
        }
        _ => {
            let clusters = t.clusters.get().filter(|c| !c.is_empty())?;
            let ids = clusters.iter().map(|c| c.sys_id.clone()).collect();
            Some(Ok((clusters.len(), ids)))
        }
    }
}
