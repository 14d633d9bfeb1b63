//! The console report (`UX.md`): verdict first, then the MID Servers that will go down, the
//! findings with what to do, production exposure, coverage, and one line of totals.
//!
//! Every value from an instance passes through [`clean`] first, so a user name cannot move the
//! cursor, recolour the terminal or reorder text (control and bidi characters are shown escaped).

use super::format::ConsoleOptions;
use super::model::{Report, Verdict};
use super::text::{
    audit_text, baseline_line, change_mark, coverage_facts, coverage_text, evidence_text,
    fails_text, gate_decided_text, gate_text, is_bidi_control, is_exposure, is_production,
    since_items, subject_text, time_text, totals_text, undecided_groups, undecided_servers,
    verdict_label, with_status, DEMO_TEXT,
};
use crate::finding::{CheckResult, Severity, Status};
use comfy_table::{presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

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

    fn verdict_codes(report: &Report) -> &'static str {
        match report.gate.verdict {
            Verdict::Pass => "1;32",
            Verdict::Fail => "1;31",
            Verdict::Incomplete => "1;33",
        }
    }

    /// Appends `text` wrapped at the width at spaces, never inside a word (a word wider than a
    /// line keeps a line of its own), the first line after `indent`. `head` (text, ANSI codes)
    /// opens the first line painted and is never split; the lines after it are indented.
    fn para(&self, out: &mut String, indent: &str, head: Option<(&str, &str)>, text: &str) {
        self.para_styled(out, indent, head, text, None);
    }

    /// [`Painter::para`], with every line painted with `all` when given.
    fn para_styled(
        &self,
        out: &mut String,
        indent: &str,
        head: Option<(&str, &str)>,
        text: &str,
        all: Option<&str>,
    ) {
        // The head's spaces become no-break spaces while wrapping, so it stays on one line.
        let glued = head.map(|(h, _)| h.replace(' ', "\u{a0}"));
        let words = match &glued {
            Some(g) if text.is_empty() => g.clone(),
            Some(g) => format!("{g} {text}"),
            None => text.to_string(),
        };
        let width = usize::from(self.width);
        // A paragraph that opens with a head continues indented under it.
        let rest = if head.is_some() && indent.is_empty() {
            INDENT
        } else {
            indent
        };
        for (n, l) in wrap(&words, width, indent, rest).into_iter().enumerate() {
            let mut l = l;
            if let (0, Some(g), Some((h, codes))) = (n, &glued, head) {
                if let Some(after) = l
                    .strip_prefix(indent)
                    .and_then(|r| r.strip_prefix(g.as_str()))
                {
                    l = format!("{indent}{}{after}", self.ansi(codes, h));
                }
            }
            match all {
                Some(codes) => {
                    let lead = if n == 0 { indent } else { rest };
                    let body = l.strip_prefix(lead).unwrap_or(&l).to_string();
                    let _ = writeln!(out, "{lead}{}", self.ansi(codes, &body));
                }
                None => {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
        }
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
        let l = l.trim_end();
        if !l.is_empty() {
            out.push_str(INDENT);
            out.push_str(l);
        }
        out.push('\n');
    }
}

/// `text` as lines of at most `width` columns, the first after `first`, the others after `rest`,
/// broken only at spaces (runs of spaces inside a line are kept, those at a break dropped).
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::from(first);
    let mut used = first.width();
    let mut empty = true;
    let mut spaces = 0;
    for piece in text.split(' ') {
        if piece.is_empty() {
            spaces += 1;
            continue;
        }
        let w = piece.width();
        let gap = if empty { 0 } else { spaces + 1 };
        if !empty && used + gap + w > width {
            lines.push(std::mem::replace(&mut current, String::from(rest)));
            used = rest.width();
            empty = true;
        }
        if !empty {
            current.push_str(&" ".repeat(spaces + 1));
            used += spaces + 1;
        }
        current.push_str(piece);
        used += w;
        empty = false;
        spaces = 0;
    }
    lines.push(current);
    lines
}

fn subject(r: &CheckResult) -> String {
    line(&subject_text(r))
}

