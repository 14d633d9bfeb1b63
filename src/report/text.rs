//! Phrases and selections shared by the renderers, so every format says the same thing the same
//! way.

use super::model::{CoverageRow, CoverageStatus, Report};
use crate::checks::Family;
use crate::finding::{CheckResult, Severity, Status};
use chrono::{DateTime, Utc};

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

/// `(gate: high, exit 1)`.
pub(crate) fn gate_text(report: &Report) -> String {
    format!(
        "(gate: {}, exit {})",
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

/// What the coverage section says: tables read, instances, and what was not seen.
pub(crate) struct CoverageFacts<'a> {
    pub tables_read: usize,
    pub instances: usize,
    pub unreadable: Vec<&'a CoverageRow>,
    pub hidden: Vec<&'a CoverageRow>,
}

pub(crate) fn coverage_facts(report: &Report) -> CoverageFacts<'_> {
    let mut instances: Vec<&str> = report
        .coverage
        .iter()
        .map(|c| c.instance.as_str())
        .collect();
    instances.sort_unstable();
    instances.dedup();
    CoverageFacts {
        tables_read: report
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Unreadable)
            .count(),
        instances: instances.len(),
        unreadable: report
            .coverage
            .iter()
            .filter(|c| c.status == CoverageStatus::Unreadable)
            .collect(),
        hidden: report
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Unreadable && c.hidden_rows > 0)
            .collect(),
    }
}

/// `11 tables read on 3 instances, nothing hidden` or `...; 1 unreadable, 1 with hidden rows`.
pub(crate) fn coverage_text(report: &Report) -> String {
    let f = coverage_facts(report);
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
