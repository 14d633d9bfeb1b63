//! Builds the one [`Report`] from the evidence, the judgement with waivers applied, and decides
//! the CI gate (PRODUCT.md section 3, exit codes).

use super::causes;
use super::model::*;
use super::text::cause_text;
use crate::checks::{CheckId, ServerImpact};
use crate::evidence::{Evidence, InstanceEvidence, InstanceRole, ProductionOrigin};
use crate::exit::Exit;
use crate::finding::{CheckResult, FailOn, Severity, Status};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How the gate is to decide, and whether collection already failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateOptions {
    pub fail_on: FailOn,
    /// Exit 0 rather than 2 when some checks could not be decided.
    pub allow_incomplete: bool,
    /// Why an instance could not be read at all, when it could not (exit 4).
    pub access_failure: Option<String>,
}

/// The gate: 4 when an instance could not be read at all (what was collected is reported,
/// marked incomplete); else 1 when an unwaived fail is at or above the threshold, else 2 when a
/// check that could reach it ended in error (unless `allow_incomplete`), else 0.
pub fn gate(results: &[CheckResult], options: &GateOptions) -> Gate {
    gate_on(results, options, GateOn::All)
}

/// [`gate`], counting the fails `on` counts (`--gate-on new`: only those new since the
/// baseline); every error counts.
pub fn gate_on(results: &[CheckResult], options: &GateOptions, on: GateOn) -> Gate {
    let GateOptions {
        fail_on,
        allow_incomplete,
        access_failure,
    } = options;
    let (fail_on, allow_incomplete) = (*fail_on, *allow_incomplete);
    if let Some(why) = access_failure {
        // Exit 4 outranks the gate.
        return Gate {
            fail_on,
            allow_incomplete,
            verdict: Verdict::Incomplete,
            exit_code: Exit::Access,
            reason: why.clone(),
            decided: false,
            gate_on: on,
        };
    }
    // Unwaived failures and undecided results at or above the threshold (all of them when the
    // gate is off).
    let threshold = fail_on.threshold();
    let counted = |status: Status| {
        results
            .iter()
            .filter(|r| r.status == status && threshold.is_none_or(|t| r.severity >= t))
            .filter(|r| on.counts(r))
            .count()
    };
    let new = match on {
        GateOn::New => "new ",
        GateOn::All => "",
    };
    let (fails, errors) = (counted(Status::Fail), counted(Status::Error));
    let (verdict, exit_code, reason) = match threshold {
        // The gate is off: exit 0 whatever was found, but the verdict still tells what was found.
        None => (
            if fails > 0 { Verdict::Fail } else if errors > 0 { Verdict::Incomplete } else { Verdict::Pass },
            Exit::Pass,
            format!("the gate is off (--fail-on never): {fails} {new}unwaived failure(s), {errors} undecided result(s), exit 0"),
        ),
        Some(t) if fails > 0 => (
            Verdict::Fail,
            Exit::GateFailed,
            format!("{fails} {new}unwaived failure(s) at or above {t}"),
        ),
        Some(t) if errors > 0 && !allow_incomplete => (
            Verdict::Incomplete,
            Exit::Incomplete,
            format!("evidence incomplete: {errors} check result(s) at or above {t} could not be decided"),
        ),
        Some(t) if errors > 0 => (
            Verdict::Pass,
            Exit::Pass,
            format!("no {new}failure at or above {t}; {errors} undecided result(s) allowed by --allow-incomplete"),
        ),
        Some(t) => (
            Verdict::Pass,
            Exit::Pass,
            format!("nothing {new}unwaived at or above {t}, and every such check was decided"),
        ),
    };
    Gate {
        fail_on,
        allow_incomplete,
        verdict,
        exit_code,
        reason,
        // With the gate off nothing can trip it; otherwise every check that could was decided.
        decided: threshold.is_none() || errors == 0,
        gate_on: on,
    }
}

/// `sha256:<hex>` of the evidence's canonical JSON (compact, fields in declaration order).
pub fn digest(evidence: &Evidence) -> String {
    let mut hasher = Sha256::new();
    // Evidence is plain data whose maps are keyed by strings, and hashing cannot fail: serde_json
    // has nothing to refuse. Were it ever to, a digest of nothing would pass for a real one.
    serde_json::to_writer(&mut hasher, evidence)
        .expect("evidence always serialises: plain data, every map keyed by a string");
    format!("sha256:{:x}", hasher.finalize())
}

fn info(inst: &InstanceEvidence, read: &BTreeMap<String, ReadState>) -> InstanceInfo {
    let (production, origin) = inst.production.resolve();
    InstanceInfo {
        read: read.get(&inst.name).copied().unwrap_or(ReadState::Complete),
        name: inst.name.clone(),
        url: inst.url.clone(),
        role: inst.role,
        production,
        production_origin: origin,
        build_tag: inst.build_tag.get().cloned().flatten(),
        audit_user: inst.audit_user.clone(),
    }
}

