//! Every report format rendered from one canonical report full of hostile instance data:
//! snapshots of each format, plus validity checks (XML parses, CSV parses back, HTML has no
//! script and no external URL, Markdown tables hold, JSON round-trips and matches its schema).

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

use chrono::{DateTime, Utc};
use preclone::finding::{AppliedWaiver, CheckResult, ErrorCause, Severity, Status, Subject};
use preclone::output::{write_atomic, WriteError};
use preclone::report::{
    console, csv as csv_report, html, json, junit, markdown, render, ClusterImpact, ConsoleOptions,
    Counts, CoverageRow, Format, Gate, GateOn, Impact, InstanceInfo, InstanceInventory,
    MidServerInventory, RenderError, Report, Summary, Tool, UserInventory, WaiverStatus,
    REPORT_SCHEMA_VERSION,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The canonical report
// ---------------------------------------------------------------------------------------------

const SCRIPT_USER: &str = "<script>alert(1)</script>";
const HYPERLINK_USER: &str = "=HYPERLINK(\"http://x\")";
const PLUS_USER: &str = "+1";
const MINUS_USER: &str = "-2";
const AT_USER: &str = "@SUM(A1)";
const QUOTES_USER: &str = "mid \"quotes\", commas,\nand a newline";
const CONTROL_USER: &str = "ctl\u{1}\u{1b}[31mred";
const JAPANESE_USER: &str = "ユーザー";
const GERMAN_USER: &str = "Müller";
const PIPE_USER: &str = "mid|pipe";

const HOSTILE_NAMES: [&str; 10] = [
    SCRIPT_USER,
    HYPERLINK_USER,
    PLUS_USER,
    MINUS_USER,
    AT_USER,
    QUOTES_USER,
    CONTROL_USER,
    JAPANESE_USER,
    GERMAN_USER,
    PIPE_USER,
];

/// A report word (`"mid-user-not-preserved"`, `"target"`, `"hidden-rows"` ...) as its enum.
fn word<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_value(Value::from(s)).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

#[allow(clippy::too_many_arguments)]
fn result(
    check: &str,
    severity: Severity,
    status: Status,
    instance: &str,
    subject: (&str, &str, &str),
    message: &str,
    remediation: &str,
    evidence: &[(&str, &str)],
) -> CheckResult {
    CheckResult {
        check: word(check),
        severity,
        status,
        instance: instance.into(),
        subject: Subject::new(subject.0, subject.1, subject.2),
        message: message.to_string(),
        remediation: remediation.to_string(),
        evidence: evidence
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        waiver: None,
        cause: None,
        change: None,
    }
}

/// `r`, undecided because `instance` answered `kind` reading `table`.
fn caused(
    mut r: CheckResult,
    kind: &str,
    instance: &str,
    table: &str,
    reason: &str,
) -> CheckResult {
    r.cause = Some(Box::new(ErrorCause {
        kind: word(kind),
        instance: instance.to_string(),
        table: table.to_string(),
        reason: reason.to_string(),
    }));
    r
}

fn waived(mut r: CheckResult, reason: &str, approver: &str, expires: &str) -> CheckResult {
    r.waiver = Some(Box::new(AppliedWaiver {
        reason: reason.to_string(),
        approver: approver.to_string(),
        expires: expires.to_string(),
    }));
    r
}

fn instance(
    name: &str,
    url: &str,
    role: &str,
    production: Option<bool>,
    origin: &str,
    build_tag: Option<&str>,
) -> InstanceInfo {
    InstanceInfo {
        name: name.to_string(),
        url: url.to_string(),
        role: word(role),
        production,
        production_origin: word(origin),
        build_tag: build_tag.map(str::to_string),
        audit_user: Some("preclone.audit".to_string()),
        read: word("complete"),
    }
}

fn user(
    sys_id: &str,
    user_name: &str,
    active: Option<bool>,
    wsa: Option<bool>,
    last_login: &str,
    used_by: &[&str],
) -> UserInventory {
    UserInventory {
        sys_id: sys_id.to_string(),
        user_name: user_name.to_string(),
        sys_class_name: "sys_user".to_string(),
        active,
        locked_out: Some(false),
        web_service_access_only: wsa,
        last_login_time: last_login.to_string(),
        used_by: used_by.iter().map(|s| s.to_string()).collect(),
        has_mid_role: Some(true),
    }
}

fn server(
    sys_id: &str,
    name: &str,
    validated: Option<bool>,
    user_name: &str,
) -> MidServerInventory {
    MidServerInventory {
        sys_id: sys_id.to_string(),
        name: name.to_string(),
        status: "Up".to_string(),
        validated,
        user_name: user_name.to_string(),
        host_name: format!("{name}.corp.example"),
        version: "xanadu-07-02-2024__patch3".to_string(),
        last_refreshed: "2026-11-24 08:59:40".to_string(),
    }
}

fn coverage(
    instance: &str,
    table: &str,
    rows: u64,
    hidden: u64,
    status: &str,
    error: Option<&str>,
) -> CoverageRow {
    CoverageRow {
        instance: instance.to_string(),
        table: table.to_string(),
        requests: 2,
        rows,
        hidden_rows: hidden,
        status: word(status),
        error: error.map(str::to_string),
        cause: (status != "ok").then(|| word("acl")),
    }
}

#[allow(clippy::too_many_arguments)]
fn waiver(
    check: &str,
    instance: &str,
    subject: &str,
    reason: &str,
    approver: &str,
    expires: &str,
    state: &str,
    applied: usize,
) -> WaiverStatus {
    WaiverStatus {
        check: word(check),
        instance: instance.to_string(),
        subject: subject.to_string(),
        reason: reason.to_string(),
        approver: approver.to_string(),
        expires: expires.to_string(),
        state: word(state),
        applied,
    }
}

fn results() -> Vec<CheckResult> {
    use Severity::*;
    use Status::*;
    vec![
        // fail, most severe first
        result(
            "mid-server-will-go-down",
            Critical,
            Fail,
            "dev",
            ("ecc_agent", "a1000000000000000000000000000001", "mid-dev-01"),
            "mid-dev-01 logs in as <script>alert(1)</script>, who will not exist after the clone",
            "fix mid-user-not-preserved for <script>alert(1)</script> first",
            &[("status", "Up"), ("user_name", SCRIPT_USER)],
        ),
        result(
            "mid-user-not-preserved",
            Critical,
            Fail,
            "dev",
            ("sys_user", "u1000000000000000000000000000001", SCRIPT_USER),
            "no applicable sys_user preserver matches it, and prod has no usable user of that name",
            "on prod, add a preserver on sys_user matching it (e.g. roles=mid_server), or create \
             the user in prod (see prod-foreign-mid-user before you do)",
            &[
                ("applicable_preservers", "MID server user has role"),
                ("matched_on_target", "0 of 3 MID-related rows"),
                ("source_copy", "none"),
            ],
        ),
        result(
            "mid-group-lacks-role-in-source",
            Critical,
            Fail,
            "test",
            ("sys_user_group", "g1000000000000000000000000000001", "Discovery MIDs"),
            "mid.disc gets mid_server through group \"Discovery MIDs\", which grants nothing in prod",
            "on prod, grant mid_server to group \"Discovery MIDs\", or preserve the direct grant",
            &[("grant_path", "mid.disc -> Discovery MIDs -> mid_server"), ("user_name", "mid.disc")],
        ),
        result(
            "mid-server-will-go-down",
            Critical,
            Fail,
            "test",
            ("ecc_agent", "a1000000000000000000000000000002", "mid-test-02"),
            "mid-test-02 logs in as mid.disc, who will not hold mid_server after the clone",
            "fix mid-group-lacks-role-in-source for \"Discovery MIDs\" first",
            &[("status", "Up"), ("user_name", "mid.disc")],
        ),
        result(
            "preserver-missing",
            High,
            Fail,
            "prod",
            ("sys_db_object", "", "sys_user_grmember"),
            "dev and test have active MID users, and no preserver applies to sys_user_grmember",
            "add a preserver on sys_user_grmember: user.roles=mid_server (or a group sys_id)",
            &[("targets", "dev, test")],
        ),
        result(
            "prod-foreign-mid-user",
            High,
            Fail,
            "prod",
            ("sys_user", "u2000000000000000000000000000001", HYPERLINK_USER),
            "an active MID user in production that no production MID Server logs in as",
            "deactivate it in prod, or keep it only on the target with a preserver",
            &[("used_by", "dev: mid-dev-01"), ("formula", "=1+2")],
        ),
        result(
            "mid-user-interactive-login",
            Medium,
            Fail,
            "dev",
            ("sys_user", "u1000000000000000000000000000002", PLUS_USER),
            "an active MID user that can log in interactively (web_service_access_only is false)",
            "set web_service_access_only on +1",
            &[("web_service_access_only", "false")],
        ),
        result(
            "waiver-expired",
            Medium,
            Fail,
            "dev",
            ("waiver", "", "mid.legacy"),
            "the waiver for mid-user-dormant on mid.legacy expired on 2026-10-01",
            "renew the waiver with a new expiry and approver, or fix the finding",
            &[("expired", "2026-10-01")],
        ),
        result(
            "preserver-dot-walked",
            Medium,
            Fail,
            "prod",
            (
                "clone_data_preserver",
                "p1000000000000000000000000000001",
                "MID server user has role",
            ),
            "the condition dot-walks, which the legacy clone engine cannot apply",
            "use a condition on the role's sys_id instead of user.roles",
            &[("condition", "user.roles=mid_server^EQ")],
        ),
        result(
            "mid-user-survives-by-source-copy",
            Medium,
            Fail,
            "test",
            ("sys_user", "u3000000000000000000000000000001", QUOTES_USER),
            "the user exists after the clone only as prod's copy, with prod's password",
            "after the clone, reset the MID Server's stored credentials to match",
            &[("source_sys_id", "u9000000000000000000000000000001")],
        ),
        result(
            "mid-user-dormant",
            Low,
            Fail,
            "dev",
            ("sys_user", "u1000000000000000000000000000003", MINUS_USER),
            "no login for 212 days and no MID Server uses it",
            "deactivate -2",
            &[("last_login_time", "2026-04-26 08:00:00")],
        ),
        result(
            "mid-user-shared-by-mid-servers",
            Low,
            Fail,
            "dev",
            ("sys_user", "u1000000000000000000000000000004", PIPE_USER),
            "two MID Servers log in as mid|pipe",
            "give each MID Server | its own user",
            &[("mid_servers", "mid-dev-03, mid-dev-04")],
        ),
        result(
            "mid-user-shared-by-mid-servers",
            Low,
            Fail,
            "test",
            ("sys_user", "u3000000000000000000000000000002", JAPANESE_USER),
            "two MID Servers log in as ユーザー",
            "give each MID Server its own user",
            &[("mid_servers", "mid-test-03, mid-test-04")],
        ),
        // error
        result(
            "mid-user-not-preserved",
            Critical,
            Error,
            "dev",
            ("sys_user", "u1000000000000000000000000000005", CONTROL_USER),
            "the user_name cannot be put safely into an encoded query, so it could not be looked up",
            "rename the user to a plain user_name, then re-run the audit",
            &[("user_name", CONTROL_USER)],
        ),
        result(
            "target-is-production",
            High,
            Error,
            "test",
            ("instance", "", "test"),
            "whether test is production is unknown: glide.installation.production is unreadable",
            "set production = true or false for test in preclone.toml",
            &[],
        ),
        caused(
            result(
                "rows-hidden-by-acl",
                Info,
                Error,
                "dev",
                ("sys_db_object", "", "sys_user_has_role"),
                "X-Total-Count announced 40 rows, 37 arrived",
                "grant the audit user read on sys_user_has_role",
                &[("announced", "40"), ("arrived", "37")],
            ),
            "acl",
            "dev",
            "sys_user_has_role",
            "3 of 40 rows hidden by ACLs",
        ),
        caused(
            result(
                "table-unreadable",
                Info,
                Error,
                "test",
                ("sys_db_object", "", "ecc_agent_config"),
                "403 Forbidden",
                "grant the audit user read on ecc_agent_config",
                &[("http_status", "403")],
            ),
            "acl",
            "test",
            "ecc_agent_config",
            "403 Forbidden: an ACL denies read on ecc_agent_config",
        ),
        // waived
        waived(
            result(
                "mid-membership-not-preserved",
                High,
                Waived,
                "test",
                ("sys_user", "u3000000000000000000000000000003", AT_USER),
                "the membership of @SUM(A1) in \"Discovery MIDs\" is not kept",
                "add a preserver on sys_user_grmember",
                &[("group", "Discovery MIDs")],
            ),
            "Group re-created by the clone runbook, step 7",
            "s.smith",
            "2026-12-10",
        ),
        waived(
            result(
                "prod-shared-mid-credential",
                Medium,
                Waived,
                "prod",
                ("sys_user", "u2000000000000000000000000000002", GERMAN_USER),
                "Müller is an active MID user in prod and on dev",
                "use a different MID user on each instance",
                &[("also_on", "dev")],
            ),
            "Shared by design until CHG0031337 splits the MID cluster",
            "j.doe",
            "2027-03-31",
        ),
        // pass
        result(
            "mid-role-not-preserved",
            Critical,
            Pass,
            "dev",
            ("sys_user", "u1000000000000000000000000000006", "mid.dev"),
            "mid.dev holds mid_server after the clone",
            "",
            &[("grant_path", "direct")],
        ),
        result(
            "mid-user-not-preserved",
            Critical,
            Pass,
            "dev",
            ("sys_user", "u1000000000000000000000000000006", "mid.dev"),
            "kept by preserver MID server user has role",
            "",
            &[],
        ),
        result(
            "mid-user-not-preserved",
            Critical,
            Pass,
            "test",
            ("sys_user", "u3000000000000000000000000000004", "mid.disc"),
            "kept by preserver MID server user has role",
            "",
            &[],
        ),
        result(
            "preserver-missing",
            High,
            Pass,
            "prod",
            ("sys_db_object", "", "sys_user"),
            "a preserver applies to sys_user",
            "",
            &[],
        ),
        result(
            "preserver-missing",
            High,
            Pass,
            "prod",
            ("sys_db_object", "", "sys_user_has_role"),
            "a preserver applies to sys_user_has_role",
            "",
            &[],
        ),
        result(
            "build-mismatch",
            Medium,
            Pass,
            "dev",
            ("instance", "", "dev"),
            "dev runs prod's build",
            "",
            &[("build_tag", "glide-xanadu-07-02-2024__patch3")],
        ),
        result(
            "mid-server-unvalidated",
            Low,
            Pass,
            "prod",
            ("ecc_agent", "a2000000000000000000000000000001", "mid-prod-01"),
            "validated",
            "",
            &[],
        ),
    ]
}

/// The one report every test renders: prod (production, from config) cloned onto dev and test.
fn canonical() -> Report {
    let results = results();
    let mut by_severity: BTreeMap<Severity, Counts> = Severity::ALL
        .iter()
        .map(|s| (*s, Counts::default()))
        .collect();
    let mut totals = Counts::default();
    for r in &results {
        totals.add(r.status);
        by_severity.entry(r.severity).or_default().add(r.status);
    }
    let tag = Some("glide-xanadu-07-02-2024__patch3");
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: Tool {
            name: "preclone".to_string(),
            version: "0.1.0".to_string(),
        },
        demo: false,
        run_id: "20261124T091203Z-4f2a9c".to_string(),
        started_at: time("2026-11-24T09:12:03Z"),
        finished_at: time("2026-11-24T09:12:03.742Z"),
        source: instance(
            "prod",
            "https://acme.service-now.com",
            "source",
            Some(true),
            "config",
            tag,
        ),
        targets: vec![
            instance(
                "dev",
                "https://acmedev.service-now.com",
                "target",
                Some(false),
                "config",
                tag,
            ),
            instance(
                "test",
                "https://acmetest.service-now.com",
                "target",
                None,
                "unknown",
                None,
            ),
        ],
        gate: Gate {
            fail_on: preclone::finding::FailOn::High,
            allow_incomplete: false,
            verdict: word("fail"),
            exit_code: preclone::exit::Exit::GateFailed,
            reason: "6 unwaived failures at or above high".to_string(),
            decided: false,
            gate_on: GateOn::All,
        },
        summary: Summary {
            by_severity,
            totals,
            checks: 31,
            results: results.len(),
            requests: 38,
            duration_ms: 742,
            evidence_complete: false,
        },
        results,
        impact: vec![
            Impact {
                instance: "dev".to_string(),
                mid_server: "mid-dev-01".to_string(),
                status: "Up".to_string(),
                user_name: SCRIPT_USER.to_string(),
                because: "user not kept: no applicable sys_user preserver matches it".to_string(),
                result_status: Status::Fail,
                cluster: Some("DISC-EU".to_string()),
            },
            Impact {
                instance: "test".to_string(),
                mid_server: "mid-test-02".to_string(),
                status: "Up".to_string(),
                user_name: "mid.disc".to_string(),
                because: "role lost: group \"Discovery MIDs\" grants nothing in prod".to_string(),
                result_status: Status::Fail,
                cluster: None,
            },
        ],
        impact_undecided: vec![],
        baseline: None,
        cluster_impact: vec![ClusterImpact {
            instance: "dev".to_string(),
            cluster: "DISC-EU".to_string(),
            cluster_type: "Failover".to_string(),
            members: 2,
            down: 1,
            line: "Failover cluster DISC-EU: 1 of 2 members down".to_string(),
            result_status: Status::Pass,
        }],
        inventory: vec![
            InstanceInventory {
                instance: "prod".to_string(),
                mid_users: Some(vec![
                    user(
                        "u2000000000000000000000000000003",
                        "mid.prod",
                        Some(true),
                        Some(true),
                        "2026-11-24 08:59:40",
                        &["mid-prod-01"],
                    ),
                    user(
                        "u2000000000000000000000000000001",
                        HYPERLINK_USER,
                        Some(true),
                        Some(true),
                        "2026-11-20 10:00:00",
                        &[],
                    ),
                    user(
                        "u2000000000000000000000000000002",
                        GERMAN_USER,
                        Some(true),
                        Some(true),
                        "2026-11-23 17:30:00",
                        &[],
                    ),
                ]),
                mid_servers: Some(vec![server(
                    "a2000000000000000000000000000001",
                    "mid-prod-01",
                    Some(true),
                    "mid.prod",
                )]),
                error: None,
            },
            InstanceInventory {
                instance: "dev".to_string(),
                mid_users: Some(vec![
                    user(
                        "u1000000000000000000000000000001",
                        SCRIPT_USER,
                        Some(true),
                        Some(true),
                        "2026-11-24 08:00:00",
                        &["mid-dev-01"],
                    ),
                    user(
                        "u1000000000000000000000000000002",
                        PLUS_USER,
                        Some(true),
                        Some(false),
                        "",
                        &[],
                    ),
                    user(
                        "u1000000000000000000000000000003",
                        MINUS_USER,
                        Some(true),
                        Some(true),
                        "2026-04-26 08:00:00",
                        &[],
                    ),
                    user(
                        "u1000000000000000000000000000005",
                        CONTROL_USER,
                        None,
                        None,
                        "",
                        &[],
                    ),
                    user(
                        "u1000000000000000000000000000004",
                        PIPE_USER,
                        Some(true),
                        Some(true),
                        "2026-11-24 08:00:00",
                        &["mid-dev-03", "mid-dev-04"],
                    ),
                ]),
                mid_servers: Some(vec![server(
                    "a1000000000000000000000000000001",
                    "mid-dev-01",
                    Some(false),
                    SCRIPT_USER,
                )]),
                error: None,
            },
            InstanceInventory {
                instance: "test".to_string(),
                mid_users: Some(vec![
                    user(
                        "u3000000000000000000000000000004",
                        "mid.disc",
                        Some(true),
                        Some(true),
                        "2026-11-24 08:00:00",
                        &["mid-test-02"],
                    ),
                    user(
                        "u3000000000000000000000000000001",
                        QUOTES_USER,
                        Some(true),
                        Some(true),
                        "",
                        &[],
                    ),
                    user(
                        "u3000000000000000000000000000002",
                        JAPANESE_USER,
                        Some(true),
                        Some(true),
                        "2026-11-24 08:00:00",
                        &["mid-test-03", "mid-test-04"],
                    ),
                    user(
                        "u3000000000000000000000000000003",
                        AT_USER,
                        Some(false),
                        Some(true),
                        "",
                        &[],
                    ),
                ]),
                mid_servers: Some(vec![server(
                    "a1000000000000000000000000000002",
                    "mid-test-02",
                    Some(true),
                    "mid.disc",
                )]),
                error: None,
            },
        ],
        coverage: vec![
            coverage("prod", "clone_data_preserver", 4, 0, "ok", None),
            coverage("prod", "sys_user", 3, 0, "ok", None),
            coverage("prod", "sys_user_has_role", 14, 0, "ok", None),
            coverage("dev", "ecc_agent", 3, 0, "ok", None),
            coverage("dev", "sys_user", 5, 0, "ok", None),
            coverage("dev", "sys_user_has_role", 37, 3, "hidden-rows", None),
            coverage("test", "ecc_agent", 3, 0, "ok", None),
            coverage(
                "test",
                "ecc_agent_config",
                0,
                0,
                "unreadable",
                Some("403 Forbidden: an ACL denies read on ecc_agent_config"),
            ),
            coverage("test", "sys_user", 4, 0, "ok", None),
        ],
        waivers: vec![
            waiver(
                "prod-shared-mid-credential",
                "prod",
                GERMAN_USER,
                "Shared by design until CHG0031337 splits the MID cluster",
                "j.doe",
                "2027-03-31",
                "active",
                1,
            ),
            waiver(
                "mid-membership-not-preserved",
                "test",
                AT_USER,
                "Group re-created by the clone runbook, step 7",
                "s.smith",
                "2026-12-10",
                "expiring",
                1,
            ),
            waiver(
                "mid-user-dormant",
                "dev",
                "mid.legacy",
                "Decommissioned with the old MID host",
                "<b>boss</b>",
                "2026-10-01",
                "expired",
                0,
            ),
        ],
        evidence_digest: "sha256:3f1c0a9e5b7d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
            .to_string(),
    }
}

