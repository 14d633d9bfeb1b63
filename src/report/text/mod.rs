//! Phrases and selections shared by the renderers, so every format says the same thing the same
//! way.

use super::model::{CoverageRow, CoverageStatus, GateOn, InstanceInfo, ReadState, Report};
use crate::checks::Family;
use crate::evidence::Cause;
use crate::exit::Exit;
use crate::finding::{CheckResult, Severity, Status};
use chrono::{DateTime, Utc};

mod change;
mod undecided;
pub(crate) use change::{baseline_line, change_mark, not_new_text, since_items, SinceItem};
pub(crate) use undecided::{
    cause_text, fix_text, impact_summary, undecided_groups, undecided_servers,
};

/// The verdict in capitals: `PASS`, `FAIL` or `INCOMPLETE`.
pub(crate) fn verdict_label(report: &Report) -> String {
    report.gate.verdict.as_str().to_uppercase()
}

/// Unwaived failures by severity, most severe first, zero counts left out.
pub(crate) fn fails_by_severity(report: &Report) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .filter_map(|s| {
            let n = report.summary.by_severity.get(s).map_or(0, |c| c.fail);
            (n > 0).then_some((*s, n))
        })
        .collect()
}

/// `2 critical · 1 high`, or `no failures`.
pub(crate) fn fails_text(report: &Report) -> String {
    let parts: Vec<String> = fails_by_severity(report)
        .into_iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    if parts.is_empty() {
        "no failures".to_string()
    } else {
        parts.join(" · ")
    }
}

/// `(gate: high, exit 1)`; `(gate: high, new only, exit 1)` with `--gate-on new`.
pub(crate) fn gate_text(report: &Report) -> String {
    let new = match report.gate.gate_on {
        GateOn::New => ", new only",
        GateOn::All => "",
    };
    format!(
        "(gate: {}{new}, exit {})",
        report.gate.fail_on, report.gate.exit_code
    )
}

/// `2026-11-24 09:12 UTC`.
pub(crate) fn time_text(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `prod → dev, test`.
pub(crate) fn audit_text(report: &Report) -> String {
    let targets: Vec<&str> = report.targets.iter().map(|t| t.name.as_str()).collect();
    format!("{} → {}", report.source.name, targets.join(", "))
}

/// `31 checks · 94 results: 87 pass · 6 fail · 0 error · 1 waived · 38 requests in 0.7 s`.
pub(crate) fn totals_text(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} checks · {} results: {} pass · {} fail · {} error · {} waived · {} requests in {:.1} s",
        s.checks,
        s.results,
        s.totals.pass,
        s.totals.fail,
        s.totals.error,
        s.totals.waived,
        s.requests,
        s.duration_ms as f64 / 1000.0
    )
}

/// Characters that reorder the text around them (bidirectional overrides, isolates and marks):
/// shown escaped by the console and HTML reports so a name cannot disguise itself.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Results of the checks that say whether production is exposed (the console's and HTML's
/// exposure section).
pub(crate) fn is_exposure(result: &CheckResult) -> bool {
    result.check.family() == Family::Exposure
}

/// Results with `status`, most severe first, otherwise in the report's order.
pub(crate) fn with_status(report: &Report, status: Status) -> Vec<&CheckResult> {
    let mut out: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| r.status == status)
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.severity));
    out
}

/// What the coverage section says: tables read, instances, and what was not seen, over the
/// instances that were read (those that failed or were not read are told apart).
pub(crate) struct CoverageFacts<'a> {
    pub tables_read: usize,
    pub instances: usize,
    pub unreadable: Vec<&'a CoverageRow>,
    pub hidden: Vec<&'a CoverageRow>,
}

/// Whether the run read `instance` at all (it did not fail on its first request and was not
/// skipped when the run stopped).
fn was_read(report: &Report, instance: &str) -> bool {
    instance_infos(report)
        .find(|i| i.name == instance)
        .is_none_or(|i| matches!(i.read, ReadState::Complete | ReadState::Incomplete))
}

