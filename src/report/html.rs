//! The HTML report: one self-contained file for sign-off (inline CSS, a strict CSP, no script,
//! no external resource), readable with JavaScript off and printable on A4.
//!
//! The template (`templates/report.html`) is embedded and registered under a name ending in
//! `.html`, so tera escapes every value; it never marks report data `safe`. The view structs
//! below only reshape the [`Report`] (grouping, labels); they add no facts.

use super::error::RenderError;
use super::format::Format;
use super::model::{
    ClusterImpact, Counts, CoverageRow, CoverageStatus, Impact, InstanceInfo, MidServerInventory,
    ReadState, Report, UserInventory, Verdict, WaiverState, WaiverStatus,
};
use super::text::{
    baseline_line, change_mark, coverage_text, evidence_text, fails_text, gate_decided_text,
    gate_text, impact_summary, instance_infos, instance_order, is_bidi_control, is_exposure,
    is_production, since_items, subject_text, time_text, totals_text, undecided_groups,
    undecided_servers, unread_texts, verdict_label, with_status, SinceItem, DEMO_TEXT,
};
use crate::evidence::{InstanceRole, ProductionOrigin};
use crate::finding::{AppliedWaiver, CheckResult, Severity, Status};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../../templates/report.html");

#[derive(Serialize)]
struct Kv<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct ResultView<'a> {
    check: &'static str,
    severity: &'static str,
    status: &'static str,
    instance: &'a str,
    /// The subject as lists show it (`table NAME` for a table).
    subject: String,
    subject_name: &'a str,
    subject_table: &'a str,
    subject_sys_id: &'a str,
    message: &'a str,
    remediation: &'a str,
    evidence: Vec<Kv<'a>>,
    waiver: Option<&'a AppliedWaiver>,
    /// The state of the waiver that matched (`active`, `expiring`, ...), when one is listed.
    waiver_state: Option<&'a str>,
    /// `new`, `unchanged` or `resolved` against the baseline: a CSS class from a fixed set.
    change: Option<&'static str>,
}

impl<'a> ResultView<'a> {
    fn new(r: &'a CheckResult) -> Self {
        ResultView {
            check: r.check.as_str(),
            severity: r.severity.as_str(),
            status: r.status.as_str(),
            instance: &r.instance,
            subject: subject_text(r),
            subject_name: &r.subject.name,
            subject_table: &r.subject.table,
            subject_sys_id: &r.subject.sys_id,
            message: &r.message,
            remediation: &r.remediation,
            evidence: r
                .evidence
                .iter()
                .map(|(k, v)| Kv { key: k, value: v })
                .collect(),
            waiver: r.waiver.as_deref(),
            waiver_state: None,
            change: change_mark(r),
        }
    }

    /// With the state of the listed waiver that covers this result (same check, instance and
    /// subject name or sys_id), so a waived result shows when its waiver is about to expire.
    fn with_waiver_state(mut self, waivers: &'a [WaiverStatus]) -> Self {
        self.waiver_state = waivers
            .iter()
            .find(|w| {
                w.check.as_str() == self.check
                    && w.instance == self.instance
                    && (w.subject == self.subject_name
                        || (!self.subject_sys_id.is_empty() && w.subject == self.subject_sys_id))
            })
            .map(|w| w.state.as_str());
        self
    }
}

#[derive(Serialize)]
struct InstanceView<'a> {
    name: &'a str,
    url: &'a str,
    role: InstanceRole,
    production: &'static str,
    production_origin: ProductionOrigin,
    build_tag: &'a str,
    audit_user: &'a str,
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

impl<'a> InstanceView<'a> {
    fn new(i: &'a InstanceInfo) -> Self {
        InstanceView {
            name: &i.name,
            url: &i.url,
            role: i.role,
            production: yes_no(i.production),
            production_origin: i.production_origin,
            build_tag: i.build_tag.as_deref().unwrap_or("not readable"),
            audit_user: i.audit_user.as_deref().unwrap_or("-"),
        }
    }
}

#[derive(Serialize)]
struct SeverityRow {
    severity: &'static str,
    counts: Counts,
}

/// One instance's line of the coverage summary.
#[derive(Serialize)]
struct CoverageSummary<'a> {
    instance: &'a str,
    /// `complete`, `incomplete`, `failed` or `not-read`.
    read: &'static str,
    tables: usize,
    unreadable: usize,
    hidden: usize,
    rows: u64,
    hidden_rows: u64,
    requests: u64,
}