fn count_status(report: &Report, status: Status) -> usize {
    report.results.iter().filter(|r| r.status == status).count()
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

fn plain_console(report: &Report) -> String {
    console::render(
        report,
        &ConsoleOptions {
            color: false,
            width: Some(100),
        },
    )
}

#[test]
fn snapshot_console() {
    insta::assert_snapshot!("console", plain_console(&canonical()));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", json::render(&canonical()));
}

#[test]
fn snapshot_csv() {
    insta::assert_snapshot!(
        "csv",
        csv_report::render(&canonical()).expect("csv renders")
    );
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("html", html::render(&canonical()).expect("html renders"));
}

#[test]
fn snapshot_junit() {
    insta::assert_snapshot!("junit", junit::render(&canonical()));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!("markdown", markdown::render(&canonical()));
}

#[test]
fn render_dispatches_to_each_format() {
    let r = canonical();
    let opts = ConsoleOptions {
        color: false,
        width: Some(100),
    };
    let go = |f| render(&r, f, &opts).expect("renders");
    assert_eq!(go(Format::Console), plain_console(&r));
    assert_eq!(go(Format::Json), json::render(&r));
    assert_eq!(go(Format::Csv), csv_report::render(&r).expect("csv"));
    assert_eq!(go(Format::Html), html::render(&r).expect("html"));
    assert_eq!(go(Format::Junit), junit::render(&r));
    assert_eq!(go(Format::Markdown), markdown::render(&r));
}

// ---------------------------------------------------------------------------------------------
// Console
// ---------------------------------------------------------------------------------------------

#[test]
fn console_puts_the_verdict_first_then_the_impact_table() {
    let out = plain_console(&canonical());
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("preclone 0.1.0 · audit of prod → dev, test · 2026-11-24 09:12 UTC"),
        "header line: {}",
        lines[0]
    );
    // Then whether every table was read, and whether the gate could be decided.
    assert!(
        lines[1].starts_with(
            "evidence INCOMPLETE: 1 table unreadable, 1 table with rows hidden · gate not decided"
        ),
        "{}",
        lines[1]
    );
    let verdict = lines
        .iter()
        .find(|l| l.starts_with("FAIL  "))
        .unwrap_or_else(|| panic!("no verdict line:\n{out}"));
    assert!(verdict.starts_with("FAIL  "), "verdict line: {verdict}");
    assert!(
        verdict.contains("4 critical · 2 high · 4 medium · 3 low"),
        "{verdict}"
    );
    assert!(verdict.ends_with("(gate: high, exit 1)"), "{verdict}");

    let pos = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{out}"))
    };
    let impact = pos("MID Servers that will go down after the clone");
    let findings = pos("\nFindings\n");
    let exposure = pos("Production exposure");
    let coverage = pos("Coverage: ");
    assert!(pos("FAIL  ") < impact && impact < findings);
    assert!(findings < exposure && exposure < coverage);
    // The impact table: header and one row per MID Server that goes down.
    let table = &out[impact..findings];
    assert!(table.contains("target"), "{table}");
    assert!(table.contains("logs in as"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("dev") && l.contains("mid-dev-01") && l.contains("Up")),
        "{table}"
    );
    assert!(table.lines().any(|l| l.contains("mid-test-02")), "{table}");
    // Every failure carries its fix.
    assert!(
        out.contains("fix   on prod, add a preserver on sys_user"),
        "{out}"
    );
    // Totals, then the verdict again, last.
    assert_eq!(
        lines[lines.len() - 3],
        "31 checks · 26 results: 7 pass · 13 fail · 4 error · 2 waived · 38 requests in 0.7 s"
    );
    assert_eq!(lines.last(), Some(verdict));
    // Exposure failures of production named (not dev's), coverage gaps named.
    assert!(
        out.contains("Production exposure: 1 finding, and 1 result not decided"),
        "{out}"
    );
    assert!(out.contains("unreadable: 403 Forbidden"), "{out}");
    assert!(out.contains("3 of 40 hidden by ACLs"), "{out}");
}

