//! The comparison's edge cases: what a baseline must be, which instances it must be of, how
//! results are matched (sys_id, else name; several per key) and marked, and the gate it decides.

use super::*;
use crate::checks::CheckId;
use crate::report::build::GateOptions;
use crate::verdict;
use chrono::TimeZone;
use serde_json::{json, Value};

const PROD: &str = "https://acme.service-now.com";
const DEV: &str = "https://acmedev.service-now.com";

fn result(check: CheckId, status: Status, instance: &str, sys_id: &str, name: &str) -> CheckResult {
    CheckResult {
        check,
        severity: Severity::High,
        status,
        instance: instance.into(),
        subject: Subject::new("sys_user", sys_id, name),
        message: format!("{name} is {status}"),
        remediation: String::new(),
        evidence: Default::default(),
        waiver: None,
        cause: None,
        change: None,
    }
}

/// A report as the baseline file holds it, of `prod` → `dev` at the usual URLs.
fn report_json(version: u32, results: &[CheckResult]) -> Value {
    json!({
        "schema_version": version,
        "run_id": "run-1",
        "started_at": "2026-11-24T09:12:00Z",
        "source": {"name": "prod", "url": PROD, "role": "source"},
        "targets": [{"name": "dev", "url": DEV, "role": "target"}],
        "results": results,
    })
}

fn baseline(results: &[CheckResult]) -> Baseline {
    parse(&report_json(1, results).to_string(), "before.json").expect("a valid baseline")
}

fn ours() -> impl Iterator<Item = (&'static str, &'static str)> {
    [("prod", PROD), ("dev", DEV)].into_iter()
}

/// Marks `now` against `before` (the run read everything); returns the marks and what is gone.
fn marks(
    before: &[CheckResult],
    now: &mut [CheckResult],
) -> (Vec<Option<Change>>, Vec<GoneResult>) {
    let gone = compare(now, &baseline(before), ours(), true);
    (now.iter().map(|r| r.change).collect(), gone)
}

use CheckId::{MidUserInteractiveLogin as Login, MidUserNotPreserved as Kept};
use Status::{Error, Fail, Pass, Waived};

#[test]
fn garbage_an_evidence_file_and_unknown_versions_are_refused_by_name() {
    let refused = |text: &str| parse(text, "prev.json").expect_err(text);
    assert!(matches!(refused("not json"), BaselineError::NotJson { .. }));
    assert!(matches!(
        refused("[1, 2]"),
        BaselineError::NotAReport { .. }
    ));
    assert!(matches!(refused("{}"), BaselineError::NotAReport { .. }));
    for v in [json!(0), json!("3"), json!(2.5), json!(null)] {
        let text = json!({"schema_version": v}).to_string();
        assert!(
            matches!(refused(&text), BaselineError::NotAReport { .. }),
            "{v}"
        );
    }
    let evidence = json!({"schema_version": 1, "instances": {}}).to_string();
    assert!(matches!(refused(&evidence), BaselineError::Evidence { .. }));
    let newer = report_json(REPORT_SCHEMA_VERSION + 1, &[]).to_string();
    let err = refused(&newer);
    assert!(
        matches!(err, BaselineError::Newer { found, .. } if found == u64::from(REPORT_SCHEMA_VERSION) + 1)
    );
    let mut no_results = report_json(2, &[]);
    no_results.as_object_mut().map(|o| o.remove("results"));
    let err = refused(&no_results.to_string());
    assert!(
        matches!(err, BaselineError::Shape { version: 2, .. }),
        "{err}"
    );
    // Every message names the file and says what to give instead.
    for e in [
        refused("x"),
        refused("{}"),
        refused(&evidence),
        refused(&newer),
    ] {
        let text = e.to_string();
        assert!(text.contains("prev.json"), "{text}");
        assert!(text.contains("preclone"), "{text}");
    }
}

#[test]
fn every_version_from_1_to_this_one_is_read() {
    let results = [result(Kept, Fail, "dev", "a1", "mid.dev")];
    for version in OLDEST_BASELINE_VERSION..=REPORT_SCHEMA_VERSION {
        let b = parse(&report_json(version, &results).to_string(), "b.json").expect("readable");
        assert_eq!(b.schema_version, version);
        assert_eq!(b.results.len(), 1);
    }
}

