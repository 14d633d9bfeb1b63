//! Phrases about the comparison with a baseline (`--baseline`), shared by every renderer: the
//! one line of counts, the mark of a result, and what the baseline reported that now passes or
//! is no longer reported.

use super::{subject_label, subject_text, time_text};
use crate::finding::{CheckResult, Severity, Status, Subject};
use crate::report::model::{Change, Report};
use serde::Serialize;

/// `Since the baseline (run 2026-11-24T…, 2026-11-24 09:12 UTC): 1 new · 5 unchanged · 1
/// resolved`, or `None` without a baseline.
pub(crate) fn baseline_line(report: &Report) -> Option<String> {
    let b = report.baseline.as_ref()?;
    Some(format!(
        "Since the baseline (run {}, {}): {} new · {} unchanged · {} resolved",
        b.run_id,
        time_text(&b.started_at),
        b.new,
        b.unchanged,
        b.resolved
    ))
}

/// `new`, `unchanged` or `resolved`, when the result carries a mark.
pub(crate) fn change_mark(r: &CheckResult) -> Option<&'static str> {
    r.change.map(Change::as_str)
}

/// Something the baseline reported as a fail or error that this run does not: a result that
/// now passes, or one that is no longer reported at all.
#[derive(Debug, Serialize)]
pub(crate) struct SinceItem<'a> {
    pub severity: Severity,
    pub instance: &'a str,
    pub check: &'a str,
    /// The subject as lists show it.
    pub subject: String,
    #[serde(skip)]
    pub raw_subject: &'a Subject,
    /// Whether this run has no result for it (otherwise the result now passes).
    pub gone: bool,
    /// `resolved`, or `unchanged` for a result missing from a run that did not read everything.
    pub change: &'static str,
    /// `now passes`, `no longer reported (was fail)`, ...
    pub how: String,
}

/// The results marked `resolved` (they now pass), then the baseline's fails and errors that
/// this run does not report, each with how it changed. Empty without a baseline.
pub(crate) fn since_items(report: &Report) -> Vec<SinceItem<'_>> {
    let Some(b) = &report.baseline else {
        return Vec::new();
    };
    let passes = report
        .results
        .iter()
        .filter(|r| r.change == Some(Change::Resolved))
        .map(|r| SinceItem {
            severity: r.severity,
            instance: &r.instance,
            check: r.check.as_str(),
            subject: subject_text(r),
            raw_subject: &r.subject,
            gone: false,
            change: Change::Resolved.as_str(),
            how: "now passes".to_string(),
        });
    let gone = b.gone.iter().map(|g| SinceItem {
        severity: g.severity,
        instance: &g.instance,
        check: &g.check,
        subject: subject_label(&g.subject),
        raw_subject: &g.subject,
        gone: true,
        change: g.change.as_str(),
        how: match g.change {
            Change::Resolved => format!("no longer reported (was {})", g.status),
            _ => format!(
                "not reported by this run, which did not read everything: still counted as {} \
                 (unchanged)",
                g.status
            ),
        },
    });
    passes.chain(gone).collect()
}

/// Why an unwaived fail at or above the gate does not fail it: it is not new since the
/// baseline and the gate counts only new fails (`None` when the gate counts it).
pub(crate) fn not_new_text(report: &Report, r: &CheckResult) -> Option<&'static str> {
    (r.status == Status::Fail && !report.gate.gate_on.counts(r))
        .then_some("unchanged since the baseline (--gate-on new)")
}