#[test]
fn console_has_no_escape_codes_without_colour_and_neutralises_hostile_ones() {
    let r = canonical();
    let plain = plain_console(&r);
    assert!(
        !plain.contains('\u{1b}') && !plain.contains('\u{1}'),
        "raw control characters reached the terminal"
    );
    assert!(plain.contains("ctl\\u{1}\\u{1b}[31mred"), "{plain}");
    assert!(plain.contains("mid \"quotes\", commas,\\nand a newline"));

    let coloured = console::render(
        &r,
        &ConsoleOptions {
            color: true,
            width: Some(100),
        },
    );
    assert!(coloured.contains("\u{1b}[1;31mFAIL\u{1b}[0m"), "{coloured}");
    // The only escape sequences are ours: the user name's ESC stays escaped text.
    assert!(!coloured.contains("\u{1b}[31mred"));
    assert!(coloured.contains("ctl\\u{1}\\u{1b}[31mred"));
}

#[test]
fn console_fits_the_width_it_is_given() {
    let r = canonical();
    let narrow = console::render(
        &r,
        &ConsoleOptions {
            color: false,
            width: Some(60),
        },
    );
    assert_ne!(narrow, plain_console(&r));
    // Table lines are indented; their display width (at least the char count) stays within 60.
    for line in narrow.lines().filter(|l| l.starts_with("  ")) {
        assert!(
            line.chars().count() <= 60,
            "line wider than 60 columns: {line:?}"
        );
    }
    assert!(narrow.lines().any(|l| l.starts_with("  ")));
}