pub(crate) fn coverage_facts(report: &Report) -> CoverageFacts<'_> {
    let read: Vec<&CoverageRow> = report
        .coverage
        .iter()
        .filter(|c| was_read(report, &c.instance))
        .collect();
    let mut instances: Vec<&str> = read.iter().map(|c| c.instance.as_str()).collect();
    instances.sort_unstable();
    instances.dedup();
    CoverageFacts {
        tables_read: read
            .iter()
            .filter(|c| c.status != CoverageStatus::Unreadable)
            .count(),
        instances: instances.len(),
        unreadable: read
            .iter()
            .copied()
            .filter(|c| c.status == CoverageStatus::Unreadable)
            .collect(),
        hidden: read
            .iter()
            .copied()
            .filter(|c| c.status != CoverageStatus::Unreadable && c.hidden_rows > 0)
            .collect(),
    }
}

/// What happened to an instance whose first request failed: `the login failed`, ...
fn failed_text(kind: Option<Cause>) -> &'static str {
    match kind {
        Some(Cause::Credentials) => "the login failed",
        Some(Cause::Unreachable) => "could not be reached",
        Some(Cause::Html) => "answered with an HTML page, not the REST API",
        _ => "could not be read",
    }
}

/// The instances the run did not read, each with what happened: `dev: the login failed (401
/// Unauthorized: ...)`, `prod and test: not read, the run stopped at dev`.
pub(crate) fn unread_texts(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let mut stopper = None;
    for i in instance_infos(report).filter(|i| i.read == ReadState::Failed) {
        stopper.get_or_insert(i.name.as_str());
        let row = report
            .coverage
            .iter()
            .find(|c| c.instance == i.name && c.error.is_some());
        let reason = row
            .and_then(|c| c.error.as_deref())
            .map(|e| strip_instance(e, &i.name))
            .unwrap_or("no reason recorded");
        out.push(format!(
            "{}: {} ({reason})",
            i.name,
            failed_text(row.and_then(|c| c.cause))
        ));
    }
    let not_read: Vec<&str> = instance_infos(report)
        .filter(|i| i.read == ReadState::NotRead)
        .map(|i| i.name.as_str())
        .collect();
    if !not_read.is_empty() {
        let at = stopper.map_or(String::new(), |s| format!(", the run stopped at {s}"));
        out.push(format!("{}: not read{at}", and_list(&not_read)));
    }
    out
}

/// `reason` without a leading `NAME could not be read: `.
pub(crate) fn strip_instance<'r>(reason: &'r str, name: &str) -> &'r str {
    reason
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(" could not be read: "))
        .unwrap_or(reason)
}

/// `11 tables read on 3 instances, nothing hidden` or `...; 1 unreadable, 1 with hidden rows`;
/// an instance that was not read is said so (`dev: the login failed (...)`), never counted as
/// read.
pub(crate) fn coverage_text(report: &Report) -> String {
    let mut parts = unread_texts(report);
    let f = coverage_facts(report);
    if f.instances > 0 || parts.is_empty() {
        parts.push(read_text(&f));
    }
    parts.join("; ")
}

fn read_text(f: &CoverageFacts) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let head = format!(
        "{} read on {}",
        plural(f.tables_read, "table", "tables"),
        plural(f.instances, "instance", "instances")
    );
    if f.unreadable.is_empty() && f.hidden.is_empty() {
        format!("{head}, nothing hidden")
    } else {
        let mut gaps = Vec::new();
        if !f.unreadable.is_empty() {
            gaps.push(format!("{} unreadable", f.unreadable.len()));
        }
        if !f.hidden.is_empty() {
            gaps.push(format!(
                "{} with rows hidden by ACLs",
                plural(f.hidden.len(), "table", "tables")
            ));
        }
        format!("{head}; {}", gaps.join(", "))
    }
}

