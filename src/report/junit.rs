//! The JUnit XML report for CI dashboards: one `<testsuite>` per instance, one `<testcase>` per
//! result (`classname` = check id, `name` = subject). The dashboard agrees with the exit code: an
//! unwaived fail at or above the gate → `<failure>`, an error that makes exit 2 → `<error>`,
//! waived → `<skipped>`; a fail or error the gate does not count (below `--fail-on`, the gate
//! off, or `--allow-incomplete`) is a passing test case carrying the finding in `<system-out>`.
//!
//! Written by hand so that every value goes through one path: characters XML 1.0 forbids are
//! dropped, then markup characters (and, in attributes, whitespace that parsers would normalise)
//! become references. The result is well-formed whatever the instances hold.

use super::model::Report;
use super::text::{at_gate, change_mark, instance_order, not_new_text, since_items};
use crate::finding::{CheckResult, Status, Subject};
use std::fmt::Write;

/// Drops every character XML 1.0 does not allow: C0 controls other than tab, newline and
/// carriage return, and U+FFFE / U+FFFF. (Surrogates cannot occur in a Rust `str`.)
pub fn strip_invalid_xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

/// Escapes text content: `&`, `<`, `>` and `\r` (which parsers would otherwise fold into `\n`).
fn text(s: &str) -> String {
    let clean = strip_invalid_xml_chars(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (written between double quotes): markup characters, quotes, and
/// tab / newline / carriage return, which attribute-value normalisation would turn into spaces.
fn attr(s: &str) -> String {
    let clean = strip_invalid_xml_chars(s);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// The name a test case carries: the subject's name, else its sys_id, else its table.
fn case_name(r: &CheckResult) -> &str {
    subject_name(&r.subject)
}

fn subject_name(s: &Subject) -> &str {
    [&s.name, &s.sys_id, &s.table]
        .into_iter()
        .find(|s| !s.is_empty())
        .map(|s| s.as_str())
        .unwrap_or("(unnamed)")
}

/// The body of a `<failure>` or `<error>`: message, what to do, and the evidence.
fn detail(r: &CheckResult) -> String {
    let mut body = format!("{}\n\nfix: {}\n", r.message, r.remediation);
    let subject = &r.subject;
    let _ = write!(
        body,
        "\nsubject: {} (table {}, sys_id {})\n",
        subject.name,
        subject.table,
        if subject.sys_id.is_empty() {
            "-"
        } else {
            &subject.sys_id
        }
    );
    if let Some(mark) = change_mark(r) {
        let _ = writeln!(body, "since the baseline: {mark}");
    }
    if !r.evidence.is_empty() {
        body.push_str("evidence:\n");
        for (k, v) in &r.evidence {
            let _ = writeln!(body, "  {k} = {v}");
        }
    }
    body
}

#[derive(Default)]
struct Totals {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Totals {
    fn add(&mut self, case: Case) {
        self.tests += 1;
        match case {
            Case::Failure => self.failures += 1,
            Case::Error => self.errors += 1,
            Case::Skipped => self.skipped += 1,
            Case::Passed | Case::Noted => {}
        }
    }
}

/// What a result is to the dashboard.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Passed,
    /// A fail or error the gate does not count: passing, with the finding in `<system-out>`.
    Noted,
    Failure,
    Error,
    Skipped,
}

/// The test case a result becomes, so that the suite is red exactly when the exit code says so.
fn case(report: &Report, r: &CheckResult) -> Case {
    match r.status {
        Status::Pass => Case::Passed,
        Status::Waived => Case::Skipped,
        Status::Fail if at_gate(report, r) => Case::Failure,
        Status::Error if at_gate(report, r) && !report.gate.allow_incomplete => Case::Error,
        Status::Fail | Status::Error => Case::Noted,
    }
}

/// Why a fail or error does not count: `below the gate (--fail-on high)`, ...
fn not_counted(report: &Report, r: &CheckResult) -> String {
    let fail_on = report.gate.fail_on;
    if let Some(why) = not_new_text(report, r) {
        why.to_string()
    } else if fail_on.threshold().is_none() {
        "the gate is off (--fail-on never)".to_string()
    } else if r.status == Status::Error && at_gate(report, r) {
        "undecided results allowed by --allow-incomplete".to_string()
    } else {
        format!("{} is below the gate (--fail-on {fail_on})", r.severity)
    }
}

fn testcase(out: &mut String, report: &Report, r: &CheckResult) -> Case {
    let case = case(report, r);
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(r.check.as_str()),
        attr(case_name(r))
    );
    match case {
        Case::Passed => out.push_str("/>\n"),
        Case::Noted => {
            let note = format!(
                "{} {}, not counted: {}\n\n{}",
                r.severity,
                r.status,
                not_counted(report, r),
                detail(r)
            );
            let _ = write!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                text(&note)
            );
        }
        Case::Failure | Case::Error => {
            let tag = if case == Case::Failure {
                "failure"
            } else {
                "error"
            };
            let _ = write!(
                out,
                ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
                attr(&r.message),
                r.severity.as_str(),
                text(&detail(r))
            );
        }
        Case::Skipped => {
            let message = match &r.waiver {
                Some(w) => format!(
                    "waived: {} ({}, expires {})",
                    w.reason, w.approver, w.expires
                ),
                None => "waived".to_string(),
            };
            let _ = write!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attr(&message)
            );
        }
    }
    case
}

/// The whole report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut all = Totals::default();
    let mut suites = String::new();
    for instance in instance_order(report) {
        let results: Vec<&CheckResult> = report
            .results
            .iter()
            .filter(|r| r.instance == instance)
            .collect();
        let mut totals = Totals::default();
        let mut cases = String::new();
        for r in &results {
            let case = testcase(&mut cases, report, r);
            totals.add(case);
            all.add(case);
        }
        // What the baseline reported and this run does not: passing cases that say so.
        let since = since_items(report);
        for i in since.iter().filter(|i| i.gone && i.instance == instance) {
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\">\n      <system-out>{}</system-out>\n    </testcase>\n",
                attr(i.check),
                attr(subject_name(i.raw_subject)),
                text(&format!("{} since the baseline: {}", i.change, i.how))
            );
            totals.add(Case::Passed);
            all.add(Case::Passed);
        }
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">\n{}  </testsuite>\n",
            attr(instance),
            totals.tests,
            totals.failures,
            totals.errors,
            totals.skipped,
            report.started_at.format("%Y-%m-%dT%H:%M:%S"),
            cases
        );
    }
    let seconds = report.summary.duration_ms as f64 / 1000.0;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n{}</testsuites>\n",
        attr(&report.tool.name),
        attr(&report.tool.version),
        all.tests,
        all.failures,
        all.errors,
        all.skipped,
        seconds,
        suites
    )
}