/// Coverage totals per instance, in the order the instances first appear.
fn coverage_summary(report: &Report) -> Vec<CoverageSummary<'_>> {
    let read = |name: &str| {
        instance_infos(report)
            .find(|i| i.name == name)
            .map_or(ReadState::Complete, |i| i.read)
            .as_str()
    };
    let mut out: Vec<CoverageSummary> = Vec::new();
    for c in &report.coverage {
        let idx = match out.iter().position(|s| s.instance == c.instance) {
            Some(i) => i,
            None => {
                out.push(CoverageSummary {
                    instance: &c.instance,
                    read: read(&c.instance),
                    tables: 0,
                    unreadable: 0,
                    hidden: 0,
                    rows: 0,
                    hidden_rows: 0,
                    requests: 0,
                });
                out.len() - 1
            }
        };
        let s = &mut out[idx];
        s.tables += 1;
        if c.status == CoverageStatus::Unreadable {
            s.unreadable += 1;
        } else if c.hidden_rows > 0 {
            s.hidden += 1;
        }
        s.rows += c.rows;
        s.hidden_rows += c.hidden_rows;
        s.requests += c.requests;
    }
    out
}

#[derive(Serialize)]
struct Group<'a> {
    instance: &'a str,
    results: Vec<ResultView<'a>>,
}

/// The results one cause left undecided.
#[derive(Serialize)]
struct UndecidedView<'a> {
    instance: &'a str,
    what: String,
    fix: String,
    summary: String,
    results: Vec<ResultView<'a>>,
}

/// A MID Server whose fate could not be decided.
#[derive(Serialize)]
struct UndecidedServerView<'a> {
    instance: &'a str,
    mid_server: &'a str,
    why: &'a str,
}

#[derive(Serialize)]
struct PassSubject<'a> {
    instance: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct PassGroup<'a> {
    check: &'static str,
    count: usize,
    subjects: Vec<PassSubject<'a>>,
}

#[derive(Serialize)]
struct UserView<'a> {
    user_name: &'a str,
    sys_id: &'a str,
    sys_class_name: &'a str,
    active: &'static str,
    locked_out: &'static str,
    web_service_access_only: &'static str,
    last_login_time: &'a str,
    used_by: String,
    has_mid_role: &'static str,
}

impl<'a> UserView<'a> {
    fn new(u: &'a UserInventory) -> Self {
        UserView {
            user_name: &u.user_name,
            sys_id: &u.sys_id,
            sys_class_name: &u.sys_class_name,
            active: yes_no(u.active),
            locked_out: yes_no(u.locked_out),
            web_service_access_only: yes_no(u.web_service_access_only),
            last_login_time: &u.last_login_time,
            used_by: u.used_by.join(", "),
            has_mid_role: yes_no(u.has_mid_role),
        }
    }
}

#[derive(Serialize)]
struct ServerView<'a> {
    name: &'a str,
    sys_id: &'a str,
    status: &'a str,
    validated: &'static str,
    user_name: &'a str,
    host_name: &'a str,
    version: &'a str,
    last_refreshed: &'a str,
}

impl<'a> ServerView<'a> {
    fn new(m: &'a MidServerInventory) -> Self {
        ServerView {
            name: &m.name,
            sys_id: &m.sys_id,
            status: &m.status,
            validated: yes_no(m.validated),
            user_name: &m.user_name,
            host_name: &m.host_name,
            version: &m.version,
            last_refreshed: &m.last_refreshed,
        }
    }
}

#[derive(Serialize)]
struct InventoryView<'a> {
    instance: &'a str,
    mid_users: Option<Vec<UserView<'a>>>,
    mid_servers: Option<Vec<ServerView<'a>>>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct WaiverView<'a> {
    check: &'static str,
    instance: &'a str,
    subject: &'a str,
    reason: &'a str,
    approver: &'a str,
    expires: &'a str,
    state: &'static str,
    /// A CSS class from a fixed set, never the raw state.
    state_class: &'static str,
    applied: usize,
}

