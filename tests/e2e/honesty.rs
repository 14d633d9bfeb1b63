//! The honesty rules of every format (PRODUCT.md section 6), on the runs a new user meets first:
//! a table the audit user may not read (403 on production's `clone_data_preserver`), a refused
//! password, a 403 on one target's table, and a gate at `high` with only medium findings. Each
//! run writes every format at once; the tests read the console (re-rendered at 80 columns from
//! the JSON, as a terminal of that width would get it), the HTML, the Markdown, the JUnit XML and
//! the JSON of the same run.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, inst, Inst, Run};
use preclone::report::{console, json, ConsoleOptions, Report};
use serde_json::Value;
use std::collections::BTreeSet;

/// A production source with the seed preservers; targets dev and test, each with one MID user
/// and its MID Server.
fn estate() -> (FakeState, FakeState, FakeState) {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    (prod, target_dev(), target_test())
}

fn forbidding(state: FakeState, table: &str) -> FakeState {
    state.with_faults(Faults {
        forbidden_tables: BTreeSet::from([table.to_string()]),
        ..Faults::default()
    })
}

/// One run's reports in every format.
pub(crate) struct Reports {
    pub run: Run,
    /// The console on stdout (not a terminal: width 100, no colour).
    pub console: String,
    /// The same report rendered for a terminal 80 columns wide.
    pub console80: String,
    pub html: String,
    pub markdown: String,
    pub junit: String,
    pub json: Value,
    pub report: Report,
}

/// Audits `instances` (the first is the source) writing every format.
pub(crate) fn reports(instances: &[Inst], extra: &[&str]) -> Reports {
    let mut args = vec![
        "--format", "console", "-o", "r.json", "-o", "r.html", "-o", "r.xml", "-o", "r.md",
    ];
    args.extend(extra);
    let run = audit(instances, &args);
    let read = |name: &str| {
        std::fs::read_to_string(run.file(name)).unwrap_or_else(|e| {
            panic!(
                "{name} was not written ({e}); exit {}, stderr:\n{}",
                run.code, run.stderr
            )
        })
    };
    let text = read("r.json");
    let report = json::parse(&text).expect("the JSON report parses back");
    let console80 = console::render(
        &report,
        &ConsoleOptions {
            color: false,
            width: Some(80),
        },
    );
    Reports {
        console: run.stdout.clone(),
        console80,
        html: read("r.html"),
        markdown: read("r.md"),
        junit: read("r.xml"),
        json: serde_json::from_str(&text).expect("JSON"),
        report,
        run,
    }
}

/// Three instances of `estate()`, each possibly with faults, started.
fn trio(prod: FakeState, dev: FakeState, test: FakeState) -> (Vec<FakeInstance>, Vec<Inst>) {
    let fakes: Vec<FakeInstance> = [prod, dev, test]
        .into_iter()
        .map(FakeInstance::start)
        .collect();
    let insts = vec![
        inst("prod", fakes[0].url(), true),
        inst("dev", fakes[1].url(), false),
        inst("test", fakes[2].url(), false),
    ];
    (fakes, insts)
}

/// The acl-denied run: production's `clone_data_preserver` answers 403.
pub(crate) fn acl_denied() -> (Vec<FakeInstance>, Reports) {
    let (prod, dev, test) = estate();
    let (fakes, insts) = trio(forbidding(prod, "clone_data_preserver"), dev, test);
    let r = reports(&insts, &[]);
    (fakes, r)
}

/// `text` with every run of whitespace made one space, so a phrase reads the same however the
/// console wrapped it.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of the console section that starts with `title`, up to the next blank line.
fn section<'a>(console: &'a str, title: &str) -> Vec<&'a str> {
    console
        .lines()
        .skip_while(|l| !l.starts_with(title))
        .take_while(|l| !l.is_empty())
        .collect()
}

/// Nothing at 80 columns is wider than 80, so a terminal breaks no word; the verdict opens the
/// report (after the header) and closes it.
fn assert_fits_80(r: &Reports) {
    for line in r.console80.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}\n{}",
            r.console80
        );
    }
    let verdict = r.report.gate.verdict.as_str().to_uppercase();
    let lines: Vec<&str> = r.console80.lines().collect();
    let first = lines
        .iter()
        .find(|l| l.starts_with(&format!("{verdict}  ")))
        .unwrap_or_else(|| panic!("no verdict line:\n{}", r.console80));
    let exit = format!("exit {})", r.report.gate.exit_code);
    assert!(first.ends_with(&exit), "{first}");
    assert_eq!(
        lines.last(),
        Some(first),
        "the verdict is not the last line"
    );
}

