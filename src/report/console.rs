//! The console report (`UX.md`): verdict first, then the MID Servers that will go down, the
//! findings with what to do, production exposure, coverage, and one line of totals.
//!
//! Every value from an instance passes through [`clean`] first, so a user name cannot move the
//! cursor, recolour the terminal or reorder text (control and bidi characters are shown escaped).

use super::format::ConsoleOptions;
use super::model::{Report, Verdict};
use super::text::{
    audit_text, coverage_facts, coverage_text, fails_text, gate_text, is_bidi_control, is_exposure,
    time_text, totals_text, verdict_label, with_status,
};
use crate::finding::{CheckResult, Severity, Status};
use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use std::fmt::Write;

const DEFAULT_WIDTH: u16 = 100;
const MIN_WIDTH: u16 = 40;
const INDENT: &str = "  ";

/// Shows control characters and bidirectional-override characters as `\u{..}` escapes;
/// newlines become `\n` unless `keep_newlines` (for free text laid out in a table cell).
pub fn clean(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// One line, safe for a terminal.
fn line(s: &str) -> String {
    clean(s, false)
}

/// Free text, safe for a terminal, newlines kept.
fn text(s: &str) -> String {
    clean(s, true)
}

struct Painter {
    color: bool,
    width: u16,
}

impl Painter {
    fn ansi(&self, codes: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{codes}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn heading(&self, s: &str) -> String {
        self.ansi("1", s)
    }

    fn verdict(&self, report: &Report) -> String {
        let label = verdict_label(report);
        let codes = match report.gate.verdict {
            Verdict::Pass => "1;32",
            Verdict::Fail => "1;31",
            Verdict::Incomplete => "1;33",
        };
        self.ansi(codes, &line(&label))
    }

    fn severity_cell(&self, severity: Severity) -> Cell {
        let cell = Cell::new(severity.as_str().to_uppercase());
        if !self.color {
            return cell;
        }
        match severity {
            Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
            Severity::High => cell.fg(Color::Red),
            Severity::Medium => cell.fg(Color::Yellow),
            Severity::Low => cell.fg(Color::Cyan),
            Severity::Info => cell.fg(Color::Grey),
        }
    }

    fn dim_cell(&self, s: &str) -> Cell {
        let cell = Cell::new(s);
        if self.color {
            cell.add_attribute(Attribute::Dim)
        } else {
            cell
        }
    }

    fn header(&self, names: &[&str]) -> Vec<Cell> {
        names
            .iter()
            .map(|n| {
                let cell = Cell::new(n);
                if self.color {
                    cell.add_attribute(Attribute::Bold)
                } else {
                    cell
                }
            })
            .collect()
    }

    fn table(&self) -> Table {
        let mut t = Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(self.width.saturating_sub(INDENT.len() as u16));
        if self.color {
            t.enforce_styling();
            t.style_text_only();
        } else {
            t.force_no_tty();
        }
        t
    }
}

/// Appends a table, indented, without trailing spaces; the first `fixed` columns keep their width.
fn emit(out: &mut String, mut table: Table, fixed: usize) {
    let columns = table.column_count();
    for (i, col) in table.column_iter_mut().enumerate() {
        col.set_padding((0, if i + 1 == columns { 0 } else { 2 }));
        if i < fixed {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for l in table.lines() {
        out.push_str(INDENT);
        out.push_str(l.trim_end());
        out.push('\n');
    }
}

fn subject(r: &CheckResult) -> String {
    let s = &r.subject;
    let name = if !s.name.is_empty() {
        &s.name
    } else if !s.sys_id.is_empty() {
        &s.sys_id
    } else {
        &s.table
    };
    line(name)
}

/// Two rows per result: what failed and why, then what to do.
fn findings_table(p: &Painter, results: &[&CheckResult]) -> Table {
    let mut t = p.table();
    for r in results {
        t.add_row(vec![
            p.severity_cell(r.severity),
            Cell::new(line(&r.instance)),
            Cell::new(format!(
                "{} · {}\n{}",
                line(r.check.as_str()),
                subject(r),
                text(&r.message)
            )),
        ]);
        if !r.remediation.is_empty() {
            t.add_row(vec![
                Cell::new(""),
                p.dim_cell("fix"),
                Cell::new(text(&r.remediation)),
            ]);
        }
    }
    t
}

fn header_and_verdict(out: &mut String, p: &Painter, report: &Report) {
    let evidence = if report.summary.evidence_complete {
        "evidence complete".to_string()
    } else {
        p.ansi("1;33", "evidence INCOMPLETE")
    };
    let _ = writeln!(
        out,
        "{} {} · audit of {} · {} · {}",
        line(&report.tool.name),
        line(&report.tool.version),
        line(&audit_text(report)),
        time_text(&report.started_at),
        evidence
    );
    out.push('\n');
    let undecided = report.summary.totals.error;
    let undecided = if undecided > 0 {
        format!(" · {undecided} not decided")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{}  {}{}   {}",
        p.verdict(report),
        fails_text(report),
        undecided,
        gate_text(report)
    );
    if !report.gate.reason.is_empty() {
        let _ = writeln!(out, "{INDENT}{}", line(&report.gate.reason));
    }
    out.push('\n');
}

fn impact(out: &mut String, p: &Painter, report: &Report) {
    let title = "MID Servers that will go down after the clone";
    if report.impact.is_empty() {
        let _ = writeln!(out, "{}: none", p.heading(title));
        out.push('\n');
        return;
    }
    let _ = writeln!(out, "{}", p.heading(title));
    let mut t = p.table();
    t.set_header(p.header(&["target", "MID Server", "status", "logs in as", "because"]));
    for i in &report.impact {
        let because = if i.result_status == Status::Waived {
            format!("{} (waived)", text(&i.because))
        } else {
            text(&i.because)
        };
        t.add_row(vec![
            Cell::new(line(&i.instance)),
            Cell::new(line(&i.mid_server)),
            Cell::new(line(&i.status)),
            Cell::new(line(&i.user_name)),
            Cell::new(because),
        ]);
    }
    emit(out, t, 0);
    out.push('\n');
}

fn findings(out: &mut String, p: &Painter, report: &Report) {
    let fails = with_status(report, Status::Fail);
    let errors = with_status(report, Status::Error);
    if fails.is_empty() {
        let _ = writeln!(out, "{}: none", p.heading("Findings"));
    } else {
        let _ = writeln!(out, "{}", p.heading("Findings"));
        emit(out, findings_table(p, &fails), 1);
    }
    out.push('\n');
    if !errors.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            p.heading("Not decided (error: never counted as a pass)")
        );
        emit(out, findings_table(p, &errors), 1);
        out.push('\n');
    }
}

fn waived(out: &mut String, p: &Painter, report: &Report) {
    let waived = with_status(report, Status::Waived);
    if waived.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", p.heading(&format!("Waived ({})", waived.len())));
    let mut t = p.table();
    for r in waived {
        let why = match &r.waiver {
            Some(w) => format!(
                "{} ({}, until {})",
                text(&w.reason),
                line(&w.approver),
                line(&w.expires)
            ),
            None => "waived".to_string(),
        };
        t.add_row(vec![
            p.severity_cell(r.severity),
            Cell::new(line(&r.instance)),
            Cell::new(format!("{} · {}", line(r.check.as_str()), subject(r))),
            Cell::new(why),
        ]);
    }
    emit(out, t, 1);
    out.push('\n');
}

fn exposure(out: &mut String, p: &Painter, report: &Report) {
    let title = p.heading("Production exposure");
    let fails: Vec<&CheckResult> = with_status(report, Status::Fail)
        .into_iter()
        .filter(|r| is_exposure(r))
        .collect();
    let undecided = with_status(report, Status::Error)
        .into_iter()
        .filter(|r| is_exposure(r))
        .count();
    let undecided_note = if undecided > 0 {
        format!(", but {undecided} not decided (see above)")
    } else {
        String::new()
    };
    if fails.is_empty() {
        let _ = writeln!(out, "{title}: none found{undecided_note}");
    } else {
        let n = fails.len();
        let noun = if n == 1 { "finding" } else { "findings" };
        let _ = writeln!(out, "{title}: {n} {noun}{undecided_note}");
        let mut t = p.table();
        for r in fails {
            t.add_row(vec![
                p.severity_cell(r.severity),
                Cell::new(line(&r.instance)),
                Cell::new(format!("{} · {}", line(r.check.as_str()), subject(r))),
            ]);
        }
        emit(out, t, 1);
    }
    out.push('\n');
}

fn coverage(out: &mut String, p: &Painter, report: &Report) {
    let _ = writeln!(
        out,
        "{}: {}",
        p.heading("Coverage"),
        line(&coverage_text(report))
    );
    let facts = coverage_facts(report);
    if !facts.unreadable.is_empty() || !facts.hidden.is_empty() {
        let mut t = p.table();
        for c in facts.unreadable {
            let why = c.error.as_deref().unwrap_or("no reason recorded");
            t.add_row(vec![
                Cell::new(line(&c.instance)),
                Cell::new(line(&c.table)),
                Cell::new(format!("unreadable: {}", text(why))),
            ]);
        }
        for c in facts.hidden {
            t.add_row(vec![
                Cell::new(line(&c.instance)),
                Cell::new(line(&c.table)),
                Cell::new(format!(
                    "{} of {} hidden by ACLs",
                    c.hidden_rows,
                    c.hidden_rows + c.rows
                )),
            ]);
        }
        emit(out, t, 0);
    }
    out.push('\n');
}

/// The console report as text (ANSI colours only when `opts.color`). Never prints.
pub fn render(report: &Report, opts: &ConsoleOptions) -> String {
    let p = Painter {
        color: opts.color,
        width: opts.width.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH),
    };
    let mut out = String::new();
    header_and_verdict(&mut out, &p, report);
    impact(&mut out, &p, report);
    findings(&mut out, &p, report);
    waived(&mut out, &p, report);
    exposure(&mut out, &p, report);
    coverage(&mut out, &p, report);
    let _ = writeln!(out, "{}", totals_text(report));
    out
}
