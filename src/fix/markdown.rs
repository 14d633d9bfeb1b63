//! The Markdown file beside the XML: what each record does and keeps, which findings it closes
//! (check id, instance, subject), the steps no record can take, what would newly fail and what
//! stays open. Every value from an instance is escaped ([`cell`]).

use super::{Change, Finding, Fix, PreserverFix};
use crate::report::markdown::cell;
use std::fmt::Write;

/// How a finding is listed: `severity check-id on instance: subject`.
pub fn finding_line(f: &Finding) -> String {
    format!(
        "{} {} on {}: {}",
        f.severity.as_str(),
        f.check,
        cell(&f.instance),
        cell(&f.subject.name)
    )
}

/// `1 record`, `2 records`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn title(i: usize, f: &PreserverFix) -> String {
    let p = &f.preserver;
    let what = match &f.change {
        Some(Change::Create) => "New preserver",
        Some(Change::Update(_)) => "Update of preserver",
        None => "Links of preserver",
    };
    format!(
        "### {}. {what} \"{}\" on {}",
        i + 1,
        cell(&p.name),
        cell(&p.table)
    )
}

fn record_lines(out: &mut String, f: &PreserverFix, stamp: &str) {
    let p = &f.preserver;
    let condition = if p.condition.trim().is_empty() {
        "none (every row)".to_string()
    } else {
        cell(&p.condition)
    };
    match &f.change {
        Some(Change::Create) => {
            let _ = writeln!(
                out,
                "- `clone_data_preserver` `{}`: a new record, condition {condition}, include_in_system_clone true, theme false, default false, in the global scope",
                p.sys_id
            );
        }
        Some(Change::Update(changed)) => {
            let _ = writeln!(
                out,
                "- `clone_data_preserver` `{}`: an update of the existing record by its sys_id, setting {}; it carries every field read ({}), so nothing else of the record changes. Condition: {condition}",
                p.sys_id,
                changed.join(" and "),
                super::xml::fields_written(f, stamp).join(", ")
            );
        }
        None => {
            let _ = writeln!(
                out,
                "- `clone_data_preserver` `{}` is not changed (condition {condition}); only its links below are written",
                p.sys_id
            );
        }
    }
    let _ = writeln!(out, "- Keeps: {}", cell(&f.keeps));
    for l in &f.links {
        let profile = if l.profile_name.is_empty() {
            format!("profile `{}`", cell(&l.profile))
        } else {
            format!(
                "profile \"{}\" (`{}`)",
                cell(&l.profile_name),
                cell(&l.profile)
            )
        };
        let _ = writeln!(
            out,
            "- Linked into {profile} by `clone_profile_preservers` `{}`",
            l.sys_id
        );
    }
    for n in &f.notes {
        let _ = writeln!(out, "- Note: {}", cell(n));
    }
    if f.closes.is_empty() {
        let _ = writeln!(
            out,
            "- Closes no finding on its own today (see the manual steps)"
        );
    } else {
        let _ = writeln!(out, "- Closes:");
        for c in &f.closes {
            let _ = writeln!(out, "  - {}", finding_line(c));
        }
    }
}

fn findings(out: &mut String, heading: &str, intro: &str, list: &[Finding], with_fix: bool) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {heading}\n\n{intro}\n");
    for f in list {
        let _ = write!(out, "- {} — {}", finding_line(f), cell(&f.message));
        if with_fix && !f.remediation.is_empty() {
            let _ = write!(out, " To do: {}", cell(&f.remediation));
        }
        out.push('\n');
    }
}

