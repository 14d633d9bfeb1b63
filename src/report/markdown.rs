//! The Markdown report, for `$GITHUB_STEP_SUMMARY` and merge-request notes: the verdict, a
//! totals line, the failures and errors (at most [`MAX_ROWS`]), the waived count and the digest.
//!
//! Every value from the report is escaped by [`cell`]: Markdown and HTML metacharacters become
//! inert, `|` cannot split a table cell and a newline cannot end a table row.

use super::model::{Report, Verdict};
use super::text::{
    audit_text, coverage_text, fails_text, gate_text, time_text, totals_text, verdict_label,
    with_status,
};
use crate::finding::{CheckResult, Status};
use std::fmt::Write;

/// Most failure and error rows the table shows; the rest are counted in an "and N more" line.
pub const MAX_ROWS: usize = 50;

/// Escapes text for a Markdown table cell (or any inline position).
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '!' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn subject(r: &CheckResult) -> &str {
    let s = &r.subject;
    if !s.name.is_empty() {
        &s.name
    } else if !s.sys_id.is_empty() {
        &s.sys_id
    } else {
        &s.table
    }
}

/// The Markdown summary.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let mark = match report.gate.verdict {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Incomplete => "⚠️",
    };
    let _ = writeln!(
        out,
        "## {mark} preclone: {}\n",
        cell(&verdict_label(report))
    );
    let evidence = if report.summary.evidence_complete {
        "evidence complete"
    } else {
        "**evidence INCOMPLETE**"
    };
    let _ = writeln!(
        out,
        "**{}** {} · {}\n",
        cell(&fails_text(report)),
        cell(&gate_text(report)),
        evidence
    );
    if !report.gate.reason.is_empty() {
        let _ = writeln!(out, "{}\n", cell(&report.gate.reason));
    }
    let _ = writeln!(
        out,
        "Audit of {} · {} · {} {}\n",
        cell(&audit_text(report)),
        time_text(&report.started_at),
        cell(&report.tool.name),
        cell(&report.tool.version)
    );
    let _ = writeln!(out, "{}\n", cell(&totals_text(report)));
    let _ = writeln!(out, "Coverage: {}\n", cell(&coverage_text(report)));

    let mut rows = with_status(report, Status::Fail);
    rows.extend(with_status(report, Status::Error));
    if rows.is_empty() {
        out.push_str("No failures and no undecided checks.\n\n");
    } else {
        out.push_str("| severity | status | instance | check | subject | fix |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for r in rows.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.severity,
                r.status,
                cell(&r.instance),
                cell(r.check.as_str()),
                cell(subject(r)),
                cell(&r.remediation)
            );
        }
        out.push('\n');
        if rows.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "…and {} more: see the HTML, CSV or JSON report.\n",
                rows.len() - MAX_ROWS
            );
        }
    }
    let waived = report.summary.totals.waived;
    if waived > 0 {
        let noun = if waived == 1 { "result" } else { "results" };
        let _ = writeln!(
            out,
            "{waived} {noun} waived (reasons, approvers and expiry in the HTML report).\n"
        );
    }
    let _ = writeln!(out, "Evidence digest: {}", cell(&report.evidence_digest));
    out
}