#[test]
fn console_exposure_is_about_production_only() {
    let out = plain_console(&canonical());
    let exposure: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Production exposure"))
        .take_while(|l| !l.is_empty())
        .collect();
    // prod's finding is there; dev (not production) has an interactive-login finding too, but
    // it belongs to Findings only.
    assert!(
        exposure.iter().any(|l| l.contains("prod-foreign-mid-user")),
        "{exposure:?}"
    );
    assert!(!exposure.iter().any(|l| l.contains("dev ")), "{exposure:?}");
    assert!(out.contains("mid-user-interactive-login · +1"));
}

#[test]
fn the_exit_paragraph_points_above_only_when_the_console_was_shown() {
    let r = canonical();
    let shown = preclone::report::exit_paragraph(&r, true).expect("exit 1 says why");
    assert!(shown.contains("See the findings above"), "{shown}");
    // With -q (or another --format on stdout) there is nothing above to see.
    let quiet = preclone::report::exit_paragraph(&r, false).expect("exit 1 says why");
    assert!(!quiet.contains("findings above"), "{quiet}");
    assert!(quiet.starts_with("preclone: 6 unwaived failures at or above high (exit 1)."));
    let mut pass = canonical();
    pass.gate.exit_code = preclone::exit::Exit::Pass;
    assert_eq!(preclone::report::exit_paragraph(&pass, false), None);
}