#[derive(Serialize)]
struct Context<'a> {
    /// The embedded sample estate, said in the title and the heading.
    demo: bool,
    demo_text: &'static str,
    tool_name: &'a str,
    tool_version: &'a str,
    schema_version: u32,
    run_id: &'a str,
    started: String,
    finished: String,
    started_rfc3339: String,
    finished_rfc3339: String,
    verdict: String,
    /// `pass`, `fail` or `incomplete`: a CSS class from a fixed set.
    verdict_class: &'static str,
    fails_text: String,
    gate_text: String,
    gate_reason: &'a str,
    fail_on: &'static str,
    allow_incomplete: bool,
    exit_code: u8,
    evidence_complete: bool,
    evidence_text: String,
    gate_decided: bool,
    gate_decided_text: String,
    undecided_count: usize,
    /// With a baseline: the line of counts, and what it reported that this run does not.
    baseline_line: Option<String>,
    since: Vec<SinceItem<'a>>,
    source_name: &'a str,
    target_names: String,
    instances: Vec<InstanceView<'a>>,
    by_severity: Vec<SeverityRow>,
    totals: Counts,
    totals_text: String,
    coverage_text: String,
    /// The instances not read, each with what happened.
    unread: Vec<String>,
    coverage: &'a [CoverageRow],
    coverage_summary: Vec<CoverageSummary<'a>>,
    /// Tables that were unreadable or had rows hidden: shown first, under Coverage.
    coverage_gaps: Vec<&'a CoverageRow>,
    impact: &'a [Impact],
    cluster_impact: &'a [ClusterImpact],
    /// `none`, `2 will go down`, `not decided for 2 MID Servers`, ...
    impact_summary: String,
    /// `none`, `down` or `undecided`: a CSS class from a fixed set.
    impact_class: &'static str,
    impact_undecided: Vec<UndecidedServerView<'a>>,
    undecided: Vec<UndecidedView<'a>>,
    finding_groups: Vec<Group<'a>>,
    finding_count: usize,
    exposure: Vec<ResultView<'a>>,
    exposure_undecided: usize,
    /// Whether any instance is (or may be) production.
    any_production: bool,
    waived: Vec<ResultView<'a>>,
    passes: Vec<PassGroup<'a>>,
    pass_count: usize,
    inventory: Vec<InventoryView<'a>>,
    waivers: Vec<WaiverView<'a>>,
    evidence_digest: &'a str,
}

/// Failures grouped by instance, most severe first. The instance with the most severe failure
/// comes first (then the source, the targets, the rest), so the page opens on what blocks the
/// clone. Errors are grouped by cause instead ([`undecided`]).
fn finding_groups(report: &Report) -> Vec<Group<'_>> {
    let findings = with_status(report, Status::Fail);
    let mut groups: Vec<(Option<Severity>, Group)> = instance_order(report)
        .into_iter()
        .filter_map(|instance| {
            let worst = findings
                .iter()
                .filter(|r| r.instance == instance && r.status == Status::Fail)
                .map(|r| r.severity)
                .max();
            let results: Vec<ResultView> = findings
                .iter()
                .filter(|r| r.instance == instance)
                .map(|r| ResultView::new(r))
                .collect();
            (!results.is_empty()).then_some((worst, Group { instance, results }))
        })
        .collect();
    // A stable sort keeps the instance order among equals.
    groups.sort_by_key(|(worst, _)| std::cmp::Reverse(*worst));
    groups.into_iter().map(|(_, g)| g).collect()
}

/// Passing results counted per check, with their subjects for the collapsed list.
fn pass_groups(report: &Report) -> Vec<PassGroup<'_>> {
    let mut by_check: BTreeMap<&'static str, Vec<PassSubject>> = BTreeMap::new();
    for r in report.results.iter().filter(|r| r.status == Status::Pass) {
        by_check
            .entry(r.check.as_str())
            .or_default()
            .push(PassSubject {
                instance: &r.instance,
                name: &r.subject.name,
            });
    }
    by_check
        .into_iter()
        .map(|(check, subjects)| PassGroup {
            check,
            count: subjects.len(),
            subjects,
        })
        .collect()
}

/// The undecided results, one card per cause.
fn undecided(report: &Report) -> Vec<UndecidedView<'_>> {
    undecided_groups(report)
        .into_iter()
        .map(|g| UndecidedView {
            instance: g.instance,
            what: g.what(),
            summary: g.members_text(report, 12),
            results: g.results.iter().map(|r| ResultView::new(r)).collect(),
            fix: g.fix,
        })
        .collect()
}

/// The MID Servers whose fate is undecided, a target whose MID Servers could not be listed once.
fn undecided_server_views(report: &Report) -> Vec<UndecidedServerView<'_>> {
    undecided_servers(report)
        .into_iter()
        .map(|u| UndecidedServerView {
            instance: &u.instance,
            mid_server: u.mid_server.as_deref().unwrap_or(""),
            why: &u.why,
        })
        .collect()
}

fn state_class(state: WaiverState) -> &'static str {
    match state {
        WaiverState::Active => "state-active",
        WaiverState::Expiring => "state-expiring",
        WaiverState::Expired => "state-expired",
        WaiverState::Unused => "state-unused",
    }
}

