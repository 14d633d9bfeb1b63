//! Builds the one [`Report`] from the evidence, the judged results and the waivers, and decides
//! the CI gate (PRODUCT.md section 3, exit codes).

use super::model::*;
use crate::checks::CheckId;
use crate::evidence::{Evidence, Fact, InstanceEvidence, InstanceRole, ProductionOrigin};
use crate::exit::Exit;
use crate::finding::{CheckResult, FailOn, Severity, Status};
use crate::simulate::World;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The gate: 1 when an unwaived fail is at or above the threshold, else 2 when a check that
/// could reach it ended in error (unless `allow_incomplete`), else 0.
pub fn gate(results: &[CheckResult], fail_on: FailOn, allow_incomplete: bool) -> Gate {
    // Unwaived failures and undecided results at or above the threshold (all of them when the
    // gate is off).
    let threshold = fail_on.threshold();
    let counted = |status: Status| {
        results
            .iter()
            .filter(|r| r.status == status && threshold.is_none_or(|t| r.severity >= t))
            .count()
    };
    let (fails, errors) = (counted(Status::Fail), counted(Status::Error));
    let (verdict, exit_code, reason) = match threshold {
        // The gate is off: exit 0 whatever was found, but the verdict still tells what was found.
        None => (
            if fails > 0 { Verdict::Fail } else if errors > 0 { Verdict::Incomplete } else { Verdict::Pass },
            Exit::Pass,
            format!("the gate is off (--fail-on never): {fails} unwaived failure(s), {errors} undecided result(s), exit 0"),
        ),
        Some(t) if fails > 0 => (
            Verdict::Fail,
            Exit::GateFailed,
            format!("{fails} unwaived failure(s) at or above {t}"),
        ),
        Some(t) if errors > 0 && !allow_incomplete => (
            Verdict::Incomplete,
            Exit::Incomplete,
            format!("evidence incomplete: {errors} check result(s) at or above {t} could not be decided"),
        ),
        Some(t) if errors > 0 => (
            Verdict::Pass,
            Exit::Pass,
            format!("no failure at or above {t}; {errors} undecided result(s) allowed by --allow-incomplete"),
        ),
        Some(t) => (
            Verdict::Pass,
            Exit::Pass,
            format!("nothing unwaived at or above {t}, and every such check was decided"),
        ),
    };
    Gate {
        fail_on,
        allow_incomplete,
        verdict,
        exit_code,
        reason,
    }
}