#[test]
fn console_says_none_found_when_there_is_nothing_to_report() {
    let mut r = canonical();
    r.results.retain(|x| x.status == Status::Pass);
    r.impact.clear();
    let out = plain_console(&r);
    assert!(out.contains("Production exposure: none found"), "{out}");
    assert!(out.contains("MID Servers that will go down after the clone: none"));
    assert!(out.contains("Findings: none"));
}

// ---------------------------------------------------------------------------------------------
// JSON and its schema
// ---------------------------------------------------------------------------------------------

#[test]
fn json_round_trips() {
    let r = canonical();
    let text = json::render(&r);
    assert_eq!(json::parse(&text).expect("parses"), r);
    assert!(text.ends_with("}\n"));
    // Deterministic: the same report renders byte for byte the same.
    assert_eq!(text, json::render(&r.clone()));
}

#[test]
fn json_parse_refuses_other_schema_versions_and_non_reports() {
    let r = canonical();
    let mut v: Value = serde_json::from_str(&json::render(&r)).expect("json");
    v["schema_version"] = Value::from(REPORT_SCHEMA_VERSION + 1);
    let err = json::parse(&v.to_string()).expect_err("newer schema refused");
    assert!(matches!(err, RenderError::SchemaVersion { .. }), "{err}");
    let newer = format!("schema_version {}", REPORT_SCHEMA_VERSION + 1);
    assert!(err.to_string().contains(&newer), "{err}");

    let err = json::parse("{\"results\": []}").expect_err("no schema_version");
    assert!(matches!(err, RenderError::NotAReport), "{err}");

    let err = json::parse("not json").expect_err("not json");
    assert!(matches!(err, RenderError::JsonSyntax { .. }), "{err}");

    v["schema_version"] = Value::from(REPORT_SCHEMA_VERSION);
    v["results"][0]["severity"] = Value::from("urgent");
    let err = json::parse(&v.to_string()).expect_err("bad severity");
    assert!(matches!(err, RenderError::JsonShape { .. }), "{err}");
}

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canonical_report.json")
}

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(schema_path()).expect("docs/report.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// `docs/report.schema.json` is the schema generated from the report model, written out. After a
/// deliberate change of the model: `PRECLONE_UPDATE_SAMPLES=1 cargo test --test report_formats`.
#[test]
fn the_schema_file_is_generated_from_the_model() {
    let generated = serde_json::to_string_pretty(&preclone::report::report_schema())
        .expect("the schema serialises")
        + "\n";
    if std::env::var_os("PRECLONE_UPDATE_SAMPLES").is_some() {
        std::fs::write(schema_path(), &generated).expect("write docs/report.schema.json");
    }
    let file = std::fs::read_to_string(schema_path()).expect("docs/report.schema.json");
    assert!(
        file == generated,
        "docs/report.schema.json is stale: run `PRECLONE_UPDATE_SAMPLES=1 cargo test --test report_formats` and review the diff"
    );
}

/// The checked-in fixture is exactly today's JSON of the canonical report. To refresh it after a
/// deliberate change: `PRECLONE_UPDATE_FIXTURES=1 cargo test --test report_formats`.
#[test]
fn fixture_is_the_canonical_report() {
    let rendered = json::render(&canonical());
    if std::env::var_os("PRECLONE_UPDATE_FIXTURES").is_some() {
        std::fs::write(fixture_path(), &rendered).expect("write fixture");
    }
    let fixture =
        std::fs::read_to_string(fixture_path()).expect("tests/fixtures/canonical_report.json");
    assert_eq!(fixture, rendered, "fixture is stale");
    assert_eq!(json::parse(&fixture).expect("fixture parses"), canonical());
}

/// Every way `value` breaks the schema, each as `<JSON pointer>: <what>`.
fn schema_errors(value: &Value) -> Vec<String> {
    let validator =
        jsonschema::validator_for(&schema()).expect("the schema is a valid JSON Schema");
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn fixture_and_sample_report_match_the_schema() {
    for path in [
        fixture_path(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-reports/report.json"),
    ] {
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("report")).expect("JSON");
        assert_eq!(
            schema_errors(&report),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
    }

    // The schema requires exactly the keys the report writes, a result's `waiver` only when
    // the result is waived, and its `cause` only when it is an error.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_path()).expect("tests/fixtures/canonical_report.json"),
    )
    .expect("fixture is JSON");
    let schema = schema();
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(names(&schema["required"]), keys(&fixture));
    let result = &schema["$defs"]["CheckResult"];
    let mut result_keys = names(&result["required"]);
    result_keys.insert("waiver".into());
    result_keys.insert("cause".into());
    result_keys.insert("change".into());
    assert_eq!(result_keys, keys(&result["properties"]));
    for optional in ["waiver", "cause", "change"] {
        assert!(!names(&result["required"]).contains(optional), "{optional}");
    }
}

#[test]
fn the_schema_catches_a_bad_report() {
    let mut v: Value = serde_json::from_str(&json::render(&canonical())).expect("json");
    v["results"][0]["severity"] = Value::from("urgent");
    v["results"][1]["check"] = Value::from("no-such-check");
    v["results"][2]
        .as_object_mut()
        .expect("object")
        .remove("remediation");
    v["summary"]["surprise"] = Value::from(1);
    v["gate"]["exit_code"] = Value::from(300);
    v["gate"]["verdict"] = Value::from("maybe");
    v["coverage"][0]["status"] = Value::from("partly");
    let joined = schema_errors(&v).join("\n");
    for expected in [
        "/results/0/severity",
        "/results/1/check",
        "\"remediation\" is a required property",
        "surprise",
        "/gate/exit_code",
        "/gate/verdict",
        "/coverage/0/status",
    ] {
        assert!(joined.contains(expected), "{expected} in:\n{joined}");
    }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

#[test]
fn csv_parses_back_with_hostile_names_intact_and_no_formula_cells() {
    let r = canonical();
    let text = csv_report::render(&r).expect("csv renders");
    assert!(text.starts_with(
        "check,severity,status,instance,subject_table,subject_sys_id,subject_name,message,remediation,evidence,waiver_reason,waiver_approver,waiver_expires,change\r\n"
    ));
    assert!(text.ends_with("\r\n"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, csv_report::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every row parses");
    assert_eq!(rows.len(), r.results.len());

    for (row, result) in rows.iter().zip(&r.results) {
        assert_eq!(row.len(), csv_report::COLUMNS.len());
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula-shaped cell {cell:?}"
            );
        }
        assert_eq!(unneutralise(&row[0]), result.check.as_str());
        assert_eq!(&row[2], result.status.as_str());
        assert_eq!(
            unneutralise(&row[6]),
            csv_report::replace_controls(&result.subject.name)
        );
        assert_eq!(unneutralise(&row[7]), result.message);
    }
    let names: Vec<&str> = rows.iter().map(|row| unneutralise(&row[6])).collect();
    for hostile in HOSTILE_NAMES.iter().filter(|n| **n != CONTROL_USER) {
        assert!(
            names.contains(hostile),
            "{hostile:?} not intact in {names:?}"
        );
    }
    // Control characters a terminal would obey are replaced; the rest of the name stays.
    assert!(names.contains(&"ctl\u{FFFD}\u{FFFD}[31mred"), "{names:?}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{1}'));
    // A quoted field keeps its newline.
    assert!(names.contains(&QUOTES_USER));
    // Neutralised exactly where needed.
    assert!(text.contains("'=HYPERLINK(\"\"http://x\"\")"));
    assert!(rows.iter().any(|row| &row[6] == "'+1"));
    assert!(rows.iter().any(|row| &row[6] == "'-2"));
    assert!(rows.iter().any(|row| &row[6] == "'@SUM(A1)"));
    assert!(rows.iter().any(|row| &row[6] == "mid.dev"));
    // Evidence and waiver columns.
    let waived = rows
        .iter()
        .find(|row| &row[2] == "waived" && &row[6] == "Müller")
        .expect("waived row");
    assert_eq!(&waived[9], "also_on=dev");
    assert_eq!(&waived[11], "j.doe");
    assert_eq!(&waived[12], "2027-03-31");
    let multi = rows
        .iter()
        .find(|row| &row[0] == "mid-user-not-preserved" && &row[2] == "fail")
        .expect("row with several evidence items");
    assert_eq!(
        &multi[9],
        "applicable_preservers=MID server user has role; matched_on_target=0 of 3 MID-related rows; source_copy=none"
    );
}

#[test]
fn csv_columns_are_documented_in_order() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/csv-columns.md"))
            .expect("docs/csv-columns.md");
    for (i, column) in csv_report::COLUMNS.iter().enumerate() {
        let row = format!("| {} | `{}` |", i + 1, column);
        assert!(doc.contains(&row), "docs/csv-columns.md lacks {row:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

#[test]
fn html_is_self_contained_and_escapes_every_value() {
    let out = html::render(&canonical()).expect("html renders");
    assert!(out.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(out.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    let lower = out.to_lowercase();
    assert!(!lower.contains("<script"), "a script element in the HTML");
    assert!(out.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    assert!(!lower.contains("src="), "an external resource in the HTML");
    assert!(!lower.contains("href="), "a link in the HTML");
    assert!(!lower.contains("http://") && !lower.contains("https://"));
    assert!(!lower.contains("url("), "a CSS url() in the HTML");
    assert!(!lower.contains("@import"));
    // Instance URLs are shown, as escaped text.
    assert!(out.contains("https:&#x2F;&#x2F;acme.service-now.com"));
    // Other hostile values, escaped.
    assert!(out.contains("=HYPERLINK(&quot;http:&#x2F;&#x2F;x&quot;)"));
    assert!(out.contains("&lt;b&gt;boss&lt;&#x2F;b&gt;"));
    assert!(!out.contains("<b>boss</b>"));
    assert!(out.contains("ユーザー") && out.contains("Müller"));
    // Control characters from an instance are shown, not passed through.
    assert!(
        !out.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
        "a raw control character in the HTML"
    );
    assert!(out.contains("ctl\\u{1}\\u{1b}[31mred"));
    // Printable on A4, with rows kept whole.
    assert!(out.contains("@page { size: A4;"));
    assert!(out.contains("@media print"));
    assert!(out.contains("page-break-inside: avoid"));
}

#[test]
fn html_sections_come_in_sign_off_order() {
    let out = html::render(&canonical()).expect("html renders");
    let ids = [
        "id=\"verdict\"",
        "id=\"coverage\"",
        "id=\"impact\"",
        "id=\"findings\"",
        "id=\"passes\"",
        "id=\"inventory\"",
        "id=\"waivers\"",
        "id=\"digest\"",
        "id=\"signoff\"",
    ];
    let positions: Vec<usize> = ids
        .iter()
        .map(|id| out.find(id).unwrap_or_else(|| panic!("{id} missing")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let signoff = &out[positions[8]..];
    for line in [
        "Change manager",
        "Security reviewer",
        "signature",
        "date",
        "name",
    ] {
        assert!(signoff.contains(line), "sign-off lacks {line}");
    }
    assert!(out.contains("sha256:3f1c0a9e5b7d2c4e"));
    assert!(out.contains("2026-10-01 (expired)"));
    assert!(out.contains("2026-12-10 (expiring soon)"));
    assert!(out.contains("class=\"badge state-expired\">expired<"));
    // Passes collapse into per-check counts that need no script to open.
    assert!(out.contains("<summary><code>mid-user-not-preserved</code>: 2 passed</summary>"));
    // Findings carry remediation and evidence as a definition list.
    assert!(out.contains("<dt>condition</dt><dd>user.roles=mid_server^EQ</dd>"));
    assert!(out.contains("<strong>Fix:</strong> add a preserver on sys_user_grmember"));
}

#[test]
fn console_and_html_show_bidi_overrides_instead_of_obeying_them() {
    let mut r = canonical();
    r.results[0].subject.name = "mid.\u{202E}txt.exe".into();
    let console_out = plain_console(&r);
    let html_out = html::render(&r).expect("html renders");
    for out in [&console_out, &html_out] {
        assert!(!out.contains('\u{202E}'));
        assert!(out.contains("mid.\\u{202e}txt.exe"));
    }
}

#[test]
fn html_says_when_inventory_could_not_be_read() {
    let mut r = canonical();
    r.inventory[2].mid_servers = None;
    r.inventory[2].error = Some("ecc_agent: 403 <Forbidden>".to_string());
    let out = html::render(&r).expect("html renders");
    let test = &out[out.rfind("<h3>test</h3>").expect("test inventory")..];
    assert!(test.contains("ecc_agent: 403 &lt;Forbidden&gt;"));
    assert!(test.contains("Could not be read."));
}

// ---------------------------------------------------------------------------------------------
// JUnit
// ---------------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct JunitCounts {
    testcases: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    suites: Vec<String>,
    case_names: Vec<String>,
    suite_totals: Vec<(String, String)>,
}

fn parse_junit(xml: &str) -> JunitCounts {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = JunitCounts::default();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let mut attrs = BTreeMap::new();
                for a in e.attributes() {
                    let a = a.expect("valid attribute");
                    let key = String::from_utf8(a.key.as_ref().to_vec()).expect("utf-8 key");
                    let value = a.unescape_value().expect("valid references").into_owned();
                    attrs.insert(key, value);
                }
                match e.name().as_ref() {
                    b"testsuite" => {
                        counts.suites.push(attrs["name"].clone());
                        counts
                            .suite_totals
                            .push((attrs["tests"].clone(), attrs["failures"].clone()));
                    }
                    b"testcase" => {
                        counts.testcases += 1;
                        counts.case_names.push(attrs["name"].clone());
                    }
                    b"failure" => counts.failures += 1,
                    b"error" => counts.errors += 1,
                    b"skipped" => counts.skipped += 1,
                    _ => {}
                }
            }
            Event::Text(t) => {
                t.unescape().expect("valid text references");
            }
            _ => {}
        }
    }
    counts
}

#[test]
fn junit_is_valid_xml_with_one_testcase_per_result() {
    let r = canonical();
    let xml = junit::render(&r);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    // No character XML 1.0 forbids, whatever the instance data held.
    assert!(
        !xml.chars()
            .any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                || c == '\u{FFFE}'
                || c == '\u{FFFF}'),
        "a character XML 1.0 forbids"
    );
    let counts = parse_junit(&xml);
    assert_eq!(counts.testcases, r.results.len());
    // Red only where the gate (high) is: fails and errors below it are passing test cases.
    let at_gate = |x: &&CheckResult, status| x.status == status && x.severity >= Severity::High;
    let count = |status| r.results.iter().filter(|x| at_gate(x, status)).count();
    assert_eq!(counts.failures, count(Status::Fail));
    assert_eq!(counts.errors, count(Status::Error));
    assert!(counts.failures < count_status(&r, Status::Fail));
    assert_eq!(counts.skipped, count_status(&r, Status::Waived));
    assert_eq!(counts.suites, ["prod", "dev", "test"]);
    let dev_tests = r.results.iter().filter(|x| x.instance == "dev").count();
    let dev_fails = r
        .results
        .iter()
        .filter(|x| x.instance == "dev" && at_gate(x, Status::Fail))
        .count();
    assert_eq!(
        counts.suite_totals[1],
        (dev_tests.to_string(), dev_fails.to_string())
    );
    // Attribute values survive exactly (newline included), minus forbidden characters.
    for hostile in HOSTILE_NAMES {
        let expected = junit::strip_invalid_xml_chars(hostile);
        assert!(
            counts.case_names.contains(&expected),
            "{expected:?} not among {:?}",
            counts.case_names
        );
    }
    assert!(counts.case_names.contains(&"ctl[31mred".to_string()));
    assert!(xml.contains(
        "<skipped message=\"waived: Shared by design until CHG0031337 splits the MID cluster (j.doe, expires 2027-03-31)\"/>"
    ));
    assert!(xml.contains("<failure message=\"no applicable sys_user preserver matches it"));
    assert!(xml.contains("type=\"critical\">"));
    // A finding below the gate still reaches the dashboard, as output of a passing case.
    assert!(
        xml.contains("<system-out>low fail, not counted: low is below the gate (--fail-on high)"),
        "{xml}"
    );
}

#[test]
fn junit_survives_anything_an_instance_can_hold() {
    let mut r = canonical();
    let nasty =
        "]]><!-- \u{0}\u{8}\u{b}\u{c}\u{1f}\u{fffe}\u{ffff} & &amp; \"'<x/>\r\n\t\u{7f}\u{10ffff}";
    for x in &mut r.results {
        x.subject.name = nasty.into();
        x.message = nasty.to_string();
        x.evidence.insert(nasty.to_string(), nasty);
    }
    r.source.name = nasty.to_string();
    let counts = parse_junit(&junit::render(&r));
    assert_eq!(counts.testcases, r.results.len());
    let expected = junit::strip_invalid_xml_chars(nasty);
    assert!(counts.case_names.iter().all(|n| *n == expected));
    assert!(!expected.contains('\u{0}') && !expected.contains('\u{fffe}'));
    assert!(expected.contains("\r\n\t"));
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

#[test]
fn markdown_escapes_cells_and_keeps_the_table_whole() {
    let r = canonical();
    let out = markdown::render(&r);
    assert!(out.starts_with("## ❌ preclone: FAIL\n"));
    assert!(out.contains("mid\\|pipe"), "{out}");
    assert!(out.contains("give each MID Server \\| its own user"));
    assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!out.contains("<script"));
    assert!(out.contains("mid \"quotes\", commas,<br>and a newline"));
    // Every table row has exactly the header's cell count (6 unescaped pipes).
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), count_status(&r, Status::Fail) + 2);
    for row in rows {
        let unescaped = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && (i == 0 || row.as_bytes()[i - 1] != b'\\'))
            .count();
        assert_eq!(unescaped, 6, "row split: {row}");
    }
    // The undecided results, one item per cause, each with its fix.
    assert!(
        out.contains("### Not decided (never counted as a pass)"),
        "{out}"
    );
    assert!(
        out.contains("- **test**: ecc\\_agent\\_config: read denied by an ACL"),
        "{out}"
    );
    assert!(out.contains("2 results waived"));
    assert!(out.contains("Evidence digest: sha256:3f1c0a9e"));
}

#[test]
fn markdown_caps_the_findings_table() {
    let mut r = canonical();
    let extra: Vec<CheckResult> = (0..60)
        .map(|i| {
            let mut x = r.results[0].clone();
            x.subject.name = format!("mid-extra-{i:02}").into();
            x
        })
        .collect();
    r.results.extend(extra);
    let total = count_status(&r, Status::Fail);
    let out = markdown::render(&r);
    let rows = out.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(rows, markdown::MAX_ROWS + 1, "header plus the capped rows");
    assert!(
        out.contains(&format!("…and {} more", total - markdown::MAX_ROWS)),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Formats and files
// ---------------------------------------------------------------------------------------------

#[test]
fn format_follows_the_extension_and_the_name() {
    let cases = [
        ("r.html", Some(Format::Html)),
        ("r.HTM", Some(Format::Html)),
        ("dir/r.csv", Some(Format::Csv)),
        ("r.json", Some(Format::Json)),
        ("r.xml", Some(Format::Junit)),
        ("r.md", Some(Format::Markdown)),
        ("r.txt", None),
        ("report", None),
        (".html", None),
    ];
    for (path, expected) in cases {
        assert_eq!(Format::from_extension(Path::new(path)), expected, "{path}");
    }
    for f in Format::ALL {
        assert_eq!(Format::parse(f.as_str()), Some(f));
    }
    assert_eq!(Format::parse("junit"), Some(Format::Junit));
    assert_eq!(Format::parse("xml"), None);
    assert_eq!(Format::parse("HTML"), None);
}

#[test]
fn write_atomic_writes_replaces_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.html");
    write_atomic(&path, "first").expect("writes");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "first");
    write_atomic(&path, "second ユーザー").expect("replaces");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "second ユーザー"
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, ["report.html"]);
}

#[cfg(unix)]
#[test]
fn write_atomic_gives_an_ordinary_mode_and_keeps_a_replaced_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let probe = dir.path().join("probe");
    std::fs::File::create(&probe).expect("probe");
    let ordinary = std::fs::metadata(&probe)
        .expect("probe")
        .permissions()
        .mode()
        & 0o777;
    let path = dir.path().join("report.json");
    write_atomic(&path, "{}").expect("writes");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&path), ordinary);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    write_atomic(&path, "{\"a\": 1}").expect("replaces");
    assert_eq!(mode(&path), 0o640);
}

