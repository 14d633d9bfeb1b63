//! The Markdown report, for `$GITHUB_STEP_SUMMARY` and merge-request notes: the verdict, the
//! MID Servers that will go down (or could not be decided), a totals line (and, with a baseline,
//! a line of what changed since), the failures (at most [`MAX_ROWS`], each marked `new` or
//! `unchanged` with a baseline), the undecided results grouped by cause, what the baseline
//! reported that is resolved, the waived count and the digest.
//!
//! Every value from the report is escaped by [`cell`]: Markdown and HTML metacharacters become
//! inert, `|` cannot split a table cell and a newline cannot end a table row.

use super::model::{Report, Verdict};
use super::text::{
    audit_text, baseline_line, change_mark, coverage_text, evidence_text, fails_text,
    gate_decided_text, gate_text, impact_summary, since_items, subject_text, time_text,
    totals_text, undecided_groups, undecided_servers, verdict_label, with_status, DEMO_TEXT,
};
use crate::finding::Status;
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

/// The Markdown summary.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.demo {
        let _ = writeln!(out, "> **DEMO**: {}\n", cell(DEMO_TEXT));
    }
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
    let undecided = report.summary.totals.error;
    let undecided = if undecided > 0 {
        format!(" · {undecided} not decided")
    } else {
        String::new()
    };
    let strong = |s: String, plain: bool| if plain { s } else { format!("**{s}**") };
    let _ = writeln!(
        out,
        "**{}{undecided}** {} · {} · {}\n",
        cell(&fails_text(report)),
        cell(&gate_text(report)),
        strong(
            cell(&evidence_text(report)),
            report.summary.evidence_complete
        ),
        strong(cell(&gate_decided_text(report)), report.gate.decided),
    );
    if !report.gate.reason.is_empty() {
        let _ = writeln!(out, "{}\n", cell(&report.gate.reason));
    }
    impact(&mut out, report);
    let _ = writeln!(
        out,
        "Audit of {} · {} · {} {}\n",
        cell(&audit_text(report)),
        time_text(&report.started_at),
        cell(&report.tool.name),
        cell(&report.tool.version)
    );
    let _ = writeln!(out, "{}\n", cell(&totals_text(report)));
    if let Some(line) = baseline_line(report) {
        let _ = writeln!(out, "{}\n", cell(&line));
    }
    let _ = writeln!(out, "Coverage: {}\n", cell(&coverage_text(report)));

    let rows = with_status(report, Status::Fail);
    if rows.is_empty() && report.summary.totals.error == 0 {
        out.push_str("No failures and no undecided checks.\n\n");
    } else if rows.is_empty() {
        out.push_str("No failures.\n\n");
    } else {
        out.push_str("| severity | instance | check | subject | fix |\n");
        out.push_str("|---|---|---|---|---|\n");
        for r in rows.iter().take(MAX_ROWS) {
            let mark = change_mark(r).map_or(String::new(), |m| format!(" · **{m}**"));
            let _ = writeln!(
                out,
                "| {}{mark} | {} | {} | {} | {} |",
                r.severity,
                cell(&r.instance),
                cell(r.check.as_str()),
                cell(&subject_text(r)),
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
    not_decided(&mut out, report);
    since(&mut out, report);
    // Counted from the results shown, so that the `--only-failed` view leaves it out.
    let waived = with_status(report, Status::Waived).len();
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

/// The MID Servers that will go down, and those that could not be decided, with why.
fn impact(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "**MID Servers that will go down after the clone:** {}\n",
        cell(&impact_summary(report))
    );
    for i in &report.impact {
        let waived = if i.result_status == Status::Waived {
            " (waived)"
        } else {
            ""
        };
        let cluster = i
            .cluster
            .as_deref()
            .map(|c| format!(", cluster {}", cell(c)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} **{}** ({}{cluster}, logs in as {}): {}{waived}",
            cell(&i.instance),
            cell(&i.mid_server),
            cell(&i.status),
            cell(&i.user_name),
            cell(&i.because)
        );
    }
    for c in &report.cluster_impact {
        let waived = if c.result_status == Status::Waived {
            " (waived)"
        } else {
            ""
        };
        let _ = writeln!(out, "- {} {}{waived}", cell(&c.instance), cell(&c.line));
    }
    for u in undecided_servers(report) {
        let server = u.mid_server.as_deref().map_or_else(
            || "its MID Servers (could not be listed)".to_string(),
            |s| format!("**{}**", cell(s)),
        );
        let _ = writeln!(
            out,
            "- {} {server}: not decided, {}",
            cell(&u.instance),
            cell(&u.why)
        );
    }
    if !report.impact.is_empty()
        || !report.impact_undecided.is_empty()
        || !report.cluster_impact.is_empty()
    {
        out.push('\n');
    }
}

/// What the baseline reported as a fail or error and this run does not: one line each.
fn since(out: &mut String, report: &Report) {
    let items = since_items(report);
    if items.is_empty() {
        return;
    }
    out.push_str("### Since the baseline\n\n");
    for i in &items {
        let _ = writeln!(
            out,
            "- **{}** {} {} · {} · {}: {}",
            i.change,
            i.severity,
            cell(i.instance),
            cell(i.check),
            cell(&i.subject),
            cell(&i.how)
        );
    }
    out.push('\n');
}

/// The undecided results, one item per cause: whose table (or login) failed, the fix, and
/// what it left undecided.
fn not_decided(out: &mut String, report: &Report) {
    let groups = undecided_groups(report);
    if groups.is_empty() {
        return;
    }
    out.push_str("### Not decided (never counted as a pass)\n\n");
    for g in &groups {
        let _ = writeln!(
            out,
            "- **{}**: {}<br>**Fix:** {}<br>{}",
            cell(g.instance),
            cell(&g.what()),
            cell(&g.fix),
            cell(&g.members_text(report, 12))
        );
    }
    out.push('\n');
}