/// The Markdown of `fix`, whose XML is the file named `xml_name`.
pub fn render(fix: &Fix, xml_name: &str) -> String {
    let mut out = String::new();
    let closed = fix.closed();
    let _ = writeln!(
        out,
        "# preclone fix for {}\n\n{} in `{}` to import on **{}**, from the audit of {} → {} (run {}), written {} UTC. Imported, they close {}. Review the file, import it on {} (a list of the table → Import XML: preservers are defined on the source), then run `preclone audit` again. Nothing was written to any instance.",
        cell(&fix.source),
        count(fix.record_count(), "record"),
        cell(xml_name),
        cell(&fix.source),
        cell(&fix.source),
        fix.targets.iter().map(|t| cell(t)).collect::<Vec<_>>().join(", "),
        cell(&fix.run_id),
        fix.stamp,
        count(closed.len(), "finding"),
        cell(&fix.source),
    );
    let _ = writeln!(out, "\n## Records\n");
    for (i, f) in fix.fixes.iter().enumerate() {
        let _ = writeln!(out, "{}\n", title(i, f));
        record_lines(&mut out, f, &fix.stamp);
        out.push('\n');
    }
    if !fix.manual.is_empty() {
        let _ = writeln!(
            out,
            "## Manual steps\n\nWhat no record in the file can do:\n"
        );
        for (i, m) in fix.manual.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, cell(m));
        }
    }
    findings(
        &mut out,
        "Predicted new findings",
        "Findings (medium or above) that do not fail today and would once the file is imported, as the audit's own checks predict them:",
        &fix.new_fails,
        true,
    );
    let until = if fix.locked > 0 {
        " (those under a locked clone request until it is requested again, as the manual steps say)"
    } else {
        ""
    };
    findings(
        &mut out,
        "Still open after the import",
        &format!("Findings (medium or above) that fail today and would still fail once the file is imported{until}:"),
        &fix.still_open,
        true,
    );
    findings(
        &mut out,
        "Not decided",
        "These results could not be decided, so the file may not close every gap:",
        &fix.undecided,
        false,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckId;
    use crate::evidence::Preserver;
    use crate::finding::{Severity, Subject};
    use crate::fix::Link;

    #[test]
    fn every_value_from_an_instance_is_escaped_and_each_closed_finding_listed() {
        let hostile = "<b>x</b> | `y` & [z](http://e.invalid)\n# h";
        let finding = Finding {
            check: CheckId::MidUserNotPreserved,
            severity: Severity::Critical,
            instance: "dev".into(),
            subject: Subject::new("sys_user", "", hostile),
            message: hostile.into(),
            remediation: String::new(),
        };
        let fix = Fix {
            source: "prod".into(),
            targets: vec!["dev".into()],
            run_id: "r".into(),
            stamp: "2026-11-24 09:00:00".into(),
            fixes: vec![PreserverFix {
                preserver: Preserver {
                    sys_id: "a".repeat(32),
                    name: hostile.into(),
                    table: "sys_user".into(),
                    condition: hostile.into(),
                    include_in_system_clone: Some(false),
                    theme: Some(false),
                    created_on: String::new(),
                    default: Some(false),
                    metadata: Default::default(),
                },
                change: Some(Change::Update(vec!["include_in_system_clone true".into()])),
                links: vec![Link {
                    sys_id: "b".repeat(32),
                    profile: "c".repeat(32),
                    profile_name: hostile.into(),
                }],
                keeps: "k".into(),
                notes: vec![],
                closes: vec![finding.clone()],
            }],
            manual: vec![hostile.into()],
            locked: 0,
            new_fails: vec![],
            still_open: vec![finding],
            undecided: vec![],
        };
        let md = render(&fix, "fix.xml");
        assert!(!md.contains("<b>") && !md.contains("[z](http"), "{md}");
        assert!(!md.contains("\n# h"), "a value starts no heading: {md}");
        assert!(md.contains("`aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`"));
        assert!(md.contains("`bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`"));
        assert!(md.contains("- Closes:\n  - critical mid-user-not-preserved on dev: &lt;b&gt;"));
        assert!(md.contains("include_in_system_clone true"));
        assert!(md.starts_with("# preclone fix for prod\n\n2 records in `fix.xml`"));
    }
}
