//! The honesty rules the report is built with (PRODUCT.md section 6), on evidence built by hand:
//! `evidence_complete` is about the tables, whatever the gate; an `error` is traced to the
//! instance whose table failed, with the fix its cause calls for; the demo says it is the demo.

use super::estate::*;
use chrono::{TimeZone, Utc};
use preclone::evidence::*;
use preclone::finding::{FailOn, Status};
use preclone::report::Report;
use preclone::verdict::{self, GateOptions};

fn judge(e: &Evidence, fail_on: FailOn) -> Report {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let gate = GateOptions {
        fail_on,
        allow_incomplete: false,
        access_failure: None,
    };
    verdict::judge(e, &[], gate, now)
}

fn read(table: &str, hidden: u64, error: Option<&str>, cause: Option<Cause>) -> TableRead {
    TableRead {
        table: table.into(),
        requests: 1,
        rows: 1,
        hidden_rows: hidden,
        error: error.map(str::to_string),
        absent: false,
        cause,
    }
}

#[test]
fn evidence_complete_means_every_table_read_in_full_whatever_the_gate() {
    let mut e = estate(MID);
    dev(&mut e).coverage = vec![read("sys_user", 0, None, None)];
    for fail_on in [FailOn::High, FailOn::Info, FailOn::Never] {
        let r = judge(&e, fail_on);
        assert!(r.summary.evidence_complete, "{fail_on}");
        assert!(r.gate.decided, "{fail_on}");
    }
    // One table with a row hidden: incomplete at every gate. Whether the gate could be
    // decided is the other field: its undecided result is info, below high.
    dev(&mut e)
        .coverage
        .push(read("ecc_agent_config", 1, None, None));
    let decided = |fail_on| {
        let r = judge(&e, fail_on);
        assert!(!r.summary.evidence_complete, "{fail_on}");
        assert_eq!(r.targets[0].read.as_str(), "incomplete");
        (r.gate.decided, r.gate.exit_code.code())
    };
    assert_eq!(decided(FailOn::High), (true, 0));
    assert_eq!(decided(FailOn::Info), (false, 2));
    assert_eq!(decided(FailOn::Never), (true, 0));
}

#[test]
fn an_error_names_the_instance_whose_table_failed_and_the_fix_for_its_cause() {
    let reason = "403 Forbidden: Insufficient rights to query records";
    let mut e = estate(MID);
    dev(&mut e).memberships = Fact::error("sys_user_grmember", reason);
    dev(&mut e).coverage = vec![read("sys_user_grmember", 0, Some(reason), Some(Cause::Acl))];
    let r = judge(&e, FailOn::High);
    let errors: Vec<_> = r
        .results
        .iter()
        .filter(|x| x.status == Status::Error)
        .collect();
    assert!(!errors.is_empty());
    for x in errors {
        let cause = x.cause.as_ref().expect("every error has its cause");
        assert_eq!(
            (cause.kind, cause.instance.as_str()),
            (Cause::Acl, "dev"),
            "{x:?}"
        );
        assert!(
            x.remediation
                .starts_with("grant the audit user read access to sys_user_grmember on dev"),
            "{}",
            x.remediation
        );
        if x.evidence.contains_key("reason") {
            assert!(
                x.message.contains("dev's sys_user_grmember unreadable"),
                "{}",
                x.message
            );
        }
    }
}

#[test]
fn the_fix_follows_the_cause_recorded_or_told_by_the_reason() {
    let cases = [
        // Recorded by the client.
        (
            "timed out after 10s, 5 attempts",
            Some(Cause::Timeout),
            Cause::Timeout,
            "--timeout",
        ),
        // Older evidence: told by the reason.
        (
            "answered with an HTML page: the instance may be hibernating or behind SSO",
            None,
            Cause::Html,
            "wake dev if it is hibernating",
        ),
        (
            "401 Unauthorized: User Not Authenticated",
            None,
            Cause::Credentials,
            "check the credentials configured for dev",
        ),
        (
            "timed out after 3s, 5 attempts",
            None,
            Cause::Timeout,
            "a longer --timeout",
        ),
        (
            "3 of 40 rows hidden by ACLs",
            None,
            Cause::Acl,
            "grant the audit user read access to ecc_agent on dev",
        ),
    ];
    for (reason, recorded, kind, fix) in cases {
        let mut e = estate(MID);
        dev(&mut e).mid_servers = Fact::error("ecc_agent", reason);
        dev(&mut e).coverage = vec![read("ecc_agent", 0, Some(reason), recorded)];
        let r = judge(&e, FailOn::High);
        let down = r
            .results
            .iter()
            .find(|x| x.check.as_str() == "mid-server-will-go-down" && x.status == Status::Error)
            .unwrap_or_else(|| panic!("{reason}: mid-server-will-go-down is not undecided"));
        let cause = down.cause.as_ref().expect("cause");
        assert_eq!(cause.kind, kind, "{reason}");
        assert!(
            down.remediation.contains(fix),
            "{reason}: {}",
            down.remediation
        );
        // Its MID Servers could not be listed: not decided, never none.
        assert!(r.impact.is_empty());
        assert_eq!(r.impact_undecided.len(), 1, "{reason}");
        assert_eq!(r.impact_undecided[0].mid_server, None);
        assert_eq!(r.impact_undecided[0].instance, "dev");
    }
}

#[test]
fn the_demo_report_says_it_is_the_demo() {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let demo = preclone::demo::evidence(now, "demo");
    assert!(demo.demo);
    assert!(judge(&demo, FailOn::Never).demo);
    let json = serde_json::to_value(&demo).expect("evidence serialises");
    assert_eq!(json["demo"], true);
    // A live run's evidence and report do not say it, and its evidence file has no such key.
    let live = estate(MID);
    assert!(!judge(&live, FailOn::High).demo);
    let json = serde_json::to_value(&live).expect("evidence serialises");
    assert!(json.get("demo").is_none());
}
