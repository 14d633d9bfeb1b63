//! Waiver files: validation with file and line, and how waivers change the results of a run.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use preclone::checks::CheckId;
use preclone::finding::{CheckResult, Severity, Status, Subject};
use preclone::waivers::{self, Waiver, WaiverError, WaiverState};
use std::path::Path;

fn parse(text: &str) -> Result<Vec<Waiver>, WaiverError> {
    waivers::parse(text, Path::new("waivers.toml"))
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Err(WaiverError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

fn result(check: &str, status: Status, instance: &str, sys_id: &str, name: &str) -> CheckResult {
    CheckResult {
        check: check.parse().expect("a catalogued check id"),
        severity: Severity::Medium,
        status,
        instance: instance.into(),
        subject: Subject::new("sys_user", sys_id, name),
        message: "m".to_string(),
        remediation: "r".to_string(),
        evidence: Default::default(),
        waiver: None,
        cause: None,
        change: None,
    }
}

fn waiver(check: &str, instance: &str, subject: &str, expires: &str) -> Waiver {
    Waiver {
        check: check.parse().expect("a catalogued check id"),
        instance: instance.to_string(),
        subject: subject.to_string(),
        reason: "accepted until CHG0031337".to_string(),
        approver: "j.doe".to_string(),
        expires: NaiveDate::parse_from_str(expires, "%Y-%m-%d").expect("test date"),
        line: 1,
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s)
        .single()
        .expect("test time")
}

const EXAMPLE: &str = r#"# accepted risks
[[waiver]]
check = "prod-shared-mid-credential"
instance = "prod"
subject = "mid.shared"          # exact name or sys_id; no patterns
reason = "Shared by design until CHG0031337 splits the MID cluster"
approver = "j.doe"
expires = "2027-03-31"

[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "6816f79cc0a8016401c5a33be04be441"
reason = "kept for the DR drill"
approver = "a.smith"
expires = 2026-12-01
"#;

#[test]
fn example_file_parses_with_lines_and_both_date_forms() {
    let loaded = parse(EXAMPLE).expect("valid");
    assert_eq!(loaded.len(), 2);
    assert_eq!(
        loaded[0],
        Waiver {
            check: CheckId::ProdSharedMidCredential,
            instance: "prod".into(),
            subject: "mid.shared".into(),
            reason: "Shared by design until CHG0031337 splits the MID cluster".into(),
            approver: "j.doe".into(),
            expires: NaiveDate::from_ymd_opt(2027, 3, 31).expect("date"),
            line: 2,
        }
    );
    assert_eq!(loaded[1].line, 10);
    assert_eq!(
        loaded[1].expires,
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
    );
}

#[test]
fn empty_file_has_no_waivers() {
    assert_eq!(parse("# nothing yet\n").expect("valid"), Vec::new());
}

#[test]
fn load_reads_the_file_and_names_it_on_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("w.toml");
    std::fs::write(&file, EXAMPLE).expect("write");
    assert_eq!(waivers::load(&file).expect("loads").len(), 2);
    let missing = dir.path().join("absent.toml");
    let err = waivers::load(&missing).expect_err("missing");
    assert!(matches!(err, WaiverError::Read { .. }));
    assert!(err.to_string().contains("absent.toml"));
}

#[test]
fn duplicate_and_unknown_check_name_the_line() {
    let found = problems(
        r#"[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "mid.old"
reason = "r"
approver = "a"
expires = "2030-01-01"

[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "mid.old"
reason = "again"
approver = "b"
expires = "2031-01-01"

[[waiver]]
check = "no-such-check"
instance = "dev"
subject = "x"
reason = "r"
approver = "a"
expires = "2030-01-01"
"#,
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("waivers.toml:9: ")
            && found[0].contains("duplicate of the waiver at line 1"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("waivers.toml:17: ")
            && found[1].contains("unknown check id \"no-such-check\""),
        "{}",
        found[1]
    );
}

#[test]
fn missing_fields_unknown_keys_and_bad_dates_are_all_reported() {
    let err = parse(
        r#"
[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "mid.old"
reason = "r"
expires = "2030-01-01"

[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "mid.other"
reason = "r"
approver = "a"
expires = "31/12/2030"
owner = "me"
"#,
    )
    .expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("waivers.toml:2: waiver 1: missing field `approver`"),
        "{text}"
    );
    assert!(
        text.contains("waivers.toml:9: waiver 2: unknown key \"owner\""),
        "{text}"
    );
    assert!(
        text.contains("waivers.toml:9: waiver 2: `expires` \"31/12/2030\""),
        "{text}"
    );
    assert!(text.contains("preclone checks"), "says what to do: {text}");
    match err {
        WaiverError::Invalid { problems, .. } => assert_eq!(problems.len(), 3, "{problems:#?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn date_with_time_and_unknown_top_level_key_are_refused() {
    let found = problems(
        r#"
version = 2
[[waiver]]
check = "mid-user-dormant"
instance = "dev"
subject = "mid.old"
reason = "r"
approver = "a"
expires = 2030-01-01T00:00:00Z
"#,
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().any(|p| p.contains("\"version\"")));
    assert!(found
        .iter()
        .any(|p| p.starts_with("waivers.toml:3:") && p.contains("without a time")));
}

#[test]
fn malformed_toml_names_file_and_line() {
    let err = parse("[[waiver]]\ncheck = \n").expect_err("syntax");
    assert!(
        matches!(err, WaiverError::Syntax { line: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("waivers.toml:2:"), "{err}");
}

#[test]
fn valid_waiver_turns_fail_into_waived() {
    let mut results = vec![
        result(
            "prod-shared-mid-credential",
            Status::Fail,
            "prod",
            "abc",
            "mid.shared",
        ),
        result(
            "prod-shared-mid-credential",
            Status::Fail,
            "prod",
            "def",
            "mid.other",
        ),
    ];
    let now = at(2027, 1, 1, 12, 0, 0);
    let statuses = waivers::apply(
        &mut results,
        &[waiver(
            "prod-shared-mid-credential",
            "prod",
            "mid.shared",
            "2027-03-31",
        )],
        now,
    );
    assert_eq!(results.len(), 2, "no waiver-* result added");
    assert_eq!(results[0].status, Status::Waived);
    let applied = results[0].waiver.as_ref().expect("waiver recorded");
    assert_eq!(applied.reason, "accepted until CHG0031337");
    assert_eq!(applied.approver, "j.doe");
    assert_eq!(applied.expires, "2027-03-31");
    assert_eq!(results[1].status, Status::Fail, "other subject untouched");
    assert_eq!(results[1].waiver, None);
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state, WaiverState::Active);
    assert_eq!(statuses[0].applied, 1);
    assert_eq!(statuses[0].expires, "2027-03-31");
}

#[test]
fn waiver_never_touches_error_or_pass_results() {
    let mut results = vec![
        result("mid-user-dormant", Status::Error, "dev", "", "mid.old"),
        result("mid-user-dormant", Status::Pass, "dev", "", "mid.old"),
    ];
    let before = results.clone();
    let statuses = waivers::apply(
        &mut results,
        &[waiver("mid-user-dormant", "dev", "mid.old", "2030-01-01")],
        at(2027, 1, 1, 0, 0, 0),
    );
    assert_eq!(results[..2], before[..], "error and pass results unchanged");
    // It waived nothing, so it is reported as unused.
    assert_eq!(statuses[0].state, WaiverState::Unused);
    assert_eq!(statuses[0].applied, 0);
    assert_eq!(results.len(), 3);
    assert_eq!(results[2].check, CheckId::WaiverUnused);
}

#[test]
fn waiver_holds_through_the_end_of_its_day_utc() {
    let w = [waiver("mid-user-dormant", "dev", "mid.old", "2027-03-31")];
    let fresh = || {
        vec![result(
            "mid-user-dormant",
            Status::Fail,
            "dev",
            "",
            "mid.old",
        )]
    };

    let mut last_second = fresh();
    let statuses = waivers::apply(&mut last_second, &w, at(2027, 3, 31, 23, 59, 59));
    assert_eq!(last_second[0].status, Status::Waived);
    assert_eq!(statuses[0].state, WaiverState::Expiring);

    let mut next_day = fresh();
    let statuses = waivers::apply(&mut next_day, &w, at(2027, 4, 1, 0, 0, 0));
    assert_eq!(next_day[0].status, Status::Fail);
    assert_eq!(statuses[0].state, WaiverState::Expired);
}

#[test]
fn expired_waiver_does_not_apply_and_yields_waiver_expired() {
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    let statuses = waivers::apply(
        &mut results,
        &[waiver("mid-user-dormant", "dev", "mid.old", "2026-06-30")],
        at(2026, 7, 15, 8, 0, 0),
    );
    assert_eq!(results[0].status, Status::Fail);
    assert_eq!(results[0].waiver, None);
    assert_eq!(results.len(), 2);
    let expired = &results[1];
    assert_eq!(expired.check, CheckId::WaiverExpired);
    assert_eq!(expired.severity, Severity::Medium);
    assert_eq!(expired.status, Status::Fail);
    assert_eq!(expired.instance, "dev");
    assert_eq!(
        expired.subject,
        Subject::new("waiver", "", "mid-user-dormant / mid.old")
    );
    assert!(expired.message.contains("j.doe"), "{}", expired.message);
    assert!(
        expired.message.contains("2026-06-30"),
        "{}",
        expired.message
    );
    assert_eq!(expired.remediation, "renew or remove the waiver");
    for (key, value) in [
        ("check", "mid-user-dormant"),
        ("subject", "mid.old"),
        ("expires", "2026-06-30"),
        ("approver", "j.doe"),
        ("reason", "accepted until CHG0031337"),
    ] {
        assert_eq!(expired.evidence.get(key), Some(value));
    }
    assert_eq!(statuses[0].state, WaiverState::Expired);
    assert_eq!(statuses[0].applied, 0);
}

#[test]
fn waiver_matching_nothing_yields_waiver_unused() {
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    let statuses = waivers::apply(
        &mut results,
        &[waiver("mid-user-dormant", "test", "mid.old", "2030-01-01")],
        at(2027, 1, 1, 0, 0, 0),
    );
    assert_eq!(
        results[0].status,
        Status::Fail,
        "wrong instance: not waived"
    );
    assert_eq!(results.len(), 2);
    let unused = &results[1];
    assert_eq!(unused.check, CheckId::WaiverUnused);
    assert_eq!(unused.severity, Severity::Low);
    assert_eq!(unused.status, Status::Fail);
    assert_eq!(unused.instance, "test");
    assert_eq!(unused.subject.name, "mid-user-dormant / mid.old");
    assert_eq!(statuses[0].state, WaiverState::Unused);
}

#[test]
fn matching_by_sys_id_works() {
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "6816f79cc0a8016401c5a33be04be441",
        "mid.old",
    )];
    let statuses = waivers::apply(
        &mut results,
        &[waiver(
            "mid-user-dormant",
            "dev",
            "6816f79cc0a8016401c5a33be04be441",
            "2030-01-01",
        )],
        at(2027, 1, 1, 0, 0, 0),
    );
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].status, Status::Waived);
    assert_eq!(statuses[0].applied, 1);
    assert_eq!(statuses[0].state, WaiverState::Active);
}

#[test]
fn empty_sys_id_never_matches_an_empty_subject() {
    // A subject without a sys_id must not be matched through it.
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    let mut w = waiver("mid-user-dormant", "dev", "mid.old", "2030-01-01");
    w.subject = "other".into();
    waivers::apply(&mut results, &[w], at(2027, 1, 1, 0, 0, 0));
    assert_eq!(results[0].status, Status::Fail);
}

#[test]
fn matching_is_case_sensitive() {
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    let statuses = waivers::apply(
        &mut results,
        &[
            waiver("mid-user-dormant", "dev", "MID.OLD", "2030-01-01"),
            waiver("mid-user-dormant", "Dev", "mid.old", "2030-01-01"),
        ],
        at(2027, 1, 1, 0, 0, 0),
    );
    assert_eq!(results[0].status, Status::Fail);
    assert_eq!(statuses[0].state, WaiverState::Unused);
    assert_eq!(statuses[1].state, WaiverState::Unused);
    assert_eq!(results.len(), 3);
}

#[test]
fn expiring_within_thirty_days_is_reported_as_expiring() {
    let w = [waiver("mid-user-dormant", "dev", "mid.old", "2027-01-31")];
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    assert_eq!(
        waivers::apply(&mut results, &w, at(2027, 1, 1, 0, 0, 0))[0].state,
        WaiverState::Expiring
    );
    let mut results = vec![result(
        "mid-user-dormant",
        Status::Fail,
        "dev",
        "",
        "mid.old",
    )];
    assert_eq!(
        waivers::apply(&mut results, &w, at(2026, 12, 31, 0, 0, 0))[0].state,
        WaiverState::Active
    );
}

#[test]
fn inline_array_form_reports_the_line_of_each_entry() {
    let found = problems(
        r#"waiver = [
  { check = "mid-user-dormant", instance = "dev", subject = "a", reason = "r", approver = "x", expires = "2030-01-01" },
  { check = "mid-user-dormant", instance = "dev", subject = "b", reason = "r", approver = "x" },
]
"#,
    );
    assert_eq!(
        found,
        vec!["waivers.toml:3: waiver 2: missing field `expires`".to_string()]
    );
}