/// Two rows per result: what failed and why, then what to do.
fn findings_table(p: &Painter, results: &[&CheckResult]) -> Table {
    let mut t = p.table();
    for r in results {
        t.add_row(vec![
            p.severity_cell(r.severity),
            Cell::new(line(&r.instance)),
            Cell::new(format!(
                "{} · {}{}\n{}",
                line(r.check.as_str()),
                subject(r),
                change_mark(r).map_or(String::new(), |m| format!(" · {}", m.to_uppercase())),
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

/// `FAIL  2 critical · 1 high · 3 not decided   (gate: high, exit 1)`, the verdict painted.
fn verdict_line(out: &mut String, p: &Painter, report: &Report, short: bool) {
    let undecided = report.summary.totals.error;
    let undecided = if undecided > 0 {
        format!(" · {undecided} not decided")
    } else {
        String::new()
    };
    let label = line(&verdict_label(report));
    let rest = format!("{}{undecided}   {}", fails_text(report), gate_text(report));
    // The closing line stays one line: the gate alone when the whole would wrap.
    let fits = label.width() + 2 + rest.width() <= usize::from(p.width);
    let rest = if short && !fits {
        gate_text(report)
    } else {
        rest
    };
    let codes = Painter::verdict_codes(report);
    // Two spaces after the verdict: the wrap keeps a run of spaces inside a line.
    p.para(out, "", Some((&label, codes)), &format!(" {rest}"));
}

fn header_and_verdict(out: &mut String, p: &Painter, report: &Report) {
    if report.demo {
        p.para(out, "", Some(("DEMO", "1;33")), &format!(" {DEMO_TEXT}"));
    }
    let title = format!(
        "{} {} · audit of {} · {}",
        line(&report.tool.name),
        line(&report.tool.version),
        line(&audit_text(report)),
        time_text(&report.started_at),
    );
    p.para(out, "", None, &title);
    let status = format!(
        "{} · {}",
        line(&evidence_text(report)),
        gate_decided_text(report)
    );
    let warn = !(report.summary.evidence_complete && report.gate.decided);
    p.para_styled(out, "", None, &status, warn.then_some("1;33"));
    out.push('\n');
    verdict_line(out, p, report, false);
    if !report.gate.reason.is_empty() {
        p.para(out, INDENT, None, &line(&report.gate.reason));
    }
    if let Some(since) = baseline_line(report) {
        p.para(out, INDENT, None, &line(&since));
    }
    out.push('\n');
}

fn impact(out: &mut String, p: &Painter, report: &Report) {
    let title = "MID Servers that will go down after the clone:";
    p.para(
        out,
        "",
        Some((title, "1")),
        &line(&super::text::impact_summary(report)),
    );
    if !report.impact.is_empty() {
        let mut t = p.table();
        t.set_header(p.header(&["target", "MID Server", "status", "logs in as", "because"]));
        for i in &report.impact {
            let because = if i.result_status == Status::Waived {
                format!("{} (waived)", text(&i.because))
            } else {
                text(&i.because)
            };
            // The cluster under the MID Server's name: no column of its own at 80 columns.
            let server = match &i.cluster {
                Some(c) => format!("{}\ncluster {}", line(&i.mid_server), line(c)),
                None => line(&i.mid_server),
            };
            t.add_row(vec![
                Cell::new(line(&i.instance)),
                Cell::new(server),
                Cell::new(line(&i.status)),
                Cell::new(line(&i.user_name)),
                Cell::new(because),
            ]);
        }
        emit(out, t, 0);
    }
    for c in &report.cluster_impact {
        let waived = match c.result_status {
            Status::Waived => " (waived)",
            _ => "",
        };
        let text = format!("{}: {}{waived}", line(&c.instance), line(&c.line));
        p.para(out, INDENT, None, &text);
    }
    if !report.impact_undecided.is_empty() {
        let mut t = p.table();
        t.set_header(p.header(&["target", "MID Server", "not decided because"]));
        for u in undecided_servers(report) {
            let server = u
                .mid_server
                .as_deref()
                .map_or_else(|| "(could not be listed)".to_string(), line);
            t.add_row(vec![
                Cell::new(line(&u.instance)),
                Cell::new(server),
                Cell::new(text(&u.why)),
            ]);
        }
        emit(out, t, 0);
    }
    out.push('\n');
}

fn findings(out: &mut String, p: &Painter, report: &Report) {
    let fails = with_status(report, Status::Fail);
    if fails.is_empty() {
        p.para(out, "", Some(("Findings:", "1")), "none");
    } else {
        let _ = writeln!(out, "{}", p.heading("Findings"));
        emit(out, findings_table(p, &fails), 1);
    }
    out.push('\n');
}

/// The results that could not be decided, one paragraph per cause: whose table (or login)
/// failed and how, what to do, and what it left undecided.
fn undecided(out: &mut String, p: &Painter, report: &Report) {
    let groups = undecided_groups(report);
    if groups.is_empty() {
        return;
    }
    let n = report.summary.totals.error;
    let causes = if groups.len() == 1 {
        "1 cause".to_string()
    } else {
        format!("{} causes", groups.len())
    };
    let noun = if n == 1 { "result" } else { "results" };
    p.para(
        out,
        "",
        Some(("Not decided (never counted as a pass):", "1")),
        &format!("{n} {noun}, {causes}"),
    );
    let mut t = p.table();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            t.add_row(vec![Cell::new(""), Cell::new("")]);
        }
        t.add_row(vec![
            Cell::new(line(g.instance)),
            Cell::new(text(&g.what())),
        ]);
        t.add_row(vec![p.dim_cell("fix"), Cell::new(text(&g.fix))]);
        t.add_row(vec![
            Cell::new(""),
            Cell::new(text(&g.members_text(report, 8))),
        ]);
    }
    emit(out, t, 1);
    out.push('\n');
}

/// What the baseline reported as a fail or error and this run does not, one row each.
fn since(out: &mut String, p: &Painter, report: &Report) {
    let items = since_items(report);
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", p.heading("Since the baseline"));
    let mut t = p.table();
    for i in items {
        t.add_row(vec![
            Cell::new(i.change.to_uppercase()),
            p.severity_cell(i.severity),
            Cell::new(line(i.instance)),
            Cell::new(format!(
                "{} · {}\n{}",
                line(i.check),
                line(&i.subject),
                i.how
            )),
        ]);
    }
    emit(out, t, 2);
    out.push('\n');
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

/// Production exposure: the exposure findings of the production instances only (and of those
/// whose production status is unknown).
fn exposure(out: &mut String, p: &Painter, report: &Report) {
    let title = "Production exposure:";
    if !super::text::instance_infos(report).any(|i| i.production != Some(false)) {
        p.para(
            out,
            "",
            Some((title, "1")),
            "no instance of this audit is production",
        );
        out.push('\n');
        return;
    }
    let about_production = |r: &&CheckResult| is_exposure(r) && is_production(report, &r.instance);
    let fails: Vec<&CheckResult> = with_status(report, Status::Fail)
        .into_iter()
        .filter(about_production)
        .collect();
    let undecided = with_status(report, Status::Error)
        .into_iter()
        .filter(about_production)
        .count();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let summary = match (fails.len(), undecided) {
        (0, 0) => "none found".to_string(),
        (0, u) => format!(
            "not decided ({}; see Not decided)",
            count(u, "result", "results")
        ),
        (n, 0) => count(n, "finding", "findings"),
        (n, u) => format!(
            "{}, and {} not decided (see Not decided)",
            count(n, "finding", "findings"),
            count(u, "result", "results")
        ),
    };
    p.para(out, "", Some((title, "1")), &summary);
    if !fails.is_empty() {
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
    p.para(
        out,
        "",
        Some(("Coverage:", "1")),
        &line(&coverage_text(report)),
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

/// The console report as text (ANSI colours only when `opts.color`). Never prints. No line is
/// wider than the width and no word is broken; the verdict opens it and closes it.
pub fn render(report: &Report, opts: &ConsoleOptions) -> String {
    let p = Painter {
        color: opts.color,
        width: opts.width.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH),
    };
    let mut out = String::new();
    header_and_verdict(&mut out, &p, report);
    impact(&mut out, &p, report);
    findings(&mut out, &p, report);
    undecided(&mut out, &p, report);
    since(&mut out, &p, report);
    waived(&mut out, &p, report);
    exposure(&mut out, &p, report);
    coverage(&mut out, &p, report);
    p.para(&mut out, "", None, &totals_text(report));
    out.push('\n');
    verdict_line(&mut out, &p, report, true);
    out
}