/// Every error result of the JSON names `instance` as the one whose table (or login) failed,
/// with `kind`, and a fix that says what to do there.
fn assert_every_error_caused_by(json: &Value, kind: &str, instance: &str, fix: &str) {
    let errors: Vec<&Value> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "error")
        .collect();
    assert!(!errors.is_empty());
    for e in errors {
        assert_eq!(e["cause"]["kind"], kind, "{e}");
        assert_eq!(e["cause"]["instance"], instance, "{e}");
        let remediation = e["remediation"].as_str().unwrap_or_default();
        assert!(remediation.contains(fix), "{remediation}");
        assert!(
            !remediation.starts_with("make "),
            "the generic fix survived: {remediation}"
        );
    }
}

/// The JUnit agrees with the exit code: `<failure>` only for an unwaived fail at or above the
/// gate, `<error>` only for an error that makes the run incomplete.
fn assert_junit_agrees(r: &Reports) {
    let threshold = r.report.gate.fail_on.threshold();
    let at_gate = |status: &str| {
        r.json["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|x| x["status"] == status)
            .filter(|x| {
                let s: preclone::finding::Severity =
                    serde_json::from_value(x["severity"].clone()).expect("severity");
                threshold.is_some_and(|t| s >= t)
            })
            .count()
    };
    let failures = r.junit.matches("<failure ").count();
    let errors = r.junit.matches("<error ").count();
    assert_eq!(failures, at_gate("fail"), "{}", r.junit);
    let counted_errors = if r.report.gate.allow_incomplete {
        0
    } else {
        at_gate("error")
    };
    assert_eq!(errors, counted_errors);
    if r.run.code == 0 {
        assert_eq!((failures, errors), (0, 0), "a green run with red tests");
    }
}

#[test]
fn an_unreadable_preserver_table_never_reads_as_none_will_go_down() {
    let (_fakes, r) = acl_denied();
    r.run.assert_code(2);
    // Not "none" anywhere: the two MID Servers are named, with why.
    for text in [&r.console, &r.console80, &r.html, &r.markdown] {
        assert!(
            !text.contains("after the clone: none") && !text.contains("None: every MID Server"),
            "a format says none will go down:\n{text}"
        );
    }
    let impact = section(&r.console, "MID Servers that will go down after the clone");
    assert!(
        impact[0].ends_with("not decided for 2 MID Servers"),
        "{impact:?}"
    );
    for server in ["dev     mid-dev-01", "test    mid-test-01"] {
        assert!(
            impact.iter().any(|l| l.contains(server)
                && l.contains("prod's clone_data_preserver: read denied by an ACL")),
            "{server} not named with why: {impact:?}"
        );
    }
    assert!(r.html.contains(
        "<p id=\"impact-line\" class=\"callout impact-undecided\"><strong>MID Servers that will go down after the clone:</strong> not decided for 2 MID Servers</p>"
    ));
    let signoff = &r.html[r.html.find("id=\"signoff\"").expect("sign-off")..];
    assert!(
        signoff.contains("not decided for 2 MID Servers"),
        "the sign-off block does not say it"
    );
    assert!(r.markdown.contains(
        "**MID Servers that will go down after the clone:** not decided for 2 MID Servers"
    ));
    assert!(r
        .markdown
        .contains("- dev **mid-dev-01**: not decided, prod's clone\\_data\\_preserver"));
    // JSON: nothing in the impact list, both servers beside it.
    assert_eq!(r.json["impact"], Value::Array(vec![]));
    let undecided = r.json["impact_undecided"]
        .as_array()
        .expect("impact_undecided");
    let named: Vec<&str> = undecided
        .iter()
        .filter_map(|u| u["mid_server"].as_str())
        .collect();
    assert_eq!(named, ["mid-dev-01", "mid-test-01"]);
    assert!(undecided.iter().all(|u| u["cause"]["instance"] == "prod"));

    // Every error is prod's table, with the fix for an ACL; one paragraph in each text format,
    // naming prod; the message of a target's check names whose table it was.
    assert_every_error_caused_by(
        &r.json,
        "acl",
        "prod",
        "grant the audit user read access to clone_data_preserver on prod",
    );
    let dev_error = r
        .report
        .results
        .iter()
        .find(|x| x.instance == "dev" && x.check.as_str() == "mid-user-not-preserved")
        .expect("dev's mid-user-not-preserved");
    assert!(
        dev_error
            .message
            .contains("prod's clone_data_preserver unreadable (403 Forbidden"),
        "{}",
        dev_error.message
    );
    let not_decided = section(&r.console, "Not decided");
    assert!(not_decided[0].ends_with(", 1 cause"), "{not_decided:?}");
    assert_eq!(
        not_decided
            .iter()
            .filter(|l| l.starts_with("  fix "))
            .count(),
        1
    );
    assert!(not_decided[1].starts_with("  prod  clone_data_preserver: read denied by an ACL (403"));
    assert_eq!(
        r.markdown.matches("<br>**Fix:**").count(),
        1,
        "{}",
        r.markdown
    );
    assert_eq!(
        r.html
            .matches("<article class=\"finding undecided\">")
            .count(),
        1
    );
    // Both fields, both shown: not every table was read, and the gate could not be decided.
    assert_eq!(r.json["summary"]["evidence_complete"], false);
    assert_eq!(r.json["gate"]["decided"], false);
    assert_eq!(r.json["source"]["read"], "incomplete");
    assert_eq!(r.json["schema_version"], 3);
    let status = "evidence INCOMPLETE: 1 table unreadable · gate not decided";
    assert!(r
        .console
        .lines()
        .nth(1)
        .is_some_and(|l| l.starts_with(status)));
    assert!(r.html.contains(
        "evidence INCOMPLETE: 1 table unreadable</span> · <span class=\"warn\">gate not decided"
    ));
    assert!(r
        .markdown
        .contains("**evidence INCOMPLETE: 1 table unreadable** · **gate not decided"));
    assert_fits_80(&r);
    assert_junit_agrees(&r);
}

#[test]
fn a_refused_password_is_one_paragraph_and_the_coverage_says_the_login_failed() {
    let (prod, dev, test) = estate();
    let (_fakes, insts) = trio(prod, dev.with_basic(AUDIT_USER, "another-password"), test);
    let r = reports(&insts, &[]);
    r.run.assert_code(4);
    // One cause, one paragraph: the credentials of dev, and what the stop left unread.
    assert_every_error_caused_by(
        &r.json,
        "credentials",
        "dev",
        "check the credentials configured for dev",
    );
    let not_decided = section(&r.console80, "Not decided");
    assert!(not_decided[0].ends_with(", 1 cause"), "{not_decided:?}");
    assert!(
        not_decided[1].starts_with("  dev  credentials refused (401 Unauthorized"),
        "{not_decided:?}"
    );
    assert_eq!(
        not_decided
            .iter()
            .filter(|l| l.starts_with("  fix "))
            .count(),
        1
    );
    assert!(
        not_decided.len() <= 14,
        "{} lines for one refused password:\n{}",
        not_decided.len(),
        not_decided.join("\n")
    );
    assert!(
        r.console80.lines().count() < 60,
        "{} lines at 80 columns for one refused password:\n{}",
        r.console80.lines().count(),
        r.console80
    );
    assert!(!r.console80.contains("readable to the audit user"));
    // The coverage says the login failed, never "1 of 1 tables read".
    let coverage = flat(&section(&r.console80, "Coverage:").join(" "));
    assert!(
        coverage.starts_with("Coverage: dev: the login failed (401 Unauthorized"),
        "{coverage}"
    );
    assert!(coverage.contains("prod and test: not read, the run stopped at dev"));
    assert!(!coverage.contains("tables read"), "{coverage}");
    assert!(r
        .html
        .contains("<p class=\"warn\">dev: the login failed (401 Unauthorized"));
    assert!(r
        .markdown
        .contains("Coverage: dev: the login failed (401 Unauthorized"));
    let read: Vec<&Value> = std::iter::once(&r.json["source"])
        .chain(r.json["targets"].as_array().expect("targets"))
        .map(|i| &i["read"])
        .collect();
    assert_eq!(read, ["not-read", "failed", "not-read"]);
    // No "none will go down": the MID Servers of dev and test could not even be listed.
    let undecided = "not decided for the MID Servers of dev and test, which could not be listed";
    for text in [&r.console80, &r.html, &r.markdown] {
        let text = flat(text);
        assert!(text.contains(undecided), "{text}");
        assert!(!text.contains("after the clone: none"));
    }
    let unlisted: Vec<&Value> = r.json["impact_undecided"]
        .as_array()
        .expect("impact_undecided")
        .iter()
        .map(|u| &u["instance"])
        .collect();
    assert_eq!(unlisted, ["dev", "test"]);
    assert_eq!(r.json["summary"]["evidence_complete"], false);
    assert_eq!(r.json["gate"]["decided"], false);
    assert_fits_80(&r);
    assert_junit_agrees(&r);
}

#[test]
fn a_403_on_one_targets_table_names_that_target_wherever_it_counts() {
    let (prod, dev, test) = estate();
    let (_fakes, insts) = trio(prod, dev, forbidding(test, "sys_user_grmember"));
    let r = reports(&insts, &[]);
    r.run.assert_code(2);
    assert_every_error_caused_by(
        &r.json,
        "acl",
        "test",
        "grant the audit user read access to sys_user_grmember on test",
    );
    // A check of prod that rests on test's memberships says whose they are.
    let on_prod: Vec<&preclone::finding::CheckResult> = r
        .report
        .results
        .iter()
        .filter(|x| x.instance == "prod" && x.status == preclone::finding::Status::Error)
        .collect();
    assert!(
        !on_prod.is_empty(),
        "no error of prod rests on test's table"
    );
    for e in on_prod {
        assert!(
            e.message.contains("test's sys_user_grmember unreadable"),
            "{}",
            e.message
        );
    }
    let not_decided = section(&r.console, "Not decided");
    assert!(
        not_decided[1].starts_with("  test  sys_user_grmember: read denied by an ACL"),
        "{not_decided:?}"
    );
    assert!(r
        .html
        .contains("<li><strong>test</strong>: sys_user_grmember: read denied by an ACL"));
    assert!(r
        .markdown
        .contains("- **test**: sys\\_user\\_grmember: read denied by an ACL"));
    // Dev was decided: only test's MID Server is undecided.
    let undecided: Vec<&Value> = r.json["impact_undecided"]
        .as_array()
        .expect("impact_undecided")
        .iter()
        .map(|u| &u["mid_server"])
        .collect();
    assert_eq!(undecided, ["mid-test-01"]);
    assert_eq!(r.json["targets"][1]["read"], "incomplete");
    assert_eq!(r.json["targets"][0]["read"], "complete");
    assert_fits_80(&r);
    assert_junit_agrees(&r);
}

#[test]
fn a_gate_at_high_with_only_medium_findings_exits_0_and_the_junit_is_green() {
    let (prod, dev, _) = estate();
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let pair = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let r = reports(&pair, &["--fail-on", "high"]);
    r.run.assert_code(0);
    let fails: Vec<&Value> = r.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| x["status"] == "fail")
        .collect();
    assert!(!fails.is_empty(), "the estate has findings below the gate");
    assert!(fails
        .iter()
        .all(|f| f["severity"] != "high" && f["severity"] != "critical"));
    assert!(!r.junit.contains("<failure"), "{}", r.junit);
    assert!(!r.junit.contains("<error"), "{}", r.junit);
    assert!(r.junit.contains("failures=\"0\" errors=\"0\""));
    // The findings still reach the dashboard, on passing test cases.
    assert_eq!(r.junit.matches("<system-out>").count(), fails.len());
    assert!(r.junit.contains("is below the gate (--fail-on high)"));
    assert_eq!(r.json["summary"]["evidence_complete"], true);
    assert_eq!(r.json["gate"]["decided"], true);
    assert!(r
        .console
        .lines()
        .nth(1)
        .is_some_and(|l| l == "evidence complete · gate decided"));
    assert!(r
        .console
        .contains("MID Servers that will go down after the clone: none\n"));
    assert_fits_80(&r);
    assert_junit_agrees(&r);

    // The same findings at a gate they reach: red, and exit 1.
    let r = reports(&pair, &["--fail-on", "low"]);
    r.run.assert_code(1);
    assert!(r.junit.contains("<failure"));
    assert_junit_agrees(&r);
}