fn context(report: &Report) -> Context<'_> {
    let verdict_class = match report.gate.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Incomplete => "incomplete",
    };
    let finding_groups = finding_groups(report);
    let finding_count = finding_groups.iter().map(|g| g.results.len()).sum();
    let passes = pass_groups(report);
    let pass_count = passes.iter().map(|p| p.count).sum();
    let about_production =
        |r: &&crate::finding::CheckResult| is_exposure(r) && is_production(report, &r.instance);
    let impact_class = if !report.impact_undecided.is_empty() {
        "undecided"
    } else if report
        .impact
        .iter()
        .any(|i| i.result_status == Status::Fail)
    {
        "down"
    } else {
        "none"
    };
    Context {
        demo: report.demo,
        demo_text: DEMO_TEXT,
        tool_name: &report.tool.name,
        tool_version: &report.tool.version,
        schema_version: report.schema_version,
        run_id: &report.run_id,
        started: time_text(&report.started_at),
        finished: time_text(&report.finished_at),
        started_rfc3339: report.started_at.to_rfc3339(),
        finished_rfc3339: report.finished_at.to_rfc3339(),
        verdict: verdict_label(report),
        verdict_class,
        fails_text: fails_text(report),
        gate_text: gate_text(report),
        gate_reason: &report.gate.reason,
        fail_on: report.gate.fail_on.as_str(),
        allow_incomplete: report.gate.allow_incomplete,
        exit_code: report.gate.exit_code.code(),
        evidence_complete: report.summary.evidence_complete,
        evidence_text: evidence_text(report),
        gate_decided: report.gate.decided,
        gate_decided_text: gate_decided_text(report),
        undecided_count: report.summary.totals.error,
        baseline_line: baseline_line(report),
        since: since_items(report),
        source_name: &report.source.name,
        target_names: report
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        instances: std::iter::once(&report.source)
            .chain(report.targets.iter())
            .map(InstanceView::new)
            .collect(),
        by_severity: Severity::ALL
            .iter()
            .map(|s| SeverityRow {
                severity: s.as_str(),
                counts: report
                    .summary
                    .by_severity
                    .get(s)
                    .copied()
                    .unwrap_or_default(),
            })
            .collect(),
        totals: report.summary.totals,
        totals_text: totals_text(report),
        coverage_text: coverage_text(report),
        unread: unread_texts(report),
        coverage: &report.coverage,
        coverage_summary: coverage_summary(report),
        coverage_gaps: report
            .coverage
            .iter()
            .filter(|c| c.status != CoverageStatus::Ok || c.hidden_rows > 0)
            .collect(),
        impact: &report.impact,
        cluster_impact: &report.cluster_impact,
        impact_summary: impact_summary(report),
        impact_class,
        impact_undecided: undecided_server_views(report),
        undecided: undecided(report),
        finding_groups,
        finding_count,
        exposure: with_status(report, Status::Fail)
            .into_iter()
            .filter(about_production)
            .map(ResultView::new)
            .collect(),
        exposure_undecided: with_status(report, Status::Error)
            .into_iter()
            .filter(about_production)
            .count(),
        any_production: instance_infos(report).any(|i| i.production != Some(false)),
        waived: with_status(report, Status::Waived)
            .into_iter()
            .map(|r| ResultView::new(r).with_waiver_state(&report.waivers))
            .collect(),
        passes,
        pass_count,
        inventory: report
            .inventory
            .iter()
            .map(|i| InventoryView {
                instance: &i.instance,
                mid_users: i
                    .mid_users
                    .as_ref()
                    .map(|us| us.iter().map(UserView::new).collect()),
                mid_servers: i
                    .mid_servers
                    .as_ref()
                    .map(|ms| ms.iter().map(ServerView::new).collect()),
                error: i.error.as_deref(),
            })
            .collect(),
        waivers: report
            .waivers
            .iter()
            .map(|w| WaiverView {
                check: w.check.as_str(),
                instance: &w.instance,
                subject: &w.subject,
                reason: &w.reason,
                approver: &w.approver,
                expires: &w.expires,
                state: w.state.as_str(),
                state_class: state_class(w.state),
                applied: w.applied,
            })
            .collect(),
        evidence_digest: &report.evidence_digest,
    }
}

/// Tera's error chain in one line (its top-level message alone rarely says what went wrong).
fn tera_detail(e: &tera::Error) -> String {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

/// The escaping every `{{ }}` goes through: tera's HTML escaping (`& < > " ' /`), plus control
/// characters, bidirectional-override characters and noncharacters shown as visible `\u{..}`
/// text, so an instance value can neither break the markup nor hide or reorder what a reviewer
/// reads.
pub fn escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_bidi_control(c) || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// The HTML report.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let internal = |e: tera::Error| RenderError::Internal {
        format: Format::Html,
        detail: tera_detail(&e),
    };
    let mut tera = tera::Tera::default();
    tera.set_escape_fn(escape);
    // A name ending in `.html` switches autoescape on for every `{{ }}` in the template.
    tera.add_raw_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(internal)?;
    let ctx = tera::Context::from_serialize(context(report)).map_err(internal)?;
    tera.render(TEMPLATE_NAME, &ctx).map_err(internal)
}