/// Instance names in display order: the source, the targets, then any other instance a result
/// names (sorted), each once.
pub(crate) fn instance_order(report: &Report) -> Vec<&str> {
    let mut order: Vec<&str> = Vec::new();
    let named = std::iter::once(report.source.name.as_str())
        .chain(report.targets.iter().map(|t| t.name.as_str()));
    for name in named {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    let mut others: Vec<&str> = report
        .results
        .iter()
        .map(|r| r.instance.as_str())
        .filter(|i| !order.contains(i))
        .collect();
    others.sort_unstable();
    others.dedup();
    order.extend(others);
    order
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// The source and the targets, in order.
pub(crate) fn instance_infos(report: &Report) -> impl Iterator<Item = &InstanceInfo> {
    std::iter::once(&report.source).chain(report.targets.iter())
}

/// How a subject reads in a list: its name, its sys_id, or `table NAME` when the subject is a
/// table (so a table never reads like a user).
pub(crate) fn subject_text(r: &CheckResult) -> String {
    subject_label(&r.subject)
}

/// [`subject_text`] of a subject.
pub(crate) fn subject_label(s: &crate::finding::Subject) -> String {
    if s.table == TABLE_SUBJECT {
        format!("table {}", s.name)
    } else if !s.name.is_empty() {
        s.name.to_string()
    } else if !s.sys_id.is_empty() {
        s.sys_id.to_string()
    } else {
        format!("table {}", s.table)
    }
}

/// The subject table of a result about a table itself.
pub(super) const TABLE_SUBJECT: &str = "sys_db_object";

/// `evidence complete` or `evidence INCOMPLETE: 1 table unreadable, 1 with rows hidden`.
pub(crate) fn evidence_text(report: &Report) -> String {
    if report.summary.evidence_complete {
        return "evidence complete".to_string();
    }
    let f = coverage_facts(report);
    let mut gaps = Vec::new();
    for (state, what) in [
        (ReadState::Failed, "could not be read"),
        (ReadState::NotRead, "not read"),
    ] {
        let names: Vec<&str> = instance_infos(report)
            .filter(|i| i.read == state)
            .map(|i| i.name.as_str())
            .collect();
        if !names.is_empty() {
            gaps.push(format!("{} {what}", and_list(&names)));
        }
    }
    if !f.unreadable.is_empty() {
        let n = f.unreadable.len();
        gaps.push(format!(
            "{n} table{} unreadable",
            if n == 1 { "" } else { "s" }
        ));
    }
    if !f.hidden.is_empty() {
        let n = f.hidden.len();
        gaps.push(format!(
            "{n} table{} with rows hidden",
            if n == 1 { "" } else { "s" }
        ));
    }
    if gaps.is_empty() {
        "evidence INCOMPLETE".to_string()
    } else {
        format!("evidence INCOMPLETE: {}", gaps.join(", "))
    }
}

/// `gate decided` or `gate not decided: 20 results at or above high undecided`.
pub(crate) fn gate_decided_text(report: &Report) -> String {
    if report.gate.decided {
        return "gate decided".to_string();
    }
    match report.gate.fail_on.threshold() {
        Some(t) => {
            let n = report
                .results
                .iter()
                .filter(|r| r.status == Status::Error && r.severity >= t)
                .count();
            if n > 0 {
                format!("gate not decided: {n} undecided at or above {t}")
            } else {
                "gate not decided".to_string()
            }
        }
        None => "gate not decided".to_string(),
    }
}

/// Whether the gate counts this result: at or above the threshold (never when the gate is off),
/// and, with `--gate-on new`, a fail only when it is new since the baseline.
pub(crate) fn at_gate(report: &Report, r: &CheckResult) -> bool {
    report
        .gate
        .fail_on
        .threshold()
        .is_some_and(|t| r.severity >= t)
        && report.gate.gate_on.counts(r)
}

/// What every format says of the demo's reports.
pub(crate) const DEMO_TEXT: &str = "embedded sample estate, not a live instance";

/// Whether `instance` is production, or may be (its status is unknown).
pub(crate) fn is_production(report: &Report, instance: &str) -> bool {
    instance_infos(report)
        .find(|i| i.name == instance)
        .is_some_and(|i| i.production != Some(false))
}

/// The paragraph a non-zero exit prints on stderr. `console_shown`: whether stdout got the
/// console report (not with `-q` or another `--format`), which is then "above".
pub(crate) fn exit_paragraph(report: &Report, console_shown: bool) -> Option<String> {
    let code = report.gate.exit_code;
    let reason = &report.gate.reason;
    let where_ = if console_shown {
        "the findings above"
    } else {
        "the findings in the report (run without -q for the console)"
    };
    match code {
        Exit::Pass => None,
        Exit::Access => Some(format!(
            "preclone: {reason} (exit {code}). Nothing after the first request was read; the \
             reports written say so. Check the URL, the network and the credentials \
             (`preclone doctor`)."
        )),
        Exit::Incomplete => Some(format!(
            "preclone: {reason} (exit {code}). Some tables could not be read: see {}, and run \
             `preclone doctor`; --allow-incomplete accepts this.",
            if console_shown {
                "Not decided and Coverage above"
            } else {
                "the report's coverage"
            }
        )),
        _ => Some(format!(
            "preclone: {reason} (exit {code}). See {where_} for what to fix, or waive accepted \
             risks with --waivers."
        )),
    }
}