#[test]
fn a_baseline_of_other_instances_is_refused_and_a_renamed_one_is_not() {
    let b = baseline(&[]);
    // The same URLs under other names, the URL spelled differently: the same audit.
    let renamed = [
        ("production", "https://ACME.service-now.com/"),
        ("development", DEV),
    ];
    let (src, tgt) = (renamed[0], renamed[1..].iter().copied());
    assert!(b.check_instances(src, tgt).is_ok());
    let other_source = b.check_instances(
        ("prod", "https://other.service-now.com"),
        [("dev", DEV)].into_iter(),
    );
    let added_target = b.check_instances(
        ("prod", PROD),
        [("dev", DEV), ("test", "https://t.service-now.com")].into_iter(),
    );
    let no_target = b.check_instances(("prod", PROD), std::iter::empty());
    let swapped = b.check_instances(("dev", DEV), [("prod", PROD)].into_iter());
    for refused in [other_source, added_target, no_target, swapped] {
        let text = refused.expect_err("other instances").to_string();
        assert!(
            text.contains("before.json") && text.contains(PROD),
            "{text}"
        );
    }
}

#[test]
fn results_match_by_sys_id_and_by_name_only_without_one() {
    let before = [
        result(Kept, Fail, "dev", "a1", "mid.old.name"),
        result(Kept, Fail, "dev", "", "no-id"),
        result(Kept, Fail, "dev", "c3", "recreated"),
    ];
    let mut now = [
        // Renamed, same record: unchanged.
        result(Kept, Fail, "dev", "a1", "mid.new.name"),
        // No sys_id either time: matched by name.
        result(Kept, Fail, "dev", "", "no-id"),
        // Same name, a new record: new, and the old record is gone.
        result(Kept, Fail, "dev", "d4", "recreated"),
    ];
    let (m, gone) = marks(&before, &mut now);
    assert_eq!(
        m,
        [
            Some(Change::Unchanged),
            Some(Change::Unchanged),
            Some(Change::New)
        ]
    );
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0].subject.sys_id.as_str(), gone[0].change),
        ("c3", Change::Resolved)
    );
}

#[test]
fn check_and_instance_are_part_of_the_key() {
    let before = [result(Kept, Fail, "dev", "a1", "u")];
    let mut now = [
        result(Login, Fail, "dev", "a1", "u"),
        result(Kept, Fail, "prod", "a1", "u"),
    ];
    let (m, gone) = marks(&before, &mut now);
    assert_eq!(m, [Some(Change::New), Some(Change::New)]);
    assert_eq!(gone.len(), 1, "the dev result of the other check is gone");
}

#[test]
fn each_transition_gets_its_mark() {
    use Change::{New, Resolved, Unchanged};
    let cases: [(Option<Status>, Status, Option<Change>); 12] = [
        (None, Fail, Some(New)),
        (None, Error, Some(New)),
        (Some(Pass), Fail, Some(New)),
        (Some(Waived), Fail, Some(New)),
        (Some(Waived), Error, Some(New)),
        (Some(Fail), Fail, Some(Unchanged)),
        (Some(Error), Fail, Some(Unchanged)),
        (Some(Fail), Error, Some(Unchanged)),
        (Some(Fail), Pass, Some(Resolved)),
        (Some(Error), Pass, Some(Resolved)),
        // A waiver accepts a risk; it does not resolve it. No mark, and nothing gone.
        (Some(Fail), Waived, None),
        (Some(Pass), Pass, None),
    ];
    for (before, now_status, want) in cases {
        let before: Vec<CheckResult> = before
            .map(|s| result(Kept, s, "dev", "a1", "u"))
            .into_iter()
            .collect();
        let mut now = [result(Kept, now_status, "dev", "a1", "u")];
        let (m, gone) = marks(&before, &mut now);
        assert_eq!(m[0], want, "{before:?} → {now_status}");
        assert!(gone.is_empty(), "{before:?} → {now_status}: {gone:?}");
    }
}

#[test]
fn a_fail_no_longer_reported_is_resolved_only_after_a_complete_read() {
    let before = [
        result(Kept, Fail, "dev", "a1", "gone.user"),
        result(Kept, Pass, "dev", "b2", "gone.passing"),
    ];
    let complete = compare(&mut [], &baseline(&before), ours(), true);
    assert_eq!(complete.len(), 1, "a pass that is gone is not listed");
    assert_eq!(complete[0].change, Change::Resolved);
    assert_eq!(
        (complete[0].status, complete[0].instance.as_str()),
        (Fail, "dev")
    );
    let partial = compare(&mut [], &baseline(&before), ours(), false);
    assert_eq!(partial[0].change, Change::Unchanged);
}

#[test]
fn gone_results_take_this_runs_instance_name() {
    let b = baseline(&[result(Kept, Fail, "dev", "a1", "u")]);
    let gone = compare(
        &mut [],
        &b,
        [("prod", PROD), ("development", DEV)].into_iter(),
        true,
    );
    assert_eq!(gone[0].instance, "development");
}