/// Everything the report needs besides the evidence.
pub struct BuildInput {
    /// The judged results with waivers applied, in any order.
    pub results: Vec<CheckResult>,
    /// The MID Servers that will go down, as the judgement found them.
    pub impact: Vec<ServerImpact>,
    pub inventory: Vec<InstanceInventory>,
    pub waivers: Vec<WaiverStatus>,
    pub gate: GateOptions,
}

/// Every `mid-server-will-go-down` that ended in `error`, with why in a few words.
fn impact_undecided(results: &[CheckResult]) -> Vec<UndecidedServer> {
    results
        .iter()
        .filter(|r| r.check == CheckId::MidServerWillGoDown && r.status == Status::Error)
        .map(|r| UndecidedServer {
            instance: r.instance.to_string(),
            mid_server: (r.subject.table == "ecc_agent").then(|| r.subject.name.to_string()),
            why: r
                .cause
                .as_ref()
                .map_or_else(|| r.message.clone(), |c| cause_text(c)),
            cause: r.cause.as_deref().cloned(),
        })
        .collect()
}

/// The impact table: one row per failing or waived `mid-server-will-go-down` result, in the
/// results' order, with the facts its judgement recorded.
fn impact(results: &[CheckResult], judged: &[ServerImpact]) -> Vec<Impact> {
    results
        .iter()
        .filter(|r| {
            r.check == CheckId::MidServerWillGoDown
                && matches!(r.status, Status::Fail | Status::Waived)
        })
        .filter_map(|r| {
            let i = judged
                .iter()
                .find(|i| i.instance == r.instance && i.mid_server == r.subject)?;
            Some(Impact {
                instance: i.instance.clone(),
                mid_server: i.mid_server.name.to_string(),
                status: i.status.clone(),
                user_name: i.user_name.clone(),
                because: i.because.clone(),
                result_status: r.status,
                cluster: i.cluster.clone(),
            })
        })
        .collect()
}

/// The cluster lines: every `mid-cluster-will-go-down` result with members down after the
/// clone, in the results' order, from the counts its evidence records.
fn cluster_impact(results: &[CheckResult]) -> Vec<ClusterImpact> {
    let count = |r: &CheckResult, key: &str| {
        r.evidence
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    results
        .iter()
        .filter(|r| r.check == CheckId::MidClusterWillGoDown && r.status != Status::Error)
        .filter(|r| count(r, "members_down") > 0)
        .map(|r| ClusterImpact {
            instance: r.instance.to_string(),
            cluster: r.subject.name.to_string(),
            cluster_type: r
                .evidence
                .get("cluster_type")
                .unwrap_or_default()
                .to_string(),
            members: count(r, "members"),
            down: count(r, "members_down"),
            line: r.evidence.get("impact").unwrap_or_default().to_string(),
            result_status: r.status,
        })
        .collect()
}

pub fn build(evidence: &Evidence, input: BuildInput) -> Report {
    let mut results = input.results;
    crate::checks::sort(&mut results);
    let stopped = input.gate.access_failure.is_some();
    let read: BTreeMap<String, ReadState> = evidence
        .instances
        .iter()
        .map(|(name, inst)| (name.clone(), causes::read_state(inst, stopped)))
        .collect();
    causes::attribute(evidence, &read, &mut results);
    let gate = gate(&results, &input.gate);
    let mut by_severity: BTreeMap<Severity, Counts> = Severity::ALL
        .iter()
        .map(|s| (*s, Counts::default()))
        .collect();
    let mut totals = Counts::default();
    for r in &results {
        by_severity.entry(r.severity).or_default().add(r.status);
        totals.add(r.status);
    }
    // Every table of every instance read in full, whatever the gate.
    let evidence_complete = !stopped && read.values().all(|r| *r == ReadState::Complete);
    let checks = {
        let mut ids: Vec<CheckId> = results.iter().map(|r| r.check).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let impact = impact(&results, &input.impact);
    let impact_undecided = impact_undecided(&results);
    let cluster_impact = cluster_impact(&results);
    let mut coverage = Vec::new();
    let order: Vec<&InstanceEvidence> = evidence
        .source()
        .into_iter()
        .chain(evidence.target_instances())
        .collect();
    for inst in &order {
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
                cause: causes::row_cause(t),
            });
        }
    }
    let duration_ms = (evidence.finished_at - evidence.started_at)
        .num_milliseconds()
        .max(0) as u64;
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool: Tool {
            name: "preclone".into(),
            version: evidence.tool_version.clone(),
        },
        demo: evidence.demo,
        run_id: evidence.run_id.clone(),
        started_at: evidence.started_at,
        finished_at: evidence.finished_at,
        source: evidence
            .source()
            .map(|i| info(i, &read))
            .unwrap_or_else(|| InstanceInfo {
                name: evidence.source.clone(),
                url: String::new(),
                role: InstanceRole::Source,
                production: None,
                production_origin: ProductionOrigin::Unknown,
                build_tag: None,
                audit_user: None,
                read: ReadState::NotRead,
            }),
        targets: evidence
            .target_instances()
            .map(|i| info(i, &read))
            .collect(),
        gate,
        baseline: None,
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
        impact_undecided,
        cluster_impact,
        inventory: input.inventory,
        coverage,
        waivers: input.waivers,
        evidence_digest: digest(evidence),
    }
}