/// `sha256:<hex>` of the evidence's canonical JSON.
pub fn digest(evidence: &Evidence) -> String {
    let bytes = serde_json::to_vec(evidence).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

fn info(inst: &InstanceEvidence) -> InstanceInfo {
    let (production, origin) = inst.production.resolve();
    InstanceInfo {
        name: inst.name.clone(),
        url: inst.url.clone(),
        role: inst.role,
        production,
        production_origin: origin,
        build_tag: inst.build_tag.get().cloned().flatten(),
        audit_user: inst.audit_user.clone(),
    }
}

fn inventory(inst: &InstanceEvidence) -> InstanceInventory {
    let used = crate::checks::used_by(inst);
    let today = World::today(inst).ok();
    let mut error = Vec::new();
    let mid_users = match &inst.users {
        Fact::Ok { value } => Some(
            value
                .iter()
                .filter(|u| {
                    used.contains_key(&u.user_name)
                        || today
                            .as_ref()
                            .is_some_and(|w| crate::checks::is_mid_role_holder(w, u))
                })
                .map(|u| UserInventory {
                    sys_id: u.sys_id.clone(),
                    user_name: u.user_name.clone(),
                    sys_class_name: u.sys_class_name.clone(),
                    active: u.active,
                    locked_out: u.locked_out,
                    web_service_access_only: u.web_service_access_only,
                    last_login_time: u.last_login_time.clone(),
                    used_by: used.get(&u.user_name).cloned().unwrap_or_default(),
                    has_mid_role: today
                        .as_ref()
                        .is_some_and(|w| w.mid_grant(&u.sys_id).is_some()),
                })
                .collect(),
        ),
        Fact::Error { table, reason } => {
            error.push(format!("{table}: {reason}"));
            None
        }
    };
    let mid_servers = match &inst.mid_servers {
        Fact::Ok { value } => Some(
            value
                .iter()
                .map(|m| MidServerInventory {
                    sys_id: m.sys_id.clone(),
                    name: m.name.clone(),
                    status: m.status.clone(),
                    validated: m.validated,
                    user_name: crate::checks::mid_server_logins(inst, m).join(", "),
                    host_name: m.host_name.clone(),
                    version: m.version.clone(),
                    last_refreshed: m.last_refreshed.clone(),
                })
                .collect(),
        ),
        Fact::Error { table, reason } => {
            error.push(format!("{table}: {reason}"));
            None
        }
    };
    InstanceInventory {
        instance: inst.name.clone(),
        mid_users,
        mid_servers,
        error: (!error.is_empty()).then(|| error.join("; ")),
    }
}

/// Everything the report needs besides the evidence.
pub struct BuildInput {
    pub results: Vec<CheckResult>,
    pub waivers: Vec<WaiverStatus>,
    pub fail_on: FailOn,
    pub allow_incomplete: bool,
    /// When the run ended (the frozen clock in reproducible runs).
    pub finished_at: DateTime<Utc>,
}

pub fn build(evidence: &Evidence, input: BuildInput) -> Report {
    let mut results = input.results;
    crate::checks::sort(&mut results);
    let gate = gate(&results, input.fail_on, input.allow_incomplete);
    let mut by_severity: BTreeMap<Severity, Counts> = Severity::ALL
        .iter()
        .map(|s| (*s, Counts::default()))
        .collect();
    let mut totals = Counts::default();
    for r in &results {
        by_severity.entry(r.severity).or_default().add(r.status);
        totals.add(r.status);
    }
    let threshold = input.fail_on.threshold();
    let evidence_complete = !results
        .iter()
        .any(|r| r.status == Status::Error && threshold.is_none_or(|t| r.severity >= t));
    let checks = {
        let mut ids: Vec<CheckId> = results.iter().map(|r| r.check).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let impact = results
        .iter()
        .filter(|r| {
            r.check == CheckId::MidServerWillGoDown
                && matches!(r.status, Status::Fail | Status::Waived)
        })
        .map(|r| Impact {
            instance: r.instance.clone(),
            mid_server: r.subject.name.clone(),
            status: r.evidence.get("status").cloned().unwrap_or_default(),
            user_name: r.evidence.get("user_name").cloned().unwrap_or_default(),
            because: r.evidence.get("because").cloned().unwrap_or_default(),
            result_status: r.status,
        })
        .collect();
    let mut coverage = Vec::new();
    let mut inventories = Vec::new();
    let order: Vec<&InstanceEvidence> = evidence
        .source()
        .into_iter()
        .chain(evidence.target_instances())
        .collect();
    for inst in &order {
        inventories.push(inventory(inst));
        for t in &inst.coverage {
            coverage.push(CoverageRow {
                instance: inst.name.clone(),
                table: t.table.clone(),
                requests: t.requests,
                rows: t.rows,
                hidden_rows: t.hidden_rows,
                status: if t.error.is_some() {
                    CoverageStatus::Unreadable
                } else if t.hidden_rows > 0 {
                    CoverageStatus::HiddenRows
                } else {
                    CoverageStatus::Ok
                },
                error: t.error.clone(),
            });
        }
    }
    let duration_ms = (input.finished_at - evidence.started_at)
        .num_milliseconds()
        .max(0) as u64;
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: Tool {
            name: "preclone".into(),
            version: evidence.tool_version.clone(),
        },
        run_id: evidence.run_id.clone(),
        started_at: evidence.started_at,
        finished_at: input.finished_at,
        source: evidence.source().map(info).unwrap_or_else(|| InstanceInfo {
            name: evidence.source.clone(),
            url: String::new(),
            role: InstanceRole::Source,
            production: None,
            production_origin: ProductionOrigin::Unknown,
            build_tag: None,
            audit_user: None,
        }),
        targets: evidence.target_instances().map(info).collect(),
        gate,
        summary: Summary {
            by_severity,
            totals,
            checks,
            results: results.len(),
            requests: evidence.requests,
            duration_ms,
            evidence_complete,
        },
        results,
        impact,
        inventory: inventories,
        coverage,
        waivers: input.waivers,
        evidence_digest: digest(evidence),
    }
}