#[test]
fn write_atomic_names_a_missing_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-dir").join("report.csv");
    let err = write_atomic(&path, "x").expect_err("missing folder");
    assert!(matches!(err, WriteError::NoParentDir { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-dir") && msg.contains("does not exist"),
        "{msg}"
    );
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------------
// A baseline (`--baseline`): every format shows what changed
// ---------------------------------------------------------------------------------------------

/// A subject only the baseline has, named to break every format.
const GONE_NAME: &str = "=gone<b>|*x*</b>";

/// The canonical report compared with a baseline of itself in which the low `mid-user-dormant`
/// fail was a pass (so it is new), the `mid-server-unvalidated` pass was a fail (resolved), and a
/// fail reported a user this run no longer has (gone, resolved: the run read every table).
fn with_baseline(gate_on: GateOn) -> Report {
    let mut before: Value = serde_json::from_str(&json::render(&canonical())).expect("json");
    let results = before["results"].as_array_mut().expect("results");
    for r in results.iter_mut() {
        match r["check"].as_str() {
            Some("mid-user-dormant") => r["status"] = Value::from("pass"),
            Some("mid-server-unvalidated") => r["status"] = Value::from("fail"),
            _ => {}
        }
    }
    let mut gone = results[0].clone();
    gone["subject"]["sys_id"] = Value::from("");
    gone["subject"]["name"] = Value::from(GONE_NAME);
    results.push(gone);
    let baseline = preclone::report::baseline::parse(&before.to_string(), "before.json")
        .expect("a report is a baseline");
    let mut now = canonical();
    now.summary.evidence_complete = true;
    preclone::report::baseline::apply(&mut now, &baseline, gate_on).expect("same instances");
    now
}

#[test]
fn a_baseline_shows_in_the_json_and_matches_the_schema() {
    let r = with_baseline(GateOn::New);
    let b = r.baseline.as_ref().expect("a baseline section");
    let bad = count_status(&r, Status::Fail) + count_status(&r, Status::Error);
    assert_eq!((b.new, b.unchanged, b.resolved), (1, bad - 1, 2));
    assert_eq!(b.gone.len(), 1);
    assert_eq!(b.gone[0].subject.name, GONE_NAME);
    let value: Value = serde_json::from_str(&json::render(&r)).expect("json");
    assert_eq!(schema_errors(&value), Vec::<String>::new());
    assert_eq!(value["gate"]["gate_on"], "new");
    let dormant = value["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|x| x["check"] == "mid-user-dormant")
        .expect("dormant");
    assert_eq!(dormant["change"], "new");
    // Read back whole, as `render` does.
    assert_eq!(json::parse(&json::render(&r)).expect("parses"), r);
}

#[test]
fn a_baseline_shows_in_the_csv_html_markdown_junit_and_console() {
    let r = with_baseline(GateOn::New);
    // CSV: the change column, and the gone result as one more row, neutralised.
    let text = csv_report::render(&r).expect("csv");
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<::csv::StringRecord> = reader.records().map(|x| x.expect("row")).collect();
    assert_eq!(rows.len(), r.results.len() + 1);
    let changes: Vec<&str> = rows.iter().map(|x| &x[13]).collect();
    assert_eq!(changes.iter().filter(|c| **c == "new").count(), 1);
    assert_eq!(changes.iter().filter(|c| **c == "resolved").count(), 2);
    let last = rows.last().expect("the gone row");
    assert_eq!(
        (&last[2], &last[6], &last[13]),
        ("gone", "'=gone<b>|*x*</b>", "resolved")
    );

    // HTML: one `new` badge, the gone subject escaped in the Since section.
    let html = html::render(&r).expect("html");
    assert_eq!(
        html.matches("<span class=\"badge ch-new\">new</span>")
            .count(),
        1
    );
    assert!(html.contains("<section id=\"since\">"));
    assert!(html.contains("=gone&lt;b&gt;|*x*&lt;&#x2F;b&gt;"));
    assert!(!html.contains(GONE_NAME));
    assert!(html.contains("Since the baseline (run 20261124T091203Z-4f2a9c"));

    // Markdown: the line of counts, the mark in the table, the gone subject escaped.
    let md = markdown::render(&r);
    let bad = count_status(&r, Status::Fail) + count_status(&r, Status::Error);
    let line = format!("1 new · {} unchanged · 2 resolved", bad - 1);
    assert!(md.contains(&line), "{md}");
    assert!(
        md.contains("| low · **new** | dev | mid-user-dormant |"),
        "{md}"
    );
    assert!(md.contains("### Since the baseline"));
    assert!(md.contains("=gone&lt;b&gt;\\|\\*x\\*&lt;/b&gt;"), "{md}");

    // JUnit: well-formed; only new fails are red, the rest say why not; the gone case passes.
    let xml = junit::render(&r);
    let counts = parse_junit(&xml);
    assert_eq!(counts.testcases, r.results.len() + 1);
    assert_eq!(counts.failures, 0, "the one new fail is below the gate");
    assert!(
        xml.contains("critical fail, not counted: unchanged since the baseline (--gate-on new)")
    );
    assert!(xml.contains("resolved since the baseline: no longer reported (was fail)"));

    // Console: the line under the verdict, the mark on the finding, the section.
    let console = plain_console(&r);
    assert!(console.contains("Since the baseline (run"), "{console}");
    assert!(console.contains("mid-user-dormant · -2 · NEW"), "{console}");
    assert!(
        console.contains("(gate: high, new only, exit 2)"),
        "{console}"
    );
}

#[test]
fn without_a_complete_read_a_missing_result_is_not_resolved() {
    let mut before: Value = serde_json::from_str(&json::render(&canonical())).expect("json");
    let results = before["results"].as_array_mut().expect("results");
    let mut gone = results[0].clone();
    gone["subject"]["sys_id"] = Value::from("");
    gone["subject"]["name"] = Value::from("not.read");
    results.push(gone);
    let baseline = preclone::report::baseline::parse(&before.to_string(), "before.json")
        .expect("a report is a baseline");
    let mut now = canonical();
    assert!(!now.summary.evidence_complete);
    preclone::report::baseline::apply(&mut now, &baseline, GateOn::All).expect("same instances");
    let b = now.baseline.as_ref().expect("a baseline section");
    assert_eq!(
        (b.resolved, b.gone[0].change),
        (0, preclone::report::Change::Unchanged)
    );
    let html = html::render(&now).expect("html");
    assert!(html.contains("which did not read everything"));
}

#[test]
fn render_reads_the_previous_report_version_and_refuses_version_1() {
    let mut v2: Value = serde_json::from_str(&json::render(&canonical())).expect("json");
    v2["schema_version"] = Value::from(2);
    v2.as_object_mut().map(|o| o.remove("baseline"));
    v2["gate"].as_object_mut().map(|g| g.remove("gate_on"));
    let read = json::parse(&v2.to_string()).expect("version 2 reads");
    assert_eq!(read.schema_version, REPORT_SCHEMA_VERSION);
    assert_eq!(read, canonical());
    v2["schema_version"] = Value::from(1);
    let err = json::parse(&v2.to_string()).expect_err("version 1 refused");
    assert!(err.to_string().contains("versions 2 to 3"), "{err}");
}