#[test]
fn duplicate_keys_are_matched_as_a_multiset() {
    use Change::{New, Resolved, Unchanged};
    let two_fails = [
        result(Kept, Fail, "dev", "", "dup"),
        result(Kept, Fail, "dev", "", "dup"),
    ];
    // One of two fails left: one unchanged, one gone.
    let (m, gone) = marks(&two_fails, &mut [result(Kept, Fail, "dev", "", "dup")]);
    assert_eq!((m, gone.len()), (vec![Some(Unchanged)], 1));
    // A third appears: two unchanged, one new.
    let mut three = [0, 1, 2].map(|_| result(Kept, Fail, "dev", "", "dup"));
    let (m, gone) = marks(&two_fails, &mut three);
    assert_eq!(m.iter().filter(|c| **c == Some(Unchanged)).count(), 2);
    assert_eq!(m.iter().filter(|c| **c == Some(New)).count(), 1);
    assert!(gone.is_empty());
    // One fixed, one waived: the fail pairs with the waiver first, then the pass is resolved.
    let mut mixed = [
        result(Kept, Pass, "dev", "", "dup"),
        result(Kept, Waived, "dev", "", "dup"),
    ];
    let (m, gone) = marks(&two_fails, &mut mixed);
    assert_eq!(m, [Some(Resolved), None]);
    assert!(gone.is_empty());
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 12, 0)
        .single()
        .expect("time")
}

/// The demo's report at `fail_on`, and a baseline of that very report.
fn demo(fail_on: crate::finding::FailOn, allow_incomplete: bool) -> (Report, Baseline) {
    let evidence = crate::demo::evidence(now(), "run-demo");
    let gate = GateOptions {
        fail_on,
        allow_incomplete,
        access_failure: None,
    };
    let report = verdict::judge(&evidence, &crate::demo::waivers(now()), gate, now());
    let text = crate::report::json::render(&report);
    (
        report,
        parse(&text, "demo.json").expect("a report reads as a baseline"),
    )
}

#[test]
fn gate_on_new_counts_only_new_fails_and_still_every_error() {
    use crate::finding::FailOn;
    let (mut same, b) = demo(FailOn::Medium, false);
    assert!(same
        .results
        .iter()
        .any(|r| r.status == Error && r.severity >= Severity::Medium));
    apply(&mut same, &b, GateOn::New).expect("same instances");
    let summary = same.baseline.as_ref().expect("recorded");
    assert_eq!((summary.new, summary.resolved), (0, 0));
    assert_eq!(
        summary.unchanged,
        same.summary.totals.fail + same.summary.totals.error
    );
    // No new fail, but the unchanged errors still leave the gate undecided.
    assert_eq!(
        same.gate.exit_code,
        Exit::Incomplete,
        "{}",
        same.gate.reason
    );
    assert!(
        same.gate.reason.contains("not counted (--gate-on new)"),
        "{}",
        same.gate.reason
    );

    let (mut allowed, b) = demo(FailOn::Medium, true);
    apply(&mut allowed, &b, GateOn::New).expect("same instances");
    assert_eq!(
        allowed.gate.exit_code,
        Exit::Pass,
        "{}",
        allowed.gate.reason
    );
    let mut all = allowed.clone();
    apply(&mut all, &b, GateOn::All).expect("same instances");
    assert_eq!(
        all.gate.exit_code,
        Exit::GateFailed,
        "the plain gate still fails"
    );

    // A pass turned into a fail is new, and fails the gate on new.
    let (mut changed, b) = demo(FailOn::Medium, true);
    let pass = changed
        .results
        .iter_mut()
        .find(|r| r.status == Pass && r.severity >= Severity::Medium);
    let pass = pass.expect("a medium pass");
    pass.status = Fail;
    apply(&mut changed, &b, GateOn::New).expect("same instances");
    assert_eq!(
        changed.gate.exit_code,
        Exit::GateFailed,
        "{}",
        changed.gate.reason
    );
    assert!(
        changed.gate.reason.starts_with("1 new unwaived failure"),
        "{}",
        changed.gate.reason
    );
    assert_eq!(changed.baseline.as_ref().map(|s| s.new), Some(1));
}

#[test]
fn a_run_that_could_not_read_an_instance_keeps_exit_4() {
    let (mut report, b) = demo(crate::finding::FailOn::High, false);
    report.gate.exit_code = Exit::Access;
    apply(&mut report, &b, GateOn::New).expect("same instances");
    assert_eq!(
        (report.gate.exit_code, report.gate.gate_on),
        (Exit::Access, GateOn::New)
    );
}

#[test]
fn apply_refuses_a_baseline_of_other_instances() {
    let (mut report, _) = demo(crate::finding::FailOn::High, false);
    let other = baseline(&[]);
    let err = apply(&mut report, &other, GateOn::All).expect_err("other instances");
    assert!(matches!(err, BaselineError::OtherInstances { .. }), "{err}");
    assert!(report.baseline.is_none(), "nothing recorded");
}
