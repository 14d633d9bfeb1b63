//! The CSV report: RFC 4180, comma-separated, UTF-8, a header row, one row per result (then, with
//! a baseline, one per baseline fail or error no longer reported), with the fixed columns
//! documented in `docs/csv-columns.md`.
//!
//! Control characters other than tab, newline and carriage return become U+FFFD, so the file is
//! safe to print on a terminal (`--format csv` writes to stdout).
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return
//! before one) as a formula; instance data is attacker-reachable, so such cells get a leading `'`.

use super::error::RenderError;
use super::format::Format;
use super::model::{Change, GoneResult, Report};
use crate::finding::CheckResult;

/// The header row, in order. Changing it is a breaking change of the CSV format.
pub const COLUMNS: [&str; 14] = [
    "check",
    "severity",
    "status",
    "instance",
    "subject_table",
    "subject_sys_id",
    "subject_name",
    "message",
    "remediation",
    "evidence",
    "waiver_reason",
    "waiver_approver",
    "waiver_expires",
    "change",
];

/// Prefixes `'` to a cell a spreadsheet would read as a formula.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Replaces control characters other than tab, newline and carriage return with U+FFFD.
pub fn replace_controls(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// `key=value; key=value`, in the evidence's (sorted) key order.
pub fn evidence_cell(result: &CheckResult) -> String {
    result
        .evidence
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn row(result: &CheckResult) -> [String; 14] {
    let (reason, approver, expires) = match &result.waiver {
        Some(w) => (w.reason.as_str(), w.approver.as_str(), w.expires.as_str()),
        None => ("", "", ""),
    };
    [
        result.check.to_string(),
        result.severity.as_str().to_string(),
        result.status.as_str().to_string(),
        result.instance.to_string(),
        result.subject.table.to_string(),
        result.subject.sys_id.to_string(),
        result.subject.name.to_string(),
        result.message.clone(),
        result.remediation.clone(),
        evidence_cell(result),
        reason.to_string(),
        approver.to_string(),
        expires.to_string(),
        result.change.map_or("", Change::as_str).to_string(),
    ]
    .map(|cell| neutralise(&replace_controls(&cell)))
}

/// A fail or error of the baseline that this run does not report: status `gone`, the
/// baseline's severity, subject and message, and its change.
fn gone_row(g: &GoneResult) -> [String; 14] {
    let s = &g.subject;
    let (blank, text) = (String::new, |t: &str| t.to_string());
    [
        text(&g.check),
        text(g.severity.as_str()),
        text("gone"),
        text(&g.instance),
        text(&s.table),
        text(&s.sys_id),
        text(&s.name),
        text(&g.message),
        blank(),
        blank(),
        blank(),
        blank(),
        blank(),
        text(g.change.as_str()),
    ]
    .map(|cell| neutralise(&replace_controls(&cell)))
}

/// One header row and one row per result, in the report's order, lines ending in CRLF.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let internal = |e: &dyn std::fmt::Display| RenderError::Internal {
        format: Format::Csv,
        detail: e.to_string(),
    };
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .quote_style(::csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    writer.write_record(COLUMNS).map_err(|e| internal(&e))?;
    for result in &report.results {
        writer.write_record(row(result)).map_err(|e| internal(&e))?;
    }
    for gone in report.baseline.iter().flat_map(|b| &b.gone) {
        writer
            .write_record(gone_row(gone))
            .map_err(|e| internal(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| internal(&e))?;
    String::from_utf8(bytes).map_err(|e| internal(&e))
}
